"""Multi-target ridge regression with per-target penalties and nested cross-validation.

Used to ask how linearly decodable each embedding dimension is from a network's
penultimate activations (the paper's Methods: ridge from VGG-16 fc7 to the 70 DNN dimensions;
the book's Methods page, section 'Nested cross-validated ridge regression').

The reference code ran one scikit-learn `GridSearchCV(Ridge())` per dimension, which is
about 1,800 `Ridge` fits per dimension. Here every fit shares one thin SVD of the
centred training inputs: with `Xc = U S Vᵀ` the ridge coefficients for penalty α are
`V diag(s / (s² + α)) Uᵀ Yc`, so all targets and all α of a grid cost one SVD plus
matrix products. The selection rule is the reference's exactly: for each target the α
with the largest *mean over validation folds of the fold's R²* (first one on ties), with
the inputs and targets centred on each training fold (scikit-learn's `fit_intercept`).

Public API
- `FittedRidge`: the fitted model (coef, intercept, x_mean, alphas, alpha_grid),
  `predict`, `save`/`load` (npz + provenance sidecar).
- `fit_ridge(X, Y, alpha)`: ridge at fixed penalties (one or one per target).
- `cv_r2_scores(X, Y, alpha_grid, ...)`: mean validation R² per α and target.
- `fit_ridge_cv(X, Y, alpha_grid, ...)`: α per target by k-fold CV, refit on all rows.
- `nested_cv_ridge(X, Y, alpha_grid, ...)`: out-of-fold R² with α chosen on the outer
  training part only; optionally the final model refitted on all data.
- `alpha_edge_shares(alphas, alpha_grid)`: share of chosen α at the grid's edges.
- `network_r2_numbers(r2)`: a network's key numbers (median and smallest R², %).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from dnnalign_utils import paths
from dnnalign_utils.conventions import as_float_matrix
from dnnalign_utils.provenance import (
    array_sha256,
    provenance_record,
    read_npz,
    write_artefact,
)

# The grid of the reference code (`linear_model.py`): the paper's VGG-16 run chose its
# upper edge for every dimension, so the default here is a wide log grid instead.
REFERENCE_ALPHA_GRID = np.linspace(50.0, 1200.0, 200)
DEFAULT_ALPHA_GRID = np.logspace(-2.0, 6.0, 33)

# Upper bound on the elements of one (alphas × validation rows × targets) prediction
# block, to keep memory flat for large inputs.
_BLOCK_ELEMENTS = 1 << 24

_NPZ_KEYS = ("coef", "intercept", "x_mean", "alphas", "alpha_grid")


# --------------------------------------------------------------------------- checks


def _check_xy(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = as_float_matrix(X, "X", what="(samples × features)")
    Y = as_float_matrix(Y, "Y", allow_1d=True, what="(samples × targets)")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows but Y has {Y.shape[0]}; expected one row of Y per "
            "row of X (same samples, same order)"
        )
    return X, Y


def check_alpha_grid(alpha_grid: Any) -> np.ndarray:
    """The grid as a 1-D float64 array; ValueError if empty, non-finite, ≤ 0 or repeated.

    The order is kept: on tied CV scores the first α in the grid wins, as in
    scikit-learn's `GridSearchCV`.
    """
    grid = np.atleast_1d(np.asarray(alpha_grid, dtype=np.float64))
    if grid.ndim != 1:
        raise ValueError(f"alpha_grid: expected a 1-D sequence, got shape {grid.shape}")
    if grid.size == 0:
        raise ValueError("alpha_grid: empty; expected at least one positive penalty")
    bad = ~np.isfinite(grid) | (grid <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"alpha_grid: entry {i} is {float(grid[i])}; every penalty must be finite and > 0"
        )
    if np.unique(grid).size != grid.size:
        raise ValueError("alpha_grid: contains repeated values; expected distinct penalties")
    return grid


def _check_n_splits(name: str, n_splits: int) -> int:
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)):
        raise ValueError(f"{name}: expected an integer ≥ 2, got {n_splits!r}")
    if n_splits < 2:
        raise ValueError(f"{name}: expected an integer ≥ 2, got {n_splits}")
    return int(n_splits)


def _smallest_folds(n_samples: int, n_splits: int) -> tuple[int, int]:
    """(smallest training part, smallest test part) of a KFold over n_samples."""
    return n_samples - -(-n_samples // n_splits), n_samples // n_splits


def _check_cv_size(n_samples: int, n_splits: int, where: str) -> None:
    train, test = _smallest_folds(n_samples, n_splits)
    if test < 2 or train < 2:
        raise ValueError(
            f"{where}: {n_samples} samples are too few for {n_splits} folds (smallest "
            f"training part {train}, smallest validation part {test}); R² needs at least "
            "2 samples in every part"
        )


# ------------------------------------------------------------------------ the model


@dataclass(frozen=True)
class FittedRidge:
    """A fitted multi-target ridge: `predict(X) = (X − x_mean) @ coef + intercept`.

    coef: (n_features, n_targets); intercept: (n_targets,) = the training targets'
    means; x_mean: (n_features,) the training inputs' column means (the centring is part
    of the model); alphas: (n_targets,) the penalty of each target; alpha_grid: the grid
    the penalties were chosen from (just the distinct `alphas` for a fixed-α fit).
    Arrays are float64 and read-only.
    """

    coef: np.ndarray
    intercept: np.ndarray
    x_mean: np.ndarray
    alphas: np.ndarray
    alpha_grid: np.ndarray

    def __post_init__(self) -> None:
        for name in _NPZ_KEYS:
            value = np.array(getattr(self, name), dtype=np.float64)  # a private copy
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        if self.coef.ndim != 2:
            raise ValueError(f"coef: expected (n_features, n_targets), got {self.coef.shape}")
        n_features, n_targets = self.coef.shape
        expected = {
            "intercept": (n_targets,),
            "x_mean": (n_features,),
            "alphas": (n_targets,),
        }
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"{name}: expected shape {shape} to match coef {self.coef.shape}, "
                    f"got {getattr(self, name).shape}"
                )
        check_alpha_grid(self.alpha_grid)
        for name in _NPZ_KEYS:
            if not np.isfinite(getattr(self, name)).all():
                raise ValueError(f"{name}: contains non-finite values")

    @property
    def n_features(self) -> int:
        return self.coef.shape[0]

    @property
    def n_targets(self) -> int:
        return self.coef.shape[1]

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets (n_samples, n_targets) for inputs X (n_samples, n_features)."""
        X = as_float_matrix(X, "X", what="(samples × features)")
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"X has {X.shape[1]} columns; this model expects {self.n_features} features"
            )
        return (X - self.x_mean) @ self.coef + self.intercept

    def save(
        self,
        path: str | os.PathLike,
        *,
        produced_by: str = "dnnalign_utils.regression.FittedRidge.save",
        parameters: Mapping[str, Any] | None = None,
        inputs: Mapping[str, str | os.PathLike] | None = None,
        input_hashes: Mapping[str, str] | None = None,
    ) -> Path:
        """Write the model to `path` (.npz, atomically) and a provenance sidecar beside it.

        `parameters`, `inputs` (role → file, hashed) and `input_hashes` go into the
        sidecar with the model's shape and penalties.
        """
        path = Path(path)

        def _write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:  # a handle: np.savez would append ".npz"
                np.savez(handle, **{name: getattr(self, name) for name in _NPZ_KEYS})

        params = {
            "n_features": self.n_features,
            "n_targets": self.n_targets,
            "alphas": self.alphas,
            "alpha_grid": self.alpha_grid,
        }
        params.update(dict(parameters or {}))
        record = provenance_record(produced_by, params, inputs, input_hashes)
        return write_artefact(path, _write, record)

    @classmethod
    def load(cls, path: str | os.PathLike) -> FittedRidge:
        """Read a model written by `save`; ValueError naming the file if it is malformed."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: model file not found{paths.artefact_hint(path)}")
        arrays = read_npz(path, "a FittedRidge", _NPZ_KEYS)
        missing = [name for name in _NPZ_KEYS if name not in arrays]
        if missing:
            raise ValueError(
                f"{path}: not a FittedRidge file; missing arrays {missing} "
                f"(expected {list(_NPZ_KEYS)})"
            )
        try:
            return cls(**arrays)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc


# ------------------------------------------------------------------------ the solver


@dataclass(frozen=True)
class _CentredSVD:
    """Thin SVD of centred training inputs, with the projected centred targets."""

    x_mean: np.ndarray  # (p,)
    y_mean: np.ndarray  # (t,)
    singular: np.ndarray  # (r,)
    right: np.ndarray  # Vᵀ, (r, p)
    uty: np.ndarray  # Uᵀ (Y − ȳ), (r, t)

    @classmethod
    def fit(cls, X: np.ndarray, Y: np.ndarray) -> _CentredSVD:
        x_mean = X.mean(axis=0)
        y_mean = Y.mean(axis=0)
        left, singular, right = np.linalg.svd(X - x_mean, full_matrices=False)
        return cls(x_mean, y_mean, singular, right, left.T @ (Y - y_mean))

    def shrinkage(self, alphas: np.ndarray) -> np.ndarray:
        """s / (s² + α), shape (len(alphas), r)."""
        s = self.singular
        return s / (s**2 + alphas[:, None])

    def coef(self, alphas_per_target: np.ndarray) -> np.ndarray:
        """Coefficients (p, t), target j penalised by alphas_per_target[j]."""
        return self.right.T @ (self.shrinkage(alphas_per_target).T * self.uty)


def _r2_from_sse(sse: np.ndarray, sst: np.ndarray) -> np.ndarray:
    """1 − SSE/SST, with scikit-learn's convention for a constant target (SST = 0)."""
    sse, sst = np.broadcast_arrays(sse, sst)
    out = np.where(sse == 0, 1.0, 0.0)
    nonzero = sst != 0
    np.divide(sse, sst, out=out, where=nonzero)
    return np.where(nonzero, 1.0 - out, out)


