"""Reading embedding dimensions: the objects that weigh most on each dimension."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
