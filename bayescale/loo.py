"""PSIS-LOO of a fit on the loss scale, comparable across laws and likelihood scales.

:func:`arviz_stats.loo` does the work; this module only puts the fit's pointwise log
likelihood on the loss scale first. A fit on log loss scores densities of ``log y``; the
Jacobian ``-log y`` turns them into densities of ``y`` (``-log y - log(1 - y)`` for a
logit-scale metric), so fits on different scales can be compared on the same data.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import arviz_stats
import numpy as np
import xarray as xr

from bayescale import arguments
from bayescale.errors import SpecificationError
from bayescale.likelihood import log_jacobian as _log_jacobian


def log_jacobian(post: Any) -> xr.DataArray | None:
    """Log Jacobian that maps the fit's pointwise log likelihood to the loss scale.

    Parameters
    ----------
    post : ScalingPosterior
        The fit.

    Returns
    -------
    xarray.DataArray or None
        One value per row of the fitted table (``-log y`` on the log scale, ``-log y -
        log(1 - y)`` on the logit scale); ``None`` for a fit on the linear scale, whose
        densities are of ``y`` already.

    Examples
    --------
    >>> from bayescale.loo import log_jacobian
    >>> jac = log_jacobian(post)  # post is fitted on log loss
    >>> jac.shape
    (35,)
    >>> bool(np.allclose(jac, -np.log(runs["loss"])))
    True
    """
    if post.model.scale == "linear":
        return None
    y = post.draws_tree["observed_data"]["loss"]
    return y.copy(data=_log_jacobian(y.values, post.model.scale))


#: Fewest posterior draws PSIS can smooth: it fits the largest fifth of the importance
#: weights, and at least five of them (arviz-stats refuses fewer).
MIN_PSIS_DRAWS = 25


def require_one_step(post: Any, what: str) -> None:
    """Refuse a two-step fit, whose leave-one-out checks are its steps' (one per column).

    Raises
    ------
    TypeError
        When ``post`` is a :class:`~bayescale.downstream.TwoStepPosterior`, naming its steps.
    """
    if hasattr(post, "loss_posterior") and hasattr(post, "link_posterior"):
        raise TypeError(
            f"{what} takes a one-step fit; a two-step fit's checks are its steps': "
            f"{what}(joint.loss_posterior) for the loss, {what}(joint.link_posterior) for the "
            "metric."
        )


def _pointwise_loglik(post: Any) -> np.ndarray | None:
    """Return the log likelihood of each row, one array row per draw (None without one)."""
    tree = post.draws_tree
    if "log_likelihood" not in tree.children or "loss" not in tree["log_likelihood"]:
        return None
    posterior = tree["posterior"]
    n = posterior.sizes["chain"] * posterior.sizes["draw"]
    return np.asarray(tree["log_likelihood"]["loss"].values).reshape(n, -1)


def require_psis_draws(post: Any, what: str) -> None:
    """Refuse a fit with too few draws for Pareto-smoothed importance sampling.

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    what : str
        What needs the draws (named in the message), e.g. ``"loo"``.

    Raises
    ------
    ValueError
        With fewer than :data:`MIN_PSIS_DRAWS` draws in all, naming how to get more; or when
        every draw gives a row the same log-likelihood (draws that are one point, as an
        importance-sampled fit that found no usable draw leaves): there is no weight to
        smooth.

    Examples
    --------
    >>> from bayescale.loo import require_psis_draws
    >>> require_psis_draws(post, "loo")  # 2 chains of 1000 draws: enough
    """
    posterior = post.draws_tree["posterior"]
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    if chains * draws < MIN_PSIS_DRAWS:
        head = (
            f"{what} needs at least {MIN_PSIS_DRAWS} posterior draws (Pareto smoothing fits the "
            f"largest fifth of the importance weights, five at least); this fit has "
            f"{chains * draws} ({chains} chain(s) x {draws}): refit with more draws"
        )
        raise SpecificationError(
            f"{head} (draws= and chains=)", command_line=f"{head} (--draws and --chains)"
        )
    ll = _pointwise_loglik(post)
    if ll is not None and not np.isfinite(ll).all():  # the weights would be NaN, LOO NaN
        bad = ~np.isfinite(ll)
        rows = np.flatnonzero(bad.any(axis=0))
        raise SpecificationError(
            f"{what} weighs the draws by their likelihood of each row, but it is not finite at "
            f"row(s) {rows[:5].tolist()}{' ...' if rows.size > 5 else ''} of the fitted table "
            f"(in {int(bad.any(axis=1).sum())} of {len(ll)} draws): the law gives no finite "
            "loss there. Fix the law (a custom law that returns NaN or inf?), or fit without "
            "those rows."
        )
    if ll is not None:
        same = np.ptp(ll, axis=0) == 0
        if same.any():
            every = "every row" if same.all() else f"{int(same.sum())} of the {same.size} rows"
            head = (
                f"{what} weighs the draws by their likelihood of each row, but all "
                f"{chains * draws} draws give {every} the same likelihood: the draws are one "
                "point (an importance-sampled fit that found no usable draw leaves only its "
                "mode). Refit with NUTS"
            )
            raise SpecificationError(
                f"{head} (method='nuts')", command_line=f"{head} (--method nuts)"
            )


@contextlib.contextmanager
def smoothable(post: Any, what: str) -> Iterator[None]:
    """Turn ArviZ's failure to smooth a row's weights into the reason and the fix.

    Pareto smoothing fits the largest importance weights of each row; where they are one draw
    repeated (an importance-sampled fit resamples few distinct proposals when its weights
    fail their check), ArviZ stops with "All tail values are the same".

    Parameters
    ----------
    post : ScalingPosterior
        The fit whose draws are smoothed.
    what : str
        What smooths them (named in the message), e.g. ``"loo"``.

    Raises
    ------
    SpecificationError
        When ArviZ cannot smooth a row's weights, naming the fit's distinct draws.

    Examples
    --------
    >>> from bayescale.loo import smoothable
    >>> with smoothable(post, "loo"):
    ...     result = bs.loo(post)
    """
    try:
        yield
    except ValueError as e:
        if "All tail values are the same" not in str(e):
            raise
        ll = _pointwise_loglik(post)
        if ll is None:
            raise
        head = (
            f"{what} smooths the largest importance weights of each row with a Pareto fit, but "
            f"this fit's {len(ll)} draws hold {len(np.unique(ll, axis=0))} distinct ones, so a "
            "row's largest weights are one draw repeated and cannot be smoothed"
        )
        if post.settings.get("method") == "psis":
            head += (
                " (an importance-sampled fit whose weights failed their check resamples few "
                "proposals). Refit with NUTS"
            )
            raise SpecificationError(
                f"{head} (method='nuts')", command_line=f"{head} (--method nuts)"
            ) from None
        head += (
            " (chains that stopped moving). Read its diagnostics (bs.diagnose) and refit with a "
            "longer warm-up and more draws"
        )
        raise SpecificationError(
            f"{head} (warmup=, draws=)", command_line=f"{head} (--warmup, --draws)"
        ) from None


def loo(post: Any, pointwise: bool = True):
    """PSIS-LOO of a fit on the loss scale (``arviz_stats.loo`` with the scale's Jacobian).

    Returns arviz-stats' ``ELPDData`` (``elpd``, ``se``, ``p``, Pareto ``k`` per row).

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    pointwise : bool
        Keep every row's elpd and Pareto ``k`` (needed to compare fits on the same rows).

    Returns
    -------
    arviz_stats.utils.ELPDData
        Expected log pointwise predictive density of the loss, its standard error, the
        effective number of parameters and, with ``pointwise``, Pareto ``k`` per row.

    Examples
    --------
    >>> result = bs.loo(post)
    >>> round(float(result.elpd) / len(runs), 1)  # elpd per run, in nats of the loss
    2.2
    >>> result.pareto_k.shape, bool((result.pareto_k < 0.7).all())
    ((35,), True)
    """
    if not hasattr(post, "draws_tree"):
        raise TypeError(
            f"loo takes a fit (the posterior bs.fit returns), got a {type(post).__name__}; "
            "e.g. post = bs.fit(bs.Model(), runs), then bs.loo(post)."
        )
    require_one_step(post, "bs.loo")
    pointwise = arguments.flag(pointwise, "pointwise")
    require_psis_draws(post, "loo")
    jac = log_jacobian(post)
    kwargs = {} if jac is None else {"log_jacobian": jac}
    with smoothable(post, "loo"):
        return arviz_stats.loo(post.draws_tree, pointwise=pointwise, var_name="loss", **kwargs)


__all__ = ["MIN_PSIS_DRAWS", "log_jacobian", "loo", "require_psis_draws", "smoothable"]
