"""The law library and its registry.

Every law subclasses :class:`Law`; :func:`get` builds one from its registry name and
configuration, which is how saved posteriors and model presets name their law.
"""

from __future__ import annotations

import inspect

from bayescale.laws.annealing import AnnealingLaw, add_schedule_areas, schedule_areas
from bayescale.laws.base import INPUTS, Law, Parameter, Scale
from bayescale.laws.bnsl import BrokenPowerLaw
from bayescale.laws.chinchilla import Chinchilla
from bayescale.laws.custom import CustomLaw
from bayescale.laws.data_constrained import DataConstrained
from bayescale.laws.farseer import Farseer
from bayescale.laws.kaplan import Kaplan
from bayescale.laws.links import ExponentialLink, LossToLoss, SigmoidLink
from bayescale.laws.m4 import M4
from bayescale.laws.power import SaturatingPowerLaw

_REGISTRY: dict[str, type[Law]] = {}


def register(cls: type[Law]) -> type[Law]:
    """Add a law class to the registry under ``cls.name`` (usable as a decorator).

    Parameters
    ----------
    cls : type
        A subclass of :class:`Law` with its own ``name``.

    Returns
    -------
    type
        ``cls``, unchanged.

    Examples
    --------
    A law of your own (here a power law in tokens by default), registered under its name:

    >>> from dataclasses import dataclass
    >>> @bs.laws.register
    ... @dataclass(frozen=True)
    ... class TokenPowerLaw(bs.laws.SaturatingPowerLaw):
    ...     x: str = "D"  # a field: the default input
    ...     name = "token_power"  # a class attribute: the registry name
    >>> bs.laws.get("token_power")
    TokenPowerLaw(priors={}, x='D')
    >>> bs.Model("token_power").spec()["law"]  # how saved posteriors and presets name it
    {'name': 'token_power', 'config': {'x': 'D'}}

    A registration lasts the session (there is no public way to remove one); this example
    takes its law out of the registry again:

    >>> _ = bs.laws._REGISTRY.pop("token_power")
    >>> "token_power" in bs.laws.available()
    False
    """
    _REGISTRY[cls.name] = cls
    return cls


def get(name: str, **config) -> Law:
    """Build the registered law ``name`` with its configuration (e.g. ``x="D"``).

    Parameters
    ----------
    name : str
        Registry name of the law (:func:`available` lists them).
    **config
        Keyword arguments of the law's class, as :meth:`Law.config` returns them.

    Returns
    -------
    Law

    Raises
    ------
    ValueError
        If no law is registered under ``name``, or the law takes no option of a name in
        ``config``.

    Examples
    --------
    >>> bs.laws.get("power", x="D")
    SaturatingPowerLaw(priors={}, x='D')

    A law's name and configuration rebuild it (this is how saved posteriors name their law):

    >>> law = bs.laws.BrokenPowerLaw(x="step", n_breaks=2)
    >>> bs.laws.get(law.name, **law.config()) == law
    True
    """
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown law {name!r}; available: {available()}.") from None
    parameters = inspect.signature(cls).parameters
    takes = [p for p in parameters if p != "priors"]
    open_ended = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    unknown = sorted(set(config) - set(takes) - {"priors"})
    if unknown and not open_ended:
        raise ValueError(
            f"The {name} law takes no option {unknown[0]!r}; its options: {takes or 'none'}."
        )
    return cls(**config)


def available() -> list[str]:
    """Names of the registered laws.

    Examples
    --------
    >>> bs.laws.available()
    ['annealing', 'bnsl', 'chinchilla', 'data_constrained', 'exponential_link', 'farseer', ...]
    """
    return sorted(_REGISTRY)


for _cls in (
    Chinchilla,
    SaturatingPowerLaw,
    Kaplan,
    BrokenPowerLaw,
    Farseer,
    DataConstrained,
    M4,
    AnnealingLaw,
    SigmoidLink,
    ExponentialLink,
    LossToLoss,
):
    register(_cls)

__all__ = [
    "INPUTS",
    "M4",
    "AnnealingLaw",
    "BrokenPowerLaw",
    "Chinchilla",
    "CustomLaw",
    "DataConstrained",
    "ExponentialLink",
    "Farseer",
    "Kaplan",
    "Law",
    "LossToLoss",
    "Parameter",
    "SaturatingPowerLaw",
    "Scale",
    "SigmoidLink",
    "add_schedule_areas",
    "available",
    "get",
    "register",
    "schedule_areas",
]
