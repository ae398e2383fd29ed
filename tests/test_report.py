"""The batch report for one network (`python -m dnnalign_utils.book report`).

The runner is driven with a temporary repository root holding small stand-in chapters
(the real chapters' stems and network parameters; each loads its network with
`networks.load`, writes the hand-offs later chapters read and records fixed key numbers),
so the order, the resume, the refusals and the report files are checked in seconds. The
real chapters run at the end, in the smoke profile, once they declare the network
parameters.
"""

from __future__ import annotations

import json
import math
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO_ROOT, run_book_cli

from dnnalign_utils import book, keynumbers, networks, paths, predictor, profiles, report
from dnnalign_utils.conventions import N_OBJECTS, DataValidationError
from dnnalign_utils.provenance import verify_provenance

LITE1 = networks.resolve("efficientnet_lite1")
CHAPTERS = (
    "01_triplet_task",
    "02_embedding_fit",
    "03_r2_regression",
    "05_visual_semantic_rating",
    "06_human_vs_dnn",
)
# What each stand-in chapter records (NaN: "not computable", shown as a dash).
RECORDED = {
    "01_triplet_task": {"choice_agreement": 51.25, "noise_ceiling": 67.5},
    "02_embedding_fit": {"rsm_variance_explained": 72.44},
    "03_r2_regression": {"r2_median": 41.06, "r2_min": math.nan},
    "05_visual_semantic_rating": {
        "visual_share": 50.0,
        "mixed_share": 30.0,
        "semantic_share": 20.0,
    },  # fmt: skip
    "06_human_vs_dnn": {"best_match_r": 0.8123, "global_rsa_r": 0.4567},
}
# The hand-offs each stand-in writes (names of `paths.ARTEFACTS`).
WRITES = {
    "00_data": ("image_features",),
    "01_triplet_task": ("network_triplets",),
    "02_embedding_fit": (
        "network_embedding",
        "human_spose_embedding",
        "picture_embedding",  # EfficientNet-Lite0's, whatever network is studied
    ),
    "03_r2_regression": ("sentence_embeddings",),
    "05_visual_semantic_rating": ("automatic_labels",),
    "06_human_vs_dnn": ("matched_pairs",),
}
N_FEATURES = 6

_HEADER = """\
# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A stand-in for {stem}

"""
_BODY = """
# %%
import os
from pathlib import Path

from dnnalign_utils import keynumbers, networks, paths

studied = networks.resolve(
    network, features_path=features_path, images_dir=images_dir, layer=layer
)
net = networks.load(profile, studied)
with open(os.environ["REPORT_TEST_LOG"], "a", encoding="utf-8") as handle:
    handle.write("{stem} " + net.key + "\\n")
if os.environ.get("REPORT_TEST_FAIL_AT") == "{stem}":
    raise RuntimeError("planned failure in {stem}")
for name in {writes!r}:
    own = None if name == "picture_embedding" else studied  # None: the book's own
    target = paths.artefact_path(name, profile, own)
    target.parent.mkdir(parents=True, exist_ok=True)
    if "." in target.name:
        target.write_bytes(b"")
    else:
        target.mkdir(exist_ok=True)
"""


def _write_chapter(folder: Path, stem: str, declared: str) -> None:
    text = _HEADER.format(stem=stem) + '# %% tags=["parameters"]\n' + declared + "\n"
    text += _BODY.format(stem=stem, writes=WRITES[stem])
    if stem in RECORDED:
        values = dict(RECORDED[stem])
        extra = {
            "01_triplet_task": "n_concepts=int(net.things_index.size), ",
            "02_embedding_fit": "n_dimensions=int(net.values.shape[1]), ",
        }.get(stem, "")
        text += (
            f'keynumbers.record(profile, studied, "{stem}", net.label, {extra}'
            f"**{{k: float(v) for k, v in {values!r}.items()}})\n"
        ).replace("nan", "float('nan')")
    (folder / f"{stem}.py").write_text(text, encoding="utf-8")


NETWORK_DECLARED = (
    'profile = "default"\nnetwork = "vgg16"\nfeatures_path = ""\nimages_dir = ""\nlayer = ""'
)


def make_root(folder: Path, *, without: dict[str, str] | None = None) -> Path:
    """A repository root with stand-in chapters 00 (shared features) and the five
    network chapters; `without` maps a stem to a parameter its cell does not declare."""
    notebooks = folder / "notebooks"
    notebooks.mkdir(parents=True)
    _write_chapter(notebooks, "00_data", NETWORK_DECLARED)  # run for the default network
    for stem in CHAPTERS:
        declared = NETWORK_DECLARED
        if without and stem in without:
            declared = "\n".join(
                line for line in declared.splitlines() if not line.startswith(without[stem])
            )
        _write_chapter(notebooks, stem, declared)
    return folder


