"""The library's functions refuse what they cannot use, naming the argument and the fix.

Each case here once ended in an exception from inside pandas, numpy or JAX, or in a result
that was silently wrong (an audit of the public API, 2026-12-06).
"""

from __future__ import annotations

import re
import warnings

import jax.numpy as jnp
import law_examples
import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest

import bayescale as bs
from bayescale import arguments, calibration, pooling, record
from bayescale.calibration import Split
from bayescale.cli import main


@pytest.fixture(scope="module")
def runs():
    return bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, seed=3)


@pytest.fixture(scope="module")
def family_runs():
    return bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=4, families=3, seed=1)


@pytest.fixture(scope="module")
def family_post(family_runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        return bs.fit(bs.Model(effects={"E": "family"}), family_runs, method="psis", seed=0)


def _law(fn, **kwargs):
    priors = kwargs.pop(
        "params", {"log_E": dist.Normal(0.5, 0.5), "alpha": dist.LogNormal(-1.2, 0.5)}
    )
    return bs.laws.CustomLaw(fn=fn, params=priors, inputs=("N",), **kwargs)


def _power(p, x):
    return jnp.exp(p["log_E"]) + (x["N"] / 1e8) ** -p["alpha"]


# a law of N on a ladder whose D varies, on purpose
@pytest.mark.filterwarnings("ignore:.*the law reads N alone:bayescale.errors.DataWarning")
def test_a_custom_law_must_return_one_loss_per_row(runs):
    # (n, 1) broadcast against (n,) into a square likelihood: the fit "passed" and was wrong
    column = _law(lambda p, x: _power(p, x)[..., None])
    with pytest.raises(bs.SpecificationError, match=r"fn returned shape \(\d+, 1\)"):
        bs.fit(bs.Model(column), runs, method="psis")
    with pytest.raises(bs.SpecificationError, match="fn returned a tuple"):  # when defined
        _law(lambda p, x: (jnp.exp(p["log_E"]), p["alpha"]))
    # a law that ignores its input is a constant: broadcast, not an IndexError
    constant = _law(lambda p, x: jnp.exp(p["log_E"]) + 0 * p["alpha"])
    x = {"N": np.array([1e8, 1e9, 1e10])}
    assert constant.natural_mean({"log_E": 0.5, "alpha": 0.3}, x).shape == (3,)


def test_a_custom_law_refuses_discrete_priors_and_bad_effect_scales():
    with pytest.raises(ValueError, match="'alpha' \\(Poisson\\) is discrete"):
        _law(_power, params={"log_E": dist.Normal(0.5, 0.5), "alpha": dist.Poisson(1.0)})
    for bad in (-1.0, 0, float("nan"), True):
        with pytest.raises(ValueError, match="effect_scale="):
            _law(_power, effect_scale=bad)


def test_backtest_checks_every_row_and_every_split(runs):
    bad_test_row = runs.copy()
    bad_test_row.loc[bad_test_row.index[-1], "loss"] = -1.0  # a held-out row: was scored
    last = bad_test_row.index[-1]
    with pytest.raises(bs.DataError, match=rf"'loss' \(loss\) must lie in .* at rows \[{last}\]"):
        bs.backtest(bs.Model(), bad_test_row, method="psis")
    n = len(runs)
    cases = [
        ([], ValueError, "splits is empty"),
        ("compute", TypeError, "splits must be a Split"),
        ([(np.ones(n, bool), np.ones(n, bool))], TypeError, "holds a tuple, not a Split"),
        (Split("short", np.ones(3, bool), np.zeros(3, bool)), ValueError, "one entry per row"),
        (Split("index", np.arange(10), np.arange(10, n)), ValueError, "dtype int64"),
        (Split("all", np.ones(n, bool), np.ones(n, bool)), ValueError, f"puts {n} row\\(s\\)"),
    ]
    for splits, error, fragment in cases:
        with pytest.raises(error, match=fragment):
            bs.backtest(bs.Model(), runs, splits, method="psis")


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (
            lambda r, m: calibration.split_by_compute(r, m, train_fraction=1.5),
            ValueError,
            "train_fraction=1.5",
        ),
        (
            lambda r, m: calibration.split_by_compute(r, m, train_fraction=75),
            ValueError,
            "give 0.75",
        ),
        (
            lambda r, m: calibration.split_by_compute(r, m, train_fraction="half"),
            ValueError,
            "train_fraction='half': give a number",
        ),
        (lambda r, m: calibration.split_by_compute(r, m, cut=-1), ValueError, "cut=-1"),
        (lambda r, m: calibration.split_by_compute(r.iloc[:0], m), bs.DataError, "empty"),
        (
            lambda r, m: calibration.split_by_compute(r.assign(params=np.nan), m),
            bs.DataError,
            "'params'",
        ),
        (
            lambda r, m: calibration.split_by_size(r.drop(columns="params"), m),
            bs.DataError,
            "Missing column 'params'",
        ),
        (
            lambda r, m: calibration.split_curve_tail(r.assign(run=r.index % 3), m, fraction=0),
            ValueError,
            "fraction=0",
        ),
        (
            lambda r, m: calibration.split_curve_tail(r.assign(run=r.index % 3), m, fraction=25),
            ValueError,
            "give 0.25",
        ),
        (
            lambda r, m: calibration.split_curve_tail(r.assign(run=r.index % 3), m, order="step"),
            bs.DataError,
            "column 'step'",
        ),
        (
            lambda r, m: calibration.splits_leave_group_out(r, "nope"),
            bs.DataError,
            "no column 'nope'",
        ),
    ],
)
def test_splits_refuse_what_they_cannot_split(runs, call, error, fragment):
    with pytest.raises(error, match=fragment):
        call(runs, bs.Model())


def test_a_split_by_size_with_a_nan_size_is_refused_not_half_done(runs):
    nan_size = runs.copy()
    nan_size.loc[nan_size["params"].idxmax(), "params"] = np.nan
    with pytest.raises(bs.DataError, match="missing \\(NaN\\)"):
        calibration.split_by_size(nan_size, bs.Model())


def test_comparison_arguments_are_checked(runs):
    with pytest.raises(ValueError, match="compute=0 must be finite and > 0"):
        bs.compare.sensitivity(bs.Model(), runs, compute=0, method="psis")
    with pytest.raises(ValueError, match="give one number"):
        bs.compare.sensitivity(bs.Model(), runs, compute=[1e20, 1e24], method="psis")
    with pytest.raises(ValueError, match="variants is empty"):
        bs.compare.sensitivity(bs.Model(), runs, variants=[], method="psis")
    with pytest.raises(ValueError, match="\\(likelihood, scale\\) pairs"):
        bs.compare.sensitivity(bs.Model(), runs, variants=[("normal",)], method="psis")
    for bad in (float("nan"), -5, "two"):
        with pytest.raises(ValueError, match="se_rule="):
            bs.compare.choose_law(bs.Model(), runs, se_rule=bad)


def test_batches_take_a_list_of_tables_and_name_the_one_refused(runs):
    for call in (bs.fit_many, bs.laplace_many):
        with pytest.raises(TypeError, match="takes a list of tables, got a DataFrame"):
            call(bs.Model(), runs)
        with pytest.raises(TypeError, match="got a dict"):
            call(bs.Model(), {"a": runs})
        with pytest.raises(bs.DataError, match=r"table 1 of 2: .*'loss'"):
            call(bs.Model(), [runs, runs.assign(loss=-runs["loss"])])
    with pytest.raises(ValueError, match="maxiter=0"):
        bs.laplace_many(bs.Model(), [runs], maxiter=0)


