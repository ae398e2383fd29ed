"""Where the project's data, caches and derived artefacts live.

In a checkout of the repository (also an editable install, as in Colab), nothing here
depends on the working directory: every location is derived from the repository root
(the folder holding this package). A plain install (a wheel) carries the embedded data
inside the package (`INSTALLED_DATA`, from the repository's data/ folder) and keeps the
artefacts under the working folder, as a downloaded chapter expects. Every location can
be overridden by an environment variable, so notebooks run the same from papermill,
Jupyter or Colab.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

REPO_ROOT = Path(__file__).resolve().parents[1]
# The repository's data/ folder as a plain install carries it (pyproject.toml maps it to
# this package's `embedded_data`); absent in a checkout.
INSTALLED_DATA = Path(__file__).resolve().parent / "embedded_data"


DATA_ENV = "DNNALIGN_DATA_DIR"
CACHE_ENV = "DNNALIGN_CACHE_DIR"
ARTEFACTS_ENV = "DNNALIGN_ARTEFACTS_DIR"
THINGS_IMAGES_ENV = "DNNALIGN_THINGS_IMAGES"
THINGS_TRIPLETS_ENV = "DNNALIGN_THINGS_TRIPLETS"
# Every environment variable that names a folder. A relative one means the folder of the
# caller's working folder; the chapter kernels run in notebooks/, so the runner passes
# them on absolute (`absolute_path_variables`).
PATH_ENV_VARIABLES = (DATA_ENV, CACHE_ENV, ARTEFACTS_ENV, THINGS_IMAGES_ENV, THINGS_TRIPLETS_ENV)


def env_path(name: str) -> Path | None:
    """The absolute folder named by the environment variable `name` (a relative value
    against the working folder, ``~`` expanded), or None when it is unset or empty."""
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else None


def absolute_path_variables() -> dict[str, str]:
    """The set folder variables (`PATH_ENV_VARIABLES`), each resolved once against the
    working folder of this process: the environment a chapter kernel, which runs in
    notebooks/, is given."""
    found = {name: env_path(name) for name in PATH_ENV_VARIABLES}
    return {name: str(path) for name, path in found.items() if path is not None}


def _env_path(name: str, default: Path) -> Path:
    return env_path(name) or default


def is_installed_copy() -> bool:
    """Whether this package is a plain install (a wheel) rather than a checkout."""
    return INSTALLED_DATA.is_dir()


def data_dir() -> Path:
    """Embedded data committed with the repository: its data/ folder, or the copy a
    plain install carries (`DNNALIGN_DATA_DIR` overrides)."""
    return _env_path(DATA_ENV, INSTALLED_DATA if is_installed_copy() else REPO_ROOT / "data")


def cache_dir() -> Path:
    """Downloads of the `paper` profile (`DNNALIGN_CACHE_DIR` overrides)."""
    return _env_path(CACHE_ENV, Path.home() / ".cache" / "dnnalign")


def artefacts_dir(profile: str) -> Path:
    """Derived artefacts one chapter hands to the next, per run profile.

    `DNNALIGN_ARTEFACTS_DIR` overrides the parent folder; each profile gets its own
    subfolder so a smoke run never overwrites what the default book computed. An unknown
    profile is a ValueError naming the profiles (a misspelt one would otherwise start an
    artefact folder of its own).
    """
    from dnnalign_utils.profiles import check_profile

    check_profile(profile)
    return artefacts_root() / profile


# --- Chapter hand-offs -------------------------------------------------------------
# Every artefact one chapter writes and another reads is named once, here: its path
# under `artefacts_dir(profile)` (a file, or a folder and everything in it) and the
# chapter that writes it. Each has a function below returning its path for a profile;
# writers and readers call that function, so no notebook spells a path. A missing
# artefact's error names its chapter and the command that runs it (`artefact_hint`).


# --- Networks ----------------------------------------------------------------------
# Chapters 1 to 6 study one network at a time (their `network` parameter). What they
# compute about it (its triplets, embedding, ridge models, labels, matches, downloads
# and key numbers) is a *per-network* artefact: for the book's own network it lives
# directly under `artefacts_dir(profile)` (the paths the book always used); for any
# other network under `artefacts_dir(profile)/networks/<key>/`, so no two networks ever
# write the same file. The book's own network is DEFAULT_NETWORK for the concept-level
# chapters and DEFAULT_PICTURE_NETWORK for the picture-level artefacts (chapter 2's
# picture embedding, chapter 4's predictor and R²): each artefact names its own
# (`Artefact.home_network`). Everything else (human fits, chapter 0's picture features,
# sentence embeddings) is shared by all networks of a profile.


class NetworkValue(Protocol):
    """What paths needs of a network (`networks.Network`, resolved once): its artefact
    key and its kind."""

    key: str
    kind: str


DEFAULT_NETWORK = "vgg16"
# The picture network of the book's Grad-CAM chapter and picture embedding.
DEFAULT_PICTURE_NETWORK = "efficientnet_lite0"
NETWORKS_SUBDIR = "networks"
# The chapter that explains a picture network's picture embedding (Grad-CAM).
GRADCAM_CHAPTER = "04_gradcam"
# The chapters that study one network and record its key numbers, in pipeline order
# (`keynumbers.CHAPTERS`, checked against it by a test); the report runs them.
NETWORK_CHAPTERS = (
    "01_triplet_task",
    "02_embedding_fit",
    "03_r2_regression",
    "05_visual_semantic_rating",
    "06_human_vs_dnn",
)
_NETWORK_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")


def check_network_key(key: str) -> str:
    """A network's artefact key: lower-case letters, digits, '_', '.', '-' (at most 80)."""
    if not isinstance(key, str) or not _NETWORK_KEY.match(key) or ".." in key:
        raise ValueError(
            f"network key {key!r}: expected lower-case letters, digits, '_', '.' or '-' "
            "(at most 80, starting with a letter or digit)"
        )
    return key


