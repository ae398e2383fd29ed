"""The jupytext `.py` sources and their paired `.ipynb` agree (the `.ipynb` is the `.py`
plus the Colab set-up cell, written by `python -m dnnalign_utils.book sync-notebooks`);
the toc's notebooks exist."""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import pytest

from dnnalign_utils import book
from dnnalign_utils.book import COLAB_SETUP_CELL, NOTEBOOK_DIR, toc_notebooks

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((REPO_ROOT / NOTEBOOK_DIR).glob("*.py"))


SYNC = "python -m dnnalign_utils.book sync-notebooks"


def _cells(path: Path) -> list[tuple[str, str, list[str]]]:
    nb = jupytext.read(path)
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


COLAB = ("code", COLAB_SETUP_CELL.strip(), ["remove-cell"])


def test_there_are_notebooks():
    assert SOURCES, f"no jupytext sources in {REPO_ROOT / NOTEBOOK_DIR}"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_ipynb_is_the_py_plus_exactly_the_colab_cell(source: Path):
    paired = source.with_suffix(".ipynb")
    assert paired.is_file(), f"{source.name} has no paired {paired.name}; run `{SYNC}`"
    py_cells, ipynb_cells = _cells(source), _cells(paired)
    assert ipynb_cells.count(COLAB) == 1, f"{paired.name}: one Colab set-up cell; run `{SYNC}`"
    at = ipynb_cells.index(COLAB)
    assert [c[0] for c in ipynb_cells[:at]] == ["markdown"] * at, (
        f"{paired.name}: the Colab set-up cell must be the first code cell; run `{SYNC}`"
    )
    assert ipynb_cells[:at] + ipynb_cells[at + 1 :] == py_cells, (
        f"{source.name} and {paired.name} differ; run `{SYNC}` (not bare jupytext --sync)"
    )


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_py_sources_do_not_carry_the_colab_cell(source: Path):
    code = [c for c in jupytext.read(source).cells if c.cell_type == "code"]
    assert not any(book.is_colab_cell(c) for c in code), (
        f"{source.name}: the Colab set-up cell lives in dnnalign_utils.book only; run `{SYNC}`"
    )
    assert "google.colab" not in source.read_text(encoding="utf-8"), source.name


def test_sync_notebooks_would_change_nothing():
    changed = book.sync_notebooks(REPO_ROOT, check=True)
    assert changed == [], f"out of step: {[p.name for p in changed]}; run `{SYNC}`"


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


def test_every_toc_notebook_exists():
    stems = toc_notebooks(REPO_ROOT)
    assert stems, "_toc.yml lists no notebooks/NN_topic entries"
    for stem in stems:
        for suffix in (".py", ".ipynb"):
            path = REPO_ROOT / NOTEBOOK_DIR / f"{stem}{suffix}"
            assert path.is_file(), f"_toc.yml lists {NOTEBOOK_DIR}/{stem} but {path} is missing"
