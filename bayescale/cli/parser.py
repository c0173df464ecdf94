"""The argument parser of the ``bayescale`` command: its verbs, their options and help."""

from __future__ import annotations

import argparse
from typing import NoReturn

from bayescale import laws
from bayescale.cli.backtesting import cmd_backtest, cmd_pooling
from bayescale.cli.catalogue import cmd_datasets
from bayescale.cli.fitting import cmd_fit
from bayescale.cli.options import (
    MAX_SEED,
    MIN_CLI_DRAWS,
    RETRY,
    WARMUP,
    at_least,
    figure_path,
    key_value,
    non_empty,
    positive,
    probability,
)
from bayescale.cli.pool_prior import cmd_pool_prior
from bayescale.cli.querying import cmd_frontier, cmd_predict, cmd_report, cmd_summary
from bayescale.defaults import MAX_TREE_DEPTH, PROB
from bayescale.fit import METHODS
from bayescale.inference import NutsSettings
from bayescale.specification import EXTRAPOLATION_MODES

#: What ``bayescale --help`` says first: the verbs and the exit statuses.
DESCRIPTION = """\
Command line: ``bayescale fit | summary | predict | frontier | report | backtest | ...``.

The verbs: ``fit``, ``summary``, ``predict``, ``frontier``, ``report``, ``backtest``,
``pooling`` (does pooling help a new group?), ``pool-prior`` (the extrapolation error's prior
across your own ladders or curves) and ``datasets``.

Every mistake (a bad argument, an unreadable file, a table the model cannot fit) exits with
status 2 and one line naming the problem and the fix; a fit that fails its diagnostics exits 3
(``fit``, ``summary``, ``backtest`` and ``pooling`` alike). Set ``BAYESCALE_DEBUG=1`` to see
tracebacks instead.
"""


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's default after its help, unless it has none or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is None or "default:" in text or "(default" in text:
            return text
        return super()._get_help_string(action)


def _group_labels_option(p: argparse.ArgumentParser, what: str) -> None:
    """``--group COLUMN=LABEL ...``: the group a prediction is for (predict, frontier)."""
    _pairs_option(
        p, "--group", "COLUMN=LABEL", f"{what} (family=f1); a group column left out is a new group"
    )


def _pairs_option(p: argparse.ArgumentParser, name: str, form: str, text: str) -> None:
    """Add an option of one or more ``KEY=VALUE`` pairs (``form`` names the parts)."""
    p.add_argument(name, nargs="+", type=key_value(form), metavar=form, help=text)


def _table_options(p: argparse.ArgumentParser, drop_within: str = "") -> None:
    """Where a command's table comes from, and its law (``fit`` and ``backtest``).

    ``drop_within`` names what ``--drop-highest-loss`` counts within (each ladder), if not the
    whole table.
    """
    p.add_argument("data", nargs="?", help="CSV or parquet file, one row per run/checkpoint")
    p.add_argument("--dataset", help="a dataset name (see `bayescale datasets list`)")
    p.add_argument("--table", help="table of the dataset")
    p.add_argument(
        "--law",
        choices=laws.available(),
        help="the law to fit (default chinchilla; not with --preset)",
    )
    p.add_argument("--preset", help="a model preset name from models/ or a TOML path")
    p.add_argument(
        "--effects",
        nargs="*",
        type=key_value("PARAM=GROUP[,GROUP]"),
        metavar="PARAM=GROUP",
        help="random effects, e.g. E=family A=family; --effects alone: none (a preset's dropped)",
    )
    p.add_argument(
        "--run",
        metavar="COLUMN|none",
        help="the column naming each row's run, whose checkpoints share one offset (default: a "
        "column named 'run', where the table has one); none: every row an independent run",
    )
    p.add_argument(
        "--seed", type=at_least(0, MAX_SEED), default=0, help="random seed of the fits and draws"
    )
    p.add_argument(
        "--drop-highest-loss",
        type=at_least(0),
        default=0,
        metavar="K",
        help=f"drop the K highest-loss rows{drop_within} first (Epoch drops 5 on Chinchilla)",
    )


