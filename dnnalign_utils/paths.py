"""Where the project's data, caches and derived artefacts live.

Nothing here depends on the working directory: every location is derived from the
repository root (the folder holding this package) and can be overridden by an
environment variable, so notebooks run the same from papermill, Jupyter or Colab.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Embedded data committed with the repository (`DNNALIGN_DATA_DIR` overrides)."""
    return _env_path("DNNALIGN_DATA_DIR", REPO_ROOT / "data")


def cache_dir() -> Path:
    """Downloads of the `paper` profile (`DNNALIGN_CACHE_DIR` overrides)."""
    return _env_path("DNNALIGN_CACHE_DIR", Path.home() / ".cache" / "dnnalign")


def artefacts_dir(profile: str) -> Path:
    """Derived artefacts one chapter hands to the next, per run profile.

    `DNNALIGN_ARTEFACTS_DIR` overrides the parent folder; each profile gets its own
    subfolder so a smoke run never overwrites what the default book computed.
    """
    return artefacts_root() / profile


ARTEFACTS_ENV = "DNNALIGN_ARTEFACTS_DIR"


# --- Chapter hand-offs -------------------------------------------------------------
# Every artefact one chapter writes and another reads is named once, here: its path
# under `artefacts_dir(profile)` (a file, or a folder and everything in it) and the
# chapter that writes it. Each has a function below returning its path for a profile;
# writers and readers call that function, so no notebook spells a path. A missing
# artefact's error names its chapter and the command that runs it (`artefact_hint`).


@dataclass(frozen=True)
class Artefact:
    """One hand-off: `relative` under `artefacts_dir(profile)`, written by the chapter
    notebook `chapter` (its stem), directly or through `written_via`."""

    relative: str
    chapter: str
    description: str
    written_via: str | None = None


ARTEFACTS: dict[str, Artefact] = {
    "image_features": Artefact(
        "features/efficientnet_lite0",
        "00_data",
        "EfficientNet-Lite0 features of the embedded pictures (thingsvision layout)",
    ),
    "vgg16_photo_features": Artefact(
        "features/vgg16_bn_photos",
        "01_triplet_task",
        "`paper` profile: VGG-16-BN features of every THINGS photo (a cache reused by "
        "later chapters)",
        written_via="sources.vgg16_concept_features",
    ),
    "vgg16_triplets": Artefact(
        "triplets/vgg16_concepts",
        "01_triplet_task",
        "VGG-16's simulated odd-one-out choices, split into train and test files",
    ),
    "human_spose_embedding": Artefact(
        "embeddings/human_spose.npz", "02_embedding_fit", "SPoSE fit to human triplets"
    ),
    "vgg16_embedding": Artefact(
        "embeddings/vgg16_vice.npz", "02_embedding_fit", "VICE fit to VGG-16's triplets"
    ),
    "efficientnet_lite0_embedding": Artefact(
        "embeddings/efficientnet_lite0_vice.npz",
        "02_embedding_fit",
        "VICE fit to EfficientNet-Lite0's triplets on the embedded pictures",
    ),
    "vgg16_regression_model": Artefact(
        "regression/vgg16_to_vgg16_dims.npz",
        "03_r2_regression",
        "ridge models predicting VGG-16's embedding dimensions from its features",
    ),
    "sentence_embeddings": Artefact(
        "semantic/concepts_minilm.npy",
        "03_r2_regression",
        "all-MiniLM-L6-v2 sentence embeddings of the concepts' word and definition",
    ),
    "picture_predictor": Artefact(
        "predictors/efficientnet_lite0_dimensions.npz",
        "04_gradcam",
        "EfficientNet-Lite0 -> ridge -> embedding dimensions for new pictures, with its "
        "input recipe and the training pictures' feature range",
    ),
    "clip_embedding": Artefact(
        "embeddings/clip_vit_b32_vice.npz",
        "05_visual_semantic_rating",
        "VICE fit to CLIP ViT-B/32's triplets",
    ),
    "rating_session": Artefact(
        "ratings/session", "05_visual_semantic_rating", "a blind rating session folder"
    ),
    "automatic_labels": Artefact(
        "ratings/automatic_labels.csv",
        "05_visual_semantic_rating",
        "the automatic rater's visual/semantic labels of every dimension",
    ),
    # Downloads (`dnnalign_utils.downloads.publish`) that a later chapter also reads.
    "dimension_r2": Artefact(
        "downloads/03_r2_regression/dimension_r2.csv",
        "03_r2_regression",
        "out-of-fold R² of every human VICE-42 and VGG-16 dimension from each predictor",
        written_via="downloads.publish",
    ),
    "picture_dimension_r2": Artefact(
        "downloads/04_gradcam/picture_dimension_r2.csv",
        "04_gradcam",
        "out-of-fold R² of every EfficientNet-Lite0 picture dimension from its activations",
        written_via="downloads.publish",
    ),
    "matched_pairs": Artefact(
        "downloads/06_human_vs_dnn/matched_pairs.csv",
        "06_human_vs_dnn",
        "the one-to-one matched human and VGG-16 dimension pairs with held-out r",
        written_via="downloads.publish",
    ),
}

