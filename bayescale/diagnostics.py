"""Convergence diagnostics of a fit, with warnings when any check fails."""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import arviz_stats
import numpy as np
import pandas as pd
import xarray as xr

from bayescale import arguments
from bayescale.defaults import MAX_TREE_DEPTH
from bayescale.errors import (
    ConvergenceWarning,
    HeavyTailWarning,
    PriorBoundWarning,
    SamplerEfficiencyWarning,
)
from bayescale.extrapolation import SCALE_SITES
from bayescale.likelihood import RUN_FREE
from bayescale.sites import display_name

RHAT_MAX = 1.01
ESS_MIN = 400
BFMI_MIN = 0.3
#: Fewest warm-up iterations a failure message does not blame: Stan's adaptation windows
#: (75 + 25 + 50) need 150 to adapt the step size and mass matrix once.
SHORT_WARMUP = 150
#: Largest Pareto k-hat of an importance-sampled fit's weights that is trusted (Vehtari et al.).
KHAT_MAX = 0.7
#: Draws pile against a prior's bound when more than :data:`PILE_SHARE` of them lie within
#: :data:`PILE_WIDTH` of their 1-99 % span of it. Flat draws put about 5 % there (7.5 % in one
#: of a hundred sets of 400), a normal cut off half a standard deviation from its mode 8 %, one
#: cut off at its mode 10 %, one whose mode lies past the bound more (20 % for an exponential).
PILE_SHARE = 0.09
PILE_WIDTH = 0.05
#: How a fit's message names its second try (:func:`bayescale.fit`'s ``retry``).
RETRY_TEXT = "drawn again with twice the warm-up and draws"


def _fitted_groups(post: Any) -> xr.DataTree:
    """Return the tree of fitted groups (``draws_tree`` where one is kept, else ``tree``)."""
    if isinstance(post, xr.DataTree):
        tree = post
    elif hasattr(post, "draws_tree") or hasattr(post, "tree"):
        return post.draws_tree if hasattr(post, "draws_tree") else post.tree
    else:
        raise TypeError(
            f"diagnose takes a fit (the posterior bs.fit returns) or its DataTree, got a "
            f"{type(post).__name__}; e.g. post = bs.fit(bs.Model(), runs), then bs.diagnose(post)."
        )
    missing = [g for g in ("posterior", "sample_stats") if g not in tree.children]
    if missing:
        raise ValueError(
            f"diagnose: the DataTree has no {' or '.join(missing)} group; give a fit's tree "
            "(post.tree) or the fit itself."
        )
    return tree


