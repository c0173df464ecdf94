"""Contract tests run on every registered law (no NUTS)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro.infer import Predictive

import bayescale as bs
from bayescale.laws import Scale

LAWS = [bs.laws.get(name) for name in bs.laws.available()] + [
    bs.laws.SaturatingPowerLaw(x="D"),
    bs.laws.SaturatingPowerLaw(x="C"),
]
SCALE = Scale(
    log_ref={"N": np.log(3e8), "D": np.log(6e9), "C": np.log(1e19), "step": 8.0},
    loss=2.8,
    loss_min=2.0,
)
PUBLISHED = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
X = {"N": np.geomspace(1e7, 1e10, 7), "D": np.geomspace(1e9, 1e12, 7)}
X["C"] = 6 * X["N"] * X["D"]
X["step"] = np.geomspace(10, 1e5, 7)


def natural_values(law):
    return {k: PUBLISHED.get(k, 1.0) for k in law.natural_names}


@pytest.mark.parametrize("law", LAWS, ids=lambda law: f"{law.name}-{law.inputs}")
def test_centred_mean_equals_textbook_formula(law):
    nat = natural_values(law)
    theta = law.from_natural(nat, SCALE)
    got = law.mean(theta, law.centre(X, SCALE), SCALE)
    want = law.natural_mean(nat, X)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-10)


@pytest.mark.parametrize("law", LAWS, ids=lambda law: f"{law.name}-{law.inputs}")
def test_natural_roundtrip(law):
    nat = natural_values(law)
    back = law.to_natural(law.from_natural(nat, SCALE), SCALE)
    for k, v in nat.items():
        assert float(back[k]) == pytest.approx(v, rel=1e-10)


@pytest.mark.parametrize("law", LAWS, ids=lambda law: f"{law.name}-{law.inputs}")
def test_mean_is_vectorised_over_draws(law):
    theta = {
        p.name: jnp.full((3, 2, 1), float(law.prior(p.name, SCALE).mean)) for p in law.parameters
    }
    out = law.mean(theta, law.centre(X, SCALE), SCALE)
    assert out.shape == (3, 2, 7)


@pytest.mark.parametrize("law", LAWS, ids=lambda law: f"{law.name}-{law.inputs}")
def test_prior_predictive_is_plausible(law):
    """Default priors put the loss of a typical ladder in a plausible band around the data."""
    df = bs.simulate_ladder(params=PUBLISHED)
    df["step"] = np.geomspace(10, 1e5, len(df))
    model = bs.Model(law=law, run=False)
    data = model.prepare(df)
    kwargs = model.model_kwargs(data)
    kwargs.pop("loss")
    draws = Predictive(model.numpyro_model, num_samples=2000)(jax.random.PRNGKey(0), **kwargs)
    log_loss = np.asarray(draws["loss"])  # Student-t noise on log loss: heavy tails by design
    med = np.median(log_loss, axis=0)
    assert np.all(np.isfinite(log_loss))
    # The median prior loss is within a factor 2 of the data, and the prior is not degenerate.
    assert np.all((med > np.log(data.loss.min() / 2)) & (med < np.log(data.loss.max() * 2)))
    q05, q95 = np.quantile(log_loss, [0.05, 0.95], axis=0)
    assert np.all(q95 - q05 > np.log(1.2))
    assert np.all(q95 - q05 < np.log(100))


def test_registry_and_errors():
    assert {"chinchilla", "power"} <= set(bs.laws.available())
    with pytest.raises(ValueError, match="Unknown law"):
        bs.laws.get("nope")
    with pytest.raises(ValueError, match="must be one of"):
        bs.laws.SaturatingPowerLaw(x="width")
    with pytest.raises(ValueError, match="unknown parameter"):
        bs.laws.Chinchilla(priors={"gamma": dist.Normal(0, 1)})


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
