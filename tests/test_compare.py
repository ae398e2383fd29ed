"""Human vs DNN comparison: closed-form jackknife against deleting columns, matching with a
held-out score and a permutation null, diverging triplets, cumulative RSA."""

from __future__ import annotations

import numpy as np
import pytest

from dnnalign_utils import compare
from dnnalign_utils.embedding import choice_probabilities, match_dimensions


def _embedding(n, d, seed):
    rng = np.random.default_rng(seed)
    return rng.gamma(2.0, 0.5, size=(n, d)) * (rng.random((n, d)) < 0.4)


def _triplets(n_objects, m, seed):
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(n_objects, 3, replace=False) for _ in range(m)])


def test_jackknife_equals_refitting_without_each_column():
    w = _embedding(30, 6, 0)
    t = _triplets(30, 25, 1)
    target = np.random.default_rng(2).integers(0, 3, len(t))
    p, delta = compare.leave_one_out_relevance(w, t, target=target, batch_size=7)
    full = choice_probabilities(w, t)
    np.testing.assert_allclose(p, full[np.arange(len(t)), target], rtol=1e-12)
    for d in range(w.shape[1]):
        without = choice_probabilities(np.delete(w, d, axis=1), t)
        expected = without[np.arange(len(t)), target] - p
        np.testing.assert_allclose(delta[:, d], expected, rtol=1e-10, atol=1e-12)
    # default target: the observed choice, the last column
    p_last, _ = compare.leave_one_out_relevance(w, t)
    np.testing.assert_allclose(p_last, full[:, 2])
    with pytest.raises(ValueError, match="target: expected 25 values"):
        compare.leave_one_out_relevance(w, t, target=np.full(25, 3))


def test_most_relevant_dimension_is_largest_absolute_change():
    delta = np.array([[0.1, -0.3, 0.2], [0.0, 0.0, 0.0], [0.5, -0.5, 0.1]])
    np.testing.assert_array_equal(compare.most_relevant_dimensions(delta), [1, 0, 0])
    with pytest.raises(ValueError, match="delta"):
        compare.most_relevant_dimensions(np.zeros(3))


def test_matching_recovers_planted_pairs_and_beats_its_null():
    rng = np.random.default_rng(3)
    human = _embedding(400, 8, 4)
    order = rng.permutation(8)
    dnn = human[:, order] + 0.3 * rng.random((400, 8))
    table = compare.match_human_dnn(human, dnn, n_permutations=50, progress=False)
    recovered = dict(zip(table["human dim"], table["dnn dim"], strict=True))
    assert all(order[recovered[h]] == h for h in range(8))
    assert (table["r (held out)"] > table["null 95 %"]).all()
    assert (table["r (held out)"] > 0.8).all()
    assert table["r (held out)"].is_monotonic_decreasing
    _, greedy = match_dimensions(human, dnn, method="greedy")
    np.testing.assert_allclose(table["greedy r (reference)"], np.sort(greedy)[::-1])


def test_matching_independent_embeddings_shows_the_in_sample_bias():
    human = _embedding(300, 10, 5)
    dnn = _embedding(300, 10, 6)
    table = compare.match_human_dnn(human, dnn, n_permutations=30, progress=False)
    # matching and scoring on the same objects finds "correspondence" in noise ...
    assert table["r (in sample)"].mean() > 0.05
    # ... the held-out score does not, and stays inside the permutation null
    assert abs(table["r (held out)"].mean()) < 0.05
    assert (table["r (held out)"] <= table["null 95 %"] + 0.05).all()
    # ... and the reference rule's own null shows it: shuffled objects, same "correlations"
    assert table["greedy null 95 %"].iloc[0] > 0.1
    assert (table["greedy null 95 %"] > table["null 95 %"]).mean() > 0.5
    with pytest.raises(ValueError, match="dnn: expected 300 rows"):
        compare.match_human_dnn(human, dnn[:-1], n_permutations=0)


