"""
# Replicating Epoch AI's Chinchilla fit

Hoffmann et al. (2022) fitted `L(N, D) = E + A/N^α + B/D^β` to about 400 training runs.
Besiroglu et al. (Epoch AI, 2024) read the runs back from the paper's figure, refitted the law
with the paper's Huber loss, and bootstrapped it: their estimates are `E = 1.82`, `A = 482`,
`B = 2085`, `α = 0.348`, `β = 0.366`, and their 80 % bootstrap interval of the compute-optimal
tokens per parameter at Chinchilla's budget (5.88e23 FLOP) is `[10.7, 30.5]`.

This page fits the same runs with bayescale's default model and compares the answers.
"""

# %%
# ## The runs
# The loader fetches Epoch's table from its source (or the offline mirror) and checks its
# sha256. Epoch left out the five runs with the highest loss; so do we, explicitly.
import numpy as np

import bayescale as bs

COLUMNS = ["mean", "sd", "eti90_lb", "eti90_ub", "ess_bulk", "r_hat"]

runs = bs.datasets.load("epoch_chinchilla")
runs = runs.drop(runs["loss"].nlargest(5).index)
print(runs.describe().loc[["count", "min", "max"], ["params", "tokens", "flops", "loss"]])

# %%
# ## The fit
# The default model: the Chinchilla law on log loss with Student-t noise (robust to the
# outlying runs that Hoffmann et al. handled with a Huber loss), NUTS with 4 chains of 1000
# draws, and the diagnostics checked after the fit (a `ConvergenceWarning` if they fail).
post = bs.Model("chinchilla").fit(runs, seed=0)
print(post.summary()[COLUMNS].round(3))

# %%
# The posterior medians sit close to Epoch's point estimates, and the diagnostics pass:
diag = post.diagnostics(warn=False)
print({k: diag.attrs[k] for k in ("rhat_max", "ess_bulk_min", "divergences")})

# %%
# The fitted surface: loss against model size, one curve per iso-FLOP budget, with the
# posterior median and 90 % band of the law's mean.
fig = bs.plotting.plot_fit(post)

# %%
# ## Tokens per parameter at Chinchilla's budget
# `bs.frontier` minimises each posterior draw's loss along the iso-FLOP curve `C = 6 N D`, so
# `N*`, `D*` and `D*/N*` come with their posterior spread. 5.88e23 FLOP is 1.7 decades past
# the largest run here. Two answers: the default, whose draws carry the law's form error
# beyond the data (learned from this ladder's own leave-future-out refits), and the same
# posterior trusting the law's form exactly (`extrapolation="none"`), which is what a
# bootstrap of the law's parameters measures too.
law_only = bs.Model("chinchilla", extrapolation="none").fit(runs, seed=0)
for name, fit in {"default": post, "law only": law_only}.items():
    ratio = bs.frontier(fit, compute=[5.88e23])["tokens_per_param"].values.ravel()
    lo, med, hi = np.quantile(ratio, [0.1, 0.5, 0.9])
    print(f"{name:>9}: D*/N* median {med:5.1f}, 80 % interval [{lo:5.1f}, {hi:6.1f}]")
print("Epoch's bootstrap: 80 % interval [10.7, 30.5]")

# %%
# ## Where the answers differ, and why
# Trusting the law, the posterior's interval is narrower than Epoch's bootstrap: the
# bootstrap refits a Huber loss on resampled runs and lands some refits in the flat
# directions where `α` and `β` trade off against `A` and `B`; the posterior weighs every
# such combination by how well it explains all the runs at once. Neither counts the error
# of the law's form itself, which is what goes wrong when a fit is extrapolated (Hoffmann
# et al.'s own intervals were too narrow). The default model adds it as an error of the
# law's effective inputs beyond the data, so each draw's optimum moves: 1.7 decades out the
# allocation is known to within a factor of about ten either way, and the loss far better
# (a flat valley). How well these intervals cover runs the fit has not seen is measured in
# the [calibration guide](../../calibration.md).
fig = bs.plotting.plot_frontier(
    bs.frontier(post, compute=np.geomspace(1e20, 1e25, 21)),
    data_compute=(runs["flops"].min(), runs["flops"].max()),
)
