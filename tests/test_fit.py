"""Seeded NUTS fits: diagnostics pass, the truth is covered, predictions behave, I/O is exact."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest
import xarray as xr

import bayescale as bs

pytestmark = pytest.mark.slow

EPOCH_95 = {  # Besiroglu et al. 2024, bootstrap 95 % intervals
    "E": (1.769, 1.871),
    "A": (285, 744),
    "B": (1042, 5810),
    "alpha": (0.317, 0.373),
    "beta": (0.331, 0.415),
}


def test_epoch_medians_inside_epoch_intervals(epoch_fit):
    post = epoch_fit.posterior
    for name, (lo, hi) in EPOCH_95.items():
        med = float(post[name].median())
        assert lo <= med <= hi, (name, med)


def test_epoch_diagnostics_pass(epoch_fit):
    diag = epoch_fit.diagnostics(warn=False)
    assert diag.attrs["rhat_max"] <= 1.01
    assert diag.attrs["ess_bulk_min"] >= 400
    assert diag.attrs["divergences"] == 0
    assert diag.attrs["ok"]
    assert {"r_hat", "ess_bulk", "ess_tail", "ok"} <= set(diag.columns)


def test_tree_layout(epoch_fit):
    tree = epoch_fit.tree
    for group in ("posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data"):
        assert group in tree.children, group
    post = tree["posterior"]
    assert post.sizes["chain"] == 4 and post.sizes["draw"] == 1000
    for name in ("E", "A", "B", "alpha", "beta", "log_E", "a", "sigma", "nu"):
        assert name in post
    n = len(tree["observed_data"]["loss"])
    assert tree["log_likelihood"]["loss"].shape == (4, 1000, n) == (4, 1000, 240)
    assert "x_N" in tree["constant_data"] and "x_D" in tree["constant_data"]
    for stat in ("diverging", "energy", "tree_depth", "reached_max_treedepth", "step_size"):
        assert stat in tree["sample_stats"]
    summary = epoch_fit.summary()
    assert {"E", "A", "B", "alpha", "beta"} <= set(summary.index)


def test_extrapolation_is_wider_than_interpolation(epoch_fit, epoch_runs):
    c_max = float((6 * epoch_runs["params"] * epoch_runs["tokens"]).max())
    # Compute-optimal-ish allocation (D = 20 N) inside the data and at 10x its largest compute.
    inside_c, outside_c = (
        np.exp(np.mean(np.log(6 * epoch_runs["params"] * epoch_runs["tokens"]))),
        10 * c_max,
    )
    widths = []
    for c in (inside_c, outside_c):
        n = np.sqrt(c / 120)
        for kind in ("mean", "predictive"):
            pred = epoch_fit.predict(N=n, D=20 * n, kind=kind)
            assert pred.dims == ("chain", "draw", "point")
            q = pred.quantile([0.05, 0.95], dim=("chain", "draw")).values[:, 0]
            widths.append(np.log(q[1] / q[0]))
    mean_in, pred_in, mean_out, pred_out = widths
    assert mean_out > 2 * mean_in
    assert pred_out > pred_in


def test_save_load_roundtrip_is_exact(epoch_fit, epoch_runs, tmp_path):
    path = epoch_fit.to_netcdf(tmp_path / "fit.nc")
    back = bs.load_posterior(path)
    for group in ("posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data"):
        xr.testing.assert_identical(
            back.tree[group].to_dataset(), epoch_fit.tree[group].to_dataset()
        )
    assert back.model.spec() == epoch_fit.model.spec()
    # the fitted rows keep their labels (integers stay integers; they were read back as text)
    assert back.fitted_table().index.equals(epoch_runs.index)
    a = epoch_fit.predict(N=7e10, D=1.4e12, rng_seed=3)
    b = back.predict(N=7e10, D=1.4e12, rng_seed=3)
    np.testing.assert_array_equal(a.values, b.values)


def test_a_fit_saved_before_the_learned_error_reads_back_with_the_fixed_drift(epoch_fit, tmp_path):
    import json

    from bayescale.posterior import ATTR_MODEL

    path = epoch_fit.to_netcdf(tmp_path / "fit.nc")
    tree = xr.open_datatree(path)
    spec = json.loads(tree.attrs[ATTR_MODEL])
    del spec["extrapolation"]  # as written before the learned error existed
    tree.attrs[ATTR_MODEL] = json.dumps(spec)
    tree.load().to_netcdf(tmp_path / "old.nc")
    tree.close()
    assert bs.load_posterior(tmp_path / "old.nc").model.extrapolation == "fixed"
    assert bs.load_posterior(path).model.extrapolation == "learned"


def test_hierarchy_recovers_family_parameters(hierarchy, hierarchy_fit):
    post = hierarchy_fit.posterior
    truth = hierarchy.attrs["truth"]
    assert list(post["family"].values) == ["f0", "f1", "f2", "f3"]
    assert post["A_family:seed"].sizes["family:seed"] == 12
    for fam, values in truth.items():
        for name in ("E", "A"):
            draws = post[f"{name}_family"].sel(family=fam).values.ravel()
            lo, hi = np.quantile(draws, [0.05, 0.95])
            assert lo <= values[name] <= hi, (fam, name, lo, values[name], hi)
    for name in ("B", "alpha", "beta"):  # shared by all families
        lo, hi = np.quantile(post[name].values.ravel(), [0.05, 0.95])
        assert lo <= hierarchy.attrs["params"][name] <= hi, name


def test_centred_family_values_are_sampled_around_the_population(hierarchy_fit):
    post = hierarchy_fit.posterior
    # Family (first term of E and A) is centred on the population value; the nested
    # family:seed term is a centred effect around zero.
    for site in ("log_E", "a"):
        value, effect = post[f"{site}__family"], post[f"r_{site}__family"]
        np.testing.assert_allclose(effect.values, (value - post[site]).values, atol=1e-12)
    assert "r_a__family:seed" in post and "a__family:seed" not in post


def test_hierarchy_diagnostics(hierarchy_fit):
    diag = hierarchy_fit.diagnostics(warn=False)
    assert diag.attrs["ok"], diag.attrs


def test_unseen_family_is_wider_than_seen(hierarchy, hierarchy_fit):
    row = hierarchy.iloc[len(hierarchy) // 2]  # inside the data: no extrapolation error
    kw = {"N": float(row["params"]), "D": float(row["tokens"]), "kind": "mean"}
    seen = hierarchy_fit.predict(family="f1", seed="0", **kw)
    new = hierarchy_fit.predict(family="brand-new", seed="0", new_groups=True, **kw)
    pooled = hierarchy_fit.predict(**kw)  # no labels: an unseen family and seed

    def width(p):
        q = p.quantile([0.05, 0.95], dim=("chain", "draw")).values[:, 0]
        return np.log(q[1] / q[0])

    assert width(new) > 1.5 * width(seen)
    assert width(pooled) > 1.5 * width(seen)
    assert str(new.coords["family"].values[0]) == "brand-new"


def test_unknown_label_in_predict_is_an_error(hierarchy_fit):
    with pytest.raises(bs.DataError, match=r"family=.fX. is not a level.*new_groups=True"):
        hierarchy_fit.predict(N=1e9, D=2e10, family="fX")
    with pytest.raises(bs.DataError, match=r"neither an input nor a group column"):
        hierarchy_fit.predict(N=1e9, D=2e10, familly="f1")
    with pytest.raises(ValueError, match=r"predict needs D \(or tokens\) for the chinchilla law"):
        hierarchy_fit.predict(N=1e9)


def short_fit(seed):
    df = bs.simulate_ladder(budgets=(1e18, 1e19), sizes_per_budget=4, seed=5)
    return bs.Model().fit(df, chains=2, draws=30, warmup=15, seed=seed)


def test_bad_fit_warns_and_runs_are_deterministic():
    with pytest.warns(bs.ConvergenceWarning, match="ESS"):
        a = short_fit(seed=11)
    with pytest.warns(bs.ConvergenceWarning):
        b = short_fit(seed=11)
    np.testing.assert_array_equal(a.posterior["E"].values, b.posterior["E"].values)
    assert not a.diagnostics(warn=False).attrs["ok"]


def test_a_failed_fit_is_drawn_once_more_twice_as_long():
    df = bs.simulate_ladder(budgets=(1e18, 1e19), sizes_per_budget=4, seed=5)
    for retry in (False, None):  # short chains are kept by default (asked for speed)
        with pytest.warns(bs.ConvergenceWarning, match="failed its diagnostics: .*ESS"):
            kept = bs.Model().fit(df, chains=2, draws=30, warmup=15, seed=11, retry=retry)
        assert kept.posterior.sizes["draw"] == 30 and "retried_after" not in kept.settings
    # 30 draws cannot reach an ESS of 400, nor can 60: the second try is returned and says so
    twice = "failed its diagnostics twice .*first try: .*ESS"
    with pytest.warns(bs.ConvergenceWarning, match=twice):
        again = bs.Model().fit(df, chains=2, draws=30, warmup=15, seed=11, retry=True)
    assert again.posterior.sizes["draw"] == 60
    s = again.settings
    assert (s["draws"], s["warmup"], s["seed"]) == (60, 30, 12)
    assert "bulk ESS" in s["retried_after"] and "first_try" in again.timing
    # the first try is the fit retry=False keeps; the second is a fit of its own settings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        direct = bs.Model().fit(
            df,
            chains=2,
            draws=60,
            warmup=30,
            seed=12,
            retry=False,
            # what the first try's draws asked of the retry (here: most hit the tree depth)
            target_accept=s["target_accept"],
            max_tree_depth=s["max_tree_depth"],
        )
    np.testing.assert_array_equal(again.posterior["E"].values, direct.posterior["E"].values)


def test_retry_takes_none_true_or_false():
    df = bs.simulate_ladder(budgets=(1e18, 1e19), sizes_per_budget=4, seed=5)
    with pytest.raises(ValueError, match=r"retry='never'; use None \(auto\), True or False"):
        bs.Model().fit(df, chains=1, draws=20, warmup=20, retry="never")


def test_a_fit_that_passes_is_not_drawn_again(hierarchy_fit):
    assert hierarchy_fit.diagnostics(warn=False).attrs["ok"]
    assert "retried_after" not in hierarchy_fit.settings


def _my_law() -> bs.laws.CustomLaw:
    """``E + A (N / 1e8)^-alpha`` written by a user as a JAX function with priors."""
    return bs.laws.CustomLaw(
        fn=lambda p, x: jnp.exp(p["log_E"]) + jnp.exp(p["log_A"]) * (x["N"] / 1e8) ** -p["alpha"],
        params={
            "log_E": dist.Normal(0.5, 0.5),
            "log_A": dist.Normal(1.0, 1.0),
            "alpha": dist.LogNormal(-1.2, 0.5),
        },
        inputs=("N",),
        law_name="my_law",
    )


# a law of N on a ladder whose D varies, on purpose
@pytest.mark.filterwarnings("ignore:.*the law reads N alone:bayescale.errors.DataWarning")
def test_user_defined_law_fits():
    """A law written by the user as a JAX function plus priors."""
    rng = np.random.default_rng(0)
    n = np.geomspace(1e7, 1e10, 25)
    df = bs.simulate_ladder().iloc[:25].drop(columns="flops").assign(params=n, tokens=20 * n)
    df["loss"] = (1.7 + 3.0 * (n / 1e8) ** -0.3) * np.exp(0.005 * rng.standard_normal(25))
    law = _my_law()
    with warnings.catch_warnings():
        warnings.simplefilter("error", bs.ConvergenceWarning)
        post = bs.Model(law=law).fit(df, seed=0, draws=500)
    med = post.posterior.median()
    assert float(med["alpha"]) == pytest.approx(0.3, abs=0.03)
    assert float(np.exp(med["log_E"])) == pytest.approx(1.7, abs=0.1)


def test_one_custom_law_in_two_models_keeps_two_structures():
    law = _my_law()
    a, b = bs.Model(law=law), bs.Model(law=law, likelihood="normal")
    assert a.structure_key() != b.structure_key() and a != b
    assert bs.Model(law=law) == a and hash(bs.Model(law=law)) == hash(a)


def test_checkpoints_get_a_per_run_effect():
    df = _checkpoints()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.Model(law=bs.laws.SaturatingPowerLaw(x="D")).fit(df, draws=300, warmup=300)
    assert "sd_run" in post.posterior
    assert list(post.posterior["run"].values) == [f"r{r}" for r in range(5)]
    assert float(post.posterior["sd_run"].median()) > 0.005
    # 5 runs of 8 checkpoints: the run effect is centred (auto rule), and a fitted run's
    # prediction carries that run's own offset.
    assert "r_run" in post.posterior and "z_run" not in post.posterior
    d = float(df["tokens"].max())
    pred = {r: post.predict(D=d, run=r).median().item() for r in ("r0", "r2")}
    seen = df[df["tokens"] == d].set_index("run")["loss"]
    # Runs r0 and r2 differ by ~2 % in offset: their predictions must differ as their data do.
    gap_seen = np.log(seen["r0"] / seen["r2"])
    assert abs(gap_seen) > 0.015
    assert abs(np.log(pred["r0"] / pred["r2"]) - gap_seen) < 0.008, (pred, gap_seen)


def _checkpoints(n_runs: int = 5, seed: int = 1):
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n_runs):
        offset = 0.02 * rng.standard_normal()
        for d in np.geomspace(1e9, 1e11, 8):
            loss = (1.8 + 40 * d**-0.15) * np.exp(offset + 0.003 * rng.standard_normal())
            rows.append({"params": 1e8, "tokens": d, "loss": loss, "run": f"r{r}", "step": d / 1e6})
    return pd.DataFrame(rows)


def test_marginal_run_likelihood_matches_the_multivariate_normal():
    from scipy import stats

    from bayescale.model import marginal_run_likelihood

    rng = np.random.default_rng(0)
    codes = np.array([0, 0, 0, 1, 1, 2, 0, 1, 3])
    mask = np.array([1, 1, 1, 1, 1, 1, 0, 1, 0], bool)  # run 3 has no observed row
    y, loc = rng.normal(size=codes.size), rng.normal(size=codes.size)
    sd, sigma = 0.7, 0.3
    logp, mean, cond_sd = marginal_run_likelihood(
        jnp.asarray(y), jnp.asarray(loc), jnp.asarray(codes), 4, sd, sigma, jnp.asarray(mask)
    )
    want, want_mean, want_sd = 0.0, [], []
    for j in range(4):
        rows = (codes == j) & mask
        n = rows.sum()
        cov = sigma**2 * np.eye(n) + sd**2 * np.ones((n, n))
        if n:
            want += stats.multivariate_normal(loc[rows], cov).logpdf(y[rows])
        # The run effect given its rows: Gaussian conditioning of (r, y) jointly normal.
        c = sd**2 * np.ones(n)
        gain = np.linalg.solve(cov, c) if n else np.zeros(0)
        want_mean.append(gain @ (y[rows] - loc[rows]))
        want_sd.append(np.sqrt(sd**2 - gain @ c))
    assert float(logp) == pytest.approx(want, rel=1e-10)
    np.testing.assert_allclose(mean, want_mean, atol=1e-12)
    np.testing.assert_allclose(cond_sd, want_sd, rtol=1e-10)
    assert float(cond_sd[3]) == pytest.approx(sd)  # no rows: the prior


def test_marginal_run_likelihood_without_a_trend_matches_the_multivariate_normal():
    from scipy import stats

    from bayescale.likelihood import marginal_run_likelihood, remove_trend, run_trend_basis

    rng = np.random.default_rng(1)
    codes = np.repeat(np.arange(5), [3, 2, 4, 1, 3])
    mask = np.ones(codes.size, bool)
    mask[4] = False
    size = np.array([1e8, 3e8, 1e9, 2e9, 5e9])[codes]  # one model size per run
    x = {"N": size, "D": rng.uniform(1e9, 1e10, codes.size)}
    basis = run_trend_basis(codes, 5, x, width=3)
    # Constant and centred log N, orthonormal; D varies within runs: no column; one zero pad.
    assert np.allclose(basis[:, 2], 0)
    np.testing.assert_allclose(basis[:, :2].T @ basis[:, :2], np.eye(2), atol=1e-12)
    y, loc = rng.normal(size=codes.size), rng.normal(size=codes.size)
    sd, sigma = 0.6, 0.4
    logp, mean, cond_sd = marginal_run_likelihood(
        jnp.asarray(y),
        jnp.asarray(loc),
        jnp.asarray(codes),
        5,
        sd,
        sigma,
        jnp.asarray(mask),
        jnp.asarray(basis),
    )
    # Brute force: effects u = P r, r ~ N(0, sd^2 I): the rows are jointly normal.
    p = np.eye(5) - basis @ basis.T
    z = np.eye(5)[codes[mask]]
    cov_u = sd**2 * p
    cov_y = sigma**2 * np.eye(mask.sum()) + z @ cov_u @ z.T
    want = stats.multivariate_normal(loc[mask], cov_y, allow_singular=True).logpdf(y[mask])
    assert float(logp) == pytest.approx(want, rel=1e-9)
    cross = cov_u @ z.T
    gain = np.linalg.solve(cov_y, cross.T).T
    np.testing.assert_allclose(mean, gain @ (y[mask] - loc[mask]), atol=1e-12)
    np.testing.assert_allclose(cond_sd, np.sqrt(np.diag(cov_u - gain @ cross.T)), atol=1e-10)
    # The effects carry no trend: the conditional means are orthogonal to the basis.
    np.testing.assert_allclose(basis.T @ np.asarray(mean), 0, atol=1e-12)
    np.testing.assert_allclose(remove_trend(jnp.asarray(mean), jnp.asarray(basis)), mean)


def test_run_trend_basis_keeps_every_independent_trend():
    from bayescale.likelihood import run_trend_basis

    # U is proportional to N (a dependent column) and comes before T: T's trend must stay.
    n = np.array([1.0, 2, 3, 4, 5]) * 1e8
    t = np.array([3.0, 1, 4, 1, 5]) * 1e9
    basis = run_trend_basis(np.arange(5), 5, {"N": n, "U": 20 * n, "T": t}, width=4)
    trends = np.stack([np.ones(5), np.log(n), np.log(t)], axis=1)
    np.testing.assert_allclose(trends - basis @ (basis.T @ trends), 0, atol=1e-12)
    assert np.sum(np.linalg.norm(basis, axis=0) > 0.5) == 3


def test_a_single_run_has_no_effect_to_diagnose():
    import pandas as pd

    # One training curve with a run column: its offset is fixed at zero (it cannot be told
    # from E), so the diagnostics must not read its constant draws as a failed R-hat.
    rng = np.random.default_rng(1)
    d = np.geomspace(1e9, 1e11, 12)
    loss = (1.8 + 40 * d**-0.15) * np.exp(0.003 * rng.standard_normal(d.size))
    df = pd.DataFrame({"params": 1e8, "tokens": d, "loss": loss, "run": "r0"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.Model(law=bs.laws.SaturatingPowerLaw(x="D")).fit(df, draws=200, warmup=200)
    assert np.all(post.posterior["r_run"].values == 0)
    table = post.diagnostics(warn=False)
    assert not table["r_hat"].isna().any() and "r_run[r0]" not in table.index


def test_run_effects_carry_no_trend_across_sizes():
    import pandas as pd

    # One training curve per model size, each with its own small offset: the fitted effects
    # average zero and do not trend with size (the law carries it), a new run's offset is
    # drawn from N(0, sd_run), and a larger size is predicted inside its 90 % interval.
    rng = np.random.default_rng(3)
    rows = []
    for r, n in enumerate(np.geomspace(5e7, 1e9, 6)):
        offset = 0.01 * rng.standard_normal()
        for d in np.geomspace(2e8, 2e10, 8):
            loss = (1.7 + 400 * n**-0.34 + 900 * d**-0.28) * np.exp(offset)
            loss *= np.exp(0.002 * rng.standard_normal())
            rows.append({"params": n, "tokens": d, "loss": loss, "run": f"r{r}"})
    df = pd.DataFrame(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.Model(likelihood="normal").fit(df, draws=300, warmup=300, seed=0)
    r = post.posterior["r_run"].mean(("chain", "draw")).values
    log_n = np.log(df.groupby("run")["params"].first().loc[list(post.posterior["run"].values)])
    # Drawn from their exact conditional marginals: no trend up to Monte Carlo error.
    slope = np.polyfit(log_n - log_n.mean(), r, 1)[0]
    assert abs(r.mean()) < 1e-3 and abs(slope) < 1e-3, (r, slope)
    n_new, d_new = 4e9, 2e10
    truth = 1.7 + 400 * n_new**-0.34 + 900 * d_new**-0.28
    pred = post.predict(N=n_new, D=d_new, run="new", new_groups=True)
    lo, hi = (float(pred.quantile(q)) for q in (0.05, 0.95))
    assert lo < truth < hi, (lo, truth, hi)


@pytest.mark.slow
def test_gemstones_larger_sizes_are_predicted_from_curves_of_one_size_each(mirror):
    from bayescale import calibration as cal

    # Gemstones' constant-learning-rate curves, one run per model size: fit all but the four
    # largest sizes, predict those. A run effect free to trend with size took the size trend
    # from the law (fitted effects rose by 0.67 in log loss; held-out sizes 37 % too low).
    gem = bs.datasets.load("gemstones", "hot")
    model = bs.Model(likelihood="normal", extrapolation="none")
    split = cal.split_by_size(gem, model, 4)
    train, test = gem[split.train], gem[split.test]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = model.fit(train, draws=300, warmup=300, seed=0)
    pred = cal.predict_rows(post, test, model)
    med = np.median(np.asarray(pred).reshape(-1, len(test)), axis=0)
    err = np.abs(med / test["loss"].to_numpy() - 1)
    assert np.median(err) < 0.02 and err.max() < 0.08, (np.median(err), err.max())
    assert float(post.posterior["sd_run"].median()) < 0.05


def test_normal_likelihood_integrates_run_effects_out_and_agrees_with_sampling_them():
    df = _checkpoints()
    law = bs.laws.SaturatingPowerLaw(x="D")
    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        for marginal in (True, False):
            model = bs.Model(law=law, likelihood="normal", marginal_run=marginal)
            # The sampled fit also starts from the Laplace covariance (the large-table path).
            mass = "identity" if marginal else "laplace"
            fits[marginal] = model.fit(df, draws=500, warmup=500, seed=0, init_mass=mass)
    post = fits[True].posterior
    assert "r_run" in post and not any(k.startswith("_r_run") for k in post.data_vars)
    assert fits[True].draws_tree["log_likelihood"]["loss"].sizes["obs"] == len(df)
    assert fits[True].model.spec()["marginal_run"] is True
    # Same posterior either way: integrating out is exact.
    for site in ("log_E", "sd_run", "sigma", "r_run"):
        a, b = (fits[m].posterior[site].median(("chain", "draw")).values for m in (True, False))
        sd = fits[False].posterior[site].std(("chain", "draw")).values
        assert np.all(np.abs(a - b) < 0.25 * sd + 1e-9), (site, a, b, sd)
        ratio = fits[True].posterior[site].std(("chain", "draw")).values / sd
        assert np.all((ratio > 0.8) & (ratio < 1.25)), (site, ratio)
    pw = {m: fits[m].draws_tree["log_likelihood"]["loss"].mean(("chain", "draw")) for m in fits}
    np.testing.assert_allclose(pw[True], pw[False], atol=0.1)
    # In total: drawing each run's effect at its conditional mean (no spread) would raise the
    # mean log likelihood by about n_rows / (2 n_rows_per_run) = 2.5.
    total = {m: float(pw[m].sum()) for m in pw}
    assert abs(total[True] - total[False]) < 1.0, total
    # Predictions of a fitted run carry its drawn offset.
    d = float(df["tokens"].max())
    pred = {r: fits[True].predict(D=d, run=r).median().item() for r in ("r0", "r2")}
    seen = df[df["tokens"] == d].set_index("run")["loss"]
    gap_seen = np.log(seen["r0"] / seen["r2"])
    assert abs(np.log(pred["r0"] / pred["r2"]) - gap_seen) < 0.008, (pred, gap_seen)


def test_marginal_run_needs_a_normal_likelihood():
    with pytest.raises(bs.SpecificationError, match="likelihood='normal'"):
        bs.Model(marginal_run=True)
    for bad in (True, 1, ""):  # run=True silently turned the run effect off
        with pytest.raises(bs.SpecificationError, match="run column's name"):
            bs.Model(run=bad)
    with pytest.raises(bs.SpecificationError, match="marginal_run"):
        bs.Model(marginal_run="yes")
    df = _checkpoints()
    law = bs.laws.SaturatingPowerLaw(x="D")
    for likelihood, marginal in (("student_t", False), ("normal", True)):
        model = bs.Model(law=law, likelihood=likelihood)
        assert model.marginalises_run(model.prepare(df)) is marginal


def test_chains_use_the_laplace_approximation_where_it_pays():
    """The engine's default: each chain starts around its fit's MAP, in the fit's Laplace
    coordinates (large tables, simple fits from 200 rows) or with its Laplace covariance as
    starting inverse mass (small batched fits); the identity where the Hessian is not PD."""
    from bayescale.inference import LAPLACE_MASS_MIN_ROWS, NutsSettings
    from bayescale.inference.laplace import LaplaceFit
    from bayescale.inference.stats import LAPLACE_MASS_MIN_ROWS_SIMPLE

    auto = NutsSettings()
    assert auto.init_mass == "auto"
    assert not auto.laplace_mass(has_group_scales=False, rows=10)  # a single small fit
    assert not auto.laplace_mass(False, rows=LAPLACE_MASS_MIN_ROWS_SIMPLE - 1)
    assert auto.laplace_mass(False, rows=LAPLACE_MASS_MIN_ROWS_SIMPLE)  # Epoch's 240 runs
    assert not auto.laplace_mass(True, rows=LAPLACE_MASS_MIN_ROWS_SIMPLE)
    assert auto.laplace_mass(has_group_scales=False, rows=10, fits=100)  # a batch: as
    assert not auto.laplace_coordinates(has_group_scales=False, rows=10)  # starting mass
    assert auto.laplace_coordinates(False, rows=LAPLACE_MASS_MIN_ROWS_SIMPLE)
    assert auto.laplace_coordinates(True, rows=LAPLACE_MASS_MIN_ROWS)
    assert not auto.laplace_coordinates(True, rows=LAPLACE_MASS_MIN_ROWS_SIMPLE)
    assert not auto.laplace_mass(has_group_scales=True, rows=10, fits=100)  # funnels
    assert not auto.laplace_mass(has_group_scales=True, rows=LAPLACE_MASS_MIN_ROWS - 1)
    assert auto.laplace_mass(has_group_scales=True, rows=LAPLACE_MASS_MIN_ROWS)
    assert not NutsSettings(init_mass="identity").laplace_mass(False, 10**6)
    assert NutsSettings(init_mass="laplace").laplace_mass(True, 10)
    h = np.array([[2.0, 0.5], [0.5, 1.0]])
    chol = np.stack([np.linalg.cholesky(h), np.full((2, 2), np.nan)])
    lap = LaplaceFit(np.zeros((2, 2)), np.zeros(2), np.array([True, False]), chol)
    cov = lap.covariance()
    np.testing.assert_allclose(cov[0], np.linalg.inv(h), rtol=1e-12)
    np.testing.assert_array_equal(cov[1], np.eye(2))
    f = lap.factor()  # the whitening factor: F F' is the covariance
    np.testing.assert_allclose(f[0] @ f[0].T, np.linalg.inv(h), rtol=1e-12)
    np.testing.assert_array_equal(f[1], np.eye(2))
    # Chain starts spread by the Laplace standard deviations, variances clipped to <= 1.
    want = np.sqrt(np.clip(np.diag(np.linalg.inv(h)), 1e-8, 1.0))
    np.testing.assert_allclose(lap.start_sd()[0], want)
    np.testing.assert_array_equal(lap.start_sd()[1], [0.1, 0.1])
    with pytest.raises(ValueError, match="init_mass"):
        NutsSettings(init_mass="unit")


@pytest.mark.parametrize("n_devices", [1, None])  # vectorised lanes; one lane per device
def test_whitened_lanes_sample_the_same_target_in_fewer_steps(n_devices):
    from bayescale.inference.nuts import nuts_lanes

    # Gaussians pinned to sd 1e-4 along one direction and 1 along the other, rotated: the
    # adapted mass matrix's absolute regularisation (1e-3 * 5 / (n + 5)) swamps the thin
    # direction in the sampler's coordinates but not in whitened ones. Two lanes with
    # different targets and whitenings: each lane's draws must come back as its own.
    def rotation(t):
        return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])

    rots = [rotation(0.6), rotation(-1.1)]
    covs = [r @ np.diag([1e-8, v]) @ r.T for r, v in zip(rots, (1.0, 4.0), strict=True)]
    means = np.array([[0.3, -1.0], [5.0, 2.0]])

    def gen(prec, mean):
        return lambda z: 0.5 * (z["x"] - mean) @ prec @ (z["x"] - mean)

    def unravel(v):
        return {"x": v}

    kw = {"prec": np.stack([np.linalg.inv(c) for c in covs]), "mean": means}
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    z0 = jnp.asarray(means + 1e-3)
    run = {"draws": 1500, "warmup": 500, "n_devices": n_devices}
    plain = nuts_lanes(gen, unravel, keys, z0, kw, **run)
    # Whitened by rough covariances (twice too wide, a little off the mode): still exact.
    chols = np.stack([np.linalg.cholesky(2 * c) for c in covs])
    white = nuts_lanes(gen, unravel, keys, z0, kw, **run, whiten=(means + 1e-5, chols))
    for lane in range(2):
        x = np.asarray(white["z"]["x"])[lane]
        np.testing.assert_allclose(x.mean(axis=0), means[lane], atol=0.15)
        np.testing.assert_allclose(np.cov(x.T), covs[lane], atol=0.15 * covs[lane].max())
        thin = (x - means[lane]) @ rots[lane][:, 0]  # the pinned direction keeps sd 1e-4
        assert 0.8e-4 < thin.std() < 1.2e-4, thin.std()
        assert np.mean(white["num_steps"][lane]) < 0.5 * np.mean(plain["num_steps"][lane])


def test_a_mode_is_converged_by_its_newton_decrement_when_rounding_keeps_the_gradient():
    from bayescale.inference.laplace import _converged

    # Epoch's ladder: Hessian eigenvalues up to 5e6 leave |g| ~ 3e-3 at a mode whose Newton
    # decrement is 1e-11; far from the mode the decrement is large; a saddle (its decrement
    # is positive here, 2e-12) is no mode; a singular Hessian beside them changes nothing.
    hess = np.array(
        [np.diag([5e6, 25.0]), np.diag([5e6, 25.0]), np.diag([5e6, -25.0]), np.zeros((2, 2))]
    )
    grad = np.array([[3.5e-3, 1e-5], [3.5e-3, 1.0], [3.5e-3, 1e-6], [3.5e-3, 0.0]])
    fx = np.zeros(4)
    np.testing.assert_array_equal(_converged(fx, grad, hess), [True, False, False, False])
    np.testing.assert_array_equal(_converged(fx, grad * 1e-4, None), [True] * 4)
    assert not _converged(np.array([np.inf]), grad[:1] * 0, hess[:1])[0]


def test_laplace_draws_have_the_inverse_hessian_as_covariance():
    from bayescale.inference.laplace import LaplaceFit

    h = np.array([[4.0, 1.0], [1.0, 2.0]])
    lap = LaplaceFit(
        np.array([[1.0, -1.0]]), np.zeros(1), np.array([True]), np.linalg.cholesky(h)[None]
    )
    z = lap.draws(jax.random.PRNGKey(0), 200_000)[0]
    np.testing.assert_allclose(z.mean(axis=0), [1.0, -1.0], atol=0.01)
    np.testing.assert_allclose(np.cov(z.T), np.linalg.inv(h), atol=0.01)


def test_pointwise_log_likelihood_in_slices_matches_all_at_once(monkeypatch):
    from numpyro.infer import log_likelihood

    from bayescale.inference import engine, problem, stack

    model = bs.Model()
    tables = [bs.simulate_ladder(seed=s, sizes_per_budget=k) for s, k in ((0, 4), (1, 5))]
    datas = [model.prepare(t) for t in tables]
    structure, arrays = stack(model, datas)
    prob = problem(model, structure, arrays)
    rng = np.random.default_rng(0)
    sites = {"log_E": 0.5, "a": -1.0, "b": -1.2, "log_alpha": -1.2, "log_beta": -1.2}
    samples = [
        {
            **{k: v + 0.01 * rng.normal(size=(2, 6)) for k, v in sites.items()},
            "sigma": np.full((2, 6), 0.02),
            "nu": np.full((2, 6), 8.0),
        }
        for _ in datas
    ]
    rows = [d.n for d in datas]
    whole = engine.pointwise_log_likelihood(model, prob, samples, arrays, rows)
    monkeypatch.setattr(engine, "LOG_LIKELIHOOD_CHUNK", 2 * 2 * max(rows))  # 2 draws a call
    prob.jitted.pop("loglik", None)
    sliced = engine.pointwise_log_likelihood(model, prob, samples, arrays, rows)
    for i, d in enumerate(datas):
        s, a = model.model_args(d)
        alone = log_likelihood(model.numpyro_model, samples[i], batch_ndims=2, **s, **a)["loss"]
        assert sliced[i]["loss"].shape == (2, 6, d.n)
        np.testing.assert_allclose(sliced[i]["loss"], whole[i]["loss"], rtol=1e-12)
        np.testing.assert_allclose(sliced[i]["loss"], np.asarray(alone), rtol=1e-12)


def test_parallel_chains_on_every_cpu_device_warn_for_large_tables():
    from bayescale.inference import ALL_DEVICES_WARN_ROWS, all_devices_memory_advice

    if jax.default_backend() != "cpu":
        pytest.skip("the advice concerns CPU host devices")
    n_dev = jax.local_device_count()
    big, small = ALL_DEVICES_WARN_ROWS, ALL_DEVICES_WARN_ROWS - 1
    advice = all_devices_memory_advice(n_dev, n_dev, big)
    assert advice is not None and f"BAYESCALE_HOST_DEVICES={n_dev + 1}" in advice
    assert all_devices_memory_advice(n_dev, n_dev, small) is None
    assert all_devices_memory_advice(1, n_dev, big) is None  # vectorised on one device
    assert all_devices_memory_advice(n_dev, n_dev - 1, big) is None


def test_a_single_chain_is_checked_by_its_split_halves():
    """ArviZ's R-hat is NaN for one chain; the diagnostics compare its halves (Stan's split
    R-hat), so a good single-chain fit passes, and a NaN R-hat is named when it occurs."""
    runs = bs.simulate_ladder()
    # 2000 draws: at 1000 one chain's ESS sits near the 400 bar (279 on one CPU, 471 on another)
    post = bs.fit(bs.Model(), runs, chains=1, draws=2000, warmup=500, seed=0)
    table = bs.diagnose(post, warn=False)
    assert table["r_hat"].notna().all() and table.attrs["ok"]
    from bayescale.diagnostics import failure_message

    table.loc["E", "r_hat"] = np.nan
    table.attrs["rhat_max"] = float(table["r_hat"].max())
    assert "R-hat could not be computed (E)" in failure_message(table)


def test_diagnostics_leave_out_the_extrapolation_scales(epoch_fit):
    """The learned error's scales join the posterior on the first prediction; drawn from a grid
    posterior after the fit, they are not the sampler's, and the table is the same either way."""
    from bayescale.extrapolation import SCALE_SITES

    epoch_fit.predict(N=7e10, D=1.4e12)
    assert SCALE_SITES[0] in epoch_fit.posterior
    table = bs.diagnose(epoch_fit, warn=False)
    assert not set(SCALE_SITES) & set(table.index)
    assert sorted(table.index) == ["A", "B", "E", "alpha", "beta", "nu", "sigma"]