def test_posterior_lookups_name_what_the_fit_has(family_post):
    with pytest.raises(KeyError, match="no group term 'nope' in this fit; its terms are"):
        family_post.group_labels("nope")
    with pytest.raises(KeyError, match="no parameter\\(s\\) \\['nope'\\]"):
        family_post.summary(["nope"])
    with pytest.raises(ValueError, match=r"ci_prob=90 .* give 0\.9"):
        family_post.summary(ci_prob=90)
    assert family_post.summary("E").index.tolist() == ["E"]  # one name, not its letters


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"N": True, "D": 2e10}, "N holds booleans"),
        ({"N": ["1e9"], "D": 2e10}, "N holds text"),
        ({"N": np.datetime64("2020-01-01"), "D": 2e10}, "N holds dates"),
        ({"N": 1e9 + 1j, "D": 2e10}, "N holds complex numbers"),
        ({"N": 1e9, "D": 2e10, "family": [["f0"]]}, "labels of shape \\(1, 1\\)"),
    ],
)
def test_prediction_inputs_are_numbers(family_post, values, fragment):
    with pytest.raises(bs.DataError, match=fragment):
        family_post.predict(**values)


def test_prediction_inputs_may_mix_python_and_numpy_numbers(family_post):
    assert (
        family_post.predict(N=[1e9, np.int64(2 * 10**9)], D=pd.Series([2e10, 3e10])).shape[-1] == 2
    )


def test_pooling_arguments_are_checked(family_runs, family_post):
    with pytest.raises(ValueError, match=r"prob=90 .* give 0\.9"):
        pooling.group_spread(family_post, prob=90)
    for bad in (1.5, "2", True):
        with pytest.raises(ValueError, match="k="):
            pooling.new_group_splits(
                family_runs, bs.Model(effects={"E": "family"}), "family", "f0", bad
            )
    with pytest.raises(bs.DataError, match="lacks columns \\['status'"):
        pooling.summarise_backtest(pd.DataFrame())


def test_group_labels_are_one_value_per_row(family_runs):
    listed = family_runs.assign(family=[[f] for f in family_runs["family"]])
    with pytest.raises(bs.DataError, match="'family' holds lists or other containers"):
        bs.Model(effects={"E": "family"}).prepare(listed)


def test_record_helpers_refuse_what_is_not_a_record():
    grid = (record.LOG_SCALE_GRID.size,) * 2
    with pytest.raises(ValueError, match="at least one ladder"):
        record.fit_prior([])
    with pytest.raises(ValueError, match="not on the scales' grid"):
        record.fit_prior([np.zeros((3, 3))])
    prior = bs.Model().scale_prior(bs.Model().prepare(bs.simulate_ladder()))
    with pytest.raises(ValueError, match="n=-1"):
        record.scale_draws(np.zeros(grid), prior, n=-1)
    with pytest.raises(ValueError, match="NaN or -inf everywhere"):
        record.scale_draws(np.full(grid, -np.inf), prior, n=10)
    offset, growth = record.scale_draws(np.zeros(grid), prior, n=10)
    assert offset.shape == growth.shape == (10,) and np.all(offset > 0)


