"""``bayescale backtest`` and ``bayescale pooling``: fit on one side of a split, score the other."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from bayescale import calibration, pooling
from bayescale.cli.files import drop_highest, loss_column_of, read_table, writable_file
from bayescale.cli.options import EXIT_DIAGNOSTICS, UsageError, effects_from, table_model
from bayescale.frontier_backtest import frontier_backtest
from bayescale.model import Model
from bayescale.plotting import plot_pooling


def cmd_backtest(args: argparse.Namespace) -> int:
    """Fit on one side of a split, predict the other, print coverage and errors."""
    if args.out:
        writable_file(Path(args.out), "--out", args.data)
    if args.split == "group" and not args.group:
        raise UsageError("--split group needs --group COLUMN")
    if args.held_out and args.split != "frontier":
        raise UsageError("--held-out is an option of --split frontier")
    repeated = sorted({v for v in args.held_out or [] if args.held_out.count(v) > 1})
    if repeated:  # as pooling's --k: a repeated count would be read once
        raise UsageError(
            f"--held-out repeats {', '.join(map(str, repeated))}: give each count once"
        )
    if args.n_largest is not None and args.split != "size":
        raise UsageError("--n-largest is an option of --split size")
    if args.train_fraction is not None and args.split not in ("compute", "curve"):
        raise UsageError("--train-fraction is an option of --split compute and --split curve")
    if args.group and args.split != "group":
        raise UsageError("--group is an option of --split group")
    df, source = read_table(args)
    model = table_model(args)
    df = drop_highest(df, args.drop_highest_loss, loss_column_of(model))
    if args.split == "frontier":
        return _frontier_backtest(args, model, df, source)
    if args.split == "compute":
        splits = calibration.split_by_compute(df, model, args.train_fraction or 0.75)
    elif args.split == "size":
        splits = calibration.split_by_size(df, model, args.n_largest or 2)
    elif args.split == "curve":
        splits = calibration.split_curve_tail(df, model, 1 - (args.train_fraction or 0.75))
    else:
        if args.group not in df.columns:
            raise UsageError(f"--group {args.group!r} is not a column: {list(df.columns)}")
        _refuse_read_group(model, args.group, "--group")
        splits = calibration.splits_leave_group_out(df, args.group)
    fits = len(splits) if isinstance(splits, list) else 1
    print(
        f"Backtest of the {model.law.name} law on {source} ({len(df)} rows), split: {args.split}"
        + (f" ({fits} fits, one per level of {args.group!r})" if fits > 1 else "")
    )
    name = args.dataset or (Path(args.data).name if args.data else "simulated ladder")
    table = calibration.backtest(model, df, splits, dataset=name, draws=args.draws, seed=args.seed)
    pd.set_option("display.width", 160)
    hidden = ["dataset", "data_warnings", "law", "table"]
    hidden += calibration.coverage_columns(table, ranges=True)
    shown = table.drop(columns=hidden, errors="ignore")  # the dataset and law are the header's
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for _, row in table.iterrows():
        for level in (0.5, 0.9):
            if pd.notna(row.get(f"calibrated_{level:g}_lo")):
                print(
                    f"{row['split']}: {level:.0%} coverage {row[f'coverage_{level:g}']:.2f}; a "
                    f"calibrated forecast of these points: {row[f'calibrated_{level:g}_lo']:.2f}-"
                    f"{row[f'calibrated_{level:g}_hi']:.2f} nine times in ten (tail probability "
                    f"{row[f'coverage_{level:g}_p']:.2f})"
                )
    notes = table.attrs.get("data_warnings_command_line")  # the data warnings in its words
    if notes is None:  # a table built otherwise
        notes = table["data_warnings"]
    for split, note in zip(table["split"], notes, strict=True):
        if note:
            print(f"data warning ({split}): {note}")
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    failed = table.loc[~table["fit_ok"].astype(bool), "split"].tolist()
    for split in failed:
        print(
            f"warning ({split}): the fit of the training rows failed its diagnostics (R-hat, "
            "ESS or divergences), so its scores describe a fit that cannot be trusted; rerun "
            "with more --draws, or `bayescale fit` those rows to read the diagnostics",
            file=sys.stderr,
        )
    return EXIT_DIAGNOSTICS if failed else 0


def _refuse_read_group(model: Model, column: str, option: str) -> None:
    """Refuse a group column that the law reads (the loss or an input), naming what it is."""
    read = model.read_columns()
    if column in read:
        raise UsageError(
            f"{option} {column!r} is a column the law reads ({read[column]}), not a group: "
            "name the column that tells the groups apart (family, dataset, seed)"
        )


def _frontier_backtest(
    args: argparse.Namespace, model: Model, df: pd.DataFrame, source: str
) -> int:
    """``backtest --split frontier``: the held-out iso-FLOP minima against the frontier."""
    print(f"Frontier backtest on {source} ({len(df)} rows)")
    table = frontier_backtest(model, df, args.held_out, draws=args.draws, seed=args.seed)
    pd.set_option("display.width", 200)
    shown = ["held_out", "profile", "distance", "N_opt", "N_star", "N_star_lo", "N_star_hi"]
    shown += ["inside", "measured_lo", "measured_hi", "inside_measured"]
    print(table[shown].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    band = f"{table.attrs['band']:.0%}"
    for k, rows in table.groupby("held_out"):
        print(
            f"top {k} profiles held out: {int(rows['inside'].sum())} of {len(rows)} measured "
            f"minima inside the {band} N* band (a right fit's band would hold about "
            f"{rows['p_inside_if_right'].sum():.1f}: minima scatter), "
            f"{int(rows['inside_measured'].sum())} inside the {band} predictive of the measured "
            "minimum"
        )
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    failed = sorted({int(k) for k in table.loc[~table["fit_ok"].astype(bool), "held_out"]})
    for k in failed:
        print(
            f"warning (top {k} profiles held out): the fit of the other profiles failed its "
            "diagnostics (R-hat, ESS or divergences), so its N* bands describe a fit that cannot "
            "be trusted; rerun with more --draws, or `bayescale fit` those rows to read the "
            "diagnostics",
            file=sys.stderr,
        )
    return EXIT_DIAGNOSTICS if failed else 0


def cmd_pooling(args: argparse.Namespace) -> int:
    """Predict each group's larger runs from its smallest, with and without pooling."""
    if args.out:
        writable_file(Path(args.out), "--out", args.data)
    if args.figure:
        writable_file(args.figure, "--figure", args.data)
    for option, values in (("--k", args.k), ("--hold-out", args.hold_out or [])):
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise UsageError(
                f"{option} repeats {', '.join(repeated)}: give each value once (a repeated case "
                "would be fitted and counted twice)"
            )
    df, source = read_table(args)
    model = table_model(args, effects=False)
    df = drop_highest(df, args.drop_highest_loss, loss_column_of(model))
    if args.group not in df.columns:
        raise UsageError(f"--group {args.group!r} is not a column: {list(df.columns)}")
    _refuse_read_group(model, args.group, "--group")
    if args.hold_out:
        levels = set(df[args.group].dropna().astype(str))
        unknown = [g for g in args.hold_out if g not in levels]
        if unknown:
            raise UsageError(
                f"--hold-out {' '.join(unknown)}: not a level of --group {args.group!r}, whose "
                f"levels are {sorted(levels)[:20]}"
            )
    effects = effects_from(args.effects)
    if effects == {}:  # the backtest's baseline already has none
        raise UsageError(
            "--effects names no effect: give the ones to backtest (E=family A=family), or leave "
            "--effects out for the default candidates"
        )
    candidates = {"given": effects} if effects else None
    fit = {"draws": args.draws, "seed": args.seed, "method": args.method}
    print(f"New-group backtest on {source} ({len(df)} rows), group {args.group!r}, k = {args.k}")
    name = args.dataset or (Path(args.data).name if args.data else "simulated ladder")
    table = pooling.new_group_backtest(
        model, df, args.group, args.k, candidates, dataset=name, groups=args.hold_out, **fit
    )
    pd.set_option("display.width", 160)
    statuses = table.attrs.get("status_command_line")  # the rows, in the command's words
    notes = table.attrs.get("data_warnings_command_line")
    if statuses is None or notes is None:  # a table built otherwise
        statuses, notes = table["status"], table.get("data_warnings", [""] * len(table))
    for (_, row), status, note in zip(table.iterrows(), statuses, notes, strict=True):
        case = f"{args.group}={row['level']}, k={row['k']}, {row['method']}"
        if row["status"] != "ok":
            print(f"{case}: {status}")
        elif note:
            print(f"{case}: data warning: {note}")
    summary = pooling.summarise_backtest(table)
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.choose:
        print()
        print(pooling.choose_effects(model, df, args.group, candidates, table, **fit))
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    if args.figure:
        plot_pooling(table, args.figure)
        print(f"wrote {args.figure}")
    scored = table["status"].eq("ok")
    failed = table[scored & ~table["fit_ok"].fillna(True).astype(bool)]
    if len(failed):
        cases = [
            f"{args.group}={r['level']}, k={r['k']}, {r['method']}" for _, r in failed.iterrows()
        ]
        print(
            f"warning: {len(failed)} of {int(scored.sum())} fits failed their diagnostics (R-hat, "
            f"ESS or divergences; the importance weights' Pareto k under --method psis), e.g. "
            f"{'; '.join(cases[:3])}: their scores describe fits that cannot be trusted; rerun "
            "with more --draws (or --method nuts)",
            file=sys.stderr,
        )
    return EXIT_DIAGNOSTICS if len(failed) else 0
