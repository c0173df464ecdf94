"""The verbs that read a saved fit: ``summary``, ``predict``, ``frontier`` and ``report``."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayescale import calibration
from bayescale.cli.files import new_output_folder, read_runs, writable_file
from bayescale.cli.notes import (
    note_draws,
    note_unlabelled,
    print_prior_bounds,
    refuse_idle_new_groups,
    spelled_as_fitted,
    warn_failed_fit,
)
from bayescale.cli.options import (
    EXIT_DIAGNOSTICS,
    UsageError,
    command_line_text,
    distinct_digits,
    group_labels,
    percent,
    with_digits,
)
from bayescale.decisions import decision_table
from bayescale.diagnostics import format_report
from bayescale.errors import DataWarning
from bayescale.frontier import frontier
from bayescale.laws.base import INPUT_OF_ROLE, INPUTS, LINEAR_INPUTS
from bayescale.plotting import plot_frontier
from bayescale.report import report
from bayescale.saved import load_posterior
from bayescale.sites import RUN, terms_of


def _phase(message: str) -> None:
    """Print the start of a long step on stderr (the fit's own phases read the same)."""
    print(f"bayescale: {message} ...", file=sys.stderr, flush=True)


def _cell(value: Any) -> str:
    """Return a table cell as a message shows it: 'empty' for a missing value."""
    return "empty" if pd.isna(value) else str(value)


def cmd_summary(args: argparse.Namespace) -> int:
    """Print the summary and diagnostics of a saved fit (exit 3 when they fail, as ``fit``)."""
    post = load_posterior(args.fit)
    pd.set_option("display.width", 120)
    print(post.summary().to_string(float_format=with_digits))
    diag = post.diagnostics(warn=False)
    print(format_report(diag))
    print_prior_bounds(diag)
    return 0 if diag.attrs["ok"] else EXIT_DIAGNOSTICS


def cmd_predict(args: argparse.Namespace) -> int:
    """Print posterior quantiles of the loss at one or more points."""
    post = load_posterior(args.fit)
    inputs = post.predict_inputs()
    values: dict = {}
    # the fit's own column names (a preset's or --columns' mapping) name their roles
    roles = {col: role for role, col in dict(post.model.columns or {}).items()}
    if args.points:
        points = read_runs(Path(args.points))
        read = {*inputs, *(INPUTS[k] for k in inputs)}
        clash = [
            (c, roles[c])
            for c in points.columns
            if c in roles and roles[c] in points.columns and roles[c] in read
        ]
        if clash:  # an input under the fit's name and its own: which one is meant?
            column, role = clash[0]
            raise UsageError(
                f"--points {args.points}: columns {column!r} and {role!r} both give {role} (the "
                f"fit read {role} from {column!r}); keep one of them"
            )
        # (a runs table's 'loss' beside the fitted 'val_loss': both dropped below, not inputs)
        points = points.rename(columns={c: roles[c] for c in points.columns if c in roles})
        read |= {c for t in terms_of(post.model.effects) for c in t.columns}
        has = set(points.columns)
        if "C" not in post.law.inputs and {"N", INPUTS["N"]} & has and {"D", INPUTS["D"]} & has:
            read -= {"C", INPUTS["C"]}  # C follows from N and D, as the fit's law read them
        if RUN in post.draws_tree["posterior"].coords:  # a fitted run's effect
            read.add(RUN)
        unread = [c for c in points.columns if c not in read]
        if unread:  # a table of runs: its losses (and labels the model lacks) are not inputs
            print(
                f"(the points' columns {unread} are neither inputs nor group columns of this "
                "model: not read)"
            )
            points = points.drop(columns=unread)
        for c in points.columns:
            if c in INPUTS or c in INPUTS.values():  # an input: numbers only, else say where
                as_number = pd.to_numeric(points[c], errors="coerce")
                bad = as_number.isna() & points[c].notna()
                if bad.any():
                    i = int(np.flatnonzero(bad.to_numpy())[0])
                    raise UsageError(
                        f"--points {args.points}: column {c!r} must be numeric; row {i + 1} "
                        f"holds {points[c].iloc[i]!r} (write numbers such as 7e10)"
                    )
                linear = INPUT_OF_ROLE.get(c, c) in LINEAR_INPUTS  # any finite value
                x = as_number.to_numpy()
                invalid = ~np.isfinite(x) | (False if linear else x <= 0)
                if invalid.any():  # empty, nan, inf, zero or negative: say where
                    rows = (np.flatnonzero(invalid)[:5] + 1).tolist()
                    need = "a finite number" if linear else "a finite number > 0"
                    raise UsageError(
                        f"--points {args.points}: column {c!r} must be {need} at "
                        f"every row; rows {rows} hold "
                        f"{[_cell(v) for v in points[c].to_numpy()[invalid][:5]]} (fill them in "
                        "or remove those rows)"
                    )
                points[c] = as_number
            elif points[c].isna().any():  # a group label left empty is not a new group
                rows = (np.flatnonzero(points[c].isna().to_numpy())[:5] + 1).tolist()
                raise UsageError(
                    f"--points {args.points}: the group column {c!r} has no label at rows "
                    f"{rows}; label every point (a fitted level, or a new one with --new-groups)"
                )
        values.update({c: points[c].to_numpy() for c in points.columns})
    for name in ("N", "D", "C"):
        given = getattr(args, name)
        if given and (name in values or INPUTS.get(name) in values):
            column = name if name in values else INPUTS[name]
            column = next((c for c, r in roles.items() if r == column), column)  # file's name
            raise UsageError(
                f"--{name} and the points file's {column!r} column both give "
                f"{name}; give it one way (drop --{name}, or that column)"
            )
        if given:
            if name not in inputs:
                raise UsageError(
                    f"predict: the {post.law.name} law reads {', '.join(post.law.inputs)}, not "
                    f"--{name}; drop it (a value the law does not read would be shown beside "
                    "predictions it did not shape)"
                )
            values[name] = np.asarray(given, float)
    if not values and args.points:  # every column dropped as not read (said above)
        mapped = {INPUTS[k]: (post.model.columns or {}).get(INPUTS[k]) for k in post.law.inputs}
        names = ", ".join(
            f"{k} (or {INPUTS[k]}" + (f", or {mapped[INPUTS[k]]!r})" if mapped[INPUTS[k]] else ")")
            for k in post.law.inputs
        )
        raise UsageError(
            f"--points {args.points}: none of its columns is an input of the fit, which reads "
            f"{names}; name its columns that way (with a header line)"
        )
    if not values:
        others = [k for k in post.law.inputs if k not in ("N", "D", "C")]
        if others:  # no option of their own: a points file names them
            names = ", ".join(f"{k} (or {INPUTS[k]})" for k in others)
            raise UsageError(
                f"predict: the {post.law.name} law reads {names}, which only a points file "
                f"gives: --points FILE, a CSV with a column for each of "
                f"{', '.join(post.law.inputs)}"
            )
        raise UsageError("predict needs inputs: --N and --D (or --C), or --points FILE")
    lengths = {len(v) for v in values.values() if np.ndim(v)} - {1}
    if len(lengths) > 1:
        raise UsageError(
            f"predict: the inputs give {sorted(lengths)} points; give one value or the same "
            "number of values to each"
        )
    labels = group_labels(args.group)
    both = sorted(set(labels) & set(values))
    if both:
        raise UsageError(
            f"--group {both[0]}=... and the points file's {both[0]!r} column both label the "
            "points; give the labels one way"
        )
    values.update(labels)
    values = spelled_as_fitted(post, values)
    missing = [k for k in post.law.inputs if k not in ("N", "D", "C")]
    missing = [k for k in missing if k not in values and INPUTS[k] not in values]
    if missing:
        names = ", ".join(f"{k} (column {INPUTS[k]!r} or {k!r})" for k in missing)
        raise UsageError(
            f"predict: the {post.law.name} law also reads {names}, which has no option: give "
            "the points as --points FILE, with a column for each input"
        )
    if "C" in values and len({"N", "D"} & set(values)) == 1:
        given = "N" if "N" in values else "D"
        with np.errstate(over="ignore", divide="ignore", under="ignore"):
            other = post.cost.tokens(np.asarray(values["C"], float), values[given])
        if not np.all(np.isfinite(other) & (other > 0)):
            raise UsageError(
                f"predict: --C and --{given} give {'D' if given == 'N' else 'N'} = C / "
                f"({post.cost.k:g} {given}), which float64 cannot hold (it overflows or "
                "underflows); give values nearer the data"
            )
    refuse_idle_new_groups(post, args.new_groups)
    warn_failed_fit(post, args.fit)
    pred = post.predict(kind=args.kind, new_groups=args.new_groups, **values)
    lo_q, hi_q = (1 - args.prob) / 2, 1 - (1 - args.prob) / 2
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite draws: refused below
        q = pred.quantile([lo_q, 0.5, hi_q], dim=("chain", "draw")).values
    if not np.all(np.isfinite(q)):
        raise UsageError(
            "predict: the law gives no finite loss at some of these inputs (they are far outside "
            "the fitted runs' range); predict nearer the data"
        )
    m = q.shape[1]  # every input and label given, so that each row says what it predicts
    shown = {
        INPUT_OF_ROLE.get(k, k): np.broadcast_to(np.asarray(v), (m,)) for k, v in values.items()
    }
    shown |= {k: pred[k].values for k in ("N", "D", "C") if k in pred.coords and k not in shown}
    table = pd.DataFrame(shown | {"median": q[1], "lower": q[0], "upper": q[2]})
    level = percent(args.prob)
    print(f"loss ({args.kind}): median and {level} interval [lower, upper]")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.5g}"))
    if len(table) == 1:
        print(f"loss: median {q[1, 0]:.5g}, {level} interval [{q[0, 0]:.5g}, {q[2, 0]:.5g}]")
    note_draws(pred.sizes["chain"] * pred.sizes["draw"], args.prob)
    note_unlabelled(post, set(values), "the prediction", "the points", "or a column of --points ")
    return 0


