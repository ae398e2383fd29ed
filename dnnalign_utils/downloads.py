"""Results a reader can take away: tables and embeddings published as downloads.

`publish` writes a chapter's result into `paths.downloads_dir(profile)/<chapter>/`
atomically, with a provenance sidecar, and returns what a page needs to link to it:

- a table (`pandas.DataFrame`) becomes one CSV with named columns, floats rounded;
- an embedding (a 2-D array) becomes a `.npy` file (full precision) and a CSV whose
  first column names the row's object (or picture) and whose other columns are the
  dimensions, in the embedding's order (`concept_rows` and `picture_rows` name the rows
  of a concept or picture embedding and say what its columns mean).

Every call says what each column means and in which unit (`columns`): the meanings are
written into the provenance record and listed beside the link, so a file can be read
without its chapter. A float column whose values are all whole numbers (a count that
went through a float) is written as integers.

The book runner copies the downloads folder next to the executed chapters (as
`notebooks/downloads/`), so a page links to `downloads/<chapter>/<file>`: a relative
Markdown link to an existing file, which Sphinx copies into the HTML's `_downloads`.
`links` renders that list of links (in a live session the links point to the files
where they were written).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnnalign_utils import paths
from dnnalign_utils.conventions import check_int
from dnnalign_utils.provenance import (
    array_sha256,
    provenance_record,
    read_provenance,
    write_artefact,
)

# Folder name of the downloads beside the staged chapters, and in the links.
LINK_FOLDER = "downloads"
DEFAULT_DECIMALS = 4
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_CHAPTER = re.compile(r"^\d\d_[a-z0-9_]+$")
# Parameters of the provenance record that publish writes itself.
RESERVED_PARAMETERS = ("chapter", "kind", "download", "description", "decimals", "columns")
# The key of `columns` that describes all dimension columns of an embedding at once.
DIMENSIONS_KEY = "dimensions"
# Files published in this process: path -> (chapter, description), to catch two
# different results given the same name.
_PUBLISHED: dict[Path, tuple[str, str]] = {}


@dataclass(frozen=True)
class Published:
    """One published file: where it is, the link a page uses, and what it holds."""

    path: Path
    chapter: str
    description: str
    n_rows: int
    n_columns: int
    columns: tuple[tuple[str, str], ...] = ()

    @property
    def link(self) -> str:
        """The file's address relative to its chapter's page in the book."""
        return f"{LINK_FOLDER}/{self.chapter}/{self.path.name}"

    def markdown(self, live: bool | None = None) -> str:
        """A Markdown list item linking the file (and its provenance record)."""
        if live is None:
            live = not os.environ.get("DNNALIGN_BOOK_BUILD")
        target = _live_target(self.path) if live else self.link
        size = _human_size(self.path.stat().st_size)
        shape = f"{self.n_rows:,} rows × {self.n_columns:,} columns"
        item = (
            f"- [{self.path.name}]({target}) ({shape}, {size}; "
            f"[provenance]({target}.provenance.json)): {self.description}"
        )
        described = [
            f"  - `{c}`: {meaning}" if c else f"  - {meaning}" for c, meaning in self.columns
        ]
        return "\n".join([item, *described])


def _live_target(path: Path) -> str:
    """A link from the notebook's folder (the working directory of a live session)."""
    try:
        return Path(os.path.relpath(path, Path.cwd())).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_uri()


def _human_size(n_bytes: int) -> str:
    if n_bytes < 1000:
        return f"{n_bytes} B"
    if n_bytes < 1_000_000:
        return f"{n_bytes / 1000:.0f} kB"
    return f"{n_bytes / 1_000_000:.1f} MB"


