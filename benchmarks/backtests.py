"""Extrapolation backtests over the shared datasets: bayescale beside the bootstrap baseline.

Prints one table: dataset, split, coverage of the 50/80/90/95 % intervals, and the median ARE,
for bayescale's default model (with its extrapolation-error term), the same model trusting the
law exactly (``extrapolation_scale=0``), and Epoch-style Huber fits with a bootstrap. Run:
``.venv/bin/python benchmarks/backtests.py`` (about 10 min on 2 cores; reads
../shared/datasets or ``BAYESCALE_DATA_MIRROR``).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("BAYESCALE_DATA_MIRROR", str(ROOT.parent / "shared" / "datasets"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bootstrap_baseline import bootstrap_draws  # noqa: E402

import bayescale as bs  # noqa: E402
from bayescale import calibration as cal  # noqa: E402


def cases():
    """(dataset, table, effects, split functions)."""
    epoch = bs.datasets.load("epoch_chinchilla")
    epoch = epoch.drop(epoch["loss"].nlargest(5).index)
    gadre = bs.datasets.load("gadre2024_overtraining")
    gem = bs.datasets.load("gemstones", "hot")
    slim = bs.datasets.load("gemstones", "slim_chinchilla")

    def overtrained(d, m):
        test = d["chinchilla_multiplier"].to_numpy() >= 8
        return cal.Split("tokens/param >= 8x Chinchilla", ~test, test)

    return [
        (
            "epoch_chinchilla",
            epoch,
            None,
            [
                lambda d, m: cal.split_by_compute(d, m, 0.75),
                lambda d, m: cal.split_by_compute(d, m, 0.5),
                lambda d, m: cal.split_by_size(d, m, 5),
            ],
        ),
        (
            "gadre2024 (family=dataset)",
            gadre,
            {"E": "family"},
            [
                lambda d, m: cal.split_by_compute(d, m, 0.75),
                lambda d, m: cal.split_by_size(d, m, 1),
                overtrained,
            ],
        ),
        (
            "gemstones hot",
            gem,
            None,
            [lambda d, m: cal.split_curve_tail(d, m, 0.3), lambda d, m: cal.split_by_size(d, m, 4)],
        ),
        ("gemstones slim_chinchilla", slim, None, [lambda d, m: cal.split_by_compute(d, m, 0.75)]),
    ]


def main() -> int:
    if not Path(os.environ["BAYESCALE_DATA_MIRROR"]).is_dir():
        print("shared datasets not found: set BAYESCALE_DATA_MIRROR", file=sys.stderr)
        return 0
    warnings.simplefilter("ignore")
    rows = []
    for name, df, effects, split_fns in cases():
        for split_fn in split_fns:
            for label, model in (
                ("bayescale default", bs.Model(effects=effects)),
                (
                    "law only (no extrapolation term)",
                    bs.Model(effects=effects, extrapolation_scale=0),
                ),
            ):
                split = split_fn(df, model)
                t = cal.backtest(model, df, split, dataset=name)
                rows.append({"method": label, **t.iloc[0].to_dict()})
            train, test = df[split.train], df[split.test]
            draws = bootstrap_draws(train, test, n_boot=100)
            summary, _ = cal.score_predictions(draws, test["loss"].to_numpy(float))
            rows.append(
                {
                    "method": "Huber + bootstrap",
                    "dataset": name,
                    "split": split.name,
                    "n_train": len(train),
                    "n_test": len(test),
                    **summary,
                }
            )
            print(
                pd.DataFrame(rows[-3:])[
                    ["method", "dataset", "split", "coverage_0.9", "are_median"]
                ].to_string(index=False),
                flush=True,
            )
    table = pd.DataFrame(rows)
    for method, sub in table.groupby("method"):
        pooled = np.average(sub["coverage_0.9"], weights=sub["n_test"])
        print(
            f"{method}: pooled 90 % coverage {pooled:.3f}"
            f" over {int(sub['n_test'].sum())} held-out points; mean over splits "
            f"{sub['coverage_0.9'].mean():.3f}; median of split ARE medians "
            f"{sub['are_median'].median():.3%}"
        )
    cols = [
        "dataset",
        "split",
        "method",
        "n_test",
        "coverage_0.5",
        "coverage_0.8",
        "coverage_0.9",
        "coverage_0.95",
        "are_median",
    ]
    pd.set_option("display.width", 200)
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
