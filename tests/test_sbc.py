"""Simulation-based calibration of the default models (its own file, so the two long SBC runs
and the other calibration tests run on different test workers)."""

from __future__ import annotations

import pytest

import bayescale as bs
from bayescale import calibration as cal


@pytest.mark.slow
@pytest.mark.parametrize(
    ("effects", "families", "sims", "iters"),
    [(None, 1, 100, 200), ({"E": "family", "A": "family"}, 4, 80, 160)],
    ids=["chinchilla", "chinchilla-family"],
)
def test_simulation_based_calibration(effects, families, sims, iters):
    """Ranks of prior draws among posterior draws are uniform (Talts et al. 2018).

    Non-centred effects: prior draws include tiny group SDs, where the centred form is a funnel.
    """
    design = bs.simulate_ladder(
        budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, families=families, seed=0
    )
    model = bs.Model(effects=effects, centered=False)
    table = cal.sbc(model, design, n_sims=sims, draws=iters, warmup=iters, thin=2, seed=0)
    assert len(table) == 7 + (2 if effects else 0)
    assert (table["p_value"] > 0.001).all(), table
    assert table["divergent_fits"].iloc[0] <= 0.1 * sims
    ranks = table.attrs["ranks"]
    assert ranks.shape == (sims, len(table)) and ranks.to_numpy().max() <= table.attrs["max_rank"]


def test_a_design_without_a_loss_column_is_refused_with_the_fix():
    design = bs.simulate.typical_design("chinchilla")
    with pytest.raises(bs.DataError, match=r"sbc needs a 'loss' column.*design.assign\(loss=3.0\)"):
        cal.sbc(bs.Model(), design, n_sims=2)
