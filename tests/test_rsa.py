"""RSM reconstruction and choice RSMs against slow, obvious loops."""

import itertools

import numpy as np
import pytest

from dnnalign_utils.rsa import choice_rsm, reconstruct_rsm, rsm_correlation, variance_explained


@np.errstate(over="ignore")  # exp overflow -> probability 0, as intended
def _slow_rsm(x, objects, context):
    x = np.maximum(x, 0)
    s = x @ x.T
    m = len(objects)
    out = np.eye(m)
    for a, i in enumerate(objects):
        for b, j in enumerate(objects):
            if a == b:
                continue
            ps = [
                1.0 / (1.0 + np.exp(s[i, k] - s[i, j]) + np.exp(s[j, k] - s[i, j]))
                for k in context
                if k not in (i, j)
            ]
            out[a, b] = np.mean(ps)
    return out


def _slow_choice(s, objects, context):
    """Reference simulator rule: sort the triplet, argmax over combinations, first wins."""
    m = len(objects)
    out = np.eye(m)
    for a, i in enumerate(objects):
        for b, j in enumerate(objects):
            if a == b:
                continue
            wins = []
            for k in context:
                if k in (i, j):
                    continue
                trip = sorted((i, j, k))
                pairs = list(itertools.combinations(trip, 2))
                best = pairs[int(np.argmax([s[p, q] for p, q in pairs]))]
                wins.append(set(best) == {i, j})
            out[a, b] = np.mean(wins)
    return out


def test_reconstruct_rsm_equals_loop_on_20_objects():
    rng = np.random.default_rng(0)
    x = rng.normal(0.3, 0.8, size=(20, 5))
    fast = reconstruct_rsm(x, progress=False)
    slow = _slow_rsm(x, range(20), range(20))
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-13)
    assert fast.dtype == np.float64
    np.testing.assert_array_equal(fast, fast.T)


def test_reconstruct_rsm_subsets_and_large_range_fallback():
    rng = np.random.default_rng(1)
    x = rng.gamma(1.0, 1.0, size=(25, 4))
    objects = np.array([3, 7, 1, 20, 11, 5])
    context = np.array([7, 1, 2, 9, 11, 19, 24, 0])  # partly overlapping the objects
    fast = reconstruct_rsm(x, objects=objects, context=context, progress=False)
    np.testing.assert_allclose(fast, _slow_rsm(x, objects, context), rtol=1e-12, atol=1e-13)
    big = x * 15.0  # similarities span > 600 nats: the exp-of-differences path
    assert np.ptp(big @ big.T) > 600
    np.testing.assert_allclose(
        reconstruct_rsm(big, progress=False), _slow_rsm(big, range(25), range(25)), atol=1e-12
    )


def test_choice_rsm_equals_loop_including_ties():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, size=(20, 3)).astype(float)  # small integers: many exact ties
    s = x @ x.T
    fast = choice_rsm(x, progress=False)
    np.testing.assert_allclose(fast, _slow_choice(s, range(20), range(20)), atol=1e-15)
    objects, context = np.array([0, 5, 9, 13]), np.array([1, 5, 6, 13, 19])
    np.testing.assert_allclose(
        choice_rsm(similarity=s, objects=objects, context=context, progress=False),
        _slow_choice(s, objects, context),
        atol=1e-15,
    )


def test_rsm_correlation_and_variance_explained():
    rng = np.random.default_rng(3)
    a = rng.random((10, 10))
    a = a + a.T
    b = 2 * a + 1
    assert rsm_correlation(a, b) == pytest.approx(1.0)
    iu = np.triu_indices(10, 1)
    c = rng.random((10, 10))
    c = c + c.T
    r = np.corrcoef(a[iu], c[iu])[0, 1]
    assert rsm_correlation(a, c) == pytest.approx(r)
    assert variance_explained(a, c) == pytest.approx(r**2)


def test_bad_inputs_raise():
    x = np.ones((5, 2))
    with pytest.raises(ValueError, match="objects"):
        reconstruct_rsm(x, objects=[0, 0, 1], progress=False)
    with pytest.raises(ValueError, match="context"):
        reconstruct_rsm(x, objects=[0, 1], context=[0, 1], progress=False)
    with pytest.raises(ValueError, match="non-finite"):
        reconstruct_rsm(np.array([[1.0], [np.nan], [0.0]]), progress=False)
    with pytest.raises(ValueError, match="exactly one"):
        choice_rsm(progress=False)
    with pytest.raises(ValueError, match="square"):
        rsm_correlation(np.ones((3, 4)), np.ones((3, 4)))
