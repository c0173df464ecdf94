"""Dataset cards and loaders (offline: the shared folder serves as the mirror)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale import datasets

SHARED_NAMES = [
    "epoch_chinchilla",
    "gadre2024_overtraining",
    "gemstones",
    "hitchhiker_colpret",
    "obsscaling",
    "revisiting_scaling_benchmark",
]


def test_a_card_for_every_shared_dataset(mirror):
    if not (mirror / "epoch_chinchilla" / "PROVENANCE.md").is_file():
        pytest.skip("the mirror is the loaders' cache (a clone without ../shared): no PROVENANCE")
    shared = sorted(p.name for p in mirror.iterdir() if (p / "PROVENANCE.md").is_file())
    assert shared == SHARED_NAMES
    assert set(shared) <= set(datasets.available())


@pytest.mark.parametrize("name", SHARED_NAMES)
def test_card_fields_and_checksums(mirror, name):
    card = datasets.card(name)
    for key in ("title", "repo", "commit", "license", "citation", "tables", "default_table"):
        assert card[key], key
    assert len(card["commit"]) == 40
    for table in card["tables"].values():
        for f in table["files"]:
            assert len(f["sha256"]) == 64
            assert (mirror / name / f["file"]).is_file(), f["file"]


@pytest.mark.parametrize("name", SHARED_NAMES)
def test_every_table_loads_without_dropping_rows(mirror, name):
    card = datasets.card(name)
    for table, spec in card["tables"].items():
        df = datasets.load(name, table)
        assert len(df) > 0
        assert df.attrs["dataset"] == name and df.attrs["table"] == table
        if spec.get("reader", "csv") in ("csv", "jsonl") and table != "instruct":
            path = mirror / name / spec["files"][0]["file"]
            raw = pd.read_json(path, lines=True) if path.suffix == ".jsonl" else pd.read_csv(path)
            assert len(df) == len(raw)


def test_epoch_columns(mirror):
    df = datasets.load("epoch_chinchilla")
    assert len(df) == 245
    np.testing.assert_allclose(df["tokens"], df["flops"] / (6 * df["params"]))


def test_gadre_loader_matches_the_tidy_table(mirror):
    df = datasets.load("gadre2024_overtraining")
    tidy = pd.read_csv(mirror / "gadre2024_overtraining" / "models_tidy.csv").sort_values("name")
    assert len(df) == len(tidy) == 104
    np.testing.assert_array_equal(df["name"], tidy["name"])
    for col in ("params", "tokens", "loss_openlm", "loss_c4_val", "loss_val_de-en_100"):
        np.testing.assert_allclose(df[col].to_numpy(float), tidy[col].to_numpy(float))
    assert set(df["family"]) == {"c4_original", "rpj", "rw_original"}
    # 6 N D in floats: in int64 it wrapped past 9.2e18 (24 of 104 budgets were negative)
    np.testing.assert_allclose(df["flops"], tidy["flops_6ND"].to_numpy(float), rtol=1e-12)
    assert df["flops"].dtype == float and (df["flops"] > 0).all()


def test_gadre_downstream_table(mirror):
    df = datasets.load("gadre2024_overtraining", "downstream")
    models = datasets.load("gadre2024_overtraining")
    assert len(df) == 104
    np.testing.assert_array_equal(df["name"], models["name"])
    np.testing.assert_allclose(df["loss_c4_val"], models["loss_c4_val"])
    acc = df[[c for c in df if c.startswith("acc_")]]
    assert acc.shape[1] == 46 and ((acc >= 0) & (acc <= 1)).all().all()
    assert df[[c for c in df if c.startswith("chance_")]].notna().all().all()
    assert df["chance_arc_easy"].iloc[0] == 0.25
    tasks = [f"acc_{t}" for t in datasets.GADRE_TASKS]
    np.testing.assert_allclose(df["error_avg"], 1 - df[tasks].mean(axis=1))
    # The 17 tasks are those where some 154M model is >= 10 points above chance.
    small = df[df["model_config"] == "d=576_l=24_h=8"]
    above = [c[4:] for c in acc if (small[c] - small[f"chance_{c[4:]}"]).max() >= 0.10]
    assert sorted(above) == sorted(datasets.GADRE_TASKS)


def test_si_counts_are_parsed(mirror):
    df = datasets.load("hitchhiker_colpret", "datablations")
    # the labels are '2.8B', '4.2B' and '8.7B': B is a billion
    assert df["params"].dtype == float
    assert sorted(df["params"].unique()) == [2.8e9, 4.2e9, 8.7e9]


def test_checksum_mismatch_is_an_error(mirror, tmp_path, monkeypatch):
    (tmp_path / "epoch_chinchilla").mkdir()
    bad = tmp_path / "epoch_chinchilla" / "svg_extracted_data.csv"
    shutil.copy(mirror / "epoch_chinchilla" / "svg_extracted_data.csv", bad)
    with open(bad, "a") as f:
        f.write("1,2,#000,1,1,#000,1\n")
    monkeypatch.setenv(datasets.MIRROR_ENV, str(tmp_path))
    with pytest.raises(datasets.DatasetError, match="sha256"):
        datasets.load("epoch_chinchilla")


def test_offline_without_mirror_says_how_to_fix(tmp_path, monkeypatch):
    # an empty cache of its own: another test's download (faked) is not found here
    monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(datasets.MIRROR_ENV, str(tmp_path))
    match = r"BAYESCALE_DATA_MIRROR=.*: that folder has no epoch_chinchilla/svg_extracted_data"
    with pytest.raises(datasets.DatasetError, match=match):
        datasets.load("epoch_chinchilla")
    # a mistyped mirror was told to set the variable it had set
    monkeypatch.setenv(datasets.MIRROR_ENV, str(tmp_path / "dataset"))
    with pytest.raises(datasets.DatasetError, match="that folder does not exist; point it at"):
        datasets.load("epoch_chinchilla")
    monkeypatch.delenv(datasets.MIRROR_ENV)
    with pytest.raises(datasets.DatasetError, match=r"Offline\? Point BAYESCALE_DATA_MIRROR at"):
        datasets.load("epoch_chinchilla")


def test_download_goes_to_the_cache_and_is_verified(mirror, tmp_path, monkeypatch):
    import io
    import urllib.request

    payload = (mirror / "epoch_chinchilla" / "svg_extracted_data.csv").read_bytes()
    urls = []

    def fake_urlopen(url, timeout):
        urls.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    monkeypatch.setenv(datasets.MIRROR_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path / "cache"))
    df = datasets.load("epoch_chinchilla")
    assert len(df) == 245
    assert urls == [
        "https://raw.githubusercontent.com/epoch-research/analyzing-chinchilla/"
        "92258837425e1b5f2851d624287f0120583a3d0e/data/svg_extracted_data.csv"
    ]
    assert (tmp_path / "cache" / "epoch_chinchilla" / "svg_extracted_data.csv").is_file()
    datasets.load("epoch_chinchilla")  # second time from the cache
    assert len(urls) == 1


def test_unknown_dataset_and_table():
    with pytest.raises(datasets.DatasetError, match="available"):
        datasets.load("nope")
    with pytest.raises(datasets.DatasetError, match="tables"):
        datasets.load("epoch_chinchilla", "nope")


def test_info_mentions_licence_and_citation():
    text = bs.datasets.info("epoch_chinchilla")
    assert "no LICENSE" in text and "2404.10102" in text


def test_revisiting_benchmark_curves(mirror):
    df = datasets.load("revisiting_scaling_benchmark")
    raw = sum(
        len(pd.read_csv(mirror / "revisiting_scaling_benchmark" / f))
        for f in ("benchmark.vision.csv", "benchmark.lang.csv")
    )
    assert len(df) == raw == 20282
    assert set(df["domain"]) == {"IC", "NMT", "LM", "BB"}
    assert set(df["split"]) == {"train", "test"}
    assert (df["split"] == "train").sum() == (df["training"] == 1).sum()
    assert (df["tokens"] > 0).all() and (df["loss"] > 0).all()
    lm = df[df["domain"] == "LM"]
    assert lm["model"].nunique() == 5 and lm["curve"].str.startswith("LM/val_loss/").all()
