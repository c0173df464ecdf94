r"""Extrapolation error: the law's own error beyond the data, learned from the ladder's record.

A fitted law is only approximately right, and independent noise around it cannot say so. Inside
the data, misfit shows up in the residuals; beyond it nothing in one fit measures it. This term
makes every prediction beyond the data uncertain in the way the backtests on real ladders asked
for: an *offset* that appears as soon as a point leaves the data, and a *growth* that is slow
(short extrapolations of public ladders were under-covered with their median biased; long ones
over-covered by a linear drift).

Each error is

.. math:: e(x) = \sigma_o \, \varphi(d) \, z_o + \sigma_g \sqrt{d} \, z_g,
          \qquad \varphi(d) = 1 - e^{-d / \ell},

where ``d(x)`` is the largest excess, in decades, of any input (``log10 N``, ``log10 D``,
``log10 C`` with ``C = k N D``, the tokens per parameter ``log10(D / N)``, or the law's own
inputs) beyond its range in the training data,
``ell`` = :data:`OFFSET_LENGTH` decades, and the ``z ~ N(0, 1)`` are drawn once per posterior
draw and prediction (a coherent error of the curve, not independent jitter; points below the
data get their own). Inside the data it is zero, so the fit, its likelihood and LOO are
unchanged. Where it acts depends on the ladder:

- ``mode="inputs"`` (a law of ``N`` and ``D`` fitted across a ladder of runs, extrapolated in
  compute): an error of the law's *effective inputs*. Beyond the data the law is evaluated at
  ``N 10^{e_N(x)}`` and ``D 10^{e_D(x)}``, one independent error per input. In log loss it is
  ``sum_k (d log L / d x_k) e_k``, in proportion to the law's sensitivity to each input: it
  shrinks as the law approaches its irreducible loss (where a constant error in log loss claims
  the same misfit with almost nothing left to fit), and it moves each draw's compute-optimal
  allocation by a bounded amount (``log10 N*`` by ``(p - 1) e_N + p e_D`` with ``N* ~ C^p``),
  so the frontier's ``N*`` band carries the law's form error. An error added to the loss either
  leaves ``N*`` untouched or, varying along the iso-FLOP curve, lets it wander by decades where
  that curve flattens.
- ``mode="learned"`` (training curves extrapolated along a run's tokens, one-input laws): an
  error of the log loss itself, ``log L + e(x)`` (misfit there is the schedule's and the
  curve's, not an allocation's).

The scales ``(sigma_o, sigma_g)`` are learned per fit (:mod:`bayescale.record`): the ladder's
own leave-future-out record (refits below a few cuts of the training data, predicting the
rest) weighed against a prior fitted across public ladders
(:data:`bayescale.record.PRIOR_FILE`, one prior per mode: decades of effective input, or log
loss); every posterior draw carries its own pair (``extrap_offset``, ``extrap_growth`` in the
posterior group).

``mode="fixed"`` keeps the earlier term for comparison: a drift ``s d(x)`` added to the log
loss, ``s = tau z``, ``tau ~ HalfNormal(scale)`` per decade.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from bayescale.cost import DEFAULT_COST, TrainingCost
from bayescale.laws.base import INPUTS, LINEAR_INPUTS

#: Half-normal scale of the fixed drift per decade of extrapolation (``mode="fixed"``).
DEFAULT_SCALE = 0.03
#: Decades over which the offset of a learned error builds up past the data's edge.
OFFSET_LENGTH = 0.05
#: Power of the distance in the growth term, ``g(d) = d ** GROWTH_POWER``.
GROWTH_POWER = 0.5
#: Correlation of the effective-input errors of ``N`` and ``D`` (``mode="inputs"``): 0, each
#: input its own error. The records' marginal likelihood leans to a negative one (errors that
#: trade parameters for tokens at a fixed compute); backtested at -0.8 and not adopted: the
#: frontier's bands held more measured minima, but the losses near the compute-optimal
#: allocation were under-covered (docs/calibration.md, "correlated errors of N and D").
INPUT_CORRELATION = 0.0
#: Decades within which a point at the data's edge counts as inside (float noise, not distance).
EDGE_TOLERANCE = 1e-9
#: Extrapolation-error modes: a learned error of the log loss, a learned error of the law's
#: effective inputs, or the fixed drift.
MODES = ("learned", "inputs", "fixed")
#: Posterior variables carrying every draw's scales of a learned error.
SCALE_SITES = ("extrap_offset", "extrap_growth")

#: Axis of the tokens per parameter ``log10(D / N)``: a run trained far longer (or shorter) for
#: its size than any in the data is beyond it, whatever its compute.
RATIO = "D/N"
#: Inputs measured on a log10 axis: all but the linear ones and the upstream loss ``L``.
_LOG_AXES = tuple(k for k in INPUTS if k not in LINEAR_INPUTS and k != "L")
#: Inputs whose effective value a learned error perturbs (decades; raw loss for ``L``).
PERTURBED = (*_LOG_AXES, "L")


def axes(x: Mapping[str, object], cost: TrainingCost = DEFAULT_COST) -> dict[str, jnp.ndarray]:
    """Return the log10 axes of inputs ``x``.

    Adds ``C = k N D`` when only N and D are given, and the tokens per parameter ``D/N``
    (:data:`RATIO`) whenever both are.
    """
    # numpy for a table's inputs (no dispatch per operation), jax where they are traced
    xp = jnp if any(isinstance(v, jax.Array) for v in x.values()) else np
    out = {k: xp.log10(xp.asarray(x[k], dtype=float)) for k in _LOG_AXES if k in x}
    if "C" not in out and "N" in out and "D" in out:
        out["C"] = xp.log10(cost.k) + out["N"] + out["D"]
    if "N" in out and "D" in out:  # tokens per parameter: leaving its range is extrapolating
        out[RATIO] = out["D"] - out["N"]
    if "L" in x:
        out["L"] = xp.asarray(x["L"], dtype=float)
    return out


def input_mixing(inputs: Sequence[str], rho: float | None = None) -> np.ndarray:
    """Return ``L`` with ``e = L z``: the perturbed inputs' errors from independent normals.

    The identity, but for ``D`` when ``N`` is perturbed too: ``e_D = rho z_N + sqrt(1 - rho^2)
    z_D`` (``rho`` default :data:`INPUT_CORRELATION`). A record's sensitivities ``J`` become
    ``J L``, so that ``J L L' J'`` is the error's variance in log loss.

    Examples
    --------
    >>> from bayescale.extrapolation import input_mixing
    >>> input_mixing(("N", "D"), rho=-0.6).round(2).tolist()
    [[1.0, 0.0], [-0.6, 0.8]]
    >>> input_mixing(("C",)).tolist()
    [[1.0]]
    """
    rho = INPUT_CORRELATION if rho is None else float(rho)
    mixing = np.eye(len(inputs))
    if "N" in inputs and "D" in inputs:
        n, d = list(inputs).index("N"), list(inputs).index("D")
        mixing[d, n], mixing[d, d] = rho, np.sqrt(1.0 - rho**2)
    return mixing


def offset_shape(d, length: float = OFFSET_LENGTH):
    """``phi(d) = 1 - exp(-d / length)``: how much of the offset a point ``d`` decades out has."""
    xp = jnp if isinstance(d, jax.Array) else np
    return -xp.expm1(-xp.asarray(d) / length)


def growth_shape(d, power: float = GROWTH_POWER):
    """``g(d) = d ** power``: the growth term's shape ``d`` decades out (``sqrt(d)``)."""
    xp = jnp if isinstance(d, jax.Array) else np
    return xp.sqrt(d) if power == 0.5 else xp.asarray(d) ** power


