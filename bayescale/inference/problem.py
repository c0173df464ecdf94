"""A fitting problem: one NumPyro model over the arrays of one or many tables.

Every fit, single or batched, goes through the same path: the model says which of its
arguments are *structure* (group sizes, centring, the discrepancy grid; equal for every table
of a batch) and which are *arrays* (inputs, codes, losses, the centring scale; one per table,
padded to a common length with a row mask). NumPyro initialises the model once per structure
with the arrays as dynamic arguments, so its potential, its transforms and everything compiled
from them serve every table of that structure: a single fit is a batch of one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from numpyro.distributions.transforms import biject_to
from numpyro.handlers import seed as seed_handler
from numpyro.handlers import substitute, trace
from numpyro.infer import init_to_mean, init_to_median
from numpyro.infer.util import (
    find_valid_initial_params,
    get_potential_fn,
    initialize_model,
    transform_fn,
)

from bayescale.errors import SpecificationError

P = TypeVar("P", covariant=True)


@runtime_checkable
class Fittable(Protocol[P]):
    """What a model offers the inference engine (``Model`` and ``TwoStepModel`` both do).

    ``model_args(data, rows)`` splits the NumPyro model's keyword arguments into a
    *structure* dict (hashable, JSON-describable values equal for every table of a batch) and
    an *arrays* dict (a pytree of arrays whose row axes are padded to ``rows`` with a mask).
    ``numpyro_model(**structure, **arrays)`` is the model. ``pointwise_structure`` gives the
    structure that scores every row given every parameter (e.g. with integrated-out run
    effects drawn), and ``posterior_from(data, draws)`` builds the fit's posterior.
    """

    def prepare(self, df: Any) -> Any:
        """Validate a table."""

    def numpyro_model(self, **kwargs: Any) -> Any:
        """Build the NumPyro model (NumPyro calls it)."""

    def model_args(self, data: Any, rows: int | None = None) -> tuple[dict, dict]:
        """``(structure, arrays)`` of the NumPyro model for a validated table."""

    def structure_key(self) -> str:
        """Text identifying the model's structure (law, effects, priors, likelihood)."""

    def pointwise_structure(self, structure: dict) -> dict:
        """Return the structure under which pointwise log likelihoods are computed."""

    def has_group_scales(self, data: Any) -> bool:
        """Return whether the model has group or run effects (scales near zero make funnels)."""

    def additive_sites(self) -> frozenset[str]:
        """Return the sampled sites that are logs of terms the law adds (proposed as exp)."""

    def posterior_from(self, data: Any, draws: Any) -> P:
        """Build the posterior of one fit from its draws."""


@dataclass
class Problem:
    """A model initialised for one structure; arrays are passed per call.

    ``potential(arrays)`` and ``constrain(arrays)`` return NumPyro's potential and its
    unconstrained-to-constrained map for one table's arrays; ``unravel`` maps a flat vector to
    the parameter pytree. ``jitted`` caches compiled pieces (MAP, NUTS lanes, log likelihood)
    built on this problem.
    """

    fn: Callable[..., Any]
    structure: dict
    potential_gen: Callable[..., Callable]
    postprocess_gen: Callable[..., Callable]
    prototype: dict
    unravel: Callable[[jnp.ndarray], dict]
    dim: int
    jitted: dict = field(default_factory=dict)

    def coordinates(self, sites: frozenset[str]) -> np.ndarray:
        """Boolean mask of the flat parameter vector's coordinates that belong to ``sites``."""
        unknown = set(sites) - set(self.prototype)
        if unknown:
            raise SpecificationError(
                f"{sorted(unknown)} are not sampled sites of this model "
                f"({sorted(self.prototype)}): check the law's parameter names."
            )
        tree = {k: np.full(np.shape(v), float(k in sites)) for k, v in self.prototype.items()}
        return np.asarray(ravel_pytree(tree)[0]) > 0.5

    def potential(self, arrays: Mapping) -> Callable:
        """NumPyro's potential (negative log density) for one table's arrays."""
        return self.potential_gen(**arrays)

    def constrain(self, arrays: Mapping) -> Callable:
        """Map an unconstrained parameter pytree to every sampled and deterministic site."""
        return self.postprocess_gen(**arrays)

    def initial_points(self, keys: jax.Array, arrays: Mapping) -> jnp.ndarray:
        """Flat starting points ``(fits, dim)``: each fit's prior means, mapped unconstrained.

        One compiled, vmapped call for every fit (a fit of one table is a batch of one) runs
        the model with every latent site at its prior mean (NumPyro's ``init_to_mean``) and
        checks the potential there. A fit whose point has no finite potential (a prior without
        a mean, data the mean cannot explain) is started by NumPyro's search for a valid point
        from prior medians instead (a :class:`~bayescale.errors.SpecificationError` names the
        tables where that search fails too). Means rather than medians because the medians are drawn
        (15 prior draws per site), and that program compiles in 1.2 s against 0.1 s.
        """
        if "init" not in self.jitted:

            def prior_mean(key, a):
                model = substitute(seed_handler(self.fn, key), substitute_fn=init_to_mean)
                tr = trace(model).get_trace(**a)
                latent = {k: tr[k]["value"] for k in self.prototype}
                # each fit's own supports (a support may depend on the fit's data)
                inv = {k: biject_to(tr[k]["fn"].support) for k in self.prototype}
                flat = ravel_pytree(transform_fn(inv, latent, invert=True))[0]
                return flat, jnp.isfinite(self.potential(a)(self.unravel(flat)))

            self.jitted["init"] = jax.jit(jax.vmap(prior_mean))
        x0, finite = self.jitted["init"](keys, arrays)
        if bool(np.all(finite)):
            return x0
        return self._valid_points(keys, arrays, x0, np.asarray(finite))

    def _valid_points(self, keys, arrays, x0, finite):
        """``x0`` where ``finite``, elsewhere NumPyro's valid point found from prior medians."""

        def one(key, a):
            (params, _, _), valid = find_valid_initial_params(
                key,
                self.fn,
                init_strategy=init_to_median(num_samples=15),
                model_kwargs=a,
                prototype_params=self.prototype,
                validate_grad=False,
            )
            return ravel_pytree(params)[0], valid

        if "valid_init" not in self.jitted:
            self.jitted["valid_init"] = jax.jit(jax.vmap(one))
        found, valid = self.jitted["valid_init"](keys, arrays)
        hopeless = np.flatnonzero(~np.asarray(finite) & ~np.asarray(valid))
        if hopeless.size:
            raise SpecificationError(
                f"No valid starting point for table(s) {hopeless.tolist()}: the model's log "
                "density is not finite at the prior means nor at 100 draws near the prior "
                "medians. Check the priors against the data (e.g. a prior that puts E above "
                "the lowest loss, or a support the losses fall outside), and a law of your own "
                "(a CustomLaw fn) for NaN, inf or losses <= 0 at the table's inputs."
            )
        return jnp.where(jnp.asarray(finite)[:, None], x0, found)


