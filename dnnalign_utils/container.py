"""The embedding container, its file I/O and the scoring of a fixed embedding.

* :class:`Embedding` (weights, dimension order, method, scale, metadata), made from a
  published matrix (:func:`from_published`) or a fit; :func:`save_embedding` /
  :func:`load_embedding` write and read it as ``.npz`` with a provenance sidecar.
* Scoring: :func:`choice_probabilities`, :func:`evaluate_embedding` (the project's one
  held-out accuracy and NLL), :func:`evaluate_vice` (VICE's Monte-Carlo rule;
  :func:`vice_accuracy_by_set` on several sets),
  :func:`fit_summary` (a fit and its held-out accuracy as a table for a page).
* Pruning statistics: :func:`benjamini_hochberg`, :func:`vice_pvalues`,
  :func:`vice_importance`, :func:`vice_keep_mask`, :func:`spose_keep_mask`.
* The objects that weigh most on each dimension: :func:`top_objects`,
  :func:`dimension_labels`, :func:`top_objects_table`.

The likelihood is the one of the models in ``dnnalign_utils.fitting``: for a triplet
(i, j, k) the pair similarities are dot products and P(k is the odd one out) =
softmax([s_ij, s_ik, s_jk])[0] (the book's Methods page, section 'The triplet
likelihood'). Choice probabilities are returned in the triplet's column order: ``p[:, c]``
is the probability that the object in column ``c`` is the odd one out, so the observed
choice (last column) has probability ``p[:, 2]``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dnnalign_utils import paths
from dnnalign_utils.conventions import as_float_matrix, validate_triplets
from dnnalign_utils.provenance import (
    array_sha256,
    package_versions,
    provenance_record,
    read_npz,
    write_artefact,
)

# ------------------------------------------------------------------------------ likelihood


def _logits(xi: torch.Tensor, xj: torch.Tensor, xk: torch.Tensor) -> torch.Tensor:
    """Pair similarities [s_jk, s_ik, s_ij] = logits of [i odd, j odd, k odd]."""
    return torch.stack([(xj * xk).sum(-1), (xi * xk).sum(-1), (xi * xj).sum(-1)], dim=-1)


def _nll_terms(logits: torch.Tensor) -> torch.Tensor:
    """-log P(last column is odd) per triplet, stably."""
    return torch.logsumexp(logits, dim=-1) - logits[:, 2]


def _tie_accuracy(scores: torch.Tensor) -> torch.Tensor:
    """Expected accuracy under random tie-breaking: 1/#ties if column 2 is among the maxima.

    Ties are common for sparse ReLU embeddings (all three similarities 0); scoring them as
    the first column (plain argmax) would inflate or deflate accuracy arbitrarily.
    """
    is_max = scores == scores.max(dim=-1, keepdim=True).values
    return is_max[:, 2].to(torch.float64) / is_max.sum(-1).to(torch.float64)


def choice_probabilities(
    weights: Any, triplets: Any, *, relu: bool = True, batch_size: int = 262_144
) -> np.ndarray:
    """P(object in column c is the odd one out), float64 (n, 3), for a fixed embedding.

    The observed choice (last column) has probability ``p[:, 2]``. `relu` applies
    max(0, .) to the weights first (as the models do inside the likelihood).
    """
    w = torch.from_numpy(as_float_matrix(weights, "weights"))
    t = torch.from_numpy(validate_triplets(triplets, w.shape[0]))
    if relu:
        w = w.clamp_min(0)
    out = torch.empty(t.shape[0], 3, dtype=torch.float64)
    for s in range(0, t.shape[0], batch_size):
        b = t[s : s + batch_size]
        out[s : s + batch_size] = torch.softmax(_logits(w[b[:, 0]], w[b[:, 1]], w[b[:, 2]]), -1)
    return out.numpy()


def evaluate_embedding(
    weights: Any, triplets: Any, *, relu: bool = True, batch_size: int = 262_144
) -> dict[str, float]:
    """Held-out odd-one-out accuracy and mean NLL of a fixed embedding on `triplets`.

    accuracy: share of triplets whose most probable odd one out is the observed (last)
    column, ties counted as 1/#tied (expected accuracy under random tie-breaking; sparse
    embeddings can tie at 0); nll: mean -log P(observed choice), natural log. The pair
    similarity is the dot product. `relu=True` (the default) scores max(0, W) as the
    models do inside their likelihood; pass `relu=False` to score a matrix as it is (for a
    non-negative matrix the two agree). This is the project's one held-out accuracy;
    `triplets.choice_agreement` instead scores a chooser's deterministic choices.
    """
    w = torch.from_numpy(as_float_matrix(weights, "weights"))
    t = torch.from_numpy(validate_triplets(triplets, w.shape[0]))
    if relu:
        w = w.clamp_min(0)
    acc = 0.0
    nll = 0.0
    for s in range(0, t.shape[0], batch_size):
        b = t[s : s + batch_size]
        logits = _logits(w[b[:, 0]], w[b[:, 1]], w[b[:, 2]])
        acc += float(_tie_accuracy(logits).sum())
        nll += float(_nll_terms(logits).sum())
    n = t.shape[0]
    return {"accuracy": acc / n, "nll": nll / n, "n_triplets": n}


def evaluate_vice(
    mu: Any,
    sigma: Any,
    triplets: Any,
    *,
    n_samples: int = 20,
    seed: int = 0,
    dims: Any = None,
    batch_size: int = 262_144,
) -> dict[str, float]:
    """Monte-Carlo evaluation of a VICE posterior (VICE's rule; the book's Methods page,
    section 'VICE').

    Draws `n_samples` full matrices W = mu + sigma * eps and averages the choice
    probabilities over them: accuracy of the mean probability (ties as in
    `evaluate_embedding`) and NLL = -log(mean p). Also returns the objdim variant (mean over
    samples of the per-sample accuracy and NLL) for comparison. `dims` restricts to a
    subset of dimensions (e.g. the kept ones).
    """
    mu = as_float_matrix(mu, "mu")
    sigma = as_float_matrix(sigma, "sigma")
    if mu.shape != sigma.shape:
        raise ValueError(f"sigma: expected shape {mu.shape} like mu, got {sigma.shape}")
    if (sigma < 0).any():
        raise ValueError("sigma: expected standard deviations >= 0")
    if n_samples < 1:
        raise ValueError(f"n_samples: expected >= 1, got {n_samples}")
    if dims is not None:
        mu, sigma = mu[:, dims], sigma[:, dims]
    t = torch.from_numpy(validate_triplets(triplets, mu.shape[0]))
    mu_t, sd_t = torch.from_numpy(mu), torch.from_numpy(sigma)
    g = torch.Generator().manual_seed(seed)
    mean_p = torch.zeros(t.shape[0], 3, dtype=torch.float64)
    per_acc = 0.0
    per_nll = 0.0
    for _ in range(n_samples):
        w = (mu_t + sd_t * torch.randn(mu_t.shape, generator=g, dtype=torch.float64)).clamp_min(0)
        for s in range(0, t.shape[0], batch_size):
            b = t[s : s + batch_size]
            logits = _logits(w[b[:, 0]], w[b[:, 1]], w[b[:, 2]])
            mean_p[s : s + batch_size] += torch.softmax(logits, -1)
            per_acc += float(_tie_accuracy(logits).sum())
            per_nll += float(_nll_terms(logits).sum())
    mean_p /= n_samples
    n = t.shape[0]
    return {
        "accuracy": float(_tie_accuracy(mean_p).mean()),
        "nll": float(-torch.log(mean_p[:, 2]).mean()),
        "accuracy_mean_over_samples": per_acc / (n * n_samples),
        "nll_mean_over_samples": per_nll / (n * n_samples),
        "n_triplets": n,
        "n_samples": n_samples,
    }


def vice_accuracy_by_set(
    mu: Any, sigma: Any, sets: Mapping[str, Any], *, n_samples: int = 20
) -> dict[str, float]:
    """VICE's Monte-Carlo accuracy (`evaluate_vice` with its default seed, over the
    dimensions `vice_keep_mask` keeps) of a posterior on each named triplet set of
    `sets` (name -> triplets)."""
    kept = vice_keep_mask(mu, sigma)
    return {
        name: evaluate_vice(mu, sigma, triplets, n_samples=n_samples, dims=kept)["accuracy"]
        for name, triplets in sets.items()
    }


def fit_summary(fit: Any, objects: str, n_train: int, accuracy: float):
    """A fitted embedding in five lines for a page (a table of "measure" and formatted
    "value"): its number of objects (`objects` says what they are, e.g. "concepts"),
    `n_train` training triplets, the epochs trained and dimensions kept (all but
    `n_train` read from `fit`, a `fitting.FitResult`) and its held-out `accuracy` (a
    share, as `evaluate_embedding` gives it, shown in % with two decimals)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "measure": [
                f"{objects} (objects)",
                "training triplets",
                "epochs",
                "kept dimensions",
                "held-out accuracy (%)",
            ],
            "value": [
                f"{fit.embedding.n_objects:,}",
                f"{n_train:,}",
                f"{fit.epochs:,}",
                f"{fit.embedding.n_dims:,}",
                f"{100 * accuracy:.2f}",
            ],
        }
    )


