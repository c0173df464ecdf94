"""Fitting: a table and a model in, a posterior out.

:func:`fit` is the one entry point of a single fit and :func:`fit_many` of many tables of one
model (as one vectorised computation); both serve any model that follows the
:class:`~bayescale.inference.Fittable` protocol (:class:`bayescale.Model`,
:class:`bayescale.TwoStepModel`): validate each table, draw with the engine
(:mod:`bayescale.inference`), let the model build its posterior, check the diagnostics.
:func:`laplace_many` is the fast MAP + Laplace path of a :class:`bayescale.Model`.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayescale import arguments
from bayescale.data import check_mapped_columns
from bayescale.defaults import MAX_TREE_DEPTH
from bayescale.diagnostics import (
    centred_run_funnel,
    diagnose,
    failed_checks,
    importance_ok,
    warn_if_needed,
)
from bayescale.errors import ConvergenceWarning, DataError, SpecificationError, with_prefix
from bayescale.inference import (
    Draws,
    Fittable,
    NutsSettings,
    laplace_draws,
    sample_importance,
    sample_nuts,
)
from bayescale.laws.base import Scale
from bayescale.sites import natural_draws

#: A NUTS fit that fails its diagnostics is drawn once more with this many times the warm-up
#: and draws (:func:`fit`'s ``retry``), where the longer fit's pointwise log likelihood holds
#: at most :data:`RETRY_MAX_ELEMENTS` values (chains x draws x rows).
RETRY_LENGTH = 2
RETRY_MAX_ELEMENTS = 50_000_000
#: A retry after divergent transitions takes smaller steps: NUTS's target acceptance rate is
#: raised to at least this (Stan's advice for divergences).
RETRY_TARGET_ACCEPT = 0.99
#: A retry after most draws stopped at the maximum tree depth (at least
#: :data:`RETRY_DEEPER_SHARE` of them: the typical transition was cut short, and the sampler
#: explores a long direction of the posterior by a random walk) may build trees this many
#: levels deeper, up to 15 (Stan's advice for tree-depth warnings). Only trajectories that need
#: the depth grow, so the cost follows the need. Where fewer draws hit it, the depth is not what
#: limits the draws: measured on the backtests' training curves, 0.05-9 % of the first try's
#: draws hit it on the fits that failed R-hat or ESS (C4, OSCAR, GPT-3), 94 % on OLMo-7B's;
#: C4's retries passed 5 of 5 at depth 10 and 3 of 5 at depth 12.
RETRY_TREE_DEPTH_STEP = 2
RETRY_DEEPER_SHARE = 0.5

#: Ways to draw a full posterior: NUTS; importance sampling from the Laplace approximation,
#: checked by PSIS; or importance sampling where its check passes and NUTS for the rest.
METHODS = ("nuts", "psis", "auto")


def _check_model(model: Any, call: str) -> None:
    """Refuse a first argument that is not a model (``fit(df, model)``, for one)."""
    if not callable(getattr(model, "prepare", None)):
        raise TypeError(
            f"{call}: the model comes first, got a {type(model).__name__}; e.g. "
            "bs.fit(bs.Model(), df)."
        )


#: Warm-up iterations per chain of :func:`fit_many`'s NUTS where not given (a batch is usually
#: a simulation study: shorter chains than :func:`fit`'s).
BATCH_WARMUP = 500


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method={method!r}; choose one of {list(METHODS)}.")


#: Options of :class:`~bayescale.inference.NutsSettings` that only NUTS reads: all but those
#: importance sampling reads (``chains``, ``draws``, ``seed``, ``chunk``) and ``warmup``, an
#: argument of :func:`fit` of its own (a new NUTS option is one of these without an edit here).
NUTS_ONLY_OPTIONS = tuple(
    f.name
    for f in fields(NutsSettings)
    if f.name not in ("chains", "draws", "warmup", "seed", "chunk")
)


def _refuse_nuts_options(
    method: str, options: dict[str, Any], where: str, warmup: int | None = None
) -> None:
    """Refuse NUTS options for a fit that runs no NUTS (they would be ignored).

    An option at its default changes nothing and passes (the command line sends its defaults).
    ``warmup`` is the caller's, ``None`` where not given: NUTS's warm-up, which importance
    sampling does not run either.
    """
    defaults = NutsSettings()
    given = [
        name
        for name in NUTS_ONLY_OPTIONS
        if name in options and options[name] != getattr(defaults, name)
    ]
    if warmup is not None:
        given.insert(0, "warmup")
    if method != "psis" or not given:
        return
    named = " and ".join(f"{name}=" for name in given)
    raise ValueError(
        f"{where}: {named} {'tune' if len(given) > 1 else 'tunes'} NUTS, which method='psis' "
        "does not run (it draws by importance sampling from the Laplace approximation): "
        "leave them out, or use method='auto' (NUTS where importance sampling fails its "
        "check) or method='nuts'."
    )


def _sample(
    model: Fittable,
    datas: list,
    settings: NutsSettings,
    method: str,
    progress: Callable[[str], None] | None = None,
) -> list[Draws]:
    """Every table's draws by ``method`` (see :data:`METHODS`; callers check it)."""
    if method == "nuts":
        return sample_nuts(model, datas, settings, progress)
    out = sample_importance(model, datas, settings, progress)
    if method == "psis":
        return out

    def khat(d: Draws) -> float:
        return float(d.stats["pareto_k"].flat[0])

    def passed(d: Draws) -> bool:
        return importance_ok(khat(d), float(d.stats["ess_importance"].flat[0]))

    failed = [i for i, d in enumerate(out) if not passed(d)]
    if failed:
        nuts = sample_nuts(model, [datas[i] for i in failed], settings, progress)
        for i, d in zip(failed, nuts, strict=True):
            # what sent the fit to NUTS, kept with its settings
            d.settings = {
                **d.settings,
                "psis_pareto_k": khat(out[i]),
                "psis_ess_importance": float(out[i].stats["ess_importance"].flat[0]),
            }
            d.timing = {**d.timing, **{f"psis_{k}": v for k, v in out[i].timing.items()}}
            out[i] = d
    return out


