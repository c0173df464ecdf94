"""Fan a list of fits out over a Dask cluster and gather the posteriors.

The scheduling is Dask's (``client.map`` / ``client.gather``); each task fits one table with
:meth:`Model.fit` on a worker and sends back the posterior's ArviZ DataTree, from which the
client rebuilds a :class:`~bayescale.posterior.ScalingPosterior`. Use it when the fits do not
share a design (different groups, laws or models) or do not fit on one machine; for many
tables of one design on one machine, :func:`bayescale.fit_many` is faster.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from bayescale.diagnostics import (
    diagnose,
    efficiency_message,
    failure_message,
    prior_bound_message,
)
from bayescale.errors import DataWarning
from bayescale.fit import _prepare_tables
from bayescale.fit import fit_many as fit_batch
from bayescale.inference import NutsSettings
from bayescale.model import Model
from bayescale.posterior import ATTR_SETTINGS, ScalingPosterior

if TYPE_CHECKING:  # an optional dependency (the ``dask`` extra)
    from distributed import Client


def _fit_task(spec: dict, law: Any, table: pd.DataFrame, fit_kwargs: dict):
    """Run on a worker: fit one table and return its DataTree (picklable)."""
    model = Model.from_spec(spec, law=law)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        post = model.fit(table, **fit_kwargs)
    post.tree.attrs["bayescale_warnings"] = "\n".join(str(w.message) for w in caught)
    return post.tree


def _fit_batch_task(spec: dict, law: Any, tables: list[pd.DataFrame], fit_kwargs: dict):
    """Run on a worker: fit a batch of tables as one vectorised fit; return their DataTrees."""
    model = Model.from_spec(spec, law=law)
    # Model.fit's draws (fit_many's own defaults are a simulation study's); no progress bar
    kwargs = {"chains": 4, "draws": 1000, **fit_kwargs}
    kwargs.pop("progress_bar", None)
    if kwargs.get("method") != "psis" or kwargs.get("refit_failed"):  # NUTS runs: its warm-up
        kwargs.setdefault("warmup", NutsSettings.warmup)  # Model.fit's, not fit_many's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        posts = fit_batch(model, tables, **kwargs)
    shared = [str(w.message) for w in caught]
    trees = []
    for post in posts:
        check = diagnose(post, warn=False)
        note = failure_message(check) if not check.attrs["ok"] else efficiency_message(check)
        own = [n for n in (note, prior_bound_message(check)) if n is not None]
        post.tree.attrs["bayescale_warnings"] = "\n".join(shared + own)
        trees.append(post.tree)
    return trees


def fit_many(
    client: Client,
    models: Model | Sequence[Model],
    tables: Sequence[pd.DataFrame],
    batch_size: int | None = None,
    **fit_kwargs: Any,
) -> list[ScalingPosterior]:
    """Fit every table on a Dask cluster; return the posteriors in the tables' order.

    Parameters
    ----------
    client : distributed.Client
        A connected Dask client. Workers must run one task at a time per process
        (``threads_per_worker=1``): NumPyro's effect-handler stack is global to a process, so
        two fits in threads of one worker would trace into each other. On one machine:
        ``Client(LocalCluster(n_workers=k, threads_per_worker=1))``.
    models : Model or sequence of Model
        One model for every table, or one per table.
    tables : sequence of pandas.DataFrame
        The tables.
    batch_size : int, optional
        Tables per task, fitted on the worker as one vectorised fit
        (:func:`bayescale.fit_many`, which every batch's tables must suit: one model, one
        structure; with :meth:`Model.fit`'s chains and draws unless given). ``None``: one
        task per table, fitted by :meth:`Model.fit`. Batches pay a
        task's overhead (scheduling, the model's compilation on a fresh worker, sending the
        trees back) once per batch instead of once per table.
    **fit_kwargs
        Passed to :meth:`Model.fit` (or :func:`bayescale.fit_many`) on the workers
        (``chains``, ``draws``, ``seed``, ``method``...).

    Returns
    -------
    list of ScalingPosterior
        Warnings raised on a worker (failed diagnostics) are kept in
        ``post.tree.attrs["bayescale_warnings"]``.

    Examples
    --------
    On a cluster of worker processes (each worker starts JAX and compiles the model once):

    >>> from distributed import Client, LocalCluster
    >>> from bayescale.distributed import fit_many
    >>> tables = [bs.simulate_ladder(seed=s) for s in (1, 2)]
    >>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))  # doctest: +SKIP
    >>> posts = fit_many(client, bs.Model(), tables, seed=0)  # doctest: +SKIP

    The same on one worker inside this process, importance-sampled (a couple of seconds):

    >>> with (
    ...     LocalCluster(
    ...         n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ...     ) as cluster,
    ...     Client(cluster) as client,
    ... ):
    ...     posts = fit_many(client, bs.Model(extrapolation="none"), tables, method="psis")
    >>> [type(p).__name__ for p in posts], [p.settings["method"] for p in posts]
    (['ScalingPosterior', 'ScalingPosterior'], ['psis', 'psis'])
    >>> posts[0].tree.attrs["bayescale_warnings"]  # none: both passed their diagnostics
    ''
    """
    if not callable(getattr(client, "submit", None)) or not callable(
        getattr(client, "nthreads", None)
    ):
        raise TypeError(
            f"fit_many's first argument is a connected distributed.Client, got a "
            f"{type(client).__name__}; for fits in this process use bs.fit_many(model, tables)."
        )
    one = isinstance(models, Model)
    if not one and (
        isinstance(models, str)
        or not isinstance(models, Sequence)
        or not all(isinstance(m, Model) for m in models)
    ):
        raise TypeError(
            f"models must be a bs.Model or a list of them (one per table), got "
            f"{type(models).__name__}; e.g. fit_many(client, bs.Model(), tables)."
        )
    if batch_size is None:  # options of batched fits, which a task per table would refuse
        batched = sorted(set(fit_kwargs) & {"refit_failed", "refit_target_accept", "warn"})
        if batched:
            raise ValueError(
                f"{', '.join(f'{k}=' for k in batched)}: options of batched fits; pass "
                "batch_size= too (or leave them out: each task is fitted and checked alone)."
            )
    # every table checked here, named by position, before any work goes to the workers (its
    # warnings are the workers', kept with each fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        _prepare_tables(models if one else list(models), tables, "fit_many")
    tables = list(tables)
    threaded = {w: n for w, n in client.nthreads().items() if n > 1}
    if threaded:
        raise ValueError(
            f"Workers {sorted(threaded)} run {max(threaded.values())} threads: NumPyro's handler "
            "stack is per process, so use threads_per_worker=1 (more workers instead)."
        )
    if isinstance(models, Model):
        models = [models] * len(tables)
    if len(models) != len(tables):
        raise ValueError(f"{len(models)} models for {len(tables)} tables.")
    laws = [m.law if m.spec()["law"]["name"] == "custom" else None for m in models]
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} must be a whole number >= 1 (or None).")
        pairs = zip(models, laws, strict=True)
        if any(m.spec() != models[0].spec() or law is not laws[0] for m, law in pairs):
            raise ValueError(
                "batch_size needs one model for every table (a batch is one vectorised fit); "
                "pass a single Model, or batch_size=None for one task per table."
            )
        chunks = [list(tables[i : i + batch_size]) for i in range(0, len(tables), batch_size)]
        spec = models[0].spec()
        batches = [
            client.submit(_fit_batch_task, spec, laws[0], c, dict(fit_kwargs), pure=False)
            for c in chunks
        ]
        trees = [tree for batch in client.gather(batches) for tree in batch]
        return [ScalingPosterior.from_tree(tree, models[0]) for tree in trees]  # no retry
    futures = [
        client.submit(_fit_task, m.spec(), law, t, dict(fit_kwargs), pure=False)
        for m, law, t in zip(models, laws, tables, strict=True)
    ]
    trees = client.gather(futures)
    return [_rebuilt(tree, m, t) for tree, m, t in zip(trees, models, tables, strict=True)]


def _rebuilt(tree: Any, model: Model, table: pd.DataFrame) -> ScalingPosterior:
    """Rebuild a worker's fit with the model it was drawn under (its retry may change it)."""
    settings = json.loads(tree.attrs.get(ATTR_SETTINGS, "{}"))
    return ScalingPosterior.from_tree(tree, model.drawn_as(table, settings))


__all__ = ["fit_many"]
