"""The value of pooling: new-group backtests and the choice of group effects from data.

Partial pooling is why the models are hierarchical: a new model family, training dataset or
seed borrows the law's shape from the others and needs few runs of its own. Whether it does,
and which parameters should vary by group, is a question for the data:

- :func:`new_group_backtest` keeps one group's ``k`` smallest model sizes, fits with every
  other group's runs, and predicts the group's larger runs, for the group fitted alone, for
  complete pooling (one law for all groups) and for partial pooling with each candidate effects
  structure; scored as :func:`bayescale.backtest` scores a split (coverage, interval score,
  error of the median), one row per group, ``k`` and method.
- :func:`group_spread` says, for each group term of a fit, how weakly its scale is identified
  (levels, prior and posterior of its standard deviation) and what a new level costs: the
  spread of the law between levels and the share of a new level's predictive interval that no
  law can remove (seed noise, when the term is a seed).
- :func:`choose_effects` fits every candidate on the whole table, compares them by PSIS-LOO
  (:func:`bayescale.compare.compare`), prefers the simplest structure within two standard errors
  of the best, and sets the new-group backtest's evidence beside it.

Candidate structures (:func:`effect_candidates`) come from the law's parameters: the
irreducible loss only, that and the first term's amplitude, every added term, and every
parameter (exponents included).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayescale import arguments
from bayescale.calibration import LEVELS, Split, backtest, coverage_columns
from bayescale.compare import choose_from_loo, compare
from bayescale.data import DEFAULT_COLUMNS, level_order
from bayescale.errors import (
    ConvergenceWarning,
    DataError,
    DataWarning,
    HeavyTailWarning,
    SamplerEfficiencyWarning,
    SpecificationError,
    with_prefix,
)
from bayescale.fit import NUTS_ONLY_OPTIONS
from bayescale.inference import NutsSettings
from bayescale.laws.base import INPUTS
from bayescale.model import Model
from bayescale.posterior import ScalingPosterior
from bayescale.sanity import check_labels
from bayescale.sites import sd_site, terms_of

#: Methods of the new-group backtest besides the candidate structures.
ALONE, COMPLETE = "alone", "complete pooling"
#: Prefix of a partial-pooling method's name in the backtest's table.
PARTIAL = "partial: "


def with_effects(model: Model, effects: Mapping[str, Any]) -> Model:
    """Return ``model`` with its group effects replaced by ``effects`` (natural names).

    Parameters
    ----------
    model : Model
        The model; its law, likelihood, priors and options are kept.
    effects : dict
        ``{natural parameter: group column(s)}``, as :class:`Model`'s ``effects`` (``{}``: no
        effects).

    Returns
    -------
    Model
        A new model; ``model`` is unchanged.

    Examples
    --------
    >>> from bayescale.pooling import with_effects
    >>> model = with_effects(bs.Model(likelihood="normal"), {"E": "family", "A": "family"})
    >>> model.spec()["effects"], model.spec()["likelihood"]
    ({'E': ['family'], 'A': ['family']}, 'normal')
    >>> with_effects(model, {}).spec()["effects"]
    {}
    """
    if not isinstance(effects, Mapping):  # dict() would read a list of names letter by letter
        raise SpecificationError(
            f"effects={effects!r}: give a dict such as {{'E': 'family'}} ({{}}: no effects)."
        )
    spec = model.spec()
    spec["effects"] = dict(effects)
    return Model.from_spec(spec, law=model.law)


def effect_candidates(model: Model, group: str) -> dict[str, dict[str, str]]:
    """Candidate effects structures of ``model``'s law for one group column, simplest first.

    Parameters
    ----------
    model : Model
        Its law's parameters give the candidates: the irreducible loss ``E`` alone (when the law
        has one), ``E`` and the first added term's amplitude, every added term, every parameter.
    group : str
        The group column.

    Returns
    -------
    dict
        ``{name: effects}``, e.g. ``{"E": {"E": "family"}, "E+A": {...}, ...}``; structures that
        would repeat a simpler one (a law with one added term) are left out.

    Examples
    --------
    >>> import bayescale as bs
    >>> list(effect_candidates(bs.Model("chinchilla"), "family"))
    ['E', 'E+A', 'E+A+B', 'all']
    """
    params = model.law.parameters
    additive = [p.natural for p in params if p.additive]
    floor = [n for n in additive if n == "E"]
    terms = [n for n in additive if n != "E"]
    ladder = [floor, floor + terms[:1], floor + terms, [p.natural for p in params]]
    out: dict[str, dict[str, str]] = {}
    seen: set[tuple[str, ...]] = set()
    for names in ladder:
        key = tuple(names)
        if not names or key in seen:
            continue
        seen.add(key)
        label = "all" if len(names) == len(params) else "+".join(names)
        out[label] = dict.fromkeys(names, group)
    return out


def _sizes(df: pd.DataFrame, model: Model) -> tuple[str, np.ndarray]:
    col = {**DEFAULT_COLUMNS, **(model.columns or {})}["params"]
    if col not in df:
        problem = (
            f"The new-group backtest orders a group's runs by model size: column {col!r} is "
            f"missing (columns: {list(df.columns)});"
        )
        raise DataError(
            f"{problem} pass columns={{'params': ...}} to the Model.",
            column=col,
            command_line=f"{problem} name it with --columns params=COLUMN.",
        )
    return col, df[col].to_numpy(float)


def _check_group(df: pd.DataFrame, group: str) -> np.ndarray:
    if group not in df:
        raise DataError(
            f"Group column {group!r} is missing (columns: {list(df.columns)}); name the column "
            "that labels the families, datasets or seeds."
        )
    labels = df[group]
    if labels.isna().any():
        raise DataError(
            f"Column {group!r} has {int(labels.isna().sum())} missing labels; label every run."
        )
    check_labels(df, group)  # 1 and "1" would be one group once compared as text
    labels = labels.astype(str).to_numpy()
    if np.unique(labels).size < 2:
        raise DataError(f"Column {group!r} has one level: pooling needs at least two groups.")
    return labels


def new_group_splits(
    df: pd.DataFrame, model: Model, group: str, level: str, k: int
) -> tuple[Split, Split]:
    """Return the splits of one new-group case: the group keeps its ``k`` smallest model sizes.

    Returns
    -------
    (Split, Split)
        ``alone``: train on the group's ``k`` smallest sizes only; ``pooled``: train on those and
        every other group's rows. Both test on the group's larger sizes.

    Parameters
    ----------
    df : pandas.DataFrame
        The table, with the group column and model sizes.
    model : Model
        Its ``params`` column gives the model sizes.
    group : str
        The group column.
    level : str
        The group held out (compared with the labels as text).
    k : int
        How many of its smallest model sizes the group keeps, from 1 to its number of sizes
        less one.

    Raises
    ------
    DataError
        When the level is missing or ``k`` leaves nothing to predict.

    Examples
    --------
    Family ``f0`` (15 runs of 15 sizes) keeps its 2 smallest runs:

    >>> from bayescale.pooling import new_group_splits
    >>> alone, pooled = new_group_splits(family_runs, bs.Model(), "family", "f0", k=2)
    >>> int(alone.train.sum()), int(pooled.train.sum()), int(pooled.test.sum())
    (2, 47, 13)
    >>> alone.name
    'family=f0, 2 smallest sizes'
    """
    k = arguments.count(k, "k")
    labels = _check_group(df, group)
    _, n = _sizes(df, model)
    mine = labels == str(level)
    if not mine.any():
        raise DataError(f"Column {group!r} has no level {level!r}; levels: {level_order(labels)}.")
    sizes = np.unique(n[mine])
    if not 1 <= k < sizes.size:
        raise DataError(
            f"{group}={level} has {sizes.size} model sizes: k={k} must be between 1 and "
            f"{sizes.size - 1} to leave larger runs to predict."
        )
    kept = mine & (n <= sizes[k - 1])
    test = mine & ~kept
    name = f"{group}={level}, {k} smallest sizes"
    more = "a larger --k"
    return Split(name, kept, test, more), Split(name, kept | ~mine, test, more)


def _check_candidate_columns(methods: Mapping[str, Model], df: pd.DataFrame) -> None:
    """Refuse, up front, a candidate whose effects group by a column the table lacks."""
    for name, m in methods.items():
        wanted = {c for terms in m.effects.values() for t in terms for c in t.columns}
        missing = sorted(wanted - set(map(str, df.columns)))
        if missing:
            what = name.removeprefix(PARTIAL)
            raise DataError(
                f"The candidate {what!r} groups by {missing}, which the table lacks (columns: "
                f"{list(map(str, df.columns))}): name columns of the table in its effects.",
                column=missing[0],
                command_line=f"--effects groups by {missing}, which the table lacks (columns: "
                f"{list(map(str, df.columns))}): name columns of the table.",
            )
        for t in dict.fromkeys(t for terms in m.effects.values() for t in terms):
            levels = len(df[list(t.columns)].astype(str).drop_duplicates())
            if levels < 2:  # every case's fit would refuse it: say so before fitting any
                problem = (
                    f"groups by {t.name!r}, which has {levels} level in the whole table: a "
                    "random effect needs at least 2"
                )
                raise DataError(
                    f"The candidate {name.removeprefix(PARTIAL)!r} {problem}; vary the effects "
                    "by a column whose groups differ.",
                    column=t.columns[0],
                    command_line=f"--effects {problem}; name a column whose groups differ.",
                )


def new_group_backtest(
    model: Model,
    df: pd.DataFrame,
    group: str,
    ks: int | Sequence[int] = (1, 2, 3),
    candidates: Mapping[str, Mapping[str, Any]] | None = None,
    levels: Sequence[float] = LEVELS,
    dataset: str = "",
    groups: Sequence[str | int | float] | str | None = None,
    **fit_kwargs: Any,
) -> pd.DataFrame:
    """Predict each group's larger runs from its ``k`` smallest sizes, with and without pooling.

    For every level of ``group`` and every ``k``, the group keeps the runs of its ``k`` smallest
    model sizes and its larger runs are predicted (the group's effects learned from its kept
    runs and shrunk towards the other groups') by

    - ``"alone"``: ``model`` without effects, fitted on the group's kept runs only;
    - ``"complete pooling"``: ``model`` without effects, fitted on every other group's rows
      and the kept runs (one law for all groups);
    - ``"partial: <name>"``: ``model`` with each candidate's effects, on the same rows.

    Parameters
    ----------
    model : Model
        The law, likelihood and priors; its own effects are replaced by each candidate's.
    df : pandas.DataFrame
        The table, with the group column and model sizes.
    group : str
        The group column (training dataset, model family, seed...).
    ks : int or sequence of int
        How many of the group's smallest sizes it keeps (each number once). A ``k`` that
        leaves a group nothing to predict gives a row whose ``status`` says so.
    candidates : dict, optional
        ``{name: effects}``; default :func:`effect_candidates`.
    levels : sequence of float
        Central interval levels whose coverage is reported.
    dataset : str
        Name shown in the table.
    groups : sequence of labels, optional
        The levels held out in turn (default: every level), compared with the column's labels
        as text (``str(label)``); one label may be given alone. The other levels' rows are still
        in every pooled fit: a table with many small groups can hold out only those with a
        ladder of sizes.
    **fit_kwargs
        Passed to :meth:`Model.fit` (``chains``, ``draws``, ``method``...).

    Returns
    -------
    pandas.DataFrame
        One row per held-out level, ``k`` and method: ``dataset``, ``group``, ``level``, ``k``,
        ``method``, ``n_train``, ``n_test``, ``coverage_<level>``, ``interval_score_90``,
        ``crps``, ``are_median``, ``are_mean``, ``fit_ok``, ``data_warnings`` (what the checks
        of the training rows warned about) and ``status`` (``"ok"``, or why the
        case was not scored: too few sizes, too few runs for the law alone, predictive draws
        that are not finite). ``attrs``
        holds the per-point predictions (``"points"``), the candidates (``"candidates"``), and
        each row's status and data warnings as the command line words them
        (``"status_command_line"``, ``"data_warnings_command_line"``).

    Raises
    ------
    DataError
        When the group or size column is missing, a level of ``groups`` is not in it, or a
        candidate's effects group by a column the table lacks.

    Examples
    --------
    The whole check on the four simulated families, ``k = 1, 2, 3`` and the four default
    candidates, is 72 NUTS fits (minutes), so it is skipped here:

    >>> full = bs.pooling.new_group_backtest(bs.Model(), family_runs, "family")  # doctest: +SKIP

    One family, one ``k`` and one candidate, by importance sampling, runs in seconds. With its
    2 smallest runs, family ``f0`` cannot be fitted alone (7 parameters), and letting ``A``
    vary by family predicts its 13 larger runs with a lower interval score than one law for
    every family:

    >>> table = bs.pooling.new_group_backtest(
    ...     bs.Model(), family_runs, "family", ks=(2,), groups="f0",
    ...     candidates={"A": {"A": "family"}}, method="psis", seed=0,
    ... )
    >>> table["method"].tolist()
    ['alone', 'complete pooling', 'partial: A']
    >>> table["status"].str.split(":").str[0].tolist()
    ['not scored', 'ok', 'ok']
    >>> scores = table.set_index("method")["interval_score_90"]
    >>> bool(scores["partial: A"] < scores["complete pooling"])
    True
    """
    labels = _check_group(df, group)
    _sizes(df, model)
    ks = arguments.counts(ks, "ks", "(1, 2, 3)")  # each k one case: a repeat fits it twice
    base = with_effects(model, {})
    candidates = dict(effect_candidates(model, group) if candidates is None else candidates)
    methods: dict[str, Model] = {ALONE: base, COMPLETE: base}
    methods.update({PARTIAL + name: with_effects(model, e) for name, e in candidates.items()})
    _check_candidate_columns(methods, df)
    for name, m in methods.items():  # a new group must be new to the effects that pool it
        columns = {c for terms in m.effects.values() for t in terms for c in t.columns}
        if name.startswith(PARTIAL) and group not in columns:
            raise SpecificationError(
                f"The candidate {name.removeprefix(PARTIAL)!r} has effects by {sorted(columns)} "
                f"and none by {group!r}: a held-out {group} shares their labels with the "
                f"fitted ones, so it would not be a new group. Give candidates whose effects "
                f"involve {group!r} (e.g. {{'E': '{group}'}})."
            )
    held_out = np.array(level_order(labels))
    if groups is not None:
        wanted = [groups] if isinstance(groups, str | int | float) else list(groups)
        wanted = list(dict.fromkeys(str(g) for g in wanted))  # labels compared as text, once
        unknown = sorted(set(wanted) - set(held_out))
        if not wanted:
            raise ValueError("groups=[]: name at least one level to hold out, or pass None.")
        if unknown:
            raise DataError(
                f"groups={wanted!r}: column {group!r} has no level(s) {unknown}; "
                f"levels: {held_out.tolist()}."
            )
        held_out = np.array(wanted)
    rows, points = [], []
    worded: list[tuple[str, str]] = []  # each row's status and data warnings, command-line words
    for level in held_out:
        for k in ks:
            key = {"dataset": dataset, "group": group, "level": level, "k": int(k)}
            try:
                alone, pooled = new_group_splits(df, model, group, level, int(k))
            except DataError as e:
                rows += [{**key, "method": m, "status": f"skipped: {e}"} for m in methods]
                worded += [(f"skipped: {e.command_line or e}", "")] * len(methods)
                continue
            for method, m in methods.items():
                split = alone if method == ALONE else pooled
                try:
                    table = backtest(m, df, [split], levels=levels, dataset=dataset, **fit_kwargs)
                except DataError as e:
                    rows.append({**key, "method": method, "status": f"not scored: {e}"})
                    worded.append((f"not scored: {e.command_line or e}", ""))
                    continue
                row = table.iloc[0].drop(["dataset", "split"]).to_dict()
                rows.append({**key, "method": method, **row})
                worded.append((row["status"], table.attrs["data_warnings_command_line"][0]))
                if not table.attrs["points"].empty:
                    pts = table.attrs["points"].assign(level=level, k=int(k), method=method)
                    points.append(pts)
    out = pd.DataFrame(rows)
    out.attrs["points"] = pd.concat(points) if points else pd.DataFrame()
    out.attrs["status_command_line"] = [status for status, _ in worded]
    out.attrs["data_warnings_command_line"] = [note for _, note in worded]
    # plain dicts: pandas deep-copies attrs on every selection, and a Model's effects are a
    # read-only mappingproxy, which cannot be copied
    out.attrs["candidates"] = {name: dict(effects) for name, effects in candidates.items()}
    return out


def summarise_backtest(table: pd.DataFrame) -> pd.DataFrame:
    """Average a :func:`new_group_backtest` table over groups: one row per ``k`` and method.

    Returns mean coverage, interval score and median error over the cases that were fitted,
    with ``cases`` (how many were) and ``failed_fits`` (how many failed their diagnostics).

    Parameters
    ----------
    table : pandas.DataFrame
        The table of :func:`new_group_backtest`.

    Returns
    -------
    pandas.DataFrame
        One row per ``k`` and method (the scored ones): ``coverage_<level>``,
        ``interval_score_90``, ``are_median``, ``cases``, ``failed_fits``.

    Raises
    ------
    DataError
        When no case was scored.

    Examples
    --------
    >>> table = bs.pooling.new_group_backtest(
    ...     bs.Model(), family_runs, "family", ks=(2,), groups="f0",
    ...     candidates={"A": {"A": "family"}}, method="psis", seed=0,
    ... )
    >>> summary = bs.pooling.summarise_backtest(table)
    >>> summary[["k", "method", "cases"]]
       k            method  cases
    0  2  complete pooling      1
    1  2        partial: A      1
    """

    def require(columns: tuple[str, ...]) -> None:
        missing = [c for c in columns if c not in table]
        if missing:
            raise DataError(
                f"summarise_backtest reads the table of new_group_backtest; this one lacks "
                f"columns {missing}."
            )

    require(("status",))
    ok = table[table["status"] == "ok"]
    if ok.empty:
        raise DataError(
            "No case of the new-group backtest was fitted; read its 'status' column.",
            command_line="No case of the new-group backtest was fitted: the lines above say why "
            "(a --k of at least a group's number of sizes leaves it nothing to predict).",
        )
    require(("k", "method", "fit_ok"))
    metrics = coverage_columns(ok)
    metrics += ["interval_score_90", "are_median"]
    out = ok.groupby(["k", "method"], sort=True)[metrics].mean()
    out["cases"] = ok.groupby(["k", "method"]).size()
    failed = ~ok["fit_ok"].astype(bool)  # object dtype where skipped cases left it empty
    out["failed_fits"] = failed.groupby([ok["k"], ok["method"]]).sum().astype(int)
    return out.reset_index()


@dataclass(frozen=True)
class EffectsChoice:
    """Which parameters vary by group, as the evidence chooses them.

    Attributes
    ----------
    chosen : str
        The chosen candidate's name (``"none"``: no effects).
    effects : dict
        Its effects, ready for :class:`Model` (``effects=choice.effects``).
    loo : pandas.DataFrame
        The LOO comparison of every candidate fitted on the whole table
        (:func:`bayescale.compare.compare`), with ``fit_ok``: the fit passed its diagnostics.
    backtest : pandas.DataFrame or None
        :func:`summarise_backtest` of a new-group backtest, when one was given.
    reason : str
        Why this candidate, in words.

    Examples
    --------
    What :func:`choose_effects` returns; its ``effects`` go straight into a :class:`Model`:

    >>> choice = bs.pooling.choose_effects(
    ...     bs.Model(), family_runs, "family", candidates={"A": {"A": "family"}},
    ...     method="psis", seed=0,
    ... )
    >>> choice.chosen, choice.effects
    ('A', {'A': 'family'})
    >>> model = bs.Model(effects=choice.effects)
    >>> print(choice)
    Chosen effects: A {'A': 'family'}
    LOO: 'A' has the highest ELPD; ...
    <BLANKLINE>
    LOO:
    ...
    """

    chosen: str
    effects: dict[str, Any]
    loo: pd.DataFrame
    backtest: pd.DataFrame | None
    reason: str

    def __str__(self) -> str:
        lines = [f"Chosen effects: {self.chosen} {self.effects}", self.reason, "", "LOO:"]
        cols = ["elpd", "elpd_diff", "dse", "weight", "pareto_k_max", "fit_ok"]
        lines.append(self.loo[[c for c in cols if c in self.loo]].round(3).to_string())
        if self.backtest is not None:
            lines += ["", "New-group backtest (mean over groups):"]
            lines.append(self.backtest.round(3).to_string(index=False))
        return "\n".join(lines)


def choose_effects(
    model: Model,
    df: pd.DataFrame,
    group: str,
    candidates: Mapping[str, Mapping[str, Any]] | None = None,
    backtest_table: pd.DataFrame | None = None,
    refit_failed: bool = True,
    **fit_kwargs: Any,
) -> EffectsChoice:
    """Choose which law parameters vary by ``group`` from LOO and the new-group backtest.

    Every candidate (and no effects at all) is fitted on the whole table and compared by
    PSIS-LOO; a fit that fails its diagnostics is refitted once by NUTS with twice the draws and
    another seed (the few-group failures are the group scales' ESS and R-hat; a higher
    ``target_accept`` made them worse, docs/models.md). The choice
    (:func:`bayescale.compare.choose_from_loo`) is the simplest candidate whose ELPD is within
    :data:`bayescale.compare.SE_RULE` standard errors of the best (more group parameters must
    earn their place) whose fit passes its diagnostics; when no
    passing fit is that close, the simplest close one is chosen all the same and the reason
    says its fit failed. A new-group backtest's table
    (:func:`new_group_backtest`), when given, is summarised beside it, and the reason says when
    the structure that predicts new groups best differs from LOO's choice (LOO scores new runs
    of the fitted groups, the backtest a new group).

    Parameters
    ----------
    model : Model
        The law, likelihood and priors.
    df : pandas.DataFrame
        The whole table.
    group : str
        The group column.
    candidates : dict, optional
        ``{name: effects}``, simplest first; default :func:`effect_candidates`.
    backtest_table : pandas.DataFrame, optional
        A :func:`new_group_backtest` of the same model and candidates.
    refit_failed : bool
        Refit a candidate whose fit fails its diagnostics once (NUTS, twice the draws, the
        next seed; also after importance sampling). Either way each fit is drawn without
        :func:`bayescale.fit`'s own ``retry``.
    **fit_kwargs
        Passed to :meth:`Model.fit`.

    Returns
    -------
    EffectsChoice

    Examples
    --------
    Every default candidate (``E``, ``E+A``, ``E+A+B``, ``all``, and none) by NUTS takes
    minutes, so that call is skipped here:

    >>> choice = bs.pooling.choose_effects(bs.Model(), family_runs, "family")  # doctest: +SKIP

    The same comparison of "none" against ``A`` varying by family, by importance sampling:

    >>> choice = bs.pooling.choose_effects(
    ...     bs.Model(), family_runs, "family", candidates={"A": {"A": "family"}},
    ...     method="psis", seed=0,
    ... )
    >>> choice.chosen, choice.loo.index.tolist()
    ('A', ['A', 'none'])
    >>> bool(choice.loo["fit_ok"].all())
    True
    """
    _check_group(df, group)
    if candidates is not None and not isinstance(candidates, Mapping):
        raise TypeError(
            f"candidates must be a dict {{name: effects}}, got a {type(candidates).__name__}; "
            "e.g. candidates={'E': {'E': 'family'}}."
        )
    if candidates is not None and "none" in candidates:
        raise SpecificationError(
            "candidates holds 'none', the name of the baseline without effects that "
            "choose_effects always adds; name the candidate otherwise."
        )
    if candidates is not None and not candidates:
        raise SpecificationError(
            "candidates is empty: give at least one structure to compare with the baseline "
            "without effects, e.g. candidates={'E': {'E': 'family'}} (or leave it out for "
            "the default candidates)."
        )
    candidates = {
        "none": {},
        **dict(effect_candidates(model, group) if candidates is None else candidates),
    }
    if len(candidates) < 2:
        raise SpecificationError("choose_effects needs at least one candidate structure.")
    models = {}
    for name, effects in candidates.items():  # every candidate checked before any is fitted
        try:
            models[name] = with_effects(model, effects)
            with warnings.catch_warnings():  # the fit below says them
                warnings.simplefilter("ignore", DataWarning)
                models[name].prepare(df)
        except (DataError, SpecificationError) as e:
            raise with_prefix(e, f"choose_effects: candidate {name!r}: ") from None
    posts, passed = {}, {}
    draws = 2 * arguments.count(fit_kwargs.get("draws", NutsSettings.draws), "draws")
    seed = arguments.derived_seed(arguments.seed(fit_kwargs.get("seed", NutsSettings.seed)), 1)
    fit_kwargs = {**fit_kwargs, "retry": False}  # the refit below is this function's retry
    again = {**fit_kwargs, "draws": draws, "seed": seed, "method": "nuts"}
    refit_failed = arguments.flag(refit_failed, "refit_failed")
    if refit_failed and fit_kwargs.get("method") == "psis":  # NUTS options: the refits' only
        nuts_only = (*NUTS_ONLY_OPTIONS, "warmup")
        fit_kwargs = {k: v for k, v in fit_kwargs.items() if k not in nuts_only}
    with warnings.catch_warnings():
        # Each fit's diagnostics go into the table (``fit_ok``) and the reason instead.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", SamplerEfficiencyWarning)
        warnings.simplefilter("ignore", HeavyTailWarning)  # the chosen fit's diagnostics say it
        for name, m in models.items():
            posts[name] = m.fit(df, **fit_kwargs)
            passed[name] = bool(posts[name].diagnostics(warn=False).attrs["ok"])
            if refit_failed and not passed[name]:
                posts[name] = m.fit(df, **again)
                passed[name] = bool(posts[name].diagnostics(warn=False).attrs["ok"])
    table = compare(posts)
    table["fit_ok"] = [passed[n] for n in table.index]
    chosen, reason = choose_from_loo(table, list(candidates))
    summary = None
    if backtest_table is not None:
        summary = summarise_backtest(backtest_table)
        partial = summary[summary["method"].str.startswith(PARTIAL)]
        by = partial.groupby("method")["interval_score_90"].mean().sort_values()
        if not by.empty:
            top = by.index[0].removeprefix(PARTIAL)
            reason += f" New groups: {top!r} has the lowest interval score averaged over k" + (
                " too." if top == chosen else "; prefer it for a family with few runs."
            )
    return EffectsChoice(chosen, dict(candidates[chosen]), table, summary, reason)


#: Label given to a term's last column to make it a new level in :func:`group_spread`.
NEW_LEVEL = "<new>"


def _log_draws(
    post: ScalingPosterior, kind: str, x: Mapping[str, float], labels: dict
) -> np.ndarray:
    pred = post.predict(kind=kind, new_groups=True, rng_seed=0, **x, **labels)
    return np.log(np.asarray(pred.values, float).reshape(-1))


def group_spread(
    post: ScalingPosterior, x: Mapping[str, float] | None = None, prob: float = 0.9
) -> pd.DataFrame:
    """How much each group term spreads the law, and what a new level adds to an interval.

    At one reference point (default: the fitted row with the largest value of the law's first
    input, with that row's group labels), each term is made a new level (its last column given an
    unseen label, so a new seed within a fitted family, a new family with new seeds) while every
    other label stays fitted, and the predictions are compared with the fitted level's.

    Parameters
    ----------
    post : ScalingPosterior
        A fit with group effects.
    x : dict, optional
        The reference inputs by law input name (``N=``, ``D=``...).
    prob : float
        Level of the predictive intervals compared.

    Returns
    -------
    pandas.DataFrame
        One row per (parameter, term): ``levels`` (fitted), ``prior_sd`` (half-normal scale of
        the effect's standard deviation, on the sampled scale), the posterior ``sd_median``,
        ``sd_low`` and ``sd_high`` (central ``prob``); then the *term's* columns, the same on
        the rows of every parameter it carries (a new level draws all their effects at once):
        ``spread_pct`` (the spread of the mean loss between levels, in %: the extra standard
        deviation of the log mean of a new level over the fitted one's), ``width_fitted`` and
        ``width_new`` (relative widths of the ``prob`` predictive intervals) and ``new_share``
        (``1 - (width_fitted / width_new)^2``: the share of a new level's predictive variance
        from not knowing its effects). ``weak`` flags terms with fewer than 5 levels, whose
        scale, and so a new level's interval, leans on the prior.

    Examples
    --------
    ``A`` varies by family in ``family_post``; four families identify its scale weakly, and
    a new family's predictive interval is much wider than a fitted family's:

    >>> from bayescale.pooling import group_spread
    >>> spread = group_spread(family_post)
    >>> spread[["parameter", "term", "levels", "weak"]]
      parameter    term  levels  weak
    0         A  family       4  True
    >>> bool(spread.loc[0, "width_new"] > spread.loc[0, "width_fitted"])
    True
    """
    arguments.fitted(post, "group_spread")
    prob = arguments.probability(prob)
    effects = post.model.effects
    if not effects:
        raise SpecificationError("group_spread needs a fit with group effects (effects=...).")
    table = post.fitted_table()
    cols = {**DEFAULT_COLUMNS, **(post.model.columns or {})}
    names = {k: cols[INPUTS[k]] for k in post.law.inputs}
    ref = table.iloc[int(np.argmax(table[names[post.law.inputs[0]]].to_numpy(float)))]
    if x is None:
        x = {k: float(ref[c]) for k, c in names.items()}
    terms = terms_of(effects)
    fitted = {c: str(ref[c]) for t in terms for c in t.columns}
    q = [(1 - prob) / 2, (1 + prob) / 2]
    base_mean = _log_draws(post, "mean", x, fitted)
    base_pred = np.exp(_log_draws(post, "predictive", x, fitted))
    width_fit = float(np.diff(np.quantile(base_pred, q))[0] / np.median(base_pred))
    per_term: dict[str, dict[str, float]] = {}
    for term in terms:  # a new level draws every parameter's effect of the term at once
        labels = {**fitted, term.columns[-1]: NEW_LEVEL}
        new_mean = _log_draws(post, "mean", x, labels)
        new_pred = np.exp(_log_draws(post, "predictive", x, labels))
        width_new = float(np.diff(np.quantile(new_pred, q))[0] / np.median(new_pred))
        extra = max(float(np.var(new_mean) - np.var(base_mean)), 0.0)
        per_term[term.name] = {
            "spread_pct": 100 * float(np.sqrt(extra)),
            "width_fitted": width_fit,
            "width_new": width_new,
            "new_share": max(1 - (width_fit / width_new) ** 2, 0.0),
        }
    rows = []
    for site, site_terms in effects.items():
        param = post.law.parameter(site)
        for term in site_terms:
            sd = np.asarray(post.posterior[sd_site(site, term)].values).reshape(-1)
            levels = len(post.group_labels(term.name))
            rows.append(
                {
                    "parameter": param.natural,
                    "term": term.name,
                    "levels": levels,
                    "prior_sd": param.effect_scale,
                    "sd_median": float(np.median(sd)),
                    "sd_low": float(np.quantile(sd, q[0])),
                    "sd_high": float(np.quantile(sd, q[1])),
                    **per_term[term.name],
                    "weak": levels < 5,
                }
            )
    out = pd.DataFrame(rows)
    out.attrs["x"] = dict(x)
    out.attrs["labels"] = fitted
    return out
