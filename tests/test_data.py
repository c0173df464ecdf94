"""Bad input is rejected at the boundary with a message naming the column and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.data import prepare


@pytest.fixture
def runs():
    return bs.simulate_ladder(families=3, seeds=2, seed_sd=0.05, seed=3)


def fit_data(df, **model_kwargs):
    return bs.Model(**model_kwargs).prepare(df)


def test_valid_table_becomes_arrays_and_coords(runs):
    data = fit_data(runs, effects={"E": "family", "A": ["family", "family:seed"]})
    assert data.n == len(runs)
    assert data.groups["family"].labels == ("f0", "f1", "f2")
    assert data.groups["family:seed"].labels == ("f0:0", "f0:1", "f1:0", "f1:1", "f2:0", "f2:1")
    np.testing.assert_array_equal(data.x["N"], runs["params"].to_numpy())
    assert data.scale.log_ref["N"] == pytest.approx(np.mean(np.log(runs["params"])))
    assert data.run is None  # every row is its own run: no run effect


def test_flops_default_to_6ND(runs):
    df = runs.drop(columns="flops")
    data = prepare(df, inputs=("C",))
    np.testing.assert_allclose(data.x["C"], 6 * runs["params"] * runs["tokens"])


def test_column_mapping(runs):
    df = runs.rename(columns={"params": "Model Size", "loss": "val_loss"})
    data = fit_data(df, columns={"params": "Model Size", "loss": "val_loss"})
    assert data.n == len(runs)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.drop(columns="tokens"), r"Missing column 'tokens'.*Columns present"),
        (lambda d: d.drop(columns="loss"), r"Missing column 'loss'"),
        (
            lambda d: d.assign(params=d["params"].where(d.index != 4)),
            r"'params'.*missing \(NaN\).*\[4\]",
        ),
        (
            lambda d: d.assign(loss=d["loss"].where(d.index != 2)),
            r"'loss'.*missing \(NaN\).*dropna",
        ),
        (lambda d: d.assign(tokens=d["tokens"].mask(d.index == 1, np.inf)), r"'tokens'.*infinite"),
        (lambda d: d.assign(params=d["params"].mask(d.index == 0, -5.0)), r"'params'.*must be > 0"),
        (lambda d: d.assign(tokens=d["tokens"].mask(d.index == 0, 0.0)), r"'tokens'.*must be > 0"),
        (lambda d: d.assign(loss=d["loss"].mask(d.index == 3, -1.0)), r"'loss'.*must lie in"),
        (lambda d: d.assign(loss=d["loss"].mask(d.index == 3, 0.0)), r"'loss'.*must lie in"),
        (
            lambda d: d.assign(params=d["params"].astype(object).mask(d.index == 5, "7B")),
            r"'params'.*non-numeric.*'7B'.*to_numeric",
        ),
        (
            lambda d: d.assign(tokens=d["tokens"].astype(str)),
            r"'tokens'.*numbers stored as .*astype\(float\)",
        ),
        (lambda d: d.iloc[:0], r"empty"),
        (lambda d: d.iloc[:4], r"4 row\(s\) for a model with \d+ parameters"),
    ],
    ids=[
        "missing-tokens",
        "missing-loss",
        "nan-params",
        "nan-loss",
        "inf",
        "negative-N",
        "zero-D",
        "negative-loss",
        "zero-loss",
        "string-in-numeric",
        "numbers-as-text",
        "empty",
        "too-few-rows",
    ],
)
def test_bad_input(runs, mutate, match):
    with pytest.raises(bs.DataError, match=match):
        fit_data(mutate(runs.copy()))


def test_negative_flops(runs):
    df = runs.copy()
    df.loc[0, "flops"] = -1.0
    with pytest.raises(bs.DataError, match=r"'flops'.*must be > 0"):
        prepare(df, inputs=("C",))


def test_group_with_one_level(runs):
    df = runs.assign(family="only")
    with pytest.raises(bs.DataError, match=r"'family' has 1 level.*at least 2"):
        fit_data(df, effects={"E": "family"})


def test_missing_group_column(runs):
    with pytest.raises(bs.DataError, match=r"Group column 'dataset'.*missing"):
        fit_data(runs, effects={"E": "dataset"})


def test_missing_group_label(runs):
    df = runs.copy()
    df.loc[3, "family"] = None
    with pytest.raises(bs.DataError, match=r"'family' has missing labels at rows \[3\]"):
        fit_data(df, effects={"E": "family"})


def test_unknown_law_parameter_in_effects():
    with pytest.raises(bs.SpecificationError, match=r"'gamma'.*parameters are \['E', 'A'"):
        bs.Model(effects={"gamma": "family"})


def test_unknown_prior_site_and_bad_prior_text():
    with pytest.raises(bs.SpecificationError, match=r"zeta.*does not have"):
        bs.Model(priors={"zeta": "Normal(0, 1)"})
    with pytest.raises(bs.SpecificationError, match="not a numpyro distribution"):
        bs.Model(priors={"sigma": "Foo(1)"})
    with pytest.raises(bs.SpecificationError, match="numbers"):
        bs.Model(priors={"sigma": "HalfNormal(x)"})


def test_bad_likelihood_and_scale():
    with pytest.raises(bs.SpecificationError, match="likelihood"):
        bs.Model(likelihood="cauchy")
    with pytest.raises(bs.SpecificationError, match="scale"):
        bs.Model(scale="sqrt")


def test_checkpoints_need_a_run_column():
    df = bs.simulate_ladder().drop(columns="run")
    df["step"] = np.arange(len(df))
    with pytest.raises(bs.DataError, match=r"'step' column.*no 'run' column.*run=False"):
        fit_data(df)
    assert fit_data(df, run=False).run is None


def test_checkpoints_get_a_run_effect():
    df = bs.simulate_ladder()
    df["run"] = (np.arange(len(df)) // 5).astype(str)
    data = fit_data(df)
    assert data.run is not None and data.run.size == int(np.ceil(len(df) / 5))


def test_no_row_is_dropped(runs):
    data = fit_data(runs)
    assert data.n == len(runs)
    np.testing.assert_array_equal(data.index, runs.index.to_numpy())


def test_not_a_dataframe():
    with pytest.raises(bs.DataError, match="DataFrame"):
        prepare({"params": [1.0]}, inputs=("N",))


def test_bool_column_is_not_numeric(runs):
    df = runs.assign(loss=True)
    with pytest.raises(bs.DataError, match="'loss'"):
        fit_data(df)


def test_preset_loading():
    from bayescale.presets import available_presets

    assert {"chinchilla", "chinchilla_family"} <= set(available_presets())
    m = bs.Model.from_preset("chinchilla_family")
    family = (bs.Term(("family",)),)
    assert m.effect_terms("log_E") == family and m.effect_terms("B") == family
    assert "log_alpha" in m.priors
    m2 = bs.Model.from_preset("power_tokens")
    assert m2.law.inputs == ("D",)
    m3 = bs.Model.from_preset("chinchilla_family", likelihood="normal")
    assert m3.likelihood == "normal"
    with pytest.raises(bs.SpecificationError, match="Unknown preset"):
        bs.Model.from_preset("nope")


def test_a_preset_option_written_inside_the_law_table_is_refused(tmp_path):
    """TOML puts a key written after ``[law]`` into that table, where the model never read it
    (a ``centered = false`` silently ignored); above it, it is a model option."""
    inside = tmp_path / "inside.toml"
    inside.write_text('[law]\nname = "chinchilla"\ncentered = false\n')
    with pytest.raises(bs.SpecificationError, match=r"\['centered'\] in its \[law\] table"):
        bs.Model.from_preset(inside)
    above = tmp_path / "above.toml"
    above.write_text('centered = false\n\n[law]\nname = "chinchilla"\n')
    assert bs.Model.from_preset(above).centered is False


def test_a_preset_saved_with_a_byte_order_mark_reads_as_it_looks(tmp_path):
    # an editor's "UTF-8 with BOM" made it "not valid TOML (Invalid statement (at line 1,
    # column 1))", a line that looks right
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b'\xef\xbb\xbfcentered = false\n\n[law]\nname = "kaplan"\n')
    model = bs.Model.from_preset(bom)
    assert model.law.name == "kaplan" and model.centered is False


def test_a_misspelt_spec_or_preset_entry_is_refused_not_dropped(tmp_path):
    """A top-level entry no Model takes (``centred`` for ``centered``) was filtered out
    silently, so the fit ran with the default the user meant to change."""
    misspelt = tmp_path / "misspelt.toml"
    misspelt.write_text('centred = false\n\n[law]\nname = "chinchilla"\n')
    with pytest.raises(bs.SpecificationError, match=r"misspelt.toml.*\['centred'\].*'centered'"):
        bs.Model.from_preset(misspelt)
    with pytest.raises(bs.SpecificationError, match=r"from_preset: .*\['likelyhood'\]"):
        bs.Model.from_preset("chinchilla_family", likelyhood="normal")
    spec = bs.Model().spec()
    with pytest.raises(bs.SpecificationError, match=r"\['extrapolation_sclae'\]"):
        bs.Model.from_spec({**spec, "extrapolation_sclae": 0.1})
    assert bs.Model.from_spec(spec) == bs.Model()  # a saved spec's own entries all read back
    # every entry Model.spec() writes reads back (extrapolation_prior only when one is given)
    from bayescale.model import _SPEC_KEYS

    assert set(spec) | {"extrapolation_prior"} <= _SPEC_KEYS


def test_the_presets_the_pooling_evidence_chose():
    import tomllib

    from bayescale.presets import available_presets, preset_path

    dataset = (bs.Term(("dataset",)),)
    for name, law in (
        ("chinchilla_dataset", "chinchilla"),
        ("data_constrained_dataset", "data_constrained"),
    ):
        m = bs.Model.from_preset(name)
        assert m.effect_terms("log_E") == dataset and m.effect_terms("a") == dataset
        assert m.law.name == law
    assert bs.Model.from_preset("chinchilla_dataset").effect_terms("b") == dataset
    for name in available_presets():  # every preset builds a model and says what it is for
        # with today's defaults: a preset leaves the extrapolation error to Model (it read as an
        # old saved fit's and got the fixed drift until 2026-12-02)
        assert bs.Model.from_preset(name).extrapolation == bs.Model().extrapolation == "learned"
        with open(preset_path(name), "rb") as f:
            assert tomllib.load(f)["description"].strip()


def test_spec_roundtrip():
    m = bs.Model(effects={"E": "family"}, priors={"sigma": "HalfNormal(0.1)"}, likelihood="normal")
    m2 = bs.Model.from_spec(m.spec())
    assert m2.spec() == m.spec()
    assert "(1|family)" in m.describe()


def test_table_with_extra_columns_is_fine(runs):
    df = runs.assign(note="x", width=pd.Series(range(len(runs))))
    assert fit_data(df).n == len(runs)


def test_group_labels_near_duplicates_and_the_interaction_separator():
    """Labels differing in case or spaces warn; a ':' in an interaction's labels is refused."""
    fr = bs.simulate_ladder(families=3, budgets=(1e18, 1e19, 1e20), sizes_per_budget=4, seed=1)
    near = fr.assign(family=fr["family"].mask(fr.index % 2 == 0, fr["family"].str.upper()))
    with pytest.warns(bs.DataWarning, match=r"differ only in case.*\['F0', 'f0'\]"):
        bs.Model(effects={"A": "family"}).prepare(near)
    joined = fr.assign(family=fr["family"] + ":0", seed=fr.index % 2)
    with pytest.raises(bs.DataError, match=r"'family' has labels containing ':' .*'family:seed'"):
        bs.Model(effects={"A": ["family:seed"]}).prepare(joined)
    bs.Model(effects={"A": "family"}).prepare(joined)  # one column: no separator to clash with
