"""THINGS data layer: hashed file registry, ID-keyed loaders, triplet readers (the
embedded files and the THINGS-data release of the `paper` profile).

Everything the book reads from `data/things/` goes through this module. Each file is
checked against the full SHA-256 recorded in `DATA_FILES` before it is parsed (hashed at
most once per process), every table is returned indexed by THINGS `uniqueID` in the
canonical order of `metadata/unique_id.txt`, and tables that carry their own IDs are
joined on them, never on assumed row order. Triplets always come back in the project
convention: `int64` array of shape `(n, 3)`, 0-based object indices, last column = odd
one out. Malformed input raises `DataValidationError` naming the file, the row (1-based
line number for text files, 1-based row for arrays) and what was expected.

The large files of the `paper` profile (THINGS images, full triplet set) are not
embedded; `dnnalign_utils.fetch` downloads them from OSF into `paths.cache_dir()` and
verifies them by SHA-256.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from dnnalign_utils import paths
from dnnalign_utils.conventions import (
    N_OBJECTS,
    DataIntegrityError,
    DataValidationError,
    as_float_matrix,
    validate_triplets,
)
from dnnalign_utils.provenance import cached_sha256

# --------------------------------------------------------------------------------------
# Registry of embedded files (paths relative to `data_dir()/things`) and their SHA-256.
# --------------------------------------------------------------------------------------

DATA_FILES: dict[str, str] = {
    "metadata/unique_id.txt": "e2e59d02197e89776034938e7a73940a0823cacac4b6084b56b1d8959816ff76",
    "metadata/things_concepts.tsv": (
        "f6eb4ec6fcad61e50a746bee820f98d1595fe655e9e210a9a407e9a17fd8cee4"
    ),
    "metadata/item_names.tsv": "03dbe77972f9466ff8baa0da604d9f5104f677bf77cc602faebfa03a290fb51c",
    "metadata/category27_manual.tsv": (
        "9f4f9a4626f23064dad9a7547ffa1e3a0a6b1fe23281d74cb394ee0367f53af4"
    ),
    "metadata/thingsplus_categories53.tsv": (
        "968d45a1a2fb8def83b33661031a1c473a61a8fe208c8c0af3474784c6bbcd95"
    ),
    "metadata/thingsplus_property_ratings.csv": (
        "e5163a8d68a2704cf0d14e8b5c002963e180aba79e76d13653bcba854e8cf644"
    ),
    "metadata/thingsplus_size_ratings.csv": (
        "6a14e7f359e2698231b49210aeb5e4a6878f1337aa19529b04220bac172ea042"
    ),
    "human/triplets_sample50k.txt": (
        "982ca5e855a9f1adb78251e2774e9ccf4e97a2415fdcc9a44ff94d7e717b9470"
    ),
    "human/triplets_sample127k_with_subject.txt": (
        "37224154a8715612949dc559d47be07f77659f48bae1fb3f4d73afa3cd53991d"
    ),
    "human/triplets_noise_ceiling_set.tsv": (
        "f2593378408f54fb047b2f9be040e2773be8f24118bc171d46c2c6a6da79afd4"
    ),
    "human/triplets_2171_distinct.txt": (
        "76ac5762c21b763f0bd44d230461c925121eab6164840d35f4931b9837e161fe"
    ),
    "human/spose_embedding_49d.npy": (
        "ca65da7c936b984e0cc5fdd606860a43173ccc111492cf98d4068dc191aaad85"
    ),
    "human/vice_embedding_42d.npy": (
        "6c596ec9fe6e135e3fd32207d4d1d5eb004e3cef3810d5cb40474b1996d5392f"
    ),
    "dnn/clip_vit_b32_concept_features.npy": (
        "afef6e30b7ac246286e0b49e475fff4e3fdd8ab786ee34a3b8b6f57ca38d5942"
    ),
    "dnn/vgg16_kernel_nmf_rank200.npy": (
        "7e64766ecbd8a0f1ce5aa358e6a5f65cdf449b0bc06bc72357f1d54e8c4afa46"
    ),
    "semantic/word2vec_concept_vectors.npy": (
        "ae3a9cc024c61bed3bd59e38f76f2fa100e9d926906b5cf7449fa6a45c36459b"
    ),
}


# (resolved path, inode, mtime_ns, ctime_ns, size) -> sha256: each file is hashed at most
# once per process unless it changes on disk. The inode and ctime catch what mtime and size
# miss: a same-size edit that restores the mtime (`cp -p`, tar) changes the ctime, and a
# file replaced by another (a restored copy) gets a new inode or ctime.
def things_dir() -> Path:
    """Folder holding the embedded THINGS files (`data_dir()/things`)."""
    return paths.data_dir() / "things"


def verify_sha256(path: str | os.PathLike, expected: str) -> Path:
    """Raise `DataIntegrityError` unless the file's SHA-256 equals `expected`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found (expected SHA-256 {expected})")
    actual = cached_sha256(path)
    if actual != expected.lower():
        raise DataIntegrityError(
            f"{path}: SHA-256 mismatch: expected {expected.lower()}, actual {actual}; "
            "the file's bytes changed since it was registered"
        )
    return path


