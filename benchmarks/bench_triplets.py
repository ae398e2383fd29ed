"""Throughput of vectorised triplet sampling + odd-one-out choices vs a per-triplet loop.

The loop is the reference's approach (paper_methods.md §1.3): draw three indices with
``random.sample``, sort, keep a set of seen triplets, and pick the most similar pair by
numpy dot products. It is timed on a smaller count in the same run, on the same features,
and its choices are checked against the vectorised ones on the loop's own triplets.

    .venv/bin/python benchmarks/bench_triplets.py            # 1M over 1,854 objects
    .venv/bin/python benchmarks/bench_triplets.py --large    # + 20M over 24,102 objects

Inputs: the 1,854 × 200 concept-level VGG-16 stand-in (data/things/dnn/
vgg16_kernel_nmf_rank200.npy, dot similarity, no ReLU needed); for ``--large`` seeded
random features of fc7's width, ReLU(N(0, 1)) as float32, 24,102 × 4,096 (395 MB; half
the entries are 0 like a ReLU layer's), similarity computed in float64 as by default.
"""

from __future__ import annotations

import argparse
import os
import random
import time

import numpy as np

from dnnalign_utils import paths
from dnnalign_utils import triplets as T


def loop_reference(features: np.ndarray, n_triplets: int, seed: int) -> np.ndarray:
    """Straightforward per-triplet Python loop (the baseline)."""
    rnd = random.Random(seed)
    n = features.shape[0]
    objects = range(n)
    seen: set[tuple[int, int, int]] = set()
    out = []
    while len(out) < n_triplets:
        a, b, c = sorted(rnd.sample(objects, 3))
        if (a, b, c) in seen:
            continue
        seen.add((a, b, c))
        sims = (features[a] @ features[b], features[a] @ features[c], features[b] @ features[c])
        best = int(np.argmax(sims))
        out.append(((a, b, c), (a, c, b), (b, c, a))[best])
    return np.array(out, dtype=np.int64)


def time_loop(features: np.ndarray, n_triplets: int, repeats: int = 2) -> tuple[float, np.ndarray]:
    """Best-of-``repeats`` loop time (the machine is shared: best-of for both sides)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        rows = loop_reference(features, n_triplets, seed=0)
        best = min(best, time.perf_counter() - start)
    return best, rows


def time_vectorised(
    features: np.ndarray, n_triplets: int, repeats: int, dtype=np.float64, progress=False
) -> tuple[float, float, np.ndarray]:
    """Best-of-``repeats`` sampling and choosing times (seconds), and the choices."""
    best_sample = best_choose = float("inf")
    choices = None
    for rep in range(repeats):
        start = time.perf_counter()
        tri = T.sample_triplets(features.shape[0], n_triplets, seed=rep, progress=progress)
        mid = time.perf_counter()
        choices = T.odd_one_out_choices(tri, features, dtype=dtype, progress=progress)
        end = time.perf_counter()
        best_sample = min(best_sample, mid - start)
        best_choose = min(best_choose, end - mid)
        del tri
    return best_sample, best_choose, choices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-triplets", type=int, default=1_000_000)
    parser.add_argument("--loop-triplets", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="also 20M over 24,102 objects")
    parser.add_argument("--large-triplets", type=int, default=20_000_000)
    parser.add_argument("--large-objects", type=int, default=24_102)
    parser.add_argument("--large-features", type=int, default=4096)
    parser.add_argument("--large-loop-triplets", type=int, default=20_000)
    args = parser.parse_args()

    print(
        f"cpus={os.cpu_count()}  OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}  "
        f"load average at start={os.getloadavg()[0]:.1f}  numpy {np.__version__}"
    )
    rows = []

    w = np.load(paths.data_dir() / "things" / "dnn" / "vgg16_kernel_nmf_rank200.npy")
    loop_s, loop_rows = time_loop(w, args.loop_triplets)
    # Correctness: the vectorised chooser reproduces the loop's choices on its triplets
    # (BLAS and np.dot may round differently, so only exact near-ties could differ).
    same = np.mean((T.odd_one_out_choices(loop_rows, w) == loop_rows).all(axis=1))
    print(f"vectorised float64 choices equal the loop's on {100 * same:.3f} % of its triplets")
    assert same > 0.9999
    loop_rate = args.loop_triplets / loop_s
    for label, dtype in (("float64 (default)", np.float64), ("float32", np.float32)):
        sample_s, choose_s, choices = time_vectorised(w, args.n_triplets, args.repeats, dtype)
        rate = args.n_triplets / (sample_s + choose_s)
        rows.append(
            (f"VGG 1,854×200 {label}", args.n_triplets, sample_s, choose_s, rate, loop_rate)
        )
        if dtype is np.float64:
            reference = choices
        else:
            flips = int((choices != reference).any(axis=1).sum())
            print(f"float32 vs float64 on {args.n_triplets:,} triplets: {flips} choices differ")

    if args.large:
        rng = np.random.default_rng(0)
        x = np.maximum(
            rng.standard_normal((args.large_objects, args.large_features), dtype=np.float32), 0
        )
        loop_s, loop_rows = time_loop(x, args.large_loop_triplets, repeats=1)
        loop_rate = args.large_loop_triplets / loop_s
        # The loop sums in float32; compare choices in float32 too (float64 may break near-
        # ties differently), and report agreement rather than assert it.
        same = np.mean(
            (T.odd_one_out_choices(loop_rows, x, dtype=np.float32) == loop_rows).all(axis=1)
        )
        print(f"large: vectorised float32 choices equal the loop's on {100 * same:.3f} %")
        sample_s, choose_s, _ = time_vectorised(x, args.large_triplets, 1, progress=True)
        rate = args.large_triplets / (sample_s + choose_s)
        label = f"random {args.large_objects:,}×{args.large_features:,} float64"
        rows.append((label, args.large_triplets, sample_s, choose_s, rate, loop_rate))

    header = (
        f"{'input':<34} {'triplets':>11} {'sample s':>9} {'choose s':>9} "
        f"{'triplets/s':>12} {'loop /s':>9} {'speed-up':>9}"
    )
    print()
    print(header)
    print("-" * len(header))
    for label, n, sample_s, choose_s, rate, loop_rate in rows:
        print(
            f"{label:<34} {n:>11,} {sample_s:>9.3f} {choose_s:>9.3f} "
            f"{rate:>12,.0f} {loop_rate:>9,.0f} {rate / loop_rate:>8,.0f}×"
        )
    print(f"load average at end={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
