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

    Raises
    ------
    TypeError
        When ``cls`` is not a subclass of :class:`Law` (nor the base classes themselves).
    ValueError
        When its name is inherited, not an identifier, or another law's.

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
    if not (isinstance(cls, type) and issubclass(cls, Law)) or issubclass(cls, CustomLaw):
        raise TypeError(
            f"register takes a subclass of bayescale.laws.Law with a name of its own, such as "
            f"'token_power'; got {cls!r}."
        )
    if "name" not in vars(cls):  # inherited: it would replace its parent in the registry
        raise ValueError(
            f"register: {cls.__name__} inherits the registry name {cls.name!r} from "
            f"{cls.__mro__[1].__name__}; give it its own, e.g. name = 'my_law' in its body."
        )
    name = cls.name
    if name in (Law.name, CustomLaw.name):  # the base's, and a saved custom fit's marker
        raise ValueError(
            f"register: {cls.__name__}.name={name!r} is reserved (saved fits of a CustomLaw "
            "are named so); give it another name."
        )
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"register: {cls.__name__}.name={name!r}; give a name of letters, digits and "
            "underscores, such as 'token_power' (how presets and saved fits name the law)."
        )
    taken = _REGISTRY.get(name)
    where = (cls.__module__, cls.__qualname__)  # a class defined again (a cell run twice)
    if taken is not None and (taken.__module__, taken.__qualname__) != where:
        raise ValueError(
            f"register: the name {name!r} is the law {taken.__name__}'s already; give "
            f"{cls.__name__} another name (saved fits and presets of {name!r} would read it)."
        )
    _REGISTRY[name] = cls
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
    if not isinstance(name, str):
        raise TypeError(f"A law's name is text, such as 'chinchilla'; got {name!r}.")
    try:
        cls = _REGISTRY[name]
    except KeyError:
        near = [n for n in _REGISTRY if n.lower() == name.lower().strip()]
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ValueError(f"Unknown law {name!r}{hint}; available: {available()}.") from None
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
