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
  precision  the human presets fitted in float32 (the default) and in float64: epochs,
             seconds per epoch, dimensions, held-out accuracies.
  vgg        chapter 2's VGG-16 VICE fit with the default profile's settings on the
             book's artefacts (artefacts/default/triplets/vgg16_concepts, written by
             chapter 1; DNNALIGN_ARTEFACTS_DIR overrides): epochs, dimensions, held-out
             accuracy, time; with --baseline also with an earlier commit's code.
  step       training throughput of one step on the synthetic triplets with 100
             dimensions, at batch 128 and 2,048: ours (VICE with the mixture prior, analytic
             entropy and single-sample KL, with the step step="auto" takes at that batch
             size, printed: the row-sparse one at 128, the dense one at 2,048, and at 128
             also the dense step; SPoSE with the reference's settings; the SPoSE
             small-data preset, with no ratio: another model) against a rewrite of each
             model's own reference step (`ReferenceVICE`, `ReferenceSPoSE` below) that
             does the public code's work per batch: its data loading (a DataLoader over a
             data set serving one triplet per call, one-hot rows for VICE), its forward
             pass, its per-batch accuracy and loss. The sides alternate block by block;
             the median over --repeats blocks of each, the ratio at equal batch and
             threads. bench_public_reference.py times the public code itself.
  tta        time to a target held-out accuracy (--tta-target, reached by both sides) on
             the human triplets (the split of the human part): the reference rewrite at
             its defaults (batch 128, lr 1e-3) until it first reaches the target (or
             --tta-max-seconds), ours at SMALL_DATA_VICE's (batch 2,048, lr 3e-3) before
             and after it; the accuracy of the pruned ReLU(mu) (the dimensions the pruning
             rule keeps) on the held-out 10 % on both sides (scoring time excluded).
  pruning    the human VICE fit's returned (pruned) embedding beside its unpruned
             posterior (ReLU(mu), and 20 posterior samples, on the kept and on all
             dimensions): SMALL_DATA_VICE as it stops, and the same fit continued to
             --pruning-epochs epochs; seeds --pruning-seeds.
  paper      the paper's fits (PAPER_HUMAN_VICE on 4.12M triplets, PAPER_DNN_VICE on 18M;
             150 dimensions, batch 256): seconds per step measured on a scaled-down run
             (fit_vice, --paper-triplets synthetic triplets, two epochs), extrapolated to
             one epoch and to the 500-1,000 epochs of the paper's stopping rule.

Run: .venv/bin/python benchmarks/bench_embedding.py [--parts step,tta]
Every part runs with one torch thread unless --threads says otherwise (the fits set their
own thread count, 1 by default). Data come from the repository's data/ folder
(DNNALIGN_DATA_DIR overrides). Timings depend on the load of the machine: the script
prints the thread count and the 1-minute load average next to every number; compare the
ratios measured in one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time

import numpy as np
import torch

from dnnalign_utils import data, paths, triplets
from dnnalign_utils.container import _bh_counts
from dnnalign_utils.embedding import (
    PAPER_DNN_VICE,
    PAPER_HUMAN_VICE,
    SMALL_DATA_HUMAN_VICE,
    SMALL_DATA_SPOSE,
    SMALL_DATA_VICE,
    SPoSEConfig,
    VICEConfig,
    evaluate_embedding,
    evaluate_vice,
    fit_spose,
    fit_vice,
)
from dnnalign_utils.fitting import _SPoSEModel, _training_step, _VICEModel
from dnnalign_utils.rsa import choice_rsm, reconstruct_rsm

THINGS = paths.data_dir() / "things"


def _load() -> float:
    return os.getloadavg()[0]


def _tag() -> str:
    return f"threads {torch.get_num_threads()}, load {_load():.1f}"


