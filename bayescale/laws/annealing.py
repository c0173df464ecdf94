"""Loss curves under a learning-rate schedule (Tissue et al. 2024)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pandas as pd

from bayescale import arguments
from bayescale.errors import DataError
from bayescale.laws.base import Array, Law, Parameter, Scale, irreducible_loss


def schedule_areas(lr: np.ndarray, decay: float = 0.999) -> tuple[np.ndarray, np.ndarray]:
    """Forward area ``S1`` and annealing area ``S2`` after every step of a schedule.

    ``lr[i]`` is the learning rate of step ``i + 1``. ``S1(s) = sum_{i<=s} lr_i``;
    ``S2(s) = sum_{i<=s} m_i`` with the momentum ``m_i = decay m_{i-1} + (lr_{i-1} - lr_i)``
    (Tissue et al. 2024, eq. 4). The initial warm-up (the steps before the schedule first
    reaches its peak) does not count towards ``S2``, as in the paper; a later re-warming does,
    negatively.

    Parameters
    ----------
    lr : array
        The learning rate of each step, non-negative.
    decay : float
        Momentum ``lambda`` of the annealing area, in ``[0, 1)``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(S1, S2)`` after each step, of the length of ``lr``.

    Examples
    --------
    >>> lr = bs.simulate.cosine_schedule(steps=2000, warmup=100, peak=3e-4)
    >>> s1, s2 = bs.laws.schedule_areas(lr)
    >>> s1.shape, round(float(s1[-1]), 3), round(float(s2[-1]), 3)
    ((2000,), 0.329, 0.156)
    """
    try:
        lr = np.asarray(lr, dtype=float)
    except (TypeError, ValueError):  # text, or a ragged list
        lr = np.array([np.nan])
    if lr.ndim != 1 or lr.size == 0 or np.any(~np.isfinite(lr)) or np.any(lr < 0):
        raise DataError("schedule_areas: lr must be a non-empty 1-D array of finite values >= 0.")
    try:
        decay = arguments.finite(decay, "decay")
    except ValueError as e:
        raise DataError(f"schedule_areas: {e}") from None
    if not 0.0 <= decay < 1.0:
        raise DataError(f"schedule_areas: decay={decay!r} must be in [0, 1).")
    drop = np.concatenate([[0.0], lr[:-1] - lr[1:]])
    drop[: int(np.argmax(lr)) + 1] = 0.0
    m = np.empty_like(lr)
    acc = 0.0
    for i, v in enumerate(drop):
        acc = decay * acc + v
        m[i] = acc
    return np.cumsum(lr), np.cumsum(m)


def add_schedule_areas(
    df: pd.DataFrame,
    lr: np.ndarray | Mapping[object, np.ndarray],
    step: str = "step",
    run: str | None = None,
    decay: float = 0.999,
) -> pd.DataFrame:
    """Return ``df`` with columns ``lr_area`` (S1) and ``anneal_area`` (S2) at each row's step.

    Parameters
    ----------
    df : pandas.DataFrame
        Checkpoints with a ``step`` column (1-based optimiser steps).
    lr : array or dict
        The per-step learning rate (``lr[i]`` for step ``i + 1``), or ``{run label: schedule}``
        when runs have different schedules (then give ``run``).
    step, run : str
        Column names (``run`` needed with a schedule per run; with one schedule, every row
        follows it).
    decay : float
        Momentum ``lambda`` of the annealing area (the paper's default 0.999).

    Examples
    --------
    >>> lr = bs.simulate.cosine_schedule(steps=2000)
    >>> ckpts = pd.DataFrame({"step": [500, 1000, 1500, 2000]})
    >>> ckpts = bs.laws.add_schedule_areas(ckpts, lr)
    >>> ckpts.columns.tolist()
    ['step', 'lr_area', 'anneal_area']
    >>> ckpts["anneal_area"].round(3).tolist()
    [0.004, 0.032, 0.091, 0.156]

    Runs with different schedules: one per run label, and the run column.

    >>> two = pd.DataFrame({"run": ["cos", "cos", "short"], "step": [500, 1000, 500]})
    >>> schedules = {"cos": lr, "short": bs.simulate.cosine_schedule(steps=1000)}
    >>> bs.laws.add_schedule_areas(two, schedules, run="run")["lr_area"].round(3).tolist()
    [0.131, 0.245, 0.119]
    """
    if step not in df:
        raise DataError(f"add_schedule_areas: column {step!r} (step) is missing.")
    out = df.copy()
    schedules = lr if isinstance(lr, Mapping) else {None: lr}
    if isinstance(lr, Mapping) and (run is None or run not in df):
        raise DataError("add_schedule_areas: a schedule per run needs the run column (run=).")
    if run is not None and run not in df:  # one schedule for every run: run= read nowhere
        raise DataError(
            f"add_schedule_areas: run={run!r} is not a column of the table (it has "
            f"{list(df.columns)}); name the run column, or leave run out when every row "
            "follows the one schedule given."
        )
    s1 = np.full(len(df), np.nan)
    s2 = np.full(len(df), np.nan)
    for label, sched in schedules.items():
        mask = np.ones(len(df), bool) if label is None else (df[run] == label).to_numpy()
        who = "the steps" if label is None else f"the steps of run {label!r}"
        steps = pd.to_numeric(df.loc[mask, step], errors="coerce").to_numpy(float)
        if np.isnan(steps).any():  # text, or empty cells
            raise DataError(
                f"add_schedule_areas: column {step!r} (step) must hold whole numbers of "
                f"optimiser steps; {who} include other values."
            )
        a1, a2 = schedule_areas(sched, decay)
        if np.any(steps < 1) or np.any(steps > a1.size) or np.any(steps != np.round(steps)):
            raise DataError(
                f"add_schedule_areas: {who} must be integers in [1, {a1.size}] "
                "(the schedule's length)."
            )
        s1[mask], s2[mask] = a1[steps.astype(int) - 1], a2[steps.astype(int) - 1]
    if np.isnan(s1).any():
        missing = sorted(set(df.loc[np.isnan(s1), run]), key=str)[:5]
        keys = list(schedules)
        alike = [(k, m) for m in missing for k in keys if str(k) == str(m)]  # "1" against 1
        raise DataError(
            f"add_schedule_areas: no schedule for run(s) {missing}; the schedules are keyed "
            f"{keys[:5]}{' ...' if len(keys) > 5 else ''}"
            + (
                f": the key {alike[0][0]!r} ({type(alike[0][0]).__name__}) and the label "
                f"{alike[0][1]!r} ({type(alike[0][1]).__name__}) differ in type; key the "
                "schedules as the column's labels are."
                if alike
                else ": give each run's schedule."
            ),
            column=run,
        )
    out["lr_area"], out["anneal_area"] = s1, s2
    return out


@dataclass(frozen=True)
class AnnealingLaw(Law):
    r"""Loss curve with learning-rate annealing ``L(s) = L0 + A S1^-alpha - C S2``.

    Tissue et al., *Scaling Law with Learning Rate Annealing*, 2024 (arXiv:2408.11029), eq. 1:
    ``S1`` is the forward area (summed learning rate) and ``S2`` the annealing area (summed
    momentum of learning-rate decreases); compute both per checkpoint with
    :func:`add_schedule_areas` (columns ``lr_area`` and ``anneal_area``).

    Sampled as ``exp(log L0) + exp(a - alpha (log S1 - log S1_0)) - exp(log C) S2 / S1_0`` with
    ``S1_0`` the geometric mean of ``S1`` over the data, so ``A = exp(a + alpha log S1_0)`` and
    ``C = exp(log C) / S1_0``.

    Default priors: ``log L0`` as the irreducible loss, ``a ~ Normal(log(0.25 loss), 1.5)``,
    ``log alpha ~ Normal(log 0.5, 0.7)``, ``log C ~ Normal(log(0.1 loss), 1.5)``.

    Parameters
    ----------
    priors : dict, optional
        Prior overrides by sampled name (``"log_L0"``, ``"a"``, ``"log_alpha"``, ``"log_C"``).

    Examples
    --------
    Checkpoints of a cosine schedule, whose annealing area ``S2`` grows as the rate decays:

    >>> lr = bs.simulate.cosine_schedule(steps=2000)
    >>> ckpts = bs.laws.add_schedule_areas(pd.DataFrame({"step": [500, 1000, 1500, 2000]}), lr)
    >>> law = bs.laws.AnnealingLaw()
    >>> natural = {"L0": 2.5, "A": 0.3, "alpha": 0.5, "C": 2.0}
    >>> x = {"S1": ckpts["lr_area"].to_numpy(), "S2": ckpts["anneal_area"].to_numpy()}
    >>> np.round(law.natural_mean(natural, x), 2).tolist()
    [3.32, 3.04, 2.86, 2.71]
    """

    name: ClassVar[str] = "annealing"
    inputs: ClassVar[tuple[str, ...]] = ("S1", "S2")
    natural_names: ClassVar[tuple[str, ...]] = ("L0", "A", "alpha", "C")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter(
            "log_L0",
            "L0",
            irreducible_loss().prior,
            0.3,
            "log of the loss the curve approaches with unlimited forward area",
        ),
        Parameter(
            "a",
            "A",
            lambda s: dist.Normal(jnp.log(0.25 * s.loss), 1.5),
            0.5,
            "log of the power-law term at the reference area S1_0",
        ),
        Parameter(
            "log_alpha",
            "alpha",
            lambda s: dist.Normal(jnp.log(0.5), 0.7),
            0.2,
            "log of the exponent of the forward area",
        ),
        Parameter(
            "log_C",
            "C",
            lambda s: dist.Normal(jnp.log(0.1 * s.loss), 1.5),
            0.5,
            "log of the annealing coefficient times S1_0",
        ),
    )

    def centre(self, x: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """``log S1 - log S1_0`` and ``S2 / S1_0`` (the annealing area enters linearly)."""
        ref = scale.log_ref["S1"]
        return {
            "S1": jnp.log(jnp.asarray(x["S1"])) - ref,
            "S2": jnp.asarray(x["S2"]) / jnp.exp(ref),
        }

    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """Centred mean (see the class docstring).

        The linear annealing term can make the formula negative far outside the data (a very
        long anneal with a large ``C``); the mean is floored at ``L0 / 10`` there so that it
        stays a loss.
        """
        floor = jnp.exp(theta["log_L0"])
        mean = (
            floor
            + jnp.exp(theta["a"] - jnp.exp(theta["log_alpha"]) * u["S1"])
            - jnp.exp(theta["log_C"]) * u["S2"]
        )
        return jnp.maximum(mean, 0.1 * floor)

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Return ``L0, A, alpha, C``."""
        ref = scale.log_ref["S1"]
        alpha = jnp.exp(theta["log_alpha"])
        return {
            "L0": jnp.exp(theta["log_L0"]),
            "A": jnp.exp(theta["a"] + alpha * ref),
            "alpha": alpha,
            "C": jnp.exp(theta["log_C"] - ref),
        }

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Inverse of :meth:`to_natural`."""
        ref = scale.log_ref["S1"]
        alpha = jnp.asarray(natural["alpha"])
        return {
            "log_L0": jnp.log(natural["L0"]),
            "a": jnp.log(natural["A"]) - alpha * ref,
            "log_alpha": jnp.log(alpha),
            "log_C": jnp.log(natural["C"]) + ref,
        }

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """``L0 + A S1^-alpha - C S2`` on raw areas."""
        return natural["L0"] + natural["A"] * x["S1"] ** -natural["alpha"] - natural["C"] * x["S2"]
