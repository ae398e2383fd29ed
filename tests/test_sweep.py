"""The sweep (`python -m dnnalign_utils.book sweep`): many reports on Dask.

A `LocalCluster` of 2 worker processes on the loopback interface runs a smoke sweep of 3
networks x 2 seeds. The chapters are small stand-ins (the real chapters' stems,
parameters and hand-offs; each records key numbers computed from its network, layer,
seed and a shared input, and logs each run), so a report takes seconds: the real
chapters run through the same `report.run_report`, tested in test_report.py. One task of
the sweep kills its worker process mid-report. Checked here: the reports equal the report
run one by one, the shared inputs are computed once and never written by a task, the
killed task alone is redone and resumes, a rerun redoes nothing, every refusal comes
before any task is sent, and the report's seed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO_ROOT, run_book_cli

from dnnalign_utils import keynumbers, paths, profiles, report, sweep
from dnnalign_utils.conventions import N_OBJECTS
from dnnalign_utils.provenance import atomic_write_text, verify_provenance

distributed = pytest.importorskip("distributed")

PROFILE = "smoke"
SHARED_VALUE = 7.0  # what the stand-in chapter 0 writes into the shared picture features
# The hand-offs each stand-in writes (names of `paths.ARTEFACTS`); "book" ones are the
# book's own whatever network is studied (as the real chapter 2's picture embedding).
WRITES = {
    "00_data": (("image_features", "shared"),),
    "01_triplet_task": (("network_triplets", "net"),),
    "02_embedding_fit": (
        ("network_embedding", "net"),
        ("human_spose_embedding", "shared"),
        ("picture_embedding", "book"),
    ),
    "03_r2_regression": (("sentence_embeddings", "shared"),),
    "04_gradcam": (("picture_predictor", "net"),),  # for a registered picture network
    "05_visual_semantic_rating": (("automatic_labels", "net"),),
    "06_human_vs_dnn": (("matched_pairs", "net"),),
}

_CHAPTER = """\
# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A stand-in for {stem}

# %% tags=["parameters"]
profile = "default"
network = "vgg16"
features_path = ""
images_dir = ""
layer = ""
seed = 0
{overrides}

# %%
import hashlib
import os
import signal
from pathlib import Path

from dnnalign_utils import networks, paths
from dnnalign_utils.provenance import atomic_write_text

net = networks.resolve(network, features_path=features_path, images_dir=images_dir, layer=layer)
with open(os.environ["SWEEP_TEST_LOG"], "a", encoding="utf-8") as handle:
    handle.write(f"{stem} {{net.key}} {{seed}}\\n")
kill = os.environ.get("SWEEP_TEST_KILL", "").split()
if kill[:3] == ["{stem}", net.key, str(seed)]:
    flag = Path(kill[3])
    if flag.with_suffix(".armed").exists() and not flag.exists():
        flag.touch()
        os.kill(os.getppid(), signal.SIGKILL)  # this kernel's worker process
        os._exit(1)
for name, owner in {writes!r}:
    # atomically, as the chapters write (a task's shared inputs are hard links)
    target = paths.artefact_path(name, profile, net if owner == "net" else None)
    if "." in target.name:
        atomic_write_text(target, f"{stem} {{net.key}} {{seed}}\\n")
    else:
        atomic_write_text(target / "value.txt", "{shared_value}\\n")
"""
# The record `keynumbers.record` writes, written directly: importing keynumbers in every
# stand-in kernel would take most of its run (`test_stand_in_records_where_keynumbers_reads`)
_RECORD = """
import json