# ------------------------------------------------------------------ reference formulation
#
# Rewrites of the public reference training steps, in our own words, that do the work the
# public code does per batch: its data loading (a DataLoader over a data set that serves
# one triplet per call), its forward pass, its per-batch accuracy and its loss, autograd
# and torch.optim.Adam. bench_public_reference.py times the public code itself.
# Deliberate differences from the public code, also printed by `bench_step`:
REFERENCE_DIFFERENCES = (
    "VICE: the normal density of q divides by sqrt(2 pi) (the public code multiplies: a "
    "constant, the same gradient); DataLoaders drop the last partial batch of an epoch; "
    "no per-batch progress print (objdim SPoSE prints one line per batch)"
)


class OneHotTriplets(torch.utils.data.Dataset):
    """Triplets served one at a time as three one-hot rows (3 x n_objects), as the public
    VICE data set does; the DataLoader stacks them into (B, 3, n_objects)."""

    def __init__(self, triplets, n_objects: int) -> None:
        self.triplets = torch.as_tensor(np.asarray(triplets), dtype=torch.long)
        self.identity = torch.eye(n_objects)

    def __len__(self) -> int:
        return len(self.triplets)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.identity[self.triplets[index]]


class IndexTriplets(torch.utils.data.Dataset):
    """Triplets served one at a time as three indices (objdim's data set)."""

    def __init__(self, triplets) -> None:
        self.triplets = torch.as_tensor(np.asarray(triplets), dtype=torch.long)

    def __len__(self) -> int:
        return len(self.triplets)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.triplets[index]


def tie_aware_accuracy(probs: torch.Tensor) -> float:
    """Share of triplets whose most likely pair (column 0) is the chosen one; a triplet
    with two equal probabilities, or all three equal to two decimals, counts as wrong.
    One Python iteration per triplet, as the public VICE code scores every batch."""
    correct = 0
    for p in probs:
        tied = len(torch.unique(p)) != len(p) or len(torch.unique(p.round(decimals=2))) == 1
        correct += int(not tied and int(torch.argmax(p)) == 0)
    return correct / len(probs)


class ReferenceVICE:
    """The public VICE model's training step, rewritten: a Gaussian posterior
    N(mu, sigma^2) per object x dimension, one reparameterised sample W = mu + sigma * eps
    of the whole matrix per step, the batch's one-hot rows multiplied with W (the public
    model's linear encoder), ReLU, dot-product similarities, the triplet softmax NLL, the
    batch's choice accuracy (`tie_aware_accuracy`), beta * (log q(W) - log p(W)) / n_train
    with the spike-and-slab mixture prior, both as logs of densities, autograd and
    torch.optim.Adam. `step` takes a (B, 3, n_objects) one-hot batch from a DataLoader
    over `OneHotTriplets`; `step_indices` the (B, 3) indices (tests, time to accuracy).
    """

    def __init__(self, n_objects, n_dims, *, seed=0, lr=1e-3, beta=1.0, pi=0.5, spike=0.25,
                 slab=1.0, init_log_sigma=None):  # fmt: skip
        g = torch.Generator().manual_seed(seed)
        mu = torch.randn(n_objects, n_dims, generator=g) * math.sqrt(2.0 / n_dims)
        rho0 = -1.0 / float(mu.std()) if init_log_sigma is None else init_log_sigma
        self.mu = mu.requires_grad_()
        self.log_sigma = torch.full((n_objects, n_dims), rho0, requires_grad=True)
        self.opt = torch.optim.Adam([self.mu, self.log_sigma], lr=lr)
        self.beta, self.pi, self.spike, self.slab = beta, pi, spike, slab
        self.identity = torch.eye(n_objects)

    @staticmethod
    def _density(x, loc, scale):
        return torch.exp(-((x - loc) ** 2) / (2 * scale**2)) / (scale * math.sqrt(2 * math.pi))

    def step(self, onehot: torch.Tensor, n_train: int) -> tuple[float, float, float, float]:
        sigma = self.log_sigma.exp()
        w = self.mu + sigma * torch.randn_like(sigma)
        rows = torch.relu(onehot @ w)  # (B, 3, D)
        xi, xj, xk = rows.unbind(1)
        logits = torch.stack([(xi * xj).sum(1), (xi * xk).sum(1), (xj * xk).sum(1)], 1)
        nll = torch.nn.functional.cross_entropy(logits, torch.zeros(len(rows), dtype=torch.long))
        acc = tie_aware_accuracy(torch.softmax(logits.detach(), 1))
        log_q = self._density(w, self.mu, sigma).log()
        zero = torch.zeros_like(w)
        prior = self.pi * self._density(w, zero, torch.full_like(w, self.spike)) + (
            1 - self.pi
        ) * self._density(w, zero, torch.full_like(w, self.slab))
        complexity = (log_q.sum() - prior.log().sum()) / n_train
        loss = nll + self.beta * complexity
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item(), nll.item(), complexity.item(), acc

    def step_indices(self, batch: torch.Tensor, n_train: int):
        return self.step(self.identity[batch], n_train)


