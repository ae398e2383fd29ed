"""Input recipes pinned to their sources, the photo entry point (any picture, any mode and
size), the saved dimension predictor, its out-of-range warning and original-size maps."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from dnnalign_utils import features, gradcam, images, paths, predictor
from dnnalign_utils.provenance import read_provenance
from dnnalign_utils.regression import fit_ridge

LITE = features.EFFICIENTNET_LITE0_RECIPE
VGG = features.VGG16_BN_RECIPE


def _picture(width: int, height: int, seed: int = 0) -> Image.Image:
    """A smooth, asymmetric RGB picture (gradients plus a few blobs)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    channels = [
        np.sin(6 * x + rng.uniform(0, 6)) * np.cos(4 * y + rng.uniform(0, 6)) for _ in range(3)
    ]
    array = (np.stack(channels, axis=-1) * 0.5 + 0.5) * 255
    array[: height // 3, : width // 4] = [250, 30, 30]  # a red corner block: orientation
    return Image.fromarray(array.astype(np.uint8), mode="RGB")


@pytest.fixture(scope="module")
def model():
    return features.efficientnet_lite0()


def _features(item, model, **kwargs):
    return features.image_features(item, model=model, progress=False, **kwargs)


# --- recipes pinned to their sources --------------------------------------------------


def test_vgg16_bn_recipe_equals_torchvisions_weights_transforms():
    from torchvision.models import VGG16_BN_Weights

    reference = VGG16_BN_Weights.IMAGENET1K_V1.transforms()  # no weights are downloaded
    assert (VGG.resize_to, VGG.crop) == (reference.resize_size[0], reference.crop_size[0])
    assert VGG.interpolation == reference.interpolation.value
    assert list(VGG.mean) == reference.mean and list(VGG.std) == reference.std
    for seed, (w, h) in enumerate([(400, 300), (231, 500), (224, 224), (97, 61), (1000, 257)]):
        picture = _picture(w, h, seed)
        ours, theirs = VGG(picture), reference(picture)
        assert ours.shape == theirs.shape == (3, 224, 224)
        torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)


def test_efficientnet_lite0_recipe_is_the_tf_training_recipe():
    # The PyPI model package says it mirrors the official TF code (its module docstring;
    # read from the source, not the package metadata, which installers may rewrite):
    import efficientnet_lite_pytorch.model as lite_model

    assert "mirror those in the official TensorFlow implementation" in " ".join(
        lite_model.__doc__.split()
    )
    # The TF EfficientNet-Lite builder: "Edge models use inception-style MEAN and STDDEV
    # for better post-quantization. MEAN_RGB = [127.0, 127.0, 127.0];
    # STDDEV_RGB = [128.0, 128.0, 128.0]"; evaluation: centre crop of
    # image_size / (image_size + CROP_PADDING) of the shorter side, CROP_PADDING = 32,
    # resized bicubically to image_size = 224 for lite0.
    np.testing.assert_allclose(np.array(LITE.mean) * 255, [127.0] * 3, rtol=1e-12)
    np.testing.assert_allclose(np.array(LITE.std) * 255, [128.0] * 3, rtol=1e-12)
    assert LITE.crop == 224 and LITE.crop / LITE.resize_to == 224 / (224 + 32)
    assert LITE.interpolation == "bicubic"
    # timm's configuration of the same TF-ported weights agrees (it rounds 127/255 to 0.5)
    import timm

    cfg = timm.models.get_pretrained_cfg("tf_efficientnet_lite0.in1k")
    assert cfg.crop_pct == pytest.approx(LITE.crop / LITE.resize_to)
    assert cfg.interpolation == LITE.interpolation
    np.testing.assert_allclose(LITE.mean, cfg.mean, atol=1 / 255)
    np.testing.assert_allclose(LITE.std, cfg.std, atol=1 / 255)
    # on a 256 px square the resize is the identity: the tensor is (x - 127) / 128 of the
    # central 224 px
    pixels = np.asarray(_picture(256, 256, 3))
    expected = (pixels[16:240, 16:240].astype(np.float64) - 127) / 128
    np.testing.assert_allclose(
        LITE(Image.fromarray(pixels)).numpy(), expected.transpose(2, 0, 1), atol=1e-6
    )


