"""The sample-site contract: names, sampling, DataTree layout and reading back of effects.

One home for the names every other module relies on. For a sampled law parameter ``site``
(``"log_E"``, ``"a"``, ...) varying by a group :class:`~bayescale.terms.Term` ``t``:

=============================  =======================================================
``sd_<site>__<t>``             between-level standard deviation (half-normal prior)
``z_<site>__<t>``              non-centred standard-normal effects (effect = sd * z)
``<site>__<t>``                centred level values of the parameter's first term
``r_<site>__<t>``              centred effects (deterministic for the first term)
``<natural>_<t>``              natural parameter per level (``E_family``), derived
``sd_run``, ``z_run``/``r_run``  the per-run effect of checkpoint data
``extrap_<name>``              scales of the extrapolation error, drawn per draw
=============================  =======================================================

Effects act additively on the sampled (centred, well-conditioned) scale of the parameter. The
functions here take the law and the effects (``{site: (Term, ...)}``), never a whole model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayescale.laws.base import Law, Scale
from bayescale.terms import Term

#: ``{sampled site: group terms}``: which law parameter varies by which groups.
Effects = Mapping[str, tuple[Term, ...]]

#: Separator between a site and its term in effect-site names.
SEP = "__"
#: Name of the per-run effect (its dim and its sites ``sd_run``, ``z_run``, ``r_run``).
RUN = "run"
#: Sites of the run effect: ``r_run`` (the effect), and the sampled sites before its trend is
#: removed (``likelihood.RUN_FREE``); ``z_run`` of fits saved before the trend was removed.
RUN_SITES = tuple(f"{p}_{r}" for p in ("z", "r") for r in (RUN, f"{RUN}_free"))
#: Sampled sites of the observation model and the discrepancy (population level).
NOISE_SITES = ("sigma", "nu", "sd_run", "tau_disc")


def effect_name(site: str, term: Term | str) -> str:
    """``"<site>__<term>"``: the name shared by an effect's sites (``sd_``, ``z_``, ``r_``)."""
    return f"{site}{SEP}{term}"


def sd_site(site: str, term: Term | str) -> str:
    """Site of the between-level standard deviation of ``site`` by ``term``."""
    return f"sd_{effect_name(site, term)}"


def natural_group_name(natural: str, term: Term | str) -> str:
    """Variable of a natural parameter per level of ``term`` (``"E_family"``)."""
    return f"{natural}_{term}"


def display_name(name: str, law: Law) -> str:
    """Return the name a user sees for a posterior coordinate (``summary()``'s names).

    A law parameter's sampled site reads as its natural parameter (``log_E`` -> ``E``); an
    effect's standardised or centred site as the natural parameter per level
    (``z_a__family[f2]``, or ``log_E__family[f2]`` when centred, -> ``A_family[f2]``); every
    other name is kept.
    """
    base, bracket, rest = name.partition("[")
    for prefix in ("z_", "r_"):
        site, sep, term = base[len(prefix) :].partition(SEP)
        if base.startswith(prefix) and sep and _is_law_site(site, law):
            return natural_group_name(law.parameter(site).natural, term) + bracket + rest
    site, sep, term = base.partition(SEP)  # a centred effect's per-level values
    if sep and _is_law_site(site, law):
        return natural_group_name(law.parameter(site).natural, term) + bracket + rest
    if _is_law_site(base, law):
        return law.parameter(base).natural + bracket + rest
    return name


def _is_law_site(site: str, law: Law) -> bool:
    return any(site == p.name for p in law.parameters)


def terms_of(effects: Effects) -> list[Term]:
    """Every term used by some effect, in first-use order."""
    return list(dict.fromkeys(t for ts in effects.values() for t in ts))


# -- writing: sampling effects inside a NumPyro model ------------------------------------------
def sample_effect(
    name: str, sd: jnp.ndarray, centered: bool, mean: jnp.ndarray | None = None
) -> jnp.ndarray:
    """Sample a normal random effect with scale ``sd`` (inside its plate); return the effect.

    Non-centred: ``sd * z``, site ``z_<name> ~ N(0, 1)``. Centred: site ``r_<name> ~ N(0,
    sd)``; given the population value ``mean``, each level's value is sampled instead (site
    ``<name> ~ N(mean, sd)``) and its effect recorded as ``r_<name> = <name> - mean``
    (deterministic), which removes the ridge between the population value and effects that the
    data pin only as a sum.
    """
    if not centered:
        return sd * numpyro.sample(f"z_{name}", dist.Normal(0.0, 1.0))
    if mean is None:
        return numpyro.sample(f"r_{name}", dist.Normal(0.0, sd))
    value = numpyro.sample(name, dist.Normal(mean, sd))
    return numpyro.deterministic(f"r_{name}", value - mean)


def shifted(d: dist.Distribution, by: jnp.ndarray) -> dist.Distribution:
    """Return the distribution of ``x + by`` for ``x ~ d``.

    A location family (``Normal``, ``StudentT``, ``Laplace``...) stays in its family, with its
    mean (NumPyro's ``init_to_mean`` starts fits there); any other is an affine transform.
    """
    params = {k: getattr(d, k) for k in d.arg_constraints if hasattr(d, k)}
    if "loc" in params and d.support is dist.constraints.real:
        return type(d)(**{**params, "loc": params["loc"] + by})
    return dist.TransformedDistribution(d, dist.transforms.AffineTransform(by, 1.0))