def failed_fit_table(rows: list[str], **attrs) -> pd.DataFrame:
    """A diagnostics table of a NUTS fit that failed: every site passing, ``attrs`` the rest."""
    t = pd.DataFrame(
        {"ess_bulk": 2000.0, "ess_tail": 2000.0, "r_hat": 1.001, "ok": True}, index=rows
    )
    defaults = dict(
        method="nuts",
        divergences=0,
        max_treedepth_hits=0,
        bfmi_min=0.8,
        rhat_max=1.001,
        ess_bulk_min=2000.0,
        ess_tail_min=2000.0,
        nu_median=12.0,
        ok=False,
    )
    t.attrs.update(defaults | attrs)
    return t


def test_a_centred_run_scale_that_mixes_worst_gets_the_non_centred_advice():
    """When sd_run has the worst R-hat of a Student-t fit with centred run effects (the funnel of
    GPT-3's curves: R-hat 1.020, bulk ESS 240), the warning names centered=False; not when
    another site is worst, nor when the run effects were sampled non-centred."""
    from bayescale.diagnostics import failure_message

    def table(rows, worst):
        t = failed_fit_table(rows, divergences=1, rhat_max=1.02, ess_bulk_min=240.0)
        t.loc[worst, ["r_hat", "ess_bulk"]] = [1.02, 240.0]
        return t

    centred = ["E", "A", "sigma", "nu", "sd_run", "r_run_free[a]", "r_run_free[b]"]
    assert "centered=False" in failure_message(table(centred, "sd_run"))
    assert "centered=False" not in failure_message(table(centred, "E"))
    non_centred = ["E", "A", "sigma", "nu", "sd_run", "z_run_free[a]", "z_run_free[b]"]
    assert "centered=False" not in failure_message(table(non_centred, "sd_run"))
    normal = [s for s in centred if s != "nu"]
    assert "centered=False" not in failure_message(table(normal, "sd_run"))
    passing = table(centred, "E")  # sd_run the worst of all, yet inside both bounds
    passing.loc["sd_run", ["r_hat", "ess_bulk"]] = [1.005, 450.0]
    passing.loc["E", ["r_hat", "ess_bulk"]] = [1.004, 2000.0]
    assert "centered=False" not in failure_message(passing)