class ReferenceSPoSE:
    """objdim's SPoSE training step, rewritten: a free matrix W, the batch's rows gathered
    by index and ReLU'd, dot-product similarities, the log-softmax NLL and the batch's
    choice accuracy (argmax), (lambda / n_objects) ||W||_1 (summed over the model's
    weight parameters) + 0.01 * sum ReLU(-W), gradients reset to None, autograd and Adam.
    `step` takes the (B, 3) indices from a DataLoader over `IndexTriplets`."""

    def __init__(self, n_objects, n_dims, *, seed=0, lr=1e-3, l1=0.00385):
        g = torch.Generator().manual_seed(seed)
        self.w = (0.1 + 0.01 * torch.randn(n_objects, n_dims, generator=g)).requires_grad_()
        self.opt = torch.optim.Adam([self.w], lr=lr)
        self.lam = l1 / n_objects

    def step(self, batch: torch.Tensor, n_train: int):
        i, j, k = batch.unbind(1)
        xi, xj, xk = (torch.relu(self.w[idx]) for idx in (i, j, k))
        sims = torch.cat([torch.einsum("ij,ij->i", xi, xj), torch.einsum("ij,ij->i", xi, xk),
                          torch.einsum("ij,ij->i", xj, xk)]).view(3, -1)  # fmt: skip
        log_p = torch.log_softmax(sims, 0)
        nll = -log_p[0].mean()
        acc = (log_p.argmax(0) == 0).float().mean()
        l1 = torch.tensor(0.0, requires_grad=True)
        for p in (self.w,):
            l1 = l1 + torch.norm(p, 1)
        loss = nll + 0.01 * torch.relu(-self.w).sum() + self.lam * l1
        self.w.grad = None
        loss.backward()
        self.opt.step()
        return nll.detach(), acc.detach()


def _loader_block(step, dataset, batch: int, steps: int, n_train: int, seed=0):
    """A timed block of `steps` reference steps, each batch drawn from a shuffled
    DataLoader over `dataset` (the public code's data path); returns triplets/s."""
    g = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch, shuffle=True, generator=g, drop_last=True
    )
    state = {"it": iter(loader)}

    def block() -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            try:
                b = next(state["it"])
            except StopIteration:
                state["it"] = iter(loader)
                b = next(state["it"])
            step(b, n_train)
        return steps * batch / (time.perf_counter() - t0)

    return block


def _our_block(step, train: torch.Tensor, batch: int, steps: int, seed=0):
    """A timed block of `steps` of our steps, each batch gathered from a per-epoch
    permutation (our data path); returns triplets/s."""
    g = torch.Generator().manual_seed(seed)
    state = {"order": torch.randperm(len(train), generator=g), "pos": 0}

    def block() -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            if state["pos"] + batch > len(train):
                state["order"], state["pos"] = torch.randperm(len(train), generator=g), 0
            pos = state["pos"]
            step(train.index_select(0, state["order"][pos : pos + batch]))
            state["pos"] = pos + batch
        return steps * batch / (time.perf_counter() - t0)

    return block


def _interleave(blocks: dict, repeats: int) -> tuple[dict, list[float]]:
    """Run the timed blocks in turn, `repeats` rounds after one warm-up round; the median
    rate of each and the load averages seen."""
    rates: dict = {name: [] for name in blocks}
    loads = []
    for block in blocks.values():
        block()  # warm-up: buffers, optimiser state
    for _ in range(repeats):
        for name, block in blocks.items():
            loads.append(_load())
            rates[name].append(block())
    return {name: float(np.median(r)) for name, r in rates.items()}, loads


