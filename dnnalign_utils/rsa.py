"""Representational similarity matrices (RSMs) from triplet embeddings and DNN features.

* `reconstruct_rsm`: the similarity an embedding implies for each pair (i, j), the mean over
  third objects k != i, j of P(i, j stay together | i, j, k)
  = 1 / (1 + exp(s_ik - s_ij) + exp(s_jk - s_ij)), s = ReLU(X) ReLU(X)^T, diagonal 1
  (the book's Methods page, section 'Similarity matrices from an embedding'). Computed
  as E_ij / (E_ij + E_ik + E_jk) with E = exp(S - max S),
  which needs no exp inside the O(n^3) loop, only two adds and a reciprocal per term, in
  blocks of (i rows, j columns, all k) float64 tensors; only j >= i is computed (the
  matrix is symmetric). If the similarities span more than 600 nats (exp would underflow)
  it falls back to the stable exp-of-differences form.
* `choice_rsm`: the deterministic (DNN) analogue: for each pair the fraction of third
  objects for which (i, j) has the highest similarity of the three pairs, with the
  reference tie rule (argmax over the pairs of the *sorted* triplet in combinations order,
  first wins), so it agrees with simulated DNN triplet choices.
* `rsm_correlation` / `variance_explained`: Pearson r of the upper triangles and r^2.

`objects` selects the rows/columns of the RSM and `context` the third objects averaged
over (default: all objects for both); the paper's 48-object comparison uses
objects = context = the 48 indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from dnnalign_utils.conventions import as_float_matrix

__all__ = ["choice_rsm", "reconstruct_rsm", "rsm_correlation", "variance_explained"]

_BLOCK_ELEMENTS = 1 << 19  # ~4 MB of float64 per work buffer: stays in cache


def _matrix(x: Any, name: str) -> np.ndarray:
    """A finite float64 (n_objects >= 2, n_dims) matrix."""
    return as_float_matrix(x, name, min_rows=2, what="(n_objects × n_dims)")


def _indices(idx: Any, n: int, name: str, min_len: int) -> np.ndarray:
    if idx is None:
        return np.arange(n)
    arr = np.asarray(idx)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"{name}: expected a 1-D integer index array, got {arr.dtype} {arr.shape}"
        )
    if arr.size < min_len:
        raise ValueError(f"{name}: expected at least {min_len} indices, got {arr.size}")
    if arr.min() < 0 or arr.max() >= n:
        raise ValueError(f"{name}: indices must lie in [0, {n}), got [{arr.min()}, {arr.max()}]")
    if np.unique(arr).size != arr.size:
        raise ValueError(f"{name}: indices must be unique")
    return arr.astype(np.int64)


def _setup(similarity: np.ndarray, objects: Any, context: Any):
    n = similarity.shape[0]
    obj = _indices(objects, n, "objects", 2)
    ctx = _indices(context, n, "context", 1)
    in_ctx = np.isin(obj, ctx)
    # number of valid third objects for pair (i, j), i != j
    count = ctx.size - in_ctx[:, None].astype(np.int64) - in_ctx[None, :].astype(np.int64)
    np.fill_diagonal(count, 1)
    if (count < 1).any():
        raise ValueError("context: some pair has no third object left (k must differ from i, j)")
    return obj, ctx, in_ctx, count


def _column_chunk(m: int, c: int) -> int:
    """Columns j per work buffer of (j, k) terms, ~_BLOCK_ELEMENTS elements."""
    return max(1, min(m, _BLOCK_ELEMENTS // max(c, 1)))


def reconstruct_rsm(
    weights: Any,
    *,
    objects: Any = None,
    context: Any = None,
    relu: bool = True,
    progress: bool = True,
) -> np.ndarray:
    """The RSM an embedding implies (float64, symmetric, diagonal 1); see the module doc.

    weights: (n_objects, n_dims); `relu` applies max(0, .) first (as the models do).
    objects: rows/columns of the result (default all); context: the third objects k
    averaged over (default all), always excluding k = i and k = j.
    """
    x = _matrix(weights, "weights")
    if relu:
        x = np.maximum(x, 0.0)
    xt = torch.from_numpy(x)
    sim = (xt @ xt.T).numpy()
    obj, ctx, in_ctx, count = _setup(sim, objects, context)
    s_oo = torch.from_numpy(np.ascontiguousarray(sim[np.ix_(obj, obj)]))
    s_oc = torch.from_numpy(np.ascontiguousarray(sim[np.ix_(obj, ctx)]))
    m, c = s_oc.shape
    total = torch.zeros(m, m, dtype=torch.float64)
    shift = max(float(s_oo.max()), float(s_oc.max()))
    low = min(float(s_oo.min()), float(s_oc.min()))
    stable_exp = shift - low <= 600.0
    if stable_exp:
        e_oo, e_oc = torch.exp(s_oo - shift), torch.exp(s_oc - shift)
    bj = _column_chunk(m, c)
    for i0 in tqdm(range(m), disable=not progress, desc="RSM rows", mininterval=1.0):
        for j0 in range(i0, m, bj):  # j >= i only: symmetric
            j1 = min(m, j0 + bj)
            if stable_exp:
                # 1 / (E_ij + E_ik + E_jk), summed over k
                buf = e_oc[j0:j1] + e_oc[i0]
                buf += e_oo[i0, j0:j1, None]
                total[i0, j0:j1] = buf.reciprocal_().sum(1) * e_oo[i0, j0:j1]
            else:
                s_ij = s_oo[i0, j0:j1, None]
                buf = torch.exp(s_oc[i0] - s_ij) + torch.exp(s_oc[j0:j1] - s_ij)
                total[i0, j0:j1] = (buf + 1.0).reciprocal_().sum(1)
    # remove the k = i and k = j terms where those objects are in the context:
    # P at k = i is E_ij / (2 E_ij + E_ii); at k = j it is E_ij / (2 E_ij + E_jj).
    s_ij = s_oo
    diag = torch.diagonal(s_oo)
    term_i = 1.0 / (1.0 + torch.exp(s_ij - s_ij) + torch.exp(diag[:, None] - s_ij))
    term_j = 1.0 / (1.0 + torch.exp(s_ij - s_ij) + torch.exp(diag[None, :] - s_ij))
    ic = torch.from_numpy(in_ctx)
    total -= term_i * ic[:, None] + term_j * ic[None, :]
    rsm = total / torch.from_numpy(count).to(torch.float64)
    rsm = torch.triu(rsm, 1)
    rsm = rsm + rsm.T
    rsm.fill_diagonal_(1.0)
    return rsm.numpy()


def choice_rsm(
    features: Any = None,
    *,
    similarity: Any = None,
    objects: Any = None,
    context: Any = None,
    relu: bool = True,
    progress: bool = True,
) -> np.ndarray:
    """Fraction of third objects for which (i, j) is the most similar pair (diagonal 1).

    Give `features` (similarity = dot products of ReLU(features) when `relu`, as the DNN
    choices are simulated; Methods page, 'The triplet likelihood') or a precomputed
    symmetric `similarity`.
    Ties follow the reference simulator: among the pairs of the sorted triplet in
    combinations order, the first maximum wins; so for objects i, j, k, (i, j) beats
    (i, k) on a tie iff k > j, and beats (j, k) on a tie iff k > i.
    """
    if (features is None) == (similarity is None):
        raise ValueError("choice_rsm: pass exactly one of features= or similarity=")
    if features is not None:
        x = _matrix(features, "features")
        if relu:
            x = np.maximum(x, 0.0)
        sim = x @ x.T
    else:
        sim = _matrix(similarity, "similarity")
        if sim.shape[0] != sim.shape[1] or not np.array_equal(sim, sim.T):
            raise ValueError(f"similarity: expected a symmetric square matrix, got {sim.shape}")
    obj, ctx, in_ctx, count = _setup(sim, objects, context)
    s_oo = torch.from_numpy(np.ascontiguousarray(sim[np.ix_(obj, obj)]))
    s_oc = torch.from_numpy(np.ascontiguousarray(sim[np.ix_(obj, ctx)]))
    obj_t, ctx_t = torch.from_numpy(obj), torch.from_numpy(ctx)
    m, c = s_oc.shape
    wins = torch.zeros(m, m, dtype=torch.float64)
    bj = _column_chunk(m, c)
    for i0 in tqdm(range(m), disable=not progress, desc="choice RSM rows", mininterval=1.0):
        for j0 in range(i0, m, bj):
            j1 = min(m, j0 + bj)
            a = s_oo[i0, j0:j1, None]
            s_ik = s_oc[i0][None, :]
            s_jk = s_oc[j0:j1]
            top = torch.maximum(s_jk, s_ik)
            strict = (a > top).sum(1, dtype=torch.float64)
            # Ties with the best other pair (always at k = i and k = j, rarely elsewhere):
            # apply the full tie rule on those columns only. k = i or k = j never win (a
            # strict comparison with itself fails), so only the count needs adjusting.
            cols = (a == top).any(0).nonzero().view(-1)
            if cols.numel():
                a_t, ik, jk = a, s_ik[:, cols], s_jk[:, cols]
                k_gt_j = ctx_t[cols][None, :] > obj_t[j0:j1, None]
                k_gt_i = (ctx_t[cols] > obj_t[i0])[None, :]
                tie_win = (
                    ((a_t > ik) | ((a_t == ik) & k_gt_j))
                    & ((a_t > jk) | ((a_t == jk) & k_gt_i))
                    & (a_t == torch.maximum(ik, jk))
                )
                strict += tie_win.sum(1, dtype=torch.float64)
            wins[i0, j0:j1] = strict
    rsm = wins / torch.from_numpy(count).to(torch.float64)
    rsm = torch.triu(rsm, 1)
    rsm = rsm + rsm.T
    rsm.fill_diagonal_(1.0)
    return rsm.numpy()


def _upper(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 3:
        raise ValueError(f"{name}: expected a square matrix with >= 3 rows, got {arr.shape}")
    vals = arr[np.triu_indices(arr.shape[0], 1)]
    if not np.isfinite(vals).all():
        raise ValueError(f"{name}: non-finite values in the upper triangle")
    return vals


def rsm_correlation(a: Any, b: Any) -> float:
    """Pearson r between the upper triangles (diagonal excluded) of two RSMs."""
    ua, ub = _upper(a, "a"), _upper(b, "b")
    if ua.shape != ub.shape:
        raise ValueError(f"b: expected the shape of a {np.shape(a)}, got {np.shape(b)}")
    if ua.std() == 0 or ub.std() == 0:
        raise ValueError("rsm_correlation: an upper triangle is constant; r is undefined")
    return float(np.corrcoef(ua, ub)[0, 1])


def variance_explained(prediction: Any, target: Any) -> float:
    """r^2 of `rsm_correlation` (the paper's 'variance explained')."""
    return rsm_correlation(prediction, target) ** 2
