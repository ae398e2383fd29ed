"""An automatic visual / semantic rater of embedding dimensions, validated on planted ones.

The paper had people look at each dimension's top images and call it visual, semantic,
mixed visual-semantic or unclear. Here two automatic raters ask that question of the
concepts that have pictures, each from the same two sides:

- **semantic**: what a thing *is*, known without seeing it: the 53 THINGSplus categories,
  the eleven THINGSplus property ratings and the word2vec vector of its name
  (:func:`semantic_blocks`; definitions are left out, since they often describe looks);
- **visual**: what its pictures *look like*: hue, saturation and lightness of the
  object's pixels, the shape of its mask, its texture (:func:`image_statistics`), and the
  first convolutional block of EfficientNet-Lite0 (`VISUAL_PROBE_LAYER`). The layer whose
  embedding is rated may never be this layer nor its neighbour
  (:func:`check_visual_layers`).

The **commonality** rater fits one nested ridge per side and one on both sides together
(chapter 3's :func:`dnnalign_utils.regression.nested_cv_scores`), and splits the joint R²
into what each side explains beyond the other and what they share
(:func:`commonality`). The **collection** rater looks where people look: are a
dimension's top concepts more alike in appearance, or in meaning, than random
collections of the same size (:func:`collection_scores`)? Each has a decision rule
(:class:`CommonalityRule`, :class:`CollectionRule`) calibrated on planted dimensions of
known nature that are shaped exactly like a real embedding's dimensions (:func:`plant`)
and rated through the same code as real ones; the method with the higher calibration
accuracy gives the rater's label, and both are reported (:func:`validation_accuracy`).

Chapter 5's rater for a profile is :func:`profile_rater`; :func:`rate_network` labels a
network's embedding with it (also one covering only some concepts), and
:func:`network_label_shares` gives the chapter's key numbers, the shares of visual,
mixed and semantic dimensions. :func:`embeddings_to_rate` assembles the other
embeddings the chapter rates; :func:`validation_table`, :func:`plain_table`,
:func:`unclear_table` and the notes (:func:`clip_source_note`, :func:`unclear_note`) are
its tables and sentences.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from dnnalign_utils import regression
from dnnalign_utils.container import check_things_index
from dnnalign_utils.conventions import as_float_matrix
from dnnalign_utils.rating import QUALITIES, RATED_QUALITIES

VISUAL_PROBE_LAYER = "_blocks.0"
# the penalty grid of chapter 5's rater (chapters 4 and 5 label with the same settings)
RATER_ALPHA_GRID = np.logspace(-2.0, 6.0, 17)
HUE_BINS, SATURATION_BINS, LIGHTNESS_BINS = 12, 4, 4
# concepts in a dimension's top collection (of the 468 with pictures, about the top 4 %)
COLLECTION_SIZE = 20
# Raise when the rater's predictors or rules change: cached labels of another version
# (chapter 7's per-network numbers) are then computed anew.
RATER_VERSION = 2  # 2: commonality and top-collection raters, no rank detrending


def _block_number(layer: str) -> int | None:
    """The stage number of an EfficientNet block name (``_blocks.N``), else None."""
    prefix = "_blocks."
    tail = layer[len(prefix) :] if layer.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else None


def check_visual_layers(visual_layers: Sequence[str], rated_layer: str | None) -> None:
    """Refuse visual predictors that include the layer whose embedding is rated, or a
    neighbour of it (an adjacent EfficientNet block carries nearly the same features)."""
    if rated_layer is None:
        return
    rated = _block_number(rated_layer)
    for layer in visual_layers:
        number = _block_number(layer)
        if layer == rated_layer or (
            rated is not None and number is not None and abs(rated - number) <= 1
        ):
            raise ValueError(
                f"visual predictors include {layer!r}, the layer whose embedding is rated "
                f"({rated_layer!r}) or its neighbour; a dimension would be called visual "
                "because it predicts itself"
            )


# Image statistics -------------------------------------------------------------------------


def image_statistics(rgba: np.ndarray) -> dict[str, float]:
    """Colour, shape and texture of one RGBA picture whose alpha channel is the object mask.

    Colour over the object's pixels: a hue histogram weighted by saturation (so grey
    objects have little hue mass), saturation and lightness histograms (HLS). Shape of
    the mask: area (share of the picture), elongation (square root of the ratio of the
    principal second moments), circularity (4π area / perimeter² of the largest
    outline), convexity (area / convex-hull area). Texture: the standard deviation of
    lightness, the mean Sobel gradient and the share of Canny edge pixels in the object.
    """
    import cv2

    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"rgba: expected an (h, w, 4) uint8 array, got {rgba.shape} {rgba.dtype}")
    mask = rgba[..., 3] > 127
    n = int(mask.sum())
    if n < 16:
        raise ValueError(f"rgba: the object mask has {n} pixels; expected a visible object")
    hls = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2HLS)
    hue, light, sat = (hls[..., i][mask].astype(np.float64) for i in range(3))
    stats: dict[str, float] = {}
    hue_hist = np.histogram(hue, bins=HUE_BINS, range=(0, 180), weights=sat / 255)[0] / n
    stats.update({f"hue_{i}": v for i, v in enumerate(hue_hist)})
    sat_hist = np.histogram(sat, bins=SATURATION_BINS, range=(0, 256))[0] / n
    stats.update({f"saturation_{i}": v for i, v in enumerate(sat_hist)})
    light_hist = np.histogram(light, bins=LIGHTNESS_BINS, range=(0, 256))[0] / n
    stats.update({f"lightness_{i}": v for i, v in enumerate(light_hist)})

    ys, xs = np.nonzero(mask)
    eig = np.sort(np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64))))
    stats["area"] = n / mask.size
    stats["elongation"] = float(np.sqrt(eig[1] / max(eig[0], 1e-9)))
    mask_u8 = mask.astype(np.uint8)
    contours, _ = cv2.findContours(mask_u8, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    largest = max(contours, key=cv2.contourArea)
    # a pixel staircase overstates the perimeter; a 1-pixel polygon fit removes that
    perimeter = cv2.arcLength(cv2.approxPolyDP(largest, 1.0, True), True)
    stats["circularity"] = float(4 * np.pi * cv2.contourArea(largest) / max(perimeter, 1) ** 2)
    hull = cv2.convexHull(np.concatenate(contours))
    stats["convexity"] = float(n / max(cv2.contourArea(hull), 1.0))

    grey = hls[..., 1]
    gx = cv2.Sobel(grey, cv2.CV_64F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_64F, 0, 1, ksize=3)
    stats["lightness_sd"] = float(light.std() / 255)
    stats["gradient"] = float(np.hypot(gx, gy)[mask].mean() / 255)
    stats["edge_density"] = float((cv2.Canny(grey, 100, 200)[mask] > 0).mean())
    return stats


def picture_statistics(paths: Sequence[str], *, progress: bool = True) -> pd.DataFrame:
    """:func:`image_statistics` of every stored RGBA picture, one row per path."""
    from PIL import Image

    rows = []
    for path in tqdm(paths, desc="image statistics", disable=not progress):
        with Image.open(path) as image:
            rgba = np.asarray(image.convert("RGBA"))
        try:
            rows.append(image_statistics(rgba))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
    return pd.DataFrame(rows)


def colour_measures(paths: Sequence[str]) -> pd.DataFrame:
    """Simple colour measures of the object pixels, defined independently of the
    histograms above (for planting dimensions): mean of max(0, R − max(G, B)) for
    red, likewise green, blue and yellow (min(R, G) − B), and darkness (1 − mean grey)."""
    from PIL import Image

    rows = []
    for path in paths:
        with Image.open(path) as image:
            rgba = np.asarray(image.convert("RGBA")).astype(np.float64)
        mask = rgba[..., 3] > 127
        r, g, b = (rgba[..., i][mask] / 255 for i in range(3))
        rows.append(
            {
                "red": np.maximum(r - np.maximum(g, b), 0).mean(),
                "green": np.maximum(g - np.maximum(r, b), 0).mean(),
                "blue": np.maximum(b - np.maximum(r, g), 0).mean(),
                "yellow": np.maximum(np.minimum(r, g) - b, 0).mean(),
                "dark": 1 - (0.299 * r + 0.587 * g + 0.114 * b).mean(),
            }
        )
    return pd.DataFrame(rows)


# Predictors ----------------------------------------------------------------------------------


def combine_blocks(blocks: Mapping[str, np.ndarray]) -> np.ndarray:
    """Standardise each column and scale each block to the same total variance.

    Constant columns are dropped. Without the block scaling a 300-column word embedding
    would outweigh eleven property ratings by sheer width.
    """
    if not blocks:
        raise ValueError("blocks: expected at least one predictor block")
    return np.hstack([x / np.sqrt(x.shape[1]) for x in _standardised(blocks).values()])


def _standardised(blocks: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each block with its constant columns dropped and the others standardised."""
    out, n_rows = {}, None
    for name, block in blocks.items():
        x = as_float_matrix(block, f"blocks[{name!r}]", allow_1d=True)
        if n_rows is not None and x.shape[0] != n_rows:
            raise ValueError(f"blocks[{name!r}]: {x.shape[0]} rows, expected {n_rows}")
        n_rows = x.shape[0]
        sd = x.std(axis=0)
        x = x[:, sd > 1e-12]
        if x.shape[1] == 0:
            raise ValueError(f"blocks[{name!r}]: every column is constant")
        out[name] = (x - x.mean(axis=0)) / x.std(axis=0)
    return out


