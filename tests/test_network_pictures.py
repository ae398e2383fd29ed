"""networks: a choice of the embedded pictures (image_styles, n_image_concepts) and
EfficientNet-Lite0's features taken from chapter 0's store."""

from __future__ import annotations

import numpy as np
import pytest

from dnnalign_utils import features, images, networks, paths
from dnnalign_utils.provenance import array_sha256


def test_picture_selection_is_checked_and_canonical():
    assert networks.picture_selection(["twemoji", "noto"], 3) == (("noto", "twemoji"), 3)
    assert networks.picture_selection() == ((), 0)
    with pytest.raises(ValueError, match=r"\['comic'\] are not styles"):
        networks.picture_selection(["comic"])
    with pytest.raises(ValueError, match="listed twice"):
        networks.picture_selection(["noto", "noto"])
    with pytest.raises(ValueError, match="expected a list of style names"):
        networks.picture_selection("noto")
    with pytest.raises(ValueError, match=r"n_image_concepts=-1: expected an integer >= 0"):
        networks.picture_selection((), -1)


def test_a_choice_of_pictures_is_part_of_key_and_label():
    spec = networks.resolve("efficientnet_lite1", image_styles=["noto"])
    assert spec.key == "efficientnet_lite1-noto" and spec.image_styles == ("noto",)
    assert spec.label == "EfficientNet-Lite1 (noto style)"
    spec = networks.resolve("efficientnet_lite0", image_styles=["twemoji", "noto"],
                            n_image_concepts=40)  # fmt: skip
    assert spec.key == "efficientnet_lite0-noto-twemoji-first40"
    assert spec.label == "EfficientNet-Lite0 (noto, twemoji styles; first 40 concepts)"
    assert networks.resolve("efficientnet_lite0").key == "efficientnet_lite0"  # all pictures
    with pytest.raises(ValueError, match="network='clip_vit_b32' with image_styles"):
        networks.resolve("clip_vit_b32", image_styles=["noto"])


def test_embedded_pictures_follow_chapter_0s_rule():
    manifest = images.load_manifest(verify=False)
    chosen = networks.embedded_pictures(["noto", "openmoji"], 5)
    first = manifest["uniqueID"].unique()[:5]  # THINGS order, as chapter 0 cuts
    expected = manifest[
        manifest["style"].isin(["noto", "openmoji"]) & manifest["uniqueID"].isin(first)
    ]
    assert chosen["file_name"].tolist() == expected["file_name"].tolist()
    assert len(networks.embedded_pictures()) == len(manifest)


def test_the_paper_profile_refuses_a_choice_of_emoji(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="profile='paper': image_styles"):
        networks.load(
            "paper", networks.resolve("efficientnet_lite0", image_styles=["noto"]), progress=False
        )


