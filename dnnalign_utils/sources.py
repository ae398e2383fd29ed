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

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dnnalign_utils import data, paths
from dnnalign_utils.fetch import things_images_dir, things_triplets_dir
from dnnalign_utils.images import things_image_manifest
from dnnalign_utils.profiles import check_profile
from dnnalign_utils.provenance import array_sha256, file_sha256
from dnnalign_utils.triplets import remove_heldout_triplets

__all__ = [
    "Source",
    "human_training_triplets",
    "vgg16_concept_features",
    "vgg16_label",
]

EMBEDDED_PROFILES = ("smoke", "default")
# Legend/column name of the embedded VGG-16 representation: a rank-200 factorisation of
# VGG-16's concept similarity matrix, not VGG-16's activations.
VGG16_STAND_IN_LABEL = "VGG-16 stand-in (rank 200)"


@dataclass
class Source:
    """An input array and where it came from (for provenance records and the prose).

    `label`: a short name for legends and table columns that says what the input is
    (e.g. the VGG-16 stand-in is never labelled plain "VGG-16")."""

    value: Any
    description: str
    input_hashes: dict[str, str] = field(default_factory=dict)
    label: str = ""


# --------------------------------------------------------------------------- triplets


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
        release = data.read_things_triplets(folder or things_triplets_dir())
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


def vgg16_label(profile: str) -> str:
    """What `vgg16_concept_features(profile)` is, for legends and columns: the embedded
    rank-200 stand-in (`smoke`, `default`) or VGG-16-BN's activations (`paper`)."""
    check_profile(profile)
    return VGG16_STAND_IN_LABEL if profile in EMBEDDED_PROFILES else "VGG-16-BN"


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
            label=vgg16_label(profile),
        )
    from dnnalign_utils import features

    root = Path(images) if images is not None else things_images_dir()
    manifest = things_image_manifest(root, require_all=require_all)
    out_dir = paths.vgg16_photo_features(profile)
    photo = features.vgg16_photo_features(manifest, out_dir, weights=weights, progress=progress)
    means, concepts = features.concept_means(np.maximum(photo, 0.0), manifest)
    full = np.zeros((data.N_OBJECTS, means.shape[1]), dtype=np.float64)
    full[concepts] = means
    return Source(
        full,
        f"VGG-16-BN ({weights or 'random weights'}) classifier.3 after its ReLU, averaged "
        f"over {len(manifest):,} THINGS photos of {len(concepts):,} concepts in {root}",
        {"photos": array_sha256(np.asarray(manifest["sha256"].tolist()))},
        label=vgg16_label(profile),
    )
