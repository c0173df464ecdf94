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


@pytest.fixture(scope="module")
def runs():
    return bs.simulate_ladder(seed=1)


@pytest.fixture(scope="module")
def post(runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        return bs.fit(bs.Model(), runs, method="psis", draws=100, chains=2)


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
    assert post.summary(round_to="2g").shape == post.summary().shape


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


def test_the_backtest_warning_points_at_the_caller(post, runs):
    # a report's check warned from inside report.py (a fixed stacklevel)
    table = pd.DataFrame({"split": ["a"], "coverage_0.9": [0.9]})
    with pytest.warns(bs.DataWarning, match="does not say in every row") as caught:
        calibration.check_backtest_table(table, post=post)
    assert caught[0].filename == __file__
