"""Rating dimensions as visual, semantic or mixed: blind sessions, the ratings file, shares.

The paper's raters saw each dimension as an *image collection*: objects taken along the
dimension from the highest weights down, around the ranks 0, 2, 4, ..., 12 % of all
objects (`RANK_FRACTIONS`). They rated its *quality* (visual, semantic, mixed
visual-semantic, unclear), its *concept type* (single, multiple, uninterpretable), gave up
to five free-text labels and an interpretability score from 1 to 7. Dimensions of
several embeddings were pooled, anonymised and shuffled, and mapped back afterwards.

- :func:`collection_objects` / :func:`collection_picture`: the collection of one
  dimension, as object indices and as one RGB picture (pictures where the concept has
  one, its name otherwise).
- :func:`create_session` pools and anonymises dimensions with a seed; the mapping back
  to each dimension's source lives in its own file (``mapping.json``), the items the
  rater sees in another (``items.csv``), the hashes of the embeddings' weights in a
  third (``session.json``). The session's identity (a hash of the mapping and the
  weights) is written in every rating row, and a row of another session is refused.
- :func:`append_rating` adds one answer to the ratings CSV atomically (the whole file is
  rewritten beside itself and moved into place), so a killed session leaves a valid file;
  :func:`load_ratings` validates every row and names the file and line of a bad one;
  :func:`next_unrated` is where a restarted session resumes.
- :class:`RatingWidget`: the ipywidgets front end for live Jupyter, Binder or Colab
  sessions (a static book page cannot run it).
- :func:`quality_shares`, :func:`bootstrap_shares`, :func:`permutation_test`: the shares
  of visual, mixed and semantic dimensions without the unclear ones (as the paper counts
  them), optionally weighted by dimension importance, their bootstrap intervals over
  dimensions and a permutation test between two embeddings; :func:`share_table`,
  :func:`semantic_share_tests` and :func:`shares_by_layer` apply them to several
  embeddings (chapter 5's tables and downloads), and :func:`automatic_agreement` compares
  a session's ratings with the automatic labels.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from dnnalign_utils.provenance import array_sha256, atomic_write_text

RANK_FRACTIONS = (0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12)
QUALITIES = ("visual", "semantic", "mixed", "unclear")
RATED_QUALITIES = ("visual", "mixed", "semantic")  # the paper's shares leave out "unclear"
CONCEPT_TYPES = ("single", "multiple", "uninterpretable")
MAX_LABELS = 5
RATING_COLUMNS = (
    "rater",
    "time_utc",
    "item",
    "quality",
    "concept_type",
    "labels",
    "interpretability",
    "session",  # the identity of the session whose items the row rates
)
# The embeddings' hashes of a session (its identity with the mapping).
SESSION_FILE = "session.json"


class RatingFileError(ValueError):
    """A ratings, items or mapping file is malformed; the message names file and line."""


# Collections -------------------------------------------------------------------------


def collection_objects(
    values: Sequence[float], per_rank: int = 6, fractions: Sequence[float] = RANK_FRACTIONS
) -> np.ndarray:
    """Object indices of one dimension's collection: ``(len(fractions), per_rank)``.

    Objects are ranked by ``values`` (highest first, ties by index); row r holds the
    ``per_rank`` objects starting at rank ``round(fractions[r] * n)``, clipped to the end.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or not np.isfinite(values).all():
        raise ValueError("values: expected a non-empty finite 1-D array (one value per object)")
    if not isinstance(per_rank, int | np.integer) or not 1 <= per_rank <= values.size:
        raise ValueError(f"per_rank: expected an int in 1..{values.size}, got {per_rank!r}")
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1 or ((fractions < 0) | (fractions >= 1)).any():
        raise ValueError(f"fractions: expected values in [0, 1), got {fractions.tolist()}")
    order = np.argsort(-values, kind="stable")
    starts = np.minimum(np.round(fractions * values.size).astype(int), values.size - per_rank)
    return np.stack([order[s : s + per_rank] for s in starts])


