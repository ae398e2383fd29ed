"""Fitting sparse non-negative triplet embeddings: VICE and SPoSE (configs, presets, the
two models, the training loop with checkpoints, the learning curve, fitting to a network).

Both models explain odd-one-out choices with a non-negative embedding X (objects x
dimensions): for a triplet (i, j, k) the pair similarities are dot products
s_ij = x_i . x_j and the probability that k is the odd one out (i.e. (i, j) is the most
similar pair) is softmax([s_ij, s_ik, s_jk])[0] at temperature 1 (see the book's
Methods page, section 'The triplet likelihood').

* **VICE** (variational): a Gaussian posterior q(w) = N(mu, sigma^2) per object x
  dimension, sigma = exp(rho) a standard deviation; reparameterised samples
  w = mu + sigma * eps, ReLU inside the likelihood; a spike-and-slab prior, either the true
  mixture (``prior="mixture"``, VICE-faithful) or the reference code's weighted log
  densities (``prior="objdim_legacy"``, a single Gaussian with precision
  pi/s_spike^2 + (1-pi)/s_slab^2; Methods page, section 'VICE');
  loss = mean NLL + beta * KL / n_train.
  Dimensions are pruned after every epoch by Benjamini-Hochberg-corrected
  p = P(w <= 0) per dimension; training stops once the number of kept dimensions has
  been constant for a window of epochs.
* **SPoSE** (deterministic): a free matrix W, ReLU inside the likelihood,
  loss = mean NLL + (lambda / n_objects) ||W||_1 + 0.01 * sum ReLU(-W) (``positivity=
  "penalty"``, the reference) or a projection onto W >= 0 after each step
  (``positivity="projection"``), optionally plus a Gaussian penalty (l2 / n_train) ||W||^2.
  Dimensions are kept if their maximum weight > 0.1.

Options for small data (~10^5 triplets; ``SMALL_DATA_SPOSE``, ``SMALL_DATA_VICE``): a linear
warm-up of the complexity weight (beta or lambda) over the first ``warmup_epochs`` (at the
symmetric start the likelihood gradient is ~0 and a full-strength prior collapses every
dimension), and selection of the parameters with the lowest validation NLL
(``select="val_nll"``) with optional early stopping after ``patience`` evaluations without
improvement, next to the dimension-stability rule.

Training is plain PyTorch, float32, with hand-derived gradients (tests compare them with
autograd): one fused triplet-softmax step per batch (a single gather of the batch rows
into a reused buffer, three dot products, the softmax, the row gradients written into a
second buffer and one index_add_), the complexity term's gradient computed densely in
place, and Adam through torch's fused kernel. On one core of the shared 2-core machine
this is 1.3-2.2 M training triplets/s for SPoSE and 0.5-0.87 M/s for VICE at batch 2,048,
depending on the load (VICE samples the whole 1,854 x 100 matrix every step: the normal
draws alone are a quarter of a step); benchmarks/bench_embedding.py prints the figures
with the load. For small batches, where a batch touches a minority of the objects, VICE
also has a row-sparse step (``VICEConfig.step``, `_SparseVICEStep`): only the batch's
rows are sampled and updated, with the complexity term in its per-triplet form (the same
objective's gradient in expectation) and lazy Adam; ``step="auto"``, the default, takes
it below the batch size where the dense step becomes faster (`sparse_step_below`,
measured by benchmarks/bench_sparse_step.py).
Triplets are shuffled once per epoch with a seeded permutation and each batch gathers its
own rows, so the training set is never copied, whatever its size. Every draw comes from
one dedicated ``torch.Generator``, so a checkpointed run resumes bit-exactly.

Device and threads: the fits run on ``device`` (default: CUDA when PyTorch sees a GPU,
else the CPU; on a GPU the random streams differ from the CPU's, and a checkpoint resumes
on the device that wrote it). On the CPU they use ``num_threads=1`` by default
(restored afterwards): the per-step arrays are small (0.2-2.5 MB), so a second thread
gains at most ~1.3x when a core is idle (human presets, load ~2.5: SPoSE 0.08 vs 0.06 s,
VICE 0.21 vs 0.16 s per epoch) and costs a lot when the cores are busy (OpenMP threads
waiting for a core: 2 threads were ~65x slower than 1 at load 4). Use more threads only
on an otherwise idle machine.

Choice probabilities are returned in the triplet's column order: ``p[:, c]`` is the
probability that the object in column ``c`` is the odd one out, so the observed choice
(last column) has probability ``p[:, 2]``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from dnnalign_utils.container import (
    Embedding,
    _bh_counts,
    _sorted_embedding,
    evaluate_embedding,
    save_embedding,
)
from dnnalign_utils.conventions import (
    check_field_types,
    check_int,
    triplet_keys,
    validate_triplets,
)
from dnnalign_utils.provenance import (
    array_sha256,
    atomic_path,
    leftover_temporaries,
)

# ------------------------------------------------------------------------------- training

VICE_STEPS = ("auto", "sparse", "dense")
"""The values of `VICEConfig.step`."""

SPARSE_STEP_BELOW_BATCH = 512
"""`VICEConfig(step="auto")` takes the row-sparse step for batches smaller than this and
the dense step from here on. Measured on one thread of the shared 2-core machine, 1,854
objects, 100 dimensions, mixture prior, by ``benchmarks/bench_sparse_step.py --parts
speed`` (the two steps' training triplets/s, alternating block by block, the median of
the blocks, batch 128 to 2,048), two runs at load 3.2-4.4: the sparse step ran 2.2-2.6x
the dense step at batch 128, 1.5-2.0x at 256, 1.1-1.3x at 384 (a batch touching 46 % of
the objects), 0.85-1.16x at 512 (56 %) and 0.5-0.9x from 768 on: faster below 512, about
as fast at 512, slower above. This holds where the dense step samples the whole matrix
(the mixture prior, or kl="sample"); see `sparse_step_below`."""

SPARSE_STEP_BELOW_BATCH_ROWS_SAMPLED = 256
"""As `SPARSE_STEP_BELOW_BATCH` for the legacy prior with kl="analytic", where the dense
step already samples only the batch's rows and the sparse step saves less. Measured as
above with ``--prior objdim_legacy`` and 100 or 150 dimensions (load 3.4-8.0): the sparse
step ran 1.6x the dense step at batch 64, 1.1-1.5x at 128, 1.1-1.2x at 192, 0.89-1.34x at
256 (four runs: about as fast) and 0.94-1.11x at 384 and 512. The paper's settings
(`PAPER_HUMAN_VICE`, batch 256) therefore keep the dense step, the reference's Adam."""


@dataclass(frozen=True)
class VICEConfig:
    """VICE hyper-parameters. Defaults are the VICE repository's (batch 128 there, 256 in
    objdim; window 500 epochs, max 1,000 as objdim); objdim's values are in the comments.
    For ~10^5 triplets use `SMALL_DATA_VICE` (tuned on the real human samples).

    init_log_sigma: "reference" fills rho with -1/std(mu) as the reference code does
    (sigma ~ 1e-3 for 100 dims), or a float used as the constant rho.
    kl: "analytic" uses the closed-form entropy of q and, for the legacy prior, the closed
    form of E_q[log p] (exact); for the mixture E_q[log p] is a single-sample estimate
    over the full matrix. "sample" is the reference's single-sample log q - log p.
    warmup_epochs, select, patience: see the module docstring; select="val_nll" and
    patience need `val` triplets in `fit_vice`.
    step: the training step. "dense" samples and updates the whole posterior every step
    (Adam on both full matrices); "sparse" samples and updates only the rows of the
    batch's objects, with the complexity term in its per-triplet form and lazy Adam
    (`_SparseVICEStep`; the same objective's gradient in expectation); "auto", the
    default, takes the sparse step for batches below `sparse_step_below` (512 for the
    mixture prior, 256 for the legacy prior with kl="analytic") and the dense one from
    there on, whichever is faster (`vice_step`).
    """

    n_dims: int = 100
    prior: str = "mixture"  # "mixture" (VICE) | "objdim_legacy" (objdim, Gaussian-equivalent)
    pi: float = 0.5
    spike_scale: float = 0.25
    slab_scale: float = 1.0  # VICE 1.0, objdim 2.0
    beta: float = 1.0  # human 1.0, DNN 0.24
    lr: float = 1e-3
    batch_size: int = 256
    max_epochs: int = 1000
    stability_window: int = 500
    min_epochs: int = 0  # window is checked once epoch >= max(window, min_epochs)
    alpha: float = 0.05
    min_objects: int = 5  # a dimension is kept with more than this many significant objects
    init_log_sigma: str | float = "reference"
    kl: str = "analytic"
    warmup_epochs: int = 0  # beta ramps linearly: beta * min(1, epoch / warmup_epochs)
    select: str = "last"  # "last" | "val_nll": return the best-validation-NLL epoch's params
    patience: int | None = None  # stop after this many evaluations without a better val NLL
    step: str = "auto"  # "auto" | "sparse" | "dense": the training step (`vice_step`)

    def __post_init__(self) -> None:
        _check_common(self)
        if self.step not in VICE_STEPS:
            raise ValueError(
                f"step: expected one of {', '.join(map(repr, VICE_STEPS))}, got {self.step!r}"
            )
        if self.prior not in ("mixture", "objdim_legacy"):
            raise ValueError(f"prior: expected 'mixture' or 'objdim_legacy', got {self.prior!r}")
        if not 0 < self.pi < 1:
            raise ValueError(f"pi: expected 0 < pi < 1, got {self.pi}")
        if not 0 < self.spike_scale < self.slab_scale:
            raise ValueError(
                f"spike_scale, slab_scale: expected 0 < spike < slab, got "
                f"{self.spike_scale}, {self.slab_scale}"
            )
        if self.beta < 0:
            raise ValueError(f"beta: expected >= 0, got {self.beta}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha: expected 0 < alpha < 1, got {self.alpha}")
        if self.kl not in ("analytic", "sample"):
            raise ValueError(f"kl: expected 'analytic' or 'sample', got {self.kl!r}")
        if not (self.init_log_sigma == "reference" or isinstance(self.init_log_sigma, float)):
            raise ValueError("init_log_sigma: expected 'reference' or a float")
        if int(self.min_objects) < 0:  # a negative count would keep every dimension
            raise ValueError(
                f"min_objects: expected >= 0 (pruning keeps a dimension with more significant "
                f"objects than this), got {self.min_objects}"
            )


