"""Rating sessions, the ratings file, and the shares with their intervals and tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from dnnalign_utils import rating

ANSWER = {"quality": "visual", "concept_type": "single", "interpretability": 5}


def test_collection_objects_take_ranks_from_the_top_down():
    values = np.arange(100.0)[::-1]  # object i has rank i
    rows = rating.collection_objects(values, per_rank=3)
    assert rows.shape == (7, 3)
    np.testing.assert_array_equal(rows[:, 0], [0, 2, 4, 6, 8, 10, 12])
    np.testing.assert_array_equal(rows[1], [2, 3, 4])
    # a shuffled object order gives the same objects by value
    perm = np.random.default_rng(0).permutation(100)
    np.testing.assert_array_equal(perm[rating.collection_objects(values[perm], 3)], rows)
    with pytest.raises(ValueError, match="per_rank"):
        rating.collection_objects(values, per_rank=0)


def test_collection_picture_places_pictures_and_names():
    red = np.zeros((10, 10, 3), np.uint8)
    red[..., 0] = 255
    picture = rating.collection_picture(np.array([[0, 1]]), ["apple", "zebra"], {0: red}, tile=20)
    assert picture.shape == (20, 44, 3) and picture.dtype == np.uint8
    assert (picture[:, :20, 0] == 255).all() and (picture[:, :20, 1] == 0).all()
    text_tile = picture[:, 24:]
    assert (text_tile < 100).any()  # the name is drawn


def test_anonymisation_restores_every_dimension(tmp_path):
    dims = {"human": 5, "vgg16": 7, "clip": 3}
    session = rating.create_session(tmp_path, dims, seed=3)
    assert len(session.items) == 15
    restored = sorted(session.source(item) for item in session.items)
    assert restored == sorted((name, d) for name, n in dims.items() for d in range(n))
    # the rater's file holds no source
    assert "human" not in (tmp_path / "items.csv").read_text()
    # shuffled: consecutive items do not simply follow the embeddings' order
    assert [session.source(i) for i in session.items] != sorted(restored, key=lambda s: s[0])
    again = rating.create_session(tmp_path, dims, seed=99)  # existing session is kept
    assert again.items == session.items and again.mapping == session.mapping
    with pytest.raises(ValueError, match="other dimensions"):
        rating.create_session(tmp_path, {"human": 4}, seed=3)
    other = rating.create_session(tmp_path / "b", dims, seed=4)
    assert [other.source(i) for i in other.items] != [session.source(i) for i in session.items]


def test_ratings_round_trip_and_resume(tmp_path):
    session = rating.create_session(tmp_path, {"a": 3, "b": 2}, seed=0)
    path = session.ratings_path
    assert rating.next_unrated(session.items, rating.load_ratings(path), "ann") == 0
    for item, labels in zip(session.items[:2], (["red", "round"], []), strict=True):
        rating.append_rating(
            path, rater="ann", item=item, labels=labels, items=session.items, **ANSWER
        )
    table = rating.load_ratings(path, session.items)
    assert table["item"].tolist() == list(session.items[:2])
    assert table["labels"].tolist() == ["red;round", ""]
    assert table["interpretability"].tolist() == [5, 5]
    assert rating.next_unrated(session.items, table, "ann") == 2
    assert rating.next_unrated(session.items, table, "bob") == 0
    restored = rating.restore_sources(table, session)
    assert list(zip(restored["embedding"], restored["dimension"], strict=True)) == [
        session.source(i) for i in session.items[:2]
    ]
    with pytest.raises(rating.RatingFileError, match="already rated"):
        rating.append_rating(path, rater="ann", item=session.items[0], **ANSWER)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ann,2026-01-01T00:00:00+00:00,D1,bluish,single,,4,", "quality 'bluish'"),
        ("ann,2026-01-01T00:00:00+00:00,D1,visual,single,,9,", "interpretability '9'"),
        ("ann,yesterday,D1,visual,single,,4,", "not ISO 8601"),
        (",2026-01-01T00:00:00+00:00,D1,visual,single,,4,", "empty rater"),
        ("ann,2026-01-01T00:00:00+00:00,D1,visual,two,,4,", "concept_type 'two'"),
        ("ann,2026-01-01T00:00:00+00:00,D1,visual,single,a;b;c;d;e;f,4,", "up to 5"),
        ("ann,2026-01-01T00:00:00+00:00,D9,visual,single,,4,", "item 'D9'"),
        ("ann,2026-01-01T00:00:00+00:00,D1,visual,single,4,", "expected 8 fields"),
    ],
)
def test_validator_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "ratings.csv"
    good = "ann,2026-01-01T00:00:00+00:00,D2,visual,single,x,4,"
    path.write_text(",".join(rating.RATING_COLUMNS) + f"\n{good}\n{line}\n")
    with pytest.raises(rating.RatingFileError) as error:
        rating.load_ratings(path, items=["D1", "D2"])
    assert f"{path}, line 3" in str(error.value) and message in str(error.value)


def test_validator_rejects_wrong_header(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("rater,item\nann,D1\n")
    with pytest.raises(rating.RatingFileError, match="line 1"):
        rating.load_ratings(path)


def test_a_ratings_file_saved_by_excel_with_a_byte_order_mark_is_read(tmp_path):
    session = rating.create_session(tmp_path / "session", {"a": 2}, seed=0)
    path = tmp_path / "ratings.csv"
    good = f"ann,2026-01-01T00:00:00+00:00,{session.items[0]},visual,single,x,4,"
    path.write_bytes(("\ufeff" + ",".join(rating.RATING_COLUMNS) + f"\n{good}\n").encode())
    table = rating.load_ratings(path, session.items)
    assert table["rater"].tolist() == ["ann"]
    table = rating.append_rating(
        path, rater="bob", item=session.items[1], items=session.items, **ANSWER
    )
    assert table["rater"].tolist() == ["ann", "bob"]
    items = session.folder / "items.csv"
    items.write_bytes(b"\xef\xbb\xbf" + items.read_bytes())  # the session's list, re-saved
    assert rating.load_session(session.folder).items == session.items


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("rater;time_utc;item\n", r"found 'rater;time_utc;item'"),
        ("", "found an empty file"),
    ],
)
def test_a_header_error_shows_what_was_found(tmp_path, text, found):
    path = tmp_path / "ratings.csv"
    path.write_text(text)
    with pytest.raises(rating.RatingFileError, match=rf"line 1: expected the header .*{found}"):
        rating.load_ratings(path)
    session = rating.create_session(tmp_path / "session", {"a": 2}, seed=0)
    (session.folder / "items.csv").write_text("Item\nD1\nD2\n")
    with pytest.raises(rating.RatingFileError, match=r"expected the header 'item', found 'Item'"):
        rating.load_session(session.folder)


def test_session_killed_while_writing_leaves_a_valid_file(tmp_path):
    path = tmp_path / "ratings.csv"
    rating.append_rating(path, rater="ann", item="D1", **ANSWER)
    before = path.read_text()
    # a child process is killed in the middle of writing the next answer
    script = textwrap.dedent(
        f"""
        import os, signal
        from dnnalign_utils import provenance, rating
        real = provenance.atomic_write_text
        def dying(target, text):
            def write(tmp):
                tmp.write_text(text[: len(text) // 2])
                os.kill(os.getpid(), signal.SIGKILL)
            provenance.atomic_write(target, write)
        rating.atomic_write_text = dying
        rating.append_rating({str(path)!r}, rater="ann", item="D2", quality="mixed",
                             concept_type="single", interpretability=3)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], env={**os.environ}, check=False)
    assert run.returncode != 0
    assert path.read_text() == before
    assert rating.load_ratings(path)["item"].tolist() == ["D1"]


