"""The automatic visual / semantic rater: image statistics, predictors, decision rule."""

from __future__ import annotations

import itertools
from dataclasses import replace

import cv2
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from dnnalign_utils import autorate, rating


def _rgba(shape_mask: np.ndarray, rgb=(255, 0, 0)) -> np.ndarray:
    image = np.zeros((*shape_mask.shape, 4), np.uint8)
    image[shape_mask, :3] = rgb
    image[shape_mask, 3] = 255
    return image


def _ellipse(a: int, b: int, size: int = 224) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    cv2.ellipse(mask, (size // 2, size // 2), (a, b), 0, 0, 360, 1, -1)
    return mask.astype(bool)


def test_image_statistics_of_known_shapes_and_colours():
    disc = autorate.image_statistics(_rgba(_ellipse(60, 60)))
    assert disc["area"] == pytest.approx(np.pi * 60**2 / 224**2, rel=0.02)
    assert disc["elongation"] == pytest.approx(1.0, abs=0.02)
    assert disc["circularity"] == pytest.approx(1.0, abs=0.1)
    assert disc["convexity"] == pytest.approx(1.0, abs=0.02)
    # pure red: all hue mass in the first bin, full saturation
    assert disc["hue_0"] == pytest.approx(1.0) and disc["saturation_3"] == pytest.approx(1.0)
    ellipse = autorate.image_statistics(_rgba(_ellipse(90, 30), rgb=(0, 0, 255)))
    assert ellipse["elongation"] == pytest.approx(3.0, rel=0.03)
    assert ellipse["circularity"] < 0.8
    blue_bin = int(120 / (180 / autorate.HUE_BINS))  # OpenCV hue of blue is 120
    assert ellipse[f"hue_{blue_bin}"] == pytest.approx(1.0)
    ring = _ellipse(80, 80) & ~_ellipse(40, 40)
    ring[:, 112:] = False  # a thick C: far from convex
    assert autorate.image_statistics(_rgba(ring))["convexity"] < 0.8
    grey = autorate.image_statistics(_rgba(_ellipse(60, 60), rgb=(128, 128, 128)))
    assert sum(grey[f"hue_{i}"] for i in range(autorate.HUE_BINS)) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="mask"):
        autorate.image_statistics(np.zeros((10, 10, 4), np.uint8))


def test_combine_blocks_gives_each_block_the_same_variance():
    rng = np.random.default_rng(0)
    wide, narrow = rng.normal(size=(50, 300)) * 7, rng.normal(size=(50, 3))
    constant = np.ones((50, 1))
    combined = autorate.combine_blocks({"wide": wide, "narrow": np.hstack([narrow, constant])})
    assert combined.shape == (50, 303)  # the constant column is dropped
    assert combined[:, :300].var(0).sum() == pytest.approx(1.0)
    assert combined[:, 300:].var(0).sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="rows"):
        autorate.combine_blocks({"a": wide, "b": narrow[:10]})


# Commonality ------------------------------------------------------------------------------


def _ols_r2(X: np.ndarray, y: np.ndarray) -> float:
    design = np.column_stack([np.ones(len(y)), X])
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return 1 - residual.var() / y.var()


def _three_blocks(n=20_000, seed=0):
    """Blocks A = [z, a], B = [z, b], C = [c] of independent standard normals, and
    y = z + a + b + c: A and B share z, so each of the four parts explains a quarter."""
    z, a, b, c = np.random.default_rng(seed).normal(size=(4, n))
    blocks = {"A": np.column_stack([z, a]), "B": np.column_stack([z, b]), "C": c[:, None]}
    return blocks, z + a + b + c


def _all_r2(blocks, y):
    names = list(blocks)
    return {
        frozenset(chosen): np.array([_ols_r2(np.hstack([blocks[name] for name in chosen]), y)])
        for size in range(1, len(names) + 1)
        for chosen in itertools.combinations(names, size)
    }


