"""Calibration checks: extrapolation backtests, scoring rules, LOO-PIT.

A backtest splits a table, fits the model on one side and predicts the other with the
posterior predictive (a new run's effect and noise included), then scores the predictions:
coverage of central intervals, the interval score, CRPS, and the absolute relative error (ARE) of
the posterior median, as in the Hitchhiker's Guide to scaling-law estimation.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import arviz_stats
import numpy as np
import pandas as pd
from scipy import stats

from bayescale import arguments
from bayescale.data import DEFAULT_COLUMNS, compute_of, level_order
from bayescale.errors import ConvergenceWarning, DataError, DataWarning
from bayescale.inference import NutsSettings, sample_nuts
from bayescale.inference.stats import MIN_DRAWS
from bayescale.laws.base import INPUTS
from bayescale.loo import require_one_step, require_psis_draws, smoothable
from bayescale.model import Model, require_model
from bayescale.posterior import ScalingPosterior, with_predictive
from bayescale.sanity import numeric_column
from bayescale.sites import NOISE_SITES, RUN, population_sites

LEVELS = (0.5, 0.8, 0.9, 0.95)
#: Hex digits of a table's fingerprint a backtest keeps (its ``table`` column), enough to tell
#: the tables of one user apart.
TABLE_ID_LENGTH = 12


def table_id_of(fingerprint: str) -> str:
    """Return a backtest's ``table`` entry: ``"sha1:"`` and the fingerprint's first 12 digits.

    The prefix keeps it text in a CSV (``"012345678901"`` or ``"123e45678901"`` would be read
    back as numbers).

    Parameters
    ----------
    fingerprint : str
        A hex digest (:meth:`~bayescale.data.ScalingData.rows_fingerprint`).

    Returns
    -------
    str

    Examples
    --------
    >>> from bayescale.calibration import table_id_of
    >>> table_id_of("0123456789abcdef0123")
    'sha1:0123456789ab'
    """
    return f"sha1:{fingerprint[:TABLE_ID_LENGTH]}"


@dataclass(frozen=True)
class Split:
    """A named train/test split of a table's rows (boolean masks over its index).

    Parameters
    ----------
    name : str
        Label of the split in a backtest's table.
    train, test : numpy.ndarray
        Boolean masks over the table's rows: fit on ``train``, predict ``test``.
    more_training : str
        How the command line keeps more rows on the training side (an option's words, for the
        advice when the training rows cannot be fitted); empty for a split made by hand.

    Examples
    --------
    A split by hand, here the runs below 5e19 FLOP against the rest, for :func:`backtest`:

    >>> from bayescale.calibration import Split
    >>> below = (runs["flops"] < 5e19).to_numpy()
    >>> split = Split("below 5e19 FLOP", train=below, test=~below)
    >>> int(split.train.sum()), int(split.test.sum())
    (28, 7)
    >>> table = bs.backtest(bs.Model(), runs, split, method="psis")  # doctest: +SKIP
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    more_training: str = ""


def _cols(model: Model) -> dict[str, str]:
    return {**DEFAULT_COLUMNS, **(model.columns or {})}


def _split_columns(df: pd.DataFrame, model: Model, roles: Sequence[str], split: str) -> None:
    """Refuse a split whose ordering columns the table lacks (a law that does not read them)."""
    cols = _cols(model)
    missing = [cols[r] for r in roles if cols[r] not in df.columns]
    if missing:
        raise DataError(
            f"{split} orders the rows by {' and '.join(repr(cols[r]) for r in roles)}, and the "
            f"table lacks {missing} (the {model.law.name} law reads "
            f"{', '.join(model.law.inputs)}): split along what the table holds ("
            + ("the largest sizes, --split size; " if cols["params"] in df.columns else "")
            + "each run's curve, --split curve; or a group, --split group), or add the column.",
            column=missing[0],
        )


