"""Bad input left open by the fifteenth audit (iso-FLOP tables, plot_fit's table, compare's
names and data, simulated seeds, the command line's wordings) and found by the sixteenth
(custom laws' priors and names, presets, a first prediction interrupted): each case ends in a
clear error, a warning, or the right answer."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest

import bayescale as bs
from bayescale.cli import main
from bayescale.errors import DataWarning, SpecificationError
from bayescale.isoflop import isoflop_minima
from bayescale.laws.custom import CustomLaw
from bayescale.simulate import chinchilla_loss


@pytest.fixture(scope="module")
def power_post(runs):
    """A fit of a law of N alone (no allocation of a budget to choose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bs.fit(bs.Model("power"), runs, method="psis", seed=0)


def test_an_iso_flop_table_with_repeated_rows_is_warned(runs):
    # each copy entered its profile's parabola as another run, without a word
    with pytest.warns(DataWarning, match=r"7 row\(s\) repeat an earlier row exactly"):
        isoflop_minima(pd.concat([runs, runs.iloc[:7]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        isoflop_minima(runs)  # no repeats: no warning


def test_the_frontier_of_a_law_without_an_allocation_is_worded_for_its_caller(
    power_post, tmp_path, capsys
):
    # the command line was told to call post.predict
    with pytest.raises(SpecificationError, match=r"\(post\.predict\).*law='chinchilla'"):
        bs.frontier(power_post, 1e21)
    path = tmp_path / "power.nc"
    power_post.to_netcdf(path)
    assert main(["frontier", str(path), "--compute", "1e21"]) == 2
    err = capsys.readouterr().err
    assert "(`bayescale predict`)" in err and "(--law chinchilla)" in err
    assert "post.predict" not in err and "law='" not in err


def test_the_frontier_prints_budgets_that_differ_apart(post, tmp_path, capsys):
    # 1e21 and 1.00001e21 printed as two rows of '1e+21'
    path = tmp_path / "fit.nc"
    post.to_netcdf(path)
    assert main(["frontier", str(path), "--compute", "1e21", "1.00001e21"]) == 0
    lines = capsys.readouterr().out.splitlines()[2:4]
    assert [line.split()[0] for line in lines] == ["1e+21", "1.00001e+21"]


def test_a_frontier_backtest_holding_out_too_many_profiles_names_its_option(runs, tmp_path, capsys):
    # the command line was told held_out=4
    with pytest.raises(bs.DataError, match=r"held_out=4 leaves 1 profile"):
        bs.frontier_backtest(bs.Model(), runs, held_out=4, method="psis")
    table = tmp_path / "runs.csv"
    runs.to_csv(table, index=False)
    argv = ["backtest", str(table), "--split", "frontier", "--held-out", "4"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--held-out 4 leaves 1 profile" in err and "held_out=" not in err


def test_datasets_alone_lists_them(capsys):
    # it asked for an action the help calls 'list or describe'
    assert main(["datasets"]) == 0
    assert "epoch_chinchilla" in capsys.readouterr().out


def test_a_group_of_one_level_names_the_option_that_asked_for_it(runs, tmp_path, capsys):
    one = runs.assign(family="f0")
    with pytest.raises(bs.DataError, match=r"Remove 'family' from effects"):
        bs.Model(effects={"E": "family"}).prepare(one)
    table = tmp_path / "one.csv"
    one.to_csv(table, index=False)
    assert main(["fit", str(table), "--effects", "E=family", "--method", "psis"]) == 2
    err = capsys.readouterr().err
    assert "Drop every PARAM=family from --effects" in err and "from effects," not in err


def test_compare_says_how_the_fits_data_differ_and_refuses_names_alike_as_text(runs, post):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fewer = bs.fit(bs.Model(), runs.iloc[1:], method="psis", seed=0)
        other = bs.fit(bs.Model(), runs.assign(loss=runs["loss"] * 1.01), method="psis", seed=0)
    with pytest.raises(bs.DataError, match=r"\(35 rows against 34\)"):
        bs.compare.compare({"all": post, "fewer": fewer})
    with pytest.raises(bs.DataError, match=r"\(35 rows each, with different losses\)"):
        bs.compare.compare({"all": post, "other": other})
    # 1 and '1' became one row of the table, and one weight in averaged_predict
    with pytest.raises(ValueError, match=r"the fits 1 and '1' read the same as text"):
        bs.compare.compare({1: post, "1": other})
    with pytest.raises(ValueError, match=r"averaged_predict: the fits 1 and '1'"):
        bs.compare.averaged_predict({1: post, "1": other}, {1: 0.5, "1": 0.5}, N=1e9, D=1e11)


def test_plot_fit_refuses_a_table_it_was_not_fitted_to(post, runs):
    # its runs were drawn as the fitted ones
    with pytest.raises(ValueError, match=r"plot_fit: df is not the table this fit was fitted"):
        bs.plotting.plot_fit(post, df=runs.iloc[2:])
    bs.plotting.plot_fit(post, df=runs[::-1].assign(note="x"))  # its rows in another order


def test_plot_fit_names_each_group_column_once():
    ladder = bs.simulate_ladder(families=3, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fam = bs.fit(bs.Model(effects={"E": "family", "A": "family"}), ladder, method="psis")
    with pytest.raises(ValueError, match=r"whose effects read \['family'\]:"):
        bs.plotting.plot_fit(fam, group="seed")


def test_a_simulated_seed_records_its_own_truth():
    # with seed_sd > 0 the single seed's A was not the recorded family's A
    ladder = bs.simulate_ladder(seeds=1, seed_sd=0.3, noise_sd=0.0, seed=3)
    family, seed = ladder.attrs["truth"]["f0"], ladder.attrs["seed_truth"]["f0"]["0"]
    assert seed["A"] != family["A"]
    law = chinchilla_loss(seed, ladder["params"].to_numpy(), ladder["tokens"].to_numpy())
    np.testing.assert_allclose(ladder["loss"], law)
    assert not np.allclose(
        ladder["loss"], chinchilla_loss(family, ladder["params"], ladder["tokens"])
    )


# -- the sixteenth audit: custom laws, presets, a first prediction interrupted ---------------


def _custom_fn(p, x):
    return jnp.exp(p["log_E"]) + jnp.exp(p["log_A"]) * (x["N"] / 1e8) ** -p["alpha"]


PRIORS = {
    "log_E": dist.Normal(0.5, 0.5),
    "log_A": dist.Normal(-1, 1),
    "alpha": dist.LogNormal(-1.2, 0.5),
}


def test_an_interrupted_first_prediction_is_learned_again(runs):
    # the learned error's scales were dropped before they were computed: every later predict
    # and to_netcdf failed with KeyError 'extrap_offset'
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fresh = bs.fit(bs.Model(), runs, method="psis", seed=0)
    learn, calls = fresh._pending_scales, []

    def interrupted_once():
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return learn()

    fresh._pending_scales = interrupted_once
    with pytest.raises(KeyboardInterrupt):
        fresh.predict(N=1e9, D=2e10)
    assert np.isfinite(fresh.predict(N=1e9, D=2e10).values).all() and len(calls) == 2


def test_a_custom_law_refuses_priors_it_cannot_predict_with():
    # a vector prior fitted, then broke every prediction (shapes); an improper one raised a
    # bare NotImplementedError at the first prediction
    vector = {**PRIORS, "log_A": dist.Normal(jnp.zeros(2), 1.0)}
    with pytest.raises(ValueError, match=r"prior of 'log_A' has shape \(2,\); give one scalar"):
        CustomLaw(_custom_fn, vector, inputs="N")
    improper = {**PRIORS, "log_E": dist.ImproperUniform(dist.constraints.real, (), ())}
    with pytest.raises(ValueError, match=r"prior of 'log_E' \(ImproperUniform\) cannot be"):
        CustomLaw(_custom_fn, improper, inputs="N")


def test_a_custom_law_is_not_named_as_a_built_in_one_and_names_what_it_lacks():
    with pytest.raises(ValueError, match=r"law_name='chinchilla' is a built-in law's name"):
        CustomLaw(_custom_fn, PRIORS, inputs="N", law_name="chinchilla")
    law = CustomLaw(_custom_fn, PRIORS, inputs="N", law_name="mine")
    # a bare KeyError 'alpha' / 'N'
    with pytest.raises(SpecificationError, match=r"natural lacks \['alpha'\]"):
        law.natural_mean({"log_E": 0.5, "log_A": 0.0}, {"N": np.array([1e8])})
    with pytest.raises(SpecificationError, match=r"x lacks \['N'\]; the law's inputs are"):
        law.natural_mean({"log_E": 0.5, "log_A": 0.0, "alpha": 0.3}, {"D": np.array([1e8])})


def test_a_preset_naming_a_custom_law_or_an_unknown_role_says_so_where_it_is_read(
    runs, tmp_path, capsys
):
    custom = tmp_path / "custom.toml"
    custom.write_text('[law]\nname = "custom"\n')
    with pytest.raises(SpecificationError, match=r"law=CustomLaw\(\.\.\.\)"):
        bs.Model.from_preset(custom)
    table = tmp_path / "runs.csv"
    runs.to_csv(table, index=False)
    assert main(["fit", str(table), "--preset", str(custom)]) == 2
    err = capsys.readouterr().err  # was "cannot be saved as text: pass law="
    assert "name a registered law" in err and "law=" not in err and "saved" not in err
    role = tmp_path / "role.toml"
    role.write_text('[law]\nname = "chinchilla"\n[columns]\nfamily = "seed"\n')
    # accepted, then refused at the fit without naming the preset
    with pytest.raises(
        SpecificationError, match=r"role\.toml'.*unknown column role\(s\) \['family'\]"
    ):
        bs.Model.from_preset(role)
    assert main(["fit", str(table), "--preset", str(role)]) == 2
    err = capsys.readouterr().err
    assert "role.toml" in err and "(--columns, or a preset's [columns])" in err
