"""Chapter hand-offs: every artefact one chapter hands to another is named once in
`dnnalign_utils.paths.ARTEFACTS`, written through its path function and explained when
missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from dnnalign_utils import book, paths

CHAPTERS = {Path(e).name for e in book.toc_entries(REPO_ROOT) if e.startswith("notebooks/")}


def _source(chapter: str) -> str:
    return (REPO_ROOT / "notebooks" / f"{chapter}.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(paths.ARTEFACTS))
def test_every_artefact_has_a_chapter_in_the_toc_and_a_path_function(name, tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    artefact = paths.ARTEFACTS[name]
    assert artefact.chapter in CHAPTERS, (name, artefact.chapter)
    expected = paths.artefacts_dir("smoke") / artefact.relative.format(network="vgg16")
    assert getattr(paths, name)("smoke") == expected
    assert paths.artefact_path(name, "smoke") == expected
    if artefact.per_network:  # another network's copy lives in its own folder
        other = paths.artefact_path(name, "smoke", "mine-1a2b3c4d")
        assert getattr(paths, name)("smoke", "mine-1a2b3c4d") == other
        assert other.is_relative_to(paths.artefacts_dir("smoke") / "networks" / "mine-1a2b3c4d")
        assert "vgg16" not in str(other)
    else:
        assert paths.artefact_path(name, "smoke", "mine-1a2b3c4d") == expected


def test_network_keys_are_checked():
    for bad in ("", "../up", "Upper", "a/b", "x" * 81):
        with pytest.raises(ValueError, match="network key"):
            paths.network_dir("smoke", bad)


@pytest.mark.parametrize("name", sorted(paths.ARTEFACTS))
def test_every_artefact_is_written_by_its_chapter(name):
    artefact = paths.ARTEFACTS[name]
    source = _source(artefact.chapter)
    writer = artefact.written_via or f"paths.{name}("
    assert writer in source, (name, artefact.chapter, writer)


@pytest.mark.parametrize("name", sorted(paths.ARTEFACTS))
def test_a_missing_artefact_names_its_chapter_and_command(name, tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    chapter = paths.ARTEFACTS[name].chapter
    missing = paths.artefact_path(name, "default")
    for path in (missing, missing / "inside.npy"):  # the artefact, or a file in its folder
        hint = paths.artefact_hint(path)
        assert f"notebooks/{chapter}" in hint
        assert f"`python -m dnnalign_utils.book build --profile default --only {chapter}`" in hint
    if not paths.ARTEFACTS[name].relative.endswith((".npz", ".npy", ".csv")):
        return
    assert paths.artefact_hint(missing.with_name("unrelated.npz")) == ""


def test_producers_are_derived_from_the_one_table():
    assert paths.ARTEFACT_PRODUCERS == {a.relative: a.chapter for a in paths.ARTEFACTS.values()}
    with pytest.raises(ValueError, match="unknown"):
        paths.artefact_path("no_such_artefact", "default")


def test_the_triplet_split_names_are_those_the_writer_uses(tmp_path, monkeypatch):
    import numpy as np

    from dnnalign_utils import triplets

    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    rows = np.array([[0, 1, 2], [3, 4, 5]], dtype=np.int64)
    written = triplets.write_triplet_split(
        paths.vgg16_triplets("smoke"), rows, rows[:1], produced_by="test", parameters={}
    )
    assert tuple(written.values()) == paths.vgg16_triplet_split("smoke")


ARTEFACT_LITERAL = re.compile(
    r"artefacts_dir\(|\"(features|triplets|embeddings|regression|semantic|ratings)\"\s*/"
    r"|[\"'][\w/]*(_vice|_spose)\.npz[\"']|train_90|test_10|concepts_minilm|automatic_labels\.csv"
)


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_notebooks_spell_no_artefact_path(chapter):
    found = [
        f"{chapter}.py:{number}: {line.strip()}"
        for number, line in enumerate(_source(chapter).splitlines(), 1)
        if ARTEFACT_LITERAL.search(line)
    ]
    assert not found, "use the path functions of dnnalign_utils.paths:\n" + "\n".join(found)


def test_display_path_hides_the_machine_folders(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "art"))
    inside = paths.vgg16_embedding("smoke")
    assert paths.display_path(inside) == "<artefacts>/smoke/embeddings/vgg16_vice.npz"
    assert paths.display_path(paths.REPO_ROOT / "data" / "README.md") == "data/README.md"
    assert paths.display_path(tmp_path / "elsewhere" / "x.npy") == "x.npy"