def test_degrees_of_freedom_below_one_get_advice_to_find_the_outlying_rows():
    """A Student-t whose nu falls below 1 (Muennighoff et al.'s single-epoch C4 curves, one run
    starting 21 % above the law: nu 0.63, 189 draws at the maximum tree depth) is told to find
    and drop the outlying rows, not to switch to a normal likelihood, which lets them pull the
    law; nu between 1 and 3 on curves keeps the normal-likelihood advice. A fit that passes with
    draws at the tree depth (C4's curves since tree depth alone fails nothing) keeps the advice
    in its efficiency note."""
    from bayescale.diagnostics import efficiency_message, failure_message

    def table(nu, **attrs):
        return failed_fit_table(
            ["E", "B", "sigma", "nu"],
            max_treedepth_hits=189,
            nu_median=nu,
            checkpoints=True,
            **({"divergences": 2} | attrs),
        )

    below = failure_message(table(0.63))
    assert "0.63, below 1" in below and "plot_fit" in below
    assert "use likelihood='normal'" not in below
    assert "2 divergent transition(s); and 189 draw(s) hit the maximum tree depth" in below
    assert "use likelihood='normal'" in failure_message(table(1.6))
    passing = efficiency_message(table(0.63, divergences=0, ok=True))
    assert "189 draw(s) hit the maximum tree depth" in passing and "0.63, below 1" in passing
    assert "below 1" not in efficiency_message(table(1.6, divergences=0, ok=True))
    # a failure on tree depth and E-BFMI alone reads without a dangling "and"
    bfmi = failure_message(table(12.0, divergences=0, bfmi_min=0.2))
    assert "E-BFMI 0.20 < 0.3; and 189 draw(s)" in bfmi
    alone = failure_message(table(12.0, divergences=0))  # (ok=False for another reason)
    assert "diagnostics: 189 draw(s) hit the maximum tree depth (not a failure alone)." in alone


