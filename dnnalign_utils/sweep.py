"""Many reports at once: a sweep over networks, layers and seeds on Dask.

    python -m dnnalign_utils.book sweep --network NAME_OR_PATH ... [--networks-file FILE]
        [--layer L ...] [--picture-network NAME] [--seeds 0 1 2] [--profile P]
        --output-dir OUT [--scheduler ADDRESS | --workers N] [--threads-per-report T]

The batch report (`report.run_report`) answers "how aligned is my network?" for one
network; a sweep runs it for every (network, layer, seed) as one task each on
`dask.distributed`: on a `LocalCluster` it starts itself (no ``--scheduler``; its size:
``--workers``, by default one per core), or on any Dask scheduler (``--scheduler
ADDRESS``: e.g. one `dask-jobqueue` started on SLURM, see the book's How to run). The
same code runs on a laptop and on a cluster.

Before any task is sent, every input is resolved and checked as the report checks it
(`report.resolve_input`, `report.check_report`: the files and rows, the layers, the
chapters' parameters, the report folders), and all refusals are named at once. Then the
shared inputs (chapter 0's pictures, the human data, the book's own network's hand-offs:
the chapters the reports would run "for the book's own network", `book.upstream_runs`)
are computed once, on this machine, in the usual artefact folder.

Each task writes only under ``OUT``:

- ``OUT/<key>/<layer>/seed-<s>/``: an ordinary report folder (`report.STATE_FILE`, key
  numbers, report page, executed notebooks); ``<key>`` is the network's artefact key,
  ``<layer>`` its layer (``_default``: the network's default);
- ``OUT/_artefacts/<key>/<layer>/seed-<s>/``: that report's own artefact folder, staged as
  hard links (copies across file systems) to the shared artefacts without the network's
  own (`report.own_artefact_paths`); the chapters replace files atomically, so a link is
  never written through and no report sees another's files, whatever runs beside it;
- ``OUT/_logs/<key>/<layer>/seed-<s>.log``: its log.

A finished report is never redone: the same command again skips it (without sending it
to a worker), and an interrupted one resumes at its first unfinished chapter
(`report.run_report`). A worker that dies mid-task loses only that task, which the
scheduler gives to another worker (`distributed.scheduler.allowed-failures` times);
a task that fails is retried ``retries`` times. A text progress bar counts finished
reports; the Dask dashboard shows each task (its address is printed).

At the end, each written atomically: ``OUT/sweep.csv`` (with its provenance sidecar), one
row of key numbers per finished report with its network, layer (module and relative
depth) and seed; ``OUT/sweep_spread.csv``, the seed-to-seed spread (mean, standard
deviation, minimum, maximum over seeds) of every key number per network and layer;
``OUT/sweep.md`` and ``OUT/sweep.html`` (with ``OUT/plotly.min.js``), the summary page with
both tables and two figures: alignment against layer depth per network, and each
report's visual share against its semantic share.

The same engine (:func:`run_tasks`: a local cluster or a scheduler, one task per item,
retries, a progress bar) runs chapter 7's networks, one task each.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import re
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from dnnalign_utils import book, handoffs, keynumbers, paths, profiles, report
from dnnalign_utils.prose import counted
from dnnalign_utils.provenance import atomic_write_text, provenance_record, write_artefact

SWEEP_STATE = "sweep.json"
SWEEP_CSV = "sweep.csv"
SPREAD_CSV = "sweep_spread.csv"
SWEEP_MARKDOWN = "sweep.md"
SWEEP_HTML = "sweep.html"
PLOTLY_JS = "plotly.min.js"  # beside sweep.html, which loads it
# Folders beside the report folders; a network key starts with a letter or a digit, so
# these never collide with one.
ARTEFACTS_FOLDER = "_artefacts"
LOGS_FOLDER = "_logs"
DEFAULT_LAYER_FOLDER = "_default"
STAGED_MARK = ".staged"
PROVENANCE_SUFFIX = ".provenance.json"  # an artefact's record beside it (`provenance`)
# A worker runs one report at a time (a chapter kernel's environment is its process's):
# workers of one thread each, and the report's threads set apart (`threads_per_report`).
# Each worker gets one report at a time from the scheduler's queue (worker-saturation 1),
# so a worker that finishes early takes the next.
WORKER_SATURATION = 1.0
# Environment variables that set how many threads a chapter kernel's numerical
# libraries use (a Dask worker's nanny sets them to 1).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
STATE_VERSION = 1
# The key numbers the summary figures plot (names of `keynumbers.KEY_NUMBERS`).
ALIGNMENT_NUMBERS = ("choice_agreement", "global_rsa_r")
_SAFE_LAYER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$")


class SweepError(book.BookBuildError):
    """The sweep cannot run as asked, or some of its reports failed (each named)."""


# ------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class SweepInput:
    """One network input as ``report --network`` takes it, and where it was given
    (``origin``: the option, or the networks file and line) for error messages."""

    network: str
    layer: str = ""
    picture_network: str | None = None
    origin: str = "--network"


@dataclass(frozen=True)
class SweepTask:
    """One report of the sweep: its input, seed and folder (relative to ``OUT``)."""

    network: str
    layer: str
    picture_network: str | None
    seed: int
    key: str
    label: str
    folder: str
    origin: str
    chapters: tuple[str, ...] = report.NETWORK_CHAPTERS
    kind: str = "concepts"  # the network's (`networks.Network.kind`)

    @property
    def name(self) -> str:
        """The task's name on the scheduler and its dashboard."""
        layer = f" {self.layer}" if self.layer else ""
        return f"report {self.key}{layer} seed {self.seed}"

    @property
    def network_folder(self) -> str:
        """The folder, relative to ``OUT``, of what its network's reports share."""
        return f"{self.key}/{layer_folder(self.layer)}"


