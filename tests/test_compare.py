"""Law comparison: LOO on a common scale, stacking, averaged predictions, sensitivity."""

from __future__ import annotations

import numpy as np
import pytest

import bayescale as bs

FIT = {"chains": 2, "draws": 300, "warmup": 300, "seed": 0, "progress_bar": False}


@pytest.fixture(scope="module")
def ladder():
    return bs.simulate_ladder(seed=3)


@pytest.fixture(scope="module")
def fits(ladder):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        return {
            "chinchilla": bs.Model("chinchilla").fit(ladder, **FIT),
            "power_N": bs.Model(bs.laws.SaturatingPowerLaw(x="N")).fit(ladder, **FIT),
            "chinchilla_linear": bs.Model("chinchilla", scale="linear").fit(ladder, **FIT),
        }


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Estimated shape parameter of Pareto")  # each fit's own LOO
def test_loo_prefers_the_true_law_and_weights_sum_to_one(fits):
    table = bs.compare.compare(fits)
    assert table.index[0] in ("chinchilla", "chinchilla_linear")
    assert table.loc["power_N", "elpd_diff"] < -10  # a law that ignores D loses clearly
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-6)
    assert table.loc["power_N", "weight"] < 0.05
    # Unrounded: the effects choice reads differences of a few units against their SE.
    for name in table.index:
        assert table.loc[name, "elpd"] == pytest.approx(fits[name].loo(pointwise=False).elpd)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Estimated shape parameter of Pareto")  # 600 draws per fit
def test_log_and_linear_fits_are_scored_on_the_same_scale(fits):
    # Same law and data, different noise scale: on a common (loss) scale their ELPDs agree to
    # within a few units; without the Jacobian they would differ by sum(log y) (~ n * 1).
    a = fits["chinchilla"].loo(pointwise=False).elpd
    b = fits["chinchilla_linear"].loo(pointwise=False).elpd
    y = fits["chinchilla"].draws_tree["observed_data"]["loss"].values
    assert abs(a - b) < 0.2 * np.sum(np.log(y))
    assert abs(a - b) < 10


@pytest.mark.slow
def test_averaged_predictions_mix_by_weight(fits):
    w = {"chinchilla": 0.75, "power_N": 0.25}
    pred = bs.compare.averaged_predict(fits, w, n_draws=2000, N=[1e9], D=[2e10])
    assert pred.sizes["sample"] == 2000
    assert pred.attrs["weights"]["chinchilla"] == pytest.approx(0.75)
    a = fits["chinchilla"].predict(N=[1e9], D=[2e10]).values.ravel()
    b = fits["power_N"].predict(N=[1e9], D=[2e10]).values.ravel()
    assert (
        min(np.median(a), np.median(b)) <= float(pred.median()) <= max(np.median(a), np.median(b))
    )


def test_compare_rejects_fits_of_different_data(fits):
    # The same fit with its observed losses changed: no refit is needed to test the check.
    base = fits["chinchilla"]
    tree = base.tree.copy(deep=True)
    tree["observed_data"]["loss"] = tree["observed_data"]["loss"] * 1.01
    other = bs.ScalingPosterior.from_tree(tree, base.model)
    with pytest.raises(bs.DataError, match="different data"):
        bs.compare.compare({"a": fits["chinchilla"], "b": other})
    with pytest.raises(ValueError, match="at least two"):
        bs.compare.compare({"a": other})
    with pytest.raises(ValueError, match="not in posteriors"):
        bs.compare.averaged_predict({"a": other}, {"zzz": 1.0}, N=1e9, D=1e10)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::bayescale.errors.ConvergenceWarning")  # short chains
def test_sensitivity_table(ladder):
    table = bs.compare.sensitivity(
        bs.Model("chinchilla"),
        ladder,
        variants=[("student_t", "log"), ("normal", "linear")],
        chains=2,
        draws=200,
        warmup=200,
        progress_bar=False,
    )
    assert list(table.index) == ["student_t on log loss", "normal on linear loss"]
    assert {"E", "alpha", "tokens_per_param", "elpd_loo", "fit_ok"} <= set(table.columns)
    assert np.all(table["tokens_per_param_q10"] <= table["tokens_per_param"])
