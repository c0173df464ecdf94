"""Command line: ``bayescale fit | summary | predict | frontier | report | backtest | datasets``."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bayescale import calibration, datasets
from bayescale.decisions import decision_table
from bayescale.diagnostics import format_report
from bayescale.errors import ConvergenceWarning, DataError, SpecificationError
from bayescale.frontier import frontier
from bayescale.model import Model, load_posterior
from bayescale.plotting import plot_fit, plot_frontier
from bayescale.report import report
from bayescale.simulate import simulate_ladder


def _read_table(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:

    if args.data and args.dataset:
        raise SystemExit("error: give a data file or --dataset, not both.")
    if args.dataset:
        return datasets.load(args.dataset, args.table), f"dataset {args.dataset}"
    if args.data:
        path = Path(args.data)
        if not path.is_file():
            raise SystemExit(f"error: no such file: {path}")
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        return df, str(path)
    df = simulate_ladder(families=4, seed=args.seed)
    return df, "a ladder simulated from Hoffmann et al. (2022) parameters, 4 families"


def _parse_effects(items: list[str] | None) -> dict[str, list[str]] | None:
    if not items:
        return None
    out = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"error: --effects takes PARAM=GROUP[,GROUP...], got {item!r}.")
        k, v = item.split("=", 1)
        out[k] = [t for t in v.split(",") if t]
    return out


def _parse_columns(items: list[str] | None) -> dict[str, str] | None:
    if not items:
        return None
    return dict(item.split("=", 1) for item in items)


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit a model and write the posterior, a summary and a figure."""
    df, source = _read_table(args)
    if args.drop_highest_loss:
        dropped = df["loss"].nlargest(args.drop_highest_loss)
        print(
            f"Dropping the {len(dropped)} highest-loss rows (as asked): {dropped.round(3).tolist()}"
        )
        df = df.drop(dropped.index)
    effects = _parse_effects(args.effects)
    if not args.data and not args.dataset and effects is None and args.preset is None:
        effects = {"E": ["family"], "A": ["family"]}
    overrides = {}
    if effects is not None:
        overrides["effects"] = effects
    if args.likelihood:
        overrides["likelihood"] = args.likelihood
    if args.scale:
        overrides["scale"] = args.scale
    columns = _parse_columns(args.columns)
    if columns:
        overrides["columns"] = columns
    if args.preset:
        model = Model.from_preset(args.preset, **overrides)
    else:
        model = Model(law=args.law, **overrides)
    print(f"Fitting {source}: {len(df)} rows")
    print(model.describe(model.prepare(df).scale))
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        post = model.fit(
            df,
            chains=args.chains,
            draws=args.draws,
            warmup=args.warmup,
            seed=args.seed,
            progress_bar=args.progress,
        )
    elapsed = time.perf_counter() - t0
    pd.set_option("display.width", 120)
    print(post.summary().to_string())
    diag = post.diagnostics(warn=False)
    print(format_report(diag))
    for w in caught:
        print(f"WARNING: {w.message}", file=sys.stderr)
    print(f"wall time {elapsed:.1f} s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    post.to_netcdf(out / "fit.nc")
    post.summary().to_csv(out / "summary.csv")
    plot_fit(post, df, path=out / "fit.png")
    print(f"wrote {out / 'fit.nc'}, {out / 'summary.csv'}, {out / 'fit.png'}")
    return 0 if diag.attrs["ok"] else 3


def cmd_summary(args: argparse.Namespace) -> int:
    """Print the summary and diagnostics of a saved fit."""
    post = load_posterior(args.fit)
    print(post.summary().to_string())
    print(format_report(post.diagnostics(warn=False)))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Print posterior quantiles of the loss at given inputs."""
    post = load_posterior(args.fit)
    values = {k: float(v) for k, v in (("N", args.N), ("D", args.D), ("C", args.C)) if v}
    for item in args.group or []:
        k, v = item.split("=", 1)
        values[k] = v
    pred = post.predict(kind=args.kind, new_groups=args.new_groups, **values)
    q = pred.quantile([0.05, 0.5, 0.95], dim=("chain", "draw")).values[:, 0]
    print(f"loss: median {q[1]:.4f}, 90% interval [{q[0]:.4f}, {q[2]:.4f}] ({args.kind})")
    return 0


def cmd_frontier(args: argparse.Namespace) -> int:
    """Print the compute-optimal allocation with credible bands (and write a figure)."""
    post = load_posterior(args.fit)
    groups = dict(item.split("=", 1) for item in args.group or [])
    table = decision_table(post, args.compute, target=args.target, prob=args.prob, **groups)
    pd.set_option("display.width", 160)
    cols = [
        "compute",
        "N_opt",
        "N_opt_lo",
        "N_opt_hi",
        "D_opt",
        "D_opt_lo",
        "D_opt_hi",
        "tokens_per_param",
        "tokens_per_param_lo",
        "tokens_per_param_hi",
        "loss_opt",
    ]
    if args.target is not None:
        cols.append("p_target")
    print(f"median and {args.prob:.0%} band per budget")
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.plot:
        lo, hi = min(args.compute) / 100, max(args.compute) * 10
        front = frontier(post, np.geomspace(lo, hi, 60), **groups)
        plot_frontier(front, prob=args.prob, path=args.plot)
        print(f"wrote {args.plot}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML/Markdown/LaTeX report of a saved fit."""
    backtest = pd.read_csv(args.backtest) if args.backtest else None
    path = report(
        load_posterior(args.fit),
        args.out,
        target_compute=args.target_compute,
        backtest=backtest,
        title=args.title,
    )
    print(f"wrote {path} (and report.md, parameters.tex, figures as PNG and PDF)")
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    """Fit on one side of a split, predict the other, print coverage and errors."""
    df, source = _read_table(args)
    if args.drop_highest_loss:
        df = df.drop(df["loss"].nlargest(args.drop_highest_loss).index)
    effects = _parse_effects(args.effects)
    model = (
        Model.from_preset(args.preset, **({"effects": effects} if effects else {}))
        if (args.preset)
        else Model(law=args.law, effects=effects)
    )
    if args.split == "compute":
        splits = calibration.split_by_compute(df, model, args.train_fraction)
    elif args.split == "size":
        splits = calibration.split_by_size(df, model, args.n_largest)
    elif args.split == "curve":
        splits = calibration.split_curve_tail(df, model, 1 - args.train_fraction)
    else:
        if not args.group:
            raise SystemExit("error: --split group needs --group COLUMN.")
        splits = calibration.splits_leave_group_out(df, args.group)
    print(f"Backtest on {source} ({len(df)} rows), split: {args.split}")
    table = calibration.backtest(model, df, splits, draws=args.draws, seed=args.seed)
    pd.set_option("display.width", 160)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    """List datasets or describe one."""
    if args.action == "list":
        for name in datasets.available():
            print(f"{name:26s} {datasets.card(name)['title']}")
    else:
        if not args.name:
            raise SystemExit("error: datasets info needs a dataset name.")
        print(datasets.info(args.name))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    p = argparse.ArgumentParser(prog="bayescale", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fit", help="fit a model (default: a simulated 4-family ladder)")
    f.add_argument("data", nargs="?", help="CSV or parquet file, one row per run/checkpoint")
    f.add_argument("--dataset", help="a dataset name (see `bayescale datasets list`)")
    f.add_argument("--table", help="table of the dataset")
    f.add_argument("--law", default="chinchilla")
    f.add_argument("--preset", help="a model preset name from models/ or a TOML path")
    f.add_argument("--effects", nargs="*", help="PARAM=GROUP[,GROUP], e.g. E=family A=family")
    f.add_argument("--columns", nargs="*", help="ROLE=COLUMN, e.g. params='Model Size'")
    f.add_argument("--likelihood", choices=["student_t", "normal"])
    f.add_argument("--scale", choices=["log", "linear"])
    f.add_argument("--chains", type=int, default=4)
    f.add_argument("--draws", type=int, default=1000)
    f.add_argument("--warmup", type=int, default=1000)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument(
        "--drop-highest-loss",
        type=int,
        default=0,
        metavar="K",
        help="drop the K highest-loss rows first (Epoch drops 5 on Chinchilla)",
    )
    f.add_argument("--progress", action="store_true", help="show a progress bar")
    f.add_argument("--out", default="out", help="output folder")
    f.set_defaults(func=cmd_fit)

    s = sub.add_parser("summary", help="summary and diagnostics of a saved fit")
    s.add_argument("fit")
    s.set_defaults(func=cmd_summary)

    q = sub.add_parser("predict", help="loss quantiles at given inputs")
    q.add_argument("fit")
    q.add_argument("--N", type=float)
    q.add_argument("--D", type=float)
    q.add_argument("--C", type=float)
    q.add_argument("--group", nargs="*", help="COLUMN=LABEL")
    q.add_argument("--kind", choices=["predictive", "mean"], default="predictive")
    q.add_argument("--new-groups", action="store_true")
    q.set_defaults(func=cmd_predict)

    fr = sub.add_parser("frontier", help="compute-optimal N*, D*, D*/N*, L* with bands")
    fr.add_argument("fit")
    fr.add_argument("--compute", type=float, nargs="+", required=True, help="budgets in FLOP")
    fr.add_argument("--target", type=float, help="target loss: report P(loss < target)")
    fr.add_argument("--prob", type=float, default=0.8, help="band probability (default 0.8)")
    fr.add_argument("--group", nargs="*", help="COLUMN=LABEL")
    fr.add_argument("--plot", help="write the frontier figure here (PNG/PDF)")
    fr.set_defaults(func=cmd_frontier)

    r = sub.add_parser("report", help="HTML/Markdown/LaTeX report of a saved fit")
    r.add_argument("fit")
    r.add_argument("--out", default="report", help="output folder")
    r.add_argument("--target-compute", type=float, help="extrapolation target (FLOP)")
    r.add_argument("--backtest", help="a backtest table (CSV from `bayescale backtest --out`)")
    r.add_argument("--title")
    r.set_defaults(func=cmd_report)

    b = sub.add_parser("backtest", help="held-out coverage and errors of extrapolations")
    b.add_argument("data", nargs="?", help="CSV or parquet file")
    b.add_argument("--dataset")
    b.add_argument("--table")
    b.add_argument("--law", default="chinchilla")
    b.add_argument("--preset")
    b.add_argument("--effects", nargs="*")
    b.add_argument("--split", choices=["compute", "size", "curve", "group"], default="compute")
    b.add_argument("--train-fraction", type=float, default=0.75)
    b.add_argument("--n-largest", type=int, default=2)
    b.add_argument("--group", help="column for --split group")
    b.add_argument("--drop-highest-loss", type=int, default=0)
    b.add_argument("--draws", type=int, default=1000)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--out", help="write the table as CSV")
    b.set_defaults(func=cmd_backtest)

    d = sub.add_parser("datasets", help="list or describe datasets")
    d.add_argument("action", choices=["list", "info"])
    d.add_argument("name", nargs="?")
    d.set_defaults(func=cmd_datasets)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bayescale`` command."""
    args = build_parser().parse_args(argv)

    try:
        return args.func(args)
    except (DataError, SpecificationError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
