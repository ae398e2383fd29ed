"""Tests for dnnalign_utils.triplets against slow per-triplet references and known answers."""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dnnalign_utils import paths
from dnnalign_utils import triplets as T
from dnnalign_utils.embedding import evaluate_embedding

# ------------------------------------------------------------------------------------------
# Slow, obvious references
# ------------------------------------------------------------------------------------------


def brute_similarity(x: np.ndarray, similarity: str, relu: bool):
    x = np.maximum(x, 0) if relu else x

    def sim(p: int, q: int) -> float:
        if similarity == "dot":
            return float(np.dot(x[p], x[q]))
        if similarity == "cosine":
            return float(np.dot(x[p], x[q]) / (np.linalg.norm(x[p]) * np.linalg.norm(x[q])))
        return -float(np.linalg.norm(x[p] - x[q]))

    return sim


def brute_choices(triplets: np.ndarray, sim) -> np.ndarray:
    """The reference's rule: combinations of the sorted triplet, first argmax wins."""
    out = []
    for row in triplets:
        a, b, c = sorted(int(v) for v in row)
        pairs = list(itertools.combinations((a, b, c), 2))
        best = int(np.argmax([sim(p, q) for p, q in pairs]))
        p, q = pairs[best]
        out.append([p, q, ({a, b, c} - {p, q}).pop()])
    return np.array(out, dtype=np.int64).reshape(-1, 3)


def random_triplets(rng: np.random.Generator, n_objects: int, n: int) -> np.ndarray:
    """Distinct-index rows in random column order (not sorted), repeats allowed."""
    return np.array([rng.choice(n_objects, size=3, replace=False) for _ in range(n)])


def unordered(rows: np.ndarray) -> list[tuple[int, ...]]:
    return [tuple(sorted(int(v) for v in r)) for r in rows]


# ------------------------------------------------------------------------------------------
# Choices
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("similarity", ["dot", "cosine", "euclidean"])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("method", ["auto", "gram", "rowwise"])
def test_choices_match_brute_force(monkeypatch, similarity, relu, method):
    monkeypatch.setattr(T, "_THREAD_CHUNK", 37)  # many chunks, run in threads
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 7)) + 0.3
    tri = random_triplets(rng, 40, 400)
    got = T.odd_one_out_choices(
        tri, x, similarity=similarity, relu=relu, method=method, chunk_size=97
    )
    want = brute_choices(tri, brute_similarity(x, similarity, relu))
    np.testing.assert_array_equal(got, want)
    # pair_similarities are the similarities of (a,b), (a,c), (b,c) of the sorted row
    sims = T.pair_similarities(tri, x, similarity=similarity, relu=relu, method=method)
    sim = brute_similarity(x, similarity, relu)
    for row, s in zip(tri[:20], sims[:20], strict=True):
        a, b, c = sorted(row)
        ref = [sim(a, b), sim(a, c), sim(b, c)]
        if similarity == "euclidean":  # negative squared distance, same ranking
            ref = [-(v**2) for v in ref]
        np.testing.assert_allclose(s, ref, rtol=1e-10, atol=1e-12)


def test_choices_blocked_gram_match_brute_force(monkeypatch):
    # Force the blocked Gram path (several upper-triangular row blocks) on a small problem.
    monkeypatch.setattr(T, "_FULL_GRAM_MAX_OBJECTS", 4)
    monkeypatch.setattr(T, "_GRAM_BLOCK_BYTES", 7 * 50 * 8)  # 7 rows per block
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 5))
    tri = random_triplets(rng, 50, 600)
    for relu in (False, True):
        got = T.odd_one_out_choices(tri, x, relu=relu, method="gram")
        np.testing.assert_array_equal(got, brute_choices(tri, brute_similarity(x, "dot", relu)))
        sims = T.pair_similarities(tri, x, relu=relu, method="gram")
        np.testing.assert_allclose(
            sims, T.pair_similarities(tri, x, relu=relu, method="rowwise"), rtol=1e-12
        )


