"""Atomic writes and provenance records for every derived artefact.

Each artefact `x` gets a sidecar `x.provenance.json` recording what produced it: the
parameters, the SHA-256 of its inputs, the package versions and the time.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import platform
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it onto `path` only on success.

    A crash or exception leaves any previous file at `path` untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call `write(tmp_path)` and atomically move the result to `path`."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """np.save, atomically (the file name is kept exactly as given)."""

    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, array)

    return atomic_write(path, _write)


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


def provenance_path(artefact: str | os.PathLike) -> Path:
    artefact = Path(artefact)
    return artefact.with_name(artefact.name + ".provenance.json")


def write_provenance(artefact: str | os.PathLike, record: Mapping[str, Any]) -> Path:
    """Write `record` (plus the artefact's own hash) beside the artefact, atomically."""
    record = dict(record)
    record["artefact_sha256"] = file_sha256(artefact)
    return atomic_write_text(provenance_path(artefact), json.dumps(record, indent=2) + "\n")


def read_provenance(artefact: str | os.PathLike) -> dict[str, Any]:
    path = provenance_path(artefact)
    if not path.exists():
        raise FileNotFoundError(f"{artefact}: no provenance record at {path}")
    return json.loads(path.read_text(encoding="utf-8"))
