"""What the eighteenth audit and stop 68's open list found: the report's prior block lists every
prior the fit drew, ..."""

from __future__ import annotations

import warnings

import law_examples
import numpy as np
import numpyro
import pytest

import bayescale as bs
from bayescale.cli import main
from bayescale.downstream import TwoStepModel
from bayescale.errors import SpecificationError


def _population_sites(model: bs.Model, runs) -> list[str]:
    """Sample sites the model draws once (not per level, not observed)."""
    data = model.prepare(runs)
    structure, arrays = model.model_args(data)
    program = numpyro.handlers.seed(model.numpyro_model, rng_seed=0)
    trace = numpyro.handlers.trace(program).get_trace(**structure, **arrays)
    return [
        name
        for name, site in trace.items()
        if site["type"] == "sample" and not site["is_observed"] and not site["cond_indep_stack"]
    ]


@pytest.mark.parametrize(
    ("model", "table"),
    [
        (bs.Model(effects={"E": "family", "A": ["family", "family:seed"]}), "family"),
        (bs.Model(likelihood="normal", priors={"sigma": "HalfNormal(0.01)"}), "runs"),
        (bs.Model(), "checkpoints"),
    ],
)
def test_describe_lists_every_prior_the_fit_draws(model, table, runs, hierarchy):
    # the report's prior block (model.describe) left out the groups' standard deviations,
    # sigma, nu and a checkpoint fit's sd_run
    df = {"family": hierarchy, "runs": runs, "checkpoints": law_examples.checkpoint_runs()}[table]
    data = model.prepare(df)
    text = model.describe(data.scale, run=data.run is not None)
    sites = _population_sites(model, df)
    assert ("sd_run" in sites) == (table == "checkpoints")
    for site in sites:
        assert f"  {site} ~ " in text, site
    if table == "runs":
        assert "sigma ~ HalfNormal(scale=0.01)" in text and "nu ~" not in text
    with pytest.raises(TypeError, match="run='yes'"):
        model.describe(data.scale, run="yes")


def test_group_levels_are_listed_as_a_reader_counts():
    # levels were sorted as text: f0, f1, f10, f11, f2, ... and seed 10 before seed 2
    df = bs.simulate_ladder(families=12, seeds=1, budgets=(1e18, 1e19), sizes_per_budget=3, seed=0)
    df["lr"] = np.where(np.arange(len(df)) % 2 == 0, 3e-4, 1e-3)
    df["seed"] = np.arange(len(df)) % 11
    model = bs.Model(effects={"E": "family", "A": "seed", "B": "lr"})
    data = model.prepare(df)
    assert data.groups["family"].labels == tuple(f"f{i}" for i in range(12))
    assert data.groups["seed"].labels == tuple(str(i) for i in range(11))
    assert data.groups["lr"].labels == ("0.0003", "0.001")
    # each row keeps its own level
    labels = np.asarray(data.groups["family"].labels)[data.groups["family"].codes]
    assert (labels == df["family"].to_numpy()).all()


def test_a_run_label_refused_by_the_frontier_names_the_fits_own_group_columns(tmp_path, capsys):
    # the refusal said "(family=...)" to every fit, in Python's words on the command line too
    rows = law_examples.checkpoint_runs()
    rows["family"] = np.where(rows["params"] < 2e8, "small", "large")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone = bs.fit(bs.Model(extrapolation="none"), rows, method="psis", seed=0)
        grouped = bs.fit(
            bs.Model(extrapolation="none", effects={"E": "family"}), rows, method="psis", seed=0
        )
    with pytest.raises(SpecificationError, match=r"leave run out\.$"):
        bs.frontier(alone, 1e19, run="r1")
    with pytest.raises(SpecificationError, match=r"leave run out, or give .* \(family=\.\.\.\)"):
        bs.best_allocation(grouped, 1e19, run="r1", family="small")
    path = tmp_path / "grouped.nc"
    grouped.to_netcdf(path)
    assert main(["frontier", str(path), "--compute", "1e19", "--group", "run=r1"]) == 2
    err = capsys.readouterr().err
    assert "drop --group run=..., or give the run's group labels (--group family=...)" in err
    assert "leave run out" not in err