#: Tables are padded to at least this many rows (see :func:`padded_rows`).
MIN_ROWS = 16
#: Distinct array shapes compiled for in one process before every compiled program is released.
#: Each costs about a thousand memory maps (executables of the MAP, Laplace, NUTS or importance
#: kernels and the log likelihood); a backtest of many splits of different sizes would otherwise
#: exhaust the kernel's limit of 65 530 maps and crash in LLVM after about 55 fits.
MAX_LIVE_SHAPES = 24
#: Problems by structure: built (and compiled against) once per process.
_PROBLEMS: dict[str, Problem] = {}
#: The (structure, array shape) pairs compiled for since the last release.
_SHAPES: set[tuple[str, tuple]] = set()


def padded_rows(n: int) -> int:
    """Return the padded length of a table of ``n`` rows: a quarter-octave step above ``n``.

    Tables of nearby sizes (the splits of a backtest, the cuts of a record) share one padded
    length, so one compiled program serves them all; the padding costs at most a quarter of
    the rows (masked, so it changes no result).
    """
    if n <= MIN_ROWS:
        return MIN_ROWS
    step = (1 << (int(n - 1).bit_length() - 1)) // 4
    return -(-n // step) * step


def release_compiled() -> None:
    """Drop every compiled program of this process: the problems and JAX's in-memory caches.

    Called when :data:`MAX_LIVE_SHAPES` shapes have been compiled for; recompiling later is a
    read of JAX's persistent compilation cache (:mod:`bayescale._runtime`).
    """
    _PROBLEMS.clear()
    _SHAPES.clear()
    jax.clear_caches()


def _note_shape(key: str, arrays: Mapping) -> None:
    shape = (key, tuple(np.shape(v) for v in jax.tree.leaves(dict(arrays))))
    if shape in _SHAPES:
        return
    if len(_SHAPES) >= MAX_LIVE_SHAPES:
        release_compiled()
    _SHAPES.add(shape)


def stack(model: Fittable, datas: Sequence[Any]) -> tuple[dict, dict]:
    """Return the common structure and the stacked, padded arrays of validated tables.

    Raises a :class:`~bayescale.errors.SpecificationError` naming the difference when the
    tables do not share one structure (e.g. different numbers of groups).
    """
    if not datas:
        raise ValueError("No tables to fit.")
    rows = padded_rows(max(d.n for d in datas))
    parts = [model.model_args(d, rows) for d in datas]
    structure = parts[0][0]
    for i, (s, _) in enumerate(parts[1:], start=1):
        if s != structure:
            diff = sorted(k for k in structure if s.get(k) != structure.get(k))
            raise SpecificationError(
                f"Table {i} differs from table 0 in {diff} ({_show(s, diff)} vs "
                f"{_show(structure, diff)}): batched fits need one structure (the same number "
                "of levels of every group term and run, the same discrepancy grid). Fit such "
                "tables separately, or with bayescale.distributed.fit_many."
            )
    arrays = jax.tree.map(lambda *vs: np.stack([np.asarray(v) for v in vs]), *[a for _, a in parts])
    return structure, arrays


def _describe(value: Any) -> str:
    """Text of a structure value, the same for equal values (sets and dicts sorted)."""
    if isinstance(value, frozenset | set):
        return repr(sorted(value))
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in sorted(value.items())) + "}"
    return repr(value)


