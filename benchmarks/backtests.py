"""Extrapolation backtests over the shared datasets: bayescale beside the bootstrap baseline.

Prints one table: dataset, split, coverage of the 50 % and 90 % intervals, each beside the range a
calibrated forecast of the split's points would show (its 5-95 % quantiles, and the observed
coverage's two-sided tail probability ``_p`` in it:
:func:`bayescale.calibration.coverage_if_calibrated`; held-out runs that share an extrapolation
error cover all or nothing together), the 90 % interval score (relative) and the median ARE, for

- ``learned`` (the default): the extrapolation error learned from the training rows' own
  leave-future-out record, with the prior across ladders refitted *without the dataset under
  test* (leave-one-dataset-out, ``benchmarks/extrapolation_prior.py --leave-out``);
- ``fixed``: the previous default, a linear drift ``tau ~ HalfNormal(0.03)`` per decade;
- ``law only``: no extrapolation error;
- ``split-conformal (record)``: the law-only median widened by the empirical distribution of
  the ladder's own leave-future-out residuals (``post.calibration()``: log observed minus log
  refit median, symmetrised), ignoring distance: split-conformal recalibration as in
  Conformalized Scaling Laws, with the record as the calibration split;
- ``Huber + bootstrap``: Epoch-style fits with a bootstrap;
- with ``--choose-law``, ``LOO choice``: the law :func:`bayescale.compare.choose_law` keeps among
  Chinchilla's, Kaplan's and Farseer's (each with the default error; not compared where the
  split's model has group effects, which do not carry across laws), the law chosen printed;
- with ``--beta-by-run``, on the cases of training curves (several checkpoints a run),
  ``beta by run`` and ``beta by run, law only``: a second fit whose data exponent varies by run
  (``effects={"beta": "run"}``, partially pooled), with and without its learned error. Their
  pooled lines cover those splits only, not every split as the other methods' do;
- with ``--discrepancy``, ``random walk + learned`` and ``random walk, no learned error``: a
  second fit with ``discrepancy="random_walk"`` (:mod:`bayescale.discrepancy`: a Brownian
  law discrepancy in log compute, its scale learnt from how the training runs at neighbouring
  budgets depart from the law, continued past the data with a variance growing linearly in the
  distance), with the learned extrapolation error on top and alone: the Gaussian-process
  candidate of the issue that introduced the learned error.

The cases: Epoch's ladder, Gadre et al.'s (families as groups), Gemstones' curves and slim ladder,
and three LLM ladders of the Hitchhiker's Guide's collection that the shipped prior across
ladders was not fitted on (:func:`extrapolation_prior.colpret_ladders`: Muennighoff et al.'s
single-epoch C4 runs cut by compute, GPT-3's and OPT's training curves cut at their last 30 %),
so the default meets ladders it has never seen; and four more sets of training curves added after
every default was fixed (:func:`extrapolation_prior.colpret_more_curves`: Muennighoff et al.'s
single-epoch C4 and OSCAR curves, OLMo-7B and its twin, K2), their last 30 % held out. With
``--normal``, ``normal likelihood`` and ``normal likelihood, law only``: a second fit with
``likelihood="normal"``, which a failed fit of curves used to advise.

The three bayescale variants share one NUTS fit per split (the extrapolation error does not
change the fit). Run: ``.venv/bin/python benchmarks/backtests.py [case ...]`` (every case by
default, about 32 min on 2 cores after the prior script has cached the ladders' records; 63 min
with ``--discrepancy`` on the 13 splits before them; name
prefixes such as ``gadre gemstones`` run those cases only; reads ../shared/datasets or
``BAYESCALE_DATA_MIRROR``). A method with NaN draws (a degenerate fit, or a bootstrap whose
Huber fits failed), or with overflowed ones reaching a reported quantile, is listed as not
scored, not averaged in; a few overflowed draws (a Student-t with ``nu`` below 1) are scored as
huge losses (:func:`bayescale.calibration.score_predictions`), with an infinite CRPS.
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
from bootstrap_baseline import bootstrap_draws  # noqa: E402

import bayescale as bs  # noqa: E402
from bayescale import calibration as cal  # noqa: E402
from bayescale.errors import DataError  # noqa: E402
from bayescale.extrapolation import DEFAULT_SCALE, ExtrapolationError  # noqa: E402
from bayescale.posterior import ScalingPosterior  # noqa: E402
from bayescale.record import PRIOR_ENV  # noqa: E402


def tail(d: pd.DataFrame, m: bs.Model) -> cal.Split:
    """The last 30 % of every training curve held out."""
    return cal.split_curve_tail(d, m, 0.3)


def cases():
    """(dataset, table, effects, split functions)."""
    epoch = common.epoch_runs()
    gadre = bs.datasets.load("gadre2024_overtraining")
    gem = bs.datasets.load("gemstones", "hot")
    slim = bs.datasets.load("gemstones", "slim_chinchilla")
    # ladders the shipped prior across ladders was not fitted on (see extrapolation_prior.py)
    colpret = {name: df for _, name, df, _ in extrapolation_prior.colpret_ladders()}
    more = {name: df for _, name, df in extrapolation_prior.colpret_more_curves()}

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
            [tail, lambda d, m: cal.split_by_size(d, m, 4)],
        ),
        ("gemstones slim_chinchilla", slim, None, [lambda d, m: cal.split_by_compute(d, m, 0.75)]),
        (
            "colpret c4 single epoch",
            colpret["colpret/datablations_c4"],
            None,
            [
                lambda d, m: cal.split_by_compute(d, m, 0.75),
                lambda d, m: cal.split_by_compute(d, m, 0.5),
            ],
        ),
        (
            "colpret gpt3 curves",
            colpret["colpret/gpt3"],
            None,
            [tail],
        ),
        (
            "colpret opt curves",
            colpret["colpret/opt"],
            None,
            [tail],
        ),
    ] + [
        (f"colpret {name.split('/')[1].replace('_', ' ')}", df, None, [tail])
        for name, df in more.items()
    ]


#: Dataset id (prior script's ``--leave-out``) of every backtest case.
DATASET_OF = {
    "epoch_chinchilla": "epoch_chinchilla",
    "gadre2024 (family=dataset)": "gadre2024_overtraining",
    "gemstones hot": "gemstones",
    "gemstones slim_chinchilla": "gemstones",
    "colpret c4 single epoch": "hitchhiker_colpret",
    "colpret gpt3 curves": "hitchhiker_colpret",
    "colpret opt curves": "hitchhiker_colpret",
    "colpret datablations c4 curves": "hitchhiker_colpret",
    "colpret datablations oscar curves": "hitchhiker_colpret",
    "colpret olmo 7b curves": "hitchhiker_colpret",
    "colpret k2 curve": "hitchhiker_colpret",
}
METHODS = ("learned (default)", "fixed drift (previous default)", "law only")
BETA_BY_RUN = ("beta by run", "beta by run, law only")
DISCREPANCY = ("random walk + learned", "random walk, no learned error")
NORMAL = ("normal likelihood", "normal likelihood, law only")
CONFORMAL = "split-conformal (record)"
LOO_CHOICE = "LOO choice"


def loo_choice_draws(post, train, test) -> np.ndarray | str:
    """Predictive draws of the law ``choose_law`` keeps (``post`` the default's fit, reused)."""
    model = post.model
    try:
        choice = bs.compare.choose_law(
            model, train, fitted={type(model.law).name: post}, progress_bar=False
        )
    except bs.SpecificationError as e:
        return f"not compared: {e}"
    print(f"LOO choice: {choice.chosen} ({choice.reason})", flush=True)
    return cal.predict_rows(choice.posterior, test, choice.posterior.model)


def conformal_draws(post, law_only_draws: np.ndarray) -> np.ndarray | None:
    """Law-only medians times the record's symmetrised residuals (``None`` without a record)."""
    record = post.calibration()
    if record.empty:
        return None
    resid = np.log(record["loss"].to_numpy(float) / record["median"].to_numpy(float))
    med = np.median(law_only_draws, axis=0)
    return med[None, :] * np.exp(np.concatenate([resid, -resid]))[:, None]


def variants(post):
    """The fit's posterior under each extrapolation-error variant (one fit, three predictors)."""
    ranges, cost = post.extrapolation.ranges, post.cost
    fixed = ExtrapolationError(ranges, cost, "fixed", DEFAULT_SCALE)
    return {
        METHODS[0]: post,
        METHODS[1]: ScalingPosterior(post.draws_tree, post.model, post.scale, post.grid, fixed),
        METHODS[2]: ScalingPosterior(post.draws_tree, post.model, post.scale, post.grid, None),
    }


def second_fit_draws(
    model, train, test, change: dict, labels: tuple[str, str]
) -> tuple[dict[str, np.ndarray | str], bool | None]:
    """Predictive draws of a second fit, ``model``'s spec updated by ``change``, and its verdict.

    ``labels`` name the fit with its learned error and without it (the law alone, or the law
    and the fitted discrepancy); a fit that cannot run says why in place of its draws.
    """
    spec = model.spec() | change
    try:
        post = bs.Model.from_spec(spec).fit(train, progress_bar=False)
    except (bs.DataError, bs.SpecificationError) as e:
        return dict.fromkeys(labels, f"not fitted: {e}"), None
    d = post.diagnostics(warn=False).attrs
    print(f"{labels[0]}: diagnostics ok={d['ok']} (max R-hat {d['rhat_max']:.3f})", flush=True)
    without = ScalingPosterior(post.draws_tree, post.model, post.scale, post.grid, None)
    draws = {
        labels[0]: cal.predict_rows(post, test, post.model),
        labels[1]: cal.predict_rows(without, test, post.model),
    }
    return draws, bool(d["ok"])


def scored(draws: np.ndarray | str, y: np.ndarray) -> dict:
    """The split's scores, or a ``status`` saying why there are none (non-finite draws).

    With them, ``reference_<level>``: the coverages a calibrated forecast of these points would
    show (:func:`bayescale.calibration.coverage_if_calibrated`), pooled over splits below.
    """
    if isinstance(draws, str):  # a method that could not run on this split says why
        return {"status": draws}
    try:
        summary, _ = cal.score_predictions(draws, y)
    except DataError as e:  # a degenerate fit (or bootstrap): say so, keep the other rows
        return {"status": f"not scored: {e}"}
    # the same function and seed as score_predictions' ranges, kept for pooling
    reference = {f"reference_{v:g}": cal.coverage_if_calibrated(draws, v) for v in (0.5, 0.9)}
    return {**summary, **reference, "status": "ok"}


def pooled_range(sub: pd.DataFrame, level: float) -> str:
    """The 90 % range of the pooled coverage a calibrated forecast of every split would show.

    One reference draw of each split, weighted by its points, is one draw of the pooled
    coverage if the splits are independent (each split's draws resampled to a common number).
    They are not quite: a dataset's splits overlap in their held-out runs (Epoch's lower compute
    cut holds out every run of the higher one), so the true range is somewhat wider.
    """
    weights = sub["n_test"].to_numpy(float)
    lo, hi = common.pooled_coverage_range(list(sub[f"reference_{level:g}"]), weights, n=2000)
    return f"[{lo:.2f}, {hi:.2f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "datasets", nargs="*", help="cases to run (prefixes of their names; default all)"
    )
    parser.add_argument(
        "--choose-law", action="store_true", help="also score the law LOO chooses (choose_law)"
    )
    parser.add_argument(
        "--beta-by-run",
        action="store_true",
        help="on training curves, also score a fit whose data exponent varies by run",
    )
    parser.add_argument(
        "--discrepancy",
        action="store_true",
        help="also score a fit with the random-walk law discrepancy in log compute",
    )
    parser.add_argument(
        "--normal",
        action="store_true",
        help="also score a fit with a normal likelihood (what a failed fit of curves advises)",
    )
    parser.add_argument("--out", help="also write the table of every split and method (CSV)")
    parser.add_argument(
        "--with-colpret",
        action="store_true",
        help="priors across ladders that also hold the Hitchhiker's Guide's LLM ladders",
    )
    args = parser.parse_args(argv)
    if not common.ready():
        return 0
    unknown = [p for p in args.datasets if not any(n.startswith(p) for n in DATASET_OF)]
    if unknown:
        parser.error(f"no case starts with {unknown}; the cases: {list(DATASET_OF)}")
    rows = []
    for name, df, effects, split_fns in cases():
        if args.datasets and not any(name.startswith(p) for p in args.datasets):
            continue
        os.environ[PRIOR_ENV] = str(
            extrapolation_prior.prior_without(DATASET_OF[name], args.with_colpret)
        )
        for split_fn in split_fns:
            model = bs.Model(effects=effects)
            split = split_fn(df, model)
            train, test = df[split.train], df[split.test]
            y = test["loss"].to_numpy(float)
            post = model.fit(train, progress_bar=False)
            ok = bool(post.diagnostics(warn=False).attrs["ok"])
            preds = {k: cal.predict_rows(p, test, model) for k, p in variants(post).items()}
            conformal = conformal_draws(post, preds[METHODS[2]])
            if conformal is not None:
                preds[CONFORMAL] = conformal
            preds["Huber + bootstrap"] = bootstrap_draws(train, test, n_boot=100)
            if args.choose_law:
                preds[LOO_CHOICE] = loo_choice_draws(post, train, test)
            fit_ok = dict.fromkeys(preds, ok) | {"Huber + bootstrap": None}
            curves = "run" in df and df["run"].duplicated().any()
            second_fits = [  # (asked for, change of the model's spec, labels)
                (
                    args.beta_by_run and curves,
                    {"effects": {**model.spec()["effects"], "beta": ["run"]}},
                    BETA_BY_RUN,
                ),
                (args.discrepancy, {"discrepancy": "random_walk"}, DISCREPANCY),
                (args.normal, {"likelihood": "normal"}, NORMAL),
            ]
            for wanted, change, labels in second_fits:
                if wanted:
                    extra, extra_ok = second_fit_draws(model, train, test, change, labels)
                    preds.update(extra)
                    fit_ok |= dict.fromkeys(extra, extra_ok)
            for label, draws in preds.items():
                rows.append(
                    {
                        "method": label,
                        "dataset": name,
                        "split": split.name,
                        "n_train": len(train),
                        "n_test": len(test),
                        **scored(draws, y),
                        "fit_ok": fit_ok[label],
                    }
                )
            print(
                pd.DataFrame(rows[-len(preds) :])
                .reindex(
                    columns=[
                        "method",
                        "dataset",
                        "split",
                        "coverage_0.5",
                        "coverage_0.5_p",
                        "coverage_0.9",
                        "calibrated_0.9_lo",
                        "calibrated_0.9_hi",
                        "coverage_0.9_p",
                        "interval_score_90",
                        "are_median",
                        "status",
                    ]
                )
                .to_string(index=False),
                flush=True,
            )
    os.environ.pop(PRIOR_ENV, None)
    table = pd.DataFrame(rows)
    for line in table.loc[
        table["status"] != "ok", ["dataset", "split", "method", "status"]
    ].itertuples():
        print(f"not scored: {line.dataset} {line.split} {line.method}: {line.status}")
    table = table[table["status"] == "ok"]
    if table.empty:
        print("no split was scored")
        return 1
    for method, sub in table.groupby("method", sort=False):
        w = sub["n_test"]
        # split-conformal draws shift every point by one residual: all or nothing, always
        ranges = {v: "none" if method == CONFORMAL else pooled_range(sub, v) for v in (0.5, 0.9)}
        print(
            f"{method}: pooled coverage 50 % {np.average(sub['coverage_0.5'], weights=w):.3f} "
            f"(calibrated: {ranges[0.5]}), 90 % "
            f"{np.average(sub['coverage_0.9'], weights=w):.3f} (calibrated: "
            f"{ranges[0.9]}) over {int(w.sum())} "
            f"held-out points; mean 90 % interval score "
            f"{np.average(sub['interval_score_90'], weights=w):.4f}; median of split ARE "
            f"medians {sub['are_median'].median():.3%}"
        )
    cols = [
        "dataset",
        "split",
        "method",
        "n_test",
        "coverage_0.5",
        "calibrated_0.5_lo",
        "calibrated_0.5_hi",
        "coverage_0.5_p",
        "coverage_0.9",
        "calibrated_0.9_lo",
        "calibrated_0.9_hi",
        "coverage_0.9_p",
        "interval_score_90",
        "are_median",
    ]
    pd.set_option("display.width", 220)
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.out:
        table.drop(columns=[c for c in table if c.startswith("reference_")]).to_csv(
            args.out, index=False
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
