"""Binder builds from `binder/` alone: the Python of `runtime.txt` and `requirements.txt`.

repo2docker reads only the files in `binder/` when that folder exists (the root
`environment.yml` is ignored there). Checked here:

- statically: `runtime.txt` names the Python the lock is made for; torch and torchvision
  are pinned to their `+cpu` builds with PyTorch's CPU index as an extra index (PyPI holds
  no `+cpu` versions, so the install fails loudly rather than taking the CUDA wheels);
- with pip: a dry run resolves `binder/requirements.txt` for that Python and its install
  report must hold every pin at its version and nothing unpinned beyond the GPU-only
  distributions of PyPI's torch. It resolves with this interpreter, which must be of
  that Python (the Makefile's): `--python-version` would need `--only-binary=:all:`, and
  grad-cam 1.5.7 is published as an sdist only. The CPU index is not reachable from
  every test machine, so torch and torchvision resolve at the same versions without
  `+cpu` from the index that is; their CPU wheels themselves are not downloaded or
  checked here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
sys.path.insert(0, str(BINDER))
try:
    import make_requirements
finally:
    sys.path.pop(0)

# What pip prints when the index cannot be reached at all (then the test skips).
NETWORK_ERRORS = (
    "NewConnectionError",
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "ConnectTimeout",
    "ProxyError",
)
# Installed but never pinned: pip's own build tools, which pip freeze leaves out of the lock
UNPINNED_BUILD_TOOLS = {"pip", "setuptools", "wheel"}
PYPI = "https://pypi.org/simple"


def runtime_python() -> str:
    """`3.11` from binder/runtime.txt (repo2docker's `python-X.Y`)."""
    text = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", text)
    assert match, f"binder/runtime.txt must read python-X.Y, found {text!r}"
    return match.group(1)


def binder_lines() -> list[str]:
    return (BINDER / "requirements.txt").read_text().splitlines()


def binder_pins() -> dict[str, str]:
    """Canonical name -> pinned version of binder/requirements.txt."""
    pins = {}
    for line in binder_lines():
        if line and not line.startswith(("#", "-")):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_binder_requirements_follow_the_lock():
    expected = make_requirements.binder_requirements((REPO / "requirements.txt").read_text())
    assert (BINDER / "requirements.txt").read_text() == expected, (
        "binder/requirements.txt is stale: run python binder/make_requirements.py"
    )
    assert not any(
        name.startswith(("nvidia-", "cuda-")) or name == "triton" for name in binder_pins()
    )


def test_runtime_is_the_python_of_the_lock():
    python = runtime_python()
    makefile = (REPO / "Makefile").read_text()
    assert f"PYTHON ?= python{python}\n" in makefile, "Makefile and runtime.txt disagree"
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert Version(python) in SpecifierSet(requires)


def test_torch_is_pinned_to_its_cpu_build_from_the_cpu_index():
    pins = binder_pins()
    for name in make_requirements.CPU_BUILD_DISTRIBUTIONS:
        assert Version(pins[name]).local == "cpu", f"{name}=={pins[name]} is not a CPU build"
    options = [line for line in binder_lines() if line.startswith("-")]
    # PyPI stays the default index; the CPU index only adds the +cpu builds
    assert options == [f"--extra-index-url {make_requirements.CPU_INDEX}"]


def test_cpu_pin_is_rewritten_and_kept():
    lock = "# header\ntorch==2.14.1\ntorchvision==0.29.1+cpu\nnvidia-cublas==13.1\nnumpy==2.4.6\n"
    lines = make_requirements.binder_requirements(lock).splitlines()
    assert "torch==2.14.1+cpu" in lines and "torchvision==0.29.1+cpu" in lines
    assert "numpy==2.4.6" in lines and not any(line.startswith("nvidia") for line in lines)


def _pip_dry_run(
    tmp_path: Path, requirements: list[str], *options: str, env: dict[str, str] | None = None
):
    """`pip install --dry-run --report` of `requirements` (this interpreter's pip, the pip
    configuration of `env`, nothing installed); (returncode, report or None, stderr)."""
    requirements_file = tmp_path / "requirements.txt"
    requirements_file.write_text("\n".join(requirements) + "\n")
    report_file = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
        "--quiet", "--retries", "1", "--timeout", "30", "--report", str(report_file),
        "-r", str(requirements_file), *options,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    if result.returncode and any(error in result.stderr for error in NETWORK_ERRORS):
        pytest.skip(f"the package index cannot be reached: {result.stderr.strip()[-300:]}")
    report = json.loads(report_file.read_text()) if result.returncode == 0 else None
    return result.returncode, report, result.stderr


@pytest.mark.timeout(300)
def test_binder_requirements_resolve_for_the_runtime_python(tmp_path):
    python = runtime_python()
    if f"{sys.version_info.major}.{sys.version_info.minor}" != python:
        pytest.skip(f"resolves with this interpreter; run the tests with Python {python}")
    pins = binder_pins()
    # the +cpu builds resolve as the same versions from the reachable index (see above)
    public = {name: str(Version(version).public) for name, version in pins.items()}
    code, report, stderr = _pip_dry_run(
        tmp_path, [f"{name}=={version}" for name, version in public.items()]
    )
    errors = "\n".join(line for line in stderr.splitlines() if "ignored" not in line)
    assert code == 0, f"binder/requirements.txt does not resolve for Python {python}:\n{errors}"
    installed = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in report["install"]
    }
    wrong = {name: (version, installed.get(name)) for name, version in public.items()}
    wrong = {name: found for name, found in wrong.items() if found[0] != found[1]}
    assert not wrong, f"pinned vs resolved: {wrong}"
    unpinned = set(installed) - set(pins) - UNPINNED_BUILD_TOOLS
    gpu_only = {name for name in unpinned if name.startswith(("nvidia-", "cuda-", "triton"))}
    assert unpinned == gpu_only, f"required but not pinned: {sorted(unpinned - gpu_only)}"


@pytest.mark.timeout(120)
def test_a_cpu_pin_is_not_served_by_pypi(tmp_path):
    # the loud failure: PyPI alone lists the pinned version (its CUDA build) but no +cpu
    # build, so pip stops instead of installing the CUDA wheel
    torch = Version(binder_pins()["torch"])
    pypi_only = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    pypi_only["PIP_CONFIG_FILE"] = os.devnull  # no local indexes, links or constraints
    code, _, stderr = _pip_dry_run(
        tmp_path, [f"torch=={torch}"], "--no-deps", "--index-url", PYPI, env=pypi_only
    )
    assert code != 0 and f"No matching distribution found for torch=={torch}" in stderr, stderr
    listed = re.search(r"from versions: ([^)]*)", stderr).group(1).split(", ")
    assert torch.public in listed