def test_diverging_triplets_against_a_loop():
    human = _embedding(40, 5, 7)
    dnn = _embedding(40, 5, 8)
    t = _triplets(40, 200, 9)
    got = compare.diverging_triplets(human, dnn, t, n_top=10)
    rows = []
    for i, triplet in enumerate(t):
        ph = choice_probabilities(human, triplet[None])[0]
        pd_ = choice_probabilities(dnn, triplet[None])[0]
        h, d = int(np.argmax(ph)), int(np.argmax(pd_))
        if h != d:
            rows.append((ph[h] - pd_[h], i, h, d))
    rows.sort(key=lambda r: -r[0])
    assert len(got) == 10
    np.testing.assert_allclose(got["divergence"], [r[0] for r in rows[:10]])
    np.testing.assert_array_equal(got[["i", "j", "k"]].to_numpy(), t[[r[1] for r in rows[:10]]])
    np.testing.assert_array_equal(got["human choice"], [r[2] for r in rows[:10]])
    np.testing.assert_array_equal(got["dnn choice"], [r[3] for r in rows[:10]])
    assert compare.diverging_triplets(human, human, t, n_top=10).empty


def test_cumulative_rsa_against_direct_correlation():
    dnn = _embedding(20, 6, 10)
    human_rsm = dnn[:, :3] @ dnn[:, :3].T + 0.01 * np.eye(20)
    table = compare.cumulative_rsa(
        dnn, human_rsm, [1, 3, 6], rsm_fn=lambda w: w @ w.T, n_bootstrap=50, progress=False
    )
    upper = np.triu_indices(20, 1)
    for _, row in table.iterrows():
        i = int(row["dimensions"])
        x = (dnn[:, :i] @ dnn[:, :i].T)[upper]
        assert row["r2"] == pytest.approx(np.corrcoef(x, human_rsm[upper])[0, 1] ** 2)
        assert row["r2 low"] <= row["r2"] + 1e-9 and row["r2"] - 1e-9 <= row["r2 high"]
    assert table.loc[1, "r2"] == pytest.approx(1.0)  # the first 3 dims are the human RSM
    with pytest.raises(ValueError, match="n_dims"):
        compare.cumulative_rsa(dnn, human_rsm, [7], rsm_fn=lambda w: w @ w.T)


def test_jackknife_drivers_and_their_counts():
    human = _embedding(40, 5, 11)
    dnn = _embedding(40, 4, 12)
    diverging = compare.diverging_triplets(human, dnn, _triplets(40, 300, 13), n_top=30)
    drivers = compare.jackknife_drivers(human, dnn, diverging)
    ijk = diverging[["i", "j", "k"]].to_numpy()
    for side, w in (("human", human), ("dnn", dnn)):
        _, delta = compare.leave_one_out_relevance(
            w, ijk, target=diverging[f"{side} choice"].to_numpy()
        )
        best = np.abs(delta).argmax(1)
        np.testing.assert_array_equal(drivers[f"{side} driver"], best)
        np.testing.assert_allclose(drivers[f"{side} delta"], delta[np.arange(len(best)), best])
    labels = {"human": [f"h{d}" for d in range(5)], "dnn": [f"d{d}" for d in range(4)]}
    counts = compare.driver_counts(drivers, labels, top=2)
    for side in ("human", "dnn"):
        part = counts[counts["side"] == side]
        expected = drivers[f"{side} driver"].value_counts().head(2)
        assert part["dimension"].tolist() == [labels[side][d] for d in expected.index]
        np.testing.assert_allclose(part["share (%)"], 100 * expected.to_numpy() / 30)


def test_driver_quality_shares_equal_a_loop():
    human = _embedding(40, 5, 11)
    dnn = _embedding(40, 4, 12)
    diverging = compare.diverging_triplets(human, dnn, _triplets(40, 300, 13), n_top=30)
    drivers = compare.jackknife_drivers(human, dnn, diverging)
    qualities = {
        "human": ["semantic", "visual", "semantic", "mixed", "unclear"],
        "dnn": ["visual", "visual", "mixed", "semantic"],
    }
    shares = compare.driver_quality_shares(drivers, qualities)
    for side, labels in qualities.items():
        part = shares[shares["side"] == side].set_index("quality")
        tally = {}
        for d in drivers[f"{side} driver"]:
            tally[labels[d]] = tally.get(labels[d], 0) + 1
        assert part["count"].to_dict() == tally
        assert part["share (%)"].sum() == pytest.approx(100)
    with pytest.raises(ValueError, match="labels"):
        compare.driver_quality_shares(drivers, {"human": ["visual"]})