def diagnose(post: Any, warn: bool = True) -> pd.DataFrame:
    """Diagnostics of every sampled and derived posterior quantity.

    ``post`` is a posterior (anything with a ``tree``) or an ArviZ DataTree. Returns a table
    indexed by parameter (``"E"``, ``"z_a__family[f1]"``...) with columns ``r_hat``,
    ``ess_bulk``, ``ess_tail`` and ``ok``. Its ``attrs`` hold the sampler checks:
    ``method`` (``"nuts"`` or ``"psis"``), ``divergences``, ``max_treedepth_hits`` (counted
    from ``reached_max_treedepth``, which the engine computes), ``bfmi_min``
    (``arviz_stats.bfmi``) and the overall ``ok``. When ``warn`` is true, a
    :class:`~bayescale.errors.ConvergenceWarning` says which checks failed: R-hat above 1.01,
    bulk or tail ESS below 400, any divergence, or E-BFMI below 0.3. Draws at the maximum tree
    depth are counted and reported but do not fail a fit: a transition cut short there is still
    valid, only less efficient, and the R-hat and ESS checks see what it costs the draws (where
    they pass, a :class:`~bayescale.errors.SamplerEfficiencyWarning` says how many were cut
    short). A fit that passes with none, but whose Student-t degrees of freedom fall below 1,
    gets a :class:`~bayescale.errors.HeavyTailWarning`. An importance-sampled fit
    (``method="psis"``) is checked by its weights instead: Pareto k-hat at most
    :data:`KHAT_MAX` and importance ESS at least 400 (``pareto_k`` and ``ess_importance`` in
    ``attrs``; no R-hat).

    Parameters
    ----------
    post : ScalingPosterior, TwoStepPosterior or xarray.DataTree
        The fit, or a DataTree with ``posterior`` and ``sample_stats`` groups.
    warn : bool
        Warn when a check fails.

    Returns
    -------
    pandas.DataFrame
        One row per quantity (the worst of its coordinates, where the fit has a law), the
        sampler checks in ``attrs``.

    Warns
    -----
    ConvergenceWarning
        With ``warn``, when any check fails; the message says which and what to try.
    SamplerEfficiencyWarning
        With ``warn``, when every check passes but some draws hit the maximum tree depth.

    Examples
    --------
    >>> table = bs.diagnose(post)
    >>> table.columns.tolist()
    ['ess_bulk', 'ess_tail', 'r_hat', 'ok']
    >>> bool(table["ok"].all())  # every quantity's R-hat and ESS pass
    True
    >>> table.attrs["method"], table.attrs["divergences"], table.attrs["ok"]
    ('nuts', 0, True)
    """
    warn = arguments.flag(warn, "warn")
    tree = _fitted_groups(post)
    posterior = tree["posterior"].to_dataset()
    # A quantity equal in every draw has nothing to mix (the effect of a single run, whose
    # offset is fixed at zero by the trend constraint): no R-hat or ESS to check.
    constant = [k for k, v in posterior.data_vars.items() if v.size and np.ptp(v.values) == 0]
    # ... but a parameter of one value per draw that never changed is a sampler that never
    # moved (no warm-up, say): it fails, with no effective draws.
    stuck = [str(k) for k in constant if set(posterior[k].dims) <= {"chain", "draw"}]
    # The learned extrapolation error's scales are drawn from its grid posterior, independently
    # per draw and after the fit (on the first prediction): not the sampler's to check.
    # (a two-step fit's link prefixes its own: ``link__extrap_offset``)
    drawn_after = [k for k in posterior.data_vars if str(k).rsplit("__", 1)[-1] in SCALE_SITES]
    if constant or drawn_after:
        tree = tree.copy()
        tree["posterior"] = xr.DataTree(posterior.drop_vars(constant + drawn_after))
    stats = tree["sample_stats"]
    if "pareto_k" in stats:
        table, sampler = _importance_table(tree, stats)
    else:
        table, sampler = _nuts_table(tree, stats)
        never_moved = pd.DataFrame(
            {"ess_bulk": 0.0, "ess_tail": 0.0, "r_hat": np.inf}, index=pd.Index(stuck)
        )
        table = pd.concat([table, never_moved]) if len(table) else never_moved
    law = getattr(post, "law", None)
    # the sampler's coordinate behind each worst value (a message names it beside the summary's)
    sites = {
        "r_hat": str(table["r_hat"].idxmax()) if table["r_hat"].notna().any() else None,
        "ess_bulk": str(table["ess_bulk"].idxmin()) if table["ess_bulk"].notna().any() else None,
        "ess_tail": str(table["ess_tail"].idxmin()) if table["ess_tail"].notna().any() else None,
    }
    if law is not None:  # the names summary() shows; each row the worst of its coordinates
        names = [display_name(str(i), law) for i in table.index]
        order = list(dict.fromkeys(names))
        worst = {"ess_bulk": "min", "ess_tail": "min", "r_hat": "max"}
        table = table.groupby(names, sort=False).agg(worst).reindex(order)
    posterior = tree["posterior"]
    nu = float(posterior["nu"].median()) if "nu" in posterior else None
    settings = getattr(post, "settings", None) or {}  # a DataTree has none
    table.attrs.update(
        {
            **sampler,
            "rhat_max": float(table["r_hat"].max()),
            "ess_bulk_min": float(table["ess_bulk"].min()),
            "ess_tail_min": float(table["ess_tail"].min()),
            "nu_median": nu,
            # a fit drawn again after its first try failed (bs.fit's retry) says so
            "retried_after": settings.get("retried_after"),
            "retried_non_centred": bool(settings.get("retried_non_centred")),
            "target_accept": settings.get("target_accept"),
            "max_tree_depth": settings.get("max_tree_depth"),
            "warmup": settings.get("warmup"),
            "never_moved": list(
                dict.fromkeys(stuck if law is None else (display_name(k, law) for k in stuck))
            ),
            "retried_deeper": bool(settings.get("retried_deeper")),
            "worst_sites": sites,
            "checkpoints": "constant_data" in tree.children and "code_run" in tree["constant_data"],
            # law parameters whose draws pile against a bound of their prior (a fit's own)
            "prior_bounds": (
                post.piled_at_prior_bounds() if hasattr(post, "piled_at_prior_bounds") else []
            ),
        }
    )
    if table.attrs["method"] == "nuts":
        table["ok"] = (
            (table["r_hat"] <= RHAT_MAX)
            & (table["ess_bulk"] >= ESS_MIN)
            & (table["ess_tail"] >= ESS_MIN)
        )
        a = table.attrs
        # draws at the maximum tree depth are an efficiency matter (see efficiency_message)
        a["ok"] = bool(table["ok"].all()) and a["divergences"] == 0 and a["bfmi_min"] >= BFMI_MIN
    else:
        a = table.attrs
        a["ok"] = importance_ok(a["pareto_k"], a["ess_importance"])
        table["ok"] = a["ok"]
    if warn:
        warn_if_needed(table, stacklevel=3)
    return table


