"""Atomic writes and provenance records for every derived artefact.

Each artefact `x` gets a sidecar `x.provenance.json` recording what produced it: the
parameters, the SHA-256 of its inputs, the package versions and the time.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import glob
import hashlib
import importlib.metadata
import json
import os
import platform
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

try:
    import fcntl
except ImportError:  # not POSIX: stale temporaries are told by their age
    fcntl = None

TRACKED_PACKAGES = (
    "dnnalign-utils",
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "statsmodels",
    "torch",
    "torchvision",
    "himalaya",
    "plotly",
)


def file_sha256(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


_HASH_CACHE: dict[tuple[str, int, int, int, int], str] = {}


def cached_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, memoised on (path, inode, mtime, ctime, size): each file is read
    once per process unless any of them changes."""
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size)
    if key not in _HASH_CACHE:
        _HASH_CACHE[key] = file_sha256(path)
    return _HASH_CACHE[key]


def array_sha256(array: np.ndarray) -> str:
    """Hex SHA-256 of an array's dtype, shape and bytes (C order)."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256()
    digest.update(str(array.dtype).encode())
    digest.update(str(array.shape).encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def package_versions(packages: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape numerical results."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def default_mode(folder: bool = False) -> int:
    """The mode the umask gives a new file (0o666 & ~umask) or folder (0o777 & ~umask)."""
    umask = os.umask(0)  # the only way to read it: set and restore at once
    os.umask(umask)
    return (0o777 if folder else 0o666) & ~umask


# A temporary file older than this whose writer cannot be asked (no `fcntl`: not POSIX)
# is taken to be left over by a killed process.
STALE_TEMPORARY_SECONDS = 24 * 3600


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it onto `path` only on success.

    A crash or exception leaves any previous file at `path` untouched. While the write
    lasts, the temporary file is locked (`fcntl.flock`), so that another process's
    clean-up (`leftover_temporaries`) leaves a live write alone.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh file: never blocks
    else:
        os.close(fd)  # elsewhere an open file could not be replaced
    try:
        yield tmp
        # mkstemp's 0600 would make every written file private: a new file gets the
        # umask's mode, as open() gives it; a replaced file keeps its own
        mode = path.stat().st_mode & 0o777 if path.is_file() else default_mode()
        tmp.chmod(mode)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
        if fcntl is not None:
            os.close(fd)  # releases the lock


def _is_live(tmp: Path) -> bool:
    """Whether a write of `atomic_path` still holds `tmp` (its lock, or, without `fcntl`,
    an age under STALE_TEMPORARY_SECONDS)."""
    try:
        if fcntl is None:
            return time.time() - tmp.stat().st_mtime < STALE_TEMPORARY_SECONDS
        fd = os.open(tmp, os.O_RDONLY)
    except FileNotFoundError:
        return True  # finished meanwhile: nothing to clean up
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def leftover_temporaries(path: str | os.PathLike) -> list[Path]:
    """Temporary files `atomic_path(path)` left beside `path` when its process was killed
    mid-write (a finished or failed write removes its own); a write still under way in
    another process is not one of them."""
    path = Path(path)
    found = sorted(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    return [tmp for tmp in found if not _is_live(tmp)]


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call `write(tmp_path)` and atomically move the result to `path`."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_npy(
    path: str | os.PathLike, array: np.ndarray, record: Mapping[str, Any] | None = None
) -> Path:
    """np.save, atomically (the file name is kept exactly as given); with `record`, also
    its provenance sidecar, as `write_artefact` does."""

    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, array)

    if record is not None:
        return write_artefact(path, _write, record)
    return atomic_write(path, _write)


def write_artefact(
    path: str | os.PathLike, write: Callable[[Path], Any], record: Mapping[str, Any]
) -> Path:
    """Write an artefact atomically with `write(tmp_path)` and its provenance sidecar.

    The sidecar's `artefact_sha256` is the hash of the bytes this call wrote (hashed
    before they are moved into place), never of what is on disk afterwards: when two
    processes write the same artefact, the file and the record may come from different
    runs, and `verify_provenance` then says so instead of vouching for the wrong record.
    """
    with atomic_path(path) as tmp:
        write(tmp)
        digest = file_sha256(tmp)
    write_provenance(path, record, artefact_sha256=digest)
    return Path(path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return value


def provenance_record(
    produced_by: str,
    parameters: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str | os.PathLike] | None = None,
    input_hashes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A provenance dictionary: producer, parameters, input hashes, versions, time.

    `inputs` maps a role to a file (hashed here); `input_hashes` carries hashes
    already known (e.g. of in-memory arrays via `array_sha256`).
    """
    hashes = {name: file_sha256(p) for name, p in (inputs or {}).items()}
    hashes.update(input_hashes or {})
    return {
        "produced_by": produced_by,
        "parameters": _jsonable(dict(parameters or {})),
        "input_sha256": hashes,
        "package_versions": package_versions(),
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


T = TypeVar("T")


def cached(
    key: Any,
    load: Callable[[], tuple[T, Any]],
    compute: Callable[[], T],
    save: Callable[[T], Any],
) -> T:
    """A cached value, reused only when its provenance matches; else computed and saved.

    `load()` returns the cached value and the key its provenance records (the parameters
    and input hashes that produced it); it raises FileNotFoundError, ValueError, KeyError
    or OSError where there is no readable cache. The value is reused only when the
    recorded key equals `key`, compared in JSON form (a sidecar stores tuples as lists);
    otherwise `compute()` runs and `save(value)` replaces the cache. `save` writes
    atomically (`save_npy`, `write_artefact`), so an interrupted run leaves the old cache
    or none, never a half-written one that a later call could take for a match.
    """
    try:
        value, recorded = load()
    except (FileNotFoundError, ValueError, KeyError, OSError):
        pass
    else:
        if _json_form(recorded) == _json_form(key):
            return value
    value = compute()
    save(value)
    return value


def _json_form(value: Any) -> Any:
    return json.loads(json.dumps(_jsonable(value)))


def provenance_path(artefact: str | os.PathLike) -> Path:
    artefact = Path(artefact)
    return artefact.with_name(artefact.name + ".provenance.json")


class ProvenanceMismatchError(ValueError):
    """An artefact's bytes differ from the hash its provenance record vouches for."""


def write_provenance(
    artefact: str | os.PathLike, record: Mapping[str, Any], artefact_sha256: str | None = None
) -> Path:
    """Write `record` plus the artefact's hash beside the artefact, atomically.

    Pass `artefact_sha256`, the hash of the bytes written (see `write_artefact`); without
    it the file on disk is hashed, which may already hold another process's write.
    """
    record = dict(record)
    record["artefact_sha256"] = artefact_sha256 or file_sha256(artefact)
    return atomic_write_text(provenance_path(artefact), json.dumps(record, indent=2) + "\n")


def read_provenance(artefact: str | os.PathLike) -> dict[str, Any]:
    """The provenance record of `artefact`; a missing or unreadable record raises naming it."""
    path = provenance_path(artefact)
    if not path.exists():
        raise FileNotFoundError(f"{artefact}: no provenance record at {path}")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable provenance record ({err}); expected JSON") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(record).__name__}")
    return record


