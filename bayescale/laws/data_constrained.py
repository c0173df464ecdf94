"""The data-constrained law of Muennighoff et al. (2023): Chinchilla on effective N and D."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp
import numpyro.distributions as dist

from bayescale import arguments
from bayescale.laws.base import Array, Parameter, Scale
from bayescale.laws.chinchilla import Chinchilla


def effective(unique: Array, total: Array, r_star: Array) -> Array:
    """``U + U R* (1 - exp(-R / R*))`` with ``R = total / U - 1`` repetitions (0 if fewer).

    Parameters
    ----------
    unique : float or array
        The unique amount ``U`` (unique tokens, or compute-optimal parameters).
    total : float or array
        The amount used (tokens seen, or parameters).
    r_star : float or array
        ``R*``, the repetitions after which a repeat is worth ``1 - 1/e`` less.

    Returns
    -------
    array
        The effective amount, ``total`` when ``total <= unique``.

    Examples
    --------
    4 epochs over 1B unique tokens are worth about 3.7B new ones:

    >>> from bayescale.laws.data_constrained import effective
    >>> f"{float(effective(1e9, 4e9, r_star=15.4)):.2g}"
    '3.7e+09'
    >>> float(effective(1e9, 5e8, r_star=15.4))  # less than one epoch: every token counts
    500000000.0
    """
    u = jnp.minimum(unique, total)
    r = total / u - 1.0
    return u * (1.0 + r_star * -jnp.expm1(-r / r_star))


@dataclass(frozen=True)
class DataConstrained(Chinchilla):
    r"""Data-constrained scaling law ``L = E + A / N'^alpha + B / D'^beta``.

    Muennighoff et al., *Scaling Data-Constrained Language Models*, NeurIPS 2023
    (arXiv:2305.16264), eqs. 5-6: repeated tokens are worth less than new ones,

    .. math::

        D' = U_D + U_D R^*_D (1 - e^{-R_D / R^*_D}),\qquad
        N' = U_N + U_N R^*_N (1 - e^{-R_N / R^*_N}),

    with ``U_D`` the unique tokens (input ``U``, column ``unique_tokens``), ``R_D = D / U_D - 1``
    the repetitions beyond the first epoch, ``U_N = min(N, U_D / tokens_per_param)`` the
    parameters that are compute-optimal for ``U_D`` (the paper's choice, with Chinchilla's
    ratio) and ``R_N = N / U_N - 1`` the excess parameters. Published: ``R*_D = 15.4``,
    ``R*_N = 5.3``. With one epoch and ``N <= U_D / 20`` the law is Chinchilla's.

    Sampled like :class:`Chinchilla` (centred on the data's ``N0, D0``) plus
    ``log R*_D ~ Normal(log 15.4, 0.7)`` and ``log R*_N ~ Normal(log 5.3, 0.7)``.

    Parameters
    ----------
    tokens_per_param : float
        Compute-optimal tokens per parameter used for ``U_N``.
    priors : dict, optional
        Prior overrides by sampled name (Chinchilla's, ``"log_R_D"`` and ``"log_R_N"``).

    Examples
    --------
    A 1B model on 20B tokens: one epoch, then 4 epochs over 5B unique tokens:

    >>> law = bs.laws.DataConstrained()
    >>> natural = {**bs.simulate.HOFFMANN_2022, "R_D": 15.4, "R_N": 5.3}
    >>> x = {"N": np.array([1e9, 1e9]), "D": np.array([2e10, 2e10]), "U": np.array([2e10, 5e9])}
    >>> np.round(law.natural_mean(natural, x), 2).tolist()  # repeated data is worth less
    [2.58, 2.62]

    In a model, ``U`` is read from the ``unique_tokens`` column.
    """

    tokens_per_param: float = 20.0
    #: No closed-form frontier: :func:`bayescale.frontier` searches numerically.
    compute_optimal: ClassVar[None] = None
    name: ClassVar[str] = "data_constrained"
    inputs: ClassVar[tuple[str, ...]] = ("N", "D", "U")
    natural_names: ClassVar[tuple[str, ...]] = (*Chinchilla.natural_names, "R_D", "R_N")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        *Chinchilla.parameters,
        Parameter(
            "log_R_D",
            "R_D",
            lambda s: dist.Normal(jnp.log(15.4), 0.7),
            0.2,
            "log of R*_D, the repetitions after which repeated data is worth 1 - 1/e less",
        ),
        Parameter(
            "log_R_N",
            "R_N",
            lambda s: dist.Normal(jnp.log(5.3), 0.7),
            0.2,
            "log of R*_N, the same for excess parameters",
        ),
    )

    def __post_init__(self) -> None:
        try:  # 0 drops the excess parameters' term; a negative ratio inverts it
            arguments.positive(self.tokens_per_param, "tokens_per_param")
        except ValueError as e:
            raise ValueError(f"DataConstrained: {e} (Chinchilla's optimum: 20)") from None
        super().__post_init__()

    def config(self) -> dict:
        """Return ``{"tokens_per_param": ...}``."""
        return {"tokens_per_param": float(self.tokens_per_param)}

    def effective_inputs(
        self, r_d: Array, r_n: Array, n: Array, d: Array, unique: Array
    ) -> tuple[Array, Array]:
        """Effective parameters ``N'`` and tokens ``D'`` (raw units).

        Parameters
        ----------
        r_d, r_n : float or array
            ``R*_D`` and ``R*_N``.
        n, d : float or array
            Parameters and tokens seen.
        unique : float or array
            Unique tokens ``U_D``.

        Returns
        -------
        tuple of array
            ``(N', D')``.

        Examples
        --------
        >>> law = bs.laws.DataConstrained()
        >>> n_eff, d_eff = law.effective_inputs(15.4, 5.3, n=1e9, d=2e10, unique=5e9)
        >>> f"N' = {float(n_eff):.2g}, D' = {float(d_eff):.2g}"
        "N' = 8.2e+08, D' = 1.9e+10"
        """
        u_n = jnp.minimum(n, unique / self.tokens_per_param)
        return effective(u_n, n, r_n), effective(unique, d, r_d)

    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """Chinchilla's centred mean on ``N'`` and ``D'``."""
        ref = scale.log_ref
        n, d = jnp.exp(u["N"] + ref["N"]), jnp.exp(u["D"] + ref["D"])
        unique = jnp.exp(u["U"] + ref["U"])
        n_eff, d_eff = self.effective_inputs(
            jnp.exp(theta["log_R_D"]), jnp.exp(theta["log_R_N"]), n, d, unique
        )
        u_eff = {"N": jnp.log(n_eff) - ref["N"], "D": jnp.log(d_eff) - ref["D"]}
        return super().mean(theta, u_eff, scale)

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Chinchilla's natural parameters plus ``R_D`` and ``R_N`` (``R*_D``, ``R*_N``)."""
        out = super().to_natural(theta, scale)
        out["R_D"] = jnp.exp(theta["log_R_D"])
        out["R_N"] = jnp.exp(theta["log_R_N"])
        return out

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Inverse of :meth:`to_natural`."""
        out = super().from_natural(natural, scale)
        out["log_R_D"] = jnp.log(natural["R_D"])
        out["log_R_N"] = jnp.log(natural["R_N"])
        return out

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """Chinchilla's formula on ``N'`` and ``D'`` from raw inputs."""
        n_eff, d_eff = self.effective_inputs(natural["R_D"], natural["R_N"], x["N"], x["D"], x["U"])
        return super().natural_mean(natural, {"N": n_eff, "D": d_eff})
