r"""Full posteriors without NUTS: adaptive importance sampling from the Laplace approximation.

Every fit starts from its MAP and Laplace covariance (:mod:`~bayescale.inference.laplace`).
The proposal is a Gaussian in NumPyro's unconstrained space, except that the logs of terms the
law adds (``log_E``, ``a``, ``b``: :attr:`bayescale.laws.base.Parameter.additive`) are proposed
on their natural scale (``E``, ``A`` at the reference input), where the ridge along which they
trade off is straight: on the log scale it curves, and a Gaussian there misses its arm towards
small E (on small ladders, E's 5 % quantile came out 0.35 posterior sd too high). The
Gaussian's covariance is widened by
:data:`INFLATION` (a posterior's tails are heavier than its curvature at the mode says: the
Student-t degrees of freedom, the law's exponents near a ridge). A few adaptation rounds move
the Gaussian to the importance-weighted mean and covariance of the previous round (population
Monte Carlo, Cappé et al. 2004), then a final round of draws is weighted by
Pareto-smoothed importance sampling (PSIS, Vehtari et al. 2024, through ``arviz_stats``):

.. math:: \log w_s = \log p(\theta_s \mid y) - \log q(\theta_s),

with ``log p`` NumPyro's negative potential (Jacobians of the transforms included). The
Pareto :math:`\hat k` of the weights says whether the estimate can be trusted
(:math:`\hat k \le 0.7`: yes; above, the proposal misses part of the posterior and NUTS should
fit it, which ``method="auto"`` of :func:`bayescale.fit_many` does), and the weights'
effective sample size how many independent draws they are worth. The weighted draws are
resampled (multinomially) to an equally weighted sample, so everything downstream (prediction,
LOO, reports) reads them as it reads NUTS draws.

The check has a blind spot: mass the proposal never reaches leaves no trace in the weights
(``docs/models.md`` measures it against NUTS).

Everything is vectorised over fits: each round is one vmapped evaluation of the log density
per device chunk, compiled once per model structure.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from arviz_stats.base import array_stats

from bayescale.inference.devices import devices_map
from bayescale.inference.laplace import MAP_CHUNK, LaplaceFit
from bayescale.inference.problem import Problem

#: Factor on the proposal's covariance (its standard deviations grow by the square root).
INFLATION = 2.0
#: Adaptation rounds before the final one.
ADAPT_ROUNDS = 3
#: Proposals per fit in each adaptation round.
ADAPT_DRAWS = 1000
#: Proposals per kept draw in the final round (at least; rounded up to whole rounds).
PROPOSALS_PER_DRAW = 2


@dataclass
class ImportanceFit:
    r"""Equally weighted draws of every fit of a batch, with their importance diagnostics.

    Attributes
    ----------
    z : numpy.ndarray
        Unconstrained draws resampled by the PSIS weights, ``(fits, draws, dim)``.
    log_density : numpy.ndarray
        Their log posterior density (up to a constant), ``(fits, draws)``.
    pareto_k : numpy.ndarray
        Pareto :math:`\hat k` of each fit's final weights (NaN where the fit had no Laplace
        approximation to start from or the Pareto fit failed, ``inf`` where fewer than 5
        proposals were possible).
    ess : numpy.ndarray
        Effective sample size of each fit's resampled draws: ``1 / (1 / ESS_w + 1 / draws)``
        with ``ESS_w = 1 / sum w^2`` of the final weights (multinomial resampling adds its
        own noise).
    proposals : int
        Proposals per fit in the final round.
    """

    z: np.ndarray
    log_density: np.ndarray
    pareto_k: np.ndarray
    ess: np.ndarray
    proposals: int


def psis_weights(log_ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Pareto-smoothed, normalised importance weights of every row of ``log_ratio``.

    ``log_ratio`` ``(fits, draws)`` holds ``log p - log q`` (``-inf`` where ``p`` is zero).
    Returns the weights (each row sums to one), the Pareto :math:`\hat k` and the effective
    sample size of every row; a row with fewer than 5 possible draws has k-hat ``inf`` and
    ESS 0.
    """
    lr = np.atleast_2d(np.asarray(log_ratio, float))
    possible = np.isfinite(lr)
    # impossible draws enter the smoothing far below the rest, and leave it with weight 0
    floor = np.min(np.where(possible, lr, np.inf), axis=-1, keepdims=True) - 50.0
    lr = np.where(possible, lr, np.where(np.isfinite(floor), floor, -1e3))
    log_w, khat = np.empty(lr.shape), np.zeros(lr.shape[0])
    for i, row in enumerate(lr):
        try:
            # arviz_stats smooths the right tail of -ary (written for log likelihoods in LOO)
            lw, k = array_stats.psislw(-row, r_eff=1)
            log_w[i], khat[i] = np.asarray(lw), float(k)
        except ValueError:  # a tail of equal values: bounded weights, nothing to smooth
            log_w[i] = row
    top = np.max(np.where(np.isfinite(log_w), log_w, -np.inf), axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):  # a row of no finite weight: NaN, set to 0 below
        w = np.exp(log_w - top)
    w = np.where(possible & np.isfinite(w), w, 0.0)
    total = w.sum(axis=-1)
    # Fewer than 5 possible draws (every one, in the worst case, impossible) cannot be trusted.
    hopeless = (total <= 0) | (possible.sum(axis=-1) < 5)
    khat = np.where(hopeless, np.inf, khat)
    w = np.where(total[:, None] > 0, w / np.where(total > 0, total, 1.0)[:, None], 0.0)
    ess = np.where(hopeless, 0.0, 1.0 / np.maximum(np.sum(w**2, axis=-1), 1e-300))
    # a row without a weight keeps uniform weights to resample from (its check has failed)
    w = np.where(total[:, None] > 0, w, 1.0 / w.shape[-1])
    return w, khat, ess


