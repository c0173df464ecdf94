"""bayescale: Bayesian inference for neural scaling laws.

The public style: a :class:`Model` describes a law, its group effects and its likelihood;
every verb is a function that takes the model or the posterior first, as ``arviz_stats``'
functions take a DataTree::

    post = bs.fit(model, runs)                  # or model.fit(runs)
    bs.predict(post, N=7e10, D=1.4e12)          # or post.predict(...)
    bs.frontier(post, compute=1e24)
    bs.prob_below(post, 2.0, N=7e10, D=1.4e12)
    bs.backtest(model, runs)
    bs.compare.compare({"chinchilla": post, "kaplan": other})   # LOO and stacking
    bs.report(post, "report/")

``Model.fit``, ``ScalingPosterior.predict``, ``.diagnostics`` and ``.loo`` are the same functions
as methods (kept for the two most used verbs, and for scripts written against bayescale 0.1).
"""

from bayescale import (
    _runtime,  # noqa: F401  (float64 and host devices before JAX starts)
    compare,
    datasets,
    laws,
    record,
)
from bayescale.calibration import backtest, loo_pit, sbc
from bayescale.cost import TrainingCost
from bayescale.decisions import (
    best_allocation,
    compute_for_target,
    decision_table,
    predicted_isoflop_minima,
    prob_below,
    value_of_runs,
)
from bayescale.diagnostics import diagnose
from bayescale.downstream import TwoStepModel, TwoStepPosterior
from bayescale.errors import (
    ConvergenceWarning,
    DataError,
    DataWarning,
    ExtrapolationWarning,
    HeavyTailWarning,
    PosteriorFileError,
    PriorBoundWarning,
    SamplerEfficiencyWarning,
    SpecificationError,
    UnknownNameError,
)
from bayescale.fit import diagnostics_table, fit, fit_many, laplace_many
from bayescale.frontier import frontier
from bayescale.frontier_backtest import frontier_backtest
from bayescale.loo import loo
from bayescale.model import Model
from bayescale.posterior import ScalingPosterior
from bayescale.report import report
from bayescale.saved import load_posterior
from bayescale.simulate import simulate_ladder
from bayescale.terms import Term

__version__ = "0.2.0"


def predict(post: ScalingPosterior, **kwargs):
    """Posterior draws of the loss at new inputs: :meth:`ScalingPosterior.predict` as a function.

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    **kwargs
        ``kind``, ``new_groups``, ``rng_seed``, the inputs (``N=``, ``D=``, ...) and group
        labels, as for :meth:`ScalingPosterior.predict`.

    Returns
    -------
    xarray.DataArray
        Loss draws, dims ``(chain, draw, point)``.

    Examples
    --------
    >>> loss = bs.predict(post, N=1e9, D=2e10)  # the same as post.predict(N=1e9, D=2e10)
    >>> loss.dims, round(float(loss.median()), 1)
    (('chain', 'draw', 'point'), 2.6)

    Chinchilla's size, almost four decades of compute past this ladder: the interval is wider
    than inside the data, above all from the parameters' uncertainty; the learned
    extrapolation error adds what the ladder's own record says its extrapolations missed (on
    this simulated ladder, whose law is exact, little: 0.163 wide against 0.151 without it):

    >>> far = bs.predict(post, N=7e10, D=1.4e12, kind="mean")
    >>> near = bs.predict(post, N=1e9, D=2e10, kind="mean")
    >>> width = [float(d.quantile(0.95) - d.quantile(0.05)) for d in (near, far)]
    >>> width[1] > width[0]
    True
    """
    if not callable(getattr(post, "predict", None)) or not hasattr(post, "tree"):
        raise TypeError(
            f"bs.predict takes a fit first (the posterior bs.fit returns), got a "
            f"{type(post).__name__}; e.g. post = bs.fit(bs.Model(), runs), then "
            "bs.predict(post, N=..., D=...)."
        )
    return post.predict(**kwargs)


__all__ = [
    "ConvergenceWarning",
    "DataError",
    "DataWarning",
    "ExtrapolationWarning",
    "HeavyTailWarning",
    "Model",
    "PosteriorFileError",
    "PriorBoundWarning",
    "SamplerEfficiencyWarning",
    "ScalingPosterior",
    "SpecificationError",
    "Term",
    "TrainingCost",
    "TwoStepModel",
    "TwoStepPosterior",
    "UnknownNameError",
    "__version__",
    "backtest",
    "best_allocation",
    "compare",
    "compute_for_target",
    "datasets",
    "decision_table",
    "diagnose",
    "diagnostics_table",
    "fit",
    "fit_many",
    "frontier",
    "frontier_backtest",
    "laplace_many",
    "laws",
    "load_posterior",
    "loo",
    "loo_pit",
    "predict",
    "predicted_isoflop_minima",
    "prob_below",
    "record",
    "report",
    "sbc",
    "simulate_ladder",
    "value_of_runs",
]
