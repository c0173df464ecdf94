"""The inputs and group labels of a prediction's points, checked where a prediction enters.

Inputs come by name (``N``, ``D``, ``C``, ``step``, ...), by column role (``params``,
``tokens``) or by the fitted table's own column names; they must be finite positive numbers
that broadcast to one flat list of points. A budget ``C`` and one side of the allocation give
the other. Everything else is a group label, read by :mod:`bayescale.assignment`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayescale import arguments
from bayescale.cost import TrainingCost
from bayescale.errors import DataError
from bayescale.laws.base import INPUT_OF_ROLE, INPUTS, Law
from bayescale.sanity import FLOPS_TOLERANCE


def _input_array(value: Any, key: str) -> np.ndarray:
    """Return a prediction input as floats: numbers only (no text, booleans or dates)."""
    raw = value.to_numpy() if isinstance(value, pd.Series | pd.Index) else np.asarray(value)
    if raw.dtype.kind not in "iuf":  # "1e9" would pass float(), as True (1) and dates would
        kind = {
            "b": "booleans",
            "U": "text",
            "S": "text",
            "O": "objects",
            "M": "dates",
            "m": "time spans",
            "c": "complex numbers",
        }.get(raw.dtype.kind, str(raw.dtype))
        if raw.dtype.kind == "O" and arguments.all_numbers(raw):  # mixed Python numbers
            try:
                return raw.astype(float)
            except OverflowError:  # an int past float64's range (10**400)
                raise DataError(
                    f"predict: {key} holds a number too large for float64 (about 1.8e308 at "
                    "most); give it in the law's units."
                ) from None
        raise DataError(
            f"predict: {key} holds {kind}; give numbers (e.g. {key}=7e10 or a list of them)."
        )
    return raw.astype(float)


def _split_points(values: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict]:
    """Split ``predict``'s keyword arguments into inputs (by name or role) and group labels."""
    x: dict[str, np.ndarray] = {}
    groups: dict[str, Any] = {}
    given: dict[str, str] = {}
    for key, val in values.items():
        name = INPUT_OF_ROLE.get(key, key)
        if name in INPUTS:
            if name in given:
                raise ValueError(
                    f"predict: {given[name]!r} and {key!r} both give the input {name}; give it "
                    "once (by name or by column role, not both)."
                )
            given[name] = key
            x[name] = _input_array(val, key)
        else:
            groups[key] = val
    indexed = {k: v.index for k, v in values.items() if isinstance(v, pd.Series | pd.DataFrame)}
    first = next(iter(indexed.items()), None)
    for key, index in indexed.items():
        if first is not None and not index.equals(first[1]):
            raise DataError(
                f"predict: {first[0]!r} and {key!r} are pandas Series whose indexes differ: "
                "pandas would pair their values by label, and predict pairs them by position. "
                "Align them first (e.g. take both from one DataFrame), or pass arrays "
                "(.to_numpy()) in the order you mean."
            )
    # a 0-d DataArray is a scalar: it broadcasts without any pairing to get wrong
    arrays = {k: v for k, v in values.items() if isinstance(v, xr.DataArray) and v.ndim}
    name, one = next(iter(arrays.items()), (None, None))
    for key, array in arrays.items():
        if (
            array.dims != one.dims
            or set(array.indexes) != set(one.indexes)
            or any(not array.indexes[d].equals(one.indexes[d]) for d in array.indexes)
        ):
            raise DataError(
                f"predict: {name!r} and {key!r} are xarray DataArrays whose dims or "
                "coordinates differ: xarray would align or broadcast them by name and label, "
                "and predict pairs their values by position. Align them first "
                "(xr.align(a, b, join='exact')), or pass arrays (.values) in the order you mean."
            )
    return x, groups


def inputs_taken(law: Law) -> frozenset[str]:
    """Return the inputs a prediction takes for a law.

    The law's own inputs; ``N``, ``D`` and ``C`` stand in for one another where the law
    reads ``N`` and ``D``, or ``C`` (a budget and one side of the allocation give the
    other). Any other input is refused: a value the law does not read would be shown
    beside predictions it did not shape.

    Parameters
    ----------
    law : Law
        The fitted law.

    Returns
    -------
    frozenset of str
        The names of the inputs (``"N"``, ``"D"``, ``"C"``, ``"step"``...).

    Examples
    --------
    >>> from bayescale.points import inputs_taken
    >>> sorted(inputs_taken(bs.laws.get("chinchilla")))
    ['C', 'D', 'N']
    """
    reads = set(law.inputs)
    if law.reads_compute:
        reads |= {"N", "D", "C"}
    return frozenset(reads)


