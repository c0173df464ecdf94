"""``ScalingPosterior``: the DataTree of a fit, with the law and the data's coords."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import arviz_base
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr

from bayescale import discrepancy as disc
from bayescale.data import ScalingData, term_columns
from bayescale.discrepancy import Grid
from bayescale.errors import DataError
from bayescale.extrapolation import ExtrapolationError
from bayescale.laws.base import INPUTS, Law, Scale
from bayescale.model import Model

if TYPE_CHECKING:
    from bayescale.inference import NutsResult

SAMPLE_DIMS = ("chain", "draw")


def _dims(model: Model, data: ScalingData) -> dict[str, list[str]]:
    dims: dict[str, list[str]] = {
        "loss": ["obs"],
        "z_run": ["run"],
        "r_run": ["run"],
        "z_disc": ["disc_step"],
    }
    for p in model.law.parameters:
        for term in model.effect_terms(p.name):
            dims[f"z_{p.name}__{term}"] = [term]
            dims[f"r_{p.name}__{term}"] = [term]
            dims[f"{p.name}__{term}"] = [term]
    for term in data.groups:
        for name in model.law.natural_names:
            dims[f"{name}_{term}"] = [term]
    return dims


def _coords(data: ScalingData) -> dict[str, Any]:
    coords: dict[str, Any] = {t: list(g.labels) for t, g in data.groups.items()}
    if data.run is not None:
        coords["run"] = list(data.run.labels)
    coords["obs"] = np.arange(data.n)
    return coords


def effect_draws(posterior: Mapping[str, Any], site: str, term: str | None = None) -> np.ndarray:
    """Effects of ``term`` on sampled parameter ``site``, shape ``(chain, draw, level)``.

    Reads the centred site ``r_<site>__<term>`` or rebuilds ``sd * z`` from the non-centred one.
    Without ``term``, ``site`` names the effect itself (``"run"``: ``r_run`` or
    ``sd_run * z_run``).
    """
    name = site if term is None else f"{site}__{term}"
    if f"r_{name}" in posterior:
        return np.asarray(posterior[f"r_{name}"])
    sd = np.asarray(posterior[f"sd_{name}"])[..., None]
    return sd * np.asarray(posterior[f"z_{name}"])


def natural_draws(
    model: Model, posterior: Mapping[str, np.ndarray], scale: Scale, terms: Mapping[str, int]
) -> dict[str, np.ndarray]:
    """Natural parameters for the population and for every level of each group term.

    The population value uses the population mean of each sampled parameter (all effects at
    zero: the typical group). The value of level ``g`` of term ``t`` adds that level's effect of
    every parameter that varies by ``t`` (other terms at zero); natural parameters that do not
    vary by ``t`` get no per-level variable.
    """
    law = model.law
    base = {p.name: jnp.asarray(posterior[p.name]) for p in law.parameters}
    out = {k: np.asarray(v) for k, v in law.to_natural(base, scale).items()}
    for term in terms:
        theta = {}
        for p in law.parameters:
            value = base[p.name][..., None]
            if term in model.effect_terms(p.name):
                value = value + jnp.asarray(effect_draws(posterior, p.name, term))
            theta[p.name] = value
        for k, v in law.to_natural(theta, scale).items():
            if jnp.shape(v)[-1] == 1:  # does not vary by this term
                continue
            out[f"{k}_{term}"] = np.asarray(v)
    return out


def write_tree(tree: xr.DataTree, path: str | Path) -> Path:
    """Write a posterior's DataTree (model spec in its attributes) to netCDF (h5netcdf)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.to_netcdf(path, engine="h5netcdf")
    return path


def read_tree(path: str | Path) -> xr.DataTree:
    """Read a DataTree written by :func:`write_tree` fully into memory and close the file."""
    tree = xr.open_datatree(path, engine="h5netcdf").load()
    tree.close()
    return tree


