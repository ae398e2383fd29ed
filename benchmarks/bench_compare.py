"""Jackknife relevance: closed form against re-evaluating the softmax per left-out dimension.

The reference (`run_jackknife.py`; see the book's Methods page, section
'The jackknife of single dimensions') removes one dimension at a time
and evaluates the choice probabilities again, D full passes per triplet set (plus fresh
posterior noise, which we do not copy). `compare.leave_one_out_relevance` gets every
leave-one-out probability from the per-dimension pair products in one pass. Both run here
on the same triplets and embedding; the results must agree to float64 rounding.

Data: the published VICE-42 human embedding (data/things/human), random triplets over the
1,854 concepts, the observed choice = the last column.

    .venv/bin/python -u benchmarks/bench_compare.py [--n-triplets 200000] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from dnnalign_utils import compare, data, triplets
from dnnalign_utils.embedding import choice_probabilities


def per_dimension(weights: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The obvious jackknife: delete column d, recompute P(last column), for every d."""
    p = choice_probabilities(weights, t)[:, 2]
    out = np.empty((len(t), weights.shape[1]))
    for d in range(weights.shape[1]):
        out[:, d] = choice_probabilities(np.delete(weights, d, axis=1), t)[:, 2] - p
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-triplets", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    weights = data.load_human_embedding("vice42").astype(np.float64)
    t = triplets.sample_triplets(data.N_OBJECTS, args.n_triplets, seed=args.seed)
    load = os.getloadavg()[0]

    start = time.perf_counter()
    _, closed = compare.leave_one_out_relevance(weights, t)
    closed_s = time.perf_counter() - start

    start = time.perf_counter()
    slow = per_dimension(weights, t)
    slow_s = time.perf_counter() - start

    n_dims = weights.shape[1]
    print(
        f"[jackknife] {args.n_triplets:,} triplets x {n_dims} dims, {args.threads} thread(s), "
        f"load {load:.1f}"
    )
    print(
        f"[jackknife] closed form: {closed_s:.2f} s ({args.n_triplets / closed_s:,.0f} "
        f"triplets/s, all {n_dims} dims)"
    )
    print(
        f"[jackknife] per-dimension re-evaluation: {slow_s:.2f} s "
        f"({args.n_triplets / slow_s:,.0f} triplets/s)"
    )
    print(
        f"[jackknife] speed-up {slow_s / closed_s:.1f}x; max |difference| "
        f"{np.abs(closed - slow).max():.1e}"
    )


if __name__ == "__main__":
    main()
