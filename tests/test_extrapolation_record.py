"""The learned extrapolation error: its shape, the record's likelihood, the prior across ladders,
and a fit that carries its own record."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayescale as bs
import bayescale.plotting
from bayescale import record as rec
from bayescale.extrapolation import ExtrapolationError, offset_shape


def test_learned_error_is_zero_inside_and_offset_then_slow_growth_outside():
    term = ExtrapolationError({"N": (8.0, 10.0), "D": (9.0, 11.0), "C": (18.0, 23.0)})
    x = {"N": np.array([1e9, 1e10, 1e11, 1e12]), "D": np.array([1e10, 1e11, 1e11, 1e11])}
    up, down = term.distances(x)
    np.testing.assert_allclose(np.asarray(up), [0.0, 0.0, 1.0, 2.0], atol=1e-12)
    np.testing.assert_allclose(np.asarray(down), 0.0, atol=1e-12)
    var = term.variance(np.array([0.0, 0.1, 1.0, 4.0]), 0.01, 0.02)
    assert var[0] == 0.0
    # the offset is (almost) whole a tenth of a decade out; the growth is sqrt(d), not d
    assert var[1] == pytest.approx(0.01**2 * offset_shape(0.1) ** 2 + 0.02**2 * 0.1)
    assert offset_shape(0.1) > 0.85
    assert var[3] - 0.01**2 == pytest.approx(4 * 0.02**2, rel=1e-6)


def test_cut_likelihood_equals_the_multivariate_normal_density():
    rng = np.random.default_rng(0)
    d = np.linspace(0.05, 1.5, 6)
    log_draws = rng.normal(0.0, 0.01, (4000, 6)) + np.linspace(0, 0.02, 6)
    log_y = rng.normal(0.0, 0.03, 6)
    noise = np.linspace(0.002, 0.01, 6)
    ll = rec.cut_loglik(log_y, log_draws, d, noise)
    c = np.cov(log_draws, rowvar=False) + np.diag(noise**2) + 1e-10 * np.eye(6)
    u = np.stack([offset_shape(d), np.sqrt(d)], axis=1)
    r = log_y - log_draws.mean(axis=0)
    const = -0.5 * 6 * np.log(2 * np.pi)
    for i, j in ((0, 0), (20, 30), (48, 10), (35, 35)):
        so, sg = np.exp(rec.LOG_SCALE_GRID[[i, j]])
        cov = c + so**2 * np.outer(u[:, 0], u[:, 0]) + sg**2 * np.outer(u[:, 1], u[:, 1])
        want = stats.multivariate_normal(np.zeros(6), cov).logpdf(r) - const
        assert ll[i, j] == pytest.approx(want, rel=1e-8, abs=1e-8)


def test_prior_across_ladders_recovers_where_the_records_point(tmp_path, monkeypatch):
    a, b = np.meshgrid(rec.LOG_SCALE_GRID, rec.LOG_SCALE_GRID, indexing="ij")
    rng = np.random.default_rng(1)
    centres = rng.normal([np.log(0.01), np.log(0.003)], [0.3, 0.3], (12, 2))
    logliks = [-0.5 * ((a - m0) ** 2 + (b - m1) ** 2) / 0.2**2 for m0, m1 in centres]
    prior = rec.fit_prior(logliks, ["sim"])
    assert np.exp(prior.mean) == pytest.approx(np.exp(centres.mean(axis=0)), rel=0.25)
    assert np.sqrt(prior.cov[0][0]) < 1.0  # the spread across ladders, not the default 1.5
    path = prior.save(tmp_path / "p.json", ladders=12)
    assert rec.ScalePrior.load(path) == prior
    monkeypatch.setenv(rec.PRIOR_ENV, str(path))
    assert rec.ScalePrior.load() == prior
    # draws follow record x prior: a sharp record wins over the prior
    so, _ = rec.scale_draws(logliks[0] * 50, prior, 4000, seed=0)
    assert np.median(np.log(so)) == pytest.approx(centres[0, 0], abs=0.15)


def test_an_unknown_mode_is_refused():
    with pytest.raises(bs.SpecificationError, match="extrapolation='linear'"):
        bs.Model(extrapolation="linear")


@pytest.mark.slow
def test_a_fit_learns_its_error_from_its_own_record(tmp_path):
    df = bs.simulate_ladder(budgets=(1e18, 3e18, 1e19, 3e19, 1e20), seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.Model().fit(df, chains=2, draws=500)
        fixed = bs.Model(extrapolation="fixed").fit(df, chains=2, draws=500)
    # predictions inside the data do not need the record (the error is zero there) ...
    rows = {"N": df["params"].to_numpy(float)[:5], "D": df["tokens"].to_numpy(float)[:5]}
    before = post.predict(**rows, rng_seed=1).values
    assert "extrapolation_record" not in post.timing
    table = post.calibration()
    # ... and are the same once it is learned
    np.testing.assert_array_equal(post.predict(**rows, rng_seed=1).values, before)
    assert set(table["cut"]) <= {"future 20%", "future 35%", "future 50%"} and len(table) >= 10
    assert (table["distance"] >= 0).all()
    inside = (table["loss"] >= table["lower_with_error"]) & (
        table["loss"] <= table["upper_with_error"]
    )
    assert inside.mean() >= 0.8  # a correct law: the record is covered
    assert "extrapolation_record" in post.timing
    scales = post.posterior[["extrap_offset", "extrap_growth"]]
    assert scales["extrap_offset"].shape == (2, 500) and float(scales["extrap_offset"].min()) > 0
    # identical inside the data; past it, the learned error is narrower than the fixed drift
    # far out (slow growth) and the medians agree
    q = {}
    for name, p in (("learned", post), ("fixed", fixed)):
        pred = p.predict(N=[1e9, 3e10], D=[2e10, 6e11])
        q[name] = pred.quantile([0.05, 0.5, 0.95], dim=("chain", "draw")).values
    far = {k: np.log(v[2, 1] / v[0, 1]) for k, v in q.items()}
    assert far["learned"] < far["fixed"]
    np.testing.assert_allclose(q["learned"][1], q["fixed"][1], rtol=0.01)
    back = bs.load_posterior(post.to_netcdf(tmp_path / "fit.nc"))
    a = post.predict(N=3e10, D=6e11, rng_seed=3).values
    np.testing.assert_array_equal(back.predict(N=3e10, D=6e11, rng_seed=3).values, a)
    pd.testing.assert_frame_equal(back.calibration(), table)
    bs.plotting.plot_record(post, path=tmp_path / "record.png")
    assert (tmp_path / "record.png").stat().st_size > 10_000
