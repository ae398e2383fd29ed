"""Issue 24, further inputs: bad input a careless user gives the explorer, the downloads,
`sync-notebooks` and the `paper` profile's readers.

Each case is one probe: it must raise an error naming the argument, file, row or
environment variable and what was expected (`raises`), or be handled correctly (the
cases that check a result). Nothing is dropped, re-indexed, misread or overwritten. The
ids say which surface a probe hits; the issue's closing note counts them.
"""

from __future__ import annotations

import io
import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dnnalign_utils import (
    book,
    cli,
    data,
    downloads,
    explorer,
    fetch,
    images,
    paths,
    provenance,
    rating,
)

# --------------------------------------------------------------------------- explorer

NAMES = [f"c{i}" for i in range(6)]
COUNTERPARTS = {"human": "n", "network": "h"}
PAIR_COLUMNS = [
    "human embedding",
    "human dimension",
    "network embedding",
    "network dimension",
    "r (held out)",
]


def _embeddings():
    rng = np.random.default_rng(0)
    human = explorer.ExplorerEmbedding("h", "H", rng.random((6, 3)), NAMES, "human")
    network = explorer.ExplorerEmbedding("n", "N", rng.random((6, 4)), NAMES, "network")
    return [human, network]


def _cards(**tables):
    return explorer.dimension_cards(_embeddings(), counterparts=COUNTERPARTS, **tables)


def _pictures(concepts):
    return explorer.ExplorerEmbedding(
        "p", "P", np.ones((len(concepts), 2)), ["a"] * len(concepts), "network", concepts=concepts
    )


def _labels(dimensions, labels=None):
    labels = labels or ["visual"] * len(dimensions)
    return pd.DataFrame({"embedding": "h", "dimension": dimensions, "label": labels})


def _r2(dimensions, values=None):
    values = values or [10.0] * len(dimensions)
    return pd.DataFrame(
        {"embedding": "h", "dimension": dimensions, "predictor": "w", "R² (%)": values}
    )


def _pairs(*rows):
    return pd.DataFrame(list(rows), columns=PAIR_COLUMNS)


def _picture_file(tmp_path: Path, content: bytes | None = None) -> Path:
    path = tmp_path / "picture.png"
    if content is None:
        Image.new("RGB", (64, 64), (10, 20, 30)).save(path)
    else:
        path.write_bytes(content)
    return path


def _truncated_png(tmp_path: Path) -> Path:
    full = _picture_file(tmp_path).read_bytes()
    return _picture_file(tmp_path, full[:60])


def _widget_select(embedding, dimension):
    return explorer.ExplorerWidget(_cards()).select(embedding, dimension)