def piled_at_bound(draws: Any, lower: float, upper: float) -> tuple[float, float] | None:
    """Return ``(bound, share)`` where the draws pile against ``lower`` or ``upper``, else None.

    Parameters
    ----------
    draws : array
        Draws of one scalar quantity.
    lower, upper : float
        The bounds of its prior's support (infinite where it has none).

    Returns
    -------
    tuple of (float, float) or None
        The bound and the share of draws within :data:`PILE_WIDTH` of the draws' 1-99 % span of
        it, where that share exceeds :data:`PILE_SHARE`.

    Examples
    --------
    >>> from bayescale.diagnostics import piled_at_bound
    >>> rng = np.random.default_rng(0)
    >>> piled_at_bound(rng.exponential(size=4000), 0.0, np.inf)  # its mode past the bound
    (0.0, 0.2...)
    >>> print(piled_at_bound(rng.uniform(size=4000), 0.0, 1.0))  # flat: nothing to say
    None
    >>> print(piled_at_bound(3 + rng.normal(size=4000), 0.0, np.inf))  # three sds inside
    None
    """
    v = np.ravel(np.asarray(draws, float))
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    lo, hi = np.quantile(v, [0.01, 0.99])
    span = hi - lo
    if not span > 0:
        return None
    for bound in (lower, upper):
        if np.isfinite(bound):
            share = float(np.mean(np.abs(v - bound) <= PILE_WIDTH * span))
            if share > PILE_SHARE:
                return float(bound), share
    return None


def prior_bound_message(table: pd.DataFrame) -> str | None:
    """Return the warning for draws piled against a prior's bound (``attrs["prior_bounds"]``).

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`diagnose`.

    Returns
    -------
    str or None
        The message of a :class:`~bayescale.errors.PriorBoundWarning`, or ``None``.

    Examples
    --------
    >>> from bayescale.diagnostics import prior_bound_message
    >>> print(prior_bound_message(bs.diagnose(post, warn=False)))  # default priors: no bounds
    None
    """
    hits = table.attrs.get("prior_bounds") or []
    if not hits:
        return None
    parts = [
        f"The draws of {site} pile against its prior's bound {bound:g}: {100 * share:.0f} % of "
        f"them lie within {100 * PILE_WIDTH:.0f} % of their spread of it ({site} ~ {prior})"
        for site, prior, bound, share in hits
    ]
    return (
        "; ".join(parts)
        + ". The data pull it past what the prior allows, so the bound, not the data, sets it, "
        "and the law's other parameters bend to make up for it (the fit may pass every other "
        "check). Widen the prior past the bound, or drop the bound (priors={...})."
    )


def warn_if_needed(table: pd.DataFrame, stacklevel: int = 2) -> None:
    """Issue the warning a diagnostics table calls for, if any.

    A :class:`~bayescale.errors.ConvergenceWarning` (:func:`failure_message`) where a check
    failed; else a :class:`~bayescale.errors.SamplerEfficiencyWarning`
    (:func:`efficiency_message`) where draws hit the maximum tree depth; else a
    :class:`~bayescale.errors.HeavyTailWarning` where the Student-t's degrees of freedom fall
    below 1 (:func:`heavy_tail_message`; the other two messages hold that advice too); else
    nothing.

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`diagnose` (its ``attrs`` are read).
    stacklevel : int
        Passed to :func:`warnings.warn`, counted from the caller of this function.

    Examples
    --------
    >>> import warnings
    >>> from bayescale.diagnostics import warn_if_needed
    >>> table = bs.diagnose(post, warn=False)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_if_needed(table)
    ...     table.attrs["max_treedepth_hits"] = 12
    ...     warn_if_needed(table)
    >>> [w.category.__name__ for w in caught]
    ['SamplerEfficiencyWarning']
    """
    found = warning_for(table)
    if found is not None:
        category, message = found
        warnings.warn(message, category, stacklevel=stacklevel + 1)
    if (note := prior_bound_message(table)) is not None:  # whether or not the checks pass
        warnings.warn(note, PriorBoundWarning, stacklevel=stacklevel + 1)