@dataclass(frozen=True)
class ExtrapolationError:
    """The extrapolation-error term of a fit: its mode and the data's range on every axis.

    Parameters
    ----------
    ranges : dict
        ``{axis: (low, high)}`` of the training data on each axis (log10 units; raw loss for
        ``L``).
    cost : TrainingCost
        The fit's training cost, which places ``C = k N D`` on the compute axis.
    mode : {"learned", "inputs", "fixed"}
        A learned offset and growth (scales read from the posterior draws) of the log loss
        (``"learned"``) or of the law's effective inputs (``"inputs"``), or the fixed linear
        drift.
    scale : float
        Half-normal scale of the fixed drift's rate per decade (``mode="fixed"``).
    """

    ranges: Mapping[str, tuple[float, float]]
    cost: TrainingCost = DEFAULT_COST
    mode: str = "learned"
    scale: float = DEFAULT_SCALE

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode={self.mode!r}; choose one of {list(MODES)}.")

    @classmethod
    def from_data(
        cls,
        x: Mapping[str, np.ndarray],
        mode: str = "learned",
        scale: float = DEFAULT_SCALE,
        cost: TrainingCost = DEFAULT_COST,
    ) -> ExtrapolationError:
        """Build the term from a training table's inputs."""
        ranges = {k: (float(np.min(v)), float(np.max(v))) for k, v in axes(x, cost).items()}
        return cls(ranges, cost, mode, float(scale))

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        return {
            "mode": self.mode,
            "scale": self.scale,
            "ranges": {k: list(v) for k, v in self.ranges.items()},
            "flops_per_param_token": self.cost.k,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> ExtrapolationError:
        """Inverse of :meth:`to_dict` (a term written before modes existed is ``"fixed"``)."""
        cost = TrainingCost(float(d.get("flops_per_param_token", DEFAULT_COST.k)))
        ranges = {k: tuple(v) for k, v in d["ranges"].items()}
        return cls(ranges, cost, d.get("mode", "fixed"), float(d.get("scale", DEFAULT_SCALE)))

    def distances(self, x: Mapping[str, object]) -> tuple[jnp.ndarray, jnp.ndarray]:
        """Return the largest excess (decades) of any input above and below the data; 0 inside."""
        up = down = None
        for k, v in axes(x, self.cost).items():
            if k not in self.ranges:
                continue
            lo, hi = self.ranges[k]
            # the edge itself is inside: the range and a row's axis may come from different
            # log10 implementations (numpy's, XLA's), which differ in the last bits
            above = jnp.maximum(v - hi - EDGE_TOLERANCE, 0.0)
            below = jnp.maximum(lo - v - EDGE_TOLERANCE, 0.0)
            up = above if up is None else jnp.maximum(up, above)
            down = below if down is None else jnp.maximum(down, below)
        zero = jnp.zeros(())
        return (zero if up is None else up), (zero if down is None else down)

    def distance(self, x: Mapping[str, object]) -> jnp.ndarray:
        """Return the largest excess (decades) of any input beyond the data's range, either side."""
        up, down = self.distances(x)
        return jnp.maximum(up, down)

    def draw(
        self, posterior: Mapping[str, object], shape: tuple[int, ...], key: jax.Array
    ) -> dict[str, jnp.ndarray]:
        """Draw every posterior draw's error parameters for one prediction, each ``shape``.

        Learned: the draw's scales and four standard normals (offset and growth, above and
        below the data), for every input of :data:`PERTURBED` in mode ``"inputs"``. Fixed: one
        drift rate ``tau z`` per draw.
        """
        if self.mode == "fixed":
            k1, k2 = jax.random.split(key)
            tau = self.scale * jnp.abs(jax.random.normal(k1, shape))
            return {"rate": tau * jax.random.normal(k2, shape)}
        inputs = len(PERTURBED) if self.mode == "inputs" else 1
        z = jax.random.normal(key, (inputs, 4, *shape))
        return {
            "offset": jnp.asarray(posterior[SCALE_SITES[0]]),
            "growth": jnp.asarray(posterior[SCALE_SITES[1]]),
            "z": z,
        }

    def offset(
        self, state: Mapping[str, jnp.ndarray], x: Mapping[str, object], per_draw
    ) -> jnp.ndarray:
        """Return the error added to the log loss at ``x`` (modes ``"learned"``, ``"fixed"``).

        Laid out ``(chain, draw, point, ...)``; ``per_draw(v)`` reshapes a per-draw array to
        broadcast against that layout.
        """
        up, down = self.distances(x)
        if self.mode == "fixed":
            return per_draw(state["rate"]) * jnp.maximum(up, down)
        return self._error(state, up, down, state["z"][0], per_draw)

    @staticmethod
    def _error(state, up, down, z, per_draw) -> jnp.ndarray:
        """``sigma_o phi(d) z_o + sigma_g g(d) z_g`` above and below the data."""
        so, sg = per_draw(state["offset"]), per_draw(state["growth"])
        return (
            so * offset_shape(up) * per_draw(z[0])
            + sg * growth_shape(up) * per_draw(z[1])
            + so * offset_shape(down) * per_draw(z[2])
            + sg * growth_shape(down) * per_draw(z[3])
        )

    def effective_inputs(
        self,
        state: Mapping[str, jnp.ndarray],
        x: Mapping[str, object],
        inputs: tuple[str, ...],
        per_draw,
        at: Mapping[str, object] | None = None,
    ) -> dict[str, jnp.ndarray]:
        """Return the law's ``inputs`` at ``x`` shifted by a learned error (``mode="inputs"``).

        Each input ``k`` read by the law becomes ``x_k 10^{e_k}`` (``x_L + e_L`` for a loss),
        laid out ``(chain, draw, point, ...)``; the other entries of ``x`` are returned as given.
        ``at`` (default ``x``) are the inputs whose distance past the data sizes the error: the
        frontier passes the budget alone, so that one error holds along its iso-FLOP curve.
        """
        up, down = self.distances(x if at is None else at)
        out = dict(x)
        z = state["z"]
        for k in inputs:
            if k not in PERTURBED:
                continue
            zk = z[PERTURBED.index(k)]
            if k == "D" and "N" in inputs and INPUT_CORRELATION != 0.0:  # input_mixing's L
                rho = INPUT_CORRELATION
                zk = rho * z[PERTURBED.index("N")] + np.sqrt(1.0 - rho**2) * zk
            err = self._error(state, up, down, zk, per_draw)
            value = jnp.asarray(x[k], dtype=float)
            out[k] = value + err if k == "L" else value * 10.0**err
        return out

    def variance(self, d, offset_sd, growth_sd):
        """Return the variance ``sigma_o^2 phi(d)^2 + sigma_g^2 g(d)^2`` of one input at ``d``.

        In log loss, multiply by the squared sensitivity ``sum_k (d log L / d x_k)^2``.
        """
        return (offset_sd * offset_shape(d)) ** 2 + (growth_sd * growth_shape(d)) ** 2


__all__ = [
    "DEFAULT_SCALE",
    "GROWTH_POWER",
    "INPUT_CORRELATION",
    "MODES",
    "OFFSET_LENGTH",
    "PERTURBED",
    "RATIO",
    "SCALE_SITES",
    "ExtrapolationError",
    "axes",
    "growth_shape",
    "input_mixing",
    "offset_shape",
]
