"""
# Calibration: can these intervals be trusted past the data?

A 90 % interval is only useful if it covers the truth about 90 % of the time on runs the fit
has not seen. This page checks that three ways on Epoch AI's Chinchilla runs: a backtest (fit
below a compute cut, predict the runs above it), the LOO-PIT of the fitted runs, and the
ladder's own extrapolation record (what its leave-future-out refits predicted, against what
came). It ends with where a peer benchmark's numbers are.
"""

# %%
# ## A backtest
# Fit the runs below a compute cut (75 % of the runs) and predict the 25 % above it, with the
# default model (the law plus its extrapolation error learned from the ladder's record) and
# with the law trusted exactly (`extrapolation="none"`, what a plain fit or a bootstrap of
# the parameters does).

import bayescale as bs
from bayescale import calibration

runs = bs.datasets.load("epoch_chinchilla")
runs = runs.drop(runs["loss"].nlargest(5).index)
split = calibration.split_by_compute(runs, bs.Model("chinchilla"), train_fraction=0.75)
models = {
    "default": bs.Model("chinchilla"),
    "law only": bs.Model("chinchilla", extrapolation="none"),
}
tables = [bs.backtest(m, runs, split, dataset=name, seed=0) for name, m in models.items()]
table = calibration.concat_backtests(tables)
shown = ["dataset", "n_train", "n_test", "coverage_0.5", "coverage_0.9", "interval_score_90"]
print(table[[*shown, "are_median"]].round(3).to_string(index=False))

# %%
# Coverage against the nominal level, one line per model: on the diagonal is calibrated,
# below it too narrow.
fig = bs.plotting.plot_coverage(table.assign(split=table["dataset"]))

# %%
# ## The ladder's own record
# The default model refits the ladder on the data below each of its top few compute cuts and
# predicts the rest of the training data: those errors against their distance past each cut
# are the record from which the extrapolation error's scales are learned (with a prior across
# public ladders when the record is short). `post.calibration()` returns it as a table, and
# `plot_record` draws it.
post = models["default"].fit(runs, seed=0)
record = post.calibration()
print(record[["distance", "loss", "median"]].describe().loc[["count", "min", "max"]])
fig = bs.plotting.plot_record(post)

# %%
# ## LOO-PIT
# Inside the data, the leave-one-out probability integral transforms of a calibrated fit are
# uniform: the difference between their ECDF and the uniform one stays near zero, and the
# p-value in the corner (a test of uniformity) is not small.
fig = bs.plotting.plot_loo_pit(post)

# %%
# ## A peer benchmark
# Alabdulmohsin et al.'s learning-curve benchmark gives each of 92 curves' first part for
# fitting and its last part for scoring; NSL-PFN (Lee et al., ICML 2025) reports its
# calibration error (MSCE) beside MCMC fits of fixed laws. `benchmarks/revisiting.py` runs it
# (about half an hour on 2 cores) and prints bayescale's numbers beside the published ones;
# the [calibration guide](../../calibration.md) has the table.
