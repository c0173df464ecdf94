"""Draw docs/img/architecture.svg from the import-linter layers in pyproject.toml.

Run ``.venv/bin/python docs/architecture_figure.py`` after changing the layers; the figure is
drawn from the contract itself, so the picture and the check cannot disagree.
"""

from __future__ import annotations

import html
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img" / "architecture.svg"

#: What each layer does, bottom to top (the figure's right-hand column).
ROLES = [
    "constants, errors, runtime set-up",
    "laws (registry, formulas, priors)",
    "group terms",
    "data: table -> validated arrays; datasets",
    "model pieces: sample sites, likelihood, extrapolation",
    "inference: one NUTS engine, one MAP + Laplace",
    "the one prediction path; LOO",
    "a prediction's inputs and group levels; the tree's file",
    "posterior: the DataTree and its views",
    "fit: table + model -> posterior",
    "Model(...)'s arguments checked and normalised",
    "Model: an immutable description (+ fit shorthand)",
    "the frontier; a saved fit read back",
    "consumers: decisions, calibration, compare, ...",
    "backtests of pooling (new groups, LOO) and of the frontier",
    "figures",
    "report (assembles)",
    "command line",
]


def layers() -> list[list[str]]:
    """Return the layers of the contract, bottom first, each a list of module names."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        contracts = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    spec = next(c for c in contracts if c["type"] == "layers")["layers"]
    return [[m.strip().removeprefix("bayescale.") for m in layer.split("|")] for layer in spec][
        ::-1
    ]


def main() -> None:
    """Write the figure."""
    rows = layers()
    if len(rows) != len(ROLES):
        raise SystemExit(f"{len(rows)} layers in pyproject.toml, {len(ROLES)} ROLES: add its role.")
    width, row_h, gap, left = 1060, 34, 8, 10
    height = len(rows) * (row_h + gap) + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="22" font-size="15" font-weight="bold">bayescale: layers '
        "(imports point down only; checked by import-linter)</text>",
    ]
    for i, modules in enumerate(rows):
        y = height - 20 - (i + 1) * (row_h + gap)
        box_w = (600 - gap * (len(modules) - 1)) / len(modules)
        for j, mod in enumerate(modules):
            x = left + j * (box_w + gap)
            shade = 235 - int(100 * i / max(1, len(rows) - 1))
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{box_w:.1f}" height="{row_h}" rx="5" '
                f'fill="rgb({shade},{shade + 10 if shade < 245 else 255},255)" stroke="#345"/>'
            )
            parts.append(
                f'<text x="{x + box_w / 2:.1f}" y="{y + row_h / 2 + 4}" text-anchor="middle">'
                f"{html.escape(mod)}</text>"
            )
        role = ROLES[i]
        parts.append(
            f'<text x="{left + 620}" y="{y + row_h / 2 + 4}" fill="#333">{html.escape(role)}</text>'
        )
    parts.append(
        f'<text x="{left}" y="{height - 4}" fill="#555">a table enters at data, goes up through '
        "model, fit and posterior; every consumer asks the prediction path for losses</text>"
    )
    parts.append("</svg>")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(parts) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
