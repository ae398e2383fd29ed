"""Book runner: execute the chapter notebooks with papermill, then build the Jupyter Book.

    python -m dnnalign_utils.book build --profile {smoke,default,paper}
        [--only STEM ...] [--output-dir DIR] [--no-execute] [--no-book] [--root DIR]

(also installed as the `dnnalign-book` console script). Steps:

1. read `_toc.yml`; chapter notebooks are the entries `notebooks/NN_topic`;
2. for each, in toc order: read `notebooks/NN_topic.py` (the jupytext source of truth),
   drop the jupytext metadata, add a hidden first cell that selects the book's plotly
   renderer, and execute it with papermill (parameters from `dnnalign_utils.profiles`,
   environment `DNNALIGN_BOOK_BUILD=1`, `DNNALIGN_PROFILE=<profile>`) into
   `<output>/_build/executed/<profile>/notebooks/NN_topic.ipynb`. The paired
   `notebooks/*.ipynb` are never written. A failing notebook stops the run with a
   message naming the notebook and the cell;
3. assemble a staging book `<output>/_build/stage/<profile>/` (config, toc, prose,
   bibliography, the executed notebooks; the vendored plotly.js bundle must have the
   version of the installed plotly's own `plotly.min.js`)
   and run `jupyter-book build <stage> --path-output <output> -W -n --keep-going`, so
   the HTML lands in `<output>/_build/html/`.

`<output>` defaults to the repository root (giving `_build/html/index.html`).

    python -m dnnalign_utils.book report --network PATH_OR_NAME --output-dir DIR
        [--layer L] [--picture-network NAME] [--profile smoke|default|paper] [--restart]

runs the chapters that study a network for one network (a registered name, a `.npy` of
concept features, a thingsvision folder, or a folder of pictures with `concepts.csv`)
into DIR and writes its key numbers and a small report (`dnnalign_utils.report`).

    python -m dnnalign_utils.book sync-notebooks [--check] [STEM ...]

writes each `notebooks/NN_topic.ipynb` from its `.py` source plus the Colab set-up cell
(`COLAB_SETUP_CELL`, kept here only), the command to run after editing a chapter.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dnnalign_utils import handoffs
from dnnalign_utils.paths import (
    ARTEFACTS,
    ARTEFACTS_ENV,
    DEFAULT_NETWORK,
    REPO_ROOT,
    NetworkValue,
    absolute_path_variables,
    artefacts_dir,
    artefacts_root,
    check_artefacts_root,
    check_cache_dir,
    check_writable_folder,
    input_network,
    missing_inputs,
    network_dir,
)
from dnnalign_utils.profiles import (
    PROFILE_NAMES,
    apply_profile,
    notebook_parameters,
    parameter_type_problems,
)

NOTEBOOK_DIR = "notebooks"
# Where `_config.yml` points `html_static_path` (vendored reader-side assets).
STATIC_DIR = Path("book") / "vendor" / "static"
# The book's plotly.js: the official partial bundle with the cartesian trace types
# (npm `plotly.js-cartesian-dist-min`, vendored by book/vendor/fetch_assets.sh), 1.5 MB
# instead of the full 4.8 MB `plotly.min.js`. Its version must be the one the installed
# plotly package ships (`plotly_js_version_problem` checks before a build).
PLOTLY_JS = STATIC_DIR / "plotly" / "plotly-cartesian.min.js"
_PLOTLY_VERSION = re.compile(r"plotly\.js(?: \([a-z -]+\))? v(\d+\.\d+\.\d+)")
# Files and folders of the book root copied into the staging book.
STAGE_ITEMS = ("_config.yml", "_toc.yml", "book", "references.bib", "data/README.md")
KERNEL_NAME = "python3"

# Hidden first cell of every executed notebook: during a book build (the runner sets
# DNNALIGN_BOOK_BUILD=1) the book's plotly renderer and silent progress bars. The cell
# stays in the notebook a reader downloads from the book; there it does nothing, so
# plotly's own renderer detection and the progress bars apply.
RENDERER_CELL = "import dnnalign_utils.plotting as _p\n\n_p.configure_for_book_build()\ndel _p"
_INSERTED = "dnnalign_inserted"

_COLAB_SETUP_TEMPLATE = """\
# Colab only: fetch this repository and install what Colab lacks; does nothing elsewhere.
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    import importlib.metadata
    import tempfile

    _repo = "/content/dnnalign"
    if not os.path.isdir(_repo):
        subprocess.run(
            ["git", "clone", "--depth", "1", "REPOSITORY_URL", _repo],
            check=True,
        )
    # Every package Colab ships (IPython, torch, numpy, ...) keeps its version: pip adds
    # what is missing, or stops, rather than change the running kernel's packages (this
    # package itself, installed by an earlier run, may change with the clone).
    _shipped = {}
    for _dist in importlib.metadata.distributions():
        _name = (_dist.metadata["Name"] or "").lower().replace("_", "-")
        if _name and _name != "dnnalign-utils":
            _shipped.setdefault(_name, _dist.version)
    _constraints = os.path.join(tempfile.gettempdir(), "colab-shipped-packages.txt")
    with open(_constraints, "w") as _file:
        _file.writelines(f"{name}=={version}\\n" for name, version in _shipped.items())
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "-c", _constraints, "-e", _repo],
        check=True,
    )
    sys.path.insert(0, _repo)  # the running kernel does not see the fresh install"""