@dataclass(frozen=True)
class SPoSEConfig:
    """SPoSE hyper-parameters (objdim: lambda 0.00385, 90 dims, batch 100; SPoSE: 0.008).

    l2: weight of an extra Gaussian penalty (l2 / n_train) ||W||^2 added to the mean NLL,
    i.e. a N(0, 1 / (2 l2)) prior per weight in the summed log posterior (0: off, the
    reference). warmup_epochs ramps l1 and l2 (not the positivity penalty) linearly;
    select and patience as in `VICEConfig`.
    """

    n_dims: int = 100
    l1: float = 0.008  # lambda; penalty (lambda / n_objects) * ||W||_1
    positivity: str = "penalty"  # "penalty" (0.01 * sum ReLU(-W), reference) | "projection"
    lr: float = 1e-3
    batch_size: int = 256
    max_epochs: int = 1000
    stability_window: int = 500
    min_epochs: int = 0
    threshold: float = 0.1
    init_mean: float = 0.1
    init_std: float = 0.01
    l2: float = 0.0
    warmup_epochs: int = 0
    select: str = "last"
    patience: int | None = None

    def __post_init__(self) -> None:
        _check_common(self)
        if self.l2 < 0:
            raise ValueError(f"l2: expected >= 0, got {self.l2}")
        if self.positivity not in ("penalty", "projection"):
            raise ValueError(
                f"positivity: expected 'penalty' or 'projection', got {self.positivity!r}"
            )
        if self.l1 < 0:
            raise ValueError(f"l1: expected >= 0, got {self.l1}")
        if not self.threshold > 0:  # weights are >= 0: a threshold <= 0 prunes nothing
            raise ValueError(
                f"threshold: expected > 0 (a dimension is kept when its largest weight "
                f"exceeds it), got {self.threshold}"
            )
        if not (self.init_mean >= 0 and self.init_std > 0):  # equal columns learn alike
            raise ValueError(
                f"init_mean, init_std: expected init_mean >= 0 and init_std > 0 (the "
                f"dimensions start as different noise), got {self.init_mean}, {self.init_std}"
            )


def _check_common(cfg: Any) -> None:
    check_field_types(cfg)  # e.g. max_epochs="10" or n_dims=2.5 fail here, not in the fit
    for name in ("n_dims", "batch_size", "max_epochs", "stability_window"):
        if int(getattr(cfg, name)) < 1:
            raise ValueError(f"{name}: expected a positive integer, got {getattr(cfg, name)}")
    if cfg.lr <= 0:
        raise ValueError(f"lr: expected > 0, got {cfg.lr}")
    if int(cfg.min_epochs) < 0:
        raise ValueError(f"min_epochs: expected >= 0, got {cfg.min_epochs}")
    if int(cfg.warmup_epochs) < 0:
        raise ValueError(f"warmup_epochs: expected >= 0, got {cfg.warmup_epochs}")
    if cfg.select not in ("last", "val_nll"):
        raise ValueError(f"select: expected 'last' or 'val_nll', got {cfg.select!r}")
    if cfg.patience is not None and int(cfg.patience) < 1:
        raise ValueError(f"patience: expected None or a positive integer, got {cfg.patience}")


def warmup_factor(epoch: int, warmup_epochs: int) -> float:
    """Complexity-weight multiplier during 1-based `epoch`: min(1, epoch / warmup_epochs)
    (1 throughout when warmup_epochs is 0)."""
    if epoch < 1:
        raise ValueError(f"epoch: expected a 1-based epoch >= 1, got {epoch}")
    if warmup_epochs <= 0:
        return 1.0
    return min(1.0, epoch / warmup_epochs)


SMALL_DATA_VICE = VICEConfig(
    n_dims=100,
    prior="mixture",
    slab_scale=2.0,
    beta=1.0,
    lr=3e-3,
    batch_size=2048,
    init_log_sigma=-3.0,
    stability_window=20,
    min_epochs=60,
    max_epochs=150,
)
"""VICE settings for ~10^5 triplets over 1,854 objects (see benchmarks/bench_embedding.py):
batches of 2,048 (about 0.3-1 s per epoch on one busy core instead of several seconds at
256), lr 3e-3 to compensate for the fewer steps, sigma started at exp(-3) so the posterior
widths settle within ~20 epochs, a 60-epoch burn-in (the kept-dimension count first stays
at 100 while sigma is small, then drops within a few epochs) and a 20-epoch window.

The network embeddings (chapters 2 and 7) use it with their own beta and stopping
settings; the human embedding uses `SMALL_DATA_HUMAN_VICE`, its longer window."""

SMALL_DATA_HUMAN_VICE = dataclasses.replace(
    SMALL_DATA_VICE, stability_window=60, min_epochs=100, max_epochs=300
)
"""`SMALL_DATA_VICE` for the ~159k real human training triplets, with a window long enough
for the fit to finish: the kept-dimension count must hold for 60 epochs, from epoch 100
on, at most 300 epochs.

The pruning rule is the paper's (Benjamini-Hochberg at alpha 0.05 within each dimension,
kept with more than 5 objects whose weight is significantly above zero); the window is
scaled to the data (the paper's is 500 epochs on 26 times more triplets). On these
triplets the kept-dimension count still grows after the first drop, by one every 10-30
epochs, while the validation NLL falls. A 20-epoch window (`SMALL_DATA_VICE`) stopped the
fit during that growth, and the returned embedding scored below its own unpruned
posterior (noise-ceiling set, pruned vs unpruned ReLU(mu), benchmarks/bench_embedding.py
--parts pruning): seed 0 stopped after 84 epochs with 8 dimensions, 56.0 % vs 58.0 %.
With this window the fit stops by itself when the growth is over and returns what it
has: seed 0 after 221 epochs with 12 dimensions, 58.0 % vs 58.2 %; seed 1 after 222
with 16, 58.4 % vs 58.6 % (a 100-epoch window: 16-17 dimensions, 58.4-58.7 %). The
dimensions the pruning drops have no object significantly above zero. Variants tried
(beta warm-up over 10 epochs, lr 1e-2, best validation NLL, patience 20): objdim prior
58.6 %, mixture 57.7 %, both keeping all 100 dimensions (the best epoch comes during the
warm-up). For a larger human embedding from this little data use `SMALL_DATA_SPOSE` (~47
dimensions, ~60 %)."""

SMALL_DATA_SPOSE = SPoSEConfig(
    n_dims=100,
    l1=0.005,
    l2=4.0,
    positivity="projection",
    lr=1e-2,
    batch_size=2048,
    max_epochs=150,
    stability_window=30,
    min_epochs=40,
    select="val_nll",
    patience=20,
)
"""Deterministic non-negative embedding for ~10^5 triplets over 1,854 objects (tuned on the
real human samples, ~159k training + 17.7k validation triplets; benchmarks/
bench_embedding.py). Needs `val` triplets and eval_every=1: returns the epoch with the
lowest validation NLL. A projected W (not the reference's ReLU + 0.01 penalty, whose
negative entries are dead), a weak Gaussian penalty l2=4 (prior sd 0.35, the objdim
prior's effective width) that keeps the unregularised fit from overfitting after
~10 epochs, and a small L1 (lambda 0.005) that prunes to ~45 dimensions (max weight >
0.1). Stops 20 epochs after the best validation NLL or when the kept-dimension count has
been stable for 30 epochs (after 40). Noise-ceiling accuracy ~60 %: see the report in
the benchmark for why ~63 % is not reached with this little data."""


PAPER_HUMAN_VICE = VICEConfig(
    n_dims=150,
    prior="objdim_legacy",
    pi=0.5,
    spike_scale=0.25,
    slab_scale=2.0,
    beta=1.0,
    lr=1e-3,
    batch_size=256,
    max_epochs=1000,
    stability_window=500,
    alpha=0.05,
    min_objects=5,
)
"""The paper's human VICE run (the paper's Methods; the book's Methods page, 'VICE'):
150 initial dimensions, batch 256, Adam 1e-3, beta 1, the reference code's prior
(weighted log densities, pi 0.5, spike 0.25, slab 2), k = 5, alpha 0.05, a 500-epoch
window and at most 1,000 epochs. Meant for the 4.12M-triplet release (`paper` profile);
on the CPU this is hours per fit. Its batch of 256 takes the dense step, the paper's Adam,
also under the default ``step="auto"`` (`sparse_step_below`)."""


PAPER_DNN_VICE = dataclasses.replace(PAPER_HUMAN_VICE, beta=0.24)
"""The paper's VGG-16 VICE run: as `PAPER_HUMAN_VICE` with beta 0.24 (20M triplets)."""

PAPER_SPOSE = SPoSEConfig(n_dims=90, l1=0.008, batch_size=100)
"""SPoSE as in Hebart et al. (2020): 90 initial dimensions, lambda 0.008, batch 100, the
reference positivity penalty, pruning at maximum weight 0.1, a 500-epoch window."""

PRESETS: dict[str, dict[str, VICEConfig | SPoSEConfig]] = {
    "small_data": {
        "human_spose": SMALL_DATA_SPOSE,
        "human_vice": SMALL_DATA_HUMAN_VICE,
        "dnn_vice": SMALL_DATA_VICE,
    },
    "paper": {
        "human_spose": PAPER_SPOSE,
        "human_vice": PAPER_HUMAN_VICE,
        "dnn_vice": PAPER_DNN_VICE,
    },
}
"""Settings per scale: ``small_data`` for ~10^5-10^6 triplets (the embedded data),
``paper`` for the paper's millions (the `paper` run profile)."""


def preset(scale: str, role: str) -> VICEConfig | SPoSEConfig:
    """`PRESETS[scale][role]`, with an error naming the known scales and roles."""
    if scale not in PRESETS:
        raise ValueError(f"scale: expected one of {sorted(PRESETS)}, got {scale!r}")
    if role not in PRESETS[scale]:
        raise ValueError(f"role: expected one of {sorted(PRESETS[scale])}, got {role!r}")
    return PRESETS[scale][role]