EXPLORER_CASES: dict[str, tuple[Callable[[Path], object], str]] = {
    "weights NaN": (
        lambda t: explorer.ExplorerEmbedding("x", "X", [[1.0], [np.nan]], ["a", "b"], "human"),
        r"x: weights: row 1, column 0: non-finite",
    ),
    "weights 1-D": (
        lambda t: explorer.ExplorerEmbedding("x", "X", np.ones(3), list("abc"), "human"),
        r"x: weights: expected a 2-D .* got shape \(3,\)",
    ),
    "weights text": (
        lambda t: explorer.ExplorerEmbedding("x", "X", [["a"]], ["a"], "human"),
        r"x: weights: expected real numbers",
    ),
    "row_names one short": (
        lambda t: explorer.ExplorerEmbedding("x", "X", np.ones((2, 1)), ["a"], "human"),
        r"row_names has 1 names, expected 2",
    ),
    "kind capitalised": (
        lambda t: explorer.ExplorerEmbedding("x", "X", np.ones((1, 1)), ["a"], "Human"),
        r"kind 'Human'; expected one of",
    ),
    "row_names one string": (
        lambda t: explorer.ExplorerEmbedding("x", "X", np.ones((3, 1)), "abc", "human"),
        r"x: row_names is one string 'abc'; expected a sequence of 3 names",
    ),
    "concepts negative": (
        lambda t: _pictures(np.array([0, -1])),
        r"p: concepts: entry 1 is -1; expected a non-negative whole number",
    ),
    "concepts NaN": (
        lambda t: _pictures(np.array([0.0, np.nan])),
        r"p: concepts: entry 1 is nan; expected a non-negative whole number",
    ),
    "concepts beyond the counterpart": (
        lambda t: explorer.dimension_cards(
            [*_embeddings(), _pictures(np.array([0, 99]))], counterparts=COUNTERPARTS
        ),
        r"p: concepts has index 99, but its counterpart 'h' has 6 rows",
    ),
    "picture_paths row beyond the weights": (
        lambda t: explorer.ExplorerEmbedding(
            "x", "X", np.ones((2, 1)), ["a", "b"], "human", {7: t}
        ),
        r"x: picture_paths has row 7; expected rows 0\.\.1",
    ),
    "k a float": (lambda t: _cards(k=2.5), r"k: expected an integer, got 2\.5"),
    "k a string": (lambda t: _cards(k="3"), r"k: expected an integer, got '3'"),
    "k zero": (lambda t: _cards(k=0), r"k: expected a positive integer, got 0"),
    "labels dimension NaN": (
        lambda t: _cards(labels=_labels([np.nan])),
        r"labels: row 0: dimension nan of 'h'; expected 0\.\.2",
    ),
    "labels numbered from 1": (
        lambda t: _cards(labels=_labels([1, 2, 3])),
        r"labels: row 2: dimension 3 of 'h'; expected 0\.\.2 \('h' has 3 dimensions\)",
    ),
    "labels dimension a fraction": (
        lambda t: _cards(labels=_labels([0.7])),
        r"labels: row 0: dimension 0\.7 of 'h'",
    ),
    "labels label misspelt": (
        lambda t: _cards(labels=_labels([0], ["Visual "])),
        r"labels: row 0: label 'Visual '; expected one of",
    ),
    "labels a column missing": (
        lambda t: _cards(labels=pd.DataFrame({"embedding": ["h"], "dimension": [0]})),
        r"labels: missing columns \['label'\]",
    ),
    "r2 numbered from 0": (
        lambda t: _cards(r2=_r2([0, 1, 2])),
        r"r2: row 0: dimension 0 of 'h'; expected 1\.\.3",
    ),
    "r2 value as text": (
        lambda t: _cards(r2=_r2([1], ["12 %"])),
        r"r2: row 0: R² \(%\) '12 %'; expected a number",
    ),
    "r2 twice for one dimension": (
        lambda t: _cards(r2=_r2([1, 1])),
        r"r2: more than one R²",
    ),
    "pairs dimension NaN": (
        lambda t: _cards(pairs=_pairs(["h", np.nan, "n", 1, 0.3])),
        r"pairs: row 0: human dimension nan of 'h'; expected 1\.\.3",
    ),
    "pairs r as text": (
        lambda t: _cards(pairs=_pairs(["h", 1, "n", 1, "high"])),
        r"pairs: row 0: r \(held out\) 'high'; expected a number",
    ),
    "pairs numbered from 0": (
        lambda t: _cards(pairs=_pairs(["h", 0, "n", 1, 0.3])),
        r"pairs: row 0: human dimension 0 of 'h'; expected 1\.\.3",
    ),
    "pairs dimension beyond": (
        lambda t: _cards(pairs=_pairs(["h", 1, "n", 5, 0.3])),
        r"pairs: row 0: network dimension 5 of 'n'; expected 1\.\.4",
    ),
    "pairs one dimension twice": (
        lambda t: _cards(pairs=_pairs(["h", 1, "n", 1, 0.3], ["h", 1, "n", 2, 0.5])),
        r"pairs: rows \[0, 1\] pair the same human dimension \('h', 1\); expected one-to-one",
    ),
    "thumbnail of a text file": (
        lambda t: explorer.thumbnail(_picture_file(t, b"not a png")),
        r"picture\.png: not a readable picture",
    ),
    "thumbnail of a truncated file": (
        lambda t: explorer.thumbnail(_truncated_png(t)),
        r"picture\.png: not a readable picture \(image file is truncated",
    ),
    "thumbnail of an empty file": (
        lambda t: explorer.thumbnail(_picture_file(t, b"")),
        r"picture\.png: not a readable picture",
    ),
    "thumbnail of a folder": (
        lambda t: explorer.thumbnail(t),
        r"is a folder; expected a picture file",
    ),
    "thumbnail of a missing file": (
        lambda t: explorer.thumbnail(t / "nope.png"),
        r"nope\.png: picture file not found",
    ),
    "thumbnail size zero": (
        lambda t: explorer.thumbnail(_picture_file(t), 0),
        r"size: expected a positive integer, got 0",
    ),
    "thumbnail size a float": (
        lambda t: explorer.thumbnail(_picture_file(t), 48.5),
        r"size: expected an integer, got 48\.5",
    ),
    "figure of an unknown embedding": (
        lambda t: explorer.embedding_figure(_cards(), "x"),
        r"embedding 'x': no cards; embeddings: \['h', 'n'\]",
    ),
    "figure height zero": (
        lambda t: explorer.embedding_figure(_cards(), "h", height=0),
        r"height: expected an integer >= 200, got 0",
    ),
    "figure height a string": (
        lambda t: explorer.embedding_figure(_cards(), "h", height="600"),
        r"height: expected an integer, got '600'",
    ),
    "strip tile of another size": (
        lambda t: explorer.strip_uri([np.zeros((4, 4, 3), np.uint8)], 8),
        r"tile 0: expected shape \(8, 8, 3\), got \(4, 4, 3\)",
    ),
    "strip tile of floats 0..1": (
        lambda t: explorer.strip_uri([np.full((8, 8, 3), 0.5)], 8),
        r"tile 0: expected uint8 pixels 0\.\.255 .* got dtype float64",
    ),
    "pictures of two sizes": (
        lambda t: explorer.embedding_figure(
            _cards(),
            "h",
            {("h", r): np.zeros((8 * (1 + r % 2),) * 2 + (3,), np.uint8) for r in range(6)},
        ),
        r"tile \d: expected shape",
    ),
    "an embedding of zeros only": (
        lambda t: explorer.ExplorerEmbedding("z", "Z", np.zeros((6, 2)), NAMES, "human"),
        r"z: weights: every weight is zero",
    ),
    "labels file a folder": (
        lambda t: rating.load_labels(t),
        r"a folder; expected the dimension labels file",
    ),
    "labels file empty": (
        lambda t: rating.load_labels(_picture_file(t, b"")),
        r"picture\.png: an empty file; expected the header embedding,dimension,label",
    ),
    "labels file in Latin-1": (
        lambda t: rating.load_labels(
            _picture_file(t, b"embedding,dimension,label\nvice42,0,visual\xe9\n")
        ),
        r"picture\.png: line 2: byte 0xe9 is not UTF-8",
    ),
    "widget: an unknown embedding": (
        lambda t: _widget_select("zz", 1),
        r"embedding 'zz': no cards; embeddings: \['h', 'n'\]",
    ),
    "widget: a dimension beyond": (
        lambda t: _widget_select("h", 9),
        r"dimension 9: 'h' has dimensions 1\.\.3 \(numbered from 1\)",
    ),
}


