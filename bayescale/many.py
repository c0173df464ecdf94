"""Many independent fits of one model, as one vectorised computation.

Tables of different lengths are padded to the longest and the padded rows masked out of the
likelihood; every fit keeps its own centring scale (and so its own data-scaled priors), passed
as data to one NumPyro model that is vmapped over fits. Two paths:

* :func:`laplace_many` -- the fast path: a batched MAP (damped Newton on NumPyro's
  unconstrained potential) and a Laplace approximation from the exact (autodiff) Hessian.
* :func:`nuts_many` -- full posteriors: NUTS on ``fits x chains`` lanes (NumPyro's functional
  ``hmc`` kernel under ``jax.vmap``), each lane with its own adaptation, chains started around
  their fit's MAP; results come back as one :class:`~bayescale.posterior.ScalingPosterior`
  (an ArviZ DataTree) per fit, with diagnostics.

Lanes run in lockstep, so the slowest lane in a chunk sets its pace; ``chunk`` bounds the
lanes per vmapped call, and chunks are spread over the local devices (CPU host devices or
GPUs) with ``jax.pmap``.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr
from jax.flatten_util import ravel_pytree
from numpyro.infer import init_to_median, log_likelihood
from numpyro.infer.util import initialize_model

from bayescale.batch import devices_map, nuts_lanes
from bayescale.diagnostics import failure_message
from bayescale.errors import ConvergenceWarning, SpecificationError
from bayescale.laws.base import Scale

if TYPE_CHECKING:
    from bayescale.data import ScalingData
    from bayescale.model import Model
    from bayescale.posterior import ScalingPosterior


@dataclass
class Batch:
    """Validated tables stacked for a batched fit (every array has a leading fit axis)."""

    datas: list[ScalingData]
    args: dict[str, Any]
    sizes: dict[str, int]
    centered: frozenset[str]

    @property
    def n_fits(self) -> int:
        """Number of fits."""
        return len(self.datas)


def _pad(v: np.ndarray, n: int, fill: float) -> np.ndarray:
    out = np.full(n, fill, dtype=v.dtype)
    out[: v.size] = v
    return out


def stack(model: Model, tables: Sequence[pd.DataFrame]) -> Batch:
    """Validate every table and stack them, padding to the longest and masking the padding.

    Group terms and the run effect must have the same number of levels in every table (their
    effects are arrays of fixed size); the discrepancy term is not supported.
    """
    if model.discrepancy is not None:
        raise SpecificationError("Batched fits do not support the discrepancy term.")
    if len(tables) == 0:
        raise ValueError("No tables to fit.")
    datas = [model.prepare(t) for t in tables]
    first = datas[0]
    sizes = {t: g.size for t, g in first.groups.items()}
    if first.run is not None:
        sizes["run"] = first.run.size
    for i, d in enumerate(datas):
        s = {t: g.size for t, g in d.groups.items()}
        if d.run is not None:
            s["run"] = d.run.size
        if s != sizes:
            raise SpecificationError(
                f"Table {i} has group sizes {s}, table 0 {sizes}: batched fits need the same "
                "number of levels of every group term in every table (fit them separately, or "
                "with bayescale.distributed.fit_many)."
            )
    n_max = max(d.n for d in datas)
    inputs = model.law.inputs
    args: dict[str, Any] = {
        "u": {
            k: np.stack(
                [_pad(np.asarray(model.law.centre(d.x, d.scale)[k]), n_max, 0.0) for d in datas]
            )
            for k in inputs
        },
        "codes": {
            t: np.stack([_pad(d.groups[t].codes, n_max, 0) for d in datas]) for t in first.groups
        },
        "run_codes": (
            None if first.run is None else np.stack([_pad(d.run.codes, n_max, 0) for d in datas])
        ),
        "loss": np.stack([_pad(d.loss, n_max, float(np.median(d.loss))) for d in datas]),
        "mask": np.stack([_pad(np.ones(d.n, bool), n_max, False) for d in datas]),
        "log_ref": {k: np.array([d.scale.log_ref[k] for d in datas]) for k in first.scale.log_ref},
        "loss_scale": np.array([d.scale.loss for d in datas]),
        "loss_min": np.array([d.scale.loss_min for d in datas]),
        "x_min": {k: np.array([d.scale.x_min[k] for d in datas]) for k in first.scale.x_min},
    }
    centered = frozenset.intersection(*[model.centered_terms(d) for d in datas])
    return Batch(datas, args, sizes, centered)


def _one(args: dict[str, Any], i: int) -> dict[str, Any]:
    """Return the arguments of fit ``i``."""
    return jax.tree.map(lambda v: v[i], args)


def _model_fn(model: Model, batch: Batch):
    """Build a NumPyro model of one fit that takes its arrays (scale included) as data."""

    def fn(u, codes, run_codes, loss, mask, log_ref, loss_scale, loss_min, x_min):
        scale = Scale(log_ref=log_ref, loss=loss_scale, loss_min=loss_min, x_min=x_min)
        model.numpyro_model(
            u=u,
            codes=codes,
            run_codes=run_codes,
            sizes=batch.sizes,
            scale=scale,
            loss=loss,
            centered=batch.centered,
            obs_mask=mask,
        )

    return fn


def _initialize(model: Model, batch: Batch, seed: int):
    fn = _model_fn(model, batch)
    return fn, initialize_model(
        jax.random.PRNGKey(seed),
        fn,
        model_kwargs=_one(batch.args, 0),
        dynamic_args=True,
        init_strategy=init_to_median(num_samples=15),
        validate_grad=False,
    )


@dataclass
class _Kernels:
    """Compiled-once pieces of a batched fit, shared by every call with the same structure."""

    fn: Any
    info: Any
    unravel: Any
    jitted: dict = field(default_factory=dict)


#: Fits per vectorised MAP call per device (the MAP has no lockstep cost to bound).
MAP_CHUNK = 4096

#: Kernels by model structure (law and its configuration, effects, group sizes, centring).
_KERNELS: dict[tuple, _Kernels] = {}


def _kernels(model: Model, batch: Batch, seed: int) -> tuple[_Kernels, jnp.ndarray]:
    """Return the cached kernels for this model structure and this batch's starting point.

    The potential, the Newton MAP search and the NUTS lanes are built (and so compiled) once
    per structure; a later call with new tables of the same structure reuses the executables
    (a warm call: a few seconds less per call on CPU). The starting point (prior medians of
    the first table) is recomputed for every call.
    """
    custom = type(model.law).name == "custom"
    key = (
        id(model.law) if custom else json.dumps(model.spec(), sort_keys=True),
        tuple(sorted(batch.sizes.items())),
        tuple(sorted(batch.centered)),
        batch.args["run_codes"] is None,
    )
    fn, info = _initialize(model, batch, seed)
    z0, unravel = ravel_pytree(info.param_info.z)
    if key not in _KERNELS:
        _KERNELS[key] = _Kernels(fn, info, unravel)
    return _KERNELS[key], z0


@dataclass
class LaplaceResult:
    """MAP and Laplace approximation of every fit.

    ``tree`` is an :class:`xarray.DataTree` with groups ``posterior`` (natural and sampled
    parameters, dims ``(fit, draw)``) and ``map`` (the MAP of every natural parameter, dim
    ``fit``, plus ``converged``: the optimiser converged and the Hessian is positive definite).
    """

    tree: xr.DataTree
    timing: dict[str, float]

    def summary(self) -> pd.DataFrame:
        """Median and 5 %/95 % quantiles of every natural parameter, one row per fit."""
        post = self.tree["posterior"].to_dataset()
        cols = {}
        for k in self.tree.attrs["natural_names"]:
            v = post[k].values
            cols[k] = np.median(v, axis=1)
            cols[f"{k}_q05"], cols[f"{k}_q95"] = np.quantile(v, [0.05, 0.95], axis=1)
        table = pd.DataFrame(cols)
        table["converged"] = self.tree["map"]["converged"].values
        return table


def _map_and_hessian(k: _Kernels, maxiter: int):
    """Vmapped per-fit MAP by a damped Newton method (Levenberg-Marquardt, exact Hessian).

    The problems are small (a handful of parameters) and centred, so Newton steps converge in
    a few iterations; the damping is raised after a step that does not lower the potential
    and lowered after one that does. Returns ``f(args, x0) -> (x, potential, ok, hessian)``,
    built once per structure and ``maxiter``.
    """
    if ("map", maxiter) in k.jitted:
        return k.jitted[("map", maxiter)]
    info, unravel = k.info, k.unravel

    def one(a, flat0):
        pot = info.potential_fn(**a)
        eye = jnp.eye(flat0.size)

        def f(x):
            v = pot(unravel(x))
            return jnp.where(jnp.isfinite(v), v, jnp.inf)

        grad, hess_fn = jax.grad(f), jax.hessian(f)

        def body(_, state):
            x, fx, lam = state
            g, h = grad(x), hess_fn(x)
            h = 0.5 * (h + h.T)
            # Make the damped Hessian positive definite, then step.
            shift = jnp.maximum(0.0, -jnp.min(jnp.linalg.eigvalsh(h))) + lam
            step = jnp.linalg.solve(h + shift * eye, g)
            step = jnp.where(jnp.all(jnp.isfinite(step)), step, 0.1 * g)
            x_new = x - step
            f_new = f(x_new)
            better = f_new < fx
            return (
                jnp.where(better, x_new, x),
                jnp.where(better, f_new, fx),
                jnp.where(better, lam / 3.0, lam * 4.0),
            )

        x, fx, _ = jax.lax.fori_loop(0, maxiter, body, (flat0, f(flat0), jnp.asarray(1.0)))
        g = grad(x)
        hess = hess_fn(x)
        ok = jnp.isfinite(fx) & (jnp.max(jnp.abs(g)) < 1e-3)
        return x, fx, ok, hess

    k.jitted[("map", maxiter)] = jax.vmap(one)
    return k.jitted[("map", maxiter)]


def _run_map(k: _Kernels, args: dict, z0: jnp.ndarray, maxiter: int, chunk: int):
    """MAP and Hessian of every fit, all started at ``z0``."""
    starts = jnp.broadcast_to(z0, (jax.tree.leaves(args)[0].shape[0], z0.size))
    return devices_map(_map_and_hessian(k, maxiter), args, starts, chunk=chunk)


def laplace_many(
    model: Model,
    tables: Sequence[pd.DataFrame],
    draws: int = 1000,
    seed: int = 0,
    maxiter: int = 60,
    chunk: int = MAP_CHUNK,
) -> LaplaceResult:
    """Fit every table by MAP plus a Laplace approximation, as one vectorised computation.

    Parameters
    ----------
    model : Model
        The model (the same for every table).
    tables : sequence of pandas.DataFrame
        The tables; lengths may differ.
    draws : int
        Draws from each Laplace approximation (Gaussian in NumPyro's unconstrained space,
        mapped to the constrained and natural parameters).
    seed : int
        Random seed.
    maxiter : int
        Damped Newton iterations of the MAP search.
    chunk : int
        Largest number of fits per vectorised call (per device).
    """
    from bayescale.posterior import natural_draws

    timing = {}
    t0 = time.perf_counter()
    batch = stack(model, tables)
    args = jax.tree.map(jnp.asarray, batch.args)
    kern, z0 = _kernels(model, batch, seed)
    info, unravel = kern.info, kern.unravel
    timing["prepare"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    x, fun, ok, hess = _run_map(kern, args, z0, maxiter, chunk)
    x, hess = jax.block_until_ready((x, hess))
    timing["map_and_hessian"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    chol, pd_ok = _hessian_cholesky(hess)
    eps = jax.random.normal(jax.random.PRNGKey(seed), (batch.n_fits, draws, x.shape[-1]))
    # z = x + H^{-1/2} eps: solve L^T z' = eps for the Cholesky factor L of H.
    steps = jax.vmap(lambda c, e: jax.scipy.linalg.solve_triangular(c, e.T, lower=True, trans=1).T)(
        chol, eps
    )
    z = x[:, None, :] + steps
    post_fn = info.postprocess_fn(**_one(args, 0))
    constrained = jax.vmap(jax.vmap(lambda f: post_fn(unravel(f))))(z)
    constrained = {k: np.asarray(v) for k, v in constrained.items()}
    at_map = {k: np.asarray(v) for k, v in jax.vmap(lambda f: post_fn(unravel(f)))(x).items()}
    # Every fit's own scale, shaped (fit, 1) to broadcast against (fit, draw) draws.
    a = batch.args
    scales = Scale(
        log_ref={k: v[:, None] for k, v in a["log_ref"].items()},
        loss=a["loss_scale"][:, None],
        loss_min=a["loss_min"][:, None],
        x_min={k: v[:, None] for k, v in a["x_min"].items()},
    )
    natural = natural_draws(model, constrained, scales, {})
    natural_map = natural_draws(model, {k: v[:, None] for k, v in at_map.items()}, scales, {})
    timing["draws"] = time.perf_counter() - t0
    posterior = {k: (("fit", "draw"), np.asarray(v)) for k, v in natural.items()}
    for k, v in constrained.items():
        if v.ndim == 2 and k not in posterior:
            posterior[k] = (("fit", "draw"), v)
    map_ds = {k: ("fit", np.asarray(v)[:, 0]) for k, v in natural_map.items()}
    map_ds["converged"] = ("fit", np.asarray(ok & pd_ok & jnp.isfinite(fun)))
    map_ds["potential"] = ("fit", np.asarray(fun))
    map_ds["n_rows"] = ("fit", np.array([d.n for d in batch.datas]))
    coords = {"fit": np.arange(batch.n_fits), "draw": np.arange(draws)}
    tree = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(posterior, coords=coords),
            "map": xr.Dataset(map_ds, coords={"fit": coords["fit"]}),
        }
    )
    tree.attrs["natural_names"] = list(model.law.natural_names)
    tree.attrs["method"] = "MAP + Laplace (batched)"
    return LaplaceResult(tree, timing)


def nuts_many(
    model: Model,
    tables: Sequence[pd.DataFrame],
    chains: int = 2,
    draws: int = 500,
    warmup: int = 500,
    seed: int = 0,
    target_accept: float = 0.95,
    dense_mass: bool = True,
    max_tree_depth: int = 10,
    chunk: int | None = None,
    warn: bool = False,
    init_mass: str = "laplace",
    adapt_mass: bool = True,
    warmup_tree_depth: int = 6,
    refit_failed: bool = False,
    refit_target_accept: float = 0.99,
) -> list[ScalingPosterior]:
    """Full NUTS posteriors of many tables as one vectorised computation.

    Chains start around each fit's MAP (from :func:`laplace_many`, spread by its Laplace
    standard deviations). Each fit comes back as a
    :class:`~bayescale.posterior.ScalingPosterior` with ``sample_stats`` and
    ``log_likelihood``, so ``post.diagnostics()``, ``post.loo()`` and ``post.predict()`` work
    as for a single fit; ``post.tree.attrs["bayescale_settings"]`` records the batched run.

    Parameters
    ----------
    model : Model
        The model.
    tables : sequence of pandas.DataFrame
        The tables (lengths may differ; group sizes must match).
    chains, draws, warmup : int
        NUTS chains per fit, kept draws and warm-up iterations per chain.
    seed : int
        Random seed.
    target_accept, dense_mass, max_tree_depth
        As for :meth:`Model.fit`.
    chunk : int, optional
        Largest number of lanes (fits x chains) per vectorised call, per device (default
        :func:`bayescale.batch.default_chunk`: narrow on CPU, wide on accelerators).
    warn : bool
        Warn for every fit that fails its diagnostics (off by default: check the table of
        :func:`diagnostics_table` instead of thousands of warnings).
    init_mass : {"laplace", "identity"}
        Starting inverse mass matrix of every chain: its fit's Laplace covariance (the
        inverse Hessian at the MAP; the identity where that is not positive definite), or the
        identity. Starting from the Laplace covariance keeps early warm-up trees shallow, and
        lanes run in lockstep, so this sets the pace of the whole batch.
    adapt_mass : bool
        Adapt the mass matrix during warm-up; when false, chains keep ``init_mass`` and only
        the step size adapts.
    warmup_tree_depth : int
        Largest NUTS tree depth during warm-up (see :func:`bayescale.batch.nuts_lanes`).
    refit_failed : bool
        Fit the tables whose posteriors fail their diagnostics once more, as one batch with
        ``target_accept=refit_target_accept`` (smaller steps, the usual remedy for
        divergences, which cause most failures), and return those refits in their place
        (their ``bayescale_settings`` record the higher target). Off by default: the refit
        costs a second batched run over the failures.
    refit_target_accept : float
        Target acceptance probability of the refit.
    """
    if init_mass not in ("laplace", "identity"):
        raise ValueError(f"init_mass={init_mass!r}; choose 'laplace' or 'identity'.")
    options = {
        "chains": chains,
        "draws": draws,
        "warmup": warmup,
        "dense_mass": dense_mass,
        "max_tree_depth": max_tree_depth,
        "chunk": chunk,
        "init_mass": init_mass,
        "adapt_mass": adapt_mass,
        "warmup_tree_depth": warmup_tree_depth,
    }
    out = _nuts_batch(model, tables, seed, target_accept, **options)
    if not (refit_failed or warn):
        return out
    checks = [post.diagnostics(warn=False) for post in out]
    failed = [i for i, table in enumerate(checks) if not table.attrs["ok"]]
    if refit_failed and failed:
        again = _nuts_batch(
            model, [tables[i] for i in failed], seed + 1, refit_target_accept, **options
        )
        for i, post in zip(failed, again, strict=True):
            out[i] = post
            checks[i] = post.diagnostics(warn=False)
    if warn:
        for table in checks:
            if not table.attrs["ok"]:
                warnings.warn(failure_message(table), ConvergenceWarning, stacklevel=2)
    return out


def _nuts_batch(
    model: Model,
    tables: Sequence[pd.DataFrame],
    seed: int,
    target_accept: float,
    *,
    chains: int,
    draws: int,
    warmup: int,
    dense_mass: bool,
    max_tree_depth: int,
    chunk: int | None,
    init_mass: str,
    adapt_mass: bool,
    warmup_tree_depth: int,
) -> list[ScalingPosterior]:
    """One batched NUTS run over ``tables`` (see :func:`nuts_many`), a posterior per table."""
    from bayescale.inference import NutsResult
    from bayescale.posterior import ScalingPosterior

    t_start = time.perf_counter()
    batch = stack(model, tables)
    args = jax.tree.map(jnp.asarray, batch.args)
    kern, z0 = _kernels(model, batch, seed)
    info, unravel = kern.info, kern.unravel
    x, _, _, hess = _run_map(kern, args, z0, 60, MAP_CHUNK)
    cov, pd_ok = _laplace_cov(hess)
    sd = jnp.sqrt(jnp.clip(jnp.diagonal(cov, axis1=-2, axis2=-1), 1e-8, 1.0))
    sd = jnp.where(pd_ok[:, None], sd, 0.1)
    mass = cov if init_mass == "laplace" else jnp.broadcast_to(jnp.eye(x.shape[-1]), cov.shape)
    if not dense_mass:
        mass = jnp.diagonal(mass, axis1=-2, axis2=-1)
    lane_mass = jnp.repeat(mass, chains, axis=0)
    key = jax.random.PRNGKey(seed)
    k1, k2 = jax.random.split(key)
    starts = x[:, None] + sd[:, None] * jax.random.normal(k1, (batch.n_fits, chains, x.shape[-1]))
    lane_args = jax.tree.map(lambda v: jnp.repeat(v, chains, axis=0), args)
    lane_z = starts.reshape(-1, x.shape[-1])
    keys = jax.random.split(k2, lane_z.shape[0])
    t0 = time.perf_counter()
    lanes = nuts_lanes(
        info.potential_fn,
        unravel,
        keys,
        lane_z,
        lane_args,
        draws=draws,
        warmup=warmup,
        target_accept=target_accept,
        dense_mass=dense_mass,
        max_tree_depth=max_tree_depth,
        chunk=chunk,
        inverse_mass=lane_mass,
        adapt_mass=adapt_mass,
        warmup_tree_depth=warmup_tree_depth,
    )
    t_nuts = time.perf_counter() - t0
    post_fn = info.postprocess_fn(**_one(args, 0))
    constrained = jax.vmap(jax.vmap(post_fn))(lanes["z"])

    def per_fit(v):
        v = np.asarray(v)
        return v.reshape(batch.n_fits, chains, *v.shape[1:])

    constrained = {k: per_fit(v) for k, v in constrained.items()}
    stats_all = {
        "diverging": per_fit(lanes["diverging"]),
        "energy": per_fit(lanes["energy"]),
        "n_steps": per_fit(lanes["num_steps"]),
        "acceptance_rate": per_fit(lanes["accept_prob"]),
        "step_size": per_fit(lanes["step_size"]),
        "lp": -per_fit(lanes["potential"]),
    }
    settings = {
        "chains": chains,
        "draws": draws,
        "warmup": warmup,
        "seed": seed,
        "chain_method": f"batched ({batch.n_fits} fits x {chains} chains, vmapped lanes)",
        "target_accept": target_accept,
        "max_tree_depth": max_tree_depth,
        "dense_mass": dense_mass,
        "init": "map",
        "init_mass": init_mass,
        "adapt_mass": adapt_mass,
        "warmup_tree_depth": warmup_tree_depth,
    }
    ll_all = _log_likelihoods(kern, constrained, args, chunk=64)
    out = []
    for i, d in enumerate(batch.datas):
        samples = {k: v[i] for k, v in constrained.items()}
        stats = {k: v[i] for k, v in stats_all.items()}
        stats["tree_depth"] = np.floor(np.log2(stats["n_steps"] + 1)).astype(np.int64)
        stats["reached_max_treedepth"] = stats["n_steps"] >= 2**max_tree_depth - 1
        result = NutsResult(
            samples=samples,
            stats=stats,
            log_likelihood={"loss": ll_all[i][..., : d.n]},
            max_tree_depth=max_tree_depth,
            map=None,
            settings=settings,
            timing={"nuts_batch": t_nuts, "total_batch": time.perf_counter() - t_start},
        )
        out.append(ScalingPosterior.from_samples(model, d, result))
    return out


def _hessian_cholesky(hess: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Cholesky factor of each symmetrised Hessian and whether it is positive definite."""
    chol = jnp.linalg.cholesky(0.5 * (hess + jnp.swapaxes(hess, -1, -2)))
    return chol, jnp.all(jnp.isfinite(chol), axis=(-1, -2))


