"""Calibration checks: extrapolation backtests, scoring rules, LOO-PIT.

A backtest splits a table, fits the model on one side and predicts the other with the
posterior predictive (a new run's effect and noise included), then scores the predictions:
coverage of central intervals, the interval score, CRPS, and the absolute relative error (ARE) of
the posterior median, as in the Hitchhiker's Guide to scaling-law estimation.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import arviz_stats
import numpy as np
import pandas as pd
from scipy import stats

from bayescale.data import DEFAULT_COLUMNS, compute_of
from bayescale.errors import ConvergenceWarning, DataError, DataWarning
from bayescale.inference import NutsSettings, sample_nuts
from bayescale.laws.base import INPUTS
from bayescale.model import Model
from bayescale.posterior import ScalingPosterior, with_predictive
from bayescale.sites import NOISE_SITES, RUN, population_sites

LEVELS = (0.5, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class Split:
    """A named train/test split of a table's rows (boolean masks over its index)."""

    name: str
    train: np.ndarray
    test: np.ndarray


def _cols(model: Model) -> dict[str, str]:
    return {**DEFAULT_COLUMNS, **(model.columns or {})}


def split_by_compute(
    df: pd.DataFrame, model: Model, train_fraction: float = 0.75, cut: float | None = None
) -> Split:
    """Train on runs up to a compute cut, test on the runs above it.

    The default cut keeps ``train_fraction`` of the rows for training.
    """
    c = compute_of(df, model.columns, model.cost, model.law.inputs)
    cut = float(np.quantile(c, train_fraction)) if cut is None else float(cut)
    train = c <= cut
    return Split(f"compute <= {cut:.3g}", train, ~train)


def split_by_size(df: pd.DataFrame, model: Model, n_largest: int = 2) -> Split:
    """Test on the ``n_largest`` distinct model sizes, train on the rest."""
    n = df[_cols(model)["params"]].to_numpy(float)
    sizes = np.unique(n)
    if sizes.size <= n_largest:
        raise DataError(f"Only {sizes.size} model sizes: cannot hold out the {n_largest} largest.")
    test = n >= sizes[-n_largest]
    return Split(f"largest {n_largest} sizes", ~test, test)


def split_curve_tail(
    df: pd.DataFrame, model: Model, fraction: float = 0.25, order: str | None = None
) -> Split:
    """Per run, test on the last ``fraction`` of its curve (ordered by ``order``: tokens)."""
    cols = _cols(model)
    run = model.run if isinstance(model.run, str) else cols["run"]
    if run not in df:
        raise DataError(f"split_curve_tail needs the run column {run!r}.")
    order = order or cols["tokens"]
    rank = df.groupby(run)[order].rank(pct=True, method="first").to_numpy()
    test = rank > 1 - fraction
    return Split(f"last {fraction:.0%} of each curve", ~test, test)


def splits_leave_group_out(df: pd.DataFrame, column: str) -> list[Split]:
    """One split per level of ``column``: test on that group, train on the others."""
    labels = df[column].astype(str).to_numpy()
    return [Split(f"leave out {column}={g}", labels != g, labels == g) for g in np.unique(labels)]


