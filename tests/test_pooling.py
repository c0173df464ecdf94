"""The value of pooling: new-group splits and backtests, candidate effects, the LOO choice."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale import pooling
from bayescale.errors import DataError
from bayescale.plotting import plot_pooling
from bayescale.simulate import HOFFMANN_2022, chinchilla_loss

FIT = {"chains": 2, "draws": 300, "warmup": 300, "seed": 1}


def grid(e_shift=(0.0, 0.25, -0.2), noise=0.004, seed=0) -> pd.DataFrame:
    """Three families on one grid of 6 sizes x 5 token multipliers, differing in E only."""
    rng = np.random.default_rng(seed)
    rows = []
    for f, shift in enumerate(e_shift):
        p = {**HOFFMANN_2022, "E": HOFFMANN_2022["E"] + shift}
        for n in np.geomspace(1e7, 1e9, 6):
            for mult in (5.0, 10.0, 20.0, 40.0, 80.0):
                loss = chinchilla_loss(p, n, mult * n) * np.exp(noise * rng.standard_normal())
                rows.append((n, mult * n, loss, f"f{f}"))
    return pd.DataFrame(rows, columns=["params", "tokens", "loss", "family"])


def test_candidates_climb_from_the_floor_to_every_parameter():
    cands = pooling.effect_candidates(bs.Model("chinchilla"), "family")
    assert list(cands) == ["E", "E+A", "E+A+B", "all"]
    assert cands["E+A"] == {"E": "family", "A": "family"}
    assert set(cands["all"]) == {"E", "A", "B", "alpha", "beta"}
    # The power law in N has one added term: no "E+A+B" repeating "E+A".
    assert list(pooling.effect_candidates(bs.Model("power"), "family")) == ["E", "E+A", "all"]


def test_new_group_splits_keep_the_k_smallest_sizes_of_one_group():
    df = grid()
    model = bs.Model("chinchilla")
    alone, pooled = pooling.new_group_splits(df, model, "family", "f1", 2)
    sizes = np.unique(df["params"])
    mine = df["family"] == "f1"
    assert set(df.loc[alone.train, "params"]) == set(sizes[:2])
    assert (df.loc[alone.train, "family"] == "f1").all() and alone.train.sum() == 10
    assert (pooled.train == (alone.train | ~mine)).all()
    assert (alone.test == pooled.test).all() and alone.test.sum() == 20
    assert not (alone.train & alone.test).any()


@pytest.mark.parametrize(
    ("change", "k", "message"),
    [
        (lambda d: d.drop(columns="family"), 1, "Group column 'family' is missing"),
        (lambda d: d.assign(family="f0"), 1, "one level"),
        (lambda d: d.assign(family=d["family"].where(d.index > 0)), 1, "missing labels"),
        (lambda d: d, 6, "k=6 must be between 1 and 5"),
        (lambda d: d.drop(columns="params"), 1, "column 'params' is missing"),
    ],
)
def test_new_group_splits_say_what_is_wrong(change, k, message):
    with pytest.raises(DataError, match=message):
        pooling.new_group_splits(change(grid()), bs.Model("chinchilla"), "family", "f1", k)


def test_a_case_without_larger_runs_is_a_row_that_says_so():
    model = bs.Model("chinchilla")
    table = pooling.new_group_backtest(model, grid(), "family", ks=(6,), candidates={})
    assert len(table) == 3 * 2  # three groups x (alone, complete pooling)
    assert table["status"].str.startswith("skipped: family=").all()
    # the same rows as the command line words them (it prints these)
    assert table.attrs["status_command_line"] == table["status"].tolist()
    assert table.attrs["data_warnings_command_line"] == [""] * len(table)
    with pytest.raises(DataError, match="No case"):
        pooling.summarise_backtest(table)
    with pytest.raises(ValueError, match="ks="):
        pooling.new_group_backtest(model, grid(), "family", ks=(0,))


def test_only_the_named_groups_are_held_out():
    model = bs.Model("chinchilla")
    table = pooling.new_group_backtest(model, grid(), "family", ks=(6,), groups=["f1"])
    assert table["level"].unique().tolist() == ["f1"]
    # a model's own effects as a candidate: the table can still be sliced (pandas deep-copies
    # its attrs, and a Model's effects are a read-only mapping)
    effects = bs.Model("chinchilla", effects={"E": "family"}).effects
    table = pooling.new_group_backtest(
        model, grid(), "family", ks=(6,), groups="f1", candidates={"E": effects}
    )
    assert table[["method", "status"]].shape == (3, 2)
    with pytest.raises(DataError, match=r"no level\(s\) \['f9'\]"):
        pooling.new_group_backtest(model, grid(), "family", ks=(6,), groups=["f1", "f9"])
    with pytest.raises(ValueError, match="at least one level"):
        pooling.new_group_backtest(model, grid(), "family", ks=(6,), groups=[])
    # one label alone, and a label named twice, hold that group out once
    for groups in ("f1", ["f1", "f1"]):
        table = pooling.new_group_backtest(model, grid(), "family", ks=(6,), groups=groups)
        assert len(table) == len(pooling.effect_candidates(model, "family")) + 2
        assert set(table["level"]) == {"f1"}


def loo_table(elpd, dse, ok, names=("all", "E+A", "E", "none")):
    return pd.DataFrame({"elpd": elpd, "dse": dse, "fit_ok": ok}, index=list(names))


ORDER = ["none", "E", "E+A", "all"]


def test_the_simplest_passing_structure_within_two_standard_errors_is_chosen():
    table = loo_table([100.0, 97.0, 80.0, 10.0], [0.0, 2.0, 5.0, 9.0], [True] * 4)
    assert pooling.choose_from_loo(table, ORDER)[0] == "E+A"  # 3 below, within 2 x 2.0
    assert pooling.choose_from_loo(table, ORDER, se_rule=1.0)[0] == "all"
    assert pooling.choose_from_loo(table, ORDER, se_rule=5.0)[0] == "E"
    # A close structure whose fit failed gives way to the next close one that passed.
    table["fit_ok"] = [True, False, True, True]
    chosen, reason = pooling.choose_from_loo(table, ORDER)
    assert chosen == "all"
    assert "whose fit passed its diagnostics (the fits of ['E+A'] did not)." in reason
    # a failed fit far below the best changes nothing, and the reason says only that it failed
    table["fit_ok"] = [True, True, False, True]
    chosen, reason = pooling.choose_from_loo(table, ORDER)
    assert chosen == "E+A" and "whose fit passed" not in reason
    assert reason.endswith("The fits of ['E'] failed their diagnostics.")


def test_a_shaky_loo_estimate_is_said_to_be_indicative():
    table = loo_table([100.0, 97.0, 80.0, 10.0], [0.0, 2.0, 5.0, 9.0], [True] * 4)
    assert "Pareto" not in pooling.choose_from_loo(table, ORDER)[1]
    table["pareto_k_max"] = [1.2, 0.5, 0.9, 0.3]
    _, reason = pooling.choose_from_loo(table, ORDER)
    assert reason.endswith(
        "LOO's Pareto k is above 0.7 for ['E', 'all']: their ELPD is indicative only."
    )


def test_a_tie_and_a_wrong_table_are_handled():
    tie = loo_table([5.0, 5.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0], [True] * 4)
    chosen, reason = pooling.choose_from_loo(tie, ORDER)
    assert chosen == "E+A" and "lower" not in reason
    with pytest.raises(ValueError, match="must name every candidate"):
        pooling.choose_from_loo(tie, ["E", "E+A", "all"])
    with pytest.raises(ValueError, match="boolean"):
        pooling.choose_from_loo(tie.assign(fit_ok=["True"] * 4), ORDER)


def test_a_passing_fit_far_below_the_best_is_not_chosen_for_passing():
    # Muennighoff et al.'s runs: only the fit without effects passed, 95 ELPD below the best.
    table = loo_table([83.6, 83.5, 76.1, -11.7], [0.0, 0.5, 3.1, 14.1], [False] * 3 + [True])
    table.index = ["E+A", "E+A+B", "E", "none"]
    chosen, reason = pooling.choose_from_loo(table, ["none", "E", "E+A", "E+A+B"])
    assert chosen == "E+A"
    assert "as did every close structure's" in reason and "simplify the effects" in reason
    assert "The fits that passed (['none']) are more than 2 standard errors below" in reason


def test_a_failed_candidate_is_refitted_once_with_twice_the_draws(monkeypatch):
    class Fitted:
        def __init__(self, ok):
            self.ok = ok

        def diagnostics(self, warn=False):
            table = pd.DataFrame()
            table.attrs["ok"] = self.ok
            return table

    calls = []

    def fit(self, df, **kwargs):
        calls.append(kwargs)
        return Fitted(ok=len(calls) % 2 == 0)  # every first fit fails, every refit passes

    def loo(posts):
        names = list(posts)[::-1]  # the richest structure first
        return pd.DataFrame({"elpd": [10.0, 9.0], "dse": [0.0, 2.0]}, index=names)

    monkeypatch.setattr(bs.Model, "fit", fit)
    monkeypatch.setattr(pooling, "compare", loo)
    model, candidates = bs.Model("chinchilla"), {"E": {"E": "family"}}
    choice = pooling.choose_effects(
        model, grid(), "family", candidates, draws=300, seed=4, chains=2, method="auto"
    )
    assert len(calls) == 4 and choice.chosen == "none" and choice.loo["fit_ok"].all()
    first, again = calls[0], calls[1]
    assert first == {"draws": 300, "seed": 4, "chains": 2, "method": "auto", "retry": False}
    assert again == {"draws": 600, "seed": 5, "chains": 2, "method": "nuts", "retry": False}
    calls.clear()
    pooling.choose_effects(model, grid(), "family", candidates, refit_failed=False)
    assert len(calls) == 2


def test_summary_and_figure_average_over_groups(tmp_path):
    table = pd.DataFrame(
        {
            "level": ["a", "b", "a", "b", "a"],
            "k": [1, 1, 1, 1, 2],
            "method": ["alone", "alone", "partial: E", "partial: E", "alone"],
            "coverage_0.5": [0.0, 1.0, 0.5, 0.5, 0.4],
            "coverage_0.9": [0.5, 1.0, 0.9, 0.9, 0.8],
            "coverage_0.9_p": [0.1, 1.0, 1.0, 1.0, 0.5],  # not a coverage: not averaged
            "interval_score_90": [0.2, 0.4, 0.1, 0.1, 0.3],
            "are_median": [0.02, 0.04, 0.01, 0.01, 0.03],
            "fit_ok": [True, False, True, True, True],
            "status": ["ok"] * 5,
        }
    )
    skipped = pd.DataFrame([{"level": "c", "k": 1, "method": "alone", "status": "skipped: -"}])
    table = pd.concat([table, skipped], ignore_index=True)
    summary = pooling.summarise_backtest(table).set_index(["k", "method"])
    assert summary.loc[(1, "alone"), "coverage_0.9"] == pytest.approx(0.75)
    assert "coverage_0.9_p" not in summary
    assert summary.loc[(1, "alone"), "cases"] == 2
    assert summary.loc[(1, "alone"), "failed_fits"] == 1
    fig = plot_pooling(table, tmp_path / "pooling.png")
    assert (tmp_path / "pooling.png").stat().st_size > 0
    err, _ = fig.axes
    assert [line.get_label() for line in err.get_lines()] == ["alone", "partial: E"]
    np.testing.assert_allclose(err.get_lines()[0].get_ydata(), [3.0, 3.0])


@pytest.fixture(scope="module")
def pooled_backtest():
    model = bs.Model("chinchilla", extrapolation="prior")
    table = pooling.new_group_backtest(
        model, grid(), "family", ks=(2,), candidates={"E": {"E": "family"}}, **FIT
    )
    return model, table


@pytest.mark.slow
def test_pooling_predicts_a_new_groups_larger_runs_better_than_the_group_alone(pooled_backtest):
    _, table = pooled_backtest
    assert (table["status"] == "ok").all() and len(table) == 3 * 3
    # The group alone has two sizes: the fit says so, and the table keeps what it said.
    alone = table[table["method"] == "alone"]["data_warnings"]
    assert alone.str.contains("Column 'params' takes 2 distinct value").all()
    assert (table[table["method"] != "alone"]["data_warnings"] == "").all()
    err = table.pivot(index="level", columns="method", values="are_median")
    # Two sizes cannot fix the size exponent alone; the other families can (on average over
    # the held-out families: one family alone can land near its truth, as f1 does on some CPUs,
    # 0.0037 against the pooled fit's 0.0039).
    assert err["partial: E"].mean() < 0.5 * err["alone"].mean()
    # One law for all misses a family by the gap between its floor and the others': 0.35 and
    # 0.33 nats for f1 and f2, far more than partial pooling; f0's floor lies between theirs,
    # 0.025 nats from their mean, so its miss is small (2.9x partial pooling's on one machine,
    # above 3x on others: a factor of 3 there was a coin toss).
    far = ["f1", "f2"]
    assert (err.loc[far, "complete pooling"] > 10 * err.loc[far, "partial: E"]).all()
    assert err.loc["f0", "complete pooling"] > err.loc["f0", "partial: E"]
    cov = table[table["method"] == "partial: E"]["coverage_0.9"]
    assert cov.mean() >= 0.7


@pytest.mark.slow
def test_loo_chooses_a_floor_per_family_when_the_floors_differ(pooled_backtest):
    model, table = pooled_backtest
    choice = pooling.choose_effects(
        model, grid(), "family", candidates={"E": {"E": "family"}}, backtest_table=table, **FIT
    )
    assert choice.chosen == "E" and choice.effects == {"E": "family"}
    assert choice.loo["fit_ok"].dtype == bool
    assert choice.loo.index[0] == "E"
    text = str(choice)
    assert "Chosen effects: E" in text and "New-group backtest" in text
    assert "New groups: 'E' has the lowest interval score averaged over k too." in choice.reason