@pytest.mark.parametrize("case", list(EXPLORER_CASES))
def test_explorer_refuses(case, tmp_path):
    probe, message = EXPLORER_CASES[case]
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        probe(tmp_path)


def test_explorer_joins_a_dimension_written_as_text_by_its_number():
    cards = _cards(r2=_r2(["2"], [33.0])).set_index(["embedding", "dimension"])
    assert cards.loc[("h", 2), "R² from w (%)"] == 33.0
    assert np.isnan(cards.loc[("h", 1), "R² from w (%)"])


def test_a_constant_dimension_has_no_best_match_and_is_nobodys():
    rng = np.random.default_rng(1)
    mine = rng.random((6, 2))
    mine[:, 0] = 0.5  # constant: correlates with nothing
    theirs = rng.random((6, 3))
    theirs[:, 0] = 0.0  # pruned to zero
    theirs[:, 1] = -mine[:, 1]  # every live column correlates negatively with mine[:, 1]
    theirs[:, 2] = -mine[:, 1] + 0.01 * rng.random(6)
    cards = explorer.dimension_cards(
        [
            explorer.ExplorerEmbedding("h", "H", mine, NAMES, "human"),
            explorer.ExplorerEmbedding("n", "N", theirs, NAMES, "network"),
        ],
        counterparts=COUNTERPARTS,
    ).set_index(["embedding", "dimension"])
    assert np.isnan(cards.loc[("h", 1), "match r"]) and cards.loc[("h", 1), "best match"] == ""
    assert cards.loc[("h", 2), "match dimension"] in (2, 3), "the pruned column is no match"
    assert cards.loc[("h", 2), "match r"] < 0


# -------------------------------------------------------------------------- downloads

TABLE = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})


@pytest.fixture
def artefacts(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "artefacts"))
    monkeypatch.setattr(downloads, "_PUBLISHED", {})
    return tmp_path / "artefacts"


def _publish(data=TABLE, name="t", profile="smoke", **kwargs):
    kwargs.setdefault("description", "a table")
    return downloads.publish(data, name, "08_explorer", profile, **kwargs)


def _embedding(**kwargs):
    return _publish(np.ones((2, 2)), **kwargs)


def _artefacts_a_file(tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("mine")
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "a_file"))
    return _publish()


