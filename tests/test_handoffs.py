"""Hand-offs published with the book and fetched by a chapter run alone (`handoffs`)."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from dnnalign_utils import book, handoffs, paths
from dnnalign_utils.provenance import file_sha256


@pytest.fixture
def serve():
    """Serve a folder on 127.0.0.1 (a free port); yields a function folder -> URL."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        handler.log_message = lambda *args: None
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _fake_book_artefacts(profile: str) -> dict[str, Path]:
    """Three hand-offs of the book's own networks: a file with its sidecar, a file, and
    a folder of two files."""
    written = {}
    for name in ("human_spose_embedding", "network_embedding"):
        path = paths.artefact_path(name, profile)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, weights=np.arange(6.0).reshape(3, 2) + len(name))
        written[name] = path
    path.with_name(path.name + ".provenance.json").write_text('{"produced_by": "test"}')
    folder = paths.artefact_path("network_triplets", profile)
    folder.mkdir(parents=True)
    for split in paths.TRIPLET_SPLIT_FILES:
        np.save(folder / split, np.arange(9).reshape(3, 3))
    written["network_triplets"] = folder
    return written


def test_handoffs_are_what_the_chapters_read():
    names = handoffs.handoff_names()
    assert set(names) == {n for inputs in paths.CHAPTER_INPUTS.values() for n in inputs}
    assert set(handoffs.MEASURED_SECONDS["default"]) == set(book.toc_notebooks())


def test_published_hand_offs_are_fetched_hash_checked_and_a_bad_one_is_refused(
    tmp_path, monkeypatch, serve
):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "built"))
    built = _fake_book_artefacts("smoke")
    site = tmp_path / "site"
    registry = handoffs.publish("smoke", site)
    lines = registry.read_text().splitlines()
    assert lines[0].startswith(f"# dnnalign {handoffs.__version__} ")
    listed = dict(line.split() for line in lines[1:])
    assert "embeddings/human_spose.npz" in listed
    assert "embeddings/vgg16_vice.npz.provenance.json" in listed
    assert listed["embeddings/human_spose.npz"] == file_sha256(built["human_spose_embedding"])
    # a reader's empty artefact folder, the book served on the loopback interface
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "reader"))
    monkeypatch.setenv(handoffs.BOOK_URL_ENV, serve(site))
    (site / "handoffs" / "smoke" / "embeddings" / "human_spose.npz").write_bytes(b"tampered")
    lines = []
    names = ["human_spose_embedding", "network_embedding", "network_triplets"]
    got = handoffs.fetch("smoke", names, handoffs.book_url(None), log=lines.append)
    assert got == ["network_embedding", "network_triplets"]
    assert not paths.artefact_path("human_spose_embedding", "smoke").exists()
    assert any("human_spose_embedding: not fetched" in line for line in lines)
    fetched = paths.artefact_path("network_embedding", "smoke")
    assert file_sha256(fetched) == file_sha256(built["network_embedding"])
    assert fetched.with_name(fetched.name + ".provenance.json").is_file()
    for split in paths.TRIPLET_SPLIT_FILES:
        assert (paths.artefact_path("network_triplets", "smoke") / split).is_file()


def test_another_version_or_no_server_fetches_nothing(tmp_path, monkeypatch, serve):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "built"))
    _fake_book_artefacts("smoke")
    site = tmp_path / "site"
    registry = handoffs.publish("smoke", site)
    registry.write_text(registry.read_text().replace(handoffs.__version__, "0.0.0-other"))
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "reader"))
    lines = []
    assert handoffs.fetch("smoke", ["network_embedding"], serve(site), log=lines.append) == []
    assert "another version of dnnalign" in lines[0]
    lines = []
    nothing_listens = "http://127.0.0.1:9/"
    assert handoffs.fetch("smoke", ["network_embedding"], nothing_listens, log=lines.append) == []
    assert "could not be fetched" in lines[0]
    monkeypatch.setenv(handoffs.BOOK_URL_ENV, "")
    assert handoffs.book_url("https://example.org/book/") is None
    monkeypatch.delenv(handoffs.BOOK_URL_ENV)
    assert handoffs.book_url("https://example.org/book/") == "https://example.org/book/"


def test_unfetched_chapters_are_recomputed_after_an_estimate(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    monkeypatch.setenv(handoffs.BOOK_URL_ENV, "http://127.0.0.1:9/")
    ran = []

    def chapter_stand_in(stem, *args, **kwargs):  # writes the book's hand-offs of `stem`
        ran.append(stem)
        for name, artefact in paths.ARTEFACTS.items():
            if artefact.chapter == stem:
                target = paths.artefact_path(name, "default")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.mkdir() if "." not in target.name else target.write_bytes(b"")
        return None, 1.0

    monkeypatch.setattr(book, "execute_notebook", chapter_stand_in)
    book.ensure_upstream("default", "06_human_vs_dnn")
    out = capsys.readouterr().out
    assert ran == ["00_data", "01_triplet_task", "02_embedding_fit", "05_visual_semantic_rating"]
    seconds = sum(handoffs.MEASURED_SECONDS["default"][s] for s in ran)
    assert f"about {seconds / 60:.0f} min on 2 cores, as measured" in out


def test_a_chapter_run_alone_fetches_from_a_served_book_and_recomputes_nothing(
    smoke_book, tmp_path, monkeypatch, serve
):
    assert smoke_book.returncode == 0, smoke_book.log[-3000:]
    registry = smoke_book.html_dir / "handoffs" / "smoke" / handoffs.REGISTRY_FILE
    assert registry.is_file(), "the book build publishes the smoke hand-offs"
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "reader"))
    monkeypatch.setenv(handoffs.BOOK_URL_ENV, serve(smoke_book.html_dir))
    executed, _ = book.execute_notebook("06_human_vs_dnn", "smoke", tmp_path / "out")
    text = executed.read_text(encoding="utf-8")
    assert "fetched from http://127.0.0.1:" in text
    assert not (tmp_path / "reader" / "smoke" / "upstream_runs").exists(), "nothing recomputed"
    listed = dict(line.split() for line in registry.read_text().splitlines()[1:])
    for name in ("network_embedding", "automatic_labels"):
        path = paths.artefact_path(name, "smoke")
        relative = path.relative_to(paths.artefacts_dir("smoke")).as_posix()
        assert file_sha256(path) == listed[relative]


def test_ensure_upstream_refuses_when_the_chapters_it_ran_wrote_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    monkeypatch.setenv(handoffs.BOOK_URL_ENV, "")
    monkeypatch.setattr(book, "execute_notebook", lambda stem, *a, **k: (None, 1.0))
    with pytest.raises(book.BookBuildError, match="image_features still missing .* after running"):
        book.ensure_upstream("smoke", "01_triplet_task")
