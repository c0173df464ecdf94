"""Defaults shared by every output.

A summary, a prediction, a figure and a frontier band say the same thing unless the user asks
otherwise.
"""

from __future__ import annotations

#: Probability of every default central interval: summaries, predictions, figures, frontier
#: bands, decisions and calibration tables.
PROB = 0.9

#: Significant digits of summary tables: enough that an interval is never degenerate.
DIGITS = 4

__all__ = ["DIGITS", "MAX_TREE_DEPTH", "PROB"]

#: Deepest NUTS tree a fit may build (2**15 - 1 leapfrog steps per draw).
MAX_TREE_DEPTH = 15
