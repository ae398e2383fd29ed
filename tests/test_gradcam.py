"""Grad-CAM of single dimensions: the library call against a hand-written Grad-CAM, a
known-answer toy model, overlays and the object-share measure."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from dnnalign_utils import features, gradcam, images
from dnnalign_utils.predictor import EfficientNetLitePredictor
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
    predictor = EfficientNetLitePredictor(features.efficientnet_lite0(), ridge)
    manifest = images.load_manifest(verify=False)
    rows = manifest.iloc[[0, 1000]].reset_index(drop=True)
    dataset = images.EmojiImages(rows, features.efficientnet_lite0_preprocess())
    x = torch.stack([dataset[i][0] for i in range(2)])
    maps = gradcam.dimension_cams(predictor, x, [2, 0])
    assert maps.shape == (2, 224, 224) and maps.dtype == np.float32
    for i, dim in enumerate([2, 0]):
        np.testing.assert_allclose(maps[i], _by_hand(predictor, x[i : i + 1], dim), atol=1e-4)
    assert not np.allclose(maps[0], gradcam.dimension_cams(predictor, x[:1], 0)[0])
    # the weights are frozen only while the maps are computed
    assert all(p.requires_grad for p in predictor.parameters())


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


def test_overlay_leaves_the_pixels_outside_the_crop_unpainted():
    """NaN (outside the network's crop) is no evidence: the picture shows there as it
    is, not painted as zero evidence (JET's blue)."""
    rgb = np.full((4, 6, 3), 200, dtype=np.uint8)
    cam = np.full((4, 6), np.nan)
    cam[:, 2:5] = [0.0, 0.5, 1.0]
    out = gradcam.overlay(rgb, cam, image_weight=0.5)
    np.testing.assert_array_equal(out[:, [0, 1, 5]], rgb[:, [0, 1, 5]])
    zero = gradcam.overlay(rgb, np.where(np.isnan(cam), 0.0, cam), image_weight=0.5)
    assert (zero[:, 0] != rgb[:, 0]).any()  # zero evidence is painted
    np.testing.assert_array_equal(out[:, 2:5], zero[:, 2:5])


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


# ------------------------------------------------------------ deletion / insertion curves


class _Region(nn.Module):
    """Dimension 0: the mean of channel 0 in the top-left 8 x 8 square; dimension 1: the
    mean of the whole picture."""

    def forward(self, x):
        return torch.stack([x[:, 0, :8, :8].mean(dim=(1, 2)), x.mean(dim=(1, 2, 3))], dim=1)


def _slow_curves(model, x, b, order, dim, n_steps):
    """Deletion and insertion written out pixel by pixel, one forward pass per step."""
    n_pixels = x.shape[1] * x.shape[2]
    width = x.shape[2]
    deletion, insertion = [], []
    for k in range(n_steps + 1):
        count = round(k / n_steps * n_pixels)
        deleted, inserted = x.clone(), b.clone()
        for pixel in order[:count]:
            row, col = divmod(int(pixel), width)
            deleted[:, row, col] = b[:, row, col]
            inserted[:, row, col] = x[:, row, col]
        with torch.no_grad():
            deletion.append(float(model(deleted[None])[0, dim]))
            insertion.append(float(model(inserted[None])[0, dim]))
    return np.array(deletion), np.array(insertion)


def test_perturbation_curves_equal_a_slow_loop():
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.random((2, 3, 6, 5))).float()
    b = torch.from_numpy(rng.random((2, 3, 6, 5))).float()
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(3))
    model(x)  # materialise the lazy layer
    orders = np.stack([np.stack([rng.permutation(30) for _ in range(3)]) for _ in range(2)])
    deletion, insertion = gradcam.perturbation_curves(
        model, x, b, orders, [2, 0], n_steps=4, batch_size=5, progress=False
    )
    assert deletion.shape == insertion.shape == (2, 3, 5)
    for i, dim in enumerate([2, 0]):
        for o in range(3):
            slow_del, slow_ins = _slow_curves(model, x[i], b[i], orders[i, o], dim, 4)
            np.testing.assert_allclose(deletion[i, o], slow_del, atol=1e-5)
            np.testing.assert_allclose(insertion[i, o], slow_ins, atol=1e-5)
    with pytest.raises(ValueError, match="orders: expected"):
        gradcam.perturbation_curves(model, x, b, orders[:, :, :10], [0, 0], 4, progress=False)