"""First code cell of every chapter notebook a reader opens (tagged `remove-cell`, so the
book hides it). In Colab it clones the repository and installs `dnnalign_utils` with only
the packages Colab lacks: every distribution already installed is passed to pip as a
constraint at its installed version, so Colab's IPython, ipykernel, torch, numpy, ... are
never upgraded or downgraded inside the running kernel (pip stops instead), and the
plain install leaves out what only the HTML build needs (the `book` extra). It then puts
the clone on `sys.path` (the running kernel does not pick up a fresh install otherwise);
the data in the clone's `data/` folder is then found by `dnnalign_utils.paths`. Elsewhere
it only imports three standard-library modules. It lives here only: the `.py` sources do
not carry it; `sync_notebooks` inserts it into the paired `.ipynb` (which Colab and Binder
open) and the runner into every executed notebook (`with_colab_cell`). The repository
address comes from `_config.yml` (`repository_url`); `COLAB_SETUP_CELL` is the cell with
it filled in."""
COLAB_CELL_ID = "colab-setup"
CONFIG_FILE = "_config.yml"


def repository_url(root: Path = REPO_ROOT) -> str:
    """The repository's address, `repository.url` of `<root>/_config.yml`: the one place it
    is written. Jupyter Book's launch, repository and issue buttons read it there, the
    Colab cell clones it, and tests check CITATION.cff and the README against it."""
    config = yaml.safe_load((Path(root) / CONFIG_FILE).read_text(encoding="utf-8"))
    url = (config.get("repository") or {}).get("url") if isinstance(config, dict) else None
    if not isinstance(url, str) or not url.startswith("https://github.com/"):
        raise BookBuildError(f"{root / CONFIG_FILE}: repository.url must be a GitHub address")
    return url.rstrip("/")


def pages_url(repository: str) -> str:
    """Where GitHub Pages serves the site of a GitHub repository: a project site
    `https://github.com/OWNER/NAME` at `https://owner.github.io/NAME/`, a repository named
    `OWNER.github.io` at `https://owner.github.io/` (host names are lower case)."""
    owner, name = repository.removeprefix("https://github.com/").strip("/").split("/")
    host = f"https://{owner.lower()}.github.io/"
    return host if name.lower() == f"{owner.lower()}.github.io" else f"{host}{name}/"


@functools.cache
def colab_setup_cell(root: Path = REPO_ROOT) -> str:
    """The Colab set-up cell for the repository of `<root>/_config.yml`."""
    return _COLAB_SETUP_TEMPLATE.replace("REPOSITORY_URL", repository_url(root))


def __getattr__(name: str) -> str:
    # COLAB_SETUP_CELL is made on first use, so importing this module needs no _config.yml
    if name == "COLAB_SETUP_CELL":
        return colab_setup_cell()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class BookBuildError(RuntimeError):
    """The book could not be built; the message says which step, notebook and cell."""


@dataclass
class BuildResult:
    """What `build_book` did: per-notebook wall times (s) and where the HTML is."""

    profile: str
    executed_dir: Path
    html_dir: Path | None
    timings: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------- toc


def _toc_files(node: object) -> list[str]:
    """All `file:` entries of a `_toc.yml` tree (root included), in reading order."""
    found: list[str] = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if key in node:
                found.append(str(node[key]))
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                found.extend(_toc_files(child))
    elif isinstance(node, list):
        for child in node:
            found.extend(_toc_files(child))
    return found


