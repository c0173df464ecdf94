"""Compare shapes of the extrapolation error's growth by the records' marginal likelihood.

The error is ``sigma_o phi(d) z_o + sigma_g g(d) z_g`` (:mod:`bayescale.extrapolation`), with
``g(d) = sqrt(d)`` and ``phi`` rising over 0.05 decades. Which shape a ladder's leave-future-out
record supports can be asked of the records themselves, without any held-out run: each public
ladder's record (the refits' predictives and the residuals of the rows above each cut) is read
under every candidate shape, the prior across ladders is fitted under it
(:func:`bayescale.record.fit_prior`), and the records' log marginal likelihood under that prior
is summed, in total and for each ladder with its own dataset left out of the prior. Then the
ladders the prior never saw (the Hitchhiker's Guide's LLM ladders and curves,
``--with-colpret``) are scored under each shape's prior fitted on the public ladders: the
out-of-sample check of a choice the public ladders would make.

Shapes whose scales fall off the record's grid of log scales are penalised by its edge
(:data:`bayescale.record.LOG_SCALE_GRID`, 1e-4 to 0.5), not by the data.

``--correlations`` compares, the same way, correlations of the effective-input errors of ``N``
and ``D`` (:data:`bayescale.extrapolation.INPUT_CORRELATION`) under the shipped shapes.

Run (about 2 min on 2 cores, 3 with ``--with-colpret``; reads ../shared/datasets or
``BAYESCALE_DATA_MIRROR``):

    .venv/bin/python benchmarks/growth_shapes.py --with-colpret [--correlations]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("BAYESCALE_DATA_MIRROR", str(ROOT.parent / "shared" / "datasets"))

import common  # noqa: E402
import extrapolation_prior  # noqa: E402
import numpy as np  # noqa: E402

import bayescale as bs  # noqa: E402
from bayescale import record  # noqa: E402
from bayescale.extrapolation import growth_shape, input_mixing, offset_shape  # noqa: E402

#: The dataset whose curves are in the prior (every other public dataset is a ladder of runs).
CURVES = "revisiting_scaling_benchmark"

Shape = tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]

#: Candidate (growth, offset) shapes; the first is the error's own.
SHAPES: dict[str, Shape] = {
    "sqrt(d) (default)": (growth_shape, offset_shape),
    "d^0.25": (lambda d: d**0.25, offset_shape),
    "d^0.75": (lambda d: d**0.75, offset_shape),
    "d": (lambda d: d, offset_shape),
    "1 - exp(-d / 0.3)": (lambda d: 1 - np.exp(-d / 0.3), offset_shape),
    "1 - exp(-d)": (lambda d: 1 - np.exp(-d), offset_shape),
    "log(1 + d / 0.1)": (lambda d: np.log1p(d / 0.1), offset_shape),
    "sqrt(d), offset over 0.02": (np.sqrt, lambda d: offset_shape(d, 0.02)),
    "sqrt(d), offset over 0.15": (np.sqrt, lambda d: offset_shape(d, 0.15)),
    "d, offset over 0.15": (lambda d: d, lambda d: offset_shape(d, 0.15)),
}


def raw_records(items) -> dict[tuple[str, str], tuple[str, list[dict]]]:
    """Return every ladder's cuts as :func:`bayescale.record.cut_loglik` reads them, both kinds.

    ``items`` yields ``(dataset, name, table[, law])``. The record's refits are run once; the
    arguments of each cut's likelihood are kept, so any shape can be read from them.
    """
    kept: list[dict] = []
    original = record.cut_loglik

    def keep(log_y, log_draws, d, noise_sd=None, jac=None, nu=None, **kwargs):
        kept.append({"log_y": log_y, "log_draws": log_draws, "d": d, "noise_sd": noise_sd})
        kept[-1]["jac"] = jac
        return original(log_y, log_draws, d, noise_sd, jac, nu, **kwargs)

    out = {}
    record.cut_loglik = keep
    try:
        for dataset, name, df, *law in items:
            model = bs.Model() if not law or law[0] is None else bs.Model(law=law[0])
            try:
                data = model.prepare(df)
            except (bs.DataError, bs.SpecificationError) as e:
                print(f"{name}: skipped ({e})", flush=True)
                continue
            for kind in record.KINDS:
                kept.clear()
                record._RECORDS.clear()  # a record kept for the process would skip its cuts
                rec = record.ladder_record(
                    model.without_extrapolation(), data, inputs=kind == "inputs"
                )
                if rec.cuts:
                    # the cuts read again reproduce the record (the patch is still in place)
                    assert np.allclose(sum(original(**c) for c in kept), rec.loglik)
                    out[name, kind] = (dataset, list(kept))
    finally:
        record.cut_loglik = original
    return out


def loglik(cuts: list[dict], shape: Shape) -> np.ndarray:
    """Return a ladder's record log likelihood on the grid of log scales under ``shape``."""
    growth, offset = shape
    return sum(record.cut_loglik(**c, growth=growth, offset=offset) for c in cuts)