def sampler_tree(hits: int, divergences: int = 0, nu: float | None = None) -> xr.DataTree:
    """A NUTS fit's groups with independent draws (every R-hat and ESS check passes), ``hits``
    draws at the maximum tree depth and ``divergences`` divergent ones (and a Student-t's
    ``nu`` near the value given)."""
    rng = np.random.default_rng(0)
    shape = (4, 500)

    def flags(n):
        out = np.zeros(shape[0] * shape[1], bool)
        out[rng.choice(out.size, n, replace=False)] = True
        return (("chain", "draw"), out.reshape(shape))

    posterior = xr.Dataset({k: (("chain", "draw"), rng.normal(size=shape)) for k in "EA"})
    if nu is not None:
        posterior["nu"] = (("chain", "draw"), nu * np.exp(0.1 * rng.normal(size=shape)))
    stats = xr.Dataset(
        {
            "diverging": flags(divergences),
            "reached_max_treedepth": flags(hits),
            "energy": (("chain", "draw"), rng.normal(size=shape)),
        }
    )
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})


def test_draws_at_the_maximum_tree_depth_are_an_efficiency_note_not_a_failure():
    """A transition cut short at the maximum tree depth is still valid (Stan's guide calls it an
    efficiency concern): with R-hat, ESS, divergences and E-BFMI passing the fit passes and a
    SamplerEfficiencyWarning counts the hits; a fit failing another check names them too."""
    from bayescale.diagnostics import efficiency_message, failed_checks, failure_message

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = bs.diagnose(sampler_tree(hits=37))
    assert [w.category for w in caught] == [bs.SamplerEfficiencyWarning]
    assert "37 draw(s) hit the maximum tree depth" in str(caught[0].message)
    assert table.attrs["ok"] and table.attrs["max_treedepth_hits"] == 37
    assert failed_checks(table) == ""
    assert efficiency_message(bs.diagnose(sampler_tree(hits=0), warn=False)) is None

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        failed = bs.diagnose(sampler_tree(hits=37, divergences=2))
    assert [w.category for w in caught] == [bs.ConvergenceWarning]
    assert not failed.attrs["ok"]
    assert failed_checks(failed) == "2 divergent transition(s)"
    message = failure_message(failed)
    assert "2 divergent transition(s)" in message
    assert "37 draw(s) hit the maximum tree depth (not a failure alone)" in message
    assert efficiency_message(failed) is None  # the failure's warning says it