shared = float((paths.artefact_path("image_features", profile) / "value.txt").read_text())
base = int(hashlib.sha256(f"{{net.key}}|{{layer}}".encode()).hexdigest()[:6], 16) % 1000
values = {{name: shared + base / 10 + 1.5 * seed + index for index, name in enumerate({names!r})}}
entry = {{"network": net.key, "label": net.label, "chapter": "{stem}", "values": values}}
atomic_write_text(paths.key_numbers_dir(profile, net) / "{stem}.json", json.dumps(entry))
"""


def write_chapters(folder: Path) -> Path:
    """A repository root whose notebooks/ holds the stand-ins of chapter 0 and of the
    network chapters."""
    notebooks = folder / "notebooks"
    notebooks.mkdir(parents=True)
    names_of = {}
    for number in keynumbers.KEY_NUMBERS:
        names_of.setdefault(number.chapter, []).append(number.name)
    for stem, writes in WRITES.items():
        overrides = "\n".join(
            f"{name} = {value!r}"
            for name, value in profiles.PROFILES[PROFILE].get(stem, {}).items()
        )
        text = _CHAPTER.format(
            stem=stem, overrides=overrides, writes=writes, shared_value=SHARED_VALUE
        )
        if stem in names_of:
            text += _RECORD.format(stem=stem, names=names_of[stem])
        (notebooks / f"{stem}.py").write_text(text, encoding="utf-8")
    return folder


def expected_value(key: str, layer: str, seed: int, name: str) -> float:
    """The number the stand-ins record for `name` (mirrors `_RECORD`)."""
    chapter = keynumbers.BY_NAME[name].chapter
    names = [k.name for k in keynumbers.KEY_NUMBERS if k.chapter == chapter]
    base = int(hashlib.sha256(f"{key}|{layer}".encode()).hexdigest()[:6], 16) % 1000
    return SHARED_VALUE + base / 10 + 1.5 * seed + names.index(name)


def runs(log: Path) -> list[tuple[str, str, int]]:
    """(stem, network key, seed) of every stand-in run, in order."""
    if not log.is_file():
        return []
    return [
        (stem, key, int(seed))
        for stem, key, seed in (line.split() for line in log.read_text().splitlines())
    ]


def snapshot(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Stand-in chapters, a shared artefact folder, the stand-ins' log, a reader's
    features file, and a LocalCluster of 2 workers started with that environment."""
    from distributed import LocalCluster

    tmp = tmp_path_factory.mktemp("sweep")
    root = write_chapters(tmp / "repo")
    log = tmp / "runs.log"
    features = tmp / "my_features.npy"
    np.save(features, np.random.default_rng(0).random((N_OBJECTS, 5)))
    kill_flag = tmp / "kill.flag"
    patch = pytest.MonkeyPatch()
    patch.setenv(paths.ARTEFACTS_ENV, str(tmp / "artefacts"))
    patch.setenv("SWEEP_TEST_LOG", str(log))
    patch.setenv("SWEEP_TEST_KILL", f"03_r2_regression clip_vit_b32 1 {kill_flag}")
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    )
    yield {
        "tmp": tmp,
        "root": root,
        "log": log,
        "features": features,
        "kill_flag": kill_flag,
        "scheduler": cluster.scheduler_address,
    }
    cluster.close()
    patch.undo()


def _sweep(env, inputs, out, seeds, **options):
    lines = []
    result = sweep.run_sweep(
        inputs,
        out,
        seeds=seeds,
        profile=PROFILE,
        scheduler=env["scheduler"],
        root=env["root"],
        progress=False,
        log=lines.append,
        **options,
    )
    return result, lines


@pytest.fixture(scope="module")
def smoke_sweep(env):
    """3 networks (the book's, a registered one, a reader's file) x 2 seeds, with the
    shared inputs prepared first so that what the tasks do to them can be seen; chapter 3
    of CLIP at seed 1 kills its worker process the first time it runs (no retries: the
    scheduler itself gives a task whose worker died to another)."""
    inputs = sweep.command_line_inputs(["vgg16", "clip_vit_b32", str(env["features"])])
    tasks = sweep.plan(inputs, [0, 1], PROFILE, env["tmp"] / "out", env["root"])
    shared_ran = sweep.prepare_shared_inputs(PROFILE, tasks, env["root"], log=lambda _: None)
    shared_log = runs(env["log"])
    before = snapshot(paths.artefacts_dir(PROFILE))
    env["kill_flag"].with_suffix(".armed").touch()
    try:
        result, lines = _sweep(env, inputs, env["tmp"] / "out", [0, 1], retries=0)
    finally:
        env["kill_flag"].with_suffix(".armed").unlink()
    return {
        "inputs": inputs,
        "result": result,
        "lines": lines,
        "shared_ran": shared_ran,
        "shared_log": shared_log,
        "task_log": runs(env["log"])[len(shared_log) :],
        "before": before,
        "after": snapshot(paths.artefacts_dir(PROFILE)),
        "out": env["tmp"] / "out",
    }


