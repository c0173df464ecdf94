"""Frontier backtest: do the 90 % N* intervals cover the measured iso-FLOP minima above a cut?

On ladders laid out in iso-FLOP profiles, fit below a compute cut (the top 2 or top 4 profiles
held out), compute the frontier at the held-out profiles' budgets, and count the measured minima
(:func:`bayescale.isoflop.isoflop_minima` on every run of a profile) inside the 90 % N*
interval (each ladder's fit with the prior across ladders refitted without its dataset,
leave-one-dataset-out); beside it, the Huber + bootstrap baseline (closed-form N* per bootstrap
fit); and the share inside the 90 % predictive of what each held-out profile measures
(:func:`bayescale.predicted_isoflop_minima` on its runs: the parabola fitted to every posterior
predictive draw of them, as the measurement fits the runs). Also prints Epoch's D*/N* at
5.88e23 FLOP under the default model (Epoch's bootstrap 80 %: [10.7, 30.5]). Run:
``.venv/bin/python benchmarks/frontier_backtest.py`` (about 5 min on 2 cores).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("BAYESCALE_DATA_MIRROR", str(ROOT.parent / "shared" / "datasets"))

import common  # noqa: E402
import extrapolation_prior  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bootstrap_baseline import fit_huber  # noqa: E402

import bayescale as bs  # noqa: E402
from bayescale.isoflop import isoflop_minima  # noqa: E402
from bayescale.record import PRIOR_ENV  # noqa: E402

#: Profiles held out above the cut.
HELD_OUT = (2, 4)
N_BOOT = 60


def chinchilla_n_opt(p: dict, compute: np.ndarray) -> np.ndarray:
    """Closed-form N* of the Chinchilla law at budgets ``compute`` (C = 6 N D)."""
    a, b = p["alpha"], p["beta"]
    g = (a * p["A"] / (b * p["B"])) ** (1 / (a + b))
    return g * (compute / 6) ** (b / (a + b))


def ladders():
    yield "epoch_chinchilla", common.epoch_runs()
    yield "gemstones slim_chinchilla", bs.datasets.load("gemstones", "slim_chinchilla")


#: Dataset id (the prior script's ``--leave-out``) of every ladder.
DATASET_OF = {"epoch_chinchilla": "epoch_chinchilla", "gemstones slim_chinchilla": "gemstones"}


def main() -> int:
    if not common.ready():
        return 0
    rows = []
    for name, df in ladders():
        # the prior across ladders fitted without this ladder's dataset
        os.environ[PRIOR_ENV] = str(extrapolation_prior.prior_without(DATASET_OF[name]))
        minima = isoflop_minima(df)
        profile = np.round(np.log10(6 * df["params"] * df["tokens"]), 1)
        good = minima[minima["ok"]].sort_values("compute")
        for k in HELD_OUT:
            if len(good) <= k + 2:
                continue
            held = good.iloc[-k:]
            cut = np.log10(held["compute"].min()) - 0.05
            train = df[profile < cut]
            post = bs.Model().fit(train, progress_bar=False)
            front = bs.frontier(post, held["compute"].to_numpy())
            q = front["N_opt"].quantile([0.05, 0.95], dim=("chain", "draw")).values
            med = front["N_opt"].median(dim=("chain", "draw")).values
            inside = (held["N_opt"].to_numpy() >= q[0]) & (held["N_opt"].to_numpy() <= q[1])
            # the predictive of what each held-out profile's parabola measures, from its runs
            runs = df[profile >= cut]
            measured = bs.predicted_isoflop_minima(post, runs).set_index("profile")
            pm = measured.loc[np.round(np.log10(held["compute"].to_numpy()), 1)]
            m_inside = (held["N_opt"].to_numpy() >= pm["N_opt_lo"].to_numpy()) & (
                held["N_opt"].to_numpy() <= pm["N_opt_hi"].to_numpy()
            )
            rng = np.random.default_rng(0)
            boot = np.array(
                [
                    chinchilla_n_opt(
                        fit_huber(train.iloc[rng.integers(0, len(train), len(train))], n_starts=20),
                        held["compute"].to_numpy(),
                    )
                    for _ in range(N_BOOT)
                ]
            )
            bq = np.quantile(boot, [0.05, 0.95], axis=0)
            b_inside = (held["N_opt"].to_numpy() >= bq[0]) & (held["N_opt"].to_numpy() <= bq[1])
            rows.append(
                {
                    "ladder": name,
                    "held_out_profiles": k,
                    "bayescale_inside": int(inside.sum()),
                    "measured_predictive_inside": int(m_inside.sum()),
                    "bootstrap_inside": int(b_inside.sum()),
                    "n": k,
                    "N*_width_decades": float(np.mean(np.log10(q[1] / q[0]))),
                    "bootstrap_width_decades": float(np.mean(np.log10(bq[1] / bq[0]))),
                    "measured_predictive_width_decades": float(
                        np.mean(np.log10(pm["N_opt_hi"] / pm["N_opt_lo"]))
                    ),
                    "median_error_decades": float(
                        np.median(np.abs(np.log10(held["N_opt"].to_numpy() / med)))
                    ),
                }
            )
            print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(
        f"share inside the 90 % N* interval: bayescale "
        f"{table['bayescale_inside'].sum() / table['n'].sum():.2f}, bootstrap "
        f"{table['bootstrap_inside'].sum() / table['n'].sum():.2f}; inside the 90 % predictive "
        "of the measured minimum (bs.predicted_isoflop_minima on the held-out runs): "
        f"{table['measured_predictive_inside'].sum() / table['n'].sum():.2f} (of "
        f"{table['n'].sum()} minima;"
        " the two cuts of a ladder share their top profiles)"
    )
    os.environ.pop(PRIOR_ENV, None)  # the shipped prior, as a user's fit gets it
    post = bs.Model().fit(common.epoch_runs(), progress_bar=False)
    f = bs.frontier(post, [5.88e23])["tokens_per_param"]
    q = f.quantile([0.1, 0.5, 0.9], dim=("chain", "draw")).values.ravel()
    print(
        f"Epoch D*/N* at 5.88e23 FLOP: median {q[1]:.1f}, 80 % [{q[0]:.1f}, {q[2]:.1f}] "
        "(Epoch's bootstrap 80 %: [10.7, 30.5])"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
