"""The inference engine: NUTS and Laplace fits of one or many tables of one model.

:func:`sample_nuts` is the one NUTS driver (single fits are a batch of one): stack the tables
(:func:`~bayescale.inference.problem.stack`), initialise the model once per structure, find
every fit's MAP and Laplace approximation (:mod:`~bayescale.inference.laplace`), start each
fit's chains around its MAP (around its prior means where the MAP search did not converge),
with its Laplace covariance as starting mass or as its coordinates where that suits
(``init_mass``), run all chains
of all fits as NUTS lanes (:mod:`~bayescale.inference.nuts`), then map the draws to the sampled
sites, draw integrated-out run effects and compute each fit's pointwise log likelihood.
:func:`sample_importance` draws full posteriors without NUTS (Laplace proposals corrected by
Pareto-smoothed importance sampling, :mod:`~bayescale.inference.importance`) and returns them as
NUTS draws are returned; :func:`laplace_draws` is the fast path: MAP plus Laplace draws for
every fit.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer import log_likelihood

from bayescale.inference.devices import devices_map
from bayescale.inference.importance import importance_sample
from bayescale.inference.laplace import MAP_CHUNK, MAP_STARTS, LaplaceFit, find_map
from bayescale.inference.nuts import all_devices_memory_advice, lane_devices, nuts_lanes
from bayescale.inference.problem import Fittable, Problem, problem, stack
from bayescale.inference.stats import NutsSettings, sampler_stats
from bayescale.likelihood import draw_marginal_run

#: Largest number of (fit, chain, draw, row) elements per pointwise log-likelihood call.
LOG_LIKELIHOOD_CHUNK = 2**24


@dataclass
class Draws:
    """The draws of one fit, arrays shaped ``(chain, draw, ...)``.

    Attributes
    ----------
    samples : dict
        Every sampled and deterministic site (integrated-out run effects drawn).
    stats : dict
        Sampler statistics under ArviZ's names (:func:`~bayescale.inference.stats.sampler_stats`).
    log_likelihood : dict
        Pointwise log likelihood of every observed site, given every parameter (run effects
        included), ``(chain, draw, row)``.
    settings : dict
        The run's options (:class:`~bayescale.inference.stats.NutsSettings`) and how the lanes
        ran.
    timing : dict
        Wall seconds per phase (shared by the fits of a batch).
    """

    samples: dict[str, np.ndarray]
    stats: dict[str, np.ndarray]
    log_likelihood: dict[str, np.ndarray]
    settings: dict[str, Any]
    timing: dict[str, float] = field(default_factory=dict)


def _map_starts(model: Fittable, datas: Sequence[Any]) -> int:
    """Return the starts of every fit's MAP search: one where a group scale makes a funnel."""
    return 1 if any(model.has_group_scales(d) for d in datas) else MAP_STARTS


def _lanes_of(values: np.ndarray, chains: int) -> np.ndarray:
    """Repeat each fit's row ``chains`` times: ``(fits, ...) -> (fits * chains, ...)``."""
    return np.repeat(np.asarray(values), chains, axis=0)


