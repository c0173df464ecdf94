"""The ladder's own extrapolation record, and the extrapolation error learned from it.

A fit can say how far its extrapolations can be trusted only by trying: leave-future-out inside
its own training data. Along the axis the user extrapolates (compute by default; the tokens of
each run for checkpoint curves; a one-input law's input), the table is cut a few times; below
each cut the model (without any extrapolation error) is refitted (importance-sampled from its
Laplace approximation, NUTS where the weights fail their check), and its predictive
distribution of the rows above the cut is compared with what they show. Those residuals against
their distance past the cut are the ladder's *record*.

The record is then turned into the scales ``(sigma_o, sigma_g)`` of the extrapolation error
(:mod:`bayescale.extrapolation`, an error in the law's effective inputs): each cut's residuals
``r`` (log loss) are modelled as ``N(0, C + sum_k J_k (sigma_o^2 phi phi' + sigma_g^2 g g') J_k)``
with ``C`` the refit's own predictive covariance of those rows, ``J_k`` the refit's sensitivity
``d log L / d x_k`` to each input it reads (diagonal), ``phi = 1 - exp(-d / ell)`` and
``g = sqrt(d)`` at their distances ``d``: one coherent error per cut and input, exactly the term
a prediction carries. Each row's noise there is a normal with the refit's interquartile range,
under the default Student-t likelihood too (:func:`cut_loglik` can read it as that Student-t;
the backtests did not adopt it: docs/calibration.md). The likelihood is
evaluated on a grid of log scales and combined with a prior fitted across public ladders
(:class:`ScalePrior`, shipped in :data:`PRIOR_FILE`; ``benchmarks/extrapolation_prior.py``
refits it), and every posterior draw of the fit gets its own pair of scales drawn from that
grid posterior. A ladder with too few rows for a cut keeps the prior.
"""

from __future__ import annotations

import collections
import functools
import json
import os
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
import scipy.optimize
import scipy.special
import scipy.stats
from scipy.special import logsumexp

from bayescale import arguments
from bayescale.data import ScalingData
from bayescale.diagnostics import KHAT_MAX
from bayescale.errors import DataError, SpecificationError, with_prefix
from bayescale.extrapolation import (
    PERTURBED,
    ExtrapolationError,
    growth_shape,
    input_mixing,
    offset_shape,
)
from bayescale.inference import NutsSettings, sample_importance, sample_nuts
from bayescale.inference.problem import Fittable
from bayescale.posterior import RECORD_COLUMNS
from bayescale.prediction import Assignment, loss_draws, sensitivity_draws

#: The prior of the scales fitted across public ladders (package data).
PRIOR_FILE = Path(__file__).with_name("extrapolation_prior.json")
#: Kinds of prior: of an error of the log loss, or of the law's effective inputs.
KINDS = ("loss", "inputs")
#: Environment variable naming another prior file (leave-one-dataset-out backtests).
PRIOR_ENV = "BAYESCALE_EXTRAPOLATION_PRIOR"
#: Grid of log scales (natural log of sigma_o and of sigma_g) the record is evaluated on.
LOG_SCALE_GRID = np.linspace(np.log(1e-4), np.log(0.5), 49)
#: Future fractions of the rows held out by the cuts of a record.
CUT_FRACTIONS = (0.2, 0.35, 0.5)
#: Most future rows of a cut used in its likelihood (evenly spread over their distances).
MAX_RECORD_ROWS = 40
#: Draws of each refit's predictive distribution (at least; see :data:`REFIT_IMPORTANCE_DRAWS`),
#: and the warmup of a refit by NUTS.
RECORD_DRAWS = 400
#: Importance-sampled draws of each refit (the final round proposes twice as many).
REFIT_IMPORTANCE_DRAWS = 1000
#: Fewest effective importance draws a refit needs, else NUTS refits it. Lower than a fit's 400:
#: the record reads its refits' predictive spread and centre, not their tail quantiles, and on
#: ladders of 30-60 rows the importance ESS of 2000 proposals is 150-300.
REFIT_ESS_MIN = 100
#: Version of the record (2: the error of the law's effective inputs; 4: refits importance-sampled
#: as a fit by ``method="auto"``, not Laplace approximations, and tokens per parameter an axis
#: of the distance; 5: refits under Chinchilla's allocation prior; 6: one checkpoint per run of a
#: training curve in a cut's likelihood; 8: recomputed by the code of 2026-12-06, under which four
#: benchmark curves' records had moved by up to 1.7 nats from version 6's cache); caches of
#: records are keyed by it.
RECORD_VERSION = 8


