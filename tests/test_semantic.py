"""The offline sentence-embedding baseline."""

import numpy as np
import pandas as pd
import pytest

from dnnalign_utils import semantic


def test_sentence_embeddings_are_unit_length_deterministic_and_meaningful():
    texts = ["cat", "dog", "hammer", "screwdriver"]
    first = semantic.sentence_embeddings(texts, progress=False)
    again = semantic.sentence_embeddings(texts, progress=False)
    assert first.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(first, again, atol=1e-6)
    sims = first @ first.T
    assert sims[0, 1] > sims[0, 2]  # cat is closer to dog than to hammer
    assert sims[2, 3] > sims[2, 1]  # hammer is closer to screwdriver than to dog


def test_definitions_separate_homonyms():
    concepts = pd.DataFrame(
        {
            "Word": ["bat", "bat"],
            "Definition (from WordNet, Google, or Wikipedia)": [
                "nocturnal mouselike mammal with forelimbs modified to form membranous wings",
                "a club used for hitting a ball in various games",
            ],
        }
    )
    with_def = semantic.sentence_embeddings(semantic.concept_texts(concepts), progress=False)
    bare = semantic.concept_texts(concepts, with_definition=False)
    assert bare == ["bat", "bat"]
    assert with_def[0] @ with_def[1] < 0.9


@pytest.mark.parametrize("texts", [[], ["ok", ""], ["ok", None]])
def test_bad_texts_are_rejected(texts):
    with pytest.raises(ValueError, match="texts"):
        semantic.sentence_embeddings(texts, progress=False)


def test_cache_is_reused_only_for_the_same_texts(tmp_path, monkeypatch):
    cache = tmp_path / "sent.npy"
    first = semantic.cached_sentence_embeddings(["cat", "dog"], cache, progress=False)
    calls = []
    real = semantic.sentence_embeddings
    monkeypatch.setattr(
        semantic, "sentence_embeddings", lambda t, **k: calls.append(t) or real(t, **k)
    )
    again = semantic.cached_sentence_embeddings(["cat", "dog"], cache, progress=False)
    np.testing.assert_array_equal(first, again)
    assert calls == []  # served from the cache
    other = semantic.cached_sentence_embeddings(["cat", "hammer"], cache, progress=False)
    assert calls == [["cat", "hammer"]]  # different texts: recomputed, not reused
    assert not np.allclose(other[1], first[1])
