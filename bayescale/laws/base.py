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
#: The input each data column role names (``"params"`` -> ``"N"``).
INPUT_OF_ROLE: dict[str, str] = {role: name for name, role in INPUTS.items()}
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

    Examples
    --------
    A fitted posterior carries the scale of its data:

    >>> sorted(post.scale.log_ref)
    ['D', 'N']
    >>> round(post.scale.loss_min, 2)
    2.58

    Build one by hand to evaluate a law's sampled parameterisation without data:

    >>> scale = bs.laws.Scale(log_ref={"N": np.log(3e8), "D": np.log(6e9)}, loss=3.0, loss_min=2.6)
    >>> theta = bs.laws.Chinchilla().from_natural(bs.simulate.HOFFMANN_2022, scale)
    >>> round(float(theta["log_E"]), 3)  # log(1.69)
    0.525
    """

    log_ref: Mapping[str, float]
    loss: float
    loss_min: float
    x_min: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict (for saving a posterior).

        Examples
        --------
        >>> import json
        >>> d = post.scale.to_dict()
        >>> sorted(d), sorted(d["log_ref"])
        (['log_ref', 'loss', 'loss_min', 'x_min'], ['D', 'N'])
        >>> round(d["loss_min"], 2), len(json.dumps(d)) > 0  # plain numbers, ready for JSON
        (2.58, True)
        """
        return {
            "log_ref": dict(self.log_ref),
            "loss": self.loss,
            "loss_min": self.loss_min,
            "x_min": dict(self.x_min),
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Scale:
        """Inverse of :meth:`to_dict`.

        Parameters
        ----------
        d : dict
            ``{"log_ref": ..., "loss": ..., "loss_min": ..., "x_min": ...}`` as written by
            :meth:`to_dict` (``x_min`` may be missing).

        Returns
        -------
        Scale

        Examples
        --------
        >>> import json
        >>> saved = json.dumps(post.scale.to_dict())
        >>> bs.laws.Scale.from_dict(json.loads(saved)) == post.scale
        True
        """
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
    relative_to : str, optional
        Another sampled parameter, earlier in the law's ``parameters``. The default ``prior``
        is then a prior on the *difference* of the two population values (``name - relative_to``):
        a joint prior, drawn as ``name | relative_to ~ relative_to + prior``. Chinchilla's
        ``log_beta`` is relative to ``log_alpha``, which sets a prior on the compute-optimal
        allocation ``beta / (alpha + beta)``. A prior the user gives for ``name`` is absolute.

    Examples
    --------
    A law's parameters, looked up by natural or sampled name:

    >>> p = bs.laws.Chinchilla().parameter("E")
    >>> p.name, p.doc, p.additive
    ('log_E', 'log irreducible loss', True)

    A new parameter, for a law of your own (see :class:`Law`):

    >>> import numpyro.distributions as dist
    >>> k = bs.laws.Parameter("log_k", "k", lambda scale: dist.Normal(0.0, 1.0), doc="log rate")
    >>> k.natural, k.effect_scale, float(k.prior(post.scale).scale)
    ('k', 0.3, 1.0)
    """

    name: str
    natural: str
    prior: Callable[[Scale], dist.Distribution]
    effect_scale: float = 0.3
    doc: str = ""
    additive: bool = False
    relative_to: str | None = None


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

    Examples
    --------
    Every law in :mod:`bayescale.laws` follows this protocol; Chinchilla's:

    >>> law = bs.laws.Chinchilla()
    >>> law.name, law.inputs, law.natural_names
    ('chinchilla', ('N', 'D'), ('E', 'A', 'B', 'alpha', 'beta'))
    >>> [p.name for p in law.parameters]  # the sampled, centred parameters
    ['log_E', 'a', 'b', 'log_alpha', 'log_beta']
    >>> post.law == law  # the default model's law
    True

    Tighten a default prior by its sampled name, then fit the law with :class:`bayescale.Model`:

    >>> import numpyro.distributions as dist
    >>> tight = bs.laws.Chinchilla(priors={"log_alpha": dist.Normal(np.log(0.34), 0.1)})
    >>> model = bs.Model(tight)
    """

    name: ClassVar[str] = "law"
    inputs: ClassVar[tuple[str, ...]] = ()
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    natural_names: ClassVar[tuple[str, ...]] = ()
    #: Whether the law predicts a share in (0, 1) (an accuracy or error rate): a table whose
    #: metric leaves (0, 1) is refused whatever the model's scale.
    share: ClassVar[bool] = False
    priors: Mapping[str, dist.Distribution] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.priors, Mapping):
            raise ValueError(
                f"{type(self).__name__}: priors={self.priors!r}; give a dict "
                "{sampled name: numpyro Distribution}."
            )
        text = [k for k, v in self.priors.items() if not isinstance(v, dist.Distribution)]
        if text:  # Model parses text priors; a law's are used as they are
            raise ValueError(
                f"{type(self).__name__}: the prior of {text[0]!r} is "
                f"{type(self.priors[text[0]]).__name__} {self.priors[text[0]]!r}, not a numpyro "
                "Distribution: give dist.Normal(...) here, or the text to "
                f"Model(priors={{{text[0]!r}: ...}}), which reads it."
            )
        known = {p.name for p in self.parameters}
        for i, p in enumerate(self.parameters):
            if p.relative_to is not None and p.relative_to not in {
                q.name for q in self.parameters[:i]
            }:
                raise ValueError(
                    f"{type(self).__name__}: parameter {p.name!r} is relative to "
                    f"{p.relative_to!r}, which is not an earlier parameter of the law."
                )
        unknown = set(self.priors) - known
        if unknown:
            raise ValueError(
                f"{type(self).__name__}: priors given for unknown parameter(s) {sorted(unknown)};"
                f" this law's sampled parameters are {sorted(known)}."
            )

    # -- parameters -------------------------------------------------------------------------
    def parameter(self, natural_or_name: str) -> Parameter:
        """Return the parameter whose natural or sampled name is ``natural_or_name``.

        Parameters
        ----------
        natural_or_name : str
            A natural name (``"alpha"``) or a sampled one (``"log_alpha"``).

        Returns
        -------
        Parameter

        Raises
        ------
        KeyError
            If the law has no such parameter.

        Examples
        --------
        >>> p = bs.laws.Chinchilla().parameter("alpha")
        >>> p.name, p.natural
        ('log_alpha', 'alpha')
        >>> p.doc
        'log of the parameter exponent alpha'
        """
        for p in self.parameters:
            if natural_or_name in (p.name, p.natural):
                return p
        raise KeyError(natural_or_name)

    def prior(self, name: str, scale: Scale) -> dist.Distribution:
        """Prior of sampled parameter ``name`` (user override first, else the default).

        Parameters
        ----------
        name : str
            Sampled parameter name (``"log_E"``, ``"a"``, ``"log_alpha"``...).
        scale : Scale
            The data's scale, which default priors are set relative to.

        Returns
        -------
        numpyro.distributions.Distribution
            The prior; for a parameter whose default prior is relative (:meth:`relative_to`),
            the prior of its difference from that parameter.

        Examples
        --------
        The default prior of Chinchilla's ``log E`` is ``Normal(log(0.7 loss_min), 0.5)``:

        >>> law = bs.laws.Chinchilla()
        >>> prior = law.prior("log_E", post.scale)
        >>> round(float(prior.loc), 2), float(prior.scale)
        (0.59, 0.5)

        An override given to the law comes first:

        >>> import numpyro.distributions as dist
        >>> tight = bs.laws.Chinchilla(priors={"log_E": dist.Normal(0.5, 0.1)})
        >>> float(tight.prior("log_E", post.scale).scale)
        0.1
        """
        if name in self.priors:
            return self.priors[name]
        return self.parameter(name).prior(scale)

    def relative_to(self, name: str) -> str | None:
        """Site whose population value the prior of ``name`` is centred on, or ``None``.

        A default prior declared relative (:attr:`Parameter.relative_to`) is a prior on
        ``name - relative_to``; a prior the user gives is absolute.

        Parameters
        ----------
        name : str
            Sampled parameter name.

        Returns
        -------
        str or None
            The sampled name it is relative to, or ``None`` for an absolute prior.

        Examples
        --------
        Chinchilla's ``log_beta`` is drawn around ``log_alpha`` (a prior on the allocation);
        an override makes it absolute:

        >>> bs.laws.Chinchilla().relative_to("log_beta")
        'log_alpha'
        >>> import numpyro.distributions as dist
        >>> bs.laws.Chinchilla(priors={"log_beta": dist.Normal(-1.2, 0.5)}).relative_to("log_beta")
        >>> bs.laws.Chinchilla().relative_to("log_alpha")
        """
        return None if name in self.priors else self.parameter(name).relative_to

    def config(self) -> dict:
        """Keyword arguments that rebuild this law with :func:`bayescale.laws.get`.

        Examples
        --------
        >>> bs.laws.Chinchilla().config()  # nothing to configure
        {}
        >>> law = bs.laws.BrokenPowerLaw(x="step", n_breaks=2)
        >>> law.config()
        {'x': 'step', 'n_breaks': 2}
        >>> bs.laws.get(law.name, **law.config()) == law  # the law's name and config rebuild it
        True
        """
        return {}

    @property
    def display_name(self) -> str:
        """The name shown in summaries, reports and figures (the registry name)."""
        return self.name

    @property
    def reads_compute(self) -> bool:
        """Whether the law reads training compute: ``C`` itself, or ``N`` and ``D`` (``k N D``).

        Examples
        --------
        >>> bs.laws.get("chinchilla").reads_compute, bs.laws.get("power").reads_compute
        (True, False)
        """
        return "C" in self.inputs or {"N", "D"} <= set(self.inputs)

    # -- the law ------------------------------------------------------------------------------
    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """Mean loss from sampled parameters ``theta`` and centred log inputs ``u``.

        ``u[k] = log(x_k) - scale.log_ref[k]`` for each declared input ``k``; the law must be
        pure JAX and broadcast over leading dimensions (draws, rows).

        Parameters
        ----------
        theta : dict
            Sampled parameters by sampled name (arrays that broadcast against ``u``).
        u : dict
            Centred inputs by input name, as :meth:`centre` returns them.
        scale : Scale
            The scale the parameters and inputs are centred on.

        Returns
        -------
        array
            The mean loss, of the broadcast shape of ``theta`` and ``u``.

        Examples
        --------
        The same losses as :meth:`natural_mean`, from the sampled parameterisation:

        >>> law = bs.laws.Chinchilla()
        >>> theta = law.from_natural(bs.simulate.HOFFMANN_2022, post.scale)
        >>> u = law.centre({"N": np.array([1e8, 1e9]), "D": np.array([2e9, 2e10])}, post.scale)
        >>> np.round(law.mean(theta, u, post.scale), 2).tolist()
        [3.49, 2.58]
        """
        raise NotImplementedError

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Map sampled parameters to the published (natural) parameters.

        Parameters
        ----------
        theta : dict
            Sampled parameters by sampled name (scalars or arrays of draws).
        scale : Scale
            The scale the parameters are centred on.

        Returns
        -------
        dict
            Natural parameters by name (:attr:`natural_names`), of the shape of ``theta``.

        Examples
        --------
        Natural parameters from posterior draws (the posterior stores both already):

        >>> theta = {p.name: post.posterior[p.name].values for p in post.law.parameters}
        >>> natural = post.law.to_natural(theta, post.scale)
        >>> natural["alpha"].shape
        (2, 1000)
        >>> bool(np.allclose(natural["alpha"], post.posterior["alpha"]))
        True
        """
        raise NotImplementedError

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Map natural parameters to sampled ones (used to simulate from published values).

        Parameters
        ----------
        natural : dict
            Natural parameters by name (:attr:`natural_names`).
        scale : Scale
            The scale to centre the parameters on.

        Returns
        -------
        dict
            Sampled parameters by sampled name.

        Examples
        --------
        >>> law = bs.laws.Chinchilla()
        >>> hoffmann = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
        >>> theta = law.from_natural(hoffmann, post.scale)
        >>> sorted(theta)
        ['a', 'b', 'log_E', 'log_alpha', 'log_beta']
        >>> round(float(law.to_natural(theta, post.scale)["A"]), 1)  # the round trip
        406.4
        """
        raise NotImplementedError

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """Evaluate the textbook formula on raw inputs ``x`` and natural parameters.

        Parameters
        ----------
        natural : dict
            Natural parameters by name (:attr:`natural_names`).
        x : dict
            Raw inputs by input name (``{"N": params, "D": tokens}`` for Chinchilla).

        Returns
        -------
        array
            The loss, of the broadcast shape of the inputs and parameters.

        Examples
        --------
        Hoffmann et al.'s published law at 100M and 1B parameters, 20 tokens per parameter:

        >>> law = bs.laws.Chinchilla()
        >>> hoffmann = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
        >>> x = {"N": np.array([1e8, 1e9]), "D": np.array([2e9, 2e10])}
        >>> np.round(law.natural_mean(hoffmann, x), 2).tolist()
        [3.49, 2.58]
        """
        raise NotImplementedError

    def centre(self, x: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Centred log inputs ``log(x) - log_ref`` for every declared input.

        Parameters
        ----------
        x : dict
            Raw inputs by input name; inputs the law does not declare are ignored.
        scale : Scale
            The scale that holds each input's reference ``log_ref``.

        Returns
        -------
        dict
            The centred inputs, which :meth:`mean` takes.

        Examples
        --------
        >>> x = {"N": np.array([1e8, 1e9]), "D": np.array([2e9, 2e10])}
        >>> u = bs.laws.Chinchilla().centre(x, post.scale)  # log(x) - log(geometric mean)
        >>> {k: np.asarray(v).round(2).tolist() for k, v in u.items()}
        {'N': [-0.81, 1.49], 'D': [-1.28, 1.02]}
        """
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

    Examples
    --------
    The one-input laws (:class:`SaturatingPowerLaw`, :class:`BrokenPowerLaw`, :class:`M4`)
    take their input when built:

    >>> law = bs.laws.SaturatingPowerLaw(x="D")
    >>> isinstance(law, bs.laws.base.OneInputLaw), law.inputs, law.config()
    (True, ('D',), {'x': 'D'})

    ``x`` names an input, not a column:

    >>> bs.laws.SaturatingPowerLaw(x="tokens")
    Traceback (most recent call last):
    ValueError: SaturatingPowerLaw: x='tokens' must be one of [...].
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
    """``log E ~ Normal(log(0.7 loss_min), 0.5)``: the irreducible loss, below every run's.

    Examples
    --------
    >>> p = bs.laws.base.irreducible_loss()
    >>> p.name, p.natural, p.additive
    ('log_E', 'E', True)
    >>> prior = p.prior(post.scale)  # centred on 0.7 x the smallest observed loss (2.58)
    >>> round(float(np.exp(prior.loc)), 2), float(prior.scale)
    (1.81, 0.5)
    """
    return Parameter(
        "log_E",
        "E",
        lambda s: dist.Normal(jnp.log(0.7 * s.loss_min), 0.5),
        0.3,
        "log irreducible loss",
        additive=True,
    )


def log_term(name: str, natural: str, doc: str) -> Parameter:
    """``Normal(log(0.25 loss), 1.5)``: the log of a reducible term at the reference input.

    Parameters
    ----------
    name : str
        Sampled name (``"a"``).
    natural : str
        Natural name (``"A"``).
    doc : str
        One line saying what the parameter means.

    Returns
    -------
    Parameter
        An additive parameter with effect scale 0.5.

    Examples
    --------
    >>> p = bs.laws.base.log_term("a", "A", "log of the term A/N^alpha at N0")
    >>> p.name, p.natural, p.additive
    ('a', 'A', True)
    >>> prior = p.prior(post.scale)  # Normal(log(0.25 loss), 1.5)
    >>> round(float(prior.loc), 2), float(prior.scale)
    (-0.28, 1.5)
    """
    return Parameter(
        name, natural, lambda s: dist.Normal(jnp.log(0.25 * s.loss), 1.5), 0.5, doc, additive=True
    )


def log_exponent(name: str, natural: str, doc: str) -> Parameter:
    """``Normal(log 0.3, 0.5)``: the log of a power-law exponent.

    Parameters
    ----------
    name : str
        Sampled name (``"log_alpha"``).
    natural : str
        Natural name (``"alpha"``).
    doc : str
        One line saying what the parameter means.

    Returns
    -------
    Parameter
        A parameter with effect scale 0.2.

    Examples
    --------
    >>> p = bs.laws.base.log_exponent("log_alpha", "alpha", "log of the exponent alpha")
    >>> prior = p.prior(post.scale)  # the same whatever the data
    >>> round(float(np.exp(prior.loc)), 2), float(prior.scale)
    (0.3, 0.5)
    """
    return Parameter(name, natural, lambda s: dist.Normal(jnp.log(0.3), 0.5), 0.2, doc)
