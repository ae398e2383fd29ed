"""Nested-CV ridge: dnnalign_utils.regression against the reference per-dimension loop.

The reference (`linear_model.py`; the book's Methods page, section 'Nested cross-validated
ridge regression') runs, for each embedding dimension,
`GridSearchCV(Ridge(), alpha ∈ linspace(50, 1200, 200), cv=KFold(3, shuffle, 1),
scoring="r2", refit=True)` inside an outer `KFold(3, shuffle, 0)` and reports the mean
outer-fold R². It is timed on a few dimensions and extrapolated per dimension; ours runs
all dimensions at once with the same folds and grid, so the R² must agree. Also timed
for the record: himalaya's `solve_ridge_cv_svd` (same folds, R² scoring) and
scikit-learn's `RidgeCV(alpha_per_target=True)` (efficient LOO, a different criterion).
Then a wide log grid shows where the penalties fall when the grid does not cap them.

Data: X = the VGG-16 stand-in (1,854 concepts × 200, a rank-200 symmetric-NMF factor of
the VGG-16 linear kernel; see data/things/SOURCES.md), column-centred as the reference
does; Y = the 42-d VICE human embedding (or any .npy with --y).

    .venv/bin/python -u benchmarks/bench_ridge.py [--ref-dims 5] [--n-dims 42] [--threads 1]

Timings: ours runs --repeats times before and --repeats times after the reference (the
median of all), the reference's per-dimension time is the median over the timed
dimensions; the 1-minute load average is printed next to them.
"""

from __future__ import annotations

import os

# One thread from the start for every BLAS and OpenMP library, also those that load later
# (scikit-learn's and SciPy's own): threadpool_limits covers only the ones already loaded.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import sklearn.linear_model  # noqa: E402, F401  (loaded before the thread limit is set)
import sklearn.model_selection  # noqa: E402, F401
from threadpoolctl import threadpool_limits  # noqa: E402

from dnnalign_utils import paths  # noqa: E402

THINGS = paths.data_dir() / "things"  # the repository's data/ (DNNALIGN_DATA_DIR overrides)


def reference_nested_cv(X, y, grid, n_folds=3, outer_seed=0, inner_seed=1):
    """The reference loop for one dimension: returns (mean outer R², chosen alphas)."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, KFold

    scores, alphas = [], []
    outer = KFold(n_folds, shuffle=True, random_state=outer_seed)
    for train, test in outer.split(X):
        search = GridSearchCV(
            Ridge(),
            {"alpha": grid},
            cv=KFold(n_folds, shuffle=True, random_state=inner_seed),
            scoring="r2",
            refit=True,
        )
        search.fit(X[train], y[train])
        scores.append(search.score(X[test], y[test]))
        alphas.append(search.best_params_["alpha"])
    return float(np.mean(scores)), np.array(alphas)


def himalaya_nested_cv(X, Y, grid, n_folds=3, outer_seed=0, inner_seed=1):
    """The same nested CV with himalaya's multi-target solver (numpy backend)."""
    from himalaya.backend import set_backend
    from himalaya.ridge import solve_ridge_cv_svd
    from himalaya.scoring import r2_score as himalaya_r2
    from sklearn.model_selection import KFold

    set_backend("numpy")
    r2 = []
    for train, test in KFold(n_folds, shuffle=True, random_state=outer_seed).split(X):
        _, coef, _, intercept = solve_ridge_cv_svd(
            X[train],
            Y[train],
            alphas=grid,
            fit_intercept=True,
            score_func=himalaya_r2,
            cv=KFold(n_folds, shuffle=True, random_state=inner_seed),
            local_alpha=True,
            warn=False,
        )
        pred = X[test] @ np.asarray(coef) + np.asarray(intercept)
        r2.append(_r2(Y[test], pred))
    return np.mean(r2, axis=0)


def sklearn_loo_nested_cv(X, Y, grid, n_folds=3, outer_seed=0):
    """Outer folds as the reference, α per target by efficient LOO (RidgeCV)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold

    r2 = []
    for train, test in KFold(n_folds, shuffle=True, random_state=outer_seed).split(X):
        model = RidgeCV(alphas=grid, alpha_per_target=True).fit(X[train], Y[train])
        r2.append(_r2(Y[test], model.predict(X[test])))
    return np.mean(r2, axis=0)


def _r2(y, pred):
    return 1 - ((y - pred) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)


def _median_time(func, repeats):
    """Median wall time of `repeats` calls (the statistic used for every side)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--x", type=Path, default=THINGS / "dnn/vgg16_kernel_nmf_rank200.npy")
    parser.add_argument("--y", type=Path, default=THINGS / "human/vice_embedding_42d.npy")
    parser.add_argument("--n-dims", type=int, default=None, help="use the first N columns of Y")
    parser.add_argument("--ref-dims", type=int, default=5, help="dimensions timed for the ref")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats for ours")
    parser.add_argument("--wide-grid", type=int, default=81, help="points of logspace(-2, 6)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads, same for all")
    args = parser.parse_args()
    # One BLAS thread for every method by default: a fair single-core comparison, and
    # on a shared machine more threads than free cores slow BLAS down badly.
    with threadpool_limits(limits=args.threads):
        run(args)


