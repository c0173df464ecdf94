"""Bad input found by the eighth audit and the items stop 63 left open: each case ends in a
clear error, a warning, or the right answer."""

from __future__ import annotations

import json
import warnings

import pytest

import bayescale as bs
from bayescale import calibration
from bayescale import record as rec
from bayescale.pooling import new_group_splits


@pytest.fixture(scope="module")
def runs():
    return bs.simulate_ladder(seed=1)


def test_psis_refuses_a_warmup_it_would_ignore(runs):
    # importance sampling runs no warm-up: warmup=500 was ignored without a word
    with pytest.raises(ValueError, match="fit: warmup= tunes NUTS, which method='psis'"):
        bs.fit(bs.Model(), runs, method="psis", warmup=500)
    with pytest.raises(ValueError, match="fit_many: warmup= tunes NUTS"):
        bs.fit_many(bs.Model(), [runs], method="psis", warmup=100)
    with warnings.catch_warnings():  # at its default it changes nothing, and passes
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.fit(bs.Model(), runs, method="psis", warmup=1000, draws=100, chains=2)
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