@dataclass(frozen=True)
class ScalePrior:
    """A bivariate normal prior on ``(log sigma_o, log sigma_g)``.

    Attributes
    ----------
    mean : tuple of float
        Means of the log scales.
    cov : tuple of tuple of float
        Their covariance.
    fitted_on : tuple of str
        The ladders it was fitted on (empty for the weakly informative default).
    kind : {"loss", "inputs"}
        The error whose scales it describes: of the log loss, or of the law's effective inputs
        (decades).
    """

    mean: tuple[float, float] = (float(np.log(0.01)), float(np.log(0.01)))
    cov: tuple[tuple[float, float], tuple[float, float]] = ((2.25, 0.0), (0.0, 2.25))
    fitted_on: tuple[str, ...] = ()
    kind: str = "loss"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r}; choose one of {list(KINDS)}.")
        problem = (
            "A ScalePrior needs two finite means and a symmetric positive-definite 2x2 "
            f"covariance of the log scales; got mean={self.mean!r}, cov={self.cov!r}."
        )
        try:  # numbers only (not text, nor True for 1), kept as tuples: a frozen prior hashes
            numbers = [np.asarray(v) for v in (self.mean, self.cov)]
            if any(v.dtype.kind not in "iuf" for v in numbers):
                raise TypeError
            mean, cov = (np.asarray(v, float) for v in numbers)
        except (TypeError, ValueError):
            raise ValueError(problem) from None
        if (
            mean.shape != (2,)
            or cov.shape != (2, 2)
            or not np.all(np.isfinite(mean))
            or not np.all(np.isfinite(cov))
            or not np.allclose(cov, cov.T)
            or np.any(np.linalg.eigvalsh(cov) <= 0)
        ):
            raise ValueError(problem)
        if not isinstance(self.fitted_on, str):  # a generator is read once, here
            object.__setattr__(self, "fitted_on", tuple(self.fitted_on))
        if isinstance(self.fitted_on, str) or not all(isinstance(n, str) for n in self.fitted_on):
            raise TypeError(
                f"fitted_on={self.fitted_on!r}: give the ladders' names as a list of text, "
                "e.g. fitted_on=('epoch', 'gadre')."
            )
        cov = (cov + cov.T) / 2  # symmetric as stored, not only within allclose's tolerance
        object.__setattr__(self, "mean", (float(mean[0]), float(mean[1])))
        object.__setattr__(self, "cov", tuple(tuple(float(v) for v in row) for row in cov))
        object.__setattr__(self, "fitted_on", tuple(self.fitted_on))

    @classmethod
    def load(cls, path: str | Path | None = None, kind: str = "loss") -> ScalePrior:
        """Read a prior written by :meth:`save`.

        ``path`` defaults to ``$BAYESCALE_EXTRAPOLATION_PRIOR`` when set, else the shipped
        :data:`PRIOR_FILE`. A file without a prior of ``kind`` gives the weakly informative
        default (with a warning where the file was named). ``kind`` is the error's: ``"loss"``
        (log loss) or ``"inputs"`` (decades of the law's effective inputs).

        Raises
        ------
        FileNotFoundError
            When ``path`` or the variable names no file (a typo would fit under the weak
            default prior, not the one meant).
        SpecificationError
            When the file named is not a prior file (not JSON, or a malformed prior).
        """
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r}; choose one of {list(KINDS)}.")
        named = str(path) if path is not None else os.environ.get(PRIOR_ENV) or None
        where = "path=" if path is not None else f"${PRIOR_ENV}"
        path = Path(named).expanduser() if named else Path(PRIOR_FILE)
        if not path.is_file():
            if named is None:  # the shipped file, absent from a partial install
                return cls(kind=kind)
            raise FileNotFoundError(
                f"{where} names {named!r}, which is not a file: give the path of a prior written "
                "by ScalePrior.save or `bayescale pool-prior`"
                + ("." if where == "path=" else f", or unset {PRIOR_ENV} for the shipped prior.")
            )
        try:
            priors = _read_prior(str(path), path.stat().st_mtime_ns)
        except (ValueError, KeyError, TypeError) as e:
            raise SpecificationError(
                f"{where} names {str(path)!r}, which is not a prior file ({type(e).__name__}: "
                f"{e}): give a file written by ScalePrior.save or `bayescale pool-prior`."
            ) from None
        if kind not in priors:
            if named is not None:
                warnings.warn(
                    f"{where} names {str(path)!r}, which holds no prior of the kind {kind!r} "
                    f"(it holds {sorted(priors) or 'none'}): this fit's extrapolation error "
                    "takes the weakly informative default prior.",
                    UserWarning,
                    stacklevel=2,
                )
            return cls(kind=kind)
        return priors[kind]

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        return {
            "mean": list(self.mean),
            "cov": [list(r) for r in self.cov],
            "fitted_on": list(self.fitted_on),
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScalePrior:
        """Rebuild a prior from :meth:`to_dict` (``kind`` defaults to ``"loss"``)."""
        return cls(
            tuple(float(v) for v in d["mean"]),
            tuple(tuple(float(v) for v in r) for r in d["cov"]),
            tuple(d.get("fitted_on", ())),
            d.get("kind", "loss"),
        )

    @classmethod
    def read(cls, path: str | Path) -> dict[str, ScalePrior]:
        """Return the priors a file :meth:`save` wrote holds, by kind (empty when none).

        Raises ``ValueError`` (or ``KeyError``/``TypeError`` for a malformed prior) when the
        file is not such a JSON object.
        """
        d = json.loads(Path(path).read_text(encoding="utf-8-sig"))  # a BOM, if saved with one
        if not isinstance(d, dict):
            raise TypeError(f"a JSON {type(d).__name__}, not an object")
        out = {}
        if "mean" in d:  # the top level: a prior of the log loss, or of the kind it names
            out[d.get("kind", "loss")] = cls.from_dict(d)
        if "inputs" in d:
            out["inputs"] = cls.from_dict({**d["inputs"], "kind": "inputs"})
        return out

    def save(self, path: str | Path, inputs: ScalePrior | None = None, **notes: Any) -> Path:
        """Write the prior as JSON (with ``inputs``, a prior of the log loss and one of inputs).

        :meth:`load` and ``Model(extrapolation_prior=path)`` read the file back.

        Parameters
        ----------
        path : str or Path
            The file to write (the shipped prior, :data:`PRIOR_FILE`, is rewritten only where
            named: ``benchmarks/extrapolation_prior.py`` does).
        inputs : ScalePrior, optional
            A prior of the effective inputs to store beside this prior of the log loss.
        **notes
            JSON-serialisable notes stored with it (what it was fitted on, when).

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        TypeError
            When ``inputs`` is not a :class:`ScalePrior` or a note is not JSON-serialisable
            (NaN and infinities are not JSON).
        ValueError
            When ``path`` is a folder, ``inputs`` is not a prior of the inputs beside this one
            of the log loss, or a note is named as one of the prior's own fields.
        OSError
            When the file cannot be written (its folder missing or not writable).
        """
        path = arguments.not_a_folder(path, "extrapolation_prior.json")
        if inputs is not None and not isinstance(inputs, ScalePrior):
            raise TypeError(f"inputs must be a ScalePrior, got {type(inputs).__name__}.")
        if inputs is not None and (self.kind, inputs.kind) != ("loss", "inputs"):
            raise ValueError(
                "save(inputs=...) writes a prior of the log loss with one of the effective "
                f"inputs; got kinds {self.kind!r} and {inputs.kind!r}."
            )
        d = self.to_dict()
        clash = sorted(set(notes) & (set(d) | {"inputs"}))
        if clash:  # a note of that name would overwrite the prior it is stored with
            raise ValueError(
                f"save: the note(s) {clash} would overwrite the prior's own fields "
                f"{sorted(set(d) | {'inputs'})}: give them other names."
            )
        if inputs is not None:
            d["inputs"] = inputs.to_dict()
        d.update(notes)
        try:  # strict JSON: NaN or inf in a note is written as no JSON reader reads it
            text = json.dumps(d, indent=2, allow_nan=False) + "\n"
        except (TypeError, ValueError) as e:
            raise TypeError(f"save: the notes must be JSON-serialisable ({e}).") from None
        try:
            path.write_text(text)
        except OSError as e:  # a folder missing on the way, or one not writable
            raise type(e)(
                e.errno,
                f"Cannot write the prior to {str(path)!r} ({e.strerror}): give a path in a "
                "folder you can write to",
            ) from None
        return path

    def log_density(self, grid: np.ndarray = LOG_SCALE_GRID) -> np.ndarray:
        """Return the log density (up to a constant) on the grid of log scales."""
        a, b = np.meshgrid(grid, grid, indexing="ij")
        diff = np.stack([a - self.mean[0], b - self.mean[1]], axis=-1)
        prec = np.linalg.inv(np.asarray(self.cov, float))
        return -0.5 * np.einsum("...i,ij,...j->...", diff, prec, diff)


@functools.lru_cache(maxsize=8)
def _read_prior(path: str, mtime_ns: int) -> dict[str, ScalePrior]:
    """Read a prior file once per version (every fit asks for it)."""
    return ScalePrior.read(path)


@dataclass
class Record:
    """A ladder's leave-future-out record.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per held-out row of each cut: ``cut``, ``row`` (index in the table), ``axis``
        (its position on the record's axis), ``distance`` (decades past the cut's data),
        ``loss``, the refit's predictive ``median``, ``lower`` and ``upper`` (central 90 %,
        without an extrapolation error), ``log_sd`` (its spread in log loss) and ``in_likelihood``.
    loglik : numpy.ndarray
        Log likelihood of the record on the grid of log scales (summed over cuts).
    axis : str
        The axis the table was cut along.
    """

    table: pd.DataFrame
    loglik: np.ndarray = field(default_factory=lambda: np.zeros((LOG_SCALE_GRID.size,) * 2))
    axis: str = "compute"

    @property
    def cuts(self) -> int:
        """Number of cuts that yielded held-out rows."""
        return int(self.table["cut"].nunique()) if len(self.table) else 0


def error_kind(model: Any, data: ScalingData) -> str:
    """Return the kind of a learned error (:data:`KINDS`) of ``model`` on this table.

    A ladder extrapolated in compute errs in the law's effective inputs (``"inputs"``); curves
    and one-input laws in the log loss (``"loss"``).
    """
    return "inputs" if record_axis(model, data) == "compute" else "loss"


def record_axis(model: Any, data: ScalingData) -> str:
    """Return a record's axis: a run's tokens for checkpoint curves, else compute, else x."""
    inputs = model.law.inputs
    if data.run is not None and "D" in inputs:
        return "run_tokens"
    if model.law.reads_compute:
        return "compute"
    return inputs[0]


#: Fewest rows a record's refit needs below a cut: twice the model's parameters, and at least
#: this many.
MIN_ROWS_BELOW = 8
#: Fewest rows a cut must hold out for its residuals to count.
MIN_ROWS_ABOVE = 3


def rows_below(model: Any) -> int:
    """Return the rows a record's refit of ``model`` needs below a cut.

    Twice the model's parameters, and at least :data:`MIN_ROWS_BELOW`.

    Examples
    --------
    >>> from bayescale.record import rows_below
    >>> rows_below(bs.Model())  # 7 parameters
    14
    """
    return max(2 * model.n_parameters(), MIN_ROWS_BELOW)


def _require_prepared(model: Any, data: Any, call: str, rest: str = "") -> None:
    """Refuse a model that is not one, or a table not validated by ``model.prepare``.

    Duck-typed: this module sits below :mod:`bayescale.model`, which imports it. ``rest`` is
    the call's other arguments, for the example.
    """
    example = f"{call}(model, model.prepare(runs){rest})"
    if not callable(getattr(model, "n_parameters", None)) or not hasattr(model, "law"):
        raise TypeError(
            f"{call} takes a bs.Model first, got a {type(model).__name__}; e.g. {example} "
            "with model = bs.Model()."
        )
    if not isinstance(data, ScalingData):
        raise TypeError(
            f"{call} takes the table as model.prepare(df) returns it, got a "
            f"{type(data).__name__}; e.g. {example}."
        )


def _checked_fractions(fractions: Any) -> tuple[float, ...]:
    """Return the shares a record's cuts hold out, each in (0, 1), at least one."""
    if isinstance(fractions, str) or not isinstance(fractions, Sequence | np.ndarray):
        raise TypeError(
            f"fractions={fractions!r}: give the shares of rows the cuts hold out as a list, "
            f"e.g. fractions={CUT_FRACTIONS}."
        )
    out = tuple(arguments.probability(f, f"fractions[{i}]") for i, f in enumerate(fractions))
    if not out:
        raise ValueError(
            f"fractions is empty: give at least one share of rows to hold out, e.g. "
            f"{CUT_FRACTIONS}."
        )
    return out


def _checked_axis(model: Any, data: ScalingData, axis: str) -> str:
    """Return ``axis`` where it is one a record can be cut along."""
    axes = ["compute", *(["run_tokens"] if data.run is not None else []), *model.law.inputs]
    computed = "C" in data.x or {"N", "D"} <= set(data.x)
    if axis not in axes or (axis == "compute" and not computed):
        raise ValueError(f"axis={axis!r}: choose one of {list(dict.fromkeys(axes))}.")
    return axis


def cuts(
    model: Any, data: ScalingData, axis: str, fractions: Sequence[float] = CUT_FRACTIONS
) -> list[tuple[float, np.ndarray]]:
    """Return the record's cuts: ``(fraction held out, training mask)`` for every fraction.

    A fraction is kept when it leaves enough rows on both sides: at least twice the model's
    parameters (and 8) below the cut, three above. Rows at one position (the runs of one
    budget of an isoFLOP ladder) stay on one side, and every cut holds out different rows: where
    a fraction's cut would repeat an earlier one (a ladder of a few budgets), it moves down to
    the next position, so that a five-budget ladder is cut below its top one, two and three
    budgets rather than twice below its top one.
    """
    _require_prepared(model, data, "cuts", ', "compute"')
    axis = _checked_axis(model, data, axis)
    fractions = _checked_fractions(fractions)
    if axis == "run_tokens":
        d = np.log(data.x["D"])
        rank = pd.Series(d).groupby(data.run.codes).rank(pct=True, method="first").to_numpy()
        position = rank
    elif axis == "compute":
        position = np.log(data.x["C"]) if "C" in data.x else np.log(data.x["N"] * data.x["D"])
    else:
        position = np.asarray(data.x[axis], float)
    # one budget's runs share a position (log(N D) of C / (6 N) x N differs in the last bits)
    position = np.round(position, 9)
    levels = np.unique(position)
    out: list[tuple[float, np.ndarray]] = []
    need = rows_below(model)
    for f in fractions:
        if axis == "run_tokens":
            train = position <= 1 - f
        else:
            train = position <= np.quantile(position, 1 - f)
        share = float(f)
        while any(np.array_equal(train, seen) for _, seen in out) and train.any():
            lower = levels[levels < position[train].max()]
            train = position <= lower.max() if lower.size else np.zeros_like(train)
            share = float((~train).mean())  # a moved cut is named by what it holds out
        if train.sum() >= need and (~train).sum() >= MIN_ROWS_ABOVE:
            out.append((share, train))
    return out


def too_short(model: Any, data: ScalingData) -> str | None:
    """Say why a table has no record: no cut leaves enough rows on both sides (else ``None``).

    Parameters
    ----------
    model : Model
        The model whose record it would be (its parameters set how many rows a refit needs).
    data : ScalingData
        The table, validated by ``model.prepare``.

    Returns
    -------
    str or None
        The rows a cut needs and where the table falls short; ``None`` when it has a cut.

    Examples
    --------
    >>> from bayescale.record import too_short
    >>> model = bs.Model()
    >>> print(too_short(model, model.prepare(runs)))  # five budgets: cut below the top three
    None
    >>> print(too_short(model, model.prepare(runs[runs["flops"] < 5e18])))
    no cut along compute of its 14 rows leaves 14 below it (twice the model's 7 parameters, at
    least 8) and 3 above
    """
    _require_prepared(model, data, "too_short")
    axis = record_axis(model, data)
    if cuts(model, data, axis):
        return None
    along = {"run_tokens": "each run's tokens", "compute": "compute"}.get(axis, axis)
    return (
        f"no cut along {along} of its {data.n} rows leaves {rows_below(model)} below it (twice "
        f"the model's {model.n_parameters()} parameters, at least {MIN_ROWS_BELOW}) and "
        f"{MIN_ROWS_ABOVE} above"
    )


def _assignment(data: ScalingData, test: np.ndarray, fitted: ScalingData) -> Assignment:
    """Group levels and runs of ``data``'s ``test`` rows in terms of a refit's levels."""

    def codes(full, part) -> tuple[np.ndarray, int]:
        labels = np.asarray(full.labels, dtype=object)[full.codes[test]]
        index = {lab: i for i, lab in enumerate(part.labels)}
        new: dict[str, int] = {}
        out = np.array(
            [
                index[lab] if lab in index else part.size + new.setdefault(lab, len(new))
                for lab in labels
            ]
        )
        return out, len(new)

    levels, new_levels = {}, {}
    for t, g in data.groups.items():
        levels[t], new_levels[t] = codes(g, fitted.groups[t])
    run, new_runs = (None, 0) if data.run is None else codes(data.run, fitted.run)
    return Assignment(levels, new_levels, run, new_runs)


def ladder_record(
    model: Fittable,
    data: ScalingData,
    axis: str | None = None,
    fractions: Sequence[float] = CUT_FRACTIONS,
    draws: int = RECORD_DRAWS,
    seed: int = 0,
    inputs: bool = False,
) -> Record:
    """Return the leave-future-out record of ``data`` under ``model`` (whose extrapolation is off).

    Each cut is refitted much as ``method="auto"`` fits (all cuts as one batch when they share
    a structure): importance sampling from its Laplace approximation, a short NUTS run where the
    weights fail their check (:func:`_refit`).
    ``inputs``: the likelihood is that of an error of the law's effective inputs (through each
    refit's sensitivities), else of an error of the log loss.

    Records are kept for the process (the last :data:`RECORDS_KEPT`), by model, table and
    settings: a fit of a table :func:`pooled_prior` has just read does not refit its cuts.
    """
    _require_prepared(model, data, "ladder_record")
    axis = record_axis(model, data) if axis is None else _checked_axis(model, data, axis)
    fractions = _checked_fractions(fractions)
    draws, seed = arguments.count(draws, "draws", minimum=10), arguments.seed(seed)
    inputs = arguments.flag(inputs, "inputs")
    key = (model, data.fingerprint(), axis, fractions, draws, seed, inputs)
    with _RECORDS_LOCK:  # fits on threads (Dask) share the cache
        found = _RECORDS.get(key)
        if found is not None:
            _RECORDS.move_to_end(key)
    if found is None:
        found = _compute_record(model, data, axis, fractions, draws, seed, inputs)
        with _RECORDS_LOCK:
            _RECORDS[key] = found
            while len(_RECORDS) > RECORDS_KEPT:
                _RECORDS.popitem(last=False)
    return Record(found.table.copy(), found.loglik.copy(), found.axis)


#: Records kept for the process by :func:`ladder_record`.
RECORDS_KEPT = 256
_RECORDS: collections.OrderedDict[tuple, Record] = collections.OrderedDict()
_RECORDS_LOCK = threading.Lock()


def _compute_record(
    model: Fittable,
    data: ScalingData,
    axis: str,
    fractions: Sequence[float],
    draws: int,
    seed: int,
    inputs: bool,
) -> Record:
    """Compute the record of :func:`ladder_record`."""
    found = cuts(model, data, axis, fractions)
    if not found:
        return Record(pd.DataFrame(columns=list(RECORD_COLUMNS)), axis=axis)
    parts = [data.subset(train) for _, train in found]
    samples = _refit(model, parts, draws, seed)
    rows, loglik = [], np.zeros((LOG_SCALE_GRID.size,) * 2)
    # Every cut predicts the same rows (those above the lowest cut; the cuts are nested), so
    # the prediction path compiles once, not once per cut.
    future = np.logical_or.reduce([~train for _, train in found])
    x_future = {name: v[future] for name, v in data.x.items()}
    # checkpoints of runs, extrapolated along each run: one row per run in a cut's likelihood
    run_codes = data.run.codes if axis == "run_tokens" else None
    for k, ((f, train), part, s) in enumerate(zip(found, parts, samples, strict=True)):
        test = ~train
        if s is None:
            continue
        mine = test[future]
        x = {name: v[test] for name, v in data.x.items()}
        assignment = _assignment(data, future, part)
        key = jax.random.fold_in(jax.random.PRNGKey(seed), k)
        with np.errstate(divide="ignore", invalid="ignore"):  # non-finite draws dropped below
            log_draws, log_mean = (
                np.log(
                    np.asarray(
                        loss_draws(s, model, part.scale, assignment, x_future, kind, key, grid=None)
                    ).reshape(-1, int(future.sum()))
                )[:, mine]
                for kind in ("predictive", "mean")
            )
        # the refit's sensitivity d log L / d x_k to each input at these rows (mean over draws)
        if inputs:
            sens = sensitivity_draws(s, model, part.scale, assignment, x_future)
            sens = sens.reshape(-1, *sens.shape[2:])[..., mine, :]  # (draws, rows, inputs)
            kept = np.all(np.isfinite(sens), axis=(1, 2))  # draws whose law overflows say nothing
            if kept.mean() < 0.95:
                continue
            jac = sens[kept].mean(axis=0)  # (rows, inputs)
            # e = L z (correlated errors of N and D): the residuals read J L against z
            mixing = input_mixing([k for k in model.law.inputs if k in PERTURBED])
            if not np.array_equal(mixing, np.eye(len(mixing))):
                jac = jac @ mixing
        else:
            jac = np.ones((int(mine.sum()), 1))
        finite = np.all(np.isfinite(log_draws), axis=1) & np.all(np.isfinite(log_mean), axis=1)
        if finite.mean() < 0.95:  # a refit whose draws overflow says nothing about its error
            continue
        log_draws, log_mean = log_draws[finite], log_mean[finite]
        # The noise's spread, robustly (a Student-t with nu near 1 has no variance).
        q25, q75 = np.quantile(log_draws - log_mean, [0.25, 0.75], axis=0)
        noise_sd = (q75 - q25) / 1.349
        dist = np.asarray(ExtrapolationError.from_data(part.x, cost=model.cost).distances(x)[0])
        y = data.loss[test]
        lo, med, hi = np.quantile(np.exp(log_draws), [0.05, 0.5, 0.95], axis=0)
        chosen = _likelihood_rows(dist, None if run_codes is None else run_codes[test])
        loglik += cut_loglik(
            np.log(y)[chosen], log_mean[:, chosen], dist[chosen], noise_sd[chosen], jac[chosen]
        )
        used = np.zeros(test.sum(), bool)
        used[chosen] = True
        rows.append(
            pd.DataFrame(
                {
                    "cut": f"future {f:.0%}",
                    "row": np.flatnonzero(test),
                    "distance": dist,
                    "loss": y,
                    "median": med,
                    "lower": lo,
                    "upper": hi,
                    "log_sd": np.sqrt(log_mean.var(axis=0) + noise_sd**2),
                    "sensitivity": np.sqrt(np.sum(jac**2, axis=1)),  # 1: log loss
                    "in_likelihood": used,
                }
            )
        )
    table = (
        pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=list(RECORD_COLUMNS))
    )
    return Record(table, loglik, axis)


