"""Where the project's data, caches and derived artefacts live.

Nothing here depends on the working directory: every location is derived from the
repository root (the folder holding this package) and can be overridden by an
environment variable, so notebooks run the same from papermill, Jupyter or Colab.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Embedded data committed with the repository (`DNNALIGN_DATA_DIR` overrides)."""
    return _env_path("DNNALIGN_DATA_DIR", REPO_ROOT / "data")


def cache_dir() -> Path:
    """Downloads of the `paper` profile (`DNNALIGN_CACHE_DIR` overrides)."""
    return _env_path("DNNALIGN_CACHE_DIR", Path.home() / ".cache" / "dnnalign")


def artefacts_dir(profile: str) -> Path:
    """Derived artefacts one chapter hands to the next, per run profile.

    `DNNALIGN_ARTEFACTS_DIR` overrides the parent folder; each profile gets its own
    subfolder so a smoke run never overwrites what the default book computed.
    """
    root = _env_path("DNNALIGN_ARTEFACTS_DIR", REPO_ROOT / "artefacts")
    return root / profile