def network_dir(profile: str, network: NetworkValue | None, home: str = DEFAULT_NETWORK) -> Path:
    """Folder of the per-network artefacts of `network` (`networks.resolve`'s value;
    None: the book's own) for `profile`: the profile's own folder for the book's own
    network `home`, else its own sub-folder. A name or key string is refused."""
    base = artefacts_dir(profile)
    if network is None:
        return base
    if not isinstance(getattr(network, "key", None), str) or not hasattr(network, "kind"):
        raise ValueError(
            f"network={network!r}: expected a resolved network (`networks.resolve(...)`), "
            "not a name, key or path"
        )
    return base if network.key == home else base / NETWORKS_SUBDIR / network.key


@dataclass(frozen=True)
class Artefact:
    """One hand-off: `relative` under `artefacts_dir(profile)` (or, if `per_network`,
    under `network_dir(profile, network, home_network)`, with ``{network}`` in `relative`
    replaced by the network's key), written by the chapter notebook `chapter` (its stem),
    directly or through `written_via`. ``home_network`` is the book's own network for this
    artefact; asked for DEFAULT_NETWORK (the book's own), a picture-level artefact gives
    its home's."""

    relative: str
    chapter: str
    description: str
    written_via: str | None = None
    per_network: bool = False
    home_network: str = DEFAULT_NETWORK

    @property
    def picture_level(self) -> bool:
        """Whether the artefact belongs to a picture network (its home is the book's)."""
        return self.per_network and self.home_network == DEFAULT_PICTURE_NETWORK

    def book_own(self, profile: str) -> Path:
        """Its path for `profile` and the book's own network (`home_network`)."""
        return artefacts_dir(profile) / self.relative.format(network=self.home_network)


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
        written_via="networks.load",  # sources.vgg16_concept_features for vgg16
    ),
    "network_triplets": Artefact(
        "triplets/{network}_concepts",
        "01_triplet_task",
        "the network's simulated odd-one-out choices, split into train and test files",
        per_network=True,
    ),
    "human_spose_embedding": Artefact(
        "embeddings/human_spose.npz", "02_embedding_fit", "SPoSE fit to human triplets"
    ),
    "network_embedding": Artefact(
        "embeddings/{network}_vice.npz",
        "02_embedding_fit",
        "VICE fit to the network's triplets",
        per_network=True,
    ),
    "picture_embedding": Artefact(
        "embeddings/{network}_pictures_vice.npz",
        "02_embedding_fit",
        "VICE fit to a picture network's triplets of the profile's pictures (chapter 0's)",
        per_network=True,
        home_network=DEFAULT_PICTURE_NETWORK,
    ),
    "network_regression_model": Artefact(
        "regression/{network}_to_{network}_dims.npz",
        "03_r2_regression",
        "ridge models predicting the network's embedding dimensions from its features",
        per_network=True,
    ),
    "sentence_embeddings": Artefact(
        "semantic/concepts_minilm.npy",
        "03_r2_regression",
        "all-MiniLM-L6-v2 sentence embeddings of the concepts' word and definition",
    ),
    "picture_predictor": Artefact(
        "predictors/{network}_dimensions.npz",
        "04_gradcam",
        "picture network -> ridge -> its picture embedding's dimensions for new pictures, "
        "with its input recipe and the training pictures' feature range",
        per_network=True,
        home_network=DEFAULT_PICTURE_NETWORK,
    ),
    "clip_embedding": Artefact(
        "embeddings/clip_vit_b32_vice.npz",
        "05_visual_semantic_rating",
        "VICE fit to CLIP ViT-B/32's triplets",
    ),
    "rating_session": Artefact(
        "ratings/session",
        "05_visual_semantic_rating",
        "a blind rating session folder",
        per_network=True,
    ),
    "automatic_labels": Artefact(
        "ratings/automatic_labels.csv",
        "05_visual_semantic_rating",
        "the automatic rater's visual/semantic labels of every dimension",
        per_network=True,
    ),
    "network_comparison": Artefact(
        "comparison/{network}",
        "07_networks",
        "chapter 7's pass of the network through the pipeline: its VICE fit's checkpoint, "
        "the embedding (with the THINGS index of its rows) and its key numbers",
        written_via="network_pipeline.run_network",
        per_network=True,
    ),
    # Downloads (`dnnalign_utils.downloads.publish`) that a later chapter also reads.
    "dimension_r2": Artefact(
        "downloads/03_r2_regression/dimension_r2.csv",
        "03_r2_regression",
        "out-of-fold R² of every human VICE-42 and network dimension from each predictor",
        written_via="downloads.publish",
        per_network=True,
    ),
    "picture_dimension_r2": Artefact(
        "downloads/04_gradcam/picture_dimension_r2.csv",
        "04_gradcam",
        "out-of-fold R² of every picture dimension from the picture network's activations",
        written_via="downloads.publish",
        per_network=True,
        home_network=DEFAULT_PICTURE_NETWORK,
    ),
    "matched_pairs": Artefact(
        "downloads/06_human_vs_dnn/matched_pairs.csv",
        "06_human_vs_dnn",
        "the one-to-one matched human and network dimension pairs with held-out r",
        written_via="downloads.publish",
        per_network=True,
    ),
}

