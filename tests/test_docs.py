"""The documentation builds without warnings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from site_browser import browse, need_browser

from bayescale.datasets import MIRROR_ENV

ROOT = Path(__file__).resolve().parents[1]


def _build(site: Path, execute: bool) -> None:
    """``mkdocs build --strict`` into ``site``, running the gallery's examples or not."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("mkdocs_gallery")
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or "mkdocs"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env["BAYESCALE_DOCS_EXECUTE"] = "true" if execute else "false"
    res = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,  # the gallery runs its examples (about 4 min alone on 2 cores)
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "WARNING" not in res.stderr


def test_docs_build_strict(tmp_path):
    """The guides and the API reference build without warnings (examples not run here)."""
    _build(tmp_path / "site", execute=False)
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "ScalingPosterior.predict" in api and "compute_for_target" in api


@pytest.fixture(scope="module")
def gallery_site(mirror, tmp_path_factory) -> Path:
    """The site built with every gallery example executed, on the public datasets (``mirror``,
    offline): the docs build ``.ci/test`` runs after the suite."""
    site = tmp_path_factory.mktemp("docs") / "site"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(MIRROR_ENV, str(mirror))  # the examples' loaders read it (offline)
        _build(site, execute=True)
    return site


@pytest.mark.slow
@pytest.mark.gallery
def test_gallery_examples_run_and_show_their_figures(gallery_site):
    """Every example runs and its page shows its figures, which exist."""
    gallery = gallery_site / "generated" / "gallery"
    examples = sorted(p.stem for p in (ROOT / "docs" / "examples").glob("plot_*.py"))
    assert examples
    for name in examples:
        page = gallery / name / "index.html"
        html = page.read_text()
        assert "Traceback" not in html, name
        figures = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
        figures = [f for f in figures if "thumb" not in f]
        assert figures, f"{name}: no figure on the page"
        for src in figures:
            assert (page.parent / src).resolve().is_file(), (name, src)


@pytest.mark.slow
@pytest.mark.gallery
def test_every_page_renders_in_a_browser(gallery_site):
    """Headless Chromium opens every page of the built site: each loads with a title, runs no
    script error, finds every file it asks the site for, and every image on it loads; each
    example's page shows at least one figure."""
    need_browser(playwright=True)
    images, problems = browse(gallery_site)
    assert not problems, "\n".join(problems)
    pages = {p.relative_to(gallery_site).as_posix() for p in gallery_site.rglob("*.html")}
    assert set(images) == pages - {"404.html"}
    for name in (ROOT / "docs" / "examples").glob("plot_*.py"):
        assert images[f"generated/gallery/{name.stem}/index.html"] >= 1, name.stem
    assert images["architecture/index.html"] == 1


def test_architecture_figure_is_drawn_from_the_layer_contract(tmp_path, monkeypatch):
    """docs/img/architecture.svg shows the import-linter layers of pyproject.toml, as they are."""
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import architecture_figure
    finally:
        sys.path.remove(str(ROOT / "docs"))
    monkeypatch.setattr(architecture_figure, "OUT", tmp_path / "architecture.svg")
    architecture_figure.main()
    committed = (ROOT / "docs" / "img" / "architecture.svg").read_text()
    assert (tmp_path / "architecture.svg").read_text() == committed, (
        "the layers changed: run .venv/bin/python docs/architecture_figure.py"
    )
    layers = architecture_figure.layers()
    assert layers[0] == [
        "arguments",
        "cost",
        "defaults",
        "errors",
        "treebuild",
        "_resources",
        "_runtime",
    ] and layers[-1] == ["cli"]