def warning_for(table: pd.DataFrame) -> tuple[type[Warning], str] | None:
    """Return the warning a diagnostics table calls for, as ``(category, message)``, or ``None``.

    What :func:`warn_if_needed` issues, for callers that show it their own way (the command
    line prints it); the note of draws piled against a prior's bound, which it issues beside
    any of these, is :func:`prior_bound_message`'s.

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`diagnose` (its ``attrs`` are read).

    Returns
    -------
    tuple of (type, str) or None
        A :class:`~bayescale.errors.ConvergenceWarning`,
        :class:`~bayescale.errors.SamplerEfficiencyWarning` or
        :class:`~bayescale.errors.HeavyTailWarning` and its message, in that order of precedence.

    Examples
    --------
    >>> from bayescale.diagnostics import warning_for
    >>> warning_for(bs.diagnose(post, warn=False)) is None
    True
    """
    if not table.attrs["ok"]:
        return ConvergenceWarning, failure_message(table)
    if (note := efficiency_message(table)) is not None:
        return SamplerEfficiencyWarning, note
    if (note := heavy_tail_message(table)) is not None:
        return HeavyTailWarning, note
    return None


def heavy_tail_message(table: pd.DataFrame) -> str | None:
    """Return the note for a fit whose Student-t degrees of freedom fall below 1, else ``None``.

    The draws can be valid and the fit still say that a few rows lie tens of noise scales off
    the law: a new point's predictive then has no mean. A failed fit's message and a passing
    fit's efficiency note carry the same advice.

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`diagnose` (its ``attrs`` are read: ``nu_median``).

    Returns
    -------
    str or None
        The message of the :class:`~bayescale.errors.HeavyTailWarning` that :func:`warn_if_needed`
        issues, or ``None`` where the likelihood has no ``nu``, its median is at least 1, or
        the fit failed a check (:func:`failure_message` says it).

    Examples
    --------
    >>> from bayescale.diagnostics import heavy_tail_message
    >>> table = bs.diagnose(post, warn=False)
    >>> heavy_tail_message(table) is None
    True
    >>> table.attrs["nu_median"] = 0.63
    >>> print(heavy_tail_message(table))
    The fit passed its diagnostics. The Student-t degrees of freedom sit at 0.63, below 1: ...
    """
    nu = table.attrs.get("nu_median")
    if nu is None or not nu < 1 or not table.attrs["ok"]:
        return None  # a failed fit's message says it
    return "The fit passed its diagnostics." + _heavy_tail_advice(nu)


def efficiency_message(table: pd.DataFrame) -> str | None:
    """Say how many draws of a passing NUTS fit hit the maximum tree depth (``None``: none).

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`diagnose` (its ``attrs`` are read).

    Returns
    -------
    str or None
        The message of the :class:`~bayescale.errors.SamplerEfficiencyWarning`, or ``None``
        where the fit is importance-sampled, failed a check (its
        :class:`~bayescale.errors.ConvergenceWarning` names the hits), or no draw hit it.

    Examples
    --------
    >>> from bayescale.diagnostics import efficiency_message
    >>> table = bs.diagnose(post, warn=False)
    >>> efficiency_message(table) is None
    True
    >>> table.attrs["max_treedepth_hits"] = 12
    >>> print(efficiency_message(table))
    12 draw(s) hit the maximum tree depth: those transitions were cut short. They are still
    valid, and R-hat and ESS pass, so the draws can be used; ...
    """
    a = table.attrs
    if a.get("method") != "nuts" or not a["ok"] or not a["max_treedepth_hits"]:
        return None
    return (
        f"{a['max_treedepth_hits']} draw(s) hit the maximum tree depth: those transitions were "
        "cut short. They are still valid, and R-hat and ESS pass, so the draws can be used; "
        "the sampler was slower than it need be. Where it matters, raise max_tree_depth= "
        "(--max-tree-depth; longer trajectories, each slower), or look for a ridge between "
        "parameters (a law whose terms trade off over the data's range) that a tighter prior or "
        "fewer effects would remove."
        + (_heavy_tail_advice(nu) if (nu := a.get("nu_median")) and nu < 1 else "")
    )


def importance_ok(pareto_k: float, ess: float) -> bool:
    """Return whether importance weights can be trusted: k-hat <= 0.7 and ESS >= 400.

    Parameters
    ----------
    pareto_k : float
        Pareto k-hat of the weights' upper tail.
    ess : float
        Importance effective sample size.

    Returns
    -------
    bool
        Whether ``pareto_k`` is finite and at most :data:`KHAT_MAX` and ``ess`` at least 400.

    Examples
    --------
    >>> from bayescale.diagnostics import importance_ok
    >>> importance_ok(0.4, 850)
    True
    >>> importance_ok(0.9, 850)  # weights too heavy-tailed: fit with NUTS instead
    False
    """
    return bool(np.isfinite(pareto_k) and pareto_k <= KHAT_MAX and ess >= ESS_MIN)