def test_deletion_by_the_right_map_falls_faster_than_random():
    x = torch.ones(1, 3, 32, 32)
    baseline = torch.zeros_like(x)
    right = np.zeros((1, 32, 32))
    right[0, :8, :8] = 1.0  # the region the dimension reads
    orders = np.concatenate(
        [
            gradcam.pixel_orders(right, seed=0)[:, None],
            np.stack([np.random.default_rng(s).permutation(1024) for s in range(3)])[None],
        ],
        axis=1,
    )
    deletion, insertion = gradcam.perturbation_curves(
        _Region(), x, baseline, orders, [0], n_steps=16, progress=False
    )
    auc_del = gradcam.normalised_auc(deletion, deletion[..., 0], deletion[..., -1])[0]
    auc_ins = gradcam.normalised_auc(insertion, insertion[..., -1], insertion[..., 0])[0]
    # the region is 1/16 of the picture: gone after the first step of 16
    assert deletion[0, 0, 1] == 0.0 and auc_del[0] == pytest.approx(1 / 32)
    assert insertion[0, 0, 1] == 1.0 and auc_ins[0] == pytest.approx(1 - 1 / 32)
    # random order removes the region in proportion: about a straight line
    assert np.all(np.abs(auc_del[1:] - 0.5) < 0.1) and np.all(np.abs(auc_ins[1:] - 0.5) < 0.1)


def test_normalised_auc_and_pixel_orders():
    line = np.linspace(1.0, 0.0, 5)
    assert gradcam.normalised_auc(line, 1.0, 0.0) == pytest.approx(0.5)
    assert gradcam.normalised_auc(3 + 2 * line, 5.0, 3.0) == pytest.approx(0.5)  # rescaled
    assert np.isnan(gradcam.normalised_auc(np.ones(5), 1.0, 1.0))
    cams = np.array([[[0.2, 0.9], [0.0, 0.0]]])
    orders = gradcam.pixel_orders(cams, seed=0)
    assert list(orders[0, :2]) == [1, 0] and set(orders[0, 2:]) == {2, 3}
    np.testing.assert_array_equal(orders, gradcam.pixel_orders(cams, seed=0))
    ties = [tuple(gradcam.pixel_orders(np.zeros((1, 4, 4)), seed=s)[0]) for s in range(5)]
    assert len(set(ties)) > 1  # ties are not broken top-left first


def test_deletion_test_of_only_undefined_aucs_is_an_empty_table():
    # a dimension the predictor holds constant: picture and baseline predict the same,
    # so every normalised AUC is NaN and no dimension can be tested
    nan = np.full(4, np.nan)
    table = gradcam.deletion_test(nan, nan, [0, 0, 1, 1])
    assert len(table) == 0
    assert list(table.columns)[-2:] == ["p", "faster than random (BH)"]
    assert np.isnan(table.iloc[:, -1].mean())


def test_deletion_test_finds_faster_dimensions():
    groups = np.repeat([0, 1], 8)
    random_auc = np.full(16, 0.5)
    map_auc = np.concatenate([np.linspace(0.1, 0.3, 8), np.linspace(0.45, 0.6, 8)])
    table = gradcam.deletion_test(map_auc, random_auc, groups)
    assert list(table["faster than random (BH)"]) == [True, False]
    assert table.loc[0, "p"] == pytest.approx(1 / 256)  # all 8 pairs in favour, exact test


# --------------------------------------------------------------- model randomisation