def _show(structure: Mapping, keys: list[str]) -> str:
    return ", ".join(f"{k}={structure.get(k)!r}" for k in keys)


def problem(model: Fittable, structure: dict, arrays: Mapping, seed: int = 0) -> Problem:
    """Return the :class:`Problem` of ``model`` for ``structure`` (built once, then reused).

    ``arrays`` (with a leading fit axis) gives the shapes; the first table initialises NumPyro.
    """
    key = json.dumps(
        [model.structure_key(), {k: _describe(v) for k, v in sorted(structure.items())}],
        sort_keys=True,
    )
    _note_shape(key, arrays)
    if key in _PROBLEMS:
        return _PROBLEMS[key]

    def fn(**a: Any) -> Any:
        return model.numpyro_model(**structure, **a)

    first = jax.tree.map(lambda v: jnp.asarray(v[0]), dict(arrays))
    potential_gen, postprocess_gen, prototype = _initialize(fn, first, seed)
    flat, unravel = ravel_pytree(prototype)
    out = Problem(
        fn=fn,
        structure=structure,
        potential_gen=potential_gen,
        postprocess_gen=postprocess_gen,
        prototype=prototype,
        unravel=unravel,
        dim=int(flat.size),
    )
    _PROBLEMS[key] = out
    return out


def _initialize(
    fn: Callable[..., Any], first: Mapping, seed: int
) -> tuple[Callable, Callable, dict]:
    """NumPyro's potential and postprocess generators of ``fn``, and a prototype parameter pytree.

    The prototype holds zeros of the unconstrained parameters' shapes.

    NumPyro's ``initialize_model`` runs the model op by op, and on a fresh process each
    operation compiles on its own: about a hundred small XLA programs, 1.8 s of the Epoch fit's
    7.8 s with an empty compilation cache. The same steps (the model's transforms, the
    potential built from them, the unconstrained parameters' shapes) are taken here on the
    model traced abstractly, which compiles nothing (0.03 s). The starting points are found
    later, compiled (:meth:`Problem.initial_points`). NumPyro's own routine runs where the
    trace cannot be used: its private helpers have moved; the model reads its data's values in
    Python; a transform holds a traced array (a support computed from the data); or the model
    has ``param``/``mutable`` sites or enumerated discrete sites.
    """
    box: dict[str, Any] = {}

    def traced(a: Mapping) -> int:
        from numpyro.infer.util import _get_model_transforms, _prepare_model_for_potential

        # values are abstract here: only the sites, supports and shapes matter
        model = substitute(seed_handler(fn, jax.random.PRNGKey(seed)), substitute_fn=init_to_mean)
        inv, replay, enum, tr = _get_model_transforms(model, (), a)
        prepared = _prepare_model_for_potential(fn, tr, enum=enum)
        pot, post = get_potential_fn(
            prepared, inv, replay_model=replay, enum=enum, dynamic_args=True, model_kwargs=a
        )
        latent = {
            k: v["value"]
            for k, v in tr.items()
            if v["type"] == "sample" and not v["is_observed"] and not v["fn"].support.is_discrete
        }
        unconstrained = transform_fn(inv, latent, invert=True)
        # state the trace would have to carry out (enumeration, param/mutable sites, a
        # support computed from traced values): leave such models to NumPyro
        stateful = enum or any(v["type"] in ("param", "mutable") for v in tr.values())
        traced_support = any(isinstance(v, jax.core.Tracer) for v in jax.tree.leaves(inv))
        box.update(
            pot=pot,
            post=post,
            shapes=jax.tree.map(lambda v: (v.shape, v.dtype), unconstrained),
            usable=not (stateful or traced_support),
        )
        return 0

    try:
        with jax.checking_leaks():
            jax.make_jaxpr(traced)(dict(first))
        usable = box["usable"]
    except Exception:  # the shortcut failed: NumPyro's routine below, outside this handler
        usable = False
    if usable:
        prototype = {k: jnp.zeros(shape, dtype) for k, (shape, dtype) in box["shapes"].items()}
        return box["pot"], box["post"], prototype
    info = initialize_model(
        jax.random.PRNGKey(seed),
        fn,
        model_kwargs=dict(first),
        dynamic_args=True,
        init_strategy=init_to_median(num_samples=15),
        validate_grad=False,
    )
    return info.potential_fn, info.postprocess_fn, info.param_info.z


__all__ = ["Fittable", "Problem", "problem", "stack"]
