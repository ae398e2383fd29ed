"""The dimension explorer: every dimension of every embedding, on one card.

`dimension_cards` joins, by embedding and dimension, what the chapters found about a
dimension: its top objects (chapter 2's reading of a dimension), its out-of-fold R²
(chapters 3 and 4), its visual/semantic/mixed/unclear label (chapter 5's automatic
rater) and its best-correlated dimension in the other kind of embedding (human for a
network, network for a human; with chapter 6's one-to-one pair where there is one).
`embedding_figure` draws one embedding's cards as a plotly figure with a dropdown of
its dimensions, which works in a static page; `ExplorerWidget` is the live version with
ipywidgets (embedding and dimension dropdowns), for Jupyter, Binder or Colab.

Dimensions are numbered from 1, in each embedding's order of importance (total
weight), everywhere in this module and in its tables.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dnnalign_utils.conventions import as_float_matrix, check_int, column_correlation, is_integer
from dnnalign_utils.plotting import TITLE_WRAP, wrap_caption

KINDS = ("human", "network")
NOT_RATED = "not rated"
# The counterpart searched for a best match: the paper's pair, human VICE-42 and VGG-16.
DEFAULT_COUNTERPARTS = {"human": "vgg16", "network": "vice42"}
R2_PREFIX = "R² from "


@dataclass(frozen=True)
class ExplorerEmbedding:
    """One embedding for the explorer.

    key: its short name, as chapter 5's labels file spells it ("vice42", "vgg16", ...).
    title: what the page calls it. weights: (n_rows, n_dims), columns in importance order.
    row_names: a name per row (a concept, or a picture). kind: "human" or "network".
    picture_paths: row -> picture file, for the rows that have one.
    concepts: for an embedding of pictures, the THINGS index of each row's concept
    (rows are averaged per concept to compare it with concept embeddings); None when
    row i is concept i.
    """

    key: str
    title: str
    weights: np.ndarray
    row_names: Sequence[str]
    kind: str
    picture_paths: Mapping[int, str | os.PathLike] = field(default_factory=dict)
    concepts: np.ndarray | None = None

    def __post_init__(self) -> None:
        weights = as_float_matrix(self.weights, f"{self.key}: weights")
        n_rows = weights.shape[0]
        if isinstance(self.row_names, (str, bytes)):
            raise ValueError(
                f"{self.key}: row_names is one string {self.row_names!r}; expected a "
                f"sequence of {n_rows} names (one per row of the weights)"
            )
        if len(self.row_names) != n_rows:
            raise ValueError(
                f"{self.key}: row_names has {len(self.row_names)} names, expected "
                f"{n_rows} (one per row of the weights)"
            )
        if self.kind not in KINDS:
            raise ValueError(f"{self.key}: kind {self.kind!r}; expected one of {KINDS}")
        if not weights.any():
            raise ValueError(
                f"{self.key}: weights: every weight is zero; expected an embedding (a failed "
                "or empty fit has no dimension to show)"
            )
        bad_rows = [r for r in self.picture_paths if not (is_integer(r) and 0 <= r < n_rows)]
        if bad_rows:
            raise ValueError(
                f"{self.key}: picture_paths has row {bad_rows[0]!r}; expected rows 0.."
                f"{n_rows - 1} (0-based rows of the weights)"
            )
        if self.concepts is not None:
            concepts = _row_indices(self.concepts, f"{self.key}: concepts")
            if len(concepts) != n_rows:
                raise ValueError(
                    f"{self.key}: concepts has {len(concepts)} entries, expected "
                    f"{n_rows} (one per row)"
                )
            object.__setattr__(self, "concepts", concepts)
        object.__setattr__(self, "weights", weights)

    def concept_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """(weights per concept, the concepts' THINGS indices): the rows themselves, or
        for pictures the mean over each concept's pictures."""
        if self.concepts is None:
            return self.weights, np.arange(self.weights.shape[0])
        codes, concepts = pd.factorize(np.asarray(self.concepts), sort=True)
        sums = np.zeros((concepts.size, self.weights.shape[1]))
        np.add.at(sums, codes, self.weights)
        counts = np.bincount(codes, minlength=concepts.size)[:, None]
        return sums / counts, np.asarray(concepts, dtype=np.int64)


def _shown(value) -> str:
    """A table cell for a message: a string quoted, a number as it prints."""
    return repr(value) if isinstance(value, str) else str(value)


def _row_indices(values, name: str) -> np.ndarray:
    """`values` as non-negative int64 indices; ValueError naming `name` and the first
    entry that is not a whole number >= 0 (NaN, a fraction, a negative index)."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected one index per row (1-D), got shape {array.shape}")
    numeric = pd.to_numeric(pd.Series(array, dtype=object), errors="coerce").to_numpy(float)
    bad = ~np.isfinite(numeric) | (numeric < 0) | (numeric != np.round(numeric))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}: entry {i} is {_shown(array[i])}; expected a non-negative whole number "
            "(a 0-based THINGS index)"
        )
    return numeric.astype(np.int64)


def top_rows(weights: np.ndarray, k: int) -> np.ndarray:
    """(n_dims, k) rows with the largest weights on each dimension, largest first; ties
    broken by row order (as `interpret.top_objects`)."""
    weights = np.asarray(weights, dtype=float)
    k = min(check_int("k", k, 1), weights.shape[0])
    return np.argsort(-weights, axis=0, kind="stable")[:k].T


def best_matches(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each column of `a`, the column of `b` with the largest Pearson r over the
    rows (the same objects in both) and that r. Not one-to-one: two columns of `a` may
    share a best match. A constant column of `b` is never a match."""
    b = np.asarray(b, dtype=float)
    r = column_correlation(np.asarray(a, dtype=float), b)
    # a constant column of `b` (e.g. a dimension pruned to zero) is nobody's match; a
    # column without any candidate gets r = -inf
    r = np.where(np.ptp(b, axis=0)[None, :] > 0, r, -np.inf)
    best = np.argmax(r, axis=1)
    return best, r[np.arange(r.shape[0]), best]


def _short(names: Sequence[str], n: int = 3) -> str:
    return ", ".join(names[:n])


def _match_columns(
    embedding: ExplorerEmbedding,
    by_key: Mapping[str, ExplorerEmbedding],
    counterparts: Mapping[str, str],
    k: int,
) -> dict[str, list]:
    n_dims = embedding.weights.shape[1]
    empty = {
        "match embedding": [""] * n_dims,
        "match dimension": [np.nan] * n_dims,
        "match r": [np.nan] * n_dims,
        "best match": [""] * n_dims,
    }
    other = by_key.get(counterparts.get(embedding.kind, ""))
    if other is None or other.key == embedding.key or other.concepts is not None:
        return empty
    mine, concepts = embedding.concept_weights()
    if concepts.max() >= other.weights.shape[0]:
        raise ValueError(
            f"{embedding.key}: concepts has index {int(concepts.max())}, but its counterpart "
            f"{other.key!r} has {other.weights.shape[0]} rows (one per concept): the two "
            "do not index the same concepts"
        )
    best, r = best_matches(mine, other.weights[concepts])
    other_top = top_rows(other.weights, k)
    # a constant dimension (e.g. one pruned to zero) correlates with nothing: no match
    matched = (np.ptp(mine, axis=0) > 0) & np.isfinite(r)
    return {
        "match embedding": [other.key if m else "" for m in matched],
        "match dimension": [
            float(j + 1) if m else np.nan for j, m in zip(best, matched, strict=True)
        ],
        "match r": [float(v) if m else np.nan for v, m in zip(r, matched, strict=True)],
        "best match": [
            f"{other.title} dim {j + 1}: "
            + _short([str(other.row_names[i]) for i in other_top[j]])
            if m
            else ""
            for j, m in zip(best, matched, strict=True)
        ],
    }


def dimension_cards(
    embeddings: Sequence[ExplorerEmbedding],
    *,
    r2: pd.DataFrame | None = None,
    labels: pd.DataFrame | None = None,
    pairs: pd.DataFrame | None = None,
    k: int = 6,
    counterparts: Mapping[str, str] = DEFAULT_COUNTERPARTS,
) -> pd.DataFrame:
    """One row per (embedding, dimension) with everything the chapters found about it.

    r2: columns embedding, dimension (1-based), predictor, "R² (%)" (chapters 3 and 4);
    one column "R² from <predictor> (%)" per predictor, NaN where not measured.
    labels: chapter 5's automatic labels (embedding, 0-based dimension, label); a
    dimension without a label reads "not rated".
    pairs: chapter 6's matched pairs (columns "human embedding", "human dimension",
    "network embedding", "network dimension", "r (held out)", dimensions 1-based),
    joined in both directions as "chapter 6 pair" and "chapter 6 r (held out)".
    The best match is searched in the embedding `counterparts[kind]` names.
    """
    keys = [e.key for e in embeddings]
    if len(set(keys)) != len(keys):
        raise ValueError(f"embeddings: keys must be unique, got {keys}")
    by_key = {e.key: e for e in embeddings}
    frames = []
    for e in embeddings:
        n_dims = e.weights.shape[1]
        order = top_rows(e.weights, k)
        totals = e.weights.sum(0)
        frame = pd.DataFrame(
            {
                "embedding": e.key,
                "embedding name": e.title,
                "kind": e.kind,
                "dimension": np.arange(1, n_dims + 1),
                "importance (%)": 100 * totals / totals.sum(),
                "top objects": [[str(e.row_names[i]) for i in rows] for rows in order],
                "top rows": [rows.tolist() for rows in order],
                "top weights": [e.weights[rows, d].tolist() for d, rows in enumerate(order)],
                **_match_columns(e, by_key, counterparts, k),
            }
        )
        frames.append(frame)
    cards = pd.concat(frames, ignore_index=True)
    dims = {e.key: e.weights.shape[1] for e in embeddings}
    cards = _join_labels(cards, labels, dims)
    cards = _join_r2(cards, r2, dims)
    return _join_pairs(cards, pairs, by_key, k)


def _dimensions(
    table: pd.DataFrame,
    embedding_column: str,
    column: str,
    dims: Mapping[str, int],
    name: str,
    first: int,
) -> np.ndarray:
    """`table[column]` as int dimensions numbered from `first`, checked: a whole number,
    and for an embedding of `dims` (key -> number of dimensions) within its dimensions
    (a table numbered from the other base would otherwise be joined one dimension off).
    ValueError naming the table `name`, the row and what was expected."""
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    whole = np.isfinite(values) & (values == np.round(values))
    n_dims = table[embedding_column].map(dims).to_numpy(dtype=float)  # NaN: not shown
    last = n_dims - 1 + first
    bad = ~whole | (values < first) | (values > last)  # a NaN bound compares False
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        key = table[embedding_column].iloc[i]
        where = (
            f"{first}..{int(last[i])} ({key!r} has {int(n_dims[i])} dimensions)"
            if key in dims
            else f"a whole number >= {first}"
        )
        raise ValueError(
            f"{name}: row {i}: {column} {_shown(table[column].iloc[i])} of {key!r}; expected "
            f"{where}, "
            f"dimensions numbered from {first}"
        )
    return values.astype(np.int64)


def _join_labels(
    cards: pd.DataFrame, labels: pd.DataFrame | None, dims: Mapping[str, int]
) -> pd.DataFrame:
    if labels is None:
        return cards.assign(quality=NOT_RATED)
    from dnnalign_utils.rating import QUALITIES

    missing = [c for c in ("embedding", "dimension", "label") if c not in labels]
    if missing:
        raise ValueError(f"labels: missing columns {missing}")
    table = labels[["embedding", "dimension", "label"]].reset_index(drop=True)
    unknown = ~table["label"].isin(QUALITIES)
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise ValueError(
            f"labels: row {i}: label {table['label'][i]!r}; expected one of {QUALITIES}"
        )
    table["dimension"] = _dimensions(table, "embedding", "dimension", dims, "labels", first=0) + 1
    if table.duplicated(["embedding", "dimension"]).any():
        raise ValueError("labels: more than one label for an (embedding, dimension)")
    cards = cards.merge(table, on=["embedding", "dimension"], how="left", validate="one_to_one")
    return cards.rename(columns={"label": "quality"}).fillna({"quality": NOT_RATED})


def _join_r2(
    cards: pd.DataFrame, r2: pd.DataFrame | None, dims: Mapping[str, int]
) -> pd.DataFrame:
    if r2 is None or r2.empty:
        return cards
    missing = [c for c in ("embedding", "dimension", "predictor", "R² (%)") if c not in r2]
    if missing:
        raise ValueError(f"r2: missing columns {missing}")
    r2 = r2.reset_index(drop=True)
    r2 = r2.assign(dimension=_dimensions(r2, "embedding", "dimension", dims, "r2", first=1))
    values = pd.to_numeric(r2["R² (%)"], errors="coerce")
    bad = values.isna() & r2["R² (%)"].notna()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"r2: row {i}: R² (%) {r2['R² (%)'][i]!r}; expected a number")
    r2 = r2.assign(**{"R² (%)": values.astype(float)})
    if r2.duplicated(["embedding", "dimension", "predictor"]).any():
        raise ValueError("r2: more than one R² for an (embedding, dimension, predictor)")
    wide = r2.pivot(index=["embedding", "dimension"], columns="predictor", values="R² (%)")
    predictors = list(dict.fromkeys(r2["predictor"]))  # first-seen order
    wide = wide[predictors].rename(columns=lambda p: f"{R2_PREFIX}{p} (%)").reset_index()
    wide.columns.name = None
    wide["dimension"] = wide["dimension"].astype(int)
    return cards.merge(wide, on=["embedding", "dimension"], how="left", validate="one_to_one")