def _propose(mean, chol, key, n: int, exp_coords):
    """``n`` draws of one fit's Gaussian proposal ``N(mean, chol chol')``, on the device.

    Returns the draws in the proposal's space ``y`` and mapped to the unconstrained space
    ``z``, the proposal's log density at ``z`` (up to a constant: its density at ``y`` times
    ``|dy/dz| = prod exp(z_i)`` over the exponentiated coordinates), and whether each draw is
    in the space (a draw with ``y <= 0`` on an exp coordinate is not: weight 0).
    """
    exp = jnp.asarray(exp_coords, bool)
    eps = jax.random.normal(key, (n, mean.shape[-1]), dtype=mean.dtype)
    y = mean + eps @ chol.T
    log_q = -0.5 * jnp.sum(eps**2, axis=-1) - jnp.sum(jnp.log(jnp.diagonal(chol)))
    positive = jnp.all(jnp.where(exp, y, 1.0) > 0, axis=-1)
    z = jnp.where(exp, jnp.log(jnp.where(exp & (y > 0), y, 1.0)), y)
    log_jac = jnp.sum(jnp.where(exp, z, 0.0), axis=-1)
    return y, z, log_q + log_jac, positive


def _round(problem: Problem, exp_coords: tuple[bool, ...]):
    """Vmapped ``(arrays, mean, chol, key) -> (log_p, log_ratio, y)``: one round's proposals.

    Every round, adaptive or final, draws :data:`ADAPT_DRAWS` proposals per fit (the final
    round calls it several times with fresh keys), so one program serves them all: on a fresh
    process each further program would compile for about a second. Each fit draws from its
    own key (so :func:`_resample` can draw the same points again) and weighs its draws on the
    device; the points ``y`` stay there unless a caller reads them (the adaptation's moments).
    """
    cache = ("importance_round", ADAPT_DRAWS, exp_coords)
    if cache not in problem.jitted:

        def one(arrays, mean, chol, key):
            y, z, log_q, positive = _propose(mean, chol, key, ADAPT_DRAWS, exp_coords)
            pot = problem.potential(arrays)
            v = jax.vmap(lambda zi: pot(problem.unravel(zi)))(z)
            log_p = jnp.where(jnp.isfinite(v), -v, -jnp.inf)
            log_ratio = jnp.where(positive, log_p - log_q, -jnp.inf)
            return log_p, log_ratio, y

        problem.jitted[cache] = jax.vmap(one)
    return problem.jitted[cache]