# The hand-offs each chapter reads (keys of `ARTEFACTS`). `dnnalign_utils.book.
# ensure_upstream` runs the chapters that write the missing ones before a chapter that
# is run on its own (a downloaded notebook, a fresh Colab session). A per-network
# hand-off is that of the network the chapter studies, except those listed in
# `BOOK_OWN_INPUTS`, which a chapter reads of the book's own network whatever it studies.
CHAPTER_INPUTS: dict[str, tuple[str, ...]] = {
    "00_data": (),
    "01_triplet_task": ("image_features",),
    "02_embedding_fit": ("image_features", "network_triplets"),
    "03_r2_regression": ("image_features", "network_embedding"),
    "04_gradcam": ("image_features", "picture_embedding"),
    "05_visual_semantic_rating": (
        "image_features",
        "human_spose_embedding",
        "network_embedding",
        "picture_embedding",
    ),
    "06_human_vs_dnn": ("network_embedding", "automatic_labels"),
    "07_networks": (
        "image_features",
        "network_triplets",
        "network_embedding",
        "dimension_r2",
        "clip_embedding",
        "automatic_labels",
        "matched_pairs",
    ),
    "08_explorer": (
        "image_features",
        "human_spose_embedding",
        "network_embedding",
        "picture_embedding",
        "dimension_r2",
        "picture_dimension_r2",
        "clip_embedding",
        "automatic_labels",
        "matched_pairs",
    ),
}


# Chapter 5 validates its rater on the book's own picture embedding (EfficientNet-Lite0's)
# whatever network it rates.
BOOK_OWN_INPUTS: dict[str, tuple[str, ...]] = {
    "05_visual_semantic_rating": ("picture_embedding",),
}


def input_network(chapter: str, name: str, network: NetworkValue | None) -> NetworkValue | None:
    """The network whose hand-off `name` chapter `chapter` reads when it studies `network`
    (None: the book's own): `network`, or the book's own (None) for `BOOK_OWN_INPUTS` and
    for a picture hand-off of a network that is not a picture network."""
    if network is None or name in BOOK_OWN_INPUTS.get(chapter, ()):
        return None
    if ARTEFACTS[name].picture_level and network.kind != "pictures":
        return None
    return network