def _slow_shares(labels, weights):
    rated = [(label, w) for label, w in zip(labels, weights, strict=True) if label != "unclear"]
    total = sum(w for _, w in rated)
    return [sum(w for label, w in rated if label == q) / total for q in rating.RATED_QUALITIES]


def test_shares_and_bootstrap_equal_a_slow_loop():
    rng = np.random.default_rng(1)
    labels = rng.choice(rating.QUALITIES, size=40)
    weights = rng.uniform(0.1, 2, size=40)
    shares = rating.quality_shares(labels, weights)
    np.testing.assert_allclose(shares.iloc[:3], _slow_shares(labels, weights))
    assert shares["unclear (of all)"] == pytest.approx(
        weights[labels == "unclear"].sum() / weights.sum()
    )
    boot = rating.bootstrap_shares(labels, weights, n_bootstrap=200, seed=5)
    draws = np.random.default_rng(5).integers(0, 40, size=(200, 40))
    slow = np.array([_slow_shares(labels[d], weights[d]) for d in draws])
    np.testing.assert_allclose(boot["low"], np.percentile(slow, 2.5, axis=0))
    np.testing.assert_allclose(boot["high"], np.percentile(slow, 97.5, axis=0))
    assert (boot["low"] <= boot["share"]).all() and (boot["share"] <= boot["high"]).all()


