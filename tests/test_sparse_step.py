"""VICE's row-sparse training step (`VICEConfig.step`): its gradient against the dense
step's, lazy Adam against a plain loop and torch's Adam, "auto", checkpoints, and fits
against the dense step's on the human and the network triplets."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from conftest import simulate_triplets

from dnnalign_utils import data, triplets
from dnnalign_utils.embedding import (
    PAPER_DNN_VICE,
    PAPER_HUMAN_VICE,
    SMALL_DATA_VICE,
    VICEConfig,
    checkpoint_file,
    evaluate_embedding,
    fit_vice,
    match_dimensions,
)
from dnnalign_utils.fitting import (
    SPARSE_STEP_BELOW_BATCH,
    SPARSE_STEP_BELOW_BATCH_ROWS_SAMPLED,
    _LazyAdam,
    _run_identity,
    _SparseVICEStep,
    _touched_share,
    _VICEModel,
    vice_step,
)


def random_triplets(n_objects, n_triplets, seed, skip=()):
    """Random triplets of distinct objects, none of the objects in `skip`."""
    rng = np.random.default_rng(seed)
    pool = np.setdiff1d(np.arange(n_objects), list(skip))
    return np.array([rng.choice(pool, 3, replace=False) for _ in range(n_triplets)])


# ------------------------------------------------------------------------ the setting


@pytest.mark.parametrize(
    ("prior", "kl", "crossover"),
    [("mixture", "analytic", SPARSE_STEP_BELOW_BATCH),
     ("mixture", "sample", SPARSE_STEP_BELOW_BATCH),
     ("objdim_legacy", "sample", SPARSE_STEP_BELOW_BATCH),
     # the dense step samples only the batch's rows here: an earlier crossover
     ("objdim_legacy", "analytic", SPARSE_STEP_BELOW_BATCH_ROWS_SAMPLED)],
)  # fmt: skip
def test_step_setting_is_checked_and_auto_follows_the_crossover(prior, kl, crossover):
    with pytest.raises(ValueError, match=r"step: expected one of 'auto', 'sparse', 'dense'"):
        VICEConfig(step="fast")
    assert SPARSE_STEP_BELOW_BATCH_ROWS_SAMPLED < SPARSE_STEP_BELOW_BATCH

    def step(kind, batch):
        return vice_step(VICEConfig(step=kind, batch_size=batch, prior=prior, kl=kl))

    for batch in (1, 128, crossover - 1):
        assert step("auto", batch) == "sparse"
    for batch in (crossover, crossover + 1, 4 * crossover):
        assert step("auto", batch) == "dense"
    for batch in (1, crossover, 4 * crossover):
        assert step("sparse", batch) == "sparse"
        assert step("dense", batch) == "dense"


def test_auto_is_the_default_and_what_it_picks_for_the_presets():
    assert VICEConfig().step == "auto"
    assert vice_step(VICEConfig()) == "sparse"  # batch 256, the mixture prior
    assert vice_step(SMALL_DATA_VICE) == "dense"  # the book's fits: batch 2,048
    # batch 256 with the legacy prior and the closed-form KL: the paper's dense Adam
    assert vice_step(PAPER_HUMAN_VICE) == vice_step(PAPER_DNN_VICE) == "dense"


@pytest.mark.parametrize(
    ("batch", "expected"), [(64, "sparse"), (SPARSE_STEP_BELOW_BATCH, "dense")]
)
def test_a_fit_takes_the_step_auto_chooses_and_records_it(batch, expected):
    train = random_triplets(30, 1200, seed=1)
    cfg = VICEConfig(n_dims=4, batch_size=batch, max_epochs=1, step="auto")
    res = fit_vice(train, 30, cfg, seed=0, progress=False)
    assert res.embedding.metadata["step"] == expected
    same = fit_vice(train, 30, dataclasses.replace(cfg, step=expected), seed=0, progress=False)
    for key, value in res.params.items():
        np.testing.assert_array_equal(same.params[key], value)


def test_the_run_identity_holds_the_step_that_runs():
    """A sparse run is another run than a dense one (its checkpoints are not resumed as
    the other's); "auto" is the step it chooses; a dense run keeps the identity it had
    before the sparse step existed (the config without "step"), so cached fits are found."""
    train = random_triplets(20, 50, seed=0)

    def identity(**settings):
        return _run_identity("vice", VICEConfig(n_dims=5, **settings), 0, 20, train)

    dense = identity(step="dense", batch_size=128)
    before = dataclasses.asdict(VICEConfig(n_dims=5, batch_size=128))
    del before["step"]
    assert dense["config"] == before and "step" not in dense
    big = SPARSE_STEP_BELOW_BATCH
    assert identity(step="auto", batch_size=big) == identity(step="dense", batch_size=big)
    sparse = identity(step="sparse", batch_size=128)
    assert sparse["step"] == "sparse" and sparse != dense
    assert identity(step="auto", batch_size=128) == sparse

    def ckpt(tmp, **settings):
        return checkpoint_file(tmp, VICEConfig(n_dims=5, **settings), train, seed=0, n_objects=20)

    assert ckpt("x", step="sparse") != ckpt("x", step="dense")
    assert ckpt("x", step="auto", batch_size=128) == ckpt("x", step="sparse", batch_size=128)
    assert ckpt("x", step="auto", batch_size=4096) == ckpt("x", step="dense", batch_size=4096)


def test_a_dense_checkpoint_is_not_resumed_by_a_sparse_fit(tmp_path):
    train = random_triplets(30, 600, seed=2)
    cfg = VICEConfig(n_dims=4, batch_size=64, max_epochs=3, step="dense")
    ckpt = tmp_path / "run.ckpt"
    fit_vice(train, 30, cfg, seed=0, checkpoint_path=ckpt, until_epoch=1, progress=False)
    sparse = dataclasses.replace(cfg, step="sparse")
    with pytest.raises(
        ValueError, match=r"another run.*step: checkpoint '\(none\)', this run 'sparse'"
    ):
        fit_vice(train, 30, sparse, seed=0, checkpoint_path=ckpt, progress=False)


# ------------------------------------------------------------------------ the gradient


@pytest.mark.parametrize(
    ("prior", "kl"),
    [("mixture", "analytic"), ("mixture", "sample"), ("objdim_legacy", "analytic"),
     ("objdim_legacy", "sample")],
)  # fmt: skip
def test_epoch_summed_sparse_gradients_equal_the_dense_ones(prior, kl):
    """The sparse step's complexity weights r_o = (occurrences in the batch) / (B c_o) sum
    to the dense step's 1 / n_train per step over an epoch whose batches all have B
    triplets: with the posterior widths negligible (both steps see w = mu whatever their
    draws) the epoch's summed gradients agree to float64 rounding, the likelihood's and
    the complexity term's, also for an object in no training triplet (it joins every
    sparse step with the dense weight), and so do the summed complexity values (the
    single-sample log q differs by its noise draws alone)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        n_objects, batch = 120, 64
        absent = 7
        train = torch.from_numpy(random_triplets(n_objects, 40 * batch, seed=3, skip=[absent]))
        cfg = VICEConfig(n_dims=12, prior=prior, kl=kl, beta=0.7, init_log_sigma=-60.0,
                         batch_size=batch, step="sparse")  # fmt: skip
        dense = _VICEModel(cfg, n_objects, torch.Generator().manual_seed(0))
        dense.mu.mul_(3)  # the prior's gradient large enough to count
        model = _VICEModel(cfg, n_objects, torch.Generator().manual_seed(0))
        model.mu.mul_(3)
        dense.complexity_weight = model.complexity_weight = 0.6  # a warm-up epoch
        sparse = _SparseVICEStep(model, train, n_objects)
        sums = [torch.zeros_like(dense.mu) for _ in range(4)]
        comp = [0.0, 0.0]
        touched = torch.zeros(n_objects, dtype=torch.bool)
        for s in range(0, len(train), batch):
            b = train[s : s + batch]
            rows, g_mu, g_rho, _, c = sparse.grads(b, torch.Generator().manual_seed(s))
            touched[rows] = True
            sums[0].index_add_(0, rows, g_mu)
            sums[1].index_add_(0, rows, g_rho)
            comp[0] += c
            _, _, c = dense.step_grad(b, torch.Generator().manual_seed(s), len(train))
            sums[2] += dense.mu.grad
            sums[3] += dense.rho.grad
            comp[1] += c
        assert touched[absent] and float(sums[2][absent].abs().max()) > 1e-3
        for a, b in ((sums[0], sums[2]), (sums[1], sums[3])):
            assert float(b.abs().max()) > 1e-3
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)
        assert comp[0] == pytest.approx(comp[1], rel=1e-12 if kl == "analytic" else 1e-4)
    finally:
        torch.set_default_dtype(before)


