"""Figures: the data with the fitted law and its credible bands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

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
    xname = law.inputs[0]
    role = {"N": "params", "D": "tokens", "C": "flops", "step": "step"}
    xcol = cols[role[xname]]
    levels = [None] if group is None else sorted(df[group].astype(str).unique())
    ncol = 2 if len(levels) == 4 else min(len(levels), 3)
    nrow = int(np.ceil(len(levels) / ncol))
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(5.2 * ncol, 4.2 * nrow), squeeze=False, sharey=True
    )
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    flops = df[cols["flops"]] if cols["flops"] in df else None
    if flops is None and set(law.inputs) == {"N", "D"}:
        flops = 6 * df[cols["params"]] * df[cols["tokens"]]
    for ax, level in zip(axes.flat, levels, strict=False):
        sub = df if level is None else df[df[group].astype(str) == level]
        if flops is not None and set(law.inputs) == {"N", "D"}:
            curve = np.round(np.log10(flops.loc[sub.index]), 1)
            title_key = "compute"
        elif cols["run"] in sub:
            curve = sub[cols["run"]].astype(str)
            title_key = "run"
        else:
            curve = pd.Series("all", index=sub.index)
            title_key = ""
        keys = sorted(curve.unique())
        for i, key in enumerate(keys):
            color = PALETTE[i % len(PALETTE)]
            rows = sub[curve == key].sort_values(xcol)
            ax.scatter(rows[xcol], rows[cols["loss"]], s=14, color=color, zorder=3)
            if len(rows) < 2:
                continue
            inputs = _grid(rows, cols, law.inputs, xname, title_key == "compute")
            groups = {} if level is None else {group: level}
            pred = post.predict(kind="mean", **inputs, **groups)
            q = pred.quantile([lo_q, 0.5, hi_q], dim=("chain", "draw")).values
            x = inputs[xname]
            ax.fill_between(x, q[0], q[2], color=color, alpha=0.2, lw=0)
            label = f"C = 1e{key:.1f}" if title_key == "compute" else str(key)
            ax.plot(x, q[1], color=color, lw=1.4, label=label if len(keys) <= 8 else None)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(ScalarFormatter())
        ax.set_xlabel(AXIS_LABELS[xname])
        ax.set_title(f"{group} = {level}" if level is not None else f"{law.name} law fit")
        ax.grid(True, which="both", alpha=0.25)
    for ax in axes[:, 0]:
        ax.set_ylabel("loss (nats/token)")
    for ax in list(axes.flat)[len(levels) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right center", fontsize=8, frameon=False)
    fig.suptitle(f"Posterior median and {prob:.0%} band of the law's mean", fontsize=11)
    fig.set_layout_engine("constrained")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150)
    return fig


def _grid(
    rows: pd.DataFrame, cols: dict, inputs: tuple, xname: str, iso_flop: bool
) -> dict[str, np.ndarray]:
    """Return inputs at 60 points spanning a curve's x range."""
    role = {"N": "params", "D": "tokens", "C": "flops", "step": "step"}
    x = rows[cols[role[xname]]].to_numpy(float)
    grid = np.geomspace(x.min(), x.max(), 60)
    out = {xname: grid}
    if iso_flop:
        c = float(np.exp(np.mean(np.log(6 * rows[cols["params"]] * rows[cols["tokens"]]))))
        other = "D" if xname == "N" else "N"
        out[other] = c / (6 * grid)
    else:
        for k in inputs:
            if k != xname:
                v = rows[cols[role[k]]].to_numpy(float)
                out[k] = np.exp(np.interp(np.log(grid), np.log(x), np.log(v)))
    return out
