"""The key numbers of chapters 1 and 2 for any network: `triplets.network_choice_agreement`
and `fitting.network_embedding_numbers`, against slow per-triplet / per-pair references
and known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dnnalign_utils import data, fitting, keynumbers, networks, triplets
from dnnalign_utils.conventions import N_OBJECTS
from dnnalign_utils.networks import ConceptFeatures


def concept_features(values, things_index=None, label="test net") -> ConceptFeatures:
    things_index = np.arange(N_OBJECTS) if things_index is None else np.asarray(things_index)
    return ConceptFeatures(np.asarray(values, dtype=np.float64), things_index, label, "test")


def slow_odd_one_out(x: np.ndarray, a: int, b: int, c: int) -> int:
    """The reference rule: pairs of the sorted triplet in combinations order, first
    largest dot product wins; the odd one out is the third object."""
    trio = sorted((a, b, c))
    pairs = list(itertools.combinations(trio, 2))
    sims = [float(np.dot(x[p], x[q])) for p, q in pairs]
    p, q = pairs[int(np.argmax(sims))]
    return ({*trio} - {p, q}).pop()


def slow_agreement(values, things_index, human_sets):
    """Share of human rows (all three objects among the network's concepts) whose odd one
    out the network's dot products pick, one row at a time."""
    position = {int(t): i for i, t in enumerate(things_index)}
    hits = total = 0
    for rows in human_sets:
        for row in rows:
            if not all(int(o) in position for o in row):
                continue
            a, b, c = (position[int(o)] for o in row)
            total += 1
            hits += slow_odd_one_out(values, a, b, c) == c
    return (hits / total if total else math.nan), total


def slow_ceiling(rows, things_index):
    """Mean over repeated triplets (>= 2 responses) among the concepts of the share of
    responses choosing the most chosen odd one out."""
    inside = set(int(t) for t in things_index)
    votes: dict[tuple, dict[int, int]] = {}
    for row in rows:
        if all(int(o) in inside for o in row):
            key = tuple(sorted(int(o) for o in row))
            votes.setdefault(key, {}).setdefault(int(row[2]), 0)
            votes[key][int(row[2])] += 1
    shares = [max(v.values()) / sum(v.values()) for v in votes.values() if sum(v.values()) >= 2]
    return float(np.mean(shares)) if shares else math.nan


def human_like(rng, values, things_index, n_triplets, n_repeats, flip):
    """Synthetic held-out human responses over all THINGS objects: each triplet answered
    `n_repeats` times, as the network would (global indices) except a share `flip` of
    responses, which pick another odd one out."""
    rows = []
    position = np.full(N_OBJECTS, -1)
    position[things_index] = np.arange(len(things_index))
    for _ in range(n_triplets):
        trio = rng.choice(things_index, size=3, replace=False)
        local = position[trio]
        odd = things_index[slow_odd_one_out(values, *local)]
        pair = [int(o) for o in trio if o != odd]
        for _ in range(n_repeats):
            if rng.random() < flip:
                rows.append([pair[0], odd, pair[1]])
            else:
                rows.append([pair[0], pair[1], odd])
    return np.array(rows, dtype=np.int64)


# ------------------------------------------------------------------------- chapter 1


def test_agreement_of_a_complete_network_matches_the_slow_reference():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(N_OBJECTS, 6))
    net = concept_features(values)
    ceiling_set = human_like(rng, values, np.arange(N_OBJECTS), 60, 5, flip=0.3)
    other = human_like(rng, values, np.arange(N_OBJECTS), 50, 1, flip=0.5)
    found = triplets.network_agreement(net, noise_ceiling_set=ceiling_set, other_heldout=other)
    # a complete network: scored on the noise-ceiling set only
    expected, n = slow_agreement(values, net.things_index, [ceiling_set])
    assert found.agreement.n_responses == n == len(ceiling_set)
    assert found.agreement.value == pytest.approx(expected, abs=1e-12)
    assert found.ceiling.ceiling == pytest.approx(slow_ceiling(ceiling_set, net.things_index))
    assert found.numbers() == pytest.approx(
        {"n_concepts": N_OBJECTS, "choice_agreement": 100 * expected,
         "noise_ceiling": 100 * slow_ceiling(ceiling_set, net.things_index)}
    )  # fmt: skip