@functools.lru_cache(maxsize=16)
def _resample(exp_coords: tuple[bool, ...]):
    """Vmapped ``(mean, chol, keys, idx) -> z``: points ``idx`` of the final round, drawn again.

    ``keys`` are a fit's final-round keys, one per call of :func:`_round`; ``idx`` indexes the
    concatenation of their proposals.
    """

    def one(mean, chol, keys, idx):
        z = jax.vmap(lambda k: _propose(mean, chol, k, ADAPT_DRAWS, exp_coords)[1])(keys)
        return z.reshape(-1, z.shape[-1])[idx]

    return jax.vmap(one)


def _cheap_threefry():
    """Return the context the proposals are drawn in: JAX's non-partitionable threefry.

    Each fit draws from its own key, so the draws are a threefry vmapped over keys. JAX's
    default (partitionable) threefry compiles that program in 1.3-1.75 s on a fresh process,
    the older layout in 0.25-0.45 s (measured on the final round's redraw: P1 cold by
    ``method="auto"`` 5.9 -> 4.3 s). Nothing here is sharded, so its layout does not matter;
    where JAX has dropped the switch, its default is used.
    """
    switch = getattr(jax, "threefry_partitionable", None)
    return switch(False) if switch is not None else contextlib.nullcontext()


def _to_proposal(z: np.ndarray, exp_coords: np.ndarray) -> np.ndarray:
    """Map unconstrained points to the proposal's space (``exp`` of the ``exp_coords``)."""
    return np.where(exp_coords, np.exp(np.where(exp_coords, z, 0.0)), z)