def test_choices_from_similarity_matrix_match_brute_force():
    rng = np.random.default_rng(3)
    m = rng.normal(size=(30, 30))
    s = m + m.T
    tri = random_triplets(rng, 30, 300)
    got = T.odd_one_out_choices(tri, similarity_matrix=s)
    np.testing.assert_array_equal(got, brute_choices(tri, lambda p, q: s[p, q]))


def test_exact_ties_follow_the_documented_rule():
    # Integer features make the dot products exact, so these ties are exact.
    x = np.array(
        [
            [1.0, 0.0],  # 0
            [1.0, 0.0],  # 1
            [1.0, 0.0],  # 2  (0,1,2): all pairs tie -> pair (0,1), odd 2
            [1.0, 1.0],  # 3
            [1.0, 0.0],  # 4
            [0.0, 1.0],  # 5  (3,4,5): s34 = s35 = 1 > s45 = 0 -> pair (3,4), odd 5
            [0.0, 1.0],  # 6  (4,6,3): s46 = 0, s34 = s36 = 1 -> pair (3,4), odd 6
        ]
    )
    tri = np.array([[2, 1, 0], [5, 3, 4], [4, 6, 3], [0, 5, 6]])
    want = np.array([[0, 1, 2], [3, 4, 5], [3, 4, 6], [5, 6, 0]])
    for method in ("gram", "rowwise"):
        np.testing.assert_array_equal(T.odd_one_out_choices(tri, x, method=method), want)
    np.testing.assert_array_equal(T.odd_one_out_choices(tri, similarity_matrix=x @ x.T), want)
    np.testing.assert_array_equal(want, brute_choices(tri, brute_similarity(x, "dot", relu=False)))
    # (b,c) ties with (a,c): pair (a,c) wins, odd b
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(T.odd_one_out_choices([[0, 1, 2]], y), [[0, 2, 1]])


def test_choices_do_not_depend_on_column_order():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(25, 4))
    tri = random_triplets(rng, 25, 200)
    base = T.odd_one_out_choices(tri, x)
    for perm in itertools.permutations(range(3)):
        np.testing.assert_array_equal(T.odd_one_out_choices(tri[:, perm], x), base)


def test_vgg_stand_in_choices_are_deterministic_and_float32_close():
    w = np.load(paths.data_dir() / "things" / "dnn" / "vgg16_kernel_nmf_rank200.npy")
    assert w.shape == (1854, 200) and w.min() >= 0
    tri = T.sample_triplets(1854, 20_000, seed=0)
    first = T.odd_one_out_choices(tri, w)
    np.testing.assert_array_equal(first, T.odd_one_out_choices(tri, w))
    # W >= 0, so the ReLU changes nothing
    np.testing.assert_array_equal(first, T.odd_one_out_choices(tri, w, relu=True))
    np.testing.assert_array_equal(first, T.odd_one_out_choices(tri, w, method="rowwise"))
    with pytest.MonkeyPatch.context() as patch:  # threaded chunks give the same answer
        patch.setattr(T, "_THREAD_CHUNK", 1000)
        np.testing.assert_array_equal(first, T.odd_one_out_choices(tri, w))
    f32 = T.odd_one_out_choices(tri, w, dtype=np.float32)
    assert np.mean((f32 != first).any(axis=1)) < 1e-3  # only near-ties may flip


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_features_raise_naming_rows(bad):
    x = np.ones((10, 3))
    x[4, 1] = bad
    x[7, 0] = bad
    with pytest.raises(ValueError, match=r"rows \(4, 7\)"):
        T.odd_one_out_choices([[0, 1, 2]], x)
    with pytest.raises(ValueError, match="NaN or infinite"):
        T.pair_similarities([[0, 1, 2]], x, relu=True)
    s = np.ones((10, 10))
    s[3, 5] = s[5, 3] = bad
    with pytest.raises(ValueError, match=r"similarity_matrix.*rows 3, 5"):
        T.odd_one_out_choices([[0, 1, 2]], similarity_matrix=s)


