"""Downstream error of Gadre et al.'s largest models, predicted from the smaller ones.

The experiment of Gadre et al. 2024 (section 5): fit a law for the C4 validation loss and a
link from that loss to the average top-1 error over their 17 tasks on the small models
(11M-411M parameters), then predict the 1.4B and 6.9B models (9 runs over three training
datasets). Compared:

- **joint**: :class:`bayescale.TwoStepModel` (law -> latent loss -> exponential link, one
  posterior; every draw's loss, with its extrapolation error, goes through its own link);
- **plug-in**: the two steps fitted separately (the link on observed losses), the metric
  predicted by the link at the loss model's median prediction: how the two-step method is
  usually run, which drops the loss step's uncertainty.

Prints per method: coverage of the 50/80/90/95 % central intervals, median absolute relative
error of the median, and the mean 90 % width; and the joint fit's diagnostics. Run:
``.venv/bin/python benchmarks/downstream.py`` (about 2 min on 2 cores).
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("BAYESCALE_DATA_MIRROR", str(ROOT.parent / "shared" / "datasets"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import bayescale as bs  # noqa: E402

LEVELS = (0.5, 0.8, 0.9, 0.95)
BIG = ("open_lm_1b", "open_lm_7b")


def models(link_effects=None) -> tuple[bs.Model, bs.Model]:
    loss = bs.Model("chinchilla", effects={"E": "family"}, columns={"loss": "loss_c4_val"})
    link = bs.Model(
        "exponential_link", scale="logit", effects=link_effects, columns={"loss": "error_avg"}
    )
    return loss, link


def scores(draws: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Coverage per level, median |relative error| of the median, mean 90 % width."""
    out = {}
    for lev in LEVELS:
        lo, hi = np.quantile(draws, [(1 - lev) / 2, (1 + lev) / 2], axis=0)
        out[f"cov{int(lev * 100)}"] = float(np.mean((lo <= truth) & (truth <= hi)))
    med = np.median(draws, axis=0)
    out["med_ARE"] = float(np.median(np.abs(med - truth) / truth))
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    out["width90"] = float(np.mean(hi - lo))
    return out


def main() -> None:
    df = bs.datasets.load("gadre2024_overtraining", "downstream")
    train = df[~df["model_config"].isin(BIG)]
    test = df[df["model_config"].isin(BIG)].reset_index(drop=True)
    print(f"train {len(train)} models (<= 411M), test {len(test)} models (1.4B, 6.9B)")
    fit_kw = {"chains": 4, "draws": 2000, "warmup": 1000, "seed": 0, "target_accept": 0.99}
    loss_model, link_model = models()

    t0 = time.perf_counter()
    joint = bs.TwoStepModel(loss=loss_model, link=link_model).fit(train, **fit_kw)
    t_joint = time.perf_counter() - t0
    diag = joint.diagnostics(warn=False).attrs
    print(
        f"joint fit {t_joint:.1f} s: max R-hat {diag['rhat_max']:.4f}, min bulk ESS "
        f"{diag['ess_bulk_min']:.0f}, divergences {diag['divergences']}"
    )
    summ = joint.summary()
    print(summ.loc[["E", "alpha", "beta", "link__epsilon", "link__k", "link__gamma"]].iloc[:, :4])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ConvergenceWarning)
        loss_alone = loss_model.fit(train, **fit_kw)
        link_data = train.assign(upstream_loss=train["loss_c4_val"])
        link_alone = bs.Model("exponential_link", scale="logit", columns={"loss": "error_avg"}).fit(
            link_data, **fit_kw
        )

    joint_draws, plug_draws, loss_draws = [], [], []
    for i, r in test.iterrows():
        p = joint.predict(N=r["params"], D=r["tokens"], family=r["family"], rng_seed=i)
        joint_draws.append(p["metric"].values.ravel())
        loss_draws.append(p["loss"].values.ravel())
        med_loss = float(
            loss_alone.predict(N=r["params"], D=r["tokens"], family=r["family"], kind="mean")
            .median()
            .values
        )
        plug_draws.append(link_alone.predict(L=med_loss, rng_seed=i).values.ravel())
    truth = test["error_avg"].to_numpy()
    rows = {
        "joint (metric)": scores(np.array(joint_draws).T, truth),
        "plug-in (metric)": scores(np.array(plug_draws).T, truth),
        "joint (C4 loss)": scores(np.array(loss_draws).T, test["loss_c4_val"].to_numpy()),
    }
    pd.set_option("display.width", 120)
    print(pd.DataFrame(rows).T.round(3).to_string())
    per_model = pd.DataFrame(
        {
            "model": test["name"],
            "error": truth.round(3),
            "joint median": np.median(joint_draws, axis=1).round(3),
            "joint 90%": [
                f"[{a:.3f}, {b:.3f}]" for a, b in np.quantile(joint_draws, [0.05, 0.95], axis=1).T
            ],
            "plug-in 90%": [
                f"[{a:.3f}, {b:.3f}]" for a, b in np.quantile(plug_draws, [0.05, 0.95], axis=1).T
            ],
        }
    )
    print(per_model.to_string(index=False))


if __name__ == "__main__":
    main()