def _weighted_moments(w: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = np.einsum("fs,fsi->fi", w, z)
    d = z - mean[:, None]
    cov = np.einsum("fs,fsi,fsj->fij", w, d, d)
    return mean, cov


def _positive_definite(cov: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``cov`` where it is positive definite (with a little jitter), else ``fallback``.

    The jitter is relative to each coordinate's own variance: the coordinates proposed on the
    natural scale (``E``, ``A`` at the reference input) carry the loss's units, and a jitter
    relative to the mean variance swamped them when the loss is small (a loss in units of 1e-6
    proposed ``E`` ten times too wide, and every weight failed its check).
    """
    out = fallback.copy()
    for i, c in enumerate(cov):
        var = np.diag(c)
        floor = np.trace(c) / len(c)
        c = c + np.diag(1e-10 * np.where(var > 0, var, floor))
        if not (np.all(np.isfinite(c)) and np.all(np.diag(c) > 0)):
            continue
        # checked on the correlations: variances 1e20 apart defeat eigvalsh of c itself
        sd = np.sqrt(np.diag(c))
        if np.all(np.linalg.eigvalsh(c / np.outer(sd, sd)) > 0):
            out[i] = c
    return out


def importance_sample(
    problem: Problem,
    arrays: dict,
    lap: LaplaceFit,
    draws: int,
    seed: int = 0,
    exp_coords: np.ndarray | None = None,
    rounds: int | None = None,
    inflation: float | None = None,
    chunk: int = MAP_CHUNK,
) -> ImportanceFit:
    """Adaptive importance sampling of every fit of a stacked batch from its Laplace fit.

    Parameters
    ----------
    problem, arrays
        The model's problem and the stacked arrays of its fits.
    lap : LaplaceFit
        Every fit's MAP and Hessian (:func:`~bayescale.inference.find_map`).
    draws : int
        Equally weighted draws kept per fit. The final round proposes at least
        :data:`PROPOSALS_PER_DRAW` times as many, in whole calls of :data:`ADAPT_DRAWS`
        (``draws=100`` proposes 1000).
    seed : int
        Random seed.
    exp_coords : numpy.ndarray, optional
        Boolean mask of the coordinates proposed on the ``exp`` scale (the logs of the law's
        added terms, :meth:`~bayescale.inference.Problem.coordinates`); none by default.
    rounds, inflation
        Adaptation rounds and the factor on every proposal's covariance (default
        :data:`ADAPT_ROUNDS` and :data:`INFLATION`).
    chunk : int
        Fits per vectorised call per device.

    Returns
    -------
    ImportanceFit
        A fit without a usable Laplace approximation (no finite mode, Hessian not positive
        definite or not formed) comes back with ``pareto_k`` NaN and its draws at the mode.
    """
    rounds = ADAPT_ROUNDS if rounds is None else rounds
    inflation = INFLATION if inflation is None else inflation
    fits, dim = lap.x.shape
    # A proposal needs a positive-definite Hessian, not a converged search: a mode found to
    # a looser tolerance still centres a proposal, and the weights correct for it.
    usable = lap.usable()
    if not usable.any():  # nothing to propose from: every fit fails its check
        return ImportanceFit(
            z=np.repeat(lap.x[:, None], draws, axis=1),
            log_density=np.repeat(-lap.potential[:, None], draws, axis=1),
            pareto_k=np.full(fits, np.nan),
            ess=np.zeros(fits),
            proposals=0,
        )
    cov0 = lap.covariance(converged_only=False)
    rng = np.random.default_rng(seed)
    exp_coords = np.zeros(dim, bool) if exp_coords is None else np.asarray(exp_coords, bool)
    # The first proposal: the Laplace approximation's draws mapped to the proposal's space.
    chol0 = np.linalg.cholesky(cov0)
    eps = rng.standard_normal((fits, ADAPT_DRAWS, dim))
    y0 = _to_proposal(lap.x[:, None] + np.einsum("fij,fsj->fsi", chol0, eps), exp_coords)
    mean, cov = _weighted_moments(np.full(y0.shape[:2], 1.0 / ADAPT_DRAWS), y0)
    # the fallback in the proposal's space too: the Laplace covariance by the delta method
    jac = np.where(exp_coords, _to_proposal(lap.x, exp_coords), 1.0)  # (fits, dim)
    cov = _positive_definite(cov, cov0 * jac[:, :, None] * jac[:, None, :])
    # The final round: at least PROPOSALS_PER_DRAW per kept draw, in calls of ADAPT_DRAWS.
    calls = max(1, -(-int(PROPOSALS_PER_DRAW * draws) // ADAPT_DRAWS))
    n_final = calls * ADAPT_DRAWS
    keys = jax.random.split(jax.random.PRNGKey(seed), (rounds + calls, fits))
    flags = tuple(bool(e) for e in exp_coords)
    with _cheap_threefry():
        step = _round(problem, flags)
        for r in range(rounds):
            chol = np.linalg.cholesky(inflation * cov)
            _, log_ratio, y = devices_map(step, arrays, mean, chol, keys[r], chunk=chunk)
            w, _, _ = psis_weights(np.asarray(log_ratio))
            new_mean, new_cov = _weighted_moments(w, np.asarray(y))
            ok = np.all(np.isfinite(new_mean), axis=-1)
            mean = np.where(ok[:, None], new_mean, mean)
            cov = _positive_definite(np.where(ok[:, None, None], new_cov, cov), cov)
        chol = np.linalg.cholesky(inflation * cov)
        final = [
            devices_map(step, arrays, mean, chol, keys[rounds + c], chunk=chunk)[:2]
            for c in range(calls)
        ]
        log_p = np.concatenate([np.asarray(lp) for lp, _ in final], axis=1)
        w, khat, ess = psis_weights(np.concatenate([np.asarray(lr) for _, lr in final], axis=1))
        # Resample every fit's final proposals by their weights (multinomial, with replacement);
        # the chosen points are drawn again from their keys rather than sent back whole.
        idx = np.stack([rng.choice(n_final, size=draws, p=w[i]) for i in range(fits)])
        final_keys = jnp.swapaxes(keys[rounds:], 0, 1)  # (fits, calls, key)
        z_out = np.asarray(devices_map(_resample(flags), mean, chol, final_keys, idx, chunk=chunk))
    log_p_out = np.take_along_axis(np.asarray(log_p), idx, axis=1)
    z_out = np.where(usable[:, None, None], z_out, lap.x[:, None])
    with np.errstate(divide="ignore"):
        kept = 1.0 / (1.0 / ess + 1.0 / draws)  # the resampled draws' effective size
    return ImportanceFit(
        z=z_out,
        log_density=log_p_out,
        pareto_k=np.where(usable, khat, np.nan),
        ess=np.where(usable & (ess > 0), kept, 0.0),
        proposals=n_final,
    )


__all__ = [
    "ADAPT_DRAWS",
    "ADAPT_ROUNDS",
    "INFLATION",
    "PROPOSALS_PER_DRAW",
    "ImportanceFit",
    "importance_sample",
    "psis_weights",
]
