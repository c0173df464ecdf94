"""Backtest of the compute-optimal frontier on a ladder laid out in iso-FLOP profiles.

A loss backtest (:func:`bayescale.calibration.backtest`) asks whether the predictive covers the
losses of runs past the data. That does not say whether the frontier's allocation can be
trusted: near the compute-optimal allocation the loss hardly changes along an iso-FLOP curve,
so a law can predict every loss well and still misplace ``N*``. This backtest asks the
allocation's own question on a ladder whose budgets were each trained as a profile of several
sizes (Hoffmann et al.'s Approach 2): fit below a compute cut, and compare each held-out
profile's measured minimum (:func:`bayescale.isoflop.isoflop_minima`) with

- the fit's ``N*`` band at the profile's budget (:func:`bayescale.frontier.frontier`: the law's
  optimum with its parameters' uncertainty, and, under the default learned error of the law's
  effective inputs, its extrapolation error's), and
- the predictive of the measurement itself
  (:func:`bayescale.decisions.predicted_isoflop_minima`: the parabola fitted to every posterior
  predictive draw of the profile's runs, which adds the measurement's own scatter).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayescale import arguments
from bayescale.calibration import fit_noting_warnings
from bayescale.data import DEFAULT_COLUMNS
from bayescale.decisions import predicted_isoflop_minima
from bayescale.defaults import PROB
from bayescale.errors import DataError, SpecificationError
from bayescale.frontier import frontier
from bayescale.isoflop import PARABOLA_BIAS, isoflop_minima, profiles
from bayescale.model import Model, require_model

#: Bracketed profiles a fit keeps below the cut, at the least.
MIN_TRAIN_PROFILES = 2
#: Profiles held out by default, where the ladder has enough.
DEFAULT_HELD_OUT = (2, 4)


def _held_out_counts(held_out: int | Sequence[int] | None, n_profiles: int) -> list[int]:
    """Validate ``held_out`` against the ladder's ``n_profiles`` bracketed profiles."""
    if held_out is None:  # the default counts this ladder allows (at least the smallest)
        allowed = [k for k in DEFAULT_HELD_OUT if n_profiles - k >= MIN_TRAIN_PROFILES]
        held_out = allowed or DEFAULT_HELD_OUT[:1]
    counts = arguments.counts(held_out, "held_out", "(2, 4)")  # a repeat would be dropped
    if n_profiles < MIN_TRAIN_PROFILES + 1:
        raise DataError(
            f"The table has {n_profiles} iso-FLOP profile(s) with a measured minimum (runs of one "
            "budget at several sizes whose lowest loss is not at either end); a frontier "
            f"backtest needs at least {MIN_TRAIN_PROFILES + 1}: {MIN_TRAIN_PROFILES} to fit below "
            "the cut and one to hold out. Use a split of the losses instead (by compute or size)."
        )
    for k in counts:
        if n_profiles - k < MIN_TRAIN_PROFILES:
            problem = (
                f"leaves {max(n_profiles - k, 0)} profile(s) with a measured minimum below the "
                f"cut, and a fit needs {MIN_TRAIN_PROFILES}; the ladder has {n_profiles} such "
                f"profiles, so hold out at most {n_profiles - MIN_TRAIN_PROFILES}."
            )
            raise DataError(f"held_out={k} {problem}", command_line=f"--held-out {k} {problem}")
    return sorted(counts)


