"""Checks of the public API's numeric arguments, at the boundary.

A probability given as a percentage (``prob=90``), a budget of zero or a loss target of NaN
would otherwise pass into the computation and come back as a wrong answer (``inf``, NaN) or
as an error from deep inside numpy or JAX. Each check returns the value in the form the
caller computes with, or raises ``ValueError`` naming the argument and the fix.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: The largest random seed the API accepts: JAX's keys take a signed 64-bit seed, and fits
#: derive further seeds from it by adding small offsets, which stay below that bound.
MAX_SEED = 2**62


def fitted(post: Any, call: str) -> None:
    """Refuse a first argument that is not a fit (a table or a model where a posterior goes).

    Raises
    ------
    TypeError
        When ``post`` has no prediction path (``post.predictor``).
    """
    if not callable(getattr(post, "predictor", None)):
        if hasattr(post, "loss_posterior") and hasattr(post, "link_posterior"):
            raise TypeError(
                f"{call} takes a one-step fit; a two-step fit's steps are fits of their own: "
                f"{call}(joint.loss_posterior, ...) for the loss law (the frontier and budgets "
                "of the loss), joint.link_posterior for the link."
            )
        raise TypeError(
            f"{call} takes a fit first (the posterior bs.fit returns), got a "
            f"{type(post).__name__}; e.g. post = bs.fit(bs.Model(), runs), then {call}(post, ...)."
        )


def sampled(post: Any, call: str) -> None:
    """Refuse a first argument that holds no posterior draws (a table or a model).

    Raises
    ------
    TypeError
        When ``post`` has no ``tree`` (the fit's ArviZ DataTree).
    """
    if getattr(post, "tree", None) is None:
        raise TypeError(
            f"{call} takes a fit first (the posterior bs.fit returns), got a "
            f"{type(post).__name__}; e.g. post = bs.fit(bs.Model(), runs), then {call}(post, ...)."
        )


def _number(value: Any, name: str) -> float:
    """Return ``value`` as a float, or say that ``name`` needs a number."""
    if isinstance(value, bool | np.bool_) or np.ndim(value) != 0:
        raise ValueError(f"{name}={value!r}: give one number.")
    if isinstance(value, str | bytes | np.str_):  # as count() refuses "3": text is not a number
        raise ValueError(
            f"{name}={value!r}: give a number, not text (float({value!r}) where it was read "
            "from a file)."
        )
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r}: give a number.") from None


def probability(value: Any, name: str = "prob") -> float:
    """Return ``value`` as a float strictly between 0 and 1.

    Parameters
    ----------
    value : float
        The probability (a central interval's level, a quantile, a chance asked for).
    name : str
        The argument's name, for the message.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When ``value`` is not a number in (0, 1); a percentage is named as one.

    Examples
    --------
    >>> probability(0.9)
    0.9
    >>> probability(90)
    Traceback (most recent call last):
    ...
    ValueError: prob=90 must lie strictly between 0 and 1 (a percentage? give 0.9).
    """
    p = _number(value, name)
    if not 0 < p < 1:
        hint = f" (a percentage? give {p / 100:g})" if 1 < p < 100 else ""
        raise ValueError(f"{name}={value!r} must lie strictly between 0 and 1{hint}.")
    return p


def probabilities(values: Sequence[Any], name: str = "levels") -> tuple[float, ...]:
    """Return ``values`` as a non-empty tuple of probabilities (see :func:`probability`)."""
    vals = [values] if np.ndim(values) == 0 else list(values)
    if not vals:
        raise ValueError(f"{name}=[]: give at least one level in (0, 1).")
    return tuple(probability(v, f"{name}[{i}]") for i, v in enumerate(vals))


def finite(value: Any, name: str) -> float:
    """Return ``value`` as a finite float, or raise ``ValueError`` naming ``name``."""
    v = _number(value, name)
    if not np.isfinite(v):
        raise ValueError(f"{name}={value!r} must be finite.")
    return v


def positive(value: Any, name: str) -> float:
    """Return ``value`` as a finite float > 0, or raise ``ValueError`` naming ``name``."""
    v = _number(value, name)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name}={value!r} must be finite and > 0.")
    return v


def non_negative(value: Any, name: str) -> float:
    """Return ``value`` as a finite float >= 0, or raise ``ValueError`` naming ``name``."""
    v = _number(value, name)
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name}={value!r} must be finite and >= 0.")
    return v


def flag(value: Any, name: str) -> bool:
    """Return an on/off option as a ``bool``, refusing anything but ``True`` and ``False``.

    ``"no"``, ``"false"`` and ``0.5`` are true to Python; an option that took them would do
    the opposite of what was meant.

    Raises
    ------
    ValueError
        When ``value`` is not a bool (``numpy.bool_`` is one).

    Examples
    --------
    >>> flag(False, "new_groups")
    False
    >>> flag("no", "new_groups")
    Traceback (most recent call last):
    ...
    ValueError: new_groups='no': give True or False.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name}={value!r}: give True or False.")
    return bool(value)


def count(value: Any, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` >= ``minimum`` (a number of draws, points, grid values).

    Raises
    ------
    ValueError
        When ``value`` is not a whole number (``True``, ``2.5`` and ``"3"`` are refused) or is
        below ``minimum``.

    Examples
    --------
    >>> count(401, "n_grid", minimum=2)
    401
    >>> count(0, "max_draws")
    Traceback (most recent call last):
    ...
    ValueError: max_draws=0: give a whole number >= 1.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    whole = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if not whole and isinstance(value, float | np.floating) and float(value).is_integer():
        whole = True
    if not whole or value < minimum:
        raise ValueError(f"{name}={value!r}: give a whole number >= {minimum}.")
    return int(value)


def resolvable(value: float, n_draws: int, name: str, central: bool = False) -> float:
    """Return ``value``, a probability, where its tail holds at least one of ``n_draws`` draws.

    A quantile or an interval's level whose tail holds less than one draw is read from the
    sample's most extreme draw, whatever the level asked for.

    Parameters
    ----------
    value : float
        The probability (checked by :func:`probability` first).
    n_draws : int
        The fit's draws, all chains together.
    name : str
        The argument's name, for the message.
    central : bool
        ``value`` is a central interval's level (each tail ``(1 - value) / 2``), not a
        quantile (the smaller tail of ``value`` and ``1 - value``).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When the tail holds less than one draw.

    Examples
    --------
    >>> resolvable(0.9, 4000, "quantile")
    0.9
    >>> resolvable(1e-9, 4000, "quantile")
    Traceback (most recent call last):
    ...
    ValueError: quantile=1e-09 leaves 4e-06 of the fit's 4000 draws beyond it: ...
    """
    tail = (1 - value) / 2 if central else min(value, 1 - value)
    if tail * n_draws < 1 - 1e-9:  # (1 - 0.9) / 2 * 20 is 0.9999999999999998
        if central:
            span = f"at most {1 - 2 / n_draws:.5g}"
        else:
            span = f"from {1 / n_draws:.3g} to {1 - 1 / n_draws:.5g}"
        raise ValueError(
            f"{name}={value:.10g} leaves {tail * n_draws:.3g} of the fit's {n_draws} draws beyond "
            "it: it would be read from the most extreme draw, whatever the level. Give "
            f"{name} {span}, or fit with at least {np.ceil(1 / tail - 1e-9):.3g} draws in all "
            "(chains x draws)."
        )
    return value


def whole(value: Any, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` >= ``minimum``, refusing a float even when whole.

    For settings that are counts by nature (chains, draws, tree depths), where ``2.0`` or
    ``5.5`` is a mistake rather than a number to round; numpy's integers are taken as ``int``
    (they would not write to a fit's JSON settings).

    Raises
    ------
    ValueError
        When ``value`` is not an integer (a float, text, a bool) or is below ``minimum``.

    Examples
    --------
    >>> whole(np.int64(3), "draws")
    3
    >>> whole(2.0, "chains")
    Traceback (most recent call last):
    ...
    ValueError: chains=2.0 must be a whole number >= 1.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    integer = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if not integer or value < minimum:
        raise ValueError(f"{name}={value!r} must be a whole number >= {minimum}.")
    return int(value)


def counts(value: Any, name: str, example: str) -> tuple[int, ...]:
    """Return one whole number >= 1, or a sequence of distinct ones, as a tuple of ints.

    For the counts a call runs one case per value of (``ks``, ``held_out``): a repeated value
    would run its case twice, or be dropped.

    Raises
    ------
    ValueError
        When ``value`` is text, empty, holds a value :func:`whole` refuses, or repeats one.

    Examples
    --------
    >>> counts(2, "ks", "(1, 2)"), counts([1, np.int64(3)], "ks", "(1, 2)")
    ((2,), (1, 3))
    >>> counts((1, 1), "ks", "(1, 2)")
    Traceback (most recent call last):
    ...
    ValueError: ks=(1, 1) gives 1 twice; give each once, e.g. ks=(1, 2).
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, str | bytes) or not (
        isinstance(value, Sequence | np.ndarray | int | np.integer) or np.isscalar(value)
    ):
        raise ValueError(
            f"{name}={value!r}; give a whole number or a sequence of them, e.g. {name}={example}."
        )
    values = list(value) if isinstance(value, Sequence | np.ndarray) else [value]
    if not values:
        raise ValueError(f"{name} is empty; give at least one whole number, e.g. {name}={example}.")
    out = tuple(whole(v, name) for v in values)
    twice = sorted({k for k in out if out.count(k) > 1})
    if twice:
        raise ValueError(
            f"{name}={value!r} gives {twice[0]} twice; give each once, e.g. {name}={example}."
        )
    return out


def seed(value: Any, name: str = "seed") -> int:
    """Return a random seed as an ``int`` in ``[0, MAX_SEED]``.

    Raises
    ------
    ValueError
        When ``value`` is not a whole number in that range (JAX would fail on a seed past 64
        bits with an ``OverflowError`` from deep inside it).

    Examples
    --------
    >>> seed(2**64)
    Traceback (most recent call last):
    ...
    ValueError: seed=18446744073709551616: give an int from 0 to 4611686018427387904.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    whole = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if not whole or not 0 <= value <= MAX_SEED:
        raise ValueError(f"{name}={value!r}: give an int from 0 to {MAX_SEED}.")
    return int(value)


def derived_seed(seed: int, offset: int) -> int:
    """Return the seed ``offset`` steps after ``seed``, wrapped into ``[0, MAX_SEED]``.

    Fits derive seeds of their own (a refit, prior draws) from the one they were given; near
    :data:`MAX_SEED` an offset would otherwise leave the range the checks accept.

    Examples
    --------
    >>> derived_seed(3, 1), derived_seed(MAX_SEED, 1)
    (4, 0)
    """
    return (int(seed) + int(offset)) % (MAX_SEED + 1)


def names(value: Any, name: str = "var_names") -> list[str] | None:
    """Return a selection of quantities as a list of names (``None``: the call's default).

    Raises
    ------
    ValueError
        When the selection is empty (it would select nothing, and the calls read an empty
        selection as everything), or is not text or a sequence of text.

    Examples
    --------
    >>> names("alpha"), names(["E", "A"]), names(None)
    (['alpha'], ['E', 'A'], None)
    >>> names([])
    Traceback (most recent call last):
    ...
    ValueError: var_names=[]: name at least one quantity, or leave var_names out for the default.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise ValueError(f"{name}={value!r}: give a name or a list of names.")
    out = list(value)
    if not out:
        raise ValueError(
            f"{name}={value!r}: name at least one quantity, or leave {name} out for the default."
        )
    bad = [v for v in out if not isinstance(v, str)]
    if bad:
        raise ValueError(f"{name} holds {bad[0]!r}, not a name: give the quantities' names.")
    return out


def rounding(value: Any, name: str = "round_to") -> int | str:
    """Return a summary's rounding as ArviZ reads it, refusing one it would ignore.

    ArviZ rounds to a number of decimals (an int), to significant digits (``"3g"``), as its
    ``stats.round_to`` setting says (``"auto"``, or ``None``, returned as ``"auto"``), or not
    at all (``"none"``); any other value leaves the numbers unrounded without a word.

    Raises
    ------
    ValueError
        When ``value`` is none of those.

    Examples
    --------
    >>> rounding(2), rounding("3g"), rounding("none")
    (2, '3g', 'none')
    >>> rounding("x")
    Traceback (most recent call last):
    ...
    ValueError: round_to='x': give decimals (2), significant digits ('3g'), 'auto' or 'none'.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if value is None:  # ArviZ's None: its stats.round_to setting
        return "auto"
    if isinstance(value, str) and (
        value in ("none", "None", "auto") or (value[:-1].isdigit() and value.endswith("g"))
    ):
        return value
    raise ValueError(
        f"{name}={value!r}: give decimals (2), significant digits ('3g'), 'auto' or 'none'."
    )


def all_numbers(values: Any) -> bool:
    """Return whether every entry of ``values`` is a real number (not a bool, text or date).

    Examples
    --------
    >>> all_numbers([1, 2.5, np.float32(3)]), all_numbers([1e9, True]), all_numbers("1e9")
    (True, False, False)
    """
    try:
        flat = np.asarray(values, dtype=object).ravel()
    except ValueError:  # a ragged list
        return False
    return all(
        isinstance(v, numbers.Real | np.integer | np.floating)
        and not isinstance(v, bool | np.bool_)
        for v in flat
    )


def shown(values: Any) -> str:
    """Return ``repr(values)``, or of a column or long list its first entries (for a message).

    Examples
    --------
    >>> shown(3.0), shown(np.arange(6.0))
    ('3.0', '[0.0, 1.0, 2.0, ...] (6 values)')
    """
    if hasattr(values, "tolist") and np.ndim(values) > 0:  # a Series: its repr runs to lines
        values = values.tolist()
    if isinstance(values, list | tuple) and len(values) > 3:
        return f"[{', '.join(map(repr, values[:3]))}, ...] ({len(values)} values)"
    return repr(values)


def budgets(
    compute: Any,
    name: str = "compute",
    what: str = "budget in FLOP",
    unique: bool = False,
    repeat: str = "is the same answer again, apart from the draws of its noise",
) -> np.ndarray:
    """Return budgets in FLOP as a non-empty 1-D float array, each finite and > 0.

    ``what`` names one value in the messages (``"model size N"`` for a column of sizes).
    ``unique``: refuse a value given twice (a frontier's budgets label its rows); ``repeat``
    says, for the message, what a repeated one would do.

    Raises
    ------
    ValueError
        When a budget is not a number, is not finite or > 0, when none is given, or when they
        are not a number or a flat list of numbers.
    """
    listed = isinstance(compute, list | tuple)  # [1e20, True] would read as float
    try:
        kind = np.asarray(compute, dtype=object if listed else None).dtype.kind
    except ValueError:  # a ragged list
        kind = "O"
    if kind not in "iuf" and not all_numbers(compute):
        raise ValueError(
            f"{name}={shown(compute)}: give numbers (each a {what}), not text or True."
        )
    try:
        c = np.atleast_1d(np.asarray(compute, dtype=float))
    except OverflowError:
        raise ValueError(
            f"{name}={shown(compute)}: a {what} too large for float64 (about 1.8e308 at most)."
        ) from None
    except (TypeError, ValueError):
        raise ValueError(f"{name}={shown(compute)}: give numbers.") from None
    if c.ndim != 1:
        raise ValueError(f"{name} has shape {c.shape}: give one {what} or a flat list of them.")
    if c.size == 0:
        raise ValueError(f"{name} is empty: give at least one {what}.")
    if np.any(~np.isfinite(c)) or np.any(c <= 0):
        raise ValueError(f"{name} must be finite and > 0 (got {c[~(np.isfinite(c) & (c > 0))]}).")
    if unique:
        values, counts = np.unique(c, return_counts=True)
        if np.any(counts > 1):
            raise ValueError(
                f"{name} gives {values[counts > 1][0]:g} {counts[counts > 1][0]} times: give "
                f"each {what} once (a repeated one {repeat})."
            )
    return c


def not_a_folder(path: Any, example: str) -> Path:
    """Return ``path`` as a Path (``~`` expanded), refusing a folder (or a trailing slash).

    Raises
    ------
    TypeError
        When ``path`` is not a str or path-like.
    ValueError
        When ``path`` names a folder; the message suggests ``<path>/<example>``.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"path={path!r}: give the path of a file (a str or pathlib.Path), e.g. {example!r}."
        )
    if str(path).endswith(("/", "\\")) or Path(path).expanduser().is_dir():
        raise ValueError(
            f"path={str(path)!r} is a folder; give a file, e.g. {str(Path(path) / example)!r}."
        )
    return Path(path).expanduser()  # '~/fit.nc' is the home folder's, as a shell reads it


__all__ = [
    "MAX_SEED",
    "all_numbers",
    "budgets",
    "count",
    "counts",
    "derived_seed",
    "finite",
    "fitted",
    "non_negative",
    "not_a_folder",
    "positive",
    "probabilities",
    "probability",
    "sampled",
    "seed",
    "whole",
]
