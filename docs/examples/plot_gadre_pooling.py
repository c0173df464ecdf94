"""
# A hierarchical fit across training datasets

Gadre et al. (2024) trained the same ladder of model sizes (11M to 6.9B parameters) on three
training datasets: C4, RedPajama and RefinedWeb. The law's shape should be shared; its level
need not be. This page fits the Chinchilla law with the irreducible loss `E` and both
coefficients `A` and `B` varying by dataset (partial pooling; the exponents shared), looks at
what the datasets share, and predicts a dataset's larger models from its two smallest sizes,
alone and pooled with the others.
"""

# %%
# ## The runs
import numpy as np

import bayescale as bs

COLUMNS = ["mean", "sd", "eti90_lb", "eti90_ub", "ess_bulk", "r_hat"]

runs = bs.datasets.load("gadre2024_overtraining")
print(runs.groupby("dataset")[["params", "tokens"]].agg(["min", "max", "size"]))

# %%
# ## Partial pooling
# The preset `chinchilla_dataset` says which parameters vary by the `dataset` column; each
# varies as a non-centred random effect around a population value, its spread learned from
# the three datasets (weakly, with three levels: the report flags such terms). The evidence
# for this structure (LOO, and the new-dataset backtest below run over every dataset and
# `k`) is in the [models guide](../../models.md).
model = bs.Model.from_preset("chinchilla_dataset")
post = model.fit(runs, seed=0)
print(post.summary(var_names=["E", "alpha", "beta", "E_dataset"])[COLUMNS].round(3))

# %%
# One panel per dataset: observed losses, the posterior median and its 90 % band.
fig = bs.plotting.plot_fit(post, group="dataset")

# %%
# `group_spread` measures what each term does to a prediction at the largest fitted run: the
# spread of the mean loss between datasets, and the share of a *new* dataset's predictive
# variance that comes from not knowing its effects.
spread = bs.pooling.group_spread(post)
print(spread[["parameter", "levels", "sd_median", "spread_pct", "new_share", "weak"]].round(3))

# %%
# ## A new dataset from two model sizes
# RedPajama keeps only the runs of its two smallest model sizes; its larger runs are then
# predicted three ways: by a fit on its own runs alone, by one law for all datasets (complete
# pooling), and by the hierarchical model, which learns RedPajama's effects from its two
# sizes and shrinks them towards the other datasets'.
table = bs.pooling.new_group_backtest(
    bs.Model("chinchilla"),
    runs,
    group="dataset",
    ks=(2,),
    groups="rpj",
    candidates={"E, A, B by dataset": {"E": "dataset", "A": "dataset", "B": "dataset"}},
    seed=0,
)
print(
    table[["method", "n_train", "n_test", "coverage_0.9", "interval_score_90", "are_median"]]
    .round(3)
    .to_string(index=False)
)

# %%
# Two sizes cannot pin down a Chinchilla law: alone, the fit extrapolates by its priors and
# its intervals show it. One law for all ignores that RedPajama's losses sit apart from the
# others'. Partial pooling borrows the exponents and the spread of the effects from the
# other datasets and the level from RedPajama's own runs. Which wins depends on how many
# sizes the new dataset has: with three or more of its own, a fit alone catches up (the
# backtest over every dataset and `k` is `benchmarks/pooling.py`).
med = table.set_index("method")["are_median"]
print(f"median relative error, pooled / alone: {med.iloc[-1] / med.loc['alone']:.2f}")
print("tested runs:", int(np.asarray(table["n_test"])[0]))
