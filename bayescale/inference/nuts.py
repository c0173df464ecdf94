"""NUTS on lanes: independent chains of one or many fits as one vectorised computation.

Every chain of every fit is a *lane*: NumPyro's functional ``hmc`` kernel (NUTS) under
``jax.vmap``, each lane with its own step-size and mass-matrix adaptation and its own model
arrays. A single fit's chains, a batch of fits and simulation-based calibration all run here.
Lanes run in lockstep within a vectorised call, so the slowest lane of a call sets its pace:
lanes run in segments and are re-sorted by cost between segments, and calls are spread over the
local devices (one chain per CPU host device for a single fit).

A lane can run in *whitened* coordinates ``w``, ``z = shift + chol @ w`` (``whiten``; the
engine passes each fit's MAP and a factor ``L``, ``L L' =`` its Laplace covariance). NUTS then
adapts its mass matrix where every direction has a variance near one. Stan's regularisation of
the adapted covariance, which NumPyro copies (``+ 1e-3 * 5 / (n + 5)`` on the diagonal, ``n``
the window's draws), is absolute: a posterior direction whose variance is far below 1e-5 (a
combination of law parameters that thousands of rows pin) is scaled as if it were hundreds of
times wider, and the step size shrinks to match. In whitened coordinates the same
regularisation is relative to the Laplace covariance.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer.hmc import hmc

from bayescale.inference.devices import devices_map
from bayescale.inference.stats import CHAIN_METHODS

#: Per-draw fields that :func:`nuts_lanes` records from NumPyro's ``HMCState``.
LANE_FIELDS = ("z", "diverging", "num_steps", "energy", "accept_prob", "step_size", "potential")


def nuts_lanes(
    potential_fn_gen,
    unravel,
    keys: jax.Array,
    z0: jnp.ndarray,
    lane_kwargs: dict,
    draws: int,
    warmup: int,
    target_accept: float = 0.95,
    dense_mass: bool = True,
    max_tree_depth: int = 10,
    chunk: int | None = None,
    n_devices: int | None = None,
    inverse_mass: jnp.ndarray | None = None,
    adapt_mass: bool = True,
    warmup_tree_depth: int = 6,
    whiten: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, jnp.ndarray]:
    """Run independent NUTS lanes in lockstep (NumPyro's functional ``hmc`` under ``vmap``).

    Parameters
    ----------
    potential_fn_gen : callable
        ``potential_fn_gen(**model_kwargs) -> potential_fn`` (``initialize_model`` with
        ``dynamic_args=True``).
    unravel : callable
        Maps a flat unconstrained vector to the parameter pytree.
    keys, z0, lane_kwargs
        Per-lane random keys, flat starting points ``(lanes, dim)`` and model arguments
        (arrays with a leading lane axis).
    draws, warmup, target_accept, dense_mass, max_tree_depth
        NUTS settings; every lane adapts its own step size and mass matrix.
    chunk : int, optional
        Lanes per vectorised call per device (see :func:`devices_map`); default
        :func:`default_chunk`.
    n_devices : int, optional
        Devices to spread lanes over (default: all local devices; 1 keeps the lanes vectorised
        on one device).
    inverse_mass : jax.Array, optional
        Per-lane starting inverse mass matrices, ``(lanes, dim, dim)`` (dense) or
        ``(lanes, dim)`` (diagonal), in the coordinates NUTS runs in (``w`` when
        whitened). Without it every lane starts from the identity.
    adapt_mass : bool
        Adapt the mass matrix during warm-up (NumPyro's windowed schedule); when false the
        starting one is kept and only the step size adapts.
    warmup_tree_depth : int
        Largest tree depth during warm-up (sampling uses ``max_tree_depth``): early warm-up
        steps are poorly adapted, and a lane building a tree of hundreds of steps stalls every
        lane of its call; warm-up draws are discarded, so a cap costs nothing in validity
        (``docs/models.md`` has the measurements).
    whiten : tuple of arrays, optional
        Per-lane ``(shift, chol)``, shaped ``(lanes, dim)`` and ``(lanes, dim, dim)``: run NUTS
        on ``w`` with ``z = shift + chol @ w`` (``chol`` any square factor of the covariance;
        an identity ``chol`` and zero ``shift`` leave a lane as it is). ``z0`` and the returned
        draws stay in ``z``; ``inverse_mass`` is then
        that of ``w``.

    Returns
    -------
    dict
        :data:`LANE_FIELDS` per lane and draw, shaped ``(lanes, draws, ...)``.

    Notes
    -----
    Lanes run in segments of :func:`segment_length` iterations; between segments they are
    re-sorted by their leapfrog steps per iteration, so that a vectorised call holds lanes of
    similar cost (a lane waits for the slowest in its call). When every lane has a device of
    its own (a single fit's chains on CPU host devices), each runs unbatched on its device
    (``jax.pmap`` of the plain kernel): no lockstep at all, and a third of the compile time
    of the vectorised kernel.
    """
    chunk = default_chunk() if chunk is None else chunk
    lanes = z0.shape[0]
    n_dev = jax.local_device_count() if n_devices is None else n_devices
    one_per_device = 1 < lanes <= n_dev
    if whiten is not None:
        shift, chol = (np.asarray(v, dtype=np.asarray(z0).dtype) for v in whiten)
        z_unravel = unravel
        potential_fn_gen, unravel = _whitened(potential_fn_gen, unravel)
        lane_kwargs = {**lane_kwargs, _SHIFT: shift, _CHOL: chol}
        z0 = np.stack(
            [np.linalg.solve(c, z - m) for c, z, m in zip(chol, np.asarray(z0), shift, strict=True)]
        )
    # Lanes of their own device wait for no one: one call runs warm-up and sampling.
    length = warmup + draws if one_per_device else segment_length(warmup, draws)
    init, segment = _lane_kernels(
        potential_fn_gen,
        unravel,
        warmup,
        target_accept,
        dense_mass,
        max_tree_depth,
        adapt_mass,
        length,
        warmup_tree_depth,
        not one_per_device,
    )
    if inverse_mass is None:
        eye = jnp.eye(z0.shape[-1]) if dense_mass else jnp.ones(z0.shape[-1])
        inverse_mass = jnp.broadcast_to(eye, (lanes, *eye.shape))

    def run(f, *args):
        return devices_map(f, *args, chunk=chunk, n_devices=n_devices)

    if one_per_device:  # through host memory: pmap refuses an earlier pmap's sharding
        args = jax.tree.map(np.asarray, (keys, z0, lane_kwargs, inverse_mass))
        fields = _pmapped(_whole_chain(init, segment))(*args)
        kept = jax.tree.map(lambda v: np.asarray(v)[:, warmup:], fields)
        out = dict(zip(LANE_FIELDS, kept, strict=True))
        return out if whiten is None else _unwhiten(out, shift, chol, z_unravel)
    state = run(init, keys, z0, lane_kwargs, inverse_mass)
    order = np.arange(lanes)  # order[i]: the lane now in position i
    kept: list = []
    for start in range(0, warmup + draws, length):
        state, fields = run(segment, state, lane_kwargs)
        if start >= warmup:
            back = np.argsort(order)
            kept.append(jax.tree.map(lambda v, o=back: np.asarray(v)[o], fields))
        # Re-sort lanes by their recent cost (leapfrog steps per iteration) so that lanes of
        # similar cost share a vectorised call and wait less for each other.
        perm = np.argsort(np.asarray(fields[2]).mean(axis=1), kind="stable")
        order = order[perm]
        state, lane_kwargs = jax.tree.map(lambda v, p=perm: np.asarray(v)[p], (state, lane_kwargs))
    out = jax.tree.map(lambda *parts: np.concatenate(parts, axis=1), *kept)
    fields = dict(zip(LANE_FIELDS, out, strict=True))
    return fields if whiten is None else _unwhiten(fields, shift, chol, z_unravel)


#: Lane keyword arguments carrying the whitening (popped before the model sees its arrays).
_SHIFT, _CHOL = "_whiten_shift", "_whiten_chol"


def _flat(w: jnp.ndarray) -> jnp.ndarray:
    """Return ``w``: whitened coordinates are one flat vector (their unravel is the identity)."""
    return w


@functools.lru_cache(maxsize=64)
def _whitened(potential_fn_gen, unravel):
    """``potential_fn_gen`` and ``unravel`` of whitened coordinates (cached per model).

    The potential of ``w`` is that of ``z = shift + chol @ w``; the Jacobian is constant, so
    NUTS's draws of ``w`` map to draws of ``z`` exactly.
    """

    def gen(**kw):
        shift, chol = kw.pop(_SHIFT), kw.pop(_CHOL)
        potential = potential_fn_gen(**kw)
        return lambda w: potential(unravel(shift + chol @ w))

    return gen, _flat


def _unwhiten(fields: dict, shift: np.ndarray, chol: np.ndarray, unravel) -> dict:
    """Map the lanes' draws of ``w`` back to the parameter pytree of ``z``."""
    z = shift[:, None, :] + np.einsum("lij,ldj->ldi", chol, np.asarray(fields["z"]))
    return {**fields, "z": jax.vmap(jax.vmap(unravel))(jnp.asarray(z))}


def default_chunk() -> int:
    """Return the lanes per vectorised call per device: 32 on CPU, 4096 on accelerators.

    Small calls of lanes of similar cost wait less for their slowest lane on CPU; accelerators
    need wide calls (``docs/models.md`` has the measurements).
    """
    return 32 if jax.default_backend() == "cpu" else 4096


def segment_length(warmup: int, draws: int) -> int:
    """Return the iterations per vectorised call (lanes are re-sorted by cost between calls).

    Warm-up and sampling are cut into segments of one length (one compiled program): the
    greatest common divisor of the two, halved while that leaves fewer than four segments.
    """
    length = math.gcd(warmup, draws) if warmup else draws
    while (warmup + draws) // length < 4 and length % 2 == 0:
        length //= 2
    return length


@functools.lru_cache(maxsize=64)
def _whole_chain(init, segment):
    """One lane's whole run (initialisation, then every iteration), cached per kernel pair."""

    def whole(key, z, kw, inverse_mass):
        return segment(init(key, z, kw, inverse_mass), kw)[1]

    return whole


@functools.lru_cache(maxsize=64)
def _pmapped(f):
    """``jax.pmap(f)``, kept so a second call does not recompile."""
    return jax.pmap(f)


@functools.lru_cache(maxsize=32)
def _lane_kernels(
    potential_fn_gen,
    unravel,
    warmup: int,
    target_accept: float,
    dense_mass: bool,
    max_tree_depth: int,
    adapt_mass: bool,
    length: int,
    warmup_tree_depth: int,
    batched: bool = True,
):
    """NUTS initialisation and a ``length``-iteration segment of one lane (cached per setting).

    Vmapped over lanes when ``batched``. NumPyro's kernel switches from warm-up to sampling by
    its iteration counter, so one segment program serves both phases.
    """
    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_fn_gen, algo="NUTS")

    def init(key, z, kw, inverse_mass):
        return init_kernel(
            unravel(z),
            warmup,
            inverse_mass_matrix=inverse_mass,
            adapt_mass_matrix=adapt_mass,
            dense_mass=dense_mass,
            target_accept_prob=target_accept,
            max_tree_depth=(min(warmup_tree_depth, max_tree_depth), max_tree_depth),
            model_kwargs=kw,
            rng_key=key,
        )

    def segment(state, kw):
        def step(s, _):
            s = sample_kernel(s, model_kwargs=kw)
            fields = (s.z, s.diverging, s.num_steps, s.energy, s.accept_prob)
            return s, (*fields, s.adapt_state.step_size, s.potential_energy)

        return jax.lax.scan(step, state, None, length=length)

    if not batched:
        return init, segment
    return jax.vmap(init), jax.vmap(segment)


#: Rows from which :func:`all_devices_memory_advice` warns about parallel chains on CPU.
ALL_DEVICES_WARN_ROWS = 10_000


def all_devices_memory_advice(n_devices: int, chains: int, rows: int) -> str | None:
    """Advice when parallel chains on CPU would occupy every host device of a large table.

    With jax 0.12 on CPU, a ``pmap`` over *every* host device keeps memory for each gradient
    evaluation until the run ends (``docs/models.md``: tens of GB at 30k-100k rows); one spare
    host device avoids it. Returns the message, or ``None`` where it does not apply (one
    device, other backends, fewer chains than devices, small tables).
    """
    if n_devices <= 1 or jax.default_backend() != "cpu" or rows < ALL_DEVICES_WARN_ROWS:
        return None
    devices = jax.local_device_count()
    if devices > chains:
        return None
    return (
        f"{chains} parallel chains use every CPU host device ({devices}), and with jax's CPU "
        f"runtime the memory of such a run grows with every leapfrog step: {rows} rows can "
        f"take tens of GB. Start Python with BAYESCALE_HOST_DEVICES={chains + 1} (one spare "
        f"device; set before bayescale or jax is imported), or pass "
        f"chain_method='vectorized' (about 2x slower, little memory)."
    )


def lane_devices(chain_method: str, chains: int, fits: int) -> int:
    """Devices to spread lanes over: ``"parallel"`` all local devices, ``"vectorized"`` one.

    ``"auto"`` is parallel when there is more than one fit or at least as many devices as
    chains (one chain per device), else vectorised.
    """
    if chain_method not in CHAIN_METHODS:
        raise ValueError(f"chain_method={chain_method!r}; choose one of {list(CHAIN_METHODS)}.")
    n_dev = jax.local_device_count()
    if chain_method == "vectorized":
        return 1
    if chain_method == "parallel" or fits > 1 or n_dev >= chains:
        return n_dev
    return 1
