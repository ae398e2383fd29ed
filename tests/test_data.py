"""Tests for dnnalign_utils.data: hashed registry, ID-keyed loaders, triplet readers,
held-out hygiene and the OSF fetcher (against a loopback HTTP server only)."""

from __future__ import annotations

import csv
import functools
import hashlib
import http.server
import itertools
import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dnnalign_utils import data as d
from dnnalign_utils import fetch as fetching
from dnnalign_utils import provenance
from dnnalign_utils import triplets as T
from dnnalign_utils.paths import REPO_ROOT

REAL_THINGS = REPO_ROOT / "data" / "things"

# SHA-256 prefixes as published in shared/data/things/SOURCES.md.
SOURCES_PREFIXES = {
    "dnn/clip_vit_b32_concept_features.npy": "afef6e30b7ac2462",
    "dnn/vgg16_kernel_nmf_rank200.npy": "7e64766ecbd8a0f1",
    "human/spose_embedding_49d.npy": "ca65da7c936b984e",
    "human/triplets_2171_distinct.txt": "76ac5762c21b763f",
    "human/triplets_noise_ceiling_set.tsv": "f2593378408f54fb",
    "human/triplets_sample127k_with_subject.txt": "37224154a8715612",
    "human/triplets_sample50k.txt": "982ca5e855a9f1ad",
    "human/vice_embedding_42d.npy": "6c596ec9fe6e135e",
    "metadata/category27_manual.tsv": "9f4f9a4626f23064",
    "metadata/item_names.tsv": "03dbe77972f9466f",
    "metadata/things_concepts.tsv": "f6eb4ec6fcad61e5",
    "metadata/thingsplus_categories53.tsv": "968d45a1a2fb8def",
    "metadata/thingsplus_property_ratings.csv": "e5163a8d68a2704c",
    "metadata/thingsplus_size_ratings.csv": "6a14e7f359e26982",
    "metadata/unique_id.txt": "e2e59d02197e8977",
    "semantic/word2vec_concept_vectors.npy": "ae3a9cc024c61bed",
}


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of data/things (only what a test copies in) under DNNALIGN_DATA_DIR."""
    root = tmp_path / "data"
    monkeypatch.setenv("DNNALIGN_DATA_DIR", str(root))

    def copy(*relpaths: str) -> Path:
        for rel in relpaths:
            dest = root / "things" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REAL_THINGS / rel, dest)
        return root / "things"

    return copy


def _register(monkeypatch, things: Path, rel: str) -> None:
    """Accept the current bytes of a deliberately modified fixture file."""
    digest = hashlib.sha256((things / rel).read_bytes()).hexdigest()
    monkeypatch.setitem(d.DATA_FILES, rel, digest)


# ------------------------------------------------------------------ registry and hashes


def test_registry_full_hashes_match_sources_prefixes_and_files():
    assert set(d.DATA_FILES) == set(SOURCES_PREFIXES)
    for rel, digest in d.DATA_FILES.items():
        assert len(digest) == 64 and digest.startswith(SOURCES_PREFIXES[rel]), rel
    hashes = d.verify_all()
    for rel, digest in hashes.items():
        assert hashlib.sha256((REAL_THINGS / rel).read_bytes()).hexdigest() == digest


def test_changed_file_raises_naming_file_expected_and_actual(data_copy):
    things = data_copy("metadata/unique_id.txt")
    path = things / "metadata/unique_id.txt"
    path.write_text(path.read_text().replace("aardvark", "aardwolf"))
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(d.DataIntegrityError) as err:
        d.load_unique_ids()
    message = str(err.value)
    assert str(path) in message
    assert d.DATA_FILES["metadata/unique_id.txt"] in message and actual in message


def test_missing_file_names_the_file(data_copy):
    things = data_copy("metadata/unique_id.txt")
    with pytest.raises(FileNotFoundError, match="things_concepts.tsv"):
        d.load_concepts()
    assert not (things / "metadata/things_concepts.tsv").exists()


def test_each_file_hashed_once_until_it_changes(data_copy, monkeypatch):
    things = data_copy("metadata/unique_id.txt")
    calls = []
    real = provenance.file_sha256
    monkeypatch.setattr(provenance, "file_sha256", lambda p: calls.append(p) or real(p))
    for _ in range(3):
        d.data_file("metadata/unique_id.txt")
    assert len(calls) == 1
    path = things / "metadata/unique_id.txt"
    path.write_text(path.read_text() + "extra\n")  # size changes: must be re-hashed
    with pytest.raises(d.DataIntegrityError):
        d.data_file("metadata/unique_id.txt")
    assert len(calls) == 2


def test_data_dir_env_override_is_used(data_copy):
    things = data_copy("metadata/unique_id.txt")
    assert d.things_dir() == things
    assert d.data_file("metadata/unique_id.txt") == things / "metadata/unique_id.txt"


# ------------------------------------------------------------------ IDs and metadata


def test_unique_ids_canonical():
    ids = d.load_unique_ids()
    assert len(ids) == 1854 == len(set(ids))
    assert ids[:3] == ["aardvark", "abacus", "accordion"] and ids[-1] == "zucchini"


def test_concepts_indexed_by_canonical_ids():
    concepts = d.load_concepts()
    assert list(concepts.index) == d.load_unique_ids()
    assert concepts.shape == (1854, 24)
    assert concepts.loc["aardvark", "WordNet ID"] == "n02082791"
    assert concepts.loc["bat1", "Word"] == concepts.loc["bat2", "Word"] == "bat"


def test_concepts_join_by_id_not_row_order(data_copy, monkeypatch):
    rel = "metadata/things_concepts.tsv"
    things = data_copy("metadata/unique_id.txt", rel)
    table = pd.read_csv(things / rel, sep="\t")
    shuffled = table.sample(frac=1.0, random_state=0)
    shuffled.to_csv(things / rel, sep="\t", index=False)
    _register(monkeypatch, things, rel)
    pd.testing.assert_frame_equal(
        d.load_concepts(), table.set_index("uniqueID").rename_axis("uniqueID")
    )


def test_concepts_with_unknown_id_raise(data_copy, monkeypatch):
    rel = "metadata/things_concepts.tsv"
    things = data_copy("metadata/unique_id.txt", rel)
    table = pd.read_csv(things / rel, sep="\t")
    table.loc[9, "uniqueID"] = "not_a_concept"
    table.to_csv(things / rel, sep="\t", index=False)
    _register(monkeypatch, things, rel)
    with pytest.raises(
        d.DataValidationError, match=r"things_concepts.tsv: line 11: .*not_a_concept"
    ):
        d.load_concepts()


def test_categories27_shape_order_and_agreement_with_categories53():
    cat27 = d.load_categories27()
    assert cat27.shape == (1854, 27) and all(dt == np.dtype(bool) for dt in cat27.dtypes)
    assert list(cat27.index) == d.load_unique_ids()
    assert int((~cat27.any(axis=1)).sum()) == 559
    assert cat27.loc["aardvark", "animal"] and not cat27.loc["aardvark", "bird"]
    # Independent corroboration of the (ID-less) row order: the 53-category table, joined
    # by definition, repeats these 27 columns and differs in a single cell.
    cat53 = d.load_categories53()
    assert int((cat53[cat27.columns] != cat27).to_numpy().sum()) == 1


def test_categories53_sum_row_dropped_and_homonyms_mapped():
    cat53 = d.load_categories53()
    assert cat53.shape == (1854, 53) and all(dt == np.dtype(bool) for dt in cat53.dtypes)
    assert list(cat53.index) == d.load_unique_ids()
    with open(REAL_THINGS / "metadata/thingsplus_categories53.tsv", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    header, body, last = rows[0], rows[1:-1], rows[-1]
    assert len(body) == 1854 and last[:2] == ["", ""]
    assert cat53.sum().tolist() == [int(x) for x in last[2:]]
    assert list(cat53.columns) == header[2:]
    # Homonyms share the word 'bat'; the definition decides which is which.
    assert cat53.loc["bat1", "mammal"] and not cat53.loc["bat1", "sports equipment"]
    assert cat53.loc["bat2", "sports equipment"] and not cat53.loc["bat2", "mammal"]
    # Slow reference: the same mapping by word + row order, checked word by word.
    concepts = d.load_concepts()
    for uid, row in zip(d.load_unique_ids(), body, strict=True):
        assert row[0] in (uid, uid.replace("_", " "), concepts.loc[uid, "Word"])
        assert [c == "1" for c in row[2:]] == cat53.loc[uid].tolist()


@pytest.mark.parametrize("change", ["sum_row", "unknown_definition", "word"])
def test_categories53_bad_rows_raise(data_copy, monkeypatch, change):
    rel = "metadata/thingsplus_categories53.tsv"
    things = data_copy("metadata/unique_id.txt", "metadata/things_concepts.tsv", rel)
    lines = (things / rel).read_text().split("\n")
    if change == "sum_row":
        fields = lines[1855].split("\t")
        fields[2] = str(int(fields[2]) + 1)
        lines[1855] = "\t".join(fields)
        pattern = r"line 1856: column 'animal' states 178"
    elif change == "unknown_definition":
        fields = lines[4].split("\t")
        fields[1] = "an invented definition"
        lines[4] = "\t".join(fields)
        pattern = r"line 5: definition of word .* matches no"
    else:
        fields = lines[4].split("\t")
        fields[0] = "platypus"
        lines[4] = "\t".join(fields)
        pattern = r"line 5: word 'platypus' does not name"
    (things / rel).write_text("\n".join(lines))
    _register(monkeypatch, things, rel)
    with pytest.raises(d.DataValidationError, match=pattern) as err:
        d.load_categories53()
    assert "thingsplus_categories53.tsv" in str(err.value)


def test_property_ratings_joined_on_their_own_ids():
    ratings = d.load_property_ratings()
    assert list(ratings.index) == d.load_unique_ids() and ratings.shape == (1854, 23)
    with open(REAL_THINGS / "metadata/thingsplus_property_ratings.csv", newline="") as handle:
        raw = {row["uniqueID"]: row for row in csv.DictReader(handle)}
    # The file is not in canonical order (hot-air_balloon before hot_chocolate) ...
    assert list(raw) != d.load_unique_ids()
    # ... yet each concept gets its own row.
    for uid in ["aardvark", "hot-air_balloon", "hot_chocolate", "zucchini"]:
        expected = [float(raw[uid][c]) for c in ratings.columns]
        assert ratings.loc[uid].tolist() == pytest.approx(expected)


def test_size_ratings_joined_on_normalised_ids_with_conflicts_flagged():
    sizes = d.load_size_ratings()
    assert list(sizes.index) == d.load_unique_ids()
    with open(REAL_THINGS / "metadata/thingsplus_size_ratings.csv", newline="") as handle:
        raw = {row["uniqueID"]: row for row in csv.DictReader(handle, delimiter=";")}
    assert float(raw["aardvark"]["meanSize"]) == pytest.approx(sizes.loc["aardvark", "meanSize"])
    assert float(raw["air conditioner"]["meanSize"]) == pytest.approx(
        sizes.loc["air_conditioner", "meanSize"]
    )
    assert set(sizes.index[sizes["id_conflict"]]) == d.SIZE_RATING_ID_CONFLICTS
    blanked = d.load_size_ratings(on_conflict="nan")
    assert blanked["meanSize"].isna().sum() == len(d.SIZE_RATING_ID_CONFLICTS)
    assert blanked.loc["aardvark", "meanSize"] == sizes.loc["aardvark", "meanSize"]
    with pytest.raises(d.DataValidationError, match=r"thingsplus_size_ratings.csv: lines \[80"):
        d.load_size_ratings(on_conflict="raise")


def test_embeddings_shapes_and_validation():
    expected = {
        "spose49": (1854, 49),
        "vice42": (1854, 42),
    }
    for name, shape in expected.items():
        emb = d.load_human_embedding(name)
        assert emb.shape == shape and emb.dtype == np.float64 and np.isfinite(emb).all()
    assert (d.load_human_embedding("vice42") >= 0).all()
    vgg = d.load_vgg16_features()
    assert vgg.shape == (1854, 200) and (vgg >= 0).all()
    assert d.load_clip_features().shape == (1854, 512)
    assert d.load_word2vec().shape == (1854, 300)
    with pytest.raises(ValueError, match="name='spose66'"):
        d.load_human_embedding("spose66")


def _dot_product_accuracy(embedding: np.ndarray, triplets: np.ndarray) -> float:
    sim = embedding @ embedding.T
    i, j, k = triplets.T
    return float(np.mean(np.argmax([sim[i, j], sim[i, k], sim[j, k]], axis=0) == 0))


def test_published_spose_accuracies_recovered():
    """End-to-end check of row order and triplet conventions (SOURCES.md numbers)."""
    spose = d.load_human_embedding("spose49")
    assert _dot_product_accuracy(spose, d.load_triplets_sample50k()) == pytest.approx(
        0.640, abs=0.0005
    )
    nc = d.load_triplets_noise_ceiling().triplets
    assert _dot_product_accuracy(spose, nc) == pytest.approx(0.630, abs=0.0005)


def test_noise_ceiling_modal_agreement():
    nc = d.load_triplets_noise_ceiling()
    assert nc.triplets.shape == (20000, 3) and nc.subjects.shape == (20000,)
    responses: dict[frozenset, list[int]] = {}
    for row in nc.triplets.tolist():
        responses.setdefault(frozenset(row), []).append(row[2])
    assert len(responses) == 1000
    shares = [max(map(odd.count, set(odd))) / len(odd) for odd in responses.values()]
    assert np.mean(shares) == pytest.approx(0.6722, abs=0.00005)
    assert 14 == min(map(len, responses.values())) and max(map(len, responses.values())) == 25


def test_named_triplet_loaders():
    sample = d.load_triplets_sample50k()
    assert sample.shape == (50000, 3) and sample.dtype == np.int64
    with_subjects = d.load_triplets_sample127k()
    assert with_subjects.triplets.shape == (127304, 3)
    assert with_subjects.subjects.min() == 0 and with_subjects.subjects.max() == 263
    assert d.load_triplets_2171().shape == (2171, 3)
    first = (REAL_THINGS / "human/triplets_sample50k.txt").read_text().split("\n")[0]
    assert sample[0].tolist() == [int(x) for x in first.split()]


# ------------------------------------------------------------------ triplet formats

TRIPLETS = np.array([[0, 1, 2], [5, 3, 4], [1853, 0, 7]], dtype=np.int64)
SUBJECTS = np.array([0, 0, 12], dtype=np.int64)


def _write(path: Path, rows, sep=" ") -> Path:
    path.write_text("".join(sep.join(map(str, row)) + "\n" for row in rows))
    return path


def test_txt_formats_round_trip(tmp_path):
    path = _write(tmp_path / "t.txt", TRIPLETS.tolist())
    out = d.load_triplets(path, "txt")
    assert out.dtype == np.int64 and np.array_equal(out, TRIPLETS)
    rows = np.column_stack([TRIPLETS, SUBJECTS]).tolist()
    path = _write(tmp_path / "s.txt", rows)
    both = d.load_triplets(path, "txt_subject", return_subjects=True)
    assert np.array_equal(both.triplets, TRIPLETS) and np.array_equal(both.subjects, SUBJECTS)
    assert np.array_equal(d.load_triplets(path, "txt_subject"), TRIPLETS)


def test_noise_ceiling_conversion_matches_slow_reference(tmp_path):
    rng = np.random.default_rng(0)
    ijk = np.array([rng.choice(1854, 3, replace=False) + 1 for _ in range(200)])
    position = rng.integers(1, 4, size=200)
    subject = rng.integers(0, 300, size=200)
    path = _write(tmp_path / "nc.tsv", np.column_stack([ijk, position, subject]).tolist(), "\t")
    out = d.load_triplets(path, "noise_ceiling", return_subjects=True)
    expected = []
    for row, pos in zip(ijk.tolist(), position.tolist(), strict=True):
        odd = row[pos - 1]
        pair = [x for p, x in enumerate(row) if p != pos - 1]
        expected.append([pair[0] - 1, pair[1] - 1, odd - 1])
    assert np.array_equal(out.triplets, np.array(expected))
    assert np.array_equal(out.subjects, subject)


def test_npy_format(tmp_path):
    path = tmp_path / "train_90.npy"
    np.save(path, TRIPLETS.astype(np.int32))
    out = d.load_triplets(path, "npy")
    assert out.dtype == np.int64 and np.array_equal(out, TRIPLETS)
    np.save(path, TRIPLETS.astype(np.float64))  # integral floats are accepted losslessly
    assert np.array_equal(d.load_triplets(path, "npy"), TRIPLETS)


def test_format_arguments_checked(tmp_path):
    path = _write(tmp_path / "t.txt", TRIPLETS.tolist())
    with pytest.raises(ValueError, match="fmt='csv'"):
        d.load_triplets(path, "csv")
    with pytest.raises(ValueError, match="no subject IDs"):
        d.load_triplets(path, "txt", return_subjects=True)


# ------------------------------------------------------------------ malformed input
# One test per case; each asserts the message names the file and the row.


def _bad_file(tmp_path: Path, fmt: str, rows: list[list], npy_dtype=np.int64) -> Path:
    if fmt == "npy":
        path = tmp_path / "bad.npy"
        np.save(path, np.array(rows, dtype=npy_dtype))
        return path
    return _write(tmp_path / f"bad_{fmt}.txt", rows, "\t" if fmt == "noise_ceiling" else " ")


GOOD_ROW = {"txt": [0, 1, 2], "txt_subject": [0, 1, 2, 5], "noise_ceiling": [1, 2, 3, 3, 5]}


@pytest.mark.parametrize("fmt", ["txt", "txt_subject", "noise_ceiling"])
def test_wrong_number_of_columns(tmp_path, fmt):
    rows = [GOOD_ROW[fmt]] * 3 + [GOOD_ROW[fmt][:-1]] + [GOOD_ROW[fmt]]
    path = _bad_file(tmp_path, fmt, rows)
    n = len(GOOD_ROW[fmt])
    with pytest.raises(d.DataValidationError, match=rf"line 4: expected {n} integer columns") as e:
        d.load_triplets(path, fmt)
    assert str(path) in str(e.value)


def test_wrong_number_of_columns_npy(tmp_path):
    path = _bad_file(tmp_path, "npy", [[0, 1, 2, 3], [4, 5, 6, 7]])
    with pytest.raises(d.DataValidationError, match=r"row 1: expected 3 columns") as err:
        d.load_triplets(path, "npy")
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("fmt", "bad_row"),
    [
        ("txt", [0, 1854, 2]),
        ("txt", [0, -1, 2]),
        ("txt_subject", [1854, 1, 2, 0]),
        ("noise_ceiling", [0, 2, 3, 1, 0]),  # 1-based: 0 is out of range
        ("noise_ceiling", [1, 1855, 3, 1, 0]),
        ("npy", [0, 1, 1854]),
    ],
)
def test_index_out_of_range(tmp_path, fmt, bad_row):
    good = GOOD_ROW.get(fmt, [0, 1, 2])
    path = _bad_file(tmp_path, fmt, [good, good, bad_row])
    with pytest.raises(d.DataValidationError, match=r"(line|row) 3: index out of range") as err:
        d.load_triplets(path, fmt)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("fmt", "bad_row"),
    [
        ("txt", [4, 4, 2]),
        ("txt_subject", [1, 2, 1, 0]),
        ("noise_ceiling", [5, 6, 6, 2, 0]),
        ("npy", [7, 3, 3]),
    ],
)
def test_same_index_twice_in_a_row(tmp_path, fmt, bad_row):
    good = GOOD_ROW.get(fmt, [0, 1, 2])
    path = _bad_file(tmp_path, fmt, [good, bad_row, good])
    with pytest.raises(d.DataValidationError, match=r"(line|row) 2: the same object twice") as e:
        d.load_triplets(path, fmt)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("fmt", ["txt", "txt_subject", "noise_ceiling"])
def test_non_integer_values(tmp_path, fmt):
    bad = list(GOOD_ROW[fmt])
    bad[1] = "1.5"
    path = _bad_file(tmp_path, fmt, [GOOD_ROW[fmt], GOOD_ROW[fmt], bad])
    with pytest.raises(
        d.DataValidationError, match=r"line 3: column 2 is '1.5'; expected an integer"
    ) as err:
        d.load_triplets(path, fmt)
    assert str(path) in str(err.value)


def test_non_integer_values_npy(tmp_path):
    path = _bad_file(tmp_path, "npy", [[0, 1, 2], [3.5, 1, 2]], npy_dtype=np.float64)
    with pytest.raises(d.DataValidationError, match=r"row 2: expected integer object") as err:
        d.load_triplets(path, "npy")
    assert str(path) in str(err.value)


@pytest.mark.parametrize("content", ["", "\n", "  \n\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_text(content)
    with pytest.raises(d.DataValidationError, match=r"line 1: empty file") as err:
        d.load_triplets(path, "txt")
    assert str(path) in str(err.value)


def test_empty_npy(tmp_path):
    path = tmp_path / "empty.npy"
    np.save(path, np.zeros((0, 3), dtype=np.int64))
    with pytest.raises(d.DataValidationError, match=r"row 1: empty") as err:
        d.load_triplets(path, "npy")
    assert str(path) in str(err.value)


def test_blank_line_inside_file(tmp_path):
    path = tmp_path / "gap.txt"
    path.write_text("0 1 2\n\n3 4 5\n")
    with pytest.raises(d.DataValidationError, match=r"line 2: expected 3 integer columns"):
        d.load_triplets(path, "txt")


def test_noise_ceiling_bad_position(tmp_path):
    path = _bad_file(tmp_path, "noise_ceiling", [[1, 2, 3, 1, 0], [1, 2, 3, 4, 0]])
    with pytest.raises(d.DataValidationError, match=r"line 2: column 4 .* expected 1, 2 or 3"):
        d.load_triplets(path, "noise_ceiling")


def test_mismatched_object_count_triplets(tmp_path):
    """The data index 1853 disagrees with a stated object count of 100."""
    path = _write(tmp_path / "t.txt", TRIPLETS.tolist())
    with pytest.raises(d.DataValidationError, match=r"line 3: index out of range.*100") as err:
        d.load_triplets(path, "txt", n_objects=100)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(("n_rows", "row"), [(1853, 1854), (1855, 1855)])
def test_mismatched_object_count_embedding(tmp_path, n_rows, row):
    path = tmp_path / "emb.npy"
    np.save(path, np.ones((n_rows, 4)))
    with pytest.raises(d.DataValidationError, match=rf"row {row} is (missing|extra)") as err:
        d.load_weight_matrix(path, n_objects=1854)
    assert str(path) in str(err.value)


def test_embedding_non_finite_and_negative_rows(tmp_path):
    path = tmp_path / "emb.npy"
    array = np.ones((10, 3))
    array[6, 1] = np.nan
    array[4, 2] = -1.0
    np.save(path, array)
    with pytest.raises(d.DataValidationError, match=r"emb.npy: row 7 .*expected finite"):
        d.load_weight_matrix(path, n_objects=10)
    array[6, 1] = 1.0
    np.save(path, array)
    with pytest.raises(d.DataValidationError, match=r"emb.npy: row 5 .*non-negative"):
        d.load_weight_matrix(path, n_objects=10, nonnegative=True)
    assert d.load_weight_matrix(path, n_objects=10, n_dims=3).dtype == np.float64
    with pytest.raises(d.DataValidationError, match=r"emb.npy: row 1: expected 4 columns"):
        d.load_weight_matrix(path, n_objects=10, n_dims=4)


# ------------------------------------------------------------------ held-out hygiene


def test_triplet_keys_are_order_invariant_and_distinct():
    perms = np.array(list(itertools.permutations([4, 1853, 0])))
    keys = T.triplet_keys(perms)
    assert len(set(keys.tolist())) == 1
    rng = np.random.default_rng(1)
    sets = {tuple(sorted(rng.choice(1854, 3, replace=False).tolist())) for _ in range(5000)}
    triplets = np.array(sorted(sets))
    assert len(np.unique(T.triplet_keys(triplets))) == len(sets)


def test_remove_heldout_matches_slow_reference():
    rng = np.random.default_rng(2)
    pool = np.array([rng.choice(30, 3, replace=False) for _ in range(400)])
    train, held_a, held_b = pool[:300], pool[250:330], pool[330:]
    held_a = rng.permuted(held_a, axis=1)  # order within a triplet must not matter
    kept, removed = T.remove_heldout_triplets(train, [held_a, held_b], n_objects=30)
    held_sets = {frozenset(r) for r in np.vstack([held_a, held_b]).tolist()}
    expected = np.array([frozenset(r) in held_sets for r in train.tolist()])
    assert removed.sum() >= 50 and np.array_equal(removed, expected)
    assert np.array_equal(kept, train[~expected])
    assert not ({frozenset(r) for r in kept.tolist()} & held_sets)


def test_overlap_of_heldout_sets_with_samples():
    samples = [d.load_triplets_sample50k(), d.load_triplets_sample127k().triplets]
    nc = d.load_triplets_noise_ceiling().triplets
    distinct_nc = np.unique(T.triplet_keys(nc))
    in_50k = np.isin(distinct_nc, T.triplet_keys(samples[0]))
    assert in_50k.mean() == pytest.approx(0.142)  # SOURCES.md's "14 %"
    twenty_one = d.load_triplets_2171()
    assert T.heldout_overlap_mask(twenty_one, samples[1:]).mean() == pytest.approx(
        92 / 2171
    )  # SOURCES.md's "4 %"
    kept, removed = T.remove_heldout_triplets(np.vstack(samples), [nc, twenty_one])
    assert removed.sum() > 0 and not np.isin(T.triplet_keys(kept), distinct_nc).any()


# ------------------------------------------------------------------ OSF fetcher


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = type("Handler", (_CountingHandler,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(served))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}", handler.requests
    httpd.shutdown()
    httpd.server_close()


def _remote(url: str, sha256: str | None = None) -> fetching.RemoteFile:
    return fetching.RemoteFile(
        name="test", url=f"{url}/blob.bin", filename="blob.bin", sha256=sha256
    )


def test_fetch_records_hash_then_hits_cache(server, tmp_path, monkeypatch):
    served, url, requests = server
    payload = b"THINGS" * 1000
    (served / "blob.bin").write_bytes(payload)
    monkeypatch.setenv("DNNALIGN_CACHE_DIR", str(tmp_path / "cache"))
    path = fetching.fetch(_remote(url), progress=False)
    assert path == tmp_path / "cache" / "osf" / "blob.bin" and path.read_bytes() == payload
    record = json.loads((path.parent / "blob.bin.sha256.json").read_text())
    assert record["sha256"] == hashlib.sha256(payload).hexdigest()
    assert "trust on first use" in record["source"]
    assert fetching.fetch(_remote(url), progress=False) == path
    assert len(requests) == 1  # second call served from the cache


def test_fetch_with_known_hash(server, tmp_path):
    served, url, requests = server
    payload = b"known"
    (served / "blob.bin").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    path = fetching.fetch(_remote(url, digest), progress=False, cache=tmp_path / "c")
    assert path.read_bytes() == payload and len(requests) == 1


def test_fetch_download_hash_mismatch_names_file(server, tmp_path):
    served, url, _ = server
    (served / "blob.bin").write_bytes(b"tampered upstream")
    with pytest.raises(d.DataIntegrityError, match=r"blob.bin .*does not match.*expected 0{64}"):
        fetching.fetch(_remote(url, "0" * 64), progress=False, cache=tmp_path / "c")
    assert not (tmp_path / "c" / "blob.bin").exists()


def test_fetch_changed_upstream_after_first_download(server, tmp_path):
    served, url, _ = server
    (served / "blob.bin").write_bytes(b"version 1")
    cache = tmp_path / "c"
    first = fetching.fetch(_remote(url), progress=False, cache=cache)
    first.unlink()  # force a fresh download: upstream now serves other bytes
    (served / "blob.bin").write_bytes(b"version 2")
    recorded = hashlib.sha256(b"version 1").hexdigest()
    with pytest.raises(d.DataIntegrityError, match=rf"blob.bin .*expected {recorded}"):
        fetching.fetch(_remote(url), progress=False, cache=cache)


def test_fetch_corrupted_cache_file(server, tmp_path):
    served, url, requests = server
    (served / "blob.bin").write_bytes(b"original")
    cache = tmp_path / "c"
    path = fetching.fetch(_remote(url), progress=False, cache=cache)
    path.write_bytes(b"corrupted!")
    actual = hashlib.sha256(b"corrupted!").hexdigest()
    with pytest.raises(d.DataIntegrityError, match=rf"blob.bin: SHA-256 mismatch.*{actual}"):
        fetching.fetch(_remote(url), progress=False, cache=cache)
    assert len(requests) == 1


def test_remote_registry_entries():
    assert set(fetching.REMOTE_FILES) == {"things_images", "triplets_full"}
    for entry in fetching.REMOTE_FILES.values():
        assert entry.url.startswith("https://osf.io/") and entry.url.endswith("/download")
    with pytest.raises(KeyError, match="not a known remote"):
        fetching.fetch("imagenet")


def test_category_labels_pick_smallest_member_category():
    table = pd.DataFrame(
        {"food": [1, 1, 0, 1], "fruit": [1, 0, 0, 0], "tool": [0, 0, 0, 1]},
        index=pd.Index(["banana", "bread", "rock", "spork"], name="uniqueID"),
    ).astype(bool)
    labels = d.category_labels(table)
    assert labels["banana"] == "fruit"  # fruit (1 member) is smaller than food (3)
    assert labels["bread"] == "food"
    assert pd.isna(labels["rock"])
    assert labels["spork"] == "tool"
    real = d.category_labels()
    assert real.notna().sum() == 1854 - 559


# ------------------------------------------- bad triplet and array files (issue 12, 5-6)


def test_value_beyond_int64_names_the_line(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("0 1 2\n3 4 99999999999999999999\n")
    with pytest.raises(d.DataValidationError, match=r"t.txt: line 2: column 3 is 9+, beyond"):
        d.load_triplets(path, "txt")


def test_non_utf8_bytes_name_the_file_and_line(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"0 1 2\n3 4 5\n\xff\xfe 1 2\n")
    with pytest.raises(d.DataValidationError, match=r"t.txt: line 3: byte 0xff is not UTF-8"):
        d.load_triplets(path, "txt")


@pytest.mark.parametrize(
    ("array", "shown"),
    [
        (np.array([[0.0, 1.0, 1e30]]), r"1e\+30"),
        (np.array([[0, 1, 2**64 - 5]], dtype=np.uint64), str(2**64 - 5)),
    ],
)
def test_npy_values_beyond_int64_are_reported_as_they_are(tmp_path, array, shown):
    path = tmp_path / "t.npy"
    np.save(path, array)
    with pytest.raises(d.DataValidationError, match=rf"t.npy: row 1: index out of range.*{shown}"):
        d.load_triplets(path, "npy")


def test_out_of_range_message_states_the_base(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("1 2 1854\n")
    with pytest.raises(d.DataValidationError, match=r"read as 0-based.*1-based"):
        d.load_triplets(path, "txt")


@pytest.mark.parametrize("loader", ["embedding", "triplets"])
def test_zero_byte_npy_names_the_file(tmp_path, loader):
    path = tmp_path / "e.npy"
    path.write_bytes(b"")
    with pytest.raises(d.DataValidationError, match=r"e.npy: not a readable .npy.*0 bytes"):
        d.load_weight_matrix(path) if loader == "embedding" else d.load_triplets(path, "npy")
    path.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(d.DataValidationError, match=r"e.npy: not a readable .npy"):
        d.load_weight_matrix(path) if loader == "embedding" else d.load_triplets(path, "npy")


def test_same_size_edit_with_restored_mtime_is_rehashed(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("good")
    good = d.cached_sha256(path)
    stat = path.stat()
    path.write_text("evil")  # same size; then restore the mtime as `cp -p` or tar would
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert d.cached_sha256(path) == hashlib.sha256(b"evil").hexdigest() != good
    path.write_text("good")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert d.cached_sha256(path) == good


# ------------------------------------------------- trust on first use (issue 12, 2 and 6)


def _zip_bytes() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("trainset.txt", "0 1 2\n")
    return buffer.getvalue()


def _remote_zip(url: str) -> fetching.RemoteFile:
    return fetching.RemoteFile(name="test", url=f"{url}/a.zip", filename="a.zip")


def test_error_page_as_first_download_is_not_trusted(server, tmp_path):
    served, url, _ = server
    (served / "a.zip").write_bytes(b"<!DOCTYPE html><html>Service unavailable</html>")
    cache = tmp_path / "c"
    with pytest.raises(d.DataIntegrityError, match=r"a.zip: not a valid zip archive.*DOCTYPE"):
        fetching.fetch(_remote_zip(url), progress=False, cache=cache)
    assert not (cache / "a.zip").exists() and not (cache / "a.zip.sha256.json").exists()
    (served / "a.zip").write_bytes(_zip_bytes())  # the real archive is then accepted
    path = fetching.fetch(_remote_zip(url), progress=False, cache=cache)
    record = json.loads((cache / "a.zip.sha256.json").read_text())
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_error_page_trusted_by_an_old_record_names_the_record(server, tmp_path):
    served, url, _ = server
    cache = tmp_path / "c"
    cache.mkdir()
    page = b"<html>error</html>"
    (cache / "a.zip").write_bytes(page)
    record = {"sha256": hashlib.sha256(page).hexdigest()}
    (cache / "a.zip.sha256.json").write_text(json.dumps(record))
    with pytest.raises(d.DataIntegrityError, match=r"not a valid zip.*a.zip.sha256.json.*delete"):
        fetching.fetch(_remote_zip(url), progress=False, cache=cache)
    (cache / "a.zip").unlink()  # the real archive is then refused, naming the record
    (served / "a.zip").write_bytes(_zip_bytes())
    with pytest.raises(d.DataIntegrityError, match=r"recorded on first use in .*sha256.json"):
        fetching.fetch(_remote_zip(url), progress=False, cache=cache)


@pytest.mark.parametrize("content", ["{not json", '{"size": 3}', '{"sha256": "abc"}', ""])
def test_corrupted_hash_record_names_itself(server, tmp_path, content):
    served, url, _ = server
    (served / "blob.bin").write_bytes(b"x")
    cache = tmp_path / "c"
    cache.mkdir()
    (cache / "blob.bin.sha256.json").write_text(content)
    with pytest.raises(d.DataIntegrityError, match=r"blob.bin.sha256.json: .*delete .*sha256"):
        fetching.fetch(_remote(url), progress=False, cache=cache)


def test_concept_names_tell_homonyms_apart_and_keep_other_words():
    names = d.concept_names()
    concepts = d.load_concepts()
    assert len(names) == len(concepts) == len(set(names))
    by_id = dict(zip(concepts.index, names, strict=True))
    assert by_id["aardvark"] == "aardvark"
    batons = [by_id[f"baton{i}"] for i in range(1, 5)]
    assert all(b.startswith("baton (") for b in batons) and len(set(batons)) == 4
    assert by_id["baton1"] == "baton (thin tapered rod used)"


def test_concept_names_fall_back_to_the_id_when_definitions_agree():
    table = pd.DataFrame(
        {
            "Word": ["bat", "bat", "cat"],
            "Definition (from WordNet, Google, or Wikipedia)": ["a club", "a club", None],
        },
        index=pd.Index(["bat1", "bat2", "cat"], name="uniqueID"),
    )
    assert list(d.concept_names(table)) == ["bat (club) [bat1]", "bat (club) [bat2]", "cat"]