def prediction_points(
    values: Mapping[str, Any], *, law: Law, cost: TrainingCost, columns: Mapping[str, str] | None
) -> tuple[dict[str, np.ndarray], dict[str, Any], int]:
    """Validate a prediction's keyword arguments: ``(inputs, group labels, points)``.

    Inputs come back as flat arrays of one length ``m`` (``C = k N D`` added where the law
    reads ``C``); labels as given.

    Parameters
    ----------
    values : dict
        Inputs by name or column role and group labels by column, as ``post.predict`` takes
        them.
    law : Law
        The fitted law (the inputs it reads).
    cost : TrainingCost
        The fit's FLOPs count (``C = k N D``).
    columns : dict or None
        The fitted table's column names by role (``Model(columns=...)``): a prediction may
        name an input by its column.

    Returns
    -------
    tuple
        ``(x, groups, m)``: the inputs broadcast to flat arrays, the labels, the number of
        points.

    Raises
    ------
    ValueError
        When an input of the law is missing, or one is given both by name and by column
        role.
    DataError
        When inputs do not broadcast, or are not finite and positive.

    Examples
    --------
    >>> from bayescale.points import prediction_points
    >>> values = dict(params=[1e8, 2e8], tokens=2e9, family="f1")
    >>> where = dict(law=bs.laws.get("chinchilla"), cost=bs.TrainingCost(), columns=None)
    >>> x, groups, m = prediction_points(values, **where)
    >>> x["D"], groups, m
    (array([2.e+09, 2.e+09]), {'family': 'f1'}, 2)
    """
    # the fitted table's own names for the inputs (columns={"params": "N_params"}) too
    named = {
        c: r
        for r, c in (columns or {}).items()
        if r in INPUT_OF_ROLE and c not in INPUT_OF_ROLE and c not in INPUTS
    }
    twice = [k for k in values if k in named and named[k] in values]
    if twice:
        raise ValueError(
            f"predict: {twice[0]!r} and {named[twice[0]]!r} both give the input "
            f"{INPUT_OF_ROLE[named[twice[0]]]}; give it once."
        )
    x, groups = _split_points({named.get(k, k): v for k, v in values.items()})
    reads = set(law.inputs)
    if "C" in reads and "C" not in x and {"N", "D"} <= set(x):
        x["C"] = cost.flops(x["N"], x["D"])
    if "C" in x and {"N", "D"} <= reads and len({"N", "D"} & set(x)) == 1:
        given, other = ("N", "D") if "N" in x else ("D", "N")
        try:  # a budget and one side of the allocation: the other follows
            x[other] = cost.tokens(x["C"], x[given])
        except ValueError:
            raise DataError(
                f"predict: C and {given} of shapes {np.shape(x['C'])} and "
                f"{np.shape(x[given])} do not broadcast together; give scalars or arrays of "
                "one length."
            ) from None
    missing = [k for k in law.inputs if k not in x]
    if missing:
        names = ", ".join(f"{k} (or {INPUTS[k]})" for k in missing)
        tail = f"the {law.name} law, which reads {', '.join(law.inputs)}"
        budget = " (a budget C stands in for N or D given the other)" if {"N", "D"} <= reads else ""
        raise DataError(
            f"predict needs {names} for {tail}{budget}.",
            command_line="predict needs "
            + ", ".join(
                f"--{k}" if k in ("N", "D", "C") else f"a --points file's column {INPUTS[k]!r}"
                for k in missing
            )
            + f" for {tail}{budget.replace('C', '--C').replace(' N or D', ' --N or --D')}.",
        )
    takes = inputs_taken(law)
    unread = [k for k in x if k not in takes]
    if unread:  # shown beside predictions it did not shape
        raise DataError(
            f"predict: the {law.name} law reads {', '.join(law.inputs)}, not "
            f"{', '.join(unread)}: drop {', '.join(f'{k}=' for k in unread)}."
        )
    try:
        shaped = np.broadcast_arrays(*x.values())
    except ValueError:
        shapes = {k: np.shape(v) for k, v in x.items()}
        raise DataError(
            f"predict: inputs of shapes {shapes} do not broadcast together; give scalars or "
            "arrays of one length."
        ) from None
    if shaped[0].ndim > 1:  # a grid: its points would come back flattened, unlabelled
        shapes = {k: np.shape(v) for k, v in x.items() if np.ndim(v) > 1}
        raise DataError(
            f"predict: inputs of shapes {shapes}; give scalars or flat lists (one value per "
            "point). For a grid, pass its flattened coordinates (np.ravel) and reshape the "
            "result's point dim."
        )
    x = {k: np.ravel(v) for k, v in zip(x, shaped, strict=True)}
    if not next(iter(x.values())).size:
        raise DataError("predict: the inputs are empty; give at least one point.")
    for k, v in x.items():
        if np.any(~np.isfinite(v)) or (k != "S2" and np.any(v <= 0)):
            raise DataError(f"predict: {k} must be finite and > 0.")
    if {"N", "D", "C"} <= set(x):  # C sizes the extrapolation error: it must be k N D
        implied = cost.flops(x["N"], x["D"])
        off = np.abs(np.log(x["C"] / implied)) > np.log1p(FLOPS_TOLERANCE)
        if np.any(off):
            i = int(np.argmax(off))
            problem = (
                f"predict: C={x['C'][i]:.4g} disagrees with N={x['N'][i]:.4g} and "
                f"D={x['D'][i]:.4g}, whose {cost.describe()} is {implied[i]:.4g}. Give N "
                "and D alone (C follows), or fit with"
            )
            raise DataError(
                f"{problem} Model(flops_per_param_token=...) if your FLOPs count differs.",
                command_line=f"{problem} `bayescale fit --flops-per-param-token K` if your "
                "FLOPs count differs.",
            )
    m = next(iter(x.values())).shape[0]
    for col, labels in groups.items():
        if np.ndim(labels) > 1:
            raise DataError(
                f"predict: {col} has labels of shape {np.shape(labels)}; give one label, or "
                "a flat list of one per point."
            )
        if np.ndim(labels) == 1 and np.size(labels) not in (1, m):
            raise DataError(
                f"predict: {col} has {np.size(labels)} labels but the inputs give {m} "
                f"point(s); give one label, or one per point."
            )
    return x, groups, m