def _named_drivers():
    human = _embedding(40, 5, 11)
    dnn = _embedding(40, 4, 12)
    diverging = compare.diverging_triplets(human, dnn, _triplets(40, 300, 13), n_top=30)
    drivers = compare.jackknife_drivers(human, dnn, diverging)
    names = np.array([f"object {i}" for i in range(40)])
    labels = {"human": [f"h{d}" for d in range(5)], "dnn": [f"d{d}" for d in range(4)]}
    return drivers, names, labels


def test_labelled_with_quality_appends_each_dimensions_quality():
    assert compare.labelled_with_quality(["1: a", "2: b"], ["visual", "mixed"]) == [
        "1: a [visual]",
        "2: b [mixed]",
    ]
    assert compare.labelled_with_quality(("1: a",), None) == ["1: a"]
    with pytest.raises(ValueError):
        compare.labelled_with_quality(["1: a", "2: b"], ["visual"])


def test_driver_examples_name_each_sides_odd_one_out_and_driver():
    drivers, names, labels = _named_drivers()
    side_names = {"human": "people", "dnn": "net"}
    table = compare.driver_examples(drivers.head(6), names, labels, side_names)
    assert list(table.columns) == [
        "triplet", "people: odd one out", "people: driven by", "net: odd one out",
        "net: driven by",
    ]  # fmt: skip
    for row, (_, triplet) in zip(
        table.itertuples(index=False), drivers.head(6).iterrows(), strict=True
    ):
        objects = [int(triplet["i"]), int(triplet["j"]), int(triplet["k"])]
        assert row[0] == ", ".join(f"object {o}" for o in objects)
        assert row[1] == f"object {objects[int(triplet['human choice'])]}"
        assert row[2] == f"h{int(triplet['human driver'])}"
        assert row[3] == f"object {objects[int(triplet['dnn choice'])]}"
        assert row[4] == f"d{int(triplet['dnn driver'])}"


def test_jackknife_drivers_table_numbers_dimensions_from_one_with_every_column_described():
    drivers, names, labels = _named_drivers()
    table = compare.jackknife_drivers_table(drivers, names, labels)
    assert list(table.columns) == list(compare.JACKKNIFE_DRIVERS_COLUMNS)
    assert len(table) == len(drivers)
    for row, (_, triplet) in zip(table.itertuples(index=False), drivers.iterrows(), strict=True):
        objects = [f"object {int(triplet[c])}" for c in ("i", "j", "k")]
        assert list(row[:3]) == objects
        assert row[3] == objects[int(triplet["human choice"])]
        assert row[4] == triplet["human driver"] + 1
        assert row[5] == labels["human"][int(triplet["human driver"])]
        assert row[6] == objects[int(triplet["dnn choice"])]
        assert row[7] == triplet["dnn driver"] + 1
        assert row[8] == labels["dnn"][int(triplet["dnn driver"])]
        assert row[9] == triplet["divergence"]


def test_matched_pairs_table_numbers_dimensions_from_one_with_every_column_described():
    human = _embedding(200, 5, 14)
    dnn = human[:, [3, 0, 4]] + 0.2 * np.random.default_rng(15).random((200, 3))
    matches = compare.match_human_dnn(human, dnn, n_permutations=5, progress=False)
    labels = {"human": [f"h{d}" for d in range(5)], "dnn": [f"d{d}" for d in range(3)]}
    table = compare.matched_pairs_table(matches, labels, "vice42", "mine")
    assert list(table.columns) == list(compare.MATCHED_PAIRS_COLUMNS)
    assert set(table["human embedding"]) == {"vice42"} and set(table["network embedding"]) == {
        "mine"
    }
    np.testing.assert_array_equal(table["human dimension"], matches["human dim"] + 1)
    np.testing.assert_array_equal(table["network dimension"], matches["dnn dim"] + 1)
    assert table["human top objects [label]"].tolist() == [f"h{d}" for d in matches["human dim"]]
    assert table["network top objects [label]"].tolist() == [f"d{d}" for d in matches["dnn dim"]]
    np.testing.assert_array_equal(table["r (held out)"], matches["r (held out)"])
    # the pairs planted: network dimension 1 is human dimension 4, 2 is 1, 3 is 5
    pairs = dict(zip(table["network dimension"], table["human dimension"], strict=True))
    assert pairs == {1: 4, 2: 1, 3: 5}