def _check_table(df: pd.DataFrame, model: Model) -> str:
    """Check ``df`` as a fit of ``model`` would (its warnings are the fits' to give).

    Returns the fingerprint of the rows a fit of ``model`` reads of it
    (:meth:`~bayescale.data.ScalingData.rows_fingerprint`).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return model.prepare(df).rows_fingerprint()


def split_by_compute(
    df: pd.DataFrame, model: Model, train_fraction: float = 0.75, cut: float | None = None
) -> Split:
    """Train on runs up to a compute cut, test on the runs above it.

    The default cut keeps ``train_fraction`` of the rows for training.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    model : Model
        Its columns, training cost and law inputs give each row's compute.
    train_fraction : float
        Share of the rows kept for training when ``cut`` is not given.
    cut : float, optional
        The largest training compute, in FLOP.

    Returns
    -------
    Split

    Raises
    ------
    DataError
        When no run lies on one side of the cut (a ladder of few budgets, whose quantile at
        ``train_fraction`` is its largest budget: lower ``train_fraction``).

    Examples
    --------
    >>> from bayescale.calibration import split_by_compute
    >>> split = split_by_compute(runs, bs.Model())
    >>> split.name, int(split.train.sum()), int(split.test.sum())
    ('compute <= 3e+19', 28, 7)
    >>> split_by_compute(runs, bs.Model(), cut=1e19).name
    'compute <= 1e+19'
    """
    require_model(model, "split_by_compute", "split_by_compute(runs, bs.Model())")
    _check_table(df, model)
    if cut is None:
        train_fraction = arguments.probability(train_fraction, "train_fraction")
    else:
        if train_fraction != 0.75:  # the default: a cut given replaces it
            raise ValueError(
                f"split_by_compute: train_fraction={train_fraction!r} and cut={cut!r} both place "
                "the cut; give one."
            )
        cut = arguments.positive(cut, "cut")
    if "C" not in model.law.inputs or _cols(model)["flops"] not in df.columns:
        _split_columns(df, model, ("params", "tokens"), "A split by compute")
    c = np.asarray(compute_of(df, model.columns, model.cost, model.law.inputs), float)
    # one budget's runs share one compute: C / (6 N) tokens times 6 N differs in the last bits,
    # which split a budget's runs between the two sides (as the record's cuts round it)
    position = np.round(np.log(c), 9)
    chosen = cut is None
    cut = float(np.quantile(np.exp(position), train_fraction)) if chosen else float(cut)
    train = position <= np.round(np.log(cut), 9)
    if train.all() or not train.any():
        budgets = np.unique(position).size
        fix = (
            f"lower train_fraction (now {train_fraction:g}; the command line's "
            "--train-fraction), or split by model size"
            if chosen
            else "give a cut at or above the smallest compute and below the largest"
        )
        side = "above" if train.all() else "at or below"
        raise DataError(
            f"split_by_compute: no run lies {side} the cut {cut:.3g} FLOP (the table has "
            f"{budgets} distinct budgets, {float(np.min(c)):.3g} to {float(np.max(c)):.3g}); {fix}."
        )
    return Split(f"compute <= {cut:.3g}", train, ~train, "a larger --train-fraction")


def split_by_size(df: pd.DataFrame, model: Model, n_largest: int = 2) -> Split:
    """Test on the ``n_largest`` distinct model sizes, train on the rest.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    model : Model
        Its ``params`` column gives the model sizes.
    n_largest : int
        How many of the largest distinct sizes are held out.

    Returns
    -------
    Split

    Raises
    ------
    DataError
        When the table has no more than ``n_largest`` distinct sizes.

    Examples
    --------
    >>> from bayescale.calibration import split_by_size
    >>> split = split_by_size(runs, bs.Model(), n_largest=2)
    >>> split.name, int(split.test.sum())
    ('largest 2 sizes', 2)
    >>> bool(runs["params"][split.test].min() > runs["params"][split.train].max())
    True
    """
    require_model(model, "split_by_size", "split_by_size(runs, bs.Model())")
    _check_table(df, model)
    _split_columns(df, model, ("params",), "A split by model size")
    n = df[_cols(model)["params"]].to_numpy(float)
    sizes = np.unique(n)
    if isinstance(n_largest, bool) or not isinstance(n_largest, int | np.integer) or n_largest < 1:
        raise ValueError(f"n_largest={n_largest!r}; hold out a whole number >= 1 of sizes.")
    if sizes.size <= n_largest:
        raise DataError(f"Only {sizes.size} model sizes: cannot hold out the {n_largest} largest.")
    test = n >= sizes[-n_largest]
    return Split(f"largest {n_largest} sizes", ~test, test, "a smaller --n-largest")


def split_curve_tail(
    df: pd.DataFrame, model: Model, fraction: float = 0.25, order: str | None = None
) -> Split:
    """Per run, test on the last ``fraction`` of its curve (ordered by ``order``: tokens).

    Parameters
    ----------
    df : pandas.DataFrame
        Learning curves: several rows (checkpoints) per run.
    model : Model
        Its ``run`` and ``tokens`` columns.
    fraction : float
        Share of each curve held out, from its end.
    order : str, optional
        Column ordering a curve's points; default the tokens column.

    Returns
    -------
    Split

    Raises
    ------
    DataError
        When the table has no run column, or every run has one row, or a fit would refuse it
        (the table is checked as :meth:`Model.prepare` checks it, its loss column included).
    ValueError
        When ``fraction`` is not strictly between 0 and 1.

    Examples
    --------
    Two runs of four checkpoints each; the last checkpoint of each is held out:

    >>> from bayescale.calibration import split_curve_tail
    >>> curves = pd.DataFrame({
    ...     "run": np.repeat(["small", "large"], 4),
    ...     "params": np.repeat([1e8, 4e8], 4),
    ...     "tokens": np.tile([1e9, 2e9, 4e9, 8e9], 2),
    ...     "loss": [3.6, 3.4, 3.3, 3.2, 3.3, 3.1, 3.0, 2.9],
    ... })
    >>> split = split_curve_tail(curves, bs.Model(), fraction=0.25)
    >>> curves.loc[split.test, ["run", "tokens"]].to_numpy().tolist()
    [['small', 8000000000.0], ['large', 8000000000.0]]
    """
    require_model(model, "split_curve_tail", "split_curve_tail(curves, bs.Model())")
    _check_table(df, model)
    fraction = arguments.probability(fraction, "fraction")
    cols = _cols(model)
    run = model.run if isinstance(model.run, str) else cols["run"]
    if run not in df:
        raise DataError(
            f"split_curve_tail needs the run column {run!r}: name it with run= in the Model.",
            column=run,
            command_line=f"--split curve needs the run column {run!r}: name it with --run COLUMN.",
        )
    if not df[run].duplicated().any():
        raise DataError(
            f"split_curve_tail holds out the end of each run's curve, but every run of {run!r} "
            "has one row (a ladder of final losses): split by compute or by model size.",
            command_line=f"--split curve holds out the end of each run's curve, but every run of "
            f"{run!r} has one row (a ladder of final losses): use --split compute or size.",
        )
    order = order or cols["tokens"]
    if order not in df:
        raise DataError(
            f"split_curve_tail orders each curve by the column {order!r}, which the table lacks "
            f"(it has {list(df.columns)}); name the column with order=."
        )
    numeric_column(df, order, "order", positive=False)  # text ranks alphabetically, NaN nowhere
    rank = df.groupby(run)[order].rank(pct=True, method="first").to_numpy()
    test = rank > 1 - fraction
    return Split(f"last {fraction:.0%} of each curve", ~test, test, "a larger --train-fraction")


def splits_leave_group_out(df: pd.DataFrame, column: str) -> list[Split]:
    """One split per level of ``column``: test on that group, train on the others.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    column : str
        The group column (model family, dataset...).

    Returns
    -------
    list of Split
        One per level, in sorted order of the labels (as text).

    Raises
    ------
    DataError
        When the column has fewer than two levels.

    Examples
    --------
    >>> from bayescale.calibration import splits_leave_group_out
    >>> splits = splits_leave_group_out(family_runs, "family")
    >>> [s.name for s in splits]
    ['leave out family=f0', 'leave out family=f1', 'leave out family=f2', 'leave out family=f3']
    >>> int(splits[0].test.sum()), int(splits[0].train.sum())
    (15, 45)
    """
    if isinstance(column, list | tuple | set | dict | pd.Index | np.ndarray):
        raise TypeError(
            f"splits_leave_group_out: column={column!r}: give one column's name, e.g. "
            "column='family'."
        )
    if column not in df:
        raise DataError(
            f"splits_leave_group_out: no column {column!r} in the table (it has "
            f"{list(df.columns)}); name the group column."
        )
    if df[column].isna().any():
        rows = df.index[df[column].isna()][:5].tolist()
        raise DataError(
            f"splits_leave_group_out: the group column {column!r} has no label at rows {rows}; "
            "label every row (or drop those rows explicitly) so that each belongs to a group"
        )
    labels = df[column].astype(str).to_numpy()
    levels = np.array(level_order(labels))  # f2 before f10, as the fit's levels
    if levels.size < df[column].nunique():  # 1 and '1': one group once written as text
        values = pd.Series(df[column].to_numpy(), dtype=object).groupby(labels).nunique()
        merged = values[values > 1].index.tolist()
        raise DataError(
            f"splits_leave_group_out: the labels of {column!r} written {merged[:3]} are one "
            "group as text but different values (a number and its text, as 1 and '1'); give "
            f"the column one kind of label (df[{column!r}].astype(str) if they are one group).",
            column=column,
        )
    if levels.size < 2:
        rest = (
            f"the column {column!r} has {levels.size} level(s) {levels.tolist()}; leaving a group "
            "out needs two or more (name the column that tells the groups apart)."
        )
        raise DataError(
            f"splits_leave_group_out: {rest}",
            column=column,
            command_line=f"--split group --group {column}: {rest}",
        )
    return [Split(f"leave out {column}={g}", labels != g, labels == g) for g in levels]


def crps_from_draws(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Continuous ranked probability score of sample forecasts ``draws`` (samples x points).

    Parameters
    ----------
    draws : numpy.ndarray
        Forecast draws, shape ``(samples, points)``.
    y : numpy.ndarray
        The observations, shape ``(points,)``.

    Returns
    -------
    numpy.ndarray
        The CRPS of each point, in the units of ``y`` (lower is better; 0 for a forecast that
        puts all its mass on the observation).

    Examples
    --------
    A forecast ``Normal(3.0, 0.1)`` scored at its mean and three SDs above it:

    >>> from bayescale.calibration import crps_from_draws
    >>> draws = np.random.default_rng(0).normal(3.0, 0.1, size=(4000, 2))
    >>> crps_from_draws(draws, np.array([3.0, 3.3])).round(2)
    array([0.02, 0.24])
    """
    x = np.sort(draws, axis=0)
    m = x.shape[0]
    weights = (2 * np.arange(1, m + 1) - m - 1)[:, None]
    return np.mean(np.abs(x - y[None]), axis=0) - np.sum(weights * x, axis=0) / m**2