# Commonality analysis -----------------------------------------------------------------------


def commonality(r2_of: Mapping[frozenset, np.ndarray], blocks: Sequence[str]) -> dict:
    """Commonality analysis: the variance each set of predictor blocks explains together
    and no other block does, from the R² of every non-empty union of blocks.

    ``r2_of[frozenset(U)]`` is the R² (array over targets) of a regression on the blocks
    U. For a set S of blocks, with R the other blocks,
    C(S) = −Σ_{T ⊆ S} (−1)^{|T|} R²(R ∪ T)  (R²(∅) = 0): a single block's C is its unique
    R² (what it adds to all others), C of all blocks is what every block explains alike.
    The components add up to the R² of all blocks. Returns {frozenset(S): C(S)}.
    """
    names = tuple(blocks)
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"blocks: expected distinct block names, got {names}")
    everything = frozenset(names)

    def r2(union: frozenset):
        if not union:
            return 0.0
        if union not in r2_of:
            raise ValueError(f"r2_of: no R² for the blocks {sorted(union)}")
        return np.asarray(r2_of[union], dtype=np.float64)

    components = {}
    for size in range(1, len(names) + 1):
        for chosen in itertools.combinations(names, size):
            subset = frozenset(chosen)
            rest = everything - subset
            total = 0.0
            for t_size in range(size + 1):
                for t in itertools.combinations(chosen, t_size):
                    total = total - (-1) ** t_size * r2(rest | frozenset(t))
            components[subset] = total
    return components


def side_commonality(r2_semantic, r2_visual, r2_joint) -> pd.DataFrame:
    """The two-side commonality of :func:`commonality`: what the semantic and the visual
    predictors each explain beyond the other, and what they explain alike."""
    r2_of = {
        frozenset({"semantic"}): r2_semantic,
        frozenset({"visual"}): r2_visual,
        frozenset({"semantic", "visual"}): r2_joint,
    }
    parts = commonality(r2_of, ("semantic", "visual"))
    return pd.DataFrame(
        {
            "r2_semantic": np.asarray(r2_semantic, dtype=np.float64),
            "r2_visual": np.asarray(r2_visual, dtype=np.float64),
            "r2_joint": np.asarray(r2_joint, dtype=np.float64),
            "unique_semantic": parts[frozenset({"semantic"})],
            "unique_visual": parts[frozenset({"visual"})],
            "shared": parts[frozenset({"semantic", "visual"})],
        }
    )


# Top collections --------------------------------------------------------------------------