def _progress(show: bool) -> Callable[[str], None] | None:
    if not show:
        return None
    return lambda msg: print(f"bayescale: {msg} ...", file=sys.stderr, flush=True)


def fit[P](
    model: Fittable[P],
    df: pd.DataFrame,
    chains: int = 4,
    draws: int = 1000,
    warmup: int | None = None,
    seed: int = 0,
    progress_bar: bool = False,
    method: str = "nuts",
    retry: bool | None = None,
    **options: Any,
) -> P:
    """Fit ``model`` to the table ``df`` with NUTS (initialised at the MAP), or without it.

    Parameters
    ----------
    model : Model or TwoStepModel
        The model.
    df : pandas.DataFrame
        Long-format runs table, one row per run or checkpoint.
    chains, draws : int
        Chains and kept draws per chain.
    warmup : int, optional
        NUTS warm-up iterations per chain (default ``NutsSettings.warmup``, 1000); refused with
        ``method="psis"``, which runs no warm-up.
    seed : int
        Random seed, from 0 to :data:`bayescale.arguments.MAX_SEED` (2**62; the command line
        takes up to 2**32 - 1); the same seed, data and options give the same
        draws.
    progress_bar : bool
        Print each phase (MAP, sampling, log likelihood) as it starts.
    method : {"nuts", "psis", "auto"}
        ``"nuts"``: NUTS. ``"psis"``: adaptive importance sampling from the MAP's Laplace
        approximation (:mod:`bayescale.inference.importance`), ``chains x draws`` equally
        weighted draws checked by the weights' Pareto k-hat (at most 0.7) and effective sample
        size (at least 400), which the diagnostics report instead of R-hat. ``"auto"``:
        importance sampling, and NUTS when its check fails (docs/models.md measures both
        against NUTS).
    retry : bool or None
        When the NUTS draws fail their diagnostics, draw once more with :data:`RETRY_LENGTH`
        times the warm-up and draws and the next seed, and return that fit (its ``settings``
        hold ``retried_after``, the first try's failed checks). ``None`` (default) does so
        for fits drawn at the default length or longer (``draws`` and ``warmup`` at least
        1000): shorter chains were asked for speed. Skipped where the longer fit's pointwise
        log likelihood would exceed :data:`RETRY_MAX_ELEMENTS` values. Where the first try
        shows the funnel of centred run effects (the per-run scale mixing worst) and the run
        is the only centred term, the retry samples them non-centred
        (``retried_non_centred`` in ``settings``; the same model, other coordinates), and
        where it had divergent transitions, the retry's ``target_accept`` is at least
        :data:`RETRY_TARGET_ACCEPT` (0.99); where at least half the draws hit the maximum tree
        depth, the retry's ``max_tree_depth`` is :data:`RETRY_TREE_DEPTH_STEP` (2) deeper, up
        to 15 (``retried_deeper`` in ``settings``). Hierarchies with a
        few levels of a group fail R-hat or ESS by a little on some seeds, and a longer fit
        passes (``docs/models.md``).
    **options
        Sampler options of :class:`~bayescale.inference.NutsSettings` (``target_accept``,
        ``max_tree_depth``, ``dense_mass``, ``init``, ``init_mass``, ``chain_method``, ...).

    Returns
    -------
    ScalingPosterior or TwoStepPosterior
        The posterior; a :class:`~bayescale.errors.ConvergenceWarning` says when it failed
        its diagnostics (after the retry).

    Raises
    ------
    ValueError
        When ``method="psis"`` is given ``warmup``, ``retry=True`` or a NUTS option away from
        its default (importance sampling runs no NUTS: they would be ignored), or an
        argument is not what it takes.
    DataError
        When the table cannot be fitted (a missing column, NaN, too few rows, ...).

    Examples
    --------
    >>> import bayescale as bs
    >>> post = bs.fit(bs.Model("chinchilla"), runs)               # doctest: +SKIP
    >>> post = bs.Model("chinchilla").fit(runs)                   # the same  # doctest: +SKIP
    """
    _check_method(method)
    _check_model(model, "fit(model, df)")
    _refuse_nuts_options(method, options, "fit", warmup=warmup)
    if retry not in (None, True, False):
        raise ValueError(f"retry={retry!r}; use None (auto), True or False.")
    if retry is True and method == "psis":
        raise ValueError(
            "retry=True draws a failed NUTS fit again; method='psis' runs no NUTS (its draws "
            "are importance-sampled): leave retry out, or use method='auto' or 'nuts'."
        )
    warmup = NutsSettings.warmup if warmup is None else warmup
    settings = NutsSettings.from_options(
        chains=chains, draws=draws, warmup=warmup, seed=seed, **options
    )
    progress = _progress(arguments.flag(progress_bar, "progress_bar"))
    if retry is None:
        default = NutsSettings()
        retry = settings.draws >= default.draws and settings.warmup >= default.warmup
    _check_mapped_columns(model, df)
    data = model.prepare(df)
    (result,) = _sample(model, [data], settings, method, progress)
    post = model.posterior_from(data, result)
    table = diagnose(post, warn=False)
    if retry and _retry_pays(table, settings, data.n):
        post = _retry(model, data, settings, table, result, progress)
        table = diagnose(post, warn=False)
    warn_if_needed(table, stacklevel=2)
    return post


