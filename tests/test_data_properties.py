"""Property-based tests of the data boundary (hypothesis): a random table with random defects
ends in a ``DataError`` that names a defective column, or is taken whole, never trimmed."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bayescale as bs

COLUMNS = ("params", "tokens", "loss")
#: Defects that must end in an error naming the column (value defects on a numeric column).
VALUE_DEFECTS = {
    "nan": np.nan,
    "inf": np.inf,
    "-inf": -np.inf,
    "zero": 0.0,
    "negative": -1.0,
    "text": "n/a",
}


@st.composite
def tables(draw):
    """A valid table of 10-30 runs in two families (enough for the law), then 0-3 defects."""
    n = draw(st.integers(10, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    params = 10 ** rng.uniform(6, 11, n)
    df = pd.DataFrame(
        {
            "params": params,
            "tokens": params * 10 ** rng.uniform(0, 2.5, n),
            "loss": rng.uniform(1.5, 5.0, n),
            "family": np.where(np.arange(n) % 2 == 0, "a", "b"),
        }
    )
    defects = draw(
        st.lists(
            st.one_of(
                st.tuples(
                    st.sampled_from(sorted(VALUE_DEFECTS)),
                    st.sampled_from(COLUMNS),
                    st.integers(0, n - 1),
                ),
                st.tuples(st.just("drop"), st.sampled_from((*COLUMNS, "family")), st.just(0)),
                st.tuples(st.just("no label"), st.just("family"), st.integers(0, n - 1)),
            ),
            max_size=3,
        )
    )
    broken: set[str] = set()
    for kind, col, row in defects:
        if col not in df.columns:
            continue
        if kind == "drop":
            df = df.drop(columns=col)
        elif kind == "no label":
            df.loc[row, col] = None
        else:
            value = VALUE_DEFECTS[kind]
            if isinstance(value, str):
                df[col] = df[col].astype(object)
            df.loc[row, col] = value
        broken.add(col)
    return df, broken


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(tables())
def test_a_defective_table_is_refused_naming_the_column_or_taken_whole(case):
    df, broken = case
    model = bs.Model(effects={"E": "family"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.DataWarning)  # plausibility notes are not refusals
        try:
            data = model.prepare(df)
        except bs.DataError as e:
            assert broken, f"a valid table was refused: {e}"
            assert any(f"'{c}'" in str(e) for c in broken), (str(e), broken)
            return
    assert not broken, f"defects in {broken} passed silently"
    assert data.n == len(df)
    np.testing.assert_array_equal(data.loss, df["loss"].to_numpy(float))
    np.testing.assert_array_equal(data.x["N"], df["params"].to_numpy(float))