def _folder_at(tmp_path, file_name="t.csv"):
    target = downloads.download_path("smoke", "08_explorer", file_name)
    target.mkdir(parents=True)
    return target


def _user_at(file_name="t.csv"):
    target = downloads.download_path("smoke", "08_explorer", file_name)
    target.parent.mkdir(parents=True)
    target.write_text("my notes")
    return target


def _tampered(tmp_path):
    path = _publish(name="tampered")[0].path
    path.write_text(path.read_text().replace("x", "z"))
    return downloads.read_table(path)


def _user_file(tmp_path, text):
    path = tmp_path / "mine.csv"
    path.write_text(text)
    return path


DOWNLOAD_CASES: dict[str, tuple[Callable[[Path, pytest.MonkeyPatch], object], str]] = {
    "profile misspelt": (
        lambda t, m: _publish(profile="papr"),
        r"unknown run profile 'papr'; expected one of smoke, default, paper",
    ),
    "profile None": (lambda t, m: _publish(profile=None), r"unknown run profile None"),
    "index named like a column": (
        lambda t, m: _publish(TABLE.set_index(pd.Index([5, 6], name="a"))),
        r"t: the index name 'a' is also a column",
    ),
    "decimals a float": (lambda t, m: _publish(decimals=2.5), r"decimals: expected an integer"),
    "decimals a string": (lambda t, m: _publish(decimals="2"), r"decimals: expected an integer"),
    "decimals negative": (
        lambda t, m: _publish(decimals=-1),
        r"decimals: expected a non-negative integer, got -1",
    ),
    "an input file missing": (
        lambda t, m: _publish(inputs={"labels": t / "nope.csv"}),
        r"nope\.csv",
    ),
    "parameters rewriting the chapter": (
        lambda t, m: _publish(parameters={"chapter": "02_embedding_fit", "kind": "embedding"}),
        r"parameters: \['chapter', 'kind'\] are written by publish itself",
    ),
    "column_names twice": (
        lambda t, m: _embedding(object_names=["a", "b"], column_names=["d", "d"]),
        r"column_names: \['d'\] occur more than once",
    ),
    "column_names holding the object column": (
        lambda t, m: _embedding(object_names=["a", "b"], column_names=["object", "d"]),
        r"column 'object' occurs twice",
    ),
    "object_names with None": (
        lambda t, m: _embedding(object_names=[None, "b"]),
        r"object_names: row 0 has no name \(None\)",
    ),
    "object_names with NaN": (
        lambda t, m: _embedding(object_names=[np.nan, "b"]),
        r"object_names: row 0 has no name \(nan\)",
    ),
    "object_names one string": (
        lambda t, m: _embedding(object_names="ab"),
        r"object_names: one string 'ab'; expected a sequence of 2 names",
    ),
    "a 3-D array": (
        lambda t, m: _publish(np.ones((2, 2, 2)), object_names=["a", "b"]),
        r"weights: expected a 2-D numeric array, got shape \(2, 2, 2\)",
    ),
    "a boolean array": (
        lambda t, m: _publish(np.ones((2, 2), bool), object_names=["a", "b"]),
        r"got shape \(2, 2\) and dtype bool",
    ),
    "a folder at the download's path": (
        lambda t, m: (_folder_at(t), _publish()),
        r"t\.csv: exists without a readable provenance record.*refusing to overwrite",
    ),
    "a user's file at the download's path": (
        lambda t, m: (_user_at(), _publish()),
        r"t\.csv: exists without a readable provenance record",
    ),
    "DNNALIGN_ARTEFACTS_DIR a file": (
        _artefacts_a_file,
        r"DNNALIGN_ARTEFACTS_DIR=.*a_file: .*a_file is not a folder",
    ),
    "read_table of a folder": (
        lambda t, m: downloads.read_table(_folder_at(t)),
        r"t\.csv: is a folder; expected a CSV download",
    ),
    "read_table of a changed download": (
        lambda t, m: _tampered(t),
        r"tampered\.csv: SHA-256 .* differs from the artefact_sha256",
    ),
    "read_table of an empty file": (
        lambda t, m: downloads.read_table(_user_file(t, "")),
        r"mine\.csv: an empty file; expected a CSV table",
    ),
    "read_table of a Latin-1 file": (
        lambda t, m: downloads.read_table(
            (t / "mine.csv", (t / "mine.csv").write_bytes(b"a,b\n\xe9,1\n"))[0]
        ),
        r"mine\.csv: line 2: byte 0xe9 is not UTF-8",
    ),
    "read_table missing a column": (
        lambda t, m: downloads.read_table(_user_file(t, "a,b\n1,2\n"), ["dimension"]),
        r"mine\.csv: missing columns \['dimension'\]",
    ),
    "a table without rows": (
        lambda t, m: _publish(pd.DataFrame(index=range(3))),
        r"t: the table has no rows",
    ),
    "a blank description": (lambda t, m: _publish(description=" "), r"description: expected"),
    "a network named, not resolved": (
        lambda t, m: _publish(network="../x"),
        r"network='\.\./x': expected a resolved network",
    ),
    "extra_columns one short": (
        lambda t, m: _embedding(object_names=["a", "b"], extra_columns={"w": ["x"]}),
        r"extra_columns\['w'\]: expected 2 values",
    ),
}


