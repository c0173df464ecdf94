"""Laws whose input is a loss: downstream-metric links and loss-to-loss laws."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from bayescale import arguments
from bayescale.laws.base import Array, Law, Parameter, Scale, irreducible_loss


class _LossInput(Law):
    """Mixin: the input ``L`` (column ``upstream_loss``) enters on its own scale, not logged."""

    def centre(self, x: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Return the raw upstream loss."""
        return {"L": jnp.asarray(x["L"])}


@dataclass(frozen=True)
class SigmoidLink(_LossInput):
    r"""Accuracy from loss by a scaled sigmoid.

    ``acc(L) = floor + (1 - floor) * ceiling * sigmoid(-k (L - L_mid))``: chance accuracy
    ``floor`` (fixed: 0.25 for four-way multiple choice) when the loss is high, rising to
    ``floor + (1 - floor) ceiling`` as it falls, with the steepest rise at ``L_mid``. The form
    is the one used to predict downstream accuracy from a task loss in Bhagia et al. 2024
    (arXiv:2412.04403, eq. 2) and Gadre et al. 2024's appendix; the metric stays inside
    ``(floor, 1)``. Fit it with ``Model(scale="logit")`` so the noise respects the bounds too.

    Default priors: ``logit ceiling ~ Normal(2, 1.5)``, ``log k ~ Normal(log 3, 1)``,
    ``L_mid ~ Normal(L_ref, 1)`` with ``L_ref`` the geometric mean of the input loss.

    Parameters
    ----------
    floor : float
        Chance-level accuracy, in ``[0, 1)``.
    priors : dict, optional
        Prior overrides by sampled name.

    Examples
    --------
    Four-way multiple-choice accuracy against the task loss:

    >>> law = bs.laws.SigmoidLink(floor=0.25)
    >>> natural = {"ceiling": 0.9, "k": 3.0, "L_mid": 3.0}
    >>> np.round(law.natural_mean(natural, {"L": np.array([2.5, 3.0, 3.5])}), 2).tolist()
    [0.8, 0.59, 0.37]
    >>> model = bs.Model(law, scale="logit")  # fitted on the logit of the accuracy
    """

    floor: float = 0.0
    name: ClassVar[str] = "sigmoid_link"
    share: ClassVar[bool] = True
    inputs: ClassVar[tuple[str, ...]] = ("L",)
    natural_names: ClassVar[tuple[str, ...]] = ("ceiling", "k", "L_mid")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter(
            "logit_ceiling",
            "ceiling",
            lambda s: dist.Normal(2.0, 1.5),
            0.5,
            "logit of the fraction of the range above chance reached at zero loss",
        ),
        Parameter("log_k", "k", lambda s: dist.Normal(jnp.log(3.0), 1.0), 0.3, "log steepness"),
        Parameter(
            "L_mid",
            "L_mid",
            lambda s: dist.Normal(jnp.exp(s.log_ref["L"]), 1.0),
            0.2,
            "the loss at the steepest point",
        ),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            floor = arguments.finite(self.floor, "floor")
        except ValueError as e:
            raise ValueError(f"SigmoidLink: {e}") from None
        if not 0.0 <= floor < 1.0:
            raise ValueError(f"SigmoidLink: floor={self.floor!r} must be in [0, 1).")

    def config(self) -> dict:
        """Return ``{"floor": floor}``."""
        return {"floor": float(self.floor)}

    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """Evaluate the sigmoid link on the raw upstream loss."""
        return self.natural_mean(self.to_natural(theta, scale), u)

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Return ``ceiling, k, L_mid``."""
        return {
            "ceiling": jax.nn.sigmoid(theta["logit_ceiling"]),
            "k": jnp.exp(theta["log_k"]),
            "L_mid": theta["L_mid"],
        }

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Inverse of :meth:`to_natural`."""
        c = jnp.asarray(natural["ceiling"])
        return {
            "logit_ceiling": jnp.log(c) - jnp.log1p(-c),
            "log_k": jnp.log(natural["k"]),
            "L_mid": jnp.asarray(natural["L_mid"]),
        }

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """``floor + (1 - floor) ceiling sigmoid(-k (L - L_mid))``."""
        s = jax.nn.sigmoid(-natural["k"] * (jnp.asarray(x["L"]) - natural["L_mid"]))
        return self.floor + (1.0 - self.floor) * natural["ceiling"] * s


