"""The paper's causal test: predict dimension values for novel and manipulated pictures.

The paper feeds the dimension predictor (image -> network -> ridge -> dimensions,
`dnnalign_utils.predictor`) pictures it was never fitted on and controlled edits of
pictures, and asks which dimensions move. Here:

- **manipulations** of a rendered emoji picture, which comes with an exact object mask
  (`images.render_image`): `greyscale`, `hue_shift`, `silhouette`, `remove_object`,
  `swap_background`, `blur`, `crop`. Each takes and returns an (H, W, 3) uint8 picture
  of the same shape; `MANIPULATIONS` lists them with the book's settings.
- the **colour check**: dimensions that colour predicts should move more when a picture
  turns grey (`colour_check_table`).
- **photographs** shipped inside scikit-image (`skimage.data`, no download):
  `skimage_photos` returns those of THINGS concepts in the image set, cropped square.
- `concept_rank`: where the right concept ranks when a predicted dimension profile is
  compared with the embedding's concept profiles; `dimension_names` names each
  dimension by its top concept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MANIPULATIONS",
    "SKIMAGE_PHOTOS",
    "blur",
    "colour_check_table",
    "concept_rank",
    "crop",
    "dimension_names",
    "greyscale",
    "hue_shift",
    "manipulate",
    "remove_object",
    "silhouette",
    "skimage_photos",
    "swap_background",
]


def _check_picture(rgb: Any, mask: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb: expected an (H, W, 3) uint8 picture, got {rgb.dtype} {rgb.shape}")
    if mask is None:
        return rgb, None
    mask = np.asarray(mask, dtype=np.float64)
    if mask.shape != rgb.shape[:2]:
        raise ValueError(
            f"mask: expected shape {rgb.shape[:2]} like the picture, got {mask.shape}"
        )
    if mask.min() < 0 or mask.max() > 1:
        raise ValueError("mask: expected values in [0, 1] (the object's alpha)")
    return rgb, mask


def _colour(value: Sequence[int], name: str) -> np.ndarray:
    colour = np.asarray(value)
    if colour.shape != (3,) or colour.min() < 0 or colour.max() > 255:
        raise ValueError(f"{name}: expected an RGB triple in 0..255, got {value!r}")
    return colour.astype(np.float64)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def greyscale(rgb: Any) -> np.ndarray:
    """The picture's luma (ITU-R 601: 0.299 R + 0.587 G + 0.114 B, as PIL's "L") in all
    three channels."""
    rgb, _ = _check_picture(rgb)
    luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return np.repeat(_to_uint8(luma)[..., None], 3, axis=2)


def hue_shift(rgb: Any, degrees: float) -> np.ndarray:
    """Every pixel's hue turned by `degrees` on the colour wheel, lightness and saturation
    (HLS) kept: red becomes green at 120°, blue at 240°; greys stay as they are."""
    import cv2

    rgb, _ = _check_picture(rgb)
    hls = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2HLS)  # hue in degrees
    hls[..., 0] = np.mod(hls[..., 0] + degrees, 360.0)
    return _to_uint8(cv2.cvtColor(hls, cv2.COLOR_HLS2RGB).astype(np.float64) * 255)


def silhouette(
    rgb: Any, mask: Any, background: Sequence[int], colour: Sequence[int] = (255, 255, 255)
) -> np.ndarray:
    """The object's shape only: `colour` where the object is, `background` elsewhere,
    blended by the mask (the book renders on black, so the silhouette is white)."""
    rgb, mask = _check_picture(rgb, mask)
    bg, fg = _colour(background, "background"), _colour(colour, "colour")
    return _to_uint8(mask[..., None] * fg + (1 - mask[..., None]) * bg)


def swap_background(rgb: Any, mask: Any, old: Sequence[int], new: Any) -> np.ndarray:
    """The object recomposited on a new background (an RGB triple or an (H, W, 3)
    picture). `rgb` was rendered as ``mask * object + (1 - mask) * old``; the old
    background's share is taken out and the new one's put in."""
    rgb, mask = _check_picture(rgb, mask)
    new = np.asarray(new, dtype=np.float64)
    if new.shape not in ((3,), rgb.shape):
        raise ValueError(f"new: expected an RGB triple or a picture of shape {rgb.shape}")
    if new.min() < 0 or new.max() > 255:
        raise ValueError("new: expected values in 0..255")
    keep = 1 - mask[..., None]
    return _to_uint8(rgb.astype(np.float64) - keep * _colour(old, "old") + keep * new)


def remove_object(rgb: Any, mask: Any, background: Sequence[int]) -> np.ndarray:
    """The object taken out: its pixels set to the plain `background` it was rendered
    on, blended by the mask (pixels outside the object are kept)."""
    rgb, mask = _check_picture(rgb, mask)
    bg = _colour(background, "background")
    return _to_uint8((1 - mask[..., None]) * rgb + mask[..., None] * bg)


def blur(rgb: Any, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation `sigma` pixels (edges reflected)."""
    from scipy.ndimage import gaussian_filter

    rgb, _ = _check_picture(rgb)
    if sigma <= 0:
        raise ValueError(f"sigma: expected > 0, got {sigma}")
    return _to_uint8(gaussian_filter(rgb.astype(np.float64), (sigma, sigma, 0), mode="reflect"))


