"""The inputs of each run profile: embedded data (`smoke`, `default`) or the paper's (`paper`).

Chapters ask this module for their inputs by profile, so one notebook serves every profile:

- `human_training_triplets(profile)`: the human choices an embedding is fitted on. Embedded:
  the 50k + 127k THINGS samples in `data/things/human/`. Paper: the THINGS-data triplet
  release (Hebart et al. 2023, OSF f5rn6), `trainset` (4,120,417 triplets) and
  `validationset` (453,642), read from the folder named by ``DNNALIGN_THINGS_TRIPLETS``.
- `vgg16_concept_features(profile)`: the VGG-16 representation of the 1,854 concepts.
  Embedded: the rank-200 stand-in whose dot products approximate VGG-16's
  (`dnn/vgg16_kernel_nmf_rank200.npy`). Paper: torchvision VGG-16-BN with ImageNet weights,
  `classifier.3` (fc7) after its ReLU, on every THINGS photo in the folder named by
  ``DNNALIGN_THINGS_IMAGES``, averaged per concept.

Either way the held-out human sets (noise ceiling, 2,171) are removed from training by
unordered triplet, and every result carries a provenance dict (source, files and hashes)
for the artefacts written from it.

Paper inputs are never downloaded in `smoke` or `default`. For `paper`, the folders come
from `dnnalign_utils.fetch` (the environment variable, else the OSF archive fetched and
extracted into the cache; the lookup order is in that module's docstring).

Deviation from the paper, stated in the chapters: VGG-16 answers triplets of *concepts*
(means over a concept's photos), not of the 24,102 images the paper sampled triplets from.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnnalign_utils import data, paths
from dnnalign_utils.fetch import things_images_dir, things_triplets_dir
from dnnalign_utils.profiles import check_profile
from dnnalign_utils.provenance import array_sha256, file_sha256
from dnnalign_utils.triplets import remove_heldout_triplets

__all__ = [
    "IMAGE_SUFFIXES",
    "Source",
    "ThingsPhotos",
    "human_training_triplets",
    "read_things_triplets",
    "things_image_manifest",
    "vgg16_concept_features",
    "vgg16_photo_features",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
EMBEDDED_PROFILES = ("smoke", "default")

# fc7 of torchvision's vgg16_bn; the paper's layer (its Methods)
VGG16_MODULE = "classifier.3"


@dataclass
class Source:
    """An input array and where it came from (for provenance records and the prose)."""

    value: Any
    description: str
    input_hashes: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- triplets

_TRIPLET_STEMS = {"train": ("trainset", "train_90"), "test": ("validationset", "test_10")}


# The only CSV header whose meaning is known: the THINGS-data release's (odd one out last).
CSV_TRIPLET_COLUMNS = ("img1", "img2", "ooo")


def _read_triplet_file(path: Path) -> np.ndarray:
    """One triplet file: objdim ``.npy``, whitespace-separated ``.txt``, or ``.csv``.

    A ``.csv`` either has the THINGS-data header naming ``img1, img2, ooo`` (any order,
    further columns ignored) or no header at all (every line three integers: pair, pair,
    odd one out). Any other first line is refused: a header such as ``odd,img1,img2``
    would otherwise be read with the wrong column as the odd one out. Indices are 0-based.
    """
    if path.suffix == ".npy":
        return data.load_triplets(path, "npy")
    if path.suffix == ".txt":
        return data.load_triplets(path, "txt")
    text = data.read_text(path)
    if not text.strip():
        raise data.DataValidationError(
            f"{path}: line 1: empty file; expected a header {','.join(CSV_TRIPLET_COLUMNS)} "
            "or lines of three integers"
        )
    try:
        frame = pd.read_csv(
            io.StringIO(text), header=None, dtype=str, skip_blank_lines=False, comment=None
        )
    except pd.errors.ParserError as err:
        raise data.DataValidationError(f"{path}: not a readable CSV file ({err})") from err
    first = frame.iloc[0].fillna("").str.strip()
    numbers = first[first != ""].str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
    if numbers.size and numbers.all():  # no header: the first line is a (bad?) triplet
        body, first_line, names = frame, 1, None
        if frame.shape[1] != 3:
            raise data.DataValidationError(
                f"{path}: line 1: expected 3 integer columns (pair, pair, odd one out) or "
                f"the header {','.join(CSV_TRIPLET_COLUMNS)}, found {frame.shape[1]} columns"
            )
    else:
        header = first.str.lower().tolist()
        if not set(CSV_TRIPLET_COLUMNS) <= set(header) or len(set(header)) != len(header):
            raise data.DataValidationError(
                f"{path}: line 1: unknown header {first.tolist()}; expected the THINGS-data "
                f"columns {','.join(CSV_TRIPLET_COLUMNS)} (odd one out last) once each, or no "
                "header (three integer columns per line)"
            )
        body = frame.iloc[1:, [header.index(c) for c in CSV_TRIPLET_COLUMNS]]
        first_line, names = 2, CSV_TRIPLET_COLUMNS
    if body.empty:
        raise data.DataValidationError(
            f"{path}: line {first_line}: no triplets after the header; expected triplets"
        )
    values = data.int_tokens_to_array(
        pd.Series(body.to_numpy().ravel(), dtype=object), path, 3, first_line, names
    )
    return data.validate_triplets(
        values, data.N_OBJECTS, name=str(path), row_label="line", first_row=first_line
    )


def read_things_triplets(folder: str | os.PathLike) -> dict[str, np.ndarray]:
    """The train and test triplets of a THINGS triplet release folder.

    Accepts the THINGS-data names (``trainset``, ``validationset``) and objdim's
    (``train_90``, ``test_10``) as ``.npy``, ``.txt`` or ``.csv``; exactly one file per
    split must match. Returns ``{"train": ..., "test": ...}`` in the project convention
    (0-based, odd one out last).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: triplet folder not found")
    found: dict[str, np.ndarray] = {}
    for split, stems in _TRIPLET_STEMS.items():
        matches = sorted(
            p
            for stem in stems
            for suffix in (".npy", ".txt", ".csv")
            for p in folder.rglob(f"{stem}{suffix}")
        )
        if len(matches) != 1:
            names = " or ".join(f"{s}.{{npy,txt,csv}}" for s in stems)
            raise FileNotFoundError(
                f"{folder}: expected exactly one {split} file named {names}, "
                f"found {[str(m) for m in matches] or 'none'}"
            )
        found[split] = _read_triplet_file(matches[0])
        found[f"{split}_path"] = matches[0]
    return found


