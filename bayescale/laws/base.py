"""The :class:`Law` abstraction: inputs, parameters with default priors, a JAX mean function."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import jax.numpy as jnp
import numpyro.distributions as dist

Array = jnp.ndarray

#: Inputs a law may declare, and the data column each one is read from.
INPUTS: dict[str, str] = {
    "N": "params",
    "D": "tokens",
    "C": "flops",
    "step": "step",
    "U": "unique_tokens",
    "L": "upstream_loss",
    "S1": "lr_area",
    "S2": "anneal_area",
}
#: Inputs that enter linearly and may take any finite value (every other input must be > 0).
LINEAR_INPUTS: frozenset[str] = frozenset({"S2"})


@dataclass(frozen=True)
class Scale:
    """Reference values that centre a law's inputs and scale its default priors.

    Parameters
    ----------
    log_ref : dict
        Natural log of the reference value of each input (geometric mean over the data), so
        that centred inputs are ``log(x) - log_ref[x]``.
    loss : float
        Typical loss (median of the data); default priors on loss-valued parameters are set
        relative to it so that they suit any tokenizer or metric.
    loss_min : float
        Smallest observed loss; the irreducible-loss prior is centred below it.
    x_min : dict
        Smallest value of each input (laws with an offset on an input, such as loss-to-loss
        laws, keep the offset below it).
    """

    log_ref: Mapping[str, float]
    loss: float
    loss_min: float
    x_min: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict (for saving a posterior)."""
        return {
            "log_ref": dict(self.log_ref),
            "loss": self.loss,
            "loss_min": self.loss_min,
            "x_min": dict(self.x_min),
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Scale:
        """Inverse of :meth:`to_dict`."""
        return cls(
            log_ref=dict(d["log_ref"]),
            loss=float(d["loss"]),
            loss_min=float(d["loss_min"]),
            x_min=dict(d.get("x_min", {})),
        )


@dataclass(frozen=True)
class Parameter:
    """One parameter of a law, in the well-conditioned (sampled) parameterisation.

    Parameters
    ----------
    name : str
        The sampled parameter, e.g. ``"log_E"`` or ``"a"``. Random effects act on it additively.
    natural : str
        The user-facing parameter it mainly stands for (``"E"``, ``"A"``, ``"alpha"``). Effects
        are requested with this name.
    prior : callable
        ``prior(scale) -> numpyro Distribution`` for the population value.
    effect_scale : float
        Scale of the half-normal prior on the between-group standard deviation of ``name``.
    doc : str
        One line saying what the parameter means.
    additive : bool
        The parameter is the log of a term the law adds (an irreducible loss, a term's
        amplitude at the reference input). Such terms trade off along a ridge that is straight
        on their natural scale and curved on the log scale, so importance sampling proposes
        them on the natural scale (:mod:`bayescale.inference.importance`).
    """

    name: str
    natural: str
    prior: Callable[[Scale], dist.Distribution]
    effect_scale: float = 0.3
    doc: str = ""
    additive: bool = False


@dataclass(frozen=True)
class Law:
    """Base class of a scaling law.

    A law declares its ``inputs`` (a subset of :data:`INPUTS`: ``N``, ``D``, ``C``, ``step``,
    ``U``, ``L``, ``S1``, ``S2``), its ``parameters`` in a centred parameterisation, a pure
    vectorised JAX ``mean`` on centred log inputs, and ``to_natural`` which maps sampled
    parameters to the published ones. Subclasses
    set ``name`` (the registry key) and may override :meth:`natural_mean`, the textbook formula
    on raw inputs, which the contract tests check against :meth:`mean`.

    Parameters
    ----------
    priors : dict, optional
        Override default priors: ``{sampled name: numpyro Distribution}``.
    """

    name: ClassVar[str] = "law"
    inputs: ClassVar[tuple[str, ...]] = ()
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    natural_names: ClassVar[tuple[str, ...]] = ()
    priors: Mapping[str, dist.Distribution] = field(default_factory=dict)

    def __post_init__(self) -> None:
        known = {p.name for p in self.parameters}
        unknown = set(self.priors) - known
        if unknown:
            raise ValueError(
                f"{type(self).__name__}: priors given for unknown parameter(s) {sorted(unknown)};"
                f" this law's sampled parameters are {sorted(known)}."
            )

    # -- parameters -------------------------------------------------------------------------
    def parameter(self, natural_or_name: str) -> Parameter:
        """Return the parameter whose natural or sampled name is ``natural_or_name``."""
        for p in self.parameters:
            if natural_or_name in (p.name, p.natural):
                return p
        raise KeyError(natural_or_name)

    def prior(self, name: str, scale: Scale) -> dist.Distribution:
        """Prior of sampled parameter ``name`` (user override first, else the default)."""
        if name in self.priors:
            return self.priors[name]
        return self.parameter(name).prior(scale)

    def config(self) -> dict:
        """Keyword arguments that rebuild this law with :func:`bayescale.laws.get`."""
        return {}

    @property
    def display_name(self) -> str:
        """The name shown in summaries, reports and figures (the registry name)."""
        return self.name

    # -- the law ------------------------------------------------------------------------------
    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """Mean loss from sampled parameters ``theta`` and centred log inputs ``u``.

        ``u[k] = log(x_k) - scale.log_ref[k]`` for each declared input ``k``; the law must be
        pure JAX and broadcast over leading dimensions (draws, rows).
        """
        raise NotImplementedError

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Map sampled parameters to the published (natural) parameters."""
        raise NotImplementedError

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Map natural parameters to sampled ones (used to simulate from published values)."""
        raise NotImplementedError

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """Evaluate the textbook formula on raw inputs ``x`` and natural parameters."""
        raise NotImplementedError

    def centre(self, x: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Centred log inputs ``log(x) - log_ref`` for every declared input."""
        return {k: jnp.log(jnp.asarray(x[k])) - scale.log_ref[k] for k in self.inputs}


@dataclass(frozen=True)
class OneInputLaw(Law):
    """A law of one input ``x``, chosen when the law is built (``"N"``, ``"D"``, ``"step"``...).

    Parameters
    ----------
    x : str
        The input variable, one of :data:`INPUTS`.
    priors : dict, optional
        Prior overrides by sampled name.
    """

    x: str = "N"

    def __post_init__(self) -> None:
        if self.x not in INPUTS:
            raise ValueError(f"{type(self).__name__}: x={self.x!r} must be one of {list(INPUTS)}.")
        super().__post_init__()

    @property
    def inputs(self) -> tuple[str, ...]:  # type: ignore[override]
        """The single input, ``(x,)``."""
        return (self.x,)

    def config(self) -> dict:
        """Return ``{"x": x}``."""
        return {"x": self.x}


# -- building blocks shared by the power-law family of laws ------------------------------------
def irreducible_loss() -> Parameter:
    """``log E ~ Normal(log(0.7 loss_min), 0.5)``: the irreducible loss, below every run's."""
    return Parameter(
        "log_E",
        "E",
        lambda s: dist.Normal(jnp.log(0.7 * s.loss_min), 0.5),
        0.3,
        "log irreducible loss",
        additive=True,
    )


def log_term(name: str, natural: str, doc: str) -> Parameter:
    """``Normal(log(0.25 loss), 1.5)``: the log of a reducible term at the reference input."""
    return Parameter(
        name, natural, lambda s: dist.Normal(jnp.log(0.25 * s.loss), 1.5), 0.5, doc, additive=True
    )


def log_exponent(name: str, natural: str, doc: str) -> Parameter:
    """``Normal(log 0.3, 0.5)``: the log of a power-law exponent."""
    return Parameter(name, natural, lambda s: dist.Normal(jnp.log(0.3), 0.5), 0.2, doc)