def _our_step(method: str, cfg, n_objects: int, train, seed=0):
    """Our training step as a fit takes it (`fitting._training_step`: for VICE the step
    that ``cfg.step`` chooses at ``cfg.batch_size``, the sparse one with its per-object
    weights from `train`); a function of a batch, with the step's kind as ``.kind``."""
    g = torch.Generator().manual_seed(seed)
    model = (_VICEModel if method == "vice" else _SPoSEModel)(cfg, n_objects, g)
    train_t = torch.as_tensor(np.asarray(train))
    training_step = _training_step(model, train_t, n_objects)
    n_train = len(train_t)

    def step(batch: torch.Tensor) -> None:
        training_step(batch, g, n_train)

    step.kind = training_step.kind
    return step


# how the step part labels the VICE step "auto": it says so where it is VICEConfig's default
_DEFAULT_STEP = ", the default" if VICEConfig().step == "auto" else ""


def _span(loads) -> str:
    return f"load {min(loads):.1f}-{max(loads):.1f}"


def bench_step(n: int, steps: int, repeats: int) -> None:
    trip = torch.from_numpy(dnn_triplets(n, seed=0))
    n_train = len(trip)
    print(f"[step] {n_train:,} synthetic triplets, 1,854 objects, 100 dims; {_tag()}")
    print(f"[step] reference rewrites: deliberate differences: {REFERENCE_DIFFERENCES}")
    for batch in (128, 2048):
        k = steps if batch == 128 else max(5, steps * 128 // batch)

        def ours(batch=batch, **settings):
            cfg = VICEConfig(n_dims=100, lr=1e-3, batch_size=batch, **settings)
            return _our_step("vice", cfg, 1854, trip)

        auto, auto_sample = ours(step="auto"), ours(step="auto", kl="sample")
        vice = {
            "reference VICE": _loader_block(
                ReferenceVICE(1854, 100).step, OneHotTriplets(trip, 1854), batch, k, n_train
            ),
            f"ours VICE (the default model: mixture prior, analytic entropy; step 'auto'"
            f"{_DEFAULT_STEP}: {auto.kind})": _our_block(auto, trip, batch, k),
            f"ours VICE (mixture prior, single-sample log q - log p as the reference; step "
            f"'auto': {auto_sample.kind})": _our_block(auto_sample, trip, batch, k),
        }
        if auto.kind != "dense":
            vice["ours VICE (mixture prior, analytic entropy; step 'dense')"] = _our_block(
                ours(step="dense"), trip, batch, k
            )
        rates, loads = _interleave(vice, repeats)
        ref = rates.pop("reference VICE")
        print(f"[step] batch {batch}: reference VICE {ref:,.0f} triplets/s; {_span(loads)}")
        for label, rate in rates.items():
            print(
                f"[step] batch {batch}: {label} {rate:,.0f} triplets/s, {rate / ref:.1f}x the "
                f"reference VICE (median of {repeats} interleaved blocks of {k} steps); "
                f"{_span(loads)}"
            )
        spose_cfg = SPoSEConfig(n_dims=100, l1=0.00385, lr=1e-3)
        spose = {
            "reference SPoSE": _loader_block(
                ReferenceSPoSE(1854, 100).step, IndexTriplets(trip), batch, k, n_train
            ),
            "ours SPoSE": _our_block(
                _our_step("spose", spose_cfg, 1854, trip), trip, batch, k
            ),  # fmt: skip
            "ours SPoSE small-data preset": _our_block(
                _our_step("spose", SMALL_DATA_SPOSE, 1854, trip), trip, batch, k
            ),
        }
        rates, loads = _interleave(spose, repeats)
        ref = rates["reference SPoSE"]
        print(
            f"[step] batch {batch}: reference SPoSE {ref:,.0f} triplets/s; ours SPoSE with its "
            f"settings (penalty positivity, lambda 0.00385) {rates['ours SPoSE']:,.0f} "
            f"triplets/s, {rates['ours SPoSE'] / ref:.1f}x the reference SPoSE; ours "
            f"SMALL_DATA_SPOSE (projection, l2: not the reference's model, no ratio) "
            f"{rates['ours SPoSE small-data preset']:,.0f} triplets/s; {_span(loads)}"
        )


def _kept_accuracy(mu: torch.Tensor, sigma: torch.Tensor, test, alpha=0.05, k=5) -> float:
    """Held-out accuracy of ReLU(mu) restricted to the dimensions the pruning rule keeps
    (the statistic our fits record per epoch)."""
    mu, sigma = mu.detach().double(), sigma.detach().double()
    p = torch.special.ndtr(-mu / sigma).t().numpy()
    keep = _bh_counts(p, alpha) > k
    if not keep.any():
        return 1.0 / 3.0
    return evaluate_embedding(mu[:, torch.from_numpy(keep)].numpy(), test)["accuracy"]


def bench_tta(target: float, max_seconds: float, seed: int, eval_steps: int = 200) -> None:
    train_all, _, _, _ = human_data()
    train, test = triplets.split_triplets(train_all, 0.1, seed=seed)
    print(
        f"[tta] human triplets: {len(train):,} training, {len(test):,} held-out; target "
        f"held-out accuracy {target:.4f} (the pruned ReLU(mu) on both sides, scoring time "
        f"excluded); {_tag()}"
    )
    # ours: SMALL_DATA_VICE (batch 2,048, lr 3e-3), scored after every epoch; run before
    # and after the reference (the load drifts), the mean of the two times
    loads = [_load()]
    cfg = dataclasses.replace(SMALL_DATA_VICE, min_epochs=SMALL_DATA_VICE.max_epochs)

    def ours() -> float | None:
        res = fit_vice(train, 1854, cfg, seed=seed, val=test, eval_every=1, progress=False)
        loads.append(_load())
        times = np.cumsum(res.history["seconds"])
        curve = list(zip(times.tolist(), res.history["val_accuracy"], strict=True))
        t_ours = next((t for t, a in curve if a >= target), None)
        print(
            f"[tta] ours (SMALL_DATA_VICE, batch 2048, lr 3e-3): {res.epochs} epochs in "
            f"{times[-1]:.1f} s, best {max(a for _, a in curve):.4f}; reaches the target "
            f"after {'never' if t_ours is None else f'{t_ours:.1f} s'}; {_span(loads)}"
        )
        return t_ours

    ours_times = [ours()]
    # the reference at its defaults: batch 128, lr 1e-3, VICE's sigma init, slab 1, pi 0.5
    ref = ReferenceVICE(1854, 100, seed=seed)
    g = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        OneHotTriplets(train, 1854), batch_size=128, shuffle=True, generator=g
    )
    curve, elapsed, steps, t_ref = [], 0.0, 0, None
    while t_ref is None and elapsed < max_seconds:
        it = iter(loader)
        while t_ref is None and elapsed < max_seconds:
            t0 = time.perf_counter()
            try:
                batch = next(it)
            except StopIteration:
                break
            ref.step(batch, len(train))
            elapsed += time.perf_counter() - t0
            steps += 1
            if steps % eval_steps == 0:
                acc = _kept_accuracy(ref.mu, ref.log_sigma.exp(), test)
                curve.append((elapsed, acc))
                if acc >= target:
                    t_ref = elapsed
                if steps % (eval_steps * 10) == 0:
                    loads.append(_load())
    loads.append(_load())
    ours_times.append(ours())
    t_ours = None if None in ours_times else float(np.mean(ours_times))
    print(
        f"[tta] reference (batch 128, lr 1e-3): {steps} steps ({steps * 128 / len(train):.2f} "
        f"epochs) in {elapsed:.1f} s, held-out accuracy "
        + ", ".join(f"{a:.4f}@{t:.0f}s" for t, a in curve[9::10] + curve[-1:])
        + f"; reaches the target after {'never' if t_ref is None else f'{t_ref:.1f} s'}; "
        f"{_span(loads)}"
    )
    if t_ref is not None and t_ours is not None:
        print(
            f"[tta] time to held-out accuracy {target:.4f}: reference {t_ref:.1f} s, ours "
            f"{t_ours:.2f} s (mean of the runs before and after), {t_ref / t_ours:.1f}x; "
            f"{_span(loads)}"
        )
    else:
        print(f"[tta] the target was not reached by both sides within {max_seconds:.0f} s")


