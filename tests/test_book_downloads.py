"""In the built smoke book, every chapter's download links resolve to real files, and the
explorer page has one dropdown figure per embedding."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from conftest import REPO_ROOT

from dnnalign_utils import book

EXPLORER_EMBEDDINGS = 6


class _DownloadLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and "download" in (attributes.get("class") or "").split():
            self.hrefs.append(attributes["href"])


def download_links(page: Path) -> list[str]:
    parser = _DownloadLinks()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.hrefs


def check_downloads(html_dir: Path) -> dict[str, list[str]]:
    """Per chapter page, its download links; every one must name an existing file in the
    HTML output (what a reader of the static book gets when clicking it)."""
    found = {}
    for stem in book.toc_notebooks(REPO_ROOT):
        page = html_dir / "notebooks" / f"{stem}.html"
        hrefs = download_links(page)
        assert hrefs, f"{page.name}: no download links"
        for href in hrefs:
            target = (page.parent / unquote(href)).resolve()
            assert target.is_file() and target.stat().st_size > 0, (page.name, href)
            assert "_downloads" in target.parts, (page.name, href)
        names = {Path(unquote(h)).name for h in hrefs}
        data = [n for n in names if n.endswith((".csv", ".npy"))]
        assert data and all(f"{n}.provenance.json" in names for n in data), page.name
        found[stem] = hrefs
    return found


def test_every_chapter_links_its_downloads_to_real_files(smoke_book):
    assert smoke_book.returncode == 0, smoke_book.log[-5000:]
    found = check_downloads(smoke_book.html_dir)
    assert any(h.endswith("human_spose.npy") for h in found["02_embedding_fit"])
    assert {Path(unquote(h)).name for h in found["00_data"]} >= {"concepts.csv", "pictures.csv"}


def test_the_explorer_page_has_a_dropdown_figure_per_embedding(smoke_book):
    assert smoke_book.returncode == 0, smoke_book.log[-5000:]
    html = (smoke_book.html_dir / "notebooks" / "08_explorer.html").read_text(encoding="utf-8")
    assert html.count("Plotly.newPlot") == EXPLORER_EMBEDDINGS
    assert len(re.findall(r'"updatemenus":\[\{"active":0,"buttons"', html)) == EXPLORER_EMBEDDINGS
