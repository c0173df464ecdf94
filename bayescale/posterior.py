"""``ScalingPosterior``: the DataTree of a fit, its I/O and its views.

The tree holds the ArviZ 1.x groups ``posterior`` (sampled sites, the natural parameters
``E, A, ...`` for the population and ``E_<term>`` per group level), ``sample_stats``,
``log_likelihood``, ``observed_data``, ``constant_data``, ``prior``, ``prior_predictive`` and
``posterior_predictive``, so ArviZ's plots and statistics work on ``post.tree`` directly. The
model's description, the centring scale, the training cost and the extrapolation-error term are
kept in the tree's attributes, so a written posterior reads back as the same object. The prior
and replicated groups are built on first access of :attr:`ScalingPosterior.tree`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shlex
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import arviz_base
import arviz_stats
import jax
import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats.base.stats_utils import round_num  # ArviZ's own rounding of summaries
from scipy import stats

from bayescale import arguments
from bayescale.cost import TrainingCost
from bayescale.data import DEFAULT_COLUMNS, ScalingData
from bayescale.defaults import DIGITS, PROB
from bayescale.description import ModelDescription
from bayescale.diagnostics import diagnose, importance_ess, piled_at_bound
from bayescale.discrepancy import Grid
from bayescale.errors import DataError, ExtrapolationWarning, SpecificationError
from bayescale.extrapolation import RATIO, SCALE_SITES, ExtrapolationError
from bayescale.laws.base import INPUT_OF_ROLE, INPUTS, Law, Scale
from bayescale.loo import loo
from bayescale.prediction import KINDS, Assignment, Predictor, loss_draws, predictor
from bayescale.priors import prior_to_str
from bayescale.sanity import FLOPS_TOLERANCE, far_outside
from bayescale.sites import RUN, dims, is_sampled, natural_draws, natural_group_name, terms_of
from bayescale.terms import SEP
from bayescale.treebuild import SAMPLE_DIMS, tree_from_arrays

#: Largest ``rows x draws`` for which a fit stores its predictive groups (``"auto"``).
PREDICTIVE_MAX_ELEMENTS = 20_000_000

# Attribute names of the tree (the model and everything needed to predict from it).
ATTR_MODEL = "bayescale_model"
ATTR_SCALE = "bayescale_scale"
ATTR_SETTINGS = "bayescale_settings"
ATTR_INDEX = "bayescale_data_index"
#: A label part written as an integer is: no leading zeros.
_INTEGER = re.compile(r"[+-]?(0|[1-9]\d*)")
ATTR_DISCREPANCY = "bayescale_discrepancy"
ATTR_EXTRAPOLATION = "bayescale_extrapolation"
ATTR_TIMING = "bayescale_timing"
#: The group holding the ladder's leave-future-out record.
RECORD_GROUP = "extrapolation_record"


def _index_label(label: Any) -> int | float | str:
    """Return a row label as JSON keeps it: integers and floats as numbers, else text."""
    if isinstance(label, bool | np.bool_):
        return str(label)
    if isinstance(label, int | np.integer):
        return int(label)
    if isinstance(label, float | np.floating):
        return float(label)
    return str(label)


def _index_json(index: pd.Index) -> str:
    """Return a table's row labels as JSON that :func:`_index_from_json` rebuilds.

    A plain unnamed index of integers, floats or text is a list of its labels. Any other (dates,
    a time zone, a MultiIndex, names) is its levels as columns in pandas' table schema, which
    keeps their types, and its names. Where even that cannot rebuild the labels (periods, time
    deltas, intervals), they are kept as text.
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
            if _index_from_json(text).equals(index):
                return text
        except Exception:
            pass
    return json.dumps([_index_label(i) for i in index])


def _index_from_json(text: str) -> pd.Index:
    """Return the row labels :func:`_index_json` wrote (a list, or pandas' table schema)."""
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


def _importance_ess(table: pd.DataFrame, tree: xr.DataTree) -> pd.DataFrame:
    """Cap a summary's ESS at the importance ESS of an importance-sampled fit's draws.

    Its draws are a resample of weighted proposals, drawn in random order: ArviZ reads them
    as a chain without autocorrelation and counts the repeats as independent draws (about as
    many as there are), however few proposals carry the weight. The importance ESS (the
    ``ess_importance`` the diagnostics check) is what they are worth; the Monte Carlo errors
    grow with the square root of the ratio.
    """
    stats = tree.children.get("sample_stats")
    if stats is None or "ess_importance" not in stats or "ess_bulk" not in table:
        return table
    ess = importance_ess(stats)
    out = table.copy()
    if "r_hat" in out:  # one resample, not chains: there is nothing to compare (the
        out["r_hat"] = np.nan  # diagnostics report NaN too; the Pareto k-hat is the check)
    for col in ("ess_bulk", "ess_tail"):
        out[col] = np.minimum(out[col].to_numpy(float), ess)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.sqrt(table["ess_bulk"].to_numpy(float) / out["ess_bulk"].to_numpy(float))
    for col in ("mcse_mean", "mcse_sd"):
        if col in out:
            out[col] = np.where(
                out["ess_bulk"] > 0,
                out[col] * ratio,
                np.where(out["ess_bulk"] == 0, np.inf, out[col]),
            )
    return out


def tree_coords(data: ScalingData) -> dict[str, Any]:
    """Coords of a fit's tree: the levels of every group term and run, and the rows.

    Parameters
    ----------
    data : ScalingData
        The validated table (:meth:`bayescale.Model.prepare`).

    Returns
    -------
    dict
        ``{dim: labels}``: one entry per group term (its levels), ``run`` for a per-run
        effect, and ``obs`` (the row numbers).

    Examples
    --------
    >>> from bayescale.posterior import tree_coords
    >>> data = bs.Model(effects={"A": "family"}).prepare(family_runs)
    >>> coords = tree_coords(data)
    >>> list(coords), coords["family"]
    (['family', 'obs'], ['f0', 'f1', 'f2', 'f3'])
    """
    coords: dict[str, Any] = {t: list(g.labels) for t, g in data.groups.items()}
    if data.run is not None:
        coords[RUN] = list(data.run.labels)
    coords["obs"] = np.arange(data.n)
    return coords


def tree_dims(model: ModelDescription) -> dict[str, list[str]]:
    """Dims of every variable of a fit's tree (beyond ``chain, draw``).

    Parameters
    ----------
    model : ModelDescription
        The fitted model (:class:`bayescale.Model`).

    Returns
    -------
    dict
        ``{variable: [dim, ...]}`` for every variable with dims beyond ``chain, draw``.

    Examples
    --------
    >>> from bayescale.posterior import tree_dims
    >>> dims = tree_dims(bs.Model(effects={"A": "family"}))
    >>> dims["A_family"], dims["loss"]
    (['family'], ['obs'])
    """
    out = dims(model.law, model.effects, terms_of(model.effects))
    out["loss"] = ["obs"]
    return out


