"""Prototype of a row-sparse VICE step for small batches: exact? faster? same fits?

Not part of the package (issue 28, part 2, open): the package's VICE step is dense, it
samples and updates the whole objects x dimensions posterior every step. At batch 128 a
batch touches about 19 % of 1,854 objects, so most of that work is on rows the batch
does not use. The complexity term is a sum over objects, KL = sum_o KL_o, and object o
occurs c_o times in the n_train training triplets, so KL = sum_t sum_{o in t} KL_o / c_o
is also a sum over triplets. A step on a batch of B triplets can take
beta / B * sum_{t in batch} sum_{o in t} KL_o / c_o = beta * sum_o r_o KL_o, with
r_o = (occurrences of o in the batch) / (B c_o), as its complexity term: its expectation
over a random batch is the dense step's beta * KL / n_train, summed over an epoch it
equals the dense steps' sum, and it involves only the batch's rows. `SparseVICE` samples
only those rows (one sample per object, as the dense step), computes the likelihood and
this complexity term on them (the same estimate of KL_o as the dense step: closed-form
entropy or the single-sample log q, E_q[log p] sampled or, for the legacy prior, in
closed form) and updates them with lazy Adam: moments and parameters of the touched rows
only, the bias correction counting every step.

Lazy Adam moves a row only when a batch touches it, by about a full normalised step;
dense Adam moves every row every step, and for a row touched in a share f of the steps
its normalised step is about sqrt(f). The prototype therefore scales lazy Adam's step
size by 1 / sqrt(f), f the expected share of objects a batch touches (2.3 at batch 128 on
1,854 objects; `--lr-scale 1` turns it off).

Parts (--parts, all by default):
  gradient  float64, fixed parameters, posterior widths made negligible (both steps see
            the same weights): the sparse step's gradients summed over an epoch's batches
            against the dense step's (`_VICEModel.step_grad`), mu and rho, for the
            mixture and the legacy prior; the largest absolute difference.
  speed     training triplets/s of the sparse step (with lazy Adam), the package's dense
            step (with Adam) and the reference rewrite (`ReferenceVICE`, with its data
            loading), batch 128 to 2,048, alternating block by block, the median of
            --repeats blocks: where the dense step becomes faster.
  fits      45,000 human triplets (the 50k sample, 10 % held out) and 45,000 network
            triplets (VGG-16 stand-in, 10 % held out), batch 128, 30 dimensions, mixture
            prior (slab 2, sigma started at exp(-3)), lr 1e-3, --fit-epochs epochs, betas
            --fit-betas, seeds 0 and 1: the package's dense fit (`fit_vice`) against the
            same loop with the sparse step; held-out accuracy of the pruned ReLU(mu) and
            the kept dimensions. Measured (load 1.6-3.5): at beta 0.1 and 30 epochs the
            same 30 dims, held-out accuracy sparse 48.3 / 47.2 % vs dense 47.5 / 45.4 %
            (human), 53.6 / 53.0 % vs 51.6 / 52.6 % (network); at beta 0.5 and 30 epochs
            the dense fits prune faster (network: 8 vs 17-20 dims); at beta 0.5 and 150
            epochs the network fits agree (30 dims each; 54.4 / 54.5 % vs 53.6 / 55.3 %)
            and the human fits are still growing, the sparse ones ahead (29 / 28 dims,
            51.3 / 52.2 %, vs 24 / 22, 50.0 / 50.6 %).

    .venv/bin/python benchmarks/bench_sparse_step.py [--parts gradient,speed,fits]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from dnnalign_utils import data, triplets
from dnnalign_utils.embedding import VICEConfig, evaluate_embedding, fit_vice
from dnnalign_utils.fitting import _columns, _lik_grad_rows, _VICEModel

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


def touched_share(counts: np.ndarray, batch: int) -> float:
    """Expected share of objects a batch of `batch` triplets touches (object o fills c_o
    of the 3 n_train slots; a batch draws 3 B of them)."""
    p = counts / float(counts.sum())
    return float((1.0 - np.power(1.0 - p, 3.0 * batch)).mean())


class SparseVICE:
    """The row-sparse VICE step with lazy Adam (see the module docstring)."""

    def __init__(self, cfg: VICEConfig, n_objects: int, counts, g, lr_scale=None) -> None:
        self.model = m = _VICEModel(cfg, n_objects, g)
        self.cfg, self.g = cfg, g
        counts = np.asarray(counts)
        if (counts == 0).any():
            raise ValueError("every object must occur in the training triplets")
        self.counts = torch.as_tensor(counts, dtype=m.mu.dtype)
        if lr_scale is None:
            lr_scale = 1.0 / math.sqrt(touched_share(counts, cfg.batch_size))
        self.lr = cfg.lr * lr_scale
        self.moments = [torch.zeros_like(p) for p in m.parameters() for _ in (0, 1)]
        self.t = 0

    @torch.no_grad()
    def grads(self, batch: torch.Tensor, n_train: int):
        """(touched rows, d loss / d mu[rows], d loss / d rho[rows], NLL)."""
        m, cfg = self.model, self.cfg
        flat = _columns(batch)
        rows, inv = torch.unique(flat, return_inverse=True)
        mu, rho = m.mu.index_select(0, rows), m.rho.index_select(0, rows)
        sigma = rho.exp()
        eps = torch.randn(mu.shape, generator=self.g, dtype=mu.dtype)
        noise = eps * sigma
        w = mu + noise
        x = w.clamp_min(0.0)
        d = w.shape[1]
        gx = torch.empty((flat.numel(), d), dtype=w.dtype)
        nll = _lik_grad_rows(x.index_select(0, inv).view(3, -1, d), gx.view(3, -1, d))
        grad_w = torch.zeros_like(w).index_add_(0, inv, gx).mul_(torch.sign(x))
        r = torch.bincount(inv, minlength=len(rows)).to(w.dtype)
        r = r.div_(self.counts.index_select(0, rows)).div_(len(batch))
        a = (cfg.beta * m.complexity_weight * r).unsqueeze(1)  # d loss / d KL_o
        if cfg.prior == "mixture":
            s2 = cfg.slab_scale
            sig = torch.sigmoid(m._c0 - m._kappa * w * w)
            # -d log p / dw = (2 kappa sigmoid(c0 - kappa w^2) + 1 / s2^2) w
            grad_w.addcmul_(sig.mul_(2 * m._kappa).add_(1 / s2**2).mul_(w), a)
            grad_mu, grad_rho = grad_w, grad_w * noise
        elif cfg.kl == "sample":  # legacy prior at the sample
            grad_w.addcmul_(w, a, value=m._prec)
            grad_mu, grad_rho = grad_w, grad_w * noise
        else:  # legacy prior, E_q[w^2] = mu^2 + sigma^2 in closed form
            grad_rho = (grad_w * noise).addcmul_(sigma * sigma, a, value=m._prec)
            grad_mu = grad_w.addcmul_(mu, a, value=m._prec)
        grad_rho.sub_(a)  # the entropy's (or log q's) -sum rho
        return rows, grad_mu, grad_rho, nll

    @torch.no_grad()
    def step(self, batch: torch.Tensor, n_train: int) -> float:
        rows, grad_mu, grad_rho, nll = self.grads(batch, n_train)
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        pairs = zip(self.model.parameters(), (grad_mu, grad_rho), strict=True)
        for i, (p, grad) in enumerate(pairs):
            m1, m2 = self.moments[2 * i], self.moments[2 * i + 1]
            a = m1.index_select(0, rows).mul_(b1).add_(grad, alpha=1 - b1)
            v = m2.index_select(0, rows).mul_(b2).addcmul_(grad, grad, value=1 - b2)
            m1.index_copy_(0, rows, a)
            m2.index_copy_(0, rows, v)
            denom = v.sqrt_().div_(math.sqrt(c2)).add_(eps)
            p.index_add_(0, rows, a.div_(denom), alpha=-self.lr / c1)
        return nll


def bench_gradient(n_train: int, batch: int) -> None:
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        trip = torch.from_numpy(dnn_triplets(n_train, seed=0))
        counts = np.bincount(trip.numpy().reshape(-1), minlength=1854)
        for prior, kl in (("mixture", "analytic"), ("objdim_legacy", "analytic"),
                          ("objdim_legacy", "sample")):  # fmt: skip
            cfg = VICEConfig(n_dims=100, prior=prior, kl=kl, init_log_sigma=-60.0)
            sparse = SparseVICE(cfg, 1854, counts, torch.Generator().manual_seed(0))
            dense = _VICEModel(cfg, 1854, torch.Generator().manual_seed(0))
            sums = [torch.zeros_like(dense.mu) for _ in range(4)]
            for s in range(0, n_train, batch):
                b = trip[s : s + batch]
                rows, g_mu, g_rho, _ = sparse.grads(b, n_train)
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


def bench_speed(n: int, batches: list[int], steps: int, repeats: int) -> None:
    trip = torch.from_numpy(dnn_triplets(n, seed=0))
    counts = np.bincount(trip.numpy().reshape(-1), minlength=1854)
    print(f"[speed] {n:,} synthetic triplets, 1,854 objects, 100 dims; {_tag()}")
    for batch in batches:
        k = max(5, steps * 128 // batch)
        cfg = VICEConfig(n_dims=100, lr=1e-3, batch_size=batch)
        sparse = SparseVICE(cfg, 1854, counts, torch.Generator().manual_seed(0))
        blocks = {
            "reference": _loader_block(ReferenceVICE(1854, 100).step,
                                       OneHotTriplets(trip, 1854), batch, k, n),
            "dense": _our_block(_our_step("vice", cfg, 1854, n), trip, batch, k),
            "sparse": _our_block(lambda b, f=sparse.step: f(b, n), trip, batch, k),
        }  # fmt: skip
        rates, loads = _interleave(blocks, repeats)
        print(
            f"[speed] batch {batch} (touches {100 * touched_share(counts, batch):.0f} % of "
            f"the objects): sparse {rates['sparse']:,.0f}, dense {rates['dense']:,.0f}, "
            f"reference rewrite {rates['reference']:,.0f} triplets/s; sparse / dense "
            f"{rates['sparse'] / rates['dense']:.2f}, sparse / reference "
            f"{rates['sparse'] / rates['reference']:.1f}x, dense / reference "
            f"{rates['dense'] / rates['reference']:.1f}x (median of {repeats} blocks of {k} "
            f"steps); {_span(loads)}"
        )


def _sparse_fit(train, cfg, seed, lr_scale):
    """The package's training loop, reduced: a seeded permutation per epoch, the sparse
    step, pruning after every epoch; returns (kept mask, ReLU(mu) on it, kept counts)."""
    g = torch.Generator().manual_seed(seed)
    counts = np.bincount(train.reshape(-1), minlength=1854)
    sparse = SparseVICE(cfg, 1854, counts, g, lr_scale)
    train_t = torch.from_numpy(train)
    dims = []
    for _ in range(cfg.max_epochs):
        order = torch.randperm(len(train), generator=g)
        for s in range(0, len(train), cfg.batch_size):
            sparse.step(train_t.index_select(0, order[s : s + cfg.batch_size]), len(train))
        dims.append(int(sparse.model.keep_mask().sum()))
    keep = torch.from_numpy(sparse.model.keep_mask())
    return sparse.model.mu[:, keep].double().numpy(), dims


def bench_fits(epochs: int, betas: list[float], lr_scale) -> None:
    sets = {
        "human": triplets.split_triplets(data.load_triplets_sample50k(), 0.1, seed=0),
        "network": triplets.split_triplets(dnn_triplets(50_000, seed=0), 0.1, seed=0),
    }
    for name, (train, test) in sets.items():
        for beta in betas:
            cfg = VICEConfig(n_dims=30, prior="mixture", slab_scale=2.0, beta=beta, lr=1e-3,
                             batch_size=128, init_log_sigma=-3.0, max_epochs=epochs,
                             min_epochs=epochs, stability_window=10)  # fmt: skip
            for seed in (0, 1):
                load = _load()
                t0 = time.perf_counter()
                res = fit_vice(train, 1854, cfg, seed=seed, progress=False)
                t_dense = time.perf_counter() - t0
                w_dense, d_dense = res.embedding.weights, res.history["n_dims"]
                t0 = time.perf_counter()
                w_sparse, d_sparse = _sparse_fit(train, cfg, seed, lr_scale)
                t_sparse = time.perf_counter() - t0

                def acc(w, test=test):
                    return evaluate_embedding(w, test)["accuracy"] if w.shape[1] else 1 / 3

                print(
                    f"[fits] {name}, beta {beta}, seed {seed}: held-out accuracy dense "
                    f"{acc(w_dense):.4f} ({w_dense.shape[1]} dims; {t_dense:.0f} s), sparse "
                    f"{acc(w_sparse):.4f} ({w_sparse.shape[1]} dims; {t_sparse:.0f} s); kept "
                    f"dims every 5 epochs: dense {d_dense[4::5]}, sparse {d_sparse[4::5]}; "
                    f"load {load:.1f}",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="gradient,speed,fits")
    parser.add_argument("--grad-triplets", type=int, default=20_480)
    parser.add_argument("--grad-batch", type=int, default=128)
    parser.add_argument("--step-triplets", type=int, default=200_000)
    parser.add_argument("--batches", default="128,256,384,512,1024,2048")
    parser.add_argument("--steps", type=int, default=40, help="steps per block at batch 128")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fit-epochs", type=int, default=30)
    parser.add_argument("--fit-betas", default="0.1,0.5")
    parser.add_argument(
        "--lr-scale", type=float, default=None, help="lazy Adam's step-size factor"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    parts = args.parts.split(",")
    if "gradient" in parts:
        bench_gradient(args.grad_triplets, args.grad_batch)
    if "speed" in parts:
        batches = [int(b) for b in args.batches.split(",")]
        bench_speed(args.step_triplets, batches, args.steps, args.repeats)
    if "fits" in parts:
        betas = [float(b) for b in args.fit_betas.split(",")]
        bench_fits(args.fit_epochs, betas, args.lr_scale)


if __name__ == "__main__":
    main()
