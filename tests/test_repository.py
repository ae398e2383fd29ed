"""The repository stands alone: no machine paths, no files from outside it, and a
CONTRIBUTING.md layout that names exactly the package's modules."""

from __future__ import annotations

import re

from conftest import REPO_ROOT, tracked_files

# Built so that this file does not match its own patterns.
FORBIDDEN = {
    "a reference to the removed notes file": re.compile("paper" + "_methods"),
    "an absolute machine path": re.compile("/" + r"work/"),
    "an environment default that is an absolute path": re.compile(r"environ\.get\([^)]*, *[\"']/"),
    "a path outside the repository": re.compile(r"\.\./" + "shared/"),
}


def _tracked_text_files() -> list:
    files = []
    for name in tracked_files():
        path = REPO_ROOT / name
        if not path.is_file():
            continue
        head = path.read_bytes()[:8192]
        if b"\0" in head:  # binary
            continue
        files.append(path)
    return files


def test_no_tracked_file_names_a_machine_path_or_an_outside_file():
    found = []
    for path in _tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for what, pattern in FORBIDDEN.items():
                if pattern.search(line):
                    rel = path.relative_to(REPO_ROOT)
                    found.append(f"{rel}:{number}: {what}: {line.strip()[:100]}")
    assert not found, "\n".join(found)


def test_contributing_layout_lists_exactly_the_modules():
    text = (REPO_ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    layout = text.split("## Layout and ownership", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`dnnalign_utils/(\w+)\.py`", layout))
    existing = {p.stem for p in (REPO_ROOT / "dnnalign_utils").glob("*.py")}
    assert listed - existing == set(), f"listed but missing: {sorted(listed - existing)}"
    assert existing - listed == set(), f"not listed: {sorted(existing - listed)}"


def test_methods_page_is_in_the_about_part_before_how_to_run():
    import yaml

    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text(encoding="utf-8"))
    about = next(part for part in toc["parts"] if part.get("caption") == "About")
    files = [entry["file"] for entry in about["chapters"]]
    assert files.index("book/methods") < files.index("book/how_to_run")


def test_the_book_has_one_version_everywhere_it_is_cited():
    import tomllib

    import yaml

    import dnnalign_utils

    version = dnnalign_utils.__version__
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    citation = yaml.safe_load((REPO_ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert project["project"]["version"] == version
    assert str(citation["version"]) == version
    assert f"**dnnalign {version}**" in (REPO_ROOT / "book" / "how_to_cite.md").read_text()