def _nuts_table(tree: xr.DataTree, stats: xr.DataTree) -> tuple[pd.DataFrame, dict]:
    """R-hat and ESS of every quantity, and NUTS's sampler checks.

    A single chain is split in halves first (ArviZ's R-hat needs two chains; Stan's split
    R-hat of one chain compares its halves the same way).
    """
    posterior = tree["posterior"].to_dataset()
    sampler = {
        "method": "nuts",
        "divergences": int(stats["diverging"].values.sum()),
        "max_treedepth_hits": int(stats["reached_max_treedepth"].values.sum()),
        "bfmi_min": float(np.min(np.asarray(arviz_stats.bfmi(tree)["energy"]))),
    }
    if not posterior.data_vars:  # every quantity constant: nothing for ArviZ to check
        return pd.DataFrame(columns=["ess_bulk", "ess_tail", "r_hat"], dtype=float), sampler
    if posterior.sizes.get("chain") == 1 and posterior.sizes.get("draw", 0) >= 8:
        half = posterior.sizes["draw"] // 2
        halves = xr.concat(
            [
                posterior.isel(chain=0, draw=slice(0, half)),
                posterior.isel(chain=0, draw=slice(half, 2 * half)).assign_coords(
                    draw=posterior["draw"].values[:half]
                ),
            ],
            dim="chain",
        ).assign_coords(chain=[0, 1])
        checked = xr.DataTree.from_dict({"posterior": halves})
    else:
        checked = tree
    with np.errstate(divide="ignore", invalid="ignore"):  # chains stuck apart: R-hat inf
        table = arviz_stats.summary(checked, kind="diagnostics", round_to="none")
    return table[["ess_bulk", "ess_tail", "r_hat"]].astype(float), sampler


def _quantity_names(posterior: xr.Dataset) -> list[str]:
    """``var`` or ``var[coord, ...]`` of every scalar quantity, as ``arviz_stats.summary``."""
    names = []
    for k, v in posterior.data_vars.items():
        dims = [d for d in v.dims if d not in ("chain", "draw")]
        if not dims:
            names.append(str(k))
            continue
        labels = [[str(c) for c in v[d].values] for d in dims]
        names.extend(f"{k}[{', '.join(c)}]" for c in itertools.product(*labels))
    return names


def importance_ess(stats: xr.Dataset | xr.DataTree) -> float:
    """Return an importance-sampled fit's effective sample size: the lowest of its fits'.

    Parameters
    ----------
    stats : xarray.Dataset or DataTree
        The fit's ``sample_stats``, with ``ess_importance``.

    Returns
    -------
    float

    Examples
    --------
    >>> from bayescale.diagnostics import importance_ess
    >>> quick = bs.fit(bs.Model(), runs, method="psis", seed=0)
    >>> checked = quick.diagnostics(warn=False).attrs["ess_importance"]
    >>> importance_ess(quick.tree["sample_stats"]) == checked
    True
    """
    return float(np.min(stats["ess_importance"].values))


def _importance_table(tree: xr.DataTree, stats: xr.DataTree) -> tuple[pd.DataFrame, dict]:
    """Check an importance-sampled fit by its weights' Pareto k-hat and effective sample size.

    Its draws are resampled from weighted proposals, so neither R-hat nor the autocorrelation
    ESS of the resampled draws measures anything (duplicates look like perfect mixing): every
    quantity gets the weights' ESS and no R-hat.
    """
    khat = float(np.max(stats["pareto_k"].values))
    ess = importance_ess(stats)
    names = _quantity_names(tree["posterior"].to_dataset())
    table = pd.DataFrame({"ess_bulk": ess, "ess_tail": ess, "r_hat": np.nan}, index=names)
    return table, (
        {
            "method": "psis",
            "pareto_k": khat if np.isfinite(khat) else np.inf,
            "ess_importance": ess,
        }
    )


def centred_run_funnel(table: pd.DataFrame) -> bool:
    """Return whether ``sd_run`` fails its checks, worst of all sites, with centred run effects.

    Centred run effects (sampled site ``r_run_free``) with a Student-t likelihood (site ``nu``)
    form a funnel with ``sd_run`` when the scale sits near zero: the per-run offsets are then
    about as uncertain as their spread (GPT-3's curves: ``sd_run`` 0.004, noise 0.009 over 7
    checkpoints a run). A normal likelihood integrates the effects out by default
    (``marginal_run``) and records ``r_run_free`` as draws, not as a sampled site. A fit that
    shows it is told to sample the run effects non-centred, and :func:`bayescale.fit`'s retry
    does so (:meth:`bayescale.Model.non_centred_run`).

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`diagnose` (its rows are read).

    Returns
    -------
    bool
        True where the fit has centred run effects and a Student-t likelihood, and ``sd_run``
        has the worst R-hat (above 1.01) or the worst bulk ESS (below 400) of all sites.

    Examples
    --------
    >>> from bayescale.diagnostics import centred_run_funnel
    >>> centred_run_funnel(bs.diagnose(post, warn=False))  # no run effects
    False
    """
    if "sd_run" not in table.index or "nu" not in table.index:
        return False
    if not any(str(site).startswith(f"r_{RUN_FREE}[") for site in table.index):
        return False
    sd_run = table.loc["sd_run"]
    fails_rhat = sd_run["r_hat"] > RHAT_MAX and sd_run["r_hat"] == table["r_hat"].max()
    fails_ess = sd_run["ess_bulk"] < ESS_MIN and sd_run["ess_bulk"] == table["ess_bulk"].min()
    return bool(fails_rhat or fails_ess)


