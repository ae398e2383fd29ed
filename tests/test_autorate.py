"""The automatic visual / semantic rater: image statistics, predictors, decision rule."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from dnnalign_utils import autorate, rating, regression


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


def test_detrend_by_rank_removes_the_linear_trend_only():
    rank = np.arange(20.0)
    r2 = 0.8 - 0.02 * rank + 0.05 * np.sin(rank)
    detrended = autorate.detrend_by_rank(r2)
    assert detrended.mean() == pytest.approx(r2.mean())
    assert np.polyfit(rank, detrended, 1)[0] == pytest.approx(0.0, abs=1e-12)
    reference = r2 - np.polyval(np.polyfit(rank, r2, 1), rank) + r2.mean()
    np.testing.assert_allclose(detrended, reference)


def test_classify_and_balanced_accuracy_match_definitions():
    t = autorate.Thresholds(unclear=0.1, semantic_margin=0.2, visual_margin=0.3)
    sem = np.array([0.05, 0.6, 0.1, 0.5, 0.3])
    vis = np.array([0.02, 0.1, 0.5, 0.4, 0.35])
    assert autorate.classify(sem, vis, t).tolist() == [
        "unclear",
        "semantic",
        "visual",
        "mixed",
        "mixed",
    ]
    rng = np.random.default_rng(3)
    truth = rng.choice(rating.QUALITIES, 60)
    predicted = rng.choice(rating.QUALITIES, 60)
    assert autorate.balanced_accuracy(truth, predicted) == pytest.approx(
        balanced_accuracy_score(truth, predicted)
    )


def test_visual_predictors_may_not_include_the_rated_layer():
    autorate.check_visual_layers(["_blocks.0"], "_blocks.2")
    with pytest.raises(ValueError, match="_blocks.0"):
        autorate.check_visual_layers(["_blocks.0"], "_blocks.0")
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
    mix = rng.normal(size=(6, 30))
    visual = autorate.combine_blocks({"v": visual_latent.to_numpy() @ mix})
    semantic = autorate.combine_blocks(
        {"s": semantic_latent.to_numpy() @ rng.normal(size=(6, 40))}
    )
    return visual_latent, semantic_latent, visual, semantic


def _toy_rater():
    visual_latent, semantic_latent, visual, semantic = _toy_world()
    grid = np.logspace(-2, 5, 15)
    values, truth, _ = autorate.planted_dimensions(
        visual_latent.iloc[:, ::2], semantic_latent.iloc[:, ::2], n_per_class=6, seed=1
    )
    sem = regression.nested_cv_scores(semantic, values, grid).r2
    vis = regression.nested_cv_scores(visual, values, grid).r2
    thresholds = autorate.choose_thresholds(sem, vis, truth)
    return autorate.Rater(
        objects=np.arange(len(visual)),
        semantic=semantic,
        visual=visual,
        visual_layers=("probe",),
        thresholds=thresholds,
        validation=pd.DataFrame(),
        alpha_grid=grid,
    )


def test_rater_recovers_planted_dimensions_it_was_not_calibrated_on():
    rater = _toy_rater()
    visual_latent, semantic_latent, _, _ = _toy_world()
    values, truth, names = autorate.planted_dimensions(
        visual_latent.iloc[:, 1::2], semantic_latent.iloc[:, 1::2], n_per_class=6, seed=2
    )
    table = rater.rate(values)
    # planted columns have no rank order; detrending must not be what makes them right
    sem, vis = rater.r2(values)
    raw = autorate.classify(sem, vis, rater.thresholds)
    assert np.mean(raw == truth) >= 0.9, list(zip(names, raw, strict=True))
    assert np.mean(table["label"].to_numpy() == truth) >= 0.75
    confusion = autorate.confusion(truth, raw)
    assert confusion.to_numpy().sum() == len(truth)
    assert list(confusion.index) == list(rating.QUALITIES)


def test_planted_dimensions_are_seeded_sparse_and_non_negative():
    visual_latent, semantic_latent, _, _ = _toy_world()
    a = autorate.planted_dimensions(visual_latent, semantic_latent, n_per_class=3, seed=5)
    b = autorate.planted_dimensions(visual_latent, semantic_latent, n_per_class=3, seed=5)
    np.testing.assert_array_equal(a[0], b[0])
    assert (a[0] >= 0).all() and ((a[0] == 0).mean(0) >= 0.39).all()
    assert sorted(set(a[1])) == sorted(rating.QUALITIES)


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
    direct = rater.rate(concept_values[:, [1, 2, 0]])  # importance order
    direct = direct.set_index(pd.Index([1, 2, 0])).sort_index()
    np.testing.assert_allclose(by_picture["r2_semantic"], direct["r2_semantic"], atol=1e-9)
    np.testing.assert_allclose(by_picture["r2_visual"], direct["r2_visual"], atol=1e-9)
    assert by_picture["label"].tolist() == direct["label"].tolist()


# A network's label shares (chapter 5's key numbers) ---------------------------------------


def _slow_label_shares(rater, weights, things_index):
    """The obvious way, one step at a time: ReLU, columns by descending L1 norm, the rows
    of the rated concepts looked up one by one, each dimension's nested-CV R² on its own,
    the linear rank trend fitted by least squares, the rule applied dimension by
    dimension, the labels counted."""
    weights = np.maximum(np.asarray(weights, dtype=float), 0)
    order = sorted(range(weights.shape[1]), key=lambda d: (-weights[:, d].sum(), d))
    weights = weights[:, order]
    row_of = {int(concept): row for row, concept in enumerate(things_index)}
    rated = [i for i, concept in enumerate(rater.objects) if int(concept) in row_of]
    rows = [row_of[int(rater.objects[i])] for i in rated]
    r2 = {"semantic": [], "visual": []}
    for d in range(weights.shape[1]):
        target = weights[rows, d][:, None]
        for side, predictors in (("semantic", rater.semantic), ("visual", rater.visual)):
            score = regression.nested_cv_scores(
                predictors[rated], target, rater.alpha_grid, seed=rater.seed
            ).r2[0]
            r2[side].append(score)
    rank = np.arange(weights.shape[1], dtype=float)
    detrended = {}
    for side, values in r2.items():
        values = np.array(values)
        design = np.stack([rank, np.ones_like(rank)], axis=1)
        slope = np.linalg.lstsq(design, values, rcond=None)[0][0]
        detrended[side] = [v - slope * (k - rank.mean()) for k, v in enumerate(values)]
    t = rater.thresholds
    counts = {"visual": 0, "mixed": 0, "semantic": 0}
    for sem, vis in zip(detrended["semantic"], detrended["visual"], strict=True):
        if max(sem, vis) < t.unclear:
            continue
        if vis - sem > t.visual_margin:
            counts["visual"] += 1
        elif sem - vis > t.semantic_margin:
            counts["semantic"] += 1
        else:
            counts["mixed"] += 1
    total = sum(counts.values())
    return {f"{quality}_share": 100 * n / total for quality, n in counts.items()}


def test_network_label_shares_match_the_slow_reference_on_a_subset():
    rater = _toy_rater()
    rng = np.random.default_rng(7)
    # a picture network's subset: 250 of the rater's 400 concepts and 60 it does not rate
    things_index = np.sort(
        np.concatenate([rng.choice(400, 250, replace=False), 400 + rng.choice(500, 60, False)])
    )
    visual_latent, semantic_latent, _, _ = _toy_world()
    planted, _, _ = autorate.planted_dimensions(
        visual_latent, semantic_latent, n_per_class=4, seed=3, noise=(0.3, 1.5)
    )
    weights = np.abs(rng.normal(size=(things_index.size, planted.shape[1])))
    inside = things_index < 400
    weights[inside] = planted[things_index[inside]] * rng.uniform(0.5, 2, planted.shape[1])
    shares = autorate.network_label_shares("smoke", weights, things_index, rater=rater)
    reference = _slow_label_shares(rater, weights, things_index)
    assert shares.keys() == reference.keys()
    for name, value in reference.items():
        assert shares[name] == pytest.approx(value, abs=1e-9), name
    assert sum(shares.values()) == pytest.approx(100.0)


def _planted_network(n_visual, n_mixed, n_semantic, n_unclear, seed=5):
    """An embedding of the toy world's 400 concepts whose dimensions are planted from its
    latent properties with little noise. Columns are scaled (which changes no R²) so that
    their importance order spreads each class evenly over the ranks: the rank trend the
    rater removes is then close to zero, and each dimension keeps its planted class."""
    visual_latent, semantic_latent, _, _ = _toy_world()
    values, truth, _ = autorate.planted_dimensions(
        visual_latent.iloc[:, 1::2],
        semantic_latent.iloc[:, 1::2],
        n_per_class=max(n_visual, n_mixed, n_semantic, n_unclear),
        seed=seed,
        noise=(0.05, 0.15),
    )
    wanted = {"visual": n_visual, "mixed": n_mixed, "semantic": n_semantic, "unclear": n_unclear}
    columns, positions = [], []
    for label, n in wanted.items():
        columns += np.flatnonzero(truth == label)[:n].tolist()
        positions += [(k + 0.5) / n for k in range(n)]
    ordered = values[:, np.asarray(columns)[np.argsort(positions, kind="stable")]]
    norms = ordered.sum(0)
    target_norms = np.arange(ordered.shape[1], 0, -1.0)  # strictly decreasing
    shuffled = np.random.default_rng(seed).permutation(ordered.shape[1])
    return (ordered / norms * target_norms)[:, shuffled]


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
    assert got == pytest.approx(expected)
    # the same embedding known only on a subset of the concepts, with rows for concepts
    # the rater has no pictures of, is labelled the same way
    rows = np.r_[np.arange(40, 400), 500 + np.arange(30)]
    outside = np.full((30, weights.shape[1]), 1e-3)
    shares = autorate.network_label_shares(
        "smoke", np.vstack([weights[40:], outside]), rows, rater=rater
    )
    got = (shares["visual_share"], shares["mixed_share"], shares["semantic_share"])
    assert got == pytest.approx(expected)


def test_network_label_shares_refuse_bad_input():
    rater = _toy_rater()
    weights = _planted_network(2, 2, 2, 0)
    with pytest.raises(ValueError, match="things_index: expected 400"):
        autorate.network_label_shares("smoke", weights, np.arange(399), rater=rater)
    with pytest.raises(ValueError, match="occurs twice"):
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
    assert table.loc[constant, "label"].tolist() == ["unclear"]
    assert np.isfinite(table.loc[~constant, ["semantic", "visual"]].to_numpy()).all()
