"""The command line: the main job and its follow-up verbs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.cli import main


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    code = main(["fit", "--out", str(out), "--draws", "1000", "--warmup", "500"])
    return code, out


@pytest.mark.slow
def test_main_job_writes_fit_summary_and_figure(fitted, capsys):
    code, out = fitted
    for name in ("fit.nc", "summary.csv", "fit.png"):
        assert (out / name).stat().st_size > 0
    # 3: the fit ran but failed a diagnostic (printed as a warning); 0 when it passed
    ok = bs.load_posterior(out / "fit.nc").diagnostics(warn=False).attrs["ok"]
    assert code == (0 if ok else 3)
    summary = pd.read_csv(out / "summary.csv", index_col=0)
    # the law's parameters and the simulated ladder's family effects, with finite medians
    assert {"E", "A", "B", "alpha", "beta", "E_family[f0]"} <= set(summary.index)
    assert np.isfinite(summary.select_dtypes("number").to_numpy()).all()


@pytest.mark.slow
def test_follow_up_verbs(fitted, capsys):
    _, out = fitted
    capsys.readouterr()
    assert main(["summary", str(out / "fit.nc")]) == 0
    text = capsys.readouterr().out
    assert "E_family[f0]" in text and "R-hat" in text
    assert (
        main(["predict", str(out / "fit.nc"), "--N", "1e9", "--D", "2e10", "--group", "family=f1"])
        == 0
    )
    assert "90% interval" in capsys.readouterr().out
    assert (
        main(
            [
                "frontier",
                str(out / "fit.nc"),
                "--compute",
                "1e22",
                "--target",
                "2.5",
                "--plot",
                str(out / "frontier.png"),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "tokens_per_param" in text and "p_target" in text
    assert (out / "frontier.png").stat().st_size > 0
    assert main(["report", str(out / "fit.nc"), "--out", str(out / "report")]) == 0
    assert (out / "report" / "report.html").stat().st_size > 0


@pytest.mark.slow
def test_backtest_verb(tmp_path, capsys):
    import bayescale as bs

    csv = tmp_path / "runs.csv"
    bs.simulate_ladder(seed=3).to_csv(csv, index=False)
    code = main(
        [
            "backtest",
            str(csv),
            "--split",
            "compute",
            "--draws",
            "300",
            "--out",
            str(tmp_path / "bt.csv"),
        ]
    )
    captured = capsys.readouterr()
    text = captured.out
    assert "coverage_0.9" in text and (tmp_path / "bt.csv").is_file()
    # exit 3, with the split named on stderr, when a refit failed its diagnostics (as fit)
    failed = not pd.read_csv(tmp_path / "bt.csv")["fit_ok"].all()
    assert code == (3 if failed else 0)
    assert ("failed its diagnostics" in captured.err) == failed
    assert "90% coverage" in text and "a calibrated forecast of these points" in text
    table = pd.read_csv(tmp_path / "bt.csv")
    row = table.iloc[0]
    assert {"calibrated_0.9_lo", "calibrated_0.9_hi", "coverage_0.9_p"} <= set(table)
    assert (table["dataset"] == csv.name).all()  # it was written empty
    # the ranges are printed as sentences, not as columns of the printed table
    assert "calibrated_0.9_lo" not in text and "coverage_0.9_p" not in text
    assert f"{row['calibrated_0.9_lo']:.2f}-{row['calibrated_0.9_hi']:.2f}" in text


@pytest.mark.slow
def test_backtest_verb_frontier(tmp_path, capsys):
    import bayescale as bs

    csv = tmp_path / "runs.csv"
    bs.simulate_ladder(seed=3).to_csv(csv, index=False)
    out = tmp_path / "fb.csv"
    argv = ["backtest", str(csv), "--split", "frontier", "--held-out", "1", "--draws", "300"]
    code = main([*argv, "--out", str(out)])
    captured = capsys.readouterr()
    text = captured.out
    assert "top 1 profiles held out:" in text and "N* band" in text
    assert "a right fit's band would hold about" in text
    table = pd.read_csv(out)
    # exit 3 and a warning exactly when a fit failed its diagnostics, as `fit` exits
    failed = not table["fit_ok"].all()
    assert code == (3 if failed else 0)
    assert ("failed its diagnostics" in captured.err) == failed
    assert table["profile"].tolist() == [20.0] and {"inside", "inside_measured"} <= set(table)
    # too many profiles held out, and --held-out without --split frontier: one line, status 2
    assert main([*argv[:-4], "--held-out", "5"]) == 2
    assert "hold out at most 3" in capsys.readouterr().err
    assert main(["backtest", str(csv), "--held-out", "2"]) == 2
    assert "--split frontier" in capsys.readouterr().err


def test_datasets_verbs(capsys, mirror):
    assert main(["datasets", "list"]) == 0
    assert "epoch_chinchilla" in capsys.readouterr().out
    assert main(["datasets", "info", "gemstones"]) == 0
    assert "MIT" in capsys.readouterr().out


def test_a_dataset_table_not_ready_to_fit_says_how_to_fix_it(capsys, mirror, tmp_path):
    argv = ["fit", "--dataset", "obsscaling", "--out", str(tmp_path / "o")]
    assert main(argv) == 2  # NaN tokens: the library's Python advice, and the way round it
    assert "bayescale.datasets.load('obsscaling')" in capsys.readouterr().err


def test_bad_arguments_exit_non_zero(tmp_path, capsys):
    csv = tmp_path / "runs.csv"
    csv.write_text("N,tokens,loss\n1e8,2e9,3.1\n")
    assert main(["fit", str(csv), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Missing column 'params'" in err and "'N'" in err
    assert main(["fit", str(tmp_path / "absent.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["fit", "--likelihood", "cauchy"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_pooling_verb_says_what_is_wrong(tmp_path, capsys):
    import bayescale as bs

    csv = tmp_path / "runs.csv"
    bs.simulate_ladder(families=2, seed=3).to_csv(csv, index=False)
    assert main(["pooling", str(csv)]) == 2  # --group is required
    assert "--group" in capsys.readouterr().err
    assert main(["pooling", str(csv), "--group", "dataset"]) == 2
    assert "--group 'dataset' is not a column" in capsys.readouterr().err
    assert main(["pooling", str(csv), "--group", "family", "--figure", "out.txt"]) == 2
    assert "unknown figure format" in capsys.readouterr().err
    # Every size of the simulated ladder is its own: k=40 leaves no group larger runs.
    assert main(["pooling", str(csv), "--group", "family", "--k", "40"]) == 2
    out, err = capsys.readouterr()
    assert "family=f0, k=40, alone: skipped: family=f0 has 35 model sizes" in out
    assert "No case of the new-group backtest was fitted" in err
    assert main(["pooling", str(csv), "--group", "family", "--hold-out", "f7"]) == 2
    assert "--hold-out f7: not a level of --group 'family'" in capsys.readouterr().err
    assert main(["pooling", str(csv), "--group", "family", "--k", "40", "--hold-out", "f1"]) == 2
    out = capsys.readouterr().out
    assert "family=f1, k=40, alone: skipped" in out and "family=f0" not in out


@pytest.mark.slow
@pytest.mark.parametrize("flag", [[], ["--extrapolation", "prior"]])
def test_fit_from_a_preset_takes_the_default_or_the_chosen_extrapolation(flag, tmp_path):
    import bayescale as bs

    table = tmp_path / "runs.csv"
    bs.simulate_ladder().to_csv(table, index=False)
    out = tmp_path / "fit"
    args = ["fit", str(table), "--preset", "chinchilla", "--method", "psis", "--quiet"]
    assert main([*args, *flag, "--out", str(out)]) in (0, 3)
    mode = bs.load_posterior(out / "fit.nc").model.extrapolation
    assert mode == (flag[1] if flag else "learned")  # a preset used to get the fixed drift


@pytest.mark.slow
def test_fit_can_choose_the_law_by_loo(tmp_path, capsys):
    import bayescale as bs

    table = tmp_path / "runs.csv"
    bs.simulate_ladder().to_csv(table, index=False)
    out = tmp_path / "fit"
    args = ["fit", str(table), "--choose-law", "kaplan", "--method", "psis", "--quiet"]
    assert main([*args, "--extrapolation", "prior", "--out", str(out)]) in (0, 3)
    text = capsys.readouterr().out
    assert "Chosen law: chinchilla" in text and "kaplan" in text  # the LOO table is printed
    assert bs.load_posterior(out / "fit.nc").model.law.name == "chinchilla"


def test_choose_law_with_effects_no_other_law_has_is_a_clear_error(tmp_path, capsys):
    # the simulated default table fits E and A by family; Kaplan's law has neither
    args = ["fit", "--choose-law", "kaplan", "--out", str(tmp_path), "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "at least two laws" in err and "kaplan" in err


def test_pool_prior_verb_fits_a_prior_a_fit_then_uses(tmp_path, capsys):
    """``bayescale pool-prior`` over one's curves, then ``fit --extrapolation-prior``."""
    import numpy as np

    import bayescale as bs

    rng = np.random.default_rng(3)
    d = np.geomspace(1e6, 1e9, 30)
    curves = pd.concat(
        pd.DataFrame(
            {
                "tokens": d,
                "loss": (1 + 20 * d ** -(0.3 - 0.03 * np.log10(d / 1e6) + 0.02 * i))
                * np.exp(rng.normal(0, 0.002, d.size)),
                "curve": f"c{i}",
            }
        )
        for i in range(4)
    )
    table = tmp_path / "curves.csv"
    curves.to_csv(table, index=False)
    prior = tmp_path / "prior.json"
    args = ["pool-prior", str(table), "--preset", "power_tokens", "--out", str(prior)]
    assert main([*args, "--by", "curve"]) == 0
    out = capsys.readouterr().out
    assert "over 4 tables" in out and "sigma_o median" in out
    assert bs.record.ScalePrior.load(prior).fitted_on == ("c0", "c1", "c2", "c3")
    # what it cannot use: a column that is not there, a law the tables lack inputs for
    assert main([*args, "--by", "family"]) == 2
    assert "--by 'family' is not a column" in capsys.readouterr().err
    assert main([*args, "--by", "tokens"]) == 2  # a law input: each table would lack it
    assert "--by 'tokens' is a column the model reads" in capsys.readouterr().err
    assert main(["pool-prior", str(table), "--by", "curve", "--out", str(prior)]) == 2
    assert "table 'c0'" in capsys.readouterr().err

    one = tmp_path / "c0.csv"
    curves[curves["curve"] == "c0"].drop(columns="curve").to_csv(one, index=False)
    fit = ["fit", str(one), "--preset", "power_tokens", "--draws", "200", "--warmup", "200"]
    fit += ["--quiet", "--out", str(tmp_path / "fit")]
    assert main([*fit, "--extrapolation-prior", str(prior)]) in (0, 3)
    post = bs.load_posterior(tmp_path / "fit" / "fit.nc")
    assert post.model.extrapolation_prior["loss"] == bs.record.ScalePrior.load(prior)
    assert main([*fit, "--extrapolation-prior", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_pool_prior_drops_the_highest_losses_of_each_ladder(tmp_path, capsys, monkeypatch):
    """``--drop-highest-loss`` counts within each ladder: the K highest of the whole table would
    all come from the ladder of the highest losses."""
    from bayescale import record

    d = np.geomspace(1e6, 1e9, 12)
    curves = pd.concat(
        [
            *(
                pd.DataFrame({"tokens": d, "loss": (1 + i) * (1 + 20 * d**-0.3), "curve": f"c{i}"})
                for i in range(3)
            ),
            pd.DataFrame({"tokens": d[:2], "loss": [9.0, 8.0], "curve": "short"}),
        ]
    )
    table = tmp_path / "curves.csv"
    curves.to_csv(table, index=False)
    seen = {}

    def capture(model, tables, **kwargs):
        seen.update(tables)
        raise ValueError("captured")

    monkeypatch.setattr(record, "pooled_prior", capture)
    args = ["pool-prior", str(table), "--preset", "power_tokens", "--by", "curve"]
    assert main([*args, "--drop-highest-loss", "2", "--out", str(tmp_path / "p.json")]) == 2
    assert sorted(seen) == ["c0", "c1", "c2"]  # the short curve would have no row left
    for name, sub in seen.items():
        whole = curves[curves["curve"] == name]
        assert len(sub) == 10 and "curve" not in sub
        assert np.allclose(np.sort(sub["loss"]), np.sort(whole["loss"])[:10])
    out = capsys.readouterr().out
    assert "Dropped the 2 highest-loss rows of each of 3 ladders" in out
    assert "Left out, no more rows than --drop-highest-loss 2: short (2 rows)" in out
    seen.clear()
    assert main([*args, "--drop-highest-loss", "0", "--out", str(tmp_path / "p.json")]) == 2
    assert sorted(seen) == ["c0", "c1", "c2", "short"] and len(seen["c1"]) == 12
    assert main([*args, "--drop-highest-loss", "12", "--out", str(tmp_path / "p.json")]) == 2
    assert "leaves no ladder with a row" in capsys.readouterr().err


def test_every_option_says_what_it_does_and_its_default():
    """``--help`` lists each option's default (docs/reports.md says so); argparse shows it only
    for an option with a help text, and --chains, --warmup, --seed and others had none."""
    import argparse

    from bayescale.cli.parser import build_parser

    def options(parser, verb=""):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from options(sub, name)
            elif action.option_strings and action.dest != "help":
                yield verb, action

    bare = [f"{verb} {a.option_strings[0]}" for verb, a in options(build_parser()) if not a.help]
    assert not bare


def test_fit_prints_a_passing_fits_note_on_heavy_tails(tmp_path, capsys, monkeypatch):
    """A passing fit whose Student-t nu falls below 1 gets its HeavyTailWarning as a note on
    stderr, once."""
    import importlib

    fit_module = importlib.import_module("bayescale.fit")
    real = fit_module.diagnose

    def heavy(post, warn=True):
        table = real(post, warn=False)
        table.attrs.update(ok=True, nu_median=0.63, max_treedepth_hits=0)
        return table

    monkeypatch.setattr(fit_module, "diagnose", heavy)
    table = tmp_path / "runs.csv"
    bs.simulate_ladder(budgets=(1e18, 1e19), sizes_per_budget=4, seed=5).to_csv(table, index=False)
    args = ["fit", str(table), "--chains", "2", "--draws", "30", "--warmup", "15", "--quiet"]
    main([*args, "--retry", "never", "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    note = "note: The fit passed its diagnostics. The Student-t degrees of freedom sit at 0.63"
    assert err.count(note) == 1


def test_fit_says_when_it_drew_a_failed_fit_again(tmp_path, capsys):
    table = tmp_path / "runs.csv"
    bs.simulate_ladder(budgets=(1e18, 1e19), sizes_per_budget=4, seed=5).to_csv(table, index=False)
    short = ["fit", str(table), "--chains", "2", "--draws", "30", "--warmup", "15", "--quiet"]
    assert main([*short, "--seed", "11", "--retry", "always", "--out", str(tmp_path / "a")]) == 3
    text = capsys.readouterr().out
    assert "The first try failed its diagnostics (" in text and "15 + 30" not in text
    assert "30 + 60 per chain" in text
    assert bs.load_posterior(tmp_path / "a" / "fit.nc").posterior.sizes["draw"] == 60
    # short chains were asked for speed: not drawn again unless --retry always
    assert main([*short, "--seed", "11", "--out", str(tmp_path / "b")]) == 3
    assert "first try" not in capsys.readouterr().out
    assert bs.load_posterior(tmp_path / "b" / "fit.nc").posterior.sizes["draw"] == 30
    # --max-tree-depth reaches the sampler; the retry after hits at depth 3 builds depth 5
    shallow = [*short, "--seed", "11", "--retry", "always", "--max-tree-depth", "3"]
    main([*shallow, "--out", str(tmp_path / "c")])
    text = capsys.readouterr().out
    assert "max_tree_depth 5 after draws at the maximum tree depth" in text
    assert bs.load_posterior(tmp_path / "c" / "fit.nc").settings["max_tree_depth"] == 5