def run(args: argparse.Namespace) -> None:
    from dnnalign_utils.regression import REFERENCE_ALPHA_GRID, nested_cv_ridge

    X = np.load(args.x).astype(np.float64)
    X = X - X.mean(axis=0)  # the reference column-centres its inputs first
    Y = np.load(args.y).astype(np.float64)
    if args.n_dims is not None:
        Y = Y[:, : args.n_dims]
    n_dims = Y.shape[1]
    grid = REFERENCE_ALPHA_GRID
    print(f"X {args.x.name} {X.shape}, Y {args.y.name} {Y.shape}; grid linspace(50, 1200, 200)")
    print(f"BLAS threads: {args.threads} (cores on this machine: {os.cpu_count()})")

    # --- ours: all dimensions, all alphas, one SVD per fold --------------------------
    ours_times, ours = [], None
    for _ in range(args.repeats):
        t, ours = _median_time(lambda: nested_cv_ridge(X, Y, grid, refit=False, progress=False), 1)
        ours_times.append(t)
    ours_time = float(np.median(ours_times))
    print(
        f"\nours (nested 3×3, {n_dims} dims): {ours_time:.3f} s "
        f"(median of {args.repeats}) = {ours_time / n_dims * 1e3:.1f} ms per dimension; {_load()}"
    )

    # --- reference: one GridSearchCV per dimension, on a spread of dimensions --------
    ref_dims = np.unique(np.linspace(0, n_dims - 1, min(args.ref_dims, n_dims)).astype(int))
    ref_r2, ref_alphas, ref_times = [], [], []
    for dim in ref_dims:
        start = time.perf_counter()
        r2, alphas = reference_nested_cv(X, Y[:, dim], grid)
        ref_times.append(time.perf_counter() - start)
        ref_r2.append(r2)
        ref_alphas.append(alphas)
        print(
            f"  reference dim {dim:2d}: R² {r2:.5f}  {ref_times[-1]:6.1f} s  "
            f"alphas {np.round(alphas, 1).tolist()}; {_load()}"
        )
    ref_r2, ref_alphas = np.array(ref_r2), np.array(ref_alphas)
    per_dim = float(np.median(ref_times))
    # ours again after the reference (the load drifts): the median of all our runs
    after = [_median_time(lambda: nested_cv_ridge(X, Y, grid, refit=False, progress=False), 1)[0]
             for _ in range(args.repeats)]  # fmt: skip
    ours_time = float(np.median([*ours_times, *after]))
    print(
        f"ours after the reference: {np.median(after):.3f} s (median of {args.repeats}); {_load()}"
    )
    delta = np.abs(ref_r2 - ours.r2[ref_dims])
    same_alpha = np.mean(ref_alphas == ours.alphas[:, ref_dims].T)
    print(
        f"reference per-dimension time: {per_dim:.1f} s (median over {len(ref_dims)} dims; "
        f"range {min(ref_times):.1f}-{max(ref_times):.1f} s)"
    )
    print(f"reference extrapolated to {n_dims} dims: {per_dim * n_dims:.0f} s")
    print(
        f"SPEED RATIO reference/ours: {per_dim * n_dims / ours_time:.0f}x "
        f"({per_dim:.1f} s vs {ours_time / n_dims * 1e3:.1f} ms per dimension); {_load()}"
    )
    print(
        f"max |ΔR²| over the {len(ref_dims)} compared dims: {delta.max():.2e} "
        f"(per dim: {', '.join(f'{d:.1e}' for d in delta)}); identical alphas: "
        f"{same_alpha:.0%}"
    )
    print(f"reference alphas at the grid's upper edge (1200): {np.mean(ref_alphas == 1200):.0%}")

    # --- other multi-target solvers, for the record ----------------------------------
    try:
        him_time, him_r2 = _median_time(lambda: himalaya_nested_cv(X, Y, grid), 1)
        print(
            f"\nhimalaya solve_ridge_cv_svd (same folds, r2): {him_time:.3f} s, "
            f"max |ΔR²| vs ours {np.abs(him_r2 - ours.r2).max():.1e}"
        )
    except ImportError as exc:
        print(f"\nhimalaya not available: {exc}")
    loo_time, loo_r2 = _median_time(lambda: sklearn_loo_nested_cv(X, Y, grid), 1)
    print(
        f"sklearn RidgeCV(alpha_per_target) LOO inner: {loo_time:.3f} s, "
        f"max |ΔR²| vs ours {np.abs(loo_r2 - ours.r2).max():.1e} (different criterion)"
    )

    # --- the same-grid edge problem, and a wide log grid ----------------------------
    print(
        f"\nours, same grid: alphas at upper edge {ours.edge_shares['upper']:.0%}, lower "
        f"{ours.edge_shares['lower']:.0%}; mean R² {ours.r2.mean():.4f} "
        f"(min {ours.r2.min():.4f}, max {ours.r2.max():.4f})"
    )
    wide = np.logspace(-2, 6, args.wide_grid)
    wide_time, wide_res = _median_time(
        lambda: nested_cv_ridge(X, Y, wide, refit=False, progress=False), 1
    )
    quart = np.percentile(wide_res.alphas, [0, 25, 50, 75, 100])
    gain = wide_res.r2 - ours.r2
    print(
        f"ours, wide grid logspace(-2, 6, {args.wide_grid}): {wide_time:.3f} s; alphas at "
        f"upper edge {wide_res.edge_shares['upper']:.0%}, lower "
        f"{wide_res.edge_shares['lower']:.0%}; chosen alpha min/q25/median/q75/max "
        f"{' / '.join(f'{q:.0f}' for q in quart)}"
    )
    print(
        f"  share of (fold, dim) alphas above 1200: {np.mean(wide_res.alphas > 1200):.0%}; "
        f"R² wide − same-grid: mean {gain.mean():+.4f}, min {gain.min():+.4f}, "
        f"max {gain.max():+.4f}; mean R² {wide_res.r2.mean():.4f}"
    )


if __name__ == "__main__":
    main()
