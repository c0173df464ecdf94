"""Bad input found by the sixth audit: each case ends in a clear error, a warning, or the
right answer (before: labels merged, inputs paired wrongly, rows trained on silently, another
library's traceback)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bayescale as bs
from bayescale import datasets
from bayescale import record as rec
from bayescale.cli import main
from bayescale.isoflop import isoflop_minima, profiles


def test_labels_that_pandas_would_merge_are_read_as_written(tmp_path, capsys):
    # '01' and '1' were read as the integer 1: three families fitted as two
    df = bs.simulate_ladder(families=3, seed=1)
    df["family"] = df["family"].map({"f0": "01", "f1": "1", "f2": "2"})
    df["seed"] = 1  # whole numbers that merge nothing stay numbers
    path = tmp_path / "labels.csv"
    df.to_csv(path, index=False)
    from bayescale.cli.files import read_runs

    read = read_runs(path)
    assert "read as text, as written" in capsys.readouterr().err
    assert sorted(read["family"].unique()) == ["01", "1", "2"]
    assert pd.api.types.is_integer_dtype(read["seed"])
    labels = bs.Model(effects={"E": "family"}).prepare(read).groups["family"].labels
    assert len(labels) == 3


def test_predict_refuses_xarray_inputs_it_would_pair_by_position(post):
    n = xr.DataArray([1e8, 1e9], dims="a", coords={"a": [0, 1]})
    d = xr.DataArray([2e10, 2e9], dims="a", coords={"a": [1, 0]})
    with pytest.raises(bs.DataError, match="xarray DataArrays whose dims or coordinates differ"):
        post.predict(N=n, D=d)
    with pytest.raises(bs.DataError, match="dims or coordinates differ"):
        post.predict(N=xr.DataArray([1e8, 1e9], dims="a"), D=xr.DataArray([2e10, 2e9], dims="b"))
    aligned = post.predict(N=n, D=d.sortby("a"), kind="mean")
    by_array = post.predict(N=[1e8, 1e9], D=[2e9, 2e10], kind="mean")
    np.testing.assert_allclose(aligned.values, by_array.values)


def test_iso_flop_profiles_refuse_rows_they_would_drop(runs):
    for value, fragment in [(np.nan, "missing"), (-1.0, "must be > 0"), (np.inf, "infinite")]:
        bad = runs.copy()
        bad.loc[3, "params"] = value
        with pytest.raises(bs.DataError, match=rf"'params' \(params\) (has 1 )?{fragment}"):
            isoflop_minima(bad)
    bad = runs.copy()
    bad.loc[3, "loss"] = 0.0
    with pytest.raises(bs.DataError, match=r"rows \[3\]"):
        isoflop_minima(bad)
    with pytest.raises(bs.DataError, match="numbers stored as"):
        isoflop_minima(runs.assign(loss=runs["loss"].astype(str)))
    labelled = runs.assign(b=np.round(np.log10(6 * runs["params"] * runs["tokens"]), 1))
    labelled.loc[30, "b"] = np.nan
    # frontier_backtest fitted such rows as training runs, past its own cut
    with pytest.raises(bs.DataError, match=r"'b' \(budget\) has no profile label .* rows \[30\]"):
        profiles(labelled, budget="b")
    with pytest.raises(bs.DataError, match="no profile label"):
        bs.frontier_backtest(bs.Model(), labelled, held_out=1, budget="b", method="psis")
    with pytest.raises(bs.DataError, match="has no rows"):
        isoflop_minima(runs.iloc[:0])
    with pytest.raises(TypeError, match="takes a table of runs"):
        isoflop_minima(runs.to_dict("list"))


def test_a_prior_file_named_but_missing_or_malformed_is_an_error(tmp_path, monkeypatch):
    # a typo in the variable fitted under the weak default prior, without a word
    monkeypatch.setenv(rec.PRIOR_ENV, str(tmp_path / "typo.json"))
    with pytest.raises(FileNotFoundError, match=r"\$BAYESCALE_EXTRAPOLATION_PRIOR names .*unset"):
        rec.ScalePrior.load()
    with pytest.raises(FileNotFoundError, match="path= names"):
        rec.ScalePrior.load(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"mean": "x"')
    monkeypatch.setenv(rec.PRIOR_ENV, str(bad))
    with pytest.raises(bs.SpecificationError, match="not a prior file"):
        rec.ScalePrior.load()
    loss_only = rec.ScalePrior().save(tmp_path / "loss.json")
    monkeypatch.setenv(rec.PRIOR_ENV, str(loss_only))
    with pytest.warns(UserWarning, match="holds no prior of the kind 'inputs'"):
        assert rec.ScalePrior.load(kind="inputs") == rec.ScalePrior(kind="inputs")
    monkeypatch.delenv(rec.PRIOR_ENV)
    assert rec.ScalePrior.load(kind="inputs").fitted_on  # the shipped prior, fitted on ladders


def test_command_line_refuses_a_role_mapped_twice(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    bs.simulate_ladder(seed=1).to_csv(path, index=False)
    argv = ["fit", str(path), "--columns", "loss=loss", "loss=flops", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "--columns gives the role 'loss' twice (loss=loss and loss=flops)" in (
        capsys.readouterr().err
    )


def test_choose_effects_keeps_its_baseline_and_checks_its_arguments():
    df = bs.simulate_ladder(families=3, seed=1)
    one = {"A": {"A": "family"}}
    with pytest.raises(bs.SpecificationError, match="holds 'none', the name of the baseline"):
        bs.pooling.choose_effects(bs.Model(), df, "family", candidates={"none": {"A": "family"}})
    with pytest.raises(bs.SpecificationError, match="candidates is empty"):
        bs.pooling.choose_effects(bs.Model(), df, "family", candidates={})
    with pytest.raises(TypeError, match="candidates must be a dict"):
        bs.pooling.choose_effects(bs.Model(), df, "family", candidates=[one])
    with pytest.raises(ValueError, match="seed='a'"):
        bs.pooling.choose_effects(bs.Model(), df, "family", candidates=one, seed="a")
    with pytest.raises(ValueError, match="draws=None"):
        bs.pooling.choose_effects(bs.Model(), df, "family", candidates=one, draws=None)


def test_sbc_takes_its_documented_placeholder_and_checks_its_arguments():
    design = bs.simulate.typical_design("chinchilla").assign(loss=3.0)
    model = bs.Model(run=False)
    for options, fragment in [
        ({"thin": 0}, "thin=0: give a whole number >= 1"),
        ({"thin": 1.5}, "thin=1.5"),
        ({"n_bins": 0}, "n_bins=0"),
        ({"n_sims": 1}, "n_sims=1: give a whole number >= 2"),
        ({"n_sims": "3"}, "n_sims='3'"),
        ({"thin": 100}, "one draw to rank against"),
        ({"n_bins": 50}, "more bins than the 6 ranks"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            bs.sbc(model, design, **{"n_sims": 4, "draws": 20, "warmup": 20, **options})
    with pytest.raises(TypeError, match="sbc takes a design table"):
        bs.sbc(model, design.to_dict("list"))
    # the docstring's recipe: a constant placeholder loss (refused as "nothing to fit" before)
    table = bs.sbc(model, design, n_sims=4, draws=20, warmup=20, thin=2, n_bins=2)
    assert table.attrs["max_rank"] == 10
    assert set(table["parameter"]) >= {"log_E", "log_alpha"}


def test_simulation_helpers_refuse_what_they_cannot_simulate():
    with pytest.raises(ValueError, match="'nope' has no typical design"):
        bs.simulate.typical_design("nope")
    assert bs.simulate.typical_design("sigmoid_link").columns.tolist() == ["upstream_loss"]
    with pytest.raises(ValueError, match="steps=0"):
        bs.simulate.cosine_schedule(steps=0)
    with pytest.raises(ValueError, match="peak=-1"):
        bs.simulate.cosine_schedule(peak=-1)
    with pytest.raises(ValueError, match="warmup=100 is not below steps=10"):
        bs.simulate.cosine_schedule(steps=10, warmup=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero
        lr = bs.simulate.cosine_schedule(steps=10, warmup=0, peak=1.0)
    assert lr[0] == pytest.approx(1.0, rel=0.05) and lr[-1] == pytest.approx(0.1)


def test_complex_inputs_are_refused_not_cut_to_their_real_part(runs):
    with pytest.raises(bs.DataError, match=r"'params' \(params\) holds complex numbers"):
        bs.Model().prepare(runs.assign(params=runs["params"] + 1j))


def test_dataset_cache_and_mirror_problems_are_named(tmp_path, monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    monkeypatch.delenv(datasets.MIRROR_ENV, raising=False)
    monkeypatch.setenv(datasets.CACHE_ENV, str(a_file))
    with pytest.raises(datasets.DatasetError, match=r"Cannot write .* into BAYESCALE_CACHE_DIR="):
        datasets.load("epoch_chinchilla")
    monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(datasets.MIRROR_ENV, str(a_file))
    with pytest.raises(datasets.DatasetError, match="it is a file, not a folder"):
        datasets.load("epoch_chinchilla")
    mirror = tmp_path / "mirror" / "epoch_chinchilla"
    mirror.mkdir(parents=True)
    (mirror / "svg_extracted_data.csv").write_text("params,tokens,loss\n1,2,3\n")
    monkeypatch.setenv(datasets.MIRROR_ENV, str(tmp_path / "mirror"))
    with pytest.raises(datasets.DatasetError, match="Copy epoch_chinchilla/svg_extracted_data"):
        datasets.load("epoch_chinchilla")


def test_a_fit_saved_to_a_home_path_loads_from_it(post, tmp_path, monkeypatch):
    # '~/x.nc' was written under the home folder and returned as '~/x.nc', which
    # load_posterior then could not find
    monkeypatch.setenv("HOME", str(tmp_path))
    path = post.to_netcdf("~/fits/x.nc")
    assert path == tmp_path / "fits" / "x.nc" and path.is_file()
    assert type(bs.load_posterior("~/fits/x.nc")).__name__ == "ScalingPosterior"
    with pytest.raises(TypeError, match="path=3: give the path of a file"):
        post.to_netcdf(3)


def test_a_custom_laws_inputs_and_name_are_checked():
    import numpyro.distributions as dist

    from bayescale.laws import CustomLaw

    def fn(p, x):
        return p["E"] + 0 * x["step"]

    prior = {"E": dist.LogNormal(0.0, 1.0)}
    assert CustomLaw(fn, prior, inputs="step").inputs == ("step",)  # was 's', 't', 'e', 'p'
    with pytest.raises(ValueError, match=r"inputs=\(\): name the inputs"):
        CustomLaw(fn, prior, inputs=())
    with pytest.raises(ValueError, match=r"names \['step'\] twice"):
        CustomLaw(fn, prior, inputs=("step", "step"))
    with pytest.raises(TypeError, match="law_name=3"):
        CustomLaw(fn, prior, inputs="step", law_name=3)


def test_predict_without_an_input_is_worded_for_each_caller(post, tmp_path, capsys):
    with pytest.raises(bs.DataError, match=r"predict needs N \(or params\), D \(or tokens\)"):
        post.predict(C=1e20)
    path = post.to_netcdf(tmp_path / "fit.nc")
    assert main(["predict", str(path), "--C", "1e20"]) == 2
    assert "predict needs --N, --D for the chinchilla law" in capsys.readouterr().err


def test_pool_prior_refuses_too_few_ladders_before_any_record(tmp_path, capsys):
    path = tmp_path / "two.csv"
    bs.simulate_ladder(families=2, seed=1).to_csv(path, index=False)
    assert main(["pool-prior", str(path), "--by", "family", "--out", str(tmp_path / "p.json")]) == 2
    captured = capsys.readouterr()
    assert "into 2 table(s); a prior across ladders needs at least 3" in captured.err
    assert "Records of" not in captured.out


def test_nuts_options_pass_where_nuts_reads_them(runs):
    # at its default an option changes nothing; the refits of failed fits are NUTS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        bs.fit(bs.Model(), runs, method="psis", target_accept=0.95, draws=100, chains=2)
        bs.fit_many(
            bs.Model(), [runs], method="psis", refit_failed=True, max_tree_depth=12, draws=100
        )
    with pytest.raises(ValueError, match="target_accept= tunes NUTS"):  # refit_target_accept's
        bs.fit_many(bs.Model(), [runs], method="psis", refit_failed=True, target_accept=0.99)
    df = bs.simulate_ladder(families=3, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        choice = bs.pooling.choose_effects(
            bs.Model(),
            df,
            "family",
            candidates={"E": {"E": "family"}},
            method="psis",
            target_accept=0.99,
            draws=200,
        )
    assert set(choice.loo.index) == {"none", "E"}


def test_a_scalar_data_array_broadcasts_in_predict(post):
    d = xr.DataArray([1e10, 2e10], dims="x")
    scalar = post.predict(N=xr.DataArray(1e9), D=d, kind="mean")
    plain = post.predict(N=1e9, D=[1e10, 2e10], kind="mean")
    np.testing.assert_allclose(scalar.values, plain.values)


def test_a_numeric_role_column_written_with_a_leading_zero_stays_numbers(tmp_path, capsys):
    from bayescale.cli.files import read_runs

    df = bs.simulate_ladder(seed=1)
    df["tokens"] = df["tokens"].round().astype("int64")
    df.loc[1, "tokens"] = df.loc[0, "tokens"]  # one value twice, written two ways below
    text = df.to_csv(index=False).splitlines()
    column = text[0].split(",").index("tokens")
    cells = text[1].split(",")
    cells[column] = "0" + cells[column]
    text[1] = ",".join(cells)
    path = tmp_path / "tokens.csv"
    path.write_text("\n".join(text) + "\n")
    read = read_runs(path)
    assert pd.api.types.is_integer_dtype(read["tokens"]) and "as written" not in (
        capsys.readouterr().err
    )
    renamed = tmp_path / "size.csv"
    renamed.write_text(path.read_text().replace("tokens", "size", 1))
    assert pd.api.types.is_integer_dtype(read_runs(renamed, ["size"])["size"])
    assert read_runs(renamed)["size"].dtype.kind not in "iuf"  # not a role: labels as written


def test_a_prior_file_with_a_byte_order_mark_reads(tmp_path):
    path = rec.ScalePrior().save(tmp_path / "p.json")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert rec.ScalePrior.load(path) == rec.ScalePrior()


def test_a_bad_prior_variable_is_refused_before_any_sampling(runs, tmp_path, monkeypatch):
    monkeypatch.setenv(rec.PRIOR_ENV, str(tmp_path / "typo.json"))
    with pytest.raises(FileNotFoundError, match="BAYESCALE_EXTRAPOLATION_PRIOR"):
        bs.Model().prepare(runs)  # the fit's first step, before the MAP


# -- a seventh audit (2026-12-07): summaries, group labels, splits, datasets --


@pytest.fixture(scope="module")
def interaction_post():
    df = bs.simulate_ladder(families=3, seeds=2, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        model = bs.Model(effects={"E": ["family", "family:seed"]})
        return bs.fit(model, df, method="psis", seed=0)


def test_summary_rounds_an_importance_sampled_fit_after_its_correction(post):
    plain = post.summary(["E", "alpha"])
    rounded = post.summary(["E", "alpha"], round_to=4)
    # ArviZ rounded the MCSE first, and the correction scaled the rounded value (0.0146 -> 0)
    np.testing.assert_allclose(rounded["mcse_mean"], plain["mcse_mean"].round(4), atol=1e-12)
    assert plain["r_hat"].isna().all()  # one resample, not chains: no R-hat to show
    with pytest.raises(KeyError, match="group='bogus' is not a group of this fit"):
        post.summary(group="bogus")
    assert "sigma" in post.summary(group="prior").index


def test_a_label_of_an_interaction_alone_is_refused(interaction_post):
    # seed=99 without family was ignored: the population's frontier, "for seed 99"
    with pytest.raises(bs.DataError, match=r"seed=99 labels this model's effects only together"):
        bs.frontier(interaction_post, 1e21, seed=99)
    with pytest.raises(bs.DataError, match="give family= too"):
        bs.prob_below(interaction_post, 2.5, N=1e9, D=2e10, seed=99)


def test_the_frontier_refuses_a_run_label(post):
    # this fit has no per-run offset for the label to pick (a fit that has one: test_audit12)
    with pytest.raises(ValueError, match="run= was given but this model has no per-run effect"):
        bs.frontier(post, 1e21, run="r0")


def test_splits_name_the_columns_a_law_of_one_input_lacks(runs):
    table = runs[["params", "loss"]]
    model = bs.Model("power", run=False)
    with pytest.raises(bs.DataError, match=r"lacks \['tokens'\] .*--split size"):
        bs.calibration.split_by_compute(table, model)
    tokens_only = runs[["tokens", "loss"]]
    with pytest.raises(bs.DataError, match=r"A split by model size .* lacks \['params'\]"):
        bs.calibration.split_by_size(tokens_only, bs.Model.from_preset("power_tokens"))
    with pytest.raises(ValueError, match="both place the cut; give one"):
        bs.calibration.split_by_compute(runs, bs.Model(), train_fraction=0.5, cut=3e18)


def test_a_backtest_refuses_a_one_sided_split_before_fitting_any(runs):
    good = bs.calibration.split_by_compute(runs, bs.Model())
    empty = bs.calibration.Split(
        "none held out", np.ones(len(runs), bool), np.zeros(len(runs), bool)
    )
    # method="bogus" would fail the first fit: the one-sided split is refused before it
    with pytest.raises(bs.DataError, match="'none held out' leaves no test rows"):
        bs.backtest(bs.Model(), runs, [good, empty], method="bogus")
    with pytest.raises(ValueError, match="gives a level twice"):
        bs.backtest(bs.Model(), runs, good, levels=[0.9, 0.9])


def test_one_checkpoint_per_run_is_said_so(runs):
    with pytest.raises(bs.DataError, match="gives every row a run of its own"):
        bs.Model().prepare(runs.assign(step=1))


def test_dataset_names_and_tables_are_names(monkeypatch):
    with pytest.raises(datasets.DatasetError, match=r"Unknown dataset '\.\./models/chinchilla"):
        datasets.card("../models/chinchilla_family")
    with pytest.raises(datasets.DatasetError, match=r"has no table \['runs'\]"):
        datasets.load("epoch_chinchilla", ["runs"])


def test_report_wording_fits_the_law_and_the_level():
    from bayescale.report import _check_target, _levels_text

    assert _levels_text(0.5) == "50 %" and _levels_text(0.9) == "50 % and 90 %"
    data = pd.Series([1e7, 1e9])
    with pytest.raises(ValueError, match=r"the fan looks past it") as caught:
        _check_target(1e8, data, "N", falling=False)  # a law of N alone: no decision table
    assert "decision table" not in str(caught.value)
    with pytest.raises(ValueError, match="the fan and the decision table look past it"):
        _check_target(1e8, data, "C", falling=False)
