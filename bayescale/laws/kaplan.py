"""The Kaplan et al. (2020) law in parameters and data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from bayescale.laws.base import Array, Law, Parameter, Scale


@dataclass(frozen=True)
class Kaplan(Law):
    r"""Kaplan law ``L(N, D) = ((N_c / N)^(alpha_N / alpha_D) + D_c / D)^alpha_D``.

    Kaplan et al., *Scaling Laws for Neural Language Models*, 2020 (arXiv:2001.08361), eq. 1.5;
    published values (non-embedding parameters, nats): ``N_c = 8.8e13``, ``D_c = 5.4e13``,
    ``alpha_N = 0.076``, ``alpha_D = 0.095``. The law has no irreducible term.

    Sampled in a centred form: with ``u_N = log N - log N0`` and ``u_D = log D - log D0`` (the
    data's geometric means), ``p = r log(N_c/N0)``, ``q = log(D_c/D0)``, ``r = alpha_N/alpha_D``,

    .. math:: \log L = \alpha_D \operatorname{logaddexp}(p - r u_N,\; q - u_D),

    with ``p`` and ``q`` written through the loss at the reference point,
    ``log L0 = alpha_D logaddexp(p, q)``, and the share of the parameter-limited term there,
    ``share = sigmoid(p - q)``: both are well determined by any ladder, where ``N_c`` and
    ``D_c`` (many decades beyond the data) are not.

    Default priors: ``log L0 ~ Normal(log loss, 0.5)``, ``logit share ~ Normal(0, 2)``,
    ``log alpha_N ~ Normal(log 0.076, 0.7)``, ``log alpha_D ~ Normal(log 0.095, 0.7)``.

    Parameters
    ----------
    priors : dict, optional
        Prior overrides by sampled name (``"log_L0"``, ``"logit_share"``, ``"log_alpha_N"``,
        ``"log_alpha_D"``).

    Examples
    --------
    The published law at 100M and 1B parameters, 20 tokens per parameter:

    >>> law = bs.laws.Kaplan()
    >>> kaplan = {"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095}
    >>> x = {"N": np.array([1e8, 1e9]), "D": np.array([2e9, 2e10])}
    >>> np.round(law.natural_mean(kaplan, x), 2).tolist()
    [2.94, 2.44]

    Fitted to the Chinchilla ladder ``runs`` like any law (importance sampling: fast):

    >>> kaplan_post = bs.fit(bs.Model(law), runs, method="psis", chains=1, draws=2000, seed=0)
    >>> kaplan_post.summary().index.tolist()
    ['N_c', 'D_c', 'alpha_N', 'alpha_D', 'sigma', 'nu']
    """

    name: ClassVar[str] = "kaplan"
    inputs: ClassVar[tuple[str, ...]] = ("N", "D")
    natural_names: ClassVar[tuple[str, ...]] = ("N_c", "D_c", "alpha_N", "alpha_D")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter(
            "log_L0",
            "L0",
            lambda s: dist.Normal(jnp.log(s.loss), 0.5),
            0.3,
            "log loss at the reference point (N0, D0)",
        ),
        Parameter(
            "logit_share",
            "share",
            lambda s: dist.Normal(0.0, 2.0),
            0.5,
            "logit of the parameter-limited term's share at (N0, D0)",
        ),
        Parameter(
            "log_alpha_N",
            "alpha_N",
            lambda s: dist.Normal(jnp.log(0.076), 0.7),
            0.2,
            "log of the parameter exponent",
        ),
        Parameter(
            "log_alpha_D",
            "alpha_D",
            lambda s: dist.Normal(jnp.log(0.095), 0.7),
            0.2,
            "log of the data exponent",
        ),
    )

    @staticmethod
    def _pq(theta: Mapping[str, Array]) -> tuple[Array, Array, Array, Array]:
        a_d = jnp.exp(theta["log_alpha_D"])
        r = jnp.exp(theta["log_alpha_N"]) / a_d
        lse = theta["log_L0"] / a_d
        p = lse + jax.nn.log_sigmoid(theta["logit_share"])
        q = lse + jax.nn.log_sigmoid(-theta["logit_share"])
        return p, q, r, a_d

    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """Centred Kaplan mean (see the class docstring)."""
        p, q, r, a_d = self._pq(theta)
        return jnp.exp(a_d * jnp.logaddexp(p - r * u["N"], q - u["D"]))

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Return ``N_c, D_c, alpha_N, alpha_D``."""
        p, q, r, a_d = self._pq(theta)
        return {
            "N_c": jnp.exp(scale.log_ref["N"] + p / r),
            "D_c": jnp.exp(scale.log_ref["D"] + q),
            "alpha_N": jnp.exp(theta["log_alpha_N"]),
            "alpha_D": a_d,
        }

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Inverse of :meth:`to_natural`."""
        a_n, a_d = jnp.asarray(natural["alpha_N"]), jnp.asarray(natural["alpha_D"])
        p = a_n / a_d * (jnp.log(natural["N_c"]) - scale.log_ref["N"])
        q = jnp.log(natural["D_c"]) - scale.log_ref["D"]
        return {
            "log_L0": a_d * jnp.logaddexp(p, q),
            "logit_share": p - q,
            "log_alpha_N": jnp.log(a_n),
            "log_alpha_D": jnp.log(a_d),
        }

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """``((N_c/N)^(alpha_N/alpha_D) + D_c/D)^alpha_D`` on raw inputs."""
        r = natural["alpha_N"] / natural["alpha_D"]
        return ((natural["N_c"] / x["N"]) ** r + natural["D_c"] / x["D"]) ** natural["alpha_D"]
