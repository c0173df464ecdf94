"""Bad input found by the eighth and ninth audits and the items stop 63 left open: each case
ends in a clear error, a warning, or the right answer."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale import calibration
from bayescale import record as rec
from bayescale.datasets import DatasetError
from bayescale.pooling import new_group_splits


def test_psis_refuses_a_warmup_it_would_ignore(runs):
    # importance sampling runs no warm-up: warmup=500 was ignored without a word
    with pytest.raises(ValueError, match="fit: warmup= tunes NUTS, which method='psis'"):
        bs.fit(bs.Model(), runs, method="psis", warmup=500)
    with pytest.raises(ValueError, match="fit_many: warmup= tunes NUTS"):
        bs.fit_many(bs.Model(), [runs], method="psis", warmup=100)
    with warnings.catch_warnings():  # not given, it passes (the NUTS default is not psis')
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.fit(bs.Model(), runs, method="psis", draws=100, chains=2)
    assert post.settings["method"] == "psis"


def test_scale_prior_save_keeps_the_prior_it_writes(tmp_path):
    prior = rec.ScalePrior(mean=(-4.0, -3.0))
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'path'"):
        prior.save()  # wrote over the shipped prior inside the package
    with pytest.raises(ValueError, match=r"note\(s\) \['mean'\] would overwrite"):
        prior.save(tmp_path / "p.json", mean=[0, 0])  # the note replaced the prior's mean
    with pytest.raises(TypeError, match="inputs must be a ScalePrior, got dict"):
        prior.save(tmp_path / "p.json", inputs={"mean": [0, 0]})
    with pytest.raises(TypeError, match="notes must be JSON-serialisable"):
        prior.save(tmp_path / "p.json", when=object())
    assert not (tmp_path / "p.json").exists()  # nothing half-written
    path = prior.save(tmp_path / "p.json", ladders=3)
    assert json.loads(path.read_text())["ladders"] == 3
    assert rec.ScalePrior.load(path).mean == (-4.0, -3.0)


def test_a_split_that_cannot_be_fitted_names_its_own_option(runs):
    families = bs.simulate_ladder(families=3, seed=1)
    alone, _ = new_group_splits(families, bs.Model(), "family", "f0", 1)
    with pytest.raises(bs.DataError) as caught:  # named backtest's --train-fraction, --n-largest
        calibration.backtest(bs.Model(), families, [alone], method="psis")
    assert caught.value.command_line.endswith("keep more rows on the training side (a larger --k).")
    by_size = calibration.split_by_size(runs, bs.Model(), n_largest=33)
    with pytest.raises(bs.DataError) as caught:
        calibration.backtest(bs.Model(), runs, [by_size], method="psis")
    assert "(a smaller --n-largest)" in caught.value.command_line


@pytest.fixture(scope="module")
def family_post():
    df = bs.simulate_ladder(families=3, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        return bs.fit(bs.Model(effects={"E": "family"}), df, method="psis", seed=0)


@pytest.mark.parametrize("label", [None, float("nan"), ["f0", None]])
def test_a_missing_group_label_is_refused_not_read_as_text(family_post, label):
    # None was read as the label 'None': an unseen group's, with new_groups=True silently
    with pytest.raises(bs.DataError, match=r"has a missing label .*leave family out"):
        family_post.predict(N=[1e9, 2e9], D=2e10, family=label, new_groups=True)
    with pytest.raises(bs.DataError, match="missing label"):
        bs.frontier(family_post, 1e21, family=label)


def test_predicted_isoflop_minima_reads_the_runs_group_columns(family_post):
    n = np.geomspace(5e8, 8e9, 7)
    planned = pd.DataFrame({"params": n, "tokens": 1e21 / (6 * n)})
    by_column = bs.predicted_isoflop_minima(family_post, planned.assign(family="f0"))
    by_keyword = bs.predicted_isoflop_minima(family_post, planned, family="f0")
    population = bs.predicted_isoflop_minima(family_post, planned)
    cols = ["N_opt", "loss_opt", "loss_opt_lo", "loss_opt_hi"]
    # the column was ignored: the population's band, several times wider, for family f0
    np.testing.assert_allclose(by_column[cols].to_numpy(), by_keyword[cols].to_numpy())
    assert float(by_column["loss_opt_hi"].iloc[0] - by_column["loss_opt_lo"].iloc[0]) < float(
        population["loss_opt_hi"].iloc[0] - population["loss_opt_lo"].iloc[0]
    )
    with pytest.raises(ValueError, match="family is both a column of runs and a keyword"):
        bs.predicted_isoflop_minima(family_post, planned.assign(family="f0"), family="f0")
    for option in ({"kind": "mean"}, {"N": 1e9}):  # predict's "got multiple values"
        with pytest.raises(TypeError, match="predicted_isoflop_minima takes no"):
            bs.predicted_isoflop_minima(family_post, planned, **option)


def test_calibration_helpers_check_their_arguments():
    from bayescale.calibration import (
        coverage_if_calibrated,
        coverage_tail_probability,
        score_predictions,
    )

    draws = np.random.default_rng(0).normal(3.0, 0.1, size=(400, 3))
    for kwargs, fragment in [
        ({"level": 0}, "level=0 must lie strictly between 0 and 1"),  # coverage 0, silently
        ({"level": 90}, "a percentage"),
        ({"n_truths": -5}, "n_truths=-5"),  # five draws as the truths, silently
        ({"seed": -1}, "seed=-1"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            coverage_if_calibrated(draws, **kwargs)
    with pytest.raises(ValueError, match="seen=nan must be finite"):  # was a p of 0.667
        coverage_tail_probability(np.array([0.5, 1.0]), float("nan"))
    with pytest.raises(bs.DataError, match="one or more numbers"):  # was 1.0
        coverage_tail_probability(np.array([]), 0.5)
    assert coverage_tail_probability([0.5, 1.0], 1.0) == 1.0  # a list, as an array
    with pytest.raises(bs.DataError, match=r"y is not > 0 at points \[0\]"):  # negative scores
        score_predictions(draws, np.array([-3.0, 3.0, 3.1]))
    with pytest.raises(bs.DataError, match=r"a central 0\.95 interval needs at least 40"):
        score_predictions(draws[:2], np.array([3.0, 3.0, 3.1]))  # every coverage 0, p = 1
    summary, _ = score_predictions(draws[:40], np.array([3.0, 3.0, 3.1]), levels=(0.5, 0.9))
    assert 0 <= summary["coverage_0.9"] <= 1


def test_averaged_predict_leaves_out_no_fit_without_a_word(post):
    from bayescale.compare import averaged_predict

    x = {"N": 1e9, "D": 2e10}
    with pytest.raises(ValueError, match=r"fits \['b'\] without a weight"):
        averaged_predict({"a": post, "b": post}, {"a": 1.0}, **x)  # 'b' dropped silently
    with pytest.raises(ValueError, match="posteriors is empty"):
        averaged_predict({}, {"a": 1.0}, **x)
    mixed = averaged_predict({1: post, 2: post}, {"1": 0.5, "2": 0.5}, n_draws=100, **x)
    assert mixed.attrs["weights"] == {1: 0.5, 2: 0.5}  # names as compare's table writes them
    only = averaged_predict({"a": post, "b": post}, {"a": 1.0, "b": 0.0}, n_draws=100, **x)
    assert only.attrs["weights"] == {"a": 1.0}


def test_decisions_refuse_searches_that_cannot_answer(post):
    cand = pd.DataFrame({"N": [1e9], "D": [2e10]})
    with pytest.raises(ValueError, match="max_draws=1: give a whole number >= 50"):
        bs.value_of_runs(post, cand, 1e20, max_draws=1)  # sd 0, reduction NaN
    with pytest.warns(UserWarning, match="N is searched every 3 decades"):
        coarse = bs.best_allocation(post, 1e20, n_grid=3)  # the grid's centre, 3 decades out
    fine = bs.best_allocation(post, 1e20)
    assert abs(np.log10(coarse["N"].iloc[0] / fine["N"].iloc[0])) > 0.3


def test_an_empty_selection_is_refused_not_read_as_everything(post):
    import matplotlib.pyplot as plt

    for call in (
        lambda v: post.summary(v),
        lambda v: bs.plotting.plot_forest(post, var_names=v),
        lambda v: bs.plotting.plot_trace(post, var_names=v),
        lambda v: bs.plotting.plot_rank(post, var_names=v),
        lambda v: bs.plotting.plot_prior_posterior(post, var_names=v),
    ):
        with pytest.raises(ValueError, match="name at least one quantity"):
            call([])
        with pytest.raises(ValueError, match="var_names=3: give a name or a list of names"):
            call(3)
    assert post.summary("alpha").index.tolist() == ["alpha"]
    plt.close("all")


def test_training_cost_takes_numpy_numbers_and_lists():
    from decimal import Decimal

    for k in (np.int64(8), np.float32(8), Decimal("8"), 8):  # "must be a finite number > 0"
        assert bs.TrainingCost(k).k == 8.0
    assert bs.Model(flops_per_param_token=np.int64(8)).cost.k == 8.0
    np.testing.assert_allclose(bs.TrainingCost().flops([1e9, 2e9], 2e10), [1.2e20, 2.4e20])
    np.testing.assert_allclose(bs.TrainingCost().tokens([1.2e20], [1e9]), [2e10])
    for bad in (0, "8", True, float("nan"), [6]):
        with pytest.raises(ValueError, match="must be a finite number > 0"):
            bs.TrainingCost(bad)


def test_calls_refuse_what_they_would_misread(post, runs, tmp_path):
    import matplotlib.pyplot as plt

    from bayescale.cli import main

    with pytest.raises(ValueError, match="method='bma'; choose one of"):  # after every LOO
        bs.compare.compare({"a": post, "b": post}, method="bma")
    with pytest.raises(ValueError, match="pointwise='no'"):  # read as True
        bs.loo(post, pointwise="no")
    with pytest.raises(TypeError, match="plot_fit: df must be a table"):
        bs.plotting.plot_fit(post, df=runs.to_dict())
    with pytest.raises(TypeError, match="plot_pooling: table must be a table"):
        bs.plotting.plot_pooling([1])
    with pytest.raises(TypeError, match=r"list\(fits.values\(\)\)"):
        bs.diagnostics_table({"a": post})  # its keys were diagnosed
    with pytest.raises(TypeError, match="no draws to diagnose"):
        bs.diagnostics_table(bs.laplace_many(bs.Model(), [runs], draws=10))
    with pytest.raises(ValueError, match=r"prob='0\.9': give a number, not text"):
        bs.frontier_backtest(bs.Model(), runs, held_out=1, prob="0.9")
    front = bs.frontier(post, [1e20, 1e21])
    with pytest.raises(ValueError, match=r"these have dims \('draw', 'compute'\)"):
        bs.plotting.plot_frontier(front.isel(chain=0))
    for table, fragment in (
        (pd.DataFrame({"split": [], "coverage_0.9": []}), "has no rows"),  # an empty figure
        (pd.DataFrame({"split": ["a"], "coverage_abc": [0.9]}), r"'coverage_<level>' columns"),
    ):
        with pytest.raises(ValueError, match=fragment):
            bs.plotting.plot_coverage(table)
    fig = bs.plotting.plot_fan(post, 1e10)  # titled "Extrapolation to 1e+10"
    assert fig.axes[0].get_title().startswith("No extrapolation: the data already reach 1e+10")
    assert "extrapolation" not in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plt.close("all")
    families = bs.simulate_ladder(families=3, seed=1)
    families.to_csv(tmp_path / "fam.csv", index=False)
    argv = ["pooling", str(tmp_path / "fam.csv"), "--group", "family", "--effects", "E=seed"]
    assert main([*argv, "--method", "psis"]) == 2  # was: nine cases fitted, each refused, exit 3


def test_messages_say_what_was_wrong(post, tmp_path, capsys):
    from bayescale.calibration import score_predictions
    from bayescale.cli import main

    with pytest.raises(bs.DataError, match="N=: this call sets the law's inputs itself"):
        bs.best_allocation(post, 1e20, N=1e9)  # "['N'] is neither an input ... inputs ['N', 'D']"
    text = pd.DataFrame({"N": ["1e9"] * 5, "D": [2e10] * 5})
    with pytest.raises(ValueError, match=r"=\['1e9', '1e9', '1e9', \.\.\.\] \(5 values\)"):
        bs.value_of_runs(post, text, 1e20)  # the Series' repr, over lines
    twice = pd.DataFrame([[1e9, 2e9, 2e10]], columns=["N", "N", "D"])
    with pytest.raises(ValueError, match=r"column\(s\) \['N'\] twice"):  # "has shape (1, 2)"
        bs.value_of_runs(post, twice, 1e20)
    draws = np.random.default_rng(0).normal(3.0, 0.1, size=(400, 2))
    summary, _ = score_predictions(draws, np.array([3.0, 3.1]), levels=[np.float32(0.9)])
    assert "coverage_0.9" in summary  # "levels=[0.8999999761581421]: include 0.9"
    with pytest.raises(TypeError, match="prob_below needs N and D"):  # "D holds objects"
        bs.prob_below(post, 2.7, N=1e9, D=None)
    with pytest.raises(TypeError, match="decision_table takes no flops_per_param_token="):
        bs.decision_table(post, [1e20], target=2.7, flops_per_param_token=6)
    seeded = bs.decision_table(post, [1e20], rng_seed=3)  # a documented option now
    assert np.isfinite(seeded["N_opt"]).all()
    with pytest.raises(ValueError, match="fit_many: tables is empty"):
        bs.fit_many(bs.Model(), [])
    (tmp_path / "nohead.csv").write_text("1e9,2e10\n")  # "has a header but no rows"
    fit = post.to_netcdf(tmp_path / "fit.nc")
    assert main(["predict", str(fit), "--points", str(tmp_path / "nohead.csv")]) == 2
    assert "holds numbers only, so it has no header" in capsys.readouterr().err


def test_command_line_mistakes_are_one_line(capsys):
    from bayescale.cli import main

    for argv in (["predict", "x.nc", "--prob", "90"], ["fit", "--draws", "abc"], ["bogus"]):
        assert main(argv) == 2  # argparse's usage block came first
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: bayescale")
        assert "--help` shows the options" in err
    argv = ["backtest", "x.csv", "--split", "frontier", "--held-out", "2", "2"]
    assert main(argv) == 2  # read once, silently
    assert "--held-out repeats 2" in capsys.readouterr().err


def test_a_warmup_for_nuts_refits_of_importance_sampled_fits_is_taken():
    # the refits of failed fits are NUTS, and read the warm-up the psis fits do not
    from bayescale.pooling import choose_effects

    df = bs.simulate_ladder(families=3, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        choice = choose_effects(
            bs.Model(),
            df,
            "family",
            candidates={"E": {"E": "family"}},
            refit_failed=True,
            method="psis",
            warmup=600,
        )
    assert set(choice.loo.index) == {"none", "E"}
    model = bs.Model()
    with pytest.raises(ValueError, match="fit: warmup= tunes NUTS"):  # given, even at 1000
        model.fit(df, method="psis", warmup=1000)


def test_extreme_levels_are_refused_by_the_draws_they_need():
    from bayescale.calibration import score_predictions

    draws = np.random.default_rng(0).normal(3.0, 0.1, size=(400, 2))
    # was a ZeroDivisionError once the level was rounded to 1
    with pytest.raises(bs.DataError, match=r"0\.9999999 interval needs at least 2000000"):
        score_predictions(draws, np.array([3.0, 3.1]), levels=(0.9, 0.9999999))
    summary, _ = score_predictions(draws, np.array([3.0, 3.1]), levels=(0.9, 1e-7))
    assert "coverage_1e-07" in summary  # "level=0.0 must lie strictly between 0 and 1"


def test_model_options_are_read_as_given():
    from bayescale.record import ScalePrior

    for value in (0, 1):  # 0 == False, and acted as "auto" (read with `is False`)
        with pytest.raises(bs.SpecificationError, match=f"centered={value}; use True, False"):
            bs.Model(centered=value)
        with pytest.raises(bs.SpecificationError, match=f"marginal_run={value}; use True"):
            bs.Model(likelihood="normal", marginal_run=value)
    assert bs.Model(centered=np.True_).centered is True  # was not JSON-serialisable
    assert bs.Model(centered=np.True_) == bs.Model(centered=True)
    with pytest.raises(bs.SpecificationError, match="would force E above 1"):  # silently
        bs.Model(priors={"log_E": "LogNormal(0, 0.5)"})
    assert bs.Model(priors={"E": "LogNormal(0, 0.5)"}).priors["log_E"].scale == 0.5
    with pytest.raises(bs.SpecificationError, match="the key 'loss' holds a prior of kind"):
        bs.Model(extrapolation="prior", extrapolation_prior={"loss": ScalePrior(kind="inputs")})
    both = bs.Model(extrapolation_prior=[ScalePrior(), ScalePrior(kind="inputs")])
    assert set(both.extrapolation_prior) == {"loss", "inputs"}
    with pytest.raises(bs.SpecificationError, match="extrapolation='none' adds no error"):
        bs.Model(extrapolation="none", extrapolation_scale=0.1)  # ignored
    with pytest.raises(bs.SpecificationError, match="extrapolation_scale=0 turns the error off"):
        bs.Model(extrapolation_scale=0, extrapolation_prior=ScalePrior())
    with pytest.raises(bs.SpecificationError, match="run='seed' says otherwise"):
        bs.Model(columns={"run": "r"}, run="seed")  # run= won, the mapping dropped
    for prior, fragment in (
        ("Poisson(3)", "is discrete"),
        ("Distribution()", "has no support"),
        ("Delta(1.0)", "a point mass"),
    ):
        with pytest.raises(bs.SpecificationError, match=fragment):
            bs.Model(priors={"a": prior})
    with pytest.raises(ValueError, match="not a numpyro Distribution"):
        bs.laws.Chinchilla(priors={"a": "Normal(0, 1)"})  # then Model(law): AttributeError
    model = bs.Model(effects={"E": pd.Series(["family"]), "A": np.array(["family", "seed"])})
    assert [t.name for t in model.effects["a"]] == ["family", "seed"]
    for spec in ({}, {"law": "chinchilla"}, {"law": {}}, None):  # KeyError, TypeError
        with pytest.raises(bs.SpecificationError):
            bs.Model.from_spec(spec)


def test_law_options_are_checked_where_given():
    for make, fragment in (
        (lambda: bs.laws.get("data_constrained", tokens_per_param=-1), "tokens_per_param=-1"),
        (lambda: bs.laws.get("data_constrained", tokens_per_param=0), "must be finite and > 0"),
        (lambda: bs.laws.get("farseer", d_unit=0), "d_unit=0"),  # every coefficient 0
        (lambda: bs.laws.get("bnsl", n_breaks=1.5), "n_breaks=1.5"),
        (lambda: bs.laws.get("bnsl", n_breaks=True), "n_breaks=True"),  # one break
        (lambda: bs.laws.get("sigmoid_link", floor="0.25"), "not text"),
    ):
        with pytest.raises(ValueError, match=fragment):
            make()
    df = pd.DataFrame({"upstream_loss": np.linspace(2, 4, 12), "acc": np.linspace(0.8, 0.28, 12)})
    model = bs.Model(bs.laws.get("sigmoid_link", floor=0.6), scale="logit", columns={"loss": "acc"})
    with pytest.warns(bs.DataWarning, match="7 of 12 rows have a metric at or below"):
        model.prepare(df)  # fitted, bent, without a word
    lr = bs.simulate.cosine_schedule(steps=2000)
    with pytest.raises(bs.DataError, match="must hold whole numbers of optimiser steps"):
        bs.laws.add_schedule_areas(pd.DataFrame({"step": ["a", "b"]}), lr)
    with pytest.raises(bs.DataError, match=r"decay='0\.9': give a number"):
        bs.laws.add_schedule_areas(pd.DataFrame({"step": [5]}), lr, decay="0.9")


def test_tables_and_files_are_read_as_named(runs, tmp_path):
    from bayescale.cli import main
    from bayescale.isoflop import isoflop_minima, parabola_minimum, power_fit

    with pytest.raises(bs.DataError, match="run='nope' names no column"):  # "change the effects"
        bs.Model(run="nope").prepare(runs)
    with pytest.raises(DatasetError, match="has no table ''"):  # the default table
        bs.datasets.load("epoch_chinchilla", table="")
    with pytest.raises(DatasetError, match="file must be one entry of the card's files"):
        bs.datasets.fetch("epoch_chinchilla", {})  # KeyError: 'file'
    with pytest.raises(ValueError, match="both name the column 'tokens'"):
        isoflop_minima(runs, params="tokens")  # 32 profiles, none ok
    with pytest.raises(TypeError, match="cost must be a TrainingCost"):
        isoflop_minima(runs, cost=6)
    wide = runs.assign(b=1)  # one label over two decades of compute
    with pytest.warns(bs.DataWarning, match="decades of compute apart as one profile"):
        isoflop_minima(wide, budget="b")
    with pytest.raises(ValueError, match="lacks"):
        power_fit(runs)  # KeyError: 'N_opt'
    with pytest.raises(ValueError, match="same length on its last axis"):
        parabola_minimum(np.arange(4.0), np.arange(5.0))
    x = np.linspace(-1.0, 1.0, 5)
    y = np.stack([x**2, np.r_[np.nan, x[1:] ** 2]])  # a draw's overflow leaves that draw not ok
    assert parabola_minimum(x, y)["ok"].tolist() == [True, False]
    (tmp_path / "p.toml").write_text("law = 3\n")  # TypeError, exit 1
    argv = ["fit", "x.csv", "--preset", str(tmp_path / "p.toml"), "--method", "psis"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2


def test_predict_takes_the_fitted_tables_own_input_names(runs):
    renamed = runs.rename(columns={"params": "N_params"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.fit(bs.Model(columns={"params": "N_params"}), renamed, method="psis", draws=100)
    by_column = post.predict(N_params=1e9, D=2e10, kind="mean")  # "needs N (or params)"
    np.testing.assert_array_equal(by_column.values, post.predict(N=1e9, D=2e10, kind="mean"))
    with pytest.raises(ValueError, match="'N_params' and 'params' both give the input N"):
        post.predict(N_params=1e9, params=1e9, D=2e10)
    with pytest.raises(bs.SpecificationError, match="the shipped preset is named 'chinchilla'"):
        bs.Model.from_preset("chinchilla.toml")


def test_the_reviews_cases():
    import numpyro.distributions as dist

    from bayescale.saved import saved_spec

    law = bs.laws.Chinchilla(priors={"log_E": dist.LogNormal(0.0, 0.5)})
    with pytest.raises(bs.SpecificationError, match="would force E above 1"):  # via the law
        bs.Model(law)  # then neither its spec nor a pickle could be rebuilt
    assert bs.Model(bs.laws.get("m4"), priors={"log_gap": "LogNormal(2, 0.5)"})  # log(E0 - E)
    assert bs.Model(columns={"run": "r"}, run=False).run is False  # every row its own run
    assert bs.laws.get("bnsl", n_breaks=2.0).n_breaks == 2  # range(2.0) failed at the fit
    old = {**bs.Model().spec(), "centered": 1, "run": "seed", "columns": {"run": "r"}}
    rebuilt = bs.Model.from_spec(saved_spec(old))  # a fit saved before these were refused
    assert rebuilt.centered == "auto" and rebuilt.run == "seed"
    from bayescale.specification import rebuilding_saved_fit

    with rebuilding_saved_fit():  # a saved fit drawn under such a prior still loads
        assert bs.Model(priors={"log_E": "LogNormal(0, 0.5)"}).priors["log_E"]
    with pytest.raises(bs.SpecificationError, match="would force E above 1"):
        bs.Model(priors={"log_E": "LogNormal(0, 0.5)"})  # and a new model still refuses it


def test_more_of_the_ninth_audits_cases(runs, tmp_path):
    from bayescale.isoflop import isoflop_minima

    with pytest.raises(ValueError, match="give the loss its own column"):
        isoflop_minima(runs, loss="params")  # ZeroDivisionError
    with pytest.raises(TypeError, match="describe takes the data's Scale"):
        bs.Model().describe("x")  # AttributeError: 'str' object has no attribute 'loss_min'
    with pytest.raises(bs.SpecificationError, match="no parameters or no inputs"):
        bs.Model(bs.laws.Law())  # accepted until the fit
    with pytest.raises(bs.SpecificationError, match="names a column twice"):
        bs.Model(effects={"E": "family:family"})  # a term of its own, grouped as 'family'
    blocker = tmp_path / "file"
    blocker.write_text("")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.fit(bs.Model(), runs, method="psis", draws=100, chains=2)
    with pytest.raises(OSError, match="Cannot write the fit to"):
        post.to_netcdf(blocker / "fit.nc")  # a folder that is a file


def test_a_presets_column_mapping_is_named_as_the_presets(tmp_path, capsys):
    from bayescale.cli import main

    bs.simulate_ladder(seed=1).to_csv(tmp_path / "runs.csv", index=False)
    preset = tmp_path / "p.toml"
    preset.write_text('[law]\nname = "chinchilla"\n\n[columns]\nloss = "val_loss"\n')
    argv = ["fit", str(tmp_path / "runs.csv"), "--preset", str(preset), "--method", "psis"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err  # named --columns, which the user never gave
    assert "(the preset's [columns] table: loss=val_loss)" in err and "--columns" not in err


def test_tenth_audit_command_line_options_do_what_they_say(tmp_path, capsys):
    from bayescale.cli import main

    bs.simulate_ladder(families=3, seed=1).to_csv(tmp_path / "runs.csv", index=False)
    data = str(tmp_path / "runs.csv")
    fit = [data, "--method", "psis", "--draws", "200"]
    # --effects alone kept the preset's family effects, without a word: now none
    preset = ["--preset", "chinchilla_family", "--effects"]
    assert main(["fit", *fit, *preset, "--out", str(tmp_path / "a")]) in (0, 3)
    post = bs.load_posterior(tmp_path / "a" / "fit.nc")
    assert dict(post.model.effects) == {}
    capsys.readouterr()
    for extra, fragment in (
        (["--law", "power", "--flops-per-param-token", "3"], "never computes"),  # stored, unused
        (["--law", "power", "--columns", "tokens=seed"], "does not read"),
        (["--drop-highest-loss", "104"], "--drop-highest-loss 104 removed 104 rows first"),
    ):
        assert main(["fit", *fit, *extra, "--out", str(tmp_path / "b")]) == 2
        assert fragment in capsys.readouterr().err
    argv = ["pooling", data, "--group", "family", "--effects", "--method", "psis"]
    assert main(argv) == 2  # the default candidates, silently
    assert "--effects names no effect" in capsys.readouterr().err
    assert main(["fit", *fit, "--warmup", "10"]) == 2
    assert "leave it out" in capsys.readouterr().err  # "them" for one option
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a law of N alone on a ladder of N and D: said
        power = bs.Model("power").fit(bs.simulate_ladder(seed=1), method="psis", draws=100)
    with pytest.raises(ValueError, match="predict its loss at the inputs you plan"):
        bs.frontier(power, 1e21)
