"""Figures: the data with the fitted law and its credible bands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from bayescale.laws.base import INPUTS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayescale.posterior import ScalingPosterior

#: Okabe-Ito colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
AXIS_LABELS = {
    "N": "parameters N",
    "D": "training tokens D",
    "C": "training compute C (FLOP)",
    "step": "step",
}


def plot_fit(
    post: ScalingPosterior,
    df: pd.DataFrame,
    group: str | None = None,
    prob: float = 0.9,
    path: str | Path | None = None,
) -> Figure:
    """Observed loss against the law's first input, with the posterior median and band.

    Runs are drawn in curves: for a law of ``N`` and ``D`` whose data carry compute, one curve
    per IsoFLOP budget (compute rounded to a tenth of a decade) along which the band is the
    posterior of the law's mean; otherwise one curve per run. With ``group``, one panel per
    level of that column.

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    df : pandas.DataFrame
        The fitted table (column names as given to the fit).
    group : str, optional
        A group column of the model; one panel per level.
    prob : float
        Probability of the credible band.
    path : str or Path, optional
        Where to save the figure (PNG, PDF, ... by suffix).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    law = post.law
    cols = post.model.prepare(df).columns
    mode, curve_all, xname = _curves(df, cols, law.inputs)
    xcol = cols[INPUTS[xname]]
    levels = [None] if group is None else sorted(df[group].astype(str).unique())
    ncol = 2 if len(levels) == 4 else min(len(levels), 3)
    nrow = int(np.ceil(len(levels) / ncol))
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(5.2 * ncol, 4.2 * nrow), squeeze=False, sharey=True
    )
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    all_keys = sorted(curve_all.unique())
    cmap = plt.get_cmap("viridis")
    for ax, level in zip(axes.flat, levels, strict=False):
        sub = df if level is None else df[df[group].astype(str) == level]
        curve = curve_all.loc[sub.index]
        for key in sorted(curve.unique()):
            i = all_keys.index(key)
            if len(all_keys) <= len(PALETTE):
                color = PALETTE[i]
            else:  # many curves: a sequential colour by position (a colour bar names them)
                color = cmap(i / max(len(all_keys) - 1, 1))
            rows = sub[curve == key].sort_values(xcol)
            ax.scatter(rows[xcol], rows[cols["loss"]], s=14, color=color, zorder=3)
            if len(rows) < 2:
                continue
            inputs = _grid(rows, cols, law.inputs, xname, mode == "compute")
            groups = {} if level is None else {group: level}
            pred = post.predict(kind="mean", **inputs, **groups)
            q = pred.quantile([lo_q, 0.5, hi_q], dim=("chain", "draw")).values
            x = inputs[xname]
            ax.fill_between(x, q[0], q[2], color=color, alpha=0.2, lw=0)
            label = {"compute": f"C = 1e{key:.1f}", "size": f"N = 1e{key:.2f}"}.get(mode, key)
            ax.plot(x, q[1], color=color, lw=1.4, label=label if len(all_keys) <= 8 else None)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(ScalarFormatter())
        ax.set_xlabel(AXIS_LABELS[xname])
        if level is not None:
            ax.set_title(f"{group} = {level}")
        ax.grid(True, which="both", alpha=0.25)
    for ax in axes[:, 0]:
        ax.set_ylabel("loss (nats/token)")
    for ax in list(axes.flat)[len(levels) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right center", fontsize=8, frameon=False)
    elif mode in ("compute", "size") and len(all_keys) > len(PALETTE):
        norm = matplotlib.colors.Normalize(min(all_keys), max(all_keys))
        sm = matplotlib.cm.ScalarMappable(norm=norm, cmap="viridis")
        label = {
            "compute": "log10 compute of the IsoFLOP curve (FLOP)",
            "size": "log10 parameters N of the model",
        }[mode]
        fig.colorbar(sm, ax=axes, label=label)
    fig.suptitle(f"{law.name} law: posterior median and {prob:.0%} band of the mean", fontsize=11)
    fig.set_layout_engine("constrained")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150)
    return fig


