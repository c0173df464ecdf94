"""Numeric arguments of the public API are checked at the boundary, not deep in numpy or JAX."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale import arguments


@pytest.fixture(scope="module")
def post():
    runs = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        return bs.fit(bs.Model(), runs, method="psis", seed=0)


@pytest.fixture(scope="module")
def family_post():
    runs = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=4, families=2, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        return bs.fit(bs.Model(effects={"A": "family"}), runs, method="psis", seed=0)


def test_probability_names_a_percentage():
    assert arguments.probability(0.5) == 0.5
    with pytest.raises(ValueError, match=r"prob=90 .* give 0.9"):
        arguments.probability(90)
    for bad in (0, 1, 1.5, -0.1, float("nan"), [0.5, 0.9], "high", True):
        with pytest.raises(ValueError, match="prob="):
            arguments.probability(bad)
    assert arguments.probabilities([0.5, 0.9]) == (0.5, 0.9)
    with pytest.raises(ValueError, match=r"levels\[1\]=90"):
        arguments.probabilities([0.5, 90])
    with pytest.raises(ValueError, match="at least one level"):
        arguments.probabilities([])


def test_budgets_are_flat_finite_and_positive():
    assert arguments.budgets(1e20).tolist() == [1e20]
    for bad, fragment in [
        (0, "finite and > 0"),
        ([1e19, -1e20], "finite and > 0"),
        (np.nan, "finite and > 0"),
        ([], "empty"),
        ([[1e19, 1e20]], "flat list"),
        ("lots", "numbers"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            arguments.budgets(bad)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda p: bs.compute_for_target(p, 2.7, prob=90), "give 0.9"),
        (lambda p: bs.compute_for_target(p, float("nan")), "target=nan must be finite"),
        (lambda p: bs.compute_for_target(p, 2.7, c_min=1e25, c_max=1e20), "must be below"),
        (lambda p: bs.compute_for_target(p, 2.7, c_min=0), "c_min=0"),
        (lambda p: bs.best_allocation(p, 0), "finite and > 0"),
        (lambda p: bs.best_allocation(p, []), "empty"),
        (lambda p: bs.best_allocation(p, 1e20, objective="quantile", quantile=90), "quantile=90"),
        (lambda p: bs.decision_table(p, [1e19], prob=90), "give 0.9"),
        (lambda p: bs.prob_below(p, [2.0, 3.5], N=1e9, D=2e10), "one number"),
        (lambda p: bs.prob_below(p, 2.7, N=[], D=[]), "empty"),
        (lambda p: bs.frontier(p, 1e20, inference_tokens=-1e12), "inference_tokens"),
        (lambda p: bs.frontier(p, 1e20, unique_tokens=0), "unique_tokens=0"),
        (lambda p: bs.frontier(p, [[1e19, 1e20]]), "flat list"),
        (lambda p: p.calibration(prob=90), "give 0.9"),
        (lambda p: bs.value_of_runs(p, {"N": [1e9], "D": [2e10]}, 1e20), "DataFrame"),
        (lambda p: bs.value_of_runs(p, pd.DataFrame({"N": [-1e9], "D": [2e10]}), 1e20), "'N'"),
        (lambda p: bs.value_of_runs(p, pd.DataFrame({"N": [1e9], "D": [2e10]}), 0), "target_"),
        (
            lambda p: bs.value_of_runs(p, pd.DataFrame({"N": [1e9], "D": [2e10]}), 1e20, n_sims=0),
            "n_sims",
        ),
        (
            lambda p: bs.value_of_runs(
                p, pd.DataFrame({"N": [1e9], "D": [2e10]}), 1e20, max_draws=0
            ),
            "max_draws=0: give a whole number >= 50",
        ),
        (lambda p: bs.best_allocation(p, 1e20, n_grid=0), "n_grid=0: give a whole number >= 3"),
        (lambda p: bs.best_allocation(p, 1e20, n_grid=True), "n_grid=True"),
        (lambda p: bs.best_allocation(p, 1e20, span=0), "span=0 must be finite and > 0"),
        (lambda p: bs.best_allocation(p, 1e20, span=-2), "span=-2"),
        (lambda p: bs.frontier(p, 1e20, rng_seed=2**63), "rng_seed=9223372036854775808"),
        (lambda p: bs.prob_below(p, 2.7, N=1e9, D=2e10, rng_seed=-5), "rng_seed=-5"),
        (
            lambda p: bs.predicted_isoflop_minima(p, bs.simulate_ladder(), decimals=-1),
            "decimals=-1: give a whole number >= 0",
        ),
        (
            lambda p: bs.compare.averaged_predict({"a": p}, {"a": 1.0}, N=1e9, D=2e10, n_draws=0),
            "n_draws=0",
        ),
        (lambda p: bs.report(p, "never_written", prob=90), "give 0.9"),
        (lambda p: bs.report(p, "never_written", target_compute=-1), "target_compute=-1"),
        (lambda p: bs.report(p, "never_written", target_compute=1e19), "lies inside the data"),
        (lambda p: bs.report(p, "never_written", target_compute=1e300), "smaller target_comp"),
    ],
)
def test_decisions_refuse_bad_numbers(post, call, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings(), pytest.raises(ValueError, match=re.escape(fragment)):
        warnings.simplefilter("ignore", bs.ExtrapolationWarning)  # a budget 280 decades out
        call(post)
    assert not (tmp_path / "never_written").exists()  # a report refused writes nothing


def test_seeds_past_what_jax_takes_are_refused_before_any_work():
    runs = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, seed=3)
    for bad in (2**64, 2**63 + 5, 2**62 + 1, -1, 1.5, True):
        with pytest.raises(ValueError, match=r"seed=.*: give an int from 0 to 4611686018427387904"):
            bs.fit(bs.Model(), runs, method="psis", seed=bad)
    with pytest.raises(ValueError, match="seed=-3"):
        bs.laplace_many(bs.Model(), [runs], seed=-3)
    # the largest seed is a seed (fits derive further seeds from it without overflowing)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        largest = bs.fit(bs.Model(), runs, method="psis", seed=arguments.MAX_SEED)
    assert np.isfinite(largest.predict(N=1e9, D=2e10, rng_seed=arguments.MAX_SEED).values).all()


def test_counts_are_whole_numbers():
    assert arguments.count(3.0, "n") == 3 and arguments.count(np.int64(2), "n") == 2
    for bad in (0, -1, 2.5, True, "3", None):
        with pytest.raises(ValueError, match="give a whole number >= 1"):
            arguments.count(bad, "n")
    assert arguments.count(0, "decimals", minimum=0) == 0


def test_numbers_given_as_text_are_refused_as_counts_are():
    """``positive("1e22")`` was read as 1e22 while ``count("3")`` was refused: text is refused
    by every number check, naming the conversion."""
    for check in (arguments.positive, arguments.non_negative, arguments.finite):
        with pytest.raises(ValueError, match=r"target='1e22': give a number, not text"):
            check("1e22", "target")
    with pytest.raises(ValueError, match="give a number, not text"):
        arguments.probability("0.9")
    assert arguments.positive(np.float32(2.0), "x") == 2.0


def test_backtest_checks_levels_before_fitting():
    runs = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, seed=3)
    with pytest.raises(ValueError, match=r"levels\[0\]=50 .* give 0.5"):
        bs.backtest(bs.Model(), runs, levels=[50, 90])


def test_decisions_warn_where_frontier_does(post):
    with pytest.warns(bs.ExtrapolationWarning, match="6.0 decades past"):
        bs.best_allocation(post, 1e26, span=6)
    # a target the smallest budget scanned already reaches: the answer is a bound, and far below
    with (
        pytest.warns(bs.ExtrapolationWarning, match="3.0 decades below"),
        pytest.warns(UserWarning, match="a bound, not the answer"),
    ):
        need = bs.compute_for_target(post, 10.0)
    assert need["compute"] == pytest.approx(1e15)


def test_group_labels_one_or_one_per_point(family_post):
    with pytest.raises(bs.DataError, match="family has 2 labels but the inputs give 1 point"):
        family_post.predict(N=1e9, D=2e10, family=["f0", "f1"])
    assert family_post.predict(N=[1e9, 2e9], D=2e10, family=["f0", "f1"]).shape[-1] == 2


def test_a_repeated_row_index_is_read_by_position(post):
    """A table put together with pd.concat repeats row labels: the tools read rows by position."""
    runs = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, seed=3)
    twice = pd.concat([runs.iloc[:7].reset_index(drop=True), runs.iloc[7:].reset_index(drop=True)])
    assert not twice.index.is_unique
    minima = bs.isoflop.isoflop_minima(twice)
    assert minima["n_points"].tolist() == [5, 5, 5]
    assert np.allclose(minima["compute"], bs.isoflop.isoflop_minima(runs)["compute"])
    planned = pd.concat([runs.iloc[:5], runs.iloc[10:]])  # labels 0-4 then 10-14, kept
    planned.index = [0, 1, 2, 3, 4] * 2
    table = bs.predicted_isoflop_minima(post, planned)
    assert table["n_points"].tolist() == [5, 5]
    fig = bs.plotting.plot_fit(post, df=twice)
    assert len(fig.axes) == 1


def test_a_parameter_named_twice_in_effects_is_refused():
    with pytest.raises(
        bs.SpecificationError, match="names the parameter 'A' twice, as 'A' and 'a'"
    ):
        bs.Model(effects={"A": "family", "a": "seed"})


def test_fit_refuses_its_arguments_swapped():
    runs = bs.simulate_ladder()
    with pytest.raises(TypeError, match="the model comes first, got a DataFrame"):
        bs.fit(runs, bs.Model())
    with pytest.raises(TypeError, match="takes a list of tables"):
        bs.fit_many(bs.Model(), runs)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"budgets": (-1e18, 1e19)}, "budgets must be finite and > 0"),
        ({"params": {"E": 1.7}}, "params lacks"),
        ({"family_sd": {"Q": 0.1}, "families": 2}, "family_sd names \\['Q'\\]"),
        ({"family_sd": {"A": -0.1}, "families": 2}, "family_sd\\['A'\\]=-0.1"),
        ({"noise_sd": float("nan")}, "noise_sd=nan must be finite and >= 0"),
        ({"noise_sd": -0.01}, "noise_sd=-0.01"),
        ({"seed_sd": float("inf")}, "seed_sd=inf"),
        ({"sizes_per_budget": 0}, "sizes_per_budget=0: give a whole number >= 1"),
        ({"families": 0}, "families=0"),
        ({"seeds": 1.5}, "seeds=1.5"),
        ({"seed": -1}, "seed=-1"),
        ({"params": {**bs.simulate.HOFFMANN_2022, "gamma": 1.0}}, "params names \\['gamma'\\]"),
        ({"params": {**bs.simulate.HOFFMANN_2022, "alpha": 0}}, "params\\['alpha'\\]=0"),
    ],
)
def test_simulate_ladder_refuses_what_it_cannot_simulate(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        bs.simulate_ladder(**kwargs)


@pytest.mark.parametrize(
    "call",
    [
        lambda r: bs.frontier(r, 1e20),
        lambda r: bs.prob_below(r, 2.7, N=1e9, D=2e10),
        lambda r: bs.best_allocation(r, 1e20),
        lambda r: bs.compute_for_target(r, 2.7),
        lambda r: bs.decision_table(r, 1e20),
        lambda r: bs.value_of_runs(r, pd.DataFrame({"N": [1e9], "D": [2e10]}), 1e20),
        lambda r: bs.predicted_isoflop_minima(r, r),
        lambda r: bs.predict(r, N=1e9, D=2e10),
        lambda r: bs.report(r, "never_written"),
        lambda r: bs.loo_pit(r),
        lambda r: bs.plotting.plot_fit(r),
        lambda r: bs.plotting.plot_fan(r, 1e21),
        lambda r: bs.plotting.plot_forest(r),
        lambda r: bs.plotting.plot_trace(r),
        lambda r: bs.plotting.plot_ppc(r),
    ],
)
def test_decisions_take_a_fit_first(call):
    runs = bs.simulate_ladder()
    with pytest.raises(TypeError, match=r"takes a fit first .* got a DataFrame"):
        call(runs)


def test_value_of_runs_refuses_a_mistyped_label(family_post):
    candidates = pd.DataFrame({"N": [1e9], "D": [2e10]})
    with pytest.raises(bs.DataError, match="'fX' is not a level seen in the data"):
        bs.value_of_runs(family_post, candidates, 1e20, n_sims=10, family="fX")
    new = bs.value_of_runs(family_post, candidates, 1e20, n_sims=10, new_groups=True, family="fX")
    seen = bs.value_of_runs(family_post, candidates, 1e20, n_sims=10, family="f0")
    assert np.isfinite(new["sd_now"]).all() and np.isfinite(seen["sd_now"]).all()


def test_loo_diagnose_and_compare_refuse_what_is_not_a_fit(post):
    with pytest.raises(TypeError, match=r"loo takes a fit .* got a Model"):
        bs.loo(bs.Model())
    with pytest.raises(TypeError, match=r"diagnose takes a fit .* got a Model"):
        bs.diagnose(bs.Model())
    with pytest.raises(ValueError, match="no posterior or sample_stats group"):
        bs.diagnose(post.tree["posterior"])
    with pytest.raises(TypeError, match="dict of named fits, got a list"):
        bs.compare.compare([post, post])
    with pytest.raises(TypeError, match="'b' is a Model, not a fit"):
        bs.compare.compare({"a": post, "b": bs.Model()})
