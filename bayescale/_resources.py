"""Locate the folders shipped beside the package: model presets and dataset cards."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
#: Installed wheel name -> source-checkout name (see ``force-include`` in pyproject.toml).
_FOLDERS = {"_presets": "models", "_cards": "datasets"}


def resource_dir(name: str) -> Path:
    """Folder ``_presets`` or ``_cards`` of an installed package, else ``models``/``datasets``."""
    installed = _PACKAGE / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE.parent / _FOLDERS[name]
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"bayescale's {_FOLDERS[name]}/ folder is missing from {_PACKAGE}.")