@dataclass
class FitResult:
    """Outcome of `fit_vice` / `fit_spose`.

    embedding: the pruned, ReLU'd, L1-sorted embedding (kept dimensions only).
    params: unpruned parameters, float64 ("mu", "sigma" for VICE; "W" for SPoSE).
    history: per-epoch lists (epoch, loss, nll, complexity, n_dims, seconds, and
        val_accuracy / val_nll where validation ran).
    converged: True if the stability rule or the patience rule stopped training (False:
        max_epochs or an interruption via `until_epoch`); stop_reason says which
        ("stability", "patience", "max_epochs", "interrupted").
    selected_epoch: the epoch whose parameters `embedding`/`params` hold (the last one, or
        the best-validation-NLL one with select="val_nll"); best_val_epoch: the epoch with
        the lowest validation NLL (None without validation).
    """

    embedding: Embedding
    params: dict[str, np.ndarray]
    history: dict[str, list]
    converged: bool
    epochs: int
    train_seconds: float
    selected_epoch: int | None = None
    best_val_epoch: int | None = None
    stop_reason: str = ""

    def save(
        self,
        path: str | os.PathLike,
        inputs: Mapping[str, Any] | None = None,
        extra_arrays: Mapping[str, np.ndarray] | None = None,
    ) -> Path:
        """Embedding + unpruned parameters + history to `.npz` with provenance;
        `extra_arrays` (e.g. ``things_index``: the THINGS concepts of the rows) are
        stored beside them."""
        extra = {f"param_{k}": v for k, v in self.params.items()}
        extra["history_json"] = np.array(json.dumps(self.history))
        for key, value in (extra_arrays or {}).items():
            if key in extra:
                raise ValueError(f"extra_arrays: key {key!r} collides with a reserved name")
            extra[key] = np.asarray(value)
        return save_embedding(path, self.embedding, extra_arrays=extra, inputs=inputs)


_LOG_2PI = math.log(2 * math.pi)