def test_commonality_of_three_blocks_matches_the_textbook_formulas():
    blocks, y = _three_blocks(n=2_000, seed=1)
    y = y + np.random.default_rng(2).normal(size=y.size)  # not all explained
    r2 = {"".join(sorted(k)): float(v[0]) for k, v in _all_r2(blocks, y).items()}
    parts = autorate.commonality(_all_r2(blocks, y), ("A", "B", "C"))
    got = {"".join(sorted(k)): float(v[0]) for k, v in parts.items()}
    # the formulas written out for three blocks (Seibold & McPhee 1979; Nimon et al. 2008)
    reference = {
        "A": r2["ABC"] - r2["BC"],
        "B": r2["ABC"] - r2["AC"],
        "C": r2["ABC"] - r2["AB"],
        "AB": r2["AC"] + r2["BC"] - r2["C"] - r2["ABC"],
        "AC": r2["AB"] + r2["BC"] - r2["B"] - r2["ABC"],
        "BC": r2["AB"] + r2["AC"] - r2["A"] - r2["ABC"],
        "ABC": r2["A"] + r2["B"] + r2["C"] - r2["AB"] - r2["AC"] - r2["BC"] + r2["ABC"],
    }
    assert got.keys() == reference.keys()
    for name, value in reference.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
    assert sum(got.values()) == pytest.approx(r2["ABC"])


def test_commonality_recovers_a_known_decomposition():
    blocks, y = _three_blocks()
    parts = autorate.commonality(_all_r2(blocks, y), ("A", "B", "C"))
    expected = {"A": 0.25, "B": 0.25, "C": 0.25, "AB": 0.25, "AC": 0, "BC": 0, "ABC": 0}
    for name, value in expected.items():
        assert float(parts[frozenset(name)][0]) == pytest.approx(value, abs=0.02), name
    with pytest.raises(ValueError, match=r"no R² for the blocks \['B'\]"):
        autorate.commonality({frozenset("A"): 0.1}, ("A", "B"))


def test_side_commonality_splits_the_joint_r2():
    table = autorate.side_commonality([0.3, 0.1], [0.1, 0.4], [0.35, 0.45])
    np.testing.assert_allclose(table["unique_semantic"], [0.25, 0.05])
    np.testing.assert_allclose(table["unique_visual"], [0.05, 0.35])
    np.testing.assert_allclose(table["shared"], [0.05, 0.05])
    total = table[["unique_semantic", "unique_visual", "shared"]].sum(axis=1)
    np.testing.assert_allclose(total, table["r2_joint"])


# Top collections ---------------------------------------------------------------------------


def test_collection_coherence_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    block = rng.normal(size=(60, 5)) * [1, 2, 3, 4, 5] + 7
    standard = (block - block.mean(0)) / block.std(0)
    members = np.array([rng.choice(60, 6, replace=False) for _ in range(4)])
    got = autorate._pair_coherence(standard, members)
    for row, chosen in zip(got, members, strict=True):
        pairs = list(itertools.combinations(chosen, 2))
        slow = np.mean([standard[i] @ standard[j] / 5 for i, j in pairs])
        assert row == pytest.approx(slow, abs=1e-12)


def test_collection_scores_find_the_coherent_block():
    rng = np.random.default_rng(1)
    colour, meaning = rng.normal(size=(300, 4)), rng.normal(size=(300, 6))
    alike = np.argsort(-colour[:, 0])[:20]  # share the first colour feature
    random = rng.choice(300, 20, replace=False)
    scores = autorate.collection_scores(
        {"colour": colour, "meaning": meaning}, np.stack([alike, random]), seed=3
    )
    assert scores.loc[0, "z colour"] > 5 and scores.loc[0, "z"] > 5
    assert abs(scores.loc[0, "z meaning"]) < 3
    assert abs(scores.loc[1, "z"]) < 3
    # on random collections the side's z is standardised: mean 0, sd 1
    many = np.array([rng.choice(300, 20, replace=False) for _ in range(400)])
    z = autorate.collection_scores({"colour": colour, "meaning": meaning}, many, seed=3)["z"]
    assert abs(z.mean()) < 0.2 and 0.8 < z.std() < 1.2


def test_top_collections_are_the_largest_values():
    values = np.array([[0.1, 3], [0.5, 2], [0.3, 1], [0.5, 0]])
    assert autorate.top_collections(values, 2).tolist() == [[1, 3], [0, 1]]


# Decision rules ---------------------------------------------------------------------------


