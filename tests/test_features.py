"""Feature extraction: hooks at named layers, row order, batch invariance, storage, ImageNet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from dnnalign_utils import features, images


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return features.efficientnet_lite0()


@pytest.fixture(scope="module")
def manifest():
    return images.load_manifest(verify=False)


@pytest.fixture(scope="module")
def seven(manifest):
    """Seven images of different concepts and styles (rows spread over the set)."""
    rows = manifest.iloc[np.linspace(0, len(manifest) - 1, 7).astype(int)]
    return images.EmojiImages(
        rows.reset_index(drop=True), features.efficientnet_lite0_preprocess()
    )


LAYERS = ["_blocks.2", "_avg_pooling", "_fc"]


def test_several_layers_in_one_pass_match_the_model(model, seven):
    out = features.extract_features(model, seven, LAYERS, batch_size=4, progress=False)
    assert out["_blocks.2"].shape == (7, 24 * 56 * 56)
    assert out["_avg_pooling"].shape == (7, 1280)
    assert out["_fc"].shape == (7, 1000)
    assert all(a.dtype == np.float32 for a in out.values())
    x = torch.stack([seven[i][0] for i in range(7)])
    with torch.no_grad():
        logits = model(x).numpy()
        pooled = model._avg_pooling(model.extract_features(x)).flatten(1).numpy()
    np.testing.assert_allclose(out["_fc"], logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["_avg_pooling"], pooled, rtol=1e-5, atol=1e-5)
    # the classifier is a linear map of the pooled features: the hooks see the same pass
    w, b = model._fc.weight.detach().numpy(), model._fc.bias.detach().numpy()
    np.testing.assert_allclose(out["_avg_pooling"] @ w.T + b, out["_fc"], atol=1e-4)
    assert not model.training
    assert not any(m._forward_hooks for m in model.modules())  # hooks removed


def test_spatial_pool_equals_block_means_of_the_full_map(model, seven):
    full = features.extract_features(model, seven, LAYERS, progress=False)
    pooled = features.extract_features(model, seven, LAYERS, spatial_pool=4, progress=False)
    maps = full["_blocks.2"].reshape(7, 24, 56, 56)
    # 56 / 4 = 14: each pooled cell is the plain mean of a 14 x 14 block of the map
    by_hand = maps.reshape(7, 24, 4, 14, 4, 14).mean(axis=(3, 5)).reshape(7, -1)
    np.testing.assert_allclose(pooled["_blocks.2"], by_hand, rtol=1e-5, atol=2e-5)  # float32 sums
    # vectors (the pooled head, the logits) pass unchanged
    np.testing.assert_allclose(pooled["_avg_pooling"], full["_avg_pooling"], atol=1e-6)
    np.testing.assert_allclose(pooled["_fc"], full["_fc"], atol=1e-5)
    with pytest.raises(ValueError, match="spatial_pool"):
        features.extract_features(model, seven, LAYERS, spatial_pool=0, progress=False)


def test_batch_size_does_not_change_rows(model, seven):
    one = features.extract_features(model, seven, ["_avg_pooling"], batch_size=1, progress=False)
    all7 = features.extract_features(model, seven, ["_avg_pooling"], batch_size=7, progress=False)
    np.testing.assert_allclose(one["_avg_pooling"], all7["_avg_pooling"], rtol=1e-4, atol=1e-5)
    # rows are distinct images, so a permutation would be caught
    gram = np.corrcoef(one["_avg_pooling"])
    assert (np.argmax(gram, axis=1) == np.arange(7)).all()


def test_unknown_layer_is_named(model, seven):
    with pytest.raises(ValueError, match="_blocks.99"):
        features.extract_features(model, seven, ["_blocks.99"], progress=False)
    with pytest.raises(ValueError, match="non-empty list"):
        features.extract_features(model, seven, "_fc", progress=False)


def test_thingsvision_layout_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    feats = {
        "_avg_pooling": rng.normal(size=(5, 6)).astype(np.float32),
        "_fc": rng.normal(size=(5, 3)),
    }
    names = [f"concept{i}/noto.png" for i in range(5)]
    features.save_features(tmp_path, feats, names, parameters={"network": "test"})
    for module, array in feats.items():
        folder = tmp_path / module
        assert sorted(p.name for p in folder.iterdir()) == [
            "features.npy",
            "features.npy.provenance.json",
            "file_names.txt",
        ]
        # plain numpy / text, as thingsvision writes and reads them
        np.testing.assert_array_equal(np.load(folder / "features.npy"), array)
        assert (folder / "file_names.txt").read_text().splitlines() == names
        loaded, loaded_names = features.load_features(tmp_path, module)
        np.testing.assert_array_equal(loaded, array)
        assert loaded_names == names
        record = features.features_provenance(tmp_path, module)
        assert record["parameters"] == {"network": "test", "module_name": module}
        assert record["shape"] == list(array.shape)
    with pytest.raises(ValueError, match="expected 4 rows"):
        features.save_features(tmp_path / "bad", feats, names[:4])
    (tmp_path / "_fc" / "file_names.txt").write_text("a\nb\n")
    with pytest.raises(ValueError, match="5 rows but 2 names"):
        features.load_features(tmp_path, "_fc")


def test_imagenet_classes_offline():
    classes = features.imagenet_classes()
    assert len(classes) == 1000 and classes["wnid"].is_unique
    assert classes.loc[954, ["wnid", "name"]].tolist() == ["n07753592", "banana"]
    assert classes.loc[0, "wnid"] == "n01440764"


def test_topk_and_recognition_table_on_known_logits(manifest):
    rows = features.imagenet_concept_rows(manifest).head(6)
    classes = features.imagenet_classes()
    from dnnalign_utils.data import load_concepts

    wnids = load_concepts()["WordNet ID"]
    target = [int(np.flatnonzero(classes["wnid"] == wnids[u])[0]) for u in rows["uniqueID"]]
    logits = np.zeros((6, 1000))
    logits[np.arange(6), target] = [9, 9, 3, 3, -1, -1]
    logits[:, 999] = 5  # a distractor ranked above the target for rows 2-5
    logits[:, 998] = 4
    logits[:, 997] = 2
    logits[:, 996] = 1
    top = features.topk_predictions(logits, k=5)
    assert top.shape == (6, 5) and (top[:, 0][:2] == target[:2]).all()
    result = features.recognition_table(rows, logits, k=5)
    per = result.per_image
    assert per["top1"].tolist() == [True, True, False, False, False, False]
    assert per["top5"].tolist() == [True, True, True, True, False, False]
    overall = result.table.set_index("style").loc["all"]
    assert overall["n_images"] == 6 and overall["top5"] == pytest.approx(4 / 6)


def test_top5_names_the_concept_on_a_handful_of_pictures(model, manifest):
    """Sanity: EfficientNet-Lite0 names our umbrella and soccer ball pictures.

    With the default rendering and the network's input recipe: umbrella and soccer ball
    are in the top-5 for at least half of their styles (4/6 and 6/7 measured; banana
    drawings only 1/7, so banana is not required), umbrella is top-1 in 2/6;
    and the umbrella pictures are not called bananas (the rows are not mixed up).
    """
    classes = features.imagenet_classes()
    wanted = {
        "banana": "banana",
        "umbrella": "umbrella",
        "soccer_ball": "soccer ball",
    }
    rows = manifest[manifest["uniqueID"].isin(list(wanted))].reset_index(drop=True)
    dataset = images.EmojiImages(rows, features.efficientnet_lite0_preprocess())
    logits = features.extract_features(model, dataset, ["_fc"], progress=False)["_fc"]
    top5 = features.topk_predictions(logits, 5)
    names = [classes["name"][t].tolist() for t in top5]
    ids = rows["uniqueID"].tolist()
    hits = pd.Series([wanted[u] in n for u, n in zip(ids, names, strict=True)], index=ids)
    assert hits.groupby(level=0).mean()[["umbrella", "soccer_ball"]].min() >= 0.5
    umbrella = [n for u, n in zip(ids, names, strict=True) if u == "umbrella"]
    assert np.mean([n[0] == "umbrella" for n in umbrella]) >= 1 / 3
    assert not any("banana" in n for n in umbrella)


def test_cached_image_features_reuse_and_invalidate(tmp_path, monkeypatch):
    from dnnalign_utils import features as F
    from dnnalign_utils import images as I

    manifest = I.load_manifest().iloc[:3]
    first = F.efficientnet_lite0_image_features(manifest, tmp_path, progress=False)
    assert first["_avg_pooling"].shape == (3, 1280) and first["_fc"].shape == (3, 1000)
    calls = []
    monkeypatch.setattr(F, "extract_features", lambda *a, **k: calls.append(1) or {})
    again = F.efficientnet_lite0_image_features(manifest, tmp_path, progress=False)
    np.testing.assert_array_equal(again["_fc"], first["_fc"])
    assert calls == []  # same images: served from the cache
    # Other images: the cache is not reused, extraction runs again (here the stub).
    assert F.efficientnet_lite0_image_features(manifest.iloc[:2], tmp_path, progress=False) == {}
    assert calls == [1]


def test_concept_means_average_styles_per_concept():
    import pandas as pd

    from dnnalign_utils import features as F

    manifest = pd.DataFrame({"things_index": [5, 5, 2, 9, 9, 9]})
    feats = np.arange(12, dtype=float).reshape(6, 2)
    means, index = F.concept_means(feats, manifest)
    np.testing.assert_array_equal(index, [2, 5, 9])
    np.testing.assert_allclose(means, [[4, 5], [1, 2], [8, 9]])
    with pytest.raises(ValueError, match="rows"):
        F.concept_means(feats[:5], manifest)


def test_load_image_features_returns_matching_manifest_rows(tmp_path):
    from dnnalign_utils import features as F
    from dnnalign_utils import images as I

    manifest = I.load_manifest().iloc[[5, 2, 9]]
    feats = {"m": np.arange(6, dtype=np.float32).reshape(3, 2)}
    F.save_features(tmp_path, feats, I.file_names(manifest))
    array, rows = F.load_image_features(tmp_path, "m")
    np.testing.assert_array_equal(array, feats["m"])
    assert list(rows["file_name"]) == I.file_names(manifest)
    F.save_features(tmp_path, {"bad": feats["m"]}, ["x/none.png", "y/none.png", "z/none.png"])
    with pytest.raises(ValueError, match="not in the image manifest"):
        F.load_image_features(tmp_path, "bad")


def test_device_argument_gives_the_same_rows(model, seven):
    on_cpu = features.extract_features(model, seven, ["_fc"], batch_size=4, progress=False)
    moved = features.extract_features(
        model, seven, ["_fc"], batch_size=4, progress=False, device="cpu"
    )
    np.testing.assert_array_equal(on_cpu["_fc"], moved["_fc"])


def test_missing_features_name_the_producing_chapter(tmp_path, monkeypatch):
    from dnnalign_utils import paths

    monkeypatch.setenv("DNNALIGN_ARTEFACTS_DIR", str(tmp_path))
    out_dir = paths.image_features("default")
    with pytest.raises(FileNotFoundError, match=r"--profile default --only 00_data`"):
        features.load_features(out_dir, "_avg_pooling")


def test_unreadable_features_file_names_the_file(tmp_path):
    from dnnalign_utils.data import DataValidationError

    folder = tmp_path / "layer"
    folder.mkdir()
    (folder / "features.npy").write_bytes(b"")
    (folder / "file_names.txt").write_text("a.jpg\n")
    with pytest.raises(DataValidationError, match=r"features.npy: not a readable .npy"):
        features.load_features(tmp_path, "layer")


def test_preprocess_normalises_through_the_one_tensor_normalisation():
    from PIL import Image
    from torchvision.transforms import functional as tf

    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (30, 40, 3), np.uint8))
    recipe = features.efficientnet_lite0_preprocess()
    cropped = tf.to_tensor(recipe.geometry(picture))
    expected = features.efficientnet_lite0_normalise(cropped)
    np.testing.assert_allclose(recipe(picture).numpy(), expected.numpy(), atol=1e-6)
    # TF-Lite scaling, (x - 127) / 128 on 0..255 pixels
    np.testing.assert_allclose(expected.numpy(), (cropped.numpy() * 255 - 127) / 128, atol=1e-5)
    # the normalisation is differentiable and works on batches
    batch = torch.rand(2, 3, 8, 8, requires_grad=True)
    features.efficientnet_lite0_normalise(batch).sum().backward()
    assert batch.grad is not None


def test_loading_the_pretrained_picture_networks_prints_nothing(capfd):
    for load in (features.efficientnet_lite0, features.efficientnet_lite1):
        load(pretrained=True)
    out, _ = capfd.readouterr()
    assert "Loaded pretrained weights" not in out