def failed_checks(table: pd.DataFrame) -> str:
    """Return the failed checks of a NUTS fit's :func:`diagnose` table, in one short line.

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`diagnose` of a NUTS fit (its ``attrs`` are read).

    Returns
    -------
    str
        The failed checks with their values and thresholds, ``"; "``-joined (``""`` where none
        failed).

    Examples
    --------
    >>> from bayescale.diagnostics import failed_checks
    >>> table = bs.diagnose(post, warn=False)
    >>> failed_checks(table)
    ''
    >>> table.attrs.update(rhat_max=1.016, divergences=2)
    >>> failed_checks(table)
    'R-hat 1.0160 > 1.01; 2 divergent transition(s)'
    """
    a = table.attrs
    checks = [
        (a["rhat_max"] > RHAT_MAX, f"R-hat {rhat_text(a['rhat_max'])} > {RHAT_MAX}"),
        (a["ess_bulk_min"] < ESS_MIN, f"bulk ESS {a['ess_bulk_min']:.0f} < {ESS_MIN}"),
        (a["ess_tail_min"] < ESS_MIN, f"tail ESS {a['ess_tail_min']:.0f} < {ESS_MIN}"),
        (a["divergences"] > 0, f"{a['divergences']} divergent transition(s)"),
        (a["bfmi_min"] < BFMI_MIN, f"E-BFMI {a['bfmi_min']:.2f} < {BFMI_MIN}"),
    ]
    missing = [c for c in ("r_hat", "ess_bulk", "ess_tail") if table[c].isna().any()]
    if missing:
        checks.append((True, f"{', '.join(missing)} could not be computed"))
    return "; ".join(text for failed, text in checks if failed)


def rhat_text(rhat: float) -> str:
    """Return an R-hat as text, with the digits that show which side of the check it is on.

    Four decimals, more where those would print the threshold for a value above it
    (``1.01004`` is a failure, not ``1.0100``).

    Parameters
    ----------
    rhat : float
        The R-hat.

    Returns
    -------
    str
        The value with four to eight decimals (``"nan"`` where it is not finite).

    Examples
    --------
    >>> from bayescale.diagnostics import rhat_text
    >>> rhat_text(1.00213), rhat_text(1.010042), rhat_text(float("nan"))
    ('1.0021', '1.01004', 'nan')
    """
    if not np.isfinite(rhat):
        return str(rhat)
    for digits in range(4, 9):
        text = f"{rhat:.{digits}f}"
        if (float(text) > RHAT_MAX) == (rhat > RHAT_MAX):
            return text
    return text


def _heavy_tail_advice(nu: float) -> str:
    """Return the advice for a Student-t whose degrees of freedom fall below 1.

    Part of a failed fit's advice, and of a passing one's efficiency note.
    """
    return (
        f" The Student-t degrees of freedom sit at {nu:.2f}, below 1: a few rows lie tens "
        "of noise scales off the law (a run's unstable start or a loss spike, most likely), "
        "and the predictive of a new point has no mean (some of its draws overflow). Find "
        "those rows (bs.plotting.plot_fit(post) draws every curve beside the law) and drop "
        "them explicitly. A normal likelihood would let them pull the law: on Muennighoff et "
        "al.'s single-epoch C4 curves, whose 8.7B run starts 21 % above the law, it put the "
        "held-out checkpoints 7.6 % off, against 1.1 % with the Student-t."
    )


