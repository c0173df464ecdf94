"""Alabdulmohsin et al.'s M4 law: a power law in the excess loss between two plateaus."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from bayescale.laws.base import Array, OneInputLaw, Parameter, Scale, irreducible_loss

#: Newton iterations (without gradient) that solve the implicit equation; two more carry it.
NEWTON_ITERATIONS = 30


def solve_fraction(rho: Array, alpha: Array) -> Array:
    """Solve ``log t - alpha log(1 - t) = rho`` for ``t`` in (0, 1), returned as ``logit t``.

    The left side is increasing in ``s = logit t`` with slope between ``min(1, alpha)`` and
    ``max(1, alpha)``, and convex (``alpha > 1``) or concave (``alpha < 1``), so Newton's method
    from its asymptote (``s = rho`` for ``rho < 0``, ``s = rho / alpha`` otherwise) stays on one
    side of the root and converges. The iterations run without gradient; two Newton steps on
    top carry the gradient and the Hessian of the implicit function exactly at the root (each
    step squares the error, and its derivatives with it).

    Parameters
    ----------
    rho : array
        Right-hand side (broadcast with ``alpha``).
    alpha : array
        The exponent of ``(1 - t)``, positive.

    Returns
    -------
    array
        ``logit t``, of the broadcast shape of ``rho`` and ``alpha``.

    Examples
    --------
    >>> from bayescale.laws.m4 import solve_fraction
    >>> rho, alpha = np.array([-3.0, 0.0, 3.0]), 1.5
    >>> t = 1 / (1 + np.exp(-np.asarray(solve_fraction(rho, alpha))))
    >>> t.round(2).tolist()
    [0.05, 0.43, 0.88]
    >>> bool(np.allclose(np.log(t) - alpha * np.log(1 - t), rho))
    True
    """
    rho, alpha = jnp.broadcast_arrays(rho, alpha)

    def step(s: Array, r: Array, a: Array) -> Array:
        h = jax.nn.log_sigmoid(s) - a * jax.nn.log_sigmoid(-s) - r
        return s - h / (jax.nn.sigmoid(-s) + a * jax.nn.sigmoid(s))

    r0, a0 = jax.lax.stop_gradient(rho), jax.lax.stop_gradient(alpha)
    s = jnp.where(r0 < 0, r0, r0 / a0)
    s = jax.lax.fori_loop(0, NEWTON_ITERATIONS, lambda _, s: step(s, r0, a0), s)
    s = jax.lax.stop_gradient(s)
    return step(step(s, rho, alpha), rho, alpha)


@dataclass(frozen=True)
class M4(OneInputLaw):
    r"""Alabdulmohsin et al.'s M4 law, ``(L - E) / (E0 - L)^alpha = beta x^-c``.

    The loss falls from a plateau ``E0`` (random guessing; the loss at ``x -> 0``) to the
    irreducible loss ``E``; the excess ``L - E``, divided by ``(E0 - L)^alpha``, is a power law
    in ``x``. With ``alpha -> 0`` it is the saturating power law ``E + beta x^-c``; with
    ``alpha > 0`` the curve bends from the upper plateau into the power law, the sigmoid shape
    in ``log x`` that learning curves of image classifiers show (Alabdulmohsin, Neyshabur,
    Zhai, *Revisiting Neural Scaling Laws in Language and Vision*, NeurIPS 2022,
    arXiv:2209.06640; their ``x^c`` with ``c < 0`` is ``x^-c`` here). ``L`` is the root of the
    implicit equation, found by Newton's method in JAX (:func:`solve_fraction`).

    Sampled as ``L = E + (E0 - E) t`` with ``log t - alpha log(1 - t) = b - c (log x - log x0)``,
    ``x0`` the geometric mean of the data: ``b`` places the curve at the reference ``x0``
    (``b = -1``: ``t`` about 0.27), free of the units of the loss, and
    ``beta = exp(b + c log x0) (E0 - E)^(1 - alpha)``.

    Default priors: ``log E ~ Normal(log(0.7 loss_min), 0.5)``,
    ``log(E0 - E) ~ Normal(log(2 loss), 0.75)``, ``b ~ Normal(-1, 1.5)``,
    ``log alpha ~ Normal(0, 0.75)``, ``log c ~ Normal(log 0.3, 0.5)``. Where the random-guess
    loss is known (``1 - 1/classes`` for an error rate, ``log(vocabulary)`` for a
    cross-entropy), a tight prior on ``log_gap`` says so.

    Parameters
    ----------
    x : {"D", "N", "C", "step"}
        The input variable (data seen by default, as in the paper).
    priors : dict, optional
        Prior overrides by sampled name.

    Examples
    --------
    A cross-entropy that falls from ``E0`` towards ``E`` as the tokens seen grow:

    >>> law = bs.laws.M4(x="D")
    >>> natural = {"E": 1.8, "E0": 10.8, "alpha": 1.0, "beta": 10.0, "c": 0.3}
    >>> loss = law.natural_mean(natural, {"D": np.array([1e3, 1e6, 1e9])})
    >>> np.round(loss, 2).tolist()
    [6.82, 3.03, 1.98]

    Where the random-guess loss is known (``log`` of a 50k vocabulary here), say so:

    >>> import numpyro.distributions as dist
    >>> law = bs.laws.M4(x="D", priors={"log_gap": dist.Normal(np.log(10.8 - 1.8), 0.05)})
    """

    x: str = "D"
    name: ClassVar[str] = "m4"
    natural_names: ClassVar[tuple[str, ...]] = ("E", "E0", "alpha", "beta", "c")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        irreducible_loss(),
        Parameter(
            "log_gap",
            "E0",
            lambda s: dist.Normal(jnp.log(2.0 * s.loss), 0.75),
            0.3,
            "log of the gap E0 - E between the random-guess and the irreducible loss",
        ),
        Parameter(
            "b",
            "beta",
            lambda s: dist.Normal(-1.0, 1.5),
            0.5,
            "right-hand side log t - alpha log(1 - t) at the reference x0",
        ),
        Parameter(
            "log_alpha",
            "alpha",
            lambda s: dist.Normal(0.0, 0.75),
            0.2,
            "log of the exponent alpha of (E0 - L)",
        ),
        Parameter(
            "log_c", "c", lambda s: dist.Normal(jnp.log(0.3), 0.5), 0.2, "log of the exponent c"
        ),
    )

    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """``E + (E0 - E) sigmoid(s)``, ``s`` the root at ``rho = b - c u``."""
        rho = theta["b"] - jnp.exp(theta["log_c"]) * u[self.x]
        s = solve_fraction(rho, jnp.exp(theta["log_alpha"]))
        return jnp.exp(theta["log_E"]) + jnp.exp(theta["log_gap"]) * jax.nn.sigmoid(s)

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Return ``E, E0, alpha, beta, c``."""
        alpha, c = jnp.exp(theta["log_alpha"]), jnp.exp(theta["log_c"])
        log_beta = theta["b"] + c * scale.log_ref[self.x] + (1 - alpha) * theta["log_gap"]
        return {
            "E": jnp.exp(theta["log_E"]),
            "E0": jnp.exp(theta["log_E"]) + jnp.exp(theta["log_gap"]),
            "alpha": alpha,
            "beta": jnp.exp(log_beta),
            "c": c,
        }

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Inverse of :meth:`to_natural`."""
        gap = jnp.log(jnp.asarray(natural["E0"]) - natural["E"])
        alpha, c = jnp.asarray(natural["alpha"]), jnp.asarray(natural["c"])
        return {
            "log_E": jnp.log(natural["E"]),
            "log_gap": gap,
            "b": jnp.log(natural["beta"]) - c * scale.log_ref[self.x] - (1 - alpha) * gap,
            "log_alpha": jnp.log(alpha),
            "log_c": jnp.log(c),
        }

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """Solve ``(L - E) / (E0 - L)^alpha = beta x^-c`` for ``L`` on the raw input."""
        gap = natural["E0"] - natural["E"]
        alpha = natural["alpha"]
        rho = (
            jnp.log(natural["beta"])
            - natural["c"] * jnp.log(jnp.asarray(x[self.x]))
            - (1 - alpha) * jnp.log(gap)
        )
        return natural["E"] + gap * jax.nn.sigmoid(solve_fraction(rho, alpha))