def test_touched_share_is_the_chance_that_a_batch_holds_the_object():
    counts = torch.tensor([0, 1, 5, 40, 96])
    share = _touched_share(counts, 100, 10)
    for c, f in zip(counts.tolist(), share.tolist(), strict=True):
        untouched = math.comb(100 - c, 10) / math.comb(100, 10)
        assert f == pytest.approx(1 - untouched, rel=1e-10)
    assert _touched_share(counts, 100, 100)[1:].eq(1).all()  # one batch: every object


# ------------------------------------------------------------------------ lazy Adam


def _loop_adam(params, steps, lr_rows, betas=(0.9, 0.999), eps=1e-8):
    """Lazy Adam written out row by row: the touched rows' moments and values only, the
    bias correction counting every step."""
    params = [p.clone() for p in params]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    for t, (rows, grads) in enumerate(steps, start=1):
        for i, grad in enumerate(grads):
            for k, row in enumerate(rows.tolist()):
                m[i][row] = betas[0] * m[i][row] + (1 - betas[0]) * grad[k]
                v[i][row] = betas[1] * v[i][row] + (1 - betas[1]) * grad[k] ** 2
                m_hat = m[i][row] / (1 - betas[0] ** t)
                v_hat = v[i][row] / (1 - betas[1] ** t)
                params[i][row] -= lr_rows[row] * m_hat / (v_hat.sqrt() + eps)
    return params, m, v


