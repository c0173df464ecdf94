"""Contract tests run on every registered law (no NUTS)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest
from law_examples import MODEL_KWARGS, NATURAL, simulate

import bayescale as bs
from bayescale.laws import Scale
from bayescale.likelihood import to_location

LAWS = [bs.laws.get(name) for name in bs.laws.available()] + [
    bs.laws.SaturatingPowerLaw(x="D"),
    bs.laws.SaturatingPowerLaw(x="C"),
    bs.laws.BrokenPowerLaw(x="N", n_breaks=2),
]
SCALE = Scale(
    log_ref={
        "N": np.log(3e8),
        "D": np.log(6e9),
        "C": np.log(1e19),
        "step": 8.0,
        "U": np.log(2e9),
        "L": np.log(3.0),
        "S1": np.log(0.3),
        "S2": np.log(0.1),
    },
    loss=2.8,
    loss_min=2.0,
    x_min={"L": 2.2},
)
X = {"N": np.geomspace(1e7, 1e10, 7), "D": np.geomspace(1e9, 1e12, 7)}
X["C"] = 6 * X["N"] * X["D"]
X["step"] = np.geomspace(10, 1e5, 7)
X["U"] = X["D"] / np.array([1, 0.5, 2, 4, 8, 16, 40])
X["L"] = np.linspace(2.3, 4.5, 7)
X["S1"] = np.linspace(0.05, 0.6, 7)
X["S2"] = np.linspace(0.0, 0.2, 7)


def natural_values(law):
    if law.name == "bnsl" and law.n_breaks == 2:
        return {**NATURAL["bnsl"], "d1": 1e8, "d2": 1e9, "c2": -0.1, "f2": 0.3}
    return NATURAL[law.name]


@pytest.mark.parametrize("law", LAWS, ids=lambda law: f"{law.name}-{law.inputs}")
def test_centred_mean_equals_textbook_formula(law):
    nat = natural_values(law)
    theta = law.from_natural(nat, SCALE)
    got = law.mean(theta, law.centre(X, SCALE), SCALE)
    want = law.natural_mean(nat, X)
    assert np.all(np.isfinite(np.asarray(want)))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-10)


@pytest.mark.parametrize("law", LAWS, ids=lambda law: f"{law.name}-{law.inputs}")
def test_natural_roundtrip(law):
    nat = natural_values(law)
    back = law.to_natural(law.from_natural(nat, SCALE), SCALE)
    for k, v in nat.items():
        assert float(back[k]) == pytest.approx(v, rel=1e-10)


@pytest.mark.parametrize("law", LAWS, ids=lambda law: f"{law.name}-{law.inputs}")
def test_mean_is_vectorised_over_draws(law):
    # distinct draws: a law that mixed up, transposed or reduced over them would disagree with
    # the law evaluated one draw at a time
    rng = np.random.default_rng(0)
    theta = {
        p.name: float(law.prior(p.name, SCALE).mean) + 0.01 * rng.standard_normal((3, 2, 1))
        for p in law.parameters
    }
    x = law.centre(X, SCALE)
    out = np.asarray(law.mean({k: jnp.asarray(v) for k, v in theta.items()}, x, SCALE))
    assert out.shape == (3, 2, 7)
    assert np.all(np.isfinite(out))
    for i, j in np.ndindex(3, 2):
        one = law.mean({k: jnp.asarray(v[i, j, 0]) for k, v in theta.items()}, x, SCALE)
        np.testing.assert_allclose(out[i, j], np.asarray(one), rtol=1e-12)
    assert not np.allclose(out[0, 0], out[2, 1])


# a law of N on a ladder whose D varies, on purpose
@pytest.mark.filterwarnings("ignore:.*the law reads N alone:bayescale.errors.DataWarning")
@pytest.mark.parametrize("name", sorted(NATURAL))
def test_prior_predictive_is_plausible(name):
    """Default priors put the loss of a typical experiment in a plausible band around it."""
    df = simulate(name)
    model = bs.Model(law=name, run=False, **MODEL_KWARGS.get(name, {}))
    data = model.prepare(df)
    draws = model.prior_draws(data, n=1000, seed=0)
    loc = np.asarray(to_location(draws["loss"][0], model.scale))  # log loss or logit metric
    assert np.all(np.isfinite(loc))
    med = np.median(loc, axis=0)
    q05, q95 = np.quantile(loc, [0.05, 0.95], axis=0)
    if model.scale == "logit":
        # A bounded metric: prior draws stay in (0, 1) by construction; the median sits in
        # (0.02, 0.98) and the prior spans a real range of the metric.
        metric = 1 / (1 + np.exp(-med))
        assert np.all((metric > 0.02) & (metric < 0.98))
        assert np.all(q95 - q05 > 0.5)
        return
    # The median prior loss is within a factor 2 of the data, and the prior is not degenerate.
    assert np.all((med > np.log(data.loss.min() / 2)) & (med < np.log(data.loss.max() * 2)))
    assert np.all(q95 - q05 > np.log(1.2))
    assert np.all(q95 - q05 < np.log(100))


@pytest.mark.parametrize("law", ["chinchilla", "data_constrained"])
def test_allocation_prior_is_a_prior_on_the_exponent_ratio(law):
    """log(beta/alpha) ~ Normal(0, 0.2) by default (N* ~ C^0.42..0.58 at 90 %); an override of
    log_beta is absolute and lets the ratio be as wide as the two exponents' own priors."""
    df = simulate(law)
    kw = MODEL_KWARGS.get(law, {})

    def ratio(model):
        draws = model.prior_draws(model.prepare(df), n=4000, seed=0, predictive=False)
        return np.asarray(draws["log_beta"] - draws["log_alpha"]).ravel(), draws

    r, draws = ratio(bs.Model(law=law, run=False, **kw))
    assert abs(r.mean()) < 0.02 and 0.18 < r.std() < 0.22
    share = 1 / (1 + np.exp(-r))  # the allocation exponent beta / (alpha + beta)
    assert 0.40 < np.quantile(share, 0.05) < 0.44 and 0.56 < np.quantile(share, 0.95) < 0.60
    # log_alpha keeps its own prior, Normal(log 0.3, 0.5)
    assert abs(np.std(draws["log_alpha"]) - 0.5) < 0.03
    loose = bs.Model(law=law, run=False, priors={"log_beta": "Normal(-1.204, 0.5)"}, **kw)
    assert loose.site_relative_to("log_beta") is None
    r_loose, _ = ratio(loose)
    assert 0.66 < r_loose.std() < 0.76  # sqrt(0.5^2 + 0.5^2)
    assert "log_beta ~ log_alpha + Normal(loc=0, scale=0.2)" in bs.Model(law=law, **kw).describe(
        bs.Model(law=law, **kw).prepare(df).scale
    )


