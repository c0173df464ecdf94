"""Shared fixtures: the public datasets in ../shared/datasets (used as the loader's mirror), a
few seeded NUTS fits shared by the whole session, and a simulated ladder with a quick
importance-sampled fit of it per module."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

import bayescale as bs

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"


def _has_data(folder: Path) -> bool:
    return (folder / "epoch_chinchilla").is_dir()


def _fetch_everything() -> Path:
    """Download every file of every dataset card into the loaders' cache; return the cache."""
    cache = Path(os.environ.get(bs.datasets.CACHE_ENV, Path.home() / ".cache" / "bayescale"))
    saved = os.environ.pop(bs.datasets.MIRROR_ENV, None)
    try:
        for name in bs.datasets.available():
            card = bs.datasets.card(name)
            for spec in card["tables"].values():
                for file in spec["files"]:
                    bs.datasets.fetch(name, file, card)
    finally:
        if saved is not None:
            os.environ[bs.datasets.MIRROR_ENV] = saved
    return cache


_DATA: dict[str, Path] = {}


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The public datasets as the loaders' mirror.

    ../shared/datasets, else the folder in ``BAYESCALE_DATA_MIRROR``, else (a fresh clone with
    neither) the loaders' cache after fetching every file from its source. Skips, naming the
    variable to set, when none is reachable.
    """
    given = os.environ.get(bs.datasets.MIRROR_ENV)
    for folder in [SHARED] + ([Path(given)] if given else []):
        if _has_data(folder):
            _DATA["folder"] = folder
            return folder
    try:
        _DATA["folder"] = _fetch_everything()
    except bs.datasets.DatasetError as e:
        pytest.skip(
            f"public datasets unreachable: no {SHARED}, {bs.datasets.MIRROR_ENV} unset or "
            f"empty, and fetching from the sources failed ({' '.join(str(e).split())[:120]}). "
            f"Set {bs.datasets.MIRROR_ENV}=<folder holding <dataset>/<file>> to run these tests."
        )
    return _DATA["folder"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path_factory):
    """No network in tests: any download attempt fails; the cache is a fresh folder.

    (The session-scoped ``mirror`` fixture fetches, where it has to, before this runs.)
    """
    import urllib.request

    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setenv(bs.datasets.CACHE_ENV, str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv(bs.datasets.MIRROR_ENV, str(_DATA.get("folder", SHARED)))


@pytest.fixture(scope="session")
def epoch_runs(mirror):
    """Epoch's Chinchilla runs without the 5 highest-loss points (as Epoch fitted them)."""
    os.environ[bs.datasets.MIRROR_ENV] = str(mirror)
    df = bs.datasets.load("epoch_chinchilla")
    return df.drop(df["loss"].nlargest(5).index)


@pytest.fixture(scope="session")
def epoch_fit(epoch_runs):
    """The default model on Epoch's data, default settings, seed 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", bs.ConvergenceWarning)
        return bs.Model().fit(epoch_runs, seed=0)


@pytest.fixture(scope="module")
def runs():
    """The default simulated ladder (5 budgets of 7 sizes); a module may define its own."""
    return bs.simulate_ladder(seed=1)


@pytest.fixture(scope="module")
def post(runs):
    """An importance-sampled fit of the default model to the module's ``runs`` (seconds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        return bs.fit(bs.Model(), runs, method="psis", seed=0)


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
