"""The value of pooling for a new group: the new-group backtest and the effects LOO chooses.

For every grouped public table reachable (Gadre et al.'s three training datasets), each group
keeps its ``k`` smallest model sizes and its larger runs are predicted by the group alone,
complete pooling and partial pooling with each candidate effects structure
(:func:`bayescale.pooling.new_group_backtest`); then :func:`bayescale.pooling.choose_effects`
compares the candidates by LOO on the whole table. Prints the per-case table, its mean over
groups and the choice; writes the figure (error and coverage against ``k``) to the path given
as the first argument (default ``pooling.png``) and the table beside it (``.csv``).

Run: ``.venv/bin/python benchmarks/pooling.py [figure.png]`` (about 25 min on 2 cores, default
NUTS settings; reads ../shared/datasets or ``BAYESCALE_DATA_MIRROR``).
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
from bayescale import pooling  # noqa: E402
from bayescale.plotting import plot_pooling  # noqa: E402

KS = (1, 2, 3)
COLUMNS = ["level", "k", "method", "n_train", "n_test", "coverage_0.5", "coverage_0.9"]
COLUMNS += ["interval_score_90", "are_median", "fit_ok", "status"]


def main(figure: str = "pooling.png") -> None:
    """Run the new-group backtest and the LOO choice on Gadre et al.'s datasets."""
    if not common.ready():
        return
    pd.set_option("display.width", 200)
    df = bs.datasets.load("gadre2024_overtraining")
    model = bs.Model("chinchilla")
    start = time.perf_counter()
    table = pooling.new_group_backtest(
        model, df, "family", ks=KS, dataset="gadre2024", method="auto"
    )
    took = time.perf_counter() - start
    print(table[COLUMNS].round(3).to_string(index=False))
    print(f"\nnew-group backtest: {len(table)} cases in {took:.0f} s\n")
    print(pooling.summarise_backtest(table).round(3).to_string(index=False))
    notes = table.loc[table["data_warnings"].fillna("") != "", ["level", "k", "method"]]
    print(f"\ncases whose training rows drew a data warning: {notes.to_dict('records')}\n")
    table.to_csv(Path(figure).with_suffix(".csv"), index=False)
    start = time.perf_counter()
    choice = pooling.choose_effects(model, df, "family", backtest_table=table, method="auto")
    print(choice)
    print(f"\neffects choice: {time.perf_counter() - start:.0f} s")
    plot_pooling(table, figure)
    print(f"figure: {figure}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