class _Buffers:
    """Work arrays reused from step to step (no allocation and no page faults per step)."""

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self._store: dict[tuple, torch.Tensor] = {}
        self.device = torch.device(device)

    def get(self, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        key = (name, shape, dtype)
        buf = self._store.get(key)
        if buf is None:
            buf = self._store[key] = torch.empty(shape, dtype=dtype, device=self.device)
        return buf


def _lik_grad_rows(x: torch.Tensor, gx: torch.Tensor) -> float:
    """Mean NLL of a batch of rows and its gradient, fused and hand-derived.

    x: (3, B, D), the (ReLU'd) rows of the objects i, j, k of B triplets (k odd one out);
    gx: (3, B, D), overwritten with dNLL/dx. The logits are [s_jk, s_ik, s_ij]; with
    q = (softmax - e_k) / B: g_i = q_ij x_j + q_ik x_k, g_j = q_ij x_i + q_jk x_k,
    g_k = q_ik x_i + q_jk x_j (tests compare this with autograd).
    """
    xi, xj, xk = x
    gi, gj, gk = gx
    n_batch = x.shape[1]
    # the pair products go into gx first (no allocation), summed at once: (3, B), row c
    # is the logit that the object in column c is the odd one out
    torch.mul(xj, xk, out=gi)
    torch.mul(xi, xk, out=gj)
    torch.mul(xi, xj, out=gk)
    logits = gx.sum(-1)
    logp = torch.log_softmax(logits, 0)
    nll = -float(logp[2].sum()) / n_batch
    q = logp.exp_()
    q[2] -= 1.0
    q_jk, q_ik, q_ij = q.mul_(1.0 / n_batch).unsqueeze(-1)
    torch.mul(xj, q_ij, out=gi).addcmul_(xk, q_ik)
    torch.mul(xi, q_ij, out=gj).addcmul_(xk, q_jk)
    torch.mul(xi, q_ik, out=gk).addcmul_(xj, q_jk)
    return nll


def _lik_grad_into(
    table: torch.Tensor, flat: torch.Tensor, grad: torch.Tensor, bufs: _Buffers
) -> float:
    """Mean NLL of a batch; dNLL/d table is added into `grad` (n_objects, D).

    `flat` holds the batch's object indices column by column, [i_1..i_B, j_1..j_B,
    k_1..k_B] (`_columns`): one index_select into a reused buffer, one index_add_.
    """
    n_rows, d = flat.numel(), table.shape[1]
    x = torch.index_select(table, 0, flat, out=bufs.get("x", (n_rows, d), table.dtype))
    gx = bufs.get("gx", (n_rows, d), table.dtype)
    nll = _lik_grad_rows(x.view(3, -1, d), gx.view(3, -1, d))
    grad.index_add_(0, flat, gx)
    return nll


def _positive(x: torch.Tensor, bufs: _Buffers) -> torch.Tensor:
    """1.0 where x > 0, else 0.0, for x >= 0 (a ReLU's output): sign(x), vectorised (bool
    masks and masked_fill_ are ~20x slower on the CPU)."""
    return torch.sign(x, out=bufs.get("positive", x.shape, x.dtype))


def _sum_sq(x: torch.Tensor) -> float:
    """Sum of squares without a temporary (a BLAS dot of the flat tensor with itself)."""
    flat = x.reshape(-1)
    return float(torch.dot(flat, flat))


def _columns(batch: torch.Tensor) -> torch.Tensor:
    """(B, 3) triplets -> their object indices column by column (see `_lik_grad_into`)."""
    return batch.t().reshape(-1)


class _AdamStep:
    """One step of a ``torch.optim.Adam(fused=True)`` through its fused kernel directly.

    Equal bit for bit to ``opt.step()`` (tested); the moments and step counts stay in the
    optimiser's state, so checkpoints are unchanged. It skips the bookkeeping of
    ``Optimizer.step`` (~0.3 ms per call, a third of a SPoSE step at batch 2,048). The
    first step (which creates the state) and any other kind of optimiser go through
    ``opt.step()``.
    """

    def __init__(self, opt: torch.optim.Optimizer) -> None:
        self.opt = opt
        self._lists: tuple | None = None
        group = opt.param_groups[0]
        self._direct = (
            hasattr(torch, "_fused_adam_")
            and isinstance(opt, torch.optim.Adam)
            and len(opt.param_groups) == 1
            and bool(group.get("fused"))
            and not group.get("amsgrad")
            and not group.get("maximize")
            and not group.get("decoupled_weight_decay")
            and not group.get("capturable")
            and not group.get("differentiable")
        )

    def __call__(self) -> None:
        if not self._direct:
            self.opt.step()
            return
        group = self.opt.param_groups[0]
        params = group["params"]
        states = [self.opt.state.get(p) for p in params]
        if any(not s for s in states):
            self.opt.step()  # creates the state
            return
        lists = self._lists
        if lists is None or any(
            a is not s["exp_avg"] for a, s in zip(lists[1], states, strict=True)
        ):
            lists = self._lists = (  # (re)built after the first step or a state load
                [s["step"] for s in states],
                [s["exp_avg"] for s in states],
                [s["exp_avg_sq"] for s in states],
            )
        steps, exp_avgs, exp_avg_sqs = lists
        torch._foreach_add_(steps, 1)
        beta1, beta2 = group["betas"]
        torch._fused_adam_(
            params, [p.grad for p in params], exp_avgs, exp_avg_sqs, [], steps,
            lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
            eps=group["eps"], amsgrad=False, maximize=False, grad_scale=None, found_inf=None,
        )  # fmt: skip


class _VICEModel:
    """Parameters, loss and hand-written gradients of VICE (see the module docstring).

    One step: sample W = mu + sigma * eps (the whole matrix when the complexity term needs
    a sample, i.e. mixture prior or kl="sample", and then the same sample feeds the
    likelihood as in the reference; otherwise only the rows in the batch), gather the
    batch rows, compute the NLL and dNLL/dW for those rows, scatter-add into dense
    gradients of mu and rho, and add the gradient of beta * complexity / n_train. All
    float32, in place, into buffers reused from step to step.
    """

    def __init__(self, cfg: VICEConfig, n_objects: int, g: torch.Generator) -> None:
        self.cfg = cfg
        d = cfg.n_dims
        std = math.sqrt(2.0 / d)  # Kaiming-normal, fan = D, ReLU gain
        mu = torch.randn(n_objects, d, generator=g, device=g.device) * std
        if cfg.init_log_sigma == "reference":
            rho0 = -1.0 / float(mu.std())
        else:
            rho0 = float(cfg.init_log_sigma)
        self.mu = mu
        self.rho = torch.full((n_objects, d), rho0, device=g.device)
        self.complexity_weight = 1.0  # warm-up multiplier of beta, set per epoch by _fit
        s1, s2, pi = cfg.spike_scale, cfg.slab_scale, cfg.pi
        # legacy: pi log N(0, s1) + (1 - pi) log N(0, s2) = const - prec x^2 / 2
        self._prec = pi / s1**2 + (1 - pi) / s2**2
        self._legacy_const = -0.5 * _LOG_2PI - (pi * math.log(s1) + (1 - pi) * math.log(s2))
        # mixture: log p = b0 - x^2 / (2 s2^2) + softplus(c0 - kappa x^2), exact
        self._b0 = math.log1p(-pi) - math.log(s2) - 0.5 * _LOG_2PI
        self._c0 = math.log(pi) - math.log(s1) - math.log1p(-pi) + math.log(s2)
        self._kappa = 0.5 / s1**2 - 0.5 / s2**2
        self._bufs = _Buffers(g.device)

    def parameters(self) -> list[torch.Tensor]:
        return [self.mu, self.rho]

    def log_prior(self, x: torch.Tensor) -> torch.Tensor:
        """Element-wise log prior density (legacy: the weighted log densities)."""
        x2 = x * x
        if self.cfg.prior == "objdim_legacy":
            return self._legacy_const - 0.5 * self._prec * x2
        s2 = self.cfg.slab_scale
        return (
            self._b0 - x2 / (2 * s2**2) + torch.nn.functional.softplus(self._c0 - self._kappa * x2)
        )

    def _log_prior_sum_grad(self, w: torch.Tensor) -> tuple[float, torch.Tensor]:
        """(sum of log p(w), d log p / dw) for the mixture prior."""
        grad = torch.zeros_like(w)
        return self._log_prior_sum_grad_into(w, grad, 1.0), grad

    def _log_prior_sum_grad_into(self, w: torch.Tensor, out: torch.Tensor, alpha: float) -> float:
        """Sum of the mixture log p(w); adds alpha * d log p / dw into `out`.

        With z = c0 - kappa w^2 <= c0 (kappa > 0 as spike < slab) and s = sigmoid(z):
        softplus(z) = -log(1 - s) and d softplus / dz = s, so one vectorised sigmoid serves
        both (torch's softplus and log1p are not vectorised on the CPU, ~10x slower). The
        logs are taken of products of `_prod_group` factors 1 - s >= 1 / (1 + e^c0), which
        cannot underflow: a tenth of the logs, the same sum to float32 rounding.
        """
        s2 = self.cfg.slab_scale
        bufs = self._bufs
        z = torch.mul(w, w, out=bufs.get("w2", w.shape, w.dtype))
        total = self._b0 * w.numel() - float(z.sum()) / (2 * s2**2)
        sig = torch.sigmoid(z.mul_(-self._kappa).add_(self._c0), out=z)
        one_minus = torch.sub(1.0, sig, out=bufs.get("one_minus", w.shape, w.dtype))
        k = self._prod_group(w.numel())
        total -= float(one_minus.view(-1, k).prod(1).log_().sum())
        # d log p / dw = (-2 kappa sigmoid(z) - 1 / s2^2) w
        out.addcmul_(sig.mul_(-2 * self._kappa).sub_(1 / s2**2), w, value=alpha)
        return total

    def _prod_group(self, numel: int) -> int:
        """Largest k <= 10 dividing `numel` with (1 + e^c0)^k far from float32 underflow."""
        k_max = max(1, min(10, int(60.0 / math.log1p(math.exp(self._c0)))))
        return next(k for k in range(k_max, 0, -1) if numel % k == 0)

    def _legacy_analytic_into(self, mu, sigma, grad_mu, grad_rho, scale: float) -> float:
        """-E_q[log p] of the legacy prior in closed form (E_q[w^2] = mu^2 + sigma^2);
        adds scale * its gradient and the entropy's (-scale per rho) into the gradients."""
        n, d = mu.shape
        var = torch.mul(sigma, sigma, out=self._bufs.get("var", mu.shape, mu.dtype))
        m2 = _sum_sq(mu) + float(var.sum())
        grad_mu.add_(mu, alpha=scale * self._prec)
        grad_rho.add_(var, alpha=scale * self._prec).sub_(scale)
        return -(self._legacy_const * n * d - 0.5 * self._prec * m2)

    def _grads(self) -> tuple[torch.Tensor, torch.Tensor]:
        """mu.grad and rho.grad, allocated once and then overwritten in place each step."""
        if self.mu.grad is None or self.rho.grad is None:
            self.mu.grad, self.rho.grad = torch.zeros_like(self.mu), torch.zeros_like(self.rho)
        return self.mu.grad, self.rho.grad

    @torch.no_grad()
    def step_grad(self, batch: torch.Tensor, g: torch.Generator, n_train: int):
        """Set mu.grad, rho.grad for loss = NLL_batch + beta * complexity / n_train."""
        cfg = self.cfg
        mu, rho, bufs = self.mu, self.rho, self._bufs
        n, d = mu.shape
        flat = _columns(batch)
        n_rows = flat.numel()
        grad_mu, grad_rho = self._grads()
        grad_mu.zero_()
        sigma = torch.exp(rho, out=bufs.get("sigma", (n, d), rho.dtype))
        beta = cfg.beta * self.complexity_weight
        scale = beta / n_train
        neg_entropy = -float(rho.sum()) - 0.5 * (_LOG_2PI + 1.0) * rho.numel()
        if cfg.prior == "mixture" or cfg.kl == "sample" or n_rows >= n:
            # One sample per object: the ReLU mask and the noise are per object, so the
            # likelihood gradient is scattered once and multiplied densely.
            eps = torch.randn((n, d), generator=g, out=bufs.get("eps", (n, d), mu.dtype))
            if cfg.kl == "sample":
                eps_sq = _sum_sq(eps)
            noise = eps.mul_(sigma)
            w = torch.add(mu, noise, out=bufs.get("w", (n, d), mu.dtype))
            x = torch.clamp_min(w, 0.0, out=bufs.get("relu_w", (n, d), mu.dtype))
            nll = _lik_grad_into(x, flat, grad_mu, bufs)
            grad_mu.mul_(_positive(x, bufs))  # the ReLU's derivative
            if cfg.prior == "mixture" or cfg.kl == "sample":
                if cfg.prior == "objdim_legacy":
                    w_sq = _sum_sq(w)
                    lp = self._legacy_const * n * d - 0.5 * self._prec * w_sq
                    grad_mu.add_(w, alpha=scale * self._prec)  # -scale * d log p / dw
                else:
                    lp = self._log_prior_sum_grad_into(w, grad_mu, -scale)
                if cfg.kl == "sample":  # reference: log q(w) - log p(w) at the one sample
                    log_q = -float(rho.sum()) - 0.5 * eps_sq - 0.5 * _LOG_2PI * n * d
                    comp = log_q - lp
                else:  # closed-form entropy, single-sample cross-entropy
                    comp = neg_entropy - lp
                # w = mu + exp(rho) eps: dL/drho = dL/dw * noise, and -scale from log q
                torch.mul(grad_mu, noise, out=grad_rho).sub_(scale)
            else:  # legacy prior, analytic KL, every object sampled
                torch.mul(grad_mu, noise, out=grad_rho)
                comp = neg_entropy + self._legacy_analytic_into(
                    mu, sigma, grad_mu, grad_rho, scale
                )
        else:  # legacy prior, analytic KL: only the batch rows are sampled
            eps = torch.randn(
                (n_rows, d), generator=g, out=bufs.get("eps_b", (n_rows, d), mu.dtype)
            )
            # the noise is drawn triplet by triplet; the kernel wants the rows column by column
            noise = eps.view(-1, 3, d).transpose(0, 1).reshape(n_rows, d)
            noise.mul_(sigma.index_select(0, flat))
            w = mu.index_select(0, flat).add_(noise)
            gx = bufs.get("gx_b", (n_rows, d), mu.dtype)
            x = torch.relu(w)
            nll = _lik_grad_rows(x.view(3, -1, d), gx.view(3, -1, d))
            gx.mul_(_positive(x, bufs))
            grad_mu.index_add_(0, flat, gx)
            grad_rho.zero_().index_add_(0, flat, gx.mul_(noise))
            comp = neg_entropy + self._legacy_analytic_into(mu, sigma, grad_mu, grad_rho, scale)
        comp /= n_train
        return nll + beta * comp, nll, comp

    def post_step(self) -> None:
        return None

    @torch.no_grad()
    def keep_mask(self) -> np.ndarray:
        mu = self.mu.double()
        sd = self.rho.double().exp()
        p = torch.special.ndtr(-mu / sd).t().cpu().numpy()
        return _bh_counts(p, self.cfg.alpha) > self.cfg.min_objects

    @torch.no_grad()
    def numpy_params(self) -> dict[str, np.ndarray]:
        return {
            "mu": self.mu.double().cpu().numpy().copy(),
            "sigma": self.rho.double().exp().cpu().numpy().copy(),
        }

    def deterministic_weights(self) -> torch.Tensor:
        return self.mu


def sparse_step_below(cfg: VICEConfig) -> int:
    """The batch size from which ``step="auto"`` takes the dense step: where the dense step
    samples the whole matrix (mixture prior or kl="sample") `SPARSE_STEP_BELOW_BATCH`,
    else (legacy prior, kl="analytic": it samples only the batch's rows)
    `SPARSE_STEP_BELOW_BATCH_ROWS_SAMPLED`."""
    if cfg.prior == "mixture" or cfg.kl == "sample":
        return SPARSE_STEP_BELOW_BATCH
    return SPARSE_STEP_BELOW_BATCH_ROWS_SAMPLED


def vice_step(cfg: VICEConfig) -> str:
    """The step a VICE fit with `cfg` takes, "sparse" or "dense": `cfg.step`, where "auto"
    is the sparse step for batches below `sparse_step_below(cfg)`."""
    if cfg.step == "auto":
        return "sparse" if cfg.batch_size < sparse_step_below(cfg) else "dense"
    return cfg.step


def _touched_share(counts: torch.Tensor, n_train: int, batch_size: int) -> torch.Tensor:
    """Per object, the probability that a batch of `batch_size` distinct training triplets
    out of `n_train` contains it, for an object in `counts` of them:
    1 - C(n - c, B) / C(n, B) (1 where B > n - c; 0 for an object in none)."""
    n, b = float(n_train), float(min(batch_size, n_train))
    rest = n_train - counts.double()
    log_none = (
        torch.lgamma(rest + 1)
        - torch.lgamma((rest - b).clamp_min(0.0) + 1)
        - (math.lgamma(n + 1) - math.lgamma(n - b + 1))
    )
    return torch.where(rest >= b, -torch.expm1(log_none.clamp_max(0.0)), 1.0)


class _LazyAdam:
    """Adam on the rows a step touches (lazy Adam): the moments and parameters of the
    given rows are updated, every other row and its moments stay as they are; the bias
    correction counts every step (1 - beta^t with t the number of steps, not of the row's
    updates). Row o's step size is ``lr_rows[o]``. With every row touched at every step and
    one step size it is ``torch.optim.Adam`` (tested)."""

    def __init__(self, params: Sequence[torch.Tensor], lr_rows: torch.Tensor) -> None:
        self.params = list(params)
        self.lr_rows = lr_rows
        self.betas, self.eps = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = 0
        # torch's fused Adam kernel where there is one (as `_AdamStep`), on the gathered rows
        self._fused = hasattr(torch, "_fused_adam_")
        self._step_counts = [torch.zeros((), device=p.device) for p in self.params]

    @torch.no_grad()
    def step(self, rows: torch.Tensor, grads: Sequence[torch.Tensor]) -> None:
        """One step: `grads[i]` holds d loss / d params[i][rows] (distinct rows)."""
        self.steps += 1
        b1, b2 = self.betas
        exp_avgs = [m.index_select(0, rows) for m in self.exp_avg]
        exp_avg_sqs = [v.index_select(0, rows) for v in self.exp_avg_sq]
        if self._fused:
            # the kernel steps `moves` from 0 with lr 1: -m_hat / (sqrt(v_hat) + eps); each
            # row's own step size multiplies it below (~1.4x faster than the loop below)
            moves = [torch.zeros_like(grad) for grad in grads]
            for count in self._step_counts:
                count.fill_(self.steps)
            torch._fused_adam_(
                moves, list(grads), exp_avgs, exp_avg_sqs, [], self._step_counts,
                lr=1.0, beta1=b1, beta2=b2, weight_decay=0.0, eps=self.eps, amsgrad=False,
                maximize=False, grad_scale=None, found_inf=None,
            )  # fmt: skip
        else:
            c1, c2 = 1.0 - b1**self.steps, 1.0 - b2**self.steps
            moves = []
            for grad, m, v in zip(grads, exp_avgs, exp_avg_sqs, strict=True):
                m.mul_(b1).add_(grad, alpha=1.0 - b1)
                v.mul_(b2).addcmul_(grad, grad, value=1.0 - b2)
                denom = v.sqrt().div_(math.sqrt(c2)).add_(self.eps)
                moves.append(m.div(denom).mul_(-1.0 / c1))
        step_size = self.lr_rows.index_select(0, rows).unsqueeze(1)
        for i, p in enumerate(self.params):
            self.exp_avg[i].index_copy_(0, rows, exp_avgs[i])
            self.exp_avg_sq[i].index_copy_(0, rows, exp_avg_sqs[i])
            p.index_add_(0, rows, moves[i].mul_(step_size))

    def state_dict(self) -> dict[str, Any]:
        return {
            "lazy_adam_steps": self.steps,
            "exp_avg": [m.clone() for m in self.exp_avg],
            "exp_avg_sq": [v.clone() for v in self.exp_avg_sq],
        }

    @torch.no_grad()
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.steps = int(state["lazy_adam_steps"])
        saved = [*state["exp_avg"], *state["exp_avg_sq"]]
        for mine, value in zip(self.exp_avg + self.exp_avg_sq, saved, strict=True):
            mine.copy_(value)


class _DenseStep:
    """A model's dense training step: its gradient (`step_grad`), Adam, `post_step`."""

    kind = "dense"

    def __init__(self, model: Any) -> None:
        self.model = model
        self.opt = torch.optim.Adam(model.parameters(), lr=model.cfg.lr, fused=True)
        self._adam = _AdamStep(self.opt)

    def __call__(self, batch: torch.Tensor, g: torch.Generator, n_train: int):
        out = self.model.step_grad(batch, g, n_train)
        self._adam()
        self.model.post_step()
        return out

    def state_dict(self) -> dict[str, Any]:
        return self.opt.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.opt.load_state_dict(state)


class _SparseVICEStep:
    """The row-sparse VICE step: only the batch's rows are sampled and updated.

    The complexity term is a sum over objects, KL = sum_o KL_o, and object o occurs in
    c_o of the n_train training triplets, so KL = sum_t sum_{o in t} KL_o / c_o is also a
    sum over triplets. A step on a batch of B triplets takes beta * sum_o r_o KL_o, with
    r_o = (occurrences of o in the batch) / (B c_o), as its complexity term: its
    expectation over a random batch is the dense step's beta * KL / n_train, and with B
    dividing n_train its sum over an epoch equals the dense steps' sum (tested); it
    involves only the batch's rows. The step draws one sample per row of the batch's
    objects (as the dense step draws one per object), computes the likelihood and this
    term on them (the same estimates of KL_o as the dense step: closed-form entropy or
    the single-sample log q; E_q[log p] at the sample, or for the legacy prior with
    kl="analytic" in closed form) and updates those rows with `_LazyAdam`. Objects in no
    training triplet have no triplet to carry their KL_o: they join every step with the
    dense weight 1 / n_train.

    Step size. Lazy Adam moves a row only when a batch touches it, by about one
    normalised step; dense Adam moves every row at every step, and a row whose gradient
    comes in a share f of the steps moves by about sqrt(f) of a step each time, 1 /
    sqrt(f) per touch. Row o's step size is therefore lr / sqrt(f_o), f_o the probability
    that a batch contains o (`_touched_share`; about 0.19 at batch 128 on 1,854 objects,
    a factor of about 2.3; 1 for the objects in every step). Of the factors f_o^-p tried
    for p from 0 to 1, p = 1/2 reached the highest held-out accuracy or one within the
    seeds' range after equal epochs (benchmarks/bench_sparse_step.py --parts fits
    --lr-power p; the book's How to run page has the numbers).
    """

    kind = "sparse"

    def __init__(self, model: _VICEModel, train: torch.Tensor, n_objects: int) -> None:
        self.model = model
        cfg, dtype = model.cfg, model.mu.dtype
        n_train = len(train)
        counts = torch.bincount(train.reshape(-1), minlength=n_objects)
        present = counts > 0
        self._per_count = torch.where(present, 1.0 / counts.double(), 0.0).to(dtype)
        absent = torch.nonzero(~present).view(-1)
        self._absent = absent if absent.numel() else None
        self._base = torch.where(present, 0.0, 1.0 / n_train).to(dtype)
        share = torch.where(present, _touched_share(counts, n_train, cfg.batch_size), 1.0)
        self.adam = _LazyAdam(model.parameters(), (cfg.lr / share.sqrt()).to(dtype))

    @torch.no_grad()
    def grads(self, batch: torch.Tensor, g: torch.Generator):
        """(rows, d loss / d mu[rows], d loss / d rho[rows], NLL, complexity) for the batch:
        the rows it touches (sorted), the gradients of NLL + beta * sum_o r_o KL_o, the
        batch's mean NLL and sum_o r_o KL_o (an estimate of KL / n_train)."""
        m = self.model
        cfg = m.cfg
        flat = _columns(batch)
        n_flat, n_batch = flat.numel(), len(batch)
        if self._absent is None:
            rows, inv = torch.unique(flat, return_inverse=True)
        else:
            rows, inv = torch.unique(torch.cat([flat, self._absent]), return_inverse=True)
            inv = inv[:n_flat]
        mu, rho = m.mu.index_select(0, rows), m.rho.index_select(0, rows)
        r = torch.bincount(inv, minlength=len(rows)).to(mu.dtype)
        r.mul_(self._per_count.index_select(0, rows)).div_(n_batch)
        if self._absent is not None:
            r.add_(self._base.index_select(0, rows))
        n_rows, d = mu.shape
        sigma = rho.exp()
        eps = torch.randn(mu.shape, generator=g, dtype=mu.dtype, device=mu.device)
        # the rows' KL_o estimates, log q (or minus the entropy) - log p, summed in place
        # (one vector, then one dot product with r: few small operations per step)
        kl_rows = rho.sum(1).neg_()
        if cfg.kl == "sample":  # log q at the sample
            kl_rows.sub_((eps * eps).sum(1), alpha=0.5)
            kl_const = -0.5 * _LOG_2PI * d
        else:  # minus the closed-form entropy
            kl_const = -0.5 * (_LOG_2PI + 1.0) * d
        noise = eps.mul_(sigma)
        w = mu + noise
        x = w.clamp_min(0.0)
        gx = torch.empty((n_flat, d), dtype=mu.dtype, device=mu.device)
        nll = _lik_grad_rows(x.index_select(0, inv).view(3, -1, d), gx.view(3, -1, d))
        grad_w = torch.zeros_like(w).index_add_(0, inv, gx).mul_(torch.sign(x))
        a = (r * (cfg.beta * m.complexity_weight)).unsqueeze(1)  # d loss / d KL_o
        if cfg.prior == "mixture":
            # -log p = -b0 + w^2 / (2 s2^2) + log(1 - sigmoid(c0 - kappa w^2)) per entry,
            # the logs taken of products of k factors as in the dense step
            s2 = cfg.slab_scale
            z = w * w
            kl_rows.add_(z.sum(1), alpha=1 / (2 * s2**2))
            kl_const -= m._b0 * d
            sig = torch.sigmoid(z.mul_(-m._kappa).add_(m._c0), out=z)
            k = m._prod_group(d)
            kl_rows.add_((1.0 - sig).view(n_rows, -1, k).prod(2).log_().sum(1))
            # -d log p / dw = (2 kappa sigmoid(c0 - kappa w^2) + 1 / s2^2) w
            grad_w.addcmul_(sig.mul_(2 * m._kappa).add_(1 / s2**2).mul_(w), a)
            grad_mu, grad_rho = grad_w, grad_w * noise
        elif cfg.kl == "sample":  # legacy prior at the sample: -log p = -const + prec w^2 / 2
            kl_rows.add_((w * w).sum(1), alpha=0.5 * m._prec)
            kl_const -= m._legacy_const * d
            grad_w.addcmul_(w, a, value=m._prec)
            grad_mu, grad_rho = grad_w, grad_w * noise
        else:  # legacy prior, E_q[w^2] = mu^2 + sigma^2 in closed form
            var = sigma.mul_(sigma)
            kl_rows.add_((mu * mu).add_(var).sum(1), alpha=0.5 * m._prec)
            kl_const -= m._legacy_const * d
            grad_rho = (grad_w * noise).addcmul_(var, a, value=m._prec)
            grad_mu = grad_w.addcmul_(mu, a, value=m._prec)
        grad_rho.sub_(a)  # the entropy's (or log q's) -sum rho
        return rows, grad_mu, grad_rho, nll, float(kl_rows.add_(kl_const).dot(r))

    def __call__(self, batch: torch.Tensor, g: torch.Generator, n_train: int):
        rows, grad_mu, grad_rho, nll, comp = self.grads(batch, g)
        self.adam.step(rows, (grad_mu, grad_rho))
        return nll + self.model.cfg.beta * self.model.complexity_weight * comp, nll, comp

    def state_dict(self) -> dict[str, Any]:
        return self.adam.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.adam.load_state_dict(state)


def _training_step(model: Any, train: torch.Tensor, n_objects: int):
    """The training step of a fit: `_SparseVICEStep` where `vice_step` says so, else
    `_DenseStep` (SPoSE's step is dense)."""
    if isinstance(model, _VICEModel) and vice_step(model.cfg) == "sparse":
        return _SparseVICEStep(model, train, n_objects)
    return _DenseStep(model)


class _SPoSEModel:
    """Parameters, loss and hand-written gradients of SPoSE (see the module docstring)."""

    def __init__(self, cfg: SPoSEConfig, n_objects: int, g: torch.Generator) -> None:
        self.cfg = cfg
        noise = torch.randn(n_objects, cfg.n_dims, generator=g, device=g.device)
        self.W = cfg.init_mean + cfg.init_std * noise
        if cfg.positivity == "projection":
            self.W.clamp_(min=0)  # start on the feasible set
        self.n_objects = n_objects
        self.complexity_weight = 1.0  # warm-up multiplier of l1 and l2, set per epoch by _fit
        self._bufs = _Buffers(g.device)

    def parameters(self) -> list[torch.Tensor]:
        return [self.W]

    @torch.no_grad()
    def step_grad(self, batch: torch.Tensor, g: torch.Generator, n_train: int):
        W = self.W
        if W.grad is None:
            W.grad = torch.zeros_like(W)
        grad = W.grad.zero_()
        flat = _columns(batch)
        lam = self.cfg.l1 * self.complexity_weight / self.n_objects
        if self.cfg.positivity == "projection":
            # W >= 0 after every step, so the model is x = W on the feasible set: the
            # gradient is not masked at W = 0 (a ReLU mask would freeze every entry the
            # projection has set to 0 for good), and ||W||_1 = sum(W) has gradient lambda.
            nll = _lik_grad_into(W, flat, grad, self._bufs)
            comp = lam * float(W.sum())
            grad.add_(lam)
        else:
            # the reference: ReLU inside the likelihood, lambda ||W||_1 + 0.01 sum ReLU(-W).
            # With x = ReLU(W): ||W||_1 = 2 sum x - sum W, sum ReLU(-W) = sum x - sum W, and
            # the gradient is (dNLL/dx + lambda) [W > 0] - (lambda + 0.01) [W < 0].
            x = torch.clamp_min(W, 0.0, out=self._bufs.get("relu_w", W.shape, W.dtype))
            nll = _lik_grad_into(x, flat, grad, self._bufs)
            positive = _positive(x, self._bufs)
            grad.mul_(positive).add_(positive, alpha=lam)
            negative = torch.clamp_max(W, 0.0, out=self._bufs.get("neg_w", W.shape, W.dtype))
            grad.add_(negative.sign_(), alpha=lam + 0.01)  # sign: -1 where W < 0
            sum_x, sum_w = float(x.sum()), float(W.sum())
            comp = lam * (2 * sum_x - sum_w) + 0.01 * (sum_x - sum_w)
        if self.cfg.l2 > 0:
            l2 = self.cfg.l2 * self.complexity_weight / n_train
            comp += l2 * _sum_sq(W)
            grad.add_(W, alpha=2 * l2)
        return nll + comp, nll, comp

    @torch.no_grad()
    def post_step(self) -> None:
        if self.cfg.positivity == "projection":
            self.W.clamp_(min=0)

    @torch.no_grad()
    def keep_mask(self) -> np.ndarray:
        return (self.W.max(0).values > self.cfg.threshold).cpu().numpy()

    @torch.no_grad()
    def numpy_params(self) -> dict[str, np.ndarray]:
        return {"W": self.W.double().cpu().numpy().copy()}

    def deterministic_weights(self) -> torch.Tensor:
        return self.W


def _stable(n_dims_history: Sequence[int], window: int, min_epochs: int) -> bool:
    """True once the kept-dimension count is identical (and > 0) over the last `window` epochs."""
    epoch = len(n_dims_history)
    if epoch < max(window, min_epochs):
        return False
    last = n_dims_history[-window:]
    return last[0] > 0 and all(n == last[0] for n in last)


class _Threads:
    """Context manager: torch intra-op threads set to `n` (None: unchanged), then restored."""

    def __init__(self, n: int | None) -> None:
        if n is not None and int(n) < 1:
            raise ValueError(f"num_threads: expected None or a positive integer, got {n}")
        self.n = n

    def __enter__(self) -> None:
        self.before = torch.get_num_threads()
        if self.n is not None:
            torch.set_num_threads(int(self.n))

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.before)


