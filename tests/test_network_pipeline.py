"""network_pipeline: one network through the pipeline (chapter 7): its triplets against a slow
reference, reuse of another chapter's fit of the same run only, cached numbers recorded
as key numbers, and the book's own network read from what chapters 1-6 recorded."""

from __future__ import annotations

import dataclasses
import itertools
import os

import numpy as np
import pytest

from dnnalign_utils import keynumbers, network_pipeline, paths
from dnnalign_utils.networks import ConceptFeatures, Network

TINY = network_pipeline.PipelineSettings(
    n_triplets=3_000, beta=1.0, max_epochs=2, min_epochs=1, stability_window=1, n_val=200,
    n_alphas=5,
)  # fmt: skip


def _network(key="toy"):
    return Network(key, key, "Toy", "features")


def _net(n=30, d=6, key="toy", seed=0):
    values = np.random.default_rng(seed).gamma(1.0, size=(n, d))
    return ConceptFeatures(
        values,
        np.arange(0, 2 * n, 2),
        "Toy",
        "test",
        key=key,
        input_hashes={"f": str(seed)},
        network=_network(key),
    )


def test_settings_are_checked():
    with pytest.raises(ValueError, match="n_triplets"):
        dataclasses.replace(TINY, n_triplets=0)
    with pytest.raises(ValueError, match="test_fraction=1.5"):
        dataclasses.replace(TINY, test_fraction=1.5)
    with pytest.raises(ValueError, match="expected min < max"):
        dataclasses.replace(TINY, alpha_log10_min=3.0, alpha_log10_max=1.0)
    with pytest.raises(ValueError, match="beta"):
        dataclasses.replace(TINY, beta=-1.0)
    config = TINY.vice_config()
    assert (config.beta, config.max_epochs, config.min_epochs) == (1.0, 2, 1)
    np.testing.assert_allclose(TINY.alpha_grid(), np.logspace(-2, 6, 5))


def test_network_triplets_keep_the_most_similar_pair_together():
    net = _net()
    train, test = network_pipeline.network_triplets(net.values, TINY, progress=False)
    assert len(train) + len(test) == TINY.n_triplets
    assert len(test) == round(TINY.test_fraction * TINY.n_triplets)
    keys = {tuple(sorted(row)) for row in np.concatenate([train, test])}
    assert len(keys) == TINY.n_triplets  # unique unordered triplets
    for a, b, odd in itertools.islice(train, 500):  # slow reference: every pair by hand
        pairs = {
            frozenset(p): float(net.values[p[0]] @ net.values[p[1]])
            for p in itertools.combinations((a, b, odd), 2)
        }
        assert max(pairs, key=pairs.get) == frozenset((a, b))


def test_a_finished_fit_of_the_same_run_is_reused_and_no_other(tmp_path):
    net = _net()
    first, source = network_pipeline.fit_embedding(net, TINY, tmp_path / "ch2", progress=False)
    assert source == "fitted here"
    # chapter 2's checkpoint of the same run, named with its prefix
    (tmp_path / "ch2" / next((tmp_path / "ch2").glob("*.ckpt")).name).rename(
        tmp_path / "ch2" / ("other_" + next((tmp_path / "ch2").glob("*.ckpt")).name)
    )
    reused, source = network_pipeline.fit_embedding(
        net, TINY, tmp_path / "ch7", reuse=[(tmp_path / "ch2", "other_toy_")], progress=False
    )
    assert source.startswith("reused")
    np.testing.assert_array_equal(reused.embedding.weights, first.embedding.weights)
    again, source = network_pipeline.fit_embedding(net, TINY, tmp_path / "ch7", progress=False)
    assert source == "resumed from this chapter's checkpoint"
    other = dataclasses.replace(TINY, beta=2.0)  # another run: never taken from chapter 2
    _, source = network_pipeline.fit_embedding(
        net, other, tmp_path / "ch7b", reuse=[(tmp_path / "ch2", "other_toy_")], progress=False
    )
    assert source == "fitted here"


