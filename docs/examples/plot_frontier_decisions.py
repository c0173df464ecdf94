"""
# The compute-optimal frontier and budget decisions

A posterior is worth fitting if it changes a decision. This page takes the default fit of
Epoch AI's Chinchilla runs and asks the questions a team with a budget asks: how large a model
for a given compute, with what uncertainty; what chance a planned run has of reaching a target
loss; how much compute a target needs; how serving the model changes the answer; and which
extra small run would narrow the answer most.
"""

# %%
# ## The fit and the frontier
# Each posterior draw's law is minimised along the iso-FLOP curve `C = 6 N D` of each budget;
# beyond the data every draw also carries the law's form error learned from the ladder's own
# leave-future-out refits, so the bands widen as soon as a budget leaves the data. The
# diamonds are the minima of parabolas fitted to each of Epoch's iso-FLOP profiles (Hoffmann
# et al.'s Approach 2).
import numpy as np
import pandas as pd

import bayescale as bs
from bayescale import decisions
from bayescale.isoflop import isoflop_minima

runs = bs.datasets.load("epoch_chinchilla")
runs = runs.drop(runs["loss"].nlargest(5).index)
post = bs.Model("chinchilla").fit(runs, seed=0)

budgets = np.geomspace(1e19, 1e25, 25)
front = bs.frontier(post, compute=budgets)
fig = bs.plotting.plot_frontier(
    front,
    minima=isoflop_minima(runs),
    data_compute=(runs["flops"].min(), runs["flops"].max()),
)

# %%
# ## The decision table
# For each budget: the allocation that minimises the expected loss, its loss interval, and
# the chance of reaching a target loss of 2.0 with it.
table = decisions.decision_table(post, [1e22, 5.88e23, 1e25], target=2.0)
shown = ["compute", "N_opt", "tokens_per_param", "tokens_per_param_lo", "tokens_per_param_hi"]
shown += ["loss_opt", "loss_opt_lo", "loss_opt_hi", "p_target"]
print(table[shown].to_string(index=False, float_format=lambda v: f"{v:.3g}"))

# %%
# ## A planned run, and the compute a target needs
# Chinchilla itself: 70B parameters on 1.4T tokens. `prob_below` is the posterior predictive
# probability that its loss comes in below the target; `compute_for_target` the smallest budget
# whose compute-optimal run reaches the target with 90 % probability.
print(decisions.prob_below(post, target=2.0, N=70e9, D=1.4e12).round(3).to_string(index=False))
print(decisions.compute_for_target(post, target=2.0, prob=0.9))

# %%
# ## Serving changes the allocation
# A model that will serve 2e13 tokens costs 2 N FLOP per served token on top of its training
# (Sardana et al. 2024): the optimum moves to smaller models trained on more tokens.
for served in (0.0, 2e13):
    f = bs.frontier(post, compute=1e24, inference_tokens=served)
    n = f["N_opt"].quantile([0.05, 0.5, 0.95]).values
    r = f["tokens_per_param"].median().item()
    print(f"served {served:.0e} tokens: N* {n[1]:.2e} (90 % {n[0]:.2e}-{n[2]:.2e}), D/N {r:.0f}")

# %%
# ## Which run to train next
# `value_of_runs` simulates each candidate's outcome from the posterior predictive, reweights
# the posterior by it, and reports how much the run is expected to narrow `L*` at the target
# budget, without refitting. Runs beyond the data inform the extrapolation error too.
candidates = pd.DataFrame({"N": [2e9, 1e10, 1e10, 3e10], "D": [4e10, 2e11, 5e11, 6e11]})
ranked = decisions.value_of_runs(post, candidates, target_compute=5.88e23, n_sims=100)
print(ranked.round(4).to_string())

# %%
# `ess_min` is the smallest effective sample size of the reweighted draws over the simulated
# outcomes. The most informative candidates are exactly those whose outcomes few draws
# predict well, so their ESS drops: below a hundred or so, read the reduction as a ranking
# rather than a number, and check the chosen run by refitting with its simulated outcome.
