"""Counts in sentences agree with their nouns."""

from __future__ import annotations

import numpy as np
import pytest

from dnnalign_utils.prose import counted, times


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "0 dimensions"), (1, "1 dimension"), (2, "2 dimensions"), (2171, "2,171 dimensions")],
)
def test_counted_agrees_with_its_noun(n, expected):
    assert counted(n, "dimension") == expected


def test_counted_takes_an_irregular_plural_and_numpy_integers():
    assert counted(np.int64(3), "match", "matches") == "3 matches"
    assert counted(1, "match", "matches") == "1 match"


@pytest.mark.parametrize(
    ("n", "expected"), [(0, "never"), (1, "once"), (2, "twice"), (3, "3 times")]
)
def test_times_in_words(n, expected):
    assert times(n) == expected


@pytest.mark.parametrize("bad", [-1, 1.5, "2"])
def test_a_count_that_is_not_a_whole_number_is_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        counted(bad, "pair")