def test_smoke_sweep_runs_one_task_per_network_and_seed(smoke_sweep, env):
    result, out = smoke_sweep["result"], smoke_sweep["out"]
    assert len(result.ran) == 6 and not result.skipped and not result.failed
    assert result.n_workers == 2
    table = pd.read_csv(out / "sweep.csv", keep_default_na=False, na_values=[""])
    features_key = report.resolve_input(str(env["features"]), PROFILE).key
    keys = ["vgg16", "clip_vit_b32", features_key]
    assert list(zip(table["network"], table["seed"], strict=True)) == [
        (key, seed) for key in keys for seed in (0, 1)
    ]
    assert table["layer"].isna().all()  # the default layer: an empty field
    assert list(table["report"]) == [f"{key}/_default/seed-{s}" for key in keys for s in (0, 1)]
    verify_provenance(out / "sweep.csv")
    for row in table.itertuples():
        for number in keynumbers.KEY_NUMBERS:
            expected = expected_value(row.network, "", row.seed, number.name)
            within = 0.5 if number.name in ("n_concepts", "n_dimensions") else 1e-9
            assert getattr(row, number.name) == pytest.approx(expected, abs=within), number.name
        folder = out / row.report
        state = json.loads((folder / report.STATE_FILE).read_text())
        assert state["identity"]["seed"] == row.seed
        assert sorted(state["chapters"]) == sorted(report.NETWORK_CHAPTERS)
        assert (folder / "report.html").is_file()
        assert f"- **Seed**: `{row.seed}`" in (folder / "report.md").read_text()
    # every chapter of every report ran once, with its seed; but chapter 3 of the killed
    # task twice: its report resumed there after the worker died
    assert env["kill_flag"].exists(), "no worker was killed"
    killed = ("03_r2_regression", "clip_vit_b32", 1)
    expected = [(s, key, seed) for key in keys for seed in (0, 1) for s in report.NETWORK_CHAPTERS]
    assert sorted(smoke_sweep["task_log"]) == sorted([*expected, killed])


def test_shared_inputs_are_computed_once_and_no_task_writes_them(smoke_sweep):
    # chapter 0 and the book's own network's chapters 1 and 2, once, before any task
    assert smoke_sweep["shared_ran"] == ["00_data", "01_triplet_task", "02_embedding_fit"]
    assert [stem for stem, _, _ in smoke_sweep["shared_log"]] == smoke_sweep["shared_ran"]
    assert not any("shared inputs" in line for line in smoke_sweep["lines"])
    # the tasks wrote nothing into the shared artefact folder (even the book's own
    # network at seed 1, whose chapter 2 rewrites the book's human embedding)
    assert smoke_sweep["after"] == smoke_sweep["before"]
    out = smoke_sweep["out"]
    staged = out / sweep.ARTEFACTS_FOLDER / "vgg16" / "_default" / "seed-1" / PROFILE
    written = (staged / "embeddings" / "human_spose.npz").read_text()
    assert written.split()[1:] == ["vgg16", "1"]
    # a shared input reached the tasks as a hard link to the one computed
    shared = paths.artefact_path("image_features", PROFILE) / "value.txt"
    linked = staged / shared.relative_to(paths.artefacts_dir(PROFILE))
    assert linked.stat().st_ino == shared.stat().st_ino


def test_summary_page_spread_and_figures(smoke_sweep):
    out = smoke_sweep["out"]
    spread = pd.read_csv(out / "sweep_spread.csv", keep_default_na=False, na_values=[""])
    assert len(spread) == 3 * len(keynumbers.KEY_NUMBERS)
    assert (spread["n_seeds"] == 2).all()
    # the stand-ins' numbers move by 1.5 per seed: SD of {x, x + 1.5} (counts are rounded)
    real = spread[~spread["key_number"].isin(["n_concepts", "n_dimensions"])]
    assert np.allclose(real["sd"], 1.5 / math.sqrt(2))
    assert np.allclose(real["max"] - real["min"], 1.5)
    page = (out / "sweep.html").read_text(encoding="utf-8")
    assert "Seed-to-seed spread per network and layer" in page
    assert "Alignment against layer depth" in page and "Visual against semantic" in page
    # no external assets: plotly.js is loaded from the copy beside the page, not inlined
    from plotly.offline import get_plotlyjs

    assert f'<script src="{sweep.PLOTLY_JS}"></script>' in page and len(page) < 500_000
    assert (out / sweep.PLOTLY_JS).read_text(encoding="utf-8") == get_plotlyjs()
    assert 'src="http' not in page and 'href="http' not in page
    assert "vgg16/_default/seed-1/report.html" in page
    # concept features hold no model: no module, no depth (a picture network's: below)
    table = pd.read_csv(out / "sweep.csv", keep_default_na=False, na_values=[""])
    assert table["depth"].isna().all() and table["module"].isna().all()