def _columns_option(p: argparse.ArgumentParser, example: str) -> None:
    """``--columns ROLE=COLUMN ...``: the table's column of each role."""
    _pairs_option(p, "--columns", "ROLE=COLUMN", f"column roles, e.g. {example}")


class _OneLineErrors(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line, as every other mistake (no usage)."""

    def error(self, message: str) -> NoReturn:
        """Print the problem on one line and exit with status 2."""
        self.exit(2, f"error: {self.prog}: {message} (`{self.prog} --help` shows the options)\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (defaults shown in ``--help``)."""
    fmt = _DefaultsHelp
    p = _OneLineErrors(
        prog="bayescale", description=DESCRIPTION, formatter_class=fmt, allow_abbrev=False
    )
    from bayescale import __version__  # the package's, once it is imported

    p.add_argument("--version", action="version", version=f"bayescale {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser(
        "fit", help="fit a model (default: a simulated 4-family ladder)", formatter_class=fmt
    )
    _table_options(f)
    _columns_option(f, "params='Model Size' loss=val_loss")
    f.add_argument(
        "--likelihood",
        choices=["student_t", "normal"],
        help="the noise around the law (default: student_t, or the preset's)",
    )
    f.add_argument(
        "--flops-per-param-token",
        type=positive,
        default=None,
        help="training FLOP per parameter and token, k in C = k N D (default: 6, or the "
        "preset's); set it when your flops column follows another count",
    )
    f.add_argument(
        "--scale",
        choices=["log", "linear", "logit"],
        help="the scale the noise acts on (default: the preset's, else logit for a law of an "
        "accuracy or error rate such as sigmoid_link, log for any other)",
    )
    f.add_argument(
        "--extrapolation",
        choices=list(EXTRAPOLATION_MODES),
        help="the error added past the data: learned from the ladder's own leave-future-out "
        "record (the default: refits the ladder below three cuts), prior (the prior across "
        "ladders, no refits), fixed (the previous linear drift), none (trust the law exactly: "
        "too narrow)",
    )
    f.add_argument(
        "--extrapolation-prior",
        metavar="FILE",
        help="the prior of the learned error's scales, in place of the shipped prior across "
        "public ladders: a file `bayescale pool-prior` wrote from your own ladders or curves",
    )
    f.add_argument("--chains", type=at_least(1), default=4, help="independent chains")
    f.add_argument(
        "--draws",
        type=at_least(MIN_CLI_DRAWS),
        default=1000,
        help="draws per chain (R-hat and ESS need a few)",
    )
    f.add_argument(
        "--warmup", type=at_least(0), default=WARMUP, help="NUTS warmup (tuning) steps per chain"
    )
    f.add_argument(
        "--target-accept",
        type=probability,
        default=NutsSettings.target_accept,
        help="NUTS target acceptance; raise it (0.99) when a fit reports divergences",
    )
    f.add_argument(
        "--max-tree-depth",
        type=at_least(1, MAX_TREE_DEPTH),
        default=NutsSettings.max_tree_depth,
        help=f"largest NUTS tree depth (1-{MAX_TREE_DEPTH}); raise it when draws hit it and "
        "R-hat or ESS fail",
    )
    f.add_argument(
        "--retry",
        choices=list(RETRY),
        default="auto",
        help="draw a NUTS fit that fails its diagnostics once more, with twice the warm-up "
        "and draws (target-accept 0.99 after divergences, max-tree-depth 2 deeper where most "
        "draws hit it, run effects non-centred after their funnel): auto (default) where it ran "
        "at least 1000 + 1000 per chain, always, or never",
    )
    f.add_argument(
        "--method",
        choices=list(METHODS),
        default="nuts",
        help="nuts; psis: importance sampling from the Laplace approximation, checked by its "
        "Pareto k-hat; auto: psis, and NUTS when that check fails",
    )
    f.add_argument(
        "--choose-law",
        nargs="+",
        choices=laws.available(),
        metavar="LAW",
        help="also fit these laws (e.g. farseer kaplan) and keep the one LOO prefers: the "
        "model's own law unless another's ELPD is more than two standard errors higher "
        "(bs.compare.choose_law); the LOO table and the reason are printed",
    )
    loud = f.add_mutually_exclusive_group()
    loud.add_argument(
        "--progress",
        action="store_true",
        help="print each phase (printed anyway unless --quiet; kept for scripts that pass it)",
    )
    loud.add_argument("--quiet", action="store_true", help="print only diagnostics and paths")
    f.add_argument("--out", default="out", help="output folder")
    f.set_defaults(func=cmd_fit)

    s = sub.add_parser("summary", help="summary and diagnostics of a saved fit")
    s.add_argument("fit", help="a saved fit (fit.nc, as bayescale fit writes it)")
    s.set_defaults(func=cmd_summary)

    q = sub.add_parser("predict", help="loss quantiles at given inputs", formatter_class=fmt)
    q.add_argument("fit", help="a saved fit (fit.nc, as bayescale fit writes it)")
    q.add_argument("--N", type=positive, nargs="+", help="parameters (raw counts)")
    q.add_argument("--D", type=positive, nargs="+", help="training tokens (raw counts)")
    q.add_argument(
        "--C",
        type=positive,
        nargs="+",
        help="training compute in FLOP (with --N or --D: the other follows from the cost)",
    )
    q.add_argument("--points", help="a CSV of points (columns N, D or params, tokens, ...)")
    _group_labels_option(q, "the group of the points")
    q.add_argument(
        "--kind",
        choices=["predictive", "mean"],
        default="predictive",
        help="predictive: a new run's loss, noise included; mean: the law's loss",
    )
    q.add_argument("--prob", type=probability, default=PROB, help="interval probability")
    q.add_argument("--new-groups", action="store_true", help="allow a group label not fitted")
    q.set_defaults(func=cmd_predict)

    fr = sub.add_parser(
        "frontier", help="compute-optimal N*, D*, D*/N*, L* with bands", formatter_class=fmt
    )
    fr.add_argument("fit", help="a saved fit (fit.nc, as bayescale fit writes it)")
    fr.add_argument("--compute", type=positive, nargs="+", required=True, help="budgets in FLOP")
    fr.add_argument("--target", type=positive, help="target loss: report P(loss < target)")
    fr.add_argument("--prob", type=probability, default=PROB, help="band probability")
    _group_labels_option(fr, "the group whose frontier")
    fr.add_argument(
        "--plot",
        type=figure_path,
        help="write the frontier figure here (.png, .pdf, .svg: the formats matplotlib writes)",
    )
    fr.add_argument("--new-groups", action="store_true", help="allow a group label not fitted")
    fr.set_defaults(func=cmd_frontier)

    r = sub.add_parser(
        "report", help="HTML/Markdown/LaTeX report of a saved fit", formatter_class=fmt
    )
    r.add_argument("fit", help="a saved fit (fit.nc, as bayescale fit writes it)")
    r.add_argument("--out", default="report", help="output folder")
    r.add_argument(
        "--target-compute",
        type=positive,
        help="where the fan and the decision table end: a budget in FLOP past the data (default "
        "100x the largest); for a law of one input other than compute, that input's value past "
        "the data (e.g. N for --law power; an upstream loss below the data's for a link)",
    )
    r.add_argument("--backtest", help="a backtest table (CSV from `bayescale backtest --out`)")
    r.add_argument("--title", help="the report's title (default: the law and the rows)")
    r.add_argument("--quiet", action="store_true", help="no phase messages")
    r.set_defaults(func=cmd_report)

    b = sub.add_parser(
        "backtest", help="held-out coverage and errors of extrapolations", formatter_class=fmt
    )
    _table_options(b)
    b.add_argument(
        "--split",
        choices=["compute", "size", "curve", "group", "frontier"],
        default="compute",
        help="compute: fit the runs below a compute cut (--train-fraction), predict those "
        "above; size: hold out the --n-largest model sizes; curve: fit the first "
        "--train-fraction of each training curve, predict its rest; group: leave each "
        "--group level out in turn; frontier: hold out the top iso-FLOP profiles and score "
        "the frontier's N* on their measured minima (bs.frontier_backtest)",
    )
    b.add_argument(
        "--train-fraction", type=probability, help="for --split compute or curve (default 0.75)"
    )
    b.add_argument("--n-largest", type=at_least(1), help="for --split size (default 2)")
    b.add_argument("--group", help="column for --split group")
    b.add_argument(
        "--held-out",
        nargs="+",
        type=at_least(1),
        metavar="K",
        help="for --split frontier: how many of the top iso-FLOP profiles with a measured minimum "
        "to hold out, one backtest each (default: 2 and 4, or 2 on a ladder of fewer than six)",
    )
    _columns_option(b, "params='Model Size' loss=val_loss")
    b.add_argument(
        "--draws", type=at_least(MIN_CLI_DRAWS), default=1000, help="draws per chain of each fit"
    )
    b.add_argument("--out", help="write the table as CSV")
    b.set_defaults(func=cmd_backtest)

    pl = sub.add_parser(
        "pooling",
        help="does pooling help a new group? predict each group's larger runs from its smallest",
        formatter_class=fmt,
    )
    _table_options(pl)
    # in pooling, --effects is the structure backtested, not a fit's effects
    for action in pl._actions:
        if action.dest == "effects":
            action.help = (
                "the effects whose pooling of the groups is backtested, e.g. E=family A=family "
                "(default: each candidate structure of pooling.effect_candidates)"
            )
    pl.add_argument("--group", required=True, help="the group column (family, dataset, seed)")
    pl.add_argument(
        "--k",
        nargs="+",
        type=at_least(1),
        default=[1, 2, 3],
        help="how many of its smallest model sizes each group keeps",
    )
    pl.add_argument(
        "--hold-out",
        nargs="+",
        metavar="LEVEL",
        help="the groups held out in turn (default: every group; the others are still pooled)",
    )
    _columns_option(pl, "params='Model Size' loss=val_loss")
    pl.add_argument("--choose", action="store_true", help="also choose the effects by LOO")
    pl.add_argument(
        "--draws", type=at_least(MIN_CLI_DRAWS), default=1000, help="draws per chain of each fit"
    )
    pl.add_argument(
        "--method",
        choices=list(METHODS),
        default="auto",
        help="nuts, psis, or auto (psis, NUTS where its check fails)",
    )
    pl.add_argument("--out", help="write the table as CSV")
    pl.add_argument("--figure", type=figure_path, help="draw error and coverage against k")
    pl.set_defaults(func=cmd_pooling)

    pp = sub.add_parser(
        "pool-prior",
        help="fit the extrapolation error's prior across your own ladders or curves",
        formatter_class=fmt,
    )
    _table_options(pp, drop_within=" of each ladder (--by)")
    pp.add_argument(
        "--by", required=True, help="the column telling the ladders or curves apart (curve)"
    )
    _columns_option(pp, "tokens=examples loss=error")
    pp.add_argument("--out", default="extrapolation_prior.json", help="the prior file (JSON)")
    pp.set_defaults(func=cmd_pool_prior)

    d = sub.add_parser("datasets", help="list or describe datasets")
    d.add_argument(
        "action",
        nargs="?",
        default="list",
        choices=["list", "info"],
        help="list (the default): the datasets, one line each; info NAME: a dataset's card "
        "(source, licence, tables, the columns each table renames or derives)",
    )
    d.add_argument("name", nargs="?", help="the dataset info describes")
    d.set_defaults(func=cmd_datasets)
    for command in sub.choices.values():  # '--data' must not silently mean '--dataset'
        command.allow_abbrev = False
        for action in command._actions:  # a file, name or label given as '' is a mistake
            plain = action.type is None and action.choices is None
            if isinstance(action, argparse._StoreAction) and plain:
                action.type = non_empty
    return p
