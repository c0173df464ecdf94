"""Credible compute-optimal frontiers: N*(C), D*(C), D*/N*, L*(C) per posterior draw.

For a budget ``C`` and the fit's training cost ``C = k N D`` (:class:`~bayescale.cost.TrainingCost`,
``k = 6`` by default), each posterior draw's compute-optimal allocation minimises that draw's law
along the iso-FLOP curve ``D = C / (k N)``; ``L*(C)`` is the prediction path's loss at the optimum
(:mod:`bayescale.prediction`, extrapolation error included). The Chinchilla law has a closed form
(Hoffmann et al. 2022, Appendix D.2):

    N* = G (C/k)^(beta/(alpha+beta)),  G = (alpha A / (beta B))^(1/(alpha+beta)),  D* = (C/k)/N*.

Any other law, or a cost with serving (Sardana et al. 2024) or a cap on unique tokens
(Muennighoff et al. 2023), is minimised numerically: a log-spaced grid brackets the minimum of
each (draw, budget) and a golden-section search refines it, all as one vectorised JAX
computation (no Python loop over draws).
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from bayescale import arguments
from bayescale.cost import TrainingCost
from bayescale.errors import ExtrapolationWarning, SpecificationError
from bayescale.posterior import ScalingPosterior
from bayescale.prediction import Predictor, keys
from bayescale.sites import RUN

Array = jnp.ndarray
GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


#: The sizes a draw's optimum is searched among: ``log N`` within this many e-folds (3.5
#: decades) of ``log sqrt(C / k)``, the allocation of equal N and D.
SEARCH_EFOLDS = 8.0
#: Muennighoff et al.'s (2023) decay constant of repeated tokens' worth (``r_star``).
R_STAR = 15.4


def golden_minimise(
    f: Callable[[Array], Array],
    lo: Array,
    hi: Array,
    n_grid: int = 48,
    n_iter: int = 48,
) -> Array:
    """Minimise ``f`` over ``[lo, hi]`` elementwise (vectorised over any batch shape).

    ``f`` maps an array of points shaped like ``lo`` (plus trailing grid axes) to values. A
    grid of ``n_grid`` points brackets the minimum, then ``n_iter`` golden-section steps refine
    it inside the two neighbouring cells. Returns the minimiser, shaped like ``lo``.

    Parameters
    ----------
    f : callable
        The objective: points shaped ``lo.shape + (k,)`` to values of that shape (called with
        ``k = n_grid`` and ``k = 1``); non-finite values count as ``+inf``.
    lo, hi : jax.Array
        Bounds of the search, one pair per problem (any batch shape).
    n_grid : int
        Points of the bracketing grid.
    n_iter : int
        Golden-section steps.

    Returns
    -------
    jax.Array
        The minimiser of every problem, shaped like ``lo``.

    Examples
    --------
    Two parabolas minimised at once:

    >>> import jax.numpy as jnp
    >>> from bayescale.frontier import golden_minimise
    >>> centre = jnp.array([1.5, 2.5])
    >>> x = golden_minimise(lambda x: (x - centre[:, None]) ** 2, jnp.zeros(2), jnp.full(2, 4.0))
    >>> [round(float(v), 4) for v in x]
    [1.5, 2.5]
    """
    grid = lo[..., None] + (hi - lo)[..., None] * jnp.linspace(0.0, 1.0, n_grid)
    values = jnp.where(jnp.isfinite(v := f(grid)), v, jnp.inf)
    i = jnp.argmin(values, axis=-1)
    step = (hi - lo) / (n_grid - 1)
    a = jnp.maximum(lo, jnp.take_along_axis(grid, i[..., None], -1)[..., 0] - step)
    b = jnp.minimum(hi, a + 2 * step)

    def body(_: int, ab: tuple[Array, Array]) -> tuple[Array, Array]:
        a, b = ab
        c = b - GOLDEN * (b - a)
        d = a + GOLDEN * (b - a)
        fc = jnp.nan_to_num(f(c[..., None])[..., 0], nan=jnp.inf)
        fd = jnp.nan_to_num(f(d[..., None])[..., 0], nan=jnp.inf)
        left = fc < fd
        return jnp.where(left, a, c), jnp.where(left, d, b)

    a, b = jax.lax.fori_loop(0, n_iter, body, (a, b))
    return 0.5 * (a + b)


def effective_tokens(tokens: Array, unique: float, r_star: float) -> Array:
    """Muennighoff et al. (2023) effective data ``D' = U + U R* (1 - exp(-R / R*))``.

    ``R = D/U - 1`` is the number of repetitions beyond the first epoch (``D' = D`` while
    ``D <= U``).

    Parameters
    ----------
    tokens : jax.Array
        Training tokens ``D``.
    unique : float
        Unique tokens ``U``.
    r_star : float
        Repetition decay constant ``R*`` (15.4 for ``D`` in Muennighoff et al.).

    Returns
    -------
    jax.Array
        Effective tokens ``D'``, shaped like ``tokens``.

    Examples
    --------
    Four epochs of 1B unique tokens count as about 3.7B fresh ones:

    >>> import jax.numpy as jnp
    >>> from bayescale.frontier import effective_tokens
    >>> d_eff = effective_tokens(jnp.array([1e9, 4e9]), unique=1e9, r_star=15.4)
    >>> [round(float(v) / 1e9, 2) for v in d_eff]
    [1.0, 3.73]
    """
    repeats = jnp.maximum(tokens / unique - 1.0, 0.0)
    return jnp.minimum(tokens, unique) + unique * r_star * (1.0 - jnp.exp(-repeats / r_star))


def frontier_draws(
    pred: Predictor,
    compute: np.ndarray,
    key: jax.Array,
    inference_tokens: float = 0.0,
    unique_tokens: float | None = None,
    r_star: float = R_STAR,
    method: str = "auto",
) -> dict[str, jnp.ndarray]:
    """Per-draw compute-optimal ``N*``, ``D*`` and ``L*`` for budgets ``compute``.

    The array layer of :func:`frontier`: arrays shaped ``(chain, draw, compute)``. ``N*`` of a
    draw minimises its loss along the iso-FLOP curve of the predictor's training cost: with an
    extrapolation error of the law's effective inputs (``mode="inputs"``), the law at those
    inputs with its discrepancy, ``pred.location``, so the law's form error beyond the data
    reaches the allocation (one error per budget along its curve, sized by the budget's
    distance past the data's compute range: none inside it); otherwise the law itself (an
    error of the log loss that is the same along the curve does not move it).
    ``method="closed_form"`` takes the law's own optimum. ``L*`` is the prediction path's loss
    at ``(N*, D*)``, ``pred.loss(x, "mean", key)``, as :func:`predict` gives it there: its error
    is sized by the point's own distance, which is the budget's unless ``N*`` or ``D*`` lies
    further past its range than the budget does past the data's compute.

    Parameters
    ----------
    pred : Predictor
        The fit's prediction path at given groups (:meth:`ScalingPosterior.predictor`).
    compute : numpy.ndarray
        Budgets in FLOP.
    key : jax.Array
        Key of the extrapolation error (and of new-group draws' location).
    inference_tokens, unique_tokens, r_star
        The serving and repetition terms of the cost, as in :func:`frontier`.
    method : {"auto", "closed_form", "numerical"}
        As in :func:`frontier`.

    Returns
    -------
    dict
        ``N_opt``, ``D_opt`` and ``loss_opt``, each ``(chain, draw, compute)``.

    Examples
    --------
    >>> import jax
    >>> from bayescale.frontier import frontier_draws
    >>> out = frontier_draws(post.predictor(), np.array([1e19, 1e20]), jax.random.PRNGKey(0))
    >>> {name: v.shape for name, v in out.items()}
    {'N_opt': (2, 1000, 2), 'D_opt': (2, 1000, 2), 'loss_opt': (2, 1000, 2)}
    """
    law = pred.law
    reads_unique = "U" in law.inputs
    k = pred.cost.k
    c = jnp.asarray(compute, dtype=float)
    plain = inference_tokens == 0 and unique_tokens is None
    closed = getattr(law, "compute_optimal", None)
    if method not in ("auto", "closed_form", "numerical"):
        raise ValueError(f"method={method!r}; choose 'auto', 'closed_form' or 'numerical'.")
    if method == "closed_form" and (closed is None or not plain):
        raise ValueError("No closed form for this law or cost model; use method='numerical'.")

    def tokens_for(log_n: jnp.ndarray, cc: jnp.ndarray) -> jnp.ndarray:
        n = jnp.exp(log_n)
        return (cc - 2.0 * n * inference_tokens) / (k * n)

    def inputs(log_n: jnp.ndarray, cc: jnp.ndarray) -> dict[str, jnp.ndarray]:
        """Lay inputs out ``(chain, draw, point=1, compute, ...)`` from per-draw ``log N``."""
        d = tokens_for(log_n, cc)
        n = jnp.exp(log_n)
        if reads_unique:
            x = {"N": n, "D": jnp.where(d > 0, d, jnp.nan), "U": jnp.full_like(n, unique_tokens)}
        else:
            d_eff = d if unique_tokens is None else effective_tokens(d, unique_tokens, r_star)
            x = {"N": n, "D": jnp.where(d_eff > 0, d_eff, jnp.nan)}
        return {name: jnp.expand_dims(v, 2) for name, v in x.items()}

    def budget_of(log_n: jnp.ndarray, cc: jnp.ndarray) -> dict[str, jnp.ndarray]:
        """Where the error of a budget's allocations is sized: the budget (and a token cap).

        One error per budget: each allocation's own distance past the data would let the
        search pick the extreme allocations whose error happens to lower the loss (a winner's
        curse, inside the data too). With serving, the budget counts its serving FLOPs.
        """
        at = {"C": jnp.broadcast_to(cc, log_n.shape)}
        if reads_unique:
            at["U"] = jnp.full(log_n.shape, float(unique_tokens))
        return {name: jnp.expand_dims(v, 2) for name, v in at.items()}

    batch = (*pred.sample_shape, c.size)
    # The law's closed form is each draw's optimum only when nothing but the law shapes the
    # iso-FLOP curve; an extrapolation error (of the law's effective inputs) moves it.
    moves = pred.extrapolation is not None and pred.extrapolation.mode == "inputs"
    use_closed = method == "closed_form" or (method == "auto" and not moves)
    if closed is not None and plain and use_closed:
        theta = {name: v[..., 0:1] for name, v in pred.theta.items()}  # (chain, draw, 1)
        natural = law.to_natural(theta, pred.scale)
        log_n = jnp.broadcast_to(jnp.log(closed(natural, c / k)), batch)
    else:
        grid_c = c[:, None]  # budgets against candidate sizes
        k_loc = jax.random.split(key)[0]  # the key ``pred.loss(x, "mean", key)`` locates with

        def objective(log_n: jnp.ndarray) -> jnp.ndarray:
            if moves:  # the law at its effective inputs, with its discrepancy
                x = inputs(log_n, grid_c)
                return pred.location(x, k_loc, at=budget_of(log_n, grid_c))[:, :, 0]
            return pred.law_location(inputs(log_n, grid_c))[:, :, 0]

        half = jnp.broadcast_to(0.5 * jnp.log(c / k), batch)
        hi = half + SEARCH_EFOLDS
        if inference_tokens:
            hi = jnp.minimum(hi, jnp.log(c / (2.0 * inference_tokens)) - 1e-9)
        log_n = golden_minimise(objective, half - SEARCH_EFOLDS, hi)
    x_opt = inputs(log_n, c)
    loss_opt = pred.loss(x_opt, "mean", key)[:, :, 0]  # what predict gives at (N*, D*)
    return {
        "N_opt": jnp.exp(log_n),
        "D_opt": tokens_for(log_n, c),
        "loss_opt": loss_opt,
    }


def _warn_at_search_edge(ds: xr.Dataset, cost: TrainingCost) -> None:
    """Warn where draws' optima sit at the edge of the sizes searched (no optimum inside)."""
    half = 0.5 * np.log(ds["compute"].values / cost.k)
    log_n = np.log(ds["N_opt"].values)
    edge = np.isclose(log_n, half - SEARCH_EFOLDS, atol=1e-3)
    edge |= np.isclose(log_n, half + SEARCH_EFOLDS, atol=1e-3)
    share = edge.mean(axis=(0, 1))
    if np.any(share > 0):
        i = int(np.argmax(share))
        others = int(np.sum(share > 0)) - 1
        warnings.warn(
            ExtrapolationWarning(
                f"At C={float(ds['compute'].values[i]):.3g} FLOP"
                + (f" (and {others} other budget(s))" if others else "")
                + f", {edge[..., i].sum()} of "
                f"{edge[..., i].size} draws put N* at the edge of the sizes searched "
                f"({SEARCH_EFOLDS / np.log(10):.1f} decades either side of sqrt(C/k)): their law "
                "has no optimum there (its loss keeps falling toward ever larger or smaller "
                "models), so the band's edges at that budget are the search's, not the law's. "
                "Read the band at budgets nearer the data, or check the law's exponents."
            ),
            stacklevel=3,
        )


def _cost(post: ScalingPosterior, flops_per_param_token: float | None) -> TrainingCost:
    """Return the fit's training cost; a different ``k`` is refused (it would disagree)."""
    cost = post.cost
    if flops_per_param_token is not None:
        TrainingCost(flops_per_param_token)  # a k no fit could take is refused as such
    if flops_per_param_token is not None and float(flops_per_param_token) != cost.k:
        raise SpecificationError(
            f"This fit uses the training cost C = {cost.describe()}; flops_per_param_token="
            f"{flops_per_param_token!r} would make its frontier disagree with its own "
            "predictions and extrapolation distances. Refit with "
            f"Model(flops_per_param_token={flops_per_param_token!r})."
        )
    return cost


def refuse_run(post: ScalingPosterior, groups: dict[str, Any], call: str) -> None:
    """Refuse a run label where the optimum or the runs ranked are new runs.

    A label of a per-run offset (:attr:`ScalingPosterior.has_run_offset`) is refused; one of a
    group term on a column named ``run`` picks that group, as any group's label does.

    Parameters
    ----------
    post : ScalingPosterior
        The fit.
    groups : dict
        Group labels by column, as given.
    call : str
        The function, for the message.

    Raises
    ------
    SpecificationError
        When ``groups`` labels a run of the fit's per-run offset (the message names the fit's
        group columns, if any, whose labels pick the run's group).

    Examples
    --------
    >>> from bayescale.frontier import refuse_run
    >>> refuse_run(family_post, {"family": "f1"}, "frontier")  # a group's label: taken
    """
    if RUN not in groups or not post.has_run_offset:
        return
    problem = (
        f"{call}: run={groups[RUN]!r} names a training run, whose own offset {call} leaves out "
        "(it is the optimum of a new run, as the frontier and the decisions are)"
    )
    columns = list(dict.fromkeys(c for t in post.model.terms for c in t.columns))
    python = ", ".join(f"{c}=..." for c in columns)
    shell = " ".join(f"--group {c}=..." for c in columns)
    raise SpecificationError(
        f"{problem}; leave run out"
        + (f", or give the run's group labels ({python}) for its group's." if columns else "."),
        command_line=f"{problem}; drop --group run=..."
        + (f", or give the run's group labels ({shell}) for its group's." if columns else "."),
    )


def frontier(
    post: ScalingPosterior,
    compute: Any,
    flops_per_param_token: float | None = None,
    inference_tokens: float = 0.0,
    unique_tokens: float | None = None,
    r_star: float = R_STAR,
    new_groups: bool = False,
    rng_seed: int = 0,
    method: str = "auto",
    **groups: Any,
) -> xr.Dataset:
    """Compute-optimal allocation for each posterior draw and budget.

    Parameters
    ----------
    post : ScalingPosterior
        A fit of a law of ``N`` and ``D``.
    compute : float or array
        Budgets ``C`` in FLOP.
    flops_per_param_token : float, optional
        ``k`` of the training cost ``k N D``: the fit's own (``Model(flops_per_param_token=)``);
        a different value is an error.
    inference_tokens : float
        Tokens served over the model's life; the budget then also pays ``2 N`` FLOP per
        served token (Sardana et al. 2024): ``C = k N D + 2 N T_inf``.
    unique_tokens : float, optional
        Cap on unique training tokens ``U``; tokens beyond it are repeated epochs and count as
        the effective data of Muennighoff et al. (2023) with decay constant ``r_star`` (their
        fitted ``R*_D`` = 15.4).
    r_star : float
        Repetition decay constant ``R*_D`` (for a law of ``N`` and ``D``; a law of ``U``
        fits its own, and another value is an error).
    new_groups : bool
        Allow group labels unseen in the data (their effects are drawn from the population).
    rng_seed : int
        Seed of new-group effect draws and of the extrapolation error.
    method : {"auto", "closed_form", "numerical"}
        ``"numerical"`` minimises each draw's loss (the law at its effective inputs beyond the
        data, and its discrepancy) along the iso-FLOP curve; ``"closed_form"`` takes the law's
        own optimum (without the extrapolation error's shift of it); ``"auto"`` uses the closed
        form where it gives the same answer: a law that has one, a plain ``k N D`` cost and no
        extrapolation error of the effective inputs.
    **groups
        Group labels (``family="f1"``); omitted terms are treated as a new group (population).

    Returns
    -------
    xarray.Dataset
        Variables ``N_opt``, ``D_opt``, ``tokens_per_param`` and ``loss_opt`` (the predicted
        loss at the optimum: the law with its extrapolation error, no observation noise) with
        dims ``(chain, draw, compute)``: pass them to ``arviz_stats.eti`` / ``hdi`` or take
        quantiles over ``("chain", "draw")``.

    Examples
    --------
    >>> front = bs.frontier(post, compute=[1e19, 1e20])
    >>> front["N_opt"].dims
    ('chain', 'draw', 'compute')
    >>> mid = front.median(("chain", "draw"))
    >>> mid["loss_opt"].round(1).values.tolist()  # L*(C): the loss of the best allocation
    [3.0, 2.6]
    >>> bool(mid["tokens_per_param"][1] > mid["tokens_per_param"][0])  # D*/N* grows with C
    True

    With a cap of 5B unique tokens, extra epochs count for less, and the optimum moves to
    fewer tokens per parameter:

    >>> capped = bs.frontier(post, compute=1e20, unique_tokens=5e9)
    >>> bool(capped["tokens_per_param"].median() < mid["tokens_per_param"][1])
    True

    A group's own frontier (``family_post`` lets ``A`` vary by family):

    >>> bs.frontier(family_post, compute=1e19, family="f1").attrs["groups"]
    "{'family': 'f1'}"
    """
    arguments.fitted(post, "frontier")
    law = post.law
    if set(law.inputs) - {"N", "D", "U"} or not {"N", "D"} <= set(law.inputs):
        problem = (
            f"frontier needs a law of N and D; the {law.name} law reads "
            f"{', '.join(law.inputs)}: predict its loss at the inputs you plan"
        )
        fix = "to place a budget's allocation."
        raise SpecificationError(
            f"{problem} (post.predict), or fit a law of N and D (law='chinchilla') {fix}",
            command_line=f"{problem} (`bayescale predict`), or fit a law of N and D "
            f"(--law chinchilla) {fix}",
        )
    if "U" in law.inputs and unique_tokens is None:
        raise ValueError(
            f"The {law.name} law reads the unique tokens U: pass unique_tokens= (its fitted "
            "R*_D then replaces r_star)."
        )
    refuse_run(post, groups, "frontier")
    c = arguments.budgets(compute, unique=True)
    inference_tokens = arguments.non_negative(inference_tokens, "inference_tokens")
    if unique_tokens is not None:
        unique_tokens = arguments.positive(unique_tokens, "unique_tokens")
    r_star = arguments.positive(r_star, "r_star")
    if "U" in law.inputs and r_star != R_STAR:  # the fit's own R*_D is used
        raise ValueError(
            f"r_star={r_star:g}: the {law.name} law fits its own decay of repeated tokens "
            "(R*_D), which the frontier uses; leave r_star out, or fit a law of N and D to "
            "set it yourself."
        )
    if unique_tokens is None and r_star != R_STAR:
        raise ValueError(
            f"r_star={r_star:g} sets how fast repeated tokens lose their worth, which needs "
            "unique_tokens= (the unique tokens available); without it every token is new and "
            "r_star changes nothing."
        )
    cost = _cost(post, flops_per_param_token)
    post.warn_far_outside({"C": c}, "Budgets reach")
    key_pred, key_draw = keys(rng_seed)
    pred = post.predictor(new_groups=new_groups, rng_seed=key_pred, **groups)
    out = frontier_draws(pred, c, key_draw, inference_tokens, unique_tokens, r_star, method)
    coords = {"chain": post.posterior["chain"].values, "draw": post.posterior["draw"].values}
    coords["compute"] = c
    dims = ("chain", "draw", "compute")
    ds = xr.Dataset({k: (dims, np.asarray(v)) for k, v in out.items()}, coords=coords)
    ds["tokens_per_param"] = ds["D_opt"] / ds["N_opt"]
    _warn_at_search_edge(ds, cost)
    if inference_tokens:
        starved = (ds["D_opt"] <= 0) | ~np.isfinite(ds["loss_opt"]) | (ds["tokens_per_param"] < 1)
        short = c[np.asarray(starved.mean(("chain", "draw")) > 0.5)]
        if short.size:
            raise ValueError(
                f"inference_tokens={inference_tokens:g}: serving them (2 N FLOP a token) leaves "
                f"the budgets {[float(f'{v:.3g}') for v in short]} FLOP too little to train "
                "even one token per parameter at the optimum; raise the budget or lower "
                "inference_tokens (the frontier would be a model starved of data)."
            )
    ds.attrs.update(
        {
            "law": law.name,
            "cost": cost.describe()
            + (f" + 2 N x {inference_tokens:g}" if inference_tokens else ""),
            "unique_tokens": unique_tokens if unique_tokens is not None else "none",
            "groups": (
                str(groups)
                if groups
                else ("population (a new group)" if post.model.effects else "all data")
            ),
        }
    )
    return ds


def whose(front: xr.Dataset) -> str:
    """Say whose frontier ``front`` is, from the ``groups`` attribute :func:`frontier` writes.

    Parameters
    ----------
    front : xarray.Dataset
        A result of :func:`frontier`.

    Returns
    -------
    str
        ``""`` for a fit without groups, ``"a new group (population)"``, or the labels given
        (``"family = f1"``).

    Examples
    --------
    >>> from bayescale.frontier import whose
    >>> whose(bs.frontier(family_post, compute=1e19, family="f1"))
    'family = f1'
    """
    groups = str(front.attrs.get("groups", ""))
    named = {"all data": "", "population (a new group)": "a new group (population)"}
    if groups in named:
        return named[groups]
    try:  # the labels given, written as a dict's text: "{'family': 'f1'}"
        labels = ast.literal_eval(groups)
    except (ValueError, SyntaxError):
        return groups
    if not isinstance(labels, dict):
        return groups
    return ", ".join(f"{k} = {v}" for k, v in labels.items())


__all__ = [
    "SEARCH_EFOLDS",
    "effective_tokens",
    "frontier",
    "frontier_draws",
    "golden_minimise",
    "refuse_run",
    "whose",
]
