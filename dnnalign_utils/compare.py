"""Comparing a human and a DNN embedding of the same objects.

See the paper's Methods and the book's Methods page, sections 'The jackknife of single
dimensions', 'Similarity matrices from an embedding' and 'Deviations from the paper and its
code'.

* `match_human_dnn`: which DNN dimension corresponds to which human dimension. The reference
  code matches greedily and reports the in-sample Pearson r, which is biased upwards (the
  best of many correlations). We add a one-to-one (Hungarian) assignment made on one half
  of the objects and scored on the other, and a null distribution from permuting the
  objects of the DNN embedding, matched and scored the same way.
* `leave_one_out_relevance`: the jackknife of Fig. 6. For ``x = ReLU(w)`` the similarity of
  a pair without dimension d is ``s_ij - x_id x_jd``, so every leave-one-out choice
  probability is closed form, O(D) per triplet (the reference re-evaluates the softmax
  per dimension with fresh posterior noise).
* `diverging_triplets`: triplets on which the two embeddings disagree most about the odd
  one out.
* `cumulative_rsa`: variance of the human RSM explained by RSMs of the first i DNN
  dimensions, with a bootstrap over RSM entries.
* `network_human_numbers`: chapter 6's key numbers of a network (best held-out matched r,
  global RSA r), on the network's own concepts; `human_weights` and `global_rsa` are its
  parts.
* `matched_pairs_table`, `jackknife_drivers_table`, `driver_examples`: chapter 6's
  downloads and its table of examples, the dimensions numbered from 1 and labelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.optimize import linear_sum_assignment
from tqdm.auto import tqdm

from dnnalign_utils.container import check_things_index, choice_probabilities, from_published
from dnnalign_utils.conventions import (
    as_float_matrix,
    check_int,
    column_correlation,
    validate_triplets,
)
from dnnalign_utils.matching import match_dimensions

__all__ = [
    "cumulative_rsa",
    "dimension_qualities",
    "global_rsa",
    "human_weights",
    "network_human_numbers",
    "diverging_triplets",
    "driver_counts",
    "driver_examples",
    "jackknife_drivers",
    "jackknife_drivers_table",
    "labelled_with_quality",
    "leave_one_out_relevance",
    "match_human_dnn",
    "matched_pairs_table",
    "most_relevant_dimensions",
]


def _pair(human: Any, dnn: Any) -> tuple[np.ndarray, np.ndarray]:
    human = as_float_matrix(human, "human")
    dnn = as_float_matrix(dnn, "dnn")
    if human.shape[0] != dnn.shape[0]:
        raise ValueError(
            f"dnn: expected {human.shape[0]} rows (the human embedding's objects), "
            f"got {dnn.shape[0]}"
        )
    if human.shape[0] < 4:
        raise ValueError(f"human: expected at least 4 objects, got {human.shape[0]}")
    return human, dnn


def _heldout_matched_r(
    human: np.ndarray, dnn: np.ndarray, half1: np.ndarray, half2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian pairs chosen on half1, their Pearson r on half2 (in human-column order)."""
    rows, cols = linear_sum_assignment(-column_correlation(human[half1], dnn[half1]))
    r2 = column_correlation(human[half2], dnn[half2])
    return np.stack([rows, cols], 1), r2[rows, cols]