def _check_mapped_columns(model: Any, df: pd.DataFrame) -> None:
    """Refuse a table without a column the model (or either step of a two-step one) maps."""
    for part in (model.loss, model.link) if hasattr(model, "link") else (model,):
        check_mapped_columns(df, part.columns, part.law.inputs)


def _retry_pays(table: pd.DataFrame, settings: NutsSettings, rows: int) -> bool:
    """Whether a fit's NUTS draws failed and a longer fit's log likelihood fits the cap."""
    longer = RETRY_LENGTH * settings.draws
    return (
        table.attrs.get("method") == "nuts"
        and not table.attrs["ok"]
        and settings.chains * longer * rows <= RETRY_MAX_ELEMENTS
    )


def _retry[P](
    model: Fittable[P],
    data: Any,
    settings: NutsSettings,
    table: pd.DataFrame,
    first: Draws,
    progress: Callable[[str], None] | None,
) -> P:
    """Draw a NUTS fit :data:`RETRY_LENGTH` times as long with the next seed, saying why.

    Where the first try shows the funnel of centred run effects (:func:`centred_run_funnel`),
    the retry samples them non-centred (the model's ``non_centred_run``; the same model); where
    it had divergent transitions, the retry's target acceptance rate is at least
    :data:`RETRY_TARGET_ACCEPT`; where most draws hit the maximum tree depth
    (:data:`RETRY_DEEPER_SHARE`), the retry's trees may grow :data:`RETRY_TREE_DEPTH_STEP`
    levels deeper.
    """
    switch = getattr(model, "non_centred_run", None)
    non_centred = switch(data) if switch is not None and centred_run_funnel(table) else None
    if non_centred is not None:
        model = non_centred
    longer = settings.with_(
        draws=RETRY_LENGTH * settings.draws,
        warmup=RETRY_LENGTH * settings.warmup,
        seed=arguments.derived_seed(settings.seed, 1),
    )
    if table.attrs["divergences"] > 0 and settings.target_accept < RETRY_TARGET_ACCEPT:
        longer = longer.with_(target_accept=RETRY_TARGET_ACCEPT)
    hits = table.attrs.get("max_treedepth_hits", 0)
    if hits >= RETRY_DEEPER_SHARE * settings.chains * settings.draws:
        deeper = min(settings.max_tree_depth + RETRY_TREE_DEPTH_STEP, MAX_TREE_DEPTH)
        longer = longer.with_(max_tree_depth=deeper)
    failed = failed_checks(table) or "the diagnostics"
    if progress is not None:
        how = ", run effects non-centred" if non_centred is not None else ""
        if longer.target_accept != settings.target_accept:
            how += f", target_accept {longer.target_accept:g}"
        if longer.max_tree_depth != settings.max_tree_depth:
            how += f", max_tree_depth {longer.max_tree_depth}"
        progress(f"the fit failed its diagnostics ({failed}); drawing again, twice as long{how}")
    (result,) = _sample(model, [data], longer, "nuts", progress)
    # what sent a method="auto" fit to NUTS stays on record (psis_pareto_k, ...)
    psis = {k: v for k, v in first.settings.items() if k.startswith("psis_")}
    result.settings = {**result.settings, **psis, "retried_after": failed}
    if non_centred is not None:
        result.settings["retried_non_centred"] = True
    if longer.max_tree_depth != settings.max_tree_depth:
        result.settings["retried_deeper"] = True
    result.timing = {**result.timing, "first_try": float(sum(first.timing.values()))}
    return model.posterior_from(data, result)


