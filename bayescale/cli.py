"""Command line: ``bayescale fit | summary | predict | frontier | report | backtest | ...``.

The verbs: ``fit``, ``summary``, ``predict``, ``frontier``, ``report``, ``backtest``,
``pooling`` (does pooling help a new group?), ``pool-prior`` (the extrapolation error's prior
across your own ladders or curves) and ``datasets``.

Every mistake (a bad argument, an unreadable file, a table the model cannot fit) exits with
status 2 and one line naming the problem and the fix; a fit that fails its diagnostics exits 3
(``fit``, ``summary``, ``backtest`` and ``pooling`` alike). Set ``BAYESCALE_DEBUG=1`` to see
tracebacks instead.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bayescale import arguments, calibration, compare, datasets, laws, pooling, record
from bayescale.data import DEFAULT_COLUMNS, check_mapped_columns
from bayescale.decisions import decision_table
from bayescale.defaults import DIGITS, MAX_TREE_DEPTH, PROB
from bayescale.diagnostics import format_report, prior_bound_message
from bayescale.errors import (
    ConvergenceWarning,
    DataError,
    DataWarning,
    ExtrapolationWarning,
    HeavyTailWarning,
    PosteriorFileError,
    PriorBoundWarning,
    SamplerEfficiencyWarning,
    SpecificationError,
)
from bayescale.extrapolation import DEFAULT_SCALE as DEFAULT_EXTRAPOLATION_SCALE
from bayescale.fit import METHODS
from bayescale.frontier import frontier
from bayescale.frontier_backtest import frontier_backtest
from bayescale.inference import NutsSettings
from bayescale.laws.base import INPUT_OF_ROLE, INPUTS, LINEAR_INPUTS
from bayescale.model import EXTRAPOLATION_MODES, Model
from bayescale.plotting import plot_fit, plot_frontier, plot_pooling
from bayescale.posterior import ScalingPosterior
from bayescale.report import report
from bayescale.saved import load_posterior
from bayescale.simulate import simulate_ladder
from bayescale.sites import RUN, terms_of

#: Environment variable that turns tracebacks on (for debugging the package itself).
DEBUG_ENV = "BAYESCALE_DEBUG"
#: Figure formats matplotlib writes.
FIGURE_FORMATS = tuple(sorted(Figure().canvas.get_supported_filetypes()))
#: Exit status of a fit that ran but failed a diagnostic.
EXIT_DIAGNOSTICS = 3
#: NUTS warmup steps per chain of ``fit`` unless ``--warmup`` says otherwise.
WARMUP = 1000
#: Fewest draws per chain a fit takes: R-hat and ESS need a few.
MIN_DRAWS = 10
#: ``--retry``'s choices, as :func:`bayescale.fit`'s ``retry``.
RETRY = {"auto": None, "always": True, "never": False}


class UsageError(Exception):
    """A mistake in what the command was given (exit status 2)."""


# -- argument types: each refuses a bad value with the fix, before any work --------------------
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


# -- reading and checking inputs ------------------------------------------------------------
def _first_line(path: Path) -> str:
    """Return the first line of a text file ('' when it cannot be read as text)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            return f.readline().rstrip("\r\n")
    except OSError:
        return ""


#: Cells a CSV file leaves missing: empty, or NaN as pandas and numpy write it.
CSV_MISSING = ["", "nan", "NaN"]


def _is_number(name: object) -> bool:
    """Whether a column name reads as a number (a data row taken for the header)."""
    try:
        float(str(name).strip())
    except ValueError:
        return False
    return True


