"""Saturating power law in one variable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp

from bayescale.laws.base import (
    Array,
    OneInputLaw,
    Parameter,
    Scale,
    irreducible_loss,
    log_exponent,
    log_term,
)


@dataclass(frozen=True)
class SaturatingPowerLaw(OneInputLaw):
    r"""Saturating power law ``L(x) = E + A x^-alpha`` in one input ``x``.

    ``x`` is one of ``"N"`` (parameters), ``"D"`` (tokens), ``"C"`` (compute) or ``"step"``.
    The form goes back to Hestness et al. 2017 (arXiv:1712.00409) and Kaplan et al. 2020
    (arXiv:2001.08361). Sampled as ``exp(log E) + exp(a - alpha (log x - log x0))`` with ``x0``
    the geometric mean of the data, so ``A = exp(a + alpha log x0)``.

    Default priors: ``log E ~ Normal(log(0.7 loss_min), 0.5)``,
    ``a ~ Normal(log(0.25 loss), 1.5)``, ``log alpha ~ Normal(log 0.3, 0.5)``.

    Parameters
    ----------
    x : {"N", "D", "C", "step"}
        The input variable.
    priors : dict, optional
        Prior overrides by sampled name.

    Examples
    --------
    Loss against compute, at 1e18, 1e19 and 1e20 FLOP:

    >>> law = bs.laws.SaturatingPowerLaw(x="C")
    >>> natural = {"E": 1.7, "A": 1e3, "alpha": 0.15}
    >>> loss = law.natural_mean(natural, {"C": np.array([1e18, 1e19, 1e20])})
    >>> np.round(loss, 2).tolist()
    [3.7, 3.11, 2.7]

    In a model, it reads the ``flops`` column:

    >>> model = bs.Model(law)
    >>> model.law.inputs
    ('C',)
    """

    x: str = "N"
    name: ClassVar[str] = "power"
    natural_names: ClassVar[tuple[str, ...]] = ("E", "A", "alpha")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        irreducible_loss(),
        log_term("a", "A", "log of the reducible term A x^-alpha at the reference x0"),
        log_exponent("log_alpha", "alpha", "log of the exponent alpha"),
    )

    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """Centred mean ``exp(log E) + exp(a - alpha u)``."""
        return jnp.exp(theta["log_E"]) + jnp.exp(
            theta["a"] - jnp.exp(theta["log_alpha"]) * u[self.x]
        )

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Return ``E, A, alpha``."""
        alpha = jnp.exp(theta["log_alpha"])
        return {
            "E": jnp.exp(theta["log_E"]),
            "A": jnp.exp(theta["a"] + alpha * scale.log_ref[self.x]),
            "alpha": alpha,
        }

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Inverse of :meth:`to_natural`."""
        alpha = jnp.asarray(natural["alpha"])
        return {
            "log_E": jnp.log(natural["E"]),
            "a": jnp.log(natural["A"]) - alpha * scale.log_ref[self.x],
            "log_alpha": jnp.log(alpha),
        }

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """``E + A x^-alpha`` on the raw input."""
        return natural["E"] + natural["A"] * x[self.x] ** -natural["alpha"]
