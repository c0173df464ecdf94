"""Group labels of a prediction's points as level codes of the fitted terms.

A point's labels name a fitted level, or a new one (its effect drawn from the population) where
the call allows new groups; a term whose columns are not all given is a new group. The codes
are the :class:`~bayescale.prediction.Assignment` the prediction path reads.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from bayescale import arguments
from bayescale.errors import DataError
from bayescale.laws.base import INPUTS
from bayescale.prediction import Assignment
from bayescale.sites import RUN, terms_of
from bayescale.terms import SEP

#: A label part written as an integer is: no leading zeros.
_INTEGER = re.compile(r"[+-]?(0|[1-9]\d*)")


def _label_key(label: str) -> tuple[str, ...]:
    """Return a level label's key up to how its parts are written (``"1.0"``, ``"1"``, ``" 1"``).

    Each ``:``-joined part is stripped, and a part that is a whole number written as Python
    writes an integer or a float (``"1"``, ``"-0"``, ``"1.0"``: what a column of integers or
    floats gives) is that integer, compared exactly. Other text stays text: ``"01"`` (a
    zero-padded id), ``"1.10"`` or ``"1e3"`` (labels a number column does not write).
    """
    key = []
    for part in str(label).split(SEP):
        part = part.strip()
        if _INTEGER.fullmatch(part):
            part = str(int(part))
        else:
            try:
                value = float(part)
            except ValueError:
                value = np.nan
            if np.isfinite(value) and value.is_integer() and str(value) == part.lstrip("+"):
                part = str(int(value))
        key.append(part)
    return tuple(key)


def assign_groups(
    groups: Mapping[str, Any],
    m: int,
    new_groups: bool,
    *,
    effects: Mapping[str, Any],
    inputs: tuple[str, ...],
    fitted_levels: Callable[[str], list[str]],
    has_run: bool,
) -> Assignment:
    """Group levels of ``m`` points from labels by column (``post.predict``'s group labels).

    Parameters
    ----------
    groups : dict
        Labels by group column (and ``run``): a scalar or ``m`` labels each.
    m : int
        Number of points.
    new_groups : bool
        Allow labels not seen in the data (each a new level); otherwise they are an error.
    effects : dict
        The fitted model's effects (``{parameter: terms}``).
    inputs : tuple of str
        The law's inputs (refused as labels: a call that sets the inputs itself takes none).
    fitted_levels : callable
        The fitted levels of a term, or of ``"run"`` (``post.group_labels``).
    has_run : bool
        Whether the fit has a per-run effect.

    Returns
    -------
    Assignment
        Per term the level codes of the points (a new level numbered after the fitted
        ones) and the number of new levels; the same for runs.

    Examples
    --------
    >>> from bayescale.assignment import assign_groups
    >>> effects = bs.Model(effects={"A": "family"}).effects
    >>> where = dict(effects=effects, inputs=("N", "D"), has_run=False)
    >>> levels = {"family": ["f0", "f1", "f2"]}.get
    >>> assign_groups({"family": ["f0", "f2"]}, 2, False, fitted_levels=levels, **where).codes
    {'family': array([0, 2])}
    >>> assign_groups({"family": "f9"}, 1, True, fitted_levels=levels, **where).new_levels
    {'family': 1}
    """
    new_groups = arguments.flag(new_groups, "new_groups")
    terms = terms_of(effects)
    known = {c for t in terms for c in t.columns}
    unknown = set(groups) - known - {RUN}
    as_labels = sorted(unknown & {*inputs, *(INPUTS[k] for k in inputs)})
    if as_labels:  # an input where this call sets the inputs itself (an allocation, a sweep)
        raise DataError(
            f"{', '.join(f'{k}=' for k in as_labels)}: this call sets the law's inputs itself "
            "(it searches or sweeps them), so it takes none by name; drop "
            f"{', '.join(f'{k}=' for k in as_labels)}."
        )
    if unknown:
        head = (
            f"{sorted(unknown)} is neither an input nor a group column of this model; "
            f"inputs are {list(inputs)}, group columns {sorted(known)}."
        )
        fix = (
            "Give --group COLUMN=LABEL for those group columns only."
            if known
            else "This fit has no group effects: leave --group out."
        )
        raise DataError(
            f"{head} (A keyword the call does not take as an option is read as a group "
            "label: check the option's name in the call's signature.)",
            command_line=f"{head} {fix}",
        )
    for c, v in groups.items():
        if pd.isna(np.asarray(v, dtype=object)).any():
            raise DataError(  # read as the text 'None' or 'nan': an unseen group's label
                f"{c}={arguments.shown(v)} has a missing label (None or NaN): give a level "
                f"the fit has seen, or leave {c} out for a new group (the population's "
                "prediction).",
                column=c,
            )
        n = int(np.size(v)) if np.ndim(v) else 1
        if n not in (1, m):
            raise DataError(
                f"{c} has {n} labels for {m} point(s): give one label (a frontier or a "
                "decision is for one group: call it once per label), or one per point "
                "(predict)."
            )
    read = {c for t in terms if all(c in groups for c in t.columns) for c in t.columns}
    unread = sorted(set(groups) - read - {RUN})
    if unread:  # a column only of interactions whose other columns are not given
        need = sorted({o for t in terms if unread[0] in t.columns for o in t.columns} - set(groups))
        raise DataError(
            f"{unread[0]}={groups[unread[0]]!r} labels this model's effects only together "
            f"with {need} (its terms: {[t.name for t in terms if unread[0] in t.columns]}): "
            f"give {', '.join(f'{c}=' for c in need)} too, or leave {unread[0]} out for a "
            "new group.",
            command_line=f"--group {unread[0]}={groups[unread[0]]} labels this model's "
            f"effects only together with {need}: give --group "
            f"{' '.join(f'{c}=LABEL' for c in need)} too, or leave {unread[0]} out.",
        )
    codes, new_levels = {}, {}
    for term in terms:
        if not all(c in groups for c in term.columns):
            continue  # not given: one new level (the population predictive)
        cols = {c: np.broadcast_to(np.asarray(groups[c], dtype=object), (m,)) for c in term.columns}
        labels = [term.label({c: v[i] for c, v in cols.items()}) for i in range(m)]
        codes[term.name], new_levels[term.name] = level_codes(
            term.name, labels, new_groups, fitted_levels(term.name)
        )
    run, new_runs = None, 0
    if RUN in groups:
        if not has_run:
            raise DataError("run= was given but this model has no per-run effect.")
        labels = [str(v) for v in np.broadcast_to(np.asarray(groups[RUN], dtype=object), (m,))]
        run, new_runs = level_codes(RUN, labels, new_groups, fitted_levels(RUN))
    return Assignment(codes, new_levels, run, new_runs)


def level_codes(
    term: str, labels: list[str], new_groups: bool, fitted: list[str]
) -> tuple[np.ndarray, int]:
    """Return the level codes of one term's labels, and how many new levels they hold.

    Parameters
    ----------
    term : str
        The term's name (``"family"``, ``"family:seed"``, ``"run"``).
    labels : list of str
        One label per point.
    new_groups : bool
        Allow labels not seen in the data; otherwise they are an error.
    fitted : list of str
        The term's fitted levels, in the order of their codes.

    Returns
    -------
    tuple
        ``(codes, new)``: a code per point (``len(fitted) + i`` for the ``i``-th new label) and
        the number of new labels.

    Raises
    ------
    DataError
        For an unseen label where ``new_groups`` is false, and for a fitted label written
        another way (``"1.0"`` for ``"1"``), which would otherwise be a new group.

    Examples
    --------
    >>> from bayescale.assignment import level_codes
    >>> level_codes("family", ["f1", "f9", "f9"], True, ["f0", "f1"])
    (array([1, 2, 2]), 1)
    """
    index = {lab: i for i, lab in enumerate(fitted)}
    twins: dict[tuple[str, ...], str] | None = None  # built at the first unseen label
    new: dict[str, int] = {}
    out = np.empty(len(labels), np.int64)
    for i, lab in enumerate(labels):
        if lab in index:
            out[i] = index[lab]
            continue
        if lab in new:
            out[i] = len(fitted) + new[lab]
            continue
        if twins is None:
            twins = {_label_key(lab): lab for lab in fitted}
        twin = twins.get(_label_key(lab))
        if twin is not None:
            problem = (
                f"{term}={lab!r} is not a level seen in the data, but it is the "
                f"fitted level {twin!r} written another way (a number of another type, or "
                "spaces around it):"
            )
            raise DataError(
                f"{problem} give the labels as the fitted table has them (e.g. convert the "
                "column with .astype(int) or .str.strip()), or it would be predicted as a "
                "new group.",
                command_line=f"{problem} write it as the fit has it, {twin!r} (--group "
                + " ".join(
                    shlex.quote(f"{c}={v}")
                    for c, v in zip(term.split(SEP), twin.split(SEP), strict=False)
                )
                + ", or the same in a points file's columns).",
            )
        if not new_groups:
            shown = fitted if len(fitted) <= 20 else [*fitted[:20], "..."]
            problem = f"{term}={lab!r} is not a level seen in the data ({shown})."
            unseen = "to predict for an unseen group (its effect is drawn from the population)"
            raise DataError(
                f"{problem} Pass new_groups=True {unseen}, or fix the label.",
                command_line=f"{problem} Give --new-groups {unseen}, or fix the label.",
            )
        out[i] = len(fitted) + new.setdefault(lab, len(new))
    return out, len(new)
