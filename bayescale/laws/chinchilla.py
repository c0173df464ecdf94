"""The Chinchilla (Hoffmann et al. 2022) law in two variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp
import numpyro.distributions as dist

from bayescale.laws.base import (
    Array,
    Law,
    Parameter,
    Scale,
    irreducible_loss,
    log_exponent,
    log_term,
)

#: Prior scale of ``log(beta / alpha)`` around 0, i.e. of the compute-optimal allocation
#: ``N* ~ C^(beta / (alpha + beta))``: 90 % of its mass puts the exponent in [0.42, 0.58].
#: Published language-model studies find 0.46-0.53 (Hoffmann et al. 2022's three approaches
#: 0.50, 0.49, 0.46; DeepSeek LLM 2024 0.52, model scale in non-embedding FLOPs per token;
#: Llama 3 2024 0.47, tokens ~ C^0.53); Kaplan et al. 2020's 0.73 is the bias of fitting
#: small models with non-embedding parameters (Pearce & Song 2024, arXiv:2406.12907; Porian et
#: al. 2024, arXiv:2406.19146), the same bias a fit of a ladder's smallest runs shows.
ALLOCATION_PRIOR_SD = 0.2


@dataclass(frozen=True)
class Chinchilla(Law):
    r"""Chinchilla law ``L(N, D) = E + A / N^alpha + B / D^beta``.

    Hoffmann et al., *Training Compute-Optimal Large Language Models*, NeurIPS 2022
    (arXiv:2203.15556), Approach 3; refitted by Besiroglu et al. 2024 (arXiv:2404.10102).

    Sampled in the centred parameterisation

    .. math::

        L = e^{\log E} + e^{a - \alpha (\log N - \log N_0)} + e^{b - \beta (\log D - \log D_0)}

    with ``N0``, ``D0`` the geometric means of the data, so that ``a`` (the log of the
    parameter-limited term at ``N0``) is nearly uncorrelated with ``alpha``. The natural
    parameters are ``A = exp(a + alpha log N0)`` and ``B = exp(b + beta log D0)``.

    Default priors (``loss`` the median observed loss, ``loss_min`` the smallest):
    ``log E ~ Normal(log(0.7 loss_min), 0.5)``, ``a, b ~ Normal(log(0.25 loss), 1.5)``,
    ``log alpha ~ Normal(log 0.3, 0.5)`` and ``log beta ~ log alpha + Normal(0, 0.2)``
    (:data:`ALLOCATION_PRIOR_SD`): a prior on the compute-optimal allocation
    ``N* ~ C^(beta/(alpha+beta))``, 90 % between ``C^0.42`` and ``C^0.58``, from published
    language-model studies. A ladder's smallest runs alone tend to tilt it (``D*/N*`` that
    falls by a decade over two decades of compute where measured iso-FLOP minima stay
    near 20); a well-measured ladder overrides it. To drop it, give ``log_beta`` a prior of
    its own, which is absolute (``bs.Model(priors={"log_beta": "Normal(-1.204, 0.5)"})``,
    the earlier default).

    Parameters
    ----------
    priors : dict, optional
        Prior overrides by sampled name (``"log_E"``, ``"a"``, ``"b"``, ``"log_alpha"``,
        ``"log_beta"``).

    Examples
    --------
    The published law at 100M, 1B and 10B parameters, 20 tokens per parameter:

    >>> law = bs.laws.Chinchilla()
    >>> hoffmann = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    >>> x = {"N": np.array([1e8, 1e9, 1e10]), "D": np.array([2e9, 2e10, 2e11])}
    >>> np.round(law.natural_mean(hoffmann, x), 2).tolist()
    [3.49, 2.58, 2.13]

    It is the default law of :class:`bayescale.Model`:

    >>> bs.Model().law == law
    True
    """

    name: ClassVar[str] = "chinchilla"
    inputs: ClassVar[tuple[str, ...]] = ("N", "D")
    natural_names: ClassVar[tuple[str, ...]] = ("E", "A", "B", "alpha", "beta")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        irreducible_loss(),
        log_term("a", "A", "log of the parameter-limited term A/N^alpha at the reference size N0"),
        log_term("b", "B", "log of the data-limited term B/D^beta at the reference tokens D0"),
        log_exponent("log_alpha", "alpha", "log of the parameter exponent alpha"),
        Parameter(
            "log_beta",
            "beta",
            lambda s: dist.Normal(0.0, ALLOCATION_PRIOR_SD),
            0.2,
            "log of the data exponent beta",
            relative_to="log_alpha",
        ),
    )

    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """Centred Chinchilla mean (see the class docstring)."""
        alpha, beta = jnp.exp(theta["log_alpha"]), jnp.exp(theta["log_beta"])
        return (
            jnp.exp(theta["log_E"])
            + jnp.exp(theta["a"] - alpha * u["N"])
            + jnp.exp(theta["b"] - beta * u["D"])
        )

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Return ``E, A, B, alpha, beta``."""
        alpha, beta = jnp.exp(theta["log_alpha"]), jnp.exp(theta["log_beta"])
        return {
            "E": jnp.exp(theta["log_E"]),
            "A": jnp.exp(theta["a"] + alpha * scale.log_ref["N"]),
            "B": jnp.exp(theta["b"] + beta * scale.log_ref["D"]),
            "alpha": alpha,
            "beta": beta,
        }

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Inverse of :meth:`to_natural`."""
        alpha, beta = jnp.asarray(natural["alpha"]), jnp.asarray(natural["beta"])
        return {
            "log_E": jnp.log(natural["E"]),
            "a": jnp.log(natural["A"]) - alpha * scale.log_ref["N"],
            "b": jnp.log(natural["B"]) - beta * scale.log_ref["D"],
            "log_alpha": jnp.log(alpha),
            "log_beta": jnp.log(beta),
        }

    def compute_optimal(self, natural: Mapping[str, Array], c_over_k: Array) -> Array:
        """Closed-form ``N*`` for the budget ``C/k`` (Hoffmann et al. 2022, Appendix D.2).

        ``N* = G (C/k)^(beta/(alpha+beta))`` with ``G = (alpha A / (beta B))^(1/(alpha+beta))``;
        ``D* = (C/k) / N*``.

        Parameters
        ----------
        natural : dict
            Natural parameters ``E, A, B, alpha, beta`` (scalars or arrays of draws).
        c_over_k : float or array
            The compute budget divided by the FLOP per parameter and token (``C / 6``).

        Returns
        -------
        array
            The compute-optimal number of parameters ``N*``.

        Examples
        --------
        With the published parameters, at 1e20 FLOP:

        >>> law = bs.laws.Chinchilla()
        >>> n_opt = float(law.compute_optimal(bs.simulate.HOFFMANN_2022, 1e20 / 6))
        >>> f"N* = {n_opt:.2g}, D* = {1e20 / 6 / n_opt:.2g}"
        'N* = 6.4e+08, D* = 2.6e+10'

        With posterior draws, one ``N*`` per draw (:func:`bayescale.frontier` does this with
        the extrapolation error too):

        >>> natural = {k: post.posterior[k].values for k in law.natural_names}
        >>> law.compute_optimal(natural, 1e20 / 6).shape
        (2, 1000)
        """
        a, b = natural["alpha"], natural["beta"]
        g = (a * natural["A"] / (b * natural["B"])) ** (1.0 / (a + b))
        return g * c_over_k ** (b / (a + b))

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """``E + A N^-alpha + B D^-beta`` on raw ``N`` and ``D``."""
        return (
            natural["E"]
            + natural["A"] * x["N"] ** -natural["alpha"]
            + natural["B"] * x["D"] ** -natural["beta"]
        )