def test_rules_and_balanced_accuracy_match_definitions():
    scores = autorate.side_commonality(
        [0.01, 0.30, 0.10, 0.30, 0.20, 0.18],
        [0.02, 0.05, 0.30, 0.30, 0.25, 0.10],
        [0.03, 0.31, 0.32, 0.45, 0.27, 0.20],
    )
    rule = autorate.CommonalityRule(explained=0.05, unique=0.1)
    assert rule.labels(scores).tolist() == [
        "unclear",
        "semantic",
        "visual",
        "mixed",
        "visual",  # neither adds 0.1 of its own: the larger R² (visual)
        "semantic",
    ]
    z = pd.DataFrame({"z_visual": [0.5, 4, 1, 4, np.nan], "z_semantic": [1, 1, 4, 4, 9]})
    rule = autorate.CollectionRule(visual=3, semantic=2)
    assert rule.labels(z).tolist() == ["unclear", "visual", "semantic", "mixed", "semantic"]
    rng = np.random.default_rng(3)
    truth = rng.choice(rating.QUALITIES, 60)
    predicted = rng.choice(rating.QUALITIES, 60)
    assert autorate.balanced_accuracy(truth, predicted) == pytest.approx(
        balanced_accuracy_score(truth, predicted)
    )
    per_class = autorate.class_accuracy(truth, predicted)
    assert per_class["balanced"] == pytest.approx(balanced_accuracy_score(truth, predicted))
    assert per_class["visual"] == pytest.approx(np.mean(predicted[truth == "visual"] == "visual"))


def test_visual_predictors_may_not_include_the_rated_layer_or_its_neighbour():
    autorate.check_visual_layers(["_blocks.0"], "_blocks.2")
    autorate.check_visual_layers(["_blocks.0"], None)
    for rated in ("_blocks.0", "_blocks.1"):
        with pytest.raises(ValueError, match="_blocks.0"):
            autorate.check_visual_layers(["_blocks.0"], rated)
    with pytest.raises(ValueError, match="probe"):
        autorate.check_visual_layers(["probe"], "probe")
    rater = _toy_rater()
    weights = np.abs(np.random.default_rng(0).normal(size=(rater.objects.size, 3)))
    with pytest.raises(ValueError, match="predicts itself"):
        rater.rate(weights, rated_layer=rater.visual_layers[0])


def _toy_world(n=400, seed=0):
    """Latent visual and semantic properties; each side's predictors see only its own."""
    rng = np.random.default_rng(seed)
    visual_latent = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"v{i}" for i in range(6)])
    semantic_latent = pd.DataFrame(
        (rng.uniform(size=(n, 6)) < 0.2).astype(float), columns=[f"s{i}" for i in range(6)]
    )
    visual = {"v": visual_latent.to_numpy() @ rng.normal(size=(6, 30))}
    semantic = {"s": semantic_latent.to_numpy() @ rng.normal(size=(6, 40))}
    return visual_latent, semantic_latent, visual, semantic


def _toy_host(n=400, n_dims=12, seed=9):
    """A sparse non-negative embedding, columns in importance order."""
    raw = np.maximum(np.random.default_rng(seed).normal(size=(n, n_dims)) - 0.8, 0)
    return raw * np.linspace(2, 0.5, n_dims)


def _toy_rater():
    visual_latent, semantic_latent, visual, semantic = _toy_world()
    planted, values = autorate.planted_validation_set(
        visual_latent, semantic_latent, _toy_host(), n_per_class=6, seed=1
    )
    rater = autorate.Rater(
        objects=np.arange(400),
        semantic_blocks=semantic,
        visual_blocks=visual,
        visual_layers=("probe",),
        rules={},
        method="",
        validation=pd.DataFrame(),
        alpha_grid=np.logspace(-2, 5, 15),
        n_null=500,
    )
    return autorate.calibrated(rater, planted, values)


def test_rater_recovers_planted_dimensions_it_was_not_calibrated_on():
    rater = _toy_rater()
    validation = rater.validation
    assert set(validation["split"]) == {"calibration", "test"}
    accuracy = autorate.validation_accuracy(validation)
    assert list(accuracy.index) == list(autorate.METHODS)
    assert list(accuracy.columns) == [*rating.QUALITIES, "balanced"]
    assert accuracy.loc[rater.method, "balanced"] >= 0.8, accuracy
    test = validation[validation["split"] == "test"]
    assert (test["label"] == test[f"label_{rater.method}"]).all()
    confusion = autorate.confusion(test["planted"], test["label"])
    assert confusion.to_numpy().sum() == len(test)
    assert list(confusion.index) == list(rating.QUALITIES)