def test_a_table_of_repeated_epochs_only_is_checked_without_numpy_warnings(runs):
    """Every run sees its data twice: no single-epoch rows to check the trend on, and no
    'Mean of empty slice' from the check that looked for them."""
    twice = runs.assign(unique_tokens=runs["tokens"] / 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        data = bs.Model("data_constrained").prepare(twice)
    assert len(data.loss) == len(runs)


def test_what_the_new_checks_still_accept(runs, family_post):
    """Legitimate forms each check was reviewed against."""
    # a repeated column the model does not read (after a pd.concat(axis=1)) is no concern
    extra = pd.concat([runs, runs[["seed"]]], axis=1)
    assert len(bs.Model().prepare(extra).loss) == len(runs)
    # masks of pandas' nullable "boolean" dtype
    below = (runs["flops"] < 5e19).astype("boolean")
    split = calibration._checked_splits([Split("below", below, ~below)], runs)[0]
    assert split.train.dtype == bool and int(split.test.sum()) == 5
    # summary's ArviZ forms: patterns with filter_vars, and other groups
    assert len(family_post.summary(["log_"], filter_vars="like")) >= 2
    # seeds as numpy integers and 0-d arrays, up to the API's largest
    assert arguments.seed(np.int64(3)) == 3 and arguments.seed(np.array(5)) == 5
    assert arguments.seed(arguments.MAX_SEED) == 2**62


def test_laplace_many_warns_when_a_map_did_not_converge(runs):
    with pytest.warns(bs.ConvergenceWarning, match=r"the MAP of 1 of 1 table\(s\) \(\[0\]\)"):
        result = bs.laplace_many(bs.Model(), [runs], maxiter=1)
    assert not result.tree["map"]["converged"].values.any()


# a law of N on a ladder whose D varies, on purpose
@pytest.mark.filterwarnings("ignore:.*the law reads N alone:bayescale.errors.DataWarning")
def test_a_custom_law_that_returns_nan_is_named_as_a_suspect(runs):
    nan_law = _law(lambda p, x: jnp.nan * _power(p, x))
    with pytest.raises(bs.SpecificationError, match="a CustomLaw fn\\) for NaN"):
        bs.fit(bs.Model(nan_law), runs, method="psis")


@pytest.fixture(scope="module")
def numbered_post(family_runs):
    """A fit whose group labels are integers (families 0, 1, 2), its rows indexed by dates."""
    table = family_runs.assign(family=family_runs["family"].str[1:].astype(int))
    table.index = pd.date_range("2026-01-01", periods=len(table), freq="h", tz="Europe/Paris")
    table.index.name = "finished"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        return table, bs.fit(bs.Model(effects={"E": "family"}), table, method="psis", seed=0)


def test_a_fitted_label_written_another_way_is_not_a_new_group(numbered_post):
    # a test table whose family column was read as floats used to predict families 0.0, 1.0
    # as new groups (their effects drawn from the population), silently
    _, post = numbered_post
    x = {"N": 1e9, "D": 2e10}
    for label in (1.0, "1.0", " 1", np.float32(1)):
        for new_groups in (False, True):
            with pytest.raises(bs.DataError, match=r"fitted level '1' written another way"):
                post.predict(**x, family=label, new_groups=new_groups)
    fitted = post.predict(**x, family=1, rng_seed=0)
    assert np.allclose(fitted.values, post.predict(**x, family=np.int64(1), rng_seed=0).values)

    # a label that is a number of its own is a new group where new groups are allowed
    assert post.assignment({"family": 7}, 1, new_groups=True).new_levels == {"family": 1}
    # zero-padded ids, and decimals a number column does not write, are labels of their own
    for label in ("01", "1.00", "1e0"):
        assert post.assignment({"family": label}, 1, new_groups=True).new_levels == {"family": 1}
    from bayescale.assignment import level_codes as codes

    with pytest.raises(bs.DataError, match="written another way"):
        codes("family", ["-0"], True, ["0"])
    # integers past 2**53 are compared exactly, not as floats
    big = ["9007199254740992", "9007199254740993"]
    assert codes("run", big[:1], True, big[1:])[1] == 1
    with pytest.raises(bs.DataError, match="not a level seen in the data"):
        post.predict(**x, family=7)


def test_a_label_written_another_way_is_worded_for_the_command_line(
    numbered_post, tmp_path, capsys
):
    # the command line was told to convert the column with .astype(int)
    _, post = numbered_post
    post.to_netcdf(tmp_path / "fit.nc")
    argv = ["predict", str(tmp_path / "fit.nc"), "--N", "1e9", "--D", "2e10"]
    assert main([*argv, "--group", "family=1.0"]) == 2
    err = capsys.readouterr().err
    assert "write it as the fit has it, '1' (--group family=1" in err and "astype" not in err


def test_the_fitted_table_keeps_its_row_labels(numbered_post, family_runs, tmp_path):
    # dates with a time zone, and a MultiIndex, came back as text
    table, post = numbered_post
    assert post.fitted_table().index.equals(table.index)
    assert post.fitted_table().index.name == "finished"
    assert str(post.fitted_table().index.tz) == "Europe/Paris"
    back = bs.load_posterior(post.to_netcdf(tmp_path / "fit.nc"))
    assert back.fitted_table().index.equals(table.index)
    pairs = family_runs.set_index([family_runs["family"], np.arange(len(family_runs))])
    pairs.index.names = ["family", None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        fit = bs.fit(bs.Model(), pairs, method="psis", seed=0)
    rebuilt = fit.fitted_table()
    assert isinstance(rebuilt.index, pd.MultiIndex)
    assert rebuilt.index.equals(pairs.index) and rebuilt.index.names == ["family", None]
    # repeated labels (a table concatenated from two), booleans, names that are not text
    from bayescale.treefile import index_from_json, index_to_json

    for index in (
        pd.DatetimeIndex(["2026-01-01", "2026-01-01", "2026-01-02"], name="day"),
        pd.Index([True, False, True]),
        pd.Index([3, 1, 2], name=np.int64(0)),
        pd.CategoricalIndex(["a", "b", "a"]),
    ):
        back = index_from_json(index_to_json(index))
        assert back.equals(index) and back.dtype == index.dtype and back.names == index.names
    # what the schema cannot carry is kept as text, never an error after the sampling
    assert index_from_json(index_to_json(pd.interval_range(0, 2))).tolist() == ["(0, 1]", "(1, 2]"]


def test_report_figures_are_readable(family_post):
    # one shared axis flattened E, alpha and beta to dots beside A and B in the thousands; the
    # predictive check had no axis label or legend, the LOO-PIT no x label
    names = ["E", "A", "alpha", "E_family"]
    fig = bs.plotting.plot_forest(family_post, var_names=names)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == [*names[:3], "E_family (dashed: the population's E)"]
    spans = [np.diff(ax.get_xlim())[0] for ax in fig.axes]
    assert spans[1] > 100 * spans[0] and spans[2] < 1  # each parameter on its own axis
    assert [t.get_text() for t in fig.axes[3].get_yticklabels()] == ["f0", "f1", "f2"]
    with pytest.raises(bs.SpecificationError, match="not variables of this fit's posterior"):
        bs.plotting.plot_forest(family_post, var_names=["A", "gamma"])
    ppc = bs.plotting.plot_ppc(family_post).axes[0]
    assert ppc.get_xlabel() == "loss (nats/token)"
    assert ppc.get_legend().get_texts()[0].get_text() == "observed"
    assert "LOO-PIT value" in bs.plotting.plot_loo_pit(family_post).axes[0].get_xlabel()
    # the interval's probability is the caller's; a long effect is thinned, and says so
    fig = bs.plotting.plot_forest(family_post, var_names=["E"], prob=0.8)
    assert "80 % intervals" in fig.get_suptitle()
    many = bs.simulate_ladder(budgets=(1e18, 1e19), sizes_per_budget=3, families=45, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wide = bs.fit(bs.Model(effects={"E": "family"}), many, method="psis", seed=0, draws=200)
    ax = bs.plotting.plot_forest(wide, var_names=["E_family"]).axes[0]
    title = "E_family (40 of 45 levels, evenly spread; dashed: the population's E)"
    assert ax.get_title(loc="left") == title
    assert len(ax.get_yticklabels()) == 40


def test_a_failed_check_names_the_sampled_site_behind_the_summary_name():
    # the message said "R-hat up to 1.019 (A_family[f3])" while summary() printed 1.001 for it:
    # the checks read the sampled coordinate r_a__family[f3]
    from bayescale.diagnostics import failure_message

    table = pd.DataFrame(
        {"ess_bulk": [900.0, 212.0], "ess_tail": [800.0, 700.0], "r_hat": [1.0104, 1.002]},
        index=["A_family[f3]", "B"],
    )
    table.attrs.update(
        method="nuts",
        rhat_max=1.0104,
        ess_bulk_min=212.0,
        ess_tail_min=700.0,
        divergences=0,
        max_treedepth_hits=0,
        bfmi_min=0.9,
        nu_median=8.0,
        worst_sites={"r_hat": "r_a__family[f3]", "ess_bulk": "B", "ess_tail": "A_family[f3]"},
    )
    text = failure_message(table)
    assert "R-hat up to 1.0104 (A_family[f3], sampled as r_a__family[f3]) > 1.01" in text
    assert "bulk ESS down to 212 (B) < 400" in text
    assert "summary() computes R-hat and ESS of the natural parameters" in text


@pytest.mark.filterwarnings("ignore:value_of_runs. the expected sd")  # 200 draws reweighted
def test_value_of_runs_reads_candidates_named_as_the_fitted_table(family_post):
    # a runs table's params/tokens columns were refused ("candidates needs columns N and D")
    by_input = pd.DataFrame({"N": [1e9, 3e8], "D": [2e10, 5e10]})
    by_column = by_input.rename(columns={"N": "params", "D": "tokens"})
    kw = {"target_compute": 1e21, "n_sims": 50, "max_draws": 200, "family": "f0"}
    a = bs.value_of_runs(family_post, by_input, **kw)
    b = bs.value_of_runs(family_post, by_column, **kw)
    np.testing.assert_allclose(a["sd_expected"], b["sd_expected"])
    assert list(b.columns[:2]) == ["params", "tokens"]
    with pytest.raises(ValueError, match=r"a column 'D' \(or 'tokens'"):
        bs.value_of_runs(family_post, by_column.drop(columns="tokens"), **kw)
    with pytest.raises(ValueError, match="both 'N' and 'params', and they differ"):
        bs.value_of_runs(family_post, by_column.assign(N=[1e9, 1e9]), **kw)


def test_a_preset_keeps_its_column_roles_when_another_is_mapped(tmp_path):
    """``columns=`` used to replace a preset's [columns] table whole: its loss column was lost
    and the table's ``loss`` column fitted instead, without a word."""
    preset = tmp_path / "val.toml"
    preset.write_text('[law]\nname = "chinchilla"\n[columns]\nloss = "val_loss"\n')
    model = bs.Model.from_preset(preset, columns={"params": "size"})
    assert dict(model.columns) == {"loss": "val_loss", "params": "size"}
    # a role given again replaces the preset's for that role only
    assert dict(bs.Model.from_preset(preset, columns={"loss": "ema_loss"}).columns) == {
        "loss": "ema_loss"
    }
    # columns=None is "not given" (a wrapper passing its own default through), not "none"
    assert dict(bs.Model.from_preset(preset, columns=None).columns) == {"loss": "val_loss"}
    with pytest.raises(bs.SpecificationError, match=r"columns='size': give a mapping \(a dict\)"):
        bs.Model.from_preset(preset, columns="size")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"columns": "params"}, r"columns='params': give a mapping \(a dict\)"),
        ({"priors": [1]}, r"priors=\[1\]: give a mapping \(a dict\)"),
    ],
)
def test_model_mappings_must_be_mappings(kwargs, fragment):
    with pytest.raises(bs.SpecificationError, match=fragment):
        bs.Model(**kwargs)