#: Target acceptance probability of :func:`fit_many`'s refits of failed fits.
REFIT_TARGET_ACCEPT = 0.99


def fit_many[P](
    model: Fittable[P],
    tables: Sequence[pd.DataFrame],
    chains: int = 2,
    draws: int = 500,
    warmup: int | None = None,
    seed: int = 0,
    warn: bool = False,
    refit_failed: bool = False,
    refit_target_accept: float | None = None,
    method: str = "nuts",
    **options: Any,
) -> list[P]:
    """Full posteriors of many tables of one model, as one vectorised computation.

    Every chain of every fit is a lane of :func:`bayescale.inference.sample_nuts`; chains start
    around each fit's MAP (with its Laplace covariance as starting mass, or as coordinates
    from 200 rows, for models without group scales; see ``init_mass``). Each fit comes back as
    its own posterior (diagnostics, LOO and prediction work as for a single fit).

    Parameters
    ----------
    model : Model
        The model (the same for every table).
    tables : sequence of pandas.DataFrame
        The tables: lengths may differ; every other part of the structure (the number of
        levels of each group term and of runs) must match.
    chains, draws, warmup, seed
        As for :func:`fit` (fewer by default: a batch is usually a simulation study; warm-up
        :data:`BATCH_WARMUP`, 500, where not given). Each table's random stream is split from
        ``seed`` by its position among ``tables``: the same table elsewhere in the list, in a
        batch of another length, or fitted alone gets other draws (the same posterior within
        Monte Carlo error, not the same numbers).
    warn : bool
        Warn for every fit that fails its diagnostics (off by default: check
        :func:`diagnostics_table` instead of thousands of warnings).
    refit_failed : bool
        Fit the tables whose posteriors fail their diagnostics once more, as one batch with
        ``target_accept=refit_target_accept`` and the next seed, and return those refits in
        their place.
    refit_target_accept : float, optional
        Target acceptance probability of the refit (default :data:`REFIT_TARGET_ACCEPT`,
        0.99); only with ``refit_failed``.
    method : {"nuts", "psis", "auto"}
        As for :func:`fit`: with ``"auto"`` every fit is importance-sampled from its Laplace
        approximation and only those whose Pareto k-hat or importance ESS fail go to NUTS (one
        batch); their settings record ``psis_pareto_k`` and ``psis_ess_importance``. With
        ``refit_failed``, fits that still fail (NUTS or PSIS) are refitted by NUTS.
    **options
        Sampler options of :class:`~bayescale.inference.NutsSettings`.

    Returns
    -------
    list of ScalingPosterior
        One posterior per table, in the order of ``tables``.

    Raises
    ------
    TypeError
        When ``tables`` is one table, a dict or text rather than a list of tables.
    ValueError
        When ``tables`` is empty, or ``method="psis"`` is given ``warmup`` or NUTS options
        without ``refit_failed`` (whose refits are NUTS).
    DataError
        When a table cannot be fitted (the message starts with its position).

    Examples
    --------
    Two simulated ladders, importance-sampled (the fast path of a simulation study):

    >>> ladders = [bs.simulate_ladder(seed=s) for s in (1, 2)]
    >>> fits = bs.fit_many(bs.Model(), ladders, chains=2, draws=1000, method="psis")
    >>> len(fits), type(fits[0]).__name__
    (2, 'ScalingPosterior')
    >>> bs.diagnostics_table(fits)[["method", "ok"]]
      method    ok
    0   psis  True
    1   psis  True

    With NUTS (the default) and a second try, at a higher ``target_accept``, for the fits that
    fail (the first call compiles for a few seconds):

    >>> fits = bs.fit_many(bs.Model(), ladders, refit_failed=True)  # doctest: +SKIP
    """
    _check_method(method)
    _check_model(model, "fit_many(model, tables)")
    refit_failed = arguments.flag(refit_failed, "refit_failed")
    # the refits of failed fits are NUTS, which reads them (but target_accept is
    # refit_target_accept's there)
    _refuse_nuts_options(
        method,
        {k: v for k, v in options.items() if k == "target_accept" or not refit_failed},
        "fit_many",
        warmup=None if refit_failed else warmup,  # the refits of failed fits are NUTS
    )
    warmup = BATCH_WARMUP if warmup is None else warmup
    settings = NutsSettings.from_options(
        chains=chains, draws=draws, warmup=warmup, seed=seed, **options
    )
    warn = arguments.flag(warn, "warn")
    if refit_target_accept is not None and not refit_failed:  # no refit to set it for
        raise ValueError(
            f"fit_many: refit_target_accept={refit_target_accept!r} sets the refits of failed "
            "fits: pass refit_failed=True too, or leave it out."
        )
    refit_target_accept = arguments.probability(
        REFIT_TARGET_ACCEPT if refit_target_accept is None else refit_target_accept,
        "refit_target_accept",
    )
    datas = _prepare_tables(model, tables, "fit_many")
    out = _posteriors(model, datas, settings, method)
    if not (refit_failed or warn):
        return out
    checks = [diagnose(post, warn=False) for post in out]
    failed = [i for i, table in enumerate(checks) if not table.attrs["ok"]]
    if refit_failed and failed:
        next_seed = arguments.derived_seed(seed, 1)
        again = settings.with_(target_accept=refit_target_accept, seed=next_seed)
        refits = _posteriors(model, [datas[i] for i in failed], again, "nuts")
        for i, post in zip(failed, refits, strict=True):
            out[i] = post
            checks[i] = diagnose(post, warn=False)
    if warn:
        for table in checks:
            warn_if_needed(table, stacklevel=2)
    return out