def crps_from_draws(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Continuous ranked probability score of sample forecasts ``draws`` (samples x points)."""
    x = np.sort(draws, axis=0)
    m = x.shape[0]
    weights = (2 * np.arange(1, m + 1) - m - 1)[:, None]
    return np.mean(np.abs(x - y[None]), axis=0) - np.sum(weights * x, axis=0) / m**2


def interval_score(lo: np.ndarray, hi: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
    """Gneiting and Raftery's (2007) interval score of a central ``level`` interval."""
    a = 1 - level
    return (hi - lo) + (2 / a) * (lo - y) * (y < lo) + (2 / a) * (y - hi) * (y > hi)


def score_predictions(
    draws: np.ndarray, y: np.ndarray, levels: Sequence[float] = LEVELS
) -> tuple[dict[str, float], pd.DataFrame]:
    """Score sample forecasts ``draws`` (samples x points) of observations ``y``.

    Returns the summary (coverage per level, mean 90 % interval score relative to ``y``, mean
    CRPS relative to ``y``, median and mean ARE of the median) and a per-point table.

    Raises
    ------
    DataError
        When any draw is not finite: interpolated quantiles of infinite draws are NaN, and the
        scores would contradict each other (a 50 % interval covering where the 90 % does not).
    """
    draws = np.asarray(draws, float)
    bad = ~np.isfinite(draws)
    if bad.any():
        raise DataError(
            f"{bad.mean():.1%} of the predictive draws are not finite: the fit has draws in a "
            "degenerate region (read its diagnostics: a noise scale collapsing to 0, for one, "
            "where a group with a single row per level lets its effect absorb that row). Not "
            "scored."
        )
    med = np.median(draws, axis=0)
    points = pd.DataFrame({"y": y, "median": med, "are": np.abs(med - y) / y})
    summary: dict[str, float] = {}
    for level in levels:
        lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
        inside = (lo <= y) & (y <= hi)
        points[f"lo_{level:g}"], points[f"hi_{level:g}"] = lo, hi
        summary[f"coverage_{level:g}"] = float(inside.mean())
    lo, hi = points["lo_0.9"].to_numpy(), points["hi_0.9"].to_numpy()
    points["pit"] = (draws < y[None]).mean(axis=0)
    summary["interval_score_90"] = float(np.mean(interval_score(lo, hi, y, 0.9) / y))
    summary["crps"] = float(np.mean(crps_from_draws(draws, y) / y))
    summary["are_median"] = float(points["are"].median())
    summary["are_mean"] = float(points["are"].mean())
    return summary, points


def predict_rows(
    post: ScalingPosterior, df: pd.DataFrame, model: Model, rng_seed: int = 0
) -> np.ndarray:
    """Posterior predictive draws ``(samples, rows)`` for the rows of ``df``, in one call.

    Each row keeps its own group labels and run: fitted levels and runs use their fitted
    effects; new ones get effects drawn from the population, shared by the rows that carry
    the same label.
    """
    cols = _cols(model)
    frame = df.reset_index(drop=True)
    values: dict[str, Any] = {
        name: frame[cols[role]].to_numpy(float)
        for name, role in INPUTS.items()
        if (name in post.law.inputs or name in ("N", "D")) and cols[role] in frame
    }
    for term in model.terms:
        for col in term.columns:
            values[col] = frame[col].astype(str).to_numpy()
    run_col = model.run if isinstance(model.run, str) else cols["run"]
    if RUN in post.draws_tree["posterior"].coords and run_col in frame:
        values[RUN] = frame[run_col].astype(str).to_numpy()
    pred = post.predict(kind="predictive", new_groups=True, rng_seed=rng_seed, **values)
    return pred.values.reshape(-1, len(frame))


def backtest(
    model: Model,
    df: pd.DataFrame,
    splits: Split | Iterable[Split] | Callable[..., Any] = split_by_compute,
    levels: Sequence[float] = LEVELS,
    dataset: str = "",
    **fit_kwargs: Any,
) -> pd.DataFrame:
    """Fit on each split's training rows, predict its test rows, and score the predictions.

    Parameters
    ----------
    model : Model
        The model to check.
    df : pandas.DataFrame
        The table.
    splits : Split, iterable of Split, or callable
        The splits, or a function ``f(df, model) -> Split | list[Split]`` (default: a compute
        cut keeping 75 % of rows for training).
    levels : sequence of float
        Central interval levels whose coverage is reported.
    dataset : str
        Name shown in the table.
    **fit_kwargs
        Passed to :meth:`Model.fit` (``chains``, ``draws``, ``seed``...).

    Returns
    -------
    pandas.DataFrame
        One row per split: ``dataset``, ``split``, ``n_train``, ``n_test``, ``coverage_<level>``,
        ``interval_score_90`` and ``crps`` (relative to the observed loss), ``are_median``,
        ``are_mean``, ``fit_ok`` (the fit passed its diagnostics) and ``data_warnings`` (what the
        checks of the training rows warned about, e.g. a law input with too few distinct values;
        empty when nothing) and ``status`` (``"ok"``, or ``"not scored: ..."`` with the scores
        left empty when the predictive draws are not finite). ``attrs["points"]`` holds the
        per-point predictions and PIT values.
    """
    if callable(splits) and not isinstance(splits, Split):
        splits = splits(df, model)
    if isinstance(splits, Split):
        splits = [splits]
    loss_col = _cols(model)["loss"]
    rows, points = [], []
    for split in splits:
        train, test = df[split.train], df[split.test]
        if len(test) == 0:
            raise DataError(f"Split {split.name!r} leaves no test rows.")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            warnings.simplefilter("always", DataWarning)
            post = model.fit(train, **fit_kwargs)
        draws = predict_rows(post, test, model)
        fit_ok = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        data = dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, DataWarning))
        try:
            summary, pts = score_predictions(draws, test[loss_col].to_numpy(float), levels)
            status = "ok"
        except DataError as e:  # a degenerate fit: this split is not scored, the others are
            summary, pts, status = {}, None, f"not scored: {e}"
        rows.append(
            {
                "dataset": dataset,
                "split": split.name,
                "n_train": len(train),
                "n_test": len(test),
                **summary,
                "fit_ok": fit_ok,
                "data_warnings": " | ".join(data),
                "status": status,
            }
        )
        if pts is not None:
            pts.insert(0, "split", split.name)
            pts.index = test.index
            points.append(pts)
    table = pd.DataFrame(rows)
    table.attrs["points"] = pd.concat(points) if points else pd.DataFrame()
    return table


