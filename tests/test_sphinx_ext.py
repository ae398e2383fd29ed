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


FA_SCRIPT = (
    'var p={"arrow-up":[384,512,[8593],"f062","M214 41z"],github:[496,512,[],"f09b","M1 2z"]};'
    '(function(){d("fab",p),d("fa-brands",p)});'
    'var p={bars:[448,512,["navicon"],"f0c9","M0 96z"],"arrow-up":[384,512,[],"f062","M9 9z"]};'
    '(function(){d("fas",p),d("fa-solid",p)});'
)


def test_fontawesome_icons_are_read_per_style_with_aliases(ext):
    icons = ext.fontawesome_icons(FA_SCRIPT)
    assert icons[("fab", "github")] == (496, 512, "M1 2z")
    assert icons[("fas", "bars")] == icons[("fas", "navicon")] == (448, 512, "M0 96z")
    assert icons[("fas", "arrow-up")] == (384, 512, "M9 9z")  # the solid one, not the brand's
    assert ("fas", "github") not in icons


def test_icons_are_inlined_and_the_icon_script_dropped(ext):
    icons = ext.fontawesome_icons(FA_SCRIPT)
    page = (
        '<script defer src="../_static/scripts/fontawesome.js?digest=1"></script>\n'
        '<i class="fa-brands fa-github fa-lg" title="GitHub"></i>'
        '<span class="fa-solid fa-bars"></span><i class="fa-solid fa-unknown"></i>'
    )
    new, unknown = ext.inline_icons(page, icons)
    assert "fontawesome.js" not in new
    assert '<svg class="svg-inline--fa fa-brands fa-github fa-lg" title="GitHub"' in new
    assert 'viewBox="0 0 496 512"><path fill="currentColor" d="M1 2z">' in new
    assert 'viewBox="0 0 448 512"' in new and "<span" not in new
    assert unknown == ["fa-solid fa-unknown"] and '<i class="fa-solid fa-unknown"></i>' in new


def test_css_icon_codepoints_leave_out_the_icon_class_rules(ext):
    css = (
        '.fa-github:before{content:"\\f09b"}.fa-a:before,.fa-b:before{content:"\\f000"}'
        ':root{--pst-icon-download:"\uf019"}'
        "a.download:before{content:var(--pst-icon-download)}"
        '@media print{.x:after{content:"\\f35d"}}'
    )
    assert ext.css_icon_codepoints(css) == {0xF019, 0xF35D}
