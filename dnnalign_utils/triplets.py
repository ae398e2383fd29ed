"""Odd-one-out triplets: sampling, simulated network choices, splits, noise ceiling, agreement.

Convention (CONTRIBUTING.md): a triplet array is ``int64`` of shape ``(n, 3)``, 0-based
object indices, the **last column is the odd one out** and the first two are the pair
judged most similar.

What is here and why
--------------------
* :func:`sample_triplets` draws unique *unordered* triplets uniformly at random, fully
  vectorised (the reference draws 20 million triplets one at a time in a Python loop,
  see the book's Methods page, section 'Deviations from the paper and its code').
  Each unordered triplet ``{i < j < k}`` is
  identified by its colexicographic rank ``C(k,3) + C(j,2) + i`` (an ``int64`` key, a
  bijection onto ``[0, C(n,3))``, equivalent to the key ``i·n² + j·n + k`` but dense),
  so uniqueness is a property of integers: ranks are drawn uniformly and deduplicated by
  first occurrence, then decoded back to rows.
* :func:`odd_one_out_choices` simulates a deterministic network's choice: the odd one out
  is the item outside the most similar pair, similarity being the dot product (the
  paper's default), cosine or negative Euclidean distance, optionally after a ReLU (the
  paper applies one to raw penultimate-layer activations).
* :func:`split_triplets` / :func:`split_triplets_by_objects`: train/test splits by
  triplet and by objects; :func:`remove_heldout_triplets` / :func:`heldout_overlap_mask`:
  held-out hygiene (a training triplet whose three objects form a held-out one is dropped).
* :func:`noise_ceiling`: the human ceiling from repeated triplets.
* :func:`choice_agreement`, :func:`agreement_by_category`: how well a chooser (model)
  matches human choices. The held-out accuracy of an embedding with tied pairs credited
  1/m is ``embedding.evaluate_embedding`` (one function for it).

Concept-level VGG-16 stand-in
-----------------------------
``data/things/dnn/vgg16_kernel_nmf_rank200.npy`` is a non-negative matrix ``W``
(1,854 × 200) whose products ``W Wᵀ`` approximate the 1,854 × 1,854 dot-product kernel of
VGG-16 features of the THINGS concepts (symmetric NMF, rank 200). Its rows therefore serve
directly as the feature matrix for ``similarity="dot"``: ``w_i · w_j ≈ x_i · x_j``. No ReLU
is needed (``W ≥ 0``, so ``relu=True`` would change nothing).

Numerics and ties
-----------------
Similarities are computed in float64 by default: float32 rounding (about 1e-7 relative)
can flip the choice in near-tied triplets, and a ground truth for 20 million triplets
should not depend on the precision chosen for speed. ``dtype=np.float32`` is accepted
where speed matters more (the benchmark reports how many choices it flips). Results are
deterministic: the same inputs and ``method`` give the same choices on every call. The
Gram (BLAS) and row-wise (einsum) routes sum in different orders, so in float64 they can
only disagree on triplets whose two largest similarities agree to about 1e-15 relative.
Exact ties between the largest pair similarities are broken by a fixed rule on the
**sorted** triplet ``a < b < c``: the first of the pairs ``(a, b), (a, c), (b, c)`` that
attains the maximum wins (as in the reference, which takes ``itertools.combinations`` of
the sorted triplet and an argmax). The result thus never depends on the column order of
an input row.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from math import comb
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from dnnalign_utils import paths
from dnnalign_utils.conventions import (
    N_OBJECTS,
    check_int,
    check_real,
    sorted_triplets,
    triplet_keys,
    validate_triplets,
)
from dnnalign_utils.conventions import describe_rows as _describe_rows
from dnnalign_utils.provenance import (
    array_sha256,
    provenance_record,
    save_npy,
)

__all__ = [
    "heldout_overlap_mask",
    "remove_heldout_triplets",
    "Agreement",
    "NetworkAgreement",
    "NoiseCeiling",
    "ObjectSplit",
    "agreement_by_category",
    "agreement_table",
    "example_table",
    "write_triplet_split",
    "choice_agreement",
    "network_agreement",
    "network_choice_agreement",
    "noise_ceiling",
    "odd_one_out_choices",
    "pair_similarities",
    "sample_triplets",
    "split_triplets",
    "split_triplets_by_objects",
    "triplet_keys",
    "triplets_from_keys",
    "validate_triplets",
    "within_objects",
]

Similarity = Literal["dot", "cosine", "euclidean"]
Method = Literal["auto", "gram", "rowwise"]

# Below this many unordered triplets the sampler permutes all of them (8 bytes each).
_PERMUTE_ALL_LIMIT = 1 << 24
# A full float64 Gram matrix is used up to this many objects (4,096² × 8 B = 128 MiB).
_FULL_GRAM_MAX_OBJECTS = 4096
# Rows of the Gram matrix computed at once in the blocked path (block × n float64).
_GRAM_BLOCK_BYTES = 128 << 20
# Bytes of each gathered feature block in the row-wise path.
_ROWWISE_BLOCK_BYTES = 16 << 20
# Gathers and choices run in contiguous chunks of this many triplets, one thread per CPU
# (numpy releases the GIL in take and ufuncs; measured 1.4× faster on 2 busy cores).
_THREAD_CHUNK = 1 << 18
# Deduplicate by hashing up to this many keys, by sorting beyond (see _first_occurrences).
_HASH_DEDUPE_MAX = 2_000_000
# Progress bars only for calls at least this large (smaller ones take about a second).
_PROGRESS_MIN_TRIPLETS = 5_000_000


# ---------------------------------------------------------------------------------------
# Validation and keys
# ---------------------------------------------------------------------------------------


def _checked(
    triplets: np.ndarray, n_objects: int | None, name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate once (empty arrays allowed); the int64 array and its row-sorted columns."""
    return sorted_triplets(triplets, n_objects, name=name, allow_empty=True)


def heldout_overlap_mask(
    triplets: np.ndarray, heldout: Sequence[np.ndarray], n_objects: int = N_OBJECTS
) -> np.ndarray:
    """Bool (n,): whether each triplet's object set occurs in any held-out array."""
    keys = triplet_keys(triplets, n_objects)
    if not heldout:
        return np.zeros(len(keys), dtype=bool)
    held = np.unique(np.concatenate([triplet_keys(h, n_objects) for h in heldout]))
    return np.isin(keys, held)


def remove_heldout_triplets(
    train: np.ndarray, heldout: Sequence[np.ndarray], n_objects: int = N_OBJECTS
) -> tuple[np.ndarray, np.ndarray]:
    """Drop from `train` every triplet whose three objects (in any order, whatever the
    choice) form a triplet of any held-out set. Returns (kept triplets, removed mask)."""
    removed = heldout_overlap_mask(train, heldout, n_objects)
    return np.asarray(train, dtype=np.int64)[~removed], removed


