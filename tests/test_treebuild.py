"""The fit's tree is built as ArviZ's ``from_dict`` builds it (same variables, dims, coords)."""

import arviz_base
import numpy as np
import pytest
import xarray as xr

from bayescale.posterior import tree_coords, tree_dims
from bayescale.treebuild import dataset_from_arrays, tree_from_arrays


def _groups(post) -> dict:
    tree = post.draws_tree
    return {
        name: {k: tree[name][k].values for k in tree[name].data_vars}
        for name in ("posterior", "sample_stats", "log_likelihood", "observed_data")
    }


def test_same_tree_as_arviz_on_a_hierarchical_fit(hierarchy_fit):
    """Every group of a fit with family and family:seed effects, against ``from_dict``."""
    model = hierarchy_fit.model
    data = model.prepare(hierarchy_fit.fitted_table())
    groups = _groups(hierarchy_fit)
    groups["posterior"]["unnamed"] = np.zeros((4, 1000, 3, 2))  # dims ArviZ names itself
    coords, dims = tree_coords(data), tree_dims(model)
    ours = tree_from_arrays(groups, coords=coords, dims=dims)
    theirs = arviz_base.from_dict(groups, coords=coords, dims=dims)
    for name in groups:
        a, b = ours[name].to_dataset(), theirs[name].to_dataset()
        xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
        assert list(a.dims) == list(b.dims)
    assert ours["posterior"]["unnamed"].dims[2:] == ("unnamed_dim_0", "unnamed_dim_1")
    assert ours["posterior"]["A_family"].dims == ("chain", "draw", "family")
    assert ours["posterior"].attrs["creation_library"] == "bayescale"


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="'x' has 1 axes but 2 dims"):
        dataset_from_arrays({"x": np.zeros(3)})
    with pytest.raises(ValueError, match="'family' has 2 entries but 3"):
        dataset_from_arrays(
            {"x": np.zeros((1, 2, 2))}, coords={"family": list("abc")}, dims={"x": ["family"]}
        )
    with pytest.raises(ValueError, match="'obs' has length 2 and 3"):
        dataset_from_arrays(
            {"x": np.zeros(2), "y": np.zeros(3)}, dims={"x": ["obs"], "y": ["obs"]}, sample_dims=()
        )
