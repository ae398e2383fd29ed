"""End-to-end dimension predictor: image -> network -> its own pooling -> ridge -> dimensions.

The paper's Grad-CAM and causal-manipulation analyses (the paper's Methods) need the dimension
values of an image as a differentiable function of its pixels. The reference predictor
skips VGG's last max-pool and applies the ridge to uncentred features, so its output
differs from the ridge applied to the stored features. Here the path is exactly the one
the features were extracted on, and the ridge is a linear layer with the centring built in,
``W (f - x_mean) + b``; ``tests/test_predictor.py`` checks that the output equals
``FittedRidge.predict(features)`` to 1e-4.

Any ridge object with ``coef`` (n_features x n_targets), ``intercept`` (n_targets) and
``x_mean`` (n_features) works (``dnnalign_utils.regression.FittedRidge``).

``DimensionPredictor`` is the saved form for new pictures: ridge, network, layer, input
recipe and the training pictures' feature range (``FeatureRange``); ``predict`` takes any
pictures (``features.image_features``) and warns about those outside the training
pictures; ``original_size_cams`` gives Grad-CAM maps on each picture's own pixel grid.

``picture_r2_table`` reports how well a picture network's activations predict each
dimension of its picture embedding (chapter 4; the figure: ``plotting.picture_r2_scatter``).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from dnnalign_utils.linear_head import CentredLinear


class EfficientNetLitePredictor(nn.Module):
    """EfficientNet-Lite trunk (Lite0, Lite1, or random weights) -> head activation
    (1280 x 7 x 7 for Lite0's 224-pixel input, 1280 x 8 x 8 for Lite1's 240) -> global
    average pool -> ridge. The pooled 1280-d vector is exactly the ``_avg_pooling``
    output used as features by ``features.extract_features``.

    ``target_layer`` (the head activation, after ReLU6) is the layer for Grad-CAM;
    ``target_conv`` is the 1x1 head convolution feeding it.
    """

    def __init__(self, backbone: nn.Module, ridge: Any, relu_output: bool = False):
        super().__init__()
        if not isinstance(getattr(backbone, "_swish", None), nn.ReLU6):
            raise ValueError("backbone: expected an EfficientNet-Lite (ReLU6 activations)")
        self.backbone = backbone.eval()
        self.head_activation = nn.ReLU6()  # its own module, so hooks see only the head
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.ridge = CentredLinear.from_ridge(ridge)
        self.relu_output = relu_output
        if self.ridge.x_mean.shape[0] != backbone._fc.in_features:
            raise ValueError(
                f"ridge expects {self.ridge.x_mean.shape[0]} features; the EfficientNet-Lite's "
                f"pooled features have {backbone._fc.in_features}"
            )

    @property
    def target_layer(self) -> nn.Module:
        return self.head_activation

    @property
    def target_conv(self) -> nn.Module:
        return self.backbone._conv_head

    def pooled_features(self, x: torch.Tensor) -> torch.Tensor:
        b = self.backbone
        x = b._swish(b._bn0(b._conv_stem(x)))
        n_blocks = len(b._blocks)
        for idx, block in enumerate(b._blocks):
            rate = b._global_params.drop_connect_rate
            if rate:
                rate *= float(idx) / n_blocks  # as the package's forward (inactive in eval)
            x = block(x, drop_connect_rate=rate)
        x = self.head_activation(b._bn1(b._conv_head(x)))
        return self.pool(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ridge(self.pooled_features(x))
        return torch.relu(y) if self.relu_output else y


class VGG16BNPredictor(nn.Module):
    """torchvision VGG-16-BN: features up to ``features.42`` (last conv block after ReLU,
    512 x 14 x 14) -> its max-pool -> avgpool -> flatten -> ``classifier[:4]`` (fc7,
    ``classifier.3``) -> ReLU if the ridge was fitted on ReLU'd features (the paper's
    choice) -> ridge.

    ``target_layer`` is ``features.42`` (the ReLU after the last conv, as in the paper's
    Grad-CAM); ``target_conv`` is ``features.40``.
    """

    def __init__(
        self,
        vgg: nn.Module,
        ridge: Any,
        features_relu: bool = True,
        relu_output: bool = False,
    ):
        super().__init__()
        if len(vgg.features) != 44 or not isinstance(vgg.features[43], nn.MaxPool2d):
            raise ValueError("vgg: expected torchvision vgg16_bn (44 feature modules)")
        self.vgg = vgg.eval()
        self.features_relu = features_relu
        self.relu_output = relu_output
        self.ridge = CentredLinear.from_ridge(ridge)
        if self.ridge.x_mean.shape[0] != vgg.classifier[3].out_features:
            raise ValueError(
                f"ridge expects {self.ridge.x_mean.shape[0]} features; classifier.3 has "
                f"{vgg.classifier[3].out_features}"
            )

    @property
    def target_layer(self) -> nn.Module:
        return self.vgg.features[42]

    @property
    def target_conv(self) -> nn.Module:
        return self.vgg.features[40]

    def fc7(self, x: torch.Tensor) -> torch.Tensor:
        v = self.vgg
        x = v.features[:43](x)
        x = v.features[43](x)  # the max-pool the reference predictor skips
        x = torch.flatten(v.avgpool(x), 1)
        x = v.classifier[:4](x)
        return torch.relu(x) if self.features_relu else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ridge(self.fc7(x))
        return torch.relu(y) if self.relu_output else y


# A saved predictor for new pictures ------------------------------------------------------


# Below this a value is float rounding, not a difference (features are float32).
FLOAT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class FeatureRange:
    """Where the training pictures' features lie, for flagging pictures outside them.

    The distance of a feature vector ``f`` is a probabilistic-PCA (Mahalanobis-like)
    distance from the training features: with the top ``k`` principal axes (variances
    ``variances``) and the average variance ``residual_variance`` of the remaining
    directions, ``sqrt((sum_k z_k^2 / variances_k + |r|^2 / residual_variance) / p)``,
    ``z`` the coordinates on the axes, ``r`` the rest, ``p`` the number of features. A
    typical training picture scores about 1. ``distance_limit`` and
    ``negative_share_limit`` are the training pictures' ``percentile``-th percentiles of
    that distance and of the share of negative dimension predictions.
    """

    mean: np.ndarray
    components: np.ndarray
    variances: np.ndarray
    residual_variance: float
    distance_limit: float
    negative_share_limit: float
    percentile: float

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        predictions: np.ndarray,
        *,
        n_components: int = 50,
        percentile: float = 99.0,
    ) -> FeatureRange:
        x = np.asarray(features, dtype=np.float64)
        n, p = x.shape
        mean = x.mean(axis=0)
        centred = x - mean
        # principal axes from the (p x p) covariance: faster than an SVD of the rows
        eigen, vectors = np.linalg.eigh(centred.T @ centred / max(n - 1, 1))
        order = np.argsort(eigen)[::-1]
        eigen, axes = np.clip(eigen[order], 0, None), vectors[:, order].T
        # at most half as many axes as pictures: with one axis per picture every training
        # picture lies at the same distance, and float noise alone would decide the limit
        k = int(min(n_components, max((n - 1) // 2, 1), p - 1))
        total = float(eigen.sum())
        # directions past the k axes (or, with fewer pictures than features, never seen):
        # their average variance, floored so a new picture's residual stays finite
        residual = max((total - float(eigen[:k].sum())) / (p - k), 1e-6 * total / p, 1e-12)
        partial = cls(mean, axes[:k], np.maximum(eigen[:k], 1e-12), residual, 0.0, 0.0, 0.0)
        distances = partial.distance(x)
        negative = negative_share(predictions)
        return cls(
            mean,
            axes[:k],
            np.maximum(eigen[:k], 1e-12),
            residual,
            float(np.percentile(distances, percentile)),
            float(np.percentile(negative, percentile)),
            float(percentile),
        )

    def distance(self, features: np.ndarray) -> np.ndarray:
        centred = np.asarray(features, dtype=np.float64) - self.mean
        z = centred @ self.components.T
        residual = centred - z @ self.components
        squared = (z**2 / self.variances).sum(axis=1) + (residual**2).sum(
            axis=1
        ) / self.residual_variance
        return np.sqrt(squared / centred.shape[1])


def negative_share(predictions: np.ndarray) -> np.ndarray:
    """Per row, the share of predicted dimension values below zero, beyond float rounding
    (the dimensions of a VICE/SPoSE embedding are non-negative)."""
    return (np.asarray(predictions) < -FLOAT_TOLERANCE).mean(axis=1)


@dataclass(frozen=True)
class DimensionPrediction:
    """What :meth:`DimensionPredictor.predict` returns, rows in input order."""

    dimensions: np.ndarray  # (n, n_dims) predicted dimension values
    features: np.ndarray  # (n, n_features) the network layer the ridge reads
    logits: np.ndarray  # (n, 1000) ImageNet logits
    top5: pd.DataFrame  # the five best ImageNet class names per picture
    distance: np.ndarray  # FeatureRange.distance per picture
    negative_share: np.ndarray  # share of negative dimension predictions per picture
    outside: np.ndarray  # True where either exceeds the training pictures' limit
    dimension_names: list[str]
    original_sizes: list[tuple[int, int]]

    def table(self) -> pd.DataFrame:
        """One row per picture: ImageNet top-5, the range check, the dimension values."""
        checks = pd.DataFrame(
            {
                "imagenet_top5": [", ".join(row) for row in self.top5.to_numpy()],
                "feature_distance": self.distance,
                "negative_share": self.negative_share,
                "outside_training_pictures": self.outside,
            }
        )
        values = pd.DataFrame(self.dimensions, columns=self.dimension_names)
        return pd.concat([checks, values], axis=1)


_PREDICTOR_ARRAYS = (
    "coef",
    "intercept",
    "x_mean",
    "alphas",
    "alpha_grid",
    "range_mean",
    "range_components",
    "range_variances",
    "range_scalars",
    "object_names",
    "dimension_names",
    "metadata",
)


class DimensionPredictor:
    """Picture -> network layer -> ridge -> embedding dimensions, for new pictures.

    Holds the fitted ridge (``FittedRidge``: coef, intercept, x_mean), the network name
    and the layer the ridge reads, the network's input recipe, the training pictures'
    feature range (:class:`FeatureRange`, for the out-of-range warning) and the names of
    the training pictures and dimensions. :meth:`save` writes it as one ``.npz`` with a
    provenance record; :meth:`load` reads it back and reproduces the predictions exactly.
    """

    def __init__(
        self,
        ridge: Any,
        network: str,
        layer: str,
        feature_range: FeatureRange,
        object_names: Any,
        dimension_names: Any,
        model: nn.Module | None = None,
    ):
        from dnnalign_utils import features
        from dnnalign_utils.regression import FittedRidge

        if network not in features.PICTURE_MODELS:
            raise ValueError(
                f"network: expected one of {sorted(features.PICTURE_MODELS)}, got {network!r}"
            )
        self.ridge = FittedRidge(
            ridge.coef, ridge.intercept, ridge.x_mean, ridge.alphas, ridge.alpha_grid
        )
        self.network, self.layer = network, layer
        self.recipe = features.PICTURE_MODELS[network].recipe
        self.feature_range = feature_range
        self.object_names = [str(n) for n in object_names]
        self.dimension_names = [str(n) for n in dimension_names]
        n_features, n_dims = self.ridge.coef.shape
        if len(self.dimension_names) != n_dims:
            raise ValueError(
                f"dimension_names: expected {n_dims} names (one per ridge target), "
                f"got {len(self.dimension_names)}"
            )
        if feature_range.mean.shape != (n_features,):
            raise ValueError(
                f"feature_range: expected {n_features} features like the ridge, "
                f"got {feature_range.mean.shape}"
            )
        self._model = model

    @classmethod
    def from_training(
        cls,
        ridge: Any,
        train_features: np.ndarray,
        *,
        network: str,
        layer: str,
        object_names: Any,
        dimension_names: Any = None,
        n_components: int = 50,
        percentile: float = 99.0,
        model: nn.Module | None = None,
    ) -> DimensionPredictor:
        """The predictor of a ridge fitted on ``train_features`` (rows: the training
        pictures, named by ``object_names``); dimension names default to
        "dimension 1", "dimension 2", ..."""
        train_features = np.asarray(train_features)
        if train_features.shape[0] != len(object_names):
            raise ValueError(
                f"object_names: expected {train_features.shape[0]} names (one per training "
                f"picture), got {len(object_names)}"
            )
        n_dims = np.asarray(ridge.coef).shape[1]
        if dimension_names is None:
            dimension_names = [f"dimension {i + 1}" for i in range(n_dims)]
        feature_range = FeatureRange.fit(
            train_features,
            ridge.predict(train_features),
            n_components=n_components,
            percentile=percentile,
        )
        return cls(ridge, network, layer, feature_range, object_names, dimension_names, model)

    def model(self) -> nn.Module:
        """The network (loaded with its ImageNet weights on first use)."""
        if self._model is None:
            from dnnalign_utils import features

            self._model = features.PICTURE_MODELS[self.network].load()
        return self._model

    def predict_features(self, layer_features: np.ndarray) -> np.ndarray:
        """Dimension values from the layer's features (float64, the ridge in numpy)."""
        return self.ridge.predict(np.asarray(layer_features))

    def predict(
        self, paths_or_images: Any, *, warn: bool = True, progress: bool = False, **kwargs: Any
    ) -> DimensionPrediction:
        """Predicted dimension values of any pictures (one forward pass each), with the
        network's ImageNet top-5 and the out-of-range check. ``paths_or_images`` and
        ``kwargs`` (e.g. ``background``, ``batch_size``) as in
        ``features.image_features``. With ``warn``, a UserWarning lists every picture
        whose feature distance or share of negative dimension predictions exceeds the
        training pictures' limits, with the numbers."""
        from dnnalign_utils import features

        extracted = features.image_features(
            paths_or_images,
            self.network,
            [self.layer],
            model=self.model(),
            progress=progress,
            **kwargs,
        )
        layer_features = extracted.features[self.layer]
        values = self.predict_features(layer_features)
        distance = self.feature_range.distance(layer_features)
        negative = negative_share(values)
        # a relative tolerance: a training picture recomputed with other float rounding
        # (batch size, threads) must not cross its own limit
        outside = (distance > self.feature_range.distance_limit * (1 + FLOAT_TOLERANCE)) | (
            negative > self.feature_range.negative_share_limit + FLOAT_TOLERANCE
        )
        if warn and outside.any():
            self._warn(distance, negative, outside, features.picture_items(paths_or_images)[1])
        return DimensionPrediction(
            dimensions=values,
            features=layer_features,
            logits=extracted.logits,
            top5=extracted.top5(),
            distance=distance,
            negative_share=negative,
            outside=outside,
            dimension_names=list(self.dimension_names),
            original_sizes=extracted.original_sizes,
        )

    def _warn(self, distance, negative, outside, where: list[str]) -> None:
        limits = self.feature_range
        pct = f"{limits.percentile:g}th percentile"
        lines = [
            f"{where[i]}: "
            f"feature distance {distance[i]:.2f} (training pictures' {pct}: "
            f"{limits.distance_limit:.2f}), {100 * negative[i]:.0f} % of the "
            f"{len(self.dimension_names)} predicted dimensions negative (training "
            f"pictures' {pct}: {100 * limits.negative_share_limit:.0f} %)"
            for i in np.flatnonzero(outside)
        ]
        warnings.warn(
            f"{int(outside.sum())} of {len(outside)} pictures lie outside the "
            f"{len(self.object_names):,} training pictures of this predictor; their "
            "dimension values are extrapolations:\n" + "\n".join(lines),
            UserWarning,
            stacklevel=3,
        )

    def original_size_cams(
        self, paths_or_images: Any, dims: Any, *, fill: float = np.nan, **kwargs: Any
    ) -> list[np.ndarray]:
        """Grad-CAM maps of dimensions ``dims`` (one, or one per picture; 0-based) on
        each picture's own pixel grid (height, width after EXIF orientation): computed on
        the network's input (resized and centre-cropped) and carried back by
        ``Preprocessing.to_original``; pixels outside the crop get ``fill`` (NaN: the
        network never saw them)."""
        from dnnalign_utils import features, gradcam
        from dnnalign_utils.networks import PICTURE_LEVEL_NETWORKS

        if self.network not in PICTURE_LEVEL_NETWORKS or self.layer != "_avg_pooling":
            raise ValueError(
                "original_size_cams: implemented for the pooled features (_avg_pooling) of "
                f"{', '.join(PICTURE_LEVEL_NETWORKS)}; this predictor reads {self.network} "
                f"{self.layer}"
            )
        items, where = features.picture_items(paths_or_images)
        background = kwargs.pop("background", features.DEFAULT_BACKGROUND)
        if kwargs:
            raise TypeError(f"original_size_cams: unexpected arguments {sorted(kwargs)}")
        pictures = [
            features.as_rgb_picture(item, label, background)
            for item, label in zip(items, where, strict=True)
        ]
        inputs = torch.stack([self.recipe(p) for p in pictures])
        torch_predictor = EfficientNetLitePredictor(self.model(), self.ridge)
        cams = gradcam.dimension_cams(torch_predictor, inputs, dims)
        return [
            self.recipe.to_original(cam, picture.size, fill=fill)
            for cam, picture in zip(cams, pictures, strict=True)
        ]

    # --- storage -----------------------------------------------------------------------

    def save(
        self, path: str | os.PathLike, *, produced_by: str, parameters: dict | None = None
    ) -> Path:
        """Write the predictor to ``path`` (``.npz``) atomically with a provenance
        record (network, layer, input recipe, sizes and ``parameters``)."""
        from dnnalign_utils.provenance import provenance_record, write_artefact

        r = self.feature_range
        metadata = {"network": self.network, "layer": self.layer, "recipe": self.recipe.as_dict()}
        arrays = {
            "coef": self.ridge.coef,
            "intercept": self.ridge.intercept,
            "x_mean": self.ridge.x_mean,
            "alphas": self.ridge.alphas,
            "alpha_grid": self.ridge.alpha_grid,
            "range_mean": r.mean,
            "range_components": r.components,
            "range_variances": r.variances,
            "range_scalars": np.array(
                [r.residual_variance, r.distance_limit, r.negative_share_limit, r.percentile]
            ),
            "object_names": np.array(self.object_names, dtype=str),
            "dimension_names": np.array(self.dimension_names, dtype=str),
            "metadata": np.array(json.dumps(metadata, sort_keys=True)),
        }

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)

        record = provenance_record(
            produced_by,
            parameters={
                **metadata,
                "n_training_pictures": len(self.object_names),
                "n_features": int(self.ridge.coef.shape[0]),
                "n_dimensions": int(self.ridge.coef.shape[1]),
                "feature_range_components": int(r.components.shape[0]),
                "feature_range_percentile": r.percentile,
                **dict(parameters or {}),
            },
        )
        return write_artefact(path, write, record)

    @classmethod
    def load(cls, path: str | os.PathLike, model: nn.Module | None = None) -> DimensionPredictor:
        """A predictor written by :meth:`save` (its provenance hash checked). A predictor
        saved with another input recipe than the network's current one is refused."""
        from dnnalign_utils import features, paths
        from dnnalign_utils.provenance import read_npz
        from dnnalign_utils.regression import FittedRidge

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no saved predictor{paths.artefact_hint(path)}")
        z = read_npz(path, "a dimension predictor")
        missing = [k for k in _PREDICTOR_ARRAYS if k not in z]
        if missing:
            raise ValueError(f"{path}: not a saved dimension predictor (missing {missing})")
        metadata = json.loads(str(z["metadata"]))
        network = metadata["network"]
        if network not in features.PICTURE_MODELS:
            raise ValueError(f"{path}: unknown network {network!r}")
        current = features.PICTURE_MODELS[network].recipe.as_dict()
        if current != metadata["recipe"]:
            raise ValueError(
                f"{path}: saved with the input recipe {metadata['recipe']}, but {network}'s "
                f"recipe is now {current}; refit and save the predictor again"
            )
        scalars = [float(v) for v in z["range_scalars"]]
        residual, distance_limit, negative_limit, percentile = scalars
        feature_range = FeatureRange(
            z["range_mean"],
            z["range_components"],
            z["range_variances"],
            residual,
            distance_limit,
            negative_limit,
            percentile,
        )
        ridge = FittedRidge(z["coef"], z["intercept"], z["x_mean"], z["alphas"], z["alpha_grid"])
        return cls(
            ridge,
            network,
            metadata["layer"],
            feature_range,
            z["object_names"].tolist(),
            z["dimension_names"].tolist(),
            model,
        )


