"""Simulated ladders of training runs from published law parameters (offline demo and tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bayescale import arguments
from bayescale.laws import add_schedule_areas

#: Hoffmann et al. 2022, Approach 3 (their published point estimates).
HOFFMANN_2022 = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
#: Besiroglu et al. 2024 (Epoch AI) refit of the same data.
BESIROGLU_2024 = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}


def chinchilla_loss(p: Mapping[str, float], n: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``E + A N^-alpha + B D^-beta``.

    Parameters
    ----------
    p : dict
        Natural parameters ``E, A, B, alpha, beta`` (e.g. :data:`HOFFMANN_2022`).
    n, d : float or numpy.ndarray
        Parameters and training tokens (broadcast together).

    Returns
    -------
    float or numpy.ndarray
        The loss.

    Examples
    --------
    Chinchilla itself (70B parameters, 1.4T tokens) under Hoffmann et al.'s estimates:

    >>> from bayescale.simulate import HOFFMANN_2022, chinchilla_loss
    >>> round(float(chinchilla_loss(HOFFMANN_2022, 7e10, 1.4e12)), 3)
    1.937
    >>> chinchilla_loss(HOFFMANN_2022, np.array([1e8, 1e9]), np.array([2e9, 2e10])).round(2)
    array([3.49, 2.58])
    """
    return p["E"] + p["A"] * n ** -p["alpha"] + p["B"] * d ** -p["beta"]


#: Most runs :func:`simulate_ladder` simulates (a ladder, not a memory test).
MAX_SIMULATED_ROWS = 10_000_000


