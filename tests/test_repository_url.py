"""The repository's address is written once, `repository.url` in `_config.yml`: Jupyter
Book's launch, repository and issue buttons read it there, the Colab set-up cell is
made from it, CITATION.cff (a static file) must agree, and the README gives the book's
GitHub Pages address derived from it."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import REPO_ROOT, tracked_files

from dnnalign_utils import book

# Files that may spell the address out: the one place, the static citation file, and the
# paired notebooks (their Colab cell is written from the one place; a test keeps them equal).
MAY_SPELL_IT = {"_config.yml", "CITATION.cff"}


def test_citation_file_names_the_configured_repository():
    citation = yaml.safe_load((REPO_ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["repository-code"] == book.repository_url()


def test_colab_cell_clones_the_configured_repository():
    assert f'"{book.repository_url()}"' in book.COLAB_SETUP_CELL


def test_buttons_read_the_configured_repository():
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["html"]["use_issues_button"] and config["html"]["use_repository_button"]
    assert config["launch_buttons"]["binderhub_url"] and config["launch_buttons"]["colab_url"]
    assert config["repository"]["branch"] == "main"


def test_readme_gives_the_pages_address_of_the_repository():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"<{book.pages_url(book.repository_url())}>" in readme


def test_pages_address_follows_github_pages():
    assert book.pages_url("https://github.com/lab/book") == "https://lab.github.io/book/"
    assert book.pages_url("https://github.com/Some-Lab/Book") == "https://some-lab.github.io/Book/"
    assert book.pages_url("https://github.com/Lab/lab.github.io") == "https://lab.github.io/"


def test_repository_url_must_be_configured(tmp_path):
    (tmp_path / "_config.yml").write_text("title: x\n")
    with pytest.raises(book.BookBuildError, match="repository.url must be a GitHub address"):
        book.repository_url(tmp_path)


def test_no_other_file_spells_the_address_out():
    owner_and_name = book.repository_url().removeprefix("https://github.com/")
    pattern = re.compile(r"github\.com/" + re.escape(owner_and_name), re.IGNORECASE)
    found = []
    for name in tracked_files():
        path = REPO_ROOT / name
        if name in MAY_SPELL_IT or name.endswith(".ipynb") or not path.is_file():
            continue
        if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
            found.append(name)
    assert not found, f"the repository address is written outside _config.yml in {found}"
