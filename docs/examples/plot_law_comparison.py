"""
# Comparing and averaging laws, and a law of your own

Which law should a ladder be fitted with? This page fits three laws to Epoch AI's replication
of the Chinchilla runs: Hoffmann et al.'s `E + A/N^α + B/D^β`, Kaplan et al.'s
`((N_c/N)^(α_N/α_D) + D_c/D)^α_D`, and a law written here as a JAX function (the Chinchilla
form with one exponent shared by `N` and `D`). It compares them by PSIS-LOO, weights them by
stacking, and predicts Chinchilla itself (70B parameters, 1.4T tokens) from their mixture.
"""

# %%
# ## Three fits of the same runs
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from matplotlib.figure import Figure

import bayescale as bs

runs = bs.datasets.load("epoch_chinchilla")
runs = runs.drop(runs["loss"].nlargest(5).index)

# %%
# A custom law is a function of a dict of parameters and a dict of raw inputs, plus a prior
# per parameter. Write it in a well-conditioned form: inputs divided by a reference inside
# the data, positive amplitudes as logs.
shared = bs.laws.CustomLaw(
    fn=lambda p, x: (
        jnp.exp(p["log_E"])
        + jnp.exp(p["log_A"]) * (x["N"] / 1e9) ** -p["alpha"]
        + jnp.exp(p["log_B"]) * (x["D"] / 2e10) ** -p["alpha"]
    ),
    params={
        "log_E": dist.Normal(np.log(1.7), 0.5),
        "log_A": dist.Normal(np.log(0.5), 1.0),
        "log_B": dist.Normal(np.log(0.5), 1.0),
        "alpha": dist.LogNormal(np.log(0.3), 0.5),
    },
    inputs=("N", "D"),
    law_name="one exponent",
)
laws = {"chinchilla": "chinchilla", "kaplan": "kaplan", "one exponent": shared}
fits = {name: bs.Model(law).fit(runs, seed=0) for name, law in laws.items()}

# %%
# ## LOO and stacking
# `bs.compare.compare` estimates each fit's expected log predictive density of a new run by
# Pareto-smoothed importance sampling (`arviz_stats.loo`), and the stacking weights that
# make the best mixture of their predictive distributions (Yao et al. 2018). Fits on log loss
# are compared on the loss scale. A Pareto k above 0.7 (`warning`) makes that fit's ELPD
# indicative only.
table = bs.compare.compare(fits)
print(table[["rank", "elpd", "elpd_diff", "dse", "weight", "pareto_k_max"]].round(2))

# %%
# ## Predicting Chinchilla from the mixture
# `averaged_predict` draws from the weighted mixture of the fits' posterior predictives.
# Chinchilla's law and the one-exponent law fit the runs equally well and predict Chinchilla
# alike; Kaplan's, which fits them far worse, parts from them 1.7 decades past the data, where
# a single law's interval says nothing about the others.
target = {"N": 70e9, "D": 1.4e12}
draws = {name: post.predict(**target).values.ravel() for name, post in fits.items()}
draws["stacked"] = bs.compare.averaged_predict(fits, table, **target).values.ravel()
for name, d in draws.items():
    lo, med, hi = np.quantile(d, [0.05, 0.5, 0.95])
    print(f"{name:>13}: median {med:.3f}, 90 % [{lo:.3f}, {hi:.3f}]")

fig = Figure(figsize=(7, 3.6), layout="constrained")
ax = fig.subplots()
bins = np.linspace(*np.quantile(np.concatenate(list(draws.values())), [0.002, 0.998]), 80)
for name, d in draws.items():
    ax.hist(
        d, bins=bins, density=True, histtype="step", lw=2 if name == "stacked" else 1.2, label=name
    )
ax.set_xlabel("predicted loss of a 70B model trained on 1.4T tokens")
ax.set_ylabel("density")
ax.legend()

# %%
# Here the law with one shared exponent and Chinchilla's are within a standard error of each
# other by LOO (`elpd_diff` against `dse`): the data do not tell them apart, and they predict
# Chinchilla's loss alike. Stacking gives most of the weight to one of two equivalent fits;
# it is a weighting for prediction, not a probability that a law is true. Kaplan's form has
# no irreducible loss: it falls far behind by LOO, and 1.7 decades out it predicts a loss
# well below the others, outside their intervals, which is why a single law's interval is no
# measure of the error of its form. The [calibration guide](../../calibration.md) measures
# that error on held-out runs.