def test_the_crop_does_not_cut_the_default_emoji_rendering():
    """The emoji are square 224 px renders; the recipe resizes them to 256 px and keeps the
    central 224 (the central 196 px of the render, 14 px lost on each side). The default
    rendering's margin (0.2 x 224 = 45 px) is wider, so only background is cut and the
    drawing appears 256 / 224 times larger."""
    rendering = images.DEFAULT_RENDERING
    lost = (LITE.resize_to - LITE.crop) / 2 * rendering.size / LITE.resize_to
    assert lost == 14 and rendering.margin * rendering.size > lost + 2
    rows = images.load_manifest(verify=False).iloc[[0, 700, 2000]].reset_index(drop=True)
    _, rgb, masks = gradcam.rendered_pictures(rows, LITE)
    rendered = images.load_masks(rows)
    assert rgb.shape == (3, 224, 224, 3) and masks.shape == (3, 224, 224)
    # the whole drawing survives, scaled by (256 / 224)^2 in area
    np.testing.assert_allclose(
        masks.sum(axis=(1, 2)), rendered.sum(axis=(1, 2)) * (256 / 224) ** 2, rtol=0.01
    )
    assert masks[:, [0, -1], :].max() == 0 and masks[:, :, [0, -1]].max() == 0


def test_feature_cache_is_keyed_by_the_recipe(tmp_path, monkeypatch):
    manifest = images.load_manifest(verify=False).iloc[:2]
    features.efficientnet_lite0_image_features(manifest, tmp_path, progress=False)
    record = features.features_provenance(tmp_path, "_avg_pooling")
    assert record["parameters"]["preprocess"] == LITE.as_dict()
    calls = []
    monkeypatch.setattr(features, "extract_features", lambda *a, **k: calls.append(1) or {})
    features.efficientnet_lite0_image_features(manifest, tmp_path, progress=False)
    assert calls == []  # same recipe: the cache is reused
    other = dataclasses.replace(LITE, mean=features.IMAGENET_MEAN, std=features.IMAGENET_STD)
    monkeypatch.setattr(features, "EFFICIENTNET_LITE0_RECIPE", other)
    assert features.efficientnet_lite0_image_features(manifest, tmp_path, progress=False) == {}
    assert calls == [1]  # another recipe: extracted again


# --- geometry: maps back onto the original picture ------------------------------------


def test_recipe_geometry_on_a_known_picture():
    # 400 x 300: the shorter side 300 -> 256, the longer 400 -> int(256 * 4 / 3) = 341;
    # the crop starts at row round(32 / 2) = 16 and column round(117 / 2) = 58
    assert LITE.resized_size(400, 300) == (341, 256)
    assert LITE.crop_offset(400, 300) == (16, 58)
    assert LITE.resized_size(300, 400) == (256, 341) and LITE.crop_offset(300, 400) == (58, 16)
    # a bright 9 x 9 block at rows 141-149, columns 191-199 of the original
    array = np.zeros((300, 400), dtype=np.uint8)
    array[141:150, 191:200] = 255
    seen = np.asarray(LITE.geometry(Image.fromarray(array).convert("RGB")))[..., 0]
    centre = np.argwhere(seen > 128).mean(axis=0)
    expected = (145.5 * 256 / 300 - 16, 195.5 * 341 / 400 - 58)  # pixel centres mapped
    np.testing.assert_allclose(centre + 0.5, expected, atol=0.6)
    # mapping a map of that block back puts it where it was
    back = LITE.to_original((seen > 128).astype(float), (400, 300))
    peak = np.argwhere(np.nan_to_num(back) > 0.5).mean(axis=0)
    np.testing.assert_allclose(peak, (145, 195), atol=1.0)


