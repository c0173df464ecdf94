"""Public scaling-law datasets, fetched from their original source with a checksum and a cache.

Each dataset has a *card* in the ``datasets/`` folder (TOML): source repository and commit,
licence, citation, and its tables (files with sha256, column mapping to bayescale's roles,
derived columns). :func:`load` reads a table in this order:

1. a local mirror, the folder named by ``BAYESCALE_DATA_MIRROR`` (``<mirror>/<dataset>/<file>``),
   for offline use;
2. the cache, ``BAYESCALE_CACHE_DIR`` or ``~/.cache/bayescale``;
3. the source, ``https://raw.githubusercontent.com/<repo>/<commit>/<path>``, then cached.

Every file is checked against its sha256. No row is dropped: loaders only rename and add columns.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from bayescale._resources import resource_dir

MIRROR_ENV = "BAYESCALE_DATA_MIRROR"
CACHE_ENV = "BAYESCALE_CACHE_DIR"


class DatasetError(RuntimeError):
    """A dataset cannot be found, fetched or verified.

    Examples
    --------
    >>> bs.datasets.card("no_such_dataset")
    Traceback (most recent call last):
    ...
    bayescale.datasets.DatasetError: Unknown dataset 'no_such_dataset'; available: [...].
    """


def _cards_dir() -> Path:
    return resource_dir("_cards")


def available() -> list[str]:
    """Names of the datasets with a card.

    Examples
    --------
    >>> names = bs.datasets.available()
    >>> names
    ['epoch_chinchilla', 'gadre2024_overtraining', ...]
    >>> bs.datasets.card(names[0])["title"]  # each name has a card (:func:`card`)
    'Chinchilla (Hoffmann et al. 2022, Fig. 4) final losses, reconstructed by Epoch AI'
    """
    return sorted(p.stem for p in _cards_dir().glob("*.toml"))


def card(name: str) -> dict:
    """Read the card of dataset ``name``.

    Parameters
    ----------
    name : str
        Dataset name (see :func:`available`).

    Returns
    -------
    dict
        The card: ``title``, ``repo``, ``commit``, ``license``, ``citation``,
        ``default_table`` and ``tables`` (each with its ``files``: ``file``, ``source``,
        ``sha256``).

    Raises
    ------
    DatasetError
        When no card has that name.

    Examples
    --------
    >>> card = bs.datasets.card("epoch_chinchilla")
    >>> card["repo"], card["default_table"]
    ('epoch-research/analyzing-chinchilla', 'runs')
    >>> [f["file"] for f in card["tables"]["runs"]["files"]]
    ['svg_extracted_data.csv']
    """
    if not isinstance(name, str) or name not in available():  # not a path to any .toml
        raise DatasetError(f"Unknown dataset {name!r}; available: {available()}.")
    path = _cards_dir() / f"{name}.toml"
    with open(path, "rb") as f:
        return tomllib.load(f)


def info(name: str) -> str:
    """Human-readable description of a dataset: source, licence, citation, tables.

    Parameters
    ----------
    name : str
        Dataset name (see :func:`available`).

    Returns
    -------
    str
        One line each for the title, source (repository and commit), licence and citation,
        then one per table, followed by the source's columns the loader renames and the
        columns it derives (the other columns keep the source's names).

    Examples
    --------
    >>> print(bs.datasets.info("epoch_chinchilla"))
    epoch_chinchilla: Chinchilla (Hoffmann et al. 2022, Fig. 4) final losses, ...
      source:   https://github.com/epoch-research/analyzing-chinchilla @ ...
      licence:  none: the repository has no LICENSE file ...
      citation: Besiroglu, Erdil, Barnett, You. Chinchilla Scaling: A replication attempt. ...
      tables:
        runs (default): One row per training run: params, flops, tokens (derived), loss ...
          renamed:  'Model Size' -> params, 'Training FLOP' -> flops
          derived:  tokens = flops / (6 * params)
    """
    c = card(name)
    lines = [
        f"{name}: {c['title']}",
        f"  source:   https://github.com/{c['repo']} @ {c['commit']}",
        f"  licence:  {c['license']}",
        f"  citation: {c['citation']}",
        "  tables:",
    ]
    for t, spec in c["tables"].items():
        default = " (default)" if t == c.get("default_table") else ""
        lines.append(f"    {t}{default}: {spec.get('description', '')}")
        renamed = [f"{source!r} -> {role}" for source, role in spec.get("columns", {}).items()]
        if renamed:
            lines.append(f"      renamed:  {', '.join(renamed)}")
        derived = [f"{col} = {expr}" for col, expr in spec.get("derive", {}).items()]
        if derived:
            lines.append(f"      derived:  {', '.join(derived)}")
    return "\n".join(lines)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(name: str, file: dict, c: dict | None = None) -> Path:
    """Return a verified local path of one file of a dataset (mirror, cache, then source).

    Parameters
    ----------
    name : str
        Dataset name.
    file : dict
        One entry of a table's ``files`` in the card (``file``, ``source``, ``sha256``).
    c : dict, optional
        The card, when already read.

    Returns
    -------
    pathlib.Path
        The file in the mirror or the cache, its sha256 checked.

    Raises
    ------
    DatasetError
        When the file cannot be downloaded or does not match its sha256.

    Examples
    --------
    The raw file behind ``bs.datasets.load("epoch_chinchilla")``, which keeps every row of it:

    >>> card = bs.datasets.card("epoch_chinchilla")
    >>> path = bs.datasets.fetch("epoch_chinchilla", card["tables"]["runs"]["files"][0])
    >>> path.name
    'svg_extracted_data.csv'
    >>> len(pd.read_csv(path)) == len(bs.datasets.load("epoch_chinchilla"))
    True
    """
    c = c or card(name)
    if not isinstance(file, Mapping) or not {"file", "sha256", "source"} <= set(file):
        raise DatasetError(
            f"fetch({name!r}, file): file must be one entry of the card's files, a dict with "
            f"'file', 'sha256' and 'source' (e.g. card({name!r})['tables'][...]['files'][0]); "
            f"got {file!r}."
        )
    rel, sha = file["file"], file["sha256"]
    if not isinstance(rel, str) or not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise DatasetError(  # it would be read or written outside the dataset's own folder
            f"fetch({name!r}, file): file['file']={rel!r} must be a path inside the dataset's "
            f"folder (relative, without '..'), as the card's entries are."
        )
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        path = Path(mirror) / name / rel
        if path.is_file():
            if _sha256(path) != sha:
                raise DatasetError(
                    f"{path} (in {MIRROR_ENV}={mirror}) does not match the card's sha256 {sha}: "
                    "the mirror's copy differs from the pinned source (edited, truncated or "
                    f"another version). Copy {name}/{rel} again from the source, or unset "
                    f"{MIRROR_ENV} to download it."
                )
            return path
    cache = Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "bayescale"))
    path = cache / name / rel
    if path.is_file() and _sha256(path) == sha:
        return path
    url = f"https://raw.githubusercontent.com/{c['repo']}/{c['commit']}/{file['source']}"
    tmp = path.with_suffix(path.suffix + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        open(tmp, "wb").close()  # the cache is writable before anything is downloaded
    except OSError as e:
        where = f"{CACHE_ENV}={cache}" if CACHE_ENV in os.environ else f"the cache {cache}"
        raise DatasetError(
            f"Cannot write {name}/{rel} into {where} ({type(e).__name__}: {e.strerror or e}): "
            f"point {CACHE_ENV} at a folder you can write to"
            + ("" if mirror else f", or {MIRROR_ENV} at a folder holding {name}/{rel}")
            + "."
        ) from None
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
            f.write(r.read())
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if mirror:  # the mirror was tried first: say why it did not serve the file
            why = (
                "it is a file, not a folder"
                if Path(mirror).is_file()
                else "that folder does not exist"
                if not Path(mirror).is_dir()
                else f"it holds a folder, not a file, at {name}/{rel}"
                if (Path(mirror) / name / rel).is_dir()
                else f"that folder has no {name}/{rel}"
            )
            hint = f" {MIRROR_ENV}={mirror}: {why}; point it at the folder holding"
        else:
            hint = f" Offline? Point {MIRROR_ENV} at a folder holding"
        raise DatasetError(f"Could not download {url} ({e}).{hint} {name}/{rel}.") from None
    if _sha256(tmp) != sha:
        tmp.unlink()
        raise DatasetError(f"{url} does not match the card's sha256 {sha}; not cached.")
    tmp.replace(path)
    return path


# -- readers: file(s) -> DataFrame ---------------------------------------------------------------
def _read_csv(paths: list[Path], spec: dict) -> pd.DataFrame:
    return pd.read_csv(paths[0], **spec.get("read", {}))


def _read_jsonl(paths: list[Path], spec: dict) -> pd.DataFrame:
    return pd.read_json(paths[0], lines=True)


def _eval_set(val_data: str) -> str:
    parts = val_data.split("/")
    stem = parts[-1].split(".")[0]
    return stem if stem.startswith("val_") else parts[-2]


def _read_gadre_models(paths: list[Path], spec: dict) -> pd.DataFrame:
    """One row per Gadre et al. model JSON: config, and the loss on each eval set."""
    rows = []
    for path in paths:
        with open(path) as f:
            m = json.load(f)
        hp = m["hyperparameters"]
        row = {
            "name": m["name"],
            "dataset": m["dataset_name"],
            "model_config": hp["model"].split("/")[-1].removesuffix(".json"),
            "params": hp["params"],
            "params_no_embed": hp["params_no_embed"],
            "tokens": hp["tokens"],
            "chinchilla_multiplier": hp["chinchilla_multiplier"],
            "lr": hp["lr"],
            "wd": hp["wd"],
            "warmup": hp["warmup"],
            "global_bs": hp["global_bs"],
        }
        for r in m["results"]:
            row[f"loss_{_eval_set(r['val_data'][0])}"] = r["loss"]
        rows.append(row)
    return pd.DataFrame(rows).sort_values("name", kind="stable").reset_index(drop=True)


#: Gadre et al. 2024's 17 tasks (section 5): those on which a 154M model scores at least 10
#: points above chance. ``error_avg`` is the mean top-1 error over them, their downstream target.
GADRE_TASKS = (
    "arc_easy",
    "bigbench_cs_algorithms",
    "bigbench_dyck_languages",
    "bigbench_novel_concepts",
    "bigbench_operators",
    "bigbench_qa_wikidata",
    "boolq",
    "commonsense_qa",
    "copa",
    "coqa",
    "hellaswag",
    "hellaswag_zeroshot",
    "lambada_openai",
    "piqa",
    "pubmed_qa_labeled",
    "squad",
    "winograd",
)


def _read_gadre_downstream(paths: list[Path], spec: dict) -> pd.DataFrame:
    """Gadre et al. models joined with their downstream accuracies, one row per model.

    Adds ``acc_<task>`` (accuracy in [0, 1] on each LLM-Foundry task of the model's eval
    JSON), ``chance_<task>`` (the task's random baseline from ``eval_metadata.csv``, as a
    fraction) and ``error_avg``, the mean top-1 error over :data:`GADRE_TASKS`. A model
    without its eval file, or an eval file without its model, is an error.
    """
    models = _read_gadre_models([p for p in paths if p.parent.name == "models"], spec)
    rows = {}
    for path in (p for p in paths if p.parent.name == "evals"):
        with open(path) as f:
            icl = json.load(f)["eval_metrics"]["icl"]
        name = path.name.removeprefix("evaluation_").removesuffix("_heavy.json")
        rows[name] = {f"acc_{task}": float(v) for task, v in icl.items()}
    missing = sorted(set(models["name"]) ^ set(rows))
    if missing:
        raise DatasetError(f"Gadre downstream: models and eval files do not match: {missing}.")
    acc = pd.DataFrame.from_dict(rows, orient="index")
    df = models.join(acc, on="name")
    meta = pd.read_csv(next(p for p in paths if p.name == "eval_metadata.csv"))
    chance = dict(zip(meta["Eval Task"], meta["Random baseline"] / 100.0, strict=True))
    for col in acc.columns:
        task = col.removeprefix("acc_")
        df[f"chance_{task}"] = chance.get(task, np.nan)
    df["error_avg"] = 1.0 - df[[f"acc_{t}" for t in GADRE_TASKS]].mean(axis=1)
    return df


def _read_revisiting(paths: list[Path], spec: dict) -> pd.DataFrame:
    """Alabdulmohsin et al.'s benchmark files, concatenated, one row per point of a curve.

    Columns: ``domain``, ``task``, ``model`` (text), ``curve`` (``domain/task/model``, one
    learning curve), ``tokens`` (examples seen), ``loss``, ``training`` (1: fit on it) and
    ``split`` (``"train"`` or ``"test"``). Every row of every file is kept.
    """
    frames = [pd.read_csv(p, dtype={"Model": str, "Task": str, "Domain": str}) for p in paths]
    df = pd.concat(frames, ignore_index=True)
    df = df.rename(
        columns={
            "Domain": "domain",
            "Task": "task",
            "Model": "model",
            "Seen Examples": "tokens",
            "Loss": "loss",
            "Training": "training",
        }
    )
    df["curve"] = df["domain"] + "/" + df["task"] + "/" + df["model"]
    df["split"] = np.where(df["training"] == 1, "train", "test")
    return df


READERS: dict[str, Callable[[list[Path], dict], pd.DataFrame]] = {
    "csv": _read_csv,
    "jsonl": _read_jsonl,
    "gadre_models": _read_gadre_models,
    "gadre_downstream": _read_gadre_downstream,
    "revisiting": _read_revisiting,
}

_SI = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def _parse_si(value: object) -> float:
    """``"2.8B"`` -> 2.8e9; numbers pass through."""
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMBT]?)\s*", str(value))
    if not m:
        raise DatasetError(f"Cannot read {value!r} as a count such as '2.8B'.")
    return float(m.group(1)) * _SI.get(m.group(2), 1.0)


def load(name: str, table: str | None = None) -> pd.DataFrame:
    """Load a table of a dataset as a long-format DataFrame with bayescale's column roles.

    Parameters
    ----------
    name : str
        Dataset name (see :func:`available`).
    table : str, optional
        Table of the dataset; its card's ``default_table`` when omitted.

    Returns
    -------
    pandas.DataFrame
        Every row of the source; columns renamed to roles (``params``, ``tokens``, ``flops``,
        ``loss``, ``run``, ``step``, group columns) and derived columns added. ``df.attrs``
        holds the dataset name, table, source and citation.

    Raises
    ------
    DatasetError
        When the dataset or table is unknown, or a file cannot be fetched or verified.

    Examples
    --------
    Hoffmann et al.'s Chinchilla runs as Epoch AI reconstructed them:

    >>> chinchilla = bs.datasets.load("epoch_chinchilla")
    >>> chinchilla.shape
    (245, 8)
    >>> bool(chinchilla[["params", "tokens", "flops", "loss"]].notna().all().all())
    True
    >>> chinchilla.attrs["dataset"], chinchilla.attrs["table"]
    ('epoch_chinchilla', 'runs')
    """
    c = card(name)
    table = c.get("default_table") if table is None else table  # "" and 0 are no table
    if not isinstance(table, str) or table not in c["tables"]:
        raise DatasetError(
            f"Dataset {name!r} has no table {table!r}; tables: {sorted(c['tables'])}."
        )
    spec = c["tables"][table]
    paths = [fetch(name, f, c) for f in spec["files"]]
    df = READERS[spec.get("reader", "csv")](paths, spec)
    for col in spec.get("si_columns", []):
        df[col] = df[col].map(_parse_si)
    df = df.rename(columns=spec.get("columns", {}))
    for col, expr in spec.get("derive", {}).items():
        # in floats: 6 * params * tokens passes int64's 9.2e18 at a 400M model on 4B tokens
        ints = df.select_dtypes("integer").columns
        df[col] = df.astype(dict.fromkeys(ints, float)).eval(expr)
    df.attrs.update(
        {
            "dataset": name,
            "table": table,
            "source": f"https://github.com/{c['repo']}/tree/{c['commit']}",
            "license": c["license"],
            "citation": c["citation"],
        }
    )
    return df


__all__ = [
    "GADRE_TASKS",
    "MIRROR_ENV",
    "DatasetError",
    "available",
    "card",
    "fetch",
    "info",
    "load",
]
