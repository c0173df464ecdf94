"""Bad input left open by the fifteenth audit (iso-FLOP tables, plot_fit's table, compare's
names and data, simulated seeds, the command line's wordings) and found by the sixteenth
(custom laws' priors and names, presets, a first prediction interrupted) and the seventeenth
(laws beyond N and D, run labels, model choice, reports of importance-sampled fits, saved
files): each case ends in a clear error, a warning, or the right answer."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import law_examples
import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest

import bayescale as bs
from bayescale.calibration import coverage_if_calibrated
from bayescale.cli import main
from bayescale.compare import choose_from_loo, with_law
from bayescale.errors import DataWarning, SpecificationError
from bayescale.isoflop import isoflop_minima
from bayescale.laws.custom import CustomLaw
from bayescale.simulate import chinchilla_loss


@pytest.fixture(scope="module")
def power_post(runs):
    """A fit of a law of N alone (no allocation of a budget to choose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bs.fit(bs.Model("power"), runs, method="psis", seed=0)


def test_an_iso_flop_table_with_repeated_rows_is_warned(runs):
    # each copy entered its profile's parabola as another run, without a word
    with pytest.warns(DataWarning, match=r"7 row\(s\) repeat an earlier row exactly"):
        isoflop_minima(pd.concat([runs, runs.iloc[:7]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        isoflop_minima(runs)  # no repeats: no warning


def test_the_frontier_of_a_law_without_an_allocation_is_worded_for_its_caller(
    power_post, tmp_path, capsys
):
    # the command line was told to call post.predict
    with pytest.raises(SpecificationError, match=r"\(post\.predict\).*law='chinchilla'"):
        bs.frontier(power_post, 1e21)
    path = tmp_path / "power.nc"
    power_post.to_netcdf(path)
    assert main(["frontier", str(path), "--compute", "1e21"]) == 2
    err = capsys.readouterr().err
    assert "(`bayescale predict`)" in err and "(--law chinchilla)" in err
    assert "post.predict" not in err and "law='" not in err


def test_the_frontier_prints_budgets_that_differ_apart(post, tmp_path, capsys):
    # 1e21 and 1.00001e21 printed as two rows of '1e+21'
    path = tmp_path / "fit.nc"
    post.to_netcdf(path)
    assert main(["frontier", str(path), "--compute", "1e21", "1.00001e21"]) == 0
    lines = capsys.readouterr().out.splitlines()[2:4]
    assert [line.split()[0] for line in lines] == ["1e+21", "1.00001e+21"]


def test_a_frontier_backtest_holding_out_too_many_profiles_names_its_option(runs, tmp_path, capsys):
    # the command line was told held_out=4
    with pytest.raises(bs.DataError, match=r"held_out=4 leaves 1 profile"):
        bs.frontier_backtest(bs.Model(), runs, held_out=4, method="psis")
    table = tmp_path / "runs.csv"
    runs.to_csv(table, index=False)
    argv = ["backtest", str(table), "--split", "frontier", "--held-out", "4"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--held-out 4 leaves 1 profile" in err and "held_out=" not in err


def test_datasets_alone_lists_them(capsys):
    # it asked for an action the help calls 'list or describe'
    assert main(["datasets"]) == 0
    assert "epoch_chinchilla" in capsys.readouterr().out


def test_a_group_of_one_level_names_the_option_that_asked_for_it(runs, tmp_path, capsys):
    one = runs.assign(family="f0")
    with pytest.raises(bs.DataError, match=r"Remove 'family' from effects"):
        bs.Model(effects={"E": "family"}).prepare(one)
    table = tmp_path / "one.csv"
    one.to_csv(table, index=False)
    assert main(["fit", str(table), "--effects", "E=family", "--method", "psis"]) == 2
    err = capsys.readouterr().err
    assert "Drop every PARAM=family from --effects" in err and "from effects," not in err


def test_compare_says_how_the_fits_data_differ_and_refuses_names_alike_as_text(runs, post):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fewer = bs.fit(bs.Model(), runs.iloc[1:], method="psis", seed=0)
        other = bs.fit(bs.Model(), runs.assign(loss=runs["loss"] * 1.01), method="psis", seed=0)
    with pytest.raises(bs.DataError, match=r"\(35 rows against 34\)"):
        bs.compare.compare({"all": post, "fewer": fewer})
    with pytest.raises(bs.DataError, match=r"\(35 rows each, with different losses\)"):
        bs.compare.compare({"all": post, "other": other})
    # 1 and '1' became one row of the table, and one weight in averaged_predict
    with pytest.raises(ValueError, match=r"the fits 1 and '1' read the same as text"):
        bs.compare.compare({1: post, "1": other})
    with pytest.raises(ValueError, match=r"averaged_predict: the fits 1 and '1'"):
        bs.compare.averaged_predict({1: post, "1": other}, {1: 0.5, "1": 0.5}, N=1e9, D=1e11)


def test_plot_fit_names_each_group_column_once():
    ladder = bs.simulate_ladder(families=3, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fam = bs.fit(bs.Model(effects={"E": "family", "A": "family"}), ladder, method="psis")
    with pytest.raises(ValueError, match=r"whose effects read \['family'\]:"):
        bs.plotting.plot_fit(fam, group="seed")


def test_a_simulated_seed_records_its_own_truth():
    # with seed_sd > 0 the single seed's A was not the recorded family's A
    ladder = bs.simulate_ladder(seeds=1, seed_sd=0.3, noise_sd=0.0, seed=3)
    family, seed = ladder.attrs["truth"]["f0"], ladder.attrs["seed_truth"]["f0"]["0"]
    assert seed["A"] != family["A"]
    law = chinchilla_loss(seed, ladder["params"].to_numpy(), ladder["tokens"].to_numpy())
    np.testing.assert_allclose(ladder["loss"], law)
    assert not np.allclose(
        ladder["loss"], chinchilla_loss(family, ladder["params"], ladder["tokens"])
    )


# -- the sixteenth audit: custom laws, presets, a first prediction interrupted ---------------


def _custom_fn(p, x):
    return jnp.exp(p["log_E"]) + jnp.exp(p["log_A"]) * (x["N"] / 1e8) ** -p["alpha"]


PRIORS = {
    "log_E": dist.Normal(0.5, 0.5),
    "log_A": dist.Normal(-1, 1),
    "alpha": dist.LogNormal(-1.2, 0.5),
}


def test_an_interrupted_first_prediction_is_learned_again(runs):
    # the learned error's scales were dropped before they were computed: every later predict
    # and to_netcdf failed with KeyError 'extrap_offset'
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fresh = bs.fit(bs.Model(), runs, method="psis", seed=0)
    learn, calls = fresh._pending_scales, []

    def interrupted_once():
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return learn()

    fresh._pending_scales = interrupted_once
    with pytest.raises(KeyboardInterrupt):
        fresh.predict(N=1e9, D=2e10)
    assert np.isfinite(fresh.predict(N=1e9, D=2e10).values).all() and len(calls) == 2


def test_a_custom_law_refuses_priors_it_cannot_predict_with():
    # a vector prior fitted, then broke every prediction (shapes); an improper one raised a
    # bare NotImplementedError at the first prediction
    vector = {**PRIORS, "log_A": dist.Normal(jnp.zeros(2), 1.0)}
    with pytest.raises(ValueError, match=r"prior of 'log_A' has shape \(2,\); give one scalar"):
        CustomLaw(_custom_fn, vector, inputs="N")
    improper = {**PRIORS, "log_E": dist.ImproperUniform(dist.constraints.real, (), ())}
    with pytest.raises(ValueError, match=r"prior of 'log_E' \(ImproperUniform\) cannot be"):
        CustomLaw(_custom_fn, improper, inputs="N")


def test_a_custom_law_is_not_named_as_a_built_in_one_and_names_what_it_lacks():
    with pytest.raises(ValueError, match=r"law_name='chinchilla' is a built-in law's name"):
        CustomLaw(_custom_fn, PRIORS, inputs="N", law_name="chinchilla")
    law = CustomLaw(_custom_fn, PRIORS, inputs="N", law_name="mine")
    # a bare KeyError 'alpha' / 'N'
    with pytest.raises(SpecificationError, match=r"natural lacks \['alpha'\]"):
        law.natural_mean({"log_E": 0.5, "log_A": 0.0}, {"N": np.array([1e8])})
    with pytest.raises(SpecificationError, match=r"x lacks \['N'\]; the law's inputs are"):
        law.natural_mean({"log_E": 0.5, "log_A": 0.0, "alpha": 0.3}, {"D": np.array([1e8])})


def test_a_preset_naming_a_custom_law_or_an_unknown_role_says_so_where_it_is_read(
    runs, tmp_path, capsys
):
    custom = tmp_path / "custom.toml"
    custom.write_text('[law]\nname = "custom"\n')
    with pytest.raises(SpecificationError, match=r"law=CustomLaw\(\.\.\.\)"):
        bs.Model.from_preset(custom)
    table = tmp_path / "runs.csv"
    runs.to_csv(table, index=False)
    assert main(["fit", str(table), "--preset", str(custom)]) == 2
    err = capsys.readouterr().err  # was "cannot be saved as text: pass law="
    assert "name a registered law" in err and "law=" not in err and "saved" not in err
    role = tmp_path / "role.toml"
    role.write_text('[law]\nname = "chinchilla"\n[columns]\nfamily = "seed"\n')
    # accepted, then refused at the fit without naming the preset
    with pytest.raises(
        SpecificationError, match=r"role\.toml'.*unknown column role\(s\) \['family'\]"
    ):
        bs.Model.from_preset(role)
    assert main(["fit", str(table), "--preset", str(role)]) == 2
    err = capsys.readouterr().err
    assert "role.toml" in err and "(--columns, or a preset's [columns])" in err


# -- the seventeenth audit: laws beyond N and D, runs, model choice, reports, saved files -----


@pytest.fixture(scope="module")
def dc_post():
    """A fit of the data-constrained law (inputs N, D and the unique tokens U)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = law_examples.simulate("data_constrained")
        return bs.fit(bs.Model("data_constrained", run=False), table, method="psis", seed=0)


@pytest.fixture(scope="module")
def run_post():
    """A fit of checkpoints of six runs with a per-run offset."""
    rows = law_examples.checkpoint_runs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bs.fit(bs.Model(extrapolation="none", run="run"), rows, method="psis")


def test_decisions_on_a_law_of_the_unique_tokens_point_to_its_frontier(dc_post):
    # best_allocation and compute_for_target ended in KeyError 'U'
    for call in (
        lambda: bs.best_allocation(dc_post, 1e20),
        lambda: bs.compute_for_target(dc_post, 2.3, unique_tokens=1e9),
        lambda: bs.value_of_runs(dc_post, pd.DataFrame({"N": [1e8], "D": [1e9]}), 1e20),
    ):
        with pytest.raises(SpecificationError, match=r"reads N, D, U: .*unique_tokens=\.\.\."):
            call()
    # the fitted R*_D is the frontier's: r_star= changed nothing
    with pytest.raises(ValueError, match=r"r_star=1: the data_constrained law fits its own"):
        bs.frontier(dc_post, 1e20, unique_tokens=1e9, r_star=1.0)


def test_prob_below_shows_every_input_and_takes_a_law_of_other_inputs(dc_post):
    # three rows that differ only in U printed as three identical (N, D) rows
    table = bs.prob_below(dc_post, 3.5, N=1e8, D=2e9, U=[1e8, 1e9, 1e10])
    assert table.columns.tolist() == ["N", "D", "U", "prob", "mcse"]
    assert table["U"].tolist() == [1e8, 1e9, 1e10]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        annealing = bs.fit(
            bs.Model("annealing", run=False),
            law_examples.simulate("annealing"),
            method="psis",
            seed=0,
        )
    # a law of S1 and S2 was told "missing 2 required positional arguments: 'N' and 'D'"
    table = bs.prob_below(annealing, 2.5, S1=0.3, S2=0.1)
    assert table.columns.tolist() == ["S1", "S2", "prob", "mcse"]
    fitted = annealing.fitted_table()["anneal_area"]
    # an annealing area far past the fitted ones was predicted without a word
    with pytest.warns(bs.ExtrapolationWarning, match=r"Predicting at S2=5, .* above the fitted"):
        annealing.predict(S1=0.3, S2=5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", bs.ExtrapolationWarning)
        annealing.predict(S1=0.3, S2=float(fitted.max()))


def test_a_run_label_is_refused_where_its_offset_is_left_out(run_post, runs):
    # accepted, and the answer was the same without it
    with pytest.raises(ValueError, match=r"run='r1' with kind='mean'"):
        run_post.predict(N=1e8, D=3e9, kind="mean", run="r1")
    with pytest.raises(ValueError, match=r"the allocation: run='r1' names a training run"):
        bs.best_allocation(run_post, 1e19, run="r1")
    with pytest.raises(ValueError, match=r"frontier: run='r1' names a training run"):
        bs.frontier(run_post, 1e19, run="r1")
    assert run_post.predict(N=1e8, D=3e9, run="r1").shape[-1] == 1  # predictive: its offset
    fig = bs.plotting.plot_fit(run_post, group="run")
    assert fig.axes[0].get_title() == "run = r0 (law without its offset)"
    # a group term on a column named 'run' is a group like any other: its label is read
    table = run_post.fitted_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        term = bs.fit(bs.Model(effects={"E": "run"}, run=False), table, method="psis", seed=0)
    assert not term.has_run_offset
    r0, r5 = (term.predict(N=1e8, D=3e9, kind="mean", run=r).median() for r in ("r0", "r5"))
    assert float(r0) != float(r5)
    bs.best_allocation(term, 1e19, run="r1")
    assert bs.plotting.plot_fit(term, group="run").axes[0].get_title() == "run = r0"


def test_choose_from_loo_refuses_a_table_not_sorted_best_first():
    # the worst candidate was chosen: every gap to the first row was negative
    table = pd.DataFrame(
        {"elpd": [38.0, 112.0, 111.0], "dse": [7.0, 0.0, 1.5], "fit_ok": [True] * 3},
        index=["none", "E+A", "A"],
    )
    with pytest.raises(ValueError, match=r"first row, 'none', is not its best \('E\+A'"):
        choose_from_loo(table, ["none", "A", "E+A"])


def test_a_law_of_one_input_is_compared_with_others_on_that_input():
    # m4 and bnsl were rebuilt on their default inputs (D, step): "none is shipped"
    model = bs.Model(bs.laws.SaturatingPowerLaw(x="N"))
    assert with_law(model, "m4").law.inputs == ("N",)
    assert with_law(model, "bnsl").law.inputs == ("N",)
    assert with_law(bs.Model(), "kaplan").law.inputs == ("N", "D")


def test_choose_effects_checks_every_candidate_before_fitting(runs):
    # a misspelled column failed after the baseline's fit
    ladder = bs.simulate_ladder(families=3, seed=0)
    with pytest.raises(bs.DataError, match=r"candidate 'E': .*'famly'"):
        bs.pooling.choose_effects(
            bs.Model(), ladder, "family", candidates={"E": {"E": "famly"}}, method="psis"
        )


def test_a_report_of_an_importance_sampled_fit_and_of_a_one_input_law(runs, tmp_path):
    # its parameter table printed 'nan' for every R-hat; the frontier left out without a word
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        power = bs.fit(bs.Model("power", extrapolation="none"), runs, method="psis", seed=0)
        bs.report(power, tmp_path / "rep")
    text = (tmp_path / "rep" / "report.md").read_text()
    parameters = text.split("## Parameters")[1].split("##")[0]
    assert "nan" not in parameters and "R-hat, a comparison of chains, does not apply" in text
    assert "no split of a budget between N and D to choose" in text
    assert "hat{R}" not in (tmp_path / "rep" / "parameters.tex").read_text()


def test_saved_fits_and_summaries_name_what_is_wrong(post, tmp_path):
    # a .zarr name was written as netCDF
    with pytest.raises(ValueError, match=r"not as \.zarr; name the file 'fit\.nc'"):
        post.to_netcdf(tmp_path / "fit.zarr")
    with pytest.raises(TypeError, match=r"summary takes ci_prob=.*not prob="):
        post.summary(prob=0.5)
    with pytest.raises(KeyError) as e:  # printed as a quoted repr
        post.summary(["Z"])
    assert str(e.value).startswith("summary: no parameter(s) ['Z']")


def test_a_schedule_keyed_by_text_for_numbered_runs_says_so():
    lr = bs.simulate.cosine_schedule()
    checkpoints = pd.DataFrame({"run": [1, 2], "step": [5, 5]})
    with pytest.raises(bs.DataError, match=r"the key '1' \(str\) and the label 1 \(int\)"):
        bs.laws.add_schedule_areas(checkpoints, {"1": lr, "2": lr}, run="run")


def test_the_coverage_of_a_calibrated_forecast_with_infinite_draws_is_a_number():
    # -inf and +inf draws interpolated to NaN quantiles: every coverage 0
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(4000, 3))
    draws[:300, 0], draws[300:600, 0] = np.inf, -np.inf
    coverage = coverage_if_calibrated(draws, 0.9)
    assert 0.85 < float(coverage.mean()) < 1.0
