"""VICE's row-sparse training step against its dense one: exact? faster? same fits?

The package has two VICE steps (`VICEConfig.step`; `dnnalign_utils.fitting`): the dense
one samples and updates the whole objects x dimensions posterior every step, the
row-sparse one (`_SparseVICEStep`) only the rows of the batch's objects, with the
complexity term in its per-triplet form (object o's KL_o weighted by its occurrences in
the batch over B c_o, c_o its occurrences in the training triplets: the same objective's
gradient in expectation) and lazy Adam (moments and parameters of the touched rows
only, the bias correction counting every step, row o's step size lr / sqrt(f_o), f_o the
probability that a batch contains o: about 2.3 x lr at batch 128 on 1,854 objects).
``step="auto"`` takes the sparse step below `fitting.SPARSE_STEP_BELOW_BATCH`, which
the speed part below measures.

Parts (--parts, all by default):
  gradient  float64, fixed parameters, posterior widths made negligible (both steps see
            the same weights): the sparse step's gradients summed over an epoch's batches
            against the dense step's (`_VICEModel.step_grad`), mu and rho, for the
            mixture and the legacy prior (tests/test_sparse_step.py checks the same);
            the largest absolute difference.
  speed     training triplets/s of the sparse step (with lazy Adam), the dense step
            (with Adam) and the reference rewrite (bench_embedding.py's `ReferenceVICE`,
            with its data loading; always the mixture prior) on --step-triplets synthetic
            triplets, --dims dimensions (100), prior --prior and kl --kl (the mixture
            prior, analytic), batch 128 to 2,048 (--batches), alternating block by block,
            the median of --repeats blocks: where the dense step becomes the faster one
            (the crossovers `fitting.sparse_step_below` returns are set from this:
            mixture prior; and --prior objdim_legacy, where the dense step samples only
            the batch's rows).
  fits      45,000 human triplets (the 50k sample, 10 % held out) and 45,000 network
            triplets (50,000 random unique triplets answered by the VGG-16 stand-in, 10 %
            held out; the data of tests/test_sparse_step.py), --fit-sets; batch 128,
            --fit-dims dimensions (30), mixture prior (slab 2, sigma started at exp(-3)),
            lr --fit-lr (1e-3), --fit-epochs epochs, betas --fit-betas, seeds --fit-seeds:
            `fit_vice` with step="dense" and step="sparse"; held-out accuracy of the
            pruned ReLU(mu), the kept dimensions and their course, each side's range over
            the seeds. --lr-power p sets the sparse step's step size to lr / f_o^p instead
            of the package's p = 0.5 (how it was tuned).

    .venv/bin/python benchmarks/bench_sparse_step.py [--parts gradient,speed,fits]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from dnnalign_utils import data, fitting, triplets
from dnnalign_utils.embedding import VICEConfig, evaluate_embedding, fit_vice
from dnnalign_utils.fitting import _SparseVICEStep, _touched_share, _VICEModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_embedding import (  # noqa: E402
    OneHotTriplets,
    ReferenceVICE,
    _interleave,
    _load,
    _loader_block,
    _our_block,
    _our_step,
    _span,
    _tag,
    dnn_triplets,
)


def bench_gradient(n_train: int, batch: int) -> None:
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        trip = torch.from_numpy(dnn_triplets(n_train, seed=0))
        for prior, kl in (("mixture", "analytic"), ("objdim_legacy", "analytic"),
                          ("objdim_legacy", "sample")):  # fmt: skip
            cfg = VICEConfig(n_dims=100, prior=prior, kl=kl, init_log_sigma=-60.0,
                             batch_size=batch)  # fmt: skip
            sparse = _SparseVICEStep(
                _VICEModel(cfg, 1854, torch.Generator().manual_seed(0)), trip, 1854
            )
            dense = _VICEModel(cfg, 1854, torch.Generator().manual_seed(0))
            sums = [torch.zeros_like(dense.mu) for _ in range(4)]
            for s in range(0, n_train, batch):
                b = trip[s : s + batch]
                rows, g_mu, g_rho, _, _ = sparse.grads(b, torch.Generator().manual_seed(s))
                sums[0].index_add_(0, rows, g_mu)
                sums[1].index_add_(0, rows, g_rho)
                dense.step_grad(b, torch.Generator().manual_seed(s), n_train)
                sums[2] += dense.mu.grad
                sums[3] += dense.rho.grad
            for name, a, b in (("mu", sums[0], sums[2]), ("rho", sums[1], sums[3])):
                print(
                    f"[gradient] {prior}, kl {kl}, {n_train:,} triplets, batch {batch}, "
                    f"float64: epoch-summed d loss / d {name}, sparse vs dense: largest "
                    f"|difference| {float((a - b).abs().max()):.1e} (largest entry "
                    f"{float(b.abs().max()):.1e})"
                )
    finally:
        torch.set_default_dtype(before)


def bench_speed(args, batches: list[int]) -> None:
    n, steps, repeats, dims = args.step_triplets, args.steps, args.repeats, args.dims
    trip = torch.from_numpy(dnn_triplets(n, seed=0))
    counts = torch.bincount(trip.reshape(-1), minlength=1854)
    print(
        f"[speed] {n:,} synthetic triplets, 1,854 objects, {dims} dims, prior {args.prior}, "
        f"kl {args.kl}; 'auto' takes the sparse step below batch "
        f"{fitting.sparse_step_below(VICEConfig(prior=args.prior, kl=args.kl))}; {_tag()}"
    )
    for batch in batches:
        k = max(5, steps * 128 // batch)

        def ours(step, batch=batch):
            cfg = VICEConfig(n_dims=dims, lr=1e-3, batch_size=batch, step=step,
                             prior=args.prior, kl=args.kl)  # fmt: skip
            return _our_step("vice", cfg, 1854, trip)

        auto = ours("auto").kind
        blocks = {
            "reference": _loader_block(ReferenceVICE(1854, dims).step,
                                       OneHotTriplets(trip, 1854), batch, k, n),
            "dense": _our_block(ours("dense"), trip, batch, k),
            "sparse": _our_block(ours("sparse"), trip, batch, k),
        }  # fmt: skip
        rates, loads = _interleave(blocks, repeats)
        share = float(_touched_share(counts, n, batch).mean())
        print(
            f"[speed] batch {batch} (touches {100 * share:.0f} % of the objects; 'auto' "
            f"takes the {auto} step): sparse {rates['sparse']:,.0f}, dense "
            f"{rates['dense']:,.0f}, reference rewrite {rates['reference']:,.0f} "
            f"triplets/s; sparse / dense {rates['sparse'] / rates['dense']:.2f}, sparse / "
            f"reference {rates['sparse'] / rates['reference']:.1f}x, dense / reference "
            f"{rates['dense'] / rates['reference']:.1f}x (median of {repeats} blocks of {k} "
            f"steps); {_span(loads)}",
            flush=True,
        )


def _spread(values) -> str:
    return f"{min(values):.4g}-{max(values):.4g}"


def fit_data(name: str) -> tuple[np.ndarray, np.ndarray]:
    """45,000 training and 5,000 held-out triplets (as tests/test_sparse_step.py): the
    human 50k sample, or 50,000 random unique triplets answered by the VGG-16 stand-in's
    dot products (`triplets.odd_one_out_choices`)."""
    if name == "human":
        chosen = data.load_triplets_sample50k()
    else:
        sampled = triplets.sample_triplets(data.N_OBJECTS, 50_000, seed=0, progress=False)
        features = data.load_vgg16_features()
        chosen = triplets.odd_one_out_choices(sampled, features, progress=False)
    return triplets.split_triplets(chosen, 0.1, seed=0)


def bench_fits(args, betas: list[float], seeds: list[int]) -> None:
    epochs, lr_power = args.fit_epochs, args.lr_power
    if lr_power != 0.5:  # the step size lr / f^p: the package's is p = 0.5
        share = fitting._touched_share
        fitting._touched_share = lambda *a: share(*a) ** (2 * lr_power)
    print(
        f"[fits] {args.fit_dims} dims, lr {args.fit_lr:g}, batch 128, mixture prior (slab "
        f"2, sigma started at exp(-3)); sparse step size lr / f^{lr_power:g}; {_tag()}"
    )
    for name in args.fit_sets.split(","):
        train, test = fit_data(name)
        for beta in betas:
            scores: dict = {"dense": [], "sparse": []}
            for seed in seeds:
                for step in ("dense", "sparse"):
                    cfg = VICEConfig(n_dims=args.fit_dims, prior="mixture", slab_scale=2.0,
                                     beta=beta, lr=args.fit_lr, batch_size=128,
                                     init_log_sigma=-3.0, max_epochs=epochs,
                                     min_epochs=epochs, stability_window=10,
                                     step=step)  # fmt: skip
                    load = _load()
                    t0 = time.perf_counter()
                    res = fit_vice(train, 1854, cfg, seed=seed, progress=False)
                    seconds = time.perf_counter() - t0
                    w = res.embedding.weights
                    acc = evaluate_embedding(w, test)["accuracy"] if w.shape[1] else 1 / 3
                    scores[step].append((100 * acc, w.shape[1]))
                    print(
                        f"[fits] {name}, beta {beta}, {epochs} epochs, seed {seed}, {step}: "
                        f"held-out accuracy {100 * acc:.2f} %, {w.shape[1]} dims "
                        f"(every 5 epochs: {res.history['n_dims'][4::5]}), {seconds:.0f} s; "
                        f"load {load:.1f}",
                        flush=True,
                    )
            line = "; ".join(
                f"{step}: accuracy {_spread([a for a, _ in s])} % (mean "
                f"{np.mean([a for a, _ in s]):.2f}), dims {_spread([d for _, d in s])} (mean "
                f"{np.mean([d for _, d in s]):.1f})"
                for step, s in scores.items()
            )
            print(f"[fits] {name}, beta {beta}, seeds {seeds}, range over the seeds: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="gradient,speed,fits")
    parser.add_argument("--grad-triplets", type=int, default=20_480)
    parser.add_argument("--grad-batch", type=int, default=128)
    parser.add_argument("--step-triplets", type=int, default=200_000)
    parser.add_argument("--batches", default="128,256,384,512,768,1024,2048")
    parser.add_argument("--steps", type=int, default=40, help="steps per block at batch 128")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dims", type=int, default=100, help="speed part: dimensions")
    parser.add_argument("--prior", default="mixture", help="speed part: VICEConfig.prior")
    parser.add_argument("--kl", default="analytic", help="speed part: VICEConfig.kl")
    parser.add_argument("--fit-epochs", type=int, default=30)
    parser.add_argument("--fit-betas", default="0.1,0.5")
    parser.add_argument("--fit-seeds", default="0,1,2")
    parser.add_argument("--fit-sets", default="human,network")
    parser.add_argument("--fit-dims", type=int, default=30)
    parser.add_argument("--fit-lr", type=float, default=1e-3)
    parser.add_argument(
        "--lr-power", type=float, default=0.5, help="sparse step size lr / f^p (package: 0.5)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    parts = args.parts.split(",")
    if "gradient" in parts:
        bench_gradient(args.grad_triplets, args.grad_batch)
    if "speed" in parts:
        batches = [int(b) for b in args.batches.split(",")]
        bench_speed(args, batches)
    if "fits" in parts:
        betas = [float(b) for b in args.fit_betas.split(",")]
        seeds = [int(s) for s in args.fit_seeds.split(",")]
        bench_fits(args, betas, seeds)


if __name__ == "__main__":
    main()
