"""Fit the extrapolation error's prior across public ladders (``extrapolation_prior.json``).

Every ladder below is prepared exactly as a user's fit would prepare it; its leave-future-out
record (:func:`bayescale.record.ladder_record`: refits below a few cuts of its own data, along
the axis its fit extrapolates) gives a likelihood of the error scales ``(sigma_o, sigma_g)``,
and :func:`bayescale.record.fit_prior` fits a bivariate normal over their logs across ladders
by maximum marginal likelihood: one prior for an error of the law's effective inputs (what a
ladder of runs extrapolated in compute carries) and one for an error of the log loss (training
curves, one-input laws), each fitted on every ladder's record of that kind. Only rows a fit
would be given enter (the benchmark curves' ``training == 1`` rows), so evaluating on held-out
rows stays honest.

Run (about 1 min on 2 cores, measured 2026-12-04; reads ../shared/datasets or
``BAYESCALE_DATA_MIRROR``):

    .venv/bin/python benchmarks/extrapolation_prior.py                 # the shipped prior
    .venv/bin/python benchmarks/extrapolation_prior.py --leave-out epoch_chinchilla \\
        --out /tmp/prior_without_epoch.json                             # for a backtest

Records are cached (``--cache``), so leave-one-dataset-out priors cost seconds after the first
run. ``--with-colpret`` adds three LLM ladders of the Hitchhiker's Guide's collection (an
experiment, not in the shipped prior: its backtests in docs/calibration.md; about 1 min more the
first time); ``benchmarks/backtests.py --with-colpret`` backtests with those priors.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("BAYESCALE_DATA_MIRROR", str(ROOT.parent / "shared" / "datasets"))

import common  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import bayescale as bs  # noqa: E402
from bayescale.laws import SaturatingPowerLaw  # noqa: E402
from bayescale.record import (  # noqa: E402
    KINDS,
    PRIOR_FILE,
    RECORD_VERSION,
    fit_prior,
    ladder_record,
)

#: Benchmark curves (``revisiting_scaling_benchmark``) need this many training rows for a record.
MIN_CURVE_ROWS = 16
#: Benchmark curves per domain taken (the image-classification domain has 72 curves; each record
#: costs its own compile, so the prior takes an even spread of them).
CURVES_PER_DOMAIN = 16
#: Checkpoints kept per run of a training-curve ladder (evenly spread in log tokens).
CHECKPOINTS_PER_RUN = 10
#: GPT-3's model sizes (Brown et al. 2020, Table 2.1) by the digitised curves' run names.
GPT3_PARAMS = {
    "small": 125e6,
    "medium": 350e6,
    "large": 760e6,
    "xl": 1.3e9,
    "2.7b": 2.7e9,
    "6.7b": 6.7e9,
    "13b": 13e9,
    "175b": 175e9,
}


def ladders(colpret: bool = False):
    """Yield ``(dataset, ladder name, table, model)`` for every public ladder.

    ``colpret``: also the LLM ladders of the Hitchhiker's Guide's collection
    (:func:`colpret_ladders`; tried 2026-12-05 and not in the shipped prior, see
    docs/calibration.md).
    """
    yield "epoch_chinchilla", "epoch_chinchilla", common.epoch_runs(), None
    gadre = bs.datasets.load("gadre2024_overtraining")
    for fam, sub in gadre.groupby("family"):
        yield "gadre2024_overtraining", f"gadre2024/{fam}", sub, None
    slim = bs.datasets.load("gemstones", "slim_chinchilla")
    yield "gemstones", "gemstones/slim_chinchilla", slim, None
    if colpret:
        yield from colpret_ladders()
    curves = bs.datasets.load("revisiting_scaling_benchmark")
    curves = curves[curves["training"] == 1]
    law = SaturatingPowerLaw(x="D")
    for _, domain in curves.groupby("domain"):
        names = [c for c, sub in domain.groupby("curve") if len(sub) >= MIN_CURVE_ROWS]
        # at most CURVES_PER_DOMAIN, evenly spread over the sorted names (tasks and models)
        keep = np.unique(np.linspace(0, len(names) - 1, min(len(names), CURVES_PER_DOMAIN)))
        for i in keep.round().astype(int) if names else ():
            sub = domain[domain["curve"] == names[i]]
            yield "revisiting_scaling_benchmark", f"revisiting/{names[i]}", sub, law


def checkpoints(df: pd.DataFrame, n: int = CHECKPOINTS_PER_RUN) -> pd.DataFrame:
    """Keep ``n`` checkpoints of every run, evenly spread in log tokens, past its first 10 %.

    The first tenth of a run (warm-up and the steep start, which a law of ``N`` and ``D`` does
    not describe; the digitised GPT-3 figure clips it at 3.5) is left out.
    """
    keep = []
    for _, run in df.dropna(subset=["loss"]).groupby("run"):
        run = run[run["tokens"] >= 0.1 * run["tokens"].max()]
        logd = np.log(run["tokens"].to_numpy(float))
        targets = np.linspace(logd.min(), logd.max(), n)
        keep.extend(run.index[np.unique(np.abs(logd[:, None] - targets).argmin(axis=0))])
    return df.loc[keep].reset_index(drop=True)


def colpret_ladders():
    """The LLM ladders of the Hitchhiker's Guide's collection (``hitchhiker_colpret``).

    - Muennighoff et al.'s single-epoch runs on C4 (the data-constrained contour grid's
      ``epochs == 1`` rows: 33 runs from 7M to 8.7B parameters), 31 kept: without the runs
      given fewer tokens than parameters (a larger model worse than a smaller one at the same data:
      outside the law's regime, as Epoch dropped its highest losses);
    - GPT-3's training curves (8 sizes, digitised validation loss) and OPT's (6 sizes, loss
      the log of the validation perplexity), :data:`CHECKPOINTS_PER_RUN` checkpoints a run,
      fitted as training curves (each run's checkpoints, extrapolated along its tokens).
    """
    grid = bs.datasets.load("hitchhiker_colpret", "datablations_contour")
    runs = grid[(grid["epochs"] == 1) & (grid["tokens"] >= grid["params"])]
    yield "hitchhiker_colpret", "colpret/datablations_c4", runs[["params", "tokens", "loss"]], None
    gpt3 = bs.datasets.load("hitchhiker_colpret", "gpt3")
    gpt3 = gpt3.assign(params=gpt3["run"].map(GPT3_PARAMS))[["run", "params", "tokens", "loss"]]
    yield "hitchhiker_colpret", "colpret/gpt3", checkpoints(gpt3), None
    opt = bs.datasets.load("hitchhiker_colpret", "opt_trajectories")
    size = opt["model_size"].str[:-1].astype(float) * opt["model_size"].str[-1].map(
        {"m": 1e6, "b": 1e9}
    )
    opt = pd.DataFrame(
        {
            "run": opt["model_size"],
            "params": size,
            "tokens": 10.0 ** opt["num_token"],
            "loss": np.log(opt["ppl"]),
        }
    )
    yield "hitchhiker_colpret", "colpret/opt", checkpoints(opt), None


def colpret_more_curves():
    """More training curves of the Hitchhiker's Guide's collection, for backtests only.

    Neither the prior across ladders nor any default was fitted or judged on these (they were
    added after both, 2026-12-05), :data:`CHECKPOINTS_PER_RUN` checkpoints a run as above:

    - Muennighoff et al.'s single-epoch curves, on C4 and on OSCAR (3 runs each: 2.8B, 4.2B and
      8.7B parameters; validation loss);
    - OLMo-7B and OLMo-7B-Twin-2T (AI2; 6.9B parameters each; the validation cross-entropy on
      mC4-en, the one evaluation set both report; tokens = 4e6 per step, as the source's
      loader reads them);
    - LLM360's K2 (65B parameters, one run; its training loss).
    """
    runs = bs.datasets.load("hitchhiker_colpret", "datablations")
    single = runs[runs["epochs"] == 1].assign(run=lambda d: d["run"].astype(str))
    for dataset in ("c4", "oscar"):
        curves = single[single["dataset"] == dataset][["run", "params", "tokens", "loss"]]
        yield "hitchhiker_colpret", f"colpret/datablations_{dataset}_curves", checkpoints(curves)
    olmo = bs.datasets.load("hitchhiker_colpret", "olmo")
    olmo = olmo[olmo["model_name"].isin(["OLMo-7B", "OLMo-7B-Twin-2T"])]
    olmo = pd.DataFrame(
        {
            "run": olmo["model_name"],
            "params": 6.9e9,
            "tokens": olmo["Step"].astype(float) * 4e6,
            "loss": olmo["mc4_en-validation/CrossEntropyLoss"],
        }
    )
    yield "hitchhiker_colpret", "colpret/olmo_7b_curves", checkpoints(olmo)
    k2 = bs.datasets.load("hitchhiker_colpret", "k2")
    k2 = pd.DataFrame(
        {
            "run": "K2",
            "params": 65e9,
            "tokens": k2["tokens_seen"].astype(float),
            "loss": k2["k2 training - lm loss"],
        }
    )
    yield "hitchhiker_colpret", "colpret/k2_curve", checkpoints(k2[k2["tokens"] > 0])


def records(cache: Path, colpret: bool = False) -> dict[tuple[str, str], tuple[str, np.ndarray]]:
    """Return ``{(ladder, kind): (dataset, record log likelihood)}``, computing the missing.

    Every ladder's record is computed for both kinds of error (:data:`bayescale.record.KINDS`):
    of the law's effective inputs and of the log loss, so each prior is fitted on every ladder.
    """
    done: dict[tuple[str, str], tuple[str, np.ndarray]] = {}
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            for key in z.files:
                dataset, kind, name = key.split("|", 2)
                done[name, kind] = (dataset, z[key])
    wanted = {}
    for dataset, name, df, law in ladders(colpret):
        for kind in KINDS:
            wanted[name, kind] = dataset
            if (name, kind) in done:
                continue
            model = bs.Model() if law is None else bs.Model(law=law)
            try:
                data = model.prepare(df)
            except (bs.DataError, bs.SpecificationError) as e:
                print(f"{name}: skipped ({e})", flush=True)
                break
            rec = ladder_record(model.without_extrapolation(), data, inputs=kind == "inputs")
            if not rec.cuts:
                print(f"{name}: too few rows for a cut", flush=True)
                break
            t = rec.table
            inside = ((t["loss"] >= t["lower"]) & (t["loss"] <= t["upper"])).mean()
            err = np.abs(np.log(t["loss"] / t["median"]))
            print(
                f"{name} ({kind}): {rec.cuts} cuts, {len(t)} held-out rows, law-only 90 % "
                f"coverage {inside:.2f}, median |log error| {np.median(err):.4f}",
                flush=True,
            )
            done[name, kind] = (dataset, rec.loglik)
            np.savez(cache, **{f"{d}|{k}|{n}": ll for (n, k), (d, ll) in done.items()})
    return {key: done[key] for key in wanted if key in done}


def prior_without(dataset: str, colpret: bool = False) -> Path:
    """Write (once per machine) the prior across ladders without ``dataset``; return its path."""
    # keyed by the record's version: a prior fitted on records of an earlier one is stale
    extra = "_colpret" if colpret else ""
    path = (
        Path(tempfile.gettempdir())
        / f"bayescale_prior_without_{dataset}{extra}_v{RECORD_VERSION}.json"
    )
    if not path.is_file():
        main(["--leave-out", dataset, "--out", str(path)] + (["--with-colpret"] if colpret else []))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PRIOR_FILE)
    parser.add_argument("--leave-out", action="append", default=[], help="a dataset to leave out")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "bayescale"
        / f"extrapolation_records_v{RECORD_VERSION}.npz",
    )
    parser.add_argument(
        "--with-colpret",
        action="store_true",
        help="also the Hitchhiker's Guide's LLM ladders (an experiment; not the shipped prior)",
    )
    args = parser.parse_args(argv)
    if not common.ready():
        return 0
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    found = records(args.cache, args.with_colpret)
    recs = {key: v for key, v in found.items() if v[0] not in args.leave_out}
    priors = {}
    for kind in KINDS:
        mine = [(d, ll) for (_, k), (d, ll) in recs.items() if k == kind]
        prior = fit_prior([ll for _, ll in mine], sorted({d for d, _ in mine}), kind)
        sd = np.sqrt(np.diag(prior.cov))
        print(
            f"{kind} prior over {len(mine)} ladders: sigma_o median {np.exp(prior.mean[0]):.4f} "
            f"(log sd {sd[0]:.2f}), sigma_g median {np.exp(prior.mean[1]):.4f} (log sd "
            f"{sd[1]:.2f}), correlation {prior.cov[0][1] / (sd[0] * sd[1]):.2f}"
        )
        priors[kind] = prior
    priors["loss"].save(
        args.out,
        inputs=priors["inputs"],
        ladders=len({name for name, _ in recs}),
        left_out=args.leave_out,
        written=datetime.date.today().isoformat(),
        script="benchmarks/extrapolation_prior.py",
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
