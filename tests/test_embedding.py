"""VICE / SPoSE: pruning, likelihood, gradients, resume, recovery, loading, matching."""

import copy
import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch
from conftest import simulate_triplets
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from dnnalign_utils import embedding as emb
from dnnalign_utils import fitting
from dnnalign_utils.container import _bh_counts
from dnnalign_utils.embedding import (
    Embedding,
    SPoSEConfig,
    VICEConfig,
    benjamini_hochberg,
    choice_probabilities,
    evaluate_embedding,
    evaluate_vice,
    fit_spose,
    fit_vice,
    from_published,
    load_embedding,
    match_dimensions,
    reproducibility_over_runs,
    save_embedding,
    split_half_reproducibility,
    spose_keep_mask,
    validate_triplets,
    vice_importance,
    vice_keep_mask,
    warmup_factor,
)
from dnnalign_utils.fitting import _LOG_2PI, _AdamStep, _SPoSEModel, _VICEModel
from dnnalign_utils.provenance import read_provenance

# ----------------------------------------------------------------------------- helpers


def planted_embedding(n=300, d=10, seed=0):
    """Sparse non-negative ground truth: each object loads on ~30 % of the dimensions."""
    rng = np.random.default_rng(seed)
    w = rng.gamma(2.0, 0.6, size=(n, d)) * (rng.random((n, d)) < 0.3)
    empty = np.flatnonzero(w.sum(1) == 0)
    w[empty, rng.integers(0, d, empty.size)] = 1.0
    return w


# ----------------------------------------------------------------------------- pruning


def test_bh_equals_statsmodels_per_column():
    rng = np.random.default_rng(0)
    n = 200
    p = np.concatenate(
        [
            rng.random((n, 20)),
            rng.random((n, 20)) ** 6,  # many small p-values
            np.round(rng.random((n, 5)) ** 4, 3),  # ties
        ],
        axis=1,
    )
    # Non-contiguous rejections: rank 3 is above its threshold, rank 4 below (so BH
    # rejects ranks 1-4; the reference's first-index bug would stop at rank 2).
    col = np.full(n, 0.9)
    col[:4] = [0.0001, 0.0002, 0.00080, 0.00090]
    assert col[2] > 0.05 * 3 / n and col[3] <= 0.05 * 4 / n
    p = np.column_stack([p, col])
    for alpha in (0.05, 0.2):
        ours = benjamini_hochberg(p, alpha)
        for d in range(p.shape[1]):
            expected = multipletests(p[:, d], alpha=alpha, method="fdr_bh")[0]
            np.testing.assert_array_equal(ours[:, d], expected, err_msg=f"column {d}")
    assert benjamini_hochberg(col)[:4].all()
    np.testing.assert_array_equal(benjamini_hochberg(col), benjamini_hochberg(col[:, None])[:, 0])
    with pytest.raises(ValueError, match="pvalues"):
        benjamini_hochberg(np.array([[0.1], [1.5]]))


def test_vice_pruning_counts_match_a_loop():
    rng = np.random.default_rng(1)
    mu = rng.normal(0, 1, size=(60, 8))
    mu[:, 3] = -1.0  # nothing positive: pruned
    mu[:6, 5], mu[6:, 5] = 5.0, -5.0  # exactly 6 significant objects: kept (> 5)
    mu[:5, 6], mu[5:, 6] = 5.0, -5.0  # exactly 5: pruned
    sigma = np.full_like(mu, 0.5)
    counts = [
        multipletests(norm.cdf(0, mu[:, d], sigma[:, d]), 0.05, "fdr_bh")[0].sum()
        for d in range(8)
    ]
    np.testing.assert_array_equal(vice_importance(mu, sigma), counts)
    keep = vice_keep_mask(mu, sigma)
    assert not keep[3] and keep[5] and not keep[6]
    np.testing.assert_array_equal(keep, np.array(counts) > 5)
    w = np.array([[0.05, 0.2], [0.1, 0.0]])
    np.testing.assert_array_equal(spose_keep_mask(w), [False, True])


# -------------------------------------------------------------------------- likelihood