def toc_entries(root: Path = REPO_ROOT) -> list[str]:
    """Docnames of `<root>/_toc.yml` in reading order (suffixes stripped)."""
    toc_path = Path(root) / "_toc.yml"
    if not toc_path.is_file():
        raise BookBuildError(f"{toc_path}: table of contents not found")
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    if not isinstance(toc, dict) or "root" not in toc:
        raise BookBuildError(f"{toc_path}: expected a mapping with a 'root' entry")
    return [str(Path(entry).with_suffix("")) for entry in _toc_files(toc)]


def toc_notebooks(root: Path = REPO_ROOT) -> list[str]:
    """Stems of the chapter notebooks (`notebooks/<stem>` toc entries), in toc order."""
    stems = []
    for entry in toc_entries(root):
        parts = Path(entry).parts
        if len(parts) == 2 and parts[0] == NOTEBOOK_DIR:
            stems.append(parts[1])
    return stems


# -------------------------------------------------------------------- Colab cell


def is_colab_cell(cell) -> bool:
    """Whether a notebook cell is the Colab set-up cell (`COLAB_SETUP_CELL`)."""
    return cell.cell_type == "code" and cell.source.strip() == colab_setup_cell().strip()


def with_colab_cell(nb, **metadata):
    """`nb` (changed in place and returned) with exactly one Colab set-up cell, tagged
    `remove-cell` (plus `metadata`), just before its first code cell; a copy already
    there (e.g. saved by a paired Jupyter session) is removed first."""
    import nbformat

    nb.cells = [cell for cell in nb.cells if not is_colab_cell(cell)]
    at = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    cell = nbformat.v4.new_code_cell(
        colab_setup_cell(), metadata={"tags": ["remove-cell"], **metadata}
    )
    if "id" in cell:  # a stable id: syncing twice writes the same file
        cell["id"] = COLAB_CELL_ID
    nb.cells.insert(at, cell)
    return nb


# The first lines of a jupytext py:percent notebook (its metadata header).
_JUPYTEXT_HEADER = re.compile(r"# ---\r?\n# jupyter:")


def sync_notebook(source: Path, check: bool = False) -> list[Path]:
    """Write the paired `.ipynb` of the jupytext source `source` (`notebooks/NN_topic.py`):
    its cells, with the cell ids of the existing `.ipynb` kept, plus the Colab set-up cell
    (`with_colab_cell`). A Colab cell found in the `.py` (a paired Jupyter session saves
    it there) is removed from it. Returns the files that changed; with `check`, the files
    that would change, writing nothing."""
    import jupytext
    from jupytext.combine import combine_inputs_with_outputs
    from jupytext.config import load_jupytext_config

    from dnnalign_utils.data import read_text
    from dnnalign_utils.provenance import atomic_write_text

    source = Path(source)
    if not source.is_file():
        raise ValueError(f"{source}: not a file; expected a chapter source notebooks/NN_topic.py")
    paired = source.with_suffix(".ipynb")
    if paired.exists() and not paired.is_file():
        raise ValueError(
            f"{paired}: not a file; expected the notebook paired with {source.name} (move the "
            "folder away: sync-notebooks writes a file there)"
        )
    config = load_jupytext_config(str(source.parent.resolve()))
    text = read_text(source)  # names the line of a byte that is not UTF-8; drops a BOM
    if not _JUPYTEXT_HEADER.match(text):
        raise ValueError(
            f"{source}: no jupytext header (the lines '# ---' and '# jupyter:' at the top); "
            "expected a chapter source in the py:percent format (a script that is not a "
            "chapter does not belong in notebooks/: its .ipynb would be overwritten)"
        )
    nb = jupytext.reads(text, fmt={"extension": source.suffix}, config=config)
    outputs: list[tuple[Path, str]] = []
    if any(is_colab_cell(cell) for cell in nb.cells):
        nb.cells = [cell for cell in nb.cells if not is_colab_cell(cell)]
        outputs.append((source, jupytext.writes(nb, fmt="py:percent", config=config)))
    if paired.is_file():
        try:
            existing = jupytext.read(paired)
        except Exception as err:  # not JSON, another nbformat, not UTF-8, ...
            reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise ValueError(
                f"{paired}: not a readable notebook ({type(err).__name__}: {reason[:200]}); "
                f"expected the .ipynb paired with {source.name} (delete it to write it anew)"
            ) from None
        nb = combine_inputs_with_outputs(nb, existing, fmt=None)
    text = jupytext.writes(with_colab_cell(nb), fmt="ipynb", config=config)
    outputs.append((paired, text if text.endswith("\n") else text + "\n"))
    changed = []
    for path, text in outputs:
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        changed.append(path)
        if not check:
            atomic_write_text(path, text)  # a source file keeps its permissions
    return changed