def _join_pairs(
    cards: pd.DataFrame,
    pairs: pd.DataFrame | None,
    by_key: Mapping[str, ExplorerEmbedding],
    k: int,
) -> pd.DataFrame:
    cards = cards.assign(**{"chapter 6 pair": "", "chapter 6 r (held out)": np.nan})
    if pairs is None or pairs.empty:
        return cards
    need = ["human embedding", "human dimension", "network embedding", "network dimension"]
    missing = [c for c in [*need, "r (held out)"] if c not in pairs]
    if missing:
        raise ValueError(f"pairs: missing columns {missing}")
    dims = {key: e.weights.shape[1] for key, e in by_key.items()}
    pairs = pairs.reset_index(drop=True)
    checked = {
        f"{side} dimension": _dimensions(
            pairs, f"{side} embedding", f"{side} dimension", dims, "pairs", first=1
        )
        for side in KINDS
    }
    held_out = pd.to_numeric(pairs["r (held out)"], errors="coerce")
    bad = held_out.isna() & pairs["r (held out)"].notna()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"pairs: row {i}: r (held out) {pairs['r (held out)'][i]!r}; expected a number"
        )
    pairs = pairs.assign(**checked, **{"r (held out)": held_out.astype(float)})
    for side in KINDS:
        twice = pairs.duplicated([f"{side} embedding", f"{side} dimension"], keep=False)
        if twice.any():
            rows = np.flatnonzero(twice)[:2].tolist()
            raise ValueError(
                f"pairs: rows {rows} pair the same {side} dimension "
                f"({pairs[f'{side} embedding'][rows[0]]!r}, "
                f"{pairs[f'{side} dimension'][rows[0]]}); expected one-to-one pairs (one "
                "card shows one pair)"
            )
    keys = zip(cards["embedding"], cards["dimension"], strict=True)
    index = {(e, int(d)): i for i, (e, d) in enumerate(keys)}
    pair_text = cards["chapter 6 pair"].to_list()
    pair_r = cards["chapter 6 r (held out)"].to_numpy(dtype=float).copy()
    for row in pairs.itertuples(index=False):
        values = dict(zip(pairs.columns, row, strict=True))
        ends = [
            (values["human embedding"], int(values["human dimension"])),
            (values["network embedding"], int(values["network dimension"])),
        ]
        for mine, other in (ends, ends[::-1]):
            if mine not in index:
                continue
            partner = by_key.get(other[0])
            if partner is not None and 1 <= other[1] <= partner.weights.shape[1]:
                top = top_rows(partner.weights[:, [other[1] - 1]], k)[0]
                names = _short([str(partner.row_names[i]) for i in top])
                pair_text[index[mine]] = f"{partner.title} dim {other[1]}: {names}"
            else:
                pair_text[index[mine]] = f"{other[0]} dim {other[1]}"
            pair_r[index[mine]] = float(values["r (held out)"])
    return cards.assign(**{"chapter 6 pair": pair_text, "chapter 6 r (held out)": pair_r})


