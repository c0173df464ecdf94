"""Reports: files written, tables, and the HTML as a browser shows it."""

from __future__ import annotations

import re
import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest
from site_browser import CHROMIUM, need_browser
from site_browser import FLAGS as BROWSER_FLAGS

import bayescale as bs
from bayescale.errors import SpecificationError
from bayescale.pooling import group_spread
from bayescale.report import parameter_table, report
from bayescale.simulate import chinchilla_loss

pytestmark = pytest.mark.slow

# the browser tests' Chromium and its flags (headless added where it is run from the shell)
FLAGS = ["--headless", *BROWSER_FLAGS]


@pytest.fixture(scope="module")
def epoch_report(epoch_fit, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return report(epoch_fit, out, target_compute=5.88e23, title="Epoch"), out


def test_report_files(epoch_report):
    path, out = epoch_report
    for fig in ("fit", "fan", "forest", "frontier", "calibration", "ppc", "record"):
        assert (out / f"{fig}.png").stat().st_size > 10_000
        assert (out / f"{fig}.pdf").stat().st_size > 1_000
    text = path.read_text()
    assert text.count("<img") == 7 and text.count("data:image/png;base64,") == 7
    assert "diagnostics OK" in text and "diagnostics-warning" not in text
    md = (out / "report.md").read_text()
    assert "## Compute-optimal frontier" in md and "![Extrapolation: fan](fan.png)" in md
    # the prior block lists the noise and the extrapolation error's prior, the section its scales
    assert "  nu ~ LogNormal" in md and "reference inputs (the data's geometric means)" in md
    assert "extrapolation error (of the law's effective inputs)" in md
    assert re.search(r"an offset sigma_o of [\d.]+ \[[\d.]+, [\d.]+\]", md)
    # no backtest: its table and coverage figure are not described
    calibration = md.split("## Calibration")[1]
    assert "backtest" not in calibration.split("##")[0]
    tex = (out / "parameters.tex").read_text()
    assert "\\toprule" in tex and "alpha" in tex and "90\\% interval" in tex


def test_tables(epoch_fit):
    table = parameter_table(epoch_fit)
    assert list(table["parameter"][:5]) == ["E", "A", "B", "alpha", "beta"]
    assert table["r_hat"].notna().all() and (table["lower"] < table["upper"]).all()
    df = epoch_fit.fitted_table()
    assert len(df) == 240 and {"params", "tokens", "loss"} <= set(df.columns)


def test_hierarchical_report_names_groups(hierarchy_fit, tmp_path):
    report(hierarchy_fit, tmp_path)
    table = parameter_table(hierarchy_fit)
    assert "E_family[f2]" in set(table["parameter"])
    assert table["r_hat"].notna().all()
    text = (tmp_path / "report.md").read_text()
    # the group levels are rows of the report's own parameter table, and the forest is drawn
    assert "E_family[f3]" in text.split("Parameters", 1)[1]
    assert (tmp_path / "forest.png").stat().st_size > 10_000
    assert "## Groups" in text and "'family' is weakly identified" in text
    assert "family:seed" in text.split("## Groups")[1]
    # the report drew the ladder's record: a hierarchy's refits (NUTS where the MAP fails) ran
    assert "extrapolation_record" in hierarchy_fit.timing


def test_group_spread_recovers_the_seed_noise(hierarchy, hierarchy_fit, epoch_fit):
    spread = group_spread(hierarchy_fit).set_index(["parameter", "term"])
    x, labels = spread.attrs["x"], spread.attrs["labels"]
    # The simulated seeds vary log A with sd 0.05: the mean loss by that times A N^-alpha / L.
    p = hierarchy.attrs["truth"][labels["family"]]
    share = p["A"] * x["N"] ** -p["alpha"] / chinchilla_loss(p, x["N"], x["D"])
    seed = spread.loc[("A", "family:seed")]
    assert 0.5 < seed["spread_pct"] / (100 * 0.05 * share) < 2
    assert seed["levels"] == 12 and not seed["weak"]
    assert 0 < seed["new_share"] < 1 and seed["width_new"] > seed["width_fitted"]
    family = spread.loc[("E", "family")]
    assert family["levels"] == 4 and family["weak"] and family["prior_sd"] == 0.3
    # A new family (new seeds within it) costs more than a new seed of a fitted family.
    assert family["width_new"] > seed["width_new"] and family["spread_pct"] > seed["spread_pct"]
    assert family["sd_low"] < family["sd_median"] < family["sd_high"]
    with pytest.raises(SpecificationError, match="group effects"):
        group_spread(epoch_fit)


def test_every_figure_loads_in_a_browser(epoch_report, tmp_path):
    need_browser()
    path, _ = epoch_report
    dom = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    m = re.search(r'data-images="(\d+)/(\d+)"', dom)
    assert m, "the page's load script did not run"
    assert m.group(1) == m.group(2) == "7"
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile2'}",
            "--hide-scrollbars",
            "--window-size=1200,3000",
            f"--screenshot={shot}",
            path.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.stat().st_size > 50_000


def test_a_curve_of_one_run_gets_the_laws_median_and_band(epoch_fit, epoch_runs):
    """A budget (or size) trained once is drawn with the law's median and band at that run, as
    an error bar, in its curve's colour (it used to be a bare dot, with no legend entry)."""
    from bayescale.plotting import plot_fit

    one = epoch_runs.iloc[[0]].assign(params=2e10, tokens=4e11, flops=6 * 2e10 * 4e11)
    fig = plot_fit(epoch_fit, df=pd.concat([epoch_runs, one], ignore_index=True))
    ax = fig.axes[0]
    bars = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    ours = [c.lines[0].get_xydata()[0] for c in bars if c.lines[0].get_xydata()[0, 0] == 2e10]
    assert len(ours) == 1  # (Epoch's own single-run budgets get theirs too)
    assert 1.5 < ours[0][1] < 3.0  # the law's median at that run, not a bare point


def test_backtest_table_shows_each_coverage_with_its_calibrated_range():
    import numpy as np

    from bayescale import calibration as cal
    from bayescale.report import _backtest_table

    rng = np.random.default_rng(0)
    draws = 3.0 + rng.standard_normal((2000, 1)) * 0.05 + rng.standard_normal((2000, 6)) * 0.01
    summary, _ = cal.score_predictions(draws, np.full(6, 3.0))
    table = pd.DataFrame([{"split": "compute <= 1e20", **summary, "status": "ok"}])
    shown = _backtest_table(table)
    lo, hi = summary["calibrated_0.9_lo"], summary["calibrated_0.9_hi"]
    expected = f"{summary['coverage_0.9']:.2f}\u00a0({lo:.2f}\u2011{hi:.2f})"
    assert shown.loc[0, "coverage_0.9"] == expected
    assert not [c for c in shown if c.startswith("calibrated_") or c.endswith("_p")]
    assert {"interval_score_90", "are_median"} <= set(shown)
    # bookkeeping shown only where a row differs: a failed fit, a skipped split, a second law
    book = table.assign(fit_ok=True, law="chinchilla", table="sha1:0123")
    assert not {"status", "fit_ok", "law", "table"} & set(_backtest_table(book))
    mixed = pd.concat([book, book.assign(fit_ok=False, status="skipped: 2 rows", law="kaplan")])
    assert {"status", "fit_ok", "law"} <= set(_backtest_table(mixed.reset_index(drop=True)))
    assert "table" not in _backtest_table(mixed.reset_index(drop=True))
    # a table written before the ranges existed is shown as it is
    old = table[["split", "coverage_0.5", "coverage_0.9"]]
    assert _backtest_table(old).equals(old)


def test_the_metric_axis_names_what_was_fitted():
    """A loss in nats per token; an accuracy fitted on the logit scale, or a renamed column,
    by its own name (the fan of an accuracy link said "loss (nats/token)")."""
    from types import SimpleNamespace

    from bayescale.plotting import _metric_label

    def fit_on(scale):
        return SimpleNamespace(model=SimpleNamespace(scale=scale))

    assert _metric_label(fit_on("log"), "loss") == "loss (nats/token)"
    assert _metric_label(fit_on("log"), "val_loss") == "val_loss"
    assert _metric_label(fit_on("logit"), "acc_hellaswag") == "acc_hellaswag (a share from 0 to 1)"


def test_a_law_of_compute_alone_gets_a_report_without_a_frontier(tmp_path):
    """A law of C fitted to a table without a flops column (compute is 6 N D): its figure used to
    fail on the missing column, and the report refused it ("frontier needs a law of N and
    D"); now the figures draw compute as the fit read it and the report says why it has no
    frontier."""
    runs = bs.simulate_ladder()[["params", "tokens", "loss"]]
    model = bs.Model(bs.laws.get("power", x="C"), extrapolation="none")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)  # short chains
        post = model.fit(runs, chains=1, draws=100, warmup=100, progress_bar=False)
    fig = bs.plotting.plot_fit(post, runs)
    from matplotlib.collections import PathCollection

    scatter = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    x = np.concatenate([c.get_offsets()[:, 0] for c in scatter])
    np.testing.assert_allclose(np.sort(x), np.sort(6 * runs["params"] * runs["tokens"]))
    path = bs.report(post, tmp_path / "r")
    names = {p.stem for p in (tmp_path / "r").iterdir()}
    assert {"fit", "fan"} <= names and "frontier" not in names
    text = path.read_text(encoding="utf-8")
    assert "it has no split of a budget between N and D to choose" in text  # said, not left out
    # a fit without an extrapolation error: the fan says so, and no record is described
    assert "no extrapolation error: the fit trusts its law" in text
    assert "learned extrapolation error" not in text and "The record shows" not in text


def test_a_group_of_many_levels_is_drawn_in_one_panel():
    """`--effects E=run` on a ladder of one row per run drew 35 panels of one point each, 50
    inches tall, and leaked matplotlib's division warnings on saving; now every level is drawn
    in one panel, with a new level's band, and the title says so."""
    runs = bs.simulate_ladder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)  # short chains
        model = bs.Model(effects={"E": "run"}, likelihood="normal", extrapolation="none")
        with pytest.warns(bs.DataWarning, match="every one of its 35 levels has a single row"):
            post = model.fit(runs, chains=1, draws=100, warmup=100)
        warnings.simplefilter("error", bs.DataWarning)  # the fit's, not repeated by a figure
        fig = bs.plotting.plot_fit(post, runs)
        few = runs[runs["run"].isin(runs["run"].unique()[:8])]
        panels = [ax for ax in bs.plotting.plot_fit(post, few).axes if ax.get_visible()]
    assert len(panels) == 8  # a few levels: a panel each
    assert len(fig.axes) == 1
    assert "35 levels drawn together" in fig._suptitle.get_text()
    from matplotlib.collections import PathCollection

    scatter = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in scatter) == len(runs)  # every row drawn
