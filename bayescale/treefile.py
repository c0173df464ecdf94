"""A fit's tree on disk: netCDF through h5netcdf, and the fitted table's row labels as JSON.

:func:`write_tree` and :func:`read_tree` write and read a posterior's ``DataTree`` (its model,
scale and settings in the tree's attributes, written by :mod:`bayescale.posterior`);
:func:`index_to_json` and :func:`index_from_json` keep the fitted table's row labels (dates,
a MultiIndex, names) in one attribute, so ``post.fitted_table()`` gives back the user's index.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayescale import arguments


def _index_label(label: Any) -> int | float | str:
    """Return a row label as JSON keeps it: integers and floats as numbers, else text."""
    if isinstance(label, bool | np.bool_):
        return str(label)
    if isinstance(label, int | np.integer):
        return int(label)
    if isinstance(label, float | np.floating):
        return float(label)
    return str(label)


def index_to_json(index: pd.Index) -> str:
    """Return a table's row labels as JSON that :func:`index_from_json` rebuilds.

    A plain unnamed index of integers, floats or text is a list of its labels. Any other (dates,
    a time zone, a MultiIndex, names) is its levels as columns in pandas' table schema, which
    keeps their types, and its names. Where even that cannot rebuild the labels (periods, time
    deltas, intervals), they are kept as text.

    Parameters
    ----------
    index : pandas.Index
        The row labels of the fitted table.

    Returns
    -------
    str
        JSON text.

    Examples
    --------
    >>> from bayescale.treefile import index_from_json, index_to_json
    >>> index_to_json(pd.Index([3, 5, 8]))
    '[3, 5, 8]'
    >>> dates = pd.DatetimeIndex(["2024-01-01", "2024-02-01"], name="day")
    >>> index_from_json(index_to_json(dates)).equals(dates)
    True
    """
    plain = not isinstance(index, pd.MultiIndex) and index.name is None
    plain &= index.dtype.kind in "iuf" or pd.api.types.is_string_dtype(index.dtype)
    plain &= all(isinstance(i, int | float | str | np.integer | np.floating) for i in index[:1])
    if not plain:
        try:
            names = [f"level_{i}" for i in range(index.nlevels)]
            levels = index.to_frame(index=False, name=names if index.nlevels > 1 else names[0])
            table = levels.to_json(orient="table", index=False, date_format="iso")
            kept = [n if n is None else _index_label(n) for n in index.names]
            dtypes = [str(t) for t in levels.dtypes]  # the schema has no time resolution
            text = json.dumps({"table": table, "names": kept, "dtypes": dtypes})
            if index_from_json(text).equals(index):
                return text
        except Exception:
            pass
    return json.dumps([_index_label(i) for i in index])


def index_from_json(text: str) -> pd.Index:
    """Return the row labels :func:`index_to_json` wrote (a list, or pandas' table schema).

    Parameters
    ----------
    text : str
        What :func:`index_to_json` returned.

    Returns
    -------
    pandas.Index
        The labels, a ``MultiIndex`` where the table had several levels.

    Examples
    --------
    >>> from bayescale.treefile import index_from_json
    >>> index_from_json('["a", "b"]').tolist()
    ['a', 'b']
    """
    stored = json.loads(text)
    if isinstance(stored, list):
        return pd.Index(stored, name=None)
    levels = pd.read_json(io.StringIO(stored["table"]), orient="table")
    for column, dtype in zip(levels.columns, stored.get("dtypes", ()), strict=False):
        if str(levels[column].dtype) != dtype and dtype.startswith("datetime64"):
            levels[column] = levels[column].astype(dtype)
    if levels.shape[1] == 1:
        return pd.Index(levels.iloc[:, 0]).rename(stored["names"][0])
    return pd.MultiIndex.from_frame(levels, names=stored["names"])


#: Suffixes of other formats (tables, Zarr, pickles, arrays), which a fit's netCDF file is not
#: given: every other tool would read it as that format.
OTHER_FORMAT_SUFFIXES = (
    *(".csv", ".tsv", ".txt", ".parquet", ".json", ".xlsx"),
    *(".zarr", ".pkl", ".pickle", ".npy", ".npz"),
)


def write_tree(tree: xr.DataTree, path: str | Path) -> Path:
    """Write a posterior's DataTree (model spec in its attributes) to netCDF (h5netcdf).

    Parameters
    ----------
    tree : xarray.DataTree
        The tree (``post.tree``).
    path : str or Path
        The file (not a folder, nor named as another format: ``.csv``, ``.parquet``,
        ``.zarr``, ...); missing parent folders are created.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> from bayescale.treefile import write_tree
    >>> path = write_tree(post.tree, "fits/chinchilla.nc")
    >>> path.name, path.is_file()
    ('chinchilla.nc', True)
    """
    path = arguments.not_a_folder(path, "fit.nc")
    if path.suffix.lower() in OTHER_FORMAT_SUFFIXES:  # read back as that by every other tool
        raise ValueError(
            f"path={str(path)!r}: a fit is written as netCDF, not as {path.suffix}; name the "
            f"file {path.with_suffix('.nc').name!r}."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tree.to_netcdf(path, engine="h5netcdf")
    except OSError as e:  # h5py's own words name neither the call nor the fix
        raise OSError(
            f"Cannot write the fit to {str(path)!r} ({type(e).__name__}: {e}): give a path in "
            "a folder you can write to."
        ) from None
    return path


def read_tree(path: str | Path) -> xr.DataTree:
    """Read a DataTree written by :func:`write_tree` fully into memory and close the file.

    Parameters
    ----------
    path : str or Path
        The netCDF file.

    Returns
    -------
    xarray.DataTree
        The tree, with its attributes; :func:`bayescale.load_posterior` makes it a posterior.

    Examples
    --------
    >>> from bayescale.treefile import read_tree
    >>> path = post.to_netcdf("fit.nc")
    >>> tree = read_tree(path)
    >>> tree["posterior"]["alpha"].dims
    ('chain', 'draw')
    """
    tree = xr.open_datatree(path, engine="h5netcdf").load()
    tree.close()
    return tree
