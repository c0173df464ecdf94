"""PSIS-LOO of a fit on the loss scale, comparable across laws and likelihood scales.

:func:`arviz_stats.loo` does the work; this module only puts the fit's pointwise log
likelihood on the loss scale first. A fit on log loss scores densities of ``log y``; the
Jacobian ``-log y`` turns them into densities of ``y`` (``-log y - log(1 - y)`` for a
logit-scale metric), so fits on different scales can be compared on the same data.
"""

from __future__ import annotations

from typing import Any

import arviz_stats
import xarray as xr

from bayescale.likelihood import log_jacobian as _log_jacobian


def log_jacobian(post: Any) -> xr.DataArray | None:
    """Log Jacobian that maps the fit's pointwise log likelihood to the loss scale."""
    if post.model.scale == "linear":
        return None
    y = post.draws_tree["observed_data"]["loss"]
    return y.copy(data=_log_jacobian(y.values, post.model.scale))


def loo(post: Any, pointwise: bool = True):
    """PSIS-LOO of a fit on the loss scale (``arviz_stats.loo`` with the scale's Jacobian).

    Returns arviz-stats' ``ELPDData`` (``elpd``, ``se``, ``p``, Pareto ``k`` per row).
    """
    jac = log_jacobian(post)
    kwargs = {} if jac is None else {"log_jacobian": jac}
    return arviz_stats.loo(post.draws_tree, pointwise=pointwise, var_name="loss", **kwargs)


__all__ = ["log_jacobian", "loo"]
