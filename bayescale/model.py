"""The hierarchical model: a law, random effects on its parameters, and a likelihood."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd

from bayescale import laws as _laws
from bayescale.data import ScalingData, prepare
from bayescale.discrepancy import Grid, grid_for, sample_path
from bayescale.discrepancy import axis as disc_axis
from bayescale.errors import SpecificationError
from bayescale.extrapolation import DEFAULT_SCALE as DEFAULT_EXTRAPOLATION_SCALE
from bayescale.laws.base import Law, Scale
from bayescale.priors import parse_prior, prior_to_str

if TYPE_CHECKING:
    from bayescale.posterior import ScalingPosterior

LIKELIHOODS = ("student_t", "normal")
SCALES = ("log", "linear", "logit")
#: Priors of the noise and run-effect sites, on the log-loss scale (multiplied by the typical
#: loss on the linear scale).
NOISE_SITES = ("sigma", "nu", "sd_run")


def sample_effect(
    name: str, sd: jnp.ndarray, centered: bool, mean: jnp.ndarray | None = None
) -> jnp.ndarray:
    """Sample a normal random effect with scale ``sd`` (inside its plate); return the effect.

    Non-centred: ``sd * z``, site ``z_<name> ~ N(0, 1)``. Centred: site ``r_<name> ~ N(0,
    sd)``; given the population value ``mean``, each level's value is sampled instead (site
    ``<name> ~ N(mean, sd)``) and its effect recorded as ``r_<name> = <name> - mean``
    (deterministic). Sampling the values removes the ridge between the population value and
    effects that the data pin only as a sum (P4 benchmark, 10k checkpoints in 4 families:
    min bulk ESS 374 -> 580 for the same draws).
    """
    if not centered:
        return sd * numpyro.sample(f"z_{name}", dist.Normal(0.0, 1.0))
    if mean is None:
        return numpyro.sample(f"r_{name}", dist.Normal(0.0, sd))
    value = numpyro.sample(name, dist.Normal(mean, sd))
    return numpyro.deterministic(f"r_{name}", value - mean)


def marginal_run_likelihood(
    y: jnp.ndarray,
    loc: jnp.ndarray,
    run_codes: jnp.ndarray,
    n_runs: int,
    sd_run: jnp.ndarray,
    sigma: jnp.ndarray,
    mask: jnp.ndarray | None = None,
) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """Log likelihood of normal rows with a normal run effect integrated out.

    Rows ``y_i = loc_i + r_j + e_i`` with ``r_j ~ N(0, sd_run)`` and ``e_i ~ N(0, sigma)``.
    With ``n_j`` rows of run ``j`` and residual sum ``S_j``, the effect given the rows is
    ``N(m_j, v_j)``, ``v_j = 1 / (n_j / sigma^2 + 1 / sd_run^2)``, ``m_j = v_j S_j / sigma^2``,
    and the marginal log likelihood of run ``j`` is
    ``sum_i log N(y_i - loc_i; 0, sigma) + log(v_j / sd_run^2) / 2 + m_j^2 / (2 v_j)``.

    Returns the total log likelihood (rows outside ``mask`` left out) and the conditional
    mean and standard deviation of every run's effect, from which the effects are drawn after
    sampling (:func:`draw_marginal_run`).
    """
    resid = y - loc
    w = jnp.ones_like(resid) if mask is None else mask.astype(resid.dtype)
    n_j = jax.ops.segment_sum(w, run_codes, num_segments=n_runs)
    s_j = jax.ops.segment_sum(w * resid, run_codes, num_segments=n_runs)
    var = sigma**2
    v_j = 1.0 / (n_j / var + 1.0 / sd_run**2)
    m_j = v_j * s_j / var
    rows = jnp.sum(w * dist.Normal(0.0, sigma).log_prob(resid))
    runs = jnp.sum(0.5 * jnp.log(v_j / sd_run**2) + 0.5 * m_j**2 / v_j)
    return rows + runs, m_j, jnp.sqrt(v_j)


#: Deterministic sites carrying the conditional moments of integrated-out run effects.
RUN_MOMENT_SITES = ("_r_run_mean", "_r_run_sd")


def draw_marginal_run(samples: dict, key: jax.Array) -> dict:
    """Replace the conditional moments of integrated-out run effects by draws of ``r_run``.

    Each draw of the other parameters gets one draw of every run's effect from its exact
    conditional normal, so ``samples`` holds the same sites as a fit that sampled the run
    effects (the joint posterior, without NUTS exploring them). Samples without the moment
    sites are returned unchanged.
    """
    if RUN_MOMENT_SITES[0] not in samples:
        return samples
    out = {k: v for k, v in samples.items() if k not in RUN_MOMENT_SITES}
    mean, sd = (jnp.asarray(samples[k]) for k in RUN_MOMENT_SITES)
    out["r_run"] = np.asarray(mean + sd * jax.random.normal(key, mean.shape, mean.dtype))
    return out


def _normalise_effects(effects: Mapping[str, str | Sequence[str]] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in (effects or {}).items():
        terms = [v] if isinstance(v, str) else list(v)
        if not terms or not all(isinstance(t, str) and t for t in terms):
            raise SpecificationError(
                f"Effects of {k!r} must be a group column or a list of them, got {v!r}."
            )
        out[k] = terms
    return out


@dataclass
class Model:
    """A Bayesian scaling-law model.

    Parameters
    ----------
    law : Law or str
        The law, or its registry name (``"chinchilla"``, ``"power"``).
    effects : dict, optional
        Which law parameters vary by which groups, by natural name:
        ``{"E": "family", "A": ["family", "family:seed"]}``. ``"a:b"`` is the interaction of
        columns ``a`` and ``b`` (nested when ``b`` labels repeat within ``a``). Each effect is a
        non-centred normal random effect on the parameter's sampled (centred) scale with a
        half-normal prior on its standard deviation.
    likelihood : {"student_t", "normal"}
        Observation noise. Student-t (default) is robust to outlying runs.
    scale : {"log", "linear", "logit"}
        Whether the likelihood is on log loss (default), loss, or the logit of a metric bounded
        in (0, 1) such as an accuracy or error rate (downstream links): predictions then stay
        inside the bounds.
    priors : dict, optional
        Prior overrides by sampled name (``"log_alpha"``, ``"sigma"``, ``"nu"``, ``"sd_run"``),
        as numpyro distributions or text such as ``"Normal(0, 1)"``.
    columns : dict, optional
        Data column of each role where it differs from the default name.
    run : str, bool or None
        Column naming the run of each checkpoint (a per-run effect on the mean is added when a
        run has several rows); ``False`` declares rows independent.
    marginal_run : bool or "auto"
        Integrate the run effect out of the likelihood instead of sampling it (normal
        likelihood only; ``"auto"``, the default, does so whenever the likelihood is normal).
        Each run's effect is then drawn after sampling from its exact conditional normal, so
        the posterior holds ``r_run`` as before. With hundreds of runs of many checkpoints each
        run's offset is pinned far more tightly than the law's parameters it trades against,
        and sampling the offsets stalls NUTS (P4 benchmark, 10k checkpoints of 100 runs:
        R-hat 2.6 after 200 s); integrated out, the sampler sees only the law, the group
        effects and two scales.
    centered : bool or "auto"
        Parameterisation of the group effects. Non-centred (``r_g = sd * z_g``, ``z_g ~ N(0,
        1)``) suits groups with few rows or few levels; centred (each level's value sampled
        around the population value, see :func:`sample_effect`) suits
        groups each well determined by their own data, the usual case of a ladder of runs per
        family. ``"auto"`` (default) centres a term when it has at least 4 levels and every
        level has at least ``centered_min_rows`` rows. The run effect follows the same rule
        (site ``r_run`` when centred, ``z_run`` otherwise): runs with many checkpoints pin their
        own offsets, and non-centred offsets then make a funnel (P4 benchmark: 10k checkpoints
        of 100 runs). Measured: on a simulated 4-family
        ladder (35 rows per family) centring took 10x fewer leapfrog steps (68k vs 683k) and
        removed the divergences (1 vs 40); on Gadre et al.'s 3 training datasets with E, A, B
        by dataset, centring failed (R-hat 1.97, 3993 max-depth hits) where non-centred mixed
        (R-hat 1.006, 7 hits): with 3 levels the group SD is barely identified and the centred
        funnel bites.
    centered_min_rows : int
        Threshold of ``"auto"``.
    discrepancy : {None, "random_walk"}
        Add a law discrepancy that grows with extrapolation distance (see
        :mod:`bayescale.discrepancy`): a random walk in log10 compute on bins of
        ``discrepancy_step`` decades, with a half-normal(``discrepancy_scale``) prior on its
        scale per square-root decade (log-loss units).
    discrepancy_step, discrepancy_scale : float
        Bin width (decades) and prior scale of the discrepancy.
    extrapolation_scale : float
        Scale of the extrapolation-error term added to every prediction beyond the data
        (:mod:`bayescale.extrapolation`): a drift in log loss of ``tau z`` per decade beyond
        the training range, ``tau ~ HalfNormal(extrapolation_scale)``. The default (0.03) was
        calibrated by backtests across public datasets; 0 turns it off (predictions then trust
        the law's form exactly, and their intervals are too narrow when extrapolating).
    """

    law: Law | str = "chinchilla"
    effects: Mapping[str, str | Sequence[str]] | None = None
    likelihood: str = "student_t"
    scale: str = "log"
    priors: Mapping[str, Any] | None = None
    columns: Mapping[str, str] | None = None
    run: str | bool | None = None
    marginal_run: bool | str = "auto"
    centered: bool | str = "auto"
    centered_min_rows: int = 5
    discrepancy: str | None = None
    discrepancy_step: float = 0.1
    discrepancy_scale: float = 0.05
    extrapolation_scale: float = DEFAULT_EXTRAPOLATION_SCALE
    _terms: dict[str, list[str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.law, str):
            self.law = _laws.get(self.law)
        if not isinstance(self.law, Law):
            raise SpecificationError(f"law must be a bayescale Law or a name, got {self.law!r}.")
        if self.likelihood not in LIKELIHOODS:
            raise SpecificationError(
                f"likelihood={self.likelihood!r}; choose one of {list(LIKELIHOODS)}."
            )
        if self.centered not in (True, False, "auto"):
            raise SpecificationError(f"centered={self.centered!r}; use True, False or 'auto'.")
        if self.marginal_run not in (True, False, "auto"):
            raise SpecificationError(
                f"marginal_run={self.marginal_run!r}; use True, False or 'auto'."
            )
        if self.marginal_run is True and self.likelihood != "normal":
            raise SpecificationError(
                "marginal_run=True integrates the run effect out in closed form, which needs "
                f"likelihood='normal' (got {self.likelihood!r}); pass likelihood='normal' or "
                "marginal_run=False."
            )
        if self.discrepancy not in (None, "random_walk"):
            raise SpecificationError(
                f"discrepancy={self.discrepancy!r}; use None or 'random_walk'."
            )
        if not (np.isfinite(self.extrapolation_scale) and self.extrapolation_scale >= 0):
            raise SpecificationError(
                f"extrapolation_scale={self.extrapolation_scale!r} must be a number >= 0."
            )
        if self.scale not in SCALES:
            raise SpecificationError(f"scale={self.scale!r}; choose one of {list(SCALES)}.")
        effects = _normalise_effects(self.effects)
        self._terms = {}
        for natural, terms in effects.items():
            try:
                p = self.law.parameter(natural)
            except KeyError:
                names = [q.natural for q in self.law.parameters]
                raise SpecificationError(
                    f"Effects name {natural!r}, which is not a parameter of the "
                    f"{self.law.name} law; its parameters are {names}."
                ) from None
            self._terms[p.name] = list(dict.fromkeys(terms))
        law_sites = {p.name for p in self.law.parameters}
        priors = dict(self.priors or {})
        unknown = set(priors) - law_sites - set(NOISE_SITES)
        if unknown:
            raise SpecificationError(
                f"Priors given for unknown site(s) {sorted(unknown)}; sites are "
                f"{sorted(law_sites | set(NOISE_SITES))}."
            )
        self.priors = {k: parse_prior(v) for k, v in priors.items()}

    # -- description ----------------------------------------------------------------------
    @property
    def terms(self) -> list[str]:
        """Every group term used by some effect, in first-use order."""
        return list(dict.fromkeys(t for ts in self._terms.values() for t in ts))

    def effect_terms(self, site: str) -> list[str]:
        """Group terms of sampled parameter ``site``."""
        return self._terms.get(site, [])

    def n_parameters(self) -> int:
        """Count the population-level parameters (law, noise, effect SDs)."""
        n = len(self.law.parameters) + 1 + (self.likelihood == "student_t")
        return n + sum(len(t) for t in self._terms.values())

    def site_prior(self, site: str, scale: Scale) -> dist.Distribution:
        """Prior of a sampled site, the user's override first."""
        if site in self.priors:
            return self.priors[site]
        if site in {p.name for p in self.law.parameters}:
            return self.law.prior(site, scale)
        unit = scale.loss if self.scale == "linear" else 1.0
        if site == "sigma":
            return dist.HalfNormal(0.05 * unit)
        if site == "sd_run":
            return dist.HalfNormal(0.05 * unit)
        if site == "nu":
            # Median 10, 1 % below 2: heavy enough tails for outlying runs, but no mass near
            # nu < 1, where predictive draws have no mean (Gamma(2, 0.1) allowed that, and on
            # Gadre et al.'s data it gave a CRPS of 7e36).
            return dist.LogNormal(2.3, 0.7)
        raise KeyError(site)

    def spec(self) -> dict:
        """Describe the model as JSON-serialisable data (saved with every posterior)."""
        if type(self.law).name == "custom":
            law = {"name": "custom", "config": {}}
        else:
            law = {"name": self.law.name, "config": self.law.config()}
        law_priors = {k: prior_to_str(v) for k, v in self.law.priors.items()}
        return {
            "law": law,
            "effects": {self.law.parameter(k).natural: v for k, v in self._terms.items()},
            "likelihood": self.likelihood,
            "scale": self.scale,
            "priors": {**law_priors, **{k: prior_to_str(v) for k, v in self.priors.items()}},
            "columns": dict(self.columns or {}),
            "run": self.run,
            "marginal_run": self.marginal_run,
            "centered": self.centered,
            "centered_min_rows": self.centered_min_rows,
            "discrepancy": self.discrepancy,
            "discrepancy_step": self.discrepancy_step,
            "discrepancy_scale": self.discrepancy_scale,
            "extrapolation_scale": self.extrapolation_scale,
        }

    @classmethod
    def from_spec(cls, spec: Mapping, law: Law | None = None) -> Model:
        """Rebuild a model from :meth:`spec` (pass ``law`` for a custom law)."""
        if law is None:
            if spec["law"]["name"] == "custom":
                raise SpecificationError(
                    "This model uses a custom law, which cannot be saved as text: pass law=."
                )
            law = _laws.get(spec["law"]["name"], **spec["law"].get("config", {}))
        return cls(
            law=law,
            effects=spec.get("effects"),
            likelihood=spec.get("likelihood", "student_t"),
            scale=spec.get("scale", "log"),
            priors=spec.get("priors"),
            columns=spec.get("columns") or None,
            run=spec.get("run"),
            marginal_run=spec.get("marginal_run", "auto"),
            centered=spec.get("centered", "auto"),
            centered_min_rows=spec.get("centered_min_rows", 5),
            discrepancy=spec.get("discrepancy"),
            discrepancy_step=spec.get("discrepancy_step", 0.1),
            discrepancy_scale=spec.get("discrepancy_scale", 0.05),
            extrapolation_scale=spec.get("extrapolation_scale", DEFAULT_EXTRAPOLATION_SCALE),
        )

    @classmethod
    def from_preset(cls, name: str | Path, **overrides: Any) -> Model:
        """Load a named preset from ``models/`` (or a path to a preset TOML file).

        Keyword arguments override the preset's entries (``effects=...``, ``likelihood=...``).
        """
        from bayescale.presets import read_preset

        spec = read_preset(name)
        spec.update(overrides)
        return cls.from_spec(spec)

    def describe(self, scale: Scale | None = None) -> str:
        """Text listing the law, the effects and every prior (``scale`` fills data-based ones)."""
        lines = [f"law: {self.law.name}  likelihood: {self.likelihood} on {self.scale} loss"]
        for p in self.law.parameters:
            prior = prior_to_str(self.site_prior(p.name, scale)) if scale else "(data-scaled)"
            terms = " + ".join(f"(1|{t})" for t in self.effect_terms(p.name))
            lines.append(f"  {p.name} ~ {prior}" + (f"   {p.name} ~ 1 + {terms}" if terms else ""))
        return "\n".join(lines)

    # -- data -------------------------------------------------------------------------------
    def prepare(self, df: pd.DataFrame) -> ScalingData:
        """Validate a table for this model (see :func:`bayescale.data.prepare`)."""
        return prepare(
            df,
            inputs=self.law.inputs,
            terms=self.terms,
            columns=self.columns,
            run=self.run,
            n_parameters=self.n_parameters(),
            loss_bounds=(0.0, 1.0) if self.scale == "logit" else (0.0, np.inf),
        )

    # -- the NumPyro model ------------------------------------------------------------------
    def numpyro_model(
        self,
        u: Mapping[str, jnp.ndarray],
        codes: Mapping[str, jnp.ndarray],
        run_codes: jnp.ndarray | None,
        sizes: Mapping[str, int],
        scale: Scale,
        loss: jnp.ndarray | None = None,
        n: int | None = None,
        centered: frozenset[str] = frozenset(),
        disc_bins: jnp.ndarray | None = None,
        disc_grid: Grid | None = None,
        obs_mask: jnp.ndarray | None = None,
        obs_name: str = "loss",
        run_marginal: bool = False,
    ) -> jnp.ndarray:
        """NumPyro model function; ``sizes`` gives the number of levels of each term.

        ``obs_mask`` (boolean per row) leaves padded rows out of the likelihood (batched fits
        of tables of different lengths); ``obs_name`` names the observed site. Returns the
        location of every row on the likelihood's scale (law, discrepancy and run effect,
        without noise), which a two-step model feeds to its second law. ``run_marginal``
        integrates the run effect out of an observed normal likelihood
        (:func:`marginal_run_likelihood`; the returned location then leaves it out); without
        observations (simulation, prediction) the effect is sampled as usual.
        """
        theta = self.linear_predictors(u, codes, sizes, scale, centered)
        loc = self.location(theta, u, scale)
        n = n if n is not None else loc.shape[-1]
        if disc_grid is not None:
            path = sample_path(disc_grid, self.discrepancy_scale)
            loc = loc + path[disc_bins]
        if run_codes is not None and run_marginal and loss is not None:
            sd_run = numpyro.sample("sd_run", self.site_prior("sd_run", scale))
            sigma = numpyro.sample("sigma", self.site_prior("sigma", scale))
            logp, mean, sd = marginal_run_likelihood(
                self.to_location_scale(loss), loc, run_codes, sizes["run"], sd_run, sigma, obs_mask
            )
            numpyro.factor(f"{obs_name}_marginal", logp)
            numpyro.deterministic(RUN_MOMENT_SITES[0], mean)
            numpyro.deterministic(RUN_MOMENT_SITES[1], sd)
            return loc
        if run_codes is not None:
            sd_run = numpyro.sample("sd_run", self.site_prior("sd_run", scale))
            with numpyro.plate("run", sizes["run"]):
                r_run = sample_effect("run", sd_run, "run" in centered)
            loc = loc + r_run[run_codes]
        sigma = numpyro.sample("sigma", self.site_prior("sigma", scale))
        if self.likelihood == "student_t":
            nu = numpyro.sample("nu", self.site_prior("nu", scale))
            noise = dist.StudentT(nu, loc, sigma)
        else:
            noise = dist.Normal(loc, sigma)
        with numpyro.plate("obs", n):
            y = None if loss is None else self.to_location_scale(loss)
            if obs_mask is None:
                numpyro.sample(obs_name, noise, obs=y)
            else:
                with numpyro.handlers.mask(mask=obs_mask):
                    numpyro.sample(obs_name, noise, obs=y)
        return loc

    def linear_predictors(
        self,
        u: Mapping[str, jnp.ndarray],
        codes: Mapping[str, jnp.ndarray],
        sizes: Mapping[str, int],
        scale: Scale,
        centered: frozenset[str] = frozenset(),
    ) -> dict[str, jnp.ndarray]:
        """Sample population values and group effects; return per-row parameters.

        Effects of the terms in ``centered`` are sampled centred (the first term of a
        parameter as level values ``<param>__<term>``, a further term as effects
        ``r_<param>__<term>``), the others non-centred (site ``z_<param>__<term>``, the effect
        being ``sd * z``); see :func:`sample_effect`.
        """
        theta = {}
        for p in self.law.parameters:
            pop = numpyro.sample(p.name, self.site_prior(p.name, scale))
            value = pop
            for i, term in enumerate(self.effect_terms(p.name)):
                sd = numpyro.sample(f"sd_{p.name}__{term}", dist.HalfNormal(p.effect_scale))
                with numpyro.plate(term, sizes[term]):
                    # The first term's levels are centred on the population value; a further
                    # (e.g. nested) term's effects on zero.
                    mean = pop if i == 0 else None
                    r = sample_effect(f"{p.name}__{term}", sd, term in centered, mean)
                value = value + r[codes[term]]
            theta[p.name] = value
        return theta

    def location(
        self, theta: Mapping[str, jnp.ndarray], u: Mapping[str, jnp.ndarray], scale: Scale
    ) -> jnp.ndarray:
        """Location of the likelihood: the law's mean, logged on the log scale."""
        return self.to_location_scale(self.law.mean(theta, u, scale))

    def to_location_scale(self, y: jnp.ndarray) -> jnp.ndarray:
        """Map loss (or a bounded metric) to the likelihood's scale (log, identity or logit)."""
        if self.scale == "log":
            return jnp.log(y)
        if self.scale == "logit":
            return jnp.log(y) - jnp.log1p(-y)
        return y

    def from_location_scale(self, loc: jnp.ndarray) -> jnp.ndarray:
        """Inverse of :meth:`to_location_scale`."""
        if self.scale == "log":
            return jnp.exp(loc)
        if self.scale == "logit":
            return jax.nn.sigmoid(loc)
        return loc

    def model_kwargs(self, data: ScalingData) -> dict:
        """Arguments of :meth:`numpyro_model` for a validated table."""
        sizes = {t: g.size for t, g in data.groups.items()}
        if data.run is not None:
            sizes["run"] = data.run.size
        return {
            "u": {k: jnp.asarray(v) for k, v in self.law.centre(data.x, data.scale).items()},
            "codes": {t: jnp.asarray(g.codes) for t, g in data.groups.items()},
            "run_codes": None if data.run is None else jnp.asarray(data.run.codes),
            "sizes": sizes,
            "scale": data.scale,
            "loss": jnp.asarray(data.loss),
            "centered": self.centered_terms(data),
            "run_marginal": self.marginalises_run(data),
            **self.discrepancy_kwargs(data),
        }

    def discrepancy_grid(self, data: ScalingData) -> Grid | None:
        """Return the discrepancy's grid over this table (``None`` without a discrepancy)."""
        if self.discrepancy is None:
            return None
        return grid_for(disc_axis(data.x), self.discrepancy_step)

    def discrepancy_kwargs(self, data: ScalingData) -> dict:
        """Return the bin of every row and the grid (nothing without a discrepancy)."""
        grid = self.discrepancy_grid(data)
        if grid is None:
            return {}
        return {"disc_bins": jnp.asarray(grid.index(disc_axis(data.x))), "disc_grid": grid}

    def marginalises_run(self, data: ScalingData) -> bool:
        """Whether the run effect is integrated out for this table (see ``marginal_run``)."""
        if data.run is None or self.marginal_run is False:
            return False
        return self.likelihood == "normal"

    def centered_terms(self, data: ScalingData) -> frozenset[str]:
        """Terms whose effects are sampled centred for this table (see ``centered``).

        An integrated-out run effect counts as centred: its draws are stored as ``r_run``.
        """
        terms = dict(data.groups)
        if data.run is not None:
            terms["run"] = data.run
        if self.centered is True:
            out = frozenset(terms)
        elif self.centered is False:
            out = frozenset()
        else:
            out = frozenset(
                t
                for t, g in terms.items()
                if g.size >= 4
                and np.bincount(g.codes, minlength=g.size).min() >= self.centered_min_rows
            )
        return out | {"run"} if self.marginalises_run(data) else out

    # -- fitting ------------------------------------------------------------------------------
    def fit(
        self,
        df: pd.DataFrame,
        chains: int = 4,
        draws: int = 1000,
        warmup: int = 1000,
        seed: int = 0,
        **kwargs: Any,
    ) -> ScalingPosterior:
        """Fit the model with NUTS (initialised at the MAP) and return a ScalingPosterior.

        Parameters
        ----------
        df : pandas.DataFrame
            Long-format runs table.
        chains, draws, warmup : int
            NUTS chains, kept draws per chain and warm-up iterations per chain.
        seed : int
            Random seed; the same seed gives the same draws.
        **kwargs
            Passed to :func:`bayescale.inference.sample_nuts` (``chain_method``,
            ``target_accept``, ``max_tree_depth``, ``dense_mass``, ``progress_bar``, ``init``).
            ``target_accept`` defaults to 0.95: at 0.9, small simulated ladders (35 runs)
            showed 2-5 divergences in 2 of 3 seeds where ``E`` trades off against ``B`` and
            ``beta``, none at 0.95.
        """
        from bayescale.inference import fit_posterior
        from bayescale.posterior import ScalingPosterior

        return fit_posterior(
            self,
            df,
            ScalingPosterior,
            chains=chains,
            draws=draws,
            warmup=warmup,
            seed=seed,
            **kwargs,
        )


__all__ = ["LIKELIHOODS", "SCALES", "Model"]
