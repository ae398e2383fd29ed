"""Where the project's data, caches and derived artefacts live.

Nothing here depends on the working directory: every location is derived from the
repository root (the folder holding this package) and can be overridden by an
environment variable, so notebooks run the same from papermill, Jupyter or Colab.
"""

from __future__ import annotations

import os
import tempfile
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

# Artefacts one chapter reads from an earlier one: path relative to
# `artefacts_dir(profile)` (a file, or a folder and everything in it) -> producing chapter.
ARTEFACT_PRODUCERS: dict[str, str] = {
    "features/efficientnet_lite0": "00_data",
    "triplets/vgg16_concepts": "01_triplet_task",
    "embeddings/human_spose.npz": "02_embedding_fit",
    "embeddings/vgg16_vice.npz": "02_embedding_fit",
    "embeddings/efficientnet_lite0_vice.npz": "02_embedding_fit",
    "regression/vgg16_to_vgg16_dims.npz": "03_r2_regression",
    "semantic/concepts_minilm.npy": "03_r2_regression",
    "embeddings/clip_vit_b32_vice.npz": "05_visual_semantic_rating",
    "ratings/automatic_labels.csv": "05_visual_semantic_rating",
}


def artefacts_root() -> Path:
    """Parent of the per-profile artefact folders (`DNNALIGN_ARTEFACTS_DIR` overrides)."""
    return _env_path(ARTEFACTS_ENV, REPO_ROOT / "artefacts")


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