def _posteriors[P](model: Fittable[P], datas: list, settings: NutsSettings, method: str) -> list[P]:
    results = _sample(model, datas, settings, method)
    return [model.posterior_from(d, r) for d, r in zip(datas, results, strict=True)]


@dataclass
class LaplaceResult:
    """MAP and Laplace approximation of every fit of :func:`laplace_many`.

    ``tree`` is an :class:`xarray.DataTree` with groups ``posterior`` (natural and sampled
    parameters, dims ``(fit, draw)``) and ``map`` (the MAP of every natural parameter, dim
    ``fit``, plus ``converged``: the optimiser converged and the Hessian is positive definite).

    Parameters
    ----------
    tree : xarray.DataTree
        The draws and MAPs of every fit, as above.
    timing : dict
        Wall seconds per phase of the batch.

    Examples
    --------
    >>> ladders = [bs.simulate_ladder(seed=s) for s in (1, 2, 3)]
    >>> result = bs.laplace_many(bs.Model(), ladders, draws=500)
    >>> result.tree["posterior"]["E"].dims
    ('fit', 'draw')
    >>> table = result.summary()  # one row per ladder
    >>> table["converged"].tolist()
    [True, True, True]
    >>> table["alpha"].round(2).tolist()  # each ladder's median alpha (simulated: 0.34)
    [0.35, 0.35, 0.32]
    """

    tree: xr.DataTree
    timing: dict[str, float]

    def summary(self) -> pd.DataFrame:
        """Median and 5 %/95 % quantiles of every natural parameter, one row per fit.

        Examples
        --------
        >>> ladders = [bs.simulate_ladder(seed=s) for s in (1, 2, 3)]
        >>> table = bs.laplace_many(bs.Model(), ladders, draws=500).summary()
        >>> table.shape, table.columns.tolist()[:4]
        ((3, 16), ['E', 'E_q05', 'E_q95', 'A'])
        >>> table[["alpha_q05", "alpha", "alpha_q95"]].round(2).values.tolist()[0]  # 1st ladder
        [0.31, 0.35, 0.4]
        """
        post = self.tree["posterior"].to_dataset()
        cols = {}
        for k in self.tree.attrs["natural_names"]:
            v = post[k].values
            cols[k] = np.median(v, axis=1)
            cols[f"{k}_q05"], cols[f"{k}_q95"] = np.quantile(v, [0.05, 0.95], axis=1)
        table = pd.DataFrame(cols)
        table["converged"] = self.tree["map"]["converged"].values
        return table


