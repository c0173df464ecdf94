"""Every figure of bayescale: fits, extrapolation fans, frontiers, calibration, diagnostics.

Figures are matplotlib :class:`~matplotlib.figure.Figure` objects made without pyplot, so the
library never changes a notebook's backend; where ArviZ has the plot (LOO-PIT with its
uniformity test, trace and rank, posterior predictive, prior against posterior) the figure is
``arviz_plots``' own, drawn on ``post.tree``. Every function takes ``path=`` to save the figure.
"""

from __future__ import annotations

import errno
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from bayescale import arguments
from bayescale.calibration import check_backtest_table, coverage_columns
from bayescale.cost import DEFAULT_COST, TrainingCost
from bayescale.data import ScalingData, compute_of, level_order
from bayescale.defaults import PROB
from bayescale.errors import DataWarning, SpecificationError
from bayescale.frontier import frontier, whose
from bayescale.isoflop import PROFILE_DECIMALS
from bayescale.laws.base import INPUTS, Law
from bayescale.loo import require_one_step, require_psis_draws, smoothable
from bayescale.posterior import ScalingPosterior, with_predictive
from bayescale.sites import terms_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Most rows (levels) a forest plot draws of one variable; more are thinned evenly.
FOREST_MAX_ROWS = 40
#: Most panels :func:`plot_fit` draws, one per level of a group; with more levels (an effect
#: per run, say) every level is drawn in one panel, with a new level's band.
FIT_MAX_PANELS = 12
#: Okabe-Ito colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
AXIS_LABELS = {
    "N": "parameters N",
    "D": "training tokens D",
    "C": "training compute C (FLOP)",
    "step": "step",
    "U": "unique tokens U",
    "L": "upstream loss L",
    "S1": "learning-rate area S1",
    "S2": "annealing area S2",
}
#: One-input laws' inputs that fall as the models grow (an upstream loss): a fan extends them down.
FALLING_INPUTS: frozenset[str] = frozenset({"L"})


# matplotlib and arviz_plots are imported on first use: they are a second of `import bayescale`
# (matplotlib.figure alone ~1 s on 2 CPU cores), which a fit does not need.
def _figure(**kwargs: Any) -> Figure:
    """Return a matplotlib Figure made without pyplot."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _arviz_plots():
    """``arviz_plots``, imported on first use (it imports pyplot)."""
    import arviz_plots

    return arviz_plots


def _save(fig: Figure, path: str | Path | None) -> Figure:
    """Save ``fig`` to the file ``path`` (its suffix picks the format), creating its folder."""
    if path is not None:
        out = arguments.not_a_folder(path, "fit.png")
        kinds = fig.canvas.get_supported_filetypes()
        suffix = out.suffix.lower().lstrip(".")
        if not suffix:  # matplotlib would add its default .png: a file of another name
            named = out if not out.name.startswith(".") else out.with_name("fit")  # '.png'
            raise ValueError(
                f"path={str(path)!r} has no suffix, which names the figure's format: give e.g. "
                f"{str(named.with_suffix('.png'))!r} or {str(named.with_suffix('.pdf'))!r}."
            )
        if suffix not in kinds:
            raise ValueError(
                f"path={str(path)!r}: matplotlib cannot write .{suffix} files; use one of "
                f"{sorted(kinds)} (png or pdf for a paper)."
            )
        above = next((a for a in out.parents if a.exists()), None)  # mkdir's "File exists"
        if above is not None and not above.is_dir():
            raise NotADirectoryError(
                errno.ENOTDIR, f"Cannot write the figure to {str(path)!r}: {above} is a file"
            )
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(out, dpi=150)
        except OSError as e:  # a folder that cannot be made or written, a full disk
            raise type(e)(
                e.errno, f"Cannot write the figure to {str(path)!r}: {e.strerror or e}"
            ) from None
    return fig


def _log_axes(ax: Any) -> None:
    """Make both axes log, the loss axis labelled as :func:`_plain_log_y` labels it."""
    ax.set_xscale("log")
    _plain_log_y(ax)
    ax.grid(True, which="both", alpha=0.25)


def _plain_log_y(ax: Any) -> None:
    """Make the y axis log, labelled in plain numbers that a reader can read values from.

    Within a decade, evenly spaced ticks (a log axis labels only ``2`` and ``3`` between 1.85
    and 3.4); up to two decades, the powers of ten and the 2s and 5s between them; beyond, the
    powers of ten. Reads the axis limits: call it after drawing.
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    span = abs(np.log10(hi / lo)) if lo > 0 and hi > 0 else np.inf  # inverted axes too
    plain = FuncFormatter(lambda v, _: f"{v:g}")  # 2.25, 10, 100 (not 10.0)
    if span < 1:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=7))
        ax.yaxis.set_minor_formatter(NullFormatter())
    elif span <= 2:

        def twos_and_fives(v: float, _: Any) -> str:
            lead = round(v / 10 ** np.floor(np.log10(v)), 6)
            return f"{v:g}" if lead in (2, 5) else ""

        ax.yaxis.set_minor_formatter(FuncFormatter(twos_and_fives))
    else:
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(plain)


def _metric_label(post: ScalingPosterior, column: str) -> str:
    """Return the y-axis label of a fit's metric: a loss in nats per token, else its column."""
    if _loss_model(post).scale == "logit":  # an accuracy or error rate, between 0 and 1
        return f"{column} (a share from 0 to 1)"
    return "loss (nats/token)" if column == "loss" else column


def _loss_model(post: Any) -> Any:
    """Return the model of a fit's ``loss`` variable (a two-step fit's first step)."""
    return getattr(post.model, "loss", post.model)


