"""The learning-curve extrapolation benchmark of Alabdulmohsin et al. (2022), as NSL-PFN scores it.

One curve = (domain, task, model). bayescale fits each curve's ``training == 1`` rows (a
saturating power law in examples seen, the default learned extrapolation error; ``--law m4``
Alabdulmohsin et al.'s M4 law; ``--law average`` both, their predictives mixed with equal
weights) and predicts its ``training == 0`` rows. Per curve: RMSLE of the predictive median,
the mean log predictive density of the held-out values in raw units (a Gaussian KDE of the log
draws, mapped back), and MSCE (mean over the levels 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99 of the
squared difference between the central interval's coverage and its level); averaged per domain
and printed beside the published numbers (Lee et al., ICML 2025, arXiv:2505.23032, tables 1-2).
Beside MSCE, ``msce_if_calibrated``: the MSCE the forecast would score if the truth were one of
its own predictive draws (:func:`bayescale.calibration.coverage_if_calibrated`): a curve's
held-out points share their extrapolation error, so even a calibrated forecast covers them all
or none together, and MSCE does not reach 0.

The prior across ladders is refitted without this benchmark (leave-one-dataset-out). With
``--pool``, each domain's curves are pooled instead (:func:`bayescale.record.pooled_prior`, the
hierarchical model over a domain's curves that is the Bayesian counterpart of NSL-PFN's learned
prior): the records of every curve's ``training == 1`` rows, under each law, fit that domain's
prior of the error scales, and every curve of the domain is fitted with it. No held-out row
enters it. ``--pool-by dataset`` pools the curves of each training dataset instead (the IC
curves of one image dataset, whatever the shots and the model; a dataset with fewer than three
curves keeps its domain's prior): one level closer to the curve.

``--pool-law`` pools the law's shape over a domain's curves too (empirical Bayes): each curve is
first fitted by the law alone (2 chains of 300 draws, its training rows), and each curve's prior
of the exponents (:data:`SHAPE_SITES`) and of the irreducible loss relative to its smallest
training loss is a normal at the median of the *other* curves' posterior medians, with 1.4826
times their median absolute deviation as scale (at least :data:`MIN_PRIOR_SD`; with fewer than
:data:`MIN_POOLED_CURVES` other curves, the law's default prior). The medians are cached
(``--cache``, the likelihood added to its name).
``--likelihood normal`` fits every curve (and its records) with a normal likelihood instead of
the default Student-t.
Run: ``.venv/bin/python benchmarks/revisiting.py [--domains IC NMT LM BB] [--draws 500]
[--law average] [--pool [--pool-by dataset]] [--pool-law] [--likelihood normal]`` (about 35 min
on 2 cores for every curve and both laws; ``--pool-law`` adds about 25 min for the law-alone
fits the first time, 18 of them on the IC curves, and refits each curve's records under its own
priors: about 75 min in all the first time, 50 once the fits are cached).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("BAYESCALE_DATA_MIRROR", str(ROOT.parent / "shared" / "datasets"))

import common  # noqa: E402
import extrapolation_prior  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

import bayescale as bs  # noqa: E402
from bayescale.calibration import coverage_if_calibrated  # noqa: E402
from bayescale.laws import M4, SaturatingPowerLaw  # noqa: E402
from bayescale.record import PRIOR_ENV  # noqa: E402

LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
#: The benchmark's domains (image classification; translation, language modelling, BIG-Bench).
DOMAINS = ("IC", "NMT", "LM", "BB")
#: Published per-domain numbers: (method, MSCE, RMSLE, log-likelihood); None where not given.
PUBLISHED = {
    "IC": [("MCMC (M4 law)", 0.038, None, None), ("NSL-PFN", 0.051, 0.028, 3.33)],
    "NLP": [("NSL-PFN", 0.115, 0.019, 2.77), ("MCMC", 0.37, None, None)],
}


#: Law parameters whose prior ``--pool-law`` pools over a domain's curves (besides ``log_E``):
#: the exponents, which do not depend on where a curve's data are centred.
SHAPE_SITES = {"power": ("log_alpha",), "m4": ("log_alpha", "log_c")}
#: Smallest scale of a pooled law prior (on the log of a parameter).
MIN_PRIOR_SD = 0.05
#: Fewest other curves of a domain that a pooled law prior is taken from (else the default).
MIN_POOLED_CURVES = 3


def finite(v: np.ndarray) -> np.ndarray:
    """The finite entries of ``v``."""
    return v[np.isfinite(v)]


def score_curve(
    draws: np.ndarray, y: np.ndarray, references: dict[float, list[np.ndarray]] | None = None
) -> dict[str, float]:
    """RMSLE, mean log predictive density (raw units) and MSCE of one curve's held-out rows.

    Also the coverage at every level (``coverage_<level>``); ``references`` collects, per level,
    the coverages a calibrated forecast of the curve would show (one array per curve whose
    draws are all finite; a curve with an overflow gets none, and a NaN ``msce_if_calibrated``).
    """
    with np.errstate(divide="ignore", over="ignore"):
        log_draws = np.log(draws)
    med = np.median(draws, axis=0)
    rmsle = float(np.sqrt(np.mean((np.log(med) - np.log(y)) ** 2)))
    lpd = [
        # a Student-t noise with nu near 1 overflows a few draws: the KDE takes the finite ones
        float(stats.gaussian_kde(finite(log_draws[:, i])).logpdf(np.log(y[i]))[0] - np.log(y[i]))
        for i in range(y.size)
    ]
    msce, reference, coverage = [], [], {}
    for level in LEVELS:
        lo, hi = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2], axis=0)
        coverage[f"coverage_{level}"] = float(np.mean((y >= lo) & (y <= hi)))
        msce.append((coverage[f"coverage_{level}"] - level) ** 2)
        # the same draws stand for the truth at every level (one seed): one MSCE per truth
        if not np.isnan(draws).any():  # an overflow to inf is a draw outside every interval
            calibrated = coverage_if_calibrated(draws, level, n_truths=400)
            reference.append((calibrated - level) ** 2)
            if references is not None:
                references.setdefault(level, []).append(calibrated)
    return {
        "rmsle": rmsle,
        "log_lik": float(np.mean(lpd)),
        "msce": float(np.mean(msce)),
        "msce_if_calibrated": float(np.mean(reference)) if reference else np.nan,
        **coverage,
    }


def dataset_of(domain: str, task: str) -> str:
    """The training dataset of a curve's task: ``bird`` of IC's ``bird_5``.

    Outside IC the task itself (BIG-Bench's ``('date', '1-shot')`` and ``('date', '2-shot')``
    are two datasets, each of fewer than three curves: they take their domain's prior).
    """
    return task.split("_")[0] if domain == "IC" else task


def pooled(
    models: dict[str, bs.Model], curves: pd.DataFrame, label: str
) -> dict[str, bs.Model | None]:
    """Each law's model with the prior pooled over these curves (training rows only).

    ``None`` for a law whose curves are too few or too short for a pooled prior.
    """
    tables = {c: sub for c, sub in curves[curves["training"] == 1].groupby("curve")}
    out: dict[str, bs.Model | None] = {}
    for name, model in models.items():
        try:
            prior = bs.record.pooled_prior(model, tables)
        except ValueError as e:
            print(f"{label} {name}: not pooled ({e})", flush=True)
            out[name] = None
            continue
        sd = np.sqrt(np.diag(prior.cov))
        print(
            f"{label} {name}: prior pooled over {len(prior.fitted_on)} curves, "
            f"sigma_o median {np.exp(prior.mean[0]):.4f} (log sd {sd[0]:.2f}), sigma_g median "
            f"{np.exp(prior.mean[1]):.4f} (log sd {sd[1]:.2f})",
            flush=True,
        )
        out[name] = changed(model, extrapolation_prior=prior)
    return out


def pooled_by(
    models: dict[str, bs.Model], curves: pd.DataFrame, by: Literal["domain", "dataset"]
) -> dict[str, dict[str, bs.Model]]:
    """Every curve's models, the prior pooled over its domain's or its dataset's curves.

    A dataset of fewer than three curves, or whose curves give too few records, takes its
    domain's pooled prior; a domain that cannot be pooled keeps the prior across ladders.
    """
    out: dict[str, dict[str, bs.Model]] = {}
    for domain, sub in curves.groupby("domain"):
        label = str(domain)
        whole: dict[str, bs.Model] | None = None  # the domain's pooled models, when needed
        if by == "domain":
            whole = filled(pooled(models, sub, label), models)
            out.update(dict.fromkeys(sub["curve"].unique(), whole))
            continue
        dataset = pd.Series([dataset_of(label, t) for t in sub["task"]], index=sub.index)
        for name, part in sub.groupby(dataset):
            mine: dict[str, bs.Model | None] = dict.fromkeys(models)
            if part["curve"].nunique() >= bs.record.MIN_POOLED_LADDERS:
                mine = pooled(models, part, f"{label}/{name}")
            if any(v is None for v in mine.values()):
                if whole is None:
                    whole = filled(pooled(models, sub, label), models)
                mine = filled(mine, whole)
            out.update(dict.fromkeys(part["curve"].unique(), filled(mine, models)))
    return out


def changed(model: bs.Model, **changes) -> bs.Model:
    """``model`` with some of its spec's entries changed (``None``: removed), all else kept."""
    spec = model.spec()
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return bs.Model.from_spec(spec, law=model.law)


def filled(
    models: dict[str, bs.Model | None], fallback: dict[str, bs.Model]
) -> dict[str, bs.Model]:
    """``models`` with every law that could not be pooled (``None``) taken from ``fallback``."""
    return {k: fallback[k] if v is None else v for k, v in models.items()}


def law_medians(models: dict[str, bs.Model], curves: pd.DataFrame, cache: Path) -> pd.DataFrame:
    """Posterior medians of every law's parameters, fitted alone to each curve's training rows.

    One row per curve and law: ``domain``, ``curve``, ``law``, ``loss_min`` (the smallest
    training loss) and the median of every scalar posterior variable. Rows already in ``cache``
    (a CSV) are read, the missing ones fitted and added.
    """
    done = (
        pd.read_csv(cache) if cache.is_file() else pd.DataFrame(columns=["domain", "curve", "law"])
    )
    if "domain" not in done.columns or done["domain"].isna().any():
        raise ValueError(f"{cache} lacks the domain of some rows: delete it to refit the curves.")
    have = set(zip(done["curve"], done["law"], strict=True))
    rows = []
    for (domain, curve), df in curves.groupby(["domain", "curve"]):
        train = df[df["training"] == 1]
        for name, model in models.items():
            if (curve, name) in have:
                continue
            alone = model.without_extrapolation()
            post = alone.fit(train, chains=2, draws=300, warmup=300, progress_bar=False)
            draws = post.draws_tree.posterior
            rows.append(
                {
                    "domain": domain,
                    "curve": curve,
                    "law": name,
                    "loss_min": float(train["loss"].min()),
                    **{
                        str(v): float(np.median(draws[v]))
                        for v in draws.data_vars
                        if draws[v].ndim == 2  # scalars: (chain, draw)
                    },
                }
            )
            print(f"law alone: {curve} {name}", flush=True)
        if rows:  # saved curve by curve: an interrupted run keeps what it fitted
            done = pd.concat([done, pd.DataFrame(rows)], ignore_index=True)
            cache.parent.mkdir(parents=True, exist_ok=True)
            done.to_csv(cache, index=False)
            rows = []
    return done


def robust_normal(values: np.ndarray) -> tuple[float, float]:
    """Median and the normal-scaled median absolute deviation (at least :data:`MIN_PRIOR_SD`)."""
    spread = float(stats.median_abs_deviation(values, scale="normal"))
    return float(np.median(values)), max(spread, MIN_PRIOR_SD)


def with_law_prior(
    model: bs.Model, name: str, curve: str, train: pd.DataFrame, medians: pd.DataFrame
) -> bs.Model:
    """``model`` with its law's shape and floor priors pooled over the domain's other curves."""
    domain = train["domain"].iloc[0]
    other = medians[
        (medians["law"] == name) & (medians["domain"] == domain) & (medians["curve"] != curve)
    ]
    priors = {}
    floor = (other["log_E"] - np.log(other["loss_min"])).to_numpy()
    if np.isfinite(floor).sum() >= MIN_POOLED_CURVES:
        mid, spread = robust_normal(floor[np.isfinite(floor)])
        priors["log_E"] = f"Normal({np.log(train['loss'].min()) + mid:.6f}, {spread:.6f})"
    for site in SHAPE_SITES[name]:
        v = other[site].to_numpy(float)
        if np.isfinite(v).sum() >= MIN_POOLED_CURVES:
            priors[site] = "Normal({:.6f}, {:.6f})".format(*robust_normal(v[np.isfinite(v)]))
    if not priors:  # too few sibling curves: the law's default priors
        return model
    return changed(model, priors={**priors, **model.spec()["priors"]})  # the user's own win


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--domains",
        nargs="*",
        choices=DOMAINS,
        default=list(DOMAINS),
        help="the benchmark's domains to run (NLP is NMT, LM and BB)",
    )
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--extrapolation", default="learned")
    parser.add_argument(
        "--likelihood",
        choices=["student_t", "normal"],
        default="student_t",
        help="the noise of every curve's fit (and of its records and pooled prior)",
    )
    parser.add_argument(
        "--law",
        choices=["power", "m4", "average"],
        default="power",
        help="the law fitted to every curve; average: both, their predictives mixed half and half",
    )
    parser.add_argument(
        "--pool",
        action="store_true",
        help="fit each domain's prior of the error scales on its curves' training rows",
    )
    parser.add_argument(
        "--pool-by",
        choices=["domain", "dataset"],
        default="domain",
        help="with --pool: the curves that share a prior (dataset: each training dataset's)",
    )
    parser.add_argument(
        "--pool-law",
        action="store_true",
        help="pool the law's exponents and floor over a domain's curves (empirical Bayes)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "bayescale"
        / "revisiting_law_medians_v1.csv",
        help="CSV of the law-alone fits' medians (--pool-law), read and extended; "
        "_<likelihood> is added to its name",
    )
    args = parser.parse_args(argv)
    if not common.ready():
        return 0
    prior = extrapolation_prior.prior_without("revisiting_scaling_benchmark")
    os.environ[PRIOR_ENV] = str(prior)
    curves = bs.datasets.load("revisiting_scaling_benchmark")
    laws = {"power": SaturatingPowerLaw(x="D"), "m4": M4(x="D")}
    models = {
        name: bs.Model(law=law, extrapolation=args.extrapolation, likelihood=args.likelihood)
        for name, law in laws.items()
        if args.law in (name, "average")
    }
    curves = curves[curves["domain"].isin(args.domains)]
    by_curve = dict.fromkeys(curves["curve"].unique(), models)
    if args.pool:
        by_curve.update(pooled_by(models, curves, args.pool_by))
    medians = None
    if args.pool_law:
        cache = args.cache.with_stem(f"{args.cache.stem}_{args.likelihood}")
        medians = law_medians(models, curves, cache)
    rows = []
    references: dict[str, dict[float, list[np.ndarray]]] = {}
    for curve, df in curves.groupby("curve"):
        train, test = df[df["training"] == 1], df[df["training"] == 0]
        if test.empty:
            continue
        settings = {"chains": 4, "draws": args.draws, "warmup": args.draws, "progress_bar": False}
        mine = by_curve[curve]
        if medians is not None:
            mine = {n: with_law_prior(m, n, curve, train, medians) for n, m in mine.items()}
        posts = {name: model.fit(train, **settings) for name, model in mine.items()}
        weights = dict.fromkeys(posts, 1.0)  # no law preferred: the spread between them counts
        x = test["tokens"].to_numpy(float)
        mixed = bs.compare.averaged_predict(
            posts, weights, n_draws=4 * args.draws, D=x, kind="predictive"
        )
        draws = np.asarray(mixed)
        group = "IC" if df["domain"].iloc[0] == "IC" else "NLP"
        scores = score_curve(draws, test["loss"].to_numpy(float), references.setdefault(group, {}))
        rows.append({"domain": df["domain"].iloc[0], "curve": curve, **scores})
        shown = {k: v for k, v in scores.items() if not k.startswith("coverage_")}
        print(f"{curve}: " + ", ".join(f"{k} {v:.4f}" for k, v in shown.items()), flush=True)
    table = pd.DataFrame(rows)
    table["group"] = np.where(table["domain"] == "IC", "IC", "NLP")
    print("\nper domain (mean over curves):")
    cols = ["msce", "msce_if_calibrated", "rmsle", "log_lik"]
    print(table.groupby("domain")[cols].mean().round(4).to_string())
    print("\nbeside the published numbers (NLP = NMT, LM, BB):")
    for group, sub in table.groupby("group"):
        print(
            f"{group}: bayescale MSCE {sub['msce'].mean():.3f} (a calibrated forecast of these "
            f"points: {sub['msce_if_calibrated'].mean():.3f}), RMSLE {sub['rmsle'].mean():.3f}, "
            f"log-lik {sub['log_lik'].mean():.2f} ({len(sub)} curves)"
        )
        for name, msce, rmsle, ll in PUBLISHED[group]:
            extra = "" if rmsle is None else f", RMSLE {rmsle:.3f}, log-lik {ll:.2f}"
            print(f"    {name}: MSCE {msce:.3f}{extra}")
    print(
        "\nmean coverage over curves at each level, over the curves whose draws are all finite "
        "(if the curves' errors are independent, a calibrated forecast's mean lies in the "
        "5-95 % range in brackets nine times in ten):"
    )
    for group, sub in table.groupby("group"):
        sub = sub[sub["msce_if_calibrated"].notna()]  # the curves with a reference
        if sub.empty:
            print(f"{group}: no curve with finite draws")
            continue
        cells = []
        for level in LEVELS:
            lo, hi = common.pooled_coverage_range(references[group][level])
            cells.append(f"{level}: {sub[f'coverage_{level}'].mean():.2f} [{lo:.2f}, {hi:.2f}]")
        print(f"{group} ({len(sub)} curves): " + "; ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