def test_planted_dimensions_take_the_host_dimensions_values_in_the_planted_order():
    visual_latent, semantic_latent, _, _ = _toy_world()
    host = _toy_host()
    planted, values = autorate.planted_validation_set(
        visual_latent, semantic_latent, host, n_per_class=3, seed=5
    )
    again = autorate.planted_validation_set(
        visual_latent, semantic_latent, host, n_per_class=3, seed=5
    )
    np.testing.assert_array_equal(values, again[1])
    assert sorted(set(planted["planted"])) == sorted(rating.QUALITIES)
    assert planted.groupby("split").size().tolist() == [12, 12]
    for j, rank in enumerate(planted["host_rank"]):
        # exactly the host column's values, so its sparsity and scale
        np.testing.assert_array_equal(np.sort(values[:, j]), np.sort(host[:, rank]))
    # a planted visual dimension ranks its concepts by its source (up to the noise)
    first = planted.index[planted["definition"] == "visual: v0"][0]
    top = np.argsort(-values[:, first])[:20]
    assert visual_latent["v0"].to_numpy()[top].mean() > 1.0


def test_rate_pictures_rates_concept_means_and_keeps_dimension_numbers():
    rater = _toy_rater()
    rng = np.random.default_rng(4)
    concept_values = np.abs(rng.normal(size=(rater.objects.size, 3))) * [1, 3, 2]
    # two pictures per concept whose mean is the concept's value
    offsets = rng.normal(scale=0.1, size=concept_values.shape)
    pictures = np.concatenate([concept_values + offsets, concept_values - offsets])
    manifest = pd.DataFrame({"things_index": np.tile(rater.objects, 2)})
    by_picture = rater.rate_pictures(pictures, manifest)
    assert by_picture["dimension"].tolist() == [0, 1, 2]
    direct = rater.rate(concept_values)
    for column in ("r2_semantic", "r2_visual", "r2_joint", "z_semantic", "z_visual"):
        np.testing.assert_allclose(by_picture[column], direct[column], atol=1e-9)
    assert by_picture["label"].tolist() == direct["label"].tolist()


# A network's label shares (chapter 5's key numbers) ---------------------------------------


def _slow_label_shares(rater, weights, things_index):
    """The obvious way, one step at a time: ReLU, columns by descending L1 norm, the rows
    of the rated concepts looked up one by one, each dimension's statistics on its own,
    the chosen rule applied dimension by dimension as written in its docstring, the
    labels counted."""
    weights = np.maximum(np.asarray(weights, dtype=float), 0)
    order = sorted(range(weights.shape[1]), key=lambda d: (-weights[:, d].sum(), d))
    weights = weights[:, order]
    row_of = {int(concept): row for row, concept in enumerate(things_index)}
    rated = [i for i, concept in enumerate(rater.objects) if int(concept) in row_of]
    rows = [row_of[int(rater.objects[i])] for i in rated]
    sub = rater.restricted(rater.objects[rated])
    rule = rater.rules[rater.method]
    counts = {"visual": 0, "mixed": 0, "semantic": 0}
    for d in range(weights.shape[1]):
        one = sub.scores(weights[rows, d][:, None]).iloc[0]
        if rater.method == "collection":
            vis, sem = one["z_visual"] >= rule.visual, one["z_semantic"] >= rule.semantic
            if not (vis or sem):
                continue
        else:
            if not one["r2_joint"] >= rule.explained:
                continue
            vis, sem = one["unique_visual"] >= rule.unique, one["unique_semantic"] >= rule.unique
            if not (vis or sem):
                vis = one["r2_visual"] > one["r2_semantic"]
                sem = not vis
        counts["mixed" if vis and sem else "visual" if vis else "semantic"] += 1
    total = sum(counts.values())
    return {f"{quality}_share": 100 * n / total for quality, n in counts.items()}


def _planted_network(n_visual, n_mixed, n_semantic, n_unclear, seed=5):
    """An embedding of the toy world's 400 concepts whose dimensions are planted from its
    latent properties (held-out definitions, little noise), shaped like the toy host's
    dimensions, in shuffled column order."""
    visual_latent, semantic_latent, _, _ = _toy_world()
    scores, truth, _ = autorate.planted_scores(
        visual_latent.iloc[:, 1::2],
        semantic_latent.iloc[:, 1::2],
        n_per_class=max(n_visual, n_mixed, n_semantic, n_unclear),
        seed=seed,
        noise=(0.05, 0.15),
    )
    values, _ = autorate.plant(scores, _toy_host(), seed)
    wanted = {"visual": n_visual, "mixed": n_mixed, "semantic": n_semantic, "unclear": n_unclear}
    columns = [j for label, n in wanted.items() for j in np.flatnonzero(truth == label)[:n]]
    return values[:, np.random.default_rng(seed).permutation(columns)]