def r2_per_target(Y_true: np.ndarray, Y_pred: np.ndarray) -> np.ndarray:
    """R² of each column (scikit-learn's `r2_score(..., multioutput="raw_values")`)."""
    Y_true = np.asarray(Y_true, dtype=np.float64)
    Y_pred = np.asarray(Y_pred, dtype=np.float64)
    sse = ((Y_true - Y_pred) ** 2).sum(axis=0)
    sst = ((Y_true - Y_true.mean(axis=0)) ** 2).sum(axis=0)
    return _r2_from_sse(sse, sst)


def _validation_r2(
    svd: _CentredSVD, X_val: np.ndarray, Y_val: np.ndarray, grid: np.ndarray
) -> np.ndarray:
    """R² on a validation part for every α of the grid and every target: (n_alphas, t)."""
    projected = (X_val - svd.x_mean) @ svd.right.T  # (n_val, r)
    residual0 = Y_val - svd.y_mean  # (n_val, t)
    sst = ((Y_val - Y_val.mean(axis=0)) ** 2).sum(axis=0)
    n_val, n_targets = Y_val.shape
    block = max(1, _BLOCK_ELEMENTS // (n_val * n_targets))
    sse = np.empty((grid.size, n_targets))
    for start in range(0, grid.size, block):
        alphas = grid[start : start + block]
        weights = svd.shrinkage(alphas)[:, :, None] * svd.uty  # (a, r, t)
        residual = residual0 - projected @ weights  # (a, n_val, t)
        sse[start : start + block] = np.einsum("ant,ant->at", residual, residual)
    return _r2_from_sse(sse, sst)


def _kfold(n_splits: int, seed: int | None, shuffle: bool) -> KFold:
    return KFold(n_splits=n_splits, shuffle=shuffle, random_state=seed if shuffle else None)


def _cv_scores(
    X: np.ndarray, Y: np.ndarray, grid: np.ndarray, n_splits: int, seed: int | None, shuffle
) -> np.ndarray:
    scores = np.zeros((grid.size, Y.shape[1]))
    for train, val in _kfold(n_splits, seed, shuffle).split(X):
        svd = _CentredSVD.fit(X[train], Y[train])
        scores += _validation_r2(svd, X[val], Y[val], grid)
    return scores / n_splits


def _select(scores: np.ndarray) -> np.ndarray:
    """Index of the best α per target; the first on ties (as GridSearchCV)."""
    return np.argmax(scores, axis=0)


# ------------------------------------------------------------------------ public fits


def fit_ridge(X: Any, Y: Any, alpha: float | Sequence[float] | np.ndarray) -> FittedRidge:
    """Ridge at fixed penalties: one α for all targets or one per target.

    Inputs and targets are centred (scikit-learn's `Ridge(fit_intercept=True)`), no
    scaling. A 1-D Y is one target.
    """
    X, Y = _check_xy(X, Y)
    alphas = np.asarray(alpha, dtype=np.float64)
    if alphas.ndim == 0:
        alphas = np.full(Y.shape[1], float(alphas))
    if alphas.shape != (Y.shape[1],):
        raise ValueError(
            f"alpha: expected a number or one per target ({Y.shape[1]}), got shape {alphas.shape}"
        )
    grid = check_alpha_grid(np.unique(alphas))
    svd = _CentredSVD.fit(X, Y)
    return FittedRidge(svd.coef(alphas), svd.y_mean, svd.x_mean, alphas, grid)


def cv_r2_scores(
    X: Any,
    Y: Any,
    alpha_grid: Any = DEFAULT_ALPHA_GRID,
    *,
    n_splits: int = 3,
    seed: int | None = 1,
    shuffle: bool = True,
) -> np.ndarray:
    """Mean over `KFold(n_splits, shuffle, seed)` validation folds of each fold's R².

    Returns (n_alphas, n_targets); the criterion `GridSearchCV(scoring="r2")` maximises.
    """
    X, Y = _check_xy(X, Y)
    grid = check_alpha_grid(alpha_grid)
    n_splits = _check_n_splits("n_splits", n_splits)
    _check_cv_size(X.shape[0], n_splits, "cv_r2_scores")
    return _cv_scores(X, Y, grid, n_splits, seed, shuffle)


def fit_ridge_cv(
    X: Any,
    Y: Any,
    alpha_grid: Any = DEFAULT_ALPHA_GRID,
    *,
    n_splits: int = 3,
    seed: int | None = 1,
    shuffle: bool = True,
) -> FittedRidge:
    """α per target by k-fold CV (mean fold R²), then one refit on all rows."""
    X, Y = _check_xy(X, Y)
    grid = check_alpha_grid(alpha_grid)
    n_splits = _check_n_splits("n_splits", n_splits)
    _check_cv_size(X.shape[0], n_splits, "fit_ridge_cv")
    alphas = grid[_select(_cv_scores(X, Y, grid, n_splits, seed, shuffle))]
    svd = _CentredSVD.fit(X, Y)
    return FittedRidge(svd.coef(alphas), svd.y_mean, svd.x_mean, alphas, grid)


def alpha_edge_shares(alphas: Any, alpha_grid: Any) -> dict[str, float]:
    """Share of chosen penalties at the grid's smallest and largest value.

    A large share at an edge means the optimum may lie outside the grid: widen it.
    """
    grid = check_alpha_grid(alpha_grid)
    alphas = np.asarray(alphas, dtype=np.float64)
    if alphas.size == 0:
        raise ValueError("alphas: empty; expected the chosen penalties")
    return {
        "lower": float(np.mean(alphas == grid.min())),
        "upper": float(np.mean(alphas == grid.max())),
    }


@dataclass(frozen=True)
class NestedCVResult:
    """Out-of-fold ridge performance with α chosen on the outer training part only.

    r2_folds: (n_outer, t) R² on each outer test fold; r2: their mean over folds (the
    paper's number); r2_pooled: R² of all out-of-fold predictions at once;
    predictions: (n_samples, t) out-of-fold predictions; test_fold: (n_samples,) the
    outer fold each row was tested in; alphas / alpha_index: (n_outer, t) the chosen
    penalties; inner_r2: (n_outer, n_alphas, t) the inner mean CV R² curves;
    final_model: refitted on all rows with α chosen by CV on all rows (or None).
    """

    r2_folds: np.ndarray
    r2: np.ndarray
    r2_pooled: np.ndarray
    predictions: np.ndarray
    test_fold: np.ndarray
    alphas: np.ndarray
    alpha_index: np.ndarray
    alpha_grid: np.ndarray
    inner_r2: np.ndarray
    parameters: dict[str, Any] = field(default_factory=dict)
    final_model: FittedRidge | None = None

    @property
    def edge_shares(self) -> dict[str, float]:
        """Share of (outer fold, target) choices at the lower / upper edge of the grid."""
        return alpha_edge_shares(self.alphas, self.alpha_grid)


def nested_cv_ridge(
    X: Any,
    Y: Any,
    alpha_grid: Any = DEFAULT_ALPHA_GRID,
    *,
    n_outer: int = 3,
    n_inner: int = 3,
    outer_seed: int | None = 0,
    inner_seed: int | None = 1,
    shuffle: bool = True,
    refit: bool = True,
    progress: bool = True,
    num_threads: int | None = 1,
) -> NestedCVResult:
    """Nested k-fold CV of a per-target-α ridge from X to each column of Y.

    Outer `KFold(n_outer, shuffle, outer_seed)`; on each outer training part an inner
    `KFold(n_inner, shuffle, inner_seed)` picks α per target (mean fold R²), the model
    is refitted on that outer training part and scored on the outer test fold. Nothing
    is selected on test folds. With the defaults and `REFERENCE_ALPHA_GRID` the folds and
    the selection equal the reference code's per-dimension `GridSearchCV` loop.
    `refit=True` adds `final_model` (α by inner-style CV on all rows, refit on all rows).

    BLAS runs with `num_threads` threads (None: the library default). One thread is the
    default because these matrices are small: on a 2-core machine shared with another
    process, two BLAS threads were measured 4-20x slower than one (bench_ridge.py).
    """
    with threadpool_limits(limits=num_threads):
        return _nested_cv_ridge_body(
            X, Y, alpha_grid, n_outer, n_inner, outer_seed, inner_seed, shuffle, refit, progress
        )


def _nested_cv_ridge_body(
    X, Y, alpha_grid, n_outer, n_inner, outer_seed, inner_seed, shuffle, refit, progress
) -> NestedCVResult:
    X, Y = _check_xy(X, Y)
    grid = check_alpha_grid(alpha_grid)
    n_outer = _check_n_splits("n_outer", n_outer)
    n_inner = _check_n_splits("n_inner", n_inner)
    n_samples, n_targets = Y.shape
    _check_cv_size(n_samples, n_outer, "nested_cv_ridge (outer folds)")
    _check_cv_size(_smallest_folds(n_samples, n_outer)[0], n_inner, "nested_cv_ridge (inner)")

    r2_folds = np.empty((n_outer, n_targets))
    alpha_index = np.empty((n_outer, n_targets), dtype=np.int64)
    inner_r2 = np.empty((n_outer, grid.size, n_targets))
    predictions = np.empty_like(Y)
    test_fold = np.empty(n_samples, dtype=np.int64)
    splits = _kfold(n_outer, outer_seed, shuffle).split(X)
    for fold, (train, test) in enumerate(
        tqdm(splits, total=n_outer, desc="outer folds", disable=not progress)
    ):
        inner_r2[fold] = _cv_scores(X[train], Y[train], grid, n_inner, inner_seed, shuffle)
        alpha_index[fold] = _select(inner_r2[fold])
        svd = _CentredSVD.fit(X[train], Y[train])
        coef = svd.coef(grid[alpha_index[fold]])
        predictions[test] = (X[test] - svd.x_mean) @ coef + svd.y_mean
        r2_folds[fold] = r2_per_target(Y[test], predictions[test])
        test_fold[test] = fold

    final_model = None
    if refit:
        final_model = fit_ridge_cv(X, Y, grid, n_splits=n_inner, seed=inner_seed, shuffle=shuffle)
    r2_pooled = r2_per_target(Y, predictions)
    # R² is undefined for a constant target (0/0): scikit-learn's convention would report
    # a perfect 1.0 for a constant prediction. Report NaN and say so.
    constant = np.flatnonzero((Y == Y[0]).all(axis=0))
    if constant.size:
        warnings.warn(
            f"Y: target column(s) {constant.tolist()} are constant; their R² is undefined "
            "and reported as NaN",
            RuntimeWarning,
            stacklevel=3,
        )
        r2_folds[:, constant] = np.nan
        r2_pooled[constant] = np.nan
    parameters = {
        "n_outer": n_outer,
        "n_inner": n_inner,
        "outer_seed": outer_seed,
        "inner_seed": inner_seed,
        "shuffle": shuffle,
        "X_sha256": array_sha256(X),
        "Y_sha256": array_sha256(Y),
    }
    return NestedCVResult(
        r2_folds=r2_folds,
        r2=r2_folds.mean(axis=0),
        r2_pooled=r2_pooled,
        predictions=predictions,
        test_fold=test_fold,
        alphas=grid[alpha_index],
        alpha_index=alpha_index,
        alpha_grid=grid,
        inner_r2=inner_r2,
        parameters=parameters,
        final_model=final_model,
    )


def nested_cv_scores(
    X: Any,
    Y: Any,
    alpha_grid: Any = DEFAULT_ALPHA_GRID,
    *,
    n_outer: int = 3,
    n_inner: int = 3,
    seed: int = 0,
) -> NestedCVResult:
    """:func:`nested_cv_ridge` scores only (no refit, no progress bar), outer folds seeded
    with ``seed`` and inner folds with ``seed + 1`` (the reference's 0 and 1)."""
    return nested_cv_ridge(
        X,
        Y,
        alpha_grid,
        n_outer=n_outer,
        n_inner=n_inner,
        outer_seed=seed,
        inner_seed=seed + 1,
        refit=False,
        progress=False,
    )


def r2_table(
    predictors: Mapping[str, Any],
    targets: Mapping[str, Any],
    alpha_grid: Any = DEFAULT_ALPHA_GRID,
    *,
    n_outer: int = 3,
    n_inner: int = 3,
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Nested-CV R² of every predictor matrix for every target embedding, tidy.

    One row per (predictor, target, dimension) with the mean outer-fold R², the median
    chosen α and whether any fold's α sat on an edge of the grid. Outer folds use
    ``seed`` and inner folds ``seed + 1`` (the reference's 0 and 1 by default).
    """
    rows = []
    pairs = [(p, t) for p in predictors for t in targets]
    for predictor, target in tqdm(pairs, desc="nested CV", disable=not progress):
        result = nested_cv_scores(
            predictors[predictor],
            targets[target],
            alpha_grid,
            n_outer=n_outer,
            n_inner=n_inner,
            seed=seed,
        )
        grid = result.alpha_grid
        on_edge = (result.alphas == grid[0]) | (result.alphas == grid[-1])
        for dim in range(result.r2.size):
            rows.append(
                {
                    "predictor": predictor,
                    "target": target,
                    "dimension": dim,
                    "r2": float(result.r2[dim]),
                    "alpha": float(np.median(result.alphas[:, dim])),
                    "alpha_on_edge": bool(on_edge[:, dim].any()),
                }
            )
    return pd.DataFrame(rows)


def network_r2_numbers(r2_per_dimension: Any) -> dict[str, float]:
    """Chapter 3's key numbers of a network: the median and the smallest out-of-fold R²
    over its embedding's dimensions (``NestedCVResult.r2`` of the network's features to
    its embedding), in percent. Dimensions whose R² is undefined (NaN: a constant
    dimension) are left out; with none defined both numbers are NaN."""
    r2 = np.asarray(r2_per_dimension, dtype=np.float64)
    if r2.ndim != 1 or r2.size == 0:
        raise ValueError(
            f"r2_per_dimension: expected a non-empty 1-D array (one R² per dimension), "
            f"got shape {r2.shape}"
        )
    if np.isinf(r2).any() or (r2 > 1.0).any():
        raise ValueError(
            "r2_per_dimension: expected R² values (at most 1, or NaN where undefined), "
            f"got {r2[np.isinf(r2) | (r2 > 1.0)][:3].tolist()}"
        )
    defined = r2[~np.isnan(r2)]
    if defined.size == 0:
        return {"r2_median": float("nan"), "r2_min": float("nan")}
    return {"r2_median": 100 * float(np.median(defined)), "r2_min": 100 * float(defined.min())}