def _fit(
    method: str,
    train: Any,
    n_objects: int,
    cfg: VICEConfig | SPoSEConfig,
    *,
    seed: int = 0,
    val: Any = None,
    eval_every: int = 10,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int = 10,
    until_epoch: int | None = None,
    progress: bool = True,
    num_threads: int | None = 1,
    device: str | torch.device | None = None,
) -> FitResult:
    """The one entry point of `fit_vice` and `fit_spose`; the keyword defaults are here."""
    check_int("n_objects", n_objects, minimum=1)
    check_int("eval_every", eval_every, minimum=1)
    check_int("checkpoint_every", checkpoint_every, minimum=1)
    with _Threads(num_threads):
        return _fit_impl(
            method, train, n_objects, cfg, seed=seed, val=val, eval_every=eval_every,
            checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every,
            until_epoch=until_epoch, progress=progress, device=device,
        )  # fmt: skip


def _trials(triplets: np.ndarray, n_objects: int) -> pd.MultiIndex:
    """One entry per trial: its three objects (in any order) and the odd one out."""
    return pd.MultiIndex.from_arrays([triplet_keys(triplets, n_objects), triplets[:, 2]])


def _check_held_out(train: np.ndarray, val: np.ndarray, n_objects: int) -> None:
    """Validation triplets select epochs and stop runs: they must not be training data.
    Counts the validation trials (objects and choice) that are also training trials; more
    than chance explains (twice the share of all object sets that the training set
    holds, and more than 10) is refused when it is every one of them (the training set
    itself, or a part of it) and warned about otherwise."""
    shared = _trials(val, n_objects).isin(_trials(train, n_objects))
    n_shared, n_val = int(shared.sum()), len(val)
    chance = n_val * np.unique(triplet_keys(train, n_objects)).size / math.comb(n_objects, 3)
    if n_shared <= max(10.0, 2 * chance):
        return
    if n_shared == n_val:
        raise ValueError(
            f"val: all {n_val:,} validation triplets are also training triplets (the same "
            "objects and choice): the validation NLL would select epochs on training "
            "data; pass triplets held out of train"
        )
    warnings.warn(
        f"val: {n_shared:,} of the {n_val:,} validation triplets ({n_shared / n_val:.1%}) "
        f"are also training triplets (the same objects and choice; about {chance:.0f} "
        "expected by chance): the validation NLL partly measures the training data; "
        "pass triplets held out of train",
        stacklevel=5,
    )


