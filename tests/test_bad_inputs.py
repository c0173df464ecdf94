"""Bad input, as a new or hostile user would give it: every case ends in a clear error.

The command line: status 2 and one line on stderr that names the problem (never a traceback);
the Python API: a ``DataError``, ``SpecificationError``, ``PosteriorFileError`` or
``ValueError`` whose message names the column or argument and the fix.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayescale as bs
from bayescale.cli import main
from bayescale.cli.options import UsageError
from bayescale.decisions import decision_table

GOOD = "params,tokens,loss\n1e8,2e9,3.1\n2e8,4e9,2.9\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A folder of malformed inputs beside one small valid fit."""
    d = tmp_path_factory.mktemp("bad")
    (d / "good.csv").write_text(GOOD)
    (d / "points_nd.csv").write_text("n,d\n1e9,2e10\n")
    (d / "nohead.csv").write_text("1e8,2e9,3.1\n2e8,4e9,2.9\n3e8,5e9,2.8\n")
    (d / "frontier_bt.csv").write_text("held_out,profile,N_star,inside\n2,1e20,3e9,True\n")
    (d / "semicolon.csv").write_text("params;tokens;loss\n1e8;2e9;3,1\n2e8;4e9;2,9\n")
    (d / "empty.csv").write_text("")
    (d / "header_only.csv").write_text("params,tokens,loss\n")
    (d / "runs.json").write_text(json.dumps({"params": [1e8], "tokens": [2e9], "loss": [3.1]}))
    (d / "runs.xlsx").write_bytes(b"PK\x03\x04 not really a spreadsheet")
    (d / "no_suffix").write_text(GOOD)
    (d / "missing_loss.csv").write_text("params,tokens\n1e8,2e9\n2e8,4e9\n")
    (d / "nan.csv").write_text("params,tokens,loss\n1e8,2e9,\n2e8,4e9,2.9\n")
    (d / "text.csv").write_text("params,tokens,loss\n1e8,2e9,abc\n2e8,4e9,2.9\n")
    (d / "zero.csv").write_text("params,tokens,loss\n0,2e9,3.1\n2e8,4e9,2.9\n")
    tiny = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=3, seed=3)
    df_tiny = tiny.assign(params=tiny["params"] * 1e-300, tokens=tiny["tokens"] * 1e-300)
    df_tiny[["params", "tokens", "loss"]].to_csv(d / "tiny.csv", index=False)
    (d / "negative_loss.csv").write_text("params,tokens,loss\n1e8,2e9,-3.1\n2e8,4e9,2.9\n")
    (d / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (d / "utf16.csv").write_text("params,tokens,loss\n1e8,2e9,3.1\n", encoding="utf-16")
    (d / "workbook.csv").write_bytes(b"PK\x03\x04" + bytes(range(128, 256)))
    (d / "latin1.csv").write_bytes(
        "params,tokens,loss,family\n1e8,2e9,3.1,caf\xe9\n".encode("latin-1")
    )
    (d / "junk.nc").write_bytes(np.random.default_rng(0).bytes(600))
    (d / "empty.nc").write_bytes(b"")
    (d / "notes.txt").write_text("not a table at all\n")
    (d / "folder").mkdir()
    df = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, seed=3)
    df.to_csv(d / "ladder.csv", index=False)
    # checkpoints (a step column) without a run column
    df.drop(columns="run").assign(step=1000).to_csv(d / "steps_no_run.csv", index=False)
    df.drop(columns="run").to_csv(d / "no_run.csv", index=False)
    # a spreadsheet's export: a last row of bare commas
    (d / "trailing_commas.csv").write_text((d / "ladder.csv").read_text() + ",,,,,,\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.Model().fit(df, chains=1, draws=100, warmup=100, progress_bar=False)
    post.to_netcdf(d / "fit.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        family = bs.Model(effects={"E": "family"})
        two = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, families=2)
        family.fit(two, chains=1, draws=100, warmup=100, progress_bar=False).to_netcdf(
            d / "family_fit.nc"
        )
    (d / "fit_folder").mkdir()
    shutil.copy(d / "fit.nc", d / "fit_folder" / "fit.nc")
    raw = (d / "fit.nc").read_bytes()
    (d / "truncated.nc").write_bytes(raw[: len(raw) // 2])
    foreign = post.draws_tree.copy()
    foreign.attrs = {}
    foreign.to_netcdf(d / "foreign.nc", engine="h5netcdf")
    broken = post.draws_tree.copy()
    broken.attrs = {**post.draws_tree.attrs, "bayescale_model": "{not json"}
    broken.to_netcdf(d / "broken_attr.nc", engine="h5netcdf")
    without_scale = post.draws_tree.copy()
    without_scale.attrs = {k: v for k, v in post.draws_tree.attrs.items() if k != "bayescale_scale"}
    without_scale.to_netcdf(d / "no_scale.nc", engine="h5netcdf")
    rows = GOOD.strip().splitlines()
    (d / "ragged.csv").write_text("\n".join([rows[0], *(r + ",extra" for r in rows[1:])]) + "\n")
    (d / "identical.csv").write_text("params,tokens,loss\n" + "1e9,2e10,2.6\n" * 15)
    (d / "bad.toml").write_text("law = [[[\n")
    n = np.geomspace(1e7, 1e9, 10)  # one run per budget: no iso-FLOP profile
    pd.DataFrame(
        {"params": n, "tokens": 20 * n, "loss": 1.7 + 400 / n**0.34 + 410 / (20 * n) ** 0.28}
    ).to_csv(d / "no_profiles.csv", index=False)
    (d / "points_family.csv").write_text("N,D,family\n1e9,2e10,f1\n")
    (d / "empty_prior.json").write_text("{}")
    (d / "bool_loss.csv").write_text("params,tokens,loss\n1e8,2e9,False\n2e8,4e9,True\n")
    (d / "repeated_loss.csv").write_text("params,tokens,loss,loss\n1e8,2e9,3.1,9.9\n")
    (d / "points_both_names.csv").write_text("N,D,params,tokens\n1e9,2e10,5e9,1e11\n")
    (d / "points_text.csv").write_text("N,D\n1e9,2e10\nabc,4e10\n")
    curve = pd.DataFrame({"params": np.geomspace(1e7, 1e9, 12)})
    curve["loss"] = 1.8 + 300 / curve["params"] ** 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        power = bs.Model("power").fit(curve, chains=1, draws=100, warmup=100, progress_bar=False)
    power.to_netcdf(d / "power_fit.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        sized = bs.Model(columns={"params": "size"}).fit(
            df.rename(columns={"params": "size"}),
            chains=1,
            draws=100,
            warmup=100,
            progress_bar=False,
        )
    sized.to_netcdf(d / "sized_fit.nc")
    (d / "points_size.csv").write_text("size,tokens\n1e9,2e10\n")
    spec_list = post.draws_tree.copy()
    spec_list.attrs = {**post.draws_tree.attrs, "bayescale_model": "[1, 2]"}
    spec_list.to_netcdf(d / "spec_list.nc", engine="h5netcdf")
    effects = json.loads(post.draws_tree.attrs["bayescale_model"])
    effects["effects"] = {"E": ["family"]}
    spec_effects = post.draws_tree.copy()
    spec_effects.attrs = {**post.draws_tree.attrs, "bayescale_model": json.dumps(effects)}
    spec_effects.to_netcdf(d / "spec_effects.nc", engine="h5netcdf")
    pd.DataFrame({"split": ["a"], "n_test": [3]}).to_csv(d / "not_backtest.csv", index=False)
    pd.DataFrame({"x": [1]}).to_csv(d / "no_split.csv", index=False)
    # -- found by an audit of the CLI (2026-12-06) --
    (d / "tabs.csv").write_text(GOOD.replace(",", "\t"))
    (d / "comment.csv").write_text("# my runs\n" + GOOD)
    (d / "percent.csv").write_text("params,tokens,loss\n1e8,2e9,3.1%\n2e8,4e9,2.9%\n")
    two.assign(family=two["family"].where(two.index != 3)).to_csv(
        d / "blank_family.csv", index=False
    )
    (d / "points_blank_family.csv").write_text("N,D,family\n1e9,2e10,f1\n2e9,4e10,\n")
    no_draws = post.draws_tree.copy()
    no_draws["posterior"] = no_draws["posterior"].to_dataset().isel(draw=slice(0, 0))
    no_draws.to_netcdf(d / "no_draws.nc", engine="h5netcdf")
    inf_draws = post.draws_tree.copy()
    bad = inf_draws["posterior"].to_dataset()
    bad["log_alpha"] = bad["log_alpha"].where(bad["draw"] != 5, np.inf)
    inf_draws["posterior"] = bad
    inf_draws.to_netcdf(d / "inf_draws.nc", engine="h5netcdf")
    nan_noise = post.draws_tree.copy()  # a site outside the law: predict skipped its draws
    bad = nan_noise["posterior"].to_dataset()
    bad["sigma"] = bad["sigma"].where(bad["draw"] % 50 != 3)
    nan_noise["posterior"] = bad
    nan_noise.to_netcdf(d / "nan_noise.nc", engine="h5netcdf")
    pd.DataFrame({"split": ["a"], "n_test": [3], "coverage_0.9": [7.5]}).to_csv(
        d / "coverage_above_one.csv", index=False
    )
    # -- found by a second audit of the CLI (2026-12-06) --
    two.to_csv(d / "family.csv", index=False)
    three = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, families=3)
    three.to_csv(d / "family3.csv", index=False)
    pd.DataFrame(
        {"split": ["a", "b"], "status": ["ok", "not scored: no finite draws"]}
        | {"coverage_0.9": [np.nan, np.nan]}
    ).to_csv(d / "coverage_empty.csv", index=False)
    return d


def expect_clear_error(argv, files, capsys, fragment):
    """Run the command; assert status 2, one line on stderr containing ``fragment``."""
    argv = [str(files / a[2:]) if isinstance(a, str) and a.startswith("@/") else a for a in argv]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, (argv, code, err)
    assert "Traceback" not in err
    assert fragment.lower() in err.lower(), (argv, err)
    last = err.strip().splitlines()[-1]
    assert last.startswith(("error:", "bayescale")), err


# (argv, a fragment the message must contain); "@/" names a file of the fixture folder.
CLI_CASES = [
    # -- arguments refused before any work --
    (["fit", "--law", "nope"], "invalid choice"),
    (["fit", "--law", ""], "invalid choice"),
    (["fit", "--likelihood", "cauchy"], "invalid choice"),
    (["fit", "--scale", "sqrt"], "invalid choice"),
    (["fit", "--chains", "0"], ">= 1"),
    (["fit", "--chains", "-2"], ">= 1"),
    (["fit", "--chains", "two"], "whole number"),
    (["fit", "--draws", "0"], ">= 10"),
    (["fit", "--draws", "1"], ">= 10"),
    (["fit", "--draws", "1.5"], "whole number"),
    (["fit", "--warmup", "-1"], ">= 0"),
    (["fit", "--seed", "-1"], "from 0 to"),
    (["fit", "--target-accept", "1.5"], "between 0 and 1"),
    (["fit", "--target-accept", "0"], "between 0 and 1"),
    (["fit", "--target-accept", "95"], "not 90"),
    (["fit", "--target-accept", "high"], "probability"),
    (["fit", "--max-tree-depth", "0"], "from 1 to 15"),
    (["fit", "--max-tree-depth", "16"], "from 1 to 15"),
    (["fit", "--max-tree-depth", "deep"], "whole number"),
    (["fit", "--drop-highest-loss", "-3"], ">= 0"),
    (["fit", "--drop-highest-loss", "x"], "whole number"),
    (["fit", "--columns", "params"], "ROLE=COLUMN"),
    (["fit", "--columns", "=x"], "ROLE=COLUMN"),
    (["fit", "--columns", "loss="], "ROLE=COLUMN"),
    (["fit", "@/good.csv", "--columns"], "--columns: expected at least one argument"),
    (["fit", "@/ladder.csv", "--effects", "E=dataset"], "--effects alone: none"),
    (["predict", "@/fit.nc", "--N", "1e9", "--D", "2e10", "--group"], "at least one argument"),
    (["report", "@/fit.nc", "--backtest", "@/folder"], "file of a backtest (`bayescale backtest"),
    (["fit", "--effects", "E"], "PARAM=GROUP"),
    (["fit", "--effects", "=family"], "PARAM=GROUP"),
    (["fit", "--unknown-option"], "unrecognized arguments"),
    (["fit", "a.csv", "b.csv"], "unrecognized arguments"),
    (["fitt"], "invalid choice"),
    ([], "required"),
    (["summary"], "required"),
    (["predict"], "required"),
    (["predict", "@/fit.nc", "--N", "0"], "> 0"),
    (["predict", "@/fit.nc", "--N=-1e9"], "> 0"),
    (["predict", "@/fit.nc", "--N", "-1e9"], "--N -1e9: a negative number"),
    (["predict", "@/fit.nc", "--N", "nan"], "finite"),
    (["predict", "@/fit.nc", "--N", "inf"], "finite"),
    (["predict", "@/fit.nc", "--N", "7e10", "--D", "abc"], "number > 0"),
    (["predict", "@/fit.nc", "--N", "1e9", "--prob", "90"], "between 0 and 1"),
    (["predict", "@/fit.nc", "--kind", "median"], "invalid choice"),
    (["predict", "@/fit.nc", "--group", "family"], "COLUMN=LABEL"),
    (["frontier", "@/fit.nc"], "--compute"),
    # argparse kept the last use of a repeated option and dropped the others without a word
    (["predict", "@/fit.nc", "--N", "1e9", "--N", "4e9", "--D", "2e10"], "--N is given twice"),
    (["fit", "--effects", "E=family", "--effects", "A=family"], "--effects is given twice"),
    (["fit", "--law", "power", "--law", "kaplan"], "--law is given twice; only the last"),
    (["frontier", "@/fit.nc", "--compute", "1e20", "--compute=1e22"], "and --compute=1e22)"),
    (["frontier", "@/fit.nc", "--compute", "0"], "> 0"),
    (["frontier", "@/fit.nc", "--compute", "1e20", "1e21", "1e20"], "1e+20 more than once"),
    (["frontier", "@/fit.nc", "--compute=-1e22"], "> 0"),
    (["frontier", "@/fit.nc", "--compute", "1e22", "--prob", "1.5"], "between 0 and 1"),
    (["frontier", "@/fit.nc", "--compute", "1e22", "--prob", "0"], "between 0 and 1"),
    (["frontier", "@/fit.nc", "--compute", "1e22", "--target", "-2.5"], "> 0"),
    (["frontier", "@/fit.nc", "--compute", "1e22", "--plot", "x.xyz"], "figure format"),
    (["frontier", "@/fit.nc", "--compute", "1e22", "--plot", "noext"], "figure format"),
    (["frontier", "@/fit.nc", "--compute", "1e22", "--group", "f1"], "COLUMN=LABEL"),
    (["report", "@/fit.nc", "--target-compute", "-5"], "> 0"),
    (["report", "@/fit.nc", "--target-compute", "0"], "> 0"),
    (["backtest", "--split", "random"], "invalid choice"),
    (["backtest", "--train-fraction", "1.5"], "between 0 and 1"),
    (["backtest", "--train-fraction", "0"], "between 0 and 1"),
    (["backtest", "--n-largest", "0"], ">= 1"),
    (["backtest", "--draws", "0"], ">= 1"),
    (["backtest", "--split", "group"], "--group"),
    (["datasets", "show"], "invalid choice"),
    (["datasets", "info"], "dataset name"),
    # -- files --
    (["fit", "@/absent.csv"], "no such file"),
    (["fit", "@/semicolon.csv"], "semicolon-separated"),
    (["fit", "@/empty.csv"], "empty"),
    (["fit", "@/header_only.csv"], "no rows"),
    (["fit", "@/runs.json"], "csv"),
    (["fit", "@/runs.xlsx"], "csv"),
    (["fit", "@/no_suffix"], "csv"),
    (["fit", "@/folder"], "is a folder"),
    (["fit", "@/binary.csv"], "could not be read"),
    (["fit", "@/trailing_commas.csv"], "at rows [16]. bayescale never drops"),
    (["fit", "@/trailing_commas.csv"], "so row r is line r + 1 (a row of bare commas at the end"),
    (["fit", "@/steps_no_run.csv"], "give --run COLUMN (adds a per-run effect), or --run none"),
    (["fit", "@/trailing_commas.csv"], "fill in or delete those rows of the file"),
    # -- a fifth audit (2026-12-07): options ignored, Python advice on the command line --
    (
        ["pooling", "@/family.csv", "--group", "family", "--effects", "E=data", "--k", "1"],
        "--effects groups by ['data'], which the table lacks",
    ),
    (
        ["pooling", "@/family.csv", "--group", "family", "--k", "99"],
        "the lines above say why (a --k of at least a group's number of sizes",
    ),
    (["fit", "@/good.csv", "--run", "loss"], "--run loss is the loss, which the law reads"),
    (["fit", "@/good.csv", "--run", "tokens"], "--run tokens is the input D (tokens)"),
    (["fit", "@/ladder.csv", "--choose-law", "chinchilla"], "e.g. --choose-law chinchilla kaplan"),
    (
        ["predict", "@/fit.nc", "--N", "1e9", "--D", "2e10", "--C", "1e22"],
        "`bayescale fit --flops-per-param-token K` if your FLOPs count differs",
    ),
    (
        ["fit", "@/good.csv", "--extrapolation-prior", "@/empty_prior.json"],
        "holds no prior (no 'mean'): write it with `bayescale pool-prior`",
    ),
    (
        ["fit", "@/good.csv", "--columns", "params=Params"],
        "given for the role 'params' (--columns params=Params), is not in the table",
    ),
    (["fit", "@/good.csv", "--columns", "params=Params"], "Did you mean 'params'?"),
    (["backtest", "@/ladder.csv", "--split", "curve"], "use --split compute or size"),
    (["backtest", "@/no_run.csv", "--split", "curve"], "name it with --run COLUMN"),
    (["fit", "@/bool_loss.csv"], "such as 'False' (row 1)"),
    (
        ["predict", "@/family_fit.nc", "--N", "1e9", "--D", "2e10", "--group", "family=f9"],
        "Give --new-groups to predict for an unseen group",
    ),
    (["fit", "@/ladder.csv", "--run", " "], "argument --run: got an empty value"),
    (["fit", "@/utf16.csv"], "it is UTF-16 text (Excel's 'Unicode text'"),
    (["fit", "@/workbook.csv"], "it is a workbook (.xlsx or .ods), not text"),
    (["fit", "@/latin1.csv"], "not UTF-8 text (byte 0xe9 on line 2); a spreadsheet's export"),
    (["fit", "@/notes.txt"], "no rows"),
    (["fit", "@/missing_loss.csv"], "missing column 'loss'"),
    (["fit", "@/missing_loss.csv"], "map it with --columns loss=COLUMN"),
    # -- a second audit (2026-12-06): options ignored, messages in the library's terms --
    (["backtest", "@/ladder.csv", "--group", "family"], "--group is an option of --split group"),
    (
        ["backtest", "@/ladder.csv", "--columns", "loss=val"],
        "column 'val', given for the role 'loss'",
    ),
    (["backtest", "@/ladder.csv", "--split", "frontier", "--held-out", "100"], "leaves 0 profile"),
    (["pooling", "@/family.csv", "--group", "params"], "the law reads (the input n (params))"),
    (["backtest", "@/ladder.csv", "--split", "group", "--group", "loss"], "reads (the loss)"),
    (["predict", "@/fit.nc", "--N", "1e9", "--D", "-2.5E10"], "--D -2.5E10: a negative"),
    (
        ["predict", "@/fit.nc", "--points", "@/points_family.csv", "--N", "1e9"],
        "--N and the points file's 'N' column both give N",
    ),
    (["pooling", "@/family.csv", "--group", "family", "--hold-out", "f9"], "not a level"),
    (["pool-prior", "@/family3.csv", "--by", "family", "--drop-highest-loss", "99"], "no ladder"),
    (["pool-prior", "@/family.csv", "--by", "family"], "into 2 table(s); a prior across ladders"),
    (["fit", "@/ladder.csv", "--preset", "@/fit.nc"], "is a .nc file, not a preset"),
    (["fit", "@/ladder.csv", "--extrapolation-prior", "@/folder"], "is a folder"),
    (["report", "@/fit.nc", "--target-compute", "1e19"], "lies inside the data"),
    (["report", "@/power_fit.nc", "--target-compute", "1e8"], "read as the law's input n"),
    (["report", "@/fit.nc", "--backtest", "@/coverage_empty.csv"], "holds 'nan' at row 1"),
    (["report", "@/fit.nc", "--backtest", "@/frontier_bt.csv"], "is a frontier backtest"),
    (["predict", "@/fit.nc", "--C", "1e300", "--N", "1e-300"], "float64 cannot hold"),
    # rows counted from 1, the header not counted (as predict --points counts them)
    (["fit", "@/nan.csv"], "missing (nan) value(s), e.g. at rows [1]"),
    (["fit", "@/text.csv"], "such as 'abc' (row 1)"),
    (["predict", "@/fit.nc", "--points", "@/points_text.csv"], "row 2 holds 'abc'"),
    (["fit", "@/zero.csv"], "column 'params' (params) must be > 0"),
    (["fit", "@/tiny.csv"], "float64 cannot hold"),
    (["fit", "@/negative_loss.csv"], "'loss' (loss) must lie in (0.0, inf)"),
    (["fit", "@/good.csv", "--dataset", "epoch_chinchilla"], "not both"),
    (["fit", "@/good.csv", "--method", "psis", "--warmup", "50"], "--warmup tunes nuts"),
    (["fit", "@/good.csv", "--method", "psis", "--max-tree-depth", "12"], "--max-tree-depth tunes"),
    (["fit", "@/good.csv", "--method", "psis", "--retry", "always"], "--retry tunes nuts"),
    (["fit", "@/nohead.csv"], "holds numbers only, so it has no header"),
    (["predict", "@/fit.nc", "--points", "@/points_nd.csv"], "none of its columns is an input"),
    (["fit", "@/good.csv", "--columns", "run=run_ID"], "'run_ID', given for the role 'run'"),
    (["fit", "@/good.csv", "--columns", "flops=compute"], "given for the role 'flops'"),
    (
        ["fit", "@/good.csv", "--method", "psis", "--warmup", "50", "--target-accept", "0.99"],
        "--warmup and --target-accept tune nuts, which --method psis does not run",
    ),
    (["fit", "@/good.csv", "--table", "runs"], "--dataset"),
    (
        ["fit", "@/good.csv", "--columns", "loss=val_loss"],
        "'val_loss', given for the role 'loss' (--columns loss=val_loss)",
    ),
    (
        ["fit", "@/good.csv", "--columns", "loss=val_loss", "--drop-highest-loss", "1"],
        "no loss column 'val_loss'",
    ),
    (["fit", "@/good.csv", "--columns", "weight=loss"], "unknown column role"),
    (["fit", "@/good.csv", "--drop-highest-loss", "2"], "every one"),
    (["fit", "@/good.csv", "--out", "@/good.csv"], "is a file"),
    (["fit", "@/ladder.csv", "--effects", "E=family"], "'family' has 1 level(s)"),
    (["fit", "@/ladder.csv", "--effects", "Q=family"], "'Q', which is not a parameter"),
    (["fit", "@/ladder.csv", "--preset", "no_such_preset"], "no_such_preset"),
    (["fit", "--dataset", "nope"], "unknown dataset"),
    (["fit", "--data", "epoch_chinchilla"], "unrecognized arguments: --data"),
    (["fit", "--dataset", "epoch_chinchilla", "--table", "nope"], "no table"),
    (["backtest", "@/absent.csv"], "no such file"),
    (["backtest", "@/semicolon.csv"], "semicolon-separated"),
    (["backtest", "@/ladder.csv", "--split", "group", "--group", "nope"], "not a column"),
    (["backtest", "@/ladder.csv", "--out", "@/folder"], "is a folder"),
    (["backtest", "@/ladder.csv", "--out", "@/absent_dir/bt.csv"], "does not exist"),
    (["backtest", "--dataset", "nope"], "unknown dataset"),
    (["summary", "@/absent.nc"], "no such file"),
    (["summary", "@/junk.nc"], "cannot be read"),
    (["summary", "@/empty.nc"], "cannot be read"),
    (["summary", "@/truncated.nc"], "cannot be read"),
    (["summary", "@/foreign.nc"], "not written by bayescale"),
    (["summary", "@/broken_attr.nc"], "not valid json"),
    (["summary", "@/good.csv"], "cannot be read"),
    (["summary", "@/folder"], "is a folder"),
    (["predict", "@/junk.nc", "--N", "1e9", "--D", "2e10"], "cannot be read"),
    (["predict", "@/fit.nc"], "needs inputs"),
    (["predict", "@/fit.nc", "--N", "1e9"], "predict needs --d for the chinchilla law"),
    (
        ["predict", "@/fit.nc", "--N", "1e9", "2e9", "--D", "1e10", "2e10", "3e10"],
        "the inputs give [2, 3] points",
    ),
    (["predict", "@/fit.nc", "--points", "@/absent.csv"], "no such file"),
    (["predict", "@/fit.nc", "--points", "@/semicolon.csv"], "semicolon-separated"),
    (["frontier", "@/junk.nc", "--compute", "1e22"], "cannot be read"),
    (["frontier", "@/fit.nc", "--compute", "1e22", "--plot", "@/folder/"], "figure format"),
    (
        ["frontier", "@/fit.nc", "--compute", "1e22", "--plot", "@/absent_dir/f.png"],
        "absent_dir does not exist",
    ),
    (["report", "@/junk.nc"], "cannot be read"),
    (["report", "@/fit.nc", "--out", "@/good.csv"], "is a file"),
    (["report", "@/fit.nc", "--backtest", "@/no_split.csv"], "not a backtest table"),
    (["report", "@/fit.nc", "--backtest", "@/not_backtest.csv"], "not a backtest table"),
    (["report", "@/fit.nc", "--backtest", "@/absent.csv"], "no such file"),
    (["datasets", "info", "nope"], "unknown dataset"),
    # -- contradictions and damaged inputs (found by fuzzing the CLI) --
    (["datasets", "list", "extra"], "takes no name"),
    (["fit", "@/good.csv", "--law", "power", "--preset", "chinchilla"], "give one of them"),
    (["fit", "@/good.csv", "--preset", "@/bad.toml"], "not valid toml"),
    (["fit", "@/good.csv", "--preset", "@/absent.toml"], "no such file"),
    (["fit", "@/ragged.csv"], "more fields than its header"),
    (["fit", "@/identical.csv"], "only 1 distinct point"),
    (["summary", "@/no_scale.nc"], "edited or damaged"),
    (["predict", "@/no_scale.nc", "--N", "1e9", "--D", "2e10"], "edited or damaged"),
    (["predict", "@/fit.nc", "--N", "1e9", "--D", "2e10", "--C", "1e25"], "disagrees with"),
    (["predict", "@/fit.nc", "--N", "1e-300", "--D", "1e-300"], "no finite loss"),
    (["predict", "@/fit.nc", "--N", "1e9", "--D", "2e10", "--group", "a=1", "a=2"], "twice"),
    (
        ["predict", "@/family_fit.nc", "--points", "@/points_family.csv", "--group", "family=f2"],
        "one way",
    ),
    (
        ["frontier", "@/fit.nc", "--compute", "1e22", "--plot", "/proc/absent.png"],
        "cannot be written",
    ),
    (["backtest", "@/ladder.csv", "--out", "/proc/absent.csv"], "cannot be written"),
    (["backtest", "@/no_profiles.csv", "--split", "frontier"], "iso-flop profile"),
    (["backtest", "@/ladder.csv", "--n-largest", "3"], "option of --split size"),
    (["backtest", "@/ladder.csv", "--split", "size", "--train-fraction", "0.5"], "option of"),
    (["fit", "@/good.csv", "--columns", "loss=params"], "two roles"),
    (["summary", "@/fit_folder"], "holds fit.nc"),
    (
        ["predict", "@/family_fit.nc", "--N", "1e9", "--D", "2e10", "--group", "family=f9"],
        "new-groups",
    ),
    (["frontier", "@/family_fit.nc", "--compute", "1e20", "--group", "family=f9"], "new-groups"),
    # -- found by a sweep of the CLI (2026-12-05) --
    (["fit", "@/repeated_loss.csv"], "more than once"),
    (["predict", "@/fit.nc", "--points", "@/points_both_names.csv"], "both give the input N"),
    (["predict", "@/fit.nc", "--points", "@/points_text.csv"], "column 'N' must be numeric"),
    (["predict", "@/power_fit.nc", "--N", "1e9", "--D", "2e10"], "not --D"),
    (["frontier", "@/power_fit.nc", "--compute", "1e20"], "needs a law of N and D"),
    (["backtest", "@/ladder.csv"], "lower train_fraction"),
    (["backtest", "@/ladder.csv", "--split", "curve"], "one row"),
    (["backtest", "@/ladder.csv", "--split", "group", "--group", "family"], "two or more"),
    (["summary", "@/spec_list.nc"], "not a model's spec"),
    (["predict", "@/spec_effects.nc", "--N", "1e9", "--D", "2e10"], "sd_log_E__family"),
    # -- found by an audit of the CLI (2026-12-06) --
    (["fit", "@/tabs.csv"], "tab-separated"),
    (["fit", "@/comment.csv"], "looks like a comment"),
    (["fit", "@/percent.csv", "--drop-highest-loss", "1"], "'loss' is not numeric"),
    (["backtest", "@/percent.csv", "--drop-highest-loss", "1"], "'loss' is not numeric"),
    (["backtest", "@/blank_family.csv", "--split", "group", "--group", "family"], "no label"),
    (["fit", "@/ladder.csv", "--effects", "E=loss"], "'loss' is the loss, which the law reads"),
    (["fit", "@/ladder.csv", "--effects", "E=tokens"], "is the input D (tokens), which the law"),
    (["fit", "@/ladder.csv", "--effects", "E=draw"], "rename the column"),
    (["fit", "@/ladder.csv", "--seed", "9223372036854775808"], "from 0 to 4294967295"),
    (["fit", ""], "empty value"),
    (["fit", "--dataset", ""], "empty value"),
    (["report", "@/fit.nc", "--out", ""], "empty value"),
    (["predict", "@/fit.nc", "--points", "", "--N", "1e9", "--D", "2e10"], "empty value"),
    (["report", "@/fit.nc", "--backtest", ""], "empty value"),
    (
        ["predict", "@/family_fit.nc", "--points", "@/points_family.csv", "--N", "2e9"],
        "give it one way",
    ),
    (
        [
            "predict",
            "@/family_fit.nc",
            "--points",
            "@/points_blank_family.csv",
            "--new-groups",
        ],
        "no label at rows [2]",
    ),
    (["summary", "@/no_draws.nc"], "holds no draws"),
    (["predict", "@/inf_draws.nc", "--N", "1e9", "--D", "2e10"], "not all finite"),
    (["predict", "@/nan_noise.nc", "--N", "1e9", "--D", "2e10"], "draws of ['sigma'] are not"),
    (["report", "@/fit.nc", "--backtest", "@/coverage_above_one.csv"], "share from 0 to 1"),
    # -- found by a fourth sweep of the CLI (2026-12-07) --
    (["predict", "@/fit.nc", "--N", "1e9", "--D", "2e10", "--new-groups"], "no group effects"),
    (["frontier", "@/fit.nc", "--compute", "1e20", "--new-groups"], "it changes nothing"),
]


def _case_id(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def test_cli_run_option_sets_the_run_effect():
    """The run effect had no switch on the command line, though its messages named run=."""
    from bayescale.cli.options import table_model
    from bayescale.cli.parser import build_parser

    for given, run in (("none", False), ("None", False), ("ckpt_run", "ckpt_run")):
        args = build_parser().parse_args(["backtest", "x.csv", "--run", given])
        assert table_model(args).run == run
    assert table_model(build_parser().parse_args(["backtest", "x.csv"])).run is None


def test_cli_probabilities_are_read_from_their_text():
    """The library's number checks refuse text ("0.5"); the command line's options reach them
    as numbers (every --prob, --target-accept and --train-fraction was refused for a while)."""
    from bayescale.cli.parser import build_parser

    args = build_parser().parse_args(["predict", "fit.nc", "--N", "1e9", "--prob", "0.5"])
    assert args.prob == 0.5
    args = build_parser().parse_args(["fit", "--target-accept", "0.99"])
    assert args.target_accept == 0.99


@pytest.mark.parametrize(("argv", "fragment"), CLI_CASES, ids=_case_id)
def test_cli_bad_input_is_a_clear_error(argv, fragment, files, capsys):
    expect_clear_error(argv, files, capsys, fragment)


PYTHON_ADVICE = ("df[", "df.", "=True", "=False", "columns={", "run='", "astype", "pd.")


@pytest.mark.parametrize(
    "argv",
    [
        ["fit", "@/missing_loss.csv"],
        ["fit", "@/steps_no_run.csv"],
        ["fit", "@/trailing_commas.csv"],
        ["fit", "@/nan.csv"],
        ["fit", "@/text.csv"],
        ["fit", "@/good.csv", "--columns", "run=run_ID"],
        ["predict", "@/family_fit.nc", "--N", "1e9", "--D", "2e10", "--group", "family=f9"],
        ["fit", "@/good.csv", "--run", "loss"],
        ["fit", "@/ladder.csv", "--choose-law", "chinchilla"],
        ["predict", "@/fit.nc", "--N", "1e9", "--D", "2e10", "--C", "1e22"],
        ["fit", "@/good.csv", "--extrapolation-prior", "@/empty_prior.json"],
        ["fit", "@/good.csv", "--columns", "params=Params"],
        ["pooling", "@/family.csv", "--group", "family", "--k", "99"],
    ],
    ids=_case_id,
)
def test_cli_data_errors_give_no_python_advice(argv, files, capsys):
    """A table's DataError reaches the command line in its own words (``command_line``)."""
    expect_clear_error(argv, files, capsys, "error:")
    argv = [str(files / a[2:]) if a.startswith("@/") else a for a in argv]
    main(argv)
    err = capsys.readouterr().err
    assert not [p for p in PYTHON_ADVICE if p in err], err


def test_data_error_says_its_column_and_rows():
    """The fields a program words its own advice from, beside the Python message."""
    runs = bs.simulate_ladder(budgets=(1e18, 1e19), sizes_per_budget=4)
    bad = runs.copy()
    bad.loc[bad.index[[2, 5]], "loss"] = np.nan
    with pytest.raises(bs.DataError) as caught:
        bs.Model().prepare(bad)
    e = caught.value
    assert (e.column, e.rows) == ("loss", [int(bad.index[2]), int(bad.index[5])])
    assert "df.dropna(subset=['loss'])" in str(e)
    assert "fill in or delete those rows of the file" in e.command_line
    with pytest.raises(bs.DataError) as caught:
        bs.Model().prepare(runs.drop(columns="params"))
    assert (caught.value.column, caught.value.rows) == ("params", None)
    assert "--columns params=COLUMN" in caught.value.command_line
    with pytest.raises(bs.DataError) as caught:  # a message with no Python in it has no twin
        bs.Model().prepare(runs.head(2))
    assert caught.value.command_line is None


def test_a_shipped_dataset_is_told_what_the_command_line_can_do(files, monkeypatch, capsys):
    """An option fixes a dataset on the command line; an edit of its rows needs Python."""
    ladder = pd.read_csv(files / "ladder.csv")
    tables = {
        "holes": ladder.assign(loss=ladder["loss"].where(ladder.index != 3)),
        "curves": ladder.drop(columns="run", errors="ignore").assign(step=1000),
    }
    monkeypatch.setattr(bs.datasets, "load", lambda name, table=None: tables[name].copy())
    assert main(["fit", "--dataset", "holes", "--out", str(files / "holes_out")]) == 2
    err = capsys.readouterr().err
    assert "load it in Python (bayescale.datasets.load('holes'))" in err
    assert "df.dropna(subset=['loss'])" in err  # the advice the Python session will need
    assert main(["fit", "--dataset", "curves", "--out", str(files / "curves_out")]) == 2
    err = capsys.readouterr().err
    assert "--run COLUMN" in err and "in Python" not in err


def test_report_refuses_a_backtest_of_another_law_or_table(files, capsys):
    """A backtest CSV records its law and table; a report checks them against its fit."""
    from bayescale.calibration import check_backtest_table, split_by_compute
    from bayescale.cli.files import read_runs

    ladder = pd.read_csv(files / "ladder.csv")
    fast = {"method": "psis", "seed": 0}
    split = split_by_compute(ladder, bs.Model(), cut=1.1e19)
    table = bs.backtest(bs.Model(), ladder, split, **fast)
    assert table["law"].tolist() == ["chinchilla"] and table["table"][0].startswith("sha1:")
    table.to_csv(files / "bt_same.csv", index=False)
    post = bs.load_posterior(files / "fit.nc")
    check_backtest_table(read_runs(files / "bt_same.csv"), post=post)  # no error, no warning
    shuffled = ladder.sample(frac=1.0, random_state=0)  # the same rows in another order
    split = split_by_compute(shuffled, bs.Model(), cut=1.1e19)
    check_backtest_table(bs.backtest(bs.Model(), shuffled, split, **fast), post=post)
    table.assign(law="kaplan").to_csv(files / "bt_law.csv", index=False)
    fewer = ladder.iloc[1:]
    other = bs.backtest(bs.Model(), fewer, split_by_compute(fewer, bs.Model(), cut=1.1e19), **fast)
    other.to_csv(files / "bt_table.csv", index=False)
    fit = str(files / "fit.nc")
    for csv, said in [
        ("bt_law.csv", "backtested the law kaplan, and this fit is of the chinchilla law"),
        ("bt_table.csv", "backtested another table than this fit's"),
    ]:
        out = files / f"report_{csv}"
        assert main(["report", fit, "--out", str(out), "--backtest", str(files / csv)]) == 2
        assert said in capsys.readouterr().err
        assert not out.exists()  # refused before any file is written
    with pytest.warns(bs.DataWarning, match="does not say in every row which law and table"):
        check_backtest_table(table.drop(columns=["law", "table"]), post=post)
    for column in ("law", "table"):  # blank cells, as a spreadsheet leaves them
        with pytest.warns(bs.DataWarning, match="does not say in every row"):
            check_backtest_table(table.assign(**{column: np.nan}), post=post)
    with pytest.warns(bs.DataWarning), pytest.raises(ValueError, match="backtested the law"):
        check_backtest_table(
            bs.calibration.concat_backtests([table.assign(law=np.nan), table.assign(law="kaplan")]),
            post=post,
        )


def test_a_fit_with_no_usable_draw_is_said_to_have_zero_width_bands(capsys):
    from bayescale.cli.notes import warn_failed_fit

    diag = pd.DataFrame({"ok": [False]})
    diag.attrs.update(ok=False, ess_importance=0.0)
    warn_failed_fit(SimpleNamespace(diagnostics=lambda warn: diag), "fit.nc")
    assert "every interval has zero width; refit with --method nuts" in capsys.readouterr().err
    diag.attrs.update(ess_importance=150.0)
    warn_failed_fit(SimpleNamespace(diagnostics=lambda warn: diag), "fit.nc")
    err = capsys.readouterr().err
    assert "failed its diagnostics" in err and "zero width" not in err


def test_loo_and_the_report_refuse_draws_that_are_one_point(tmp_path, capsys):
    """An importance-sampled fit with no usable draw keeps only its mode; PSIS then failed with
    arviz's "All tail values are the same", and the report left a half-written folder."""
    rng = np.random.default_rng(2)
    rows = [
        {"run": f"r{int(n)}", "step": j * 100, "params": n, "tokens": n * 40 * frac}
        for n in (1e7, 3e7, 1e8, 3e8)
        for j, frac in enumerate(np.linspace(0.1, 1, 6))
    ]
    curves = pd.DataFrame(rows)
    curves["loss"] = (
        1.7 + 400 / curves["params"] ** 0.34 + 410 / curves["tokens"] ** 0.28
    ) + rng.normal(0, 0.01, len(curves))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.fit(bs.Model(extrapolation="prior"), curves, method="psis", seed=0)
    assert post.diagnostics(warn=False).attrs["ess_importance"] == 0
    for call in (bs.loo, bs.calibration.loo_pit):
        with pytest.raises(ValueError, match=r"the draws are one point.*\(method='nuts'\)"):
            call(post)
    post.to_netcdf(tmp_path / "fit.nc")
    out = tmp_path / "report"
    assert main(["report", str(tmp_path / "fit.nc"), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the draws are one point" in err and "(--method nuts)" in err
    assert "method='nuts'" not in err  # worded for the command line only
    assert not out.exists()


def test_a_backtests_data_warnings_are_worded_for_the_command_line():
    from bayescale.calibration import split_by_compute

    runs = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, seed=3)
    doubled = pd.concat([runs, runs.head(3)], ignore_index=True)  # a table joined twice
    split = split_by_compute(doubled, bs.Model(), cut=1.1e19)
    table = bs.backtest(bs.Model(), doubled, split, method="psis", seed=0)
    assert "df.drop_duplicates()" in table["data_warnings"][0]
    worded = table.attrs["data_warnings_command_line"][0]
    assert "Remove them from the file" in worded and "df." not in worded


def test_debug_variable_turns_tracebacks_on(files, monkeypatch):
    monkeypatch.setenv("BAYESCALE_DEBUG", "1")
    with pytest.raises(bs.PosteriorFileError):
        main(["summary", str(files / "junk.nc")])


def test_summary_exits_like_fit_on_failed_diagnostics(files, capsys):
    post = bs.load_posterior(files / "fit.nc")  # one chain of 100 draws: ESS fails
    ok = post.diagnostics(warn=False).attrs["ok"]
    # one chain: the summary's R-hat is the diagnostics' split R-hat, not ArviZ's NaN
    summary_rhat = post.summary()["r_hat"]
    assert summary_rhat.notna().all()
    assert summary_rhat.max() == post.diagnostics(warn=False)["r_hat"].max()
    assert main(["summary", str(files / "fit.nc")]) == (0 if ok else 3)


def test_predict_takes_several_points_and_a_csv(files, capsys):
    fit = str(files / "fit.nc")
    assert main(["predict", fit, "--N", "1e9", "2e9", "--D", "2e10", "4e10", "--prob", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "50% interval" in out and len(out.strip().splitlines()) == 4
    pd.DataFrame({"N": [1e9, 3e9, 1e10], "D": [2e10, 6e10, 2e11]}).to_csv(
        files / "points.csv", index=False
    )
    assert main(["predict", fit, "--points", str(files / "points.csv")]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 5


def test_predict_fills_in_the_allocation_from_a_budget_and_shows_every_input(files, capsys):
    assert main(["predict", str(files / "fit.nc"), "--N", "1e9", "--C", "1.2e20"]) == 0
    header, row = capsys.readouterr().out.strip().splitlines()[1:3]
    assert header.split()[:3] == ["N", "C", "D"] and row.split()[2] == "2e+10"
    fam = ["predict", str(files / "family_fit.nc"), "--points", str(files / "points_family.csv")]
    assert main(fam) == 0
    assert "family" in capsys.readouterr().out.splitlines()[1]


def test_the_library_still_takes_inputs_a_one_input_law_does_not_read(files):
    # calibration.predict_rows and compare.averaged_predict pass N and D to every law
    post = bs.load_posterior(files / "power_fit.nc")
    rows = pd.DataFrame({"params": [1e9, 2e9], "tokens": [2e10, 4e10], "loss": [2.0, 1.9]})
    draws = bs.calibration.predict_rows(post, rows, post.model)
    assert draws.shape[1] == 2 and np.isfinite(draws).all()


def test_a_compute_split_keeps_each_budget_on_one_side():
    # tokens written to 15 digits: 6 N D of one budget differs in its last bits
    df = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, seed=3)
    df = df.drop(columns=["flops"]).assign(tokens=[float(f"{t:.15g}") for t in df["tokens"]])
    assert np.unique(6 * df["params"] * df["tokens"]).size > 3
    split = bs.calibration.split_by_compute(df, bs.Model(), 0.5)
    sizes = (split.name, int(split.train.sum()), int(split.test.sum()))
    assert sizes == ("compute <= 1e+19", 10, 5)
    with pytest.raises(bs.DataError, match="lower train_fraction"):
        bs.calibration.split_by_compute(df, bs.Model(), 0.75)  # the top budget: no test rows


def test_a_header_with_empty_trailing_cells_is_not_a_repeated_name(files):
    from bayescale.cli.files import read_runs

    (files / "trailing.csv").write_text("params,tokens,loss,,\n1e8,2e9,3.1,,\n")
    assert read_runs(files / "trailing.csv").shape == (1, 5)


def test_a_fan_needs_a_law_of_n_and_d_or_of_one_input():
    # A stand-in fit: the law is what the check reads (the predictor passes the fit check).
    stand_in = SimpleNamespace(law=bs.laws.get("data_constrained"), predictor=lambda **kw: None)
    with pytest.raises(bs.SpecificationError, match="no single direction"):
        bs.plotting.plot_fan(stand_in, 1e21)


def test_predict_reads_points_under_the_fits_own_column_names(files, capsys):
    argv = ["predict", str(files / "sized_fit.nc"), "--points", str(files / "points_size.csv")]
    assert main(argv) == 0
    header, row = capsys.readouterr().out.strip().splitlines()[1:3]
    assert header.split()[:2] == ["N", "D"] and row.split()[:2] == ["1e+09", "2e+10"]


def test_a_parquet_file_without_pyarrow_is_a_clear_error(files, capsys, monkeypatch):
    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine; tried using: 'pyarrow'")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    (files / "runs.parquet").write_bytes(b"PAR1")
    expect_clear_error(["fit", "@/runs.parquet"], files, capsys, "needs pyarrow")


def test_out_folder_is_checked_before_the_fit(files, capsys, monkeypatch):
    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before checking --out")

    monkeypatch.setattr(bs.Model, "fit", no_fit)
    assert main(["fit", str(files / "ladder.csv"), "--out", str(files / "good.csv")]) == 2
    assert main(["fit", str(files / "nan.csv"), "--out", str(files / "o")]) == 2


def ladder() -> pd.DataFrame:
    return bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, families=2, seed=1)


def tiny(s: pd.Series) -> pd.Series:
    """Scale a column so far down that the product of two such columns underflows float64."""
    return s * 1e-200


def _with(df: pd.DataFrame, **changes) -> pd.DataFrame:
    out = df.copy()
    for col, fn in changes.items():
        out[col] = fn(out[col]) if callable(fn) else fn
    return out


# (table builder, model kwargs, error type, message fragment)
DATA_CASES = [
    (lambda d: _with(d, loss=2.5), {}, bs.DataError, "takes one value"),
    (lambda d: d.drop(columns="loss"), {}, bs.DataError, "missing column 'loss'"),
    (lambda d: d.drop(columns="params"), {}, bs.DataError, "missing column 'params'"),
    (lambda d: d.drop(columns="tokens"), {}, bs.DataError, "missing column 'tokens'"),
    (lambda d: d.rename(columns={"params": "N"}), {}, bs.DataError, "'N'"),
    (lambda d: _with(d, loss=lambda s: s.where(s.index != 3)), {}, bs.DataError, "missing (nan)"),
    (lambda d: _with(d, params=lambda s: s.where(s.index != 0)), {}, bs.DataError, "nan"),
    (lambda d: _with(d, tokens=lambda s: s.where(s.index != 0)), {}, bs.DataError, "nan"),
    (lambda d: _with(d, loss=lambda s: s.replace(s.iloc[0], np.inf)), {}, bs.DataError, "infinite"),
    (lambda d: _with(d, params=lambda s: s * 0), {}, bs.DataError, "> 0"),
    (lambda d: _with(d, params=lambda s: -s), {}, bs.DataError, "> 0"),
    (lambda d: _with(d, tokens=lambda s: s * 0), {}, bs.DataError, "> 0"),
    # positive, but 6 N D underflows float64 (the fit ran, then every figure failed)
    (lambda d: _with(d, params=tiny, tokens=tiny), {}, bs.DataError, "float64 cannot hold"),
    (lambda d: _with(d, tokens=lambda s: s * 1e290), {}, bs.DataError, "float64 cannot hold"),
    (
        lambda d: _with(d.drop(columns="flops"), params=tiny, tokens=tiny),
        {"law": bs.laws.get("power", x="C")},
        bs.DataError,
        "float64 cannot hold",
    ),
    (lambda d: _with(d, loss=lambda s: -s), {}, bs.DataError, "loss"),
    (lambda d: _with(d, loss=lambda s: s * 0), {}, bs.DataError, "loss"),
    (lambda d: _with(d, loss=lambda s: s.astype(str) + "x"), {}, bs.DataError, "numeric"),
    (lambda d: _with(d, params="big"), {}, bs.DataError, "numeric"),
    (lambda d: d.iloc[:0], {}, bs.DataError, "empty"),
    (lambda d: d.to_numpy(), {}, bs.DataError, "DataFrame"),
    (lambda d: d, {"effects": {"E": "nope"}}, bs.DataError, "nope"),
    (lambda d: _with(d, family="f0"), {"effects": {"E": "family"}}, bs.DataError, "level"),
    (
        lambda d: _with(d, family=lambda s: s.where(s.index != 0)),
        {"effects": {"E": "family"}},
        bs.DataError,
        "missing labels",
    ),
    (lambda d: d, {"columns": {"loss": "val"}}, bs.DataError, "'val'"),
    (
        lambda d: d.set_axis(["params", "params", *d.columns[2:]], axis=1),
        {},
        bs.DataError,
        "['params'] appear more than once",
    ),
    (
        lambda d: d.set_axis(pd.MultiIndex.from_product([d.columns, ["x"]]), axis=1),
        {},
        bs.DataError,
        "columns are a multiindex",
    ),
]


@pytest.mark.parametrize(("build", "kwargs", "error", "fragment"), DATA_CASES)
def test_bad_table_is_refused_naming_the_column(build, kwargs, error, fragment):
    with pytest.raises(error) as e:
        bs.Model(**kwargs).prepare(build(ladder()))
    assert fragment.lower() in str(e.value).lower()


SPEC_CASES = [
    ({"columns": {"weight": "loss"}}, "unknown column role(s) ['weight']"),
    ({"law": "nope"}, "Unknown law 'nope'; available: ['annealing'"),
    ({"extrapolation": "linear"}, "extrapolation='linear'"),
    ({"likelihood": "cauchy"}, "likelihood='cauchy'; choose one of ['student_t', 'normal']"),
    ({"scale": "sqrt"}, "scale='sqrt'; choose one of ['log', 'linear', 'logit']"),
    ({"effects": {"Q": "family"}}, "'Q', which is not a parameter of the chinchilla law"),
    ({"effects": {"E": 3}}, "effects['E'] = 3: give a group column"),
    ({"effects": {"E": ""}}, "A group term is a column name such as 'family'"),
    ({"discrepancy": "gp"}, "discrepancy='gp'; use None or 'random_walk'"),
    ({"priors": {"not_a_param": None}}, "'not_a_param', which this model does not have"),
    ({"priors": {"E": "Normal(1.8, 0.1)"}}, "give 'E' itself a LogNormal prior"),
    ({"priors": {"A": "LogNormal(6, 1)"}}, "'A' is sampled as 'a'"),
    ({"priors": {"E": "Normal(1, 0.5)"}}, "a LogNormal there would force E above 1"),
    ({"priors": {"nu": "Exponential(0.1)"}, "likelihood": "normal"}, "does not have"),
    ({"priors": {"alpha": "LogNormal(-1, 0.5)", "log_alpha": "Normal(-1, 0.5)"}}, "both 'alpha'"),
    ({"priors": {"sigma": "Normal(0, 1)"}}, "'sigma' must be of positive values (a scale)"),
    ({"priors": {"nu": "Uniform(-1, 30)"}}, "'nu' must be of positive values (degrees"),
    ({"priors": {"log_alpha": "Normal(0, -1)"}}, "Prior 'Normal(0, -1)': Normal distribution"),
    ({"priors": {"log_alpha": "Normal(0, 1, 2, 3)"}}, "Prior 'Normal(0, 1, 2, 3)'"),
    ({"discrepancy_step": -1}, "discrepancy_step=-1 must be finite and > 0"),
    ({"discrepancy_scale": float("nan")}, "discrepancy_scale=nan"),
    ({"extrapolation_scale": "wide"}, "extrapolation_scale='wide': give a number"),
    ({"centered_min_rows": 2.5}, "centered_min_rows=2.5"),
]


def test_priors_by_natural_name_where_the_conversion_is_exact():
    import numpyro.distributions as dist

    model = bs.Model(priors={"E": dist.LogNormal(0.6, 0.5), "alpha": "LogNormal(-1.2, 0.2)"})
    assert set(model.priors) == {"log_E", "log_alpha"}
    assert float(model.priors["log_E"].loc) == 0.6 and float(model.priors["log_E"].scale) == 0.5


@pytest.mark.parametrize(("kwargs", "fragment"), SPEC_CASES, ids=str)
def test_bad_model_specification_is_refused(kwargs, fragment):
    with pytest.raises(bs.SpecificationError) as e:
        bs.Model(**kwargs).prepare(ladder())
    assert fragment in str(e.value)


@pytest.fixture(scope="module")
def post(files):
    return bs.load_posterior(files / "fit.nc")


PREDICT_CASES = [
    ({"N": 0, "D": 1e10}, "N must be finite and > 0"),
    ({"N": -1e9, "D": 1e10}, "N must be finite and > 0"),
    ({"N": np.nan, "D": 1e10}, "N must be finite and > 0"),
    ({"N": np.inf, "D": 1e10}, "N must be finite and > 0"),
    (
        {"N": [1e9, 2e9], "D": [1e10, 2e10, 3e10]},
        "do not broadcast together; give scalars or arrays of one length",
    ),
    ({"N": [1e9, 2e9], "C": [1e20, 2e20, 3e20]}, "do not broadcast"),
    ({"N": 1e9, "params": 2e9, "D": 1e10}, "both give the input N"),
    ({"N": 1e9}, "predict needs D (or tokens) for the chinchilla law"),
    ({"D": 1e10}, "predict needs N (or params) for the chinchilla law"),
    ({"N": 1e9, "D": 1e10, "kind": "median"}, "kind='median'; choose 'predictive' or 'mean'"),
    ({"N": [], "D": []}, "the inputs are empty"),
    ({"N": 1e9, "D": 1e10, "rng_seed": -1}, "rng_seed=-1: give an int from 0"),
    ({"N": 1e9, "D": 1e10, "rng_seed": 2**64}, "rng_seed=18446744073709551616"),
]


@pytest.mark.parametrize(("values", "fragment"), PREDICT_CASES, ids=str)
def test_bad_prediction_inputs_are_refused(post, values, fragment):
    with pytest.raises(ValueError) as e:
        post.predict(**values)
    assert fragment in str(e.value)


@pytest.mark.parametrize("compute", [0, -1e22, np.nan, np.inf, [1e22, -1]])
def test_bad_budgets_are_refused(post, compute):
    with pytest.raises(ValueError, match="compute must be finite and > 0"):
        bs.frontier(post, compute)


@pytest.mark.parametrize(
    ("path_of", "fragment"),
    [
        ("absent.nc", "no such file"),
        ("junk.nc", "cannot be read"),
        ("empty.nc", "cannot be read"),
        ("truncated.nc", "cannot be read"),
        ("foreign.nc", "not written by bayescale"),
        ("broken_attr.nc", "not valid JSON"),
        ("good.csv", "cannot be read"),
    ],
)
def test_unreadable_fit_files_name_the_file(files, path_of, fragment):
    with pytest.raises(bs.PosteriorFileError, match=fragment) as e:
        bs.load_posterior(files / path_of)
    assert path_of in str(e.value)


def test_a_fit_file_missing_a_variable_is_refused_on_load(files, post, tmp_path):
    tree = post.draws_tree.copy()
    posterior = tree["posterior"].to_dataset().drop_vars(post.law.parameters[0].name)
    tree["posterior"] = posterior
    tree.to_netcdf(tmp_path / "missing.nc", engine="h5netcdf")
    with pytest.raises(bs.PosteriorFileError, match="lacks"):
        bs.load_posterior(tmp_path / "missing.nc")
    shutil.rmtree(tmp_path)


# -- plausibility: valid tables that would fit to a confident wrong answer ------------------------


def _perplexity(d: pd.DataFrame) -> pd.DataFrame:
    return _with(d, loss=np.exp)


def _accuracy(d: pd.DataFrame) -> pd.DataFrame:
    return _with(d, loss=lambda s: np.exp(-s))  # rises as the loss falls


def _noise(d: pd.DataFrame) -> pd.DataFrame:
    return _with(d, loss=np.random.default_rng(0).uniform(2.0, 3.0, len(d)))


def _one_size(d: pd.DataFrame) -> pd.DataFrame:
    return _with(d, params=1e8)


def _collide(d: pd.DataFrame) -> pd.DataFrame:
    labels = [1 if i % 2 else "1" for i in range(len(d))]
    return _with(d, family=pd.Series(labels, index=d.index, dtype=object))


# (table builder, model kwargs, message fragment)
WARN_CASES = [
    (lambda d: _with(d, tokens=lambda s: s / 1e9), {}, "millions or billions"),
    (lambda d: _with(d, params=lambda s: s / 1e6), {}, "millions or billions"),
    (lambda d: _with(d, params=lambda s: s * 1e5), {}, "tokens per parameter"),
    (lambda d: _with(d, flops=lambda s: 6e3 * d["params"] * d["tokens"]), {}, "1e+03 times"),
    (lambda d: _with(d, flops=lambda s: 6e3 * d["params"] * d["tokens"]), {}, "does not read"),
    (_perplexity, {}, "perplexit"),
    (_accuracy, {}, "rises with compute"),
    (_noise, {}, "no trend"),
    (lambda d: pd.concat([d, d]), {}, "concatenated twice"),
    (lambda d: pd.concat([d, d]).assign(run=np.arange(2 * len(d)) % len(d)), {}, "repeat"),
    (_one_size, {}, "'params' takes 1 distinct"),
    (lambda d: d[d["flops"].between(5e18, 2e19)], {}, "decades of compute (one budget?)"),
    (lambda d: _with(d, tokens=lambda s: np.where(s > s.median(), 2e10, 1e9)), {}, "'tokens'"),
]


@pytest.mark.parametrize(("build", "kwargs", "fragment"), WARN_CASES)
def test_implausible_table_warns_naming_the_column_and_the_fix(build, kwargs, fragment):
    with pytest.warns(bs.DataWarning) as record:
        bs.Model(**kwargs).prepare(build(ladder()))
    messages = " | ".join(str(w.message) for w in record)
    assert fragment.lower() in messages.lower(), messages


def test_real_ladders_pass_the_plausibility_checks():
    """No check fires on a clean simulated ladder (the suite turns warnings into errors)."""
    bs.Model(effects={"E": "family"}).prepare(ladder())


def test_labels_that_collide_as_text_are_refused():
    with pytest.raises(bs.DataError, match="read the same as text") as e:
        bs.Model(effects={"E": "family"}).prepare(_collide(ladder()))
    assert "'family'" in str(e.value) and "astype(str)" in str(e.value)


def test_an_effect_by_the_run_column_beside_the_run_effect_is_refused():
    df = ladder().assign(run=lambda d: np.arange(len(d)) // 2)
    with pytest.raises(bs.DataError, match="the two cannot be told apart") as e:
        bs.Model(effects={"E": "run"}).prepare(df)
    assert "(run=False)" in str(e.value) and "(--run none)" in e.value.command_line
    bs.Model(effects={"E": "run"}, run=False).prepare(df)  # the effect alone is a choice
    bs.Model(effects={"beta": "run"}).prepare(df)  # each curve its own slope (docs/models.md)
    with pytest.raises(bs.SpecificationError, match="run='params' is the input N"):
        bs.Model(run="params")


def test_the_run_effect_is_announced_with_its_reason():
    df = ladder().assign(run=lambda d: np.arange(len(d)) // 2)
    model = bs.Model()
    notice = model.run_notice(model.prepare(df))
    assert "per-run effect" in notice and "'run'" in notice and "run=False" in notice
    worded = model.run_notice(model.prepare(df), command_line=True)
    assert "--run none treats every row" in worded and "run=False" not in worded
    assert bs.Model(run=False).run_notice(bs.Model(run=False).prepare(df)) is None


@pytest.mark.parametrize(
    ("values", "fragment"),
    [({"N": 70, "D": 1400}, "below the smallest"), ({"N": 1e14, "D": 1e16}, "decades past")],
    ids=["tiny", "huge"],
)
def test_predictions_far_outside_the_data_warn(post, values, fragment):
    with pytest.warns(bs.ExtrapolationWarning, match=fragment):
        post.predict(**values)


def test_budgets_far_outside_the_data_warn(post):
    with pytest.warns(bs.ExtrapolationWarning) as caught:
        bs.frontier(post, 1e100)
    said = [str(w.message) for w in caught]
    assert any("Budgets reach 80.0 decades past" in m for m in said), said
    # that far out no draw's optimum lies within the sizes searched: said too
    assert any("draws put N* at the edge of the sizes searched" in m for m in said), said


def test_cli_prints_warnings_as_one_line(files, capsys, tmp_path):
    df = pd.read_csv(files / "ladder.csv")
    df["tokens"] = df["tokens"] / 1e9
    df.to_csv(tmp_path / "billions.csv", index=False)
    argv = ["fit", str(tmp_path / "billions.csv"), "--out", str(tmp_path / "o")]
    main([*argv, "--chains", "1", "--draws", "50", "--warmup", "50", "--quiet"])
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if "millions or billions" in x]
    assert len(lines) == 1 and lines[0].startswith("warning: Column 'tokens'"), err
    assert "Traceback" not in err and "warnings.warn" not in err


def test_a_group_level_with_one_row_is_named_under_a_student_t():
    df = bs.simulate_ladder(families=3, seed=1)
    lone = df[df["family"] == "f0"].head(1).assign(family="lone")
    table = pd.concat([df, lone], ignore_index=True)
    with pytest.warns(bs.DataWarning, match=r"'family': 1 of 4 levels have a single row \(lone\)"):
        bs.Model(effects={"E": "family"}).prepare(table)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a normal likelihood has no such degenerate mode
        bs.Model(effects={"E": "family"}, likelihood="normal").prepare(table)
        bs.Model(effects={"E": "family"}).prepare(df)


def _repeated(d: pd.DataFrame, single_epoch_noise: bool) -> pd.DataFrame:
    """A data-constrained table: the ladder once (one epoch) and again at 40 epochs, higher.

    The 40-epoch rows' loss falls with compute no more than noise, so over all rows the trend
    is lost; over the single-epoch rows it is there (unless ``single_epoch_noise``).
    """
    once = d.assign(unique_tokens=d["tokens"])
    if single_epoch_noise:
        once = _noise(once)
    rng = np.random.default_rng(1)
    many = d.assign(unique_tokens=d["tokens"] / 40, loss=rng.uniform(3.0, 6.0, len(d)))
    return pd.concat([once, many], ignore_index=True)


def test_repeated_epochs_do_not_hide_the_compute_trend():
    """The trend check reads the single-epoch rows where the law reads unique tokens."""
    model = bs.Model(law="data_constrained")
    with_repeats = _repeated(ladder(), single_epoch_noise=False)
    rho = stats.spearmanr(6 * with_repeats["params"] * with_repeats["tokens"], with_repeats["loss"])
    assert rho.pvalue > 0.05  # over every row, no trend: the old check warned here
    with warnings.catch_warnings():
        warnings.simplefilter("error", bs.DataWarning)
        model.prepare(with_repeats)
    with pytest.warns(bs.DataWarning, match="no trend"):
        model.prepare(_repeated(ladder(), single_epoch_noise=True))


def test_cli_predicts_the_runs_of_a_table_of_runs(files, capsys):
    """A points file with a loss column (a table of runs) is predicted, its losses not read."""
    assert main(["predict", str(files / "fit.nc"), "--points", str(files / "ladder.csv")]) == 0
    out = capsys.readouterr().out
    assert (
        "'loss'" in out
        and "neither inputs nor group columns of this model" in out
        and "median" in out
    )


def test_cli_predicts_points_whose_flops_column_counts_compute_otherwise(files, capsys, tmp_path):
    """The fit's own table, fitted with another FLOPs count (--flops-per-param-token 8, a
    warning), was refused by predict --points: its flops column disagreed with k N D. A law of
    N and D reads N and D; the column is not read, and said so, as the table's losses are."""
    df = pd.read_csv(files / "ladder.csv")
    df.assign(flops=8 * df["params"] * df["tokens"]).to_csv(tmp_path / "k8.csv", index=False)
    assert main(["predict", str(files / "fit.nc"), "--points", str(tmp_path / "k8.csv")]) == 0
    out = capsys.readouterr().out
    assert (
        "'flops'" in out
        and "neither inputs nor group columns of this model" in out
        and "median" in out
    )


def test_a_refused_fit_leaves_no_empty_output_folder(files, capsys, tmp_path):
    out = tmp_path / "new"
    expect_clear_error(["fit", "@/identical.csv", "--out", str(out)], files, capsys, "distinct")
    assert not out.exists()


def test_cli_frontier_of_a_new_group(files, capsys):
    """--new-groups lets the frontier draw an unseen family's effects from the population."""
    argv = ["frontier", str(files / "family_fit.nc"), "--compute", "1e20", "--group", "family=f9"]
    assert main([*argv, "--new-groups"]) == 0
    out = capsys.readouterr().out.splitlines()
    header = out.index(next(line for line in out if line.split()[:2] == ["compute", "N_opt"]))
    printed = dict(zip(out[header].split(), map(float, out[header + 1].split()), strict=True))
    # the printed row is the new family's decision table: its E drawn from the population,
    # not a fitted family's
    post = bs.load_posterior(files / "family_fit.nc")
    new = decision_table(post, 1e20, family="f9", new_groups=True).iloc[0]
    fitted = decision_table(post, 1e20, family="f1").iloc[0]
    for column in ("N_opt", "N_opt_lo", "N_opt_hi", "loss_opt"):
        assert printed[column] == pytest.approx(new[column], rel=1e-3)
    assert new["loss_opt"] != pytest.approx(fitted["loss_opt"], rel=1e-4)


def test_report_of_an_unreadable_fit_leaves_no_folder(files, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", str(files / "absent.nc"), "--out", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err and not out.exists()


def test_backtest_exits_like_fit_when_a_split_fails_its_diagnostics(files, capsys, monkeypatch):
    """A backtest whose refit failed its diagnostics says so on stderr and exits 3, as ``fit``
    does; its table is still printed and written."""
    from bayescale import calibration

    def fake(model, df, splits, **kwargs):
        splits = [splits] if isinstance(splits, calibration.Split) else splits
        return pd.DataFrame(
            [
                {"split": s.name, "n_test": int(s.test.sum()), "coverage_0.9": 1.0}
                | {"fit_ok": False, "data_warnings": ""}
                for s in splits
            ]
        )

    monkeypatch.setattr(calibration, "backtest", fake)
    argv = ["backtest", str(files / "ladder.csv"), "--split", "compute", "--train-fraction"]
    assert main([*argv, "0.5", "--out", str(files / "bt_fake.csv")]) == 3
    captured = capsys.readouterr()
    assert "failed its diagnostics" in captured.err and "coverage_0.9" in captured.out
    assert pd.read_csv(files / "bt_fake.csv")["fit_ok"].tolist() == [False]


def test_predict_says_what_it_predicts_for_an_unlabelled_group_and_few_draws(files, capsys):
    """A fit with group effects asked without a label predicts a new group, and says so; an
    interval with fewer than a handful of draws beyond its ends says so too, and its level
    is written with its digits (99.9999 %, not 100 %)."""
    fam = ["predict", str(files / "family_fit.nc"), "--N", "1e9", "--D", "2e10"]
    assert main(fam) == 0
    captured = capsys.readouterr()
    assert "no label for ['family']" in captured.out and "note:" not in captured.err
    assert main([*fam, "--group", "family=f1"]) == 0
    assert "no label" not in capsys.readouterr().out
    frontier = ["frontier", str(files / "family_fit.nc"), "--compute", "1e21"]
    assert main(frontier) == 0  # the frontier of a new family, said as predict says it
    assert "(no label for ['family']: the frontier is for a new family" in capsys.readouterr().out
    assert main([*frontier, "--group", "family=f1"]) == 0
    assert "no label" not in capsys.readouterr().out
    assert main([*fam, "--prob", "0.999999"]) == 0
    captured = capsys.readouterr()
    assert "99.9999% interval" in captured.out and "100%" not in captured.out
    assert "most extreme draws" in captured.err


def test_frontier_backtest_exits_3_when_a_fit_fails_its_diagnostics(files, capsys, monkeypatch):
    """As the other splits do (it exited 0, and suggested an option backtest lacks)."""
    import bayescale.cli.backtesting as cli

    def fake(model, df, held_out, **kwargs):
        table = pd.DataFrame(
            {"held_out": [2], "profile": [20.0], "distance": [0.5], "N_opt": [1e9]}
            | {"N_star": [1e9], "N_star_lo": [5e8], "N_star_hi": [2e9], "inside": [True]}
            | {"measured_lo": [8e8], "measured_hi": [1.2e9], "inside_measured": [True]}
            | {"p_inside_if_right": [0.9], "fit_ok": [False], "fit_warnings": ["R-hat 1.3"]}
        )
        table.attrs["band"] = 0.9
        return table

    monkeypatch.setattr(cli, "frontier_backtest", fake)
    assert main(["backtest", str(files / "ladder.csv"), "--split", "frontier"]) == 3
    err = capsys.readouterr().err
    assert "top 2 profiles held out" in err and "failed its diagnostics" in err
    assert "--target-accept" not in err


def test_predict_and_frontier_say_when_the_fit_failed_its_diagnostics(files, capsys):
    """A fit of 100 draws fails its ESS check: what it predicts is flagged on stderr."""
    assert main(["predict", str(files / "fit.nc"), "--N", "1e9", "--D", "2e10"]) == 0
    assert "failed its diagnostics" in capsys.readouterr().err
    assert main(["frontier", str(files / "fit.nc"), "--compute", "1e20"]) == 0
    assert "`bayescale summary" in capsys.readouterr().err


def test_header_names_are_read_without_surrounding_spaces(tmp_path, capsys):
    from bayescale.cli.files import read_runs

    (tmp_path / "spaced.csv").write_text("params, tokens, loss \n1e8, 2e9, 3.1\n")
    df = read_runs(tmp_path / "spaced.csv")
    assert df.columns.tolist() == ["params", "tokens", "loss"]
    assert "' tokens' -> 'tokens'" in capsys.readouterr().err
    (tmp_path / "clash.csv").write_text("loss, loss\n1, 2\n")
    with pytest.raises(UsageError, match="the header names \\['loss'\\] more than once"):
        read_runs(tmp_path / "clash.csv")


def test_predict_names_the_points_file_for_inputs_without_an_option(tmp_path, capsys):
    runs = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=5, seed=3)
    runs["unique_tokens"] = runs["tokens"] / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bs.fit(bs.Model("data_constrained", extrapolation="none"), runs, method="psis")
    post.to_netcdf(tmp_path / "dc.nc")
    assert main(["predict", str(tmp_path / "dc.nc"), "--N", "1e9", "--D", "2e10"]) == 2
    assert "which has no option: give the points as --points FILE" in capsys.readouterr().err


def test_cli_edges_found_by_the_second_audit(files, tmp_path, capsys):
    """Silent nonsense and unhelpful errors of the command line (an audit, 2026-12-06)."""
    d = tmp_path
    # a preset's loss column ranks --drop-highest-loss (the table's 'loss' column did, and a
    # table without one was told to name the column the preset named)
    (d / "val.toml").write_text('[law]\nname = "chinchilla"\n[columns]\nloss = "val_loss"\n')
    (d / "tv.csv").write_text(
        "params,tokens,loss,val_loss\n1e8,2e9,9.9,3.1\n2e8,4e9,2.9,3.7\n4e8,8e9,2.7,2.8\n"
    )
    code = main(["fit", str(d / "tv.csv"), "--preset", str(d / "val.toml"),
                 "--drop-highest-loss", "1", "--out", str(d / "o")])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2 and "Dropping the 1 highest-loss rows (as asked): [3.7]" in captured.out
    assert "2 row(s) for a model" in captured.err  # the fit of what is left is refused
    assert not (d / "o").exists()
    # the data file is not an output
    (d / "victim.csv").write_text(GOOD)
    for argv in (
        ["backtest", str(d / "victim.csv"), "--out", str(d / "victim.csv")],
        ["pooling", str(d / "victim.csv"), "--group", "x", "--out", str(d / "victim.csv")],
        ["pool-prior", str(d / "victim.csv"), "--by", "x", "--out", str(d / "victim.csv")],
    ):
        expect_clear_error(argv, files, capsys, "is the data file the command reads")
    assert (d / "victim.csv").read_text() == GOOD
    # repeated pooling cases would be fitted and counted twice
    expect_clear_error(
        ["pooling", str(d / "victim.csv"), "--group", "x", "--k", "1", "1"],
        files,
        capsys,
        "--k repeats 1: give each value once",
    )
    expect_clear_error(
        ["pooling", str(d / "victim.csv"), "--group", "x", "--hold-out", "a", "a"],
        files,
        capsys,
        "--hold-out repeats a",
    )
    # a bad cell of a points file is named by file, column and row
    (d / "holes.csv").write_text("N,D\n1e9,2e10\n,3e10\n2e9,-1\n")
    expect_clear_error(
        ["predict", "@/fit.nc", "--points", str(d / "holes.csv")],
        files,
        capsys,
        "column 'n' must be a finite number > 0 at every row; rows [2] hold ['empty']",
    )
    (d / "inf.csv").write_text("N,D\n1e9,2e10\n2e9,inf\n")
    expect_clear_error(
        ["predict", "@/fit.nc", "--points", str(d / "inf.csv")], files, capsys, "rows [2] hold"
    )
    # a comma-separated file named .tsv
    (d / "runs.tsv").write_text(GOOD)
    expect_clear_error(["fit", str(d / "runs.tsv")], files, capsys, "is named .tsv but its header")
    expect_clear_error(
        ["fit", "--progress", "--quiet"], files, capsys, "not allowed with argument --progress"
    )


def test_labels_after_a_comma_and_space_are_read_without_the_space(tmp_path, capsys):
    from bayescale.cli.files import read_runs

    (tmp_path / "spaced.csv").write_text(
        "params, tokens, loss, family\n1e8, 2e9, 3.1, f0\n2e8, 4e9, 2.9, f1\n"
    )
    df = read_runs(tmp_path / "spaced.csv")
    assert df["family"].tolist() == ["f0", "f1"]  # --group family=f0 finds them
    assert df["loss"].tolist() == [3.1, 2.9]
    assert "text in column(s) ['family'] read without its surrounding spaces" in (
        capsys.readouterr().err
    )


def test_cli_finds_a_fitted_level_saved_with_spaces(tmp_path, capsys):
    """A fit from a file written 'f0, f1' before labels were stripped keeps ' f0'; the command
    line, which strips what it reads, still finds that level."""
    df = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=4, families=2, seed=2)
    df["family"] = " " + df["family"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        post = bs.fit(bs.Model(effects={"E": "family"}), df, method="psis", seed=0)
    post.to_netcdf(tmp_path / "spaced.nc")
    (tmp_path / "points.csv").write_text("params,tokens,family\n1e9,2e10, f0\n")
    expected = float(post.predict(N=1e9, D=2e10, family=" f0").median())
    for argv in (
        ["--points", str(tmp_path / "points.csv")],
        ["--N", "1e9", "--D", "2e10", "--group", "family=f0"],
    ):
        assert main(["predict", str(tmp_path / "spaced.nc"), *argv]) == 0
        out = capsys.readouterr().out
        assert f"loss: median {expected:.5g}" in out, out


def test_cli_pooling_exits_3_when_its_fits_fail(files, tmp_path, capsys):
    df = bs.simulate_ladder(budgets=(1e18, 1e19, 1e20), sizes_per_budget=4, families=2, seed=2)
    df.to_csv(tmp_path / "families.csv", index=False)
    argv = ["pooling", str(tmp_path / "families.csv"), "--group", "family", "--k", "3",
            "--hold-out", "f0", "--draws", "10", "--method", "psis",
            "--out", str(tmp_path / "pool.csv")]  # fmt: skip
    code = main(argv)
    err = capsys.readouterr().err
    table = pd.read_csv(tmp_path / "pool.csv")
    failed = table["status"].eq("ok") & ~table["fit_ok"].astype(bool)
    assert failed.any()  # 10 draws of a hierarchy: some fit fails its checks
    assert code == 3 and "fits failed their diagnostics" in err
    assert set(table["dataset"]) == {"families.csv"}


def test_a_law_refuses_options_it_does_not_take_and_a_config_that_is_not_a_table():
    """A preset's [law] config with an unknown option or of the wrong kind used to end in a
    TypeError (an internal error on the command line)."""
    with pytest.raises(ValueError, match="chinchilla law takes no option 'x'; its options: none"):
        bs.laws.get("chinchilla", x="Q")
    with pytest.raises(ValueError, match=r"power law takes no option 'y'; its options: \['x'\]"):
        bs.laws.get("power", y="D")
    spec = bs.Model("power").spec()
    with pytest.raises(bs.SpecificationError, match="must be a table of options"):
        bs.Model.from_spec({**spec, "law": {"name": "power", "config": "D"}})


def test_a_law_of_a_share_refuses_a_metric_outside_0_1_on_any_scale():
    """sigmoid_link / exponential_link on losses of 2.5-3.7 (scale log) used to fit nonsense
    (k near 1e22, predictive intervals [0.01, 48.8]) without a word."""
    runs = bs.simulate_ladder()
    runs = runs.assign(upstream_loss=1.1 * runs["loss"])
    for law in ("sigmoid_link", "exponential_link"):
        with pytest.raises(bs.DataError, match="reads a share: an accuracy or error rate"):
            bs.Model(law).prepare(runs)
    accuracy = runs.assign(loss=0.9 - 0.1 * runs["loss"])  # a share: prepared
    for law in ("sigmoid_link", "exponential_link"):
        assert bs.Model(law).prepare(accuracy).n == len(runs)
        with pytest.raises(bs.DataError, match="reads a share"):  # and on the logit scale
            bs.Model(law, scale="logit").prepare(runs)


def test_a_law_of_a_share_is_fitted_on_the_logit_scale_by_default():
    """The share laws used to default to scale='log' (their docstrings asked for logit), so
    the noise could carry a predictive accuracy past 1. An explicit scale is kept."""
    for law in ("sigmoid_link", "exponential_link"):
        assert bs.Model(law).scale == "logit"
        assert bs.Model(law, scale="log").scale == "log"
        spec = bs.Model(law).spec()
        assert spec["scale"] == "logit"
        assert bs.Model.from_spec({**spec, "scale": "log"}).scale == "log"
    assert bs.Model("chinchilla").scale == "log"
    assert bs.Model("power").scale == "log"


def test_a_law_of_one_size_input_warns_when_the_other_varies():
    """A law of N alone fitted to an iso-FLOP ladder reads nothing of its tokens, which vary by
    1.7 decades (5-95 %) beyond what the sizes explain: rows that differ in D only are taken for
    noise. Compute-optimal runs (D = 20 N), one token count, or sizes that an effect per curve
    absorbs (a law of D on curves of four sizes) are not warned about."""
    runs = bs.simulate_ladder()
    with pytest.warns(
        bs.DataWarning, match=r"'tokens' \(tokens\) varies by 1.7 decades \(5-95 %\) beyond what"
    ):
        bs.Model("power").prepare(runs)
    with pytest.warns(bs.DataWarning, match="law reads D alone"):
        bs.Model(bs.laws.get("power", x="D")).prepare(runs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", bs.DataWarning)
        bs.Model(bs.laws.get("power", x="C")).prepare(runs)  # a law of compute: by design
        one_budget = runs.drop(columns="flops").assign(tokens=2e10)
        bs.Model("power").prepare(one_budget)  # one token count: nothing ignored
        optimal = runs.drop(columns="flops").assign(tokens=20 * runs["params"])
        bs.Model("power").prepare(optimal)  # tokens follow the size: nothing ignored
        curves = pd.DataFrame(
            [
                {"params": n, "tokens": d, "loss": 2 + 5 * (d / 1e9) ** -0.3 + 0.1 * i}
                | {"family": f"curve {i}"}
                for i, n in enumerate([1e8, 3e8, 1e9, 3e9])
                for d in np.geomspace(1e9, 1e11, 8)
            ]
        )
        by_curve = bs.Model(bs.laws.get("power", x="D"), effects={"E": "family"})
        by_curve.prepare(curves)  # the effect per curve absorbs the size


def test_predict_refuses_points_that_give_an_input_under_two_names(tmp_path, capsys):
    """A fit that read params from 'size': a points file with both 'size' and 'params' used to
    end in an internal error (two 'params' columns after the rename)."""
    table = tmp_path / "sized.csv"
    bs.simulate_ladder().rename(columns={"params": "size"}).to_csv(table, index=False)
    short = ["--chains", "1", "--draws", "20", "--warmup", "20", "--quiet", "--retry", "never"]
    main(["fit", str(table), "--columns", "params=size", *short, "--out", str(tmp_path / "f")])
    points = tmp_path / "p.csv"
    points.write_text("size,params,tokens\n1e9,5e9,2e10\n")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "f" / "fit.nc"), "--points", str(points)]) == 2
    assert "columns 'size' and 'params' both give params" in capsys.readouterr().err


def test_fit_takes_the_flops_per_parameter_and_token_its_warning_advises(tmp_path, capsys):
    """A flops column of 7.2 N D warned with advice (Model(flops_per_param_token=7.2)) that the
    command line could not follow; --flops-per-param-token follows it."""
    table = tmp_path / "f72.csv"
    runs = bs.simulate_ladder()
    runs.assign(flops=7.2 * runs["params"] * runs["tokens"]).to_csv(table, index=False)
    short = ["--chains", "1", "--draws", "20", "--warmup", "20", "--quiet", "--retry", "never"]
    main(["fit", str(table), *short, "--out", str(tmp_path / "a")])
    assert "(--flops-per-param-token 7.2)" in capsys.readouterr().err
    k = ["--flops-per-param-token", "7.2"]
    main(["fit", str(table), *short, *k, "--out", str(tmp_path / "b")])
    assert "flops" not in capsys.readouterr().err
    assert bs.load_posterior(tmp_path / "b" / "fit.nc").model.flops_per_param_token == 7.2


def test_a_csv_label_that_reads_like_a_missing_value_is_a_label(tmp_path):
    """pandas reads NA, None, null and N/A as missing by default: a group labelled NA (North
    America, say) was refused as having missing labels, with Python advice. Only an empty cell
    (or nan) is missing now; in a numeric column such a word is refused naming the row."""
    from bayescale.cli.files import read_runs

    table = tmp_path / "na.csv"
    table.write_text("params,tokens,loss,family\n1e8,2e9,3.1,NA\n2e8,4e9,2.9,None\n3e8,5e9,2.8,\n")
    df = read_runs(table)
    assert df["family"].iloc[:2].tolist() == ["NA", "None"] and pd.isna(df["family"].iloc[2])
    numeric = tmp_path / "na_loss.csv"
    numeric.write_text("params,tokens,loss\n1e8,2e9,NA\n2e8,4e9,2.9\n3e8,5e9,nan\n")
    loss = read_runs(numeric)["loss"]
    assert loss.iloc[0] == "NA" and pd.isna(loss.iloc[2])
    with pytest.raises(bs.DataError, match=r"'loss' .* such as 'NA' \(row 1\)"):
        bs.Model("power").prepare(read_runs(numeric).assign(tokens=2e10))


def test_a_mapped_column_is_checked_where_a_fit_starts_not_in_a_table_rebuilt_from_it(tmp_path):
    """columns={"run": "run_ID"} on a table without run_ID would switch the run effect off
    silently: fit refuses it. A fit that mapped a role its law does not read (flops for
    chinchilla) keeps working from its own rebuilt table (plot_fit without a table), and a runs
    table with both the fitted loss column and a 'loss' column is taken as points."""
    runs = bs.simulate_ladder()
    with pytest.raises(bs.DataError, match="'run_ID', given for the role 'run'"):
        bs.fit(bs.Model(columns={"run": "run_ID"}), runs, chains=1, draws=20, warmup=20)
    mapped = bs.Model(columns={"flops": "compute", "loss": "val_loss"})
    table = runs.rename(columns={"flops": "compute", "loss": "val_loss"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)  # short chains
        post = mapped.fit(table, chains=1, draws=20, warmup=20, retry=False)
    assert len(bs.plotting.plot_fit(post).axes) == 1  # the rebuilt table lacks 'compute'
    post.to_netcdf(tmp_path / "fit.nc")
    points = tmp_path / "points.csv"
    table.assign(loss=table["val_loss"]).head(3).to_csv(points, index=False)
    assert main(["predict", str(tmp_path / "fit.nc"), "--points", str(points)]) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('Normal("a", 1)', "'a' is not a number"),
        ("Normal(0, True)", "True is not a number"),
        ("Normal(0, 1e999)", "inf is not a finite number"),
        ("Uniform(1, 0)", "its low bound must lie below its high one"),
        ("Uniform(low=2, high=1)", "its low bound must lie below its high one"),
    ],
)
def test_a_prior_whose_arguments_are_not_usable_numbers_is_refused_naming_it(text, message):
    """Such priors parsed and failed far away ("could not convert string to float: 'a'", "No
    valid starting point"), naming neither the prior nor its file."""
    from bayescale.priors import parse_prior

    with pytest.raises(bs.SpecificationError, match=f"Prior {re.escape(repr(text))}: {message}"):
        parse_prior(text)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("20,145,495", "without thousands separators (e.g. 20145495)"),
        ("3,45", "Write decimal points (e.g. 3.45)"),
        ("abc", "Fix those entries in the table"),
    ],
)
def test_a_number_written_for_people_gets_advice_that_works(value, fragment):
    """'20,145,495' was answered with pd.to_numeric, which fails on exactly that value."""
    runs = bs.simulate_ladder().astype({"params": object})
    runs.loc[0, "params"] = value
    with pytest.raises(bs.DataError, match=re.escape(fragment)):
        bs.Model().prepare(runs)
    flags = bs.simulate_ladder().assign(params=True)
    with pytest.raises(bs.DataError, match="holds true/false values"):
        bs.Model().prepare(flags)


def test_every_option_and_argument_of_every_verb_says_what_it_is():
    """The saved fit of summary, predict, frontier and report, and datasets' action and name,
    had no help text; pooling's --effects described a fit's effects."""
    import argparse

    from bayescale.cli.parser import build_parser

    verbs = next(
        a.choices for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    silent = [
        f"{name} {a.option_strings or a.dest}"
        for name, sub in verbs.items()
        for a in sub._actions
        if not (a.help or "").strip()
    ]
    assert not silent
    effects = next(a for a in verbs["pooling"]._actions if a.dest == "effects")
    assert "pooling of the groups is backtested" in effects.help
