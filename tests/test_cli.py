"""The command line (`dnnalign_utils.cli`), as the README runs it: `python -m
dnnalign_utils.book ...`, which executes `book.py` as `__main__`."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from conftest import REPO_ROOT

from dnnalign_utils import cli, paths
from dnnalign_utils.conventions import N_OBJECTS


def _run_module(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dnnalign_utils.book", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
        check=False,
    )


def test_a_report_error_is_one_line_without_a_traceback(tmp_path):
    features = tmp_path / "features.npy"
    np.save(features, np.random.default_rng(0).random((N_OBJECTS, 4)))
    folder = tmp_path / "my folder"
    folder.mkdir()
    (folder / "thesis.tex").write_text("mine", encoding="utf-8")
    proc = _run_module(
        "report",
        "--network",
        str(features),
        "--output-dir",
        str(folder),
        "--profile",
        "smoke",
        env={paths.ARTEFACTS_ENV: str(tmp_path / "artefacts")},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: --output-dir ") and "thesis.tex" in proc.stderr


def test_a_build_error_is_one_line_without_a_traceback(tmp_path):
    not_a_folder = tmp_path / "artefacts.txt"
    not_a_folder.write_text("", encoding="utf-8")
    proc = _run_module(
        "build",
        "--profile",
        "smoke",
        "--only",
        "00_data",
        "--no-book",
        "--output-dir",
        str(tmp_path / "out"),
        env={paths.ARTEFACTS_ENV: str(not_a_folder)},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: artefact folder: ")
    assert paths.ARTEFACTS_ENV in proc.stderr


def test_python_m_book_and_the_console_script_are_the_command_line(capsys):
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dnnalign-book = "dnnalign_utils.cli:main"' in text
    proc = subprocess.run(
        [sys.executable, "-m", "dnnalign_utils.book", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0 and "sync-notebooks" in proc.stdout, proc.stderr
    assert cli.main(["build", "--only", "00_data", "--no-execute"]) == 2
