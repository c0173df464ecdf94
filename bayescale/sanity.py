"""Plausibility checks of a run table and of where it is asked to predict.

A table can be valid (numeric, positive, no NaN) and still be wrong in a way that a fit
would silently turn into a confident wrong answer: tokens given in billions, perplexities given
as losses, an accuracy that rises with compute, a table concatenated twice, labels ``1`` and
``"1"`` that become one group, one model size for a law of model size. Each check here warns
with a :class:`~bayescale.errors.DataWarning` (or, for labels that collide, refuses with a
:class:`~bayescale.errors.DataError`) naming the column and the likely fix. Predictions and
frontiers far outside the data get an :class:`~bayescale.errors.ExtrapolationWarning`.
No check drops or changes a row.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from bayescale.cost import TrainingCost
from bayescale.errors import DataError, DataWarning, ExtrapolationWarning
from bayescale.laws.base import INPUTS

#: Inputs below this (largest value in the table) look like counts given in millions/billions.
MIN_COUNT = 1e4
#: Largest tokens per parameter below this looks like tokens or parameters in the wrong unit.
MIN_TOKENS_PER_PARAM = 0.01
#: A ``flops`` column off ``k N D`` by more than this relative factor (median over rows).
FLOPS_TOLERANCE = 0.10
#: Losses whose median is above this do not look like a cross-entropy in nats or bits.
MAX_PLAUSIBLE_LOSS = 20.0
#: Rows needed before the trend of the loss with compute is judged.
MIN_ROWS_FOR_TREND = 8
#: Group levels (all terms and the run together) above which an unread input is not checked.
MAX_LEVELS_FOR_TREND = 500
#: Decades of compute below which the rows are one budget (no trend can be learned).
MIN_COMPUTE_SPAN = 0.3
#: Decades past the largest (or below the smallest) training input that count as far outside.
FAR_ABOVE_DECADES = 4.0
FAR_BELOW_DECADES = 1.0


def _warn(
    message: str, category: type[Warning] = DataWarning, command_line: str | None = None
) -> None:
    """Warn with ``message`` on one line (``command_line``: its fix worded for the command)."""
    line = None if command_line is None else " ".join(command_line.split())
    warnings.warn(category(" ".join(message.split()), command_line=line), stacklevel=4)


def check_labels(df: pd.DataFrame, column: str) -> None:
    """Refuse a group column whose labels collide once converted to text (``1`` and ``"1"``).

    Group labels are compared as text; two different values that print the same would
    silently become one group.
    """
    values = df[column].dropna()
    as_text = values.astype(str)
    if as_text.nunique() < values.map(lambda v: (type(v).__name__, v)).nunique():
        clash = next(
            sorted({repr(v) for v in values[as_text == t]})
            for t in as_text.unique()
            if values[as_text == t].map(type).nunique() > 1
        )
        raise DataError(
            f"Group column {column!r} has labels that differ but read the same as text: "
            f"{', '.join(clash)}. They would become one group. Convert the column to one type "
            f"first (df[{column!r}] = df[{column!r}].astype(str) if they are the same group, or "
            "rename one of them if not)."
        )
    folded = as_text.str.strip().str.casefold()
    if folded.nunique() < as_text.nunique():
        t = next(f for f in folded.unique() if as_text[folded == f].nunique() > 1)
        near = sorted(as_text[folded == t].unique())
        problem = (
            f"Group column {column!r} has labels that differ only in case or surrounding spaces: "
            f"{near}. They are separate groups; if they are one, normalise the column first"
        )
        _warn(
            f"{problem} (df[{column!r}] = df[{column!r}].str.strip().str.lower()).",
            command_line=f"{problem} (write them alike in the file).",
        )


def check_units(x: Mapping[str, np.ndarray], columns: Mapping[str, str]) -> None:
    """Warn when parameters or tokens look like millions/billions instead of raw counts."""
    for name, role, example in (("N", "params", "7e10 for 70B"), ("D", "tokens", "1.4e12")):
        if name in x and np.max(x[name]) < MIN_COUNT:
            _warn(
                f"Column {columns[role]!r} ({role}) is at most {np.max(x[name]):.3g}: that looks "
                f"like millions or billions, not raw counts. Give raw counts (e.g. {example}); "
                "the law's exponents and every allocation depend on the units."
            )
            return
    if "N" in x and "D" in x:
        ratio = float(np.max(x["D"] / x["N"]))
        if ratio < MIN_TOKENS_PER_PARAM:
            _warn(
                f"Tokens per parameter ({columns['tokens']!r} / {columns['params']!r}) are at "
                f"most {ratio:.2g}: one of the two columns is probably in other units "
                "(billions of tokens, thousands of parameters). Give raw counts of both."
            )


def check_flops(
    df: pd.DataFrame, columns: Mapping[str, str], cost: TrainingCost, used: bool
) -> None:
    """Warn when a ``flops`` column is more than 10 % off ``k N D``, saying which one is used."""
    names = [columns["flops"], columns["params"], columns["tokens"]]
    if not all(c in df.columns for c in names):
        return
    try:
        flops, n, d = (df[c].to_numpy(float) for c in names)
    except (TypeError, ValueError):
        return
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        knd = cost.flops(n, d)
    ok = np.isfinite(flops) & (flops > 0) & np.isfinite(knd) & (knd > 0)
    if not ok.any():
        return
    factor = float(np.median(flops[ok] / knd[ok]))
    if abs(np.log(factor)) <= np.log1p(FLOPS_TOLERANCE):
        return
    which = (
        f"the fit uses {columns['flops']!r}"
        if used
        else f"the fit uses {cost.describe()} and does not read {columns['flops']!r}"
    )
    _warn(
        f"Column {columns['flops']!r} is {factor:.3g} times {cost.describe()} (median over "
        f"rows): {which}. If {columns['flops']!r} is right, set "
        f"Model(flops_per_param_token={cost.k * factor:.3g}) (--flops-per-param-token "
        f"{cost.k * factor:.3g}); otherwise check its units."
    )


def check_unread_input(
    df: pd.DataFrame,
    columns: Mapping[str, str],
    inputs: Iterable[str],
    levels: Iterable[np.ndarray] = (),
) -> None:
    """Warn when a law of ``N`` alone or ``D`` alone meets a table whose other input varies.

    A law of model size reads nothing of the tokens: runs of one size trained on ten times the
    data look like noise to it (and the other way round). Tokens that follow the size (compute-
    optimal runs, ``D = 20 N``) are no such problem, nor is an input that a group or run effect
    absorbs (curves of four sizes under a law of ``D`` with an effect per curve): what counts is
    the other input's spread (5-95 %) about a log-linear trend in the read one plus a shift per
    level of each of ``levels`` (integer codes per row). Laws of compute are left alone (they
    read the allocation's sum by design).
    """
    read = set(inputs)
    codes = [np.asarray(c) for c in levels]
    if sum(int(c.max(initial=0)) + 1 for c in codes) > MAX_LEVELS_FOR_TREND:
        return  # too many levels to absorb in a dense design; not worth a warning's cost
    for name, other in (("N", "D"), ("D", "N")):
        cols = [columns[INPUTS[name]], columns[INPUTS[other]]]
        if name not in read or other in read or "C" in read or cols[1] not in df.columns:
            continue
        try:
            x, v = (df[c].to_numpy(float) for c in cols)
        except (TypeError, ValueError, KeyError):
            continue
        ok = np.isfinite(x) & (x > 0) & np.isfinite(v) & (v > 0)
        if ok.sum() < MIN_ROWS_FOR_TREND:
            continue
        lx, lv = np.log10(x[ok]), np.log10(v[ok])
        design = [np.ones_like(lx)] + ([lx] if np.ptp(lx) > 0 else [])
        for c in codes:  # one shift per level (the first level's is the intercept)
            design += [(c[ok] == k).astype(float) for k in np.unique(c[ok])[1:]]
        design = np.column_stack(design)
        residual = lv - design @ np.linalg.lstsq(design, lv, rcond=None)[0]
        spread = float(np.subtract(*np.percentile(residual, [95, 5])))
        if spread < MIN_COMPUTE_SPAN:
            continue
        _warn(
            f"Column {cols[1]!r} ({INPUTS[other]}) varies by {spread:.1f} decades (5-95 %) "
            f"beyond what {cols[0]!r} and the group effects explain, but the law reads {name} "
            f"alone and ignores it: rows that differ in {other} only look like noise to it. Fit "
            f"a law of N and D (e.g. chinchilla), or rows whose {INPUTS[other]} follows their "
            f"{INPUTS[name]} (such as compute-optimal runs)."
        )


def check_metric(
    loss: np.ndarray,
    compute: np.ndarray | None,
    column: str,
    bounded: bool = False,
    axis: str = "compute",
) -> None:
    """Warn when the loss looks like a perplexity, rises with compute, or has no trend.

    ``compute`` is the table's compute axis, named ``axis`` in messages (``None`` where the law
    has none, e.g. a link from an upstream loss); ``bounded`` marks a metric fitted on the logit
    scale. Rows spanning under 0.3 decades of it (one budget) are said so instead.
    """
    median = float(np.median(loss))
    if not bounded and median > MAX_PLAUSIBLE_LOSS:
        problem = (
            f"Column {column!r} (loss) has median {median:.3g}: a cross-entropy loss is rarely "
            "above 20 nats. If these are perplexities, fit their logarithm"
        )
        _warn(
            f"{problem} (df[{column!r}] = np.log(perplexity)).",
            command_line=f"{problem} (write the natural log of each in the file's {column!r} "
            "column).",
        )
    if compute is None or len(loss) < MIN_ROWS_FOR_TREND:
        return
    span = float(np.log10(np.max(compute) / np.min(compute)))
    if span < MIN_COMPUTE_SPAN:
        _warn(
            f"The rows span {span:.2g} decades of {axis} (one budget?): how the loss falls "
            f"with {axis} cannot be learned from them, so any extrapolation in {axis} rests on "
            "the priors alone. Add runs at other budgets."
        )
        return
    rho, p = stats.spearmanr(compute, loss)
    if not np.isfinite(rho):
        return
    if rho > 0 and p < 0.05:
        _warn(
            f"Column {column!r} (loss) rises with {axis} (Spearman rho = {rho:.2f}): a scaling "
            "law of a loss expects it to fall. If this is an accuracy or a score (higher is "
            "better), fit 1 - accuracy or an error rate, or use a downstream link law."
        )
    elif p >= 0.05:
        _warn(
            f"Column {column!r} (loss) shows no trend with {axis} (Spearman rho = {rho:.2f}, "
            f"p = {p:.2f}): the law will be fitted to noise and its extrapolation comes from "
            "the priors. Check that this is the metric you meant."
        )


def check_floor(metric: np.ndarray, floor: float, law: str, index: pd.Index) -> None:
    """Warn when rows of a link's metric lie at or below the law's fixed floor (chance).

    The law stays above its floor, so such rows are fitted as misses, and a floor set too high
    (0.6 for a four-way benchmark) bends the whole fit without a word.
    """
    below = np.flatnonzero(metric <= floor) if floor > 0 else np.array([], int)
    if below.size:
        _warn(
            f"{below.size} of {metric.size} rows have a metric at or below the {law} law's "
            f"floor {floor:g} (e.g. rows {index[below[:5]].tolist()}), which the law never "
            "reaches: they are fitted as misses. Check the floor (chance accuracy: 0.25 for "
            "four-way multiple choice), or drop those rows explicitly."
        )


def check_duplicates(df: pd.DataFrame, columns: Iterable[str]) -> None:
    """Warn when rows repeat exactly in every column the fit reads (a table joined twice?)."""
    cols = [c for c in dict.fromkeys(columns) if c in df.columns]
    dup = df.duplicated(subset=cols, keep="first")
    if dup.any():
        rows = list(df.index[dup][:5])
        problem = (
            f"{int(dup.sum())} row(s) repeat an earlier row exactly in {cols}, e.g. rows {rows}: "
            "was the table concatenated twice? Each copy counts as a new observation. Remove them"
        )
        _warn(
            f"{problem} with df.drop_duplicates() unless they are genuinely repeated runs.",
            command_line=f"{problem} from the file unless they are genuinely repeated runs.",
        )


def check_design(
    x: Mapping[str, np.ndarray], columns: Mapping[str, str], n_parameters: int
) -> None:
    """Warn when an input has too few distinct values for the law to learn its effect.

    A term ``A / x^alpha`` with an irreducible level needs at least three distinct ``x``;
    with fewer, its parameters are informed by their prior alone.
    """
    needed = 3 if len(x) > 1 else min(3, n_parameters)
    for name, v in x.items():
        distinct = np.unique(v)
        if distinct.size < needed:
            shown = ", ".join(f"{u:.3g}" for u in distinct[:3])
            _warn(
                f"Column {columns[INPUTS[name]]!r} takes {distinct.size} distinct value(s) "
                f"({shown}): the law's dependence on {name} cannot be learned from this table, "
                f"so the parameters of its {name} term come from their priors alone. Add runs "
                f"at other values, or set informative priors on those parameters."
            )


def check_single_row_levels(
    term: str, codes: np.ndarray, labels: tuple[str, ...], student_t: bool = True
) -> None:
    """Warn when levels of a group term have a single row.

    Such a level's effect can fit its row exactly; a Student-t whose degrees of freedom are
    free then has no bound as its scale goes to 0, and chains can fall into that degenerate
    mode (on Ruan et al.'s model families: sigma 1e-24, nu 0.008, predictive draws overflowing).
    Where every level has one row (a term by run on a table of one row per run), the effect is
    the noise again under any likelihood.
    """
    counts = np.bincount(codes, minlength=len(labels))
    single = [labels[i] for i in np.flatnonzero(counts == 1)]
    if single and len(single) == len(labels) > 1:  # not a group: one level per row
        _warn(
            f"Group term {term!r}: every one of its {len(labels)} levels has a single row, so "
            "an effect by it cannot be told from the noise (each row's effect and its noise "
            "are one number, split by the priors alone)"
            + (", and the Student-t's noise scale can collapse to 0 in some chains" * student_t)
            + ". Drop the effect (--effects), or give it a column whose levels hold several "
            "rows each."
        )
    elif single and student_t:
        shown = ", ".join(single[:5]) + (", ..." if len(single) > 5 else "")
        _warn(
            f"Group term {term!r}: {len(single)} of {len(labels)} levels have a single row "
            f"({shown}). Each such level's effect can fit its row exactly, and with a Student-t "
            "likelihood the noise scale can then collapse to 0 in some chains (a degenerate fit "
            "whose predictions overflow). Use likelihood='normal' (--likelihood normal), give "
            "those levels more rows or leave them out of the term, and read the fit's "
            "diagnostics."
        )


def check_distinct_terms(parameter: str, groupings: Mapping[str, np.ndarray]) -> None:
    """Warn when group terms of one parameter split the rows into the same groups.

    Each level of one is then one level of the other (a copied column; ``family`` beside
    ``family:seed`` on a table of one seed per family): the rows of a group get both terms'
    effects for it, and only their sum per group is fitted, split between them by the
    priors alone. One warning per set of such terms, naming the ones to drop.

    Parameters
    ----------
    parameter : str
        The parameter the terms vary, for the message.
    groupings : mapping of str to numpy.ndarray
        Each term's name and its level codes per row.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     check_distinct_terms("E", {"family": np.array([0, 0, 1]), "grp": np.array([1, 1, 0])})
    >>> "split the rows into the same groups" in str(caught[0].message)
    True
    """
    alike: dict[tuple[int, ...], list[str]] = {}
    for name, codes in groupings.items():  # each term's groups, as its first row per level
        _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        alike.setdefault(tuple(first[inverse.ravel()].tolist()), []).append(name)
    for names in alike.values():
        if len(names) < 2:
            continue
        keep, drop = names[0], names[1:]
        listed = ", ".join(map(repr, names[:-1])) + f" and {names[-1]!r}"
        problem = (
            f"The group terms {listed} of {parameter} split the rows into the same groups "
            "(each level of one is one level of the other): each group's rows get an effect "
            "of each term, and only their sum per group is fitted, split between them by the "
            "priors."
        )
        _warn(
            f"{problem} Drop {', '.join(map(repr, drop))} from effects[{parameter!r}] and keep "
            f"{keep!r}.",
            command_line=f"{problem} Drop {', '.join(drop)} from --effects {parameter}=... and "
            f"keep {keep}.",
        )


def far_outside(up: np.ndarray, down: np.ndarray, what: str) -> None:
    """Warn when points lie far past the data (``up``/``down``: decades above/below it)."""
    up_max, down_max = float(np.max(up, initial=0.0)), float(np.max(down, initial=0.0))
    if up_max > FAR_ABOVE_DECADES:
        _warn(
            f"{what} {up_max:.1f} decades past the largest training run: the package's "
            "backtests check extrapolations of up to about 2 decades; this far out the "
            "intervals rest on the law's form alone. Treat them as a scenario.",
            ExtrapolationWarning,
        )
    if down_max > FAR_BELOW_DECADES:
        _warn(
            f"{what} {down_max:.1f} decades below the smallest training inputs: the law was "
            "fitted above them and its form is rarely right far below (small or early-training "
            "models' losses bend away from a power law; a link's upstream loss there is one no "
            "fitted model reached).",
            ExtrapolationWarning,
        )


def far_outside_range(values: np.ndarray, fitted: Sequence[float], name: str, what: str) -> None:
    """Warn when an input on a linear axis lies further outside its fitted range than its width.

    A link's upstream loss ``L`` is read in loss units: its distance from the fitted range is
    not in decades, and the thresholds of :func:`far_outside` do not apply.

    Parameters
    ----------
    values : numpy.ndarray
        The points' values of the input.
    fitted : (float, float)
        The range of the fitted rows.
    name : str
        The input's name.
    what : str
        The start of the message (``"Predicting"``).

    Warns
    -----
    ExtrapolationWarning
        When a value lies more than the range's width outside it.

    Examples
    --------
    >>> import warnings
    >>> from bayescale.sanity import far_outside_range
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     far_outside_range(np.array([3.0, 50.0]), (2.58, 3.75), "L", "Predicting")
    >>> print(caught[0].message)
    Predicting at L=50, 46.2 above the fitted range [2.58, 3.75] (1.17 wide): ...
    """
    lo, hi = (float(v) for v in fitted)
    width = hi - lo
    excess = np.maximum(values - hi, lo - values)
    i = int(np.argmax(excess)) if np.size(excess) else 0
    if np.size(excess) and excess[i] > max(width, 0.0):
        side = "above" if values[i] > hi else "below"
        _warn(
            f"{what} at {name}={values[i]:.4g}, {excess[i]:.3g} {side} the fitted range "
            f"[{lo:.4g}, {hi:.4g}] ({width:.3g} wide): the fit saw nothing there, and its "
            "form this far out is a scenario, not a measurement.",
            ExtrapolationWarning,
        )


#: A number written with thousands separators ("20,145,495"), and one with a decimal comma.
THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+([eE][+-]?\d+)?")


def numeric_column(df: pd.DataFrame, col: str, role: str, positive: bool = True) -> np.ndarray:
    """Return a float column, raising a DataError for strings, NaN, inf and non-positive values.

    The error names the column, its role and the rows, with the fix (for the command line too).

    ``positive=False`` accepts any finite value (inputs such as the annealing area, which enter
    the law linearly).
    """
    s = df[col]
    if pd.api.types.is_complex_dtype(s):  # float() would keep the real part, with a warning
        raise DataError(
            f"Column {col!r} ({role}) holds complex numbers (e.g. {s.iloc[0]}); give real numbers.",
            column=col,
        )
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        coerced = pd.to_numeric(s, errors="coerce")
        bad = s[coerced.isna() & s.notna()]
        if bad.empty and not pd.api.types.is_bool_dtype(s):  # numbers stored as text or objects
            problem = (
                f"Column {col!r} ({role}) holds numbers stored as {s.dtype} (e.g. "
                f"{str(s.iloc[0])!r}), not a numeric column."
            )
            raise DataError(
                f"{problem} Convert it: df[{col!r}] = df[{col!r}].astype(float).",
                column=col,
                command_line=f"{problem} Write plain numbers in the file's column {col!r}.",
            )
        example = bad.iloc[0] if len(bad) else s.iloc[0]
        text = str(example).strip()
        if pd.api.types.is_bool_dtype(s) or isinstance(example, bool | np.bool_):
            fix = "It holds true/false values: is it the column you meant for this role?"
            file_fix = fix
        elif THOUSANDS.fullmatch(text):
            file_fix = (
                "Write the numbers without thousands separators (e.g. "
                f"{text.replace(',', '')}) in the file."
            )
            fix = f"{file_fix[:-1]}, or in Python read it with pd.read_csv(..., thousands=',')."
        elif DECIMAL_COMMA.fullmatch(text):
            file_fix = f"Write decimal points (e.g. {text.replace(',', '.')}) in the file."
            fix = (
                f"{file_fix[:-1]}, or in Python read it with pd.read_csv(..., decimal=',') (and "
                "sep=';' where semicolons separate the fields)."
            )
        else:
            file_fix = "Fix those entries in the file."
            fix = (
                "Fix those entries in the table (in Python, then "
                f"df[{col!r}] = pd.to_numeric(df[{col!r}]))."
            )
        row = bad.index[0] if len(bad) else s.index[0]
        problem = (
            f"Column {col!r} ({role}) must be numeric but holds non-numeric values such as "
            f"{str(example)!r} (row {row!r})."
        )
        raise DataError(
            f"{problem} {fix}",
            column=col,
            rows=list(bad.index[:5]) if len(bad) else [row],
            command_line=f"{problem} {file_fix}",
        )
    v = s.to_numpy(dtype=float)
    nan = np.isnan(v)
    if nan.any():
        rows = list(s.index[nan][:5])
        problem = (
            f"Column {col!r} ({role}) has {int(nan.sum())} missing (NaN) value(s), e.g. at rows "
            f"{rows}. bayescale never drops rows itself:"
        )
        raise DataError(
            f"{problem} drop or fill them explicitly, e.g. df.dropna(subset=[{col!r}]).",
            column=col,
            rows=rows,
            command_line=f"{problem} fill in or delete those rows of the file.",
        )
    inf = np.isinf(v)
    if inf.any():
        rows = list(s.index[inf][:5])
        raise DataError(
            f"Column {col!r} ({role}) has {int(inf.sum())} infinite value(s), e.g. at rows "
            f"{rows}. Remove or correct those rows before fitting.",
            column=col,
            rows=rows,
        )
    nonpos = v <= 0
    if positive and nonpos.any():
        rows = list(s.index[nonpos][:5])
        raise DataError(
            f"Column {col!r} ({role}) must be > 0 (its logarithm is taken) but "
            f"has {int(nonpos.sum())} value(s) <= 0, e.g. at rows {rows}. Check its units, or "
            "remove those rows explicitly.",
            column=col,
            rows=rows,
        )
    return v


__all__ = [
    "check_design",
    "check_distinct_terms",
    "check_duplicates",
    "check_flops",
    "check_labels",
    "check_metric",
    "check_units",
    "check_unread_input",
    "far_outside",
    "numeric_column",
]
