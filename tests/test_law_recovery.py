"""Every law recovers known parameters from data simulated with them (NUTS)."""

from __future__ import annotations

import numpy as np
import pytest
from law_examples import MODEL_KWARGS, NATURAL, design, simulate

import bayescale as bs

#: Natural parameters a 40-50 point experiment identifies; the others (Farseer's curvatures,
#: Kaplan's far-away N_c, D_c) are checked through the fitted curve only.
IDENTIFIED = {
    "chinchilla": ["E", "alpha", "beta"],
    "power": ["E", "alpha"],
    "kaplan": ["alpha_N", "alpha_D"],
    "bnsl": ["E", "c0", "c1"],
    "farseer": [],
    "data_constrained": ["E", "alpha", "beta", "R_D"],
    "annealing": ["L0", "alpha", "C"],
    "sigmoid_link": ["ceiling", "k", "L_mid"],
    "exponential_link": ["epsilon", "gamma"],
    "loss_to_loss": ["kappa"],
    "m4": ["E", "E0", "alpha", "c"],
}

#: Laws whose weakly identified parameters need longer chains for R-hat < 1.03. Farseer's
#: curvatures: R-hat 1.054 at 2 x 400 with jax 0.12 / numpyro 0.22, and 1.088 at 2 x 1000 on
#: another CPU (seed 0; 1.006 at 2 x 2000). The loss-to-loss link's: 1.044 at 2 x 400 there
#: (bulk ESS 68), 1.009 at 2 x 1000 with seeds 0, 1 and 2; on an AMD EPYC (2026-12-06, the
#: same versions) 1.056 at 2 x 1000 and 1.005 at 2 x 2000 (seed 0; its floors E_x and E_y mix
#: slowly, and other seeds need more: seed 1 gives 1.36 at 2 x 1000 and 1.027 at 2 x 2000).
LONGER = {"farseer": 2000, "loss_to_loss": 2000}


# a law of N on a ladder whose D varies, on purpose
@pytest.mark.filterwarnings("ignore:.*the law reads N alone:bayescale.errors.DataWarning")
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::bayescale.errors.ConvergenceWarning")  # short chains
@pytest.mark.parametrize("name", sorted(NATURAL))
def test_law_recovers_simulated_parameters(name):
    df = simulate(name, seed=1)
    model = bs.Model(law=name, run=False, **MODEL_KWARGS.get(name, {}))
    n = LONGER.get(name, 400)
    post = model.fit(df, chains=2, draws=n, warmup=n, seed=0, progress_bar=False)
    diag = post.diagnostics(warn=False)
    assert int(diag.attrs["divergences"]) <= 4
    assert diag.attrs["rhat_max"] < 1.03
    law = post.law
    for k in IDENTIFIED[name]:
        lo, hi = np.quantile(post.posterior[k].values, [0.005, 0.995])
        assert lo <= NATURAL[name][k] <= hi, (k, lo, hi)
    # The fitted curve covers the true one at the design points.
    x = {k: design(name)[bs.laws.INPUTS[k]].to_numpy(float) for k in law.inputs}
    truth = np.asarray(law.natural_mean(NATURAL[name], x))
    pred = post.predict(kind="mean", **x).values.reshape(-1, truth.size)
    lo, hi = np.quantile(pred, [0.025, 0.975], axis=0)
    assert np.mean((lo <= truth) & (truth <= hi)) >= 0.9
