"""Law comparison: LOO on a common scale, stacking, averaged predictions, sensitivity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.arguments import derived_seed

# laws of N alone compared with laws of N and D on ladders whose D varies, on purpose
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*the law reads N alone:bayescale.errors.DataWarning"
)

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
    with pytest.raises(ValueError, match=r"\['chinchilla_linear'\] without a weight"):
        bs.compare.averaged_predict(fits, w, n_draws=2000, N=[1e9], D=[2e10])
    mixed = {name: fits[name] for name in w}
    pred = bs.compare.averaged_predict(mixed, w, n_draws=2000, N=[1e9], D=[2e10])
    assert pred.sizes["sample"] == 2000
    assert pred.attrs["weights"]["chinchilla"] == pytest.approx(0.75)
    # Fit k (in name order) contributes round(w_k * 2000) draws of its own predictive, drawn
    # with the k-th derived seed: every mixture draw is one of them, in the stated shares.
    a = fits["chinchilla"].predict(N=[1e9], D=[2e10], rng_seed=derived_seed(0, 0)).values.ravel()
    b = fits["power_N"].predict(N=[1e9], rng_seed=derived_seed(0, 1)).values.ravel()
    values = pred.values.ravel()
    assert np.isin(values, a).sum() == 1500
    assert np.isin(values, b).sum() == 500


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
@pytest.mark.filterwarnings("ignore:Estimated shape parameter of Pareto")  # the check's own LOO
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
    posts = table.attrs["posteriors"]
    for (likelihood, scale), name in zip(
        [("student_t", "log"), ("normal", "linear")], table.index, strict=True
    ):
        post = posts[name]
        # each row is the fit of its own variant, and reports that fit's numbers
        assert (post.model.likelihood, post.model.scale) == (likelihood, scale)
        row = table.loc[name]
        assert row["E"] == pytest.approx(float(post.posterior["E"].median()))
        tpp = bs.frontier(post, row["compute"])["tokens_per_param"].values.ravel()
        assert row["tokens_per_param"] == pytest.approx(np.median(tpp))
        assert row["tokens_per_param_q10"] < row["tokens_per_param"] < row["tokens_per_param_q90"]
        assert row["elpd_loo"] == pytest.approx(post.loo(pointwise=False).elpd)
        assert np.isfinite(row["pareto_k_max"])
    # the variants differ: a normal likelihood on linear loss is another fit
    assert table["E"].iloc[0] != table["E"].iloc[1]


def kaplan_ladder(seed: int = 0):
    """Iso-FLOP runs whose truth is Kaplan et al.'s law (eq. 1.5 of their paper), 0.7 % noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in np.geomspace(1e17, 1e19, 9):
        for n in np.sqrt(c / 120) * np.geomspace(0.25, 4.0, 7):
            d = c / (6 * n)
            loss = ((8.8e13 / n) ** (0.076 / 0.095) + 5.4e13 / d) ** 0.095
            rows.append((n, d, loss * np.exp(0.007 * rng.standard_normal())))
    return pd.DataFrame(rows, columns=["params", "tokens", "loss"])


QUICK = {"method": "auto", "seed": 0, "draws": 500}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Estimated shape parameter of Pareto")
def test_choose_law_finds_the_form_that_generated_the_runs():
    # Kaplan's law generated the runs: LOO displaces the default law by far more than two SE,
    # and the chosen fit is the Kaplan fit itself, ready for any prediction.
    choice = bs.compare.choose_law(
        bs.Model(extrapolation="prior"), kaplan_ladder(), laws=["kaplan"], **QUICK
    )
    assert choice.chosen == "kaplan"
    assert choice.loo.index[0] == "kaplan"
    gap = choice.loo.loc["chinchilla", "elpd_diff"]
    assert gap < -2 * choice.loo.loc["chinchilla", "dse"]
    assert choice.posterior is choice.posteriors["kaplan"]
    assert choice.posterior.model.law.name == "kaplan"
    assert choice.posterior.model.extrapolation == "prior"  # the model's options carried over
    assert "'kaplan' has the highest ELPD" in choice.reason
    assert "Chosen law: kaplan" in str(choice)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Estimated shape parameter of Pareto")
