"""Grad-CAM of single embedding dimensions, with pytorch-grad-cam.

See the book's Methods page, section 'Grad-CAM of single dimensions'.

A dimension predictor (`dnnalign_utils.predictor`: image -> network -> pooling -> ridge)
outputs one value per embedding dimension. Grad-CAM backpropagates one dimension's value
to the predictor's ``target_layer``, weights each channel by its spatially averaged
gradient, sums the weighted channels, applies a ReLU and scales the map to [0, 1] (the
reference takes the channel mean, which differs by a constant factor only). The maps are
upsampled to the input size; overlays use an RGB colormap (the reference's cv2 BGR/RGB
mix-up is not repeated).

`object_share` measures how much of a map falls on the object of an embedded picture
(whose mask `images.render_image` returns): a map that ignored the object would put about
the object's area share there, and `blind_object_share` what the mean of the maps, blind
to the picture, puts there (`object_share_table`). The chapter's figures of all these are
in `plotting` (`plotting.cam_grid` shows maps blended onto their pictures).

Can a reader trust a map? Two checks from the attribution literature:

- **deletion and insertion** (Petsiuk et al., 2018, RISE; `perturbation_curves`): replace
  the most-highlighted input pixels first by a baseline (here a strongly blurred copy of
  the picture) and follow the dimension's predicted value; a faithful map makes it fall
  faster than removing pixels in random order. Insertion starts from the baseline and
  puts the pixels back. `normalised_auc` summarises a curve by its area,
  `faithfulness_summary` the maps against random orders (`map_and_random_orders`).
- **model randomisation** (Adebayo et al., 2018; `cascading_randomisation`): re-initialise
  the predictor's weights from the top (ridge) down, block by block, and recompute the
  maps. A map that explains the model must change; one that barely changes (an edge
  detector of the input would not change at all) is flagged by `randomisation_flag`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from dnnalign_utils.linear_head import CentredLinear

__all__ = [
    "CAM_METHODS",
    "OBJECT_SHARE_COLUMNS",
    "blind_object_share",
    "blurred_baselines",
    "cascading_randomisation",
    "dimension_cams",
    "efficientnet_randomisation_blocks",
    "faithfulness_summary",
    "feature_map_shape",
    "input_edge_maps",
    "map_and_random_orders",
    "map_similarity",
    "method_table",
    "network_inputs",
    "normalised_auc",
    "object_share",
    "object_share_table",
    "overlay",
    "perturbation_curves",
    "pixel_orders",
    "predict",
    "randomisation_flag",
    "rendered_pictures",
    "top_pictures",
]

# pytorch-grad-cam classes by the name used in the book
CAM_METHODS = ("GradCAM", "GradCAMPlusPlus", "HiResCAM")


def dimension_cams(
    predictor: torch.nn.Module,
    images: torch.Tensor,
    dims: int | Sequence[int],
    *,
    target_layer: torch.nn.Module | None = None,
    method: str = "GradCAM",
) -> np.ndarray:
    """Grad-CAM maps (n, H, W) in [0, 1], float32, of `images` (n, 3, H, W) for `dims`.

    `dims` is one dimension (the same for every image) or one per image; the maps come
    from ``predictor.target_layer`` unless `target_layer` is given. A map whose weighted
    activations are all <= 0 is all zeros. `method` names another pytorch-grad-cam
    class of `CAM_METHODS` (GradCAM++ weights channels by positive second-order
    gradients; HiResCAM multiplies gradients and activations element-wise).
    """
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    if method not in CAM_METHODS:
        raise ValueError(f"method: expected one of {CAM_METHODS}, got {method!r}")

    if images.ndim != 4:
        raise ValueError(f"images: expected (n, 3, H, W), got {tuple(images.shape)}")
    n = images.shape[0]
    per_image = [int(dims)] * n if np.isscalar(dims) else [int(d) for d in dims]
    if len(per_image) != n:
        raise ValueError(f"dims: expected one dimension or {n} (one per image), got {dims}")
    layer = target_layer if target_layer is not None else predictor.target_layer
    predictor.eval()
    with torch.no_grad():
        n_dims = predictor(images[:1]).shape[1]
    bad = [d for d in per_image if not 0 <= d < n_dims]
    if bad:
        raise ValueError(f"dims: expected indices in [0, {n_dims}), got {bad}")
    # The maps need gradients at the target layer only. Freezing the weights and
    # restarting the graph at the layer's output (same values) keeps backpropagation
    # out of the network below it, which would cost about four forward passes.
    params = list(predictor.parameters())
    trainable = [p.requires_grad for p in params]
    cut = layer.register_forward_hook(lambda module, args, out: out.detach().requires_grad_())
    try:
        for p in params:
            p.requires_grad_(False)
        with getattr(pytorch_grad_cam, method)(model=predictor, target_layers=[layer]) as cam:
            targets = [ClassifierOutputTarget(d) for d in per_image]
            maps = cam(input_tensor=images, targets=targets)
    finally:
        cut.remove()
        for p, flag in zip(params, trainable, strict=True):
            p.requires_grad_(flag)
    return np.asarray(maps, dtype=np.float32)


def overlay(rgb: Any, cam: np.ndarray, image_weight: float = 0.5) -> np.ndarray:
    """The map in the JET colormap (RGB order) blended onto an RGB uint8 picture. Where
    the map is NaN (outside the network's crop: `Preprocessing.to_original`) the picture
    is left unpainted: no evidence there, not zero evidence."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    rgb = np.asarray(rgb)
    cam = np.asarray(cam)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb: expected an (H, W, 3) uint8 picture, got {rgb.dtype} {rgb.shape}")
    if cam.shape != rgb.shape[:2]:
        raise ValueError(f"cam: expected shape {rgb.shape[:2]} like the picture, got {cam.shape}")
    unseen = np.isnan(cam)
    painted = show_cam_on_image(
        rgb.astype(np.float32) / 255,
        np.where(unseen, 0.0, cam).astype(np.float32),
        use_rgb=True,
        image_weight=image_weight,
    )
    painted[unseen] = rgb[unseen]
    return painted


def object_share(cams: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per picture: the share of the map's mass on the object, and the object's area share
    (what a map spread evenly would score). `cams` and `masks` are (n, H, W), masks in
    [0, 1]. Maps with no mass give NaN."""
    cams = np.asarray(cams, dtype=np.float64)
    masks = np.asarray(masks, dtype=np.float64)
    if cams.shape != masks.shape or cams.ndim != 3:
        raise ValueError(f"masks: expected shape {cams.shape} like cams, got {masks.shape}")
    total = cams.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (cams * masks).sum(axis=(1, 2)) / total
    share[total == 0] = np.nan
    return share, masks.mean(axis=(1, 2))


def blind_object_share(cams: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """`object_share` of a map blind to the picture: the mean of all `cams` (n, H, W),
    laid on every picture's mask. Maps of a coarse feature map lean to the centre, and so
    do the drawings' objects, so this is the stricter reference for a map's share."""
    cams = np.asarray(cams)
    masks = np.asarray(masks)
    if cams.ndim != 3 or len(cams) == 0:
        raise ValueError(f"cams: expected (n >= 1, H, W) maps, got shape {cams.shape}")
    return object_share(np.broadcast_to(cams.mean(0), masks.shape), masks)[0]


# The columns of `object_share_table`, with what each means (for downloads).
OBJECT_SHARE_COLUMNS = {
    "dimension": "the dimension, numbered from 1 in the embedding's order",
    "top picture": "its highest-weighted picture (concept and emoji style)",
    "on the object (%)": "percent of the dimension's Grad-CAM map on that picture's "
    "object (the drawing's alpha channel as its mask)",
    "object area (%)": "percent of the picture's area the object covers (what a "
    "uniform map would put on it)",
    "mean map on the object (%)": "percent of the mean map over all dimensions on the "
    "object: the mean of these maps, blind to the picture",
}


def object_share_table(
    share: np.ndarray, area: np.ndarray, blind: np.ndarray, top_pictures: Sequence[str]
) -> Any:
    """One row per dimension, the k-th for dimension k + 1 and its map on its top picture
    (named in `top_pictures`): the map's share on the object, the object's area and the
    picture-blind mean map's share (`object_share`, `blind_object_share`), in percent;
    the columns of `OBJECT_SHARE_COLUMNS`."""
    import pandas as pd

    share, area, blind = np.asarray(share), np.asarray(area), np.asarray(blind)
    if share.ndim != 1 or not share.shape == area.shape == blind.shape == (len(top_pictures),):
        raise ValueError(
            f"area, blind, top_pictures: expected one value and name per map like share "
            f"{share.shape}, got {area.shape}, {blind.shape} and {len(top_pictures)}"
        )
    shares = pd.DataFrame(
        {
            "on the object (%)": 100 * share,
            "object area (%)": 100 * area,
            "mean map on the object (%)": 100 * blind,
        }
    )
    return shares.assign(
        dimension=np.arange(1, len(share) + 1), **{"top picture": list(top_pictures)}
    )[list(OBJECT_SHARE_COLUMNS)]


def rendered_pictures(rows, transform, rendering: Any = None):
    """Embedded pictures (manifest `rows`) as the network sees them and as shown.

    Returns ``inputs`` (n, 3, H, W), `transform` applied to each rendered picture (what
    `images.EmojiImages` feeds the network), ``rgb`` (n, H, W, 3) uint8 pictures and
    ``masks`` (n, H, W) object masks in [0, 1], on the network's input grid: when
    `transform` is a `features.Preprocessing` recipe, the rendering and its mask go
    through the recipe's resize and centre crop (`Preprocessing.geometry`; the mask
    clipped to [0, 1]), so maps, pictures and masks line up pixel for pixel.
    """
    from PIL import Image

    from dnnalign_utils import images

    rendering = images.DEFAULT_RENDERING if rendering is None else rendering
    geometry = getattr(transform, "geometry", None)
    inputs, rgb, masks = [], [], []
    for path in rows["path"]:
        picture, mask = images.render_image(images.load_rgba(path), rendering)
        inputs.append(transform(picture))
        if geometry is not None:
            picture = geometry(picture)
            mask = np.clip(np.asarray(geometry(Image.fromarray(mask, mode="F"))), 0, 1)
        rgb.append(np.asarray(picture.convert("RGB")))
        masks.append(mask.astype(np.float32))
    return torch.stack(inputs), np.stack(rgb), np.stack(masks)


def network_inputs(pictures: Sequence[np.ndarray], transform: Callable[[Any], torch.Tensor]):
    """RGB uint8 pictures (H, W, 3 each: edits, photographs) as the network sees them:
    `transform` (e.g. a `features.Preprocessing` recipe) of each as a PIL picture,
    stacked (n, 3, H', W')."""
    from PIL import Image

    if len(pictures) == 0:
        raise ValueError("pictures: expected at least one picture, got none")
    return torch.stack([transform(Image.fromarray(np.asarray(p))) for p in pictures])


def top_pictures(weights: np.ndarray, n_dims: int, per_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The `per_dim` pictures with the largest weights on each of the first `n_dims`
    dimensions of `weights` (n_pictures, n_dims_total), ties by picture order. Returns
    ``pictures, dims`` (n_dims * per_dim,): grouped by dimension, best picture first."""
    weights = np.asarray(weights)
    if weights.ndim != 2 or not 1 <= n_dims <= weights.shape[1]:
        raise ValueError(
            f"n_dims: expected 1 to {weights.shape[-1]} dimensions of (n_pictures, n_dims) "
            f"weights {weights.shape}, got {n_dims}"
        )
    if not 1 <= per_dim <= weights.shape[0]:
        raise ValueError(f"per_dim: expected 1 to {weights.shape[0]} pictures, got {per_dim}")
    top = np.argsort(-weights[:, :n_dims], axis=0, kind="stable")[:per_dim].T
    return top.ravel(), np.repeat(np.arange(n_dims), per_dim)


def feature_map_shape(model: nn.Module, size: int) -> tuple[int, ...]:
    """(channels, height, width) of an EfficientNet-Lite's last feature map
    (``model.extract_features``) for a `size` x `size` input: the grid of its Grad-CAM
    maps before they are upsampled."""
    with torch.no_grad():
        return tuple(
            int(n) for n in model.extract_features(torch.zeros(1, 3, size, size)).shape[1:]
        )


# ------------------------------------------------------------------ deletion and insertion


def predict(predictor: nn.Module, inputs: torch.Tensor, batch_size: int = 32) -> np.ndarray:
    """The predictor's outputs (n, n_dims) float64 for `inputs` (n, 3, H, W), in batches."""
    predictor.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(inputs), batch_size):
            out.append(predictor(inputs[start : start + batch_size]).double().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def pixel_orders(cams: np.ndarray, seed: int) -> np.ndarray:
    """Pixels of each map (n, H, W) from most to least highlighted, as flat indices
    (n, H * W); ties (e.g. the zeros of a ReLU'd map) are broken in a seeded random order."""
    cams = np.asarray(cams)
    if cams.ndim != 3:
        raise ValueError(f"cams: expected (n, H, W) maps, got shape {cams.shape}")
    flat = cams.reshape(len(cams), -1)
    rng = np.random.default_rng(seed)
    orders = np.empty(flat.shape, dtype=np.int64)
    for i, values in enumerate(flat):
        shuffle = rng.permutation(values.size)
        orders[i] = shuffle[np.argsort(-values[shuffle], kind="stable")]
    return orders


def map_and_random_orders(maps: Sequence[np.ndarray], n_random: int, seed: int) -> np.ndarray:
    """Pixel orders (n, len(maps) + n_random, H * W) for `perturbation_curves`: first each
    map's order (`pixel_orders` of each (n, H, W) array of `maps`, with `seed`), then
    `n_random` random orders per picture (drawn from ``default_rng(seed)``, order by
    order, picture by picture)."""
    maps = [np.asarray(m) for m in maps]
    if not maps or maps[0].ndim != 3 or any(m.shape != maps[0].shape for m in maps):
        raise ValueError(
            f"maps: expected one or more (n, H, W) arrays of one shape, got "
            f"{[m.shape for m in maps]}"
        )
    if n_random < 0:
        raise ValueError(f"n_random: expected >= 0, got {n_random}")
    n_pictures, height, width = maps[0].shape
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [pixel_orders(m, seed)[:, None] for m in maps]
        + [
            np.stack([rng.permutation(height * width) for _ in range(n_pictures)])[:, None]
            for _ in range(n_random)
        ],
        axis=1,
    )


