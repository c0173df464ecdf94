"""Posterior reports for papers and memos: HTML, Markdown, LaTeX tables, PNG and PDF figures."""

from __future__ import annotations

import base64
import html
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayescale.data import DEFAULT_COLUMNS, term_columns
from bayescale.diagnostics import format_report
from bayescale.laws.base import INPUTS
from bayescale.plotting import PALETTE, plot_fit, plot_frontier

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayescale.posterior import ScalingPosterior


def fitted_table(post: ScalingPosterior) -> pd.DataFrame:
    """Rebuild the fitted table (inputs, loss, group and run columns) from the posterior's tree."""
    cols = {**DEFAULT_COLUMNS, **(post.model.columns or {})}
    const = post.tree["constant_data"]
    df = pd.DataFrame({cols[INPUTS[k]]: const[f"x_{k}"].values for k in post.law.inputs})
    df[cols["loss"]] = post.tree["observed_data"]["loss"].values
    for term in post.model.terms:
        labels = np.asarray(post.group_labels(term))[const[f"code_{term}"].values]
        for i, col in enumerate(term_columns(term)):
            if col not in df:
                df[col] = [lab.split(":")[i] for lab in labels]
    if "code_run" in const:
        run_col = post.model.run if isinstance(post.model.run, str) else cols["run"]
        df[run_col] = np.asarray(post.group_labels("run"))[const["code_run"].values]
    return df


def _save(fig: Figure, out: Path, name: str) -> str:
    import matplotlib.pyplot as plt

    fig.savefig(out / f"{name}.png", dpi=150)
    fig.savefig(out / f"{name}.pdf")
    plt.close(fig)
    return f"{name}.png"


def plot_forest(post: ScalingPosterior, path: str | Path | None = None) -> Figure:
    """Posterior medians with 50 % and 90 % intervals of every natural parameter, by group."""
    import matplotlib.pyplot as plt

    p = post.posterior
    names = list(post.law.natural_names)
    fig, axes = plt.subplots(
        1,
        len(names),
        figsize=(2.9 * len(names), 1.6 + 0.32 * _rows(post)),
        squeeze=False,
        sharey=True,
    )
    labels = _row_labels(post)
    for ax, name in zip(axes[0], names, strict=True):
        for i, (_, var, sel) in enumerate(labels):
            var_name = var.format(name=name)
            if var_name not in p:  # this parameter does not vary by that group
                continue
            draws = p[var_name].sel(sel).values.ravel()
            q = np.quantile(draws, [0.05, 0.25, 0.5, 0.75, 0.95])
            color = PALETTE[0] if var == "{name}" else PALETTE[1]
            ax.plot([q[0], q[4]], [i, i], color=color, lw=1)
            ax.plot([q[1], q[3]], [i, i], color=color, lw=3)
            ax.plot(q[2], i, "o", color=color, ms=4)
        if np.all(p[name].values > 0) and np.ptp(np.log10(p[name].values)) > 1:
            ax.set_xscale("log")
        ax.set_title(name)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0, 0].set_yticks(range(len(labels)), [lab for lab, _, _ in labels])
    axes[0, 0].invert_yaxis()
    fig.suptitle("Posterior medians, 50 % (thick) and 90 % (thin) intervals", fontsize=11)
    fig.set_layout_engine("constrained")
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def _row_labels(post: ScalingPosterior) -> list[tuple[str, str, dict]]:
    rows = [("population" if post.model.terms else "all data", "{name}", {})]
    for term in post.model.terms:
        for label in post.group_labels(term):
            rows.append((f"{term}={label}", "{name}_" + term, {term: label}))
    return rows


def _rows(post: ScalingPosterior) -> int:
    return len(_row_labels(post))


