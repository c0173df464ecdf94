"""Spread a vectorised computation over the local devices (CPU host devices or GPUs)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np


@functools.lru_cache(maxsize=64)
def _compiled(f, n_dev: int):
    """``jax.jit`` and ``jax.pmap`` wrappers of ``f``, kept so a second call does not recompile.

    The callers pass functions cached per problem (:class:`~bayescale.inference.problem.Problem`),
    so repeated fits of one structure reuse their executables.
    """
    return jax.jit(f), (jax.pmap(f) if n_dev > 1 else None)


def devices_map(f, *arrays, chunk: int, n_devices: int | None = None):
    """Apply ``f`` (vmapped over the leading axis) in chunks spread over the local devices.

    At most ``chunk`` rows go to one device per call; with several devices each block is split
    across them with ``jax.pmap``. ``n_devices=1`` keeps everything on one device.
    """
    n = jax.tree.leaves(arrays)[0].shape[0]
    n_dev = jax.local_device_count() if n_devices is None else n_devices
    block = max(1, min(chunk, -(-n // n_dev))) * n_dev
    jf, pf = _compiled(f, n_dev)
    outs = []
    for start in range(0, n, block):
        stop = start + block
        part = jax.tree.map(lambda v, a=start, b=stop: v[a:b], arrays)
        m = jax.tree.leaves(part)[0].shape[0]
        if pf is None or m < n_dev:
            outs.append(jf(*part))
            continue
        pad = (-m) % n_dev
        part = jax.tree.map(lambda v, k=pad: jnp.concatenate([v, jnp.repeat(v[-1:], k, 0)]), part)
        # Through host memory: an earlier pmap's output carries a sharding pmap refuses.
        shaped = jax.tree.map(lambda v: np.asarray(v).reshape(n_dev, -1, *v.shape[1:]), part)
        res = pf(*shaped)
        outs.append(jax.tree.map(lambda v, k=m: v.reshape(-1, *v.shape[2:])[:k], res))
    if len(outs) == 1:
        return outs[0]
    return jax.tree.map(lambda *vs: jnp.concatenate(vs), *outs)


__all__ = ["devices_map"]
