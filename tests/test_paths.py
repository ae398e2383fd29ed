"""Chapter hand-offs: every artefact one chapter hands to another is named once in
`dnnalign_utils.paths.ARTEFACTS`, written through its path function and explained when
missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from dnnalign_utils import book, networks, paths

CHAPTERS = {Path(e).name for e in book.toc_entries(REPO_ROOT) if e.startswith("notebooks/")}
# A reader's network of each kind, as `networks.resolve` would give it (the key is all paths read)
MINE = networks.Network("mine", "mine-1a2b3c4d", "Mine", "features")
MINE_PICTURES = networks.Network("efficientnet_lite0", "mine-1a2b3c4d", "Mine", "pictures")
LITE1 = networks.resolve("efficientnet_lite1")


def _source(chapter: str) -> str:
    return (REPO_ROOT / "notebooks" / f"{chapter}.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(paths.ARTEFACTS))
def test_every_artefact_has_a_chapter_in_the_toc_and_a_path_function(name, tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    artefact = paths.ARTEFACTS[name]
    assert artefact.chapter in CHAPTERS, (name, artefact.chapter)
    home = artefact.home_network  # the book's own network for this artefact
    expected = paths.artefacts_dir("smoke") / artefact.relative.format(network=home)
    assert getattr(paths, name)("smoke") == expected
    assert paths.artefact_path(name, "smoke") == expected
    if artefact.per_network:  # another network's copy lives in its own folder
        mine = MINE_PICTURES if artefact.picture_level else MINE
        other = paths.artefact_path(name, "smoke", mine)
        assert getattr(paths, name)("smoke", mine) == other
        assert other.is_relative_to(paths.artefacts_dir("smoke") / "networks" / "mine-1a2b3c4d")
        assert "vgg16" not in str(other) and home not in str(other)
        own = networks.resolve(home)
        assert paths.artefact_path(name, "smoke", own) == expected
    else:
        assert paths.artefact_path(name, "smoke", MINE) == expected


def test_picture_artefacts_are_efficientnet_lite0s_as_the_books_own(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    base = paths.artefacts_dir("default")
    lite0 = paths.DEFAULT_PICTURE_NETWORK
    # the book's own: where chapter 4 always found them (the embedding under a new name)
    assert paths.picture_embedding("default") == base / "embeddings" / f"{lite0}_pictures_vice.npz"
    assert paths.picture_predictor("default") == base / "predictors" / f"{lite0}_dimensions.npz"
    assert paths.picture_dimension_r2("default") == (
        base / "downloads" / "04_gradcam" / "picture_dimension_r2.csv"
    )
    # chapter 4's downloads of Lite0 are the book's own; its other chapters' are its own
    lite0_value = networks.BOOK_PICTURE_NETWORK
    assert paths.downloads_dir("default", lite0_value, "04_gradcam") == base / "downloads"
    assert paths.downloads_dir("default", LITE1, "04_gradcam") == (
        base / "networks" / "efficientnet_lite1" / "downloads"
    )
    for name in ("picture_embedding", "picture_predictor", "picture_dimension_r2"):
        assert paths.artefact_path(name, "default", lite0_value) == paths.artefact_path(
            name, "default"
        )
        with pytest.raises(ValueError, match="picture network"):  # never VGG-16's
            paths.artefact_path(name, "default", networks.BOOK_NETWORK)
    # Lite1's picture artefacts: its own folder, apart from its concept-level embedding
    lite1 = paths.picture_embedding("default", LITE1)
    assert lite1.is_relative_to(base / "networks" / "efficientnet_lite1")
    assert lite1 != paths.network_embedding("default", LITE1)
    # studied at concept level, Lite0's per-network artefacts are its own, not the book's
    assert paths.network_embedding("default", lite0_value).is_relative_to(
        base / "networks" / lite0
    )
    assert paths.downloads_dir("default", lite0_value) == base / "networks" / lite0 / "downloads"
    # a written picture artefact is traced back to its chapter, for both homes
    for path in (paths.picture_embedding("default"), lite1):
        assert paths.artefact_producer(path) == ("default", "02_embedding_fit")


def test_chapter_5_reads_the_books_picture_embedding_whatever_it_studies(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    for studied in (MINE, MINE_PICTURES):
        assert (
            paths.input_network("05_visual_semantic_rating", "picture_embedding", studied) is None
        )
    assert paths.input_network("04_gradcam", "picture_embedding", MINE_PICTURES) == MINE_PICTURES
    assert "picture_embedding" in paths.missing_inputs("smoke", "05_visual_semantic_rating", MINE)
    target = paths.picture_embedding("smoke")
    target.parent.mkdir(parents=True)
    target.write_bytes(b"")
    assert "picture_embedding" not in paths.missing_inputs(
        "smoke", "05_visual_semantic_rating", MINE
    )
    assert "picture_embedding" in paths.missing_inputs("smoke", "04_gradcam", LITE1)
    assert "picture_embedding" not in paths.missing_inputs(
        "smoke", "04_gradcam", networks.BOOK_PICTURE_NETWORK
    )


def test_network_keys_are_checked_and_names_refused():
    for bad in ("", "../up", "Upper", "a/b", "x" * 81):
        with pytest.raises(ValueError, match="network key"):
            networks.Network("x", bad, "x", "concepts")
    for name in ("vgg16", "clip_vit_b32"):  # a name is not a resolved network
        with pytest.raises(ValueError, match="resolved network"):
            paths.network_dir("smoke", name)
    with pytest.raises(ValueError, match="resolved network"):
        paths.network_embedding("smoke", "clip_vit_b32")


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


def test_a_missing_artefact_of_another_network_names_the_command_for_that_network(
    tmp_path, monkeypatch
):
    """`build --only` runs a chapter for the book's own network only: for another
    network's artefact the hint is the report, which runs the chapter for it."""
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    command = "`python -m dnnalign_utils.book report --network NETWORK --profile smoke "
    clip = networks.resolve("clip_vit_b32")
    hint = paths.artefact_hint(paths.network_embedding("smoke", clip))
    assert "artefact key 'clip_vit_b32'" in hint and "notebooks/02_embedding_fit" in hint
    assert command in hint and "build" not in hint
    hint = paths.artefact_hint(paths.picture_predictor("smoke", LITE1))
    assert "'efficientnet_lite1'" in hint and command in hint and "04_gradcam" in hint
    hint = paths.artefact_hint(paths.automatic_labels("smoke", MINE))
    assert "'mine-1a2b3c4d'" in hint and command in hint
    # the book's own networks keep the build command
    for path in (paths.network_embedding("smoke"), paths.picture_embedding("smoke")):
        assert "build --profile smoke --only 02_embedding_fit" in paths.artefact_hint(path)


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
        paths.network_triplets("smoke"), rows, rows[:1], produced_by="test", parameters={}
    )
    assert tuple(written.values()) == paths.network_triplet_split("smoke")


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


def test_only_the_books_own_run_overwrites_a_shared_artefact(tmp_path):
    shared = tmp_path / "human_spose.npz"
    for network in (None, networks.BOOK_NETWORK, MINE, MINE_PICTURES):
        assert paths.writes_shared(network, shared)  # missing: every run writes it
    shared.write_bytes(b"the book's fit")
    assert paths.writes_shared(None, shared) and paths.writes_shared(networks.BOOK_NETWORK, shared)
    assert not paths.writes_shared(MINE, shared) and not paths.writes_shared(MINE_PICTURES, shared)
    assert not paths.writes_shared(LITE1, shared)


def test_display_path_hides_the_machine_folders(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "art"))
    inside = paths.network_embedding("smoke")
    assert paths.display_path(inside) == "<artefacts>/smoke/embeddings/vgg16_vice.npz"
    assert paths.display_path(paths.REPO_ROOT / "data" / "README.md") == "data/README.md"
    assert paths.display_path(tmp_path / "elsewhere" / "x.npy") == "x.npy"
