import numpy as np
import pytest

from dnnalign_utils import container as interpret  # the dimensions' top objects


def test_top_objects_match_a_loop_and_break_ties_by_order():
    rng = np.random.default_rng(0)
    weights = rng.random((20, 4))
    weights[3, 2] = weights[7, 2] = 5.0  # a tie at the top of dimension 2
    names = [f"o{i}" for i in range(20)]
    got = interpret.top_objects(weights, names, k=3)
    for d in range(4):
        expected = sorted(range(20), key=lambda i: (-weights[i, d], i))[:3]
        assert got[d] == [names[i] for i in expected]
    assert got[2][:2] == ["o3", "o7"]
    assert interpret.dimension_labels(weights, names, k=2)[2] == "3: o3, o7"


def test_top_objects_rejects_mismatched_names():
    with pytest.raises(ValueError, match="weights"):
        interpret.top_objects(np.ones((5, 2)), ["a", "b"], k=1)
    with pytest.raises(ValueError, match="k"):
        interpret.top_objects(np.ones((2, 2)), ["a", "b"], k=3)
