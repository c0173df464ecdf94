"""``bayescale fit``: fit a model to a table and write the posterior, a summary and a figure."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from bayescale import compare
from bayescale.cli.files import (
    drop_highest,
    loss_column_of,
    new_output_folder,
    read_table,
    table_advice,
)
from bayescale.cli.notes import print_prior_bounds
from bayescale.cli.options import (
    EXIT_DIAGNOSTICS,
    RETRY,
    WARMUP,
    UsageError,
    build_model,
    column_roles,
    command_line_text,
    effects_from,
    run_option,
    with_digits,
)
from bayescale.data import check_mapped_columns
from bayescale.diagnostics import format_report
from bayescale.errors import (
    ConvergenceWarning,
    DataError,
    DataWarning,
    HeavyTailWarning,
    PriorBoundWarning,
    SamplerEfficiencyWarning,
    SpecificationError,
)
from bayescale.extrapolation import DEFAULT_SCALE as DEFAULT_EXTRAPOLATION_SCALE
from bayescale.inference import NutsSettings
from bayescale.plotting import plot_fit
from bayescale.record import error_kind


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit a model and write the posterior, a summary and a figure."""
    with new_output_folder(args.out) as out:
        return _fit_into(args, out)


def _fit_into(args: argparse.Namespace, out: Path) -> int:
    """Do the work of ``fit``, writing into the checked folder ``out``."""
    nuts_only = [
        option
        for option, value, default in (
            ("--warmup", args.warmup, WARMUP),
            ("--target-accept", args.target_accept, NutsSettings.target_accept),
            ("--max-tree-depth", args.max_tree_depth, NutsSettings.max_tree_depth),
            ("--retry", args.retry == "always", False),  # a second NUTS try
        )
        if value != default
    ]
    if args.method == "psis" and nuts_only:
        raise UsageError(
            f"{' and '.join(nuts_only)} {'tune' if len(nuts_only) > 1 else 'tunes'} NUTS, which "
            "--method psis does not run (it draws "
            f"by importance sampling); leave {'them' if len(nuts_only) > 1 else 'it'} out, or use "
            "--method auto or nuts"
        )
    df, source = read_table(args)
    columns = column_roles(args.columns)
    effects = effects_from(args.effects)
    if not args.data and not args.dataset and effects is None and args.preset is None:
        effects = {"E": ["family"], "A": ["family"]}
    overrides: dict = {}
    if effects is not None:
        overrides["effects"] = effects
    if args.likelihood:
        overrides["likelihood"] = args.likelihood
    if args.scale:
        overrides["scale"] = args.scale
    if args.extrapolation:
        overrides["extrapolation"] = args.extrapolation
        if args.extrapolation != "fixed":  # a preset's fixed drift scale goes with its mode
            overrides["extrapolation_scale"] = DEFAULT_EXTRAPOLATION_SCALE
    if args.extrapolation_prior:
        overrides["extrapolation_prior"] = args.extrapolation_prior
    if columns:
        overrides["columns"] = columns
    if args.flops_per_param_token is not None:
        overrides["flops_per_param_token"] = args.flops_per_param_token
    overrides.update(run_option(args))
    model = build_model(args, **overrides)
    # the loss column as the model reads it: --columns, else the preset's [columns] table
    df = drop_highest(df, args.drop_highest_loss, loss_column_of(model))
    try:
        check_mapped_columns(df, model.columns, model.law.inputs)  # as the fit will
        data = model.prepare(df)
    except DataError as e:  # the library's advice is Python's; say what the command line takes
        raise UsageError(table_advice(e, args)) from None
    say = print if not args.quiet else (lambda *a, **k: None)
    say(f"Fitting {source}: {len(df)} rows")
    say(model.describe(data.scale, run=data.run is not None, error_kind=error_kind(model, data)))
    for notice in (model.run_notice(data, True), model.record_notice(data, True)):
        if notice:
            print(notice)
    t0 = time.perf_counter()
    settings = {
        "chains": args.chains,
        "draws": args.draws,
        "seed": args.seed,
        "progress_bar": not args.quiet,
        "method": args.method,
        "retry": RETRY[args.retry],
    }
    if args.method != "psis":  # NUTS options (refused above for --method psis)
        settings |= {
            "warmup": args.warmup,
            "target_accept": args.target_accept,
            "max_tree_depth": args.max_tree_depth,
        }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("always", SamplerEfficiencyWarning)
        warnings.simplefilter("always", HeavyTailWarning)
        if args.choose_law:
            choice = compare.choose_law(model, df, laws=args.choose_law, **settings)
            post = choice.posterior
            print(choice)
            post.diagnostics(warn=True)  # the chosen fit's warnings, which the choice kept
        else:
            post = model.fit(df, **settings)
    elapsed = time.perf_counter() - t0
    retried = post.settings.get("retried_after")
    if retried:
        print(
            f"The first try failed its diagnostics ({retried}); the fit was drawn again with "
            f"twice the warm-up and draws ({post.settings['warmup']} + {post.settings['draws']} "
            "per chain"
            + (
                f", target_accept {post.settings['target_accept']:g} after divergences"
                if post.settings.get("target_accept", args.target_accept) != args.target_accept
                else ""
            )
            + (
                f", max_tree_depth {post.settings['max_tree_depth']} after draws at the maximum "
                "tree depth"
                if post.settings.get("max_tree_depth", args.max_tree_depth) != args.max_tree_depth
                else ""
            )
            + (
                ", the run effects sampled non-centred: the first try showed their funnel"
                if post.settings.get("retried_non_centred")
                else ""
            )
            + "). --retry never keeps the first try."
        )
    pd.set_option("display.width", 120)
    say(post.summary().to_string(float_format=with_digits))
    diag = post.diagnostics(warn=False)
    print(format_report(diag))
    for w in {
        command_line_text(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)
    }:
        print(f"WARNING: {w}", file=sys.stderr)
    for w in {
        command_line_text(w.message)
        for w in caught
        if issubclass(w.category, SamplerEfficiencyWarning)
    }:
        print(f"note: {w}", file=sys.stderr)
    for w in {
        command_line_text(w.message) for w in caught if issubclass(w.category, HeavyTailWarning)
    }:
        print(f"note: {w}", file=sys.stderr)
    print_prior_bounds(diag)
    shown = (
        ConvergenceWarning,
        SamplerEfficiencyWarning,
        HeavyTailWarning,
        DataWarning,
        PriorBoundWarning,  # said from the diagnostics, once
    )
    for w in caught:  # every other warning of the fit, once (the table's were shown above)
        if not issubclass(w.category, shown):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    say(f"wall time {elapsed:.1f} s")
    post.to_netcdf(out / "fit.nc")
    post.summary().to_csv(out / "summary.csv")
    written = [out / "fit.nc", out / "summary.csv"]
    try:  # the fit is saved: a figure the law cannot draw is a warning, not the fit's failure
        plot_fit(post, df, path=out / "fit.png")
        written.append(out / "fit.png")
    except (DataError, SpecificationError, ValueError) as e:
        print(
            f"warning: no figure of the fit ({' '.join(command_line_text(e).split())})",
            file=sys.stderr,
        )
    print(f"wrote {', '.join(map(str, written))}")
    return 0 if diag.attrs["ok"] else EXIT_DIAGNOSTICS
