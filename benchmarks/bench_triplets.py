"""Throughput of vectorised triplet sampling + odd-one-out choices vs per-triplet loops.

Two baselines, timed in the same run on the same features, with the same statistic (the
median of --repeats runs) as ours:

* ``reference_sampler``: a rewrite of the reference tripletizer: the float64 similarity
  matrix of all objects first, then one triplet at a time: three distinct random objects
  (``random.sample``), the odd one out is the object whose two similarities to the
  others sum lowest, i.e. the pair with the highest dot product stays. Plain Python
  look-ups into the matrix: the fastest form of that loop, so the ratio is conservative.
* ``loop_reference``: this repository's earlier loop: sorted ``random.sample`` triplets,
  a set of seen triplets, three numpy dot products per triplet.

The reference sampler is timed on the same --n-triplets as ours (its similarity matrix
included), the earlier loop on --loop-triplets; the vectorised odd ones out are checked
against both loops' on the loops' own triplets.
Everything runs with one BLAS thread unless --threads says otherwise; the 1-minute load
average is printed next to every figure.

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
from threadpoolctl import threadpool_limits

from dnnalign_utils import paths
from dnnalign_utils import triplets as T


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def reference_sampler(features: np.ndarray, n_triplets: int, seed: int) -> np.ndarray:
    """The reference tripletizer, rewritten: similarity matrix, then a per-triplet loop."""
    x = features.astype(np.float64)
    sim = (x @ x.T).tolist()  # Python floats: the fastest look-ups from a Python loop
    rnd = random.Random(seed)
    objects = range(x.shape[0])
    out = []
    for _ in range(n_triplets):
        i, j, k = rnd.sample(objects, 3)
        s_ij, s_ik, s_jk = sim[i][j], sim[i][k], sim[j][k]
        # each object's two similarities; the lowest sum is the odd one out
        sums = (s_ij + s_ik, s_ij + s_jk, s_ik + s_jk)
        odd = sums.index(min(sums))
        out.append(((j, k, i), (i, k, j), (i, j, k))[odd])
    return np.array(out, dtype=np.int64)


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


def time_loop(
    features: np.ndarray, n_triplets: int, repeats: int = 3, loop=loop_reference
) -> tuple[float, np.ndarray]:
    """Median loop time over ``repeats`` runs (the same statistic as for ours)."""
    times = []
    for rep in range(repeats):
        start = time.perf_counter()
        rows = loop(features, n_triplets, seed=rep)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), rows


def time_vectorised(
    features: np.ndarray, n_triplets: int, repeats: int, dtype=np.float64, progress=False
) -> tuple[float, float, np.ndarray]:
    """Median sampling and choosing times (seconds) over ``repeats`` runs, and the choices
    (the medians of the two parts; their sum is within a few % of the median total)."""
    sample_times, choose_times = [], []
    choices = None
    for rep in range(repeats):
        start = time.perf_counter()
        tri = T.sample_triplets(features.shape[0], n_triplets, seed=rep, progress=progress)
        mid = time.perf_counter()
        choices = T.odd_one_out_choices(tri, features, dtype=dtype, progress=progress)
        end = time.perf_counter()
        sample_times.append(mid - start)
        choose_times.append(end - mid)
        del tri
    return float(np.median(sample_times)), float(np.median(choose_times)), choices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-triplets", type=int, default=1_000_000)
    parser.add_argument("--loop-triplets", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="also 20M over 24,102 objects")
    parser.add_argument("--large-triplets", type=int, default=20_000_000)
    parser.add_argument("--large-objects", type=int, default=24_102)
    parser.add_argument("--large-features", type=int, default=4096)
    parser.add_argument("--large-loop-triplets", type=int, default=20_000)
    args = parser.parse_args()
    with threadpool_limits(limits=args.threads):
        run(args)


def run(args: argparse.Namespace) -> None:
    print(
        f"cpus={os.cpu_count()}  OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}  "
        f"load average at start={os.getloadavg()[0]:.1f}  numpy {np.__version__}"
    )
    rows = []

    w = np.load(paths.data_dir() / "things" / "dnn" / "vgg16_kernel_nmf_rank200.npy")
    ref_s, ref_rows = time_loop(w, args.n_triplets, args.repeats, loop=reference_sampler)
    ref_rate = args.n_triplets / ref_s
    print(
        f"reference sampler, {args.n_triplets:,} triplets: {ref_s:.2f} s = {ref_rate:,.0f} "
        f"triplets/s (median of {args.repeats}); {_load()}"
    )
    loop_s, loop_rows = time_loop(w, args.loop_triplets, args.repeats)
    loop_rate = args.loop_triplets / loop_s
    print(f"earlier loop: {loop_rate:,.0f} triplets/s (median of {args.repeats}); {_load()}")
    # Correctness: the vectorised chooser reproduces the loops' choices on their triplets
    # (BLAS and np.dot may round differently, so only exact near-ties could differ).
    for name, rows_ in (("reference sampler", ref_rows), ("earlier loop", loop_rows)):
        odd = T.odd_one_out_choices(rows_, w, progress=False)[:, 2]
        same = np.mean(odd == rows_[:, 2])
        print(f"vectorised float64 odd ones equal the {name}'s on {100 * same:.3f} % of its rows")
        assert same > 0.9999
    for label, dtype in (("float64 (default)", np.float64), ("float32", np.float32)):
        sample_s, choose_s, choices = time_vectorised(w, args.n_triplets, args.repeats, dtype)
        rate = args.n_triplets / (sample_s + choose_s)
        rows.append(
            (f"VGG 1,854×200 {label}", args.n_triplets, sample_s, choose_s, rate, ref_rate)
        )
        print(
            f"ours {label}: {rate:,.0f} triplets/s, {rate / ref_rate:.0f}x the reference "
            f"sampler, {rate / loop_rate:.0f}x the earlier loop; {_load()}"
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
        label = f"random {args.large_objects:,}×{args.large_features:,} f64 (vs loop)"
        rows.append((label, args.large_triplets, sample_s, choose_s, rate, loop_rate))

    header = (
        f"{'input':<34} {'triplets':>11} {'sample s':>9} {'choose s':>9} "
        f"{'triplets/s':>12} {'ref /s':>9} {'speed-up':>9}"
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