def layer_folder(layer: str) -> str:
    """The folder name of a layer: the name itself when it is a plain file name,
    :data:`DEFAULT_LAYER_FOLDER` for the network's default, else a cleaned name with a
    hash of the original (two layers never share a folder)."""
    if not layer:
        return DEFAULT_LAYER_FOLDER
    if _SAFE_LAYER.match(layer) and layer != DEFAULT_LAYER_FOLDER:
        return layer
    digest = hashlib.sha256(layer.encode()).hexdigest()[:8]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", layer).strip(".")[:60] + f"-{digest}"


def read_networks_file(path: str | os.PathLike) -> list[SweepInput]:
    """The inputs listed in a networks file: one per line, ``NETWORK[,LAYER[,PICTURE_NETWORK]]``
    (a registered name or a path, as ``report --network`` takes it; a relative path is
    relative to the file's folder); blank lines and lines starting with ``#`` are
    skipped. Errors name the file and line."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"--networks-file {path}: no such file")
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = [part.strip() for part in text.split(",")]
        if len(fields) > 3 or not fields[0]:
            raise ValueError(
                f"{path}, line {number}: {text!r}: expected NETWORK[,LAYER[,PICTURE_NETWORK]]"
            )
        network, layer, picture = (fields + ["", ""])[:3]
        beside = path.parent / network
        if not Path(network).is_absolute() and beside.exists():
            network = str(beside.resolve())
        found.append(SweepInput(network, layer, picture or None, f"{path}, line {number}"))
    if not found:
        raise ValueError(f"--networks-file {path}: lists no network")
    return found


def command_line_inputs(
    networks: Sequence[str], layers: Sequence[str] = (), picture_network: str | None = None
) -> list[SweepInput]:
    """The ``--network`` inputs, each with every ``--layer`` (none: the default layer)."""
    return [
        SweepInput(network, layer, picture_network, f"--network {network}")
        for network in networks
        for layer in (list(layers) or [""])
    ]


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """The seeds, checked: at least one, each a non-negative integer, none twice."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("--seeds: expected at least one seed")
    for seed in seeds:
        report.check_seed(seed)
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ValueError(f"--seeds {seeds}: {repeated} given more than once")
    return seeds


def plan(
    inputs: Sequence[SweepInput],
    seeds: Sequence[int],
    profile: str,
    output_dir: str | os.PathLike,
    root: str | os.PathLike = paths.REPO_ROOT,
) -> list[SweepTask]:
    """Resolve and check every input as the report does (all of its refusals, and the
    report folders under `output_dir`), without running anything; one task per input and
    seed. Every problem found is named in one SweepError."""
    profiles.check_profile(profile)
    seeds = check_seeds(seeds)
    if not inputs:
        raise ValueError("--network / --networks-file: expected at least one network")
    output_dir = Path(output_dir)
    problems: list[str] = []
    tasks: list[SweepTask] = []
    seen: dict[tuple[str, str, int], str] = {}
    for given in inputs:
        try:
            found = report.resolve_input(
                given.network,
                profile,
                layer=given.layer,
                picture_network=given.picture_network,
            )
        except (ValueError, OSError, book.BookBuildError) as error:
            problems.append(_named(given.origin, error))
            continue
        for seed in seeds:
            folder = f"{found.key}/{layer_folder(given.layer)}/seed-{seed}"
            task = SweepTask(
                given.network,
                given.layer,
                given.picture_network,
                seed,
                found.key,
                found.network.label,
                folder,
                given.origin,
                found.chapters,
                found.network.kind,
            )
            if (found.key, given.layer, seed) in seen:
                problems.append(
                    f"{given.origin}: the same report as {seen[found.key, given.layer, seed]} "
                    f"({task.name}); list each network, layer and seed once"
                )
                continue
            seen[found.key, given.layer, seed] = given.origin
            try:
                report.check_report(
                    found,
                    output_dir / folder,
                    profile,
                    seed=seed,
                    own_artefacts=True,
                    root=Path(root),
                )
            except (ValueError, OSError, book.BookBuildError) as error:
                problems.append(_named(f"{given.origin}, seed {seed}", error))
                continue
            tasks.append(task)
    if problems:
        counted = f"{len(problems)} problem" + ("s" if len(problems) > 1 else "")
        raise SweepError(
            f"the sweep's inputs are refused ({counted}), nothing was run:\n  "
            + "\n  ".join(problems)
        )
    return tasks


def _named(origin: str, error: Exception) -> str:
    """`error`'s message with where its input was given, unless it starts with it."""
    message = str(error)
    return message if message.startswith(origin) else f"{origin}: {message}"


def _check_sweep_folder(output_dir: Path, profile: str) -> None:
    """`output_dir` must be new, empty, or a sweep of the same profile."""
    state_path = output_dir / SWEEP_STATE
    if state_path.is_file():
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise SweepError(f"{state_path}: not a sweep state file ({error})") from None
        if state.get("profile") != profile:
            raise SweepError(
                f"--output-dir {output_dir}: holds a sweep of profile "
                f"{state.get('profile')!r} (asked: {profile!r}); choose another --output-dir"
            )
        return
    if output_dir.is_dir() and any(output_dir.iterdir()):
        raise SweepError(
            f"--output-dir {output_dir}: not empty and not a sweep (no {SWEEP_STATE}); "
            "choose a new or empty folder"
        )


# ------------------------------------------------------------------ shared inputs


