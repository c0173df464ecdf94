"""Validation of long-format run tables into arrays plus coords.

One row per run or checkpoint. Columns are found by role: ``params`` (N), ``tokens`` (D),
``flops`` (C, default ``k N D`` with the model's :class:`~bayescale.cost.TrainingCost`),
``loss``, optional ``step`` and ``run``, plus any grouping
column named in the model's effects. Every problem is reported with the column and the fix;
no row is ever dropped here.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayescale.cost import DEFAULT_COST, TrainingCost
from bayescale.errors import DataError
from bayescale.laws.base import INPUTS, LINEAR_INPUTS, Scale
from bayescale.sanity import (
    check_design,
    check_duplicates,
    check_flops,
    check_labels,
    check_metric,
    check_units,
    check_unread_input,
    numeric_column,
)
from bayescale.terms import SEP, Term

#: Default column name of every role.
DEFAULT_COLUMNS: dict[str, str] = {
    "params": "params",
    "tokens": "tokens",
    "flops": "flops",
    "loss": "loss",
    "step": "step",
    "run": "run",
    "unique_tokens": "unique_tokens",
    "upstream_loss": "upstream_loss",
    "lr_area": "lr_area",
    "anneal_area": "anneal_area",
}
#: Tokens per unique token up to which a row counts as one epoch (``D <= 1.05 U``) for the
#: check that the loss falls with compute.
SINGLE_EPOCH = 1.05


@dataclass(frozen=True)
class Grouping:
    """Integer codes of one group term and the labels they index."""

    term: Term
    codes: np.ndarray
    labels: tuple[str, ...]

    @property
    def size(self) -> int:
        """Number of levels."""
        return len(self.labels)

    def subset(self, rows: np.ndarray) -> Grouping:
        """Return the grouping of ``rows`` only: the levels present, relabelled in their order."""
        present, codes = np.unique(self.codes[rows], return_inverse=True)
        return Grouping(self.term, codes.astype(np.int32), tuple(self.labels[i] for i in present))


@dataclass(frozen=True)
class ScalingData:
    """A validated table: raw inputs, the loss, group codes, and the scale used for centring.

    ``groups`` maps each term's name (``"family:seed"``) to its :class:`Grouping`; ``run`` is
    the per-run grouping of checkpoints (``None`` when every row is its own run).
    """

    x: dict[str, np.ndarray]
    loss: np.ndarray
    groups: dict[str, Grouping]
    run: Grouping | None
    index: pd.Index
    columns: dict[str, str]
    scale: Scale

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.loss.shape[0])

    def fingerprint(self) -> str:
        """Return a fingerprint of what a fit reads: inputs, losses, groups and runs.

        Two tables with the same fingerprint give a fit the same rows, whatever else they hold
        (columns it does not read, the row labels).

        Returns
        -------
        str
            A SHA-1 hex digest.

        Examples
        --------
        >>> data = bs.Model().prepare(runs)
        >>> data.fingerprint() == bs.Model().prepare(runs.assign(note="x")).fingerprint()
        True
        >>> data.fingerprint() == bs.Model().prepare(runs.iloc[1:]).fingerprint()
        False
        """
        h = hashlib.sha1()
        for name in sorted(self.x):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.x[name], float).tobytes())
        h.update(np.ascontiguousarray(self.loss, float).tobytes())
        groups = sorted(self.groups.items()) + ([("run", self.run)] if self.run is not None else [])
        for name, g in groups:
            h.update(name.encode())
            h.update(np.ascontiguousarray(g.codes).tobytes())
            h.update("\x1f".join(map(str, g.labels)).encode())
        return h.hexdigest()

    def rows_fingerprint(self) -> str:
        """Return a fingerprint of the rows a law reads, in any order: inputs, losses and runs.

        Unlike :meth:`fingerprint` it leaves out the group effects (a model's choice, not the
        table's) and the order of the rows, so a backtest of a table (its ``table`` column)
        matches every fit of that table, whatever its effects.

        Returns
        -------
        str
            A SHA-1 hex digest.

        Examples
        --------
        >>> data = bs.Model().prepare(runs)
        >>> data.rows_fingerprint() == bs.Model().prepare(runs[::-1]).rows_fingerprint()
        True
        >>> data.rows_fingerprint() == bs.Model(effects={"E": "family"}).prepare(
        ...     family_runs
        ... ).rows_fingerprint()
        False
        """
        table = pd.DataFrame({**{k: self.x[k] for k in sorted(self.x)}, "loss": self.loss})
        if self.run is not None:
            table["run"] = np.asarray(self.run.labels, dtype=object)[self.run.codes]
        table = table.sort_values(list(table.columns), kind="mergesort", ignore_index=True)
        h = hashlib.sha1()
        for name, values in table.items():
            h.update(str(name).encode())
            if name == "run":
                h.update("\x1f".join(map(str, values)).encode())
            else:
                h.update(np.ascontiguousarray(values.to_numpy(float)).tobytes())
        return h.hexdigest()

    def subset(self, rows: np.ndarray) -> ScalingData:
        """Return the table restricted to ``rows`` (a boolean mask), as :func:`prepare` gives it.

        Groups keep only the levels present (in their order), and the centring scale is
        recomputed from the kept rows.
        """
        rows = np.asarray(rows, bool)
        x = {k: v[rows] for k, v in self.x.items()}
        loss = self.loss[rows]
        return ScalingData(
            x=x,
            loss=loss,
            groups={t: g.subset(rows) for t, g in self.groups.items()},
            run=None if self.run is None else self.run.subset(rows),
            index=self.index[rows],
            columns=self.columns,
            scale=scale_of(x, loss),
        )


def scale_of(x: Mapping[str, np.ndarray], loss: np.ndarray) -> Scale:
    """Return a table's centring scale: geometric means of the inputs, typical and least loss."""
    log_ref = {
        k: float(np.mean(np.log(v))) if np.all(v > 0) else float(np.log(np.mean(np.abs(v)) + 1e-12))
        for k, v in x.items()
    }
    return Scale(
        log_ref=log_ref,
        loss=float(np.median(loss)),
        loss_min=float(np.min(loss)),
        x_min={k: float(np.min(v)) for k, v in x.items()},
    )


def compute_of(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    cost: TrainingCost = DEFAULT_COST,
    inputs: Sequence[str] = ("N", "D"),
) -> np.ndarray:
    """Training compute of every row, as a fit with these ``inputs`` defines it.

    A law that reads ``C`` reads the ``flops`` column where the table has one; for every other
    law compute is the training cost's ``k N D`` (a ``flops`` column is then not used by the
    fit, so neither is it here).

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    columns : dict, optional
        Column name of each role where it differs from the default (a model's ``columns``).
    cost : TrainingCost
        The training cost (a model's ``cost``).
    inputs : sequence of str
        The law's inputs.
    """
    cols = {**DEFAULT_COLUMNS, **dict(columns or {})}
    if "C" in inputs and cols["flops"] in df:
        return df[cols["flops"]].to_numpy(float)
    return cost.flops(df[cols["params"]].to_numpy(float), df[cols["tokens"]].to_numpy(float))


def _check_compute(
    compute: np.ndarray, df: pd.DataFrame, cols: Mapping[str, str], cost: TrainingCost
) -> None:
    """Refuse rows whose training compute ``cost.flops(N, D)`` float64 cannot hold.

    Every law of ``N`` and ``D`` is extrapolated and plotted in compute; inputs near the limits
    of float64 (1e-293 parameters) fit, and then fail at the first step that needs compute.
    """
    bad = ~np.isfinite(compute) | (compute <= np.finfo(float).tiny)
    if bad.any():
        rows = list(df.index[bad][:5])
        raise DataError(
            f"Columns {cols['params']!r} and {cols['tokens']!r} give a training compute "
            f"({cost.describe()}) that float64 cannot hold (0 or inf) at {int(bad.sum())} "
            f"row(s), e.g. rows {rows}. Check their units: parameters and tokens, not powers "
            "of ten or values scaled by an extreme factor.",
            rows=rows,
        )


def check_mapped_columns(
    df: pd.DataFrame, columns: Mapping[str, str] | None, inputs: Sequence[str]
) -> None:
    """Refuse a table that lacks a column the model's ``columns`` mapping names.

    A role the law does not need (``run``, ``step``, ``flops``; compute, which a law of ``C``
    computes as ``k N D`` without it) is read only where the table has its column, so a
    misspelt name would switch it off silently (``run="run_ID"``: no per-run effect,
    intervals too narrow). The roles :func:`prepare` needs are refused there, with their own
    hint. Checked where a fit starts; a table rebuilt from a
    fit (:meth:`~bayescale.posterior.ScalingPosterior.fitted_table`) holds only what the fit
    read, and is not checked.

    Parameters
    ----------
    df : pandas.DataFrame
        The table a fit is asked to fit.
    columns : mapping, optional
        Column name of each role (a model's ``columns``).
    inputs : sequence of str
        The law's inputs.

    Raises
    ------
    DataError
        Naming the first role whose column is missing.

    Examples
    --------
    >>> from bayescale.data import check_mapped_columns
    >>> check_mapped_columns(runs, {"run": "run_ID"}, ("N", "D"))
    Traceback (most recent call last):
    ...
    bayescale.errors.DataError: Column 'run_ID', given for the role 'run' ...
    """
    needed = {INPUTS[k] for k in inputs if k != "C"} | {"loss"}
    absent = {
        role: c for role, c in (columns or {}).items() if role not in needed and c not in df.columns
    }
    if absent:
        role, column = next(iter(absent.items()))
        raise _mapped_column_missing(df, column, role, " or leave the role out.")


def _did_you_mean(present: list[str], col: str) -> str:
    """Name a column that differs from ``col`` only in case or surrounding spaces, if any."""
    near = [c for c in present if c.strip().casefold() == col.strip().casefold()]
    return f" Did you mean {near[0]!r}? Names are matched exactly." if near else ""


def _mapped_column_missing(df: pd.DataFrame, col: str, role: str, tail: str) -> DataError:
    """Return the error for a column that a ``columns=`` mapping names and the table lacks."""
    present = list(map(str, df.columns))
    maybe = _did_you_mean(present, col)
    rest = f"is not in the table. Columns present: {present}.{maybe} Check its spelling,{tail}"
    return DataError(
        f"Column {col!r}, given for the role {role!r} (columns={{{role!r}: {col!r}}}), " + rest,
        column=col,
        command_line=f"Column {col!r}, given for the role {role!r} (--columns "
        f"{shlex.quote(f'{role}={col}')}), {rest}",
    )


def _require(df: pd.DataFrame, col: str, role: str, hint: str = "") -> None:
    if col in df.columns:
        return
    if col != DEFAULT_COLUMNS.get(role, col):  # the user's mapping names it: say so
        raise _mapped_column_missing(df, col, role, f" or map the role to another column.{hint}")
    present = list(map(str, df.columns))
    maybe = _did_you_mean(present, col)
    problem = f"Missing column {col!r} for {role}. Columns present: {present}.{maybe} Rename "
    problem += "yours or map it with"
    raise DataError(
        f"{problem} columns={{{role!r}: '<your column>'}}.{hint}",
        column=col,
        command_line=f"{problem} --columns {role}=COLUMN.{hint}",
    )


#: A number inside a group label: digits, with a decimal part and an exponent where written.
_NUMBER = r"(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"


def level_order(labels: Iterable[str]) -> list[str]:
    """Sort a group's distinct labels as a reader counts them.

    Labels that all read as numbers (seeds ``0, 1, ..., 12``; learning rates ``3e-4``,
    ``0.001``) sort by value; other labels by their text with each number in it read as a
    number (digits, with a decimal part and an exponent where written), so ``f2`` comes before
    ``f10`` (text order puts it after). Ties (``f2``, ``f02``;
    ``1``, ``1.0``) fall back to text order. Every table, plot and coordinate of a fit lists
    the levels in this order.

    Parameters
    ----------
    labels : iterable of str
        The labels as text (repeats allowed).

    Returns
    -------
    list of str
        The distinct labels, sorted.

    Examples
    --------
    >>> from bayescale.data import level_order
    >>> level_order(["f10", "f2", "f1", "g0", "f2"])
    ['f1', 'f2', 'f10', 'g0']
    >>> level_order(["10", "9", "0.001", "3e-4"])
    ['3e-4', '0.001', '9', '10']
    >>> level_order(["f0:0.001", "f0:3e-4", "f0:0.01"])  # an interaction's numbers by value
    ['f0:3e-4', 'f0:0.001', 'f0:0.01']
    """
    distinct = set(labels)
    try:
        values = {label: float(label) for label in distinct}
    except ValueError:  # not every label is a number
        values = {}
    if values and np.isfinite(list(values.values())).all():
        return sorted(distinct, key=lambda label: (values[label], label))

    def pieces(label: str) -> tuple:  # a number inside a label (f0:0.0003) read as one
        parts = re.split(_NUMBER, label)
        return tuple(
            (0, float(p), "") if re.fullmatch(_NUMBER, p) else (1, 0.0, p) for p in parts if p
        )

    return sorted(distinct, key=lambda label: (pieces(label), label))


def _grouping(df: pd.DataFrame, term: Term, min_levels: int = 2) -> Grouping:
    for c in term.columns:
        _require_group(df, c, term.name)
        check_labels(df, c)
    for c in term.columns if len(term.columns) > 1 else ():  # an interaction's labels join
        joined = df[c].astype(str).str.contains(SEP, regex=False)
        if joined.any():
            example = df[c][joined].iloc[0]
            problem = (
                f"Group column {c!r} has labels containing {SEP!r} (e.g. {str(example)!r}), which "
                f"joins the columns of the interaction {term.name!r}: the levels could not be "
                "read back. Replace it in the labels"
            )
            raise DataError(
                f"{problem}, e.g. df[{c!r}] = df[{c!r}].astype(str).str.replace({SEP!r}, '-').",
                column=c,
                rows=list(df.index[joined][:5]),
                command_line=f"{problem} of the file (e.g. with '-').",
            )
    labels = df[term.columns[0]].astype(str)
    for c in term.columns[1:]:
        labels = labels + SEP + df[c].astype(str)
    uniques = level_order(labels)  # f2 before f10, seed 2 before 10
    codes = pd.Categorical(labels, categories=uniques).codes
    if len(uniques) < min_levels:
        problem = (
            f"Group term {term.name!r} has {len(uniques)} level(s) ({list(uniques)}); a random "
            f"effect needs at least {min_levels}."
        )
        raise DataError(
            f"{problem} Remove {term.name!r} from effects, or add data from other groups.",
            column=term.columns[0] if len(term.columns) == 1 else None,
            command_line=f"{problem} Drop every PARAM={term.name} from --effects (or the "
            "preset's [effects]), or add data from other groups.",
        )
    return Grouping(term, codes.astype(np.int32), tuple(str(u) for u in uniques))


def _require_group(df: pd.DataFrame, col: str, term: str) -> None:
    if col not in df.columns:
        problem = (
            f"Group column {col!r} (used by effect term {term!r}) is missing. Columns present: "
            f"{list(map(str, df.columns))}."
        )
        raise DataError(
            f"{problem} Add it or change the effects.",
            column=col,
            command_line=f"{problem} Add it to the table, or change the effects with --effects "
            "PARAM=GROUP (--effects alone: none, a preset's dropped).",
        )
    if df[col].isna().any():
        rows = list(df.index[df[col].isna()][:5])
        problem = f"Group column {col!r} has missing labels at rows {rows}."
        raise DataError(
            f"{problem} Give every row a label (e.g. df[{col!r}].fillna('unknown')) or drop "
            "those rows explicitly.",
            column=col,
            rows=rows,
            command_line=f"{problem} Give every row of the file a label, or delete those rows.",
        )
    if df[col].dtype == object:
        nested = df[col].map(lambda v: isinstance(v, list | tuple | dict | set | np.ndarray))
        if nested.any():
            rows = list(df.index[nested.to_numpy()][:5])
            raise DataError(
                f"Group column {col!r} holds lists or other containers at rows {rows}; give one "
                "label per row (text or a number), e.g. df[col].map(str) or one column per level.",
                column=col,
                rows=rows,
            )


def _compute_axis(x: Mapping[str, np.ndarray], cost: TrainingCost) -> tuple[str, np.ndarray | None]:
    """Return the axis along which a loss should fall: compute, or the law's one size input."""
    if "C" in x:
        return "compute", x["C"]
    if "N" in x and "D" in x:
        return "compute", cost.flops(x["N"], x["D"])
    sizes = [k for k in ("N", "D", "step") if k in x]
    if len(sizes) == 1 and len(x) == 1:
        return INPUTS[sizes[0]], x[sizes[0]]
    return "compute", None


def _single_epoch(x: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """Rows that see their unique tokens at most once, where the law reads ``U`` (else ``None``).

    Repeating data raises the loss at a fixed budget, so a data-constrained table's loss need
    not fall with compute over all its rows; it should over the single-epoch ones.
    """
    if "U" not in x or "D" not in x:
        return None
    return np.asarray(x["D"], float) <= SINGLE_EPOCH * np.asarray(x["U"], float)


def prepare(
    df: pd.DataFrame,
    inputs: Sequence[str],
    terms: Sequence[Term] = (),
    columns: Mapping[str, str] | None = None,
    run: str | bool | None = None,
    n_parameters: int = 0,
    loss_bounds: tuple[float, float] = (0.0, np.inf),
    cost: TrainingCost = DEFAULT_COST,
    n_law_parameters: int = 0,
) -> ScalingData:
    """Validate ``df`` and turn it into a :class:`ScalingData`.

    Parameters
    ----------
    df : pandas.DataFrame
        Long-format table, one row per run or checkpoint.
    inputs : sequence of str
        Inputs the law reads (``"N"``, ``"D"``, ``"C"``, ``"step"``).
    terms : sequence of Term
        Group terms of the random effects (``Term.parse("family:seed")``).
    columns : dict, optional
        Column name of each role where it differs from the default (``{"params": "N"}``).
    run : str, bool or None
        Column identifying the run of each checkpoint. ``None`` uses the ``run`` column when
        present; ``False`` declares the rows independent runs.
    n_parameters : int
        Number of model parameters; fewer rows than this is an error.
    loss_bounds : tuple of float
        Open interval the loss must lie in.
    cost : TrainingCost
        Training cost: compute ``C = k N D`` where the law reads ``C`` and the table has no
        ``flops`` column.
    n_law_parameters : int
        Number of the law's parameters; fewer distinct points (rows that differ in an input
        or a group label) than this is an error, however many rows repeat them.
    """
    if not isinstance(df, pd.DataFrame):
        hint = " (a file's path? read it first: pd.read_csv(path))" if isinstance(df, str) else ""
        raise DataError(f"Expected a pandas DataFrame, got {type(df).__name__}{hint}.")
    if len(df) == 0:
        raise DataError("The table is empty: there is nothing to fit.")
    if isinstance(df.columns, pd.MultiIndex):
        raise DataError(
            f"The table's columns are a MultiIndex ({df.columns.nlevels} levels): give one row "
            "per run and one level of column names, e.g. df.columns = ['_'.join(map(str, c)) "
            "for c in df.columns], then name the roles with columns=."
        )
    cols = {**DEFAULT_COLUMNS, **(columns or {})}
    may_read = set(cols.values()) | {c for t in terms for c in t.columns}
    may_read |= {run} if isinstance(run, str) else set()
    repeated = sorted(
        {str(c) for c in df.columns[df.columns.duplicated(keep=False)] if c in may_read}
    )
    if repeated:
        raise DataError(
            f"Column name(s) {repeated} appear more than once: bayescale cannot tell which to "
            "read. Rename or drop the copies, e.g. df.loc[:, ~df.columns.duplicated()]."
        )
    unknown_roles = set(columns or {}) - set(DEFAULT_COLUMNS)
    if unknown_roles:
        raise DataError(
            f"Unknown column role(s) {sorted(unknown_roles)}; roles are {list(DEFAULT_COLUMNS)}."
        )
    read_roles = [INPUTS[k] for k in inputs] + ["loss"]
    by_column: dict[str, list[str]] = {}
    for role in read_roles:
        by_column.setdefault(cols[role], []).append(role)
    shared = {c: r for c, r in by_column.items() if len(r) > 1}
    if shared:
        column, roles = next(iter(shared.items()))
        raise DataError(
            f"Column {column!r} is given two roles, {roles}: each role needs its own column. "
            "Check the columns mapping (columns={...} or --columns ROLE=COLUMN)."
        )

    x: dict[str, np.ndarray] = {}
    for name in inputs:
        role = INPUTS[name]
        if name == "C" and cols["flops"] not in df.columns:
            hint = f" (flops defaults to {cost.describe()})"
            _require(df, cols["params"], "params", hint)
            _require(df, cols["tokens"], "tokens", hint)
            continue
        hint = ""
        if name == "D" and cols["flops"] in df.columns:
            hint = (
                f" With only flops, derive tokens = flops / ({cost.k:g} * params) explicitly first."
            )
        _require(df, cols[role], role, hint)
        x[name] = numeric_column(df, cols[role], role, positive=name not in LINEAR_INPUTS)
    if "C" in inputs and "C" not in x:
        with np.errstate(over="ignore", under="ignore"):  # refused just below, naming the fix
            x["C"] = cost.flops(
                numeric_column(df, cols["params"], "params"),
                numeric_column(df, cols["tokens"], "tokens"),
            )
        _check_compute(x["C"], df, cols, cost)
    elif "N" in x and "D" in x:
        with np.errstate(over="ignore", under="ignore"):
            _check_compute(cost.flops(x["N"], x["D"]), df, cols, cost)

    _require(df, cols["loss"], "loss")
    loss_col = df[cols["loss"]]
    if pd.api.types.is_numeric_dtype(loss_col) and not pd.api.types.is_bool_dtype(loss_col):
        vals = loss_col.to_numpy(dtype=float)
        lo, hi = loss_bounds
        out = np.isfinite(vals) & ((vals <= lo) | (vals >= hi))
        if out.any():
            rows = list(df.index[out][:5])
            message = (
                f"Column {cols['loss']!r} (loss) must lie in ({lo}, {hi}) but has "
                f"{int(out.sum())} value(s) outside, e.g. at rows {rows}. Check the metric "
                + (
                    "(the law or scale='logit' reads a share: an accuracy or error rate, not a "
                    "loss or a percentage) "
                    if hi <= 1.0
                    else "(a loss, not an accuracy or a log of it) "
                )
                + "or remove those rows explicitly."
            )
            raise DataError(
                message,
                column=cols["loss"],
                rows=rows,
                command_line=message.replace("scale='logit'", "--scale logit"),
            )
    y = numeric_column(df, cols["loss"], "loss")

    groups = {t.name: _grouping(df, t) for t in terms}

    run_group = None
    run_col = cols["run"] if run is None else (run if isinstance(run, str) else None)
    if run is not False and run_col is not None and run_col in df.columns:
        g = _grouping(df, Term((run_col,)), min_levels=1)
        if g.size < len(df):
            run_group = g
    elif isinstance(run, str):  # named, and missing: the model's run=, not its effects
        raise DataError(
            f"run={run!r} names no column of the table (columns: {list(map(str, df.columns))}): "
            "name the column that labels each row's run, or pass run=False (every row its own "
            "run) or leave run out.",
            column=run,
            command_line=f"--run {run} names no column of the table (columns: "
            f"{list(map(str, df.columns))}): name the column that labels each row's run, or "
            "--run none.",
        )
    if run_group is None and run is None and cols["step"] in df.columns:
        if run_col is not None and run_col in df.columns:  # each run one row here
            problem = (
                f"The table has a {cols['step']!r} column (checkpoints) and its "
                f"{run_col!r} column gives every row a run of its own (one checkpoint per "
                "run), so there is no run effect to fit:"
            )
        else:
            problem = (
                f"The table has a {cols['step']!r} column (checkpoints) but no {cols['run']!r} "
                "column saying which run each checkpoint belongs to. Checkpoints of one run "
                "are not independent:"
            )
        raise DataError(
            f"{problem} pass run='<column>' (adds a per-run effect), or run=False to declare "
            "every row an independent run.",
            column=cols["run"],
            command_line=f"{problem} give --run COLUMN (adds a per-run effect), or --run none "
            "to declare every row an independent run.",
        )

    if len(df) < n_parameters:
        raise DataError(
            f"{len(df)} row(s) for a model with {n_parameters} parameters: too few points for "
            "this law. Add runs, or use a law or effects with fewer parameters."
        )

    distinct = len(
        pd.DataFrame({**x, **{f"group {k}": g.codes for k, g in groups.items()}}).drop_duplicates()
    )
    if distinct < n_law_parameters:
        names = ", ".join(cols[INPUTS[k]] for k in x)
        raise DataError(
            f"{len(df)} row(s) but only {distinct} distinct point(s) in ({names}) for a law with "
            f"{n_law_parameters} parameters: repeated rows cannot pin the law. Add runs at other "
            "sizes or budgets, or use a law with fewer parameters."
        )

    check_units(x, cols)
    check_flops(df, cols, cost, used="C" in inputs and cols["flops"] in df.columns)
    absorbed = [g.codes for g in groups.values()]
    check_unread_input(df, cols, inputs, absorbed + ([run_group.codes] if run_group else []))
    if np.ptp(y) == 0 and len(y) > 1:
        raise DataError(
            f"Column {cols['loss']!r} (loss) takes one value ({y[0]:.4g}) in every row: there is "
            "nothing for a law to fit. Check that the column is the metric you meant."
        )
    axis, along = _compute_axis(x, cost)
    trend = y
    single = _single_epoch(x)
    if single is not None and along is not None:  # repeated epochs: their loss is higher
        if single.any():
            trend, along = y[single], along[single]
        else:  # every run repeats its data: no single-epoch trend to check
            along = None
    check_metric(trend, along, cols["loss"], bounded=loss_bounds[1] <= 1.0, axis=axis)
    read = [cols[INPUTS[k]] for k in inputs if cols[INPUTS[k]] in df.columns]
    read += [cols["loss"], cols["step"]] + [c for t in terms for c in t.columns]
    if run_group is not None:
        read.append(run_group.term.columns[0])
    check_duplicates(df, read)
    check_design(x, cols, n_parameters)

    scale = scale_of(x, y)
    return ScalingData(
        x=x,
        loss=y,
        groups=groups,
        run=run_group,
        index=df.index,
        columns=cols,
        scale=scale,
    )