def test_likelihood_equals_hand_computation():
    w = np.array([[1.0, 0.0], [0.5, 2.0], [0.0, 1.0], [-1.0, 3.0]])
    t = np.array([[0, 1, 2], [3, 2, 1], [0, 3, 2]])
    x = np.maximum(w, 0)
    s = x @ x.T
    probs = choice_probabilities(w, t)
    for row, (i, j, k) in zip(probs, t, strict=True):
        z = np.exp([s[j, k], s[i, k], s[i, j]])  # logits of "i odd", "j odd", "k odd"
        np.testing.assert_allclose(row, z / z.sum(), rtol=1e-12)
    res = evaluate_embedding(w, t)
    assert res["nll"] == pytest.approx(-np.log(probs[:, 2]).mean(), rel=1e-12)
    assert res["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == 2))
    # Ties: an all-zero triplet counts 1/3 (random tie-breaking), not 1 or 0.
    zero = np.zeros((3, 2))
    assert evaluate_embedding(zero, [[0, 1, 2]])["accuracy"] == pytest.approx(1 / 3)
    # MC evaluation with sigma -> 0 equals the deterministic one.
    mc = evaluate_vice(w, np.full_like(w, 1e-12), t, n_samples=3)
    assert mc["accuracy"] == pytest.approx(res["accuracy"])
    assert mc["nll"] == pytest.approx(res["nll"], rel=1e-9)


def test_triplet_validation_messages():
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        validate_triplets(np.zeros((4, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="row 1"):
        validate_triplets(np.array([[0, 1, 2], [3, 3, 1]]))
    with pytest.raises(ValueError, match="n_objects=4"):
        validate_triplets(np.array([[0, 1, 4]]), 4)
    with pytest.raises(ValueError, match="integer"):
        validate_triplets(np.array([[0.0, 1.0, 2.0]]))


def _autograd_vice_loss(model, batch, g_state, n_train):
    cfg = model.cfg
    g = torch.Generator()
    g.set_state(g_state)
    n, d = model.mu.shape
    mu = model.mu.double().clone().requires_grad_()
    rho = model.rho.double().clone().requires_grad_()
    flat = batch.reshape(-1)
    if cfg.prior == "mixture" or cfg.kl == "sample" or flat.numel() >= n:
        eps = torch.randn((n, d), generator=g).double()
        w = mu + rho.exp() * eps
        wb = w[flat]
    else:
        wb = mu[flat] + rho.exp()[flat] * torch.randn((flat.numel(), d), generator=g).double()
    x = torch.relu(wb).view(-1, 3, d)
    s_ij = (x[:, 0] * x[:, 1]).sum(-1)
    s_ik = (x[:, 0] * x[:, 2]).sum(-1)
    s_jk = (x[:, 1] * x[:, 2]).sum(-1)
    nll = (torch.logsumexp(torch.stack([s_ij, s_ik, s_jk], -1), -1) - s_ij).mean()

    def log_n(v, s):
        return -0.5 * _LOG_2PI - math.log(s) - 0.5 * (v / s) ** 2

    pi, s1, s2 = cfg.pi, cfg.spike_scale, cfg.slab_scale

    def log_p(v):
        if cfg.prior == "mixture":
            return torch.logaddexp(math.log(pi) + log_n(v, s1), math.log(1 - pi) + log_n(v, s2))
        return pi * log_n(v, s1) + (1 - pi) * log_n(v, s2)

    if cfg.kl == "sample":
        sd = rho.exp()
        comp = (-0.5 * _LOG_2PI - rho - 0.5 * ((w - mu) / sd) ** 2).sum() - log_p(w).sum()
    else:
        neg_entropy = (-rho - 0.5 * (_LOG_2PI + 1)).sum()
        if cfg.prior == "mixture":
            comp = neg_entropy - log_p(w).sum()
        else:
            m2 = mu**2 + rho.exp() ** 2
            cross = pi * (-0.5 * _LOG_2PI - math.log(s1) - 0.5 * m2 / s1**2) + (1 - pi) * (
                -0.5 * _LOG_2PI - math.log(s2) - 0.5 * m2 / s2**2
            )
            comp = neg_entropy - cross.sum()
    loss = nll + cfg.beta * comp / n_train
    loss.backward()
    return float(loss.detach()), mu.grad, rho.grad


@pytest.mark.parametrize("prior", ["mixture", "objdim_legacy"])
@pytest.mark.parametrize("kl", ["analytic", "sample"])
@pytest.mark.parametrize("n_batch", [4, 12])  # 12 * 3 >= 30 objects: full-sample path
def test_vice_gradients_equal_autograd(prior, kl, n_batch):
    torch.manual_seed(0)
    n, d = 30, 6
    batch = torch.stack([torch.randperm(n)[:3] for _ in range(n_batch)])
    cfg = VICEConfig(n_dims=d, prior=prior, kl=kl, beta=0.7, init_log_sigma=-1.0)
    g = torch.Generator().manual_seed(1)
    model = _VICEModel(cfg, n, g)
    model.mu.mul_(3)
    state = g.get_state()
    loss, _, _ = model.step_grad(batch, g, 100)
    ref_loss, ref_mu, ref_rho = _autograd_vice_loss(model, batch, state, 100)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(model.mu.grad.double(), ref_mu, atol=1e-6)
    np.testing.assert_allclose(model.rho.grad.double(), ref_rho, atol=1e-6)


@pytest.mark.parametrize("positivity", ["penalty", "projection"])
@pytest.mark.parametrize("l2", [0.0, 3.0])
def test_spose_gradients_equal_autograd(positivity, l2):
    torch.manual_seed(0)
    n, d = 30, 6
    batch = torch.stack([torch.randperm(n)[:3] for _ in range(8)])
    cfg = SPoSEConfig(n_dims=d, l1=0.5, l2=l2, positivity=positivity, init_std=0.2)
    model = _SPoSEModel(cfg, n, torch.Generator().manual_seed(1))
    model.complexity_weight = 0.6  # a warm-up epoch scales l1 and l2, not the positivity term
    if positivity == "projection":
        assert (model.W >= 0).all() and (model.W == 0).any()  # projected init, zeros included
    loss, _, _ = model.step_grad(batch, None, 100)
    w = model.W.double().clone().requires_grad_()
    # projection: x = W on the feasible set W >= 0 (no ReLU mask, so zeros can revive) and
    # ||W||_1 = sum(W); penalty: the reference's ReLU inside the likelihood.
    x = (w if positivity == "projection" else torch.relu(w))[batch.reshape(-1)].view(-1, 3, d)
    s_ij = (x[:, 0] * x[:, 1]).sum(-1)
    s_ik = (x[:, 0] * x[:, 2]).sum(-1)
    s_jk = (x[:, 1] * x[:, 2]).sum(-1)
    ref = (torch.logsumexp(torch.stack([s_ij, s_ik, s_jk], -1), -1) - s_ij).mean()
    l1_norm = w.sum() if positivity == "projection" else w.abs().sum()
    ref = ref + 0.6 * 0.5 / n * l1_norm + 0.6 * l2 / 100 * (w * w).sum()
    if positivity == "penalty":
        ref = ref + 0.01 * torch.relu(-w).sum()
    ref.backward()
    assert loss == pytest.approx(float(ref.detach()), rel=1e-5)
    np.testing.assert_allclose(model.W.grad.double(), w.grad, atol=1e-7)


def test_projection_revives_zeroed_entries():
    """An entry projected to 0 must move up again when the likelihood pulls it up (a ReLU
    mask on the gradient would freeze it at 0 forever)."""
    cfg = SPoSEConfig(n_dims=2, l1=0.0, positivity="projection", lr=0.1)
    model = _SPoSEModel(cfg, 3, torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.W.copy_(torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    # objects 0 and 1 are the similar pair; object 1's second weight is 0 and the gradient
    # of its likelihood with respect to it is 0 here, but object 0's first weight pulls up
    batch = torch.tensor([[0, 2, 1]])  # 2 with 0 is most similar, 1 odd: pulls W[2, 0] up
    model.step_grad(batch, None, 1)
    assert model.W.grad[2, 0] < 0  # descent direction increases W[2, 0] from 0
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    opt.step()
    model.post_step()
    assert model.W[2, 0] > 0


# ------------------------------------------------------------------ resume and recovery


@pytest.mark.parametrize("method", ["vice", "spose"])
def test_resume_equals_uninterrupted_bit_exact(tmp_path, method):
    w = planted_embedding(60, 4, seed=3)
    train = simulate_triplets(w, 3000, seed=4)
    fit = fit_vice if method == "vice" else fit_spose
    cfg = (VICEConfig if method == "vice" else SPoSEConfig)(
        n_dims=8, batch_size=256, max_epochs=6, stability_window=50, lr=0.01
    )
    full = fit(train, 60, cfg, seed=7, progress=False)
    ckpt = tmp_path / "run.ckpt"
    part = fit(train, 60, cfg, seed=7, checkpoint_path=ckpt, checkpoint_every=2,
               until_epoch=3, progress=False)  # fmt: skip
    assert part.epochs == 3 and ckpt.exists()
    resumed = fit(train, 60, cfg, seed=7, checkpoint_path=ckpt, progress=False)
    assert resumed.epochs == full.epochs == 6
    for key, value in full.params.items():
        np.testing.assert_array_equal(resumed.params[key], value)
    assert resumed.history["loss"] == full.history["loss"]
    assert resumed.history["n_dims"] == full.history["n_dims"]
    np.testing.assert_array_equal(resumed.embedding.weights, full.embedding.weights)
    other = (VICEConfig if method == "vice" else SPoSEConfig)(n_dims=9, max_epochs=6)
    with pytest.raises(ValueError, match="another run"):
        fit(train, 60, other, seed=7, checkpoint_path=ckpt, progress=False)


def test_vice_recovers_planted_embedding():
    truth = planted_embedding(300, 10, seed=0)
    train = simulate_triplets(truth, 60_000, seed=1)
    # beta=4: with beta=1 the count still drifts down slowly at 60k triplets (17 dims after
    # 72 epochs with 120k triplets), more epochs than a unit test can afford.
    cfg = VICEConfig(
        n_dims=30, batch_size=512, lr=0.01, beta=4.0, init_log_sigma=-3.0,
        stability_window=20, min_epochs=30, max_epochs=200,
    )  # fmt: skip
    res = fit_vice(train, 300, cfg, seed=0, progress=False)
    assert res.converged
    assert res.embedding.n_dims == 10
    _, r = match_dimensions(truth, res.embedding.weights)
    assert r.min() >= 0.9
    test = simulate_triplets(truth, 5000, seed=2)
    ours = evaluate_embedding(res.embedding.weights, test)["accuracy"]
    assert ours >= evaluate_embedding(truth, test)["accuracy"] - 0.03


def test_spose_recovers_planted_embedding():
    truth = planted_embedding(300, 10, seed=0)
    train = simulate_triplets(truth, 60_000, seed=1)
    cfg = SPoSEConfig(
        n_dims=30, batch_size=512, lr=0.003, l1=0.02,
        stability_window=20, min_epochs=30, max_epochs=200,
    )  # fmt: skip
    res = fit_spose(train, 300, cfg, seed=0, progress=False)
    emb = res.embedding
    pairs, r = match_dimensions(truth, emb.weights)
    assert r.min() >= 0.9
    # Not asserted: the dimension count. SPoSE's absolute rule (max weight > 0.1) with
    # Adam + L1 keeps ~29 of 30 columns here (residual columns hold ~70 % of a planted
    # column's L1 mass); VICE's BH rule recovers 10 (test above).
    test = simulate_triplets(truth, 5000, seed=2)
    ours = evaluate_embedding(emb.weights, test)["accuracy"]
    assert ours >= evaluate_embedding(truth, test)["accuracy"] - 0.03


# -------------------------------------------------------------- embedding files, loading


def test_from_published_sorts_relus_and_validates(tmp_path):
    rng = np.random.default_rng(5)
    raw = rng.random((12, 4))
    raw[:, 2] *= 10
    raw[0, 1] = -1e-4  # rounding noise below zero is tolerated and ReLU'd
    emb = from_published(raw, name="toy", n_objects=12, max_negative_share=0.05)
    assert emb.source_dims[0] == 2 and (emb.weights >= 0).all()
    assert (np.diff(emb.weights.sum(0)) <= 0).all()
    path = tmp_path / "toy.npy"
    np.save(path, raw)
    assert from_published(path, n_objects=12, max_negative_share=0.05).n_dims == 4
    with pytest.raises(ValueError, match="1854 rows"):
        from_published(path)
    bad = raw.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="row 3, column 3: non-finite value"):
        from_published(bad, n_objects=12)
    with pytest.raises(ValueError, match="negative"):
        from_published(raw - 0.5, n_objects=12)
    dead = raw.copy()
    dead[:, 1] = 0
    with pytest.raises(ValueError, match="column 1 is all zero"):
        from_published(dead, n_objects=12, max_negative_share=0.05)
    with pytest.raises(ValueError, match="matrix"):
        from_published(np.ones(5), n_objects=None)
    (tmp_path / "x.txt").write_text("1 2\n")
    with pytest.raises(ValueError, match=r"\.npy"):
        from_published(tmp_path / "x.txt")


def test_save_load_roundtrip_with_provenance(tmp_path):
    emb = from_published(np.random.default_rng(0).random((10, 3)), name="r", n_objects=10)
    emb = Embedding(emb.weights, emb.source_dims, "vice", np.ones_like(emb.weights), {"seed": 1})
    path = save_embedding(tmp_path / "e.npz", emb)
    back = load_embedding(path)
    np.testing.assert_array_equal(back.weights, emb.weights)
    np.testing.assert_array_equal(back.scale, emb.scale)
    assert back.metadata == {"seed": 1} and back.method == "vice"
    assert "torch" in read_provenance(path)["package_versions"]
    with pytest.raises(ValueError, match=r"\.npz"):
        save_embedding(tmp_path / "e.npy", emb)


# ------------------------------------------------- hardening (issue 12, cases 3, 4, 6, 9, 13)


def _small_run():
    w = planted_embedding(30, 3, seed=3)
    train = simulate_triplets(w, 400, seed=4)
    val = simulate_triplets(w, 100, seed=5)
    cfg = SPoSEConfig(n_dims=4, batch_size=200, max_epochs=4, stability_window=50, lr=0.01,
                      select="val_nll")  # fmt: skip
    return train, val, cfg


def test_resuming_a_finished_run_leaves_its_checkpoint_as_it_is(tmp_path):
    """A finished fit resumed (e.g. a shared fit reused by another chapter run) returns
    the same result without rewriting its checkpoint; an unfinished one still saves."""
    train, val, cfg = _small_run()
    ckpt = tmp_path / "run.ckpt"
    part = fit_spose(train, 30, cfg, seed=1, val=val, checkpoint_path=ckpt, until_epoch=2,
                     progress=False)  # fmt: skip
    after_part = ckpt.read_bytes()
    done = fit_spose(train, 30, cfg, seed=1, val=val, checkpoint_path=ckpt, progress=False)
    assert done.epochs > part.epochs and ckpt.read_bytes() != after_part  # it saved
    finished, stamp = ckpt.read_bytes(), ckpt.stat().st_mtime_ns
    again = fit_spose(train, 30, cfg, seed=1, val=val, checkpoint_path=ckpt, progress=False)
    np.testing.assert_array_equal(again.embedding.weights, done.embedding.weights)
    assert ckpt.read_bytes() == finished and ckpt.stat().st_mtime_ns == stamp


def test_resume_with_another_validation_set_is_refused(tmp_path):
    train, val, cfg = _small_run()
    ckpt = tmp_path / "run.ckpt"
    fit_spose(train, 30, cfg, seed=1, val=val, checkpoint_path=ckpt, until_epoch=2,
              progress=False)  # fmt: skip
    other_val = val[::-1].copy()
    with pytest.raises(ValueError, match=r"run.ckpt: checkpoint belongs to another run \(val_sha"):
        fit_spose(train, 30, cfg, seed=1, val=other_val, checkpoint_path=ckpt, progress=False)
    a = emb.checkpoint_file(tmp_path, cfg, train, seed=1, n_objects=30, val=val)
    assert a != emb.checkpoint_file(tmp_path, cfg, train, seed=1, n_objects=30, val=other_val)
    assert a != emb.checkpoint_file(tmp_path, cfg, train, seed=1, n_objects=30)


def test_refused_resume_names_the_differing_setting(tmp_path):
    train, val, cfg = _small_run()
    ckpt = tmp_path / "run.ckpt"
    fit_spose(train, 30, cfg, seed=1, val=val, checkpoint_path=ckpt, until_epoch=1,
              progress=False)  # fmt: skip
    other = dataclasses.replace(cfg, lr=0.02)
    with pytest.raises(ValueError, match=r"config\.lr: checkpoint 0\.01, this run 0\.02"):
        fit_spose(train, 30, other, seed=1, val=val, checkpoint_path=ckpt, progress=False)
    with pytest.raises(ValueError, match=r"seed: checkpoint 1, this run 2"):
        fit_spose(train, 30, cfg, seed=2, val=val, checkpoint_path=ckpt, progress=False)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04truncated", b"garbage" * 10])
def test_unreadable_checkpoint_names_the_file(tmp_path, content):
    train, val, cfg = _small_run()
    ckpt = tmp_path / "run.ckpt"
    ckpt.write_bytes(content)
    with pytest.raises(ValueError, match=r"run.ckpt: unreadable checkpoint.*delete it"):
        fit_spose(train, 30, cfg, seed=1, val=val, checkpoint_path=ckpt, progress=False)


def test_truncated_checkpoint_names_the_file(tmp_path):
    train, val, cfg = _small_run()
    ckpt = tmp_path / "run.ckpt"
    fit_spose(train, 30, cfg, seed=1, val=val, checkpoint_path=ckpt, until_epoch=1,
              progress=False)  # fmt: skip
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"run.ckpt: unreadable checkpoint"):
        fit_spose(train, 30, cfg, seed=1, val=val, checkpoint_path=ckpt, progress=False)


def test_leftover_checkpoint_temporary_is_removed(tmp_path):
    train, val, cfg = _small_run()
    ckpt = tmp_path / "run.ckpt"
    leftover = tmp_path / ".run.ckpt.abc123.tmp"  # as atomic_path names it
    leftover.write_bytes(b"half a checkpoint")
    fit_spose(train, 30, cfg, seed=1, val=val, checkpoint_path=ckpt, until_epoch=1,
              progress=False)  # fmt: skip
    assert not leftover.exists() and ckpt.exists()


def test_a_live_temporary_of_another_run_on_the_same_checkpoint_is_left_alone(tmp_path):
    """Two runs on one checkpoint path: the second's clean-up removes only temporaries
    whose writer is gone, not the one the first is writing."""
    from dnnalign_utils import provenance

    train, val, cfg = _small_run()
    ckpt = tmp_path / "run.ckpt"
    with provenance.atomic_path(ckpt) as live:  # the first run, saving
        live.write_bytes(b"being written")
        assert provenance.leftover_temporaries(ckpt) == []
        fit_spose(train, 30, cfg, seed=1, val=val, checkpoint_path=ckpt, until_epoch=1,
                  progress=False)  # fmt: skip
        assert live.read_bytes() == b"being written"
        stale = tmp_path / ".run.ckpt.killed.tmp"  # a killed writer's: no lock
        stale.write_bytes(b"half")
        assert provenance.leftover_temporaries(ckpt) == [stale]
    assert ckpt.read_bytes() == b"being written"  # the first run's write completed


@pytest.mark.parametrize("kind", ["folder", "npz"])
def test_a_checkpoint_path_that_is_a_folder_or_an_embedding_is_refused_and_kept(tmp_path, kind):
    train, val, cfg = _small_run()
    if kind == "folder":
        target = tmp_path / "my_results"
        target.mkdir()
        (target / "notes.txt").write_text("mine")
        match = r"checkpoint_path .*my_results: is a folder; expected the path of a check"
    else:
        target = tmp_path / "vgg16_vice.npz"
        np.savez(target, weights=np.ones((3, 2)))
        match = r"checkpoint_path .*vgg16_vice\.npz: a \.npz file is an embedding or array"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(ValueError, match=match) as refused:
        fit_spose(train, 30, cfg, seed=1, val=val, checkpoint_path=target, progress=False)
    assert "delete" not in str(refused.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_a_file_that_is_not_a_checkpoint_is_not_to_be_deleted(tmp_path):
    train, val, cfg = _small_run()
    ckpt = tmp_path / "weights.pt"
    torch.save({"weights": torch.ones(2)}, ckpt)  # a torch file of the user's
    with pytest.raises(ValueError, match=r"weights.pt: not a checkpoint .* left as it is") as no:
        fit_spose(train, 30, cfg, seed=1, val=val, checkpoint_path=ckpt, progress=False)
    assert "delete" not in str(no.value) and torch.load(ckpt)["weights"].sum() == 2


@pytest.mark.parametrize(
    ("config", "kwargs", "match"),
    [
        (VICEConfig, {"max_epochs": "10"}, r"VICEConfig.max_epochs: expected int, got '10'"),
        (VICEConfig, {"n_dims": 2.5}, r"VICEConfig.n_dims: expected int, got 2.5"),
        (VICEConfig, {"lr": "0.1"}, r"VICEConfig.lr: expected finite float"),
        (VICEConfig, {"patience": 2.0}, r"VICEConfig.patience: expected int or None"),
        (VICEConfig, {"batch_size": True}, r"VICEConfig.batch_size: expected int"),
        (SPoSEConfig, {"l1": None}, r"SPoSEConfig.l1: expected finite float"),
        (SPoSEConfig, {"select": 1}, r"SPoSEConfig.select: expected str"),
    ],
)
def test_config_types_are_checked_on_construction(config, kwargs, match):
    with pytest.raises(ValueError, match=match):
        config(**kwargs)


def test_config_accepts_numpy_numbers_and_ints_for_floats():
    cfg = VICEConfig(n_dims=np.int64(5), lr=1, beta=np.float64(0.5), max_epochs=3)
    assert cfg.n_dims == 5 and cfg.lr == 1


def _write_embedding(path, seed):
    w = np.random.default_rng(seed).random((10, 3))
    e = from_published(w, name=f"run{seed}", n_objects=10)
    return save_embedding(path, Embedding(e.weights, e.source_dims, "vice", None, {"seed": seed}))


def test_provenance_hashes_the_bytes_written_not_the_file_on_disk(tmp_path, monkeypatch):
    """Two runs writing the same output: run 2's artefact lands between run 1's artefact
    and run 1's record. The record must not vouch for run 2's file."""
    from dnnalign_utils import provenance

    path = tmp_path / "e.npz"
    real = provenance.write_provenance
    state = {"raced": False}

    def racing_write_provenance(artefact, record, artefact_sha256=None):
        if not state["raced"]:
            state["raced"] = True
            monkeypatch.setattr(provenance, "write_provenance", real)
            _write_embedding(path, seed=2)  # the other process, start to finish
        return real(artefact, record, artefact_sha256)

    monkeypatch.setattr(provenance, "write_provenance", racing_write_provenance)
    _write_embedding(path, seed=1)  # its record lands last, over run 2's record
    assert read_provenance(path)["parameters"] == {"seed": 1}
    with pytest.raises(provenance.ProvenanceMismatchError, match=r"e.npz: SHA-256 .*another"):
        load_embedding(path)


def test_load_embedding_checks_the_record(tmp_path):
    path = _write_embedding(tmp_path / "e.npz", seed=1)
    assert load_embedding(path).metadata == {"seed": 1}
    record = tmp_path / "e.npz.provenance.json"
    saved = record.read_text()
    _write_embedding(tmp_path / "f.npz", seed=2)
    (tmp_path / "f.npz").replace(path)  # another run's file beside this record
    record.write_text(saved)
    with pytest.raises(ValueError, match=r"e.npz: SHA-256 .* provenance record"):
        load_embedding(path)


@pytest.mark.parametrize(
    ("config", "kwargs", "match"),
    [
        (VICEConfig, {"lr": float("nan")}, r"VICEConfig.lr: expected finite float, got nan"),
        (VICEConfig, {"beta": float("inf")}, r"VICEConfig.beta: expected finite float"),
        (SPoSEConfig, {"l1": float("nan")}, r"SPoSEConfig.l1: expected finite float"),
    ],
)
def test_config_refuses_non_finite_numbers(config, kwargs, match):
    with pytest.raises(ValueError, match=match):
        config(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": 1.5}, r"seed: expected an integer, got 1.5"),
        ({"seed": "1"}, r"seed: expected an integer, got '1'"),
        ({"eval_every": "1"}, r"eval_every: expected an integer"),
        ({"checkpoint_every": 0}, r"checkpoint_every: expected a positive integer"),
        ({"n_objects": "30"}, r"n_objects: expected an integer, got '30'"),
    ],
)
def test_fit_arguments_are_checked(kwargs, match):
    train, _, _ = _small_run()
    kwargs = {"n_objects": 30, **kwargs}
    cfg = SPoSEConfig(n_dims=3, max_epochs=1)
    with pytest.raises(ValueError, match=match):
        fit_spose(train, kwargs.pop("n_objects"), cfg, progress=False, **kwargs)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04junk", b"\x93NUMPY"])
def test_unreadable_embedding_file_names_the_file(tmp_path, content):
    path = tmp_path / "e.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"e.npz: cannot be read as an embedding .npz"):
        load_embedding(path)


@pytest.mark.parametrize(("record", "match"), [("{bad", "unreadable"), ("[]", "JSON object")])
def test_corrupted_provenance_record_names_itself(tmp_path, record, match):
    path = _write_embedding(tmp_path / "e.npz", seed=1)
    (tmp_path / "e.npz.provenance.json").write_text(record)
    with pytest.raises(ValueError, match=rf"e.npz.provenance.json: .*{match}"):
        load_embedding(path)


# ------------------------------------------------------------ matching, reproducibility


def test_hungarian_and_greedy_recover_a_permutation():
    rng = np.random.default_rng(6)
    a = rng.gamma(1.0, 1.0, size=(200, 12))
    perm = rng.permutation(12)
    b = a[:, perm] + 0.01 * rng.random((200, 12))
    for method in ("hungarian", "greedy"):
        pairs, r = match_dimensions(a, b, method=method)
        np.testing.assert_array_equal(perm[pairs[:, 1]], pairs[:, 0])
        assert (r > 0.99).all()
    with pytest.raises(ValueError, match="method"):
        match_dimensions(a, b, method="x")


def test_split_half_reproducibility_known_cases():
    rng = np.random.default_rng(7)
    a = rng.gamma(1.0, 1.0, size=(400, 6))
    same = a[:, ::-1] + 0.001 * rng.random((400, 6))
    np.testing.assert_array_less(0.99, split_half_reproducibility(a, same, seed=1))
    noise = rng.gamma(1.0, 1.0, size=(400, 6))
    assert np.abs(split_half_reproducibility(a, noise, seed=1)).max() < 0.3
    # Half 2 is scored only: a dimension that matches b on half 1 only scores low.
    b = a.copy()
    perm = np.random.default_rng(1).permutation(400)
    b[perm[200:], 0] = rng.gamma(1.0, 1.0, size=200)
    assert split_half_reproducibility(a, b, seed=1)[0] < 0.3
    runs = {"s1": a, "s2": same, "s3": a + 0.5 * rng.random((400, 6)), "bad": noise}
    rep = reproducibility_over_runs(runs, seed=1)
    assert rep.best in ("s1", "s2")
    assert rep.share_reproducible["bad"] == 0.0
    pair = reproducibility_over_runs({"x": a, "y": same}, seed=1)
    # Fisher z clips r at 0.999999, hence the tolerance
    direct = split_half_reproducibility(a, same, seed=1)
    np.testing.assert_allclose(pair.per_dim["x"], direct, atol=2e-6)


# ------------------------------------------------- warm-up, validation selection, threads


def test_warmup_factor_values():
    assert [warmup_factor(e, 4) for e in (1, 2, 3, 4, 5, 100)] == [0.25, 0.5, 0.75, 1, 1, 1]
    assert warmup_factor(1, 0) == 1.0
    with pytest.raises(ValueError, match="epoch"):
        warmup_factor(0, 4)
    with pytest.raises(ValueError, match="warmup_epochs"):
        VICEConfig(warmup_epochs=-1)
    with pytest.raises(ValueError, match="select"):
        SPoSEConfig(select="best")
    with pytest.raises(ValueError, match="patience"):
        SPoSEConfig(patience=0)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: VICEConfig(min_objects=-3), r"min_objects: expected >= 0.*-3"),
        (lambda: VICEConfig(min_epochs=-1), r"min_epochs: expected >= 0"),
        (lambda: SPoSEConfig(threshold=-1.0), r"threshold: expected > 0.*-1"),
        (lambda: SPoSEConfig(threshold=0.0), r"threshold: expected > 0"),
        (lambda: SPoSEConfig(init_mean=0.0, init_std=0.0), r"init_mean, init_std: .* 0.0, 0.0"),
        (lambda: SPoSEConfig(init_mean=-0.1), r"init_mean, init_std: expected init_mean >= 0"),
    ],
)
def test_configs_that_would_undo_the_method_are_refused_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_vice_config_has_no_field_the_fit_ignores():
    """The Monte-Carlo evaluation's sample count is its own argument (`evaluate_vice`'s
    n_samples, chapter 2's `mc_samples`): a config field of it would be read nowhere."""
    names = {f.name for f in dataclasses.fields(VICEConfig)}
    assert "mc_samples" not in names
    with pytest.raises(TypeError, match="mc_samples"):
        VICEConfig(mc_samples=5)


