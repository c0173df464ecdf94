"""Priors written as text (``"Normal(0, 1)"``) so presets and saved fits can name them."""

from __future__ import annotations

import ast
import inspect
import math

import numpy as np
import numpyro.distributions as dist

from bayescale.errors import SpecificationError


def parse_prior(text: str | dist.Distribution) -> dist.Distribution:
    """Build a numpyro distribution from text such as ``"LogNormal(-1.2, 0.5)"``.

    Only a call of a distribution class in :mod:`numpyro.distributions` with numeric literal
    arguments is accepted; nothing is evaluated.

    Parameters
    ----------
    text : str or numpyro.distributions.Distribution
        The prior as text, positional or keyword arguments (``"Normal(0, 1)"``,
        ``"HalfNormal(scale=0.05)"``); a distribution passes through unchanged.

    Returns
    -------
    numpyro.distributions.Distribution
        The distribution.

    Raises
    ------
    SpecificationError
        When the text is not a numpyro distribution called with numbers, or the distribution
        is discrete, a point mass (``Delta``) or abstract: the parameters are continuous.

    Examples
    --------
    >>> from bayescale.priors import parse_prior
    >>> prior = parse_prior("LogNormal(-1.2, 0.5)")
    >>> type(prior).__name__, float(prior.loc), float(prior.scale)
    ('LogNormal', -1.2, 0.5)
    >>> parse_prior("__import__('os')")
    Traceback (most recent call last):
    ...
    bayescale.errors.SpecificationError: Prior "__import__('os')": '__import__' is not a numpyro
    distribution.
    """
    if isinstance(text, dist.Distribution):
        return _continuous(text, text)
    try:
        node = ast.parse(str(text), mode="eval").body
    except SyntaxError as e:
        raise SpecificationError(f"Cannot parse prior {text!r}: {e.msg}.") from None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise SpecificationError(
            f"Prior {text!r} must look like 'Normal(0, 1)': a numpyro distribution and numbers."
        )
    cls = getattr(dist, node.func.id, None)
    if not (inspect.isclass(cls) and issubclass(cls, dist.Distribution)):
        raise SpecificationError(f"Prior {text!r}: {node.func.id!r} is not a numpyro distribution.")
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except ValueError:
        raise SpecificationError(f"Prior {text!r}: arguments must be numbers.") from None
    for value in [*args, *kwargs.values()]:  # "a", True and 1e999 parse, then fail far away
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecificationError(f"Prior {text!r}: {value!r} is not a number.")
        if not math.isfinite(value):
            raise SpecificationError(f"Prior {text!r}: {value!r} is not a finite number.")
    bounds = dict(zip(("low", "high"), args, strict=False)) | kwargs
    if cls is dist.Uniform and not bounds.get("low", 0.0) < bounds.get("high", 1.0):
        raise SpecificationError(f"Prior {text!r}: its low bound must lie below its high one.")
    try:
        prior = cls(*args, **kwargs)
    except (TypeError, ValueError) as e:  # a missing argument, a scale <= 0
        raise SpecificationError(f"Prior {text!r}: {e}") from None
    return _continuous(prior, text)


def _continuous(prior: dist.Distribution, text: object) -> dist.Distribution:
    """Refuse a prior no sampler here can use: abstract, discrete, or a point mass."""
    if isinstance(prior, dist.Delta) or getattr(prior, "support", None) is None:
        what = (
            "a point mass, which fixes the parameter"
            if isinstance(prior, dist.Delta)
            else ("no distribution (it has no support)")
        )
        raise SpecificationError(
            f"Prior {text!r} is {what}: give a continuous prior (a narrow Normal to pin a "
            "parameter, e.g. 'Normal(0.3, 0.01)')."
        )
    if prior.is_discrete:
        raise SpecificationError(
            f"Prior {text!r} is discrete ({type(prior).__name__}); the parameters are "
            "continuous: give e.g. 'Normal(0, 1)' or 'LogNormal(0, 0.5)'."
        )
    return prior


def prior_to_str(d: dist.Distribution, digits: int | None = None) -> str:
    """Inverse of :func:`parse_prior` for distributions with scalar parameters.

    ``digits`` rounds each value to that many significant digits, for display; the default
    writes every digit, so that :func:`parse_prior` gives the same distribution back.

    Parameters
    ----------
    d : numpyro.distributions.Distribution
        A distribution whose parameters are scalars.
    digits : int, optional
        Significant digits of each value (default: every digit).

    Returns
    -------
    str
        ``"Name(param=value, ...)"`` with keyword arguments.

    Raises
    ------
    SpecificationError
        When a parameter of ``d`` is not a scalar.

    Examples
    --------
    >>> import numpyro.distributions as dist
    >>> from bayescale.priors import parse_prior, prior_to_str
    >>> prior_to_str(dist.Normal(-1.2043, 0.5))
    'Normal(loc=-1.2043, scale=0.5)'
    >>> prior_to_str(dist.Normal(-1.2043, 0.5), digits=2)
    'Normal(loc=-1.2, scale=0.5)'
    >>> prior_to_str(parse_prior("HalfNormal(0.05)"))
    'HalfNormal(scale=0.05)'
    """
    args = []
    for name in d.arg_constraints:
        if hasattr(d, name):
            value = np.asarray(getattr(d, name))
            if value.ndim:
                raise SpecificationError(f"Cannot write the non-scalar prior {d!r} as text.")
            text = repr(float(value)) if digits is None else f"{float(value):.{digits}g}"
            args.append(f"{name}={text}")
    return f"{type(d).__name__}({', '.join(args)})"