def _first_occurrences(keys: np.ndarray) -> np.ndarray:
    """Boolean mask of the first occurrence of each value, in array order.

    Up to 2 million keys a hash table (``pandas.Series.duplicated``) is fastest. Beyond,
    one sort finds the (usually few) repeated values and only rows holding those are
    hashed: a sort streams through memory, whereas a hash table over millions of keys is
    dominated by cache misses (measured on 2 cores: 2× faster at 4 million keys).
    """
    if keys.size <= _HASH_DEDUPE_MAX:
        return ~pd.Series(keys, copy=False).duplicated(keep="first").to_numpy()
    ordered = np.sort(keys)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    keep = np.ones(keys.size, dtype=bool)
    if repeated.size:
        rows = np.flatnonzero(pd.Series(keys, copy=False).isin(np.unique(repeated)).to_numpy())
        keep[rows] = ~pd.Series(keys[rows]).duplicated(keep="first").to_numpy()
    return keep


def _largest_with_binomial_at_most(r: np.ndarray, order: int) -> np.ndarray:
    """Largest integer k with C(k, order) <= r, elementwise (order 2 or 3), exact.

    Compares ``order! · r`` with the falling factorial, so no integer division is needed.
    """
    if order == 3:
        scaled = 6 * r
        k = np.cbrt(scaled.astype(np.float64)).astype(np.int64) + 1

        def falling(v):
            return v * (v - 1) * (v - 2)
    else:
        scaled = 2 * r
        k = np.sqrt(scaled.astype(np.float64)).astype(np.int64) + 1

        def falling(v):
            return v * (v - 1)

    # The float estimate is within a unit or two; fix it exactly in integers.
    while True:
        over = falling(k) > scaled
        if not over.any():
            break
        k -= over
    while True:
        under = falling(k + 1) <= scaled
        if not under.any():
            break
        k += under
    return k


def triplets_from_keys(keys: np.ndarray) -> np.ndarray:
    """Inverse of :func:`triplet_keys`: sorted rows ``(a < b < c)`` from colex ranks."""
    r = np.asarray(keys, dtype=np.int64)
    if r.size and r.min() < 0:
        raise ValueError("keys: triplet keys must be non-negative")
    c = _largest_with_binomial_at_most(r, 3)
    r2 = r - c * (c - 1) * (c - 2) // 6
    b = _largest_with_binomial_at_most(r2, 2)
    a = r2 - b * (b - 1) // 2
    return np.stack([a, b, c], axis=1)


# ---------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------


def sample_triplets(
    n_objects: int,
    n_triplets: int,
    *,
    seed: int | np.random.Generator,
    chunk_size: int = 2_000_000,
    progress: bool = True,
) -> np.ndarray:
    """Draw ``n_triplets`` distinct unordered triplets of ``n_objects`` uniformly at random.

    Returns ``int64 (n_triplets, 3)`` rows sorted within the row (``i < j < k``: no choice
    applied yet), in a seeded random order. Every row has three distinct indices in
    ``[0, n_objects)``; no unordered triplet occurs twice.

    Algorithm: each of the ``T = C(n_objects, 3)`` unordered triplets is identified by its
    colex rank in ``[0, T)`` (:func:`triplet_keys`, an integer key of the sorted triple like
    ``i·n² + j·n + k`` but dense). If ``T <= 2**24`` a seeded permutation of all ranks is
    cut to length. Otherwise ranks are drawn i.i.d. uniformly with replacement and only the
    first occurrence of each is kept, in draw order (one sort finds repeated ranks, a hash
    of the few affected rows keeps their first occurrence), topping up until enough
    distinct ranks exist.
    Keeping the first ``n`` distinct values of an i.i.d. uniform stream gives a uniformly
    random ``n``-subset in a uniformly random order, exactly like the reference's
    set-based Python loop. Ranks are then decoded to rows in chunks of ``chunk_size``.
    Memory is O(n_triplets): about 40 bytes per triplet at the peak besides the 24-byte
    output (for 20 million triplets: 480 MB output, under 1 GB peak).

    Raises ValueError if ``n_triplets > C(n_objects, 3)`` or an argument is out of range.
    Near-exhaustive requests with ``T > 2**24`` are exact but slow (coupon collecting).
    """
    if int(n_objects) != n_objects or n_objects < 3:
        raise ValueError(f"n_objects: expected an integer >= 3, got {n_objects!r}")
    if int(n_triplets) != n_triplets or n_triplets < 0:
        raise ValueError(f"n_triplets: expected a non-negative integer, got {n_triplets!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    n_objects, n_triplets = int(n_objects), int(n_triplets)
    total = comb(n_objects, 3)
    if n_triplets > total:
        raise ValueError(
            f"n_triplets={n_triplets:,} exceeds the number of distinct unordered triplets "
            f"of n_objects={n_objects:,}: C({n_objects}, 3) = {total:,}"
        )
    if total >= 2**62:
        raise ValueError(f"n_objects={n_objects:,} is too large for int64 triplet keys")
    rng = np.random.default_rng(seed)

    if total <= _PERMUTE_ALL_LIMIT:
        keys = rng.permutation(total)[:n_triplets]
    else:
        # Ranks below 2**32 are sorted as uint32: half the memory traffic of int64.
        key_dtype = np.uint32 if total <= 2**32 else np.int64
        keys = np.empty(0, dtype=key_dtype)
        show = progress and n_triplets >= _PROGRESS_MIN_TRIPLETS
        bar = tqdm(total=n_triplets, disable=not show, desc="sampling triplets")
        while keys.size < n_triplets:
            need = n_triplets - keys.size
            # Over-draw so that one round usually suffices: a draw is new with probability
            # about (T - kept) / T, and n draws collide among themselves about n²/2T times.
            fresh = (total - keys.size) / total
            n_draw = int(need / fresh + need * need / (2.0 * total * fresh) + 4 * need**0.5 + 64)
            draws = rng.integers(0, total, size=n_draw, dtype=np.int64).astype(key_dtype)
            both = np.concatenate([keys, draws])
            keys = both[_first_occurrences(both)]  # kept ranks come first
            bar.update(min(keys.size, n_triplets) - bar.n)
        bar.close()
        keys = keys[:n_triplets].astype(np.int64)

    out = np.empty((n_triplets, 3), dtype=np.int64)
    for start in range(0, n_triplets, chunk_size):
        stop = min(start + chunk_size, n_triplets)
        out[start:stop] = triplets_from_keys(keys[start:stop])
    return out


# ---------------------------------------------------------------------------------------
# Simulated choices
# ---------------------------------------------------------------------------------------


def _prepare_features(
    features: np.ndarray, similarity: str, relu: bool, dtype: np.dtype
) -> np.ndarray:
    x = np.asarray(features)
    if x.ndim != 2:
        raise ValueError(f"features: expected a 2-D (n_objects, n_features) array, got {x.shape}")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ValueError(f"features: expected a numeric array, got dtype {x.dtype}")
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"features: NaN or infinite values in {bad.size} rows ({_describe_rows(bad)}); "
            "fix or remove these objects explicitly (dropping them would re-index every "
            "later object)"
        )
    x = in_safe_range(x, dtype, similarity, stacklevel=4)
    x = np.array(x, dtype=dtype, order="C", copy=True)
    if relu:
        np.maximum(x, 0, out=x)
    if similarity == "cosine":
        norms = np.sqrt(np.einsum("ij,ij->i", x, x))
        zero = np.flatnonzero(norms == 0)
        if zero.size:
            after = " after the ReLU" if relu else ""
            raise ValueError(
                f"features: cosine similarity is undefined for all-zero rows{after}: rows "
                f"{_describe_rows(zero)}"
            )
        x /= norms[:, None]
    return x


