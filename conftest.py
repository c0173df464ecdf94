"""The objects every docstring example may use (pytest's ``--doctest-modules``).

The API reference's examples assume ``import bayescale as bs``, ``numpy as np`` and
``pandas as pd``, and these objects, built once per test process when a doctest first asks:

- ``runs``: a simulated Chinchilla ladder (``bs.simulate_ladder()``: 5 budgets x 7 sizes);
- ``post``: the default model fitted to ``runs`` (2 chains x 1000 draws, seed 0);
- ``family_runs``: a ladder of 4 model families (``bs.simulate_ladder(families=4, ...)``);
- ``family_post``: ``A`` varying by family, fitted to ``family_runs`` (2 chains x 1000 draws);
- ``downstream_runs``: ``runs`` with a downstream ``error`` linked to each run's loss;
- ``two``: the two-step model of both (the Chinchilla law, an exponential link on the logit);
- ``curves``: training curves, three checkpoints of every run of ``runs``.

docs/api.md states the same set-up at the top of the reference.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import pytest

collect_ignore = ["bayescale/__main__.py", "bayescale/cli/__main__.py"]
# --doctest-modules would import these as modules: the gallery's pages and the benchmarks run
# their whole analyses at import
collect_ignore_glob = ["docs/*", "benchmarks/*"]

SHARED = Path(__file__).resolve().parent.parent / "shared" / "datasets"


@functools.cache
def _examples() -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import pandas as pd

    import bayescale as bs

    runs = bs.simulate_ladder()
    family_runs = bs.simulate_ladder(
        families=4, budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, seed=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", bs.ConvergenceWarning)
        post = bs.fit(bs.Model(), runs, chains=2, draws=1000, warmup=500, seed=0)
        family_post = bs.fit(
            bs.Model(effects={"A": "family"}),
            family_runs,
            chains=2,
            draws=1000,
            warmup=500,
            seed=0,
        )
    # a downstream error of each run, linked to its loss, and the two-step model of both
    noise = np.random.default_rng(0).normal(0, 0.005, len(runs))
    downstream_runs = runs.assign(error=0.8 - 6.0 * np.exp(-1.1 * runs["loss"]) + noise)
    two = bs.TwoStepModel(
        loss=bs.Model("chinchilla"),
        link=bs.Model("exponential_link", scale="logit", columns={"loss": "error"}),
    )
    # training curves: three checkpoints of every run, at a quarter, half and all its tokens
    curves = pd.concat(
        [runs.assign(tokens=runs.tokens * f, flops=runs.flops * f) for f in (0.25, 0.5, 1)]
    )
    return {
        "bs": bs,
        "downstream_runs": downstream_runs,
        "two": two,
        "curves": curves,
        "np": np,
        "pd": pd,
        "runs": runs,
        "post": post,
        "family_runs": family_runs,
        "family_post": family_post,
    }


@pytest.fixture(autouse=True)
def _doctest_objects(request):
    """Fill the namespace of a docstring example; no network, and a fresh working folder."""
    from _pytest.doctest import DoctestItem

    if not isinstance(request.node, DoctestItem):
        yield
        return
    monkeypatch = request.getfixturevalue("monkeypatch")
    tmp_path = request.getfixturevalue("tmp_path")
    import urllib.request

    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setenv("BAYESCALE_CACHE_DIR", str(tmp_path / "cache"))
    if SHARED.is_dir() and not os.environ.get("BAYESCALE_DATA_MIRROR"):
        monkeypatch.setenv("BAYESCALE_DATA_MIRROR", str(SHARED))
    uses_data = any("datasets.load" in example.source for example in request.node.dtest.examples)
    if uses_data and not os.environ.get("BAYESCALE_DATA_MIRROR"):
        pytest.skip(
            f"the example loads a public dataset: no {SHARED} here; set "
            "BAYESCALE_DATA_MIRROR=<folder holding <dataset>/<file>> to run it offline"
        )
    monkeypatch.chdir(tmp_path)
    request.getfixturevalue("doctest_namespace").update(_examples())
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
