"""The learned extrapolation error: its shape, the record's likelihood, the prior across ladders,
and a fit that carries its own record."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
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


def test_a_run_trained_longer_for_its_size_than_any_in_the_data_is_beyond_it():
    """Tokens per parameter is an axis of the distance: an over-trained run whose N, D and
    compute all lie inside a Chinchilla-style ladder is still an extrapolation (Gadre et al.'s
    runs at 8-640x Chinchilla's tokens were off the law by 3 % with no error added)."""
    n = np.geomspace(1e8, 1e10, 5)
    term = ExtrapolationError.from_data({"N": n, "D": 20 * n})  # 20 tokens per parameter
    assert term.ranges["D/N"] == pytest.approx((np.log10(20), np.log10(20)))
    x = {"N": np.array([1e9, 1e8, 1e9]), "D": np.array([2e10, 2e10, 2e9])}
    up, down = term.distances(x)
    np.testing.assert_allclose(np.asarray(up), [0.0, 1.0, 0.0], atol=1e-9)  # 200 per parameter
    np.testing.assert_allclose(np.asarray(down), [0.0, 0.0, 1.0], atol=1e-9)  # 2 per parameter
    # a term saved before the axis existed reads back without it, and measures as it did
    old = ExtrapolationError.from_dict(
        {
            **term.to_dict(),
            "ranges": {k: v for k, v in term.to_dict()["ranges"].items() if k != "D/N"},
        }
    )
    assert float(old.distance({"N": np.array(1e8), "D": np.array(2e10)})) == 0.0


def test_cut_likelihood_equals_the_multivariate_normal_density():
    rng = np.random.default_rng(0)
    d = np.linspace(0.05, 1.5, 6)
    log_draws = rng.normal(0.0, 0.01, (4000, 6)) + np.linspace(0, 0.02, 6)
    log_y = rng.normal(0.0, 0.03, 6)
    noise = np.linspace(0.002, 0.01, 6)
    c = np.cov(log_draws, rowvar=False) + np.diag(noise**2) + 1e-10 * np.eye(6)
    u = np.stack([offset_shape(d), np.sqrt(d)], axis=1)
    r = log_y - log_draws.mean(axis=0)
    const = -0.5 * 6 * np.log(2 * np.pi)
    # an error added to the log loss (no jacobian), and one of two effective inputs whose
    # sensitivities d log L / d x_k differ by row
    jac = np.stack([np.linspace(-0.1, -0.2, 6), np.linspace(-0.15, -0.05, 6)], axis=1)
    for sens in (np.ones((6, 1)), jac):
        ll = rec.cut_loglik(log_y, log_draws, d, noise, None if sens.shape[1] == 1 else sens)
        for i, j in ((0, 0), (20, 30), (48, 10), (35, 35)):
            so, sg = np.exp(rec.LOG_SCALE_GRID[[i, j]])
            cov = c.copy()
            for jk in sens.T:
                cov += so**2 * np.outer(jk * u[:, 0], jk * u[:, 0])
                cov += sg**2 * np.outer(jk * u[:, 1], jk * u[:, 1])
            want = stats.multivariate_normal(np.zeros(6), cov).logpdf(r) - const
            assert ll[i, j] == pytest.approx(want, rel=1e-8, abs=1e-8)


def test_cut_likelihood_with_student_t_noise_reads_an_outlying_row_as_noise():
    """With the refit's Student-t noise, a row tens of noise scales off the law is the noise's
    tail: the scales learned from the cut stay where the other rows put them. Under a normal
    noise the same row drives them up. As ``nu`` grows the likelihood is the normal's."""
    rng = np.random.default_rng(2)
    f = 30
    d = np.sort(rng.uniform(0.02, 1.0, f))
    jac = np.stack([rng.uniform(0.05, 0.2, f), rng.uniform(0.05, 0.2, f)], axis=1)
    log_draws = rng.normal(0, 0.002, (2000, 1)) + rng.normal(0, 0.001, (2000, f))
    noise = np.full(f, 0.004)
    log_y = rng.normal(0.0, 0.004, f) + 0.02 * jac[:, 0] * np.sqrt(d)  # a small coherent error
    normal = rec.cut_loglik(log_y, log_draws, d, noise, jac)
    limit = rec.cut_loglik(log_y, log_draws, d, noise, jac, nu=1e7)
    np.testing.assert_allclose(limit - limit.max(), normal - normal.max(), atol=1e-3)

    def growth(ll):  # the posterior median of sigma_g under a flat prior on the grid
        p = np.exp(ll - ll.max()).sum(axis=0)
        return np.exp(rec.LOG_SCALE_GRID[np.searchsorted(np.cumsum(p / p.sum()), 0.5)])

    off = log_y.copy()
    off[f // 2] += 0.1  # 25 noise scales above the law
    clean_t, off_t = (rec.cut_loglik(y, log_draws, d, noise, jac, nu=2.0) for y in (log_y, off))
    off_normal = rec.cut_loglik(off, log_draws, d, noise, jac)
    assert growth(off_normal) > 2.5 * growth(normal)
    assert growth(off_t) < 1.5 * growth(clean_t)


def test_prior_across_ladders_recovers_where_the_records_point(tmp_path, monkeypatch):
    a, b = np.meshgrid(rec.LOG_SCALE_GRID, rec.LOG_SCALE_GRID, indexing="ij")
    rng = np.random.default_rng(1)
    centres = rng.normal([np.log(0.01), np.log(0.003)], [0.3, 0.3], (12, 2))
    logliks = [-0.5 * ((a - m0) ** 2 + (b - m1) ** 2) / 0.2**2 for m0, m1 in centres]
    prior = rec.fit_prior(logliks, ["sim"])
    assert np.exp(prior.mean) == pytest.approx(np.exp(centres.mean(axis=0)), rel=0.25)
    assert np.sqrt(prior.cov[0][0]) < 1.0  # the spread across ladders, not the default 1.5
    other = rec.ScalePrior(
        (np.log(0.05), np.log(0.15)), ((0.5, 0.1), (0.1, 0.4)), ("x",), kind="inputs"
    )
    path = prior.save(tmp_path / "p.json", inputs=other, ladders=12)
    assert rec.ScalePrior.load(path) == prior
    assert rec.ScalePrior.load(path, kind="inputs") == other
    with pytest.raises(ValueError, match="kind"):
        rec.ScalePrior.load(path, kind="loss_of_inputs")
    monkeypatch.setenv(rec.PRIOR_ENV, str(path))
    assert rec.ScalePrior.load() == prior
    # records flat below some scale (refits whose own spread covers their residuals) leave
    # maximum likelihood free to run off the grid; a hyperprior keeps the fit near it
    flat = [
        np.minimum(0.0, -0.5 * ((b - np.log(0.02)) / 0.3) ** 2 * (b > np.log(0.02)))
        for _ in range(10)
    ]
    shrunk = rec.fit_prior(flat, hyperprior=rec.ScalePrior())
    assert np.all(np.abs(np.array(shrunk.mean) - np.log(0.01)) < 1.5)
    assert np.exp(shrunk.mean[1]) < 0.02  # and under the records' ceiling
    with pytest.raises(ValueError, match="hyperprior of kind"):
        rec.fit_prior(flat, hyperprior=rec.ScalePrior(kind="inputs"))
    # draws follow record x prior: a sharp record wins over the prior
    so, _ = rec.scale_draws(logliks[0] * 50, prior, 4000, seed=0)
    assert np.median(np.log(so)) == pytest.approx(centres[0, 0], abs=0.15)


def test_prior_across_ladders_is_searched_to_its_optimum():
    # records of twenty ladders as the public ones look (sharp, broad, and flat below a
    # ceiling), on which one simplex search stopped 3.7 nats short of the optimum
    a, b = np.meshgrid(rec.LOG_SCALE_GRID, rec.LOG_SCALE_GRID, indexing="ij")
    rng = np.random.default_rng(6)
    logliks = []
    for _ in range(20):
        c = rng.multivariate_normal([np.log(0.005), np.log(0.015)], [[1.5, 1.3], [1.3, 1.4]])
        ll = -0.5 * ((a - c[0]) ** 2 + (b - c[1]) ** 2) / rng.choice([0.15, 0.5, 2.0]) ** 2
        if rng.random() < 0.3:
            ll = np.minimum(0.0, ll * ((a > c[0]) | (b > c[1])))
        logliks.append(ll)
    prior = rec.fit_prior(logliks)
    best = rec.marginal_loglik(logliks, prior).sum()
    step = rec.LOG_SCALE_GRID[1] - rec.LOG_SCALE_GRID[0]

    def prior_at(p):
        sd = step + np.exp(p[2:4])
        r = 0.9 * np.tanh(p[4])
        cov = ((sd[0] ** 2, r * sd[0] * sd[1]), (r * sd[0] * sd[1], sd[1] ** 2))
        return rec.ScalePrior(tuple(p[:2]), cov)

    # no search from spread-out starts finds a prior the records favour more; the first start
    # is fit_prior's own, from which one search stops short on these records
    starts = [
        [np.log(0.01), np.log(0.01), 0.0, 0.0, 0.0],
        [np.log(0.001), np.log(0.003), np.log(0.2), np.log(0.2), 0.0],
        [np.log(0.05), np.log(0.1), 0.0, 0.0, 1.0],
    ]
    found = []
    for start in starts:
        res = scipy.optimize.minimize(
            lambda p: -rec.marginal_loglik(logliks, prior_at(p)).sum(),
            np.array(start),
            method="Nelder-Mead",
            options={"maxiter": 4000},
        )
        found.append(-res.fun)
    assert best >= max(found) - 0.01
    assert best > found[0] + 1.0


def _input_error(draws: int, seed: int):
    """An input error of a ladder's ranges, scales 0.05 and 0.2, drawn ``draws`` times."""
    import jax

    term = ExtrapolationError(
        {"N": (8.0, 10.0), "D": (9.0, 11.0), "C": (18.0, 22.0)}, mode="inputs"
    )
    shape = (1, draws)
    state = term.draw(
        {"extrap_offset": np.full(shape, 0.05), "extrap_growth": np.full(shape, 0.2)},
        shape,
        jax.random.PRNGKey(seed),
    )
    return term, state


def test_input_error_shifts_the_laws_inputs_beyond_the_data_only():
    term, state = _input_error(2000, seed=0)
    x = {"N": np.array([1e9, 1e12]), "D": np.array([1e10, 1e12])}  # inside; 2 decades above
    layout = {k: v.reshape(1, 1, -1) for k, v in x.items()}
    out = term.effective_inputs(state, layout, ("N", "D"), lambda v: np.reshape(v, (*v.shape, 1)))
    shift = np.log10(np.asarray(out["N"]) / layout["N"])
    np.testing.assert_allclose(shift[..., 0], 0.0, atol=1e-12)
    # beyond: sd sqrt(0.05^2 phi^2 + 0.2^2 d), d = log10(6e24) - 22 decades of compute past
    d = np.log10(6e24) - 22
    assert np.std(shift[..., 1]) == pytest.approx(np.sqrt(0.05**2 + 0.2**2 * d), rel=0.1)
    shift_d = np.log10(np.asarray(out["D"]) / layout["D"])[..., 1]
    assert abs(np.corrcoef(shift[..., 1].ravel(), shift_d.ravel())[0, 1]) < 0.1  # independent


def test_correlated_input_errors_match_the_records_mixing(monkeypatch):
    """With ``INPUT_CORRELATION`` set, the prediction's errors of N and D are correlated at it,
    and ``input_mixing`` (the record's ``J L``) gives the same variance in log loss."""
    from bayescale import extrapolation

    monkeypatch.setattr(extrapolation, "INPUT_CORRELATION", -0.8)
    term, state = _input_error(20000, seed=1)
    layout = {"N": np.full((1, 1, 1), 1e12), "D": np.full((1, 1, 1), 1e12)}
    out = term.effective_inputs(state, layout, ("N", "D"), lambda v: np.reshape(v, (*v.shape, 1)))
    e = np.stack([np.log10(np.asarray(out[k]) / layout[k]).ravel() for k in ("N", "D")])
    assert np.corrcoef(e)[0, 1] == pytest.approx(-0.8, abs=0.02)
    assert np.std(e[1]) == pytest.approx(np.std(e[0]), rel=0.03)  # each input's sd unchanged
    jac = np.array([[0.3, 0.1]])  # d log L / d log10 N, D at one row
    mixed = jac @ extrapolation.input_mixing(("N", "D"))
    predicted = (jac @ np.cov(e) @ jac.T).item() / np.var(e[0])
    assert (mixed @ mixed.T).item() == pytest.approx(predicted, rel=0.05)


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
    assert post.extrapolation.mode == "inputs"  # a ladder extrapolated in compute
    assert (table["sensitivity"] > 0).all() and (table["sensitivity"] < 1).all()
    assert fixed.calibration().columns.tolist() == table.columns.tolist()  # no rows, same columns
    # ... and are the same once it is learned
    np.testing.assert_array_equal(post.predict(**rows, rng_seed=1).values, before)
    # a five-budget ladder is cut below its top one, two and three budgets
    assert list(table["cut"].unique()) == ["future 20%", "future 40%", "future 60%"]
    assert table.groupby("cut", sort=False).size().tolist() == [7, 14, 21]
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


def test_cuts_keep_a_budget_together_and_never_repeat():
    """Runs of one budget share a position (log N D differs in its last bits: 2 of 7 runs of a
    budget were cut off from the others), and a cut that would repeat an earlier one moves down
    a budget (on five budgets the 20 % and 35 % cuts were the same refit, counted twice)."""
    from bayescale.record import cuts

    df = bs.simulate_ladder()  # 5 budgets x 7 sizes
    data = bs.Model().prepare(df)
    found = cuts(bs.Model(), data, "compute")
    budget = np.round(np.log10(df["params"].to_numpy() * df["tokens"].to_numpy()), 6)
    held = [sorted(set(budget[~train])) for _, train in found]
    assert [len(h) for h in held] == [1, 2, 3]
    assert [round(f, 2) for f, _ in found] == [0.2, 0.4, 0.6]
    for _, train in found:  # a budget is on one side of every cut
        assert all(len(set(train[budget == b])) == 1 for b in set(budget))
    # a ladder of distinct positions keeps its nominal fractions
    epochish = df.drop(columns="flops").assign(tokens=df["tokens"] * np.linspace(1, 1.5, len(df)))
    found = cuts(bs.Model(), bs.Model().prepare(epochish), "compute")
    assert [f for f, _ in found] == [0.2, 0.35, 0.5]


def test_a_ladder_too_short_for_a_record_is_told_it_keeps_the_prior(capsys, tmp_path):
    """A ladder with no cut of its own kept the prior across ladders without a word; the model
    names why (rows below and above a cut), and the command line prints it before the fit."""
    from bayescale.cli import main

    df = bs.simulate_ladder()  # 5 budgets x 7 sizes: cut below the top 1, 2 and 3 budgets
    model = bs.Model()
    assert model.record_notice(model.prepare(df)) is None
    two = df[df["flops"] < 5e18]  # 2 budgets: 7 rows below the only cut, 14 needed
    notice = model.record_notice(model.prepare(two))
    assert "no cut along compute of its 14 rows leaves 14 below it" in notice
    assert "prior across public ladders alone" in notice
    # a fixed or absent error reads no record: nothing to say
    assert bs.Model(extrapolation="fixed").record_notice(model.prepare(two)) is None
    assert bs.Model(extrapolation="prior").record_notice(model.prepare(two)) is None
    two.to_csv(tmp_path / "two.csv", index=False)
    argv = ["fit", str(tmp_path / "two.csv"), "--out", str(tmp_path / "o"), "--method", "psis"]
    main([*argv, "--quiet"])
    out = capsys.readouterr().out
    assert "no record of this ladder's own extrapolations" in out
    assert "then fit with --extrapolation-prior" in out and "Model(" not in out


def test_record_refits_are_importance_sampled_and_nuts_where_that_fails(monkeypatch):
    """A record's refit is drawn as a fit by ``method="auto"``: its Laplace approximation
    corrected by importance sampling (a hierarchy's Laplace approximation was 6x too wide on
    Gadre et al.'s ladder, and the record read the misfit as extrapolation error), and a cut
    whose importance weights fail their check is refitted by NUTS."""
    df = bs.simulate_ladder(budgets=(1e18, 3e18, 1e19, 3e19, 1e20), seed=2)
    model = bs.Model(extrapolation="none")
    data = model.prepare(df)
    parts = [data.subset(train) for _, train in rec.cuts(model, data, "compute")]
    calls = []
    real = rec.sample_nuts
    monkeypatch.setattr(
        rec, "sample_nuts", lambda m, ds, s: calls.append(len(ds)) or real(m, ds, s)
    )
    out = rec._refit(model, parts, 200, 0)
    assert calls == []
    assert [o["log_E"].shape for o in out] == [(1, rec.REFIT_IMPORTANCE_DRAWS)] * len(parts)
    with monkeypatch.context() as m:  # weights too heavy-tailed: NUTS
        m.setattr(rec, "KHAT_MAX", -1.0)
        rec._refit(model, parts[:1], 400, 0)
    assert calls == [1]
    monkeypatch.setattr(rec, "REFIT_ESS_MIN", 10**9)  # too few effective draws: NUTS
    (nuts,) = rec._refit(model, parts[:1], 400, 0)
    assert calls == [1, 1] and nuts["log_E"].shape == (1, rec.REFIT_IMPORTANCE_DRAWS)
    # the two draw the same posterior: centre and spread of every law parameter agree
    for site in ("log_E", "log_alpha", "log_beta"):
        a, b = out[0][site].ravel(), nuts[site].ravel()
        assert np.median(a) == pytest.approx(np.median(b), abs=0.3 * b.std())
        assert a.std() == pytest.approx(b.std(), rel=0.3)


def test_likelihood_rows_are_one_checkpoint_per_run_of_a_curve():
    from bayescale.record import MAX_RECORD_ROWS, _likelihood_rows

    d = np.array([0.1, 0.3, 0.2, 0.05, 0.4, 0.0])
    runs = np.array([0, 0, 0, 1, 1, 2])
    # the furthest held-out checkpoint of each run, in order of distance
    np.testing.assert_array_equal(_likelihood_rows(d, runs), [5, 1, 4])
    # a ladder of runs: every row (up to the cap), spread over the distances
    np.testing.assert_array_equal(_likelihood_rows(d, None), np.argsort(d, kind="stable"))
    many = np.linspace(0, 1, 3 * MAX_RECORD_ROWS)
    assert _likelihood_rows(many, None).size == MAX_RECORD_ROWS
    assert _likelihood_rows(many, np.arange(many.size)).size == MAX_RECORD_ROWS
    # more runs than the cap: one per run, then spread over the runs' distances
    runs = np.repeat(np.arange(2 * MAX_RECORD_ROWS), 3)
    rows = _likelihood_rows(np.linspace(0, 1, runs.size), runs)
    assert rows.size == MAX_RECORD_ROWS and np.unique(runs[rows]).size == MAX_RECORD_ROWS
    assert _likelihood_rows(np.array([]), np.array([], int)).size == 0


def test_a_record_of_training_curves_reads_one_checkpoint_per_run():
    """Checkpoints of one run deviate from the law together; the record's likelihood, which
    treats its rows' noise as independent, took that wander for extrapolation error (Farseer's
    law on Gemstones' curves: scales 0.019 and 0.049 from residuals smaller than its refits' own
    spread; one checkpoint per run: 0.0007 and 0.0022)."""
    rng = np.random.default_rng(0)
    rows = []
    for n in np.geomspace(5e7, 1e9, 6):
        tokens = np.geomspace(1e9, 40 * n, 25)
        wander = np.cumsum(0.002 * rng.standard_normal(tokens.size))  # a curve's smooth drift
        loss = 1.69 + 406.4 * n**-0.34 + 410.7 * tokens**-0.28
        rows += [(n, t, v, f"r{n:.0e}") for t, v in zip(tokens, loss * np.exp(wander), strict=True)]
    df = pd.DataFrame(rows, columns=["params", "tokens", "loss", "run"])
    model = bs.Model(run="run", likelihood="normal")
    data = model.prepare(df)
    record = rec.ladder_record(model.without_extrapolation(), data)
    assert record.axis == "run_tokens"
    table = record.table
    for _, cut in table.groupby("cut"):
        used = cut[cut["in_likelihood"]]
        runs = df["run"].to_numpy()[cut["row"]]
        assert len(used) == len(set(runs))  # one per run
        furthest = cut.assign(run=runs).groupby("run")["distance"].max()
        np.testing.assert_allclose(
            np.sort(used["distance"].to_numpy()), np.sort(furthest.to_numpy())
        )


def _curves(bend: float, n: int = 4) -> dict[str, pd.DataFrame]:
    """``n`` noisy one-input curves of ``L = 1 + 20 D^-alpha``; ``bend`` > 0 lets the exponent
    shrink along the curve (a law form the saturating power law misses beyond the data)."""
    rng = np.random.default_rng(3)
    d = np.geomspace(1e6, 1e9, 30)
    out = {}
    for i in range(n):
        alpha = 0.3 - bend * np.log10(d / 1e6) + 0.02 * i
        loss = (1 + 20 * d**-alpha) * np.exp(rng.normal(0, 0.002, d.size))
        out[f"c{i}"] = pd.DataFrame({"tokens": d, "loss": loss})
    return out


def test_a_prior_pooled_over_a_users_curves_learns_how_wrong_their_law_is(tmp_path):
    """``pooled_prior``: the hierarchical prior of the error scales across one's own curves
    (the revisiting benchmark's domains: IC MSCE 0.062 -> 0.044). Curves that bend away from
    the law give larger scales than curves on it, and a model given the prior uses it."""
    model = bs.Model(law=bs.laws.SaturatingPowerLaw(x="D"))
    exact = rec.pooled_prior(model, _curves(bend=0.0))
    bent = rec.pooled_prior(model, _curves(bend=0.03))
    assert exact.kind == bent.kind == "loss"
    assert bent.fitted_on == ("c0", "c1", "c2", "c3")
    # the bend's error grows past the data (growth 0.008 per root decade against 0.0015 on
    # the law, where the weak hyperprior holds what four flat records cannot resolve)
    assert np.exp(bent.mean[1]) > 3 * np.exp(exact.mean[1])
    assert bent.mean[0] > exact.mean[0] >= rec.LOG_SCALE_GRID[0]

    pooled = bs.Model(law=bs.laws.SaturatingPowerLaw(x="D"), extrapolation_prior=bent)
    data = pooled.prepare(_curves(bend=0.03)["c0"])
    assert pooled.scale_prior(data) == bent
    assert model.scale_prior(data) != bent  # without it: the shipped prior
    # the spec carries the prior itself (a saved fit needs no file), and a file reads back
    assert bs.Model.from_spec(pooled.spec()) == pooled
    assert "extrapolation_prior" not in model.spec()
    path = bent.save(tmp_path / "prior.json")
    assert bs.Model(law=pooled.law, extrapolation_prior=str(path)) == pooled
    assert pooled.without_extrapolation().extrapolation == "none"


def test_pooled_prior_and_extrapolation_prior_refuse_what_they_cannot_use(tmp_path):
    power = bs.laws.SaturatingPowerLaw(x="D")
    model = bs.Model(law=power)
    with pytest.raises(ValueError, match="mapping"):
        rec.pooled_prior(model, [df for df in _curves(0.0).values()])
    with pytest.raises(ValueError, match=r"at least 3 with a record; 2 of the 2"):
        rec.pooled_prior(model, _curves(0.0, n=2))
    bad = {**_curves(0.0, n=3), "broken": pd.DataFrame({"tokens": [1e6, -1.0], "loss": [2, 1]})}
    with pytest.raises(bs.DataError, match="table 'broken'"):
        rec.pooled_prior(model, bad)
    prior = rec.ScalePrior(kind="loss")
    with pytest.raises(bs.SpecificationError, match="learns none"):
        bs.Model(law=power, extrapolation="none", extrapolation_prior=prior)
    # a ladder extrapolated in compute errs in the law's inputs: a prior of the log loss is not it
    chinchilla = bs.Model(extrapolation_prior=prior)
    # ... refused where the table is prepared, before any sampling (it was after the whole fit)
    with pytest.raises(bs.SpecificationError, match=r"kind 'inputs'.*pooled_prior.*--law chin"):
        chinchilla.prepare(bs.simulate_ladder())
    with pytest.raises(bs.SpecificationError, match="no such file"):
        bs.Model(law=power, extrapolation_prior=tmp_path / "missing.json")
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(bs.SpecificationError, match="holds no prior"):
        bs.Model(law=power, extrapolation_prior=tmp_path / "empty.json")
    with pytest.raises(bs.SpecificationError, match="ScalePrior"):
        bs.Model(law=power, extrapolation_prior=0.02)
    with pytest.raises(ValueError, match="positive-definite"):
        rec.ScalePrior((0.0, 0.0), ((1.0, 2.0), (2.0, 1.0)))


def test_a_record_is_computed_once_per_model_and_table(monkeypatch):
    """``pooled_prior`` then a fit of each table: the fit reuses the record, not its refits."""
    calls = []
    real = rec._compute_record
    monkeypatch.setattr(rec, "_RECORDS", type(rec._RECORDS)())
    monkeypatch.setattr(rec, "_compute_record", lambda *a: calls.append(a) or real(*a))
    model = bs.Model(law=bs.laws.SaturatingPowerLaw(x="D"), extrapolation="none")
    curves = _curves(bend=0.03, n=2)
    first = rec.ladder_record(model, model.prepare(curves["c0"]))
    again = rec.ladder_record(model, model.prepare(curves["c0"]))
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first.table, again.table)
    again.table.loc[:, "loss"] = 0.0  # a copy: the kept record is untouched
    assert rec.ladder_record(model, model.prepare(curves["c0"])).table["loss"].gt(0).all()
    # another table, seed or model is another record
    rec.ladder_record(model, model.prepare(curves["c1"]))
    rec.ladder_record(model, model.prepare(curves["c0"]), seed=1)
    assert len(calls) == 3