def sync_notebooks(
    root: Path = REPO_ROOT, stems: Sequence[str] | None = None, check: bool = False
) -> list[Path]:
    """`sync_notebook` for every `notebooks/*.py` of `root` (or only `stems`)."""
    folder = Path(root) / NOTEBOOK_DIR
    if not folder.is_dir():
        raise ValueError(
            f"{folder}: no such folder; expected the chapter sources notebooks/NN_topic.py "
            "of a repository checkout"
        )
    sources = sorted(folder.glob("*.py"))
    if not sources:
        raise ValueError(f"{folder}: no notebook sources (*.py); nothing to sync")
    if stems:
        unknown = [s for s in stems if not (folder / f"{s}.py").is_file()]
        if unknown:
            raise ValueError(
                f"sync-notebooks {' '.join(unknown)}: no such notebook source in {folder} "
                f"(sources: {', '.join(p.stem for p in sources) or 'none'})"
            )
        sources = [folder / f"{s}.py" for s in stems]
    changed = []
    for source in sources:
        changed.extend(sync_notebook(source, check=check))
    return changed


# ----------------------------------------------------------------------- execute


def _notebook_for_execution(source: Path):
    """Read the jupytext source and prepare the throwaway input notebook."""
    import jupytext
    import nbformat

    nb = jupytext.read(source)
    nb.metadata.pop("jupytext", None)
    if nb.metadata.get("kernelspec", {}).get("name") != KERNEL_NAME:
        raise BookBuildError(
            f"{source}: the jupytext header must declare kernelspec name {KERNEL_NAME!r} "
            "(papermill needs it to inject parameters)"
        )
    if not any("parameters" in c.metadata.get("tags", []) for c in nb.cells):
        raise BookBuildError(f"{source}: no cell tagged 'parameters'")
    if (REPO_ROOT / CONFIG_FILE).is_file():  # a checkout; a plain install has no
        # _config.yml, and runs its packaged sources for its own record: no Colab cell
        with_colab_cell(nb, **{_INSERTED: True})  # as in the paired .ipynb a reader opens
    hidden = nbformat.v4.new_code_cell(
        RENDERER_CELL, metadata={"tags": ["remove-cell"], _INSERTED: True}
    )
    nb.cells.insert(0, hidden)
    return nb


def _tag_remove(nb) -> None:
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if ("parameters" in tags or "injected-parameters" in tags) and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]


def _source_line(source: Path, first_line: str) -> int | None:
    """1-based line of the `.py` source where a cell's first line occurs (if unique)."""
    if not first_line.strip():
        return None
    lines = source.read_text(encoding="utf-8").splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if line.rstrip() == first_line.rstrip()]
    return hits[0] if len(hits) == 1 else None


def _describe_failure(stem: str, source: Path, input_nb, failed_copy: Path, error) -> str:
    """A message naming the notebook and the failing cell (index, first line, exception).

    `error.cell_index` counts the cells papermill executed: the cells the runner inserts
    (its hidden first cell, the Colab cell), the notebook's own cells and the
    injected-parameters cell after the `parameters` cell. The message gives the index
    among the cells of the `.py` source.
    """
    cell_index = getattr(error, "cell_index", None)
    ename = getattr(error, "ename", type(error).__name__)
    evalue = getattr(error, "evalue", str(error))
    cell_source = getattr(error, "source", "") or ""
    first_line = next((ln for ln in cell_source.splitlines() if ln.strip()), "")
    where = "an unknown cell"
    if cell_index is not None:
        params_at = next(
            i for i, c in enumerate(input_nb.cells) if "parameters" in c.metadata.get("tags", [])
        )
        input_index = cell_index - (1 if cell_index > params_at + 1 else 0)
        n_inserted_before = sum(
            1 for c in input_nb.cells[:input_index] if c.metadata.get(_INSERTED)
        )
        where = f"cell {input_index - n_inserted_before} (0-based)"
    line = _source_line(source, first_line)
    at = f" at {source.name} line {line}" if line else ""
    return (
        f"notebook {NOTEBOOK_DIR}/{stem} failed in {where}{at}: {first_line!r}\n"
        f"  {ename}: {evalue}\n"
        f"  executed copy with the traceback: {failed_copy}"
    )


def _check_parameters(source: Path, parameters: dict[str, object]) -> None:
    """Refuse, before executing, parameters the notebook does not declare or whose type
    differs from the declared default's (a string for an int would fail deep inside)."""
    problems = parameter_type_problems(source, parameters)
    if problems:
        raise BookBuildError("wrong notebook parameters:\n  " + "\n  ".join(problems))