def plot_fan(
    post: ScalingPosterior,
    df: pd.DataFrame,
    target_compute: float,
    path: str | Path | None = None,
) -> Figure:
    """Posterior predictive fan of the loss from the data's compute to ``target_compute``.

    For a law of ``N`` and ``D`` the runs follow the median compute-optimal allocation; for a
    one-input law the input is extended to ``target_compute`` read as that input's value.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    from bayescale.frontier import frontier

    cols = {**DEFAULT_COLUMNS, **(post.model.columns or {})}
    law = post.law
    fig, ax = plt.subplots(figsize=(7, 4.4))
    if set(law.inputs) == {"N", "D"}:
        c_data = 6 * df[cols["params"]].to_numpy(float) * df[cols["tokens"]].to_numpy(float)
        grid = np.geomspace(c_data.min(), max(target_compute, c_data.max()), 60)
        front = frontier(post, grid).median(dim=("chain", "draw"))
        pred = post.predict(N=front["N_opt"].values, D=front["D_opt"].values)
        x_data, x_label = c_data, "training compute C (FLOP), compute-optimal allocation"
    else:
        name = law.inputs[0]
        x_data = df[cols[INPUTS[name]]].to_numpy(float)
        grid = np.geomspace(x_data.min(), max(target_compute, x_data.max()), 60)
        pred = post.predict(**{name: grid})
        x_label = {"N": "parameters N", "D": "tokens D", "C": "compute C", "step": "step"}[name]
    for prob, alpha in ((0.95, 0.15), (0.8, 0.25), (0.5, 0.4)):
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
    ax.scatter(x_data, df[cols["loss"]], s=8, color="0.3", label="fitted runs", zorder=3)
    ax.axvspan(x_data.max(), grid.max(), color=PALETTE[1], alpha=0.08, label="extrapolation")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(ScalarFormatter())
    ax.set_xlabel(x_label)
    ax.set_ylabel("loss (nats/token)")
    who = " for a new group (population)" if post.model.terms else ""
    ax.set_title(f"Extrapolation to {target_compute:.3g}{who}")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(True, which="both", alpha=0.25)
    fig.set_layout_engine("constrained")
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def plot_calibration(
    pit: np.ndarray, backtest: pd.DataFrame | None = None, path: str | Path | None = None
) -> Figure:
    """LOO-PIT ECDF minus the uniform (with a 95 % band), and backtest coverage if given."""
    import matplotlib.pyplot as plt

    ncol = 2 if backtest is not None else 1
    fig, axes = plt.subplots(1, ncol, figsize=(5.5 * ncol, 4.2), squeeze=False)
    ax = axes[0, 0]
    u = np.sort(pit)
    n = u.size
    ecdf = np.arange(1, n + 1) / n
    band = 1.36 / np.sqrt(n)  # Kolmogorov-Smirnov 95 % band
    ax.fill_between([0, 1], [-band, -band], [band, band], color="0.85", label="95 % band (KS)")
    ax.step(u, ecdf - u, where="post", color=PALETTE[0], label="LOO-PIT ECDF - uniform")
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xlabel("LOO-PIT value")
    ax.set_ylabel("ECDF difference")
    ax.set_title("LOO-PIT (in-sample calibration)")
    ax.legend(fontsize=8)
    if backtest is not None:
        ax = axes[0, 1]
        levels = [c for c in backtest.columns if c.startswith("coverage_")]
        nominal = [float(c.split("_")[1]) for c in levels]
        for i, (_, row) in enumerate(backtest.iterrows()):
            ax.plot(
                nominal,
                row[levels].to_numpy(float),
                "o-",
                color=PALETTE[i % len(PALETTE)],
                label=str(row["split"]),
            )
        ax.plot([0.4, 1], [0.4, 1], "--", color="0.4", label="ideal")
        ax.set_xlabel("nominal interval probability")
        ax.set_ylabel("held-out coverage")
        ax.set_title("Extrapolation backtest")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7)
    fig.set_layout_engine("constrained")
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def parameter_table(post: ScalingPosterior, prob: float = 0.9) -> pd.DataFrame:
    """Median, central ``prob`` interval, R-hat and bulk ESS of the reported parameters."""
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


def _fmt(v: float) -> str:
    return f"{v:.4g}" if np.isfinite(v) else ""


def _latex(table: pd.DataFrame, prob: float) -> str:
    lines = [
        "\\begin{tabular}{lrrrr}",
        "\\toprule",
        f"Parameter & Median & {prob:.0%} interval & $\\hat{{R}}$ & ESS \\\\".replace("%", "\\%"),
        "\\midrule",
    ]
    for _, r in table.iterrows():
        name = r["parameter"].replace("_", "\\_")
        lines.append(
            f"{name} & {_fmt(r['median'])} & [{_fmt(r['lower'])}, {_fmt(r['upper'])}] "
            f"& {r['r_hat']:.3f} & {r['ess_bulk']:.0f} \\\\"
        )
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def report(
    post: ScalingPosterior,
    out_dir: str | Path,
    target_compute: float | None = None,
    backtest: pd.DataFrame | None = None,
    title: str | None = None,
    prob: float = 0.9,
) -> Path:
    """Write a self-contained report of a fit and return the path of its HTML page.

    Writes ``report.html`` (figures embedded), ``report.md``, ``parameters.tex`` (booktabs),
    ``parameters.csv`` and each figure as PNG and PDF: the data with fitted curves and bands
    (one panel per level of the first group column), an extrapolation fan to
    ``target_compute`` (default: 100x the data's largest compute), parameter posteriors by
    group (forest plot), the compute-optimal frontier band (laws of ``N`` and ``D``) with a
    decision table, calibration (LOO-PIT, and ``backtest`` coverage when given) and
    diagnostics, with a warning banner when a check failed.
    """
    from bayescale.calibration import loo_pit

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    df = fitted_table(post)
    cols = {**DEFAULT_COLUMNS, **(post.model.columns or {})}
    diag = post.diagnostics(warn=False)
    sections: list[tuple[str, str, list[str], pd.DataFrame | None]] = []
    title = title or f"bayescale report: {post.law.name} law, {len(df)} rows"
    if target_compute is None:
        if set(post.law.inputs) == {"N", "D"}:
            c = 6 * df[cols["params"]] * df[cols["tokens"]]
        else:
            c = df[cols[INPUTS[post.law.inputs[0]]]]
        target_compute = float(c.max()) * 100

    group = post.model.terms[0].split(":")[0] if post.model.terms else None
    figs = [_save(plot_fit(post, df, group=group), out, "fit")]
    sections.append(
        (
            "Data and fitted law",
            f"Posterior median and {prob:.0%} band of the "
            "law's mean along each curve of runs (log axes).",
            figs,
            None,
        )
    )
    sections.append(
        (
            "Extrapolation",
            "Posterior predictive intervals (new run: run effect and noise included).",
            [_save(plot_fan(post, df, target_compute), out, "fan")],
            None,
        )
    )
    table = parameter_table(post, prob)
    sections.append(
        (
            "Parameters",
            f"Medians and central {prob:.0%} intervals.",
            [_save(plot_forest(post), out, "forest")],
            table,
        )
    )
    if set(post.law.inputs) == {"N", "D"}:
        from bayescale.decisions import decision_table
        from bayescale.frontier import frontier

        c_data = 6 * df[cols["params"]] * df[cols["tokens"]]
        grid = np.geomspace(c_data.min(), target_compute * 10, 60)
        fig = plot_frontier(frontier(post, grid), data_compute=(c_data.min(), c_data.max()))
        budgets = np.geomspace(c_data.max(), target_compute, 3)
        dec = decision_table(post, budgets)[
            [
                "compute",
                "N_opt",
                "N_opt_lo",
                "N_opt_hi",
                "D_opt",
                "tokens_per_param",
                "tokens_per_param_lo",
                "tokens_per_param_hi",
                "loss_opt",
            ]
        ]
        sections.append(
            (
                "Compute-optimal frontier",
                "Median and 80 % band of N*, D* and "
                "D*/N* per budget; the grey band is the data's compute range.",
                [_save(fig, out, "frontier")],
                dec,
            )
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pit = loo_pit(post)
    sections.append(
        (
            "Calibration",
            "LOO-PIT values should be uniform; held-out coverage should follow the diagonal.",
            [_save(plot_calibration(pit, backtest), out, "calibration")],
            backtest,
        )
    )
    a = diag.attrs
    diag_table = pd.DataFrame(
        [
            {"check": "max R-hat", "value": a["rhat_max"], "threshold": "<= 1.01"},
            {"check": "min bulk ESS", "value": a["ess_bulk_min"], "threshold": ">= 400"},
            {"check": "min tail ESS", "value": a["ess_tail_min"], "threshold": ">= 400"},
            {"check": "divergences", "value": a["divergences"], "threshold": "0"},
            {"check": "max tree depth hits", "value": a["max_treedepth_hits"], "threshold": "0"},
            {"check": "min E-BFMI", "value": a["bfmi_min"], "threshold": ">= 0.3"},
        ]
    )
    sections.append(("Diagnostics", format_report(diag), [], diag_table))

    table.to_csv(out / "parameters.csv", index=False)
    (out / "parameters.tex").write_text(_latex(table, prob))
    warning = None if a["ok"] else "WARNING: " + format_report(diag)
    (out / "report.md").write_text(_markdown(title, post, sections, warning))
    path = out / "report.html"
    path.write_text(_html(title, post, sections, warning, out))
    return path


def _markdown(title: str, post: ScalingPosterior, sections: list, warning: str | None) -> str:
    lines = [f"# {title}", ""]
    if warning:
        lines += [f"> **{warning}**", ""]
    lines += ["```", post.model.describe(post.scale), "```", ""]
    for head, text, figs, table in sections:
        lines += [f"## {head}", "", text, ""]
        lines += [f"![{head}]({f})" for f in figs]
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


def _html(
    title: str, post: ScalingPosterior, sections: list, warning: str | None, out: Path
) -> str:
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
    parts.append(f"<pre>{html.escape(post.model.describe(post.scale))}</pre>")
    for head, text, figs, table in sections:
        parts.append(f"<h2>{html.escape(head)}</h2><p>{html.escape(text)}</p>")
        for f in figs:
            data = base64.b64encode((out / f).read_bytes()).decode()
            parts.append(f"<img alt='{html.escape(head)}' src='data:image/png;base64,{data}'>")
        if table is not None:
            parts.append(table.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0))
    parts.append(
        "<script>window.addEventListener('load',function(){var im=document.images,ok=0;"
        "for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0)ok++;}"
        "document.body.setAttribute('data-images',ok+'/'+im.length);});</script>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)