def crop(rgb: Any, fraction: float) -> np.ndarray:
    """The central square covering `fraction` of each side, enlarged back to the
    picture's size (bilinear): a zoom onto the middle."""
    from PIL import Image

    rgb, _ = _check_picture(rgb)
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction: expected 0 < fraction <= 1, got {fraction}")
    height, width = rgb.shape[:2]
    h, w = max(1, round(height * fraction)), max(1, round(width * fraction))
    top, left = (height - h) // 2, (width - w) // 2
    part = Image.fromarray(rgb[top : top + h, left : left + w])
    return np.asarray(part.resize((width, height), Image.Resampling.BILINEAR))


# name -> function(rgb, mask, background) with the book's settings
MANIPULATIONS: dict[str, Callable[[np.ndarray, np.ndarray, Sequence[int]], np.ndarray]] = {
    "greyscale": lambda rgb, mask, bg: greyscale(rgb),
    "hue +120°": lambda rgb, mask, bg: hue_shift(rgb, 120.0),
    "silhouette": lambda rgb, mask, bg: silhouette(rgb, mask, bg),
    "object removed": lambda rgb, mask, bg: remove_object(rgb, mask, bg),
    "grey background": lambda rgb, mask, bg: swap_background(rgb, mask, bg, (128, 128, 128)),
    "blur (σ = 4 px)": lambda rgb, mask, bg: blur(rgb, 4.0),
    "crop to 60 %": lambda rgb, mask, bg: crop(rgb, 0.6),
}


