"""What the benchmark scripts share: the mirror check, Epoch's fitted runs, pooled ranges."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayescale as bs


def ready() -> bool:
    """Return whether the shared datasets are reachable (else say which variable to set)."""
    if not Path(os.environ["BAYESCALE_DATA_MIRROR"]).is_dir():
        print("shared datasets not found: set BAYESCALE_DATA_MIRROR", file=sys.stderr)
        return False
    warnings.simplefilter("ignore")
    return True


def epoch_runs() -> pd.DataFrame:
    """Epoch's Chinchilla runs without the 5 highest losses (as Epoch fitted them)."""
    df = bs.datasets.load("epoch_chinchilla")
    return df.drop(df["loss"].nlargest(5).index)


def pooled_coverage_range(
    references: list[np.ndarray], weights: np.ndarray | None = None, n: int = 4000
) -> tuple[float, float]:
    """5-95 % range of a pooled coverage that a calibrated forecast of every unit would show.

    ``references`` holds each unit's (split's, curve's) coverages if calibrated
    (``bs.calibration.coverage_if_calibrated``). One of each, drawn at random (seed 0) and
    averaged with ``weights`` (its points), is one draw of the pooled coverage if the units err
    independently; where they err together the true range is wider.
    """
    rng = np.random.default_rng(0)
    draws = np.stack([rng.choice(r, n) for r in references])  # (units, n)
    lo, hi = np.quantile(np.average(draws, axis=0, weights=weights), [0.05, 0.95])
    return float(lo), float(hi)
