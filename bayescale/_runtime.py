"""JAX runtime set-up: float64 and CPU host devices, done once before JAX starts.

Scaling-law posteriors are badly conditioned, so bayescale runs in float64 by default
(set ``BAYESCALE_X64=0``, or ``false``, to keep JAX's float32). On CPU, NumPyro runs chains
in parallel only when there are as many host devices as chains; unless ``XLA_FLAGS`` already
sets a count, bayescale asks XLA for ``BAYESCALE_HOST_DEVICES`` (default 4) CPU devices. Both
must happen before JAX initialises its backends, which is why this module runs at import time.
A value of either that cannot be read is warned about, and the default kept.

NumPyro is imported here too, before anything imports ArviZ (see :func:`_configure`).

Compiled programs are kept in JAX's persistent compilation cache, so a new process does not
recompile what an earlier one compiled (the first fit of a session is several seconds faster
on CPU): the folder is ``BAYESCALE_COMPILE_CACHE`` (default ``$XDG_CACHE_HOME/bayescale/jax``,
i.e. ``~/.cache/bayescale/jax``; ``0`` turns it off). A cache folder the user set for JAX
(``JAX_COMPILATION_CACHE_DIR``) is left as it is.
"""

from __future__ import annotations

import os
import warnings

_DEVICE_FLAG = "--xla_force_host_platform_device_count"


#: Words ``BAYESCALE_X64`` is read as (case aside); anything else keeps the default, float64.
_OFF, _ON = ("0", "false", "no", "off"), ("1", "true", "yes", "on", "")


def _host_devices() -> int:
    """Return ``BAYESCALE_HOST_DEVICES`` (default 4), warning and keeping 4 for a bad value."""
    given = os.environ.get("BAYESCALE_HOST_DEVICES", "4")
    try:
        count = int(given.strip())
    except ValueError:
        count = 0
    if count < 1:  # JAX would fail to start its CPU backend at the first call
        warnings.warn(
            f"BAYESCALE_HOST_DEVICES={given!r} is not a whole number >= 1 of CPU devices: "
            "using 4 (set it to e.g. 8, or unset it).",
            UserWarning,
            stacklevel=2,
        )
        count = 4
    return count


def _float64() -> bool:
    """Return whether ``BAYESCALE_X64`` asks for float64 (the default), warning for a bad value."""
    given = os.environ.get("BAYESCALE_X64", "1")
    if given.strip().lower() in _OFF:
        return False
    if given.strip().lower() not in _ON:
        warnings.warn(
            f"BAYESCALE_X64={given!r} is neither on (1, true, yes) nor off (0, false, no): "
            "keeping float64.",
            UserWarning,
            stacklevel=2,
        )
    return True


def _configure() -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    if _DEVICE_FLAG not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {_DEVICE_FLAG}={_host_devices()}".strip()
    import jax  # here, not at the top: XLA_FLAGS must be set before JAX starts

    if _float64():
        jax.config.update("jax_enable_x64", True)
    _compile_cache(jax)
    # NumPyro before ArviZ: arviz-base registers numpyro as a lazily loaded module, and a first
    # ``import numpyro.distributions`` through that lazy module loads numpyro.distributions
    # twice, leaving ``numpyro.distributions.distribution`` unset (numpyro.factor then fails).
    import numpyro  # noqa: F401


def _compile_cache(jax) -> None:
    setting = os.environ.get("BAYESCALE_COMPILE_CACHE", "")
    if setting == "0" or os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return
    if not setting:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        setting = os.path.join(base, "bayescale", "jax")
    try:
        os.makedirs(setting, exist_ok=True)
    except OSError:
        return  # read-only home: run without the cache
    jax.config.update("jax_compilation_cache_dir", setting)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


_configure()
