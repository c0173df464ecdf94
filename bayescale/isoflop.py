"""IsoFLOP profiles (Hoffmann et al. 2022, Approach 2): per-budget minima by parabola fits."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bayescale import arguments
from bayescale.cost import DEFAULT_COST, TrainingCost
from bayescale.errors import DataError, DataWarning
from bayescale.sanity import check_duplicates, numeric_column

#: Fewest runs a profile's parabola is fitted to (three points fit one exactly: no check left).
MIN_PARABOLA_POINTS = 3
#: A fitted curvature within this share of the profile's losses' spread (per squared log size)
#: is round-off: a flat profile has no minimum.
CURVATURE_ROUNDOFF = 1e-9
#: Decimals of log10 compute that group runs into profiles where no ``budget`` column is named.
PROFILE_DECIMALS = 1
#: The caveat printed with every Approach-2 result.
PARABOLA_BIAS = (
    "A parabola in log N is symmetric, but the iso-FLOP profile of a Chinchilla-type law, "
    "E + a exp(-alpha x) + b exp(beta x) in x = log N, is not unless alpha = beta: it rises "
    "faster on the side of the larger exponent, so the fitted vertex is pulled towards the "
    "flatter side (smaller N when beta > alpha), more so the wider the sampled range; a grid "
    "not centred on the optimum adds its own bias, and minima at the edge of a profile are "
    "extrapolations (Besiroglu et al. 2024; Porian et al. 2024)."
)


def isoflop_minima(
    df: pd.DataFrame,
    params: str = "params",
    tokens: str = "tokens",
    loss: str = "loss",
    budget: str | None = None,
    decimals: int | None = None,
    min_points: int = 4,
    cost: TrainingCost = DEFAULT_COST,
) -> pd.DataFrame:
    """Fit ``log L = a + b x + c x^2`` (``x = log N``) per budget; return each minimum.

    Parameters
    ----------
    df : pandas.DataFrame
        Runs laid out in iso-FLOP profiles.
    params, tokens, loss : str
        Column names.
    budget : str, optional
        Column identifying each profile; by default compute ``k N D`` rounded to ``decimals``
        decimals of its log10.
    decimals : int, optional
        Rounding of log10 compute that defines a profile (default
        :data:`PROFILE_DECIMALS`, 1); not with ``budget``, which names the profiles itself.
    min_points : int
        Profiles with fewer runs are reported with ``ok=False`` and no minimum; at least 3
        (:data:`MIN_PARABOLA_POINTS`), else a ``ValueError``.
    cost : TrainingCost
        The training cost ``C = k N D`` (a fit's ``post.cost``).

    Returns
    -------
    pandas.DataFrame
        One row per profile: ``compute`` (geometric mean of the profile), ``n_points``,
        ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt``, ``curvature`` and ``ok``
        (a convex fit whose minimum lies inside the sampled range). ``df.attrs["bias"]`` states
        the known bias of this method.

    Raises
    ------
    ValueError
        When a column is missing, ``loss`` names the sizes' or tokens' column, ``min_points``
        is below 3, or both ``budget`` and ``decimals`` are given.

    Examples
    --------
    The simulated ladder's five budgets are five iso-FLOP profiles of seven runs:

    >>> from bayescale.isoflop import isoflop_minima
    >>> minima = isoflop_minima(runs)
    >>> minima[["compute", "n_points", "ok"]]
           compute  n_points    ok
    0  1.000000e+18         7  True
    1  3.000000e+18         7  True
    2  1.000000e+19         7  True
    3  3.000000e+19         7  True
    4  1.000000e+20         7  True
    >>> print(f"{minima['N_opt'].iloc[-1]:.3g} parameters at 1e20 FLOP")
    6.07e+08 parameters at 1e20 FLOP
    """
    _check_table(df, "isoflop_minima")
    if loss not in df:
        raise ValueError(f"isoflop_minima needs a loss column {loss!r}; name it with loss=.")
    if loss in (params, tokens):  # a parabola of a size against itself
        raise ValueError(
            f"loss= names the column {loss!r}, which params= or tokens= names too: give the "
            "loss its own column."
        )
    min_points = arguments.count(min_points, "min_points", minimum=MIN_PARABOLA_POINTS)
    key, c = profiles(df, params, tokens, budget, decimals, cost)
    numeric_column(df, loss, "loss")
    check_duplicates(df, [params, tokens, loss, *([budget] if budget is not None else [])])
    rows = []
    for k, pos in df.groupby(key).indices.items():  # by position: the index may repeat
        sub = df.iloc[pos]
        x = np.log(sub[params].to_numpy(float))
        cb = float(np.exp(np.mean(np.log(c[pos]))))
        row = {"profile": k, "compute": cb, "n_points": len(sub)}
        if len(sub) >= min_points and np.ptp(x) > 0:
            vertex = parabola_minimum(x, np.log(sub[loss].to_numpy(float)))
            n_opt = float(np.exp(vertex["log_n"]))
            row.update(
                {
                    "N_opt": n_opt,
                    "D_opt": cost.tokens(cb, n_opt),
                    "loss_opt": float(np.exp(vertex["log_loss"])),
                    "curvature": float(vertex["curvature"]),
                    "ok": bool(vertex["ok"]),
                }
            )
        else:
            row.update(
                {
                    "N_opt": np.nan,
                    "D_opt": np.nan,
                    "loss_opt": np.nan,
                    "curvature": np.nan,
                    "ok": False,
                }
            )
        rows.append(row)
    out = pd.DataFrame(rows).sort_values("compute").reset_index(drop=True)
    out["tokens_per_param"] = out["D_opt"] / out["N_opt"]
    out.attrs["bias"] = PARABOLA_BIAS
    warn_short_profiles(out["n_points"].to_numpy(), min_points, "isoflop_minima")
    return out


def warn_short_profiles(counts: np.ndarray, min_points: int, call: str) -> None:
    """Warn when no profile has ``min_points`` runs: every minimum of the table is NaN.

    Parameters
    ----------
    counts : numpy.ndarray
        The runs of each profile.
    min_points : int
        The fewest a profile's parabola is fitted to.
    call : str
        The function, for the message.

    Warns
    -----
    DataWarning
        When every profile has fewer than ``min_points`` runs.

    Examples
    --------
    >>> import warnings
    >>> from bayescale.isoflop import warn_short_profiles
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_short_profiles(np.array([3, 3]), 4, "isoflop_minima")
    >>> print(caught[0].message)
    isoflop_minima: no profile has min_points=4 runs (they have [3, 3]): every minimum is NaN. ...
    """
    if len(counts) and int(np.max(counts)) < min_points:
        shown = sorted(int(c) for c in counts)[:10]
        warnings.warn(
            f"{call}: no profile has min_points={min_points} runs (they have {shown}): every "
            f"minimum is NaN. Lower min_points (at least {MIN_PARABOLA_POINTS}: a parabola "
            "through three runs fits them exactly, with nothing left to check it), or give each "
            "budget more sizes.",
            DataWarning,
            stacklevel=3,
        )


#: How far apart (decades of compute) the runs one ``budget`` label holds may lie.
PROFILE_SPREAD_DECADES = 0.3


def profiles(
    df: pd.DataFrame,
    params: str = "params",
    tokens: str = "tokens",
    budget: str | None = None,
    decimals: int | None = None,
    cost: TrainingCost = DEFAULT_COST,
) -> tuple[pd.Series, np.ndarray]:
    """Return each run's iso-FLOP profile and its compute ``k N D``.

    The profile is the ``budget`` column where given, else compute rounded to ``decimals``
    decimals of its log10 (as :func:`isoflop_minima` groups runs).

    Parameters
    ----------
    df : pandas.DataFrame
        The runs.
    params, tokens : str
        Column names of their sizes and tokens.
    budget : str, optional
        Column identifying each profile.
    decimals : int, optional
        Rounding of log10 compute that defines a profile (default :data:`PROFILE_DECIMALS`,
        1); not with ``budget``.
    cost : TrainingCost
        The training cost ``C = k N D``.

    Returns
    -------
    tuple
        ``(profile, compute)``: each run's profile (a Series on ``df``'s index) and its compute.

    Raises
    ------
    ValueError
        When ``params``, ``tokens`` or ``budget`` is not a column of ``df``, ``decimals`` is
        not a whole number >= 0, or both ``budget`` and ``decimals`` are given.

    Examples
    --------
    >>> from bayescale.isoflop import profiles
    >>> key, compute = profiles(runs)
    >>> key.unique().tolist()
    [18.0, 18.5, 19.0, 19.5, 20.0]
    >>> profiles(runs, params="size")
    Traceback (most recent call last):
    ...
    ValueError: Iso-FLOP profiles need a column 'size' (params=); ...
    """
    _check_table(df, "profiles")
    for role, col in (("params", params), ("tokens", tokens), ("budget", budget)):
        if col is not None and col not in df:
            raise ValueError(
                f"Iso-FLOP profiles need a column {col!r} ({role}=); the table has "
                f"{list(df.columns)}. Name the right column with {role}=."
            )
    if params == tokens:  # every run's N is its D: every profile one line
        raise ValueError(
            f"params= and tokens= both name the column {params!r}: give each its own column."
        )
    if not isinstance(cost, TrainingCost):
        raise TypeError(
            f"cost must be a TrainingCost (e.g. TrainingCost(6) for C = 6 N D), got "
            f"{type(cost).__name__} {cost!r}."
        )
    if budget is not None and decimals is not None:  # one would be ignored
        raise ValueError(
            f"budget={budget!r} names each run's profile and decimals={decimals!r} rounds "
            "compute into profiles: give one of them (leave decimals out with budget)."
        )
    if budget is None:  # decimals < 0 rounds budgets decades apart into one profile
        decimals = PROFILE_DECIMALS if decimals is None else decimals
        decimals = arguments.count(decimals, "decimals", minimum=0)
    n, d = numeric_column(df, params, "params"), numeric_column(df, tokens, "tokens")
    c = cost.flops(n, d)
    if budget is None:
        return pd.Series(np.round(np.log10(c), decimals), index=df.index), c
    missing = df[budget].isna().to_numpy()
    if missing.any():
        rows = list(df.index[missing][:5])
        raise DataError(
            f"Column {budget!r} (budget) has no profile label at {int(missing.sum())} "
            f"row(s), e.g. rows {rows}: label every run's profile, or leave budget= out "
            "to group runs by their compute.",
            column=budget,
            rows=rows,
        )
    key = df[budget]
    spread = pd.Series(np.log10(c), index=df.index).groupby(key).agg(np.ptp)
    if spread.max() > PROFILE_SPREAD_DECADES:  # one label over runs of very different compute
        warnings.warn(
            DataWarning(
                f"Column {budget!r} (budget) labels runs {spread.max():.2g} decades of compute "
                f"apart as one profile ({spread.idxmax()!r}); an iso-FLOP profile holds one "
                f"budget (within {PROFILE_SPREAD_DECADES:g} decades here): check the labels "
                "(their FLOP count may differ from k N D), or leave budget= out to group runs "
                "by their compute."
            ),
            stacklevel=3,
        )
    return key, c


def _check_table(df: object, call: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"{call} takes a table of runs (a pandas DataFrame), got a {type(df).__name__}; "
            "e.g. pd.DataFrame(runs)."
        )
    if df.empty:
        raise DataError(f"{call}: the table has no rows; give the runs of the iso-FLOP profiles.")


def parabola_minimum(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Least-squares ``y = c0 + c1 x + c2 x^2`` and its vertex, for one or many ``y``.

    Parameters
    ----------
    x : numpy.ndarray
        ``(n,)`` positions (``log N`` of a profile's runs).
    y : numpy.ndarray
        ``(..., n)`` values (their log losses): one fit per leading index.

    Returns
    -------
    dict
        ``log_n`` (the vertex, NaN unless ``c2 > 0``), ``log_loss`` (the parabola there),
        ``curvature`` (``c2``) and ``ok`` (convex with its vertex inside ``x``'s range), each
        shaped as ``y`` without its last axis.

    Examples
    --------
    >>> from bayescale.isoflop import parabola_minimum
    >>> x = np.linspace(-1.0, 1.0, 5)
    >>> v = parabola_minimum(x, np.stack([(x - 0.25) ** 2, -(x**2)]))
    >>> v["log_n"].round(3).tolist(), v["ok"].tolist()
    ([0.25, nan], [True, False])
    """
    try:
        x, y = np.asarray(x, float), np.asarray(y, float)
    except (TypeError, ValueError):
        raise DataError(
            "parabola_minimum: x and y must be numbers (the profile's log sizes and log losses)."
        ) from None
    if x.ndim != 1 or y.ndim < 1 or y.shape[-1] != x.size or x.size < 3:
        raise ValueError(
            f"parabola_minimum: x of shape {x.shape} and y of shape {y.shape}: give x as the "
            "profile's log sizes (3 or more) and y with the same length on its last axis."
        )
    if not np.isfinite(x).all():  # a y that is not (an overflowed draw) leaves its fit not ok
        raise DataError("parabola_minimum: x is not finite (NaN or inf): no parabola fits.")
    design = np.stack([np.ones_like(x), x, x**2], axis=1)
    coef = np.linalg.lstsq(design, y.reshape(-1, x.size).T, rcond=None)[0]  # (3, fits)
    c0, c1, c2 = (coef[i].reshape(y.shape[:-1]) for i in range(3))
    # convex beyond round-off (a flat profile fits a curvature of 1e-17), through three sizes
    with np.errstate(invalid="ignore"):
        spread = np.nan_to_num(np.ptp(y, axis=-1), nan=0.0)
    flat = np.abs(c2) <= CURVATURE_ROUNDOFF * np.maximum(spread, 1.0) / max(np.ptp(x), 1e-300) ** 2
    c2 = np.where(np.unique(x).size < 3, np.nan, np.where(flat, 0.0, c2))
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = np.where(c2 > 0, -c1 / (2 * c2), np.nan)
    with np.errstate(invalid="ignore"):
        ok = (c2 > 0) & (vertex >= x.min()) & (vertex <= x.max())
    return {
        "log_n": vertex,
        "log_loss": c0 + c1 * vertex + c2 * vertex**2,
        "curvature": c2,
        "ok": ok,
    }


