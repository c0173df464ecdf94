"""Frontier backtest: do the 90 % N* intervals cover the measured iso-FLOP minima above a cut?

On ladders laid out in iso-FLOP profiles, fit below a compute cut (the top 2 or top 4 profiles
held out, and a deep cut keeping only the lowest five profiles with a minimum;
:func:`bayescale.frontier_backtest`), compute the frontier at the held-out profiles' budgets,
and count the measured minima (:func:`bayescale.isoflop.isoflop_minima` on every run of a
profile) inside the 90 % N*
interval (each ladder's fit with the prior across ladders refitted without its dataset,
leave-one-dataset-out); beside it, the Huber + bootstrap baseline (closed-form N* per bootstrap
fit); how many of them the N* band would hold if the fit were right (the share of its
predictive's measured minima inside the band: ``p_inside_if_right``, a measured minimum
scatters around N* by more than a band near the data is wide); and the share inside the 90 %
predictive of what each held-out profile measures
(:func:`bayescale.predicted_isoflop_minima` on its runs: the parabola fitted to every posterior
predictive draw of them, as the measurement fits the runs). Also prints Epoch's D*/N* at
5.88e23 FLOP under the default model (Epoch's bootstrap 80 %: [10.7, 30.5]), and the deep
cut's held-out *losses* by distance past the fitted runs: coverage, the median error and the
90 % half-width for the default, the previous fixed drift and the law alone (the width against
the error shows whether intervals far past the data are too wide). Run:
``.venv/bin/python benchmarks/frontier_backtest.py [--law farseer]`` (about 5 min on 2 cores;
``--law`` backtests another law of ``N`` and ``D`` in place of Chinchilla's, as
docs/choices.md does for the law LOO prefers on Epoch).
"""

from __future__ import annotations

import argparse
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
from backtests import variants  # noqa: E402
from bootstrap_baseline import fit_huber  # noqa: E402

import bayescale as bs  # noqa: E402
from bayescale.extrapolation import SCALE_SITES  # noqa: E402
from bayescale.isoflop import isoflop_minima  # noqa: E402
from bayescale.isoflop import profiles as profile_keys  # noqa: E402
from bayescale.record import PRIOR_ENV  # noqa: E402

#: Profiles held out above the cut.
HELD_OUT = (2, 4)
#: A deep cut besides: every profile held out but the lowest ``DEEP_KEEP`` with a minimum.
DEEP_KEEP = 5
#: Distance bins (decades of compute past the fitted runs) of the per-minimum summary.
DISTANCE_BINS = (0.0, 0.3, 0.6, 1.0, 1.5, 2.5)
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


