"""Compute-optimal frontiers and budget decisions (issue: credible frontiers)."""

from __future__ import annotations

import warnings

import arviz_stats
import jax
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayescale as bs
from bayescale import decisions
from bayescale.frontier import effective_tokens, frontier
from bayescale.isoflop import isoflop_minima, power_fit
from bayescale.prediction import keys
from bayescale.simulate import chinchilla_loss

pytestmark = pytest.mark.slow


def natural(post):
    p = post.posterior
    return {k: p[k].values.ravel() for k in ("E", "A", "B", "alpha", "beta")}


def closed_form_n(p, c):
    g = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    return g * (c / 6) ** (p["beta"] / (p["alpha"] + p["beta"]))


@pytest.fixture(scope="module")
def ladder_fit():
    """A single-family ladder simulated from known parameters, budgets 1e18..1e20 FLOP."""
    df = bs.simulate_ladder(budgets=(1e18, 3e18, 1e19, 3e19, 1e20), sizes_per_budget=7, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("error", bs.ConvergenceWarning)
        return df, bs.Model().fit(df, seed=1)


def test_true_frontier_inside_90_band_100x_beyond_data(ladder_fit):
    df, post = ladder_fit
    truth = df.attrs["params"]
    budgets = np.array([1e21, 1e22])  # 10x and 100x the largest budget
    front = frontier(post, budgets)
    band = front.quantile([0.05, 0.95], dim=("chain", "draw"))
    n_true = closed_form_n(truth, budgets)
    d_true = budgets / (6 * n_true)
    for var, true in (("N_opt", n_true), ("D_opt", d_true), ("tokens_per_param", d_true / n_true)):
        lo, hi = band[var].values
        assert np.all((lo <= true) & (true <= hi)), (var, lo, true, hi)
    l_true = chinchilla_loss(truth, n_true, d_true)
    lo, hi = band["loss_opt"].values
    assert np.all((lo <= l_true) & (l_true <= hi))


def test_closed_form_matches_numerical(law_only_fit):
    c = np.geomspace(1e19, 1e26, 8)
    a = frontier(law_only_fit, c, method="closed_form")
    b = frontier(law_only_fit, c, method="numerical")
    auto = frontier(law_only_fit, c)
    for var in ("N_opt", "D_opt", "loss_opt"):
        np.testing.assert_allclose(a[var].values, b[var].values, rtol=1e-5)
        np.testing.assert_allclose(a[var].values, auto[var].values, rtol=1e-12)
    np.testing.assert_allclose(
        a["N_opt"].values,
        closed_form_n({k: v.reshape(4, 1000, 1) for k, v in natural(law_only_fit).items()}, c),
        rtol=1e-8,
    )


def test_extrapolation_error_reaches_the_allocation(epoch_fit, law_only_fit):
    """Beyond the data each draw's N* minimises its law at its effective inputs, one error per
    budget: the N* band widens around the law's own optimum, by a bounded amount however far
    out; inside the data's compute range it is the law's own band."""

    def width(f):
        q = np.log10(f["N_opt"].quantile([0.05, 0.95], dim=("chain", "draw")).values)
        return q[1] - q[0]

    inside = np.array([1e20, 1e21, 1e22])  # Epoch's runs reach 1.3e22 FLOP
    # the allocations far along these budgets' curves lie beyond the data: their errors must
    # not pull the search there (the band was 1.5 decades wide at 1e21 when they did)
    np.testing.assert_allclose(
        width(frontier(epoch_fit, inside)), width(frontier(law_only_fit, inside)), rtol=0.25
    )
    assert np.all(width(frontier(epoch_fit, inside)) < 0.1)
    c = np.array([3e22, 1e24])
    full = frontier(epoch_fit, c)
    law = frontier(law_only_fit, c)
    assert np.all(width(full) > 1.5 * width(law))
    assert np.all(width(full) < 1.5)  # decades: the allocation stays informative 3 decades out
    med = np.log10(full["N_opt"].median(dim=("chain", "draw")).values)
    np.testing.assert_allclose(med, np.log10(law["N_opt"].median(dim=("chain", "draw"))), atol=0.1)
    # every draw's N* is a minimum of the loss surface it predicts along the iso-FLOP curve
    key_pred, key_draw = keys(0)
    pred = epoch_fit.predictor(rng_seed=key_pred)
    k_loc = jax.random.split(key_draw)[0]

    def location(n):
        x = {"N": n[:, :, None], "D": (c / (6 * n))[:, :, None]}
        budget = {"C": np.broadcast_to(c, n.shape)[:, :, None]}
        return np.asarray(pred.location(x, k_loc, at=budget))[:, :, 0]

    best = location(full["N_opt"].values)
    for step in (1.02, 1 / 1.02):
        assert np.mean(location(full["N_opt"].values * step) >= best - 1e-9) > 0.99


def test_frontier_shape_and_arviz(epoch_fit):
    front = frontier(epoch_fit, [5.88e23, 1e25])
    assert front["N_opt"].dims == ("chain", "draw", "compute")
    eti = arviz_stats.eti(front, prob=0.8)
    # three decades past Epoch's data the law's form error dominates D*/N* (its bootstrap,
    # which trusts the law: [10.7, 30.5]); the band stays within a factor ~10 of the median
    band = eti["tokens_per_param"].sel(compute=5.88e23).values
    assert 1 < band[0] < 10 and 30 < band[1] < 300
    np.testing.assert_allclose(front["tokens_per_param"], front["D_opt"] / front["N_opt"])


def test_epoch_tokens_per_param_at_chinchilla_budget(epoch_fit):
    front = frontier(epoch_fit, 5.88e23)
    med = float(front["tokens_per_param"].median())
    assert 15 <= med <= 22


def test_serving_cost_prefers_smaller_models(epoch_fit):
    plain = frontier(epoch_fit, 1e24)
    served = frontier(epoch_fit, 1e24, inference_tokens=2e13)
    assert float(served["N_opt"].median()) < 0.8 * float(plain["N_opt"].median())
    spent = 6 * served["N_opt"] * served["D_opt"] + 2 * served["N_opt"] * 2e13
    np.testing.assert_allclose(spent.values, 1e24, rtol=1e-9)
    # a budget that serving eats (negative tokens, or under one token per parameter) is refused
    for budget, tokens in ((1e21, 1e30), (1e22, 1e15)):
        with pytest.raises(ValueError, match="too little to train"):
            frontier(epoch_fit, budget, inference_tokens=tokens)


def test_unique_token_cap(epoch_fit):
    plain = frontier(epoch_fit, 1e24, method="numerical")
    huge = frontier(epoch_fit, 1e24, unique_tokens=1e20)
    np.testing.assert_allclose(huge["N_opt"].values, plain["N_opt"].values, rtol=1e-5)
    capped = frontier(epoch_fit, 1e24, unique_tokens=2e11)
    assert float(capped["tokens_per_param"].median()) < float(plain["tokens_per_param"].median())
    assert float(capped["loss_opt"].median()) > float(plain["loss_opt"].median())
    assert effective_tokens(np.array(1e11), 2e11, 15.4) == pytest.approx(1e11)
    four_epochs = float(effective_tokens(np.array(8e11), 2e11, 15.4))
    assert 7e11 < four_epochs < 8e11


@pytest.fixture
def law_only_fit(epoch_fit):
    """The Epoch fit without its extrapolation-error term: the brute-force checks below test
    the decision arithmetic on the law itself."""
    import copy

    post = copy.copy(epoch_fit)
    post.extrapolation = None
    return post


def test_prob_below_matches_brute_force(law_only_fit):
    p = natural(law_only_fit)
    n, d, target = np.array([7e10, 3e10]), np.array([1.4e12, 3e12]), 1.975
    got = decisions.prob_below(law_only_fit, target, N=n, D=d, kind="mean")
    brute = [(chinchilla_loss(p, ni, di) < target).mean() for ni, di in zip(n, d, strict=True)]
    np.testing.assert_allclose(got["prob"], brute, atol=1e-12)
    # Predictive: brute-force Student-t simulation with an independent RNG agrees within MC error.
    got = decisions.prob_below(law_only_fit, target, N=n, D=d, kind="predictive")
    post = law_only_fit.posterior
    rng = np.random.default_rng(1)
    for j, (ni, di) in enumerate(zip(n, d, strict=True)):
        loc = np.log(chinchilla_loss(p, ni, di))
        eps = stats.t.rvs(post["nu"].values.ravel(), random_state=rng)
        y = np.exp(loc + post["sigma"].values.ravel() * eps)
        brute = (y < target).mean()
        assert abs(got["prob"][j] - brute) < 4 * np.sqrt(2) * got["mcse"][j] + 1e-3


def test_best_allocation_matches_brute_force(law_only_fit):
    p = natural(law_only_fit)
    c = 1e24
    n = np.geomspace(np.sqrt(c / 6) / 1e3, np.sqrt(c / 6) * 1e3, 4001)
    loss = chinchilla_loss({k: v[:, None] for k, v in p.items()}, n[None], c / (6 * n[None]))
    step = np.log10(n[1] / n[0])
    for objective, score in (("mean", loss.mean(0)), ("quantile", np.quantile(loss, 0.9, 0))):
        got = decisions.best_allocation(law_only_fit, c, objective=objective)
        n_brute = n[np.argmin(score)]
        assert abs(np.log10(got["N"][0] / n_brute)) <= 6 / 400 + step
        assert got["objective"][0] == pytest.approx(score.min(), rel=1e-5)


def test_compute_for_target_matches_brute_force(law_only_fit):
    p = {k: v[:, None, None] for k, v in natural(law_only_fit).items()}
    target, prob = 2.0, 0.9
    got = decisions.compute_for_target(law_only_fit, target, prob=prob, kind="mean")
    cs = got["compute"] * np.array([0.97, 1.03])
    ps = []
    for c in cs:
        n = np.geomspace(np.sqrt(c / 6) / 1e3, np.sqrt(c / 6) * 1e3, 2001)[None, None, :]
        ps.append((chinchilla_loss(p, n, c / (6 * n)) < target).mean(axis=(0, 1)).max())
    assert ps[0] < prob <= ps[1]
    never = decisions.compute_for_target(law_only_fit, 1.0, prob=0.9, kind="mean")
    assert never["compute"] == np.inf


def test_value_of_runs_prefers_runs_near_the_target(law_only_fit):
    # On the law alone: with the extrapolation error, L*'s spread is the drift's, which runs
    # inside the data cannot inform (see the calibration docs).
    cand = pd.DataFrame({"N": [1e8, 1e10], "D": [2e9, 2e11]})
    out = decisions.value_of_runs(law_only_fit, cand, 5.88e23, n_sims=100).set_index("N")
    assert (out["reduction"] > -0.01).all() and (out["reduction"] < 1).all()
    assert out.loc[1e10, "reduction"] > out.loc[1e8, "reduction"]
    assert (out["ess_min"] > 100).all()


def test_isoflop_parabola_bias_direction():
    truth = {"E": 1.7, "A": 400.0, "B": 400.0, "alpha": 0.3, "beta": 0.4}
    rows = []
    for c in (1e19, 1e20, 1e21):
        n_opt = closed_form_n(truth, c)
        for n in n_opt * np.geomspace(1 / 8, 8, 9):
            rows.append(
                {"params": n, "tokens": c / (6 * n), "loss": chinchilla_loss(truth, n, c / (6 * n))}
            )
    df = pd.DataFrame(rows)
    minima = isoflop_minima(df)
    assert minima["ok"].all() and "flatter side" in minima.attrs["bias"]
    true_n = closed_form_n(truth, minima["compute"].to_numpy())
    # beta > alpha: the profile is steeper towards large N; the parabola vertex moves to small N.
    assert np.all(minima["N_opt"] < true_n)
    fit = power_fit(minima)
    assert fit["a"] == pytest.approx(0.4 / 0.7, abs=0.02)


def test_predicted_isoflop_minima_cover_the_measured_ones(ladder_fit):
    # Forty replicate profiles at 1e21 FLOP (a decade past the data), noise as in the ladder:
    # the predictive band of the measured (parabola) minimum holds about 90 % of them, and is
    # wider than their own scatter (it adds the fit's uncertainty), and wider than the band of
    # the law's N* (which leaves out the measurement's noise).
    _df, post = ladder_fit
    measured = pd.concat(
        [isoflop_minima(bs.simulate_ladder(budgets=(1e21,), seed=s)) for s in range(40)]
    )
    planned = bs.simulate_ladder(budgets=(1e21,), seed=0)
    table = bs.predicted_isoflop_minima(post, planned)
    row = table.iloc[0]
    assert row["n_points"] == 7 and row["p_bracketed"] > 0.9
    assert measured["ok"].mean() > 0.9
    n_meas = measured.loc[measured["ok"], "N_opt"].to_numpy()
    inside = (n_meas >= row["N_opt_lo"]) & (n_meas <= row["N_opt_hi"])
    assert 0.75 <= inside.mean() <= 1.0
    band = np.log10(row["N_opt_hi"] / row["N_opt_lo"])
    spread = np.log10(np.quantile(n_meas, 0.95) / np.quantile(n_meas, 0.05))
    assert 0.8 * spread < band < 3 * spread
    front = frontier(post, 1e21)["N_opt"].quantile([0.05, 0.95]).values
    assert np.log10(front[1] / front[0]) < band
    # how often a measured minimum lands in the N* band, were the fit right: the share of the
    # replicates that did (the ladder is the law's own), below the band's 90 %
    profile = row["profile"]
    banded = bs.predicted_isoflop_minima(post, planned, bands={profile: tuple(front)})
    p_in = banded["p_in_band"].iloc[0]
    in_front = np.mean((n_meas >= front[0]) & (n_meas <= front[1]))
    assert p_in < 0.9 and abs(p_in - in_front) < 0.15, (p_in, in_front)
    whole = bs.predicted_isoflop_minima(post, planned, bands={profile: (1.0, 1e30)})
    assert whole["p_in_band"].iloc[0] == 1.0
    assert "p_in_band" not in table
    with pytest.raises(ValueError, match="no such profile"):
        bs.predicted_isoflop_minima(post, planned, bands={"no such profile": (1.0, 2.0)})


def test_predicted_isoflop_minima_edges(ladder_fit):
    df, post = ladder_fit
    short = df[np.isclose(df["flops"], 1e20)].iloc[:3]
    with pytest.warns(bs.DataWarning, match=r"no profile has min_points=4 runs \(they have \[3\]"):
        table = bs.predicted_isoflop_minima(post, short)  # every minimum NaN: said
    assert table["n_points"].tolist() == [3] and table[["p_bracketed", "N_opt"]].isna().all(
        axis=None
    )
    with pytest.raises(ValueError, match="'size'"):
        bs.predicted_isoflop_minima(post, df, params="size")
    with pytest.raises(ValueError, match="prob"):
        bs.predicted_isoflop_minima(post, df, prob=1.5)


def test_frontier_backtest_scores_held_out_minima(ladder_fit):
    # A ladder simulated from the law itself: the predictive of what each held-out profile
    # measures holds the measured minima, distances are those of the budgets past the cut, and
    # the N* band is narrower than the measurement's (it leaves out the parabola's scatter).
    df, _post = ladder_fit
    table = bs.frontier_backtest(bs.Model(), df, held_out=(2, 1), method="psis", seed=0)
    assert table["held_out"].tolist() == [1, 2, 2]  # counts sorted
    assert table["n_train"].tolist() == [28, 21, 21]
    assert table["fit_ok"].all() and (table["fit_warnings"] == "").all()
    np.testing.assert_allclose(table["distance"], np.log10([1e20 / 3e19, 3e19 / 1e19, 1e20 / 1e19]))
    assert table["inside_measured"].sum() >= 2
    width = np.log10(table["N_star_hi"] / table["N_star_lo"])
    assert np.all(width < np.log10(table["measured_hi"] / table["measured_lo"]))
    # each row is its own profile's: the measured minima are isoflop_minima's, and the bands
    # are those of a fit on the same training rows, predicted directly
    minima = isoflop_minima(df).set_index("profile")
    np.testing.assert_allclose(table["N_opt"], minima.loc[table["profile"], "N_opt"])
    train = df.iloc[table.attrs["train_index"][2]]
    assert len(train) == 21 and train["flops"].max() == pytest.approx(1e19)
    post = bs.Model().fit(train, method="psis", seed=0)
    held = df[df["flops"] >= 3e19 * 0.999]
    pred = bs.predicted_isoflop_minima(post, held)
    rows = table[table["held_out"] == 2]
    np.testing.assert_allclose(rows["measured_lo"], pred["N_opt_lo"], rtol=1e-6)
    np.testing.assert_allclose(rows["measured_hi"], pred["N_opt_hi"], rtol=1e-6)
    # the chance a measured minimum lands in the N* band, from the same draws
    band = zip(rows["N_star_lo"], rows["N_star_hi"], strict=True)
    bands = dict(zip(rows["profile"], band, strict=True))
    p_in = bs.predicted_isoflop_minima(post, held, bands=bands)["p_in_band"]
    np.testing.assert_allclose(rows["p_inside_if_right"], p_in, rtol=1e-6)
    n_star = frontier(post, rows["compute"].to_numpy())["N_opt"].median(("chain", "draw"))
    np.testing.assert_allclose(rows["N_star"], n_star.values, rtol=1e-6)
    assert table.attrs["band"] == 0.9 and "parabola" in table.attrs["bias"]


def test_frontier_backtest_holds_out_whole_profiles(ladder_fit):
    # A profile above the cut that brackets no minimum (three runs) is held out, not fitted and
    # not scored; the default holds out the top 2 (and the top 4 where six profiles allow it).
    df, _post = ladder_fit
    extra = bs.simulate_ladder(budgets=(6e19,), sizes_per_budget=3, seed=3)
    table = bs.frontier_backtest(bs.Model(), pd.concat([df, extra]), method="psis", seed=0)
    assert table["held_out"].tolist() == [2, 2]
    assert table["profile"].tolist() == [19.5, 20.0] and table["n_train"].tolist() == [21, 21]


def test_frontier_backtest_edges(ladder_fit):
    df, _post = ladder_fit
    with pytest.raises(ValueError, match="hold out at most 3"):
        bs.frontier_backtest(bs.Model(), df, held_out=4)
    for bad in ((0,), True, 2.0, "2", (1, True)):
        with pytest.raises(ValueError, match="whole number"):
            bs.frontier_backtest(bs.Model(), df, held_out=bad)
    with pytest.raises(ValueError, match="empty"):
        bs.frontier_backtest(bs.Model(), df, held_out=())
    with pytest.raises(ValueError, match="prob"):
        bs.frontier_backtest(bs.Model(), df, prob=0.0)
    with pytest.raises(bs.DataError, match="loss"):
        bs.frontier_backtest(bs.Model(), df.drop(columns="loss"))
    nan = df.assign(loss=df["loss"].where(df.index != 3))
    with pytest.raises(bs.DataError, match="loss"):
        bs.frontier_backtest(bs.Model(), nan)
    with pytest.raises(bs.SpecificationError, match="group effects"):
        bs.frontier_backtest(bs.Model(effects={"E": "family"}), df.assign(family="f1"))
    with pytest.raises(bs.SpecificationError, match="law of N and D"):
        bs.frontier_backtest(bs.Model(law="power"), df)
    with pytest.raises(bs.SpecificationError, match="law of N and D"):
        bs.frontier_backtest(bs.Model(law="data_constrained"), df.assign(unique_tokens=1e12))