def _spread(d: np.ndarray, most: int) -> np.ndarray:
    """Return the indices of at most ``most`` rows, evenly spread over their sorted distances."""
    order = np.argsort(d, kind="stable")
    if order.size <= most:
        return order
    return order[np.unique(np.linspace(0, order.size - 1, most).round().astype(int))]


def _likelihood_rows(d: np.ndarray, runs: np.ndarray | None) -> np.ndarray:
    """Return the held-out rows of a cut that enter its likelihood.

    Rows of a ladder of runs (or of one curve): at most :data:`MAX_RECORD_ROWS`, spread over
    their distances. Checkpoints of training curves cut along each run's tokens (``runs``, each
    row's run): one per run, its furthest, then spread likewise. A run's checkpoints deviate
    from the law together (the curve wanders smoothly), which the likelihood's independent noise
    cannot express; given many checkpoints of one run, it took that run's wander for
    extrapolation error.
    """
    if runs is None or d.size == 0:
        return _spread(d, MAX_RECORD_ROWS)
    order = np.lexsort((d, runs))  # by run, then distance
    last = order[np.r_[runs[order][1:] != runs[order][:-1], True]]
    return last[_spread(d[last], MAX_RECORD_ROWS)]


def _refit(model: Fittable, parts: list[ScalingData], draws: int, seed: int) -> list[dict | None]:
    """Posterior draws ``(1, n, ...)`` of every cut, ``n = max(draws, REFIT_IMPORTANCE_DRAWS)``.

    As ``method="auto"`` fits, with a lower bar: each cut's Laplace approximation is corrected
    by importance sampling, and a cut whose weights fail their check (Pareto k-hat above
    :data:`~bayescale.diagnostics.KHAT_MAX`, or fewer than :data:`REFIT_ESS_MIN` effective
    draws, where a fit needs 400) is refitted by a short NUTS run with as many draws, so that
    the prediction path compiles once for every cut. The refits' spread is what the record
    weighs the residuals against, so it must be the posterior's: on Gadre et al.'s ladder (a
    hierarchy) the Laplace approximation's spread of the held-out losses was six times the
    posterior's, and the record read the misfit of its shape as extrapolation error.
    """
    n = max(draws, REFIT_IMPORTANCE_DRAWS)
    settings = NutsSettings(chains=1, draws=n, seed=seed)
    try:
        batches = [list(range(len(parts)))]
        fits = [sample_importance(model, parts, settings)]
    except SpecificationError:  # cuts that lost a group level: one batch each
        batches = [[i] for i in range(len(parts))]
        fits = [sample_importance(model, [p], settings) for p in parts]
    out: list[dict | None] = [None] * len(parts)
    for idx, res in zip(batches, fits, strict=True):
        for i, d in zip(idx, res, strict=True):
            khat, ess = (float(d.stats[k].flat[0]) for k in ("pareto_k", "ess_importance"))
            if np.isfinite(khat) and khat <= KHAT_MAX and ess >= REFIT_ESS_MIN:
                out[i] = d.samples
    nuts = NutsSettings(chains=2, draws=n // 2, warmup=draws // 2, seed=seed)
    for i, s in enumerate(out):
        if s is None:
            (fit,) = sample_nuts(model, [parts[i]], nuts)
            out[i] = {k: v.reshape(1, -1, *v.shape[2:]) for k, v in fit.samples.items()}
    return out


def cut_loglik(
    log_y: np.ndarray,
    log_draws: np.ndarray,
    d: np.ndarray,
    noise_sd: np.ndarray | None = None,
    jac: np.ndarray | None = None,
    nu: float | None = None,
    *,
    growth: Callable[[np.ndarray], np.ndarray] = growth_shape,
    offset: Callable[[np.ndarray], np.ndarray] = offset_shape,
) -> np.ndarray:
    """Log likelihood of one cut's residuals on the grid of log scales.

    ``log_y`` (F) observed log losses, ``log_draws`` (S, F) the refit's draws of their law
    location (or of their predictive, with ``noise_sd`` None), ``noise_sd`` (F) the noise's
    spread, ``d`` (F) their distances, ``jac`` (F, K) the law's sensitivity ``d log L / d x_k``
    to each of its K perturbed inputs (one column of ones: an error added to the log loss). The
    residuals ``log_y - mean`` are normal with covariance ``C + U S U'``: ``C`` the draws'
    covariance plus the noise's variance, ``U = [J_k phi, J_k g]_k`` and
    ``S = diag(sigma_o^2, sigma_g^2, ...)``: a rank-2K update, evaluated by the matrix
    determinant lemma and Woodbury's identity on the whole grid at once (up to the constant
    ``-F/2 log 2 pi``). ``growth`` and ``offset`` are the shapes ``g`` and ``phi`` of the
    error's two terms in the distance (the defaults are the error's:
    :func:`~bayescale.extrapolation.growth_shape`, ``sqrt(d)``, and
    :func:`~bayescale.extrapolation.offset_shape`); ``benchmarks/growth_shapes.py`` compares
    others by the records' marginal likelihood.

    With ``nu`` (the refit's Student-t degrees of freedom), the noise is that Student-t, as in
    the refit and in every prediction, and ``noise_sd`` the sd of a normal with its
    interquartile range: a row far off the law is then the noise's tail, not the coherent
    error's (:func:`_student_t_loglik`). The record does not pass it: on the backtests it
    narrowed the intervals of unseen ladders and curves that were already short
    (docs/calibration.md).

    Raises
    ------
    TypeError
        When an array holds anything but numbers.
    ValueError
        When the arrays do not describe the same held-out rows (``log_draws`` at least two
        draws of them), hold values that are not finite, ``d`` or ``noise_sd`` is negative,
        or ``nu`` is given without ``noise_sd`` or is not > 0.
    """
    log_y, log_draws, d, noise_sd, jac = _checked_cut(log_y, log_draws, d, noise_sd, jac, nu)
    r = log_y - log_draws.mean(axis=0)
    c = np.atleast_2d(np.cov(log_draws, rowvar=False)) + 1e-10 * np.eye(len(r))
    noise = np.zeros(c.shape[0]) if noise_sd is None else np.asarray(noise_sd, float) ** 2
    jac = np.ones((len(d), 1)) if jac is None else np.asarray(jac, float).reshape(len(d), -1)
    k = jac.shape[1]
    u = np.concatenate([jac * offset(d)[:, None], jac * growth(d)[:, None]], axis=1)
    if nu is not None and noise_sd is not None:
        return _student_t_loglik(r, c, noise * (0.6745 / scipy.stats.t.ppf(0.75, nu)) ** 2, u, nu)
    c = c + np.diag(noise)
    chol = np.linalg.cholesky(c)
    cu = np.linalg.solve(chol.T, np.linalg.solve(chol, u))  # C^-1 U
    cr = np.linalg.solve(chol.T, np.linalg.solve(chol, r))  # C^-1 r
    base = -0.5 * (r @ cr) - np.sum(np.log(np.diag(chol)))
    a = u.T @ cu  # U' C^-1 U (2K x 2K)
    b = u.T @ cr  # U' C^-1 r (2K)
    so2 = np.exp(2 * LOG_SCALE_GRID)[:, None, None]
    sg2 = np.exp(2 * LOG_SCALE_GRID)[None, :, None]
    grid = (LOG_SCALE_GRID.size, LOG_SCALE_GRID.size)
    inv_s = np.concatenate(
        [np.broadcast_to(1 / so2, (*grid, k)), np.broadcast_to(1 / sg2, (*grid, k))], axis=-1
    )
    # K = S^-1 + A: |Sigma| = |C| |S| |K|; r' Sigma^-1 r = r' C^-1 r - b' K^-1 b
    chol_k = np.linalg.cholesky(a + inv_s[..., None] * np.eye(2 * k))
    y = np.linalg.solve(chol_k, np.broadcast_to(b, (*grid, 2 * k))[..., None])[..., 0]
    log_det_k = 2 * np.sum(np.log(np.diagonal(chol_k, axis1=-2, axis2=-1)), axis=-1)
    log_det_s = k * (np.log(so2[..., 0]) + np.log(sg2[..., 0]))
    return base - 0.5 * (log_det_s + log_det_k) + 0.5 * np.sum(y**2, axis=-1)


def _checked_cut(
    log_y: Any, log_draws: Any, d: Any, noise_sd: Any, jac: Any, nu: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Return :func:`cut_loglik`'s arrays as floats, refusing shapes and values it misreads."""
    out = {}
    for name, value in (
        (("log_y", log_y), ("log_draws", log_draws), ("d", d))
        + ((("noise_sd", noise_sd),) if noise_sd is not None else ())
        + ((("jac", jac),) if jac is not None else ())
    ):
        try:
            out[name] = np.asarray(value, float)
        except (TypeError, ValueError):
            raise TypeError(f"cut_loglik: {name} must be an array of numbers.") from None
        if not np.all(np.isfinite(out[name])):
            raise ValueError(f"cut_loglik: {name} holds values that are not finite.")
    log_y, log_draws, d = out["log_y"], out["log_draws"], out["d"]
    rows = log_y.shape[0] if log_y.ndim == 1 else None
    if rows is None:
        raise ValueError(
            f"cut_loglik: log_y must be one value per held-out row, got {log_y.shape}."
        )
    if log_draws.ndim != 2 or log_draws.shape[1] != rows or log_draws.shape[0] < 2:
        raise ValueError(
            f"cut_loglik: log_draws must be (draws, rows), at least 2 draws of the {rows} rows; "
            f"got shape {log_draws.shape}."
        )
    for name in ("d", "noise_sd"):
        if name in out and out[name].shape != (rows,):
            raise ValueError(
                f"cut_loglik: {name} must be one value per held-out row ({rows}); got shape "
                f"{out[name].shape}."
            )
        if name in out and np.any(out[name] < 0):
            raise ValueError(f"cut_loglik: {name} must be >= 0 (a distance, a spread).")
    jac = out.get("jac")
    if jac is not None and (jac.ndim not in (1, 2) or jac.shape[0] != rows):
        raise ValueError(
            f"cut_loglik: jac must be (rows, inputs), one row per held-out row ({rows}); got "
            f"shape {jac.shape}."
        )
    if nu is not None:
        if noise_sd is None:
            raise ValueError(
                "cut_loglik: nu sets the Student-t of the noise, whose spread noise_sd gives: "
                "give noise_sd too (or leave nu out)."
            )
        arguments.positive(nu, "nu")
    return log_y, log_draws, d, out.get("noise_sd"), jac


def _student_t_loglik(
    r: np.ndarray, c: np.ndarray, scale2: np.ndarray, u: np.ndarray, nu: float
) -> np.ndarray:
    """Laplace approximation of a cut's log likelihood with Student-t noise, on the grid.

    ``r = w + e``: ``w ~ N(0, W)``, ``W = c + U S U'`` (the refit's spread and the coherent
    error at each grid point), and ``e_i`` Student-t with ``nu`` degrees of freedom and squared
    scale ``scale2_i``. The mode of ``w`` solves ``w = W (W + V)^-1 r`` with
    ``V = diag(scale2 / lambda)`` and ``lambda_i = (nu + 1) / (nu + (r_i - w_i)^2 / scale2_i)``
    (the noise's scale-mixture weights, found by iterating); the log likelihood is the
    integrand's log at the mode less half the log determinant of its curvature, taken with
    those weights (``I + W diag(lambda / scale2)``). Exact as ``nu`` grows (the normal's).
    """
    f = r.size
    grid = (LOG_SCALE_GRID.size, LOG_SCALE_GRID.size)
    k = u.shape[1] // 2
    var = np.exp(2 * LOG_SCALE_GRID)
    s = np.concatenate(
        [
            np.broadcast_to(var[:, None, None], (*grid, k)),
            np.broadcast_to(var[None, :, None], (*grid, k)),
        ],
        axis=-1,
    )
    w = c + np.einsum("fa,...a,ga->...fg", u, s, u)  # (grid, F, F)
    lam = np.ones((*grid, f))
    rhs = np.broadcast_to(r, (*grid, f))
    w_flat, lam_flat = w.reshape(-1, f, f), lam.reshape(-1, f)
    active = np.arange(lam_flat.shape[0])  # grid points whose weights still move
    for _ in range(_LAPLACE_STEPS):
        wa = w_flat[active]
        a = np.linalg.solve(wa + (scale2 / lam_flat[active])[:, :, None] * np.eye(f), r[:, None])
        resid = r - np.einsum("nfg,ng->nf", wa, a[..., 0])
        new = (nu + 1) / (nu + resid**2 / scale2)
        moved = np.max(np.abs(new - lam_flat[active]), axis=1) >= 1e-6
        lam_flat[active] = new
        active = active[moved]
        if not active.size:
            break
    lam = lam_flat.reshape(*grid, f)
    chol = np.linalg.cholesky(w + (scale2 / lam)[..., None] * np.eye(f))
    a = _cho_solve(chol, rhs)
    wa = np.einsum("...fg,...g->...f", w, a)
    resid = r - wa
    log_t = (
        scipy.special.gammaln((nu + 1) / 2)
        - scipy.special.gammaln(nu / 2)
        - 0.5 * np.log(np.pi * nu * scale2)
        - (nu + 1) / 2 * np.log1p(resid**2 / (nu * scale2))
    )
    # |I + W D| = |D| |W + D^-1|, D = diag(lambda / scale2)
    log_det = np.sum(np.log(lam / scale2), axis=-1) + 2 * np.sum(
        np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1
    )
    return -0.5 * np.sum(a * wa, axis=-1) + np.sum(log_t, axis=-1) - 0.5 * log_det


def _cho_solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``(L L') x = b`` for stacked lower Cholesky factors ``L`` (..., F, F)."""
    y = np.linalg.solve(chol, b[..., None])
    return np.linalg.solve(np.swapaxes(chol, -1, -2), y)[..., 0]


#: Fixed-point steps of the Student-t likelihood's Laplace approximation (:func:`cut_loglik`).
_LAPLACE_STEPS = 30


def marginal_loglik(logliks: Sequence[np.ndarray], prior: ScalePrior) -> np.ndarray:
    """Return each record's log marginal likelihood under a prior of the scales.

    Each record (``logliks[j]``, a log likelihood on the grid of log scales, as
    :func:`cut_loglik` and :func:`ladder_record` return it) is integrated against ``prior``'s
    normal, normalised on the grid: the quantity :func:`fit_prior` maximises (summed over
    records), and the one to compare priors or error shapes by.

    Parameters
    ----------
    logliks : sequence of numpy.ndarray
        Records' log likelihoods, each of shape ``(LOG_SCALE_GRID.size,) * 2``.
    prior : ScalePrior
        The prior of ``(log sigma_o, log sigma_g)``.

    Returns
    -------
    numpy.ndarray
        One log marginal likelihood (nats) per record.
    """
    ll = _grid_logliks(logliks)
    _require_prior(prior, "prior")
    return logsumexp(ll + _grid_log_normal(prior.mean, prior.cov)[None], axis=1)


def _require_prior(prior: Any, name: str) -> None:
    """Refuse a prior of the scales that is not a :class:`ScalePrior` (a dict, a path)."""
    if not isinstance(prior, ScalePrior):
        raise TypeError(
            f"{name} must be a ScalePrior, got {type(prior).__name__} (ScalePrior.from_dict(d) "
            "builds one from a dict, ScalePrior.load(path) from a file)."
        )


def _grid_log_normal(mean: Any, cov: Any) -> np.ndarray:
    """Return a bivariate normal's log density on the grid's points, normalised on the grid.

    Normalised on the grid, a degenerate normal gains nothing from squeezing between points.
    """
    a, b = np.meshgrid(LOG_SCALE_GRID, LOG_SCALE_GRID, indexing="ij")
    diff = np.stack([a.ravel(), b.ravel()], axis=1) - np.asarray(mean, float)
    logn = -0.5 * np.einsum("gi,ij,gj->g", diff, np.linalg.inv(np.asarray(cov, float)), diff)
    return logn - logsumexp(logn)


def _grid_logliks(logliks: Sequence[np.ndarray]) -> np.ndarray:
    """Stack records' log likelihoods on the grid as ``(records, grid points)``, checked."""
    grid = (LOG_SCALE_GRID.size, LOG_SCALE_GRID.size)
    if isinstance(logliks, Mapping):
        raise TypeError(
            "Give the records' log likelihoods as a list (their names as names=list(d)), not a "
            "dict."
        )
    if isinstance(logliks, np.ndarray) and logliks.shape == grid:  # its rows read as records
        raise ValueError(
            f"Got one {grid[0]}x{grid[1]} array: give a list of records' log likelihoods, e.g. "
            "[record.loglik]."
        )
    try:
        logliks = [np.asarray(x, float) for x in logliks]
    except (TypeError, ValueError):
        raise TypeError(
            "Give a list of records' log likelihoods (arrays on the scales' grid, as "
            "ladder_record's record.loglik)."
        ) from None
    if not logliks:
        raise ValueError("A prior of the scales needs the record of at least one ladder; got none.")
    wrong = [i for i, x in enumerate(logliks) if x.shape != grid]
    if wrong:
        raise ValueError(
            f"The records {wrong} are not on the scales' grid (shape {grid}): give "
            "each ladder's record log likelihood as cut_loglik/ladder_record return it."
        )
    ll = np.stack([x.ravel() for x in logliks])  # (ladders, grid)
    if not np.all(np.isfinite(ll)):
        raise ValueError("A record's log likelihood is not finite: drop that ladder first.")
    return ll


#: Most restarts of :func:`fit_prior`'s simplex search (each from the last one's optimum).
MAX_PRIOR_RESTARTS = 20


def fit_prior(
    logliks: Sequence[np.ndarray],
    names: Sequence[str] = (),
    kind: str = "loss",
    hyperprior: ScalePrior | None = None,
) -> ScalePrior:
    """Fit the prior of the scales across ladders by maximum marginal likelihood.

    Each ladder ``j`` has its own log scales ``theta_j ~ N(mean, cov)``; its record's likelihood
    (``logliks[j]`` on the grid) is integrated against that normal on the grid, and the sum of
    the log marginal likelihoods over ladders is maximised over ``mean`` and ``cov`` (a
    bivariate normal: two means, two log standard deviations and a correlation;
    :func:`marginal_loglik` gives each ladder's term). ``kind`` is the records' error
    (:data:`KINDS`). The search is a simplex search restarted from its own optimum until a
    restart gains less than 0.001 nats (at most :data:`MAX_PRIOR_RESTARTS` times).

    With ``hyperprior`` (a population these ladders are drawn from, such as the prior across
    public ladders) the fit is a posterior mode instead: ``mean ~ N(hyperprior.mean,
    hyperprior.cov)`` and each log standard deviation ``~ N(log of the hyperprior's, 1)``.
    Records that cannot tell small scales apart (refits whose own spread already covers their
    residuals) then leave the prior near the hyperprior, where maximum likelihood would pick
    any normal inside their flat region or run off the grid.

    Parameters
    ----------
    logliks : sequence of numpy.ndarray
        The records' log likelihoods on the grid of log scales (``record.loglik`` of
        :func:`ladder_record`), one per ladder.
    names : sequence of str
        What the records come from (the ladders, or the datasets that hold them), stored as
        the prior's ``fitted_on``.
    kind : {"loss", "inputs"}
        The records' error.
    hyperprior : ScalePrior, optional
        A population the ladders are drawn from, of the same ``kind``.

    Returns
    -------
    ScalePrior
    """
    ll = _grid_logliks(logliks)
    ll = ll - ll.max(axis=1, keepdims=True)
    names = names if isinstance(names, str) else tuple(names)  # a generator is read once
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError(
            f"names={names!r}: give the names of what the records come from as a list of text "
            "(ladders or datasets), e.g. names=['epoch', 'gadre']."
        )
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r}; choose one of {list(KINDS)}.")
    if hyperprior is not None:
        _require_prior(hyperprior, "hyperprior")

    step = LOG_SCALE_GRID[1] - LOG_SCALE_GRID[0]

    def unpack(p):
        sd = step + np.exp(p[2:4])  # no narrower than the grid resolves
        rho = 0.9 * np.tanh(p[4])
        cov = np.array([[sd[0] ** 2, rho * sd[0] * sd[1]], [rho * sd[0] * sd[1], sd[1] ** 2]])
        return p[:2], cov

    def neg(p):
        mean, cov = unpack(p)
        out = -np.sum(logsumexp(ll + _grid_log_normal(mean, cov)[None], axis=1))
        if hyperprior is not None:
            shift = mean - hyper_mean
            out += 0.5 * shift @ hyper_prec @ shift
            out += 0.5 * np.sum((np.log(np.sqrt(np.diag(cov))) - hyper_log_sd) ** 2)
        return out

    start = np.array([np.log(0.01), np.log(0.01), 0.0, 0.0, 0.0])
    if hyperprior is not None:
        if hyperprior.kind != kind:
            raise ValueError(f"hyperprior of kind {hyperprior.kind!r} for records of {kind!r}.")
        hyper_mean = np.asarray(hyperprior.mean, float)
        hyper_cov = np.asarray(hyperprior.cov, float)
        hyper_prec = np.linalg.inv(hyper_cov)
        hyper_log_sd = np.log(np.sqrt(np.diag(hyper_cov)))
        # start at the hyperprior (its log sds less the grid step unpack adds)
        start = np.concatenate(
            [hyper_mean, np.log(np.maximum(np.exp(hyper_log_sd) - step, 1e-3)), [0.0]]
        )
    # A simplex search stops short on these flat, curved surfaces (on the public records of
    # 2026-12-06 by 5 nats, with the log-loss prior's log sds at 0.80 instead of 1.25);
    # restarting it from its own optimum, with a fresh simplex, until a restart gains nothing
    # reaches the optimum that starts spread over the grid agree on.
    res = scipy.optimize.minimize(neg, start, method="Nelder-Mead", options={"maxiter": 4000})
    for _ in range(MAX_PRIOR_RESTARTS):
        again = scipy.optimize.minimize(neg, res.x, method="Nelder-Mead", options={"maxiter": 4000})
        gain, res = res.fun - again.fun, min(res, again, key=lambda r: r.fun)
        if gain < 1e-3:
            break
    mean, cov = unpack(res.x)
    # records that resolve no error (a law exact on every ladder) let the mean wander off the
    # grid's low end, where every value means the same: keep it where the grid resolves it
    mean = np.clip(mean, LOG_SCALE_GRID[0], LOG_SCALE_GRID[-1])
    return ScalePrior(
        (float(mean[0]), float(mean[1])),
        ((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
        tuple(names),
        kind,
    )


#: Fewest ladders with a record that :func:`pooled_prior` fits a prior across.
MIN_POOLED_LADDERS = 3


def pooled_prior(model: Any, tables: Mapping[str, pd.DataFrame], seed: int = 0) -> ScalePrior:
    """Fit the prior of the extrapolation-error scales across your own ladders or curves.

    The hierarchical counterpart, for a collection of related ladders (the training curves of
    one domain, the ladders of one lab), of the prior across public ladders shipped with the
    package: each table's own leave-future-out record (:func:`ladder_record`, its training rows
    only) is computed under ``model`` and :func:`fit_prior` fits the population of their scales.
    Pass the result as ``Model(extrapolation_prior=...)`` (or save it with
    :meth:`ScalePrior.save` and pass the file): each fit then weighs its own record against
    what its siblings' records show, not against public ladders of another kind.

    Parameters
    ----------
    model : Model
        The model every table will be fitted with; its law and table layout decide the record
        (its axis and whether the error is of the log loss or of the law's inputs).
    tables : mapping of str to pandas.DataFrame
        The ladders or curves, by name (at least :data:`MIN_POOLED_LADDERS` with enough rows
        for a cut). Give only the rows a fit would see: a prior fitted on held-out rows makes
        their backtest dishonest.
    seed : int
        Seed of the records' refits.

    Returns
    -------
    ScalePrior
        The fitted prior (``fitted_on``: the tables that had a record, ``kind``: the error's).

    Raises
    ------
    ValueError
        When ``tables`` is not a mapping of tables, when the tables' records are of different
        kinds, or when fewer than :data:`MIN_POOLED_LADDERS` have a record.
    bayescale.DataError
        When a table fails the model's validation (it names the table).

    Examples
    --------
    Three ladders, each extrapolated in compute (an error of the law's inputs):

    >>> ladders = {f"lab{i}": bs.simulate_ladder(seed=i) for i in range(3)}
    >>> prior = bs.record.pooled_prior(bs.Model(), ladders)
    >>> prior.kind, prior.fitted_on
    ('inputs', ('lab0', 'lab1', 'lab2'))
    >>> pooled = bs.Model(extrapolation_prior=prior)
    >>> pooled.scale_prior(pooled.prepare(ladders["lab0"])) == prior
    True
    """
    if not callable(getattr(model, "without_extrapolation", None)):
        raise TypeError(
            f"pooled_prior takes a bs.Model first (the model each table will be fitted with), "
            f"got a {type(model).__name__}; e.g. pooled_prior(bs.Model(), {{'lab0': df0, ...}})."
        )
    if not isinstance(tables, Mapping):
        raise ValueError(
            "pooled_prior needs a mapping {name: DataFrame} of ladders or curves, e.g. "
            "dict(tuple(df.groupby('curve')))."
        )
    others = [name for name, t in tables.items() if not isinstance(t, pd.DataFrame)]
    if others:
        raise ValueError(
            f"pooled_prior: tables[{others[0]!r}] is a {type(tables[others[0]]).__name__}, not a "
            "DataFrame; give a mapping {name: DataFrame}, e.g. dict(tuple(df.groupby('curve')))."
        )
    as_text = collections.Counter(str(name) for name in tables)
    clash = sorted(name for name, n in as_text.items() if n > 1)
    if clash:  # the prior names its tables as text: 1 and '1' would be one
        raise ValueError(
            f"pooled_prior: the tables' names {clash} repeat once written as text (1 and '1'); "
            "give each table its own name."
        )
    seed = arguments.seed(seed)
    exact = model.without_extrapolation()
    found: dict[str, tuple[str, np.ndarray]] = {}
    skipped = []
    for name, df in tables.items():
        try:
            data = model.prepare(df)
        except (DataError, SpecificationError) as e:  # name the table, keep the error's type
            raise with_prefix(e, f"table {name!r}: ") from None
        kind = error_kind(model, data)
        rec = ladder_record(exact, data, seed=seed, inputs=kind == "inputs")
        if rec.cuts:
            found[str(name)] = (kind, rec.loglik)
        else:
            skipped.append(str(name))
    kinds = {k for k, _ in found.values()}
    if len(kinds) > 1:
        raise ValueError(
            "The tables' records are of different kinds (ladders extrapolated in compute carry "
            "an error of the law's inputs, curves one of the log loss): pool them separately."
        )
    if len(found) < MIN_POOLED_LADDERS:
        raise ValueError(
            f"A prior across tables needs at least {MIN_POOLED_LADDERS} with a record; "
            f"{len(found)} of the {len(tables)} given have one"
            + (f" ({skipped} too short for a cut)" if skipped else "")
            + ". Pool more tables, or keep the shipped prior (the default)."
        )
    kind = kinds.pop()
    # a weakly informative hyperprior keeps records that cannot resolve small scales from
    # running the fit off the grid; it does not pull the tables towards public ladders
    return fit_prior(
        [ll for _, ll in found.values()], list(found), kind, hyperprior=ScalePrior(kind=kind)
    )


def scale_draws(
    loglik: np.ndarray, prior: ScalePrior, n: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` draws of ``(sigma_o, sigma_g)`` from the grid posterior (record x prior)."""
    n = arguments.count(n, "n")
    loglik = np.asarray(loglik, float)
    if loglik.shape != (LOG_SCALE_GRID.size, LOG_SCALE_GRID.size):
        raise ValueError(
            f"scale_draws: the record's log likelihood has shape {loglik.shape}; it must be on "
            f"the scales' grid ({LOG_SCALE_GRID.size} x {LOG_SCALE_GRID.size})."
        )
    logp = loglik + prior.log_density()
    if not np.any(np.isfinite(logp)) or np.any(np.isnan(logp)):
        raise ValueError(
            "scale_draws: the record's log likelihood is NaN or -inf everywhere on the grid: "
            "the record has no usable row (recompute it, or use extrapolation='prior')."
        )
    p = np.exp(logp - logp.max()).ravel()
    p /= p.sum()
    rng = np.random.default_rng(seed)
    idx = rng.choice(p.size, size=n, p=p)
    i, j = np.unravel_index(idx, loglik.shape)
    step = LOG_SCALE_GRID[1] - LOG_SCALE_GRID[0]
    jitter = rng.uniform(-0.5, 0.5, (2, n)) * step
    return np.exp(LOG_SCALE_GRID[i] + jitter[0]), np.exp(LOG_SCALE_GRID[j] + jitter[1])


__all__ = [
    "CUT_FRACTIONS",
    "KINDS",
    "LOG_SCALE_GRID",
    "MAX_PRIOR_RESTARTS",
    "MIN_POOLED_LADDERS",
    "MIN_ROWS_ABOVE",
    "MIN_ROWS_BELOW",
    "PRIOR_ENV",
    "PRIOR_FILE",
    "RECORD_VERSION",
    "Record",
    "ScalePrior",
    "cut_loglik",
    "cuts",
    "error_kind",
    "fit_prior",
    "ladder_record",
    "marginal_loglik",
    "pooled_prior",
    "record_axis",
    "rows_below",
    "scale_draws",
    "too_short",
]
