"""The command line's files: the tables it reads and the files and folders it writes.

A table of runs is read refusing what would be misread (another separator, no header, a
repeated name, labels two numbers would merge); the table a verb fits is a file, a dataset or
the simulated demo ladder.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Collection, Iterator
from pathlib import Path

import pandas as pd

from bayescale import datasets
from bayescale.cli.options import UsageError, column_roles, command_line_text
from bayescale.data import DEFAULT_COLUMNS
from bayescale.errors import DataError
from bayescale.model import Model
from bayescale.simulate import simulate_ladder


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


def loss_column_of(model: Model) -> str:
    """Return the table's loss column under ``model`` (a preset may map it)."""
    return dict(model.columns or {}).get("loss", "loss")


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


def table_advice(e: DataError, args: argparse.Namespace) -> str:
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
