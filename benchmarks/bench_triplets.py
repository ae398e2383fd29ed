"""Throughput of vectorised triplet sampling + odd-one-out choices vs per-triplet loops.

Two baselines, timed in the same run on the same features, with the same statistic (the
median of --repeats runs) as ours:

* ``reference_sampler``: a rewrite of the reference tripletizer (objdim's ``Sampler``):
  the float64 similarity matrix of all objects first, then unique triplets drawn one at a
  time (three distinct random objects, sorted, into a set until it holds enough), then
  one choice per triplet: the pair with the highest dot product stays (first maximum
  wins). Deliberate differences, each making the rewrite faster than the public code
  (so the ratio is conservative): the matrix is read as nested Python lists instead of
  numpy indexing, a choice is picked from a tuple instead of ``itertools`` pairs, a set
  difference and ``np.hstack``, and there is no progress print per triplet.
  ``bench_public_reference.py`` times the public sampler itself.
* ``loop_reference``: this repository's earlier loop: sorted ``random.sample`` triplets,
  a set of seen triplets, three numpy dot products per triplet.

The reference sampler is timed on the same --n-triplets as ours (its similarity matrix
included), alternating with ours repeat by repeat; our odd ones out are checked against
the reference's on all of its triplets. The earlier loop is timed only with --large.
Everything runs with one thread unless --threads says otherwise (BLAS, and our sampler's
own pool of chunk threads); the sides alternate repeat by repeat; the 1-minute load
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
    """objdim's tripletizer, rewritten: the float64 similarity matrix X X^T first; then
    unique triplets, one at a time: three distinct random objects (``random.sample``),
    sorted, added to a set until it holds ``n_triplets``; then, triplet by triplet, the
    pair with the highest similarity among (a, b), (a, c), (b, c), in that order (the
    first maximum wins), is the most similar pair and the third object the odd one out."""
    x = features.astype(np.float64)
    sim = (x @ x.T).tolist()  # Python floats: the fastest look-ups from a Python loop
    rnd = random.Random(seed)
    objects = range(x.shape[0])
    unique: set[tuple[int, int, int]] = set()
    while len(unique) < n_triplets:
        unique.add(tuple(sorted(rnd.sample(objects, 3))))
    out = []
    for a, b, c in unique:
        sims = (sim[a][b], sim[a][c], sim[b][c])
        best = sims.index(max(sims))
        out.append(((a, b, c), (a, c, b), (b, c, a))[best])
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
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="also 20M over 24,102 objects")
    parser.add_argument("--large-triplets", type=int, default=20_000_000)
    parser.add_argument("--large-objects", type=int, default=24_102)
    parser.add_argument("--large-features", type=int, default=4096)
    parser.add_argument("--large-loop-triplets", type=int, default=20_000)
    args = parser.parse_args()
    # our sampler runs chunks in a thread pool of one thread per CPU: held to --threads
    T._n_threads = lambda: args.threads
    with threadpool_limits(limits=args.threads):
        run(args)


def run(args: argparse.Namespace) -> None:
    print(
        f"cpus={os.cpu_count()}  OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}  "
        f"load average at start={os.getloadavg()[0]:.1f}  numpy {np.__version__}"
    )
    rows = []

    w = np.load(paths.data_dir() / "things" / "dnn" / "vgg16_kernel_nmf_rank200.npy")
    n = args.n_triplets
    # the sides alternate: reference, ours float64, ours float32, in every repeat
    times: dict[str, list] = {"ref": [], "sample": [], "f64": [], "f32": []}
    loads = []
    for rep in range(args.repeats):
        loads.append(os.getloadavg()[0])
        start = time.perf_counter()
        ref_rows = reference_sampler(w, n, seed=rep)
        times["ref"].append(time.perf_counter() - start)
        for key, dtype in (("f64", np.float64), ("f32", np.float32)):
            loads.append(os.getloadavg()[0])
            start = time.perf_counter()
            tri = T.sample_triplets(w.shape[0], n, seed=rep, progress=False)
            mid = time.perf_counter()
            choices = T.odd_one_out_choices(tri, w, dtype=dtype, progress=False)
            times[key].append(time.perf_counter() - start)
            times["sample"].append(mid - start)
            if key == "f64":
                reference = choices
            else:
                flips = int((choices != reference).any(axis=1).sum())
    med = {key: float(np.median(v)) for key, v in times.items()}
    span = f"load {min(loads):.1f}-{max(loads):.1f}"
    ref_rate = n / med["ref"]
    dup = len(ref_rows) - len(np.unique(np.sort(ref_rows, axis=1), axis=0))
    print(
        f"reference sampler, {n:,} unique triplets: {med['ref']:.2f} s = {ref_rate:,.0f} "
        f"triplets/s (median of {args.repeats}; duplicates in its output: {dup}); {span}"
    )
    # Correctness: the vectorised chooser makes the reference's choices on its triplets
    odd = T.odd_one_out_choices(np.sort(ref_rows, axis=1), w, progress=False)[:, 2]
    same = int((odd == ref_rows[:, 2]).sum())
    print(f"ours (float64) picks the reference's odd one out on {same:,} of its {n:,} triplets")
    assert same >= 0.9999 * n
    for label, key in (("float64 (default)", "f64"), ("float32", "f32")):
        rate = n / med[key]
        rows.append(
            (f"VGG 1,854×200 {label}", n, med["sample"], med[key] - med["sample"], rate,
             ref_rate)
        )  # fmt: skip
        print(
            f"ours {label}: {rate:,.0f} triplets/s, {rate / ref_rate:.0f}x the reference "
            f"sampler (median of {args.repeats}, interleaved); {span}"
        )
    print(f"float32 vs float64 on {n:,} triplets: {flips} choices differ")

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