def bench_paper(n: int, seed: int) -> None:
    trip = dnn_triplets(n, seed=seed)
    for name, cfg, n_full in (
        ("PAPER_HUMAN_VICE", PAPER_HUMAN_VICE, 4_120_000),
        ("PAPER_DNN_VICE", PAPER_DNN_VICE, 18_000_000),
    ):
        run = dataclasses.replace(cfg, max_epochs=2)
        res = fit_vice(trip, 1854, run, seed=seed, progress=False)
        sec = float(np.median(res.history["seconds"]))
        steps = math.ceil(len(trip) / cfg.batch_size)
        per_step = sec / steps
        epoch_full = per_step * math.ceil(n_full / cfg.batch_size)
        print(
            f"[paper] {name} ({cfg.n_dims} dims, batch {cfg.batch_size}, prior {cfg.prior}, "
            f"step {cfg.step!r}: {res.embedding.metadata['step']}): "
            f"{sec:.2f} s/epoch on {len(trip):,} triplets = {per_step * 1e3:.2f} ms/step, "
            f"{cfg.batch_size / per_step:,.0f} triplets/s; {n_full / 1e6:g}M triplets: "
            f"{epoch_full / 60:.1f} min/epoch, {epoch_full * cfg.stability_window / 3600:.1f} h "
            f"for the minimum {cfg.stability_window} epochs, "
            f"{epoch_full * cfg.max_epochs / 3600:.1f} h for {cfg.max_epochs}; {_tag()}"
        )


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
    train, removed = triplets.remove_heldout_triplets(np.concatenate([a, b]), [nc, d2171])
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