def test_features_that_reproduce_human_choices_agree_completely():
    rng = np.random.default_rng(1)
    values = rng.random(size=(N_OBJECTS, 4))
    ceiling_set = human_like(rng, values, np.arange(N_OBJECTS), 40, 3, flip=0.0)
    numbers = triplets.network_agreement(
        concept_features(values), noise_ceiling_set=ceiling_set
    ).numbers()
    assert numbers == {"n_concepts": N_OBJECTS, "choice_agreement": 100.0, "noise_ceiling": 100.0}
    # the opposite answers: the network never picks the human odd one out
    flipped = ceiling_set[:, [0, 2, 1]]
    opposite = triplets.network_agreement(concept_features(values), noise_ceiling_set=flipped)
    assert opposite.numbers()["choice_agreement"] == 0.0


def test_subset_network_uses_only_the_triplets_inside_its_concepts():
    rng = np.random.default_rng(2)
    things_index = np.sort(rng.choice(N_OBJECTS, 40, replace=False))
    values = rng.random(size=(40, 5))
    net = concept_features(values, things_index)
    inside_ceiling = human_like(rng, values, things_index, 30, 4, flip=0.25)
    inside_other = human_like(rng, values, things_index, 25, 1, flip=0.4)
    others = np.setdiff1d(np.arange(N_OBJECTS), things_index[::2])  # half of its concepts too
    outside = np.array([rng.choice(others, 3, replace=False) for _ in range(500)])
    outside = outside[~np.isin(outside, things_index).all(axis=1)]
    ceiling_set = np.concatenate([inside_ceiling, outside[:250]])
    other = np.concatenate([outside[250:], inside_other])
    found = triplets.network_agreement(net, noise_ceiling_set=ceiling_set, other_heldout=other)
    expected, n = slow_agreement(values, things_index, [ceiling_set, other])
    assert n == len(inside_ceiling) + len(inside_other)
    assert found.agreement.n_responses == n
    assert found.agreement.value == pytest.approx(expected, abs=1e-12)
    assert found.ceiling.ceiling == pytest.approx(slow_ceiling(ceiling_set, things_index))
    assert found.numbers()["n_concepts"] == 40
    # human rows outside its concepts do not count, whatever they chose
    reanswered = np.concatenate([inside_ceiling, outside[:250, [2, 0, 1]]])
    again = triplets.network_agreement(net, noise_ceiling_set=reanswered, other_heldout=other)
    assert again.numbers() == pytest.approx(found.numbers())


def test_subset_network_without_repeated_or_any_triplets_gives_nan():
    rng = np.random.default_rng(3)
    things_index = np.arange(10)
    values = rng.random(size=(10, 3))
    net = concept_features(values, things_index)
    outside = np.array([[100, 200, 300], [400, 500, 600]])
    once = human_like(rng, values, things_index, 12, 1, flip=0.0)
    only_other = triplets.network_agreement(net, noise_ceiling_set=outside, other_heldout=once)
    assert only_other.numbers()["choice_agreement"] == 100.0
    assert math.isnan(only_other.numbers()["noise_ceiling"])
    nothing = triplets.network_agreement(net, noise_ceiling_set=outside, other_heldout=outside)
    numbers = nothing.numbers()
    assert numbers["n_concepts"] == 10
    assert math.isnan(numbers["choice_agreement"]) and math.isnan(numbers["noise_ceiling"])


def test_agreement_on_the_embedded_sets_equals_chapter_1s_table():
    """The default network on the embedded held-out sets: the agreement chapter 1's table
    shows for it on the noise-ceiling set, and the published ceiling (67.22 %)."""
    net = networks.load("smoke", networks.resolve("vgg16"))
    numbers = triplets.network_choice_agreement(net)
    human = data.load_triplets_noise_ceiling().triplets
    table = triplets.agreement_table({"net": net.values}, {"nc": human}, n_bootstrap=0)
    assert set(numbers) == {
        k.name for k in keynumbers.KEY_NUMBERS if k.chapter == "01_triplet_task"
    }
    assert numbers["choice_agreement"] == pytest.approx(float(table["agreement (%)"].iloc[0]))
    assert numbers["noise_ceiling"] == pytest.approx(67.22, abs=0.01)
    assert numbers["n_concepts"] == N_OBJECTS
    # a subset of its concepts: the embedded sets restricted to them, checked row by row
    things_index = np.arange(0, N_OBJECTS, 3)
    subset = concept_features(net.values[things_index], things_index)
    found = triplets.network_choice_agreement(subset, n_bootstrap=20, seed=1)
    expected, n = slow_agreement(subset.values, things_index, [human, data.load_triplets_2171()])
    assert n > 0 and found["choice_agreement"] == pytest.approx(100 * expected)
    assert found["noise_ceiling"] == pytest.approx(100 * slow_ceiling(human, things_index))


def test_bad_network_features_are_refused():
    with pytest.raises(ValueError, match="one feature row per THINGS index"):
        triplets.network_agreement(concept_features(np.ones((5, 2)), np.arange(4)))
    with pytest.raises(ValueError, match="increasing"):
        triplets.network_agreement(concept_features(np.ones((4, 2)), [3, 1, 2, 5]))


