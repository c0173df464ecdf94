"""Posterior reports for papers and memos: HTML, Markdown, LaTeX tables, PNG and PDF figures.

The report assembles: every figure comes from :mod:`bayescale.plotting`, every number from the
posterior, the frontier and the decisions.
"""

from __future__ import annotations

import base64
import html
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayescale import arguments
from bayescale.calibration import check_backtest_table, coverage_columns
from bayescale.data import DEFAULT_COLUMNS, compute_of
from bayescale.decisions import decision_table
from bayescale.diagnostics import checks, format_report, prior_bound_message, rhat_text
from bayescale.errors import DataError, SpecificationError, with_prefix
from bayescale.extrapolation import SCALE_SITES
from bayescale.frontier import frontier
from bayescale.laws.base import INPUTS
from bayescale.loo import loo, require_psis_draws
from bayescale.plotting import (
    FALLING_INPUTS,
    PROB,
    fan_input,
    plot_coverage,
    plot_fan,
    plot_fit,
    plot_forest,
    plot_frontier,
    plot_loo_pit,
    plot_ppc,
    plot_record,
)
from bayescale.pooling import group_spread
from bayescale.posterior import ScalingPosterior
from bayescale.record import MIN_ROWS_ABOVE, MIN_ROWS_BELOW, rows_below
from bayescale.sites import terms_of

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.figure import Figure


def _save(fig: Figure, out: Path, name: str) -> str:
    fig.savefig(out / f"{name}.png", dpi=150)
    fig.savefig(out / f"{name}.pdf")
    # ArviZ's figures are registered with pyplot (imported by whoever made them); ours are not.
    # pyplot is not imported here: it alone costs ~0.8 s of `import bayescale`.
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
    return f"{name}.png"


def parameter_table(post: ScalingPosterior, prob: float = PROB) -> pd.DataFrame:
    """Median, central ``prob`` interval, R-hat and bulk ESS of the reported parameters.

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    prob : float
        Probability of the central interval (``lower``, ``upper``).

    Returns
    -------
    pandas.DataFrame
        One row per parameter of :meth:`ScalingPosterior.parameter_names`, one per level for
        a group effect (``A_family[f0]``): ``parameter``, ``median``, ``lower``, ``upper``,
        ``r_hat`` and ``ess_bulk``. :func:`report` writes it as ``parameters.csv`` and
        ``parameters.tex``. ``r_hat`` and ``ess_bulk`` are :func:`bayescale.diagnose`'s: those
        of the sampled coordinate behind the parameter (its log, a non-centred offset), which
        decide whether the fit passes; :meth:`ScalingPosterior.summary` gives the natural
        parameter's own, which can differ.

    Examples
    --------
    >>> from bayescale.report import parameter_table
    >>> table = parameter_table(post, prob=0.9)
    >>> table["parameter"].tolist()
    ['E', 'A', 'B', 'alpha', 'beta', 'sigma', 'nu']
    >>> round(float(table.set_index("parameter").loc["alpha", "median"]), 1)
    0.4
    >>> parameter_table(family_post)["parameter"].tolist()[-4:]
    ['A_family[f0]', 'A_family[f1]', 'A_family[f2]', 'A_family[f3]']
    """
    arguments.fitted(post, "parameter_table")
    p = post.posterior
    diag = post.diagnostics(warn=False)
    rows = []
    for name in post.parameter_names():
        da = p[name]
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        stacked = da.stack(_i=extra) if extra else da.expand_dims(_i=[None])
        for j in range(stacked.sizes["_i"]):
            draws = stacked.isel(_i=j).values.ravel()
            level = stacked["_i"].values[j]
            level = ",".join(map(str, level)) if isinstance(level, tuple) else str(level)
            label = name if not extra else f"{name}[{level}]"
            key = label if label in diag.index else name
            lo, med, hi = np.quantile(draws, [(1 - prob) / 2, 0.5, (1 + prob) / 2])
            rows.append(
                {
                    "parameter": label,
                    "median": med,
                    "lower": lo,
                    "upper": hi,
                    "r_hat": diag["r_hat"].get(key, np.nan),
                    "ess_bulk": diag["ess_bulk"].get(key, np.nan),
                }
            )
    return pd.DataFrame(rows)