def test_to_original_reads_the_map_at_mapped_pixel_centres():
    width, height = 400, 300
    ramp = np.tile(np.arange(224, dtype=float), (224, 1))  # the crop column index
    back = LITE.to_original(ramp, (width, height))
    assert back.shape == (height, width)
    x = (np.arange(width) + 0.5) * 341 / width - 58 - 0.5
    y = (np.arange(height) + 0.5) * 256 / height - 16
    inside_x = (x + 0.5 >= 0) & (x + 0.5 <= 224)
    inside_y = (y >= 0) & (y <= 224)
    # outside the crop: NaN (the network never saw these pixels), inside: finite
    assert np.isnan(back[:, ~inside_x]).all() and np.isnan(back[~inside_y, :]).all()
    assert np.isfinite(back[np.ix_(inside_y, inside_x)]).all()
    row = back[150, inside_x]
    np.testing.assert_allclose(row, np.clip(x[inside_x], 0, 223), atol=1e-9)
    # columns 68..330 survive (68 = ceil(58 * 400 / 341 - 0.5))
    assert np.flatnonzero(inside_x)[[0, -1]].tolist() == [68, 330]
    # a coarser map over the same crop (7 x 7 cells of 32 px) and fill=0
    coarse_ramp = np.tile(np.arange(7, dtype=float), (7, 1))
    coarse = LITE.to_original(coarse_ramp, (width, height), fill=0.0)
    expected = np.clip((x[inside_x] + 0.5) * 7 / 224 - 0.5, 0, 6)
    np.testing.assert_allclose(coarse[150, inside_x], expected, atol=1e-9)
    assert (coarse[:, ~inside_x] == 0).all()
    with pytest.raises(ValueError, match="square 2-d map"):
        LITE.to_original(np.ones((3, 4)), (width, height))


# --- the entry point: any picture -----------------------------------------------------


def test_every_mode_and_kind_of_picture_gives_the_features_of_its_rgb(model):
    rgb = _picture(160, 120, 1)
    grey = rgb.convert("L")
    opaque = rgb.copy()
    opaque.putalpha(255)
    grey_alpha = grey.copy().convert("LA")
    array = np.array(rgb)
    same_as_rgb = [
        rgb,
        opaque,  # RGBA, fully opaque
        rgb.convert("CMYK"),
        array,
        array.astype(np.float32) / 255,
        np.dstack([array, np.full(array.shape[:2], 255, np.uint8)]),  # H x W x 4
        torch.from_numpy(array).permute(2, 0, 1).contiguous(),
        torch.from_numpy(array).permute(2, 0, 1).float() / 255,
    ]
    same_as_grey = [
        grey,
        grey_alpha,  # LA, opaque
        Image.fromarray(np.asarray(grey).astype(np.uint16) * 257),  # I;16
        grey.convert("I"),
        grey.convert("F"),
        np.array(grey),
        np.array(grey)[:, :, None],
        torch.from_numpy(np.array(grey)),
    ]
    assert Image.fromarray(np.asarray(grey).astype(np.uint16) * 257).mode == "I;16"
    out = _features([rgb, grey, *same_as_rgb, *same_as_grey], model)
    pooled = out.features["_avg_pooling"]
    assert pooled.shape == (2 + len(same_as_rgb) + len(same_as_grey), 1280)
    assert out.logits.shape == (len(pooled), 1000)
    for i in range(len(same_as_rgb)):
        np.testing.assert_allclose(pooled[2 + i], pooled[0], atol=1e-5, err_msg=f"rgb kind {i}")
    start = 2 + len(same_as_rgb)
    for i in range(len(same_as_grey)):
        np.testing.assert_allclose(pooled[start + i], pooled[1], atol=1e-5, err_msg=f"grey {i}")
    assert not np.allclose(pooled[0], pooled[1])
    # remaining modes run (palette with and without transparency, 1-bit, YCbCr, PA)
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    transparent_palette = palette.copy()
    transparent_palette.info["transparency"] = 0
    others = [palette, transparent_palette, rgb.convert("1"), rgb.convert("YCbCr")]
    others.append(palette.convert("PA"))
    assert [p.mode for p in others] == ["P", "P", "1", "YCbCr", "PA"]
    more = _features(others, model).features["_avg_pooling"]
    assert np.isfinite(more).all() and not np.allclose(more[0], more[1])