# The hand-offs each chapter reads (keys of `ARTEFACTS`). `dnnalign_utils.book.
# ensure_upstream` runs the chapters that write the missing ones before a chapter that
# is run on its own (a downloaded notebook, a fresh Colab session).
CHAPTER_INPUTS: dict[str, tuple[str, ...]] = {
    "00_data": (),
    "01_triplet_task": ("image_features",),
    "02_embedding_fit": ("image_features", "vgg16_triplets"),
    "03_r2_regression": ("image_features", "vgg16_embedding"),
    "04_gradcam": ("image_features", "efficientnet_lite0_embedding", "sentence_embeddings"),
    "05_visual_semantic_rating": (
        "image_features",
        "human_spose_embedding",
        "vgg16_embedding",
        "efficientnet_lite0_embedding",
        "sentence_embeddings",
    ),
    "06_human_vs_dnn": ("vgg16_embedding", "automatic_labels"),
    "07_explorer": (
        "image_features",
        "human_spose_embedding",
        "vgg16_embedding",
        "efficientnet_lite0_embedding",
        "dimension_r2",
        "picture_dimension_r2",
        "clip_embedding",
        "automatic_labels",
        "matched_pairs",
    ),
}


def missing_inputs(profile: str, chapter: str) -> list[str]:
    """The hand-offs `chapter` reads that do not exist yet for `profile` (names)."""
    if chapter not in CHAPTER_INPUTS:
        raise ValueError(f"chapter {chapter!r}: unknown; expected one of {sorted(CHAPTER_INPUTS)}")
    return [name for name in CHAPTER_INPUTS[chapter] if not artefact_path(name, profile).exists()]


# File names of a triplet split inside its folder (the reference code's format).
TRIPLET_SPLIT_FILES = ("train_90.npy", "test_10.npy")

# Derived from `ARTEFACTS`: relative path -> producing chapter.
ARTEFACT_PRODUCERS: dict[str, str] = {a.relative: a.chapter for a in ARTEFACTS.values()}


def artefact_path(name: str, profile: str) -> Path:
    """Path of the hand-off `name` (a key of `ARTEFACTS`) for `profile`."""
    if name not in ARTEFACTS:
        raise ValueError(f"artefact {name!r}: unknown; expected one of {sorted(ARTEFACTS)}")
    return artefacts_dir(profile) / ARTEFACTS[name].relative


def image_features(profile: str) -> Path:
    """Folder of the embedded pictures' EfficientNet-Lite0 features (chapter 0)."""
    return artefact_path("image_features", profile)


def vgg16_photo_features(profile: str) -> Path:
    """Folder of the `paper` profile's VGG-16-BN photo features (cache, chapter 1)."""
    return artefact_path("vgg16_photo_features", profile)


def vgg16_triplets(profile: str) -> Path:
    """Folder of VGG-16's triplet split (chapter 1)."""
    return artefact_path("vgg16_triplets", profile)


def vgg16_triplet_split(profile: str) -> tuple[Path, Path]:
    """(train, test) files of VGG-16's triplet split (chapter 1)."""
    folder = vgg16_triplets(profile)
    return folder / TRIPLET_SPLIT_FILES[0], folder / TRIPLET_SPLIT_FILES[1]


SHIPPED_CURVES = ("vgg16", "efficientnet_lite0")
"""Networks whose embedding curve (`dnnalign_utils.curves`) ships under data/curves."""


def shipped_curve(network: str) -> Path:
    """The committed embedding-growth curve of `network` (CSV with a provenance sidecar,
    made by `python -m dnnalign_utils.curves`; chapter 2 plots it)."""
    if network not in SHIPPED_CURVES:
        raise ValueError(f"network {network!r}: expected one of {SHIPPED_CURVES}")
    return data_dir() / "curves" / f"{network}_embedding_curve.csv"


def embeddings_dir(profile: str) -> Path:
    """Folder of the embedding fits and their checkpoints (chapters 2 and 5)."""
    return artefacts_dir(profile) / "embeddings"


def human_spose_embedding(profile: str) -> Path:
    """SPoSE embedding of the human triplets (chapter 2)."""
    return artefact_path("human_spose_embedding", profile)


def vgg16_embedding(profile: str) -> Path:
    """VICE embedding of VGG-16's triplets (chapter 2)."""
    return artefact_path("vgg16_embedding", profile)