# --------------------------------------------------------------------------------- pruning


def benjamini_hochberg(pvalues: Any, alpha: float = 0.05) -> np.ndarray:
    """Benjamini-Hochberg rejections per column of a (n_tests, n_columns) p-value matrix.

    Vectorised over columns (one batched sort, a reverse cumulative max of the
    "p_(r) <= alpha * r / n" indicator, an unsort); equal to
    ``statsmodels.stats.multitest.multipletests(p[:, d], alpha, method="fdr_bh")[0]`` for
    every column d, including non-contiguous rejections (the reference code's
    ``pruning.py:84`` takes the first instead of the last rejected rank). A 1-D input is
    treated as a single column.
    """
    p = torch.as_tensor(np.asarray(pvalues, dtype=np.float64))
    squeeze = p.ndim == 1
    if squeeze:
        p = p[:, None]
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(
            f"pvalues: expected a non-empty (n_tests, n_columns) array, got {p.shape}"
        )
    if torch.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("pvalues: expected values in [0, 1] without NaN")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected 0 < alpha < 1, got {alpha}")
    reject = _bh_reject_torch(p, alpha).numpy()
    return reject[:, 0] if squeeze else reject


def _bh_reject_torch(p: torch.Tensor, alpha: float) -> torch.Tensor:
    n = p.shape[0]
    sorted_p, order = torch.sort(p, dim=0)
    # Same float64 arithmetic as statsmodels: ecdffactor = arange(1, n+1) / n, times alpha.
    thresh = torch.arange(1, n + 1, dtype=torch.float64) / float(n) * alpha
    below = (sorted_p <= thresh[:, None]).to(torch.uint8)
    # Reject every rank up to the LAST rank below its threshold: reverse cumulative max.
    reject_sorted = below.flip(0).cummax(0).values.flip(0).bool()
    reject = torch.empty_like(reject_sorted)
    reject.scatter_(0, order, reject_sorted)
    return reject