class _SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.act = nn.ReLU()
        self.fc = nn.Linear(16, 3)
        self.target_layer = self.act

    def forward(self, x):
        x = self.act(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(x.mean(dim=(2, 3)))


def test_randomisation_flags_a_map_that_ignores_the_weights_and_passes_gradcam():
    model = _SmallCNN()
    x = torch.zeros(4, 3, 24, 24)
    for i in range(4):  # a bright square in a different place per picture
        x[i, :, 4 * i : 4 * i + 8, 12 - 2 * i : 20 - 2 * i] = 1.0
    blocks = [("fc", [model.fc]), ("conv2", [model.conv2]), ("conv1", [model.conv1])]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    edges = gradcam.cascading_randomisation(
        model, blocks, x, 0, seed=0, maps=gradcam.input_edge_maps, progress=False
    )
    table, flagged = gradcam.randomisation_flag(edges)
    assert flagged and list(table["randomised down to"]) == ["fc", "conv2", "conv1"]
    np.testing.assert_allclose(table["Spearman"], 1.0)
    cams = gradcam.cascading_randomisation(model, blocks, x, [0, 1, 2, 0], seed=0, progress=False)
    table, flagged = gradcam.randomisation_flag(cams)
    assert not flagged and (table["Spearman"] < 0.9).all()
    for k, v in model.state_dict().items():  # the model itself is left as it was
        torch.testing.assert_close(v, before[k])
    again = gradcam.cascading_randomisation(model, blocks, x, [0, 1, 2, 0], seed=0, progress=False)
    for name in cams:
        np.testing.assert_array_equal(cams[name], again[name])
    with pytest.raises(ValueError, match="not in the predictor"):
        gradcam.cascading_randomisation(model, [("x", [nn.Linear(1, 1)])], x, 0, seed=0)


def test_map_similarity():
    rng = np.random.default_rng(0)
    maps = rng.random((2, 16, 16))
    rho, ssim = gradcam.map_similarity(maps, maps)
    np.testing.assert_allclose(rho, 1.0)
    np.testing.assert_allclose(ssim, 1.0)
    rho, _ = gradcam.map_similarity(maps, np.zeros_like(maps))
    np.testing.assert_array_equal(rho, 0.0)
    rho, _ = gradcam.map_similarity(maps, 1 - maps)
    np.testing.assert_allclose(rho, -1.0)


@pytest.mark.parametrize(
    ("network", "n_blocks"), [("efficientnet_lite0", 16), ("efficientnet_lite1", 21)]
)
def test_efficientnet_blocks_cover_the_predictor_top_down(network, n_blocks):
    rng = np.random.default_rng(0)
    ridge = FittedRidge(
        coef=rng.normal(size=(1280, 2)), intercept=np.zeros(2), x_mean=np.zeros(1280),
        alphas=np.ones(2), alpha_grid=np.ones(1),
    )  # fmt: skip
    predictor = EfficientNetLitePredictor(features.PICTURE_MODELS[network].load(), ridge)
    blocks = gradcam.efficientnet_randomisation_blocks(predictor)
    names = [name for name, _ in blocks]
    assert names[:2] == ["ridge", "head"] and names[-1] == "stem"
    covered = [m for _, mods in blocks for m in mods if m in list(predictor.backbone._blocks)]
    assert len(covered) == len(predictor.backbone._blocks) == n_blocks
    assert len(blocks) == 2 + 7 + 1  # an EfficientNet-Lite has seven stages
    # every step re-initialises something the output depends on
    x = torch.from_numpy(np.random.default_rng(0).random((1, 3, 64, 64))).float()

    def outputs(model, images, dims):
        with torch.no_grad():
            return model(images).numpy()[:, None, :]

    steps = gradcam.cascading_randomisation(predictor, blocks, x, 0, seed=0, maps=outputs)
    values = list(steps.values())
    assert list(steps) == ["original", *names]
    for name, before, after in zip(names, values, values[1:], strict=False):
        assert not np.allclose(before, after, rtol=1e-3, atol=0), f"randomising {name}: no change"
    torch.testing.assert_close(predictor.ridge.weight.T.double(), torch.tensor(ridge.coef))


# --------------------------------------------------------------- a second CAM method


def test_hirescam_equals_gradcam_when_pooling_follows_the_layer():
    """With global average pooling and a linear read-out after the target layer, the
    gradient is the same at every position, so HiResCAM's element-wise product is
    Grad-CAM's channel weighting; GradCAM++ weights channels differently."""
    model = _SmallCNN()
    x = torch.from_numpy(np.random.default_rng(0).random((2, 3, 24, 24))).float()
    grad = gradcam.dimension_cams(model, x, [0, 1])
    hires = gradcam.dimension_cams(model, x, [0, 1], method="HiResCAM")
    plus = gradcam.dimension_cams(model, x, [0, 1], method="GradCAMPlusPlus")
    np.testing.assert_allclose(hires, grad, atol=1e-5)
    assert plus.shape == grad.shape and 0 <= plus.min() and plus.max() <= 1
    with pytest.raises(ValueError, match="method: expected one of"):
        gradcam.dimension_cams(model, x, 0, method="ScoreCAM")


# --------------------------------------------------------------- the chapter's helpers


def test_top_pictures_equal_a_slow_sort_with_ties_by_picture_order():
    weights = np.array([[0.5, 1.0], [0.9, 1.0], [0.5, 0.2], [0.1, 1.0]])
    pictures, dims = gradcam.top_pictures(weights, 2, 3)
    expected = [
        sorted(range(len(weights)), key=lambda i, d=d: (-weights[i, d], i))[:3] for d in range(2)
    ]
    assert pictures.tolist() == expected[0] + expected[1] == [1, 0, 2, 0, 1, 3]
    assert dims.tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="n_dims: expected 1 to 2"):
        gradcam.top_pictures(weights, 3, 1)
    with pytest.raises(ValueError, match="per_dim: expected 1 to 4"):
        gradcam.top_pictures(weights, 1, 5)


