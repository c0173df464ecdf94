"""Example parameter values and designs for every registered law (shared by the law tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import bayescale as bs
from bayescale.likelihood import from_location, to_location

CHINCHILLA = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}

#: Published values where the paper gives them, otherwise plausible ones.
NATURAL = {
    "chinchilla": CHINCHILLA,
    "power": {"E": 1.8172, "A": 482.01, "alpha": 0.3478},
    "kaplan": {"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095},
    "bnsl": {"E": 2.0, "b": 10.0, "c0": 0.3, "d1": 1e3, "c1": 0.2, "f1": 0.5},
    "farseer": {
        "a1": -1.0,
        "b1": -0.5,
        "alpha": 0.05,
        "a2": 3.0,
        "b2": 0.5,
        "beta": -0.1,
        "a3": 2.0,
        "b3": 0.4,
        "gamma": -0.2,
    },
    "data_constrained": {**CHINCHILLA, "R_D": 15.4, "R_N": 5.3},
    "annealing": {"L0": 2.0, "A": 1.0, "alpha": 0.5, "C": 0.1},
    "sigmoid_link": {"ceiling": 0.8, "k": 3.0, "L_mid": 3.0},
    "exponential_link": {"epsilon": 0.75, "k": 0.75 * np.exp(1.5), "gamma": 1.0},
    "loss_to_loss": {"E_y": 1.5, "E_x": 1.0, "K": 0.8, "kappa": 1.1},
    "m4": {"E": 0.2, "E0": 1.0, "alpha": 0.8, "beta": 1e4, "c": 0.5},
}

#: Model options each law needs (bounded metrics on the logit scale).
MODEL_KWARGS = {"sigmoid_link": {"scale": "logit"}, "exponential_link": {"scale": "logit"}}


def design(name: str) -> pd.DataFrame:
    """Inputs of a typical experiment for the law (no loss column)."""
    return bs.simulate.typical_design(name)


def simulate(name: str, sigma: float = 0.005, seed: int = 0) -> pd.DataFrame:
    """A table simulated from :data:`NATURAL` with normal noise on the likelihood's scale."""
    law = bs.laws.get(name)
    df = design(name)
    model = bs.Model(law=law, run=False, **MODEL_KWARGS.get(name, {}))
    x = {k: df[bs.laws.INPUTS[k]].to_numpy(float) for k in law.inputs}
    mean = np.asarray(law.natural_mean(NATURAL[name], x))
    rng = np.random.default_rng(seed)
    loc = np.asarray(to_location(mean, model.scale)) + sigma * rng.standard_normal(mean.size)
    df["loss"] = np.asarray(from_location(loc, model.scale))
    return df


def checkpoint_runs() -> pd.DataFrame:
    """Six runs (one size each) with three checkpoints each, on a noiseless Chinchilla-like law."""
    rows = [
        {"params": n, "tokens": d, "run": f"r{i}", "loss": 1.8 + 400 * n**-0.34 + 400 * d**-0.28}
        for i, n in enumerate([2e7, 5e7, 1e8, 2e8, 5e8, 1e9])
        for d in (1e9, 3e9, 1e10)
    ]
    return pd.DataFrame(rows)