def _has_rhat(table: pd.DataFrame) -> bool:
    """Whether a parameter table has R-hats (an importance-sampled fit's are all NaN)."""
    return bool(table["r_hat"].notna().any())


def _fmt(v: float) -> str:
    return f"{v:.4g}" if np.isfinite(v) else ""


def _latex(table: pd.DataFrame, prob: float) -> str:
    chains = _has_rhat(table)  # an importance-sampled fit has no R-hat
    rhat_head = " & $\\hat{R}$" if chains else ""
    lines = [
        "\\begin{tabular}{lrr" + ("rr" if chains else "r") + "}",
        "\\toprule",
        f"Parameter & Median & {prob:.0%} interval{rhat_head} & ESS \\\\".replace("%", "\\%"),
        "\\midrule",
    ]
    for _, r in table.iterrows():
        name = r["parameter"].replace("_", "\\_")
        rhat = f" & {rhat_text(r['r_hat'])}" if chains else ""
        lines.append(
            f"{name} & {_fmt(r['median'])} & [{_fmt(r['lower'])}, {_fmt(r['upper'])}]"
            f"{rhat} & {r['ess_bulk']:.0f} \\\\"
        )
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def report(
    post: ScalingPosterior,
    out_dir: str | Path,
    target_compute: float | None = None,
    backtest: pd.DataFrame | None = None,
    title: str | None = None,
    prob: float = PROB,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write a self-contained report of a fit and return the path of its HTML page.

    Writes ``report.html`` (figures embedded), ``report.md``, ``parameters.tex`` (booktabs),
    ``parameters.csv`` and each figure as PNG and PDF: the data with fitted curves and bands
    (one panel per level of the first group column), an extrapolation fan to
    ``target_compute`` (default: 100x the data's largest compute; for a one-input law its
    input's value, down to 0.8x the data's smallest for an upstream loss ``L``; no fan, and a
    sentence saying why, for a law of several inputs other than ``N`` and ``D``), parameter
    posteriors by
    group (forest plot), the compute-optimal frontier band (laws of ``N`` and ``D``) with a
    decision table, calibration (LOO-PIT, the posterior predictive, and ``backtest`` coverage
    when given) and diagnostics, with a warning banner when a check failed.

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    out_dir : str or Path
        Folder to write into (created).
    target_compute : float, optional
        Where the extrapolation fan and the decision table end: past the data's largest
        compute (for a law of ``N`` and ``D``), and near enough that the decision table can
        place an optimum there; refused before any file is written otherwise.
    backtest : pandas.DataFrame, optional
        A table of :func:`bayescale.backtest` whose coverage is shown.
    title : str, optional
        The report's title.
    prob : float
        Central interval probability of every table and band.
    progress : callable, optional
        Called with a short message as each long step starts (the command line prints them).

    Returns
    -------
    pathlib.Path
        ``<out_dir>/report.html``.

    Examples
    --------
    A report draws every figure and the frontier (about 10 s); its parameter table is
    :func:`parameter_table`:

    >>> path = bs.report(post, "report", target_compute=1e21, progress=print)  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'report.html'
    >>> from bayescale.report import parameter_table
    >>> parameter_table(post).columns.tolist()  # parameters.csv in the report's folder
    ['parameter', 'median', 'lower', 'upper', 'r_hat', 'ess_bulk']
    """
    arguments.fitted(post, "report")
    prob = arguments.probability(prob)
    if target_compute is not None:
        target_compute = arguments.positive(target_compute, "target_compute")
    if backtest is not None and not isinstance(backtest, pd.DataFrame):
        raise TypeError(
            f"backtest takes the table bs.backtest returns, got a {type(backtest).__name__}."
        )
    if backtest is not None:
        check_backtest_table(backtest, post=post)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title={title!r}: give the report's title as text.")
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress={progress!r}: give a function of one message, such as print, or leave "
            "it out."
        )
    require_psis_draws(post, "report (its LOO-PIT)")  # before any file is written
    say = progress or (lambda message: None)
    if not isinstance(out_dir, str | os.PathLike):
        raise TypeError(
            f"out_dir={out_dir!r}: give the report's folder as a str or pathlib.Path (it is "
            "created), e.g. 'report'."
        )
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir={str(out)!r} is a file; give a folder (it is created).")
    above = next(p for p in (out, *out.parents) if p.exists())  # where the folder would go
    if not above.is_dir():  # before the tables are computed, not when the folder is made
        raise ValueError(
            f"out_dir={str(out)!r}: {str(above)!r} is a file, not a folder; give a folder path "
            "(it is created)."
        )
    if not os.access(above, os.W_OK):
        raise PermissionError(
            f"out_dir={str(out)!r}: the folder {str(above)!r} is not writable; give a folder "
            "you can write to."
        )
    df = post.fitted_table()
    cols = {**DEFAULT_COLUMNS, **dict(post.model.spec().get("columns") or {})}
    diag = post.diagnostics(warn=False)
    sections: list[tuple[str, str, list[str], pd.DataFrame | None]] = []
    run_col = post.run_column
    n_runs = df[run_col].astype(str).nunique() if run_col in df else len(df)
    rows = f"{n_runs} runs, {len(df)} checkpoints" if n_runs < len(df) else f"{len(df)} rows"
    title = title or f"bayescale report: {post.law.display_name} law, {rows}"
    extend = fan_input(post.law)
    if extend == "C":
        c_data = compute_of(df, cols, post.cost, post.law.inputs)
    else:
        c_data = df[cols[INPUTS[post.law.inputs[0]]]].astype(float)
    falling = extend in FALLING_INPUTS
    given = target_compute
    if target_compute is None:  # two decades past the data (a fifth below it for a loss)
        target_compute = float(c_data.min()) * 0.8 if falling else float(c_data.max()) * 100
    elif extend is not None:  # the fan and the tables look past the data, in its direction
        _check_target(target_compute, c_data, extend, falling)
    # a frontier needs a law of N and D (a law of compute alone has no allocation to choose)
    has_frontier = set(post.law.inputs) == {"N", "D"}
    if has_frontier:  # the tables first: a budget they cannot serve fails before any file
        say("report: compute-optimal frontier and decisions")
        front, dec = _frontier_tables(post, c_data, target_compute, prob, given)
    try:  # the LOO-PIT smooths the weights LOO does: where they cannot be, say so first
        with warnings.catch_warnings():  # its Pareto k: the calibration section reports it
            warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
            loo(post, pointwise=False)
    except SpecificationError as e:
        raise with_prefix(e, "report (its LOO-PIT): ") from None
    out.mkdir(parents=True, exist_ok=True)
    say("report: the fitted law along each curve of runs")
    sections.append(
        (
            "Data and fitted law",
            f"Posterior median and {prob:.0%} band of the law's mean along each curve of runs "
            "(log axes).",
            [_save(plot_fit(post, df, prob=prob), out, "fit")],
            None,
        )
    )
    learned = post.model.extrapolation == "learned"
    say(
        "report: the extrapolation fan"
        + (" (learns the ladder's extrapolation record first)" if learned else "")
    )
    record = post.calibration()  # the ladder's record (empty: too short, or no learned error)
    terms = terms_of(post.model.effects)
    whose = (
        f" They are for a new {' and '.join(t.name for t in terms)}, its effects drawn from "
        f"the population (frontier(post, ..., {terms[0].columns[0]}=...) and "
        "post.predict(...) with the label give a fitted group's)."
        if terms
        else ""
    )
    if extend is not None:
        error = {
            "none": "no extrapolation error: the fit trusts its law's form past the data, so "
            "the band is as narrow there as inside it",
            "fixed": "a fixed extrapolation drift",
            "prior": "the extrapolation error of the prior across ladders",
            "learned": "the extrapolation error learned from the ladder's record"
            if not record.empty
            else "the extrapolation error of the prior across ladders: the ladder is too short "
            "for a record of its own",
        }[post.model.extrapolation]
        runs = "code_run" in post.draws_tree.children.get("constant_data", {})
        parts = ", ".join(
            ["law"]
            + (["extrapolation error"] if post.model.extrapolation != "none" else [])
            + (["run effect"] if runs else [])
        )
        fan = (
            f"Posterior predictive intervals of a new run ({parts} and noise; {error})."
            f"{_scales_text(post, prob, record.empty)}{whose}",
            [_save(plot_fan(post, target_compute, df), out, "fan")],
        )
    else:
        fan = (
            f"No fan: the {post.law.name} law reads {', '.join(post.law.inputs)}, with no "
            "single direction to extend. Predict at the inputs you plan with post.predict(...) "
            "(or bayescale predict --points FILE).",
            [],
        )
    sections.append(("Extrapolation", *fan, None))
    say("report: parameters")
    table = parameter_table(post, prob)
    if _has_rhat(table):
        diagnosed = (
            "R-hat and bulk ESS are the diagnostics' own: each row's worst over the parameter "
            "and the coordinate the sampler moves behind it (its log, or a non-centred "
            "offset), which decide the check; summary() gives the parameter's own, which can "
            "differ."
        )
        shown = table.assign(r_hat=table["r_hat"].map(rhat_text))
    else:  # no chains to compare
        diagnosed = (
            "The fit was importance-sampled: R-hat, a comparison of chains, does not apply, "
            "and the ESS is the importance weights' (one for every parameter)."
        )
        shown = table.drop(columns="r_hat")
    # an effective sample size is a count: whole numbers, as the diagnostics table prints it
    shown = shown.assign(
        ess_bulk=[f"{v:.0f}" if np.isfinite(v) else "nan" for v in table["ess_bulk"]]
    )
    sections.append(
        (
            "Parameters",
            f"The figure draws medians with central {_levels_text(prob)} intervals; the table "
            f"gives medians and central {100 * prob:.0f} % intervals (lower, upper). {diagnosed}",
            [_save(plot_forest(post, prob=prob), out, "forest")],
            shown,
        )
    )
    if post.model.effects:
        say("report: group effects (what a new group adds)")
        sections.append(_groups_section(post, prob))
    if has_frontier:
        fig = plot_frontier(front, prob=prob, data_compute=(c_data.min(), c_data.max()))
        widen = (
            ", past which the bands widen at once (the extrapolation error appears as soon as "
            "a budget leaves the data)"
            if post.model.extrapolation in ("learned", "prior")
            else ""  # none, or a fixed drift, which grows from nothing
        )
        sections.append(
            (
                "Compute-optimal frontier",
                f"Median and {prob:.0%} band of N*, D* and D*/N* per budget; the grey band is "
                f"the data's compute range{widen}. The table's budgets are the data's largest "
                "compute "
                f"({c_data.max():.4g} FLOP), the target ({target_compute:.4g} FLOP) and their "
                f"geometric midpoint; _lo and _hi bound each {prob:.0%} interval, and loss_opt "
                f"is the loss at the optimum.{whose}",
                [_save(fig, out, "frontier")],
                dec,
            )
        )
    else:  # said, not left out without a word
        inputs = ", ".join(post.law.inputs)
        why = (
            f"The {post.law.display_name} law's frontier depends on the unique tokens "
            "available, which the report is not given: bs.frontier(post, C, "
            "unique_tokens=...) draws it."
            if "U" in post.law.inputs
            else f"The {post.law.display_name} law reads {inputs}: it has no split of a "
            "budget between N and D to choose, so no compute-optimal frontier."
        )
        sections.append(("Compute-optimal frontier", why, [], None))
    say("report: calibration (LOO-PIT, replicated losses, the extrapolation record)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pareto-k notes of the LOO weights
        calibration = [
            _save(plot_loo_pit(post), out, "calibration"),
            _save(plot_ppc(post), out, "ppc"),
        ]
    if backtest is not None:
        calibration.append(_save(plot_coverage(backtest), out, "coverage"))
    if not record.empty:
        calibration.append(_save(plot_record(post), out, "record"))
        about_record = (
            "The record shows this ladder's own extrapolations: refits below cuts of its data "
            "against the rows above them, with the band the learned extrapolation error adds "
            "(learned from these same refits, so its coverage here is in-sample). "
        )
    elif post.model.extrapolation == "learned":
        about_record = (
            "This ladder has no record of its own extrapolations: no cut of its data leaves "
            f"{rows_below(post.model)} rows to refit below it (twice the model's parameters, "
            f"at least {MIN_ROWS_BELOW}) and {MIN_ROWS_ABOVE} above it, so the extrapolation "
            "error's scales come from the prior across public ladders alone, not from how this "
            "ladder's extrapolations fared. "
        )
    else:
        about_record = ""
    sections.append(
        (
            "Calibration",
            "LOO-PIT values (the first figure) should be uniform: their ECDF minus the uniform "
            "CDF stays near 0, and a p-value of the uniformity test below the printed alpha "
            "flags a miscalibrated predictive (the rows that depart most are marked). "
            "Replicated losses (the second) should cover the observed ones. "
            + (
                ""
                if backtest is None
                else "The backtest's held-out coverage (the third) should follow the diagonal. "
            )
            + about_record
            + (
                ""
                if backtest is None
                else "In the backtest's table, each coverage is followed by the range a "
                "calibrated forecast of the same points would show nine times in ten: held-out "
                "runs share their extrapolation error, so a right forecast can cover all of "
                "them or few."
            ),
            calibration,
            None if backtest is None else _backtest_table(backtest),
        )
    )
    a = diag.attrs
    diag_table = checks(diag)
    # each value as precise as its check: an R-hat of 1.0104 is a failure, not "1.01"
    digits = {"min E-BFMI": "{:.3f}", "Pareto k-hat": "{:.3f}"}
    diag_table["value"] = [
        rhat_text(v)
        if check == "max R-hat"
        else digits.get(check, "{:.0f}").format(v)
        if np.isfinite(v)
        else str(v)
        for check, v in zip(diag_table["check"], diag_table["value"].astype(float), strict=True)
    ]
    sampled = " (importance sampling)" if a.get("method") == "psis" else ""
    passed = "every check below passed" if a["ok"] else "a check below failed"
    text = f"diagnostics {'OK' if a['ok'] else 'FAILED'}{sampled}: {passed}"  # numbers: the table
    if (note := prior_bound_message(diag)) is not None:
        text += f". Warning: {note}"
    sections.append(("Diagnostics", text, [], diag_table))

    table.to_csv(out / "parameters.csv", index=False)
    (out / "parameters.tex").write_text(_latex(table, prob))
    warning = None if a["ok"] else "WARNING: " + format_report(diag)
    priors = _priors(post)  # the model's block, once for both pages
    (out / "report.md").write_text(_markdown(title, priors, sections, warning))
    path = out / "report.html"
    path.write_text(_html(title, priors, sections, warning, out))
    return path


def _levels_text(prob: float) -> str:
    """Name the parameter table's two intervals, the 50 % and ``prob`` (once where equal)."""
    return "50 %" if round(100 * prob) == 50 else f"50 % and {100 * prob:.0f} %"


def _check_target(target: float, data: pd.Series, extend: str, falling: bool) -> None:
    """Refuse a ``target_compute`` on the data's side: the fan extends past the data.

    For a law of ``N`` and ``D`` (``extend == "C"``) it is a budget in FLOP above the data's
    largest; for a law of one other input it is that input's value, past the data in the
    direction the fan extends (below the data's smallest for an upstream loss).
    """
    lo, hi = float(data.min()), float(data.max())
    what = "compute (FLOP)" if extend == "C" else f"the law's input {extend}"
    if falling and target >= lo:
        problem = (
            f"{target:.3g} is read as {what}, whose fan extends below the data ({lo:.3g} to "
            f"{hi:.3g}): give a value below {lo:.3g}, or leave it out (0.8x the smallest)."
        )
    elif not falling and target <= hi:
        problem = (
            f"{target:.3g} is read as {what} and lies "
            + ("inside" if target >= lo else "below")
            + f" the data ({lo:.3g} to {hi:.3g}): the fan"
            + (" and the decision table look" if extend == "C" else " looks")
            + f" past it; give a value above {hi:.3g}, or leave it out (100x the largest)."
        )
    else:
        return
    raise DataError(f"target_compute={problem}", command_line=f"--target-compute {problem}")


def _frontier_tables(
    post: ScalingPosterior,
    c_data: pd.Series,
    target_compute: float,
    prob: float,
    given: float | None = None,
) -> tuple[xr.Dataset, pd.DataFrame]:
    """Return the report's frontier (to ``target_compute``) and its decision table.

    Raises
    ------
    ValueError
        When ``target_compute`` is not past the data, or so far past it that the decision
        table cannot place an optimum; the message names ``target_compute`` and the data's range.
    """
    c_min, c_max = float(c_data.min()), float(c_data.max())
    try:
        grid = np.geomspace(c_min, target_compute, 60)  # as far as the fan and the table
        front = frontier(post, grid)
        budgets = np.geomspace(c_max, target_compute, 3)
        dec = decision_table(post, budgets, prob=prob)
    except ValueError as e:
        if given is None or "at the edge of the allocations searched" not in str(e):
            raise
        reason = str(e).split(" Ask for")[0]  # best_allocation's advice names its own options
        problem = (
            f"{target_compute:.3g} lies {np.log10(target_compute / c_max):.1f} decades past the "
            f"data's largest compute ({c_max:.3g} FLOP), and the frontier or decision table "
            f"cannot be computed out there ({reason}) Give a smaller"
        )
        raise DataError(
            f"target_compute={problem} target_compute.",
            command_line=f"--target-compute {problem} --target-compute.",
        ) from None
    columns = [
        f"{name}{end}"
        for name in ("N_opt", "D_opt", "tokens_per_param", "loss_opt")
        for end in ("", "_lo", "_hi")
    ]
    return front, dec[["compute", *columns]]


def _backtest_table(backtest: pd.DataFrame) -> pd.DataFrame:
    """Return the backtest table as a reader takes it in: each coverage with its range."""
    out = backtest.copy()
    for col in coverage_columns(backtest):
        lo, hi = (f"calibrated_{col.removeprefix('coverage_')}_{e}" for e in ("lo", "hi"))
        if lo in out and hi in out:
            # no line break inside a cell: a no-break space and a non-breaking hyphen
            out[col] = [
                f"{c:.2f}\u00a0({a:.2f}\u2011{b:.2f})" if pd.notna(a) else f"{c:.2f}"
                for c, a, b in zip(out[col], out[lo], out[hi], strict=True)
            ]
    drop = coverage_columns(out, ranges=True)
    drop += [c for c in ("crps", "are_mean") if c in out]  # the figure and the table's width
    drop += [c for c in ("dataset", "data_warnings") if c in out and not out[c].fillna("").any()]
    # bookkeeping that says nothing when every row agrees: the table's fingerprint, one law,
    # every fit passing and every split scored (a row that differs keeps its column)
    drop += [c for c in ("table",) if c in out]
    drop += [c for c in ("law",) if c in out and out[c].nunique() <= 1]
    drop += [c for c in ("fit_ok",) if c in out and out[c].astype(bool).all()]
    drop += [c for c in ("status",) if c in out and out[c].astype(str).eq("ok").all()]
    return out.drop(columns=drop)


def _groups_section(post: ScalingPosterior, prob: float) -> tuple[str, str, list, pd.DataFrame]:
    """Return the Groups section: how well each scale is identified, what a new level adds."""
    spread = group_spread(post, prob=prob)
    weak = spread.loc[spread["weak"], "term"].unique().tolist()
    x = ", ".join(f"{k}={v:.3g}" for k, v in spread.attrs["x"].items())
    labels = ", ".join(f"{k}={v}" for k, v in spread.attrs["labels"].items())
    text = (
        f"At the fitted run of the largest {next(iter(spread.attrs['x']))}, {x} ({labels}): "
        "each term's standard deviation (prior: half-normal with scale prior_sd, on the "
        "parameter's sampled scale), the spread of the mean loss between its levels "
        f"(spread_pct), and the relative width of the {prob:.0%} predictive interval for a "
        "fitted level and for a new one (new_share: the share of a new level's predictive "
        "variance that comes from not knowing its effect, which no law removes). The last four "
        "are the term's: a new level draws the effects of every parameter the term moves at "
        "once, so the rows of one term repeat them."
    )
    if weak:
        text += (
            f" With fewer than 5 levels the scale of {', '.join(map(repr, weak))} is weakly "
            "identified: a new level's interval leans on the prior of its standard deviation."
        )
    table = spread.drop(columns=["weak"]).round(4)
    return ("Groups", text, [], table)


def _scales_text(post: ScalingPosterior, prob: float, no_record: bool) -> str:
    """Return a sentence giving a learned extrapolation error's scales ('' without them)."""
    p = post.posterior
    if post.extrapolation is None or not all(s in p for s in SCALE_SITES):
        return ""
    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    o, g = (np.quantile(p[s].values, [lo, 0.5, hi]) for s in SCALE_SITES)
    unit = (
        "decades of the law's effective inputs"
        if post.extrapolation.mode == "inputs"
        else "log loss"
    )
    source = "the prior across ladders" if no_record else "the ladder's record and the prior"
    return (
        f" The error's scales (each draw's own, from {source}; {unit}; median and {prob:.0%} "
        f"interval): an offset sigma_o of {o[1]:.3g} [{o[0]:.3g}, {o[2]:.3g}] as soon as a "
        f"point leaves the data, and a growth sigma_g of {g[1]:.3g} [{g[0]:.3g}, {g[2]:.3g}] "
        "per square-root decade past it."
    )


def _priors(post: ScalingPosterior) -> str:
    """Return the model's law, effects and every prior, as the fit drew them."""
    mode = None if post.extrapolation is None else post.extrapolation.mode
    kind = {"inputs": "inputs", "learned": "loss"}.get(mode)  # of a learned error's scales
    return post.model.describe(post.scale, run=post.has_run_offset, error_kind=kind)


def _markdown(title: str, priors: str, sections: list, warning: str | None) -> str:
    lines = [f"# {title}", ""]
    if warning:
        lines += [f"> **{warning}**", ""]
    lines += ["```", priors, "```", ""]
    for head, text, figs, table in sections:
        lines += [f"## {head}", "", text, ""]
        lines += [f"![{head}: {Path(f).stem}]({f})" for f in figs]
        if table is not None:
            lines += ["", _md_table(table)]
        lines.append("")
    return "\n".join(lines)


def _md_table(table: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        return _fmt(v) if isinstance(v, float | np.floating) else str(v)

    head = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "---|" * len(table.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def _html(title: str, priors: str, sections: list, warning: str | None, out: Path) -> str:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
        "color:#222}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}"
        "table{border-collapse:collapse;font-size:.85em;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
        "th{background:#f2f2f2}.warn{background:#fde2e1;border:2px solid #c0392b;color:#7b1d14;"
        "padding:.8em;font-weight:bold}pre{background:#f6f6f6;padding:.6em;overflow:auto}",
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if warning:
        parts.append(f"<div class='warn' id='diagnostics-warning'>{html.escape(warning)}</div>")
    parts.append(f"<pre>{html.escape(priors)}</pre>")
    for head, text, figs, table in sections:
        parts.append(f"<h2>{html.escape(head)}</h2><p>{html.escape(text)}</p>")
        for f in figs:
            data = base64.b64encode((out / f).read_bytes()).decode()
            alt = html.escape(f"{head}: {Path(f).stem}")  # each figure named
            parts.append(f"<img alt='{alt}' src='data:image/png;base64,{data}'>")
        if table is not None:
            parts.append(table.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0))
    parts.append(
        "<script>window.addEventListener('load',function(){var im=document.images,ok=0;"
        "for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0)ok++;}"
        "document.body.setAttribute('data-images',ok+'/'+im.length);});</script>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)