def test_loo_needs_enough_draws_and_says_how_to_get_them(runs, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.fit(bs.Model(), runs, chains=1, draws=20, warmup=20, progress_bar=False)
    for call, name in ((bs.loo, "loo"), (bs.loo_pit, "loo_pit")):
        with pytest.raises(ValueError, match=rf"{name} needs at least 25 posterior draws.*has 20"):
            call(post)
    with pytest.raises(ValueError, match=r"report \(its LOO-PIT\) needs at least 25"):
        bs.report(post, tmp_path / "report")
    assert not (tmp_path / "report").exists()  # refused before any file is written


def test_a_saved_fit_is_read_as_its_own_law(family_post, tmp_path):
    path = family_post.to_netcdf(tmp_path / "fit.nc")
    for law in ("power", bs.laws.get("power"), "nope"):
        with pytest.raises(bs.SpecificationError, match="holds a fit of the chinchilla law"):
            bs.load_posterior(path, law=law)
    # the same law, by name or object, is accepted
    for law in ("chinchilla", bs.laws.get("chinchilla")):
        assert bs.load_posterior(path, law=law).law.name == "chinchilla"
    with pytest.raises(TypeError, match="give the path of a saved fit"):
        bs.load_posterior(None)


def test_a_two_step_file_is_named_as_one(family_post, tmp_path):
    tree = family_post.draws_tree.copy()
    tree.attrs = {"bayescale_two_step": "{}"}
    tree.to_netcdf(tmp_path / "two_step.nc", engine="h5netcdf")
    with pytest.raises(bs.PosteriorFileError, match=r"holds a two-step fit.*from_netcdf"):
        bs.load_posterior(tmp_path / "two_step.nc")
    with pytest.raises(bs.PosteriorFileError, match="no such file"):
        bs.TwoStepPosterior.from_netcdf(tmp_path / "absent.nc")
    with pytest.raises(bs.PosteriorFileError, match="is a folder"):
        bs.TwoStepPosterior.from_netcdf(tmp_path)


def test_decisions_check_their_arguments(family_post):
    post = family_post
    for kwargs, fragment in [
        ({"n_grid": 0}, r"n_grid=0: give a whole number >= 3"),
        ({"n_grid": "x"}, r"n_grid='x'"),
        ({"span": 0}, r"span=0 must be finite and > 0"),
        ({"span": -1}, r"span=-1"),
        ({"span": 0.3}, r"lies at the edge of the allocations searched"),
        ({"target": -1.0}, r"target=-1.0 must be finite and > 0"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            bs.compute_for_target(post, **{"target": 2.7, "family": "f0", **kwargs})
    with pytest.raises(bs.DataError, match="N holds booleans"):
        bs.prob_below(post, 2.6, N=True, D=2e10, family="f0")
    with pytest.raises(bs.DataError, match="N holds text"):
        bs.prob_below(post, 2.6, N="1e9", D=2e10, family="f0")
    with pytest.raises(ValueError, match=r"target=0 must be finite and > 0"):
        bs.decision_table(post, 1e20, target=0, family="f0")
    with pytest.raises(ValueError, match=r"compute=True: give numbers"):
        bs.frontier(post, True, family="f0")
    with pytest.raises(bs.DataError, match="too large for float64"):
        post.predict(N=10**400, D=2e10, family="f0")
    # a target sure to be reached: of the allocations that tie at probability 1, the one of
    # the lowest mean loss, not the first searched
    with pytest.warns(UserWarning, match="already at c_min"):
        sure = bs.compute_for_target(post, target=3.5, c_min=1e19, family="f0")
    best = bs.best_allocation(post, float(sure["compute"]), family="f0").iloc[0]
    assert sure["prob"] == 1.0
    assert abs(np.log10(sure["N"] / best["N"])) < 0.1


def test_backtest_names_the_split_it_cannot_fit(runs):
    with pytest.raises(TypeError, match=r"backtest takes a bs\.Model first"):
        bs.backtest(None, runs)
    split = calibration.split_by_compute(runs, bs.Model(), 0.3)
    with pytest.raises(bs.DataError, match=r"Split 'compute <= .*' leaves 5 of the 15 rows to fit"):
        bs.backtest(bs.Model(), runs, split, method="psis")


def test_a_report_into_a_file_is_refused(family_post, tmp_path):
    (tmp_path / "taken.csv").write_text("x\n")
    with pytest.raises(ValueError, match="is a file; give a folder"):
        bs.report(family_post, tmp_path / "taken.csv")


# a law of N on a ladder whose D varies, on purpose
@pytest.mark.filterwarnings("ignore:.*the law reads N alone:bayescale.errors.DataWarning")
def test_compute_for_target_reads_what_the_law_reads(runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        of_c = bs.fit(bs.Model(bs.laws.SaturatingPowerLaw(x="C")), runs, method="psis", seed=0)
        of_n = bs.fit(bs.Model(bs.laws.SaturatingPowerLaw(x="N")), runs, method="psis", seed=0)
    # a law of C alone: the compute, and no allocation (the law tells none apart)
    need = bs.compute_for_target(of_c, target=float(np.median(runs["loss"])), c_min=1e17)
    assert np.isfinite(need["compute"]) and np.isnan(need["N"]) and np.isnan(need["D"])
    with pytest.raises(ValueError, match=r"needs a law of N and D .* the power law reads N"):
        bs.compute_for_target(of_n, target=2.7)
    # a flag in a list of budgets is not 1 FLOP
    with pytest.raises(ValueError, match=r"compute=\[1e\+20, True\]: give numbers"):
        arguments.budgets([1e20, True])


def test_a_sampler_option_of_another_name_is_refused_naming_ours(runs):
    """``fit(runs, num_samples=...)`` (numpyro's name) used to end in a TypeError from a
    dataclass; the option is named, and so is bayescale's."""
    with pytest.raises(ValueError, match="num_samples: bayescale names it draws="):
        bs.Model().fit(runs, num_samples=200)
    with pytest.raises(ValueError, match=r"Unknown sampler option tree_depth: the options are"):
        bs.fit_many(bs.Model(), [runs], tree_depth=12)


def test_predict_takes_its_inputs_by_name_and_flat(family_post):
    """``post.predict(points)`` put the table in ``kind`` and ended in pandas' "truth value of
    a DataFrame is ambiguous"; a 2-D grid of inputs came back flattened without a word."""
    points = pd.DataFrame({"N": [1e8, 2e8], "D": [2e9, 4e9]})
    with pytest.raises(TypeError, match=r"first argument is kind .* got a DataFrame"):
        family_post.predict(points)
    assert family_post.predict(**points, family="f1").sizes["point"] == 2  # by name: taken
    with pytest.raises(bs.DataError, match=r"shapes \{'N': \(2, 2\)\}; give scalars or flat"):
        family_post.predict(N=np.full((2, 2), 1e8), D=2e9, family="f1")
    with pytest.raises(bs.DataError, match="reads N, D, not step: drop step="):
        family_post.predict(N=1e8, D=2e9, step=100, family="f1")


def test_a_fit_without_warm_up_fails_its_checks_and_says_why(runs):
    """``warmup=0`` (accepted by the command line's --warmup) left every draw at the start,
    and the diagnostics ended in a TypeError inside ArviZ; now the fit fails its checks,
    naming the parameters that never moved and the warm-up."""
    model = bs.Model(extrapolation="none")
    with pytest.warns(bs.ConvergenceWarning) as caught:
        post = model.fit(runs, chains=1, draws=100, warmup=0)
    message = str(caught[0].message)
    assert "every draw of A, B, E, alpha, ... is the same value: the sampler never moved" in (
        message
    )
    assert "warm up longer (warmup=, --warmup; this fit's 0 iterations" in message
    table = bs.diagnose(post, warn=False)
    assert not table.attrs["ok"] and (table["ess_bulk"] == 0).all()
    assert post.summary().shape[0] == len(post.parameter_names())


def test_decision_arguments_name_what_they_are(family_post):
    """An empty candidates table asked for "a budget in FLOP", and a frontier at a training
    cost of 0 FLOP per parameter-token advised refitting with that very cost."""
    empty = pd.DataFrame({"N": [], "D": []})
    with pytest.raises(ValueError, match=r"candidates\['N'\] is empty: give at least one model"):
        bs.value_of_runs(family_post, empty, 1e22)
    with pytest.raises(ValueError, match="flops_per_param_token=0 must be a finite number > 0"):
        bs.best_allocation(family_post, 1e21, flops_per_param_token=0)


_GOOD_PRIORS = {
    "log_E": dist.Normal(0.5, 0.5),
    "log_A": dist.Normal(-1, 1),
    "alpha": dist.LogNormal(-1.2, 0.5),
}


@pytest.mark.parametrize(
    ("fn", "fragment"),
    [
        (
            lambda p, x: np.exp(p["log_E"]) + np.exp(p["log_A"]) * x["N"] ** -p["alpha"],
            "write it with jax.numpy",
        ),
        (lambda p, x: jnp.exp(p["log_E"]) + p["gamma"] * x["N"], "params['gamma'], which is"),
        (lambda p, x: jnp.exp(p["log_E"]) + x["D"], "declare the input in inputs="),
        (lambda p, x: jnp.exp(p["log_E"]) + x["params"], "write x['N'] ('params' is its column)"),
        (lambda p: p["log_E"], "fn must take two arguments, fn(params, x)"),
        (lambda p, x: x["N"] if p["alpha"] > 0 else 2 * x["N"], "write it with jnp.where"),
    ],
)
def test_a_custom_law_is_checked_where_it_is_written(fn, fragment):
    """Each of these failed only inside the fit: numpy's TracerArrayConversionError, a bare
    KeyError, an arity TypeError or a ConcretizationTypeError, none naming the law."""
    with pytest.raises(bs.SpecificationError, match=re.escape(fragment)):
        bs.laws.CustomLaw(fn=fn, params=_GOOD_PRIORS, inputs=("N",))


def test_a_custom_law_parameter_cannot_take_a_site_of_the_model():
    """A parameter named sigma failed in numpyro: 'all sites must have unique names'."""
    law = bs.laws.CustomLaw(
        fn=lambda p, x: jnp.exp(p["log_E"]) + p["nu"] * x["N"],
        params={"log_E": dist.Normal(0, 1), "nu": dist.Normal(0, 1)},
        inputs=("N",),
    )
    with pytest.raises(bs.SpecificationError, match=r"parameter\(s\) \['nu'\], a name the model"):
        bs.Model(law)


def test_value_of_runs_refuses_a_label_column_it_would_not_read(family_post):
    """A candidates column of families was shown in the result as if applied, while every
    candidate was valued for a new family (sd_now 0.131 against 0.015 for its family)."""
    candidates = pd.DataFrame({"N": [1e9, 1e9], "D": [2e10, 2e10], "family": ["f0", "f1"]})
    with pytest.raises(ValueError, match="candidates has the group column 'family'"):
        bs.value_of_runs(family_post, candidates, 1e21, n_sims=5)


def test_an_option_its_mode_does_not_use_is_refused_not_ignored(family_post):
    """extrapolation_scale=0.5 under the learned error, discrepancy_step without a
    discrepancy and quantile= with objective='mean' were accepted and changed nothing."""
    with pytest.raises(bs.SpecificationError, match="which extrapolation='learned' does not"):
        bs.Model(extrapolation_scale=0.5)
    assert bs.Model(extrapolation_scale=0.5, extrapolation="fixed").extrapolation == "fixed"
    assert bs.Model(extrapolation_scale=0).extrapolation == "none"
    with pytest.raises(bs.SpecificationError, match="pass discrepancy='random_walk' too"):
        bs.Model(discrepancy_step=0.3)
    with pytest.raises(ValueError, match="pass objective='quantile' too"):
        bs.best_allocation(family_post, 1e21, quantile=0.99)


def test_a_figure_path_is_a_file_of_a_format_matplotlib_writes(family_post, tmp_path):
    """A folder as path= wrote a hidden 'figs/.png' (or failed in matplotlib when absent)."""
    with pytest.raises(ValueError, match=r"is a folder; give a file, e\.g\. .*fit\.png"):
        bs.plotting.plot_fit(family_post, path=tmp_path)
    with pytest.raises(ValueError, match="is a folder"):
        bs.plotting.plot_fit(family_post, path=f"{tmp_path}/new/")
    with pytest.raises(ValueError, match=r"cannot write \.xyz files"):
        bs.plotting.plot_fit(family_post, path=tmp_path / "fit.xyz")
    assert not list(tmp_path.iterdir())


def test_a_preset_takes_another_law_by_name_or_as_a_law():
    """from_preset(name, law="kaplan") ended in 'string indices must be integers'."""
    model = bs.Model.from_preset("chinchilla_family", law="kaplan", priors={}, effects={})
    assert model.law.name == "kaplan"
    power = bs.Model.from_preset("chinchilla", law=bs.laws.get("power", x="D"), priors={})
    assert power.law.inputs == ("D",)
    with pytest.raises(bs.SpecificationError, match=r"with another law, give them too"):
        bs.Model.from_preset("chinchilla_family", law="kaplan")
    with pytest.raises(bs.SpecificationError, match="give a law's name"):
        bs.Model.from_preset("chinchilla", law=3)


def test_a_fit_without_a_record_returns_its_columns_without_rows(runs):
    """calibration() of a fit without a record was a DataFrame without columns: record["cut"]
    raised a KeyError where a user's script reads an empty record."""
    post = bs.fit(bs.Model(extrapolation="none"), runs, method="psis", seed=0)
    record = post.calibration()
    assert record.empty and record["cut"].tolist() == []
    assert {"distance", "loss", "median", "lower_with_error"} <= set(record.columns)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"backtest": "runs"}, ValueError, "backtest is not a backtest table"),
        ({"title": 123}, TypeError, "give the report's title as text"),
        ({"progress": True}, TypeError, "give a function of one message"),
        ({"target_compute": 1e15}, ValueError, "lies below the data"),
    ],
)
def test_report_arguments_are_checked_before_any_file(
    family_post, family_runs, tmp_path, kwargs, error, fragment
):
    """A runs table as backtest= failed on its 'split' column after the figures were written;
    title=123 and progress=True failed in the html module and at the first message; a target
    below the data was said to lie inside it."""
    kwargs = {k: family_runs if v == "runs" else v for k, v in kwargs.items()}
    with pytest.raises(error, match=fragment):
        bs.report(family_post, tmp_path / "report", **kwargs)
    assert not (tmp_path / "report").exists()


