"""plotting: the figure helpers, checked through their traces and layout (the data each
trace shows, in which order, and the marks drawn beside it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dnnalign_utils import curves, plotting


@pytest.fixture
def numbers():
    """Key numbers of two networks as `keynumbers.table` gives them (rows: keys)."""
    return pd.DataFrame(
        {
            "label": ["Net A", "Net B (noto style)"],
            "choice_agreement": [45.0, 38.5],
            "noise_ceiling": [67.2, np.nan],
            "n_dimensions": [65.0, 1.0],
            "rsm_variance_explained": [79.8, 43.0],
            "best_match_r": [0.78, 0.2],
            "global_rsa_r": [0.5, 0.1],
        },
        index=pd.Index(["a", "b"], name="network"),
    )


TICKS = ("Net A", "Net B<br>(noto style)")


def test_network_tick_puts_the_pictures_on_a_second_line():
    assert plotting.network_tick("EfficientNet-Lite0 (noto style)") == (
        "EfficientNet-Lite0<br>(noto style)"
    )
    assert plotting.network_tick("CLIP ViT-B/32") == "CLIP ViT-B/32"


def test_agreement_bars_show_each_network_with_its_ceiling_and_chance(numbers):
    fig = plotting.network_agreement_bars(numbers)
    bars, ceilings = fig.data
    assert bars.type == "bar" and ceilings.type == "scatter"
    assert bars.x == TICKS and bars.y == (45.0, 38.5)
    assert ceilings.x == TICKS and ceilings.y[0] == 67.2 and np.isnan(ceilings.y[1])
    (chance,) = fig.layout.shapes
    assert chance.y0 == chance.y1 == pytest.approx(100 / 3)
    assert fig.layout.yaxis.range == (0, 100)
    assert fig.layout.legend.orientation == "h" and fig.layout.margin.t == 130


def test_embedding_bars_mark_the_papers_vgg16(numbers):
    paper = curves.PAPER_VGG16
    fig = plotting.network_embedding_bars(numbers, paper)
    dims, variance = fig.data
    assert dims.x == variance.x == TICKS
    assert dims.y == (65.0, 1.0) and variance.y == (79.8, 43.0)
    assert (dims.yaxis, variance.yaxis) == ("y", "y2")
    marks = sorted(shape.y0 for shape in fig.layout.shapes)
    assert marks == sorted([paper["dims_kept"], 100 * paper["rsm_variance_explained"]])
    assert fig.layout.yaxis.range == (0, 1.2 * paper["dims_kept"])
    assert fig.layout.yaxis2.range == (0, 100)


def test_r2_boxes_one_box_per_network_in_order():
    r2_long = pd.DataFrame(
        {
            "network key": ["a", "a", "b"],
            "network": ["Net A", "Net A", "Net B (noto style)"],
            "dimension": [1, 2, 1],
            "R² (%)": [50.0, 25.0, 10.0],
        }
    )
    fig = plotting.network_r2_boxes(r2_long, curves.PAPER_VGG16)
    (box,) = fig.data
    assert box.type == "box" and box.boxpoints == "all"
    assert tuple(box.x) == ("Net A", "Net A", "Net B<br>(noto style)")
    assert tuple(box.y) == (50.0, 25.0, 10.0)
    assert fig.layout.shapes[0].y0 == 100 * curves.PAPER_VGG16["r2_min_above"]


def test_quality_bars_stack_the_shares_in_the_qualities_colours():
    shares = pd.DataFrame(
        {"visual": [10.0, 50.0], "mixed": [20.0, 25.0], "semantic": [70.0, 25.0]},
        index=pd.Index(["Net A", "Net B (noto style)"], name="network"),
    )
    fig = plotting.network_quality_bars(shares)
    assert [trace.name for trace in fig.data] == ["visual", "mixed", "semantic"]
    for trace in fig.data:
        assert trace.marker.color == plotting.QUALITY_COLOURS[trace.name]
        assert tuple(trace.x) == TICKS
        assert tuple(trace.y) == tuple(shares[trace.name])
    assert fig.layout.xaxis.categoryarray == TICKS


def test_human_match_bars_group_both_correlations(numbers):
    fig = plotting.network_human_match_bars(numbers)
    best, rsa = fig.data
    assert best.x == rsa.x == TICKS
    assert best.y == (0.78, 0.2) and rsa.y == (0.5, 0.1)
    assert fig.layout.barmode == "group" and fig.layout.yaxis.range == (0, 1)


# ------------------------------------------------ chapters 5 and 6: qualities and drivers


def test_quality_share_bars_show_each_share_with_its_interval_by_weighting():
    from dnnalign_utils.rating import RATED_QUALITIES

    rows = [
        {"embedding": e, "weighting": w, "quality": q, "share": s, "low": s - 5, "high": s + 2}
        for e, base in (("human", 10.0), ("network", 30.0))
        for w in ("by count", "by importance")
        for q, s in zip(RATED_QUALITIES, (base, 20.0, 70.0 - base), strict=True)
    ]
    shares = pd.DataFrame(rows)
    fig = plotting.quality_share_bars(shares)
    assert len(fig.data) == 2 * len(RATED_QUALITIES)  # a bar trace per quality and row
    for trace in fig.data:
        assert trace.type == "bar" and trace.name in RATED_QUALITIES
        assert trace.marker.color == plotting.QUALITY_COLOURS[trace.name]
        assert tuple(trace.x) == ("human", "network")
        np.testing.assert_allclose(trace.error_y.array, [2.0, 2.0])
        np.testing.assert_allclose(trace.error_y.arrayminus, [5.0, 5.0])
    visual = [tuple(t.y) for t in fig.data if t.name == "visual"]
    assert sorted(visual) == [(10.0, 30.0), (10.0, 30.0)]
    assert sorted(a.text for a in fig.layout.annotations) == ["by count", "by importance"]


def test_quality_shares_by_layer_draw_a_line_per_quality_across_the_layers():
    from dnnalign_utils.rating import RATED_QUALITIES

    by_layer = pd.DataFrame(
        {"visual": [90.0, 20.0], "mixed": [10.0, 30.0], "semantic": [0.0, 50.0]},
        index=["early", "penultimate"],
    )
    by_layer["dimensions"] = [12, 30]
    fig = plotting.quality_shares_by_layer(by_layer)
    assert [trace.name for trace in fig.data] == list(RATED_QUALITIES)
    for trace in fig.data:
        assert tuple(trace.x) == ("early", "penultimate")
        assert tuple(trace.y) == tuple(by_layer[trace.name])
        assert trace.line.color == plotting.QUALITY_COLOURS[trace.name]


def test_matched_pair_curves_name_the_pairs_only_on_the_pairs_scores():
    matches = pd.DataFrame(
        {
            "rank": [1, 2],
            "human dim": [3, 0],
            "dnn dim": [1, 2],
            "r (held out)": [0.8, 0.4],
            "r (in sample)": [0.82, 0.45],
            "greedy r (reference)": [0.85, 0.5],
            "null 95 %": [0.1, 0.05],
            "greedy null 95 %": [0.12, 0.08],
        }
    )
    human_labels = ["h0", "h1", "h2", "h3"]
    dnn_labels = ["d0", "d1", "d2"]
    fig = plotting.matched_pair_curves(matches, human_labels, dnn_labels)
    assert tuple(trace.name for trace in fig.data) == plotting.MATCH_SCORES
    for trace in fig.data:
        assert tuple(trace.x) == (1, 2)
        assert tuple(trace.y) == tuple(matches[trace.name])
        hover = [tuple(row) for row in trace.customdata]
        if trace.name in ("r (held out)", "r (in sample)"):
            assert hover == [("h3", "d1"), ("h0", "d2")]
        else:
            assert hover == [("(not a pair)", "(not a pair)")] * 2


def test_driver_bars_show_each_sides_drivers_in_its_colour():
    counts = pd.DataFrame(
        {
            "side": ["human", "human", "dnn"],
            "dimension": ["4: rat", "1: cat", "3: box"],
            "count": [10, 5, 8],
            "share (%)": [50.0, 25.0, 40.0],
        }
    )
    fig = plotting.driver_bars(counts, "VICE-42", "VGG-16 embedding")
    human, dnn = fig.data
    assert (human.name, dnn.name) == ("VICE-42", "VGG-16 embedding")
    assert human.marker.color == plotting.HUMAN_COLOUR and dnn.marker.color == plotting.DNN_COLOUR
    assert tuple(human.y) == ("4: rat", "1: cat") and tuple(human.x) == (50.0, 25.0)
    assert tuple(dnn.y) == ("3: box",) and tuple(dnn.x) == (40.0,)
    assert human.orientation == dnn.orientation == "h"
    assert fig.layout.yaxis.autorange == "reversed" and fig.layout.showlegend is False


def test_driver_quality_bars_stack_the_qualities_of_each_sides_drivers():
    shares = pd.DataFrame(
        {
            "side": ["human", "human", "dnn", "dnn"],
            "quality": ["semantic", "visual", "mixed", "semantic"],
            "count": [9, 1, 4, 6],
            "share (%)": [90.0, 10.0, 40.0, 60.0],
        }
    )
    fig = plotting.driver_quality_bars(shares, "VICE-42", "net")
    assert [trace.name for trace in fig.data] == ["visual", "mixed", "semantic"]
    semantic = fig.data[2]
    assert tuple(semantic.x) == ("VICE-42", "net") and tuple(semantic.y) == (90.0, 60.0)
    for trace in fig.data:
        assert trace.marker.color == plotting.QUALITY_COLOURS[trace.name]


# ------------------------------------------------------- chapter 2: the embedding fits


def test_kept_dimensions_by_epoch_draws_each_fits_history():
    histories = {
        "SPoSE": {"epoch": [1, 2, 3], "n_dims": [100, 60, 52], "loss": [3.0, 2.0, 1.0]},
        "VICE": {"epoch": [1, 2], "n_dims": [100, 8]},
    }
    fig = plotting.kept_dimensions_by_epoch(histories, title="Kept")
    spose, vice = fig.data
    assert (spose.name, vice.name) == ("SPoSE", "VICE")
    assert list(spose.x) == [1, 2, 3] and list(spose.y) == [100, 60, 52]
    assert list(vice.x) == [1, 2] and list(vice.y) == [100, 8]
    assert (spose.line.color, vice.line.color) == (plotting.HUMAN_COLOUR, plotting.DNN_COLOUR)
    assert fig.layout.yaxis.title.text == "kept dimensions"


def test_accuracy_by_training_size_marks_each_reference():
    curve = pd.DataFrame(
        {"training triplets": [100, 200, 400], "accuracy (%)": [50.0, 55.0, 58.0],
         "dimensions": [7, 100, 14]}
    )  # fmt: skip
    references = {"noise ceiling": 67.22, "published SPoSE-49": 62.99}
    fig = plotting.accuracy_by_training_size(curve, references, title="Curve")
    (line,) = fig.data
    assert list(line.x) == [100, 200, 400] and list(line.y) == [50.0, 55.0, 58.0]
    assert fig.layout.xaxis.type == "log"
    assert [(s.y0, s.line.dash) for s in fig.layout.shapes] == [(67.22, "dot"), (62.99, "dash")]
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["noise ceiling 67.2 %", "published SPoSE-49 63.0 %"]


def test_similarity_scatter_shows_matching_pairs_drawn_with_its_seed():
    rng = np.random.default_rng(1)
    network = rng.random((10, 10))
    network = network + network.T  # a similarity matrix (45 distinct pairs)
    embedding = 2 * network + 1  # so each point's y says which pair its x came from
    upper = network[np.triu_indices(10, k=1)]
    fig = plotting.similarity_scatter(network, embedding, label="Net", seed=3, n_pairs=20)
    (points,) = fig.data
    x, y = np.asarray(points.x), np.asarray(points.y)
    assert x.size == 20 and np.unique(x).size == 20  # pairs drawn without replacement
    assert np.isin(x, upper).all()  # upper-triangle pairs only, no diagonal
    np.testing.assert_array_equal(y, 2 * x + 1)  # both coordinates of the same pair
    again = plotting.similarity_scatter(network, embedding, label="Net", seed=3, n_pairs=20)
    np.testing.assert_array_equal(again.data[0].x, x)
    every = plotting.similarity_scatter(network, embedding, label="Net", seed=3)
    assert sorted(every.data[0].x) == sorted(upper)  # fewer pairs than asked: all of them
    assert every.layout.title.text == "Net: similarity structure and its embedding (45 pairs)"


@pytest.fixture
def curve_rows():
    """A curve of two β and two sizes, each fit scored at epochs 20 and at its end."""
    frame = pd.DataFrame(
        {"n_train": [1000, 1000, 2000, 2000] * 2, "beta": [1.0] * 4 + [3.0] * 4,
         "epoch": [20, 60, 20, 60, 20, 55, 20, 60], "final": [False, True] * 4,
         "r2_min": [0.5, 0.5, 0.6, 0.6, 0.7, 0.7, 0.8, 0.8],
         "rsm_variance_explained": [0.7, 0.8, 0.75, 0.85, 0.5, 0.6, 0.6, 0.7],
         "dims_kept": [100, 100, 95, 90, 60, 40, 70, 50],
         "r2_median": [0.6, 0.7, 0.6, 0.72, 0.8, 0.9, 0.8, 0.88],
         "stop_reason": ["", "max_epochs", "", "max_epochs", "", "stability", "", "max_epochs"]}
    )  # fmt: skip
    return frame


def test_curve_ends_by_triplets_puts_each_measure_and_paper_mark_in_its_own_panel(curve_rows):
    paper = curves.PAPER_VGG16
    final = curves.final_rows(curve_rows)
    fig = plotting.curve_ends_by_triplets(final, paper, title="Ends")
    expected = {
        "RSM variance explained (%)": (100 * final["rsm_variance_explained"], 100 * 0.8403),
        "kept dimensions": (final["dims_kept"], paper["dims_kept"]),
        "median ridge R² (%)": (100 * final["r2_median"], 100 * paper["r2_most_above"]),
    }
    marks = {shape.yref: shape.y0 for shape in fig.layout.shapes}
    assert len(fig.data) == 6 and len(marks) == 3  # a line per β and panel, a mark per panel
    for trace in fig.data:
        measure = fig.layout["yaxis" + trace.yaxis[1:]].title.text
        values, mark = expected[measure]
        rows = final["beta"].map("{:g}".format) == trace.name
        assert list(trace.x) == list(final.loc[rows, "n_train"])
        np.testing.assert_allclose(list(trace.y), values[rows].to_numpy())
        assert marks[trace.yaxis] == pytest.approx(mark)  # the paper's mark of this measure


def test_curve_dimensions_by_epoch_has_a_panel_per_size_and_the_papers_count(curve_rows):
    fig = plotting.curve_dimensions_by_epoch(curve_rows, curves.PAPER_VGG16)
    assert len(fig.data) == 4  # two β in each of two panels
    for trace in fig.data:
        size = int(trace.hovertemplate.split("triplets=")[1].split(" ")[0].replace(",", ""))
        beta = curve_rows["beta"].map("{:g}".format) == trace.name
        rows = (curve_rows["n_train"] == size) & beta
        assert list(trace.x) == list(curve_rows.loc[rows, "epoch"])
        assert list(trace.y) == list(curve_rows.loc[rows, "dims_kept"])
    marks = {shape.yref: (shape.y0, shape.line.dash) for shape in fig.layout.shapes}
    assert marks == {"y": (70, "dot"), "y2": (70, "dot")}  # the paper's count in each panel
    assert "paper ~70" in [a.text for a in fig.layout.annotations]


# ------------------------------------------- chapter 4: where in a picture is a dimension


def test_picture_r2_scatter_colours_by_quality_and_marks_75_percent():
    r2 = pd.DataFrame(
        {
            "dimension": [1, 2, 3],
            "R² (%)": [80.0, 40.0, 60.0],
            "quality": ["visual", "semantic", "visual"],
        }
    )
    fig = plotting.picture_r2_scatter(r2, "EfficientNet-Lite0")
    assert {t.name: list(t.y) for t in fig.data} == {"visual": [80.0, 60.0], "semantic": [40.0]}
    assert fig.data[0].marker.color == plotting.QUALITY_COLOURS["visual"]
    assert fig.layout.shapes[0].y0 == 75
    assert "EfficientNet-Lite0" in fig.layout.title.text


def test_cam_grid_blends_each_map_and_resizes_larger_pictures():
    from PIL import Image

    from dnnalign_utils.gradcam import overlay

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(2, 8, 8, 3), dtype=np.uint8)
    cams = rng.uniform(size=(2, 8, 8)).astype(np.float32)
    fig = plotting.cam_grid(rgb, cams, ["a", "b"], 2, title="maps", encoding="png")
    assert [t.name for t in fig.data if t.type == "image"] == ["a", "b"]
    assert any(t.type == "heatmap" and t.showscale for t in fig.data)  # the colour bar
    alone = plotting.cam_grid(rgb[:1], cams[:1], ["a"], 1, title="", encoding="png")
    by_hand = plotting.image_grid(overlay(rgb[0], cams[0])[None], ["a"], 1, encoding="png")
    assert alone.data[0].source == by_hand.data[0].source
    # a picture twice the map's size is resized to it first (a photograph)
    large = np.asarray(Image.fromarray(rgb[0]).resize((16, 16)))
    resized = np.asarray(Image.fromarray(large).resize((8, 8)))
    from_large = plotting.cam_grid([large], cams[:1], ["a"], 1, title="", encoding="png")
    from_resized = plotting.cam_grid([resized], cams[:1], ["a"], 1, title="", encoding="png")
    assert from_large.data[0].source == from_resized.data[0].source
    with pytest.raises(ValueError, match="cams: expected 2 maps"):
        plotting.cam_grid(rgb, cams[:1], ["a", "b"], 2, title="")


def test_object_share_scatter_draws_each_map_against_its_object_area():
    shares = pd.DataFrame({"on the object (%)": [50.0, np.nan], "object area (%)": [25.0, 50.0]})
    fig = plotting.object_share_scatter(shares)
    np.testing.assert_array_equal(fig.data[0].x, [25.0, 50.0])
    np.testing.assert_array_equal(fig.data[0].y, [50.0, np.nan])
    assert (fig.layout.shapes[0].x1, fig.layout.shapes[0].y1) == (100, 100)  # the diagonal


def test_perturbation_curves_figure_plots_the_rescaled_mean_curves():
    # two pictures, orders: map A, two random; each picture predicts 2, its baseline 0
    middle = np.array([[0.4, 1.0, 1.4], [0.8, 1.2, 1.6]])
    deletion = np.stack([np.full((2, 3), 2.0), middle, np.zeros((2, 3))], axis=2)
    insertion = np.stack([np.zeros((2, 3)), 2.0 - middle, np.full((2, 3), 2.0)], axis=2)
    fig = plotting.perturbation_curves_figure(deletion, insertion, ["A"])
    assert len(fig.data) == 4  # two orders, deletion and insertion
    curves = {
        (t.name, "deletion" if "test=deletion" in t.hovertemplate else "insertion"): t
        for t in fig.data
    }
    np.testing.assert_allclose(curves["A", "deletion"].x, [0, 50, 100])
    np.testing.assert_allclose(curves["A", "deletion"].y, [1.0, 0.3, 0.0])
    np.testing.assert_allclose(curves["random order", "deletion"].y, [1.0, 5.2 / 8, 0.0])
    np.testing.assert_allclose(curves["A", "insertion"].y, [0.0, 0.7, 1.0])


def test_randomisation_lines_and_grid():
    from dnnalign_utils.gradcam import overlay

    cascade_table = pd.DataFrame(
        {"randomised down to": ["ridge", "stem"], "Spearman": [0.4, 0.1], "SSIM": [0.5, 0.2]}
    )
    edge_table = cascade_table.assign(Spearman=[1.0, 0.9], SSIM=[1.0, 0.8])
    fig = plotting.randomisation_lines(cascade_table, edge_table)
    lines = {tuple(t.name.split(", ")): t for t in fig.data}
    assert len(fig.data) == 4
    np.testing.assert_allclose(lines["Grad-CAM", "Spearman"].y, [0.4, 0.1])
    np.testing.assert_allclose(lines["input edges (control)", "SSIM"].y, [1.0, 0.8])
    assert list(lines["Grad-CAM", "SSIM"].x) == ["ridge", "stem"]

    rng = np.random.default_rng(0)
    cascade = {name: rng.uniform(size=(2, 8, 8)) for name in ("original", "ridge", "stem")}
    rgb = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    grid = plotting.randomisation_grid(rgb, cascade, title="cascade")
    names = [t.name for t in grid.data if t.type == "image"]
    assert names == ["original", "down to ridge", "down to stem"]
    by_hand = plotting.image_grid(overlay(rgb, cascade["stem"][0])[None], ["x"], 1, encoding="jpg")
    assert grid.data[2].source == by_hand.data[0].source  # the first picture's map


def test_manipulation_heatmap_shows_the_table_around_zero():
    change = pd.DataFrame(
        [[0.5, -1.0], [2.0, 0.0]], index=["greyscale", "blur"], columns=["1 cat", "2 dog"]
    )
    fig = plotting.manipulation_heatmap(change, 4)
    np.testing.assert_allclose(fig.data[0].z, change.to_numpy())
    assert list(fig.data[0].y) == ["greyscale", "blur"] and list(fig.data[0].x) == list(change)
    assert "over 4 manipulated pictures" in fig.layout.title.text
    assert fig.layout.coloraxis.cmid == 0


def test_colour_check_scatter_names_each_dimension():
    colour_r2, grey_change = np.array([0.1, 0.5]), np.array([0.2, 1.2])
    fig = plotting.colour_check_scatter(colour_r2, grey_change, ["1 cat", "2 apple"])
    np.testing.assert_allclose(fig.data[0].x, [10.0, 50.0])
    np.testing.assert_allclose(fig.data[0].y, grey_change)
    assert list(fig.data[0].hovertext) == ["1 cat", "2 apple"]


def test_optimised_pictures_grid_shows_the_top_pictures_above_each_objectives_row():
    import torch

    from dnnalign_utils.actmax import OptimisedPictures

    def run(value):
        pictures = torch.full((3, 3, 8, 8), value)
        return OptimisedPictures(pictures, np.zeros((3, 3)), np.zeros((1, 3)), np.arange(3))

    optimised = {"paper": run(0.2), "value": run(0.8)}
    top = np.random.default_rng(0).integers(0, 256, size=(3, 16, 16, 3), dtype=np.uint8)
    fig = plotting.optimised_pictures_grid(top, optimised, ["cat (a)", "dog (a)", "car (b)"])
    names = [t.name for t in fig.data]
    assert names[:3] == [
        "dim 1: top picture, cat (a)",
        "dim 2: top picture, dog (a)",
        "dim 3: top picture, car (b)",
    ]
    assert names[3:] == [
        f"dim {d}: {label}" for label in ("paper's loss", "plain value") for d in (1, 2, 3)
    ]
    with pytest.raises(ValueError, match="one per top picture"):
        plotting.optimised_pictures_grid(top[:2], optimised, ["cat (a)", "dog (a)"])