def _pair_coherence(block: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Mean over pairs of members of the dot product of their standardised rows, per
    column; ``members`` is (n_collections, k) row indices. Returns (n_collections,)."""
    k = members.shape[1]
    rows = block[members]  # (n, k, p)
    total = rows.sum(axis=1)
    pair_sum = (np.einsum("np,np->n", total, total) - np.einsum("nkp,nkp->n", rows, rows)) / 2
    return pair_sum / (k * (k - 1) / 2) / block.shape[1]


def random_collections(n_rows: int, k: int, n_collections: int, seed: int) -> np.ndarray:
    """`n_collections` random collections of `k` distinct rows out of `n_rows` (seeded):
    the null every top collection is compared with. Returns (n_collections, k)."""
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((n_collections, n_rows)), axis=1)[:, :k]


def collection_scores(
    blocks: Mapping[str, np.ndarray],
    tops: np.ndarray,
    *,
    n_null: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """How much more alike the members of each top collection are than random
    collections of the same size, block by block, and for the blocks taken together.

    blocks: predictor blocks (rows: the rated concepts); tops: (n_dims, k) row indices of
    each dimension's top k concepts. A block's coherence is the mean over pairs of
    members of the dot product of their standardised predictors (per column); its z the
    coherence against ``n_null`` random collections of k concepts. The side's ``z`` is the
    largest block z, standardised against the same statistic on the random collections
    (so a side with more blocks gains nothing from the maximum). Columns: ``z`` and one
    ``z <block>`` per block.
    """
    standard = _standardised(blocks)
    tops = np.asarray(tops, dtype=np.int64)
    n_rows = next(iter(standard.values())).shape[0]
    k = tops.shape[1]
    if tops.ndim != 2 or k < 2 or tops.min(initial=0) < 0 or tops.max(initial=0) >= n_rows:
        raise ValueError(f"tops: expected (n_dims, k >= 2) row indices below {n_rows}")
    null = random_collections(n_rows, k, n_null, seed)
    table, null_z = {}, []
    for name, block in standard.items():
        null_c = _pair_coherence(block, null)
        centre, spread = null_c.mean(), null_c.std()
        table[f"z {name}"] = (_pair_coherence(block, tops) - centre) / spread
        null_z.append((null_c - centre) / spread)
    best_null = np.max(null_z, axis=0)
    best = np.max(np.column_stack(list(table.values())), axis=1)
    return pd.DataFrame({"z": (best - best_null.mean()) / best_null.std(), **table})


def top_collections(values: np.ndarray, k: int) -> np.ndarray:
    """Row indices of the k largest values of each column (ties: lower row first)."""
    values = np.asarray(values, dtype=np.float64)
    if k > values.shape[0]:
        raise ValueError(f"k: {k} exceeds the {values.shape[0]} rated concepts")
    return np.argsort(-values, axis=0, kind="stable")[:k].T


# Decision rules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CommonalityRule:
    """unclear when the joint R² is below ``explained``; otherwise each side "adds its
    own share" when its unique R² is at least ``unique``: both: mixed; one: that side;
    neither (explained only by what both sides share): the side with the larger R²."""

    explained: float
    unique: float

    def labels(self, scores: pd.DataFrame) -> np.ndarray:
        vis = scores["unique_visual"].to_numpy() >= self.unique
        sem = scores["unique_semantic"].to_numpy() >= self.unique
        larger = np.where(scores["r2_visual"] > scores["r2_semantic"], "visual", "semantic")
        labels = np.where(
            vis & sem, "mixed", np.where(vis, "visual", np.where(sem, "semantic", larger))
        )
        explained = scores["r2_joint"].to_numpy()
        labels = labels.astype(object)
        labels[~(np.nan_to_num(explained, nan=-np.inf) >= self.explained)] = "unclear"
        return labels


@dataclass(frozen=True)
class CollectionRule:
    """A top collection shares an appearance when its visual z is at least ``visual``,
    a meaning when its semantic z is at least ``semantic``: both: mixed; one: that side;
    neither: unclear."""

    visual: float
    semantic: float

    def labels(self, scores: pd.DataFrame) -> np.ndarray:
        vis = np.nan_to_num(scores["z_visual"].to_numpy(), nan=-np.inf) >= self.visual
        sem = np.nan_to_num(scores["z_semantic"].to_numpy(), nan=-np.inf) >= self.semantic
        labels = np.where(
            vis & sem, "mixed", np.where(vis, "visual", np.where(sem, "semantic", "unclear"))
        )
        return labels.astype(object)


METHODS = ("commonality", "collection")
# the grids the rules are calibrated on (R² units; z units)
RULE_GRIDS = {
    "commonality": (
        CommonalityRule,
        np.round(np.arange(0.0, 0.41, 0.02), 2),
        np.round(np.arange(0.0, 0.31, 0.01), 2),
    ),
    "collection": (
        CollectionRule,
        np.round(np.arange(0.0, 8.01, 0.25), 2),
        np.round(np.arange(0.0, 8.01, 0.25), 2),
    ),
}


def choose_rule(method: str, scores: pd.DataFrame, truth: Sequence[str]):
    """The rule of `method` with the best balanced accuracy on labelled (planted)
    dimensions, over its grid (:data:`RULE_GRIDS`). Many grid points usually tie; the
    choice is the per-axis median of the tied points when that point is itself among the
    best (in the middle of the safe region, not on its edge), else the first best point.
    """
    rule_type, *axes = RULE_GRIDS[method]
    truth = np.asarray(truth, dtype=object)
    points = list(itertools.product(*axes))
    score_of = [balanced_accuracy(truth, rule_type(*p).labels(scores)) for p in points]
    top = max(score_of)
    best = np.asarray([p for p, v in zip(points, score_of, strict=True) if v >= top - 1e-12])
    middle = rule_type(*(float(v) for v in np.median(best, axis=0)))
    if balanced_accuracy(truth, middle.labels(scores)) >= top - 1e-12:
        return middle
    return rule_type(*(float(v) for v in best[0]))


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Mean over the true classes of the share labelled correctly (sklearn's definition)."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    return float(np.mean([np.mean(predicted[truth == c] == c) for c in np.unique(truth)]))


def class_accuracy(truth: Sequence[str], predicted: Sequence[str]) -> pd.Series:
    """The share of each planted class given its own label (every class of QUALITIES
    that occurs in ``truth``), and their mean, the balanced accuracy."""
    truth, predicted = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    shares = {
        c: float(np.mean(predicted[truth == c] == c)) for c in QUALITIES if (truth == c).any()
    }
    shares["balanced"] = float(np.mean(list(shares.values())))
    return pd.Series(shares)


# Planted dimensions ------------------------------------------------------------------------


def _z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean()) / x.std()


def planted_scores(
    visual_sources: pd.DataFrame,
    semantic_sources: pd.DataFrame,
    *,
    n_per_class: int,
    seed: int,
    noise: tuple[float, float] = (0.3, 0.8),
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Scores of known nature, one column per planted dimension.

    visual: one column of ``visual_sources`` (e.g. yellowness, roundness); semantic: one
    column of ``semantic_sources`` (e.g. is food); mixed: the sum of one of each
    (standardised); unclear: pure noise. Each gets Gaussian noise with a standard
    deviation drawn from ``noise`` (in units of the score's standard deviation). Returns
    (n_objects, 4 * n_per_class) scores, the planted labels and a description of each;
    :func:`plant` turns them into embedding dimensions.
    """
    rng = np.random.default_rng(seed)
    n = len(visual_sources)
    if len(semantic_sources) != n:
        raise ValueError("visual_sources and semantic_sources: expected the same objects")
    columns, labels, names = [], [], []
    vis_names, sem_names = list(visual_sources), list(semantic_sources)
    for k in range(n_per_class):
        v = vis_names[k % len(vis_names)]
        s = sem_names[k % len(sem_names)]
        s2 = sem_names[(k * 7 + 3) % len(sem_names)]
        v2 = vis_names[(k * 5 + 2) % len(vis_names)]
        plans = [
            ("visual", v, _z(visual_sources[v].to_numpy())),
            ("semantic", s, _z(semantic_sources[s].to_numpy())),
            (
                "mixed",
                f"{v2} + {s2}",
                _z(_z(visual_sources[v2].to_numpy()) + _z(semantic_sources[s2].to_numpy())),
            ),
            ("unclear", "noise", rng.standard_normal(n)),
        ]
        for label, name, score in plans:
            columns.append(score + float(rng.uniform(*noise)) * rng.standard_normal(n))
            labels.append(label)
            names.append(f"{label}: {name}")
    return np.stack(columns, axis=1), np.asarray(labels, dtype=object), names


def plant(scores: np.ndarray, host: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Planted dimensions shaped exactly like a real embedding's: planted column j takes
    the values of the host embedding's column at a rank r_j (the host's columns in
    importance order, ranks drawn evenly over them), assigned to the concepts in the
    order of the planted score. Each planted dimension then has the sparsity and value
    distribution of a real dimension at its rank. Returns (values, ranks)."""
    scores = np.asarray(scores, dtype=np.float64)
    host = as_float_matrix(host, "host")
    if host.shape[0] != scores.shape[0]:
        raise ValueError(f"host: {host.shape[0]} rows for {scores.shape[0]} planted concepts")
    n_planted = scores.shape[1]
    ranks = np.random.default_rng(seed).permutation(np.arange(n_planted) % host.shape[1])
    values = np.empty_like(scores)
    for j, rank in enumerate(ranks):
        ordered = np.sort(host[:, rank])[::-1]
        values[np.argsort(-scores[:, j], kind="stable"), j] = ordered
    return values, ranks


def confusion(truth: Sequence[str], predicted: Sequence[str]) -> pd.DataFrame:
    """Counts of planted (rows) against rated (columns) labels."""
    table = pd.crosstab(
        pd.Categorical(truth, categories=QUALITIES),
        pd.Categorical(predicted, categories=QUALITIES),
        dropna=False,
    )
    return table.rename_axis(index="planted", columns="rated")


# The rater ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rater:
    """Predictors of the concepts that have pictures, and the two calibrated raters;
    :meth:`rate` labels the dimensions of any embedding of these concepts.

    objects: THINGS indices of the rated concepts; semantic_blocks / visual_blocks: the
    predictor blocks of each side (rows: ``objects``); rules: the calibrated rule of each
    method (:data:`METHODS`); method: the one whose labels are the rater's ``label``;
    validation: one row per planted dimension with both methods' statistics and labels
    (split "calibration" chose the rules and the method, "test" was not looked at).
    """

    objects: np.ndarray
    semantic_blocks: Mapping[str, np.ndarray]
    visual_blocks: Mapping[str, np.ndarray]
    visual_layers: tuple[str, ...]
    rules: Mapping[str, object]
    method: str
    validation: pd.DataFrame
    alpha_grid: np.ndarray
    n_outer: int = 3
    n_inner: int = 3
    seed: int = 0
    collection_size: int = COLLECTION_SIZE
    n_null: int = 2000

    def scores(self, values: np.ndarray) -> pd.DataFrame:
        """Both methods' statistics of each column of ``values`` (rows: ``objects``): the
        cross-validated semantic, visual and joint R² with their commonality
        (:func:`side_commonality`), and the top collection's semantic and visual z
        (:func:`collection_scores`)."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[0] != self.objects.size:
            raise ValueError(
                f"values: expected ({self.objects.size}, n_dims) rows for the rated concepts, "
                f"got {values.shape}"
            )
        kwargs = {"n_outer": self.n_outer, "n_inner": self.n_inner, "seed": self.seed}
        semantic, visual = combine_blocks(self.semantic_blocks), combine_blocks(self.visual_blocks)

        def r2(predictors):
            return regression.nested_cv_scores(predictors, values, self.alpha_grid, **kwargs).r2

        table = side_commonality(r2(semantic), r2(visual), r2(np.hstack([semantic, visual])))
        tops = top_collections(values, self.collection_size)
        for side, blocks in (("semantic", self.semantic_blocks), ("visual", self.visual_blocks)):
            z = collection_scores(blocks, tops, n_null=self.n_null, seed=self.seed)
            table[f"z_{side}"] = z["z"].to_numpy()
        # a dimension constant on the rated concepts has no top collection
        flat = values.std(axis=0) <= 1e-12
        table.loc[flat, ["z_semantic", "z_visual"]] = np.nan
        return table

    def labelled(self, scores: pd.DataFrame) -> pd.DataFrame:
        """``scores`` with each method's labels and ``label``, the chosen method's."""
        out = scores.copy()
        for method in METHODS:
            out[f"label_{method}"] = self.rules[method].labels(scores)
        out["label"] = out[f"label_{self.method}"]
        return out

    def restricted(self, objects: np.ndarray) -> Rater:
        """This rater on a subset of its concepts (THINGS indices, all among ``objects``):
        the same predictors and rules, only the rows of those concepts."""
        objects = np.asarray(objects)
        keep = np.isin(self.objects, objects)
        if keep.sum() != np.unique(objects).size:
            outside = np.setdiff1d(objects, self.objects)
            raise ValueError(
                f"objects: {outside.size} concepts are not rated by this rater, e.g. index "
                f"{outside[0] if outside.size else objects[0]}"
            )
        return replace(
            self,
            objects=self.objects[keep],
            semantic_blocks={k: v[keep] for k, v in self.semantic_blocks.items()},
            visual_blocks={k: v[keep] for k, v in self.visual_blocks.items()},
        )

    def rate_pictures(
        self, weights: np.ndarray, manifest: pd.DataFrame, *, rated_layer: str | None = None
    ) -> pd.DataFrame:
        """:meth:`rate` for a picture-level embedding (rows: ``manifest``'s pictures),
        rated on its concept means."""
        from dnnalign_utils.features import concept_means

        means, objects = concept_means(np.asarray(weights, dtype=np.float64), manifest)
        return self.rate(means, objects=objects, rated_layer=rated_layer)

    def rate(
        self,
        weights: np.ndarray,
        *,
        objects: np.ndarray | None = None,
        rated_layer: str | None = None,
    ) -> pd.DataFrame:
        """Label every dimension of an embedding: both methods' statistics
        (:meth:`scores`) and labels (:meth:`labelled`), one row per dimension, with
        ``importance`` (share of the embedding's total weight).

        ``weights`` rows are the THINGS concepts ``objects`` (default: all 1,854 in
        order; for a picture-level embedding pass its concept means and their indices);
        every rated concept must be among them.
        """
        check_visual_layers(self.visual_layers, rated_layer)
        weights = np.asarray(weights, dtype=np.float64)
        objects = np.arange(len(weights)) if objects is None else np.asarray(objects)
        if weights.ndim != 2 or len(objects) != len(weights):
            raise ValueError(f"weights: expected one row per object, got {weights.shape}")
        position = pd.Series(np.arange(len(objects)), index=objects)
        missing = np.setdiff1d(self.objects, objects)
        if missing.size:
            raise ValueError(
                f"weights: {missing.size} rated concepts have no row, e.g. index {missing[0]}"
            )
        table = self.labelled(self.scores(weights[position.loc[self.objects].to_numpy()]))
        table.insert(0, "dimension", np.arange(weights.shape[1]))
        table["importance"] = weights.sum(0) / weights.sum()
        return table

    def validate(self, planted: pd.DataFrame, values: np.ndarray) -> pd.DataFrame:
        """``planted`` (one row per planted dimension) with both methods' statistics and
        labels for the planted ``values``, rated exactly as :meth:`rate` rates."""
        return pd.concat(
            [planted.reset_index(drop=True), self.labelled(self.scores(values))], axis=1
        )


def calibrated(rater: Rater, planted: pd.DataFrame, values: np.ndarray) -> Rater:
    """``rater`` with each method's rule chosen on the planted dimensions of split
    "calibration" (:func:`choose_rule`), the method of the higher balanced accuracy there
    as its ``method``, and the validation table of every planted dimension."""
    scores = rater.scores(values)
    calibration = (planted["split"] == "calibration").to_numpy()
    rules, accuracy = {}, {}
    for method in METHODS:
        rules[method] = choose_rule(method, scores[calibration], planted["planted"][calibration])
        accuracy[method] = balanced_accuracy(
            planted["planted"][calibration].to_numpy(), rules[method].labels(scores[calibration])
        )
    # a tie goes to the top-collection rater, which looks where people look
    method = max(METHODS, key=lambda m: (accuracy[m], m == "collection"))
    chosen = replace(rater, rules=rules, method=method)
    validation = pd.concat([planted.reset_index(drop=True), chosen.labelled(scores)], axis=1)
    return replace(chosen, validation=validation)


def validation_accuracy(validation: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Per planted class, the share each method labels correctly on ``split`` (and the
    balanced accuracy): one row per method."""
    rows = validation[validation["split"] == split]
    return pd.DataFrame(
        {m: class_accuracy(rows["planted"], rows[f"label_{m}"]) for m in METHODS}
    ).T.rename_axis("method")


def validation_table(validation: pd.DataFrame) -> pd.DataFrame:
    """:func:`validation_accuracy` (%) on the held-out planted dimensions (``test``) and on
    those that chose the rules (``calibration``), one block of rows per split."""
    return pd.concat(
        {split: 100 * validation_accuracy(validation, split) for split in ("test", "calibration")},
        names=["planted dimensions", "method"],
    )


def rules_dict(rater: Rater) -> dict:
    """The calibrated rules as plain numbers (for provenance records)."""
    return {method: asdict(rule) for method, rule in rater.rules.items()} | {
        "method": rater.method,
        "collection_size": rater.collection_size,
    }


# Predictors of the emoji pictures ---------------------------------------------------------

# The visual blocks: which image statistics each holds (`image_statistics`).
VISUAL_STATISTICS = {
    "hue": [f"hue_{i}" for i in range(HUE_BINS)],
    "saturation and lightness": [f"saturation_{i}" for i in range(SATURATION_BINS)]
    + [f"lightness_{i}" for i in range(LIGHTNESS_BINS)],
    "shape": ["area", "elongation", "circularity", "convexity"],
    "texture": ["lightness_sd", "gradient", "edge_density"],
}


def visual_blocks(picture_stats: pd.DataFrame, probe: np.ndarray, codes: np.ndarray) -> dict:
    """The visual predictor blocks per concept (means over its pictures): the image
    statistics by kind (:data:`VISUAL_STATISTICS`) and the probe layer's features."""
    stats = picture_stats.groupby(codes).mean()
    blocks = {name: stats[columns].to_numpy() for name, columns in VISUAL_STATISTICS.items()}
    blocks[f"EfficientNet-Lite0 {VISUAL_PROBE_LAYER}"] = (
        pd.DataFrame(probe).groupby(codes).mean().to_numpy()
    )
    return blocks


def semantic_blocks(objects: np.ndarray) -> dict:
    """The semantic predictor blocks of the THINGS concepts ``objects``: what a thing is,
    not what it looks like. The 53 THINGSplus categories, the eleven THINGSplus property
    ratings and the word2vec vector of the concept's name. Definitions are left out: they
    often describe appearance ("a yellow citrus fruit")."""
    from dnnalign_utils import data

    properties = data.load_property_ratings()
    properties = properties[[c for c in properties if c.endswith("_mean")]].to_numpy()
    return {
        "THINGSplus categories": data.load_categories53().to_numpy()[objects].astype(float),
        "property ratings": properties[objects],
        "word2vec (name)": data.load_word2vec()[objects],
    }


def _planted_sources(
    objects: np.ndarray, picture_stats: pd.DataFrame, colours: pd.DataFrame, codes: np.ndarray
):
    from dnnalign_utils import data

    stats = picture_stats.groupby(codes).mean().reset_index(drop=True)
    colour = colours.groupby(codes).mean().reset_index(drop=True)
    visual = pd.DataFrame(
        {
            "red": colour["red"],
            "green": colour["green"],
            "blue": colour["blue"],
            "yellow": colour["yellow"],
            "dark": colour["dark"],
            "round": stats["circularity"],
            "elongated": np.log(stats["elongation"]),
            "edges": stats["edge_density"],
        }
    )
    categories = data.load_categories27()
    # categories with at least 8 members among the rated concepts
    semantic = pd.DataFrame(
        {
            name: categories[name].to_numpy()[objects].astype(np.float64)
            for name in categories
            if categories[name].to_numpy()[objects].sum() >= 8
        }
    )
    return visual, semantic


def planted_validation_set(
    visual_sources: pd.DataFrame,
    semantic_sources: pd.DataFrame,
    host: np.ndarray,
    *,
    n_per_class: int,
    seed: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The planted dimensions of both splits, shaped like the host embedding's
    (:func:`plant`): even-numbered definitions (colours, shapes, categories) calibrate,
    odd-numbered ones test. Returns (one row per planted dimension: split, planted,
    definition, host_rank; their values on the rated concepts)."""
    frames, values = [], []
    for split, parity, planted_seed in (("calibration", 0, seed + 11), ("test", 1, seed + 12)):
        scores, truth, names = planted_scores(
            visual_sources.iloc[:, parity::2],
            semantic_sources.iloc[:, parity::2],
            n_per_class=n_per_class,
            seed=planted_seed,
        )
        planted_values, ranks = plant(scores, host, planted_seed)
        frames.append(
            pd.DataFrame(
                {"split": split, "planted": truth, "definition": names, "host_rank": ranks}
            )
        )
        values.append(planted_values)
    return pd.concat(frames, ignore_index=True), np.hstack(values)


def emoji_rater(
    manifest: pd.DataFrame,
    probe_features: np.ndarray,
    *,
    host: np.ndarray | None = None,
    alpha_grid: np.ndarray = RATER_ALPHA_GRID,
    n_planted_per_class: int = 12,
    n_outer: int = 3,
    n_inner: int = 3,
    seed: int = 0,
    progress: bool = True,
) -> Rater:
    """The rater of the embedded image set's concepts, calibrated and validated on planted
    dimensions.

    manifest: the emoji manifest (rows = pictures); probe_features: the pictures'
    `VISUAL_PROBE_LAYER` activations in manifest order; host: the embedding whose
    dimensions the planted ones imitate (all 1,854 concepts, columns in importance order;
    default the published human VICE-42).
    """
    from dnnalign_utils import data
    from dnnalign_utils.container import from_published

    codes, concepts = pd.factorize(manifest["things_index"], sort=True)
    objects = np.asarray(concepts, dtype=np.int64)
    if probe_features.shape[0] != len(manifest):
        raise ValueError(
            f"probe_features: {probe_features.shape[0]} rows for {len(manifest)} pictures"
        )
    if host is None:
        host = from_published(data.load_human_embedding("vice42"), name="vice42").weights
    picture_stats = picture_statistics(manifest["path"], progress=progress)
    colours = colour_measures(manifest["path"])
    rater = Rater(
        objects=objects,
        semantic_blocks=semantic_blocks(objects),
        visual_blocks=visual_blocks(picture_stats, probe_features, codes),
        visual_layers=(VISUAL_PROBE_LAYER,),
        rules={},
        method="",
        validation=pd.DataFrame(),
        alpha_grid=np.asarray(alpha_grid, dtype=np.float64),
        n_outer=n_outer,
        n_inner=n_inner,
        seed=seed,
    )
    visual_sources, semantic_sources = _planted_sources(objects, picture_stats, colours, codes)
    planted, values = planted_validation_set(
        visual_sources,
        semantic_sources,
        np.asarray(host)[objects],
        n_per_class=n_planted_per_class,
        seed=seed,
    )
    return calibrated(rater, planted, values)


# The book's rater for a profile, and a network's labels --------------------------------

# fewer rated concepts leave too few per fold for the nested cross-validation
MIN_RATED_CONCEPTS = 30


def profile_rater(
    profile: str,
    *,
    alpha_grid: np.ndarray = RATER_ALPHA_GRID,
    n_planted_per_class: int = 12,
    n_outer: int = 3,
    n_inner: int = 3,
    seed: int = 0,
    progress: bool = True,
) -> Rater:
    """Chapter 5's rater for `profile`: :func:`emoji_rater` on chapter 0's pictures and
    their `VISUAL_PROBE_LAYER` features."""
    from dnnalign_utils import features, paths

    probe, picture_rows = features.load_image_features(
        paths.image_features(profile), VISUAL_PROBE_LAYER
    )
    return emoji_rater(
        picture_rows,
        probe,
        alpha_grid=alpha_grid,
        n_planted_per_class=n_planted_per_class,
        n_outer=n_outer,
        n_inner=n_inner,
        seed=seed,
        progress=progress,
    )


def rate_network(
    rater: Rater, embedding_weights: np.ndarray, things_index: np.ndarray
) -> pd.DataFrame:
    """Label every dimension of a network's embedding as chapter 5 does: columns ReLU'd
    and put in importance order (:func:`dnnalign_utils.container.from_published`), then
    :meth:`Rater.rate` on the rated concepts the embedding has rows for.

    ``things_index``: the THINGS index of each row of ``embedding_weights`` (all 1,854 in
    order for a complete network, a subset for a picture network). A subset is rated on
    the concepts it shares with the rater (at least `MIN_RATED_CONCEPTS`); a dimension
    that is constant on them has no R² and is unclear.
    """
    from dnnalign_utils.container import from_published

    weights = as_float_matrix(embedding_weights, "embedding_weights")
    index = check_things_index(things_index, weights.shape[0], "things_index")
    ordered = from_published(weights, name="embedding_weights", n_objects=None).weights
    shared = np.intersect1d(rater.objects, index)
    if shared.size < MIN_RATED_CONCEPTS:
        raise ValueError(
            f"things_index: {shared.size} of the embedding's {index.size} concepts are among "
            f"the rater's {rater.objects.size} concepts with pictures; expected at least "
            f"{MIN_RATED_CONCEPTS}"
        )
    if shared.size < rater.objects.size:
        rater = rater.restricted(shared)
    return rater.rate(ordered, objects=index)


# the names chapter 5 shows for the embeddings it rates besides the studied network's
EMBEDDING_NAMES = {
    "vice42": "human VICE-42 (published)",
    "spose49": "human SPoSE-49 (published)",
    "human_spose": "human SPoSE (chapter 2)",
    "clip": "CLIP ViT-B/32 (this chapter)",
    "effnet": "EfficientNet-Lite0 (chapter 2, pictures)",
}


def embeddings_to_rate(
    profile: str,
    network_key: str,
    network_label: str,
    network_weights: np.ndarray,
    network_objects: np.ndarray,
    *,
    clip_weights: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, str]]:
    """The embeddings chapter 5 rates by concept, in its order: the published human
    VICE-42 and SPoSE-49, chapter 2's human SPoSE fit (of `profile`), the studied network's
    (``network_weights``, row r about THINGS concept ``network_objects[r]``) and CLIP's
    (``clip_weights``; None when CLIP is the network studied).

    Returns (weights, objects, names), each keyed by the embedding's key (the network's:
    ``network_key``): its weights with the columns ReLU'd and in importance order
    (:func:`dnnalign_utils.container.from_published`, as chapters 2, 3 and 6 use them),
    the THINGS index of each row, and the name shown (`EMBEDDING_NAMES`, the network's
    from ``network_label``; ``"effnet"`` too, the picture embedding rated apart).
    """
    from dnnalign_utils import data, paths
    from dnnalign_utils.container import from_published, load_embedding

    if network_key in EMBEDDING_NAMES:
        raise ValueError(f"network_key: {network_key!r} is the key of another rated embedding")
    raw = {
        "vice42": data.load_human_embedding("vice42"),
        "spose49": data.load_human_embedding("spose49"),
        "human_spose": load_embedding(paths.human_spose_embedding(profile)).weights,
        network_key: network_weights,
    }
    if clip_weights is not None:
        raw["clip"] = clip_weights
    objects = {key: np.arange(len(weights)) for key, weights in raw.items()}
    objects[network_key] = check_things_index(
        network_objects, len(network_weights), "network_objects"
    )
    names = {key: EMBEDDING_NAMES[key] for key in ("vice42", "spose49", "human_spose")}
    names[network_key] = f"{network_label}, chapter 2"
    if clip_weights is not None:
        names["clip"] = EMBEDDING_NAMES["clip"]
    names["effnet"] = EMBEDDING_NAMES["effnet"]
    weights = {
        key: from_published(value, name=key, n_objects=None).weights for key, value in raw.items()
    }
    return weights, objects, names


def label_shares(labels: Sequence[str]) -> dict[str, float]:
    """Shares (%) of visual, mixed and semantic dimensions by count, unclear ones left
    out (the paper's Fig. 2c; NaN when every dimension is unclear), named as chapter 5's
    key numbers."""
    from dnnalign_utils.rating import quality_shares

    shares = quality_shares(labels)
    return {f"{quality}_share": 100 * float(shares[quality]) for quality in RATED_QUALITIES}


def network_label_shares(
    profile: str,
    embedding_weights: np.ndarray,
    things_index: np.ndarray,
    *,
    seed: int = 0,
    rater: Rater | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """Chapter 5's key numbers for a network's embedding: ``visual_share``,
    ``mixed_share`` and ``semantic_share`` (percent of the dimensions that are not
    unclear), the dimensions labelled by :func:`rate_network`.

    ``rater``: chapter 5's rater, if already built (:func:`profile_rater` builds it for
    `profile` with ``seed`` otherwise, about as long as the chapter's calibration); it
    must have been built with the same ``seed``.
    """
    if rater is None:
        rater = profile_rater(profile, seed=seed, progress=progress)
    elif rater.seed != seed:
        raise ValueError(f"rater: built with seed {rater.seed}, expected seed={seed}")
    return label_shares(rate_network(rater, embedding_weights, things_index)["label"])


# A check a reader can judge by eye -----------------------------------------------------------

# The hue bins of `image_statistics` (OpenCV hue 0-180 is 0-360°, 30° a bin), named.
HUE_NAMES = (
    "red–orange",
    "orange–yellow",
    "yellow–lime",
    "lime–green",
    "green",
    "green–cyan",
    "cyan",
    "azure",
    "blue",
    "violet",
    "magenta",
    "rose–red",
)
LIGHTNESS_NAMES = ("dark", "mid-dark", "mid-light", "light")
# a top collection is "one hue", "one lightness" or "round" when it is more so than all
# but about 1 in 1,000 random collections of the same size (z of at least this)
APPEARANCE_Z = 3.0


def _standardised_max(observed: np.ndarray, random: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column, z of ``observed`` (n, c) against ``random`` (m, c); then the largest z
    of each row as a z against the largest z of the random rows, and where it lies."""
    centre, spread = random.mean(axis=0), random.std(axis=0)
    best_null = ((random - centre) / spread).max(axis=1)
    z = (observed - centre) / spread
    return (z.max(axis=1) - best_null.mean()) / best_null.std(), z.argmax(axis=1)


def appearance_of_top_collections(
    rater: Rater, values: np.ndarray, *, n_null: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Three plain appearance measures of each dimension's top collection
    (`Rater.collection_size` concepts), each a z against random collections of the same
    size: **hue**, how far the share of the collection's saturation-weighted hue mass in
    one of twelve hue bins exceeds its share in random collections (the most exceptional
    bin, standardised against the same maximum on the random collections);
    **lightness**, the same on four lightness bins; **roundness**, the mean circularity of
    the object masks. ``one_hue``, ``one_lightness`` and ``round`` mark z ≥
    `APPEARANCE_Z`. ``values``: (rated concepts, n_dims), rows as ``rater.objects``."""
    blocks = rater.visual_blocks
    hue = np.asarray(blocks["hue"], dtype=np.float64)
    lightness = np.asarray(blocks["saturation and lightness"], dtype=np.float64)[
        :, SATURATION_BINS:
    ]
    circularity = np.asarray(blocks["shape"], dtype=np.float64)[
        :, VISUAL_STATISTICS["shape"].index("circularity")
    ]
    tops = top_collections(values, rater.collection_size)
    null = random_collections(hue.shape[0], rater.collection_size, n_null, seed)

    def shares(histograms, members):
        pooled = histograms[members].sum(axis=1)
        return pooled / np.maximum(pooled.sum(axis=1, keepdims=True), 1e-12)

    hue_z, hue_bin = _standardised_max(shares(hue, tops), shares(hue, null))
    light_z, light_bin = _standardised_max(shares(lightness, tops), shares(lightness, null))
    round_z, _ = _standardised_max(
        circularity[tops].mean(axis=1, keepdims=True), circularity[null].mean(axis=1)[:, None]
    )
    table = pd.DataFrame(
        {
            "dimension": np.arange(values.shape[1]),
            "hue": [HUE_NAMES[b] for b in hue_bin],
            "hue_z": hue_z,
            "lightness": [LIGHTNESS_NAMES[b] for b in light_bin],
            "lightness_z": light_z,
            "roundness_z": round_z,
        }
    )
    table["one_hue"] = table["hue_z"] >= APPEARANCE_Z
    table["one_lightness"] = table["lightness_z"] >= APPEARANCE_Z
    table["round"] = table["roundness_z"] >= APPEARANCE_Z
    return table


APPEARANCE_FLAGS = ("one_hue", "one_lightness", "round")


def plain_dimensions(appearance: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """The dimensions that plainly share a look: the rows of ``appearance``
    (:func:`appearance_of_top_collections`) with one of `APPEARANCE_FLAGS`, joined on
    ``dimension`` with both raters' labels of them (``labels``, :meth:`Rater.rate`)."""
    return appearance[appearance[list(APPEARANCE_FLAGS)].any(axis=1)].merge(
        labels[["dimension", "label_commonality", "label_collection"]]
    )


def plain_table(plain: pd.DataFrame) -> pd.DataFrame:
    """:func:`plain_dimensions` as chapter 5 shows them: dimensions numbered from 1, what
    each shares in words (:func:`appearance_shared`), the three z and both labels."""
    return plain.assign(dimension=plain["dimension"] + 1, shares=appearance_shared(plain))[
        ["dimension", "shares", "hue_z", "lightness_z", "roundness_z"]
        + ["label_commonality", "label_collection"]
    ]


def appearance_note(plain: pd.DataFrame, method: str) -> str:
    """What the raters make of the dimensions that plainly share a look (rows of
    :func:`appearance_of_top_collections` with both methods' labels), and why those not
    called visual are not."""
    if plain.empty:
        return "No human dimension passes the criterion on these pictures."
    other = next(m for m in METHODS if m != method)
    counts = {m: int((plain[f"label_{m}"] == "visual").sum()) for m in METHODS}
    not_visual = plain[plain[f"label_{method}"] != "visual"]
    text = (
        f"The {method} rater calls {counts[method]} of these {len(plain)} visual, the "
        f"{other} rater {counts[other]}."
    )
    if not_visual.empty:
        return text
    found = not_visual[f"label_{method}"].value_counts()
    listed = ", ".join(f"{n} {label}" for label, n in found.items())
    text += f" Of the other {len(not_visual)}, it calls {listed}. "
    if method == "commonality":
        text += (
            "A semantic or mixed label here means that what the concepts are (their "
            "categories, properties and names) predicts the dimension beyond what their "
            "pictures show: the shared look follows from a shared meaning (green plants, "
            "round balls), and the rule asks which side explains more on its own. An "
            "unclear one is a dimension that no ridge regression predicts across the "
            "concepts, because only a few dozen of them carry it, although its top "
            "collection plainly shares a look; the collection rater, which looks at "
            "those top concepts only, is the one that sees it."
        )
    else:
        text += (
            "Their top concepts share a meaning as well as a look (both z-scores pass "
            "their bars), or their look stands out in one measure but not enough once "
            "every visual block is weighed."
        )
    return text


def hue_of_top_collections(
    rater: Rater, values: np.ndarray, hue: str, *, n_null: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """The share of one hue bin (a name of `HUE_NAMES`) in each dimension's top
    collection's hue mass, next to its share over all rated concepts, and its z against
    random collections of the same size."""
    if hue not in HUE_NAMES:
        raise ValueError(f"hue: expected one of {HUE_NAMES}, got {hue!r}")
    histograms = np.asarray(rater.visual_blocks["hue"], dtype=np.float64)
    column = HUE_NAMES.index(hue)
    tops = top_collections(values, rater.collection_size)
    null = random_collections(len(histograms), rater.collection_size, n_null, seed)

    def share(members):
        pooled = histograms[members].sum(axis=1)
        return pooled[:, column] / np.maximum(pooled.sum(axis=1), 1e-12)

    random = share(null)
    return pd.DataFrame(
        {
            "dimension": np.arange(values.shape[1]),
            "share": share(tops),
            "share_all": histograms[:, column].sum() / histograms.sum(),
            "z": (share(tops) - random.mean()) / random.std(),
        }
    )


def hue_note(
    rater: Rater,
    values: np.ndarray,
    rated: pd.DataFrame,
    names: Sequence[str],
    hue: str,
    *,
    seed: int = 0,
) -> str:
    """A paragraph on the dimension whose top collection holds the largest share of one
    hue in the pictures: how far above chance that is, what each rater calls it, and why
    it is not called visual where it is not. ``rated``: :meth:`Rater.rate`'s table of the
    embedding whose rated rows are ``values``."""
    table = hue_of_top_collections(rater, values, hue, seed=seed)
    row = table.loc[table["share"].idxmax()]
    d = int(row["dimension"])
    labels = rated.iloc[d]
    top = np.asarray(names)[rater.objects[top_collections(values[:, [d]], 6)[0]]]
    plain = row["z"] >= APPEARANCE_Z
    verdict = (
        "more so than all but about 1 in 1,000 random collections"
        if plain
        else "within what random collections reach"
    )
    text = (
        f"The dimension whose top collection holds the most {hue} hue in these pictures is "
        f"dimension {d + 1} ({', '.join(top)}, ...): that hue makes "
        f"{100 * row['share']:.0f} % of its hue mass against {100 * row['share_all']:.0f} % "
        f"over all rated concepts, a z of {row['z']:.1f}, {verdict}. The {rater.method} "
        f"rater calls it **{labels['label']}** (the other rater: "
        f"{labels[f'label_{next(m for m in METHODS if m != rater.method)}']})."
    )
    if not plain:
        text += (
            " The dimension was learnt from people's choices about photographs, in which "
            "such objects share their colour; in these pictures many of its top concepts "
            "are drawn in other colours, so the colour a person would see in its photos "
            "is not there to be rated. That is a limit of the pictures, which no rater of "
            "them can undo."
        )
    elif labels["label"] != "visual":
        visual_adds = (
            f"the visual side {100 * labels['unique_visual']:.0f} % beyond the semantic one"
            if labels["unique_visual"] > 0
            else "the visual side nothing beyond the semantic one"
        )
        text += (
            f" It is not called visual because what its concepts are predicts it beyond "
            f"their pictures: the semantic side adds {100 * labels['unique_semantic']:.0f} % "
            f"of explained variance beyond the visual side, {visual_adds}. Its colour "
            "comes with its meaning, and the rule credits the side that explains more on "
            "its own; a person looking only at the colour might call it visual."
        )
    return text


# The book's verdict on the paper's headline ---------------------------------------------------

# Fig. 2c of the paper, in words (it prints no values): what each half of the headline says.
PAPER_HEADLINE = {
    "human": "mostly semantic",
    "network": "dominated by visual and mixed visual-semantic dimensions",
}
# the most likely reason the network half differs on the book's offline data
OFFLINE_DATA_REASON = (
    "our network embeddings come from features averaged over each concept (for VGG-16 a "
    "concept-level stand-in), not from single photos, and the rater sees the concepts only "
    "as emoji drawings"
)


@dataclass(frozen=True)
class Verdict:
    """Which half of the paper's headline (human dimensions mostly semantic, the
    network's dominated by visual and mixed ones) the rated shares reproduce."""

    human_reproduced: bool
    network_reproduced: bool
    sentence: str
    table: pd.DataFrame


def _dominated_by_looks(shares: Mapping[str, float]) -> bool:
    return shares["visual"] + shares["mixed"] > shares["semantic"]


def headline_verdict(
    human_shares: Mapping[str, float],
    network_shares: Mapping[str, float],
    network_label: str,
    *,
    human_label: str = "the published human VICE-42",
    reason: str = OFFLINE_DATA_REASON,
) -> Verdict:
    """The verdict on Fig. 2c from the shares (%, unclear left out) of visual, mixed and
    semantic dimensions of a human and a network embedding: the human half holds when
    semantic is the largest share and above half; the network half when visual and mixed
    together outweigh semantic."""
    human_ok = human_shares["semantic"] > 50 and human_shares["semantic"] == max(
        human_shares[q] for q in RATED_QUALITIES
    )
    network_ok = _dominated_by_looks(network_shares)
    looks = network_shares["visual"] + network_shares["mixed"]
    human_part = (
        f"{human_shares['semantic']:.0f} % of the rated dimensions of {human_label} "
        f"semantic (paper: {PAPER_HEADLINE['human']})"
    )
    network_part = (
        f"{looks:.0f} % of those of {network_label} visual or mixed "
        f"({network_shares['visual']:.0f} % visual; paper, VGG-16: {PAPER_HEADLINE['network']})"
    )
    if human_ok and network_ok:
        sentence = (
            f"Both halves of the paper's headline reproduce here, with {human_part} and "
            f"{network_part}."
        )
    elif human_ok:
        sentence = (
            f"The human half of the paper's headline reproduces here, with {human_part}; "
            f"the network half does not, with only {network_part}, most likely because "
            f"{reason}."
        )
    elif network_ok:
        sentence = (
            f"The network half of the paper's headline reproduces here, with {network_part}; "
            f"the human half does not, with only {human_part}."
        )
    else:
        sentence = (
            f"Neither half of the paper's headline reproduces here, with only {human_part} "
            f"and {network_part}, most likely because {reason}."
        )
    table = pd.DataFrame(
        [
            {
                "embedding": name,
                "paper (Fig. 2c)": PAPER_HEADLINE[half],
                **{f"ours, {q} (%)": round(float(shares[q]), 1) for q in RATED_QUALITIES},
                "reproduced": "yes" if ok else "no",
            }
            for name, half, shares, ok in (
                (human_label, "human", human_shares, human_ok),
                (network_label, "network", network_shares, network_ok),
            )
        ]
    )
    return Verdict(human_ok, network_ok, sentence, table)


def driver_verdict(
    human_shares: Mapping[str, float], network_shares: Mapping[str, float], network_label: str
) -> str:
    """The verdict on the paper's Fig. 6 pattern from the shares (%) of diverging
    triplets whose choice each side's visual or semantic dimension drives: the human
    choices rest mostly on semantic dimensions, the network's on visual ones."""
    human_ok = human_shares.get("semantic", 0.0) > human_shares.get("visual", 0.0)
    network_ok = network_shares.get("visual", 0.0) > network_shares.get("semantic", 0.0)
    facts = (
        f"the human embedding's choice on the diverging triplets is driven by a semantic "
        f"dimension in {human_shares.get('semantic', 0.0):.0f} % (visual: "
        f"{human_shares.get('visual', 0.0):.0f} %), {network_label}'s by a visual one in "
        f"{network_shares.get('visual', 0.0):.0f} % (semantic: "
        f"{network_shares.get('semantic', 0.0):.0f} %)"
    )
    if human_ok and network_ok:
        return f"Both sides of the paper's Fig. 6 pattern reproduce here: {facts}."
    if human_ok:
        return (
            f"The human side of the paper's Fig. 6 pattern reproduces here and the network "
            f"side does not: {facts}; most likely because {OFFLINE_DATA_REASON}."
        )
    return (
        f"The paper's Fig. 6 pattern (human choices driven by semantic dimensions, the "
        f"network's by visual ones) does not reproduce here: {facts}; most likely because "
        f"{OFFLINE_DATA_REASON}."
    )


def networks_verdict(
    human_shares: Mapping[str, float], network_shares: Mapping[str, Mapping[str, float]]
) -> str:
    """One sentence on Fig. 2c across several networks: how many are dominated by visual
    and mixed dimensions, next to the human embedding's semantic share."""
    looks = {name: s["visual"] + s["mixed"] for name, s in network_shares.items()}
    dominated = [name for name, s in network_shares.items() if _dominated_by_looks(s)]
    human_ok = human_shares["semantic"] > 50
    low, high = min(looks.values()), max(looks.values())
    sentence = (
        f"Across the {len(looks)} networks, {low:.0f} to {high:.0f} % of the rated dimensions "
        f"are visual or mixed; dominated by them, as the paper's VGG-16 is: "
        f"{', '.join(dominated) if dominated else 'none'} ({len(dominated)} of {len(looks)}). "
        f"{human_shares['semantic']:.0f} % of the human VICE-42's rated dimensions are "
        "semantic, so "
    )
    if human_ok and len(dominated) == len(looks):
        return sentence + "both halves of the paper's headline reproduce."
    if human_ok:
        return (
            sentence + "the human half of the paper's headline reproduces and the network "
            f"half {'only partly' if dominated else 'does not'}, most likely because "
            f"{OFFLINE_DATA_REASON}."
        )
    return (
        sentence + f"neither half reproduces cleanly, most likely because {OFFLINE_DATA_REASON}."
    )


# What chapter 5 says of the embeddings it rates ---------------------------------------------


def clip_source_note(
    n_dims: int, *, n_train: int | None = None, accuracy: float | None = None
) -> str:
    """Where chapter 5's CLIP embedding comes from: fitted in the chapter on ``n_train``
    CLIP triplets, keeping ``n_dims`` dimensions and predicting a share ``accuracy`` of
    CLIP's held-out choices; or, without ``n_train``, chapter 2's embedding of CLIP
    (``n_dims`` dimensions) when CLIP is the network studied."""
    if n_train is None:
        return (
            "CLIP is the network studied here, so its embedding is the one chapter 2 fitted "
            f"to it ({n_dims} dimensions), and no second CLIP embedding is fitted."
        )
    if accuracy is None:
        raise ValueError("accuracy: expected the held-out accuracy of the CLIP fit")
    return (
        "The CLIP embedding is fitted here the way chapters 1 and 2 fit the book's "
        f"network: {n_train:,} random training triplets "
        "answered by CLIP's concept features (dot product), the same 90/10 split and the "
        f"same VICE settings. VICE keeps **{n_dims} dimensions** and "
        f"predicts {100 * float(accuracy):.1f} % of CLIP's held-out choices. It is "
        'the fit chapters 1 and 2 make when they study CLIP (`network = "clip_vit_b32"`) '
        "with the same settings: whichever chapter runs first fits it, the other resumes "
        "from its checkpoint."
    )


# The paper's shares (%) of unclear dimensions (Fig. 2 caption): its human embedding, whose
# place the published VICE-42 takes here, and its VGG-16.
PAPER_UNCLEAR = {"vice42": 7.35, "vgg16": 8.57}


def unclear_table(tables: Mapping[str, pd.DataFrame], names: Mapping[str, str]) -> pd.DataFrame:
    """The share (%) of unclear dimensions of each embedding, by count and by importance
    (``tables`` maps its key to its rated dimensions, columns ``label`` and
    ``importance``), with its number of dimensions and the paper's share where the paper
    gives one (`PAPER_UNCLEAR`, NaN otherwise); rows named by ``names``."""
    unclear = pd.DataFrame(
        {
            names[key]: {
                "unclear, by count (%)": 100 * float((t["label"] == "unclear").mean()),
                "unclear, by importance (%)": 100
                * float(t.loc[t["label"] == "unclear", "importance"].sum()),
                "dimensions": len(t),
            }
            for key, t in tables.items()
        }
    ).T
    unclear["paper (%)"] = pd.Series(
        {names[key]: share for key, share in PAPER_UNCLEAR.items() if key in names}
    )
    return unclear


def unclear_note(
    network_label: str,
    network_objects: np.ndarray,
    rated_objects: np.ndarray,
    *,
    book_network: bool,
    paper_profile: bool,
) -> str:
    """Why the studied network's share of unclear dimensions may differ from the paper's:
    the book's VGG-16 stand-in (outside the ``paper`` profile), a network covering only
    some concepts (``network_objects``, THINGS indices; ``rated_objects``: those with
    pictures), or what else its embedding comes from."""
    from dnnalign_utils.conventions import N_OBJECTS

    if book_network and not paper_profile:
        return (
            "Our VGG-16 embedding is learnt from a concept-level stand-in of VGG-16's features "
            "(chapter 1), and many of its dimensions are predicted neither by knowledge of the "
            "concepts nor by their drawings; they are the main reason its share of unclear "
            "dimensions is far above the paper's."
        )
    network_objects = np.asarray(network_objects)
    if network_objects.size < N_OBJECTS:
        return (
            f"{network_label} covers {network_objects.size:,} concepts; its dimensions are "
            f"rated on the {np.intersect1d(network_objects, rated_objects).size} of them that "
            "have pictures, and a dimension that is zero on all of those is unclear."
        )
    if book_network:
        return (
            "Our VGG-16 embedding comes from VGG-16-BN's activations averaged per concept, "
            "not from the paper's embedding of single photos."
        )
    return f"The paper gives an unclear share for its VGG-16 only, none for {network_label}."


def appearance_shared(plain: pd.DataFrame) -> list[str]:
    """What each top collection of :func:`appearance_of_top_collections` plainly shares,
    in words (e.g. "one hue (green), round")."""
    return [
        ", ".join(
            text
            for text, on in (
                (f"one hue ({row.hue})", row.one_hue),
                (f"one lightness ({row.lightness})", row.one_lightness),
                ("round", row.round),
            )
            if on
        )
        for row in plain.itertuples()
    ]


# What each column of chapter 5's `dimension_ratings` download means (R² and importance
# in %, as every R² the book publishes).
RATINGS_COLUMNS = {
    "embedding": "the embedding's key",
    "embedding name": "the embedding, as the chapter names it",
    "dimension": "the dimension, numbered from 1 in order of importance",
    "r2_semantic": "cross-validated R² of the dimension from the semantic predictors (%)",
    "r2_visual": "cross-validated R² of the dimension from the visual predictors (%)",
    "r2_joint": "cross-validated R² from both sides together (%)",
    "unique_semantic": "what the semantic side explains beyond the visual one (%): "
    "r2_joint − r2_visual",
    "unique_visual": "what the visual side explains beyond the semantic one (%): "
    "r2_joint − r2_semantic",
    "shared": "what both sides explain alike (%): r2_semantic + r2_visual − r2_joint",
    "z_semantic": "how much more alike in meaning the dimension's top concepts are than "
    "random collections of the same size (z)",
    "z_visual": "how much more alike in appearance its top concepts' pictures are than "
    "those of random collections (z)",
    "label_commonality": "the commonality rater's label",
    "label_collection": "the top-collection rater's label",
    "label": "the label the chapter uses (the rater with the higher calibration accuracy)",
    "importance": "the dimension's share of the embedding's total weight (%)",
}
_PERCENT_COLUMNS = (
    "r2_semantic",
    "r2_visual",
    "r2_joint",
    "unique_semantic",
    "unique_visual",
    "shared",
    "importance",
)


def ratings_table(labels: pd.DataFrame, display_names: Mapping[str, str]) -> pd.DataFrame:
    """Chapter 5's `dimension_ratings` download from its rating tables (one row per
    dimension, with ``embedding``): dimensions numbered from 1, R² and importance in %,
    the columns of :data:`RATINGS_COLUMNS` in that order."""
    table = labels.reset_index(drop=True).assign(
        **{
            "embedding name": labels["embedding"].map(display_names).to_numpy(),
            "dimension": labels["dimension"].to_numpy() + 1,
        }
    )
    table[list(_PERCENT_COLUMNS)] = 100 * table[list(_PERCENT_COLUMNS)]
    return table[list(RATINGS_COLUMNS)]
