"""The jupytext `.py` sources and their paired `.ipynb` agree; the toc's notebooks exist."""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import pytest

from dnnalign_utils.book import COLAB_SETUP_CELL, NOTEBOOK_DIR, toc_notebooks

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((REPO_ROOT / NOTEBOOK_DIR).glob("*.py"))


def _cells(path: Path) -> list[tuple[str, str, list[str]]]:
    nb = jupytext.read(path)
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


def test_there_are_notebooks():
    assert SOURCES, f"no jupytext sources in {REPO_ROOT / NOTEBOOK_DIR}"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_py_and_ipynb_have_the_same_cells(source: Path):
    paired = source.with_suffix(".ipynb")
    assert paired.is_file(), f"{source.name} has no paired {paired.name}; run jupytext --sync"
    assert _cells(source) == _cells(paired), (
        f"{source.name} and {paired.name} differ; run `jupytext --sync {NOTEBOOK_DIR}/*.py`"
    )


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_paired_ipynb_has_no_outputs(source: Path):
    raw = json.loads(source.with_suffix(".ipynb").read_text(encoding="utf-8"))
    for index, cell in enumerate(raw["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{source.stem}.ipynb cell {index} has outputs"
            assert cell.get("execution_count") is None, f"{source.stem}.ipynb cell {index}"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_header_has_kernelspec_and_no_version_stamp(source: Path):
    metadata = jupytext.read(source).metadata
    assert metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{source.name}: kernelspec python3 missing from the header (papermill needs it)"
    )
    header = source.read_text(encoding="utf-8").split("# ---", 2)[1]
    assert "#     jupytext_version:" not in header, f"{source.name}: unfiltered jupytext version"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_first_code_cell_is_the_colab_setup(source: Path):
    code = [c for c in jupytext.read(source).cells if c.cell_type == "code"]
    assert code and code[0].source.strip() == COLAB_SETUP_CELL.strip(), (
        f"{source.name}: the first code cell must be dnnalign_utils.book.COLAB_SETUP_CELL"
    )
    assert "remove-cell" in code[0].metadata.get("tags", []), f"{source.name}: tag remove-cell"


def test_every_toc_notebook_exists():
    stems = toc_notebooks(REPO_ROOT)
    assert stems, "_toc.yml lists no notebooks/NN_topic entries"
    for stem in stems:
        for suffix in (".py", ".ipynb"):
            path = REPO_ROOT / NOTEBOOK_DIR / f"{stem}{suffix}"
            assert path.is_file(), f"_toc.yml lists {NOTEBOOK_DIR}/{stem} but {path} is missing"
