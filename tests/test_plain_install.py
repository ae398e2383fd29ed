"""A plain install (a wheel, not a checkout) runs a chapter notebook a reader downloaded.

The wheel is built from the repository's tracked files and carries the embedded data
(`dnnalign_utils/embedded_data`, from data/). It is installed without its dependencies
into a fresh environment that links this environment's copies of them (nothing is
downloaded), and chapter 1 runs there with papermill and only `-p profile smoke`, in a
folder outside the repository, with no DNNALIGN_* variables but the one that turns off
fetching from the published book: it first runs chapter 0, whose artefacts it needs,
from the chapter sources the wheel carries (`book.chapter_sources_root`). The package,
its data, the chapter sources and the artefacts must all come from the install and
that folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest
from conftest import REPO_ROOT, tracked_files
from test_packaging import _link_distributions, declared_requirements, requirement_closure

from dnnalign_utils import book, paths, profiles

CHAPTER = "01_triplet_task"


def _tracked_copy(target: Path) -> Path:
    """The repository's tracked files (as they are in the working tree) under `target`."""
    for name in tracked_files():
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _run(command: list, **options) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **options)
    assert result.returncode == 0, f"{command[:4]} failed:\n{result.stderr[-4000:]}"
    return result


@pytest.mark.book
@pytest.mark.timeout(900)
def test_a_downloaded_chapter_runs_on_a_plain_install(tmp_path):
    source = _tracked_copy(tmp_path / "source")
    # no build isolation: this environment's setuptools builds it, nothing is downloaded
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "-q", "-w", tmp_path / "wheel", source])  # fmt: skip
    (wheel,) = (tmp_path / "wheel").glob("dnnalign_utils-*.whl")

    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    (site_packages,) = env_dir.glob("lib/python3*/site-packages")
    closure = requirement_closure(declared_requirements()) - {"dnnalign-utils"}
    _link_distributions(closure, site_packages)
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
          "--no-index", "-q", wheel])  # fmt: skip

    # the chapter as the book offers it for download: the paired notebook with the
    # book's hidden renderer cell, plus a last cell that says where things came from
    reader = tmp_path / "reader"
    reader.mkdir()
    nb = nbformat.read(REPO_ROOT / "notebooks" / f"{CHAPTER}.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(book.RENDERER_CELL))
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import dnnalign_utils\nfrom dnnalign_utils import paths\n"
            "print('package:', dnnalign_utils.__file__)\n"
            "print('data:', paths.data_dir())\nprint('artefacts:', paths.artefacts_root())\n"
            "print('n_network_triplets:', n_network_triplets)"
        )
    )
    nbformat.write(nb, reader / f"{CHAPTER}.ipynb")
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("DNNALIGN_", "PYTHON"))}
    clean_env["DNNALIGN_BOOK_URL"] = ""  # recompute chapter 0: the test reaches no book
    _run(
        [python, "-m", "papermill", f"{CHAPTER}.ipynb", "out.ipynb", "-p", "profile", "smoke",
         "--cwd", reader, "--no-progress-bar"],
        cwd=reader, env=clean_env, timeout=800,
    )  # fmt: skip

    executed = nbformat.read(reader / "out.ipynb", as_version=4)
    said = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    lines = dict(line.split(": ", 1) for line in said.splitlines())
    assert Path(lines["package"]).is_relative_to(site_packages.resolve()), said
    assert Path(lines["data"]) == site_packages.resolve() / "dnnalign_utils" / "embedded_data"
    assert Path(lines["artefacts"]) == reader.resolve() / "artefacts"
    smoke = profiles.PROFILES["smoke"][CHAPTER]["n_network_triplets"]
    assert lines["n_network_triplets"] == str(smoke)  # only the profile was passed
    upstream = reader / "artefacts" / "smoke" / "upstream_runs" / "notebooks" / "00_data.ipynb"
    assert upstream.is_file(), "chapter 0 ran first, from the sources the wheel carries"
    assert (site_packages / "dnnalign_utils" / "notebooks" / "00_data.py").is_file()


def test_a_checkout_uses_its_own_folders(monkeypatch):
    monkeypatch.delenv("DNNALIGN_DATA_DIR", raising=False)
    monkeypatch.delenv("DNNALIGN_ARTEFACTS_DIR", raising=False)
    assert not paths.is_installed_copy()
    assert paths.data_dir() == REPO_ROOT / "data"
    assert paths.artefacts_root() == REPO_ROOT / "artefacts"


def test_an_installed_copy_uses_its_data_and_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DNNALIGN_DATA_DIR", raising=False)
    monkeypatch.delenv("DNNALIGN_ARTEFACTS_DIR", raising=False)
    installed = tmp_path / "site-packages" / "dnnalign_utils" / "embedded_data"
    installed.mkdir(parents=True)
    monkeypatch.setattr(paths, "INSTALLED_DATA", installed)
    monkeypatch.chdir(tmp_path)
    assert paths.data_dir() == installed
    assert paths.artefacts_root() == tmp_path / "artefacts"
