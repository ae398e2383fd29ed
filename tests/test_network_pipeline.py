"""network_pipeline: one network through the pipeline (chapter 7): its triplets against a slow
reference, reuse of another chapter's fit of the same run only, cached numbers recorded
as key numbers, and the book's own network read from what chapters 1-6 recorded."""

from __future__ import annotations

import dataclasses
import itertools

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