def power_fit(minima: pd.DataFrame) -> dict[str, float]:
    """Least-squares ``N_opt = G C^a`` and ``D_opt = H C^b`` through the valid minima.

    Parameters
    ----------
    minima : pandas.DataFrame
        The table of :func:`isoflop_minima` (its ``compute``, ``N_opt``, ``D_opt``, ``ok``).

    Returns
    -------
    dict
        ``{"a", "G", "b", "H"}``; ``a + b = 1`` when every profile has ``C = k N D``.

    Raises
    ------
    ValueError
        With fewer than two valid minima.

    Examples
    --------
    Hoffmann et al.'s parameters give ``a = beta / (alpha + beta) = 0.45``:

    >>> from bayescale.isoflop import isoflop_minima, power_fit
    >>> scaling = power_fit(isoflop_minima(runs))
    >>> round(scaling["a"], 2), round(scaling["b"], 2)
    (0.45, 0.55)
    """
    _check_table(minima, "power_fit")
    needed = ["compute", "N_opt", "D_opt", "ok"]
    absent = [c for c in needed if c not in minima.columns]
    if absent:
        raise ValueError(
            f"power_fit takes the table isoflop_minima returns; this one lacks {absent} (the "
            "runs themselves? pass isoflop_minima(runs))."
        )
    ok = minima[minima["ok"].astype(bool)]
    if len(ok) < 2:
        raise ValueError("Need at least two valid iso-FLOP minima for a power-law fit.")
    values = ok[["compute", "N_opt", "D_opt"]].to_numpy(float)
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise DataError(
            "power_fit: a minimum marked ok has a compute, N_opt or D_opt that is not a finite "
            "number > 0 (an edited table?): fix those rows, or mark them ok=False."
        )
    lc = np.log(ok["compute"].to_numpy(float))
    a, log_g = np.polyfit(lc, np.log(ok["N_opt"].to_numpy(float)), 1)
    b, log_h = np.polyfit(lc, np.log(ok["D_opt"].to_numpy(float)), 1)
    return {"a": float(a), "G": float(np.exp(log_g)), "b": float(b), "H": float(np.exp(log_h))}
