"""Grad-CAM of single dimensions: the library call against a hand-written Grad-CAM, a
known-answer toy model, overlays and the object-share measure."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from dnnalign_utils import features, gradcam, images
from dnnalign_utils.predictor import EfficientNetLite0Predictor
from dnnalign_utils.regression import FittedRidge


class _Toy(nn.Module):
    """Two 'dimensions': the mean brightness of the red and of the blue channel."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0, 0] = 1.0  # channel 0 <- red
            self.conv.weight[1, 2] = 1.0  # channel 1 <- blue
        self.act = nn.ReLU()
        self.target_layer = self.act

    def forward(self, x):
        return self.act(self.conv(x)).mean(dim=(2, 3))


def test_known_answer_maps_follow_the_dimension():
    x = torch.zeros(1, 3, 32, 32)
    x[0, 0, :8, :8] = 1.0  # a red square top left
    x[0, 2, 24:, 24:] = 1.0  # a blue square bottom right
    model = _Toy()
    red = gradcam.dimension_cams(model, x, 0)[0]
    blue = gradcam.dimension_cams(model, x, 1)[0]
    assert red[:8, :8].mean() > 0.9 and red[16:, 16:].max() < 0.1
    assert blue[24:, 24:].mean() > 0.9 and blue[:16, :16].max() < 0.1
    with pytest.raises(ValueError, match="dims: expected indices in"):
        gradcam.dimension_cams(model, x, 2)
    with pytest.raises(ValueError, match="dims: expected one dimension or 1"):
        gradcam.dimension_cams(model, x, [0, 1])


def _by_hand(predictor, x, dim):
    """Grad-CAM written out: hook the layer, weight channels by mean gradient, ReLU,
    min-max scale, resize to the input, scale again (the library's order)."""
    store = {}
    layer = predictor.target_layer
    handle = layer.register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    try:
        x = x.clone().requires_grad_(True)
        out = predictor(x)
        grad = torch.autograd.grad(out[0, dim], store["a"])[0]
    finally:
        handle.remove()
    a = store["a"].detach()[0].numpy()
    w = grad[0].numpy().mean(axis=(1, 2))
    cam = np.maximum((w[:, None, None] * a).sum(0), 0)
    cam = cam - cam.min()
    cam = cam / (1e-7 + cam.max())
    cam = cv2.resize(cam.astype(np.float32), (x.shape[3], x.shape[2]))
    # the library scales once more after upsampling (bilinear peaks fall just below 1)
    cam = cam - cam.min()
    return cam / (1e-7 + cam.max())


def test_library_maps_equal_a_hand_written_gradcam():
    rng = np.random.default_rng(0)
    ridge = FittedRidge(
        coef=rng.normal(scale=0.05, size=(1280, 3)), intercept=np.zeros(3),
        x_mean=np.zeros(1280), alphas=np.ones(3), alpha_grid=np.ones(1),
    )  # fmt: skip
    predictor = EfficientNetLite0Predictor(features.efficientnet_lite0(), ridge)
    manifest = images.load_manifest(verify=False)
    rows = manifest.iloc[[0, 1000]].reset_index(drop=True)
    dataset = images.EmojiImages(rows, features.efficientnet_lite0_preprocess())
    x = torch.stack([dataset[i][0] for i in range(2)])
    maps = gradcam.dimension_cams(predictor, x, [2, 0])
    assert maps.shape == (2, 224, 224) and maps.dtype == np.float32
    for i, dim in enumerate([2, 0]):
        np.testing.assert_allclose(maps[i], _by_hand(predictor, x[i : i + 1], dim), atol=1e-4)
    assert not np.allclose(maps[0], gradcam.dimension_cams(predictor, x[:1], 0)[0])


def test_overlay_and_object_share():
    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    cam = np.zeros((4, 4), dtype=np.float32)
    cam[0, 0] = 1.0
    out = gradcam.overlay(rgb, cam, image_weight=0.5)
    assert out.shape == (4, 4, 3) and out.dtype == np.uint8
    assert out[0, 0, 0] > out[0, 0, 2]  # JET's hot end is red in RGB order
    with pytest.raises(ValueError, match="cam: expected shape"):
        gradcam.overlay(rgb, cam[:2])
    masks = np.zeros((2, 4, 4))
    masks[:, :2, :2] = 1.0
    cams = np.stack([cam, np.zeros((4, 4))])
    share, area = gradcam.object_share(cams, masks)
    assert share[0] == 1.0 and np.isnan(share[1])
    np.testing.assert_allclose(area, [0.25, 0.25])


def test_rendered_pictures_are_what_the_network_sees():
    rows = images.load_manifest(verify=False).iloc[[5, 500]].reset_index(drop=True)
    transform = features.efficientnet_lite0_preprocess()
    inputs, rgb, masks = gradcam.rendered_pictures(rows, transform)
    dataset = images.EmojiImages(rows, transform)
    for i in range(2):
        torch.testing.assert_close(inputs[i], dataset[i][0])
    assert rgb.shape == (2, 224, 224, 3) and rgb.dtype == np.uint8
    assert masks.shape == (2, 224, 224) and 0 < masks.mean() < 1
    # the margin of the default rendering (0.2 x 224 px) is background; after the
    # recipe's resize to 256 and crop of 224 it spans 0.2 x 256 - 16 = 35 rows
    assert masks[:, :32, :].max() == 0 and masks[:, :40, :].max() > 0
