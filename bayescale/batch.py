"""Many independent NUTS fits of one model as one vectorised computation.

Every fit shares the model and the design (the inputs and group codes of the table) and has its
own losses: the situation of simulation-based calibration, bootstraps and simulation studies.
Each lane runs its own NUTS with its own step-size and mass-matrix adaptation (``jax.vmap`` over
NumPyro's functional ``hmc`` kernel); lanes run in lockstep, so the slowest sets the pace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer import init_to_median
from numpyro.infer.hmc import hmc
from numpyro.infer.util import initialize_model

if TYPE_CHECKING:
    from bayescale.data import ScalingData
    from bayescale.model import Model


@dataclass
class BatchResult:
    """Draws of a batch of fits: each site shaped ``(fit, draw, ...)``."""

    samples: dict[str, np.ndarray]
    diverging: np.ndarray
    num_steps: np.ndarray


def batched_nuts(
    model: Model,
    data: ScalingData,
    losses: np.ndarray,
    draws: int = 500,
    warmup: int = 500,
    seed: int = 0,
    target_accept: float = 0.95,
    dense_mass: bool = True,
    max_tree_depth: int = 10,
) -> BatchResult:
    """Fit ``model`` to each row of ``losses`` (``(fit, row)``) on the design of ``data``.

    The design's centring scale (``data.scale``) is used for every fit, so data-scaled default
    priors are the same across fits (as simulation-based calibration requires).
    """
    losses = jnp.asarray(losses, dtype=float)
    if losses.ndim != 2 or losses.shape[1] != data.n:
        raise ValueError(f"losses must be shaped (fits, {data.n}), got {losses.shape}.")
    static = model.model_kwargs(data)
    static.pop("loss")

    def numpyro_model(loss: jnp.ndarray) -> None:
        model.numpyro_model(**static, loss=loss)

    info = initialize_model(
        jax.random.PRNGKey(seed),
        numpyro_model,
        model_kwargs={"loss": losses[0]},
        dynamic_args=True,
        init_strategy=init_to_median(num_samples=15),
        validate_grad=False,
    )
    init_kernel, sample_kernel = hmc(potential_fn_gen=info.potential_fn, algo="NUTS")
    z0 = info.param_info.z

    def one(key: jax.Array, loss: jnp.ndarray):
        kw = {"loss": loss}
        state = init_kernel(
            z0,
            warmup,
            dense_mass=dense_mass,
            target_accept_prob=target_accept,
            max_tree_depth=max_tree_depth,
            model_kwargs=kw,
            rng_key=key,
        )
        state, _ = jax.lax.scan(
            lambda s, _: (sample_kernel(s, model_kwargs=kw), None), state, None, length=warmup
        )

        def step(s, _):
            s = sample_kernel(s, model_kwargs=kw)
            return s, (s.z, s.diverging, s.num_steps)

        _, (zs, div, steps) = jax.lax.scan(step, state, None, length=draws)
        return zs, div, steps

    keys = jax.random.split(jax.random.PRNGKey(seed), losses.shape[0])
    zs, div, steps = jax.jit(jax.vmap(one))(keys, losses)
    post = info.postprocess_fn(loss=losses[0])
    constrained = jax.vmap(jax.vmap(post))(zs)
    return BatchResult(
        samples={k: np.asarray(v) for k, v in constrained.items()},
        diverging=np.asarray(div),
        num_steps=np.asarray(steps),
    )