def missing_inputs(profile: str, chapter: str, network: NetworkValue | None = None) -> list[str]:
    """The hand-offs `chapter` reads that do not exist yet for `profile` (names); the
    per-network ones are those of `network` (None: the book's own; `input_network`)."""
    if chapter not in CHAPTER_INPUTS:
        raise ValueError(f"chapter {chapter!r}: unknown; expected one of {sorted(CHAPTER_INPUTS)}")
    return [
        name
        for name in CHAPTER_INPUTS[chapter]
        if not artefact_path(name, profile, input_network(chapter, name, network)).exists()
    ]


# File names of a triplet split inside its folder (the reference code's format).
TRIPLET_SPLIT_FILES = ("train_90.npy", "test_10.npy")
# THINGS indices of the concepts a network's triplets, embedding rows and features are
# about (row r of its embedding is THINGS concept objects[r]), beside its triplet split.
TRIPLET_OBJECTS_FILE = "things_index.npy"

# Derived from `ARTEFACTS`: relative path (``{network}`` left in) -> producing chapter.
ARTEFACT_PRODUCERS: dict[str, str] = {a.relative: a.chapter for a in ARTEFACTS.values()}


def artefact_path(name: str, profile: str, network: NetworkValue | None = None) -> Path:
    """Path of the hand-off `name` (a key of `ARTEFACTS`) for `profile`; for a per-network
    hand-off, that of `network` (`networks.resolve`'s value; None: the book's own; shared
    hand-offs ignore it). A picture network's hand-off (chapter 2's picture embedding,
    chapter 4's predictor and R²) of a network that is not a picture network is refused."""
    if name not in ARTEFACTS:
        raise ValueError(f"artefact {name!r}: unknown; expected one of {sorted(ARTEFACTS)}")
    artefact = ARTEFACTS[name]
    if network is None or not artefact.per_network:
        return artefact.book_own(profile)
    folder = network_dir(profile, network, artefact.home_network)  # refuses a name
    if artefact.picture_level and network.kind != "pictures":
        raise ValueError(
            f"artefact {name!r} of network {network.key!r}: it belongs to a picture network, "
            f"and {network.key!r} is a {network.kind}-level network; ask for the picture "
            "network's (`Network.picture_network`)"
        )
    return folder / artefact.relative.format(network=network.key)


def image_features(profile: str) -> Path:
    """Folder of the embedded pictures' EfficientNet-Lite0 features (chapter 0)."""
    return artefact_path("image_features", profile)


def vgg16_photo_features(profile: str) -> Path:
    """Folder of the `paper` profile's VGG-16-BN photo features (cache, chapter 1)."""
    return artefact_path("vgg16_photo_features", profile)


def _picture_network_dir(profile: str, network: NetworkValue) -> Path:
    folder = network_dir(profile, network)  # refuses a name
    if network.kind != "pictures":
        raise ValueError(
            f"network {network.key!r}: a {network.kind}-level network has no picture features; "
            "expected a picture network"
        )
    return folder / "features"


def network_features(profile: str, network: NetworkValue) -> Path:
    """Cache folder of a picture network's features of its pictures (thingsvision layout;
    `dnnalign_utils.networks`), per network."""
    return _picture_network_dir(profile, network) / network.key


def network_image_set_features(profile: str, network: NetworkValue) -> Path:
    """Cache folder of a picture network's pooled features of chapter 0's pictures
    (`networks.image_set_features`; chapters 2 and 4), per network."""
    return _picture_network_dir(profile, network) / f"{network.key}_image_set"


def network_triplets(profile: str, network: NetworkValue | None = None) -> Path:
    """Folder of the network's triplet split (chapter 1; None: the book's own)."""
    return artefact_path("network_triplets", profile, network)


def network_triplet_split(profile: str, network: NetworkValue | None = None) -> tuple[Path, Path]:
    """(train, test) files of the network's triplet split (chapter 1)."""
    folder = network_triplets(profile, network)
    return folder / TRIPLET_SPLIT_FILES[0], folder / TRIPLET_SPLIT_FILES[1]


def network_objects(profile: str, network: NetworkValue | None = None) -> Path:
    """THINGS indices (``.npy``) of the concepts the network's triplets are about
    (chapter 1, beside the split)."""
    return network_triplets(profile, network) / TRIPLET_OBJECTS_FILE