def failure_message(table: pd.DataFrame) -> str:
    """One paragraph saying which checks failed and what to try.

    The text of the :class:`~bayescale.errors.ConvergenceWarning` of :func:`diagnose`.

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`diagnose` (its ``attrs`` are read).

    Returns
    -------
    str
        The failed checks with their values and thresholds, then advice.

    Examples
    --------
    300 importance-sampled draws cannot reach the effective sample size of 400 the check
    needs:

    >>> import warnings
    >>> from bayescale.diagnostics import failure_message
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", bs.ConvergenceWarning)
    ...     quick = bs.fit(bs.Model(), runs, chains=1, draws=300, method="psis")
    >>> print(failure_message(bs.diagnose(quick, warn=False)))
    The importance-sampled fit failed its diagnostics: Pareto k-hat ... importance ESS ...
    (>= 400 needed): the weights are sound but too few to reach the ESS. Run more draws ...
    """
    a = table.attrs
    if a.get("method") == "psis":
        head = (
            f"The importance-sampled fit failed its diagnostics: Pareto k-hat "
            f"{a['pareto_k']:.2f} (<= {KHAT_MAX} needed), importance ESS "
            f"{a['ess_importance']:.0f} (>= {ESS_MIN} needed): "
        )
        if np.isfinite(a["pareto_k"]) and a["pareto_k"] <= KHAT_MAX:
            return head + (
                "the weights are sound but too few to reach the ESS. Run more draws (draws=, "
                "--draws; chains=, --chains), or fit it with NUTS (method='nuts', --method nuts)."
            )
        return head + (
            "the Laplace proposal misses part of the posterior. Fit it with NUTS "
            "(method='nuts', --method nuts), or let method='auto' (--method auto) do so for the "
            "fits that fail."
        )
    problems = []
    sites = a.get("worst_sites") or {}
    renamed = []

    def where(column: str, name: str) -> str:
        """Return the row's name, and the sampled coordinate behind it where that differs."""
        site = sites.get(column)
        if site is None or site == name:
            return name
        renamed.append(name)
        return f"{name}, sampled as {site}"

    stuck = a.get("never_moved") or []
    if stuck:
        shown = ", ".join(stuck[:4]) + (", ..." * (len(stuck) > 4))
        problems.append(f"every draw of {shown} is the same value: the sampler never moved")
    elif a["rhat_max"] > RHAT_MAX:
        worst = where("r_hat", table["r_hat"].idxmax())
        problems.append(f"R-hat up to {rhat_text(a['rhat_max'])} ({worst}) > {RHAT_MAX}")
    elif table["r_hat"].isna().any():
        missing = ", ".join(table.index[table["r_hat"].isna()][:3])
        problems.append(f"R-hat could not be computed ({missing}): run more draws")
    if a["ess_bulk_min"] < ESS_MIN and not stuck:
        worst = where("ess_bulk", table["ess_bulk"].idxmin())
        problems.append(f"bulk ESS down to {a['ess_bulk_min']:.0f} ({worst}) < {ESS_MIN}")
    if a["ess_tail_min"] < ESS_MIN and not stuck:
        worst = where("ess_tail", table["ess_tail"].idxmin())
        problems.append(f"tail ESS down to {a['ess_tail_min']:.0f} ({worst}) < {ESS_MIN}")
    if a["divergences"]:
        problems.append(f"{a['divergences']} divergent transition(s)")
    if a["bfmi_min"] < BFMI_MIN:
        problems.append(f"E-BFMI {a['bfmi_min']:.2f} < {BFMI_MIN}")
    if a["max_treedepth_hits"]:  # not a check of its own; it tells how the sampler struggled
        problems.append(
            ("and " if problems else "")
            + f"{a['max_treedepth_hits']} draw(s) hit the maximum tree depth (not a failure "
            "alone)"
        )
    raise_accept = (a.get("target_accept") or 0.0) < 0.99
    depth = a.get("max_tree_depth") or 0
    raise_depth = bool(a["max_treedepth_hits"]) and depth < MAX_TREE_DEPTH
    warmup = a.get("warmup")
    short_warmup = warmup is not None and warmup < SHORT_WARMUP
    advice = (
        ". Do not trust its intervals yet: "
        + (
            f"warm up longer (warmup=, --warmup; this fit's {warmup} iterations are too few "
            "to adapt the step size and mass matrix), "
            if short_warmup
            else ""
        )
        + "run more draws (draws=, --draws), "
        + ("raise target_accept (target_accept=, --target-accept), " if raise_accept else "")
        + ("raise max_tree_depth (max_tree_depth=, --max-tree-depth), " if raise_depth else "")
        + "simplify the effects, or give tighter priors."
    )
    if centred_run_funnel(table):
        advice += (
            " The per-run scale sd_run mixes worst, with the run effects sampled centred (the "
            "auto rule centres them with 4 or more runs of 5 or more rows each): refit with "
            "centered=False (bs.Model(centered=False); on the command line --preset FILE, a "
            "preset TOML with a top-level centered = false line above its [law] table). On "
            "GPT-3's and OPT's curves that removed the funnel (E-BFMI 0.27-0.47 centred, "
            "0.74-0.78 not); the divergences some of those fits kept lie on the law's own ridge "
            "(a low E traded against a flat data term, which a short range of tokens per run "
            "cannot tell apart)."
        )
    nu = a.get("nu_median")
    if nu is not None and nu < 1:
        advice += _heavy_tail_advice(nu)
    elif nu is not None and nu < 3 and (a["max_treedepth_hits"] or a["divergences"]):
        advice += f" The Student-t degrees of freedom sit near {nu:.1f}: " + (
            "for checkpoints of training curves use likelihood='normal' (--likelihood normal) "
            "with the per-run effect, as docs/models.md recommends."
            if a.get("checkpoints")
            else "the residuals are very heavy-tailed; look for outlying runs, or curves whose "
            "losses are in different units, before trusting the law."
        )
    if renamed:
        advice += (
            " The checks read the coordinates the sampler moves (a sampled site beside the "
            "summary's name); summary() computes R-hat and ESS of the natural parameters "
            "themselves, which can pass where these fail."
        )
    head = "The fit failed its diagnostics: "
    if a.get("retried_after"):
        head = (
            f"The fit failed its diagnostics twice (first try: {a['retried_after']}; this, "
            f"{RETRY_TEXT}"
            + (
                f", at target_accept {a['target_accept']:g}"
                if "divergent" in a["retried_after"] and not raise_accept
                else ""
            )
            + (f", at max_tree_depth {a['max_tree_depth']}" if a.get("retried_deeper") else "")
            + (", its run effects non-centred" if a.get("retried_non_centred") else "")
            + "): "
        )
    return head + "; ".join(problems) + advice