def sample_law_parameters(
    law: Law,
    effects: Effects,
    prior: Callable[[str], dist.Distribution],
    codes: Mapping[str, jnp.ndarray],
    sizes: Mapping[str, int],
    centered: frozenset[str] = frozenset(),
    relative: Callable[[str], str | None] | None = None,
) -> dict[str, jnp.ndarray]:
    """Sample population values and group effects of every law parameter; return per-row values.

    ``prior(site)`` gives the population prior of each sampled site; ``codes[term]`` the level
    of every row and ``sizes[term]`` the number of levels, by term name. Effects of the terms
    in ``centered`` are sampled centred (the first term of a parameter as level values, a
    further term as effects around zero), the others non-centred (:func:`sample_effect`).
    Where ``relative(site)`` names an earlier site (by default the law's
    :meth:`~bayescale.laws.base.Law.relative_to`), ``prior(site)`` is the prior of the
    difference of the two population values, and the site is drawn shifted by the other's.
    """
    relative = law.relative_to if relative is None else relative
    theta, pops = {}, {}
    for p in law.parameters:
        d = prior(p.name)
        other = relative(p.name)
        if other is not None:
            d = shifted(d, pops[other])
        pop = pops[p.name] = numpyro.sample(p.name, d)
        value = pop
        for i, term in enumerate(effects.get(p.name, ())):
            sd = numpyro.sample(sd_site(p.name, term), dist.HalfNormal(p.effect_scale))
            with numpyro.plate(term.name, sizes[term.name]):
                mean = pop if i == 0 else None
                r = sample_effect(effect_name(p.name, term), sd, term.name in centered, mean)
            value = value + r[codes[term.name]]
        theta[p.name] = value
    return theta


# -- reading: effects and natural parameters back from draws -----------------------------------
def effect_draws(posterior: Mapping[str, Any], site: str, term: Term | str | None = None):
    """Effects of ``term`` on sampled parameter ``site``, shape ``(*sample, level)``.

    Reads the centred site ``r_<site>__<term>`` or rebuilds ``sd * z`` from the non-centred one.
    Without ``term``, ``site`` names the effect itself (``"run"``: ``r_run`` or
    ``sd_run * z_run``).
    """
    name = site if term is None else effect_name(site, term)
    values = [posterior[k] for k in (f"r_{name}", f"sd_{name}") if k in posterior]
    xp = jnp if any(isinstance(v, jax.Array) for v in values) else np
    if f"r_{name}" in posterior:
        return xp.asarray(posterior[f"r_{name}"])
    sd = xp.asarray(posterior[f"sd_{name}"])[..., None]
    return sd * xp.asarray(posterior[f"z_{name}"])


def natural_draws(
    law: Law,
    effects: Effects,
    posterior: Mapping[str, Any],
    scale: Scale,
    terms: list[Term] | tuple[Term, ...] = (),
) -> dict[str, np.ndarray]:
    """Natural parameters for the population and for every level of each term in ``terms``.

    The population value uses the population value of each sampled parameter (all effects at
    zero: the typical group). The value at level ``g`` of term ``t`` adds that level's effect of
    every parameter that varies by ``t`` (other terms at zero); natural parameters that do not
    vary by ``t`` get no per-level variable.
    """
    base = {p.name: jnp.asarray(posterior[p.name]) for p in law.parameters}
    out = {k: np.asarray(v) for k, v in law.to_natural(base, scale).items()}
    for term in terms:
        theta = {}
        for p in law.parameters:
            value = base[p.name][..., None]
            if term in effects.get(p.name, ()):
                value = value + jnp.asarray(effect_draws(posterior, p.name, term))
            theta[p.name] = value
        for k, v in law.to_natural(theta, scale).items():
            if jnp.shape(v)[-1] == 1:  # does not vary by this term
                continue
            out[natural_group_name(k, term)] = np.asarray(v)
    return out


def dims(law: Law, effects: Effects, terms: list[Term] | tuple[Term, ...]) -> dict[str, list[str]]:
    """Dims of every site and derived variable (beyond ``chain, draw``) in the DataTree."""
    out: dict[str, list[str]] = {name: [RUN] for name in RUN_SITES}
    out["z_disc"] = ["disc_step"]
    for site, ts in effects.items():
        for term in ts:
            name = effect_name(site, term)
            for var in (f"z_{name}", f"r_{name}", name):
                out[var] = [term.name]
    for term in terms:
        for natural in law.natural_names:
            out[natural_group_name(natural, term)] = [term.name]
    return out


def is_sampled(name: str, law: Law) -> bool:
    """Whether a posterior variable is a sampled site (not a derived natural parameter)."""
    return (
        name in {p.name for p in law.parameters}
        or name in NOISE_SITES
        or name.startswith(("sd_", "z_", "r_", "extrap_"))
        or SEP in name
    )


def population_sites(law: Law, effects: Effects) -> list[str]:
    """Return the sampled sites of the law and its effect SDs (the population-level parameters)."""
    sites = [p.name for p in law.parameters]
    sites += [sd_site(s, t) for s, ts in effects.items() for t in ts]
    return sites


__all__ = [
    "NOISE_SITES",
    "RUN",
    "RUN_SITES",
    "SEP",
    "Effects",
    "dims",
    "display_name",
    "effect_draws",
    "effect_name",
    "is_sampled",
    "natural_draws",
    "natural_group_name",
    "population_sites",
    "sample_effect",
    "sample_law_parameters",
    "sd_site",
    "shifted",
    "terms_of",
]
