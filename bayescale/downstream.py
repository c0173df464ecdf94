r"""Two-step downstream models: a law for a loss, a link from that loss to a metric, fitted jointly.

Predicting a downstream metric (accuracy, top-1 error) of a run that was not trained goes
through two laws: a scaling law for a loss, ``L(N, D)``, and a link from that loss to the
metric, ``m = g(L)`` (Gadre et al. 2024, section 5; Bhagia et al. 2024). Fitted one after the
other, the link is fitted to observed losses and the prediction plugs in a point estimate of
``L``: the first step's uncertainty is lost. :class:`TwoStepModel` fits both at once,

.. math:: \log \ell_i \sim t(\log L(N_i, D_i; \theta), \sigma_\ell), \qquad
          \operatorname{logit} m_i \sim t(\operatorname{logit} g(L(N_i, D_i; \theta); \phi),
          \sigma_m),

so the link's input is the law's latent loss, not the noisy observed one, both likelihoods
inform ``theta`` and ``phi``, and a prediction at new ``(N, D)`` pushes every posterior draw of
the loss (with its extrapolation error) through the link drawn with it.

Each step is an ordinary :class:`~bayescale.Model` (its own law, effects, likelihood and scale):
the link's sites carry the prefix ``link__`` in the joint posterior.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import arviz_stats
import jax
import numpy as np
import numpyro
import pandas as pd
import xarray as xr
from numpyro.infer import Predictive

from bayescale import arguments
from bayescale.data import DEFAULT_COLUMNS, ScalingData
from bayescale.defaults import PROB
from bayescale.diagnostics import diagnose
from bayescale.discrepancy import Grid
from bayescale.errors import DataError, SpecificationError, UnknownNameError, with_prefix
from bayescale.extrapolation import SCALE_SITES, ExtrapolationError
from bayescale.fit import fit as _fit
from bayescale.inference import Draws
from bayescale.laws.base import INPUTS, Law, Scale
from bayescale.likelihood import from_location
from bayescale.model import PRIOR_DRAWS, Model
from bayescale.posterior import ScalingPosterior, tree_coords, tree_dims
from bayescale.prediction import KINDS, Assignment, keys, predictor
from bayescale.record import LOG_SCALE_GRID, scale_draws
from bayescale.saved import read_saved_tree, saved_spec
from bayescale.sites import RUN, RUN_SITES, natural_draws, terms_of
from bayescale.specification import rebuilding_saved_fit
from bayescale.treebuild import tree_from_arrays
from bayescale.treefile import write_tree

#: Compiled prior simulations of two-step models, by structure and number of draws.
_PRIOR_FNS: dict[tuple, Any] = {}
#: Prefix of the link's sites in the joint model.
LINK = "link"
_SEP = "__"
_P = LINK + _SEP


@dataclass(frozen=True)
class TwoStepData:
    """The same rows validated for both steps.

    Parameters
    ----------
    loss : ScalingData
        The rows validated for the loss model (inputs ``N``, ``D``, ... and the loss).
    link : ScalingData
        The same rows validated for the link: input ``L`` (the loss column) and the metric.

    Examples
    --------
    >>> data = two.prepare(downstream_runs)
    >>> type(data).__name__, data.n, list(data.loss.x), list(data.link.x)
    ('TwoStepData', 35, ['N', 'D'], ['L'])
    """

    loss: ScalingData
    link: ScalingData

    @property
    def n(self) -> int:
        """Number of rows."""
        return self.loss.n


@dataclass(frozen=True, init=False, eq=False)
class TwoStepModel:
    """A scaling law for a loss and a link from it to a downstream metric, fitted jointly.

    Parameters
    ----------
    loss : Model
        Model of the loss (any law on ``N``, ``D``, ... such as ``Model("chinchilla")``); its
        ``loss`` column is the loss the link reads (e.g. ``columns={"loss": "loss_c4_val"}``).
    link : Model
        Model of the metric as a function of that loss: a law whose only input is ``L``
        (``sigmoid_link``, ``exponential_link``, ``loss_to_loss``), usually with
        ``scale="logit"`` so the metric stays in (0, 1). Its ``loss`` role names the metric
        column (``columns={"loss": "error_avg"}``); its ``upstream_loss`` role is set to the
        first model's loss column.

    Examples
    --------
    >>> import bayescale as bs
    >>> two = bs.TwoStepModel(
    ...     loss=bs.Model("chinchilla", effects={"E": "family"},
    ...                   columns={"loss": "loss_c4_val"}),
    ...     link=bs.Model("exponential_link", scale="logit", columns={"loss": "error_avg"}),
    ... )
    >>> two.loss_column, two.metric_column
    ('loss_c4_val', 'error_avg')
    >>> two.link.spec()["columns"]["upstream_loss"]  # the link reads the first step's loss
    'loss_c4_val'

    Fitted to Gadre et al.'s downstream table, which has both columns (a joint NUTS fit of
    minutes; :class:`TwoStepPosterior`'s example runs a small one):

    >>> gadre = bs.datasets.load("gadre2024_overtraining", "downstream")  # doctest: +SKIP
    >>> joint = two.fit(gadre, target_accept=0.99)                # doctest: +SKIP
    >>> joint.predict(N=6.9e9, D=1.4e11, family="rpj")         # doctest: +SKIP
    """

    loss: Model
    link: Model

    def __init__(self, loss: Model, link: Model) -> None:
        for name, given, example in (
            ("loss", loss, "bs.Model('chinchilla')"),
            ("link", link, "bs.Model('sigmoid_link', scale='logit')"),
        ):
            if not isinstance(given, Model):
                raise SpecificationError(
                    f"TwoStepModel: {name}= is a {type(given).__name__} ({given!r:.40}); give a "
                    f"bs.Model, e.g. {name}={example}."
                )
        object.__setattr__(self, "loss", loss)
        object.__setattr__(self, "link", link)
        if "L" in self.loss.law.inputs:
            raise SpecificationError(
                f"The loss model's law ({self.loss.law.name}) reads an upstream loss; the first "
                "step must be a law of N, D, ... such as chinchilla."
            )
        if tuple(self.link.law.inputs) != ("L",):
            raise SpecificationError(
                f"The link model's law ({self.link.law.name}) must take the loss as its only "
                "input: use sigmoid_link, exponential_link or loss_to_loss."
            )
        if self.link.discrepancy is not None:
            raise SpecificationError("The link model cannot have a discrepancy term.")
        loss_col = self.loss_column
        link_cols = dict(self.link.columns or {})
        given = link_cols.get("upstream_loss")
        if given is not None and given != loss_col:
            raise SpecificationError(
                f"The link reads upstream_loss from {given!r} but the loss model fits "
                f"{loss_col!r}; in a two-step model they are the same column. Drop the link's "
                "upstream_loss mapping."
            )
        metric_col = link_cols.get("loss", DEFAULT_COLUMNS["loss"])
        if metric_col == loss_col:
            raise SpecificationError(
                f"Both steps read column {loss_col!r}: give the link the metric column, e.g. "
                "Model('exponential_link', scale='logit', columns={'loss': 'error_avg'})."
            )
        spec = {**link.spec(), "columns": {**link_cols, "upstream_loss": loss_col}}
        custom = link.law if spec["law"]["name"] == "custom" else None
        object.__setattr__(self, "link", Model.from_spec(spec, law=custom))

    @property
    def loss_column(self) -> str:
        """Column of the loss the first step fits."""
        return dict(self.loss.columns or {}).get("loss", DEFAULT_COLUMNS["loss"])

    @property
    def metric_column(self) -> str:
        """Column of the downstream metric the second step fits."""
        return dict(self.link.columns or {}).get("loss", DEFAULT_COLUMNS["loss"])

    def spec(self) -> dict:
        """Both models' specs (saved with the posterior).

        Examples
        --------
        >>> spec = two.spec()
        >>> sorted(spec), spec["link"]["law"], spec["link"]["columns"]
        (['link', 'loss'], {'name': 'exponential_link', 'config': {}},
         {'loss': 'error', 'upstream_loss': 'loss'})
        """
        return {"loss": self.loss.spec(), "link": self.link.spec()}

    @classmethod
    def from_spec(cls, spec: Mapping) -> TwoStepModel:
        """Inverse of :meth:`spec`.

        Parameters
        ----------
        spec : dict
            ``{"loss": ..., "link": ...}``: the two models' specs (:meth:`bayescale.Model.spec`).

        Returns
        -------
        TwoStepModel

        Examples
        --------
        >>> again = bs.TwoStepModel.from_spec(two.spec())
        >>> again.spec() == two.spec(), again.metric_column
        (True, 'error')
        """
        if not isinstance(spec, Mapping) or set(spec) != {"loss", "link"}:
            if isinstance(spec, Mapping) and "law" in spec:
                got = "a one-step model's spec (it has a 'law' entry): read it with Model.from_spec"
            elif isinstance(spec, Mapping):
                got = f"the entries {sorted(map(str, spec))}"
            else:
                got = f"a {type(spec).__name__}"
            raise SpecificationError(
                "TwoStepModel.from_spec takes {'loss': <spec>, 'link': <spec>}, the two models' "
                f"specs (TwoStepModel.spec()); got {got}."
            )
        return cls(loss=Model.from_spec(spec["loss"]), link=Model.from_spec(spec["link"]))

    # -- data and the NumPyro model ---------------------------------------------------------
    def prepare(self, df: pd.DataFrame) -> TwoStepData:
        """Validate ``df`` for both steps (every row needs the inputs, the loss and the metric).

        Parameters
        ----------
        df : pandas.DataFrame
            The runs: the loss model's inputs, its loss column and the link's metric column.

        Returns
        -------
        TwoStepData

        Raises
        ------
        DataError
            When a column is missing or a value is invalid for either step.

        Examples
        --------
        >>> data = two.prepare(downstream_runs)
        >>> data.n, list(data.link.x)  # the link's input L is the loss column
        (35, ['L'])
        """
        loss = self.loss.prepare(df)
        try:  # the link's 'loss' is the metric: say which step a message is about
            link = self.link.prepare(df)
        except DataError as e:
            raise with_prefix(
                e, f"The link step (its metric column {self.metric_column!r}, read as its loss): "
            ) from None
        return TwoStepData(loss=loss, link=link)

    def model_args(self, data: TwoStepData, rows: int | None = None) -> tuple[dict, dict]:
        """``(structure, arrays)`` of both steps (run effects stay sampled in both steps).

        Parameters
        ----------
        data : TwoStepData
            The validated rows (:meth:`prepare`).
        rows : int, optional
            Rows to pad the arrays to (a batch of tables of one structure).

        Returns
        -------
        tuple of dict
            ``({"loss_structure", "link_structure"}, {"loss_arrays", "link_arrays"})``: the
            keyword arguments of :meth:`numpyro_model`.

        Examples
        --------
        >>> structure, arrays = two.model_args(two.prepare(downstream_runs))
        >>> sorted(structure), sorted(arrays)
        (['link_structure', 'loss_structure'], ['link_arrays', 'loss_arrays'])
        """
        loss_s, loss_a = self.loss.model_args(data.loss, rows)
        link_s, link_a = self.link.model_args(data.link, rows)
        link_a = {k: v for k, v in link_a.items() if k != "u"}  # the link reads the latent loss
        return (
            {
                "loss_structure": {**loss_s, "run_marginal": False},
                "link_structure": {**link_s, "run_marginal": False},
            },
            {"loss_arrays": loss_a, "link_arrays": link_a},
        )

    def has_group_scales(self, data: TwoStepData) -> bool:
        """Return whether either step has group or run effects.

        Parameters
        ----------
        data : TwoStepData
            The validated rows.

        Returns
        -------
        bool

        Examples
        --------
        >>> two.has_group_scales(two.prepare(downstream_runs))  # no effects in either step
        False
        """
        return self.loss.has_group_scales(data.loss) or self.link.has_group_scales(data.link)

    def additive_sites(self) -> frozenset[str]:
        """Return both steps' sampled logs of added terms (the link's prefixed).

        Examples
        --------
        >>> sorted(two.additive_sites())  # the exponential link adds no term
        ['a', 'b', 'log_E']
        """
        return self.loss.additive_sites() | {_P + k for k in self.link.additive_sites()}

    def pointwise_structure(self, structure: dict) -> dict:
        """Return the structure itself: both steps sample their run effects.

        Parameters
        ----------
        structure : dict
            The structure of :meth:`model_args`.

        Returns
        -------
        dict
            The same structure (the pointwise log likelihood needs no change of it).

        Examples
        --------
        >>> structure, _ = two.model_args(two.prepare(downstream_runs))
        >>> two.pointwise_structure(structure) is structure
        True
        """
        return structure

    def prior_draws(self, data: TwoStepData, n: int = PRIOR_DRAWS, seed: int = 0) -> dict:
        """Draw every site of both steps from the prior, each ``(1, n, ...)``.

        Parameters
        ----------
        data : TwoStepData
            The validated rows.
        n : int
            Number of draws.
        seed : int
            Random seed.

        Returns
        -------
        dict
            ``{site: array (1, n, ...)}``; the link's sites prefixed ``link__``.

        Examples
        --------
        >>> prior = two.prior_draws(two.prepare(downstream_runs), n=100)
        >>> prior["log_E"].shape, prior["link__log_gamma"].shape
        ((1, 100), (1, 100))
        """
        structure, arrays = self.model_args(data)
        key = (self.structure_key(), repr(sorted(structure.items())), n)
        if key not in _PRIOR_FNS:

            def simulate(rng_key: jax.Array, a: dict) -> dict:
                # Every site, the observed ones included (drawn from their prior predictive)
                return Predictive(self.numpyro_model, num_samples=n)(rng_key, **structure, **a)

            _PRIOR_FNS[key] = jax.jit(simulate)
        sim = _PRIOR_FNS[key](jax.random.PRNGKey(seed), arrays)
        return {k: np.asarray(v)[None] for k, v in sim.items() if not k.startswith("_")}

    def structure_key(self) -> str:
        """Text identifying the joint model's structure.

        Examples
        --------
        >>> key = two.structure_key()
        >>> key == bs.TwoStepModel.from_spec(two.spec()).structure_key()
        True
        >>> import json
        >>> json.loads(key)[0] == bs.Model().structure_key()  # the loss step's key comes first
        True
        """
        return json.dumps([self.loss.structure_key(), self.link.structure_key()])

    def numpyro_model(
        self,
        *,
        loss_structure: Mapping,
        link_structure: Mapping,
        loss_arrays: Mapping,
        link_arrays: Mapping,
    ) -> None:
        """Joint model: the loss law's latent loss is the link's input.

        Parameters
        ----------
        loss_structure, link_structure : dict
            Each step's structure (:meth:`model_args`).
        loss_arrays, link_arrays : dict
            Each step's arrays (the link's input is the loss law's latent loss, not an array).

        Examples
        --------
        NumPyro's handlers run it with the arguments of :meth:`model_args`:

        >>> from numpyro.handlers import seed, trace
        >>> structure, arrays = two.model_args(two.prepare(downstream_runs))
        >>> sites = trace(seed(two.numpyro_model, 0)).get_trace(**structure, **arrays)
        >>> [name for name, site in sites.items() if site.get("is_observed")]
        ['loss', 'link__metric']
        """
        loc = self.loss.numpyro_model(**loss_structure, **loss_arrays)
        latent = from_location(loc, self.loss.scale)
        with numpyro.handlers.scope(prefix=LINK, divider=_SEP):
            self.link.numpyro_model(
                **link_structure, **link_arrays, u={"L": latent}, obs_name="metric"
            )

    def posterior_from(self, data: TwoStepData, draws: Draws) -> TwoStepPosterior:
        """Build the joint posterior of a fit.

        Parameters
        ----------
        data : TwoStepData
            The validated rows.
        draws : Draws
            The inference engine's draws of the joint model.

        Returns
        -------
        TwoStepPosterior

        Examples
        --------
        What :func:`bayescale.fit` does after sampling (the sampling is the fit of the
        :class:`TwoStepPosterior` example):

        >>> from bayescale.inference import NutsSettings, sample_importance
        >>> data, settings = two.prepare(downstream_runs), NutsSettings(chains=2, draws=4000)
        >>> (draws,) = sample_importance(two, [data], settings)  # doctest: +SKIP
        >>> joint = two.posterior_from(data, draws)  # doctest: +SKIP
        """
        return TwoStepPosterior.from_draws(self, data, draws)

    def fit(
        self,
        df: pd.DataFrame,
        chains: int = 4,
        draws: int = 1000,
        warmup: int | None = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> TwoStepPosterior:
        """Fit both steps jointly: shorthand for :func:`bayescale.fit` (same arguments).

        Parameters
        ----------
        df : pandas.DataFrame
            The runs, with the loss model's inputs, the loss and the metric.
        chains, draws : int
            Chains and kept draws per chain.
        warmup : int, optional
            NUTS warm-up iterations per chain (default 1000; not with ``method="psis"``).
        seed : int
            Random seed.
        **kwargs
            ``method=`` and the sampler's options, as for :func:`bayescale.fit`.

        Returns
        -------
        TwoStepPosterior

        Examples
        --------
        NUTS on the joint model takes tens of seconds; importance sampling (``method="psis"``,
        the :class:`TwoStepPosterior` example runs it) a few:

        >>> joint = two.fit(downstream_runs)  # doctest: +SKIP
        >>> joint = two.fit(downstream_runs, chains=2, draws=4000, method="psis")
        >>> type(joint).__name__, joint.diagnostics().attrs["method"]
        ('TwoStepPosterior', 'psis')
        """
        return _fit(self, df, chains=chains, draws=draws, warmup=warmup, seed=seed, **kwargs)


def _prefixed(d: Mapping[str, Any]) -> dict[str, Any]:
    return {_P + k: v for k, v in d.items()}


def _replicate(
    model: TwoStepModel,
    data: TwoStepData,
    samples: Mapping[str, np.ndarray],
    grid: Grid | None,
    seed: int,
) -> dict[str, np.ndarray]:
    """Draw a new observation of every fitted row's loss and metric (the prediction path).

    Each row keeps its groups and runs; the link reads each draw's latent loss, as in
    :meth:`TwoStepPosterior.predict`.
    """

    def fitted(d: ScalingData) -> Assignment:
        codes = {t: g.codes for t, g in d.groups.items()}
        run = None if d.run is None else d.run.codes
        return Assignment(codes, {t: 0 for t in codes}, run, 0)

    loss_sites = {k: v for k, v in samples.items() if not k.startswith(_P)}
    link_sites = {k[len(_P) :]: v for k, v in samples.items() if k.startswith(_P)}
    key_pred, key_draw = keys(seed)
    loss_pred = predictor(
        loss_sites, model.loss, data.loss.scale, fitted(data.loss), key_pred, grid=grid
    )
    loc, loss = loss_pred.draw(data.loss.x, "predictive", key_draw)
    latent = from_location(loc, model.loss.scale)
    link_pred = predictor(
        link_sites, model.link, data.link.scale, fitted(data.link), jax.random.fold_in(key_pred, 1)
    )
    metric = link_pred.loss({"L": latent}, "predictive", jax.random.fold_in(key_draw, 1))
    return {"loss": np.asarray(loss), "metric": np.asarray(metric)}


class TwoStepPosterior:
    """Joint posterior of a :class:`TwoStepModel`.

    ``tree`` holds both steps' draws (the link's prefixed ``link__``), sample statistics, the
    pointwise log likelihood of both observed columns (``loss`` and ``metric``) and the data.
    :attr:`loss_posterior` and :attr:`link_posterior` view each step as a
    :class:`~bayescale.ScalingPosterior` sharing the same draws.

    Parameters
    ----------
    tree : xarray.DataTree
        The joint ArviZ tree.
    model : TwoStepModel
        The fitted model.
    scales : tuple of Scale
        The centring scales of the loss step and of the link.
    extrapolation : tuple
        Each step's extrapolation-error term (or ``None``).
    grid : Grid, optional
        The loss step's discrepancy grid.

    Examples
    --------
    A downstream error linked to the loss of the simulated ladder, fitted by importance
    sampling (a few seconds; NUTS takes tens):

    >>> joint = two.fit(downstream_runs, chains=2, draws=4000, method="psis")
    >>> pred = joint.predict(N=1e9, D=2e10, kind="mean")  # the loss and the metric, jointly
    >>> list(pred.data_vars), pred["metric"].dims
    (['loss', 'metric'], ('chain', 'draw', 'point'))
    >>> round(float(pred["loss"].median()), 1), round(float(pred["metric"].median()), 2)
    (2.6, 0.45)
    >>> joint.summary().index.tolist()[-5:]
    ['link__epsilon', 'link__k', 'link__gamma', 'link__sigma', 'link__nu']
    >>> back = bs.TwoStepPosterior.from_netcdf(joint.to_netcdf("two_step.nc"))
    >>> back.model.metric_column, joint.diagnostics().attrs["ok"]
    ('error', True)
    """

    def __init__(
        self,
        tree: xr.DataTree,
        model: TwoStepModel,
        scales: tuple[Scale, Scale],
        extrapolation: tuple[ExtrapolationError | None, ExtrapolationError | None],
        grid: Grid | None = None,
    ) -> None:
        self.tree = tree
        self.model = model
        self.scales = scales
        self.extrapolation = extrapolation
        self.grid = grid

    @property
    def draws_tree(self) -> xr.DataTree:
        """The tree (every group is built with the fit), as ``ScalingPosterior.draws_tree``."""
        return self.tree

    @classmethod
    def from_draws(cls, model: TwoStepModel, data: TwoStepData, draws: Draws) -> TwoStepPosterior:
        """Build the joint DataTree from the engine's draws.

        A learned extrapolation error of either step takes its scales from the prior across
        ladders (a joint leave-future-out record is not run).

        Parameters
        ----------
        model : TwoStepModel
            The fitted model.
        data : TwoStepData
            The validated rows.
        draws : Draws
            The inference engine's draws of the joint model.

        Returns
        -------
        TwoStepPosterior
            With the prior and both predictive groups.

        Examples
        --------
        :meth:`TwoStepModel.posterior_from` calls it (the sampling is the fit of the class
        example):

        >>> from bayescale.inference import NutsSettings, sample_importance
        >>> data, settings = two.prepare(downstream_runs), NutsSettings(chains=2, draws=4000)
        >>> (draws,) = sample_importance(two, [data], settings)  # doctest: +SKIP
        >>> joint = bs.TwoStepPosterior.from_draws(two, data, draws)  # doctest: +SKIP
        """
        samples = dict(draws.samples)
        seed = int(draws.settings.get("seed", 0))
        shape = np.shape(samples[model.loss.law.parameters[0].name])[:2]
        for prefix, step, part in (("", model.loss, data.loss), (_P, model.link, data.link)):
            if step.extrapolation in ("learned", "prior"):
                flat = np.zeros((LOG_SCALE_GRID.size,) * 2)
                pair = scale_draws(flat, step.scale_prior(part), int(np.prod(shape)), seed)
                samples.update(
                    {prefix + k: v.reshape(shape) for k, v in zip(SCALE_SITES, pair, strict=True)}
                )
        link_samples = {k[len(_P) :]: v for k, v in samples.items() if k.startswith(_P)}
        posterior = dict(samples)
        posterior.update(
            natural_draws(
                model.loss.law,
                model.loss.effects,
                samples,
                data.loss.scale,
                terms_of(model.loss.effects),
            )
        )
        posterior.update(
            _prefixed(
                natural_draws(
                    model.link.law,
                    model.link.effects,
                    link_samples,
                    data.link.scale,
                    terms_of(model.link.effects),
                )
            )
        )
        dims = tree_dims(model.loss)
        dims.update(_prefixed(tree_dims(model.link)))
        dims["metric"] = ["obs"]
        dims.update({f"link__{name}": ["link__run"] for name in RUN_SITES})
        coords = {**tree_coords(data.link), **tree_coords(data.loss)}
        if data.link.run is not None:
            coords["link__run"] = list(data.link.run.labels)
            if data.loss.run is None:
                coords.pop("run")
        constant = {f"x_{k}": v for k, v in data.loss.x.items()}
        constant.update({f"code_{t}": g.codes for t, g in data.loss.groups.items()})
        dims.update({k: ["obs"] for k in constant})
        ll = dict(draws.log_likelihood)
        ll["metric"] = ll.pop(_P + "metric")
        extrap = (
            model.loss.extrapolation_error(data.loss),
            model.link.extrapolation_error(data.link),
        )
        grid = model.loss.discrepancy_grid(data.loss)
        seed_prior = arguments.derived_seed(seed, 7)
        prior = model.prior_draws(data, seed=seed_prior)
        for prefix, step, part in (("", model.loss, data.loss), (_P, model.link, data.link)):
            if step.extrapolation in ("learned", "prior"):
                flat = np.zeros((LOG_SCALE_GRID.size,) * 2)
                pair = scale_draws(flat, step.scale_prior(part), PRIOR_DRAWS, seed_prior)
                prior.update({prefix + k: v[None] for k, v in zip(SCALE_SITES, pair, strict=True)})
        replicate = {
            "posterior_predictive": _replicate(model, data, samples, grid, seed),
            "prior_predictive": _replicate(model, data, prior, grid, seed_prior),
        }
        tree = tree_from_arrays(
            {
                "posterior": posterior,
                "sample_stats": draws.stats,
                "log_likelihood": ll,
                "observed_data": {"loss": data.loss.loss, "metric": data.link.loss},
                "constant_data": constant,
                # the latent sites: the observed ones' replicas are the prior predictive
                "prior": {k: v for k, v in prior.items() if k not in ("loss", _P + "metric")},
                **replicate,
            },
            coords=coords,
            dims=dims,
        )
        tree.attrs.update(
            {
                "bayescale_two_step": json.dumps(model.spec(), sort_keys=True),
                "bayescale_scales": json.dumps(
                    [data.loss.scale.to_dict(), data.link.scale.to_dict()], sort_keys=True
                ),
                "bayescale_extrapolation": json.dumps(
                    [None if e is None else e.to_dict() for e in extrap]
                ),
                "bayescale_settings": json.dumps(draws.settings, sort_keys=True),
            }
        )
        if grid is not None:
            tree.attrs["bayescale_discrepancy"] = json.dumps(grid.to_dict())
        return cls(tree, model, (data.loss.scale, data.link.scale), extrap, grid)

    # -- I/O ----------------------------------------------------------------------------------
    def to_netcdf(self, path: str | Path) -> Path:
        """Write the joint DataTree (with both models in its attributes) to netCDF.

        Parameters
        ----------
        path : str or Path
            The file; missing parent folders are created.

        Returns
        -------
        Path
            The file written; :meth:`from_netcdf` reads it back.

        Examples
        --------
        ``joint`` is a fit, as in the class example (which runs this):

        >>> path = joint.to_netcdf("two_step.nc")  # doctest: +SKIP
        >>> bs.TwoStepPosterior.from_netcdf(path).model.metric_column  # doctest: +SKIP
        'error'
        """
        return write_tree(self.tree, path)

    @classmethod
    def from_netcdf(
        cls, path: str | Path, loss_law: Law | None = None, link_law: Law | None = None
    ) -> TwoStepPosterior:
        """Read a posterior written by :meth:`to_netcdf`.

        Parameters
        ----------
        path : str or Path
            The netCDF file.
        loss_law, link_law : Law, optional
            The custom law of a step fitted with one (its code is not saved in the file).

        Returns
        -------
        TwoStepPosterior

        Raises
        ------
        SpecificationError
            When the file holds no two-step posterior, or a step's custom law is not given.

        Examples
        --------
        A single-step fit's file is refused (:func:`bayescale.load_posterior` reads it):

        >>> path = post.to_netcdf("chinchilla.nc")
        >>> bs.TwoStepPosterior.from_netcdf(path)
        Traceback (most recent call last):
        ...
        bayescale.errors.SpecificationError: chinchilla.nc does not hold a bayescale two-step ...

        A two-step fit's file (``joint`` as in the class example, which runs this):

        >>> two_step_path = joint.to_netcdf("two_step.nc")  # doctest: +SKIP
        >>> bs.TwoStepPosterior.from_netcdf(two_step_path).model.metric_column  # doctest: +SKIP
        'error'
        """
        path, tree = read_saved_tree(path)
        if "bayescale_two_step" not in tree.attrs:
            raise SpecificationError(f"{path} does not hold a bayescale two-step posterior.")
        spec = json.loads(tree.attrs["bayescale_two_step"])
        given = {"loss": loss_law, "link": link_law}
        for step, law in given.items():
            if law is not None and not (isinstance(law, Law) and type(law).name == "custom"):
                raise SpecificationError(
                    f"{step}_law= must be the bayescale.laws.CustomLaw the step was drawn with, "
                    f"got {type(law).__name__}."
                )
            custom = saved_spec(spec[step])["law"].get("name") == "custom"
            if custom != (law is not None):
                raise SpecificationError(
                    f"{path}: its {step} step is a fit of a custom law, which cannot be saved as "
                    f"text: pass {step}_law= (the CustomLaw it was drawn with)."
                    if custom
                    else f"{path}: its {step} step is a fit of a built-in law; drop {step}_law=."
                )
        with rebuilding_saved_fit():  # the priors its draws were made under, as they are
            model = TwoStepModel(
                *(Model.from_spec(saved_spec(spec[s]), law=given[s]) for s in ("loss", "link"))
            )
        scales = [Scale.from_dict(d) for d in json.loads(tree.attrs["bayescale_scales"])]
        loss_extrap, link_extrap = (
            None if d is None else ExtrapolationError.from_dict(d)
            for d in json.loads(tree.attrs["bayescale_extrapolation"])
        )
        grid = tree.attrs.get("bayescale_discrepancy")
        grid = Grid(**json.loads(grid)) if grid else None
        return cls(tree, model, (scales[0], scales[1]), (loss_extrap, link_extrap), grid)

    # -- views --------------------------------------------------------------------------------
    def _view(self, link: bool) -> xr.DataTree:
        post = self.tree["posterior"].to_dataset()
        if link:
            names = {v: v[len(_P) :] for v in post.data_vars if v.startswith(_P)}
        else:
            names = {v: v for v in post.data_vars if not v.startswith(_P)}
        ds = post[list(names)].rename(names)
        if link and "link__run" in ds.dims:
            ds = ds.rename({"link__run": "run"})
        groups = {"posterior": ds, "sample_stats": self.tree["sample_stats"].to_dataset()}
        # each step's observed column, its pointwise log likelihood and replicates, as a one-step
        # fit's "loss" (LOO, LOO-PIT, the predictive check and comparisons of a step read
        # them); the loss law's inputs (the link's, the latent loss, are in no table)
        observed = "metric" if link else "loss"
        for group in ("log_likelihood", "observed_data", "posterior_predictive"):
            if group in self.tree.children and observed in self.tree[group]:
                groups[group] = self.tree[group].to_dataset()[[observed]].rename({observed: "loss"})
        if not link and "constant_data" in self.tree.children:
            groups["constant_data"] = self.tree["constant_data"].to_dataset()
        return xr.DataTree.from_dict(groups)

    @property
    def loss_posterior(self) -> ScalingPosterior:
        """The first step (the loss law) as a ScalingPosterior over the joint draws."""
        return ScalingPosterior(
            self._view(False), self.model.loss, self.scales[0], self.grid, self.extrapolation[0]
        )

    @property
    def link_posterior(self) -> ScalingPosterior:
        """The second step (the link) as a ScalingPosterior over the joint draws."""
        return ScalingPosterior(
            self._view(True), self.model.link, self.scales[1], None, self.extrapolation[1]
        )

    def parameter_names(self) -> list[str]:
        """Natural parameters of both steps (the link's prefixed ``link__``).

        Examples
        --------
        On ``joint``, the fit of the :class:`TwoStepPosterior` example (not repeated here):

        >>> joint.parameter_names()  # doctest: +SKIP
        ['E', 'A', 'B', 'alpha', 'beta', 'sigma', 'nu',
         'link__epsilon', 'link__k', 'link__gamma', 'link__sigma', 'link__nu']

        The loss law's parameters and noise, then the link's (here ``exponential_link``):

        >>> bs.Model("exponential_link").law.natural_names
        ('epsilon', 'k', 'gamma')
        """
        return self.loss_posterior.parameter_names() + [
            _P + n for n in self.link_posterior.parameter_names()
        ]

    def summary(self, var_names: str | list[str] | None = None, **kwargs: Any) -> pd.DataFrame:
        """Posterior summary (``arviz_stats.summary``) of both steps' natural parameters.

        Central intervals at :data:`bayescale.defaults.PROB` (90 %, as
        :meth:`ScalingPosterior.summary <bayescale.posterior.ScalingPosterior.summary>`) unless
        ``ci_prob`` is given; numbers unrounded unless ``round_to`` is given.

        Parameters
        ----------
        var_names : str or list of str, optional
            Parameters to show (:meth:`parameter_names`; the link's prefixed ``link__``);
            default all.
        **kwargs
            Passed to ``arviz_stats.summary`` (``ci_prob``, ``round_to``, ...).

        Returns
        -------
        pandas.DataFrame
            One row per parameter, the link's prefixed ``link__``.

        Raises
        ------
        KeyError
            When ``var_names`` names a parameter the fit does not have.

        Examples
        --------
        ``joint`` is a fit, as in the class example (which runs this):

        >>> joint.summary().index.tolist()  # doctest: +SKIP
        ['E', 'A', 'B', 'alpha', 'beta', 'sigma', 'nu', 'link__epsilon', 'link__k',
         'link__gamma', 'link__sigma', 'link__nu']
        """
        group = kwargs.get("group", "posterior")
        if group != "posterior":  # the joint tree holds the posterior of both steps only
            raise ValueError(
                f"summary: group={group!r}: a two-step fit's summary is of its joint posterior; "
                "leave group out (the tree's other groups are joint.tree's)."
            )
        known = self.parameter_names()
        names = arguments.names(var_names) or known
        unknown = [v for v in names if v not in known]
        if unknown:
            raise UnknownNameError(
                f"summary: no parameter(s) {unknown} in this fit; it has {known}."
            )
        kwargs["ci_prob"] = arguments.probability(kwargs.get("ci_prob", PROB), "ci_prob")
        kwargs["round_to"] = arguments.rounding(kwargs.get("round_to", "none"))
        return arviz_stats.summary(self.tree, var_names=names, **kwargs)

    def diagnostics(self, warn: bool = True) -> pd.DataFrame:
        """R-hat, ESS, divergences of the joint fit (see :func:`bayescale.diagnose`).

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
            Per sampled site ``ess_bulk``, ``ess_tail``, ``r_hat``, ``ok``; the sampler's
            checks in ``attrs``.

        Examples
        --------
        ``joint`` is a fit, as in the class example (which runs this):

        >>> checks = joint.diagnostics().attrs  # doctest: +SKIP
        >>> checks["method"], checks["ok"]  # doctest: +SKIP
        ('psis', True)
        """
        return diagnose(self, warn=warn)

    # -- prediction ---------------------------------------------------------------------------
    def predict(
        self,
        kind: str = "predictive",
        new_groups: bool = False,
        rng_seed: int = 0,
        **values: Any,
    ) -> xr.Dataset:
        """Posterior draws of the loss and the metric at new inputs.

        Every draw's latent loss (the law plus its extrapolation error, at the given groups)
        goes through the link drawn with it, so the metric's interval carries the loss law's
        uncertainty as well as the link's.

        Parameters
        ----------
        kind : {"predictive", "mean"}
            ``"mean"``: the law's loss and the link's metric at it; ``"predictive"``: new
            observations of both (each step's run effect and noise added).
        new_groups : bool
            Allow group labels not in the data (effects drawn from the population).
        rng_seed : int
            Seed of the noise and new-group draws.
        **values
            Inputs of the loss law (``N=``, ``D=``, ...) and group labels by column; labels of
            columns that only one step uses are passed to that step only.

        Returns
        -------
        xarray.Dataset
            Variables ``loss`` and ``metric``, dims ``(chain, draw, point)``.

        Examples
        --------
        ``joint`` is a fit, as in the class example (which runs this):

        >>> pred = joint.predict(N=[1e9, 2e9], D=[2e10, 4e10], kind="mean")  # doctest: +SKIP
        >>> list(pred.data_vars), pred["metric"].dims  # doctest: +SKIP
        (['loss', 'metric'], ('chain', 'draw', 'point'))
        >>> pred["metric"].median(("chain", "draw")).round(2).values  # doctest: +SKIP
        array([0.45, 0.39])
        """
        if not isinstance(kind, str):  # a table or numbers where the inputs go by name
            raise TypeError(
                f"predict's first argument is kind ('predictive' or 'mean'); got a "
                f"{type(kind).__name__}. Give the inputs by name: joint.predict(N=..., D=...), "
                "or a table's columns as joint.predict(**points[['N', 'D']])."
            )
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r}; choose 'predictive' or 'mean'.")
        loss_post, link_post = self.loss_posterior, self.link_posterior
        # The loss step's keys are ScalingPosterior.predict's: its loss draws are
        # loss_posterior.predict(...)'s at the same seed.
        key_pred, key_draw = keys(rng_seed)
        loss_cols, link_cols = _columns_of(self.model.loss), _columns_of(self.model.link)
        offsets = [s for s, p in (("loss", loss_post), ("link", link_post)) if p.has_run_offset]
        if RUN in values and RUN not in loss_cols | link_cols and offsets:
            raise SpecificationError(
                f"joint.predict: run={values[RUN]!r} names a training run; the two-step "
                "prediction reads no fitted run's own offset (kind='predictive' draws a new "
                f"run's). Leave run out, or predict that run with its step's fit, "
                f"joint.{offsets[0]}_posterior.predict(..., run={values[RUN]!r})."
            )
        unknown = [k for k in values if not _is_input(k) and k not in loss_cols | link_cols]
        if unknown:
            raise DataError(
                f"{unknown} is neither an input nor a group column of either step; group "
                f"columns are {sorted(loss_cols | link_cols)}."
            )
        given_loss = [k for k in ("L", "upstream_loss") if k in values]
        if given_loss and "L" not in loss_post.law.inputs:  # read as a missing N, D before
            raise DataError(
                f"joint.predict takes the loss law's inputs ({', '.join(loss_post.law.inputs)}) "
                f"and predicts the loss and the metric from them; {given_loss[0]}= gives the "
                "loss itself: for the metric at a given loss, predict with the link step, "
                f"joint.link_posterior.predict(L=...)."
            )
        # The loss step: its prediction path's location at the inputs, every draw.
        x, _, m = loss_post.points(**{k: v for k, v in values.items() if _is_input(k)})
        loss_post.warn_far_outside(x, "Predicting")
        loss_groups = {k: v for k, v in values.items() if k in loss_cols}
        link_groups = {k: v for k, v in values.items() if k in link_cols}
        loss_pred = loss_post.predictor(new_groups, key_pred, m, **loss_groups)
        loc, loss = loss_pred.draw(x, kind, key_draw)
        latent = from_location(loc, self.model.loss.scale)
        # The link step: the latent loss of each draw through the link drawn with it.
        link_pred = link_post.predictor(
            new_groups, jax.random.fold_in(key_pred, 1), m, **link_groups
        )
        metric = link_pred.loss({"L": latent}, kind, jax.random.fold_in(key_draw, 1))
        groups = {**loss_groups, **link_groups}
        return xr.Dataset(
            {
                "loss": loss_post.label(loss, x, groups),
                "metric": loss_post.label(metric, x, groups, name="metric"),
            }
        )


def _columns_of(model: Model) -> set[str]:
    """Group columns a model's effects read."""
    return {c for t in model.terms for c in t.columns}


def _is_input(name: str) -> bool:
    return name in INPUTS or name in INPUTS.values()


__all__ = ["TwoStepData", "TwoStepModel", "TwoStepPosterior"]
