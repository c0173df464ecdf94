"""Bad input found by the thirteenth audit (terms, sampler options, LOO of repeated draws,
figure paths, the new-group backtest's counts): each case ends in a clear error, a warning,
or the right answer."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure

import bayescale as bs
from bayescale.errors import DataWarning, SpecificationError
from bayescale.inference import NutsSettings
from bayescale.loo import smoothable
from bayescale.plotting import _save, plot_frontier
from bayescale.pooling import new_group_backtest


@pytest.fixture(scope="module")
def family_runs():
    """Three families of the default ladder."""
    return bs.simulate_ladder(seed=1, families=3)


def test_a_term_is_a_tuple_of_columns_not_the_letters_of_one():
    # Term("family") was the interaction f:a:m:i:l:y, refused only when a fit looked for 'f'
    with pytest.raises(SpecificationError, match=r"Term\(\('family',\)\) or Term.parse"):
        bs.Term("family")
    term = bs.Term(["family", "seed"])  # a list is the tuple it means (it was unhashable)
    assert term.columns == ("family", "seed") and hash(term)
    assert bs.Model(effects={"E": bs.Term(["family"])}).effects["log_E"] == (bs.Term(("family",)),)


def test_the_same_columns_in_another_order_are_one_term_given_twice():
    # 'seed:family' and 'family:seed' were two effects on the same groups, told apart by nothing
    with pytest.raises(SpecificationError, match="'seed:family' and 'family:seed' join the same"):
        bs.Model(effects={"E": ["seed:family", "family:seed"]})
    bs.Model(effects={"E": ["family", "family:seed"]})  # nested: other groups, taken


def test_two_terms_that_split_the_rows_alike_are_named(family_runs):
    # a copied column, or 'family' beside 'family:seed' with one seed per family: fitted as two
    # effects of one offset without a word
    runs = family_runs
    copied = runs.assign(grp=runs["family"])
    with pytest.warns(DataWarning, match="'family' and 'grp' of E split the rows into the same"):
        bs.Model(effects={"E": ["family", "grp"]}).prepare(copied)
    with pytest.warns(DataWarning, match=r"'family', 'grp' and 'g2'.* Drop 'grp', 'g2'") as seen:
        bs.Model(effects={"E": ["family", "grp", "g2"]}).prepare(copied.assign(g2=copied["grp"]))
    assert len([w for w in seen if "same groups" in str(w.message)]) == 1  # one per set
    one_seed = runs.assign(seed=0)
    with pytest.warns(DataWarning, match="'family' and 'family:seed' of E"):
        bs.Model(effects={"E": ["family", "family:seed"]}).prepare(one_seed)
    seeds = runs.assign(seed=np.arange(len(runs)) % 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # other groups: no warning
        bs.Model(effects={"E": ["family", "family:seed"]}).prepare(seeds)
        bs.Model(effects={"E": "family", "A": "family"}).prepare(runs)  # two parameters: fine


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("dense_mass", "no", "dense_mass='no': give True or False"),
        ("adapt_mass", 0, "adapt_mass=0: give True or False"),
        ("warmup_tree_depth", 0, "warmup_tree_depth=0 must be a whole number from 1 to 15"),
        ("warmup_tree_depth", -2, "warmup_tree_depth=-2"),
        ("warmup_tree_depth", 16, "warmup_tree_depth=16 must be a whole number from 1 to 15"),
        ("chunk", 0, "chunk=0 must be a whole number >= 1"),
        ("chunk", "a", "chunk='a'"),
        ("target_accept", "0.9", "target_accept='0.9': give a number, not text"),
        ("max_tree_depth", 5.5, "max_tree_depth=5.5 must be a whole number"),
        ("max_tree_depth", "5", "max_tree_depth='5'"),
        ("chain_method", "sequential", "chain_method='sequential'; choose one of"),
    ],
)
def test_sampler_options_are_checked_before_the_sampler_reads_them(option, value, message):
    # each was taken: "no" as True, depth 0 ruined the warm-up, chunk=0 ignored, text and
    # floats failed deep inside numpyro or JAX
    with pytest.raises(ValueError, match=message):
        NutsSettings.from_options(**{option: value})


def test_numpy_integers_are_kept_as_the_ints_a_fit_writes():
    # seed=np.int64(3) failed when the fit's settings were written as JSON
    settings = NutsSettings.from_options(seed=np.int64(3), draws=np.int64(200), chunk=np.int32(2))
    assert (settings.seed, settings.draws, settings.chunk) == (3, 200, 2)
    assert all(type(v) is int for v in (settings.seed, settings.draws, settings.chunk))
    assert type(NutsSettings.from_options(target_accept=np.float32(0.9)).target_accept) is float


def test_a_fit_takes_numpy_integers_and_refuses_a_progress_flag_in_words(runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)  # 400 draws: too few for ESS
        post = bs.fit(
            bs.Model(), runs, method="psis", chains=2, draws=np.int64(200), seed=np.int64(3)
        )
    assert post.settings["seed"] == 3 and post.posterior.sizes["draw"] == 200
    with pytest.raises(ValueError, match="progress_bar='no': give True or False"):
        bs.fit(bs.Model(), runs, method="psis", progress_bar="no")


def test_loo_of_draws_that_repeat_says_why_and_the_fix():
    # ArviZ's "All tail values are the same" came through raw from bs.loo, loo_pit and the plot
    r = bs.simulate_ladder(seed=1, families=3, family_sd={"E": 0.05})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fit's own failed check of its weights
        post = bs.fit(bs.Model(effects={"E": "family"}), r, method="psis", chains=2, draws=500)
    posterior = post.draws_tree["posterior"]
    ll = post.draws_tree["log_likelihood"]["loss"].values.reshape(1000, -1)
    assert len(np.unique(ll, axis=0)) < 500  # few distinct draws: the case at hand
    for call in (bs.loo, bs.loo_pit):
        with pytest.raises(SpecificationError, match=r"1000 draws hold \d+ distinct") as info:
            call(post)
        assert "method='nuts'" in str(info.value) and "--method nuts" in info.value.command_line
    assert posterior.sizes["draw"] == 500


def test_smoothable_passes_other_errors_through(post):
    with pytest.raises(ValueError, match="something else"), smoothable(post, "loo"):
        raise ValueError("something else")
    with pytest.raises(SpecificationError, match="loo smooths the largest"):
        with smoothable(post, "loo"):
            raise ValueError("All tail values are the same")
    nuts = SimpleNamespace(draws_tree=post.draws_tree, settings={"method": "nuts"})
    with pytest.raises(SpecificationError, match="chains that stopped moving") as info:
        with smoothable(nuts, "loo"):
            raise ValueError("All tail values are the same")
    assert "NUTS" not in str(info.value) and "--warmup" in info.value.command_line


def test_a_figure_path_names_its_format_and_a_folder_one_can_write(tmp_path):
    # path="noext" wrote noext.png without a word; an unwritable folder gave pathlib's error
    fig = Figure()
    with pytest.raises(ValueError, match=r"has no suffix.*'.*noext\.png'"):
        _save(fig, tmp_path / "noext")
    assert not list(tmp_path.iterdir())
    (tmp_path / "afile").write_text("")
    with pytest.raises(NotADirectoryError, match=r"Cannot write the figure to .*afile is a file"):
        _save(fig, tmp_path / "afile" / "x.png")
    _save(fig, tmp_path / "sub" / "ok.pdf")  # a missing folder is made, as before
    assert (tmp_path / "sub" / "ok.pdf").is_file()


def test_an_empty_frontier_is_refused_by_its_plot(post):
    front = bs.frontier(post, [1e19, 1e20])
    with pytest.raises(ValueError, match="the frontier given is empty"):
        plot_frontier(front.isel(compute=slice(0, 0)))


def test_the_new_group_backtest_takes_one_count_and_refuses_repeats(family_runs):
    # ks=2 failed with "'int' object is not iterable"; ks=(1, 1) fitted each case twice
    model = bs.Model()
    for ks, message in (
        ((1, 1), r"ks=\(1, 1\) gives 1 twice"),
        ("2", "ks='2'; give a whole number or a sequence"),
        ((), "ks is empty"),
        ((0,), "ks=0 must be a whole number >= 1"),
        ((1.5,), "ks=1.5 must be a whole number"),
        (None, "ks=None"),
    ):
        with pytest.raises(ValueError, match=message):
            new_group_backtest(model, family_runs, "family", ks=ks, method="psis")
    one = new_group_backtest(model, family_runs, "family", ks=2, groups="f0", method="psis")
    assert set(one["k"]) == {2}


def test_the_new_group_backtest_refuses_labels_that_merge_as_text(family_runs):
    # labels 1 and "1" became one group once compared as text
    mixed = family_runs.assign(family=family_runs["family"].astype(object))
    mixed.loc[mixed.index[:3], "family"] = 1
    mixed.loc[mixed.index[3:6], "family"] = "1"
    with pytest.raises(bs.DataError, match="'1'"):
        new_group_backtest(bs.Model(), mixed, "family", ks=1, method="psis")


def test_the_auto_threshold_is_refused_where_centring_is_forced():
    # centered=True with centered_min_rows=3 was taken, and the threshold read by nothing
    with pytest.raises(SpecificationError, match="centered_min_rows=3 is the threshold"):
        bs.Model(effects={"E": "family"}, centered=True, centered_min_rows=3)
    assert bs.Model(effects={"E": "family"}, centered_min_rows=3).centered_min_rows == 3
    from bayescale.saved import saved_spec

    # a fit saved before the check, with both, reads back
    old = {**bs.Model(effects={"E": "family"}, centered=False).spec(), "centered_min_rows": 3}
    assert bs.Model.from_spec(saved_spec(old)).centered is False


def test_prior_against_posterior_needs_prior_draws(post):
    # alpha (natural scale) or E_family (per level) drew a posterior beside an empty prior, with
    # matplotlib's "single value or no finite values" warnings
    from bayescale.plotting import plot_prior_posterior

    with pytest.raises(SpecificationError, match=r"\['alpha'\] have none"):
        plot_prior_posterior(post, var_names=["log_alpha", "alpha"])
    assert type(plot_prior_posterior(post, var_names=["log_alpha"])).__name__ == "Figure"
