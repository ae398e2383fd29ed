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
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn


class CentredLinear(nn.Module):
    """``y = (x - x_mean) @ coef + intercept`` as a torch layer (float32 buffers)."""

    def __init__(self, coef: Any, intercept: Any, x_mean: Any):
        super().__init__()
        coef = np.array(coef, dtype=np.float64)
        intercept = np.array(intercept, dtype=np.float64)
        x_mean = np.array(x_mean, dtype=np.float64)
        if coef.ndim != 2:
            raise ValueError(f"coef: expected (n_features, n_targets), got {coef.shape}")
        if intercept.shape != (coef.shape[1],):
            raise ValueError(f"intercept: expected ({coef.shape[1]},), got {intercept.shape}")
        if x_mean.shape != (coef.shape[0],):
            raise ValueError(f"x_mean: expected ({coef.shape[0]},), got {x_mean.shape}")
        self.register_buffer("weight", torch.from_numpy(coef.T.copy()).float())
        self.register_buffer("x_mean", torch.from_numpy(x_mean).float())
        self.register_buffer("bias", torch.from_numpy(intercept).float())

    @classmethod
    def from_ridge(cls, ridge: Any) -> CentredLinear:
        return cls(ridge.coef, ridge.intercept, ridge.x_mean)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x - self.x_mean, self.weight, self.bias)


class EfficientNetLite0Predictor(nn.Module):
    """EfficientNet-Lite0 trunk -> head activation (1280 x 7 x 7) -> global average pool
    -> ridge. The pooled 1280-d vector is exactly the ``_avg_pooling`` output used as
    features by ``features.extract_features``.

    ``target_layer`` (the head activation, output 1280 x 7 x 7 after ReLU6) is the layer
    for Grad-CAM; ``target_conv`` is the 1x1 head convolution feeding it.
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
                f"ridge expects {self.ridge.x_mean.shape[0]} features; EfficientNet-Lite0's "
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