def _embedded_human_triplets() -> tuple[np.ndarray, dict[str, str], str]:
    samples = np.concatenate(
        [data.load_triplets_sample50k(), data.load_triplets_sample127k().triplets]
    )
    hashes = {
        name: data.DATA_FILES[name]
        for name in ("human/triplets_sample50k.txt", "human/triplets_sample127k_with_subject.txt")
    }
    return samples, hashes, "the 50k + 127k THINGS samples embedded in data/things/human"


def human_training_triplets(
    profile: str, heldout: Sequence[np.ndarray] | None = None, folder: str | None = None
) -> Source:
    """Human triplets for fitting an embedding, with every triplet of a held-out set
    (default: the noise-ceiling set and the 2,171 set) removed by unordered triplet.

    `smoke`/`default`: the embedded samples. `paper`: ``trainset`` + ``validationset`` of
    the THINGS-data release (`folder`, else `things_triplets_dir()`). ``value`` is the
    kept triplets; ``description`` says how many were removed.
    """
    check_profile(profile)
    if heldout is None:
        heldout = [data.load_triplets_noise_ceiling().triplets, data.load_triplets_2171()]
    if profile in EMBEDDED_PROFILES:
        triplets, hashes, what = _embedded_human_triplets()
    else:
        release = read_things_triplets(folder or things_triplets_dir())
        triplets = np.concatenate([release["train"], release["test"]])
        hashes = {
            release[f"{s}_path"].name: file_sha256(release[f"{s}_path"]) for s in ("train", "test")
        }
        what = f"the THINGS-data triplet release in {release['train_path'].parent}"
    kept, removed = remove_heldout_triplets(triplets, heldout)
    description = (
        f"{len(kept):,} human triplets from {what} ({int(removed.sum()):,} of {len(triplets):,} "
        "removed because their three objects form a held-out triplet)"
    )
    return Source(kept, description, hashes)


# --------------------------------------------------------------------------- photos


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
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: image folder not found")
    unique_ids = data.load_unique_ids()
    index = {uid: i for i, uid in enumerate(unique_ids)}
    folders: dict[str, Path] = {}
    for candidate in sorted(p for p in [root, *root.iterdir(), *root.glob("*/*")] if p.is_dir()):
        files = [f for f in candidate.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES]
        if not files or candidate == root:
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

        with Image.open(self.paths[index]) as image:
            return self.transform(image.convert("RGB")), index