def _prepare_tables(model: Any, tables: Any, call: str) -> list:
    """Validate a batch's tables, each as :func:`fit` would; a refused one is named by position.

    ``model`` is the model of every table, or a list of one per table.

    Raises
    ------
    TypeError
        When ``tables`` is one table, a dict or text rather than a list of tables.
    DataError
        When a table fails its checks (the message starts with its position).
    """
    if isinstance(tables, pd.DataFrame | Mapping | str) or not isinstance(tables, Iterable):
        raise TypeError(
            f"{call} takes a list of tables, got a {type(tables).__name__}; for one table use "
            f"fit(model, df), or pass [df] (for a dict of tables, list(tables.values()))."
        )
    tables = list(tables)
    if not tables:
        raise ValueError(f"{call}: tables is empty; give at least one table to fit.")
    models = model if isinstance(model, list) else [model] * len(tables)
    if len(models) != len(tables):
        raise ValueError(f"{call}: {len(models)} models for {len(tables)} tables.")
    datas = []
    for i, (m, table) in enumerate(zip(models, tables, strict=True)):
        try:
            _check_mapped_columns(m, table)
            datas.append(m.prepare(table))
        except DataError as e:
            raise with_prefix(e, f"{call}: table {i} of {len(tables)}: ") from None
    return datas