def test_bad_triplets_raise_naming_rows():
    x = np.ones((5, 2))
    with pytest.raises(ValueError, match=r"n_objects=5.*rows 1"):
        T.odd_one_out_choices([[0, 1, 2], [0, 1, 5]], x)
    with pytest.raises(ValueError, match=r"negative.*rows 0"):
        T.odd_one_out_choices([[-1, 1, 2]], x)
    with pytest.raises(ValueError, match=r"distinct.*rows 1, 2"):
        T.odd_one_out_choices([[0, 1, 2], [1, 1, 2], [3, 4, 3]], x)
    with pytest.raises(ValueError, match="shape"):
        T.odd_one_out_choices(np.zeros((3, 2), dtype=int), x)
    with pytest.raises(ValueError, match="integer"):
        T.odd_one_out_choices(np.zeros((3, 3)), x)
    with pytest.raises(ValueError, match="exactly one"):
        T.odd_one_out_choices([[0, 1, 2]])
    with pytest.raises(ValueError, match="similarity"):
        T.odd_one_out_choices([[0, 1, 2]], x, similarity="pearson")
    with pytest.raises(ValueError, match="symmetric"):
        T.odd_one_out_choices([[0, 1, 2]], similarity_matrix=np.triu(np.ones((5, 5))))


def test_cosine_zero_rows_raise():
    x = np.array([[1.0, 0.0], [-1.0, -2.0], [0.0, 1.0]])
    T.odd_one_out_choices([[0, 1, 2]], x, similarity="cosine")
    with pytest.raises(ValueError, match=r"all-zero rows after the ReLU: rows 1"):
        T.odd_one_out_choices([[0, 1, 2]], x, similarity="cosine", relu=True)


# ------------------------------------------------------------------------------------------
# Sampling
# ------------------------------------------------------------------------------------------


def assert_valid_sample(tri: np.ndarray, n_objects: int, n: int) -> None:
    assert tri.dtype == np.int64 and tri.shape == (n, 3)
    assert tri.min() >= 0 and tri.max() < n_objects
    assert (tri[:, 0] < tri[:, 1]).all() and (tri[:, 1] < tri[:, 2]).all()
    assert len(set(map(tuple, tri.tolist()))) == n


@pytest.mark.parametrize(
    ("permute_limit", "hash_max"), [(1 << 24, 2_000_000), (0, 2_000_000), (0, 0)]
)  # permutation path; rejection path with hash or sort dedupe
def test_sampling_unique_sorted_in_range(monkeypatch, permute_limit, hash_max):
    monkeypatch.setattr(T, "_PERMUTE_ALL_LIMIT", permute_limit)
    monkeypatch.setattr(T, "_HASH_DEDUPE_MAX", hash_max)
    # exhaustive small n, near-exhaustive, and sparse over many objects; small chunks
    for n_objects, n in [(10, 120), (12, 219), (30, 4000), (1854, 50_000), (24_102, 20_000)]:
        tri = T.sample_triplets(n_objects, n, seed=n_objects, chunk_size=1000)
        assert_valid_sample(tri, n_objects, n)
    everything = T.sample_triplets(10, 120, seed=0)
    assert sorted(map(tuple, everything.tolist())) == list(itertools.combinations(range(10), 3))
    assert T.sample_triplets(10, 0, seed=0).shape == (0, 3)


