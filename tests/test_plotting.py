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
