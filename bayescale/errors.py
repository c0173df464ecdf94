"""Exceptions and warnings raised by bayescale."""

from __future__ import annotations


class DataError(ValueError):
    """The input table cannot be fitted as it is; the message names the column and the fix."""


class SpecificationError(ValueError):
    """A model specification (law, effects, priors, likelihood) is inconsistent."""


class PosteriorFileError(ValueError):
    """A file cannot be read as a saved fit; the message names the file and what is wrong."""


class ConvergenceWarning(UserWarning):
    """A fit failed a diagnostic (R-hat, ESS, divergences, tree depth, E-BFMI)."""


class DataWarning(UserWarning):
    """A table is valid but implausible (units, metric, duplicates, design); the fit goes on."""


class ExtrapolationWarning(UserWarning):
    """A prediction or frontier lies far outside the data that informs it."""