def test_feature_map_shape_is_the_grid_of_the_maps():
    model = features.efficientnet_lite0()
    assert gradcam.feature_map_shape(model, 224) == (1280, 7, 7)
    assert gradcam.feature_map_shape(model, 96) == (1280, 3, 3)


def test_network_inputs_apply_the_transform_to_each_picture():
    from torchvision.transforms.functional import pil_to_tensor

    pictures = np.random.default_rng(0).integers(0, 256, size=(3, 5, 4, 3), dtype=np.uint8)
    inputs = gradcam.network_inputs(pictures, pil_to_tensor)
    assert inputs.shape == (3, 3, 5, 4)
    np.testing.assert_array_equal(inputs.permute(0, 2, 3, 1).numpy(), pictures)
    with pytest.raises(ValueError, match="at least one picture"):
        gradcam.network_inputs([], pil_to_tensor)


def test_blind_object_share_lays_the_mean_map_on_every_picture():
    cams = np.zeros((2, 2, 2))
    cams[0, 0, 0] = 1.0  # map 0 all on the top-left pixel
    cams[1, 1, 1] = 1.0  # map 1 all on the bottom-right pixel
    masks = np.zeros((2, 2, 2))
    masks[0, 0, 0] = 1.0  # object 0 is the top-left pixel
    masks[1, 0, :] = 1.0  # object 1 the top row
    # the mean map: half top left, half bottom right
    np.testing.assert_allclose(gradcam.blind_object_share(cams, masks), [0.5, 0.5])
    masks[1] = 0.0
    masks[1, 1, 1] = 1.0
    np.testing.assert_allclose(gradcam.blind_object_share(cams, masks), [0.5, 0.5])
    masks[1, 0, 0] = 1.0
    np.testing.assert_allclose(gradcam.blind_object_share(cams, masks), [0.5, 1.0])


def test_object_share_table():
    share, area, blind = np.array([0.5, np.nan]), np.array([0.25, 0.5]), np.array([0.3, 0.4])
    table = gradcam.object_share_table(share, area, blind, ["cat (a)", "dog (b)"])
    assert list(table.columns) == list(gradcam.OBJECT_SHARE_COLUMNS)
    assert table["dimension"].tolist() == [1, 2]
    assert table["top picture"].tolist() == ["cat (a)", "dog (b)"]
    np.testing.assert_array_equal(table["on the object (%)"], [50.0, np.nan])
    np.testing.assert_array_equal(table["object area (%)"], [25.0, 50.0])
    np.testing.assert_array_equal(table["mean map on the object (%)"], [30.0, 40.0])
    with pytest.raises(ValueError, match="top_pictures: expected one value and name per map"):
        gradcam.object_share_table(share, area, blind, ["cat (a)"])