def _text_tile(text: str, size: int) -> np.ndarray:
    tile = Image.new("RGB", (size, size), (245, 245, 245))
    draw = ImageDraw.Draw(tile)
    font = ImageFont.load_default(size=max(10, size // 7))
    line_height = font.size + 3
    words, lines = text.split(), [""]
    for word in words:  # wrap at the tile's width
        candidate = f"{lines[-1]} {word}".strip()
        if lines[-1] and draw.textlength(candidate, font=font) > size - 8:
            lines.append(word)
        else:
            lines[-1] = candidate
    y = max(2, (size - line_height * len(lines)) // 2)
    for line in lines[:5]:
        draw.text((4, y), line, fill=(30, 30, 30), font=font)
        y += line_height
    return np.asarray(tile)


def load_picture(path: str | os.PathLike) -> np.ndarray:
    """An RGB array of a picture file; transparency is laid on white (emoji drawings)."""
    with Image.open(path) as image:
        if image.mode in ("RGBA", "LA", "P"):
            rgba = image.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
        return np.asarray(image.convert("RGB"))


def collection_picture(
    objects: np.ndarray,
    names: Sequence[str],
    pictures: Mapping[int, np.ndarray] | None = None,
    tile: int = 96,
    gap: int = 4,
) -> np.ndarray:
    """One RGB picture (uint8) of a collection: a tile per object, rows as in ``objects``.

    ``pictures`` maps an object index to an RGB array (any size; resized to the tile); an
    object without a picture is shown as its name on a grey tile.
    """
    objects = np.asarray(objects)
    if objects.ndim != 2:
        raise ValueError(f"objects: expected (rows, per_rank) indices, got {objects.shape}")
    pictures = pictures or {}
    n_rows, n_cols = objects.shape
    canvas = np.full(
        (n_rows * (tile + gap) - gap, n_cols * (tile + gap) - gap, 3), 255, dtype=np.uint8
    )
    for r in range(n_rows):
        for c in range(n_cols):
            index = int(objects[r, c])
            if index in pictures:
                image = Image.fromarray(np.asarray(pictures[index], dtype=np.uint8)).convert("RGB")
                cell = np.asarray(image.resize((tile, tile), Image.Resampling.BILINEAR))
            else:
                cell = _text_tile(str(names[index]), tile)
            y, x = r * (tile + gap), c * (tile + gap)
            canvas[y : y + tile, x : x + tile] = cell
    return canvas


# Sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingSession:
    """An anonymised pool of dimensions in a folder.

    items: the anonymised item ids in the order a rater sees them;
    mapping: item id -> {"embedding": name, "dimension": 0-based column};
    embeddings: embedding name -> SHA-256 of its weights (None: made from a count only);
    folder: where ``items.csv``, ``mapping.json``, ``session.json`` and ``ratings.csv``
    live.
    """

    folder: Path
    items: tuple[str, ...]
    mapping: dict[str, dict[str, object]]
    embeddings: dict[str, str | None] = field(default_factory=dict)

    @property
    def ratings_path(self) -> Path:
        return self.folder / "ratings.csv"

    @property
    def identity(self) -> str:
        """A hash of the mapping (which item is which dimension) and of the embeddings'
        weights: every rating row carries it, so ratings of another session (another
        shuffle, or an embedding re-fitted with as many dimensions) are refused."""
        text = json.dumps({"mapping": self.mapping, "embeddings": self.embeddings}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def source(self, item: str) -> tuple[str, int]:
        entry = self.mapping[item]
        return str(entry["embedding"]), int(entry["dimension"])


def _counts_and_hashes(
    dimensions: Mapping[str, object],
) -> tuple[dict[str, int], dict[str, str | None]]:
    """Each embedding's number of dimensions and the hash of its weights (None when only
    the number was given)."""
    counts, hashes = {}, {}
    for name, value in dimensions.items():
        if isinstance(value, int | np.integer) and not isinstance(value, bool):
            counts[name], hashes[name] = int(value), None
            continue
        weights = np.asarray(value)
        if weights.ndim != 2 or not np.issubdtype(weights.dtype, np.number):
            raise ValueError(
                f"dimensions[{name!r}]: expected a number of dimensions or an (objects × "
                f"dimensions) embedding, got {type(value).__name__} of shape {weights.shape}"
            )
        counts[name], hashes[name] = weights.shape[1], array_sha256(weights)
    return counts, hashes


def create_session(
    folder: str | os.PathLike, dimensions: Mapping[str, object], *, seed: int
) -> RatingSession:
    """Pool the dimensions of several embeddings, anonymise and shuffle them.

    ``dimensions`` maps an embedding name to its weights (objects × dimensions; pass
    them, so that the session knows them) or only its number of dimensions. Writes
    ``items.csv`` (the shuffled anonymous ids, all a rater sees), ``mapping.json`` (id ->
    embedding and dimension) and ``session.json`` (the weights' hashes) separately. An
    existing session in ``folder`` is never overwritten: it is loaded, and must hold the
    same dimensions of the same weights (an embedding re-fitted with as many dimensions
    is another pool: its ratings would be attributed to other dimensions).
    """
    folder = Path(folder)
    counts, hashes = _counts_and_hashes(dimensions)
    sources = [(name, d) for name, n in counts.items() for d in range(n)]
    if not sources:
        raise ValueError("dimensions: expected at least one embedding with dimensions")
    if (folder / "mapping.json").exists():
        session = load_session(folder)
        existing = sorted(session.source(i) for i in session.items)
        if existing != sorted(sources):
            raise ValueError(
                f"{folder / 'mapping.json'}: a session with other dimensions exists here; "
                "use a new folder for a new pool"
            )
        unrecorded = all(h is None for h in session.embeddings.values())
        if unrecorded and not _has_ratings(session):
            # a session of counts only (an earlier version's), nothing rated yet: its
            # items and mapping stand; it learns the weights now
            atomic_write_text(
                folder / SESSION_FILE, json.dumps({"embeddings": hashes}, indent=1) + "\n"
            )
            return load_session(folder)
        refitted = sorted(n for n, h in hashes.items() if session.embeddings.get(n) != h)
        if refitted:
            raise ValueError(
                f"{folder / SESSION_FILE}: the session here was made from other weights of "
                f"{', '.join(refitted)} (re-fitted with as many dimensions, or made from a "
                "count only): its items and ratings would name other dimensions; use a new "
                "folder for a new pool"
            )
        return session
    order = np.random.default_rng(seed).permutation(len(sources))
    width = len(str(len(sources)))
    items = [f"D{i + 1:0{width}d}" for i in range(len(sources))]
    mapping = {
        item: {"embedding": sources[k][0], "dimension": int(sources[k][1])}
        for item, k in zip(items, order, strict=True)
    }
    atomic_write_text(folder / "items.csv", "item\n" + "\n".join(items) + "\n")
    atomic_write_text(folder / SESSION_FILE, json.dumps({"embeddings": hashes}, indent=1) + "\n")
    # mapping.json last: it marks a complete session
    atomic_write_text(folder / "mapping.json", json.dumps(mapping, indent=1) + "\n")
    return RatingSession(folder, tuple(items), mapping, hashes)


def _has_ratings(session: RatingSession) -> bool:
    """Whether any rating was saved in `session` (its ratings file has a data row)."""
    path = session.ratings_path
    if not path.is_file():
        return False
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return any(line.strip() for line in lines[1:])


def load_session(folder: str | os.PathLike) -> RatingSession:
    """Read ``items.csv`` and ``mapping.json`` of a session and check they agree."""
    folder = Path(folder)
    items_path, mapping_path = folder / "items.csv", folder / "mapping.json"
    for path in (items_path, mapping_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; create the session with create_session")
    lines = items_path.read_text(encoding="utf-8-sig").splitlines()
    if not lines or lines[0] != "item":
        found = repr(lines[0]) if lines else "an empty file"
        raise RatingFileError(f"{items_path}, line 1: expected the header 'item', found {found}")
    items = tuple(lines[1:])
    try:
        mapping = json.loads(mapping_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RatingFileError(f"{mapping_path}: not valid JSON ({exc})") from exc
    if len(set(items)) != len(items) or set(items) != set(mapping):
        raise RatingFileError(f"{items_path} and {mapping_path} list different or duplicate items")
    for item, entry in mapping.items():
        if not isinstance(entry, dict) or set(entry) != {"embedding", "dimension"}:
            raise RatingFileError(
                f"{mapping_path}: item {item!r} must map to an embedding and a dimension"
            )
    names = dict.fromkeys(str(entry["embedding"]) for entry in mapping.values())
    embeddings: dict[str, str | None] = dict.fromkeys(names)  # a session of counts only
    session_path = folder / SESSION_FILE
    if session_path.is_file():
        try:
            embeddings = json.loads(session_path.read_text(encoding="utf-8"))["embeddings"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise RatingFileError(
                f"{session_path}: expected JSON with the embeddings' hashes ({exc!r})"
            ) from None
    return RatingSession(folder, items, mapping, embeddings)


def _session_identity(path: Path, session: RatingSession | None) -> str | None:
    """The identity the rows of the ratings file `path` must carry: `session`'s, else
    that of the session in the file's folder (where `RatingSession.ratings_path` puts
    it), else None (a file outside a session: any)."""
    if session is not None:
        return session.identity
    if (path.parent / "mapping.json").is_file():
        return load_session(path.parent).identity
    return None


# The ratings file ----------------------------------------------------------------------


def _row_error(path: Path, line: int, message: str) -> RatingFileError:
    return RatingFileError(f"{path}, line {line}: {message}")


def _checked_row(
    row: Mapping[str, str], path: Path, line: int, items: set[str] | None, session: str | None
):
    if session is not None and row["session"] != session:
        raise _row_error(
            path,
            line,
            f"session {row['session']!r}: this rating belongs to another session than "
            f"{path.parent}'s ({session}): another shuffle of the items or another fit of "
            "an embedding, where its item names another dimension",
        )
    rater = row["rater"].strip()
    if not rater:
        raise _row_error(path, line, "empty rater id")
    try:
        time = _dt.datetime.fromisoformat(row["time_utc"])
    except ValueError as exc:
        raise _row_error(path, line, f"time_utc {row['time_utc']!r} is not ISO 8601") from exc
    if items is not None and row["item"] not in items:
        raise _row_error(path, line, f"item {row['item']!r} is not in this session")
    if row["quality"] not in QUALITIES:
        raise _row_error(path, line, f"quality {row['quality']!r}; expected one of {QUALITIES}")
    if row["concept_type"] not in CONCEPT_TYPES:
        raise _row_error(
            path, line, f"concept_type {row['concept_type']!r}; expected one of {CONCEPT_TYPES}"
        )
    labels = [label.strip() for label in row["labels"].split(";")] if row["labels"] else []
    if len(labels) > MAX_LABELS or any(not label for label in labels):
        raise _row_error(
            path, line, f"labels: expected up to {MAX_LABELS} non-empty, ';'-separated"
        )
    score = row["interpretability"]
    if not score.isdigit() or not 1 <= int(score) <= 7:
        raise _row_error(path, line, f"interpretability {score!r}; expected an integer 1..7")
    return {
        "rater": rater,
        "time_utc": time.isoformat(),
        "item": row["item"],
        "quality": row["quality"],
        "concept_type": row["concept_type"],
        "labels": ";".join(labels),
        "interpretability": int(score),
        "session": row["session"],
    }


def load_ratings(
    path: str | os.PathLike,
    items: Sequence[str] | None = None,
    *,
    session: RatingSession | None = None,
) -> pd.DataFrame:
    """The validated ratings CSV (missing file: no ratings yet, an empty table).

    Every row is checked: the columns `RATING_COLUMNS`, a rater id, an ISO time, an item
    of the session (when ``items`` is given), a known quality and concept type, at most
    five labels, an interpretability from 1 to 7 and the identity of the session
    (`session`'s, else that of the session in the file's folder); a rater rating the same
    item twice is an error too. A bad row raises `RatingFileError` naming the file and
    its line.
    """
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=list(RATING_COLUMNS))
    try:  # utf-8-sig: a byte-order mark, as Excel writes it, is not part of the header
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RatingFileError(f"{path}: not UTF-8 text ({exc})") from exc
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is not None and tuple(header) == RATING_COLUMNS[:-1]:
        raise RatingFileError(
            f"{path}, line 1: no session column: these ratings do not say which session's "
            "items they rate; expected the header " + ",".join(RATING_COLUMNS)
        )
    if header is None or tuple(header) != RATING_COLUMNS:
        raise RatingFileError(
            f"{path}, line 1: expected the header {','.join(RATING_COLUMNS)}, found "
            + (repr(",".join(header)) if header is not None else "an empty file")
        )
    known = set(items) if items is not None else None
    identity = _session_identity(path, session)
    rows, seen = [], {}
    for line, values in enumerate(reader, start=2):
        if len(values) != len(RATING_COLUMNS):
            raise _row_error(
                path, line, f"expected {len(RATING_COLUMNS)} fields, got {len(values)}"
            )
        row = _checked_row(
            dict(zip(RATING_COLUMNS, values, strict=True)), path, line, known, identity
        )
        key = (row["rater"], row["item"])
        if key in seen:
            raise _row_error(
                path, line, f"rater {key[0]!r} already rated {key[1]} (line {seen[key]})"
            )
        seen[key] = line
        rows.append(row)
    return pd.DataFrame(rows, columns=list(RATING_COLUMNS))


def append_rating(
    path: str | os.PathLike,
    *,
    rater: str,
    item: str,
    quality: str,
    concept_type: str,
    labels: Sequence[str] = (),
    interpretability: int,
    items: Sequence[str] | None = None,
    session: RatingSession | None = None,
    time_utc: _dt.datetime | None = None,
) -> pd.DataFrame:
    """Add one answer to the ratings CSV, atomically, and return all ratings.

    The existing file is validated, the new row is validated by the same rules, and the
    whole file is written beside itself and moved into place: a crash at any moment
    leaves either the old or the new file, both valid. The row carries the session's
    identity (`session`'s, else that of the session in the file's folder).
    """
    path = Path(path)
    existing = load_ratings(path, items, session=session)
    identity = _session_identity(path, session)
    time = (time_utc or _dt.datetime.now(_dt.UTC)).isoformat(timespec="seconds")
    labels = [str(label).strip() for label in labels if str(label).strip()]
    if any(";" in label for label in labels):
        raise ValueError(f"labels: ';' separates labels and cannot be inside one: {labels}")
    new = {
        "rater": str(rater),
        "time_utc": time,
        "item": str(item),
        "quality": str(quality),
        "concept_type": str(concept_type),
        "labels": ";".join(labels),
        "interpretability": str(interpretability),
        "session": identity or "",
    }
    line = len(existing) + 2
    row = _checked_row(new, path, line, set(items) if items is not None else None, identity)
    if ((existing["rater"] == row["rater"]) & (existing["item"] == row["item"])).any():
        raise _row_error(path, line, f"rater {row['rater']!r} already rated {row['item']}")
    table = pd.concat([existing, pd.DataFrame([row])], ignore_index=True)
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    atomic_write_text(path, buffer.getvalue())
    return table


def next_unrated(items: Sequence[str], ratings: pd.DataFrame, rater: str) -> int | None:
    """Position of the first item in ``items`` that ``rater`` has not rated (None: done)."""
    done = set(ratings.loc[ratings["rater"] == rater, "item"])
    for position, item in enumerate(items):
        if item not in done:
            return position
    return None


def restore_sources(ratings: pd.DataFrame, session: RatingSession) -> pd.DataFrame:
    """The ratings with each item's embedding and dimension (from the session's mapping)."""
    unknown = sorted(set(ratings["item"]) - set(session.mapping))
    if unknown:
        raise ValueError(f"ratings: items {unknown[:5]} are not in {session.folder}/mapping.json")
    sources = [session.source(item) for item in ratings["item"]]
    return ratings.assign(embedding=[s[0] for s in sources], dimension=[s[1] for s in sources])


# The widget -----------------------------------------------------------------------------


def _png(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


class RatingWidget:
    """A blind rating session in ipywidgets (live Jupyter, Binder or Colab only).

    ``collection(item) -> RGB array`` draws an item's collection. Each "Save and next"
    appends the answer with :func:`append_rating`; the widget starts at the rater's first
    unrated item, so a restarted session resumes where it stopped.
    """

    def __init__(self, session: RatingSession, collection, rater: str):
        import ipywidgets as w

        if not str(rater).strip():
            raise ValueError("rater: expected a non-empty rater id (initials or a code)")
        self.session, self.collection, self.rater = session, collection, str(rater).strip()
        self.image = w.Image(format="png")
        self.title = w.HTML()
        self.quality = w.ToggleButtons(options=QUALITIES, value=None, description="quality")
        self.concept_type = w.ToggleButtons(
            options=CONCEPT_TYPES, value=None, description="concept"
        )
        self.labels = w.Text(
            placeholder="up to five labels, separated by ';'", description="labels"
        )
        self.score = w.IntSlider(value=4, min=1, max=7, description="interpretable")
        self.save = w.Button(description="Save and next", button_style="primary")
        self.message = w.HTML()
        self.save.on_click(self._on_save)
        self.box = w.VBox(
            [self.title, self.image, self.quality, self.concept_type, self.labels]
            + [self.score, self.save, self.message]
        )
        self.position = None
        self._show_next()

    def _show_next(self) -> None:
        ratings = load_ratings(self.session.ratings_path, self.session.items, session=self.session)
        self.position = next_unrated(self.session.items, ratings, self.rater)
        if self.position is None:
            self.title.value = "<b>All dimensions rated. Thank you.</b>"
            self.save.disabled = True
            return
        item = self.session.items[self.position]
        self.title.value = (
            f"<b>{item}</b> ({self.position + 1} of {len(self.session.items)}): objects from "
            "the top of the dimension down, rows at ranks 0, 2, ..., 12 %"
        )
        self.image.value = _png(self.collection(item))
        self.quality.value = self.concept_type.value = None
        self.labels.value = ""

    def _on_save(self, _button) -> None:
        if self.quality.value is None or self.concept_type.value is None:
            self.message.value = "Choose a quality and a concept type first."
            return
        labels = [label for label in self.labels.value.split(";") if label.strip()]
        if len(labels) > MAX_LABELS:
            self.message.value = f"At most {MAX_LABELS} labels, please ({len(labels)} given)."
            return
        try:
            append_rating(
                self.session.ratings_path,
                rater=self.rater,
                item=self.session.items[self.position],
                quality=self.quality.value,
                concept_type=self.concept_type.value,
                labels=labels,
                interpretability=self.score.value,
                items=self.session.items,
                session=self.session,
            )
        except RatingFileError as exc:
            self.message.value = f"Not saved: {exc}"
            return
        self.message.value = "Saved."
        self._show_next()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


# Shares and tests -------------------------------------------------------------------------


def _check_labels(labels: Sequence[str]) -> np.ndarray:
    labels = np.asarray(labels, dtype=object)
    bad = sorted({str(x) for x in labels} - set(QUALITIES))
    if labels.ndim != 1 or bad:
        raise ValueError(f"labels: expected a 1-D sequence of {QUALITIES}; got {bad[:3]}")
    return labels


def _shares(labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    rated = labels != "unclear"
    total = weights[rated].sum()
    if total <= 0:
        return np.full(len(RATED_QUALITIES), np.nan)
    return np.array([weights[labels == q].sum() / total for q in RATED_QUALITIES])


def quality_shares(labels: Sequence[str], weights: Sequence[float] | None = None) -> pd.Series:
    """Shares of visual, mixed and semantic dimensions, leaving out the unclear ones.

    With ``weights`` (e.g. each dimension's share of the embedding's total weight, the
    paper's relative importance) each dimension counts with its weight instead of 1.
    Also returns the share of unclear dimensions among all (counted the same way).
    """
    labels = _check_labels(labels)
    w = np.ones(labels.size) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != labels.shape or (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("weights: expected one finite non-negative weight per label")
    unclear = w[labels == "unclear"].sum() / w.sum() if w.sum() > 0 else np.nan
    return pd.Series([*_shares(labels, w), unclear], index=[*RATED_QUALITIES, "unclear (of all)"])


def bootstrap_shares(
    labels: Sequence[str],
    weights: Sequence[float] | None = None,
    *,
    n_bootstrap: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Percentile bootstrap intervals of :func:`quality_shares` over dimensions.

    Each resample draws the embedding's dimensions with replacement (with their
    weights); rows: visual, mixed, semantic; columns: share, low, high.
    """
    labels = _check_labels(labels)
    if not isinstance(n_bootstrap, int | np.integer) or n_bootstrap < 1:
        raise ValueError(f"n_bootstrap: expected an int >= 1, got {n_bootstrap!r}")
    if not 0 < level < 1:
        raise ValueError(f"level: expected a value in (0, 1), got {level}")
    w = np.ones(labels.size) if weights is None else np.asarray(weights, dtype=np.float64)
    point = quality_shares(labels, w).loc[list(RATED_QUALITIES)]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, labels.size, size=(n_bootstrap, labels.size))
    samples = np.stack([_shares(labels[d], w[d]) for d in draws])
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(samples, [tail, 100 - tail], axis=0)
    return pd.DataFrame({"share": point.to_numpy(), "low": low, "high": high}, index=point.index)


def permutation_test(
    labels_a: Sequence[str],
    labels_b: Sequence[str],
    *,
    quality: str = "semantic",
    n_permutations: int = 10_000,
    seed: int = 0,
) -> tuple[float, float]:
    """Two-sided permutation test of the difference in one quality's share (a − b).

    The unclear dimensions are left out (as in the shares); the remaining dimensions of
    both embeddings are pooled and reassigned to the two groups at random. Returns the
    observed difference and the p-value ``(1 + #{|perm| >= |obs|}) / (1 + n)``; both are
    NaN, with a warning, when one side has no dimension left.
    """
    if quality not in RATED_QUALITIES:
        raise ValueError(f"quality: expected one of {RATED_QUALITIES}, got {quality!r}")
    a = _check_labels(labels_a)
    b = _check_labels(labels_b)
    a, b = a[a != "unclear"], b[b != "unclear"]
    if a.size == 0 or b.size == 0:
        warnings.warn(
            "permutation_test: one side has no rated (non-unclear) dimension; the test is "
            "undefined and returns NaN",
            stacklevel=2,
        )
        return float("nan"), float("nan")
    if not isinstance(n_permutations, int | np.integer) or n_permutations < 1:
        raise ValueError(f"n_permutations: expected an int >= 1, got {n_permutations!r}")
    pooled = np.concatenate([a, b]) == quality
    observed = pooled[: a.size].mean() - pooled[a.size :].mean()
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(pooled, (n_permutations, 1)), axis=1)
    diffs = perms[:, : a.size].mean(1) - perms[:, a.size :].mean(1)
    extreme = np.abs(diffs) >= abs(observed) - 1e-12
    return float(observed), float((1 + extreme.sum()) / (1 + n_permutations))


def agreement(labels_a: Sequence[str], labels_b: Sequence[str]) -> dict[str, float]:
    """Share of equal labels and Cohen's κ between two raters of the same dimensions."""
    from sklearn.metrics import cohen_kappa_score

    a, b = _check_labels(labels_a), _check_labels(labels_b)
    if a.size != b.size or a.size == 0:
        raise ValueError("agreement: expected two equally long, non-empty label sequences")
    return {"agreement": float((a == b).mean()), "kappa": float(cohen_kappa_score(a, b))}


def automatic_agreement(
    ratings: pd.DataFrame, session: RatingSession, automatic: Mapping[str, pd.DataFrame]
) -> dict[str, float]:
    """:func:`agreement` of a session's collected ratings (:func:`load_ratings`) with the
    automatic labels of the same dimensions: ``automatic`` maps an embedding's name in the
    session to its rated dimensions (columns ``dimension`` and ``label``)."""
    restored = restore_sources(ratings, session)
    labels = {
        (key, int(d)): label
        for key, table in automatic.items()
        for d, label in zip(table["dimension"], table["label"], strict=True)
    }
    pairs = [
        (str(e), int(d)) for e, d in zip(restored["embedding"], restored["dimension"], strict=True)
    ]
    unrated = sorted(set(pairs) - set(labels))
    if unrated:
        raise ValueError(f"automatic: no label for the rated dimensions {unrated[:3]}")
    return agreement(restored["quality"], [labels[pair] for pair in pairs])


# Shares of several embeddings, and the tables chapter 5 publishes ------------------------

# What each column of chapter 5's `quality_shares` download means.
QUALITY_SHARES_COLUMNS = {
    "embedding": "the embedding rated",
    "weighting": "by count (each dimension counts once) or by importance (each "
    "dimension weighted by its share of the embedding's total weight)",
    "quality": "visual, mixed or semantic (unclear dimensions left out)",
    "share": "share of the rated dimensions with this quality (%)",
    "low": "lower end of its 95 % bootstrap interval over dimensions (%)",
    "high": "upper end of its 95 % bootstrap interval over dimensions (%)",
}


def share_table(
    tables: Mapping[str, pd.DataFrame],
    names: Mapping[str, str],
    *,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """The shares (%) of visual, mixed and semantic dimensions of several embeddings, by
    count and by importance, with their 95 % bootstrap intervals (:func:`bootstrap_shares`,
    every call with ``seed``).

    ``tables`` maps an embedding's key to its rated dimensions (columns ``label`` and
    ``importance``, the dimension's share of the embedding's total weight); ``names``
    maps the key to the name shown. One row per embedding, weighting and quality, the
    columns of :data:`QUALITY_SHARES_COLUMNS`.
    """
    rows = []
    for key, table in tables.items():
        for weighting, w in (("by count", None), ("by importance", table["importance"])):
            boot = bootstrap_shares(table["label"], w, n_bootstrap=n_bootstrap, seed=seed)
            for quality, row in boot.iterrows():
                rows.append(
                    {"embedding": names[key], "weighting": weighting, "quality": quality}
                    | {k: 100 * float(v) for k, v in row.items()}
                )
    return pd.DataFrame(rows, columns=list(QUALITY_SHARES_COLUMNS))


# the embedding every network is tested against (its key), and the column of the difference
HUMAN_REFERENCE = "vice42"
SEMANTIC_GAP = "semantic share, VICE-42 − network (points)"
# What each column of chapter 5's `semantic_share_tests` download means.
SEMANTIC_SHARE_TESTS_COLUMNS = {
    "network": "the network embedding compared with the human VICE-42",
    SEMANTIC_GAP: "VICE-42's semantic share minus the network's (percentage points; shares "
    "by count, unclear left out)",
    "p": "two-sided permutation p-value (dimensions' labels pooled and reassigned)",
}


def semantic_share_tests(
    tables: Mapping[str, pd.DataFrame],
    network_keys: Sequence[str],
    names: Mapping[str, str],
    *,
    n_permutations: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`permutation_test` of the semantic share of the published human VICE-42
    (``tables[HUMAN_REFERENCE]``) against each network in ``network_keys`` (every test
    with ``seed``): one row per network, indexed by its name in ``names``, with the
    difference in percentage points (column `SEMANTIC_GAP`) and the p-value."""
    if HUMAN_REFERENCE not in tables:
        raise ValueError(f"tables: no rated dimensions of {HUMAN_REFERENCE!r} to test against")
    rows = []
    for key in network_keys:
        difference, p = permutation_test(
            tables[HUMAN_REFERENCE]["label"],
            tables[key]["label"],
            n_permutations=n_permutations,
            seed=seed,
        )
        rows.append({"network": names[key], SEMANTIC_GAP: 100 * difference, "p": p})
    return pd.DataFrame(rows, columns=list(SEMANTIC_SHARE_TESTS_COLUMNS)).set_index("network")


# What each column of chapter 5's `quality_shares_by_layer` download means.
SHARES_BY_LAYER_COLUMNS = {
    "layer": "the layer whose picture embedding was fitted and rated",
    "visual": "share of the rated dimensions labelled visual (%)",
    "mixed": "share of the rated dimensions labelled mixed (%)",
    "semantic": "share of the rated dimensions labelled semantic (%)",
    "unclear (of all)": "share of all the layer embedding's dimensions labelled unclear (%)",
    "dimensions": "dimensions the layer's VICE fit kept",
}


def shares_by_layer(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The :func:`quality_shares` (%, by count) of each layer's rated dimensions (``tables``
    maps a layer to its table, column ``label``), one row per layer in the order given,
    with the number of dimensions rated."""
    by_layer = pd.DataFrame(
        {layer: quality_shares(table["label"]) * 100 for layer, table in tables.items()}
    ).T
    by_layer["dimensions"] = [len(t) for t in tables.values()]
    return by_layer


# Labels handed to other chapters --------------------------------------------------------

LABEL_COLUMNS = ("embedding", "dimension", "label")


def save_labels(
    path: str | os.PathLike, labels: pd.DataFrame, *, produced_by: str, parameters: Mapping
) -> Path:
    """Write a table of dimension labels (at least `LABEL_COLUMNS`) as CSV, atomically,
    with a provenance sidecar."""
    from dnnalign_utils.provenance import provenance_record, write_provenance

    missing = [c for c in LABEL_COLUMNS if c not in labels]
    if missing:
        raise ValueError(f"labels: missing columns {missing}")
    _check_labels(labels["label"])
    buffer = io.StringIO()
    labels.to_csv(buffer, index=False, lineterminator="\n")
    path = atomic_write_text(path, buffer.getvalue())
    write_provenance(path, provenance_record(produced_by, parameters=parameters))
    return path


def load_labels(
    path: str | os.PathLike, embedding: str | None = None, n_dims: int | None = None
) -> pd.DataFrame:
    """The labels written by :func:`save_labels` (one embedding's, if named), checked.

    With ``n_dims`` the named embedding must have exactly dimensions 0..n_dims-1 (labels
    of another fit of the same name would otherwise be attached to the wrong columns).
    """
    from dnnalign_utils.data import read_text
    from dnnalign_utils.paths import artefact_hint

    path = Path(path)
    if path.is_dir():
        raise RatingFileError(f"{path}: a folder; expected the dimension labels file (a CSV)")
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no dimension labels (chapter 5 writes them){artefact_hint(path)}"
        )
    text = read_text(path)  # names the line of a byte that is not UTF-8
    if not text.strip():
        raise RatingFileError(
            f"{path}: an empty file; expected the header {','.join(LABEL_COLUMNS)}"
        )
    try:
        table = pd.read_csv(io.StringIO(text))
    except pd.errors.ParserError as err:
        raise RatingFileError(f"{path}: not a readable CSV file ({err})") from None
    missing = [c for c in LABEL_COLUMNS if c not in table]
    if missing:
        raise RatingFileError(f"{path}: missing columns {missing}")
    bad = ~table["label"].isin(QUALITIES)
    if bad.any():
        line = int(np.flatnonzero(bad)[0]) + 2
        raise RatingFileError(f"{path}, line {line}: label {table['label'][bad].iloc[0]!r}")
    if embedding is None:
        return table
    chosen = table[table["embedding"] == embedding].reset_index(drop=True)
    if chosen.empty:
        have = sorted(set(table["embedding"]))
        raise ValueError(f"{path}: no labels for {embedding!r}; have {have}")
    if n_dims is not None and chosen["dimension"].tolist() != list(range(n_dims)):
        raise ValueError(
            f"{path}: labels of {embedding!r} cover {len(chosen)} dimensions; expected "
            f"0..{n_dims - 1}: rerun chapter 5 after chapter 2"
        )
    return chosen
