"""Batched fits (padding, masking, Laplace and NUTS) and the Dask fan-out."""

from __future__ import annotations

import json

import numpy as np
import pytest

import bayescale as bs
from bayescale import inference


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(0)
    return [bs.simulate_ladder(seed=i, sizes_per_budget=int(rng.integers(7, 11))) for i in range(6)]


def test_tables_are_padded_a_quarter_octave_at_most():
    from bayescale.inference.problem import padded_rows

    cases = (1, 16, 17, 33, 60, 65, 100, 240, 1000)
    assert [padded_rows(n) for n in cases] == [16, 16, 20, 40, 64, 80, 112, 256, 1024]
    for n in range(17, 5000):
        assert n <= padded_rows(n) < 1.25 * n
    assert len({padded_rows(n) for n in range(65, 129)}) == 4  # one program per quarter octave


def test_compiled_programs_are_released_past_the_shape_limit(monkeypatch):
    """A long session of fits of many sizes keeps a bounded number of compiled programs."""
    import importlib

    prob = importlib.import_module("bayescale.inference.problem")  # the module, not its function
    monkeypatch.setattr(prob, "MAX_LIVE_SHAPES", 2)
    prob.release_compiled()
    model = bs.Model(extrapolation="none")
    df = bs.simulate_ladder(seed=3)  # 35 rows
    for n in (20, 30, 35):  # padded to 20, 32, 40: three shapes
        structure, arrays = inference.stack(model, [model.prepare(df.iloc[:n])])
        prob.problem(model, structure, arrays)
    assert len(prob._SHAPES) == 1 and len(prob._PROBLEMS) == 1  # released at the third
    post = model.fit(df, method="psis")  # still fits after a release
    assert post.posterior.sizes["draw"] == 1000 and post.diagnostics(warn=False).attrs["ok"]


def test_padding_and_masking_do_not_change_the_potential(tables):
    """A padded, masked table has the same posterior density as the table alone."""
    import jax
    from numpyro.infer.util import log_density

    model = bs.Model()
    datas = [model.prepare(t) for t in tables]
    structure, arrays = inference.stack(model, datas)
    i = int(np.argmin([d.n for d in datas]))
    assert arrays["mask"][i].sum() == datas[i].n < arrays["mask"].shape[1]
    params = {
        "log_E": 0.5,
        "a": -1.0,
        "b": -1.2,
        "log_alpha": np.log(0.3),
        "log_beta": np.log(0.3),
        "sigma": 0.02,
        "nu": 5.0,
    }
    padded_args = {**structure, **jax.tree.map(lambda v: v[i], arrays)}
    padded, _ = log_density(model.numpyro_model, (), padded_args, params)
    alone_structure, alone_arrays = model.model_args(datas[i])
    alone, _ = log_density(model.numpyro_model, (), {**alone_structure, **alone_arrays}, params)
    assert float(padded) == pytest.approx(float(alone), rel=1e-10)


@pytest.mark.filterwarnings("ignore::bayescale.errors.ConvergenceWarning")  # short reference
def test_laplace_many_agrees_with_nuts(tables):
    res = bs.laplace_many(bs.Model(), tables, draws=2000)
    table = res.summary()
    assert table["converged"].all()
    assert len(table) == len(tables)
    post = bs.Model().fit(tables[0], chains=2, draws=500, warmup=500, progress_bar=False)
    for k in ("E", "alpha", "beta"):
        nuts = np.quantile(post.posterior[k].values, [0.05, 0.5, 0.95])
        lap = table.loc[0, [f"{k}_q05", k, f"{k}_q95"]].to_numpy(float)
        width = nuts[2] - nuts[0]
        assert abs(lap[1] - nuts[1]) < 0.25 * width, k
        assert 0.6 < (lap[2] - lap[0]) / width < 1.6, k


@pytest.mark.slow
def test_fit_many_returns_diagnosed_posteriors(tables):
    # The second table's losses are 30 % higher: draws handed back to the wrong fit (lanes are
    # re-sorted between segments) would miss its data by far more than the noise.
    two = [tables[0], tables[1].assign(loss=1.3 * tables[1]["loss"])]
    posts = bs.fit_many(bs.Model(), two, chains=2, draws=400, warmup=400)
    diag = bs.diagnostics_table(posts)
    assert len(diag) == 2
    assert (diag["divergences"] == 0).all()
    assert (diag["rhat_max"] < 1.03).all()
    assert posts[0].draws_tree.attrs["bayescale_settings"]
    for post, t in zip(posts, two, strict=True):
        # Log-loss noise ~0.01: a fit's own draws score its rows at a log density ~ +3 each.
        assert float(post.draws_tree["log_likelihood"]["loss"].mean()) > 1.0
        assert post.draws_tree["observed_data"]["loss"].size == len(t)
        # The truth (Hoffmann et al.'s alpha) lies inside each fit's 99 % interval.
        lo, hi = np.quantile(post.posterior["alpha"].values, [0.005, 0.995])
        assert lo < bs.simulate.HOFFMANN_2022["alpha"] < hi
        assert post.draws_tree["log_likelihood"]["loss"].shape == (2, 400, len(t))