def cmd_frontier(args: argparse.Namespace) -> int:
    """Print the compute-optimal allocation with credible bands (and write a figure)."""
    if args.plot:
        writable_file(args.plot, "--plot")
    post = load_posterior(args.fit)
    if "U" in post.law.inputs:
        raise UsageError(
            f"frontier: the {post.law.name} law reads the unique tokens U, which the command "
            "line does not take; in Python: bs.frontier(post, compute=..., unique_tokens=...)"
        )
    repeated = sorted({c for c in args.compute if args.compute.count(c) > 1})
    if repeated:
        raise UsageError(f"--compute gives {repeated[0]:g} more than once: give each budget once")
    groups = spelled_as_fitted(post, group_labels(args.group))
    refuse_idle_new_groups(post, args.new_groups)
    warn_failed_fit(post, args.fit)
    table = decision_table(
        post,
        args.compute,
        target=args.target,
        prob=args.prob,
        new_groups=args.new_groups,
        **groups,
    )
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
    print(f"median and {percent(args.prob)} band per budget")
    digits = distinct_digits(table["compute"].tolist())  # budgets that differ print apart
    print(
        table[cols].to_string(
            index=False,
            float_format=lambda v: f"{v:.4g}",
            formatters={"compute": lambda v: f"{v:.{digits}g}"},
        )
    )
    posterior = post.draws_tree["posterior"]
    note_draws(posterior.sizes["chain"] * posterior.sizes["draw"], args.prob)
    note_unlabelled(post, set(groups), "the frontier", "it")
    if args.plot:
        lo, hi = min(args.compute) / 100, max(args.compute) * 10
        front = frontier(post, np.geomspace(lo, hi, 60), new_groups=args.new_groups, **groups)
        plot_frontier(front, prob=args.prob, path=args.plot)
        print(f"wrote {args.plot}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML/Markdown/LaTeX report of a saved fit."""
    backtest = (
        read_runs(Path(args.backtest), what="of a backtest (`bayescale backtest --out`)")
        if args.backtest
        else None
    )
    post = load_posterior(args.fit)  # before the folder: an unreadable fit leaves none behind
    if backtest is not None:
        try:  # a backtest of losses, of this fit's law and table (not another's calibration)
            calibration.check_backtest_table(backtest, f"--backtest {args.backtest}", post)
        except ValueError as e:
            raise UsageError(command_line_text(e)) from None
    warn_failed_fit(post, args.fit)
    with new_output_folder(args.out) as out, warnings.catch_warnings():
        # said above, with the file's name: the report's own check would say it again
        warnings.filterwarnings("ignore", "backtest does not say in every row", DataWarning)
        path = report(
            post,
            out,
            target_compute=args.target_compute,
            backtest=backtest,
            title=args.title,
            progress=None if args.quiet else _phase,
        )
    print(f"wrote {path} (and report.md, parameters.tex, figures as PNG and PDF)")
    return 0
