"""``Model``: a law, random effects on its parameters, a likelihood; an immutable description.

A :class:`Model` normalises what the user wrote (a law name, ``effects={"E": "family"}``,
priors as text) once, in its constructor, and never changes afterwards. It builds the NumPyro
model from the sample-site contract (:mod:`bayescale.sites`) and the observation model
(:mod:`bayescale.likelihood`); fitting is separate (:func:`bayescale.fit`), and
:meth:`Model.fit` is a shorthand for it.
"""

from __future__ import annotations

import copy
import inspect
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
from numpyro.infer import Predictive

from bayescale import arguments
from bayescale import laws as _laws
from bayescale.cost import DEFAULT_FLOPS_PER_PARAM_TOKEN, TrainingCost
from bayescale.data import ScalingData, prepare
from bayescale.defaults import DIGITS
from bayescale.discrepancy import Grid, grid_for, sample_path
from bayescale.discrepancy import axis as disc_axis
from bayescale.discrepancy import axis_name as disc_axis_name
from bayescale.errors import DataError, DataWarning, SpecificationError, with_prefix
from bayescale.extrapolation import DEFAULT_SCALE as DEFAULT_EXTRAPOLATION_SCALE
from bayescale.extrapolation import SCALE_SITES, ExtrapolationError
from bayescale.fit import fit as _fit
from bayescale.inference import Draws
from bayescale.laws.base import LINEAR_INPUTS, Law, Scale
from bayescale.likelihood import (
    RUN_FREE,
    RUN_MOMENT_SITES,
    from_location,
    marginal_run_likelihood,
    noise,
    remove_trend,
    run_trend_basis,
    to_location,
)
from bayescale.posterior import (
    PREDICTIVE_MAX_ELEMENTS,
    ScalingPosterior,
)
from bayescale.presets import read_preset
from bayescale.priors import parse_prior, prior_to_str
from bayescale.record import (
    KINDS,
    LOG_SCALE_GRID,
    Record,
    ScalePrior,
    error_kind,
    ladder_record,
    scale_draws,
    too_short,
)
from bayescale.sanity import check_distinct_terms, check_floor, check_single_row_levels
from bayescale.sites import (
    RUN,
    sample_effect,
    sample_law_parameters,
    sd_site,
    terms_of,
)
from bayescale.specification import (
    CENTERED_MIN_ROWS,
    DISCREPANCY_SCALE,
    DISCREPANCY_STEP,
    NOISE_SITES,
    checked_centering,
    checked_columns,
    checked_discrepancy,
    checked_extrapolation,
    checked_flops,
    checked_law,
    checked_noise,
    columns_read,
    parse_effects,
    rebuilding,
    rebuilding_saved_fit,
    sampled_priors,
)
from bayescale.terms import Term

#: Most bins of the random-walk discrepancy (one sampled variable each).
MAX_DISCREPANCY_BINS = 1000
#: Fewest bins from which the walk's scale is learned from the data, not its prior.
MIN_DISCREPANCY_BINS = 3
#: Prior draws stored with every fit (for prior-versus-posterior plots and checks).
PRIOR_DRAWS = 500
#: Compiled prior simulations, by model structure, table structure and number of draws.
_PRIOR_FNS: dict[tuple, Any] = {}