def test_sampling_seeded():
    a = T.sample_triplets(1854, 10_000, seed=7)
    np.testing.assert_array_equal(a, T.sample_triplets(1854, 10_000, seed=7))
    np.testing.assert_array_equal(
        a, T.sample_triplets(1854, 10_000, seed=np.random.default_rng(7))
    )
    assert not np.array_equal(a, T.sample_triplets(1854, 10_000, seed=8))
    b = T.sample_triplets(20, 50, seed=1)
    np.testing.assert_array_equal(b, T.sample_triplets(20, 50, seed=1))
    assert not np.array_equal(b, T.sample_triplets(20, 50, seed=2))


@pytest.mark.parametrize("permute_limit", [1 << 24, 0])
def test_sampling_is_uniform(monkeypatch, permute_limit):
    # Each of the C(9,3) = 84 triplets is in a 30-subset with probability 30/84 and is the
    # first row with probability 1/84; chi-square against those over 400 seeds.
    monkeypatch.setattr(T, "_PERMUTE_ALL_LIMIT", permute_limit)
    member = np.zeros(84)
    first = np.zeros(84)
    for seed in range(400):
        keys = T.triplet_keys(T.sample_triplets(9, 30, seed=seed))
        member[keys] += 1
        first[keys[0]] += 1
    assert stats.chisquare(member).pvalue > 1e-4
    assert stats.chisquare(first).pvalue > 1e-4


def test_sampling_guards():
    with pytest.raises(ValueError, match=r"C\(10, 3\) = 120"):
        T.sample_triplets(10, 121, seed=0)
    with pytest.raises(ValueError, match="n_objects"):
        T.sample_triplets(2, 1, seed=0)
    with pytest.raises(ValueError, match="n_triplets"):
        T.sample_triplets(10, -1, seed=0)


@pytest.mark.parametrize("hash_max", [2_000_000, 0])  # hash path, sort path
def test_first_occurrences_matches_loop(monkeypatch, hash_max):
    monkeypatch.setattr(T, "_HASH_DEDUPE_MAX", hash_max)
    rng = np.random.default_rng(6)
    for keys in (rng.integers(0, 50, size=300), rng.integers(0, 10**12, size=300), np.arange(9)):
        seen, want = set(), []
        for k in keys.tolist():
            want.append(k not in seen)
            seen.add(k)
        np.testing.assert_array_equal(T._first_occurrences(keys), want)


def test_keys_roundtrip():
    all_rows = np.array(list(itertools.combinations(range(12), 3)))
    keys = T.triplet_keys(all_rows[:, [2, 0, 1]])
    assert sorted(keys.tolist()) == list(range(comb(12, 3)))
    np.testing.assert_array_equal(T.triplets_from_keys(keys), all_rows)
    big = T.sample_triplets(24_102, 5000, seed=3)
    np.testing.assert_array_equal(T.triplets_from_keys(T.triplet_keys(big)), big)
    top = np.array([[24_099, 24_100, 24_101]])
    assert T.triplet_keys(top)[0] == comb(24_102, 3) - 1


# ------------------------------------------------------------------------------------------
# Splits
# ------------------------------------------------------------------------------------------


def test_split_by_triplet_disjoint_and_seeded():
    tri = T.sample_triplets(100, 1000, seed=0)
    train, test = T.split_triplets(tri, 0.1, seed=1)
    assert train.shape == (900, 3) and test.shape == (100, 3)
    assert not set(unordered(train)) & set(unordered(test))
    assert sorted(unordered(train) + unordered(test)) == sorted(unordered(tri))
    again = T.split_triplets(tri, 0.1, seed=1)
    np.testing.assert_array_equal(train, again[0])
    assert not np.array_equal(test, T.split_triplets(tri, 0.1, seed=2)[1])


def test_split_keeps_repeated_triplets_together():
    rng = np.random.default_rng(5)
    base = T.sample_triplets(30, 200, seed=1)
    reps = rng.integers(0, 200, size=1000)
    tri = np.stack([rng.permutation(base[r]) for r in reps])  # repeats, shuffled columns
    train, test = T.split_triplets(tri, 0.25, seed=0)
    assert len(train) + len(test) == len(tri)
    assert not set(unordered(train)) & set(unordered(test))
    n_unique_test = len(set(unordered(test)))
    assert n_unique_test == round(0.25 * len(set(unordered(tri))))
    with pytest.raises(ValueError, match="test_fraction"):
        T.split_triplets(tri, 1.0, seed=0)


