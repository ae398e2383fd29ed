"""Dimension matching and reproducibility of embeddings (chapter 2; `compare` uses them).

* :func:`match_dimensions`: one-to-one (Hungarian) or greedy matching of the columns of
  two embeddings of the same objects by Pearson r.
* :func:`split_half_reproducibility`, :func:`reproducibility_over_runs`: how well the
  dimensions of one run are found again in others (the book's Methods page).
* :func:`matched_table`, :func:`reproducibility_table`: the two as tables for a page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from dnnalign_utils.container import Embedding
from dnnalign_utils.conventions import as_float_matrix, column_correlation

# ------------------------------------------------------------------- matching dimensions


def match_dimensions(
    a: Any, b: Any, *, method: str = "hungarian", objects: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Match the dimensions (columns) of embeddings `a` and `b` over the same objects.

    method="hungarian": a one-to-one assignment maximising the summed Pearson r
    (``linear_sum_assignment`` on -r); "greedy": go through the columns of `a` in order
    (importance order) and take the best-correlated unused column of `b` (the reference's
    rule). `objects` restricts the correlation to a subset of rows. Returns ``pairs``
    (m, 2) int64 [column of a, column of b], in the order of a's columns, and ``r`` (m,).
    """
    a = as_float_matrix(a, "a")
    b = as_float_matrix(b, "b")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"b: expected {a.shape[0]} rows like a, got {b.shape[0]}")
    if objects is not None:
        a, b = a[objects], b[objects]
    r = column_correlation(a, b)
    if method == "hungarian":
        rows, cols = linear_sum_assignment(-r)
    elif method == "greedy":
        used = np.zeros(r.shape[1], dtype=bool)
        rows_l, cols_l = [], []
        for i in range(r.shape[0]):
            if used.all():
                break
            cand = np.where(used, -np.inf, r[i])
            j = int(np.argmax(cand))
            used[j] = True
            rows_l.append(i)
            cols_l.append(j)
        rows, cols = np.array(rows_l, dtype=np.int64), np.array(cols_l, dtype=np.int64)
    else:
        raise ValueError(f"method: expected 'hungarian' or 'greedy', got {method!r}")
    pairs = np.stack([rows, cols], 1).astype(np.int64)
    return pairs, r[rows, cols]


def matched_table(
    pairs: Any,
    r: Any,
    top_a: Sequence[Sequence[str]],
    top_b: Sequence[Sequence[str]],
    *,
    a: str,
    b: str,
) -> pd.DataFrame:
    """The matched dimensions of `match_dimensions` (`pairs`, `r`) as a table, a row per
    pair in the order of `pairs`: each side's dimension (counted from 1) and its top
    objects (`container.top_objects` of that embedding, joined by commas), headed
    "dimension (<a>)", "top objects (<a>)", then the same for `b`, and the pair's r."""
    pairs = np.asarray(pairs)
    r = np.asarray(r)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or len(r) != len(pairs):
        raise ValueError(
            f"pairs, r: expected (m, 2) pairs and m correlations, got shapes {pairs.shape} "
            f"and {r.shape}"
        )
    return pd.DataFrame(
        {
            f"dimension ({a})": pairs[:, 0] + 1,
            f"top objects ({a})": [", ".join(top_a[i]) for i in pairs[:, 0]],
            f"dimension ({b})": pairs[:, 1] + 1,
            f"top objects ({b})": [", ".join(top_b[j]) for j in pairs[:, 1]],
            "r": r,
        }
    )


# --------------------------------------------------------------------- reproducibility


def split_half_reproducibility(a: Any, b: Any, *, seed: int = 42) -> np.ndarray:
    """Per dimension of `a`: Pearson r on a held-out half of the objects with the column of
        `b` that correlates best with it on the other half (the book's Methods page, section
    'Split-half reproducibility').

        A random 50/50 object mask (seed) splits the rows; matching with replacement on half 1
        removes the max-selection bias from the score on half 2.
    """
    a = as_float_matrix(a, "a")
    b = as_float_matrix(b, "b")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"b: expected {a.shape[0]} rows like a, got {b.shape[0]}")
    n = a.shape[0]
    if n < 4:
        raise ValueError(f"a: expected at least 4 objects to split in halves, got {n}")
    perm = np.random.default_rng(seed).permutation(n)
    half1, half2 = perm[: n // 2], perm[n // 2 :]
    best = np.argmax(column_correlation(a[half1], b[half1]), axis=1)
    r2 = column_correlation(a[half2], b[half2])
    return r2[np.arange(a.shape[1]), best]


@dataclass(frozen=True)
class Reproducibility:
    """Result of `reproducibility_over_runs`.

    per_dim: {label: (n_dims,) Fisher-z mean over the OTHER runs of the split-half r}.
    mean: {label: mean of per_dim}; share_reproducible: {label: share of dims with
    per_dim > threshold}; best: the label with the highest mean (the paper's selection
    rule, keyed by label, not by position).
    """

    per_dim: dict[str, np.ndarray]
    mean: dict[str, float]
    share_reproducible: dict[str, float]
    best: str
    threshold: float


def reproducibility_over_runs(
    embeddings: Mapping[str, Any], *, seed: int = 42, threshold: float = 0.8
) -> Reproducibility:
    """Reproducibility of each run's dimensions across the other runs (e.g. seeds).

    For each ordered pair of different runs (i, j), `split_half_reproducibility(i, j,
    seed)`; per dimension of i the r values are averaged over j != i in Fisher-z space
    (r clipped to +-0.999999) and back-transformed. Pass the *pruned* embeddings
    (Embedding.weights). Fixes two bugs of the reference code: no zero self-pair in the
    average, and the best run is returned by its label.
    """
    if len(embeddings) < 2:
        raise ValueError(f"embeddings: expected at least 2 runs, got {len(embeddings)}")
    mats = {
        str(k): as_float_matrix(v.weights if isinstance(v, Embedding) else v, f"run {k}")
        for k, v in embeddings.items()
    }
    rows = {m.shape[0] for m in mats.values()}
    if len(rows) != 1:
        raise ValueError(f"embeddings: expected the same objects in every run, got rows {rows}")
    per_dim, mean, share = {}, {}, {}
    for ki, a in mats.items():
        zs = [
            np.arctanh(np.clip(split_half_reproducibility(a, b, seed=seed), -0.999999, 0.999999))
            for kj, b in mats.items()
            if kj != ki
        ]
        r = np.tanh(np.mean(zs, axis=0))
        per_dim[ki] = r
        mean[ki] = float(r.mean())
        share[ki] = float((r > threshold).mean())
    best = max(mean, key=lambda k: mean[k])
    return Reproducibility(per_dim, mean, share, best, threshold)


def reproducibility_table(
    result: Reproducibility, columns: Mapping[str, Mapping[str, Any]] | None = None
) -> pd.DataFrame:
    """`reproducibility_over_runs`'s result as a table, a row per run (index "fit"): the
    caller's `columns` first (name -> {run label: value}, e.g. each run's dimensions),
    then the mean split-half r and the share of dimensions above the threshold."""
    table = {name: dict(values) for name, values in (columns or {}).items()}
    table["mean split-half r"] = result.mean
    table[f"share of dimensions with r > {result.threshold:g}"] = result.share_reproducible
    return pd.DataFrame(table).rename_axis("fit")