def blurred_baselines(inputs: torch.Tensor, sigma: float) -> torch.Tensor:
    """The deletion baseline: each input (n, 3, H, W) blurred by a Gaussian of `sigma`
    pixels (torchvision, kernel size 2 * ceil(3 sigma) + 1, reflected at the edges),
    which removes detail without adding a colour the network never saw."""
    import torchvision

    if sigma <= 0:
        raise ValueError(f"sigma: expected > 0, got {sigma}")
    size = 2 * int(np.ceil(3 * sigma)) + 1
    return torchvision.transforms.functional.gaussian_blur(inputs, [size, size], [sigma, sigma])


def perturbation_curves(
    predictor: nn.Module,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    orders: np.ndarray,
    dims: Sequence[int],
    n_steps: int,
    *,
    batch_size: int = 32,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Deletion and insertion curves of one dimension per picture.

    inputs, baselines: (n, 3, H, W) network inputs and what replaces a removed pixel;
    orders: (n, n_orders, H * W) pixel orders (most important first); dims: the
    dimension followed for each picture. After k of `n_steps` steps the first
    ``round(k / n_steps * H * W)`` pixels of an order are removed (deletion: set to the
    baseline) or present (insertion: the rest is baseline), all channels together.
    Returns ``deletion, insertion`` (n, n_orders, n_steps + 1), the predicted value of
    the picture's dimension at each step: deletion runs from the picture's value to the
    baseline's, insertion the other way. The end points are shared by every order and
    computed once; all other inputs of a picture go through the network in batches.
    """
    orders = np.asarray(orders)
    n, _, height, width = inputs.shape
    if baselines.shape != inputs.shape:
        raise ValueError(f"baselines: expected shape {tuple(inputs.shape)}, got {baselines.shape}")
    if orders.ndim != 3 or orders.shape[0] != n or orders.shape[2] != height * width:
        raise ValueError(
            f"orders: expected (n={n}, n_orders, {height * width}) pixel orders, "
            f"got {orders.shape}"
        )
    dims = [int(d) for d in dims]
    if len(dims) != n:
        raise ValueError(f"dims: expected one dimension per picture ({n}), got {len(dims)}")
    if n_steps < 1:
        raise ValueError(f"n_steps: expected >= 1, got {n_steps}")
    n_orders, n_pixels = orders.shape[1], height * width
    counts = np.round(np.arange(1, n_steps) / n_steps * n_pixels).astype(np.int64)
    deletion = np.empty((n, n_orders, n_steps + 1))
    insertion = np.empty_like(deletion)
    for i in tqdm(range(n), desc="deletion / insertion", disable=not progress):
        ranks = np.empty((n_orders, n_pixels), dtype=np.int64)
        np.put_along_axis(ranks, orders[i], np.arange(n_pixels)[None].repeat(n_orders, 0), 1)
        # removed[o, k]: pixel among the first counts[k] of order o
        removed = torch.from_numpy(ranks[:, None, :] < counts[None, :, None])
        removed = removed.reshape(-1, 1, height, width)
        x, b = inputs[i : i + 1], baselines[i : i + 1]
        batch = torch.cat([x, b, torch.where(removed, b, x), torch.where(removed, x, b)])
        values = predict(predictor, batch, batch_size)[:, dims[i]]
        inner = len(removed)
        deleted = values[2 : 2 + inner].reshape(n_orders, n_steps - 1)
        inserted = values[2 + inner :].reshape(n_orders, n_steps - 1)
        deletion[i] = np.column_stack(
            [np.full(n_orders, values[0]), deleted, np.full(n_orders, values[1])]
        )
        insertion[i] = np.column_stack(
            [np.full(n_orders, values[1]), inserted, np.full(n_orders, values[0])]
        )
    return deletion, insertion


def normalised_auc(curves: np.ndarray, original: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Area under curves (..., n_steps + 1) over the removed/inserted share in [0, 1], the
    values rescaled so that the picture's own prediction is 1 and the baseline's is 0
    (`original`, `baseline` broadcast against ``curves[..., 0]``). A deletion curve that
    drops at once scores about 0, a straight line 0.5; insertion the mirror image. NaN
    where the picture and its baseline predict the same value."""
    curves = np.asarray(curves, dtype=np.float64)
    span = np.asarray(original, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = (curves - np.asarray(baseline, dtype=np.float64)[..., None]) / span[..., None]
    scaled = np.where(np.abs(span)[..., None] > 1e-12, scaled, np.nan)
    return np.trapezoid(scaled, dx=1.0 / (curves.shape[-1] - 1), axis=-1)


# ---------------------------------------------------------------- model randomisation


def efficientnet_randomisation_blocks(predictor: nn.Module) -> list[tuple[str, list[nn.Module]]]:
    """The blocks of an `EfficientNetLitePredictor` (any EfficientNet-Lite) from the top
    down, for
    `cascading_randomisation`: the ridge, the head convolution with its batch norm, the
    network's stages (consecutive MBConv blocks with the same output width) and the stem."""
    backbone = predictor.backbone
    blocks: list[tuple[str, list[nn.Module]]] = [
        ("ridge", [predictor.ridge]),
        ("head", [backbone._conv_head, backbone._bn1]),
    ]
    stages: list[list[int]] = []
    for i, block in enumerate(backbone._blocks):
        width = block._block_args.output_filters
        if stages and backbone._blocks[stages[-1][0]]._block_args.output_filters == width:
            stages[-1].append(i)
        else:
            stages.append([i])
    for stage in reversed(stages):
        name = f"blocks {stage[0]}–{stage[-1]}" if len(stage) > 1 else f"block {stage[0]}"
        blocks.append((name, [backbone._blocks[i] for i in stage]))
    blocks.append(("stem", [backbone._conv_stem, backbone._bn0]))
    return blocks


def _reinitialise(module: nn.Module) -> None:
    """Fresh weights (the torch default initialisation; a centred ridge layer gets normal
    weights of its current standard deviation), from the global torch generator."""
    for sub in module.modules():
        if isinstance(sub, CentredLinear):
            with torch.no_grad():
                sub.weight.normal_(0.0, float(sub.weight.std()))
        elif hasattr(sub, "reset_parameters") and any(True for _ in sub.parameters(recurse=False)):
            sub.reset_parameters()


def cascading_randomisation(
    predictor: nn.Module,
    blocks: Sequence[tuple[str, Sequence[nn.Module]]],
    images: torch.Tensor,
    dims: int | Sequence[int],
    *,
    seed: int,
    maps: Callable[[nn.Module, torch.Tensor, Any], np.ndarray] | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Maps of `images` for `dims` as the predictor's weights are re-initialised block by
    block, in the order of `blocks` (``(name, modules)`` pairs of `predictor`, from the
    top down; each randomisation keeps the earlier ones, as in Adebayo et al., 2018).

    `maps(model, images, dims)` computes the maps (default: `dimension_cams`). The
    predictor itself is left untouched (a copy is randomised). Returns
    ``{"original": maps, name: maps after randomising up to that block, ...}``; the
    re-initialisation of block k is seeded with ``seed + k``.
    """
    maps = maps if maps is not None else dimension_cams
    positions = {id(m): name for name, m in predictor.named_modules()}
    missing = [name for name, mods in blocks for m in mods if id(m) not in positions]
    if missing:
        raise ValueError(f"blocks: modules of {sorted(set(missing))} are not in the predictor")
    model = copy.deepcopy(predictor).eval()
    copies = dict(model.named_modules())
    out = {"original": maps(model, images, dims)}
    for k, (name, mods) in enumerate(tqdm(blocks, desc="randomising", disable=not progress)):
        with torch.random.fork_rng():
            torch.manual_seed(seed + k)
            for m in mods:
                _reinitialise(copies[positions[id(m)]])
        model.eval()
        out[name] = maps(model, images, dims)
    return out


def input_edge_maps(model: nn.Module, images: torch.Tensor, dims: Any = None) -> np.ndarray:
    """A control 'map' that ignores the model and the dimension: the Sobel edge strength
    of each input (channel mean), scaled to [0, 1] per picture. Its maps cannot change
    when the weights are randomised, so `randomisation_flag` must flag it."""
    import cv2

    grey = images.detach().float().mean(1).numpy()
    edges = np.stack(
        [np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)) for g in grey]
    )
    peak = edges.max(axis=(1, 2), keepdims=True)
    return np.divide(edges, peak, out=np.zeros_like(edges), where=peak > 0).astype(np.float32)


def map_similarity(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair of maps (n, H, W): Spearman rank correlation of the pixels and SSIM
    (scikit-image, data range 1, for maps in [0, 1]). A constant map (e.g. all zeros)
    has no ranking: its rank correlation is 0."""
    from scipy.stats import spearmanr
    from skimage.metrics import structural_similarity

    first = np.asarray(first, dtype=np.float64)
    second = np.asarray(second, dtype=np.float64)
    if first.shape != second.shape or first.ndim != 3:
        raise ValueError(
            f"second: expected (n, H, W) maps of shape {first.shape}, got {second.shape}"
        )
    rho, ssim = np.zeros(len(first)), np.zeros(len(first))
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        if np.ptp(a) > 0 and np.ptp(b) > 0:
            rho[i] = spearmanr(a.ravel(), b.ravel()).statistic
        ssim[i] = structural_similarity(a, b, data_range=1.0)
    return rho, ssim


def randomisation_flag(steps: dict[str, np.ndarray], threshold: float = 0.5) -> tuple[Any, bool]:
    """Similarity of each randomisation step's maps to the original maps (median over
    pictures of Spearman and SSIM; `steps` as `cascading_randomisation` returns) and a
    flag: True when the maps of the fully randomised model still have a median rank
    correlation above `threshold` with the original ones, i.e. the maps ignore the
    model's weights (what an edge detector of the input would do)."""
    import pandas as pd

    if "original" not in steps or len(steps) < 2:
        raise ValueError("steps: expected 'original' and at least one randomisation step")
    rows = []
    for name, maps in steps.items():
        if name == "original":
            continue
        rho, ssim = map_similarity(steps["original"], maps)
        rows.append(
            {"randomised down to": name, "Spearman": np.median(rho), "SSIM": np.median(ssim)}
        )
    table = pd.DataFrame(rows)
    return table, bool(table["Spearman"].iloc[-1] > threshold)


def checked_randomisation(
    cascade: dict[str, np.ndarray], edge_cascade: dict[str, np.ndarray]
) -> tuple[Any, Any]:
    """`randomisation_flag`'s tables of Grad-CAM's `cascade` and of the edge control's
    `edge_cascade`; RuntimeError unless the check tells them apart: Grad-CAM's maps
    change with the weights (not flagged) and the edge detector's do not (flagged)."""
    cascade_table, cascade_flagged = randomisation_flag(cascade)
    edge_table, edge_flagged = randomisation_flag(edge_cascade)
    if cascade_flagged or not edge_flagged:
        raise RuntimeError(
            f"randomisation check: Grad-CAM flagged={cascade_flagged}, edge control "
            f"flagged={edge_flagged}; expected False and True"
        )
    return cascade_table, edge_table


def deletion_test(
    map_auc: np.ndarray, random_auc: np.ndarray, groups: Sequence[int], alpha: float = 0.05
) -> Any:
    """Per dimension (`groups`: the dimension of each picture), is deletion by the map
    faster than deletion in random order? A one-sided Wilcoxon signed-rank test of the
    paired normalised deletion AUCs (map < random) across the dimension's pictures
    (pictures with a NaN AUC left out), Benjamini-Hochberg corrected over dimensions
    (`container.benjamini_hochberg`). Returns one row per dimension: pictures, median
    AUCs, p-value and whether BH rejects."""
    import pandas as pd
    from scipy.stats import wilcoxon

    from dnnalign_utils.container import benjamini_hochberg

    frame = pd.DataFrame(
        {"dimension": np.asarray(groups), "map": map_auc, "random": random_auc}
    ).dropna()
    rows = []
    for dim, part in frame.groupby("dimension", sort=True):
        diff = part["map"] - part["random"]
        p = 1.0 if (diff == 0).all() else float(wilcoxon(diff, alternative="less").pvalue)
        rows.append(
            {
                "dimension": int(dim),
                "pictures": len(part),
                "map AUC": part["map"].median(),
                "random AUC": part["random"].median(),
                "p": p,
            }
        )
    # no rows when every AUC is NaN (a dimension the predictor holds constant)
    table = pd.DataFrame(rows, columns=["dimension", "pictures", "map AUC", "random AUC", "p"])
    p_values = table["p"].to_numpy(dtype=np.float64, copy=True)
    table["faster than random (BH)"] = (
        benjamini_hochberg(p_values, alpha) if len(p_values) else np.zeros(0, dtype=bool)
    )
    return table


def faithfulness_summary(
    deletion: np.ndarray, insertion: np.ndarray, methods: Sequence[str], dims: Sequence[int]
) -> Any:
    """The maps of `methods` against random pixel orders in deletion and insertion.

    `deletion`, `insertion` (n, n_orders, n_steps + 1) as `perturbation_curves` returns
    them, the first ``len(methods)`` orders those of the maps (`map_and_random_orders`),
    the others random; `dims` the dimension of each picture. Each curve is summarised by
    its `normalised_auc` (1: the picture's value, 0: its baseline's, the two ends of its
    deletion curve); a picture's random AUC is the mean over its random orders. One row
    per method and a last one, "random order": the median deletion and insertion AUC
    over the pictures and the share of dimensions (%) whose deletion by the map is faster
    than random (`deletion_test`; none for the random order itself).
    """
    import pandas as pd

    deletion, insertion = np.asarray(deletion), np.asarray(insertion)
    n_maps = len(methods)
    if deletion.ndim != 3 or insertion.shape != deletion.shape:
        raise ValueError(
            f"insertion: expected (n, n_orders, n_steps + 1) curves like deletion "
            f"{deletion.shape}, got {insertion.shape}"
        )
    if deletion.shape[1] <= n_maps:
        raise ValueError(
            f"deletion: expected the {n_maps} orders of {list(methods)} and at least one "
            f"random order, got {deletion.shape[1]} orders"
        )
    picture_value, blurred_value = deletion[:, 0, 0], deletion[:, 0, -1]
    deletion_auc = normalised_auc(deletion, picture_value[:, None], blurred_value[:, None])
    insertion_auc = normalised_auc(insertion, picture_value[:, None], blurred_value[:, None])
    random_deletion = deletion_auc[:, n_maps:].mean(1)
    random_insertion = insertion_auc[:, n_maps:].mean(1)
    faster = {
        name: deletion_test(deletion_auc[:, k], random_deletion, dims).iloc[:, -1].mean()
        for k, name in enumerate(methods)
    }
    return pd.DataFrame(
        {
            name: {
                "median deletion AUC": np.nanmedian(deletion_auc[:, k]),
                "median insertion AUC": np.nanmedian(insertion_auc[:, k]),
                "dimensions faster than random (%)": 100 * faster[name],
            }
            for k, name in enumerate(methods)
        }
        | {
            "random order": {
                "median deletion AUC": np.nanmedian(random_deletion),
                "median insertion AUC": np.nanmedian(random_insertion),
                "dimensions faster than random (%)": np.nan,
            }
        }
    ).T


def method_table(object_shares: dict[str, np.ndarray], rank_correlation: np.ndarray, summary):
    """Two CAM methods side by side, one row each (the keys of `object_shares`, the first
    the reference): the mean share of the method's maps on the object (%; per picture in
    `object_shares`, as `object_share` gives it), the median rank correlation of its
    maps with the reference's (`rank_correlation`, per picture, as `map_similarity`
    gives it; the reference's own is 1) and the method's row of `summary`
    (`faithfulness_summary`)."""
    import pandas as pd

    if len(object_shares) != 2:
        raise ValueError(f"object_shares: expected two methods, got {list(object_shares)}")
    reference = next(iter(object_shares))
    return pd.DataFrame(
        {
            "mean share on the object (%)": [100 * np.nanmean(v) for v in object_shares.values()],
            f"median rank correlation with {reference}": [1.0, np.median(rank_correlation)],
        },
        index=pd.Index(list(object_shares), name="CAM method"),
    ).join(summary)