def test_matching_with_fewer_dnn_dimensions_pairs_each_dnn_dimension_once():
    human = _embedding(200, 9, 14)
    dnn = human[:, [4, 0, 7, 2]] + 0.2 * np.random.default_rng(15).random((200, 4))
    table = compare.match_human_dnn(human, dnn, n_permutations=5, progress=False)
    assert len(table) == 4 and sorted(table["dnn dim"]) == [0, 1, 2, 3]
    assert dict(zip(table["dnn dim"], table["human dim"], strict=True)) == {0: 4, 1: 0, 2: 7, 3: 2}
    assert table["greedy r (reference)"].notna().all()


def test_cumulative_rsa_refuses_a_negative_bootstrap_count():
    dnn = _embedding(20, 6, 10)
    with pytest.raises(ValueError, match=r"n_bootstrap: expected a non-negative integer, got -5"):
        compare.cumulative_rsa(dnn, dnn @ dnn.T, [1], n_bootstrap=-5, progress=False)


# ------------------------------------------------------------------ network key numbers


def _slow_rsm(weights, objects):
    """The RSM over `objects`, third objects all rows, by an explicit loop."""
    x = np.maximum(weights, 0.0)
    n = len(x)
    out = np.eye(len(objects))
    for a, i in enumerate(objects):
        for b, j in enumerate(objects):
            if b <= a:
                continue
            terms = []
            for k in range(n):
                if k in (i, j):
                    continue
                s_ij, s_ik, s_jk = x[i] @ x[j], x[i] @ x[k], x[j] @ x[k]
                terms.append(np.exp(s_ij) / (np.exp(s_ij) + np.exp(s_ik) + np.exp(s_jk)))
            out[a, b] = out[b, a] = np.mean(terms)
    return out


