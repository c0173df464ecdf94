"""The value of pooling for a new group: the new-group backtest and the effects LOO chooses.

For every grouped public table where groups have a ladder of model sizes (Gadre et al.'s three
training datasets; Muennighoff et al.'s data-constrained runs on C4 and OSCAR, final
checkpoints; Ruan et al.'s public base models by family, HellaSwag error against compute),
each group keeps its ``k`` smallest model sizes and its larger runs are predicted by the group
alone, complete pooling and partial pooling with each candidate effects structure
(:func:`bayescale.pooling.new_group_backtest`); then :func:`bayescale.pooling.choose_effects`
compares the candidates by LOO on the whole table. Prints, per dataset, the per-case table, its
mean over groups and the choice; writes the figure (error and coverage against ``k``) to
``<prefix>-<dataset>.png`` and the table to ``.csv`` beside it (prefix: the first argument,
default ``pooling``).

Run: ``.venv/bin/python benchmarks/pooling.py [prefix] [case ...]`` (cases: ``gadre2024``,
``datablations``, ``obsscaling``; all by default, about 2 h on 2 cores with default NUTS
settings; reads ../shared/datasets or ``BAYESCALE_DATA_MIRROR``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("BAYESCALE_DATA_MIRROR", str(ROOT.parent / "shared" / "datasets"))

import common  # noqa: E402
import pandas as pd  # noqa: E402

import bayescale as bs  # noqa: E402
from bayescale import calibration, pooling  # noqa: E402
from bayescale.plotting import plot_pooling  # noqa: E402

COLUMNS = ["level", "k", "method", "n_train", "n_test", "coverage_0.5", "coverage_0.9"]
COLUMNS += ["interval_score_90", "are_median", "fit_ok", "status"]


def gadre() -> tuple[pd.DataFrame, bs.Model, str, tuple[int, ...]]:
    """Gadre et al. 2024: 104 runs on three training datasets, 6 sizes each."""
    return bs.datasets.load("gadre2024_overtraining"), bs.Model("chinchilla"), "family", (1, 2, 3)


def datablations() -> tuple[pd.DataFrame, bs.Model, str, tuple[int, ...]]:
    """Muennighoff et al. 2023: final checkpoints of 48 runs on C4 and OSCAR, 3 sizes each."""
    df = bs.datasets.load("hitchhiker_colpret", "datablations")
    final = df.sort_values("tokens").groupby("run").tail(1).reset_index(drop=True)
    model = bs.Model("data_constrained", columns={"unique_tokens": "tokens_per_epoch"})
    return final, model, "dataset", (1, 2)


def obsscaling() -> tuple[pd.DataFrame, bs.Model, str, tuple[int, ...]]:
    """Ruan et al. 2024: HellaSwag error of public base models against compute, by family.

    A saturating power law in training compute (no pretraining loss is published for these
    models; Ruan et al. find benchmark scores smooth in log compute within a family). Models
    without FLOPs or a HellaSwag score cannot be placed and are listed, not dropped silently.
    Families with three or more sizes are in the pooled fits; those with five or more are held
    out in turn.
    """
    df = bs.datasets.load("obsscaling")
    unplaced = df["flops"].isna() | df["HellaSwag"].isna()
    print(f"obsscaling: {int(unplaced.sum())} models without FLOPs or HellaSwag left out:")
    print("  " + ", ".join(df.loc[unplaced, "Model"].astype(str)))
    df = df[~unplaced]
    # A family with one or two models lets its effects fit them exactly; under the Student-t
    # default the noise scale then collapsed (sigma 1e-24, nu 0.008 in one chain; predictive
    # draws overflowed, even with families of three sizes and E and A varying): the normal
    # likelihood, and families with three or more sizes.
    sizes = df.groupby("family")["params"].transform("nunique")
    print(f"obsscaling: {int((sizes < 3).sum())} models of families with < 3 sizes left out")
    df = df[sizes >= 3].assign(hellaswag_error=lambda d: 1 - d["HellaSwag"])
    law = bs.laws.get("power", x="C")
    model = bs.Model(law, likelihood="normal", columns={"loss": "hellaswag_error"})
    return df.reset_index(drop=True), model, "family", (1, 2)


CASES = {"gadre2024": gadre, "datablations": datablations, "obsscaling": obsscaling}
#: Levels held out in turn, where not every level has a ladder of sizes: the families with five
#: or more sizes (six, 5-8 sizes each; the others are in every pooled fit).
HELD_OUT = {
    "obsscaling": lambda df: sorted(
        df.groupby("family")["params"].nunique().loc[lambda n: n >= 5].index
    )
}


def run(name: str, prefix: str) -> None:
    """Backtest, summarise, choose and draw one dataset."""
    df, model, group, ks = CASES[name]()
    start = time.perf_counter()
    groups = HELD_OUT[name](df) if name in HELD_OUT else sorted(df[group].astype(str).unique())
    print(f"\n## {name}: group {group!r}, {len(df)} rows, k = {list(ks)}\n", flush=True)
    parts = []
    for level in groups:  # one group at a time, printed as it comes
        part = pooling.new_group_backtest(
            model, df, group, ks=ks, dataset=name, groups=[level], method="auto"
        )
        print(part[COLUMNS].round(3).to_string(index=False), flush=True)
        parts.append(part)
    table = calibration.concat_backtests(parts)
    took = time.perf_counter() - start
    print(f"\nnew-group backtest: {len(table)} cases in {took:.0f} s\n")
    print(pooling.summarise_backtest(table).round(3).to_string(index=False))
    warned = table.loc[table["data_warnings"].fillna("") != "", ["level", "k", "method"]]
    print(f"\ncases whose training rows drew a data warning: {warned.to_dict('records')}\n")
    figure = Path(f"{prefix}-{name}.png")
    table.to_csv(figure.with_suffix(".csv"), index=False)
    start = time.perf_counter()
    choice = pooling.choose_effects(model, df, group, backtest_table=table, method="auto")
    print(choice)
    print(f"\neffects choice: {time.perf_counter() - start:.0f} s")
    plot_pooling(table, figure)
    print(f"figure: {figure}")


def main(prefix: str = "pooling", *names: str) -> None:
    """Run the named cases (default: every case)."""
    if prefix in CASES:
        sys.exit(f"The first argument is the output prefix, not a case: pooling.py out {prefix}")
    if not common.ready():
        return
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        sys.exit(f"Unknown case(s) {unknown}; choose from {list(CASES)}.")
    pd.set_option("display.width", 200)
    for name in names or CASES:
        run(name, prefix)


if __name__ == "__main__":
    main(*sys.argv[1:])
