"""``ScalingPosterior``: the DataTree of a fit and its views (its file: :mod:`bayescale.treefile`).

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
import json
import os
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
from bayescale.assignment import assign_groups
from bayescale.cost import TrainingCost
from bayescale.data import DEFAULT_COLUMNS, ScalingData
from bayescale.defaults import DIGITS, PROB
from bayescale.description import ModelDescription
from bayescale.diagnostics import diagnose, importance_ess, piled_at_bound
from bayescale.discrepancy import Grid
from bayescale.errors import ExtrapolationWarning, SpecificationError, UnknownNameError
from bayescale.extrapolation import RATIO, SCALE_SITES, ExtrapolationError
from bayescale.laws.base import INPUTS, LINEAR_INPUTS, Law, Scale
from bayescale.loo import loo
from bayescale.points import inputs_taken, prediction_points
from bayescale.prediction import KINDS, Assignment, Predictor, loss_draws, predictor
from bayescale.priors import prior_to_str
from bayescale.sanity import far_outside, far_outside_range
from bayescale.sites import RUN, dims, is_sampled, natural_draws, natural_group_name, terms_of
from bayescale.treebuild import SAMPLE_DIMS, tree_from_arrays
from bayescale.treefile import index_from_json, index_to_json, read_tree, write_tree

#: Largest ``rows x draws`` for which a fit stores its predictive groups (``"auto"``).
PREDICTIVE_MAX_ELEMENTS = 20_000_000

# Attribute names of the tree (the model and everything needed to predict from it).
ATTR_MODEL = "bayescale_model"
ATTR_SCALE = "bayescale_scale"
ATTR_SETTINGS = "bayescale_settings"
ATTR_INDEX = "bayescale_data_index"
ATTR_DISCREPANCY = "bayescale_discrepancy"
ATTR_EXTRAPOLATION = "bayescale_extrapolation"
ATTR_TIMING = "bayescale_timing"
#: The group holding the ladder's leave-future-out record.
RECORD_GROUP = "extrapolation_record"


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
        learn, self._pending_scales = self._pending_scales, None  # once, even if learn() asks
        t0 = time.perf_counter()
        try:
            scales, record = learn()
        except BaseException:  # interrupted or failed: the next call learns them again
            self._pending_scales = learn
            raise
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
            ATTR_INDEX: index_to_json(data.index),
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
        >>> from bayescale.treefile import read_tree
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
            raise UnknownNameError(
                f"group_labels: no group term {term!r} in this fit; its terms are {terms} "
                "(a term of two columns is named 'a:b')."
            )
        return [str(v) for v in self._tree["posterior"][term].values]

    @property
    def has_run_offset(self) -> bool:
        """Whether the fit has a per-run offset (``sd_run``), which ``run=`` labels.

        Not a group term on a column named ``run`` (``effects={"E": "run"}``), whose label
        picks its level as any group's does.

        Examples
        --------
        >>> post.has_run_offset  # one row per run: no offset of its own
        False
        """
        return "sd_run" in self._tree["posterior"]

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
        for other in ("hdi_prob", "prob"):  # ArviZ 0.x's name; the report's and decisions'
            if other in kwargs:
                raise TypeError(
                    "summary takes ci_prob= (the interval's probability, as ArviZ 1.x names "
                    f"it), not {other}=."
                )
        kwargs["ci_prob"] = arguments.probability(kwargs.get("ci_prob", PROB), "ci_prob")
        kwargs["round_to"] = arguments.rounding(kwargs.get("round_to", "none"))
        var_names = arguments.names(var_names)
        known = self.parameter_names()
        group = kwargs.get("group", "posterior")
        tree = self.draws_tree if group in self.draws_tree.children else self.tree  # the prior
        if group not in tree.children:
            raise UnknownNameError(
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
                raise UnknownNameError(
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
            raise UnknownNameError(
                f"summary: no parameter(s) {unknown} in this fit; it has {known}."
            )
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

    @property
    def run_column(self) -> str:
        """The column that labels each row's run: the model's ``run=``, else the run role's.

        Where :meth:`fitted_table` writes the runs of a per-run offset, and where the figures
        and the report look for training curves (a run with several checkpoints).

        Examples
        --------
        >>> post.run_column
        'run'
        """
        run = self.model.spec().get("run")
        columns = {**DEFAULT_COLUMNS, **dict(self.model.spec().get("columns") or {})}
        return run if isinstance(run, str) else columns["run"]

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
            df[self.run_column] = np.asarray(self.group_labels(RUN))[const["code_run"].values]
        index = self._tree.attrs.get(ATTR_INDEX)
        if index:
            df.index = index_from_json(index)
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
            The level codes (:func:`bayescale.assignment.assign_groups`).

        Examples
        --------
        >>> family_post.assignment({"family": ["f0", "f2"]}, 2, new_groups=False).codes
        {'family': array([0, 2])}
        >>> family_post.assignment({"family": "f9"}, 1, new_groups=True).new_levels
        {'family': 1}
        """
        return assign_groups(
            groups,
            m,
            new_groups,
            effects=self.model.effects,
            inputs=self.law.inputs,
            fitted_levels=self.group_labels,
            has_run=RUN in self._tree["posterior"].coords,
        )

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
            ``"mean"``: the law's loss (with its extrapolation error; not with ``run=``, whose
            offset is part of an observation); ``"predictive"``: a new observation, with a
            run's effect and observation noise.
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
        if kind == "mean" and RUN in values and self.has_run_offset:  # drawn with observations
            problem = (
                f"predict: run={values[RUN]!r} with kind='mean', the law's loss, which leaves a "
                "run's own offset out (it is part of an observation of that run)"
            )
            raise SpecificationError(
                f"{problem}: give kind='predictive' for that run's loss, or leave run out.",
                command_line=f"{problem}: give --kind predictive for that run's loss, or drop "
                "the run's label (--group run=..., or the points' run column).",
            )
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

        Returns
        -------
        frozenset of str
            The names of the inputs (:func:`bayescale.points.inputs_taken` says which).

        Examples
        --------
        >>> sorted(post.predict_inputs())
        ['C', 'D', 'N']
        """
        return inputs_taken(self.law)

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
        on any axis, or more than 1 decade below it; a link's upstream loss ``L``, read in loss
        units, or an input on a linear axis (the annealing law's ``S2``), more than its fitted
        range's width outside that range (:func:`~bayescale.sanity.far_outside_range`).

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
                ranges, ranges={k: v for k, v in ranges.ranges.items() if k not in (RATIO, "L")}
            )
            up, down = sizes.distances(x)
            far_outside(np.asarray(up), np.asarray(down), what)
            if "L" in ranges.ranges and "L" in x:  # a link's upstream loss: loss units, not decades
                far_outside_range(np.asarray(x["L"], float), ranges.ranges["L"], "L", what)
        linear = [k for k in self.law.inputs if k in LINEAR_INPUTS and k in x]
        if linear and "constant_data" in self._tree.children:  # no decades: their own units
            const = self._tree["constant_data"]
            for k in linear:
                fitted = const[f"x_{k}"].values
                far_outside_range(np.asarray(x[k], float), (fitted.min(), fitted.max()), k, what)

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
            ``(x, groups, m)``, as :func:`bayescale.points.prediction_points` returns them
            (which says what it refuses).

        Examples
        --------
        >>> x, groups, m = family_post.points(params=[1e8, 2e8], tokens=2e9, family="f1")
        >>> x["D"], groups, m
        (array([2.e+09, 2.e+09]), {'family': 'f1'}, 2)
        """
        return prediction_points(values, law=self.law, cost=self.cost, columns=self.model.columns)

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
    "read_tree",  # (defined in treefile; kept importable from here)
    "tree_coords",
    "tree_dims",
    "with_predictive",
    "write_tree",
]
