"""What ``Model(...)`` is given, checked and normalised before the model is built.

Each function checks one group of :class:`bayescale.Model`'s arguments where they enter (the
law, the observation model, the effects and their parameterisation, the discrepancy, the
extrapolation error, the FLOPs count, the columns and the priors) and says what to change; the
``Model`` keeps what they return. A saved fit's model is rebuilt within
:func:`rebuilding_saved_fit`, which takes the priors and columns it was drawn under as they
are.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpyro.distributions as dist

from bayescale import arguments
from bayescale import laws as _laws
from bayescale.cost import DEFAULT_FLOPS_PER_PARAM_TOKEN, TrainingCost
from bayescale.data import DEFAULT_COLUMNS
from bayescale.errors import SpecificationError
from bayescale.extrapolation import DEFAULT_SCALE as DEFAULT_EXTRAPOLATION_SCALE
from bayescale.extrapolation import SCALE_SITES
from bayescale.laws.base import INPUTS, Law
from bayescale.likelihood import LIKELIHOODS, RUN_FREE, SCALES
from bayescale.priors import parse_prior
from bayescale.sites import NOISE_SITES as SITE_NOISE
from bayescale.sites import effect_name, natural_group_name, sd_site
from bayescale.terms import Term, parse_terms

#: Sites of the noise and run effect whose priors can be set (log-loss units; multiplied by the
#: typical loss on the linear scale).
NOISE_SITES = ("sigma", "nu", "sd_run")


#: Fewest rows per level from which ``centered="auto"`` centres a group term.
CENTERED_MIN_ROWS = 5


#: Extrapolation-error modes (see ``Model(extrapolation=...)``).
EXTRAPOLATION_MODES = ("learned", "prior", "fixed", "none")


#: Column roles that carry a law's input (and ``flops``, compute): a mapping of one the law does
#: not read would be stored and never used. ``loss``, ``run`` and ``step`` serve every law.
INPUT_ROLES = frozenset({*INPUTS.values(), "flops"} - {"step"})  # step: curves' checkpoints too


def _require_positive_support(site: str, prior: dist.Distribution) -> None:
    """Refuse a prior that puts mass below zero on a scale (``sigma``, ``nu``, ``sd_run``)."""
    lower = getattr(prior.support, "lower_bound", None)
    if lower is None or np.ndim(lower) or float(lower) < 0:
        what, example = (
            ("degrees of freedom", "LogNormal(2.3, 0.7)")
            if site == "nu"
            else ("a scale", "HalfNormal(0.05)")
        )
        raise SpecificationError(
            f"The prior on {site!r} must be of positive values ({what}), but "
            f"{type(prior).__name__}'s support is {prior.support}: give e.g. "
            f"priors={{{site!r}: {example!r}}}."
        )


def refuse_positive_only(p: Any, prior: dist.Distribution) -> None:
    """Refuse a prior of all positive values (LogNormal, HalfNormal) on a site that is a log.

    ``log_E ~ LogNormal(...)`` keeps ``log_E`` above 0, so ``E`` above 1: rarely meant, and a
    fit under it moves every other parameter to make up for it without a word.
    """
    if p.name != f"log_{p.natural}" or _REBUILDING.get():  # a saved fit was drawn under it
        return  # (a gap's log, log(E0 - E), may be kept positive on purpose)
    lower = getattr(prior.support, "lower_bound", None)
    upper = getattr(prior.support, "upper_bound", np.inf)
    if lower is None or np.ndim(lower) or float(lower) != 0.0:
        return
    if np.ndim(upper) == 0 and np.isfinite(float(upper)):  # an interval, deliberately bounded
        return
    raise SpecificationError(
        f"The prior on {p.name!r} is {type(prior).__name__}, of positive values only, but "
        f"{p.name!r} is the log of {p.natural!r}: it would force {p.natural} above 1. Give "
        f"{p.name!r} a prior on the whole real line (e.g. 'Normal(0, 1)'), or {p.natural!r} "
        f"itself a LogNormal (converted exactly to a Normal on {p.name!r})."
    )


#: Set while a saved fit's model is rebuilt: a prior it was drawn under is taken as it is.
_REBUILDING: contextvars.ContextVar[bool] = contextvars.ContextVar("rebuilding", default=False)


@contextlib.contextmanager
def rebuilding_saved_fit() -> Iterator[None]:
    """Take a saved fit's priors as they are while its model is rebuilt within this.

    Its draws were made under them; a new model would refuse some (a check added after the fit
    was saved, such as a LogNormal prior on ``log_E``). :func:`bayescale.saved.load_posterior`
    uses it.

    Examples
    --------
    >>> from bayescale.specification import rebuilding_saved_fit
    >>> with rebuilding_saved_fit():
    ...     old = bs.Model(priors={"log_E": "LogNormal(0, 0.5)"})  # refused outside
    >>> type(old.priors["log_E"]).__name__
    'LogNormal'
    """
    token = _REBUILDING.set(True)
    try:
        yield
    finally:
        _REBUILDING.reset(token)


def rebuilding() -> bool:
    """Return whether a saved fit's model is being rebuilt (:func:`rebuilding_saved_fit`).

    Examples
    --------
    >>> from bayescale.specification import rebuilding, rebuilding_saved_fit
    >>> with rebuilding_saved_fit():
    ...     inside = rebuilding()
    >>> inside, rebuilding()
    (True, False)
    """
    return _REBUILDING.get()


def sampled_priors(
    law: Law, priors: Mapping[str, Any] | None, likelihood: str, discrepancy: str | None
) -> dict:
    """Return ``priors`` keyed by sampled site, accepting natural names where that is exact.

    A natural parameter sampled as itself takes any prior; one sampled as its logarithm
    (``E`` as ``log_E``) takes a ``LogNormal`` prior, converted exactly to a ``Normal`` on the
    log. Any other natural-name prior is refused with the site that stands for it, because the
    sampled site is not a function of that parameter alone (``A`` is sampled as ``a``, the log
    of the law's term at the data's reference point).
    """
    require_mapping(priors, "priors", "{'log_alpha': 'Normal(-1, 0.5)'}")
    priors = priors or {}
    noise = ["sigma"] + (["nu"] if likelihood == "student_t" else []) + ["sd_run"]
    noise += ["tau_disc"] if discrepancy else []
    sites = [p.name for p in law.parameters] + noise
    out = {}
    for key, prior in priors.items():
        if key in noise:
            _require_positive_support(key, parse_prior(prior))
        if key in sites:
            if key.startswith("log_"):
                refuse_positive_only(law.parameter(key), parse_prior(prior))
            out[key] = prior
            continue
        try:
            p = law.parameter(key)
        except KeyError:
            raise SpecificationError(
                f"Priors given for {key!r}, which this model does not have; it has "
                f"{[p.natural for p in law.parameters]} (natural names) sampled as "
                f"{sites} (sd_run only with checkpoints of runs)."
            ) from None
        prior = parse_prior(prior)
        if p.name == f"log_{p.natural}" and isinstance(prior, dist.LogNormal):
            if p.name in priors:
                raise SpecificationError(
                    f"Priors given for both {key!r} and {p.name!r}, the site it is sampled as: "
                    "the two say the same thing, so give one of them."
                )
            out[p.name] = dist.Normal(prior.loc, prior.scale)
            continue
        if p.name == f"log_{p.natural}":
            how = (
                f"give {key!r} itself a LogNormal prior (priors={{{key!r}: 'LogNormal(0, "
                f"0.5)'}}, converted exactly to a Normal on {p.name!r}), or {p.name!r} a prior "
                f"on the whole real line (priors={{{p.name!r}: 'Normal(0, 0.5)'}}; a "
                f"LogNormal there would force {key} above 1)."
            )
        else:
            how = f"give the prior on {p.name!r}, e.g. priors={{{p.name!r}: ...}}."
        raise SpecificationError(
            f"{key!r} is sampled as {p.name!r} ({p.doc or 'see the law'}); {how}"
        )
    return out


#: Sites the model adds beside the law's parameters (noise, run effects, discrepancy, the
#: learned error's scales): a custom law's parameter cannot take their names.
MODEL_SITES = frozenset(
    {*NOISE_SITES, *SITE_NOISE, *SCALE_SITES, "r_run", "z_run", "z_disc"}
    | {f"{prefix}_{RUN_FREE}" for prefix in ("r", "z")}
)


#: The posterior's dims and the model's own variables: no law parameter or group takes them.
TAKEN_NAMES = frozenset({"chain", "draw", "obs", "loss"} | MODEL_SITES)


#: Defaults of the random-walk discrepancy's options (refused without a discrepancy).
DISCREPANCY_STEP, DISCREPANCY_SCALE = 0.1, 0.05


def _reserved_names(law: Law) -> set[str]:
    """Names a group column cannot take: the posterior's variables and dims."""
    return {*TAKEN_NAMES, *(n for p in law.parameters for n in (p.name, p.natural))}