def test_figures_check_their_arguments(family_post, family_runs):
    """Each of these ended in pandas', numpy's or xarray's own error."""
    plot = bs.plotting
    with pytest.raises(ValueError, match="group='seed' is not a group column of this fit"):
        plot.plot_fit(family_post, group="seed")
    with pytest.raises(ValueError, match="prob=90"):
        plot.plot_fit(family_post, prob=90)
    with pytest.raises(ValueError, match="target_compute"):
        plot.plot_fan(family_post, target_compute=[1e21, 1e22])
    with pytest.raises(TypeError, match=r"plot_frontier takes the draws bs\.frontier returns"):
        plot.plot_frontier(family_post)
    with pytest.raises(ValueError, match="is not a backtest table"):
        plot.plot_coverage(family_runs)
    with pytest.raises(ValueError, match=r"lacks \['status', 'method', 'k', 'are_median'\]"):
        plot.plot_pooling(family_runs)
    assert len(plot.plot_forest(family_post, var_names="alpha").axes) == 1


def test_a_frontier_is_for_one_group_and_says_so(family_post):
    """A list of labels ended in numpy's 'operands could not be broadcast together'."""
    with pytest.raises(bs.DataError, match="family has 2 labels for 1 point"):
        bs.frontier(family_post, compute=[1e20, 1e21], family=["f1", "f2"])
    with pytest.raises(bs.DataError, match="call it once per label"):
        bs.best_allocation(family_post, 1e21, family=["f1", "f2"])
    assert family_post.predict(N=[1e8, 2e8], D=2e9, family=["f0", "f1"]).sizes["point"] == 2


