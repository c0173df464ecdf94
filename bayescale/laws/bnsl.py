"""Broken neural scaling law (Caballero et al. 2023) in one variable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from bayescale import arguments
from bayescale.laws.base import (
    Array,
    OneInputLaw,
    Parameter,
    Scale,
    irreducible_loss,
    log_exponent,
    log_term,
)


def _break_parameters(i: int) -> tuple[Parameter, ...]:
    loc = (
        Parameter(
            "loc_1",
            "d1",
            lambda s: dist.Normal(0.0, 1.5),
            0.3,
            "log position of the first break relative to the reference x0",
        )
        if i == 1
        else Parameter(
            f"log_gap_{i}",
            f"d{i}",
            lambda s: dist.Normal(0.0, 1.0),
            0.3,
            f"log of the distance (in log x) from break {i - 1} to break {i}",
        )
    )
    return (
        loc,
        Parameter(
            f"c_{i}",
            f"c{i}",
            lambda s: dist.Normal(0.0, 0.3),
            0.1,
            f"change of the exponent at break {i}",
        ),
        Parameter(
            f"log_f_{i}",
            f"f{i}",
            lambda s: dist.Normal(jnp.log(0.5), 0.7),
            0.2,
            f"log sharpness of break {i} (small f: a sharp break)",
        ),
    )


@dataclass(frozen=True)
class BrokenPowerLaw(OneInputLaw):
    r"""Broken neural scaling law (BNSL) in one input ``x`` with ``n_breaks`` breaks.

    Caballero et al., *Broken Neural Scaling Laws*, ICLR 2023 (arXiv:2210.14891), eq. 1:

    .. math::

        y = a + b x^{-c_0} \prod_{i=1}^{n} \left(1 + (x / d_i)^{1/f_i}\right)^{-c_i f_i}.

    Sampled on the log of the reducible part with ``u = log x - log x0``:
    ``log(y - a) = log_b - c0 u - sum_i c_i f_i softplus((u - delta_i) / f_i)``, where
    ``delta_i = log(d_i / x0)``; breaks are kept in order (``delta_i = delta_{i-1} +
    exp(log_gap_i)``) so that they cannot swap labels. ``c0 > 0``; the changes ``c_i`` may
    have either sign (the exponent after break ``i`` is ``c0 + c_1 + ... + c_i``).

    Default priors: ``log a`` as the irreducible loss, ``log_b ~ Normal(log(0.25 loss), 1.5)``,
    ``log c0 ~ Normal(log 0.3, 0.5)``, ``delta_1 ~ Normal(0, 1.5)``,
    ``log_gap_i ~ Normal(0, 1)``, ``c_i ~ Normal(0, 0.3)``, ``log f_i ~ Normal(log 0.5, 0.7)``.

    Parameters
    ----------
    x : {"N", "D", "C", "step"}
        The input variable.
    n_breaks : int
        Number of breaks (1 or more).
    priors : dict, optional
        Prior overrides by sampled name.

    Examples
    --------
    A learning curve whose exponent steepens from 0.3 to 0.6 around step 1000:

    >>> law = bs.laws.BrokenPowerLaw(x="step", n_breaks=1)
    >>> law.natural_names
    ('E', 'b', 'c0', 'd1', 'c1', 'f1')
    >>> natural = {"E": 2.0, "b": 5.0, "c0": 0.3, "d1": 1e3, "c1": 0.3, "f1": 0.5}
    >>> steps = np.array([1e2, 1e3, 1e4, 1e5])
    >>> np.round(law.natural_mean(natural, {"step": steps}), 2).tolist()
    [3.25, 2.57, 2.16, 2.04]
    """

    x: str = "step"
    n_breaks: int = 1
    name: ClassVar[str] = "bnsl"

    def __post_init__(self) -> None:
        try:  # 1.5, "2" and True are not a count of breaks; 2.0 is 2
            object.__setattr__(self, "n_breaks", arguments.count(self.n_breaks, "n_breaks"))
        except ValueError as e:
            raise ValueError(f"BrokenPowerLaw: {e}") from None
        super().__post_init__()

    @property
    def parameters(self) -> tuple[Parameter, ...]:  # type: ignore[override]
        """``log_E, log_b, log_c0`` and per break its location, exponent change and sharpness."""
        head = (
            irreducible_loss(),
            log_term("log_b", "b", "log of the reducible term at the reference x0"),
            log_exponent("log_c0", "c0", "log of the exponent before the first break"),
        )
        return head + sum((_break_parameters(i) for i in range(1, self.n_breaks + 1)), ())

    @property
    def natural_names(self) -> tuple[str, ...]:  # type: ignore[override]
        """``E, b, c0`` and ``d_i, c_i, f_i`` per break."""
        tail = sum(((f"d{i}", f"c{i}", f"f{i}") for i in range(1, self.n_breaks + 1)), ())
        return ("E", "b", "c0", *tail)

    def config(self) -> dict:
        """Return ``{"x": x, "n_breaks": n_breaks}``."""
        return {"x": self.x, "n_breaks": int(self.n_breaks)}

    def _locs(self, theta: Mapping[str, Array]) -> list[Array]:
        locs = [theta["loc_1"]]
        for i in range(2, self.n_breaks + 1):
            locs.append(locs[-1] + jnp.exp(theta[f"log_gap_{i}"]))
        return locs

    def mean(self, theta: Mapping[str, Array], u: Mapping[str, Array], scale: Scale) -> Array:
        """Centred BNSL mean (see the class docstring)."""
        v = u[self.x]
        log_red = theta["log_b"] - jnp.exp(theta["log_c0"]) * v
        for i, loc in enumerate(self._locs(theta), start=1):
            f = jnp.exp(theta[f"log_f_{i}"])
            log_red = log_red - theta[f"c_{i}"] * f * jax.nn.softplus((v - loc) / f)
        return jnp.exp(theta["log_E"]) + jnp.exp(log_red)

    def to_natural(self, theta: Mapping[str, Array], scale: Scale) -> dict[str, Array]:
        """Return ``E, b, c0, d_i, c_i, f_i`` of the paper's form on raw ``x``."""
        ref = scale.log_ref[self.x]
        c0 = jnp.exp(theta["log_c0"])
        out = {"E": jnp.exp(theta["log_E"]), "b": jnp.exp(theta["log_b"] + c0 * ref), "c0": c0}
        for i, loc in enumerate(self._locs(theta), start=1):
            out[f"d{i}"] = jnp.exp(loc + ref)
            out[f"c{i}"] = theta[f"c_{i}"]
            out[f"f{i}"] = jnp.exp(theta[f"log_f_{i}"])
        return out

    def from_natural(self, natural: Mapping[str, float], scale: Scale) -> dict[str, Array]:
        """Inverse of :meth:`to_natural`."""
        ref = scale.log_ref[self.x]
        c0 = jnp.asarray(natural["c0"])
        out = {
            "log_E": jnp.log(natural["E"]),
            "log_b": jnp.log(natural["b"]) - c0 * ref,
            "log_c0": jnp.log(c0),
        }
        prev = None
        for i in range(1, self.n_breaks + 1):
            loc = jnp.log(natural[f"d{i}"]) - ref
            if i == 1:
                out["loc_1"] = loc
            else:
                out[f"log_gap_{i}"] = jnp.log(loc - prev)
            prev = loc
            out[f"c_{i}"] = jnp.asarray(natural[f"c{i}"])
            out[f"log_f_{i}"] = jnp.log(natural[f"f{i}"])
        return out

    def natural_mean(self, natural: Mapping[str, Array], x: Mapping[str, Array]) -> Array:
        """Evaluate the paper's eq. 1 on raw ``x``."""
        v = x[self.x]
        y = natural["b"] * v ** -natural["c0"]
        for i in range(1, self.n_breaks + 1):
            d, c, f = natural[f"d{i}"], natural[f"c{i}"], natural[f"f{i}"]
            y = y * (1 + (v / d) ** (1 / f)) ** (-c * f)
        return natural["E"] + y