def efficientnet_lite0_embedding(profile: str) -> Path:
    """VICE embedding of EfficientNet-Lite0's picture triplets (chapter 2)."""
    return artefact_path("efficientnet_lite0_embedding", profile)


def vgg16_regression_model(profile: str) -> Path:
    """Ridge models from VGG-16's features to its embedding dimensions (chapter 3)."""
    return artefact_path("vgg16_regression_model", profile)


def sentence_embeddings(profile: str) -> Path:
    """Sentence embeddings of the concepts (chapter 3; later chapters reuse them)."""
    return artefact_path("sentence_embeddings", profile)


def picture_predictor(profile: str) -> Path:
    """The saved EfficientNet-Lite0 dimension predictor for new pictures (chapter 4;
    `predictor.DimensionPredictor.load`)."""
    return artefact_path("picture_predictor", profile)


def clip_embedding(profile: str) -> Path:
    """VICE embedding of CLIP ViT-B/32's triplets (chapter 5)."""
    return artefact_path("clip_embedding", profile)


def rating_session(profile: str) -> Path:
    """Folder of chapter 5's blind rating session."""
    return artefact_path("rating_session", profile)


def automatic_labels(profile: str) -> Path:
    """The automatic rater's dimension labels (chapter 5)."""
    return artefact_path("automatic_labels", profile)


def downloads_dir(profile: str) -> Path:
    """Folder of the files the chapters publish for readers (`dnnalign_utils.downloads`),
    one subfolder per chapter; the book runner copies it beside the executed chapters."""
    return artefacts_dir(profile) / "downloads"


def dimension_r2(profile: str) -> Path:
    """Chapter 3's R² of every dimension from each predictor (a download)."""
    return artefact_path("dimension_r2", profile)


def picture_dimension_r2(profile: str) -> Path:
    """Chapter 4's R² of every EfficientNet-Lite0 picture dimension (a download)."""
    return artefact_path("picture_dimension_r2", profile)


def matched_pairs(profile: str) -> Path:
    """Chapter 6's matched human and VGG-16 dimension pairs (a download)."""
    return artefact_path("matched_pairs", profile)


def artefacts_root() -> Path:
    """Parent of the per-profile artefact folders (`DNNALIGN_ARTEFACTS_DIR` overrides)."""
    return _env_path(ARTEFACTS_ENV, REPO_ROOT / "artefacts")


def display_path(path: str | os.PathLike) -> str:
    """A path as printed in a chapter: under the artefact root as
    `<artefacts>/<profile>/...`, under the repository as a relative path, else its file
    name. Printed outputs never show the machine's absolute folders."""
    path = Path(path).resolve()
    for base, shown in ((artefacts_root(), "<artefacts>"), (REPO_ROOT, "")):
        try:
            inner = path.relative_to(base)
        except ValueError:
            continue
        return str(Path(shown, inner)) if shown else str(inner)
    return path.name


def artefact_producer(path: str | os.PathLike) -> tuple[str, str] | None:
    """(profile, chapter stem) of the chapter that writes `path`, if `path` is a known
    artefact under `artefacts_root()`; else None."""
    try:
        relative = Path(path).resolve().relative_to(artefacts_root())
    except ValueError:
        return None
    if len(relative.parts) < 2:
        return None
    profile, inner = relative.parts[0], Path(*relative.parts[1:])
    for known, chapter in ARTEFACT_PRODUCERS.items():
        if inner == Path(known) or Path(known) in inner.parents:
            return profile, chapter
    return None


def artefact_hint(path: str | os.PathLike) -> str:
    """For a missing artefact: a sentence naming the chapter that writes it and the
    command that runs that chapter (empty for any other path)."""
    found = artefact_producer(path)
    if found is None:
        return ""
    profile, chapter = found
    return (
        f"; this artefact is written by chapter notebooks/{chapter}: run it first with "
        f"`python -m dnnalign_utils.book build --profile {profile} --only {chapter}`"
    )


def check_artefacts_root() -> Path:
    """Check, before any work, that the artefact folder can be written: it (or, if it does
    not exist yet, its nearest existing parent) must be a writable folder. ValueError names
    `DNNALIGN_ARTEFACTS_DIR` when it is set."""
    root = artefacts_root()
    origin = (
        f"{ARTEFACTS_ENV}={os.environ[ARTEFACTS_ENV]}"
        if os.environ.get(ARTEFACTS_ENV)
        else f"the default artefact folder {root} (set {ARTEFACTS_ENV} to change it)"
    )
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{origin}: {existing} is not a folder; expected a writable folder")
    try:  # a write probe: also catches read-only mounts, which os.access may not
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise ValueError(
            f"{origin}: {existing} is not writable ({err.strerror}); expected a writable folder"
        ) from None
    return root