def columns_read(law: Law, columns: Mapping[str, str] | None) -> dict[str, str]:
    """``{column: what it is to the law}`` for the loss and the law's inputs."""
    roles = {**DEFAULT_COLUMNS, **dict(columns or {})}
    out = {roles["loss"]: "the loss"}
    for k in law.inputs:
        out.setdefault(roles[INPUTS[k]], f"the input {k} ({INPUTS[k]})")
    return out


def parse_effects(
    law: Law, effects: Mapping[str, Any] | None, read: Mapping[str, str]
) -> dict[str, tuple[Term, ...]]:
    """``{"E": "family"}`` -> ``{"log_E": (Term(("family",)),)}`` (validated).

    ``read`` holds the columns the law reads (:func:`columns_read`), which no group can be.
    """
    if effects is None:
        return {}
    if not isinstance(effects, Mapping):
        raise SpecificationError(
            f"effects must be a dict such as {{'E': 'family'}}, got {type(effects).__name__}."
        )
    out: dict[str, tuple[Term, ...]] = {}
    for name, terms in effects.items():
        if hasattr(terms, "tolist") and np.ndim(terms) == 1:  # a numpy array or Series of names
            terms = terms.tolist()
        if not isinstance(terms, str | Term | Sequence) or (
            not isinstance(terms, str | Term) and not all(isinstance(t, str | Term) for t in terms)
        ):
            raise SpecificationError(
                f"effects[{name!r}] = {terms!r}: give a group column ('family'), an interaction "
                "('family:seed') or a list of them."
            )
        try:
            site = law.parameter(name).name
        except KeyError:
            names = [p.natural for p in law.parameters]
            raise SpecificationError(
                f"Effects name {name!r}, which is not a parameter of the {law.name} law; its "
                f"parameters are {names}."
            ) from None
        try:
            parsed = parse_terms(terms)
        except SpecificationError as e:
            raise SpecificationError(f"effects[{name!r}]: {e}") from None
        if not parsed:
            raise SpecificationError(f"effects[{name!r}] names no group column.")
        reserved = _reserved_names(law)
        for term in parsed:
            for column in term.columns:
                if column in read:
                    raise SpecificationError(
                        f"effects[{name!r}]: the group column {column!r} is {read[column]}, "
                        "which the law reads, not a group: an effect by it would compete with "
                        "the law itself. Name the column that tells the groups apart (family, "
                        "dataset, seed)."
                    )
            if term.name in reserved:
                raise SpecificationError(
                    f"effects[{name!r}]: the group column {term.name!r} has the name of one of "
                    "the posterior's variables or dims, which its levels would be stored under "
                    f"({sorted(reserved)}); rename the column (e.g. {term.name + '_group'!r}) "
                    "and name it so here."
                )
        own = {n for p in law.parameters for n in (p.name, p.natural)}
        natural = law.parameter(name).natural
        for term in parsed:  # the variables the effect adds, named after the parameter
            derived = {natural_group_name(natural, term.name), sd_site(site, term)}
            derived.add(effect_name(site, term))  # a centred effect's own site
            derived |= {f"{k}_{effect_name(site, term)}" for k in ("z", "r")}
            clash = sorted(derived & own)
            if clash:
                raise SpecificationError(
                    f"effects[{name!r}]: the effect by {term.name!r} stores {natural}'s values "
                    f"per level as {clash[0]!r}, which is also a parameter of the "
                    f"{law.display_name} law: rename that parameter in the law (its posterior "
                    "would be overwritten)."
                )
        if site in out:  # two keys of one parameter ('A' and 'a', 'alpha' and 'log_alpha')
            first = next(k for k in effects if law.parameter(k).name == site)
            raise SpecificationError(
                f"effects names the parameter {law.parameter(name).natural!r} twice, as "
                f"{first!r} and {name!r}: give it once, with a list of its groups "
                "({'A': ['family', 'seed']})."
            )
        out[site] = parsed
    return out