SHIPPED_CURVES = ("vgg16", "efficientnet_lite0")
"""Networks whose embedding curve (`dnnalign_utils.curves`) ships under data/curves."""


def shipped_curve(network: str) -> Path:
    """The committed embedding-growth curve of `network` (CSV with a provenance sidecar,
    made by `python -m dnnalign_utils.curves`; chapter 2 plots it)."""
    if network not in SHIPPED_CURVES:
        raise ValueError(f"network {network!r}: expected one of {SHIPPED_CURVES}")
    return data_dir() / "curves" / f"{network}_embedding_curve.csv"


def embeddings_dir(profile: str) -> Path:
    """Folder of the shared embedding fits and their checkpoints (chapters 2 and 5)."""
    return artefacts_dir(profile) / "embeddings"


def human_spose_embedding(profile: str) -> Path:
    """SPoSE embedding of the human triplets (chapter 2)."""
    return artefact_path("human_spose_embedding", profile)


def network_embedding(profile: str, network: NetworkValue | None = None) -> Path:
    """VICE embedding of the network's triplets (chapter 2; None: the book's own); its
    checkpoints go beside it."""
    return artefact_path("network_embedding", profile, network)


def picture_embedding(profile: str, network: NetworkValue | None = None) -> Path:
    """VICE embedding of a picture network's triplets of chapter 0's pictures (chapter 2;
    None: the book's own, EfficientNet-Lite0's); its checkpoints go beside it."""
    return artefact_path("picture_embedding", profile, network)


def writes_shared(network: NetworkValue | None, path: str | os.PathLike) -> bool:
    """Whether a chapter run for `network` (`networks.resolve`'s value; None: the book's
    own) writes the shared artefact at `path`, one that does not depend on the network
    studied (the human fits, the book's picture embedding): the book's own network's run
    always does; another network's run only where the file is missing (it resumes the
    fit from its checkpoint), so the book's artefacts stay as the book's run wrote them."""
    return network is None or network.key == DEFAULT_NETWORK or not Path(path).exists()


def network_regression_model(profile: str, network: NetworkValue | None = None) -> Path:
    """Ridge models from the network's features to its embedding dimensions (chapter 3)."""
    return artefact_path("network_regression_model", profile, network)


def sentence_embeddings(profile: str) -> Path:
    """Sentence embeddings of the concepts (chapter 3; later chapters reuse them)."""
    return artefact_path("sentence_embeddings", profile)


def picture_predictor(profile: str, network: NetworkValue | None = None) -> Path:
    """The saved dimension predictor of a picture network for new pictures (chapter 4;
    `predictor.DimensionPredictor.load`; None: the book's own)."""
    return artefact_path("picture_predictor", profile, network)


def clip_embedding(profile: str) -> Path:
    """VICE embedding of CLIP ViT-B/32's triplets (chapter 5)."""
    return artefact_path("clip_embedding", profile)


def rating_session(profile: str, network: NetworkValue | None = None) -> Path:
    """Folder of chapter 5's blind rating session."""
    return artefact_path("rating_session", profile, network)


def automatic_labels(profile: str, network: NetworkValue | None = None) -> Path:
    """The automatic rater's dimension labels (chapter 5; None: the book's own)."""
    return artefact_path("automatic_labels", profile, network)


def network_comparison(profile: str, network: NetworkValue | None = None) -> Path:
    """Folder of chapter 7's fit and numbers of the network (None: the book's own)."""
    return artefact_path("network_comparison", profile, network)


def downloads_dir(profile: str, network: NetworkValue | None = None, chapter: str = "") -> Path:
    """Folder of the files the chapters publish for readers (`dnnalign_utils.downloads`),
    one subfolder per chapter; the book runner copies the book's own (None) beside the
    executed chapters. A run on another network publishes under its own folder; chapter
    4's downloads belong to the picture network it explains, the book's own for
    DEFAULT_PICTURE_NETWORK."""
    home = DEFAULT_PICTURE_NETWORK if chapter == GRADCAM_CHAPTER else DEFAULT_NETWORK
    return network_dir(profile, network, home) / "downloads"


def dimension_r2(profile: str, network: NetworkValue | None = None) -> Path:
    """Chapter 3's R² of every dimension from each predictor (a download)."""
    return artefact_path("dimension_r2", profile, network)


