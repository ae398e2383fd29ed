"""Our code timed beside the public reference code itself, in one process, interleaved.

The public code is not part of this repository: check it out yourself and give the
paths of the checkouts. Nothing in them is changed; this script imports their modules
and calls their own training, sampling and regression functions:

* ``--vice PATH``: a checkout of the VICE repository (Muttenthaler et al.): its model
  (``optimization.VICE``), its data set (``data.TripletData``, one-hot rows per triplet)
  in a ``torch.utils.data.DataLoader`` as its ``main_optimization.py`` builds it, and one
  call of its ``stepping`` (the training loop of one epoch: forward, per-batch choice
  accuracy, log q - log p, backward, Adam) per block of batches.
* ``--objdim PATH``: a checkout of the paper's code (object-dimensions): its SPoSE
  training loop (``EmbeddingTrainer.step_dataloader`` with a ``DeterministicEmbedding``
  and its ``TripletDataset`` in a DataLoader, as its ``run_optimization.py`` builds
  them), its tripletizer (``run_tripletization.Sampler``: the similarity matrix, then
  unique random triplets one at a time into a set, then one choice per triplet) and its
  nested ridge (``experiments/dnn_experiments/linear_model.run_ridge_regression``).

Our side: the same model's step from ``dnnalign_utils.fitting`` as a fit takes it
(per-epoch permutation, the batch gathered from it, gradient, Adam; for VICE the step
``step="auto"`` chooses at that batch size, printed with the figures: the row-sparse
step with lazy Adam below ``fitting.SPARSE_STEP_BELOW_BATCH``, the dense one from
there on), ``triplets.sample_triplets`` + ``triplets.odd_one_out_choices`` and
``regression.nested_cv_ridge``. Both sides run with
one thread (OMP_NUM_THREADS / MKL_NUM_THREADS = 1, torch.set_num_threads(1), one BLAS
thread, our sampler's chunk pool held to one thread), alternate block by block, and are
summarised by the same statistic (the median of --repeats blocks); the 1-minute load
average is printed with every figure and the range it spanned is in the table.

Deliberate differences, also printed in the output:

* modules the public code imports but never calls in these paths (``torchtyping`` for
  annotations; ``tomlparse``, ``h5py`` and ``seaborn`` for command lines, .h5 files and
  a plot) are replaced by empty stand-ins when they are not installed;
* the public loops print a progress line per batch or per triplet: their standard output
  goes to /dev/null while they are timed (cheaper than a terminal);
* VICE's DataLoader uses ``pin_memory=False`` (pinning needs a GPU; on the CPU the public
  setting only warns);
* the ridge runs with ``n_jobs=1`` (the public code takes cpu_count - 1 workers) and
  without its closing bar plot; its per-dimension predictor files are written to a
  temporary folder as in the public code.

    .venv/bin/python benchmarks/bench_public_reference.py --vice ~/src/VICE \\
        --objdim ~/src/object-dimensions [--parts vice,spose,sampler,ridge]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import contextlib  # noqa: E402
import importlib  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from dnnalign_utils import paths  # noqa: E402
from dnnalign_utils import triplets as T  # noqa: E402
from dnnalign_utils.fitting import SPoSEConfig, VICEConfig  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_embedding import (  # noqa: E402
    _DEFAULT_STEP,
    _interleave,
    _our_block,
    _our_step,
    dnn_triplets,
)

THINGS = paths.data_dir() / "things"
LOADS: list[float] = []
ROWS: list[tuple[str, str, str, float, str]] = []


def _load() -> float:
    load = os.getloadavg()[0]
    LOADS.append(load)
    return load


def _quiet():
    """Standard output to /dev/null (the public loops print a line per batch)."""
    return contextlib.redirect_stdout(open(os.devnull, "w"))  # noqa: SIM115


def _stand_ins() -> list[str]:
    """Empty modules for imports the public code makes but these paths never use."""
    made = []

    def missing(name: str) -> bool:
        try:
            importlib.import_module(name)
            return False
        except ImportError:
            return True

    if missing("torchtyping"):

        class TensorType:  # only subscripted in annotations
            def __class_getitem__(cls, item):
                return torch.Tensor

        sys.modules["torchtyping"] = types.SimpleNamespace(TensorType=TensorType)
        made.append("torchtyping")
    if missing("tomlparse"):
        sys.modules["tomlparse"] = types.SimpleNamespace(argparse=argparse)
        made.append("tomlparse")
    for name in ("h5py", "seaborn"):  # .h5 files; the ridge script's closing plot
        if missing(name):
            sys.modules[name] = types.ModuleType(name)
            made.append(name)
    return made


def _add_row(what, ours, ref, ratio, loads) -> None:
    ROWS.append((what, ours, ref, ratio, f"{min(loads):.1f}-{max(loads):.1f}"))


# ------------------------------------------------------------------------ training steps


def _slices(train: np.ndarray, size: int, seed=0):
    """A different contiguous slice of a shuffled copy for each block."""
    order = np.random.default_rng(seed).permutation(len(train))
    shuffled = train[order]
    pos = [0]

    def next_slice() -> np.ndarray:
        if pos[0] + size > len(shuffled):
            pos[0] = 0
        out = shuffled[pos[0] : pos[0] + size]
        pos[0] += size
        return out

    return next_slice


def bench_vice(vice_path: Path, train: np.ndarray, batches, steps: int, repeats: int):
    sys.path.insert(0, str(vice_path))
    try:
        optimization = importlib.import_module("optimization")
        vice_data = importlib.import_module("data")
    finally:
        sys.path.remove(str(vice_path))
    tmp = Path(tempfile.mkdtemp())
    train_t = torch.from_numpy(train)
    for batch in batches:
        k = steps if batch <= 256 else max(5, steps * 128 // batch)
        torch.manual_seed(0)
        model = optimization.VICE(
            task="odd-one-out", n_train=len(train), n_objects=1854, init_dim=100,
            optim="adam", eta=1e-3, batch_size=batch, epochs=1, burnin=500, mc_samples=10,
            mixture="gaussian", spike=0.25, slab=1.0, pi=0.5, k=5, ws=500, steps=50,
            model_dir=str(tmp / "model"), results_dir=str(tmp / "results"),
            device=torch.device("cpu"),
        )  # fmt: skip
        model.initialize_optim_()
        model.train()
        next_slice = _slices(train, k * batch)

        def ref_block(model=model, batch=batch, next_slice=next_slice, k=k) -> float:
            loader = torch.utils.data.DataLoader(
                vice_data.TripletData(next_slice(), n_objects=1854),
                batch_size=batch, shuffle=True, num_workers=0, drop_last=False,
                pin_memory=False,
            )  # fmt: skip
            t0 = time.perf_counter()
            with _quiet():
                model.stepping(loader)
            return k * batch / (time.perf_counter() - t0)

        cfg = VICEConfig(n_dims=100, prior="mixture", slab_scale=1.0, lr=1e-3,
                         batch_size=batch, step="auto")  # fmt: skip
        ours_step = _our_step("vice", cfg, 1854, train)
        rates, loads = _interleave(
            {"ref": ref_block, "ours": _our_block(ours_step, train_t, batch, k)}, repeats
        )
        ref, ours = rates["ref"], rates["ours"]
        kind = f"step 'auto'{_DEFAULT_STEP}: {ours_step.kind}"
        print(
            f"[vice] batch {batch}: public VICE {ref:,.0f} triplets/s, ours ({kind}) "
            f"{ours:,.0f} triplets/s, {ours / ref:.1f}x (median of {repeats} interleaved "
            f"blocks of {k} steps; load {min(loads):.1f}-{max(loads):.1f})"
        )
        what = f"VICE training step, batch {batch:,}, 100 dims, {kind} (public VICE)"
        _add_row(what, f"{ours:,.0f} triplets/s", f"{ref:,.0f} triplets/s", ours / ref, loads)


def _import_objdim(objdim_path: Path, module: str):
    sys.path.insert(0, str(objdim_path))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(objdim_path))


def bench_spose(objdim_path: Path, train: np.ndarray, batches, steps: int, repeats: int):
    core = _import_objdim(objdim_path, "objdim.core")
    tmp = Path(tempfile.mkdtemp())
    train_t = torch.from_numpy(train)
    beta = 0.00385  # objdim's SPoSE lambda (its configs/train_spose_behavior.toml)
    for batch in batches:
        k = steps if batch <= 256 else max(5, steps * 128 // batch)
        torch.manual_seed(0)
        model = core.DeterministicEmbedding(1854, 100)
        next_slice = _slices(train, k * batch)
        holder: dict = {}

        def ref_block(model=model, batch=batch, next_slice=next_slice, k=k, holder=holder):
            loader = torch.utils.data.DataLoader(
                core.TripletDataset(next_slice()), batch_size=batch, shuffle=True,
                pin_memory=False, num_workers=0,
            )  # fmt: skip
            if "trainer" not in holder:
                holder["trainer"] = core.EmbeddingTrainer(
                    model, None, loader, loader, types.SimpleNamespace(log_path=str(tmp)),
                    device="cpu", lr=1e-3, beta=beta, method="deterministic",
                )  # fmt: skip
            trainer = holder["trainer"]
            trainer.train_loader = loader
            model.train(True)
            t0 = time.perf_counter()
            with _quiet():
                trainer.step_dataloader(loader)
            return k * batch / (time.perf_counter() - t0)

        cfg = SPoSEConfig(n_dims=100, l1=beta, lr=1e-3, batch_size=batch)
        ours_step = _our_step("spose", cfg, 1854, train)
        rates, loads = _interleave(
            {"ref": ref_block, "ours": _our_block(ours_step, train_t, batch, k)}, repeats
        )
        ref, ours = rates["ref"], rates["ours"]
        print(
            f"[spose] batch {batch}: objdim SPoSE {ref:,.0f} triplets/s, ours (its settings: "
            f"penalty positivity, lambda {beta}) {ours:,.0f} triplets/s, {ours / ref:.1f}x "
            f"(median of {repeats} interleaved blocks of {k} steps; load "
            f"{min(loads):.1f}-{max(loads):.1f})"
        )
        what = f"SPoSE training step, batch {batch:,}, 100 dims (objdim)"
        _add_row(what, f"{ours:,.0f} triplets/s", f"{ref:,.0f} triplets/s", ours / ref, loads)


# ------------------------------------------------------------------------------ sampler


def bench_sampler(objdim_path: Path, n_triplets: int, repeats: int) -> None:
    tripletize = _import_objdim(objdim_path, "run_tripletization")
    features = np.load(THINGS / "dnn" / "vgg16_kernel_nmf_rank200.npy")
    tmp = Path(tempfile.mkdtemp())
    np.save(tmp / "features.npy", features)
    T._n_threads = lambda: 1  # our chunk pool: one thread, like everything else here
    ref_times, our_times, loads, agree = [], [], [], []
    for rep in range(repeats):
        loads.append(_load())
        random.seed(rep)
        np.random.seed(rep)  # noqa: NPY002 (the public sampler draws from these)
        t0 = time.perf_counter()
        with _quiet():
            sampler = tripletize.Sampler(
                file_path=str(tmp / "features.npy"), out_path=str(tmp / "out"),
                n_samples=n_triplets,
            )  # fmt: skip
            ref_rows = sampler.sample_random()
        ref_times.append(time.perf_counter() - t0)
        loads.append(_load())
        t0 = time.perf_counter()
        tri = T.sample_triplets(len(features), n_triplets, seed=rep, progress=False)
        T.odd_one_out_choices(tri, features, progress=False)
        our_times.append(time.perf_counter() - t0)
        # the same choices on the public sampler's own triplets
        ours_on_ref = T.odd_one_out_choices(np.sort(ref_rows, axis=1), features, progress=False)
        agree.append(int((ours_on_ref[:, 2] == ref_rows[:, 2]).sum()))
        dup = len(ref_rows) - len(np.unique(np.sort(ref_rows, axis=1), axis=0))
    ref_s, our_s = float(np.median(ref_times)), float(np.median(our_times))
    print(
        f"[sampler] {n_triplets:,} unique triplets over {len(features):,} objects, dot "
        f"similarity, float64: objdim Sampler {n_triplets / ref_s:,.0f} triplets/s, ours "
        f"{n_triplets / our_s:,.0f} triplets/s, {ref_s / our_s:.0f}x (median of {repeats}, "
        f"interleaved; load {min(loads):.1f}-{max(loads):.1f}); odd one out equal on "
        f"{min(agree):,} of {n_triplets:,} of its triplets; its duplicates: {dup}"
    )
    _add_row(f"Tripletization, {n_triplets:,} unique triplets over 1,854 objects (objdim)",
             f"{n_triplets / our_s:,.0f} triplets/s", f"{n_triplets / ref_s:,.0f} triplets/s",
             ref_s / our_s, loads)  # fmt: skip


# -------------------------------------------------------------------------------- ridge


def bench_ridge(objdim_path: Path, n_ref_dims: int, repeats: int) -> None:
    from dnnalign_utils.regression import REFERENCE_ALPHA_GRID, nested_cv_ridge

    sys.path.insert(0, str(objdim_path / "experiments" / "dnn_experiments"))
    try:
        linear_model = _import_objdim(objdim_path, "linear_model")
    finally:
        sys.path.remove(str(objdim_path / "experiments" / "dnn_experiments"))
    x = np.load(THINGS / "dnn" / "vgg16_kernel_nmf_rank200.npy").astype(np.float64)
    x = np.maximum(x, 0) - np.maximum(x, 0).mean(0)  # its loader: ReLU, then centre
    y = np.load(THINGS / "human" / "vice_embedding_42d.npy").astype(np.float64)
    dims = np.unique(np.linspace(0, y.shape[1] - 1, n_ref_dims).astype(int))
    tmp = Path(tempfile.mkdtemp())
    linear_model.load_deepnet_activations = lambda *a, **k: x
    linear_model.load_sparse_codes = lambda *a, **k: y[:, dims]
    linear_model.create_results_path = lambda *a, **k: str(tmp)
    linear_model.plot_predictions = lambda *a, **k: None
    linear_model.multiprocessing = types.SimpleNamespace(cpu_count=lambda: 2)  # n_jobs=1
    our_times, loads = [], []
    result = None

    def ours() -> None:
        nonlocal result
        loads.append(_load())
        t0 = time.perf_counter()
        result = nested_cv_ridge(x, y, REFERENCE_ALPHA_GRID, refit=False, progress=False)
        our_times.append(time.perf_counter() - t0)

    for _ in range(max(1, repeats // 2)):
        ours()
    loads.append(_load())
    np.random.seed(0)  # noqa: NPY002 (as the public script seeds itself)
    random.seed(0)
    t0 = time.perf_counter()
    with _quiet():
        linear_model.run_ridge_regression("features", "embedding", k_folds=3)
    ref_per_dim = (time.perf_counter() - t0) / len(dims)
    for _ in range(max(1, repeats - repeats // 2)):
        ours()
    ref_r2 = np.load(tmp / "r2_scores.npy")
    our_per_dim = float(np.median(our_times)) / y.shape[1]
    gap = float(np.abs(ref_r2 - result.r2[dims]).max())
    print(
        f"[ridge] nested 3x3 CV, 200 alphas, X 1,854 x 200: objdim {ref_per_dim:.2f} s per "
        f"dimension ({len(dims)} dims), ours {our_per_dim * 1e3:.1f} ms per dimension (all "
        f"{y.shape[1]} at once, median of {len(our_times)}), {ref_per_dim / our_per_dim:.0f}x; "
        f"largest |R2 difference| {gap:.1e}; load {min(loads):.1f}-{max(loads):.1f}"
    )
    _add_row("Nested-CV ridge per dimension (objdim)", f"{our_per_dim * 1e3:.1f} ms",
             f"{ref_per_dim:.2f} s", ref_per_dim / our_per_dim, loads)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vice", type=Path, help="a checkout of the public VICE code")
    parser.add_argument("--objdim", type=Path, help="a checkout of object-dimensions")
    parser.add_argument("--parts", default="vice,spose,sampler,ridge")
    parser.add_argument("--batches", default="128,2048")
    parser.add_argument("--step-triplets", type=int, default=200_000)
    parser.add_argument("--steps", type=int, default=40, help="steps per block at batch 128")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sampler-triplets", type=int, default=1_000_000)
    parser.add_argument("--sampler-repeats", type=int, default=3)
    parser.add_argument("--ridge-dims", type=int, default=3, help="dimensions for objdim")
    args = parser.parse_args()
    parts = args.parts.split(",")
    needs = {"vice": args.vice, "spose": args.objdim, "sampler": args.objdim,
             "ridge": args.objdim}  # fmt: skip
    for part in parts:
        if needs.get(part, Path()) is None:
            parser.error(f"part {part!r} needs --{'vice' if part == 'vice' else 'objdim'}")
    torch.set_num_threads(1)
    stand_ins = _stand_ins()
    print(
        f"torch {torch.__version__}, numpy {np.__version__}, {os.cpu_count()} cpus, 1 thread; "
        f"load {_load():.1f}; stand-ins for unused imports: {', '.join(stand_ins) or 'none'}; "
        "public progress prints go to /dev/null"
    )
    batches = [int(b) for b in args.batches.split(",")]
    with threadpool_limits(limits=1):
        train = None
        if "vice" in parts or "spose" in parts:
            train = dnn_triplets(args.step_triplets, seed=0)
        if "vice" in parts:
            bench_vice(args.vice.expanduser(), train, batches, args.steps, args.repeats)
        if "spose" in parts:
            bench_spose(args.objdim.expanduser(), train, batches, args.steps, args.repeats)
        if "sampler" in parts:
            bench_sampler(args.objdim.expanduser(), args.sampler_triplets, args.sampler_repeats)
        if "ridge" in parts:
            bench_ridge(args.objdim.expanduser(), args.ridge_dims, args.repeats)
    print("\n| Measurement | Ours | Public reference | Ratio | Load |\n|---|---|---|---|---|")
    for what, ours, ref, ratio, load in ROWS:
        print(f"| {what} | {ours} | {ref} | {ratio:.1f}x | {load} |")
    print(f"load average at the end {_load():.1f}")


if __name__ == "__main__":
    main()