@pytest.mark.parametrize("case", list(DOWNLOAD_CASES))
def test_downloads_refuse(case, artefacts, tmp_path, monkeypatch):
    probe, message = DOWNLOAD_CASES[case]
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        probe(tmp_path, monkeypatch)


def test_a_refused_download_leaves_the_users_file_as_it_was(artefacts):
    target = downloads.download_path("smoke", "08_explorer", "t.csv")
    target.parent.mkdir(parents=True)
    target.write_text("my notes")
    with pytest.raises(ValueError, match="refusing to overwrite"):
        _publish()
    assert target.read_text() == "my notes"
    assert not provenance.provenance_path(target).exists()


def test_a_table_with_infinity_reads_back_as_written(artefacts):
    path = _publish(pd.DataFrame({"a": [np.inf, 1.0]}))[0].path
    assert downloads.read_table(path)["a"].tolist() == [np.inf, 1.0]


# --------------------------------------------------------------------- sync-notebooks

SOURCE = textwrap.dedent(
    """\
    # ---
    # jupyter:
    #   kernelspec:
    #     display_name: Python 3 (ipykernel)
    #     language: python
    #     name: python3
    # ---

    # %% [markdown]
    # # A chapter

    # %% tags=["parameters"]
    profile = "default"

    # %%
    x = 1
    """
)


@pytest.fixture
def chapter_root(tmp_path):
    """A repository with one chapter source and its synced notebook."""
    (tmp_path / "jupytext.toml").write_text(
        (Path(paths.REPO_ROOT) / "jupytext.toml").read_text(encoding="utf-8")
    )
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_x.py").write_text(SOURCE, encoding="utf-8")
    book.sync_notebooks(tmp_path)
    return tmp_path


def _sync(root, *args):
    return cli.main(["sync-notebooks", "--root", str(root), *args])


def _replace(path: Path, content: bytes | str | None) -> Path:
    if path.is_dir():
        path.rmdir()
    else:
        path.unlink()
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


SCRATCH_NOTEBOOK = (
    '{"cells": [{"cell_type": "code", "source": "my own work", "metadata": {}, '
    '"outputs": [], "execution_count": null}], "metadata": {}, "nbformat": 4, '
    '"nbformat_minor": 5}'
)


def _scratch(root):
    (root / "notebooks" / "scratch.py").write_text("x = 1\nprint(x)\n")
    (root / "notebooks" / "scratch.ipynb").write_text(SCRATCH_NOTEBOOK)


SYNC_CASES: dict[str, tuple[Callable[[Path], object], tuple[str, ...], str]] = {
    "an unknown stem": (lambda r: None, ("01_y",), r"sync-notebooks 01_y: no such notebook"),
    "a stem with .py": (lambda r: None, ("01_x.py",), r"sync-notebooks 01_x\.py: no such"),
    "a stem with its folder": (
        lambda r: None,
        ("notebooks/01_x",),
        r"sync-notebooks notebooks/01_x: no such",
    ),
    "an empty stem": (lambda r: None, ("",), r"sync-notebooks : no such notebook source"),
    "a root without notebooks/": (
        lambda r: shutil.rmtree(r / "notebooks"),
        (),
        r"notebooks: no such folder; expected the chapter sources",
    ),
    "a notebooks/ without sources": (
        lambda r: [p.unlink() for p in (r / "notebooks").iterdir()],
        (),
        r"notebooks: no notebook sources \(\*\.py\); nothing to sync",
    ),
    "a Latin-1 source": (
        lambda r: _replace(
            r / "notebooks" / "01_x.py", SOURCE.replace("A chapter", "Très").encode("latin-1")
        ),
        (),
        r"01_x\.py: line 10: byte 0xe8 is not UTF-8",
    ),
    "a source that is a folder": (
        lambda r: _replace(r / "notebooks" / "01_x.py", None),
        (),
        r"01_x\.py: not a file; expected a chapter source",
    ),
    "an empty source": (
        lambda r: _replace(r / "notebooks" / "01_x.py", ""),
        (),
        r"01_x\.py: no jupytext header",
    ),
    "a script that is not a chapter, beside its own notebook": (
        _scratch,
        (),
        r"scratch\.py: no jupytext header .* its \.ipynb would be overwritten",
    ),
    "a notebook that is not JSON": (
        lambda r: _replace(r / "notebooks" / "01_x.ipynb", '{"cells": ['),
        (),
        r"01_x\.ipynb: not a readable notebook \(NotJSONError",
    ),
    "an empty notebook file": (
        lambda r: _replace(r / "notebooks" / "01_x.ipynb", ""),
        (),
        r"01_x\.ipynb: not a readable notebook",
    ),
    "a notebook of nbformat 3": (
        lambda r: _replace(
            r / "notebooks" / "01_x.ipynb",
            '{"cells": [], "metadata": {}, "nbformat": 3, "nbformat_minor": 0}',
        ),
        (),
        r"01_x\.ipynb: not a readable notebook \(ValidationError",
    ),
    "a folder where the notebook goes": (
        lambda r: _replace(r / "notebooks" / "01_x.ipynb", None),
        (),
        r"01_x\.ipynb: not a file; expected the notebook paired with 01_x\.py",
    ),
}


