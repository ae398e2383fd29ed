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
the object's area share there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["dimension_cams", "object_share", "overlay", "rendered_pictures"]


def dimension_cams(
    predictor: torch.nn.Module,
    images: torch.Tensor,
    dims: int | Sequence[int],
    *,
    target_layer: torch.nn.Module | None = None,
) -> np.ndarray:
    """Grad-CAM maps (n, H, W) in [0, 1], float32, of `images` (n, 3, H, W) for `dims`.

    `dims` is one dimension (the same for every image) or one per image; the maps come
    from ``predictor.target_layer`` unless `target_layer` is given. A map whose weighted
    activations are all <= 0 is all zeros.
    """
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

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
    with GradCAM(model=predictor, target_layers=[layer]) as cam:
        maps = cam(input_tensor=images, targets=[ClassifierOutputTarget(d) for d in per_image])
    return np.asarray(maps, dtype=np.float32)


def overlay(rgb: Any, cam: np.ndarray, image_weight: float = 0.5) -> np.ndarray:
    """The map in the JET colormap (RGB order) blended onto an RGB uint8 picture."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb: expected an (H, W, 3) uint8 picture, got {rgb.dtype} {rgb.shape}")
    if cam.shape != rgb.shape[:2]:
        raise ValueError(f"cam: expected shape {rgb.shape[:2]} like the picture, got {cam.shape}")
    return show_cam_on_image(
        rgb.astype(np.float32) / 255, cam, use_rgb=True, image_weight=image_weight
    )


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