def data_file(relpath: str) -> Path:
    """Path of a registered THINGS file, after checking it exists and its SHA-256."""
    if relpath not in DATA_FILES:
        raise KeyError(f"{relpath!r} is not a registered THINGS file; known: {sorted(DATA_FILES)}")
    path = things_dir() / relpath
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: registered THINGS file {relpath!r} is missing "
            f"(data dir {paths.data_dir()}; see data/README.md to restore it)"
        )
    return verify_sha256(path, DATA_FILES[relpath])


def verify_all() -> dict[str, str]:
    """Check every registered file; return {relative path: sha256}."""
    return {rel: cached_sha256(data_file(rel)) for rel in DATA_FILES}


# --------------------------------------------------------------------------------------
# Concept IDs and metadata tables
# --------------------------------------------------------------------------------------


def load_unique_ids() -> list[str]:
    """The 1,854 THINGS `uniqueID`s in canonical order (`metadata/unique_id.txt`)."""
    path = data_file("metadata/unique_id.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line or line != line.strip():
            raise DataValidationError(
                f"{path}: line {number}: expected a uniqueID without blanks, found {line!r}"
            )
    _check_n_rows(path, len(lines), N_OBJECTS, unit="line")
    series = pd.Series(lines)
    dup = series.duplicated()
    if dup.any():
        first = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataValidationError(
            f"{path}: line {first + 1}: uniqueID {lines[first]!r} occurs twice; "
            "expected unique IDs"
        )
    return lines


def things_index_by_id() -> dict[str, int]:
    """THINGS `uniqueID` -> its 0-based row in the canonical order."""
    return {uid: i for i, uid in enumerate(load_unique_ids())}


def _check_n_rows(path: Path, n: int, expected: int, unit: str = "row") -> None:
    if n != expected:
        where = f"{unit} {expected + 1}" if n > expected else f"{unit} {n + 1}"
        what = "is extra" if n > expected else "is missing"
        raise DataValidationError(
            f"{path}: {where} {what}: expected {expected} {unit}s (one per object), found {n}"
        )


def _index_by_id(table: pd.DataFrame, id_column: str, path: Path, line_offset: int = 2):
    """Re-index `table` by its own ID column in canonical order, after checking that its
    IDs are unique and exactly the canonical set (line_offset: line of table row 0)."""
    canonical = load_unique_ids()
    ids = table[id_column]
    dup = ids.duplicated().to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise DataValidationError(
            f"{path}: line {row + line_offset}: {id_column} {ids.iloc[row]!r} occurs twice"
        )
    unknown = ~ids.isin(canonical).to_numpy()
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise DataValidationError(
            f"{path}: line {row + line_offset}: {id_column} {ids.iloc[row]!r} is not a THINGS "
            "uniqueID (metadata/unique_id.txt)"
        )
    missing = sorted(set(canonical) - set(ids))
    if missing:
        raise DataValidationError(
            f"{path}: no row for uniqueID(s) {missing[:5]}; expected every THINGS concept"
        )
    out = table.set_index(id_column).reindex(canonical)
    out.index.name = "uniqueID"
    return out


def load_concepts() -> pd.DataFrame:
    """THINGS concept metadata (`things_concepts.tsv`, 24 columns: word, frequencies,
    concreteness, categories, WordNet IDs, definition), indexed by `uniqueID`."""
    path = data_file("metadata/things_concepts.tsv")
    table = pd.read_csv(path, sep="\t", dtype={"uniqueID": str, "Word": str})
    return _index_by_id(table, "uniqueID", path)


_ARTICLES = {"a", "an", "the"}
_FUNCTION_WORDS = _ARTICLES | {
    "and",
    "by",
    "for",
    "from",
    "in",
    "into",
    "of",
    "on",
    "or",
    "to",
    "with",
}


def concept_names(concepts: pd.DataFrame | None = None, n_words: int = 4) -> np.ndarray:
    """A name per THINGS concept (in THINGS order) that tells homonyms apart: the word,
    and for a word several concepts share (bat, baton, bow, ...) the first `n_words`
    words of the concept's definition in brackets (less trailing "of", "for", ...), e.g.
    "baton (thin tapered rod used)" and "baton (short stout club used)". `concepts`:
    `load_concepts()` (the default)."""
    if concepts is None:
        concepts = load_concepts()
    words = concepts["Word"].astype(str)
    definitions = concepts["Definition (from WordNet, Google, or Wikipedia)"].fillna("")
    shared = words.duplicated(keep=False)
    names = words.to_numpy(dtype=object).copy()
    for i in np.flatnonzero(shared.to_numpy()):
        text = str(definitions.iloc[i]).split(";")[0].replace("(", " ").replace(")", " ")
        gloss = text.split()
        while gloss and gloss[0].lower() in _ARTICLES:
            gloss = gloss[1:]
        gloss = [w.rstrip(",.:") for w in gloss[:n_words]]
        while len(gloss) > 1 and gloss[-1].lower() in _FUNCTION_WORDS:
            gloss = gloss[:-1]
        gloss = " ".join(gloss)
        names[i] = f"{names[i]} ({gloss or concepts.index[i]})"
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # two senses with the same first words: their IDs
        if name in seen:
            names[i] = f"{name} [{concepts.index[i]}]"
            first = seen[name]
            if not names[first].endswith("]"):
                names[first] = f"{names[first]} [{concepts.index[first]}]"
        else:
            seen[name] = i
    return names.astype(str)


def load_item_names() -> pd.DataFrame:
    """Word, WordNet synset and IDs per concept (`item_names.tsv`), indexed by uniqueID."""
    path = data_file("metadata/item_names.tsv")
    table = pd.read_csv(path, sep="\t", dtype=str)
    return _index_by_id(table, "uniqueID", path)


def _binary_frame(values: pd.DataFrame, path: Path, line_offset: int) -> pd.DataFrame:
    bad = ~values.isin([0, 1]).to_numpy()
    if bad.any():
        row, col = (int(x[0]) for x in np.nonzero(bad))
        raise DataValidationError(
            f"{path}: line {row + line_offset}: column {values.columns[col]!r} is "
            f"{values.iat[row, col]!r}; expected 0 or 1"
        )
    return values.astype(bool)


def load_categories27() -> pd.DataFrame:
    """The 27 high-level THINGS categories: bool DataFrame (uniqueID x 27).

    `category27_manual.tsv` has no ID column; its 1,854 rows are in canonical order
    (SOURCES.md). The row count is checked here; the order is corroborated in the tests
    by the THINGSplus 53-category table, whose first 27 columns (joined by definition)
    agree in all but one of 50,058 cells. 559 concepts belong to none of the 27.
    """
    path = data_file("metadata/category27_manual.tsv")
    table = pd.read_csv(path, sep="\t")
    if table.shape[1] != 27:
        raise DataValidationError(
            f"{path}: line 1: expected 27 category columns, found {table.shape[1]}"
        )
    _check_n_rows(path, len(table), N_OBJECTS)
    out = _binary_frame(table, path, line_offset=2)
    out.index = pd.Index(load_unique_ids(), name="uniqueID")
    return out


def category_labels(categories: pd.DataFrame | None = None) -> pd.Series:
    """One category per concept: the most specific of its THINGS categories, or NaN.

    A concept may belong to several of the 27 categories (``banana``: food and fruit);
    for breakdowns that need one label per concept the smallest category it belongs to
    is taken (fruit is smaller than food), ties broken by column order. Concepts in no
    category get NaN. ``categories`` defaults to :func:`load_categories27`.
    """
    table = load_categories27() if categories is None else categories
    sizes = table.sum(axis=0).to_numpy()
    member = table.to_numpy(dtype=bool)
    # Rank each member category by size; non-members get +inf so argmin skips them.
    ranked = np.where(member, sizes[None, :], np.inf)
    best = np.argmin(ranked, axis=1)
    labels = np.asarray(table.columns, dtype=object)[best]
    labels[~member.any(axis=1)] = np.nan
    return pd.Series(labels, index=table.index, name="category")


def _word_matches(words: pd.Series, concepts: pd.DataFrame) -> np.ndarray:
    """Whether each word (aligned with `concepts`) names its concept: the THINGS word,
    the uniqueID, or the uniqueID with underscores as spaces."""
    ids = concepts.index.to_series()
    return (
        (words.to_numpy() == concepts["Word"].to_numpy())
        | (words.to_numpy() == ids.to_numpy())
        | (words.to_numpy() == ids.str.replace("_", " ").to_numpy())
    )


def load_categories53() -> pd.DataFrame:
    """THINGSplus 53 high-level categories: bool DataFrame (uniqueID x 53).

    The file has 1,855 rows: the last has no word and holds the column sums (checked
    here, then dropped). Rows carry a `Word` (not unique: homonyms such as bat/bat2 share
    'bat') and the definition; they are joined to uniqueIDs on the definition, which is
    unique across THINGS and equal to `things_concepts.tsv`'s, and each row's word is
    checked against the matched concept.
    """
    path = data_file("metadata/thingsplus_categories53.tsv")
    table = pd.read_csv(path, sep="\t", dtype={"Word": str})
    def_col = "Definition (from WordNet, Google, or Wikipedia)"
    if list(table.columns[:2]) != ["Word", def_col] or table.shape[1] != 55:
        raise DataValidationError(
            f"{path}: line 1: expected columns 'Word', {def_col!r} and 53 categories, "
            f"found {table.shape[1]} columns starting {list(table.columns[:2])}"
        )
    if len(table) != N_OBJECTS + 1:
        raise DataValidationError(
            f"{path}: expected {N_OBJECTS} concept rows plus a column-sum row, "
            f"found {len(table)} data rows"
        )
    body, sums = table.iloc[:N_OBJECTS], table.iloc[N_OBJECTS]
    cats = body.iloc[:, 2:]
    last_line = N_OBJECTS + 2
    if sums.iloc[:2].notna().any():
        raise DataValidationError(
            f"{path}: line {last_line}: expected the unnamed column-sum row, "
            f"found word {sums.iloc[0]!r}"
        )
    # Cells are 1 (member) or empty.
    bad = ~(cats.isna() | (cats == 1)).to_numpy()
    if bad.any():
        row, col = (int(x[0]) for x in np.nonzero(bad))
        raise DataValidationError(
            f"{path}: line {row + 2}: column {cats.columns[col]!r} is {cats.iat[row, col]!r}; "
            "expected 1 or empty"
        )
    members = cats.notna()
    col_sums = members.sum(axis=0).to_numpy()
    stated = sums.iloc[2:].to_numpy(dtype=float)
    if not np.array_equal(col_sums, stated):
        col = int(np.flatnonzero(col_sums != stated)[0])
        raise DataValidationError(
            f"{path}: line {last_line}: column {cats.columns[col]!r} states {stated[col]:g} "
            f"but {col_sums[col]} concepts are marked; expected the last row to be column sums"
        )
    concepts = load_concepts()
    by_definition = pd.Series(concepts.index, index=concepts[def_col])
    if by_definition.index.duplicated().any():
        raise DataValidationError(
            "things_concepts.tsv: definitions are not unique; cannot join categories53 on them"
        )
    matched = body[def_col].map(by_definition)
    if matched.isna().any():
        row = int(np.flatnonzero(matched.isna().to_numpy())[0])
        raise DataValidationError(
            f"{path}: line {row + 2}: definition of word {body['Word'].iat[row]!r} matches no "
            "THINGS concept (things_concepts.tsv)"
        )
    ok = _word_matches(body["Word"], concepts.loc[matched.to_numpy()])
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise DataValidationError(
            f"{path}: line {row + 2}: word {body['Word'].iat[row]!r} does not name the concept "
            f"{matched.iat[row]!r} its definition matches"
        )
    members.index = pd.Index(matched.to_numpy(), name="uniqueID")
    return _index_by_id(members.reset_index(), "uniqueID", path)


def load_property_ratings() -> pd.DataFrame:
    """THINGSplus property ratings (mean and sd of man-made, precious, lives, heavy,
    natural, moves, grasp, hold, be.moved, pleasant, arousing; `n` raters), indexed by
    uniqueID. The file is not in canonical order: it is joined on its uniqueID column."""
    path = data_file("metadata/thingsplus_property_ratings.csv")
    table = pd.read_csv(path, dtype={"uniqueID": str})
    out = _index_by_id(table, "uniqueID", path)
    _check_finite_frame(out, path)
    return out


def _check_finite_frame(frame: pd.DataFrame, path: Path) -> None:
    values = frame.select_dtypes("number")
    bad = ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        row, col = (int(x[0]) for x in np.nonzero(bad))
        raise DataValidationError(
            f"{path}: concept {values.index[row]!r}: column {values.columns[col]!r} is "
            f"{values.iat[row, col]!r}; expected a finite number"
        )


SIZE_RATING_ID_CONFLICTS = frozenset(
    {
        "baseball",
        "baseball_bat",
        "baseball_glove",
        "basketball",
        "basketball_hoop",
        "button1",
        "button2",
        "crystal2",
        "crystal_ball",
        "mold1",
        "mold2",
        "tank1",
        "tank2",
        "walker1",
        "walker2",
    }
)
"""Concepts whose row in `thingsplus_size_ratings.csv` has a `uniqueID` that disagrees
with the row's `image_Nr` (1-based canonical index); see data/README.md."""


def load_size_ratings(on_conflict: Literal["flag", "nan", "raise"] = "flag") -> pd.DataFrame:
    """THINGSplus real-world size ratings (`;`-separated), indexed by uniqueID.

    Joined on the file's `uniqueID` column (multi-word IDs spelled with spaces there,
    normalised to underscores). The file also has `image_Nr`, the 1-based canonical
    index; for the 15 concepts in `SIZE_RATING_ID_CONFLICTS` the two disagree (upstream
    mix-ups among homonyms/compounds), so their attribution is uncertain. A bool column
    `id_conflict` marks them. `on_conflict`: "flag" keeps the uniqueID attribution,
    "nan" also blanks their rating columns, "raise" refuses to load.
    """
    if on_conflict not in ("flag", "nan", "raise"):
        raise ValueError(f"on_conflict={on_conflict!r}; expected 'flag', 'nan' or 'raise'")
    path = data_file("metadata/thingsplus_size_ratings.csv")
    table = pd.read_csv(path, sep=";", dtype={"uniqueID": str, "word": str, "object": str})
    table["uniqueID"] = table["uniqueID"].str.replace(" ", "_")
    canonical = np.asarray(load_unique_ids())
    image_nr = table["image_Nr"].to_numpy()
    if not np.array_equal(np.sort(image_nr), np.arange(1, N_OBJECTS + 1)):
        raise DataValidationError(
            f"{path}: column 'image_Nr' is not a permutation of 1..{N_OBJECTS}"
        )
    conflict = table["uniqueID"].to_numpy() != canonical[image_nr - 1]
    if on_conflict == "raise" and conflict.any():
        lines = (np.flatnonzero(conflict) + 2).tolist()
        raise DataValidationError(
            f"{path}: lines {lines}: uniqueID disagrees with image_Nr (canonical index)"
        )
    out = _index_by_id(table, "uniqueID", path)
    out["id_conflict"] = pd.Series(conflict, index=table["uniqueID"]).reindex(out.index)
    if on_conflict == "nan":
        rating_cols = out.columns[out.columns.get_loc("Level1") :].drop("id_conflict")
        out.loc[out["id_conflict"], rating_cols] = np.nan
    # Blanked ratings (on_conflict="nan") are deliberate; every other value must be finite.
    _check_finite_frame(out.loc[~out["id_conflict"]] if on_conflict == "nan" else out, path)
    return out


# --------------------------------------------------------------------------------------
# Object x feature matrices
# --------------------------------------------------------------------------------------


def load_weight_matrix(
    path: str | os.PathLike,
    n_objects: int | None = N_OBJECTS,
    n_dims: int | None = None,
    nonnegative: bool = False,
) -> np.ndarray:
    """An object x dimension matrix from `.npy`, validated, as float64.

    Checks: 2-D, `n_objects` rows (None: any), `n_dims` columns (None: any), all finite,
    and (if `nonnegative`) no negative entry. Errors name the file and first bad row.
    """
    array = load_npy(path)
    return validate_weight_matrix(array, n_objects, n_dims, nonnegative, source=str(path))


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """One array from a `.npy` file (no pickles). A missing file raises FileNotFoundError
    (naming the chapter that writes it, for an artefact); an empty, truncated or foreign
    file raises `DataValidationError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found{paths.artefact_hint(path)}")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as err:
        size = path.stat().st_size
        what = "an empty file (0 bytes)" if size == 0 else f"{type(err).__name__}: {err}"
        raise DataValidationError(
            f"{path}: not a readable .npy array ({what}); expected a file written by numpy.save"
        ) from err
    if not isinstance(array, np.ndarray):  # an .npz archive
        array.close()
        raise DataValidationError(f"{path}: a .npz archive; expected a single-array .npy file")
    return array


def validate_weight_matrix(
    array: np.ndarray,
    n_objects: int | None = N_OBJECTS,
    n_dims: int | None = None,
    nonnegative: bool = False,
    source: str = "array",
) -> np.ndarray:
    """Validate an in-memory object x dimension matrix (see `load_weight_matrix`): the
    float-matrix check of `conventions.as_float_matrix`, then the row and column counts."""
    out = as_float_matrix(array, source, what="(objects × dimensions)", first_row=1)
    if n_objects is not None and out.shape[0] != n_objects:
        _check_n_rows(Path(source), out.shape[0], n_objects)
    if n_dims is not None and out.shape[1] != n_dims:
        raise DataValidationError(
            f"{source}: row 1: expected {n_dims} columns (dimensions), found {out.shape[1]}"
        )
    if nonnegative:
        neg_rows = (out < 0).any(axis=1)
        if neg_rows.any():
            row = int(np.flatnonzero(neg_rows)[0])
            raise DataValidationError(
                f"{source}: row {row + 1} (0-based object {row}): expected non-negative "
                f"values, found {out[row].min()}"
            )
    return out


HUMAN_EMBEDDINGS = {
    # name: (file, dimensions, non-negative)
    "spose49": ("human/spose_embedding_49d.npy", 49, False),
    "vice42": ("human/vice_embedding_42d.npy", 42, True),
}


def load_human_embedding(name: Literal["spose49", "vice42"]) -> np.ndarray:
    """Published human embeddings, (1854, d) float64 in canonical order.

    "spose49": SPoSE 49-d (Hebart et al. 2020; min -0.0013, so non-negativity is not
    enforced); "vice42": VICE 42-d (Muttenthaler et al. 2022), checked non-negative.
    """
    if name not in HUMAN_EMBEDDINGS:
        raise ValueError(f"name={name!r}; expected one of {sorted(HUMAN_EMBEDDINGS)}")
    rel, dims, nonneg = HUMAN_EMBEDDINGS[name]
    return load_weight_matrix(data_file(rel), N_OBJECTS, dims, nonneg)


def load_vgg16_features() -> np.ndarray:
    """W (1854 x 200, non-negative) of a rank-200 symmetric NMF of VGG-16's linear kernel:
    W @ W.T approximates VGG-16 dot-product similarities (a stand-in for raw features)."""
    return load_weight_matrix(data_file("dnn/vgg16_kernel_nmf_rank200.npy"), N_OBJECTS, 200, True)


def load_clip_features() -> np.ndarray:
    """CLIP ViT-B/32 image embeddings averaged per concept, (1854, 512) float64."""
    return load_weight_matrix(data_file("dnn/clip_vit_b32_concept_features.npy"), N_OBJECTS, 512)


def load_word2vec() -> np.ndarray:
    """word2vec vectors of the concept names, (1854, 300) float64."""
    return load_weight_matrix(data_file("semantic/word2vec_concept_vectors.npy"), N_OBJECTS, 300)


# --------------------------------------------------------------------------------------
# Triplets
# --------------------------------------------------------------------------------------


class SubjectTriplets(NamedTuple):
    """Triplets (n, 3) int64 in the project convention and their subject IDs (n,) int64."""

    triplets: np.ndarray
    subjects: np.ndarray


TripletFormat = Literal["txt", "txt_subject", "noise_ceiling", "npy"]
TRIPLET_FORMATS: dict[str, str] = {
    "txt": "whitespace-separated i j odd, 0-based (3 columns)",
    "txt_subject": "whitespace-separated i j odd subject, 0-based (4 columns)",
    "noise_ceiling": "tab-separated i j k position(1-3 of odd) subject, 1-based (5 columns)",
    "npy": ".npy int array (n, 3), 0-based, last column odd one out (objdim/VICE train/test)",
}
_N_COLUMNS = {"txt": 3, "txt_subject": 4, "noise_ceiling": 5}
_INT_RE = re.compile(r"[+-]?\d+")


def read_text(path: Path) -> str:
    """A text file's content, decoded as UTF-8 (a leading byte-order mark is dropped); a
    byte that is not UTF-8 raises `DataValidationError` naming the file and the line."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise DataValidationError(
            f"{path}: line {line}: byte {raw[err.start]:#04x} is not UTF-8; "
            "expected a UTF-8 (or ASCII) text file"
        ) from None