def test_a_fit_is_saved_to_a_file_not_a_folder(family_post, tmp_path):
    """to_netcdf(folder) ended in h5py's IsADirectoryError."""
    with pytest.raises(ValueError, match=r"is a folder; give a file, e.g. .*fit\.nc"):
        family_post.to_netcdf(tmp_path)


def test_a_saved_custom_law_fit_is_read_with_its_own_law(runs, tmp_path):
    """A law lacking one of the fit's parameters was read silently (its draws dropped, the
    predictions changed), and one of other inputs failed at the first prediction."""
    three = {"log_E": dist.Normal(0.5, 0.5), "log_A": dist.Normal(-1, 1)}
    three["alpha"] = dist.LogNormal(-1.2, 0.5)
    law = bs.laws.CustomLaw(
        fn=lambda p, x: jnp.exp(p["log_E"]) + jnp.exp(p["log_A"]) * (x["N"] / 1e8) ** -p["alpha"],
        params=three,
        inputs=("N",),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.DataWarning)  # a law of N alone on an iso-FLOP ladder
        post = bs.fit(bs.Model(law, extrapolation="none"), runs, method="psis", seed=0)
    path = post.to_netcdf(tmp_path / "custom.nc")
    assert bs.load_posterior(path, law=law).law is law
    two = bs.laws.CustomLaw(
        fn=lambda p, x: jnp.exp(p["log_E"]) + (x["N"] / 1e8) ** -p["alpha"],
        params={k: three[k] for k in ("log_E", "alpha")},
        inputs=("N",),
    )
    with pytest.raises(bs.SpecificationError, match=r"draws of \['log_A'\], which the law"):
        bs.load_posterior(path, law=two)
    of_nd = bs.laws.CustomLaw(fn=law.fn, params=three, inputs=("N", "D"))
    with pytest.raises(bs.SpecificationError, match=r"a law of \['N'\]; the law given reads"):
        bs.load_posterior(path, law=of_nd)


def test_a_fit_of_checkpoints_draws_a_panel_per_run():
    """The group check of plot_fit first refused group='run', whose per-run effect is fitted."""
    rows = law_examples.checkpoint_runs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)  # the figure's draws will do
        post = bs.fit(bs.Model(extrapolation="none", run="run"), rows, method="psis")
    fig = bs.plotting.plot_fit(post, group="run")
    assert sum(ax.get_visible() for ax in fig.axes) == 6


def test_what_the_new_refusals_still_accept():
    """A review of the refusals above: a saved spec with an option its mode did not use (saved
    before they were refused) still loads, a fixed drift's model drops its error, and a custom
    law reading an input named as its column still builds (one with a vector parameter no
    longer does: it fitted, and every prediction failed on its shapes)."""
    from bayescale.saved import saved_spec

    spec = {**bs.Model().spec(), "extrapolation": "prior", "extrapolation_scale": 0.05}
    spec["discrepancy_step"] = 0.3
    assert bs.Model.from_spec(saved_spec(spec)).extrapolation == "prior"
    fixed = bs.Model(extrapolation="fixed", extrapolation_scale=0.2)
    assert fixed.without_extrapolation().extrapolation == "none"
    with pytest.raises(ValueError, match=r"the prior of 'w' has shape \(2,\)"):
        bs.laws.CustomLaw(
            fn=lambda p, x: jnp.exp(p["w"][..., 0]) + jnp.exp(p["w"][..., 1]) * x["step"] ** -0.3,
            params={"w": dist.Normal(jnp.array([0.5, 0.0]), 1.0).to_event(1)},
            inputs=("step",),
        )
    law = bs.laws.CustomLaw(
        fn=lambda p, x: jnp.exp(p["w0"]) + jnp.exp(p["w1"]) * x["step"] ** -0.3,
        params={"w0": dist.Normal(0.5, 1.0), "w1": dist.Normal(0.0, 1.0)},
        inputs=("step",),
    )
    assert law.inputs == ("step",)
    with pytest.raises(bs.SpecificationError, match=r"x\['step'\], which is not one of its"):
        bs.laws.CustomLaw(fn=law.fn, params=law.params, inputs=("N",))


