"""Two-step downstream model: law -> latent task loss -> link -> metric, fitted jointly."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density

import bayescale as bs
from bayescale.downstream import TwoStepModel, TwoStepPosterior
from bayescale.simulate import HOFFMANN_2022, chinchilla_loss

#: Gadre et al.-like exponential link: error = eps - k exp(-gamma L).
LINK = {"epsilon": 0.8, "k": 6.0, "gamma": 1.1}


def _error(loss: np.ndarray) -> np.ndarray:
    return LINK["epsilon"] - LINK["k"] * np.exp(-LINK["gamma"] * loss)


@pytest.fixture(scope="module")
def ladder():
    """A 35-run Chinchilla ladder with a downstream error linked to its true loss."""
    df = bs.simulate_ladder(budgets=(1e16, 1e17, 1e18, 1e19, 1e20), seed=3, noise_sd=0.01)
    true_loss = chinchilla_loss(HOFFMANN_2022, df["params"].to_numpy(), df["tokens"].to_numpy())
    rng = np.random.default_rng(4)
    err = _error(true_loss)
    logit = np.log(err / (1 - err)) + 0.03 * rng.standard_normal(len(df))
    df["error"] = 1 / (1 + np.exp(-logit))
    df["true_loss"] = true_loss
    return df


def _two(**link_kwargs) -> TwoStepModel:
    return TwoStepModel(
        loss=bs.Model("chinchilla"),
        link=bs.Model("exponential_link", scale="logit", columns={"loss": "error"}, **link_kwargs),
    )


@pytest.fixture(scope="module")
def joint_fit(ladder) -> TwoStepPosterior:
    with warnings.catch_warnings():
        warnings.simplefilter("error", bs.ConvergenceWarning)
        return _two().fit(ladder, chains=4, draws=800, warmup=500, seed=0)


def test_specification_errors():
    with pytest.raises(bs.SpecificationError, match="only input"):
        TwoStepModel(loss=bs.Model("chinchilla"), link=bs.Model("power"))
    with pytest.raises(bs.SpecificationError, match="first step"):
        TwoStepModel(loss=bs.Model("loss_to_loss"), link=bs.Model("sigmoid_link"))
    with pytest.raises(bs.SpecificationError, match="Both steps read column 'loss'"):
        TwoStepModel(loss=bs.Model("chinchilla"), link=bs.Model("sigmoid_link", scale="logit"))
    with pytest.raises(bs.SpecificationError, match="same column"):
        TwoStepModel(
            loss=bs.Model("chinchilla"),
            link=bs.Model("sigmoid_link", columns={"loss": "acc", "upstream_loss": "other"}),
        )


def test_missing_metric_column_names_it(ladder):
    with pytest.raises(bs.DataError, match="error_rate"):
        TwoStepModel(
            loss=bs.Model("chinchilla"),
            link=bs.Model("exponential_link", scale="logit", columns={"loss": "error_rate"}),
        ).prepare(ladder)


def test_joint_density_is_the_two_steps_with_the_latent_loss(ladder):
    """log p(joint) = log p(loss step) + log p(link step at the law's loss), at any point."""
    two = _two()
    data = two.prepare(ladder)
    structure, arrays = two.model_args(data)
    kwargs = {**structure, **arrays}
    rng = np.random.default_rng(0)
    loss_params = {"log_E": 0.4, "a": -0.7, "b": -1.1, "log_alpha": -1.1, "log_beta": -1.2}
    loss_params.update({"sigma": 0.02, "nu": 8.0})
    link_params = {"logit_epsilon": 1.3, "log_gamma": 0.1, "log_gap": -0.5}
    link_params.update({"sigma": 0.05, "nu": 6.0})
    params = {**loss_params, **{f"link__{k}": v for k, v in link_params.items()}}
    params = {k: v + 0.01 * rng.standard_normal() for k, v in params.items()}
    joint, _ = log_density(two.numpyro_model, (), kwargs, params)

    loss_kwargs = {**structure["loss_structure"], **arrays["loss_arrays"]}
    lp_loss, _ = log_density(
        two.loss.numpyro_model, (), loss_kwargs, {k: params[k] for k in loss_params}
    )
    theta = {k: jnp.asarray(params[k]) for k in ("log_E", "a", "b", "log_alpha", "log_beta")}
    latent = two.loss.law.mean(theta, loss_kwargs["u"], data.loss.scale)
    link_kwargs = {
        **structure["link_structure"],
        **arrays["link_arrays"],
        "u": {"L": latent},
        "obs_name": "metric",
    }
    lp_link, _ = log_density(
        two.link.numpyro_model, (), link_kwargs, {k: params[f"link__{k}"] for k in link_params}
    )
    np.testing.assert_allclose(float(joint), float(lp_loss + lp_link), rtol=1e-10)


def test_joint_fit_recovers_the_link_and_covers_held_out_metrics(joint_fit, ladder):
    post = joint_fit
    assert post.diagnostics(warn=False).attrs["ok"]
    assert set(post.tree["log_likelihood"].data_vars) == {"loss", "metric"}
    for name, truth in LINK.items():
        draws = post.tree["posterior"][f"link__{name}"].values
        lo, hi = np.quantile(draws, [0.005, 0.995])
        assert lo < truth < hi, (name, lo, truth, hi)
    # Extrapolate 10x and 100x beyond the ladder's largest budget at Chinchilla's 20 tok/param.
    compute = np.array([1e21, 1e22])
    n = np.sqrt(compute / (6 * 20))
    d = 20 * n
    pred = post.predict(N=n, D=d, kind="mean")
    true_err = _error(chinchilla_loss(HOFFMANN_2022, n, d))
    lo, hi = np.quantile(pred["metric"].values, [0.05, 0.95], axis=(0, 1))
    assert np.all((lo < true_err) & (true_err < hi)), (lo, true_err, hi)
    assert np.all((pred["metric"].values > 0) & (pred["metric"].values < 1))


def test_uncertainty_of_the_loss_propagates_to_the_metric(joint_fit):
    """The metric's interval is wider than the link's alone at the median predicted loss."""
    post = joint_fit
    pred = post.predict(N=3e10, D=6e11, kind="mean")
    width_joint = np.diff(np.quantile(pred["metric"].values, [0.05, 0.95]))[0]
    plug_in = float(pred["loss"].median())
    link = post.link_posterior.predict(L=plug_in, kind="mean")
    width_link = np.diff(np.quantile(link.values, [0.05, 0.95]))[0]
    assert width_joint > 1.5 * width_link
    assert post.loss_posterior.predict(N=3e10, D=6e11, kind="mean").shape == pred["loss"].shape


def test_predict_rejects_unknown_labels_and_round_trips(joint_fit, tmp_path):
    with pytest.raises(bs.DataError, match="family"):
        joint_fit.predict(N=1e9, D=2e10, family="f1")
    path = joint_fit.to_netcdf(tmp_path / "two.nc")
    back = TwoStepPosterior.from_netcdf(path)
    a = joint_fit.predict(N=1e9, D=2e10, rng_seed=3)
    b = back.predict(N=1e9, D=2e10, rng_seed=3)
    np.testing.assert_allclose(a["metric"].values, b["metric"].values)
    assert back.model.metric_column == "error"
    assert np.isfinite(back.summary()["mean"].astype(float)).all()
    # 90 % intervals, as every other output; the prior group holds the latent sites only (the
    # observed sites' replicas are the prior predictive)
    assert {"eti90_lb", "eti90_ub"} <= set(back.summary().columns)
    prior = joint_fit.tree["prior"]
    assert "loss" not in prior and "link__metric" not in prior and "log_E" in prior
    assert "loss" in joint_fit.tree["prior_predictive"]


def test_a_two_step_prediction_at_a_given_loss_points_to_the_link_step(joint_fit):
    # L= was read as missing N and D, and the link was not mentioned
    with pytest.raises(bs.DataError, match=r"joint\.link_posterior\.predict\(L=\.\.\.\)"):
        joint_fit.predict(L=2.5)
    metric = joint_fit.link_posterior.predict(L=2.5, kind="mean")  # the call it names works
    assert np.all((metric.values > 0) & (metric.values < 1))


@pytest.mark.parametrize("kind", ["mean", "predictive"])
def test_two_step_loss_draws_are_the_loss_steps_predict(joint_fit, kind):
    """The joint prediction's loss is the loss step's own prediction path, draw for draw."""
    n, d = np.array([3e9, 3e10]), np.array([6e10, 6e11])
    joint = joint_fit.predict(N=n, D=d, kind=kind, rng_seed=4)
    alone = joint_fit.loss_posterior.predict(N=n, D=d, kind=kind, rng_seed=4)
    np.testing.assert_allclose(joint["loss"].values, alone.values, rtol=1e-12)


def test_two_step_predict_warns_far_past_the_data_as_the_loss_step_does(joint_fit):
    # the joint prediction went through the loss step's path without its far-out warning
    far = r"Predicting 8.8 decades past the largest training run"
    with pytest.warns(bs.ExtrapolationWarning, match=far):
        joint_fit.predict(N=1e13, D=1e15, kind="mean")
    with pytest.warns(bs.ExtrapolationWarning, match=far):
        joint_fit.loss_posterior.predict(N=1e13, D=1e15, kind="mean")


def test_tree_only_checks_take_a_two_step_fit(joint_fit):
    """The forest and the predictive check read the fit's tree only: a two-step fit is a fit
    (the check of a fit's prediction path, which a two-step fit lacks, refused them). LOO-PIT
    is a step's, as LOO is (below)."""
    # the forest and the predictive check read the tree and the loss step's settings (a
    # two-step fit has no posterior attribute and no columns of its own)
    names = [n for n in ("E", "alpha") if n in joint_fit.tree["posterior"]]
    assert [ax.get_title(loc="left") for ax in bs.plotting.plot_forest(joint_fit, names).axes] == (
        names
    )
    assert bs.plotting.plot_ppc(joint_fit).axes[0].get_xlabel()


def test_a_two_step_fit_is_compared_and_plotted_by_its_steps(joint_fit, ladder):
    """loo(joint) and compare({... joint}) ended in "'TwoStepModel' object has no attribute
    'scale'"; the steps had no log likelihood to compare; plot_trace(joint) read ``post.law``."""
    import matplotlib.pyplot as plt

    with pytest.raises(TypeError, match=r"bs.loo\(joint.loss_posterior\)"):
        bs.loo(joint_fit)
    with pytest.raises(TypeError, match="'joint' is a two-step fit"):
        bs.compare.compare({"joint": joint_fit, "other": joint_fit.loss_posterior})
    loss_loo, link_loo = bs.loo(joint_fit.loss_posterior), bs.loo(joint_fit.link_posterior)
    assert loss_loo.pareto_k.shape == link_loo.pareto_k.shape == (len(ladder),)
    assert np.isfinite(float(loss_loo.elpd)) and np.isfinite(float(link_loo.elpd))
    # each step's rows are its own column's: the link's LOO reads the metric
    assert float(link_loo.elpd) != pytest.approx(float(loss_loo.elpd))
    fig = bs.plotting.plot_trace(joint_fit)
    labels = {ax.get_ylabel() for ax in fig.axes} | {ax.get_xlabel() for ax in fig.axes}
    assert {"alpha", "link__gamma"} <= labels
    plt.close(fig)
    fig = bs.plotting.plot_prior_posterior(joint_fit)
    plt.close(fig)
    # the link step's checks read the joint fit's replicates of the metric; what needs a table
    # of its inputs (the latent loss, in no table) says so, not xarray's KeyError
    with pytest.raises(TypeError, match=r"bs.loo_pit\(joint.link_posterior\) for the metric"):
        bs.loo_pit(joint_fit)  # was the loss step's, without a word
    with pytest.raises(TypeError, match="plot_loo_pit takes a one-step fit"):
        bs.plotting.plot_loo_pit(joint_fit)
    pit = bs.loo_pit(joint_fit.link_posterior)
    assert pit.shape == (len(ladder),) and np.all((pit >= 0) & (pit <= 1))
    plt.close(bs.plotting.plot_ppc(joint_fit.link_posterior))
    with pytest.raises(bs.SpecificationError, match="the link step of a two-step fit reads"):
        bs.plotting.plot_fit(joint_fit.link_posterior)


def test_a_two_step_fit_is_pointed_to_its_steps_and_summarised_by_name(joint_fit):
    """frontier(joint) told the user to fit first ("the posterior bs.fit returns", which it
    was); joint.summary(var_names=...) hit ArviZ's duplicate keyword."""
    with pytest.raises(TypeError, match=r"frontier\(joint.loss_posterior, ...\)"):
        bs.frontier(joint_fit, 1e21)
    assert joint_fit.summary(var_names=["alpha"]).index.tolist() == ["alpha"]
    assert joint_fit.summary("link__k").index.tolist() == ["link__k"]
    with pytest.raises(KeyError, match=r"no parameter\(s\) \['gamma'\]"):
        joint_fit.summary(var_names=["gamma"])
