"""A law written by the user as a JAX function plus priors."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from bayescale import arguments
from bayescale.errors import SpecificationError
from bayescale.laws.base import INPUT_OF_ROLE, INPUTS, Array, Law, Parameter, Scale


@dataclass(frozen=True)
class CustomLaw(Law):
    """A user-defined law: ``fn(params, x) -> loss`` in pure JAX, with a prior per parameter.

    ``params`` is a dict of parameter arrays, ``x`` a dict of raw inputs (``x["N"]`` in
    parameters, ``x["D"]`` in tokens, ...). Parameters are sampled as written, so write the law
    in a well-conditioned form (logs of positive quantities, inputs divided by a reference
    inside the data); random effects add to the parameter on that scale.

    Parameters
    ----------
    fn : callable
        ``fn(params, x)``; must broadcast over leading dimensions.
    params : dict
        ``{name: numpyro Distribution}``, the prior of each parameter.
    inputs : tuple of str
        Inputs the law reads, among ``"N"``, ``"D"``, ``"C"``, ``"step"`` (one name may be given
        as text: ``inputs="step"``).
    effect_scale : float
        Half-normal scale of the between-group standard deviations.
    law_name : str
        Name shown in summaries.

    Examples
    --------
    >>> import jax.numpy as jnp, numpyro.distributions as dist
    >>> law = CustomLaw(
    ...     fn=lambda p, x: (
    ...         jnp.exp(p["log_E"]) + jnp.exp(p["log_A"]) * (x["N"] / 1e8) ** -p["alpha"]
    ...     ),
    ...     params={"log_E": dist.Normal(0.5, 0.5), "log_A": dist.Normal(-1, 1),
    ...             "alpha": dist.LogNormal(-1.2, 0.5)},
    ...     inputs=("N",),
    ... )
    >>> natural = {"log_E": 0.5, "log_A": 0.0, "alpha": 0.3}
    >>> loss = law.natural_mean(natural, {"N": np.array([1e8, 1e9])})
    >>> np.round(loss, 2).tolist()
    [2.65, 2.15]
    >>> model = bs.Model(law)  # fitted like any law
    """

    fn: Callable[[Mapping[str, Array], Mapping[str, Array]], Array] | None = None
    params: Mapping[str, dist.Distribution] = field(default_factory=dict)
    custom_inputs: tuple[str, ...] = ()
    effect_scale: float = 0.3
    law_name: str = "custom"
    name: ClassVar[str] = "custom"

    def __init__(
        self,
        fn: Callable[[Mapping[str, Array], Mapping[str, Array]], Array],
        params: Mapping[str, dist.Distribution],
        inputs: tuple[str, ...] = ("N", "D"),
        effect_scale: float = 0.3,
        law_name: str = "custom",
    ) -> None:
        if not callable(fn):
            raise TypeError("CustomLaw: fn must be a callable fn(params, x) -> loss.")
        if not isinstance(params, Mapping):
            raise TypeError(
                f"CustomLaw: params must be a dict {{name: numpyro Distribution}}, got "
                f"{type(params).__name__}."
            )
        if not params:
            raise ValueError("CustomLaw: give at least one parameter with its prior.")
        odd = [k for k in params if not (isinstance(k, str) and k.strip() and "/" not in k)]
        if odd:  # sorted as pytree keys, and stored as netCDF variable names
            raise ValueError(
                f"CustomLaw: parameter name {odd[0]!r}; give each a name as text (no '/', which "
                "netCDF reserves), such as 'log_A'."
            )
        for k, v in params.items():
            if not isinstance(v, dist.Distribution):
                raise TypeError(f"CustomLaw: prior of {k!r} must be a numpyro Distribution.")
            if v.support.is_discrete:
                raise ValueError(
                    f"CustomLaw: the prior of {k!r} ({type(v).__name__}) is discrete; NUTS "
                    "samples continuous parameters: give a continuous prior (Normal, LogNormal)."
                )
            shape = tuple(v.batch_shape) + tuple(v.event_shape)
            if shape:  # predictions add a trailing axis to each parameter: p[k][..., 0] breaks
                raise ValueError(
                    f"CustomLaw: the prior of {k!r} has shape {shape}; give one scalar prior "
                    f"per parameter (e.g. {k}0, {k}1 for a vector's components)."
                )
            try:  # prior draws and predictions sample it
                v.sample(jax.random.PRNGKey(0))
            except NotImplementedError:
                raise ValueError(
                    f"CustomLaw: the prior of {k!r} ({type(v).__name__}) cannot be sampled "
                    "(an improper prior); prior checks and predictions draw from it: give a "
                    "proper prior (a wide Normal)."
                ) from None
        try:
            effect_scale = arguments.positive(effect_scale, "effect_scale")
        except ValueError as e:
            raise ValueError(f"CustomLaw: {e}") from None
        # one name as text is one input ("step" was read letter by letter)
        if inputs is None or not isinstance(inputs, str | Iterable):
            raise TypeError(
                f"CustomLaw: inputs={inputs!r}; name the inputs fn reads, e.g. inputs=('N', 'D') "
                "or inputs='N'."
            )
        inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        bad = [i for i in inputs if i not in INPUTS]
        if bad:
            raise ValueError(f"CustomLaw: unknown input(s) {bad}; choose among {list(INPUTS)}.")
        if not inputs:
            raise ValueError(
                f"CustomLaw: inputs=(): name the inputs fn reads, from {list(INPUTS)}."
            )
        repeated = sorted({i for i in inputs if inputs.count(i) > 1})
        if repeated:
            raise ValueError(
                f"CustomLaw: inputs={inputs!r} names {repeated} twice; name each once."
            )
        if not isinstance(law_name, str) or not law_name.strip():
            raise TypeError(f"CustomLaw: law_name={law_name!r}; give the law's name as text.")
        from bayescale.laws import available  # the registry imports this module

        if law_name in available():  # shown as the built-in law in every summary
            raise ValueError(
                f"CustomLaw: law_name={law_name!r} is a built-in law's name, and the fit would "
                f"be shown as that law; give yours its own name (law_name='{law_name}_custom')."
            )
        _probe(fn, params, tuple(inputs), law_name)
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "params", dict(params))
        object.__setattr__(self, "custom_inputs", tuple(inputs))
        object.__setattr__(self, "effect_scale", effect_scale)
        object.__setattr__(self, "law_name", law_name)
        object.__setattr__(self, "priors", {})

    @property
    def inputs(self) -> tuple[str, ...]:  # type: ignore[override]
        """Inputs the law reads."""
        return self.custom_inputs

    @property
    def parameters(self) -> tuple[Parameter, ...]:  # type: ignore[override]
        """One :class:`Parameter` per prior given, sampled as written."""
        return tuple(
            Parameter(k, k, (lambda s, d=d: d), self.effect_scale) for k, d in self.params.items()
        )

    @property
    def natural_names(self) -> tuple[str, ...]:  # type: ignore[override]
        """Parameter names (the law is sampled on its own scale)."""
        return tuple(self.params)

    @property
    def display_name(self) -> str:
        """The user's name for the law (``law_name``)."""
        return self.law_name

    def _raw(self, u: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        return {k: jnp.exp(u[k] + scale.log_ref[k]) for k in self.inputs}

    def _checked(self, params: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """Evaluate ``fn``; refuse an output that is not one loss per row (and per draw)."""
        out = self.fn(params, x)
        try:
            out = jnp.asarray(out)
        except TypeError:
            raise SpecificationError(
                f"CustomLaw {self.law_name!r}: fn returned a {type(out).__name__}; it must "
                "return one array of losses, shaped like its inputs."
            ) from None
        try:
            want = jnp.broadcast_shapes(*(jnp.shape(v) for v in (*params.values(), *x.values())))
        except ValueError:  # draws and points on axes of their own: fn lines them up itself
            return out
        if out.shape == want:
            return out
        try:  # an output that ignores some inputs (a constant in x): broadcast it
            if len(out.shape) <= len(want) and jnp.broadcast_shapes(out.shape, want) == want:
                return jnp.broadcast_to(out, want)
        except ValueError:
            pass
        raise SpecificationError(
            f"CustomLaw {self.law_name!r}: fn returned shape {out.shape} where its parameters "
            f"and inputs broadcast to {want}: return one loss per row, e.g. drop a trailing "
            "[..., None] or reduce over an extra axis."
        )

    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """Evaluate ``fn`` on the raw inputs."""
        return self._checked({k: theta[k] for k in self.params}, self._raw(u, scale))

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Identity: a custom law's parameters are its natural ones."""
        return {k: theta[k] for k in self.params}

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Identity."""
        self._require(natural, self.params, "parameters", "natural")
        return {k: jnp.asarray(natural[k]) for k in self.params}

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """Evaluate ``fn`` directly."""
        self._require(natural, self.params, "parameters", "natural")
        self._require(x, self.inputs, "inputs", "x")
        return self._checked({k: natural[k] for k in self.params}, x)

    def _require(self, given: Mapping, names: Iterable[str], what: str, argument: str) -> None:
        """Refuse a mapping that lacks some of the law's parameters or inputs."""
        missing = [k for k in names if k not in given]
        if missing:
            raise SpecificationError(
                f"CustomLaw {self.law_name!r}: {argument} lacks {missing}; the law's {what} are "
                f"{list(names)}."
            )


class _Named(dict):
    """The mapping ``fn`` reads while it is probed: a missing key names what there is."""

    def __init__(self, values: Mapping[str, Array], what: str, law_name: str) -> None:
        super().__init__(values)
        self.what, self.law_name = what, law_name

    def __missing__(self, key: str):
        there = "parameters" if self.what == "params" else "inputs"
        if self.what == "x" and INPUT_OF_ROLE.get(key, key) != key:
            name = INPUT_OF_ROLE[key]
            raise SpecificationError(
                f"CustomLaw {self.law_name!r}: fn reads x[{key!r}]; inputs go by the law's "
                f"names: write x[{name!r}] ({key!r} is its column)"
                + ("." if name in self else f" and declare {name!r} in inputs=.")
            )
        raise SpecificationError(
            f"CustomLaw {self.law_name!r}: fn reads {self.what}[{key!r}], which is not one of "
            f"its {there} {sorted(self)}; "
            + (
                "give its prior in params="
                if self.what == "params"
                else "declare the input in inputs= (and give the table its column)"
            )
            + "."
        )


def _probe(
    fn: Callable, params: Mapping[str, dist.Distribution], inputs: tuple[str, ...], law_name: str
) -> None:
    """Trace ``fn`` once on abstract values, refusing the mistakes a fit would meet later.

    A call signature that does not take ``(params, x)``, a key that is neither a parameter nor
    a declared input, NumPy (or Python control flow) on the traced values, an output that is
    not an array of real numbers and a parameter no operation of ``fn`` reads fail here with a
    message naming ``fn``, instead of deep inside JAX or NumPyro (or, for the last, as a
    posterior that is its prior).
    """
    try:
        inspect.signature(fn).bind(None, None)
    except TypeError:
        raise SpecificationError(
            f"CustomLaw {law_name!r}: fn must take two arguments, fn(params, x): the "
            "parameters and the inputs, each a dict of arrays."
        ) from None
    except ValueError:  # a builtin without a signature: the trace below checks it
        pass
    real = jnp.result_type(float)

    def call(p: dict, x: dict) -> Array:
        return fn(_Named(p, "params", law_name), _Named(x, "x", law_name))

    names = list(params)
    try:
        traced, out = jax.make_jaxpr(call, return_shape=True)(
            {
                k: jax.ShapeDtypeStruct(d.batch_shape + d.event_shape, real)
                for k, d in params.items()
            },
            {k: jax.ShapeDtypeStruct((3,), real) for k in inputs},
        )
    except SpecificationError:
        raise
    except jax.errors.TracerArrayConversionError:
        raise SpecificationError(
            f"CustomLaw {law_name!r}: fn calls NumPy on the values it is given, which JAX "
            "traces: write it with jax.numpy (jnp.exp, jnp.log, ...), not numpy."
        ) from None
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerBoolConversionError):
        raise SpecificationError(
            f"CustomLaw {law_name!r}: fn branches on a parameter's or input's value (an if, "
            "a while or bool()), which JAX cannot trace: write it with jnp.where."
        ) from None
    except Exception as e:  # any other failure of the user's code
        raise SpecificationError(
            f"CustomLaw {law_name!r}: fn failed on parameters {names} (shaped as their "
            f"priors) and inputs {list(inputs)} of three points each ({type(e).__name__}: {e})."
        ) from None
    kind = getattr(getattr(out, "dtype", None), "kind", None)
    if kind not in ("f", "i", "u"):  # None, a dict, complex numbers, booleans
        what = f"dtype {out.dtype}" if kind else f"a {type(out).__name__}"
        raise SpecificationError(
            f"CustomLaw {law_name!r}: fn returned {what}; it must return the losses as one "
            "array of real numbers, shaped like its inputs."
        )
    # a parameter no operation reads: its posterior would be its prior, shown as estimated
    jaxpr = traced.jaxpr
    read = {
        v
        for v in (*(v for e in jaxpr.eqns for v in e.invars), *jaxpr.outvars)
        if type(v).__name__ != "Literal"  # constants: not hashable, and no parameter
    }
    unread = [k for k, v in zip(sorted(params), jaxpr.invars, strict=False) if v not in read]
    if unread:
        raise SpecificationError(
            f"CustomLaw {law_name!r}: fn never reads the parameter(s) {unread}: their posterior "
            "would be their prior, summarised as if estimated. Use them in fn, or drop them from "
            "params."
        )