def concat_backtests(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate backtest tables, rows and per-point predictions (``attrs["points"]``) alike.

    ``pd.concat`` compares the tables' ``attrs`` and cannot compare the tables of points they
    hold (pandas raises "The truth value of a DataFrame is ambiguous"): this concatenates the
    rows without them, then the points.

    Parameters
    ----------
    tables : iterable of pandas.DataFrame
        Results of :func:`backtest` (or :func:`bayescale.pooling.new_group_backtest`); tag each
        first (``table.assign(model=...)``) to tell them apart.

    Returns
    -------
    pandas.DataFrame
        The rows, with ``attrs["points"]`` the concatenated points.
    """
    tables = list(tables)
    bare = []
    for table in tables:
        copy = table.copy(deep=False)
        copy.attrs = {}
        bare.append(copy)
    out = pd.concat(bare, ignore_index=True)
    points = [t.attrs["points"] for t in tables if not t.attrs.get("points", pd.DataFrame()).empty]
    out.attrs["points"] = pd.concat(points) if points else pd.DataFrame()
    return out


def loo_pit(post: ScalingPosterior) -> np.ndarray:
    """LOO-PIT values of the fitted rows (``arviz_stats.loo_pit``); uniform when calibrated."""
    with_predictive(post)
    res = arviz_stats.loo_pit(post.tree, var_names=["loss"])
    return np.asarray(res["loss"].values)


def sbc(
    model: Model,
    design: pd.DataFrame,
    n_sims: int = 100,
    draws: int = 400,
    warmup: int = 400,
    thin: int = 4,
    n_bins: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulation-based calibration (Talts et al. 2018) on the design of a table.

    Draws ``n_sims`` parameter sets from the prior, simulates losses at the table's inputs and
    groups, fits every simulation at once (one chain each, as lanes of
    :func:`bayescale.inference.sample_nuts`, every fit on the design's centring scale so the
    data-scaled priors are the ones simulated from), and ranks each true population-level
    parameter among its thinned posterior draws. With a correct sampler and model the ranks are
    uniform; each parameter gets a chi-square test over ``n_bins`` bins.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``parameter``, ``chi2``, ``p_value``, ``n_sims``,
        ``divergent_fits``. ``attrs["ranks"]`` holds the ranks (simulation x parameter) and
        ``attrs["max_rank"]`` their maximum (the number of thinned draws).
    """
    data = model.prepare(design)
    prior = model.prior_draws(data, n=n_sims, seed=seed)
    datas = [dataclasses.replace(data, loss=np.asarray(sim)) for sim in prior["loss"][0]]
    settings = NutsSettings(chains=1, draws=draws, warmup=warmup, seed=seed + 1)
    fits = sample_nuts(model, datas, settings)
    sites = population_sites(model.law, model.effects) + [
        k for k in NOISE_SITES if k in fits[0].samples
    ]
    ranks = {}
    for site in sites:
        post = np.stack([f.samples[site][0, ::thin] for f in fits])
        truth = np.asarray(prior[site][0])
        ranks[site] = (post < truth[:, None]).sum(axis=1)
    max_rank = fits[0].samples[sites[0]][0, ::thin].shape[0]
    divergent = int(sum(bool(f.stats["diverging"].any()) for f in fits))
    rows = []
    for site, r in ranks.items():
        counts = np.histogram(r, bins=n_bins, range=(0, max_rank + 1))[0]
        chi2, p = stats.chisquare(counts)
        rows.append(
            {
                "parameter": site,
                "chi2": float(chi2),
                "p_value": float(p),
                "n_sims": n_sims,
                "divergent_fits": divergent,
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["ranks"] = pd.DataFrame(ranks)
    table.attrs["max_rank"] = max_rank
    return table
