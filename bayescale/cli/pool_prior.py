"""``bayescale pool-prior``: the extrapolation error's prior across the ladders of one table."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from bayescale import record
from bayescale.cli.files import drop_highest, loss_column_of, read_table, writable_file
from bayescale.cli.options import UsageError, table_model
from bayescale.errors import (
    DataError,
    SpecificationError,
)
from bayescale.model import Model


def _model_reads(model: Model, df: pd.DataFrame, column: str) -> bool:
    """Whether ``model`` reads ``column`` of ``df``: the table prepares with it, not without."""
    try:
        model.prepare(df)
    except (DataError, SpecificationError):
        return False  # the table's own problem: each ladder's table reports it below
    try:
        model.prepare(df.drop(columns=column))
    except (DataError, SpecificationError):
        return True
    return False


def cmd_pool_prior(args: argparse.Namespace) -> int:
    """Fit the prior of the extrapolation error's scales across the table's ladders or curves."""
    writable_file(Path(args.out), "--out", args.data)
    df, source = read_table(args)
    model = table_model(args)
    if args.by not in df.columns:
        raise UsageError(
            f"--by {args.by!r} is not a column of {source}: {list(df.columns)}; name the column "
            "that tells the ladders or curves apart"
        )
    if df[args.by].isna().any():
        raise UsageError(
            f"--by {args.by!r}: {int(df[args.by].isna().sum())} rows have no label; label or "
            "drop them first (no row is dropped silently)"
        )
    if _model_reads(model, df, args.by):
        raise UsageError(
            f"--by {args.by!r} is a column the model reads (a law input, the loss or an effect's "
            "group), and each ladder's table is split off without it: tell the ladders apart by "
            "a column the fit does not use (a ladder or curve name), or drop the effects on it"
        )
    levels = df[args.by].nunique()
    if levels < record.MIN_POOLED_LADDERS:  # said before any record is computed
        raise UsageError(
            f"--by {args.by!r} splits {source} into {levels} table(s); a prior across ladders "
            f"needs at least {record.MIN_POOLED_LADDERS} with a record: name the column that "
            "tells your ladders (or curves) apart"
        )
    tables = _ladders(df, args.by, args.drop_highest_loss, loss_column_of(model))
    print(f"Records of {len(tables)} tables of {source} (by {args.by!r}), law {model.law.name}")
    try:
        prior = record.pooled_prior(model, tables, seed=args.seed)
    except ValueError as e:
        if isinstance(e, DataError | SpecificationError):
            raise
        raise UsageError(str(e)) from None
    sd = np.sqrt(np.diag(prior.cov))
    what = "an input error (decades of effective input)"
    what = what if prior.kind == "inputs" else f"a {prior.kind} error (log loss)"
    print(
        f"Prior of {what} over {len(prior.fitted_on)} tables: offset "
        f"sigma_o median {np.exp(prior.mean[0]):.4g} (log sd {sd[0]:.2f}), growth sigma_g "
        f"median {np.exp(prior.mean[1]):.4g} (log sd {sd[1]:.2f})"
    )
    left = sorted(set(tables) - set(prior.fitted_on))
    if left:
        print(f"Too short for a record (not in the prior): {left}")
    prior.save(args.out, tables=len(tables), by=args.by, source=source)
    print(f"wrote {args.out}; fit with: bayescale fit ... --extrapolation-prior {args.out}")
    return 0


def _ladders(df: pd.DataFrame, by: str, k: int, loss_column: str) -> dict[str, pd.DataFrame]:
    """Split ``df`` into its ladders by ``by``, each without its ``k`` highest losses.

    A ladder of ``k`` rows or fewer is left out, and said so (it would have none left).
    """
    tables, short = {}, []
    for key, sub in df.groupby(by, sort=True):
        if k and len(sub) <= k:
            short.append(f"{key} ({len(sub)} rows)")
            continue
        within = f" of {by}={key}"
        tables[str(key)] = drop_highest(sub, k, loss_column, within, quiet=True).drop(columns=by)
    if k and tables:
        print(f"Dropped the {k} highest-loss rows of each of {len(tables)} ladders (as asked)")
    if short:
        print(f"Left out, no more rows than --drop-highest-loss {k}: {', '.join(short)}")
    if not tables:
        raise UsageError(
            f"--drop-highest-loss {k} leaves no ladder with a row: every ladder by {by!r} has "
            f"{k} rows or fewer; drop fewer"
        )
    return tables