def test_run_network_records_cached_numbers_and_recomputes_on_other_settings(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    calls = []

    def fake_numbers(net, weights, settings, rater, *, progress=True):
        calls.append(settings)
        numbers = {k.name: float(i) for i, k in enumerate(keynumbers.KEY_NUMBERS)}
        numbers["noise_ceiling"] = float("nan")
        r2 = np.linspace(0.2, 0.9, weights.shape[1])
        return numbers, r2, ["visual"] * weights.shape[1], {"ridge": 0.1}

    monkeypatch.setattr(network_pipeline, "embedding_numbers", fake_numbers)
    net = _net()
    run = network_pipeline.run_network("smoke", net, TINY, rater=lambda: "rater", progress=False)
    assert len(calls) == 1 and np.isnan(run.numbers["noise_ceiling"])
    recorded = keynumbers.collect("smoke", _network())
    assert recorded["label"] == "Toy" and recorded["r2_min"] == run.numbers["r2_min"]
    assert keynumbers.missing_chapters("smoke", _network()) == []
    assert keynumbers.missing_chapters("smoke", _network("nobody")) == list(keynumbers.CHAPTERS)
    folder = paths.network_comparison("smoke", _network())
    assert (folder / network_pipeline.EMBEDDING_FILE).is_file()
    again = network_pipeline.run_network("smoke", net, TINY, rater=lambda: "rater", progress=False)
    assert len(calls) == 1  # read back
    np.testing.assert_array_equal(again.r2, run.r2)
    network_pipeline.run_network(
        "smoke", net, dataclasses.replace(TINY, rsm_objects=10), rater="rater", progress=False
    )
    assert len(calls) == 2  # other settings: computed again


def test_the_books_network_needs_what_chapters_1_to_6_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    net = _net(key=paths.DEFAULT_NETWORK)
    with pytest.raises(FileNotFoundError, match="no key numbers of 01_triplet_task.*--only"):
        network_pipeline.recorded_network("smoke", net, TINY, progress=False)


def _toy_rater(n):
    """Chapter 5's rater on toy predictors of the first `n` THINGS concepts (visual and
    semantic predictors see different latent properties)."""
    import pandas as pd

    from dnnalign_utils import autorate

    rng = np.random.default_rng(0)
    visual_latent = pd.DataFrame(rng.normal(size=(n, 4)), columns=[f"v{i}" for i in range(4)])
    semantic_latent = pd.DataFrame(
        (rng.uniform(size=(n, 4)) < 0.3).astype(float), columns=[f"s{i}" for i in range(4)]
    )
    host = np.maximum(rng.normal(size=(n, 8)) - 0.8, 0)
    planted, values = autorate.planted_validation_set(
        visual_latent, semantic_latent, host, n_per_class=4, seed=1
    )
    rater = autorate.Rater(
        objects=np.arange(n),
        semantic_blocks={"s": semantic_latent.to_numpy() @ rng.normal(size=(4, 12))},
        visual_blocks={"v": visual_latent.to_numpy() @ rng.normal(size=(4, 12))},
        visual_layers=("probe",),
        rules={},
        method="",
        validation=pd.DataFrame(),
        alpha_grid=np.logspace(-2, 5, 8),
        n_null=300,
    )
    return autorate.calibrated(rater, planted, values)


def test_embedding_numbers_are_the_chapters_own():
    """Reference: each chapter's key-number function called directly, as the chapters do."""
    from dnnalign_utils import autorate, compare, fitting, regression, triplets

    n = 90
    rng = np.random.default_rng(3)
    net = ConceptFeatures(
        rng.gamma(1.0, size=(n, 10)), np.arange(n), "Toy", "test", key="toy", network=_network()
    )
    weights = rng.gamma(0.5, size=(n, 4))
    settings = dataclasses.replace(TINY, rsm_objects=40)
    rater = _toy_rater(n)
    numbers, r2, labels, seconds = network_pipeline.embedding_numbers(
        net, weights, settings, rater, progress=False
    )
    ridge = regression.nested_cv_ridge(
        net.values, weights, settings.alpha_grid(), outer_seed=0, inner_seed=1, refit=False,
        progress=False,
    )  # fmt: skip
    expected_labels = autorate.rate_network(rater, weights, net.things_index)["label"].tolist()
    expected = {
        **triplets.network_choice_agreement(net, seed=0),
        **fitting.network_embedding_numbers(weights, net, rsm_objects=40),
        **regression.network_r2_numbers(ridge.r2),
        **autorate.label_shares(expected_labels),
        **compare.network_human_numbers(weights, net.things_index, seed=0, rsm_objects=40),
    }
    assert sorted(numbers) == sorted(k.name for k in keynumbers.KEY_NUMBERS)
    np.testing.assert_equal(numbers, expected)  # NaN equals NaN here
    np.testing.assert_array_equal(r2, ridge.r2)
    assert labels == expected_labels and set(seconds) == {
        "agreement", "similarity", "ridge", "labels", "human"
    }  # fmt: skip


# ------------------------------------------------------------ chapter 7's comparison


def _features(key, n, d=3):
    """Features of the first `n` THINGS concepts (all 1,854: a network of all concepts)."""
    return ConceptFeatures(
        np.ones((n, d)), np.arange(n), key.upper(), "test", key=key, description=f"{key} net"
    )


def test_load_networks_gives_the_picture_choice_to_picture_networks_only(monkeypatch):
    from dnnalign_utils import networks

    monkeypatch.setattr(networks, "load", lambda profile, network: (profile, network))
    names = ["vgg16", "efficientnet_lite0", "clip_vit_b32"]
    nets, seconds = network_pipeline.load_networks(
        "smoke", names, image_styles=["noto"], n_image_concepts=5, progress=False
    )
    assert list(nets) == list(seconds) == names
    assert nets["vgg16"] == ("smoke", networks.resolve("vgg16"))
    assert nets["clip_vit_b32"] == ("smoke", networks.resolve("clip_vit_b32"))
    assert nets["efficientnet_lite0"] == (
        "smoke",
        networks.resolve("efficientnet_lite0", image_styles=["noto"], n_image_concepts=5),
    )
    assert all(s >= 0 for s in seconds.values())


def test_picture_styles_phrase():
    assert network_pipeline.picture_styles_phrase(["noto"]) == "noto drawing"
    assert network_pipeline.picture_styles_phrase(("noto", "twemoji")) == "noto, twemoji drawings"
    assert network_pipeline.picture_styles_phrase([]) == "drawings in all seven styles"


def test_run_networks_reads_the_books_network_and_gives_each_kind_its_settings(monkeypatch):
    from dnnalign_utils.conventions import N_OBJECTS

    calls = []

    def fake_recorded(profile, net, settings, *, progress=True):
        calls.append(("recorded", net.key, settings))
        return network_pipeline.NetworkRun(net.key, net.label, "", {}, np.zeros(0), [], "r")

    def fake_run(profile, net, settings, *, rater=None, progress=True):
        calls.append(("run", net.key, settings, rater))
        return network_pipeline.NetworkRun(net.key, net.label, "", {}, np.zeros(0), [], "f")

    monkeypatch.setattr(network_pipeline, "recorded_network", fake_recorded)
    monkeypatch.setattr(network_pipeline, "run_network", fake_run)
    pictures = dataclasses.replace(TINY, n_triplets=500)
    nets = {
        "book": _features(paths.DEFAULT_NETWORK, N_OBJECTS),
        "all": _features("all", N_OBJECTS),
        "some": _features("some", 40),
    }
    runs, seconds = network_pipeline.run_networks(
        "smoke", nets, TINY, pictures, rater="the rater", progress=False
    )
    assert list(runs) == list(seconds) == ["book", "all", "some"]
    assert calls == [
        ("recorded", paths.DEFAULT_NETWORK, TINY),
        ("run", "all", TINY, "the rater"),
        ("run", "some", pictures, "the rater"),
    ]
    assert [runs[n].key for n in runs] == [net.key for net in nets.values()]
    # run as tasks (chapter 7: `sweep.run_tasks`): the same calls, one task per network;
    # a task builds its own rater (None), as a Dask worker does
    calls.clear()
    mapped = []

    def map_tasks(function, arguments):
        mapped.append((function, list(arguments)))
        return {name: function(*args) for name, args in reversed(arguments.items())}

    tasks_runs, tasks_seconds = network_pipeline.run_networks(
        "smoke", nets, TINY, pictures, map_tasks=map_tasks, progress=False
    )
    assert mapped == [(network_pipeline.network_task, ["book", "all", "some"])]
    assert list(tasks_runs) == list(tasks_seconds) == ["book", "all", "some"]
    assert sorted(calls, key=str) == sorted(
        [
            ("recorded", paths.DEFAULT_NETWORK, TINY),
            ("run", "all", TINY, None),
            ("run", "some", pictures, None),
        ],
        key=str,
    )
    assert [r.fit_source for r in tasks_runs.values()] == ["r", "f", "f"]
    timing = network_pipeline.timing_table(runs, {n: 1.0 for n in nets}, seconds)
    assert timing["network"].tolist() == [net.label for net in nets.values()]
    assert timing["embedding"].tolist() == ["r", "f", "f"]
    assert timing["features: seconds here"].tolist() == [1.0, 1.0, 1.0]


def test_tables_of_the_networks_and_their_settings():
    nets = {"a": _features("a", 10, d=4), "b": _features("b", 7, d=2)}
    table = network_pipeline.networks_table(nets)
    assert table.to_dict("list") == {
        "network": ["A", "B"],
        "key (artefacts)": ["a", "b"],
        "concepts": [10, 7],
        "features": [4, 2],
        "what it is": ["a net", "b net"],
    }
    pictures = dataclasses.replace(TINY, n_triplets=500)
    settings = network_pipeline.settings_table(TINY, pictures)
    assert list(settings.index) == [f.name for f in dataclasses.fields(TINY)]
    assert settings.loc["n_triplets"].tolist() == [TINY.n_triplets, 500]
    assert settings.loc["beta"].tolist() == [TINY.beta, TINY.beta]


def _scored(n_responses, n_triplets, ceiling_responses=0):
    from types import SimpleNamespace

    return SimpleNamespace(
        agreement=None if n_responses is None else SimpleNamespace(n_responses=n_responses),
        ceiling=None
        if n_triplets is None
        else SimpleNamespace(n_triplets=n_triplets, n_responses=ceiling_responses),
    )


def test_sample_sizes_and_the_smallest_of_each_kind():
    import pandas as pd

    from dnnalign_utils.conventions import N_OBJECTS

    scored = {
        "full1": _scored(20_000, 1_000),
        "full2": _scored(19_000, 1_000),
        "pic1": _scored(319, 15, 286),
        "pic2": _scored(400, None),
        "pic3": _scored(None, None),
    }
    sizes = network_pipeline.sample_sizes(scored)
    assert list(sizes.columns) == list(network_pipeline.SAMPLE_SIZES)
    assert list(sizes.index) == list(scored) and sizes.index.name == "network"
    assert sizes["agreement_n_responses"].tolist() == [20_000, 19_000, 319, 400, pd.NA]
    assert sizes["noise_ceiling_n_triplets"].tolist() == [1_000, 1_000, 15, pd.NA, pd.NA]
    nets = {k: _features(k, N_OBJECTS if k.startswith("full") else 30) for k in scored}
    smallest = network_pipeline.smallest_sample_sizes(sizes, nets)
    # slow reference: the minimum over each group's non-missing values, by hand
    assert smallest == {
        "full_agreement_n_responses": 19_000,
        "full_noise_ceiling_n_triplets": 1_000,
        "picture_agreement_n_responses": 319,
        "picture_noise_ceiling_n_triplets": 15,
    }
    only_full = {k: v for k, v in nets.items() if k.startswith("full")}
    none_of_a_kind = network_pipeline.smallest_sample_sizes(sizes, only_full)
    assert none_of_a_kind["picture_agreement_n_responses"] == 0


def test_picture_sizes_sentence():
    sentence = network_pipeline.picture_sizes_sentence
    assert sentence([]) == "none is compared here."
    with_ceiling = sentence([_scored(400, 20, 300), _scored(319, 15, 286), _scored(None, None)])
    assert with_ceiling.startswith("it is scored on the 319 held-out human responses whose")
    assert "rests on the 15 repeated triplets among them (286 of its responses" in with_ceiling
    without = sentence([_scored(1, None)])
    assert "the 1 held-out human response whose" in without and "no noise ceiling" in without


def test_column_meanings_cover_every_key_number_and_the_sample_sizes():
    table = network_pipeline.column_meanings_table()
    names = [k.name for k in keynumbers.KEY_NUMBERS] + list(network_pipeline.SAMPLE_SIZES)
    assert table["column"].tolist() == names
    assert table.set_index("column").loc["n_dimensions", "chapter"] == "02_embedding_fit"
    chapters = table.set_index("column")["chapter"]
    assert (chapters[list(network_pipeline.SAMPLE_SIZES)] == "01_triplet_task").all()
    columns = network_pipeline.numbers_download_columns()
    assert list(columns) == ["network", "label", *names]
    assert columns["best_match_r"] == keynumbers.BY_NAME["best_match_r"].description + (
        " (chapter 6)"
    )
    assert columns["noise_ceiling_n_triplets"].endswith("ceiling is computed on (chapter 1)")


def test_r2_table_one_row_per_network_and_dimension():
    runs = {
        name: network_pipeline.NetworkRun(key, key, "", {}, r2, [], "")
        for name, key, r2 in [("x", "kx", np.array([0.5, 0.25])), ("y", "ky", np.array([0.1]))]
    }
    table = network_pipeline.r2_table(runs, {"kx": "X net", "ky": "Y net"})
    assert list(table.columns) == list(network_pipeline.R2_COLUMNS)
    rows = [tuple(r) for r in table.itertuples(index=False)]
    assert rows == [("kx", "X net", 1, 50.0), ("kx", "X net", 2, 25.0), ("ky", "Y net", 1, 10.0)]


def test_quality_shares_and_key_number():
    import pandas as pd

    numbers = pd.DataFrame(
        {
            "label": ["A", "B"],
            "visual_share": [10.0, 50.0],
            "mixed_share": [20.0, 25.0],
            "semantic_share": [70.0, 25.0],
            "n_dimensions": [3.0, 9.0],
        },
        index=pd.Index(["ka", "kb"], name="network"),
    )
    shares = network_pipeline.quality_shares(numbers)
    assert shares.index.name == "network" and list(shares.index) == ["A", "B"]
    assert shares.to_dict("index") == {
        "A": {"visual": 10.0, "mixed": 20.0, "semantic": 70.0},
        "B": {"visual": 50.0, "mixed": 25.0, "semantic": 25.0},
    }
    nets = {"a": _features("ka", 3), "b": _features("kb", 3)}
    assert network_pipeline.key_number(numbers, nets, "b", "n_dimensions") == 9.0
    assert np.isnan(network_pipeline.key_number(numbers, nets, "missing", "n_dimensions"))


def test_chapter5_rater_is_built_once_per_process_until_its_features_change(tmp_path, monkeypatch):
    from dnnalign_utils import autorate

    features = tmp_path / "image_features"
    features.mkdir()
    monkeypatch.setattr(paths, "image_features", lambda profile: features)
    built = []

    def build(profile, *, seed, progress):
        built.append((profile, seed))
        return f"rater {len(built)}"

    monkeypatch.setattr(autorate, "profile_rater", build)
    network_pipeline._rater_of.cache_clear()
    assert network_pipeline.chapter5_rater("smoke", 0) == "rater 1"
    assert network_pipeline.chapter5_rater("smoke", 0) == "rater 1"
    assert network_pipeline.chapter5_rater("smoke", 1) == "rater 2"  # another seed
    stat = features.stat()
    os.utime(features, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # rewritten
    assert network_pipeline.chapter5_rater("smoke", 0) == "rater 3"
    assert built == [("smoke", 0), ("smoke", 1), ("smoke", 0)]
    network_pipeline._rater_of.cache_clear()
