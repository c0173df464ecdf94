r"""Extrapolation error: the law's own error, growing with the distance beyond the data.

A fitted law is only approximately right, and independent noise around it cannot say so:
backtests on real ladders (``benchmarks/backtests.py``) found medians within 1-2 % of held-out
runs but 90 % intervals that covered 14-66 % of them. Inside the data, misfit shows up in the
residuals; beyond it nothing in the fit measures it. This term adds, to every prediction, a
drift in log loss proportional to how far the point lies outside the fitted data,

.. math:: \delta(x) = s \, d(x), \qquad s = \tau z, \quad z \sim N(0, 1),
          \quad \tau \sim \text{HalfNormal}(\text{scale}),

where ``d(x)`` is the largest excess, in decades, of any input (``log10 N``, ``log10 D``,
``log10 C`` with ``C = k N D`` from the fit's training cost, or the law's own inputs) beyond
its range in the training data, and one ``s`` per posterior draw is shared by all points of a
prediction (a coherent drift of the curve, not independent jitter). Inside the data ``d = 0``:
the fit, its likelihood and LOO are unchanged; the term only widens extrapolations.

The scale is not learnable from one dataset (every training point has ``d = 0``); its default
was calibrated across datasets. On backtests of four public datasets (Epoch's Chinchilla
data, Gadre et al. 2024, Gemstones' IsoFLOP subsample and checkpoint curves), choosing the
scale by the interval score on the other datasets (leave one dataset out) gave 0.015-0.04
decade^-1; 0.03 is the default. See ``docs/calibration.md`` for the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from bayescale.cost import DEFAULT_COST, TrainingCost
from bayescale.laws.base import INPUTS, LINEAR_INPUTS

#: Default half-normal scale of the drift per decade of extrapolation (log-loss units).
DEFAULT_SCALE = 0.03

#: Inputs measured on a log10 axis: all but the linear ones and the upstream loss ``L``.
_LOG_AXES = tuple(k for k in INPUTS if k not in LINEAR_INPUTS and k != "L")


def axes(x: Mapping[str, object], cost: TrainingCost = DEFAULT_COST) -> dict[str, jnp.ndarray]:
    """Return the log10 axes of inputs ``x`` (adding ``C = k N D`` when only N and D are given)."""
    out = {k: jnp.log10(jnp.asarray(x[k], dtype=float)) for k in _LOG_AXES if k in x}
    if "C" not in out and "N" in out and "D" in out:
        out["C"] = jnp.log10(cost.k) + out["N"] + out["D"]
    if "L" in x:
        out["L"] = jnp.asarray(x["L"], dtype=float)
    return out


@dataclass(frozen=True)
class ExtrapolationError:
    """The extrapolation-error term of a fit: its scale and the data's range on every axis.

    Parameters
    ----------
    scale : float
        Half-normal scale of the drift rate ``tau`` (log loss per decade).
    ranges : dict
        ``{axis: (low, high)}`` of the training data on each axis (log10 units; raw loss for
        ``L``).
    cost : TrainingCost
        The fit's training cost, which places ``C = k N D`` on the compute axis.
    """

    scale: float
    ranges: Mapping[str, tuple[float, float]]
    cost: TrainingCost = DEFAULT_COST

    @classmethod
    def from_data(
        cls, x: Mapping[str, np.ndarray], scale: float, cost: TrainingCost = DEFAULT_COST
    ) -> ExtrapolationError:
        """Build the term from a training table's inputs."""
        ranges = {k: (float(jnp.min(v)), float(jnp.max(v))) for k, v in axes(x, cost).items()}
        return cls(float(scale), ranges, cost)

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        return {
            "scale": self.scale,
            "ranges": {k: list(v) for k, v in self.ranges.items()},
            "flops_per_param_token": self.cost.k,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> ExtrapolationError:
        """Inverse of :meth:`to_dict`."""
        cost = TrainingCost(float(d.get("flops_per_param_token", DEFAULT_COST.k)))
        return cls(float(d["scale"]), {k: tuple(v) for k, v in d["ranges"].items()}, cost)

    def distance(self, x: Mapping[str, object]) -> jnp.ndarray:
        """Largest excess (decades) of any input beyond the data's range; 0 inside it."""
        d = None
        for k, v in axes(x, self.cost).items():
            if k not in self.ranges:
                continue
            lo, hi = self.ranges[k]
            e = jnp.maximum(v - hi, 0.0) + jnp.maximum(lo - v, 0.0)
            d = e if d is None else jnp.maximum(d, e)
        return jnp.zeros(()) if d is None else d

    def rates(self, shape: tuple[int, ...], key: jax.Array) -> jnp.ndarray:
        """Drift rates ``s = tau z``, one per draw, shape ``shape`` (``(chain, draw)``)."""
        k1, k2 = jax.random.split(key)
        tau = self.scale * jnp.abs(jax.random.normal(k1, shape))
        return tau * jax.random.normal(k2, shape)

    def offset(self, x: Mapping[str, object], shape: tuple[int, int], key: jax.Array):
        """Draws ``(chain, draw, m)`` of the drift at inputs ``x`` (``m`` points)."""
        return self.rates(shape, key)[..., None] * self.distance(x)


__all__ = ["DEFAULT_SCALE", "ExtrapolationError", "axes"]