def plot_fit(
    post: ScalingPosterior,
    df: pd.DataFrame | None = None,
    group: str | None = None,
    prob: float = PROB,
    path: str | Path | None = None,
) -> Figure:
    """Observed loss against the law's first input, with the posterior median and band.

    Runs are drawn in curves: training curves (a run column with several checkpoints of a run)
    one curve per run, against ``D`` for a law of ``N`` and ``D``, the law's mean without the
    run's own offset (the title gives the offsets' standard deviation); otherwise, for a law of
    ``N`` and ``D``, one curve per IsoFLOP budget (compute rounded to a tenth of a decade), or
    per model size where the budgets hold fewer than three sizes; other laws, one curve per run.
    Many curves are coloured by their budget or size (a colour bar names it). With ``group``,
    one panel per level of that column; a group of more than :data:`FIT_MAX_PANELS` levels is
    drawn in one panel, whose band is a new level's (the title says so).

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    df : pandas.DataFrame, optional
        The runs to draw beside the law (column names as given to the fit): by default the
        fitted table, rebuilt from the tree; a subset of it, or runs the fit did not see (a
        held-out run), are drawn as given, beside the fit's law and band.
    group : str, optional
        A group column of the model; one panel per level (default: the first term's first
        column).
    prob : float
        Probability of the credible band.
    path : str or Path, optional
        Where to save the figure (PNG, PDF, ... by suffix).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per level of ``group`` (one panel without groups).

    Examples
    --------
    >>> fig = bs.plotting.plot_fit(post, path="fit.png")
    >>> len(fig.axes)  # one panel: loss against N, one curve per IsoFLOP budget
    1
    >>> fig = bs.plotting.plot_fit(family_post)  # A varies by family: one panel per family
    >>> [ax.get_title() for ax in fig.axes]
    ['family = f0', 'family = f1', 'family = f2', 'family = f3']
    """
    arguments.fitted(post, "plot_fit")
    prob = arguments.probability(prob, "prob")
    df = post.fitted_table() if df is None else _table(df, "plot_fit: df")
    df = df.reset_index(drop=True)  # rows by position: a table's index may repeat (pd.concat)
    terms = terms_of(post.model.effects)
    if group is None and terms:
        group = terms[0].columns[0]
    grouped = list(dict.fromkeys(c for t in terms for c in t.columns))
    run = None
    if post.has_run_offset:  # a per-run offset: a panel per run
        run = post.run_column
        grouped.append(run)
    if group is not None and group not in grouped:
        raise ValueError(
            f"plot_fit: group={group!r} is not a group column of this fit, whose effects read "
            f"{grouped or 'none'}: a panel per level shows each level's own effects."
        )
    law = post.law
    data = _prepared(post, df)
    cols = data.columns
    missing = {k: cols[INPUTS[k]] for k in law.inputs if cols[INPUTS[k]] not in df}
    if missing:  # an input the fit computed (compute from N and D): drawn as the fit read it
        df = df.assign(**{c: data.x[k] for k, c in missing.items()})
    mode, curve_all, xname = _curves(df, cols, law.inputs, post.cost, post.run_column)
    xcol = cols[INPUTS[xname]]
    levels = [None] if group is None else level_order(df[group].astype(str))
    together = len(levels) > FIT_MAX_PANELS  # one panel each would be unreadable
    if together:
        levels = [None]
    ncol = 2 if len(levels) == 4 else min(len(levels), 3)
    nrow = int(np.ceil(len(levels) / ncol))
    fig = _figure(figsize=(5.2 * ncol, 4.2 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False, sharey=True)
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    all_keys = sorted(curve_all.unique()) if mode != "run" else level_order(curve_all)
    shades = _shades(mode, curve_all, df, cols, law.inputs)  # a colour's value per curve
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    norm = matplotlib.colors.Normalize(min(shades.values()), max(shades.values()))
    for ax, level in zip(axes.flat, levels, strict=False):
        sub = df if level is None else df[df[group].astype(str) == level]
        curve = curve_all.loc[sub.index]
        present = set(curve)
        for key in [k for k in all_keys if k in present]:  # in the legend's order
            i = all_keys.index(key)
            if len(all_keys) <= len(PALETTE):
                color = PALETTE[i]
            else:  # many curves: a sequential colour by value (a colour bar names them)
                color = cmap(norm(shades[key]))
            rows = sub[curve == key].sort_values(xcol)
            ax.scatter(rows[xcol], rows[cols["loss"]], s=14, color=color, zorder=3)
            own = [cols.get(INPUTS[k]) for k in law.inputs]
            if len(rows) < 2 and all(c in rows.columns for c in own):  # one run: its own inputs
                inputs = {k: rows[c].to_numpy(float) for k, c in zip(law.inputs, own, strict=True)}
            else:
                inputs = _grid(rows, cols, law.inputs, xname, mode == "compute", post.cost)
            # the law's mean: a run's own offset is part of its observations, not drawn
            groups = {} if level is None or group == run else {group: level}
            pred = post.predict(kind="mean", **inputs, **groups)
            q = pred.quantile([lo_q, 0.5, hi_q], dim=("chain", "draw")).values
            x = inputs[xname]
            label = (
                f"C = 1e{key:.1f} FLOP"
                if mode == "compute"
                else (f"N = 1e{key:.2f}" if mode == "size" else str(key))
            )
            label = label if mode != "all" and len(all_keys) <= 8 else None
            if len(rows) < 2:  # one run (a size trained once): its median and band, as a bar
                ax.errorbar(
                    x[:1],
                    q[1, :1],
                    yerr=[q[1, :1] - q[0, :1], q[2, :1] - q[1, :1]],
                    color=color,
                    marker="_",
                    markersize=12,
                    capsize=3,
                    lw=1.4,
                    label=label,
                )
                continue
            ax.fill_between(x, q[0], q[2], color=color, alpha=0.2, lw=0)
            ax.plot(x, q[1], color=color, lw=1.4, label=label)
        _log_axes(ax)
        ax.set_xlabel(AXIS_LABELS.get(xname, xname))
        if level is not None:
            ax.set_title(
                f"{group} = {level}" + (" (law without its offset)" if group == run else "")
            )
    for ax in axes[:, 0]:
        ax.set_ylabel(_metric_label(post, cols["loss"]))
    for ax in list(axes.flat)[len(levels) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right center", fontsize=8, frameon=False)
    elif len(all_keys) > len(PALETTE) and (mode != "run" or "N" in law.inputs):
        sm = matplotlib.cm.ScalarMappable(norm=norm, cmap="viridis")
        label = {
            "compute": "log10 compute of the IsoFLOP curve (FLOP)",
            "size": "log10 parameters N of the model",
            "run": "log10 parameters N of the run",
        }[mode]
        fig.colorbar(sm, ax=axes, label=label)
    title = f"{law.display_name} law: posterior median and {prob:.0%} band of the mean"
    if mode == "run" and run is not None and group != run:  # one curve per run, drawn alike
        sd = float(post.posterior["sd_run"].median())
        unit = {"log": "in log loss", "linear": "in loss", "logit": "in logit"}[post.model.scale]
        title += f"\n(law without each run's offset: sd {sd:.2g} {unit})"
    if together:
        count = df[group].astype(str).nunique()
        title += f"\nof a new {group} ({count} levels drawn together, too many for a panel each)"
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def _table(df: Any, what: str) -> pd.DataFrame:
    """Return ``df`` if it is a table, else refuse it naming ``what``."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a table (a pandas DataFrame), got a {type(df).__name__}.")
    return df


def _prepared(post: ScalingPosterior, df: pd.DataFrame) -> ScalingData:
    """Return the table as the fit reads it, for a figure; its data warnings are the fit's.

    A figure of the fitted table would repeat them (numbered by position where the table's
    own row labels were lost), so they are not raised again here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return post.model.prepare(df)


def _curves(
    df: pd.DataFrame,
    cols: dict,
    inputs: tuple[str, ...],
    cost: TrainingCost = DEFAULT_COST,
    run: str | None = None,
) -> tuple[str, pd.Series, str]:
    """How to draw runs as curves: ``(mode, curve key per row, x input)``.

    Training curves (a run column that repeats: several checkpoints of a run) draw one curve
    per run, against ``D`` for a law of ``N`` and ``D``. Otherwise a law of ``N`` and ``D`` on
    IsoFLOP data (budgets of a tenth of a decade holding 3 or more model sizes, typically) draws
    loss against ``N`` per budget; on other designs (e.g. over-training sweeps) loss against
    ``D`` per model size. Other laws: one curve per run, or one curve.
    """
    run = run or cols["run"]  # the fit's run column (Model(run="curve")), else the role's
    if run in df and df[run].astype(str).duplicated().any():
        return "run", df[run].astype(str), "D" if "D" in inputs else inputs[0]
    if set(inputs) == {"N", "D"}:
        budget = pd.Series(
            np.round(np.log10(compute_of(df, cols, cost, inputs)), PROFILE_DECIMALS),
            index=df.index,
        )
        sizes_per_budget = df[cols["params"]].groupby(budget).nunique()
        if sizes_per_budget.median() >= 3:
            return "compute", budget, "N"
        return "size", np.round(np.log10(df[cols["params"]].astype(float)), 2), "D"
    if run in df:
        return "run", df[run].astype(str), inputs[0]
    return "all", pd.Series("all", index=df.index), inputs[0]


def _shades(
    mode: str, curve: pd.Series, df: pd.DataFrame, cols: dict, inputs: tuple[str, ...]
) -> dict:
    """Return each curve's value on the colour scale of many curves.

    An IsoFLOP budget or a model size is its own value; a run is its model size where the law
    reads ``N`` (so curves of alike sizes share a colour), else its position.
    """
    if mode in ("compute", "size"):
        return {k: float(k) for k in curve.unique()}
    if mode == "run" and "N" in inputs and cols["params"] in df:
        size = np.log10(df[cols["params"]].astype(float)).groupby(curve).median()
        return size.to_dict()
    return {k: float(i) for i, k in enumerate(level_order(curve.astype(str)))}


def _grid(
    rows: pd.DataFrame,
    cols: dict,
    inputs: tuple,
    xname: str,
    iso_flop: bool,
    cost: TrainingCost = DEFAULT_COST,
) -> dict[str, np.ndarray]:
    """Return inputs at 60 points spanning a curve's x range."""
    x = rows[cols[INPUTS[xname]]].to_numpy(float)
    grid = np.geomspace(x.min(), x.max(), 60)
    out = {xname: grid}
    if iso_flop:
        c = float(np.exp(np.mean(np.log(compute_of(rows, cols, cost, inputs)))))
        other = "D" if xname == "N" else "N"
        out[other] = c / (cost.k * grid)
    else:
        for k in inputs:
            if k != xname:
                v = rows[cols[INPUTS[k]]].to_numpy(float)
                out[k] = np.exp(np.interp(np.log(grid), np.log(x), np.log(v)))
    return out


def plot_frontier(
    front: xr.Dataset,
    minima: pd.DataFrame | None = None,
    prob: float = PROB,
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

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: ``N*`` and ``D*`` against compute, and ``D*/N*`` against compute.

    Examples
    --------
    >>> from bayescale.isoflop import isoflop_minima
    >>> front = bs.frontier(post, np.geomspace(1e18, 1e21, 30))
    >>> fig = bs.plotting.plot_frontier(
    ...     front, minima=isoflop_minima(runs), data_compute=(1e18, 1e20)
    ... )
    >>> len(fig.axes)
    2
    """
    if not isinstance(front, xr.Dataset) or not {"N_opt", "D_opt"} <= set(front.data_vars):
        raise TypeError(
            f"plot_frontier takes the draws bs.frontier returns, got a {type(front).__name__}; "
            "e.g. plot_frontier(bs.frontier(post, np.geomspace(1e18, 1e22, 30)))."
        )
    if not {"chain", "draw", "compute"} <= set(front.dims):  # a selection of them
        raise ValueError(
            f"plot_frontier draws the frontier's draws over (chain, draw, compute); these have "
            f"dims {tuple(front.dims)}: pass bs.frontier's result whole (select budgets with "
            "front.sel(compute=[...]) or isel, keeping the dimension)."
        )
    if not all(front.sizes[d] for d in ("chain", "draw", "compute")):  # an empty selection
        raise ValueError(
            f"plot_frontier: the frontier given is empty ({dict(front.sizes)}); select at least "
            "one budget and keep the draws (front.sel(compute=[...]))."
        )
    prob = arguments.probability(prob, "prob")
    if minima is not None and not isinstance(minima, pd.DataFrame):
        raise TypeError(
            "minima must be the table bayescale.isoflop.isoflop_minima returns, got a "
            f"{type(minima).__name__}; e.g. minima=isoflop_minima(runs)."
        )
    lacking = sorted(
        {"compute", "N_opt", "D_opt", "tokens_per_param", "ok"} - set(minima.columns)
        if minima is not None
        else ()
    )
    if lacking:
        raise ValueError(
            f"minima lacks the column(s) {lacking} that bayescale.isoflop.isoflop_minima "
            "returns; pass its table, e.g. minima=isoflop_minima(runs)."
        )
    if data_compute is not None:
        data_compute = _compute_range(data_compute)
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    q = front.quantile([lo_q, 0.5, hi_q], dim=("chain", "draw"))
    c = front["compute"].values
    fig = _figure(figsize=(11, 4.4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
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
    _plain_log_y(ax2)  # far past the data the ratio's band spans decades
    ax2.set_ylabel("tokens per parameter D*/N*")
    ax1.legend(fontsize=8, loc="upper left")
    ax2.legend(fontsize=8, loc="best")
    of = whose(front)
    fig.suptitle(f"Compute-optimal frontier{' of ' + of if of else ''}", fontsize=11)
    return _save(fig, path)


def fan_input(law: Law) -> str | None:
    """Return what :func:`plot_fan` extends for ``law``, or ``None`` where it has no fan.

    ``"C"`` (training compute, along the median compute-optimal allocation) for a law of ``N``
    and ``D``; the input's name for a one-input law; ``None`` for a law of other inputs (the
    data-constrained law's unique tokens, the annealing law's schedule areas), which has no
    single direction to extend.

    Parameters
    ----------
    law : Law
        The fitted law (``post.law``).

    Returns
    -------
    str or None
        ``"C"``, the one input's name, or ``None``.

    Examples
    --------
    >>> fan_input(bs.laws.get("chinchilla")), fan_input(bs.laws.get("power"))
    ('C', 'N')
    """
    if set(law.inputs) == {"N", "D"}:
        return "C"
    return law.inputs[0] if len(law.inputs) == 1 else None


def _compute_range(span: Any) -> tuple[float, float]:
    """Check ``data_compute``: two budgets in FLOP, ``0 < lo <= hi``."""
    try:
        lo, hi = span
    except (TypeError, ValueError):
        raise TypeError(
            f"data_compute={span!r}: give the fitted runs' compute range as (lo, hi) in FLOP, "
            "e.g. data_compute=(runs['compute'].min(), runs['compute'].max())."
        ) from None
    lo, hi = arguments.positive(lo, "data_compute lo"), arguments.positive(hi, "data_compute hi")
    if lo > hi:
        raise ValueError(f"data_compute=({lo:g}, {hi:g}): give lo <= hi.")
    return lo, hi


def plot_fan(
    post: ScalingPosterior,
    target_compute: float,
    df: pd.DataFrame | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Posterior predictive fan of the loss from the data's compute to ``target_compute``.

    For a law of ``N`` and ``D`` the runs follow the median compute-optimal allocation; for a
    one-input law the input is extended to ``target_compute`` read as that input's value (down
    to it for an input that falls as models grow, an upstream loss ``L``). A law of other
    inputs (the data-constrained law's unique tokens, the annealing law's schedule areas) has
    no single direction to extend: predict at the inputs you plan with ``post.predict``.

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    target_compute : float
        Where the fan ends: training compute in FLOP (for a one-input law, that input's value).
    df : pandas.DataFrame, optional
        The fitted table (column names as given to the fit; its rows in any order, with any
        other columns); default: rebuilt from the tree. Another table is an error.
    path : str or Path, optional
        Where to save the figure.

    Returns
    -------
    matplotlib.figure.Figure
        One panel: the 50 %, 90 % and 95 % predictive intervals, the median and the fitted runs
        (for a law of ``N`` and ``D``, each budget's lowest loss in black and the rest in grey:
        the fan follows the optimal allocation, which runs off it lie above).

    Raises
    ------
    SpecificationError
        For a law neither of ``N`` and ``D`` nor of one input.

    Examples
    --------
    >>> fig = bs.plotting.plot_fan(post, target_compute=1e21)  # 10x past the largest run
    >>> fig.axes[0].get_title()
    'Extrapolation to 1e+21 FLOP'
    """
    arguments.fitted(post, "plot_fan")
    target_compute = arguments.positive(target_compute, "target_compute")
    law = post.law
    extend = fan_input(law)
    if extend is None:
        raise SpecificationError(
            f"plot_fan draws a law of N and D or of one input; the {law.name} law reads "
            f"{list(law.inputs)}, with no single direction to extend: predict at the inputs you "
            "plan with post.predict(...)"
        )
    fitted = _prepared(post, post.fitted_table())
    if df is not None:  # its runs would be drawn as the fitted ones, the fan from their edge
        data = _prepared(post, df)
        if data.rows_fingerprint() != fitted.rows_fingerprint():
            raise ValueError(
                "plot_fan: df is not the table this fit was fitted to (its inputs, losses or "
                f"runs differ: {data.n} rows, the fit's {fitted.n}); pass the fitted table, or "
                "leave df out (the fit's own table is rebuilt from its tree)."
            )
    df = post.fitted_table() if df is None else df
    cols = fitted.columns
    fig = _figure(figsize=(7, 4.4), layout="constrained")
    ax = fig.subplots()
    if set(law.inputs) == {"N", "D"}:  # along the frontier (a law of C alone: the else branch)
        c_data = compute_of(df, cols, post.cost, law.inputs)
        # unique: a ladder of one budget, extended to a target at or below it, is one point
        grid = np.unique(np.geomspace(c_data.min(), max(target_compute, c_data.max()), 60))
        front = frontier(post, grid).median(dim=("chain", "draw"))
        pred = post.predict(N=front["N_opt"].values, D=front["D_opt"].values)
        x_data, x_label = c_data, "training compute C (FLOP), compute-optimal allocation"
    else:
        name = extend
        if name == "C":  # the table's flops column, or k N D where it has none (as the fit)
            x_data = compute_of(df, cols, post.cost, law.inputs)
        else:
            x_data = df[cols[INPUTS[name]]].to_numpy(float)
        if name in FALLING_INPUTS:
            grid = np.geomspace(min(target_compute, x_data.min()), x_data.max(), 60)
        else:
            grid = np.geomspace(x_data.min(), max(target_compute, x_data.max()), 60)
        pred = post.predict(**{name: grid})
        x_label = AXIS_LABELS.get(name, name)
    span = (grid.min(), x_data.min()) if extend in FALLING_INPUTS else (x_data.max(), grid.max())
    for prob, alpha in ((0.95, 0.15), (0.9, 0.25), (0.5, 0.4)):
        lo, hi = pred.quantile([(1 - prob) / 2, (1 + prob) / 2], dim=("chain", "draw")).values
        ax.fill_between(
            grid,
            lo,
            hi,
            color=PALETTE[0],
            alpha=alpha,
            lw=0,
            label=f"{prob:.0%} predictive interval",
        )
    ax.plot(grid, pred.median(dim=("chain", "draw")), color=PALETTE[0], label="median")
    loss = df[cols["loss"]].to_numpy(float)
    if set(law.inputs) == {"N", "D"}:  # the fan follows the optimum: runs off it lie above
        budget = np.round(np.log10(np.asarray(x_data, float)), PROFILE_DECIMALS)
        best = pd.Series(loss).groupby(budget).transform("min").to_numpy() == loss
        ax.scatter(
            np.asarray(x_data)[~best],
            loss[~best],
            s=6,
            color="0.7",
            label="fitted runs off their budget's best allocation",
            zorder=2,
        )
        ax.scatter(
            np.asarray(x_data)[best],
            loss[best],
            s=10,
            color="0.2",
            label="each budget's lowest fitted loss",
            zorder=3,
        )
    else:
        ax.scatter(x_data, loss, s=8, color="0.3", label="fitted runs", zorder=3)
    past = span[1] > span[0]  # a target within the data draws the data's range, no further
    if past:
        ax.axvspan(*span, color=PALETTE[1], alpha=0.08, label="extrapolation")
    _log_axes(ax)
    ax.set_xlabel(x_label)
    ax.set_ylabel(_metric_label(post, cols["loss"]))
    who = " for a new group (population)" if post.model.effects else ""
    where = "Extrapolation to" if past else "No extrapolation: the data already reach"
    at = (
        f"{target_compute:.3g} FLOP"
        if extend == "C" or set(law.inputs) == {"N", "D"}
        else f"{extend} = {target_compute:.3g}"
    )
    ax.set_title(f"{where} {at}{who}")
    ax.legend(fontsize=8, loc="upper right")
    return _save(fig, path)


def plot_coverage(backtest: pd.DataFrame, path: str | Path | None = None) -> Figure:
    """Held-out coverage of central intervals against their nominal level, one line per split.

    Where the table has them (:func:`bayescale.calibration.score_predictions`), a bar at each
    level spans the coverage a calibrated forecast of the same points would show nine times in
    ten: held-out runs that share an extrapolation error are covered all together or not, so a
    right forecast can stray far from the diagonal.

    Parameters
    ----------
    backtest : pandas.DataFrame
        A table of :func:`bayescale.backtest`: its ``split`` column and ``coverage_<level>``
        columns are drawn.
    path : str or Path, optional
        Where to save the figure.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, with the ideal diagonal dashed.

    Examples
    --------
    A backtest refits the model on each split (seconds per split); any table with the same
    columns draws:

    >>> bt = bs.backtest(bs.Model(), runs, chains=2, seed=0)  # doctest: +SKIP
    >>> bt = pd.DataFrame(
    ...     {"split": ["compute <= 3e+19"], "coverage_0.5": [0.43], "coverage_0.9": [0.86]}
    ... )
    >>> fig = bs.plotting.plot_coverage(bt)
    >>> fig.axes[0].get_xlabel()
    'nominal interval probability'
    """
    fig = _figure(figsize=(5.5, 4.2), layout="constrained")
    ax = fig.subplots()
    check_backtest_table(backtest)
    levels = coverage_columns(backtest)
    nominal = np.array([float(c.split("_")[1]) for c in levels])
    ranges = [(f"calibrated_{c[9:]}_lo", f"calibrated_{c[9:]}_hi") for c in levels]
    for i, (_, row) in enumerate(backtest.iterrows()):
        color = PALETTE[i % len(PALETTE)]
        ax.plot(nominal, row[levels].to_numpy(float), "o-", color=color, label=str(row["split"]))
        if all(lo in row and hi in row for lo, hi in ranges):
            # what a calibrated forecast of the same points would show, nine times in ten
            shift = 0.004 * (i - (len(backtest) - 1) / 2)
            lo, hi = (np.array([row[r[k]] for r in ranges], float) for k in (0, 1))
            ax.vlines(nominal + shift, lo, hi, color=color, alpha=0.45, lw=6)
    ax.plot([0.4, 1], [0.4, 1], "--", color="0.4", label="ideal")
    if any(c.startswith("calibrated_") for c in backtest.columns):
        ax.plot([], [], color="0.5", alpha=0.45, lw=6, label="a calibrated forecast's range")
    ax.set_xlabel("nominal interval probability")
    ax.set_ylabel("held-out coverage")
    ax.set_title("Extrapolation backtest")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def plot_pooling(table: pd.DataFrame, path: str | Path | None = None) -> Figure:
    """Error and coverage of a new group's larger runs against how many sizes it kept.

    ``table`` is :func:`bayescale.pooling.new_group_backtest`'s; each panel averages its fitted
    cases over groups, one line per method (alone, complete pooling, each partial pooling).

    Parameters
    ----------
    table : pandas.DataFrame
        The backtest's table; its rows whose ``status`` is ``"ok"`` are drawn, from the
        ``method``, ``k``, ``are_median``, ``coverage_0.5`` and ``coverage_0.9`` columns.
    path : str or Path, optional
        Where to save the figure.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: the median error of the median, and the 50 % and 90 % coverage.

    Raises
    ------
    ValueError
        When no case was fitted, or the 50 % or 90 % coverage is missing.

    Examples
    --------
    The backtest refits every method for each group and ``k`` (minutes); a table with the same
    columns draws:

    >>> from bayescale.pooling import new_group_backtest
    >>> table = new_group_backtest(bs.Model(), family_runs, "family", ks=(2, 3))  # doctest: +SKIP
    >>> table = pd.DataFrame(
    ...     {
    ...         "method": ["complete pooling"] * 2 + ["partial: A"] * 2,
    ...         "k": [2, 3, 2, 3],
    ...         "status": "ok",
    ...         "are_median": [0.039, 0.035, 0.008, 0.006],
    ...         "coverage_0.5": [0.15, 0.17, 0.62, 0.50],
    ...         "coverage_0.9": [1.0, 1.0, 1.0, 0.92],
    ...     }
    ... )
    >>> fig = bs.plotting.plot_pooling(table)
    >>> len(fig.axes)
    2
    """
    table = _table(table, "plot_pooling: table")
    needed = ["status", "method", "k", "are_median"]
    absent = [c for c in needed if c not in table.columns]
    if absent:
        raise ValueError(
            f"plot_pooling draws the table bs.pooling.new_group_backtest returns; this one "
            f"lacks {absent}."
        )
    ok = table[table["status"] == "ok"]
    if ok.empty:
        raise ValueError("The backtest fitted no case; read its 'status' column.")
    missing = {"coverage_0.5", "coverage_0.9"} - set(ok.columns)
    if missing:
        raise ValueError(f"plot_pooling draws 50 % and 90 % coverage: {sorted(missing)} missing.")
    mean = ok.groupby(["method", "k"])[["are_median", "coverage_0.5", "coverage_0.9"]].mean()
    fig = _figure(figsize=(9.5, 3.8), layout="constrained")
    ax_err, ax_cov = fig.subplots(1, 2)
    for i, method in enumerate(dict.fromkeys(ok["method"])):
        rows = mean.loc[method]
        color = PALETTE[i % len(PALETTE)]
        ax_err.plot(rows.index, 100 * rows["are_median"], "o-", color=color, label=method)
        ax_cov.plot(rows.index, rows["coverage_0.9"], "o-", color=color, label=method)
        ax_cov.plot(rows.index, rows["coverage_0.5"], "s--", color=color, alpha=0.6)
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax_err.set_yscale("log")
    ax_err.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax_err.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax_err.yaxis.set_minor_formatter(NullFormatter())
    ax_err.set_ylabel("median error of the median (%)")
    ax_cov.axhline(0.9, color="0.4", lw=0.8)
    ax_cov.axhline(0.5, color="0.4", lw=0.8, ls="--")
    ax_cov.set_ylim(0, 1.02)
    ax_cov.set_ylabel("coverage: 90 % (solid), 50 % (dashed)")
    for ax in (ax_err, ax_cov):
        ax.set_xlabel("smallest model sizes the new group keeps (k)")
        ax.set_xticks(sorted(ok["k"].unique()))
    ax_err.legend(fontsize=7)
    fig.suptitle("A new group's larger runs, predicted with and without pooling")
    return _save(fig, path)


def plot_record(post: ScalingPosterior, path: str | Path | None = None) -> Figure:
    """Plot the ladder's own extrapolation record: each refit's error against distance.

    One panel: for each cut of :meth:`ScalingPosterior.calibration`, the held-out rows'
    ``loss / median - 1`` against their distance past the cut's data, each with the refit's
    90 % interval trusting the law (a thin bar) and its interval widened by the learned
    extrapolation error (a wide pale bar, at the posterior's scales); the legend gives each
    cut's share of rows inside the wide bars.

    Parameters
    ----------
    post : ScalingPosterior
        The fit; its record is :meth:`ScalingPosterior.calibration` (computed once, then kept).
    path : str or Path, optional
        Where to save the figure.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, one colour per cut (a note instead when the fit has no record).

    Examples
    --------
    >>> fig = bs.plotting.plot_record(post)
    >>> post.calibration()["cut"].unique().tolist()  # the cuts drawn
    ['future 20%', 'future 40%', 'future 60%']
    """
    arguments.fitted(post, "plot_record")
    table = post.calibration()
    fig = _figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    if table.empty:
        mode = getattr(post.model, "extrapolation", "learned")
        why = (
            "too few rows for a cut" if mode == "learned" else f"extrapolation={mode!r} learns none"
        )
        ax.text(0.5, 0.5, f"no record ({why})", ha="center", transform=ax.transAxes)
        return _save(fig, path)
    cuts = list(table.groupby("cut", sort=False))
    span = float(np.ptp(table["distance"])) or 0.1
    for i, (cut, g) in enumerate(cuts):
        color = PALETTE[i % len(PALETTE)]
        # each cut's rows a little apart from the others' at the same distance
        x = g["distance"].to_numpy(float) + span * 0.012 * (i - (len(cuts) - 1) / 2)
        rel = g["loss"] / g["median"] - 1
        ax.vlines(  # each row's own interval with the error: rows differ, so no shared band
            x,
            g["lower_with_error"] / g["median"] - 1,
            g["upper_with_error"] / g["median"] - 1,
            color=color,
            alpha=0.25,
            lw=4,
        )
        ax.vlines(x, g["lower"] / g["median"] - 1, g["upper"] / g["median"] - 1, color=color, lw=1)
        inside = (g["loss"] >= g["lower_with_error"]) & (g["loss"] <= g["upper_with_error"])
        ax.plot(
            x,
            rel,
            "o",
            ms=3.5,
            color=color,
            mec="white",
            mew=0.4,
            zorder=3,
            label=f"{cut}: {inside.mean():.0%} inside",
        )
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xlabel("distance past the cut's data (decades, of the input furthest out)")
    ax.set_ylabel("observed / predicted median - 1")
    ax.set_title(
        "This ladder's own extrapolations (leave-future-out refits)\n"
        f"thin bars: 90 % trusting the law; wide: {100 * PROB:.0f} % with the learned error",
        fontsize=9,
    )
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(fontsize=7)
    return _save(fig, path)


# -- ArviZ's plots on the fit's tree -------------------------------------------------------------
def _arviz_figure(pc: Any, path: str | Path | None) -> Figure:
    """Return ArviZ's figure, laid out so no title sits on the row above's tick labels."""
    fig = pc.viz["figure"].item()
    fig.set_layout_engine("constrained")
    return _save(fig, path)


def plot_forest(
    post: ScalingPosterior,
    var_names: Sequence[str] | None = None,
    path: str | Path | None = None,
    prob: float = PROB,
) -> Figure:
    """Forest plot of the natural parameters: a panel per parameter, its groups as rows.

    Each parameter has its own horizontal axis, so a scale of thousands (``A``, ``B``) does not
    flatten an exponent of 0.3 to a dot (one shared axis, as ``arviz_plots.plot_forest`` draws
    it, did).

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    var_names : sequence of str, optional
        Variables of the posterior to draw (default: :meth:`ScalingPosterior.parameter_names`).
    path : str or Path, optional
        Where to save the figure.
    prob : float
        Probability of the thin central interval (the thick one is 50 %).

    Returns
    -------
    matplotlib.figure.Figure
        Medians (circles) with central 50 % (thick) and ``prob`` (thin) intervals. A variable
        of more than :data:`FOREST_MAX_ROWS` levels shows that many, evenly spread, and its
        title says how many of how many; draws that are not finite are left out, and the title
        says how many.

    Examples
    --------
    >>> fig = bs.plotting.plot_forest(family_post, var_names=["A", "A_family"])  # a row per family
    >>> [ax.get_title(loc="left") for ax in fig.axes]  # the population's A drawn among them
    ['A', "A_family (dashed: the population's A)"]
    """
    arguments.sampled(post, "plot_forest")
    prob = arguments.probability(prob, "prob")
    names = arguments.names(var_names) or post.parameter_names()
    posterior = post.tree["posterior"].to_dataset()
    missing = [n for n in names if n not in posterior.data_vars]
    if missing:
        raise SpecificationError(
            f"plot_forest: {missing} are not variables of this fit's posterior; it has "
            f"{sorted(posterior.data_vars)}."
        )
    panels = []
    for name in names:
        da = posterior[name]
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        values = np.asarray(da.transpose(*extra, "chain", "draw")).reshape(
            -1, da.chain.size * da.draw.size
        )
        if extra:
            index = da.isel(chain=0, draw=0, drop=True).to_series().index
            labels = [", ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in index]
        else:
            labels = [""]
        notes = []  # said in the panel's title, in parentheses
        if len(labels) > FOREST_MAX_ROWS:
            keep = np.unique(np.linspace(0, len(labels) - 1, FOREST_MAX_ROWS).round().astype(int))
            notes.append(f"{keep.size} of {len(labels)} levels, evenly spread")
            labels, values = [labels[i] for i in keep], values[keep]
        bad = int(np.sum(~np.isfinite(values)))
        if bad:
            notes.append(f"{bad} draws not finite, left out")
        # a group's levels beside the population's median (E_family beside E)
        suffix = f"_{extra[0]}" if extra else ""  # A_family: A by the term 'family'
        base = name.removesuffix(suffix) if suffix and name.endswith(suffix) else None
        centre = None
        if base in posterior.data_vars and base != name and posterior[base].ndim == 2:
            centre = float(np.median(np.asarray(posterior[base])))
            notes.append(f"dashed: the population's {base}")
        panels.append((name, notes, labels, values, centre))
    heights = [0.6 + 0.3 * len(panel[2]) for panel in panels]
    fig = _figure(figsize=(6.5, 0.6 + sum(heights)), layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights})
    tail = (1 - prob) / 2
    for ax, (name, notes, labels, values, centre) in zip(axes[:, 0], panels, strict=True):
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a level with no finite draw
            finite = np.where(np.isfinite(values), values, np.nan)
            q = np.nanquantile(finite, [tail, 0.25, 0.5, 0.75, 1 - tail], axis=1)
        y = np.arange(len(labels))[::-1]
        shown = np.isfinite(q[0]) & np.isfinite(q[4])  # a level with no finite draw: none
        positive = bool(shown.any() and (q[0][shown] > 0).all())
        if positive and np.max(q[4][shown] / q[0][shown]) > 10:  # over a decade: log axis
            ax.set_xscale("log")
            notes = ["log axis", *notes]
        if centre is not None:
            ax.axvline(centre, color="0.4", ls="--", lw=1, zorder=1)
        ax.hlines(y, q[0], q[4], color=PALETTE[0], lw=1.2)
        ax.hlines(y, q[1], q[3], color=PALETTE[0], lw=3.5)
        ax.plot(q[2], y, "o", color=PALETTE[0], mfc="white", ms=6, zorder=3)
        ax.set_yticks(y, labels)
        ax.set_ylim(-0.7, len(labels) - 0.3)
        ax.set_title(name + (f" ({'; '.join(notes)})" if notes else ""), loc="left", fontsize=10)
        ax.grid(True, axis="x", alpha=0.25)
        ax.tick_params(axis="y", length=0)
    fig.suptitle(f"Posterior medians, 50 % and {100 * prob:.0f} % intervals", fontsize=10)
    return _save(fig, path)


def plot_loo_pit(post: ScalingPosterior, path: str | Path | None = None) -> Figure:
    """LOO-PIT Delta-ECDF with its uniformity test (``arviz_plots.plot_loo_pit``).

    The ECDF of the rows' LOO-PIT values minus the uniform CDF, with the p-value of a test of
    uniformity (ArviZ's ``pot_c``; a p-value below the printed alpha flags a miscalibrated
    predictive) and the rows that contribute most to a departure highlighted.

    Parameters
    ----------
    post : ScalingPosterior
        The fit; its posterior predictive and log likelihood are added to ``post.tree`` first
        when missing.
    path : str or Path, optional
        Where to save the figure.

    Returns
    -------
    matplotlib.figure.Figure
        ArviZ's figure.

    Examples
    --------
    >>> fig = bs.plotting.plot_loo_pit(post, path="loo_pit.png")
    >>> from pathlib import Path
    >>> Path("loo_pit.png").exists()
    True
    """
    arguments.sampled(post, "plot_loo_pit")
    require_one_step(post, "bs.plotting.plot_loo_pit")
    require_psis_draws(post, "plot_loo_pit")
    with_predictive(post)
    with smoothable(post, "plot_loo_pit"):
        pc = _arviz_plots().plot_loo_pit(post.tree, var_names=["loss"], backend="matplotlib")
    fig = pc.viz["figure"].item()
    for ax in fig.axes:
        ax.set_title("LOO-PIT of the fitted losses: ECDF minus uniform")
        ax.set_xlabel("LOO-PIT value (0: far below the predictive, 1: far above)")
    fig.set_layout_engine("constrained")
    return _save(fig, path)


def plot_ppc(post: ScalingPosterior, path: str | Path | None = None) -> Figure:
    """Posterior predictive distribution of the fitted rows against the observed losses.

    Parameters
    ----------
    post : ScalingPosterior
        The fit; its posterior predictive is added to ``post.tree`` first when missing.
    path : str or Path, optional
        Where to save the figure.

    Returns
    -------
    matplotlib.figure.Figure
        ArviZ's figure (``arviz_plots.plot_ppc_dist``).

    Examples
    --------
    >>> fig = bs.plotting.plot_ppc(post)
    >>> type(fig).__name__
    'Figure'
    """
    arguments.sampled(post, "plot_ppc")
    with_predictive(post)
    pc = _arviz_plots().plot_ppc_dist(
        post.tree, var_names=["loss"], kind="kde", backend="matplotlib"
    )
    fig = pc.viz["figure"].item()
    from matplotlib.lines import Line2D

    column = dict(_loss_model(post).columns or {}).get("loss", "loss")
    for ax in fig.axes:
        ax.set_title("Fitted losses against replicated ones")
        ax.set_xlabel(_metric_label(post, column))
        ax.set_ylabel("density")
        ax.legend(
            [Line2D([], [], color="k"), Line2D([], [], color=PALETTE[0], alpha=0.6)],
            ["observed", "replicated (posterior predictive draws)"],
            frameon=False,
            fontsize=8,
        )
    fig.set_layout_engine("constrained")
    return _save(fig, path)


def _names_plot(plot: Any, post: ScalingPosterior, names: Sequence[str], path: Any) -> Figure:
    """One of ArviZ's per-variable plots of ``names`` on the fit's tree."""
    posterior = post.tree["posterior"]
    missing = [n for n in names if n not in posterior.data_vars]
    if missing:
        raise SpecificationError(
            f"{missing} are not variables of this fit's posterior; it has "
            f"{sorted(map(str, posterior.data_vars))}."
        )
    return _arviz_figure(plot(post.tree, var_names=names, backend="matplotlib"), path)


def _law_names(post: Any, sampled: bool) -> list[str]:
    """Name the law's parameters of a fit, sampled or natural (both steps' of a two-step fit)."""
    if hasattr(post, "link_posterior"):  # the link's sites are prefixed in the joint tree
        steps = [("", post.model.loss.law), ("link__", post.model.link.law)]
    else:
        steps = [("", post.law)]
    return [
        prefix + name
        for prefix, law in steps
        for name in ([p.name for p in law.parameters] if sampled else law.natural_names)
    ]


def plot_prior_posterior(
    post: ScalingPosterior, var_names: Sequence[str] | None = None, path: str | Path | None = None
) -> Figure:
    """Prior against posterior of the sampled law parameters (``plot_prior_posterior``).

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    var_names : sequence of str, optional
        Sampled variables to draw (default: every law parameter on its sampled scale, e.g.
        ``log_alpha``).
    path : str or Path, optional
        Where to save the figure.

    Returns
    -------
    matplotlib.figure.Figure
        ArviZ's figure, one panel per variable.

    Examples
    --------
    >>> [p.name for p in post.law.parameters]  # the sampled scale
    ['log_E', 'a', 'b', 'log_alpha', 'log_beta']
    >>> fig = bs.plotting.plot_prior_posterior(post, var_names=["log_alpha", "log_beta"])
    >>> type(fig).__name__
    'Figure'
    """
    arguments.sampled(post, "plot_prior_posterior")
    names = arguments.names(var_names) or _law_names(post, sampled=True)
    prior = post.tree.children.get("prior")
    kept = set(prior.data_vars) if prior is not None else set()
    posterior = set(post.tree["posterior"].data_vars)
    priorless = [n for n in names if n in posterior and n not in kept]
    if priorless:  # ArviZ would draw their posteriors beside an empty prior, with warnings
        raise SpecificationError(
            f"plot_prior_posterior draws each variable's prior beside its posterior, and the fit "
            f"kept prior draws of its sampled sites only ({sorted(map(str, kept))}): "
            f"{priorless} have none (a value per level, or a parameter on its natural scale). "
            "Name sampled sites (log_E, log_alpha, sd_...), or draw those with plot_trace."
        )
    return _names_plot(_arviz_plots().plot_prior_posterior, post, names, path)


def plot_trace(
    post: ScalingPosterior, var_names: Sequence[str] | None = None, path: str | Path | None = None
) -> Figure:
    """Trace and marginal of the natural parameters per chain (``arviz_plots.plot_trace_dist``).

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    var_names : sequence of str, optional
        Variables to draw (default: the law's natural parameters, e.g. ``E``, ``A``, ``alpha``).
    path : str or Path, optional
        Where to save the figure.

    Returns
    -------
    matplotlib.figure.Figure
        ArviZ's figure: a marginal and a trace per variable.

    Examples
    --------
    >>> fig = bs.plotting.plot_trace(post, var_names=["alpha", "beta"])
    >>> type(fig).__name__
    'Figure'
    """
    arguments.sampled(post, "plot_trace")
    names = arguments.names(var_names) or _law_names(post, sampled=False)
    return _names_plot(_arviz_plots().plot_trace_dist, post, names, path)


def plot_rank(
    post: ScalingPosterior, var_names: Sequence[str] | None = None, path: str | Path | None = None
) -> Figure:
    """Rank ECDF of each chain against the others (``arviz_plots.plot_rank``).

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    var_names : sequence of str, optional
        Variables to draw (default: the law's natural parameters).
    path : str or Path, optional
        Where to save the figure.

    Returns
    -------
    matplotlib.figure.Figure
        ArviZ's figure, one panel per variable.

    Examples
    --------
    >>> fig = bs.plotting.plot_rank(post, var_names=["alpha", "beta"])
    >>> type(fig).__name__
    'Figure'
    """
    arguments.sampled(post, "plot_rank")
    names = arguments.names(var_names) or _law_names(post, sampled=False)
    return _names_plot(_arviz_plots().plot_rank, post, names, path)


__all__ = [
    "PALETTE",
    "PROB",
    "fan_input",
    "plot_coverage",
    "plot_fan",
    "plot_fit",
    "plot_forest",
    "plot_frontier",
    "plot_loo_pit",
    "plot_pooling",
    "plot_ppc",
    "plot_prior_posterior",
    "plot_rank",
    "plot_record",
    "plot_trace",
]