def match_human_dnn(
    human: Any,
    dnn: Any,
    *,
    n_permutations: int = 200,
    seed: int = 42,
    progress: bool = True,
) -> pd.DataFrame:
    """Match every human dimension to a DNN dimension, with an unbiased score and a null.

    Rows of both embeddings are the same objects. Returns one row per matched pair,
    sorted by ``r (held out)`` (descending), with columns:

    - ``human dim``, ``dnn dim``: the pair chosen by a one-to-one assignment maximising
      the summed r on a random half of the objects (seeded by `seed`);
    - ``r (held out)``: that pair's Pearson r on the other half;
    - ``r (in sample)``: the pair's r on all objects (what matching and scoring on the
      same objects reports);
    - ``greedy r (reference)``: at the same rank, the in-sample r of the reference rule
      (greedy in human-dimension order, without replacement), sorted descending;
    - ``null 95 %``: at the same rank, the 95th percentile over `n_permutations`
      permutations of the DNN embedding's objects of the held-out r, matched and scored
      exactly as above (0 permutations: NaN);
    - ``greedy null 95 %``: the same percentile of the reference rule's in-sample r on
      the permuted embeddings: what matching and scoring on the same objects reports
      for embeddings that share nothing.
    """
    human, dnn = _pair(human, dnn)
    if n_permutations < 0:
        raise ValueError(f"n_permutations: expected >= 0, got {n_permutations}")
    rng = np.random.default_rng(seed)
    n = human.shape[0]
    perm = rng.permutation(n)
    half1, half2 = perm[: n // 2], perm[n // 2 :]
    pairs, r_heldout = _heldout_matched_r(human, dnn, half1, half2)
    r_all = column_correlation(human, dnn)[pairs[:, 0], pairs[:, 1]]
    order = np.argsort(-r_heldout, kind="stable")
    m = len(order)
    _, greedy_r = match_dimensions(human, dnn, method="greedy")
    greedy_sorted = np.full(m, np.nan)
    greedy_sorted[: min(m, greedy_r.size)] = np.sort(greedy_r)[::-1][:m]
    null_95 = np.full(m, np.nan)
    greedy_null_95 = np.full(m, np.nan)
    if n_permutations:
        null = np.empty((n_permutations, m))
        greedy_null = np.full((n_permutations, m), np.nan)
        for p in tqdm(range(n_permutations), desc="permutations", disable=not progress):
            shuffled = dnn[rng.permutation(n)]
            null[p] = np.sort(_heldout_matched_r(human, shuffled, half1, half2)[1])[::-1]
            greedy = np.sort(match_dimensions(human, shuffled, method="greedy")[1])[::-1]
            greedy_null[p, : min(m, greedy.size)] = greedy[:m]
        null_95 = np.percentile(null, 95, axis=0)
        greedy_null_95 = np.percentile(greedy_null, 95, axis=0)
    return pd.DataFrame(
        {
            "rank": np.arange(1, m + 1),
            "human dim": pairs[order, 0],
            "dnn dim": pairs[order, 1],
            "r (held out)": r_heldout[order],
            "r (in sample)": r_all[order],
            "greedy r (reference)": greedy_sorted,
            "null 95 %": null_95,
            "greedy null 95 %": greedy_null_95,
        }
    )


# --------------------------------------------------------------------------- jackknife


def leave_one_out_relevance(
    weights: Any, triplets: Any, *, target: Any = None, batch_size: int = 65_536
) -> tuple[np.ndarray, np.ndarray]:
    """Probability of a target odd one out with and without each dimension.

    `weights` (n_objects, D) are ReLU'd; `triplets` (m, 3); `target` (m,) the column
    (0, 1 or 2) whose odd-one-out probability is tracked (default 2, the observed choice).
    Returns ``p`` (m,) under the full embedding and ``delta`` (m, D), the probability
    without dimension d minus ``p``: removing a dimension that supports the choice gives
    a negative delta. Its absolute value is the paper's relevance (Fig. 6).
    """
    w = torch.from_numpy(np.maximum(as_float_matrix(weights, "weights"), 0.0))
    t_np = validate_triplets(triplets, w.shape[0])
    m = len(t_np)
    if target is None:
        target_np = np.full(m, 2, dtype=np.int64)
    else:
        target_np = np.asarray(target)
        if target_np.shape != (m,) or not np.isin(target_np, [0, 1, 2]).all():
            raise ValueError(f"target: expected {m} values in {{0, 1, 2}}, got {target_np!r}")
        target_np = target_np.astype(np.int64)
    p_out = np.empty(m)
    delta_out = np.empty((m, w.shape[1]))
    for start in range(0, m, batch_size):
        t = torch.from_numpy(t_np[start : start + batch_size])
        tgt = torch.from_numpy(target_np[start : start + batch_size])
        a, b, c = w[t[:, 0]], w[t[:, 1]], w[t[:, 2]]
        # per-dimension products of the pairs that leave out column 0, 1, 2
        parts = torch.stack([b * c, a * c, a * b], 1)  # (batch, 3, D)
        logits = parts.sum(2)  # (batch, 3)
        p_full = torch.softmax(logits, 1)
        loo = torch.softmax(logits[:, :, None] - parts, 1)  # (batch, 3, D)
        rows = torch.arange(len(t))
        p_t = p_full[rows, tgt]
        p_out[start : start + len(t)] = p_t.numpy()
        delta_out[start : start + len(t)] = (loo[rows, tgt] - p_t[:, None]).numpy()
    return p_out, delta_out


def most_relevant_dimensions(delta: np.ndarray) -> np.ndarray:
    """Per triplet, the dimension whose removal changes the target probability most
    (largest |delta|; the first one on ties)."""
    delta = np.asarray(delta)
    if delta.ndim != 2 or delta.shape[1] == 0:
        raise ValueError(f"delta: expected an (m, D) array with D >= 1, got {delta.shape}")
    return np.argmax(np.abs(delta), axis=1)


def diverging_triplets(human: Any, dnn: Any, triplets: Any, n_top: int) -> pd.DataFrame:
    """The `n_top` triplets on which the embeddings disagree most.

    For each triplet, the human embedding's odd one out is its most probable one; the
    divergence is P_human(that choice) - P_dnn(that choice). Returns, sorted by
    divergence (descending), the columns ``i``, ``j``, ``k`` (the triplet as given),
    ``human choice``, ``dnn choice`` (columns 0-2), ``p human``, ``p dnn`` (of the
    human choice) and ``divergence``. Only triplets whose two choices differ are kept.
    """
    human, dnn = _pair(human, dnn)
    t = validate_triplets(triplets, human.shape[0])
    if n_top < 1:
        raise ValueError(f"n_top: expected >= 1, got {n_top}")
    p_h = choice_probabilities(human, t)
    p_d = choice_probabilities(dnn, t)
    human_choice = p_h.argmax(1)
    dnn_choice = p_d.argmax(1)
    rows = np.arange(len(t))
    divergence = p_h[rows, human_choice] - p_d[rows, human_choice]
    keep = np.flatnonzero(human_choice != dnn_choice)
    keep = keep[np.argsort(-divergence[keep], kind="stable")][:n_top]
    return pd.DataFrame(
        {
            "i": t[keep, 0],
            "j": t[keep, 1],
            "k": t[keep, 2],
            "human choice": human_choice[keep],
            "dnn choice": dnn_choice[keep],
            "p human": p_h[keep, human_choice[keep]],
            "p dnn": p_d[keep, human_choice[keep]],
            "divergence": divergence[keep],
        }
    )


def jackknife_drivers(human: Any, dnn: Any, diverging: pd.DataFrame) -> pd.DataFrame:
    """`diverging` (from `diverging_triplets`) with the dimension that drives each side's
    own choice: ``human driver`` (for ``human choice`` under `human`) and ``dnn driver``
    (for ``dnn choice`` under `dnn`), by `leave_one_out_relevance`, plus the probability
    change when that dimension is left out (``human delta``, ``dnn delta``)."""
    out = diverging.copy()
    ijk = out[["i", "j", "k"]].to_numpy()
    rows = np.arange(len(out))
    for side, weights in (("human", human), ("dnn", dnn)):
        _, delta = leave_one_out_relevance(weights, ijk, target=out[f"{side} choice"].to_numpy())
        driver = most_relevant_dimensions(delta)
        out[f"{side} driver"] = driver
        out[f"{side} delta"] = delta[rows, driver]
    return out


def driver_counts(
    drivers: pd.DataFrame, labels: dict[str, Sequence[str]], top: int = 8
) -> pd.DataFrame:
    """How often each dimension drives a side's choice, the `top` most frequent per side.

    `labels` maps a side (``"human"``, ``"dnn"``; the ``<side> driver`` columns of
    `jackknife_drivers`) to the dimension labels. Returns columns ``side``,
    ``dimension`` (label), ``count`` and ``share (%)``.
    """
    parts = []
    for side, side_labels in labels.items():
        counts = drivers[f"{side} driver"].value_counts().head(top)
        parts.append(
            pd.DataFrame(
                {
                    "side": side,
                    "dimension": [side_labels[d] for d in counts.index],
                    "count": counts.to_numpy(),
                    "share (%)": 100 * counts.to_numpy() / len(drivers),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def dimension_qualities(labels_path, sides: dict[str, tuple[str, int]]) -> dict | None:
    """Chapter 5's label (visual, semantic, mixed or unclear) of every dimension of each
    side, or None when they are not available: `labels_path` (`paths.automatic_labels`)
    does not exist or holds no labels of one of the embeddings (chapter 5 has not rated
    that network). `sides` maps a side (``"human"``, ``"dnn"``) to (the embedding's name
    in the labels file, its number of dimensions). Labels that exist but do not cover
    the dimensions 0..n-1 raise ValueError (`rating.load_labels`): they belong to
    another fit."""
    from pathlib import Path

    from dnnalign_utils import rating

    path = Path(labels_path)
    if not path.is_file():
        return None
    rated = set(rating.load_labels(path)["embedding"])
    if any(name not in rated for name, _ in sides.values()):
        return None
    return {
        side: rating.load_labels(path, name, n_dims)["label"].to_numpy()
        for side, (name, n_dims) in sides.items()
    }


def driver_quality_shares(
    drivers: pd.DataFrame, qualities: dict[str, Sequence[str]]
) -> pd.DataFrame:
    """Share of the diverging triplets whose driving dimension has each quality, per side.

    `qualities` maps a side (``"human"``, ``"dnn"``) to one label per dimension (visual,
    semantic, mixed or unclear, from chapter 5's rater). Returns one row per side and
    quality with ``count`` and ``share (%)`` (of all diverging triplets; the paper's
    Fig. 6 labels the drivers the same way).
    """
    parts = []
    for side, side_qualities in qualities.items():
        side_qualities = np.asarray(side_qualities, dtype=object)
        driver = drivers[f"{side} driver"].to_numpy()
        if driver.max(initial=-1) >= side_qualities.size:
            raise ValueError(
                f"qualities[{side!r}]: {side_qualities.size} labels, but dimension "
                f"{driver.max()} drives a choice"
            )
        counts = pd.Series(side_qualities[driver]).value_counts()
        parts.append(
            pd.DataFrame(
                {
                    "side": side,
                    "quality": counts.index,
                    "count": counts.to_numpy(),
                    "share (%)": 100 * counts.to_numpy() / len(drivers),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- chapter 6's tables


def labelled_with_quality(labels: Sequence[str], qualities: Sequence[str] | None) -> list[str]:
    """Each dimension's label followed by its quality in brackets (``"4: rat, mouse
    [semantic]"``; ``qualities``: one per dimension, `dimension_qualities`), or the labels
    as they are when there are no qualities (None)."""
    if qualities is None:
        return list(labels)
    return [f"{label} [{q}]" for label, q in zip(labels, qualities, strict=True)]


def driver_examples(
    drivers: pd.DataFrame,
    names: Sequence[str],
    labels: dict[str, Sequence[str]],
    side_names: dict[str, str],
) -> pd.DataFrame:
    """The diverging triplets of ``drivers`` (`jackknife_drivers`) by name: the triplet,
    and for each side (``"human"``, ``"dnn"``: its name in ``side_names``, its dimension
    labels in ``labels``) its odd one out and the dimension behind that choice.
    ``names``: the name of each object (row of the embeddings)."""
    names = np.asarray(names)
    ijk = drivers[["i", "j", "k"]].to_numpy()
    rows = np.arange(len(drivers))
    table = {"triplet": [", ".join(names[t]) for t in ijk]}
    for side in ("human", "dnn"):
        table[f"{side_names[side]}: odd one out"] = names[ijk[rows, drivers[f"{side} choice"]]]
        table[f"{side_names[side]}: driven by"] = [
            labels[side][d] for d in drivers[f"{side} driver"]
        ]
    return pd.DataFrame(table)


# What each column of chapter 6's `matched_pairs` download means.
MATCHED_PAIRS_COLUMNS = {
    "rank": "the pair's rank by held-out r (1 = best)",
    "human embedding": "key of the human embedding (vice42: VICE-42, spose49: SPoSE-49)",
    "human dimension": "the human dimension, numbered from 1 in the embedding's order",
    "human top objects [label]": "the human dimension's number, its three top objects "
    "and chapter 5's automatic label in brackets (if rated)",
    "network embedding": "key of the network whose embedding (chapter 2) is matched",
    "network dimension": "the network dimension, numbered from 1 in its order",
    "network top objects [label]": "the network dimension's number, top objects, label",
    "r (held out)": "Pearson r of the pair on the half of the objects that did not "
    "choose it (unitless, -1 to 1)",
    "r (in sample)": "Pearson r of the pair on all objects (unitless)",
    "null 95 %": "95th percentile of the held-out r at this rank over permutations "
    "of the network's objects (unitless; per rank, not per pair)",
    "greedy null 95 %": "the same percentile for the reference's greedy rule, matched "
    "and scored on all objects (unitless; per rank)",
}


def matched_pairs_table(
    matches: pd.DataFrame,
    labels: dict[str, Sequence[str]],
    human_embedding: str,
    network_key: str,
) -> pd.DataFrame:
    """Chapter 6's `matched_pairs` download from `match_human_dnn`'s pairs: dimensions
    numbered from 1 with their labels (``labels["human"]``, ``labels["dnn"]``), the
    embeddings' keys, the held-out and in-sample r and the nulls; the columns of
    :data:`MATCHED_PAIRS_COLUMNS` in that order."""
    return pd.DataFrame(
        {
            "rank": matches["rank"],
            "human embedding": human_embedding,
            "human dimension": matches["human dim"] + 1,
            "human top objects [label]": [labels["human"][d] for d in matches["human dim"]],
            "network embedding": network_key,
            "network dimension": matches["dnn dim"] + 1,
            "network top objects [label]": [labels["dnn"][d] for d in matches["dnn dim"]],
        }
    ).join(matches[["r (held out)", "r (in sample)", "null 95 %", "greedy null 95 %"]])


# What each column of chapter 6's `jackknife_drivers` download means.
JACKKNIFE_DRIVERS_COLUMNS = {
    "object 1": "the triplet's first object (THINGS concept)",
    "object 2": "its second object",
    "object 3": "its third object",
    "human odd one out": "the human embedding's odd one out (not people's choice)",
    "human driver dimension": "the human dimension whose removal changes that choice's "
    "probability most, numbered from 1",
    "human driver [label]": "that dimension's number, top objects and label",
    "network odd one out": "the network embedding's odd one out",
    "network driver dimension": "the network dimension driving its choice, from 1",
    "network driver [label]": "that dimension's number, top objects and label",
    "divergence": "the human embedding's probability of its own choice minus the "
    "network embedding's probability of that choice (unitless, -1 to 1)",
}


def jackknife_drivers_table(
    drivers: pd.DataFrame, names: Sequence[str], labels: dict[str, Sequence[str]]
) -> pd.DataFrame:
    """Chapter 6's `jackknife_drivers` download from `jackknife_drivers`: each diverging
    triplet's objects by name (``names``: one per row of the embeddings), each side's odd
    one out and the dimension driving it (numbered from 1, with its label from
    ``labels["human"]`` / ``labels["dnn"]``), and the divergence; the columns of
    :data:`JACKKNIFE_DRIVERS_COLUMNS` in that order."""
    triplet_names = np.asarray(names)[drivers[["i", "j", "k"]].to_numpy()]
    rows = np.arange(len(drivers))
    return pd.DataFrame(
        {
            "object 1": triplet_names[:, 0],
            "object 2": triplet_names[:, 1],
            "object 3": triplet_names[:, 2],
            "human odd one out": triplet_names[rows, drivers["human choice"]],
            "human driver dimension": drivers["human driver"] + 1,
            "human driver [label]": [labels["human"][d] for d in drivers["human driver"]],
            "network odd one out": triplet_names[rows, drivers["dnn choice"]],
            "network driver dimension": drivers["dnn driver"] + 1,
            "network driver [label]": [labels["dnn"][d] for d in drivers["dnn driver"]],
            "divergence": drivers["divergence"],
        }
    )


# --------------------------------------------------------------------------- RSA


def cumulative_rsa(
    dnn: Any,
    human_rsm: np.ndarray,
    n_dims: Sequence[int],
    *,
    rsm_fn=None,
    n_bootstrap: int = 100,
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Variance of `human_rsm` explained by the RSM of the first i DNN dimensions.

    `rsm_fn(weights) -> RSM` (default: `rsa.reconstruct_rsm` over all objects) must
    return an RSM over the same objects as `human_rsm`. For each i in `n_dims`: r² of
    the upper triangles and a bootstrap over those entries (percentile 2.5 / 97.5 of r²).
    Returns columns ``dimensions``, ``r2``, ``r2 low``, ``r2 high``.
    """
    from dnnalign_utils import rsa

    dnn = as_float_matrix(dnn, "dnn")
    target = np.asarray(human_rsm, dtype=np.float64)
    if target.ndim != 2 or target.shape[0] != target.shape[1]:
        raise ValueError(f"human_rsm: expected a square matrix, got {target.shape}")
    n_bootstrap = check_int("n_bootstrap", n_bootstrap, minimum=0)  # 0: no interval (NaN)
    counts = [int(i) for i in n_dims]
    if not counts or min(counts) < 1 or max(counts) > dnn.shape[1]:
        raise ValueError(f"n_dims: expected values in [1, {dnn.shape[1]}], got {counts}")
    rsm_fn = rsm_fn or (lambda w: rsa.reconstruct_rsm(w, progress=False))
    upper = np.triu_indices(target.shape[0], 1)
    y = target[upper]
    rng = np.random.default_rng(seed)
    boot = [rng.integers(0, y.size, y.size) for _ in range(n_bootstrap)]
    rows = []
    for i in tqdm(counts, desc="cumulative RSA", disable=not progress):
        x = np.asarray(rsm_fn(dnn[:, :i]), dtype=np.float64)
        if x.shape != target.shape:
            raise ValueError(f"rsm_fn: returned {x.shape}, expected {target.shape}")
        x = x[upper]
        r2 = np.corrcoef(x, y)[0, 1] ** 2
        draws = np.array([np.corrcoef(x[s], y[s])[0, 1] ** 2 for s in boot])
        low, high = np.percentile(draws, [2.5, 97.5]) if n_bootstrap else (np.nan, np.nan)
        rows.append({"dimensions": i, "r2": r2, "r2 low": low, "r2 high": high})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- key numbers


def human_weights(human_embedding: str | np.ndarray = "vice42", things_index: Any = None):
    """A published human embedding (its name, or a (1854, d) array in THINGS order) as
    the chapters use it: ReLU'd, columns in order of importance over all 1,854 concepts
    (`from_published`), restricted to the rows of `things_index` (0-based THINGS indices,
    increasing; None: all). The column order does not depend on the subset, so a
    dimension keeps its number and its labels on any network's concepts."""
    from dnnalign_utils import data

    if isinstance(human_embedding, str):
        raw, name = data.load_human_embedding(human_embedding), human_embedding
    else:
        raw, name = human_embedding, "human_embedding"
    weights = from_published(raw, name=name).weights
    if things_index is None:
        return weights
    index = np.asarray(things_index)
    return weights[check_things_index(index, index.size, "things_index")]


def global_rsa(human: Any, dnn: Any, *, rsm_objects: int = 0, progress: bool = False) -> float:
    """Pearson r between the RSMs (`rsa.reconstruct_rsm`) the two embeddings imply for the
    same objects (rows): over all pairs, or, with ``rsm_objects > 0``, over the pairs of
    the first `rsm_objects` objects (third objects: always all rows)."""
    from dnnalign_utils import rsa

    human, dnn = _pair(human, dnn)
    rsm_objects = check_int("rsm_objects", rsm_objects, minimum=0)
    n = human.shape[0]
    objects = np.arange(n if rsm_objects == 0 else min(rsm_objects, n))
    human_rsm = rsa.reconstruct_rsm(human, objects=objects, progress=progress)
    dnn_rsm = rsa.reconstruct_rsm(dnn, objects=objects, progress=progress)
    return float(rsa.rsm_correlation(human_rsm, dnn_rsm))


def network_human_numbers(
    embedding_weights: Any,
    things_index: Any,
    *,
    human_embedding: str | np.ndarray = "vice42",
    seed: int = 0,
    rsm_objects: int = 0,
    progress: bool = False,
) -> dict[str, float]:
    """Chapter 6's key numbers of a network: how its embedding compares with a human one.

    `embedding_weights` (n, D): the network's embedding, row r about THINGS concept
    ``things_index[r]`` (increasing). The human embedding (`human_weights`) is restricted
    to the same concepts, so a network seeing only some concepts is compared on those.

    - ``best_match_r``: the Pearson r, on held-out objects, of the best one-to-one matched
      pair of human and network dimensions (`match_human_dnn`: the objects are split in
      halves by ``np.random.default_rng(seed).permutation``, the assignment made on the
      first half and scored on the second);
    - ``global_rsa_r``: the Pearson r between the two embeddings' RSMs (`global_rsa`;
      third objects: the network's concepts).
    """
    dnn = as_float_matrix(embedding_weights, "embedding_weights", what="(concepts × dimensions)")
    index = check_things_index(things_index, dnn.shape[0], "things_index")
    human = human_weights(human_embedding, index)
    matches = match_human_dnn(human, dnn, n_permutations=0, seed=seed, progress=False)
    return {
        "best_match_r": float(matches["r (held out)"].iloc[0]),
        "global_rsa_r": global_rsa(human, dnn, rsm_objects=rsm_objects, progress=progress),
    }
