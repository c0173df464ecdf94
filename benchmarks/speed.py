"""Speed benchmarks P1-P4 (issue 6). Each prints its numbers; run one or all:

    .venv/bin/python benchmarks/speed.py p1 p2 p3 p4 p5   (p1fresh: P1's fresh processes;
                                                          p6: GPU against CPU)

P1  Epoch's Chinchilla data, default model, 4 chains x 1000 draws: wall time including
    compilation (first fit in the process), min bulk ESS, ESS/s; the same model in PyMC sampled
    by nutpie (``pip install -e .[bench]``), and the ratio of ESS/s.
    Then the same fit in fresh processes (import included), with an empty and a filled
    compile cache, by ``method="auto"`` (importance sampling checked by PSIS) and by NUTS.
P2  NUTS overhead: NUTS wall time against total leapfrog steps x one jitted gradient.
P3  1000 independent Chinchilla fits of ~50 points: batched MAP + Laplace, batched NUTS
    (diagnostics per fit), ``method="auto"`` (importance sampling from the Laplace
    approximation checked by PSIS, NUTS for the fits that fail) with its agreement with NUTS
    on a sample of fits, against a loop of SciPy Huber point fits with a bootstrap.
    ``P3_NUTS=0`` skips the batched NUTS run (~10 min).
P4  A hierarchical fit of simulated checkpoint curves (family and run effects) at 1k, 3k, 10k
    and 30k observations by default (``P4_SIZES=...,100000`` adds 100k: about 3 min on 2 CPU
    cores): wall time and its growth with the number of points. Run it with
    ``BAYESCALE_HOST_DEVICES=5``: four parallel chains on every host device make the memory of
    a large fit grow with every leapfrog step (docs/models.md; 30k points: 15.7 GB against 3.6).

P5  The P3 ladders by ``method="psis"`` on a Dask LocalCluster of 2 workers (batches, and
    one task per table) against one process.
P6  GPU against CPU (needs a GPU and ``pip install -e .[gpu]``; prints that it skipped
    otherwise): the Epoch fit (P1, small: NumPyro's GPU slowdown on small fits,
    pyro-ppl/numpyro#2225), P3's ladders by ``method="auto"`` and P4's curves (``P4_SIZES``),
    each in fresh processes with ``JAX_PLATFORMS=cuda`` and ``cpu`` and no compilation cache,
    first and warm, and which wins at each size (the crossover an automatic choice of device
    would use).

``P3_FITS``, ``P4_SIZES`` and ``P5_FITS`` (environment) shrink the runs for a quick look;
``P3_CHAINS``, ``P3_WARMUP`` and ``P3_DRAWS`` (default 4, 500 and 1000) set the batched NUTS
run: with 500 draws a fifth of the fits miss R-hat <= 1.01 by a hair (ESS ~700), with 1000
one in a hundred.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("BAYESCALE_DATA_MIRROR", str(ROOT.parent / "shared" / "datasets"))

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import bayescale as bs  # noqa: E402
from bayescale.inference import all_devices_memory_advice  # noqa: E402


def epoch() -> pd.DataFrame:
    df = bs.datasets.load("epoch_chinchilla")
    return df.drop(df["loss"].nlargest(5).index)


def p1_p2() -> None:
    df = epoch()
    t0 = time.perf_counter()
    post = bs.Model().fit(df, chains=4, draws=1000, warmup=1000, seed=0)
    wall = time.perf_counter() - t0
    d = post.diagnostics(warn=False).attrs
    timing = post.timing
    ess = d["ess_bulk_min"]
    print(
        f"P1 bayescale: wall {wall:.2f} s (cold, incl. compile), min bulk ESS {ess:.0f}, "
        f"ESS/s {ess / wall:.0f}; devices {jax.local_device_count()} ({jax.default_backend()})"
    )
    if timing:
        print(f"   timing {timing}")
    t0 = time.perf_counter()
    bs.Model().fit(df, chains=4, draws=1000, warmup=1000, seed=1)
    warm = time.perf_counter() - t0
    print(f"P1 bayescale warm (second fit): wall {warm:.2f} s, ESS/s {ess / warm:.0f}")
    ours = ess / wall
    try:
        theirs = nutpie_ess_per_s(df)
        print(
            f"P1 ratio bayescale/nutpie ESS/s (cold wall vs nutpie incl. compile): "
            f"{ours / theirs:.2f}"
        )
    except ImportError as e:
        print(f"P1 nutpie comparison skipped ({e}); pip install -e .[bench]")

    # P2: the potential's gradient alone, jitted, against NUTS's wall time.
    from bayescale.inference import problem, stack

    model = bs.Model()
    structure, arrays = stack(model, [model.prepare(df)])
    prob = problem(model, structure, arrays)
    potential = prob.potential(jax.tree.map(lambda v: v[0], arrays))
    flat = prob.initial_points(jax.random.split(jax.random.PRNGKey(0), 1), arrays)[0]
    grad = jax.jit(jax.grad(lambda f: potential(prob.unravel(f))))
    grad(flat).block_until_ready()
    reps = 2000
    t0 = time.perf_counter()
    for _ in range(reps):
        g = grad(flat)
    g.block_until_ready()
    t_grad = (time.perf_counter() - t0) / reps
    steps = int(post.draws_tree["sample_stats"]["n_steps"].values.sum())
    nuts_wall = warm
    print(
        f"P2 gradient {t_grad * 1e6:.1f} us; leapfrog steps (sampling) {steps}; "
        f"steps x grad {steps * t_grad:.2f} s; NUTS wall (warm fit, incl. warm-up) "
        f"{nuts_wall:.2f} s; overhead {nuts_wall / (2 * steps * t_grad):.1f}x "
        "(steps doubled for the warm-up)"
    )


def nutpie_ess_per_s(df: pd.DataFrame) -> float:
    """The default model (centred Chinchilla, Student-t on log loss, same priors) in PyMC."""
    import arviz_stats
    import nutpie
    import pymc as pm

    n, d, y = (df[c].to_numpy(float) for c in ("params", "tokens", "loss"))
    un, ud = np.log(n) - np.log(n).mean(), np.log(d) - np.log(d).mean()
    t0 = time.perf_counter()
    with pm.Model() as m:
        log_e = pm.Normal("log_E", np.log(0.7 * y.min()), 0.5)
        a = pm.Normal("a", np.log(0.25 * np.median(y)), 1.5)
        b = pm.Normal("b", np.log(0.25 * np.median(y)), 1.5)
        la = pm.Normal("log_alpha", np.log(0.3), 0.5)
        lb = pm.Normal("log_beta", la, 0.2)  # the allocation prior: log(beta/alpha) ~ N(0, 0.2)
        sigma = pm.HalfNormal("sigma", 0.05)
        nu = pm.LogNormal("nu", 2.3, 0.7)
        mu = pm.math.log(
            pm.math.exp(log_e)
            + pm.math.exp(a - pm.math.exp(la) * un)
            + pm.math.exp(b - pm.math.exp(lb) * ud)
        )
        pm.StudentT("loss", nu=nu, mu=mu, sigma=sigma, observed=np.log(y))
    compiled = nutpie.compile_pymc_model(m)
    trace = nutpie.sample(compiled, chains=4, draws=1000, tune=1000, seed=0, progress_bar=False)
    wall = time.perf_counter() - t0
    ess_tree = arviz_stats.ess(trace, method="bulk")
    node = ess_tree["posterior"] if "posterior" in ess_tree.children else ess_tree
    ess = float(node.to_dataset().to_array().min())
    print(
        f"P1 nutpie: wall {wall:.2f} s (incl. PyMC compile), min bulk ESS {ess:.0f}, "
        f"ESS/s {ess / wall:.0f}"
    )
    return ess / wall


def p3() -> None:
    n_fits = int(os.environ.get("P3_FITS", "1000"))
    rng = np.random.default_rng(0)
    tables = [
        bs.simulate_ladder(seed=i, sizes_per_budget=int(rng.integers(8, 12))) for i in range(n_fits)
    ]
    sizes = [len(t) for t in tables]
    print(f"P3 {n_fits} simulated ladders, {min(sizes)}-{max(sizes)} points each")
    model = bs.Model()
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        lap = bs.laplace_many(model, tables, draws=1000)
        print(
            f"P3 MAP+Laplace ({label}): {time.perf_counter() - t0:.2f} s, "
            f"converged {lap.summary()['converged'].mean():.3f}, timing {lap.timing}"
        )
    if os.environ.get("P3_NUTS", "1") == "0":
        p3_importance(model, tables)
        return
    t0 = time.perf_counter()
    chains = int(os.environ.get("P3_CHAINS", "4"))
    warmup = int(os.environ.get("P3_WARMUP", "500"))
    draws = int(os.environ.get("P3_DRAWS", "1000"))
    posts = bs.fit_many(model, tables, chains=chains, draws=draws, warmup=warmup, seed=0)
    wall = time.perf_counter() - t0
    diag = bs.diagnostics_table(posts)
    print(
        f"P3 batched NUTS ({chains} chains x {draws} draws, {warmup} warm-up): {wall:.1f} s; "
        f"fits passing diagnostics {diag['ok'].mean():.3f}; "
        f"R-hat<=1.01 {np.mean(diag['rhat_max'] <= 1.01):.3f};"
        f" min bulk ESS median {diag['ess_bulk_min'].median():.0f}; fits with divergences "
        f"{np.mean(diag['divergences'] > 0):.3f}"
    )
    # What fit_many(refit_failed=True) adds: the failures refitted at target_accept 0.99.
    failed = [t for t, ok in zip(tables, diag["ok"], strict=True) if not ok]
    if failed:
        t0 = time.perf_counter()
        again = bs.fit_many(
            model, failed, chains=chains, draws=draws, warmup=warmup, seed=1, target_accept=0.99
        )
        refit = bs.diagnostics_table(again)
        print(
            f"P3 refit of the {len(failed)} failing fits (target_accept 0.99): "
            f"{time.perf_counter() - t0:.1f} s; {refit['ok'].mean():.3f} of them now pass; "
            f"fits passing after refit {(diag['ok'].sum() + refit['ok'].sum()) / n_fits:.3f}"
        )
    p3_importance(model, tables)
    from bootstrap_baseline import bootstrap_draws

    k = min(int(os.environ.get("P3_BASELINE_FITS", "3")), n_fits)
    t0 = time.perf_counter()
    for t in tables[:k]:
        bootstrap_draws(t, t.iloc[:1], n_boot=100)
    per = (time.perf_counter() - t0) / k
    print(
        f"P3 baseline SciPy Huber fit + 100 bootstrap refits: {per:.2f} s per fit "
        f"(measured on {k}); {per * n_fits:.0f} s for {n_fits} (extrapolated)"
    )


#: Parameters compared between importance-sampled and NUTS posteriors.
P3_PARAMETERS = ("E", "A", "B", "alpha", "beta", "sigma", "nu")
#: Quantiles compared.
P3_QUANTILES = (0.05, 0.5, 0.95)


def _quantile_se(p: float, sd: float, ess: float) -> float:
    """Monte Carlo standard error of a normal posterior's quantile ``p`` from ``ess`` draws."""
    from scipy.stats import norm

    return sd * np.sqrt(p * (1 - p) / ess) / norm.pdf(norm.ppf(p))