def test_relative_prior_must_name_an_earlier_parameter():
    from dataclasses import dataclass

    from bayescale.sites import shifted

    @dataclass(frozen=True)
    class Backwards(bs.laws.Chinchilla):
        parameters = (
            bs.laws.Parameter("x", "x", lambda s: dist.Normal(0, 1), relative_to="y"),
            bs.laws.Parameter("y", "y", lambda s: dist.Normal(0, 1)),
        )

    with pytest.raises(ValueError, match="'x' is relative to 'y', which is not an earlier"):
        Backwards()
    # a shifted location family keeps its family and density; another is transformed
    for d in (dist.Normal(0.0, 0.2), dist.StudentT(3.0, 0.0, 0.2), dist.Uniform(-1.0, 1.0)):
        moved = shifted(d, 1.0)
        assert float(moved.log_prob(1.1)) == pytest.approx(float(d.log_prob(0.1)))
    assert type(shifted(dist.Normal(0.0, 0.2), 1.0)) is dist.Normal


def test_registry_and_errors():
    assert {"chinchilla", "power"} <= set(bs.laws.available())
    with pytest.raises(ValueError, match="Unknown law"):
        bs.laws.get("nope")
    with pytest.raises(ValueError, match="must be one of"):
        bs.laws.SaturatingPowerLaw(x="width")
    with pytest.raises(ValueError, match="unknown parameter"):
        bs.laws.Chinchilla(priors={"gamma": dist.Normal(0, 1)})
    with pytest.raises(ValueError, match="n_breaks"):
        bs.laws.BrokenPowerLaw(n_breaks=0)
    with pytest.raises(ValueError, match="floor"):
        bs.laws.SigmoidLink(floor=1.0)


def test_schedule_areas_by_hand():
    s1, s2 = bs.laws.schedule_areas(np.array([1.0, 1.0, 0.5, 0.25]), decay=0.5)
    np.testing.assert_allclose(s1, [1.0, 2.0, 2.5, 2.75])
    # m = [0, 0, 0.5, 0.5 * 0.5 + 0.25] -> cumulative [0, 0, 0.5, 1.0]
    np.testing.assert_allclose(s2, [0.0, 0.0, 0.5, 1.0])
    df = pd.DataFrame({"step": [2, 4]})
    out = bs.laws.add_schedule_areas(df, np.array([1.0, 1.0, 0.5, 0.25]), decay=0.5)
    np.testing.assert_allclose(out["lr_area"], [2.0, 2.75])
    with pytest.raises(bs.DataError, match="steps"):
        bs.laws.add_schedule_areas(pd.DataFrame({"step": [5]}), np.ones(4))
    with pytest.raises(bs.DataError, match="run"):
        bs.laws.add_schedule_areas(df, {"a": np.ones(4)})


def test_zero_annealing_area_is_valid_but_negative_forward_area_is_not():
    df = simulate("annealing")
    df.loc[0, "anneal_area"] = 0.0
    bs.Model(law="annealing", run=False).prepare(df)
    bad = df.assign(lr_area=-df["lr_area"])
    with pytest.raises(bs.DataError, match="lr_area"):
        bs.Model(law="annealing", run=False).prepare(bad)