def test_warmup_scales_the_complexity_weight_per_epoch():
    """The loss recorded per epoch uses beta * min(1, epoch / warmup): with a warm-up the
    complexity share of the first epoch is a quarter of the full-beta run's."""
    w = planted_embedding(60, 4, seed=3)
    train = simulate_triplets(w, 600, seed=4)
    base = VICEConfig(n_dims=8, batch_size=600, max_epochs=1, prior="objdim_legacy", lr=1e-9)
    full = fit_vice(train, 60, base, seed=1, progress=False)
    warm = fit_vice(train, 60, dataclasses.replace(base, warmup_epochs=4), seed=1,
                    progress=False)  # fmt: skip
    # lr ~ 0: the same parameters, so the complexity term itself is identical
    assert warm.history["complexity"] == full.history["complexity"]
    nll, comp = full.history["nll"][0], full.history["complexity"][0]
    assert full.history["loss"][0] == pytest.approx(nll + 1.0 * comp)
    assert warm.history["loss"][0] == pytest.approx(nll + 0.25 * comp)


def _overfitting_setup():
    w = planted_embedding(60, 4, seed=3)
    train = simulate_triplets(w, 1500, seed=4)
    val = simulate_triplets(w, 1500, seed=5)
    cfg = SPoSEConfig(n_dims=20, l1=0.0, positivity="projection", batch_size=250, lr=0.05,
                      max_epochs=40, stability_window=100, select="val_nll")  # fmt: skip
    return train, val, cfg