def p3_importance(model, tables: list[pd.DataFrame]) -> None:
    """``method="auto"``: PSIS-checked importance sampling, NUTS for the fits that fail.

    Then, on ``P3_AGREEMENT_FITS`` (default 20) of the accepted fits, NUTS (4 x 1000) on the
    same tables: the difference of every parameter's 5/50/95 % quantiles in units of its
    Monte Carlo standard error (both estimates' errors combined, from the importance ESS and
    NUTS's bulk ESS, normal approximation).
    """
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        posts = bs.fit_many(model, tables, chains=4, draws=1000, seed=0, method="auto")
        wall = time.perf_counter() - t0
        diag = bs.diagnostics_table(posts)
        accepted = diag["method"] == "psis"
        print(
            f"P3 method='auto' ({label}): {wall:.1f} s; accepted by PSIS {accepted.mean():.3f}, "
            f"refitted by NUTS {1 - accepted.mean():.3f}; fits passing diagnostics "
            f"{diag['ok'].mean():.3f}; Pareto k-hat median {diag['pareto_k'].median():.2f}, "
            f"99 % {diag['pareto_k'].quantile(0.99):.2f}; phases of the PSIS batch "
            f"{ {k: round(v, 1) for k, v in posts[int(np.argmax(accepted))].timing.items()} }"
        )
    n_check = int(os.environ.get("P3_AGREEMENT_FITS", "20"))
    idx = list(np.flatnonzero(accepted.to_numpy())[:n_check])
    t0 = time.perf_counter()
    nuts = bs.fit_many(model, [tables[i] for i in idx], chains=4, draws=1000, warmup=1000, seed=1)
    z, ratio, where = [], [], []
    for i, ref in zip(idx, nuts, strict=True):
        a, b = posts[i].posterior, ref.posterior
        ess_a = posts[i].diagnostics(warn=False).attrs["ess_importance"]
        ess_b = ref.diagnostics(warn=False)
        for k in P3_PARAMETERS:
            sd = float(b[k].std())
            eb = float(ess_b.loc[k, "ess_bulk"]) if k in ess_b.index else 1000.0
            for p in P3_QUANTILES:
                qa, qb = np.quantile(a[k].values, p), np.quantile(b[k].values, p)
                se = np.hypot(_quantile_se(p, sd, ess_a), _quantile_se(p, sd, eb))
                z.append((qa - qb) / se)
                ratio.append((qa - qb) / sd)
                where.append(f"{k} q{p:.2f}")
    table = pd.DataFrame({"at": where, "z": z, "ratio": ratio})
    absz, absr = np.abs(table["z"]), np.abs(table["ratio"])
    print(
        f"P3 agreement with NUTS on {len(idx)} accepted fits ({time.perf_counter() - t0:.0f} s "
        f"of NUTS): {len(z)} quantiles, |difference| / MCSE median {np.median(absz):.2f} "
        f"(0.67 if they agree), within 2 MCSE {np.mean(absz < 2):.3f} (0.95), within 3 "
        f"{np.mean(absz < 3):.3f} (0.997); |difference| / posterior sd median "
        f"{np.median(absr):.3f}, max {np.max(absr):.3f}"
    )
    worst = table.groupby("at")["ratio"].median().sort_values(key=np.abs, ascending=False)
    print(
        "P3 largest median (PSIS - NUTS) / posterior sd by quantile: "
        + ", ".join(f"{k} {v:+.3f}" for k, v in worst.head(4).items())
    )