def test_link_rejects_metric_outside_unit_interval():
    df = simulate("sigmoid_link")
    df.loc[3, "loss"] = 1.2
    with pytest.raises(bs.DataError, match=r"\(0.0, 1.0\)"):
        bs.Model(law="sigmoid_link", scale="logit", run=False).prepare(df)


def test_custom_law_contract():
    law = bs.laws.CustomLaw(
        fn=lambda p, x: jnp.exp(p["log_E"]) + jnp.exp(p["log_A"]) * (x["N"] / 1e8) ** -p["alpha"],
        params={
            "log_E": dist.Normal(0.5, 0.5),
            "log_A": dist.Normal(-1, 1),
            "alpha": dist.LogNormal(-1.2, 0.5),
        },
        inputs=("N",),
    )
    nat = {"log_E": 0.6, "log_A": -0.5, "alpha": 0.3}
    got = law.mean(law.from_natural(nat, SCALE), law.centre(X, SCALE), SCALE)
    want = np.exp(0.6) + np.exp(-0.5) * (X["N"] / 1e8) ** -0.3
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10)
    with pytest.raises(TypeError, match="Distribution"):
        bs.laws.CustomLaw(fn=lambda p, x: x["N"], params={"a": 1.0}, inputs=("N",))
    with pytest.raises(ValueError, match="unknown input"):
        bs.laws.CustomLaw(fn=lambda p, x: x["N"], params={"a": dist.Normal()}, inputs=("W",))


@pytest.mark.parametrize("law", LAWS, ids=lambda law: f"{law.name}-{law.inputs}")
def test_sampled_names_do_not_shadow_different_natural_values(law):
    """The posterior stores sampled and natural parameters side by side: a shared name must
    hold the same value in both."""
    theta = law.from_natural(natural_values(law), SCALE)
    natural = law.to_natural(theta, SCALE)
    for name in {p.name for p in law.parameters} & set(law.natural_names):
        assert float(theta[name]) == pytest.approx(float(natural[name]))


@pytest.mark.parametrize("alpha", [0.2, 0.5, 1.0, 3.0])
def test_m4_root_solves_the_implicit_equation(alpha):
    """The M4 loss is the root of (L - E) / (E0 - L)^alpha = beta x^-c, as the paper's grid
    search finds it, across the curve from the upper plateau to the floor."""
    nat = {"E": 0.2, "E0": 1.0, "alpha": alpha, "beta": 1e4, "c": 0.5}
    x = np.geomspace(1e6, 1e14, 25)
    got = np.asarray(bs.laws.M4().natural_mean(nat, {"D": x}))
    assert np.all((got > nat["E"]) & (got < nat["E0"]))
    lhs = (got - nat["E"]) / (nat["E0"] - got) ** alpha
    np.testing.assert_allclose(lhs, nat["beta"] * x ** -nat["c"], rtol=1e-7)
    grid = np.linspace(0.0, 0.8, 200_001)[None, :]  # w = L - E on a fine grid, as the paper
    resid = np.abs(grid - nat["beta"] * x[:, None] ** -0.5 * (0.8 - grid) ** alpha)
    np.testing.assert_allclose(got, 0.2 + grid[0, resid.argmin(axis=1)], atol=1e-5)


def test_m4_limits_and_derivatives():
    """alpha -> 0 is the saturating power law; gradients and Hessian of the implicit root match
    finite differences (the two Newton steps that carry them)."""
    import jax

    law, scale = bs.laws.M4(), SCALE
    power = bs.laws.SaturatingPowerLaw(x="D")
    x = {"D": np.geomspace(1e9, 1e12, 7)}
    near_zero = {"E": 0.2, "E0": 50.0, "alpha": 1e-9, "beta": 3e3, "c": 0.4}
    np.testing.assert_allclose(
        np.asarray(law.natural_mean(near_zero, x)),
        np.asarray(power.natural_mean({"E": 0.2, "A": 3e3, "alpha": 0.4}, x)),
        rtol=1e-6,
    )
    theta = law.from_natural(NATURAL["m4"], scale)
    names = [p.name for p in law.parameters]
    v0 = jnp.array([float(theta[k]) for k in names])
    u = law.centre(x, scale)

    def f(v):
        return jnp.sum(jnp.log(law.mean(dict(zip(names, v, strict=True)), u, scale)))

    eps = 1e-5
    fd = np.array([(f(v0 + eps * e) - f(v0 - eps * e)) / (2 * eps) for e in np.eye(5)])
    np.testing.assert_allclose(np.asarray(jax.grad(f)(v0)), fd, rtol=1e-6, atol=1e-9)
    g = jax.grad(f)
    fd2 = np.array([(g(v0 + eps * e) - g(v0 - eps * e)) / (2 * eps) for e in np.eye(5)])
    np.testing.assert_allclose(np.asarray(jax.hessian(f)(v0)), fd2, rtol=1e-5, atol=1e-7)
