"""Every law fitted to a real dataset, and LOO comparisons of Chinchilla, Kaplan and Farseer.

Prints, per law: dataset, rows, max R-hat, min bulk ESS, divergences, and the natural
parameters' medians; then LOO tables with stacking weights on Epoch's and Gadre et al.'s data,
and the likelihood-sensitivity table on Epoch's data. Run:
``.venv/bin/python benchmarks/law_library.py`` (about 10 min on 2 cores; reads
../shared/datasets or ``BAYESCALE_DATA_MIRROR``).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("BAYESCALE_DATA_MIRROR", str(ROOT.parent / "shared" / "datasets"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import bayescale as bs  # noqa: E402


def epoch() -> pd.DataFrame:
    df = bs.datasets.load("epoch_chinchilla")
    return df.drop(df["loss"].nlargest(5).index)


def mamba(n: int = 400) -> pd.DataFrame:
    """One Mamba training curve with its logged learning rate (ColPret)."""
    m = bs.datasets.load("hitchhiker_colpret", "mamba").sort_values("step")
    steps = np.arange(1, int(m["step"].max()) + 1)
    lr = np.interp(steps, m["step"], m["lr"])
    keep = m[m["step"] >= 2000]
    keep = keep.iloc[np.linspace(0, len(keep) - 1, n).astype(int)]
    return bs.laws.add_schedule_areas(keep[["step", "loss"]].reset_index(drop=True), lr)


def datablations() -> pd.DataFrame:
    """Final checkpoint of every data-constrained run (Muennighoff et al. via ColPret).

    24 runs on C4 and 24 on OSCAR, whose losses differ by about 0.5 nats at the same inputs:
    the ``dataset`` column goes to the fit as a group (the ``data_constrained_dataset``
    preset's effects), not mixed into one law.
    """
    d = bs.datasets.load("hitchhiker_colpret", "datablations")
    d["run"] = d["run"].astype(str)
    last = d.loc[d.groupby("run")["tokens"].idxmax()]
    return last.rename(columns={"tokens_per_epoch": "unique_tokens"})[
        ["dataset", "params", "tokens", "unique_tokens", "loss", "epochs"]
    ]


def olmo() -> pd.DataFrame:
    """OLMo-7B-Twin-2T checkpoints: mC4 validation loss and ARC-Easy accuracy (ColPret)."""
    o = bs.datasets.load("hitchhiker_colpret", "olmo")
    o = o[o["model_name"] == "OLMo-7B-Twin-2T"]
    cols = ["mc4_en-validation/CrossEntropyLoss", "downstream/arc_easy_acc"]
    o = o[o[cols].notna().all(axis=1)]
    inside = (o[cols[1]] > 0) & (o[cols[1]] < 1)
    if (~inside).any():
        print(
            f"olmo: dropping {int((~inside).sum())} checkpoint(s) with accuracy outside (0, 1): "
            f"{sorted(o.loc[~inside, cols[1]].unique())[:5]}"
        )
    o = o[inside]
    return pd.DataFrame(
        {"upstream_loss": o[cols[0]].to_numpy(), "loss": o[cols[1]].to_numpy()}
    ).reset_index(drop=True)


def gadre_l2l() -> pd.DataFrame:
    g = bs.datasets.load("gadre2024_overtraining")
    return pd.DataFrame(
        {"upstream_loss": g["loss_c4_val"], "loss": g["loss_paloma_redpajama"]}
    ).dropna()


def gpt3_curve(n: int = 300) -> pd.DataFrame:
    """The training curve of the GPT-3 'small' replication run (ColPret), from step 100."""
    g = bs.datasets.load("hitchhiker_colpret", "gpt3")
    g = g[(g["run"] == "small") & (g["step"] >= 100)].sort_values("step")
    g = g.dropna(subset=["loss"])  # validation loss is logged at a subset of steps
    g = g.iloc[np.linspace(0, len(g) - 1, min(n, len(g))).astype(int)]
    return g[["step", "loss"]].reset_index(drop=True)


CASES = [
    ("chinchilla", "epoch_chinchilla", epoch, {}),
    ("kaplan", "epoch_chinchilla", epoch, {}),
    ("farseer", "epoch_chinchilla", epoch, {}),
    ("bnsl", "colpret gpt3 'small' curve", gpt3_curve, {"run": False}),
    ("annealing", "colpret mamba (lr schedule)", mamba, {"run": False}),
    (
        "data_constrained",
        "colpret datablations, C4 and OSCAR (final ckpts)",
        datablations,
        {"effects": {"E": "dataset", "A": "dataset"}, "fit": {"target_accept": 0.99}},
    ),
    ("sigmoid_link", "colpret OLMo-7B-Twin ARC-Easy", olmo, {"scale": "logit", "run": False}),
    (
        "exponential_link",
        "colpret OLMo-7B-Twin ARC-Easy error",
        olmo,
        {"scale": "logit", "run": False},
    ),
    ("loss_to_loss", "gadre2024 C4 -> RedPajama", gadre_l2l, {"run": False}),
]


def law_for(name: str):
    if name == "sigmoid_link":
        return bs.laws.SigmoidLink(floor=0.25)
    return bs.laws.get(name)


def main() -> int:
    if not Path(os.environ["BAYESCALE_DATA_MIRROR"]).is_dir():
        print("shared datasets not found: set BAYESCALE_DATA_MIRROR", file=sys.stderr)
        return 0
    warnings.simplefilter("ignore")
    pd.set_option("display.width", 200)
    rows, epoch_fits = [], {}
    for law_name, label, load, kw in CASES:
        df = load()
        if law_name == "exponential_link":
            df = df.assign(loss=1.0 - df["loss"])
        kw = dict(kw)
        fit_kw = kw.pop("fit", {})
        model = bs.Model(law=law_for(law_name), **kw)
        t0 = time.perf_counter()
        post = model.fit(df, seed=0, progress_bar=False, **fit_kw)
        wall = time.perf_counter() - t0
        d = post.diagnostics(warn=False).attrs
        med = {k: float(post.posterior[k].median()) for k in post.law.natural_names}
        rows.append(
            {
                "law": law_name,
                "dataset": label,
                "rows": len(df),
                "rhat_max": round(d["rhat_max"], 4),
                "ess_bulk_min": int(d["ess_bulk_min"]),
                "divergences": d["divergences"],
                "wall_s": round(wall, 1),
                "medians": ", ".join(f"{k}={v:.4g}" for k, v in med.items()),
            }
        )
        print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
        if label == "epoch_chinchilla":
            epoch_fits[law_name] = post
    print("\n## Real-data fits\n" + pd.DataFrame(rows).to_string(index=False))

    print("\n## LOO on Epoch's data (stacking weights)")
    print(bs.compare.compare(epoch_fits).to_string())

    gadre = bs.datasets.load("gadre2024_overtraining")
    effects = {
        "chinchilla": {"E": "family"},
        "kaplan": {"L0": "family"},
        "farseer": {"E0": "family"},
    }
    gadre_fits = {
        name: bs.Model(name, effects=eff).fit(gadre, seed=0, progress_bar=False)
        for name, eff in effects.items()
    }
    print("\n## LOO on Gadre et al.'s data, floor by training dataset (stacking weights)")
    for name, post in gadre_fits.items():
        d = post.diagnostics(warn=False).attrs
        print(f"  {name}: R-hat max {d['rhat_max']:.4f}, divergences {d['divergences']}")
    print(bs.compare.compare(gadre_fits).to_string())

    print("\n## Likelihood sensitivity on Epoch's data (compute 5.88e23)")
    table = bs.compare.sensitivity(bs.Model("chinchilla"), epoch(), compute=5.88e23, seed=0)
    cols = ["E", "alpha", "beta", "tokens_per_param", "tokens_per_param_q10"]
    cols += ["tokens_per_param_q90", "elpd_loo", "pareto_k_max", "fit_ok"]
    print(table[cols].to_string(float_format=lambda v: f"{v:.4g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
