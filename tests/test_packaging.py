"""The package's declared dependencies cover every import of the package and the chapters.

A reader who runs `pip install` on the repository (Colab, Binder, a fresh venv) gets only
what `pyproject.toml` declares and what those distributions require in turn. Two checks:

- statically, every third-party module imported by `dnnalign_utils` or a chapter notebook
  belongs to a declared distribution;
- for real, a fresh virtual environment that holds only the declared distributions and
  their requirement closure (linked from this environment, so nothing is downloaded)
  imports every module of the package and every module the chapters import.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import json
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "dnnalign_utils"


def declared_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def imported_top_level_modules(files: list[Path]) -> dict[str, set[str]]:
    """Third-party top-level module -> files importing it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in (PACKAGE, "__future__"):
                    found.setdefault(top, set()).add(path.name)
    return found


def source_files() -> list[Path]:
    return sorted((REPO / PACKAGE).glob("*.py")) + sorted((REPO / "notebooks").glob("*.py"))


def requirement_closure(requirements: list[Requirement]) -> set[str]:
    """Canonical names of the declared distributions and everything they require here
    (markers evaluated for this interpreter, requested extras followed)."""
    visited: set[tuple[str, str]] = set()  # (distribution, extra or "")
    pending = [(r, "") for r in requirements]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        wanted = {(name, e) for e in ["", *requirement.extras]} - visited
        if not wanted:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise AssertionError(f"{requirement} is required but not installed here") from None
        visited |= wanted
        for line in dist.requires or []:
            pending.extend((Requirement(line), e) for _, e in wanted)
    return {name for name, _ in visited}


def test_every_import_is_declared():
    declared = {canonicalize_name(r.name) for r in declared_requirements()}
    providers = metadata.packages_distributions()
    undeclared = {}
    for module, files in imported_top_level_modules(source_files()).items():
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & declared:
            undeclared[module] = (sorted(dists), sorted(files))
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_import_scan_sees_imports(tmp_path):
    # the scanner itself: a module-level, a nested and a from-import; stdlib and relative
    # imports are not third-party
    source = tmp_path / "m.py"
    source.write_text(
        "import os\nimport numpy.linalg\nfrom . import x\ndef f():\n    from scipy import stats\n"
    )
    assert imported_top_level_modules([source]) == {"numpy": {"m.py"}, "scipy": {"m.py"}}


def _link_distributions(names: set[str], site_packages: Path) -> None:
    source_site = Path(sysconfig.get_paths()["purelib"])
    for name in sorted(names):
        dist = metadata.distribution(name)
        for file in dist.files or []:
            parts = Path(file).parts
            if not parts or parts[0] == "..":
                continue  # scripts and data outside site-packages
            target = site_packages / parts[0]
            origin = Path(dist.locate_file(parts[0]))
            if not target.exists() and origin.exists() and origin.parent == source_site:
                target.symlink_to(origin)


@pytest.mark.timeout(600)
def test_fresh_environment_imports_everything(tmp_path):
    closure = requirement_closure(declared_requirements())
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    _link_distributions(closure, site_packages)
    (site_packages / "dnnalign.pth").write_text(f"{REPO}\n")
    # every third-party module named anywhere, also those imported lazily in a function
    third_party = sorted(imported_top_level_modules(source_files()))
    script = (
        "import importlib, json, pkgutil, sys\n"
        f"import {PACKAGE}\n"
        f"names = [m.name for m in pkgutil.iter_modules({PACKAGE}.__path__)]\n"
        f"for n in names: importlib.import_module('{PACKAGE}.' + n)\n"
        f"for n in {third_party!r}: importlib.import_module(n)\n"
        "print(json.dumps({'modules': names, 'path': sys.path}))\n"
    )
    result = subprocess.run([python, "-I", "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, (
        "a module does not import with only the declared dependencies:\n" + result.stderr[-3000:]
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["modules"]) >= 20
    # the fresh environment must not see this environment's site-packages
    this_site = sysconfig.get_paths()["purelib"]
    assert this_site not in report["path"]


def test_fresh_environment_lacks_undeclared_distributions(tmp_path):
    # the check can fail: a distribution installed here but outside the closure is absent
    closure = requirement_closure(declared_requirements())
    assert "pytest" not in closure and "ruff" not in closure
    assert {"torch", "plotly", "myst-nb"} <= closure


@pytest.mark.timeout(300)
def test_the_cluster_extra_installs_beside_the_locked_environment(tmp_path):
    """`pip install dnnalign-utils[cluster]` (How to run's SLURM sweep) adds dask-jobqueue
    to the locked environment without changing any locked version (pip's dry run, with
    the lock as constraints)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]["cluster"]
    assert {canonicalize_name(Requirement(r).name) for r in extra} == {"dask-jobqueue"}
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet"]
    command += ["--report", str(report), "-c", str(REPO / "requirements.txt"), *extra]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    if result.returncode and "Failed to establish" in result.stderr + result.stdout:
        pytest.skip(f"the package index cannot be reached: {result.stderr.strip()[-300:]}")
    assert result.returncode == 0, result.stderr
    added = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert "dask-jobqueue" in added
    locked = {
        canonicalize_name(line.partition("==")[0]): line.partition("==")[2]
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    changed = {n: (locked[n], v) for n, v in added.items() if n in locked and locked[n] != v}
    assert not changed, f"locked versions the cluster extra would change: {changed}"