def _fit_human(method, config, train, val, seed, threads, until_epoch=None, module=None):
    if module is None:
        fit = fit_spose if method == "spose" else fit_vice
    else:
        fit = module.fit_spose if method == "spose" else module.fit_vice
    return fit(train, 1854, config, seed=seed, val=val, eval_every=1, progress=False,
               num_threads=threads, until_epoch=until_epoch)  # fmt: skip


def baseline_module(rev: str):
    """The fitting code as of git revision `rev` (dnnalign_utils/fitting.py, or
    dnnalign_utils/embedding.py before the split), imported as its own module (to compare
    a fit of this checkout with the same fit of an earlier commit in one run)."""
    import importlib.util
    import subprocess
    import sys

    for rel in ("dnnalign_utils/fitting.py", "dnnalign_utils/embedding.py"):
        shown = subprocess.run(
            ["git", "show", f"{rev}:{rel}"], cwd=paths.REPO_ROOT, capture_output=True, text=True
        )
        if shown.returncode == 0:
            break
    shown.check_returncode()
    name = f"embedding_at_{rev}"
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(shown.stdout, f"{rev}:{rel}", "exec"), module.__dict__)
    return module


def bench_human(methods: list[str], seed: int, thread_epochs: int, baseline=None) -> None:
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
        runs = [("this checkout", None)]
        if baseline is not None:
            runs.append((f"baseline {baseline.__name__.removeprefix('embedding_at_')}", baseline))
        for label, module in runs:
            _converged_human_fit(label, module, method, config, train, val, nc, d2171, seed)


