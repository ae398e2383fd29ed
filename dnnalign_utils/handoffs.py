"""The book's hand-offs, published with the site and fetched by a chapter run alone.

Chapters hand artefacts to each other (`paths.ARTEFACTS`, read as `paths.CHAPTER_INPUTS`
says). A chapter opened alone (Binder, Colab, a downloaded notebook) does not have them.
Rather than recompute the earlier chapters, it fetches the ones it needs from the
published book:

- the book build publishes every hand-off a chapter reads, for the book's own networks,
  under ``<site>/handoffs/<profile>/`` with a registry of their SHA-256 hashes
  (:func:`publish`; pooch's registry format, first line naming the package version);
- :func:`fetch` downloads, hash-checked with pooch, the hand-offs that a chapter's
  missing upstream runs would write (`book.fetch_published_handoffs` asks for them),
  from ``DNNALIGN_BOOK_URL`` (default: the published book, :func:`book_url`). A
  hand-off of the reader's own network is never fetched; it is computed. Whatever
  cannot be fetched (no network, another package version, a file that is not
  published) is recomputed by `book.ensure_upstream`, which first prints how long that
  took in a measured run (:data:`MEASURED_SECONDS`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from dnnalign_utils import __version__, paths
from dnnalign_utils.provenance import atomic_write_text, file_sha256

BOOK_URL_ENV = "DNNALIGN_BOOK_URL"
SITE_FOLDER = "handoffs"
REGISTRY_FILE = "registry.txt"
# seconds to wait for the book's server before recomputing instead
FETCH_TIMEOUT_S = 20

# Wall time of each chapter in a measured book build on 2 cores (`book build`, the
# runner's per-notebook times), from an empty artefact folder: smoke and default builds
# of 2026-12-07 on a quiet machine (1-minute load about 1 before they started); a machine
# busy with other work takes longer.
MEASURED_SECONDS: dict[str, dict[str, float]] = {
    "smoke": {
        "00_data": 11.7,
        "01_triplet_task": 6.8,
        "02_embedding_fit": 8.7,
        "03_r2_regression": 19.0,
        "04_gradcam": 16.2,
        "05_visual_semantic_rating": 12.5,
        "06_human_vs_dnn": 4.7,
        "07_networks": 18.8,
        "08_explorer": 6.0,
    },
    "default": {
        "00_data": 117.2,
        "01_triplet_task": 9.0,
        "02_embedding_fit": 152.2,
        "03_r2_regression": 24.1,
        "04_gradcam": 70.2,
        "05_visual_semantic_rating": 139.8,
        "06_human_vs_dnn": 11.6,
        "07_networks": 99.5,
        "08_explorer": 7.9,
    },
}


def handoff_names() -> list[str]:
    """The hand-offs some chapter reads (names of `paths.ARTEFACTS`), sorted."""
    return sorted({name for names in paths.CHAPTER_INPUTS.values() for name in names})


def _files_of(path: Path) -> list[Path]:
    """A hand-off's files: the file and its provenance sidecar, or a folder's files."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    sidecar = path.with_name(path.name + ".provenance.json")
    return [p for p in (path, sidecar) if p.is_file()]


def published_files(profile: str) -> dict[str, Path]:
    """What the book publishes for `profile`: relative path (under the profile's artefact
    folder) -> file, for every hand-off of the book's own networks that exists."""
    root = paths.artefacts_dir(profile)
    found = {}
    for name in handoff_names():
        for file in _files_of(paths.artefact_path(name, profile)):
            found[file.relative_to(root).as_posix()] = file
    return found


def publish(profile: str, site_dir: str | os.PathLike) -> Path:
    """Copy the hand-offs of `profile` into ``<site_dir>/handoffs/<profile>/`` and write
    their registry (relative path and SHA-256, one per line). Files this function did
    not write are never there to replace: the folder is the build's own output."""
    target = Path(site_dir) / SITE_FOLDER / profile
    files = published_files(profile)
    lines = [f"# dnnalign {__version__} hand-offs of the {profile} profile"]
    for relative, file in sorted(files.items()):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, destination)
        lines.append(f"{relative} {file_sha256(file)}")
    return atomic_write_text(target / REGISTRY_FILE, "\n".join(lines) + "\n")


