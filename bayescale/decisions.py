"""Budget decisions under posterior uncertainty.

Every function takes its loss draws from the prediction path (:mod:`bayescale.prediction`):
``kind="mean"`` decides on the law's loss with its extrapolation error (parameter and
extrapolation uncertainty), ``kind="predictive"`` on the loss a new run would actually show
(also a new run's effect and observation noise).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayescale import arguments
from bayescale.data import DEFAULT_COLUMNS
from bayescale.defaults import PROB
from bayescale.errors import ConvergenceWarning, SpecificationError
from bayescale.frontier import _cost, frontier, frontier_draws, refuse_run
from bayescale.isoflop import (
    MIN_PARABOLA_POINTS,
    PARABOLA_BIAS,
    parabola_minimum,
    profiles,
    warn_short_profiles,
)
from bayescale.laws.base import INPUTS
from bayescale.posterior import ScalingPosterior
from bayescale.prediction import KINDS, keys
from bayescale.sanity import FLOPS_TOLERANCE
from bayescale.sites import terms_of
from bayescale.treebuild import SAMPLE_DIMS


def _require_allocation(post: ScalingPosterior, call: str, also: str = "") -> None:
    """Refuse a law that is not of ``N`` and ``D`` alone (whose iso-FLOP curve is one line)."""
    inputs = post.law.inputs
    if set(inputs) == {"N", "D"}:
        return
    hint = (  # its frontier holds the unique tokens fixed
        ": its frontier at fixed unique tokens is bs.frontier(post, C, unique_tokens=...)"
        if "U" in inputs
        else ""
    )
    raise SpecificationError(
        f"{call} needs a law of N and D alone{also}; the {post.law.name} law reads "
        f"{', '.join(inputs)}{hint}."
    )


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r}; choose 'mean' or 'predictive'.")


def prob_below(
    post: ScalingPosterior,
    target: float,
    N: Any = None,
    D: Any = None,
    kind: str = "predictive",
    rng_seed: int = 0,
    new_groups: bool = False,
    **values: Any,
) -> pd.DataFrame:
    """Compute the probability that a run of ``N`` params on ``D`` tokens gets below ``target``.

    Returns a table with ``N``, ``D``, ``prob`` and its Monte Carlo standard error ``mcse``
    (binomial, using the number of draws; for correlated draws of well-mixed chains an upper
    bound on the error is ``sqrt(p(1-p)/ESS)``).

    Parameters
    ----------
    post : ScalingPosterior
        A fit of a law of ``N`` and ``D``.
    target : float
        The loss to beat.
    N, D : float or array
        Parameters and training tokens of the runs (broadcast together), for a law of them.
    kind : {"predictive", "mean"}
        The loss a new run would show (default) or the law's loss with its extrapolation
        error.
    rng_seed, new_groups
        As in :meth:`ScalingPosterior.predict`.
    **values
        The law's other inputs by name (``U=`` for the data-constrained law; ``S1=``,
        ``S2=`` for a law of its schedule alone) and group labels by column, as in
        :meth:`ScalingPosterior.predict`.

    Returns
    -------
    pandas.DataFrame
        One row per run: its inputs (``N``, ``D`` and any other the law reads) and group
        labels, ``prob``, ``mcse``.

    Examples
    --------
    >>> table = bs.prob_below(post, 2.7, N=[1e8, 1e9], D=[5e9, 2e10])
    >>> table.columns.tolist()
    ['N', 'D', 'prob', 'mcse']
    >>> table["prob"].round(1).tolist()  # a 100M model on 5B tokens misses; 1B on 20B makes it
    [0.0, 1.0]
    """
    arguments.fitted(post, "prob_below")
    _check_kind(kind)
    # one target (call once per target), a loss: > 0
    target = arguments.positive(target, "target")
    absent = [name for name, v in (("N", N), ("D", D)) if v is None]
    if absent and {"N", "D"} <= set(post.law.inputs):  # as predict would read None: "objects"
        raise TypeError(
            f"prob_below needs N and D, the runs' parameters and tokens; "
            f"{' and '.join(f'{a}=None' for a in absent)}. For a budget C, give "
            "D = post.cost.tokens(C, N) (or N from D likewise)."
        )
    given = {k: v for k, v in (("N", N), ("D", D)) if v is not None}
    # the prediction path checks the inputs (those the law reads, numbers, > 0, shapes that
    # broadcast) and the labels, and says so
    loss = post.predict(kind=kind, new_groups=new_groups, rng_seed=rng_seed, **given, **values)
    table = pd.DataFrame(  # every input and label of the runs: rows that differ read apart
        {k: c.values for k, c in loss.coords.items() if c.dims == ("point",)}
    )
    below = np.asarray(loss.values < target, dtype=float).reshape(-1, len(table))
    p = below.mean(axis=0)
    return table.assign(prob=p, mcse=np.sqrt(p * (1 - p) / below.shape[0]))


#: The coarsest search of an iso-FLOP curve that passes without a warning (decades of ``N``).
COARSE_GRID_DECADES = 0.1
#: Most losses an allocation search evaluates per budget (draws x grid values; 8 bytes each).
MAX_GRID_LOSSES = 50_000_000


def _n_draws(post: ScalingPosterior) -> int:
    """Return the fit's draws, all chains together."""
    return int(np.prod([post.posterior.sizes[d] for d in SAMPLE_DIMS]))


