"""The ridge as a torch layer: the differentiable head that Grad-CAM and the dimension
predictor share.

It lives below both `predictor` (which puts it on top of a network) and `gradcam` (which
re-initialises it in the cascading randomisation check), so neither imports the other
for it.
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