def shared_chapters(profile: str, tasks: Sequence[SweepTask]) -> list[str]:
    """The chapter runs for the book's own network that the sweep's reports would need
    and do not find (`book.upstream_runs`), in pipeline order. A report of the book's own
    network runs its own chapters (in its own artefact folder): only the others'
    hand-offs it reads are shared."""
    stems: set[str] = set()
    done: set[tuple[str, str, str | None]] = set()
    for task in tasks:
        if (task.network, task.layer, task.picture_network) in done:
            continue
        done.add((task.network, task.layer, task.picture_network))
        found = report.resolve_input(
            task.network, profile, layer=task.layer, picture_network=task.picture_network
        )
        own = found.chapters if found.key == paths.DEFAULT_NETWORK else ()
        for chapter in found.chapters:
            runs = book.upstream_runs(profile, chapter, found.network)
            stems.update(stem for stem, for_network in runs if not for_network and stem not in own)
    return sorted(stems)


def prepare_shared_inputs(
    profile: str,
    tasks: Sequence[SweepTask],
    root: str | os.PathLike = paths.REPO_ROOT,
    log: Callable[[str], None] = print,
) -> list[str]:
    """Compute, once and here, the shared inputs the reports read (`shared_chapters`,
    executed as `book.ensure_upstream` executes them, into the artefact folder's
    ``upstream_runs``); returns the chapters run."""
    book.check_run_folders(profile)
    stems = shared_chapters(profile, tasks)
    if stems:
        log(
            f"[sweep {profile}] shared inputs missing in {paths.artefacts_dir(profile)}: "
            f"running {', '.join(stems)} once ({handoffs.estimate(profile, stems)})"
        )
    for stem in stems:
        _, wall = book.execute_notebook(
            stem, profile, paths.artefacts_dir(profile) / "upstream_runs", Path(root)
        )
        log(f"[sweep {profile}] shared {stem}: done in {wall:.0f} s")
    still = shared_chapters(profile, tasks)
    if still:
        raise SweepError(
            f"the shared inputs are still missing after running {', '.join(stems)}: "
            f"{', '.join(still)} would have to run again; see their executed copies in "
            f"{paths.artefacts_dir(profile) / 'upstream_runs'}"
        )
    return stems


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed: a copy
        shutil.copy2(source, target)


def stage_artefacts(shared: Path, target: Path, excluded: Sequence[str | os.PathLike]) -> int:
    """Give a report its own artefact folder `target` (a profile's folder): every file of
    the shared profile folder `shared` as a hard link (a copy across file systems),
    except `excluded` (paths relative to it, files or folders: the report's network's
    own artefacts), executed upstream copies and temporaries. Done once: a staged folder
    is kept as it is (its mark); returns the files staged."""
    mark = target / STAGED_MARK
    if mark.is_file():
        return 0
    excluded = {Path(p) for p in excluded}
    count = 0
    if shared.is_dir():
        for folder, subfolders, files in os.walk(shared):
            relative = Path(folder).relative_to(shared)
            subfolders[:] = sorted(
                s
                for s in subfolders
                if relative / s not in excluded and s != "upstream_runs" and not s.startswith(".")
            )
            for name in sorted(files):
                artefact = relative / name.removesuffix(PROVENANCE_SUFFIX)  # with its record
                if relative / name in excluded or artefact in excluded or name.startswith("."):
                    continue
                destination = target / relative / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                if not destination.exists():
                    _link_or_copy(Path(folder) / name, destination)
                    count += 1
    target.mkdir(parents=True, exist_ok=True)
    atomic_write_text(mark, json.dumps({"from": str(shared), "files": count}) + "\n")
    return count


# -------------------------------------------------------------------------- tasks
# A picture network's features of its pictures do not depend on the seed: one task per
# such network computes them (`networks.load` caches them in the network's artefact
# folder) into NETWORKS_FOLDER, and that network's reports are staged from there.
NETWORKS_FOLDER = "_networks"

# One report at a time in a worker process: a chapter kernel inherits the process's
# environment (the artefact folder, the threads), which a report sets while it runs.
_ONE_REPORT = threading.Lock()


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """Set `variables` in os.environ for the block, then restore them."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_task(
    task: dict,
    profile: str,
    output_dir: str,
    shared_root: str,
    root: str,
    threads: int | None = None,
    network_inputs: dict | None = None,
) -> dict:
    """One report of the sweep, as a worker runs it (`task`: a :class:`SweepTask` as a
    dict): its artefact folder staged from the shared artefact root `shared_root` (or from
    `network_inputs`, :func:`run_network_inputs`'s folder), then `report.run_report` with
    the seed, into its folder under `output_dir`, its log in ``_logs``. `threads`: the
    chapter kernels' threads (None: the worker's own number of threads). Returns the
    task's folder, the chapters run and skipped, and its seconds."""
    task = SweepTask(**{**task, "chapters": tuple(task["chapters"])})
    out = Path(output_dir)
    folder = out / task.folder
    start = time.perf_counter()
    with _task_environment(out, task.folder, threads) as log:
        base = paths.artefacts_dir(profile)  # this report's own
        found = report.resolve_input(
            task.network, profile, layer=task.layer, picture_network=task.picture_network
        )
        excluded = [p.relative_to(base) for p in report.own_artefact_paths(found.network, profile)]
        source = Path(network_inputs["folder"] if network_inputs else Path(shared_root) / profile)
        staged = stage_artefacts(source, base, excluded)
        if staged:
            log(f"[sweep] staged {staged} shared artefact files from {source} into {base}")
        result = report.run_report(
            task.network,
            folder,
            profile=profile,
            layer=task.layer,
            picture_network=task.picture_network,
            seed=task.seed,
            own_artefacts=True,
            root=root,
            log=log,
        )
    return {
        "folder": task.folder,
        "ran": result.ran,
        "skipped": result.skipped,
        "seconds": time.perf_counter() - start,
    }