def test_a_passing_fit_whose_student_t_nu_is_below_1_says_so_once():
    """nu below 1 (Muennighoff et al.'s C4 curves: 0.63) means a few rows lie far off the law
    and a new point's predictive has no mean: a passing fit says so in a HeavyTailWarning (not a
    DataWarning: the table's checks passed); one with
    tree-depth hits in its efficiency note; a failing one in its failure message; never twice."""
    from bayescale.diagnostics import heavy_tail_message, warning_for

    def caught_by(tree):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            table = bs.diagnose(tree)
        return table, [(w.category, str(w.message)) for w in caught]

    table, caught = caught_by(sampler_tree(hits=0, nu=0.63))
    assert [c for c, _ in caught] == [bs.HeavyTailWarning] and table.attrs["ok"]
    assert caught[0][1].startswith("The fit passed its diagnostics. The Student-t degrees")
    assert "sit at 0.63, below 1" in caught[0][1] and warning_for(table) == caught[0]
    for tree, category in (
        (sampler_tree(hits=37, nu=0.63), bs.SamplerEfficiencyWarning),
        (sampler_tree(hits=0, divergences=2, nu=0.63), bs.ConvergenceWarning),
    ):
        table, caught = caught_by(tree)
        assert [c for c, _ in caught] == [category] and "below 1" in caught[0][1]
    assert heavy_tail_message(table) is None  # the failed fit's message holds the advice
    for tree in (sampler_tree(hits=0, nu=1.3), sampler_tree(hits=0)):
        table, caught = caught_by(tree)
        assert caught == [] and warning_for(table) is None


