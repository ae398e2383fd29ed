"""Shared fixtures: one smoke-profile build of the whole book per test session; the
recovery tests' simulated triplets (`simulate_triplets`)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Chapters run alone fetch missing hand-offs from the published book: the tests reach no
# web server but the ones they start themselves (test_handoffs.py sets its own).
os.environ["DNNALIGN_BOOK_URL"] = ""


@dataclass(frozen=True)
class BookBuild:
    """A finished run of the book runner CLI."""

    output_dir: Path
    returncode: int
    log: str

    @property
    def html_dir(self) -> Path:
        return self.output_dir / "_build" / "html"

    @property
    def executed_dir(self) -> Path:
        return self.output_dir / "_build" / "executed" / "smoke"


def tracked_files() -> list[str]:
    """The repository's tracked files (relative paths), or skip the test outside a git
    checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return list(filter(None, listed.split("\0")))


def run_book_cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run `python -m dnnalign_utils.book ARGS` from the repository root."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "dnnalign_utils.book", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory) -> BookBuild:
    """The whole book built with `--profile smoke` into a temporary output folder.

    `DNNALIGN_SMOKE_BOOK_DIR=DIR` reuses a smoke book already built with
    `--output-dir DIR` (for iterating on the browser tests; the suite builds its own)."""
    prebuilt = os.environ.get("DNNALIGN_SMOKE_BOOK_DIR")
    if prebuilt:
        output_dir = Path(prebuilt)
        built = (output_dir / "_build" / "html" / "index.html").is_file()
        return BookBuild(output_dir, 0 if built else 1, f"no built book under {output_dir}")
    output_dir = tmp_path_factory.mktemp("smoke_book")
    proc = run_book_cli("build", "--profile", "smoke", "--output-dir", str(output_dir))
    return BookBuild(output_dir, proc.returncode, proc.stdout + proc.stderr)


def simulate_triplets(w, n_triplets, seed):
    """Random distinct triplets over the rows of `w`; the odd one out is drawn from the
    model's own softmax (`container.choice_probabilities`): recovery tests' data."""
    from dnnalign_utils.container import choice_probabilities

    rng = np.random.default_rng(seed)
    t = rng.integers(0, w.shape[0], size=(2 * n_triplets, 3))
    t = t[(t[:, 0] != t[:, 1]) & (t[:, 0] != t[:, 2]) & (t[:, 1] != t[:, 2])][:n_triplets]
    p = choice_probabilities(w, t)
    odd = (rng.random(len(t))[:, None] > np.cumsum(p, 1)).sum(1)
    others = np.array([[1, 2], [0, 2], [0, 1]])[odd]
    rows = np.arange(len(t))
    return np.column_stack([t[rows[:, None], others], t[rows, odd]]).astype(np.int64)
