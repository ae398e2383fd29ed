"""keynumbers: the book's own network's measures set beside the paper's VGG-16 (the
chapter-7 table), each at its own precision."""

from __future__ import annotations

import pandas as pd

from dnnalign_utils import curves, keynumbers


def test_measures_next_to_paper_show_each_number_at_its_precision():
    row = pd.Series(
        {
            "label": "stand-in",
            "n_dimensions": 65.0,
            "rsm_variance_explained": 79.82622997670103,
            "r2_min": 45.95832297790665,
            "best_match_r": 0.7814399451060764,
        }
    )
    table = keynumbers.measures_next_to_paper(row, curves.PAPER_VGG16, "VGG-16 stand-in")
    assert table.index.name == "measure"
    assert list(table.columns) == [
        "ours (VGG-16 stand-in)",
        "paper (VGG-16, photos)",
        "paper's mark reads",
    ]
    # reference: the numbers formatted by hand (counts whole, % to 0.1, r to 0.01)
    assert table.to_dict("index") == {
        "kept dimensions": {
            "ours (VGG-16 stand-in)": "65",
            "paper (VGG-16, photos)": "70",
            "paper's mark reads": "about",
        },
        "RSM variance explained (%)": {
            "ours (VGG-16 stand-in)": "79.8",
            "paper (VGG-16, photos)": "84.0",
            "paper's mark reads": "",
        },
        "lowest ridge R² (%)": {
            "ours (VGG-16 stand-in)": "46.0",
            "paper (VGG-16, photos)": "75.0",
            "paper's mark reads": "above",
        },
        "best-matched pair with human dimensions (Pearson r)": {
            "ours (VGG-16 stand-in)": "0.78",
            "paper (VGG-16, photos)": "0.80",
            "paper's mark reads": "about",
        },
    }
