"""The command line of the book: `build`, `report`, `sweep` and `sync-notebooks`.

    python -m dnnalign_utils.book COMMAND ...   (or the `dnnalign-book` console script)

It sits above the runner (`dnnalign_utils.book`) and the report (`dnnalign_utils.report`)
and is the one place that turns their errors into a one-line message and exit status 1.
`python -m dnnalign_utils.book` runs `book.py` as `__main__`, which only delegates here:
the errors caught are those of the imported `dnnalign_utils.book`, the module the report
and the runner raise from (a `__main__` copy of it would define other classes).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from dnnalign_utils import book
from dnnalign_utils.book import BookBuildError, build_book, sync_notebooks
from dnnalign_utils.paths import DEFAULT_PICTURE_NETWORK, REPO_ROOT
from dnnalign_utils.profiles import PROFILE_NAMES

DESCRIPTION = (book.__doc__ or "").split("\n\n")[0]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dnnalign-book", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="execute the notebooks and build the HTML book")
    build.add_argument("--profile", choices=PROFILE_NAMES, default="default")
    build.add_argument(
        "--only",
        nargs="+",
        metavar="STEM",
        help="execute only these notebooks (e.g. 00_data); the others reuse their executed copies",
    )
    build.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="where _build/ goes (default: the repository root)",
    )
    build.add_argument(
        "--no-execute",
        action="store_true",
        help="reuse the executed copies, only rebuild the HTML (fast prose iteration)",
    )
    build.add_argument(
        "--no-book", action="store_true", help="execute the notebooks only, skip jupyter-book"
    )
    build.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="book root holding _toc.yml (default: repo)"
    )
    report = sub.add_parser(
        "report",
        help="run the chapters that study a network for one network and report its key numbers",
    )
    report.add_argument(
        "--network",
        required=True,
        metavar="PATH_OR_NAME",
        help="a registered network, a .npy of concept features (1,854 rows in THINGS order), "
        "a thingsvision features folder, or a folder of pictures with concepts.csv",
    )
    report.add_argument(
        "--output-dir", type=Path, required=True, help="where the report and notebooks go"
    )
    report.add_argument(
        "--layer", default="", help="thingsvision sub-folder, or a picture network's layer"
    )
    report.add_argument(
        "--picture-network",
        default=None,
        help=f"the network that sees a picture folder (default: {DEFAULT_PICTURE_NETWORK})",
    )
    report.add_argument(
        "--profile",
        choices=PROFILE_NAMES,
        default="default",
        help="run profile (default: default; smoke: tiny slices to try the command)",
    )
    report.add_argument(
        "--restart",
        action="store_true",
        help="discard the report already in --output-dir and run every chapter again",
    )
    report.add_argument(
        "--seed",
        type=int,
        default=0,
        help="the chapters' seed (default 0, the book's): sampling, splits, fits, folds",
    )
    report.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository holding notebooks/ (default)"
    )
    _sweep_parser(sub)
    sync = sub.add_parser(
        "sync-notebooks",
        help="write each notebooks/*.ipynb from its .py source plus the Colab set-up cell",
    )
    sync.add_argument("stems", nargs="*", metavar="STEM", help="only these (e.g. 01_triplet_task)")
    sync.add_argument(
        "--check", action="store_true", help="write nothing; fail if a file would change"
    )
    sync.add_argument("--root", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    return parser


def _report_main(args) -> int:
    from dnnalign_utils.report import run_report

    start = time.perf_counter()
    try:
        run_report(
            args.network,
            args.output_dir,
            profile=args.profile,
            layer=args.layer,
            picture_network=args.picture_network,
            restart=args.restart,
            root=args.root,
            seed=args.seed,
        )
    except (BookBuildError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"[report {args.profile}] total: {time.perf_counter() - start:.1f} s", flush=True)
    return 0


def _sweep_parser(sub) -> None:
    sweep = sub.add_parser(
        "sweep",
        help="run the report for many networks, layers and seeds at once, on Dask",
    )
    sweep.add_argument(
        "--network",
        nargs="+",
        action="extend",
        default=[],
        metavar="PATH_OR_NAME",
        help="networks as `report --network` takes them (several, or the option repeated)",
    )
    sweep.add_argument(
        "--networks-file",
        type=Path,
        default=None,
        help="a file listing networks, one a line: NETWORK[,LAYER[,PICTURE_NETWORK]]",
    )
    sweep.add_argument(
        "--layer",
        nargs="+",
        action="extend",
        default=[],
        help="layers of every --network (default: each network's default layer)",
    )
    sweep.add_argument(
        "--picture-network",
        default=None,
        help=f"the network that sees a --network picture folder (default: "
        f"{DEFAULT_PICTURE_NETWORK})",
    )
    sweep.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds (default: 0)")
    sweep.add_argument("--profile", choices=PROFILE_NAMES, default="default")
    sweep.add_argument(
        "--output-dir", type=Path, required=True, help="where the reports and the summary go"
    )
    sweep.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="a running Dask scheduler (default: start a LocalCluster on this machine)",
    )
    sweep.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes of the LocalCluster (default: one per core)",
    )
    sweep.add_argument(
        "--threads-per-report",
        type=int,
        default=None,
        help="threads of a report's chapters (default: the cores shared out among the "
        "LocalCluster's workers; with --scheduler, the worker's threads)",
    )
    sweep.add_argument(
        "--retries", type=int, default=2, help="reruns of a failed report (default: 2)"
    )
    sweep.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository holding notebooks/ (default)"
    )


def _sweep_main(args) -> int:
    from dnnalign_utils import sweep

    if args.scheduler and args.workers:
        print("error: --workers sizes the LocalCluster; not with --scheduler", file=sys.stderr)
        return 2
    try:
        inputs = sweep.command_line_inputs(args.network, args.layer, args.picture_network)
        if args.networks_file is not None:
            inputs += sweep.read_networks_file(args.networks_file)
        sweep.run_sweep(
            inputs,
            args.output_dir,
            seeds=args.seeds,
            profile=args.profile,
            scheduler=args.scheduler,
            n_workers=args.workers,
            threads_per_report=args.threads_per_report,
            retries=args.retries,
            root=args.root,
        )
    except (BookBuildError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _sync_main(args) -> int:
    try:
        changed = sync_notebooks(args.root, args.stems, check=args.check)
    except (BookBuildError, ValueError, OSError) as error:  # OSError: e.g. a read-only folder
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in changed:
        verb = "out of step" if args.check else "written"
        print(f"{path.relative_to(Path(args.root).resolve())}: {verb}", flush=True)
    if args.check and changed:
        print(
            "error: run `python -m dnnalign_utils.book sync-notebooks` after editing a "
            "chapter (not bare `jupytext --sync`)",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "report":
        return _report_main(args)
    if args.command == "sweep":
        return _sweep_main(args)
    if args.command == "sync-notebooks":
        args.root = Path(args.root).resolve()
        return _sync_main(args)
    if args.no_execute and args.only:
        print("error: --only and --no-execute exclude each other", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        build_book(
            args.profile,
            only=args.only,
            output_dir=args.output_dir,
            execute=not args.no_execute,
            build_html=not args.no_book,
            root=args.root,
        )
    except (BookBuildError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"[{args.profile}] total: {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
