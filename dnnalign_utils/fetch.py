"""Downloads of the `paper` profile's large inputs, archive extraction and the
environment-variable lookup, in one place.

Where a paper input comes from (:func:`things_images_dir`, :func:`things_triplets_dir`),
in this order:

1. the folder named by the environment variable (``DNNALIGN_THINGS_IMAGES``,
   ``DNNALIGN_THINGS_TRIPLETS``), used as it is (it must be a folder);
2. else the folder the OSF archive was extracted into earlier
   (``paths.cache_dir()/osf/<remote>_extracted``, complete when its ``.extracted`` marker
   exists; an interrupted extraction is redone);
3. else the archive is downloaded with :func:`fetch` (``REMOTE_FILES``, verified by
   SHA-256, the registry's or the one recorded at the first download) and extracted with
   :func:`extract_archive` (encrypted THINGS image archives need
   ``DNNALIGN_THINGS_PASSWORD``, the password published with them on OSF).

Nothing here is used by the `smoke` and `default` profiles, which read only embedded data.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dnnalign_utils import paths
from dnnalign_utils.conventions import DataIntegrityError
from dnnalign_utils.provenance import (
    atomic_write_text,
    cached_sha256,
    default_mode,
    file_sha256,
)

__all__ = [
    "ENV_IMAGES",
    "ENV_PASSWORD",
    "ENV_TRIPLETS",
    "REMOTE_FILES",
    "RemoteFile",
    "check_archive",
    "extract_archive",
    "fetch",
    "things_images_dir",
    "things_triplets_dir",
]

ENV_IMAGES = paths.THINGS_IMAGES_ENV
ENV_TRIPLETS = paths.THINGS_TRIPLETS_ENV
ENV_PASSWORD = "DNNALIGN_THINGS_PASSWORD"

# --------------------------------------------------------------------------- downloads


@dataclass(frozen=True)
class RemoteFile:
    """A downloadable file: where it comes from and, if known, its SHA-256.

    `sha256=None` means no trusted hash is known offline: the first download's hash is
    recorded in the cache (`<filename>.sha256.json`) and every later use is verified
    against that record (trust on first use). A `.zip` download is recorded only after
    it opened as a zip archive (`check_archive`).
    """

    name: str
    url: str
    filename: str
    sha256: str | None = None
    description: str = ""


REMOTE_FILES: dict[str, RemoteFile] = {
    "things_images": RemoteFile(
        name="things_images",
        url="https://osf.io/jum2f/download",
        filename="things_images.zip",
        sha256=None,
        description=(
            "THINGS object images (26,107 images of 1,854 concepts; password-protected "
            "zip, password in the THINGS OSF project). OSF project jum2f."
        ),
    ),
    "triplets_full": RemoteFile(
        name="triplets_full",
        url="https://osf.io/f5rn6/download",
        filename="things_triplets_full.zip",
        sha256=None,
        description=(
            "All 4.7M THINGS odd-one-out triplets (Hebart et al. 2023). OSF project f5rn6."
        ),
    ),
}


def _hash_record_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256.json")


def _read_hash_record(record_path: Path, target: Path) -> str:
    """The SHA-256 in a `.sha256.json` record; a corrupted record names itself and how to
    reset it."""
    reset = f"delete {record_path} and {target} to download and record it again"
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        recorded = record["sha256"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError, KeyError) as err:
        raise DataIntegrityError(
            f"{record_path}: hash record of {target.name} is unreadable "
            f"({type(err).__name__}: {err}); expected JSON with a 'sha256' entry; {reset}"
        ) from None
    if not isinstance(recorded, str) or not re.fullmatch(r"[0-9a-f]{64}", recorded):
        raise DataIntegrityError(
            f"{record_path}: 'sha256' is {recorded!r}; expected 64 lowercase hex digits; {reset}"
        )
    return recorded


def check_archive(path: Path) -> None:
    """Raise `DataIntegrityError` unless `path` opens as a zip archive with members (an
    HTML error page served with status 200 does not). Files not named `.zip` pass."""
    if path.suffix.lower() != ".zip":
        return
    try:
        with zipfile.ZipFile(path) as zf:
            if not zf.infolist():
                raise zipfile.BadZipFile("the archive has no members")
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        with open(path, "rb") as handle:
            start = handle.read(64)
        raise DataIntegrityError(
            f"{path}: not a valid zip archive ({err}); the file starts with {start[:32]!r}"
        ) from None


def fetch(
    remote: str | RemoteFile, *, progress: bool = True, cache: str | os.PathLike | None = None
) -> Path:
    """Download `remote` (a `REMOTE_FILES` name or a `RemoteFile`) into the cache once
    and return its local path, verified by SHA-256.

    The expected hash is the registry's, else the one recorded at the first download.
    A cached file that does not match raises `DataIntegrityError` (delete it to
    re-download); so does a download that does not match. The cache folder is
    `cache` or `paths.cache_dir()/"osf"` (`DNNALIGN_CACHE_DIR` overrides).
    """
    import pooch

    if isinstance(remote, str):
        if remote not in REMOTE_FILES:
            raise KeyError(f"{remote!r} is not a known remote file; known: {sorted(REMOTE_FILES)}")
        remote = REMOTE_FILES[remote]
    if cache is None:
        paths.check_cache_dir()  # names DNNALIGN_CACHE_DIR when it is a file or read-only
    folder = Path(cache) if cache is not None else paths.cache_dir() / "osf"
    target = folder / remote.filename
    record_path = _hash_record_path(target)
    expected = remote.sha256.lower() if remote.sha256 else None
    recorded = None
    if record_path.exists():
        recorded = _read_hash_record(record_path, target)
        if expected is not None and recorded != expected:
            raise DataIntegrityError(
                f"{target}: recorded SHA-256 {recorded} (in {record_path}) differs from the "
                f"registry's expected {expected}"
            )
        expected = expected or recorded
    if target.exists():
        if expected is None:
            raise DataIntegrityError(
                f"{target}: cached file has no recorded hash ({record_path} missing); "
                "delete it to download and record it again"
            )
        actual = cached_sha256(target)
        if actual != expected:
            raise DataIntegrityError(
                f"{target}: SHA-256 mismatch: expected {expected}, actual {actual}; "
                "delete the cached file to download it again"
            )
        try:  # a record written by an older version may vouch for an error page
            check_archive(target)
        except DataIntegrityError as err:
            raise DataIntegrityError(
                f"{err}; its hash was recorded in {record_path}: delete {record_path} and "
                f"{target} to download and record it again"
            ) from None
        return target
    folder.mkdir(parents=True, exist_ok=True)
    try:
        downloaded = pooch.retrieve(
            url=remote.url,
            known_hash=f"sha256:{expected}" if expected else None,
            fname=remote.filename,
            path=folder,
            progressbar=progress,
        )
    except ValueError as err:
        if "hash" not in str(err).lower():
            raise
        origin = (
            "the registry's hash"
            if remote.sha256
            else f"recorded on first use in {record_path}; if that first download was bad, "
            f"delete {record_path} to record the hash of a new download"
        )
        raise DataIntegrityError(
            f"{target} (from {remote.url}): SHA-256 of the download does not match: "
            f"expected {expected}, {origin} ({err})"
        ) from err
    downloaded = Path(downloaded)
    try:  # checked before any hash is recorded: a bad first download is never trusted
        check_archive(downloaded)
    except DataIntegrityError as err:
        downloaded.unlink(missing_ok=True)
        raise DataIntegrityError(
            f"{err} (downloaded from {remote.url}; deleted, nothing recorded; "
            "try again later or download it yourself)"
        ) from None
    if recorded is None:
        record = {
            "name": remote.name,
            "url": remote.url,
            "sha256": cached_sha256(downloaded),
            "size": downloaded.stat().st_size,
            "source": "registry" if remote.sha256 else "first download (trust on first use)",
            "recorded_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        atomic_write_text(record_path, json.dumps(record, indent=2) + "\n")
    return downloaded


# --------------------------------------------------------------------------- archives


def extract_archive(
    archive: str | os.PathLike, dest: str | os.PathLike, password: str | None = None
) -> Path:
    """Extract a zip archive into `dest` and return `dest`.

    Everything is extracted into a temporary folder beside `dest`, which is moved into
    place only when every member was read and its CRC checked: a failure leaves no partial
    `dest` behind. `dest` must not exist or be an empty folder. Members whose path would
    leave `dest` (absolute or containing ``..``) are refused before anything is written.
    Encrypted archives need `password`; a missing or wrong one (including a wrong one that
    passes ZipCrypto's one-byte check), a corrupted or truncated archive raise ValueError
    naming the archive (and the member).
    """
    archive, dest = Path(archive), Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(
            f"{archive}: cannot extract into {dest}: it exists and is not an empty folder"
        )
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, EOFError) as err:
        raise ValueError(
            f"{archive}: not a readable zip archive ({err}); delete it to download it again"
        ) from None
    with zf:
        if not zf.infolist():  # a damaged end record lists none: an empty dest would pass
            with open(archive, "rb") as handle:
                has_files = handle.read(4) == b"PK\x03\x04"  # a first file's header
            raise ValueError(
                f"{archive}: the zip archive lists no members"
                + (
                    ", though it holds files: its end record or central directory is "
                    "damaged; delete it to download it again"
                    if has_files
                    else "; expected an archive of files"
                )
            )
        for info in zf.infolist():
            member = PurePosixPath(info.filename)
            if member.is_absolute() or ".." in member.parts:
                raise ValueError(f"{archive}: member {info.filename!r} would leave {dest}")
        encrypted = any(info.flag_bits & 0x1 for info in zf.infolist())
        if encrypted and not password:
            raise ValueError(
                f"{archive}: the archive is encrypted; set {ENV_PASSWORD} to the password "
                "published with it on OSF"
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp"))
        try:
            pwd = password.encode() if password else None
            for info in zf.infolist():
                try:
                    zf.extract(info, tmp, pwd=pwd)
                except (RuntimeError, zipfile.BadZipFile, zlib.error, EOFError) as err:
                    hint = " (wrong password?)" if encrypted else " (corrupted archive?)"
                    raise ValueError(
                        f"{archive}: could not extract member {info.filename!r}{hint}: {err}"
                    ) from None
            tmp.chmod(default_mode(folder=True))  # mkdtemp's 0700 would make it private
            if dest.exists():
                dest.rmdir()  # empty, checked above
            os.replace(tmp, dest)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    return dest


def _env_or_fetch(env: str, remote: str, password: str | None = None) -> Path:
    path = paths.env_path(env)
    if path is not None:
        if not path.is_dir():
            raise FileNotFoundError(f"{env}={os.environ[env]}: {path} is not a folder")
        return path
    paths.check_cache_dir()  # before a download is tried, so the message names the variable
    dest = paths.cache_dir() / "osf" / f"{remote}_extracted"
    done = dest / ".extracted"
    if done.exists():
        return dest
    try:
        archive = fetch(remote)
    except Exception as err:
        raise RuntimeError(
            f"could not download {remote!r} ({err}); download it from OSF yourself, "
            f"extract it and set {env} to the folder"
        ) from err
    if dest.exists():  # our own cache folder without its marker: an interrupted extraction
        shutil.rmtree(dest)
    extract_archive(archive, dest, password)
    atomic_write_text(done, file_sha256(archive) + "\n")
    return dest


def things_images_dir() -> Path:
    """Folder with the THINGS photos: ``$DNNALIGN_THINGS_IMAGES``, else OSF (paper only)."""
    return _env_or_fetch(ENV_IMAGES, "things_images", os.environ.get(ENV_PASSWORD))


def things_triplets_dir() -> Path:
    """Folder with the THINGS-data triplet files: ``$DNNALIGN_THINGS_TRIPLETS``, else OSF."""
    return _env_or_fetch(ENV_TRIPLETS, "triplets_full")