@contextmanager
def _task_environment(out: Path, folder: str, threads: int | None):
    """One task at a time in this worker process, with its own artefact root
    (``OUT/_artefacts/<folder>``), no fetching from the published book, `threads`
    threads for the chapter kernels (None: the worker's), and a log file
    (``OUT/_logs/<folder>.log``); yields the function that writes a line to it."""
    log_path = out / LOGS_FOLDER / f"{folder}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    artefacts = out / ARTEFACTS_FOLDER / folder
    variables = {
        paths.ARTEFACTS_ENV: str(artefacts),
        # the shared inputs are staged; nothing is fetched from the published book
        "DNNALIGN_BOOK_URL": "",
        **{name: str(threads or _worker_threads()) for name in THREAD_VARIABLES},
    }
    with _ONE_REPORT, _environment(variables), open(log_path, "a", encoding="utf-8") as handle:

        def log(line: str) -> None:
            stamp = _dt.datetime.now().isoformat(timespec="seconds")
            handle.write(f"{stamp} {line}\n")
            handle.flush()

        yield log


def run_network_inputs(
    task: dict, profile: str, output_dir: str, shared_root: str, threads: int | None = None
) -> dict:
    """What all reports of one picture network share and no seed changes: its features
    of its pictures, computed once (`networks.load`, which caches them in the network's
    artefact folder) in ``OUT/_artefacts/_networks/<key>/<layer>/``, staged from the
    shared artefact root. Returns that profile folder (``folder``, the reports' staging
    source) and the task's ``seconds``."""
    task = SweepTask(**{**task, "chapters": tuple(task["chapters"])})
    from dnnalign_utils import networks

    folder = f"{NETWORKS_FOLDER}/{task.network_folder}"
    with _task_environment(Path(output_dir), folder, threads) as log:
        found = report.resolve_input(
            task.network, profile, layer=task.layer, picture_network=task.picture_network
        )
        target = paths.artefacts_dir(profile)
        excluded = [
            p.relative_to(target) for p in report.own_artefact_paths(found.network, profile)
        ]
        stage_artefacts(Path(shared_root) / profile, target, excluded)
        start = time.perf_counter()
        networks.load(profile, found.network, progress=False)
        seconds = time.perf_counter() - start
        log(f"[sweep] {found.network.label}: features of its pictures in {seconds:.0f} s")
        return {"folder": str(target), "seconds": seconds}


def _worker_threads() -> int:
    """The number of threads of the Dask worker running this task (1 outside one)."""
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


def report_finished(folder: Path, task: SweepTask, profile: str) -> bool:
    """Whether `folder` holds this task's finished report (its state names every
    chapter, its key numbers were written): the sweep then does not send it again."""
    state_path = folder / report.STATE_FILE
    if not state_path.is_file() or not (folder / report.KEY_NUMBERS_FILE).is_file():
        return False
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return False
    identity = state.get("identity", {})
    if (
        identity.get("profile") != profile
        or identity.get("network_key") != task.key
        or identity.get("seed", report.DEFAULT_SEED) != task.seed
    ):
        return False
    return all(stem in state.get("chapters", {}) for stem in task.chapters)


# ---------------------------------------------------------------------------- run


@dataclass
class SweepResult:
    """What `run_sweep` did: the reports it ran and skipped (task names), those that
    failed (name -> error), its wall time and the sum of its tasks' times (s), the
    summary table and the files written."""

    output_dir: Path
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    wall_seconds: float = 0.0
    task_seconds: float = 0.0
    n_workers: int = 0
    table: pd.DataFrame | None = None
    files: dict[str, Path] = field(default_factory=dict)


def local_cluster(n_workers: int | None = None, *, dashboard: bool = True):
    """A `distributed.LocalCluster` sized to this machine: `n_workers` worker processes
    (default: one per core) of one thread each on the loopback interface, its scheduler
    handing each one task at a time (:data:`WORKER_SATURATION`). `dashboard`: serve the
    Dask dashboard (its address is the client's ``dashboard_link``)."""
    import logging

    import dask
    from distributed import LocalCluster

    n_workers = n_workers or os.cpu_count() or 1
    if n_workers < 1:
        raise ValueError(f"--workers {n_workers}: expected at least 1")
    with dask.config.set({"distributed.scheduler.worker-saturation": WORKER_SATURATION}):
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # without a dashboard, the scheduler's HTTP server (health, metrics) on a
            # free port rather than the dashboard's 8787
            dashboard_address=":8787" if dashboard else ":0",
            scheduler_kwargs={"dashboard": dashboard},
            silence_logs=logging.ERROR,
        )


@contextmanager
def dask_client(
    scheduler: str | None = None, n_workers: int | None = None, *, dashboard: bool = True
):
    """A `distributed.Client` on the Dask scheduler at `scheduler`, or (None) on a
    :func:`local_cluster` of `n_workers` started here and closed after the block."""
    from distributed import Client

    cluster = None if scheduler else local_cluster(n_workers, dashboard=dashboard)
    try:
        with Client(scheduler or cluster) as client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()