@pytest.mark.parametrize("fused", [True, False])
def test_lazy_adam_equals_a_row_by_row_loop_and_resumes(fused):
    gen = torch.Generator().manual_seed(0)
    n, d = 15, 4
    start = [torch.randn(n, d, generator=gen, dtype=torch.float64) for _ in range(2)]
    lr_rows = torch.rand(n, generator=gen, dtype=torch.float64) * 0.1
    steps = []
    for _ in range(12):
        rows = torch.randperm(n, generator=gen)[: int(torch.randint(1, n, (1,), generator=gen))]
        rows = rows.sort().values
        steps.append((rows, [torch.randn(len(rows), d, generator=gen, dtype=torch.float64)
                             for _ in range(2)]))  # fmt: skip
    ref, ref_m, ref_v = _loop_adam(start, steps, lr_rows)

    params = [p.clone() for p in start]
    adam = _LazyAdam(params, lr_rows)
    adam._fused = fused and adam._fused
    for rows, grads in steps[:5]:
        adam.step(rows, grads)
    state = adam.state_dict()
    adam = _LazyAdam(params, lr_rows)  # a resumed run: a new optimiser, the saved state
    adam._fused = fused and adam._fused
    adam.load_state_dict(state)
    for rows, grads in steps[5:]:
        adam.step(rows, grads)
    for mine, theirs in zip([*params, *adam.exp_avg, *adam.exp_avg_sq], [*ref, *ref_m, *ref_v],
                            strict=True):  # fmt: skip
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-15)
    untouched = sorted(set(range(n)) - {r for rows, _ in steps for r in rows.tolist()})
    for p, p0 in zip(params, start, strict=True):
        np.testing.assert_array_equal(p[untouched], p0[untouched])