def execute_notebook(
    stem: str,
    profile: str,
    executed_dir: Path,
    root: Path = REPO_ROOT,
    extra_parameters: dict[str, object] | None = None,
) -> tuple[Path, float]:
    """Execute `<root>/notebooks/<stem>.py` for `profile` into `executed_dir`, with the
    profile's parameters and `extra_parameters` (e.g. the network a report studies) on top.

    Returns (executed notebook path, wall seconds). Raises BookBuildError naming the
    notebook and cell when a cell fails; the failed copy is kept as `<stem>.failed.ipynb`.
    """
    import nbformat
    import papermill

    root = Path(root)
    source = root / NOTEBOOK_DIR / f"{stem}.py"
    if not source.is_file():
        raise BookBuildError(f"{source}: notebook listed in _toc.yml has no jupytext source")
    parameters = {**notebook_parameters(profile, stem), **(extra_parameters or {})}
    _check_parameters(source, parameters)
    nb = _notebook_for_execution(source)

    out_dir = Path(executed_dir) / NOTEBOOK_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{stem}.ipynb"
    failed_copy = out_dir / f"{stem}.failed.ipynb"
    failed_copy.unlink(missing_ok=True)

    # the kernel runs in notebooks/: a relative folder variable is passed on absolute, and
    # so is the artefact folder (a plain install's default, ./artefacts, is this process's)
    env = {
        "DNNALIGN_BOOK_BUILD": "1",
        "DNNALIGN_PROFILE": profile,
        **absolute_path_variables(),
        ARTEFACTS_ENV: str(artefacts_root()),
    }
    saved_env = {k: os.environ.get(k) for k in env}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"dnnalign-{stem}-") as tmp:
        tmp_in = Path(tmp) / f"{stem}.ipynb"
        tmp_out = out_dir / f".{stem}.partial.ipynb"
        nbformat.write(nb, tmp_in)
        os.environ.update(env)
        try:
            papermill.execute_notebook(
                str(tmp_in),
                str(tmp_out),
                parameters=parameters,
                kernel_name=KERNEL_NAME,
                cwd=str(source.parent),
                progress_bar=False,
                log_output=False,
            )
        except papermill.PapermillExecutionError as error:
            if tmp_out.exists():
                os.replace(tmp_out, failed_copy)
            raise BookBuildError(_describe_failure(stem, source, nb, failed_copy, error)) from None
        except Exception as error:  # kernel died, timeout, bad notebook: still name it
            tmp_out.unlink(missing_ok=True)
            raise BookBuildError(
                f"notebook {NOTEBOOK_DIR}/{stem} could not be executed: "
                f"{type(error).__name__}: {error}"
            ) from error
        finally:
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    wall = time.perf_counter() - start
    executed = nbformat.read(tmp_out, as_version=4)
    _tag_remove(executed)
    nbformat.write(executed, tmp_out)
    os.replace(tmp_out, target)
    return target, wall


# ---------------------------------------------------------------------- upstream


def _runs_for_network(artefact, own: NetworkValue | None) -> bool:
    """Whether a missing per-network hand-off of `own` (None: the book's own) needs its
    chapter run for that network rather than for the book's own networks."""
    return (
        artefact.per_network
        and own is not None
        and own.key not in (DEFAULT_NETWORK, artefact.home_network)
    )


def upstream_runs(
    profile: str, chapter: str, network: NetworkValue | None = None
) -> list[tuple[str, bool]]:
    """The earlier chapter runs `chapter` needs because hand-offs it reads, directly or
    through them, are missing for `profile`: (stem, for_network) pairs in pipeline order.

    `network` is the network `chapter` studies (`networks.resolve`'s value; None: the
    book's own). A missing per-network hand-off of a network other than the book's own
    needs its chapter run *for that network* (``for_network`` True; that run's own
    inputs are followed for it too); every other run is for the book's own networks
    (shared hand-offs, the default network's, or the book's picture network's,
    `Artefact.home_network`)."""
    needed: set[tuple[str, bool]] = set()
    pending = [(chapter, True)]
    while pending:
        current, for_network = pending.pop()
        studied = network if for_network else None
        for name in missing_inputs(profile, current, studied):
            artefact = ARTEFACTS[name]
            own = input_network(current, name, studied)
            run = (artefact.chapter, for_network and _runs_for_network(artefact, own))
            if run not in needed:
                needed.add(run)
                pending.append(run)
    return sorted(needed)  # stems start with their chapter number; the default run first