def test_transparency_is_laid_on_the_stated_background(model):
    size = (90, 70)
    clear = Image.new("RGBA", size, (200, 10, 10, 0))
    out = _features(
        [clear, Image.new("RGB", size, (0, 0, 0)), Image.new("RGB", size, (255, 255, 255))],
        model,
    ).features["_avg_pooling"]
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)  # default background: black
    white = _features(clear, model, background=(255, 255, 255)).features["_avg_pooling"]
    np.testing.assert_allclose(white[0], out[2], atol=1e-6)
    half = Image.new("RGBA", size, (255, 255, 255, 128))  # half-transparent white on black
    composited = features.as_rgb_picture(half)
    assert composited.mode == "RGB" and composited.getpixel((0, 0)) == (128, 128, 128)


@pytest.mark.parametrize("size", [(31, 17), (1000, 50), (224, 224), (640, 480), (1, 1)])
def test_any_size_and_aspect_ratio(model, size):
    out = _features(_picture(*size), model)
    assert out.features["_avg_pooling"].shape == (1, 1280)
    assert np.isfinite(out.logits).all() and out.original_sizes == [size]


def test_exif_orientation_is_honoured(model, tmp_path):
    upright = _picture(120, 80, 2)  # 120 wide, red block top left
    # as a sideways camera stores it: turned 90 degrees clockwise, with EXIF orientation 8
    # (display it turned 90 degrees counter-clockwise)
    stored = upright.transpose(Image.Transpose.ROTATE_270)
    exif = Image.Exif()
    exif[0x0112] = 8
    path = tmp_path / "sideways.jpg"
    stored.save(path, quality=95, exif=exif)
    with Image.open(path) as raw:
        assert raw.size == (80, 120)  # stored sideways
        decoded_upright = raw.transpose(Image.Transpose.ROTATE_90)
    decoded_upright.info.pop("exif")  # rotated by hand: its copied EXIF tag no longer holds
    out = _features([path, str(path), decoded_upright, stored], model)
    assert out.original_sizes[:3] == [(120, 80)] * 3
    pooled = out.features["_avg_pooling"]
    np.testing.assert_allclose(pooled[0], pooled[2], atol=1e-5)
    np.testing.assert_allclose(pooled[1], pooled[2], atol=1e-5)
    assert not np.allclose(pooled[0], pooled[3], atol=1e-2)  # orientation matters
    shown = features.as_rgb_picture(path)
    assert np.asarray(shown)[5, 5, 0] > 200 and np.asarray(shown)[5, 5, 1] < 80  # red corner


def test_bad_input_is_named_by_argument_and_index(model, tmp_path):
    good = _picture(40, 30)
    bad_shape = r"paths_or_images\[1\]: expected .*got shape \(8, 8, 5\)"
    with pytest.raises(ValueError, match=bad_shape):
        _features([good, np.zeros((8, 8, 5), np.uint8)], model)
    with pytest.raises(FileNotFoundError, match=r"paths_or_images\[0\]: file not found: .*none"):
        _features([tmp_path / "none.jpg"], model)
    with pytest.raises(ValueError, match="paths_or_images: empty list"):
        _features([], model)
    with pytest.raises(ValueError, match=r"paths_or_images\[2\]: a float picture must lie"):
        _features([good, good, np.full((5, 5), 3.0)], model)
    with pytest.raises(ValueError, match=r"paths_or_images: expected a file path.*got dict"):
        _features({"a": 1}, model)
    with pytest.raises(ValueError, match=r"\(C, H, W\) tensor.*\(5, 8, 8\)"):
        _features(torch.zeros(5, 8, 8), model)
    (tmp_path / "text.jpg").write_text("not a picture")
    with pytest.raises(ValueError, match=r"paths_or_images\[0\]: .*text.jpg is not a readable"):
        _features([tmp_path / "text.jpg"], model)
    with pytest.raises(ValueError, match="network: expected one of"):
        features.image_features(good, network="resnet")
    with pytest.raises(ValueError, match="modules"):
        _features(good, model, modules="_fc")