def test_val_selection_returns_the_best_epochs_parameters():
    train, val, cfg = _overfitting_setup()
    res = fit_spose(train, 60, cfg, seed=2, val=val, eval_every=1, progress=False)
    vals = res.history["val_nll"]
    best = res.history["val_epoch"][int(np.argmin(vals))]
    assert res.best_val_epoch == res.selected_epoch == best
    assert 1 < best < res.epochs == 40  # it did overfit: the last epoch is not the best
    assert vals[-1] > min(vals)
    # the same run stopped at the best epoch holds exactly these parameters
    last = dataclasses.replace(cfg, select="last")
    ref = fit_spose(train, 60, last, seed=2, until_epoch=best, progress=False)
    np.testing.assert_array_equal(res.params["W"], ref.params["W"])
    np.testing.assert_array_equal(res.embedding.weights, ref.embedding.weights)
    assert evaluate_embedding(res.params["W"], val)["nll"] == pytest.approx(min(vals))
    assert res.embedding.metadata["selected_epoch"] == best


def test_patience_stops_and_selection_needs_val():
    train, val, cfg = _overfitting_setup()
    cfg = dataclasses.replace(cfg, patience=3)
    res = fit_spose(train, 60, cfg, seed=2, val=val, eval_every=1, progress=False)
    assert res.converged and res.stop_reason == "patience"
    assert res.epochs == res.best_val_epoch + 3
    with pytest.raises(ValueError, match="val"):
        fit_spose(train, 60, cfg, seed=2, progress=False)


