"""Inference: one NUTS engine and one MAP + Laplace path for one or many fits.

- :mod:`~bayescale.inference.problem`: a model over the arrays of one or many tables,
  initialised once per structure (the :class:`Fittable` protocol models follow).
- :mod:`~bayescale.inference.laplace`: vmapped MAP and Laplace approximation.
- :mod:`~bayescale.inference.importance`: adaptive importance sampling from the Laplace
  approximation, checked by PSIS.
- :mod:`~bayescale.inference.nuts`: NUTS lanes (every chain of every fit) in lockstep.
- :mod:`~bayescale.inference.stats`: sampler settings and statistics.
- :mod:`~bayescale.inference.engine`: the drivers, :func:`sample_nuts`,
  :func:`sample_importance` and :func:`laplace_draws`.
"""

from bayescale.inference.devices import devices_map
from bayescale.inference.engine import (
    LOG_LIKELIHOOD_CHUNK,
    Draws,
    LaplaceDraws,
    laplace_draws,
    pointwise_log_likelihood,
    sample_importance,
    sample_nuts,
)
from bayescale.inference.importance import ImportanceFit, importance_sample, psis_weights
from bayescale.inference.laplace import LaplaceFit, find_map
from bayescale.inference.nuts import (
    ALL_DEVICES_WARN_ROWS,
    all_devices_memory_advice,
    default_chunk,
    lane_devices,
    nuts_lanes,
    segment_length,
)
from bayescale.inference.problem import Fittable, Problem, problem, stack
from bayescale.inference.stats import LAPLACE_MASS_MIN_ROWS, NutsSettings, sampler_stats

__all__ = [
    "ALL_DEVICES_WARN_ROWS",
    "LAPLACE_MASS_MIN_ROWS",
    "LOG_LIKELIHOOD_CHUNK",
    "Draws",
    "Fittable",
    "ImportanceFit",
    "LaplaceDraws",
    "LaplaceFit",
    "NutsSettings",
    "Problem",
    "all_devices_memory_advice",
    "default_chunk",
    "devices_map",
    "find_map",
    "importance_sample",
    "lane_devices",
    "laplace_draws",
    "nuts_lanes",
    "pointwise_log_likelihood",
    "problem",
    "psis_weights",
    "sample_importance",
    "sample_nuts",
    "sampler_stats",
    "segment_length",
    "stack",
]