def in_safe_range(
    x: np.ndarray,
    dtype: np.dtype = np.float64,
    similarity: str = "dot",
    *,
    name: str = "features",
    stacklevel: int = 2,
) -> np.ndarray:
    """`x`, scaled by a power of two (exact) when its pair similarities could overflow or
    underflow in `dtype` (every one is at most (2 * max|x|)^2 * n_features in size), with
    a warning naming `name` and saying so. A positive scale changes no choice; an
    overflow to inf would make many choices arbitrary. The choices (`odd_one_out_choices`)
    and a reader's features (`networks.load`) go through it."""
    largest = float(np.abs(x).max()) if x.size else 0.0
    info = np.finfo(dtype)
    upper = np.sqrt(float(info.max) / (4 * x.shape[1]))
    lower = np.sqrt(float(info.tiny)) / float(info.eps)  # products keep full precision
    if largest == 0 or lower <= largest <= upper:
        return x
    exponent = int(np.frexp(largest)[1])
    warnings.warn(
        f"{name}: largest absolute value {largest:.3g}: their {similarity} similarities "
        f"would {'overflow' if largest > upper else 'underflow'} in {np.dtype(dtype).name}; "
        f"the features are scaled by 2**{-exponent}, which changes no choice",
        stacklevel=stacklevel + 1,
    )
    return np.ldexp(np.asarray(x, dtype=np.float64), -exponent)


def _n_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _in_chunks(n: int, work: Callable[[slice], None]) -> None:
    """Run ``work`` on contiguous slices of ``range(n)``, in threads when there are several.

    Each slice writes only its own part of the output, so results do not depend on the
    number of threads or their scheduling.
    """
    slices = [slice(i, min(i + _THREAD_CHUNK, n)) for i in range(0, n, _THREAD_CHUNK)]
    threads = min(_n_threads(), len(slices))
    if threads <= 1:
        for sl in slices:
            work(sl)
        return
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(work, slices):  # re-raises any worker exception
            pass


def _check_similarity(similarity: str) -> None:
    if similarity not in ("dot", "cosine", "euclidean"):
        raise ValueError(
            f"similarity: expected 'dot', 'cosine' or 'euclidean', got {similarity!r}"
        )


