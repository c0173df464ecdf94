"""Reading a saved fit back: :func:`load_posterior` and the checks of what it reads.

A fit is written by :meth:`ScalingPosterior.to_netcdf` as one netCDF file: its DataTree with
the model's spec as an attribute. Reading it back rebuilds the :class:`~bayescale.model.Model`
from that spec (:func:`saved_spec` reads a spec written by an earlier version as the model that
made it) and refuses a file that is not a fit, was damaged, or, for a custom law (whose code
cannot be saved), a law that is not the one the fit was drawn with.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from bayescale import laws as _laws
from bayescale.errors import PosteriorFileError, SpecificationError
from bayescale.laws.base import Law
from bayescale.model import Model
from bayescale.posterior import ATTR_MODEL, ScalingPosterior, fitted_replicates
from bayescale.sites import sd_site
from bayescale.specification import MODEL_SITES, rebuilding_saved_fit
from bayescale.treefile import read_tree


def saved_spec(spec: Mapping) -> dict:
    """Read a saved fit's spec as the model that made it.

    A fit written before the learned extrapolation error existed (its spec has no
    ``extrapolation``) predicted with the fixed drift, and reads back with it. A Chinchilla or
    data-constrained fit written before the allocation prior (its spec has no
    ``relative_priors``) was drawn with ``log_beta ~ Normal(log 0.3, 0.5)``, and reads back
    with that prior. A preset or a spec written by hand leaves entries out to take
    :class:`Model`'s defaults; only a saved fit's spec goes through here.

    Parameters
    ----------
    spec : mapping
        The ``Model.spec()`` stored in a saved fit.

    Returns
    -------
    dict
        The spec, with ``extrapolation="fixed"`` where it had none, and the earlier prior of
        ``log_beta`` where it predates the allocation prior.

    Examples
    --------
    >>> old = {k: v for k, v in post.model.spec().items() if k != "extrapolation"}
    >>> bs.Model.from_spec(saved_spec(old)).extrapolation
    'fixed'
    >>> bs.Model.from_spec(old).extrapolation  # a preset's or a hand-written spec's default
    'learned'
    >>> older = {k: v for k, v in old.items() if k != "relative_priors"}
    >>> bs.Model.from_spec(saved_spec(older)).site_relative_to("log_beta")  # absolute
    >>> bs.Model.from_spec(saved_spec(old)).site_relative_to("log_beta")
    'log_alpha'
    """
    out = {"extrapolation": "fixed", **spec}
    # options a mode does not use, which Model refuses since 2026-12-07, were saved as given
    if out["extrapolation"] in ("learned", "prior", "none"):
        out.pop("extrapolation_scale", None)
    if out.get("discrepancy") is None:
        out.pop("discrepancy_step", None)
        out.pop("discrepancy_scale", None)
    for option in ("centered", "marginal_run"):  # an int (1, 0) acted as "auto" until then
        if not isinstance(out.get(option, "auto"), bool | str):
            out[option] = "auto"
    if out.get("centered", "auto") != "auto":  # its threshold, saved as given until 2026-12-07
        out.pop("centered_min_rows", None)
    mapped_run = (out.get("columns") or {}).get("run")
    if isinstance(out.get("run"), str) and mapped_run not in (None, out["run"]):  # run= won
        out["columns"] = {k: v for k, v in out["columns"].items() if k != "run"}
    if "relative_priors" not in spec and spec["law"]["name"] in _BEFORE_RELATIVE_PRIORS:
        out["priors"] = {**_BEFORE_RELATIVE_PRIORS[spec["law"]["name"]], **spec.get("priors", {})}
    return out


#: Default priors, by law, of the sites whose default became relative (2026-12-04): a saved fit
#: whose spec has no ``relative_priors`` was drawn with these.
_BEFORE_RELATIVE_PRIORS = {
    law: {"log_beta": "Normal(loc=-1.2039728043259361, scale=0.5)"}
    for law in ("chinchilla", "data_constrained")
}


def read_saved_tree(path: str | Path) -> tuple[Path, xr.DataTree]:
    """Read the tree of a saved fit, refusing a folder, a missing file or another format.

    Parameters
    ----------
    path : str or Path
        The netCDF file.

    Returns
    -------
    (pathlib.Path, xarray.DataTree)
        The path and the file's tree, its attributes not yet checked.

    Raises
    ------
    PosteriorFileError
        When the path is a folder, no file, or not a netCDF file.

    Examples
    --------
    >>> from bayescale.saved import read_saved_tree
    >>> read_saved_tree(post.to_netcdf("fit.nc"))[1].children.keys() >= {"posterior"}
    True
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"give the path of a saved fit (a str or Path), got {type(path).__name__}")
    path = Path(path).expanduser()
    if path.is_dir():
        inside = " (it holds fit.nc: give that)" if (path / "fit.nc").is_file() else ""
        raise PosteriorFileError(f"{path} is a folder, not a saved fit{inside}.")
    if not path.is_file():
        raise PosteriorFileError(f"{path}: no such file (a fit is saved by `bayescale fit`).")
    try:
        tree = read_tree(path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise PosteriorFileError(
            f"{path} cannot be read as a saved fit: it is not a netCDF file bayescale wrote "
            f"(truncated, or another format: {type(e).__name__}: {str(e)[:120]})."
        ) from None
    return path, tree


def _check_custom_law(path: Path, tree: xr.DataTree, model: Model) -> None:
    """Refuse a custom law whose inputs or parameters are not those the saved fit was drawn for.

    Its code cannot be saved, but its inputs (the saved centring's) and its parameters (the
    posterior's scalar sites beside the model's own) can be compared.
    """
    try:
        saved_inputs = set(json.loads(tree.attrs.get("bayescale_scale", "{}"))["log_ref"])
    except (json.JSONDecodeError, KeyError, TypeError):
        saved_inputs = None  # the load checks below name a damaged file
    law = model.law
    if saved_inputs is not None and saved_inputs != set(law.inputs):
        raise SpecificationError(
            f"{path} holds a fit of a law of {sorted(saved_inputs)}; the law given reads "
            f"{list(law.inputs)}: pass the custom law the fit was drawn with."
        )
    own = {p.name for p in law.parameters} | MODEL_SITES
    lacking = [p.name for p in law.parameters if p.name not in tree["posterior"].data_vars]
    if lacking:
        raise SpecificationError(
            f"{path} holds no draws of the law's parameter(s) {lacking}: pass the custom law "
            "the fit was drawn with."
        )
    extra = [
        str(k)
        for k, v in tree["posterior"].data_vars.items()
        if set(v.dims) <= {"chain", "draw"} and k not in own and not str(k).startswith("sd_")
    ]
    if extra:
        raise SpecificationError(
            f"{path} holds draws of {extra}, which the law given has no parameter for (its "
            f"parameters: {[p.name for p in law.parameters]}): pass the custom law the fit was "
            "drawn with."
        )


def _shown_law(law: Any) -> str:
    """Name a ``law=`` argument in a message (a law's repr holds its functions and priors)."""
    if isinstance(law, Law):
        return f"{type(law).__name__}({law.name!r})"
    return f"{law!r:.60}"


def load_posterior(path: str | Path, law: Law | None = None) -> ScalingPosterior:
    """Read a posterior written by :meth:`ScalingPosterior.to_netcdf`.

    Parameters
    ----------
    path : str or Path
        The netCDF file.
    law : Law, optional
        The law of a fit with a custom law (which cannot be saved as text).

    Returns
    -------
    ScalingPosterior
        The fit, with its model rebuilt from the saved spec.

    Raises
    ------
    PosteriorFileError
        When the file is missing, is not a fit bayescale wrote, or was damaged.
    SpecificationError
        When the fit's law is a custom one and ``law`` is not given.

    Examples
    --------
    >>> path = post.to_netcdf("fit.nc")
    >>> loaded = bs.load_posterior(path)
    >>> loaded.model == post.model, loaded.posterior["alpha"].shape
    (True, (2, 1000))
    """
    path, tree = read_saved_tree(path)
    if ATTR_MODEL not in tree.attrs:
        if "bayescale_two_step" in tree.attrs:
            raise PosteriorFileError(
                f"{path} holds a two-step fit (TwoStepModel); read it with "
                "bs.TwoStepPosterior.from_netcdf (the command line's verbs read one-step fits)."
            )
        raise PosteriorFileError(f"{path} was not written by bayescale (no model attributes).")
    try:
        spec = json.loads(tree.attrs[ATTR_MODEL])
    except (json.JSONDecodeError, TypeError) as e:
        raise PosteriorFileError(
            f"{path}: its model attribute is not valid JSON ({e}); the file was edited or damaged."
        ) from None
    if not isinstance(spec, dict):
        raise PosteriorFileError(
            f"{path}: its model attribute is JSON but not a model's spec (a "
            f"{type(spec).__name__}); the file was edited or damaged."
        )
    entry = spec.get("law")
    if law is None and isinstance(entry, dict) and entry.get("name") == "custom":
        raise SpecificationError(  # not a damaged file: the law's code is not in it
            f"{path} holds a fit of a custom law, which cannot be saved as text: pass law=.",
            command_line=f"{path} holds a fit of a custom law, whose code the file cannot hold, "
            "so the command line cannot read it: load it in Python with "
            "bs.load_posterior(path, law=<the CustomLaw it was drawn with>).",
        )
    custom = isinstance(entry, dict) and entry.get("name") == "custom"
    if custom and not (isinstance(law, Law) and type(law).name == "custom"):
        raise SpecificationError(  # not a damaged file: the argument is of the wrong kind
            f"{path} holds a fit of a custom law: law= must be the bayescale.laws.CustomLaw it "
            f"was drawn with, got {_shown_law(law)}."
        )
    if law is not None and isinstance(entry, dict) and entry.get("name") != "custom":
        given = law if isinstance(law, Law) else None
        if isinstance(law, str):
            try:
                given = _laws.get(law)
            except ValueError:
                given = None
        same = (
            given is not None
            and type(given).name != "custom"
            and ({"name": given.name, "config": given.config()} == saved_spec(spec)["law"])
        )
        if not same:  # its draws would be read as another law's parameters
            saved = saved_spec(spec)["law"]
            raise SpecificationError(
                f"{path} holds a fit of the {entry.get('name')} law (configured "
                f"{saved.get('config') or 'by default'}), which the file names; "
                f"law={_shown_law(law)} would read its draws as another law's. Drop law= (it is "
                "for fits of a custom law)."
            )
        law = None
    try:
        with rebuilding_saved_fit():
            model = Model.from_spec(saved_spec(spec), law=law)
    except (SpecificationError, KeyError, TypeError, ValueError) as e:
        raise PosteriorFileError(
            f"{path}: its model attribute is not a spec this bayescale can rebuild ({e}); the "
            "file was edited, damaged or written by another version."
        ) from None
    if "posterior" not in tree.children:
        raise PosteriorFileError(f"{path} has no posterior group: it holds no fit.")
    if type(model.law).name == "custom":  # the user's law: does it match the file's?
        _check_custom_law(path, tree, model)
    effect_sites = [sd_site(site, t) for site, ts in model.effects.items() for t in ts]
    missing = [p.name for p in model.law.parameters] + effect_sites
    missing = [name for name in missing if name not in tree["posterior"].data_vars]
    if missing:
        raise PosteriorFileError(
            f"{path}: the posterior lacks the variables {missing} of its model (the "
            f"{model.law.name} law and its effects); the file was edited or damaged."
        )
    posterior = tree["posterior"]
    if posterior.sizes.get("chain", 0) * posterior.sizes.get("draw", 0) == 0:
        raise PosteriorFileError(
            f"{path}: its posterior holds no draws; the file was edited or damaged: refit and "
            "save it again (`bayescale fit`)."
        )
    broken = [  # every site, not only the law's: predictions read the noise and effects too
        str(name)
        for name, v in posterior.data_vars.items()
        if v.dtype.kind in "fc" and not np.all(np.isfinite(np.asarray(v.values)))
    ]
    if broken:
        raise PosteriorFileError(
            f"{path}: the posterior draws of {broken} are not all finite (NaN or inf), which a "
            "fit does not write; the file was edited or damaged: refit and save it again "
            "(`bayescale fit`)."
        )
    if "observed_data" not in tree.children:
        raise PosteriorFileError(
            f"{path} has no observed_data group: the file was edited or damaged; refit and save "
            "it again (`bayescale fit`)."
        )
    try:
        post = ScalingPosterior.from_tree(tree, model)
    except (KeyError, ValueError, TypeError) as e:  # an attribute or variable removed or mangled
        raise PosteriorFileError(
            f"{path} cannot be read back as a fit ({type(e).__name__}: {str(e)[:120]}): the file "
            "was edited or damaged; refit and save it again (`bayescale fit`)."
        ) from None
    if type(model.law).name == "custom":  # same names, but the same function?
        _check_custom_law_values(path, post)
    return post


#: How far a custom law given to ``load_posterior`` may replicate the fitted rows from the saved
#: fit's own replicates: the medians' gap over the replicates' scatter (their interquartile
#: range over 1.349), median over rows. The same law differs by the medians' Monte Carlo error
#: (about 1.25 / sqrt(draws) of the scatter, 0.06 at 400 draws); ten times its losses by
#: hundreds.
CUSTOM_LAW_TOLERANCE = 1.0


def _check_custom_law_values(path: Path, post: ScalingPosterior) -> None:
    """Refuse a custom law whose values at the fitted rows are not the saved fit's.

    A law's code is not saved; its names are checked by :func:`_check_custom_law`. Here the
    fitted rows are replicated with the law given, as the fit's own replicates were saved (each
    row's effects, run and noise), and each row's median is compared with the saved one, in
    units of the saved replicates' scatter: the same law differs by Monte Carlo error, another
    one (``10 * f``) by far more.
    """
    replicates = post.tree.children.get("posterior_predictive")
    if replicates is None or "loss" not in replicates:
        return  # a file written without replicates: nothing to compare with
    again = fitted_replicates(post, seed=1)  # as the saved ones were: effects, runs, noise
    with np.errstate(divide="ignore", invalid="ignore"):
        again = again.reshape(-1, again.shape[-1])
        saved = np.asarray(replicates["loss"].values).reshape(-1, again.shape[-1])
        q25, q50, q75 = np.quantile(saved, [0.25, 0.5, 0.75], axis=0)
        spread = np.maximum((q75 - q25) / 1.349, 1e-12)  # the replicates' own scatter per row
        off = np.abs(np.nanmedian(again, axis=0) - q50) / spread
    gap = float(np.median(off)) if np.all(np.isfinite(off)) else np.inf
    if gap > CUSTOM_LAW_TOLERANCE:
        raise SpecificationError(
            f"{path}: the custom law given replicates the fitted rows {gap:.2g} of their "
            "scatter (median over rows) from the saved fit's replicates: it is not the function "
            "the fit was drawn with; pass that law (its names alone match)."
        )


__all__ = ["CUSTOM_LAW_TOLERANCE", "load_posterior", "read_saved_tree", "saved_spec"]
