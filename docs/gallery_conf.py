"""mkdocs-gallery's configuration: offline data, and the figures bayescale's plots return.

bayescale draws on ``matplotlib.figure.Figure`` without pyplot (so it never switches a
notebook's backend), and mkdocs-gallery's matplotlib scraper only sees pyplot's figures; the
scraper below embeds every new ``Figure`` an example's block leaves in its variables.
"""

import os
from pathlib import Path

from matplotlib.figure import Figure
from mkdocs_gallery.scrapers import figure_md_or_html

from bayescale.datasets import MIRROR_ENV

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if MIRROR_ENV not in os.environ and _SHARED.is_dir():
    os.environ[MIRROR_ENV] = str(_SHARED)

#: Figures already shown, per example (kept, not their ids: a collected figure's id is reused).
_shown: dict[str, list[Figure]] = {}


def figure_scraper(block, script, **kwargs):
    """Save each ``Figure`` (or list of them) first bound in this block; return its Markdown."""
    if block[0] == "text":
        return ""
    seen = _shown.setdefault(str(script.src_py_file), [])
    paths = []
    found = []
    for value in list(script.run_vars.example_globals.values()):
        found += value if isinstance(value, list | tuple) else [value]
    for value in found:
        if not isinstance(value, Figure) or any(value is f for f in seen):
            continue
        seen.append(value)
        if value.canvas.manager is not None:
            # pyplot's own (arviz_plots draws through pyplot): the matplotlib scraper, which runs
            # after this one, saves and closes it
            continue
        path = Path(next(script.run_vars.image_path_iterator))
        value.savefig(path, dpi=110, bbox_inches="tight")
        paths.append(path)
    # one image each: mkdocs-gallery's several-image layout renders as a code block
    return "\n\n".join(figure_md_or_html([p], script) for p in paths)


# A block's last expression is shown only if it renders as HTML (a table), not as a repr such as
# "<matplotlib.legend.Legend object at 0x...>".
conf = {"image_scrapers": (figure_scraper, "matplotlib"), "capture_repr": ("_repr_html_",)}