def write_features(path: Path, seed: int = 0, rows: int = N_OBJECTS) -> Path:
    values = np.random.default_rng(seed).random((rows, N_FEATURES))
    np.save(path, values)
    return path


def executions(log: Path) -> list[str]:
    """The stems the stand-ins ran, in order (from their log)."""
    if not log.is_file():
        return []
    return [line.split()[0] for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def report_env(tmp_path, monkeypatch):
    """Stand-in chapters, a fresh artefact folder and the stand-ins' log; the `smoke`
    profile overrides nothing in them."""
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "artefacts"))
    monkeypatch.setenv("REPORT_TEST_LOG", str(tmp_path / "executions.log"))
    monkeypatch.delenv("REPORT_TEST_FAIL_AT", raising=False)
    monkeypatch.setitem(profiles.PROFILES, "smoke", {})
    root = make_root(tmp_path / "root")
    return {"root": root, "log": tmp_path / "executions.log", "tmp": tmp_path}


@pytest.fixture(scope="module")
def finished_report(tmp_path_factory):
    """One complete stand-in report of a reader's `.npy` (module scope: ~20 s)."""
    tmp = tmp_path_factory.mktemp("report")
    patch = pytest.MonkeyPatch()
    patch.setenv(paths.ARTEFACTS_ENV, str(tmp / "artefacts"))
    patch.setenv("REPORT_TEST_LOG", str(tmp / "executions.log"))
    patch.delenv("REPORT_TEST_FAIL_AT", raising=False)
    patch.setitem(profiles.PROFILES, "smoke", {})
    root = make_root(tmp / "root")
    features = write_features(tmp / "my_features.npy")
    lines: list[str] = []
    result = report.run_report(
        str(features), tmp / "out", profile="smoke", root=root, log=lines.append
    )
    yield {
        "result": result,
        "root": root,
        "out": tmp / "out",
        "features": features,
        "log": tmp / "executions.log",
        "lines": lines,
        "tmp": tmp,
        "patch": patch,
    }
    patch.undo()


# ------------------------------------------------------------------ the runs


def test_network_chapters_are_the_five_that_record_key_numbers():
    assert report.NETWORK_CHAPTERS == CHAPTERS
    toc = book.toc_notebooks(REPO_ROOT)
    assert all(stem in toc for stem in CHAPTERS)


def test_chapters_run_in_order_after_the_shared_upstream_chapter(finished_report):
    result = finished_report["result"]
    key = result.network_key
    assert executions(finished_report["log"]) == ["00_data", *CHAPTERS]
    # the shared chapter ran for the book's own network, the five for the reader's .npy
    logged = finished_report["log"].read_text().splitlines()
    assert logged[0] == "00_data vgg16"
    assert all(line.endswith(f" {key}") for line in logged[1:])
    assert key.startswith("my_features-") and key != paths.DEFAULT_NETWORK
    assert result.ran == list(CHAPTERS) and result.skipped == []
    for stem in CHAPTERS:
        assert (finished_report["out"] / "notebooks" / f"{stem}.ipynb").is_file()
    progress = [line for line in finished_report["lines"] if "/5 " in line]
    assert [line.split()[3].rstrip(":") for line in progress if "done in" in line] == list(
        CHAPTERS
    )
    assert all(f"{i}/5" in progress[2 * (i - 1)] for i in range(1, 6))


def test_key_numbers_table_is_one_row_of_the_recorded_numbers(finished_report):
    out = finished_report["out"]
    text = (out / "key_numbers.csv").read_text(encoding="utf-8")
    assert f",{N_OBJECTS},51.25,67.5,{N_FEATURES},72.44,41.06,,50.0," in text  # NaN: empty
    table = pd.read_csv(out / "key_numbers.csv")
    assert len(table) == 1
    assert list(table.columns) == ["network", "label", *(k.name for k in keynumbers.KEY_NUMBERS)]
    row = table.iloc[0]
    assert row["network"] == finished_report["result"].network_key
    assert row["label"] == "my_features"
    assert row["n_concepts"] == N_OBJECTS and row["n_dimensions"] == N_FEATURES
    for values in RECORDED.values():
        for name, value in values.items():
            if math.isnan(value):
                assert math.isnan(row[name]), name
            else:
                assert row[name] == pytest.approx(value), name
    record = verify_provenance(out / "key_numbers.csv")
    assert record["parameters"]["network_key"] == row["network"]
    assert record["parameters"]["parameters"]["features_path"] == str(
        finished_report["features"].resolve()
    )
    assert record["input_sha256"]["network_input"]  # the reader's file, hashed
    assert set(record["input_sha256"]) >= {f"notebooks/{s}.ipynb" for s in CHAPTERS}