def test_lite0_takes_chapter_0s_stored_features_of_the_same_pictures(tmp_path, monkeypatch):
    # chapter 0's store for six pictures (three concepts, two styles), made as chapter 0
    # makes it; then the network's own computation (no store) as the reference
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "with_store"))
    stored_pictures = networks.embedded_pictures(["noto", "twemoji"], 3)
    stored = features.efficientnet_lite0_image_features(
        stored_pictures, paths.image_features("smoke"), module_names=["_avg_pooling"],
        progress=False,
    )["_avg_pooling"]  # fmt: skip
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "without_store"))
    computed = networks.load(
        "smoke",
        networks.resolve("efficientnet_lite0", image_styles=["noto"], n_image_concepts=3),
        progress=False,
    )
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "with_store"))

    def no_model(*args, **kwargs):
        raise AssertionError("the network ran although chapter 0 stored its features")

    monkeypatch.setattr(features, "extract_features", no_model)
    reused = networks.load(
        "smoke",
        networks.resolve("efficientnet_lite0", image_styles=["noto"], n_image_concepts=3),
        progress=False,
    )
    noto = (stored_pictures["style"] == "noto").to_numpy()
    np.testing.assert_array_equal(reused.values, stored[noto].astype(np.float64))
    np.testing.assert_allclose(reused.values, computed.values, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(reused.things_index, stored_pictures["things_index"][noto])
    # a picture chapter 0 did not store: the network must run (here: refused by the stub)
    with pytest.raises(AssertionError, match="the network ran"):
        networks.load(
            "smoke",
            networks.resolve("efficientnet_lite0", image_styles=["noto"], n_image_concepts=4),
            progress=False,
        )


def test_stored_features_of_another_recipe_or_other_pictures_are_not_taken(tmp_path, monkeypatch):
    import dataclasses

    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    pictures = networks.embedded_pictures(["noto"], 2)
    recipe, rendering = features.EFFICIENTNET_LITE0_RECIPE, images.DEFAULT_RENDERING
    assert (
        networks.stored_chapter0_features("smoke", pictures, "_avg_pooling", recipe, rendering)
        is None
    )  # fmt: skip (no store)
    values = np.arange(2 * 4, dtype=np.float32).reshape(2, 4)
    parameters = {
        "rendering": dataclasses.asdict(rendering),
        "preprocess": recipe.as_dict(),
        "images_sha256": array_sha256(np.asarray(pictures["sha256"].tolist())),
    }
    produced_by = "dnnalign_utils.features.efficientnet_lite0_image_features"
    features.save_features(
        paths.image_features("smoke"), {"_avg_pooling": values}, pictures["file_name"],
        produced_by=produced_by, parameters=parameters,
    )  # fmt: skip
    got = networks.stored_chapter0_features("smoke", pictures[::-1], "_avg_pooling", recipe,
                                            rendering)  # fmt: skip
    np.testing.assert_array_equal(got, values[::-1])  # rows follow the asked table
    other_recipe = dataclasses.replace(recipe, resize_to=recipe.resize_to + 1)
    assert networks.stored_chapter0_features("smoke", pictures, "_avg_pooling", other_recipe,
                                             rendering) is None  # fmt: skip
    wrong = {**parameters, "images_sha256": "0" * 64}  # the store was of other pictures
    features.save_features(
        paths.image_features("smoke"), {"_avg_pooling": values}, pictures["file_name"],
        produced_by=produced_by, parameters=wrong,
    )  # fmt: skip
    assert networks.stored_chapter0_features("smoke", pictures, "_avg_pooling", recipe,
                                             rendering) is None  # fmt: skip


# --------------------------------------------------------- picture-level networks


def test_chapter_4_explains_only_picture_level_networks_and_says_why(tmp_path):
    lite1 = networks.resolve("efficientnet_lite1")
    assert networks.check_picture_level_network(lite1) is lite1
    with pytest.raises(ValueError, match="network='vgg16': a concept-level network"):
        networks.check_picture_level_network(networks.BOOK_NETWORK)
    with pytest.raises(ValueError, match="features_path='.*mine.npy': .* no pixels"):
        (tmp_path / "mine.npy").write_bytes(b"")
        networks.check_picture_level_network(networks.resolve(features_path=tmp_path / "mine.npy"))
    with pytest.raises(ValueError, match="images_dir='.*': .* object masks"):
        networks.check_picture_level_network(
            networks.resolve("efficientnet_lite0", images_dir=tmp_path)
        )
    with pytest.raises(ValueError, match="layer='_blocks.3': .* expected layer=''"):
        networks.check_picture_level_network(
            networks.resolve("efficientnet_lite0", layer="_blocks.3")
        )
    with pytest.raises(ValueError, match="a choice of pictures of its own"):
        networks.check_picture_level_network(
            networks.resolve("efficientnet_lite0", image_styles=["noto"])
        )


def test_the_picture_embedding_is_the_studied_networks_only_without_a_choice_of_its_own(
    tmp_path,
):
    own = networks.resolve("efficientnet_lite1")
    assert own.picture_network is own
    assert own.sees_chapter0_pictures
    for other in (
        networks.resolve("vgg16"),
        networks.resolve("clip_vit_b32"),
        networks.resolve("efficientnet_lite1", image_styles=["noto"]),
        networks.resolve("efficientnet_lite1", layer="_blocks.3"),
        networks.resolve("efficientnet_lite0_untrained", images_dir=tmp_path),
        networks.resolve("efficientnet_lite0", images_dir=tmp_path),
    ):
        assert other.picture_network == networks.BOOK_PICTURE_NETWORK, other.key
        assert not other.sees_chapter0_pictures, other.key


@pytest.fixture
def chapter0_store(tmp_path, monkeypatch):
    """Chapter 0's store of six pictures (three concepts, two styles) under a fresh
    artefact folder, made as chapter 0 makes it."""
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    rows = networks.embedded_pictures(["noto", "twemoji"], 3)
    stored = features.efficientnet_lite0_image_features(
        rows, paths.image_features("smoke"), module_names=["_avg_pooling"], progress=False
    )["_avg_pooling"]
    return rows, stored


def test_image_set_features_are_chapter_0s_for_lite0_and_computed_once_for_others(
    chapter0_store, monkeypatch
):
    rows, stored = chapter0_store
    lite0 = networks.image_set_features("smoke", networks.BOOK_PICTURE_NETWORK, progress=False)
    np.testing.assert_array_equal(lite0.values, stored)
    assert lite0.rows["file_name"].tolist() == rows["file_name"].tolist()
    assert lite0.layer == "_avg_pooling" and lite0.recipe == features.EFFICIENTNET_LITE0_RECIPE
    # another network: the same pictures, its own model and recipe (the reference: the
    # features the network gives these pictures rendered as chapter 0 renders them)
    untrained_network = networks.resolve("efficientnet_lite0_untrained")
    untrained = networks.image_set_features("smoke", untrained_network, False)
    reference = features.extract_features(
        features.efficientnet_lite0_untrained(),
        images.EmojiImages(rows, features.EFFICIENTNET_LITE0_RECIPE, images.DEFAULT_RENDERING),
        ["_avg_pooling"],
        progress=False,
    )["_avg_pooling"]
    np.testing.assert_allclose(untrained.values, reference, rtol=1e-5, atol=1e-6)
    assert untrained.rows["file_name"].tolist() == rows["file_name"].tolist()
    assert not np.allclose(untrained.values, stored)  # random weights see otherwise
    assert paths.network_image_set_features("smoke", untrained_network).is_dir()

    def no_model(*args, **kwargs):
        raise AssertionError("the network ran although its features were cached")

    monkeypatch.setattr(features, "extract_features", no_model)
    monkeypatch.setattr(features, "check_module_exists", no_model)  # no model build either
    again = networks.image_set_features("smoke", untrained_network, False)
    np.testing.assert_array_equal(again.values, untrained.values)
    # the concept-level path of the same network reads the same cache: concept means
    concept = networks.load("smoke", untrained_network, progress=False)
    means, things_index = features.concept_means(untrained.values.astype(np.float64), rows)
    np.testing.assert_allclose(concept.values, means)
    np.testing.assert_array_equal(concept.things_index, things_index)
    with pytest.raises(ValueError, match="network='vgg16': a concept-level network"):
        networks.image_set_features("smoke", networks.BOOK_NETWORK)
