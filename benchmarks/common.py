"""What the benchmark scripts share: the offline mirror check and Epoch's fitted runs."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

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