def r2_columns(cards: pd.DataFrame) -> list[str]:
    """The R² columns of a cards table, in their order."""
    return [c for c in cards.columns if c.startswith(R2_PREFIX)]


# The card (the figure's title) wraps at this many characters and the dropdown's labels
# are cut at BUTTON_LABEL, so that both fit a 390 px phone screen.
CARD_WRAP = TITLE_WRAP
CARD_FONT_SIZE = 13
CARD_LINE_PX = 17
MENU_PX = 58  # the dropdown (its foot 40 px from the top) and a gap, above the card
BUTTON_LABEL = 34


def card_text(card: Mapping, width: int | None = None) -> str:
    """The card of one dimension as short HTML lines (for a figure's title or hover),
    each wrapped at `width` characters (None: not wrapped)."""
    lines = [
        f"<b>{card['embedding name']}, dimension {card['dimension']}</b> "
        f"({card['importance (%)']:.1f} % of the weight) · rated <b>{card['quality']}</b>"
    ]
    r2 = [
        f"{column[len(R2_PREFIX) : -4]} {card[column]:.0f} %"
        for column in card.keys()
        if isinstance(column, str) and column.startswith(R2_PREFIX) and pd.notna(card[column])
    ]
    if r2:
        lines.append("R² from " + ", ".join(r2))
    if card.get("best match"):
        other = "network" if card["kind"] == "human" else "human"
        lines.append(f"best {other} match (r = {card['match r']:.2f}): {card['best match']}")
    if card.get("chapter 6 pair"):
        lines.append(
            f"chapter 6 pair (held-out r = {card['chapter 6 r (held out)']:.2f}): "
            f"{card['chapter 6 pair']}"
        )
    if width is not None:
        lines = [wrap_caption(line, width) for line in lines]
    return "<br>".join(lines)