def _laplace_cov(hess: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Inverse of each Hessian (the identity where it is not positive definite), and ``ok``."""
    chol, ok = _hessian_cholesky(hess)
    eye = jnp.broadcast_to(jnp.eye(hess.shape[-1]), hess.shape)
    safe = jnp.where(ok[:, None, None], chol, eye)
    inv = jax.vmap(lambda c: jax.scipy.linalg.cho_solve((c, True), jnp.eye(c.shape[0])))(safe)
    return 0.5 * (inv + jnp.swapaxes(inv, -1, -2)), ok


def _log_likelihoods(
    k: _Kernels, samples: dict[str, np.ndarray], args: dict, chunk: int
) -> list[np.ndarray]:
    """Pointwise log likelihood of every fit, ``(chain, draw, n_max)`` each (padding included).

    One jitted, vmapped computation per ``chunk`` fits instead of a NumPyro call per fit.
    """
    if "loglik" not in k.jitted:

        def one(s, a):
            return log_likelihood(k.fn, s, batch_ndims=2, **a)["loss"]

        k.jitted["loglik"] = jax.jit(jax.vmap(one))
    fn = k.jitted["loglik"]
    n = jax.tree.leaves(args)[0].shape[0]
    out: list[np.ndarray] = []
    for start in range(0, n, chunk):
        part = slice(start, start + chunk)
        s = {name: jnp.asarray(v[part]) for name, v in samples.items()}
        out.extend(np.asarray(fn(s, jax.tree.map(lambda v, p=part: v[p], args))))
    return out


def diagnostics_table(posteriors: Sequence[ScalingPosterior]) -> pd.DataFrame:
    """One row per fit: max R-hat, min bulk and tail ESS, divergences, tree-depth hits, ok."""
    rows = []
    for post in posteriors:
        a = post.diagnostics(warn=False).attrs
        rows.append(
            {
                k: a[k]
                for k in (
                    "rhat_max",
                    "ess_bulk_min",
                    "ess_tail_min",
                    "divergences",
                    "max_treedepth_hits",
                    "ok",
                )
            }
        )
    return pd.DataFrame(rows)


__all__ = ["Batch", "LaplaceResult", "diagnostics_table", "laplace_many", "nuts_many", "stack"]
