"""The conventions written once: triplet validation and keys, float matrices, column r."""

import re
from itertools import permutations

import numpy as np
import pytest

from dnnalign_utils import compare, conventions, data, embedding, regression, rsa, triplets
from dnnalign_utils.conventions import (
    DataValidationError,
    as_float_matrix,
    column_correlation,
    triplet_keys,
    validate_triplets,
)


def test_every_module_uses_the_one_rule():
    assert data.DataValidationError is DataValidationError
    assert issubclass(DataValidationError, ValueError)
    for module in (data, triplets, embedding, compare):
        assert module.validate_triplets is validate_triplets
    assert triplets.triplet_keys is triplet_keys
    for module in (compare, regression, rsa):
        assert module.as_float_matrix is as_float_matrix


@pytest.mark.parametrize(
    ("rows", "n_objects", "pattern"),
    [
        (np.zeros((4, 2), dtype=np.int64), None, r"arg: row 0: expected 3 columns .*\(4, 2\)"),
        (np.zeros((0, 3), dtype=np.int64), None, r"arg: row 0: empty"),
        ([[0.0, 1.0, 2.0]], None, r"arg: row 0: expected integer .*float64"),
        ([[0, 1, 2], [0, 1, 5]], 5, r"arg: row 1: index out of range \(index >= n_objects\)"),
        ([[-1, 1, 2]], None, r"arg: row 0: index out of range \(negative index\)"),
        ([[0, 1, 2], [1, 1, 2], [3, 4, 3]], None, r"arg: row 1: the same object .*rows 1, 2"),
    ],
)
def test_validate_triplets_names_the_argument_and_row(rows, n_objects, pattern):
    with pytest.raises(DataValidationError, match=pattern):
        validate_triplets(rows, n_objects, name="arg")


def test_validate_triplets_file_rows_and_options():
    with pytest.raises(DataValidationError, match=r"t.txt: line 3: the same object twice"):
        validate_triplets([[0, 1, 2], [2, 2, 1]], name="t.txt", row_label="line", first_row=2)
    assert validate_triplets(np.zeros((0, 3), dtype=int), allow_empty=True).shape == (0, 3)
    whole = validate_triplets(np.array([[0.0, 1.0, 2.0]]), whole_floats=True)
    assert whole.dtype == np.int64 and whole.tolist() == [[0, 1, 2]]
    with pytest.raises(DataValidationError, match=r"row 1: expected integer"):
        validate_triplets(np.array([[0, 1, 2], [0.5, 1, 2]]), whole_floats=True)
    out = validate_triplets(np.array([[2, 0, 1]], dtype=np.int32))
    assert out.dtype == np.int64 and out.flags.c_contiguous


def test_triplet_keys_order_invariant_and_checked():
    rows = np.array(list(permutations([3, 7, 11])))
    keys = triplet_keys(rows)
    assert (keys == keys[0]).all()
    with pytest.raises(DataValidationError, match="n_objects=10"):
        triplet_keys(rows, 10)


def test_as_float_matrix_checks():
    assert as_float_matrix([[1, 2], [3, 4]], "m").dtype == np.float64
    assert as_float_matrix([1.0, 2.0], "y", allow_1d=True).shape == (2, 1)
    with pytest.raises(DataValidationError, match=r"m: expected a 2-D .*shape \(3,\)"):
        as_float_matrix(np.ones(3), "m")
    with pytest.raises(DataValidationError, match=r"m: .*at least 2 rows"):
        as_float_matrix(np.ones((1, 3)), "m", min_rows=2)
    with pytest.raises(DataValidationError, match=r"m: expected real numbers"):
        as_float_matrix(np.array([["a"]]), "m")
    bad = np.ones((3, 3))
    bad[2, 1] = np.inf
    with pytest.raises(DataValidationError, match=r"m: row 2, column 1: non-finite value inf"):
        as_float_matrix(bad, "m")


def test_column_correlation_matches_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(50, 4))
    expected = np.corrcoef(a.T, b.T)[:3, 3:]
    np.testing.assert_allclose(column_correlation(a, b), expected, atol=1e-12)
    b[:, 2] = 1.0  # a constant column correlates with nothing
    assert (column_correlation(a, b)[:, 2] == 0).all()
    assert conventions.column_correlation is compare.column_correlation


def test_one_profile_check():
    from dnnalign_utils import profiles, sources

    assert sources.check_profile is profiles.check_profile
    with pytest.raises(ValueError, match="unknown run profile 'fast'"):
        profiles.check_profile("fast")


def test_argument_checks_name_the_argument_and_refuse_bools():
    import dataclasses

    from dnnalign_utils.conventions import check_field_types, check_int, check_real

    assert check_int("n", np.int64(3), minimum=1) == 3
    assert check_real("beta", 2) == 2.0
    for value, message in ((True, "n: expected an integer, got True (bool)"),
                           (2.5, "n: expected an integer"),
                           (0, "n: expected a positive integer, got 0")):  # fmt: skip
        with pytest.raises(ValueError, match=re.escape(message)):
            check_int("n", value, minimum=1)
    with pytest.raises(ValueError, match=r"beta: expected a number, got False"):
        check_real("beta", False)

    @dataclasses.dataclass
    class Settings:
        epochs: int = 1
        rate: float = 0.5
        name: str | None = None

    check_field_types(Settings(epochs=2, rate=1, name=None))  # an int is a float
    for wrong, field in ((dict(epochs=1.0), "epochs: expected int"),
                         (dict(rate=float("nan")), "rate: expected finite float"),
                         (dict(name=3), "name: expected str or None")):  # fmt: skip
        with pytest.raises(ValueError, match=f"Settings.{field}"):
            check_field_types(Settings(**wrong))