def test_fit_many_refits_failing_fits(tables):
    # 2 chains x 60 draws cannot reach a bulk ESS of 400: both fits fail their diagnostics and
    # come back refitted with the higher target acceptance (and the next seed).
    with pytest.warns(bs.ConvergenceWarning) as caught:
        posts = bs.fit_many(
            bs.Model(),
            tables[:2],
            chains=2,
            draws=60,
            warmup=60,
            seed=3,
            refit_failed=True,
            warn=True,
        )
    # one warning per fit still failing after its refit, naming the failed check
    flagged = [w for w in caught if issubclass(w.category, bs.ConvergenceWarning)]
    assert len(flagged) == 2 and all("ESS" in str(w.message) for w in flagged)
    for post in posts:
        settings = json.loads(post.draws_tree.attrs["bayescale_settings"])
        assert (settings["target_accept"], settings["seed"]) == (0.99, 4)
        assert post.posterior.sizes["draw"] == 60


def test_segments_divide_warmup_and_draws():
    for warmup, draws in [(500, 1000), (500, 500), (160, 160), (0, 300), (7, 11)]:
        length = inference.segment_length(warmup, draws)
        assert warmup % length == 0 and draws % length == 0
        assert (warmup + draws) // length >= 4 or length % 2 == 1


def test_laplace_many_refuses_a_two_step_model(tables):
    two = bs.TwoStepModel(
        loss=bs.Model("chinchilla"),
        link=bs.Model("exponential_link", scale="logit", columns={"loss": "error"}),
    )
    with pytest.raises(bs.SpecificationError, match="fit_many"):
        bs.laplace_many(two, tables)


def test_stack_rejects_mismatched_groups(tables):
    two = bs.simulate_ladder(families=2, seed=1)
    three = bs.simulate_ladder(families=3, seed=1)
    model = bs.Model(effects={"E": "family"})
    with pytest.raises(bs.SpecificationError, match=r"differs from table 0 in \['sizes'\]"):
        inference.stack(model, [model.prepare(two), model.prepare(three)])


@pytest.mark.slow
def test_dask_fan_out_on_a_local_cluster(tables):
    distributed = pytest.importorskip("distributed")
    from bayescale.distributed import fit_many

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        posts = fit_many(
            client, bs.Model(), tables[:2], chains=2, draws=300, warmup=300, progress_bar=False
        )
        # batches of tables, each one vectorised fit on a worker, in the tables' order
        batched = fit_many(client, bs.Model(), tables[:3], batch_size=2, method="psis")
    for p, t in zip(batched, tables[:3], strict=True):
        np.testing.assert_array_equal(p.draws_tree["observed_data"]["loss"].values, t["loss"])
    assert all(p.settings["method"] == "psis" for p in batched)
    assert len(posts) == 2
    for post, t in zip(posts, tables[:2], strict=True):
        assert isinstance(post, bs.ScalingPosterior)
        np.testing.assert_array_equal(post.draws_tree["observed_data"]["loss"].values, t["loss"])
        assert "bayescale_warnings" in post.draws_tree.attrs
        assert post.predict(N=1e9, D=2e10).sizes["chain"] == 2


class _NoCluster:
    """Stands in for a Dask client whose workers are single-threaded."""

    def nthreads(self) -> dict:
        return {}

    def submit(self, *args, **kwargs):
        raise AssertionError("the checks come before any task is submitted")


def test_dask_batches_need_one_model_and_a_whole_number(tables):
    from bayescale.distributed import fit_many

    with pytest.raises(ValueError, match="batch_size=0 must be a whole number"):
        fit_many(_NoCluster(), bs.Model(), tables[:2], batch_size=0)
    with pytest.raises(ValueError, match="batch_size needs one model for every table"):
        fit_many(_NoCluster(), [bs.Model(), bs.Model("kaplan")], tables[:2], batch_size=2)