def checks(table: pd.DataFrame) -> pd.DataFrame:
    """Return the fit's checks as a table: ``check``, ``value`` and ``threshold``, one row each.

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`diagnose` (its ``attrs`` are read).

    Returns
    -------
    pandas.DataFrame
        Six rows for a NUTS fit, two (Pareto k-hat, importance ESS) for an importance-sampled
        one.

    Examples
    --------
    >>> from bayescale.diagnostics import checks
    >>> table = checks(bs.diagnose(post))
    >>> table[["check", "threshold"]]
                     check threshold
    0            max R-hat            <= 1.01
    1         min bulk ESS             >= 400
    2         min tail ESS             >= 400
    3          divergences                  0
    4  max tree depth hits  (efficiency only)
    5           min E-BFMI             >= 0.3
    >>> float(table["value"].iloc[3])  # divergences
    0.0
    """
    a = table.attrs
    if a.get("method") == "psis":
        rows = [
            ("Pareto k-hat", a["pareto_k"], f"<= {KHAT_MAX}"),
            ("importance ESS", a["ess_importance"], f">= {ESS_MIN}"),
        ]
    else:
        rows = [
            ("max R-hat", a["rhat_max"], f"<= {RHAT_MAX}"),
            ("min bulk ESS", a["ess_bulk_min"], f">= {ESS_MIN}"),
            ("min tail ESS", a["ess_tail_min"], f">= {ESS_MIN}"),
            ("divergences", a["divergences"], "0"),
            ("max tree depth hits", a["max_treedepth_hits"], "(efficiency only)"),
            ("min E-BFMI", a["bfmi_min"], f">= {BFMI_MIN}"),
        ]
    return pd.DataFrame(rows, columns=["check", "value", "threshold"])


def format_report(table: pd.DataFrame) -> str:
    """Short human-readable diagnostics text.

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`diagnose` (its ``attrs`` are read).

    Returns
    -------
    str
        One line: ``OK`` or ``FAILED`` and the value of every check.

    Examples
    --------
    >>> from bayescale.diagnostics import format_report
    >>> print(format_report(bs.diagnose(post)))
    diagnostics OK: max R-hat ..., min bulk ESS ..., min tail ESS ..., divergences 0,
    max-tree-depth hits 0, min E-BFMI ...
    """
    a = table.attrs
    status = "OK" if a["ok"] else "FAILED"
    if a.get("method") == "psis":
        return (
            f"diagnostics {status} (importance sampling): Pareto k-hat {a['pareto_k']:.2f}, "
            f"importance ESS {a['ess_importance']:.0f}"
        )
    return (
        f"diagnostics {status}: max R-hat {rhat_text(a['rhat_max'])}, min bulk ESS "
        f"{a['ess_bulk_min']:.0f}, min tail ESS {a['ess_tail_min']:.0f}, divergences "
        f"{a['divergences']}, max-tree-depth hits {a['max_treedepth_hits']}, "
        f"min E-BFMI {a['bfmi_min']:.2f}"
    )
