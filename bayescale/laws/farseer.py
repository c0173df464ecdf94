"""The Farseer law (2025): Chinchilla-like terms whose coefficients and exponent vary with N."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp
import numpyro.distributions as dist

from bayescale import arguments
from bayescale.laws.base import Array, Law, Parameter, Scale

#: (sampled prefix, paper's letters, what the function of N is, prior of its value at N0)
_TERMS = (
    ("E", ("a3", "b3", "gamma"), "log of the N-dependent floor exp(a3 N^gamma + b3)"),
    ("B", ("a2", "b2", "beta"), "log of the data term's coefficient exp(a2 N^beta + b2)"),
    ("K", ("a1", "b1", "alpha"), "log of the data exponent exp(a1 N^alpha + b1)"),
)


def _level_prior(term: str):
    if term == "E":
        return lambda s: dist.Normal(jnp.log(0.7 * s.loss_min), 0.5)
    if term == "B":
        return lambda s: dist.Normal(jnp.log(0.25 * s.loss), 1.5)
    return lambda s: dist.Normal(jnp.log(0.3), 0.5)


def _slope_scale(term: str) -> float:
    return {"E": 0.2, "B": 0.5, "K": 0.2}[term]


def _slope_prior(k: float):
    return lambda s: dist.Normal(0.0, k)


def _parameters() -> tuple[Parameter, ...]:
    out = []
    for term, (a, _b, g), doc in _TERMS:
        out += [
            Parameter(f"l{term}", f"{term}0", _level_prior(term), 0.3, f"{doc} at N0"),
            Parameter(
                f"s{term}",
                a,
                _slope_prior(_slope_scale(term)),
                0.1,
                f"slope in log N at N0 of the {doc}",
            ),
            Parameter(
                f"g{term}", g, lambda s: dist.Normal(0.0, 0.3), 0.1, f"exponent of N in the {doc}"
            ),
        ]
    return tuple(out)


def _h(g: Array, u: Array) -> Array:
    """``(exp(g u) - 1) / g``, continuous at ``g = 0`` (where it is ``u``)."""
    g_safe = jnp.where(jnp.abs(g) < 1e-8, 1e-8, g)
    return jnp.expm1(g_safe * u) / g_safe


@dataclass(frozen=True)
class Farseer(Law):
    r"""Farseer law, ``exp(a3 N^g + b3) + exp(a2 N^beta + b2) D^-exp(a1 N^alpha + b1)``.

    Li et al., *Farseer: A Refined Scaling Law in Large Language Models*, 2025
    (arXiv:2506.10972), our reading of its eq. (the floor, the data term's coefficient and the
    data exponent are each ``exp`` of a power law in ``N``), with ``D`` measured in units of
    ``d_unit`` tokens (default 1e9). The unit matters: changing it moves ``b2`` by
    ``beta(N) log(unit)``, which is not of the law's form, so ``a2, b2`` are only comparable
    between fits with the same unit.

    Each of the three functions of ``N`` is sampled as
    ``f(u) = level + slope (exp(g u) - 1) / g`` with ``u = log N - log N0``: its value and
    slope at the reference size and its curvature ``g``, which is well conditioned (the paper's
    ``a N^g + b`` has ``a`` and ``b`` nearly cancelling) and reduces to a straight line in
    ``log N`` as ``g -> 0``. The paper's parameters follow as ``a = (slope / g) N0^-g`` and
    ``b = level - slope / g``.

    Default priors: floor level ``Normal(log(0.7 loss_min), 0.5)``, coefficient level
    ``Normal(log(0.25 loss), 1.5)``, exponent level ``Normal(log 0.3, 0.5)``; slopes
    ``Normal(0, 0.2)``, ``Normal(0, 0.5)``, ``Normal(0, 0.2)``; curvatures ``Normal(0, 0.3)``.
    With a ladder of a few dozen runs the curvatures are weakly identified and stay close to
    their prior; the floor's slope trades off against the data term at small ``D``.

    Parameters
    ----------
    d_unit : float
        Unit of ``D`` in the law (tokens).
    priors : dict, optional
        Prior overrides by sampled name.

    Examples
    --------
    >>> law = bs.laws.Farseer(d_unit=1e9)
    >>> natural = {"a1": 1.0, "b1": -1.5, "alpha": -0.05, "a2": 2.0, "b2": -0.5, "beta": -0.1,
    ...            "a3": 1.0, "b3": 0.4, "gamma": -0.1}
    >>> x = {"N": np.array([1e8, 1e9]), "D": np.array([2e9, 2e10])}
    >>> np.round(law.natural_mean(natural, x), 2).tolist()
    [2.41, 1.99]
    >>> law.config()
    {'d_unit': 1000000000.0}
    """

    d_unit: float = 1e9

    name: ClassVar[str] = "farseer"
    inputs: ClassVar[tuple[str, ...]] = ("N", "D")
    natural_names: ClassVar[tuple[str, ...]] = (
        "a1",
        "b1",
        "alpha",
        "a2",
        "b2",
        "beta",
        "a3",
        "b3",
        "gamma",
    )
    parameters: ClassVar[tuple[Parameter, ...]] = _parameters()

    def __post_init__(self) -> None:
        try:  # 0 zeroes every term; a negative unit has no log
            arguments.positive(self.d_unit, "d_unit")
        except ValueError as e:
            raise ValueError(f"Farseer: {e} (tokens per unit of D, e.g. 1e9)") from None
        super().__post_init__()

    @staticmethod
    def _f(theta: Mapping[str, Array], term: str, u: Array) -> Array:
        return theta[f"l{term}"] + theta[f"s{term}"] * _h(theta[f"g{term}"], u)

    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """Centred Farseer mean (see the class docstring)."""
        floor = jnp.exp(self._f(theta, "E", u["N"]))
        exponent = jnp.exp(self._f(theta, "K", u["N"]))
        log_d = u["D"] + scale.log_ref["D"] - jnp.log(self.d_unit)
        return floor + jnp.exp(self._f(theta, "B", u["N"]) - exponent * log_d)

    def config(self) -> dict:
        """Return ``{"d_unit": d_unit}``."""
        return {"d_unit": float(self.d_unit)}

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Return the paper's ``a_k, b_k`` and exponents (``N`` raw, ``D`` in ``d_unit``)."""
        ref = scale.log_ref["N"]
        out = {}
        for term, (a, b, g), _ in _TERMS:
            gv = theta[f"g{term}"]
            g_safe = jnp.where(jnp.abs(gv) < 1e-8, 1e-8, gv)
            ratio = theta[f"s{term}"] / g_safe
            out[a] = ratio * jnp.exp(-g_safe * ref)
            out[b] = theta[f"l{term}"] - ratio
            out[g] = gv
        return out

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Inverse of :meth:`to_natural`."""
        ref = scale.log_ref["N"]
        out = {}
        for term, (a, b, g), _ in _TERMS:
            gv = jnp.asarray(natural[g])
            ratio = natural[a] * jnp.exp(gv * ref)
            out[f"g{term}"] = gv
            out[f"s{term}"] = ratio * gv
            out[f"l{term}"] = natural[b] + ratio
        return out

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """Evaluate the paper's form on raw ``N`` and ``D / d_unit``."""
        n = x["N"]
        floor = jnp.exp(natural["a3"] * n ** natural["gamma"] + natural["b3"])
        coef = jnp.exp(natural["a2"] * n ** natural["beta"] + natural["b2"])
        expo = jnp.exp(natural["a1"] * n ** natural["alpha"] + natural["b1"])
        return floor + coef * (x["D"] / self.d_unit) ** -expo