class Finishing:
    """Dask futures (future -> what it computes) yielded as they finish, with a text
    progress bar, as (what it computes, its result, None), or (..., None, its error) for
    a task that failed (its own error, or its worker died more often than the scheduler
    allows). The bar counts to `total` (default: all of them) the futures given, those
    added while waiting (:meth:`add`, unless not counted) and those that will never run
    (:meth:`skip`)."""

    def __init__(
        self, futures: dict, *, desc: str, unit: str, progress: bool, total: int | None = None
    ):
        from distributed import as_completed
        from tqdm.auto import tqdm

        self.futures = dict(futures)
        self.counted = set(self.futures)
        self.running = set(self.futures)  # submitted, not yet yielded
        self._pending = as_completed(list(self.futures))
        total = len(self.counted) if total is None else total
        self._bar = tqdm(total=total, desc=desc, unit=unit, disable=not progress)

    def add(self, future, what, *, counted: bool = True) -> None:
        """Wait for `future` too (and count it, if `counted`)."""
        self.futures[future] = what
        if counted:
            self.counted.add(future)
        self.running.add(future)
        self._pending.add(future)

    def skip(self) -> None:
        """Count one that will never run (e.g. its inputs failed)."""
        self._bar.update(1)

    def __iter__(self) -> Iterator[tuple[object, object, BaseException | None]]:
        with self._bar:
            for future in self._pending:
                try:
                    done, error = future.result(), None
                except Exception as failure:
                    done, error = None, failure
                self.running.discard(future)
                yield self.futures[future], done, error
                if future in self.counted:
                    self._bar.update(1)


def run_tasks(
    function: Callable,
    arguments: dict[str, tuple],
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    retries: int = 2,
    desc: str = "tasks",
    progress: bool = True,
) -> dict[str, object]:
    """``function(*arguments[name])`` for every name, as one Dask task each, on the same
    engine as the sweep's reports: the scheduler at `scheduler`, or a :func:`local_cluster`
    of `n_workers` workers (None or 0: one per core, at most one per task; no dashboard).
    Each worker runs one task at a time on one thread; a task whose worker dies is given
    to another, and a task that fails is retried `retries` times. Returns name -> result
    in the order of `arguments`; if any failed, a :class:`SweepError` names each. The
    function and its arguments must pickle, and the workers see this process's
    environment (a local cluster's are its child processes)."""
    if not arguments:
        return {}
    if retries < 0:
        raise ValueError(f"retries={retries}: expected 0 or more")
    if not n_workers and scheduler is None:
        n_workers = min(len(arguments), os.cpu_count() or 1)
    results, failed = {}, {}
    with dask_client(scheduler, n_workers, dashboard=False) as client:
        futures = {}
        for name, args in arguments.items():
            key = f"{name} ({desc})"
            futures[client.submit(function, *args, key=key, pure=False, retries=retries)] = name
        for name, done, error in Finishing(futures, desc=desc, unit="task", progress=progress):
            if error is None:
                results[name] = done
            else:
                failed[name] = f"{type(error).__name__}: {error}"
    if failed:
        raise SweepError(
            f"{len(failed)} of {len(arguments)} tasks ({desc}) failed:\n  "
            + "\n  ".join(f"{name}: {error}" for name, error in failed.items())
        )
    return {name: results[name] for name in arguments}