def test_reports_equal_the_report_run_one_by_one(smoke_sweep, env):
    """The report of a reader's file at seed 1, run alone with `report.run_report` in the
    shared artefact folder, gives the sweep's numbers."""
    table = pd.read_csv(smoke_sweep["out"] / "sweep.csv", keep_default_na=False, na_values=[""])
    columns = ["network", "label", *(k.name for k in keynumbers.KEY_NUMBERS)]
    for network, seed in ((str(env["features"]), 1),):
        alone = env["tmp"] / f"alone-{seed}"
        result = report.run_report(
            network, alone, profile=PROFILE, seed=seed, root=env["root"], log=lambda _: None
        )
        one = pd.read_csv(alone / "key_numbers.csv")
        row = table[(table["network"] == result.network_key) & (table["seed"] == seed)]
        pd.testing.assert_frame_equal(
            one[columns].reset_index(drop=True),
            row[columns].reset_index(drop=True),
            check_dtype=False,
        )


def test_the_same_command_again_resumes_and_redoes_nothing(smoke_sweep, env):
    before = runs(env["log"])
    result, lines = _sweep(env, smoke_sweep["inputs"], smoke_sweep["out"], [0, 1])
    assert result.ran == [] and len(result.skipped) == 6
    assert runs(env["log"]) == before
    assert any("6 finished earlier, 0 to run" in line for line in lines)


# ------------------------------------------------------- refused before running


def test_every_refusal_is_named_before_any_task_is_sent(env, tmp_path):
    short = tmp_path / "short.npy"
    np.save(short, np.zeros((10, 3)))
    listed = tmp_path / "networks.txt"
    listed.write_text("# a comment\n\nclip_vit_b32\nvgg16,features.30\n", encoding="utf-8")
    occupied = tmp_path / "out"
    (occupied / "vgg16" / "_default" / "seed-0").mkdir(parents=True)
    (occupied / sweep.SWEEP_STATE).write_text(json.dumps({"profile": PROFILE}))
    (occupied / "vgg16" / "_default" / "seed-0" / "mine.txt").write_text("the reader's")
    inputs = [
        *sweep.command_line_inputs(["vgg16", "no_such_network", str(short)]),
        *sweep.command_line_inputs([str(tmp_path / "missing.npy")]),
        *sweep.read_networks_file(listed),
        *sweep.command_line_inputs(["clip_vit_b32"]),
    ]
    before = runs(env["log"])
    with pytest.raises(sweep.SweepError) as caught:
        _sweep(env, inputs, occupied, [0])
    message = str(caught.value)
    assert "the sweep's inputs are refused (6 problems), nothing was run" in message
    assert "\n  --network no_such_network: expected a registered network" in message
    assert str(short) in message
    assert "missing.npy: no such file or folder" in message
    assert f"{listed}, line 4: --layer features.30: vgg16 is a registered network" in message
    assert "--network clip_vit_b32: the same report as " in message and "line 3" in message
    assert "vgg16/_default/seed-0: not empty and not a report" in message
    assert runs(env["log"]) == before
    assert sorted(p.name for p in occupied.iterdir()) == [sweep.SWEEP_STATE, "vgg16"]


def test_refusals_of_seeds_folders_and_the_networks_file(env, tmp_path):
    inputs = sweep.command_line_inputs(["clip_vit_b32"])
    with pytest.raises(ValueError, match=r"--seeds \[0, 1, 0\]: \[0\] given more than once"):
        sweep.plan(inputs, [0, 1, 0], PROFILE, tmp_path / "a", env["root"])
    with pytest.raises(ValueError, match=r"--seed -1: expected a non-negative integer"):
        sweep.plan(inputs, [-1], PROFILE, tmp_path / "a", env["root"])
    with pytest.raises(ValueError, match="expected at least one network"):
        sweep.plan([], [0], PROFILE, tmp_path / "a", env["root"])
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(sweep.SweepError, match=r"not empty and not a sweep \(no sweep.json\)"):
        _sweep(env, inputs, other, [0])
    (tmp_path / "smoke_sweep").mkdir()
    (tmp_path / "smoke_sweep" / sweep.SWEEP_STATE).write_text(json.dumps({"profile": "paper"}))
    with pytest.raises(sweep.SweepError, match=r"holds a sweep of profile 'paper'"):
        _sweep(env, inputs, tmp_path / "smoke_sweep", [0])
    bad = tmp_path / "bad.txt"
    bad.write_text("vgg16\na,b,c,d\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 2: 'a,b,c,d': expected NETWORK"):
        sweep.read_networks_file(bad)
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ValueError, match="lists no network"):
        sweep.read_networks_file(tmp_path / "empty.txt")