def download_path(
    profile: str, chapter: str, file_name: str, network: paths.NetworkValue | None = None
) -> Path:
    """Where the download `file_name` of notebook `chapter` is written for `profile` (in
    the folder of `network`, `networks.resolve`'s value, for a chapter run on another
    network than the book's own, None)."""
    if not _CHAPTER.match(chapter):
        raise ValueError(
            f"chapter: expected a notebook stem like '02_embedding_fit', got {chapter!r}"
        )
    if Path(file_name).name != file_name or not file_name:
        raise ValueError(f"file_name: expected a bare file name, got {file_name!r}")
    return paths.downloads_dir(profile, network, chapter) / chapter / file_name


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"name: expected lower-case letters, digits, '_' or '-' without a suffix "
            f"(e.g. 'human_spose_embedding'), got {name!r}"
        )


def _check_decimals(decimals: int) -> int:
    """`decimals` as a non-negative int (a negative one would round 1.0 to 0.0)."""
    return check_int("decimals", decimals, 0)


def _tidy_table(table: pd.DataFrame, name: str, decimals: int) -> pd.DataFrame:
    """A copy with its index as named columns (a default index dropped), checked
    column names, and floats rounded to `decimals`."""
    decimals = _check_decimals(decimals)
    if not isinstance(table.index, pd.RangeIndex) or any(n is not None for n in table.index.names):
        if any(n is None for n in table.index.names):
            raise ValueError(
                f"{name}: the table's index has no name; name it (e.g. "
                "table.rename_axis('object')) or reset it, so the file says what its rows are"
            )
        clash = [n for n in table.index.names if n in table.columns]
        if clash:
            raise ValueError(
                f"{name}: the index name {clash[0]!r} is also a column; rename one of them "
                "(both would become columns of the file)"
            )
        table = table.reset_index()
    else:
        table = table.reset_index(drop=True)
    columns = list(table.columns)
    bad = [c for c in columns if not isinstance(c, str) or not c.strip()]
    if bad:
        raise ValueError(f"{name}: column names must be non-empty strings, got {bad[:3]}")
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise ValueError(f"{name}: duplicated column names {duplicated}")
    if table.empty:
        raise ValueError(f"{name}: the table has no rows")
    floats = table.select_dtypes(include="floating").columns
    for column in floats:
        values = table[column]
        known = values.dropna()
        if len(known) and np.isfinite(known).all() and (known == np.round(known)).all():
            table[column] = values.astype("Int64")  # a count, written as an integer
        else:
            table[column] = values.round(decimals)
    return table