def book_url(default: str | None) -> str | None:
    """Where the published book is: ``DNNALIGN_BOOK_URL`` (empty: fetch nothing), else
    `default` (the runner passes the Pages address of the repository)."""
    value = os.environ.get(BOOK_URL_ENV)
    if value is not None:
        return value.strip() or None
    return default


def _registry(base: str, profile: str, log) -> dict[str, str] | None:
    """The published registry of `profile` (relative path -> sha256), or None when it
    cannot be had or was written by another package version."""
    import pooch

    url = f"{base.rstrip('/')}/{SITE_FOLDER}/{profile}/{REGISTRY_FILE}"
    cache = paths.artefacts_dir(profile) / ".handoff_registry"
    try:
        fetched = pooch.retrieve(
            url,
            known_hash=None,
            fname=REGISTRY_FILE,
            path=cache,
            downloader=pooch.HTTPDownloader(timeout=FETCH_TIMEOUT_S, progressbar=False),
            progressbar=False,
        )
    except Exception as error:  # no network, no server, 404: recompute instead
        log(f"  the published hand-offs could not be fetched from {url}: {error}")
        return None
    text = Path(fetched).read_text(encoding="utf-8")
    Path(fetched).unlink()  # fetched anew each time: the book may have been rebuilt
    header = f"# dnnalign {__version__} "
    if not text.startswith(header):
        log(f"  {url} was written by another version of dnnalign ({text.splitlines()[0]})")
        return None
    entries = (line.split() for line in text.splitlines()[1:] if line.strip())
    return {relative: digest for relative, digest in entries}


def fetch(profile: str, names: Iterable[str], base: str | None, *, log=print) -> list[str]:
    """Fetch the hand-offs `names` (of the book's own networks) from the book published
    at `base`, each file checked against the registry's SHA-256 (pooch). Returns the
    names fetched completely; nothing is written for the others (pooch moves a file into
    place only once its hash matches)."""
    import pooch

    names = list(names)
    if not names or base is None:
        return []
    pooch.get_logger().setLevel("WARNING")  # one line for all files, below
    registry = _registry(base, profile, log)
    if registry is None:
        return []
    root = paths.artefacts_dir(profile)
    fetcher = pooch.create(
        path=root,
        base_url=f"{base.rstrip('/')}/{SITE_FOLDER}/{profile}/",
        registry={relative: f"sha256:{digest}" for relative, digest in registry.items()},
        allow_updates=False,
    )
    downloader = pooch.HTTPDownloader(timeout=FETCH_TIMEOUT_S, progressbar=False)
    fetched = []
    for name in names:
        prefix = paths.artefact_path(name, profile).relative_to(root).as_posix()
        files = [r for r in registry if r == prefix or r.startswith(prefix + "/")]
        files += [r for r in registry if r == f"{prefix}.provenance.json"]
        if not files:
            continue
        try:
            for relative in files:
                fetcher.fetch(relative, downloader=downloader)
        except Exception as error:  # a broken download or a hash mismatch: recompute
            log(f"  {name}: not fetched ({error})")
            continue
        fetched.append(name)
    if fetched:
        log(f"  fetched from {base}: {', '.join(fetched)} (SHA-256 checked)")
    return fetched


def _duration(seconds: float) -> str:
    return f"about {seconds / 60:.0f} min" if seconds >= 90 else f"about {seconds:.0f} s"


def estimate(profile: str, stems: Iterable[str]) -> str:
    """How long recomputing `stems` took in the measured build (:data:`MEASURED_SECONDS`)."""
    measured = MEASURED_SECONDS.get(profile, {})
    stems = list(stems)
    if not stems or any(s not in measured for s in stems):
        return "time not measured for this profile"
    return f"{_duration(sum(measured[s] for s in stems))} on 2 cores, as measured in a book build"


def takes(profile: str, stem: str) -> str:
    """A chapter's "Takes" line: its wall time in the measured build of `profile`."""
    seconds = MEASURED_SECONDS.get(profile, {}).get(stem)
    if seconds is None:
        return f"not measured for the {profile} profile"
    return (
        f"{_duration(seconds)} on 2 cores in the {profile} profile (measured in a book build "
        "on a machine shared with other work)"
    )