def test_split_by_objects():
    tri = T.sample_triplets(40, 3000, seed=0)
    held = [1, 5, 7, 11, 20, 33]
    split = T.split_triplets_by_objects(tri, 40, held_out_objects=held)
    hs = set(held)
    want = {"train": [], "mixed": [], "held_out": []}
    for row in tri.tolist():
        k = len(hs & set(row))
        want["train" if k == 0 else "held_out" if k == 3 else "mixed"].append(row)
    for part in want:
        np.testing.assert_array_equal(getattr(split, part), np.array(want[part]).reshape(-1, 3))
    assert not hs & set(split.train.ravel().tolist())
    assert set(split.held_out.ravel().tolist()) <= hs
    assert len(split.any_held_out) == len(split.mixed) + len(split.held_out)
    drawn = T.split_triplets_by_objects(tri, 40, held_out_fraction=0.25, seed=3)
    assert drawn.held_out_objects.size == 10
    np.testing.assert_array_equal(
        drawn.held_out_objects,
        T.split_triplets_by_objects(tri, 40, held_out_fraction=0.25, seed=3).held_out_objects,
    )
    with pytest.raises(ValueError, match="held_out_objects"):
        T.split_triplets_by_objects(tri, 40, held_out_objects=[40])


# ------------------------------------------------------------------------------------------
# Noise ceiling and agreement
# ------------------------------------------------------------------------------------------


def test_noise_ceiling_constructed():
    rows = [
        # triplet {0,1,2}: odd 2 twice, odd 0 once -> modal share 2/3
        [0, 1, 2],
        [1, 0, 2],
        [2, 1, 0],
        # triplet {3,4,5}: odd 5 twice, odd 3 twice -> a tie, modal share 1/2
        [3, 4, 5],
        [4, 3, 5],
        [4, 5, 3],
        [5, 4, 3],
        # triplet {6,7,8}: a single response, left out by min_responses=2
        [6, 7, 8],
    ]
    nc = T.noise_ceiling(np.array(rows))
    assert nc.n_triplets == 2 and nc.n_responses == 7
    np.testing.assert_array_equal(nc.triplets, [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(nc.counts, [[1, 0, 2], [2, 0, 2]])
    np.testing.assert_allclose(nc.modal_share, [2 / 3, 1 / 2])
    np.testing.assert_array_equal(nc.tied, [False, True])
    assert nc.ceiling == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert nc.pooled == pytest.approx(4 / 7)
    assert T.noise_ceiling(np.array(rows), min_responses=1).n_triplets == 3
    with pytest.raises(ValueError, match="min_responses"):
        T.noise_ceiling(np.array([[0, 1, 2]]))


def parse_noise_ceiling_file() -> np.ndarray:
    """Local parser: 1-based i, j, k, position (1-3) of the odd one out, subject."""
    path = paths.data_dir() / "things" / "human" / "triplets_noise_ceiling_set.tsv"
    raw = np.loadtxt(path, dtype=np.int64, delimiter="\t")
    ijk, pos = raw[:, :3] - 1, raw[:, 3] - 1
    odd = ijk[np.arange(len(raw)), pos]
    keep = np.arange(3)[None, :] != pos[:, None]
    return np.column_stack([ijk[keep].reshape(-1, 2), odd])


def load_noise_ceiling_set() -> np.ndarray:
    try:  # the data layer, when present; else the local parser
        from dnnalign_utils.data import load_triplets_noise_ceiling
    except ImportError:
        return parse_noise_ceiling_file()
    return load_triplets_noise_ceiling().triplets


def test_noise_ceiling_real_file_gives_published_value():
    tri = load_noise_ceiling_set()
    np.testing.assert_array_equal(tri, parse_noise_ceiling_file())
    nc = T.noise_ceiling(tri)
    assert nc.n_triplets == 1000 and nc.n_responses == 20_000
    assert round(100 * nc.ceiling, 2) == 67.22
    assert round(100 * nc.pooled, 2) == 67.20


def _accuracy(human, x):
    return evaluate_embedding(x, human, relu=False)["accuracy"]


def test_published_embedding_accuracies():
    human = paths.data_dir() / "things" / "human"
    sample = np.loadtxt(human / "triplets_sample50k.txt", dtype=np.int64)
    spose = np.load(human / "spose_embedding_49d.npy")
    vice = np.load(human / "vice_embedding_42d.npy")
    nc = load_noise_ceiling_set()
    assert round(100 * _accuracy(sample, spose), 1) == 64.0
    assert round(100 * _accuracy(nc, spose), 1) == 63.0
    assert round(100 * _accuracy(nc, vice), 1) == 63.6


def test_accuracy_tie_credit():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])  # all pair similarities are 0
    human = np.array([[0, 1, 2], [0, 2, 1]])
    assert _accuracy(human, x) == pytest.approx(1 / 3)
    # the deterministic tie rule of odd_one_out_choices instead
    rule = T.choice_agreement(human, T.odd_one_out_choices(human, x), n_bootstrap=0)
    assert rule.value == pytest.approx(0.5)
    y = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert _accuracy(np.array([[1, 0, 2], [2, 0, 1]]), y) == pytest.approx(0.5)