def test_report_pages_show_numbers_meanings_links_and_provenance(finished_report):
    out = finished_report["out"]
    markdown = (out / "report.md").read_text(encoding="utf-8")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert markdown.startswith("# Key numbers of my_features")
    assert "the reader's concept features in my_features.npy" in markdown
    assert "- **Profile**: `smoke`" in markdown
    for number in keynumbers.KEY_NUMBERS:
        (line,) = [ln for ln in markdown.splitlines() if ln.startswith(f"| `{number.name}` |")]
        assert number.description.replace("|", "\\|") in line
        assert f"](notebooks/{number.chapter}.ipynb)" in line
    assert "| `choice_agreement` | 51.2 |" in markdown  # one decimal, as recorded 51.25
    assert "| `best_match_r` | 0.812 |" in markdown
    assert f"| `n_concepts` | {N_OBJECTS:,} |" in markdown
    assert "| `r2_min` | – |" in markdown  # NaN: a dash
    timings = finished_report["result"].timings
    for stem in CHAPTERS:
        assert f"| [{stem}](notebooks/{stem}.ipynb) | {timings[stem]:.1f} |" in markdown
    provenance = json.loads(markdown.split("```json\n", 1)[1].split("\n```", 1)[0])
    assert provenance["produced_by"] == "dnnalign_utils.report"
    assert provenance["parameters"]["profile"] == "smoke"
    # the HTML page: the same table, static, offline
    assert "<table>" in page and "<td>51.2</td>" in page.replace(' style="text-align:right"', "")
    assert '<a href="notebooks/01_triplet_task.ipynb">' in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "&quot;produced_by&quot;: &quot;dnnalign_utils.report&quot;" in page


def test_the_same_command_again_skips_every_finished_chapter(finished_report):
    before = executions(finished_report["log"])
    notebook = finished_report["out"] / "notebooks" / "02_embedding_fit.ipynb"
    stamp = notebook.stat().st_mtime_ns
    lines: list[str] = []
    result = report.run_report(
        str(finished_report["features"]),
        finished_report["out"],
        profile="smoke",
        root=finished_report["root"],
        log=lines.append,
    )
    assert executions(finished_report["log"]) == before, "nothing may run again"
    assert result.ran == [] and result.skipped == list(CHAPTERS)
    assert notebook.stat().st_mtime_ns == stamp
    assert sum("finished earlier, skipped" in line for line in lines) == 5
    assert result.timings == finished_report["result"].timings