@pytest.mark.parametrize("case", list(SYNC_CASES))
def test_sync_notebooks_refuses_and_writes_nothing(case, chapter_root, capsys):
    spoil, stems, message = SYNC_CASES[case]
    spoil(chapter_root)
    before = {
        p: p.read_bytes() for p in chapter_root.rglob("*") if p.is_file()
    }  # what the user has
    assert _sync(chapter_root, *stems) == 1
    error = capsys.readouterr().err
    assert re.search(message, error), error
    assert "Traceback" not in error
    after = {p: p.read_bytes() for p in chapter_root.rglob("*") if p.is_file()}
    assert after == before, "a refused sync changes no file"


def test_a_source_with_a_byte_order_mark_is_read_with_its_header(chapter_root):
    source = chapter_root / "notebooks" / "01_x.py"
    source.write_bytes(b"\xef\xbb\xbf" + SOURCE.encode("utf-8"))
    assert book.sync_notebooks(chapter_root, check=True) == []  # the same notebook


def test_a_source_python_cannot_parse_is_synced_as_text(chapter_root):
    source = chapter_root / "notebooks" / "01_x.py"
    source.write_text(SOURCE + "\n# %%\nnot python (\n", encoding="utf-8")
    assert _sync(chapter_root) == 0
    assert "not python (" in (chapter_root / "notebooks" / "01_x.ipynb").read_text()
    assert _sync(chapter_root, "--check") == 0


# ------------------------------------------------------------- the paper profile's readers

TRIPLETS = "0 1 2\n3 4 5\n"


def _folder(tmp_path: Path, files: dict[str, object]) -> Path:
    folder = tmp_path / "release"
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, np.ndarray):
            np.save(path, content)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        elif content is None:
            path.mkdir()
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def _release(tmp_path, train_name, train, **more):
    return data.read_things_triplets(
        _folder(tmp_path, {train_name: train, "validationset.txt": TRIPLETS, **more})
    )


def _npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, a=np.array([[0, 1, 2]]))
    return buffer.getvalue()


def _env_folder(monkeypatch, tmp_path, env, value, call):
    (tmp_path / "a_file").write_text("x")
    monkeypatch.setenv(env, value.format(tmp=tmp_path))
    return call()


