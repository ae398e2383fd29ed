"""An automatic visual / semantic rater of embedding dimensions, validated on planted ones.

The paper had people rate each dimension and checked the ratings with a semantic
text embedding: the R² with which it predicts a dimension separates the dimensions
people called semantic from the visual ones. Here each dimension gets two
cross-validated R² values from the same nested ridge as chapter 3
(:func:`dnnalign_utils.regression.nested_cv_ridge`):

- **semantic**: what is known about the concept without seeing it: the MiniLM sentence
  embedding of "word: definition", word2vec, the THINGSplus categories and the
  property ratings;
- **visual**: what is in the concept's pictures: colour histograms (hue, saturation,
  lightness), the shape of the object mask (area, elongation, circularity, convexity),
  texture and edge density, and the first convolutional block of EfficientNet-Lite0
  (`VISUAL_PROBE_LAYER`). The layer whose embedding is rated may never be among the
  visual predictors (:func:`check_visual_layers`).

Each predictor block is standardised and scaled so that every block carries the same
total variance. The R² values are detrended by dimension rank (later, sparser
dimensions are harder to predict for both sides), then :class:`Thresholds` turn the
pair into visual, mixed, semantic or unclear; the thresholds are chosen on planted
dimensions of known nature (:func:`planted_dimensions`, :func:`choose_thresholds`).

Chapter 5's rater for a profile is :func:`profile_rater`; :func:`rate_network` labels a
network's embedding with it (also one covering only some concepts), and
:func:`network_label_shares` gives the chapter's key numbers, the shares of visual,
mixed and semantic dimensions.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from dnnalign_utils import regression
from dnnalign_utils.conventions import as_float_matrix
from dnnalign_utils.rating import QUALITIES, RATED_QUALITIES

VISUAL_PROBE_LAYER = "_blocks.0"
# the penalty grid of chapter 5's rater (chapters 4 and 5 label with the same settings)
RATER_ALPHA_GRID = np.logspace(-2.0, 6.0, 17)
HUE_BINS, SATURATION_BINS, LIGHTNESS_BINS = 12, 4, 4


def check_visual_layers(visual_layers: Sequence[str], rated_layer: str | None) -> None:
    """Refuse visual predictors that include the layer whose embedding is rated."""
    if rated_layer is not None and rated_layer in set(visual_layers):
        raise ValueError(
            f"visual predictors include {rated_layer!r}, the layer whose embedding is rated; "
            "a dimension would be called visual because it predicts itself"
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

    Constant columns are dropped. Without the block scaling a 384-column sentence
    embedding would outweigh eleven property ratings by sheer width.
    """
    if not blocks:
        raise ValueError("blocks: expected at least one predictor block")
    parts, n_rows = [], None
    for name, block in blocks.items():
        x = as_float_matrix(block, f"blocks[{name!r}]", allow_1d=True)
        if n_rows is not None and x.shape[0] != n_rows:
            raise ValueError(f"blocks[{name!r}]: {x.shape[0]} rows, expected {n_rows}")
        n_rows = x.shape[0]
        sd = x.std(axis=0)
        x = x[:, sd > 1e-12]
        if x.shape[1] == 0:
            raise ValueError(f"blocks[{name!r}]: every column is constant")
        x = (x - x.mean(axis=0)) / x.std(axis=0)
        parts.append(x / np.sqrt(x.shape[1]))
    return np.hstack(parts)


def detrend_by_rank(r2: np.ndarray) -> np.ndarray:
    """Remove the linear trend of R² over dimension rank, keeping the mean.

    Dimensions are ranked by importance (column order); later, sparser dimensions are
    harder to predict from anything. NaN entries (a dimension constant on the rated
    concepts has no R²) stay NaN and play no part in the trend. Fewer than three finite
    values: returned unchanged.
    """
    r2 = np.asarray(r2, dtype=np.float64)
    finite = np.isfinite(r2)
    if finite.sum() < 3:
        return r2.copy()
    rank = np.arange(r2.size, dtype=np.float64)
    slope = np.polyfit(rank[finite], r2[finite], 1)[0]
    return r2 - slope * (rank - rank[finite].mean())