# ------------------------------------------------------------------------- chapter 2


def slow_choice_rsm(x: np.ndarray) -> np.ndarray:
    """Share of third objects for which the network keeps (i, j) together, pair by pair."""
    n = x.shape[0]
    rsm = np.eye(n)
    for i, j in itertools.combinations(range(n), 2):
        thirds = [k for k in range(n) if k not in (i, j)]
        rsm[i, j] = rsm[j, i] = np.mean([slow_odd_one_out(x, i, j, k) == k for k in thirds])
    return rsm


def slow_embedding_rsm(w: np.ndarray) -> np.ndarray:
    """Mean over third objects of the softmax probability that (i, j) stay together."""
    s = np.maximum(w, 0) @ np.maximum(w, 0).T
    n = w.shape[0]
    rsm = np.eye(n)
    for i, j in itertools.combinations(range(n), 2):
        p = [
            np.exp(s[i, j]) / (np.exp(s[i, j]) + np.exp(s[i, k]) + np.exp(s[j, k]))
            for k in range(n)
            if k not in (i, j)
        ]
        rsm[i, j] = rsm[j, i] = np.mean(p)
    return rsm


def upper_r2(a, b):
    iu = np.triu_indices_from(a, 1)
    return np.corrcoef(a[iu], b[iu])[0, 1] ** 2


def test_embedding_numbers_match_the_slow_reference():
    rng = np.random.default_rng(4)
    values = rng.normal(size=(14, 5))  # negative features too: dot products, no ReLU
    weights = rng.random(size=(14, 3))
    net = concept_features(values, np.arange(100, 114))
    found = fitting.network_embedding_comparison(weights, net)
    np.testing.assert_allclose(found.network_rsm, slow_choice_rsm(values), atol=1e-12)
    np.testing.assert_allclose(found.embedding_rsm, slow_embedding_rsm(weights), atol=1e-10)
    expected = upper_r2(slow_embedding_rsm(weights), slow_choice_rsm(values))
    numbers = fitting.network_embedding_numbers(weights, net)
    assert set(numbers) == {
        k.name for k in keynumbers.KEY_NUMBERS if k.chapter == "02_embedding_fit"
    }
    assert numbers == pytest.approx({"n_dimensions": 3, "rsm_variance_explained": 100 * expected})
    # the first rsm_objects concepts only, third objects over all of them
    first = fitting.network_embedding_comparison(weights, net, rsm_objects=6)
    np.testing.assert_allclose(first.network_rsm, slow_choice_rsm(values)[:6, :6], atol=1e-12)
    np.testing.assert_allclose(
        first.embedding_rsm, slow_embedding_rsm(weights)[:6, :6], atol=1e-10
    )
    assert first.objects.tolist() == list(range(6))


def test_an_embedding_that_is_the_network_explains_its_similarity():
    """Known answer: the network's own (non-negative) features, scaled up so that every
    softmax choice is nearly certain, reconstruct its choice similarity almost exactly."""
    rng = np.random.default_rng(5)
    values = rng.random(size=(30, 4))
    net = concept_features(values, np.arange(30))
    numbers = fitting.network_embedding_numbers(40 * values, net)
    assert numbers["n_dimensions"] == 4
    assert numbers["rsm_variance_explained"] > 99.0
    unrelated = fitting.network_embedding_numbers(rng.random(size=(30, 4)), net)
    assert unrelated["rsm_variance_explained"] < 50.0


def test_embedding_with_the_wrong_rows_is_refused():
    net = concept_features(np.random.default_rng(6).random((12, 3)), np.arange(12))
    with pytest.raises(ValueError, match=r"embedding_weights: shape \(11, 2\).*12 rows"):
        fitting.network_embedding_numbers(np.ones((11, 2)), net)
    with pytest.raises(ValueError, match="rsm_objects"):
        fitting.network_embedding_numbers(np.ones((12, 2)), net, rsm_objects=-1)


# ------------------------------------------------------------------ chapter 1, any network


