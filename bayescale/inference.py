"""NUTS through NumPyro, initialised at the MAP with a Laplace approximation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from numpyro.infer import MCMC, NUTS, init_to_median, log_likelihood
from numpyro.infer.util import initialize_model

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
    """Inverse Hessian of the potential at the MAP, or ``None`` if not positive definite."""
    success: bool
    """Whether the optimiser reported convergence."""


def find_map(model: Model, data: ScalingData, seed: int = 0, maxiter: int = 500) -> MapResult:
    """Maximise the posterior density (BFGS on NumPyro's unconstrained potential).

    Starts from the prior medians with effects at zero; returns the Laplace covariance
    (inverse Hessian) when the Hessian there is positive definite.
    """
    kwargs = model.model_kwargs(data)
    info = initialize_model(
        jax.random.PRNGKey(seed),
        model.numpyro_model,
        init_strategy=init_to_median(num_samples=15),
        model_kwargs=kwargs,
    )
    flat0, unravel = ravel_pytree(info.param_info.z)
    potential = jax.jit(lambda f: info.potential_fn(unravel(f)))
    res = jax.scipy.optimize.minimize(potential, flat0, method="BFGS", options={"maxiter": maxiter})
    x = res.x if bool(jnp.isfinite(res.fun)) else flat0
    hess = np.asarray(jax.hessian(potential)(x))
    hess = 0.5 * (hess + hess.T)
    cov = None
    try:
        np.linalg.cholesky(hess)
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov = None
    params = unravel(x)
    return MapResult(
        params=params,
        constrained=info.postprocess_fn(params),
        potential=float(res.fun),
        cov=cov,
        success=bool(res.success),
    )


@dataclass
class NutsResult:
    """Draws and sampler statistics of one NUTS run, arrays shaped ``(chain, draw, ...)``."""

    samples: dict[str, np.ndarray]
    stats: dict[str, np.ndarray]
    log_likelihood: dict[str, np.ndarray]
    max_tree_depth: int
    map: MapResult | None
    settings: dict[str, Any]


def _chain_inits(m: MapResult, chains: int, seed: int) -> dict:
    """Per-chain starting points drawn around the MAP (from its Laplace approximation)."""
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


def sample_nuts(
    model: Model,
    data: ScalingData,
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 1000,
    seed: int = 0,
    chain_method: str = "auto",
    target_accept: float = 0.9,
    max_tree_depth: int = 10,
    dense_mass: bool = True,
    init: str = "map",
    progress_bar: bool = False,
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
        Start chains around the MAP (Laplace draws) or at NumPyro's default.
    progress_bar : bool
        Show NumPyro's progress bar.
    """
    kwargs = model.model_kwargs(data)
    method = resolve_chain_method(chain_method, chains)
    kernel = NUTS(
        model.numpyro_model,
        target_accept_prob=target_accept,
        max_tree_depth=max_tree_depth,
        dense_mass=dense_mass,
        init_strategy=init_to_median(num_samples=15),
    )
    mcmc = MCMC(
        kernel,
        num_warmup=warmup,
        num_samples=draws,
        num_chains=chains,
        chain_method=method,
        progress_bar=progress_bar,
    )
    map_result = None
    init_params = None
    if init == "map":
        map_result = find_map(model, data, seed=seed)
        init_params = _chain_inits(map_result, chains, seed)
        if chains == 1:
            init_params = jax.tree.map(lambda v: v[0], init_params)
    elif init != "prior":
        raise ValueError(f"init={init!r}; choose 'map' or 'prior'.")
    mcmc.run(jax.random.PRNGKey(seed), extra_fields=EXTRA_FIELDS, init_params=init_params, **kwargs)
    samples = mcmc.get_samples(group_by_chain=True)
    ll_kwargs = dict(kwargs)
    ll = log_likelihood(model.numpyro_model, samples, batch_ndims=2, **ll_kwargs)
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
        map=map_result,
        settings={
            "chains": chains,
            "draws": draws,
            "warmup": warmup,
            "seed": seed,
            "chain_method": method,
            "target_accept": target_accept,
            "max_tree_depth": max_tree_depth,
            "dense_mass": dense_mass,
            "init": init,
        },
    )