TRIPLET_CASES: dict[str, tuple[Callable[[Path, pytest.MonkeyPatch], object], str]] = {
    "DNNALIGN_THINGS_TRIPLETS missing": (
        lambda t, m: _env_folder(
            m, t, fetch.ENV_TRIPLETS, "{tmp}/nope", fetch.things_triplets_dir
        ),
        r"DNNALIGN_THINGS_TRIPLETS=.*nope: .* is not a folder",
    ),
    "DNNALIGN_THINGS_TRIPLETS a file": (
        lambda t, m: _env_folder(
            m, t, fetch.ENV_TRIPLETS, "{tmp}/a_file", fetch.things_triplets_dir
        ),
        r"DNNALIGN_THINGS_TRIPLETS=.*a_file: .* is not a folder",
    ),
    "DNNALIGN_THINGS_TRIPLETS blanks": (
        lambda t, m: _env_folder(m, t, fetch.ENV_TRIPLETS, "  ", fetch.things_triplets_dir),
        r"DNNALIGN_THINGS_TRIPLETS=  : .* is not a folder",
    ),
    "DNNALIGN_THINGS_IMAGES a file": (
        lambda t, m: _env_folder(m, t, fetch.ENV_IMAGES, "{tmp}/a_file", fetch.things_images_dir),
        r"DNNALIGN_THINGS_IMAGES=.*a_file: .* is not a folder",
    ),
    "the release folder a file": (
        lambda t, m: data.read_things_triplets(
            _folder(t, {"trainset.txt": TRIPLETS}) / "trainset.txt"
        ),
        r"trainset\.txt: a file; expected the folder holding the triplet files",
    ),
    "train as .npy and .csv": (
        lambda t, m: _release(t, "trainset.npy", np.array([[0, 1, 2]]), **{"trainset.csv": ""}),
        r"expected exactly one train file .* found \[.*trainset\.csv.*trainset\.npy",
    ),
    "train twice in subfolders": (
        lambda t, m: _release(t, "a/trainset.txt", TRIPLETS, **{"b/trainset.txt": TRIPLETS}),
        r"expected exactly one train file",
    ),
    "train named .CSV": (
        lambda t, m: _release(t, "trainset.CSV", TRIPLETS),
        r"expected exactly one train file named trainset\.\{npy,txt,csv\}.* found none",
    ),
    "train a folder": (
        lambda t, m: _release(t, "trainset.csv", None),
        r"trainset\.csv: a folder; expected the train triplet file",
    ),
    "Latin-1 byte in a CSV": (
        lambda t, m: _release(t, "trainset.csv", b"img1,img2,ooo\n0,1,2\n\xe9,1,2\n"),
        r"trainset\.csv: line 3: byte 0xe9 is not UTF-8",
    ),
    "UTF-16 text": (
        lambda t, m: _release(t, "trainset.txt", "0 1 2\n".encode("utf-16")),
        r"trainset\.txt: line 1: byte 0xff is not UTF-8",
    ),
    "a float in a CSV": (
        lambda t, m: _release(t, "trainset.csv", "img1,img2,ooo\n0,1,2.0\n"),
        r"trainset\.csv: line 2: column 'ooo' is '2\.0'; expected an integer",
    ),
    "semicolons for commas": (
        lambda t, m: _release(t, "trainset.csv", "img1;img2;ooo\n0;1;2\n"),
        r"trainset\.csv: line 1: unknown header",
    ),
    "a header and nothing else": (
        lambda t, m: _release(t, "trainset.csv", "img1,img2,ooo\n"),
        r"trainset\.csv: line 2: no triplets after the header",
    ),
    "an empty text file": (
        lambda t, m: _release(t, "trainset.txt", ""),
        r"trainset\.txt: line 1: empty file",
    ),
    "four columns": (
        lambda t, m: _release(t, "trainset.txt", "0 1 2 7\n"),
        r"trainset\.txt: line 1: expected 3 integer columns, found 4",
    ),
    "a blank line inside": (
        lambda t, m: _release(t, "trainset.txt", "0 1 2\n\n3 4 5\n"),
        r"trainset\.txt: line 2: expected 3 integer columns, found 0",
    ),
    "a 1-based index 1854": (
        lambda t, m: _release(t, "trainset.txt", "0 1 1854\n"),
        r"trainset\.txt: line 1: index out of range .* convert a 1-based file",
    ),
    "a negative index": (
        lambda t, m: _release(t, "trainset.txt", "0 -1 2\n"),
        r"trainset\.txt: line 1: index out of range \(negative index\)",
    ),
    "one object twice in a triplet": (
        lambda t, m: _release(t, "trainset.txt", "0 0 2\n"),
        r"trainset\.txt: line 1: the same object twice",
    ),
    "a truncated .npy": (
        lambda t, m: _release(t, "trainset.npy", b"\x93NUMPY\x01\x00v\x00{'descr'"),
        r"trainset\.npy: not a readable \.npy array",
    ),
    "an empty .npy": (
        lambda t, m: _release(t, "trainset.npy", b""),
        r"trainset\.npy: not a readable \.npy array \(an empty file",
    ),
    "an .npz named .npy": (
        lambda t, m: _release(t, "trainset.npy", _npz()),
        r"trainset\.npy: a \.npz archive",
    ),
    "a float .npy with NaN": (
        lambda t, m: _release(t, "trainset.npy", np.array([[0, 1, np.nan]])),
        r"trainset\.npy: row 1: expected integer object indices",
    ),
    "a float .npy with 2.5": (
        lambda t, m: _release(t, "trainset.npy", np.array([[0, 1, 2.5]])),
        r"trainset\.npy: row 1: expected integer object indices",
    ),
    "a 1-D .npy": (
        lambda t, m: _release(t, "trainset.npy", np.array([0, 1, 2])),
        r"trainset\.npy: row 1: expected 3 columns",
    ),
}


