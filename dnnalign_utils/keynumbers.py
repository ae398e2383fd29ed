"""A network's key numbers: the one-row answer of the pipeline for one network.

Each chapter that studies a network (its ``network`` parameter) records the numbers it
computes about it with :func:`record`; the batch report (``python -m dnnalign_utils.book
report``) and the chapter comparing networks read them back with :func:`collect` /
:func:`table`. The numbers, their chapters and meanings are listed once, in
:data:`KEY_NUMBERS`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from dnnalign_utils import paths
from dnnalign_utils.provenance import atomic_write_text, provenance_record


@dataclass(frozen=True)
class KeyNumber:
    name: str
    chapter: str
    description: str


KEY_NUMBERS: tuple[KeyNumber, ...] = (
    KeyNumber("n_concepts", "01_triplet_task", "THINGS concepts the network's features cover"),
    KeyNumber(
        "choice_agreement",
        "01_triplet_task",
        "% of human odd-one-out choices the network's features make (held-out human triplets "
        "among its concepts)",
    ),
    KeyNumber(
        "noise_ceiling",
        "01_triplet_task",
        "% agreement of people with the majority choice on the same triplets (the ceiling)",
    ),
    KeyNumber("n_dimensions", "02_embedding_fit", "dimensions kept by the VICE fit"),
    KeyNumber(
        "rsm_variance_explained",
        "02_embedding_fit",
        "% of the variance of the network's RSM explained by the embedding's RSM",
    ),
    KeyNumber("r2_median", "03_r2_regression", "median out-of-fold ridge R² of the dimensions, %"),
    KeyNumber("r2_min", "03_r2_regression", "smallest out-of-fold ridge R² of a dimension, %"),
    KeyNumber("visual_share", "05_visual_semantic_rating", "% of dimensions labelled visual"),
    KeyNumber("mixed_share", "05_visual_semantic_rating", "% of dimensions labelled mixed"),
    KeyNumber("semantic_share", "05_visual_semantic_rating", "% of dimensions labelled semantic"),
    KeyNumber(
        "best_match_r",
        "06_human_vs_dnn",
        "Pearson r of the best-matched human and network dimension pair (held-out objects)",
    ),
    KeyNumber(
        "global_rsa_r",
        "06_human_vs_dnn",
        "Pearson r between the human and the network embedding's RSMs",
    ),
)
BY_NAME = {k.name: k for k in KEY_NUMBERS}
CHAPTERS = tuple(dict.fromkeys(k.chapter for k in KEY_NUMBERS))


def _file(profile: str, network: str, chapter: str):
    return paths.key_numbers_dir(profile, network) / f"{chapter}.json"


def record_path(profile: str, network: str, chapter: str):
    """The file holding `chapter`'s key numbers about `network` (its key), once recorded."""
    return _file(profile, network, chapter)


def record(profile: str, network: str, chapter: str, label: str, **values: float) -> dict:
    """Write `chapter`'s key numbers about `network` (its key; `label` its readable name)
    atomically, replacing that chapter's earlier record. Every name must be one of
    :data:`KEY_NUMBERS` belonging to `chapter`, every value a real number (NaN is allowed
    and means 'not computable on these inputs')."""
    expected = sorted(k.name for k in KEY_NUMBERS if k.chapter == chapter)
    if not expected:
        raise ValueError(
            f"chapter {chapter!r}: records no key numbers; expected one of {CHAPTERS}"
        )
    wrong = sorted(set(values) - set(expected))
    if wrong:
        raise ValueError(f"{chapter}: {wrong} are not its key numbers; expected {expected}")
    clean = {}
    for name, value in values.items():
        try:
            clean[name] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{chapter}: {name}={value!r}: expected a number") from None
    entry = {
        "network": network,
        "label": label,
        "chapter": chapter,
        "values": {k: (None if math.isnan(v) else v) for k, v in clean.items()},
        "provenance": provenance_record(f"notebooks/{chapter}", parameters={"profile": profile}),
    }
    atomic_write_text(_file(profile, network, chapter), json.dumps(entry, indent=2) + "\n")
    return entry


def collect(profile: str, network: str) -> dict:
    """The recorded key numbers of `network` (its key): ``label`` and one value per
    :data:`KEY_NUMBERS` name (NaN where its chapter has not recorded it)."""
    row: dict = {"network": network, "label": network}
    row.update({k.name: math.nan for k in KEY_NUMBERS})
    for chapter in CHAPTERS:
        path = _file(profile, network, chapter)
        if not path.is_file():
            continue
        entry = json.loads(path.read_text(encoding="utf-8"))
        row["label"] = entry.get("label", network)
        for name, value in entry["values"].items():
            row[name] = math.nan if value is None else float(value)
    return row


def missing_chapters(profile: str, network: str) -> list[str]:
    """The chapters of :data:`CHAPTERS` that have recorded no key numbers about
    `network` (its key) for `profile`."""
    return [chapter for chapter in CHAPTERS if not _file(profile, network, chapter).is_file()]


def table(profile: str, networks: Sequence[str]) -> pd.DataFrame:
    """One row of key numbers per network key, columns in :data:`KEY_NUMBERS` order."""
    return pd.DataFrame([collect(profile, key) for key in networks]).set_index("network")