def test_a_two_step_prediction_refuses_a_run_label_and_names_the_step_that_reads_it():
    # "['run'] is neither an input nor a group column of either step; group columns are []"
    rows = law_examples.checkpoint_runs()
    rows["error"] = 1 / (1 + np.exp(-3 * (rows["loss"] - 2.3)))
    two = TwoStepModel(
        loss=bs.Model(extrapolation="none"),
        link=bs.Model("exponential_link", scale="logit", columns={"loss": "error"}),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        joint = two.fit(rows, method="psis", seed=0)
    assert joint.loss_posterior.has_run_offset
    for kind in ("mean", "predictive"):
        with pytest.raises(
            SpecificationError, match=r"joint\.loss_posterior\.predict\(\.\.\., run='r1'\)"
        ):
            joint.predict(N=1e8, D=3e9, kind=kind, run="r1")
    assert joint.predict(N=1e8, D=3e9)["metric"].shape[-1] == 1  # a new run: answered


def test_training_curves_are_drawn_one_curve_per_run_along_their_tokens():
    # checkpoints were binned by compute and drawn as IsoFLOP curves joining different runs
    rows = law_examples.checkpoint_runs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bs.fit(bs.Model(extrapolation="none"), rows, method="psis", seed=0)
    fig = bs.plotting.plot_fit(post)
    ax = fig.axes[0]
    assert len(ax.lines) == 6  # one median per run
    for line in ax.lines:
        x = line.get_xdata()
        assert x.min() == pytest.approx(1e9) and x.max() == pytest.approx(1e10)  # tokens
    assert "law without each run's offset: sd" in fig.texts[0].get_text()
    assert ax.get_xlabel().startswith("training tokens")


def test_the_fan_tells_runs_off_the_optimum_from_each_budgets_best(post):
    # every run was drawn alike beside a band of the optimal allocation: those off it looked
    # like misses of the predictive; the title gave no unit
    fig = bs.plotting.plot_fan(post, 1e21)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "each budget's lowest fitted loss" in texts
    assert "fitted runs off their budget's best allocation" in texts
    rest, best = (c.get_offsets() for c in ax.collections[-2:])
    table = post.fitted_table()
    budgets = np.unique(np.round(np.log10(6 * table["params"] * table["tokens"]), 1))
    assert len(best) == len(budgets) and len(best) + len(rest) == len(table)
    assert ax.get_title() == "Extrapolation to 1e+21 FLOP"
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert len(labels) >= 4  # a loss axis within a decade is labelled at several values


def test_a_report_of_training_curves_counts_runs_and_lists_their_offsets_prior(tmp_path):
    # titled "140 rows"; the prior block left out sd_run, sigma and the Student-t's nu
    rows = law_examples.checkpoint_runs()
    noise = np.random.default_rng(0).normal(0.0, 0.003, len(rows))
    rows["loss"] = rows["loss"] * np.exp(noise)  # a noiseless table leaves psis one point
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bs.fit(bs.Model(extrapolation="none"), rows, method="psis", seed=0)
        bs.report(post, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert md.startswith("# bayescale report: chinchilla law, 6 runs, 18 checkpoints")
    block = md.split("```")[1]
    for site in ("sd_run", "sigma", "nu"):
        assert f"  {site} ~ " in block
    assert "extrapolation error: none" in block
    # the diagnostics' numbers once, in their table (this small fit's weights fail the check)
    assert "diagnostics FAILED (importance sampling): a check below failed" in md
    assert md.count("Pareto k-hat") == 2  # the warning banner's sentence and the table


def test_training_curves_in_a_run_column_of_another_name_are_drawn_and_counted(tmp_path):
    # Model(run="curve"): the figure binned the checkpoints by size and the title counted rows
    rows = law_examples.checkpoint_runs().rename(columns={"run": "curve"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bs.fit(bs.Model(extrapolation="none", run="curve"), rows, method="psis", seed=0)
    assert post.run_column == "curve" and "curve" in post.fitted_table()
    fig = bs.plotting.plot_fit(post)
    assert len(fig.axes[0].lines) == 6 and "each run's offset" in fig.texts[0].get_text()
    forest = bs.plotting.plot_forest(post, var_names=["E"])
    assert forest.axes[0].get_title(loc="left") == "E"