def test_choose_law_keeps_the_models_law_when_it_is_close(ladder):
    # Runs from Chinchilla's law: its own law comes first and stays.
    choice = bs.compare.choose_law(
        bs.Model(extrapolation="prior"), ladder, laws=["kaplan", "chinchilla"], **QUICK
    )
    assert choice.chosen == "chinchilla"
    assert list(choice.posteriors) == ["chinchilla", "kaplan"]  # own law first, no duplicate


def test_with_law_keeps_options_and_shared_priors_and_drops_the_rest():
    model = bs.Model(
        likelihood="normal",
        priors={"log_beta": "Normal(-1.2, 0.5)", "sigma": "HalfNormal(0.05)"},
    )
    other = bs.compare.with_law(model, "kaplan")
    assert other.law.name == "kaplan" and other.likelihood == "normal"
    assert "log_beta" not in other.spec()["priors"]  # Kaplan's law has no log_beta
    assert other.spec()["priors"]["sigma"] == model.spec()["priors"]["sigma"]
    assert bs.compare.with_law(model, "chinchilla") is model
    with pytest.raises(bs.SpecificationError, match="nope"):
        bs.compare.with_law(model, "nope")
    # effects name parameters by their law's names: Farseer's alpha is not Chinchilla's
    grouped = bs.Model(effects={"alpha": "family", "E": "family"})
    with pytest.raises(bs.SpecificationError, match="cannot be carried over"):
        bs.compare.with_law(grouped, "farseer")
    # a law of the same family (data_constrained extends chinchilla) keeps them
    assert bs.compare.with_law(grouped, "data_constrained").spec()["effects"] == {
        "E": ["family"],
        "alpha": ["family"],
    }


def test_choose_law_refuses_what_it_cannot_compare(ladder):
    # one-input law without candidates; a string; a law of other inputs
    with pytest.raises(bs.SpecificationError, match="laws of N and D only"):
        bs.compare.choose_law(bs.Model("power"), ladder)
    with pytest.raises(bs.SpecificationError, match="list of law names"):
        bs.compare.choose_law(bs.Model(), ladder, laws="kaplan")
    with pytest.raises(bs.SpecificationError, match=r"same table only\. Choose among laws of N, D"):
        bs.compare.choose_law(bs.Model(), ladder, laws=["power"])
    # a misspelt law is an error, not a law silently left out
    with pytest.raises(bs.SpecificationError, match=r"Unknown law\(s\) \['farsser'\]"):
        bs.compare.choose_law(bs.Model(), ladder, laws=["kaplan", "farsser"])
    with pytest.raises(bs.SpecificationError, match="no law besides the model's own"):
        bs.compare.choose_law(bs.Model(), ladder, laws=["chinchilla"])
    # effects on E: Kaplan's and Farseer's laws have no E, so nothing is left to compare
    with pytest.raises(bs.SpecificationError, match="at least two laws"):
        bs.compare.choose_law(bs.Model(effects={"E": "family"}), ladder)


@pytest.mark.slow
def test_choose_law_refuses_a_fit_of_another_model(fits, ladder):
    # a Chinchilla fit handed in as Kaplan's would compare the law with itself
    with pytest.raises(bs.SpecificationError, match=r"fitted\['kaplan'\] is not a fit"):
        bs.compare.choose_law(
            bs.Model(), ladder, laws=["kaplan"], fitted={"kaplan": fits["chinchilla"]}
        )


def test_a_fit_retried_non_centred_counts_as_a_fit_of_its_model():
    """choose_law(fitted=...) takes a default fit whose retry drew the run effects non-centred
    (its model is the candidate with centered=False: the same model); not another model."""
    from types import SimpleNamespace

    def _fits_model(post, model, df):  # what choose_law checks of each fitted[law]
        return post.model == model.drawn_as(df, post.settings)

    runs = bs.simulate_ladder()
    curves = pd.concat(
        [runs.assign(tokens=runs.tokens * f, flops=runs.flops * f) for f in (0.25, 0.5, 1)]
    )
    model = bs.Model(centered=True)
    retried = model.non_centred_run(model.prepare(curves))
    assert retried is not None and retried != model
    post = SimpleNamespace(model=retried, settings={"retried_non_centred": True})
    assert _fits_model(post, model, curves)
    assert not _fits_model(SimpleNamespace(model=retried, settings={}), model, curves)
    other = SimpleNamespace(model=bs.Model("kaplan"), settings={"retried_non_centred": True})
    assert not _fits_model(other, model, curves)