def test_averaged_predict_gives_each_fit_the_inputs_its_law_reads(runs):
    """predict refuses an input its law does not read; a mixture of laws of different inputs
    passes each fit its own."""
    table = runs.assign(step=runs["tokens"] / 1e6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.DataWarning)  # a law of step alone on a ladder
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        of_nd = bs.fit(bs.Model(extrapolation="none", run=False), table, method="psis", seed=0)
        of_step = bs.fit(
            bs.Model(bs.laws.get("power", x="step"), extrapolation="none", run=False),
            table,
            method="psis",
            seed=0,
        )
    with pytest.raises(bs.DataError, match="not step"):
        of_nd.predict(N=1e9, D=2e10, step=2e4)
    # N, D and C stand in for one another for a law of both: not for a law of one input,
    # where they shaped nothing (two values of D gave the same medians)
    for extra in ({"N": 1e9}, {"D": 2e10}, {"C": 1e20}):
        with pytest.raises(bs.DataError, match=f"reads step, not {next(iter(extra))}: drop"):
            of_step.predict(step=2e4, **extra)
    mixed = bs.compare.averaged_predict(
        {"nd": of_nd, "step": of_step}, {"nd": 1.0, "step": 1.0}, N=1e9, D=2e10, step=2e4
    )
    assert mixed.sizes["point"] == 1 and np.isfinite(mixed.values).all()