def losses_by_distance(
    post, model: bs.Model, train: pd.DataFrame, test: pd.DataFrame
) -> pd.DataFrame:
    """The held-out losses of one cut by distance past the fitted runs, for each error variant.

    Per bin of :data:`DISTANCE_BINS` (decades of compute past the largest fitted run, the last
    bin open): 90 % and 50 % coverage with the 5-95 % range a calibrated forecast of those rows
    would show (:func:`bayescale.calibration.coverage_if_calibrated`: the rows share their
    extrapolation error), the median ``|log(observed / median)|``, the median half-width of
    the 90 % interval in log loss, their ratio, and the ratio the forecast itself implies (its
    half-width over the median ``|log(draw / median)|`` of its own draws; 2.44 for a normal,
    more for heavier tails).
    """
    cost = post.cost
    flops = {
        name: cost.flops(t["params"].to_numpy(float), t["tokens"].to_numpy(float))
        for name, t in (("train", train), ("test", test))
    }
    past = np.log10(flops["test"] / flops["train"].max())
    bins = pd.cut(past, (-np.inf, *DISTANCE_BINS[1:], np.inf))
    y = test["loss"].to_numpy(float)
    rows = []
    for label, p in variants(post).items():
        draws = bs.calibration.predict_rows(p, test, model)
        q05, q25, q50, q75, q95 = np.quantile(draws, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        half = np.log(q95 / q05) / 2
        own = np.median(np.abs(np.log(draws / q50)), axis=0)
        for b in bins.categories:
            at = np.asarray(bins == b)
            if not at.any():
                continue
            error = np.abs(np.log(y[at] / q50[at]))
            ranges = {
                v: np.quantile(bs.calibration.coverage_if_calibrated(draws[:, at], v), [0.05, 0.95])
                for v in (0.9, 0.5)
            }
            rows.append(
                {
                    "method": label,
                    "bin": str(b),
                    "n": int(at.sum()),
                    "coverage_90": float(np.mean((q05[at] <= y[at]) & (y[at] <= q95[at]))),
                    "calibrated_90": "[{:.2f}, {:.2f}]".format(*ranges[0.9]),
                    "coverage_50": float(np.mean((q25[at] <= y[at]) & (y[at] <= q75[at]))),
                    "calibrated_50": "[{:.2f}, {:.2f}]".format(*ranges[0.5]),
                    "median_error": float(np.median(error)),
                    "half_width_90": float(np.median(half[at])),
                    "width_over_error": float(np.median(half[at]) / np.median(error)),
                    "if_calibrated": float(np.median(half[at] / own[at])),
                }
            )
    return pd.DataFrame(rows)


def learned_record(post) -> str:
    """The fit's learned error scales (5/50/95 %) and its record's held-out rows per cut."""
    sampled = post.sampled()
    lines = [
        f"{k}: " + " ".join(f"{v:.4f}" for v in np.quantile(sampled[k], [0.05, 0.5, 0.95]))
        for k in SCALE_SITES
    ]
    rec = post.calibration()
    if not rec.empty:
        rec = rec.assign(
            error=np.abs(np.log(rec["loss"] / rec["median"])),
            law_only_inside=(rec["lower"] <= rec["loss"]) & (rec["loss"] <= rec["upper"]),
        )
        per_cut = rec.groupby("cut", sort=False).agg(
            rows=("error", "size"),
            median_distance=("distance", "median"),
            median_error=("error", "median"),
            law_only_inside_90=("law_only_inside", "mean"),
        )
        lines.append(per_cut.to_string(float_format=lambda v: f"{v:.4g}"))
    return "\n".join(lines)


def in_data_reference(name: str, df: pd.DataFrame, good: pd.DataFrame, law: str) -> dict:
    """The full ladder's fit scored on its own measured minima (distance 0).

    How often the fit's 90 % ``N*`` band holds the minima of the very profiles it was fitted to,
    and how often the predictive of the measured minimum does: the ceiling that a measured
    minimum's own scatter (a parabola through a few noisy runs) puts on the ``N*`` count.
    """
    post = bs.Model(law=law).fit(df, progress_bar=False, seed=0)
    band = bs.frontier(post, good["compute"].to_numpy())["N_opt"]
    lo, hi = band.quantile([0.05, 0.95], dim=("chain", "draw")).values
    key, _ = profile_keys(df)  # the profiles isoflop_minima found ``good`` in (its defaults)
    bands = dict(zip(good["profile"], zip(lo, hi, strict=True), strict=True))
    pred = bs.predicted_isoflop_minima(post, df[key.isin(good["profile"]).to_numpy()], bands=bands)
    pred = pred.set_index("profile").loc[good["profile"]]
    n = good["N_opt"].to_numpy()
    inside_measured = (pred["N_opt_lo"].to_numpy() <= n) & (n <= pred["N_opt_hi"].to_numpy())
    return {
        "ladder": name,
        "profiles": len(good),
        "N*_band_inside": int(((lo <= n) & (n <= hi)).sum()),
        "N*_band_inside_if_right": float(pred["p_in_band"].sum()),
        "measured_predictive_inside": int(inside_measured.sum()),
        "N*_width_decades": float(np.median(np.log10(hi / lo))),
        "measured_width_decades": float(np.median(np.log10(pred["N_opt_hi"] / pred["N_opt_lo"]))),
        "rms_error_decades": float(
            np.sqrt(np.mean(np.log10(n / band.median(("chain", "draw")).values) ** 2))
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--law", default="chinchilla", help="a law of N and D to backtest")
    law = parser.parse_args(argv).law
    if not common.ready():
        return 0
    rows, profiles, reference, deep_losses = [], [], [], []
    for name, df in ladders():
        # the prior across ladders fitted without this ladder's dataset
        os.environ[PRIOR_ENV] = str(extrapolation_prior.prior_without(DATASET_OF[name]))
        minima = isoflop_minima(df)
        good = minima[minima["ok"]].sort_values("compute")
        if len(good) >= 2:
            reference.append(in_data_reference(name, df, good, law))
        counts = [k for k in HELD_OUT if len(good) > k + 2]
        deep = len(good) - DEEP_KEEP
        if deep > max(HELD_OUT):
            counts.append(deep)
        if not counts:
            print(f"{name}: {len(good)} profiles with a minimum, too few to hold any out")
            continue
        model = bs.Model(law=law)
        table = bs.frontier_backtest(model, df, held_out=counts, progress_bar=False)
        table.insert(0, "ladder", name)
        profiles.append(table)
        for k, held in table.groupby("held_out", sort=False):
            train = df.reset_index(drop=True).iloc[table.attrs["train_index"][k]]
            if k not in HELD_OUT:  # the deep cut: its held-out losses too
                test = df.reset_index(drop=True).drop(index=table.attrs["train_index"][k])
                # the backtest's own fit of these runs, refitted (the same data, prior and seed)
                post = model.fit(train, progress_bar=False, seed=0)
                print(f"{name}, deep cut: {len(train)} runs fitted, {len(test)} held out")
                print(learned_record(post))
                deep_losses.append(losses_by_distance(post, model, train, test).assign(ladder=name))
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
            n_meas = held["N_opt"].to_numpy()
            rows.append(
                {
                    "ladder": name,
                    "held_out_profiles": k,
                    "distance_decades": "{:.2f}-{:.2f}".format(*held["distance"].iloc[[0, -1]]),
                    "bayescale_inside": int(held["inside"].sum()),
                    "inside_if_right": float(held["p_inside_if_right"].sum()),
                    "measured_predictive_inside": int(held["inside_measured"].sum()),
                    "bootstrap_inside": int(((n_meas >= bq[0]) & (n_meas <= bq[1])).sum()),
                    "n": k,
                    "N*_width_decades": float(
                        np.mean(np.log10(held["N_star_hi"] / held["N_star_lo"]))
                    ),
                    "bootstrap_width_decades": float(np.mean(np.log10(bq[1] / bq[0]))),
                    "measured_predictive_width_decades": float(
                        np.mean(np.log10(held["measured_hi"] / held["measured_lo"]))
                    ),
                    "median_error_decades": float(np.median(np.abs(held["error_decades"]))),
                }
            )
            print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    first = table[table["held_out_profiles"].isin(HELD_OUT)]
    print(
        f"cuts holding out {HELD_OUT} profiles: share inside the 90 % N* interval: bayescale "
        f"{first['bayescale_inside'].sum() / first['n'].sum():.2f}, bootstrap "
        f"{first['bootstrap_inside'].sum() / first['n'].sum():.2f}; a right fit's N* band would "
        f"hold {first['inside_if_right'].sum() / first['n'].sum():.2f} (the measured minima "
        "scatter); inside the 90 % predictive "
        "of the measured minimum (bs.predicted_isoflop_minima on the held-out runs): "
        f"{first['measured_predictive_inside'].sum() / first['n'].sum():.2f} (of "
        f"{first['n'].sum()} minima; the two cuts of a ladder share their top profiles)"
    )
    # every held-out minimum by its distance past the fitted runs
    per = pd.concat(profiles)
    per["distance_bin"] = pd.cut(per["distance"], DISTANCE_BINS)
    per["N_star_width_decades"] = np.log10(per["N_star_hi"] / per["N_star_lo"])
    by = per.groupby(["ladder", "distance_bin"], observed=True).agg(
        n=("inside", "size"),
        N_star_inside=("inside", "mean"),
        N_star_inside_if_right=("p_inside_if_right", "mean"),
        measured_inside=("inside_measured", "mean"),
        median_error_decades=("error_decades", "median"),
        N_star_width_decades=("N_star_width_decades", "median"),
    )
    cols = ["ladder", "held_out", "profile", "distance", "N_opt", "N_star", "N_star_lo"]
    cols += ["N_star_hi", "inside", "p_inside_if_right", "inside_measured", "tokens_per_param"]
    print(per[[*cols, "tokens_per_param_star"]].to_string(float_format=lambda v: f"{v:.3g}"))
    print("every held-out minimum of every cut, by distance past the fitted runs (decades):")
    print(by.to_string(float_format=lambda v: f"{v:.2f}"))
    print(
        "in the data (each ladder's full fit on its own profiles): the N* band against the "
        "predictive of the measured minimum"
    )
    print(pd.DataFrame(reference).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if deep_losses:
        print(
            "the deep cut's held-out losses by distance past the fitted runs (decades of "
            "compute; half-width and error in log loss; if_calibrated: the width-over-error ratio "
            "the forecast's own draws imply, 2.44 for a normal):"
        )
        print(pd.concat(deep_losses).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    os.environ.pop(PRIOR_ENV, None)  # the shipped prior, as a user's fit gets it
    post = bs.Model(law=law).fit(common.epoch_runs(), progress_bar=False)
    f = bs.frontier(post, [5.88e23])["tokens_per_param"]
    q = f.quantile([0.1, 0.5, 0.9], dim=("chain", "draw")).values.ravel()
    print(
        f"Epoch D*/N* at 5.88e23 FLOP ({law} law): median {q[1]:.1f}, 80 % [{q[0]:.1f}, "
        f"{q[2]:.1f}] (Epoch's bootstrap 80 %: [10.7, 30.5])"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
