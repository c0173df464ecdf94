"""Exceptions and warnings raised by bayescale."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any


class Worded:
    """An error or warning whose message can also be worded for the ``bayescale`` command.

    Every bayescale error and warning takes ``command_line=``: the same message with its fix
    worded for the command line (an option, an edit of the file), where the message's fix is
    Python code. The command line prints it instead of the message; ``None`` where the message
    reads the same in both.

    Parameters
    ----------
    *args
        The message (as for ``ValueError`` or ``UserWarning``).
    command_line : str, optional
        The message worded for the command line.

    Attributes
    ----------
    command_line : str or None

    Examples
    --------
    >>> w = bs.ConvergenceWarning("Fit it with method='nuts'.", command_line="Use --method nuts.")
    >>> str(w), w.command_line
    ("Fit it with method='nuts'.", 'Use --method nuts.')
    """

    command_line: str | None = None

    def __init__(self, *args: Any, command_line: str | None = None) -> None:
        super().__init__(*args)
        self.command_line = command_line


def with_prefix[E: BaseException](error: E, prefix: str) -> E:
    """Return a copy of ``error`` whose message, and command-line wording, start with ``prefix``.

    For a caller that names where an error arose (which table, which split) without losing
    what it carries (a :class:`DataError`'s column and rows, the command line's wording).

    Parameters
    ----------
    error : BaseException
        The error.
    prefix : str
        What to put before its message.

    Returns
    -------
    BaseException
        A copy of ``error``, of its type, with its attributes.

    Examples
    --------
    >>> from bayescale.errors import with_prefix
    >>> e = with_prefix(bs.DataError("No loss.", column="loss", command_line="No --loss."), "t1: ")
    >>> str(e), e.command_line, e.column
    ('t1: No loss.', 't1: No --loss.', 'loss')
    """
    out = copy.copy(error)
    out.args = (f"{prefix}{error}",)
    if getattr(error, "command_line", None):
        out.command_line = f"{prefix}{error.command_line}"  # type: ignore[attr-defined]
    return out


class DataError(Worded, ValueError):
    """The input table cannot be fitted as it is; the message names the column and the fix.

    Besides its message, the error says what it is about, for a program (the command line, a
    notebook's widget) to word its own advice without reading the message.

    Parameters
    ----------
    message : str
        The problem and its fix, in Python's terms where the fix is code.
    column : str, optional
        The table's column at fault, where there is one.
    rows : sequence, optional
        Labels (the table's index) of up to five rows at fault, where the fault is in rows.
    command_line : str, optional
        The same message with its fix worded for the ``bayescale`` command (an option, or an
        edit of the file), where the message's fix is Python code. The command line prints it
        instead of the message.

    Attributes
    ----------
    column : str or None
    rows : list or None
    command_line : str or None

    Examples
    --------
    A table without its ``loss`` column is refused before anything is fitted:

    >>> try:
    ...     bs.fit(bs.Model(), runs.drop(columns="loss"))
    ... except bs.DataError as e:
    ...     print(e)
    ...     print(e.column, "|", e.command_line)
    Missing column 'loss' for loss. Columns present: [...]. Rename yours or map it with
    columns={'loss': '<your column>'}.
    loss | Missing column 'loss' for loss. Columns present: [...]. Rename yours or map it with
    --columns loss=COLUMN.
    """

    def __init__(
        self,
        message: str,
        *,
        column: str | None = None,
        rows: Sequence[Any] | None = None,
        command_line: str | None = None,
    ) -> None:
        super().__init__(message, command_line=command_line)
        self.column = column
        self.rows = None if rows is None else list(rows)


class SpecificationError(Worded, ValueError):
    """A model specification (law, effects, priors, likelihood) is inconsistent.

    Attributes
    ----------
    command_line : str or None
        The message worded for the ``bayescale`` command, where it differs (see
        :class:`Worded`).

    Examples
    --------
    An effect on a parameter the law does not have:

    >>> try:
    ...     bs.Model("chinchilla", effects={"L0": "family"})
    ... except bs.SpecificationError as e:
    ...     print(e)
    Effects name 'L0', which is not a parameter of the chinchilla law; its parameters are
    ['E', 'A', 'B', 'alpha', 'beta'].
    """


class PosteriorFileError(Worded, ValueError):
    """A file cannot be read as a saved fit; the message names the file and what is wrong.

    Attributes
    ----------
    command_line : str or None
        The message worded for the ``bayescale`` command, where it differs (see
        :class:`Worded`).

    Examples
    --------
    >>> try:
    ...     bs.load_posterior("missing.nc")
    ... except bs.PosteriorFileError as e:
    ...     print(e)
    missing.nc: no such file (a fit is saved by `bayescale fit`).
    >>> with open("notes.nc", "w") as f:
    ...     _ = f.write("not a fit")
    >>> try:
    ...     bs.load_posterior("notes.nc")
    ... except bs.PosteriorFileError as e:
    ...     print(str(e)[:50])
    notes.nc cannot be read as a saved fit: it is not
    """


class UnknownNameError(Worded, KeyError):
    """A name the fit does not have (a parameter, a group, a group term); the message says which.

    A ``KeyError``, as a lookup by a missing name is, whose message prints as text (a plain
    ``KeyError`` prints its message quoted, as its key).

    Attributes
    ----------
    command_line : str or None
        The message worded for the ``bayescale`` command, where it differs (see
        :class:`Worded`).

    Examples
    --------
    >>> try:
    ...     post.summary(["gamma"])
    ... except KeyError as e:
    ...     print(str(e)[:52])
    summary: no parameter(s) ['gamma'] in this fit; it h
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConvergenceWarning(Worded, UserWarning):
    """A fit failed a diagnostic (R-hat, ESS, divergences, E-BFMI; importance weights).

    Attributes
    ----------
    command_line : str or None
        The message worded for the ``bayescale`` command, where it differs (see
        :class:`Worded`).

    Examples
    --------
    The fit still returns; to stop a script at a failed fit, make the warning an error. 300
    importance-sampled draws cannot reach the effective sample size of 400 the check needs:

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", bs.ConvergenceWarning)
    ...     try:
    ...         quick = bs.fit(bs.Model(), runs, chains=1, draws=300, method="psis")
    ...     except bs.ConvergenceWarning as w:
    ...         print(w)
    The importance-sampled fit failed its diagnostics: Pareto k-hat ... importance ESS ...
    (>= 400 needed): ...
    """


class SamplerEfficiencyWarning(Worded, UserWarning):
    """A fit passed its diagnostics, but NUTS hit its maximum tree depth on some draws.

    A transition cut short at the maximum tree depth is still a valid MCMC transition; it
    explores less per step, so the draws mix more slowly. That is an efficiency concern, not a
    validity one (the Stan team's guide to its warnings, mc-stan.org/learn-stan/
    diagnostics-warnings): where R-hat and both ESS pass, the draws can be used. Not a
    :class:`ConvergenceWarning`, so ``simplefilter("error", bs.ConvergenceWarning)`` lets
    such a fit through.

    Attributes
    ----------
    command_line : str or None
        The message worded for the ``bayescale`` command, where it differs (see
        :class:`Worded`).

    Examples
    --------
    A tree depth of 5 cuts most transitions short; the draws still mix well enough:

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     short = bs.fit(bs.Model(), runs, chains=2, draws=1000, warmup=500, max_tree_depth=5)
    >>> sorted({w.category.__name__ for w in caught})
    ['SamplerEfficiencyWarning']
    >>> bool(bs.diagnose(short, warn=False).attrs["ok"])
    True
    """


class HeavyTailWarning(Worded, UserWarning):
    """A fit passed its diagnostics, but its Student-t degrees of freedom fall below 1.

    A few rows then lie tens of noise scales off the law (a run's unstable start, a loss spike)
    and the predictive of a new point has no mean: some of its draws overflow. The draws are
    valid; the message says how to find the rows. A failed fit's
    :class:`ConvergenceWarning` and a :class:`SamplerEfficiencyWarning` carry the same advice.

    Attributes
    ----------
    command_line : str or None
        The message worded for the ``bayescale`` command, where it differs (see
        :class:`Worded`).

    Examples
    --------
    >>> from bayescale.diagnostics import heavy_tail_message
    >>> table = bs.diagnose(post, warn=False)
    >>> table.attrs["nu_median"] = 0.63
    >>> print(heavy_tail_message(table))
    The fit passed its diagnostics. The Student-t degrees of freedom sit at 0.63, below 1: ...
    """


class PriorBoundWarning(Worded, UserWarning):
    """A fit's draws of a law parameter pile against a bound of the parameter's prior.

    The data pull the parameter past what its prior allows (a ``Uniform`` or truncated prior),
    so the bound, not the data, sets it, and the law's other parameters bend to make up for it:
    the fit can pass every convergence check and still be wrong. The draws are valid draws of
    that posterior; widen the prior past the bound, or drop the bound.

    Attributes
    ----------
    command_line : str or None
        The message worded for the ``bayescale`` command, where it differs (see
        :class:`Worded`).

    Examples
    --------
    >>> from bayescale.diagnostics import prior_bound_message
    >>> table = bs.diagnose(post, warn=False)
    >>> table.attrs["prior_bounds"] = [("log_alpha", "Uniform(low=0.0, high=1.0)", 0.0, 0.31)]
    >>> print(prior_bound_message(table))
    The draws of log_alpha pile against its prior's bound 0: 31 % of them lie within 5 % of
    their spread of it (log_alpha ~ Uniform(low=0.0, high=1.0)). ...
    """


class DataWarning(Worded, UserWarning):
    """A table is valid but implausible (units, metric, duplicates, design); the fit goes on.

    Attributes
    ----------
    command_line : str or None
        The message worded for the ``bayescale`` command, where it differs (see
        :class:`Worded`).

    Examples
    --------
    Parameter counts given in billions instead of raw counts:

    >>> import warnings
    >>> in_billions = runs.drop(columns="flops").assign(params=runs["params"] / 1e9)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", bs.DataWarning)
    ...     data = bs.Model().prepare(in_billions)
    >>> print(caught[0].message)
    Column 'params' (params) is at most 2.58: that looks like millions or billions, not raw
    counts. Give raw counts (e.g. 7e10 for 70B); ...
    """


class ExtrapolationWarning(Worded, UserWarning):
    """A prediction or frontier lies far outside the data that informs it.

    Also where a frontier's draws put ``N*`` at the edge of the sizes searched: their law has
    no optimum near the data's allocations, and the band's edge there is the search's.

    Attributes
    ----------
    command_line : str or None
        The message worded for the ``bayescale`` command, where it differs (see
        :class:`Worded`).

    Examples
    --------
    The ladder's largest run is 1e20 FLOP; a 10T-parameter model on 100T tokens is 6e27 FLOP:

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", bs.ExtrapolationWarning)
    ...     far = bs.predict(post, N=1e13, D=1e14)
    >>> print(caught[0].message)
    Predicting 7.8 decades past the largest training run: ... Treat them as a scenario.
    """