def bench_precision(methods: list[str], seed: int) -> None:
    """The human presets fitted in float32 (the default) and in float64 (torch's default
    dtype switched for the fit): does float32 change the results?"""
    train_all, nc, d2171, _ = human_data()
    train, val = triplets.split_triplets(train_all, 0.1, seed=seed)
    presets = {"spose": SMALL_DATA_SPOSE, "vice": SMALL_DATA_VICE}
    for method in methods:
        for dtype in (torch.float32, torch.float64):
            before = torch.get_default_dtype()
            torch.set_default_dtype(dtype)
            try:
                load = _load()
                res = _fit_human(method, presets[method], train, val, seed, 1)
            finally:
                torch.set_default_dtype(before)
            w = res.embedding.weights
            print(
                f"[precision] {method} {str(dtype).removeprefix('torch.')}: {res.epochs} epochs, "
                f"{np.median(res.history['seconds']):.2f} s/epoch, {res.embedding.n_dims} dims, "
                f"noise-ceiling acc {evaluate_embedding(w, nc)['accuracy']:.4f}, 2171-set acc "
                f"{evaluate_embedding(w, d2171)['accuracy']:.4f}; load {load:.1f}"
            )


def _converged_human_fit(label, module, method, config, train, val, nc, d2171, seed) -> None:
    if module is not None:
        config = getattr(module, type(config).__name__)(**dataclasses.asdict(config))
    load = _load()
    t0 = time.perf_counter()
    res = _fit_human(method, config, train, val, seed, 1, module=module)
    wall = time.perf_counter() - t0
    emb = res.embedding
    line = (
        f"[human] {label}: {method} seed {seed}, 1 thread: "
        f"{np.median(res.history['seconds']):.2f} "
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


def bench_pruning(seeds: list[int], epochs: int) -> None:
    """The human VICE fit's returned (pruned) embedding beside its unpruned posterior:
    SMALL_DATA_VICE as it stops, SMALL_DATA_HUMAN_VICE (its longer window, chapter 2's
    human fit) as it stops, and the same run continued to `epochs` epochs (the
    stability rule off until then). Held-out accuracy of ReLU(mu) on the kept dimensions
    and on all, and of 20 posterior samples (mean probability) on the kept and on all;
    on the validation split, the noise-ceiling responses and the 2,171 set."""
    train_all, nc, d2171, _ = human_data()
    for seed in seeds:
        train, val = triplets.split_triplets(train_all, 0.1, seed=seed)
        runs = (
            ("SMALL_DATA_VICE", SMALL_DATA_VICE),
            ("SMALL_DATA_HUMAN_VICE (chapter 2)", SMALL_DATA_HUMAN_VICE),
            (f"continued to {epochs} epochs", dataclasses.replace(
                SMALL_DATA_VICE, max_epochs=epochs, min_epochs=epochs)),
        )  # fmt: skip
        for label, cfg in runs:
            load = _load()
            res = fit_vice(train, 1854, cfg, seed=seed, val=val, eval_every=1, progress=False)
            mu, sigma, emb = res.params["mu"], res.params["sigma"], res.embedding
            h = res.history
            path = ", ".join(
                f"{h['n_dims'][e]}@{e + 1}"
                for e in range(9, res.epochs, max(10, res.epochs // 10))
            )
            print(
                f"[pruning] seed {seed}, {label}: {res.epochs} epochs ({res.stop_reason}), kept "
                f"dimensions along the way (dims@epoch) {path}; validation NLL at the end "
                f"{h['val_nll'][-1]:.4f} (best {min(h['val_nll']):.4f} at epoch "
                f"{h['val_epoch'][int(np.argmin(h['val_nll']))]}); load {load:.1f}"
            )
            for name, t in (("validation", val), ("noise-ceiling", nc), ("2171-set", d2171)):
                kept = evaluate_embedding(emb.weights, t)["accuracy"]
                every = evaluate_embedding(np.maximum(mu, 0), t)["accuracy"]
                mc_kept = evaluate_vice(mu, sigma, t, dims=emb.source_dims)["accuracy"]
                mc_all = evaluate_vice(mu, sigma, t)["accuracy"]
                print(
                    f"[pruning]   {name} accuracy: pruned ({emb.n_dims} dims) {kept:.4f}, "
                    f"unpruned ({mu.shape[1]} dims) {every:.4f}; 20 posterior samples: "
                    f"pruned {mc_kept:.4f}, unpruned {mc_all:.4f}"
                )


def bench_vgg(seed: int, baseline=None) -> None:
    """Chapter 2's VGG-16 fit (default profile settings) with this checkout and, with
    --baseline, with an earlier commit's embedding.py: the book's numbers side by side."""
    train_path, test_path = paths.network_triplet_split("default")
    if not train_path.exists():
        print(f"[vgg] {train_path} missing: build chapter 1 of the book first")
        return
    train = data.load_triplets(train_path, fmt="npy")
    test = data.load_triplets(test_path, fmt="npy")
    cfg = dataclasses.replace(
        SMALL_DATA_VICE, beta=3.0, max_epochs=60, min_epochs=30, stability_window=10
    )  # the notebook's network_beta, network_max_epochs, network_min_epochs, network_window
    runs = [("this checkout", None)]
    if baseline is not None:
        runs.append((f"baseline {baseline.__name__.removeprefix('embedding_at_')}", baseline))
    for label, module in runs:
        fit = fit_vice if module is None else module.fit_vice
        config = cfg if module is None else module.VICEConfig(**dataclasses.asdict(cfg))
        load = _load()
        t0 = time.perf_counter()
        res = fit(train, 1854, config, seed=seed, val=test[:50_000], progress=False)
        wall = time.perf_counter() - t0
        acc = evaluate_embedding(res.embedding.weights, test)["accuracy"]
        print(
            f"[vgg] {label}: {len(train):,} triplets, {res.epochs} epochs ({res.stop_reason}), "
            f"{np.median(res.history['seconds']):.2f} s/epoch, wall {wall:.0f} s, "
            f"{res.embedding.n_dims} dims, held-out acc {100 * acc:.2f} % on {len(test):,}; "
            f"load {load:.1f}"
        )


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
    parser.add_argument("--parts", default="step,tta,human,paper")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--step-triplets", type=int, default=200_000)
    parser.add_argument("--steps", type=int, default=40, help="step part: steps per block")
    parser.add_argument("--repeats", type=int, default=5, help="step part: blocks (median)")
    parser.add_argument("--tta-target", type=float, default=0.52, help="held-out accuracy")
    parser.add_argument("--tta-max-seconds", type=float, default=600.0)
    parser.add_argument("--paper-triplets", type=int, default=200_000)
    parser.add_argument("--pruning-seeds", default="0,1", help="pruning part: seeds")
    parser.add_argument("--pruning-epochs", type=int, default=300, help="pruning part")
    parser.add_argument(
        "--baseline", default=None, help="human part: also fit with embedding.py of this git rev"
    )
    parser.add_argument("--epochs", type=int, default=3, help="synthetic epochs")
    parser.add_argument("--n-triplets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="spose,vice", help="human part: spose,vice")
    parser.add_argument("--thread-epochs", type=int, default=3,
                        help="human part: epochs timed with 1 and with 2 threads")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    parts = args.parts.split(",")
    print(f"torch {torch.__version__}, {os.cpu_count()} cpus, {_tag()}")
    if "step" in parts:
        bench_step(args.step_triplets, args.steps, args.repeats)
    if "tta" in parts:
        bench_tta(args.tta_target, args.tta_max_seconds, args.seed)
    if "paper" in parts:
        bench_paper(args.paper_triplets, args.seed)
    if "synthetic" in parts:
        bench_synthetic(args.epochs, args.n_triplets)
    if "human" in parts:
        baseline = None if args.baseline is None else baseline_module(args.baseline)
        bench_human(args.methods.split(","), args.seed, args.thread_epochs, baseline)
    if "precision" in parts:
        bench_precision(args.methods.split(","), args.seed)
    if "vgg" in parts:
        baseline = None if args.baseline is None else baseline_module(args.baseline)
        bench_vgg(args.seed, baseline)
    if "ceiling" in parts:
        bench_ceiling(args.seed)
    if "rsm" in parts:
        bench_rsm()
    if "pruning" in parts:
        bench_pruning([int(x) for x in args.pruning_seeds.split(",")], args.pruning_epochs)


if __name__ == "__main__":
    main()