@pytest.mark.book
def test_chapter_1_studies_a_readers_npy_network(tmp_path, monkeypatch):
    """Chapter 1 (smoke) on a reader's .npy of concept features: its triplets, their
    THINGS indices and its key numbers land in the network's own folder, the default
    network's artefacts are not written, and the key numbers are the package's."""
    import json

    import nbformat
    import papermill

    from dnnalign_utils import book, features, images, paths
    from dnnalign_utils.profiles import notebook_parameters

    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "artefacts"))
    # chapter 0's picture features (the chapter's one input), made up for 40 concepts
    manifest = images.load_manifest()
    pictures = manifest[manifest["things_index"].isin(manifest["things_index"].unique()[:40])]
    rng = np.random.default_rng(0)
    features.save_features(
        paths.image_features("smoke"),
        {"_avg_pooling": rng.random((len(pictures), 16)).astype(np.float32)},
        images.file_names(pictures),
    )
    values = rng.random((N_OBJECTS, 12))
    np.save(tmp_path / "mine.npy", values)
    parameters = {
        **notebook_parameters("smoke", "01_triplet_task"),
        "network": "my_net",
        "features_path": str(tmp_path / "mine.npy"),
        "n_bootstrap": 10,
    }
    nb = nbformat.read(paths.REPO_ROOT / "notebooks" / "01_triplet_task.ipynb", as_version=4)
    nbformat.write(nb, tmp_path / "in.ipynb")
    papermill.execute_notebook(
        str(tmp_path / "in.ipynb"),
        str(tmp_path / "out.ipynb"),
        parameters=parameters,
        kernel_name=book.KERNEL_NAME,
        cwd=str(paths.REPO_ROOT / "notebooks"),
        progress_bar=False,
    )
    net = networks.load("smoke", networks.resolve("my_net", features_path=tmp_path / "mine.npy"))
    assert net.key.startswith("my_net-")
    folder = paths.network_triplets("smoke", net.network)
    assert paths.network_dir("smoke", net.network) in folder.parents
    train_path, test_path = paths.network_triplet_split("smoke", net.network)
    train, test = np.load(train_path), np.load(test_path)
    assert len(train) + len(test) == parameters["n_network_triplets"]
    np.testing.assert_array_equal(
        np.load(paths.network_objects("smoke", net.network)), net.things_index
    )
    # the saved choices are the network's own
    np.testing.assert_array_equal(
        triplets.odd_one_out_choices(test, values, progress=False)[:, 2], test[:, 2]
    )
    assert not paths.network_triplets("smoke").exists()  # the default network's
    recorded = keynumbers.collect("smoke", net.network)
    expected = triplets.network_choice_agreement(net)
    assert recorded["label"] == "my_net"
    assert {k: recorded[k] for k in expected} == pytest.approx(expected)
    entry = json.loads(
        (paths.key_numbers_dir("smoke", net.network) / "01_triplet_task.json").read_text()
    )
    assert entry["network"] == net.key


def test_a_split_is_saved_with_the_things_indices_of_its_rows(tmp_path):
    from dnnalign_utils.provenance import array_sha256, read_provenance

    objects = np.array([3, 10, 42, 99])
    train = np.array([[0, 1, 2], [1, 3, 0]])
    test = np.array([[2, 3, 1]])
    written = triplets.write_triplet_split(
        tmp_path, train, test, produced_by="test", parameters={"seed": 0}, objects=objects
    )
    np.testing.assert_array_equal(np.load(written["things_index.npy"]), objects)
    for name in ("train_90.npy", "test_10.npy"):
        record = read_provenance(written[name])
        assert record["input_sha256"]["things_index"] == array_sha256(objects)
    with pytest.raises(ValueError, match="train_90.npy"):  # row 4 of 4 objects
        triplets.write_triplet_split(
            tmp_path, [[0, 1, 4]], test, produced_by="test", parameters={}, objects=objects
        )


def test_next_to_paper_says_what_reproduces_by_its_stated_rule():
    from dnnalign_utils import curves, keynumbers

    row = {
        "label": "net",
        "noise_ceiling": 67.5,  # within 1.5 % of 67.22
        "n_dimensions": 90.0,  # not within 20 % of about 70
        "rsm_variance_explained": 80.0,  # within 10 % of 84.03
        "r2_min": 70.0,  # not above 75
        "visual_share": 10.0,
        "mixed_share": 20.0,
        "semantic_share": 70.0,
        "best_match_r": 0.75,  # within 10 % of 0.80
    }
    human = {"visual": 5.0, "mixed": 20.0, "semantic": 75.0}
    table = keynumbers.next_to_paper(row, human, curves.PAPER_VGG16)
    assert table["reproduces"].tolist() == ["yes", "no", "yes", "no", "yes", "no", "yes"]
    assert table["ours"].tolist()[:2] == ["67.5 %", "90"]
    html = keynumbers.next_to_paper_html(table, "net <a>")
    assert "<th>ours (net &lt;a&gt;, human VICE-42)</th>" in html  # escaped
    assert '<a href="../notebooks/03_r2_regression.html">chapter 3</a>' in html
    assert html.count("<tr>") == 1 + len(table)
