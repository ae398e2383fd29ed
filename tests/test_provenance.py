"""Atomic writes, hashes and provenance sidecars."""

import hashlib
import json
import os

import numpy as np
import pytest

from dnnalign_utils import paths, provenance


def test_file_sha256_matches_hashlib(tmp_path):
    path = tmp_path / "x.bin"
    payload = bytes(range(256)) * 5000
    path.write_bytes(payload)
    assert provenance.file_sha256(path, chunk_size=1000) == hashlib.sha256(payload).hexdigest()


def test_array_sha256_depends_on_dtype_shape_and_values():
    a = np.arange(6, dtype=np.int64)
    assert provenance.array_sha256(a) == provenance.array_sha256(a.copy())
    assert provenance.array_sha256(a) != provenance.array_sha256(a.reshape(2, 3))
    assert provenance.array_sha256(a) != provenance.array_sha256(a.astype(np.int32))
    b = a.copy()
    b[-1] += 1
    assert provenance.array_sha256(a) != provenance.array_sha256(b)


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def failing_writer(tmp):
        tmp.write_text("half-written")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        provenance.atomic_write(target, failing_writer)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temp debris


def test_save_npy_round_trip_keeps_exact_name(tmp_path):
    target = tmp_path / "sub" / "arr.npy"
    array = np.random.default_rng(0).normal(size=(4, 3))
    provenance.save_npy(target, array)
    np.testing.assert_array_equal(np.load(target), array)


def test_provenance_sidecar_records_inputs_parameters_versions(tmp_path):
    source = tmp_path / "input.txt"
    source.write_text("1 2 3\n")
    artefact = tmp_path / "result.npy"
    provenance.save_npy(artefact, np.zeros(3))
    record = provenance.provenance_record(
        "test", parameters={"seed": np.int64(3), "path": tmp_path}, inputs={"source": source}
    )
    provenance.write_provenance(artefact, record)
    loaded = provenance.read_provenance(artefact)
    assert loaded["parameters"] == {"seed": 3, "path": str(tmp_path)}
    assert loaded["input_sha256"]["source"] == provenance.file_sha256(source)
    assert loaded["artefact_sha256"] == provenance.file_sha256(artefact)
    assert "numpy" in loaded["package_versions"]
    json.dumps(loaded)


def test_read_provenance_missing_names_artefact(tmp_path):
    with pytest.raises(FileNotFoundError, match="result.npy"):
        provenance.read_provenance(tmp_path / "result.npy")


def test_paths_follow_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("DNNALIGN_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("DNNALIGN_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("DNNALIGN_ARTEFACTS_DIR", str(tmp_path / "a"))
    assert paths.data_dir() == tmp_path / "d"
    assert paths.cache_dir() == tmp_path / "c"
    assert paths.artefacts_dir("smoke") == tmp_path / "a" / "smoke"
    monkeypatch.delenv("DNNALIGN_DATA_DIR")
    assert paths.data_dir() == paths.REPO_ROOT / "data"


def test_cached_reuses_only_on_the_same_provenance(tmp_path):
    path = tmp_path / "c.npy"
    calls = []

    def use(parameters, inputs):
        def load():
            record = provenance.read_provenance(path)
            return np.load(path), {"p": record["parameters"], "in": record["input_sha256"]}

        def compute():
            calls.append(parameters)
            return np.arange(3.0) * len(calls)

        def save(value):
            record = provenance.provenance_record("t", parameters, input_hashes=inputs)
            provenance.save_npy(path, value, record)

        key = {"p": parameters, "in": inputs}
        return provenance.cached(key, load, compute, save)

    first = use({"alpha": 1, "modules": ("a", "b")}, {"x": "0" * 64})
    # a tuple is stored as a list: the key still matches
    again = use({"alpha": 1, "modules": ("a", "b")}, {"x": "0" * 64})
    assert len(calls) == 1 and np.array_equal(first, again)
    use({"alpha": 2, "modules": ("a", "b")}, {"x": "0" * 64})  # other parameters
    assert len(calls) == 2
    use({"alpha": 2, "modules": ("a", "b")}, {"x": "1" * 64})  # other inputs
    assert len(calls) == 3
    assert provenance.leftover_temporaries(path) == []


def test_cached_keeps_the_old_cache_when_compute_fails(tmp_path):
    path = tmp_path / "c.npy"
    provenance.save_npy(path, np.ones(2), provenance.provenance_record("t", {"v": 1}))

    def load():
        return np.load(path), provenance.read_provenance(path)["parameters"]

    def broken():
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        provenance.cached({"v": 2}, load, broken, lambda v: provenance.save_npy(path, v))
    assert np.array_equal(np.load(path), np.ones(2))  # atomic: the old cache is intact
    assert provenance.leftover_temporaries(path) == []
    missing = provenance.cached(
        {"v": 1},
        lambda: (_ for _ in ()).throw(FileNotFoundError()),
        lambda: np.zeros(1),
        lambda v: None,
    )
    assert np.array_equal(missing, np.zeros(1))


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_and_extracted_folders_honour_the_umask(tmp_path, umask):
    import zipfile

    from dnnalign_utils import fetch

    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inner/f.txt", "x")
    old = os.umask(umask)
    try:
        new = provenance.atomic_write_text(tmp_path / "new.txt", "x")
        provenance.save_npy(tmp_path / "a.npy", np.ones(2), provenance.provenance_record("t", {}))
        folder = fetch.extract_archive(archive, tmp_path / "out")
    finally:
        os.umask(old)
    assert new.stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "a.npy").stat().st_mode & 0o777 == 0o666 & ~umask
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask
    # a replaced file keeps its own mode
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    provenance.atomic_write_text(kept, "new")
    assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_text() == "new"
