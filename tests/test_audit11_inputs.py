"""Bad input found by the fourteenth audit (the discrepancy, specs, decisions' levels and grids,
the runtime's variables, two-step specs, saved custom laws, dataset paths, repeated candidates):
each case ends in a clear error, a warning, or the right answer."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest

import bayescale as bs
from bayescale.cli import main
from bayescale.datasets import DatasetError
from bayescale.errors import DataWarning, ExtrapolationWarning, SpecificationError


def test_a_discrepancy_step_that_cuts_the_data_too_fine_is_refused(runs):
    # 1e-7 asked for 596 GiB; 1e-300 overflowed the bins' int32 index inside XLA
    for step in (1e-7, 1e-300):
        with pytest.raises(SpecificationError, match=r"give discrepancy_step >= 0\.0021"):
            bs.Model(discrepancy="random_walk", discrepancy_step=step).prepare(runs)
    fine = bs.Model(discrepancy="random_walk", discrepancy_step=0.0025)
    assert fine.discrepancy_grid(fine.prepare(runs)).n == 801  # allowed: under 1000 bins


def test_a_discrepancy_of_one_or_two_bins_is_warned(runs):
    # its scale stayed at the prior and set the width beyond the data without a word
    with pytest.warns(DataWarning, match=r"has 1 bin\(s\) of discrepancy_step=100 .*5 distinct"):
        bs.Model(discrepancy="random_walk", discrepancy_step=100).prepare(runs)
    one_budget = runs[np.isclose(6 * runs["params"] * runs["tokens"], 1e20, rtol=0.05)]
    with pytest.warns(DataWarning, match=r"\(1 distinct value\(s\)\)"):
        bs.Model(discrepancy="random_walk").prepare(one_budget)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        bs.Model(discrepancy="random_walk").prepare(runs)  # 21 bins: no warning


def test_the_discrepancy_is_described_and_its_prior_is_the_one_given(runs):
    # repr and describe() left it out; priors={'tau_disc': ...} was accepted and not used
    model = bs.Model(discrepancy="random_walk")
    assert repr(model) != repr(bs.Model()) and "discrepancy='random_walk'" in repr(model)
    assert "tau_disc ~ HalfNormal(scale=0.05)" in model.describe()
    wide = bs.Model(discrepancy="random_walk", priors={"tau_disc": "HalfNormal(0.5)"})
    assert "tau_disc ~ HalfNormal(scale=0.5)" in wide.describe()
    draws = wide.prior_draws(wide.prepare(runs), n=400, seed=0)["tau_disc"]
    assert 0.3 < float(np.mean(draws)) < 0.5  # HalfNormal(0.5)'s mean is 0.40 (0.05's: 0.04)
    with pytest.raises(SpecificationError, match=r"priors\['tau_disc'\] gives its prior too"):
        bs.Model(
            discrepancy="random_walk", discrepancy_scale=0.2, priors={"tau_disc": "HalfNormal(1)"}
        )
    with bs.model.rebuilding_saved_fit():  # a fit saved before the check reads back
        bs.Model(
            discrepancy="random_walk", discrepancy_scale=0.2, priors={"tau_disc": "HalfNormal(1)"}
        )


def test_a_laws_option_beside_its_name_in_a_spec_is_refused():
    # {'name': 'sigmoid_link', 'floor': 0.25} gave floor 0.0: the chance level dropped
    with pytest.raises(SpecificationError, match=r"\['floor'\] beside its name.*'config'"):
        bs.Model.from_spec({"law": {"name": "sigmoid_link", "floor": 0.25}})
    spec = {"law": {"name": "sigmoid_link", "config": {"floor": 0.25}}}
    assert bs.Model.from_spec(spec).law.config()["floor"] == 0.25


def test_a_two_step_spec_must_be_one(runs):
    # a list: TypeError on indexing; a one-step spec: KeyError 'loss'
    with pytest.raises(SpecificationError, match=r"\{'loss': <spec>, 'link': <spec>\}.*a list"):
        bs.TwoStepModel.from_spec([1, 2])
    with pytest.raises(SpecificationError, match=r"one-step model's spec.*Model\.from_spec"):
        bs.TwoStepModel.from_spec(bs.Model().spec())
    with pytest.raises(SpecificationError, match=r"the entries \['loss'\]"):
        bs.TwoStepModel.from_spec({"loss": bs.Model().spec()})


def test_decision_levels_need_a_draw_beyond_them(post):
    # quantile=1e-9 returned the minimum of 4000 draws as that quantile; prob=1-1e-9 returned inf
    n = 4000
    assert post.posterior.sizes["chain"] * post.posterior.sizes["draw"] == n
    cases = [
        (
            lambda: bs.best_allocation(post, 1e21, objective="quantile", quantile=1e-9),
            r"quantile=1e-09 leaves 4e-06 of the fit's 4000 draws",
        ),
        (lambda: bs.decision_table(post, [1e21], quantile=1e-9), "quantile=1e-09"),
        (lambda: bs.decision_table(post, [1e21], prob=0.9999), r"prob at most 0\.9995"),
        (lambda: bs.compute_for_target(post, 2.5, prob=1 - 1e-9), r"from 0\.00025 to 0\.99975"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    best = bs.best_allocation(post, 1e21, objective="quantile", quantile=0.999)  # 4 draws beyond
    assert np.isfinite(best.loc[0, "objective"])
    # a tail of exactly one draw is enough, whatever the float rounding: (1 - 0.9) / 2 * 20
    assert bs.arguments.resolvable(0.9, 20, "prob", central=True) == 0.9
    assert bs.arguments.resolvable(0.9, 10, "quantile") == 0.9


def test_an_allocation_grid_past_memory_is_refused(post):
    # n_grid=1e7: XLA's out-of-memory error for 320 GB
    for call in (
        lambda: bs.compute_for_target(post, 2.0, n_grid=10**7),
        lambda: bs.best_allocation(post, 1e21, n_grid=10**7),
    ):
        with pytest.raises(ValueError, match=r"evaluates 4e\+10 losses .* give n_grid <= 12500"):
            call()


def test_fewer_than_four_draws_per_chain_are_refused(runs):
    # draws=1 gave numpy's "Mean of empty slice" and the advice to warm up longer
    for draws in (1, 3):
        with pytest.raises(ValueError, match=f"draws={draws}: a chain of fewer than 4 draws"):
            bs.fit(bs.Model(), runs, draws=draws, warmup=10, chains=1)


def _import_with(**env: str) -> subprocess.CompletedProcess:
    code = "import bayescale, jax; print(len(jax.devices()), jax.config.jax_enable_x64)"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "XLA_FLAGS": "", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_runtime_variables_are_read_or_warned_about():
    # 'abc' ended the import in a ValueError; 0 failed JAX's CPU backend at the first call;
    # BAYESCALE_X64=false kept float64
    bad = _import_with(BAYESCALE_HOST_DEVICES="abc", BAYESCALE_X64="maybe")
    assert bad.returncode == 0 and bad.stdout.split() == ["4", "True"]
    assert "BAYESCALE_HOST_DEVICES='abc' is not a whole number >= 1" in bad.stderr
    assert "BAYESCALE_X64='maybe' is neither on" in bad.stderr
    off = _import_with(BAYESCALE_HOST_DEVICES="2", BAYESCALE_X64="false")
    assert off.returncode == 0 and off.stdout.split() == ["2", "False"]


def test_a_links_upstream_loss_far_outside_is_worded_in_loss_units(runs):
    # "Predicting 46.2 decades past the largest training run" for L=50 on a 2.6-3.8 range
    noise = np.random.default_rng(0).normal(0, 0.005, len(runs))
    table = runs.assign(error=0.8 - 6.0 * np.exp(-1.1 * runs["loss"]) + noise)
    two = bs.TwoStepModel(
        loss=bs.Model("chinchilla"),
        link=bs.Model("exponential_link", scale="logit", columns={"loss": "error"}),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        joint = bs.fit(two, table, method="psis", seed=0)
    link = joint.link_posterior
    lo, hi = link.data_range().ranges["L"]
    with pytest.warns(ExtrapolationWarning, match=r"at L=50, .* above the fitted range") as seen:
        link.predict(L=50.0)
    assert not any("decades" in str(w.message) for w in seen)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        link.predict(L=hi + 0.5 * (hi - lo))  # within one range's width: no warning


def test_a_saved_custom_laws_fit_names_its_law_briefly_and_the_command_line_says_python(
    runs, post, tmp_path, capsys
):
    priors = {"log_E": dist.Normal(0.5, 0.5), "alpha": dist.LogNormal(-1.2, 0.5)}
    law = bs.laws.CustomLaw(
        fn=lambda p, x: jnp.exp(p["log_E"]) + (x["N"] / 1e8) ** -p["alpha"],
        params=priors,
        inputs=("N",),
    )
    builtin = post.to_netcdf(tmp_path / "builtin.nc")
    with pytest.raises(SpecificationError, match=r"law=CustomLaw\('custom'\) would read") as e:
        bs.load_posterior(builtin, law=law)
    assert len(str(e.value)) < 400 and "0x" not in str(e.value)  # not the law's repr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # a law of N alone on an iso-FLOP ladder
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        fit = bs.fit(bs.Model(law, extrapolation="none"), runs, method="psis", seed=0)
    custom = fit.to_netcdf(tmp_path / "custom.nc")
    assert main(["summary", str(custom)]) == 2
    err = capsys.readouterr().err
    assert "command line cannot read it" in err and "bs.load_posterior(path, law=" in err
    assert "pass law=." not in err


def test_a_dataset_file_outside_its_folder_is_refused(tmp_path, monkeypatch):
    # '../../../etc/passwd' made a folder outside the cache before the download failed
    monkeypatch.setenv(bs.datasets.CACHE_ENV, str(tmp_path / "cache"))
    entry = {"file": "../../etc/passwd", "sha256": "x", "source": "y"}  # tmp_path/etc
    with pytest.raises(DatasetError, match=r"must be a path inside the dataset's folder"):
        bs.datasets.fetch("epoch_chinchilla", entry)
    with pytest.raises(DatasetError, match="must be a path inside"):
        bs.datasets.fetch("epoch_chinchilla", {**entry, "file": "/etc/passwd"})
    assert not (tmp_path / "etc").exists()


def test_a_folder_in_the_mirror_where_a_file_should_be_is_named(tmp_path, monkeypatch):
    card = bs.datasets.card("epoch_chinchilla")
    entry = card["tables"]["runs"]["files"][0]
    (tmp_path / "mirror" / "epoch_chinchilla" / entry["file"]).mkdir(parents=True)
    monkeypatch.setenv(bs.datasets.MIRROR_ENV, str(tmp_path / "mirror"))
    monkeypatch.setenv(bs.datasets.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(DatasetError, match="it holds a folder, not a file, at epoch_chinchilla/"):
        bs.datasets.fetch("epoch_chinchilla", entry)


def test_a_candidate_given_twice_is_refused(post):
    # ranked twice, with different Monte Carlo scores, one of them flagged
    candidates = pd.DataFrame({"N": [1e9, 2e9], "D": [2e10, 4e10]})
    with pytest.raises(ValueError, match=r"rows 0 and 2 \(by position\) are the same run"):
        bs.value_of_runs(post, pd.concat([candidates, candidates]), 1e21)


# -- the fifteenth audit ---------------------------------------------------------------------


def test_loo_of_a_likelihood_that_is_not_finite_is_refused(runs, post):
    # a NaN row gave elpd NaN, and compare gave that fit half the stacking weight
    broken = bs.fit(bs.Model(likelihood="normal"), runs, method="psis", seed=0)
    ll = broken.draws_tree["log_likelihood"]["loss"]
    values = ll.values.copy()
    values[..., 3] = np.nan
    broken.draws_tree["log_likelihood"]["loss"] = ll.copy(data=values)
    with pytest.raises(SpecificationError, match=r"not finite at row\(s\) \[3\]"):
        bs.loo(broken)
    with pytest.raises(SpecificationError, match=r"^compare: fit 'b': loo weighs"):
        bs.compare.compare({"a": post, "b": broken})


def test_choose_from_loo_reads_a_table_it_can_choose_from():
    from bayescale.compare import choose_from_loo

    table = pd.DataFrame({"elpd": [1.0, np.nan], "dse": [0.0, 1.0]}, index=["a", "b"])
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['fit_ok'\]"):
        choose_from_loo(table, ["a", "b"])  # a KeyError 'fit_ok'
    with pytest.raises(ValueError, match=r"not finite for \['b'\]"):
        choose_from_loo(table.assign(fit_ok=True), ["a", "b"])  # chose 'a' past a NaN
    with pytest.raises(TypeError, match="give a list of the candidates"):
        choose_from_loo(table.assign(fit_ok=True, elpd=[1.0, 0.5]), "ab")


def test_a_report_that_cannot_smooth_its_weights_writes_nothing(post, tmp_path, monkeypatch):
    # fan, fit, forest and frontier figures were written before plot_loo_pit refused
    def cannot(*args, **kwargs):
        raise SpecificationError("loo smooths the largest importance weights ...")

    monkeypatch.setattr(sys.modules["bayescale.report"], "loo", cannot)  # (bs.report: the function)
    with pytest.raises(SpecificationError, match=r"^report \(its LOO-PIT\): loo smooths"):
        bs.report(post, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_flat_and_short_isoflop_profiles_have_no_minimum(runs):
    from bayescale.isoflop import isoflop_minima, parabola_minimum

    x = np.log([1e8, 2e8, 4e8, 8e8])
    flat = parabola_minimum(x, np.full(4, np.log(3.0)))  # curvature 6e-17 counted as convex
    assert flat["curvature"] == 0.0 and np.isnan(flat["log_n"]) and not flat["ok"]
    two_sizes = parabola_minimum(np.log([1e8, 1e8, 2e8]), np.log([3.0, 2.9, 3.1]))
    assert np.isnan(two_sizes["log_n"]) and not two_sizes["ok"]
    with pytest.raises(bs.DataError, match="x and y must be numbers"):
        parabola_minimum(x[:3], ["a", "b", "c"])
    with pytest.warns(DataWarning, match=r"no profile has min_points=4 runs \(they have \[3, 3"):
        table = isoflop_minima(bs.simulate_ladder(sizes_per_budget=3))
    assert table["N_opt"].isna().all()


def test_pooling_arguments_are_checked(runs):
    from bayescale.pooling import choose_effects, new_group_backtest, with_effects

    with pytest.raises(SpecificationError, match=r"effects=\['family'\]: give a dict"):
        with_effects(bs.Model(), ["family"])
    table = bs.simulate_ladder(families=3, seed=1).assign(seed=lambda d: np.arange(len(d)) % 2)
    with pytest.raises(SpecificationError, match="none by 'family': a held-out family shares"):
        new_group_backtest(bs.Model(), table, "family", candidates={"x": {"E": "seed"}})
    with pytest.raises(ValueError, match="refit_failed='no'"):
        choose_effects(bs.Model(), table, "family", refit_failed="no", method="psis")


def test_simulate_ladder_bounds_its_rows():
    with pytest.raises(ValueError, match=r"is 5e\+09 runs \(at most 1e\+07\)"):
        bs.simulate_ladder(sizes_per_budget=10**9)  # a MemoryError of 7.45 GiB


def test_the_command_line_words_a_level_without_a_draw_beyond_it(post, tmp_path, capsys):
    path = post.to_netcdf(tmp_path / "fit.nc")
    assert main(["frontier", str(path), "--compute", "1e21", "--prob", "0.9999999"]) == 2
    err = capsys.readouterr().err
    assert "--prob 0.9999999 leaves" in err and "(--chains x --draws)" in err
    assert "prob=" not in err