def upstream_chapters(
    profile: str, chapter: str, network: NetworkValue | None = None
) -> list[str]:
    """Chapters (stems, in pipeline order) that must run before `chapter` can, because
    hand-offs it reads, directly or through them, are missing for `profile`
    (`upstream_runs`, for whichever network)."""
    return sorted({stem for stem, _ in upstream_runs(profile, chapter, network)})


# A plain install carries the chapter sources as the package's notebooks/ folder.
INSTALLED_CHAPTERS_ROOT = Path(__file__).resolve().parent


def chapter_sources_root(root: str | os.PathLike = REPO_ROOT) -> Path:
    """The folder whose ``notebooks/`` holds the chapter sources: `root` (a checkout),
    else, in a plain install, the package's own copy of them."""
    root = Path(root)
    if not (root / NOTEBOOK_DIR).is_dir() and (INSTALLED_CHAPTERS_ROOT / NOTEBOOK_DIR).is_dir():
        return INSTALLED_CHAPTERS_ROOT
    return root


def start_chapter(namespace: dict[str, object], stem: str) -> None:
    """What every chapter does first, after its `parameters` cell: the sizes of its run
    profile wherever a parameter still holds its default (`profiles.apply_profile`; the
    book runner injects them, any other run gets them here), its measured run time glued
    as ``takes`` (the chapter's "Takes" line, `handoffs.takes`), and the book's figure
    template. `namespace`: the chapter's ``globals()``."""
    from myst_nb import glue

    from dnnalign_utils.plotting import use_book_template

    apply_profile(namespace, stem)
    glue("takes", handoffs.takes(str(namespace["profile"]), stem), display=False)
    use_book_template()


def fetch_published_handoffs(
    profile: str, chapter: str, network: NetworkValue | None = None
) -> list[str]:
    """Fetch from the published book (`handoffs.fetch`) the book's own hand-offs that
    `chapter` (for `network`; None: the book's own) reads and does not find, then those that the
    earlier chapters it would still have to run read, until nothing more can be fetched;
    returns the names fetched. The book's address: ``DNNALIGN_BOOK_URL``, else the
    Pages address of `repository_url`."""
    try:
        default = pages_url(repository_url())
    except (OSError, BookBuildError):  # an installed package has no _config.yml
        default = None
    base = handoffs.book_url(default)
    fetched: list[str] = []
    tried: set[str] = set()
    readers = [(chapter, True)]  # the chapter first, then the runs it would still need
    while base is not None:
        wanted = []
        for stem, for_network in readers:
            studied = network if for_network else None
            for name in missing_inputs(profile, stem, studied):
                own = input_network(stem, name, studied)
                book_own = not _runs_for_network(ARTEFACTS[name], own)
                if book_own and name not in tried and name not in wanted:
                    wanted.append(name)
        if not wanted:
            break
        tried.update(wanted)
        fetched += handoffs.fetch(profile, wanted, base)
        readers = upstream_runs(profile, chapter, network)
    return fetched