def verify_provenance(artefact: str | os.PathLike) -> dict[str, Any] | None:
    """Check that `artefact`'s provenance record vouches for the bytes on disk; return the
    record (None when the artefact has no record). A mismatch raises
    `ProvenanceMismatchError` naming both files."""
    artefact = Path(artefact)
    if not provenance_path(artefact).exists():
        return None
    record = read_provenance(artefact)
    recorded = record.get("artefact_sha256")
    actual = file_sha256(artefact)
    if recorded != actual:
        raise ProvenanceMismatchError(
            f"{artefact}: SHA-256 {actual} differs from the artefact_sha256 {recorded} of its "
            f"provenance record {provenance_path(artefact)}: the record describes another "
            "write (two runs writing the same output?); run the producing step again"
        )
    return record


def read_npz(
    path: str | os.PathLike, kind: str, keys: tuple[str, ...] | None = None
) -> dict[str, np.ndarray]:
    """The arrays (all, or those of `keys` present) of an ``.npz`` artefact, after
    `verify_provenance`; an unreadable file raises ValueError naming it and `kind`
    (e.g. "an embedding")."""
    verify_provenance(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files if keys is None or k in keys}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, TypeError) as exc:
        raise ValueError(f"{path}: cannot be read as {kind} .npz ({exc})") from exc