def test_permutation_test_equals_a_slow_loop():
    a = np.array(["semantic"] * 12 + ["visual"] * 3 + ["unclear"] * 2)
    b = np.array(["semantic"] * 3 + ["mixed"] * 6 + ["visual"] * 5)
    observed, p = rating.permutation_test(a, b, n_permutations=500, seed=2)
    assert observed == pytest.approx(12 / 15 - 3 / 14)
    pooled = np.concatenate([a[a != "unclear"], b]) == "semantic"
    rng = np.random.default_rng(2)
    perms = rng.permuted(np.tile(pooled, (500, 1)), axis=1)
    count = 0
    for row in perms:
        diff = row[:15].mean() - row[15:].mean()
        count += abs(diff) >= abs(observed) - 1e-12
    assert p == pytest.approx((1 + count) / 501)
    assert p < 0.01
    same, p_same = rating.permutation_test(a, a, n_permutations=200)
    assert same == 0 and p_same == 1.0
    with pytest.warns(UserWarning, match="undefined"):
        empty = rating.permutation_test(a, ["unclear", "unclear"], n_permutations=10)
    assert np.isnan(empty).all()


def test_agreement_and_kappa():
    a = ["visual", "semantic", "mixed", "semantic"]
    result = rating.agreement(a, ["visual", "semantic", "semantic", "semantic"])
    assert result["agreement"] == 0.75
    assert rating.agreement(a, a)["kappa"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="labels"):
        rating.agreement(a, ["visual", "semantic", "mixed", "reddish"])


def test_quality_shares_ignore_unclear_and_weight_importance():
    shares = rating.quality_shares(["visual", "semantic", "semantic", "unclear"])
    assert shares["semantic"] == pytest.approx(2 / 3)
    assert shares["unclear (of all)"] == pytest.approx(1 / 4)
    weighted = rating.quality_shares(["visual", "semantic"], [3.0, 1.0])
    assert weighted["visual"] == pytest.approx(0.75)
    assert isinstance(shares, pd.Series)


def _rated_tables(seed=0):
    """Two embeddings' rated dimensions as chapter 5 has them (label, importance)."""
    rng = np.random.default_rng(seed)
    tables = {}
    for key, n in (("vice42", 30), ("net", 25)):
        importance = rng.uniform(0.1, 1, n)
        tables[key] = pd.DataFrame(
            {
                "dimension": np.arange(n),
                "label": rng.choice(rating.QUALITIES, n),
                "importance": importance / importance.sum(),
            }
        )
    return tables


def test_share_table_equals_bootstrap_shares_of_each_embedding_and_weighting():
    tables = _rated_tables()
    names = {"vice42": "human", "net": "network"}
    table = rating.share_table(tables, names, n_bootstrap=50, seed=3)
    assert list(table.columns) == list(rating.QUALITY_SHARES_COLUMNS)
    assert len(table) == 2 * 2 * len(rating.RATED_QUALITIES)
    for key, rated in tables.items():
        for weighting, w in (("by count", None), ("by importance", rated["importance"])):
            rows = table[(table["embedding"] == names[key]) & (table["weighting"] == weighting)]
            slow = 100 * rating.bootstrap_shares(rated["label"], w, n_bootstrap=50, seed=3)
            assert rows["quality"].tolist() == list(rating.RATED_QUALITIES)
            np.testing.assert_array_equal(rows[["share", "low", "high"]], slow)
    # every dimension semantic: 100 %, by either weighting
    all_semantic = {"vice42": tables["vice42"].assign(label="semantic")}
    shares = rating.share_table(all_semantic, names, n_bootstrap=10)
    assert shares.loc[shares["quality"] == "semantic", "share"].tolist() == [100.0, 100.0]


