"""Embedding growth curves (dnnalign_utils.curves) at tiny size: runs, resumes, seeds."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from dnnalign_utils import curves
from dnnalign_utils.provenance import read_provenance, verify_provenance, write_provenance

TINY = curves.CurveSettings(
    seed=3, max_epochs=4, min_epochs=4, stability_window=2, record_every=2, n_val=300
)
VALUE_COLUMNS = [c for c in curves.COLUMNS if c not in curves.TIMING_COLUMNS]


@pytest.fixture(scope="module")
def tiny_features():
    rng = np.random.default_rng(0)
    return np.abs(rng.normal(size=(30, 4))) * np.array([3.0, 2.0, 1.0, 0.5])


def _measure(features, output, betas=(0.5,), settings=TINY, **kwargs):
    return curves.measure_curve(
        features, "toy", [2_000], betas, output, settings=settings,
        checkpoint_dir=output.parent / "ckpt", progress=False, **kwargs,
    )  # fmt: skip


def test_record_epochs_known_answers():
    settings = curves.CurveSettings(max_epochs=60, record_every=20)
    assert curves.record_epochs(settings) == [20, 40, 60]
    assert curves.record_epochs(curves.CurveSettings(max_epochs=50, record_every=20)) == [
        20,
        40,
        50,
    ]
    assert curves.record_epochs(curves.CurveSettings(max_epochs=5, record_every=20)) == [5]


def test_r2_summary_matches_direct_computation():
    r2 = np.array([0.9, 0.8, 0.7, 0.95, 0.5])
    summary = curves.r2_summary(r2)
    assert summary["r2_median"] == 0.8
    assert summary["r2_min"] == 0.5
    assert summary["r2_share_above_75"] == 3 / 5  # 0.9, 0.8, 0.95
    assert summary["r2_share_above_85"] == 2 / 5  # 0.9, 0.95
    assert all(np.isnan(v) for v in curves.r2_summary([]).values())


def test_settings_refuse_bad_values():
    with pytest.raises(ValueError, match="record_every"):
        curves.CurveSettings(record_every=0)
    with pytest.raises(ValueError, match="test_fraction"):
        curves.CurveSettings(test_fraction=1.0)
    with pytest.raises(ValueError, match="rsm_objects"):
        curves.CurveSettings(rsm_objects=1)


def test_curve_runs_and_records_along_the_fit(tiny_features, tmp_path):
    output = tmp_path / "curve.csv"
    curve = _measure(tiny_features, output, betas=(0.5, 2.0))
    assert list(curve.columns) == list(curves.COLUMNS)
    assert verify_provenance(output) is not None
    for _, fit_rows in curve.groupby("beta"):
        assert list(fit_rows["epoch"]) == [2, 4]  # record_every 2 up to max_epochs 4
        assert list(fit_rows["final"]) == [False, True]
        assert (fit_rows["n_train"] == 1_800).all()  # 90 % of the sampled triplets
    assert (curve["dims_kept"] <= 100).all()
    assert curve["heldout_accuracy"].between(0, 1).all()
    assert len(curves.final_rows(curve)) == 2
    record = read_provenance(output)
    assert record["parameters"]["machine"]["cpu_count"] >= 1
    # a reader can tell whether the curve belongs to the features at hand (float32 stored
    # features hash as the float64 the curve measured on)
    recorded = record["input_sha256"]["features"]
    assert recorded == curves.features_sha256(tiny_features)
    stored = tiny_features.astype(np.float32)
    assert curves.features_sha256(stored) == curves.features_sha256(stored.astype(np.float64))
    assert recorded != curves.features_sha256(tiny_features + 1e-3)
    assert record["parameters"]["identity"]["settings"]["seed"] == TINY.seed
    (run,) = record["parameters"]["runs"]
    assert "commit" in run["code_revision"] and run["grid"]["betas"] == [0.5, 2.0]
    assert record["parameters"]["fit_seconds_total"] > 0


def test_same_seed_gives_same_rows(tiny_features, tmp_path):
    first = _measure(tiny_features, tmp_path / "a" / "curve.csv")
    second = _measure(tiny_features, tmp_path / "b" / "curve.csv")
    pd.testing.assert_frame_equal(first[VALUE_COLUMNS], second[VALUE_COLUMNS])
    other_seed = _measure(
        tiny_features, tmp_path / "c" / "curve.csv", settings=dataclasses.replace(TINY, seed=4),
    )  # fmt: skip
    assert not other_seed[VALUE_COLUMNS].equals(first[VALUE_COLUMNS])


def test_interrupted_curve_resumes_to_the_uninterrupted_rows(tiny_features, tmp_path, monkeypatch):
    reference = _measure(tiny_features, tmp_path / "ref" / "curve.csv", betas=(0.5, 2.0))
    output = tmp_path / "run" / "curve.csv"
    calls = {"n": 0}
    score = curves._Evaluator.__call__

    def interrupted(self, weights):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("simulated interruption")
        return score(self, weights)

    monkeypatch.setattr(curves._Evaluator, "__call__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _measure(tiny_features, output, betas=(0.5, 2.0))
    partial = curves.load_curve(output)
    assert len(partial) == 1 and not partial["final"].any()
    monkeypatch.setattr(curves._Evaluator, "__call__", score)
    resumed = _measure(tiny_features, output, betas=(0.5, 2.0))
    pd.testing.assert_frame_equal(resumed[VALUE_COLUMNS], reference[VALUE_COLUMNS])
    # the row written before the interruption was kept, not scored again
    assert resumed.loc[0, "eval_seconds"] == partial.loc[0, "eval_seconds"]


def test_grown_grid_keeps_the_rows_already_measured(tiny_features, tmp_path):
    output = tmp_path / "curve.csv"
    small = _measure(tiny_features, output, betas=(0.5,))
    grown = _measure(tiny_features, output, betas=(0.5, 2.0))
    pd.testing.assert_frame_equal(grown[grown["beta"] == 0.5].reset_index(drop=True), small)
    assert set(grown["beta"]) == {0.5, 2.0}
    runs = read_provenance(output)["parameters"]["runs"]
    assert [run["grid"]["betas"] for run in runs] == [[0.5], [0.5, 2.0]]


def test_other_settings_refuse_to_resume(tiny_features, tmp_path):
    output = tmp_path / "curve.csv"
    _measure(tiny_features, output)
    changed = dataclasses.replace(TINY, max_epochs=6)
    with pytest.raises(ValueError, match="other settings"):
        _measure(tiny_features, output, settings=changed)


def test_load_curve_names_missing_columns(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"network": ["x"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="bad.csv: missing columns"):
        curves.load_curve(path)


def test_command_line_on_the_embedded_vgg16_features(tmp_path, monkeypatch):
    monkeypatch.setenv("DNNALIGN_CACHE_DIR", str(tmp_path / "cache"))
    output = tmp_path / "vgg.csv"
    curve = curves.main(
        ["--triplets", "3000", "--betas", "1", "--max-epochs", "2", "--min-epochs", "2",
         "--stability-window", "1", "--record-every", "1", "--rsm-objects", "40",
         "--output", str(output)]
    )  # fmt: skip
    assert list(curve["epoch"]) == [1, 2]
    assert (curve["network"] == "vgg16").all()
    record = json.loads(output.with_name("vgg.csv.provenance.json").read_text())
    assert record["produced_by"].startswith("python -m dnnalign_utils.curves --triplets 3000")
    assert record["parameters"]["identity"]["settings"]["relu"] is False


def test_resume_keeps_the_run_of_a_first_format_record(tiny_features, tmp_path):
    output = tmp_path / "curve.csv"
    _measure(tiny_features, output, betas=(0.5,))
    record = read_provenance(output)
    (run,) = record["parameters"].pop("runs")
    record["parameters"].update(  # the record as the first version of the module wrote it
        grid=run["grid"], code_revision=run["code_revision"], machine=run["machine"],
        load_average_at_start=run["load_average_at_start"],
        load_average_now=run["load_average_at_end"], wall_seconds_this_run=run["wall_seconds"],
    )  # fmt: skip
    record["produced_by"] = "first command"
    write_provenance(output, record)
    _measure(tiny_features, output, betas=(0.5, 2.0))
    runs = read_provenance(output)["parameters"]["runs"]
    assert [r["command"] for r in runs][0] == "first command"
    assert curves.commands(read_provenance(output))[0] == "first command"
    assert runs[0]["grid"]["betas"] == [0.5] and runs[1]["grid"]["betas"] == [0.5, 2.0]


def test_commands_leave_out_the_local_checkpoint_folder():
    record = {
        "parameters": {
            "runs": [
                {"command": "python -m m --a 1 --checkpoint-dir /x/y --b 2"},
                {"command": "python -m m --checkpoint-dir=/x/y --b 3"},
            ]
        }
    }
    assert curves.commands(record) == ["python -m m --a 1 --b 2", "python -m m --b 3"]


# ------------------------------------------------ reading a shipped curve (chapter 2)


def _final_rows(**columns):
    base = {"n_dims_initial": 100, "final": True}
    return pd.DataFrame({**{k: [v] * len(columns["beta"]) for k, v in base.items()}, **columns})


def test_findings_read_a_curve_against_the_papers_marks():
    final = _final_rows(
        n_train=[900, 900, 1800, 1800, 900], beta=[3.0, 1.0, 3.0, 0.24, 0.24],
        dims_kept=[65, 100, 80, 98, 100], rsm_variance_explained=[0.80, 0.86, 0.85, 0.87, 0.845],
        r2_median=[0.86, 0.70, 0.80, 0.60, 0.65],
    )  # fmt: skip
    found = curves.findings(final, n_train=900, beta=3.0, own_point=True)
    assert found == {
        "meet_ve": 4,  # 0.86, 0.85, 0.87 and 0.845 reach 0.8403
        "meet_ve_all_kept": 2,  # two of them kept all 100
        "meet_both": 1,  # 80 <= 1.2 * 70 dimensions; 98 and 100 are more
        "best_pruned_dims": 80,  # of the fits with at most 84 (65 and 80), the better
        "best_pruned_ve": pytest.approx(85.0),
        "best_pruned_n": 1800,
        "best_pruned_beta": 3.0,
        "best_pruned_r2": pytest.approx(80.0),
        "paper_beta_min_dims": 98,
        "here_dims": 65,
        "here_ve": pytest.approx(80.0),
    }
    elsewhere = curves.findings(final, n_train=900, beta=3.0, own_point=False)
    assert elsewhere["here_dims"] == -1 and np.isnan(elsewhere["here_ve"])
    assert curves.findings(final, n_train=5, beta=3.0, own_point=True)["here_dims"] == -1


def test_settings_tried_name_the_extremes_the_chosen_setting_and_the_small_starts():
    final = _final_rows(
        n_sampled=[500, 500, 1000, 500, 500], beta=[0.5, 4.0, 2.0, 1.0, 1.0],
        n_dims_initial=[100, 100, 100, 30, 20], dims_kept=[96, 10, 40, 30, 20],
        rsm_variance_explained=[0.9, 0.4, 0.7, 0.6, 0.5], r2_median=[0.5, 0.8, 0.7, 0.55, 0.6],
        n_train=[450, 450, 900, 450, 450], epoch=[30, 30, 25, 30, 30],
    )  # fmt: skip
    tried = curves.settings_tried(final, n_sampled=1000, beta=2.0)
    row = {"most": 0, "fewest": 1, "chosen": 2}
    for which, i in row.items():
        assert tried[f"{which}_dims"] == final["dims_kept"][i]
        assert tried[f"{which}_ve"] == pytest.approx(100 * final["rsm_variance_explained"][i])
        assert tried[f"{which}_r2"] == pytest.approx(100 * final["r2_median"][i])
        assert tried[f"{which}_beta"] == final["beta"][i]
        assert tried[f"{which}_n"] == final["n_train"][i]
        assert tried[f"{which}_epoch"] == final["epoch"][i]
    assert tried["small_start_dims"] == 20 and tried["small_start_kept"] == 20
    assert tried["small_start_r2"] == pytest.approx(60.0)
    missing = curves.settings_tried(final, n_sampled=7, beta=2.0)  # a smoke run's settings
    assert all(np.isnan(missing[f"chosen_{k}"]) for k in ("dims", "ve", "r2", "beta", "n"))
    assert missing["most_dims"] == 96


def test_paper_marks_and_comparison_put_a_fit_next_to_the_papers_vgg16():
    r2 = {"r2_min": 0.5, "r2_share_above_75": 0.25, "r2_median": 0.7}
    marks = curves.paper_marks(65, 0.8, r2)
    assert marks.index.name == "measure"
    assert marks["ours"].tolist() == pytest.approx([65, 80.0, 50.0, 25.0, 70.0])
    assert marks["paper"].tolist() == pytest.approx([70, 84.03, 75.0, 100.0, 85.0])
    np.testing.assert_allclose(marks["ours − paper"], marks["ours"] - marks["paper"])
    assert marks.loc["kept dimensions", "paper's mark reads"] == "about"
    compared = curves.paper_comparison(65, 0.8, r2)
    assert compared["dims_gap"] == -5 and isinstance(compared["dims_gap"], int)
    assert compared["ve_gap"] == pytest.approx(80.0 - 84.03)
    assert (compared["r2_median"], compared["r2_min"]) == pytest.approx((70.0, 50.0))
    assert compared["r2_share75"] == pytest.approx(25.0)


def test_measurement_summary_and_measured_on(tiny_features):
    curve = pd.DataFrame(
        {"final": [False, True, True], "beta": [0.24, 0.24, 3.0],
         "n_train": [450_000, 450_000, 1_800_000], "train_seconds": [60.0, 120.0, 240.0],
         "eval_seconds": [30.0, 30.0, 60.0]}
    )  # fmt: skip
    record = {
        "parameters": {"machine": {"cpu_count": 2, "torch_threads": 1}},
        "input_sha256": {"features": curves.features_sha256(tiny_features)},
    }
    assert curves.measurement_summary(curve, record) == {
        "cores": 2,
        "threads": 1,
        "fits": 2,
        "fit_minutes": pytest.approx(6.0),  # the final rows' training time
        "eval_minutes": pytest.approx(2.0),  # every row's scoring time
        "range": "β from 0.24 to 3 on 450,000 to 1,800,000 training triplets",
    }
    assert curves.measured_on(record, tiny_features)
    assert not curves.measured_on(record, tiny_features + 1)


def test_shipped_curves_come_with_their_checked_record(tmp_path, monkeypatch):
    from dnnalign_utils import paths
    from dnnalign_utils.provenance import ProvenanceMismatchError

    curve, record = curves.shipped("vgg16")
    pd.testing.assert_frame_equal(curve, curves.load_curve(paths.shipped_curve("vgg16")))
    assert record == verify_provenance(paths.shipped_curve("vgg16"))
    copy = tmp_path / "vgg16_embedding_curve.csv"
    copy.write_bytes(paths.shipped_curve("vgg16").read_bytes())
    monkeypatch.setattr(paths, "shipped_curve", lambda network: copy)
    with pytest.raises(ValueError, match="no provenance record"):
        curves.shipped("vgg16")
    write_provenance(copy, record, artefact_sha256="0" * 64)  # bytes it does not vouch for
    with pytest.raises(ProvenanceMismatchError):
        curves.shipped("vgg16")
