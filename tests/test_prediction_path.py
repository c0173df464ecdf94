"""One prediction path: every consumer's loss draws equal ``predict``'s at the same inputs and
seed; the tree is complete, so ArviZ's plots work on ``post.tree`` directly."""

from __future__ import annotations

import pickle
import warnings

import arviz_plots
import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import integrate, stats

import bayescale as bs
from bayescale import calibration, decisions
from bayescale.likelihood import observation_log_density, student_t
from bayescale.posterior import with_predictive

pytestmark = pytest.mark.slow
SEED = 5


@pytest.fixture(scope="module")
def ladder():
    return bs.simulate_ladder(families=3, seed=4, budgets=(1e18, 3e18, 1e19, 3e19, 1e20))


@pytest.fixture(scope="module")
def post(ladder):
    """Family effects on E (a new family is a prediction of its own), short chains."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        return bs.Model(effects={"E": "family"}).fit(ladder, chains=2, draws=250, warmup=250)


def test_frontier_loss_is_predict_at_each_draws_optimum(post):
    c = np.array([1e21, 1e23])
    front = bs.frontier(post, c, family="f1", rng_seed=SEED)
    for chain, draw in ((0, 3), (1, 200)):
        at = front.isel(chain=chain, draw=draw)
        pred = post.predict(
            N=at["N_opt"].values, D=at["D_opt"].values, family="f1", kind="mean", rng_seed=SEED
        )
        np.testing.assert_allclose(
            pred.isel(chain=chain, draw=draw).values, at["loss_opt"].values, rtol=1e-12
        )
    # A new family: the same drawn effect in both.
    front = bs.frontier(post, c, new_groups=True, family="new", rng_seed=SEED)
    at = front.isel(chain=0, draw=7)
    pred = post.predict(
        N=at["N_opt"].values,
        D=at["D_opt"].values,
        family="new",
        new_groups=True,
        kind="mean",
        rng_seed=SEED,
    )
    np.testing.assert_allclose(pred.isel(chain=0, draw=7).values, at["loss_opt"].values, rtol=1e-12)


@pytest.mark.parametrize("kind", ["mean", "predictive"])
def test_prob_below_counts_predict_draws(post, kind):
    n, d = np.array([3e8, 1e9]), np.array([6e9, 3e10])
    got = decisions.prob_below(post, 2.6, N=n, D=d, kind=kind, rng_seed=SEED, family="f0")
    draws = post.predict(N=n, D=d, kind=kind, rng_seed=SEED, family="f0")
    want = (draws.values < 2.6).reshape(-1, 2).mean(axis=0)
    np.testing.assert_array_equal(got["prob"].to_numpy(), want)


def _iso_grid(c: float, k: float, n_grid: int, span: float) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.linspace(-span, span, n_grid) * np.log(10.0)
    n = np.exp(0.5 * (np.log(c) - np.log(k)) + offsets)
    return n, c / (k * n)


@pytest.mark.parametrize("kind", ["mean", "predictive"])
@pytest.mark.filterwarnings("ignore::bayescale.ExtrapolationWarning")  # the grid spans +-3 decades
def test_best_allocation_scores_predict_draws(post, kind):
    c = 1e22
    got = decisions.best_allocation(
        post, c, objective="quantile", quantile=0.9, kind=kind, n_grid=81, rng_seed=SEED
    )
    n, d = _iso_grid(c, post.cost.k, 81, 3.0)
    draws = post.predict(N=n, D=d, kind=kind, rng_seed=SEED).values.reshape(-1, 81)
    i = int(np.argmin(np.quantile(draws, 0.9, axis=0)))
    assert got["N"][0] == pytest.approx(n[i], rel=1e-9)
    assert got["loss_mean"][0] == pytest.approx(draws[:, i].mean(), rel=1e-9)
    assert got["loss_q95"][0] == pytest.approx(np.quantile(draws[:, i], 0.95), rel=1e-9)


@pytest.mark.filterwarnings("ignore::bayescale.ExtrapolationWarning")  # the grid spans +-3 decades
def test_compute_for_target_probability_is_predicts(post):
    got = decisions.compute_for_target(
        post, 2.3, prob=0.5, kind="predictive", n_grid=61, rng_seed=SEED
    )
    n, d = _iso_grid(got["compute"], post.cost.k, 61, 3.0)
    draws = post.predict(N=n, D=d, kind="predictive", rng_seed=SEED).values.reshape(-1, 61)
    assert got["prob"] == pytest.approx((draws < 2.3).mean(axis=0).max(), abs=1e-12)


def test_value_of_runs_target_is_the_frontiers(post):
    cand = pd.DataFrame({"N": [1e9, 3e9], "D": [2e10, 6e10]})
    # 500 draws, reweighted by runs that would move them far: said, not silent (ess_min of 1)
    with pytest.warns(bs.ConvergenceWarning, match=r"rests on as few as \d+ effective draws"):
        out = decisions.value_of_runs(post, cand, 1e22, n_sims=50, max_draws=10_000, rng_seed=SEED)
    assert out["ess_min"].min() < decisions.MIN_REWEIGHTED_ESS
    front = bs.frontier(post, 1e22, new_groups=True, rng_seed=SEED)
    assert out["sd_now"].iloc[0] == pytest.approx(
        float(np.std(front["loss_opt"].values)), rel=1e-12
    )


def test_backtest_rows_are_predict_rows(post, ladder):
    rows = ladder.iloc[[0, 5, 40, 41]].assign(family=["f0", "f2", "zz", "zz"])
    got = calibration.predict_rows(post, rows, post.model, rng_seed=SEED)
    want = post.predict(
        N=rows["params"].to_numpy(),
        D=rows["tokens"].to_numpy(),
        family=rows["family"].to_numpy(),
        new_groups=True,
        rng_seed=SEED,
    )
    np.testing.assert_array_equal(got, want.values.reshape(-1, 4))


def test_posterior_predictive_group_is_predict_at_the_fitted_rows(post, ladder):
    with_predictive(post)
    rep = post.tree["posterior_predictive"]["loss"].values
    fitted = post.fitted_table()
    want = post.predict(
        N=fitted["params"].to_numpy(),
        D=fitted["tokens"].to_numpy(),
        family=fitted["family"].to_numpy(),
        rng_seed=0,
    )
    np.testing.assert_array_equal(rep, want.values)


def test_a_new_family_shares_one_effect_across_its_points(post):
    two = post.predict(
        N=[1e9, 1e9], D=[2e10, 2e10], family=["x", "x"], new_groups=True, kind="mean"
    )
    np.testing.assert_array_equal(two.values[..., 0], two.values[..., 1])
    apart = post.predict(
        N=[1e9, 1e9], D=[2e10, 2e10], family=["x", "y"], new_groups=True, kind="mean"
    )
    assert not np.allclose(apart.values[..., 0], apart.values[..., 1])


def test_new_run_density_integrates_its_effect_out():
    """The decisions' density of a new run's loss: noise convolved with the run effect."""
    loc, sigma, nu, sd_run = 0.3, 0.02, 6.0, 0.015
    for y in (0.27, 0.3, 0.36):
        want = integrate.quad(
            lambda r, y=y: stats.norm.pdf(r, 0, sd_run) * stats.t.pdf(y - loc - r, nu, 0, sigma),
            -0.2,
            0.2,
            points=[y - loc],
        )[0]
        got = float(
            jnp.exp(
                observation_log_density(
                    jnp.asarray(y), jnp.asarray(loc), "student_t", sigma, jnp.asarray(nu), sd_run
                )
            )
        )
        assert got == pytest.approx(want, rel=1e-6)


def test_student_t_draws_follow_the_t_distribution():
    for df in (1.5, 4.0, 30.0):
        x = np.asarray(student_t(jax.random.PRNGKey(1), jnp.full((20000,), df), (20000,)))
        assert stats.kstest(x, stats.t(df).cdf).pvalue > 0.01


def test_every_arviz_plot_runs_on_the_tree(post, tmp_path):
    matplotlib.use("Agg")  # the test's own choice of backend; the library never sets one
    tree = post.tree
    for group in (
        "posterior",
        "prior",
        "prior_predictive",
        "posterior_predictive",
        "observed_data",
        "log_likelihood",
        "sample_stats",
        "constant_data",
    ):
        assert group in tree.children, group
    names = ["E", "alpha", "beta"]
    plots = [
        arviz_plots.plot_ppc_dist(tree, var_names=["loss"], backend="matplotlib"),
        arviz_plots.plot_loo_pit(tree, var_names=["loss"], backend="matplotlib"),
        arviz_plots.plot_prior_posterior(tree, var_names=["log_E", "a"], backend="matplotlib"),
        arviz_plots.plot_forest(tree, var_names=names, backend="matplotlib"),
        arviz_plots.plot_trace_dist(tree, var_names=names, backend="matplotlib"),
        arviz_plots.plot_rank(tree, var_names=names, backend="matplotlib"),
        arviz_plots.plot_energy(tree, backend="matplotlib"),
    ]
    for i, pc in enumerate(plots):
        pc.savefig(tmp_path / f"{i}.png")
        assert (tmp_path / f"{i}.png").stat().st_size > 5_000


def test_the_complete_tree_round_trips(post, tmp_path):
    back = bs.load_posterior(post.to_netcdf(tmp_path / "fit.nc"))
    for group in post.tree.children:
        xr.testing.assert_identical(back.tree[group].to_dataset(), post.tree[group].to_dataset())
    a = post.predict(N=7e9, D=1.4e11, family="f1", rng_seed=2)
    b = back.predict(N=7e9, D=1.4e11, family="f1", rng_seed=2)
    np.testing.assert_array_equal(a.values, b.values)


def test_prior_and_replicated_groups_are_built_once_on_first_access(ladder, monkeypatch):
    calls = []
    original = bs.Model.prior_draws

    def counting(self, *args, **kwargs):
        calls.append(kwargs.get("predictive"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(bs.Model, "prior_draws", counting)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        fresh = bs.Model().fit(ladder, chains=1, draws=100, warmup=100)
        warnings.simplefilter("ignore", UserWarning)  # PSIS's Pareto-k warning at 100 draws
        fresh.summary(), fresh.loo(), fresh.diagnostics(warn=False)
    assert calls == [] and "prior" not in fresh.draws_tree.children
    back = pickle.loads(pickle.dumps(fresh))  # a posterior sent elsewhere carries every group
    assert calls == [True]
    for p in (fresh, back):
        assert {"prior", "prior_predictive", "posterior_predictive"} <= set(p.tree.children)
    assert calls == [True]