def _device(device: str | torch.device | None) -> torch.device:
    """The fit's device: `device` if given, else CUDA when PyTorch sees a GPU, else the CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _fit_impl(
    method: str,
    train: Any,
    n_objects: int,
    cfg: VICEConfig | SPoSEConfig,
    *,
    seed: int,
    val: Any,
    eval_every: int,
    checkpoint_path: str | os.PathLike | None,
    checkpoint_every: int,
    until_epoch: int | None,
    progress: bool,
    device: str | torch.device | None = None,
) -> FitResult:
    train_np = validate_triplets(train, n_objects, name="train")
    val_np = None if val is None else validate_triplets(val, n_objects, name="val")
    if checkpoint_every < 1 or eval_every < 1:
        raise ValueError("checkpoint_every, eval_every: expected positive integers")
    if val_np is None and (cfg.select == "val_nll" or cfg.patience is not None):
        raise ValueError(
            f"val: select={cfg.select!r} / patience={cfg.patience} need validation triplets "
            "(e.g. 10 % of the training triplets, never the test sets)"
        )
    if val_np is not None:
        _check_held_out(train_np, val_np, n_objects)
    n_train = train_np.shape[0]
    identity = _run_identity(method, cfg, seed, n_objects, train_np)
    dev = _device(device)
    g = torch.Generator(device=dev).manual_seed(int(seed))
    model = _VICEModel(cfg, n_objects, g) if method == "vice" else _SPoSEModel(cfg, n_objects, g)
    train_t = torch.from_numpy(train_np).to(dev)
    step = _training_step(model, train_t, n_objects)
    history: dict[str, list] = {
        k: [] for k in ("epoch", "loss", "nll", "complexity", "n_dims", "seconds")
    }
    if val_np is not None:
        history.update({"val_epoch": [], "val_accuracy": [], "val_nll": []})
    epoch = 0
    seconds = 0.0
    converged = False
    stop_reason = "max_epochs"
    # best validation NLL so far: its epoch, value, parameters, evaluations since then
    best: dict[str, Any] = {"epoch": None, "val_nll": math.inf, "params": None, "stale": 0}

    identity = _with_validation(identity, val_np)  # the validation set is part of the run
    resumed = None
    ckpt = None if checkpoint_path is None else _checked_checkpoint_path(checkpoint_path)
    if ckpt is not None:  # only those of a run killed while saving, never a live one
        for leftover in leftover_temporaries(ckpt):
            leftover.unlink(missing_ok=True)
    if ckpt is not None and ckpt.exists():
        state = _load_checkpoint(ckpt)
        if state["identity"] != identity:
            raise ValueError(
                f"{ckpt}: checkpoint belongs to another run "
                f"({'; '.join(_identity_differences(state['identity'], identity))}); "
                "delete it or pass another checkpoint_path"
            )
        with torch.no_grad():
            for p, saved in zip(model.parameters(), state["params"], strict=True):
                p.copy_(saved)
        step.load_state_dict(state["optimizer"])
        g.set_state(state["generator"])
        history, epoch, seconds = state["history"], state["epoch"], state["seconds"]
        converged, stop_reason, best = state["converged"], state["stop_reason"], state["best"]
        resumed = (epoch, stop_reason)  # a finished run resumed: its checkpoint stays as is

    def save_checkpoint() -> None:
        state = {
            "identity": identity,
            "params": [p.detach().clone() for p in model.parameters()],
            "optimizer": step.state_dict(),
            "generator": g.get_state(),
            "history": history,
            "epoch": epoch,
            "seconds": seconds,
            "converged": converged,
            "stop_reason": stop_reason,
            "best": best,
        }
        with atomic_path(ckpt) as tmp:
            torch.save(state, tmp)

    val_t = None if val_np is None else torch.from_numpy(val_np)
    bar = tqdm(total=cfg.max_epochs, initial=epoch, disable=not progress, desc=f"{method} epochs")
    while not converged and epoch < cfg.max_epochs:
        if until_epoch is not None and epoch >= until_epoch:
            break
        t0 = time.perf_counter()
        model.complexity_weight = warmup_factor(epoch + 1, cfg.warmup_epochs)
        # one seeded permutation per epoch; each batch gathers its own rows (streaming: the
        # training set is never copied, whatever its size)
        order = torch.randperm(n_train, generator=g, device=dev)
        tot = tot_nll = tot_comp = 0.0
        n_batches = 0
        for s in range(0, n_train, cfg.batch_size):
            batch = train_t.index_select(0, order[s : s + cfg.batch_size])
            loss, nll, comp = step(batch, g, n_train)
            tot += loss
            tot_nll += nll
            tot_comp += comp
            n_batches += 1
        epoch += 1
        n_dims = int(model.keep_mask().sum())
        dt = time.perf_counter() - t0
        seconds += dt
        row = (epoch, tot / n_batches, tot_nll / n_batches, tot_comp / n_batches, n_dims, dt)
        for k, v in zip(
            ("epoch", "loss", "nll", "complexity", "n_dims", "seconds"), row, strict=True
        ):
            history[k].append(v)
        if val_t is not None and (epoch % eval_every == 0 or epoch == cfg.max_epochs):
            keep = torch.from_numpy(model.keep_mask())
            if keep.any():
                w = model.deterministic_weights().cpu()[:, keep].double()
                # chunks of 4,096 triplets stay in the cache (2-3x faster than one chunk)
                res = evaluate_embedding(w.numpy(), val_np, batch_size=4096)
            else:  # no dimension left: every triplet is a three-way tie
                res = {"accuracy": 1.0 / 3.0, "nll": math.log(3.0)}
            history["val_epoch"].append(epoch)
            history["val_accuracy"].append(res["accuracy"])
            history["val_nll"].append(res["nll"])
            if res["nll"] < best["val_nll"]:
                best = {
                    "epoch": epoch,
                    "val_nll": res["nll"],
                    "params": [p.detach().clone() for p in model.parameters()],
                    "stale": 0,
                }
            else:
                best["stale"] += 1
        converged = _stable(history["n_dims"], cfg.stability_window, cfg.min_epochs)
        if converged:
            stop_reason = "stability"
        elif cfg.patience is not None and best["stale"] >= cfg.patience:
            converged, stop_reason = True, "patience"
        bar.update(1)
        postfix = {"loss": f"{tot / n_batches:.4f}", "dims": n_dims, "s/epoch": f"{dt:.2f}"}
        if history.get("val_epoch") and history["val_epoch"][-1] == epoch:
            postfix["val_acc"] = f"{history['val_accuracy'][-1]:.4f}"
        bar.set_postfix(postfix)
        if ckpt is not None and (epoch % checkpoint_every == 0 or converged):
            save_checkpoint()
    bar.close()
    if not converged:  # (a resumed run may have saved "interrupted" before)
        stop_reason = "interrupted" if epoch < cfg.max_epochs else "max_epochs"
    if ckpt is not None and resumed != (epoch, stop_reason):
        save_checkpoint()

    selected_epoch = epoch
    if cfg.select == "val_nll" and best["params"] is not None:
        with torch.no_grad():
            for p, saved in zip(model.parameters(), best["params"], strict=True):
                p.copy_(saved)
        selected_epoch = best["epoch"]
    params = model.numpy_params()
    keep = np.flatnonzero(model.keep_mask())
    meta = {
        **identity,
        "n_train": n_train,
        "epochs": epoch,
        "converged": converged,
        "stop_reason": stop_reason,
        "selected_epoch": selected_epoch,
        "best_val_epoch": best["epoch"],
        "best_val_nll": None if best["epoch"] is None else float(best["val_nll"]),
        "train_seconds": seconds,
        "torch_threads": torch.get_num_threads(),
        "device": str(dev),
    }
    if method == "vice":
        meta["step"] = step.kind
        emb = _sorted_embedding(
            params["mu"][:, keep], keep, "vice", params["sigma"][:, keep], meta
        )
    else:
        emb = _sorted_embedding(params["W"][:, keep], keep, "spose", None, meta)
    return FitResult(
        emb, params, history, converged, epoch, seconds, selected_epoch, best["epoch"], stop_reason
    )


def _run_identity(
    method: str,
    cfg: Any,
    seed: int,
    n_objects: int,
    train_np: np.ndarray,
    val_np: np.ndarray | None = None,
) -> dict[str, Any]:
    """What makes two runs the same run (a checkpoint is resumed only on equality),
    including the validation triplets (see `_with_validation`). For VICE the step that
    runs (`vice_step`) counts, not the setting that chose it: a sparse run has
    ``step: "sparse"``, a dense one the identity it had before the sparse step existed
    (so its checkpoints are still found), whether it was asked for as "dense" or "auto"."""
    config = dataclasses.asdict(cfg)
    identity = {
        "method": method,
        "config": config,
        "seed": check_int("seed", seed),
        "n_objects": check_int("n_objects", n_objects, minimum=1),
        "train_sha256": array_sha256(train_np),
    }
    if method == "vice":  # the step that runs, not the setting ("auto" is one of the two)
        del config["step"]  # dense runs keep the identity they had before the sparse step
        if vice_step(cfg) == "sparse":
            identity["step"] = "sparse"
    return _with_validation(identity, val_np)


def _with_validation(identity: dict[str, Any], val_np: np.ndarray | None) -> dict[str, Any]:
    """`identity` plus the hash of the validation triplets: their NLLs select epochs and
    stop runs, so a resume with another validation set is another run. Runs without them
    keep the identity they always had."""
    if val_np is None:
        return identity
    return {**identity, "val_sha256": array_sha256(val_np)}


def _identity_differences(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """'setting: checkpoint X, this run Y' for every setting of two run identities that
    differs (config entries as config.<name>)."""

    def flat(identity: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in identity.items() if k != "config"}
        out.update({f"config.{k}": v for k, v in identity.get("config", {}).items()})
        return out

    old, new = flat(saved), flat(current)
    missing = "(none)"
    return [
        f"{key}: checkpoint {old.get(key, missing)!r}, this run {new.get(key, missing)!r}"
        for key in sorted(set(old) | set(new))
        if old.get(key, missing) != new.get(key, missing)
    ]


# What a checkpoint path must not be: the formats of the project's embeddings and arrays.
_NOT_CHECKPOINTS = (".npz", ".npy")


def _checked_checkpoint_path(checkpoint_path: str | os.PathLike) -> Path:
    """`checkpoint_path` as a Path; ValueError when it is a folder or names an embedding
    or array file (which a checkpoint would overwrite)."""
    ckpt = Path(checkpoint_path)
    if ckpt.is_dir():
        raise ValueError(
            f"checkpoint_path {ckpt}: is a folder; expected the path of a checkpoint file, "
            "e.g. checkpoint_file(folder, config, train, seed=..., n_objects=...)"
        )
    if ckpt.suffix.lower() in _NOT_CHECKPOINTS:
        raise ValueError(
            f"checkpoint_path {ckpt}: a {ckpt.suffix} file is an embedding or array, not a "
            "checkpoint; expected a .ckpt path, e.g. checkpoint_file(folder, config, train, "
            "seed=..., n_objects=...)"
        )
    return ckpt


def _load_checkpoint(ckpt: Path) -> dict[str, Any]:
    """A checkpoint's state; a file that is not one (unreadable, or another kind) raises
    ValueError naming it, and is left as it is: checkpoints are written atomically, so
    it may well be another file of the user's."""
    try:
        state = torch.load(ckpt, weights_only=False)
    except Exception as err:  # torch raises OSError, EOFError, UnpicklingError, RuntimeError
        raise ValueError(
            f"{ckpt}: unreadable checkpoint ({type(err).__name__}: {err}); it is left as it "
            "is: if it is a checkpoint of fit_vice/fit_spose, delete it to start the run "
            "again, else pass another checkpoint_path"
        ) from None
    if not isinstance(state, dict) or "identity" not in state:
        raise ValueError(
            f"{ckpt}: not a checkpoint of fit_vice/fit_spose; it is left as it is: pass "
            "another checkpoint_path"
        )
    return state