def test_network_label_shares_match_the_slow_reference_on_a_subset():
    rater = _toy_rater()
    rng = np.random.default_rng(7)
    # a picture network's subset: 250 of the rater's 400 concepts and 60 it does not rate
    things_index = np.sort(
        np.concatenate([rng.choice(400, 250, replace=False), 400 + rng.choice(500, 60, False)])
    )
    planted = _planted_network(3, 3, 3, 2, seed=3)
    weights = np.abs(rng.normal(size=(things_index.size, planted.shape[1])))
    inside = things_index < 400
    weights[inside] = planted[things_index[inside]] * rng.uniform(0.5, 2, planted.shape[1])
    shares = autorate.network_label_shares("smoke", weights, things_index, rater=rater)
    reference = _slow_label_shares(rater, weights, things_index)
    assert shares.keys() == reference.keys()
    for name, value in reference.items():
        assert shares[name] == pytest.approx(value, abs=1e-9), name
    assert sum(shares.values()) == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [((6, 3, 3, 2), (50.0, 25.0, 25.0)), ((2, 2, 4, 0), (25.0, 25.0, 50.0))],
)
@pytest.mark.parametrize("seed", [5, 6])
def test_network_label_shares_recover_planted_dimensions(counts, expected, seed):
    rater = _toy_rater()
    weights = _planted_network(*counts, seed=seed)
    shares = autorate.network_label_shares("smoke", weights, np.arange(400), rater=rater)
    got = (shares["visual_share"], shares["mixed_share"], shares["semantic_share"])
    assert got == pytest.approx(expected, abs=100 / sum(counts) + 1e-9)
    # the same embedding with rows for concepts the rater has no pictures of is labelled
    # the same way
    rows = np.r_[np.arange(400), 500 + np.arange(30)]
    outside = np.full((30, weights.shape[1]), 1e-3)
    again = autorate.network_label_shares(
        "smoke", np.vstack([weights, outside]), rows, rater=rater
    )
    assert again == pytest.approx(shares)


def test_network_label_shares_refuse_bad_input():
    rater = _toy_rater()
    weights = _planted_network(2, 2, 2, 0)
    with pytest.raises(ValueError, match="things_index has 399 entries; expected one per row"):
        autorate.network_label_shares("smoke", weights, np.arange(399), rater=rater)
    with pytest.raises(ValueError, match="strictly increasing"):
        autorate.network_label_shares("smoke", weights, np.r_[0, np.arange(399)], rater=rater)
    with pytest.raises(ValueError, match="at least 30"):
        rows = np.r_[np.arange(20), 1000 + np.arange(380)]
        autorate.network_label_shares("smoke", weights, rows, rater=rater)
    with pytest.raises(ValueError, match="seed"):
        autorate.network_label_shares("smoke", weights, np.arange(400), rater=rater, seed=3)


def test_a_dimension_constant_on_the_rated_concepts_is_unclear():
    rater = _toy_rater()
    weights = _planted_network(2, 2, 2, 0)
    # one dimension that is zero on every concept the rater rates and positive elsewhere
    rows = np.r_[np.arange(400), 400 + np.arange(50)]
    extra = np.zeros((450, 1))
    extra[400:] = 1.0
    full = np.hstack([np.vstack([weights, np.ones((50, weights.shape[1]))]), extra])
    with pytest.warns(RuntimeWarning, match="constant"):
        table = autorate.rate_network(rater, full, rows)
    constant = table["r2_semantic"].isna()
    assert constant.sum() == 1
    assert table.loc[
        constant, ["label", "label_commonality", "label_collection"]
    ].to_numpy().tolist() == [["unclear"] * 3]
    assert table.loc[constant, ["z_visual", "z_semantic"]].isna().all(axis=None)
    assert np.isfinite(table.loc[~constant, ["r2_joint", "z_visual"]].to_numpy()).all()


def test_planted_dimensions_are_rated_exactly_as_real_ones():
    """The validation table comes from the same code that rates an embedding: the
    planted columns, rated as an embedding with `Rater.rate`, give the same numbers."""
    rater = _toy_rater()
    visual_latent, semantic_latent, _, _ = _toy_world()
    planted, values = autorate.planted_validation_set(
        visual_latent, semantic_latent, _toy_host(), n_per_class=6, seed=1
    )
    assert planted["definition"].tolist() == rater.validation["definition"].tolist()
    table = rater.rate(values)
    for column in ("r2_joint", "unique_visual", "unique_semantic", "z_visual", "z_semantic"):
        np.testing.assert_allclose(table[column], rater.validation[column], atol=1e-12)
    for column in ("label_commonality", "label_collection", "label"):
        assert table[column].tolist() == rater.validation[column].tolist()