_INT64_DIGITS = len(str(np.iinfo(np.int64).max))


def int_tokens_to_array(
    tokens: pd.Series,
    source: str | os.PathLike,
    n_cols: int,
    first_line: int = 1,
    columns: Sequence[str] | None = None,
) -> np.ndarray:
    """Integer tokens (row-major, `n_cols` per line, line `first_line` first) -> int64
    (n, n_cols). A token that is not an integer or lies beyond int64 raises
    `DataValidationError` naming the line and the column (1-based, or its name from
    `columns`)."""
    tokens = tokens.fillna("").astype(str).str.strip()
    is_int = tokens.str.fullmatch(_INT_RE.pattern).to_numpy(dtype=bool).copy()
    # only tokens with as many digits as int64's largest value can overflow: check those
    digits = tokens.str.lstrip("+-").str.lstrip("0").str.len().to_numpy()
    for flat in np.flatnonzero(is_int & (digits >= _INT64_DIGITS)):
        value = int(tokens.iat[flat])
        if not np.iinfo(np.int64).min <= value <= np.iinfo(np.int64).max:
            is_int[flat] = False
    if not is_int.all():
        flat = int(np.flatnonzero(~is_int)[0])
        row, col = divmod(flat, n_cols)
        found = tokens.iat[flat]
        if not found:
            what = "is empty; expected an integer"
        elif _INT_RE.fullmatch(found):
            what = f"is {found}, beyond the 64-bit integer range; expected an object index"
        else:
            what = f"is {found!r}; expected an integer"
        name = f"column {col + 1}" if columns is None else f"column {columns[col]!r}"
        raise DataValidationError(f"{source}: line {row + first_line}: {name} {what}")
    return tokens.to_numpy(dtype=str).astype(np.int64).reshape(-1, n_cols)