def picture_dimension_r2(profile: str, network: NetworkValue | None = None) -> Path:
    """Chapter 4's R² of every picture dimension of a picture network (a download)."""
    return artefact_path("picture_dimension_r2", profile, network)


def matched_pairs(profile: str, network: NetworkValue | None = None) -> Path:
    """Chapter 6's matched human and network dimension pairs (a download)."""
    return artefact_path("matched_pairs", profile, network)


def key_numbers_dir(profile: str, network: NetworkValue) -> Path:
    """Folder of the network's key numbers, one JSON file per chapter
    (`dnnalign_utils.keynumbers`)."""
    return network_dir(profile, network) / "key_numbers"


def artefacts_root() -> Path:
    """Parent of the per-profile artefact folders: `artefacts/` in the repository, or in
    the working folder for a plain install (`DNNALIGN_ARTEFACTS_DIR` overrides)."""
    home = Path.cwd() if is_installed_copy() else REPO_ROOT
    return _env_path(ARTEFACTS_ENV, home / "artefacts")


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


def _artefact_of(path: str | os.PathLike) -> tuple[str, str, str | None] | None:
    """(profile, chapter stem, network key or None for the book's own) of the artefact
    `path` is (or lies in), if it is a known artefact under `artefacts_root()`."""
    try:
        relative = Path(path).resolve().relative_to(artefacts_root())
    except ValueError:
        return None
    if len(relative.parts) < 2:
        return None
    profile, inner = relative.parts[0], Path(*relative.parts[1:])
    network = None  # the artefact's own home network
    if len(inner.parts) > 2 and inner.parts[0] == NETWORKS_SUBDIR:
        network, inner = inner.parts[1], Path(*inner.parts[2:])
    for artefact in ARTEFACTS.values():
        known = Path(artefact.relative.format(network=network or artefact.home_network))
        if inner == known or known in inner.parents:
            return profile, artefact.chapter, network
    return None


def artefact_producer(path: str | os.PathLike) -> tuple[str, str] | None:
    """(profile, chapter stem) of the chapter that writes `path`, if `path` is a known
    artefact under `artefacts_root()` (of any network); else None."""
    found = _artefact_of(path)
    return None if found is None else found[:2]


def artefact_hint(path: str | os.PathLike) -> str:
    """For a missing artefact: a sentence naming the chapter that writes it and the
    command that writes it (empty for any other path). A network chapter's artefact of a
    network other than the book's own is written by that chapter run for that network:
    the report command, which runs the network chapters for one network (`build` runs
    them for the book's own)."""
    found = _artefact_of(path)
    if found is None:
        return ""
    profile, chapter, network = found
    if network is not None and chapter in (*NETWORK_CHAPTERS, GRADCAM_CHAPTER):
        return (
            f"; this artefact of the network with artefact key {network!r} is written by "
            f"chapter notebooks/{chapter} run for that network: run it first with `python -m "
            f"dnnalign_utils.book report --network NETWORK --profile {profile} --output-dir "
            "DIR`, NETWORK being that network's name or input"
        )
    return (
        f"; this artefact is written by chapter notebooks/{chapter}: run it first with "
        f"`python -m dnnalign_utils.book build --profile {profile} --only {chapter}`"
    )


def check_writable_folder(folder: str | os.PathLike, origin: str) -> Path:
    """Check, before any work, that `folder` can be written: it (or, if it does not exist
    yet, its nearest existing parent) must be a writable folder. ValueError naming
    `origin` (the option or environment variable that chose the folder). Returns the
    folder, absolute."""
    folder = Path(folder).expanduser().resolve()
    existing = folder
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
    return folder


def _check_folder_variable(env: str, folder: Path, what: str) -> Path:
    origin = (
        f"{env}={os.environ[env]}"
        if os.environ.get(env)
        else f"the default {what} {folder} (set {env} to change it)"
    )
    return check_writable_folder(folder, origin)


def check_artefacts_root() -> Path:
    """`check_writable_folder` for the artefact folder, naming `DNNALIGN_ARTEFACTS_DIR`
    when it is set."""
    return _check_folder_variable(ARTEFACTS_ENV, artefacts_root(), "artefact folder")


def check_cache_dir() -> Path:
    """`check_writable_folder` for the download cache (`cache_dir`), naming
    `DNNALIGN_CACHE_DIR` when it is set."""
    return _check_folder_variable(CACHE_ENV, cache_dir(), "download cache")
