"""Credible compute-optimal frontiers: N*(C), D*(C), D*/N*, L*(C) per posterior draw.

For a budget ``C`` and a cost model ``C = k N D`` (``k = 6`` by default), the compute-optimal
allocation minimises the law's mean loss along the iso-FLOP curve ``D = C / (k N)``. The Chinchilla
law has a closed form (Hoffmann et al. 2022, Appendix D.2):

    N* = G (C/k)^(beta/(alpha+beta)),  G = (alpha A / (beta B))^(1/(alpha+beta)),  D* = (C/k)/N*.

Any other law, or a cost with serving (Sardana et al. 2024) or a cap on unique tokens
(Muennighoff et al. 2023), is minimised numerically: a log-spaced grid brackets the minimum of
each (draw, budget) and a golden-section search refines it, all as one vectorised JAX
computation (no Python loop over draws).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

if TYPE_CHECKING:
    from bayescale.posterior import ScalingPosterior

Array = jnp.ndarray
GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def golden_minimise(
    f: Callable[[Array], Array],
    lo: Array,
    hi: Array,
    n_grid: int = 48,
    n_iter: int = 48,
) -> Array:
    """Minimise ``f`` over ``[lo, hi]`` elementwise (vectorised over any batch shape).

    ``f`` maps an array of points shaped like ``lo`` (plus trailing grid axes) to values. A
    grid of ``n_grid`` points brackets the minimum, then ``n_iter`` golden-section steps refine
    it inside the two neighbouring cells. Returns the minimiser, shaped like ``lo``.
    """
    grid = lo[..., None] + (hi - lo)[..., None] * jnp.linspace(0.0, 1.0, n_grid)
    values = jnp.where(jnp.isfinite(v := f(grid)), v, jnp.inf)
    i = jnp.argmin(values, axis=-1)
    step = (hi - lo) / (n_grid - 1)
    a = jnp.maximum(lo, jnp.take_along_axis(grid, i[..., None], -1)[..., 0] - step)
    b = jnp.minimum(hi, a + 2 * step)

    def body(_: int, ab: tuple[Array, Array]) -> tuple[Array, Array]:
        a, b = ab
        c = b - GOLDEN * (b - a)
        d = a + GOLDEN * (b - a)
        fc = jnp.nan_to_num(f(c[..., None])[..., 0], nan=jnp.inf)
        fd = jnp.nan_to_num(f(d[..., None])[..., 0], nan=jnp.inf)
        left = fc < fd
        return jnp.where(left, a, c), jnp.where(left, d, b)

    a, b = jax.lax.fori_loop(0, n_iter, body, (a, b))
    return 0.5 * (a + b)


def effective_tokens(tokens: Array, unique: float, r_star: float) -> Array:
    """Muennighoff et al. (2023) effective data ``D' = U + U R* (1 - exp(-R / R*))``.

    ``R = D/U - 1`` is the number of repetitions beyond the first epoch (``D' = D`` while
    ``D <= U``).
    """
    repeats = jnp.maximum(tokens / unique - 1.0, 0.0)
    return jnp.minimum(tokens, unique) + unique * r_star * (1.0 - jnp.exp(-repeats / r_star))


def frontier(
    post: ScalingPosterior,
    compute: Any,
    flops_per_param_token: float = 6.0,
    inference_tokens: float = 0.0,
    unique_tokens: float | None = None,
    r_star: float = 15.4,
    new_groups: bool = False,
    rng_seed: int = 0,
    method: str = "auto",
    **groups: Any,
) -> xr.Dataset:
    """Compute-optimal allocation for each posterior draw and budget.

    Parameters
    ----------
    post : ScalingPosterior
        A fit of a law of ``N`` and ``D``.
    compute : float or array
        Budgets ``C`` in FLOP.
    flops_per_param_token : float
        ``k`` of the training cost ``k N D`` (6 by default).
    inference_tokens : float
        Tokens served over the model's life; the budget then also pays ``2 N`` FLOP per
        served token (Sardana et al. 2024): ``C = k N D + 2 N T_inf``.
    unique_tokens : float, optional
        Cap on unique training tokens ``U``; tokens beyond it are repeated epochs and count as
        the effective data of Muennighoff et al. (2023) with decay constant ``r_star`` (their
        fitted ``R*_D`` = 15.4).
    r_star : float
        Repetition decay constant ``R*_D``.
    new_groups : bool
        Allow group labels unseen in the data (their effects are drawn from the population).
    rng_seed : int
        Seed of new-group effect draws.
    method : {"auto", "closed_form", "numerical"}
        ``"auto"`` uses the law's closed form when it has one and the cost is plain ``k N D``.
    **groups
        Group labels (``family="f1"``); omitted terms are treated as a new group (population).

    Returns
    -------
    xarray.Dataset
        Variables ``N_opt``, ``D_opt``, ``tokens_per_param`` and ``loss_opt`` (the law's mean
        loss at the optimum) with dims ``(chain, draw, compute)``: pass them to
        ``arviz_stats.eti`` / ``hdi`` or take quantiles over ``("chain", "draw")``.
    """
    law = post.law
    if set(law.inputs) - {"N", "D", "U"} or "N" not in law.inputs:
        raise ValueError(f"frontier needs a law of N and D; the {law.name} law reads {law.inputs}.")
    reads_unique = "U" in law.inputs
    if reads_unique and unique_tokens is None:
        raise ValueError(
            f"The {law.name} law reads the unique tokens U: pass unique_tokens= (its fitted "
            "R*_D then replaces r_star)."
        )
    c = np.atleast_1d(np.asarray(compute, dtype=float))
    if np.any(~np.isfinite(c)) or np.any(c <= 0):
        raise ValueError("compute must be finite and > 0.")
    k = float(flops_per_param_token)
    theta = post.theta_draws(new_groups=new_groups, rng_seed=rng_seed, **groups)
    theta = {key: v[..., None] for key, v in theta.items()}  # (chain, draw, 1, 1)
    plain = inference_tokens == 0 and unique_tokens is None
    closed = getattr(law, "compute_optimal", None)
    if method not in ("auto", "closed_form", "numerical"):
        raise ValueError(f"method={method!r}; choose 'auto', 'closed_form' or 'numerical'.")
    if method == "closed_form" and (closed is None or not plain):
        raise ValueError("No closed form for this law or cost model; use method='numerical'.")
    # Points are shaped (chain, draw, compute, grid): budgets on axis 2, candidates on axis 3.
    cc = jnp.asarray(c)[None, None, :, None]

    def tokens_for(log_n: Array) -> Array:
        n = jnp.exp(log_n)
        return (cc - 2.0 * n * inference_tokens) / (k * n)

    def loss_at(log_n: Array) -> Array:
        d = tokens_for(log_n)
        if reads_unique:
            x = {"N": jnp.exp(log_n), "D": jnp.where(d > 0, d, jnp.nan), "U": unique_tokens}
            return law.mean(theta, law.centre(x, post.scale), post.scale)
        d_eff = d if unique_tokens is None else effective_tokens(d, unique_tokens, r_star)
        u = law.centre({"N": jnp.exp(log_n), "D": jnp.where(d_eff > 0, d_eff, jnp.nan)}, post.scale)
        return law.mean(theta, u, post.scale)

    batch = (*theta[law.parameters[0].name].shape[:2], c.size)
    if closed is not None and plain and method != "numerical":
        natural = law.to_natural(theta, post.scale)
        log_n = jnp.broadcast_to(jnp.log(closed(natural, cc / k))[..., 0], batch)
    else:
        half = jnp.broadcast_to(0.5 * jnp.log(jnp.asarray(c) / k), batch)
        hi = half + 8.0
        if inference_tokens:
            hi = jnp.minimum(hi, jnp.log(jnp.asarray(c) / (2.0 * inference_tokens)) - 1e-9)
        log_n = golden_minimise(loss_at, half - 8.0, hi)
    n_opt = jnp.exp(log_n)
    d_opt = tokens_for(log_n[..., None])[..., 0]
    loss_opt = loss_at(log_n[..., None])[..., 0]
    coords = {"chain": post.posterior["chain"].values, "draw": post.posterior["draw"].values}
    coords["compute"] = c
    dims = ("chain", "draw", "compute")
    ds = xr.Dataset(
        {
            "N_opt": (dims, np.asarray(n_opt)),
            "D_opt": (dims, np.asarray(d_opt)),
            "loss_opt": (dims, np.asarray(loss_opt)),
        },
        coords=coords,
    )
    ds["tokens_per_param"] = ds["D_opt"] / ds["N_opt"]
    ds.attrs.update(
        {
            "law": law.name,
            "cost": f"{k:g} N D" + (f" + 2 N x {inference_tokens:g}" if inference_tokens else ""),
            "unique_tokens": unique_tokens if unique_tokens is not None else "none",
            "groups": (
                str(groups)
                if groups
                else ("population (a new group)" if post.model.terms else "all data")
            ),
        }
    )
    return ds