#: Suffixes of tables, which a fit's netCDF file is not given.
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".json", ".xlsx")


def write_tree(tree: xr.DataTree, path: str | Path) -> Path:
    """Write a posterior's DataTree (model spec in its attributes) to netCDF (h5netcdf).

    Parameters
    ----------
    tree : xarray.DataTree
        The tree (``post.tree``).
    path : str or Path
        The file (not a folder, nor named as a table: ``.csv``, ``.parquet``, ...); missing
        parent folders are created.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> from bayescale.posterior import write_tree
    >>> path = write_tree(post.tree, "fits/chinchilla.nc")
    >>> path.name, path.is_file()
    ('chinchilla.nc', True)
    """
    path = arguments.not_a_folder(path, "fit.nc")
    if path.suffix.lower() in TABLE_SUFFIXES:  # read back as a table by every other tool
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
    >>> from bayescale.posterior import read_tree
    >>> path = post.to_netcdf("fit.nc")
    >>> tree = read_tree(path)
    >>> tree["posterior"]["alpha"].dims
    ('chain', 'draw')
    """
    tree = xr.open_datatree(path, engine="h5netcdf").load()
    tree.close()
    return tree


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


def _points(values: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict]:
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


#: The columns of an extrapolation record (:mod:`bayescale.record`), as stored with a fit.
RECORD_COLUMNS = (
    "cut",
    "row",
    "distance",
    "loss",
    "median",
    "lower",
    "upper",
    "log_sd",
    "sensitivity",
    "in_likelihood",
)


class ScalingPosterior:
    """The posterior of a scaling-law fit: an ArviZ DataTree plus what it takes to predict.

    Parameters
    ----------
    tree : xarray.DataTree
        The ArviZ tree (see the module docstring for its groups).
    model : ModelDescription
        The fitted model (:class:`bayescale.Model`).
    scale : Scale
        The centring scale of the fitted table.
    grid : Grid, optional
        The discrepancy's grid (models with a discrepancy term).
    extrapolation : ExtrapolationError, optional
        The extrapolation-error term of the fit's predictions.

    Examples
    --------
    :func:`bayescale.fit` returns one (``post`` here is ``bs.fit(bs.Model(), runs, ...)``) and
    :func:`bayescale.load_posterior` reads a saved one back:

    >>> type(post).__name__
    'ScalingPosterior'
    >>> post.summary().index.tolist()
    ['E', 'A', 'B', 'alpha', 'beta', 'sigma', 'nu']
    >>> loss = post.predict(N=1e9, D=2e10)  # a 1B model on 20B tokens (inside the ladder)
    >>> loss.dims, round(float(loss.median()), 1)
    (('chain', 'draw', 'point'), 2.6)
    >>> sorted(post.tree.children)[:3]  # an ArviZ DataTree
    ['constant_data', 'extrapolation_record', 'log_likelihood']
    """

    def __init__(
        self,
        tree: xr.DataTree,
        model: ModelDescription,
        scale: Scale,
        grid: Grid | None = None,
        extrapolation: ExtrapolationError | None = None,
    ) -> None:
        self._tree = tree
        self._pending: Callable[[ScalingPosterior], None] | None = None
        self._pending_scales: Callable[[], tuple[Mapping, pd.DataFrame | None]] | None = None
        self.model = model
        self.scale = scale
        self.grid = grid
        self.extrapolation = extrapolation

    @property
    def tree(self) -> xr.DataTree:
        """The complete ArviZ tree (computing the prior and replicated groups on first access)."""
        self._learn_scales()
        if self._pending is not None:
            build, self._pending = self._pending, None
            build(self)
        return self._tree

    def _learn_scales(self) -> None:
        """Compute a learned extrapolation error's scales and record, once (timed)."""
        if self._pending_scales is None:
            return
        learn, self._pending_scales = self._pending_scales, None
        t0 = time.perf_counter()
        scales, record = learn()
        posterior = self._tree["posterior"].to_dataset()
        posterior = posterior.assign({k: (SAMPLE_DIMS, np.asarray(v)) for k, v in scales.items()})
        self._tree["posterior"] = xr.DataTree(posterior)
        if record is not None and len(record):
            table = record.reset_index(drop=True).rename_axis("record_point")
            self._tree[RECORD_GROUP] = xr.DataTree(xr.Dataset.from_dataframe(table))
        timing = {**self.timing, "extrapolation_record": round(time.perf_counter() - t0, 4)}
        self._tree.attrs[ATTR_TIMING] = json.dumps(timing)

    @tree.setter
    def tree(self, tree: xr.DataTree) -> None:
        self._tree, self._pending = tree, None

    @property
    def draws_tree(self) -> xr.DataTree:
        """The tree's groups that come from the fit itself, computing nothing.

        ``posterior``, ``sample_stats``, ``log_likelihood``, ``observed_data`` and
        ``constant_data`` (plus the prior and replicated groups once :attr:`tree` has built
        them): what diagnostics, summaries and LOO read.
        """
        return self._tree

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the complete tree (a posterior sent elsewhere carries every group)."""
        self.tree  # noqa: B018 - builds the pending groups
        return self.__dict__.copy()

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_draws(
        cls,
        model: ModelDescription,
        data: ScalingData,
        draws: Any,
        prior: Mapping[str, np.ndarray] | Callable[[], Mapping[str, np.ndarray]] | None = None,
        extrapolation_scales: (
            Callable[[], tuple[Mapping[str, np.ndarray], pd.DataFrame | None]] | None
        ) = None,
        grid: Grid | None = None,
        extrapolation: ExtrapolationError | None = None,
        predictive: bool | str = "auto",
        seed: int = 0,
    ) -> ScalingPosterior:
        """Build the posterior of one fit from its draws (:class:`~bayescale.inference.Draws`).

        Parameters
        ----------
        model, data
            The model and the validated table it was fitted to.
        draws : Draws
            The engine's draws, statistics, pointwise log likelihood and settings.
        prior : dict or callable, optional
            Prior draws of every site, ``(1, n, ...)``, with the prior predictive loss (on the
            loss scale) under ``"loss"``; or a function returning them, called (with the
            replicated groups computed) on first access of :attr:`tree`, so a fit whose tree is
            never read does not pay for them.
        extrapolation_scales : callable, optional
            Returns every draw's scales of a learned extrapolation error, ``{site: (chain,
            draw)}``, and the ladder's leave-future-out record (a table or ``None``); called on
            the first prediction, :meth:`calibration` or access of :attr:`tree`, which add the
            scales to the posterior group and the record as the group ``extrapolation_record``.
        grid, extrapolation
            The discrepancy's grid and the extrapolation-error term, if any.
        predictive : bool or "auto"
            Store ``posterior_predictive`` and ``prior_predictive`` (replicated losses of the
            fitted rows); ``"auto"`` does when ``rows x draws`` is at most
            :data:`PREDICTIVE_MAX_ELEMENTS` (:func:`with_predictive` adds them later).
        seed : int
            Seed of the replicated losses.

        Returns
        -------
        ScalingPosterior
            The posterior (:meth:`bayescale.Model.posterior_from` adds the prior and the
            learned extrapolation error, as :func:`bayescale.fit` does).

        Examples
        --------
        Draws of the inference engine (here importance sampling, a second or so) become a
        posterior:

        >>> from bayescale.inference import NutsSettings, sample_importance
        >>> model = bs.Model()
        >>> data = model.prepare(runs)
        >>> (draws,) = sample_importance(model, [data], NutsSettings(chains=2, draws=1000))
        >>> rebuilt = bs.ScalingPosterior.from_draws(model, data, draws)
        >>> dict(rebuilt.posterior.sizes), rebuilt.settings["method"]
        ({'chain': 2, 'draw': 1000}, 'psis')
        """
        posterior = dict(draws.samples)
        terms = terms_of(model.effects)
        posterior.update(natural_draws(model.law, model.effects, posterior, data.scale, terms))
        constant = {f"x_{k}": v for k, v in data.x.items()}
        constant.update({f"code_{t}": g.codes for t, g in data.groups.items()})
        if data.run is not None:
            constant["code_run"] = data.run.codes
        attrs = {
            ATTR_MODEL: json.dumps(model.spec(), sort_keys=True),
            ATTR_SCALE: json.dumps(data.scale.to_dict(), sort_keys=True),
            ATTR_SETTINGS: json.dumps(draws.settings, sort_keys=True),
            ATTR_INDEX: _index_json(data.index),
            ATTR_TIMING: json.dumps({k: round(v, 4) for k, v in draws.timing.items()}),
        }
        if grid is not None:
            attrs[ATTR_DISCREPANCY] = json.dumps(grid.to_dict())
        if extrapolation is not None:
            attrs[ATTR_EXTRAPOLATION] = json.dumps(extrapolation.to_dict())
        var_dims = tree_dims(model)
        var_dims.update({k: ["obs"] for k in constant})
        groups: dict[str, Any] = {
            "posterior": posterior,
            "sample_stats": draws.stats,
            "log_likelihood": draws.log_likelihood,
            "observed_data": {"loss": data.loss},
            "constant_data": constant,
        }
        coords = tree_coords(data)
        tree = tree_from_arrays(groups, coords=coords, dims=var_dims)
        tree.attrs.update(attrs)
        post = cls(tree, model, data.scale, grid, extrapolation)
        samples = int(np.prod([tree["posterior"].sizes[d] for d in SAMPLE_DIMS]))
        if predictive == "auto":
            predictive = data.n * samples <= PREDICTIVE_MAX_ELEMENTS

        def build(post: ScalingPosterior) -> None:
            draws = prior() if callable(prior) else prior
            if draws is not None:
                sites = {k: v for k, v in draws.items() if k != "loss"}
                prior_tree = tree_from_arrays({"prior": sites}, coords=coords, dims=var_dims)
                post._tree["prior"] = prior_tree["prior"]
            if predictive:
                with_predictive(post, seed=seed)
                if draws is not None and "loss" in draws:
                    da = xr.DataArray(
                        np.asarray(draws["loss"]),
                        dims=("chain", "draw", "obs"),
                        coords={"obs": np.arange(data.n)},
                    )
                    post._tree["prior_predictive"] = xr.DataTree(xr.Dataset({"loss": da}))

        if callable(prior):
            post._pending = build
        else:
            build(post)
        post._pending_scales = extrapolation_scales
        return post

    @classmethod
    def from_tree(cls, tree: xr.DataTree, model: ModelDescription) -> ScalingPosterior:
        """Rebuild a posterior from its DataTree and its model (see ``load_posterior``).

        Parameters
        ----------
        tree : xarray.DataTree
            A fit's tree, with the attributes :meth:`from_draws` wrote (its scale, and its
            discrepancy grid and extrapolation error if any).
        model : ModelDescription
            The fitted model.

        Returns
        -------
        ScalingPosterior

        Examples
        --------
        >>> from bayescale.posterior import read_tree
        >>> tree = read_tree(post.to_netcdf("fit.nc"))
        >>> again = bs.ScalingPosterior.from_tree(tree, bs.Model())
        >>> again.law.name, again.extrapolation.mode
        ('chinchilla', 'inputs')
        """
        scale = Scale.from_dict(json.loads(tree.attrs[ATTR_SCALE]))
        grid = tree.attrs.get(ATTR_DISCREPANCY)
        grid = Grid(**json.loads(grid)) if grid else None
        extrap = tree.attrs.get(ATTR_EXTRAPOLATION)
        extrap = ExtrapolationError.from_dict(json.loads(extrap)) if extrap else None
        return cls(tree, model, scale, grid, extrap)

    # -- I/O ----------------------------------------------------------------------------------
    def to_netcdf(self, path: str | Path) -> Path:
        """Write the DataTree (with the model spec in its attributes) to a netCDF file.

        Parameters
        ----------
        path : str or Path
            The file (conventionally ``.nc``); missing parent folders are created.

        Returns
        -------
        Path
            The file written; :func:`bayescale.load_posterior` reads it back.

        Examples
        --------
        >>> path = post.to_netcdf("chinchilla.nc")
        >>> back = bs.load_posterior(path)
        >>> back.law.name, back.posterior.sizes["draw"]
        ('chinchilla', 1000)
        """
        arguments.not_a_folder(path, "fit.nc")  # before the tree's pending work is done
        return write_tree(self.tree, path)

    # -- views --------------------------------------------------------------------------------
    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group as an xarray Dataset."""
        return self._tree["posterior"].to_dataset()

    @property
    def law(self) -> Law:
        """The fitted law."""
        return self.model.law

    @property
    def cost(self) -> TrainingCost:
        """The fit's training cost ``C = k N D``."""
        return self.model.cost

    @property
    def settings(self) -> dict[str, Any]:
        """The sampler settings the fit ran with."""
        return json.loads(self._tree.attrs.get(ATTR_SETTINGS, "{}"))

    @property
    def timing(self) -> dict[str, float]:
        """Wall seconds of each phase of the fit (initialisation, MAP, NUTS, log likelihood)."""
        return json.loads(self._tree.attrs.get(ATTR_TIMING, "{}"))

    def group_labels(self, term: str) -> list[str]:
        """Labels of a group term (the coords of its dim).

        Parameters
        ----------
        term : str
            The term's name (its dim): the column for a one-column term, ``"family"``; ``"run"``
            for the fitted runs of a per-run effect.

        Returns
        -------
        list of str

        Examples
        --------
        >>> family_post.group_labels("family")
        ['f0', 'f1', 'f2', 'f3']
        """
        coords = self._tree["posterior"].coords
        terms = [str(t) for t in terms_of(self.model.effects)] + ([RUN] if RUN in coords else [])
        if term not in terms or term not in coords:
            raise KeyError(
                f"group_labels: no group term {term!r} in this fit; its terms are {terms} "
                "(a term of two columns is named 'a:b')."
            )
        return [str(v) for v in self._tree["posterior"][term].values]

    def parameter_names(self) -> list[str]:
        """Natural population parameters, effect SDs, noise and per-group natural parameters.

        Examples
        --------
        >>> post.parameter_names()
        ['E', 'A', 'B', 'alpha', 'beta', 'sigma', 'nu']
        >>> family_post.parameter_names()[5:]  # A varies by family
        ['sd_a__family', 'sigma', 'nu', 'A_family']
        """
        post = self._tree["posterior"]
        names = list(self.law.natural_names)
        names += [v for v in post.data_vars if v.startswith("sd_")]
        names += [v for v in ("sigma", "nu") if v in post.data_vars]
        for term in terms_of(self.model.effects):
            names += [
                natural_group_name(k, term)
                for k in self.law.natural_names
                if natural_group_name(k, term) in post
            ]
        return names

    def summary(self, var_names: list[str] | None = None, **kwargs: Any) -> pd.DataFrame:
        """Posterior summary table (``arviz_stats.summary``) of the natural parameters.

        Central intervals at :data:`bayescale.defaults.PROB` (90 %, as every other output)
        unless ``ci_prob`` is given; numbers unrounded unless ``round_to`` is given (printed
        tables show :data:`~bayescale.defaults.DIGITS` significant digits).

        Parameters
        ----------
        var_names : list of str, optional
            The quantities; default :meth:`parameter_names` (natural parameters, effect SDs,
            noise, per-group parameters).
        **kwargs
            Passed to ``arviz_stats.summary`` (``ci_prob``, ``round_to``, ``kind``, ...).

        Returns
        -------
        pandas.DataFrame
            One row per quantity: ``mean``, ``sd``, the interval bounds, ESS, R-hat and MCSE
            (with one chain, the split R-hat of its two halves, as :meth:`diagnostics`). For an
            importance-sampled fit the ESS is at most the importance ESS of its weights (its
            draws are a resample, and their repeats are not independent draws), and the MCSE
            grows to match.

        Examples
        --------
        >>> table = post.summary(["E", "alpha", "beta"])
        >>> table.columns.tolist()
        ['mean', 'sd', 'eti90_lb', 'eti90_ub', 'ess_bulk', 'ess_tail', 'r_hat', 'mcse_mean',
         'mcse_sd']
        >>> round(float(table.loc["alpha", "mean"]), 1)
        0.4
        >>> family_post.summary(["A_family"]).index.tolist()  # one row per family
        ['A_family[f0]', 'A_family[f1]', 'A_family[f2]', 'A_family[f3]']
        """
        if "hdi_prob" in kwargs:  # ArviZ 0.x's name
            raise TypeError(
                "summary takes ci_prob= (the interval's probability, as ArviZ 1.x names it), "
                "not hdi_prob=."
            )
        kwargs["ci_prob"] = arguments.probability(kwargs.get("ci_prob", PROB), "ci_prob")
        kwargs["round_to"] = arguments.rounding(kwargs.get("round_to", "none"))
        var_names = arguments.names(var_names)
        known = self.parameter_names()
        group = kwargs.get("group", "posterior")
        tree = self.draws_tree if group in self.draws_tree.children else self.tree  # the prior
        if group not in tree.children:
            raise KeyError(
                f"summary: group={group!r} is not a group of this fit; it has "
                f"{sorted(tree.children)}."
            )
        in_group = tree[group]
        if not {"chain", "draw"} <= set(in_group.dims):
            raise ValueError(
                f"summary: group={group!r} holds data, not draws; summarise 'posterior' (the "
                "default) or 'prior'."
            )
        if group != "posterior":  # its own variables: the prior holds the sampled sites
            held = [str(v) for v, a in in_group.data_vars.items() if "draw" in a.dims]
            var_names = var_names or held
            patterns = kwargs.get("filter_vars") is not None
            absent = [v for v in var_names if not patterns and v.lstrip("~") not in held]
            if absent:
                sites = {p.natural: p.name for p in self.law.parameters}
                hint = [
                    f"{v} as {sites[v.lstrip('~')]}"
                    for v in absent
                    if sites.get(v.lstrip("~")) in held
                ]
                raise KeyError(
                    f"summary: group={group!r} holds no {absent}; it holds {held}"
                    + (f" (the law's parameters as sampled: {', '.join(hint)})" if hint else "")
                    + "."
                )
        unknown = [
            v
            for v in var_names or ()
            if kwargs.get("filter_vars") is None  # "like" and "regex" name patterns, not names
            and not str(v).startswith("~")
            and v not in known
            and v not in in_group
        ]
        if unknown:
            raise KeyError(f"summary: no parameter(s) {unknown} in this fit; it has {known}.")
        # an importance-sampled fit's ESS and Monte Carlo errors are corrected below, so they are
        # rounded after that (ArviZ's rounding first left an MCSE of 0.0146 at 0.000000)
        weighted = "ess_importance" in self.draws_tree.children.get("sample_stats", {})
        rounding = kwargs.pop("round_to") if weighted else None
        with np.errstate(divide="ignore", invalid="ignore"):  # chains stuck apart: R-hat inf
            table = arviz_stats.summary(
                tree,
                var_names=var_names or self.parameter_names(),
                **kwargs,
                **({"round_to": "none"} if weighted else {}),
            )
        if "r_hat" in table and self.posterior.sizes.get("chain") == 1:
            # ArviZ's R-hat needs two chains; the diagnostics split the one chain in halves
            split = self.diagnostics(warn=False)["r_hat"]
            table["r_hat"] = split.reindex(table.index).to_numpy()
        table = _importance_ess(table, self._tree)
        if rounding not in (None, "none", "None"):
            digits = arviz_base.rcParams["stats.round_to"] if rounding == "auto" else rounding
            table = table.map(lambda x: round_num(x, digits))
        return table

    def diagnostics(self, warn: bool = True) -> pd.DataFrame:
        """R-hat, ESS, divergences, tree depth and E-BFMI (:func:`bayescale.diagnose`).

        Parameters
        ----------
        warn : bool
            Warn (:class:`~bayescale.errors.ConvergenceWarning`) when a check fails, or
            (:class:`~bayescale.errors.SamplerEfficiencyWarning`) when every check passes but
            draws hit the maximum tree depth, or (:class:`~bayescale.errors.HeavyTailWarning`) when
            they pass and the Student-t's degrees of freedom fall below 1.

        Returns
        -------
        pandas.DataFrame
            Per parameter ``ess_bulk``, ``ess_tail``, ``r_hat`` and ``ok``; the sampler's checks
            and the overall ``ok`` in ``attrs``.

        Examples
        --------
        >>> table = post.diagnostics()
        >>> table.columns.tolist(), table.attrs["ok"], table.attrs["divergences"]
        (['ess_bulk', 'ess_tail', 'r_hat', 'ok'], True, 0)
        """
        return diagnose(self, warn=warn)

    def loo(self, pointwise: bool = True):
        """PSIS-LOO on the loss scale (:func:`bayescale.loo`).

        Parameters
        ----------
        pointwise : bool
            Keep each row's ELPD and Pareto k-hat.

        Returns
        -------
        arviz_stats.ELPDData
            ``elpd``, ``se``, ``p`` and, pointwise, ``elpd_i`` and ``pareto_k``.

        Examples
        --------
        >>> res = post.loo()
        >>> int(res.n_data_points), bool((res.pareto_k <= res.good_k).all())  # all k-hat good
        (35, True)
        """
        return loo(self, pointwise=pointwise)

    def _constant_data(self, needed_for: str) -> xr.DataTree:
        """Return the tree's ``constant_data`` (the fitted rows' inputs and group codes).

        Raises
        ------
        SpecificationError
            When the fit carries none: the link step of a two-step fit
            (``joint.link_posterior``) reads the latent loss, which no table holds.
        """
        if "constant_data" not in self._tree.children:
            raise SpecificationError(
                f"{needed_for} needs the fitted rows' inputs, and this fit carries none: the "
                "link step of a two-step fit reads each run's latent loss, which no table holds. "
                "Check the link with bs.loo, bs.loo_pit and plot_ppc of joint.link_posterior, "
                "and report the loss step (joint.loss_posterior)."
            )
        return self._tree["constant_data"]

    def fitted_table(self) -> pd.DataFrame:
        """Return the fitted table rebuilt from the tree: inputs, loss, group and run columns.

        Examples
        --------
        >>> table = family_post.fitted_table()
        >>> table.shape, table.columns.tolist()
        ((60, 4), ['params', 'tokens', 'loss', 'family'])
        >>> table.index.equals(family_runs.index)  # the table's own row labels
        True
        >>> bool(np.allclose(table["loss"], family_runs["loss"]))
        True
        """
        cols = {**DEFAULT_COLUMNS, **dict(self.model.spec().get("columns") or {})}
        const = self._constant_data("Rebuilding the fitted table (for the report and plot_fit)")
        df = pd.DataFrame({cols[INPUTS[k]]: const[f"x_{k}"].values for k in self.law.inputs})
        df[cols["loss"]] = self._tree["observed_data"]["loss"].values
        for term in terms_of(self.model.effects):
            labels = np.asarray(self.group_labels(term.name))[const[f"code_{term}"].values]
            for i, col in enumerate(term.columns):
                if col not in df:
                    df[col] = [term.split(lab)[i] for lab in labels]
        if "code_run" in const:
            run = self.model.spec().get("run")
            df[run if isinstance(run, str) else cols["run"]] = np.asarray(self.group_labels(RUN))[
                const["code_run"].values
            ]
        index = self._tree.attrs.get(ATTR_INDEX)
        if index:
            df.index = _index_from_json(index)
        return df

    # -- prediction ---------------------------------------------------------------------------
    def assignment(self, groups: Mapping[str, Any], m: int, new_groups: bool) -> Assignment:
        """Group levels of ``m`` points from labels by column (see :meth:`predict`).

        Parameters
        ----------
        groups : dict
            Labels by group column (and ``run``): a scalar or ``m`` labels each.
        m : int
            Number of points.
        new_groups : bool
            Allow labels not seen in the data (each a new level); otherwise they are an error.

        Returns
        -------
        Assignment
            Per term the level codes of the points (a new level numbered after the fitted
            ones) and the number of new levels; the same for runs.

        Examples
        --------
        >>> family_post.assignment({"family": ["f0", "f2"]}, 2, new_groups=False).codes
        {'family': array([0, 2])}
        >>> family_post.assignment({"family": "f9"}, 1, new_groups=True).new_levels
        {'family': 1}
        """
        new_groups = arguments.flag(new_groups, "new_groups")
        terms = terms_of(self.model.effects)
        known = {c for t in terms for c in t.columns}
        unknown = set(groups) - known - {RUN}
        inputs = sorted(unknown & {*self.law.inputs, *(INPUTS[k] for k in self.law.inputs)})
        if inputs:  # an input where this call sets the inputs itself (an allocation, a sweep)
            raise DataError(
                f"{', '.join(f'{k}=' for k in inputs)}: this call sets the law's inputs itself "
                "(it searches or sweeps them), so it takes none by name; drop "
                f"{', '.join(f'{k}=' for k in inputs)}."
            )
        if unknown:
            head = (
                f"{sorted(unknown)} is neither an input nor a group column of this model; "
                f"inputs are {list(self.law.inputs)}, group columns {sorted(known)}."
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
            need = sorted(
                {o for t in terms if unread[0] in t.columns for o in t.columns} - set(groups)
            )
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
            cols = {
                c: np.broadcast_to(np.asarray(groups[c], dtype=object), (m,)) for c in term.columns
            }
            labels = [term.label({c: v[i] for c, v in cols.items()}) for i in range(m)]
            codes[term.name], new_levels[term.name] = self._codes(
                term.name, labels, new_groups, self.group_labels(term.name)
            )
        run, new_runs = None, 0
        if RUN in groups:
            if RUN not in self._tree["posterior"].coords:
                raise DataError("run= was given but this model has no per-run effect.")
            labels = [str(v) for v in np.broadcast_to(np.asarray(groups[RUN], dtype=object), (m,))]
            run, new_runs = self._codes(RUN, labels, new_groups, self.group_labels(RUN))
        return Assignment(codes, new_levels, run, new_runs)

    @staticmethod
    def _codes(
        term: str, labels: list[str], new_groups: bool, fitted: list[str]
    ) -> tuple[np.ndarray, int]:
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

    def predictor(
        self,
        new_groups: bool = False,
        rng_seed: int | jax.Array = 0,
        m: int = 1,
        **groups: Any,
    ) -> Predictor:
        """Return this fit's :class:`~bayescale.prediction.Predictor` at given group labels.

        Labels are given by column (scalars, or arrays of ``m`` per-point labels); a term whose
        columns are not all given is a new group (its effects drawn from the population).

        Parameters
        ----------
        new_groups : bool
            Allow labels not seen in the data.
        rng_seed : int or jax.Array
            Seed (or key) of the new-group effects.
        m : int
            Number of points the labels are given for.
        **groups
            Group labels by column (``family="f1"``).

        Returns
        -------
        Predictor
            The prediction path over every draw, for any inputs (arrays, in JAX).

        Examples
        --------
        >>> import jax
        >>> pred = family_post.predictor(family="f1")
        >>> x = {"N": np.array([1e8, 1e9]), "D": np.array([2e9, 2e10])}
        >>> pred.loss(x, "mean", jax.random.PRNGKey(0)).shape  # (chain, draw, point)
        (2, 1000, 2)
        """
        key = rng_seed
        if not isinstance(key, jax.Array):
            key = jax.random.PRNGKey(arguments.seed(rng_seed, "rng_seed"))
        return predictor(
            self.sampled(),
            self.model,
            self.scale,
            self.assignment(groups, m, new_groups),
            key,
            grid=self.grid,
            extrapolation=self.extrapolation,
        )

    def predict(
        self,
        kind: str = "predictive",
        new_groups: bool = False,
        rng_seed: int = 0,
        **values: Any,
    ) -> xr.DataArray:
        """Posterior draws of the loss at new inputs (:func:`bayescale.predict`).

        Parameters
        ----------
        kind : {"predictive", "mean"}
            ``"mean"``: the law's loss (with its extrapolation error); ``"predictive"``: a new
            observation, with a run's effect and observation noise.
        new_groups : bool
            Allow labels not seen in the data: their effects are drawn from the population.
            Without it an unknown label is an error (a typo would otherwise pass silently).
        rng_seed : int
            Seed of the draws of new-group effects, extrapolation error and noise (named so
            that ``seed=`` stays free for a group column of training seeds).
        **values
            Inputs by input name or column role (``N=``/``params=``, ``D=``/``tokens=``,
            ``C=``/``flops=``, ``step=``; scalars or arrays, broadcast together) and group
            labels by column (``family="f1"``, scalars or one label per point; ``run=`` a
            fitted run). A group term whose columns are not all given is a new group (the
            population predictive).

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, point)``; the inputs and labels are coords on ``point``.

        Examples
        --------
        >>> loss = post.predict(N=[1e8, 1e9], D=[5e9, 2e10])
        >>> dict(loss.sizes)
        {'chain': 2, 'draw': 1000, 'point': 2}
        >>> loss.median(("chain", "draw")).round(1).values.tolist()
        [3.2, 2.6]
        >>> band = post.predict(N=1e9, D=2e10, kind="mean").quantile([0.05, 0.95])
        >>> bool(band[0] < band[1])
        True

        Group labels pick a fitted group; an unseen one needs ``new_groups=True``:

        >>> family_post.predict(N=1e8, D=2e9, family="f1")["family"].values.tolist()
        ['f1']
        >>> family_post.predict(N=1e8, D=2e9, family="f9", new_groups=True).shape
        (2, 1000, 1)
        """
        if not isinstance(kind, str):  # a table or numbers where the inputs go by name
            raise TypeError(
                f"predict's first argument is kind ('predictive' or 'mean'); got a "
                f"{type(kind).__name__}. Give the inputs by name: post.predict(N=..., D=...), "
                "or a table's columns as post.predict(**points[['N', 'D']])."
            )
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r}; choose 'predictive' or 'mean'.")
        x, groups, m = self.points(**values)
        self.warn_far_outside(x, "Predicting")
        draws = loss_draws(
            self.sampled(x),
            self.model,
            self.scale,
            self.assignment(groups, m, new_groups),
            x,
            kind,
            jax.random.PRNGKey(arguments.seed(rng_seed, "rng_seed")),
            grid=self.grid,
            extrapolation=self.extrapolation,
        )
        _warn_undefined(np.asarray(draws), self.law.display_name, kind)
        return self.label(draws, x, groups)

    def calibration(self, prob: float = PROB) -> pd.DataFrame:
        """Return the ladder's own extrapolation record: what its refits predicted, and what came.

        Leave-future-out inside the training data (:mod:`bayescale.record`): one row per held-out
        row of each cut, with its ``distance`` (decades past the cut's data), the observed
        ``loss``, the refit's ``median`` and central 90 % interval trusting the law
        (``lower``, ``upper``), and the same interval at level ``prob`` widened by the learned
        extrapolation error (``lower_with_error``, ``upper_with_error``; its scales are the
        posterior's, learned from this same record, so this coverage is in-sample). No rows
        (the same columns) for a fit without a learned error or with too few rows for a cut,
        whose error's scales come from the prior across ladders alone.

        Parameters
        ----------
        prob : float
            Probability of the intervals widened by the learned error.

        Returns
        -------
        pandas.DataFrame
            One row per held-out row of each cut.

        Examples
        --------
        >>> record = post.calibration()
        >>> record["cut"].unique().tolist()
        ['future 20%', 'future 40%', 'future 60%']
        >>> record.columns.tolist()[2:7]
        ['distance', 'loss', 'median', 'lower', 'upper']
        >>> len(record)  # the ladder's top 1, 2 and 3 budgets held out: 7 + 14 + 21 rows
        42
        """
        prob = arguments.probability(prob)
        self._learn_scales()
        if RECORD_GROUP not in self._tree.children:  # no rows, the columns of one
            columns = (*RECORD_COLUMNS, "lower_with_error", "upper_with_error")
            return pd.DataFrame({c: pd.Series(dtype=float) for c in columns}).astype(
                {"cut": str, "row": int, "in_likelihood": bool}
            )
        table = self._tree[RECORD_GROUP].to_dataset().to_dataframe().reset_index(drop=True)
        post = self._tree["posterior"]
        if SCALE_SITES[0] in post and self.extrapolation is not None:
            var = np.mean(
                self.extrapolation.variance(
                    table["distance"].to_numpy()[:, None],
                    post[SCALE_SITES[0]].values.reshape(1, -1),
                    post[SCALE_SITES[1]].values.reshape(1, -1),
                ),
                axis=1,
            )
            if "sensitivity" in table:  # an error of the law's inputs, in log loss
                var = var * table["sensitivity"].to_numpy() ** 2
            half = stats.norm.ppf(0.5 + prob / 2) * np.sqrt(table["log_sd"].to_numpy() ** 2 + var)
            table["lower_with_error"] = table["median"] * np.exp(-half)
            table["upper_with_error"] = table["median"] * np.exp(half)
        return table

    def sampled(self, x: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Draws of the sampled sites the prediction path reads (not the derived ones).

        With inputs ``x`` that all lie inside the data, a learned extrapolation error (zero
        there, whatever its scales) is not learned yet: its scales read as zeros, and the
        predictions are the same as after learning them.

        Parameters
        ----------
        x : dict, optional
            The inputs about to be predicted (``{"N": array, ...}``).

        Returns
        -------
        dict
            ``{site: array (chain, draw, ...)}``.

        Examples
        --------
        >>> draws = post.sampled()
        >>> sorted(draws)[:5], draws["log_E"].shape
        (['a', 'b', 'extrap_growth', 'extrap_offset', 'log_E'], (2, 1000))
        """
        inside = (
            x is not None
            and self._pending_scales is not None
            and self.extrapolation is not None
            and not np.any(np.asarray(self.extrapolation.distance(x)) > 0)
        )
        if not inside:
            self._learn_scales()
        post = self._tree["posterior"]
        out = {k: v.values for k, v in post.data_vars.items() if is_sampled(k, self.law)}
        if inside:
            shape = next(iter(out.values())).shape[:2]
            out.update({k: np.zeros(shape) for k in SCALE_SITES})
        return out

    def piled_at_prior_bounds(self) -> list[tuple[str, str, float, float]]:
        """Return the law parameters whose draws pile against a bound of their prior.

        Only a prior with a bounded support (a ``Uniform``, a truncated normal) has a bound;
        the default priors have none. Where a prior is of the difference from another site
        (:meth:`~bayescale.model.Model.site_relative_to`), the difference is checked.

        Returns
        -------
        list of tuple
            ``(site, prior, bound, share)`` per parameter that piles up
            (:func:`bayescale.diagnostics.piled_at_bound`); empty when none does.

        Examples
        --------
        >>> post.piled_at_prior_bounds()  # the default priors have no bounds
        []
        """
        draws = self.draws_tree["posterior"]
        out = []
        for p in self.law.parameters:
            if p.name not in draws:
                continue
            prior = self.model.site_prior(p.name, self.scale)
            support = prior.support
            lower = float(np.max(getattr(support, "lower_bound", -np.inf)))
            upper = float(np.min(getattr(support, "upper_bound", np.inf)))
            if not (np.isfinite(lower) or np.isfinite(upper)):
                continue
            values = draws[p.name].values
            other = self.model.site_relative_to(p.name)
            name = p.name if other is None else f"{p.name} - {other}"
            if other is not None:
                values = values - draws[other].values
            hit = piled_at_bound(values, lower, upper)
            if hit is not None:
                out.append((name, prior_to_str(prior, digits=DIGITS), *hit))
        return out

    def predict_inputs(self) -> frozenset[str]:
        """Return the inputs :meth:`predict` takes for this fit's law.

        The law's own inputs; ``N``, ``D`` and ``C`` stand in for one another where the law
        reads ``N`` and ``D``, or ``C`` (a budget and one side of the allocation give the
        other). Any other input is refused: a value the law does not read would be shown
        beside predictions it did not shape.

        Returns
        -------
        frozenset of str
            The names of the inputs (``"N"``, ``"D"``, ``"C"``, ``"step"``...).

        Examples
        --------
        >>> sorted(post.predict_inputs())
        ['C', 'D', 'N']
        """
        reads = set(self.law.inputs)
        if {"N", "D"} <= reads or "C" in reads:
            reads |= {"N", "D", "C"}
        return frozenset(reads)

    def data_range(self) -> ExtrapolationError | None:
        """Return the training data's range on every axis (log10), as the extrapolation reads it.

        ``None`` for a posterior that keeps neither an extrapolation term nor its inputs.

        Examples
        --------
        >>> span = post.data_range()
        >>> {k: [round(v, 1) for v in r] for k, r in span.ranges.items()}  # log10 N, D, C, D/N
        {'N': [7.3, 9.4], 'D': [8.7, 11.0], 'C': [18.0, 20.0], 'D/N': [0.2, 2.8]}
        """
        if self.extrapolation is not None:
            return self.extrapolation
        if "constant_data" not in self._tree.children:
            return None
        const = self._tree["constant_data"]
        x = {k: const[f"x_{k}"].values for k in self.law.inputs}
        return ExtrapolationError.from_data(x, mode="fixed", cost=self.cost)

    def warn_far_outside(self, x: Mapping[str, Any], what: str) -> None:
        """Warn (:class:`~bayescale.errors.ExtrapolationWarning`) for inputs far past the data.

        Far: more than :data:`~bayescale.sanity.FAR_ABOVE_DECADES` (4) decades above the data
        on any axis, or more than 1 decade below it.

        Parameters
        ----------
        x : dict
            Inputs by name (``{"C": ...}``, ``{"N": ..., "D": ...}``).
        what : str
            The start of the message (``"Predicting"``, ``"Budgets reach"``).

        Warns
        -----
        ExtrapolationWarning
            When any point lies far past the data.

        Examples
        --------
        >>> import warnings
        >>> post.warn_far_outside({"C": 1e21}, "Predicting")  # 1 decade out: no warning
        >>> post.warn_far_outside({"N": 1e10, "D": 1e9}, "Predicting")  # 0.1 token per parameter
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     post.warn_far_outside({"C": 1e25}, "Predicting")
        >>> print(caught[0].message)
        Predicting 5.0 decades past the largest training run: ...
        """
        ranges = self.data_range()
        if ranges is not None:
            # the warning speaks of sizes and compute past the data; tokens per parameter
            # outside the ladder's (an axis of the extrapolation error) is not that
            sizes = dataclasses.replace(
                ranges, ranges={k: v for k, v in ranges.ranges.items() if k != RATIO}
            )
            up, down = sizes.distances(x)
            far_outside(np.asarray(up), np.asarray(down), what)

    def points(self, **values: Any) -> tuple[dict[str, np.ndarray], dict[str, Any], int]:
        """Validate :meth:`predict`'s keyword arguments: ``(inputs, group labels, points)``.

        Inputs come back as flat arrays of one length ``m`` (``C = k N D`` added where the law
        reads ``C``); labels as given.

        Parameters
        ----------
        **values
            Inputs by name or column role and group labels by column, as for :meth:`predict`.

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
        >>> x, groups, m = family_post.points(params=[1e8, 2e8], tokens=2e9, family="f1")
        >>> x["D"], groups, m
        (array([2.e+09, 2.e+09]), {'family': 'f1'}, 2)
        """
        # the fitted table's own names for the inputs (columns={"params": "N_params"}) too
        named = {
            c: r
            for r, c in (self.model.columns or {}).items()
            if r in INPUT_OF_ROLE and c not in INPUT_OF_ROLE and c not in INPUTS
        }
        twice = [k for k in values if k in named and named[k] in values]
        if twice:
            raise ValueError(
                f"predict: {twice[0]!r} and {named[twice[0]]!r} both give the input "
                f"{INPUT_OF_ROLE[named[twice[0]]]}; give it once."
            )
        x, groups = _points({named.get(k, k): v for k, v in values.items()})
        reads = set(self.law.inputs)
        if "C" in reads and "C" not in x and {"N", "D"} <= set(x):
            x["C"] = self.cost.flops(x["N"], x["D"])
        if "C" in x and {"N", "D"} <= reads and len({"N", "D"} & set(x)) == 1:
            given, other = ("N", "D") if "N" in x else ("D", "N")
            try:  # a budget and one side of the allocation: the other follows
                x[other] = self.cost.tokens(x["C"], x[given])
            except ValueError:
                raise DataError(
                    f"predict: C and {given} of shapes {np.shape(x['C'])} and "
                    f"{np.shape(x[given])} do not broadcast together; give scalars or arrays of "
                    "one length."
                ) from None
        missing = [k for k in self.law.inputs if k not in x]
        if missing:
            names = ", ".join(f"{k} (or {INPUTS[k]})" for k in missing)
            tail = f"the {self.law.name} law, which reads {', '.join(self.law.inputs)}"
            budget = (
                " (a budget C stands in for N or D given the other)" if {"N", "D"} <= reads else ""
            )
            raise DataError(
                f"predict needs {names} for {tail}{budget}.",
                command_line="predict needs "
                + ", ".join(
                    f"--{k}" if k in ("N", "D", "C") else f"a --points file's column {INPUTS[k]!r}"
                    for k in missing
                )
                + f" for {tail}{budget.replace('C', '--C').replace(' N or D', ' --N or --D')}.",
            )
        takes = self.predict_inputs()
        unread = [k for k in x if k not in takes]
        if unread:  # shown beside predictions it did not shape
            raise DataError(
                f"predict: the {self.law.name} law reads {', '.join(self.law.inputs)}, not "
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
            implied = self.cost.flops(x["N"], x["D"])
            off = np.abs(np.log(x["C"] / implied)) > np.log1p(FLOPS_TOLERANCE)
            if np.any(off):
                i = int(np.argmax(off))
                problem = (
                    f"predict: C={x['C'][i]:.4g} disagrees with N={x['N'][i]:.4g} and "
                    f"D={x['D'][i]:.4g}, whose {self.cost.describe()} is {implied[i]:.4g}. Give N "
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

    def label(
        self, draws: Any, x: Mapping[str, np.ndarray], groups: Mapping[str, Any], name: str = "loss"
    ) -> xr.DataArray:
        """Label draws ``(chain, draw, point)`` with the inputs and group labels of the points.

        Parameters
        ----------
        draws : array
            Draws shaped ``(chain, draw, point)``.
        x : dict
            The points' inputs (flat arrays, :meth:`points`).
        groups : dict
            The points' group labels by column.
        name : str
            Name of the DataArray.

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, point)``, the inputs and labels as coords on ``point``.

        Examples
        --------
        >>> import jax
        >>> x, groups, m = family_post.points(N=[1e8, 1e9], D=2e10, family="f1")
        >>> raw = family_post.predictor(m=m, **groups).loss(x, "mean", jax.random.PRNGKey(0))
        >>> da = family_post.label(raw, x, groups)
        >>> da.dims, da["family"].values.tolist()
        (('chain', 'draw', 'point'), ['f1', 'f1'])
        """
        post = self._tree["posterior"]
        m = next(iter(x.values())).shape[0]
        coords: dict[str, Any] = {
            "chain": post["chain"].values,
            "draw": post["draw"].values,
            **{k: ("point", v) for k, v in x.items()},
        }
        for col, val in groups.items():
            coords[col] = (
                "point",
                np.broadcast_to(np.asarray(val, dtype=object), (m,)).astype(str),
            )
        return xr.DataArray(
            np.asarray(draws), dims=("chain", "draw", "point"), coords=coords, name=name
        )


def fitted_assignment(post: ScalingPosterior) -> Assignment:
    """Group levels and runs of the fitted rows (every level and run a fitted one).

    Parameters
    ----------
    post : ScalingPosterior
        The fit.

    Returns
    -------
    Assignment
        The level code of every fitted row per term (no new levels), and its run.

    Examples
    --------
    >>> from bayescale.posterior import fitted_assignment
    >>> a = fitted_assignment(family_post)
    >>> a.codes["family"].shape, a.new_levels
    ((60,), {'family': 0})
    """
    const = post.tree["constant_data"]
    codes = {t.name: np.asarray(const[f"code_{t}"].values) for t in terms_of(post.model.effects)}
    run = np.asarray(const["code_run"].values) if "code_run" in const else None
    return Assignment(codes, {t: 0 for t in codes}, run, 0)


def _warn_undefined(draws: np.ndarray, law: str, kind: str) -> None:
    """Warn where a law gives no finite loss > 0 in some draws (a summary would skip them).

    Of ``kind="predictive"`` draws only NaN counts: on the linear scale the noise of a new run
    can cross 0, and a heavy-tailed one overflow, where the law itself is defined.
    """
    bad = np.isnan(draws) if kind == "predictive" else ~(np.isfinite(draws) & (draws > 0))
    if not bad.any():
        return
    share = bad.reshape(-1, draws.shape[-1]).mean(axis=0)
    points = np.flatnonzero(share)
    warnings.warn(
        f"The {law} law gives no finite loss > 0 in {share.max():.0%} of the draws at point(s) "
        f"{points[:5].tolist()}{' ...' if points.size > 5 else ''} (NaN, inf or <= 0): it is "
        "not defined there, and medians and intervals over the other draws would hide it. "
        "Predict where the law is defined (nearer the data), or check the law.",
        ExtrapolationWarning,
        skip_file_prefixes=(str(Path(__file__).parent) + os.sep,),  # the caller's line
    )


def fitted_replicates(post: ScalingPosterior, seed: int = 0) -> np.ndarray:
    """Replicate every fitted row per draw, ``(chain, draw, row)``, through the prediction path.

    Each row with its own group levels and run (every effect as fitted), inside the data (no
    extrapolation error), with a new run's noise: what ``posterior_predictive`` holds.

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    seed : int
        Seed of the noise.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> from bayescale.posterior import fitted_replicates
    >>> fitted_replicates(post).shape
    (2, 1000, 35)
    """
    const = post._constant_data("Replicating the fitted rows")
    x = {k: np.asarray(const[f"x_{k}"].values) for k in post.law.inputs}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.asarray(
            loss_draws(
                post.sampled(),
                post.model,
                post.scale,
                fitted_assignment(post),
                x,
                "predictive",
                jax.random.PRNGKey(seed),
                grid=post.grid,
                extrapolation=post.extrapolation,
            )
        )


def with_predictive(post: ScalingPosterior, seed: int = 0) -> xr.DataTree:
    """Add ``posterior_predictive``: a replicated loss of every fitted row per draw.

    Each row is replicated through the prediction path with its own group levels and run (so
    every effect enters as fitted) and inside the data, where the extrapolation error is zero.

    Parameters
    ----------
    post : ScalingPosterior
        The fit; its tree gains the group (nothing is done when it has one).
    seed : int
        Seed of the replicated losses.

    Returns
    -------
    xarray.DataTree
        The posterior's tree.

    Examples
    --------
    >>> from bayescale.posterior import with_predictive
    >>> tree = with_predictive(post)
    >>> dict(tree["posterior_predictive"]["loss"].sizes)
    {'chain': 2, 'draw': 1000, 'obs': 35}
    """
    if "posterior_predictive" in post.tree.children:
        return post.tree
    loss = fitted_replicates(post, seed)
    posterior = post.tree["posterior"]
    ds = xr.Dataset(
        {"loss": (("chain", "draw", "obs"), loss)},
        coords={
            "chain": posterior["chain"].values,
            "draw": posterior["draw"].values,
            "obs": post.tree["observed_data"]["obs"].values,
        },
    )
    post.tree["posterior_predictive"] = xr.DataTree(ds)
    return post.tree


__all__ = [
    "PREDICTIVE_MAX_ELEMENTS",
    "SAMPLE_DIMS",
    "ScalingPosterior",
    "fitted_assignment",
    "fitted_replicates",
    "read_tree",
    "tree_coords",
    "tree_dims",
    "with_predictive",
    "write_tree",
]
