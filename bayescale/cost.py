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
        try:  # numpy's 8 and Decimal("8") are numbers too; text and True are not
            ok = not isinstance(k, bool | np.bool_ | str | bytes) and np.ndim(k) == 0
            ok = ok and bool(np.isfinite(float(k)) and float(k) > 0)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"flops_per_param_token={k!r} must be a finite number > 0.")
        object.__setattr__(self, "flops_per_param_token", float(k))  # one type, one repr

    @property
    def k(self) -> float:
        """Short name of :attr:`flops_per_param_token`."""
        return float(self.flops_per_param_token)

    def flops(self, n, d):
        """Training compute of ``n`` parameters on ``d`` tokens.

        Parameters
        ----------
        n, d : float or array_like
            Parameters and training tokens (raw counts; arrays broadcast).

        Returns
        -------
        float or numpy.ndarray
            ``k n d`` FLOP.

        Examples
        --------
        >>> bs.TrainingCost().flops(7e10, 1.4e12)  # Chinchilla 70B
        5.88e+23
        >>> bs.TrainingCost(flops_per_param_token=8).flops(np.array([1e9, 2e9]), 2e10)
        array([1.6e+20, 3.2e+20])
        """
        return self.k * _array(n) * _array(d)

    def tokens(self, c, n):
        """Tokens that budget ``c`` buys for a model of ``n`` parameters.

        Parameters
        ----------
        c : float or array_like
            Training compute in FLOP.
        n : float or array_like
            Parameters (arrays broadcast against ``c``).

        Returns
        -------
        float or numpy.ndarray
            ``c / (k n)`` tokens.

        Examples
        --------
        >>> d = bs.TrainingCost().tokens(1e20, 1e9)  # a 1B model on a 1e20 FLOP budget
        >>> round(d / 1e9, 1)  # billions of tokens
        16.7
        """
        return _array(c) / (self.k * _array(n))

    def describe(self) -> str:
        """``"6 N D"``: the formula as text.

        Examples
        --------
        >>> bs.TrainingCost().describe()
        '6 N D'
        >>> bs.TrainingCost(flops_per_param_token=8).describe()
        '8 N D'
        """
        return f"{self.k:g} N D"


def _array(x):
    """Return a list or tuple as an array (array_like, as documented), anything else as is."""
    return np.asarray(x, float) if isinstance(x, list | tuple) else x


#: The default cost, ``C = 6 N D``.
DEFAULT_COST = TrainingCost()

__all__ = ["DEFAULT_COST", "DEFAULT_FLOPS_PER_PARAM_TOKEN", "TrainingCost"]