@pytest.mark.parametrize("case", list(TRIPLET_CASES))
def test_the_triplet_reader_refuses(case, tmp_path, monkeypatch):
    probe, message = TRIPLET_CASES[case]
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        probe(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("a byte-order mark", "\ufeffimg1,img2,ooo\n0,1,2\n"),
        ("the odd one out first", "ooo,img1,img2\n2,0,1\n"),
        ("a subject column", "subject,img1,img2,ooo\n5,0,1,2\n"),
        ("Windows line ends", "img1,img2,ooo\r\n0,1,2\r\n"),
    ],
)
def test_a_csv_release_is_read_by_its_header(name, text, tmp_path):
    assert _release(tmp_path, "trainset.csv", text)["train"].tolist() == [[0, 1, 2]]


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 100, 50)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _manifest(tmp_path, files):
    return images.things_image_manifest(_folder(tmp_path, files), require_all=False)


PHOTO_CASES: dict[str, tuple[Callable[[Path], object], str]] = {
    "the photo folder a file": (
        lambda t: images.things_image_manifest(_folder(t, {"photos.zip": b"PK"}) / "photos.zip"),
        r"photos\.zip: a file; expected the folder of concept folders",
    ),
    "a folder that is no concept": (
        lambda t: _manifest(t, {"holiday/x.jpg": _jpeg()}),
        r"holiday: a folder of 1 images whose name is not a THINGS uniqueID",
    ),
    "a capitalised concept": (
        lambda t: _manifest(t, {"Aardvark/x.jpg": _jpeg()}),
        r"Aardvark: a folder of 1 images whose name is not a THINGS uniqueID",
    ),
    "a concept twice": (
        lambda t: _manifest(t, {"A/aardvark/x.jpg": _jpeg(), "B/aardvark/x.jpg": _jpeg()}),
        r"concept 'aardvark' found twice",
    ),
    "concepts too deep": (
        lambda t: _manifest(t, {"a/b/aardvark/x.jpg": _jpeg()}),
        r"no concept folders with images found",
    ),
    "photos without concept folders": (
        lambda t: _manifest(t, {"x.jpg": _jpeg()}),
        r"no concept folders with images found",
    ),
    "most concepts missing": (
        lambda t: images.things_image_manifest(_folder(t, {"aardvark/x.jpg": _jpeg()})),
        r"1853 of 1854 THINGS concepts have no photos",
    ),
    "a .webp among the photos": (
        lambda t: _manifest(t, {"aardvark/a.jpg": _jpeg(), "aardvark/b.webp": b"RIFF"}),
        r"aardvark/b\.webp: a \.webp picture; the photo reader takes \.jpg, \.jpeg, \.png",
    ),
    "a concept of .tif photos only": (
        lambda t: _manifest(t, {"aardvark/b.tif": b"II*"}),
        r"aardvark/b\.tif: a \.tif picture",
    ),
    "a folder named like a photo": (
        lambda t: _manifest(t, {"aardvark/a.jpg": _jpeg(), "aardvark/b.jpg": None}),
        r"aardvark/b\.jpg: a folder named like a photo",
    ),
    "a truncated photo": (
        lambda t: images.ThingsPhotos(
            pd.DataFrame({"path": [str(_folder(t, {"t.jpg": _jpeg()[:40]}) / "t.jpg")]}),
            lambda x: x,
        )[0],
        r"t\.jpg: not a readable photo",
    ),
    "a text file named .jpg": (
        lambda t: images.ThingsPhotos(
            pd.DataFrame({"path": [str(_folder(t, {"t.jpg": "<html>"}) / "t.jpg")]}),
            lambda x: x,
        )[0],
        r"t\.jpg: not a readable photo",
    ),
}


@pytest.mark.parametrize("case", list(PHOTO_CASES))
def test_the_photo_reader_refuses(case, tmp_path):
    probe, message = PHOTO_CASES[case]
    with pytest.raises(ValueError, match=message):
        probe(tmp_path)


def test_a_note_beside_the_photos_is_not_a_photo(tmp_path):
    manifest = _manifest(tmp_path, {"aardvark/a.jpg": _jpeg(), "aardvark/README.txt": "hi"})
    assert manifest["file_name"].tolist() == ["aardvark/a.jpg"]
