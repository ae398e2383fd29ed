"""The Colab set-up cell adds what Colab lacks and changes none of Colab's packages.

Upgrading a package that the running kernel has imported (IPython, ipykernel, torch,
numpy, ...) breaks a Colab runtime. The cell passes every installed distribution to pip
as a constraint at its installed version. Simulated here without Colab and without
downloading Colab's multi-GB environment: a throwaway environment holds Colab's packages
(`colab_packages.txt`) as metadata-only stubs, the cell runs there (with `google.colab`
faked, `git` and `pip` captured) and its pip command runs as a dry run against that
environment; pip's install report must name none of Colab's packages.

What this covers: pip's decisions about installed versions, the package's dependency
ranges, the constraints the cell writes. What it does not: the stubs carry no
dependencies of their own (Colab's packages already agree with each other), the
resolution runs for this interpreter's Python (Colab's is 3.12), and the snapshot of
Colab's versions must be refreshed by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from dnnalign_utils import book

REPO = Path(__file__).resolve().parents[1]
COLAB_PACKAGES = Path(__file__).with_name("colab_packages.txt")
CLONE_LINE = '    _repo = "/content/dnnalign"\n'
# What pip prints when the index cannot be reached at all (then the test skips).
NETWORK_ERRORS = ("NewConnectionError", "Max retries exceeded", "Failed to establish")


def colab_versions() -> dict[str, str]:
    pins = {}
    for line in COLAB_PACKAGES.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def colab_like_environment(folder: Path, **more: str) -> Path:
    """A virtual environment (no pip) holding Colab's packages (and `more`, name=version)
    as metadata-only stubs; returns its Python."""
    venv.EnvBuilder(with_pip=False).create(folder)
    (site_packages,) = folder.glob("lib/python3*/site-packages")
    for name, version in {**colab_versions(), **more}.items():
        stub = site_packages / f"{name.replace('-', '_')}-{version}.dist-info"
        stub.mkdir()
        (stub / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        (stub / "INSTALLER").write_text("pip\n")
    return folder / "bin" / "python"


def run_cell_in(python: Path, workdir: Path) -> list[list[str]]:
    """Run the Colab cell in `python` as Colab would (the clone already there: this
    repository), with every subprocess captured instead of run; the captured commands."""
    assert CLONE_LINE in book.COLAB_SETUP_CELL
    cell = book.COLAB_SETUP_CELL.replace(CLONE_LINE, f"    _repo = {str(REPO)!r}\n")
    harness = (
        "import json, subprocess, sys, tempfile, types\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
        f"tempfile.tempdir = {str(workdir)!r}\n"
        "commands = []\n"
        "subprocess.run = lambda command, **options: commands.append(command)\n"
        f"exec(compile({cell!r}, '<colab-cell>', 'exec'), {{}})\n"
        "print(json.dumps(commands))\n"
    )
    result = subprocess.run([python, "-I", "-c", harness], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(300)
def test_colab_cell_changes_none_of_colabs_packages(tmp_path):
    # a session that ran an older version of the cell: this package may change
    python = colab_like_environment(tmp_path / "colab", **{"dnnalign-utils": "0.0.1"})
    (install,) = run_cell_in(python, tmp_path)
    assert install[:4] == [str(python), "-m", "pip", "install"]
    constraints = Path(install[install.index("-c") + 1]).read_text().splitlines()
    assert "ipython==7.34.0" in constraints and "torch==2.8.0+cu126" in constraints
    assert not [line for line in constraints if line.startswith("dnnalign-utils")]
    report = tmp_path / "report.json"
    # this environment's pip, run against the Colab-like one; nothing is installed
    dry_run = [sys.executable, "-m", "pip", "--python", str(python), *install[3:]]
    result = subprocess.run(
        [*dry_run, "--dry-run", "--report", str(report)], capture_output=True, text=True
    )
    if result.returncode and any(error in result.stderr for error in NETWORK_ERRORS):
        pytest.skip(f"the package index cannot be reached: {result.stderr.strip()[-300:]}")
    errors = "\n".join(line for line in result.stderr.splitlines() if "ignored" not in line)
    assert result.returncode == 0, f"the cell's install fails next to Colab's packages:\n{errors}"
    added = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    changed = {
        name: (colab_versions()[name], added[name])
        for name in added.keys() & colab_versions().keys()
    }
    assert not changed, f"Colab's packages the cell would change (Colab's, new): {changed}"
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert added["dnnalign-utils"] == version and "himalaya" in added
    # running a chapter needs none of the HTML build
    assert not {"jupyter-book", "sphinx-book-theme"} & added.keys()
