"""The batch report for one network: the chapters that study a network, run for it.

    python -m dnnalign_utils.book report --network PATH_OR_NAME --output-dir DIR
        [--layer L] [--picture-network NAME] [--profile smoke|default|paper] [--restart]
        [--seed N]

``PATH_OR_NAME`` is a registered network (`networks.NETWORKS`), a ``.npy`` of concept
features (1,854 rows in THINGS order) or a thingsvision features folder (the chapters'
``features_path``), or a folder of the reader's pictures holding ``concepts.csv``
(``file,uniqueID``; the chapters' ``images_dir``, seen by ``--picture-network``). The
input is resolved and validated (`networks.resolve`, and the readers) before any
notebook runs, so bad input fails at once naming the file and row.

The chapters of :data:`NETWORK_CHAPTERS` (and, for a registered picture network chapter
4 can explain, chapter 4's Grad-CAM: `ReportInput.chapters`) then run in order through
the book runner
(`book.execute_notebook`: papermill, the same parameter checks and profile overrides)
with the network's parameters injected, their executed copies in ``DIR/notebooks/``;
shared artefacts of earlier chapters (e.g. chapter 0's picture features) come from
`book.ensure_upstream`, run for the book's own network. ``DIR/report_state.json``
records each finished chapter with the network and parameters: the same command run
again skips them (after an interruption or a failed chapter it resumes there), and a
DIR holding another network's report is refused unless ``--restart``. The state also
keeps the manifest of the files the report wrote, with their hashes: the report removes
or replaces only those (never a file the reader put in DIR or edited), and refuses a
non-empty DIR that is not one of its reports.

``--seed N`` is injected into every chapter as its ``seed`` (:data:`DEFAULT_SEED`, the
chapters' own, is not injected) and is part of the report's identity: a folder holding
the report at one seed refuses another. Alone, another seed is refused for a network whose
artefacts are the book's own (`check_report`); the sweep (`dnnalign_utils.sweep`) runs
it, each report with an artefact folder of its own.

At the end, each written atomically: ``DIR/key_numbers.csv``, the one-row table of the
network's key numbers (`keynumbers.collect`) with its provenance sidecar, and
``DIR/report.md`` / ``DIR/report.html``, a small static page (no scripts, no external
assets) with the numbers and their meanings, the network, the profile, links to the
executed notebooks, their run times and the provenance record.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dnnalign_utils import keynumbers, networks, paths, profiles
from dnnalign_utils.book import (
    NOTEBOOK_DIR,
    BookBuildError,
    _check_parameters,
    check_run_folders,
    ensure_upstream,
    execute_notebook,
)
from dnnalign_utils.provenance import (
    atomic_write_text,
    file_sha256,
    provenance_record,
    write_artefact,
)

# The chapters that study one network, in pipeline order: those that record its key
# numbers (`keynumbers.KEY_NUMBERS`), so the two lists cannot drift apart.
NETWORK_CHAPTERS: tuple[str, ...] = keynumbers.CHAPTERS
# Chapter 4 explains a picture network's picture embedding: run for the registered
# EfficientNet-Lite networks (`networks.PICTURE_LEVEL_NETWORKS`) on chapter 0's pictures.
GRADCAM_CHAPTER = paths.GRADCAM_CHAPTER
# The parameters every network chapter declares after `profile` (in this order).
NETWORK_PARAMETERS: tuple[str, ...] = ("network", "features_path", "images_dir", "layer")
# The seed every network chapter declares (`seed = 0`: sampling, splits, fits, folds,
# bootstraps and permutations). A report injects `--seed` only when it differs, so a
# report at this seed runs the chapters exactly as the book does.
DEFAULT_SEED = 0

STATE_FILE = "report_state.json"
KEY_NUMBERS_FILE = "key_numbers.csv"
REPORT_MARKDOWN = "report.md"
REPORT_HTML = "report.html"
STATE_VERSION = 2  # 2: the state holds the manifest of the report's own files

# How the report prints each key number (the others: one decimal).
_INTEGERS = ("n_concepts", "n_dimensions")
_CORRELATIONS = ("best_match_r", "global_rsa_r")


class ReportError(BookBuildError):
    """The report cannot run as asked (e.g. its folder holds another network's report)."""


@dataclass(frozen=True)
class ReportInput:
    """The network a report studies: what ``--network`` names (``given``), resolved once
    into ``network`` (`networks.resolve`) and validated. ``input_sha256`` hashes the
    reader's files (empty for a registered network, whose data the chapters hash
    themselves); ``description`` says what the features are."""

    given: str
    kind: str  # "registered" | "features" | "pictures"
    network: networks.Network
    description: str
    input_sha256: str = ""

    @property
    def key(self) -> str:
        return self.network.key

    @property
    def parameters(self) -> dict:
        """The chapters' network parameters (`NETWORK_PARAMETERS`), absolute paths."""
        return self.network.chapter_parameters()

    def identity(self, profile: str, seed: int = DEFAULT_SEED) -> dict:
        """What a report folder's state must match for its chapters to be reused (a
        report at another seed is another report)."""
        return {
            "profile": profile,
            "network_key": self.key,
            "parameters": self.parameters,
            "input_sha256": self.input_sha256,
            "seed": seed,
        }

    @property
    def chapters(self) -> tuple[str, ...]:
        """The chapters its report runs, in pipeline order: :data:`NETWORK_CHAPTERS`, with
        chapter 4 for a registered picture network that sees chapter 0's pictures
        (`Network.sees_chapter0_pictures`; chapter 4 needs their object masks)."""
        if self.kind == "registered" and self.network.sees_chapter0_pictures:
            return tuple(sorted((*NETWORK_CHAPTERS, GRADCAM_CHAPTER)))
        return NETWORK_CHAPTERS

    def finished_file(self, profile: str, chapter: str) -> Path:
        """What a finished run of `chapter` leaves for this network: its key-number
        record, or, for chapter 4, its saved dimension predictor."""
        if chapter == GRADCAM_CHAPTER:
            return paths.picture_predictor(profile, self.network)
        return keynumbers.record_path(profile, self.network, chapter)

    def chapter_parameters(self, seed: int = DEFAULT_SEED) -> dict:
        """What the report injects into each chapter: the network parameters, and
        ``seed`` where it is not the chapters' own (:data:`DEFAULT_SEED`)."""
        return {**self.parameters, **({"seed": seed} if seed != DEFAULT_SEED else {})}


def resolve_input(
    network: str,
    profile: str,
    *,
    layer: str = "",
    picture_network: str | None = None,
) -> ReportInput:
    """Resolve ``--network`` (a registered name, a ``.npy``, a thingsvision folder, or a
    folder with ``concepts.csv``) and validate it without running a chapter: a reader's
    features are read (`networks.load`: row count, finite values, ...), a picture folder's
    ``concepts.csv`` is checked row by row and the picture network's layer must exist.
    Errors name the argument, file and row."""
    profiles.check_profile(profile)
    if not isinstance(network, str) or not network.strip():
        raise ValueError(f"--network {network!r}: expected a network name or a path")
    if not isinstance(layer, str):
        raise ValueError(f"--layer {layer!r}: expected a layer name")
    path = Path(network).expanduser()
    is_picture_folder = path.is_dir() and (path / networks.IMAGE_MAPPING_FILE).is_file()
    if picture_network is not None and not is_picture_folder:
        raise ValueError(
            f"--picture-network {picture_network}: only for a folder of pictures with "
            f"{networks.IMAGE_MAPPING_FILE}; --network {network} is not one"
        )
    if is_picture_folder:
        seen_by = picture_network or paths.DEFAULT_PICTURE_NETWORK
        spec = networks.resolve(seen_by, images_dir=path.resolve(), layer=layer)
        digest = networks.input_sha256(spec)  # checks concepts.csv row by row
        networks.check_picture_layer(spec, profile)
        return ReportInput(network, "pictures", spec, spec.description, digest)
    if path.exists():
        source = path.resolve()
        if source.is_file() and source.suffix == ".npy" and layer:
            raise ValueError(
                f"--layer {layer}: {path} is a .npy of concept features, which has no "
                "layers; --layer selects a sub-folder of a thingsvision features folder "
                "or a layer of a picture network"
            )
        spec = networks.resolve(paths.DEFAULT_NETWORK, features_path=source, layer=layer)
        loaded = networks.load(profile, spec)  # reads and checks every row
        digest = loaded.input_hashes["features"]
        return ReportInput(network, "features", spec, loaded.description, digest)
    if network in networks.NETWORKS or network.startswith(networks.TORCHVISION_PREFIX):
        spec = networks.resolve(network, layer=layer)
        if spec.kind == "pictures":
            networks.check_picture_layer(spec, profile)
        elif layer:
            raise ValueError(
                f"--layer {layer}: {network} is a registered network of concept features, "
                "which has no layers to choose"
            )
        return ReportInput(network, "registered", spec, spec.description)
    looks_like_path = os.sep in network or "/" in network or network.endswith(".npy")
    if looks_like_path:
        raise FileNotFoundError(f"--network {network}: no such file or folder")
    raise ValueError(
        f"--network {network}: expected a registered network ({', '.join(networks.NETWORKS)}), "
        f"a .npy of concept features, a thingsvision features folder, or a folder of "
        f"pictures with {networks.IMAGE_MAPPING_FILE}"
    )


# ------------------------------------------------------------------------- state


def _read_state(output_dir: Path) -> dict | None:
    path = output_dir / STATE_FILE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ReportError(
            f"{path}: not a report state file ({err}); this folder is not a report of "
            "this command: choose another --output-dir"
        ) from None
    if not isinstance(state, dict) or state.get("version") not in (1, STATE_VERSION):
        raise ReportError(
            f"{path}: unknown state format; this folder is not a report of this command: "
            "choose another --output-dir"
        )
    if state["version"] == 1:  # written before the manifest: its fixed file names
        state["written"] = {name: None for name in _LEGACY_OUTPUTS if (output_dir / name).exists()}
        state["version"] = STATE_VERSION
    if not isinstance(state.get("written"), dict):
        raise ReportError(
            f"{path}: no manifest of the report's files; choose another --output-dir"
        )
    return state


def _write_state(output_dir: Path, state: dict) -> None:
    atomic_write_text(output_dir / STATE_FILE, json.dumps(state, indent=2) + "\n")


def _differences(recorded: dict, wanted: dict) -> list[str]:
    found = []
    for name in ("profile", "network_key", "input_sha256"):
        if recorded.get(name) != wanted[name]:
            found.append(f"{name} {recorded.get(name)!r} (asked: {wanted[name]!r})")
    seed = recorded.get("seed", DEFAULT_SEED)  # a state written before seeds: the default
    if seed != wanted.get("seed", DEFAULT_SEED):
        found.append(f"seed {seed!r} (asked: {wanted.get('seed', DEFAULT_SEED)!r})")
    for name, value in wanted["parameters"].items():
        before = recorded.get("parameters", {}).get(name)
        if before != value:
            found.append(f"{name} {before!r} (asked: {value!r})")
    return found


# ---------------------------------------------------------------- the manifest
# A report folder may hold the reader's own files. The report deletes or replaces only
# files it wrote itself: `state["written"]` maps each one (relative path) to the SHA-256
# it had when written (None: being written by a run that has not finished).


def _notebook_files(stem: str) -> tuple[str, ...]:
    """The files `book.execute_notebook` may write for `stem` (relative paths)."""
    names = (f"{stem}.ipynb", f"{stem}.failed.ipynb", f".{stem}.partial.ipynb")
    return tuple(f"{NOTEBOOK_DIR}/{name}" for name in names)


_REPORT_FILES = (
    KEY_NUMBERS_FILE,
    f"{KEY_NUMBERS_FILE}.provenance.json",
    REPORT_MARKDOWN,
    REPORT_HTML,
)
_LEGACY_OUTPUTS = (
    *(name for stem in (*NETWORK_CHAPTERS, GRADCAM_CHAPTER) for name in _notebook_files(stem)),
    *_REPORT_FILES,
)


def _check_ours(output_dir: Path, state: dict, names) -> None:
    """Refuse (before anything is touched) if one of `names` exists in `output_dir` but
    is not a file this report wrote, or was changed since it wrote it."""
    written = state["written"]
    for name in names:
        path = output_dir / name
        if not path.exists() and not path.is_symlink():
            continue
        if name not in written:
            raise ReportError(
                f"{path}: not written by this report; the report would replace it. Move it "
                "away or choose another --output-dir"
            )
        recorded = written[name]
        if recorded is not None and (not path.is_file() or file_sha256(path) != recorded):
            raise ReportError(
                f"{path}: changed since the report wrote it; the report would replace it. "
                "Move it away or choose another --output-dir"
            )


def _record_written(output_dir: Path, state: dict, names, *, pending: bool = False) -> None:
    """Add `names` to the manifest: as being written (`pending`), or with their hashes
    (files that do not exist are dropped from it)."""
    for name in names:
        path = output_dir / name
        if pending:
            state["written"][name] = None
        elif path.is_file():
            state["written"][name] = file_sha256(path)
        else:
            state["written"].pop(name, None)
    _write_state(output_dir, state)


def _clear_outputs(output_dir: Path, state: dict) -> None:
    """Remove what the report wrote into `output_dir` (its manifest), and nothing else;
    every file is checked before the first is removed."""
    _check_ours(output_dir, state, list(state["written"]))
    for name in list(state["written"]):
        (output_dir / name).unlink(missing_ok=True)
        del state["written"][name]


def _check_new_folder(output_dir: Path) -> None:
    """A folder that holds no report state must be missing or empty."""
    if not output_dir.is_dir():
        return
    found = sorted(entry.name for entry in output_dir.iterdir())
    if found:
        shown = ", ".join(found[:5]) + (f", ... ({len(found)} entries)" if len(found) > 5 else "")
        raise ReportError(
            f"--output-dir {output_dir}: not empty and not a report of this command (no "
            f"{STATE_FILE}); it holds {shown}. The report never writes into a folder of "
            "other files: choose a new or empty folder"
        )


def check_seed(seed: object) -> int:
    """`seed` if it is a non-negative integer (the chapters' `seed`); else ValueError
    naming ``--seed``."""
    from dnnalign_utils.conventions import is_integer

    if not is_integer(seed) or seed < 0:
        raise ValueError(f"--seed {seed!r}: expected a non-negative integer")
    return int(seed)


def own_artefact_paths(network: networks.Network, profile: str) -> list[Path]:
    """What a report of `network` writes under the artefact folder of `profile`: its
    key numbers, its downloads (chapter 4's where they are its own) and each per-network
    hand-off of the network chapters (the picture ones only for a picture network)."""
    found = [paths.key_numbers_dir(profile, network)]
    for stem in (*NETWORK_CHAPTERS, GRADCAM_CHAPTER):
        folder = paths.downloads_dir(profile, network, stem) / stem
        if folder not in found:
            found.append(folder)
    for name, artefact in paths.ARTEFACTS.items():
        if not artefact.per_network or artefact.chapter not in (
            *NETWORK_CHAPTERS,
            GRADCAM_CHAPTER,
        ):
            continue
        if artefact.picture_level and network.kind != "pictures":
            continue
        path = paths.artefact_path(name, profile, network)
        if path not in found:
            found.append(path)
    return found


def check_report(
    found: ReportInput,
    output_dir: Path,
    profile: str,
    *,
    seed: int = DEFAULT_SEED,
    restart: bool = False,
    own_artefacts: bool = False,
    root: Path = paths.REPO_ROOT,
) -> tuple[str, ...]:
    """Every refusal of :func:`run_report` that needs no kernel, touching nothing (a
    sweep runs them for all its reports before the first starts); returns the chapters
    the report runs.

    Another seed than the chapters' own writes another version of the network's
    artefacts: refused for a network whose artefacts are the book's own (the book's
    network, the book's picture network), unless `own_artefacts` says the artefact
    folder is this report's alone (a sweep's)."""
    check_seed(seed)
    if seed != DEFAULT_SEED and not own_artefacts:
        shared = paths.artefacts_dir(profile) / paths.NETWORKS_SUBDIR
        book_own = [
            p for p in own_artefact_paths(found.network, profile) if shared not in p.parents
        ]
        if book_own:
            raise ReportError(
                f"--seed {seed} for {found.given}: its artefacts are the book's own (e.g. "
                f"{paths.display_path(book_own[0])}), which another seed would replace; run "
                "it with `python -m dnnalign_utils.book sweep`, which gives every report an "
                "artefact folder of its own"
            )
    check_run_folders(profile)
    chapters = found.chapters
    for stem in chapters:  # every check that needs no kernel, before the first
        source = Path(root) / NOTEBOOK_DIR / f"{stem}.py"
        if not source.is_file():
            raise BookBuildError(f"{source}: chapter source not found")
        parameters = {
            **profiles.notebook_parameters(profile, stem),
            **found.chapter_parameters(seed),
        }
        _check_parameters(source, parameters)
    state = _read_state(output_dir)
    if state is None:
        _check_new_folder(output_dir)
    elif not restart:
        differences = _differences(state.get("identity", {}), found.identity(profile, seed))
        if differences:
            raise ReportError(
                f"{output_dir} holds the report of another network or run: "
                + "; ".join(differences)
                + ". One folder holds one network's report: choose another --output-dir, "
                "or pass --restart to discard that report (only the files it wrote) and run "
                "all chapters again"
            )
    if state is not None:
        names = [name for stem in chapters for name in _notebook_files(stem)]
        _check_ours(output_dir, state, [*names, *_REPORT_FILES])
    return chapters


# ------------------------------------------------------------------------- run


@dataclass
class ReportResult:
    """What `run_report` did: the chapters it ran and skipped, the chapters' run times
    (s, from the run that finished them) and the network's key numbers."""

    output_dir: Path
    network_key: str
    label: str
    network: networks.Network | None = None
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    key_numbers: dict = field(default_factory=dict)


def run_report(
    network: str,
    output_dir: str | os.PathLike,
    *,
    profile: str = "default",
    layer: str = "",
    picture_network: str | None = None,
    restart: bool = False,
    root: str | os.PathLike = paths.REPO_ROOT,
    log: Callable[[str], None] = lambda line: print(line, flush=True),
    seed: int = DEFAULT_SEED,
    own_artefacts: bool = False,
) -> ReportResult:
    """Run the network chapters for one network into `output_dir` and write its report
    (the module docstring says what, where, and how it resumes). `seed` is injected into
    the chapters (:data:`DEFAULT_SEED`: their own); `own_artefacts`: the artefact folder
    is this report's alone (:func:`check_report`)."""
    root = Path(root).resolve()
    output_dir = paths.check_writable_folder(output_dir, f"--output-dir {output_dir}")
    found = resolve_input(network, profile, layer=layer, picture_network=picture_network)
    chapters = check_report(
        found,
        output_dir,
        profile,
        seed=seed,
        restart=restart,
        own_artefacts=own_artefacts,
        root=root,
    )
    identity = found.identity(profile, seed)
    state = _read_state(output_dir)
    if state is None:
        state = {"version": STATE_VERSION, "identity": identity, "chapters": {}, "written": {}}
    elif restart:
        _clear_outputs(output_dir, state)
        state.update(identity=identity, chapters={})
    output_dir.mkdir(parents=True, exist_ok=True)
    _write_state(output_dir, state)

    label = found.network.label
    result = ReportResult(output_dir, found.key, label, found.network)
    tag = f"[report {profile}]"
    log(f"{tag} {label} (artefact key {found.key}) into {output_dir}")
    rerun_rest = False  # once a chapter runs, the later ones read its new outputs
    total = len(chapters)
    for number, stem in enumerate(chapters, start=1):
        done = state["chapters"].get(stem)
        executed = output_dir / NOTEBOOK_DIR / f"{stem}.ipynb"
        if (
            done
            and not rerun_rest
            and executed.is_file()
            and found.finished_file(profile, stem).is_file()
        ):
            result.skipped.append(stem)
            result.timings[stem] = done["seconds"]
            log(f"{tag} {number}/{total} {stem}: finished earlier, skipped")
            continue
        rerun_rest = True
        state["chapters"].pop(stem, None)
        _write_state(output_dir, state)
        ensure_upstream(profile, stem, found.network, root)
        log(f"{tag} {number}/{total} {stem}: running ...")
        _record_written(output_dir, state, _notebook_files(stem), pending=True)
        try:
            _, wall = execute_notebook(
                stem,
                profile,
                output_dir,
                root=root,
                extra_parameters=found.chapter_parameters(seed),
            )
        finally:
            _record_written(output_dir, state, _notebook_files(stem))
        finished = found.finished_file(profile, stem)
        if not finished.is_file():
            raise BookBuildError(
                f"notebook {NOTEBOOK_DIR}/{stem} ran but wrote no result for network "
                f"{found.key!r} (expected {finished})"
            )
        state["chapters"][stem] = {
            "seconds": round(wall, 1),
            "finished_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        _write_state(output_dir, state)
        result.ran.append(stem)
        result.timings[stem] = round(wall, 1)
        log(f"{tag} {number}/{total} {stem}: done in {wall:.1f} s")

    row = keynumbers.collect(profile, found.network)
    result.label = row.get("label", label)
    result.key_numbers = row
    _record_written(output_dir, state, _REPORT_FILES, pending=True)
    try:
        write_report(output_dir, found, profile, row, result.timings, root, chapters, seed=seed)
    finally:
        _record_written(output_dir, state, _REPORT_FILES)
    log(f"{tag} key numbers: {output_dir / KEY_NUMBERS_FILE}")
    log(f"{tag} report: {output_dir / REPORT_HTML} (and {REPORT_MARKDOWN})")
    return result


# ------------------------------------------------------------------------ report


def format_value(name: str, value: float) -> str:
    """A key number as the report prints it ('–' where it is NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if name in _INTEGERS:
        return f"{int(round(value)):,}"
    if name in _CORRELATIONS:
        return f"{value:.3f}"
    return f"{value:.1f}"


def _cell(text: str) -> str:
    """Text for a Markdown table cell (pipes escaped, no line breaks)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def report_markdown(
    found: ReportInput,
    profile: str,
    row: dict,
    timings: dict[str, float],
    description: str,
    record: dict,
    chapters: tuple[str, ...] = NETWORK_CHAPTERS,
    seed: int = DEFAULT_SEED,
) -> str:
    """The report page in Markdown: the key numbers with their meanings, the network,
    the profile and seed, the executed notebooks with their run times, the provenance
    record."""
    label = row.get("label", found.network.label)
    source = {
        "registered": f"the registered network `{found.given}`",
        "features": f"the concept features in `{found.parameters['features_path']}`",
        "pictures": (
            f"the pictures in `{found.parameters['images_dir']}` (listed in "
            f"`{networks.IMAGE_MAPPING_FILE}`), seen by `{found.parameters['network']}`"
        ),
    }[found.kind]
    layer_note = f", layer `{found.parameters['layer']}`" if found.parameters["layer"] else ""
    lines = [
        f"# Key numbers of {label}",
        "",
        f"- **Network**: {description}",
        f"- **Source**: {source}{layer_note}",
        f"- **Artefact key**: `{found.key}`",
        f"- **Profile**: `{profile}`",
        f"- **Seed**: `{seed}`" + (" (the chapters' own)" if seed == DEFAULT_SEED else ""),
        "",
        "| Key number | Value | Meaning | Chapter |",
        "| --- | ---: | --- | --- |",
    ]
    for number in keynumbers.KEY_NUMBERS:
        link = f"[{number.chapter}]({NOTEBOOK_DIR}/{number.chapter}.ipynb)"
        lines.append(
            f"| `{number.name}` | {format_value(number.name, row.get(number.name))} | "
            f"{_cell(number.description)} | {link} |"
        )
    lines += [
        "",
        "A dash: the chapter could not compute the number on this network's inputs "
        "(its notebook says why).",
        "",
        "## Executed notebooks",
        "",
        "| Chapter | Run time (s) |",
        "| --- | ---: |",
    ]
    for stem in chapters:
        seconds = timings.get(stem)
        shown = "–" if seconds is None else f"{seconds:.1f}"
        lines.append(f"| [{stem}]({NOTEBOOK_DIR}/{stem}.ipynb) | {shown} |")
    total = sum(timings.values())
    lines += [
        f"| all | {total:.1f} |",
        "",
        f"The one-row table: [{KEY_NUMBERS_FILE}]({KEY_NUMBERS_FILE}).",
        "",
        "## Provenance",
        "",
        "```json",
        json.dumps(record, indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)


_HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.45; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; vertical-align: top; }}
pre {{ background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def report_html(markdown: str, title: str) -> str:
    """The Markdown report as one static HTML page (no scripts, no external assets)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    return _HTML_PAGE.format(title=html.escape(title), body=body)


def write_report(
    output_dir: Path,
    found: ReportInput,
    profile: str,
    row: dict,
    timings: dict[str, float],
    root: Path = paths.REPO_ROOT,
    chapters: tuple[str, ...] = NETWORK_CHAPTERS,
    seed: int = DEFAULT_SEED,
) -> dict[str, Path]:
    """Write `key_numbers.csv` (with its provenance sidecar), `report.md` and
    `report.html` into `output_dir`, each atomically."""
    description = found.description
    notebooks = {
        f"{NOTEBOOK_DIR}/{stem}.ipynb": output_dir / NOTEBOOK_DIR / f"{stem}.ipynb"
        for stem in chapters
    }
    record = provenance_record(
        "dnnalign_utils.report",
        parameters={
            **found.identity(profile, seed),
            "chapters": list(chapters),
            "seconds": {stem: timings.get(stem) for stem in chapters},
        },
        inputs={name: path for name, path in notebooks.items() if path.is_file()},
        input_hashes={"network_input": found.input_sha256} if found.input_sha256 else None,
    )
    columns = ["network", "label", *(k.name for k in keynumbers.KEY_NUMBERS)]
    frame = pd.DataFrame([{name: row.get(name) for name in columns}], columns=columns)
    frame = frame.astype({name: "Float64" for name in columns[2:]}).round(
        {name: 0 for name in _INTEGERS}
    )
    frame = frame.astype({name: "Int64" for name in _INTEGERS})  # counts print as counts
    csv_path = output_dir / KEY_NUMBERS_FILE
    write_artefact(csv_path, lambda tmp: frame.to_csv(tmp, index=False), record)
    markdown = report_markdown(
        found, profile, row, timings, description, record, chapters, seed=seed
    )
    title = f"Key numbers of {row.get('label', found.network.label)}"
    md_path = atomic_write_text(output_dir / REPORT_MARKDOWN, markdown)
    html_path = atomic_write_text(output_dir / REPORT_HTML, report_html(markdown, title))
    return {"key_numbers": csv_path, "markdown": md_path, "html": html_path}


def chapters_accept_network_parameters(root: str | os.PathLike = paths.REPO_ROOT) -> bool:
    """Whether every chapter of :data:`NETWORK_CHAPTERS` in `root` declares the network
    parameters in its `parameters` cell (read, not executed)."""
    for stem in NETWORK_CHAPTERS:
        source = Path(root) / NOTEBOOK_DIR / f"{stem}.py"
        if not source.is_file():
            return False
        declared = profiles.parameters_cell_values(source)
        if not all(name in declared for name in NETWORK_PARAMETERS):
            return False
    return True