def manipulate(
    rgb: np.ndarray, masks: np.ndarray, background: Sequence[int]
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Every manipulation of `MANIPULATIONS` applied to every picture of `rgb` (n, H, W, 3)
    with masks (n, H, W). Returns the pictures (n * n_manipulations, H, W, 3), grouped
    by picture, the manipulation of each and the picture index of each."""
    out, names, index = [], [], []
    for i, (picture, mask) in enumerate(zip(rgb, masks, strict=True)):
        for name, function in MANIPULATIONS.items():
            out.append(function(picture, mask, background))
            names.append(name)
            index.append(i)
    return np.stack(out), names, np.asarray(index)


def colour_check_table(
    colour_r2: np.ndarray, grey_change: np.ndarray, dim_names: Sequence[str]
) -> pd.DataFrame:
    """The colour check in four rows (measure, value as text): the Spearman correlation
    over dimensions of how well colour predicts a dimension (`colour_r2`) with how far
    it moves when the pictures turn grey (`grey_change`), its p-value, the dimension
    colour predicts best (of `dim_names`) and its change over the median change."""
    from scipy.stats import spearmanr

    colour_r2, grey_change = np.asarray(colour_r2), np.asarray(grey_change)
    if (
        colour_r2.ndim != 1
        or grey_change.shape != colour_r2.shape
        or len(dim_names) != len(colour_r2)
    ):
        raise ValueError(
            f"grey_change, dim_names: expected one value and name per dimension like "
            f"colour_r2 {colour_r2.shape}, got {grey_change.shape} and {len(dim_names)}"
        )
    check = spearmanr(colour_r2, grey_change)
    most = int(np.argmax(colour_r2))
    return pd.DataFrame(
        {
            "measure": [
                "Spearman (colour R², change under greyscale)",
                "p",
                "most colour-predicted dimension",
                "its change / median change",
            ],
            "value": [
                f"{check.statistic:.2f}",
                f"{check.pvalue:.2g}",
                dim_names[most],
                f"{grey_change[most] / np.median(grey_change):.2f}",
            ],
        }
    )


# ----------------------------------------------------------------------------- photographs

# skimage.data loaders shipped with the package -> (THINGS uniqueID, description)
SKIMAGE_PHOTOS = {
    "chelsea": ("cat", "a cat (photograph)"),
    "coffee": ("coffee", "a cup of coffee (photograph)"),
    "rocket": ("rocket", "a rocket on its launch pad (photograph)"),
    "coins": ("coin", "coins (greyscale photograph)"),
    "horse": ("horse", "a horse (binary silhouette)"),
}


def _square(picture: np.ndarray) -> np.ndarray:
    height, width = picture.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return picture[top : top + side, left : left + side]


def skimage_photos(concepts: Sequence[str]) -> pd.DataFrame:
    """The `SKIMAGE_PHOTOS` whose concept is among `concepts`, as RGB uint8 pictures
    cropped to their central square (greyscale and binary pictures get three equal
    channels). Only pictures stored inside the installed scikit-image are used (no
    download); columns: name, uniqueID, description, rgb."""
    import skimage.data

    rows = []
    for name, (concept, description) in SKIMAGE_PHOTOS.items():
        if concept not in set(concepts):
            continue
        picture = np.asarray(getattr(skimage.data, name)())
        if picture.dtype == bool:
            picture = np.where(picture, 255, 0).astype(np.uint8)
        if picture.ndim == 2:
            picture = np.repeat(picture[..., None], 3, axis=2)
        rows.append(
            {
                "name": name,
                "uniqueID": concept,
                "description": description,
                "rgb": _square(picture[..., :3]),
            }
        )
    return pd.DataFrame(rows)


def concept_rank(
    profiles: np.ndarray, weights: np.ndarray, concepts: Sequence[str], targets: Sequence[str]
) -> pd.DataFrame:
    """Rank of the right concept for each predicted dimension profile.

    profiles: (n, n_dims) predicted dimension values; weights: (n_pictures, n_dims) the
    embedding; concepts: the concept of each embedded picture; targets: the right
    concept of each profile. Each concept's profile is the mean of its pictures' rows;
    concepts are ranked by cosine similarity to the predicted profile (1 = most
    similar). Returns rank, number of concepts and the most similar concept per profile.
    """
    profiles = np.asarray(profiles, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if profiles.ndim != 2 or weights.ndim != 2 or profiles.shape[1] != weights.shape[1]:
        raise ValueError(
            f"profiles: expected (n, {weights.shape[1]}) like the embedding, got {profiles.shape}"
        )
    means = pd.DataFrame(weights).groupby(np.asarray(concepts)).mean()
    missing = sorted(set(targets) - set(means.index))
    if missing:
        raise ValueError(f"targets: concepts {missing} have no picture in the embedding")
    unit = means.to_numpy() / np.linalg.norm(means.to_numpy(), axis=1, keepdims=True)
    similarity = profiles @ unit.T / np.linalg.norm(profiles, axis=1, keepdims=True)
    rows = []
    for sim, target in zip(similarity, targets, strict=True):
        order = means.index[np.argsort(-sim, kind="stable")]
        rows.append(
            {
                "rank": int(np.flatnonzero(order == target)[0]) + 1,
                "concepts": len(order),
                "most similar": order[0],
            }
        )
    return pd.DataFrame(rows)


def dimension_names(weights: np.ndarray, concepts: Sequence[str]) -> list[str]:
    """A name for each dimension of `weights` (n_pictures, n_dims): its number from 1 and
    the concept whose pictures (`concepts`: the concept of each row) weigh most on it on
    average, e.g. "3 cat"."""
    weights = np.asarray(weights)
    if weights.ndim != 2 or len(concepts) != len(weights):
        raise ValueError(
            f"concepts: expected one concept per row of the (n_pictures, n_dims) weights "
            f"{weights.shape}, got {len(concepts)}"
        )
    concept_means = pd.DataFrame(weights).groupby(np.asarray(concepts)).mean()
    return [f"{d + 1} {concept_means[d].idxmax()}" for d in range(weights.shape[1])]
