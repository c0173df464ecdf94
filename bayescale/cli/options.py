"""The command line's option values.

Argument types that refuse a bad value with the fix, and the model an option set describes.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from bayescale import arguments
from bayescale.defaults import DIGITS
from bayescale.model import Model

#: Figure formats matplotlib writes.
FIGURE_FORMATS = tuple(sorted(Figure().canvas.get_supported_filetypes()))


#: Exit status of a fit that ran but failed a diagnostic.
EXIT_DIAGNOSTICS = 3


#: NUTS warmup steps per chain of ``fit`` unless ``--warmup`` says otherwise.
WARMUP = 1000


#: Fewest draws per chain a command's fit takes (the sampler itself takes 4): R-hat and ESS
#: need a few.
MIN_CLI_DRAWS = 10


#: ``--retry``'s choices, as :func:`bayescale.fit`'s ``retry``.
RETRY = {"auto": None, "always": True, "never": False}


class UsageError(Exception):
    """A mistake in what the command was given (exit status 2)."""


def positive(text: str) -> float:
    """Parse a finite number > 0 (budgets, sizes, token counts)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def probability(text: str) -> float:
    """Parse a number strictly between 0 and 1 (:func:`bayescale.arguments.probability`)."""
    try:  # the command line's text is a number once float() reads it; the library takes numbers
        return arguments.probability(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a probability strictly between 0 and 1, got {text!r} (e.g. 0.9, not 90)"
        ) from None


def at_least(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """Return a parser of an integer >= ``minimum`` (and <= ``maximum``, if given)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            raise argparse.ArgumentTypeError(f"expected a whole number {bound}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


#: Largest random seed of the command line (an unsigned 32-bit integer, as NumPy's and most
#: tools' seeds; the API takes up to :data:`bayescale.arguments.MAX_SEED`).
MAX_SEED = 2**32 - 1


def non_empty(text: str) -> str:
    """Parse a name, path or label that is not empty (an empty one must not mean 'none')."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "got an empty value; give a value (or leave the option out)"
        )
    return text


def key_value(form: str) -> Callable[[str], tuple[str, str]]:
    """Return a parser of ``KEY=VALUE`` pairs (``form`` names the parts in its message)."""

    def parse(text: str) -> tuple[str, str]:
        key, sep, value = text.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise argparse.ArgumentTypeError(f"expected {form}, got {text!r}")
        return key.strip(), value.strip()

    parse.__name__ = form
    return parse


def figure_path(text: str) -> Path:
    """Parse a path whose suffix is a figure format matplotlib writes."""
    suffix = Path(text).suffix.lower().lstrip(".")
    if suffix not in FIGURE_FORMATS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: unknown figure format {suffix or '(none)'!r}; end it in .png, .pdf or "
            f".svg (matplotlib writes {', '.join(FIGURE_FORMATS)})"
        )
    return Path(text)


def effects_from(items: list[tuple[str, str]] | None) -> dict[str, list[str]] | None:
    """``[(param, "g1,g2")]`` as the ``effects`` mapping of :class:`~bayescale.Model`.

    ``None`` where ``--effects`` is not given; ``{}`` (no effects, a preset's dropped) where it is
    given alone.
    """
    if items is None:
        return None
    out: dict[str, list[str]] = {}
    for param, groups in items:
        out.setdefault(param, []).extend(g for g in groups.split(",") if g)
    return out


def build_model(args: argparse.Namespace, **overrides) -> Model:
    """Return the model of ``--preset`` (entries replaced by ``overrides``), else of ``--law``."""
    if args.preset:
        if args.law:
            raise UsageError(
                f"--law {args.law} and --preset {args.preset}: the preset names its own law; give "
                "one of them (or a preset file with the law you want)"
            )
        return Model.from_preset(args.preset, **overrides)
    return Model(law=args.law or "chinchilla", **overrides)


def table_model(args: argparse.Namespace, effects: bool = True) -> Model:
    """Return the model of a command that reads a table (law or preset, columns, effects)."""
    overrides: dict = {}
    columns = column_roles(getattr(args, "columns", None))
    if columns:
        overrides["columns"] = columns
    given = effects_from(args.effects) if effects else None
    if given is not None:  # {}: --effects alone, no effects
        overrides["effects"] = given
    overrides.update(run_option(args))
    return build_model(args, **overrides)


def run_option(args: argparse.Namespace) -> dict:
    """``--run COLUMN|none`` as the model's ``run=`` (nothing where it is not given)."""
    given = getattr(args, "run", None)
    if given is None:
        return {}
    return {"run": False if given.strip().lower() == "none" else given}


def _once_each(
    items: list[tuple[str, str]] | None, twice: Callable[[str, str, str], str]
) -> dict[str, str]:
    """``KEY=VALUE`` pairs as a mapping; a key given two values is refused (``twice`` words it)."""
    out: dict[str, str] = {}
    for key, value in items or []:
        if key in out and out[key] != value:
            raise UsageError(twice(key, out[key], value))
        out[key] = value
    return out


def column_roles(items: list[tuple[str, str]] | None) -> dict[str, str]:
    """``--columns ROLE=COLUMN`` pairs as the model's mapping (each role once)."""
    return _once_each(
        items,
        lambda role, first, then: (
            f"--columns gives the role {role!r} twice ({role}={first} and "
            f"{role}={then}); give each role one column"
        ),
    )


def group_labels(items: list[tuple[str, str]] | None) -> dict[str, str]:
    """``--group COLUMN=LABEL`` pairs as keyword arguments (each column once)."""
    return _once_each(
        items,
        lambda column, first, then: (
            f"--group gives {column!r} twice ({first!r} and {then!r}); give each column one label"
        ),
    )


def command_line_text(e: BaseException) -> str:
    """Return the message of ``e`` as the command line words it (a DataError's own wording)."""
    return getattr(e, "command_line", None) or str(e)


def distinct_digits(values: Sequence[float], digits: int = DIGITS) -> int:
    """Return the significant digits (``digits`` or more) that print ``values`` apart.

    Budgets 1e21 and 1.00001e21 both print as ``1e+21`` at four digits: two rows that look
    the same. Values equal in full are printed alike at any precision.
    """
    distinct = len(set(map(float, values)))
    while digits < 17 and len({f"{v:.{digits}g}" for v in values}) < distinct:
        digits += 1
    return digits


def percent(p: float) -> str:
    """Write a probability as a percentage with the digits it has (90%, 99.9%, not 100%)."""
    return f"{100 * p:.10g}%"


def with_digits(value: float) -> str:
    """Format a number with the package's significant digits (no degenerate interval)."""
    return f"{value:.{DIGITS}g}"