def simulate_ladder(
    params: Mapping[str, float] | None = None,
    budgets: Sequence[float] = (1e18, 3e18, 1e19, 3e19, 1e20),
    sizes_per_budget: int = 7,
    families: int = 1,
    seeds: int = 1,
    family_sd: Mapping[str, float] | None = None,
    seed_sd: float = 0.0,
    noise_sd: float = 0.01,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate an IsoFLOP ladder of Chinchilla-law runs.

    For each budget ``C``, ``sizes_per_budget`` model sizes spaced evenly in log between a
    quarter and four times the compute-optimal size, with ``D = C / (6 N)``. Families differ by
    multiplicative effects on natural parameters (``family_sd``, standard deviations of their
    logs); seeds by a multiplicative effect on ``A`` (``seed_sd``); each run has log-normal noise
    ``noise_sd``.

    Parameters
    ----------
    params : dict, optional
        Natural parameters ``E, A, B, alpha, beta``; default :data:`HOFFMANN_2022`.
    budgets : sequence of float
        Compute budgets in FLOP, each once.
    sizes_per_budget : int
        Runs per budget and family and seed (one: the compute-optimal size alone).
    families, seeds : int
        Number of families and of seeds per family.
    family_sd : dict, optional
        SD of the log of each natural parameter across families, default
        ``{"E": 0.05, "A": 0.2}`` when ``families > 1``.
    seed_sd : float
        SD of the log of ``A`` across the seeds of a family.
    noise_sd : float
        SD of the observation noise on log loss.
    seed : int
        Random seed.

    Returns
    -------
    pandas.DataFrame
        Columns ``params, tokens, flops, loss, family, seed, run``; the true per-family
        parameters are in ``df.attrs["truth"]`` (a family's ``A`` is the centre of its seeds'
        in log), each seed's own, from which its losses were drawn, in
        ``df.attrs["seed_truth"][family][seed]`` (``A`` differs from the family's where
        ``seed_sd > 0``, even with one seed), and the population values in
        ``df.attrs["params"]``.

    Examples
    --------
    The default ladder: 5 budgets from 1e18 to 1e20 FLOP, 7 sizes each, one family:

    >>> ladder = bs.simulate_ladder()
    >>> ladder.shape
    (35, 7)
    >>> ladder.columns.tolist()
    ['params', 'tokens', 'flops', 'loss', 'family', 'seed', 'run']
    >>> ladder.attrs["params"]["alpha"]
    0.34

    Four families whose ``E`` and ``A`` differ, two seeds each:

    >>> groups = bs.simulate_ladder(families=4, seeds=2, seed_sd=0.05, seed=1)
    >>> groups.groupby("family").size().tolist()
    [70, 70, 70, 70]
    >>> sorted(groups.attrs["truth"])
    ['f0', 'f1', 'f2', 'f3']
    >>> seeds = groups.attrs["seed_truth"]["f0"]  # each seed's own A, from which it was drawn
    >>> sorted(seeds), bool(seeds["0"]["A"] != groups.attrs["truth"]["f0"]["A"])
    (['0', '1'], True)
    """
    for name, given in (("params", params), ("family_sd", family_sd)):
        if given is not None and not isinstance(given, Mapping):
            raise TypeError(
                f"{name}={given!r}: give a mapping of the law's parameters, e.g. "
                + str(HOFFMANN_2022 if name == "params" else {"E": 0.05, "A": 0.2})
                + "."
            )
    p = dict(HOFFMANN_2022 if params is None else params)
    missing = sorted(set(HOFFMANN_2022) - set(p))
    if missing:
        raise ValueError(f"params lacks {missing}: give all of {sorted(HOFFMANN_2022)}.")
    budgets = arguments.budgets(
        budgets, "budgets", unique=True, repeat="repeats its runs; replicates are seeds="
    )
    sizes_per_budget = arguments.count(sizes_per_budget, "sizes_per_budget")
    families = arguments.count(families, "families")
    seeds = arguments.count(seeds, "seeds")
    seed_sd = arguments.non_negative(seed_sd, "seed_sd")
    noise_sd = arguments.non_negative(noise_sd, "noise_sd")
    rows = len(budgets) * sizes_per_budget * families * seeds
    if rows > MAX_SIMULATED_ROWS:  # a table of runs, not a memory test
        raise ValueError(
            f"{len(budgets)} budget(s) x sizes_per_budget={sizes_per_budget} x families="
            f"{families} x seeds={seeds} is {rows:.3g} runs (at most {MAX_SIMULATED_ROWS:.0e}): "
            "give fewer."
        )
    extra = sorted(set(p) - set(HOFFMANN_2022))
    if extra:
        raise ValueError(
            f"params names {extra}, not parameters of the law: {sorted(HOFFMANN_2022)}."
        )
    p = {
        k: (arguments.non_negative if k == "E" else arguments.positive)(v, f"params[{k!r}]")
        for k, v in p.items()
    }
    rng = np.random.default_rng(arguments.seed(seed))
    if family_sd is None:
        family_sd = {"E": 0.05, "A": 0.2} if families > 1 else {}
    unknown = sorted(set(family_sd) - set(p))
    if unknown:
        raise ValueError(f"family_sd names {unknown}, not parameters of the law: {sorted(p)}.")
    family_sd = {k: arguments.non_negative(v, f"family_sd[{k!r}]") for k, v in family_sd.items()}
    with np.errstate(over="ignore", divide="ignore"):
        g = np.float64(p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    if not np.isfinite(g) or g <= 0:  # where the optimal sizes would sit
        raise ValueError(
            f"params={p} put the compute-optimal size out of float64's range; give parameters "
            f"of the size of {HOFFMANN_2022}."
        )
    rows, means = [], []
    truth: dict[str, dict[str, float]] = {}
    seed_truth: dict[str, dict[str, dict[str, float]]] = {}
    for f in range(families):
        fam = f"f{f}"
        pf = dict(p)
        for k, sd in family_sd.items():
            with np.errstate(over="ignore"):  # refused below, with its fix
                pf[k] = p[k] * float(np.exp(sd * rng.standard_normal()))
        truth[fam] = pf
        for s in range(seeds):
            ps = dict(pf)
            if seed_sd:
                with np.errstate(over="ignore"):  # refused below, with its fix
                    ps["A"] = pf["A"] * float(np.exp(seed_sd * rng.standard_normal()))
            seed_truth.setdefault(fam, {})[str(s)] = ps
            for c in budgets:
                n_opt = g * (c / 6) ** (p["beta"] / (p["alpha"] + p["beta"]))
                # one size per budget is the optimum itself (geomspace would give its end)
                spread = np.geomspace(0.25, 4.0, sizes_per_budget) if sizes_per_budget > 1 else [1]
                for n in n_opt * np.asarray(spread):
                    d = c / (6 * n)
                    with np.errstate(over="ignore", invalid="ignore"):  # refused below
                        mean = chinchilla_loss(ps, n, d)
                    means.append(mean)
                    with np.errstate(over="ignore"):  # refused below, with its fix
                        loss = mean * np.exp(noise_sd * rng.standard_normal())
                    rows.append((n, d, c, loss, fam, str(s), f"{fam}-s{s}-{n:.3g}-{d:.3g}"))
    df = pd.DataFrame(rows, columns=["params", "tokens", "flops", "loss", "family", "seed", "run"])
    if not np.all(np.isfinite(df["loss"]) & (df["loss"] > 0)):
        # the law's own losses overflow where an effect's sd is huge; else the noise did it
        cause = (
            f"noise_sd={noise_sd:g} (the sd of the log loss; e.g. 0.01)"
            if all(np.isfinite(m) and m > 0 for m in means)
            else "params, family_sd or seed_sd (the sds of the log parameters; e.g. 0.2)"
        )
        raise ValueError(f"The simulated losses overflow (or underflow to 0): check {cause}.")
    repeated = df["run"].duplicated(keep=False)  # sizes within 3 significant digits of another
    if repeated.any():  # every row is its own run: number the runs a label would merge
        df.loc[repeated, "run"] += "-" + df[repeated].groupby("run").cumcount().astype(str)
    df.attrs["truth"] = truth
    df.attrs["seed_truth"] = seed_truth
    df.attrs["params"] = p
    return df


def cosine_schedule(steps: int = 2000, warmup: int = 100, peak: float = 3e-4) -> np.ndarray:
    """Learning rate per step: linear warm-up, then cosine decay to 10 % of the peak.

    Parameters
    ----------
    steps : int
        Number of training steps.
    warmup : int
        Steps of the linear warm-up.
    peak : float
        Learning rate at the end of the warm-up.

    Returns
    -------
    numpy.ndarray
        The learning rate of steps ``1..steps``.

    Examples
    --------
    >>> lr = bs.simulate.cosine_schedule(steps=1000, warmup=100, peak=3e-4)
    >>> lr.shape
    (1000,)
    >>> float(lr.max()), round(float(lr[-1]), 7)
    (0.0003, 3e-05)
    """
    steps = arguments.count(steps, "steps", minimum=2)
    warmup = arguments.count(warmup, "warmup", minimum=0)
    if warmup >= steps:
        raise ValueError(
            f"warmup={warmup} is not below steps={steps}: the schedule would never reach its "
            "peak nor decay; give warmup < steps."
        )
    peak = arguments.positive(peak, "peak")
    s = np.arange(1, steps + 1)
    cos = 0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * (s - warmup) / (steps - warmup)))
    return np.where(s <= warmup, peak * s / max(warmup, 1), peak * cos)


#: Laws with a typical design of their own in :func:`typical_design`, and the links (a design of
#: upstream losses).
LAW_DESIGNS = frozenset(
    {"chinchilla", "kaplan", "farseer", "power", "data_constrained", "bnsl", "m4", "annealing"}
)
LINK_LAWS = frozenset({"exponential_link", "loss_to_loss", "sigmoid_link"})


def typical_design(law: str) -> pd.DataFrame:
    """Return the inputs of a typical experiment for a registered law (no loss column).

    Laws of ``N`` and ``D`` (and Farseer, Kaplan, the power law in ``N``): 8 sizes from 1e7 to
    1e9 at 5 to 80 tokens per parameter. Data-constrained: 5 sizes at 5 to 640 tokens per
    parameter with 5 unique tokens per parameter. BNSL: a 40-point curve in steps. M4: a
    40-point curve in tokens from 1e6 to 1e10. Annealing: a cosine schedule
    (:func:`cosine_schedule`) read every 40 steps. Links: upstream losses from 2.3 to 4.5.
    For simulation-based calibration (:func:`bayescale.calibration.sbc`, after adding a
    placeholder ``loss`` column) and the law tests.

    Parameters
    ----------
    law : str
        Name of a registered law (:func:`bayescale.laws.available`).

    Returns
    -------
    pandas.DataFrame
        The law's input columns, one row per observation.

    Examples
    --------
    >>> design = bs.simulate.typical_design("chinchilla")
    >>> design.shape
    (40, 2)
    >>> bs.simulate.typical_design("annealing").columns.tolist()
    ['step', 'lr_area', 'anneal_area']
    """
    if law in ("chinchilla", "kaplan", "farseer", "power"):
        n = np.repeat(np.geomspace(1e7, 1e9, 8), 5)
        return pd.DataFrame({"params": n, "tokens": n * np.tile([5.0, 10.0, 20.0, 40.0, 80.0], 8)})
    if law == "data_constrained":
        n = np.repeat(np.geomspace(1e7, 1e9, 5), 8)
        d = n * np.tile([5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0], 5)
        return pd.DataFrame({"params": n, "tokens": d, "unique_tokens": 5.0 * n})
    if law == "bnsl":
        return pd.DataFrame({"step": np.geomspace(10, 1e5, 40)})
    if law == "m4":
        return pd.DataFrame({"tokens": np.geomspace(1e6, 1e10, 40)})
    if law == "annealing":
        return add_schedule_areas(
            pd.DataFrame({"step": np.arange(200, 2001, 40)}), cosine_schedule()
        )
    if law in LINK_LAWS:
        return pd.DataFrame({"upstream_loss": np.linspace(2.3, 4.5, 40)})
    raise ValueError(
        f"typical_design: {law!r} has no typical design (a law of your own: lay out its "
        "inputs as you plan to measure them); choose one of "
        f"{sorted(LAW_DESIGNS | LINK_LAWS)}."
    )
