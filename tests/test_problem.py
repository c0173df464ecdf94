"""A model's fitting problem: NumPyro's potential and transforms, and the fits' starting points."""

from __future__ import annotations

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import numpyro.infer.util as numpyro_util
from jax.flatten_util import ravel_pytree
from numpyro.infer import init_to_median

import bayescale as bs
from bayescale.inference import stack

problem_module = importlib.import_module("bayescale.inference.problem")


def _fn_and_first(model, table):
    structure, arrays = stack(model, [model.prepare(table)])

    def fn(**a):
        return model.numpyro_model(**structure, **a)

    return fn, jax.tree.map(lambda v: jnp.asarray(v[0]), dict(arrays)), structure, arrays


def test_the_traced_initialisation_builds_numpyros_potential(monkeypatch):
    """The abstract trace gives the potential, constraints and shapes NumPyro's routine gives."""
    monkeypatch.setattr(problem_module, "initialize_model", None)  # the trace must serve alone
    model = bs.Model(effects={"E": "family"})
    fn, first, _, _ = _fn_and_first(model, bs.simulate_ladder(seed=3, families=3))
    pot_gen, post_gen, prototype = problem_module._initialize(fn, first, 0)
    assert all(isinstance(v, jax.Array) for v in prototype.values())  # not leaked tracers
    info = numpyro_util.initialize_model(
        jax.random.PRNGKey(0),
        fn,
        model_kwargs=first,
        dynamic_args=True,
        init_strategy=init_to_median(num_samples=15),
        validate_grad=False,
    )
    assert set(prototype) == set(info.param_info.z)
    assert all(np.shape(prototype[k]) == np.shape(info.param_info.z[k]) for k in prototype)
    flat, unravel = ravel_pytree(info.param_info.z)
    rng = np.random.default_rng(0)
    for _ in range(3):
        z = unravel(flat + 0.3 * rng.standard_normal(flat.shape))
        ours, theirs = pot_gen(**first)(z), info.potential_fn(**first)(z)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
        a, b = post_gen(**first)(z), info.postprocess_fn(**first)(z)
        for k in b:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-12)


def _curves():
    df = bs.simulate_ladder(families=3, seed=2)
    return df.assign(run=df["family"], step=df["tokens"])


def test_models_with_deterministic_sites_take_the_trace(monkeypatch):
    """Run effects record a deterministic site (``r_run``): the trace serves such models too, and
    its postprocess replays the model as NumPyro's does (every site, the same values)."""
    original = numpyro_util.initialize_model
    monkeypatch.setattr(problem_module, "initialize_model", None)  # the trace must serve alone
    for model, table in (
        (bs.Model(effects={"A": "family"}), bs.simulate_ladder(seed=4, families=3)),
        (bs.Model(run="run"), _curves()),
    ):
        fn, first, _, _ = _fn_and_first(model, table)
        pot_gen, post_gen, prototype = problem_module._initialize(fn, first, 0)
        info = original(jax.random.PRNGKey(0), fn, model_kwargs=first, dynamic_args=True)
        z = jax.tree.map(lambda v: v + 0.1, prototype)
        np.testing.assert_allclose(pot_gen(**first)(z), info.potential_fn(**first)(z))
        ours, theirs = post_gen(**first)(z), info.postprocess_fn(**first)(z)
        assert set(ours) == set(theirs)
        for k in theirs:
            np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-12)


def test_a_model_without_any_valid_start_is_named():
    """A log density that is nowhere finite is a specification error naming the table."""
    import pytest

    def fn(y):
        mu = numpyro.sample("mu", dist.Normal(0.0, 1.0))
        numpyro.factor("impossible", -jnp.inf * jnp.ones_like(mu))
        numpyro.sample("y", dist.Normal(mu, 1.0), obs=y)

    arrays = {"y": np.zeros((1, 3))}
    pot_gen, post_gen, prototype = problem_module._initialize(fn, {"y": jnp.zeros(3)}, 0)
    flat, unravel = ravel_pytree(prototype)
    prob = problem_module.Problem(fn, {}, pot_gen, post_gen, prototype, unravel, int(flat.size))
    with pytest.raises(bs.SpecificationError, match=r"table\(s\) \[0\]"):
        prob.initial_points(jax.random.split(jax.random.PRNGKey(0), 1), arrays)


def test_numpyros_own_routine_runs_where_the_trace_cannot(monkeypatch):
    """A model that reads its data's values in Python cannot be traced: NumPyro's routine runs."""
    calls = []
    original = problem_module.initialize_model

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(problem_module, "initialize_model", spy)

    def fn(y):
        if float(jnp.max(y)) > 1e6:  # Python control flow on a value: concrete arrays only
            raise ValueError("implausible data")
        mu = numpyro.sample("mu", dist.Normal(0.0, 1.0))
        scale = numpyro.sample("scale", dist.HalfNormal(1.0))
        numpyro.sample("y", dist.Normal(mu, scale), obs=y)

    y = jnp.asarray([0.1, -0.3, 0.4])
    pot_gen, _, prototype = problem_module._initialize(fn, {"y": y}, 0)
    assert calls == [1]
    assert set(prototype) == {"mu", "scale"}
    z = {"mu": jnp.asarray(0.1), "scale": jnp.asarray(0.0)}
    expected = -(
        dist.Normal(0.0, 1.0).log_prob(0.1)
        + dist.HalfNormal(1.0).log_prob(1.0)
        + dist.Normal(0.1, 1.0).log_prob(y).sum()
    )  # plus log|d scale / d z| = z = 0
    np.testing.assert_allclose(pot_gen(y=y)(z), expected, rtol=1e-12)


def test_a_prior_without_a_mean_starts_from_a_valid_point():
    """Cauchy has no mean: that fit starts from NumPyro's valid point from prior medians."""
    model = bs.Model(priors={"log_E": "Cauchy(-0.7, 0.3)"})
    table = bs.simulate_ladder(seed=2)
    _, _, structure, arrays = _fn_and_first(model, table)
    prob = problem_module.problem(model, structure, arrays)
    keys = jax.random.split(jax.random.PRNGKey(0), 1)
    x0 = np.asarray(prob.initial_points(keys, arrays))
    assert x0.shape == (1, prob.dim)
    assert np.all(np.isfinite(x0))
    a = jax.tree.map(lambda v: jnp.asarray(v[0]), dict(arrays))
    assert np.isfinite(prob.potential(a)(prob.unravel(jnp.asarray(x0[0]))))
    assert "valid_init" in prob.jitted  # the fallback ran


def test_a_second_start_finds_the_mode_the_prior_means_miss():
    """A broken power law's MAP from its prior means stops in a local mode; a uniform start not."""
    from law_examples import MODEL_KWARGS, simulate

    from bayescale.inference import find_map

    model = bs.Model(law="bnsl", run=False, **MODEL_KWARGS.get("bnsl", {}))
    _, _, structure, arrays = _fn_and_first(model, simulate("bnsl", seed=1))
    prob = problem_module.problem(model, structure, arrays)
    x0 = np.asarray(prob.initial_points(jax.random.split(jax.random.PRNGKey(0), 1), arrays))
    alone = find_map(prob, arrays, x0, starts=1)
    both = find_map(prob, arrays, x0, starts=2, seed=0)
    assert alone.converged[0] and both.converged[0]
    assert both.potential[0] < alone.potential[0] - 5.0  # 14 nats lower, measured
    assert both.x.shape == x0.shape and both.chol.shape == (1, prob.dim, prob.dim)