@pytest.mark.filterwarnings("ignore::bayescale.errors.ConvergenceWarning")  # 300 draws
def test_draws_piled_against_a_prior_bound_are_named(runs, tmp_path, capsys):
    """``priors={"log_alpha": Uniform(0, 1)}`` on a ladder whose alpha is below 1 passed every
    check without a word: alpha sat at the bound (1.02, 90 % up to 1.07) and E moved to make up
    for it. The fit, its diagnostics, the command line's summary and the report name the site,
    its prior and the bound."""
    from bayescale.cli import main

    model = bs.Model(priors={"log_alpha": dist.Uniform(0, 1)})
    with pytest.warns(bs.PriorBoundWarning, match=r"log_alpha pile against its prior's bound 0"):
        post = model.fit(runs, chains=2, draws=300, warmup=300, seed=0, progress_bar=False)
    (site, prior, bound, share), *rest = post.diagnostics(warn=False).attrs["prior_bounds"]
    assert (site, bound, rest) == ("log_alpha", 0.0, []) and share > 0.05
    assert prior.startswith("Uniform(low=0")
    post.to_netcdf(tmp_path / "fit.nc")
    main(["summary", str(tmp_path / "fit.nc")])
    assert "WARNING: The draws of log_alpha pile against" in capsys.readouterr().err
    # a prior bound the draws stay clear of says nothing
    clear = bs.Model(priors={"log_alpha": dist.Uniform(-5, 1)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", bs.PriorBoundWarning)
        clear.fit(runs, chains=2, draws=300, warmup=300, seed=0, progress_bar=False)


def test_a_retry_asked_of_an_importance_sampled_fit_is_refused(runs):
    """``fit(method="psis", retry=True)`` (and --retry always) was ignored without a word."""
    with pytest.raises(ValueError, match="retry=True draws a failed NUTS fit again"):
        bs.fit(bs.Model(), runs, method="psis", retry=True)


def test_a_table_in_the_working_folder_given_as_a_preset_is_named_as_a_file(
    runs, tmp_path, monkeypatch
):
    """``--preset ladder.csv`` (a file in the working folder) was called an unknown preset."""
    from bayescale.presets import preset_path

    monkeypatch.chdir(tmp_path)
    runs.to_csv("ladder.csv", index=False)
    with pytest.raises(bs.SpecificationError, match=r"'ladder.csv': is a .csv file, not a preset"):
        preset_path("ladder.csv")
    with pytest.raises(bs.SpecificationError, match="Unknown preset 'nope'"):
        preset_path("nope")


def test_frontier_draws_at_the_edge_of_the_search_are_said():
    """A Farseer fit's frontier at 1e21 FLOP had 24 of 400 draws with N* exactly at the edge of
    the sizes searched (3.5 decades from sqrt(C/k)), shown as the band's edge without a word."""
    import xarray as xr

    from bayescale.frontier import SEARCH_EFOLDS, _warn_at_search_edge

    cost = bs.TrainingCost(6.0)
    c = np.array([1e20, 1e21])
    half = 0.5 * np.log(c / cost.k)
    log_n = np.broadcast_to(half, (2, 50, 2)).copy()
    ds = xr.Dataset({"N_opt": (("chain", "draw", "compute"), np.exp(log_n))}, coords={"compute": c})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_at_search_edge(ds, cost)  # every optimum inside: nothing to say
    log_n[0, :3, 1] = half[1] + SEARCH_EFOLDS
    ds["N_opt"] = (("chain", "draw", "compute"), np.exp(log_n))
    with pytest.warns(bs.ExtrapolationWarning, match=r"At C=1e\+21 FLOP, 3 of 100 draws put N\*"):
        _warn_at_search_edge(ds, cost)


def test_one_version_for_the_package_and_its_command(capsys):
    """``bayescale --version`` prints ``bs.__version__``, which is the project's own."""
    import tomllib
    from pathlib import Path

    from bayescale.cli import main

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert project["project"]["version"] == bs.__version__
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"bayescale {bs.__version__}"


def test_series_with_other_indexes_are_not_paired_by_position(family_post):
    # pandas pairs by label and predict by position: 1e9 went with 2e10, silently
    n = pd.Series([1e9, 2e9], index=[5, 3])
    with pytest.raises(bs.DataError, match="pandas Series whose indexes differ"):
        family_post.predict(N=n, D=pd.Series([2e10, 4e10], index=[3, 5]), family="f1")
    same = family_post.predict(N=n, D=pd.Series([2e10, 4e10], index=[5, 3]), family="f1")
    assert same.shape[-1] == 2


def test_a_parabola_needs_three_points_a_profile(family_post, family_runs):
    from bayescale.isoflop import isoflop_minima

    for call in (
        lambda: isoflop_minima(family_runs, min_points=1),
        lambda: bs.predicted_isoflop_minima(family_post, family_runs, min_points=2),
    ):
        with pytest.raises(ValueError, match=r"min_points=.*give a whole number >= 3"):
            call()


def test_errors_keep_their_fields_when_copied_pickled_or_prefixed():
    import copy
    import pickle

    from bayescale.errors import with_prefix

    e = bs.DataError("No loss.", column="loss", rows=[3], command_line="No --loss.")
    for twin in (copy.copy(e), copy.deepcopy(e), pickle.loads(pickle.dumps(e))):
        assert (str(twin), twin.column, twin.rows, twin.command_line) == (
            "No loss.",
            "loss",
            [3],
            "No --loss.",
        )
    named = with_prefix(e, "table 'a': ")
    assert (str(named), named.command_line, named.rows) == (
        "table 'a': No loss.",
        "table 'a': No --loss.",
        [3],
    )
    w = pickle.loads(pickle.dumps(bs.ConvergenceWarning("x", command_line="--x")))
    assert (str(w), w.command_line) == ("x", "--x")


def test_pool_prior_keeps_the_command_line_wording_of_a_tables_error(tmp_path, capsys):
    from bayescale.cli import main

    df = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=4, families=3)
    df.loc[df.index[0], "loss"] = np.nan
    df.to_csv(tmp_path / "ladders.csv", index=False)
    argv = ["pool-prior", str(tmp_path / "ladders.csv"), "--by", "family"]
    assert main([*argv, "--out", str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err
    assert "table 'f0': " in err and "fill in or delete those rows" in err and "df." not in err


# -- a sixth audit (2026-12-07): the API's decisions, comparisons and options --


@pytest.fixture(scope="module")
def plain_post(post):
    """The shared importance-sampled fit (conftest), of this module's ladder."""
    return post


def test_compute_for_target_scans_c_max_itself(plain_post):
    # the half-decade scan stepped past c_max=9e19 and answered "unreachable" (inf)
    at_max = bs.compute_for_target(plain_post, 2.7, c_max=9e19)["compute"]
    wide = bs.compute_for_target(plain_post, 2.7, c_max=1e20)["compute"]
    assert np.isfinite(at_max) and at_max == pytest.approx(wide, rel=1e-3)


def test_on_off_options_take_only_true_or_false(plain_post, runs):
    # "no" is true to Python: new_groups="no" allowed unseen labels, refit_failed="no" refitted
    with pytest.raises(ValueError, match="new_groups='no': give True or False"):
        bs.prob_below(plain_post, 2.7, N=1e9, D=2e10, new_groups="no")
    with pytest.raises(ValueError, match="refit_failed='no': give True or False"):
        bs.fit_many(bs.Model(), [runs], method="psis", refit_failed="no")
    with pytest.raises(ValueError, match="warn='no'"):
        plain_post.diagnostics(warn="no")
    with pytest.raises(ValueError, match="refit_target_accept"):
        bs.fit_many(bs.Model(), [runs], method="psis", refit_failed=True, refit_target_accept=1.5)


def test_nuts_options_are_refused_where_no_nuts_runs(runs):
    # method="psis" ignored target_accept=, max_tree_depth=, dense_mass= without a word
    with pytest.raises(ValueError, match="fit: target_accept= tunes NUTS, which method='psis'"):
        bs.fit(bs.Model(), runs, method="psis", target_accept=0.99)
    with pytest.raises(ValueError, match="max_tree_depth= and dense_mass= tune NUTS"):
        bs.fit_many(bs.Model(), [runs], method="psis", max_tree_depth=12, dense_mass=False)


def test_plot_arguments_of_the_wrong_kind_are_named(plain_post, runs):
    # minima=post: "'ScalingPosterior' object is not subscriptable"; data_compute=1e19:
    # matplotlib's "argument after * must be an iterable"; plot_coverage(post): AttributeError
    front = bs.frontier(plain_post, [1e20, 1e21])
    with pytest.raises(TypeError, match=r"minima must be the table .*isoflop_minima returns"):
        bs.plotting.plot_frontier(front, minima=plain_post)
    with pytest.raises(TypeError, match=r"data_compute=1e\+19: give .* as \(lo, hi\)"):
        bs.plotting.plot_frontier(front, data_compute=1e19)
    with pytest.raises(ValueError, match=r"data_compute=\(1e\+20, 1e\+18\): give lo <= hi"):
        bs.plotting.plot_frontier(front, data_compute=(1e20, 1e18))
    with pytest.raises(TypeError, match=r"backtest must be the table bs\.backtest returns"):
        bs.plotting.plot_coverage(plain_post)


def test_a_budget_given_twice_is_refused(plain_post):
    # the frontier's "compute" coordinate held 1e20 twice; the decision table's two rows of
    # one budget differed by the draws of their noise
    for call in (bs.frontier, bs.decision_table, bs.best_allocation):
        with pytest.raises(ValueError, match=r"compute gives 1e\+20 2 times: give each budget"):
            call(plain_post, [1e20, 1e21, 1e20])


def test_compare_names_a_reordered_table(plain_post, runs):
    # the same rows in another order were "fitted to different data (35 vs 35 rows ...)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        shuffled = bs.fit(bs.Model(), runs.sample(frac=1, random_state=0), method="psis")
    with pytest.raises(bs.DataError, match="the same losses in another row order"):
        bs.compare.compare({"a": plain_post, "b": shuffled})


def test_averaged_predict_refuses_weights_it_would_drop(plain_post, runs):
    from bayescale.compare import averaged_predict

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        normal = bs.fit(bs.Model(likelihood="normal"), runs, method="psis", seed=0)
    fits = {"t": plain_post, "normal": normal}
    x = {"N": 1e9, "D": 1e10}
    for bad, fragment in [
        ({"t": np.nan, "normal": 0.5}, r"weights\['t'\]=nan must be finite"),
        ({"t": -1, "normal": 0.5}, r"weights\['t'\]=-1 must be finite and >= 0"),
        ({"t": "0.3", "normal": 0.5}, "not text"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            averaged_predict(fits, bad, **x)
    with pytest.raises(TypeError, match="weights must be a dict"):
        averaged_predict(fits, [0.5, 0.5], **x)
    with pytest.raises(TypeError, match="posteriors must be a dict"):
        averaged_predict([plain_post], {"0": 1}, **x)
    # three equal weights used to give 3999 of 4000 draws
    three = {**fits, "again": plain_post}
    got = averaged_predict(three, dict.fromkeys(three, 1.0), n_draws=4000, **x)
    assert got.sizes["sample"] == 4000


def test_value_of_runs_reads_n_and_d_and_nothing_that_disagrees(plain_post):
    candidates = pd.DataFrame({"N": [1e9], "D": [2e10], "C": [5e30]})
    with pytest.raises(ValueError, match=r"candidates\['C'\] = 5e\+30 disagrees"):
        bs.value_of_runs(plain_post, candidates, 1e22)


def test_isoflop_bands_and_runs_are_checked(plain_post, runs):
    key = float(runs["flops"].iloc[0])
    for band, fragment in [
        ((5e9, 1e9), "give lo < hi"),
        ((np.nan, 5e9), "must be finite and > 0"),
        ((1e9,), r"give a band of N as \(lo, hi\)"),
        (1e9, r"give a band of N as \(lo, hi\)"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            bs.predicted_isoflop_minima(plain_post, runs, bands={key: band})
    with pytest.raises(TypeError, match="runs must be a table"):
        bs.predicted_isoflop_minima(plain_post, [[1e9, 2e10]])


def test_options_that_would_change_nothing_or_crash_later_are_refused(plain_post):
    with pytest.raises(ValueError, match=r"r_star=0.001 .* needs unique_tokens="):
        bs.frontier(plain_post, 1e20, r_star=0.001)
    with pytest.raises(bs.SpecificationError, match=r"columns\['loss'\]=3: give the column's"):
        bs.Model(columns={"loss": 3})
    with pytest.raises(bs.SpecificationError, match="preset=None"):
        bs.Model.from_preset(None)
    with pytest.raises(TypeError, match="ci_prob="):
        plain_post.summary(hdi_prob=0.9)
    with pytest.raises(TypeError, match=r"pass \[post\]"):
        bs.diagnostics_table(plain_post)


def test_plots_of_named_variables_take_one_name_and_refuse_a_misspelt_one(plain_post):
    from bayescale.plotting import plot_rank, plot_trace

    # a single string was split into its letters ("['l' 'p' 'h'] are not present")
    fig = plot_trace(plain_post, var_names="alpha")
    assert len(fig.axes) >= 1
    with pytest.raises(bs.SpecificationError, match=r"\['alpah'\] are not variables"):
        plot_rank(plain_post, var_names=["alpah"])


def test_best_allocation_needs_a_law_of_n_and_d(runs):
    # a law of D alone was told to widen the search (span=), which cannot help
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tokens_only = bs.fit(bs.Model.from_preset("power_tokens"), runs, method="psis", seed=0)
    with pytest.raises(ValueError, match="best_allocation needs a law of N and D"):
        bs.best_allocation(tokens_only, 1e20)
