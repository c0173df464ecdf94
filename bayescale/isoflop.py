"""IsoFLOP profiles (Hoffmann et al. 2022, Approach 2): per-budget minima by parabola fits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayescale.cost import DEFAULT_COST, TrainingCost

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
    decimals: int = 1,
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
    decimals : int
        Rounding of log10 compute that defines a profile.
    min_points : int
        Profiles with fewer runs are reported with ``ok=False`` and no minimum.
    cost : TrainingCost
        The training cost ``C = k N D`` (a fit's ``post.cost``).

    Returns
    -------
    pandas.DataFrame
        One row per profile: ``compute`` (geometric mean of the profile), ``n_points``,
        ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt``, ``curvature`` and ``ok``
        (a convex fit whose minimum lies inside the sampled range). ``df.attrs["bias"]`` states
        the known bias of this method.

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
    c = cost.flops(df[params].to_numpy(float), df[tokens].to_numpy(float))
    key = df[budget] if budget else pd.Series(np.round(np.log10(c), decimals), index=df.index)
    rows = []
    for k, idx in df.groupby(key).groups.items():
        sub = df.loc[idx]
        x = np.log(sub[params].to_numpy(float))
        y = np.log(sub[loss].to_numpy(float))
        cb = float(np.exp(np.mean(np.log(c[df.index.get_indexer(idx)]))))
        row = {"profile": k, "compute": cb, "n_points": len(sub)}
        if len(sub) >= min_points and np.ptp(x) > 0:
            c2, c1, c0 = np.polyfit(x, y, 2)
            x_opt = -c1 / (2 * c2) if c2 > 0 else np.nan
            ok = bool(c2 > 0 and x.min() <= x_opt <= x.max())
            n_opt = float(np.exp(x_opt)) if c2 > 0 else np.nan
            row.update(
                {
                    "N_opt": n_opt,
                    "D_opt": cost.tokens(cb, n_opt),
                    "loss_opt": float(np.exp(c0 + c1 * x_opt + c2 * x_opt**2)),
                    "curvature": float(c2),
                    "ok": ok,
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
    return out


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
    ok = minima[minima["ok"]]
    if len(ok) < 2:
        raise ValueError("Need at least two valid iso-FLOP minima for a power-law fit.")
    lc = np.log(ok["compute"].to_numpy(float))
    a, log_g = np.polyfit(lc, np.log(ok["N_opt"].to_numpy(float)), 1)
    b, log_h = np.polyfit(lc, np.log(ok["D_opt"].to_numpy(float)), 1)
    return {"a": float(a), "G": float(np.exp(log_g)), "b": float(b), "H": float(np.exp(log_h))}