def test_agreement_constructed():
    rng = np.random.default_rng(0)
    model = T.sample_triplets(50, 400, seed=0)  # model: last column is its odd one out
    # 400 triplets x 5 responses; a response agrees with the model with probability 0.7
    idx = np.repeat(np.arange(400), 5)
    agree = rng.random(idx.size) < 0.7
    human = model[idx].copy()
    human[~agree] = human[~agree][:, [0, 2, 1]]  # a different odd one out
    human = np.stack([rng.permutation(r[:2]).tolist() + [r[2]] for r in human])
    res = T.choice_agreement(human, model[rng.permutation(400)], n_bootstrap=500, seed=1)
    assert res.value == pytest.approx(agree.mean())
    np.testing.assert_array_equal(res.matched, agree)
    assert res.n_responses == 2000 and res.n_triplets == 400
    assert res.ci_low < res.value < res.ci_high
    by_response = T.choice_agreement(human, model, n_bootstrap=500, seed=1, unit="response")
    se = np.sqrt(res.value * (1 - res.value) / 2000)  # binomial standard error
    assert by_response.ci_high - by_response.ci_low == pytest.approx(2 * 1.96 * se, rel=0.2)
    again = T.choice_agreement(human, model, n_bootstrap=500, seed=1)
    assert (again.ci_low, again.ci_high) == (res.ci_low, res.ci_high)
    perfect = T.choice_agreement(model, model, n_bootstrap=100, seed=0)
    assert (perfect.value, perfect.ci_low, perfect.ci_high) == (1.0, 1.0, 1.0)


def test_agreement_bootstrap_matches_index_resampling():
    # The pattern-multinomial bootstrap has the distribution of plain index resampling.
    rng = np.random.default_rng(3)
    den = rng.integers(1, 5, size=60).astype(float)
    num = rng.binomial(den.astype(int), 0.6).astype(float)
    fast = T._bootstrap_ratio(num, den, 20_000, np.random.default_rng(4))
    idx = rng.integers(0, 60, size=(20_000, 60))
    slow = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    np.testing.assert_allclose(
        np.quantile(fast, [0.025, 0.5, 0.975]), np.quantile(slow, [0.025, 0.5, 0.975]), atol=0.01
    )
    assert fast.std() == pytest.approx(slow.std(), rel=0.05)


