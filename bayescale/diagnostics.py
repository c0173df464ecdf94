"""Convergence diagnostics of a fit, with warnings when any check fails."""

from __future__ import annotations

import warnings
from typing import Any

import arviz_stats
import numpy as np
import pandas as pd
import xarray as xr

from bayescale.errors import ConvergenceWarning
from bayescale.sites import display_name

RHAT_MAX = 1.01
ESS_MIN = 400
BFMI_MIN = 0.3


def _fitted_groups(post: Any) -> xr.DataTree:
    """Return the tree of fitted groups (``draws_tree`` where one is kept, else ``tree``)."""
    return post.draws_tree if hasattr(post, "draws_tree") else post.tree


def diagnose(post: Any, warn: bool = True) -> pd.DataFrame:
    """Diagnostics of every sampled and derived posterior quantity.

    ``post`` is a posterior (anything with a ``tree``) or an ArviZ DataTree. Returns a table
    indexed by parameter (``"E"``, ``"z_a__family[f1]"``...) with columns ``r_hat``,
    ``ess_bulk``, ``ess_tail`` and ``ok``. Its ``attrs`` hold the sampler checks:
    ``divergences``, ``max_treedepth_hits`` (counted from ``reached_max_treedepth``, which the
    engine computes), ``bfmi_min`` (``arviz_stats.bfmi``) and the overall ``ok``. When ``warn``
    is true, a :class:`~bayescale.errors.ConvergenceWarning` says which checks failed: R-hat
    above 1.01, bulk or tail ESS below 400, any divergence, hitting the maximum tree depth, or
    E-BFMI below 0.3.
    """
    tree: xr.DataTree = post if isinstance(post, xr.DataTree) else _fitted_groups(post)
    posterior = tree["posterior"].to_dataset()
    # A quantity equal in every draw has nothing to mix (the effect of a single run, whose
    # offset is fixed at zero by the trend constraint): no R-hat or ESS to check.
    constant = [k for k, v in posterior.data_vars.items() if v.size and np.ptp(v.values) == 0]
    if constant:
        tree = tree.copy()
        tree["posterior"] = xr.DataTree(posterior.drop_vars(constant))
    table = arviz_stats.summary(tree, kind="diagnostics", round_to="none")
    table = table[["ess_bulk", "ess_tail", "r_hat"]].astype(float)
    law = getattr(post, "law", None)
    if law is not None:  # the names summary() shows; each row the worst of its coordinates
        names = [display_name(str(i), law) for i in table.index]
        order = list(dict.fromkeys(names))
        worst = {"ess_bulk": "min", "ess_tail": "min", "r_hat": "max"}
        table = table.groupby(names, sort=False).agg(worst).reindex(order)
    table["ok"] = (
        (table["r_hat"] <= RHAT_MAX)
        & (table["ess_bulk"] >= ESS_MIN)
        & (table["ess_tail"] >= ESS_MIN)
    )
    stats = tree["sample_stats"]
    n_div = int(stats["diverging"].values.sum())
    n_depth = int(stats["reached_max_treedepth"].values.sum())
    bfmi_min = float(np.min(np.asarray(arviz_stats.bfmi(tree)["energy"])))
    ok = bool(table["ok"].all()) and n_div == 0 and n_depth == 0 and bfmi_min >= BFMI_MIN
    posterior = tree["posterior"]
    nu = float(posterior["nu"].median()) if "nu" in posterior else None
    table.attrs.update(
        {
            "divergences": n_div,
            "max_treedepth_hits": n_depth,
            "bfmi_min": bfmi_min,
            "rhat_max": float(table["r_hat"].max()),
            "ess_bulk_min": float(table["ess_bulk"].min()),
            "ess_tail_min": float(table["ess_tail"].min()),
            "ok": ok,
            "nu_median": nu,
            "checkpoints": "constant_data" in tree.children and "code_run" in tree["constant_data"],
        }
    )
    if warn and not ok:
        warnings.warn(failure_message(table), ConvergenceWarning, stacklevel=3)
    return table


def failure_message(table: pd.DataFrame) -> str:
    """One paragraph saying which checks failed and what to try."""
    a = table.attrs
    problems = []
    if a["rhat_max"] > RHAT_MAX:
        worst = table["r_hat"].idxmax()
        problems.append(f"R-hat up to {a['rhat_max']:.3f} ({worst}) > {RHAT_MAX}")
    if a["ess_bulk_min"] < ESS_MIN:
        problems.append(
            f"bulk ESS down to {a['ess_bulk_min']:.0f} ({table['ess_bulk'].idxmin()}) < {ESS_MIN}"
        )
    if a["ess_tail_min"] < ESS_MIN:
        problems.append(
            f"tail ESS down to {a['ess_tail_min']:.0f} ({table['ess_tail'].idxmin()}) < {ESS_MIN}"
        )
    if a["divergences"]:
        problems.append(f"{a['divergences']} divergent transition(s)")
    if a["max_treedepth_hits"]:
        problems.append(f"{a['max_treedepth_hits']} draw(s) hit the maximum tree depth")
    if a["bfmi_min"] < BFMI_MIN:
        problems.append(f"E-BFMI {a['bfmi_min']:.2f} < {BFMI_MIN}")
    advice = (
        ". Do not trust its intervals yet: run more draws (draws=, --draws), raise "
        "target_accept (target_accept=, --target-accept), simplify the effects, or give "
        "tighter priors."
    )
    nu = a.get("nu_median")
    if nu is not None and nu < 3 and (a["max_treedepth_hits"] or a["divergences"]):
        advice += f" The Student-t degrees of freedom sit near {nu:.1f}: " + (
            "for checkpoints of training curves use likelihood='normal' (--likelihood normal) "
            "with the per-run effect, as docs/models.md recommends."
            if a.get("checkpoints")
            else "the residuals are very heavy-tailed; look for outlying runs, or curves whose "
            "losses are in different units, before trusting the law."
        )
    return "The fit failed its diagnostics: " + "; ".join(problems) + advice


def format_report(table: pd.DataFrame) -> str:
    """Short human-readable diagnostics text."""
    a = table.attrs
    status = "OK" if a["ok"] else "FAILED"
    return (
        f"diagnostics {status}: max R-hat {a['rhat_max']:.4f}, min bulk ESS "
        f"{a['ess_bulk_min']:.0f}, min tail ESS {a['ess_tail_min']:.0f}, divergences "
        f"{a['divergences']}, max-tree-depth hits {a['max_treedepth_hits']}, "
        f"min E-BFMI {a['bfmi_min']:.2f}"
    )