def frontier_backtest(
    model: Model,
    runs: pd.DataFrame,
    held_out: int | Sequence[int] | None = None,
    prob: float = PROB,
    budget: str | None = None,
    decimals: int | None = None,
    min_points: int = 4,
    rng_seed: int = 0,
    **fit_kwargs: Any,
) -> pd.DataFrame:
    """Fit below a compute cut and score the frontier on the measured minima above it.

    For each count ``k`` in ``held_out``, the top ``k`` profiles that measure a minimum (a
    convex parabola with its vertex inside the sampled sizes) are held out with every run at or
    above the lowest of their budgets (a profile there that brackets no minimum is held out
    too, but not scored: it measured nothing). The model is fitted on the runs below, and each
    held-out minimum is compared with the fit's ``N*`` band at its budget and with the
    predictive band of what its profile measures.

    Parameters
    ----------
    model : Model
        The model to check: a law of ``N`` and ``D`` without group effects (the profiles of
        one population; backtest one family at a time).
    runs : pandas.DataFrame
        The ladder, laid out in iso-FLOP profiles (the model's ``params``, ``tokens`` and
        ``loss`` columns).
    held_out : int or sequence of int, optional
        How many of the top profiles with a measured minimum to hold out, one backtest per
        count. At least two such profiles must remain below each cut. Default: the top 2 and
        the top 4, or only the top 2 where the ladder has fewer than six such profiles.
    prob : float
        Probability of the central bands.
    budget : str, optional
        Column identifying each profile; by default compute rounded to ``decimals``, as in
        :func:`bayescale.isoflop.isoflop_minima`.
    decimals : int, optional
        Rounding of log10 compute that defines a profile (default 1); not with ``budget``.
    min_points : int
        Runs a profile needs for its parabola; at least 3, else a ``ValueError``.
    rng_seed : int
        Seed of the frontier's and the predictive's draws.
    **fit_kwargs
        Passed to :meth:`Model.fit` (``chains``, ``draws``, ``method``, ``seed``...).

    Returns
    -------
    pandas.DataFrame
        One row per held-out profile of each count: ``held_out``, ``n_train`` (runs fitted),
        ``fit_ok`` (the fit passed its diagnostics), ``fit_warnings`` (what they warned of) and
        ``data_warnings`` (what the checks of the fitted rows warned of; both empty when nothing),
        ``profile``, ``compute``, ``distance`` (decades of compute past the largest fitted run), the
        measured ``N_opt`` and ``tokens_per_param``; the fit's median ``N_star`` with its band
        (``N_star_lo``, ``N_star_hi``), ``inside`` (the measured minimum in that band) and
        ``error_decades`` (``log10(N_opt / N_star)``); the predictive band of the measured minimum
        (``measured_lo``, ``measured_hi``), ``inside_measured`` (False where no predictive draw
        brackets a minimum: the fit did not expect the one measured) and ``p_bracketed`` (the chance
        that the profile brackets its minimum); ``p_inside_if_right``, the chance that the measured
        minimum would land in the ``N*`` band if the fit were right (its predictive's measured
        minima inside the band: the measurement scatters, and near the data a right band holds fewer
        of them; sum it for the count to expect); and ``tokens_per_param_star``, the fit's median
        ``D*/N*``. ``attrs["train_index"]`` maps each count to the positions of the runs fitted (a
        list of the table's rows, in order); ``attrs["band"]`` is ``prob``, ``attrs["bias"]`` the
        measured minima's known bias.

    Raises
    ------
    SpecificationError
        When the model has group effects or its law is not a law of ``N`` and ``D``.
    DataError
        When the table cannot be fitted (a missing column, NaN, a non-positive value), or has
        fewer than three iso-FLOP profiles with a measured minimum.
    ValueError
        When ``held_out`` is not a positive whole number (or a sequence of them), or a count
        leaves fewer than two measured profiles below its cut.

    Examples
    --------
    Hold out the simulated ladder's top profile (1e20 FLOP, half a decade past the rest):

    >>> table = bs.frontier_backtest(bs.Model(), runs, held_out=1, method="psis", seed=0)
    >>> table[["held_out", "n_train", "profile", "distance"]]
       held_out  n_train  profile  distance
    0         1       28     20.0  0.522879
    >>> row = table.iloc[0]
    >>> bool(row["N_star_lo"] < row["N_star"] < row["N_star_hi"]), bool(row["inside_measured"])
    (True, True)
    """
    require_model(model, "frontier_backtest", "bs.frontier_backtest(bs.Model(), runs)")
    if not isinstance(runs, pd.DataFrame):
        raise TypeError(
            f"frontier_backtest takes the runs as a pandas DataFrame, got a "
            f"{type(runs).__name__}; e.g. pd.DataFrame(runs)."
        )
    prob = arguments.probability(prob)
    rng_seed = arguments.seed(rng_seed, "rng_seed")  # before the first fit, not after it
    if model.effects:
        raise SpecificationError(
            "frontier_backtest scores the profiles of one population, and this model has "
            f"group effects ({model.describe_short()}); backtest one group at a time with a "
            "model without them."
        )
    if set(model.law.inputs) != {"N", "D"}:
        raise SpecificationError(
            f"frontier_backtest needs a law of N and D alone; {model.law.name!r} reads "
            f"{list(model.law.inputs)}."
        )
    cols = {**DEFAULT_COLUMNS, **(model.columns or {})}
    params, tokens, loss = cols["params"], cols["tokens"], cols["loss"]
    runs = runs.reset_index(drop=True)
    model.prepare(runs)  # every column the fit reads, NaN, inf and sign, before any fit
    key, compute = profiles(runs, params, tokens, budget, decimals, model.cost)
    minima = isoflop_minima(
        runs, params, tokens, loss, budget, decimals, min_points, cost=model.cost
    )
    measured = minima[minima["ok"]].sort_values("compute").reset_index(drop=True)
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    tables, trained = [], {}
    for k in _held_out_counts(held_out, len(measured)):
        held = measured.iloc[-k:]
        # every profile at or above the lowest held-out budget is past the cut, whole
        above = minima.loc[minima["compute"] >= held["compute"].min() * (1 - 1e-9), "profile"]
        past = key.isin(above).to_numpy()
        train = runs[~past]
        trained[k] = train.index.tolist()
        post, failed, data = fit_noting_warnings(model, train, **fit_kwargs)
        front = frontier(post, held["compute"].to_numpy(), rng_seed=rng_seed)
        q = front["N_opt"].quantile([0.5, lo_q, hi_q], dim=("chain", "draw")).values
        pred = predicted_isoflop_minima(
            post,
            runs[key.isin(held["profile"]).to_numpy()],
            params,
            tokens,
            budget,
            decimals,
            min_points,
            prob,
            rng_seed=rng_seed,
            bands={p: (lo, hi) for p, lo, hi in zip(held["profile"], q[1], q[2], strict=True)},
        ).set_index("profile")
        pred = pred.loc[held["profile"]]
        n_meas = held["N_opt"].to_numpy()
        m_lo, m_hi = pred["N_opt_lo"].to_numpy(), pred["N_opt_hi"].to_numpy()
        tables.append(
            pd.DataFrame(
                {
                    "held_out": k,
                    "n_train": len(train),
                    "fit_ok": not failed,
                    "fit_warnings": " | ".join(failed),
                    "data_warnings": " | ".join(data),
                    "profile": held["profile"].to_numpy(),
                    "compute": held["compute"].to_numpy(),
                    "distance": np.log10(held["compute"].to_numpy() / np.max(compute[~past])),
                    "N_opt": n_meas,
                    "tokens_per_param": held["tokens_per_param"].to_numpy(),
                    "N_star": q[0],
                    "N_star_lo": q[1],
                    "N_star_hi": q[2],
                    "inside": (q[1] <= n_meas) & (n_meas <= q[2]),
                    "error_decades": np.log10(n_meas / q[0]),
                    "measured_lo": m_lo,
                    "measured_hi": m_hi,
                    "inside_measured": (m_lo <= n_meas) & (n_meas <= m_hi),  # NaN: outside
                    "p_bracketed": pred["p_bracketed"].to_numpy(),
                    "p_inside_if_right": pred["p_in_band"].to_numpy(),
                    "tokens_per_param_star": front["tokens_per_param"]
                    .median(dim=("chain", "draw"))
                    .values,
                }
            )
        )
    out = pd.concat(tables, ignore_index=True)
    out.attrs["train_index"] = trained
    out.attrs["band"] = prob
    out.attrs["bias"] = PARABOLA_BIAS
    return out


__all__ = ["frontier_backtest"]