def test_agreement_input_errors():
    model = np.array([[0, 1, 2], [3, 4, 5]])
    with pytest.raises(ValueError, match=r"no model choice.*rows 1"):
        T.choice_agreement(np.array([[0, 1, 2], [6, 7, 8]]), model)
    with pytest.raises(ValueError, match="conflicting"):
        T.choice_agreement(model, np.array([[0, 1, 2], [1, 2, 0]]))


def test_agreement_by_category():
    labels = ["a", "a", "a", "b", "b", None, "c"]
    model = np.array([[0, 1, 2], [0, 1, 3], [0, 3, 4], [3, 4, 5], [5, 6, 0]])
    human = np.array(
        [
            [0, 1, 2],  # all same; model agrees
            [1, 2, 0],  # all same; model disagrees
            [0, 1, 3],  # pair same, odd differs; agrees
            [3, 4, 0],  # pair same (b), odd a; disagrees (model's odd is 4)
            [0, 3, 4],  # odd shares with a pair member (3, 4 are b); agrees
            [5, 6, 0],  # uncategorised 5, all different; agrees
            [3, 5, 4],  # 3 and 4 share b, odd is 4: odd shares with pair member; disagrees
        ]
    )
    comp = T.agreement_by_category(human, model, labels, by="composition").set_index("group")
    assert comp.loc["all same", "agreement"] == 0.5
    assert comp.loc["all same", "n_triplets"] == 1
    assert comp.loc["pair same, odd differs", "agreement"] == 0.5
    assert comp.loc["odd shares with pair member", "n_responses"] == 2
    assert comp.loc["odd shares with pair member", "agreement"] == 0.5
    assert comp.loc["all different", "agreement"] == 1.0
    odd = T.agreement_by_category(human, model, labels).set_index("group")
    matched = T.choice_agreement(human, model, n_bootstrap=0).matched
    ref = pd.Series(matched).groupby(
        [labels[o] if labels[o] is not None else "(none)" for o in human[:, 2]]
    )
    pd.testing.assert_series_equal(
        odd["agreement"].sort_index(), ref.mean().sort_index(), check_names=False
    )
    assert odd["n_responses"].sum() == len(human)


def test_agreement_table_matches_choice_agreement_per_cell():
    rng = np.random.default_rng(5)
    feats = {"a": rng.random((12, 4)), "b": rng.random((12, 6))}
    human = {"set1": T.sample_triplets(12, 40, seed=1, progress=False)}
    table = T.agreement_table(feats, human, n_bootstrap=20, seed=3)
    assert list(table["representation"]) == ["a", "b"]
    for _, row in table.iterrows():
        choices = T.odd_one_out_choices(human["set1"], feats[row["representation"]])
        expected = T.choice_agreement(human["set1"], choices, n_bootstrap=20, seed=3)
        assert row["agreement (%)"] == pytest.approx(100 * expected.value)
        assert row["ci low (%)"] == pytest.approx(100 * expected.ci_low)
        assert row["responses"] == 40


def test_example_table_shows_votes_and_model_answers():
    human = np.array([[0, 1, 2], [0, 1, 2], [1, 2, 0], [3, 4, 5], [5, 4, 3]])
    ceiling = T.noise_ceiling(human)
    model = np.array([[0, 2, 1], [3, 4, 5]])
    table = T.example_table(ceiling, np.array([0, 1]), list("abcdef"), {"net": model})
    assert table.loc[0, "object 1"] == "a: 1" and table.loc[0, "object 3"] == "c: 2"
    assert table.loc[0, "human modal odd one out"] == "c"
    assert list(table["net odd one out"]) == ["b", "f"]


