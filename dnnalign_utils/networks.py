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
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from dnnalign_utils import data
from dnnalign_utils.conventions import N_OBJECTS, DataValidationError, as_float_matrix

IMAGE_MAPPING_COLUMNS = ("file", "uniqueID")
THINGSVISION_FILES = ("features.npy", "file_names.txt")


@dataclass(frozen=True)
class ConceptFeatures:
    """Concept-level features of one network: ``values`` (n_concepts x n_features) for
    the THINGS concepts ``things_index`` (0-based, increasing), with a readable label and
    the source it was read from."""

    values: np.ndarray
    things_index: np.ndarray
    label: str
    source: str

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


@dataclass(frozen=True)
class Network:
    """A registered network: its label and how its concept-level features load."""

    name: str
    label: str
    description: str
    load: Callable[[], np.ndarray]  # (1854 x n_features), THINGS order, validated


NETWORKS: dict[str, Network] = {
    "vgg16_standin": Network(
        "vgg16_standin",
        "VGG-16 stand-in (rank-200 factorisation)",
        "a rank-200 non-negative factorisation of VGG-16's concept similarity matrix, "
        "embedded in the repository (its dot products approximate VGG-16's)",
        data.load_vgg16_features,
    ),
    "clip_vit_b32": Network(
        "clip_vit_b32",
        "CLIP ViT-B/32",
        "CLIP ViT-B/32 image embeddings averaged over each concept's THINGS photos, "
        "embedded in the repository",
        data.load_clip_features,
    ),
}


def concept_features(network: str | os.PathLike, module: str | None = None) -> ConceptFeatures:
    """Concept-level features of ``network``: a registered name, a ``.npy`` file or a
    thingsvision-style folder (``module``: its layer sub-folder, if it has several)."""
    if isinstance(network, str) and network in NETWORKS:
        entry = NETWORKS[network]
        return ConceptFeatures(entry.load(), np.arange(N_OBJECTS), entry.label, entry.name)
    path = Path(network)
    if path.suffix == ".npy":
        return read_concept_features(path)
    if path.is_dir():
        return read_thingsvision_folder(path, module)
    raise ValueError(
        f"network={str(network)!r}: expected a registered network ({', '.join(NETWORKS)}), "
        "a .npy file of concept features (1,854 rows in THINGS order) or a folder with "
        f"{' and '.join(THINGSVISION_FILES)}"
        + ("" if path.exists() or path.suffix else f"; {path} does not exist")
    )


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
        layers = sorted(p.name for p in root.iterdir() if (p / THINGSVISION_FILES[0]).is_file())
        hint = f"; layers found: {layers} (pass module=...)" if layers else ""
        raise FileNotFoundError(f"{root}: missing {', '.join(missing)}{hint}")
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
    with open(mapping_csv, newline="", encoding="utf-8") as handle:
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
