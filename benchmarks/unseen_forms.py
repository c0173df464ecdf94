"""Stress test on law forms the fit has never seen: simulated iso-FLOP ladders, truth known.

The backtests on public ladders (``backtests.py``, ``frontier_backtest.py``) cannot say where a
fit's errors come from, nor where the compute-optimal size truly lies: a measured iso-FLOP
minimum is a parabola through a few noisy runs. Here the truth is known. Each truth below
generates an iso-FLOP ladder of nine budgets from 1e17 to 1e19 FLOP (a quarter decade apart,
seven sizes from a quarter to four times the true ``N*`` each) with noise of the size seen in
Epoch's runs (0.7 % per run and 0.4 % per model size, in log loss: the residual scatter of
Epoch's Chinchilla fit and the part of it shared by the runs of one size). The default model
(the Chinchilla law) is fitted and scored at budgets 0.3, 0.6, 1, 1.5 and 2 decades past the
data (the same profile design):

- the held-out losses: coverage of the 90 % and 50 % predictive intervals, the 90 % width and
  the median absolute error of the median (log loss);
- the frontier's 90 % ``N*`` band against the true ``N*`` (the law's own optimum, no noise) and
  against the minimum a profile measures (:func:`bayescale.isoflop.isoflop_minima` on the
  held-out runs, the quantity the frontier backtest on public ladders counts).

Methods: the default (``extrapolation="learned"``), the prior across ladders alone
(``"prior"``), the previous linear drift (``"fixed"``), the law alone (``"none"``), and the law
LOO prefers among Chinchilla's, Farseer's and Kaplan's (:func:`bayescale.compare.choose_law`,
each with the default error).

The truths:

- ``chinchilla``: Hoffmann et al. (2022)'s fitted law, the form fitted (well specified);
- ``kaplan``: Kaplan et al. (2020)'s ``L = ((N_c / N)^(a_N / a_D) + D_c / D)^a_D`` with their
  constants (no irreducible term, the two inputs interacting);
- ``bend``: Hoffmann's law whose parameter term flattens past 1e9 parameters (a smoothly broken
  power law, Caballero et al. 2022; its exponent 0.34 falls towards 0.26);
- ``beta_of_n``: Hoffmann's law with a data exponent that shrinks slowly with size
  (``beta (N / 1e8)^-0.02``; Farseer, Li et al. 2025, reports a size-dependent data term).

The magnitudes of ``bend`` and ``beta_of_n`` are illustrative, not estimates; nothing in the
package's defaults was set from this script. Run: ``.venv/bin/python
benchmarks/unseen_forms.py [--seeds 5]`` (about 4 min on 2 cores; docs/calibration.md has the
table).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

import bayescale as bs
from bayescale.isoflop import isoflop_minima

#: Hoffmann et al. (2022)'s fitted Chinchilla law.
HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
#: Budgets fitted (FLOP) and the distances (decades past the largest) scored.
TRAIN_BUDGETS = np.geomspace(1e17, 1e19, 9)
DISTANCES = (0.3, 0.6, 1.0, 1.5, 2.0)
#: Noise of a run and of a model size (sd of log loss), as in Epoch's runs.
RUN_SD, SIZE_SD = 0.007, 0.004
SIZES = 7
MODES = ("learned", "prior", "fixed", "none")


def chinchilla(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Hoffmann et al.'s law."""
    p = HOFFMANN
    return p["E"] + p["A"] * n ** -p["alpha"] + p["B"] * d ** -p["beta"]