def test_write_triplet_split_round_trips_with_provenance(tmp_path):
    from dnnalign_utils import data, provenance

    rows = T.sample_triplets(30, 200, seed=0, progress=False)
    train, test = T.split_triplets(rows, 0.1, seed=0)
    written = T.write_triplet_split(
        tmp_path, train, test, produced_by="test", parameters={"seed": 0}
    )
    back = data.load_triplets(written["train_90.npy"], fmt="npy", n_objects=30)
    np.testing.assert_array_equal(back, train)
    record = provenance.read_provenance(written["test_10.npy"])
    assert record["parameters"]["n_triplets"] == test.shape[0]
    assert record["input_sha256"]["triplets_array"] == provenance.array_sha256(test)


def test_within_objects_keeps_and_reindexes_exactly_the_inside_triplets():
    rows = np.array([[0, 4, 7], [4, 7, 9], [1, 4, 7], [9, 0, 4]])
    local, keep = T.within_objects(rows, np.array([4, 0, 9, 7]))
    np.testing.assert_array_equal(keep, [True, True, False, True])
    np.testing.assert_array_equal(local, [[1, 0, 3], [0, 3, 2], [2, 1, 0]])
    with pytest.raises(ValueError, match="distinct"):
        T.within_objects(rows, np.array([4, 4]))


@pytest.mark.parametrize(("n_bootstrap", "match"), [(-5, "a non-negative"), ("abc", "an integer")])
def test_choice_agreement_refuses_a_bad_bootstrap_count(n_bootstrap, match):
    model = T.sample_triplets(20, 50, seed=0)
    with pytest.raises(ValueError, match=rf"n_bootstrap: expected {match}"):
        T.choice_agreement(model, model, n_bootstrap=n_bootstrap)
    assert np.isnan(T.choice_agreement(model, model, n_bootstrap=0).ci_low)  # 0: no interval


def test_choice_agreement_refuses_a_confidence_that_is_not_a_number():
    model = T.sample_triplets(20, 50, seed=0)
    with pytest.raises(ValueError, match=r"confidence: expected a number, got '0.95'"):
        T.choice_agreement(model, model, confidence="0.95")


@pytest.mark.parametrize(
    ("factor", "dtype", "similarity", "word"),
    [
        (1e160, np.float64, "dot", "overflow"),
        (1e160, np.float64, "euclidean", "overflow"),
        (1e160, np.float64, "cosine", "overflow"),
        (1e30, np.float32, "dot", "overflow"),  # finite in float32, its products are not
        (1e-160, np.float64, "dot", "underflow"),
    ],
)
def test_features_whose_similarities_overflow_are_rescaled_and_said_so(
    factor, dtype, similarity, word
):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 8))
    tri = T.sample_triplets(40, 3000, seed=1)
    want = T.odd_one_out_choices(tri, x, similarity=similarity, relu=True, progress=False)
    with pytest.warns(UserWarning, match=rf"features: largest absolute value .*would {word}"):
        got = T.odd_one_out_choices(
            tri, x * factor, similarity=similarity, relu=True, dtype=dtype, progress=False
        )
    np.testing.assert_array_equal(got, want)


def test_heldout_among_names_a_network_of_too_few_concepts():
    """Chapter 1 compares a network with people on the held-out responses among its
    concepts; a few concepts hold none, which must be said, not a bare StopIteration."""
    from dnnalign_utils import data

    human = data.load_triplets_noise_ceiling().triplets
    first = np.unique(human[0])  # the concepts of one noise-ceiling triplet
    found = T.heldout_among(first, "mine")
    assert len(found["noise-ceiling set"]) >= 1
    assert set(np.unique(found["noise-ceiling set"])) <= {0, 1, 2}  # positions in `first`
    lonely = np.array([0, 1, 2])  # aardvark, abacus, accordion: in no held-out triplet
    for rows in (human, data.load_triplets_2171()):
        assert len(T.within_objects(rows, lonely)[0]) == 0
    with pytest.raises(ValueError, match=r"mine: none of the held-out human responses \("):
        T.heldout_among(lonely, "mine")