def _curves(df: pd.DataFrame, cols: dict, inputs: tuple[str, ...]) -> tuple[str, pd.Series, str]:
    """How to draw runs as curves: ``(mode, curve key per row, x input)``.

    A law of ``N`` and ``D`` on IsoFLOP data (budgets of a tenth of a decade holding 3 or more
    model sizes, typically) draws loss against ``N`` per budget; on other designs (e.g.
    over-training sweeps) loss against ``D`` per model size. Otherwise one curve per run, or one
    curve.
    """
    if set(inputs) == {"N", "D"}:
        c = (
            df[cols["flops"]]
            if cols["flops"] in df
            else 6 * df[cols["params"]] * df[cols["tokens"]]
        )
        budget = np.round(np.log10(c.astype(float)), 1)
        sizes_per_budget = df[cols["params"]].groupby(budget).nunique()
        if sizes_per_budget.median() >= 3:
            return "compute", budget, "N"
        return "size", np.round(np.log10(df[cols["params"]].astype(float)), 2), "D"
    if cols["run"] in df:
        return "run", df[cols["run"]].astype(str), inputs[0]
    return "all", pd.Series("all", index=df.index), inputs[0]


def _grid(
    rows: pd.DataFrame, cols: dict, inputs: tuple, xname: str, iso_flop: bool
) -> dict[str, np.ndarray]:
    """Return inputs at 60 points spanning a curve's x range."""
    x = rows[cols[INPUTS[xname]]].to_numpy(float)
    grid = np.geomspace(x.min(), x.max(), 60)
    out = {xname: grid}
    if iso_flop:
        c = float(np.exp(np.mean(np.log(6 * rows[cols["params"]] * rows[cols["tokens"]]))))
        other = "D" if xname == "N" else "N"
        out[other] = c / (6 * grid)
    else:
        for k in inputs:
            if k != xname:
                v = rows[cols[INPUTS[k]]].to_numpy(float)
                out[k] = np.exp(np.interp(np.log(grid), np.log(x), np.log(v)))
    return out


def plot_frontier(
    front: xr.Dataset,
    minima: pd.DataFrame | None = None,
    prob: float = 0.8,
    data_compute: tuple[float, float] | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Credible bands of ``N*(C)``, ``D*(C)`` and ``D*/N*`` against compute.

    Parameters
    ----------
    front : xarray.Dataset
        The result of :func:`bayescale.frontier.frontier`.
    minima : pandas.DataFrame, optional
        Iso-FLOP minima (:func:`bayescale.isoflop.isoflop_minima`) drawn as points.
    prob : float
        Probability of the bands.
    data_compute : tuple of float, optional
        Compute range of the fitted runs, shaded so extrapolation is visible.
    path : str or Path, optional
        Where to save the figure.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    q = front.quantile([lo_q, 0.5, hi_q], dim=("chain", "draw"))
    c = front["compute"].values
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4))
    for var, color, label in (
        ("N_opt", PALETTE[0], "N* (parameters)"),
        ("D_opt", PALETTE[1], "D* (tokens)"),
    ):
        ax1.fill_between(c, q[var][0], q[var][2], color=color, alpha=0.25, lw=0)
        ax1.plot(c, q[var][1], color=color, label=f"{label}, median and {prob:.0%} band")
    ax2.fill_between(
        c, q["tokens_per_param"][0], q["tokens_per_param"][2], color=PALETTE[2], alpha=0.25, lw=0
    )
    ax2.plot(c, q["tokens_per_param"][1], color=PALETTE[2], label=f"median and {prob:.0%} band")
    if minima is not None:
        ok = minima[minima["ok"]]
        ax1.scatter(
            ok["compute"],
            ok["N_opt"],
            color=PALETTE[0],
            marker="D",
            s=22,
            zorder=3,
            label="iso-FLOP parabola minima (Approach 2)",
        )
        ax1.scatter(ok["compute"], ok["D_opt"], color=PALETTE[1], marker="D", s=22, zorder=3)
        ax2.scatter(
            ok["compute"],
            ok["tokens_per_param"],
            color=PALETTE[2],
            marker="D",
            s=22,
            zorder=3,
            label="iso-FLOP parabola minima",
        )
    for ax in (ax1, ax2):
        if data_compute is not None:
            ax.axvspan(*data_compute, color="0.85", zorder=0, label="compute range of the data")
        ax.set_xscale("log")
        ax.set_xlabel("training compute C (FLOP)")
        ax.grid(True, which="both", alpha=0.25)
    ax1.set_yscale("log")
    ax1.set_ylabel("compute-optimal N* and D*")
    ax2.set_xscale("log")
    ax2.set_ylabel("tokens per parameter D*/N*")
    ax1.legend(fontsize=8, loc="upper left")
    ax2.legend(fontsize=8, loc="best")
    fig.suptitle(f"Compute-optimal frontier ({front.attrs.get('groups', '')})", fontsize=11)
    fig.set_layout_engine("constrained")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150)
    return fig