def test_map_and_random_orders_equal_a_slow_loop():
    rng = np.random.default_rng(3)
    maps = [rng.uniform(size=(3, 4, 5)), rng.uniform(size=(3, 4, 5))]
    orders = gradcam.map_and_random_orders(maps, 2, seed=7)
    assert orders.shape == (3, 4, 20)
    for k, m in enumerate(maps):
        np.testing.assert_array_equal(orders[:, k], gradcam.pixel_orders(m, 7))
    draws = np.random.default_rng(7)
    for r in range(2):  # order by order, picture by picture
        for i in range(3):
            np.testing.assert_array_equal(orders[i, 2 + r], draws.permutation(20))
    assert not np.array_equal(orders[:, 2:], gradcam.map_and_random_orders(maps, 2, 8)[:, 2:])
    with pytest.raises(ValueError, match="maps: expected one or more"):
        gradcam.map_and_random_orders([maps[0], maps[1][:2]], 1, seed=0)


def test_blurred_baselines_equal_scipys_gaussian_filter():
    from scipy.ndimage import gaussian_filter

    x = torch.from_numpy(np.random.default_rng(0).uniform(size=(2, 3, 40, 40)).astype(np.float32))
    blurred = gradcam.blurred_baselines(x, 2.0)
    # torchvision reflects without repeating the edge pixel: scipy's "mirror"
    expected = gaussian_filter(x.double().numpy(), (0, 0, 2.0, 2.0), mode="mirror", truncate=3.0)
    np.testing.assert_allclose(blurred.numpy(), expected, atol=1e-5)
    assert blurred.std() < x.std() / 3
    with pytest.raises(ValueError, match="sigma: expected > 0"):
        gradcam.blurred_baselines(x, 0.0)


def _known_curves():
    """Deletion and insertion curves of 12 pictures (dimensions 0 and 1, six each), two
    steps, orders: map A (fast), map B (slow), two random orders. The picture predicts 2,
    its baseline 0, so a deletion curve [2, m, 0] has the normalised AUC 0.25 + m / 4."""
    wobble = np.linspace(0.0, 0.05, 12)
    middle = np.stack([0.2 + wobble, 1.8 - wobble, 1.0 + wobble, 1.2 + wobble], axis=1)
    deletion = np.stack([np.full((12, 4), 2.0), middle, np.zeros((12, 4))], axis=2)
    insertion = np.stack([np.zeros((12, 4)), 2.0 - middle, np.full((12, 4), 2.0)], axis=2)
    return deletion, insertion, middle, np.repeat([0, 1], 6)


def test_faithfulness_summary_of_known_curves():
    deletion, insertion, middle, dims = _known_curves()
    summary = gradcam.faithfulness_summary(deletion, insertion, ["A", "B"], dims)
    assert list(summary.index) == ["A", "B", "random order"]
    deletion_auc = 0.25 + middle / 4
    insertion_auc = 0.25 + (2.0 - middle) / 4
    for k, name in enumerate(["A", "B"]):
        assert summary.loc[name, "median deletion AUC"] == pytest.approx(
            np.median(deletion_auc[:, k])
        )
        assert summary.loc[name, "median insertion AUC"] == pytest.approx(
            np.median(insertion_auc[:, k])
        )
    assert summary.loc["random order", "median deletion AUC"] == pytest.approx(
        np.median(deletion_auc[:, 2:].mean(1))
    )
    # six pictures a dimension, all faster: one-sided Wilcoxon p = 1/64 for both dimensions
    assert summary.loc["A", "dimensions faster than random (%)"] == 100.0
    assert summary.loc["B", "dimensions faster than random (%)"] == 0.0
    assert np.isnan(summary.loc["random order", "dimensions faster than random (%)"])
    with pytest.raises(ValueError, match="at least one random order"):
        gradcam.faithfulness_summary(deletion[:, :2], insertion[:, :2], ["A", "B"], dims)

    table = gradcam.method_table(
        {"A": np.array([0.5, np.nan, 0.7]), "B": np.array([0.2, 0.4, 0.3])},
        np.array([0.1, 0.9, 0.5]),
        summary,
    )
    assert list(table.index) == ["A", "B"] and table.index.name == "CAM method"
    np.testing.assert_allclose(table["mean share on the object (%)"], [60.0, 30.0])
    np.testing.assert_allclose(table["median rank correlation with A"], [1.0, 0.5])
    assert table.loc["B", "median deletion AUC"] == summary.loc["B", "median deletion AUC"]