def sample_nuts(
    model: Fittable,
    datas: Sequence[Any],
    settings: NutsSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Draws]:
    """NUTS draws of every validated table in ``datas`` (one model, one structure).

    Parameters
    ----------
    model : Fittable
        The model (:class:`bayescale.Model`, :class:`bayescale.TwoStepModel`).
    datas : sequence
        Validated tables (``model.prepare(df)``).
    settings : NutsSettings, optional
        Sampler options (defaults: 4 chains x (1000 + 1000)).
    progress : callable, optional
        Called with a short message as each phase starts.

    Returns
    -------
    list of Draws
        One per table, in order.
    """
    settings = settings or NutsSettings()
    say = progress or (lambda msg: None)
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    structure, arrays = stack(model, datas)
    fits, chains = len(datas), settings.chains
    prob = problem(model, structure, arrays, settings.seed)
    n_dev = lane_devices(settings.chain_method, chains, fits)
    advice = all_devices_memory_advice(n_dev, chains * fits, max(d.n for d in datas))
    if advice:
        warnings.warn(advice, UserWarning, stacklevel=3)
    key = jax.random.PRNGKey(settings.seed)
    k_init, k_start, k_lanes, k_run = jax.random.split(key, 4)
    x0 = np.asarray(prob.initial_points(jax.random.split(k_init, fits), arrays))
    timing["initialize"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if settings.init == "map":
        say("finding the MAP")
        scales = [model.has_group_scales(d) for d in datas]
        starts = 1 if any(scales) else MAP_STARTS  # as _map_starts, with the scales kept
        lap = find_map(prob, arrays, x0, chunk=MAP_CHUNK, starts=starts, seed=settings.seed)
        converged = lap.converged
        factor = lap.factor()
        cov = None if factor is None else factor @ np.swapaxes(factor, -1, -2)
        # A MAP that did not converge (in a hierarchy, the search can run down the funnel of
        # a group scale towards zero) is no place to start: those fits start as init="prior".
        centre = np.where(converged[:, None], lap.x, x0)
        spread = np.where(converged[:, None], lap.start_sd(cov), 0.1)
        use = [settings.laplace_mass(g, d.n, fits) for g, d in zip(scales, datas, strict=True)]
        white = np.array(
            [settings.laplace_coordinates(g, d.n) for g, d in zip(scales, datas, strict=True)]
        )
        if cov is not None:
            cov = np.where(np.asarray(use)[:, None, None], cov, np.eye(prob.dim))
    else:
        centre, spread = x0, np.full(x0.shape, 0.1)
        converged, cov, use, white = np.zeros(fits, bool), None, [], np.zeros(fits, bool)
    timing["map"] = time.perf_counter() - t0

    eps = np.asarray(jax.random.normal(k_start, (fits, chains, prob.dim)))
    starts = (centre[:, None] + spread[:, None] * eps).reshape(fits * chains, prob.dim)
    inverse_mass = whiten = None
    if cov is not None and any(use):
        if not settings.dense_mass:
            cov = cov * np.eye(prob.dim)
        # Fits that use their Laplace covariance as starting mass (small batched fits) pass
        # it; the others start from the identity, in their own or in Laplace coordinates.
        start = np.where(white[:, None, None], np.eye(prob.dim), cov)
        mass = start if settings.dense_mass else np.diagonal(start, axis1=-2, axis2=-1)
        inverse_mass = jnp.asarray(_lanes_of(mass, chains))
    if cov is not None and white.any():
        # NUTS runs in coordinates whitened by each fit's MAP and Laplace covariance (a
        # no-op where a fit does not), so that mass adaptation's regularisation is relative
        # to the posterior's scales (:mod:`~bayescale.inference.nuts`).
        if not settings.dense_mass:  # whitened by the Laplace standard deviations alone
            factor = np.sqrt(cov)
        chol = np.where(white[:, None, None], factor, np.eye(prob.dim))
        shift = np.where(white[:, None], centre, 0.0)
        whiten = (_lanes_of(shift, chains), _lanes_of(chol, chains))
    lane_arrays = jax.tree.map(lambda v: _lanes_of(v, chains), arrays)
    say(f"sampling {fits} fit(s) x {chains} chains")
    t0 = time.perf_counter()
    fields = nuts_lanes(
        prob.potential_gen,
        prob.unravel,
        jax.random.split(k_lanes, fits * chains),
        jnp.asarray(starts),
        lane_arrays,
        draws=settings.draws,
        warmup=settings.warmup,
        target_accept=settings.target_accept,
        dense_mass=settings.dense_mass,
        max_tree_depth=settings.max_tree_depth,
        chunk=settings.chunk,
        n_devices=n_dev,
        inverse_mass=inverse_mass,
        adapt_mass=settings.adapt_mass,
        warmup_tree_depth=settings.warmup_depth(fits),
        whiten=whiten,
    )
    timing["nuts"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    constrained = _constrain(prob, fields["z"], lane_arrays)
    per_fit = {
        k: np.asarray(v).reshape(fits, chains, *np.shape(v)[1:]) for k, v in constrained.items()
    }
    samples, loglik = _per_fit_draws(model, prob, per_fit, arrays, datas, k_run, say)
    timing["log_likelihood"] = time.perf_counter() - t0

    lanes = {
        k: np.asarray(v).reshape(fits, chains, settings.draws)
        for k, v in fields.items()
        if k != "z"
    }
    record = {
        "method": "nuts",
        **settings.to_dict(),
        "warmup_tree_depth": settings.warmup_depth(fits),
        "lanes": f"{fits} fit(s) x {chains} chains on {n_dev} device(s)",
    }
    return [
        Draws(
            samples=samples[i],
            stats=sampler_stats({k: v[i] for k, v in lanes.items()}, settings.max_tree_depth),
            log_likelihood=loglik[i],
            settings=record,
            timing=dict(timing),
        )
        for i in range(fits)
    ]


def _per_fit_draws(
    model: Fittable,
    prob: Problem,
    per_fit: dict[str, np.ndarray],
    arrays: dict,
    datas: Sequence[Any],
    key: jax.Array,
    say: Callable[[str], None],
) -> tuple[list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """Split the sites of all fits ``(fit, chain, draw, ...)`` into every fit's draws.

    Integrated-out run effects are drawn, and each fit's pointwise log likelihood computed.
    """
    run_keys = jax.random.split(key, len(datas))
    samples = [
        draw_marginal_run({k: v[i] for k, v in per_fit.items()}, run_keys[i])
        for i in range(len(datas))
    ]
    say("computing the pointwise log likelihood")
    loglik = pointwise_log_likelihood(model, prob, samples, arrays, [d.n for d in datas])
    return samples, loglik


def _constrain(prob: Problem, z: Any, lane_arrays: dict) -> dict[str, np.ndarray]:
    """Return the sampled and deterministic sites of every lane's draws, ``(lanes, draw, ...)``."""
    if "constrain" not in prob.jitted:

        def lane(a, zs):
            return jax.vmap(prob.constrain(a))(zs)

        prob.jitted["constrain"] = jax.jit(jax.vmap(lane))
    out = prob.jitted["constrain"](lane_arrays, z)
    return {k: np.asarray(v) for k, v in out.items()}


def pointwise_log_likelihood(
    model: Fittable,
    prob: Problem,
    samples: Sequence[dict[str, np.ndarray]],
    arrays: dict,
    rows: Sequence[int],
) -> list[dict[str, np.ndarray]]:
    """Pointwise log likelihood of every fit's draws given every parameter, ``(chain, draw, row)``.

    Computed with the model's *pointwise* structure (integrated-out run effects replaced by
    their drawn values, so every row is scored alike however the fit sampled). Fits go in
    chunks and draws in slices so that one call holds at most :data:`LOG_LIKELIHOOD_CHUNK`
    elements; padded rows are cut off.
    """
    if "loglik" not in prob.jitted:
        structure = model.pointwise_structure(prob.structure)

        def fn(**a: Any) -> Any:
            return model.numpyro_model(**structure, **a)

        def single(s, a):
            return log_likelihood(fn, s, batch_ndims=2, **a)

        prob.jitted["loglik"] = jax.vmap(single)
    per_fit = prob.jitted["loglik"]
    fits = len(samples)
    n_dev = jax.local_device_count()
    chains, draws = np.shape(next(iter(samples[0].values())))[:2]
    width = max(rows)
    draw_slice = min(draws, max(1, LOG_LIKELIHOOD_CHUNK // max(1, chains * width)))
    fit_chunk = min(fits, max(1, LOG_LIKELIHOOD_CHUNK // (chains * draw_slice * width)))
    # Equal slices of draws and chunks of fits (the last ones padded): one compiled shape.
    pad = (-draws) % draw_slice
    out: list[dict[str, list[np.ndarray]]] = [{} for _ in range(fits)]
    for start in range(0, fits, fit_chunk):
        idx = list(range(start, min(fits, start + fit_chunk)))
        padded = idx + [idx[-1]] * (fit_chunk - len(idx))
        part_arrays = jax.tree.map(lambda v, i=padded: jnp.asarray(v[np.asarray(i)]), arrays)
        stacked = {k: np.stack([samples[i][k] for i in padded]) for k in samples[0]}
        if pad:
            stacked = {
                k: np.concatenate([v, v[:, :, -1:].repeat(pad, 2)], 2) for k, v in stacked.items()
            }
        for d0 in range(0, draws, draw_slice):
            s = {k: jnp.asarray(v[:, :, d0 : d0 + draw_slice]) for k, v in stacked.items()}
            # one transfer per site, then numpy slices (indexing the device array per fit
            # dispatched an operation each: 9 of P3's 16 s of log likelihood)
            res = devices_map(per_fit, s, part_arrays, chunk=-(-fit_chunk // n_dev))
            res = {site: np.asarray(v) for site, v in res.items()}
            for j, i in enumerate(idx):
                for site, v in res.items():
                    out[i].setdefault(site, []).append(v[j])
    return [
        {
            site: (parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1))[
                :, :draws, : rows[i]
            ]
            for site, parts in out[i].items()
        }
        for i in range(fits)
    ]


def sample_importance(
    model: Fittable,
    datas: Sequence[Any],
    settings: NutsSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Draws]:
    """Full posterior draws of every table by adaptive importance sampling (no NUTS).

    Each fit's MAP and Laplace approximation start an adaptive Gaussian proposal whose final
    draws are weighted by PSIS and resampled to ``chains x draws`` equally weighted draws
    (:func:`~bayescale.inference.importance.importance_sample`). ``settings`` gives the draws
    (``chains`` only shapes them: the draws are not chains) and the seed; NUTS's options are
    ignored. The ``sample_stats`` of every fit hold ``lp`` (each draw's log density) and the
    fit's ``pareto_k`` and ``ess_importance`` (repeated over draws, as ArviZ stores
    statistics), which :func:`bayescale.diagnostics.diagnose` checks.
    """
    settings = settings or NutsSettings()
    say = progress or (lambda msg: None)
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    structure, arrays = stack(model, datas)
    fits, chains, draws = len(datas), settings.chains, settings.draws
    prob = problem(model, structure, arrays, settings.seed)
    k_init, k_run = jax.random.split(jax.random.PRNGKey(settings.seed))
    x0 = np.asarray(prob.initial_points(jax.random.split(k_init, fits), arrays))
    timing["initialize"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    say("finding the MAP")
    lap = find_map(
        prob, arrays, x0, chunk=MAP_CHUNK, starts=_map_starts(model, datas), seed=settings.seed
    )
    timing["map"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    say(f"importance sampling {fits} fit(s)")
    exp_coords = prob.coordinates(model.additive_sites())
    # fits per call: at most LOG_LIKELIHOOD_CHUNK (fit, proposal, row) elements
    chunk = max(1, LOG_LIKELIHOOD_CHUNK // (2 * chains * draws * max(d.n for d in datas)))
    imp = importance_sample(
        prob, arrays, lap, chains * draws, settings.seed, exp_coords, chunk=chunk
    )
    timing["importance"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    z = jax.vmap(jax.vmap(prob.unravel))(jnp.asarray(imp.z))
    constrained = _constrain(prob, z, arrays)
    per_fit = {
        k: np.asarray(v).reshape(fits, chains, draws, *np.shape(v)[2:])
        for k, v in constrained.items()
    }
    samples, loglik = _per_fit_draws(model, prob, per_fit, arrays, datas, k_run, say)
    timing["log_likelihood"] = time.perf_counter() - t0
    record = {
        "method": "psis",
        "chains": chains,
        "draws": draws,
        "seed": settings.seed,
        "proposals": imp.proposals,
    }
    shape = (chains, draws)
    return [
        Draws(
            samples=samples[i],
            stats={
                "lp": imp.log_density[i].reshape(shape),
                "pareto_k": np.full(shape, imp.pareto_k[i]),
                "ess_importance": np.full(shape, imp.ess[i]),
            },
            log_likelihood=loglik[i],
            settings=record,
            timing=dict(timing),
        )
        for i in range(fits)
    ]


@dataclass
class LaplaceDraws:
    """MAP, Laplace fit and constrained Laplace draws of every table, ``(fit, draw, ...)``."""

    laplace: LaplaceFit
    samples: dict[str, np.ndarray]
    at_map: dict[str, np.ndarray]
    timing: dict[str, float]


def laplace_draws(
    model: Fittable, datas: Sequence[Any], draws: int = 1000, seed: int = 0, maxiter: int = 60
) -> LaplaceDraws:
    """MAP plus Laplace approximation of every table, with ``draws`` draws each."""
    timing = {}
    t0 = time.perf_counter()
    structure, arrays = stack(model, datas)
    prob = problem(model, structure, arrays, seed)
    k_init, k_draws = jax.random.split(jax.random.PRNGKey(seed))
    x0 = np.asarray(prob.initial_points(jax.random.split(k_init, len(datas)), arrays))
    timing["prepare"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lap = find_map(prob, arrays, x0, maxiter=maxiter, starts=_map_starts(model, datas), seed=seed)
    timing["map_and_hessian"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    z = lap.draws(k_draws, draws)
    constrained = _constrain(prob, jax.vmap(jax.vmap(prob.unravel))(jnp.asarray(z)), arrays)
    at_map = _constrain(prob, jax.vmap(jax.vmap(prob.unravel))(jnp.asarray(lap.x)[:, None]), arrays)
    timing["draws"] = time.perf_counter() - t0
    return LaplaceDraws(lap, constrained, {k: v[:, 0] for k, v in at_map.items()}, timing)


__all__ = [
    "LOG_LIKELIHOOD_CHUNK",
    "Draws",
    "LaplaceDraws",
    "laplace_draws",
    "pointwise_log_likelihood",
    "sample_importance",
    "sample_nuts",
]