def _bool_or_auto(value: Any, name: str) -> bool | str:
    """Return ``True``, ``False`` or ``"auto"`` (numpy's bools as bools; 0 and 1 refused).

    The choices are read with ``is True``/``is False``: a 0 that equals False would act as
    ``"auto"`` without a word.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str) and value == "auto":
        return value
    raise SpecificationError(f"{name}={value!r}; use True, False or 'auto'.")


def checked_law(law: Law | str) -> Law:
    """Return the law a model is given (by name or as a :class:`~bayescale.laws.Law`), checked.

    A law with no parameters or inputs, a parameter named as one of the model's own sites, or
    a prior of the law's own that a model's prior would be refused for are refused.

    Parameters
    ----------
    law : Law or str
        The law, or its registry name.

    Returns
    -------
    Law
        The law.

    Examples
    --------
    >>> from bayescale.specification import checked_law
    >>> checked_law("chinchilla").inputs
    ('N', 'D')
    """
    if isinstance(law, str):
        try:
            law = _laws.get(law)
        except ValueError as e:
            raise SpecificationError(str(e)) from None
    if not isinstance(law, Law):
        raise SpecificationError(f"law must be a bayescale Law or a name, got {law!r}.")
    if not law.parameters or not law.inputs:  # bs.laws.Law() itself: nothing to fit
        raise SpecificationError(
            f"The {type(law).__name__} law has no parameters or no inputs: give a law of "
            f"bayescale.laws ({', '.join(_laws.available())}), or subclass Law "
            "(docs/laws.md)."
        )
    clash = sorted({n for p in law.parameters for n in (p.name, p.natural)} & TAKEN_NAMES)
    if clash:  # a custom law's parameter named as the model's own sites
        raise SpecificationError(
            f"The {law.display_name} law has parameter(s) {clash}, a name the model keeps "
            f"for its own sites ({sorted(TAKEN_NAMES)}): rename them in the law."
        )
    for site, prior in law.priors.items():  # a law's own: refused as Model's are
        if site.startswith("log_"):
            refuse_positive_only(law.parameter(site), parse_prior(prior))
        else:
            parse_prior(prior)
    return law


def checked_noise(
    law: Law, likelihood: str, scale: str | None, marginal_run: Any
) -> tuple[str, bool | str]:
    """Check the observation model's options; return the scale and ``marginal_run``.

    The scale defaults by law: the logit of a share (an accuracy), else the log of the loss.

    Parameters
    ----------
    law : Law
        The law (a share, such as an accuracy, defaults to the logit scale).
    likelihood : str
        One of :data:`~bayescale.likelihood.LIKELIHOODS`.
    scale : str or None
        One of :data:`~bayescale.likelihood.SCALES`, or ``None`` for the law's default.
    marginal_run : bool or "auto"
        Whether to integrate the run effect out (needs the normal likelihood).

    Returns
    -------
    tuple
        ``(scale, marginal_run)``.

    Examples
    --------
    >>> from bayescale.specification import checked_noise
    >>> checked_noise(bs.laws.get("chinchilla"), "student_t", None, "auto")
    ('log', 'auto')
    """
    if likelihood not in LIKELIHOODS:
        raise SpecificationError(f"likelihood={likelihood!r}; choose one of {list(LIKELIHOODS)}.")
    if scale is None:
        scale = "logit" if law.share else "log"
    if scale not in SCALES:
        raise SpecificationError(f"scale={scale!r}; choose one of {list(SCALES)}.")
    marginal_run = _bool_or_auto(marginal_run, "marginal_run")
    if marginal_run is True and likelihood != "normal":
        raise SpecificationError(
            "marginal_run=True integrates the run effect out in closed form, which needs "
            f"likelihood='normal' (got {likelihood!r}); pass likelihood='normal' or "
            "marginal_run=False."
        )
    return scale, marginal_run


def checked_centering(centered: Any, centered_min_rows: Any) -> bool | str:
    """Check how group effects are parameterised; return ``centered``.

    Parameters
    ----------
    centered : bool or "auto"
        Centred, non-centred, or centred where every level has ``centered_min_rows`` rows.
    centered_min_rows : int
        The threshold of ``"auto"`` (refused beside a forced parameterisation).

    Returns
    -------
    bool or str
        ``True``, ``False`` or ``"auto"``.

    Examples
    --------
    >>> from bayescale.specification import checked_centering
    >>> checked_centering("auto", 3)
    'auto'
    """
    centered = _bool_or_auto(centered, "centered")
    try:
        arguments.count(centered_min_rows, "centered_min_rows", minimum=0)
    except ValueError as e:
        raise SpecificationError(str(e)) from None
    if centered != "auto" and centered_min_rows != CENTERED_MIN_ROWS:
        raise SpecificationError(
            f"centered_min_rows={centered_min_rows!r} is the threshold of centered='auto', "
            f"but centered={centered!r} parameterises every effect one way: leave "
            "centered_min_rows out, or pass centered='auto'."
        )
    return centered


def checked_discrepancy(discrepancy: str | None, step: Any, scale: Any) -> None:
    """Check the random-walk discrepancy's options (refused without the discrepancy).

    Parameters
    ----------
    discrepancy : str or None
        ``None`` or ``"random_walk"``.
    step : float
        The walk's step in log compute (``discrepancy_step``).
    scale : float
        The prior scale of its increments (``discrepancy_scale``).

    Examples
    --------
    >>> from bayescale.specification import checked_discrepancy
    >>> checked_discrepancy("random_walk", 0.2, 0.05)
    """
    discrepancy_step, discrepancy_scale = step, scale
    if discrepancy not in (None, "random_walk"):
        raise SpecificationError(f"discrepancy={discrepancy!r}; use None or 'random_walk'.")
    try:
        arguments.positive(discrepancy_step, "discrepancy_step")
        arguments.positive(discrepancy_scale, "discrepancy_scale")
    except ValueError as e:
        raise SpecificationError(str(e)) from None
    if discrepancy is None and (discrepancy_step, discrepancy_scale) != (
        DISCREPANCY_STEP,
        DISCREPANCY_SCALE,
    ):
        raise SpecificationError(
            "discrepancy_step= and discrepancy_scale= shape the random-walk discrepancy, "
            "which this model has none of: pass discrepancy='random_walk' too, or leave "
            "them out."
        )


def checked_extrapolation(extrapolation: str, scale: Any, prior: Any) -> str:
    """Check the extrapolation error's options; return its mode (``"none"`` where ``scale`` is 0).

    Parameters
    ----------
    extrapolation : str
        One of :data:`EXTRAPOLATION_MODES`.
    scale : float
        The fixed drift's scale (``extrapolation_scale``; only ``"fixed"`` reads another value
        than the default, and 0 turns the error off).
    prior : object
        The learned error's prior across ladders (``extrapolation_prior``; only ``"learned"``
        and ``"prior"`` read it).

    Returns
    -------
    str
        The mode.

    Examples
    --------
    >>> from bayescale.specification import checked_extrapolation
    >>> checked_extrapolation("fixed", 0.0, None)
    'none'
    """
    extrapolation_scale, extrapolation_prior = scale, prior
    try:
        arguments.non_negative(extrapolation_scale, "extrapolation_scale")
    except ValueError as e:
        raise SpecificationError(str(e)) from None
    if extrapolation not in EXTRAPOLATION_MODES:
        raise SpecificationError(
            f"extrapolation={extrapolation!r}; choose one of {list(EXTRAPOLATION_MODES)}."
        )
    off_by_scale = extrapolation_scale == 0 and extrapolation != "none"
    if extrapolation_scale == 0:
        extrapolation = "none"
    elif extrapolation_scale != DEFAULT_EXTRAPOLATION_SCALE and extrapolation == "none":
        raise SpecificationError(
            f"extrapolation_scale={extrapolation_scale!r} sets the fixed drift's scale, but "
            "extrapolation='none' adds no error: use extrapolation='fixed', or leave "
            "extrapolation_scale out."
        )
    elif extrapolation_scale != DEFAULT_EXTRAPOLATION_SCALE and extrapolation in (
        "learned",
        "prior",
    ):
        raise SpecificationError(
            f"extrapolation_scale={extrapolation_scale!r} sets the fixed drift's scale, "
            f"which extrapolation={extrapolation!r} does not use (a learned error's scales "
            "come from the ladder's record and extrapolation_prior=): use "
            "extrapolation='fixed', or leave extrapolation_scale out (0 turns the error off)."
        )
    if extrapolation_prior is not None and extrapolation not in ("learned", "prior"):
        said = (
            "extrapolation_scale=0 turns the error off"
            if off_by_scale
            else (f"extrapolation={extrapolation!r} learns none")
        )
        raise SpecificationError(
            f"extrapolation_prior= sets the prior of a learned error's scales, but {said}: "
            "use extrapolation='learned' or 'prior', or leave extrapolation_prior out.",
            command_line="--extrapolation-prior sets the prior of a learned error's scales, "
            f"but --extrapolation {extrapolation} learns none: use --extrapolation learned "
            "or prior, or leave --extrapolation-prior out.",
        )
    return extrapolation


def checked_flops(law: Law, flops_per_param_token: Any) -> None:
    """Check the FLOPs per parameter and token (refused for a law that never computes ``C``).

    Parameters
    ----------
    law : Law
        The law.
    flops_per_param_token : float
        ``k`` of ``C = k N D``.

    Examples
    --------
    >>> from bayescale.specification import checked_flops
    >>> checked_flops(bs.laws.get("chinchilla"), 6.0)
    """
    try:
        TrainingCost(flops_per_param_token)
    except ValueError as e:
        raise SpecificationError(str(e)) from None
    uses_compute = law.reads_compute
    rebuilt = _REBUILDING.get()  # a saved fit keeps what it was fitted with
    if not uses_compute and flops_per_param_token != DEFAULT_FLOPS_PER_PARAM_TOKEN and not rebuilt:
        never = (
            f"sets C = k N D, which the {law.display_name} law (of "
            f"{', '.join(law.inputs)}) never computes: leave it out."
        )
        raise SpecificationError(  # it would be stored, and change nothing
            f"flops_per_param_token={flops_per_param_token!r} {never}",
            command_line=f"--flops-per-param-token {never}",
        )


def checked_columns(law: Law, columns: Any, run: Any) -> dict[str, str]:
    """Check the column mapping and the run column; return the columns the law reads.

    Parameters
    ----------
    law : Law
        The law.
    columns : dict or None
        Column names by role (``{"loss": "val_loss"}``).
    run : str, bool or None
        The run column, ``False`` (every row its own run) or ``None`` (a ``run`` column if any).

    Returns
    -------
    dict
        ``{column: what it is to the law}`` for the loss and the law's inputs.

    Examples
    --------
    >>> from bayescale.specification import checked_columns
    >>> checked_columns(bs.laws.get("chinchilla"), {"loss": "val_loss"}, None)["val_loss"]
    'the loss'
    """
    if not (run is None or run is False or (isinstance(run, str) and run)):
        raise SpecificationError(
            f"run={run!r}; give the run column's name (run='run'), False (every row its own "
            "run) or None (find a 'run' column)."
        )
    mapped_run = (columns or {}).get("run") if isinstance(columns, Mapping) else None
    if mapped_run is not None and isinstance(run, str) and run != mapped_run:
        raise SpecificationError(  # run= wins, and the mapping was dropped without a word
            f"columns maps the role 'run' to {mapped_run!r} and run={run!r} says otherwise: "
            "name the run column once (run='<column>', or the columns mapping)."
        )
    require_mapping(columns, "columns", "{'loss': 'val_loss'}")
    uses_compute = law.reads_compute
    rebuilt = _REBUILDING.get()  # a saved fit keeps what it was fitted with
    unknown = sorted(set(columns or {}) - set(DEFAULT_COLUMNS), key=str)
    if unknown:  # refused where the model is made, not at its first table
        problem = f"roles are {list(DEFAULT_COLUMNS)}; group columns are named by the effects"
        unknown_roles = f"unknown column role(s) {unknown}"
        raise SpecificationError(
            f"columns maps {unknown_roles}: {problem} (effects={{'E': 'family'}}).",
            command_line=f"The columns map {unknown_roles} (--columns, or a preset's [columns]): "
            f"{problem} (--effects E=family).",
        )
    for role, column in (columns or {}).items():
        if not isinstance(column, str) or not column:
            raise SpecificationError(
                f"columns[{role!r}]={column!r}: give the column's name as text, e.g. "
                f"columns={{{role!r}: 'my_{role}'}}."
            )
    unread = [
        r
        for r in (columns or {})
        if r in INPUT_ROLES
        and r not in {INPUTS[k] for k in law.inputs}
        and not (r == "flops" and uses_compute)
    ]
    if unread and not rebuilt:  # mapped, and never read: a mistaken role, or the wrong law
        role = unread[0]
        reads = (
            f"the {law.display_name} law (of {', '.join(law.inputs)}) does not read: leave "
            "it out, or choose the law that reads it."
        )
        raise SpecificationError(
            f"columns maps the role {role!r}, which {reads}",
            command_line=f"--columns {role}=... maps a role {reads}",
        )
    read = columns_read(law, columns)
    mapped = (columns or {}).get("run") if run is None else None  # columns={"run": ...}
    if isinstance(mapped, str) and mapped in read:
        raise SpecificationError(
            f"columns={{'run': {mapped!r}}} names {read[mapped]}, which the law reads, not "
            "a run label: name the column that says which run each checkpoint belongs to.",
            command_line=f"--columns run={mapped} names {read[mapped]}, which the law reads, "
            "not a run label: name the column that says which run each checkpoint belongs "
            "to.",
        )
    if isinstance(run, str) and run in read:  # every row its own run, or one run per value
        fix = "name the column that says which run each checkpoint belongs to, or"
        raise SpecificationError(
            f"run={run!r} is {read[run]}, which the law reads, not a run label: {fix} run=False.",
            command_line=f"--run {run} is {read[run]}, which the law reads, not a run label: "
            f"{fix} --run none.",
        )
    return read


def require_mapping(value: Any, name: str, example: str) -> None:
    """Refuse an argument that should be a mapping (``None`` passes).

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, for the message.
    example : str
        A mapping to show.

    Examples
    --------
    >>> from bayescale.specification import require_mapping
    >>> require_mapping(["loss"], "columns", "{'loss': 'val_loss'}")
    Traceback (most recent call last):
    ...
    bayescale.errors.SpecificationError: columns=['loss']: give a mapping (a dict), e.g. ...
    """
    if value is not None and not isinstance(value, Mapping):
        raise SpecificationError(
            f"{name}={value!r}: give a mapping (a dict), e.g. {name}={example}."
        )