def run_sweep(
    inputs: Sequence[SweepInput],
    output_dir: str | os.PathLike,
    *,
    seeds: Sequence[int] = (report.DEFAULT_SEED,),
    profile: str = "default",
    scheduler: str | None = None,
    n_workers: int | None = None,
    threads_per_report: int | None = None,
    retries: int = 2,
    root: str | os.PathLike = paths.REPO_ROOT,
    progress: bool = True,
    log: Callable[[str], None] = lambda line: print(line, flush=True),
) -> SweepResult:
    """Run one report per input and seed on Dask and write the sweep's summary (the
    module docstring says what, where, and how it resumes). `scheduler`: the address of
    a running Dask scheduler (None: a :func:`local_cluster` of `n_workers`)."""
    root = Path(root).resolve()
    output_dir = paths.check_writable_folder(output_dir, f"--output-dir {output_dir}")
    if retries < 0:
        raise ValueError(f"retries={retries}: expected 0 or more")
    if threads_per_report is not None and threads_per_report < 1:
        raise ValueError(f"--threads-per-report {threads_per_report}: expected at least 1")
    _check_sweep_folder(output_dir, profile)
    tasks = plan(inputs, seeds, profile, output_dir, root)
    tag = f"[sweep {profile}]"
    start = time.perf_counter()
    prepare_shared_inputs(profile, tasks, root, log)
    output_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        output_dir / SWEEP_STATE,
        json.dumps(
            {
                "version": STATE_VERSION,
                "profile": profile,
                "seeds": list(seeds),
                "reports": [asdict(t) for t in tasks],
            },
            indent=2,
        )
        + "\n",
    )
    result = SweepResult(output_dir)
    todo = []
    for task in tasks:
        if report_finished(output_dir / task.folder, task, profile):
            result.skipped.append(task.name)
        else:
            todo.append(task)
    log(
        f"{tag} {len(tasks)} reports: {len(result.skipped)} finished earlier, "
        f"{len(todo)} to run, into {output_dir}"
    )
    if todo:
        with dask_client(scheduler, n_workers) as client:
            if scheduler is None and threads_per_report is None:  # the cores shared out
                local_workers = len(client.scheduler_info().get("workers", {}))
                threads_per_report = max(1, (os.cpu_count() or 1) // max(1, local_workers))
            settings = dict(profile=profile, output_dir=output_dir, root=root)
            settings.update(threads=threads_per_report, retries=retries)
            _run_on(client, todo, result, settings, progress=progress, log=log)
    result.wall_seconds = time.perf_counter() - start
    finished = [t for t in tasks if report_finished(output_dir / t.folder, t, profile)]
    if finished:
        result.table = sweep_table(output_dir, finished, profile)
        result.files = write_summary(output_dir, result.table, profile, seeds=list(seeds))
        log(f"{tag} summary: {result.files['html']} (table: {result.files['csv']})")
    log(
        f"{tag} wall time {result.wall_seconds:.0f} s; the tasks run here took "
        f"{result.task_seconds:.0f} s one after another "
        f"(on {counted(result.n_workers, 'worker')})"
    )
    if result.failed:
        raise SweepError(
            f"{len(result.failed)} of {len(tasks)} reports failed (the others are in the "
            "summary; the same command again runs only the unfinished ones):\n  "
            + "\n  ".join(f"{name}: {error}" for name, error in result.failed.items())
        )
    return result


def _run_on(
    client, todo: list[SweepTask], result: SweepResult, settings: dict, *, progress, log
) -> None:
    """Submit `todo` to `client`, one task each (`settings`: the profile, output folder,
    repository root, threads per report and retries), and wait for them with a progress
    bar, recording each in `result`."""
    profile = settings["profile"]
    tag = f"[sweep {profile}]"
    workers = client.scheduler_info().get("workers", {})
    result.n_workers = len(workers)
    threads = settings["threads"]
    threads = counted(threads, "thread") if threads else "their worker's threads"
    log(
        f"{tag} {counted(len(workers), 'Dask worker')}, a report's chapters on {threads}; "
        f"dashboard: {client.dashboard_link}"
    )
    if any(w.get("nthreads", 1) > 1 for w in workers.values()):
        log(
            f"{tag} note: workers with several threads take several reports and run them one "
            "after another; start workers of one thread (and pass --threads-per-report)"
        )
    ready, waiting = task_queue(todo)
    finishing = Finishing({}, desc="reports", unit="report", progress=progress, total=len(todo))

    def send_ready() -> None:
        # Dask hands a task to a worker when it is submitted, not when the worker is free,
        # so tasks go out only as workers free up: one per worker thread at a time
        workers = client.scheduler_info().get("workers", {}).values()
        slots = max(1, sum(w.get("nthreads", 1) for w in workers))
        while ready and len(finishing.running) < slots:
            what, inputs = ready.popleft()
            if isinstance(what, SweepTask):
                finishing.add(submit_report(client, what, settings, inputs), what)
            else:
                future = submit_network_inputs(client, what[1], settings)
                finishing.add(future, what, counted=False)

    send_ready()
    for what, done, error in finishing:
        if isinstance(what, SweepTask):
            task = what
            if error is not None:
                result.failed[task.name] = f"{type(error).__name__}: {error}"
                log(f"{tag} {task.name}: failed ({error}); log: {LOGS_FOLDER}/{task.folder}.log")
            else:
                result.ran.append(task.name)
                result.task_seconds += done["seconds"]
                log(f"{tag} {task.name}: done in {done['seconds']:.0f} s")
        else:  # a picture network's inputs: its reports can go now
            name, task = what
            if error is not None:
                log(f"{tag} {name}: failed ({error})")
                for report_task in waiting[task.network_folder]:
                    result.failed[report_task.name] = f"{name} failed: {error}"
                    finishing.skip()
            else:
                result.task_seconds += done["seconds"]
                log(f"{tag} {name}: done in {done['seconds']:.0f} s")
                ready.extendleft((t, done) for t in reversed(waiting[task.network_folder]))
        send_ready()


def task_queue(todo: list[SweepTask]) -> tuple[deque, dict[str, list[SweepTask]]]:
    """The order tasks go to the workers: first one per picture network (its features of
    its pictures, named "inputs of ..."), then the reports of the other networks; and,
    per picture network (its `SweepTask.network_folder`), its reports, which go first
    once its inputs are done. Queue items: (a report's task, None), or ((the inputs'
    name, the network's first task), None)."""
    ready, waiting = deque(), {}
    for task in todo:
        if task.kind == "pictures":
            if task.network_folder not in waiting:
                ready.append(((f"inputs of {task.network_folder}", task), None))
            waiting.setdefault(task.network_folder, []).append(task)
    ready.extend((task, None) for task in todo if task.kind != "pictures")
    return ready, waiting


def submit_network_inputs(client, task: SweepTask, settings: dict):
    """Submit :func:`run_network_inputs` for `task`'s picture network to `client`."""
    return client.submit(
        run_network_inputs,
        asdict(task),
        settings["profile"],
        str(settings["output_dir"]),
        str(paths.artefacts_root()),
        settings["threads"],
        key=f"inputs of {task.key} ({task.network_folder})",
        pure=False,
        retries=settings["retries"],
    )


def submit_report(client, task: SweepTask, settings: dict, network_inputs: dict | None):
    """Submit one report of the sweep (:func:`run_task`) to `client`; `network_inputs`: its
    picture network's inputs (:func:`run_network_inputs`' result), or None."""
    return client.submit(
        run_task,
        asdict(task),
        settings["profile"],
        str(settings["output_dir"]),
        str(paths.artefacts_root()),
        str(settings["root"]),
        settings["threads"],
        network_inputs,
        key=f"{task.name} ({task.folder})",
        pure=False,
        retries=settings["retries"],
    )


# ------------------------------------------------------------------------ summary


def sweep_table(output_dir: Path, tasks: Sequence[SweepTask], profile: str) -> pd.DataFrame:
    """One row per finished report: its network (key), label, input, layer, seed, report
    folder and chapters' seconds, the module its features come from and that module's
    relative depth (`networks.layer_depth`; empty for concept features), then its key
    numbers (from its ``key_numbers.csv``)."""
    rows = []
    depths = {}  # one model built per network input and layer
    for task in tasks:
        where = (task.network, task.layer, task.picture_network)
        if where not in depths:
            depths[where] = _layer_depth(task, profile)
        module, depth = depths[where] or ("", math.nan)
        folder = output_dir / task.folder
        numbers = pd.read_csv(folder / report.KEY_NUMBERS_FILE).iloc[0].to_dict()
        state = json.loads((folder / report.STATE_FILE).read_text(encoding="utf-8"))
        seconds = sum(entry["seconds"] for entry in state["chapters"].values())
        row = {
            "network": task.key,
            "label": numbers.get("label", task.label),
            "input": task.network,
            "layer": task.layer,
            "seed": task.seed,
            "report": task.folder,
            "seconds": round(float(seconds), 1),
            "module": module,
            "depth": depth,
        }
        row.update({k.name: numbers.get(k.name, math.nan) for k in keynumbers.KEY_NUMBERS})
        rows.append(row)
    table = pd.DataFrame(rows)
    integers = [n for n in ("n_concepts", "n_dimensions") if n in table]
    return table.astype({n: "Int64" for n in integers})


def _layer_depth(task: SweepTask, profile: str) -> tuple[str, float] | None:
    """`networks.layer_depth` of the network a task's report studied (None for concept
    features)."""
    from dnnalign_utils import networks

    if task.kind != "pictures":
        return None
    found = report.resolve_input(
        task.network, profile, layer=task.layer, picture_network=task.picture_network
    )
    return networks.layer_depth(found.network)


def seed_spread(table: pd.DataFrame) -> pd.DataFrame:
    """The seed-to-seed spread of every key number per network and layer: the number of
    seeds, mean, standard deviation (ddof 1; NaN for one seed), minimum and maximum."""
    long = table.melt(
        id_vars=["network", "label", "layer", "seed"],
        value_vars=[k.name for k in keynumbers.KEY_NUMBERS],
        var_name="key_number",
    )
    values = pd.to_numeric(long["value"], errors="coerce")  # counts are Int64: NA
    long["value"] = pd.Series(values).to_numpy(dtype=float, na_value=math.nan)
    order = {k.name: i for i, k in enumerate(keynumbers.KEY_NUMBERS)}
    grouped = long.groupby(["network", "label", "layer", "key_number"], sort=False)["value"]
    spread = grouped.agg(n_seeds="count", mean="mean", sd="std", min="min", max="max")
    spread = spread.reset_index()
    spread["_order"] = spread["key_number"].map(order)
    return spread.sort_values(["network", "layer", "_order"], kind="stable").drop(columns="_order")


def _layer_axis(table: pd.DataFrame) -> pd.Series:
    return table["layer"].where(table["layer"] != "", "default")


def layer_figure(table: pd.DataFrame):
    """Alignment (:data:`ALIGNMENT_NUMBERS`, mean ± SD over seeds) against layer depth,
    one line per network: each layer at its module's relative depth in the network
    (``depth``, `networks.layer_depth`), the deepest right. Layers of a network without a
    model here (a reader's features) are spaced evenly in the order the sweep lists them,
    and its legend entry says so."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    frame = table.assign(layer_shown=_layer_axis(table))
    titles = [keynumbers.BY_NAME[n].description for n in ALIGNMENT_NUMBERS]
    figure = make_subplots(rows=len(ALIGNMENT_NUMBERS), cols=1, subplot_titles=titles)
    for row, name in enumerate(ALIGNMENT_NUMBERS, start=1):
        for network, rows in frame.groupby("network", sort=False):
            stats = rows.groupby("layer_shown", sort=False).agg(
                mean=(name, "mean"), std=(name, "std"), depth=("depth", "first")
            )
            label = str(rows["label"].iloc[0])
            if stats["depth"].notna().all():
                stats = stats.sort_values("depth", kind="stable")
            elif len(stats) == 1:  # concept features: no layers to place
                stats["depth"] = [1.0]
                label += " (its features, drawn at 1)"
            else:  # no model to place the layers: evenly, in the sweep's order
                stats["depth"] = [(i + 1) / len(stats) for i in range(len(stats))]
                label += " (layers in the order given)"
            figure.add_trace(
                go.Scatter(
                    x=stats["depth"],
                    y=stats["mean"],
                    error_y={"type": "data", "array": stats["std"].fillna(0)},
                    mode="lines+markers",
                    name=label,
                    legendgroup=network,
                    showlegend=row == 1,
                    text=list(stats.index),
                    hovertemplate="layer %{text}<br>depth %{x:.2f}<br>%{y:.3f}",
                ),
                row=row,
                col=1,
            )
        figure.update_xaxes(
            title_text="layer's relative depth in its network (0: first module, 1: last)",
            range=[-0.03, 1.03],
            row=row,
            col=1,
        )
        figure.update_yaxes(title_text=name, row=row, col=1)
    figure.update_layout(
        title="Alignment against layer depth (mean ± SD over seeds)",
        template="plotly_white",
        height=360 * len(ALIGNMENT_NUMBERS),
    )
    return figure


def shares_figure(table: pd.DataFrame):
    """Each report's visual share against its semantic share (% of its dimensions),
    coloured by network."""
    import plotly.graph_objects as go

    figure = go.Figure()
    frame = table.assign(layer_shown=_layer_axis(table))
    for network, rows in frame.groupby("network", sort=False):
        figure.add_trace(
            go.Scatter(
                x=rows["semantic_share"],
                y=rows["visual_share"],
                mode="markers",
                name=str(rows["label"].iloc[0]),
                legendgroup=network,
                text=[
                    f"layer {la}, seed {s}"
                    for la, s in zip(rows["layer_shown"], rows["seed"], strict=True)
                ],
                hovertemplate="%{text}<br>semantic %{x:.1f} %<br>visual %{y:.1f} %",
            )
        )
    figure.update_layout(
        title="Visual against semantic share of the dimensions (one point per report)",
        xaxis_title="semantic share (% of dimensions)",
        yaxis_title="visual share (% of dimensions)",
        template="plotly_white",
        height=480,
    )
    return figure


def _table_markdown(frame: pd.DataFrame) -> list[str]:
    def cell(value) -> str:
        if isinstance(value, float):
            return "–" if math.isnan(value) else f"{value:.3g}"
        return "–" if value is pd.NA else str(value).replace("|", "\\|")

    lines = [
        "| " + " | ".join(frame.columns) + " |",
        "| " + " | ".join("---" for _ in frame.columns) + " |",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return lines


def summary_markdown(table: pd.DataFrame, spread: pd.DataFrame, profile: str) -> str:
    """The summary page in Markdown: what was swept, the spread of the headline numbers
    over seeds per network and layer, and every report with its link."""
    shown = ["choice_agreement", "rsm_variance_explained", "r2_median", "visual_share"]
    shown += ["semantic_share", "best_match_r", "global_rsa_r"]
    wide = spread[spread["key_number"].isin(shown)].copy()
    wide["mean ± SD"] = [
        "–" if math.isnan(m) else (f"{m:.3g}" + ("" if math.isnan(s) else f" ± {s:.2g}"))
        for m, s in zip(wide["mean"], wide["sd"], strict=True)
    ]
    pivot = wide.pivot_table(
        index=["network", "label", "layer"], columns="key_number", values="mean ± SD",
        aggfunc="first", sort=False,
    ).reset_index()  # fmt: skip
    seeds = table.groupby(["network", "layer"], sort=False)["seed"].nunique()
    pivot["seeds"] = [seeds[n, la] for n, la in zip(pivot["network"], pivot["layer"], strict=True)]
    pivot["layer"] = pivot["layer"].where(pivot["layer"] != "", "default")
    pivot = pivot[["label", "layer", "seeds", *[n for n in shown if n in pivot]]]
    reports = table[["label", "layer", "seed", "seconds", "report"]].copy()
    reports["layer"] = reports["layer"].where(reports["layer"] != "", "default")
    reports["report"] = [f"[{r}]({r}/{report.REPORT_HTML})" for r in reports["report"]]
    lines = [
        "# Sweep: key numbers of many networks",
        "",
        f"- **Profile**: `{profile}`",
        f"- **Reports**: {len(table)} ({counted(table['network'].nunique(), 'network')}, "
        f"{counted(table['seed'].nunique(), 'seed')})",
        f"- **Table**: [{SWEEP_CSV}]({SWEEP_CSV}) (one row per report); the spread of every "
        f"key number: [{SPREAD_CSV}]({SPREAD_CSV})",
        "",
        "## Seed-to-seed spread per network and layer",
        "",
        "Mean ± standard deviation over seeds (one seed: no SD). The meanings:",
        "",
        *[f"- `{n}`: {keynumbers.BY_NAME[n].description}" for n in shown],
        "",
        *_table_markdown(pivot),
        "",
        "## Reports",
        "",
        *_table_markdown(reports),
        "",
    ]
    return "\n".join(lines)


def write_summary(
    output_dir: Path, table: pd.DataFrame, profile: str, *, seeds: Sequence[int] = ()
) -> dict[str, Path]:
    """Write ``sweep.csv`` (with its provenance sidecar), ``sweep_spread.csv``,
    ``sweep.md`` and ``sweep.html`` (the tables and the two figures) into `output_dir`,
    each atomically. The page loads plotly.js from :data:`PLOTLY_JS` beside it (written
    here, the copy of the installed plotly), so it opens offline without carrying 4.8 MB
    of script itself."""
    spread = seed_spread(table)
    record = provenance_record(
        "dnnalign_utils.sweep",
        parameters={"profile": profile, "seeds": list(seeds), "reports": list(table["report"])},
        inputs={
            f"{folder}/{report.KEY_NUMBERS_FILE}": output_dir / folder / report.KEY_NUMBERS_FILE
            for folder in table["report"]
        },
    )
    csv_path = write_artefact(
        output_dir / SWEEP_CSV, lambda tmp: table.to_csv(tmp, index=False), record
    )
    spread_path = atomic_write_text(output_dir / SPREAD_CSV, spread.to_csv(index=False))
    markdown = summary_markdown(table, spread, profile)
    md_path = atomic_write_text(output_dir / SWEEP_MARKDOWN, markdown)
    script_path = _write_plotly_js(output_dir / PLOTLY_JS)
    figures = [
        figure.to_html(full_html=False, include_plotlyjs=False)
        for figure in (layer_figure(table), shares_figure(table))
    ]
    page = report.report_html(markdown, "Sweep: key numbers of many networks")
    page = page.replace("</head>", f'<script src="{PLOTLY_JS}"></script>\n</head>', 1)
    section = "<h2>Figures</h2>\n" + "\n".join(figures) + "\n</body>"
    html_path = atomic_write_text(output_dir / SWEEP_HTML, page.replace("</body>", section, 1))
    return {
        "csv": csv_path,
        "spread": spread_path,
        "markdown": md_path,
        "html": html_path,
        "plotly": script_path,
    }


def _write_plotly_js(target: Path) -> Path:
    """The installed plotly's plotly.js at `target`, written (atomically) unless it is
    there already with the same content."""
    from plotly.offline import get_plotlyjs

    script = get_plotlyjs()
    if not (target.is_file() and target.read_text(encoding="utf-8") == script):
        atomic_write_text(target, script)
    return target
