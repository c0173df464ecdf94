"""Budget decisions under posterior uncertainty.

Each function works on all posterior draws at once (vectorised JAX); ``kind="mean"`` decides on
the law's mean loss (parameter uncertainty only), ``kind="predictive"`` on the loss a new run
would actually show (also a new run's effect and observation noise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayescale.frontier import frontier

if TYPE_CHECKING:
    from bayescale.posterior import ScalingPosterior


def _loss_draws(
    post: ScalingPosterior,
    n: np.ndarray,
    d: np.ndarray,
    kind: str,
    rng_seed: int,
    new_groups: bool,
    groups: dict[str, Any],
) -> jnp.ndarray:
    """Loss draws ``(chain, draw, *n.shape)`` at inputs ``n``, ``d`` (same shape)."""
    if kind not in ("mean", "predictive"):
        raise ValueError(f"kind={kind!r}; choose 'mean' or 'predictive'.")
    key = jax.random.PRNGKey(rng_seed)
    key, sub = jax.random.split(key)
    theta = post.theta_draws(new_groups=new_groups, rng_seed=sub, **groups)
    extra = (None,) * (n.ndim - 1)
    theta = {k: v[(..., *extra)] for k, v in theta.items()}
    x = {"N": jnp.asarray(n), "D": jnp.asarray(d)}
    x["C"] = 6.0 * x["N"] * x["D"]
    loc = post.model.location(theta, post.law.centre(x, post.scale), post.scale)
    key, sub = jax.random.split(key)
    if post.extrapolation is not None:
        flat = {k: v.reshape(-1) for k, v in x.items()}
        loc = loc + jnp.reshape(post.extrapolation_at(flat, sub), loc.shape)
    return post.observe(loc, key) if kind == "predictive" else post.from_location(loc)


def prob_below(
    post: ScalingPosterior,
    target: float,
    N: Any,
    D: Any,
    kind: str = "predictive",
    rng_seed: int = 0,
    new_groups: bool = False,
    **groups: Any,
) -> pd.DataFrame:
    """Compute the probability that a run of ``N`` params on ``D`` tokens gets below ``target``.

    Returns a table with ``N``, ``D``, ``prob`` and its Monte Carlo standard error ``mcse``
    (binomial, using the number of draws; an upper bound on the error for correlated draws of
    well-mixed chains is ``sqrt(p(1-p)/ESS)``).
    """
    n, d = np.broadcast_arrays(
        np.atleast_1d(np.asarray(N, float)), np.atleast_1d(np.asarray(D, float))
    )
    loss = _loss_draws(post, n.ravel(), d.ravel(), kind, rng_seed, new_groups, groups)
    below = np.asarray(loss < target, dtype=float).reshape(-1, n.size)
    p = below.mean(axis=0)
    return pd.DataFrame(
        {"N": n.ravel(), "D": d.ravel(), "prob": p, "mcse": np.sqrt(p * (1 - p) / below.shape[0])}
    )


def _iso_kernel(
    post: ScalingPosterior,
    kind: str,
    n_grid: int,
    span: float,
    k: float,
    rng_seed: int,
    new_groups: bool,
    groups: dict[str, Any],
):
    """Build a jitted ``log C -> (N grid, D grid, loss draws (S, n_grid))`` on an iso-FLOP curve.

    ``N`` runs over ``n_grid`` log-spaced values within ``span`` decades of ``sqrt(C/k)``. The
    noise of ``kind="predictive"`` uses the same random numbers at every budget (common random
    numbers), so probabilities vary smoothly with the budget.
    """
    if kind not in ("mean", "predictive"):
        raise ValueError(f"kind={kind!r}; choose 'mean' or 'predictive'.")
    key = jax.random.PRNGKey(rng_seed)
    key, sub = jax.random.split(key)
    theta = post.theta_draws(new_groups=new_groups, rng_seed=sub, **groups)
    offsets = jnp.linspace(-span, span, n_grid) * jnp.log(10.0)
    shape = (*theta[post.law.parameters[0].name].shape[:2], n_grid)
    key, sub = jax.random.split(key)
    noise = post.location_noise(shape, key) if kind == "predictive" else jnp.zeros(shape)
    extrap = post.extrapolation
    rates = extrap.rates(shape[:2], sub)[..., None] if extrap is not None else None

    @jax.jit
    def kernel(log_c: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
        log_n = 0.5 * (log_c - jnp.log(k)) + offsets
        n = jnp.exp(log_n)
        d = jnp.exp(log_c) / (k * n)
        x = {"N": n, "D": d, "C": k * n * d}
        loc = post.model.location(theta, post.law.centre(x, post.scale), post.scale)
        if rates is not None:
            loc = loc + rates * extrap.distance(x)
        return n, d, jnp.reshape(post.from_location(loc + noise), (-1, n_grid))

    return kernel


def best_allocation(
    post: ScalingPosterior,
    compute: Any,
    objective: str = "mean",
    quantile: float = 0.9,
    kind: str = "mean",
    n_grid: int = 401,
    span: float = 3.0,
    flops_per_param_token: float = 6.0,
    rng_seed: int = 0,
    new_groups: bool = False,
    **groups: Any,
) -> pd.DataFrame:
    """Find the allocation of a budget that minimises expected loss or a loss quantile.

    Parameters
    ----------
    post : ScalingPosterior
        A fit of a law of ``N`` and ``D``.
    compute : float or array
        Budgets in FLOP.
    objective : {"mean", "quantile"}
        Minimise the posterior mean of the loss, or its ``quantile`` (risk-averse: the
        allocation whose bad case is least bad).
    quantile : float
        The quantile for ``objective="quantile"``.
    kind : {"mean", "predictive"}
        Loss of the law (default) or of a new run.
    n_grid, span : int, float
        ``N`` is searched on ``n_grid`` log-spaced values within ``span`` decades of
        ``sqrt(C/k)`` (resolution ``2 span / (n_grid - 1)`` decades).
    flops_per_param_token : float
        ``k`` of ``C = k N D``.
    rng_seed, new_groups, **groups
        As in :meth:`ScalingPosterior.predict`.

    Returns
    -------
    pandas.DataFrame
        Per budget: ``compute``, ``N``, ``D``, ``tokens_per_param``, ``objective`` (its value)
        and the posterior ``loss_mean``, ``loss_q05`` and ``loss_q95`` there.
    """
    if objective not in ("mean", "quantile"):
        raise ValueError(f"objective={objective!r}; choose 'mean' or 'quantile'.")
    kernel = _iso_kernel(
        post, kind, n_grid, span, flops_per_param_token, rng_seed, new_groups, groups
    )
    rows = []
    for c in np.atleast_1d(np.asarray(compute, float)):
        n, d, loss = kernel(jnp.log(c))
        score = loss.mean(axis=0) if objective == "mean" else jnp.quantile(loss, quantile, axis=0)
        i = int(jnp.argmin(score))
        if i in (0, n_grid - 1):
            raise ValueError(f"The optimum for C={c:g} is on the edge of the search: widen span.")
        at = np.asarray(loss[:, i])
        rows.append(
            {
                "compute": c,
                "N": float(n[i]),
                "D": float(d[i]),
                "tokens_per_param": float(d[i] / n[i]),
                "objective": float(score[i]),
                "loss_mean": at.mean(),
                "loss_q05": np.quantile(at, 0.05),
                "loss_q95": np.quantile(at, 0.95),
            }
        )
    return pd.DataFrame(rows)


def compute_for_target(
    post: ScalingPosterior,
    target: float,
    prob: float = 0.9,
    kind: str = "predictive",
    c_min: float = 1e15,
    c_max: float = 1e30,
    n_grid: int = 121,
    span: float = 3.0,
    flops_per_param_token: float = 6.0,
    rng_seed: int = 0,
    new_groups: bool = False,
    **groups: Any,
) -> pd.Series:
    """Find the smallest budget at which some allocation reaches ``target`` with prob. ``prob``.

    The best allocation's probability of a loss below ``target`` is found on an iso-FLOP grid
    per budget; budgets are scanned every half decade from ``c_min`` to ``c_max``, then the
    crossing of ``prob`` is bisected (to 0.1 %). Returns ``compute``, the allocation ``N``,
    ``D`` there and the probability reached; ``compute`` is ``inf`` when no budget up to
    ``c_max`` suffices (the target may be below the irreducible loss).
    """
    kernel = _iso_kernel(
        post, kind, n_grid, span, flops_per_param_token, rng_seed, new_groups, groups
    )

    def best(log_c: float) -> tuple[float, float, float]:
        n, d, loss = kernel(jnp.asarray(log_c))
        p = (loss < target).mean(axis=0)
        i = int(jnp.argmax(p))
        return float(p[i]), float(n[i]), float(d[i])

    grid = np.arange(np.log(c_min), np.log(c_max) + 1e-9, 0.5 * np.log(10.0))
    probs = [best(g)[0] for g in grid]
    above = [i for i, p in enumerate(probs) if p >= prob]
    if not above:
        return pd.Series({"compute": np.inf, "N": np.nan, "D": np.nan, "prob": max(probs)})
    j = above[0]
    lo, hi = (grid[j - 1], grid[j]) if j > 0 else (grid[0], grid[0])
    while hi - lo > 1e-3:
        mid = 0.5 * (lo + hi)
        if best(mid)[0] >= prob:
            hi = mid
        else:
            lo = mid
    p, n, d = best(hi)
    return pd.Series({"compute": float(np.exp(hi)), "N": n, "D": d, "prob": p})


def value_of_runs(
    post: ScalingPosterior,
    candidates: pd.DataFrame,
    target_compute: float,
    n_sims: int = 200,
    max_draws: int = 2000,
    rng_seed: int = 0,
    **groups: Any,
) -> pd.DataFrame:
    """Rank candidate runs by how much each is expected to narrow ``L*(C_target)``.

    Preposterior analysis without refitting: for each candidate ``(N, D)``, outcomes ``y`` are
    simulated from the posterior predictive; the posterior given that extra run is the current
    one reweighted by ``p(y | theta)`` (importance sampling over the draws), and the expected
    posterior standard deviation of ``L*(C_target)`` is averaged over the simulated outcomes.

    Parameters
    ----------
    post : ScalingPosterior
        A fit of a law of ``N`` and ``D``.
    candidates : pandas.DataFrame
        Columns ``N`` and ``D`` (one row per candidate run).
    target_compute : float
        The budget whose optimal loss ``L*`` we want to pin down.
    n_sims : int
        Simulated outcomes per candidate.
    max_draws : int
        Posterior draws used (thinned evenly).
    rng_seed : int
        Seed.
    **groups
        Group labels of the candidate runs and of the target (default: the population).

    Returns
    -------
    pandas.DataFrame
        The candidates with ``sd_now``, ``sd_expected``, ``reduction`` (fraction of ``sd_now``)
        and ``ess_min`` (the smallest importance-sampling ESS over simulations; small values
        mean the reweighting is unreliable and a refit would be better).

    Notes
    -----
    A new run's effect and the observation noise are combined into one Student-t (or normal)
    term with their root-sum-square scale.
    """
    for col in ("N", "D"):
        if col not in candidates:
            raise ValueError(f"candidates needs columns N and D; missing {col!r}.")
    front = frontier(post, target_compute, new_groups=True, rng_seed=rng_seed, **groups)
    q = np.asarray(front["loss_opt"].values[..., 0]).ravel()
    s_all = q.size
    keep = np.linspace(0, s_all - 1, min(max_draws, s_all)).astype(int)
    q = q[keep]
    n = candidates["N"].to_numpy(float)
    d = candidates["D"].to_numpy(float)
    # The same seed as the frontier's: a new group's effect draws are shared by the candidate
    # runs and the target.
    theta = post.theta_draws(new_groups=True, rng_seed=rng_seed, **groups)
    key = jax.random.PRNGKey(rng_seed + 1)
    x = {"N": jnp.asarray(n), "D": jnp.asarray(d)}
    x["C"] = 6.0 * x["N"] * x["D"]
    loc = post.model.location(theta, post.law.centre(x, post.scale), post.scale)
    loc = jnp.reshape(loc, (-1, n.size))[keep]  # (S, K)
    sample_post = post.tree["posterior"]
    sigma = jnp.asarray(sample_post["sigma"].values).ravel()[keep]
    scale_run = (
        jnp.asarray(sample_post["sd_run"].values).ravel()[keep] if "sd_run" in sample_post else 0.0
    )
    nu = jnp.asarray(sample_post["nu"].values).ravel()[keep] if "nu" in sample_post else None
    s = keep.size
    # Simulate outcomes: pick a draw, then the observation around its location.
    key, k1, k2 = jax.random.split(key, 3)
    pick = jax.random.randint(k1, (n_sims,), 0, s)
    tot_sd = jnp.sqrt(sigma**2 + jnp.asarray(scale_run) ** 2)
    if nu is None:
        eps = jax.random.normal(k2, (n_sims, n.size))
        y = loc[pick] + tot_sd[pick, None] * eps
        log_w = (
            -0.5 * ((y[:, None, :] - loc[None]) / tot_sd[None, :, None]) ** 2
            - jnp.log(tot_sd)[None, :, None]
        )
    else:
        eps = jax.random.t(k2, nu[pick, None], (n_sims, n.size))
        y = loc[pick] + tot_sd[pick, None] * eps
        z = (y[:, None, :] - loc[None]) / tot_sd[None, :, None]
        nu_b = nu[None, :, None]
        log_w = -0.5 * (nu_b + 1) * jnp.log1p(z**2 / nu_b) - jnp.log(tot_sd)[None, :, None]
        log_w = (
            log_w
            + jax.scipy.special.gammaln((nu_b + 1) / 2)
            - jax.scipy.special.gammaln(nu_b / 2)
            - 0.5 * jnp.log(nu_b)
        )
    w = jax.nn.softmax(log_w, axis=1)  # (sims, S, K)
    qj = jnp.asarray(q)[None, :, None]
    mean = (w * qj).sum(axis=1)
    var = (w * (qj - mean[:, None, :]) ** 2).sum(axis=1)
    ess = 1.0 / (w**2).sum(axis=1)
    out = candidates.copy()
    sd_now = float(np.std(q))
    out["sd_now"] = sd_now
    out["sd_expected"] = np.sqrt(np.asarray(var.mean(axis=0)))
    out["reduction"] = 1.0 - out["sd_expected"] / sd_now
    out["ess_min"] = np.asarray(ess.min(axis=0))
    return out.sort_values("reduction", ascending=False)


def decision_table(
    post: ScalingPosterior,
    compute: Any,
    target: float | None = None,
    quantile: float = 0.9,
    prob: float = 0.8,
    **groups: Any,
) -> pd.DataFrame:
    """Tabulate, per budget, the frontier with its band and the risk-averse allocation.

    With ``target``, also the chance that the median compute-optimal run gets below it.

    Columns: ``compute``; ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt`` as
    ``median [lo, hi]`` values (``prob`` band, numeric columns ``*_lo``/``*_hi`` too);
    ``N_q<quantile>`` and ``D_q<quantile>`` of the allocation minimising that loss quantile;
    ``p_target``.
    """
    c = np.atleast_1d(np.asarray(compute, float))
    front = frontier(post, c, **groups)
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    q = front.quantile([lo_q, 0.5, hi_q], dim=("chain", "draw"))
    table = pd.DataFrame({"compute": c})
    for var in ("N_opt", "D_opt", "tokens_per_param", "loss_opt"):
        table[var] = q[var].values[1]
        table[f"{var}_lo"] = q[var].values[0]
        table[f"{var}_hi"] = q[var].values[2]
    risk = best_allocation(post, c, objective="quantile", quantile=quantile, **groups)
    table[f"N_q{quantile:g}"] = risk["N"].to_numpy()
    table[f"D_q{quantile:g}"] = risk["D"].to_numpy()
    if target is not None:
        table["p_target"] = prob_below(post, target, N=table["N_opt"], D=table["D_opt"], **groups)[
            "prob"
        ].to_numpy()
    table.attrs["band"] = prob
    return table