def checkpoint_file(
    directory: str | os.PathLike,
    config: VICEConfig | SPoSEConfig,
    train: Any,
    *,
    seed: int,
    n_objects: int,
    prefix: str = "",
    val: Any = None,
) -> Path:
    """A checkpoint path unique to one run: ``<prefix><method>_seed<seed>_<hash>.ckpt``.

    The hash covers the method, config, seed, object count, training triplets and (if
    given) validation triplets, so changing any of them starts a new checkpoint instead
    of clashing with an old one (which `fit_vice`/`fit_spose` would refuse to resume).
    """
    method = "vice" if isinstance(config, VICEConfig) else "spose"
    train_np = validate_triplets(train, n_objects, name="train")
    val_np = None if val is None else validate_triplets(val, n_objects, name="val")
    identity = _run_identity(method, config, seed, n_objects, train_np, val_np)
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return Path(directory) / f"{prefix}{method}_seed{seed}_{digest}.ckpt"


def fit_vice(
    train: Any, n_objects: int, config: VICEConfig | None = None, **options: Any
) -> FitResult:
    """Fit VICE to (n, 3) triplets (last column odd one out) over `n_objects` objects.

    Keyword options and their defaults: ``seed=0``, ``val=None``, ``eval_every=10``,
    ``checkpoint_path=None``, ``checkpoint_every=10``, ``until_epoch=None``,
    ``progress=True``, ``num_threads=1``, ``device=None``.

    `val` triplets are scored every `eval_every` epochs at ReLU(mu) of the kept dimensions
    (cheap, deterministic); use `evaluate_vice` for the Monte-Carlo score. With
    `checkpoint_path`, the full state (parameters, Adam moments, generator state,
    history) is written atomically every `checkpoint_every` epochs and at the end, and an
    existing checkpoint of the same run (same method, config, seed and data hash) is
    resumed: the result equals an uninterrupted run bit for bit. `until_epoch` stops
    early as if interrupted (for tests and time-sliced runs). `num_threads` sets torch's
    intra-op threads for the fit (restored afterwards; None leaves them): 1 by default,
    because 2 threads were ~65x slower for these small ops on a loaded 2-core machine
    (and ~1.3x faster on an idle one). `device` (None: CUDA if available, else the CPU)
    holds the parameters and the training triplets; results come back as numpy arrays.
    A progress bar shows the epoch, loss, kept dimensions, seconds per epoch and the
    validation accuracy (`progress=False` hides it).
    With ``config.select == "val_nll"`` (evaluate every epoch: eval_every=1) the returned
    embedding and params are those of the epoch with the lowest validation NLL.
    """
    return _fit("vice", train, n_objects, config or VICEConfig(), **options)