def test_lazy_adam_with_every_row_touched_is_torch_adam():
    gen = torch.Generator().manual_seed(1)
    n, d = 9, 3
    params = [torch.randn(n, d, generator=gen, dtype=torch.float64) for _ in range(2)]
    plain = [p.clone().requires_grad_() for p in params]
    opt = torch.optim.Adam(plain, lr=3e-3, foreach=False)
    adam = _LazyAdam(params, torch.full((n,), 3e-3, dtype=torch.float64))
    rows = torch.arange(n)
    for _ in range(20):
        grads = [torch.randn(n, d, generator=gen, dtype=torch.float64) for _ in range(2)]
        for p, grad in zip(plain, grads, strict=True):
            p.grad = grad.clone()
        opt.step()
        adam.step(rows, grads)
    for mine, theirs in zip(params, plain, strict=True):
        np.testing.assert_allclose(mine, theirs.detach(), rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------------ fits


def test_sparse_fit_resumes_bit_exact_and_repeats_with_its_seed(tmp_path):
    train = random_triplets(60, 3000, seed=4, skip=[5])  # object 5 in no training triplet
    cfg = VICEConfig(n_dims=8, batch_size=128, max_epochs=6, stability_window=50, lr=0.01,
                     warmup_epochs=3, step="sparse")  # fmt: skip
    full = fit_vice(train, 60, cfg, seed=7, progress=False)
    again = fit_vice(train, 60, cfg, seed=7, progress=False)
    other = fit_vice(train, 60, cfg, seed=8, progress=False)
    ckpt = tmp_path / "run.ckpt"
    fit_vice(train, 60, cfg, seed=7, checkpoint_path=ckpt, checkpoint_every=2, until_epoch=3,
             progress=False)  # fmt: skip
    resumed = fit_vice(train, 60, cfg, seed=7, checkpoint_path=ckpt, progress=False)
    assert resumed.epochs == full.epochs == 6
    for key, value in full.params.items():
        assert np.isfinite(value).all()
        np.testing.assert_array_equal(again.params[key], value)
        np.testing.assert_array_equal(resumed.params[key], value)
        assert not np.array_equal(other.params[key], value)
    assert resumed.history["loss"] == full.history["loss"] == again.history["loss"]
    assert resumed.history["complexity"] == full.history["complexity"]
    np.testing.assert_array_equal(resumed.embedding.weights, full.embedding.weights)


def planted_embedding(n=300, d=10, seed=0):
    """Sparse non-negative ground truth, as in test_embedding.py."""
    rng = np.random.default_rng(seed)
    w = rng.gamma(2.0, 0.6, size=(n, d)) * (rng.random((n, d)) < 0.3)
    empty = np.flatnonzero(w.sum(1) == 0)
    w[empty, rng.integers(0, d, empty.size)] = 1.0
    return w


def test_sparse_step_recovers_a_planted_embedding():
    """test_embedding.py's recovery test (there at batch 512, the dense step) at batch 128
    with the sparse step: the 10 planted dimensions, each matched at r >= 0.9, and held-out
    accuracy within 3 points of the truth's (measured: 10 dimensions, r >= 0.967, 67.7 %
    vs the truth's 69.2 %; the dense step at batch 128: 10, 0.967, 68.0 %)."""
    truth = planted_embedding(300, 10, seed=0)
    train = simulate_triplets(truth, 60_000, seed=1)
    cfg = VICEConfig(n_dims=30, batch_size=128, lr=0.01, beta=4.0, init_log_sigma=-3.0,
                     stability_window=20, min_epochs=30, max_epochs=200,
                     step="sparse")  # fmt: skip
    res = fit_vice(train, 300, cfg, seed=0, progress=False)
    assert res.converged and res.embedding.metadata["step"] == "sparse"
    assert res.embedding.n_dims == 10
    _, r = match_dimensions(truth, res.embedding.weights)
    assert r.min() >= 0.9
    test = simulate_triplets(truth, 5000, seed=2)
    ours = evaluate_embedding(res.embedding.weights, test)["accuracy"]
    assert ours >= evaluate_embedding(truth, test)["accuracy"] - 0.03


def _fit_data(source):
    """45,000 training and 5,000 held-out triplets: the human 50k sample, or network
    triplets (random unique triplets answered by the VGG-16 stand-in's dot products, as
    benchmarks/bench_sparse_step.py makes them)."""
    if source == "human":
        chosen = data.load_triplets_sample50k()
    else:
        sampled = triplets.sample_triplets(data.N_OBJECTS, 50_000, seed=0, progress=False)
        features = data.load_vgg16_features()
        chosen = triplets.odd_one_out_choices(sampled, features, progress=False)
    return triplets.split_triplets(chosen, 0.1, seed=0)


# (source, beta, epochs): small fits that settle within the test's budget, one where the
# prior prunes on the way (network: the dense fits drop to 5-8 of 20 dimensions within 3
# epochs and are back at 20 from epoch 12 on; the sparse ones keep 19-20)
FIT_CASES = [("human", 0.3, 12), ("network", 0.5, 15)]


@pytest.mark.parametrize(("source", "beta", "epochs"), FIT_CASES)
def test_sparse_fits_reach_the_dense_fits_accuracy_and_dimensions(source, beta, epochs):
    """Batch 128, 20 dimensions, mixture prior, lr 1e-2, seeds 0-2 with each step: the
    sparse fits' mean held-out accuracy (pruned ReLU(mu)) and mean number of kept
    dimensions lie within the dense fits' seed-to-seed range of the dense fits' means.
    On the way the two steps differ (the dense step prunes faster early on: Adam moves
    every row by the prior's gradient at every step); the book's How to run page has
    longer fits."""
    train, test = _fit_data(source)
    cfg = VICEConfig(n_dims=20, prior="mixture", slab_scale=2.0, beta=beta, lr=1e-2,
                     batch_size=128, init_log_sigma=-3.0, max_epochs=epochs,
                     min_epochs=epochs, stability_window=epochs, step="dense")  # fmt: skip
    scores = {}
    for step in ("dense", "sparse"):
        rows = []
        for seed in (0, 1, 2):
            res = fit_vice(train, data.N_OBJECTS, dataclasses.replace(cfg, step=step),
                           seed=seed, progress=False)  # fmt: skip
            assert res.embedding.metadata["step"] == step
            w = res.embedding.weights
            accuracy = evaluate_embedding(w, test)["accuracy"] if w.shape[1] else 1 / 3
            rows.append((100 * accuracy, w.shape[1]))
        scores[step] = np.array(rows)
    dense, sparse = scores["dense"], scores["sparse"]
    spread = dense.max(0) - dense.min(0)
    gap = np.abs(sparse.mean(0) - dense.mean(0))
    report = f"dense (accuracy %, dims) per seed {dense.tolist()}, sparse {sparse.tolist()}"
    assert gap[0] <= spread[0], report
    assert gap[1] <= spread[1], report
    assert dense[:, 0].min() > 45, report  # the fits learned something


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_sparse_fit_runs_and_resumes_on_cuda(tmp_path):
    train = random_triplets(60, 3000, seed=4, skip=[5])
    cfg = VICEConfig(n_dims=8, batch_size=128, max_epochs=4, stability_window=50, lr=0.01,
                     step="sparse")  # fmt: skip
    full = fit_vice(train, 60, cfg, seed=7, progress=False, device="cuda")
    assert full.embedding.metadata["step"] == "sparse"
    ckpt = tmp_path / "run.ckpt"
    fit_vice(train, 60, cfg, seed=7, checkpoint_path=ckpt, until_epoch=2, progress=False,
             device="cuda")  # fmt: skip
    resumed = fit_vice(train, 60, cfg, seed=7, checkpoint_path=ckpt, progress=False,
                       device="cuda")  # fmt: skip
    for key, value in full.params.items():
        assert np.isfinite(value).all()
        np.testing.assert_array_equal(resumed.params[key], value)