def test_pictures_are_decoded_a_batch_at_a_time(model, monkeypatch):
    """Decoding every picture before the first forward pass held them all (~2 MiB each)."""
    decoded, at_forward = [], []
    decode = features.as_rgb_picture

    def counting(*args, **kwargs):
        decoded.append(args[1])
        return decode(*args, **kwargs)

    monkeypatch.setattr(features, "as_rgb_picture", counting)
    hook = model.register_forward_pre_hook(lambda *_: at_forward.append(len(decoded)))
    try:
        sizes = [(40 + i, 30 + 2 * i) for i in range(7)]
        pictures = [_picture(w, h, seed) for seed, (w, h) in enumerate(sizes)]
        got = _features(pictures, model, batch_size=3)
    finally:
        hook.remove()
    assert at_forward == [3, 6, 7]  # each forward pass sees only its own batch decoded
    assert got.original_sizes == sizes and got.logits.shape[0] == 7
    one = _features(pictures[4], model)
    np.testing.assert_allclose(got.logits[4], one.logits[0], rtol=1e-4, atol=1e-4)


# --- the saved predictor ----------------------------------------------------------------


def test_feature_range_distance_equals_mahalanobis_when_all_axes_are_kept():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5)) @ rng.normal(size=(5, 5)) + 3
    fitted = predictor.FeatureRange.fit(x, np.abs(x[:, :2]), n_components=10, percentile=90)
    assert fitted.components.shape == (4, 5)  # p - 1 axes, the last as the residual
    new = rng.normal(size=(7, 5)) * 2 + 3
    inverse = np.linalg.inv(np.cov(x, rowvar=False))
    centred = new - x.mean(axis=0)
    reference = np.sqrt(np.einsum("ij,jk,ik->i", centred, inverse, centred) / 5)
    np.testing.assert_allclose(fitted.distance(new), reference, rtol=1e-8)
    # the limit is the training pictures' 90th percentile of that distance
    assert np.mean(fitted.distance(x) > fitted.distance_limit) == pytest.approx(0.1, abs=0.01)
    assert fitted.negative_share_limit == 0.0  # no training prediction was negative


@pytest.fixture(scope="module")
def fitted(model):
    """A predictor fitted on 40 rendered emoji (targets: non-negative, as VICE's)."""
    rows = images.load_manifest(verify=False).iloc[::75].head(40).reset_index(drop=True)
    pictures = images.load_images(rows)
    train = _features(pictures, model).features["_avg_pooling"]
    targets = np.abs(np.random.default_rng(0).normal(size=(len(rows), 4)))
    ridge = fit_ridge(train, targets, alpha=10.0)
    made = predictor.DimensionPredictor.from_training(
        ridge,
        train,
        network="efficientnet_lite0",
        layer="_avg_pooling",
        object_names=images.file_names(rows),
        model=model,
    )
    return made, pictures, train, ridge


def test_predictor_equals_the_ridge_on_the_training_features(fitted):
    made, pictures, train, ridge = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a training picture raises no out-of-range warning
        result = made.predict(pictures[:3])
    np.testing.assert_allclose(result.dimensions, ridge.predict(train[:3]), atol=1e-4)
    assert not result.outside.any()
    table = result.table()
    assert list(table.columns[:4]) == [
        "imagenet_top5",
        "feature_distance",
        "negative_share",
        "outside_training_pictures",
    ]
    assert list(table.columns[4:]) == [f"dimension {i}" for i in range(1, 5)]
    assert len(result.top5) == 3 and result.top5.shape[1] == 5