def test_a_fit_whose_only_problem_is_the_tree_depth_is_not_drawn_again():
    """max_tree_depth=5 cuts most transitions short on a simulated ladder, yet R-hat and ESS
    pass (measured: 1801 of 2000 draws, R-hat 1.008, bulk ESS 560): no retry, no
    ConvergenceWarning, one SamplerEfficiencyWarning."""
    runs = bs.simulate_ladder()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        post = bs.fit(
            bs.Model(), runs, chains=2, draws=1000, warmup=500, max_tree_depth=5, retry=True
        )
    table = bs.diagnose(post, warn=False)
    assert table.attrs["ok"] and table.attrs["max_treedepth_hits"] > 1000
    assert "retried_after" not in post.settings
    assert [w.category for w in caught] == [bs.SamplerEfficiencyWarning]


@pytest.mark.filterwarnings("ignore::bayescale.errors.ConvergenceWarning")  # short chains
def test_a_retry_after_the_centred_run_funnel_samples_the_run_effects_non_centred(monkeypatch):
    """Where the first try shows the funnel of centred run effects (sd_run the worst site, as on
    GPT-3's and OPT's curves, where non-centring raised E-BFMI from 0.27-0.47 to 0.74-0.78),
    the retry draws the same model non-centred; a model with other centred terms keeps its
    coordinates (centered=False would move those too)."""
    import importlib

    fit_module = importlib.import_module("bayescale.fit")  # the module, not bs.fit
    runs = bs.simulate_ladder()
    curves = pd.concat(
        [runs.assign(tokens=runs.tokens * f, flops=runs.flops * f) for f in (0.25, 0.5, 1)]
    )
    model = bs.Model(centered=True)
    real, calls = fit_module.diagnose, []

    def funnel_first(post, warn=True):
        table = real(post, warn=warn)
        if not calls:  # the first try: sd_run mixing worst of all
            calls.append(table)
            table.loc["sd_run", ["r_hat", "ess_bulk"]] = [9.0, 1.0]
            table.attrs.update(ok=False, rhat_max=9.0, ess_bulk_min=1.0)
        return table

    monkeypatch.setattr(fit_module, "diagnose", funnel_first)
    post = bs.fit(model, curves, chains=2, draws=100, warmup=100, retry=True)
    assert any(str(s).startswith("r_run_free[") for s in calls[0].index)  # centred at first
    assert post.settings["retried_non_centred"] and post.settings["draws"] == 200
    assert post.model.centered is False and "R-hat 9.0000" in post.settings["retried_after"]
    assert any(str(s).startswith("z_run_free[") for s in real(post, warn=False).index)

    families = bs.simulate_ladder(families=4, sizes_per_budget=5, seed=1)
    family_curves = pd.concat(
        [families.assign(tokens=families.tokens * f, flops=families.flops * f) for f in (0.5, 1)]
    )
    grouped = bs.Model(effects={"E": "family"}, centered=True)
    data = grouped.prepare(family_curves)
    assert grouped.centered_terms(data) == {"family", "run"}
    assert grouped.non_centred_run(data) is None


