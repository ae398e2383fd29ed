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
        networks.load("paper", "efficientnet_lite0", image_styles=["noto"], progress=False)


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
        "smoke", "efficientnet_lite0", image_styles=["noto"], n_image_concepts=3, progress=False
    )
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "with_store"))

    def no_model(*args, **kwargs):
        raise AssertionError("the network ran although chapter 0 stored its features")

    monkeypatch.setattr(features, "extract_features", no_model)
    reused = networks.load(
        "smoke", "efficientnet_lite0", image_styles=["noto"], n_image_concepts=3, progress=False
    )
    noto = (stored_pictures["style"] == "noto").to_numpy()
    np.testing.assert_array_equal(reused.values, stored[noto].astype(np.float64))
    np.testing.assert_allclose(reused.values, computed.values, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(reused.things_index, stored_pictures["things_index"][noto])
    # a picture chapter 0 did not store: the network must run (here: refused by the stub)
    with pytest.raises(AssertionError, match="the network ran"):
        networks.load(
            "smoke", "efficientnet_lite0", image_styles=["noto"], n_image_concepts=4,
            progress=False,
        )  # fmt: skip


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
