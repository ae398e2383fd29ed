"""The book's Sphinx extension (book/_ext/dnnalign_sphinx.py), without building a book."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from pybtex.database import parse_string

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ext():
    path = REPO_ROOT / "book" / "_ext" / "dnnalign_sphinx.py"
    spec = importlib.util.spec_from_file_location("dnnalign_sphinx", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_author_year_labels_of_the_book_bibliography(ext):
    bib = parse_string((REPO_ROOT / "references.bib").read_text(encoding="utf-8"), "bibtex")
    labels = {key: ext.author_year_label(entry) for key, entry in bib.entries.items()}
    assert labels["mahner2025dimensions"] == "Mahner et al. 2025"
    assert labels["simonyan2015vgg"] == "Simonyan & Zisserman 2015"
    assert labels["mahner2025code"] == "Mahner 2025"
    assert labels["gildenblat2021pytorchgradcam"] == "Gildenblat et al. 2021"  # "and others"


def test_equal_labels_get_letters(ext):
    bib = parse_string(
        "@misc{a, author={Doe, Jane}, year={2020}}\n@misc{b, author={Doe, Jane}, year={2020}}",
        "bibtex",
    )
    style = ext.AuthorYearLabelStyle()
    assert list(style.format_labels(bib.entries.values())) == ["Doe 2020a", "Doe 2020b"]


def test_accents_are_decoded(ext):
    assert ext._plain('G{\\"u}{\\c{c}}l{\\"u}') == "Güçlü"


def test_plotly_json_is_dropped_only_beside_html(ext):
    both = {"text/html": "<div>Plotly.newPlot</div>", ext.PLOTLY_MIMETYPE: {"data": []}}
    alone = {ext.PLOTLY_MIMETYPE: {"data": []}}
    nb = {"cells": [{"outputs": [{"data": both}, {"data": alone}]}]}
    out = json.loads(ext.drop_plotly_json_beside_html(json.dumps(nb)))
    first, second = out["cells"][0]["outputs"]
    assert list(first["data"]) == ["text/html"]
    assert ext.PLOTLY_MIMETYPE in second["data"]  # a figure without HTML still warns
    plain = json.dumps({"cells": []})
    assert ext.drop_plotly_json_beside_html(plain) == plain
