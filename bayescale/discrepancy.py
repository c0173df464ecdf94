"""A law-discrepancy term that grows with the distance of an extrapolation.

A scaling law is only approximately right. Independent noise around one curve cannot say so,
and its intervals are far too narrow when the fit is extrapolated. The discrepancy ``delta(t)``
is a random walk (discretised Brownian motion) in ``t = log10 C`` added to the likelihood's
location: on a grid of ``step``-decade bins spanning the data,
``delta_{j+1} = delta_j + tau sqrt(step) z_j``, centred to mean zero over the bins. In the data,
``tau`` is learnt from how the runs at neighbouring budgets depart from the law; beyond the
data, ``delta(t) = delta_edge + tau sqrt(|t - t_edge|) z``, so its variance grows linearly with
the number of decades extrapolated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist


@dataclass(frozen=True)
class Grid:
    """Bins of ``step`` decades of the discrepancy's axis, the first starting at ``origin``."""

    origin: float
    step: float
    n: int

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        return {"origin": self.origin, "step": self.step, "n": self.n}

    def index(self, t):
        """Bin of each position (clipped to the grid); NumPy in, NumPy out, JAX in, JAX out."""
        xp = jnp if isinstance(t, jax.Array) else np
        return xp.clip(xp.floor((t - self.origin) / self.step), 0, self.n - 1).astype(xp.int32)


def axis_name(inputs: Sequence[str]) -> str:
    """Return what :func:`axis` is the log10 of, in words, for a law of ``inputs``."""
    return "compute" if "C" in inputs or {"N", "D"} <= set(inputs) else inputs[0]


def axis(x: Mapping[str, np.ndarray], k: float = 6.0):
    """Return the discrepancy's axis: log10 of ``C`` (or ``k N D``), else of the first input."""
    xp = jnp if any(isinstance(v, jax.Array) for v in x.values()) else np
    if "C" in x:
        return xp.log10(xp.asarray(x["C"], float))
    if "N" in x and "D" in x:
        return xp.log10(k * xp.asarray(x["N"], float) * xp.asarray(x["D"], float))
    return xp.log10(xp.asarray(next(iter(x.values())), float))


def grid_for(t: np.ndarray, step: float) -> Grid:
    """Make a grid whose bins cover positions ``t``."""
    origin = float(np.min(t))
    return Grid(origin, step, int(np.floor((np.max(t) - origin) / step)) + 1)


def sample_path(grid: Grid, tau_prior: dist.Distribution) -> jnp.ndarray:
    """Sample ``tau`` and the centred random-walk path over the grid (NumPyro sites)."""
    tau = numpyro.sample("tau_disc", tau_prior)
    if grid.n == 1:
        return jnp.zeros(1)
    with numpyro.plate("disc_step", grid.n - 1):
        z = numpyro.sample("z_disc", dist.Normal(0.0, 1.0))
    path = jnp.concatenate([jnp.zeros(1), jnp.cumsum(tau * np.sqrt(grid.step) * z)])
    return path - path.mean()


def path_draws(tau: np.ndarray, z: np.ndarray | None, grid: Grid) -> jnp.ndarray:
    """Rebuild the path from draws of ``tau`` ``(chain, draw)`` and ``z`` ``(chain, draw, n-1)``."""
    if z is None or grid.n == 1:
        return jnp.zeros((*tau.shape, 1))
    steps = jnp.asarray(tau)[..., None] * np.sqrt(grid.step) * jnp.asarray(z)
    path = jnp.concatenate([jnp.zeros((*tau.shape, 1)), jnp.cumsum(steps, axis=-1)], axis=-1)
    return path - path.mean(axis=-1, keepdims=True)


def at(path: jnp.ndarray, tau: np.ndarray, t, grid: Grid, key: jax.Array) -> jnp.ndarray:
    """Discrepancy draws at positions ``t`` (extrapolating beyond the grid).

    ``path`` is ``(*sample, n)`` and ``tau`` ``(*sample)``; ``t`` is 1-D (``m`` positions, the
    result ``(*sample, m)``) or already laid out as ``(*sample, ...)``. Inside the grid the
    fitted path; beyond its edges (the bins' outer boundaries, so every fitted row is inside)
    ``path[edge] + tau sqrt(distance) z``, with one ``z`` per posterior draw on each side: a
    coherent draw of the walk's continuation, whatever the layout of ``t``.
    """
    t = jnp.asarray(t)
    idx = grid.index(t)
    sample = jnp.shape(tau)
    if t.ndim <= 1:
        inside = jnp.take(path, idx, axis=-1)
        extra = 1
    else:
        extra = t.ndim - len(sample)
        shape = jnp.broadcast_shapes(t.shape, (*sample, *(1,) * extra))
        flat = jnp.reshape(path, (*sample, *(1,) * (extra - 1), path.shape[-1]))
        idx_b = jnp.broadcast_to(idx, shape)
        full = jnp.broadcast_to(flat, (*shape[:-1], path.shape[-1]))
        inside = jnp.take_along_axis(full, idx_b, -1)

    def per_draw(v):
        return jnp.reshape(jnp.asarray(v), (*sample, *(1,) * extra))

    lo_edge, hi_edge = grid.origin, grid.origin + grid.n * grid.step
    above = jnp.maximum(t - hi_edge, 0.0)
    below = jnp.maximum(lo_edge - t, 0.0)
    z = jax.random.normal(key, (2, *sample))
    scale = per_draw(tau)
    return (
        inside + scale * jnp.sqrt(above) * per_draw(z[0]) + scale * jnp.sqrt(below) * per_draw(z[1])
    )