def test_out_of_range_pictures_warn_with_numbers(fitted):
    made, pictures, _, _ = fitted
    noise = np.random.default_rng(1).integers(0, 256, size=(200, 300, 3), dtype=np.uint8)
    with pytest.warns(UserWarning, match=r"1 of 2 pictures lie outside") as caught:
        result = made.predict([pictures[0], noise])
    message = str(caught[0].message)
    assert "paths_or_images[1]: feature distance" in message
    assert f"{made.feature_range.distance_limit:.2f}" in message
    assert "paths_or_images[0]" not in message
    assert result.outside.tolist() == [False, True]
    assert result.distance[1] > made.feature_range.distance_limit


def test_saved_predictor_reloads_and_reproduces_predictions(fitted, tmp_path, monkeypatch):
    made, pictures, _, _ = fitted
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    path = paths.picture_predictor("smoke")
    made.save(path, produced_by="test")
    record = read_provenance(path)
    assert record["parameters"]["recipe"] == LITE.as_dict()
    assert record["parameters"]["network"] == "efficientnet_lite0"
    assert record["parameters"]["layer"] == "_avg_pooling"
    loaded = predictor.DimensionPredictor.load(path, model=made.model())
    assert loaded.object_names == made.object_names
    assert loaded.dimension_names == made.dimension_names
    before, after = made.predict(pictures[:4]), loaded.predict(pictures[:4])
    np.testing.assert_array_equal(after.dimensions, before.dimensions)
    np.testing.assert_array_equal(after.distance, before.distance)
    assert loaded.feature_range.distance_limit == made.feature_range.distance_limit
    # a predictor saved under another input recipe is refused
    spec = features.PICTURE_MODELS["efficientnet_lite0"]
    changed = dataclasses.replace(spec, recipe=dataclasses.replace(LITE, resize_to=240))
    monkeypatch.setitem(features.PICTURE_MODELS, "efficientnet_lite0", changed)
    with pytest.raises(ValueError, match="input recipe"):
        predictor.DimensionPredictor.load(path)
    monkeypatch.undo()
    # a missing predictor names the chapter that writes it (an empty artefact folder, so
    # that a reader's own built book does not hide the case)
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "no_artefacts"))
    with pytest.raises(FileNotFoundError, match="04_gradcam"):
        predictor.DimensionPredictor.load(paths.picture_predictor("default"))


def test_original_size_cams_are_the_input_maps_carried_back(fitted):
    made, _, _, _ = fitted
    picture = _picture(400, 300, 4)
    maps = made.original_size_cams([picture, picture], [0, 2])
    assert [m.shape for m in maps] == [(300, 400), (300, 400)]
    inputs = LITE(picture)[None].repeat(2, 1, 1, 1)
    torch_predictor = predictor.EfficientNetLitePredictor(made.model(), made.ridge)
    on_input = gradcam.dimension_cams(torch_predictor, inputs, [0, 2])
    for cam, carried in zip(on_input, maps, strict=True):
        np.testing.assert_allclose(carried, LITE.to_original(cam, (400, 300)), atol=1e-6)
    # outside the crop (columns < 68 or > 330, rows < 19 or > 280): NaN
    assert np.isnan(maps[0][:, :68]).all() and np.isnan(maps[0][:, 331:]).all()
    assert np.isnan(maps[0][:18]).all() and np.isfinite(maps[0][20:280, 70:330]).all()
    zero_fill = made.original_size_cams(picture, 0, fill=0.0)[0]
    assert np.nanmax(maps[0]) <= 1 and zero_fill[:, :68].max() == 0


def test_the_photo_door_takes_sequences_of_paths_and_names_items_alike(fitted, tmp_path):
    import pandas as pd

    made, _, _, _ = fitted
    files = []
    for seed in range(2):
        files.append(tmp_path / f"p{seed}.png")
        _picture(60, 40, seed).save(files[-1])
    reference = made.predict(files, warn=False).dimensions
    for paths_of in (np.array([str(f) for f in files]), pd.Series(files, index=[7, 3])):
        got = made.predict(paths_of, warn=False)
        np.testing.assert_allclose(got.dimensions, reference, rtol=1e-5, atol=1e-6)
        assert got.original_sizes == [(60, 40), (60, 40)]
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match=r"paths_or_images\[1\]: .*folder is a folder; expec"):
        _features([files[0], tmp_path / "folder"], made.model())
    # predict and original_size_cams name one item, and the i-th of several, alike
    for call in (lambda x: made.predict(x), lambda x: made.original_size_cams(x, 0)):
        with pytest.raises(FileNotFoundError, match=r"^paths_or_images: file not found"):
            call(tmp_path / "none.png")
        with pytest.raises(FileNotFoundError, match=r"^paths_or_images\[1\]: file not found"):
            call([files[0], tmp_path / "none.png"])