def test_semantic_share_tests_test_each_network_against_vice42():
    tables = _rated_tables(1)
    tables["other"] = tables["net"].assign(label="visual")
    names = {"vice42": "human", "net": "network", "other": "other network"}
    tests = rating.semantic_share_tests(
        tables, ["net", "other"], names, n_permutations=100, seed=4
    )
    assert tests.index.name == "network"
    assert [tests.index.name, *tests.columns] == list(rating.SEMANTIC_SHARE_TESTS_COLUMNS)
    for key in ("net", "other"):
        difference, p = rating.permutation_test(
            tables["vice42"]["label"], tables[key]["label"], n_permutations=100, seed=4
        )
        assert tests.loc[names[key], rating.SEMANTIC_GAP] == 100 * difference
        assert tests.loc[names[key], "p"] == p
    with pytest.raises(ValueError, match="no rated dimensions of 'vice42'"):
        rating.semantic_share_tests({"net": tables["net"]}, ["net"], names)


def test_shares_by_layer_are_the_quality_shares_of_each_layer():
    tables = _rated_tables(2)
    by_layer = rating.shares_by_layer({"early": tables["vice42"], "late": tables["net"]})
    assert by_layer.index.tolist() == ["early", "late"]
    assert [by_layer.index.name or "layer", *by_layer.columns] == list(
        rating.SHARES_BY_LAYER_COLUMNS
    )
    for layer, rated in (("early", tables["vice42"]), ("late", tables["net"])):
        slow = 100 * rating.quality_shares(rated["label"])
        np.testing.assert_array_equal(by_layer.loc[layer, slow.index], slow)
        assert by_layer.loc[layer, "dimensions"] == len(rated)


def test_automatic_agreement_compares_each_rated_dimension_with_its_label(tmp_path):
    session = rating.create_session(tmp_path / "session", {"a": 3, "b": 2}, seed=0)
    automatic = {
        "a": pd.DataFrame({"dimension": [0, 1, 2], "label": ["visual", "semantic", "mixed"]}),
        "b": pd.DataFrame({"dimension": [0, 1], "label": ["semantic", "unclear"]}),
    }
    answers = {("a", 0): "visual", ("a", 2): "semantic", ("b", 1): "unclear"}
    by_source = {session.source(item): item for item in session.items}
    for source, quality in answers.items():
        rating.append_rating(
            session.ratings_path,
            rater="ann",
            item=by_source[source],
            quality=quality,
            concept_type="single",
            interpretability=4,
            session=session,
        )
    collected = rating.load_ratings(session.ratings_path, session.items)
    result = rating.automatic_agreement(collected, session, automatic)
    restored = rating.restore_sources(collected, session)
    expected = [
        automatic[e].set_index("dimension").loc[d, "label"]
        for e, d in zip(restored["embedding"], restored["dimension"], strict=True)
    ]
    assert result == rating.agreement(restored["quality"], expected)
    assert result["agreement"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match=r"no label for the rated dimensions \[\('a', 0\)"):
        rating.automatic_agreement(collected, session, {"b": automatic["b"]})


def test_widget_saves_answers_and_resumes(tmp_path):
    session = rating.create_session(tmp_path, {"a": 2, "b": 1}, seed=1)
    drawn = []

    def collection(item):
        drawn.append(item)
        return np.zeros((8, 8, 3), np.uint8)

    widget = rating.RatingWidget(session, collection, "ann")
    assert drawn == [session.items[0]]
    widget._on_save(None)  # nothing chosen yet: nothing written
    assert not session.ratings_path.exists() and "first" in widget.message.value
    widget.quality.value, widget.concept_type.value = "semantic", "single"
    widget.labels.value = "animals; pets"
    widget._on_save(None)
    table = rating.load_ratings(session.ratings_path, session.items)
    assert table[["item", "quality", "labels"]].values.tolist() == [
        [session.items[0], "semantic", "animals;pets"]
    ]
    assert drawn[-1] == session.items[1]
    # a new widget (a restarted kernel) resumes at the first unrated item
    assert rating.RatingWidget(session, collection, "ann").position == 1
    with pytest.raises(ValueError, match="rater"):
        rating.RatingWidget(session, collection, " ")
    # more than five labels are refused, not cut
    widget.quality.value, widget.concept_type.value = "visual", "single"
    widget.labels.value = "a;b;c;d;e;f"
    widget._on_save(None)
    assert "At most 5" in widget.message.value
    assert len(rating.load_ratings(session.ratings_path)) == 1
    with pytest.raises(ValueError, match="separates"):
        rating.append_rating(
            session.ratings_path, rater="bob", item="D1", labels=["a;b"], **ANSWER
        )


