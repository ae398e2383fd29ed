"""A chapter notebook run on its own, as a reader runs it after downloading it or in a
fresh Colab session: no artefacts of earlier chapters, no book runner.

`dnnalign_utils.book.ensure_upstream` must run the earlier chapters whose artefacts are
missing, and the figures must carry plotly's own output (which a reader's Jupyter draws),
not the book's HTML fragment that relies on a page-level plotly.js.
"""

from __future__ import annotations

import nbformat
import pytest

from dnnalign_utils import book, paths, plotting
from dnnalign_utils.profiles import notebook_parameters

REPO_ROOT = paths.REPO_ROOT


def _fake_artefact(profile: str, name: str) -> None:
    target = paths.artefact_path(name, profile)
    target.parent.mkdir(parents=True, exist_ok=True)
    if "." in target.name:
        target.write_bytes(b"")
    else:
        target.mkdir()


def test_upstream_chapters_follow_missing_artefacts_back(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    # nothing there: chapter 6 needs every chapter that leads to its inputs
    assert book.upstream_chapters("smoke", "06_human_vs_dnn") == [
        "00_data",
        "01_triplet_task",
        "02_embedding_fit",
        "05_visual_semantic_rating",
    ]
    assert book.upstream_chapters("smoke", "00_data") == []
    # chapter 5's labels and the VGG-16 embedding present: nothing to run for chapter 6
    for name in ("network_embedding", "automatic_labels"):
        _fake_artefact("smoke", name)
    assert book.upstream_chapters("smoke", "06_human_vs_dnn") == []
    assert book.upstream_chapters("default", "06_human_vs_dnn")[-1] == "05_visual_semantic_rating"
    # only chapter 0's features missing for chapter 3: run chapter 0 alone
    assert book.upstream_chapters("smoke", "03_r2_regression") == ["00_data"]


def test_ensure_upstream_names_the_missing_sources(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "artefacts"))
    (tmp_path / "root").mkdir()
    with pytest.raises(book.BookBuildError, match=r"notebooks/00_data\.py are not in"):
        book.ensure_upstream("smoke", "01_triplet_task", root=tmp_path / "root")


def test_missing_inputs_rejects_an_unknown_chapter():
    with pytest.raises(ValueError, match="chapter '99_x': unknown"):
        paths.missing_inputs("smoke", "99_x")


def test_every_chapter_declares_its_inputs():
    assert sorted(paths.CHAPTER_INPUTS) == sorted(book.toc_notebooks(REPO_ROOT))
    for stem, names in paths.CHAPTER_INPUTS.items():
        for name in names:  # an input comes from an earlier chapter
            assert paths.ARTEFACTS[name].chapter < stem, (stem, name)


def _run_like_a_reader(stem: str, workdir) -> nbformat.NotebookNode:
    """The paired notebook with the book's hidden first cell (as the book's download
    has it), smoke parameters injected, executed by papermill outside the book runner."""
    import papermill

    nb = nbformat.read(REPO_ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(book.RENDERER_CELL))
    source = workdir / f"{stem}.ipynb"
    nbformat.write(nb, source)
    target = workdir / f"{stem}.out.ipynb"
    papermill.execute_notebook(
        str(source),
        str(target),
        parameters=notebook_parameters("smoke", stem),
        kernel_name=book.KERNEL_NAME,
        cwd=str(workdir),
        progress_bar=False,
    )
    return nbformat.read(target, as_version=4)


def _figure_outputs(nb) -> tuple[int, int]:
    """(outputs with plotly's JSON figure, outputs with the book's plotly.js-less HTML)."""
    plotly_json = book_fragments = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            plotly_json += plotting.PLOTLY_MIMETYPE in data
            book_fragments += "Plotly.newPlot" in str(data.get("text/html", ""))
    return plotly_json, book_fragments


@pytest.mark.book
def test_chapters_run_alone_from_an_empty_artefact_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "artefacts"))
    monkeypatch.delenv(plotting.BOOK_BUILD_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    # Chapter 6 runs chapters 0, 1, 2 and 5 first; chapter 4 then finds their
    # artefacts and runs alone.
    last = _run_like_a_reader("06_human_vs_dnn", tmp_path)
    assert paths.automatic_labels("smoke").is_file()
    runs = tmp_path / "artefacts" / "smoke" / "upstream_runs" / "notebooks"
    assert sorted(p.stem for p in runs.glob("*.ipynb")) == [
        "00_data",
        "01_triplet_task",
        "02_embedding_fit",
        "05_visual_semantic_rating",
    ]
    gradcam = _run_like_a_reader("04_gradcam", tmp_path)
    for nb in (last, gradcam):
        plotly_json, book_fragments = _figure_outputs(nb)
        assert plotly_json >= 1 and book_fragments == 0, (plotly_json, book_fragments)


def test_chapter_inputs_cover_what_each_notebook_reads():
    """Every artefact function a chapter calls whose artefact another chapter writes is
    declared in CHAPTER_INPUTS (so ensure_upstream runs its writer)."""
    import re

    aliases = {"vgg16_triplet_split": "vgg16_triplets"}
    for stem in book.toc_notebooks(REPO_ROOT):
        source = (REPO_ROOT / "notebooks" / f"{stem}.py").read_text(encoding="utf-8")
        called = {aliases.get(n, n) for n in re.findall(r"paths\.([a-z0-9_]+)\(", source)}
        read_from_others = {
            name
            for name in called
            if name in paths.ARTEFACTS and paths.ARTEFACTS[name].chapter != stem
        }
        missing = read_from_others - set(paths.CHAPTER_INPUTS[stem])
        assert not missing, f"{stem} reads {sorted(missing)} but CHAPTER_INPUTS omits them"
