"""Calibration tooling: scoring rules, splits, backtests, LOO-PIT, the discrepancy term."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayescale as bs
import bayescale.plotting
from bayescale import calibration as cal
from bayescale import discrepancy as disc


def test_crps_matches_the_normal_closed_form():
    rng = np.random.default_rng(0)
    draws = rng.standard_normal((20000, 1)) * 2.0 + 1.0
    y = np.array([0.3])
    z = (y - 1.0) / 2.0
    exact = 2.0 * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    assert cal.crps_from_draws(draws, y)[0] == pytest.approx(exact[0], rel=0.02)


def test_interval_score():
    y = np.array([0.0, 5.0, -5.0])
    score = cal.interval_score(np.full(3, -1.0), np.full(3, 1.0), y, 0.9)
    np.testing.assert_allclose(score, [2.0, 2.0 + 20 * 4, 2.0 + 20 * 4])


def test_calibrated_forecasts_score_nominal_coverage():
    rng = np.random.default_rng(1)
    mu = rng.uniform(2, 3, 4000)
    y = mu * np.exp(0.02 * rng.standard_normal(4000))
    draws = mu[None] * np.exp(0.02 * rng.standard_normal((2000, 4000)))
    summary, points = cal.score_predictions(draws, y)
    for level in cal.LEVELS:
        assert summary[f"coverage_{level:g}"] == pytest.approx(level, abs=0.03)
    assert summary["are_median"] == pytest.approx(0.02 * 0.6745, rel=0.1)
    assert points["pit"].between(0, 1).all()
    overconfident, _ = cal.score_predictions(mu[None] + 0.3 * (draws - mu[None]), y)
    assert overconfident["coverage_0.9"] < 0.5


def test_coverage_a_calibrated_forecast_would_show():
    rng = np.random.default_rng(3)
    # independent errors: the binomial range around the level
    free = rng.standard_normal((4000, 200))
    cov = cal.coverage_if_calibrated(free, 0.9)
    assert cov.mean() == pytest.approx(0.9, abs=0.01)
    assert cov.std() == pytest.approx(np.sqrt(0.9 * 0.1 / 200), rel=0.2)
    # one error shared by every point: all or nothing
    shared = rng.standard_normal((4000, 1)) + 0.01 * rng.standard_normal((4000, 30))
    cov = cal.coverage_if_calibrated(shared, 0.9)
    assert np.mean(cov == 1.0) > 0.8 and np.mean(cov < 0.2) > 0.05
    # the summary: a shared-error forecast covering everything is in range (p = 1), an
    # overconfident one of independent points is not
    truth = rng.standard_normal() + 0.01 * rng.standard_normal(30)
    summary, _ = cal.score_predictions(shared + 5.0, truth + 5.0)
    assert summary["coverage_0.9"] == 1.0 and summary["coverage_0.9_p"] == 1.0
    assert summary["calibrated_0.9_lo"] <= summary["coverage_0.9"] <= summary["calibrated_0.9_hi"]
    narrow, _ = cal.score_predictions(5.0 + 0.5 * free, 5.0 + rng.standard_normal(200))
    assert narrow["coverage_0.9"] < 0.7 and narrow["coverage_0.9_p"] < 0.01
    with pytest.raises(bs.DataError, match="no NaN"):
        cal.coverage_if_calibrated(np.full((10, 2), np.nan))
    # a backtest table's coverage columns are the levels, not their ranges or tail probabilities
    table = pd.DataFrame([{"split": "s", **summary}])
    assert cal.coverage_columns(table) == [f"coverage_{v:g}" for v in cal.LEVELS]
    ax = bayescale.plotting.plot_coverage(table).axes[0]
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), cal.LEVELS)
    (bars,) = ax.collections  # one bar per level, from the calibrated range
    ends = np.array([seg[:, 1] for seg in bars.get_segments()])
    expected = [[summary[f"calibrated_{v:g}_{e}"] for e in ("lo", "hi")] for v in cal.LEVELS]
    np.testing.assert_allclose(ends, expected)


def test_tail_probability_of_a_coverage():
    # all or nothing: 90 draws cover everything, 10 nothing
    reference = np.r_[np.full(90, 1.0), np.full(10, 0.0)]
    assert cal.coverage_tail_probability(reference, 1.0) == 1.0
    assert cal.coverage_tail_probability(reference, 0.0) == pytest.approx(2 * 11 / 101)
    assert cal.coverage_tail_probability(reference, 0.5) == pytest.approx(2 * 11 / 101)
    # a coverage no reference draw reaches is never given probability 0
    assert cal.coverage_tail_probability(np.full(999, 0.9), 0.2) == pytest.approx(2 / 1000)


def test_a_split_whose_draws_overflow_is_a_row_that_says_so(monkeypatch):
    df = bs.simulate_ladder(seed=2)
    model = bs.Model()
    splits = [cal.split_by_compute(df, model, 0.6), cal.split_by_compute(df, model, 0.8)]
    calls = []

    def predict(post, test, model):
        calls.append(len(test))
        draws = np.tile(test["loss"].to_numpy(float), (400, 1))
        if len(calls) == 2:
            draws[:40] = np.inf
        return draws

    monkeypatch.setattr(bs.Model, "fit", lambda self, df, **kw: None)
    monkeypatch.setattr(cal, "predict_rows", predict)
    table = cal.backtest(model, df, splits)
    assert table["status"].tolist()[0] == "ok" and table["coverage_0.9"].iloc[0] == 1.0
    assert table["status"].iloc[1].startswith("not scored: 280 of the 2800 predictive draws")
    assert np.isnan(table["coverage_0.9"].iloc[1])
    assert set(table.attrs["points"]["split"]) == {splits[0].name}
    # two models' tables side by side: pd.concat alone fails on the tables in their attrs
    both = cal.concat_backtests([table.assign(model="a"), table.assign(model="b")])
    assert both["model"].tolist() == ["a", "a", "b", "b"]
    assert len(both.attrs["points"]) == 2 * len(table.attrs["points"])


def test_draws_that_are_not_finite_are_not_scored():
    # a chain in a degenerate mode (noise scale near 0, nu near 0) overflows: 8 % of draws inf
    draws = np.full((1000, 3), 0.5)
    draws[:80] = np.inf
    with pytest.raises(bs.DataError, match=r"240 of the 3000 predictive draws \(0\.08 of them\)"):
        cal.score_predictions(draws, np.full(3, 0.5))
    # a NaN is never a draw: one is refused, and counted (not rounded to "0.0%")
    draws = np.full((1000, 3), 0.5)
    draws[7, 2] = np.nan
    with pytest.raises(bs.DataError, match=r"1 of the 3000 predictive draws \(0\.00033 of them\)"):
        cal.score_predictions(draws, np.full(3, 0.5))


def test_a_few_overflowed_draws_are_scored_as_huge_losses():
    """A Student-t with nu below 1 (Muennighoff et al.'s C4 curves: 14 of 36,000 draws) has no
    mean, and a few of its draws overflow; its intervals are finite, so it is scored, with an
    infinite CRPS. Overflow reaching the 97.5 % quantile is refused."""
    rng = np.random.default_rng(0)
    draws = np.exp(rng.normal(np.log(3.0), 0.01, size=(4000, 3)))
    finite, _ = cal.score_predictions(draws, np.array([3.0, 3.01, 3.3]))
    draws[:5, 1] = np.inf
    summary, points = cal.score_predictions(draws, np.array([3.0, 3.01, 3.3]))
    assert summary["crps"] == np.inf and np.isfinite(finite["crps"])
    assert points.filter(like="hi_").to_numpy().max() < 3.2  # every interval its own, finite
    for key in ("coverage_0.5", "coverage_0.9", "coverage_0.95"):
        assert summary[key] == finite[key]
    assert summary["are_median"] == pytest.approx(finite["are_median"], rel=0.05)
    assert summary["interval_score_90"] == pytest.approx(finite["interval_score_90"], rel=0.01)
    draws[:120, 1] = np.inf  # 3 % of one point's draws: past the 95 % interval's upper end
    with pytest.raises(bs.DataError, match="not finite"):
        cal.score_predictions(draws, np.array([3.0, 3.01, 3.3]))


def test_splits():
    df = bs.simulate_ladder(families=3, seed=2)
    model = bs.Model()
    s = cal.split_by_compute(df, model, 0.6)
    assert s.train.sum() + s.test.sum() == len(df) and not (s.train & s.test).any()
    assert df["flops"][s.train].max() < df["flops"][s.test].min()
    s = cal.split_by_size(df, model, 2)
    assert set(df["params"][s.test]) == set(np.sort(df["params"].unique())[-2:])
    groups = cal.splits_leave_group_out(df, "family")
    assert [g.name for g in groups] == [f"leave out family=f{i}" for i in range(3)]
    for i, g in enumerate(groups):
        assert (g.test == (df["family"] == f"f{i}").to_numpy()).all()
        assert (g.train == ~g.test).all()
    curves = df.assign(run=df["family"], step=df["tokens"])
    s = cal.split_curve_tail(curves, bs.Model(run="run"), 0.25)
    assert 0.2 < s.test.mean() < 0.3
    # per run, every held-out checkpoint comes after every fitted one
    held = curves[s.test].groupby("run")["tokens"].min()
    kept = curves[s.train].groupby("run")["tokens"].max()
    assert (held > kept.loc[held.index]).all() and set(held.index) == set(curves["run"])


def test_discrepancy_grid_and_extrapolation():
    grid = disc.grid_for(np.array([18.0, 18.55, 19.95]), 0.1)
    assert grid.n == 20 and list(grid.index(np.array([17.0, 18.05, 25.0]))) == [0, 0, 19]
    tau = np.full((1, 4000), 0.02)
    z = np.random.default_rng(0).standard_normal((1, 4000, grid.n - 1))
    path = disc.path_draws(tau, z, grid)
    np.testing.assert_allclose(path.mean(axis=-1), 0, atol=1e-12)
    import jax

    far = disc.at(path, tau, np.array([20.0, 22.0, 24.0]), grid, jax.random.PRNGKey(0))
    sd = np.asarray(far).std(axis=(0, 1))
    assert sd[0] < sd[1] < sd[2]
    # Every position of the data (the grid's bins, edges included) reads the fitted path alone.
    inside = np.array([18.0, 18.55, 19.95])
    got = disc.at(path, tau, inside, grid, jax.random.PRNGKey(1))
    np.testing.assert_array_equal(got, np.take(np.asarray(path), grid.index(inside), axis=-1))
    # Beyond the data, one continuation per draw whatever the layout of the positions.
    flat = disc.at(path, tau, np.array([21.0]), grid, jax.random.PRNGKey(2))[..., 0]
    laid_out = disc.at(path, tau, np.full((1, 4000, 1, 3), 21.0), grid, jax.random.PRNGKey(2))
    np.testing.assert_allclose(
        np.asarray(laid_out)[0, :, 0], np.asarray(flat)[0, :, None] + 0 * np.ones(3)
    )


@pytest.mark.slow
def test_backtest_table_and_discrepancy_widen_extrapolation(tmp_path):
    df = bs.simulate_ladder(budgets=(1e18, 3e18, 1e19, 3e19, 1e20), seed=4)
    widths = {}
    for d in (None, "random_walk"):
        # the discrepancy's own widening, without an extrapolation error on top of it
        model = bs.Model(discrepancy=d, extrapolation="none")
        if d is None:  # the table's shape (one backtest is enough for it)
            table = cal.backtest(
                bs.Model(), df, cal.split_by_compute, dataset="sim", chains=2, draws=500
            )
            assert list(table.columns[:4]) == ["dataset", "split", "n_train", "n_test"]
            n_test = int((df["flops"] > np.quantile(df["flops"], 0.75)).sum())
            assert table["n_test"][0] == n_test
            assert len(table.attrs["points"]) == n_test
            assert table["data_warnings"][0] == ""  # five budgets: nothing to warn about
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bs.ConvergenceWarning)
            post = model.fit(df, chains=2, draws=500)
        pred = post.predict(N=3e10, D=6e11)  # 1000x the largest budget
        q = pred.quantile([0.05, 0.95], dim=("chain", "draw")).values[:, 0]
        widths[d] = np.log(q[1] / q[0])
        if d:
            back = bs.load_posterior(post.to_netcdf(tmp_path / "d.nc"))
            assert back.grid == post.grid
            np.testing.assert_array_equal(back.predict(N=3e10, D=6e11).values, pred.values)
    assert widths["random_walk"] > widths[None]


@pytest.mark.slow
def test_loo_pit(epoch_fit):
    pit = cal.loo_pit(epoch_fit)
    assert pit.shape == (240,) and np.all((pit >= 0) & (pit <= 1))
    assert "posterior_predictive" in epoch_fit.tree.children
    # each value is its own row's: close to the plain PIT of the row against the replicated
    # losses (leaving one of 240 runs out moves it little), and roughly uniform on this fit
    rep = epoch_fit.tree["posterior_predictive"]["loss"]
    obs = epoch_fit.tree["observed_data"]["loss"]
    raw = (rep < obs).mean(("chain", "draw")).values
    assert np.corrcoef(pit, raw)[0, 1] > 0.95
    assert 0.75 < np.mean((pit > 0.05) & (pit < 0.95)) < 0.99
    fig = bs.plotting.plot_loo_pit(epoch_fit)
    assert fig.axes


def test_scoring_refuses_missing_observations_and_wrong_shapes():
    """A NaN observation was scored as a miss; a prediction's (chain, draw, point) array and a
    level list without 0.9 failed inside pandas."""
    draws = np.random.default_rng(0).normal(3.0, 0.1, size=(400, 3))
    with pytest.raises(bs.DataError, match="points \\[1\\]"):
        cal.score_predictions(draws, np.array([3.0, np.nan, 3.1]))
    with pytest.raises(ValueError, match="samples, points"):
        cal.score_predictions(draws.reshape(2, 200, 3), np.full(3, 3.0))
    with pytest.raises(ValueError, match=r"include 0\.9"):
        cal.score_predictions(draws, np.full(3, 3.0), levels=[0.5])


def test_split_by_size_refuses_holding_out_no_sizes():
    df = bs.simulate_ladder(seed=0)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="whole number >= 1"):
            cal.split_by_size(df, bs.Model(), bad)