def _appearance_rater(n=300, seed=0):
    """A rater whose pictures have known hue histograms and outlines."""
    rng = np.random.default_rng(seed)
    hue = rng.dirichlet(np.ones(autorate.HUE_BINS), size=n) * 0.5
    light = np.hstack([rng.dirichlet(np.ones(4), size=n) for _ in range(2)])
    shape = rng.uniform(0.2, 0.9, size=(n, 4))
    return replace(
        _toy_rater(),
        objects=np.arange(n),
        visual_blocks={"hue": hue, "saturation and lightness": light, "shape": shape},
    )


def _one_hue_dimension(rater, seed):
    """A dimension on 20 random concepts of `_appearance_rater`, whose pictures get their
    whole hue mass in the yellow–lime bin."""
    rng = np.random.default_rng(seed)
    dimension = np.zeros(300)
    dimension[rng.choice(300, 20, replace=False)] = 1.0
    hue = rater.visual_blocks["hue"]
    hue[dimension > 0] = 0.0
    hue[dimension > 0, 2] = 0.5
    return dimension, rng


def test_appearance_of_top_collections_finds_one_hue_and_roundness():
    rater = _appearance_rater()
    yellow, rng = _one_hue_dimension(rater, 1)
    circularity = rater.visual_blocks["shape"][:, 2]
    values = np.column_stack([yellow, circularity, rng.random(300)])
    table = autorate.appearance_of_top_collections(rater, values)
    assert table.loc[0, "one_hue"] and table.loc[0, "hue"] == "yellow–lime"
    assert table.loc[1, "round"] and not table.loc[1, "one_hue"]
    assert not table.loc[2, ["one_hue", "round"]].any()
    shares = autorate.hue_of_top_collections(rater, values, "yellow–lime")
    assert shares.loc[0, "share"] == pytest.approx(1.0)
    assert shares.loc[0, "z"] > autorate.APPEARANCE_Z > shares.loc[2, "z"]
    with pytest.raises(ValueError, match="hue: expected one of"):
        autorate.hue_of_top_collections(rater, values, "yellow")


def test_the_verdict_says_which_half_of_the_headline_reproduces():
    human = {"visual": 5.0, "mixed": 20.0, "semantic": 75.0}
    looks = {"visual": 40.0, "mixed": 30.0, "semantic": 30.0}
    meaning = {"visual": 0.0, "mixed": 30.0, "semantic": 70.0}
    both = autorate.headline_verdict(human, looks, "net")
    assert both.human_reproduced and both.network_reproduced
    assert both.sentence.startswith("Both halves") and "70 % of those of net" in both.sentence
    half = autorate.headline_verdict(human, meaning, "net")
    assert half.human_reproduced and not half.network_reproduced
    assert "network half does not" in half.sentence and "most likely because" in half.sentence
    assert half.table["reproduced"].tolist() == ["yes", "no"]
    neither = autorate.headline_verdict(meaning | {"semantic": 45.0, "mixed": 55.0}, meaning, "n")
    assert neither.sentence.startswith("Neither half")
    assert "does not" in autorate.driver_verdict(human, meaning, "net")
    assert autorate.driver_verdict(human, looks, "net").startswith("Both sides")
    across = autorate.networks_verdict(human, {"a": looks, "b": meaning})
    assert "30 to 70 %" in across and "a (1 of 2)" in across and "only partly" in across


def test_the_notes_say_why_a_plain_looking_dimension_is_not_called_visual():
    rater = _appearance_rater()
    lime, rng = _one_hue_dimension(rater, 2)
    values = np.column_stack([lime, rng.random(300)])
    names = [f"concept {i}" for i in range(300)]
    rated = pd.DataFrame(
        {
            "label": ["semantic", "visual"],
            "label_commonality": ["semantic", "visual"],
            "label_collection": ["visual", "visual"],
            "unique_semantic": [0.30, 0.0],
            "unique_visual": [0.01, 0.2],
        }
    )
    rater = replace(rater, method="commonality")
    note = autorate.hue_note(rater, values, rated, names, "yellow–lime")
    assert note.startswith("The dimension whose top collection holds the most yellow–lime")
    assert "dimension 1 (" in note and "**semantic** (the other rater: visual)" in note
    assert "beyond their pictures" in note and "adds 30 %" in note
    # a hue that no top collection holds beyond chance: the pictures are the limit
    faint = autorate.hue_note(rater, values[:, [1]], rated.iloc[[1]], names, "blue")
    assert "within what random collections reach" in faint and "limit of the pictures" in faint
    plain = pd.DataFrame(
        {"label_commonality": ["semantic", "visual"], "label_collection": ["visual", "visual"]}
    )
    text = autorate.appearance_note(plain, "commonality")
    assert text.startswith("The commonality rater calls 1 of these 2 visual, the collection")
    assert "Of the other 1, it calls 1 semantic." in text
    assert autorate.appearance_note(plain.iloc[:0], "commonality").startswith("No human")