def _bh_counts(p_rows: np.ndarray, alpha: float) -> np.ndarray:
    """Number of Benjamini-Hochberg rejections in each ROW of `p_rows` (n_columns, n_tests).

    BH rejects ranks 1..k* with k* the last rank r where p_(r) <= alpha r / n, so the count
    is k* (0 if none): one numpy sort per row and no unsort (3x faster than
    `_bh_reject_torch(...).sum(0)` on 100 x 1,854, equal counts; tested).
    """
    p_sorted = np.sort(p_rows, axis=1)
    n = p_sorted.shape[1]
    below = p_sorted <= np.arange(1, n + 1, dtype=np.float64) / float(n) * alpha
    last = n - np.argmax(below[:, ::-1], axis=1)
    return np.where(below.any(1), last, 0)


def vice_pvalues(mu: Any, sigma: Any) -> np.ndarray:
    """p = Phi(0; mu, sigma) = P(w <= 0) per object x dimension (float64)."""
    mu_t = torch.as_tensor(np.asarray(mu, dtype=np.float64))
    sd_t = torch.as_tensor(np.asarray(sigma, dtype=np.float64))
    if mu_t.shape != sd_t.shape:
        raise ValueError(f"sigma: expected shape {tuple(mu_t.shape)} like mu, got {sd_t.shape}")
    if (sd_t <= 0).any():
        raise ValueError("sigma: expected strictly positive standard deviations")
    return torch.special.ndtr(-mu_t / sd_t).numpy()


