"""The training cost ``C = k N D``: one constant, stored with every fit.

Training compute is written ``C = k N D`` with ``k`` FLOP per parameter per token (``k = 6``
for a dense transformer's forward and backward pass, Kaplan et al. 2020). Every place that turns
``N`` and ``D`` into compute (the data boundary when a table has no ``flops`` column, the
extrapolation distance, the frontier, the decisions, the figures) reads ``k`` from a fit's
:class:`TrainingCost`, so a model fitted with ``k = 8`` is extrapolated and optimised with
``k = 8`` too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: FLOP per parameter per training token of a dense transformer (forward + backward).
DEFAULT_FLOPS_PER_PARAM_TOKEN = 6.0


@dataclass(frozen=True)
class TrainingCost:
    """Training compute ``C = k N D``.

    Parameters
    ----------
    flops_per_param_token : float
        ``k``, FLOP per parameter per token (6 by default).

    Examples
    --------
    >>> cost = TrainingCost()
    >>> cost.flops(7e10, 1.4e12)
    5.88e+23
    >>> cost.tokens(5.88e23, 7e10)
    1400000000000.0
    """

    flops_per_param_token: float = DEFAULT_FLOPS_PER_PARAM_TOKEN

    def __post_init__(self) -> None:
        k = self.flops_per_param_token
        if isinstance(k, bool) or not isinstance(k, int | float) or not np.isfinite(k) or k <= 0:
            raise ValueError(f"flops_per_param_token={k!r} must be a finite number > 0.")

    @property
    def k(self) -> float:
        """Short name of :attr:`flops_per_param_token`."""
        return float(self.flops_per_param_token)

    def flops(self, n, d):
        """Training compute of ``n`` parameters on ``d`` tokens."""
        return self.k * n * d

    def tokens(self, c, n):
        """Tokens that budget ``c`` buys for a model of ``n`` parameters."""
        return c / (self.k * n)

    def describe(self) -> str:
        """``"6 N D"``: the formula as text."""
        return f"{self.k:g} N D"


#: The default cost, ``C = 6 N D``.
DEFAULT_COST = TrainingCost()

__all__ = ["DEFAULT_COST", "DEFAULT_FLOPS_PER_PARAM_TOKEN", "TrainingCost"]