class ScalingPosterior:
    """The posterior of a scaling-law fit.

    Wraps an ArviZ :class:`xarray.DataTree` with groups ``posterior`` (sampled sites, the
    natural parameters ``E, A, ...`` for the population and ``E_<term>`` per group level),
    ``sample_stats``, ``log_likelihood``, ``observed_data`` and ``constant_data``, and knows the
    model and the data's coords so it can predict.
    """

    def __init__(
        self,
        tree: xr.DataTree,
        model: Model,
        scale: Scale,
        grid: Grid | None = None,
        extrapolation: ExtrapolationError | None = None,
    ) -> None:
        self.tree = tree
        self.model = model
        self.scale = scale
        self.grid = grid
        self.extrapolation = extrapolation

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_samples(cls, model: Model, data: ScalingData, result: NutsResult) -> ScalingPosterior:
        """Build the DataTree from a NUTS run."""
        sizes = {t: g.size for t, g in data.groups.items()}
        posterior = dict(result.samples)
        posterior.update(natural_draws(model, posterior, data.scale, sizes))
        constant = {f"x_{k}": v for k, v in data.x.items()}
        constant.update({f"code_{t}": g.codes for t, g in data.groups.items()})
        if data.run is not None:
            constant["code_run"] = data.run.codes
        attrs = {
            "bayescale_model": json.dumps(model.spec(), sort_keys=True),
            "bayescale_scale": json.dumps(data.scale.to_dict(), sort_keys=True),
            "bayescale_settings": json.dumps(result.settings, sort_keys=True),
            "bayescale_max_tree_depth": result.max_tree_depth,
            "bayescale_data_index": json.dumps([str(i) for i in data.index]),
        }
        grid = model.discrepancy_grid(data)
        if grid is not None:
            attrs["bayescale_discrepancy"] = json.dumps(grid.to_dict())
        extrap = None
        if model.extrapolation_scale > 0:
            extrap = ExtrapolationError.from_data(data.x, model.extrapolation_scale)
            attrs["bayescale_extrapolation"] = json.dumps(extrap.to_dict())
        dims = _dims(model, data)
        dims.update({k: ["obs"] for k in constant})
        tree = arviz_base.from_dict(
            {
                "posterior": posterior,
                "sample_stats": result.stats,
                "log_likelihood": result.log_likelihood,
                "observed_data": {"loss": data.loss},
                "constant_data": constant,
            },
            coords=_coords(data),
            dims=dims,
        )
        tree.attrs.update(attrs)
        return cls(tree, model, data.scale, grid, extrap)

    # -- I/O ----------------------------------------------------------------------------------
    def to_netcdf(self, path: str | Path) -> Path:
        """Write the DataTree (with the model spec in its attributes) to a netCDF file."""
        return write_tree(self.tree, path)

    @classmethod
    def from_netcdf(cls, path: str | Path, law: Law | None = None) -> ScalingPosterior:
        """Read a posterior written by :meth:`to_netcdf` (pass ``law`` for a custom law)."""
        tree = read_tree(path)
        try:
            return cls.from_tree(tree, law=law)
        except ValueError:
            raise ValueError(
                f"{path} was not written by bayescale (no model attributes)."
            ) from None

    @classmethod
    def from_tree(cls, tree: xr.DataTree, law: Law | None = None) -> ScalingPosterior:
        """Rebuild a posterior from its DataTree (the model and scale are in its attributes)."""
        try:
            spec = json.loads(tree.attrs["bayescale_model"])
            scale = Scale.from_dict(json.loads(tree.attrs["bayescale_scale"]))
        except KeyError:
            raise ValueError(
                "This DataTree was not made by bayescale (no model attributes)."
            ) from None
        grid = tree.attrs.get("bayescale_discrepancy")
        grid = Grid(**json.loads(grid)) if grid else None
        extrap = tree.attrs.get("bayescale_extrapolation")
        extrap = ExtrapolationError.from_dict(json.loads(extrap)) if extrap else None
        return cls(tree, Model.from_spec(spec, law=law), scale, grid, extrap)

    # -- views --------------------------------------------------------------------------------
    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group as an xarray Dataset."""
        return self.tree["posterior"].to_dataset()

    @property
    def law(self) -> Law:
        """The fitted law."""
        return self.model.law

    def group_labels(self, term: str) -> list[str]:
        """Labels of a group term (the coords of its dim)."""
        return [str(v) for v in self.tree["posterior"][term].values]

    def parameter_names(self) -> list[str]:
        """Natural population parameters, effect SDs, noise and per-group natural parameters."""
        post = self.tree["posterior"]
        names = list(self.law.natural_names)
        names += [v for v in post.data_vars if v.startswith("sd_")]
        names += [v for v in ("sigma", "nu") if v in post.data_vars]
        for term in self.model.terms:
            names += [f"{k}_{term}" for k in self.law.natural_names if f"{k}_{term}" in post]
        return names

    def summary(self, var_names: list[str] | None = None, **kwargs: Any) -> pd.DataFrame:
        """Posterior summary table (``arviz_stats.summary``) of the natural parameters."""
        import arviz_stats

        return arviz_stats.summary(
            self.tree, var_names=var_names or self.parameter_names(), **kwargs
        )

    def diagnostics(self, warn: bool = True) -> pd.DataFrame:
        """R-hat, bulk and tail ESS per parameter, plus divergences, tree depth and E-BFMI.

        See :func:`bayescale.diagnostics.diagnose`.
        """
        from bayescale.diagnostics import diagnose

        return diagnose(self, warn=warn)

    def loo(self, pointwise: bool = True):
        """PSIS-LOO on the loss scale (see :func:`bayescale.compare.loo`)."""
        from bayescale.compare import loo

        return loo(self, pointwise=pointwise)

    # -- prediction ---------------------------------------------------------------------------
    def predict(
        self,
        kind: str = "predictive",
        new_groups: bool = False,
        rng_seed: int = 0,
        **values: Any,
    ) -> xr.DataArray:
        """Posterior draws of the loss at new inputs.

        Parameters
        ----------
        kind : {"predictive", "mean"}
            ``"mean"``: the law's value; ``"predictive"``: a new observation, with a new run's
            effect and observation noise.
        new_groups : bool
            Allow labels not seen in the data: their effects are drawn from the population.
            Without it an unknown label is an error (a typo would otherwise pass silently).
        rng_seed : int
            Seed of the draws of new-group effects and noise (named so that ``seed=`` stays
            free for a group column of training seeds).
        **values
            Inputs by input name or column role (``N=``/``params=``, ``D=``/``tokens=``,
            ``C=``/``flops=``, ``step=``; scalars or arrays, broadcast together) and group
            labels by column (``family="f1"``). A group term whose columns are not all given is
            treated as a new group (the population predictive).

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, point)``; the inputs are coords on ``point``.
        """
        if kind not in ("predictive", "mean"):
            raise ValueError(f"kind={kind!r}; choose 'predictive' or 'mean'.")
        role_to_input = {v: k for k, v in INPUTS.items()}
        x: dict[str, np.ndarray] = {}
        groups: dict[str, Any] = {}
        for key, val in values.items():
            name = role_to_input.get(key, key)
            if name in INPUTS:
                x[name] = np.asarray(val, dtype=float)
            else:
                groups[key] = val
        if "C" in self.law.inputs and "C" not in x and {"N", "D"} <= set(x):
            x["C"] = 6.0 * x["N"] * x["D"]
        missing = [k for k in self.law.inputs if k not in x]
        if missing:
            raise ValueError(
                f"predict needs {missing} for the {self.law.name} law (give e.g. N=7e10, D=1.4e12)."
            )
        x = {k: v for k, v in x.items() if k in self.law.inputs or k in ("N", "D", "C")}
        shaped = np.broadcast_arrays(*x.values())
        x = {k: np.ravel(v) for k, v in zip(x, shaped, strict=True)}
        for k, v in x.items():
            if np.any(~np.isfinite(v)) or np.any(v <= 0):
                raise DataError(f"predict: {k} must be finite and > 0.")
        m = next(iter(x.values())).shape[0]
        run = groups.pop("run", None)
        run_index = self._run_index(run, new_groups)
        key = jax.random.PRNGKey(rng_seed)
        key, sub = jax.random.split(key)
        theta = {
            k: jnp.broadcast_to(v, (*v.shape[:2], m))
            for k, v in self.theta_draws(new_groups=new_groups, rng_seed=sub, **groups).items()
        }
        post = self.tree["posterior"]
        u = self.law.centre(x, self.scale)
        loc = self.model.location(theta, u, self.scale)
        key, sub = jax.random.split(key)
        loc = loc + self.discrepancy_at(x, sub)
        key, sub = jax.random.split(key)
        loc = loc + self.extrapolation_at(x, sub)
        loss = (
            self.observe(loc, key, run_index) if kind == "predictive" else self.from_location(loc)
        )
        coords = {
            "chain": post["chain"].values,
            "draw": post["draw"].values,
            **{k: ("point", v) for k, v in x.items()},
        }
        for col, val in groups.items():
            coords[col] = ("point", np.full(m, str(val), dtype=object))
        return xr.DataArray(
            np.asarray(loss), dims=("chain", "draw", "point"), coords=coords, name="loss"
        )

    def discrepancy_at(self, x: Mapping[str, Any], key: jax.Array) -> jnp.ndarray | float:
        """Draws ``(chain, draw, m)`` of the law discrepancy at inputs ``x`` (0 without one)."""
        if self.grid is None:
            return 0.0
        post = self.tree["posterior"]
        tau = post["tau_disc"].values
        z = post["z_disc"].values if "z_disc" in post else None
        path = disc.path_draws(tau, z, self.grid)
        return disc.at(path, tau, disc.axis(x), self.grid, key)

    def extrapolation_at(self, x: Mapping[str, Any], key: jax.Array) -> jnp.ndarray | float:
        """Draws ``(chain, draw, m)`` of the extrapolation error at inputs ``x``.

        Zero inside the data or without the term; see :mod:`bayescale.extrapolation`.
        """
        if self.extrapolation is None:
            return 0.0
        post = self.tree["posterior"]
        shape = (post.sizes["chain"], post.sizes["draw"])
        return self.extrapolation.offset(x, shape, key)

    def from_location(self, loc: jnp.ndarray) -> jnp.ndarray:
        """Map the likelihood's location (log loss on the log scale) back to loss."""
        return self.model.from_location_scale(loc)

    def observe(
        self, loc: jnp.ndarray, key: jax.Array, run_index: int | None = None
    ) -> jnp.ndarray:
        """Draw new observations (a run's effect plus noise) around ``loc``.

        ``loc`` has leading dims ``(chain, draw)``; returns loss draws of the same shape.
        ``run_index`` selects a fitted run's effect; by default the run is new.
        """
        return self.from_location(loc + self.location_noise(loc.shape, key, run_index))

    def _run_index(self, run: Any, new_groups: bool) -> int | None:
        """Index of a fitted run's label (``None``: a new run)."""
        if run is None:
            return None
        post = self.tree["posterior"]
        if "run" not in post.coords:
            raise DataError("predict: run= was given but this model has no per-run effect.")
        labels = [str(v) for v in post["run"].values]
        if str(run) in labels:
            return labels.index(str(run))
        if not new_groups:
            raise DataError(
                f"predict: run={run!r} is not a fitted run; pass new_groups=True for a new run."
            )
        return None

    def location_noise(
        self, shape: tuple[int, ...], key: jax.Array, run_index: int | None = None
    ) -> jnp.ndarray:
        """Additive noise on the likelihood's scale: a run's effect plus observation noise.

        ``shape`` starts with ``(chain, draw)``; each draw uses its own noise parameters. The
        run effect is that of fitted run ``run_index``, or a new run's.
        """
        post = self.tree["posterior"]
        extra = (None,) * (len(shape) - 2)
        noise = jnp.zeros(shape)
        if "sd_run" in post:
            key, sub = jax.random.split(key)
            sd_run = jnp.asarray(post["sd_run"].values)[(..., *extra)]
            if run_index is None:
                noise = noise + sd_run * jax.random.normal(sub, shape)
            else:
                r = effect_draws(post, "run")[..., run_index]
                noise = noise + jnp.asarray(r)[(..., *extra)]
        key, sub = jax.random.split(key)
        sigma = jnp.asarray(post["sigma"].values)[(..., *extra)]
        if self.model.likelihood == "student_t":
            nu = jnp.asarray(post["nu"].values)[(..., *extra)]
            eps = jax.random.t(sub, nu, shape)
        else:
            eps = jax.random.normal(sub, shape)
        return noise + sigma * eps

    def theta_draws(
        self, new_groups: bool = False, rng_seed: int | jax.Array = 0, **groups: Any
    ) -> dict[str, jnp.ndarray]:
        """Return the sampled law parameters of a group, shape ``(chain, draw, 1)`` each.

        ``groups`` gives labels by group column (``family="f1"``). A term whose columns are
        not all given, or (with ``new_groups=True``) whose label is unseen, gets effects drawn
        from the population: the posterior of a new group.
        """
        known_cols = {c for t in self.model.terms for c in term_columns(t)}
        unknown = set(groups) - known_cols
        if unknown:
            raise DataError(
                f"{sorted(unknown)} is neither an input nor a group column of this model; "
                f"inputs are {list(self.law.inputs)}, group columns {sorted(known_cols)}."
            )
        post = self.tree["posterior"]
        key = rng_seed if isinstance(rng_seed, jax.Array) else jax.random.PRNGKey(rng_seed)
        shape = (post.sizes["chain"], post.sizes["draw"])
        effect = {}
        for term in self.model.terms:
            key, sub = jax.random.split(key)
            effect[term] = self._term_effect(term, groups, new_groups, sub, shape)
        theta = {}
        for p in self.law.parameters:
            value = jnp.asarray(post[p.name].values)[..., None]
            for term in self.model.effect_terms(p.name):
                value = value + effect[term][p.name]
            theta[p.name] = value
        return theta

    def _term_effect(
        self,
        term: str,
        groups: Mapping[str, Any],
        new_groups: bool,
        key: jax.Array,
        shape: tuple[int, int],
    ) -> dict[str, jnp.ndarray]:
        """Effect draws of one term for the requested label (a new level: from the population)."""
        post = self.tree["posterior"]
        cols = term_columns(term)
        labels = self.group_labels(term)
        label = ":".join(str(groups[c]) for c in cols) if all(c in groups for c in cols) else None
        if label is not None and label not in labels:
            if not new_groups:
                shown = labels if len(labels) <= 20 else [*labels[:20], "..."]
                raise DataError(
                    f"predict: {term}={label!r} is not a level seen in the data ({shown}). "
                    "Pass new_groups=True to predict for an unseen group (its effect is drawn "
                    "from the population), or fix the label."
                )
            label = None
        out = {}
        for p in self.law.parameters:
            if term not in self.model.effect_terms(p.name):
                continue
            if label is None:
                key, sub = jax.random.split(key)
                sd = jnp.asarray(post[f"sd_{p.name}__{term}"].values)[..., None]
                out[p.name] = sd * jax.random.normal(sub, (*shape, 1))
            else:
                r = effect_draws(post, p.name, term)[..., labels.index(label)]
                out[p.name] = jnp.asarray(r)[..., None]
        return out