@pytest.mark.filterwarnings("ignore::bayescale.errors.ConvergenceWarning")  # short chains
def test_a_retry_after_divergences_takes_smaller_steps(monkeypatch):
    """A first try with divergent transitions is drawn again at target_accept 0.99 (with the run
    effects non-centred, GPT-3's and OPT's curves then passed on 5 of 6 seeds, against 0 of 6 at
    0.95); the retry is a plain fit of its own settings."""
    import importlib

    fit_module = importlib.import_module("bayescale.fit")
    df = bs.simulate_ladder(budgets=(1e18, 1e19), sizes_per_budget=4, seed=5)
    real, calls = fit_module.diagnose, []

    def diverging_first(post, warn=True):
        table = real(post, warn=warn)
        if not calls:
            calls.append(table)
            table.attrs.update(ok=False, divergences=3, max_treedepth_hits=0)
        return table

    monkeypatch.setattr(fit_module, "diagnose", diverging_first)
    again = bs.Model().fit(df, chains=2, draws=30, warmup=15, seed=11, retry=True)
    assert again.settings["target_accept"] == fit_module.RETRY_TARGET_ACCEPT == 0.99
    assert "3 divergent transition(s)" in again.settings["retried_after"]
    message = bs.diagnostics.failure_message(real(again, warn=False))  # 2 x 60 draws: ESS fails
    assert "drawn again with twice the warm-up and draws, at target_accept 0.99)" in message
    assert "raise target_accept" not in message
    direct = bs.Model().fit(
        df, chains=2, draws=60, warmup=30, seed=12, retry=False, target_accept=0.99
    )
    np.testing.assert_array_equal(again.posterior["E"].values, direct.posterior["E"].values)