def thumbnail(path: str | os.PathLike, size: int = 48) -> np.ndarray:
    """A picture file as a (size, size, 3) uint8 thumbnail: transparency laid on white,
    the aspect ratio kept and the picture centred on a white square."""
    from PIL import Image, UnidentifiedImageError

    size = check_int("size", size, 1)
    if Path(path).is_dir():
        raise ValueError(f"{path}: is a folder; expected a picture file")
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: picture file not found")
    try:
        with Image.open(path) as image:
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{path}: not a readable picture ({err})") from None
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, rgba).convert("RGB")
    rgb.thumbnail((size, size))
    square = Image.new("RGB", (size, size), (255, 255, 255))
    square.paste(rgb, ((size - rgb.width) // 2, (size - rgb.height) // 2))
    return np.asarray(square)


def thumbnails(
    cards: pd.DataFrame, embeddings: Sequence[ExplorerEmbedding], size: int = 48
) -> dict[tuple[str, int], np.ndarray]:
    """Thumbnails of the pictures of every top row on the cards that has one, keyed by
    (embedding key, row); each file is read once."""
    by_key = {e.key: e for e in embeddings}
    by_path: dict[Path, np.ndarray] = {}
    found = {}
    for key, rows in zip(cards["embedding"], cards["top rows"], strict=True):
        pictures = by_key[key].picture_paths
        for row in rows:
            if row in pictures and (key, row) not in found:
                path = Path(pictures[row])
                if path not in by_path:
                    by_path[path] = thumbnail(path, size)
                found[(key, row)] = by_path[path]
    return found


def strip_uri(tiles: Sequence[np.ndarray | None], size: int) -> str:
    """Thumbnails one above the other (white where None) as one WebP data URI: one small
    file per dimension keeps the page light."""
    from PIL import Image

    strip = np.full((size * len(tiles), size, 3), 255, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        if tile is not None:
            if tile.shape != (size, size, 3):
                raise ValueError(f"tile {i}: expected shape {(size, size, 3)}, got {tile.shape}")
            if tile.dtype != np.uint8:
                raise ValueError(
                    f"tile {i}: expected uint8 pixels 0..255 (as `thumbnail` makes), got dtype "
                    f"{tile.dtype}"
                )
            strip[i * size : (i + 1) * size] = tile
    buffer = io.BytesIO()
    Image.fromarray(strip).save(buffer, format="WEBP", quality=80)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _bar(card: Mapping, visible: bool) -> go.Bar:
    names = card["top objects"]
    return go.Bar(
        x=np.round(card["top weights"], 3),
        y=list(range(len(names))),
        orientation="h",
        visible=visible,
        marker_color="#0072B2" if card["kind"] == "human" else "#E69F00",
        hovertext=[  # short: a page holds thousands of these
            f"{name}<br>weight {w:.3f}" for name, w in zip(names, card["top weights"], strict=True)
        ],
        hoverinfo="text",
        name=f"dimension {card['dimension']}",
        showlegend=False,
    )


def _strip(
    card: Mapping, pictures: Mapping[tuple[str, int], np.ndarray], size: int, visible: bool
) -> go.Image:
    tiles = [pictures.get((card["embedding"], row)) for row in card["top rows"]]
    return go.Image(
        source=strip_uri(tiles, size),
        visible=visible,
        hoverinfo="skip",
        name=f"pictures of dimension {card['dimension']}",
        xaxis="x",
        yaxis="y",
    )


def _state(card: Mapping) -> dict:
    """The layout of one dimension: the title (its card, wrapped to fit a phone) and the
    object names."""
    return {
        "title.text": card_text(card, CARD_WRAP),
        "yaxis2.ticktext": list(card["top objects"]),
        "yaxis2.tickvals": list(range(len(card["top objects"]))),
    }


def _button_label(card: Mapping) -> str:
    label = f"dim {card['dimension']}: {_short(card['top objects'])}"
    return label if len(label) <= BUTTON_LABEL else label[: BUTTON_LABEL - 1] + "…"


def embedding_figure(
    cards: pd.DataFrame,
    embedding: str,
    pictures: Mapping[tuple[str, int], np.ndarray] | None = None,
    *,
    height: int = 600,
) -> go.Figure:
    """One embedding's dimensions: the pictures of a dimension's top objects in a row
    (where the embedding has any), a bar chart of their weights (names on the axis and
    in the hover) and the dimension's card as the title, with a dropdown choosing the
    dimension. Each dimension has its own traces; the dropdown switches their visibility
    and the layout's labels, so it works in a static page."""
    height = check_int("height", height, 200)  # pixels: the card and menu take 100-250
    chosen = cards[cards["embedding"] == embedding].sort_values("dimension")
    if chosen.empty:
        raise ValueError(
            f"embedding {embedding!r}: no cards; embeddings: {sorted(set(cards['embedding']))}"
        )
    pictures = pictures or {}
    records = chosen.to_dict("records")
    with_pictures = any((embedding, row) in pictures for c in records for row in c["top rows"])
    size = next(iter(pictures.values())).shape[0] if with_pictures else 0
    n = len(records)
    traces = [_bar(card, i == 0) for i, card in enumerate(records)]
    if with_pictures:
        traces += [_strip(card, pictures, size, i == 0) for i, card in enumerate(records)]
    for trace in traces[:n]:
        trace.update(xaxis="x2", yaxis="y2")
    fig = go.Figure(traces)
    buttons = []
    for i, card in enumerate(records):
        visible = [j == i for j in range(n)] * (2 if with_pictures else 1)
        buttons.append(
            {
                "label": _button_label(card),
                "method": "update",
                "args": [{"visible": visible}, _state(card)],
            }
        )
    first = _state(records[0])
    k = max(len(card["top objects"]) for card in records)
    bars_end = 0.88 if with_pictures else 1.0
    # px above the plot: the dropdown, then the card (its longest, wrapped)
    card_lines = max(_state(card)["title.text"].count("<br>") + 1 for card in records)
    top = MENU_PX + card_lines * CARD_LINE_PX + 12
    fig.update_layout(
        title={
            "text": first["title.text"],
            "xref": "container",
            "x": 0.01,
            "xanchor": "left",
            "yref": "container",
            "y": 1 - MENU_PX / height,
            "yanchor": "top",
            "pad": {"t": 14},  # plotly draws a title of several lines 14 px too high
            "font": {"size": CARD_FONT_SIZE},
            "automargin": False,
        },
        height=height,
        margin={"t": top, "l": 170, "r": 20},
        # the pictures beside their bars: the same vertical domain, rank i at pixel rows
        # i * size .. (i + 1) * size of the strip
        xaxis={
            "domain": [0.9, 1],
            "anchor": "y",
            "visible": False,
            "range": [-0.5, size - 0.5],
        },
        yaxis={
            "domain": [0, 1],
            "anchor": "x",
            "visible": False,
            "range": [k * size - 0.5, -0.5],
            "scaleanchor": False,
        },
        xaxis2={"domain": [0, bars_end], "anchor": "y2", "title": "weight on the dimension"},
        yaxis2={
            "domain": [0, 1],
            "anchor": "x2",
            "tickmode": "array",
            "tickvals": first["yaxis2.tickvals"],
            "ticktext": first["yaxis2.ticktext"],
            "range": [k - 0.5, -0.5],
        },
        updatemenus=[
            {
                "buttons": buttons,
                "direction": "down",
                # right-aligned with the bars: on a phone the names' margin leaves the
                # menu no room on the left, and a left-aligned menu ran off the screen
                "x": bars_end,
                "xanchor": "right",
                "y": 1.0,
                "yanchor": "bottom",
                "pad": {"b": top - 40},  # the menu's foot 40 px from the top
                "showactive": True,
                "active": 0,
            }
        ],
    )
    return fig


class ExplorerWidget:
    """The live explorer: an embedding dropdown, a dimension dropdown and the selected
    dimension's figure (ipywidgets callbacks need a running kernel, so the static book
    shows `embedding_figure` instead)."""

    def __init__(
        self,
        cards: pd.DataFrame,
        pictures: Mapping[tuple[str, int], np.ndarray] | None = None,
    ) -> None:
        import ipywidgets as widgets

        self.cards = cards
        self.pictures = pictures or {}
        names = dict(zip(cards["embedding"], cards["embedding name"], strict=True))
        self.embedding = widgets.Dropdown(
            options=[(title, key) for key, title in names.items()], description="embedding"
        )
        self.dimension = widgets.Dropdown(description="dimension")
        self.output = widgets.Output()
        self.figure: go.Figure | None = None
        self._set_dimensions()
        self.embedding.observe(lambda _: self._set_dimensions(), names="value")
        self.dimension.observe(lambda _: self.show(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.embedding, self.dimension]), self.output])
        self.show()

    def _set_dimensions(self) -> None:
        chosen = self.cards[self.cards["embedding"] == self.embedding.value]
        self.dimension.options = [
            (_button_label(card), int(card["dimension"])) for card in chosen.to_dict("records")
        ]
        self.dimension.value = int(chosen["dimension"].min())

    def select(self, embedding: str, dimension: int) -> go.Figure:
        """Choose a dimension, as the dropdowns do; returns its figure."""
        chosen = self.cards.loc[self.cards["embedding"] == embedding, "dimension"]
        if chosen.empty:
            raise ValueError(
                f"embedding {embedding!r}: no cards; embeddings: "
                f"{list(dict.fromkeys(self.cards['embedding']))}"
            )
        if dimension not in set(chosen.tolist()):
            raise ValueError(
                f"dimension {dimension!r}: {embedding!r} has dimensions "
                f"{int(chosen.min())}..{int(chosen.max())} (numbered from 1)"
            )
        self.embedding.value = embedding
        self.dimension.value = dimension
        return self.show()

    def show(self) -> go.Figure:
        card = self.cards[
            (self.cards["embedding"] == self.embedding.value)
            & (self.cards["dimension"] == self.dimension.value)
        ]
        self.figure = embedding_figure(card, self.embedding.value, self.pictures)
        self.figure.layout.updatemenus = ()
        self.output.clear_output(wait=True)
        with self.output:
            self.figure.show()
        return self.figure

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


# ---------------------------------------------------------------------------------------
# The book's explorer page: its embeddings, cards and download, read from the chapters
# ---------------------------------------------------------------------------------------

# What each fixed column of a cards table means (the R² columns: `card_columns`).
CARD_COLUMNS = {
    "embedding": "the embedding's key (vice42, spose49, human_spose, vgg16, clip, effnet)",
    "embedding name": "the embedding's name and the chapter it comes from",
    "kind": "human or network",
    "dimension": "the dimension, numbered from 1 in the embedding's order of importance",
    "importance (%)": "the dimension's share of the embedding's total weight, in percent",
    "top objects": "the objects (or pictures) with the largest weights, largest first, "
    "separated by '; '",
    "match embedding": "the embedding searched for its best match (the other kind)",
    "match dimension": "the best-correlated dimension there, numbered from 1",
    "match r": "Pearson r with that dimension over the shared concepts (unitless)",
    "best match": "that dimension with its top objects",
    "quality": "chapter 5's automatic label: visual, mixed, semantic, unclear, or not rated",
    "chapter 6 pair": "the dimension chapter 6's one-to-one matching pairs it with, if any",
    "chapter 6 r (held out)": "that pair's Pearson r on held-out objects (unitless)",
}


def card_columns(cards: pd.DataFrame) -> dict[str, str]:
    """What every column of `cards_table(cards)` means, with its unit: CARD_COLUMNS and
    one entry per R² column ("R² from <predictor> (%)")."""
    meanings = {}
    for column in cards_table(cards).columns:
        if column in CARD_COLUMNS:
            meanings[column] = CARD_COLUMNS[column]
        elif column.startswith(R2_PREFIX):
            predictor = column[len(R2_PREFIX) :].removesuffix(" (%)")
            meanings[column] = (
                f"out-of-fold ridge R² of the dimension from {predictor} (chapters 3 and 4), "
                "in percent; empty: not measured"
            )
        else:
            raise ValueError(f"cards: no meaning known for the column {column!r}")
    return meanings


def cards_table(cards: pd.DataFrame) -> pd.DataFrame:
    """`cards` as a reader's table: the top objects as one string ("a; b; c"), the
    matched dimension as a whole number, without the row indices and weights the figures
    use."""
    table = cards.drop(columns=["top rows", "top weights"], errors="ignore")
    table = table.assign(**{"top objects": table["top objects"].map("; ".join)})
    if "match dimension" in table:  # a dimension number, empty where there is no match
        table["match dimension"] = table["match dimension"].astype("Int64")
    return table


def book_embeddings(profile: str) -> list[ExplorerEmbedding]:
    """The explorer page's embeddings for `profile`, from the chapters' artefacts: the
    published human VICE-42 and SPoSE-49, chapter 2's human SPoSE and VGG-16 stand-in
    embeddings, chapter 5's CLIP embedding (concepts named by `data.concept_names`, so
    homonyms differ), and chapter 2's EfficientNet-Lite0 embedding of the pictures."""
    from dnnalign_utils import data, features, paths, sources
    from dnnalign_utils import embedding as emb

    names = data.concept_names()
    concept_pictures = sources.concept_picture_paths(profile).value
    _, picture_rows = features.load_image_features(paths.image_features(profile), "_avg_pooling")
    concept_level = {
        "vice42": ("human VICE-42 (published)", "human", data.load_human_embedding("vice42")),
        "spose49": ("human SPoSE-49 (published)", "human", data.load_human_embedding("spose49")),
        "human_spose": (
            "human SPoSE (chapter 2)",
            "human",
            emb.load_embedding(paths.human_spose_embedding(profile)).weights,
        ),
        "vgg16": (
            f"{sources.vgg16_label(profile)} (chapter 2)",
            "network",
            emb.load_embedding(paths.network_embedding(profile)).weights,
        ),
        "clip": (
            "CLIP ViT-B/32 (chapter 5)",
            "network",
            emb.load_embedding(paths.clip_embedding(profile)).weights,
        ),
    }
    embeddings = [
        ExplorerEmbedding(
            key,
            title,
            emb.from_published(weights, name=key).weights,  # importance order, as chapter 5
            names,
            kind,
            picture_paths=concept_pictures,
        )
        for key, (title, kind, weights) in concept_level.items()
    ]
    picture_dims = emb.load_embedding(paths.picture_embedding(profile))
    if picture_dims.n_objects != len(picture_rows):
        raise ValueError(
            f"the EfficientNet-Lite0 embedding has {picture_dims.n_objects} pictures, the "
            f"stored features {len(picture_rows)}: rerun chapters 0 and 2 with the same profile"
        )
    embeddings.append(
        ExplorerEmbedding(
            "effnet",
            "EfficientNet-Lite0 (chapter 2, pictures)",
            picture_dims.weights,
            [
                f"{u} ({s})"
                for u, s in zip(picture_rows["uniqueID"], picture_rows["style"], strict=True)
            ],
            "network",
            picture_paths=dict(enumerate(picture_rows["path"])),
            concepts=picture_rows["things_index"].to_numpy(),
        )
    )
    return embeddings


def book_cards(profile: str, embeddings: Sequence[ExplorerEmbedding], k: int = 6) -> pd.DataFrame:
    """`dimension_cards` of `embeddings` with what chapters 3 to 6 wrote for `profile`:
    the R² tables of chapters 3 and 4, chapter 5's labels, chapter 6's matched pairs."""
    from dnnalign_utils import downloads, paths, rating

    r2 = pd.concat(
        [
            downloads.read_table(paths.dimension_r2(profile), ["embedding", "dimension"]),
            downloads.read_table(paths.picture_dimension_r2(profile), ["embedding", "dimension"]),
        ],
        ignore_index=True,
    )
    return dimension_cards(
        embeddings,
        r2=r2[["embedding", "dimension", "predictor", "R² (%)"]],
        labels=rating.load_labels(paths.automatic_labels(profile)),
        pairs=downloads.read_table(paths.matched_pairs(profile)),
        k=k,
    )
