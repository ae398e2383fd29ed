"""The dimension explorer: cards joined correctly by dimension, a static dropdown figure
with one trace per dimension, hover texts that name objects, and the live widget."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dnnalign_utils import explorer, plotting

N_CONCEPTS = 12
COUNTERPARTS = {"human": "n", "network": "h"}


def _weights(rng, n_rows, n_dims):
    w = rng.gamma(1.0, 1.0, size=(n_rows, n_dims))
    w[rng.random(w.shape) < 0.3] = 0.0
    w[3, 0] = w[5, 0] = w[:, 0].max() + 1  # a tie: row order decides
    return w


@pytest.fixture
def toy(tmp_path):
    rng = np.random.default_rng(0)
    names = [f"concept{i}" for i in range(N_CONCEPTS)]
    picture_files = {}
    for row in (3, 5, 7):
        path = tmp_path / f"p{row}.png"
        Image.new("RGBA", (64, 32), (255, 0, 0, 128)).save(path)
        picture_files[row] = path
    concepts = np.array([0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11])
    human = explorer.ExplorerEmbedding(
        "h", "human H", _weights(rng, N_CONCEPTS, 3), names, "human", picture_files
    )
    network = explorer.ExplorerEmbedding(
        "n", "network N", _weights(rng, N_CONCEPTS, 4), names, "network"
    )
    pictures = explorer.ExplorerEmbedding(
        "p",
        "pictures P",
        _weights(rng, concepts.size, 2),
        [f"pic{i}" for i in range(concepts.size)],
        "network",
        concepts=concepts,
    )
    return human, network, pictures


def _slow_top(weights, k):
    return [
        sorted(range(weights.shape[0]), key=lambda i: (-weights[i, d], i))[:k]
        for d in range(weights.shape[1])
    ]


def _slow_best(a, b):
    best = []
    for i in range(a.shape[1]):
        rs = [
            np.corrcoef(a[:, i], b[:, j])[0, 1] if a[:, i].std() and b[:, j].std() else 0.0
            for j in range(b.shape[1])
        ]
        best.append((int(np.argmax(rs)), float(max(rs))))
    return best


def test_top_objects_match_a_slow_reference_ties_by_row_order(toy):
    cards = explorer.dimension_cards(toy, k=4)
    for e in toy:
        chosen = cards[cards["embedding"] == e.key].sort_values("dimension")
        expected = _slow_top(e.weights, 4)
        assert chosen["top rows"].tolist() == expected
        assert chosen["top objects"].tolist() == [[e.row_names[i] for i in t] for t in expected]
        assert chosen["dimension"].tolist() == list(range(1, e.weights.shape[1] + 1))
        np.testing.assert_allclose(chosen["importance (%)"].sum(), 100)
    assert cards.iloc[0]["top rows"][:2] == [3, 5]  # the planted tie


def test_best_matches_against_a_slow_reference_and_through_concept_means(toy):
    human, network, pictures = toy
    cards = explorer.dimension_cards(toy, counterparts=COUNTERPARTS)
    cards = cards.set_index(["embedding", "dimension"])
    for d, (j, r) in enumerate(_slow_best(human.weights, network.weights)):
        assert cards.loc[("h", d + 1), "match embedding"] == "n"
        assert cards.loc[("h", d + 1), "match dimension"] == j + 1
        assert cards.loc[("h", d + 1), "match r"] == pytest.approx(r)
        assert cards.loc[("h", d + 1), "best match"].startswith(f"network N dim {j + 1}: ")
    means = np.stack(
        [pictures.weights[pictures.concepts == c].mean(0) for c in range(N_CONCEPTS)]
    )  # every concept has at least one picture here
    for d, (j, r) in enumerate(_slow_best(means, human.weights)):
        assert cards.loc[("p", d + 1), "match embedding"] == "h"
        assert cards.loc[("p", d + 1), "match dimension"] == j + 1
        assert cards.loc[("p", d + 1), "match r"] == pytest.approx(r)


def test_a_known_match_is_recovered():
    rng = np.random.default_rng(1)
    human = rng.random((50, 3))
    network = np.column_stack([rng.random(50), human[:, 2] + 0.01 * rng.random(50)])
    best, r = explorer.best_matches(human, network)
    assert best[2] == 1 and r[2] > 0.99


def test_r2_labels_and_pairs_are_joined_by_embedding_and_dimension(toy):
    r2 = pd.DataFrame(
        {
            "embedding": ["n", "h", "h", "n", "p"],
            "dimension": [4, 1, 3, 1, 2],
            "predictor": ["VGG", "VGG", "words", "VGG", "pooled"],
            "R² (%)": [40.0, 11.0, 33.0, 10.0, 22.0],
        }
    ).sample(frac=1, random_state=0)
    labels = pd.DataFrame(
        {
            "embedding": ["h", "n", "h"],
            "dimension": [2, 0, 0],
            "label": ["visual", "mixed", "semantic"],
        }
    )
    pairs = pd.DataFrame(
        {
            "human embedding": ["h"],
            "human dimension": [2],
            "network embedding": ["n"],
            "network dimension": [3],
            "r (held out)": [0.42],
        }
    )
    cards = explorer.dimension_cards(
        toy, r2=r2, labels=labels, pairs=pairs, counterparts=COUNTERPARTS
    )
    cards = cards.set_index(["embedding", "dimension"])
    assert sorted(explorer.r2_columns(cards)) == [
        "R² from VGG (%)",
        "R² from pooled (%)",
        "R² from words (%)",
    ]
    assert cards.loc[("n", 4), "R² from VGG (%)"] == 40.0
    assert cards.loc[("h", 3), "R² from words (%)"] == 33.0
    assert np.isnan(cards.loc[("h", 3), "R² from VGG (%)"])
    assert cards.loc[("p", 2), "R² from pooled (%)"] == 22.0
    assert cards.loc[("h", 3), "quality"] == "visual"  # 0-based label 2 -> dimension 3
    assert cards.loc[("h", 1), "quality"] == "semantic"
    assert cards.loc[("n", 1), "quality"] == "mixed"
    assert cards.loc[("h", 2), "quality"] == explorer.NOT_RATED
    assert cards.loc[("h", 2), "chapter 6 pair"].startswith("network N dim 3: ")
    assert cards.loc[("n", 3), "chapter 6 pair"].startswith("human H dim 2: ")
    assert cards.loc[("n", 3), "chapter 6 r (held out)"] == 0.42
    assert cards.loc[("n", 1), "chapter 6 pair"] == ""
    text = explorer.card_text(cards.reset_index().iloc[2])
    assert "human H, dimension 3" in text and "rated <b>visual</b>" in text
    assert "words 33 %" in text and "best network match" in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": pd.DataFrame({"embedding": ["h"], "dimension": [0]})}, "labels: missing"),
        (
            {
                "labels": pd.DataFrame(
                    {"embedding": ["h", "h"], "dimension": [0, 0], "label": ["visual"] * 2}
                )
            },
            "more than one label",
        ),
        ({"r2": pd.DataFrame({"embedding": ["h"], "dimension": [1]})}, "r2: missing"),
        ({"pairs": pd.DataFrame({"human embedding": ["h"]})}, "pairs: missing"),
    ],
)
def test_bad_tables_are_refused(toy, kwargs, message):
    with pytest.raises(ValueError, match=message):
        explorer.dimension_cards(toy, **kwargs)


def test_bad_embeddings_are_refused():
    with pytest.raises(ValueError, match="row_names has 1 names, expected 2"):
        explorer.ExplorerEmbedding("x", "X", np.ones((2, 1)), ["a"], "human")
    with pytest.raises(ValueError, match="kind 'robot'"):
        explorer.ExplorerEmbedding("x", "X", np.ones((1, 1)), ["a"], "robot")
    one = explorer.ExplorerEmbedding("x", "X", np.ones((1, 1)), ["a"], "human")
    with pytest.raises(ValueError, match="keys must be unique"):
        explorer.dimension_cards([one, one])


def test_thumbnails_are_small_squares_of_the_pictures_read_once(toy):
    cards = explorer.dimension_cards(toy, k=3)
    pictures = explorer.thumbnails(cards, toy, size=16)
    shown = {("h", r) for rows in cards.loc[cards["embedding"] == "h", "top rows"] for r in rows}
    assert set(pictures) == shown & {("h", 3), ("h", 5), ("h", 7)}
    tile = next(iter(pictures.values()))
    assert tile.shape == (16, 16, 3) and tile.dtype == np.uint8
    assert (tile[0, 8] == 255).all()  # 64 x 32 picture: centred, white above and below
    assert tile[8, 8, 0] == 255 and 100 < tile[8, 8, 1] < 160  # half-transparent red on white


def test_a_strip_puts_the_tiles_one_above_the_other():
    red = np.zeros((8, 8, 3), dtype=np.uint8)
    red[..., 0] = 255
    uri = explorer.strip_uri([red, None, red], 8)
    assert uri.startswith("data:image/webp;base64,")
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as image:
        strip = np.asarray(image.convert("RGB")).astype(int)
    assert strip.shape == (24, 8, 3)
    assert strip[4, 4, 0] > 200 and strip[4, 4, 1] < 60  # red
    assert (strip[12, 4] > 200).all()  # white where there is no picture
    assert strip[20, 4, 0] > 200 and strip[20, 4, 1] < 60
    with pytest.raises(ValueError, match=r"tile 0: expected shape \(8, 8, 3\)"):
        explorer.strip_uri([np.zeros((4, 4, 3), dtype=np.uint8)], 8)


def test_the_static_figure_has_one_trace_set_per_dimension_and_a_dropdown(toy):
    cards = explorer.dimension_cards(toy, k=3)
    pictures = explorer.thumbnails(cards, toy, size=16)
    fig = explorer.embedding_figure(cards, "n", pictures)  # no pictures: bars only
    n_dims = toy[1].weights.shape[1]
    assert len(fig.data) == n_dims
    assert [t.visible for t in fig.data] == [True] + [False] * (n_dims - 1)
    (menu,) = fig.layout.updatemenus
    assert len(menu.buttons) == n_dims
    chosen = cards[cards["embedding"] == "n"].to_dict("records")
    for i, (button, card) in enumerate(zip(menu.buttons, chosen, strict=True)):
        assert button.method == "update"
        visible, layout = button.args
        assert visible["visible"] == [j == i for j in range(n_dims)]
        assert layout["title.text"] == explorer.card_text(card, explorer.CARD_WRAP)
        assert layout["yaxis2.ticktext"] == card["top objects"]
        assert button.label.startswith(f"dim {i + 1}: {card['top objects'][0]}")
        for name, hover in zip(card["top objects"], fig.data[i].hovertext, strict=True):
            assert hover.startswith(f"{name}<br>weight ")
        np.testing.assert_allclose(fig.data[i].x, card["top weights"], atol=5e-4)
    assert fig.layout.title.text == explorer.card_text(chosen[0], explorer.CARD_WRAP)
    with pytest.raises(ValueError, match="no cards"):
        explorer.embedding_figure(cards, "nothing")


def test_with_pictures_each_dimension_adds_its_picture_strip(toy):
    cards = explorer.dimension_cards(toy, k=3)
    pictures = explorer.thumbnails(cards, toy, size=16)
    fig = explorer.embedding_figure(cards, "h", pictures)
    n_dims = toy[0].weights.shape[1]
    bars, strips = fig.data[:n_dims], fig.data[n_dims:]
    assert [t.type for t in bars] == ["bar"] * n_dims
    assert [t.type for t in strips] == ["image"] * n_dims
    assert all(t.source.startswith("data:image/webp;base64,") for t in strips)
    chosen = cards[cards["embedding"] == "h"].to_dict("records")
    for i, (button, card) in enumerate(
        zip(fig.layout.updatemenus[0].buttons, chosen, strict=True)
    ):
        visible, layout = button.args
        assert visible["visible"] == [j == i for j in range(n_dims)] * 2
        assert layout["yaxis2.ticktext"] == card["top objects"]
        # rank r of the bars (y2 = r) sits beside pixel rows 16 r .. 16 (r + 1) of the strip
        with Image.open(io.BytesIO(base64.b64decode(strips[i].source.split(",", 1)[1]))) as im:
            strip = np.asarray(im.convert("RGB")).astype(int)
        assert strip.shape == (16 * 3, 16, 3)
        for rank, row in enumerate(card["top rows"]):
            tile = strip[16 * rank + 8, 8]
            has_picture = ("h", row) in pictures
            assert (tile[1] < 200) == has_picture, (i, rank, tile)  # red-ish vs white
    assert tuple(fig.layout.yaxis.range) == (16 * 3 - 0.5, -0.5)
    assert tuple(fig.layout.yaxis2.range) == (3 - 0.5, -0.5)
    assert fig.layout.yaxis.domain == fig.layout.yaxis2.domain


def test_the_live_widget_follows_its_dropdowns(toy):
    cards = explorer.dimension_cards(toy, k=3)
    widget = explorer.ExplorerWidget(cards)
    assert widget.embedding.value == "h" and widget.dimension.value == 1
    fig = widget.select("n", 3)
    card = cards[(cards["embedding"] == "n") & (cards["dimension"] == 3)].iloc[0]
    assert fig.layout.title.text == explorer.card_text(card, explorer.CARD_WRAP)
    assert len(fig.data) == 1 and not fig.layout.updatemenus
    widget.embedding.value = "p"  # choosing an embedding offers its dimensions
    assert [v for _, v in widget.dimension.options] == [1, 2]
    assert "pictures P, dimension 1" in widget.figure.layout.title.text


def test_picture_grid_hover_names_each_picture():
    pictures = np.zeros((5, 4, 4, 3), dtype=np.uint8)
    captions = [f"apple {i} (noto)" for i in range(4)] + ["odd %{x} name"]
    fig = plotting.image_grid(pictures, captions, 2)
    assert len(fig.data) == len(captions)
    for trace, caption in zip(fig.data, captions, strict=True):
        assert trace.hovertemplate.startswith(caption.replace("%{", "% {"))
        assert "%{x}" not in trace.hovertemplate and "color" not in trace.hovertemplate
        # the caption above the picture sits on the trace's own axes
        axis = fig.layout[trace.xaxis.replace("x", "xaxis")]
        (note,) = [a for a in fig.layout.annotations if a.text == plotting.wrap_caption(caption)]
        assert axis.domain[0] <= note.x <= axis.domain[1]
        yaxis = fig.layout[trace.yaxis.replace("y", "yaxis")]
        assert note.y == pytest.approx(yaxis.domain[1])


def test_the_cards_table_joins_top_objects_and_every_column_is_described(toy):
    human, network, pictures = toy
    cards = explorer.dimension_cards(
        [human, network, pictures],
        r2=pd.DataFrame(
            {"embedding": ["h"], "dimension": [1], "predictor": ["net X"], "R² (%)": [50.0]}
        ),
        k=3,
        counterparts={"human": "n", "network": "h"},
    )
    table = explorer.cards_table(cards)
    assert "top rows" not in table and "top weights" not in table
    assert table.loc[0, "top objects"] == "; ".join(cards.loc[0, "top objects"])
    meanings = explorer.card_columns(cards)
    assert list(meanings) == list(table.columns)
    assert "from net X" in meanings["R² from net X (%)"]
    with pytest.raises(ValueError, match="no meaning known for the column 'extra'"):
        explorer.card_columns(cards.assign(extra=1))


def test_static_figure_fits_a_phone(toy):
    """The card wraps (each line at most CARD_WRAP characters, tags aside), the top
    margin holds the longest card, and the dropdown, cut short, hangs from the right."""
    import re

    cards = explorer.dimension_cards(toy, k=3)
    fig = explorer.embedding_figure(cards, "n")
    menu = fig.layout.updatemenus[0]
    assert menu.xanchor == "right"
    assert all(len(b.label) <= explorer.BUTTON_LABEL for b in menu.buttons)
    most = 0
    for button in menu.buttons:
        lines = button.args[1]["title.text"].split("<br>")
        most = max(most, len(lines))
        for line in lines:
            plain = re.sub(r"<[^>]+>", "", line)
            assert len(plain) <= explorer.CARD_WRAP or " " not in plain, plain
    assert fig.layout.margin.t >= explorer.MENU_PX + most * explorer.CARD_LINE_PX


def test_picture_grid_title_stands_above_the_captions_and_a_colour_bar_is_optional():
    pictures = np.zeros((4, 4, 4, 3), dtype=np.uint8)
    captions = ["dim 1 (semantic): a rather long caption"] * 4
    title = "Grad-CAM of single network dimensions on their top pictures, and more"
    fig = plotting.image_grid(pictures, captions, 2, title=title)
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) > 1 and all(len(line) <= plotting.TITLE_WRAP for line in lines)
    caption_lines = max(a.text.count("<br>") + 1 for a in fig.layout.annotations)
    below_title = fig.layout.margin.t - len(lines) * (plotting.TITLE_FONT_SIZE + 5)
    assert below_title >= caption_lines * (plotting.CAPTION_FONT_SIZE + 3)
    assert not any(t.type == "heatmap" for t in fig.data)
    with_bar = plotting.image_grid(
        pictures, captions, 2, title=title, colour_bar=plotting.GRADCAM_COLOUR_BAR
    )
    bars = [t for t in with_bar.data if t.type == "heatmap"]
    assert len(bars) == 1 and bars[0].showscale and bars[0].colorbar.orientation == "h"