@pytest.mark.filterwarnings("ignore::bayescale.errors.ConvergenceWarning")  # short chains
def test_a_retry_after_draws_at_the_maximum_tree_depth_builds_deeper_trees(monkeypatch):
    """A failed first try most of whose draws hit the maximum tree depth is drawn again with
    trees two levels deeper, up to 15 (OLMo-7B's two curves of one size, 3 seeds, 94 % of the
    draws at the depth: tail ESS 23-114 at the first try, 272-274 after a retry at the same
    depth, 1081-1820 at depth 12); the retry is a plain fit of its own settings, and its failure
    message says how it was drawn. Fewer hits (0.05-9 % on the other failed curve fits) keep
    the depth."""
    import importlib

    fit_module = importlib.import_module("bayescale.fit")
    df = bs.simulate_ladder(budgets=(1e18, 1e19), sizes_per_budget=4, seed=5)
    real, calls = fit_module.diagnose, []

    def deep_first(post, warn=True):
        table = real(post, warn=warn)
        if not calls:
            calls.append(table)
            table.attrs.update(ok=False, ess_bulk_min=50.0, max_treedepth_hits=700)
        return table

    monkeypatch.setattr(fit_module, "diagnose", deep_first)
    again = bs.Model().fit(df, chains=2, draws=30, warmup=15, seed=11, retry=True)
    assert again.settings["max_tree_depth"] == 10 + fit_module.RETRY_TREE_DEPTH_STEP == 12
    assert again.settings["retried_deeper"] and again.settings["target_accept"] == 0.95
    message = bs.diagnostics.failure_message(real(again, warn=False))  # 2 x 60 draws: ESS fails
    assert "twice the warm-up and draws, at max_tree_depth 12)" in message
    direct = bs.Model().fit(
        df, chains=2, draws=60, warmup=30, seed=12, retry=False, max_tree_depth=12
    )
    np.testing.assert_array_equal(again.posterior["E"].values, direct.posterior["E"].values)

    calls.clear()
    capped = bs.Model().fit(
        df, chains=2, draws=30, warmup=15, seed=11, retry=True, max_tree_depth=14
    )
    assert capped.settings["max_tree_depth"] == bs.defaults.MAX_TREE_DEPTH == 15

    calls.append("first try already seen")  # under half the draws at the depth: kept
    table = real(again, warn=False)
    model = bs.Model()
    data = model.prepare(df)
    settings = fit_module.NutsSettings(chains=2, draws=30, warmup=15, seed=11)
    first = SimpleNamespace(settings={}, timing={})
    for hits, depth in ((29, 10), (30, 12)):  # of 2 x 30 draws: half is enough
        table.attrs.update(ok=False, max_treedepth_hits=hits)
        retried = fit_module._retry(model, data, settings, table, first, None)
        assert retried.settings["max_tree_depth"] == depth
        assert retried.settings.get("retried_deeper", False) == (depth == 12)
