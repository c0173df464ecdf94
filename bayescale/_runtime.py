"""JAX runtime set-up: float64 and CPU host devices, done once before JAX starts.

Scaling-law posteriors are badly conditioned, so bayescale runs in float64 by default
(set ``BAYESCALE_X64=0`` to keep JAX's float32). On CPU, NumPyro runs chains in parallel only
when there are as many host devices as chains; unless ``XLA_FLAGS`` already sets a count,
bayescale asks XLA for ``BAYESCALE_HOST_DEVICES`` (default 4) CPU devices. Both must happen
before JAX initialises its backends, which is why this module runs at import time.
"""

from __future__ import annotations

import os

_DEVICE_FLAG = "--xla_force_host_platform_device_count"


def _configure() -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    if _DEVICE_FLAG not in flags:
        count = int(os.environ.get("BAYESCALE_HOST_DEVICES", "4"))
        os.environ["XLA_FLAGS"] = f"{flags} {_DEVICE_FLAG}={count}".strip()
    import jax

    if os.environ.get("BAYESCALE_X64", "1") != "0":
        jax.config.update("jax_enable_x64", True)


_configure()
