"""Benchmark: the default model on Epoch's Chinchilla data (4 chains x 1000 draws).

Prints, for a cold fit (first in the process: tracing and compilation included) and a warm one
(same model and data again), the wall time split into initialisation, MAP, NUTS and
log-likelihood, and the minimum bulk ESS and ESS per second. Compile time is estimated as the
cold NUTS time minus the warm one.

Run: ``.venv/bin/python benchmarks/epoch_fit.py`` (reads ../shared/datasets, or
``BAYESCALE_DATA_MIRROR``).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("BAYESCALE_DATA_MIRROR", str(ROOT.parent / "shared" / "datasets"))

import jax  # noqa: E402

import bayescale as bs  # noqa: E402
from bayescale.inference import NutsSettings, sample_nuts  # noqa: E402


def main() -> int:
    if not (Path(os.environ["BAYESCALE_DATA_MIRROR"]) / "epoch_chinchilla").is_dir():
        print("epoch_chinchilla not found: set BAYESCALE_DATA_MIRROR", file=sys.stderr)
        return 0
    df = bs.datasets.load("epoch_chinchilla")
    df = df.drop(df["loss"].nlargest(5).index)
    model = bs.Model()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"jax {jax.__version__} devices {jax.devices()}"
    )
    print(f"data: {len(df)} runs; model: default Chinchilla, Student-t on log loss")
    rows = []
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        data = model.prepare(df)
        (result,) = sample_nuts(model, [data], NutsSettings(chains=4, draws=1000, warmup=1000))
        t_post = time.perf_counter()
        post = model.posterior_from(data, result)
        result.timing["posterior"] = time.perf_counter() - t_post
        wall = time.perf_counter() - t0
        diag = post.diagnostics(warn=False)
        ess = diag.attrs["ess_bulk_min"]
        t = result.timing
        rows.append((label, wall, t, ess, diag))
        print(
            f"{label}: wall {wall:5.2f} s = init {t['initialize']:.2f} + MAP {t['map']:.2f} + "
            f"NUTS {t['nuts']:.2f} + loglik {t['log_likelihood']:.2f} + tree (prior, "
            f"predictive) {t['posterior']:.2f} + rest {wall - sum(t.values()):.2f}; min bulk ESS "
            f"{ess:.0f}; ESS/s (wall) {ess / wall:.0f}; ESS/s (NUTS only) "
            f"{ess / t['nuts']:.0f}; leapfrog steps {int(result.stats['n_steps'].sum())}; "
            f"lanes {result.settings['lanes']}"
        )
    cold, warm = rows
    print(f"compile+trace estimate: {cold[1] - warm[1]:.2f} s (cold wall - warm wall)")
    print(
        f"diagnostics: max R-hat {warm[4].attrs['rhat_max']:.4f}, divergences "
        f"{warm[4].attrs['divergences']}"
    )
    med = post.posterior[["E", "A", "B", "alpha", "beta"]].median()
    print("medians: " + ", ".join(f"{k}={float(v):.4g}" for k, v in med.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