def test_spread_of_one_seed_has_no_sd_and_a_missing_number_stays_missing():
    row = {"network": "a", "label": "A", "layer": "", "seed": 0, "report": "a/_default/seed-0"}
    row |= {k.name: 1.0 for k in keynumbers.KEY_NUMBERS} | {"r2_min": math.nan}
    table = pd.DataFrame([row]).astype({"n_concepts": "Int64", "n_dimensions": "Int64"})
    spread = sweep.seed_spread(table).set_index("key_number")
    assert (spread["n_seeds"].drop("r2_min") == 1).all() and spread["sd"].isna().all()
    assert math.isnan(spread.loc["r2_min", "mean"]) and spread.loc["r2_min", "n_seeds"] == 0
    page = sweep.summary_markdown(table.assign(seconds=1.0), spread.reset_index(), "smoke")
    assert "| A | default | 1 | 1 |" in page and "(1 network, 1 seed)" in page


def test_networks_file_paths_are_relative_to_its_folder(tmp_path):
    (tmp_path / "feats").mkdir()
    np.save(tmp_path / "feats" / "a.npy", np.zeros((2, 2)))
    listed = tmp_path / "list.txt"
    listed.write_text("feats/a.npy\nefficientnet_lite0, _blocks.3 ,\nmine,,efficientnet_lite1\n")
    found = sweep.read_networks_file(listed)
    assert found[0].network == str((tmp_path / "feats" / "a.npy").resolve())
    assert (found[1].network, found[1].layer, found[1].picture_network) == (
        "efficientnet_lite0",
        "_blocks.3",
        None,
    )
    assert (found[2].network, found[2].layer, found[2].picture_network) == (
        "mine",
        "",
        "efficientnet_lite1",
    )
    assert found[2].origin == f"{listed}, line 3"


def test_layer_folders_are_distinct_and_safe():
    assert sweep.layer_folder("") == "_default"
    assert sweep.layer_folder("_blocks.3") == "_blocks.3"
    odd = [sweep.layer_folder(name) for name in ("a/b", "a b", "a_b", "..", "_default")]
    assert len(set(odd)) == len(odd)
    assert all("/" not in name and name not in (".", "..") for name in odd)


