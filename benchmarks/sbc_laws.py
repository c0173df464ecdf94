"""Simulation-based calibration of every registered law and every preset in ``models/``.

For each law (with its default priors) and each preset, on a typical design of that law's
inputs: ``--sims`` prior draws, one simulated table each, fitted at once by batched NUTS
(:func:`bayescale.calibration.sbc`), and the ranks of each true population-level parameter among
its posterior draws tested for uniformity (chi-square over 10 bins). Prints one row per
parameter: chi-square p-value, the number of simulations and of fits with any divergence.
Also the family preset on three families with the default centring rule (few levels).
Run: ``.venv/bin/python benchmarks/sbc_laws.py [--sims 200] [--only chinchilla,bnsl,few]``
(about 40 min on 2 cores at 200 simulations; the table is in ``docs/calibration.md``).
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

import bayescale as bs
from bayescale import calibration as cal

#: Model options each law needs (bounded metrics on the logit scale).
LAW_OPTIONS = {"sigmoid_link": {"scale": "logit"}, "exponential_link": {"scale": "logit"}}


def law_design(name: str) -> pd.DataFrame:
    """The law's typical design, with a placeholder loss column (``sbc`` simulates the loss)."""
    df = bs.simulate.typical_design(name)
    df["loss"] = 0.5 if name in LAW_OPTIONS else 3.0  # within every law's loss range
    return df


def preset_design(model: bs.Model, families: int = 4) -> pd.DataFrame:
    """A simulated isoFLOP ladder with the group columns the preset's effects name."""
    columns = {c for terms in model.effects.values() for t in terms for c in t.columns}
    df = bs.simulate_ladder(
        budgets=(1e18, 1e19, 1e20),
        sizes_per_budget=5,
        families=families if "family" in columns else 1,
        seeds=2 if "seed" in columns else 1,
        seed=0,
    )
    if "D" in model.law.inputs and "N" not in model.law.inputs:
        df = df.drop(columns=["params"], errors="ignore")
    return df


def cases(only: set[str] | None) -> list[tuple[str, bs.Model, pd.DataFrame]]:
    """``(name, model, design)`` for every law and preset (or the ``only`` ones)."""
    out = []
    for name in bs.laws.available():
        if only is None or name in only:
            model = bs.Model(law=name, run=False, centered=False, **LAW_OPTIONS.get(name, {}))
            out.append((f"law {name}", model, law_design(name)))
    for name in bs.presets.available_presets():
        if only is None or name in only:
            model = bs.Model.from_preset(name, run=False, centered=False)
            out.append((f"preset {name}", model, preset_design(model)))
    few = "chinchilla_family (3 families)"  # few levels: the group scale is weakly identified
    if only is None or few in only or "few" in only:
        model = bs.Model.from_preset("chinchilla_family", run=False)  # default centring rule
        out.append((f"preset {few}", model, preset_design(model, families=3)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--iters", type=int, default=200, help="warm-up and draws per fit")
    parser.add_argument("--only", default=None, help="comma-separated law or preset names")
    args = parser.parse_args()
    only = None if args.only is None else set(args.only.split(","))
    rows = []
    # a design's placeholder loss is constant: the table checks would say so, to no purpose
    warnings.simplefilter("ignore", bs.DataWarning)
    for name, model, design in cases(only):
        start = time.perf_counter()
        try:
            table = cal.sbc(
                model, design, n_sims=args.sims, draws=args.iters, warmup=args.iters, thin=2
            )
        except Exception as err:  # a benchmark reports every case
            print(f"{name}: failed: {type(err).__name__}: {err}", flush=True)
            continue
        seconds = time.perf_counter() - start
        table.attrs = {}  # the ranks: concatenating tables compares their attrs
        table.insert(0, "case", name)
        table["seconds"] = round(seconds, 1)
        rows.append(table)
        print(table.drop(columns=["chi2"]).to_string(index=False), flush=True)
    result = pd.concat(rows, ignore_index=True)
    result["uniform (p > 0.001)"] = result["p_value"] > 0.001
    print("\n" + markdown(result.drop(columns=["chi2"])))


def markdown(table: pd.DataFrame) -> str:
    """The table as a Markdown table (numbers to three significant digits)."""
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in row] for row in table.values]
    lines = ["| " + " | ".join(map(str, table.columns)) + " |"]
    lines.append("|" + "---|" * table.shape[1])
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