def interval_score(lo: np.ndarray, hi: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
    """Gneiting and Raftery's (2007) interval score of a central ``level`` interval.

    The width of the interval, plus ``2 / (1 - level)`` times how far the observation falls
    outside it; lower is better.

    Parameters
    ----------
    lo, hi : numpy.ndarray
        Bounds of the intervals.
    y : numpy.ndarray
        The observations.
    level : float
        The intervals' central probability (0.9: the 5 % and 95 % quantiles).

    Returns
    -------
    numpy.ndarray
        The score of each point, in the units of ``y``.

    Examples
    --------
    A 90 % interval ``[2.9, 3.1]``: an observation inside costs its width, one 0.1 above
    it 20 times that distance more:

    >>> from bayescale.calibration import interval_score
    >>> interval_score(np.array([2.9, 2.9]), np.array([3.1, 3.1]), np.array([3.0, 3.2]), 0.9)
    array([0.2, 2.2])
    """
    a = 1 - level
    return (hi - lo) + (2 / a) * (lo - y) * (y < lo) + (2 / a) * (y - hi) * (y > hi)


def check_backtest_table(
    table: pd.DataFrame, name: str = "backtest", post: ScalingPosterior | None = None
) -> None:
    """Refuse a table that is not a backtest of losses (the table :func:`backtest` returns).

    Parameters
    ----------
    table : pandas.DataFrame
        The table to check.
    name : str
        How messages name it (an argument, or a command-line option and its file).
    post : ScalingPosterior, optional
        The fit whose calibration the table is to show (a report's): the table must be a
        backtest of its law and of the rows it was fitted on (inputs, losses, runs; not its
        effects, likelihood or priors), as the ``law`` and ``table`` columns say. Rows where
        they are missing or blank (written before they were, or built by hand) are taken
        with a :class:`~bayescale.errors.DataWarning`.

    Raises
    ------
    ValueError
        When it is a frontier backtest, lacks the ``split`` or ``coverage_<level>`` columns,
        has no rows, a scored split's coverage is not a share from 0 to 1, or, given ``post``,
        it backtested another law or another table.

    Examples
    --------
    >>> from bayescale.calibration import check_backtest_table
    >>> check_backtest_table(pd.DataFrame({"split": ["a"], "coverage_0.9": [0.86]}))
    >>> check_backtest_table(runs)
    Traceback (most recent call last):
    ...
    ValueError: backtest is not a backtest table (it needs the 'split' and 'coverage_<level>' ...
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"{name} must be the table bs.backtest returns (a pandas DataFrame), got a "
            f"{type(table).__name__}; e.g. table = bs.backtest(model, runs)."
        )
    if {"inside", "held_out"} <= set(table.columns):
        raise ValueError(
            f"{name} is a frontier backtest (`bayescale backtest --split frontier`); the report "
            "shows a backtest of losses, by their coverage: write one with `bayescale backtest "
            "--split compute` (or size, curve, group), or bs.backtest, and pass that"
        )
    if "split" not in table.columns or not coverage_columns(table):
        raise ValueError(
            f"{name} is not a backtest table (it needs the 'split' and 'coverage_<level>' "
            "columns, such as coverage_0.9, that bs.backtest returns and `bayescale backtest "
            "--out` writes)"
        )
    if table.empty:
        raise ValueError(f"{name} has no rows: there is no split's coverage to show.")
    scored = (
        table["status"].astype(str).eq("ok")
        if "status" in table.columns
        else pd.Series(True, index=table.index)
    )  # a split "not scored" leaves its coverages empty; a scored one has every one
    for c in [c for c in table.columns if str(c).startswith("coverage_")]:
        values = pd.to_numeric(table[c], errors="coerce")
        empty = table[c].isna() & scored
        bad = (values.isna() & table[c].notna()) | (values < 0) | (values > 1) | empty
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"{name}: column {c!r} holds {str(table[c].iloc[i])!r} at row {i + 1}; a "
                "coverage is a share from 0 to 1 (use the table bs.backtest returns, or `bayescale "
                "backtest --out` writes)"
            )
    if post is not None:
        _check_backtest_of(table, name, post)


def _check_backtest_of(table: pd.DataFrame, name: str, post: ScalingPosterior) -> None:
    """Refuse a backtest of another law or table than ``post``'s (see check_backtest_table).

    The law and the rows the law reads are compared; the effects, likelihood and priors are
    not (a backtest of one model may be shown beside a fit of another of the same table).
    """
    said = {c: table[c].dropna().astype(str) for c in ("law", "table") if c in table.columns}
    if any(len(said.get(c, ())) < len(table) for c in ("law", "table")):  # absent, or blank
        warnings.warn(  # the rows that say are still checked below
            f"{name} does not say in every row which law and table it backtested (its 'law' "
            "and 'table' columns are missing or blank: a table written by an earlier "
            "bayescale, or built or edited by hand), so those rows cannot be checked against "
            f"this fit of the {post.law.name} law and are shown as given. Backtest again to have "
            "them checked.",
            DataWarning,
            skip_file_prefixes=(
                str(Path(__file__).parent) + os.sep,
            ),  # the caller's line, not ours
        )
    laws = sorted(set(said.get("law", ())))
    if laws and laws != [post.law.name]:
        raise ValueError(
            f"{name} backtested the law {', '.join(laws)}, and this fit is of the "
            f"{post.law.name} law: backtest the law of the fit (--law {post.law.name}), or "
            "report a fit of the law backtested"
        )
    if not len(said.get("table", ())):
        return
    model = post.model if isinstance(post.model, Model) else Model.from_spec(post.model.spec())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        fitted = table_id_of(model.prepare(post.fitted_table()).rows_fingerprint())
    others = sorted(set(said["table"]) - {fitted})
    if others:
        raise ValueError(
            f"{name} backtested another table than this fit's (fingerprint {others[0]}, the "
            f"fit's {fitted}): the inputs, losses or runs the law reads differ. Backtest the "
            "table the fit was fitted on, with the same options (--columns, "
            "--drop-highest-loss, --run)"
        )


def coverage_columns(table: pd.DataFrame, ranges: bool = False) -> list[str]:
    """Return the ``coverage_<level>`` columns of a backtest table, or the columns beside them.

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`backtest` (or any table with its column names).
    ranges : bool
        Return instead the columns :func:`score_predictions` adds beside each coverage:
        ``calibrated_<level>_lo`` / ``_hi`` (the range a calibrated forecast would show) and
        ``coverage_<level>_p`` (the observed coverage's tail probability in it); none for a
        table written before them.

    Returns
    -------
    list of str
        The names, in the table's order.

    Examples
    --------
    >>> from bayescale.calibration import coverage_columns
    >>> cols = ["split", "coverage_0.5", "calibrated_0.5_lo", "coverage_0.5_p"]
    >>> table = pd.DataFrame(columns=cols)
    >>> coverage_columns(table), coverage_columns(table, ranges=True)
    (['coverage_0.5'], ['calibrated_0.5_lo', 'coverage_0.5_p'])
    """
    pattern = r"calibrated_[0-9.]+_(lo|hi)|coverage_[0-9.]+_p" if ranges else r"coverage_[0-9.]+"
    return [c for c in table.columns if re.fullmatch(pattern, str(c))]


def coverage_if_calibrated(
    draws: np.ndarray, level: float = 0.9, n_truths: int = 1000, seed: int = 0
) -> np.ndarray:
    """Coverage a central ``level`` interval would get if the truth were a predictive draw.

    Each of ``n_truths`` joint draws of the predictive (one row of ``draws``, every point at
    once) stands for the truth, and the share of points covered by the central intervals of the
    other draws is recorded. If the forecast is right, the observed coverage is one more sample
    of this distribution: its spread is the coverage a calibrated forecast could show on these
    points. Errors shared by the points (an extrapolation error is one shift of the whole curve
    per draw) make it wide: then a split's coverage of 1.00 at 90 % can be what a calibrated
    forecast often shows, and a band such as 0.85-0.95 tests little there. Independent errors
    make it narrow, about ``level +- 1.6 sqrt(level (1 - level) / points)``. A coverage inside
    the range is consistent with the forecast, not proof of it: a forecast that overstates a
    shared error also widens its range (judge its width by the interval score).

    Parameters
    ----------
    draws : numpy.ndarray
        Forecast draws, shape ``(samples, points)``, at least 2 samples, none NaN (an overflow
        to infinity is a draw beyond every interval, as in the observed coverage).
    level : float
        The intervals' central probability.
    n_truths : int
        How many draws stand for the truth (at most half the samples, chosen without
        replacement); the intervals are the other draws'.
    seed : int
        Seed of that choice.

    Returns
    -------
    numpy.ndarray
        ``(n_truths,)`` coverages; its 5 % and 95 % quantiles are the range a calibrated
        forecast's coverage falls in nine times in ten. Independent splits pool by averaging
        one coverage of each, weighted by their points.

    Raises
    ------
    DataError
        When ``draws`` is not 2-D with at least two samples, or holds NaN.
    ValueError
        When ``level`` is not in (0, 1), ``n_truths`` not a whole number >= 1, or ``seed`` not
        a seed.

    Examples
    --------
    Five points that share one error and carry a little noise each: a calibrated forecast
    covers all five most of the time, or few of them.

    >>> from bayescale.calibration import coverage_if_calibrated
    >>> rng = np.random.default_rng(0)
    >>> draws = rng.normal(size=(4000, 1)) + 0.1 * rng.normal(size=(4000, 5))
    >>> cov = coverage_if_calibrated(draws, 0.9)
    >>> round(float(cov.mean()), 2), round(float(np.mean(cov == 1.0)), 2)
    (0.91, 0.89)
    """
    level = arguments.probability(level, "level")
    n_truths = arguments.count(n_truths, "n_truths")
    seed = arguments.seed(seed)
    draws = np.asarray(draws, float)
    if draws.ndim != 2 or draws.shape[0] < 2 or np.isnan(draws).any():
        raise DataError(
            "coverage_if_calibrated needs draws shaped (samples, points), at least 2 samples, "
            "and no NaN."
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(draws.shape[0])
    n = min(n_truths, draws.shape[0] // 2)
    truths, rest = draws[order[:n]], draws[order[n:]]
    q = [(1 - level) / 2, (1 + level) / 2]
    with np.errstate(invalid="ignore"):  # -inf and +inf draws interpolate to NaN
        lo, hi = np.quantile(rest, q, axis=0)
    broken = np.isnan(lo) | np.isnan(hi)
    if broken.any():  # there, the draws at the quantiles' ends, not a mean of two infinities
        lo[broken] = np.quantile(rest[:, broken], q[0], axis=0, method="lower")
        hi[broken] = np.quantile(rest[:, broken], q[1], axis=0, method="higher")
    return np.mean((truths >= lo) & (truths <= hi), axis=1)


def coverage_tail_probability(reference: np.ndarray, seen: float) -> float:
    """Two-sided tail probability of an observed coverage among a calibrated forecast's.

    ``2 min(P(C <= seen), P(C >= seen))`` with each tail counted as ``(1 + k) / (1 + n)`` over
    the ``n`` reference coverages (:func:`coverage_if_calibrated`), so never 0; ties count in
    both tails (conservative for a coverage that can take few values), capped at 1.

    Parameters
    ----------
    reference : numpy.ndarray
        Coverages a calibrated forecast would show (:func:`coverage_if_calibrated`).
    seen : float
        The observed coverage.

    Returns
    -------
    float
        The tail probability: 1 in the middle of the reference, small in its tails.

    Examples
    --------
    >>> from bayescale.calibration import coverage_tail_probability
    >>> reference = np.r_[np.full(90, 1.0), np.full(10, 0.0)]  # all or nothing
    >>> coverage_tail_probability(reference, 1.0)
    1.0
    >>> round(coverage_tail_probability(reference, 0.0), 3)
    0.218
    """
    reference = np.asarray(reference, float)
    seen = arguments.finite(seen, "seen")
    if reference.ndim != 1 or reference.size == 0 or np.isnan(reference).any():
        raise DataError(
            "coverage_tail_probability needs the reference coverages as a 1-D array of one or "
            "more numbers (coverage_if_calibrated's), none NaN."
        )
    n = reference.size
    low = (1 + np.sum(reference <= seen + 1e-12)) / (1 + n)
    high = (1 + np.sum(reference >= seen - 1e-12)) / (1 + n)
    return float(min(1.0, 2 * min(low, high)))


def score_predictions(
    draws: np.ndarray, y: np.ndarray, levels: Sequence[float] = LEVELS
) -> tuple[dict[str, float], pd.DataFrame]:
    """Score sample forecasts ``draws`` (samples x points) of observations ``y``.

    Returns the summary (coverage per level, mean 90 % interval score relative to ``y``, mean
    CRPS relative to ``y``, median and mean ARE of the median) and a per-point table. Beside
    each coverage, the range a calibrated forecast's coverage of these points would fall in
    (:func:`coverage_if_calibrated`, its 5 % and 95 % quantiles) and how far out the observed
    coverage lies in it: points that share their errors can cover all or nothing even when the
    forecast is right. A coverage outside the range is off; one inside it is consistent with the
    forecast (a forecast too wide in a shared error widens the range too: read the interval
    score for its width).

    Parameters
    ----------
    draws : numpy.ndarray
        Forecast draws, shape ``(samples, points)`` (e.g. :func:`predict_rows`).
    y : numpy.ndarray
        The observed losses, shape ``(points,)``.
    levels : sequence of float
        Central interval levels whose coverage is reported; 0.9 must be one of them.

    Returns
    -------
    (dict, pandas.DataFrame)
        The summary, ``{"coverage_<level>": ..., "interval_score_90": ..., "crps": ...,
        "are_median": ..., "are_mean": ..., "calibrated_<level>_lo": ...,
        "calibrated_<level>_hi": ..., "coverage_<level>_p": ...}``, and one row per point:
        ``y``, ``median``, ``are``, ``lo_<level>`` and ``hi_<level>``, ``pit``.
        ``coverage_<level>_p`` is the two-sided tail probability of the observed coverage
        among a calibrated forecast's (:func:`coverage_tail_probability`; 1: in the middle;
        below 0.1: about outside the range, off).

    Overflowed draws (``+inf``: a loss too large for float64, drawn from noise so heavy-tailed
    that it has no mean, a Student-t with ``nu`` below 1) are scored as the largest float when
    they are fewer, at every point, than the upper tail the widest level leaves (2.5 % at 95 %):
    every interval is then finite and its own, and ``crps`` is ``inf`` (a predictive without a
    mean has no finite CRPS).

    Raises
    ------
    DataError
        When a draw is NaN or ``-inf``, or overflowed draws reach a reported quantile: the
        quantiles would be NaN or infinite, and the scores would contradict each other (a 50 %
        interval covering where the 90 % does not). When an observation is not positive (the
        scores are relative to it), or there are fewer draws than ``2 / (1 - max(levels))``
        (40 at 95 %: an interval of fewer is the draws' whole range, whatever its level).

    Examples
    --------
    Draws of ``Normal(3.0, 0.1)`` scored against one observation inside their 50 % interval
    and one far outside their 95 % interval:

    >>> from bayescale.calibration import score_predictions
    >>> draws = np.random.default_rng(0).normal(3.0, 0.1, size=(4000, 2))
    >>> summary, points = score_predictions(draws, np.array([3.0, 3.3]))
    >>> summary["coverage_0.5"], summary["coverage_0.95"]
    (0.5, 0.5)
    >>> round(summary["are_median"], 2)
    0.05
    >>> summary["calibrated_0.5_lo"], summary["calibrated_0.5_hi"]  # two points: 0, 1/2 or 1
    (0.0, 1.0)
    >>> points.columns.tolist()
    ['y', 'median', 'are', 'lo_0.5', 'hi_0.5', 'lo_0.8', 'hi_0.8', 'lo_0.9', 'hi_0.9',
     'lo_0.95', 'hi_0.95', 'pit']
    """
    levels = arguments.probabilities(levels)
    if not any(f"{level:g}" == "0.9" for level in levels):  # float32's 0.9 is 0.8999999762
        raise ValueError(f"levels={list(levels)}: include 0.9 (the interval score is at 90 %).")
    draws = np.asarray(draws, float)
    y = np.asarray(y, float)
    if draws.ndim != 2 or y.ndim != 1 or draws.shape[1] != y.size or y.size == 0:
        raise ValueError(
            f"draws of shape {draws.shape} and y of shape {y.shape}: give draws as (samples, "
            "points) and y as (points,), one or more points (flatten a prediction's chain and "
            "draw dims first: pred.values.reshape(-1, n_points))."
        )
    if not np.all(np.isfinite(y)):
        rows = np.flatnonzero(~np.isfinite(y))[:5].tolist()
        raise DataError(
            f"y is missing or not finite at points {rows}: it would be scored as a miss; drop "
            "those points explicitly."
        )
    if np.any(y <= 0):
        rows = np.flatnonzero(y <= 0)[:5].tolist()
        raise DataError(
            f"y is not > 0 at points {rows}: the scores are relative to the observed loss, "
            "which must be positive (give losses, not log losses or residuals)."
        )
    fewest = int(np.ceil(2 / (1 - max(levels)) - 1e-9))  # a draw beyond each end of the widest
    if draws.shape[0] < fewest:
        raise DataError(
            f"{draws.shape[0]} draws per point: a central {max(levels):.10g} interval needs at "
            f"least {fewest} (fewer, and it is the draws' whole range, whatever the level); "
            "draw more, or score fewer levels."
        )
    overflow = draws == np.inf
    bad = ~np.isfinite(draws) & ~overflow
    if not bad.any() and overflow.mean(axis=0).max(initial=0.0) < (1 - max(levels)) / 2:
        draws = np.where(overflow, np.finfo(float).max, draws)
    elif bad.any() or overflow.any():
        bad |= overflow
        raise DataError(
            f"{int(bad.sum())} of the {bad.size} predictive draws ({bad.mean():.2g} of them) are "
            "not finite: the fit has draws in a degenerate region (read its diagnostics: a "
            "Student-t's degrees of freedom nu below 1, whose draws have no mean; or a noise "
            "scale collapsing to 0, where a group with a single row per level lets its effect "
            "absorb that row). Not scored."
        )
    med = np.median(draws, axis=0)
    points = pd.DataFrame({"y": y, "median": med, "are": np.abs(med - y) / y})
    summary: dict[str, float] = {}
    for level in levels:
        lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
        inside = (lo <= y) & (y <= hi)
        points[f"lo_{level:g}"], points[f"hi_{level:g}"] = lo, hi
        summary[f"coverage_{level:g}"] = float(inside.mean())
    for level in levels:  # the coverage a calibrated forecast of these points would show
        ref = coverage_if_calibrated(draws, level)
        lo_hi = np.quantile(ref, [0.05, 0.95], method="inverted_cdf")  # coverages that occur
        summary[f"calibrated_{level:g}_lo"] = float(lo_hi[0])
        summary[f"calibrated_{level:g}_hi"] = float(lo_hi[1])
        seen = summary[f"coverage_{level:g}"]
        summary[f"coverage_{level:g}_p"] = coverage_tail_probability(ref, seen)
    lo, hi = points["lo_0.9"].to_numpy(), points["hi_0.9"].to_numpy()
    points["pit"] = (draws < y[None]).mean(axis=0)
    summary["interval_score_90"] = float(np.mean(interval_score(lo, hi, y, 0.9) / y))
    summary["crps"] = np.inf if overflow.any() else float(np.mean(crps_from_draws(draws, y) / y))
    summary["are_median"] = float(points["are"].median())
    summary["are_mean"] = float(points["are"].mean())
    return summary, points


def predict_rows(
    post: ScalingPosterior, df: pd.DataFrame, model: Model, rng_seed: int = 0
) -> np.ndarray:
    """Posterior predictive draws ``(samples, rows)`` for the rows of ``df``, in one call.

    Each row keeps its own group labels and run: fitted levels and runs use their fitted
    effects; new ones get effects drawn from the population, shared by the rows that carry
    the same label.

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    df : pandas.DataFrame
        The rows to predict, with the law's inputs and the model's group (and run) columns.
    model : Model
        The model of the fit (its columns and group terms).
    rng_seed : int
        Seed of the new groups' effects and of the noise.

    Returns
    -------
    numpy.ndarray
        Shape ``(chains x draws, rows)``.

    Examples
    --------
    The predictive draws of the runs above the default compute cut, as :func:`backtest` scores
    them:

    >>> from bayescale.calibration import predict_rows, split_by_compute
    >>> split = split_by_compute(runs, post.model)
    >>> draws = predict_rows(post, runs[split.test], post.model)
    >>> draws.shape
    (2000, 7)
    """
    cols = _cols(model)
    frame = df.reset_index(drop=True)
    values: dict[str, Any] = {
        name: frame[cols[role]].to_numpy(float)
        for name, role in INPUTS.items()
        # N and D give C = k N D to a law of compute
        if (name in post.law.inputs or (name in ("N", "D") and "C" in post.law.inputs))
        and cols[role] in frame
    }
    for term in model.terms:
        for col in term.columns:
            values[col] = frame[col].astype(str).to_numpy()
    run_col = model.run if isinstance(model.run, str) else cols["run"]
    if RUN in post.draws_tree["posterior"].coords and run_col in frame:
        values[RUN] = frame[run_col].astype(str).to_numpy()
    pred = post.predict(kind="predictive", new_groups=True, rng_seed=rng_seed, **values)
    return pred.values.reshape(-1, len(frame))


def fit_noting_warnings(
    model: Model, df: pd.DataFrame, **fit_kwargs: Any
) -> tuple[ScalingPosterior, list[str], list[str]]:
    """Fit ``model`` to ``df`` and return what its diagnostics and data checks warned of.

    A backtest reports a refit's failed diagnostics and data warnings in its table rather than
    raising them once per split; every other warning is passed on.

    Parameters
    ----------
    model : Model
        The model.
    df : pandas.DataFrame
        The rows to fit.
    **fit_kwargs
        Passed to :meth:`Model.fit`.

    Returns
    -------
    tuple
        ``(post, convergence, data)``: the fit, and the distinct messages of its
        :class:`~bayescale.errors.ConvergenceWarning` and
        :class:`~bayescale.errors.DataWarning` warnings (empty lists when none).

    Examples
    --------
    >>> from bayescale.calibration import fit_noting_warnings
    >>> fitted, convergence, data = fit_noting_warnings(bs.Model(), runs, method="psis", seed=0)
    >>> convergence, data
    ([], [])
    """
    post, noted = _fit_recording(model, df, **fit_kwargs)
    return post, _messages(noted, ConvergenceWarning), _messages(noted, DataWarning)


def _fit_recording(
    model: Model, df: pd.DataFrame, **fit_kwargs: Any
) -> tuple[ScalingPosterior, list[Warning]]:
    """Fit, keeping its convergence and data warnings (see :func:`fit_noting_warnings`)."""
    noted = (ConvergenceWarning, DataWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        post = model.fit(df, **fit_kwargs)
    for w in caught:  # the others are not the backtest's to keep
        if not issubclass(w.category, noted):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return post, [w.message for w in caught if issubclass(w.category, noted)]


def _messages(
    noted: list[Warning], category: type[Warning], command_line: bool = False
) -> list[str]:
    """Return the distinct messages of ``category`` in ``noted`` (command-line words if asked)."""
    text = [
        (getattr(w, "command_line", None) if command_line else None) or str(w)
        for w in noted
        if isinstance(w, category)
    ]
    return list(dict.fromkeys(text))


def backtest(
    model: Model,
    df: pd.DataFrame,
    splits: Split | Iterable[Split] | Callable[..., Any] = split_by_compute,
    levels: Sequence[float] = LEVELS,
    dataset: str = "",
    **fit_kwargs: Any,
) -> pd.DataFrame:
    """Fit on each split's training rows, predict its test rows, and score the predictions.

    Parameters
    ----------
    model : Model
        The model to check.
    df : pandas.DataFrame
        The table.
    splits : Split, iterable of Split, or callable
        The splits, or a function ``f(df, model) -> Split | list[Split]`` (default: a compute
        cut keeping 75 % of rows for training).
    levels : sequence of float
        Central interval levels whose coverage is reported.
    dataset : str
        Name shown in the table.
    **fit_kwargs
        Passed to :meth:`Model.fit` (``chains``, ``draws``, ``seed``...).

    Returns
    -------
    pandas.DataFrame
        One row per split: ``dataset``, ``split``, ``n_train``, ``n_test``, ``coverage_<level>``,
        ``interval_score_90`` and ``crps`` (relative to the observed loss), ``are_median``,
        ``are_mean``, ``calibrated_<level>_lo`` / ``_hi`` and ``coverage_<level>_p`` (the coverage a
        calibrated forecast would show on the split's points, from :func:`score_predictions`),
        ``fit_ok`` (the fit passed its diagnostics) and ``data_warnings`` (what the checks of the
        training rows warned about, e.g. a law input with too few distinct values; empty when
        nothing), ``status`` (``"ok"``, or ``"not scored: ..."`` with the scores left empty when
        the predictive draws are not finite, or fewer than ``2 / (1 - max(levels))``: 40 at
        95 %), and ``law`` and ``table``: the law fitted and the
        first 12 hex digits of the fingerprint of the rows the law reads (``"sha1:..."``; see
        :meth:`~bayescale.data.ScalingData.rows_fingerprint`), by
        which a report knows a backtest of its fit's law and table from another's.
        ``attrs["points"]`` holds the per-point predictions and PIT values, and
        ``attrs["data_warnings_command_line"]`` each row's data warnings as the command line
        words them.

    Examples
    --------
    Fit on the runs up to 3e19 FLOP and predict the seven at 1e20 (importance sampling keeps it
    quick; the default is NUTS):

    >>> table = bs.backtest(bs.Model(), runs, method="psis", seed=0)
    >>> row = table.iloc[0]
    >>> row["split"], int(row["n_train"]), int(row["n_test"]), row["status"]
    ('compute <= 3e+19', 28, 7, 'ok')
    >>> bool(table.loc[0, "fit_ok"]), table.attrs["points"].shape
    (True, (7, 13))

    Several splits at once:

    >>> from bayescale.calibration import split_by_compute, split_by_size
    >>> model = bs.Model()
    >>> splits = [split_by_compute(runs, model), split_by_size(runs, model)]
    >>> table = bs.backtest(model, runs, splits, chains=4)  # doctest: +SKIP
    """
    require_model(model, "backtest", "bs.backtest(bs.Model(), runs)")
    levels = arguments.probabilities(levels)
    if len(set(levels)) < len(levels):
        raise ValueError(f"levels={list(levels)} gives a level twice; give each level once.")
    table_id = table_id_of(_check_table(df, model))  # every row checked as a fit would
    if callable(splits) and not isinstance(splits, Split):
        splits = splits(df, model)
    splits = _checked_splits(splits, df)
    loss_col = _cols(model)["loss"]
    for split in splits:  # every split before any is fitted
        if not split.test.any() or not split.train.any():
            side = "test" if not split.test.any() else "training"
            raise DataError(
                f"Split {split.name!r} leaves no {side} rows: choose a split with rows on both "
                "sides."
            )
    rows, points, worded = [], [], []  # worded: each row's data warnings, for the command line
    for split in splits:
        train, test = df[split.train], df[split.test]
        try:
            post, noted = _fit_recording(model, train, **fit_kwargs)
        except DataError as e:  # say which side of which split cannot be fitted
            head = (
                f"Split {split.name!r} leaves {len(train)} of the {len(df)} rows to fit, and "
                "they cannot be fitted:"
            )
            raise DataError(
                f"{head} {e} Or keep more rows on the training side.",
                column=e.column,
                rows=e.rows,
                command_line=f"{head} {e.command_line or e} Or keep more rows on the training "
                f"side{f' ({split.more_training})' if split.more_training else ''}.",
            ) from None
        draws = predict_rows(post, test, model)
        fit_ok = not _messages(noted, ConvergenceWarning)
        worded.append(" | ".join(_messages(noted, DataWarning, command_line=True)))
        try:
            summary, pts = score_predictions(draws, test[loss_col].to_numpy(float), levels)
            status = "ok"
        except DataError as e:  # a degenerate fit: this split is not scored, the others are
            summary, pts, status = {}, None, f"not scored: {e}"
        rows.append(
            {
                "dataset": dataset,
                "split": split.name,
                "n_train": len(train),
                "n_test": len(test),
                **summary,
                "fit_ok": fit_ok,
                "data_warnings": " | ".join(_messages(noted, DataWarning)),
                "status": status,
                "law": model.law.name,
                "table": table_id,
            }
        )
        if pts is not None:
            pts.insert(0, "split", split.name)
            pts.index = test.index
            points.append(pts)
    table = pd.DataFrame(rows)
    table.attrs["points"] = pd.concat(points) if points else pd.DataFrame()
    table.attrs["data_warnings_command_line"] = worded
    return table


def _checked_splits(splits: Any, df: pd.DataFrame) -> list[Split]:
    """Return ``splits`` as a non-empty list of :class:`Split` whose masks fit ``df``'s rows.

    A mask given as a pandas Series is read by its labels, which must be ``df``'s (a mask built
    from another ordering of the table, read by position, would put other rows on each side).

    Raises
    ------
    TypeError
        When a split is not a :class:`Split`.
    ValueError
        When there is none, or a split's masks are not boolean masks of the table's length (a
        Series of them labelled as the table's rows), or a row is on both sides (scored
        in-sample, which is no backtest).
    """
    n_rows = len(df)
    if isinstance(splits, Split):
        splits = [splits]
    if splits is None or isinstance(splits, str) or not isinstance(splits, Iterable):
        raise TypeError(
            f"splits must be a Split, a list of them, or a function (df, model) -> Split(s); "
            f"got {type(splits).__name__}, e.g. splits=split_by_compute(df, model)."
        )
    splits = list(splits)
    if not splits:
        raise ValueError("splits is empty: give at least one Split (e.g. split_by_compute).")
    checked = []
    for split in splits:
        if not isinstance(split, Split):
            raise TypeError(
                f"splits holds a {type(split).__name__}, not a Split; build one with "
                "Split(name, train=mask, test=mask) or a split_by_* function."
            )
        masks = {}
        for side in ("train", "test"):
            given = getattr(split, side)
            if isinstance(given, pd.Series) and not given.index.equals(df.index):
                same = len(given) == len(df) and given.index.sort_values().equals(
                    df.index.sort_values()
                )
                raise ValueError(
                    f"Split {split.name!r}: {side} is a Series whose index is not the table's "
                    f"({'the same labels in another order' if same else 'other labels'}): read "
                    "by position, it would put other rows on this side. Build the mask from the "
                    "table backtested (train=df['flops'] <= cut), or align it "
                    "(mask.reindex(df.index))."
                )
            mask = np.asarray(given)
            nullable = isinstance(given, pd.Series | pd.Index | pd.api.extensions.ExtensionArray)
            if nullable and pd.api.types.is_bool_dtype(given.dtype) and not pd.isna(given).any():
                mask = np.asarray(given, dtype=bool)  # pandas' "boolean" dtype, without NA
            if mask.dtype != bool or mask.shape != (n_rows,):
                raise ValueError(
                    f"Split {split.name!r}: {side} must be a boolean mask with one entry per row "
                    f"of the table ({n_rows}), got dtype {mask.dtype} and shape {mask.shape}; "
                    "e.g. train=(df['flops'] <= cut).to_numpy()."
                )
            masks[side] = mask
        split = dataclasses.replace(split, **masks)
        checked.append(split)
        both = int(np.sum(split.train & split.test))
        if both:
            raise ValueError(
                f"Split {split.name!r} puts {both} row(s) in both train and test: they would be "
                "scored in-sample. Make the masks disjoint (test=~train, or a subset of it)."
            )
    return checked


def concat_backtests(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate backtest tables, rows and per-point predictions (``attrs["points"]``) alike.

    ``pd.concat`` compares the tables' ``attrs`` and cannot compare the tables of points they
    hold (pandas raises "The truth value of a DataFrame is ambiguous"): this concatenates the
    rows without them, then the points.

    Parameters
    ----------
    tables : iterable of pandas.DataFrame
        Results of :func:`backtest` (or :func:`bayescale.pooling.new_group_backtest`); tag each
        first (``table.assign(model=...)``) to tell them apart.

    Returns
    -------
    pandas.DataFrame
        The rows, with ``attrs["points"]`` the concatenated points.

    Examples
    --------
    The same split backtested under two likelihoods, in one table:

    >>> from bayescale.calibration import concat_backtests
    >>> t_fit = bs.backtest(bs.Model(), runs, method="psis", seed=0)
    >>> normal = bs.backtest(bs.Model(likelihood="normal"), runs, method="psis", seed=0)
    >>> both = concat_backtests([t_fit.assign(model="student_t"), normal.assign(model="normal")])
    >>> both[["model", "split", "n_test"]]
           model             split  n_test
    0  student_t  compute <= 3e+19       7
    1     normal  compute <= 3e+19       7
    >>> both.attrs["points"].shape
    (14, 13)
    """
    tables = list(tables)
    bare = []
    for table in tables:
        copy = table.copy(deep=False)
        copy.attrs = {}
        bare.append(copy)
    out = pd.concat(bare, ignore_index=True)
    points = [t.attrs["points"] for t in tables if not t.attrs.get("points", pd.DataFrame()).empty]
    out.attrs["points"] = pd.concat(points) if points else pd.DataFrame()
    return out


def loo_pit(post: ScalingPosterior) -> np.ndarray:
    """LOO-PIT values of the fitted rows (``arviz_stats.loo_pit``); uniform when calibrated.

    Parameters
    ----------
    post : ScalingPosterior
        The fit (its posterior predictive is added to it when missing).

    Returns
    -------
    numpy.ndarray
        One value in [0, 1] per fitted row: where the row's loss falls in its leave-one-out
        predictive distribution.

    Examples
    --------
    >>> pit = bs.loo_pit(post)
    >>> pit.shape
    (35,)
    >>> bool(((pit >= 0) & (pit <= 1)).all())
    True
    """
    arguments.sampled(post, "loo_pit")
    require_one_step(post, "bs.loo_pit")
    require_psis_draws(post, "loo_pit")
    with_predictive(post)
    with smoothable(post, "loo_pit"):
        res = arviz_stats.loo_pit(post.tree, var_names=["loss"])
    return np.asarray(res["loss"].values)


def rank_uniformity(ranks: np.ndarray, max_rank: int, n_bins: int) -> tuple[float, float]:
    """Chi-square test that SBC ranks are uniform on ``0 .. max_rank``, binned in ``n_bins``.

    Where ``n_bins`` does not divide the ``max_rank + 1`` possible ranks, the bins hold unequal
    numbers of them (11 and 10 at :func:`sbc`'s defaults), and each bin expects its share.

    Parameters
    ----------
    ranks : numpy.ndarray
        Ranks of the true values among the kept posterior draws, one per simulation.
    max_rank : int
        The largest possible rank (the number of draws kept).
    n_bins : int
        Number of bins of the histogram tested.

    Returns
    -------
    tuple of float
        The statistic and its p-value.

    Examples
    --------
    >>> from bayescale.calibration import rank_uniformity
    >>> uniform = np.tile(np.arange(101), 500)  # every possible rank equally often
    >>> float(rank_uniformity(uniform, 100, 10)[1])
    1.0
    """
    edges = (0, max_rank + 1)
    held = np.histogram(np.arange(max_rank + 1), bins=n_bins, range=edges)[0]
    counts = np.histogram(ranks, bins=n_bins, range=edges)[0]
    chi2, p = stats.chisquare(counts, f_exp=counts.sum() * held / held.sum())
    return float(chi2), float(p)


def sbc(
    model: Model,
    design: pd.DataFrame,
    n_sims: int = 100,
    draws: int = 400,
    warmup: int = 400,
    thin: int = 4,
    n_bins: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulation-based calibration (Talts et al. 2018) on the design of a table.

    Draws ``n_sims`` parameter sets from the prior, simulates losses at the table's inputs and
    groups, fits every simulation at once (one chain each, as lanes of
    :func:`bayescale.inference.sample_nuts`, every fit on the design's centring scale so the
    data-scaled priors are the ones simulated from), and ranks each true population-level
    parameter among its thinned posterior draws. With a correct sampler and model the ranks are
    uniform; each parameter gets a chi-square test over ``n_bins`` bins.

    Parameters
    ----------
    model : Model
        The model whose priors, likelihood and sampler are checked.
    design : pandas.DataFrame
        A table giving the inputs and groups (its ``loss`` column must be present, e.g. a
        placeholder, but is replaced by the simulated losses).
    n_sims : int
        Number of prior draws, each simulated and fitted.
    draws, warmup : int
        NUTS draws and warm-up iterations of each fit (one chain).
    thin : int
        Keep every ``thin``-th draw for the ranks.
    n_bins : int
        Bins of the chi-square test of uniformity.
    seed : int
        Random seed of the prior draws and of the fits.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``parameter``, ``chi2``, ``p_value``, ``n_sims``,
        ``divergent_fits``. ``attrs["ranks"]`` holds the ranks (simulation x parameter) and
        ``attrs["max_rank"]`` their maximum (the number of thinned draws).

    Examples
    --------
    On the design of the simulated ladder (100 batched fits: minutes on a CPU, so skipped here):

    >>> table = bs.sbc(bs.Model(), runs, n_sims=100, draws=200, warmup=200)  # doctest: +SKIP
    >>> table[["parameter", "p_value"]]  # doctest: +SKIP

    ``table`` has one row per population parameter (``log_E``, ``a``, ``b``, ``log_alpha``,
    ``log_beta``, ``sigma``, ``nu`` for this model); a p-value below about 0.005 says the ranks
    are not uniform, i.e. the sampler or the model's simulation is wrong somewhere.
    ``table.attrs["ranks"]`` holds the ranks, to plot as histograms. A design without losses,
    such as :func:`bayescale.simulate.typical_design`'s, needs a placeholder column first:

    >>> design = bs.simulate.typical_design("chinchilla").assign(loss=3.0)
    >>> design.shape
    (40, 3)
    """
    require_model(model, "sbc", "bs.sbc(bs.Model(), design)")
    if not isinstance(design, pd.DataFrame):
        raise TypeError(
            f"sbc takes a design table (a pandas DataFrame), got a {type(design).__name__}; "
            "e.g. bs.simulate.typical_design('chinchilla').assign(loss=3.0)."
        )
    loss = {"loss": "loss", **dict(model.columns or {})}["loss"]
    if loss not in design.columns:
        raise DataError(
            f"sbc needs a '{loss}' column in the design: the simulated losses replace it, but "
            "its typical value sets the data-scaled priors the simulations are drawn from. Add "
            f"a typical loss of the law, e.g. design.assign({loss}=3.0) (0.5 for an error rate)."
        )
    n_sims = arguments.count(n_sims, "n_sims", minimum=2)
    draws = arguments.count(draws, "draws", minimum=MIN_DRAWS)
    warmup = arguments.count(warmup, "warmup", minimum=0)
    thin = arguments.count(thin, "thin")
    if thin >= draws:
        raise ValueError(
            f"thin={thin} keeps every {thin}-th of draws={draws} draws: one draw to rank "
            "against; give thin < draws (the ranks run from 0 to the draws kept)."
        )
    max_rank = len(range(0, draws, thin))
    n_bins = arguments.count(n_bins, "n_bins", minimum=2)
    if n_bins > max_rank + 1:
        raise ValueError(
            f"n_bins={n_bins} is more bins than the {max_rank + 1} ranks (0 to {max_rank}) that "
            f"{draws} draws thinned by {thin} give: some bins would be empty whatever the "
            f"sampler does. Give n_bins <= {max_rank + 1}, or more draws."
        )
    seed = arguments.seed(seed)
    placeholder = pd.to_numeric(design[loss], errors="coerce")
    if placeholder.isna().all():  # nothing to read a typical value from
        raise DataError(
            f"sbc reads the design's '{loss}' column only for its typical value (the simulated "
            "losses replace it; it sets the data-scaled priors), and it holds no number: give "
            f"a typical loss of the law, e.g. design.assign({loss}=3.0) (0.5 for an error rate).",
            column=loss,
        )
    if len(design) > 1 and placeholder.notna().all() and placeholder.nunique() == 1:
        # a placeholder: the table checks refuse a constant loss ("nothing to fit"). Spread by
        # one part in a million, it sets the same data-scaled priors and passes them.
        ramp = 1 + 1e-6 * np.linspace(-1.0, 1.0, len(design))
        design = design.assign(**{loss: placeholder.to_numpy(float) * ramp})
        with warnings.catch_warnings():  # the placeholder's trend is no trend: not checked
            warnings.filterwarnings(
                "ignore",
                rf"Column {re.escape(repr(loss))} \(loss\) (rises|falls) with",
                DataWarning,
            )
            data = model.prepare(design)
    else:
        data = model.prepare(design)
    prior = model.prior_draws(data, n=n_sims, seed=seed)
    datas = [dataclasses.replace(data, loss=np.asarray(sim)) for sim in prior["loss"][0]]
    next_seed = arguments.derived_seed(seed, 1)
    settings = NutsSettings(chains=1, draws=draws, warmup=warmup, seed=next_seed)
    fits = sample_nuts(model, datas, settings)
    sites = population_sites(model.law, model.effects) + [
        k for k in NOISE_SITES if k in fits[0].samples
    ]
    ranks = {}
    for site in sites:
        post = np.stack([f.samples[site][0, ::thin] for f in fits])
        truth = np.asarray(prior[site][0])
        ranks[site] = (post < truth[:, None]).sum(axis=1)
    divergent = int(sum(bool(f.stats["diverging"].any()) for f in fits))
    rows = []
    for site, r in ranks.items():
        chi2, p = rank_uniformity(r, max_rank, n_bins)
        rows.append(
            {
                "parameter": site,
                "chi2": float(chi2),
                "p_value": float(p),
                "n_sims": n_sims,
                "divergent_fits": divergent,
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["ranks"] = pd.DataFrame(ranks)
    table.attrs["max_rank"] = max_rank
    return table
