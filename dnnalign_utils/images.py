"""Image sets: the embedded THINGS-emoji set (manifest, validation, rendering) and a
folder of THINGS photos (manifest, dataset).

The set (``data/things_emoji/``, built by ``data/build_things_emoji.py``) holds open-licensed
emoji artwork matched to THINGS concepts, several styles per concept, each stored as a
224 x 224 RGBA PNG whose alpha channel is the object mask and whose object is fitted
tightly into the square. A network sees it rendered: composited onto a plain background
with a margin around the object (``Rendering``). The default rendering was picked with
the ImageNet top-5 recognition sweep recorded in ``data/things_emoji/README.md`` (measured
with an earlier input pipeline) and is kept fixed; the network's own input recipe
(``features.EFFICIENTNET_LITE0_RECIPE``) comes from its training, not from that sweep.

Row order everywhere: THINGS canonical concept order (``unique_id.txt``), then style in
the manifest's style order (``STYLE_ORDER``); ``file_names`` gives the stable name of each
row (``<uniqueID>/<style>.png``), as stored next to features.

The `paper` profile's THINGS photos: ``things_image_manifest`` lists a folder of them
(one row per photo, THINGS order, then file name) and ``ThingsPhotos`` serves them to a
network.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from dnnalign_utils import data
from dnnalign_utils.paths import data_dir
from dnnalign_utils.provenance import file_sha256

MANIFEST_COLUMNS = (
    "uniqueID",
    "style",
    "file",
    "codepoint",
    "source_icon",
    "source_package",
    "source_version",
    "licence",
    "sha256",
)
STYLE_ORDER = (
    "noto",
    "noto-v1",
    "twemoji",
    "openmoji",
    "fluent-color",
    "fluent-flat",
    "emojione",
)
KNOWN_LICENCES = ("Apache-2.0", "CC-BY-4.0", "CC-BY-SA-4.0", "MIT")
STORED_SIZE = 224


class ManifestError(ValueError):
    """The emoji manifest or one of its files is invalid; the message names the file/row."""


@dataclass(frozen=True)
class Rendering:
    """How a stored RGBA emoji becomes a network input.

    size: output side in pixels; margin: empty border on each side as a fraction of
    ``size`` (the object is scaled to ``size * (1 - 2 * margin)``); background: RGB of the
    plain background.
    """

    size: int = 224
    margin: float = 0.1
    background: tuple[int, int, int] = (255, 255, 255)

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or self.size < 8:
            raise ValueError(f"Rendering.size: expected an int >= 8, got {self.size!r}")
        if not 0 <= self.margin < 0.5:
            raise ValueError(f"Rendering.margin: expected 0 <= margin < 0.5, got {self.margin}")
        bg = tuple(self.background)
        if len(bg) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in bg):
            raise ValueError(f"Rendering.background: expected 3 ints in 0..255, got {bg!r}")
        object.__setattr__(self, "background", bg)

    def as_dict(self) -> dict:
        return asdict(self)


# Picked with the recognition sweep (data/things_emoji/README.md), then kept fixed.
DEFAULT_RENDERING = Rendering(size=224, margin=0.2, background=(0, 0, 0))


def emoji_dir() -> Path:
    """The embedded image set's folder (``data/things_emoji`` under ``data_dir()``)."""
    return data_dir() / "things_emoji"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_manifest(
    folder: str | os.PathLike | None = None,
    *,
    styles: Sequence[str] | None = None,
    verify: bool = True,
) -> pd.DataFrame:
    """The validated manifest, one row per image, in THINGS order then style order.

    Checks (``ManifestError`` naming the manifest row or file otherwise): the columns;
    every ``uniqueID`` a THINGS concept; a known style and licence on every row; no
    duplicate (uniqueID, style); every file present inside ``folder``; and, with
    ``verify``, every file's SHA-256 equal to the manifest's. ``styles`` keeps only those
    styles (each must exist in the manifest). Adds ``path`` (absolute), ``things_index``
    (0-based index into the 1,854 concepts) and ``file_name`` (``<uniqueID>/<style>.png``).
    """
    folder = Path(folder) if folder is not None else emoji_dir()
    manifest_path = folder / "manifest.csv"
    if not manifest_path.exists():
        raise ManifestError(f"{manifest_path}: manifest not found")
    table = pd.read_csv(manifest_path, dtype=str, keep_default_na=False)
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise ManifestError(f"{manifest_path}: missing columns {missing}")
    if table.empty:
        raise ManifestError(f"{manifest_path}: no rows")
    order = data.things_index_by_id()
    for i, row in enumerate(table.itertuples(index=False)):
        where = f"{manifest_path}: row {i + 2} ({row.file or '?'})"
        if row.uniqueID not in order:
            raise ManifestError(f"{where}: uniqueID {row.uniqueID!r} is not a THINGS concept")
        if row.style not in STYLE_ORDER:
            raise ManifestError(f"{where}: unknown style {row.style!r}; expected {STYLE_ORDER}")
        if row.licence not in KNOWN_LICENCES:
            raise ManifestError(
                f"{where}: licence {row.licence!r} not stated or unknown; "
                f"expected one of {KNOWN_LICENCES}"
            )
        if not row.source_package or not row.source_version:
            raise ManifestError(f"{where}: source package and version must be stated")
        path = (folder / row.file).resolve()
        if folder.resolve() not in path.parents:
            raise ManifestError(f"{where}: file path leaves the image folder")
        if not path.is_file():
            raise ManifestError(f"{where}: file {path} is missing")
        if verify and _sha256(path) != row.sha256:
            raise ManifestError(
                f"{where}: SHA-256 of {path} does not match the manifest (file changed)"
            )
    dup = table.duplicated(["uniqueID", "style"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise ManifestError(f"{manifest_path}: row {i + 2}: duplicate (uniqueID, style)")
    if styles is not None:
        unknown = sorted(set(styles) - set(table["style"]))
        if unknown:
            raise ValueError(f"styles: {unknown} not in {manifest_path}")
        table = table[table["style"].isin(list(styles))]
    table = table.assign(
        things_index=table["uniqueID"].map(order).astype(int),
        style_rank=table["style"].map({s: i for i, s in enumerate(STYLE_ORDER)}),
    )
    table = table.sort_values(["things_index", "style_rank"], kind="stable")
    table = table.drop(columns="style_rank").reset_index(drop=True)
    table["path"] = [str((folder / f).resolve()) for f in table["file"]]
    table["file_name"] = table["uniqueID"] + "/" + table["style"] + ".png"
    return table


def file_names(manifest: pd.DataFrame) -> list[str]:
    """Stable row names (``<uniqueID>/<style>.png``) in the manifest's row order."""
    return list(manifest["file_name"])


def load_rgba(path: str | os.PathLike) -> Image.Image:
    """A stored emoji as an RGBA image (the alpha channel is the object mask)."""
    with Image.open(path) as image:
        rgba = image.convert("RGBA")
    if rgba.size != (STORED_SIZE, STORED_SIZE):
        raise ValueError(f"{path}: expected {STORED_SIZE}x{STORED_SIZE}, got {rgba.size}")
    return rgba


def render_image(
    rgba: Image.Image, rendering: Rendering = DEFAULT_RENDERING
) -> tuple[Image.Image, np.ndarray]:
    """Composite an RGBA emoji onto the background with a margin.

    Returns the RGB image (``rendering.size`` square) and the object mask in [0, 1]
    (float32, same size; the alpha channel after the same resizing and placement).
    """
    if rgba.mode != "RGBA":
        raise ValueError(f"render_image: expected an RGBA image, got mode {rgba.mode}")
    inner = max(1, round(rendering.size * (1 - 2 * rendering.margin)))
    offset = (rendering.size - inner) // 2
    # resize with premultiplied alpha so transparent pixels do not bleed colour
    obj = rgba.convert("RGBa").resize((inner, inner), Image.Resampling.LANCZOS).convert("RGBA")
    canvas = Image.new("RGB", (rendering.size, rendering.size), rendering.background)
    canvas.paste(obj, (offset, offset), obj)
    mask = np.zeros((rendering.size, rendering.size), dtype=np.float32)
    alpha = np.asarray(obj.getchannel("A"), dtype=np.float32) / 255.0
    mask[offset : offset + inner, offset : offset + inner] = alpha
    return canvas, mask


def load_images(
    manifest: pd.DataFrame, rendering: Rendering = DEFAULT_RENDERING
) -> list[Image.Image]:
    """Rendered RGB images of every manifest row, in row order."""
    return [render_image(load_rgba(p), rendering)[0] for p in manifest["path"]]


def load_masks(manifest: pd.DataFrame, rendering: Rendering = DEFAULT_RENDERING) -> np.ndarray:
    """Object masks (n, size, size) float32 in [0, 1], in row order."""
    return np.stack([render_image(load_rgba(p), rendering)[1] for p in manifest["path"]])


class EmojiImages:
    """A torch-style dataset of rendered images: ``dataset[i] -> (tensor, i)``.

    ``transform`` maps a PIL RGB image to a tensor (a network's preprocessing). Indexable
    and sized, so it works with ``torch.utils.data.DataLoader``.
    """

    def __init__(
        self, manifest: pd.DataFrame, transform, rendering: Rendering = DEFAULT_RENDERING
    ):
        self.paths = list(manifest["path"])
        self.file_names = file_names(manifest)
        self.transform = transform
        self.rendering = rendering

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        image, _ = render_image(load_rgba(self.paths[index]), self.rendering)
        return self.transform(image), index


def gallery(
    manifest: pd.DataFrame,
    unique_ids: Sequence[str],
    styles: Sequence[str],
    rendering: Rendering = DEFAULT_RENDERING,
) -> tuple[np.ndarray, list[str]]:
    """Rendered RGB images (n, size, size, 3) uint8 for every (concept, style) pair that
    exists, concepts in the given order, and a "uniqueID (style)" label per image."""
    rows = manifest.set_index(["uniqueID", "style"])
    pictures, labels = [], []
    for uid in unique_ids:
        for style in styles:
            if (uid, style) not in rows.index:
                continue
            image, _ = render_image(load_rgba(rows.loc[(uid, style), "path"]), rendering)
            pictures.append(np.asarray(image.convert("RGB")))
            labels.append(f"{uid} ({style})")
    if not pictures:
        raise ValueError("gallery: none of the requested concepts and styles is in the manifest")
    return np.stack(pictures), labels


def top_pictures(
    weights: np.ndarray, manifest: pd.DataFrame, n_dims: int, k: int = 4
) -> tuple[np.ndarray, list[str]]:
    """The `k` pictures with the largest weights on each of the first `n_dims` dimensions
    of a picture embedding (rows: the pictures of `manifest`, in its order), rendered
    (n_dims * k, size, size, 3), dimension by dimension, largest first, and a caption
    "dim <d>: uniqueID (style)" per picture (d counted from 1)."""
    weights = np.asarray(weights)
    if weights.ndim != 2 or weights.shape[0] != len(manifest):
        raise ValueError(
            f"weights: expected one row per picture of the manifest ({len(manifest)}), got "
            f"shape {weights.shape}"
        )
    top = np.argsort(-weights[:, :n_dims], axis=0)[:k].T
    rows = manifest.iloc[top.ravel()]
    pairs = list(zip(rows["uniqueID"], rows["style"], strict=True))
    pictures = np.concatenate([gallery(manifest, [u], [s])[0] for u, s in pairs])
    dims = np.repeat(np.arange(top.shape[0]), top.shape[1])
    captions = [f"dim {d + 1}: {u} ({s})" for d, (u, s) in zip(dims, pairs, strict=True)]
    return pictures, captions


# --------------------------------------------------------------------------------------
# A folder of THINGS photos (the `paper` profile's images)
# --------------------------------------------------------------------------------------

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# Picture formats the photo reader does not take: one in a concept folder is an error
# (dropping it would change the concept's mean without a word).
OTHER_PICTURE_SUFFIXES = (
    ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif", ".jfif", ".jp2"
)  # fmt: skip


def things_image_manifest(
    root: str | os.PathLike, *, require_all: bool = True, hashes: bool = True
) -> pd.DataFrame:
    """One row per THINGS photo under `root`: ``uniqueID``, ``things_index``, ``file_name``
    (``<uniqueID>/<file>``), ``path`` and ``sha256`` (when `hashes`).

    Concept folders are named by THINGS uniqueID and may sit directly under `root` or one
    level down (the OSF archives unpack to ``object_images_A-C/<uniqueID>/...``). A folder
    of images whose name is not a uniqueID, a concept found twice, or (with `require_all`)
    a concept without photos is an error naming it. Rows are in THINGS order, then by file
    name: an explicit order, never the file system's.
    """
    root = Path(root)
    if root.is_file():
        raise data.DataValidationError(
            f"{root}: a file; expected the folder of concept folders of photos (an archive "
            "must be extracted first)"
        )
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: image folder not found")
    unique_ids = data.load_unique_ids()
    index = {uid: i for i, uid in enumerate(unique_ids)}
    folders: dict[str, Path] = {}
    for candidate in sorted(p for p in [root, *root.iterdir(), *root.glob("*/*")] if p.is_dir()):
        files = [f for f in candidate.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES]
        if candidate == root or not (files or candidate.name in index):
            continue
        for f in sorted(candidate.iterdir()):
            if f.suffix.lower() in IMAGE_SUFFIXES and not f.is_file():
                raise data.DataValidationError(
                    f"{f}: a folder named like a photo; expected a picture file (move it away)"
                )
            if f.suffix.lower() in OTHER_PICTURE_SUFFIXES and f.is_file():
                raise data.DataValidationError(
                    f"{f}: a {f.suffix} picture; the photo reader takes "
                    f"{', '.join(IMAGE_SUFFIXES)} only (convert it, or move it out of the "
                    "concept folder)"
                )
        if not files:  # a concept folder without photos: a missing concept
            continue
        if candidate.name not in index:
            raise data.DataValidationError(
                f"{candidate}: a folder of {len(files)} images whose name is not a THINGS "
                "uniqueID (expected folders such as 'aardvark' or 'bat1')"
            )
        if candidate.name in folders:
            raise data.DataValidationError(
                f"concept {candidate.name!r} found twice: {folders[candidate.name]} and "
                f"{candidate}"
            )
        folders[candidate.name] = candidate
    if not folders:
        raise data.DataValidationError(f"{root}: no concept folders with images found")
    missing = [uid for uid in unique_ids if uid not in folders]
    if require_all and missing:
        raise data.DataValidationError(
            f"{root}: {len(missing)} of {len(unique_ids)} THINGS concepts have no photos, "
            f"e.g. {missing[:5]}"
        )
    rows = []
    for uid in sorted(folders, key=index.__getitem__):
        for f in sorted(folders[uid].iterdir()):
            if f.suffix.lower() in IMAGE_SUFFIXES:
                rows.append(
                    {
                        "uniqueID": uid,
                        "things_index": index[uid],
                        "file_name": f"{uid}/{f.name}",
                        "path": str(f),
                    }
                )
    manifest = pd.DataFrame(rows)
    if hashes:
        manifest["sha256"] = [file_sha256(p) for p in manifest["path"]]
    return manifest


class ThingsPhotos:
    """A torch-style dataset of photos: ``dataset[i] -> (transform(RGB image), i)``."""

    def __init__(self, manifest: pd.DataFrame, transform):
        self.paths = list(manifest["path"])
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        from PIL import Image

        path = self.paths[index]
        try:
            with Image.open(path) as image:
                picture = image.convert("RGB")
        except (OSError, ValueError) as err:  # not a picture, truncated, a folder, ...
            raise ValueError(f"{path}: not a readable photo ({err})") from None
        return self.transform(picture), index


def crop_border(recipe, rendering) -> float:
    """Pixels of a render (`rendering`, an `images.Rendering`) that the network's centre
    crop (`recipe`, a `features.Preprocessing`) cuts off on each side; ValueError when
    that would cut into the drawings (more than the rendering's margin)."""
    border = (recipe.resize_to - recipe.crop) / 2 * rendering.size / recipe.resize_to
    if border >= rendering.margin * rendering.size:
        raise ValueError(
            f"the network's centre crop ({recipe.crop} of {recipe.resize_to} px) cuts "
            f"{border:.1f} px of each {rendering.size} px render, into the drawings (margin "
            f"{rendering.margin * rendering.size:.1f} px); expected a wider margin"
        )
    return border