def scores(found, held, kind: str, shape: Shape):
    """Return a shape's log marginal likelihoods of the records of ``kind``, by ladder.

    ``(every, lodo, unseen, prior)``: each public ladder's under the prior fitted on all of
    them, and under the prior fitted without its dataset; each unseen ladder's under the prior
    fitted on all public ladders; that prior.
    """
    names = sorted(n for n, k in found if k == kind)
    datasets = {n: found[n, kind][0] for n in names}
    lls = {n: loglik(found[n, kind][1], shape) for n in names}
    prior = record.fit_prior([lls[n] for n in names], names, kind)
    every = dict(zip(names, record.marginal_loglik([lls[n] for n in names], prior), strict=True))
    lodo = {}
    for dataset in sorted(set(datasets.values())):
        mine = [n for n in names if datasets[n] == dataset]
        rest = [n for n in names if datasets[n] != dataset]
        without = record.fit_prior([lls[n] for n in rest], rest, kind)
        lodo.update(zip(mine, record.marginal_loglik([lls[n] for n in mine], without), strict=True))
    held_names = sorted(n for n, k in held if k == kind)
    unseen = dict(
        zip(
            held_names,
            record.marginal_loglik([loglik(held[n, kind][1], shape) for n in held_names], prior),
            strict=True,
        )
    )
    return every, lodo, unseen, prior


def compare(found, held, kind: str) -> None:
    """Print each shape's marginal likelihoods of the records of ``kind``, against the default."""
    what = "effective inputs" if kind == "inputs" else "log loss"
    print(f"\nAn error of the {what}: log marginal likelihood of the records (nats; the other")
    print("shapes against the default: higher is better)")
    print(
        f"{'shape':28s} {'all':>8s} {'LODO':>8s} {'ladders':>8s} {'curves':>8s} {'unseen':>8s}"
        "  prior medians sigma_o / sigma_g"
    )
    results = {label: scores(found, held, kind, shape) for label, shape in SHAPES.items()}
    curve = {n for n, k in found if k == kind and found[n, k][0] == CURVES}
    base = None
    for label, (every, lodo, unseen, prior) in results.items():
        row = np.array(
            [
                sum(every.values()),
                sum(lodo.values()),
                sum(v for n, v in lodo.items() if n not in curve),
                sum(v for n, v in lodo.items() if n in curve),
                sum(unseen.values()),
            ]
        )
        cells = " ".join(
            f"{v:8.1f}" if base is None else f"{v:+8.1f}"
            for v in (row if base is None else row - base)
        )
        base = row if base is None else base
        print(f"{label:28s} {cells}  {np.exp(prior.mean[0]):.4f} / {np.exp(prior.mean[1]):.4f}")
    default = results[next(iter(SHAPES))]
    print("Each ladder of runs and each unseen ladder (LODO; unseen: the public ladders' prior):")
    for label in ("d^0.75", "d", "sqrt(d), offset over 0.15"):
        _, lodo, unseen, _ = results[label]
        per = [f"{n.split('/')[-1]} {lodo[n] - default[1][n]:+.1f}" for n in lodo if n not in curve]
        per += [f"{n.split('/')[-1]} {unseen[n] - default[2][n]:+.1f}" for n in unseen]
        print(f"  {label}: " + ", ".join(per))