@dataclass(frozen=True, init=False, eq=False)
class Model:
    """A Bayesian scaling-law model: law, group effects, likelihood and priors.

    Parameters
    ----------
    law : Law or str
        The law, or its registry name (``"chinchilla"``, ``"power"``).
    effects : dict, optional
        Which law parameters vary by which groups, by natural name:
        ``{"E": "family", "A": ["family", "family:seed"]}``. ``"a:b"`` is the interaction of
        columns ``a`` and ``b`` (nested when ``b`` labels repeat within ``a``). Each effect is a
        normal random effect on the parameter's sampled (centred) scale with a half-normal
        prior on its standard deviation. Stored normalised and read-only, by sampled site
        (``{"log_E": (Term(("family",)),)}``); :meth:`spec` gives them by natural name.
    likelihood : {"student_t", "normal"}
        Observation noise. Student-t (default) is robust to outlying runs.
    scale : {"log", "linear", "logit"}, optional
        Whether the likelihood is on log loss, loss, or the logit of a metric bounded in
        (0, 1) such as an accuracy or error rate (downstream links). Default: ``"logit"`` for
        a law that predicts such a share (:attr:`~bayescale.laws.Law.share`, the downstream
        links), so the noise respects the bounds too; ``"log"`` otherwise.
    priors : dict, optional
        Prior overrides by sampled name (``"log_alpha"``, ``"sigma"``, ``"nu"``, ``"sd_run"``,
        ``"tau_disc"`` with a discrepancy), as numpyro distributions or text such as
        ``"Normal(0, 1)"``.
    columns : dict, optional
        Data column of each role where it differs from the default name.
    run : str, bool or None
        Column naming the run of each checkpoint (a per-run effect on the mean is added when a
        run has several rows); ``False`` declares rows independent.
    marginal_run : bool or "auto"
        Integrate the run effect out of the likelihood instead of sampling it (normal
        likelihood only; ``"auto"`` does so whenever the likelihood is normal). Each run's
        effect is then drawn after sampling from its exact conditional normal, so the posterior
        holds ``r_run`` as before (``docs/models.md`` says why this matters for many runs).
    centered : bool or "auto"
        Parameterisation of the group effects: non-centred (``sd * z``, for groups with few
        rows or few levels) or centred (each level's value sampled around the population
        value, for groups each well determined by their own data). ``"auto"`` centres a term
        with at least 4 levels of at least ``centered_min_rows`` rows each; the run effect
        follows the same rule.
    centered_min_rows : int
        Threshold of ``"auto"``.
    discrepancy : {None, "random_walk"}
        Add a law discrepancy that grows with extrapolation distance
        (:mod:`bayescale.discrepancy`).
    discrepancy_step, discrepancy_scale : float
        Bin width (decades of compute, or of the law's one input) and prior scale of the
        discrepancy: ``tau_disc ~ HalfNormal(discrepancy_scale)``, unless
        ``priors={"tau_disc": ...}`` gives its prior. The walk samples one variable per bin:
        a step that cuts the data into more than 1000 bins is refused, and one that leaves
        fewer than 3 is warned about (the walk's scale then stays at its prior).
    extrapolation : {"learned", "prior", "fixed", "none"}
        The error every prediction beyond the data carries (:mod:`bayescale.extrapolation`):
        ``"learned"`` (default) an offset and a slow growth whose scales are learned from the
        ladder's own leave-future-out record (:mod:`bayescale.record`) and a prior across
        public ladders; ``"prior"`` the same scales from the prior alone (no refits);
        ``"fixed"`` a linear drift of fixed scale ``extrapolation_scale`` per decade;
        ``"none"`` trusts the law's form exactly (too narrow when extrapolating).
    extrapolation_scale : float
        Half-normal scale of the ``"fixed"`` drift per decade; 0 turns any extrapolation error
        off (as ``extrapolation="none"``). Any other value is refused with ``"none"``,
        ``"learned"`` and ``"prior"``, which use no drift.
    extrapolation_prior : ScalePrior, str or Path, optional
        The prior of a learned error's scales, in place of the prior across public ladders
        shipped with the package: a :class:`~bayescale.record.ScalePrior` (such as
        :func:`~bayescale.record.pooled_prior` fits across your own ladders or curves) or a
        file :meth:`~bayescale.record.ScalePrior.save` wrote. Its kind must be the fit's: of
        the law's inputs for ladders extrapolated in compute, of the log loss otherwise.
        Only with ``extrapolation="learned"`` or ``"prior"``.
    flops_per_param_token : float
        ``k`` of the training cost ``C = k N D`` (6: a dense transformer), used wherever
        compute is derived from ``N`` and ``D`` (:class:`~bayescale.cost.TrainingCost`).

    Examples
    --------
    >>> import bayescale as bs
    >>> model = bs.Model("chinchilla", effects={"E": "family"}, likelihood="normal")
    >>> model.spec()["effects"]
    {'E': ['family']}
    """

    law: Law
    effects: Mapping[str, tuple[Term, ...]]
    likelihood: str
    scale: str
    priors: Mapping[str, dist.Distribution]
    columns: Mapping[str, str] | None
    run: str | bool | None
    marginal_run: bool | str
    centered: bool | str
    centered_min_rows: int
    discrepancy: str | None
    discrepancy_step: float
    discrepancy_scale: float
    extrapolation: str
    extrapolation_scale: float
    extrapolation_prior: Mapping[str, ScalePrior] | None
    flops_per_param_token: float
    _key: str = field(repr=False)

    def __init__(
        self,
        law: Law | str = "chinchilla",
        effects: Mapping[str, str | Sequence[str]] | None = None,
        likelihood: str = "student_t",
        scale: str | None = None,
        priors: Mapping[str, Any] | None = None,
        columns: Mapping[str, str] | None = None,
        run: str | bool | None = None,
        marginal_run: bool | str = "auto",
        centered: bool | str = "auto",
        centered_min_rows: int = CENTERED_MIN_ROWS,
        discrepancy: str | None = None,
        discrepancy_step: float = DISCREPANCY_STEP,
        discrepancy_scale: float = DISCREPANCY_SCALE,
        extrapolation: str = "learned",
        extrapolation_scale: float = DEFAULT_EXTRAPOLATION_SCALE,
        extrapolation_prior: ScalePrior | str | Path | Mapping | None = None,
        flops_per_param_token: float = DEFAULT_FLOPS_PER_PARAM_TOKEN,
    ) -> None:
        law = checked_law(law)
        scale, marginal_run = checked_noise(law, likelihood, scale, marginal_run)
        centered = checked_centering(centered, centered_min_rows)
        checked_discrepancy(discrepancy, discrepancy_step, discrepancy_scale)
        extrapolation = checked_extrapolation(
            extrapolation, extrapolation_scale, extrapolation_prior
        )
        checked_flops(law, flops_per_param_token)
        read = checked_columns(law, columns, run)
        given = sampled_priors(law, priors, likelihood, discrepancy)
        conflict = "tau_disc" in given and discrepancy_scale != DISCREPANCY_SCALE
        if conflict and not rebuilding():  # (a fit saved before this check read it as it was)
            raise SpecificationError(  # both set tau_disc's prior: one would be dropped
                f"discrepancy_scale={discrepancy_scale!r} sets the prior HalfNormal(scale) of "
                "tau_disc, and priors['tau_disc'] gives its prior too: give one of them."
            )
        values = {
            "law": law,
            "effects": MappingProxyType(parse_effects(law, effects, read)),
            "likelihood": likelihood,
            "scale": scale,
            "priors": MappingProxyType({k: parse_prior(v) for k, v in given.items()}),
            "columns": MappingProxyType(dict(columns)) if columns else None,
            "run": run,
            "marginal_run": marginal_run,
            "centered": centered,
            "centered_min_rows": int(centered_min_rows),
            "discrepancy": discrepancy,
            "discrepancy_step": float(discrepancy_step),
            "discrepancy_scale": float(discrepancy_scale),
            "extrapolation": extrapolation,
            "extrapolation_scale": float(extrapolation_scale),
            "extrapolation_prior": _scale_priors(extrapolation_prior),
            "flops_per_param_token": float(flops_per_param_token),
        }
        for k, v in values.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_key", self._identity())

    def read_columns(self) -> dict[str, str]:
        """Return the columns the law reads, each with what it is to the law.

        The loss and the law's inputs, by their column names (the model's ``columns`` or the
        default ones); a group column cannot be one of them.

        Returns
        -------
        dict
            ``{column: description}``.

        Examples
        --------
        >>> bs.Model(columns={"loss": "val_loss"}).read_columns()
        {'val_loss': 'the loss', 'params': 'the input N (params)', 'tokens': 'the input D (tokens)'}
        """
        return columns_read(self.law, self.columns)

    def _identity(self) -> str:
        """Return the text equal models share: the spec, and a custom law's identity."""
        key = json.dumps(self.spec(), sort_keys=True)
        if type(self.law).name == "custom":  # the spec cannot name a user's function
            key = f"custom-law-{id(self.law)} {key}"
        return key

    def __repr__(self) -> str:
        return f"Model({self.describe_short()})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and other._key == self._key

    def __hash__(self) -> int:
        # Equal models (the same spec; a custom law: the same law object) share compiled code.
        return hash(self._key)

    def __reduce__(self):
        return (_rebuild, (self.spec(), self.law if type(self.law).name == "custom" else None))

    def describe_short(self) -> str:
        """One line: the law, effects, likelihood and scale.

        Examples
        --------
        >>> print(bs.Model().describe_short())
        'chinchilla', likelihood='student_t'
        >>> print(bs.Model(effects={"A": "family"}, likelihood="normal").describe_short())
        'chinchilla', effects={'A': ['family']}, likelihood='normal'
        >>> print(bs.Model(discrepancy="random_walk").describe_short())
        'chinchilla', likelihood='student_t', discrepancy='random_walk'
        """
        effects = {
            self.law.parameter(s).natural: [t.name for t in ts] for s, ts in self.effects.items()
        }
        parts = [repr(self.law.display_name)]
        if effects:
            parts.append(f"effects={effects}")
        parts.append(f"likelihood={self.likelihood!r}")
        if self.scale != "log":
            parts.append(f"scale={self.scale!r}")
        if self.discrepancy is not None:
            parts.append(f"discrepancy={self.discrepancy!r}")
        return ", ".join(parts)

    # -- description ----------------------------------------------------------------------
    @property
    def cost(self) -> TrainingCost:
        """Training compute ``C = k N D``."""
        return TrainingCost(self.flops_per_param_token)

    @property
    def terms(self) -> list[Term]:
        """Every group term used by some effect, in first-use order."""
        return terms_of(self.effects)

    def effect_terms(self, name: str) -> tuple[Term, ...]:
        """Group terms of a law parameter (by sampled or natural name).

        Parameters
        ----------
        name : str
            A law parameter, by natural (``"A"``) or sampled (``"a"``) name.

        Returns
        -------
        tuple of Term
            The terms its effects vary by; empty when it does not vary.

        Examples
        --------
        >>> model = bs.Model(effects={"A": "family", "E": ["family", "family:seed"]})
        >>> model.effect_terms("E")
        (Term(columns=('family',)), Term(columns=('family', 'seed')))
        >>> model.effect_terms("a"), model.effect_terms("alpha")  # a: how A is sampled
        ((Term(columns=('family',)),), ())
        """
        return self.effects.get(self.law.parameter(name).name, ())

    def n_parameters(self) -> int:
        """Count the population-level parameters (law, noise, effect SDs).

        Examples
        --------
        >>> bs.Model().n_parameters()  # E, A, B, alpha, beta, sigma and the Student-t's nu
        7
        >>> bs.Model(effects={"A": "family"}).n_parameters()  # + the SD of A across families
        8
        """
        n = len(self.law.parameters) + 1 + (self.likelihood == "student_t")
        return n + sum(len(t) for t in self.effects.values())

    def site_relative_to(self, site: str) -> str | None:
        """Law site whose population value the prior of ``site`` is a difference from, or None.

        A law's default prior may be relative (Chinchilla's ``log_beta`` around ``log_alpha``: a
        prior on the compute-optimal allocation); :meth:`site_prior` is then the prior of the
        difference. A prior the user gives, to the model or to the law, is absolute.

        Parameters
        ----------
        site : str
            A sampled site.

        Returns
        -------
        str or None
            The site it is relative to, or ``None``.

        Examples
        --------
        >>> bs.Model().site_relative_to("log_beta")
        'log_alpha'
        >>> bs.Model(priors={"log_beta": "Normal(-1.2, 0.5)"}).site_relative_to("log_beta")
        >>> bs.Model().site_relative_to("sigma")
        """
        if site in self.priors or site not in {p.name for p in self.law.parameters}:
            return None
        return self.law.relative_to(site)

    def site_prior(self, site: str, scale: Scale) -> dist.Distribution:
        """Prior of a sampled site, the user's override first.

        Parameters
        ----------
        site : str
            A sampled site: a law parameter by sampled name (``"log_E"``, ``"a"``), or
            ``"sigma"``, ``"nu"``, ``"sd_run"``.
        scale : Scale
            The table's centring (``model.prepare(df).scale``), which the law's default priors
            and the noise priors of a linear-scale fit are relative to.

        Returns
        -------
        numpyro.distributions.Distribution
            The prior; where :meth:`site_relative_to` names a site, the prior of the difference
            from it.

        Raises
        ------
        KeyError
            When the model has no such site.

        Examples
        --------
        >>> from bayescale.priors import prior_to_str
        >>> model = bs.Model(priors={"sigma": "HalfNormal(0.02)"})
        >>> scale = model.prepare(runs).scale
        >>> prior_to_str(model.site_prior("sigma", scale))  # the override
        'HalfNormal(scale=0.02)'
        >>> prior_to_str(model.site_prior("log_E", scale), digits=3)  # the law's, from the data
        'Normal(loc=0.592, scale=0.5)'
        """
        if site in self.priors:
            return self.priors[site]
        if site in {p.name for p in self.law.parameters}:
            return self.law.prior(site, scale)
        unit = scale.loss if self.scale == "linear" else 1.0
        if site in ("sigma", "sd_run"):
            return dist.HalfNormal(0.05 * unit)
        if site == "nu":
            # Median 10, 1 % below 2: heavy tails for outlying runs, but no mass near nu < 1,
            # where predictive draws have no mean.
            return dist.LogNormal(2.3, 0.7)
        raise KeyError(site)

    def spec(self) -> dict:
        """Describe the model as JSON-serialisable data (saved with every posterior).

        Examples
        --------
        >>> spec = bs.Model(effects={"A": "family"}).spec()
        >>> spec["law"], spec["effects"], spec["likelihood"]
        ({'name': 'chinchilla', 'config': {}}, {'A': ['family']}, 'student_t')
        >>> bs.Model.from_spec(spec).spec() == spec  # the spec rebuilds the model
        True
        """
        if type(self.law).name == "custom":
            law = {"name": "custom", "config": {}}
        else:
            law = {"name": self.law.name, "config": self.law.config()}
        law_priors = {k: prior_to_str(v) for k, v in self.law.priors.items()}
        return {
            "law": law,
            "effects": {
                self.law.parameter(s).natural: [t.name for t in ts]
                for s, ts in self.effects.items()
            },
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
            "extrapolation": self.extrapolation,
            "extrapolation_scale": self.extrapolation_scale,
            "flops_per_param_token": self.flops_per_param_token,
            # only when given: specs (and saved fits) of models without one stay as they were
            **(
                {}
                if self.extrapolation_prior is None
                else {
                    "extrapolation_prior": {
                        k: p.to_dict() for k, p in self.extrapolation_prior.items()
                    }
                }
            ),
            # the law's default priors that are relative to another site (a saved fit without
            # this entry predates them: :func:`bayescale.saved.saved_spec`)
            "relative_priors": {
                p.name: other
                for p in self.law.parameters
                if (other := self.site_relative_to(p.name)) is not None
            },
        }

    @classmethod
    def from_spec(cls, spec: Mapping, law: Law | None = None) -> Model:
        """Rebuild a model from :meth:`spec` (pass ``law`` for a custom law).

        Parameters
        ----------
        spec : mapping
            A spec of :meth:`spec`, of a saved fit or of a preset
            (:func:`~bayescale.presets.read_preset`). Entries it leaves out take
            :class:`Model`'s defaults (a saved fit's spec goes through
            :func:`bayescale.saved.saved_spec` first).
        law : Law, optional
            The law of a model with a custom law, whose spec cannot name it.

        Returns
        -------
        Model
            The model.

        Raises
        ------
        SpecificationError
            When the spec is inconsistent, has an entry a Model does not take (a misspelt
            option is refused, not dropped), or names a custom law and ``law`` is not given.

        Examples
        --------
        >>> spec = family_post.model.spec()
        >>> spec["law"], spec["effects"]
        ({'name': 'chinchilla', 'config': {}}, {'A': ['family']})
        >>> bs.Model.from_spec(spec) == family_post.model
        True
        """
        if not isinstance(spec, Mapping) or not isinstance(spec.get("law"), Mapping):
            raise SpecificationError(
                "from_spec takes a model's spec (Model.spec() or a preset's table), with a "
                f"'law' entry {{'name': ..., 'config': {{...}}}}; got {arguments.shown(spec)}."
            )
        if not isinstance(spec["law"].get("name"), str):
            raise SpecificationError(
                f"The spec's law has no name (got {dict(spec['law'])!r}): give "
                "{'name': 'chinchilla', 'config': {}}."
            )
        misplaced = sorted(set(spec["law"]) - {"name", "config"}, key=str)
        if misplaced:  # a law's option beside its name would be dropped
            raise SpecificationError(
                f"The spec's law has {misplaced} beside its name, and takes only 'name' and "
                "'config': put the law's options in its config ({'name': "
                f"{spec['law']['name']!r}, 'config': {{{str(misplaced[0])!r}: ...}}}})."
            )
        if law is None:
            if spec["law"]["name"] == "custom":
                named = f"name a registered law ({', '.join(_laws.available())})"
                raise SpecificationError(
                    "The spec names a custom law, whose code lives in Python and cannot be read "
                    f"from text: pass it, Model.from_spec(spec, law=CustomLaw(...)), or {named}.",
                    command_line="The preset names a custom law, whose code lives in Python "
                    f"and cannot be read from a file: {named} in the preset, or fit "
                    "bs.Model(CustomLaw(...)) in Python.",
                )
            config = spec["law"].get("config", {})
            if not isinstance(config, Mapping):
                raise SpecificationError(
                    f'The law\'s config must be a table of options (config = {{ x = "D" }}), '
                    f"not {config!r}."
                )
            try:
                law = _laws.get(spec["law"]["name"], **config)
            except (ValueError, TypeError) as e:  # TypeError: an option the law lacks
                raise SpecificationError(str(e)) from None
        _refuse_unknown(
            spec,
            "the spec has entries a Model does not take",
            " (a spec saved by a newer bayescale needs that version)",
        )
        kwargs = {k: v for k, v in spec.items() if k not in ("law", "relative_priors")}
        kwargs["columns"] = kwargs.get("columns") or None
        return cls(law=law, **kwargs)

    @classmethod
    def from_preset(cls, name: str | Path, **overrides: Any) -> Model:
        """Load a named preset from ``models/`` (or a path to a preset TOML file).

        Keyword arguments override the preset's entries (``effects=...``, ``likelihood=...``);
        ``columns=`` adds to the preset's column mapping, a role given replacing the preset's
        column for that role only (a preset that maps ``loss`` to ``val_loss`` keeps that when
        ``params`` is mapped too).

        Parameters
        ----------
        name : str or Path
            A shipped preset (:func:`~bayescale.presets.available_presets`) or a TOML file.
        **overrides
            Entries of the spec that replace the preset's (arguments of :class:`Model`).

        Returns
        -------
        Model
            The model.

        Examples
        --------
        >>> bs.Model.from_preset("chinchilla_family")
        Model('chinchilla', effects={'E': ['family'], 'A': ['family'], 'B': ['family']},
              likelihood='student_t')
        >>> bs.Model.from_preset("chinchilla_family", likelihood="normal").likelihood
        'normal'
        """
        _refuse_unknown(overrides, "from_preset: keywords that are not arguments of Model")
        spec = read_preset(name)
        given = overrides.get("columns")
        if "columns" in overrides and given is None:  # not given: the preset's stand
            overrides = {k: v for k, v in overrides.items() if k != "columns"}
        elif isinstance(given, Mapping) and spec.get("columns"):
            overrides = {**overrides, "columns": {**spec["columns"], **given}}
        custom = None
        law = overrides.get("law")
        if isinstance(law, str):  # a law by name, as Model takes it
            overrides = {**overrides, "law": {"name": law}}
        elif isinstance(law, Law):
            if type(law).name == "custom":
                custom, overrides = law, {**overrides, "law": {"name": "custom"}}
            else:
                overrides = {**overrides, "law": {"name": law.name, "config": law.config()}}
        elif law is not None and not isinstance(law, Mapping):
            raise SpecificationError(
                f"from_preset: law={law!r}; give a law's name ('kaplan') or a Law "
                "(bs.laws.get('power', x='D'))."
            )
        # the preset's priors and effects name its own law's parameters
        kept = [k for k in ("priors", "effects") if spec.get(k) and k not in overrides]
        spec.update(overrides)  # Model refuses columns that are not a mapping
        try:
            return cls.from_spec(spec, law=custom)
        except SpecificationError as e:
            if law is None or not kept:  # its own wording (the command line's) kept
                raise with_prefix(e, f"Preset {str(name)!r}: ") from None
            hint = (
                f" (the preset's {' and '.join(kept)} name its own law's parameters: with "
                f"another law, give them too, e.g. {', '.join(f'{k}={{}}' for k in kept)})"
            )
            raise SpecificationError(f"Preset {str(name)!r}: {e}{hint}") from None

    def describe(
        self, scale: Scale | None = None, run: bool = False, error_kind: str | None = None
    ) -> str:
        """Text listing the law, the effects and every prior (``scale`` fills data-based ones).

        ``scale`` is the data's (``model.prepare(runs).scale``, ``post.scale``).

        Parameters
        ----------
        scale : Scale, optional
            A table's centring (``model.prepare(df).scale``); without it, priors set relative to
            the data read ``(data-scaled)``.
        run : bool
            Whether the fit has a per-run offset (checkpoint curves with a run column:
            ``model.prepare(df).run is not None``, ``post.has_run_offset``), whose standard
            deviation ``sd_run`` is then listed with the noise.
        error_kind : {"inputs", "loss"}, optional
            The kind of a learned extrapolation error on the table
            (``bayescale.record.error_kind(model, data)``; a fit's: ``"inputs"`` where
            ``post.extrapolation.mode == "inputs"``), whose prior across ladders is then listed
            with its medians.

        Returns
        -------
        str
            One line for the law and likelihood; with ``scale``, one for the reference inputs
            the sampled parameters are centred at; one per law parameter with its prior, its
            group terms and what it means; one per group term's standard deviation; one per
            noise site; and the extrapolation error.

        Examples
        --------
        >>> model = bs.Model(effects={"E": "family"})
        >>> print(model.describe())
        law: chinchilla  likelihood: student_t on log loss
          log_E ~ (data-scaled)   log_E ~ 1 + (1|family)   # log irreducible loss
            sd_log_E__family ~ HalfNormal(scale=0.3)
          a ~ (data-scaled)   # log of the parameter-limited term A/N^alpha at the reference size N0
          b ~ (data-scaled)   # log of the data-limited term B/D^beta at the reference tokens D0
          log_alpha ~ (data-scaled)   # log of the parameter exponent alpha
          log_beta ~ log_alpha + (data-scaled)   # log of the data exponent beta
          sigma ~ HalfNormal(scale=0.05)
          nu ~ LogNormal(loc=2.3, scale=0.7)
          extrapolation error: learned from the ladder's record, under a prior across ladders
        >>> data = model.prepare(family_runs)
        >>> print(model.describe(data.scale, error_kind="inputs"))
        law: chinchilla  likelihood: student_t on log loss
          reference inputs (the data's geometric means): N0 = 2.28e+08, D0 = 7.311e+09
          log_E ~ Normal(loc=0.5548, scale=0.5)   log_E ~ 1 + (1|family)   # log irreducible loss
            sd_log_E__family ~ HalfNormal(scale=0.3)
        ...
          extrapolation error (of the law's effective inputs): learned from the ladder's ...
            sigma_o, sigma_g ~ fitted on 4 public datasets, medians 0.0375 and 0.113
        """
        if scale is not None and not isinstance(scale, Scale):
            raise TypeError(
                f"describe takes the data's Scale (model.prepare(runs).scale, post.scale) or "
                f"nothing, got a {type(scale).__name__}."
            )
        if not isinstance(run, bool | np.bool_):
            raise TypeError(
                f"run={run!r}: give True or False (whether the fit has a per-run offset)."
            )
        if error_kind is not None and error_kind not in KINDS:
            raise ValueError(f"error_kind={error_kind!r}; choose one of {list(KINDS)} or None.")
        lines = [
            f"law: {self.law.display_name}  likelihood: {self.likelihood} on {self.scale} loss"
        ]
        refs = ", ".join(  # the inputs centred on a log scale (not S2, a linear one)
            f"{k}{'0' if len(k) == 1 else '_0'} = {np.exp(scale.log_ref[k]):.4g}"
            for k in self.law.inputs
            if scale is not None and k in scale.log_ref and k not in LINEAR_INPUTS
        )
        if refs:
            lines.append(f"  reference inputs (the data's geometric means): {refs}")
        for p in self.law.parameters:
            prior = (
                prior_to_str(self.site_prior(p.name, scale), digits=DIGITS)
                if scale
                else "(data-scaled)"
            )
            other = self.site_relative_to(p.name)
            if other is not None:
                prior = f"{other} + {prior}"
            terms = " + ".join(f"(1|{t})" for t in self.effects.get(p.name, ()))
            lines.append(
                f"  {p.name} ~ {prior}"
                + (f"   {p.name} ~ 1 + {terms}" if terms else "")
                + (f"   # {p.doc}" if p.doc else "")
            )
            lines += [  # as sample_law_parameters draws them
                f"    {sd_site(p.name, t)} ~ "
                f"{prior_to_str(dist.HalfNormal(p.effect_scale), digits=DIGITS)}"
                for t in self.effects.get(p.name, ())
            ]
        noise = (["sd_run"] if run else []) + ["sigma"]
        noise += ["nu"] if self.likelihood == "student_t" else []
        for site in noise:
            in_units = self.scale == "linear" and site != "nu" and site not in self.priors
            if scale is None and in_units:
                prior = "(data-scaled)"  # in the loss's units, which the data set
            else:  # the scale is read on a linear scale alone (the loss's units)
                unit = scale or Scale(log_ref={}, loss=1.0, loss_min=1.0)
                prior = prior_to_str(self.site_prior(site, unit), digits=DIGITS)
            lines.append(f"  {site} ~ {prior}")
        if self.discrepancy is not None:
            lines.append(
                f"  discrepancy: {self.discrepancy} in log10 {disc_axis_name(self.law.inputs)}, "
                f"steps of {self.discrepancy_step:g} decades, tau_disc ~ "
                f"{prior_to_str(self.discrepancy_prior(), digits=DIGITS)}"
            )
        lines += self._describe_extrapolation(error_kind)
        return "\n".join(lines)

    def _describe_extrapolation(self, kind: str | None) -> list[str]:
        """Lines of :meth:`describe` for the extrapolation error (its prior where it is known)."""
        if self.extrapolation == "none":
            return ["  extrapolation error: none (the law's form is trusted past the data)"]
        if self.extrapolation == "fixed":
            return [
                "  extrapolation error: a drift ~ HalfNormal(scale="
                f"{self.extrapolation_scale:g}) per decade past the data"
            ]
        source = (
            "learned from the ladder's record, under a prior across ladders"
            if self.extrapolation == "learned"
            else "from a prior across ladders"
        )
        given = self.extrapolation_prior
        if kind is None and given is None:
            return [f"  extrapolation error: {source}"]
        what = {"inputs": "of the law's effective inputs", "loss": "of the log loss"}
        lines = []
        for k in [kind] if kind is not None else list(given or {}):
            prior = self._kind_prior(k)
            if prior is None:  # the table's kind has no prior given: the fit refuses it
                lines.append(
                    f"  extrapolation error ({what[k]}): extrapolation_prior= gives no prior "
                    f"of this kind ({k!r}); the fit refuses it"
                )
                continue
            so, sg = np.exp(prior.mean)
            on = "public datasets" if given is None else "tables"
            lines += [
                f"  extrapolation error ({what[k]}): {source}",
                f"    sigma_o, sigma_g ~ fitted on {len(prior.fitted_on)} {on}, medians "
                f"{so:.3g} and {sg:.3g}",
            ]
        return lines

    def _refuse_floor_by_run(self, data: ScalingData) -> None:
        """Refuse an effect on the floor ``E`` by the run column beside the per-run effect.

        Both shift each run's whole curve: the per-run offset and a per-run floor cannot be
        told apart. An effect on a parameter that shapes the curve within a run (``beta`` by
        run: each curve its own slope in tokens) is a model of its own, and allowed.
        """
        if data.run is None or "E" not in {p.natural for p in self.law.parameters}:
            return
        column = data.run.term.columns[0]
        if any(t.columns == (column,) for t in self.effects.get(self.law.parameter("E").name, ())):
            problem = (
                f"An effect on E groups by {column!r}, the column of the per-run effect: each "
                "shifts a run's whole curve, so the two cannot be told apart. Drop E's effect "
                f"by {column!r}, or turn the per-run effect off"
            )
            raise DataError(
                f"{problem} (run=False).", column=column, command_line=f"{problem} (--run none)."
            )

    def run_notice(self, data: ScalingData, command_line: bool = False) -> str | None:
        """Say whether a per-run effect is on for this table, and why (``None`` when off).

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.
        command_line : bool
            Word its options for the ``bayescale`` command (``--run none``), not Python.

        Returns
        -------
        str or None
            One sentence: the run column, how many runs, whether the effect is integrated out.

        Examples
        --------
        ``curves`` holds three checkpoints of every run of ``runs``, at a quarter, half and all
        of its tokens:

        >>> model = bs.Model(likelihood="normal")
        >>> print(model.run_notice(model.prepare(curves)))
        per-run effect on the mean: on, integrated out of the likelihood (column 'run', found in
        the table, groups the 105 rows into 35 runs whose checkpoints share one offset; ...)
        >>> print(model.run_notice(model.prepare(runs)))  # one row per run: no run effect
        None
        """
        if data.run is None:
            return None
        column = data.run.term.columns[0]
        given = "--run" if command_line else "run="
        how = f"given as {given}" if isinstance(self.run, str) else "found in the table"
        integrated = ", integrated out of the likelihood" if self.marginalises_run(data) else ""
        off = "--run none" if command_line else "run=False"
        return (
            f"per-run effect on the mean: on{integrated} (column {column!r}, {how}, groups the "
            f"{data.n} rows into {data.run.size} runs whose checkpoints share one offset; the "
            "fitted offsets average zero and carry no trend in the inputs constant within a run, "
            f"which the law models; {off} treats every row as an independent run)"
        )

    def record_notice(self, data: ScalingData, command_line: bool = False) -> str | None:
        """Say when a learned extrapolation error has no record of this table to learn from.

        A ladder too short for a cut of its own (:func:`bayescale.record.too_short`) keeps the
        prior across ladders: its predictions past the data carry the error of public ladders,
        not its own. ``None`` when the table has a record, or the error is not learned.

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.
        command_line : bool
            Word its advice for the ``bayescale`` command (``--extrapolation-prior``), not
            Python.

        Returns
        -------
        str or None
            One sentence: why there is no record, and what to do.

        Examples
        --------
        >>> model = bs.Model()
        >>> model.record_notice(model.prepare(runs)) is None
        True
        >>> print(model.record_notice(model.prepare(runs[runs["flops"] < 5e18])))
        extrapolation error: no record of this ladder's own extrapolations (no cut along compute
        of its 14 rows leaves 14 below it ... and 3 above): its scales come from the prior
        across public ladders alone, ...
        """
        if not isinstance(data, ScalingData):
            raise TypeError(
                f"record_notice takes the table as model.prepare(df) returns it, got a "
                f"{type(data).__name__}; e.g. model.record_notice(model.prepare(runs))."
            )
        command_line = arguments.flag(command_line, "command_line")
        if self.extrapolation != "learned":
            return None
        why = too_short(self.without_extrapolation(), data)
        if why is None:
            return None
        use = (
            "`bayescale pool-prior`, then fit with --extrapolation-prior"
            if command_line
            else "bayescale.record.pooled_prior or `bayescale pool-prior`; "
            "Model(extrapolation_prior=...)"
        )
        return (
            f"extrapolation error: no record of this ladder's own extrapolations ({why}): its "
            "scales come from the prior across public ladders alone, not from how this ladder's "
            "extrapolations fared. Add runs (more budgets or sizes), or fit a prior across your "
            f"own ladders ({use})."
        )

    # -- data -------------------------------------------------------------------------------
    def prepare(self, df: pd.DataFrame) -> ScalingData:
        """Validate a table for this model (see :func:`bayescale.data.prepare`).

        Parameters
        ----------
        df : pandas.DataFrame
            Long-format runs table, one row per run or checkpoint.

        Returns
        -------
        ScalingData
            The law's inputs (``x``), losses, group and run codes and the centring scale.

        Raises
        ------
        DataError
            When the table cannot be fitted (a missing column, a non-positive loss, ...).

        Warns
        -----
        DataWarning
            When the table is valid but implausible (units, metric, duplicates, design).

        Examples
        --------
        >>> data = bs.Model().prepare(runs)
        >>> data.n, sorted(data.x)
        (35, ['D', 'N'])
        >>> data.run is None  # one row per run: no per-run effect
        True
        """
        data = prepare(
            df,
            inputs=self.law.inputs,
            terms=self.terms,
            columns=self.columns,
            run=self.run,
            n_parameters=self.n_parameters(),
            loss_bounds=(0.0, 1.0) if self.scale == "logit" or self.law.share else (0.0, np.inf),
            cost=self.cost,
            n_law_parameters=len(self.law.parameters),
        )
        self._refuse_floor_by_run(data)
        self._check_discrepancy_grid(data)
        floor = getattr(self.law, "floor", 0.0)  # a link's chance accuracy (a number, if any)
        if isinstance(floor, int | float) and not isinstance(floor, bool):
            check_floor(data.loss, float(floor), self.law.name, data.index)
        for name, grouping in data.groups.items():
            check_single_row_levels(
                name, grouping.codes, grouping.labels, self.likelihood == "student_t"
            )
        for site, terms in self.effects.items():  # two of them alike: one effect, twice
            check_distinct_terms(
                self.law.parameter(site).natural, {t.name: data.groups[t.name].codes for t in terms}
            )
        if self.extrapolation in ("learned", "prior"):
            # a prior of another kind, or a file named by $BAYESCALE_EXTRAPOLATION_PRIOR that is
            # missing or malformed: refused before the fit, not after it (the file is read once)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # the fit says it, once
                self.scale_prior(data)
        return data

    def marginalises_run(self, data: ScalingData) -> bool:
        """Whether the run effect is integrated out for this table (see ``marginal_run``).

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.

        Returns
        -------
        bool
            True when the table has runs of several rows, the likelihood is normal and
            ``marginal_run`` is not False.

        Examples
        --------
        ``curves`` holds three checkpoints of every run of ``runs``, at a quarter, half and all
        of its tokens:

        >>> data = bs.Model(likelihood="normal").prepare(curves)
        >>> bs.Model(likelihood="normal").marginalises_run(data)
        True
        >>> bs.Model(likelihood="normal", marginal_run=False).marginalises_run(data)
        False
        """
        if data.run is None or self.marginal_run is False:
            return False
        return self.likelihood == "normal"

    def centered_terms(self, data: ScalingData) -> frozenset[str]:
        """Terms whose effects are sampled centred for this table (see ``centered``).

        An integrated-out run effect counts as centred: its draws are stored as ``r_run``.

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.

        Returns
        -------
        frozenset of str
            Names of the centred terms (``"run"`` for the run effect).

        Examples
        --------
        >>> model = family_post.model  # A varies by family: 4 families of 15 runs
        >>> data = model.prepare(family_runs)
        >>> model.centered_terms(data)
        frozenset({'family'})
        >>> bs.Model(effects={"A": "family"}, centered=False).centered_terms(data)
        frozenset()
        """
        terms = dict(data.groups)
        if data.run is not None:
            terms[RUN] = data.run
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
        return out | {RUN} if self.marginalises_run(data) else out

    def non_centred_run(self, data: ScalingData) -> Model | None:
        """Return this model with its run effect sampled non-centred, where that is all it changes.

        A fit's retry (:func:`bayescale.fit`'s ``retry``) draws this model instead where the
        first try showed the funnel of centred run effects under a Student-t likelihood (the
        per-run scale mixing worst). The model, and so the posterior, is the same; the
        coordinates the sampler moves differ, and so do those of a learned extrapolation
        error's refits (their Laplace approximations, which their importance weights correct).

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.

        Returns
        -------
        Model or None
            ``centered=False`` and everything else as here, where the run effect is sampled
            centred and is the only centred term; ``None`` where the run effect is absent,
            integrated out or non-centred already, or where other terms are centred too
            (``centered=False`` would move them as well).

        Examples
        --------
        >>> model = bs.Model(centered=True)
        >>> data = model.prepare(curves)
        >>> model.centered_terms(data)
        frozenset({'run'})
        >>> model.non_centred_run(data).centered_terms(data)
        frozenset()
        >>> bs.Model().non_centred_run(data) is None  # three checkpoints a run: not centred
        True
        """
        if self.marginalises_run(data) or self.centered_terms(data) != {RUN}:
            return None
        # a copy, not a round trip through the spec's text (which not every prior survives)
        out = copy.copy(self)
        object.__setattr__(out, "centered", False)
        object.__setattr__(out, "_key", out._identity())
        return out

    def drawn_as(self, df: pd.DataFrame, settings: Mapping[str, Any]) -> Model:
        """Return the model a fit of ``df`` with these ``settings`` was drawn under.

        This model, or :meth:`non_centred_run` where the fit's retry drew the run effects
        non-centred (``settings["retried_non_centred"]``).

        Parameters
        ----------
        df : pandas.DataFrame
            The fitted table.
        settings : mapping
            The fit's ``settings``.

        Returns
        -------
        Model

        Examples
        --------
        >>> bs.Model().drawn_as(runs, post.settings) == bs.Model()
        True
        """
        if not settings.get("retried_non_centred"):
            return self
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the table's warnings were the fit's to give
            return self.non_centred_run(self.prepare(df)) or self

    def discrepancy_grid(self, data: ScalingData) -> Grid | None:
        """Return the discrepancy's grid over this table (``None`` without a discrepancy).

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.

        Returns
        -------
        Grid or None
            Bins of ``discrepancy_step`` decades along the discrepancy's axis (log10 compute).

        Examples
        --------
        >>> model = bs.Model(discrepancy="random_walk")
        >>> model.discrepancy_grid(model.prepare(runs))  # 1e18 to 1e20 FLOP in 0.1 decades
        Grid(origin=18.0, step=0.1, n=21)
        >>> print(bs.Model().discrepancy_grid(model.prepare(runs)))
        None
        """
        if self.discrepancy is None:
            return None
        position = disc_axis(data.x, self.cost.k)
        span, step = float(np.ptp(position)), self.discrepancy_step
        bins = np.floor(span / step) + 1  # as grid_for counts them (a float: 1e300 bins too)
        if bins > MAX_DISCREPANCY_BINS:  # one sampled variable per bin
            least = span / (MAX_DISCREPANCY_BINS - 1)
            raise SpecificationError(
                f"discrepancy_step={step:g} cuts this table's {span:.3g} decades of "
                f"{disc_axis_name(self.law.inputs)} into {bins:.4g} bins, and the random walk "
                f"samples a variable per bin (at most {MAX_DISCREPANCY_BINS}): give "
                f"discrepancy_step >= {np.ceil(least * 1e4) / 1e4:g} (default {DISCREPANCY_STEP})."
            )
        return grid_for(position, step)

    def discrepancy_prior(self) -> dist.Distribution:
        """Return the prior of the discrepancy's scale ``tau_disc`` (per square-root decade).

        ``priors={"tau_disc": ...}`` where given, else ``HalfNormal(discrepancy_scale)``.

        Examples
        --------
        >>> bs.Model(discrepancy="random_walk").discrepancy_prior().scale
        0.05
        """
        given = self.priors.get("tau_disc")
        return given if given is not None else dist.HalfNormal(self.discrepancy_scale)

    def _check_discrepancy_grid(self, data: ScalingData) -> None:
        """Warn where the discrepancy's walk has too few bins to learn its scale."""
        grid = self.discrepancy_grid(data)
        if grid is None or grid.n >= MIN_DISCREPANCY_BINS:
            return
        position = disc_axis(data.x, self.cost.k)  # (again: only where the warning is due)
        values = len(np.unique(np.round(position, 6)))
        warnings.warn(
            f"The random-walk discrepancy has {grid.n} bin(s) of discrepancy_step="
            f"{self.discrepancy_step:g} decades over this table's {float(np.ptp(position)):.3g} "
            f"decades of {disc_axis_name(self.law.inputs)} ({values} distinct value(s)): a walk of "
            f"fewer than {MIN_DISCREPANCY_BINS} bins cannot learn its scale tau_disc, which "
            "stays at its prior and sets the intervals' width beyond the data. Give a smaller "
            "discrepancy_step, or leave the discrepancy out.",
            DataWarning,
            stacklevel=3,
        )

    def has_group_scales(self, data: ScalingData) -> bool:
        """Return whether a fit to this table has group or run effects (and so their scales).

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.

        Returns
        -------
        bool
            True when the model has effects or the table has runs of several rows.

        Examples
        --------
        >>> bs.Model().has_group_scales(bs.Model().prepare(runs))
        False
        >>> family_post.model.has_group_scales(family_post.model.prepare(family_runs))
        True
        """
        return bool(self.effects) or data.run is not None

    def additive_sites(self) -> frozenset[str]:
        """Return the sampled sites that are logs of the law's added terms (``log_E``, ``a``).

        Examples
        --------
        >>> sorted(bs.Model().additive_sites())  # log E and the logs of the A and B terms
        ['a', 'b', 'log_E']
        """
        return frozenset(p.name for p in self.law.parameters if p.additive)

    def extrapolation_error(self, data: ScalingData) -> ExtrapolationError | None:
        """Return the extrapolation-error term of a fit to this table (``None`` when off).

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.

        Returns
        -------
        ExtrapolationError or None
            The data's range of every input (log10) and the error's mode: ``"inputs"`` for a
            ladder extrapolated in compute, ``"learned"`` otherwise, ``"fixed"`` for
            ``extrapolation="fixed"``.

        Examples
        --------
        >>> model = bs.Model()
        >>> term = model.extrapolation_error(model.prepare(runs))
        >>> term.mode, term.ranges["C"]  # log10 FLOP of the smallest and largest budgets
        ('inputs', (18.0, 20.0))
        >>> print(bs.Model(extrapolation="none").extrapolation_error(model.prepare(runs)))
        None
        """
        if self.extrapolation == "none":
            return None
        if self.extrapolation == "fixed":
            mode = "fixed"
        else:  # a ladder extrapolated in compute: the error of the law's effective inputs
            mode = "inputs" if error_kind(self, data) == "inputs" else "learned"
        return ExtrapolationError.from_data(data.x, mode, self.extrapolation_scale, self.cost)

    def scale_prior(self, data: ScalingData) -> ScalePrior:
        """Return the prior across ladders of this fit's extrapolation-error scales.

        Of an error of the law's effective inputs (``mode="inputs"``) or of the log loss.

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.

        Returns
        -------
        ScalePrior
            A bivariate normal on the logs of the offset and growth scales, fitted on public
            ladders (``fitted_on``).

        Examples
        --------
        >>> model = bs.Model()
        >>> prior = model.scale_prior(model.prepare(runs))
        >>> prior.fitted_on
        ('epoch_chinchilla', 'gadre2024_overtraining', 'gemstones', 'revisiting_scaling_benchmark')
        >>> np.exp(prior.mean).round(2).tolist()  # typical offset and growth scales
        [0.04, 0.12]
        """
        kind = error_kind(self, data)
        prior = self._kind_prior(kind)
        if prior is None:
            given = ", ".join(repr(k) for k in self.extrapolation_prior or {})
            what = {"inputs": "the law's effective inputs", "loss": "the log loss"}
            raise SpecificationError(
                f"This fit's extrapolation error is of {what[kind]} (kind {kind!r}), but "
                f"extrapolation_prior= holds a prior of kind {given} only: fit it with "
                "bayescale.record.pooled_prior on tables laid out like this one, with this "
                f"model's law (on the command line: bayescale pool-prior ... --law "
                f"{self.law.name}), or leave extrapolation_prior out to use the shipped prior."
            )
        return prior

    def _kind_prior(self, kind: str) -> ScalePrior | None:
        """Return the prior across ladders of an error of ``kind``: the user's, else shipped.

        ``None`` where ``extrapolation_prior=`` holds no prior of that kind.
        """
        if self.extrapolation_prior is None:
            return ScalePrior.load(kind=kind)
        return self.extrapolation_prior.get(kind)

    def without_extrapolation(self) -> Model:
        """Return this model trusting its law's form exactly (the refits of a record).

        Examples
        --------
        >>> model = bs.Model(effects={"A": "family"})
        >>> exact = model.without_extrapolation()
        >>> model.extrapolation, exact.extrapolation, exact.effects == model.effects
        ('learned', 'none', True)
        """
        custom = self.law if type(self.law).name == "custom" else None
        spec = {**self.spec(), "extrapolation": "none"}
        spec.pop("extrapolation_prior", None)
        spec.pop("extrapolation_scale", None)  # the fixed drift's, which "none" has none of
        return Model.from_spec(spec, law=custom)

    def extrapolation_scales(
        self, data: ScalingData, n: int, seed: int = 0
    ) -> tuple[dict[str, np.ndarray], Record | None]:
        """Draw every posterior draw's scales of a learned extrapolation error; return the record.

        ``n`` pairs ``(sigma_o, sigma_g)`` from the ladder's record and the prior across ladders
        (``extrapolation="learned"``), or from the prior alone (``"prior"``).

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.
        n : int
            Pairs to draw (one per posterior draw).
        seed : int
            Random seed of the record's refits and of the draws.

        Returns
        -------
        scales : dict
            ``{"extrap_offset": (n,), "extrap_growth": (n,)}``.
        record : Record or None
            The ladder's leave-future-out record (``None`` with ``extrapolation="prior"``).

        Examples
        --------
        >>> model = bs.Model()
        >>> scales, record = model.extrapolation_scales(model.prepare(runs), n=1000)
        >>> sorted(scales), scales["extrap_offset"].shape
        (['extrap_growth', 'extrap_offset'], (1000,))
        >>> record.table.columns[:4].tolist()  # the refits' held-out rows
        ['cut', 'row', 'distance', 'loss']
        >>> prior_only = bs.Model(extrapolation="prior")
        >>> prior_only.extrapolation_scales(model.prepare(runs), n=1000)[1] is None
        True
        """
        rec = None
        loglik = np.zeros((LOG_SCALE_GRID.size,) * 2)
        if self.extrapolation == "learned":
            inputs = error_kind(self, data) == "inputs"
            rec = ladder_record(self.without_extrapolation(), data, seed=seed, inputs=inputs)
            loglik = rec.loglik
        offset, growth = scale_draws(loglik, self.scale_prior(data), n, seed)
        return dict(zip(SCALE_SITES, (offset, growth), strict=True)), rec

    # -- the NumPyro model ------------------------------------------------------------------
    def model_args(self, data: ScalingData, rows: int | None = None) -> tuple[dict, dict]:
        """``(structure, arrays)`` of :meth:`numpyro_model` for a table, rows padded to ``rows``.

        The structure (group sizes, centring, the discrepancy grid, whether the run effect is
        integrated out) is the same for every table of a batch; the arrays (centred inputs,
        group codes, losses, a row mask and the centring scale) are per table.

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.
        rows : int, optional
            Rows to pad every array to (the longest table of a batch); default ``data.n``.

        Returns
        -------
        structure : dict
            ``sizes``, ``centered``, ``run_marginal``, ``has_run`` and ``disc_grid``.
        arrays : dict
            ``u``, ``codes``, ``loss``, ``mask`` and ``scale`` (``run_codes``, ``run_basis`` and
            ``disc_bins`` where the model has them).

        Examples
        --------
        >>> model = bs.Model()
        >>> structure, arrays = model.model_args(model.prepare(runs), rows=40)
        >>> structure
        {'sizes': (), 'centered': frozenset(), 'run_marginal': False, 'has_run': False,
         'disc_grid': None}
        >>> sorted(arrays), arrays["loss"].shape, int(arrays["mask"].sum())
        (['codes', 'loss', 'mask', 'scale', 'u'], (40,), 35)
        """
        rows = data.n if rows is None else rows

        def pad(v: np.ndarray, fill: float = 0) -> np.ndarray:
            out = np.full(rows, fill, dtype=np.asarray(v).dtype)
            out[: data.n] = v
            return out

        sizes = {t: g.size for t, g in data.groups.items()}
        if data.run is not None:
            sizes[RUN] = data.run.size
        grid = self.discrepancy_grid(data)
        structure = {
            "sizes": tuple(sorted(sizes.items())),
            "centered": self.centered_terms(data),
            "run_marginal": self.marginalises_run(data),
            "has_run": data.run is not None,
            "disc_grid": grid,
        }
        s = data.scale
        arrays: dict[str, Any] = {
            "u": {k: pad(np.asarray(v)) for k, v in self.law.centre(data.x, s).items()},
            "codes": {t: pad(g.codes) for t, g in data.groups.items()},
            "loss": pad(data.loss, float(np.median(data.loss))),
            "mask": pad(np.ones(data.n, bool), False),
            "scale": {
                "log_ref": {k: np.asarray(v, float) for k, v in s.log_ref.items()},
                "loss": np.asarray(s.loss, float),
                "loss_min": np.asarray(s.loss_min, float),
                "x_min": {k: np.asarray(v, float) for k, v in s.x_min.items()},
            },
        }
        if data.run is not None:
            arrays["run_codes"] = pad(data.run.codes)
            arrays["run_basis"] = run_trend_basis(
                data.run.codes, data.run.size, data.x, 1 + len(self.law.inputs)
            )
        if grid is not None:
            arrays["disc_bins"] = pad(grid.index(disc_axis(data.x, self.cost.k)))
        return structure, arrays

    def pointwise_structure(self, structure: dict) -> dict:
        """Structure of the pointwise log likelihood: run effects given, not integrated out.

        Parameters
        ----------
        structure : dict
            The structure of :meth:`model_args`.

        Returns
        -------
        dict
            The same with ``run_marginal`` false.

        Examples
        --------
        ``curves`` holds three checkpoints of every run of ``runs``, at a quarter, half and all
        of its tokens:

        >>> model = bs.Model(likelihood="normal")
        >>> structure, arrays = model.model_args(model.prepare(curves))
        >>> structure["run_marginal"], model.pointwise_structure(structure)["run_marginal"]
        (True, False)
        """
        return {**structure, "run_marginal": False}

    def structure_key(self) -> str:
        """Text identifying this model's structure (its spec; a custom law by identity).

        Examples
        --------
        >>> key = bs.Model().structure_key()
        >>> key == post.model.structure_key(), key == family_post.model.structure_key()
        (True, False)
        """
        return self._key

    def numpyro_model(
        self,
        *,
        sizes: tuple,
        centered: frozenset[str],
        run_marginal: bool,
        has_run: bool,
        disc_grid: Grid | None,
        u: Mapping[str, jnp.ndarray],
        codes: Mapping[str, jnp.ndarray],
        loss: jnp.ndarray | None,
        mask: jnp.ndarray,
        scale: Mapping[str, Any],
        run_codes: jnp.ndarray | None = None,
        run_basis: jnp.ndarray | None = None,
        disc_bins: jnp.ndarray | None = None,
        obs_name: str = "loss",
    ) -> jnp.ndarray:
        """Run the NumPyro model; return every row's location on the likelihood's scale.

        Takes :meth:`model_args`' structure and arrays as keyword arguments. Padded rows
        (``mask`` false) are left out of the likelihood. With ``loss=None`` it simulates. With
        ``run_marginal`` the run effect is integrated out of an observed normal likelihood
        (:func:`~bayescale.likelihood.marginal_run_likelihood`; the returned location then
        leaves it out).

        Parameters
        ----------
        sizes : tuple
            ``(term, levels)`` pairs of the group terms (and ``"run"``).
        centered : frozenset of str
            Terms whose effects are sampled centred.
        run_marginal : bool
            Integrate the run effect out of the likelihood.
        has_run : bool
            Whether rows are checkpoints of runs (a per-run effect).
        disc_grid : Grid or None
            The discrepancy's grid.
        u : mapping
            The law's centred inputs, one array per input.
        codes : mapping
            Every row's level of each group term.
        loss : array or None
            Observed losses; ``None`` simulates them.
        mask : array of bool
            Rows in the likelihood (false for padding).
        scale : mapping
            The centring scale's ``log_ref``, ``loss``, ``loss_min`` and ``x_min``.
        run_codes, run_basis : array, optional
            Every row's run, and the within-run trend basis removed from the run effects.
        disc_bins : array, optional
            Every row's bin of the discrepancy's grid.
        obs_name : str
            Name of the observed site.

        Returns
        -------
        jax.Array
            Every row's location on the likelihood's scale.

        Examples
        --------
        >>> import numpyro
        >>> model = bs.Model()
        >>> structure, arrays = model.model_args(model.prepare(runs))
        >>> program = numpyro.handlers.seed(model.numpyro_model, rng_seed=0)
        >>> trace = numpyro.handlers.trace(program).get_trace(**structure, **arrays)
        >>> [name for name, site in trace.items() if site["type"] == "sample"]
        ['log_E', 'a', 'b', 'log_alpha', 'log_beta', 'sigma', 'nu', 'loss']
        >>> trace["loss"]["is_observed"], trace["loss"]["value"].shape
        (True, (35,))
        """
        sizes = dict(sizes)
        s = Scale(
            log_ref=scale["log_ref"],
            loss=scale["loss"],
            loss_min=scale["loss_min"],
            x_min=scale["x_min"],
        )

        def prior(site: str) -> dist.Distribution:
            return self.site_prior(site, s)

        theta = sample_law_parameters(
            self.law, self.effects, prior, codes, sizes, centered, self.site_relative_to
        )
        loc = to_location(self.law.mean(theta, u, s), self.scale)
        n = loc.shape[-1]
        if disc_grid is not None:
            path = sample_path(disc_grid, self.discrepancy_prior())
            loc = loc + path[disc_bins]
        y = None if loss is None else to_location(loss, self.scale)
        if has_run and run_marginal and loss is not None:
            sd_run = numpyro.sample("sd_run", prior("sd_run"))
            sigma = numpyro.sample("sigma", prior("sigma"))
            logp, mean, sd = marginal_run_likelihood(
                y, loc, run_codes, sizes[RUN], sd_run, sigma, mask, run_basis
            )
            numpyro.factor(f"{obs_name}_marginal", logp)
            numpyro.deterministic(RUN_MOMENT_SITES[0], mean)
            numpyro.deterministic(RUN_MOMENT_SITES[1], sd)
            return loc
        if has_run:
            sd_run = numpyro.sample("sd_run", prior("sd_run"))
            with numpyro.plate(RUN, sizes[RUN]):
                r_run = sample_effect(RUN_FREE, sd_run, RUN in centered)
            if run_basis is not None:  # the runs' offsets, without a trend across runs
                r_run = remove_trend(r_run, run_basis)
            r_run = numpyro.deterministic(f"r_{RUN}", r_run)
            loc = loc + r_run[run_codes]
        sigma = numpyro.sample("sigma", prior("sigma"))
        nu = numpyro.sample("nu", prior("nu")) if self.likelihood == "student_t" else None
        with numpyro.plate("obs", n), numpyro.handlers.mask(mask=mask):
            numpyro.sample(obs_name, noise(self.likelihood, loc, sigma, nu), obs=y)
        return loc

    # -- posteriors ---------------------------------------------------------------------------
    def prior_draws(
        self, data: ScalingData, n: int = PRIOR_DRAWS, seed: int = 0, predictive: bool = True
    ) -> dict:
        """Draw every site from the prior, and the loss of every row (``"loss"``): ``(1, n, ...)``.

        One compiled NumPyro ``Predictive`` of the model's own program (compiled once per model
        and table structure) draws the sites and, with ``predictive``, every row's observation
        (its groups, run, discrepancy and noise as fitted; no extrapolation error inside the
        data), mapped from the likelihood's scale to the loss.

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.
        n : int
            Draws (500 by default, as stored with every fit).
        seed : int
            Random seed.
        predictive : bool
            Draw every row's loss too (the prior predictive).

        Returns
        -------
        dict
            Every site's draws, ``(1, n, ...)``, and with ``predictive`` ``"loss"``,
            ``(1, n, rows)``.

        Examples
        --------
        >>> model = bs.Model()
        >>> prior = model.prior_draws(model.prepare(runs))
        >>> prior["log_alpha"].shape, prior["loss"].shape
        ((1, 500), (1, 500, 35))
        """
        structure, arrays = self.model_args(data)
        structure = self.pointwise_structure(structure)  # run effects drawn, not integrated
        key = (self._key, repr(sorted((k, repr(v)) for k, v in structure.items())), n, predictive)
        if key not in _PRIOR_FNS:

            def simulate(rng_key: jax.Array, a: dict) -> dict:
                # With the loss given, Predictive draws the latent sites only; without it, the
                # observation site too.
                a = {**a, "loss": None} if predictive else a
                out = Predictive(self.numpyro_model, num_samples=n)(rng_key, **structure, **a)
                if predictive:
                    out["loss"] = from_location(out["loss"], self.scale)
                return out

            _PRIOR_FNS[key] = jax.jit(simulate)
        sim = _PRIOR_FNS[key](jax.random.PRNGKey(seed), arrays)
        return {k: np.asarray(v)[None] for k, v in sim.items() if not k.startswith("_")}

    def posterior_from(self, data: ScalingData, draws: Draws) -> ScalingPosterior:
        """Build a fit's posterior (with its prior and predictive groups) from its draws.

        :func:`bayescale.fit` is :meth:`prepare`, the engine's draws, this, and the diagnostics.

        Parameters
        ----------
        data : ScalingData
            The table, validated by :meth:`prepare`.
        draws : Draws
            The engine's draws of a fit of this model to ``data``
            (:func:`~bayescale.inference.sample_nuts`,
            :func:`~bayescale.inference.sample_importance`).

        Returns
        -------
        ScalingPosterior
            The fit; its prior and replicated losses are drawn when its ``tree`` is first read.

        Examples
        --------
        >>> from bayescale.inference import NutsSettings, sample_nuts
        >>> model = bs.Model()
        >>> data = model.prepare(runs)
        >>> settings = NutsSettings(chains=2, draws=500, warmup=500, seed=0)
        >>> (draws,) = sample_nuts(model, [data], settings)
        >>> fitted = model.posterior_from(data, draws)
        >>> fitted.posterior["alpha"].dims
        ('chain', 'draw')
        """
        samples = int(np.prod(np.shape(draws.samples[self.law.parameters[0].name])[:2]))
        predictive = data.n * samples <= PREDICTIVE_MAX_ELEMENTS
        n_prior = PRIOR_DRAWS if predictive else max(50, PREDICTIVE_MAX_ELEMENTS // (10 * data.n))
        seed = int(draws.settings.get("seed", 0))
        prior_scales: dict[str, np.ndarray] = {}
        learn = None
        if self.extrapolation in ("learned", "prior"):
            shape = np.shape(draws.samples[self.law.parameters[0].name])[:2]

            def learn() -> tuple[dict[str, np.ndarray], pd.DataFrame | None]:
                scales, record = self.extrapolation_scales(data, int(np.prod(shape)), seed)
                table = None if record is None else record.table
                return {k: v.reshape(shape) for k, v in scales.items()}, table

            flat = np.zeros((LOG_SCALE_GRID.size,) * 2)  # the prior alone
            drawn = scale_draws(flat, self.scale_prior(data), n_prior, seed + 7)
            prior_scales = {k: v[None] for k, v in zip(SCALE_SITES, drawn, strict=True)}

        def prior() -> dict:
            sites = self.prior_draws(data, n=n_prior, seed=seed + 7, predictive=predictive)
            return {**sites, **prior_scales}

        return ScalingPosterior.from_draws(
            self,
            data,
            draws,
            # Drawn on first access of ``post.tree``, with the replicated losses.
            prior=prior,
            # The ladder's record and the error scales: on the first prediction (or tree access).
            extrapolation_scales=learn,
            grid=self.discrepancy_grid(data),
            extrapolation=self.extrapolation_error(data),
            predictive=predictive,
            seed=seed,
        )

    # -- fitting ------------------------------------------------------------------------------
    def fit(
        self,
        df: pd.DataFrame,
        chains: int = 4,
        draws: int = 1000,
        warmup: int | None = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> ScalingPosterior:
        """Fit the model to ``df``: shorthand for :func:`bayescale.fit` (same arguments).

        Parameters
        ----------
        df : pandas.DataFrame
            Long-format runs table, one row per run or checkpoint.
        chains, draws : int
            Chains and kept draws per chain.
        warmup : int, optional
            NUTS warm-up iterations per chain (default 1000; not with ``method="psis"``).
        seed : int
            Random seed.
        **kwargs
            ``progress_bar``, ``method`` and sampler options, as for :func:`bayescale.fit`.

        Returns
        -------
        ScalingPosterior
            The posterior; a :class:`~bayescale.errors.ConvergenceWarning` says when it failed
            its diagnostics.

        Examples
        --------
        >>> fitted = bs.Model().fit(runs, chains=2, draws=1000, warmup=500, seed=0)
        >>> fitted.posterior["alpha"].shape
        (2, 1000)
        >>> bool(fitted.posterior["alpha"].equals(post.posterior["alpha"]))  # as bs.fit's
        True
        """
        return _fit(self, df, chains=chains, draws=draws, warmup=warmup, seed=seed, **kwargs)


#: The entries of :meth:`Model.spec`: ``Model``'s arguments (``law`` among them), and
#: ``relative_priors``, which only :func:`bayescale.saved.saved_spec` reads.
_SPEC_KEYS = frozenset(inspect.signature(Model.__init__).parameters) - {"self"} | {
    "relative_priors"
}


def _refuse_unknown(entries: Mapping, what: str, hint: str = "") -> None:
    """Raise ``SpecificationError`` naming the entries outside :data:`_SPEC_KEYS`."""
    unknown = sorted(set(entries) - _SPEC_KEYS)
    if unknown:
        raise SpecificationError(
            f"{what}: {unknown}. Check their spelling against Model's arguments "
            f"{sorted(_SPEC_KEYS - {'relative_priors'})}, and remove the others{hint}."
        )


def _rebuild(spec: dict, law: Law | None) -> Model:
    """Unpickle a model (its fields are read-only mappings, rebuilt from its spec)."""
    return Model.from_spec(spec, law=law)


def require_model(value: Any, call: str, example: str) -> None:
    """Refuse a first argument that is not a :class:`Model` (a law's name, a fit, a table).

    Parameters
    ----------
    value : Any
        The argument given as the model.
    call : str
        The function it was given to, for the message.
    example : str
        A call that shows what to pass, for the message.

    Raises
    ------
    TypeError
        When ``value`` is not a :class:`Model`.

    Examples
    --------
    >>> require_model("chinchilla", "sbc", "bs.sbc(bs.Model(), design)")
    Traceback (most recent call last):
    ...
    TypeError: sbc takes a bs.Model first, got a str; e.g. bs.sbc(bs.Model(), design).
    """
    if not isinstance(value, Model):
        raise TypeError(
            f"{call} takes a bs.Model first, got a {type(value).__name__}; e.g. {example}."
        )


def _scale_priors(given: Any) -> Mapping[str, ScalePrior] | None:
    """``Model(extrapolation_prior=...)`` as ``{kind: ScalePrior}`` (``None`` when not given)."""
    if given is None:
        return None
    if isinstance(given, ScalePrior):
        return MappingProxyType({given.kind: given})
    if isinstance(given, list | tuple) and all(isinstance(p, ScalePrior) for p in given):
        kinds = [p.kind for p in given]  # a file's two kinds, as objects
        if len(set(kinds)) < len(kinds) or not given:
            raise SpecificationError(
                f"extrapolation_prior holds the kinds {kinds}: give one ScalePrior per kind."
            )
        return MappingProxyType({p.kind: p for p in given})
    if isinstance(given, str | Path):
        path = Path(given).expanduser()
        if not path.is_file():
            found = "is a folder" if path.is_dir() else "no such file"
            raise SpecificationError(
                f"extrapolation_prior={str(given)!r}: {found}. Pass a ScalePrior or a file "
                "ScalePrior.save (or `bayescale pool-prior`) wrote.",
                command_line=f"--extrapolation-prior {given}: {found}. Give a file "
                "`bayescale pool-prior` wrote.",
            )
        try:
            found = ScalePrior.read(path)
        except (ValueError, KeyError, TypeError) as e:
            raise SpecificationError(
                f"extrapolation_prior={str(given)!r} is not a prior ScalePrior.save wrote ({e}).",
                command_line=f"--extrapolation-prior {given} is not a prior `bayescale "
                f"pool-prior` wrote ({e}).",
            ) from None
        if not found:
            raise SpecificationError(
                f"extrapolation_prior={str(given)!r} holds no prior (no 'mean'): write it with "
                "ScalePrior.save.",
                command_line=f"--extrapolation-prior {given} holds no prior (no 'mean'): write "
                "it with `bayescale pool-prior`.",
            )
        return MappingProxyType(dict(sorted(found.items())))
    if isinstance(given, Mapping):  # a spec's {kind: dict}
        try:
            out = {
                k: v if isinstance(v, ScalePrior) else ScalePrior.from_dict({**v, "kind": k})
                for k, v in given.items()
            }
        except (ValueError, KeyError, TypeError) as e:
            raise SpecificationError(
                f"extrapolation_prior={given!r}: give {{kind: ScalePrior}} (or a saved file's "
                f"{{kind: dict}}), kinds 'loss' and 'inputs' ({type(e).__name__}: {e})."
            ) from None
        wrong = [(k, p.kind) for k, p in out.items() if p.kind != k]
        if wrong:  # a prior of the inputs' scales read as the log loss's, or the reverse
            raise SpecificationError(
                f"extrapolation_prior: the key {wrong[0][0]!r} holds a prior of kind "
                f"{wrong[0][1]!r}; key each prior by its own kind ({{p.kind: p}})."
            )
        return MappingProxyType(out)
    raise SpecificationError(
        f"extrapolation_prior={given!r}: pass a bayescale.record.ScalePrior or the path of a "
        "file ScalePrior.save (or `bayescale pool-prior`) wrote."
    )


__all__ = [
    "NOISE_SITES",  # (defined in specification, with rebuilding_saved_fit; kept importable here)
    "Model",
    "rebuilding_saved_fit",
    "require_model",
]