def _rowwise_similarities(
    x: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    similarity: str,
    chunk: int,
    progress: bool = False,
) -> np.ndarray:
    """Pair similarities, shape (3, n), by gathering feature rows per triplet (no Gram)."""
    out = np.empty((3, a.size), dtype=x.dtype)
    # Bound the gathered (chunk × n_features) blocks to about 16 MiB each.
    chunk = max(1, min(chunk, _ROWWISE_BLOCK_BYTES // (x.shape[1] * x.itemsize)))
    show = progress and a.size * x.shape[1] >= _PROGRESS_MIN_TRIPLETS * 200
    for start in tqdm(range(0, a.size, chunk), disable=not show, desc="pair similarities"):
        sl = slice(start, start + chunk)
        xa, xb, xc = x[a[sl]], x[b[sl]], x[c[sl]]
        if similarity == "euclidean":
            # Squared distances from differences (no cancellation); sqrt is monotone.
            for col, (u, v) in enumerate(((xa, xb), (xa, xc), (xb, xc))):
                d = u - v
                out[col, sl] = -np.einsum("ij,ij->i", d, d)
        else:
            out[0, sl] = np.einsum("ij,ij->i", xa, xb)
            out[1, sl] = np.einsum("ij,ij->i", xa, xc)
            out[2, sl] = np.einsum("ij,ij->i", xb, xc)
    return out


def _gram_similarities(
    x: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray, progress: bool
) -> np.ndarray:
    """Pair dot products, shape (3, n), via the Gram matrix: whole if small, else
    upper-triangular row blocks ``X[r0:r1] @ X[r0:].T`` so no n × n matrix is ever held."""
    n = x.shape[0]
    out = np.empty((3, a.size), dtype=x.dtype)
    if n <= _FULL_GRAM_MAX_OBJECTS:
        gram = (x @ x.T).ravel()

        def gather(sl: slice) -> None:
            an = a[sl] * n
            np.take(gram, an + b[sl], out=out[0, sl])
            np.take(gram, an + c[sl], out=out[1, sl])
            np.take(gram, b[sl] * n + c[sl], out=out[2, sl])

        _in_chunks(a.size, gather)
        return out
    block = max(1, _GRAM_BLOCK_BYTES // (n * x.itemsize))
    n_blocks = -(-n // block)
    # Pairs (a,b), (a,c) are looked up in a's block, (b,c) in b's block. Bucket triplets by
    # block once (a stable radix sort on small integers) so each block's are one slice.
    bucket_dtype = np.int16 if n_blocks < 2**15 else np.int64
    lookups = []
    for first, cols in ((a, ((b, 0), (c, 1))), (b, ((c, 2),))):
        bucket = (first // block).astype(bucket_dtype)
        order = np.argsort(bucket, kind="stable")
        starts = np.searchsorted(bucket[order], np.arange(n_blocks + 1))
        lookups.append((first, cols, order, starts))
    show = progress and a.size >= _PROGRESS_MIN_TRIPLETS
    for bi in tqdm(range(n_blocks), disable=not show, desc="Gram blocks"):
        if all(starts[bi] == starts[bi + 1] for *_, starts in lookups):
            continue
        r0, r1 = bi * block, min((bi + 1) * block, n)
        gram = (x[r0:r1] @ x[r0:].T).ravel()  # upper-triangular row block
        width = n - r0
        for first, cols, order, starts in lookups:
            rows = order[starts[bi] : starts[bi + 1]]
            p = (first[rows] - r0) * width - r0
            for second, col in cols:
                out[col, rows] = gram[p + second[rows]]
    return out


def _choices_from_similarities(
    sims: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray
) -> np.ndarray:
    """Rows ``[pair0, pair1, odd]`` from pair similarities (3, n) of (a,b), (a,c), (b,c).

    Strict comparisons give ties to the earlier pair (the documented tie rule).
    """
    out = np.empty((a.size, 3), dtype=np.int64)

    def choose(sl: slice) -> None:
        s0, s1, s2 = sims[0, sl], sims[1, sl], sims[2, sl]
        bc_wins = s2 > np.maximum(s0, s1)  # (b,c) strictly beats both: odd a
        not_ab = bc_wins | (s1 > s0)  # (a,b) is not the pair: c is in the pair
        pair0 = np.where(bc_wins, b[sl], a[sl])
        pair1 = np.where(not_ab, c[sl], b[sl])
        out[sl, 0] = pair0
        out[sl, 1] = pair1
        out[sl, 2] = a[sl] + b[sl] + c[sl] - pair0 - pair1  # the item outside the pair

    _in_chunks(a.size, choose)
    return out


def pair_similarities(
    triplets: np.ndarray,
    features: np.ndarray | None = None,
    *,
    similarity_matrix: np.ndarray | None = None,
    similarity: Similarity = "dot",
    relu: bool = False,
    method: Method = "auto",
    dtype: type[np.floating] = np.float64,
    chunk_size: int = 200_000,
    progress: bool = True,
) -> np.ndarray:
    """Similarities of the pairs ``(a,b), (a,c), (b,c)`` of each row sorted as ``a<b<c``.

    Give exactly one of ``features`` (n_objects × n_features; NaN/inf raise naming the rows)
    or ``similarity_matrix`` (n_objects × n_objects, symmetric, finite; used as is, so
    ``similarity``/``relu`` must keep their defaults). ``similarity``: ``"dot"`` (x·y),
    ``"cosine"`` (dot of unit rows; all-zero rows raise) or ``"euclidean"`` (negative
    *squared* distance computed from differences: the same ranking as the negative
    distance or the reference's 1/(1+d), without rounding ties). ``relu`` clips features at
    0 first. ``method`` for dot/cosine: ``"gram"`` (Gram matrix, whole for <= 4,096 objects,
    otherwise in row blocks), ``"rowwise"`` (gather feature rows per triplet in chunks) or
    ``"auto"`` (Gram unless the Gram has many more entries than the pairs asked for).
    Euclidean is always row-wise. Returns ``(n, 3)`` float array (``dtype``).
    """
    sims = _pair_similarities(
        triplets,
        features,
        similarity_matrix,
        similarity,
        relu,
        method,
        dtype,
        chunk_size,
        progress,
    )[0]
    return np.ascontiguousarray(sims.T)


def _pair_similarities(
    triplets, features, similarity_matrix, similarity, relu, method, dtype, chunk_size, progress
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`pair_similarities` as (3, n) plus the sorted columns a, b, c (validated once)."""
    _check_similarity(similarity)
    if method not in ("auto", "gram", "rowwise"):
        raise ValueError(f"method: expected 'auto', 'gram' or 'rowwise', got {method!r}")
    if (features is None) == (similarity_matrix is None):
        raise ValueError("give exactly one of features or similarity_matrix")
    if similarity_matrix is not None:
        s = np.asarray(similarity_matrix)
        if s.ndim != 2 or s.shape[0] != s.shape[1]:
            raise ValueError(f"similarity_matrix: expected a square matrix, got shape {s.shape}")
        if similarity != "dot" or relu:
            raise ValueError(
                "similarity_matrix is used as given: leave similarity='dot' and relu=False"
            )
        n = s.shape[0]
        _, a, b, c = _checked(triplets, n, "triplets")
        finite = np.isfinite(s).all(axis=1)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            raise ValueError(
                f"similarity_matrix: NaN or infinite values in rows {_describe_rows(bad)}"
            )
        if not np.allclose(s, s.T, rtol=1e-6, atol=1e-12 * float(np.abs(s).max() or 1.0)):
            raise ValueError("similarity_matrix: expected a symmetric matrix")
        flat = np.ascontiguousarray(s, dtype=dtype).ravel()
        # Always read the upper triangle (first index < second), so a matrix that is
        # symmetric only up to rounding gives order-independent results.
        sims = np.stack([flat[a * n + b], flat[a * n + c], flat[b * n + c]])
        return sims, a, b, c

    x = _prepare_features(features, similarity, relu, np.dtype(dtype))
    n = x.shape[0]
    _, a, b, c = _checked(triplets, n, "triplets")
    rowwise = similarity == "euclidean" or method == "rowwise"
    if method == "auto":
        # The Gram route computes n²/2 products, BLAS-fast; gathering feature rows per
        # triplet is memory-bound. Measured on 2 cores (24,102 × 4,096, float64) a Gram
        # entry costs about 1/50 of a row-wise pair, so the Gram wins unless it has more
        # than ~32× as many entries as there are pair look-ups (bench_triplets.py).
        rowwise |= n > _FULL_GRAM_MAX_OBJECTS and n * n / 2 > 32 * 3 * a.size
    if rowwise:
        return _rowwise_similarities(x, a, b, c, similarity, chunk_size, progress), a, b, c
    return _gram_similarities(x, a, b, c, progress), a, b, c


def odd_one_out_choices(
    triplets: np.ndarray,
    features: np.ndarray | None = None,
    *,
    similarity_matrix: np.ndarray | None = None,
    similarity: Similarity = "dot",
    relu: bool = False,
    method: Method = "auto",
    dtype: type[np.floating] = np.float64,
    chunk_size: int = 200_000,
    progress: bool = True,
) -> np.ndarray:
    """A deterministic chooser's odd-one-out choices for each triplet.

    The most similar of the pairs (see :func:`pair_similarities` for the arguments) is the
    pair; the remaining item is the odd one out. Returns ``int64 (n, 3)`` rows
    ``[pair0, pair1, odd]`` with ``pair0 < pair1``, row for row with the input (the input's
    column order is irrelevant). Exact ties go to the first of (a,b), (a,c), (b,c) of the
    sorted triplet. For the paper's VGG-16 pipeline pass the raw ``classifier.3``
    activations with ``relu=True``; for the rank-200 concept-level stand-in
    (``vgg16_kernel_nmf_rank200.npy``) pass it as is (non-negative already).
    """
    sims, a, b, c = _pair_similarities(
        triplets,
        features,
        similarity_matrix,
        similarity,
        relu,
        method,
        dtype,
        chunk_size,
        progress,
    )
    return _choices_from_similarities(sims, a, b, c)


# ---------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------


def _check_fraction(fraction: float, name: str) -> None:
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"{name}: expected a fraction strictly between 0 and 1, got {fraction}")


def split_triplets(
    triplets: np.ndarray, test_fraction: float = 0.1, *, seed: int | np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/test split, disjoint by unordered triplet.

    Distinct unordered triplets are shuffled and the first ``round(test_fraction · u)`` of
    the ``u`` distinct ones go to test. Repeated responses to one triplet (human data) all
    land on the same side, so no triplet is in both sets; for unique triplets (DNN data)
    this is the reference's shuffle-then-cut 90/10 split. Returns ``(train, test)`` rows in
    shuffled order (rows of one triplet stay adjacent).
    """
    _check_fraction(test_fraction, "test_fraction")
    arr = validate_triplets(triplets)
    rng = np.random.default_rng(seed)
    keys = triplet_keys(arr)
    if _first_occurrences(keys).all():  # all distinct (e.g. DNN triplets): shuffle, cut
        n_test = _n_test(test_fraction, arr.shape[0])
        order = rng.permutation(arr.shape[0])
        return arr[order[n_test:]], arr[order[:n_test]]
    codes = pd.factorize(keys)[0]
    n_unique = int(codes.max()) + 1
    rank = rng.permutation(n_unique)[codes]  # shuffled position of each row's triplet
    order = np.lexsort((rng.permutation(arr.shape[0]), rank))
    is_test = rank[order] < _n_test(test_fraction, n_unique)
    return arr[order[~is_test]], arr[order[is_test]]


def _n_test(fraction: float, n: int) -> int:
    """round(fraction · n), kept within [1, n - 1] when n >= 2 so neither side is empty."""
    n_test = int(round(fraction * n))
    return min(max(n_test, 1), n - 1) if n >= 2 else n_test


@dataclass(frozen=True)
class ObjectSplit:
    """Triplets split by a set of held-out objects.

    ``train``: all three objects are training objects. ``mixed``: one or two held-out
    objects (the generalisation case "a new object among known ones"). ``held_out``: all
    three objects are held out. ``any_held_out`` = ``mixed`` + ``held_out`` (at least one).
    Rows keep their input order within each part.
    """

    held_out_objects: np.ndarray
    train: np.ndarray
    mixed: np.ndarray
    held_out: np.ndarray

    @property
    def any_held_out(self) -> np.ndarray:
        return np.concatenate([self.mixed, self.held_out])


def split_triplets_by_objects(
    triplets: np.ndarray,
    n_objects: int,
    *,
    held_out_objects: Sequence[int] | np.ndarray | None = None,
    held_out_fraction: float | None = None,
    seed: int | np.random.Generator | None = None,
) -> ObjectSplit:
    """Split triplets by objects for held-out-object analyses (see :class:`ObjectSplit`).

    Give either ``held_out_objects`` (indices) or ``held_out_fraction`` with ``seed``
    (``round(fraction · n_objects)`` objects drawn without replacement).
    """
    arr = validate_triplets(triplets, n_objects)
    if (held_out_objects is None) == (held_out_fraction is None):
        raise ValueError("give exactly one of held_out_objects or held_out_fraction")
    if held_out_fraction is not None:
        _check_fraction(held_out_fraction, "held_out_fraction")
        if seed is None:
            raise ValueError("seed: required when held_out_fraction is given")
        rng = np.random.default_rng(seed)
        k = max(1, int(round(held_out_fraction * n_objects)))
        held = np.sort(rng.choice(n_objects, size=k, replace=False)).astype(np.int64)
    else:
        held = np.asarray(held_out_objects)
        if held.ndim != 1 or (held.size and not np.issubdtype(held.dtype, np.integer)):
            raise ValueError("held_out_objects: expected a 1-D array of integer indices")
        held = np.unique(held.astype(np.int64))
        if held.size and (held[0] < 0 or held[-1] >= n_objects):
            raise ValueError(f"held_out_objects: indices must lie in [0, {n_objects})")
    mask = np.zeros(n_objects, dtype=bool)
    mask[held] = True
    n_held = mask[arr].sum(axis=1)
    return ObjectSplit(
        held_out_objects=held,
        train=arr[n_held == 0],
        mixed=arr[(n_held == 1) | (n_held == 2)],
        held_out=arr[n_held == 3],
    )


# ---------------------------------------------------------------------------------------
# Noise ceiling and agreement
# ---------------------------------------------------------------------------------------


def _group_responses(triplets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group responses by unordered triplet.

    Returns ``(unique_sorted_triplets (u,3), counts (u,3), group (n,))`` where
    ``counts[g, col]`` is how many responses chose ``unique_sorted_triplets[g, col]`` as
    the odd one out and ``group[r]`` is row ``r``'s triplet. Groups are in key order.
    """
    group, uniq = pd.factorize(triplet_keys(triplets), sort=True)
    sorted_rows = triplets_from_keys(np.asarray(uniq, dtype=np.int64))
    odd = triplets[:, 2]
    col = np.argmax(sorted_rows[group] == odd[:, None], axis=1)
    counts = np.bincount(group * 3 + col, minlength=3 * uniq.size).reshape(-1, 3)
    return sorted_rows, counts.astype(np.int64), group


@dataclass(frozen=True)
class NoiseCeiling:
    """Consistency of repeated human choices.

    ``triplets``: the distinct triplets (sorted rows ``a<b<c``) with at least
    ``min_responses`` responses; ``counts[g, col]``: responses choosing
    ``triplets[g, col]`` as odd one out; ``modal_share[g]`` = max count / responses;
    ``tied[g]``: two or three objects share the top count. ``ceiling`` is the mean of
    ``modal_share`` over triplets (each triplet weighs the same: the published THINGS
    ceiling, 67.22 % on the noise-ceiling set); ``pooled`` is the share of all responses
    that equal their triplet's modal choice (each response weighs the same; 67.20 % there).
    A tie does not change either number, since the modal share is the top count whichever
    object holds it.
    """

    triplets: np.ndarray
    counts: np.ndarray
    modal_share: np.ndarray
    tied: np.ndarray
    ceiling: float
    pooled: float
    n_triplets: int
    n_responses: int


def noise_ceiling(triplets: np.ndarray, *, min_responses: int = 2) -> NoiseCeiling:
    """Noise ceiling from human responses to repeated triplets (rows may repeat a triplet
    in any column order; the last column is the odd one out).

    Triplets answered fewer than ``min_responses`` times are left out (a single response
    always agrees with itself); raises ValueError if none remains.
    """
    arr = validate_triplets(triplets)
    if min_responses < 1:
        raise ValueError(f"min_responses: expected >= 1, got {min_responses}")
    rows, counts, _ = _group_responses(arr)
    totals = counts.sum(axis=1)
    keep = totals >= min_responses
    if not keep.any():
        raise ValueError(f"triplets: no triplet has at least min_responses={min_responses}")
    rows, counts, totals = rows[keep], counts[keep], totals[keep]
    top = counts.max(axis=1)
    return NoiseCeiling(
        triplets=rows,
        counts=counts,
        modal_share=top / totals,
        tied=(counts == top[:, None]).sum(axis=1) > 1,
        ceiling=float(np.mean(top / totals)),
        pooled=float(top.sum() / totals.sum()),
        n_triplets=int(rows.shape[0]),
        n_responses=int(totals.sum()),
    )


def _match_model(human: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Boolean per human row: does the model pick the same odd one out?"""
    model_keys = triplet_keys(model)
    order = np.argsort(model_keys, kind="stable")
    sorted_keys = model_keys[order]
    dup = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])
    if dup.size:
        conflict = model[order[dup], 2] != model[order[dup + 1], 2]
        if conflict.any():
            rows = np.sort(order[dup[conflict]])
            raise ValueError(
                "model_choices: conflicting odd-one-out choices for the same triplet in "
                f"rows {_describe_rows(rows)}"
            )
    human_keys = triplet_keys(human)
    pos = np.searchsorted(sorted_keys, human_keys)
    pos_c = np.minimum(pos, max(sorted_keys.size - 1, 0))
    missing = (pos >= sorted_keys.size) | (sorted_keys[pos_c] != human_keys)
    if missing.any():
        raise ValueError(
            "model_choices: no model choice for the triplets of human rows "
            f"{_describe_rows(np.flatnonzero(missing))}"
        )
    return model[order[pos_c], 2] == human[:, 2]


@dataclass(frozen=True)
class Agreement:
    """Share of human responses a model matches, with a percentile bootstrap interval.

    ``matched``: per human row, whether the model's odd one out equals the human's.
    ``unit`` says what was resampled ("triplet": distinct triplets with all their
    responses, so repeated responses to one triplet are not treated as independent;
    "response": individual rows).
    """

    value: float
    ci_low: float
    ci_high: float
    confidence: float
    n_bootstrap: int
    unit: str
    n_responses: int
    n_triplets: int
    matched: np.ndarray


def _bootstrap_ratio(
    num: np.ndarray, den: np.ndarray, n_bootstrap: int, rng: np.random.Generator
) -> np.ndarray:
    """Bootstrap distribution of sum(num)/sum(den), resampling the units with replacement.

    Units with the same (num, den) are interchangeable, so a resample is fully described by
    how many units of each distinct pattern it holds: Multinomial(u, pattern shares). That
    is the same distribution as drawing u unit indices, at O(patterns) per replicate
    instead of O(u) (matched responses per triplet take few distinct values).
    """
    patterns, counts = np.unique(np.stack([num, den], axis=1), axis=0, return_counts=True)
    draws = rng.multinomial(num.size, counts / num.size, size=n_bootstrap)
    return (draws @ patterns[:, 0]) / (draws @ patterns[:, 1])


def choice_agreement(
    human_triplets: np.ndarray,
    model_choices: np.ndarray,
    *,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    unit: Literal["triplet", "response"] = "triplet",
    seed: int | np.random.Generator = 0,
) -> Agreement:
    """Share of human responses whose odd one out the model also chose.

    ``human_triplets``: human rows (repeats allowed). ``model_choices``: rows from any
    chooser (e.g. :func:`odd_one_out_choices`), last column the odd one out, covering every
    human triplet (matched by unordered triplet; extra rows are ignored; a model triplet
    with two different answers raises). The interval is the percentile bootstrap over
    ``unit`` (see :class:`Agreement`), seeded.
    """
    human = validate_triplets(human_triplets, name="human_triplets")
    model = validate_triplets(model_choices, name="model_choices")
    if human.shape[0] == 0:
        raise ValueError("human_triplets: empty")
    if not 0 < check_real("confidence", confidence) < 1:
        raise ValueError(f"confidence: expected a value in (0, 1), got {confidence}")
    if unit not in ("triplet", "response"):
        raise ValueError(f"unit: expected 'triplet' or 'response', got {unit!r}")
    n_bootstrap = check_int("n_bootstrap", n_bootstrap, minimum=0)  # 0: no interval (NaN)
    matched = _match_model(human, model)
    codes = pd.factorize(triplet_keys(human))[0]
    n_trip = int(codes.max()) + 1
    rng = np.random.default_rng(seed)
    if unit == "triplet":
        num = np.bincount(codes, weights=matched, minlength=n_trip)
        den = np.bincount(codes, minlength=n_trip).astype(float)
    else:
        num, den = matched.astype(float), np.ones(matched.size)
    if n_bootstrap > 0:
        boot = _bootstrap_ratio(num, den, n_bootstrap, rng)
        alpha = (1 - confidence) / 2
        lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    else:
        lo = hi = float("nan")
    return Agreement(
        value=float(matched.mean()),
        ci_low=float(lo),
        ci_high=float(hi),
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        unit=unit,
        n_responses=int(matched.size),
        n_triplets=n_trip,
        matched=matched,
    )


def agreement_by_category(
    human_triplets: np.ndarray,
    model_choices: np.ndarray,
    labels: Sequence | np.ndarray,
    *,
    by: Literal["odd_one_out", "composition"] = "odd_one_out",
) -> pd.DataFrame:
    """Agreement of a model with human responses, broken down by object category.

    ``labels``: one category per object (length ``n_objects``; ``None``/NaN = no
    category, which never counts as "same category", e.g. the 559 THINGS concepts outside
    the 27 categories). ``by="odd_one_out"``: group human responses by the category of the
    *human's* odd one out (``"(none)"`` when uncategorised). ``by="composition"``: group by
    how the human's choice relates to categories: ``"all same"`` (all three share a
    category), ``"pair same, odd differs"`` (the human pair shares a category the odd one
    lacks: a category-consistent choice), ``"odd shares with pair member"`` (the odd one
    shares a category with one of the pair, the pair members differ), ``"all different"``.
    Returns a DataFrame with columns ``group, n_responses, n_triplets, agreement`` sorted by
    ``n_responses`` (descending).
    """
    if by not in ("odd_one_out", "composition"):
        raise ValueError(f"by: expected 'odd_one_out' or 'composition', got {by!r}")
    codes, names = pd.factorize(pd.Series(list(labels), dtype=object), use_na_sentinel=True)
    n_objects = codes.size
    human = validate_triplets(human_triplets, n_objects, name="human_triplets")
    model = validate_triplets(model_choices, name="model_choices")
    matched = _match_model(human, model)
    cat = codes[human]  # (n, 3); -1 = uncategorised
    if by == "odd_one_out":
        # code -1 (uncategorised) picks the appended "(none)"
        group = np.append(np.asarray(names, dtype=object), "(none)")[cat[:, 2]]
    else:

        def same(u, v):
            return (u == v) & (u >= 0)

        pair = same(cat[:, 0], cat[:, 1])
        odd_pair = same(cat[:, 0], cat[:, 2]) | same(cat[:, 1], cat[:, 2])
        group = np.select(
            [pair & same(cat[:, 0], cat[:, 2]), pair, odd_pair],
            ["all same", "pair same, odd differs", "odd shares with pair member"],
            default="all different",
        )
    frame = pd.DataFrame({"group": group, "matched": matched, "key": triplet_keys(human)})
    table = frame.groupby("group", sort=True).agg(
        n_responses=("matched", "size"),
        n_triplets=("key", "nunique"),
        agreement=("matched", "mean"),
    )
    table = table.reset_index().sort_values(["n_responses", "group"], ascending=[False, True])
    return table.reset_index(drop=True)


def agreement_table(
    choosers: dict[str, np.ndarray],
    human_sets: dict[str, np.ndarray],
    *,
    similarity: Similarity | dict[str, Similarity] = "dot",
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Agreement of several representations with several sets of human choices.

    ``choosers`` maps a name to an object-by-feature matrix whose dot (or ``similarity``,
    per chooser if a dict) products decide each triplet (:func:`odd_one_out_choices`);
    ``human_sets`` maps a name to human rows. Returns one row per (chooser, set) with the
    agreement and its bootstrap interval over triplets (:func:`choice_agreement`), in
    percent.
    """
    rows = []
    for name, features in choosers.items():
        sim = similarity[name] if isinstance(similarity, dict) else similarity
        for set_name, human in human_sets.items():
            choices = odd_one_out_choices(human, features, similarity=sim, progress=False)
            result = choice_agreement(human, choices, n_bootstrap=n_bootstrap, seed=seed)
            rows.append(
                {
                    "representation": name,
                    "human set": set_name,
                    "agreement (%)": 100 * result.value,
                    "ci low (%)": 100 * result.ci_low,
                    "ci high (%)": 100 * result.ci_high,
                    "responses": result.n_responses,
                }
            )
    return pd.DataFrame(rows)


def example_table(
    ceiling: NoiseCeiling,
    rows: np.ndarray,
    names: Sequence[str],
    model_choices: dict[str, np.ndarray],
) -> pd.DataFrame:
    """A readable table of some repeated triplets: objects, human votes, model answers.

    ``rows`` index ``ceiling.triplets``; ``names[i]`` names object ``i``;
    ``model_choices[name]`` holds each model's answers covering those triplets. Each
    human-vote column reads ``object: votes``.
    """
    names = np.asarray(names, dtype=object)
    picked = ceiling.triplets[rows]
    table = pd.DataFrame(
        {
            f"object {col + 1}": [
                f"{names[t[col]]}: {c[col]}"
                for t, c in zip(picked, ceiling.counts[rows], strict=True)
            ]
            for col in range(3)
        }
    )
    table["human modal odd one out"] = names[
        picked[np.arange(len(rows)), ceiling.counts[rows].argmax(axis=1)]
    ]
    for model, choices in model_choices.items():
        lookup = dict(zip(triplet_keys(choices).tolist(), choices[:, 2].tolist(), strict=True))
        odd = np.array([lookup[k] for k in triplet_keys(picked).tolist()])
        table[f"{model} odd one out"] = names[odd]
    return table


def write_triplet_split(
    directory: str | os.PathLike,
    train: np.ndarray,
    test: np.ndarray,
    *,
    produced_by: str,
    parameters: dict,
    input_hashes: dict[str, str] | None = None,
    objects: np.ndarray | None = None,
) -> dict[str, Path]:
    """Save a train/test split as ``train_90.npy``/``test_10.npy`` (the reference format,
    readable with ``dnnalign_utils.data.load_triplets(path, fmt="npy")``), atomically,
    each with a provenance sidecar recording ``parameters`` and input hashes.

    ``objects``: what the triplets' indices 0..n-1 stand for (a network's THINGS indices,
    ``net.things_index``); saved first as ``things_index.npy`` beside the split, and its
    hash goes into the split's provenance, so a split always names the objects file it
    belongs to. Every index must then lie below ``len(objects)``."""
    directory = Path(directory)
    written = {}
    input_hashes = dict(input_hashes or {})
    n_objects = None
    if objects is not None:
        objects = np.asarray(objects)
        if objects.ndim != 1 or not np.issubdtype(objects.dtype, np.integer):
            raise ValueError(f"objects: expected a 1-D integer array, got {objects.shape}")
        objects = objects.astype(np.int64)
        n_objects = objects.size
        path = directory / paths.TRIPLET_OBJECTS_FILE
        record = provenance_record(
            produced_by, parameters=parameters, input_hashes={**input_hashes}
        )
        save_npy(path, objects, record)
        written[paths.TRIPLET_OBJECTS_FILE] = path
        input_hashes["things_index"] = array_sha256(objects)
    for name, rows in zip(paths.TRIPLET_SPLIT_FILES, (train, test), strict=True):
        rows = validate_triplets(rows, n_objects, name=name)
        path = directory / name
        record = provenance_record(
            produced_by,
            parameters={**parameters, "split": name, "n_triplets": int(rows.shape[0])},
            input_hashes={**input_hashes, "triplets_array": array_sha256(rows)},
        )
        save_npy(path, rows, record)
        written[name] = path
    return written


def within_objects(triplets: np.ndarray, objects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The triplets whose three objects all lie in ``objects``, re-indexed to positions
    in ``objects`` (so they index a representation restricted to those rows).

    Returns ``(local_triplets, keep)`` where ``keep`` marks the rows of ``triplets`` that
    were kept; the caller sees exactly what was left out.
    """
    arr = validate_triplets(triplets)
    objects = np.asarray(objects, dtype=np.int64)
    if objects.ndim != 1 or np.unique(objects).size != objects.size:
        raise ValueError("objects: expected a 1-D array of distinct object indices")
    position = np.full(max(int(arr.max()), int(objects.max())) + 1, -1, dtype=np.int64)
    position[objects] = np.arange(objects.size)
    local = position[arr]
    keep = (local >= 0).all(axis=1)
    return local[keep], keep


def heldout_among(objects: np.ndarray, label: str) -> dict[str, np.ndarray]:
    """The held-out human responses (the noise-ceiling set's and the 2,171 set's) whose
    three objects all lie among `objects` (THINGS indices), re-indexed to positions in
    `objects`, by set name; only the sets with some. Chapter 1 compares a network with
    people on them: ValueError naming `label` when there are none (few concepts)."""
    from dnnalign_utils import data

    sets = {
        "noise-ceiling set": data.load_triplets_noise_ceiling().triplets,
        "2,171 set": data.load_triplets_2171(),
    }
    inside = {name: within_objects(rows, objects)[0] for name, rows in sets.items()}
    inside = {name: rows for name, rows in inside.items() if len(rows)}
    if not inside:
        objects = np.unique(np.asarray(objects))
        raise ValueError(
            f"{label}: none of the held-out human responses ("
            + ", ".join(f"{len(rows):,} of the {name}" for name, rows in sets.items())
            + f") has all three objects among its {objects.size:,} THINGS concepts, so its "
            "choices cannot be compared with people's (chapter 1); expected features or "
            "pictures of more concepts"
        )
    return inside


# ---------------------------------------------------------------------------------------
# A network's agreement with people (a key number of chapter 1)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkAgreement:
    """How often a network's odd-one-out choices match people's on held-out triplets.

    ``agreement``: the network against the human responses ``human_set`` names (None when
    none of them lies among the network's concepts); ``ceiling``: the human noise
    ceiling of the repeated triplets among them (None when there are none);
    ``n_concepts``: the THINGS concepts the network's features cover.
    """

    agreement: Agreement | None
    ceiling: NoiseCeiling | None
    human_set: str
    n_concepts: int

    def numbers(self) -> dict[str, float]:
        """The key numbers of chapter 1 (`keynumbers.KEY_NUMBERS`), in percent; NaN
        where a number cannot be computed on these concepts."""
        return {
            "n_concepts": float(self.n_concepts),
            "choice_agreement": (
                float("nan") if self.agreement is None else 100 * self.agreement.value
            ),
            "noise_ceiling": float("nan") if self.ceiling is None else 100 * self.ceiling.ceiling,
        }


def _network_features(net) -> tuple[np.ndarray, np.ndarray]:
    """(values, things_index) of a `networks.ConceptFeatures`, checked against each other."""
    values = np.asarray(net.values)
    things_index = np.asarray(net.things_index)
    if values.ndim != 2 or things_index.ndim != 1 or values.shape[0] != things_index.size:
        raise ValueError(
            f"net {getattr(net, 'label', '')!r}: values {values.shape} and things_index "
            f"{things_index.shape}: expected one feature row per THINGS index"
        )
    if things_index.size < 3:
        raise ValueError(
            f"net {getattr(net, 'label', '')!r}: features for {things_index.size} concepts; "
            "expected at least 3 to form a triplet"
        )
    if not np.issubdtype(things_index.dtype, np.integer) or (np.diff(things_index) <= 0).any():
        raise ValueError(
            f"net {getattr(net, 'label', '')!r}: things_index must be increasing integers"
        )
    if things_index[0] < 0 or things_index[-1] >= N_OBJECTS:
        raise ValueError(
            f"net {getattr(net, 'label', '')!r}: things_index must lie in [0, {N_OBJECTS})"
        )
    return values, things_index.astype(np.int64)


def network_agreement(
    net,
    *,
    n_bootstrap: int = 0,
    seed: int = 0,
    noise_ceiling_set: np.ndarray | None = None,
    other_heldout: np.ndarray | None = None,
) -> NetworkAgreement:
    """A network's odd-one-out choices (dot products of ``net.values``) against people's.

    ``net``: a `dnnalign_utils.networks.ConceptFeatures` (``values`` one row per THINGS
    concept of ``things_index``). A network with features of every concept is scored on
    the noise-ceiling set (its responses; the ceiling is that set's), as chapter 1 scores
    representations. A network covering a subset of the concepts is scored on the
    held-out human responses whose three objects are all among its concepts: those of the
    noise-ceiling set and of the 2,171 set, with the ceiling of the noise-ceiling triplets
    among them (None when there are none). ``n_bootstrap`` / ``seed``: the bootstrap
    interval of the agreement over triplets (`choice_agreement`; 0: none). The held-out
    sets default to the embedded ones (``data.load_triplets_noise_ceiling`` and
    ``data.load_triplets_2171``).
    """
    from dnnalign_utils import data

    values, things_index = _network_features(net)
    if noise_ceiling_set is None:
        noise_ceiling_set = data.load_triplets_noise_ceiling().triplets
    ceiling_rows = validate_triplets(noise_ceiling_set, N_OBJECTS, name="noise_ceiling_set")
    if things_index.size == N_OBJECTS:
        human, ceiling_inside, what = ceiling_rows, ceiling_rows, "the noise-ceiling set"
    else:  # rows re-indexed to the network's rows 0..n-1
        if other_heldout is None:
            other_heldout = data.load_triplets_2171()
        other = validate_triplets(other_heldout, N_OBJECTS, name="other_heldout")
        ceiling_inside = within_objects(ceiling_rows, things_index)[0]
        other_inside = within_objects(other, things_index)[0]
        human = np.concatenate([ceiling_inside, other_inside])
        what = (
            f"the held-out human responses among its {things_index.size:,} concepts "
            f"({len(ceiling_inside):,} responses from the noise-ceiling set, "
            f"{len(other_inside):,} from the 2,171 set)"
        )
    agreement = None
    if len(human):
        choices = odd_one_out_choices(human, values, similarity="dot", progress=False)
        agreement = choice_agreement(human, choices, n_bootstrap=n_bootstrap, seed=seed)
    ceiling = None
    if len(ceiling_inside) and np.unique(triplet_keys(ceiling_inside)).size < len(ceiling_inside):
        ceiling = noise_ceiling(ceiling_inside)  # some triplet was answered more than once
    return NetworkAgreement(agreement, ceiling, what, int(things_index.size))


def network_choice_agreement(net, *, n_bootstrap: int = 0, seed: int = 0) -> dict[str, float]:
    """Chapter 1's key numbers of a network (`keynumbers.KEY_NUMBERS`): ``n_concepts``,
    ``choice_agreement`` and ``noise_ceiling`` in percent (see :func:`network_agreement`
    for the human responses used; NaN where none lies among the network's concepts). The
    bootstrap settings only bound the interval, never the numbers returned."""
    return network_agreement(net, n_bootstrap=n_bootstrap, seed=seed).numbers()