def kaplan(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Kaplan et al. (2020), eq. 1.5, with their constants."""
    a_n, a_d, n_c, d_c = 0.076, 0.095, 8.8e13, 5.4e13
    return ((n_c / n) ** (a_n / a_d) + d_c / d) ** a_d


def bend(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Hoffmann's law whose parameter term flattens past 1e9 parameters."""
    p = HOFFMANN
    return p["E"] + p["A"] * n ** -p["alpha"] * (1 + n / 1e9) ** 0.08 + p["B"] * d ** -p["beta"]


def beta_of_n(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Hoffmann's law with a data exponent shrinking slowly with size."""
    p = HOFFMANN
    return p["E"] + p["A"] * n ** -p["alpha"] + p["B"] * d ** -(p["beta"] * (n / 1e8) ** -0.02)


TRUTHS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "chinchilla": chinchilla,
    "kaplan": kaplan,
    "bend": bend,
    "beta_of_n": beta_of_n,
}


def true_n_star(law: Callable, compute: float) -> float:
    """The truth's compute-optimal size at ``compute`` (C = 6 N D), on a fine grid."""
    n = np.geomspace(1e5, 1e14, 40001)
    return float(n[np.argmin(law(n, compute / (6 * n)))])


def ladder(
    law: Callable, budgets: np.ndarray, rng: np.random.Generator, size_effect: dict
) -> pd.DataFrame:
    """Iso-FLOP profiles of ``SIZES`` runs around the true optimum, with run and size noise.

    ``size_effect`` maps a size (log10 N to 0.1) to its deviation, drawn at its first run and
    shared by every later one, held-out runs included.
    """
    rows = []
    for c in budgets:
        for n in true_n_star(law, c) * np.geomspace(0.25, 4.0, SIZES):
            key = round(float(np.log10(n)), 1)  # runs of one size share their deviation
            size_effect.setdefault(key, SIZE_SD * rng.standard_normal())
            d = c / (6 * n)
            noise = size_effect[key] + RUN_SD * rng.standard_normal()
            rows.append((n, d, c, float(law(n, d)) * np.exp(noise)))
    return pd.DataFrame(rows, columns=["params", "tokens", "flops", "loss"])


def score(post, test: pd.DataFrame, law: Callable, budgets: np.ndarray) -> list[dict]:
    """Per held-out budget: loss coverage, width and error; N* against truth and measurement."""
    draws = post.predict("predictive", N=test["params"].to_numpy(), D=test["tokens"].to_numpy())
    draws = np.asarray(draws).reshape(-1, len(test))
    q05, q25, q50, q75, q95 = np.quantile(draws, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    y = test["loss"].to_numpy()
    front = bs.frontier(post, budgets)
    band = front["N_opt"].quantile([0.5, 0.05, 0.95], dim=("chain", "draw")).values
    measured = isoflop_minima(test).set_index("profile")
    rows = []
    for i, c in enumerate(budgets):
        at = test["flops"].to_numpy() == c
        truth = true_n_star(law, c)
        m = measured.iloc[np.argmin(np.abs(measured["compute"].to_numpy() - c))]
        rows.append(
            {
                "distance": round(float(np.log10(c / TRAIN_BUDGETS[-1])), 2),
                "cover90": float(np.mean((y[at] >= q05[at]) & (y[at] <= q95[at]))),
                "cover50": float(np.mean((y[at] >= q25[at]) & (y[at] <= q75[at]))),
                "width90": float(np.median(np.log(q95[at] / q05[at]))),
                "abs_err": float(np.median(np.abs(np.log(q50[at] / y[at])))),
                "N*_true_inside": bool(band[1][i] <= truth <= band[2][i]),
                # a profile whose parabola brackets no minimum measured nothing: not counted
                "N*_measured_inside": (
                    float(band[1][i] <= m["N_opt"] <= band[2][i]) if m["ok"] else np.nan
                ),
                "N*_error": float(np.log10(truth / band[0][i])),
                "N*_width": float(np.log10(band[2][i] / band[1][i])),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    budgets = TRAIN_BUDGETS[-1] * 10.0 ** np.asarray(DISTANCES)
    rows, chosen_laws = [], []
    for name, law in TRUTHS.items():
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            sizes: dict = {}  # the deviation of a model size, shared by all its runs
            train = ladder(law, TRAIN_BUDGETS, rng, sizes)
            test = ladder(law, budgets, rng, sizes)
            fits = {}
            for mode in MODES:
                start = time.perf_counter()
                post = bs.Model(extrapolation=mode).fit(train, progress_bar=False, seed=seed)
                seconds = time.perf_counter() - start
                fits[mode] = post
                for row in score(post, test, law, budgets):
                    rows.append({"truth": name, "mode": mode, "seed": seed, **row})
                print(f"{name} seed {seed} {mode}: {seconds:.1f} s", flush=True)
            # the law LOO prefers (bs.compare.choose_law: Chinchilla's unless another is more
            # than two standard errors better), reusing the default's fit
            choice = bs.compare.choose_law(
                bs.Model(), train, fitted={"chinchilla": fits["learned"]}, seed=seed
            )
            chosen = choice.chosen
            for row in score(choice.posterior, test, law, budgets):
                rows.append({"truth": name, "mode": "LOO choice", "seed": seed, **row})
            best = choice.loo.index[0]
            chosen_laws.append(
                {
                    "truth": name,
                    "seed": seed,
                    "chosen": chosen,
                    "best": best,
                    # how far Chinchilla's law is below the best, in ELPD and its SE
                    "chinchilla_gap": float(-choice.loo.loc["chinchilla", "elpd_diff"]),
                    "gap_se": float(choice.loo.loc["chinchilla", "dse"]),
                }
            )
            print(f"{name} seed {seed}: LOO prefers {chosen}", flush=True)
    table = pd.DataFrame(rows)
    cols = ["cover90", "cover50", "width90", "abs_err", "N*_true_inside", "N*_measured_inside"]
    cols += ["N*_error", "N*_width"]
    pd.set_option("display.width", 200)
    print("\nby truth, mode and distance (mean over seeds):")
    print(table.groupby(["truth", "mode", "distance"])[cols].mean().round(3).to_string())
    print("\nthe law LOO chose (of " + ", ".join(bs.compare.LAW_CANDIDATES) + "):")
    chosen = pd.DataFrame(chosen_laws)
    print(chosen.groupby("truth")["chosen"].value_counts().to_string())
    print(chosen.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print("\nby mode and distance, every truth:")
    print(table.groupby(["mode", "distance"])[cols].mean().round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
