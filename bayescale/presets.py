"""Named model presets: small TOML files in ``models/`` (law, effects, priors, likelihood)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from bayescale._resources import resource_dir
from bayescale.errors import SpecificationError


def available_presets() -> list[str]:
    """Names of the shipped presets.

    Examples
    --------
    >>> from bayescale.presets import available_presets
    >>> available_presets()
    ['chinchilla', 'chinchilla_dataset', 'chinchilla_family', ...]
    >>> print(bs.Model.from_preset("chinchilla_family").describe_short())  # each names a Model
    'chinchilla', effects={'E': ['family'], 'A': ['family'], 'B': ['family']},
    likelihood='student_t'
    """
    return sorted(p.stem for p in resource_dir("_presets").glob("*.toml"))


def preset_path(name: str | Path) -> Path:
    """Path of a preset given by name or path.

    Parameters
    ----------
    name : str or Path
        A shipped preset's name (:func:`available_presets`), or the path of a ``.toml`` file.

    Returns
    -------
    Path
        The preset file.

    Raises
    ------
    SpecificationError
        When no preset has that name (the message lists those that do), or a path names no
        file.

    Examples
    --------
    >>> from bayescale.presets import available_presets, preset_path
    >>> available_presets()
    ['chinchilla', 'chinchilla_dataset', 'chinchilla_family', ...]
    >>> preset_path("chinchilla_family").name
    'chinchilla_family.toml'

    A copy edited as your own preset is found by its path:

    >>> from pathlib import Path
    >>> mine = Path("my_preset.toml")
    >>> _ = mine.write_text(preset_path("chinchilla_family").read_text())
    >>> preset_path(mine) == mine
    True
    """
    path = Path(name).expanduser()  # '~/my_preset.toml', as a shell reads it
    if path.suffix == ".toml" and path.is_file():
        return path
    shipped = resource_dir("_presets") / f"{name}.toml"
    # meant as a file: a .toml, a path, or a file that exists (a table given as the preset),
    # unless a shipped preset has that name
    if path.suffix == ".toml" or len(path.parts) > 1 or (path.is_file() and not shipped.is_file()):
        found = "is not a file" if path.exists() else "no such file"
        if path.is_dir():
            found = "is a folder"
        if path.is_file():
            found = f"is a {path.suffix or 'suffix-less'} file, not a preset (.toml)"
        if not path.exists() and (resource_dir("_presets") / path.name).is_file():
            found += f" (the shipped preset is named {path.stem!r}, without .toml)"
        raise SpecificationError(
            f"Preset file {str(name)!r}: {found}. Give the path of a preset TOML file, or "
            f"a shipped preset's name: {available_presets()}."
        )
    candidate = resource_dir("_presets") / f"{name}.toml"
    if not candidate.is_file():
        what = f"Unknown preset {name!r}"
        if path.is_dir():
            what = f"{name!r} is a folder, not a preset"
        raise SpecificationError(f"{what}; available: {available_presets()}.")
    return candidate


def read_preset(name: str | Path) -> dict:
    """Read a preset into a model spec (see :meth:`bayescale.Model.spec`).

    A preset has a ``[law]`` table (``name`` and optional ``config``), optional ``[effects]``
    (``E = "family"`` or a list), ``[priors]`` (text such as ``"Normal(0, 1)"``),
    ``likelihood``, ``scale``, ``run`` and ``[columns]``, and any other argument of
    :class:`bayescale.Model` as a top-level entry; :meth:`bayescale.Model.from_preset` refuses
    an entry that is none of these (a misspelling is not dropped).

    Parameters
    ----------
    name : str or Path
        A shipped preset's name or the path of a ``.toml`` file (:func:`preset_path`).

    Returns
    -------
    dict
        The spec, ready for :meth:`bayescale.Model.from_spec` (the preset's ``description``
        left out).

    Examples
    --------
    >>> from bayescale.presets import read_preset
    >>> spec = read_preset("chinchilla_family")
    >>> spec["law"], spec["effects"]
    ({'name': 'chinchilla', 'config': {}}, {'E': 'family', 'A': 'family', 'B': 'family'})
    >>> bs.Model.from_spec(spec)
    Model('chinchilla', effects={'E': ['family'], 'A': ['family'], 'B': ['family']},
          likelihood='student_t')
    """
    if not isinstance(name, str | Path):
        raise SpecificationError(
            f"preset={name!r}: give a shipped preset's name (available_presets()) or the path "
            "of a .toml file."
        )
    path = preset_path(name)
    try:
        # utf-8-sig: a file an editor saved as "UTF-8 with BOM" reads as it looks
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SpecificationError(
            f"Preset {str(path)!r} is not valid TOML ({e}); fix the file, starting from a "
            "shipped preset (models/)."
        ) from None
    if "law" not in raw or not isinstance(raw["law"], dict) or "name" not in raw["law"]:
        raise SpecificationError(
            f'Preset {name!r} has no [law] table with a name ([law] then name = "chinchilla"; '
            f"a bare law = ... line is not one)."
        )
    misplaced = sorted(set(raw["law"]) - {"name", "config"})
    if misplaced:
        raise SpecificationError(
            f"Preset {name!r}: {misplaced} in its [law] table, which takes only name and config. "
            "A key written after the [law] line belongs to that table: put model options such "
            "as centered = false above it."
        )
    spec = {k: v for k, v in raw.items() if k not in ("description",)}
    spec.setdefault("law", {}).setdefault("config", {})
    return spec
