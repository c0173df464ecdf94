"""MAP estimates and Laplace approximations of one or many fits, as one vectorised computation.

Every fit's MAP is found on NumPyro's unconstrained potential by damped Newton steps
(Levenberg-Marquardt): the Hessian comes from central differences of the exact (autodiff)
gradient, and each iteration evaluates the potential and its gradient at a trial point and its
``2 dim`` neighbours for every fit at once. Only the vmapped value-and-gradient is compiled
(once per model structure); the Newton logic runs on the host, and the loop stops when every fit
has converged. Problems of more than :data:`NEWTON_MAX_DIM` parameters (e.g. hundreds of
sampled run effects) are solved fit by fit with SciPy's L-BFGS-B on the same compiled gradient.
The Laplace approximation is the Gaussian with the inverse Hessian at the MAP as covariance; a
fit whose Hessian is not positive definite reports ``converged=False``. A single fit is a batch
of one.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.optimize

from bayescale.inference.devices import devices_map
from bayescale.inference.problem import Problem

#: Largest dimension solved by batched Newton steps; L-BFGS-B per fit beyond.
NEWTON_MAX_DIM = 100
#: Starts of every fit's MAP search solved by Newton steps: the given point and uniform draws.
MAP_STARTS = 2
#: Nats by which another start's mode must undercut the given start's to replace it.
MAP_START_MARGIN = 0.01
#: Largest dimension whose Hessian is formed for the Laplace covariance.
HESSIAN_MAX_DIM = 2000
#: Fits per vectorised call per device (the MAP has no lockstep cost to bound).
MAP_CHUNK = 4096
#: Smallest and largest variance kept when the Laplace diagonal spreads chain starts.
START_VARIANCE = (1e-8, 1.0)
#: Step of the central differences of the gradient that form the Hessian.
FD_STEP = 1e-5
#: A fit has converged when its largest gradient component is below this,
GRAD_TOL = 1e-3
#: or when its Newton decrement ``g' H^-1 g`` (twice the potential still to gain by a Newton
#: step; scale-free) is below this. A posterior pinned tightly in some direction (Hessian
#: eigenvalues near 5e6 on Epoch's ladder) leaves a gradient of a few 1e-3 at a mode whose
#: decrement is 1e-11: rounding in the gradient, not a mode still to find.
DECREMENT_TOL = 1e-8


@dataclass
class LaplaceFit:
    """MAP and Laplace approximation of each fit of a batch (leading axis: fit).

    Attributes
    ----------
    x : numpy.ndarray
        Flat unconstrained MAP, ``(fits, dim)``.
    potential : numpy.ndarray
        Negative log density at the MAP.
    converged : numpy.ndarray
        The search stopped with a small gradient, a finite potential and a positive-definite
        Hessian.
    chol : numpy.ndarray or None
        Cholesky factor of each Hessian (NaN where not positive definite; ``None`` above
        :data:`HESSIAN_MAX_DIM`).
    """

    x: np.ndarray
    potential: np.ndarray
    converged: np.ndarray
    chol: np.ndarray | None

    def usable(self) -> np.ndarray:
        """Fits with a finite mode and a positive-definite Hessian (converged or not)."""
        if self.chol is None:
            return np.zeros(len(self.x), bool)
        return np.isfinite(self.potential) & np.all(np.isfinite(self.chol), axis=(1, 2))

    def factor(self, converged_only: bool = True) -> np.ndarray | None:
        """Return factors ``F`` of the inverse Hessians, ``F F' = H^-1``, ``(fits, dim, dim)``.

        ``F = C^-T`` for the Hessian's Cholesky factor ``C``. The identity stands in where the
        MAP did not converge (with ``converged_only``) or the Hessian is not positive
        definite; ``None`` where no Hessian was formed.
        """
        if self.chol is None:
            return None
        eye = np.eye(self.x.shape[-1])
        keep = self.converged if converged_only else self.usable()
        out = np.empty(self.chol.shape)
        for i, c in enumerate(self.chol):
            ok = keep[i] and np.all(np.isfinite(c))
            out[i] = np.linalg.inv(c).T if ok else eye
        return out

    def covariance(self, converged_only: bool = True) -> np.ndarray | None:
        """Return the inverse Hessians ``(fits, dim, dim)`` (:meth:`factor`'s ``F F'``)."""
        f = self.factor(converged_only)
        return None if f is None else f @ np.swapaxes(f, -1, -2)

    def start_sd(self, cov: np.ndarray | None = None) -> np.ndarray:
        """Per-parameter spread of chain starts: Laplace standard deviations, else 0.1.

        ``cov`` is :meth:`covariance`'s result where the caller already has it.
        """
        cov = self.covariance() if cov is None else cov
        if cov is None:
            return np.full(self.x.shape, 0.1)
        var = np.diagonal(cov, axis1=-2, axis2=-1)
        sd = np.sqrt(np.clip(var, *START_VARIANCE))
        return np.where(self.converged[:, None], sd, 0.1)

    def draws(self, key: jax.Array, n: int) -> np.ndarray:
        """``n`` unconstrained draws per fit from its Laplace approximation, ``(fits, n, dim)``."""
        if self.chol is None:
            raise ValueError("No Hessian was formed (too many parameters) for Laplace draws.")
        eps = np.asarray(jax.random.normal(key, (self.x.shape[0], n, self.x.shape[-1])))
        eye = np.eye(self.x.shape[-1])
        out = np.empty_like(eps)
        for i, c in enumerate(self.chol):
            c = c if self.converged[i] and np.all(np.isfinite(c)) else eye
            # z = x + H^{-1/2} eps: solve L^T z' = eps for the Cholesky factor L of H.
            out[i] = self.x[i] + scipy.linalg.solve_triangular(c, eps[i].T, lower=True, trans=1).T
        return out


def _value_and_grad(problem: Problem):
    """Vmapped ``(arrays, z (fits, points, dim)) -> (values, grads)``, compiled once per problem."""
    if "value_and_grad" not in problem.jitted:

        def one(arrays, zs):
            pot = problem.potential(arrays)

            def f(z):
                return pot(problem.unravel(z))

            v, g = jax.vmap(jax.value_and_grad(f))(zs)
            bad = ~jnp.isfinite(v)
            return jnp.where(bad, jnp.inf, v), jnp.where(bad[:, None], jnp.nan, g)

        problem.jitted["value_and_grad"] = jax.vmap(one)
    return problem.jitted["value_and_grad"]


def _evaluate(problem: Problem, arrays: dict, z: np.ndarray, chunk: int):
    v, g = devices_map(_value_and_grad(problem), arrays, jnp.asarray(z), chunk=chunk)
    return np.asarray(v), np.asarray(g)


def _stencil(x: np.ndarray) -> np.ndarray:
    """``x`` and its ``2 dim`` central-difference neighbours: ``(fits, 2 dim + 1, dim)``."""
    eye = FD_STEP * np.eye(x.shape[-1])
    return np.concatenate([x[:, None], x[:, None] + eye, x[:, None] - eye], axis=1)


def _hessian(g: np.ndarray) -> np.ndarray:
    """Symmetrised central-difference Hessians from the stencil's gradients.

    NaN where a neighbour's gradient is not finite (the fit then has no Laplace covariance).
    """
    d = g.shape[-1]
    with np.errstate(invalid="ignore"):
        h = (g[:, 1 : d + 1] - g[:, d + 1 :]) / (2 * FD_STEP)
    return 0.5 * (h + np.swapaxes(h, -1, -2))


def _converged(fx: np.ndarray, grad: np.ndarray, hess: np.ndarray | None) -> np.ndarray:
    """Fits at a mode: finite, and a small gradient or a small Newton decrement.

    The decrement ``g' H^-1 g`` counts only where the Hessian is positive definite (a
    minimum; a saddle or a non-finite Hessian never converges by it), fit by fit.
    """
    small = np.max(np.abs(grad), axis=-1) < GRAD_TOL
    if hess is not None:
        for i, (g, h) in enumerate(zip(grad, hess, strict=True)):
            if small[i] or not (np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
                continue
            try:
                c = np.linalg.cholesky(h)
            except np.linalg.LinAlgError:
                continue
            y = scipy.linalg.solve_triangular(c, g, lower=True)
            small[i] = float(y @ y) < DECREMENT_TOL
    return np.isfinite(fx) & small


def _newton(problem: Problem, arrays: dict, x0: np.ndarray, maxiter: int, chunk: int):
    """Batched damped Newton from ``x0``: every iteration evaluates one stencil per fit."""
    fits, dim = x0.shape
    eye = np.eye(dim)
    v, g = _evaluate(problem, arrays, _stencil(x0), chunk)
    x, fx, grad, hess = x0.copy(), v[:, 0], g[:, 0], _hessian(g)
    lam = np.ones(fits)
    done = np.zeros(fits, bool)
    for _ in range(maxiter):
        done = _converged(fx, grad, hess)
        if done.all():
            break
        damped = hess + lam[:, None, None] * (
            eye + np.abs(np.diagonal(hess, axis1=1, axis2=2))[:, None] * eye
        )
        # A fit without a finite gradient or Hessian stays put (its damping grows).
        usable = np.all(np.isfinite(damped), axis=(1, 2)) & np.all(np.isfinite(grad), axis=1)
        damped = np.where(usable[:, None, None], damped, eye)
        rhs = np.where(usable[:, None], grad, 0.0)
        try:
            step = np.linalg.solve(damped, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.stack(
                [np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(damped, rhs, strict=True)]
            )
        step = np.where(np.isfinite(step), step, 0.0)
        trial = np.where(done[:, None], x, x - step)
        v, g = _evaluate(problem, arrays, _stencil(trial), chunk)
        better = (v[:, 0] < fx) & ~done
        x = np.where(better[:, None], trial, x)
        fx = np.where(better, v[:, 0], fx)
        grad = np.where(better[:, None], g[:, 0], grad)
        hess = np.where(better[:, None, None], _hessian(g), hess)
        lam = np.where(better, lam / 3.0, np.where(done, lam, lam * 4.0))
    return x, fx, _converged(fx, grad, hess), hess


def _lbfgs(problem: Problem, arrays: dict, x0: np.ndarray, maxiter: int, chunk: int):
    """L-BFGS-B per fit on the compiled gradient (large problems), then the stencil Hessian."""
    xs, fs = [], []
    for i in range(x0.shape[0]):
        a = jax.tree.map(lambda v, i=i: v[i : i + 1], arrays)

        def fun(z, a=a):
            v, g = _evaluate(problem, a, z[None, None], chunk)
            if np.isfinite(v[0, 0]):
                return float(v[0, 0]), g[0, 0]
            return np.inf, np.zeros_like(z)  # L-BFGS-B backtracks from a non-finite point

        res = scipy.optimize.minimize(
            fun, x0[i], jac=True, method="L-BFGS-B", options={"maxiter": 50 * maxiter}
        )
        xs.append(res.x)
        fs.append(res.fun)
    x = np.stack(xs)
    grad = _evaluate(problem, arrays, x[:, None], chunk)[1][:, 0]
    hess = None
    if x.shape[-1] <= HESSIAN_MAX_DIM:
        hess = _hessian(_evaluate(problem, arrays, _stencil(x), chunk)[1])
    fs = np.asarray(fs, float)
    return x, fs, _converged(fs, grad, hess), hess


def find_map(
    problem: Problem,
    arrays: dict,
    x0: np.ndarray,
    maxiter: int = 60,
    chunk: int = MAP_CHUNK,
    starts: int = 1,
    seed: int = 0,
) -> LaplaceFit:
    """MAP and Hessian of every fit of a stacked batch, started at ``x0`` ``(fits, dim)``.

    With ``starts`` > 1 (the engine passes :data:`MAP_STARTS` for models without group
    scales; problems solved by batched Newton steps only) every fit is also started from
    ``starts - 1`` points drawn uniformly in ``[-2, 2]`` on every unconstrained coordinate
    (NumPyro's ``init_to_uniform``; ``seed`` draws them), one batch per start, and keeps the
    given start's mode unless another start converged where it did not or to a potential
    lower by more than :data:`MAP_START_MARGIN`. Callers give ``starts=1`` for hierarchical
    models, whose potential falls without bound down a funnel's neck: there a lower point is
    not a better mode. A scaling law's potential can hold local modes: a broken power law's MAP
    from its prior means stopped 14 nats above the mode a uniform start found.
    """
    x0 = np.asarray(x0, dtype=float)
    fits, dim = x0.shape
    starts = max(1, int(starts))
    if dim > NEWTON_MAX_DIM:
        return _laplace_fit(*_lbfgs(problem, arrays, x0, maxiter, chunk))
    laps = [_laplace_fit(*_newton(problem, arrays, x0, maxiter, chunk))]
    rng = np.random.default_rng(seed)
    for _ in range(starts - 1):
        # a batch of the same shape as the given starts': the same compiled program, and the
        # given starts' results are bit for bit what one start gives
        extra = rng.uniform(-2.0, 2.0, size=(fits, dim))
        laps.append(_laplace_fit(*_newton(problem, arrays, extra, maxiter, chunk)))
    # Every fit keeps its given start unless another converged where it did not, or reached
    # a potential lower by more than MAP_START_MARGIN.
    value = np.stack([np.where(np.isfinite(lp.potential), lp.potential, np.inf) for lp in laps])
    conv = np.stack([lp.converged for lp in laps])
    pick = np.zeros(fits, int)
    rows = np.arange(fits)
    for k in range(1, starts):
        cur_v, cur_c = value[pick, rows], conv[pick, rows]
        lower = value[k] < cur_v - MAP_START_MARGIN
        pick = np.where((conv[k] & ~cur_c) | (lower & (conv[k] | ~cur_c)), k, pick)
    if not pick.any():
        return laps[0]
    chol = None
    if laps[0].chol is not None:
        chol = np.stack([laps[k].chol[i] for i, k in enumerate(pick)])
    return LaplaceFit(
        x=np.stack([laps[k].x[i] for i, k in enumerate(pick)]),
        potential=value[pick, rows],
        converged=conv[pick, rows],
        chol=chol,
    )


def _laplace_fit(x, fx, done, hess) -> LaplaceFit:
    chol = None
    if hess is not None:
        chol = np.full(hess.shape, np.nan)
        for i, h in enumerate(hess):
            try:
                chol[i] = np.linalg.cholesky(h)
            except np.linalg.LinAlgError:
                pass
    pd_ok = np.ones(len(x), bool) if chol is None else np.all(np.isfinite(chol), axis=(1, 2))
    return LaplaceFit(x=x, potential=fx, converged=done & pd_ok & np.isfinite(fx), chol=chol)


__all__ = [
    "DECREMENT_TOL",
    "HESSIAN_MAX_DIM",
    "MAP_CHUNK",
    "MAP_STARTS",
    "MAP_START_MARGIN",
    "NEWTON_MAX_DIM",
    "LaplaceFit",
    "find_map",
]
