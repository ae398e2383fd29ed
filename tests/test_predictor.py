"""End-to-end predictor equals the ridge applied to stored features (to 1e-4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnnalign_utils import features, images
from dnnalign_utils.predictor import (
    CentredLinear,
    EfficientNetLitePredictor,
    VGG16BNPredictor,
)
from dnnalign_utils.regression import FittedRidge, fit_ridge


def _random_ridge(n_features: int, n_targets: int, scale: float, seed: int) -> FittedRidge:
    rng = np.random.default_rng(seed)
    return FittedRidge(
        coef=rng.normal(scale=scale, size=(n_features, n_targets)),
        intercept=rng.normal(size=n_targets),
        x_mean=rng.uniform(0, 1, size=n_features),
        alphas=np.ones(n_targets),
        alpha_grid=np.ones(1),
    )


def test_centred_linear_equals_ridge_predict():
    ridge = _random_ridge(20, 4, 0.3, 0)
    x = np.random.default_rng(1).normal(size=(6, 20))
    layer = CentredLinear.from_ridge(ridge)
    out = layer(torch.from_numpy(x).float()).numpy()
    np.testing.assert_allclose(out, ridge.predict(x), atol=1e-5)
    with pytest.raises(ValueError, match="x_mean"):
        CentredLinear(ridge.coef, ridge.intercept, ridge.x_mean[:-1])


@pytest.fixture(scope="module")
def emoji_rows():
    manifest = images.load_manifest(verify=False)
    return manifest.iloc[np.linspace(0, len(manifest) - 1, 8).astype(int)].reset_index(drop=True)


@pytest.mark.parametrize(
    ("network", "feature_map"),
    [("efficientnet_lite0", (1280, 7, 7)), ("efficientnet_lite1", (1280, 8, 8))],
)
def test_efficientnet_predictor_equals_ridge_on_stored_features(
    network, feature_map, emoji_rows, tmp_path
):
    entry = features.PICTURE_MODELS[network]  # each network with its own input recipe
    model = entry.load()
    dataset = images.EmojiImages(emoji_rows, entry.recipe)
    extracted = features.extract_features(model, dataset, ["_avg_pooling"], progress=False)
    features.save_features(tmp_path, extracted, dataset.file_names)
    stored, _ = features.load_features(tmp_path, "_avg_pooling")
    # a real ridge fitted on these features (targets: three random "dimensions")
    targets = np.random.default_rng(0).normal(size=(len(stored), 3))
    ridge = fit_ridge(stored, targets, alpha=10.0)
    predictor = EfficientNetLitePredictor(model, ridge)
    x = torch.stack([dataset[i][0] for i in range(len(dataset))])
    with torch.no_grad():
        out = predictor(x).numpy()
    np.testing.assert_allclose(out, ridge.predict(stored), atol=1e-4)
    assert predictor.target_layer is predictor.head_activation
    # the Grad-CAM layer sees the last feature map and gradients flow to it
    seen = {}
    handle = predictor.target_layer.register_forward_hook(lambda m, i, o: seen.update(a=o))
    predictor(x[:1])[0, 0].backward()
    handle.remove()
    assert tuple(seen["a"].shape) == (1, *feature_map)
    assert predictor.target_conv.weight.grad is not None
    # the reference predictor's omission (no centring) would not match
    uncentred = stored @ ridge.coef + ridge.intercept
    assert np.abs(uncentred - ridge.predict(stored)).max() > 1e-2


def test_vgg16_bn_predictor_equals_ridge_on_features_random_weights():
    torch.manual_seed(0)
    vgg = features.vgg16_bn(weights=None)
    x = torch.rand(3, 3, 224, 224)
    dataset = list(zip(x, range(3), strict=True))
    fc7 = features.extract_features(vgg, dataset, ["classifier.3"], progress=False)
    relu_fc7 = np.maximum(fc7["classifier.3"], 0)  # the paper ReLUs fc7 before the ridge
    ridge = _random_ridge(4096, 5, 1.0 / (4096 * (relu_fc7.std() + 1e-6)), 1)
    predictor = VGG16BNPredictor(vgg, ridge, features_relu=True)
    with torch.no_grad():
        out = predictor(x).numpy()
        fc7_direct = predictor.fc7(x).numpy()
    np.testing.assert_allclose(fc7_direct, relu_fc7, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out, ridge.predict(relu_fc7), atol=1e-4)
    # without ReLU'd features, the predictor matches the raw classifier.3 features instead
    raw = VGG16BNPredictor(vgg, ridge, features_relu=False)
    with torch.no_grad():
        np.testing.assert_allclose(raw(x).numpy(), ridge.predict(fc7["classifier.3"]), atol=1e-4)
        # the reference path (no max-pool before avgpool) gives different features
        v = vgg
        skipped = v.classifier[:4](torch.flatten(v.avgpool(v.features[:43](x)), 1)).numpy()
    assert np.abs(skipped - fc7["classifier.3"]).max() > 1e-3
    assert predictor.target_layer is vgg.features[42]
    assert isinstance(predictor.target_conv, torch.nn.Conv2d)


def test_predictors_reject_mismatched_ridges():
    with pytest.raises(ValueError, match="1280"):
        EfficientNetLitePredictor(
            features.efficientnet_lite0(pretrained=False), _random_ridge(10, 2, 1, 0)
        )


def test_picture_r2_table_names_the_top_pictures():
    import pandas as pd

    from dnnalign_utils.predictor import PICTURE_R2_COLUMNS, picture_r2_table

    r2 = pd.DataFrame(
        {"dimension": [1, 2], "R² (%)": [80.0, 40.0], "quality": ["visual", "semantic"]}
    )
    weights = np.array([[0.1, 0.9], [0.5, 0.2], [0.5, 0.3], [0.7, 0.0]])
    captions = ["cat (a)", "dog (a)", "dog (b)", "car (a)"]
    table = picture_r2_table(r2, weights, captions, "EfficientNet-Lite0")
    assert list(table.columns) == list(PICTURE_R2_COLUMNS)
    # dimension 1: 0.7, then the tie 0.5 / 0.5 in picture order; dimension 2: 0.9, 0.3, 0.2
    assert table["top pictures"].tolist() == [
        "car (a), dog (a), dog (b)",
        "cat (a), dog (b), dog (a)",
    ]
    assert set(table["predictor"]) == {"EfficientNet-Lite0 activations"}
    assert table["R² (%)"].tolist() == [80.0, 40.0]
    with pytest.raises(ValueError, match="one caption per picture"):
        picture_r2_table(r2, weights, captions[:3], "EfficientNet-Lite0")
