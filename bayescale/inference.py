"""NUTS through NumPyro, initialised at the MAP with a Laplace approximation.

The model is initialised once (:func:`numpyro.infer.util.initialize_model`): its potential
serves the MAP search, the Laplace approximation and NUTS, and its ``postprocess_fn`` maps
unconstrained draws back to the sampled sites. Running NUTS on that potential, rather than on
the model, avoids NumPyro initialising (and eagerly differentiating) the model a second time,
which costs seconds on CPU.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
from jax.flatten_util import ravel_pytree
from numpyro.infer import MCMC, NUTS, init_to_median, log_likelihood
from numpyro.infer.util import ModelInfo, initialize_model

from bayescale.model import draw_marginal_run

if TYPE_CHECKING:
    from bayescale.data import ScalingData
    from bayescale.model import Model

#: Sampler statistics recorded for diagnostics (a plain run records only ``diverging``).
EXTRA_FIELDS = (
    "diverging",
    "energy",
    "num_steps",
    "accept_prob",
    "adapt_state.step_size",
    "potential_energy",
)


@dataclass
class MapResult:
    """MAP estimate in the unconstrained space with its Laplace approximation."""

    params: dict
    """Unconstrained MAP (a dict of arrays, NumPyro's site layout)."""
    constrained: dict
    """The MAP on the sampled (constrained) scale."""
    potential: float
    """Negative log density at the MAP."""
    cov: np.ndarray | None
    """Inverse Hessian of the potential at the MAP (flattened layout), ``None`` if not PD."""
    success: bool
    """Whether the optimiser reported convergence."""


def initialize(model: Model, data: ScalingData, seed: int = 0) -> ModelInfo:
    """NumPyro's model initialisation (potential, transforms) at the prior medians."""
    return initialize_model(
        jax.random.PRNGKey(seed),
        model.numpyro_model,
        init_strategy=init_to_median(num_samples=15),
        model_kwargs=model.model_kwargs(data),
        validate_grad=False,
    )


def find_map(
    model: Model,
    data: ScalingData,
    seed: int = 0,
    maxiter: int = 1000,
    info: ModelInfo | None = None,
) -> MapResult:
    """Maximise the posterior density on NumPyro's unconstrained potential.

    L-BFGS (SciPy) on a jitted value-and-gradient, started from the prior medians with effects
    at zero. The Hessian is taken by central differences of the gradient, and the Laplace
    covariance (its inverse) is returned when it is positive definite.
    """
    info = info or initialize(model, data, seed)
    flat0, unravel = ravel_pytree(info.param_info.z)
    value_and_grad = jax.jit(jax.value_and_grad(lambda f: info.potential_fn(unravel(f))))

    def fun(f: np.ndarray) -> tuple[float, np.ndarray]:
        v, g = value_and_grad(jnp.asarray(f))
        v = float(v)
        if not np.isfinite(v):
            return 1e300, np.zeros_like(f)
        return v, np.asarray(g, dtype=float)

    x0 = np.asarray(flat0, dtype=float)
    res = scipy.optimize.minimize(
        fun, x0, jac=True, method="L-BFGS-B", options={"maxiter": maxiter}
    )
    x = res.x if np.isfinite(res.fun) and res.fun < 1e299 else x0
    cov = laplace_cov(lambda f: fun(f)[1], x)
    params = unravel(jnp.asarray(x))
    return MapResult(
        params=params,
        constrained=info.postprocess_fn(params),
        potential=float(res.fun),
        cov=cov,
        success=bool(res.success),
    )


def laplace_cov(
    grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray, eps: float = 1e-5
) -> np.ndarray | None:
    """Inverse of the central-difference Hessian of ``grad`` at ``x``; ``None`` if not PD."""
    n = x.size
    hess = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = eps
        hess[i] = (grad(x + e) - grad(x - e)) / (2 * eps)
    hess = 0.5 * (hess + hess.T)
    try:
        chol = np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return None
    inv_chol = np.linalg.inv(chol)
    return inv_chol.T @ inv_chol


def fit_posterior(model: Any, df: Any, posterior_cls: Any, **kwargs: Any) -> Any:
    """Validate ``df``, run :func:`sample_nuts`, build ``posterior_cls`` and warn on diagnostics.

    Shared by :meth:`bayescale.Model.fit` and :meth:`bayescale.TwoStepModel.fit`: ``model``
    provides ``prepare``, ``numpyro_model`` and ``model_kwargs``; ``posterior_cls`` provides
    ``from_samples`` and ``diagnostics``.
    """
    data = model.prepare(df)
    post = posterior_cls.from_samples(model, data, sample_nuts(model, data, **kwargs))
    post.diagnostics(warn=True)
    return post


#: Largest number of (draw, row) elements per array when computing pointwise log likelihoods.
LOG_LIKELIHOOD_CHUNK = 2**24


def pointwise_log_likelihood(
    fn: Callable, samples: dict, kwargs: dict, rows: int
) -> dict[str, np.ndarray]:
    """NumPyro's pointwise log likelihood of ``(chain, draw)`` samples, a few draws at a time.

    All draws at once hold every intermediate array of the model at ``chains x draws x rows``
    (100k checkpoints x 2000 draws: 1.6 GB per array in float64); slices of draws bound each
    to :data:`LOG_LIKELIHOOD_CHUNK` elements.
    """
    chains, draws = np.shape(next(iter(samples.values())))[:2]
    step = max(1, LOG_LIKELIHOOD_CHUNK // max(1, chains * rows))
    parts = []
    for start in range(0, draws, step):
        part = {k: v[:, start : start + step] for k, v in samples.items()}
        ll = log_likelihood(fn, part, batch_ndims=2, **kwargs)
        parts.append({k: np.asarray(v) for k, v in ll.items()})
    return {k: np.concatenate([p[k] for p in parts], axis=1) for k in parts[0]}


@dataclass
class NutsResult:
    """Draws and sampler statistics of one NUTS run, arrays shaped ``(chain, draw, ...)``."""

    samples: dict[str, np.ndarray]
    stats: dict[str, np.ndarray]
    log_likelihood: dict[str, np.ndarray]
    max_tree_depth: int
    map: MapResult | None
    settings: dict[str, Any]
    timing: dict[str, float]


def chain_inits(m: MapResult, chains: int, seed: int) -> dict:
    """Per-chain starting points around the MAP, spread by the Laplace standard deviations."""
    flat, unravel = ravel_pytree(m.params)
    rng = np.random.default_rng(seed)
    if m.cov is not None:
        sd = np.sqrt(np.clip(np.diag(m.cov), 1e-12, 1.0))
    else:
        sd = np.full(flat.shape, 0.1)
    starts = np.asarray(flat)[None] + sd[None] * rng.standard_normal((chains, flat.size))
    per_chain = [unravel(jnp.asarray(s)) for s in starts]
    return jax.tree.map(lambda *xs: jnp.stack(xs), *per_chain)


def resolve_chain_method(chain_method: str, chains: int) -> str:
    """``"auto"``: parallel when there are as many devices as chains, else vectorised."""
    if chain_method != "auto":
        return chain_method
    if chains > 1 and jax.local_device_count() >= chains:
        return "parallel"
    return "vectorized"


#: Rows from which :func:`all_devices_memory_advice` warns about parallel chains on CPU.
ALL_DEVICES_WARN_ROWS = 10_000


def all_devices_memory_advice(method: str, chains: int, rows: int) -> str | None:
    """Advice when parallel chains on CPU would occupy every host device of a large table.

    With jax 0.12 on CPU, a ``pmap`` over *every* host device keeps memory for each gradient
    evaluation until the run ends (the P4 benchmark, 20k rows, 4 chains x 50 iterations: peak
    2.7 GB on 4 of 4 devices, 0.8 GB on 4 of 5, 3 of 4 or 2 of 4; in full runs 15.7 GB at 30k
    rows and over 19 GB at 100k on 4 of 4, 8.8 GB peak at 100k on 4 of 5). One spare host
    device avoids it. Returns the message, or ``None`` where it does not apply (other backends,
    fewer chains than devices, small tables).
    """
    if method != "parallel" or jax.default_backend() != "cpu" or rows < ALL_DEVICES_WARN_ROWS:
        return None
    devices = jax.local_device_count()
    if devices > chains:
        return None
    return (
        f"{chains} parallel chains use every CPU host device ({devices}), and with jax's CPU "
        f"runtime the memory of such a run grows with every leapfrog step: {rows} rows can "
        f"take tens of GB. Start Python with BAYESCALE_HOST_DEVICES={chains + 1} (one spare "
        f"device; set before bayescale or jax is imported), or pass "
        f"chain_method='vectorized' (about 2x slower, little memory)."
    )


#: Rows from which ``init_mass="auto"`` starts NUTS from the Laplace covariance.
LAPLACE_MASS_MIN_ROWS = 2000


def initial_inverse_mass(
    init_mass: str, map_result: MapResult, rows: int, dense_mass: bool
) -> dict[str, jnp.ndarray]:
    """NUTS's starting inverse mass matrix (as keyword arguments of ``NUTS``); see sample_nuts."""
    if init_mass not in ("auto", "laplace", "identity"):
        raise ValueError(f"init_mass={init_mass!r}; choose 'auto', 'laplace' or 'identity'.")
    if init_mass == "auto":
        init_mass = "laplace" if rows >= LAPLACE_MASS_MIN_ROWS else "identity"
    if init_mass == "identity" or map_result.cov is None:
        return {}
    cov = np.asarray(map_result.cov)
    return {"inverse_mass_matrix": jnp.asarray(cov if dense_mass else np.diag(cov))}


def sample_nuts(
    model: Model,
    data: ScalingData,
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 1000,
    seed: int = 0,
    chain_method: str = "auto",
    target_accept: float = 0.95,
    max_tree_depth: int = 10,
    dense_mass: bool = True,
    init: str = "map",
    progress_bar: bool = False,
    warmup_tree_depth: int | None = None,
    init_mass: str = "auto",
) -> NutsResult:
    """Run NUTS on ``model`` for ``data``.

    Parameters
    ----------
    model : Model
        The model.
    data : ScalingData
        A validated table.
    chains, draws, warmup : int
        Chains, kept draws per chain, warm-up iterations.
    seed : int
        Random seed (results are reproducible for a seed and chain method).
    chain_method : {"auto", "parallel", "vectorized", "sequential"}
        How chains run; ``"auto"`` uses one device per chain when enough devices exist (on CPU,
        bayescale asks XLA for host devices), else vectorised chains on one device.
    target_accept : float
        Target acceptance probability of step-size adaptation.
    max_tree_depth : int
        Largest NUTS tree depth.
    dense_mass : bool
        Adapt a dense mass matrix (the law parameters are correlated).
    init : {"map", "prior"}
        Start chains around the MAP (spread by its Laplace approximation) or at the prior
        medians, jittered.
    progress_bar : bool
        Show NumPyro's progress bar.
    warmup_tree_depth : int, optional
        Largest tree depth during warm-up (default ``max_tree_depth``; the kept draws always
        use ``max_tree_depth``). A cap saves early warm-up time but adapts less well: at 6,
        short chains of the loss-to-loss and sigmoid-link laws ended with R-hat 1.04-1.06
        instead of below 1.03, so single fits do not cap by default (batched fits, where one
        lane's deep tree stalls every lane of its call, do).
    init_mass : {"auto", "laplace", "identity"}
        Starting inverse mass matrix: the MAP's Laplace covariance (where it is positive
        definite) or the identity; warm-up adapts it either way. ``"auto"`` takes the Laplace
        covariance for tables of at least :data:`LAPLACE_MASS_MIN_ROWS` rows. It shortens
        early warm-up trees (P4 benchmark, 10k checkpoints: 87 s -> 72 s; with 100 warm-up
        iterations 75 s -> 28 s), but the matrix becomes a constant of the compiled sampler,
        so every fit compiles anew (Epoch's 245 rows: 3.4 s -> 10 s per fit).
    """
    if init not in ("map", "prior"):
        raise ValueError(f"init={init!r}; choose 'map' or 'prior'.")
    timing = {}
    t0 = time.perf_counter()
    info = initialize(model, data, seed)
    timing["initialize"] = time.perf_counter() - t0
    method = resolve_chain_method(chain_method, chains)
    advice = all_devices_memory_advice(method, chains, data.n)
    if advice:
        warnings.warn(advice, UserWarning, stacklevel=3)
    t0 = time.perf_counter()
    if init == "map":
        map_result = find_map(model, data, seed=seed, info=info)
    else:
        map_result = MapResult(info.param_info.z, {}, np.nan, None, False)
    timing["map"] = time.perf_counter() - t0
    init_params = chain_inits(map_result, chains, seed)
    if chains == 1:
        init_params = jax.tree.map(lambda v: v[0], init_params)
    kernel = NUTS(
        potential_fn=info.potential_fn,
        target_accept_prob=target_accept,
        max_tree_depth=(min(warmup_tree_depth or max_tree_depth, max_tree_depth), max_tree_depth),
        dense_mass=dense_mass,
        **initial_inverse_mass(init_mass, map_result, data.n, dense_mass),
    )
    mcmc = MCMC(
        kernel,
        num_warmup=warmup,
        num_samples=draws,
        num_chains=chains,
        chain_method=method,
        progress_bar=progress_bar,
        postprocess_fn=info.postprocess_fn,
    )
    t0 = time.perf_counter()
    mcmc.run(jax.random.PRNGKey(seed), extra_fields=EXTRA_FIELDS, init_params=init_params)
    samples = jax.block_until_ready(mcmc.get_samples(group_by_chain=True))
    timing["nuts"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    samples = draw_marginal_run(samples, jax.random.fold_in(jax.random.PRNGKey(seed), 1))
    # Pointwise log likelihood given every parameter, run effects included (as without
    # integrating them out), so LOO compares rows alike whichever way the fit sampled.
    kwargs = model.model_kwargs(data)
    if kwargs.get("run_marginal"):
        kwargs["run_marginal"] = False
    ll = pointwise_log_likelihood(model.numpyro_model, samples, kwargs, data.n)
    timing["log_likelihood"] = time.perf_counter() - t0
    extra = mcmc.get_extra_fields(group_by_chain=True)
    stats = {
        "diverging": np.asarray(extra["diverging"]),
        "energy": np.asarray(extra["energy"]),
        "n_steps": np.asarray(extra["num_steps"]),
        "acceptance_rate": np.asarray(extra["accept_prob"]),
        "step_size": np.asarray(extra["adapt_state.step_size"]),
        "lp": -np.asarray(extra["potential_energy"]),
    }
    stats["tree_depth"] = np.floor(np.log2(stats["n_steps"] + 1)).astype(np.int64)
    stats["reached_max_treedepth"] = stats["n_steps"] >= 2**max_tree_depth - 1
    return NutsResult(
        samples={k: np.asarray(v) for k, v in samples.items()},
        stats=stats,
        log_likelihood={k: np.asarray(v) for k, v in ll.items()},
        max_tree_depth=max_tree_depth,
        map=map_result if init == "map" else None,
        settings={
            "chains": chains,
            "draws": draws,
            "warmup": warmup,
            "seed": seed,
            "chain_method": method,
            "target_accept": target_accept,
            "max_tree_depth": max_tree_depth,
            "warmup_tree_depth": warmup_tree_depth,
            "dense_mass": dense_mass,
            "init": init,
            "init_mass": init_mass,
        },
        timing=timing,
    )