# The columns of `picture_r2_table`, with what each means (for downloads).
PICTURE_R2_COLUMNS = {
    "embedding": "key of the picture embedding (effnet: chapter 2's embedding of the "
    "picture network's choices on the drawings)",
    "dimension": "the dimension, numbered from 1 in the embedding's order",
    "top pictures": "the three pictures with the largest weights on it (concept and emoji style)",
    "predictor": "the activations that predict it",
    "R² (%)": "out-of-fold ridge R² (nested cross-validation), in percent",
    "quality": "chapter 5's automatic label: visual, mixed, semantic or unclear",
}


def picture_r2_table(
    r2: pd.DataFrame, weights: np.ndarray, captions: list[str], network_label: str
) -> pd.DataFrame:
    """How well a picture network's activations predict each dimension of its picture
    embedding, as published: `r2` (one row per dimension with ``dimension``, ``R² (%)``
    and ``quality``) with each dimension's three top pictures (largest `weights`, ties
    by picture order; named by `captions`), in the columns of `PICTURE_R2_COLUMNS`."""
    weights = np.asarray(weights)
    if weights.ndim != 2 or weights.shape[1] != len(r2) or len(captions) != len(weights):
        raise ValueError(
            f"weights, captions: expected ({len(captions)} pictures, {len(r2)} dimensions) "
            f"weights and one caption per picture, got {weights.shape} and {len(captions)}"
        )
    top = np.argsort(-weights, axis=0, kind="stable")[:3].T
    return r2.assign(
        embedding="effnet",
        predictor=f"{network_label} activations",
        **{"top pictures": [", ".join(captions[i] for i in t) for t in top]},
    )[list(PICTURE_R2_COLUMNS)]
