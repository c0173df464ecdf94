"""What the layers above the model need to know of it: the :class:`ModelDescription` protocol.

The posterior, the prediction path and the consumers read a model through this protocol (the
law, the effects, the likelihood and its scale, the training cost), so they do not import the
:class:`~bayescale.model.Model` class, which sits above them (it fits itself through
:func:`bayescale.fit.fit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from bayescale.cost import TrainingCost
from bayescale.laws.base import Law, Scale
from bayescale.terms import Term


@runtime_checkable
class ModelDescription(Protocol):
    """A fitted model as the prediction path sees it.

    Attributes
    ----------
    law : Law
        The scaling law.
    effects : mapping
        ``{sampled site: (Term, ...)}``: which parameter varies by which group terms.
    likelihood : {"student_t", "normal"}
        Observation noise.
    scale : {"log", "linear", "logit"}
        The scale the loss is modelled on.
    cost : TrainingCost
        Training compute ``C = k N D``.
    """

    law: Law
    effects: Mapping[str, tuple[Term, ...]]
    likelihood: str
    scale: str
    cost: TrainingCost

    def spec(self) -> dict:
        """Describe the model as JSON-serialisable data."""

    def describe(self, scale: Scale | None = None) -> str:
        """Text listing the law, the effects and every prior."""


__all__ = ["ModelDescription"]