def fit_spose(
    train: Any, n_objects: int, config: SPoSEConfig | None = None, **options: Any
) -> FitResult:
    """Fit SPoSE; arguments and options as in `fit_vice`. Stops by the same
    dimension-stability rule."""
    return _fit("spose", train, n_objects, config or SPoSEConfig(), **options)


# ------------------------------------------------------------------------ learning curve


def learning_curve(
    train: Any,
    n_objects: int,
    config: VICEConfig | SPoSEConfig,
    fractions: Sequence[float],
    heldout: Mapping[str, Any],
    *,
    seed: int = 0,
    val: Any = None,
    fits: Mapping[float, FitResult] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool = True,
):
    """Refit `config` on growing random shares of `train` and score each fit held out.

    The subsets are nested: the first ``round(f * n)`` rows of one permutation seeded by
    `seed`, so each share contains every smaller one. Every fit uses `seed`, `val` and
    ``eval_every=1`` (as `SMALL_DATA_SPOSE` needs). `fits` maps a fraction to a fit that
    already exists for it (typically ``{1.0: fit on all of train}``), which is then scored
    instead of refitted. With `checkpoint_dir`, fits are checkpointed and resumed there.

    Returns a pandas DataFrame with one row per fraction and held-out set: ``fraction``,
    ``training triplets``, ``dimensions``, ``held-out set``, ``accuracy (%)``, ``nll``.
    """

    train_np = validate_triplets(train, n_objects, name="train")
    shares = [float(f) for f in fractions]
    if not shares or any(not 0.0 < f <= 1.0 for f in shares):
        raise ValueError(f"fractions: expected values in (0, 1], got {list(fractions)}")
    if len(set(shares)) != len(shares):
        raise ValueError(f"fractions: expected distinct values, got {list(fractions)}")
    if not heldout:
        raise ValueError("heldout: expected at least one named set of triplets")
    fits = dict(fits or {})
    unknown = [f for f in fits if float(f) not in shares]
    if unknown:
        raise ValueError(f"fits: fractions {unknown} are not in fractions {shares}")
    fit = fit_vice if isinstance(config, VICEConfig) else fit_spose
    order = np.random.default_rng(seed).permutation(len(train_np))
    rows = []
    for share in sorted(shares):
        n = int(round(share * len(train_np)))
        if n < 1:
            raise ValueError(f"fractions: {share} of {len(train_np)} triplets is empty")
        if share in fits:
            result = fits[share]
        else:
            subset = train_np[np.sort(order[:n])]
            checkpoint = None
            if checkpoint_dir is not None:
                checkpoint = checkpoint_file(
                    checkpoint_dir, config, subset, seed=seed, n_objects=n_objects,
                    prefix=f"curve{share:g}_", val=val,
                )  # fmt: skip
            result = fit(
                subset, n_objects, config, seed=seed, val=val, eval_every=1,
                checkpoint_path=checkpoint, progress=progress,
            )  # fmt: skip
        for name, triplets in heldout.items():
            scores = evaluate_embedding(result.embedding.weights, triplets)
            rows.append(
                {
                    "fraction": share,
                    "training triplets": n,
                    "dimensions": result.embedding.n_dims,
                    "held-out set": name,
                    "accuracy (%)": 100 * scores["accuracy"],
                    "nll": scores["nll"],
                }
            )
    return pd.DataFrame(rows)


def fit_vice_to_network(
    features: Any,
    config: VICEConfig,
    *,
    n_triplets: int,
    seed: int,
    checkpoint_dir: str | os.PathLike,
    prefix: str,
    similarity: str = "dot",
    relu: bool = False,
    test_fraction: float = 0.1,
    n_val: int = 50_000,
    progress: bool = True,
) -> tuple[FitResult, np.ndarray]:
    """A network's VICE embedding, made the way chapters 1 and 2 make VGG-16's.

    Random unique triplets over the rows of ``features`` (objects or pictures) are answered
    by the network (`triplets.odd_one_out_choices` with ``similarity`` and ``relu``), split
    ``1 - test_fraction`` / ``test_fraction``, and VICE is fitted to the training part with
    the first ``n_val`` test triplets for validation, resuming from ``checkpoint_dir``.
    Returns the fit and the test triplets.
    """
    from dnnalign_utils import triplets

    features = np.asarray(features)
    sampled = triplets.sample_triplets(features.shape[0], n_triplets, seed=seed)
    choices = triplets.odd_one_out_choices(
        sampled, features, similarity=similarity, relu=relu, progress=progress
    )
    train, test = triplets.split_triplets(choices, test_fraction, seed=seed)
    val = test[:n_val]
    checkpoint = checkpoint_file(
        checkpoint_dir,
        config,
        train,
        seed=seed,
        n_objects=features.shape[0],
        prefix=prefix,
        val=val,
    )
    fit = fit_vice(
        train,
        features.shape[0],
        config,
        seed=seed,
        val=val,
        checkpoint_path=checkpoint,
        progress=progress,
    )
    return fit, test


# --------------------------------------------------------------------------------------
# How well a network's embedding captures the network (a key number of chapter 2)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkEmbeddingComparison:
    """A network's similarity structure next to its embedding's, on ``objects`` (rows of
    the network's features, i.e. positions among its concepts).

    ``network_rsm``: the network's choice similarity (for each pair, the share of third
    objects for which the network keeps the pair together; `rsa.choice_rsm` of its
    features, dot products as its triplets were answered); ``embedding_rsm``: the
    similarity the embedding implies (`rsa.reconstruct_rsm`); ``rsm_variance_explained``:
    the squared Pearson r of their upper triangles, as a fraction.
    """

    network_rsm: np.ndarray
    embedding_rsm: np.ndarray
    objects: np.ndarray
    n_dimensions: int
    rsm_variance_explained: float

    def numbers(self) -> dict[str, float]:
        """The key numbers of chapter 2 (`keynumbers.KEY_NUMBERS`; the share in percent)."""
        return {
            "n_dimensions": float(self.n_dimensions),
            "rsm_variance_explained": 100 * self.rsm_variance_explained,
        }


def network_embedding_comparison(
    embedding_weights: Any, net: Any, *, rsm_objects: int = 0, progress: bool = False
) -> NetworkEmbeddingComparison:
    """Compare a network's embedding (rows: the network's concepts in the order of
    ``net.things_index``, columns: its kept dimensions) with the network's own choice
    similarity. ``rsm_objects > 0`` compares the first that many of its concepts only
    (faster; all when it has fewer), third objects always ranging over all of them."""
    from dnnalign_utils import rsa

    weights = np.asarray(embedding_weights, dtype=np.float64)
    values = np.asarray(net.values, dtype=np.float64)
    label = getattr(net, "label", "net")
    if weights.ndim != 2 or weights.shape[0] != values.shape[0]:
        raise ValueError(
            f"embedding_weights: shape {weights.shape}; expected one row per concept of "
            f"{label!r} ({values.shape[0]:,} rows, in the order of its things_index)"
        )
    if weights.shape[1] == 0:
        raise ValueError("embedding_weights: no dimensions; expected at least one kept dimension")
    rsm_objects = check_int("rsm_objects", rsm_objects, minimum=0)
    n = values.shape[0]
    objects = np.arange(n if rsm_objects == 0 else min(rsm_objects, n))
    network_rsm = rsa.choice_rsm(values, objects=objects, relu=False, progress=progress)
    embedding_rsm = rsa.reconstruct_rsm(weights, objects=objects, progress=progress)
    return NetworkEmbeddingComparison(
        network_rsm,
        embedding_rsm,
        objects,
        int(weights.shape[1]),
        rsa.variance_explained(embedding_rsm, network_rsm),
    )


def network_embedding_numbers(
    embedding_weights: Any, net: Any, *, rsm_objects: int = 0
) -> dict[str, float]:
    """Chapter 2's key numbers of a network's embedding: ``n_dimensions`` (its kept
    dimensions, the columns of ``embedding_weights``) and ``rsm_variance_explained``
    (% of the variance of the network's choice similarity explained by the embedding's;
    :func:`network_embedding_comparison`)."""
    return network_embedding_comparison(embedding_weights, net, rsm_objects=rsm_objects).numbers()


# --------------------------------------------------------------------------------------
# A fit that resumes from its own checkpoint (chapter 2's fits)
# --------------------------------------------------------------------------------------


def fit_checkpointed(
    train: Any,
    n_objects: int,
    config: VICEConfig | SPoSEConfig,
    *,
    seed: int,
    checkpoint_dir: str | os.PathLike,
    prefix: str = "",
    val: Any = None,
    **options: Any,
) -> FitResult:
    """`fit_vice` or `fit_spose` (by the type of `config`), checkpointed in
    `checkpoint_dir` under the run's own name (`checkpoint_file`, `prefix` first): a rerun
    of the same run resumes it, a changed run (config, seed, triplets) starts afresh.
    `options` go to the fit (e.g. ``eval_every``)."""
    checkpoint = checkpoint_file(
        checkpoint_dir, config, train, seed=seed, n_objects=n_objects, prefix=prefix, val=val
    )
    fit = fit_vice if isinstance(config, VICEConfig) else fit_spose
    return fit(train, n_objects, config, seed=seed, val=val, checkpoint_path=checkpoint, **options)