def _resolvable(post: ScalingPosterior, value: float, name: str, central: bool = False) -> float:
    """:func:`bayescale.arguments.resolvable` of the fit's draws, worded for the command line."""
    try:
        return arguments.resolvable(value, _n_draws(post), name, central=central)
    except ValueError as e:
        option = "--" + name.replace("_", "-")
        text = str(e)
        worded = text.replace(f"{name}=", f"{option} ").replace(f"Give {name} ", f"Give {option} ")
        raise SpecificationError(
            text, command_line=worded.replace("(chains x draws)", "(--chains x --draws)")
        ) from None


def _iso_kernel(
    post: ScalingPosterior,
    kind: str,
    n_grid: int,
    span: float,
    rng_seed: int,
    new_groups: bool,
    groups: dict[str, Any],
):
    """Build a jitted ``log C -> (N grid, D grid, loss draws (S, n_grid))`` on an iso-FLOP curve.

    ``N`` runs over ``n_grid`` log-spaced values within ``span`` decades of ``sqrt(C/k)``. The
    prediction path draws its random parts (new-group effects, extrapolation error, noise)
    with the same keys at every budget (common random numbers), so probabilities vary smoothly
    with the budget.
    """
    refuse_run(post, groups, "the allocation")
    _check_kind(kind)
    evaluated = _n_draws(post) * n_grid
    if evaluated > MAX_GRID_LOSSES:  # one loss per draw and allocation, per budget
        raise ValueError(
            f"n_grid={n_grid} with this fit's {_n_draws(post)} draws evaluates {evaluated:.3g} "
            f"losses per budget (at most {MAX_GRID_LOSSES:.0e}, about "
            f"{MAX_GRID_LOSSES * 8 / 1e9:.1g} GB): give n_grid <= "
            f"{MAX_GRID_LOSSES // _n_draws(post)} (a step of {COARSE_GRID_DECADES:g} decades "
            f"needs {int(np.ceil(2 * span / COARSE_GRID_DECADES)) + 1})."
        )
    step = 2 * span / (n_grid - 1)
    if step > COARSE_GRID_DECADES:  # the answer is one of a few allocations, not the optimum
        warnings.warn(
            f"N is searched every {step:.3g} decades (n_grid={n_grid} values within span={span:g}"
            f" decades): the allocation returned is the best of those, as far as {step / 2:.3g} "
            f"decades from the optimum; raise n_grid (a step of {COARSE_GRID_DECADES:g} decades "
            f"needs n_grid >= {int(np.ceil(2 * span / COARSE_GRID_DECADES)) + 1}).",
            UserWarning,
            stacklevel=3,
        )
    k = post.cost.k
    key_pred, key_loss = keys(rng_seed)
    pred = post.predictor(new_groups=new_groups, rng_seed=key_pred, **groups)
    offsets = jnp.linspace(-span, span, n_grid) * jnp.log(10.0)

    @jax.jit
    def kernel(log_c: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
        n = jnp.exp(0.5 * (log_c - jnp.log(k)) + offsets)
        d = jnp.exp(log_c) / (k * n)
        loss = pred.loss({"N": n, "D": d}, kind, key_loss)
        return n, d, jnp.reshape(loss, (-1, n_grid))

    return kernel


def best_allocation(
    post: ScalingPosterior,
    compute: Any,
    objective: str = "mean",
    quantile: float | None = None,
    kind: str = "mean",
    n_grid: int = 401,
    span: float = 3.0,
    flops_per_param_token: float | None = None,
    rng_seed: int = 0,
    new_groups: bool = False,
    **groups: Any,
) -> pd.DataFrame:
    """Find the allocation of a budget that minimises expected loss or a loss quantile.

    Parameters
    ----------
    post : ScalingPosterior
        A fit of a law of ``N`` and ``D``.
    compute : float or array
        Budgets in FLOP.
    objective : {"mean", "quantile"}
        Minimise the posterior mean of the loss, or its ``quantile`` (risk-averse: the
        allocation whose bad case is least bad).
    quantile : float, optional
        The quantile for ``objective="quantile"`` (default 0.9); refused with the mean.
    kind : {"mean", "predictive"}
        Loss of the law with its extrapolation error (default) or of a new run.
    n_grid, span : int, float
        ``N`` is searched on ``n_grid`` log-spaced values within ``span`` decades of
        ``sqrt(C/k)`` (resolution ``2 span / (n_grid - 1)`` decades).
    flops_per_param_token : float, optional
        The fit's ``k`` (a different value is an error, see :func:`bayescale.frontier`).
    rng_seed, new_groups, **groups
        As in :meth:`ScalingPosterior.predict`.

    Returns
    -------
    pandas.DataFrame
        Per budget: ``compute``, ``N``, ``D``, ``tokens_per_param``, ``objective`` (its value)
        and the posterior ``loss_mean``, ``loss_q05`` and ``loss_q95`` there.

    Examples
    --------
    >>> best = bs.best_allocation(post, compute=[1e19, 1e20])
    >>> best.columns.tolist()
    ['compute', 'N', 'D', 'tokens_per_param', 'objective', 'loss_mean', 'loss_q05', 'loss_q95']
    >>> best["loss_mean"].round(1).tolist()
    [3.0, 2.6]

    Risk-averse: the allocation whose 90th percentile of the loss is lowest:

    >>> safe = bs.best_allocation(post, compute=1e20, objective="quantile", quantile=0.9)
    >>> bool(safe.loc[0, "objective"] >= safe.loc[0, "loss_mean"])
    True
    """
    arguments.fitted(post, "best_allocation")
    if objective not in ("mean", "quantile"):
        raise ValueError(f"objective={objective!r}; choose 'mean' or 'quantile'.")
    if quantile is not None and objective != "quantile":
        raise ValueError(
            f"quantile={quantile!r} is the loss quantile of objective='quantile', and "
            f"objective={objective!r} minimises the mean: pass objective='quantile' too."
        )
    quantile = arguments.probability(0.9 if quantile is None else quantile, "quantile")
    if objective == "quantile":
        _resolvable(post, quantile, "quantile")
    _require_allocation(post, "best_allocation")  # no allocation of a budget to choose
    budgets = arguments.budgets(compute, unique=True)
    n_grid = arguments.count(n_grid, "n_grid", minimum=3)  # an interior optimum needs 3
    span = arguments.positive(span, "span")
    _cost(post, flops_per_param_token)
    post.warn_far_outside({"C": budgets}, "Budgets reach")
    kernel = _iso_kernel(post, kind, n_grid, span, rng_seed, new_groups, groups)
    rows = []
    for c in budgets:
        n, d, loss = kernel(jnp.log(c))
        score = loss.mean(axis=0) if objective == "mean" else jnp.quantile(loss, quantile, axis=0)
        i = int(jnp.argmin(score))
        if i in (0, n_grid - 1):
            raise ValueError(
                f"The optimum for C={c:g} lies at the edge of the allocations searched (N within "
                f"{span:g} decades of sqrt(C/k)): a budget far past the data, or a law whose "
                "optimum is that lopsided. Ask for a budget nearer the data, or widen the search "
                "(best_allocation(..., span=...))."
            )
        at = np.asarray(loss[:, i])
        rows.append(
            {
                "compute": c,
                "N": float(n[i]),
                "D": float(d[i]),
                "tokens_per_param": float(d[i] / n[i]),
                "objective": float(score[i]),
                "loss_mean": at.mean(),
                "loss_q05": np.quantile(at, 0.05),
                "loss_q95": np.quantile(at, 0.95),
            }
        )
    return pd.DataFrame(rows)


def compute_for_target(
    post: ScalingPosterior,
    target: float,
    prob: float = PROB,
    kind: str = "predictive",
    c_min: float = 1e15,
    c_max: float = 1e30,
    n_grid: int = 121,
    span: float = 3.0,
    flops_per_param_token: float | None = None,
    rng_seed: int = 0,
    new_groups: bool = False,
    **groups: Any,
) -> pd.Series:
    """Find the smallest budget at which some allocation reaches ``target`` with prob. ``prob``.

    The best allocation's probability of a loss below ``target`` is found on an iso-FLOP grid
    per budget; budgets are scanned every half decade from ``c_min`` to ``c_max``, then the
    crossing of ``prob`` is bisected (to 0.1 %). Returns ``compute``, the allocation ``N``,
    ``D`` there and the probability reached; ``compute`` is ``inf`` when no budget up to
    ``c_max`` suffices (raise ``c_max``, or the target may be below the irreducible loss; ``prob``
    is then the highest probability reached). Of allocations that tie
    in probability (1 where the target is sure), the one of the lowest mean loss is returned.
    A budget whose best allocation lies at an end of the grid searched is refused (widen
    ``span``).

    Parameters
    ----------
    post : ScalingPosterior
        A fit of a law of ``N`` and ``D``, or of the compute ``C`` alone (``N`` and ``D`` are
        then NaN: such a law does not tell allocations apart).
    target : float
        The loss to reach.
    prob : float
        The probability of reaching it that is asked for.
    kind : {"predictive", "mean"}
        The loss a new run would show (default) or the law's loss with its extrapolation
        error.
    c_min, c_max : float
        The budgets scanned, in FLOP.
    n_grid, span : int, float
        The iso-FLOP grid of each budget, as in :func:`best_allocation`.
    flops_per_param_token : float, optional
        The fit's ``k`` (a different value is an error, see :func:`bayescale.frontier`).
    rng_seed, new_groups, **groups
        As in :meth:`ScalingPosterior.predict`.

    Returns
    -------
    pandas.Series
        ``compute``, ``N``, ``D`` and ``prob``.

    Examples
    --------
    >>> need = bs.compute_for_target(post, target=2.7)  # 90 % sure of a loss below 2.7
    >>> need.index.tolist()
    ['compute', 'N', 'D', 'prob']
    >>> bool(1e19 < need["compute"] < 1e20), round(float(need["prob"]), 1)
    (True, 0.9)
    >>> float(bs.compute_for_target(post, target=1.5)["compute"])  # below the irreducible E
    inf
    """
    arguments.fitted(post, "compute_for_target")
    target = arguments.positive(target, "target")  # a loss
    prob = _resolvable(post, arguments.probability(prob), "prob")
    c_min, c_max = arguments.positive(c_min, "c_min"), arguments.positive(c_max, "c_max")
    if c_min >= c_max:
        raise ValueError(f"c_min={c_min:g} must be below c_max={c_max:g}.")
    n_grid = arguments.count(n_grid, "n_grid", minimum=3)  # an interior optimum needs 3
    span = arguments.positive(span, "span")
    allocates = set(post.law.inputs) != {"C"}  # a law of C reaches the target by C alone
    if allocates:
        _require_allocation(post, "compute_for_target", " (or of the compute C alone)")
    _cost(post, flops_per_param_token)
    kernel = _iso_kernel(post, kind, n_grid, span, rng_seed, new_groups, groups)

    def too_narrow(c: float) -> ValueError:
        return ValueError(
            f"The best allocation at C={c:g} (the lowest mean loss) lies at the edge of the "
            f"allocations searched (N within {span:g} decades of sqrt(C/k)): a law whose "
            "optimum is that lopsided, or a search too narrow. Widen it (compute_for_target(..., "
            "span=...))."
        )

    def best(log_c: float) -> tuple[float, float, float, bool]:
        """Return the best allocation at ``C = e**log_c`` and whether it is at an end.

        Its probability, N, D (of the allocations that share the highest probability, the one
        of the lowest mean loss: with the target sure to be reached, many allocations tie at
        1), and whether the allocation of the lowest mean loss lies at an end of the
        allocations searched (the probability's own maximum is too noisy to tell).
        """
        n, d, loss = kernel(jnp.asarray(log_c))
        p = (loss < target).mean(axis=0, dtype=loss.dtype)  # bool means are float32 in JAX
        mean = loss.mean(axis=0)
        i = int(jnp.argmin(jnp.where(p >= p.max(), mean, jnp.inf)))
        at_edge = allocates and int(jnp.argmin(mean)) in (0, n_grid - 1)
        return float(p[i]), float(n[i]), float(d[i]), at_edge

    grid = np.arange(np.log(c_min), np.log(c_max) + 1e-9, 0.5 * np.log(10.0))
    if np.log(c_max) - grid[-1] > 1e-9:  # c_max itself, where the half decades step past it
        grid = np.append(grid, np.log(c_max))
    scanned = [best(g) for g in grid]
    probs = [b[0] for b in scanned]
    above = [i for i, p in enumerate(probs) if p >= prob]
    if not above:
        if scanned[-1][3]:  # not reached within a search that misses the optimum: say so
            raise too_narrow(c_max)
        return pd.Series({"compute": np.inf, "N": np.nan, "D": np.nan, "prob": max(probs)})
    j = above[0]
    if j == 0:
        warnings.warn(
            f"The target {target:g} is reached with probability {probs[0]:.2f} already at "
            f"c_min={c_min:g}, the smallest budget scanned: the compute returned is a bound, "
            "not the answer. Lower c_min.",
            UserWarning,
            stacklevel=2,
        )
    lo, hi = (grid[j - 1], grid[j]) if j > 0 else (grid[0], grid[0])
    while hi - lo > 1e-3:
        mid = 0.5 * (lo + hi)
        if best(mid)[0] >= prob:
            hi = mid
        else:
            lo = mid
    p, n, d, at_edge = best(hi)
    if at_edge:
        raise too_narrow(float(np.exp(hi)))
    if not allocates:  # the law does not tell allocations apart
        n = d = np.nan
    post.warn_far_outside({"C": np.array([np.exp(hi)])}, "The budget found reaches")
    return pd.Series({"compute": float(np.exp(hi)), "N": n, "D": d, "prob": p})


#: Fewest effective draws behind a candidate's reweighted posterior before
#: :func:`value_of_runs` warns: with ``n`` of them its expected sd errs by about
#: ``1 / sqrt(2 n)`` (10 % at 50), and too low, for it rests on too few draws.
MIN_REWEIGHTED_ESS = 50


def value_of_runs(
    post: ScalingPosterior,
    candidates: pd.DataFrame,
    target_compute: float,
    n_sims: int = 200,
    max_draws: int = 2000,
    rng_seed: int = 0,
    new_groups: bool | None = None,
    **groups: Any,
) -> pd.DataFrame:
    """Rank candidate runs by how much each is expected to narrow ``L*(C_target)``.

    Preposterior analysis without refitting: for each candidate ``(N, D)``, outcomes ``y`` are
    simulated from the posterior predictive; the posterior given that extra run is the current
    one reweighted by ``p(y | draw)`` (importance sampling over the draws), and the expected
    posterior standard deviation of ``L*(C_target)`` is averaged over the simulated outcomes.
    Outcomes, their densities and ``L*`` all come from one predictor, so each draw's
    extrapolation error is shared by the candidate runs and the target: a run beyond the data
    informs the extrapolation.

    Parameters
    ----------
    post : ScalingPosterior
        A fit of a law of ``N`` and ``D``.
    candidates : pandas.DataFrame
        Columns ``N`` and ``D``, or the fitted table's names for them (``params`` and
        ``tokens`` by default), one row per candidate run. Other columns (a name, a note) are
        carried to the result unread: a group's label is read from ``**groups``, one for every
        candidate, not from a column.
    target_compute : float
        The budget whose optimal loss ``L*`` we want to pin down.
    n_sims : int
        Simulated outcomes per candidate.
    max_draws : int
        Posterior draws used (thinned evenly), at least :data:`MIN_REWEIGHTED_ESS`.
    rng_seed : int
        Seed.
    new_groups : bool, optional
        Allow labels not seen in the data (their effects drawn from the population). Default:
        without labels, the population (a new group's effect drawn); with labels, they must be
        levels the fit has seen, so that a mistyped label is an error.
    **groups
        Group labels of the candidate runs and of the target (default: the population).

    Returns
    -------
    pandas.DataFrame
        The candidates with ``sd_now``, ``sd_expected``, ``reduction`` (fraction of ``sd_now``)
        and ``ess_min`` (the smallest importance-sampling ESS over simulations; small values
        mean the reweighting is unreliable and a refit would be better).

    Warns
    -----
    ConvergenceWarning
        When a candidate's ``ess_min`` is below :data:`MIN_REWEIGHTED_ESS` (50): an outcome of
        that run would move the posterior further than reweighting its draws can show, and its
        ``sd_expected`` is noisy and too low (its ``reduction`` overstated).

    Notes
    -----
    Each candidate is a new run: its run effect is integrated out of the outcome's density
    (:meth:`bayescale.prediction.Predictor.log_density`), exactly as the outcomes are drawn.

    Examples
    --------
    Which of two extra runs would pin down the loss of the best 1e20 FLOP model more?

    >>> candidates = pd.DataFrame({"N": [1e9, 3e8], "D": [2e10, 5e10]})
    >>> ranked = bs.value_of_runs(post, candidates, target_compute=1e20)
    >>> ranked.columns.tolist()
    ['N', 'D', 'sd_now', 'sd_expected', 'reduction', 'ess_min']
    >>> bool(ranked["reduction"].between(0, 1).all())
    True
    """
    arguments.fitted(post, "value_of_runs")
    refuse_run(post, groups, "value_of_runs")  # the candidates are new runs
    # L*(C) is the frontier's: an allocation of C
    _require_allocation(post, "value_of_runs", " (its target is the frontier's L*(C))")
    if not isinstance(candidates, pd.DataFrame):
        raise ValueError(
            f"candidates must be a pandas DataFrame with columns N and D, got "
            f"{type(candidates).__name__}."
        )
    twice = candidates.columns[candidates.columns.duplicated()].unique().tolist()
    if twice:
        raise ValueError(f"candidates has the column(s) {twice} twice: keep one of each.")
    labelled = [c for t in terms_of(post.model.effects) for c in t.columns if c in candidates]
    if labelled:  # one set of labels serves every candidate and the target
        c = labelled[0]
        raise ValueError(
            f"candidates has the group column {c!r}, which value_of_runs does not read per "
            f"row: give the candidates' and the target's labels as keywords ({c}=...), and "
            "rank the candidates of each group in a call of its own."
        )
    # the inputs by name (N, D) or by the fitted table's columns (params, tokens, or as mapped)
    mapped = {**DEFAULT_COLUMNS, **dict(post.model.columns or {})}
    found = {}
    for col in ("N", "D"):
        name = col if col in candidates else mapped[INPUTS[col]]
        both = col in candidates and mapped[INPUTS[col]] in candidates
        if both and not candidates[col].equals(candidates[mapped[INPUTS[col]]]):
            raise ValueError(
                f"candidates has both {col!r} and {mapped[INPUTS[col]]!r}, and they differ: "
                "keep one of them."
            )
        if name not in candidates:
            raise ValueError(
                f"candidates needs a column {col!r} (or {mapped[INPUTS[col]]!r}, as the fitted "
                f"table names it); it has {list(candidates.columns)}."
            )
        what = {"N": "model size N (parameters)", "D": "token count D"}[col]
        found[col] = arguments.budgets(candidates[name], f"candidates[{name!r}]", what)
    pairs = pd.DataFrame(found)
    repeated = pairs.duplicated()
    if repeated.any():  # one run, ranked twice with different Monte Carlo scores
        i = int(np.argmax(repeated.to_numpy()))
        first = int(np.argmax((pairs == pairs.iloc[i]).all(axis=1).to_numpy()))
        raise ValueError(
            f"candidates rows {first} and {i} (by position) are the same run (N="
            f"{found['N'][i]:.4g}, D={found['D'][i]:.4g}): each candidate would be ranked "
            "twice; keep one of each (candidates.drop_duplicates(['N', 'D']))."
        )
    unread = [c for c in ("C", mapped["flops"]) if c in candidates]
    if unread:  # a candidate's compute is its N and D's: a column saying otherwise is a mistake
        implied = post.cost.flops(found["N"], found["D"])
        given = arguments.budgets(candidates[unread[0]], f"candidates[{unread[0]!r}]")
        off = np.abs(np.log(given / implied)) > np.log1p(FLOPS_TOLERANCE)
        if np.any(off):
            i = int(np.argmax(off))
            raise ValueError(
                f"candidates[{unread[0]!r}] = {given[i]:.4g} disagrees with the candidate's N "
                f"and D, whose {post.cost.describe()} is {implied[i]:.4g}: value_of_runs reads "
                "N and D; drop the column or correct it."
            )
    target_compute = arguments.positive(target_compute, "target_compute")
    post.warn_far_outside({"C": np.array([target_compute])}, "The target budget reaches")
    n_sims = arguments.count(n_sims, "n_sims")
    # fewer draws than the reweighting's least ESS could never pass its check
    max_draws = arguments.count(max_draws, "max_draws", minimum=MIN_REWEIGHTED_ESS)
    # The frontier's keys: L* here is frontier(post, target_compute, new_groups=True,
    # rng_seed=rng_seed)'s, drawn by the same predictor as the candidates' outcomes.
    k_pred, k_front = keys(rng_seed)
    k_loc, k_obs, k_pick = jax.random.split(jax.random.fold_in(k_front, 1), 3)
    if new_groups is None:
        new_groups = not groups
    pred = post.predictor(new_groups=new_groups, rng_seed=k_pred, **groups)
    q = frontier_draws(pred, np.array([float(target_compute)]), k_front)
    q = np.asarray(q["loss_opt"][..., 0]).ravel()
    keep = np.linspace(0, q.size - 1, min(max_draws, q.size)).astype(int)
    x = {col: np.asarray(v, float) for col, v in found.items()}
    loc = pred.location(x, k_loc)  # (chain, draw, K)
    y = pred.observe(loc, k_obs)  # each draw's own outcome
    s, n_cand = q.size, len(candidates)
    pick = np.asarray(jax.random.choice(k_pick, keep, (n_sims,)))
    y_sim = jnp.reshape(y, (s, n_cand))[pick]  # (sims, K)
    # log p(y_sim | draw) per candidate (bounded memory): draws lead, simulations trail.
    qk = jnp.asarray(q[keep])[:, None]
    var, ess = [], []
    for j in range(n_cand):
        logp = pred.log_density(y_sim[None, None, :, j], loc[..., j : j + 1])  # (chain, draw, sims)
        w = jax.nn.softmax(jnp.reshape(logp, (s, n_sims))[keep], axis=0)  # (S, sims)
        mean = (w * qk).sum(axis=0)
        var.append(float((w * (qk - mean[None]) ** 2).sum(axis=0).mean()))
        ess.append(float((1.0 / (w**2).sum(axis=0)).min()))
    out = candidates.copy()
    sd_now = float(np.std(q[keep]))
    out["sd_now"] = sd_now
    out["sd_expected"] = np.sqrt(var)
    out["reduction"] = 1.0 - out["sd_expected"] / sd_now
    out["ess_min"] = ess
    low = np.flatnonzero(np.asarray(ess) < MIN_REWEIGHTED_ESS)
    if low.size:
        runs = ", ".join(f"N={x['N'][i]:.3g} D={x['D'][i]:.3g}" for i in low[:3])
        more = f" and {low.size - 3} more" if low.size > 3 else ""
        warnings.warn(
            ConvergenceWarning(
                f"value_of_runs: the expected sd of {low.size} of {n_cand} candidate(s) ({runs}"
                f"{more}) rests on as few as {min(ess):.0f} effective draws of the "
                f"{len(keep)} reweighted (ess_min below {MIN_REWEIGHTED_ESS}): such a run would "
                "move the posterior further than reweighting its draws can show, so their "
                "sd_expected is noisy and too low, their reduction overstated. Rank them on a "
                "fit with more draws (max_draws= up to its draws), or refit with a simulated "
                "outcome of the run added."
            ),
            stacklevel=2,
        )
    return out.sort_values("reduction", ascending=False)


def decision_table(
    post: ScalingPosterior,
    compute: Any,
    target: float | None = None,
    quantile: float = 0.9,
    prob: float = PROB,
    new_groups: bool = False,
    rng_seed: int = 0,
    **groups: Any,
) -> pd.DataFrame:
    """Tabulate, per budget, the frontier with its band and the risk-averse allocation.

    With ``target``, also the chance that the median compute-optimal run gets below it.

    Columns: ``compute``; ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt`` medians
    with their central ``prob`` band (``*_lo``/``*_hi``); ``N_q<quantile>`` and
    ``D_q<quantile>`` of the allocation minimising that loss quantile; ``p_target``.

    Parameters
    ----------
    post : ScalingPosterior
        A fit of a law of ``N`` and ``D``.
    compute : float or array
        Budgets in FLOP.
    target : float, optional
        A loss to reach: adds ``p_target``.
    quantile : float
        The loss quantile the risk-averse allocation minimises.
    prob : float
        Probability of the bands.
    new_groups : bool
        Allow labels not seen in the data (their effects drawn from the population).
    rng_seed : int
        Seed of the draws, the same for the frontier, the allocation and ``p_target``.
    **groups
        Group labels (``family="f1"``), as in :func:`bayescale.frontier`; the other options
        of the calls it makes (``flops_per_param_token=``, ``n_grid=``, ...) are refused: call
        :func:`bayescale.frontier` or :func:`best_allocation` with them.

    Returns
    -------
    pandas.DataFrame
        One row per budget; the band's probability in ``attrs["band"]``.

    Examples
    --------
    >>> table = bs.decision_table(post, compute=[1e19, 1e20], target=2.7)
    >>> table.columns.tolist()[:4]
    ['compute', 'N_opt', 'N_opt_lo', 'N_opt_hi']
    >>> table.columns.tolist()[-3:]
    ['N_q0.9', 'D_q0.9', 'p_target']
    >>> table["loss_opt"].round(1).tolist(), table["p_target"].round(1).tolist()
    ([3.0, 2.6], [0.0, 1.0])
    """
    arguments.fitted(post, "decision_table")
    options = sorted(set(groups) & _OPTIONS_OF_THE_CALLS)
    if options:  # passed on to some of the calls and not others (or read as group labels)
        raise TypeError(
            f"decision_table takes no {', '.join(f'{o}=' for o in options)}: it tabulates "
            "the defaults of bs.frontier, best_allocation and prob_below; call those with it."
        )
    c = arguments.budgets(compute, unique=True)
    quantile, prob = arguments.probability(quantile, "quantile"), arguments.probability(prob)
    _resolvable(post, quantile, "quantile")
    _resolvable(post, prob, "prob", central=True)
    front = frontier(post, c, new_groups=new_groups, rng_seed=rng_seed, **groups)
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    q = front.quantile([lo_q, 0.5, hi_q], dim=("chain", "draw"))
    table = pd.DataFrame({"compute": c})
    for var in ("N_opt", "D_opt", "tokens_per_param", "loss_opt"):
        table[var] = q[var].values[1]
        table[f"{var}_lo"] = q[var].values[0]
        table[f"{var}_hi"] = q[var].values[2]
    risk = best_allocation(
        post,
        c,
        objective="quantile",
        quantile=quantile,
        new_groups=new_groups,
        rng_seed=rng_seed,
        **groups,
    )
    table[f"N_q{quantile:g}"] = risk["N"].to_numpy()
    table[f"D_q{quantile:g}"] = risk["D"].to_numpy()
    if target is not None:
        table["p_target"] = prob_below(
            post,
            target,
            N=table["N_opt"],
            D=table["D_opt"],
            new_groups=new_groups,
            rng_seed=rng_seed,
            **groups,
        )["prob"].to_numpy()
    table.attrs["band"] = prob
    return table


#: The options of the calls :func:`decision_table` makes that it does not take itself.
_OPTIONS_OF_THE_CALLS = (
    frozenset(
        name
        for call in (frontier, best_allocation, prob_below)
        for name, p in inspect.signature(call).parameters.items()
        if p.kind is not p.VAR_KEYWORD
    )
    - set(inspect.signature(decision_table).parameters)
    - {"N", "D", "compute", "target"}
)


def _band(profile: Any, band: Any) -> tuple[float, float]:
    """Return a band of ``N`` as ``(lo, hi)``, two finite sizes with ``0 < lo < hi``."""
    try:
        lo, hi = band
    except (TypeError, ValueError):
        raise ValueError(
            f"bands[{profile!r}]={band!r}: give a band of N as (lo, hi), e.g. (1e9, 5e9)."
        ) from None
    lo = arguments.positive(lo, f"bands[{profile!r}] lo")
    hi = arguments.positive(hi, f"bands[{profile!r}] hi")
    if lo >= hi:
        raise ValueError(f"bands[{profile!r}]=({lo:g}, {hi:g}): give lo < hi.")
    return lo, hi


def predicted_isoflop_minima(
    post: ScalingPosterior,
    runs: pd.DataFrame,
    params: str = "params",
    tokens: str = "tokens",
    budget: str | None = None,
    decimals: int | None = None,
    min_points: int = 4,
    prob: float = PROB,
    new_groups: bool = False,
    rng_seed: int = 0,
    bands: Mapping[Any, tuple[float, float]] | None = None,
    **groups: Any,
) -> pd.DataFrame:
    """Predict what the iso-FLOP profiles of planned (or held-out) runs will measure.

    An iso-FLOP minimum (:func:`bayescale.isoflop.isoflop_minima`, Hoffmann et al.'s
    Approach 2) is not the law's ``N*``: it is the vertex of a parabola fitted to a few noisy
    runs, with its own scatter and its own bias (``PARABOLA_BIAS``). To ask whether a measured
    minimum agrees with a fit, or where a planned profile's minimum will land and whether its
    sizes will bracket it, this draws every run's loss from the posterior predictive (one
    prediction path: each draw's extrapolation error shared by all the runs, a new run's
    effect and noise), fits each draw's parabola per profile exactly as the measurement does,
    and summarises the vertices.

    Parameters
    ----------
    post : ScalingPosterior
        A fit of a law of ``N`` and ``D``.
    runs : pandas.DataFrame
        The runs of the profiles (``params`` and ``tokens`` columns; a loss is not needed).
    params, tokens : str
        Column names of the runs' sizes and tokens.
    budget, decimals, min_points
        How runs group into profiles and how many a parabola needs, as in
        :func:`bayescale.isoflop.isoflop_minima`.
    prob : float
        Probability of the central bands.
    new_groups : bool
        Allow group labels unseen in the data, as in :meth:`ScalingPosterior.predict`.
    rng_seed : int
        Seed of the predictive draws.
    bands : mapping, optional
        A band ``(lo, hi)`` of ``N`` per profile (keyed as the table's ``profile``), such as
        the fit's ``N*`` band at its budget: the table then says how often the measured minimum
        would land in it (``p_in_band``) if the fit is right. Near the data a right ``N*`` band
        is about as narrow as the measurement's scatter, or narrower, and many measured minima
        fall outside it. A key that names no profile of ``runs`` is an error.
    **groups
        Group labels of the runs (``family="f1"``), unless ``runs`` has the group columns (a
        label per run, read as :meth:`ScalingPosterior.predict` reads them); omitted terms are
        a new group.

    Returns
    -------
    pandas.DataFrame
        One row per profile: ``compute``, ``n_points``; ``p_bracketed``, the chance that the
        profile's parabola is convex with its vertex inside the sampled sizes (the measurement
        reports a minimum only then); among those draws the median ``N_opt`` and ``loss_opt``
        with their central ``prob`` band (``*_lo``/``*_hi``), and with ``bands`` the share
        ``p_in_band`` inside the profile's band. A profile with fewer than ``min_points`` runs
        gets NaN. ``attrs["band"]`` is ``prob``, ``attrs["bias"]`` the method's known bias.

    Examples
    --------
    Where will the minimum of a 7-run profile at 1e21 FLOP (a decade past the data) land?

    >>> n = np.geomspace(5e8, 8e9, 7)
    >>> planned = pd.DataFrame({"params": n, "tokens": 1e21 / (6 * n)})
    >>> table = bs.predicted_isoflop_minima(post, planned)
    >>> table.columns.tolist()[:5]
    ['compute', 'n_points', 'p_bracketed', 'N_opt', 'N_opt_lo']
    >>> row = table.iloc[0]
    >>> bool(row["N_opt_lo"] < row["N_opt"] < row["N_opt_hi"]), bool(row["p_bracketed"] > 0.9)
    (True, True)

    How often would that minimum land in the fit's 90 % ``N*`` band if the fit is right?

    >>> band = tuple(bs.frontier(post, 1e21)["N_opt"].quantile([0.05, 0.95]).values)
    >>> table = bs.predicted_isoflop_minima(post, planned, bands={row["profile"]: band})
    >>> round(float(table["p_in_band"].iloc[0]), 1)
    0.8
    """
    arguments.fitted(post, "predicted_isoflop_minima")
    prob = arguments.probability(prob)
    min_points = arguments.count(min_points, "min_points", minimum=MIN_PARABOLA_POINTS)
    if not isinstance(runs, pd.DataFrame):
        raise TypeError(
            f"runs must be a table (pandas DataFrame) of the profiles' runs, with {params!r} "
            f"and {tokens!r} columns; got a {type(runs).__name__}."
        )
    if bands is not None and not isinstance(bands, Mapping):
        raise TypeError(f"bands must map each profile to (lo, hi); got a {type(bands).__name__}.")
    bands = {k: _band(k, v) for k, v in (bands or {}).items()} if bands is not None else None
    key, c = profiles(runs, params, tokens, budget, decimals, post.cost)
    unknown = sorted(set(bands or ()) - set(key), key=str)
    if unknown:
        raise ValueError(
            f"bands names profiles the runs do not have: {unknown}; the runs' profiles are "
            f"{sorted(set(key), key=str)} (keyed as the table's 'profile' column)."
        )
    taken = sorted(set(groups) & {"kind", "N", "D", "C", *post.law.inputs})
    if taken:  # predict's own arguments: the runs give the inputs, and the draws are predictive
        raise TypeError(
            f"predicted_isoflop_minima takes no {', '.join(f'{t}=' for t in taken)}: the runs' "
            f"{params!r} and {tokens!r} columns give the inputs, and a measurement is drawn "
            "from the posterior predictive."
        )
    # the runs' own group columns label them row by row, as predict reads a table
    columns = [c for t in terms_of(post.model.effects) for c in t.columns if c in runs]
    twice = sorted(set(columns) & set(groups))
    if twice:
        raise ValueError(
            f"{twice[0]} is both a column of runs and a keyword: give the runs' labels once."
        )
    groups = {**groups, **{c: runs[c].to_numpy(object) for c in dict.fromkeys(columns)}}
    n = runs[params].to_numpy(float)
    draws = post.predict(
        kind="predictive",
        new_groups=new_groups,
        rng_seed=rng_seed,
        N=n,
        D=runs[tokens].to_numpy(float),
        **groups,
    )
    log_loss = np.log(draws.values.reshape(-1, len(runs)))  # (draws, runs)
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    rows = []
    for k, pos in runs.groupby(key).indices.items():  # by position: the index may repeat
        row = {
            "profile": k,
            "compute": float(np.exp(np.mean(np.log(c[pos])))),
            "n_points": len(pos),
        }
        x = np.log(n[pos])
        names = [f"{v}{s}" for v in ("N_opt", "loss_opt") for s in ("", "_lo", "_hi")]
        row.update({"p_bracketed": np.nan, **dict.fromkeys(names, np.nan), "p_in_band": np.nan})
        if len(pos) >= min_points and np.ptp(x) > 0:
            vertex = parabola_minimum(x, log_loss[:, pos])
            ok = vertex["ok"]
            row["p_bracketed"] = float(ok.mean())
            if ok.any():
                for v, values in (("N_opt", vertex["log_n"]), ("loss_opt", vertex["log_loss"])):
                    q = np.exp(np.quantile(values[ok], [0.5, lo_q, hi_q]))
                    row.update({v: q[0], f"{v}_lo": q[1], f"{v}_hi": q[2]})
                if bands is not None and k in bands:
                    lo, hi = np.log(np.asarray(bands[k], float))
                    row["p_in_band"] = float(
                        np.mean((vertex["log_n"][ok] >= lo) & (vertex["log_n"][ok] <= hi))
                    )
        rows.append(row)
    out = pd.DataFrame(rows).sort_values("compute").reset_index(drop=True)
    extra = ["p_in_band"] if bands is not None else []
    out = out[["compute", "n_points", "p_bracketed", *names, *extra, "profile"]]
    out.attrs["band"] = prob
    out.attrs["bias"] = PARABOLA_BIAS
    warn_short_profiles(out["n_points"].to_numpy(), min_points, "predicted_isoflop_minima")
    return out


__all__ = [
    "MIN_REWEIGHTED_ESS",
    "best_allocation",
    "compute_for_target",
    "decision_table",
    "predicted_isoflop_minima",
    "prob_below",
    "value_of_runs",
]