def test_labels_round_trip_and_dimension_check(tmp_path):
    table = pd.DataFrame(
        {
            "embedding": ["h", "h", "v"],
            "dimension": [0, 1, 0],
            "label": ["visual", "mixed", "unclear"],
        }
    )
    path = rating.save_labels(tmp_path / "labels.csv", table, produced_by="test", parameters={})
    assert rating.load_labels(path, "h", n_dims=2)["label"].tolist() == ["visual", "mixed"]
    with pytest.raises(ValueError, match="expected 0..2"):
        rating.load_labels(path, "h", n_dims=3)
    with pytest.raises(ValueError, match="no labels for 'x'"):
        rating.load_labels(path, "x")
    path.write_text("embedding,dimension,label\nh,0,visual\nh,1,greenish\n")
    with pytest.raises(rating.RatingFileError, match="line 3"):
        rating.load_labels(path)
    with pytest.raises(FileNotFoundError, match="chapter 5 writes"):
        rating.load_labels(tmp_path / "missing.csv")


def test_ratings_of_another_session_are_refused(tmp_path):
    """Session B has the item ids of session A, in another shuffle: A's ratings copied
    into B would name other dimensions, so B refuses them."""
    dims = {"a": 2, "b": 2}
    first = rating.create_session(tmp_path / "A", dims, seed=0)
    second = rating.create_session(tmp_path / "B", dims, seed=1)
    assert set(first.items) == set(second.items) and first.identity != second.identity
    for item in first.items:
        rating.append_rating(first.ratings_path, rater="ann", item=item, **ANSWER)
    assert len(rating.load_ratings(first.ratings_path, first.items)) == 4
    second.ratings_path.write_bytes(first.ratings_path.read_bytes())
    refused = r"ratings\.csv, line 2: session '[0-9a-f]{16}'"
    with pytest.raises(rating.RatingFileError, match=refused):
        rating.load_ratings(second.ratings_path, second.items)
    with pytest.raises(rating.RatingFileError, match="another session"):
        rating.load_ratings(first.ratings_path, first.items, session=second)
    with pytest.raises(rating.RatingFileError, match="another session"):
        rating.append_rating(second.ratings_path, rater="bob", item=second.items[0], **ANSWER)
    old = tmp_path / "old.csv"  # a file of the format without the column
    old.write_text(",".join(rating.RATING_COLUMNS[:-1]) + "\n")
    with pytest.raises(rating.RatingFileError, match="line 1: no session column"):
        rating.load_ratings(old)


def test_a_session_of_a_refitted_embedding_is_refused(tmp_path):
    """An embedding re-fitted with as many dimensions is another pool: the old session
    (and its ratings) must not be reused."""
    rng = np.random.default_rng(0)
    fit, refit = rng.random((10, 3)), rng.random((10, 3))
    session = rating.create_session(tmp_path, {"net": fit, "human": 2}, seed=0)
    assert rating.create_session(tmp_path, {"net": fit, "human": 2}, seed=5) == session
    assert rating.load_session(tmp_path).identity == session.identity
    with pytest.raises(ValueError, match=r"session\.json: .* other weights of net"):
        rating.create_session(tmp_path, {"net": refit, "human": 2}, seed=0)
    # a session of counts only (an earlier version's) learns the weights while nothing is
    # rated yet, keeping its items and mapping; once rated, its weights cannot be checked
    counted = rating.create_session(tmp_path / "counts", {"net": 3}, seed=0)
    learnt = rating.create_session(counted.folder, {"net": fit}, seed=9)
    assert learnt.items == counted.items and learnt.mapping == counted.mapping
    assert learnt.embeddings["net"] is not None
    with pytest.raises(ValueError, match="other weights of net"):
        rating.create_session(counted.folder, {"net": refit}, seed=0)
    rated = rating.create_session(tmp_path / "rated", {"net": 3}, seed=0)
    rating.append_rating(
        rated.ratings_path, rater="ann", item=rated.items[0], session=rated, **ANSWER
    )
    with pytest.raises(ValueError, match="other weights of net"):  # the weights are unknown
        rating.create_session(rated.folder, {"net": fit}, seed=0)
    with pytest.raises(ValueError, match=r"dimensions\['net'\]: expected a number"):
        rating.create_session(tmp_path / "bad", {"net": "three"}, seed=0)