def test_another_network_in_the_same_folder_is_refused_unless_restart(finished_report, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(finished_report["out"], out)
    other = write_features(tmp_path / "other_features.npy", seed=1)
    before = executions(finished_report["log"])
    with pytest.raises(report.ReportError, match=r"holds the report of another network") as err:
        report.run_report(
            str(other), out, profile="smoke", root=finished_report["root"], log=lambda _: None
        )
    assert "network_key 'my_features-" in str(err.value) and "--restart" in str(err.value)
    assert executions(finished_report["log"]) == before, "refused before running anything"
    # another profile for the same network is another run too
    with pytest.raises(report.ReportError, match=r"profile 'smoke' \(asked: 'default'\)"):
        report.run_report(
            str(finished_report["features"]),
            out,
            profile="default",
            root=finished_report["root"],
            log=lambda _: None,
        )
    result = report.run_report(
        str(other),
        out,
        profile="smoke",
        restart=True,
        root=finished_report["root"],
        log=lambda _: None,
    )
    assert result.ran == list(CHAPTERS)
    assert executions(finished_report["log"])[len(before) :] == list(CHAPTERS)
    table = pd.read_csv(out / "key_numbers.csv")
    assert table["network"].tolist() == [result.network_key] and table["label"][0] == (
        "other_features"
    )
    assert "# Key numbers of other_features" in (out / "report.md").read_text()
    # the first network's artefacts are untouched, in their own folder
    first = finished_report["result"].network
    assert paths.network_dir("smoke", first) != paths.network_dir("smoke", result.network)
    assert keynumbers.collect("smoke", first)["label"] == "my_features"


def _users_files(folder: Path) -> dict[Path, str]:
    """The reader's own files, under the names a report writes, with their contents."""
    own = {
        folder / "report.md": "my notes\n",
        folder / "key_numbers.csv": "my,table\n1,2\n",
        folder / "notebooks" / "01_triplet_task.ipynb": '{"mine": true}\n',
    }
    for path, text in own.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return own


def test_a_folder_of_the_readers_files_is_refused_and_left_as_it_was(report_env):
    root, log, tmp = report_env["root"], report_env["log"], report_env["tmp"]
    features = write_features(tmp / "mine.npy")
    out = tmp / "mine"
    own = _users_files(out)
    for restart in (False, True):
        with pytest.raises(report.ReportError, match=r"not empty and not a report") as err:
            report.run_report(
                str(features), out, profile="smoke", restart=restart, root=root, log=print
            )
        assert str(out) in str(err.value) and "key_numbers.csv" in str(err.value)
    assert executions(log) == [], "refused before running anything"
    assert {path: path.read_text() for path in own} == own
    assert sorted(p.name for p in out.rglob("*")) == sorted(
        ["report.md", "key_numbers.csv", "notebooks", "01_triplet_task.ipynb"]
    )


def test_restart_removes_only_the_files_the_report_wrote(finished_report, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(finished_report["out"], out)
    state = json.loads((out / report.STATE_FILE).read_text())
    assert set(state["written"]) >= {
        "key_numbers.csv",
        "report.md",
        "report.html",
        "notebooks/01_triplet_task.ipynb",
    }
    (out / "my_notes.txt").write_text("keep me")
    (out / "notebooks" / "my_analysis.ipynb").write_text("{}")
    root = finished_report["root"]
    before = executions(finished_report["log"])
    args = dict(profile="smoke", restart=True, root=root, log=lambda _: None)
    features = str(finished_report["features"])
    # a report file the reader edited is not the report's any more: refused, nothing removed
    (out / "report.md").write_text("edited by hand")
    with pytest.raises(report.ReportError, match=r"report.md: changed since the report wrote it"):
        report.run_report(features, out, **args)
    assert (out / "report.md").read_text() == "edited by hand"
    assert (out / "key_numbers.csv").is_file(), "nothing removed before every file is checked"
    (out / "report.md").unlink()
    result = report.run_report(features, out, **args)
    assert result.ran == list(CHAPTERS)
    assert executions(finished_report["log"])[len(before) :] == list(CHAPTERS)
    assert (out / "my_notes.txt").read_text() == "keep me"
    assert (out / "notebooks" / "my_analysis.ipynb").read_text() == "{}"


def test_a_readers_file_in_a_report_folder_is_never_replaced(finished_report, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(finished_report["out"], out)
    state = json.loads((out / report.STATE_FILE).read_text())
    del state["written"]["notebooks/03_r2_regression.ipynb"]  # as if the reader put it there
    (out / report.STATE_FILE).write_text(json.dumps(state))
    before = executions(finished_report["log"])
    with pytest.raises(report.ReportError, match=r"03_r2_regression.ipynb: not written by this"):
        report.run_report(
            str(finished_report["features"]),
            out,
            profile="smoke",
            root=finished_report["root"],
            log=lambda _: None,
        )
    assert executions(finished_report["log"]) == before


def test_a_failed_chapter_resumes_there_and_an_earlier_rerun_reruns_the_rest(
    report_env, monkeypatch
):
    root, log, tmp = report_env["root"], report_env["log"], report_env["tmp"]
    features = write_features(tmp / "mine.npy")
    out = tmp / "out"
    monkeypatch.setenv("REPORT_TEST_FAIL_AT", "03_r2_regression")
    with pytest.raises(book.BookBuildError, match=r"notebooks/03_r2_regression failed in cell"):
        report.run_report(str(features), out, profile="smoke", root=root, log=lambda _: None)
    assert executions(log) == ["00_data", *CHAPTERS[:3]]
    state = json.loads((out / "report_state.json").read_text())
    assert sorted(state["chapters"]) == ["01_triplet_task", "02_embedding_fit"]
    assert (out / "notebooks" / "03_r2_regression.failed.ipynb").is_file()
    assert not (out / "report.md").exists() and not (out / "key_numbers.csv").exists()

    monkeypatch.delenv("REPORT_TEST_FAIL_AT")
    result = report.run_report(str(features), out, profile="smoke", root=root, log=lambda _: None)
    assert result.skipped == list(CHAPTERS[:2]) and result.ran == list(CHAPTERS[2:])
    assert executions(log)[4:] == list(CHAPTERS[2:])
    assert (out / "report.html").is_file()

    # chapter 2's record lost (e.g. its artefacts deleted): it runs again, and every
    # chapter after it, since they read what it writes
    keynumbers.record_path("smoke", result.network, "02_embedding_fit").unlink()
    again = report.run_report(str(features), out, profile="smoke", root=root, log=lambda _: None)
    assert again.skipped == ["01_triplet_task"] and again.ran == list(CHAPTERS[1:])


# ------------------------------------------------------------ upstream per network


def _keyed(key: str, kind: str = "features") -> networks.Network:
    """A network with artefact key `key` (what paths read of a resolved network)."""
    return networks.Network(key, key, key, kind)


def _touch(profile: str, name: str, network: networks.Network | None = None) -> None:
    target = paths.artefact_path(name, profile, network)
    target.parent.mkdir(parents=True, exist_ok=True)
    if "." in target.name:
        target.write_bytes(b"")
    else:
        target.mkdir()


def test_upstream_runs_run_per_network_producers_for_that_network(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    other = _keyed("mine-0123abcd")
    # nothing there: chapter 6 for another network needs its embedding and labels, so
    # chapters 1, 2 and 5 for it; the shared hand-offs (and the default network's that
    # their chapters read) from the book's own runs
    assert book.upstream_runs("smoke", "06_human_vs_dnn", other) == [
        ("00_data", False),
        ("01_triplet_task", False),
        ("01_triplet_task", True),
        ("02_embedding_fit", False),
        ("02_embedding_fit", True),
        ("05_visual_semantic_rating", True),
    ]
    # for the book's own network nothing runs "for the network"
    assert all(
        not for_network for _, for_network in book.upstream_runs("smoke", "06_human_vs_dnn")
    )
    # the shared hand-offs and the other network's embedding present: only its labels
    for name in ("image_features", "human_spose_embedding", "picture_embedding"):
        _touch("smoke", name)
    _touch("smoke", "network_embedding", other)
    assert book.upstream_runs("smoke", "06_human_vs_dnn", other) == [
        ("05_visual_semantic_rating", True)
    ]
    assert book.upstream_chapters("smoke", "06_human_vs_dnn", other) == [
        "05_visual_semantic_rating"
    ]
    # the book's own network still misses its embedding and labels
    assert book.upstream_chapters("smoke", "06_human_vs_dnn") == [
        "01_triplet_task",
        "02_embedding_fit",
        "05_visual_semantic_rating",
    ]


def test_chapter_4_for_another_picture_network_runs_chapters_1_and_2_for_it(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    # nothing there: Lite1's picture embedding needs chapter 2 (and so 1) run for it
    assert book.upstream_runs("smoke", "04_gradcam", LITE1) == [
        ("00_data", False),
        ("01_triplet_task", True),
        ("02_embedding_fit", True),
    ]
    # the book's picture network: its artefacts are the book's own, nothing "for it"
    assert all(
        not for_network
        for _, for_network in book.upstream_runs(
            "smoke", "04_gradcam", networks.BOOK_PICTURE_NETWORK
        )
    )
    for name in ("image_features", "picture_embedding"):
        _touch("smoke", name)
    assert book.upstream_runs("smoke", "04_gradcam", networks.BOOK_PICTURE_NETWORK) == []
    assert book.upstream_runs("smoke", "04_gradcam", LITE1) == [
        ("01_triplet_task", True),
        ("02_embedding_fit", True),
    ]
    _touch("smoke", "picture_embedding", LITE1)
    assert book.upstream_runs("smoke", "04_gradcam", LITE1) == []


def test_ensure_upstream_runs_the_network_chapters_with_its_parameters(report_env):
    features = write_features(report_env["tmp"] / "alone.npy")
    parameters = {"network": "vgg16", "features_path": str(features), "images_dir": "",
                  "layer": ""}  # fmt: skip
    network = networks.resolve(**parameters)
    key = network.key
    ran = book.ensure_upstream("smoke", "03_r2_regression", network, report_env["root"])
    assert ran == ["00_data", "01_triplet_task", "02_embedding_fit"]
    logged = report_env["log"].read_text().splitlines()
    assert logged == ["00_data vgg16", f"01_triplet_task {key}", f"02_embedding_fit {key}"]
    runs = paths.network_dir("smoke", network) / "upstream_runs" / "notebooks"
    assert sorted(p.name for p in runs.glob("*.ipynb")) == [
        "01_triplet_task.ipynb",
        "02_embedding_fit.ipynb",
    ]
    assert book.ensure_upstream("smoke", "03_r2_regression", network, report_env["root"]) == []


# ------------------------------------------------------- refused before running


def _thingsvision_folder(folder: Path, layer: str) -> Path:
    ids = sorted(networks.data.things_index_by_id(), key=networks.data.things_index_by_id().get)
    (folder / layer).mkdir(parents=True)
    np.save(folder / layer / "features.npy", np.random.default_rng(0).random((4, 3)))
    names = [f"{uid}/{uid}_01b.jpg" for uid in ids[:4]]
    (folder / layer / "file_names.txt").write_text("\n".join(names) + "\n")
    return folder


def _picture_folder(folder: Path, rows: list[str]) -> Path:
    from PIL import Image

    folder.mkdir(parents=True)
    for index in range(3):
        Image.new("RGB", (32, 32), (index * 60, 90, 120)).save(folder / f"p{index}.png")
    (folder / networks.IMAGE_MAPPING_FILE).write_text("file,uniqueID\n" + "\n".join(rows) + "\n")
    return folder


def _bad_input(tmp: Path, case: str) -> tuple[str, dict]:
    if case == "rows":
        return str(write_features(tmp / "short.npy", rows=10)), {}
    if case == "nan":
        values = np.random.default_rng(0).random((N_OBJECTS, N_FEATURES))
        values[5, 2] = np.nan
        np.save(tmp / "holes.npy", values)
        return str(tmp / "holes.npy"), {}
    if case == "uniqueID":
        rows = ["p0.png,aardvark", "p1.png,no_such_concept", "p2.png,abacus"]
        return str(_picture_folder(tmp / "mine", rows)), {}
    if case == "layer_folder":
        return str(_thingsvision_folder(tmp / "tv", "fc7")), {"layer": "conv5"}
    if case == "layer_pictures":
        rows = ["p0.png,aardvark", "p1.png,abacus"]
        folder = _picture_folder(tmp / "pics", rows)
        return str(folder), {"layer": "no_such_layer", "picture_network": "efficientnet_lite0"}
    if case == "layer_npy":
        return str(write_features(tmp / "flat.npy")), {"layer": "fc7"}
    if case == "picture_network_npy":
        return str(write_features(tmp / "flat.npy")), {"picture_network": "efficientnet_lite0"}
    if case == "no_concepts_csv":
        folder = _picture_folder(tmp / "photos", [])
        (folder / networks.IMAGE_MAPPING_FILE).unlink()
        return str(folder), {}
    if case == "name":
        return "resnet_9000", {}
    if case == "missing_path":
        return str(tmp / "nowhere" / "features.npy"), {}
    raise AssertionError(case)


BAD_INPUTS = {
    "rows": (DataValidationError, r"short\.npy.*10"),
    "nan": (DataValidationError, r"holes\.npy: row 6 .*non-finite"),
    "uniqueID": (DataValidationError, r"concepts\.csv: line 3: 'no_such_concept' is not"),
    "layer_folder": (FileNotFoundError, r"tv/conv5: missing features\.npy.*\['fc7'\]"),
    "layer_pictures": (ValueError, r"no_such_layer"),
    "no_concepts_csv": (
        FileNotFoundError,
        r"photos: missing features\.npy.*; it holds 3 pictures but no concepts\.csv: .*"
        r"header file,uniqueID",
    ),
    "layer_npy": (ValueError, r"--layer fc7: .*flat\.npy is a \.npy of concept features"),
    "picture_network_npy": (ValueError, r"--picture-network efficientnet_lite0: only for"),
    "name": (ValueError, r"--network resnet_9000: expected a registered network \(vgg16"),
    "missing_path": (FileNotFoundError, r"nowhere/features\.npy: no such file or folder"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_named_before_any_notebook_runs(report_env, case):
    network, options = _bad_input(report_env["tmp"], case)
    error, match = BAD_INPUTS[case]
    out = report_env["tmp"] / "out"
    with pytest.raises(error, match=match):
        report.run_report(
            network, out, profile="smoke", root=report_env["root"], log=lambda _: None, **options
        )
    assert executions(report_env["log"]) == [] and not out.exists()


def test_a_chapter_without_the_network_parameters_is_refused_before_running(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "artefacts"))
    monkeypatch.setenv("REPORT_TEST_LOG", str(tmp_path / "executions.log"))
    monkeypatch.setitem(profiles.PROFILES, "smoke", {})
    root = make_root(tmp_path / "root", without={"05_visual_semantic_rating": "layer"})
    assert not report.chapters_accept_network_parameters(root)
    assert report.chapters_accept_network_parameters(make_root(tmp_path / "full"))
    with pytest.raises(
        book.BookBuildError, match=r"05_visual_semantic_rating\.py: parameter 'layer' is not"
    ):
        report.run_report(
            str(write_features(tmp_path / "f.npy")), tmp_path / "out", profile="smoke", root=root
        )
    assert executions(tmp_path / "executions.log") == []


def test_picture_folder_resolves_to_images_dir_seen_by_the_picture_network(tmp_path):
    rows = ["p0.png,aardvark", "p1.png,abacus", "p2.png,abacus"]
    folder = _picture_folder(tmp_path / "my pictures", rows)
    found = report.resolve_input(
        str(folder), "smoke", picture_network="efficientnet_lite0_untrained"
    )
    assert found.kind == "pictures"
    assert found.parameters == {
        "network": "efficientnet_lite0_untrained",
        "features_path": "",
        "images_dir": str(folder.resolve()),
        "layer": "",
    }
    assert found.key.startswith("efficientnet_lite0_untrained-my_pictures-")
    default = report.resolve_input(str(folder), "smoke")
    assert default.parameters["network"] == paths.DEFAULT_PICTURE_NETWORK
    assert default.key != found.key
    # a changed picture changes the input hash (a rerun would refuse to mix the two)
    before = found.input_sha256
    (folder / "p1.png").write_bytes((folder / "p0.png").read_bytes())
    assert report.resolve_input(str(folder), "smoke").input_sha256 != default.input_sha256
    assert before and len(before) == 64


def test_registered_network_is_passed_by_name():
    found = report.resolve_input("clip_vit_b32", "smoke")
    assert found.kind == "registered" and found.key == "clip_vit_b32"
    assert found.parameters["network"] == "clip_vit_b32"
    assert found.parameters["features_path"] == "" and found.parameters["images_dir"] == ""
    with pytest.raises(ValueError, match="--layer fc7: clip_vit_b32 is a registered network"):
        report.resolve_input("clip_vit_b32", "smoke", layer="fc7")


def test_cli_names_bad_input_and_exits_1(tmp_path):
    short = write_features(tmp_path / "short.npy", rows=3)
    proc = run_book_cli(
        "report", "--network", str(short), "--output-dir", str(tmp_path / "out"), timeout=120
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: ") and "short.npy" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_format_value():
    assert report.format_value("n_concepts", 1854.0) == "1,854"
    assert report.format_value("global_rsa_r", 0.45678) == "0.457"
    assert report.format_value("r2_median", 41.06) == "41.1"
    assert report.format_value("r2_min", math.nan) == "–"


# ------------------------------------------------ the real chapters, smoke profile

REAL_CHAPTERS_READY = report.chapters_accept_network_parameters(REPO_ROOT)
needs_real_chapters = pytest.mark.skipif(
    not REAL_CHAPTERS_READY,
    reason="the chapters in notebooks/ do not declare the network parameters "
    f"({', '.join(report.NETWORK_PARAMETERS)}) in their parameters cells yet",
)
# Numbers a chapter documents as not computable for such an input (NaN allowed):
# pictures of a subset of the concepts may hold no noise-ceiling triplet (chapter 1).
MAY_BE_NAN = {"features": set(), "pictures": {"noise_ceiling"}, "registered": {"noise_ceiling"}}
# Chapter 5's shares leave unclear dimensions out and are NaN when every dimension is
# unclear (`autorate.label_shares`), as the smoke profile's two-epoch fits are: allowed
# only when the chapter's labels of the network say so.
SHARES = ("visual_share", "mixed_share", "semantic_share")
N_PICTURES = 150


def _all_dimensions_unclear(key: str) -> bool:
    labels = pd.read_csv(paths.automatic_labels("smoke", _keyed(key)))
    own = labels.loc[labels["embedding"] == key, "label"]
    return len(own) > 0 and bool((own == "unclear").all())


@pytest.fixture(scope="module")
def real_reports(tmp_path_factory):
    """The real chapters in the smoke profile for a reader's `.npy` (CLIP ViT-B/32's
    concept features saved as a file), a folder of emoji pictures seen by the untrained
    EfficientNet-Lite0, and that registered network itself on chapter 0's pictures (with
    chapter 4), sharing one artefact folder."""
    from dnnalign_utils import data, images

    tmp = tmp_path_factory.mktemp("real_report")
    patch = pytest.MonkeyPatch()
    patch.setenv(paths.ARTEFACTS_ENV, str(tmp / "artefacts"))
    features = tmp / "reader_features.npy"
    np.save(features, data.load_clip_features())
    folder = tmp / "my_pictures"
    folder.mkdir()
    manifest = images.load_manifest(styles=["noto"]).head(N_PICTURES)
    rows = []
    for uid, path in zip(manifest["uniqueID"], manifest["path"], strict=True):
        images.render_image(images.load_rgba(path))[0].save(folder / f"{uid}.png")
        rows.append(f"{uid}.png,{uid}")
    (folder / networks.IMAGE_MAPPING_FILE).write_text("file,uniqueID\n" + "\n".join(rows) + "\n")
    runs = {}
    for kind, network, options in (
        ("features", str(features), []),
        ("pictures", str(folder), ["--picture-network", "efficientnet_lite0_untrained"]),
        ("registered", "efficientnet_lite0_untrained", []),
    ):
        out = tmp / f"report_{kind}"
        before = {
            p: p.stat().st_mtime_ns for p in (tmp / "artefacts").rglob("*") if p.is_file()
        } if (tmp / "artefacts").exists() else {}  # fmt: skip
        proc = run_book_cli(
            "report", "--network", network, *options, "--profile", "smoke",
            "--output-dir", str(out), timeout=1800,
        )  # fmt: skip
        runs[kind] = {"proc": proc, "out": out, "before": before}
    yield runs
    patch.undo()


@pytest.mark.book
@needs_real_chapters
@pytest.mark.parametrize("kind", ["features", "pictures", "registered"])
def test_real_report_in_the_smoke_profile(real_reports, kind):
    run = real_reports[kind]
    log = run["proc"].stdout + run["proc"].stderr
    assert run["proc"].returncode == 0, log[-5000:]
    table = pd.read_csv(run["out"] / "key_numbers.csv")
    assert len(table) == 1
    row = table.iloc[0]
    for number in keynumbers.KEY_NUMBERS:
        value = float(row[number.name])
        if math.isnan(value) and number.name in SHARES:
            assert _all_dimensions_unclear(row["network"]), f"{kind}: {number.name} is NaN"
        elif math.isnan(value):
            assert number.name in MAY_BE_NAN[kind], f"{kind}: {number.name} is NaN"
        else:
            assert math.isfinite(value), number.name
    if kind == "pictures":
        assert row["n_concepts"] == N_PICTURES  # one picture per concept
    for stem in CHAPTERS:
        assert f"{stem}: done in" in log
        assert (run["out"] / "notebooks" / f"{stem}.ipynb").is_file()
    assert (run["out"] / "report.html").is_file()
    # chapter 4 explains a registered picture network, not concept features or a folder
    gradcam_ran = (run["out"] / "notebooks" / "04_gradcam.ipynb").is_file()
    assert gradcam_ran == (kind == "registered")
    if kind == "registered":
        key = row["network"]
        studied = networks.resolve(key)
        saved = predictor.DimensionPredictor.load(paths.picture_predictor("smoke", studied))
        assert saved.network == key == "efficientnet_lite0_untrained"
        embedding = paths.picture_embedding("smoke", studied)
        assert embedding.is_relative_to(paths.network_dir("smoke", studied))
        assert "04_gradcam" in (run["out"] / "report.md").read_text(encoding="utf-8")
        downloads = paths.downloads_dir("smoke", studied, "04_gradcam") / "04_gradcam"
        assert (downloads / "picture_dimension_r2.csv").is_file()


@pytest.mark.book
@needs_real_chapters
def test_real_reports_of_two_networks_do_not_collide(real_reports):
    keys = {}
    for kind, run in real_reports.items():
        assert run["proc"].returncode == 0, (run["proc"].stdout + run["proc"].stderr)[-3000:]
        keys[kind] = pd.read_csv(run["out"] / "key_numbers.csv")["network"][0]
    assert keys["features"] != keys["pictures"]
    assert paths.DEFAULT_NETWORK not in keys.values()
    features_dir = paths.network_dir("smoke", _keyed(keys["features"]))
    pictures_dir = paths.network_dir("smoke", _keyed(keys["pictures"], "pictures"))
    assert features_dir not in pictures_dir.parents and pictures_dir not in features_dir.parents
    # the second report rewrote none of the first network's files
    before = real_reports["pictures"]["before"]
    for path in features_dir.rglob("*"):
        if path.is_file():
            assert path.stat().st_mtime_ns == before.get(path), f"{path} was rewritten"
    for kind, key in keys.items():
        recorded = keynumbers.collect("smoke", _keyed(key))
        assert recorded["network"] == key
        assert all(
            keynumbers.record_path("smoke", _keyed(key), stem).is_file() for stem in CHAPTERS
        ), kind


def test_stand_in_chapters_mirror_the_contract_parameters():
    """The stand-ins declare what the real chapters must (the contract), in its order."""
    declared = textwrap.dedent(NETWORK_DECLARED).splitlines()
    assert [line.split(" = ")[0] for line in declared] == ["profile", *report.NETWORK_PARAMETERS]


def test_report_runs_chapter_4_only_for_a_registered_picture_network(tmp_path):
    def chapters(network, **options):
        return report.resolve_input(network, "smoke", **options).chapters

    assert chapters("efficientnet_lite1") == (
        "01_triplet_task", "02_embedding_fit", "03_r2_regression", "04_gradcam",
        "05_visual_semantic_rating", "06_human_vs_dnn",
    )  # fmt: skip
    assert chapters("vgg16") == report.NETWORK_CHAPTERS
    assert chapters("clip_vit_b32") == report.NETWORK_CHAPTERS
    # its own layer: chapter 4's predictor reads the pooled head, so no chapter 4
    assert chapters("efficientnet_lite1", layer="_blocks.3") == report.NETWORK_CHAPTERS
    # chapter 4 declares the parameters the report injects, in the same order
    declared = profiles.parameters_cell_values(REPO_ROOT / "notebooks" / "04_gradcam.py")
    assert list(declared)[1:5] == list(report.NETWORK_PARAMETERS)
    assert declared["network"] == paths.DEFAULT_PICTURE_NETWORK