def ensure_upstream(
    profile: str,
    chapter: str,
    network: NetworkValue | None = None,
    root: Path = REPO_ROOT,
) -> list[str]:
    """Run, with papermill, the earlier chapters whose artefacts `chapter` needs and
    does not find for `profile`; return the stems run (empty when nothing was missing).

    Chapters hand artefacts to each other through `artefacts_dir(profile)`, which is not
    part of the repository: in a fresh Colab or Binder session, or for a notebook
    downloaded from the book, they are missing. The published book's copies of the book's
    own hand-offs are fetched first, hash-checked (`fetch_published_handoffs`; `build_book`
    turns fetching off). Each upstream chapter still missing is executed
    with the profile's parameters (`smoke`: seconds; `default`: minutes, as in the book),
    its executed copy kept under `<artefacts>/<profile>/upstream_runs/`, from the chapter
    sources `notebooks/NN_*.py` of a checkout or of a plain install
    (`chapter_sources_root`).

    `network`: the network the chapter studies (`networks.resolve`'s value; None: the
    book's own); the earlier chapters that write that network's missing hand-offs run
    with its parameters (`Network.chapter_parameters`; executed copies under the
    network's own artefact folder), the others for the book's own network.
    """
    fetch_published_handoffs(profile, chapter, network)
    runs = upstream_runs(profile, chapter, network)
    if not runs:
        return []
    stems = sorted({stem for stem, _ in runs})
    root = chapter_sources_root(root)
    absent = [s for s in stems if not (root / NOTEBOOK_DIR / f"{s}.py").is_file()]
    if absent:
        raise BookBuildError(
            f"chapter {chapter} needs the artefacts of {', '.join(stems)}, which are "
            f"missing in {artefacts_dir(profile)}, and their sources "
            f"{', '.join(f'{NOTEBOOK_DIR}/{s}.py' for s in absent)} are not in {root}: "
            "run this notebook from a clone of the repository"
        )
    shown = [f"{stem} (for {network.key})" if for_network else stem for stem, for_network in runs]
    print(
        f"chapter {chapter} ({profile} profile) needs artefacts that earlier chapters "
        f"write and that are missing in {artefacts_dir(profile)}; running "
        f"{', '.join(shown)} first ({handoffs.estimate(profile, [s for s, _ in runs])})",
        flush=True,
    )
    for (stem, for_network), name in zip(runs, shown, strict=True):
        if for_network:
            where = network_dir(profile, network) / "upstream_runs"
            parameters = network.chapter_parameters()
            _, wall = execute_notebook(stem, profile, where, root, extra_parameters=parameters)
        else:
            _, wall = execute_notebook(
                stem, profile, artefacts_dir(profile) / "upstream_runs", root
            )
        print(f"  {name}: done in {wall:.0f} s", flush=True)
    still = missing_inputs(profile, chapter, network)
    if still:
        raise BookBuildError(
            f"chapter {chapter}: {', '.join(still)} still missing in {artefacts_dir(profile)} "
            f"after running {', '.join(shown)}; those chapters did not write them"
        )
    return [stem for stem, _ in runs]


# ------------------------------------------------------------------------- stage


def stage_book(profile: str, executed_dir: Path, stage_dir: Path, root: Path = REPO_ROOT) -> Path:
    """Assemble a fresh staging book from the book root and the executed notebooks."""
    root = Path(root)
    stems = toc_notebooks(root)
    missing = [s for s in stems if not (executed_dir / NOTEBOOK_DIR / f"{s}.ipynb").is_file()]
    if missing:
        raise BookBuildError(
            f"no executed copy for profile {profile!r} of: {', '.join(missing)} "
            f"(looked in {executed_dir / NOTEBOOK_DIR}); run without --no-execute/--only"
        )
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    stage_dir.mkdir(parents=True)
    for item in STAGE_ITEMS:
        src = root / item
        if src.is_dir():
            shutil.copytree(src, stage_dir / item)
        elif src.is_file():
            (stage_dir / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, stage_dir / item)
        elif item in ("_config.yml", "_toc.yml"):
            raise BookBuildError(f"{src}: required book file missing")
    (stage_dir / NOTEBOOK_DIR).mkdir()
    for stem in stems:
        shutil.copy2(executed_dir / NOTEBOOK_DIR / f"{stem}.ipynb", stage_dir / NOTEBOOK_DIR)
    stage_downloads(profile, stage_dir / NOTEBOOK_DIR)
    problem = plotly_js_version_problem(stage_dir / PLOTLY_JS)
    if problem:
        raise BookBuildError(problem)
    return stage_dir


def plotly_js_version(path: Path) -> str | None:
    """The version in a plotly.js bundle's header comment ("plotly.js (...) v4.1.1")."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        match = _PLOTLY_VERSION.search(handle.read(400))
    return match.group(1) if match else None


def plotly_js_version_problem(bundle: Path) -> str | None:
    """Why the vendored plotly.js bundle does not fit the installed plotly (None if it
    does): missing, or another version than the installed plotly's own plotly.min.js."""
    import plotly

    if not bundle.is_file():
        return (
            f"{bundle}: the book's plotly.js bundle is missing (bash book/vendor/fetch_assets.sh)"
        )
    wanted = plotly_js_version(Path(plotly.__file__).parent / "package_data" / "plotly.min.js")
    found = plotly_js_version(bundle)
    if wanted is None or found != wanted:
        return (
            f"{bundle}: plotly.js {found} but the installed plotly {plotly.__version__} ships "
            f"plotly.js {wanted}; set that version in book/vendor/fetch_assets.sh and rerun it"
        )
    return None