@pytest.mark.parametrize("method", ["vice", "spose"])
def test_resume_bit_exact_with_warmup_and_selection(tmp_path, method):
    w = planted_embedding(60, 4, seed=3)
    train = simulate_triplets(w, 3000, seed=4)
    val = simulate_triplets(w, 500, seed=5)
    fit = fit_vice if method == "vice" else fit_spose
    cfg = (VICEConfig if method == "vice" else SPoSEConfig)(
        n_dims=8, batch_size=256, max_epochs=8, stability_window=50, lr=0.05,
        warmup_epochs=5, select="val_nll", patience=6,
    )  # fmt: skip
    full = fit(train, 60, cfg, seed=7, val=val, eval_every=1, progress=False)
    ckpt = tmp_path / "run.ckpt"
    fit(train, 60, cfg, seed=7, val=val, eval_every=1, checkpoint_path=ckpt,
        checkpoint_every=2, until_epoch=3, progress=False)  # fmt: skip
    resumed = fit(train, 60, cfg, seed=7, val=val, eval_every=1, checkpoint_path=ckpt,
                  progress=False)  # fmt: skip
    assert resumed.epochs == full.epochs
    assert resumed.selected_epoch == full.selected_epoch
    assert resumed.stop_reason == full.stop_reason
    for key, value in full.params.items():
        np.testing.assert_array_equal(resumed.params[key], value)
    assert resumed.history == full.history | {"seconds": resumed.history["seconds"]}


def test_num_threads_is_set_for_the_fit_and_restored():
    w = planted_embedding(30, 3, seed=3)
    train = simulate_triplets(w, 300, seed=4)
    before = torch.get_num_threads()
    res = fit_spose(train, 30, SPoSEConfig(n_dims=4, max_epochs=1), num_threads=1,
                    progress=False)  # fmt: skip
    assert res.embedding.metadata["torch_threads"] == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads"):
        fit_spose(train, 30, SPoSEConfig(n_dims=4, max_epochs=1), num_threads=0)


