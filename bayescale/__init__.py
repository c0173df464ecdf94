"""bayescale: Bayesian inference for neural scaling laws."""

from bayescale import (
    _runtime,  # noqa: F401  (float64 and host devices before JAX starts)
    compare,
    datasets,
    laws,
)
from bayescale.downstream import TwoStepModel, TwoStepPosterior
from bayescale.errors import ConvergenceWarning, DataError, SpecificationError
from bayescale.model import Model
from bayescale.posterior import ScalingPosterior
from bayescale.simulate import simulate_ladder

__version__ = "0.1.0"


def load_posterior(path, law=None) -> ScalingPosterior:
    """Read a posterior saved with :meth:`ScalingPosterior.to_netcdf`."""
    return ScalingPosterior.from_netcdf(path, law=law)


__all__ = [
    "ConvergenceWarning",
    "DataError",
    "Model",
    "ScalingPosterior",
    "SpecificationError",
    "TwoStepModel",
    "TwoStepPosterior",
    "__version__",
    "compare",
    "datasets",
    "laws",
    "load_posterior",
    "simulate_ladder",
]