def stage_downloads(profile: str, notebook_dir: Path) -> Path | None:
    """Copy the chapters' downloads (`paths.downloads_dir(profile)`) into the staged
    notebook folder as `downloads/`, where the pages' relative links point; Sphinx then
    copies each linked file into the HTML's `_downloads`. Temporary files of an
    interrupted write are left behind. Returns the copy (None when nothing was published)."""
    from dnnalign_utils.downloads import LINK_FOLDER
    from dnnalign_utils.paths import downloads_dir

    source = downloads_dir(profile)
    if not source.is_dir():
        return None
    target = Path(notebook_dir) / LINK_FOLDER
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*.tmp"))
    return target


def run_jupyter_book(stage_dir: Path, output_dir: Path) -> Path:
    """`jupyter-book build <stage> --path-output <output> -W -n --keep-going`."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(stage_dir)]
    cmd += ["--path-output", str(output_dir), "-W", "-n", "--keep-going"]
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, check=False)
    if proc.returncode != 0:
        raise BookBuildError(f"jupyter-book build failed (exit {proc.returncode}); see above")
    return output_dir / "_build" / "html"


# ------------------------------------------------------------------------- build


def check_run_folders(profile: str) -> None:
    """Check, before the first notebook runs, the folders the chapters write besides the
    output: the artefact folder and, for the `paper` profile, the download cache
    (BookBuildError naming the environment variable that chose a bad one)."""
    checks = [("artefact folder", check_artefacts_root)]
    if profile == "paper":  # the profile that downloads
        checks.append(("download cache", check_cache_dir))
    for what, check in checks:
        try:
            check()
        except ValueError as error:
            raise BookBuildError(f"{what}: {error}") from None


def build_book(
    profile: str,
    only: Sequence[str] | None = None,
    output_dir: Path | None = None,
    execute: bool = True,
    build_html: bool = True,
    root: Path = REPO_ROOT,
) -> BuildResult:
    """Execute the toc's notebooks (all, or `only` those) and build the HTML book."""
    if profile not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {', '.join(PROFILE_NAMES)}, got {profile!r}")
    root = Path(root).resolve()
    output_dir = check_writable_folder(output_dir or root, f"--output-dir {output_dir or root}")
    stems = toc_notebooks(root)
    selected = list(only) if only else stems
    unknown = [s for s in selected if s not in stems]
    if unknown:
        raise ValueError(
            f"--only {' '.join(unknown)}: not a notebook of {root / '_toc.yml'} "
            f"(notebooks: {', '.join(stems) or 'none'})"
        )
    executed_dir = output_dir / "_build" / "executed" / profile
    result = BuildResult(profile=profile, executed_dir=executed_dir, html_dir=None)
    if execute:
        # every check that needs no kernel runs before the first notebook does
        check_run_folders(profile)
        for stem in selected:
            source = root / NOTEBOOK_DIR / f"{stem}.py"
            if source.is_file():
                _check_parameters(source, notebook_parameters(profile, stem))
        total_start = time.perf_counter()
        # a book is built from its own runs, never from a published book's hand-offs
        saved_url = os.environ.get(handoffs.BOOK_URL_ENV)
        os.environ[handoffs.BOOK_URL_ENV] = ""
        try:
            for stem in selected:
                print(f"[{profile}] executing {NOTEBOOK_DIR}/{stem} ...", flush=True)
                _, wall = execute_notebook(stem, profile, executed_dir, root=root)
                result.timings[stem] = wall
                print(f"[{profile}] {NOTEBOOK_DIR}/{stem}: {wall:.1f} s", flush=True)
        finally:
            if saved_url is None:
                os.environ.pop(handoffs.BOOK_URL_ENV, None)
            else:
                os.environ[handoffs.BOOK_URL_ENV] = saved_url
        total = time.perf_counter() - total_start
        print(f"[{profile}] executed {len(selected)} notebook(s) in {total:.1f} s", flush=True)
    if build_html:
        stage_dir = stage_book(
            profile, executed_dir, output_dir / "_build" / "stage" / profile, root
        )
        start = time.perf_counter()
        result.html_dir = run_jupyter_book(stage_dir, output_dir)
        registry = handoffs.publish(profile, result.html_dir)
        print(f"[{profile}] hand-offs for chapters run alone: {registry.parent}", flush=True)
        print(f"[{profile}] jupyter-book build: {time.perf_counter() - start:.1f} s", flush=True)
        print(f"[{profile}] book: {result.html_dir / 'index.html'}", flush=True)
    return result


if __name__ == "__main__":
    # `python -m dnnalign_utils.book` runs this file as `__main__`, a module apart from the
    # imported `dnnalign_utils.book` that the report and the runner raise from: the command
    # line, a module above both, takes over.
    from dnnalign_utils.cli import main

    sys.exit(main())