def test_on_photographs_the_recipe_reproduces_the_first_batch_norms_training_statistics(model):
    """The recipe the network was trained with gives its stem convolution, on photographs,
    the output variance its first batch normalisation recorded in training (ImageNet
    photos); the ImageNet mean / std scaling of the PyTorch port's example code gives
    several times more. Photographs: the ones bundled with scikit-learn and matplotlib."""
    import matplotlib.cbook
    from sklearn.datasets import load_sample_image

    photos = [load_sample_image("china.jpg"), load_sample_image("flower.jpg")]
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        photos.append(np.array(Image.open(handle).convert("RGB")))
    other = dataclasses.replace(LITE, mean=features.IMAGENET_MEAN, std=features.IMAGENET_STD)
    ratios = {}
    for label, recipe in (("recipe", LITE), ("imagenet", other)):
        x = torch.stack([recipe(features.as_rgb_picture(p)) for p in photos])
        with torch.no_grad():
            stem = model._conv_stem(x)
        ratio = stem.var(dim=(0, 2, 3)) / model._bn0.running_var
        ratios[label] = float(ratio.median())
    assert 0.6 < ratios["recipe"] < 1.7  # 1.23 measured
    assert ratios["imagenet"] > 3  # 6.1 measured


def test_efficientnet_lite1_recipe_is_the_tf_training_recipe_at_240():
    # Same TF EfficientNet-Lite builder; lite1's image_size is 240 (efficientnet_lite_params)
    from efficientnet_lite_pytorch.utils import efficientnet_params

    lite1 = features.EFFICIENTNET_LITE1_RECIPE
    assert efficientnet_params("efficientnet-lite1")[2] == lite1.crop == 240
    assert lite1.crop / lite1.resize_to == 240 / (240 + 32)
    assert (lite1.mean, lite1.std, lite1.interpolation) == (LITE.mean, LITE.std, "bicubic")
    import timm

    cfg = timm.models.get_pretrained_cfg("tf_efficientnet_lite1.in1k")
    assert cfg.input_size[-1] == lite1.crop
    assert cfg.crop_pct == pytest.approx(lite1.crop / lite1.resize_to, abs=1e-3)  # rounded


def test_efficientnet_lite1_on_photographs_matches_its_batch_norm_statistics():
    """As for Lite0: the recipe gives Lite1's stem the variance its first batch norm saw."""
    from sklearn.datasets import load_sample_image

    model = features.efficientnet_lite1()
    lite1 = features.EFFICIENTNET_LITE1_RECIPE
    photos = [load_sample_image("china.jpg"), load_sample_image("flower.jpg")]
    x = torch.stack([lite1(features.as_rgb_picture(p)) for p in photos])
    assert x.shape == (2, 3, 240, 240)
    with torch.no_grad():
        ratio = model._conv_stem(x).var(dim=(0, 2, 3)) / model._bn0.running_var
    assert 0.5 < float(ratio.median()) < 2.0


def test_untrained_network_is_seeded_and_differs_from_the_trained_one():
    first, second = (
        features.efficientnet_lite0_untrained(),
        features.efficientnet_lite0_untrained(),
    )
    trained = features.efficientnet_lite0()
    w = "_conv_stem.weight"
    torch.testing.assert_close(first.state_dict()[w], second.state_dict()[w])
    assert not torch.allclose(first.state_dict()[w], trained.state_dict()[w])
