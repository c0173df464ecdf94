"""Sampler settings and statistics, named once for every kind of fit.

:class:`NutsSettings` holds every option of a NUTS run (single, batched or SBC) and is written
with the posterior; :func:`sampler_stats` turns the lanes' raw fields into ArviZ's
``sample_stats`` names, with the tree-depth check computed here (arviz-base writes
``reached_max_tree_depth`` but ``arviz_stats.diagnose`` reads ``reached_max_treedepth``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from bayescale import arguments
from bayescale.defaults import MAX_TREE_DEPTH

INIT_MASS = ("auto", "laplace", "identity")
#: Rows from which ``init_mass="auto"`` runs a fit with group scales in Laplace coordinates.
LAPLACE_MASS_MIN_ROWS = 2000
#: Rows from which ``init_mass="auto"`` runs a single fit *without* group scales in Laplace
#: coordinates (Epoch's 240 runs: 8 leapfrog steps per draw against 30, the same ESS; 120 runs
#: 2x fewer steps but a third of the ESS on 3 of 4 seeds; 35-60 runs no gain, docs/models.md).
LAPLACE_MASS_MIN_ROWS_SIMPLE = 200
INIT = ("map", "prior")


#: numpyro's names of the options that :class:`NutsSettings` names otherwise.
NUMPYRO_NAMES = {"num_samples": "draws", "num_warmup": "warmup", "num_chains": "chains"}


#: ``NutsSettings.chain_method``'s choices (read by :func:`bayescale.inference.nuts.lane_devices`).
CHAIN_METHODS = ("auto", "parallel", "vectorized")


def _tree_depth(value: Any, name: str) -> int:
    """Return a NUTS tree depth, a whole number from 1 to :data:`MAX_TREE_DEPTH`."""
    try:
        depth = arguments.whole(value, name)
    except ValueError:
        depth = None
    if depth is None or depth > MAX_TREE_DEPTH:
        raise ValueError(f"{name}={value!r} must be a whole number from 1 to {MAX_TREE_DEPTH}.")
    return depth


#: Fewest draws per chain a fit's diagnostics can check.
MIN_DRAWS = 4


@dataclass(frozen=True)
class NutsSettings:
    """Options of a NUTS run.

    Parameters
    ----------
    chains, draws, warmup : int
        Chains per fit, kept draws per chain (at least :data:`MIN_DRAWS`, 4) and warm-up
        iterations per chain.
    seed : int
        Random seed: the same seed, data and settings give the same draws.
    target_accept : float
        Target acceptance probability of step-size adaptation (0.95: the law's parameters trade
        off along curved ridges, where smaller steps avoid divergences).
    max_tree_depth : int
        Largest NUTS tree depth of the kept draws.
    warmup_tree_depth : int or None
        Largest tree depth during warm-up; ``None``: 6 for batches of several fits (where one
        lane's deep tree stalls every lane of its call), else ``max_tree_depth``.
    dense_mass : bool
        Adapt a dense mass matrix (the law's parameters are correlated).
    adapt_mass : bool
        Adapt the mass matrix during warm-up (else keep the starting one).
    init : {"map", "prior"}
        Start chains around the MAP (spread by the Laplace standard deviations) or at the
        prior means, jittered.
    init_mass : {"auto", "laplace", "identity"}
        How NUTS uses each fit's Laplace approximation (where the MAP converged with a
        positive-definite Hessian): ``"laplace"`` runs NUTS in its coordinates (``z = MAP +
        L w``; mass adaptation then works on scales near one, :mod:`~bayescale.inference.nuts`);
        ``"identity"`` ignores it (the sampler's coordinates, identity starting mass).
        ``"auto"`` uses the coordinates for tables of at least :data:`LAPLACE_MASS_MIN_ROWS`
        rows and for fits without group or run scales of at least
        :data:`LAPLACE_MASS_MIN_ROWS_SIMPLE` rows; the Laplace covariance as *starting* mass
        for smaller fits without group or run scales in batches of several (lanes run in
        lockstep; in Laplace coordinates 22 % of 1000 ladders of 40-55 points diverged); the
        identity elsewhere: small single fits gain little or lose ESS, and a group scale near
        zero makes the posterior a funnel whose Laplace matrix misleads the warm-up
        (``docs/models.md``).
    chain_method : {"auto", "parallel", "vectorized"}
        Lanes spread over the local devices, or vectorised on one (see
        :func:`bayescale.inference.nuts.lane_devices`).
    chunk : int or None
        Lanes per vectorised call per device (default
        :func:`bayescale.inference.nuts.default_chunk`).
    """

    chains: int = 4
    draws: int = 1000
    warmup: int = 1000
    seed: int = 0
    target_accept: float = 0.95
    max_tree_depth: int = 10
    warmup_tree_depth: int | None = None
    dense_mass: bool = True
    adapt_mass: bool = True
    init: str = "map"
    init_mass: str = "auto"
    chain_method: str = "auto"
    chunk: int | None = None

    def __post_init__(self) -> None:
        # each value checked and kept as the type the sampler reads: a numpy integer would not
        # write to the fit's JSON settings, text or a float would fail inside JAX, and "no" is
        # true to Python
        def keep(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name, minimum in (("chains", 1), ("draws", 1), ("warmup", 0)):
            keep(name, arguments.whole(getattr(self, name), name, minimum))
        if self.draws < MIN_DRAWS:  # R-hat, ESS and BFMI need a few draws of each chain
            raise ValueError(
                f"draws={self.draws}: a chain of fewer than {MIN_DRAWS} draws cannot be checked "
                f"(R-hat, ESS, BFMI); give draws >= {MIN_DRAWS} (the default is 1000)."
            )
        keep("seed", arguments.seed(self.seed))
        target = arguments.finite(self.target_accept, "target_accept")
        if not 0 < target < 1:
            raise ValueError(f"target_accept={self.target_accept!r} must lie in (0, 1).")
        keep("target_accept", target)
        keep("max_tree_depth", _tree_depth(self.max_tree_depth, "max_tree_depth"))
        if self.warmup_tree_depth is not None:
            keep("warmup_tree_depth", _tree_depth(self.warmup_tree_depth, "warmup_tree_depth"))
        for name in ("dense_mass", "adapt_mass"):
            keep(name, arguments.flag(getattr(self, name), name))
        if self.init not in INIT:
            raise ValueError(f"init={self.init!r}; choose one of {list(INIT)}.")
        if self.init_mass not in INIT_MASS:
            raise ValueError(f"init_mass={self.init_mass!r}; choose one of {list(INIT_MASS)}.")
        if self.chain_method not in CHAIN_METHODS:
            raise ValueError(
                f"chain_method={self.chain_method!r}; choose one of {list(CHAIN_METHODS)}."
            )
        if self.chunk is not None:
            keep("chunk", arguments.whole(self.chunk, "chunk"))

    @classmethod
    def from_options(cls, **options: Any) -> NutsSettings:
        """Return the settings of keyword options, refusing a name that is not one of them.

        Parameters
        ----------
        **options
            Options by name (``chains``, ``draws``, ``target_accept``, ...).

        Returns
        -------
        NutsSettings
            The settings.

        Raises
        ------
        ValueError
            When an option is not a setting (numpyro's ``num_samples``, ``num_warmup`` and
            ``num_chains`` are named as bayescale's ``draws``, ``warmup`` and ``chains``), or
            its value is out of range.

        Examples
        --------
        >>> NutsSettings.from_options(draws=500, target_accept=0.99).draws
        500
        >>> NutsSettings.from_options(num_samples=500)
        Traceback (most recent call last):
        ...
        ValueError: Unknown sampler option num_samples: bayescale names it draws= ...
        """
        known = [f.name for f in fields(cls)]
        unknown = [k for k in options if k not in known]
        if unknown:
            name = unknown[0]
            alias = NUMPYRO_NAMES.get(name)
            hint = (
                f"bayescale names it {alias}= (numpyro's names are not taken)"
                if alias
                else f"the options are {known}"
            )
            raise ValueError(f"Unknown sampler option {name}: {hint}.")
        return cls(**options)

    def warmup_depth(self, fits: int) -> int:
        """Return the warm-up tree depth cap for a batch of ``fits`` fits."""
        if self.warmup_tree_depth is not None:
            return min(int(self.warmup_tree_depth), self.max_tree_depth)
        return min(6, self.max_tree_depth) if fits > 1 else self.max_tree_depth

    def laplace_mass(self, has_group_scales: bool, rows: int, fits: int = 1) -> bool:
        """Return whether a fit's NUTS uses its Laplace covariance (see ``init_mass``).

        As its coordinates where :meth:`laplace_coordinates` says so, else as starting mass.
        """
        if self.init_mass == "auto":
            return self.laplace_coordinates(has_group_scales, rows) or (
                fits > 1 and not has_group_scales
            )
        return self.init_mass == "laplace"

    def laplace_coordinates(self, has_group_scales: bool, rows: int) -> bool:
        """Return whether a fit's NUTS runs in its Laplace coordinates (see ``init_mass``)."""
        if self.init_mass == "auto":
            simple = not has_group_scales and rows >= LAPLACE_MASS_MIN_ROWS_SIMPLE
            return rows >= LAPLACE_MASS_MIN_ROWS or simple
        return self.init_mass == "laplace"

    def with_(self, **changes: Any) -> NutsSettings:
        """Return a copy with some options changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable options (written with every posterior)."""
        return asdict(self)


def sampler_stats(fields: dict[str, np.ndarray], max_tree_depth: int) -> dict[str, np.ndarray]:
    """ArviZ ``sample_stats`` of one fit from its lanes' fields, each ``(chain, draw)``."""
    n_steps = np.asarray(fields["num_steps"])
    return {
        "diverging": np.asarray(fields["diverging"]),
        "energy": np.asarray(fields["energy"]),
        "n_steps": n_steps,
        "acceptance_rate": np.asarray(fields["accept_prob"]),
        "step_size": np.asarray(fields["step_size"]),
        "lp": -np.asarray(fields["potential"]),
        "tree_depth": np.floor(np.log2(n_steps + 1)).astype(np.int64),
        "reached_max_treedepth": n_steps >= 2**max_tree_depth - 1,
    }


__all__ = [
    "CHAIN_METHODS",
    "INIT",
    "INIT_MASS",
    "LAPLACE_MASS_MIN_ROWS",
    "LAPLACE_MASS_MIN_ROWS_SIMPLE",
    "NutsSettings",
    "sampler_stats",
]
