"""Shared fixtures: the public datasets in ../shared/datasets (used as the loader's mirror) and a
few seeded NUTS fits shared by the whole session."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import bayescale as bs

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The shared datasets folder, as the loader's offline mirror; skip when absent."""
    if not (SHARED / "epoch_chinchilla" / "PROVENANCE.md").is_file():
        pytest.skip(f"shared datasets not found at {SHARED}")
    return SHARED


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path_factory):
    """No network in tests: any download attempt fails; the cache is a fresh folder."""
    import urllib.request

    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setenv(bs.datasets.CACHE_ENV, str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv(bs.datasets.MIRROR_ENV, str(SHARED))


@pytest.fixture(scope="session")
def epoch_runs(mirror):
    """Epoch's Chinchilla runs without the 5 highest-loss points (as Epoch fitted them)."""
    import os

    os.environ[bs.datasets.MIRROR_ENV] = str(mirror)
    df = bs.datasets.load("epoch_chinchilla")
    return df.drop(df["loss"].nlargest(5).index)


@pytest.fixture(scope="session")
def epoch_fit(epoch_runs):
    """The default model on Epoch's data, default settings, seed 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", bs.ConvergenceWarning)
        return bs.Model().fit(epoch_runs, seed=0)


@pytest.fixture(scope="session")
def hierarchy():
    """A simulated 4-family x 3-seed ladder with known truth."""
    return bs.simulate_ladder(
        families=4,
        seeds=3,
        seed_sd=0.05,
        budgets=(1e18, 1e19, 1e20),
        sizes_per_budget=5,
        seed=1,
    )


@pytest.fixture(scope="session")
def hierarchy_fit(hierarchy):
    model = bs.Model(effects={"E": "family", "A": ["family", "family:seed"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", bs.ConvergenceWarning)
        return model.fit(hierarchy, seed=0)