def test_appearance_shared_names_what_the_collection_shares():
    plain = pd.DataFrame(
        {
            "hue": ["green", "blue"],
            "one_hue": [True, False],
            "lightness": ["light", "dark"],
            "one_lightness": [True, False],
            "round": [False, True],
        }
    )
    assert autorate.appearance_shared(plain) == ["one hue (green), one lightness (light)", "round"]


def test_the_ratings_download_is_in_percent_with_every_column_described():
    rater = _toy_rater()
    table = rater.rate(_planted_network(1, 1, 1, 1)).assign(embedding="net")
    download = autorate.ratings_table(table, {"net": "a network"})
    assert list(download.columns) == list(autorate.RATINGS_COLUMNS)
    assert download["dimension"].tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(download["r2_joint"], 100 * table["r2_joint"])
    np.testing.assert_allclose(download["importance"].sum(), 100.0)
    assert set(download["embedding name"]) == {"a network"}


def test_validation_table_holds_each_split_in_percent():
    rng = np.random.default_rng(0)
    planted = np.repeat(list(rating.QUALITIES), 6)
    validation = pd.DataFrame(
        {
            "planted": planted,
            "split": np.tile(["test", "calibration"], planted.size // 2),
            "label_commonality": planted,  # always right
            "label_collection": rng.choice(rating.QUALITIES, planted.size),
        }
    )
    table = autorate.validation_table(validation)
    assert table.index.names == ["planted dimensions", "method"]
    for split in ("test", "calibration"):
        rows = validation[validation["split"] == split]
        for method in autorate.METHODS:
            predicted = rows[f"label_{method}"].to_numpy()
            truth = rows["planted"].to_numpy()
            assert table.loc[(split, method), "balanced"] == pytest.approx(
                100 * balanced_accuracy_score(truth, predicted)
            )
            for quality in rating.QUALITIES:
                right = np.mean(predicted[truth == quality] == quality)
                assert table.loc[(split, method), quality] == pytest.approx(100 * right)
    assert (table.loc[("test", "commonality")] == 100).all()


def test_plain_dimensions_keep_those_sharing_a_look_with_both_labels():
    appearance = pd.DataFrame(
        {
            "dimension": [0, 1, 2, 3],
            "hue": ["green", "blue", "red", "red"],
            "hue_z": [4.0, 0.0, 1.0, 0.0],
            "lightness": ["light", "dark", "dark", "dark"],
            "lightness_z": [0.0, 3.5, 0.0, 0.0],
            "roundness_z": [0.0, 0.0, 1.0, 5.0],
            "one_hue": [True, False, False, False],
            "one_lightness": [False, True, False, False],
            "round": [False, False, False, True],
        }
    )
    labels = pd.DataFrame(
        {
            "dimension": [3, 2, 1, 0],  # joined on the dimension, not by row
            "label": ["visual"] * 4,
            "label_commonality": ["c3", "c2", "c1", "c0"],
            "label_collection": ["k3", "k2", "k1", "k0"],
        }
    )
    plain = autorate.plain_dimensions(appearance, labels)
    assert plain["dimension"].tolist() == [0, 1, 3]
    assert plain["label_commonality"].tolist() == ["c0", "c1", "c3"]
    shown = autorate.plain_table(plain)
    assert shown["dimension"].tolist() == [1, 2, 4]
    assert shown["shares"].tolist() == ["one hue (green)", "one lightness (dark)", "round"]
    assert list(shown.columns) == [
        "dimension", "shares", "hue_z", "lightness_z", "roundness_z",
        "label_commonality", "label_collection",
    ]  # fmt: skip


def test_clip_source_note_says_where_the_clip_embedding_comes_from():
    fitted = autorate.clip_source_note(17, n_train=900_000, accuracy=0.6234)
    assert "900,000 random training triplets" in fitted
    assert "VICE keeps **17 dimensions** and predicts 62.3 % of CLIP's" in fitted
    studied = autorate.clip_source_note(12)
    assert studied.startswith("CLIP is the network studied here") and "(12 dimensions)" in studied
    with pytest.raises(ValueError, match="accuracy: expected"):
        autorate.clip_source_note(17, n_train=10)


def test_unclear_table_counts_and_weighs_the_unclear_dimensions():
    tables = {
        "vice42": pd.DataFrame(
            {
                "label": ["unclear", "visual", "semantic", "unclear"],
                "importance": [0.1, 0.2, 0.3, 0.4],
            }
        ),
        "mine": pd.DataFrame({"label": ["semantic", "unclear"], "importance": [0.75, 0.25]}),
    }
    names = {"vice42": "human", "mine": "my network"}
    table = autorate.unclear_table(tables, names)
    assert table.index.tolist() == ["human", "my network"]
    assert table.loc["human", "unclear, by count (%)"] == pytest.approx(50.0)
    assert table.loc["human", "unclear, by importance (%)"] == pytest.approx(50.0)
    assert table.loc["my network", "unclear, by importance (%)"] == pytest.approx(25.0)
    assert table["dimensions"].tolist() == [4, 2]
    assert table.loc["human", "paper (%)"] == autorate.PAPER_UNCLEAR["vice42"]
    assert np.isnan(table.loc["my network", "paper (%)"])


def test_unclear_note_gives_the_reason_that_applies():
    every = np.arange(1854)
    some = np.arange(0, 1854, 3)
    rated = np.arange(0, 100)
    stand_in = autorate.unclear_note("VGG", every, rated, book_network=True, paper_profile=False)
    assert stand_in.startswith("Our VGG-16 embedding is learnt from a concept-level stand-in")
    paper = autorate.unclear_note("VGG", every, rated, book_network=True, paper_profile=True)
    assert paper.startswith("Our VGG-16 embedding comes from VGG-16-BN's activations")
    partial = autorate.unclear_note("Mine", some, rated, book_network=False, paper_profile=False)
    assert partial.startswith("Mine covers 618 concepts")
    assert f"rated on the {np.intersect1d(some, rated).size} of them" in partial
    other = autorate.unclear_note("Mine", every, rated, book_network=False, paper_profile=False)
    assert other == "The paper gives an unclear share for its VGG-16 only, none for Mine."


def test_embeddings_to_rate_loads_orders_and_names_them(tmp_path, monkeypatch):
    from dnnalign_utils import data, paths
    from dnnalign_utils.container import from_published, save_embedding

    monkeypatch.setenv("DNNALIGN_ARTEFACTS_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    human_spose = rng.gamma(1.0, 1.0, size=(1854, 5)) * (rng.random((1854, 5)) < 0.3)
    path = paths.human_spose_embedding("smoke")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_embedding(path, from_published(human_spose, name="human_spose"))
    network = rng.gamma(1.0, 1.0, size=(40, 6))
    index = np.sort(rng.choice(1854, 40, replace=False))
    clip = rng.gamma(1.0, 1.0, size=(1854, 4))
    weights, objects, names = autorate.embeddings_to_rate(
        "smoke", "mine", "My network", network, index, clip_weights=clip
    )
    assert list(weights) == list(objects) == ["vice42", "spose49", "human_spose", "mine", "clip"]
    assert list(names) == [*weights, "effnet"]
    assert names["mine"] == "My network, chapter 2"
    np.testing.assert_array_equal(objects["mine"], index)
    np.testing.assert_array_equal(objects["vice42"], np.arange(1854))
    raw = {
        "vice42": data.load_human_embedding("vice42"),
        "spose49": data.load_human_embedding("spose49"),
        "mine": network,
        "clip": clip,
    }
    for key, value in raw.items():  # columns in importance order, as the chapters use them
        expected = from_published(value, name=key, n_objects=None).weights
        np.testing.assert_array_equal(weights[key], expected)
    assert weights["human_spose"].shape[1] == 5
    without_clip = autorate.embeddings_to_rate("smoke", "mine", "My network", network, index)
    assert "clip" not in without_clip[0] and "clip" not in without_clip[2]
    with pytest.raises(ValueError, match="'clip' is the key of another rated embedding"):
        autorate.embeddings_to_rate("smoke", "clip", "CLIP", network, index)
    with pytest.raises(ValueError, match="network_objects: things_index has 39 entries"):
        autorate.embeddings_to_rate("smoke", "mine", "My network", network, index[:-1])
