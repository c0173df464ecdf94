"""Law comparison: PSIS-LOO, stacking weights, averaged predictions, likelihood sensitivity.

A comparison table across fits of the same data, stacking weights, predictions averaged by
those weights, and a sensitivity view of one model across likelihoods.

LOO is computed by :func:`bayescale.loo` (``arviz_stats.loo`` on the loss scale) and the table
and weights by :func:`arviz_stats.compare`, so laws fitted on different scales compare on the
same data.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import arviz_stats
import numpy as np
import pandas as pd
import xarray as xr

from bayescale import arguments
from bayescale import laws as _laws
from bayescale.errors import (
    ConvergenceWarning,
    DataError,
    HeavyTailWarning,
    SamplerEfficiencyWarning,
    SpecificationError,
    with_prefix,
)
from bayescale.frontier import frontier
from bayescale.laws.base import INPUT_OF_ROLE, INPUTS, Law
from bayescale.loo import loo
from bayescale.model import Model
from bayescale.posterior import ScalingPosterior

#: How many standard errors of the LOO difference make a more complex candidate worth it.
SE_RULE = 2.0
#: Pareto k above which a fit's PSIS-LOO estimate is not reliable (Vehtari et al. 2024).
PARETO_K_OK = 0.7
#: Laws of ``N`` and ``D`` that :func:`choose_law` tries beside the model's own: Hoffmann et
#: al.'s, Kaplan et al.'s (no irreducible loss, the two inputs interacting) and Farseer's (Li et
#: al. 2025: every term's exponent and scale varies with size).
LAW_CANDIDATES = ("chinchilla", "kaplan", "farseer")


def _same_data(posts: Mapping[str, ScalingPosterior]) -> None:
    ys = {k: np.asarray(p.draws_tree["observed_data"]["loss"].values) for k, p in posts.items()}
    first_name, first = next(iter(ys.items()))
    for name, y in ys.items():
        if y.shape == first.shape and np.allclose(np.sort(y), np.sort(first)):
            if not np.allclose(y, first):
                raise DataError(
                    f"compare: fits {first_name!r} and {name!r} were fitted to the same losses "
                    "in another row order; LOO compares the fits row by row, so fit every "
                    "model on the table in one order (e.g. sort it first)."
                )
            continue
        if y.shape != first.shape or not np.allclose(y, first):
            differ = (
                f"{first.size} rows against {y.size}"
                if y.shape != first.shape
                else f"{y.size} rows each, with different losses"
            )
            raise DataError(
                f"compare: fits {first_name!r} and {name!r} were fitted to different data "
                f"({differ}); LOO compares models of the same observations."
            )


def _distinct_names(posteriors: Mapping[Any, object], call: str) -> None:
    """Refuse fit names that differ but read the same as text (a table's index holds text)."""
    seen: dict[str, Any] = {}
    for name in posteriors:
        if str(name) in seen:
            raise ValueError(
                f"{call}: the fits {seen[str(name)]!r} and {name!r} read the same as text "
                f"({str(name)!r}), and the table names each fit by its text: give them names "
                "that differ as text."
            )
        seen[str(name)] = name


#: The weighting methods of :func:`compare` (``arviz_stats.compare``'s).
COMPARE_METHODS = ("stacking", "bb-pseudo-bma", "pseudo-bma")


def compare(posteriors: Mapping[str, ScalingPosterior], method: str = "stacking") -> pd.DataFrame:
    """Compare fits of the same data by PSIS-LOO (``arviz_stats.compare``).

    Parameters
    ----------
    posteriors : dict
        ``{name: ScalingPosterior}``, every fit on the same rows.
    method : {"stacking", "bb-pseudo-bma", "pseudo-bma"}
        How the weights are computed (stacking of predictive distributions by default; Yao et
        al. 2018).

    Returns
    -------
    pandas.DataFrame
        One row per fit, best first: ``rank``, ``elpd``, ``p``, ``elpd_diff``, ``weight``,
        ``se``, ``dse``, ``warning`` (Pareto k > 0.7 somewhere) and the highest Pareto ``k``
        (``pareto_k_max``; ArviZ's warning about a high k is reported here, not raised).

    Raises
    ------
    DataError
        When the fits were not fitted to the same losses.
    ValueError
        When ``method`` is not one of :data:`COMPARE_METHODS` (checked before any LOO), or
        fewer than two fits are given.

    Examples
    --------
    The Chinchilla law against Kaplan's on the same (Chinchilla-simulated) runs; the Kaplan fit
    by importance sampling to keep it quick:

    >>> kaplan = bs.fit(bs.Model("kaplan"), runs, method="psis", seed=0)
    >>> table = bs.compare.compare({"chinchilla": post, "kaplan": kaplan})
    >>> table.index.tolist(), table["weight"].round(2).tolist()
    (['chinchilla', 'kaplan'], [1.0, 0.0])
    >>> bool(table.loc["kaplan", "elpd_diff"] < -2 * table.loc["kaplan", "dse"])
    True
    """
    if not isinstance(posteriors, Mapping):
        raise TypeError(
            f"compare takes a dict of named fits, got a {type(posteriors).__name__}; e.g. "
            "bs.compare.compare({'chinchilla': post, 'kaplan': kaplan})."
        )
    if len(posteriors) < 2:
        raise ValueError("compare needs at least two fits.")
    _distinct_names(posteriors, "compare")
    if not isinstance(method, str) or method.lower() not in COMPARE_METHODS:  # before any LOO
        raise ValueError(f"method={method!r}; choose one of {list(COMPARE_METHODS)}.")
    for name, post in posteriors.items():
        if not hasattr(post, "draws_tree"):
            raise TypeError(
                f"compare: {name!r} is a {type(post).__name__}, not a fit; give "
                "{name: bs.fit(...)} for every fit."
            )
        if hasattr(post, "loss_posterior") and hasattr(post, "link_posterior"):
            raise TypeError(
                f"compare: {name!r} is a two-step fit; compare one step of it with fits of the "
                f"same column: {{{name!r}: joint.loss_posterior, ...}} (or joint.link_posterior)."
            )
    _same_data(posteriors)
    with warnings.catch_warnings():
        # Reported per fit in the table (``warning``, ``pareto_k_max``) instead.
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        elpds = {}
        for name, post in posteriors.items():
            try:
                elpds[name] = loo(post)
            except SpecificationError as e:  # which of the fits cannot be compared
                raise with_prefix(e, f"compare: fit {name!r}: ") from None
    # Unrounded (arviz_stats rounds ELPD to its SE's scale by default): decisions read it.
    table = arviz_stats.compare(elpds, method=method, round_to="none")
    table["pareto_k_max"] = [float(np.max(elpds[n].pareto_k)) for n in table.index]
    return table


def averaged_predict(
    posteriors: Mapping[str, ScalingPosterior],
    weights: Mapping[str, float] | pd.Series | pd.DataFrame,
    n_draws: int = 4000,
    rng_seed: int = 0,
    **values: Any,
) -> xr.DataArray:
    """Predictions averaged over fits: a mixture of their posterior predictives.

    Parameters
    ----------
    posteriors : dict
        ``{name: ScalingPosterior}``.
    weights : dict, Series or the table of :func:`compare`
        Weight of each fit (normalised here); a :func:`compare` table's ``weight`` column.
    n_draws : int
        Draws in the mixture; fit ``k`` contributes ``round(w_k n_draws)`` of them, taken from
        its draws without replacement (with replacement if it has fewer).
    rng_seed : int
        Seed of the draws and of each fit's predictive noise.
    **values
        Inputs and groups as in :meth:`ScalingPosterior.predict` (``kind=`` too).

    Returns
    -------
    xarray.DataArray
        Dims ``(sample, point)``; ``attrs["weights"]`` the normalised weights.

    Raises
    ------
    ValueError
        When ``posteriors`` is empty, a weight names no fit, a fit has no weight (give it 0 to
        leave it out: one is never dropped without a word), or the weights sum to 0.

    Examples
    --------
    Student-t and normal noise, weighted by stacking, at a size and data inside the ladder:

    >>> from bayescale.compare import averaged_predict
    >>> normal = bs.fit(bs.Model(likelihood="normal"), runs, method="psis", seed=0)
    >>> fits = {"student_t": post, "normal": normal}
    >>> weights = bs.compare.compare(fits)
    >>> pred = averaged_predict(fits, weights, N=1e9, D=1e10)
    >>> pred.dims, pred.shape
    (('sample', 'point'), (4000, 1))
    >>> round(sum(pred.attrs["weights"].values()), 6), round(float(pred.median()), 1)
    (1.0, 2.7)
    """
    if not isinstance(posteriors, Mapping):
        raise TypeError(
            f"posteriors must be a dict of fits by name (as compare takes), got a "
            f"{type(posteriors).__name__}."
        )
    for name, post in posteriors.items():
        if not isinstance(post, ScalingPosterior):
            raise TypeError(
                f"posteriors[{name!r}] is a {type(post).__name__}, not a fit of one law (the "
                "posterior bs.fit returns)."
            )
    if isinstance(weights, pd.DataFrame):
        if "weight" not in weights.columns:
            raise ValueError(
                f"weights is a table without a 'weight' column ({list(weights.columns)}): pass "
                "the table compare returns, or a dict of weights by fit."
            )
        weights = weights["weight"]
    if not isinstance(weights, Mapping | pd.Series):
        raise TypeError(
            f"weights must be a dict of weights by fit name, a Series or the table compare "
            f"returns, got a {type(weights).__name__}."
        )
    if not posteriors:
        raise ValueError("posteriors is empty: give the fits to average, {name: fit}.")
    _distinct_names(posteriors, "averaged_predict")
    by_text = {str(k): k for k in posteriors}  # a compare table's index holds the names as text
    w = {
        by_text.get(str(k), k): arguments.non_negative(v, f"weights[{k!r}]")
        for k, v in dict(weights).items()
    }
    missing = set(w) - set(posteriors)
    if missing:
        raise ValueError(
            f"weights name fits {sorted(missing, key=str)} that are not in posteriors."
        )
    unweighted = [k for k in posteriors if k not in w]
    if unweighted:  # left out of the mixture without a word
        raise ValueError(
            f"posteriors has fits {unweighted} without a weight: give every fit one (0 leaves "
            "it out of the mixture), or pass only the fits to average."
        )
    w = {k: v for k, v in w.items() if v > 0}
    total = sum(w.values())
    if total <= 0:
        raise ValueError("weights must have a positive sum.")
    n_draws = arguments.count(n_draws, "n_draws")
    rng = np.random.default_rng(arguments.seed(rng_seed, "rng_seed"))
    parts = []
    # each fit's share of the draws, rounded so that they add up to n_draws (largest remainder)
    exact = {k: v / total * n_draws for k, v in sorted(w.items(), key=lambda kv: str(kv[0]))}
    counts = {k: int(np.floor(x)) for k, x in exact.items()}
    by_remainder = sorted(exact, key=lambda k: counts[k] - exact[k])
    for name in by_remainder[: n_draws - sum(counts.values())]:
        counts[name] += 1
    for i, name in enumerate(sorted(w, key=str)):
        k = counts[name]
        if k == 0:
            continue
        seed_k = arguments.derived_seed(rng_seed, i)
        post = posteriors[name]  # each fit gets the inputs its law reads (laws may differ)
        reads = post.predict_inputs()
        own = {
            k: v
            for k, v in values.items()
            if INPUT_OF_ROLE.get(k, k) in reads or INPUT_OF_ROLE.get(k, k) not in INPUTS
        }
        pred = post.predict(rng_seed=seed_k, **own)
        flat = pred.stack(sample=("chain", "draw")).transpose("sample", "point").values
        idx = rng.choice(flat.shape[0], size=k, replace=k > flat.shape[0])
        parts.append(flat[idx])
    out = np.concatenate(parts, axis=0)
    coords = {c: pred.coords[c] for c in pred.coords if pred.coords[c].dims == ("point",)}
    da = xr.DataArray(out, dims=("sample", "point"), coords=coords, name="loss")
    da.attrs["weights"] = {k: v / total for k, v in w.items()}
    return da


#: Likelihood variants of :func:`sensitivity`: (likelihood, scale).
VARIANTS: tuple[tuple[str, str], ...] = (
    ("student_t", "log"),
    ("normal", "log"),
    ("student_t", "linear"),
    ("normal", "linear"),
)


def sensitivity(
    model: Model,
    df: pd.DataFrame,
    variants: Sequence[tuple[str, str]] = VARIANTS,
    compute: float | None = None,
    **fit_kwargs: Any,
) -> pd.DataFrame:
    """Fit the same data under different likelihoods and report what moves.

    Parameters
    ----------
    model : Model
        The base model; each variant replaces its ``likelihood`` and ``scale``.
    df : pandas.DataFrame
        The table.
    variants : sequence of (likelihood, scale)
        Default: Student-t and normal noise, on log loss and on loss.
    compute : float, optional
        Budget at which the compute-optimal allocation is reported (laws of ``N`` and ``D``
        only); default 100x the largest budget in the data.
    **fit_kwargs
        Passed to :meth:`Model.fit`.

    Returns
    -------
    pandas.DataFrame
        One row per variant: medians of the natural parameters; with a frontier, the median
        and 80 % interval of tokens per parameter and ``N*`` at ``compute``; ``elpd_loo`` on
        the loss scale (comparable across variants) with its highest Pareto ``k`` (above 0.7:
        that fit's LOO is unreliable), and whether the fit passed diagnostics.
        ``attrs["posteriors"]`` keeps the fits.

    Examples
    --------
    Two of the four variants, fitted by importance sampling to keep it quick (the default
    runs all four with NUTS):

    >>> from bayescale.compare import sensitivity
    >>> variants = [("student_t", "log"), ("normal", "log")]
    >>> table = sensitivity(bs.Model(), runs, variants=variants, method="psis", seed=0)
    >>> table.index.tolist()
    ['student_t on log loss', 'normal on log loss']
    >>> table.loc[:, ["alpha", "beta", "tokens_per_param", "elpd_loo"]].shape
    (2, 4)
    >>> bool(table["fit_ok"].all()), float(table["compute"].iloc[0])
    (True, 1e+22)
    """
    if compute is not None:
        compute = arguments.positive(compute, "compute")
    variants = list(variants)
    if not variants:
        raise ValueError("variants is empty: give (likelihood, scale) pairs, e.g. the default.")
    for v in variants:
        if isinstance(v, str) or np.ndim(v) != 1 or len(v) != 2:
            raise ValueError(
                f"variants holds {v!r}: give (likelihood, scale) pairs such as "
                "('student_t', 'log') or ('normal', 'linear')."
            )
    spec = model.spec()
    rows, posts = [], {}
    for likelihood, scale in variants:
        variant = Model.from_spec(
            {**spec, "likelihood": likelihood, "scale": scale},
            law=model.law if spec["law"]["name"] == "custom" else None,
        )
        post = variant.fit(df, **fit_kwargs)
        name = f"{likelihood} on {scale} loss"
        posts[name] = post
        row: dict[str, Any] = {"variant": name}
        for k in post.law.natural_names:
            row[k] = float(post.posterior[k].median())
        if set(post.law.inputs) == {"N", "D"}:
            fitted = post.draws_tree["constant_data"]
            c = compute
            if c is None:  # two decades past the data
                c = 100.0 * float(post.cost.flops(fitted["x_N"], fitted["x_D"]).max())
            front = frontier(post, c)
            tpp = front["tokens_per_param"].values.ravel()
            row["compute"] = c
            row["tokens_per_param"] = float(np.median(tpp))
            row["tokens_per_param_q10"], row["tokens_per_param_q90"] = np.quantile(tpp, [0.1, 0.9])
            row["N_opt"] = float(np.median(front["N_opt"].values))
        with warnings.catch_warnings():
            # Reported in the table (pareto_k_max) instead of once per variant.
            warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
            elpd = loo(post, pointwise=True)
        row["elpd_loo"] = float(elpd.elpd)
        row["pareto_k_max"] = float(np.max(elpd.pareto_k))
        row["fit_ok"] = bool(post.diagnostics(warn=False).attrs["ok"])
        rows.append(row)
    table = pd.DataFrame(rows).set_index("variant")
    table.attrs["posteriors"] = posts
    return table


def choose_from_loo(
    loo_table: pd.DataFrame,
    order: Sequence[str],
    se_rule: float = SE_RULE,
    what: str = "simplest structure",
) -> tuple[str, str]:
    """Choose a structure from a LOO table with ``fit_ok``; return it and the reason.

    The candidates within ``se_rule`` standard errors of the best ELPD are the close ones; the
    choice is the first of ``order`` among the close ones whose fit passed its diagnostics, or,
    when none passed, the first close one (its ELPD is then the best evidence there is, and the
    reason says so). A passing fit far below the best is never chosen for passing: a structure
    that LOO rejects by many standard errors does not describe the data.

    Parameters
    ----------
    loo_table : pandas.DataFrame
        :func:`bayescale.compare.compare`'s table (best first; ``elpd``, ``dse``) with a
        boolean ``fit_ok`` column.
    order : sequence of str
        Every candidate of the table, simplest first.
    se_rule : float
        How many standard errors of the ELPD difference count as close.
    what : str
        What the first of ``order`` is, in the reason (``"simplest structure"``; the law
        choice says ``"first law of the order"``).

    Returns
    -------
    (str, str)
        The chosen candidate and the reason, in words.

    Examples
    --------
    A LOO table in which family effects on ``E`` and ``A`` fit best, but ``A`` alone is
    within two standard errors:

    >>> from bayescale.compare import choose_from_loo
    >>> loo_table = pd.DataFrame(
    ...     {"elpd": [112.0, 111.0, 38.0], "dse": [0.0, 1.5, 7.0], "fit_ok": [True, True, True]},
    ...     index=["E+A", "A", "none"],
    ... )
    >>> chosen, reason = choose_from_loo(loo_table, order=["none", "A", "E+A"])
    >>> chosen
    'A'
    >>> print(reason)
    LOO: 'E+A' has the highest ELPD; 'A' is the simplest structure within 2 standard errors of
    it (ELPD 1.0 lower).
    """
    se_rule = arguments.non_negative(se_rule, "se_rule")
    if isinstance(order, str):  # read letter by letter otherwise
        raise TypeError(f"order={order!r}: give a list of the candidates' names, simplest first.")
    missing = [c for c in ("elpd", "dse", "fit_ok") if c not in loo_table]
    if missing:
        raise ValueError(
            f"The LOO table lacks the column(s) {missing}: give compare()'s table (elpd, dse) "
            "with a boolean fit_ok column (True: the fit passed its diagnostics)."
        )
    unknown = ~np.isfinite(loo_table[["elpd", "dse"]].to_numpy(float))
    if unknown.any():
        rows = loo_table.index[unknown.any(axis=1)].tolist()
        raise ValueError(
            f"The LOO table's elpd or dse is not finite for {rows}: their LOO failed, and no "
            "choice can rest on it; refit them (or leave them out of the order)."
        )
    order = list(order)
    if sorted(order) != sorted(map(str, loo_table.index)):
        raise ValueError(
            f"order={order!r} must name every candidate of the LOO table once: "
            f"{list(loo_table.index)}."
        )
    if loo_table["fit_ok"].dtype != bool:
        raise ValueError("The LOO table's 'fit_ok' column must be boolean (True: passed).")
    ok = loo_table["fit_ok"]
    best = loo_table.index[0]
    if loo_table["elpd"].idxmax() != best:  # its dse are differences to the first row's
        raise ValueError(
            f"The LOO table's first row, {best!r}, is not its best ({loo_table['elpd'].idxmax()!r}"
            " has the highest elpd): give compare()'s table, best first, whose dse are each "
            "fit's difference to the best (or sort it, loo_table.sort_values('elpd', "
            "ascending=False), if its dse are)."
        )
    gap = loo_table.loc[best, "elpd"] - loo_table["elpd"]
    close = [n for n in order if n == best or gap[n] <= se_rule * loo_table.loc[n, "dse"]]
    passing_close = [n for n in close if ok[n]]
    chosen = passing_close[0] if passing_close else close[0]
    reason = f"LOO: {best!r} has the highest ELPD; {chosen!r} is the {what}"
    reason += f" within {se_rule:g} standard errors of it"
    if chosen != best and gap[chosen] >= 0.05:
        reason += f" (ELPD {gap[chosen]:.1f} lower)"
    skipped = [n for n in close[: close.index(chosen)] if not ok[n]]
    if skipped:
        reason += f" whose fit passed its diagnostics (the fits of {skipped} did not)"
    reason += "."
    failed = [n for n in order if not ok[n] and n not in skipped]
    if not ok[chosen]:
        reason += (
            " Its fit failed its diagnostics, as did every close structure's, so the choice "
            "rests on an ELPD that is not to be trusted yet: simplify the effects or tighten "
            "the priors before relying on it."
        )
        far = [n for n in order if ok[n]]
        if far:
            reason += (
                f" The fits that passed ({far}) are more than {se_rule:g} standard errors "
                "below the best."
            )
    elif failed:
        reason += f" The fits of {failed} failed their diagnostics."
    if "pareto_k_max" in loo_table:
        shaky = [n for n in order if loo_table.loc[n, "pareto_k_max"] > PARETO_K_OK]
        if shaky:
            reason += (
                f" LOO's Pareto k is above {PARETO_K_OK:g} for {shaky}: their ELPD is "
                "indicative only."
            )
    return chosen, reason


@dataclass(frozen=True)
class LawChoice:
    """The law LOO prefers among candidates fitted to the same table.

    Attributes
    ----------
    chosen : str
        The chosen law's name.
    posterior : ScalingPosterior
        Its fit (every prediction, frontier and decision reads it as any fit).
    loo : pandas.DataFrame
        :func:`compare`'s table of every candidate fitted, with ``fit_ok`` (the fit passed its
        diagnostics).
    reason : str
        Why this law, in words.
    posteriors : dict
        Every candidate's fit, by law name.
    skipped : dict
        Candidates that could not be built from the model (``{law: why}``), e.g. effects on a
        parameter the law does not have.

    Examples
    --------
    What :func:`choose_law` returns:

    >>> choice = bs.compare.choose_law(
    ...     bs.Model(), runs, laws=["chinchilla", "kaplan"], method="psis", seed=0
    ... )
    >>> choice.chosen, sorted(choice.posteriors)
    ('chinchilla', ['chinchilla', 'kaplan'])
    >>> print(choice)
    Chosen law: chinchilla
    LOO: 'chinchilla' has the highest ELPD; ...
    """

    chosen: str
    posterior: ScalingPosterior
    loo: pd.DataFrame
    reason: str
    posteriors: dict[str, ScalingPosterior]
    skipped: dict[str, str]

    def __str__(self) -> str:
        lines = [f"Chosen law: {self.chosen}", self.reason, "", "LOO:"]
        cols = ["elpd", "elpd_diff", "dse", "weight", "pareto_k_max", "fit_ok"]
        lines.append(self.loo[[c for c in cols if c in self.loo]].round(3).to_string())
        lines += [f"Not fitted: {law}: {why}" for law, why in self.skipped.items()]
        return "\n".join(lines)


def with_law(model: Model, law: str) -> Model:
    """Return ``model`` with its law replaced by the registered law ``law``.

    Likelihood, options and the priors of sites the new law shares are kept; priors of the old
    law's parameters that the new law lacks are dropped. A law of one input (``x=``) passes
    its input to a law that takes one. Group effects are carried only to a
    law that extends the model's law or that it extends (``data_constrained`` and
    ``chinchilla``): effects name parameters by their law's names, and another law's ``alpha``
    is not this one's.

    Parameters
    ----------
    model : Model
        The model.
    law : str
        A registered law (:func:`bayescale.laws.available`).

    Returns
    -------
    Model
        A new model (``model`` itself when it already has that law).

    Raises
    ------
    SpecificationError
        When the law is unknown, or the model has group effects and the law is not of its
        family.

    Examples
    --------
    >>> from bayescale.compare import with_law
    >>> model = with_law(bs.Model(likelihood="normal"), "farseer")
    >>> model.law.name, model.likelihood
    ('farseer', 'normal')
    """
    if type(model.law).name == law:
        return model
    target, config = _law_like(model, law)
    spec = model.spec()
    related = isinstance(target, type(model.law)) or isinstance(model.law, type(target))
    if model.effects and not related:
        raise SpecificationError(
            f"The model varies {sorted(spec['effects'])} by group, named as the "
            f"{type(model.law).name} law names them; the {law} law's parameters are others "
            f"({[p.natural for p in target.parameters]}), so the effects cannot be carried "
            "over: compare the laws without effects."
        )
    old = {p.name for p in model.law.parameters}
    new = {p.name for p in target.parameters}
    priors = {k: v for k, v in spec["priors"].items() if k not in old or k in new}
    return Model.from_spec({**spec, "law": {"name": law, "config": config}, "priors": priors})


def _law_like(model: Model, law: str) -> tuple[Law, dict[str, Any]]:
    """Build the registered law ``law`` on ``model``'s one input where it takes one (``x=``).

    Returns the law and its config ('m4' is a law of D by default; beside a law of N, of N).
    """
    config = {"x": model.law.config()["x"]} if "x" in model.law.config() else {}
    if config:
        try:
            return _laws.get(law, **config), config
        except (ValueError, TypeError):  # a law without that option (chinchilla): its own
            pass
    try:
        return _laws.get(law), {}
    except (ValueError, TypeError) as e:
        raise SpecificationError(str(e)) from None


def _same_inputs(model: Any) -> list[str]:
    """Names of the shipped laws that read the same inputs as ``model``'s, but its own."""
    reads = set(model.law.inputs)
    return [
        name
        for name in _laws.available()
        if name != model.law.name and set(_law_like(model, name)[0].inputs) == reads
    ] or ["none is shipped"]


def choose_law(
    model: Model,
    df: pd.DataFrame,
    laws: Sequence[str] | None = None,
    se_rule: float = SE_RULE,
    fitted: Mapping[str, ScalingPosterior] | None = None,
    **fit_kwargs: Any,
) -> LawChoice:
    """Fit the model under each candidate law and keep the one LOO prefers.

    The model's own law comes first, then the others from the fewest parameters; the choice is
    the first of that order among the laws whose ELPD is within ``se_rule`` standard errors of
    the best and whose fit passes its diagnostics (:func:`choose_from_loo`). So the model's law
    is kept unless another is more than ``se_rule`` standard errors better, and of two close
    challengers the smaller wins. A form that misses the ladder shows in LOO long before it
    shows past the data: on simulated ladders whose truth was Kaplan's law or a data exponent
    that drifts with size, the Chinchilla fit's 90 % intervals covered 0-6 % of the runs two
    decades out, and the law this chose covered all of them (``benchmarks/unseen_forms.py``,
    docs/calibration.md). The extrapolation error, learned per law from its own record, sizes
    what the chosen form may still miss.

    LOO judges a law by the runs it has, not by how its compute-optimal allocation extrapolates:
    a flexible law can fit every run and still misplace ``N*`` far out. Fitted below Epoch's five
    lowest profiles, Farseer's law held 1 of 15 measured minima above them in its ``N*`` band
    (Chinchilla's 13), and fitted to all of Epoch's runs, where LOO prefers it by 55 ELPD, it puts
    ``D*/N*`` at 5.88e23 FLOP at 200 (80 %: 89-466) against Chinchilla's 18. Before deciding an
    allocation with the chosen law, run :func:`bayescale.frontier_backtest` under it.

    Parameters
    ----------
    model : Model
        The model: its effects, likelihood, priors and extrapolation error go to every
        candidate (:func:`with_law`).
    df : pandas.DataFrame
        The table.
    laws : sequence of str, optional
        Candidate laws (registered names, :func:`bayescale.laws.available`); default
        :data:`LAW_CANDIDATES` for a law of ``N`` and ``D``. The model's own law is always one,
        first.
    se_rule : float
        How many standard errors of the ELPD difference a law needs to displace an earlier one.
    fitted : dict, optional
        Fits already made of some candidates on ``df`` (``{law: posterior}``, typically the
        model's own fit), used instead of fitting them again. Each must be of that candidate's
        model exactly.
    **fit_kwargs
        Passed to every :meth:`Model.fit` (``method``, ``draws``, ``seed``...).

    Returns
    -------
    LawChoice

    Raises
    ------
    SpecificationError
        When the model's law is not one of ``N`` and ``D`` and no ``laws`` are given, when
        ``laws`` names an unknown law or no law besides the model's, when a candidate reads
        other inputs than the model's law, when fewer than two candidates can be built (the
        model's group effects cannot be carried to another law's parameters), or when a
        ``fitted`` posterior is not of a candidate's model.
    DataError
        When a ``fitted`` posterior was fitted to other rows than ``df``'s (:func:`compare`).

    Examples
    --------
    Chinchilla's law against Kaplan's on runs simulated from Chinchilla's (by importance
    sampling, to keep it quick):

    >>> choice = bs.compare.choose_law(
    ...     bs.Model(), runs, laws=["kaplan"], method="psis", seed=0
    ... )
    >>> choice.chosen, choice.loo.index.tolist()
    ('chinchilla', ['chinchilla', 'kaplan'])
    >>> frontier = bs.frontier(choice.posterior, [1e21])  # the chosen fit, as any fit

    A fit of the model already made is reused, not fitted again:

    >>> again = bs.compare.choose_law(
    ...     bs.Model(), runs, laws=["kaplan"], fitted={"chinchilla": choice.posterior},
    ...     method="psis", seed=0,
    ... )
    >>> again.posterior is choice.posterior
    True
    """
    se_rule = arguments.non_negative(se_rule, "se_rule")
    own = type(model.law).name
    if laws is None:
        if set(model.law.inputs) != {"N", "D"}:
            raise SpecificationError(
                f"choose_law has default candidates for laws of N and D only; {own!r} reads "
                f"{list(model.law.inputs)}: pass laws=[...] that read the same inputs."
            )
        laws = LAW_CANDIDATES
    if isinstance(laws, str):
        raise SpecificationError(f"laws={laws!r}; give a list of law names, e.g. ['kaplan'].")
    unknown = [law for law in laws if law not in _laws.available()]
    if unknown:
        raise SpecificationError(
            f"Unknown law(s) {unknown}; the registered laws are {_laws.available()}."
        )
    others = list(dict.fromkeys(law for law in laws if law != own))
    if not others:
        other = next(law for law in LAW_CANDIDATES if law != own)
        raise SpecificationError(
            f"laws={list(laws)!r} names no law besides the model's own ({own!r}); give at "
            f"least one other, e.g. [{other!r}].",
            command_line=f"--choose-law {' '.join(laws)} names no law besides the fit's own "
            f"({own}); give at least one other, e.g. --choose-law {own} {other}.",
        )
    candidates, skipped = {own: model}, {}
    for law in others:
        try:
            candidate = with_law(model, law)
        except SpecificationError as e:
            skipped[law] = str(e)
            continue
        if set(candidate.law.inputs) != set(model.law.inputs):
            raise SpecificationError(
                f"Law {law!r} reads {list(candidate.law.inputs)}, the model's law {own!r} "
                f"reads {list(model.law.inputs)}: LOO compares fits of the same table only. "
                f"Choose among laws of {', '.join(model.law.inputs)} ("
                + ", ".join(_same_inputs(model))
                + "), or start from a model of the other law's inputs."
            )
        candidates[law] = candidate
    # the model's own law first, then the others from the fewest parameters (stable)
    order = [own, *sorted(list(candidates)[1:], key=lambda n: len(candidates[n].law.parameters))]
    candidates = {law: candidates[law] for law in order}
    if len(candidates) < 2:
        why = " ".join(f"{law}: {reason}" for law, reason in skipped.items())
        raise SpecificationError(
            f"choose_law needs at least two laws to compare; only {list(candidates)} could be "
            f"built. {why} Name laws that have the parameters the model's effects vary, or "
            "compare the laws without effects."
        )
    fitted = dict(fitted or {})
    for law, post in fitted.items():
        if law not in candidates or post.model != candidates[law].drawn_as(df, post.settings):
            raise SpecificationError(
                f"fitted[{law!r}] is not a fit of any candidate's model (the candidates: "
                f"{list(candidates)}, each the model under that law): fit it with "
                f"bs.compare.with_law(model, {law!r}), or leave it out."
            )
    posts, passed = {}, {}
    with warnings.catch_warnings():
        # Each fit's diagnostics go into the table (``fit_ok``) and the reason instead.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", SamplerEfficiencyWarning)
        warnings.simplefilter("ignore", HeavyTailWarning)  # the chosen fit's diagnostics say it
        for law, candidate in candidates.items():
            posts[law] = fitted[law] if law in fitted else candidate.fit(df, **fit_kwargs)
            passed[law] = bool(posts[law].diagnostics(warn=False).attrs["ok"])
    table = compare(posts)
    table["fit_ok"] = [passed[n] for n in table.index]
    chosen, reason = choose_from_loo(table, list(candidates), se_rule, "first law of the order")
    return LawChoice(chosen, posts[chosen], table, reason, posts, skipped)


__all__ = [
    "COMPARE_METHODS",
    "LAW_CANDIDATES",
    "VARIANTS",
    "LawChoice",
    "averaged_predict",
    "choose_from_loo",
    "choose_law",
    "compare",
    "sensitivity",
    "with_law",
]