# Decision rule -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """unclear: both R² below ``unclear``; otherwise semantic if R²_sem − R²_vis exceeds
    ``semantic_margin``, visual if R²_vis − R²_sem exceeds ``visual_margin``, else mixed."""

    unclear: float
    semantic_margin: float
    visual_margin: float


def classify(r2_semantic: np.ndarray, r2_visual: np.ndarray, thresholds: Thresholds) -> np.ndarray:
    """Visual, mixed, semantic or unclear per dimension (unclear also where an R² is
    NaN: a dimension without an R² is predicted by nothing)."""
    sem = np.asarray(r2_semantic, dtype=np.float64)
    vis = np.asarray(r2_visual, dtype=np.float64)
    if sem.shape != vis.shape or sem.ndim != 1:
        raise ValueError("r2_semantic, r2_visual: expected two 1-D arrays of equal length")
    diff = sem - vis
    labels = np.full(sem.shape, "mixed", dtype=object)
    labels[diff > thresholds.semantic_margin] = "semantic"
    labels[-diff > thresholds.visual_margin] = "visual"
    labels[np.maximum(sem, vis) < thresholds.unclear] = "unclear"
    # no R² at all (a dimension constant on the rated concepts): nothing predicts it
    labels[~(np.isfinite(sem) & np.isfinite(vis))] = "unclear"
    return labels


def choose_thresholds(
    r2_semantic: np.ndarray,
    r2_visual: np.ndarray,
    truth: Sequence[str],
    grid: np.ndarray | None = None,
) -> Thresholds:
    """The thresholds with the best balanced accuracy on labelled (planted) dimensions.

    Many grid points usually tie; the choice is the per-axis median of the tied points
    when that point is itself among the best (thresholds in the middle of the safe
    region, not on its edge), else the first best point in grid order.
    """
    truth = np.asarray(truth, dtype=object)
    grid = np.round(np.arange(0.0, 0.61, 0.02), 2) if grid is None else np.asarray(grid)
    points = np.asarray(list(itertools.product(grid, grid, grid)))
    scores = np.array(
        [
            balanced_accuracy(truth, classify(r2_semantic, r2_visual, Thresholds(*p)))
            for p in points
        ]
    )
    best = points[scores >= scores.max() - 1e-12]
    middle = Thresholds(*(float(v) for v in np.median(best, axis=0)))
    if balanced_accuracy(truth, classify(r2_semantic, r2_visual, middle)) >= scores.max() - 1e-12:
        return middle
    return Thresholds(*(float(v) for v in best[0]))


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Mean over the true classes of the share labelled correctly (sklearn's definition)."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    return float(np.mean([np.mean(predicted[truth == c] == c) for c in np.unique(truth)]))


# Planted dimensions ------------------------------------------------------------------------


def _z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean()) / x.std()


def _embedding_like(score: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """A sparse non-negative column from a score: noise added, the lower 40 % cut to 0."""
    noisy = _z(score) + noise * rng.standard_normal(score.size)
    return np.maximum(noisy - np.quantile(noisy, 0.4), 0.0)


def planted_dimensions(
    visual_sources: pd.DataFrame,
    semantic_sources: pd.DataFrame,
    *,
    n_per_class: int,
    seed: int,
    noise: tuple[float, float] = (0.3, 0.8),
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Dimensions of known nature, shaped like embedding dimensions.

    visual: one column of ``visual_sources`` (e.g. redness, roundness); semantic: one
    column of ``semantic_sources`` (e.g. is food); mixed: the sum of one of each
    (standardised); unclear: pure noise. Each gets Gaussian noise with a standard
    deviation drawn from ``noise`` (in units of the score's standard deviation) and is
    made sparse and non-negative. Returns (n_objects, 4 * n_per_class) values, the
    planted labels and a description of each.
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
            ("visual", v, visual_sources[v].to_numpy()),
            ("semantic", s, semantic_sources[s].to_numpy()),
            (
                "mixed",
                f"{v2} + {s2}",
                _z(visual_sources[v2].to_numpy()) + _z(semantic_sources[s2].to_numpy()),
            ),
            ("unclear", "noise", rng.standard_normal(n)),
        ]
        for label, name, score in plans:
            columns.append(_embedding_like(score, rng, float(rng.uniform(*noise))))
            labels.append(label)
            names.append(f"{label}: {name}")
    return np.stack(columns, axis=1), np.asarray(labels, dtype=object), names


def confusion(truth: Sequence[str], predicted: Sequence[str]) -> pd.DataFrame:
    """Counts of planted (rows) against rated (columns) labels."""
    table = pd.crosstab(
        pd.Categorical(truth, categories=QUALITIES),
        pd.Categorical(predicted, categories=QUALITIES),
        dropna=False,
    )
    return table.rename_axis(index="planted", columns="rated")


def thresholds_dict(thresholds: Thresholds) -> dict[str, float]:
    return asdict(thresholds)


# The book's rater on the embedded pictures ------------------------------------------------


@dataclass(frozen=True)
class Rater:
    """Predictors of the concepts that have pictures, and thresholds chosen on planted
    dimensions; :meth:`rate` labels the dimensions of any embedding of these concepts.

    objects: THINGS indices of the rated concepts; semantic / visual: their predictor
    matrices (:func:`combine_blocks`); validation: one row per planted dimension (split
    "calibration" chose the thresholds, "test" was not looked at).
    """

    objects: np.ndarray
    semantic: np.ndarray
    visual: np.ndarray
    visual_layers: tuple[str, ...]
    thresholds: Thresholds
    validation: pd.DataFrame
    alpha_grid: np.ndarray
    n_outer: int = 3
    n_inner: int = 3
    seed: int = 0

    def r2(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cross-validated (semantic, visual) R² of each column of ``values`` (rows:
        ``objects``)."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[0] != self.objects.size:
            raise ValueError(
                f"values: expected ({self.objects.size}, n_dims) rows for the rated concepts, "
                f"got {values.shape}"
            )
        kwargs = {"n_outer": self.n_outer, "n_inner": self.n_inner, "seed": self.seed}
        return (
            regression.nested_cv_scores(self.semantic, values, self.alpha_grid, **kwargs).r2,
            regression.nested_cv_scores(self.visual, values, self.alpha_grid, **kwargs).r2,
        )

    def restricted(self, objects: np.ndarray) -> Rater:
        """This rater on a subset of its concepts (THINGS indices, all among ``objects``):
        the same predictors and thresholds, only the rows of those concepts."""
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
            semantic=self.semantic[keep],
            visual=self.visual[keep],
        )

    def rate_pictures(
        self, weights: np.ndarray, manifest: pd.DataFrame, *, rated_layer: str | None = None
    ) -> pd.DataFrame:
        """:meth:`rate` for a picture-level embedding (rows: ``manifest``'s pictures),
        rated on its concept means."""
        from dnnalign_utils.features import concept_means

        means, objects = concept_means(np.asarray(weights, dtype=np.float64), manifest)
        # re-sort by importance on the concepts, the order the detrending assumes
        order = np.argsort(-means.sum(0), kind="stable")
        table = self.rate(means[:, order], objects=objects, rated_layer=rated_layer)
        return table.assign(dimension=order).sort_values("dimension", ignore_index=True)

    def rate(
        self,
        weights: np.ndarray,
        *,
        objects: np.ndarray | None = None,
        rated_layer: str | None = None,
    ) -> pd.DataFrame:
        """Label every dimension of an embedding (columns in importance order): R² from
        both sides, detrended by rank, then the thresholds.

        ``weights`` rows are the THINGS concepts ``objects`` (default: all 1,854 in
        order; for a picture-level embedding pass its concept means and their indices);
        every rated concept must be among them. Returns one row per dimension:
        ``r2_semantic``, ``r2_visual`` (raw), ``semantic``, ``visual`` (detrended),
        ``importance`` (share of the embedding's total weight) and ``label``.
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
        sem, vis = self.r2(weights[position.loc[self.objects].to_numpy()])
        sem_d, vis_d = detrend_by_rank(sem), detrend_by_rank(vis)
        return pd.DataFrame(
            {
                "dimension": np.arange(weights.shape[1]),
                "r2_semantic": sem,
                "r2_visual": vis,
                "semantic": sem_d,
                "visual": vis_d,
                "importance": weights.sum(0) / weights.sum(),
                "label": classify(sem_d, vis_d, self.thresholds),
            }
        )


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


def emoji_rater(
    manifest: pd.DataFrame,
    probe_features: np.ndarray,
    sentence_vectors: np.ndarray,
    *,
    alpha_grid: np.ndarray = RATER_ALPHA_GRID,
    n_planted_per_class: int = 12,
    n_outer: int = 3,
    n_inner: int = 3,
    seed: int = 0,
    progress: bool = True,
) -> Rater:
    """The rater of the embedded image set's concepts, validated on planted dimensions.

    manifest: the emoji manifest (rows = pictures); probe_features: the pictures'
    `VISUAL_PROBE_LAYER` activations in manifest order; sentence_vectors: the MiniLM
    embedding of all 1,854 concepts. Planted dimensions come from two disjoint halves of
    the definitions (even-numbered colours, shapes and categories to calibrate the
    thresholds, odd-numbered ones to test them).
    """
    from dnnalign_utils import data

    codes, concepts = pd.factorize(manifest["things_index"], sort=True)
    objects = np.asarray(concepts, dtype=np.int64)
    if probe_features.shape[0] != len(manifest):
        raise ValueError(
            f"probe_features: {probe_features.shape[0]} rows for {len(manifest)} pictures"
        )
    picture_stats = picture_statistics(manifest["path"], progress=progress)
    colours = colour_measures(manifest["path"])
    properties = data.load_property_ratings()
    properties = properties[[c for c in properties if c.endswith("_mean")]].to_numpy()
    semantic = combine_blocks(
        {
            "sentence embedding": sentence_vectors[objects],
            "word2vec": data.load_word2vec()[objects],
            "THINGSplus categories": data.load_categories53().to_numpy()[objects].astype(float),
            "property ratings": properties[objects],
        }
    )
    probe = pd.DataFrame(probe_features).groupby(codes).mean().to_numpy()
    visual = combine_blocks(
        {
            "image statistics": picture_stats.groupby(codes).mean().to_numpy(),
            f"EfficientNet-Lite0 {VISUAL_PROBE_LAYER}": probe,
        }
    )
    visual_sources, semantic_sources = _planted_sources(objects, picture_stats, colours, codes)
    splits = []
    for split, parity, planted_seed in (("calibration", 0, seed + 11), ("test", 1, seed + 12)):
        values, truth, names = planted_dimensions(
            visual_sources.iloc[:, parity::2],
            semantic_sources.iloc[:, parity::2],
            n_per_class=n_planted_per_class,
            seed=planted_seed,
        )
        kwargs = {"n_outer": n_outer, "n_inner": n_inner, "seed": seed}
        splits.append(
            pd.DataFrame(
                {
                    "split": split,
                    "planted": truth,
                    "definition": names,
                    "semantic": regression.nested_cv_scores(
                        semantic, values, alpha_grid, **kwargs
                    ).r2,
                    "visual": regression.nested_cv_scores(visual, values, alpha_grid, **kwargs).r2,
                }
            )
        )
    validation = pd.concat(splits, ignore_index=True)
    calibration = validation[validation["split"] == "calibration"]
    thresholds = choose_thresholds(
        calibration["semantic"].to_numpy(),
        calibration["visual"].to_numpy(),
        calibration["planted"],
    )
    validation["rated"] = classify(
        validation["semantic"].to_numpy(), validation["visual"].to_numpy(), thresholds
    )
    return Rater(
        objects=objects,
        semantic=semantic,
        visual=visual,
        visual_layers=(VISUAL_PROBE_LAYER,),
        thresholds=thresholds,
        validation=validation,
        alpha_grid=np.asarray(alpha_grid, dtype=np.float64),
        n_outer=n_outer,
        n_inner=n_inner,
        seed=seed,
    )


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
    their `VISUAL_PROBE_LAYER` features, with the concepts' sentence embeddings (chapter
    3's cache, computed if missing)."""
    from dnnalign_utils import data, features, paths, semantic

    probe, picture_rows = features.load_image_features(
        paths.image_features(profile), VISUAL_PROBE_LAYER
    )
    sentence_vectors = semantic.cached_sentence_embeddings(
        semantic.concept_texts(data.load_concepts()),
        paths.sentence_embeddings(profile),
        progress=progress,
    )
    return emoji_rater(
        picture_rows,
        probe,
        sentence_vectors,
        alpha_grid=alpha_grid,
        n_planted_per_class=n_planted_per_class,
        n_outer=n_outer,
        n_inner=n_inner,
        seed=seed,
        progress=progress,
    )


def _checked_things_index(things_index: np.ndarray, n_rows: int) -> np.ndarray:
    from dnnalign_utils.conventions import N_OBJECTS

    index = np.asarray(things_index)
    if index.ndim != 1 or index.size != n_rows or not np.issubdtype(index.dtype, np.integer):
        raise ValueError(
            f"things_index: expected {n_rows} integer THINGS indices, one per row of "
            f"embedding_weights; got shape {index.shape}, dtype {index.dtype}"
        )
    if index.size and (index.min() < 0 or index.max() >= N_OBJECTS):
        raise ValueError(f"things_index: expected indices in 0..{N_OBJECTS - 1}")
    if np.unique(index).size != index.size:
        raise ValueError("things_index: a THINGS index occurs twice; expected one row each")
    return index.astype(np.int64)


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
    index = _checked_things_index(things_index, weights.shape[0])
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
