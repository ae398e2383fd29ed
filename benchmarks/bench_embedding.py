"""Speed and accuracy of VICE / SPoSE training and RSM reconstruction on the CPU.

Parts (all by default; choose with --parts):
  synthetic  1,000,000 triplets over 1,854 objects with deterministic dot-product choices
             from the VGG-16 stand-in matrix (dnn/vgg16_kernel_nmf_rank200.npy, ReLU, argmax
             with the reference tie rule), 90/10 split; seconds per epoch and training
             triplets/s of VICE and SPoSE with 100 initial dimensions, and the held-out
             accuracy after a few epochs.
  human      the real human triplets: triplets_sample50k + triplets_sample127k (first three
             columns, repeats kept), minus every triplet whose unordered set occurs in the
             noise-ceiling set or the 2,171 set (~176,877), 10 % of them carved out as
             validation (triplets.split_triplets); SMALL_DATA_SPOSE and SMALL_DATA_VICE
             (--methods) with 100 initial dimensions: seconds/epoch with 1 and 2 torch
             threads (--thread-epochs epochs each), then a fit to convergence with 1 thread:
             epochs, wall time, kept dimensions, accuracy of the returned embedding (SPoSE:
             best validation NLL) on the 20,000 noise-ceiling responses and the 2,171 set,
             next to the published SPoSE-49 and VICE-42 on the same sets.
  ceiling    how far ~159k human triplets can take any embedding (issue 4's 63 % target):
             a plain non-negative embedding written out here in a few lines of PyTorch,
             independent of dnnalign_utils.embedding (projected Adam, softmax over the three
             pair dot products, the epoch with the best validation NLL), unpenalised and with
             a Gaussian penalty, on a quarter, a half and all of the training triplets;
             training vs validation accuracy; the mean probability of 5 seeds (an ensemble);
             the published SPoSE-49 / VICE-42 on the same validation triplets.
  rsm        reconstruct_rsm and choice_rsm on 1,854 objects (published VICE-42).

Run: OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_embedding.py [--parts human]
(the fits set their own thread count, 1 by default; --threads sets it for the rest).
Timings depend on the load of the machine; the script prints the thread count and the
1-minute load average next to every number.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from dnnalign_utils import data, triplets
from dnnalign_utils.embedding import (
    SMALL_DATA_SPOSE,
    SMALL_DATA_VICE,
    SPoSEConfig,
    VICEConfig,
    evaluate_embedding,
    evaluate_vice,
    fit_spose,
    fit_vice,
)
from dnnalign_utils.rsa import choice_rsm, reconstruct_rsm

THINGS = Path(os.environ.get("DNNALIGN_SHARED_THINGS", "/work/shared/data/things"))


def _load() -> float:
    return os.getloadavg()[0]


def dnn_triplets(n: int, seed: int) -> np.ndarray:
    """Unique random triplets with the reference DNN choice rule (sorted, first max wins)."""
    x = np.maximum(np.load(THINGS / "dnn" / "vgg16_kernel_nmf_rank200.npy"), 0)
    rng = np.random.default_rng(seed)
    m = x.shape[0]
    t = np.sort(rng.integers(0, m, size=(int(n * 1.1), 3)), axis=1)
    t = t[(t[:, 0] != t[:, 1]) & (t[:, 1] != t[:, 2])]
    _, first = np.unique(t[:, 0] * m * m + t[:, 1] * m + t[:, 2], return_index=True)
    t = t[np.sort(first)][:n]
    if len(t) < n:
        raise RuntimeError("too few unique triplets drawn")
    a, b, c = x[t[:, 0]], x[t[:, 1]], x[t[:, 2]]
    sims = np.stack([(a * b).sum(1), (a * c).sum(1), (b * c).sum(1)], 1)  # (a,b),(a,c),(b,c)
    best = sims.argmax(1)  # first maximum wins
    odd = np.array([2, 1, 0])[best]
    pair = np.array([[0, 1], [0, 2], [1, 2]])[best]
    rows = np.arange(n)[:, None]
    return np.column_stack([t[rows, pair], t[np.arange(n), odd]]).astype(np.int64)


def human_data():
    """Training triplets (50k + 127k samples minus every triplet whose unordered set is in
    the noise-ceiling or 2,171 set), the 20,000 noise-ceiling responses, the 2,171 set."""
    a = data.load_triplets_sample50k()
    b = data.load_triplets_sample127k().triplets
    nc = data.load_triplets_noise_ceiling().triplets
    d2171 = data.load_triplets_2171()
    train, removed = data.remove_heldout_triplets(np.concatenate([a, b]), [nc, d2171])
    return train, nc, d2171, int(removed.sum())


def bench_synthetic(epochs: int, n: int) -> None:
    t0 = time.perf_counter()
    trip = dnn_triplets(n, seed=0)
    n_test = n // 10
    test, train = trip[:n_test], trip[n_test:]
    print(f"[synthetic] {n:,} VGG dot-product triplets drawn in {time.perf_counter() - t0:.1f} s")
    for name, fit, cfg in (
        ("VICE", fit_vice, VICEConfig(n_dims=100, batch_size=2048, lr=3e-3, beta=0.24,
                                      max_epochs=epochs, init_log_sigma=-3.0)),
        ("SPoSE", fit_spose, SPoSEConfig(n_dims=100, batch_size=2048, lr=3e-3,
                                         max_epochs=epochs)),
    ):  # fmt: skip
        load = _load()
        res = fit(train, 1854, cfg, seed=0, progress=False)
        sec = float(np.median(res.history["seconds"]))
        acc = evaluate_embedding(res.embedding.weights, test)["accuracy"]
        print(
            f"[synthetic] {name}: {sec:.2f} s/epoch (median of {res.epochs}), "
            f"{len(train) / sec:,.0f} train triplets/s, batch {cfg.batch_size}, "
            f"held-out acc after {res.epochs} epochs {acc:.4f}, dims {res.embedding.n_dims}, "
            f"threads {torch.get_num_threads()}, load {load:.1f}"
        )


def _fit_human(method, config, train, val, seed, threads, until_epoch=None):
    fit = fit_spose if method == "spose" else fit_vice
    return fit(train, 1854, config, seed=seed, val=val, eval_every=1, progress=False,
               num_threads=threads, until_epoch=until_epoch)  # fmt: skip


def bench_human(methods: list[str], seed: int, thread_epochs: int) -> None:
    train_all, nc, d2171, removed = human_data()
    # disjoint by unordered triplet: repeated responses to a triplet stay on one side
    train, val = triplets.split_triplets(train_all, 0.1, seed=seed)
    print(
        f"[human] {len(train_all):,} training triplets ({removed:,} removed as held out): "
        f"{len(train):,} fit + {len(val):,} validation (10 %, seed {seed}); "
        f"noise-ceiling responses {len(nc):,}, 2171 set {len(d2171):,}"
    )
    for name in ("spose49", "vice42"):
        w = data.load_human_embedding(name)
        print(
            f"[human] published {name} ({w.shape[1]} dims, fitted on millions of triplets): "
            f"noise-ceiling acc {evaluate_embedding(w, nc)['accuracy']:.4f}, "
            f"2171-set acc {evaluate_embedding(w, d2171)['accuracy']:.4f}"
        )
    presets = {"spose": SMALL_DATA_SPOSE, "vice": SMALL_DATA_VICE}
    for method in methods:
        config = presets[method]
        print(f"[human] {method} preset: {config}")
        for threads in (1, 2):
            load = _load()
            res = _fit_human(method, config, train, val, seed, threads, until_epoch=thread_epochs)
            print(
                f"[human] {method} {threads} thread(s): "
                f"{np.median(res.history['seconds']):.2f} s/epoch (median of {res.epochs} "
                f"epochs), load {load:.1f}"
            )
        load = _load()
        t0 = time.perf_counter()
        res = _fit_human(method, config, train, val, seed, 1)
        wall = time.perf_counter() - t0
        emb = res.embedding
        line = (
            f"[human] {method} seed {seed}, 1 thread: {np.median(res.history['seconds']):.2f} "
            f"s/epoch, {res.epochs} epochs (stop: {res.stop_reason}; parameters of epoch "
            f"{res.selected_epoch}), wall {wall:.1f} s, {emb.n_dims} dims; noise-ceiling acc "
            f"{evaluate_embedding(emb.weights, nc)['accuracy']:.4f}, 2171-set acc "
            f"{evaluate_embedding(emb.weights, d2171)['accuracy']:.4f} (deterministic "
            f"ReLU weights), validation NLL {min(res.history['val_nll']):.4f}"
        )
        if method == "vice":
            mc = evaluate_vice(res.params["mu"], res.params["sigma"], nc, dims=emb.source_dims)
            line += f"; noise-ceiling acc {mc['accuracy']:.4f} (20 MC samples)"
        print(f"{line}; load {load:.1f}")


def _plain_logits(w: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    a, b, c = w[t[:, 0]], w[t[:, 1]], w[t[:, 2]]
    # column c is the logit that object c is the odd one out: the other two pair up
    return torch.stack([(b * c).sum(1), (a * c).sum(1), (a * b).sum(1)], 1)


def _plain_scores(w: torch.Tensor, t: torch.Tensor) -> tuple[float, float]:
    """(NLL of the observed choice, accuracy) with the last column as the odd one out."""
    with torch.no_grad():
        logits = _plain_logits(w, t)
        target = torch.full((len(t),), 2)
        nll = torch.nn.functional.cross_entropy(logits, target).item()
        return nll, (logits.argmax(1) == 2).float().mean().item()


def plain_fit(train, val, n_dims=100, l2=0.0, seed=0, epochs=40, lr=1e-2, batch=2048):
    """A deliberately obvious non-negative embedding fit: the reference for the ceiling part.

    Returns (weights at the epoch with the lowest validation NLL, that epoch, the training
    accuracy at that epoch). `l2` is the Gaussian penalty summed over W, divided by the
    number of training triplets (as the KL term in VICE).
    """
    gen = torch.Generator().manual_seed(seed)
    w = (0.1 + 0.01 * torch.randn(1854, n_dims, generator=gen)).clamp_min(0).requires_grad_()
    opt = torch.optim.Adam([w], lr=lr)
    train_t, val_t = torch.as_tensor(train), torch.as_tensor(val)
    n = len(train_t)
    best = (math.inf, None, -1)
    for epoch in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n, batch):
            t = train_t[perm[start : start + batch]]
            loss = (
                torch.nn.functional.cross_entropy(_plain_logits(w, t), torch.full((len(t),), 2))
                + l2 * (w**2).sum() / n
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                w.clamp_(min=0)
        val_nll = _plain_scores(w, val_t)[0]
        if val_nll < best[0]:
            best = (val_nll, w.detach().clone(), epoch)
    return best[1], best[2], _plain_scores(best[1], train_t)[1]


def bench_ceiling(seed: int) -> None:
    torch.set_num_threads(1)
    train_all, nc, d2171, _ = human_data()
    train, val = triplets.split_triplets(train_all, 0.1, seed=seed)
    val_t, nc_t = torch.as_tensor(val), torch.as_tensor(nc)
    for name in ("spose49", "vice42"):
        w = torch.as_tensor(np.asarray(data.load_human_embedding(name), dtype=np.float32))
        print(
            f"[ceiling] published {name}: validation acc {_plain_scores(w, val_t)[1]:.4f}, "
            f"noise-ceiling acc {_plain_scores(w, nc_t)[1]:.4f} (fitted on millions of "
            "triplets, which may include these validation triplets)"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train))
    for fraction in (0.25, 0.5, 1.0):
        subset = train[np.sort(order[: int(fraction * len(train))])]
        for l2 in (0.0, 4.0):
            t0 = time.perf_counter()
            # the same number of optimiser steps for every fraction
            epochs = int(round(40 / fraction))
            w, epoch, train_acc = plain_fit(subset, val, l2=l2, seed=seed, epochs=epochs)
            print(
                f"[ceiling] plain 100-d, {fraction:.2f} of the data ({len(subset):,} "
                f"triplets), l2 {l2}: best epoch {epoch} of {epochs}, train acc {train_acc:.4f}, "
                f"validation acc {_plain_scores(w, val_t)[1]:.4f}, noise-ceiling acc "
                f"{_plain_scores(w, nc_t)[1]:.4f} ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
    weights = [plain_fit(train, val, n_dims=30, l2=4.0, seed=seed + s)[0] for s in range(5)]
    with torch.no_grad():
        for name, t in (("validation", val_t), ("noise-ceiling", nc_t)):
            p = sum(torch.softmax(_plain_logits(w, t), 1) for w in weights) / len(weights)
            print(
                f"[ceiling] mean probability of 5 seeds (30-d, l2 4): {name} acc "
                f"{(p.argmax(1) == 2).float().mean().item():.4f}"
            )


def bench_rsm() -> None:
    x = np.load(THINGS / "human" / "vice_embedding_42d.npy")
    for name, fn in (("reconstruct_rsm", reconstruct_rsm), ("choice_rsm", choice_rsm)):
        load = _load()
        t0 = time.perf_counter()
        fn(x, progress=False)
        print(
            f"[rsm] {name} 1854 objects: {time.perf_counter() - t0:.1f} s, "
            f"threads {torch.get_num_threads()}, load {load:.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="synthetic,human,rsm")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--epochs", type=int, default=3, help="synthetic epochs")
    parser.add_argument("--n-triplets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="spose,vice", help="human part: spose,vice")
    parser.add_argument("--thread-epochs", type=int, default=3,
                        help="human part: epochs timed with 1 and with 2 threads")  # fmt: skip
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    parts = args.parts.split(",")
    if "synthetic" in parts:
        bench_synthetic(args.epochs, args.n_triplets)
    if "human" in parts:
        bench_human(args.methods.split(","), args.seed, args.thread_epochs)
    if "ceiling" in parts:
        bench_ceiling(args.seed)
    if "rsm" in parts:
        bench_rsm()


if __name__ == "__main__":
    main()
