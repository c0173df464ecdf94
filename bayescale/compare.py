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
from typing import Any

import arviz_stats
import numpy as np
import pandas as pd
import xarray as xr

from bayescale.errors import DataError
from bayescale.frontier import frontier
from bayescale.loo import loo
from bayescale.model import Model
from bayescale.posterior import ScalingPosterior


def _same_data(posts: Mapping[str, ScalingPosterior]) -> None:
    ys = {k: np.asarray(p.draws_tree["observed_data"]["loss"].values) for k, p in posts.items()}
    first_name, first = next(iter(ys.items()))
    for name, y in ys.items():
        if y.shape != first.shape or not np.allclose(y, first):
            raise DataError(
                f"compare: fits {first_name!r} and {name!r} were fitted to different data "
                f"({first.size} vs {y.size} rows or different losses); LOO compares models of "
                "the same observations."
            )


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
    if len(posteriors) < 2:
        raise ValueError("compare needs at least two fits.")
    _same_data(posteriors)
    with warnings.catch_warnings():
        # Reported per fit in the table (``warning``, ``pareto_k_max``) instead.
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        elpds = {name: loo(post) for name, post in posteriors.items()}
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
    if isinstance(weights, pd.DataFrame):
        weights = weights["weight"]
    w = {k: float(v) for k, v in dict(weights).items() if float(v) > 0}
    missing = set(w) - set(posteriors)
    if missing:
        raise ValueError(f"weights name fits {sorted(missing)} that are not in posteriors.")
    total = sum(w.values())
    if total <= 0:
        raise ValueError("weights must have a positive sum.")
    rng = np.random.default_rng(rng_seed)
    parts = []
    for i, (name, wk) in enumerate(sorted(w.items())):
        k = round(wk / total * n_draws)
        if k == 0:
            continue
        pred = posteriors[name].predict(rng_seed=rng_seed + i, **values)
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
            c = compute or 100.0 * float(post.cost.flops(fitted["x_N"], fitted["x_D"]).max())
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


__all__ = ["VARIANTS", "averaged_predict", "compare", "sensitivity"]
