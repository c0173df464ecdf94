"""The one prediction path: posterior draws to loss draws at new inputs.

Every consumer that needs the loss somewhere (``ScalingPosterior.predict``, the frontier, every
decision, the two-step model, calibration backtests, the figures and the command line) goes
through :class:`Predictor`, in this order:

1. posterior draws of the law's sampled parameters;
2. group effects: a fitted level's drawn effect, or a new level's effect drawn from the
   population (``sd * z``);
3. the law's location ``g(L(x; theta))`` on the likelihood's scale (log loss by default);
4. the law discrepancy (when the model has one), along its fitted path inside the data;
5. the extrapolation error (zero inside the data, see :mod:`bayescale.extrapolation`);
6. observation noise: a run's effect (a fitted run's, or a new run's) and the noise;
7. back to the loss scale.

Steps 2 and 5 draw one value per posterior draw (common to every point of a call), so a
prediction over many inputs is one coherent draw of the curve per posterior draw. Inputs are
laid out as ``(chain, draw, point, ...)``: an input of shape ``(m,)`` is ``m`` points; a
consumer that optimises per draw passes inputs shaped ``(chain, draw, point, ...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bayescale import arguments
from bayescale import discrepancy as disc
from bayescale import likelihood as lik
from bayescale.description import ModelDescription
from bayescale.discrepancy import Grid
from bayescale.extrapolation import PERTURBED, ExtrapolationError
from bayescale.laws.base import Scale
from bayescale.sites import RUN, effect_draws, sd_site, terms_of

#: Kinds of prediction: the law's loss (``"mean"``) or a new observation (``"predictive"``).
KINDS = ("mean", "predictive")
#: The compiled path's private kind that returns the law's sensitivities (sensitivity_draws).
_SENSITIVITY = "sensitivity"


@dataclass(frozen=True)
class Assignment:
    """Group levels of the points of a prediction.

    Attributes
    ----------
    codes : dict
        Per term name, the level of every point (``(m,)`` integers): ``0 .. L-1`` index the
        fitted levels, ``L, L+1, ...`` new levels whose effects are drawn from the population
        (points of one new level share its effect). A term missing from ``codes`` is one new
        level for every point: the population predictive of a new group.
    new_levels : dict
        Per term name, how many new levels its codes use.
    run : numpy.ndarray or None
        Per point, the run: ``0 .. R-1`` fitted runs, ``R, R+1, ...`` new runs (points of one
        new run share its effect). ``None``: every point is a run of its own, new.
    new_runs : int
        How many new runs ``run`` uses.
    """

    codes: Mapping[str, np.ndarray]
    new_levels: Mapping[str, int]
    run: np.ndarray | None = None
    new_runs: int = 0


def _effect_table(fitted: jnp.ndarray, sd: jnp.ndarray, n_new: int, key: jax.Array):
    """Fitted effects ``(*sample, L)`` followed by ``n_new`` new levels drawn ``N(0, sd)``."""
    drawn = sd[..., None] * jax.random.normal(key, (*fitted.shape[:-1], n_new))
    return jnp.concatenate([fitted, drawn], axis=-1)


class Predictor:
    """Prediction machinery of every posterior draw at fixed group levels.

    Build it with :func:`predictor`. Its methods are pure JAX (usable under ``jax.jit``):
    :meth:`law_location` (step 3), :meth:`location` (steps 3-5), :meth:`mean_loss`,
    :meth:`observe` (steps 6-7), :meth:`log_density` (the density of a new observation) and
    :meth:`loss` (all steps).
    """

    def __init__(
        self,
        description: ModelDescription,
        scale: Scale,
        theta: Mapping[str, jnp.ndarray],
        noise: Mapping[str, jnp.ndarray | None],
        run_effect: jnp.ndarray | None,
        disc_state: tuple[jnp.ndarray, jnp.ndarray, Grid] | None,
        extrapolation: ExtrapolationError | None,
        extrapolation_state: Mapping[str, jnp.ndarray] | None,
    ) -> None:
        self.description = description
        self.law = description.law
        self.scale = scale
        self.theta = dict(theta)
        self.noise = dict(noise)
        self.run_effect = run_effect
        self.disc_state = disc_state
        self.extrapolation = extrapolation
        self.extrapolation_state = extrapolation_state
        self.cost = description.cost
        self.sample_shape = tuple(next(iter(self.theta.values())).shape[:2])

    # -- layout ---------------------------------------------------------------------------------
    def _per_draw(self, v: jnp.ndarray, ndim: int) -> jnp.ndarray:
        """Reshape a per-draw array ``(chain, draw, ...)`` to broadcast against ``ndim`` dims."""
        v = jnp.asarray(v)
        return jnp.reshape(v, (*v.shape, *(1,) * (ndim - v.ndim)))

    def _aligned(self, x: Mapping[str, Any]) -> tuple[dict[str, jnp.ndarray], int]:
        """Lay inputs out as ``(chain, draw, point, ...)``: ``(m,)`` becomes ``(1, 1, m)``."""
        out = {}
        for k, v in x.items():
            v = jnp.asarray(v, dtype=float)
            if v.ndim == 2:
                raise ValueError(
                    f"Input {k!r} has 2 dims {v.shape}: give points as a 1-D array (m,) or laid "
                    "out as (chain, draw, point, ...)."
                )
            out[k] = v.reshape(1, 1, -1) if v.ndim <= 1 else v
        ndim = max(max(v.ndim for v in out.values()), 3)
        return {k: v.reshape(*v.shape, *(1,) * (ndim - v.ndim)) for k, v in out.items()}, ndim

    def with_cost_inputs(self, x: Mapping[str, Any]) -> dict[str, Any]:
        """``x`` with ``C = k N D`` added where the law reads ``C`` and only ``N``, ``D`` given."""
        x = dict(x)
        if "C" in self.law.inputs and "C" not in x and "N" in x and "D" in x:
            x["C"] = self.cost.flops(jnp.asarray(x["N"], float), jnp.asarray(x["D"], float))
        return x

    # -- the steps --------------------------------------------------------------------------------
    def law_location(self, x: Mapping[str, Any]) -> jnp.ndarray:
        """Return step 3: the law's location at ``x`` on the likelihood's scale, every draw."""
        x, ndim = self._aligned(self.with_cost_inputs(x))
        theta = {k: self._per_draw(v, ndim) for k, v in self.theta.items()}
        u = self.law.centre(x, self.scale)
        mean = self.law.mean(theta, u, self.scale)
        return lik.to_location(mean, self.description.scale)

    def location(
        self,
        x: Mapping[str, Any],
        key: jax.Array | None = None,
        at: Mapping[str, Any] | None = None,
    ) -> jnp.ndarray:
        """Return steps 3-5: law, discrepancy and extrapolation error at ``x``.

        ``key`` draws the discrepancy's steps beyond its fitted path (only models with a
        discrepancy term need it). ``at`` (default ``x``) places an error of the law's effective
        inputs by its own distance past the data: the frontier's search passes its budget, so
        every allocation of one budget carries the same error.
        """
        x = self.with_cost_inputs(x)
        ax, ndim = self._aligned(x)
        ext = self.extrapolation
        if ext is not None and ext.mode == "inputs":  # the law at its effective inputs
            per_draw = lambda v: self._per_draw(v, ndim)  # noqa: E731
            where = None
            if at is not None:  # laid out like ``x``: padded to its number of dims
                where = {
                    k: v.reshape(*v.shape, *(1,) * (ndim - v.ndim))
                    for k, v in self._aligned(at)[0].items()
                }
            loc = self.law_location(
                ext.effective_inputs(
                    self.extrapolation_state, ax, self.law.inputs, per_draw, at=where
                )
            )
        else:
            loc = self.law_location(x)
        if self.disc_state is not None:
            path, tau, grid = self.disc_state
            if key is None:
                raise ValueError("A model with a discrepancy term needs a key to predict with.")
            t = disc.axis(ax, self.cost.k)
            loc = loc + disc.at(path, tau, t, grid, key)
        if ext is not None and ext.mode != "inputs":  # an error of the log loss
            loc = loc + ext.offset(self.extrapolation_state, ax, lambda v: self._per_draw(v, ndim))
        return loc

    def sensitivity(self, x: Mapping[str, Any], step: float = 1e-3) -> dict[str, jnp.ndarray]:
        """Return ``d log L / d x_k`` of the law at ``x`` for every input the error perturbs.

        Per decade of each log input (per unit of an upstream loss ``L``), by central
        differences of the law's log loss; laid out ``(chain, draw, point, ...)``. The record
        turns its residuals into the effective-input error with these.
        """
        x = self.with_cost_inputs(x)
        scale = self.description.scale

        def log_loss(v: Mapping[str, Any]) -> jnp.ndarray:
            return jnp.log(lik.from_location(self.law_location(v), scale))

        out = {}
        for k in self.law.inputs:
            if k not in PERTURBED:
                continue
            v = jnp.asarray(x[k], dtype=float)
            if k == "L":
                hi, lo = {**x, k: v + step}, {**x, k: v - step}
            else:
                hi, lo = {**x, k: v * 10.0**step}, {**x, k: v * 10.0**-step}
            out[k] = (log_loss(hi) - log_loss(lo)) / (2 * step)
        return out

    def mean_loss(self, x: Mapping[str, Any], key: jax.Array | None = None) -> jnp.ndarray:
        """Return steps 3-5 then 7: the loss of the law (with its extrapolation error), no noise."""
        return lik.from_location(self.location(x, key), self.description.scale)

    def observe(self, loc: jnp.ndarray, key: jax.Array) -> jnp.ndarray:
        """Draw steps 6-7: a new observation (run effect and noise) around ``loc``, as a loss.

        ``loc`` is laid out ``(chain, draw, point, ...)``; a fitted run's effect applies where
        the predictor was built for that run.
        """
        loc = jnp.asarray(loc)
        run = None if self.run_effect is None else self._per_draw(self.run_effect, loc.ndim)
        eps = lik.sample_noise(
            key,
            loc.shape,
            self.description.likelihood,
            self._per_draw(self.noise["sigma"], loc.ndim),
            None if self.noise["nu"] is None else self._per_draw(self.noise["nu"], loc.ndim),
            None
            if self.noise["sd_run"] is None
            else self._per_draw(self.noise["sd_run"], loc.ndim),
            run,
        )
        return lik.from_location(loc + eps, self.description.scale)

    def log_density(self, y: jnp.ndarray, loc: jnp.ndarray) -> jnp.ndarray:
        """Log density of a new run's observed loss ``y`` given each draw's location ``loc``.

        On the loss scale (the Jacobian of the likelihood's scale included); the new run's
        effect is integrated out. ``y`` and ``loc`` broadcast together; per-draw noise
        parameters align with ``loc``'s leading ``(chain, draw)`` axes.
        """
        loc = jnp.asarray(loc)
        nd = loc.ndim
        scale = self.description.scale
        sd_run = self.noise["sd_run"]
        return lik.observation_log_density(
            lik.to_location(y, scale),
            loc,
            self.description.likelihood,
            self._per_draw(self.noise["sigma"], nd),
            None if self.noise["nu"] is None else self._per_draw(self.noise["nu"], nd),
            None if sd_run is None else self._per_draw(sd_run, nd),
        ) + lik.log_jacobian(jnp.asarray(y), scale)

    def draw(self, x: Mapping[str, Any], kind: str, key: jax.Array):
        """Return all steps at ``x``: the location (steps 3-5) and the loss draws.

        ``kind="mean"``: the law's loss (with its extrapolation error), no noise.
        """
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r}; choose one of {list(KINDS)}.")
        k_loc, k_obs = jax.random.split(key)
        loc = self.location(x, k_loc)
        if kind == "mean":
            return loc, lik.from_location(loc, self.description.scale)
        return loc, self.observe(loc, k_obs)

    def loss(self, x: Mapping[str, Any], kind: str, key: jax.Array) -> jnp.ndarray:
        """Return all steps: loss draws at ``x`` (``kind="mean"``: the law's loss, no noise)."""
        return self.draw(x, kind, key)[1]


def predictor(
    posterior: Mapping[str, Any],
    description: ModelDescription,
    scale: Scale,
    assignment: Assignment,
    key: jax.Array,
    grid: Grid | None = None,
    extrapolation: ExtrapolationError | None = None,
) -> Predictor:
    """Build the :class:`Predictor` of a posterior's draws for given group levels.

    Parameters
    ----------
    posterior : mapping
        Draws of every site, each ``(chain, draw, ...)`` (a DataTree's posterior group or a
        dict of arrays).
    description : ModelDescription
        The model.
    scale : Scale
        The fit's centring scale.
    assignment : Assignment
        The group levels of the points (new levels get effects drawn from the population).
    key : jax.Array
        Random key of the draws of new levels' effects and of the extrapolation error.
    grid : Grid, optional
        The discrepancy's grid (models with a discrepancy term).
    extrapolation : ExtrapolationError, optional
        The fit's extrapolation-error term.
    """
    law = description.law
    posterior = {k: jnp.asarray(v) for k, v in posterior.items()}
    shape = posterior[law.parameters[0].name].shape[:2]
    k_groups, k_runs, k_extrap = jax.random.split(key, 3)
    theta = {p.name: posterior[p.name][..., None] for p in law.parameters}
    for i, term in enumerate(t.name for t in terms_of(description.effects)):
        if term in assignment.codes:
            codes, n_new = jnp.asarray(assignment.codes[term]), assignment.new_levels.get(term, 0)
        else:
            codes, n_new = None, 1
        for j, (site, terms) in enumerate(description.effects.items()):
            if term not in [t.name for t in terms]:
                continue
            fitted = effect_draws(posterior, site, term)
            sd = posterior[sd_site(site, term)]
            k = jax.random.fold_in(jax.random.fold_in(k_groups, i), j)
            table = _effect_table(fitted, sd, n_new, k)
            idx = np.full(1, fitted.shape[-1]) if codes is None else codes
            theta[site] = theta[site] + jnp.take(table, idx, axis=-1)
    noise = {
        "sigma": posterior["sigma"],
        "nu": posterior.get("nu"),
        "sd_run": posterior.get("sd_run"),
    }
    run_effect = None
    if assignment.run is not None and noise["sd_run"] is not None:
        table = _effect_table(
            effect_draws(posterior, RUN),
            noise["sd_run"],
            assignment.new_runs,
            k_runs,
        )
        run_effect = jnp.take(table, jnp.asarray(assignment.run), axis=-1)
    disc_state = None
    if grid is not None and "tau_disc" in posterior:
        tau = posterior["tau_disc"]
        disc_state = (disc.path_draws(tau, posterior.get("z_disc"), grid), tau, grid)
    extrapolation_state = (
        None if extrapolation is None else extrapolation.draw(posterior, shape, k_extrap)
    )
    return Predictor(
        description,
        scale,
        theta,
        noise,
        run_effect,
        disc_state,
        extrapolation,
        extrapolation_state,
    )


def keys(rng_seed: int | jax.Array) -> tuple[jax.Array, jax.Array]:
    """Split a prediction's seed into the predictor's key and the draws' key.

    Every consumer derives its keys this way, so that at one seed its loss draws are
    ``ScalingPosterior.predict``'s: ``predictor(..., key_pred)`` then ``.loss(x, kind, key_draw)``.
    """
    if isinstance(rng_seed, jax.Array):
        key = rng_seed
    else:
        key = jax.random.PRNGKey(arguments.seed(rng_seed, "rng_seed"))
    k_pred, k_draw = jax.random.split(key)
    return k_pred, k_draw


def _loss_draws(
    posterior: Mapping[str, Any],
    x: Mapping[str, Any],
    codes: Mapping[str, Any],
    run: Any,
    key: jax.Array,
    scale: Mapping[str, Any],
    ranges: Mapping[str, Any] | None,
    *,
    description: ModelDescription,
    kind: str,
    new_levels: tuple[tuple[str, int], ...],
    new_runs: int,
    grid: Grid | None,
    extrapolation_mode: str | None,
    extrapolation_scale: float,
) -> jnp.ndarray:
    """All steps in one function (compiled by :func:`loss_draws`): loss draws at ``x``.

    ``kind="sensitivity"``: the law's ``d log L / d x_k`` instead (:func:`sensitivity_draws`).
    """
    key_pred, key_draw = keys(key)
    pred = predictor(
        posterior,
        description,
        Scale(**scale),
        Assignment(codes, dict(new_levels), run, new_runs),
        key_pred,
        grid=grid,
        extrapolation=(
            None
            if extrapolation_mode is None
            else ExtrapolationError(
                ranges, description.cost, extrapolation_mode, extrapolation_scale
            )
        ),
    )
    if kind == _SENSITIVITY:
        sens = pred.sensitivity(x)
        return jnp.stack([sens[k] for k in description.law.inputs if k in sens], axis=-1)
    return pred.loss(x, kind, key_draw)


_loss_draws_jit = jax.jit(
    _loss_draws,
    static_argnames=(
        "description",
        "kind",
        "new_levels",
        "new_runs",
        "grid",
        "extrapolation_mode",
        "extrapolation_scale",
    ),
)


def loss_draws(
    posterior: Mapping[str, Any],
    description: ModelDescription,
    scale: Scale,
    assignment: Assignment,
    x: Mapping[str, Any],
    kind: str,
    key: jax.Array,
    grid: Grid | None = None,
    extrapolation: ExtrapolationError | None = None,
) -> jnp.ndarray:
    """Loss draws ``(chain, draw, point)`` at inputs ``x`` (``(m,)`` arrays): every step at once.

    The compiled form of ``predictor(..., key_pred).loss(x, kind, key_draw)`` with
    ``key_pred, key_draw = jax.random.split(key)``: compiled once per model and shapes, so a
    prediction costs no per-operation dispatch. Its draws are those of :class:`Predictor`'s.
    """
    if kind not in (*KINDS, _SENSITIVITY):
        raise ValueError(f"kind={kind!r}; choose one of {list(KINDS)}.")
    return _loss_draws_jit(
        posterior,
        {k: jnp.asarray(v, dtype=float) for k, v in x.items()},
        {k: jnp.asarray(v) for k, v in assignment.codes.items()},
        None if assignment.run is None else jnp.asarray(assignment.run),
        key,
        {
            "log_ref": dict(scale.log_ref),
            "loss": scale.loss,
            "loss_min": scale.loss_min,
            "x_min": dict(scale.x_min),
        },
        None if extrapolation is None else {k: tuple(v) for k, v in extrapolation.ranges.items()},
        description=description,
        kind=kind,
        new_levels=tuple(sorted(assignment.new_levels.items())),
        new_runs=int(assignment.new_runs),
        grid=grid,
        extrapolation_mode=None if extrapolation is None else extrapolation.mode,
        extrapolation_scale=0.0 if extrapolation is None else float(extrapolation.scale),
    )


def sensitivity_draws(
    posterior: Mapping[str, Any],
    description: ModelDescription,
    scale: Scale,
    assignment: Assignment,
    x: Mapping[str, Any],
) -> np.ndarray:
    """``d log L / d x_k`` of the law at points ``x``: ``(chain, draw, point, input)``, compiled.

    One column per input the extrapolation error perturbs (:meth:`Predictor.sensitivity`), in
    the order of ``description.law.inputs``.
    """
    inputs = [k for k in description.law.inputs if k in PERTURBED]
    key = jax.random.PRNGKey(0)
    out = loss_draws(posterior, description, scale, assignment, x, _SENSITIVITY, key)
    m = next(iter(x.values())).shape[0]
    return np.broadcast_to(np.asarray(out), (*out.shape[:2], m, len(inputs)))


__all__ = [
    "KINDS",
    "Assignment",
    "Predictor",
    "keys",
    "loss_draws",
    "predictor",
    "sensitivity_draws",
]