def vice_importance(mu: Any, sigma: Any, alpha: float = 0.05) -> np.ndarray:
    """Per dimension, the number of objects whose weight is significantly > 0 (BH at alpha)."""
    return benjamini_hochberg(vice_pvalues(mu, sigma), alpha).sum(0)


def vice_keep_mask(mu: Any, sigma: Any, alpha: float = 0.05, min_objects: int = 5) -> np.ndarray:
    """Keep a dimension if MORE than `min_objects` objects are BH-significant (Methods, 'VICE')."""
    return vice_importance(mu, sigma, alpha) > min_objects


def spose_keep_mask(weights: Any, threshold: float = 0.1) -> np.ndarray:
    """SPoSE pruning: keep a dimension if its maximum weight exceeds `threshold`."""
    return as_float_matrix(weights, "weights").max(0) > threshold


# ------------------------------------------------------------------------ embedding object


@dataclass(frozen=True)
class Embedding:
    """A pruned, non-negative embedding with its provenance.

    weights: (n_objects, n_dims) float64, >= 0, columns sorted by L1 norm (descending).
    source_dims: for each column, its index in the unpruned parameter matrix (or in the
        published file), so columns can be traced back.
    scale: VICE posterior standard deviations of the same columns, or None.
    method: "vice", "spose" or "published".
    metadata: JSON-serialisable facts (config, seed, data hashes, epochs, ...).
    """

    weights: np.ndarray
    source_dims: np.ndarray
    method: str
    scale: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_objects(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_dims(self) -> int:
        return int(self.weights.shape[1])


def _sorted_embedding(
    weights: np.ndarray,
    source_dims: np.ndarray,
    method: str,
    scale: np.ndarray | None,
    metadata: Mapping[str, Any],
) -> Embedding:
    """ReLU and sort columns by L1 norm, descending (stable, so ties keep their order)."""
    w = np.maximum(weights.astype(np.float64), 0.0)
    order = np.argsort(-np.abs(w).sum(0), kind="stable")
    return Embedding(
        weights=np.ascontiguousarray(w[:, order]),
        source_dims=np.asarray(source_dims, dtype=np.int64)[order],
        method=method,
        scale=None if scale is None else np.ascontiguousarray(scale[:, order], dtype=np.float64),
        metadata=dict(metadata),
    )


def from_published(
    source: str | os.PathLike | np.ndarray,
    *,
    name: str | None = None,
    n_objects: int | None = 1854,
    max_negative_share: float = 0.01,
) -> Embedding:
    """Wrap a published plain (n, d) embedding (e.g. SPoSE-49, VICE-42) as an `Embedding`.

    The matrix is ReLU'd and its columns sorted by L1 norm. Raises ValueError (naming the
    file) for: a non-2-D or non-numeric array, non-finite values, a row count other than
    `n_objects` (None skips the check), more than `max_negative_share` negative entries
    (a non-negative embedding should have at most rounding noise below 0: SPoSE-49 has
    0.07 %), or a column that is all zero after the ReLU (it cannot carry information).
    """
    label = str(source) if not isinstance(source, np.ndarray) else (name or "array")
    if isinstance(source, np.ndarray):
        raw = source
        file_hash = array_sha256(source)
    else:
        path = Path(source)
        if path.suffix != ".npy":
            raise ValueError(f"{path}: expected a .npy file holding an (n, d) matrix")
        try:
            raw = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: cannot be read as a .npy array ({exc})") from exc
        file_hash = array_sha256(raw)
    w = as_float_matrix(raw, label)
    if n_objects is not None and w.shape[0] != n_objects:
        raise ValueError(f"{label}: expected {n_objects} rows (objects), got {w.shape[0]}")
    neg = float((w < 0).mean())
    if neg > max_negative_share:
        raise ValueError(
            f"{label}: {neg:.1%} of the entries are negative; expected a non-negative "
            f"embedding (at most {max_negative_share:.1%} negative)"
        )
    dead = np.flatnonzero(np.maximum(w, 0).max(0) <= 0)
    if dead.size:
        raise ValueError(f"{label}: column {dead[0]} is all zero after ReLU")
    meta = {"name": name or label, "source": label, "array_sha256": file_hash}
    return _sorted_embedding(w, np.arange(w.shape[1]), "published", None, meta)


def save_embedding(
    path: str | os.PathLike,
    embedding: Embedding,
    *,
    extra_arrays: Mapping[str, np.ndarray] | None = None,
    produced_by: str = "dnnalign_utils.embedding",
    inputs: Mapping[str, str | os.PathLike] | None = None,
) -> Path:
    """Write an embedding to `.npz` atomically, plus a `.provenance.json` sidecar.

    The npz holds weights, source_dims, scale (if any), metadata (JSON) and the package
    versions; `extra_arrays` (e.g. the unpruned mu/sigma) are stored beside them.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"{path}: expected a .npz file name")
    arrays: dict[str, np.ndarray] = {
        "weights": embedding.weights,
        "source_dims": embedding.source_dims,
        "method": np.array(embedding.method),
        "metadata_json": np.array(json.dumps(embedding.metadata, sort_keys=True)),
        "package_versions_json": np.array(json.dumps(package_versions(), sort_keys=True)),
    }
    if embedding.scale is not None:
        arrays["scale"] = embedding.scale
    for key, value in (extra_arrays or {}).items():
        if key in arrays:
            raise ValueError(f"extra_arrays: key {key!r} collides with a reserved name")
        arrays[key] = np.asarray(value)

    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    record = provenance_record(
        produced_by,
        parameters=embedding.metadata,
        inputs=inputs,
        input_hashes={"weights": array_sha256(embedding.weights)},
    )
    return write_artefact(path, _write, record)


def load_embedding(path: str | os.PathLike) -> Embedding:
    """Read an embedding written by `save_embedding` (validating its arrays and checking
    them against the provenance record's `artefact_sha256`, when there is a record)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: embedding file not found{paths.artefact_hint(path)}")
    data = read_npz(path, "an embedding")
    for key in ("weights", "source_dims", "method", "metadata_json"):
        if key not in data:
            raise ValueError(f"{path}: missing array {key!r}; not written by save_embedding?")
    w = as_float_matrix(data["weights"], f"{path}: weights")
    if (w < 0).any():
        raise ValueError(f"{path}: weights must be non-negative")
    if data["source_dims"].shape != (w.shape[1],):
        raise ValueError(f"{path}: source_dims has shape {data['source_dims'].shape}")
    scale = data.get("scale")
    if scale is not None and scale.shape != w.shape:
        raise ValueError(f"{path}: scale has shape {scale.shape}, expected {w.shape}")
    return Embedding(
        weights=w,
        source_dims=data["source_dims"].astype(np.int64),
        method=str(data["method"]),
        scale=scale,
        metadata=json.loads(str(data["metadata_json"])),
    )


# ------------------------------------------------------------------ a network's concepts

# The extra array of a network embedding (`save_embedding(..., extra_arrays=...)`) holding
# the 0-based THINGS indices of its rows; a file without it covers all concepts in order.
THINGS_INDEX_ARRAY = "things_index"


def check_things_index(things_index: Any, n_rows: int, where: str) -> np.ndarray:
    """0-based THINGS indices of `n_rows` rows: 1-D integers, strictly increasing, within
    [0, 1854); ValueError naming `where` otherwise."""
    from dnnalign_utils.conventions import N_OBJECTS

    index = np.asarray(things_index)
    if index.ndim != 1 or not (index.size == 0 or np.issubdtype(index.dtype, np.integer)):
        raise ValueError(
            f"{where}: things_index must be a 1-D integer array, got {index.dtype} {index.shape}"
        )
    if index.size != n_rows:
        raise ValueError(
            f"{where}: things_index has {index.size} entries; expected one per row ({n_rows})"
        )
    if index.size and (index.min() < 0 or index.max() >= N_OBJECTS):
        raise ValueError(
            f"{where}: things_index must lie in [0, {N_OBJECTS}), got "
            f"[{index.min()}, {index.max()}]"
        )
    if (np.diff(index) <= 0).any():
        row = int(np.flatnonzero(np.diff(index) <= 0)[0]) + 1
        raise ValueError(
            f"{where}: things_index must be strictly increasing (THINGS order, no "
            f"repeats); entry {row} is {int(index[row])} after {int(index[row - 1])}"
        )
    return index.astype(np.int64)


def load_network_embedding(path: str | os.PathLike) -> tuple[Embedding, np.ndarray]:
    """A network's embedding (`load_embedding`) and the THINGS indices of its rows: the
    file's ``things_index`` array, or, without one, all 1,854 concepts in THINGS order
    (then the embedding must have 1,854 rows)."""
    from dnnalign_utils.conventions import N_OBJECTS

    embedding = load_embedding(path)
    stored = read_npz(Path(path), "an embedding", (THINGS_INDEX_ARRAY,))
    if THINGS_INDEX_ARRAY not in stored:
        if embedding.n_objects != N_OBJECTS:
            raise ValueError(
                f"{path}: {embedding.n_objects} rows and no {THINGS_INDEX_ARRAY!r} array; "
                f"expected all {N_OBJECTS} THINGS concepts in order, or the THINGS index "
                "of each row"
            )
        return embedding, np.arange(N_OBJECTS)
    return embedding, check_things_index(
        stored[THINGS_INDEX_ARRAY], embedding.n_objects, str(path)
    )


def rows_of(things_index: Any, wanted: Any, what: str) -> np.ndarray:
    """Positions in `things_index` (increasing THINGS indices of some rows) of the THINGS
    indices `wanted`, so that ``rows[rows_of(things_index, wanted)]`` are the rows of
    `wanted`; ValueError naming `what` if a wanted concept has no row."""
    index = np.asarray(things_index, dtype=np.int64)
    wanted = np.asarray(wanted, dtype=np.int64)
    if index.size == 0:
        position, absent = np.zeros(wanted.shape, np.int64), np.ones(wanted.shape, bool)
    else:
        position = np.minimum(np.searchsorted(index, wanted), index.size - 1)
        absent = index[position] != wanted
    if absent.any():
        missing = wanted[absent]
        raise ValueError(
            f"{what}: no row for {missing.size} of the {wanted.size} concepts needed "
            f"(THINGS indices {missing[:5].tolist()}{' ...' if missing.size > 5 else ''})"
        )
    return position


# --------------------------------------------------------- reading the dimensions


def top_objects(weights: np.ndarray, names: Sequence[str], k: int = 5) -> list[list[str]]:
    """The ``k`` objects with the largest weight on each dimension (column), largest first.

    Ties are broken by object order (a stable sort), so the result is deterministic.
    """
    weights = np.asarray(weights, dtype=float)
    names = np.asarray(names, dtype=object)
    if weights.ndim != 2 or weights.shape[0] != names.size:
        raise ValueError(
            f"weights: expected shape (len(names)={names.size}, n_dims), got {weights.shape}"
        )
    if not 1 <= k <= weights.shape[0]:
        raise ValueError(f"k: expected 1..{weights.shape[0]}, got {k}")
    order = np.argsort(-weights, axis=0, kind="stable")[:k]
    return [names[order[:, d]].tolist() for d in range(weights.shape[1])]


def dimension_labels(weights: np.ndarray, names: Sequence[str], k: int = 3) -> list[str]:
    """Short labels "1: a, b, c" (1-based dimension number and its top ``k`` objects)."""
    return [f"{d + 1}: {', '.join(top)}" for d, top in enumerate(top_objects(weights, names, k))]


def top_objects_table(weights: np.ndarray, names: Sequence[str], k: int = 5):
    """Each dimension of an embedding in a row of a table for a page: its number (from 1),
    its `k` top objects (`top_objects`, joined by commas) and its total weight over all
    objects."""
    import pandas as pd

    top = top_objects(weights, names, k)
    return pd.DataFrame(
        {
            "dimension": np.arange(1, len(top) + 1),
            "top objects": [", ".join(t) for t in top],
            "total weight": np.asarray(weights).sum(axis=0),
        }
    )