def test_checkpoint_file_names_differ_by_run_and_are_stable(tmp_path):
    from dnnalign_utils import embedding as E

    rng = np.random.default_rng(0)
    train = np.array([rng.permutation(20)[:3] for _ in range(50)])
    cfg = E.VICEConfig(n_dims=5)
    a = E.checkpoint_file(tmp_path, cfg, train, seed=0, n_objects=20, prefix="h_")
    assert a == E.checkpoint_file(tmp_path, cfg, train, seed=0, n_objects=20, prefix="h_")
    assert a.name.startswith("h_vice_seed0_") and a.suffix == ".ckpt"
    assert a != E.checkpoint_file(tmp_path, cfg, train, seed=1, n_objects=20, prefix="h_")
    other_cfg = E.VICEConfig(n_dims=6)
    assert a != E.checkpoint_file(tmp_path, other_cfg, train, seed=0, n_objects=20, prefix="h_")
    assert a != E.checkpoint_file(tmp_path, cfg, train[:-1], seed=0, n_objects=20, prefix="h_")
    spose = E.checkpoint_file(tmp_path, E.SPoSEConfig(n_dims=5), train, seed=0, n_objects=20)
    assert spose.name.startswith("spose_seed0_")


def test_presets_by_scale_and_role():
    assert emb.preset("small_data", "human_spose") is emb.SMALL_DATA_SPOSE
    paper_dnn = emb.preset("paper", "dnn_vice")
    # the paper's DNN run differs from its human run only in beta (the paper's Methods)
    assert dataclasses.replace(paper_dnn, beta=1.0) == emb.PAPER_HUMAN_VICE
    assert (paper_dnn.n_dims, paper_dnn.batch_size, paper_dnn.beta) == (150, 256, 0.24)
    with pytest.raises(ValueError, match="scale: expected one of"):
        emb.preset("huge", "dnn_vice")
    with pytest.raises(ValueError, match="role: expected one of"):
        emb.preset("paper", "dnn_spose")


# ----------------------------------------------------------------------- learning curve


def test_learning_curve_subsets_are_nested_and_given_fits_are_reused(monkeypatch):
    from types import SimpleNamespace

    truth = planted_embedding(60, 4, seed=3)
    train = simulate_triplets(truth, 1000, seed=4)
    test = simulate_triplets(truth, 500, seed=5)
    seen = []

    def fake_fit(subset, n_objects, config, **kwargs):
        seen.append(subset)
        return SimpleNamespace(embedding=SimpleNamespace(weights=truth, n_dims=4))

    monkeypatch.setattr(fitting, "fit_spose", fake_fit)  # learning_curve looks it up there
    given = SimpleNamespace(embedding=SimpleNamespace(weights=truth[:, :2], n_dims=2))
    curve = emb.learning_curve(
        train, 60, SPoSEConfig(), [0.5, 0.1, 1.0], {"test": test}, fits={1.0: given}
    )
    assert [len(s) for s in seen] == [100, 500]  # 1.0 was not refitted
    small = {tuple(r) for r in seen[0]}
    assert small <= {tuple(r) for r in seen[1]} <= {tuple(r) for r in train}
    assert curve["fraction"].tolist() == [0.1, 0.5, 1.0]
    assert curve["dimensions"].tolist() == [4, 4, 2]
    expected = 100 * evaluate_embedding(truth[:, :2], test)["accuracy"]
    assert curve["accuracy (%)"].iloc[2] == pytest.approx(expected)
    for bad in ([0.0], [1.5], [0.5, 0.5]):
        with pytest.raises(ValueError, match="fractions"):
            emb.learning_curve(train, 60, SPoSEConfig(), bad, {"test": test})
    with pytest.raises(ValueError, match="fits: fractions"):
        emb.learning_curve(train, 60, SPoSEConfig(), [0.5], {"test": test}, fits={1.0: given})


def test_learning_curve_accuracy_grows_with_data():
    truth = planted_embedding(150, 6, seed=7)
    train = simulate_triplets(truth, 20_000, seed=8)
    test = simulate_triplets(truth, 3000, seed=9)
    cfg = SPoSEConfig(n_dims=12, batch_size=512, lr=0.01, l1=0.01, max_epochs=25)
    curve = emb.learning_curve(train, 150, cfg, [0.05, 1.0], {"test": test}, progress=False)
    small, full = curve["accuracy (%)"]
    assert full > small + 5
    assert full >= 100 * evaluate_embedding(truth, test)["accuracy"] - 5


def test_fit_vice_to_network_is_chapter_1_and_2_composed(tmp_path):
    from dnnalign_utils import triplets as T
    from dnnalign_utils.embedding import fit_vice_to_network

    features = planted_embedding(60, 5, seed=3)
    cfg = VICEConfig(n_dims=8, batch_size=256, max_epochs=3, min_epochs=1, stability_window=1)
    fit, test = fit_vice_to_network(
        features, cfg, n_triplets=4000, seed=5, checkpoint_dir=tmp_path, prefix="net_",
        n_val=100, progress=False,
    )  # fmt: skip
    choices = T.odd_one_out_choices(T.sample_triplets(60, 4000, seed=5), features, progress=False)
    train, expected_test = T.split_triplets(choices, 0.1, seed=5)
    np.testing.assert_array_equal(test, expected_test)
    direct = fit_vice(train, 60, cfg, seed=5, val=expected_test[:100], progress=False)
    np.testing.assert_array_equal(fit.embedding.weights, direct.embedding.weights)
    assert len(list(tmp_path.glob("net_vice_seed5_*.ckpt"))) == 1
    again, _ = fit_vice_to_network(
        features, cfg, n_triplets=4000, seed=5, checkpoint_dir=tmp_path, prefix="net_",
        n_val=100, progress=False,
    )  # fmt: skip
    np.testing.assert_array_equal(again.embedding.weights, fit.embedding.weights)


# ------------------------------------------------------------------- the fast training step


def test_direct_fused_adam_equals_optimizer_step_bit_for_bit():
    """_AdamStep calls the fused kernel directly: the same parameters and optimiser state as
    opt.step(), also after the state is loaded into a fresh optimiser (a resumed run)."""
    torch.manual_seed(0)
    fast = [torch.randn(7, 5), torch.randn(7, 5)]
    plain = [p.clone() for p in fast]
    opt_fast = torch.optim.Adam(fast, lr=0.01, fused=True)
    opt_plain = torch.optim.Adam(plain, lr=0.01, fused=True)
    step = _AdamStep(opt_fast)
    for i in range(6):
        if i == 3:  # resume: a new optimiser with the saved state
            opt_fast = torch.optim.Adam(fast, lr=0.01, fused=True)
            # (a deep copy, as torch.load gives: load_state_dict would share the tensors)
            opt_fast.load_state_dict(copy.deepcopy(opt_plain.state_dict()))
            step = _AdamStep(opt_fast)
        for p, q in zip(fast, plain, strict=True):
            grad = torch.randn(7, 5)
            p.grad, q.grad = grad.clone(), grad.clone()
        step()
        opt_plain.step()
        for p, q in zip(fast, plain, strict=True):
            assert torch.equal(p, q)
    for s_fast, s_plain in zip(opt_fast.state.values(), opt_plain.state.values(), strict=True):
        assert all(torch.equal(s_fast[k], s_plain[k]) for k in ("step", "exp_avg", "exp_avg_sq"))