def concept_picture_paths(profile: str) -> Source:
    """One picture per concept that has one, to show objects to people (e.g. chapter 5's
    rating collections): a dict THINGS index -> path.

    smoke / default: the embedded emoji set's first style per concept (about a quarter
    of the concepts); paper: the first THINGS photo of each concept (by file name).
    """
    check_profile(profile)
    if profile in EMBEDDED_PROFILES:
        from dnnalign_utils import images

        manifest = images.load_manifest()
        description = "the embedded emoji set (first style per concept)"
    else:
        manifest = things_image_manifest(things_images_dir(), require_all=False, hashes=False)
        description = "the THINGS photos (first photo per concept)"
    first = manifest.groupby("things_index", sort=True).head(1)
    return Source(
        dict(zip(first["things_index"].astype(int), first["path"], strict=True)), description
    )


def vgg16_photo_features(
    manifest: pd.DataFrame,
    out_dir: str | os.PathLike,
    *,
    weights: str | None = "IMAGENET1K_V1",
    batch_size: int = 32,
    progress: bool = True,
) -> np.ndarray:
    """VGG-16-BN ``classifier.3`` activations (before the ReLU, as thingsvision stores
    them) of every photo in `manifest`, cached in `out_dir` (thingsvision layout) and
    reused only when the provenance records the same photos (names and hashes) and weights.
    `weights=None` uses random weights (tests); the ImageNet weights download through
    torchvision on first use. Runs on the GPU when PyTorch sees one.
    """
    from dnnalign_utils import features

    parameters = {
        "model": f"torchvision vgg16_bn ({weights or 'random weights'})",
        "preprocess": "resize 256, centre-crop 224, ImageNet normalisation",
        "images_sha256": array_sha256(np.asarray(manifest["sha256"].tolist())),
        "modules": [VGG16_MODULE],
    }

    def extract() -> dict[str, np.ndarray]:
        import torch

        torch.manual_seed(0)  # random weights (tests) are then reproducible
        return features.extract_features(
            features.vgg16_bn(weights),
            ThingsPhotos(manifest, features.vgg16_bn_preprocess()),
            [VGG16_MODULE],
            batch_size=batch_size,
            progress=progress,
            device="cuda" if torch.cuda.is_available() else None,
        )

    return features.cached_features(
        out_dir,
        [VGG16_MODULE],
        manifest["file_name"].tolist(),
        parameters,
        extract,
        produced_by="dnnalign_utils.sources.vgg16_photo_features",
    )[VGG16_MODULE]


def vgg16_concept_features(
    profile: str,
    *,
    images: str | os.PathLike | None = None,
    weights: str | None = "IMAGENET1K_V1",
    require_all: bool = True,
    progress: bool = True,
) -> Source:
    """VGG-16's representation of the 1,854 concepts (rows in THINGS order).

    `smoke`/`default`: the embedded rank-200 stand-in (non-negative; its dot products
    approximate VGG-16's). `paper`: the mean over each concept's photos of
    ReLU(``classifier.3``), i.e. ``classifier.4``, the features the paper's choices use
    (ReLU then dot product; the book's Methods page, 'The triplet likelihood'). Photos
    from `images`, else
    `things_images_dir()`; features cached under the `paper` artefacts. With
    `require_all=False` (tests on a few concepts), concepts without photos get zero rows.
    """
    check_profile(profile)
    if profile in EMBEDDED_PROFILES:
        name = "dnn/vgg16_kernel_nmf_rank200.npy"
        return Source(
            data.load_vgg16_features(),
            "the embedded rank-200 stand-in for VGG-16 (dot products approximate "
            "VGG-16's; layer not stated by its source)",
            {"features": data.DATA_FILES[name]},
        )
    from dnnalign_utils import features

    root = Path(images) if images is not None else things_images_dir()
    manifest = things_image_manifest(root, require_all=require_all)
    out_dir = paths.vgg16_photo_features(profile)
    photo = vgg16_photo_features(manifest, out_dir, weights=weights, progress=progress)
    means, concepts = features.concept_means(np.maximum(photo, 0.0), manifest)
    full = np.zeros((data.N_OBJECTS, means.shape[1]), dtype=np.float64)
    full[concepts] = means
    return Source(
        full,
        f"VGG-16-BN ({weights or 'random weights'}) classifier.3 after its ReLU, averaged "
        f"over {len(manifest):,} THINGS photos of {len(concepts):,} concepts in {root}",
        {"photos": array_sha256(np.asarray(manifest["sha256"].tolist()))},
    )