def _slow_best_match_r(human, dnn, seed):
    """Brute force over every one-to-one assignment (scipy's pearsonr per pair): the
    assignment maximising the summed r on the first half, its best pair's r on the other."""
    import itertools

    from scipy.stats import pearsonr

    perm = np.random.default_rng(seed).permutation(len(human))
    half1, half2 = perm[: len(human) // 2], perm[len(human) // 2 :]

    def r(rows, h, d):
        a, b = human[rows, h], dnn[rows, d]
        return 0.0 if a.std() == 0 or b.std() == 0 else pearsonr(a, b)[0]

    n_h, n_d = human.shape[1], dnn.shape[1]
    best = max(
        itertools.permutations(range(n_h), n_d),
        key=lambda hs: sum(r(half1, h, d) for d, h in enumerate(hs)),
    )
    return max(r(half2, h, d) for d, h in enumerate(best))


def _human_array(d, seed):
    """A (1854, d) non-negative 'human' embedding, columns already in importance order."""
    w = _embedding(1854, d, seed) + 1e-3
    return w[:, np.argsort(-w.sum(0), kind="stable")]


def test_network_human_numbers_against_slow_references_on_a_subset():
    from dnnalign_utils import keynumbers

    human = _human_array(5, 0)
    things_index = np.sort(np.random.default_rng(1).choice(1854, 40, replace=False))
    rng = np.random.default_rng(2)
    # a network related to the human embedding on its concepts, plus noise
    dnn = human[things_index][:, [3, 0, 1, 4]] + rng.gamma(1.0, 0.3, size=(40, 4))
    numbers = compare.network_human_numbers(
        dnn, things_index, human_embedding=human, seed=5, rsm_objects=7
    )
    expected_names = {k.name for k in keynumbers.KEY_NUMBERS if k.chapter == "06_human_vs_dnn"}
    assert set(numbers) == expected_names
    on_subset = human[things_index]
    assert numbers["best_match_r"] == pytest.approx(_slow_best_match_r(on_subset, dnn, 5))
    upper = np.triu_indices(7, 1)
    expected_rsa = np.corrcoef(
        _slow_rsm(on_subset, range(7))[upper], _slow_rsm(dnn, range(7))[upper]
    )[0, 1]
    assert numbers["global_rsa_r"] == pytest.approx(expected_rsa, rel=1e-9)


def test_network_human_numbers_of_vice42_itself_are_one():
    vice42 = compare.human_weights("vice42")
    subset = np.sort(np.random.default_rng(1).choice(1854, 300, replace=False))
    # the columns keep their order (and numbers) on any subset of concepts
    np.testing.assert_array_equal(compare.human_weights("vice42", subset), vice42[subset])
    shuffled = vice42[:, np.random.default_rng(0).permutation(vice42.shape[1])]
    numbers = compare.network_human_numbers(shuffled, np.arange(1854), rsm_objects=60)
    assert numbers["best_match_r"] == pytest.approx(1.0)
    assert numbers["global_rsa_r"] == pytest.approx(1.0)
    # a subset network: only its concepts' rows of VICE-42 are compared
    numbers = compare.network_human_numbers(vice42[subset], subset, rsm_objects=60)
    assert numbers == pytest.approx({"best_match_r": 1.0, "global_rsa_r": 1.0})
    # the same rows under other THINGS indices are not VICE-42's rows there
    others = np.sort(np.random.default_rng(2).choice(1854, 300, replace=False))
    assert (
        compare.network_human_numbers(vice42[subset], others, rsm_objects=60)["global_rsa_r"] < 0.9
    )


def test_network_human_numbers_refuses_misaligned_concepts():
    w = _embedding(10, 3, 0) + 0.1
    with pytest.raises(ValueError, match="things_index has 9 entries; expected one per row"):
        compare.network_human_numbers(w, np.arange(9))
    with pytest.raises(ValueError, match="strictly increasing"):
        compare.network_human_numbers(w, np.array([0, 1, 2, 3, 4, 5, 6, 7, 9, 8]))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1854\)"):
        compare.network_human_numbers(w, np.arange(1850, 1860))


def test_dimension_qualities_are_those_of_each_side_or_none(tmp_path):
    import pandas as pd

    from dnnalign_utils import rating

    labels = pd.DataFrame(
        {
            "embedding": ["vice42"] * 3 + ["vgg16"] * 2,
            "dimension": [0, 1, 2, 0, 1],
            "label": ["visual", "semantic", "mixed", "unclear", "visual"],
        }
    )
    path = rating.save_labels(tmp_path / "labels.csv", labels, produced_by="test", parameters={})
    found = compare.dimension_qualities(path, {"human": ("vice42", 3), "dnn": ("vgg16", 2)})
    assert {side: list(v) for side, v in found.items()} == {
        "human": ["visual", "semantic", "mixed"],
        "dnn": ["unclear", "visual"],
    }
    # a network chapter 5 has not rated, or no labels at all: not available
    assert compare.dimension_qualities(path, {"human": ("vice42", 3), "dnn": ("clip", 2)}) is None
    assert compare.dimension_qualities(tmp_path / "absent.csv", {"dnn": ("vgg16", 2)}) is None
    # labels of another fit (other number of dimensions) are refused, not attached
    with pytest.raises(ValueError, match="cover 2 dimensions; expected 0..3"):
        compare.dimension_qualities(path, {"dnn": ("vgg16", 4)})


def test_chapter_matching_and_key_numbers_agree_on_the_best_pair():
    human = _human_array(6, 3)
    things_index = np.sort(np.random.default_rng(4).choice(1854, 80, replace=False))
    dnn = human[things_index][:, [2, 0, 5]] + np.random.default_rng(5).gamma(1.0, 0.2, (80, 3))
    matches = compare.match_human_dnn(
        human[things_index], dnn, n_permutations=5, seed=7, progress=False
    )
    numbers = compare.network_human_numbers(dnn, things_index, human_embedding=human, seed=7)
    assert numbers["best_match_r"] == matches["r (held out)"].iloc[0]