def _check_columns(
    columns: Mapping[str, str] | None, written: Sequence[str], dims: Sequence[str], name: str
) -> dict[str, str]:
    """`columns` checked against the file's columns `written`: a meaning (with its unit)
    for each, in the file's order; an embedding's dimension columns `dims` may share one
    under DIMENSIONS_KEY."""
    if columns is None:  # tests/test_downloads.py checks that every chapter gives them
        return {}
    if not isinstance(columns, Mapping):
        raise ValueError(f"{name}: columns: expected a mapping, got {type(columns).__name__}")
    bad = [k for k, v in columns.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ValueError(f"{name}: columns: no meaning given for {bad[:3]}")
    shared = DIMENSIONS_KEY in columns and DIMENSIONS_KEY not in written and dims
    missing = [c for c in written if c not in columns and not (shared and c in dims)]
    if missing:
        raise ValueError(f"{name}: columns: no meaning given for the columns {missing[:5]}")
    unknown = [k for k in columns if k not in written and not (shared and k == DIMENSIONS_KEY)]
    if unknown:
        raise ValueError(
            f"{name}: columns: {unknown[:5]} are not columns of the file; its columns are "
            f"{list(written)[:8]}"
        )
    described = {c: columns[c] for c in written if c in columns}
    if shared:
        first, last = dims[0], dims[-1]
        described[first if len(dims) == 1 else f"{first} … {last}"] = columns[DIMENSIONS_KEY]
    return described


def embedding_table(
    weights: Any,
    object_names: Sequence[str],
    *,
    object_column: str = "object",
    column_names: Sequence[str] | None = None,
    extra_columns: Mapping[str, Sequence] | None = None,
    decimals: int = DEFAULT_DECIMALS,
) -> pd.DataFrame:
    """An (n_objects, n_dims) matrix as a table: `object_column` with the names, then
    `extra_columns` (e.g. a concept's word beside its unique id), then one column per
    dimension ("dim_1", ... unless `column_names`), rounded."""
    decimals = _check_decimals(decimals)
    weights = np.asarray(weights)
    if weights.ndim != 2 or not np.issubdtype(weights.dtype, np.number):
        raise ValueError(
            f"weights: expected a 2-D numeric array, got shape {weights.shape} and dtype "
            f"{weights.dtype}"
        )
    if not np.isfinite(weights).all():
        row, col = np.argwhere(~np.isfinite(weights))[0]
        raise ValueError(f"weights: row {row}, column {col}: non-finite value {weights[row, col]}")
    if isinstance(object_names, (str, bytes)):
        raise ValueError(
            f"object_names: one string {object_names!r}; expected a sequence of "
            f"{weights.shape[0]} names (one per row)"
        )
    given = list(object_names)
    unnamed = [i for i, n in enumerate(given) if n is None or pd.isna(n) or not str(n).strip()]
    if unnamed:
        raise ValueError(
            f"object_names: row {unnamed[0]} has no name ({given[unnamed[0]]!r}); "
            "expected a name for every row"
        )
    names = [str(n) for n in given]
    if len(names) != weights.shape[0]:
        raise ValueError(
            f"object_names: expected {weights.shape[0]} (one per row), got {len(names)}"
        )
    if len(set(names)) != len(names):
        seen: set[str] = set()
        dup = next(n for n in names if n in seen or seen.add(n))
        raise ValueError(f"object_names: {dup!r} occurs twice; rows must be named uniquely")
    if column_names is None:
        column_names = [f"dim_{d + 1}" for d in range(weights.shape[1])]
    if isinstance(column_names, (str, bytes)):
        raise ValueError(f"column_names: one string {column_names!r}; expected one per column")
    column_names = list(column_names)
    if len(column_names) != weights.shape[1]:
        raise ValueError(
            f"column_names: expected {weights.shape[1]} (one per column), got {len(column_names)}"
        )
    twice = sorted({str(c) for c in column_names if column_names.count(c) > 1})
    if twice:
        raise ValueError(f"column_names: {twice} occur more than once; expected unique names")
    table = pd.DataFrame(np.round(weights.astype(float), decimals), columns=column_names)
    for position, (column, values) in enumerate(
        [(object_column, names), *(extra_columns or {}).items()]
    ):
        if len(values) != len(names):
            raise ValueError(
                f"extra_columns[{column!r}]: expected {len(names)} values (one per row), "
                f"got {len(values)}"
            )
        if column in table:
            raise ValueError(f"column {column!r} occurs twice")
        table.insert(position, column, list(values))
    return table


EMBEDDING_WEIGHTS = (
    "the object's non-negative weight on each dimension (dim_1 the most important), in "
    "the embedding's own arbitrary units; dot products of two rows give their similarity"
)
"""What the dimension columns of an embedding's download hold."""


def concept_rows(
    unique_ids: Sequence[str], words: Sequence[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """How the rows of a concept embedding's download are named, as the keywords of
    `publish` (each row's THINGS `unique_ids` in the ``object`` column, its word in the
    ``word`` column) and the meanings of the file's columns (`publish`'s `columns`)."""
    if len(unique_ids) != len(words):
        raise ValueError(f"words: expected one per concept ({len(unique_ids)}), got {len(words)}")
    rows = {"object_names": unique_ids, "extra_columns": {"word": words}}
    columns = {
        "object": "the concept's THINGS uniqueID",
        "word": "the concept's word",
        DIMENSIONS_KEY: EMBEDDING_WEIGHTS,
    }
    return rows, columns


def picture_rows(manifest: pd.DataFrame) -> tuple[dict[str, Any], dict[str, str]]:
    """How the rows of a picture embedding's download are named (the pictures of
    `manifest`, with ``uniqueID`` and ``style`` columns, in its order), as the keywords of
    `publish` (a ``picture`` column "uniqueID (style)", then the concept and the style)
    and the meanings of the file's columns (`publish`'s `columns`)."""
    missing = [c for c in ("uniqueID", "style") if c not in manifest.columns]
    if missing:
        raise ValueError(f"manifest: missing columns {missing}; expected uniqueID and style")
    ids, styles = manifest["uniqueID"], manifest["style"]
    rows = {
        "object_names": [f"{u} ({s})" for u, s in zip(ids, styles, strict=True)],
        "object_column": "picture",
        "extra_columns": {"uniqueID": ids, "style": styles},
    }
    columns = {
        "picture": "the picture: its concept's uniqueID and its emoji style",
        "uniqueID": "the picture's THINGS concept",
        "style": "the emoji set the picture is from",
        DIMENSIONS_KEY: EMBEDDING_WEIGHTS,
    }
    return rows, columns


def _check_existing(path: Path, chapter: str, kind: str, description: str) -> None:
    """Refuse to replace a file another chapter or another kind of result wrote, or one
    this process already published under another description."""
    earlier = _PUBLISHED.get(path)
    if earlier is not None and earlier != (chapter, description):
        raise ValueError(
            f"{path.name}: already published in this session by {earlier[0]} as "
            f"{earlier[1]!r}; choose another name for {description!r}"
        )
    if not path.exists():
        return
    try:
        record = read_provenance(path)
    except (FileNotFoundError, ValueError):
        raise ValueError(
            f"{path}: exists without a readable provenance record, so it was not written by "
            "downloads.publish; refusing to overwrite it (move it away first)"
        ) from None
    previous = record.get("parameters", {})
    if previous.get("chapter") != chapter or previous.get("kind") != kind:
        raise ValueError(
            f"{path}: holds a {previous.get('kind')!r} download of chapter "
            f"{previous.get('chapter')!r}; refusing to overwrite it with a {kind!r} download "
            f"of chapter {chapter!r} (choose another name)"
        )


def _write_csv(path: Path, table: pd.DataFrame, record: Mapping[str, Any]) -> None:
    def _write(tmp: Path) -> None:
        table.to_csv(tmp, index=False, lineterminator="\n")

    write_artefact(path, _write, record)


def _write_npy(path: Path, array: np.ndarray, record: Mapping[str, Any]) -> None:
    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, array)

    write_artefact(path, _write, record)


def publish(
    data: pd.DataFrame | np.ndarray,
    name: str,
    chapter: str,
    profile: str,
    *,
    description: str,
    object_names: Sequence[str] | None = None,
    object_column: str = "object",
    column_names: Sequence[str] | None = None,
    extra_columns: Mapping[str, Sequence] | None = None,
    decimals: int = DEFAULT_DECIMALS,
    parameters: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str | os.PathLike] | None = None,
    network: paths.NetworkValue | None = None,
    columns: Mapping[str, str] | None = None,
) -> list[Published]:
    """Write `data` as downloads of notebook `chapter` and return them.

    A DataFrame is written as `<name>.csv` (its index, if named, becomes columns; floats
    rounded to `decimals`). A 2-D array is written as `<name>.npy` (unrounded) and
    `<name>.csv` with `object_column` naming each row (`object_names` is then required;
    `extra_columns` adds more row descriptions, e.g. the concept's word).
    `columns` maps each column of the CSV to what it means, with its unit (an
    embedding's dimension columns may share one entry under DIMENSIONS_KEY); the
    meanings are listed under the file's link and written into its record.
    Each file gets a provenance sidecar recording the chapter, the kind of download,
    the column meanings, `parameters`, the hashes of `inputs` (files) and of the data.
    A file of the same name written by another chapter or holding another kind of
    download is not overwritten (ValueError), nor is a file without a provenance record.
    """
    _check_name(name)
    if not isinstance(description, str) or not description.strip():
        raise ValueError("description: expected a sentence saying what the file holds")
    reserved = sorted(set(parameters or {}) & set(RESERVED_PARAMETERS))
    if reserved:
        raise ValueError(
            f"parameters: {reserved} are written by publish itself (the record says which "
            f"chapter and kind of download a file is); choose other names"
        )
    if isinstance(data, pd.DataFrame):
        kind = "table"
        table = _tidy_table(data, name, decimals)
        files = {f"{name}.csv": table}
        meanings = _check_columns(columns, list(table.columns), (), name)
    elif isinstance(data, np.ndarray):
        kind = "embedding"
        if object_names is None:
            raise ValueError(f"{name}: object_names is required for an array (one per row)")
        table = embedding_table(
            data,
            object_names,
            object_column=object_column,
            column_names=column_names,
            extra_columns=extra_columns,
            decimals=decimals,
        )
        files = {f"{name}.npy": np.asarray(data), f"{name}.csv": table}
        n_described = 1 + len(extra_columns or {})
        meanings = _check_columns(
            columns, list(table.columns), list(table.columns[n_described:]), name
        )
    else:
        raise TypeError(f"{name}: expected a pandas DataFrame or a numpy array, got {type(data)}")
    targets = {file: download_path(profile, chapter, file, network) for file in files}
    paths.check_artefacts_root()  # names DNNALIGN_ARTEFACTS_DIR if it is no writable folder
    for path in targets.values():
        _check_existing(path, chapter, kind, description)
    data_hash = (
        array_sha256(np.asarray(data))
        if kind == "embedding"
        else array_sha256(pd.util.hash_pandas_object(table, index=False).to_numpy())
    )
    published = []
    for file, content in files.items():
        path = targets[file]
        record = provenance_record(
            f"notebooks/{chapter}",
            parameters={
                "chapter": chapter,
                "kind": kind,
                "download": file,
                "description": description,
                "network": paths.DEFAULT_NETWORK if network is None else network.key,
                "decimals": None if file.endswith(".npy") else decimals,
                "columns": meanings,
                **dict(parameters or {}),
            },
            inputs=inputs,
            input_hashes={"data": data_hash},
        )
        if file.endswith(".npy"):
            _write_npy(path, content, record)
            shown = (("", f"rows and columns as in {name}.csv, unrounded"),)
        else:
            _write_csv(path, content, record)
            shown = tuple(meanings.items())
        n_rows, n_columns = content.shape
        _PUBLISHED[path] = (chapter, description)
        published.append(Published(path, chapter, description, int(n_rows), int(n_columns), shown))
    return published


def links(published: Sequence[Published], live: bool | None = None):
    """The published files as a Markdown list of links (an IPython `Markdown` object)."""
    from IPython.display import Markdown

    if not published:
        raise ValueError("published: expected at least one file")
    return Markdown("\n".join(p.markdown(live) for p in published))


def read_table(path: str | os.PathLike, required: Sequence[str] = ()) -> pd.DataFrame:
    """A CSV download another chapter reads (e.g. chapter 3's R² table), checked against
    its provenance record and for `required` columns; a missing file names the chapter
    that writes it."""
    from dnnalign_utils.data import read_text
    from dnnalign_utils.provenance import verify_provenance

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; expected a CSV download")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: download not found{paths.artefact_hint(path)}")
    verify_provenance(path)
    text = read_text(path)  # names the line of a byte that is not UTF-8
    if not text.strip():
        raise ValueError(f"{path}: an empty file; expected a CSV table with a header line")
    try:
        table = pd.read_csv(io.StringIO(text))
    except pd.errors.ParserError as err:
        raise ValueError(f"{path}: not a readable CSV table ({err})") from None
    missing = [c for c in required if c not in table]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; found {list(table.columns)}")
    return table
