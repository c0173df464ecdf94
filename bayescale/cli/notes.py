"""What a verb says of a saved fit beside its answer.

Labels as the fit spells them, groups left unlabelled, a fit that failed its diagnostics,
intervals placed on too few draws.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd

from bayescale.cli.options import UsageError, percent
from bayescale.diagnostics import prior_bound_message
from bayescale.laws.base import INPUTS
from bayescale.posterior import ScalingPosterior
from bayescale.sites import RUN, terms_of


def _spell(label: Any, fitted: set[str], spelled: dict[str, str]) -> Any:
    """``label``, or the fitted level it is once both are stripped of surrounding spaces."""
    if isinstance(label, str) and label not in fitted:
        return spelled.get(label.strip(), label)
    return label


def spelled_as_fitted(post: ScalingPosterior, values: dict[str, Any]) -> dict[str, Any]:
    """Labels as a fit spells them, where it kept spaces around them that the CLI strips.

    The command line reads labels without surrounding spaces (``--group``, a points file); a
    fit made from a file written ``f0, f1`` before it did so keeps ``' f0'``. A label that is no
    fitted level but is one fitted level once both are stripped is given as that level.
    """
    out = dict(values)
    for column, given in values.items():
        if column not in post.posterior.coords or column in INPUTS or column in INPUTS.values():
            continue
        padded = [lab for lab in post.group_labels(column) if lab != lab.strip()]
        if not padded:
            continue
        fitted = set(post.group_labels(column))
        spelled = {lab.strip(): lab for lab in padded}
        if np.ndim(given):
            out[column] = np.array([_spell(v, fitted, spelled) for v in given], dtype=object)
        else:
            out[column] = _spell(given, fitted, spelled)
    return out


def print_prior_bounds(diag: pd.DataFrame) -> None:
    """Print the warning of draws piled against a prior's bound, where the fit has one."""
    note = prior_bound_message(diag)
    if note is not None:
        print(f"WARNING: {note}", file=sys.stderr)


def note_unlabelled(post, labelled: set, what: str, where: str, also: str = "") -> None:
    """Say which group terms got no label: ``what`` is then for a new level of each."""
    unlabelled = [t.name for t in terms_of(post.model.effects) if not set(t.columns) <= labelled]
    if unlabelled:
        print(
            f"(no label for {unlabelled}: {what} is for a new {' and '.join(unlabelled)}, "
            f"its effects drawn from the population; label {where} with --group COLUMN=LABEL "
            f"{also}for a fitted one)"
        )


def warn_failed_fit(post, path: str) -> None:
    """Say on stderr when a saved fit failed its diagnostics: what it answers is suspect."""
    diag = post.diagnostics(warn=False)
    if not diag.attrs["ok"]:
        none = diag.attrs.get("ess_importance") == 0  # no proposal carried weight
        print(
            f"warning: the fit {path} failed its diagnostics, so what follows rests on draws "
            "that cannot be trusted"
            + (
                " (its importance sampling found no usable draw: every draw is the mode, and "
                "every interval has zero width; refit with --method nuts)"
                if none
                else ""
            )
            + f"; `bayescale summary {path}` says which check failed",
            file=sys.stderr,
        )


def refuse_idle_new_groups(post, new_groups: bool) -> None:
    """Refuse --new-groups for a fit with no group or run effect: it would change nothing."""
    if new_groups and not post.model.terms and RUN not in post.posterior.coords:
        raise UsageError(
            "--new-groups draws the effects of a group the fit has not seen, but this fit has "
            "no group effects (no --effects) nor run effect: it changes nothing; leave it out"
        )


def note_draws(n: int, prob: float) -> None:
    """Say so on stderr when too few draws lie beyond an interval's ends to place them."""
    if n * (1 - prob) / 2 < 2.5:
        print(
            f"note: {n} posterior draws place a {percent(prob)} interval's ends on their "
            f"{max(n * (1 - prob) / 2, 0):.2g} most extreme draws; refit with more draws or "
            "ask for a lower --prob",
            file=sys.stderr,
        )
