"""The usual point fit with a bootstrap, as Epoch AI did (baseline for the backtests).

Chinchilla law fitted on log loss with a Huber loss (delta = 1e-3), in the log-sum-exp form
``log L = LSE(a - alpha log N, b - beta log D, e)``, by L-BFGS from a grid of starting points;
uncertainty from a nonparametric bootstrap of the rows (Besiroglu et al. 2024).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import huber, logsumexp

GRID = list(
    itertools.product(
        [0, 5, 10, 15, 20, 25],
        [0, 5, 10, 15, 20, 25],
        [-1, -0.5, 0, 0.5],
        [0, 0.5, 1, 1.5, 2],
        [0, 0.5, 1, 1.5, 2],
    )
)


def _objective(theta, log_n, log_d, log_y, delta):
    a, b, e, alpha, beta = theta
    pred = logsumexp(
        np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)]), axis=0
    )
    return huber(delta, pred - log_y).sum()


def fit_huber(df: pd.DataFrame, delta: float = 1e-3, n_starts: int = 60, seed: int = 0) -> dict:
    """Best of ``n_starts`` L-BFGS runs from Epoch's grid; returns E, A, B, alpha, beta."""
    log_n, log_d = np.log(df["params"].to_numpy(float)), np.log(df["tokens"].to_numpy(float))
    log_y = np.log(df["loss"].to_numpy(float))
    rng = np.random.default_rng(seed)
    starts = [GRID[i] for i in rng.choice(len(GRID), n_starts, replace=False)]
    best = min(
        (
            minimize(_objective, s, args=(log_n, log_d, log_y, delta), method="L-BFGS-B")
            for s in starts
        ),
        key=lambda r: r.fun,
    )
    a, b, e, alpha, beta = best.x
    return {"A": np.exp(a), "B": np.exp(b), "E": np.exp(e), "alpha": alpha, "beta": beta}


def predict(params: dict, n: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Chinchilla law at ``n``, ``d``."""
    return params["E"] + params["A"] * n ** -params["alpha"] + params["B"] * d ** -params["beta"]


def bootstrap_draws(
    train: pd.DataFrame, test: pd.DataFrame, n_boot: int = 100, seed: int = 0
) -> np.ndarray:
    """Predictions of the test rows from ``n_boot`` bootstrap refits (draws x rows)."""
    rng = np.random.default_rng(seed)
    n, d = test["params"].to_numpy(float), test["tokens"].to_numpy(float)
    out = []
    for b in range(n_boot):
        sample = train.iloc[rng.integers(0, len(train), len(train))]
        out.append(predict(fit_huber(sample, n_starts=12, seed=b), n, d))
    return np.asarray(out)