def _read_int_table(path: Path, n_cols: int) -> np.ndarray:
    """Whitespace-separated integer table -> int64 (n, n_cols), rows = file lines.

    Fast path: `np.loadtxt`. On any failure, a vectorised pandas pass finds the first
    offending line for the message.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found{paths.artefact_hint(path)}")
    text = read_text(path)
    lines = text.splitlines()
    if not lines or not text.strip():
        raise DataValidationError(
            f"{path}: line 1: empty file; expected {n_cols} integer columns per line"
        )
    try:
        array = np.loadtxt(
            path, dtype=np.int64, ndmin=2, comments=None, encoding="utf-8", delimiter=None
        )
        if array.shape == (len(lines), n_cols):
            return array
    except (ValueError, OverflowError):
        pass
    return _diagnose_int_table(path, lines, n_cols)


def _diagnose_int_table(path: Path, lines: list[str], n_cols: int) -> np.ndarray:
    series = pd.Series(lines, dtype=object)
    counts = series.str.count(r"\S+").to_numpy()
    wrong = np.flatnonzero(counts != n_cols)
    if wrong.size:
        row = int(wrong[0])
        raise DataValidationError(
            f"{path}: line {row + 1}: expected {n_cols} integer columns, "
            f"found {counts[row]}: {lines[row]!r}"
        )
    tokens = pd.Series(" ".join(lines).split(), dtype=object)
    return int_tokens_to_array(tokens, path, n_cols)


def _check_subjects(subjects: np.ndarray, path: Path) -> np.ndarray:
    negative = subjects < 0
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise DataValidationError(
            f"{path}: line {row + 1}: subject ID {subjects[row]}; expected a non-negative integer"
        )
    return subjects


def load_triplets(
    path: str | os.PathLike,
    fmt: TripletFormat,
    n_objects: int | None = N_OBJECTS,
    *,
    return_subjects: bool = False,
) -> np.ndarray | SubjectTriplets:
    """Read triplets in any format of `TRIPLET_FORMATS`; return int64 (n, 3), 0-based,
    last column the odd one out (or `SubjectTriplets` with `return_subjects=True`, only
    for "txt_subject" and "noise_ceiling").

    "txt", "txt_subject" and "npy" files are read as 0-based: a 1-based file that never
    uses index `n_objects` cannot be told apart from a 0-based one and must be converted
    (subtract 1) before loading; an index equal to `n_objects` is refused with that hint.
    """
    path = Path(path)
    if fmt not in TRIPLET_FORMATS:
        raise ValueError(f"fmt={fmt!r}; expected one of {sorted(TRIPLET_FORMATS)}")
    if return_subjects and fmt not in ("txt_subject", "noise_ceiling"):
        raise ValueError(
            f"fmt={fmt!r} carries no subject IDs; return_subjects needs one that does"
        )
    if fmt == "npy":
        array = load_npy(path)
        return validate_triplets(array, n_objects, name=str(path), first_row=1, whole_floats=True)
    raw = _read_int_table(path, _N_COLUMNS[fmt])
    if fmt == "noise_ceiling":
        triplets, subjects = _convert_noise_ceiling(raw, path, n_objects)
    else:
        triplets = raw[:, :3]
        subjects = raw[:, 3] if fmt == "txt_subject" else None
    triplets = validate_triplets(
        triplets, n_objects, name=str(path), row_label="line", first_row=1
    )
    if subjects is None:
        return triplets
    subjects = _check_subjects(np.ascontiguousarray(subjects), path)
    return SubjectTriplets(triplets, subjects) if return_subjects else triplets


def _convert_noise_ceiling(
    raw: np.ndarray, path: Path, n_objects: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """1-based (i, j, k, position of odd, subject) -> 0-based [pair, pair, odd]."""
    ijk, position, subjects = raw[:, :3], raw[:, 3], raw[:, 4]
    upper = np.iinfo(np.int64).max if n_objects is None else n_objects
    out_of_range = ((ijk < 1) | (ijk > upper)).any(axis=1)
    if out_of_range.any():
        row = int(np.flatnonzero(out_of_range)[0])
        raise DataValidationError(
            f"{path}: line {row + 1}: index out of range: expected 1-based indices in "
            f"[1, {n_objects}] (n_objects={n_objects}), found {ijk[row].tolist()}"
        )
    bad_pos = (position < 1) | (position > 3)
    if bad_pos.any():
        row = int(np.flatnonzero(bad_pos)[0])
        raise DataValidationError(
            f"{path}: line {row + 1}: column 4 (position of the odd one out) is "
            f"{position[row]}; expected 1, 2 or 3"
        )
    zero_based = ijk - 1
    odd_col = position - 1
    pair_cols = np.array([[1, 2], [0, 2], [0, 1]])[odd_col]
    rows = np.arange(len(raw))[:, None]
    triplets = np.column_stack([zero_based[rows, pair_cols], zero_based[rows[:, 0], odd_col]])
    return triplets, subjects


def load_triplets_sample50k() -> np.ndarray:
    """50,000 human odd-one-out triplets (random sample of the 4.7M THINGS triplets)."""
    return load_triplets(data_file("human/triplets_sample50k.txt"), "txt")


def load_triplets_sample127k() -> SubjectTriplets:
    """127,304 human triplets with participant IDs (0..263)."""
    path = data_file("human/triplets_sample127k_with_subject.txt")
    return load_triplets(path, "txt_subject", return_subjects=True)


def load_triplets_noise_ceiling() -> SubjectTriplets:
    """The noise-ceiling set: 20,000 responses to 1,000 distinct triplets (14-25 each),
    converted from the 1-based (i, j, k, position, subject) file."""
    path = data_file("human/triplets_noise_ceiling_set.tsv")
    return load_triplets(path, "noise_ceiling", return_subjects=True)


def load_triplets_2171() -> np.ndarray:
    """Human choices on 2,171 distinct triplets (none in the noise-ceiling set)."""
    return load_triplets(data_file("human/triplets_2171_distinct.txt"), "txt")


# --------------------------------------------------------------------------------------
# The THINGS-data triplet release (the `paper` profile's human triplets)
# --------------------------------------------------------------------------------------


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
        return load_triplets(path, "npy")
    if path.suffix == ".txt":
        return load_triplets(path, "txt")
    text = read_text(path)
    if not text.strip():
        raise DataValidationError(
            f"{path}: line 1: empty file; expected a header {','.join(CSV_TRIPLET_COLUMNS)} "
            "or lines of three integers"
        )
    try:
        frame = pd.read_csv(
            io.StringIO(text), header=None, dtype=str, skip_blank_lines=False, comment=None
        )
    except pd.errors.ParserError as err:
        raise DataValidationError(f"{path}: not a readable CSV file ({err})") from err
    first = frame.iloc[0].fillna("").str.strip()
    numbers = first[first != ""].str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
    if numbers.size and numbers.all():  # no header: the first line is a (bad?) triplet
        body, first_line, names = frame, 1, None
        if frame.shape[1] != 3:
            raise DataValidationError(
                f"{path}: line 1: expected 3 integer columns (pair, pair, odd one out) or "
                f"the header {','.join(CSV_TRIPLET_COLUMNS)}, found {frame.shape[1]} columns"
            )
    else:
        header = first.str.lower().tolist()
        if not set(CSV_TRIPLET_COLUMNS) <= set(header) or len(set(header)) != len(header):
            raise DataValidationError(
                f"{path}: line 1: unknown header {first.tolist()}; expected the THINGS-data "
                f"columns {','.join(CSV_TRIPLET_COLUMNS)} (odd one out last) once each, or no "
                "header (three integer columns per line)"
            )
        body = frame.iloc[1:, [header.index(c) for c in CSV_TRIPLET_COLUMNS]]
        first_line, names = 2, CSV_TRIPLET_COLUMNS
    if body.empty:
        raise DataValidationError(
            f"{path}: line {first_line}: no triplets after the header; expected triplets"
        )
    values = int_tokens_to_array(
        pd.Series(body.to_numpy().ravel(), dtype=object), path, 3, first_line, names
    )
    return validate_triplets(
        values, N_OBJECTS, name=str(path), row_label="line", first_row=first_line
    )


def read_things_triplets(folder: str | os.PathLike) -> dict[str, np.ndarray]:
    """The train and test triplets of a THINGS triplet release folder.

    Accepts the THINGS-data names (``trainset``, ``validationset``) and objdim's
    (``train_90``, ``test_10``) as ``.npy``, ``.txt`` or ``.csv``; exactly one file per
    split must match. Returns ``{"train": ..., "test": ...}`` in the project convention
    (0-based, odd one out last).
    """
    folder = Path(folder)
    if folder.is_file():
        raise DataValidationError(
            f"{folder}: a file; expected the folder holding the triplet files (trainset, "
            "validationset)"
        )
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
        if not matches[0].is_file():
            raise DataValidationError(
                f"{matches[0]}: a folder; expected the {split} triplet file of that name"
            )
        found[split] = _read_triplet_file(matches[0])
        found[f"{split}_path"] = matches[0]
    return found