def laplace_many(
    model: Any,
    tables: Sequence[pd.DataFrame],
    draws: int = 1000,
    seed: int = 0,
    maxiter: int = 60,
) -> LaplaceResult:
    """Fit every table by MAP plus a Laplace approximation, as one vectorised computation.

    Parameters
    ----------
    model : Model
        The model (the same for every table).
    tables : sequence of pandas.DataFrame
        The tables; lengths may differ.
    draws : int
        Draws from each Laplace approximation (Gaussian in NumPyro's unconstrained space,
        mapped to the sampled and natural parameters).
    seed : int
        Random seed.
    maxiter : int
        Iterations of the MAP search.

    Returns
    -------
    LaplaceResult
        The draws and the MAP of every fit.

    Examples
    --------
    >>> ladders = [bs.simulate_ladder(seed=s) for s in (1, 2, 3)]
    >>> result = bs.laplace_many(bs.Model(), ladders, draws=500)
    >>> result.tree["map"]["converged"].values.tolist()
    [True, True, True]
    >>> result.summary().shape  # 3 ladders; median, q05 and q95 of E, A, B, alpha, beta
    (3, 16)
    """
    if not hasattr(model, "law") or not hasattr(model, "effects"):
        raise SpecificationError(
            f"laplace_many fits a bayescale.Model (one law and its effects), not a "
            f"{type(model).__name__}; use bayescale.fit_many for its full posteriors."
        )
    draws = arguments.count(draws, "draws")
    seed = arguments.seed(seed)
    maxiter = arguments.count(maxiter, "maxiter")
    datas = _prepare_tables(model, tables, "laplace_many")
    res = laplace_draws(model, datas, draws=draws, seed=seed, maxiter=maxiter)
    # Every fit's own scale, shaped (fit, 1) to broadcast against (fit, draw) draws.
    scales = Scale(
        log_ref={
            k: np.array([d.scale.log_ref[k] for d in datas])[:, None]
            for k in datas[0].scale.log_ref
        },
        loss=np.array([d.scale.loss for d in datas])[:, None],
        loss_min=np.array([d.scale.loss_min for d in datas])[:, None],
        x_min={
            k: np.array([d.scale.x_min[k] for d in datas])[:, None] for k in datas[0].scale.x_min
        },
    )
    natural = natural_draws(model.law, model.effects, res.samples, scales)
    at_map = natural_draws(
        model.law, model.effects, {k: v[:, None] for k, v in res.at_map.items()}, scales
    )
    posterior = {k: (("fit", "draw"), np.asarray(v)) for k, v in natural.items()}
    for k, v in res.samples.items():
        if v.ndim == 2 and k not in posterior:
            posterior[k] = (("fit", "draw"), v)
    map_ds = {k: ("fit", np.asarray(v)[:, 0]) for k, v in at_map.items()}
    map_ds["converged"] = ("fit", res.laplace.converged & np.isfinite(res.laplace.potential))
    map_ds["potential"] = ("fit", res.laplace.potential)
    map_ds["n_rows"] = ("fit", np.array([d.n for d in datas]))
    coords = {"fit": np.arange(len(datas)), "draw": np.arange(draws)}
    tree = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(posterior, coords=coords),
            "map": xr.Dataset(map_ds, coords={"fit": coords["fit"]}),
        }
    )
    tree.attrs["natural_names"] = list(model.law.natural_names)
    tree.attrs["method"] = "MAP + Laplace (batched)"
    failed = np.flatnonzero(~tree["map"]["converged"].values)
    if failed.size:
        warnings.warn(
            f"laplace_many: the MAP of {failed.size} of {len(datas)} table(s) "
            f"({failed[:10].tolist()}) did not converge in maxiter={maxiter} iterations, or its "
            "Hessian is not positive definite: their draws do not describe a posterior (their "
            "'converged' is False in tree['map']). Raise maxiter, or fit them with fit_many.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return LaplaceResult(tree, res.timing)


def diagnostics_table(posteriors: Sequence[Any]) -> pd.DataFrame:
    """One row per fit: how it was drawn, its checks, and whether they pass.

    Columns ``method`` (``"nuts"`` or ``"psis"``), max R-hat, min bulk and tail ESS,
    divergences, tree-depth hits, ``pareto_k`` (importance-sampled fits; NaN for NUTS) and
    ``ok``.

    Parameters
    ----------
    posteriors : sequence of ScalingPosterior
        The fits, e.g. of :func:`fit_many`.

    Returns
    -------
    pandas.DataFrame
        One row per fit, in the order given.

    Examples
    --------
    >>> table = bs.diagnostics_table([post, family_post])
    >>> table.columns.tolist()
    ['method', 'rhat_max', 'ess_bulk_min', 'ess_tail_min', 'divergences', 'max_treedepth_hits',
     'pareto_k', 'ok']
    >>> table["method"].tolist(), table["ok"].tolist()
    (['nuts', 'nuts'], [True, True])
    """
    if hasattr(posteriors, "draws_tree") or isinstance(posteriors, str | bytes):
        raise TypeError(
            "diagnostics_table takes a list of fits (e.g. what fit_many returns); for one fit, "
            "pass [post], or read post.diagnostics()."
        )
    if isinstance(posteriors, Mapping):  # its keys are names, not fits
        raise TypeError(
            "diagnostics_table takes a list of fits; for a dict of them by name, pass "
            "list(fits.values())."
        )
    if not isinstance(posteriors, Iterable):
        raise TypeError(
            f"diagnostics_table takes a list of fits (e.g. what fit_many returns), got a "
            f"{type(posteriors).__name__}"
            + (
                " (laplace_many's approximations have no draws to diagnose: read "
                "result.summary()['converged'])."
                if isinstance(posteriors, LaplaceResult)
                else "."
            )
        )
    keys = (
        "method",
        "rhat_max",
        "ess_bulk_min",
        "ess_tail_min",
        "divergences",
        "max_treedepth_hits",
        "pareto_k",
        "ok",
    )
    rows = []
    for post in posteriors:
        a = diagnose(post, warn=False).attrs
        rows.append({k: a.get(k, np.nan) for k in keys})
    return pd.DataFrame(rows, columns=list(keys))


__all__ = [
    "BATCH_WARMUP",
    "METHODS",
    "LaplaceResult",
    "diagnostics_table",
    "fit",
    "fit_many",
    "laplace_many",
]