def test_cli_sweep_names_bad_input_and_exits_1(tmp_path):
    proc = run_book_cli(
        "sweep", "--network", "no_such_network", "--profile", PROFILE,
        "--output-dir", str(tmp_path / "out"), timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "error: the sweep's inputs are refused (1 problem)" in proc.stderr
    assert "--network no_such_network" in proc.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------- the report's seed


def test_every_network_chapter_declares_the_default_seed():
    for stem in (*report.NETWORK_CHAPTERS, report.GRADCAM_CHAPTER):
        declared = profiles.parameters_cell_values(REPO_ROOT / "notebooks" / f"{stem}.py")
        assert declared.get("seed") == report.DEFAULT_SEED, stem


def test_report_seed_is_part_of_the_report(smoke_sweep, env):
    out = smoke_sweep["out"] / "clip_vit_b32" / "_default" / "seed-1"
    state = json.loads((out / report.STATE_FILE).read_text())
    assert state["identity"]["seed"] == 1
    # the same folder with another seed is another report: refused, nothing run
    count = len(runs(env["log"]))
    with pytest.raises(report.ReportError, match=r"seed 1 \(asked: 0\)"):
        report.run_report("clip_vit_b32", out, profile=PROFILE, root=env["root"])
    assert len(runs(env["log"])) == count
    # the default seed is not injected: the chapters run as the book runs them
    found = report.resolve_input("clip_vit_b32", PROFILE)
    assert "seed" not in found.chapter_parameters(report.DEFAULT_SEED)
    assert found.chapter_parameters(2)["seed"] == 2


def test_stand_in_records_where_keynumbers_reads():
    net = report.resolve_input("clip_vit_b32", PROFILE).network
    for stem in report.NETWORK_CHAPTERS:
        record = keynumbers.record_path(PROFILE, net, stem)
        assert record == paths.key_numbers_dir(PROFILE, net) / f"{stem}.json"


def test_report_at_another_seed_of_the_books_own_network_is_refused(env, tmp_path):
    """Alone, its artefacts are the book's: another seed would replace them (a sweep
    gives each report an artefact folder of its own)."""
    before = snapshot(paths.artefacts_dir(PROFILE))
    for network in ("vgg16", "efficientnet_lite0"):
        with pytest.raises(report.ReportError, match=r"--seed 1 for .*the book's own"):
            report.run_report(
                network, tmp_path / network, profile=PROFILE, seed=1, root=env["root"]
            )
        assert not (tmp_path / network).exists()
    assert snapshot(paths.artefacts_dir(PROFILE)) == before
    with pytest.raises(ValueError, match=r"--seed 'x': expected a non-negative integer"):
        report.check_seed("x")


def test_stage_artefacts_links_all_but_the_networks_own(tmp_path):
    shared = tmp_path / "shared"
    names = ("a/one.txt", "a/two.txt", "a/two.txt.provenance.json", "mine/x.txt", ".tmp")
    for name in (*names, "upstream_runs/n.ipynb"):
        (shared / name).parent.mkdir(parents=True, exist_ok=True)
        (shared / name).write_text(name)
    target = tmp_path / "task"
    assert sweep.stage_artefacts(shared, target, ["mine", "a/two.txt"]) == 1
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == [
        ".staged",
        "a/one.txt",
    ]
    assert (target / "a" / "one.txt").stat().st_ino == (shared / "a" / "one.txt").stat().st_ino
    shutil.rmtree(shared / "a")
    assert sweep.stage_artefacts(shared, target, []) == 0  # staged once, kept
    assert (target / "a" / "one.txt").read_text() == "a/one.txt"


def test_a_picture_networks_features_are_computed_once_for_all_its_seeds(
    smoke_sweep, env, tmp_path, monkeypatch
):
    """One task per picture network computes its features (`networks.load` caches them),
    submitted before its reports, which wait for it and are staged from its folder."""
    from dnnalign_utils import networks

    inputs = sweep.command_line_inputs(["efficientnet_lite1", "clip_vit_b32"])
    out = tmp_path / "out"
    tasks = sweep.plan(inputs, [0, 1], PROFILE, out, env["root"])
    assert [t.kind for t in tasks] == ["pictures", "pictures", "concepts", "concepts"]
    # the summary places its reports at the depth of the module it is read at
    module, depth = sweep._layer_depth(tasks[0], PROFILE)
    assert module == "_avg_pooling" and 0.95 < depth <= 1
    assert sweep._layer_depth(tasks[2], PROFILE) is None

    # the queue: the picture network's inputs first, then CLIP's reports; the picture
    # network's reports wait for its inputs
    ready, waiting = sweep.task_queue(tasks)
    assert list(ready) == [
        (("inputs of efficientnet_lite1/_default", tasks[0]), None),
        (tasks[2], None),
        (tasks[3], None),
    ]
    assert waiting == {"efficientnet_lite1/_default": tasks[:2]}

    class Client:
        def __init__(self):
            self.calls = []

        def submit(self, function, *args, key, **options):
            self.calls.append((function.__name__, key, args))
            return f"future of {key}"

    client = Client()
    settings = dict(profile=PROFILE, output_dir=out, root=env["root"], threads=1, retries=0)
    sweep.submit_network_inputs(client, tasks[0], settings)
    done = {"folder": "its folder", "seconds": 1.0}
    sweep.submit_report(client, tasks[0], settings, done)
    assert [name for name, _, _ in client.calls] == ["run_network_inputs", "run_task"]
    assert client.calls[-1][2][-1] == done  # the report is staged from the inputs' folder

    # the task itself: the network's cache lands in its own folder under OUT, and a
    # report staged from there has it (as a hard link), the shared inputs too
    loaded = []

    def load(profile, network, progress=True):
        loaded.append(network.key)
        atomic_write_text(paths.network_features(profile, network) / "features.npy", "cached")

    monkeypatch.setattr(networks, "load", load)
    folder = sweep.run_network_inputs(
        sweep.asdict(tasks[0]), PROFILE, str(out), str(paths.artefacts_root())
    )["folder"]
    assert loaded == ["efficientnet_lite1"]
    assert Path(folder).is_relative_to(out / sweep.ARTEFACTS_FOLDER / sweep.NETWORKS_FOLDER)
    cached = next(Path(folder).rglob("features.npy"))
    report_root = tmp_path / "report" / PROFILE
    sweep.stage_artefacts(Path(folder), report_root, [])
    staged = report_root / cached.relative_to(folder)
    assert staged.stat().st_ino == cached.stat().st_ino
    assert (report_root / "features" / "efficientnet_lite0" / "value.txt").is_file()
    assert os.environ[paths.ARTEFACTS_ENV] == str(env["tmp"] / "artefacts")  # restored


def test_run_tasks_runs_each_task_once_on_local_workers_in_the_given_order(monkeypatch):
    """The engine chapter 7 runs its networks on: one task per name, each in a worker
    process that sees this process's environment, the results in the order given."""
    monkeypatch.setenv("SWEEP_TEST_SEEN", "by the workers")
    arguments = {"c": (3, 4), "a": (2, 10), "b": (7, 0)}
    assert sweep.run_tasks(pow, arguments, n_workers=2, progress=False) == {
        "c": 81,
        "a": 1024,
        "b": 1,
    }
    seen = sweep.run_tasks(os.environ.get, {"x": ("SWEEP_TEST_SEEN",)}, progress=False)
    assert seen == {"x": "by the workers"}
    (pid,) = sweep.run_tasks(os.getpid, {"pid": ()}, n_workers=0, progress=False).values()
    assert pid != os.getpid()
    assert sweep.run_tasks(pow, {}, progress=False) == {}


def test_run_tasks_names_every_failed_task():
    import operator

    arguments = {"fine": (1, 2), "broken": (1, 0), "also broken": (2, 0)}
    with pytest.raises(sweep.SweepError) as raised:
        sweep.run_tasks(operator.truediv, arguments, n_workers=1, retries=0, progress=False)
    message = str(raised.value)
    assert message.startswith("2 of 3 tasks (tasks) failed:")
    assert "broken: ZeroDivisionError" in message and "also broken: ZeroDivisionError" in message
    assert "fine" not in message
    with pytest.raises(ValueError, match="retries=-1"):
        sweep.run_tasks(pow, {"a": (1, 1)}, retries=-1)


def test_layer_figure_places_each_layer_at_its_depth():
    """Layers given out of depth order are drawn in depth order; a network without a
    model keeps the order given, and its legend says so."""
    rows = []
    for network, layers in (("net", [("late", 0.9), ("early", 0.1), ("mid", 0.5)]),):
        for layer, depth in layers:
            for seed in (0, 1):
                rows.append(
                    dict(network=network, label="Net", layer=layer, seed=seed, depth=depth)
                )
    for layer in ("b", "a"):
        rows.append(dict(network="own", label="Own", layer=layer, seed=0, depth=math.nan))
    rows.append(dict(network="vgg", label="VGG", layer="", seed=0, depth=math.nan))
    table = pd.DataFrame(rows)
    for index, name in enumerate(sweep.ALIGNMENT_NUMBERS):
        table[name] = [
            10 * index + {"early": 1, "mid": 2, "late": 3, "a": 4, "b": 5, "": 6}[la] + 0.1 * s
            for la, s in zip(table["layer"], table["seed"], strict=True)
        ]
    figure = sweep.layer_figure(table)
    net, own, vgg = figure.data[:3]
    assert list(net.text) == ["early", "mid", "late"] and list(net.x) == [0.1, 0.5, 0.9]
    assert np.allclose(net.y, [1.05, 2.05, 3.05])
    assert list(own.text) == ["b", "a"] and list(own.x) == [0.5, 1.0]
    assert own.name == "Own (layers in the order given)"
    assert list(vgg.x) == [1.0] and vgg.name.startswith("VGG (its features")


def test_finishing_yields_every_future_and_those_added_while_waiting():
    """The sweep's wait: futures as they finish, a failed one with its error, more added
    while waiting (a picture network's reports, once its inputs are done)."""
    import operator

    with sweep.dask_client(n_workers=2, dashboard=False) as client:
        first = {client.submit(pow, 2, n, pure=False): f"2^{n}" for n in (3, 4)}
        broken = client.submit(operator.truediv, 1, 0, pure=False)
        finishing = sweep.Finishing(
            {**first, broken: "broken"}, desc="t", unit="t", progress=False, total=4
        )
        seen = {}
        for what, done, error in finishing:
            seen[what] = error if error is not None else done
            if what == "2^3":
                finishing.add(client.submit(pow, 3, 2, pure=False), "3^2")
    assert seen["2^3"] == 8 and seen["2^4"] == 16 and seen["3^2"] == 9
    assert isinstance(seen["broken"], ZeroDivisionError)
    assert len(finishing.counted) == 4


def test_a_free_worker_takes_the_next_report(tmp_path, monkeypatch):
    """Tasks go out only as workers free up, never more than the workers' threads: Dask
    gives a task a worker when it is submitted, and in a default sweep that sent a
    picture network's two reports at once, both went to one worker and ran in turn while
    the other sat idle. Here the two run on both workers at once. The tasks are
    stand-ins that sleep and note where and when they ran."""
    import time as clock

    notes = tmp_path / "notes.txt"

    def fake_inputs(task, profile, output_dir, shared_root, threads=None):
        clock.sleep(2)
        with open(notes, "a", encoding="utf-8") as handle:
            handle.write(f"{task['key']} -1 inputs 0 {clock.time()}\n")
        return {"folder": "inputs", "seconds": 2.0}

    def fake_report(task, profile, output_dir, shared_root, root, threads, network_inputs):
        from distributed import get_worker

        start = clock.time()
        # the other worker is still busy when the inputs are done, and free soon after
        clock.sleep(
            {("concepts", 0): 0.8, ("concepts", 1): 2.5}.get((task["kind"], task["seed"]), 3.0)
        )
        with open(notes, "a", encoding="utf-8") as handle:
            handle.write(
                f"{task['key']} {task['seed']} {get_worker().address} {start} {clock.time()}\n"
            )
        return {"folder": task["folder"], "ran": [], "skipped": [], "seconds": 1.0}

    monkeypatch.setattr(sweep, "run_network_inputs", fake_inputs)
    monkeypatch.setattr(sweep, "run_task", fake_report)
    sent = []  # (what, when) as the sweep sends each task

    def noting(submit):
        def send(client, task, *args):
            sent.append((task.key if args[1:] == () else (task.key, task.seed), clock.time()))
            return submit(client, task, *args)

        return send

    monkeypatch.setattr(sweep, "submit_report", noting(sweep.submit_report))
    monkeypatch.setattr(sweep, "submit_network_inputs", noting(sweep.submit_network_inputs))

    def task(key, kind, seed):
        return sweep.SweepTask(
            key, "", None, seed, key, key, f"{key}/_default/seed-{seed}", "t", kind=kind
        )

    todo = [task("pictures", "pictures", 0), task("pictures", "pictures", 1)]
    todo += [task("concepts", "concepts", 0), task("concepts", "concepts", 1)]
    result = sweep.SweepResult(tmp_path)
    settings = dict(profile=PROFILE, output_dir=tmp_path, root=tmp_path, threads=1, retries=0)
    with sweep.dask_client(n_workers=2, dashboard=False) as client:
        sweep._run_on(client, todo, result, settings, progress=False, log=lambda line: None)
    assert sorted(result.ran) == sorted(t.name for t in todo) and not result.failed
    ran = {}
    for line in notes.read_text().splitlines():
        key, seed, worker, start, end = line.split()
        ran[(key, int(seed))] = (worker, float(start), float(end))
    first, second = ran[("pictures", 0)], ran[("pictures", 1)]
    assert first[0] != second[0]  # on both workers
    assert max(first[1], second[1]) < min(first[2], second[2])  # at the same time
    # never more tasks out than workers: each went when one was free
    ends = {what: ran[what][2] for what in ran}
    ends["pictures"] = ran.pop(("pictures", -1))[2]
    for _, when in sent:
        out = [w for w, t in sent if t <= when and ends[w] > when]
        assert len(out) <= 2, (when, out)
    assert len(sent) == 5  # the inputs and four reports