def curves(n_obs: int, seed: int = 0) -> pd.DataFrame:
    """Simulated checkpoint curves: 4 families x runs of 3 sizes, 100 checkpoints per run."""
    rng = np.random.default_rng(seed)
    nat = bs.simulate.BESIROGLU_2024
    per_run = 100
    n_runs = max(8, n_obs // per_run)
    rows = []
    for r in range(n_runs):
        fam = f"f{r % 4}"
        n = float(10 ** rng.uniform(7.5, 9.5))
        tokens = np.geomspace(20 * n / 30, 20 * n, per_run)
        e = nat["E"] * np.exp(0.03 * (r % 4 - 1.5))
        run_off = 0.005 * rng.standard_normal()
        loss = e + nat["A"] * n ** -nat["alpha"] + nat["B"] * tokens ** -nat["beta"]
        loss = loss * np.exp(run_off + 0.004 * rng.standard_normal(per_run))
        rows.append(
            pd.DataFrame(
                {
                    "params": n,
                    "tokens": tokens,
                    "loss": loss,
                    "family": fam,
                    "run": f"r{r}",
                    "step": np.arange(1, per_run + 1),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def p4() -> None:
    sizes = [int(s) for s in os.environ.get("P4_SIZES", "1000,3000,10000,30000").split(",")]
    # Normal likelihood: the run effects are integrated out (marginal_run="auto"); with the
    # student-t default they are sampled, and at 10k checkpoints that does not mix.
    model = bs.Model(effects={"E": "family"}, run="run", likelihood="normal")
    advice = all_devices_memory_advice(jax.local_device_count(), 4, max(sizes))
    if advice:
        print(f"P4 note: {advice}", flush=True)
    times = []
    for n_obs in sizes:
        df = curves(n_obs)
        t0 = time.perf_counter()
        post = model.fit(df, chains=4, draws=500, warmup=500, seed=0)
        wall = time.perf_counter() - t0
        d = post.diagnostics(warn=False).attrs
        steps = float(post.draws_tree["sample_stats"]["n_steps"].mean())
        times.append(wall)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
        print(
            f"P4 {len(df)} obs, {df['run'].nunique()} runs: {wall:.1f} s (NUTS "
            f"{post.timing['nuts']:.1f} s); R-hat max {d['rhat_max']:.3f}, min bulk ESS "
            f"{d['ess_bulk_min']:.0f}, divergences {d['divergences']}; {steps:.0f} leapfrog "
            f"steps per draw; peak memory of the process so far {peak:.1f} GiB",
            flush=True,
        )
    if len(sizes) > 1:
        slope = np.polyfit(np.log(sizes), np.log(times), 1)[0]
        print(f"P4 growth: wall ~ n^{slope:.2f}")


def p5() -> None:
    """``bayescale.distributed.fit_many`` on a Dask LocalCluster of 2 workers against one process.

    The same ``P5_FITS`` (default 1000) simulated ladders as P3, drawn by ``method="psis"``
    (so the comparison is of the fan-out, not of NUTS's lockstep): one process's
    :func:`bayescale.fit_many`; the cluster with one batch per worker (``batch_size``); and,
    on the first ``P5_PER_TABLE`` (default 20) ladders, one task per table, whose overhead per
    task is the difference per table from the batched run.
    """
    from dask.distributed import Client, LocalCluster

    from bayescale.distributed import fit_many as dask_fit_many

    n_fits = int(os.environ.get("P5_FITS", "1000"))
    rng = np.random.default_rng(0)
    tables = [
        bs.simulate_ladder(seed=i, sizes_per_budget=int(rng.integers(8, 12))) for i in range(n_fits)
    ]
    model = bs.Model()
    kw = {"chains": 4, "draws": 1000, "method": "psis"}  # Model.fit's draws, as on the workers
    for post in bs.fit_many(model, tables[:4], **kw):  # compile outside the timing
        post.tree  # noqa: B018
    t0 = time.perf_counter()
    posts = bs.fit_many(model, tables, **kw)
    deferred = time.perf_counter() - t0
    # A worker sends back whole trees: the prior, replicated losses and the learned
    # extrapolation error's record (refits of each ladder), which a local fit defers.
    for post in posts:
        post.tree  # noqa: B018
    one = time.perf_counter() - t0
    print(
        f"P5 one process, fit_many(method='psis'), {n_fits} ladders: {deferred:.1f} s; with "
        f"every tree built (prior, predictive, extrapolation record) {one:.1f} s"
    )
    workers = 2
    env = {"BAYESCALE_HOST_DEVICES": "1"}  # one XLA device per single-threaded worker
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, dashboard_address=None, env=env
        ) as cluster,
        Client(cluster) as client,
    ):
        t0 = time.perf_counter()
        dask_fit_many(client, model, tables[: 2 * workers], batch_size=2, **kw)
        start = time.perf_counter() - t0
        t0 = time.perf_counter()
        dask_fit_many(client, model, tables, batch_size=-(-n_fits // workers), **kw)
        batched = time.perf_counter() - t0
        k = min(int(os.environ.get("P5_PER_TABLE", "20")), n_fits)
        t0 = time.perf_counter()
        dask_fit_many(client, model, tables[:k], **kw)
        per_table = (time.perf_counter() - t0) / k
    print(
        f"P5 Dask LocalCluster, {workers} workers x 1 thread: first batches (compilation on "
        f"each worker) {start:.1f} s; {n_fits} ladders in {workers} batches {batched:.1f} s "
        f"(speed-up over one process building every tree {one / batched:.2f}x); one task "
        f"per table "
        f"{per_table:.2f} s per table (measured on {k}) against {batched / n_fits:.3f} s per "
        f"table batched"
    )


FRESH = """
import json, os, sys, time
t0 = time.perf_counter()
import bayescale as bs
t1 = time.perf_counter()
df = bs.datasets.load("epoch_chinchilla")
df = df.drop(df["loss"].nlargest(5).index)
t2 = time.perf_counter()
post = bs.Model().fit(df, seed=0, method=sys.argv[1])
t3 = time.perf_counter()
d = post.diagnostics(warn=False).attrs
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "fit": t3 - t2, "total": t3 - t0 - (t2 - t1),
                  "phases": post.timing, "ok": d["ok"], "method": d["method"]}))
"""


def p1_fresh() -> None:
    """The Epoch fit in a fresh process, import included, with an empty and a filled cache."""
    import tempfile

    for method in ("auto", "nuts"):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "BAYESCALE_COMPILE_CACHE": cache}
            for label in ("empty cache", "filled cache"):
                out = subprocess.run(
                    [sys.executable, "-c", FRESH, method],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                phases = {k: round(v, 2) for k, v in r["phases"].items()}
                print(
                    f"P1 fresh process, method={method!r}, {label}: {r['total']:.2f} s "
                    f"(import {r['import']:.2f}, fit {r['fit']:.2f}: {phases}); drawn by "
                    f"{r['method']}, diagnostics {'OK' if r['ok'] else 'FAILED'}"
                )


def p6_case(case: str) -> None:
    """One P6 case in this process: a first run (compilation included), then a warm one."""
    if case == "p1":

        def run():
            return bs.Model().fit(epoch(), seed=0)

    elif case == "p3":
        rng = np.random.default_rng(0)
        n_fits = int(os.environ.get("P3_FITS", "1000"))
        ladders = [
            bs.simulate_ladder(seed=i, sizes_per_budget=int(rng.integers(8, 12)))
            for i in range(n_fits)
        ]

        def run():
            return bs.fit_many(bs.Model(), ladders, draws=1000, seed=0, method="auto")

    else:  # "p4:<points>"
        df = curves(int(case.split(":")[1]))
        model = bs.Model(effects={"E": "family"}, run="run", likelihood="normal")

        def run():
            return model.fit(df, chains=4, draws=500, warmup=500, seed=0)

    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    run()
    warm = time.perf_counter() - t0
    print(json.dumps({"first": first, "warm": warm, "backend": jax.default_backend()}))


def p6() -> None:
    """P1, P3 and P4 on the GPU and on the CPU, each in a fresh process of its own platform.

    Each platform runs as a user would run it (``JAX_PLATFORMS=cuda`` or ``cpu``: on the CPU,
    bayescale's host devices; on the GPU, its devices), without the persistent compilation
    cache, so "first" includes compiling.
    """
    try:
        jax.devices("gpu")
    except RuntimeError:
        print("P6 skipped: no GPU (jax.devices('gpu') raised; pip install -e .[gpu])")
        return
    sizes = os.environ.get("P4_SIZES", "1000,3000,10000,30000").split(",")
    for case in ["p1", "p3", *(f"p4:{n}" for n in sizes)]:
        walls = {}
        for platform in ("cuda", "cpu"):
            env = {**os.environ, "JAX_PLATFORMS": platform, "BAYESCALE_COMPILE_CACHE": "0"}
            out = subprocess.run(
                [sys.executable, __file__, "p6case", case],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            walls[platform] = json.loads(out.stdout.strip().splitlines()[-1])
        g, c = walls["cuda"], walls["cpu"]
        print(
            f"P6 {case}: GPU {g['first']:.1f} s first / {g['warm']:.1f} s warm; CPU "
            f"{c['first']:.1f} / {c['warm']:.1f} s; faster warm: "
            f"{'gpu' if g['warm'] < c['warm'] else 'cpu'}",
            flush=True,
        )


def main(argv: list[str]) -> int:
    warnings.simplefilter("ignore")
    todo = [a.lower() for a in argv] or ["p1", "p2", "p3", "p4", "p5"]
    if todo[0] == "p6case":  # one P6 case in a child process (p6 starts them)
        p6_case(argv[1])
        return 0
    if "p1" in todo or "p2" in todo:
        p1_p2()
    if "p1" in todo or "p1fresh" in todo:
        p1_fresh()
    if "p3" in todo:
        p3()
    if "p4" in todo:
        p4()
    if "p5" in todo:
        p5()
    if "p6" in todo:
        p6()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