def _first_line_not_utf8(raw: bytes) -> str:
    """`` on line N`` for the first line of a file's bytes that is not UTF-8, else ``""``."""
    for i, line in enumerate(raw.splitlines(), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return f" on line {i}"
    return ""


def read_runs(path: Path, numbers: Collection[str] = (), what: str = "of runs") -> pd.DataFrame:
    """Read a CSV or parquet table of runs, refusing what would be misread.

    Its rows are numbered from 1 (the header not counted), as messages about them count.
    ``numbers``: columns mapped to numeric roles (``--columns params=size``), read as numbers
    as the default roles' columns are (never kept as written labels). ``what`` says what the
    file holds, for the messages ("of runs"; a backtest's table is not one).
    """
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a CSV or parquet file {what}")
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            df = pd.read_parquet(path)
        elif suffix == ".tsv" and "\t" not in (first := _first_line(path)) and "," in first:
            raise UsageError(
                f"{path} is named .tsv but its header {first[:40]!r} is comma-separated; name it "
                ".csv (or save it tab-separated)"
            )
        elif suffix in (".csv", ".txt", ".tsv"):
            # an empty cell is missing; words such as NA, None or null are labels as written
            # (a group "NA"), and in a numeric column they are refused naming the row
            df = pd.read_csv(
                path,
                sep="\t" if suffix == ".tsv" else ",",
                keep_default_na=False,
                na_values=CSV_MISSING,
            )
        else:
            raise UsageError(
                f"{path}: cannot read {suffix or 'a file without a suffix'!r}; give a CSV "
                "(.csv, comma-separated, decimal points) or a parquet file"
            )
    except ImportError:  # pandas reads parquet through pyarrow, not a dependency of bayescale
        raise UsageError(
            f"{path}: reading parquet needs pyarrow (pip install pyarrow); or save the table as CSV"
        ) from None
    except pd.errors.EmptyDataError:
        raise UsageError(
            f"{path} is empty: give a CSV or parquet file {what}, with a header"
        ) from None
    except UnicodeDecodeError as e:  # a spreadsheet's export in its own code page
        raw = path.read_bytes()  # once, for its first bytes and its first line not UTF-8
        head = raw[:4]
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a byte-order mark: UTF-16
            guess = "it is UTF-16 text (Excel's 'Unicode text', PowerShell's >): save it as "
            fix = "'CSV UTF-8' (or: iconv -f utf-16 -t utf-8)"
        elif head == b"PK\x03\x04":  # a zip archive: an .xlsx or .ods workbook
            guess = "it is a workbook (.xlsx or .ods), not text: export it as "
            fix = "'CSV UTF-8'"
        else:
            guess = "a spreadsheet's export in Latin-1 or Windows-1252? Save it as "
            fix = "'CSV UTF-8' (or: iconv -f latin1 -t utf-8)"
        raise UsageError(
            f"{path} could not be read as a {suffix[1:]} table: it is not UTF-8 text (byte "
            f"{e.object[e.start]:#04x}{_first_line_not_utf8(raw)}); {guess}{fix}"
        ) from None
    except (pd.errors.ParserError, OSError, ValueError) as e:
        raise UsageError(f"{path} could not be read as a {suffix[1:]} table ({e})") from None
    if df.shape[1] <= 2 and ";" in str(df.columns[0]):  # '1e8;2e9;3,1': 2 fields, 1 name
        raise UsageError(
            f"{path} looks semicolon-separated (its header {str(df.columns[0])[:40]!r}); save "
            "it comma-separated with decimal points"
        )
    if df.shape[1] <= 2 and "\t" in str(df.columns[0]):
        raise UsageError(
            f"{path} looks tab-separated (its header {str(df.columns[0])[:40]!r}); name it "
            "with the suffix .tsv, or save it comma-separated"
        )
    if str(df.columns[0]).lstrip().startswith("#"):
        raise UsageError(
            f"{path}: its first line {str(df.columns[0])[:40]!r} looks like a comment; the "
            "first line must be the header (column names): remove the comment lines"
        )
    if not isinstance(df.index, pd.RangeIndex):  # pandas took a first column as the index
        raise UsageError(
            f"{path}: its rows have more fields than its header has columns (the first data "
            f"row: {df.shape[1] + df.index.nlevels} fields, header: {df.shape[1]}); give every "
            "column a name in the header, or remove the extra fields"
        )
    if suffix != ".parquet" and all(_is_number(c) for c in df.columns):
        raise UsageError(
            f"{path}: its first line {', '.join(map(str, df.columns[:4]))} holds numbers only, so "
            "it has no header and its first row would be read as column names; add a first line "
            "naming the columns" + (" (params,tokens,loss)" if what == "of runs" else "")
        )
    if df.empty:
        raise UsageError(f"{path} has a header but no rows")
    if suffix != ".parquet":  # pandas renames a repeated name 'loss' to 'loss.1': say so
        sep = "\t" if suffix == ".tsv" else ","
        header = pd.read_csv(path, sep=sep, nrows=1, header=None, dtype=str, keep_default_na=False)
        names = [v.strip() for v in header.iloc[0] if v.strip()] if len(header) else []
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise UsageError(
                f"{path}: the header names {repeated} more than once; give every column its "
                "own name (which one is meant cannot be guessed)"
            )
    names = [str(c) for c in df.columns]
    stripped = [c.strip() for c in names]
    if stripped != names:  # 'params, tokens, loss': spaces after the commas
        if len(set(stripped)) < len(stripped):
            raise UsageError(
                f"{path}: the header names {names} repeat once their surrounding spaces are "
                "removed; give every column its own name"
            )
        changed = [f"{a!r} -> {b!r}" for a, b in zip(names, stripped, strict=True) if a != b]
        print(
            f"note: column names read without their surrounding spaces: {', '.join(changed)}",
            file=sys.stderr,
        )
        df.columns = stripped
    if suffix != ".parquet":
        _keep_labels_as_written(path, "\t" if suffix == ".tsv" else ",", df, numbers)
    # labels written 'f0, f1' after a ', ' separator: stripped as the names are, so that a
    # --group family=f0 later finds them (--group strips its labels too)
    padded = []
    for column in df.columns:
        values = df[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            text = values.map(lambda v: v.strip() if isinstance(v, str) else v)
            if not text.equals(values):
                df[column] = text
                padded.append(str(column))
    if padded:
        print(
            f"note: text in column(s) {padded} read without its surrounding spaces",
            file=sys.stderr,
        )
    # Rows numbered from 1, the header not counted: every message that names a row (a NaN
    # loss in `fit`, a word in `predict --points`) then names the one a reader counts to.
    df.index = pd.RangeIndex(1, len(df) + 1)
    return df


def _keep_labels_as_written(
    path: Path, sep: str, df: pd.DataFrame, numbers: Collection[str] = ()
) -> None:
    """Keep as text a column of whole numbers whose written labels two numbers would merge.

    pandas reads '01', '1' and '2' as the integers 1, 1 and 2: three groups (or runs) as two.
    Such a column is kept as written, and said so; other columns of whole numbers stay numbers,
    as do the columns of numeric roles (the default names, and ``numbers``).
    """
    numeric = {c for role, c in DEFAULT_COLUMNS.items() if role != "run"} | set(numbers)
    whole = [
        c for c in df.columns if pd.api.types.is_integer_dtype(df[c]) and str(c) not in numeric
    ]
    if not whole:
        return
    at = [df.columns.get_loc(c) for c in whole]  # by position: the names were stripped above
    text = pd.read_csv(
        path, sep=sep, usecols=at, dtype=str, keep_default_na=False, na_values=CSV_MISSING
    )
    if text.shape != (len(df), len(whole)):  # read otherwise than the table: nothing to compare
        return
    text.columns = whole
    kept = []
    for column in whole:
        written = text[column].str.strip()
        if written.nunique() > df[column].nunique():
            df[column] = written
            kept.append(str(column))
    if kept:
        print(
            f"note: column(s) {kept} read as text, as written: their labels differ where their "
            "numbers do not (such as '01' and '1')",
            file=sys.stderr,
        )


def read_table(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    """Return the table a command fits: a file, a dataset, or the simulated demo ladder."""
    if args.data and args.dataset:
        raise UsageError("give a data file or --dataset, not both")
    if args.table and not args.dataset:
        raise UsageError("--table selects a table of a --dataset; give --dataset too")
    if args.dataset:
        df = datasets.load(args.dataset, args.table)
        df.index = pd.RangeIndex(1, len(df) + 1)  # rows counted from 1, as read_runs counts them
        return df, f"dataset {args.dataset}"
    if args.data:
        roles = column_roles(getattr(args, "columns", None))
        numbers = [c for role, c in roles.items() if role != "run"]
        return read_runs(Path(args.data), numbers), str(args.data)
    df = simulate_ladder(families=4, seed=args.seed)
    return df, "a ladder simulated from Hoffmann et al. (2022) parameters, 4 families"


def drop_highest(
    df: pd.DataFrame, k: int, loss_column: str, within: str = "", quiet: bool = False
) -> pd.DataFrame:
    """Drop the ``k`` highest-loss rows, saying which (``within``: the ladder, in messages).

    ``quiet``: the caller says what was dropped (one line for many ladders).
    """
    if not k:
        return df
    if loss_column not in df.columns:
        raise UsageError(
            f"--drop-highest-loss: no loss column {loss_column!r} (columns: "
            f"{list(df.columns)}); name the loss column in a preset's [columns] table "
            '(loss = "COLUMN"), or --columns loss=COLUMN where the verb takes it'
        )
    if k >= len(df):
        raise UsageError(
            f"--drop-highest-loss {k} would drop every one of the {len(df)} rows{within}"
        )
    if not pd.api.types.is_numeric_dtype(df[loss_column]) or pd.api.types.is_bool_dtype(
        df[loss_column]
    ):
        bad = pd.to_numeric(df[loss_column], errors="coerce").isna() & df[loss_column].notna()
        found = (
            f"e.g. {df.loc[bad, loss_column].astype(str).head(3).tolist()} at rows "
            f"{df.index[bad][:3].tolist()}"
            if bad.any()
            else f"its values are {df[loss_column].dtype}"
        )
        raise UsageError(
            f"--drop-highest-loss: the loss column {loss_column!r} is not numeric ({found}); "
            "give every loss as a plain number (2.31, not '2.31%', '-' or True)"
        )
    if df[loss_column].isna().any():
        rows = df.index[df[loss_column].isna()][:5].tolist()
        raise UsageError(
            f"--drop-highest-loss: the loss column {loss_column!r} is empty at rows {rows}; "
            "the highest losses cannot be ranked: fill those rows or remove them from the file"
        )
    dropped = df[loss_column].nlargest(k)
    if quiet:
        return df.drop(dropped.index)
    print(
        f"Dropping the {len(dropped)} highest-loss rows{within} (as asked): "
        f"{dropped.round(3).tolist()}"
    )
    return df.drop(dropped.index)


def _loss_column(model: Model) -> str:
    """Return the table's loss column under ``model`` (a preset may map it)."""
    return dict(model.columns or {}).get("loss", "loss")


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


def _table_model(args: argparse.Namespace, effects: bool = True) -> Model:
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


def output_folder(path: str) -> Path:
    """Check (before any fitting) that ``path`` is a folder bayescale can write into."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder (it is created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out {out} cannot be created ({e.strerror})") from None
    if not os.access(out, os.W_OK):
        raise UsageError(f"--out {out} is not writable")
    return out


def writable_file(path: Path, option: str, data: str | None = None) -> Path:
    """Check (before any work) that ``path`` can be written (and is not the ``data`` read)."""
    if data and Path(data).exists() and path.exists() and path.samefile(data):
        raise UsageError(
            f"{option} {path} is the data file the command reads; give another file name (it "
            "would be overwritten)"
        )
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name")
    if not path.parent.exists():
        raise UsageError(f"{option} {path}: its folder {path.parent} does not exist")
    existed = path.exists()
    try:  # a probe: permissions, read-only or special file systems (/proc)
        with open(path, "a"):
            pass
    except OSError as e:
        raise UsageError(
            f"{option} {path} cannot be written ({e.strerror}); give another path"
        ) from None
    if not existed:
        path.unlink()
    return path


def _cell(value: Any) -> str:
    """Return a table cell as a message shows it: 'empty' for a missing value."""
    return "empty" if pd.isna(value) else str(value)


def _spell(label: Any, fitted: set[str], spelled: dict[str, str]) -> Any:
    """``label``, or the fitted level it is once both are stripped of surrounding spaces."""
    if isinstance(label, str) and label not in fitted:
        return spelled.get(label.strip(), label)
    return label


def spelled_as_fitted(post: ScalingPosterior, values: dict[str, Any]) -> dict[str, Any]:
    """Labels as a fit spells them, where it kept spaces around them that the CLI strips.

    The command line reads labels without surrounding spaces (``--group``, a points file); a
    fit made from a file written ``f0, f1`` before it did so keeps ``' f0'``. A label that is no
    fitted level but is one fitted level once both are stripped is given as that level.
    """
    out = dict(values)
    for column, given in values.items():
        if column not in post.posterior.coords or column in INPUTS or column in INPUTS.values():
            continue
        padded = [lab for lab in post.group_labels(column) if lab != lab.strip()]
        if not padded:
            continue
        fitted = set(post.group_labels(column))
        spelled = {lab.strip(): lab for lab in padded}
        if np.ndim(given):
            out[column] = np.array([_spell(v, fitted, spelled) for v in given], dtype=object)
        else:
            out[column] = _spell(given, fitted, spelled)
    return out


def column_roles(items: list[tuple[str, str]] | None) -> dict[str, str]:
    """``--columns ROLE=COLUMN`` pairs as the model's mapping (each role once)."""
    out: dict[str, str] = {}
    for role, column in items or []:
        if role in out and out[role] != column:
            raise UsageError(
                f"--columns gives the role {role!r} twice ({role}={out[role]} and "
                f"{role}={column}); give each role one column"
            )
        out[role] = column
    return out


def group_labels(items: list[tuple[str, str]] | None) -> dict[str, str]:
    """``--group COLUMN=LABEL`` pairs as keyword arguments (each column once)."""
    out: dict[str, str] = {}
    for column, label in items or []:
        if column in out and out[column] != label:
            raise UsageError(
                f"--group gives {column!r} twice ({out[column]!r} and {label!r}); give each "
                "column one label"
            )
        out[column] = label
    return out


@contextlib.contextmanager
def new_output_folder(path: str) -> Iterator[Path]:
    """:func:`output_folder`, removed again if the work fails before writing into it."""
    created = not Path(path).exists()
    out = output_folder(path)
    try:
        yield out
    except BaseException:  # a refused table or an interrupted fit leaves no empty folder
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise


def command_line_text(e: BaseException) -> str:
    """Return the message of ``e`` as the command line words it (a DataError's own wording)."""
    return getattr(e, "command_line", None) or str(e)


def _table_advice(e: DataError, args: argparse.Namespace) -> str:
    """Word a table's :class:`DataError` for the command line: its options, its file's lines.

    A shipped ``--dataset`` cannot be edited on the command line: where the fix is an edit of
    the table (rows or labels), say how to load it in Python, whose advice the message gives.
    """
    cli = command_line_text(e)
    dropped = getattr(args, "drop_highest_loss", 0) or 0
    if dropped and "too few points" in cli:  # the option made them few
        cli += f" (--drop-highest-loss {dropped} removed {dropped} rows first: drop fewer.)"
    given = (column_roles(args.columns) or {}).values() if getattr(args, "columns", None) else ()
    if getattr(args, "preset", None) and e.column is not None and e.column not in given:
        cli = cli.replace("(--columns ", "(the preset's [columns] table: ", 1)  # not an option
    if args.dataset and (e.command_line is None or e.rows is not None):
        table = f", {args.table!r}" if args.table else ""
        load = f"bayescale.datasets.load({args.dataset!r}{table})"
        return (
            f"{e} --dataset {args.dataset}: this table cannot be fitted as shipped; load it in "
            f"Python ({load}), fix it as said, save it as CSV and fit that file"
        )
    text = args.data and Path(args.data).suffix.lower() in (".csv", ".txt", ".tsv")
    if e.rows is not None and text:
        return (
            f"{cli} In {args.data}, rows are counted from 1 after the header line, so row r is "
            "line r + 1 (a row of bare commas at the end, as spreadsheets export, counts)."
        )
    return cli


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
    df = drop_highest(df, args.drop_highest_loss, _loss_column(model))
    try:
        check_mapped_columns(df, model.columns, model.law.inputs)  # as the fit will
        data = model.prepare(df)
    except DataError as e:  # the library's advice is Python's; say what the command line takes
        raise UsageError(_table_advice(e, args)) from None
    say = print if not args.quiet else (lambda *a, **k: None)
    say(f"Fitting {source}: {len(df)} rows")
    say(model.describe(data.scale))
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
    say(post.summary().to_string(float_format=_digits))
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
    _print_prior_bounds(diag)
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


def cmd_summary(args: argparse.Namespace) -> int:
    """Print the summary and diagnostics of a saved fit (exit 3 when they fail, as ``fit``)."""
    post = load_posterior(args.fit)
    pd.set_option("display.width", 120)
    print(post.summary().to_string(float_format=_digits))
    diag = post.diagnostics(warn=False)
    print(format_report(diag))
    _print_prior_bounds(diag)
    return 0 if diag.attrs["ok"] else EXIT_DIAGNOSTICS


def _print_prior_bounds(diag: pd.DataFrame) -> None:
    """Print the warning of draws piled against a prior's bound, where the fit has one."""
    note = prior_bound_message(diag)
    if note is not None:
        print(f"WARNING: {note}", file=sys.stderr)


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
            print(f"(the points' columns {unread} are not inputs of this model: not read)")
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
    _refuse_idle_new_groups(post, args.new_groups)
    _warn_failed_fit(post, args.fit)
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
    _note_draws(pred.sizes["chain"] * pred.sizes["draw"], args.prob)
    _note_unlabelled(post, set(values), "the prediction", "the points", "or a column of --points ")
    return 0


def _note_unlabelled(post, labelled: set, what: str, where: str, also: str = "") -> None:
    """Say which group terms got no label: ``what`` is then for a new level of each."""
    unlabelled = [t.name for t in terms_of(post.model.effects) if not set(t.columns) <= labelled]
    if unlabelled:
        print(
            f"(no label for {unlabelled}: {what} is for a new {' and '.join(unlabelled)}, "
            f"its effects drawn from the population; label {where} with --group COLUMN=LABEL "
            f"{also}for a fitted one)"
        )


def _warn_failed_fit(post, path: str) -> None:
    """Say on stderr when a saved fit failed its diagnostics: what it answers is suspect."""
    diag = post.diagnostics(warn=False)
    if not diag.attrs["ok"]:
        none = diag.attrs.get("ess_importance") == 0  # no proposal carried weight
        print(
            f"warning: the fit {path} failed its diagnostics, so what follows rests on draws "
            "that cannot be trusted"
            + (
                " (its importance sampling found no usable draw: every draw is the mode, and "
                "every interval has zero width; refit with --method nuts)"
                if none
                else ""
            )
            + f"; `bayescale summary {path}` says which check failed",
            file=sys.stderr,
        )


def _refuse_idle_new_groups(post, new_groups: bool) -> None:
    """Refuse --new-groups for a fit with no group or run effect: it would change nothing."""
    if new_groups and not post.model.terms and RUN not in post.posterior.coords:
        raise UsageError(
            "--new-groups draws the effects of a group the fit has not seen, but this fit has "
            "no group effects (no --effects) nor run effect: it changes nothing; leave it out"
        )


def percent(p: float) -> str:
    """Write a probability as a percentage with the digits it has (90%, 99.9%, not 100%)."""
    return f"{100 * p:.10g}%"


def _note_draws(n: int, prob: float) -> None:
    """Say so on stderr when too few draws lie beyond an interval's ends to place them."""
    if n * (1 - prob) / 2 < 2.5:
        print(
            f"note: {n} posterior draws place a {percent(prob)} interval's ends on their "
            f"{max(n * (1 - prob) / 2, 0):.2g} most extreme draws; refit with more draws or "
            "ask for a lower --prob",
            file=sys.stderr,
        )


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
    _refuse_idle_new_groups(post, args.new_groups)
    _warn_failed_fit(post, args.fit)
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
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    posterior = post.draws_tree["posterior"]
    _note_draws(posterior.sizes["chain"] * posterior.sizes["draw"], args.prob)
    _note_unlabelled(post, set(groups), "the frontier", "it")
    if args.plot:
        lo, hi = min(args.compute) / 100, max(args.compute) * 10
        front = frontier(post, np.geomspace(lo, hi, 60), new_groups=args.new_groups, **groups)
        plot_frontier(front, prob=args.prob, path=args.plot)
        print(f"wrote {args.plot}")
    return 0


def _digits(value: float) -> str:
    """Format a number with the package's significant digits (no degenerate interval)."""
    return f"{value:.{DIGITS}g}"


def _phase(message: str) -> None:
    """Print the start of a long step on stderr (the fit's own phases read the same)."""
    print(f"bayescale: {message} ...", file=sys.stderr, flush=True)


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
    _warn_failed_fit(post, args.fit)
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


def cmd_backtest(args: argparse.Namespace) -> int:
    """Fit on one side of a split, predict the other, print coverage and errors."""
    if args.out:
        writable_file(Path(args.out), "--out", args.data)
    if args.split == "group" and not args.group:
        raise UsageError("--split group needs --group COLUMN")
    if args.held_out and args.split != "frontier":
        raise UsageError("--held-out is an option of --split frontier")
    repeated = sorted({v for v in args.held_out or [] if args.held_out.count(v) > 1})
    if repeated:  # as pooling's --k: a repeated count would be read once
        raise UsageError(
            f"--held-out repeats {', '.join(map(str, repeated))}: give each count once"
        )
    if args.n_largest is not None and args.split != "size":
        raise UsageError("--n-largest is an option of --split size")
    if args.train_fraction is not None and args.split not in ("compute", "curve"):
        raise UsageError("--train-fraction is an option of --split compute and --split curve")
    if args.group and args.split != "group":
        raise UsageError("--group is an option of --split group")
    df, source = read_table(args)
    model = _table_model(args)
    df = drop_highest(df, args.drop_highest_loss, _loss_column(model))
    if args.split == "frontier":
        return _frontier_backtest(args, model, df, source)
    if args.split == "compute":
        splits = calibration.split_by_compute(df, model, args.train_fraction or 0.75)
    elif args.split == "size":
        splits = calibration.split_by_size(df, model, args.n_largest or 2)
    elif args.split == "curve":
        splits = calibration.split_curve_tail(df, model, 1 - (args.train_fraction or 0.75))
    else:
        if args.group not in df.columns:
            raise UsageError(f"--group {args.group!r} is not a column: {list(df.columns)}")
        _refuse_read_group(model, args.group, "--group")
        splits = calibration.splits_leave_group_out(df, args.group)
    fits = len(splits) if isinstance(splits, list) else 1
    print(
        f"Backtest of the {model.law.name} law on {source} ({len(df)} rows), split: {args.split}"
        + (f" ({fits} fits, one per level of {args.group!r})" if fits > 1 else "")
    )
    name = args.dataset or (Path(args.data).name if args.data else "simulated ladder")
    table = calibration.backtest(model, df, splits, dataset=name, draws=args.draws, seed=args.seed)
    pd.set_option("display.width", 160)
    hidden = ["dataset", "data_warnings", "law", "table"]
    hidden += calibration.coverage_columns(table, ranges=True)
    shown = table.drop(columns=hidden, errors="ignore")  # the dataset and law are the header's
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for _, row in table.iterrows():
        for level in (0.5, 0.9):
            if pd.notna(row.get(f"calibrated_{level:g}_lo")):
                print(
                    f"{row['split']}: {level:.0%} coverage {row[f'coverage_{level:g}']:.2f}; a "
                    f"calibrated forecast of these points: {row[f'calibrated_{level:g}_lo']:.2f}-"
                    f"{row[f'calibrated_{level:g}_hi']:.2f} nine times in ten (tail probability "
                    f"{row[f'coverage_{level:g}_p']:.2f})"
                )
    notes = table.attrs.get("data_warnings_command_line")  # the data warnings in its words
    if notes is None:  # a table built otherwise
        notes = table["data_warnings"]
    for split, note in zip(table["split"], notes, strict=True):
        if note:
            print(f"data warning ({split}): {note}")
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    failed = table.loc[~table["fit_ok"].astype(bool), "split"].tolist()
    for split in failed:
        print(
            f"warning ({split}): the fit of the training rows failed its diagnostics (R-hat, "
            "ESS or divergences), so its scores describe a fit that cannot be trusted; rerun "
            "with more --draws, or `bayescale fit` those rows to read the diagnostics",
            file=sys.stderr,
        )
    return EXIT_DIAGNOSTICS if failed else 0


def _refuse_read_group(model: Model, column: str, option: str) -> None:
    """Refuse a group column that the law reads (the loss or an input), naming what it is."""
    read = model.read_columns()
    if column in read:
        raise UsageError(
            f"{option} {column!r} is a column the law reads ({read[column]}), not a group: "
            "name the column that tells the groups apart (family, dataset, seed)"
        )


def _model_reads(model: Model, df: pd.DataFrame, column: str) -> bool:
    """Whether ``model`` reads ``column`` of ``df``: the table prepares with it, not without."""
    try:
        model.prepare(df)
    except (DataError, SpecificationError):
        return False  # the table's own problem: each ladder's table reports it below
    try:
        model.prepare(df.drop(columns=column))
    except (DataError, SpecificationError):
        return True
    return False


def cmd_pool_prior(args: argparse.Namespace) -> int:
    """Fit the prior of the extrapolation error's scales across the table's ladders or curves."""
    writable_file(Path(args.out), "--out", args.data)
    df, source = read_table(args)
    model = _table_model(args)
    if args.by not in df.columns:
        raise UsageError(
            f"--by {args.by!r} is not a column of {source}: {list(df.columns)}; name the column "
            "that tells the ladders or curves apart"
        )
    if df[args.by].isna().any():
        raise UsageError(
            f"--by {args.by!r}: {int(df[args.by].isna().sum())} rows have no label; label or "
            "drop them first (no row is dropped silently)"
        )
    if _model_reads(model, df, args.by):
        raise UsageError(
            f"--by {args.by!r} is a column the model reads (a law input, the loss or an effect's "
            "group), and each ladder's table is split off without it: tell the ladders apart by "
            "a column the fit does not use (a ladder or curve name), or drop the effects on it"
        )
    levels = df[args.by].nunique()
    if levels < record.MIN_POOLED_LADDERS:  # said before any record is computed
        raise UsageError(
            f"--by {args.by!r} splits {source} into {levels} table(s); a prior across ladders "
            f"needs at least {record.MIN_POOLED_LADDERS} with a record: name the column that "
            "tells your ladders (or curves) apart"
        )
    tables = _ladders(df, args.by, args.drop_highest_loss, _loss_column(model))
    print(f"Records of {len(tables)} tables of {source} (by {args.by!r}), law {model.law.name}")
    try:
        prior = record.pooled_prior(model, tables, seed=args.seed)
    except ValueError as e:
        if isinstance(e, DataError | SpecificationError):
            raise
        raise UsageError(str(e)) from None
    sd = np.sqrt(np.diag(prior.cov))
    what = "an input error (decades of effective input)"
    what = what if prior.kind == "inputs" else f"a {prior.kind} error (log loss)"
    print(
        f"Prior of {what} over {len(prior.fitted_on)} tables: offset "
        f"sigma_o median {np.exp(prior.mean[0]):.4g} (log sd {sd[0]:.2f}), growth sigma_g "
        f"median {np.exp(prior.mean[1]):.4g} (log sd {sd[1]:.2f})"
    )
    left = sorted(set(tables) - set(prior.fitted_on))
    if left:
        print(f"Too short for a record (not in the prior): {left}")
    prior.save(args.out, tables=len(tables), by=args.by, source=source)
    print(f"wrote {args.out}; fit with: bayescale fit ... --extrapolation-prior {args.out}")
    return 0


def _ladders(df: pd.DataFrame, by: str, k: int, loss_column: str) -> dict[str, pd.DataFrame]:
    """Split ``df`` into its ladders by ``by``, each without its ``k`` highest losses.

    A ladder of ``k`` rows or fewer is left out, and said so (it would have none left).
    """
    tables, short = {}, []
    for key, sub in df.groupby(by, sort=True):
        if k and len(sub) <= k:
            short.append(f"{key} ({len(sub)} rows)")
            continue
        within = f" of {by}={key}"
        tables[str(key)] = drop_highest(sub, k, loss_column, within, quiet=True).drop(columns=by)
    if k and tables:
        print(f"Dropped the {k} highest-loss rows of each of {len(tables)} ladders (as asked)")
    if short:
        print(f"Left out, no more rows than --drop-highest-loss {k}: {', '.join(short)}")
    if not tables:
        raise UsageError(
            f"--drop-highest-loss {k} leaves no ladder with a row: every ladder by {by!r} has "
            f"{k} rows or fewer; drop fewer"
        )
    return tables


def _frontier_backtest(
    args: argparse.Namespace, model: Model, df: pd.DataFrame, source: str
) -> int:
    """``backtest --split frontier``: the held-out iso-FLOP minima against the frontier."""
    print(f"Frontier backtest on {source} ({len(df)} rows)")
    table = frontier_backtest(model, df, args.held_out, draws=args.draws, seed=args.seed)
    pd.set_option("display.width", 200)
    shown = ["held_out", "profile", "distance", "N_opt", "N_star", "N_star_lo", "N_star_hi"]
    shown += ["inside", "measured_lo", "measured_hi", "inside_measured"]
    print(table[shown].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    band = f"{table.attrs['band']:.0%}"
    for k, rows in table.groupby("held_out"):
        print(
            f"top {k} profiles held out: {int(rows['inside'].sum())} of {len(rows)} measured "
            f"minima inside the {band} N* band (a right fit's band would hold about "
            f"{rows['p_inside_if_right'].sum():.1f}: minima scatter), "
            f"{int(rows['inside_measured'].sum())} inside the {band} predictive of the measured "
            "minimum"
        )
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    failed = sorted({int(k) for k in table.loc[~table["fit_ok"].astype(bool), "held_out"]})
    for k in failed:
        print(
            f"warning (top {k} profiles held out): the fit of the other profiles failed its "
            "diagnostics (R-hat, ESS or divergences), so its N* bands describe a fit that cannot "
            "be trusted; rerun with more --draws, or `bayescale fit` those rows to read the "
            "diagnostics",
            file=sys.stderr,
        )
    return EXIT_DIAGNOSTICS if failed else 0


def cmd_pooling(args: argparse.Namespace) -> int:
    """Predict each group's larger runs from its smallest, with and without pooling."""
    if args.out:
        writable_file(Path(args.out), "--out", args.data)
    if args.figure:
        writable_file(args.figure, "--figure", args.data)
    for option, values in (("--k", args.k), ("--hold-out", args.hold_out or [])):
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise UsageError(
                f"{option} repeats {', '.join(repeated)}: give each value once (a repeated case "
                "would be fitted and counted twice)"
            )
    df, source = read_table(args)
    model = _table_model(args, effects=False)
    df = drop_highest(df, args.drop_highest_loss, _loss_column(model))
    if args.group not in df.columns:
        raise UsageError(f"--group {args.group!r} is not a column: {list(df.columns)}")
    _refuse_read_group(model, args.group, "--group")
    if args.hold_out:
        levels = set(df[args.group].dropna().astype(str))
        unknown = [g for g in args.hold_out if g not in levels]
        if unknown:
            raise UsageError(
                f"--hold-out {' '.join(unknown)}: not a level of --group {args.group!r}, whose "
                f"levels are {sorted(levels)[:20]}"
            )
    effects = effects_from(args.effects)
    if effects == {}:  # the backtest's baseline already has none
        raise UsageError(
            "--effects names no effect: give the ones to backtest (E=family A=family), or leave "
            "--effects out for the default candidates"
        )
    candidates = {"given": effects} if effects else None
    fit = {"draws": args.draws, "seed": args.seed, "method": args.method}
    print(f"New-group backtest on {source} ({len(df)} rows), group {args.group!r}, k = {args.k}")
    name = args.dataset or (Path(args.data).name if args.data else "simulated ladder")
    table = pooling.new_group_backtest(
        model, df, args.group, args.k, candidates, dataset=name, groups=args.hold_out, **fit
    )
    pd.set_option("display.width", 160)
    statuses = table.attrs.get("status_command_line")  # the rows, in the command's words
    notes = table.attrs.get("data_warnings_command_line")
    if statuses is None or notes is None:  # a table built otherwise
        statuses, notes = table["status"], table.get("data_warnings", [""] * len(table))
    for (_, row), status, note in zip(table.iterrows(), statuses, notes, strict=True):
        case = f"{args.group}={row['level']}, k={row['k']}, {row['method']}"
        if row["status"] != "ok":
            print(f"{case}: {status}")
        elif note:
            print(f"{case}: data warning: {note}")
    summary = pooling.summarise_backtest(table)
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.choose:
        print()
        print(pooling.choose_effects(model, df, args.group, candidates, table, **fit))
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    if args.figure:
        plot_pooling(table, args.figure)
        print(f"wrote {args.figure}")
    scored = table["status"].eq("ok")
    failed = table[scored & ~table["fit_ok"].fillna(True).astype(bool)]
    if len(failed):
        cases = [
            f"{args.group}={r['level']}, k={r['k']}, {r['method']}" for _, r in failed.iterrows()
        ]
        print(
            f"warning: {len(failed)} of {int(scored.sum())} fits failed their diagnostics (R-hat, "
            f"ESS or divergences; the importance weights' Pareto k under --method psis), e.g. "
            f"{'; '.join(cases[:3])}: their scores describe fits that cannot be trusted; rerun "
            "with more --draws (or --method nuts)",
            file=sys.stderr,
        )
    return EXIT_DIAGNOSTICS if len(failed) else 0


def cmd_datasets(args: argparse.Namespace) -> int:
    """List datasets or describe one."""
    if args.action == "list":
        if args.name:
            raise UsageError(
                f"datasets list takes no name (got {args.name!r}); describe one with "
                f"`bayescale datasets info {args.name}`"
            )
        names = datasets.available()
        width = max(map(len, names), default=0)
        for name in names:
            print(f"{name:{width}s}  {datasets.card(name)['title']}")
    else:
        if not args.name:
            raise UsageError("datasets info needs a dataset name (see `bayescale datasets list`)")
        print(datasets.info(args.name))
    return 0


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's default after its help, unless it has none or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is None or "default:" in text or "(default" in text:
            return text
        return super()._get_help_string(action)


def _group_labels_option(p: argparse.ArgumentParser, what: str) -> None:
    """``--group COLUMN=LABEL ...``: the group a prediction is for (predict, frontier)."""
    p.add_argument(
        "--group",
        nargs="+",
        type=key_value("COLUMN=LABEL"),
        metavar="COLUMN=LABEL",
        help=f"{what} (family=f1); a group column left out is a new group",
    )


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
    p.add_argument(
        "--columns",
        nargs="+",
        type=key_value("ROLE=COLUMN"),
        metavar="ROLE=COLUMN",
        help=f"column roles, e.g. {example}",
    )


class _OneLineErrors(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line, as every other mistake (no usage)."""

    def error(self, message: str) -> NoReturn:
        """Print the problem on one line and exit with status 2."""
        self.exit(2, f"error: {self.prog}: {message} (`{self.prog} --help` shows the options)\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (defaults shown in ``--help``)."""
    fmt = _DefaultsHelp
    p = _OneLineErrors(
        prog="bayescale", description=__doc__, formatter_class=fmt, allow_abbrev=False
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
        type=at_least(MIN_DRAWS),
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
        "--draws", type=at_least(MIN_DRAWS), default=1000, help="draws per chain of each fit"
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
        "--draws", type=at_least(MIN_DRAWS), default=1000, help="draws per chain of each fit"
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
        choices=["list", "info"],
        help="list: the datasets, one line each; info NAME: a dataset's card (source, "
        "licence, tables, the columns each table renames or derives)",
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


#: What a user can get wrong: each ends in one line and exit status 2.
USER_ERRORS = (
    UsageError,
    DataError,
    SpecificationError,
    PosteriorFileError,
    ValueError,  # the library's checks of arguments (DataError and SpecificationError are ones)
    datasets.DatasetError,
    FileNotFoundError,
    IsADirectoryError,
    PermissionError,
)


def _one_line_warnings() -> Callable[..., None]:
    """Return a ``warnings.showwarning`` that prints each message once, as ``warning: ...``."""
    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(command_line_text(message).split())
        if text not in shown:  # a table is validated by the fit and again by its figure
            shown.add(text)
            print(f"warning: {text}", file=sys.stderr)

    return show


#: A negative number in scientific notation, which argparse takes for an option's name.
NEGATIVE_SCIENTIFIC = re.compile(r"-\d*\.?\d+[eE][+-]?\d+")


def _repeated_option(parser: argparse.ArgumentParser, given: list[str]) -> str | None:
    """Say which option of the command is given twice (argparse would keep its last use only)."""
    if "-h" in given or "--help" in given:
        return None  # the help is asked for: argparse shows it
    command = next((a for a in given if not a.startswith("-")), None)
    verbs = next(
        (a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {}
    )
    sub = verbs.get(command) if command else None
    if sub is None:
        return None
    options = sub._option_string_actions  # exact names: the verbs take no abbreviations
    seen: dict[str, str] = {}
    for token in given:
        if token == "--":  # what follows is positional
            break
        action = options.get(token.split("=", 1)[0]) if token.startswith("--") else None
        if action is None:
            continue  # a value, or an unknown option (argparse says so)
        if action.dest in seen:
            spelled = action.option_strings[-1]
            if action.nargs in ("+", "*"):
                value = action.metavar or action.dest.upper()
                fix = f"only the last would count: give all its values after one {spelled} ("
                fix += f"{spelled} {value} {value} ...)"
            elif action.nargs == 0:  # a flag: every use does the same
                fix = "give it once"
            else:
                fix = "only the last would count: give it once"
            both = f" ({seen[action.dest]} and {token})" if seen[action.dest] != token else ""
            return f"{command}: {spelled} is given twice{both}; {fix}"
        seen[action.dest] = token
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bayescale`` command; returns the exit status."""
    given = sys.argv[1:] if argv is None else list(argv)
    negative = [i for i, a in enumerate(given) if NEGATIVE_SCIENTIFIC.fullmatch(a)]
    if negative:  # argparse reads "-1e9" as an unknown option, and says "expected an argument"
        i = negative[0]
        option = next((a for a in reversed(given[:i]) if a.startswith("--")), "an option")
        print(
            f"error: {option} {given[i]}: a negative number; the command's numbers (sizes, "
            "tokens, budgets, losses, counts) are all > 0",
            file=sys.stderr,
        )
        return 2
    parser = build_parser()
    repeated = _repeated_option(parser, given)
    if repeated:  # argparse keeps the last use of an option and drops the others silently
        print(f"error: {repeated}", file=sys.stderr)
        return 2
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as e:  # argparse printed the problem (or the help asked for)
        return int(e.code or 0)
    if extra:  # the verb's options are its own: point at its help, not the top level's
        verb = f"bayescale {args.command}"
        print(
            f"error: {verb}: unrecognized arguments: {' '.join(extra)} (`{verb} --help` shows "
            "the options)",
            file=sys.stderr,
        )
        return 2
    debug = bool(os.environ.get(DEBUG_ENV))
    try:
        with warnings.catch_warnings():
            for category in (DataWarning, ExtrapolationWarning):  # shown, not raised
                warnings.simplefilter("always", category)
            if not debug:
                warnings.showwarning = _one_line_warnings()
            return args.func(args)
    except BrokenPipeError:  # the reader closed the output (`| head`): stop, quietly
        # Python would complain of the pipe again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a command stopped by SIGPIPE
    except USER_ERRORS as e:
        if debug:
            raise
        print(f"error: {' '.join(command_line_text(e).split())}", file=sys.stderr)  # one line
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug of ours: one line, and how to see more
        if debug:
            raise
        print(
            f"error: {type(e).__name__}: {' '.join(str(e).split())} (an internal error; set "
            f"{DEBUG_ENV}=1 for the traceback and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