#: Correlations of the effective-input errors of N and D compared by ``--correlations``.
CORRELATIONS = (-0.95, -0.8, -0.5, -0.3, 0.0, 0.5, 0.8, 0.95)


def with_correlation(records, rho: float):
    """Return ``records`` with each input-error cut's sensitivities mixed as ``J L(rho)``.

    :func:`bayescale.extrapolation.input_mixing`: the N and D errors correlated at ``rho``
    (the records were computed at the shipped correlation, 0: ``J`` as the refits gave it).
    """
    out = {}
    for (name, kind), (dataset, cuts) in records.items():
        mixed = []
        for c in cuts:
            jac = c["jac"]
            if kind == "inputs" and jac is not None and np.ndim(jac) == 2 and jac.shape[1] == 2:
                # the two columns are a law of N and D's, in that order (the record's)
                c = {**c, "jac": jac @ input_mixing(("N", "D"), rho)}
            mixed.append(c)
        out[name, kind] = (dataset, mixed)
    return out


def compare_correlations(found, held) -> None:
    """Print the records' marginal likelihood of each correlation of the N and D errors."""
    print("\nThe effective-input errors of N and D correlated at rho: log marginal likelihood of")
    print("the records (nats; against rho = 0, the shipped error; higher is better)")
    print(f"{'rho':>6s} {'all':>8s} {'LODO':>8s} {'ladders':>8s} {'unseen':>8s}  per ladder")
    curve = {n for n, k in found if k == "inputs" and found[n, k][0] == CURVES}
    shape = (growth_shape, offset_shape)
    rows = {}
    for rho in CORRELATIONS:
        every, lodo, unseen, _ = scores(
            with_correlation(found, rho), with_correlation(held, rho), "inputs", shape
        )
        rows[rho] = (every, lodo, unseen)
    base = rows[0.0]
    for rho, (every, lodo, unseen) in rows.items():
        total = [
            sum(every.values()) - sum(base[0].values()),
            sum(lodo.values()) - sum(base[1].values()),
            sum(v - base[1][n] for n, v in lodo.items() if n not in curve),
            sum(unseen.values()) - sum(base[2].values()),
        ]
        per = [
            f"{n.split('/')[-1]} {v - base[1][n]:+.1f}" for n, v in lodo.items() if n not in curve
        ]
        per += [f"{n.split('/')[-1]} {v - base[2][n]:+.1f}" for n, v in unseen.items()]
        cells = " ".join(f"{v:+8.1f}" for v in total)
        print(f"{rho:6.2f} {cells}  {', '.join(per)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--with-colpret",
        action="store_true",
        help="score the shapes on the Hitchhiker's Guide's ladders too (never in the prior)",
    )
    parser.add_argument(
        "--correlations",
        action="store_true",
        help="compare correlations of the N and D input errors instead of growth shapes",
    )
    args = parser.parse_args(argv)
    if not common.ready():
        return 0
    found = raw_records(extrapolation_prior.ladders())
    held = {}
    if args.with_colpret:
        unseen = itertools.chain(
            extrapolation_prior.colpret_ladders(), extrapolation_prior.colpret_more_curves()
        )
        held = raw_records(unseen)
    print(
        f"records: {len({n for n, _ in found})} public ladders, {len({n for n, _ in held})} unseen"
    )
    if args.correlations:
        compare_correlations(found, held)
        return 0
    for kind in record.KINDS:
        compare(found, held, kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