@dataclass(frozen=True)
class ExponentialLink(_LossInput):
    r"""Gadre et al.'s link from loss to downstream error, ``Err(L) = epsilon - k exp(-gamma L)``.

    Gadre et al., *Language models scale reliably with over-training and on downstream
    tasks*, 2024 (arXiv:2403.08540), eq. 5: the average top-1 error rises towards ``epsilon``
    (chance-level error) as the loss grows. Sampled through the loss ``L0`` at which the error
    would reach zero: ``Err = epsilon (1 - exp(-gamma (L - L0)))``, ``k = epsilon
    exp(gamma L0)``, with ``L0 = L_min - exp(log_gap)`` below the smallest loss in the data so
    that the error stays in ``(0, epsilon)`` there; further out it is floored just above 0 so a
    prediction never leaves ``(0, 1)``. Fit it with ``Model(scale="logit")``.

    Default priors: ``logit epsilon ~ Normal(logit 0.75, 1)``, ``log gamma ~ Normal(0, 1)``,
    ``log_gap ~ Normal(0, 1)`` (in loss units).

    Parameters
    ----------
    priors : dict, optional
        Prior overrides by sampled name (``"logit_epsilon"``, ``"log_gamma"``, ``"log_gap"``).

    Examples
    --------
    An error rate that reaches 0 at loss 2 and chance (0.75) at high loss:

    >>> law = bs.laws.ExponentialLink()
    >>> natural = {"epsilon": 0.75, "k": 0.75 * np.exp(2.0), "gamma": 1.0}
    >>> np.round(law.natural_mean(natural, {"L": np.array([2.5, 3.0, 4.0])}), 2).tolist()
    [0.3, 0.47, 0.65]
    >>> model = bs.Model(law, scale="logit")
    """

    name: ClassVar[str] = "exponential_link"
    share: ClassVar[bool] = True
    inputs: ClassVar[tuple[str, ...]] = ("L",)
    natural_names: ClassVar[tuple[str, ...]] = ("epsilon", "k", "gamma")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter(
            "logit_epsilon",
            "epsilon",
            lambda s: dist.Normal(jnp.log(3.0), 1.0),
            0.3,
            "logit of the error the link approaches at high loss",
        ),
        Parameter(
            "log_gamma", "gamma", lambda s: dist.Normal(0.0, 1.0), 0.3, "log of the rate gamma"
        ),
        Parameter(
            "log_gap",
            "L0",
            lambda s: dist.Normal(0.0, 1.0),
            0.3,
            "log of how far below the smallest observed loss the error would reach zero",
        ),
    )

    def _l0(self, theta: Mapping[str, Array], scale: Scale) -> Array:
        return scale.x_min["L"] - jnp.exp(theta["log_gap"])

    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """``epsilon (1 - exp(-gamma (L - L0)))``, floored just above zero."""
        eps = jax.nn.sigmoid(theta["logit_epsilon"])
        gap = jnp.maximum(jnp.asarray(u["L"]) - self._l0(theta, scale), 1e-6)
        return eps * -jnp.expm1(-jnp.exp(theta["log_gamma"]) * gap)

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Return ``epsilon, k, gamma``."""
        eps = jax.nn.sigmoid(theta["logit_epsilon"])
        gamma = jnp.exp(theta["log_gamma"])
        return {"epsilon": eps, "k": eps * jnp.exp(gamma * self._l0(theta, scale)), "gamma": gamma}

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Inverse of :meth:`to_natural` (needs ``L0 < scale.x_min["L"]``)."""
        eps, gamma = jnp.asarray(natural["epsilon"]), jnp.asarray(natural["gamma"])
        l0 = jnp.log(natural["k"] / eps) / gamma
        return {
            "logit_epsilon": jnp.log(eps) - jnp.log1p(-eps),
            "log_gamma": jnp.log(gamma),
            "log_gap": jnp.log(scale.x_min["L"] - l0),
        }

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """``epsilon - k exp(-gamma L)``."""
        return natural["epsilon"] - natural["k"] * jnp.exp(-natural["gamma"] * jnp.asarray(x["L"]))