@pytest.mark.parametrize(
    "cfg",
    [
        VICEConfig(n_dims=6, prior="mixture", beta=0.7, lr=0.02, init_log_sigma=-1.0),
        VICEConfig(n_dims=6, prior="mixture", kl="sample", lr=0.02, init_log_sigma=-1.0),
        VICEConfig(n_dims=6, prior="objdim_legacy", lr=0.02, init_log_sigma=-1.0),
        SPoSEConfig(n_dims=6, l1=0.5, l2=3.0, positivity="projection", lr=0.02),
        SPoSEConfig(n_dims=6, l1=0.5, positivity="penalty", lr=0.02),
    ],
)
def test_fast_steps_follow_plain_autograd_and_adam(cfg):
    """Ten steps of the fused float32 step + direct fused Adam stay within 1e-5 of a plain
    float64 autograd + torch.optim.Adam run fed the same batches and the same noise."""
    import types

    torch.manual_seed(0)
    n, n_train = 30, 100
    batches = [torch.stack([torch.randperm(n)[:3] for _ in range(4)]) for _ in range(10)]
    g = torch.Generator().manual_seed(1)
    vice = isinstance(cfg, VICEConfig)
    model = _VICEModel(cfg, n, g) if vice else _SPoSEModel(cfg, n, g)
    ref = [p.double().clone().requires_grad_() for p in model.parameters()]
    ref_opt = torch.optim.Adam(ref, lr=cfg.lr)
    step = _AdamStep(torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True))
    for batch in batches:
        state = g.get_state()
        model.step_grad(batch, g, n_train)
        step()
        model.post_step()
        ref_opt.zero_grad()
        if vice:
            shadow = types.SimpleNamespace(cfg=cfg, mu=ref[0].detach(), rho=ref[1].detach())
            _, grad_mu, grad_rho = _autograd_vice_loss(shadow, batch, state, n_train)
            ref[0].grad, ref[1].grad = grad_mu, grad_rho
        else:
            w = ref[0]
            x = (w if cfg.positivity == "projection" else torch.relu(w))[batch.reshape(-1)]
            x = x.view(-1, 3, cfg.n_dims)
            sims = [(x[:, a] * x[:, b]).sum(-1) for a, b in ((1, 2), (0, 2), (0, 1))]
            loss = torch.nn.functional.cross_entropy(
                torch.stack(sims, 1), torch.full((len(batch),), 2)
            )
            l1 = w.sum() if cfg.positivity == "projection" else w.abs().sum()
            loss = loss + cfg.l1 / n * l1 + cfg.l2 / n_train * (w * w).sum()
            if cfg.positivity == "penalty":
                loss = loss + 0.01 * torch.relu(-w).sum()
            loss.backward()
        ref_opt.step()
        if not vice and cfg.positivity == "projection":
            with torch.no_grad():
                ref[0].clamp_(min=0)
    for fast, slow in zip(model.parameters(), ref, strict=True):
        np.testing.assert_allclose(fast.double(), slow.detach(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("method", ["vice", "spose"])
def test_same_seed_same_numbers(method):
    w = planted_embedding(40, 4, seed=5)
    train = simulate_triplets(w, 2000, seed=6)
    fit = fit_vice if method == "vice" else fit_spose
    cfg = (VICEConfig if method == "vice" else SPoSEConfig)(
        n_dims=6, batch_size=128, max_epochs=3, lr=0.01
    )
    a = fit(train, 40, cfg, seed=3, progress=False)
    b = fit(train, 40, cfg, seed=3, progress=False)
    c = fit(train, 40, cfg, seed=4, progress=False)
    for key, value in a.params.items():
        np.testing.assert_array_equal(b.params[key], value)
        assert not np.array_equal(c.params[key], value)
    assert a.history["loss"] == b.history["loss"]


def test_bh_counts_equal_the_rejections_per_column():
    rng = np.random.default_rng(0)
    p = rng.random((300, 7)) ** rng.uniform(1, 6, size=7)  # from no rejection to many
    p[:5, 0] = 0.0  # ties at zero
    expected = benjamini_hochberg(p, 0.05).sum(0)
    np.testing.assert_array_equal(_bh_counts(np.ascontiguousarray(p.T), 0.05), expected)
    assert expected.min() < expected.max()


@pytest.mark.parametrize("method", ["vice", "spose"])
def test_device_argument_cpu_equals_the_default_here(method):
    w = planted_embedding(30, 3, seed=8)
    train = simulate_triplets(w, 600, seed=9)
    fit = fit_vice if method == "vice" else fit_spose
    cfg = (VICEConfig if method == "vice" else SPoSEConfig)(n_dims=4, max_epochs=2)
    explicit = fit(train, 30, cfg, seed=0, progress=False, device="cpu")
    assert explicit.embedding.metadata["device"] == "cpu"
    if not torch.cuda.is_available():  # the default is the CPU here
        default = fit(train, 30, cfg, seed=0, progress=False)
        for key, value in explicit.params.items():
            np.testing.assert_array_equal(default.params[key], value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("method", ["vice", "spose"])
def test_fits_run_and_resume_on_cuda(tmp_path, method):
    w = planted_embedding(40, 4, seed=3)
    train = simulate_triplets(w, 3000, seed=4)
    fit = fit_vice if method == "vice" else fit_spose
    cfg = (VICEConfig if method == "vice" else SPoSEConfig)(
        n_dims=8, batch_size=256, max_epochs=4, stability_window=50, lr=0.01
    )
    full = fit(train, 40, cfg, seed=7, progress=False, device="cuda")
    ckpt = tmp_path / "run.ckpt"
    fit(train, 40, cfg, seed=7, checkpoint_path=ckpt, until_epoch=2, progress=False,
        device="cuda")  # fmt: skip
    resumed = fit(train, 40, cfg, seed=7, checkpoint_path=ckpt, progress=False, device="cuda")
    for key, value in full.params.items():
        assert np.isfinite(value).all()
        np.testing.assert_array_equal(resumed.params[key], value)


def test_network_embedding_carries_the_things_index_of_its_rows(tmp_path):
    rng = np.random.default_rng(0)
    subset = np.sort(rng.choice(1854, 30, replace=False))
    fitted = emb.from_published(rng.gamma(1.0, 1.0, (30, 4)), n_objects=None, name="subset")
    path = emb.save_embedding(
        tmp_path / "subset.npz", fitted, extra_arrays={"things_index": subset}
    )
    loaded, things_index = emb.load_network_embedding(path)
    np.testing.assert_array_equal(loaded.weights, fitted.weights)
    np.testing.assert_array_equal(things_index, subset)
    # absent: all 1,854 concepts in THINGS order
    complete = emb.from_published(rng.gamma(1.0, 1.0, (1854, 3)), name="complete")
    path = emb.save_embedding(tmp_path / "complete.npz", complete)
    np.testing.assert_array_equal(emb.load_network_embedding(path)[1], np.arange(1854))
    # absent with fewer rows: refused, naming the file
    path = emb.save_embedding(tmp_path / "short.npz", fitted)
    with pytest.raises(ValueError, match=r"short\.npz: 30 rows and no 'things_index' array"):
        emb.load_network_embedding(path)
    bad = subset[::-1].copy()
    path = emb.save_embedding(tmp_path / "bad.npz", fitted, extra_arrays={"things_index": bad})
    with pytest.raises(ValueError, match=r"bad\.npz: things_index must be strictly increasing"):
        emb.load_network_embedding(path)


def test_rows_of_finds_each_wanted_concept_and_names_the_missing():
    things_index = np.array([3, 7, 8, 20, 1500])
    wanted = np.array([7, 20, 1500])
    rows = emb.rows_of(things_index, wanted, "features")
    np.testing.assert_array_equal(things_index[rows], wanted)
    np.testing.assert_array_equal(rows, [1, 3, 4])  # the slow way: list.index
    assert rows.tolist() == [things_index.tolist().index(w) for w in wanted]
    with pytest.raises(ValueError, match=r"features: no row for 2 of the 3 .* \[4, 1853\]"):
        emb.rows_of(things_index, np.array([4, 7, 1853]), "features")
    with pytest.raises(ValueError, match="no row for 1 of the 1"):
        emb.rows_of(np.array([], dtype=int), np.array([0]), "empty")


def test_validation_triplets_from_the_training_set_are_refused_or_warned_about():
    """select="val_nll" on training data would pick epochs on what the fit has seen."""
    w = planted_embedding(60, 4, seed=3)
    train = simulate_triplets(w, 3000, seed=4)
    fresh = simulate_triplets(w, 500, seed=5)
    cfg = SPoSEConfig(n_dims=4, max_epochs=1, select="val_nll")
    for same in (train, train[:500], train[::-1, [1, 0, 2]]):  # itself, a part, reordered
        with pytest.raises(ValueError, match=r"val: all [\d,]+ validation triplets are also"):
            fit_spose(train, 60, cfg, val=same, progress=False)
    overlapping = np.concatenate([train[:250], fresh[:250]])
    with pytest.warns(UserWarning, match=r"val: 2\d\d of the 500 validation triplets \(") as got:
        fit_spose(train, 60, cfg, val=overlapping, progress=False)
    assert got[0].filename == __file__  # the warning points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a held-out set drawn alike passes quietly
        fit_spose(train, 60, cfg, val=fresh, progress=False)


# ---------------------------------------------- chapter 2's fits, tables and summaries


def test_fit_checkpointed_fits_by_config_and_resumes_under_the_runs_own_name(tmp_path):
    train, val, cfg = _small_run()
    fit = emb.fit_checkpointed(
        train, 30, cfg, seed=1, val=val, checkpoint_dir=tmp_path, prefix="h_", progress=False
    )
    name = emb.checkpoint_file(tmp_path, cfg, train, seed=1, n_objects=30, prefix="h_", val=val)
    assert [p.name for p in tmp_path.iterdir()] == [name.name]  # checkpointed under its name
    plain = fit_spose(train, 30, cfg, seed=1, val=val, progress=False)
    np.testing.assert_array_equal(fit.embedding.weights, plain.embedding.weights)
    finished = name.read_bytes()
    again = emb.fit_checkpointed(
        train, 30, cfg, seed=1, val=val, checkpoint_dir=tmp_path, prefix="h_", progress=False
    )
    np.testing.assert_array_equal(again.embedding.weights, fit.embedding.weights)
    assert name.read_bytes() == finished  # resumed, not refitted
    vice = VICEConfig(n_dims=4, batch_size=200, max_epochs=2)
    vice_fit = emb.fit_checkpointed(
        train, 30, vice, seed=2, checkpoint_dir=tmp_path, eval_every=1, progress=False
    )
    assert vice_fit.embedding.method == "vice" and "mu" in vice_fit.params
    assert emb.checkpoint_file(tmp_path, vice, train, seed=2, n_objects=30).exists()


def test_vice_accuracy_by_set_is_evaluate_vice_on_the_kept_dimensions():
    rng = np.random.default_rng(0)
    mu = rng.normal(0.3, 0.5, size=(30, 6))
    sigma = np.full((30, 6), 0.1)
    mu[:, 4:], sigma[:, 4:] = 0.0, 1.0  # two dimensions no object reliably holds: pruned
    w = planted_embedding(30, 3, seed=1)
    sets = {"a": simulate_triplets(w, 200, seed=2), "b": simulate_triplets(w, 100, seed=3)}
    kept = vice_keep_mask(mu, sigma)
    assert 0 < kept.sum() < 6  # some dimensions are pruned, so `dims` matters
    found = emb.vice_accuracy_by_set(mu, sigma, sets, n_samples=5)
    assert found == {
        name: evaluate_vice(mu, sigma, t, n_samples=5, dims=kept)["accuracy"]
        for name, t in sets.items()
    }
    unpruned = evaluate_vice(mu, sigma, sets["a"], n_samples=5)["accuracy"]
    assert found["a"] != unpruned  # the pruned dimensions would add noise


def test_fit_summary_reads_the_fit_and_formats_the_accuracy():
    from types import SimpleNamespace

    fit = SimpleNamespace(epochs=1234, embedding=SimpleNamespace(n_objects=1854, n_dims=65))
    table = emb.fit_summary(fit, "concepts", 900_000, 0.80377)
    assert table["measure"].tolist() == [
        "concepts (objects)", "training triplets", "epochs", "kept dimensions",
        "held-out accuracy (%)",
    ]  # fmt: skip
    assert table["value"].tolist() == ["1,854", "900,000", "1,234", "65", "80.38"]


def test_top_objects_table_lists_each_dimensions_top_objects_and_weight():
    weights = np.array([[0.0, 3.0], [2.0, 1.0], [5.0, 0.0], [1.0, 2.0]])
    names = ["ant", "bee", "cat", "dog"]
    table = emb.top_objects_table(weights, names, k=2)
    assert table["dimension"].tolist() == [1, 2]
    assert table["top objects"].tolist() == ["cat, bee", "ant, dog"]
    assert table["total weight"].tolist() == [8.0, 6.0]


def test_matched_table_puts_each_pair_with_its_top_objects():
    a = planted_embedding(40, 3, seed=4)
    b = a[:, [2, 0, 1]] + 0.01 * np.random.default_rng(5).random((40, 3))
    pairs, r = match_dimensions(a, b)
    names = [f"o{i}" for i in range(40)]
    top_a, top_b = emb.top_objects(a, names, k=2), emb.top_objects(b, names, k=2)
    table = emb.matched_table(pairs, r, top_a, top_b, a="ours", b="theirs")
    assert list(table.columns) == [
        "dimension (ours)", "top objects (ours)", "dimension (theirs)", "top objects (theirs)",
        "r",
    ]  # fmt: skip
    assert table["dimension (ours)"].tolist() == [1, 2, 3]
    assert table["dimension (theirs)"].tolist() == [2, 3, 1]  # the planted permutation
    for _, row in table.iterrows():
        assert row["top objects (ours)"] == ", ".join(top_a[row["dimension (ours)"] - 1])
        assert row["top objects (theirs)"] == ", ".join(top_b[row["dimension (theirs)"] - 1])
    np.testing.assert_array_equal(table["r"], r)
    with pytest.raises(ValueError, match="pairs, r"):
        emb.matched_table(pairs, r[:2], top_a, top_b, a="ours", b="theirs")


def test_reproducibility_table_has_a_row_per_run():
    result = emb.Reproducibility(
        per_dim={}, mean={"seed 0": 0.5, "seed 1": 0.6},
        share_reproducible={"seed 0": 0.1, "seed 1": 0.2}, best="seed 1", threshold=0.8,
    )  # fmt: skip
    table = emb.reproducibility_table(result, {"dimensions": {"seed 0": 50, "seed 1": 47}})
    assert table.index.name == "fit" and table.index.tolist() == ["seed 0", "seed 1"]
    assert list(table.columns) == [
        "dimensions", "mean split-half r", "share of dimensions with r > 0.8",
    ]  # fmt: skip
    assert table.loc["seed 1"].tolist() == [47, 0.6, 0.2]


def test_the_human_vice_preset_does_not_stop_while_its_dimensions_still_grow():
    """Chapter 2's human VICE fit: the kept-dimension count grows by one every 10-30
    epochs after the first drop; its 60-epoch window waits that out, the network
    preset's 20-epoch window would not."""
    from dnnalign_utils.fitting import SMALL_DATA_HUMAN_VICE, SMALL_DATA_VICE, _stable

    assert emb.preset("small_data", "human_vice") is SMALL_DATA_HUMAN_VICE
    assert emb.preset("small_data", "dnn_vice") is SMALL_DATA_VICE
    human = SMALL_DATA_HUMAN_VICE
    assert (human.stability_window, human.min_epochs, human.max_epochs) == (60, 100, 300)
    growing = [100] * 60 + [8 + epoch // 25 for epoch in range(140)]  # +1 every 25 epochs
    stops = [
        next((e for e in range(1, len(growing) + 1) if _stable(growing[:e], w, m)), None)
        for w, m in ((SMALL_DATA_VICE.stability_window, SMALL_DATA_VICE.min_epochs),
                     (human.stability_window, human.min_epochs))
    ]  # fmt: skip
    assert stops[0] is not None and stops[1] is None  # the short window stops mid-growth
    settled = growing + [growing[-1]] * 60
    assert _stable(settled, human.stability_window, human.min_epochs)
