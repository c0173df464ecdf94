"""Bad input found by the eleventh audit and the items stop 64 left open: each case ends in a
clear error, a warning that points at the caller, or the right answer."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale import calibration
from bayescale.isoflop import isoflop_minima, profiles


def test_a_budget_column_and_decimals_are_not_both_taken(runs):
    # decimals= was ignored without a word when budget= named the profiles
    labelled = runs.assign(budget=np.round(np.log10(6 * runs["params"] * runs["tokens"]), 1))
    with pytest.raises(ValueError, match="give one of them"):
        isoflop_minima(labelled, budget="budget", decimals=0)
    with pytest.raises(ValueError, match="give one of them"):
        profiles(labelled, budget="budget", decimals=2)
    by_label = isoflop_minima(labelled, budget="budget")
    by_rounding = isoflop_minima(runs)  # the default rounding, one decimal, as before
    assert by_label["N_opt"].tolist() == pytest.approx(by_rounding["N_opt"].tolist())
    assert len(isoflop_minima(runs, decimals=0)) < len(by_rounding)  # decimals still rounds


def test_summary_refuses_a_rounding_arviz_would_ignore(post):
    # round_to="x" left the numbers unrounded without a word (ArviZ's round_num ignores it)
    with pytest.raises(ValueError, match=r"round_to='x': give decimals \(2\)"):
        post.summary(round_to="x")
    with pytest.raises(ValueError, match="round_to=True"):
        post.summary(round_to=True)
    rounded = post.summary(round_to=1)
    assert (rounded["mean"] == rounded["mean"].round(1)).all()
    two = post.summary(round_to="2g")["mean"].to_numpy(float)
    assert two.tolist() == [float(f"{v:.2g}") for v in two]
    assert (two != post.summary()["mean"].to_numpy(float)).any()


def test_schedule_areas_refuse_a_run_column_the_table_lacks():
    lr = bs.simulate.cosine_schedule(steps=1000)
    ckpts = pd.DataFrame({"run": ["a", "a"], "step": [500, 1000]})
    with pytest.raises(bs.DataError, match="run='name' is not a column"):
        bs.laws.add_schedule_areas(ckpts, lr, run="name")  # a typo, read nowhere before
    shared = bs.laws.add_schedule_areas(ckpts, lr, run="run")  # one schedule for every run
    assert shared["lr_area"].tolist() == bs.laws.add_schedule_areas(ckpts, lr)["lr_area"].tolist()


def test_dataset_info_names_the_columns_it_renames_and_derives():
    text = bs.datasets.info("epoch_chinchilla")
    assert "renamed:  'Model Size' -> params, 'Training FLOP' -> flops" in text
    assert "derived:  tokens = flops / (6 * params)" in text


def test_the_backtest_warning_points_at_the_caller(post, tmp_path):
    # a report's check warned from inside report.py (a fixed stacklevel)
    table = pd.DataFrame({"split": ["a"], "coverage_0.9": [0.9]})
    with pytest.warns(bs.DataWarning, match="does not say in every row") as caught:
        calibration.check_backtest_table(table, post=post)
    assert caught[0].filename == __file__
    (tmp_path / "a_file").write_text("x")  # the report stops after its checks, before work
    with pytest.warns(bs.DataWarning, match="does not say in every row") as caught:
        with pytest.raises(ValueError, match="is a file"):
            bs.report(post, tmp_path / "a_file", backtest=table)
    assert caught[0].filename == __file__


def test_a_split_of_series_is_read_by_the_tables_labels(runs, post):
    # a mask built on a shuffled copy was read by position: test rows trained on, scored ok
    shuffled = runs.sample(frac=1, random_state=0)
    mask = runs["flops"] < 5e19  # labelled as runs, not as shuffled
    split = calibration.Split("below 5e19", mask, ~mask)
    with pytest.raises(ValueError, match="the same labels in another order"):
        bs.backtest(bs.Model(), shuffled, split, method="psis")
    with pytest.raises(ValueError, match="other labels"):
        bs.backtest(bs.Model(), runs.iloc[:30], calibration.Split("s", mask[5:], ~mask[5:]))


def test_sbc_bins_expect_the_ranks_they_hold():
    # 101 ranks in 10 bins hold 11 and 10: uniform ranks were scored as if each bin expected a
    # tenth, so the test rejected them once the simulations were many
    from scipy import stats

    uniform = np.tile(np.arange(101), 500)
    counts = np.histogram(uniform, bins=10, range=(0, 101))[0]
    assert stats.chisquare(counts).pvalue < 1e-5  # the old test
    assert calibration.rank_uniformity(uniform, 100, 10)[1] == pytest.approx(1.0)
    skewed = np.concatenate([uniform, np.zeros(2000, int)])
    assert calibration.rank_uniformity(skewed, 100, 10)[1] < 1e-6


def test_record_functions_check_their_arguments(runs):
    from bayescale import record as rec

    model = bs.Model()
    data = model.prepare(runs)
    ll = np.zeros((rec.LOG_SCALE_GRID.size,) * 2)
    with pytest.raises(TypeError, match=r"names='abc': give the names"):
        rec.fit_prior([ll], names="abc")  # stored as ('a', 'b', 'c')
    with pytest.raises(ValueError, match="one 49x49 array: give a list"):
        rec.fit_prior(ll)  # its rows read as 49 records
    with pytest.raises(TypeError, match="not a dict"):
        rec.fit_prior({"a": ll})
    with pytest.raises(ValueError, match=r"The records \[1\] are not on the scales' grid"):
        rec.fit_prior([ll, np.zeros((3, 3))])  # ragged: numpy's message, not the package's
    assert rec.ScalePrior(fitted_on=(n for n in ["a", "b"])).fitted_on == ("a", "b")
    with pytest.raises(TypeError, match="hyperprior must be a ScalePrior, got dict"):
        rec.fit_prior([ll], hyperprior={"mean": (0, 0)})
    with pytest.raises(TypeError, match="prior must be a ScalePrior, got NoneType"):
        rec.marginal_loglik([ll], None)
    y, draws, d = np.zeros(3), np.zeros((4, 3)), np.array([0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"log_draws must be \(draws, rows\)"):
        rec.cut_loglik(y, draws[0], d)  # one draw vector: a finite grid of nonsense
    with pytest.raises(ValueError, match="d must be one value per held-out row"):
        rec.cut_loglik(y, draws, d[:2])
    with pytest.raises(ValueError, match="noise_sd must be >= 0"):
        rec.cut_loglik(y, draws, d, -np.ones(3))
    with pytest.raises(ValueError, match="give noise_sd too"):
        rec.cut_loglik(y, draws, d, nu=3.0)  # nu was ignored without noise_sd
    with pytest.raises(ValueError, match="nu=0 must be finite and > 0"):
        rec.cut_loglik(y, draws, d, np.ones(3), nu=0)  # an all-NaN grid
    with pytest.raises(ValueError, match="log_y holds values that are not finite"):
        rec.cut_loglik(np.array([0.0, np.nan, 0.0]), draws, d)
    spread = draws + np.array([[0.0, 0.01, 0.0]])
    assert rec.cut_loglik([0.0, 0.01, 0.02], spread, d).shape == ll.shape
    with pytest.raises(ValueError, match=r"fractions\[0\]=1.5 must lie strictly between"):
        rec.cuts(model, data, "compute", (1.5,))
    with pytest.raises(TypeError, match=r"fractions=0\.3: give the shares"):
        rec.cuts(model, data, "compute", 0.3)
    with pytest.raises(ValueError, match="fractions is empty"):
        rec.cuts(model, data, "compute", ())  # an empty record without a word
    with pytest.raises(ValueError, match="axis='flops': choose one of"):
        rec.cuts(model, data, "flops")
    with pytest.raises(ValueError, match="draws=0: give a whole number >= 10"):
        rec.ladder_record(model, data, draws=0)
    with pytest.raises(TypeError, match=r"takes the table as model\.prepare"):
        rec.ladder_record(model, runs)
    with pytest.raises(TypeError, match=r"record_notice takes the table as model\.prepare"):
        model.record_notice(runs)
    with pytest.raises(ValueError, match="command_line='no'"):
        model.record_notice(data, command_line="no")


def test_pooled_prior_checks_its_model_and_tables(runs):
    from bayescale import record as rec

    with pytest.raises(TypeError, match=r"pooled_prior takes a bs\.Model first"):
        rec.pooled_prior("chinchilla", {"a": runs})
    with pytest.raises(ValueError, match=r"tables\['b'\] is a list"):
        rec.pooled_prior(bs.Model(), {"a": runs, "b": [1]})
    with pytest.raises(ValueError, match=r"\['1'\] repeat once written as text"):
        rec.pooled_prior(bs.Model(), {1: runs, "1": runs, "c": runs})


def test_scale_prior_holds_numbers_as_tuples(tmp_path):
    from bayescale import record as rec

    prior = rec.ScalePrior(mean=np.array([-4.0, -3.0]), cov=[[1.0, 0.1], [0.1, 1.0]])
    assert prior.mean == (-4.0, -3.0) and hash(prior) == hash(rec.ScalePrior(**prior.to_dict()))
    for bad in ({"mean": ("1", "2")}, {"cov": "x"}, {"mean": (True, False)}):
        with pytest.raises(ValueError, match="two finite means"):
            rec.ScalePrior(**bad)
    with pytest.raises(TypeError, match="fitted_on='abc'"):
        rec.ScalePrior(fitted_on="abc")
    with pytest.raises(ValueError, match="is a folder"):
        prior.save(tmp_path)
    with pytest.raises(OSError, match="Cannot write the prior"):
        prior.save(tmp_path / "missing" / "p.json")
    with pytest.raises(TypeError, match="JSON-serialisable"):
        prior.save(tmp_path / "p.json", note=float("nan"))


def test_model_arguments_are_refused_by_name(runs):
    design = bs.simulate.typical_design("chinchilla").assign(loss=3.0)
    with pytest.raises(TypeError, match=r"sbc takes a bs\.Model first, got a str"):
        bs.sbc("chinchilla", design)
    with pytest.raises(bs.DataError, match="holds no number: give a typical loss"):
        bs.sbc(bs.Model(), design.assign(loss=np.nan))
    with pytest.raises(TypeError, match=r"split_by_compute takes a bs\.Model first"):
        calibration.split_by_compute(runs, "chinchilla")
    with pytest.raises(TypeError, match=r"frontier_backtest takes a bs\.Model first"):
        bs.frontier_backtest("chinchilla", runs)
    with pytest.raises(TypeError, match="takes the runs as a pandas DataFrame, got a dict"):
        bs.frontier_backtest(bs.Model(), runs.to_dict("list"))
    with pytest.raises(ValueError, match=r"gives 1 twice"):
        bs.frontier_backtest(bs.Model(), runs, held_out=(1, 1), method="psis")
    with pytest.raises(ValueError, match="rng_seed=-1"):  # before the first fit, not after
        bs.frontier_backtest(bs.Model(), runs, held_out=1, rng_seed=-1, method="psis")


def test_split_helpers_refuse_what_they_misread(runs):
    fam = bs.simulate_ladder(families=2, seed=1)
    with pytest.raises(TypeError, match=r"column=\['family'\]: give one column's name"):
        calibration.splits_leave_group_out(fam, ["family"])
    numbered = fam.assign(**{"4": fam["family"]}).rename(columns={"4": 4})
    assert len(calibration.splits_leave_group_out(numbered, 4)) == 2  # a column named 4
    mixed = fam.assign(g=[1 if i % 2 else "1" for i in range(len(fam))])
    mixed.loc[:3, "g"] = "x"
    with pytest.raises(bs.DataError, match=r"written \['1'\] are one group as text"):
        calibration.splits_leave_group_out(mixed, "g")  # 1 and '1' merged without a word
    curves = runs.assign(run=runs["flops"].astype(str), step=np.arange(len(runs)) % 7 + 1.0)
    curves.loc[3, "step"] = np.nan  # ranked NaN: kept for training without a word
    with pytest.raises(bs.DataError, match="Column 'step' \\(order\\)"):
        calibration.split_curve_tail(curves, bs.Model(), order="step")
    with pytest.raises(bs.DataError, match="Column 'step' \\(order\\)"):  # ranked as text
        calibration.split_curve_tail(curves.assign(step="s"), bs.Model(), order="step")


def test_simulated_runs_keep_their_own_labels():
    many = bs.simulate_ladder(sizes_per_budget=1000)
    assert many["run"].is_unique  # 927 labels for 1000 runs at 3 significant digits
    one = bs.simulate_ladder(sizes_per_budget=1)
    assert one["params"].iloc[-1] == pytest.approx(
        bs.simulate_ladder(sizes_per_budget=3)["params"].iloc[-2]
    )  # the optimum, the middle of three, not a quarter of it
    with pytest.raises(ValueError, match="budgets gives 1e\\+20 2 times"):
        bs.simulate_ladder(budgets=[1e18, 1e20, 1e20])
    with pytest.raises(ValueError, match=r"overflow \(or underflow to 0\): check noise_sd=1000"):
        bs.simulate_ladder(noise_sd=1e3)
    with pytest.raises(TypeError, match="params=\\[1, 2\\]: give a mapping"):
        bs.simulate_ladder(params=[1, 2])
    with pytest.raises(ValueError, match="check params, family_sd or seed_sd"):
        bs.simulate_ladder(families=3, family_sd={"E": 800.0})  # blamed noise_sd=0.01


def test_report_checks_its_folder_before_the_work(post, tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        bs.report(post, tmp_path / "a_file" / "sub")
    with pytest.raises(TypeError, match="out_dir=None: give the report's folder"):
        bs.report(post, None)
    with pytest.raises(bs.DataError, match=r"^target_compute=1e\+10 is read as compute") as e:
        bs.report(post, tmp_path / "r", target_compute=1e10)
    assert e.value.command_line.startswith("--target-compute 1e+10 is read as compute")


# -- the twelfth audit: custom laws, the registry, two-step fits, batches, summaries ----------


def _custom(fn=None, extra=None):
    import jax.numpy as jnp
    import numpyro.distributions as dist

    params = {"log_E": dist.Normal(0.5, 0.5), "log_A": dist.Normal(0, 1), **(extra or {})}
    fn = fn or (lambda p, x: jnp.exp(p["log_E"]) + jnp.exp(p["log_A"]) * (x["N"] / 1e9) ** -0.3)
    return bs.laws.CustomLaw(fn, params, inputs="N")


def test_a_custom_parameter_fn_never_reads_is_refused():
    import numpyro.distributions as dist

    with pytest.raises(bs.SpecificationError, match=r"never reads the parameter\(s\) \['unused'\]"):
        _custom(extra={"unused": dist.Normal(0, 1)})  # summarised as estimated: its prior


def test_the_registry_keeps_its_laws():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Forgot(bs.laws.SaturatingPowerLaw):  # no name of its own: 'power', inherited
        pass

    with pytest.raises(ValueError, match="inherits the registry name 'power'"):
        bs.laws.register(Forgot)  # replaced the power law everywhere, without a word

    @dataclass(frozen=True)
    class Chinchilla(bs.laws.Chinchilla):
        name = "chinchilla"

    with pytest.raises(ValueError, match="'chinchilla' is the law Chinchilla's already"):
        bs.laws.register(Chinchilla)
    assert type(bs.Model("chinchilla").law).__module__ == "bayescale.laws.chinchilla"
    with pytest.raises(TypeError, match=r"register takes a subclass of bayescale\.laws\.Law"):
        bs.laws.register("foo")
    with pytest.raises(TypeError, match=r"A law's name is text"):
        bs.laws.get(["power"])
    with pytest.raises(ValueError, match=r"did you mean 'chinchilla'"):
        bs.laws.get("Chinchilla")


def test_custom_laws_refuse_what_would_fail_inside_the_fit():
    import jax.numpy as jnp
    import numpyro.distributions as dist

    with pytest.raises(bs.SpecificationError, match="fn returned a NoneType"):
        _custom(lambda p, x: None)
    with pytest.raises(bs.SpecificationError, match="fn returned dtype complex"):
        _custom(lambda p, x: jnp.exp(p["log_E"]) * (1 + 1j) * x["N"])
    with pytest.raises(ValueError, match="parameter name ''"):
        bs.laws.CustomLaw(lambda p, x: p[""] + 0 * x["N"], {"": dist.Normal()}, inputs="N")
    with pytest.raises(TypeError, match="params must be a dict"):
        bs.laws.CustomLaw(lambda p, x: x["N"], [("a", dist.Normal())], inputs="N")
    with pytest.raises(TypeError, match="inputs=None"):
        bs.laws.CustomLaw(lambda p, x: x["N"], {"a": dist.Normal()}, inputs=None)
    clash = _custom(
        lambda p, x: jnp.exp(p["log_E"]) + jnp.exp(p["log_A"] + p["log_A_family"]) * x["N"] ** -0.3,
        {"log_A_family": dist.Normal(0, 1)},
    )
    with pytest.raises(bs.SpecificationError, match="per level as 'log_A_family'"):
        bs.Model(clash, effects={"log_A": "family"})  # its posterior was overwritten


def test_a_custom_law_is_checked_against_the_saved_fit(runs, tmp_path):
    import jax.numpy as jnp

    law = _custom()
    sizes = runs[["params", "loss"]]  # a law of N: the tokens would be warned of, not read
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.fit(bs.Model(law, extrapolation="none"), sizes, method="psis", draws=200)
    path = post.to_netcdf(tmp_path / "custom.nc")
    assert bs.load_posterior(path, law=law).law is law
    wrong = _custom(lambda p, x: 10 * (jnp.exp(p["log_E"]) + jnp.exp(p["log_A"]) * x["N"] ** 0))
    with pytest.raises(bs.SpecificationError, match="not the function the fit was drawn with"):
        bs.load_posterior(path, law=wrong)  # same names, ten times the losses: read as the fit
    with pytest.raises(bs.SpecificationError, match=r"law= must be the bayescale\.laws\.CustomLaw"):
        bs.load_posterior(path, law=bs.laws.Chinchilla())  # reported as a damaged file
    undefined = _custom(
        lambda p, x: jnp.exp(p["log_E"]) * jnp.sqrt(1e10 - x["N"]) / 1e5 + jnp.exp(p["log_A"])
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        fit = bs.fit(bs.Model(undefined, extrapolation="none"), sizes, method="psis")
    with pytest.warns(bs.ExtrapolationWarning, match=r"in 100% of the draws at point\(s\) \[1\]"):
        fit.predict(N=[1e9, 1e11], kind="mean")  # NaN draws, which medians skipped


def test_summaries_of_other_groups_say_what_they_hold(post):
    prior = post.summary(group="prior")
    assert {"log_E", "log_alpha"} <= set(prior.index)  # the law's sites, not sigma and nu alone
    with pytest.raises(KeyError, match="E as log_E"):
        post.summary(["E"], group="prior")
    with pytest.raises(ValueError, match="holds data, not draws"):
        post.summary(group="observed_data")


def test_batched_fits_check_their_options(runs):
    from bayescale.distributed import fit_many as dask_fit_many

    class Client:  # enough of a client for the checks before any work is sent
        def submit(self, *args, **kwargs):
            raise AssertionError("nothing is sent before the checks")

        def nthreads(self):
            return {"w": 1}

    model = bs.Model(extrapolation="none")
    with pytest.raises(ValueError, match="tables is empty"):
        dask_fit_many(Client(), model, [])  # returned []
    with pytest.raises(TypeError, match="takes a list of tables, got a dict"):
        dask_fit_many(Client(), model, {"a": runs})
    with pytest.raises(TypeError, match=r"models must be a bs\.Model or a list"):
        dask_fit_many(Client(), "chinchilla", [runs])  # '10 models for 1 tables'
    with pytest.raises(bs.DataError, match="fit_many: table 1 of 2: The table is empty"):
        dask_fit_many(Client(), model, [runs, runs.iloc[:0]])
    with pytest.raises(TypeError, match=r"a connected distributed\.Client, got a NoneType"):
        dask_fit_many(None, model, [runs])
    with pytest.raises(ValueError, match="options of batched fits; pass batch_size="):
        dask_fit_many(Client(), model, [runs], refit_failed=True)
    with pytest.raises(ValueError, match="pass refit_failed=True too"):
        bs.fit_many(model, [runs], method="psis", refit_target_accept=0.5)  # ignored


def test_plots_and_records_say_why(post, runs):
    other = bs.simulate_ladder(seed=2)
    with pytest.raises(ValueError, match="df is not the table this fit was fitted to"):
        bs.plotting.plot_fan(post, 1e22, df=other)  # drawn as 'fitted runs'
    with pytest.raises(bs.SpecificationError, match=r"loss= is a str \('chinchilla'\)"):
        bs.TwoStepModel(loss="chinchilla", link=bs.Model("sigmoid_link", scale="logit"))


def test_reviewed_edges_of_the_twelfth_audit(runs):
    import numpy as np

    law = _custom()
    with_runs = runs[["params", "loss"]].assign(run=np.repeat(np.arange(5), 7).astype(str))
    offsets = np.repeat(np.random.default_rng(0).normal(0, 0.08, 5), 7)
    with_runs["loss"] = with_runs["loss"] * np.exp(offsets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.fit(bs.Model(law), with_runs, method="psis", draws=100)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:  # the run effects: refused as another law
        assert bs.load_posterior(post.to_netcdf(f"{folder}/runs.nc"), law=law).law is law
    linear = bs.Model(likelihood="normal", scale="linear")
    base = runs["loss"] - runs["loss"].min() + 0.01  # losses near 0: a new run's noise crosses it
    noisy = runs.assign(loss=base * np.exp(np.random.default_rng(0).normal(0, 0.5, len(runs))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bs.fit(linear, noisy, method="psis", draws=100)
    low = np.argsort(noisy["loss"].to_numpy())[:3]
    with warnings.catch_warnings():  # the law is defined there: no warning that it is not
        warnings.simplefilter("error", bs.ExtrapolationWarning)
        draws = fit.predict(N=runs["params"].to_numpy()[low], D=runs["tokens"].to_numpy()[low])
    assert (draws.values <= 0).mean() > 0.05
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Marker(bs.laws.SaturatingPowerLaw):
        name = "custom"

    with pytest.raises(ValueError, match="'custom' is reserved"):
        bs.laws.register(Marker)


def test_a_fit_is_not_written_under_a_tables_name(post, tmp_path):
    with pytest.raises(ValueError, match=r"name the file 'fit\.nc'"):
        post.to_netcdf(tmp_path / "fit.csv")  # netCDF under .csv, read as a table elsewhere
    assert not (tmp_path / "fit.csv").exists()


def test_a_two_step_tables_metric_is_named_as_the_links(runs):
    two = bs.TwoStepModel(
        loss=bs.Model("chinchilla"),
        link=bs.Model("sigmoid_link", scale="logit", columns={"loss": "error"}),
    )
    table = runs.assign(error=1.5)  # an error rate above 1: said to be the column's (loss)
    with pytest.raises(bs.DataError, match=r"^The link step \(its metric column 'error'"):
        two.prepare(table)