@dataclass(frozen=True)
class LossToLoss(_LossInput):
    r"""Loss-to-loss law ``L_y = K (L_x - E_x)^kappa + E_y``.

    Brandfonbrener et al., *Loss-to-Loss Prediction: Scaling Laws for All Datasets*, 2024
    (arXiv:2411.12925), eq. 3: a shifted power law maps the loss on one distribution
    (input ``L``, column ``upstream_loss``) to the loss on another (the ``loss`` column), with
    ``E_x``, ``E_y`` the irreducible losses of each.

    Sampled as ``exp(log E_y) + exp(k + kappa log((L_x - E_x) / L_ref))`` with
    ``E_x = L_min sigmoid(logit_Ex)`` kept below the smallest input loss ``L_min`` and
    ``L_ref`` the geometric mean of the input loss; ``K = exp(k) L_ref^-kappa``.

    Default priors: ``log E_y`` as the irreducible loss, ``logit_Ex ~ Normal(0, 1.5)``,
    ``k ~ Normal(log(0.5 loss), 1.5)``, ``log kappa ~ Normal(0, 0.5)``.

    Parameters
    ----------
    priors : dict, optional
        Prior overrides by sampled name (``"log_Ey"``, ``"logit_Ex"``, ``"k"``, ``"log_kappa"``).

    Examples
    --------
    The loss on a held-out set from the loss on the training distribution:

    >>> law = bs.laws.LossToLoss()
    >>> natural = {"E_y": 1.5, "E_x": 1.6, "K": 1.2, "kappa": 1.1}
    >>> np.round(law.natural_mean(natural, {"L": np.array([2.5, 3.0, 3.5])}), 2).tolist()
    [2.57, 3.24, 3.93]
    >>> model = bs.Model(law)  # reads the upstream_loss column as its input
    """

    name: ClassVar[str] = "loss_to_loss"
    inputs: ClassVar[tuple[str, ...]] = ("L",)
    natural_names: ClassVar[tuple[str, ...]] = ("E_y", "E_x", "K", "kappa")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("log_Ey", "E_y", irreducible_loss().prior, 0.3, "log irreducible output loss"),
        Parameter(
            "logit_Ex",
            "E_x",
            lambda s: dist.Normal(0.0, 1.5),
            0.3,
            "logit of the irreducible input loss as a fraction of the smallest input loss",
        ),
        Parameter(
            "k",
            "K",
            lambda s: dist.Normal(jnp.log(0.5 * s.loss), 1.5),
            0.5,
            "log of the reducible output loss at the reference input loss",
        ),
        Parameter("log_kappa", "kappa", lambda s: dist.Normal(0.0, 0.5), 0.2, "log exponent"),
    )

    def _ex(self, theta: Mapping[str, Array], scale: Scale) -> Array:
        return scale.x_min["L"] * jax.nn.sigmoid(theta["logit_Ex"])

    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """Centred loss-to-loss mean (see the class docstring)."""
        gap = jnp.maximum(jnp.asarray(u["L"]) - self._ex(theta, scale), 1e-9)
        kappa = jnp.exp(theta["log_kappa"])
        return jnp.exp(theta["log_Ey"]) + jnp.exp(
            theta["k"] + kappa * (jnp.log(gap) - scale.log_ref["L"])
        )

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Return ``E_y, E_x, K, kappa``."""
        kappa = jnp.exp(theta["log_kappa"])
        return {
            "E_y": jnp.exp(theta["log_Ey"]),
            "E_x": self._ex(theta, scale),
            "K": jnp.exp(theta["k"] - kappa * scale.log_ref["L"]),
            "kappa": kappa,
        }

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Inverse of :meth:`to_natural` (needs ``0 < E_x < scale.x_min["L"]``)."""
        kappa = jnp.asarray(natural["kappa"])
        frac = jnp.asarray(natural["E_x"]) / scale.x_min["L"]
        return {
            "log_Ey": jnp.log(natural["E_y"]),
            "logit_Ex": jnp.log(frac) - jnp.log1p(-frac),
            "k": jnp.log(natural["K"]) + kappa * scale.log_ref["L"],
            "log_kappa": jnp.log(kappa),
        }

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """``K (L_x - E_x)^kappa + E_y``."""
        return (
            natural["K"] * (jnp.asarray(x["L"]) - natural["E_x"]) ** natural["kappa"]
            + (natural["E_y"])
        )
