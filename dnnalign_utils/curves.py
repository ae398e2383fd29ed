"""How a network's VICE embedding grows with triplets, prior weight and epochs.

For each point of a grid (number of sampled network triplets × KL weight β × initial
dimensions) this module samples the network's triplets as chapter 1 does (random unique
triplets answered by the dot product of the network's features, split 90/10), fits VICE
with chapter 2's settings (`SMALL_DATA_VICE` with the given β and stopping rule) and
records, at fixed epochs along the fit and at its last epoch:

- the number of kept dimensions and the held-out accuracy (test triplets);
- the share of variance of the network's choice similarity matrix that the embedding's
  reconstructed similarity explains (`rsa.variance_explained`, chapter 2);
- the out-of-fold R² of a ridge regression from the network's features to each kept
  dimension (`regression.nested_cv_ridge` with chapter 3's folds and penalty grid):
  median, minimum and the shares above 75 % and 85 %.

The rows go to a tidy CSV with a provenance sidecar (parameters, input hashes, code
revision, cores, load average, wall time), rewritten atomically after every recorded
row. A rerun with the same settings skips the rows already in the CSV and resumes
unfinished fits from their checkpoints, so an interrupted measurement continues where it
stopped; a seeded rerun gives the same rows (except the timing columns).

Command line (the book's shipped curve was made this way, see chapter 2)::

    python -m dnnalign_utils.curves --network vgg16 --triplets 500000 1000000 2000000 \\
        --betas 3 1 0.24 --output data/curves/vgg16_embedding_curve.csv
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from dnnalign_utils import regression, rsa, triplets
from dnnalign_utils.container import evaluate_embedding
from dnnalign_utils.fitting import VICEConfig, checkpoint_file, fit_vice, preset
from dnnalign_utils.paths import REPO_ROOT, cache_dir
from dnnalign_utils.provenance import (
    array_sha256,
    provenance_record,
    read_provenance,
    write_artefact,
)

KEY_COLUMNS = ("network", "n_sampled", "beta", "n_dims_initial", "seed", "epoch")
"""Columns that identify one row of a curve."""

TIMING_COLUMNS = ("train_seconds", "eval_seconds")
"""Columns that differ between identical runs (wall-clock times)."""

COLUMNS = (
    *KEY_COLUMNS,
    "n_train",
    "appearances_per_object",
    "final",
    "stop_reason",
    "dims_kept",
    "heldout_accuracy",
    "rsm_variance_explained",
    "r2_median",
    "r2_min",
    "r2_share_above_75",
    "r2_share_above_85",
    *TIMING_COLUMNS,
)
"""Columns of the curve CSV; shares, accuracies and R² are fractions in [0, 1]."""

CHAPTER3_ALPHA_GRID = np.logspace(-2.0, 6.0, 33)
"""Chapter 3's ridge penalty grid (logspace(-2, 6, 33)); 3 outer and 3 inner folds."""


PAPER_VGG16 = {
    "n_triplets": 20_000_000,
    "beta": 0.24,
    "initial_dims": 150,
    "dims_kept": 70,
    "rsm_variance_explained": 0.8403,
    "r2_min_above": 0.75,
    "r2_most_above": 0.85,
    "best_match_r": 0.80,
}
"""The paper's VGG-16 embedding (Mahner et al., 2025): 20 million triplets, beta 0.24,
150 initial dimensions of which about 70 are kept; its reconstructed similarity matrix
explains 84.03 % of VGG-16's; every dimension's ridge R² from VGG-16's activations is
above 75 %, most are above 85 %; its best-matched pair of human and VGG-16 dimensions
correlates at about r = 0.80 (Results)."""


@dataclasses.dataclass(frozen=True)
class CurveSettings:
    """Everything but the grid that shapes a curve's numbers.

    max_epochs / min_epochs / stability_window: chapter 2's stopping rule; record_every:
    epochs between recorded rows (the last epoch is always recorded); test_fraction:
    share of the sampled triplets held out (the first `n_val` of them validate the fit);
    n_heldout: held-out triplets scored for accuracy; rsm_objects: 0 for the full
    similarity matrix, else a seeded random subset of this many objects (pairs among
    them, third objects over all).
    """

    seed: int = 0
    max_epochs: int = 60
    min_epochs: int = 30
    stability_window: int = 10
    record_every: int = 20
    test_fraction: float = 0.1
    n_val: int = 50_000
    n_heldout: int = 100_000
    rsm_objects: int = 0
    relu: bool = False

    def __post_init__(self) -> None:
        for name in ("max_epochs", "record_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(
                f"test_fraction: expected a value in (0, 1), got {self.test_fraction}"
            )
        if self.rsm_objects < 0 or self.rsm_objects == 1:
            raise ValueError(f"rsm_objects: expected 0 (all) or >= 2, got {self.rsm_objects}")


def vice_config(beta: float, n_dims: int, settings: CurveSettings) -> VICEConfig:
    """Chapter 2's network VICE settings with `beta`, `n_dims` and the stopping rule."""
    return dataclasses.replace(
        preset("small_data", "dnn_vice"),
        beta=float(beta),
        n_dims=int(n_dims),
        max_epochs=settings.max_epochs,
        min_epochs=settings.min_epochs,
        stability_window=settings.stability_window,
    )


def record_epochs(settings: CurveSettings) -> list[int]:
    """Epochs at which a fit is scored: every `record_every` epochs up to `max_epochs`
    (which is always included)."""
    epochs = list(range(settings.record_every, settings.max_epochs + 1, settings.record_every))
    if not epochs or epochs[-1] != settings.max_epochs:
        epochs.append(settings.max_epochs)
    return epochs


def r2_summary(r2: Any) -> dict[str, float]:
    """Median, minimum and the shares above 0.75 and 0.85 of per-dimension R² values
    (NaN throughout for no dimension)."""
    r2 = np.asarray(r2, dtype=np.float64).ravel()
    if r2.size == 0:
        nan = float("nan")
        return dict(r2_median=nan, r2_min=nan, r2_share_above_75=nan, r2_share_above_85=nan)
    return {
        "r2_median": float(np.median(r2)),
        "r2_min": float(r2.min()),
        "r2_share_above_75": float(np.mean(r2 > 0.75)),
        "r2_share_above_85": float(np.mean(r2 > 0.85)),
    }


class _Evaluator:
    """Scores an embedding of the network's objects: RSM variance explained, ridge R²."""

    def __init__(self, features: np.ndarray, settings: CurveSettings) -> None:
        self.features = features
        n = features.shape[0]
        self.objects = None
        if settings.rsm_objects and settings.rsm_objects < n:
            rng = np.random.default_rng(settings.seed)
            self.objects = np.sort(rng.choice(n, settings.rsm_objects, replace=False))
        self._target: np.ndarray | None = None
        self.relu = settings.relu
        self.seed = settings.seed

    def target(self) -> np.ndarray:
        if self._target is None:  # computed once, on first use
            self._target = rsa.choice_rsm(
                self.features, objects=self.objects, relu=self.relu, progress=False
            )
        return self._target

    def __call__(self, weights: np.ndarray) -> dict[str, float]:
        if weights.shape[1] == 0:
            return {"rsm_variance_explained": float("nan"), **r2_summary([])}
        rsm = rsa.reconstruct_rsm(weights, objects=self.objects, progress=False)
        ridge = regression.nested_cv_ridge(
            self.features, weights, CHAPTER3_ALPHA_GRID, n_outer=3, n_inner=3,
            outer_seed=self.seed, inner_seed=self.seed + 1, refit=False, progress=False,
        )  # fmt: skip
        return {
            "rsm_variance_explained": float(rsa.variance_explained(rsm, self.target())),
            **r2_summary(ridge.r2),
        }


def network_triplets(
    features: np.ndarray, n_sampled: int, settings: CurveSettings
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) triplets the network answers, sampled and split as chapter 1 does."""
    sampled = triplets.sample_triplets(features.shape[0], n_sampled, seed=settings.seed)
    choices = triplets.odd_one_out_choices(
        sampled, features, similarity="dot", relu=settings.relu, progress=False
    )
    return triplets.split_triplets(choices, settings.test_fraction, seed=settings.seed)


def measure_fit(
    features: np.ndarray,
    network: str,
    n_sampled: int,
    beta: float,
    n_dims: int,
    settings: CurveSettings,
    checkpoint_dir: str | os.PathLike,
    *,
    done_epochs: frozenset[int] = frozenset(),
    evaluator: Callable[[np.ndarray], dict[str, float]] | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Fit one grid point and return its rows (one per recorded epoch reached).

    The fit runs in slices up to each recorded epoch (`until_epoch`), resuming from its
    checkpoint in `checkpoint_dir`, so every row equals the uninterrupted fit at that
    epoch. Epochs in `done_epochs` are not scored again (their rows exist). `on_row` is
    called with each new row as soon as it is scored.
    """
    evaluator = evaluator or _Evaluator(features, settings)
    train, test = network_triplets(features, n_sampled, settings)
    val, heldout = test[: settings.n_val], test[: settings.n_heldout]
    n_objects = features.shape[0]
    config = vice_config(beta, n_dims, settings)
    ckpt = checkpoint_file(
        checkpoint_dir, config, train, seed=settings.seed, n_objects=n_objects,
        prefix=f"curve_{network}_", val=val,
    )  # fmt: skip
    rows = []
    for until in record_epochs(settings):
        fit = fit_vice(
            train, n_objects, config, seed=settings.seed, val=val, checkpoint_path=ckpt,
            until_epoch=until, progress=False, num_threads=1,
        )  # fmt: skip
        final = fit.converged or fit.epochs >= settings.max_epochs
        if fit.epochs not in done_epochs:
            t0 = time.perf_counter()
            weights = fit.embedding.weights
            scores = evaluator(weights)
            accuracy = evaluate_embedding(weights, heldout)["accuracy"] if weights.size else 1 / 3
            row = {
                "network": network,
                "n_sampled": int(n_sampled),
                "beta": float(beta),
                "n_dims_initial": int(n_dims),
                "seed": int(settings.seed),
                "epoch": int(fit.epochs),
                "n_train": int(len(train)),
                "appearances_per_object": 3 * len(train) / n_objects,
                "final": bool(final),
                "stop_reason": fit.stop_reason,
                "dims_kept": int(fit.embedding.n_dims),
                "heldout_accuracy": float(accuracy),
                **scores,
                "train_seconds": float(fit.train_seconds),
                "eval_seconds": time.perf_counter() - t0,
            }
            rows.append(row)
            if on_row is not None:
                on_row(row)
        if final:
            break
    return rows


def _code_revision() -> dict[str, Any]:
    """The git commit of the package and whether the work tree had local changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "local_changes": None}
    return {"commit": head, "local_changes": bool(dirty)}


def _first_format_run(record: dict[str, Any]) -> dict[str, Any]:
    """The `runs` entry of a record written before records listed their runs (the first
    version of this module kept one run's command, grid, revision and times at the top)."""
    parameters = record["parameters"]
    return {
        "command": record["produced_by"],
        "grid": parameters.get("grid"),
        "code_revision": parameters.get("code_revision"),
        "machine": parameters.get("machine"),
        "load_average_at_start": parameters.get("load_average_at_start"),
        "load_average_at_end": parameters.get("load_average_now"),
        "wall_seconds": parameters.get("wall_seconds_this_run"),
    }


def features_sha256(features: np.ndarray) -> str:
    """The hash a curve records of the features it was measured on (as float64), so a
    reader can check whether a shipped curve belongs to the features at hand."""
    return array_sha256(np.ascontiguousarray(np.asarray(features, dtype=np.float64)))


def _identity(network: str, settings: CurveSettings, features: np.ndarray) -> dict[str, Any]:
    return {
        "network": network,
        "settings": dataclasses.asdict(settings),
        "features_sha256": features_sha256(features),
    }


def load_curve(path: str | os.PathLike) -> pd.DataFrame:
    """A curve CSV (rows sorted by fit and epoch); a file with other columns raises
    ValueError naming it and the columns expected."""
    path = Path(path)
    frame = pd.read_csv(path)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected {list(COLUMNS)}")
    return frame.sort_values(list(KEY_COLUMNS), kind="stable").reset_index(drop=True)


def commands(record: dict[str, Any]) -> list[str]:
    """The commands that wrote a curve's rows, oldest first, from its provenance record."""
    runs = record["parameters"].get("runs") or [_first_format_run(record)]
    return [_without_checkpoint_dir(run["command"]) for run in runs]


def _without_checkpoint_dir(command: str) -> str:
    """`command` without its `--checkpoint-dir PATH` (a local folder that does not shape
    the rows)."""
    words = command.split()
    kept = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word == "--checkpoint-dir":
            skip = True
        elif not word.startswith("--checkpoint-dir="):
            kept.append(word)
    return " ".join(kept)


def final_rows(curve: pd.DataFrame) -> pd.DataFrame:
    """The last recorded row of each fit (the embedding the fit returns)."""
    return curve[curve["final"].astype(bool)].reset_index(drop=True)


# ------------------------------------------------ reading a shipped curve (chapter 2)


def shipped(network: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The curve of `network` shipped with the repository (`paths.shipped_curve`) and its
    provenance record, checked against the file's bytes; a curve without a record raises
    ValueError naming the file and the command that writes one."""
    from dnnalign_utils.paths import shipped_curve
    from dnnalign_utils.provenance import verify_provenance

    path = shipped_curve(network)
    record = verify_provenance(path)
    if record is None:
        raise ValueError(
            f"{path}: no provenance record; write the curve with "
            "`python -m dnnalign_utils.curves ... --output` (see the module docstring)"
        )
    return load_curve(path), record


def measured_on(record: dict[str, Any], features: Any) -> bool:
    """Whether the curve of provenance `record` was measured on `features` (the hash it
    records, `features_sha256`), so that its numbers describe the features at hand."""
    return record["input_sha256"]["features"] == features_sha256(features)


def measurement_summary(curve: pd.DataFrame, record: dict[str, Any]) -> dict[str, Any]:
    """How a shipped curve was measured, from its rows and provenance record: the
    machine's ``cores`` and ``threads`` (torch threads per fit), the number of ``fits``,
    their ``fit_minutes`` of training and ``eval_minutes`` of scoring, and the ``range``
    of β and training triplets as a phrase."""
    final = final_rows(curve)
    machine = record["parameters"]["machine"]
    return {
        "cores": machine["cpu_count"],
        "threads": machine["torch_threads"],
        "fits": len(final),
        "fit_minutes": float(final["train_seconds"].sum()) / 60,
        "eval_minutes": float(curve["eval_seconds"].sum()) / 60,
        "range": f"β from {final['beta'].min():g} to {final['beta'].max():g} on "
        f"{final['n_train'].min():,} to {final['n_train'].max():,} training triplets",
    }


def findings(
    final: pd.DataFrame, *, n_train: int, beta: float, own_point: bool
) -> dict[str, float]:
    """What the fits of a curve (`final_rows`) show next to the paper's VGG-16 embedding
    (`PAPER_VGG16`), chapter 2's reading of the shipped VGG-16 curve:

    - ``meet_ve``: fits whose RSM variance explained reaches the paper's;
      ``meet_ve_all_kept``: those of them that kept every initial dimension;
      ``meet_both``: those that also keep at most 1.2 times the paper's dimensions
      ("about 70");
    - ``best_pruned_dims``, ``_ve`` (%), ``_n``, ``_beta``, ``_r2`` (median ridge R², %):
      among the fits with at most 1.2 times the paper's dimensions, the one explaining
      the most;
    - ``paper_beta_min_dims``: the fewest dimensions any fit at the paper's β kept;
    - ``here_dims`` and ``here_ve`` (%): the fit with `n_train` training triplets and
      `beta`, where `own_point` (-1 and NaN when there is none).
    """
    paper = PAPER_VGG16
    meets_ve = final["rsm_variance_explained"] >= paper["rsm_variance_explained"]
    meets_dims = final["dims_kept"] <= 1.2 * paper["dims_kept"]  # "about 70"
    near_paper = final[meets_dims]
    best_pruned = near_paper.loc[near_paper["rsm_variance_explained"].idxmax()]
    paper_beta_rows = final[final["beta"] == paper["beta"]]
    here = final[(final["n_train"] == n_train) & (final["beta"] == beta) & own_point]
    all_kept = final["dims_kept"] == final["n_dims_initial"]
    return {
        "meet_ve": int(meets_ve.sum()),
        "meet_ve_all_kept": int((meets_ve & all_kept).sum()),
        "meet_both": int((meets_ve & meets_dims).sum()),
        "best_pruned_dims": int(best_pruned["dims_kept"]),
        "best_pruned_ve": 100 * float(best_pruned["rsm_variance_explained"]),
        "best_pruned_n": int(best_pruned["n_train"]),
        "best_pruned_beta": float(best_pruned["beta"]),
        "best_pruned_r2": 100 * float(best_pruned["r2_median"]),
        "paper_beta_min_dims": int(paper_beta_rows["dims_kept"].min()),
        "here_dims": int(here["dims_kept"].iloc[0]) if len(here) else -1,
        "here_ve": 100 * float(here["rsm_variance_explained"].iloc[0]) if len(here) else np.nan,
    }


def settings_tried(
    final: pd.DataFrame, *, n_sampled: int, beta: float, n_dims: int = 100
) -> dict[str, float]:
    """The settings tried for an embedding (a curve's `final_rows`), as chapter 2 reads
    the shipped picture-network curve: for the fit that kept the ``most`` dimensions,
    the one that kept the ``fewest`` and the ``chosen`` setting (`n_sampled` triplets,
    `beta`, `n_dims` initial dimensions; NaN throughout where no fit had it), its kept
    dimensions (``<which>_dims``), RSM variance explained and median ridge R² (``_ve``,
    ``_r2``, %), ``_beta``, training triplets (``_n``) and last ``_epoch``; and for the
    fits that started from fewer than `n_dims` dimensions the fewest initial dimensions
    (``small_start_dims``), the fewest kept (``small_start_kept``) and the best median R²
    (``small_start_r2``, %)."""
    chosen = final[
        (final["n_sampled"] == n_sampled)
        & (final["beta"] == beta)
        & (final["n_dims_initial"] == n_dims)
    ]
    rows = {
        "most": final.loc[final["dims_kept"].idxmax()],
        "fewest": final.loc[final["dims_kept"].idxmin()],
        # smoke runs use settings the curve does not hold
        "chosen": chosen.iloc[0] if len(chosen) else pd.Series(np.nan, index=final.columns),
    }
    found: dict[str, float] = {}
    for which, row in rows.items():
        found[f"{which}_dims"] = float(row["dims_kept"])
        found[f"{which}_ve"] = 100 * float(row["rsm_variance_explained"])
        found[f"{which}_r2"] = 100 * float(row["r2_median"])
        found[f"{which}_beta"] = float(row["beta"])
        found[f"{which}_n"] = float(row["n_train"])
        found[f"{which}_epoch"] = float(row["epoch"])
    small_start = final[final["n_dims_initial"] < n_dims]
    found["small_start_dims"] = int(small_start["n_dims_initial"].min())
    found["small_start_kept"] = int(small_start["dims_kept"].min())
    found["small_start_r2"] = 100 * float(small_start["r2_median"].max())
    return found


def paper_marks(n_dims: int, rsm_variance_explained: float, r2: dict[str, float]) -> pd.DataFrame:
    """A network embedding's marks next to the paper's for VGG-16 (`PAPER_VGG16`): kept
    dimensions, RSM variance explained, the lowest ridge R², the share of dimensions with
    R² above 75 % and the median R² (all in %; `r2` is `r2_summary`'s dict), with how the
    paper words each mark and the difference, ours − paper."""
    paper = PAPER_VGG16
    marks = pd.DataFrame(
        {
            "ours": [
                n_dims,
                100 * rsm_variance_explained,
                100 * r2["r2_min"],
                100 * r2["r2_share_above_75"],
                100 * r2["r2_median"],
            ],
            "paper": [
                paper["dims_kept"],
                100 * paper["rsm_variance_explained"],
                100 * paper["r2_min_above"],
                100.0,
                100 * paper["r2_most_above"],
            ],
            "paper's mark reads": ["about", "", "above", "", "most above"],
        },
        index=pd.Index(
            [
                "kept dimensions",
                "RSM variance explained (%)",
                "lowest ridge R² (%)",
                "dimensions with R² > 75 % (%)",
                "median ridge R² (%)",
            ],
            name="measure",
        ),
    )
    marks["ours − paper"] = marks["ours"] - marks["paper"]
    return marks


def paper_comparison(
    n_dims: int, rsm_variance_explained: float, r2: dict[str, float]
) -> dict[str, float]:
    """`paper_marks` in numbers for prose: ``dims_gap`` (kept dimensions minus the
    paper's), ``ve_gap`` (RSM variance explained minus the paper's, percentage points),
    and the ridge R² ``r2_median``, ``r2_min`` and ``r2_share75`` (the share above 75 %)
    in %."""
    paper = PAPER_VGG16
    return {
        "dims_gap": n_dims - paper["dims_kept"],
        "ve_gap": 100 * (rsm_variance_explained - paper["rsm_variance_explained"]),
        "r2_median": 100 * r2["r2_median"],
        "r2_min": 100 * r2["r2_min"],
        "r2_share75": 100 * r2["r2_share_above_75"],
    }


def measure_curve(
    features: Any,
    network: str,
    n_sampled: Sequence[int],
    betas: Sequence[float],
    output: str | os.PathLike,
    *,
    n_dims: Sequence[int] = (100,),
    settings: CurveSettings | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    produced_by: str = "python -m dnnalign_utils.curves",
    progress: bool = True,
) -> pd.DataFrame:
    """Measure the grid `n_sampled` × `betas` × `n_dims` (in that nesting: cheapest fits
    first) and write the rows to `output` (CSV + provenance), after every row.

    An existing `output` made with the same network, settings and features is resumed:
    its rows are kept and not scored again (the grid may grow between runs). One made
    with other settings raises ValueError naming what differs. The provenance record
    lists every invocation that wrote rows (`runs`: command, grid, code revision,
    machine, load average, wall time) and the summed fit and scoring seconds.
    """
    settings = settings or CurveSettings()
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 3:
        raise ValueError(f"features: expected (n_objects >= 3, n_features), got {features.shape}")
    output = Path(output)
    checkpoint_dir = Path(checkpoint_dir or cache_dir() / "curves" / output.stem)
    identity = _identity(network, settings, features)
    rows: list[dict[str, Any]] = []
    earlier_runs: list[dict[str, Any]] = []  # one record per invocation that wrote rows
    if output.exists():
        recorded = read_provenance(output).get("parameters", {}).get("identity")
        if recorded != identity:
            raise ValueError(
                f"{output}: made with other settings or features ({recorded}); expected "
                f"{identity}: pass another output or delete it"
            )
        rows = load_curve(output).to_dict("records")
        previous = read_provenance(output)
        earlier_runs = list(previous["parameters"].get("runs") or [_first_format_run(previous)])
    grid = [(n, float(b), int(d)) for n in sorted(n_sampled) for b in betas for d in n_dims]
    started = time.perf_counter()
    load_start = os.getloadavg()

    def write() -> None:
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        frame = frame.sort_values(list(KEY_COLUMNS), kind="stable").reset_index(drop=True)
        this_run = {
            "command": produced_by,
            "grid": {"n_sampled": sorted(n_sampled), "betas": list(betas), "n_dims": list(n_dims)},
            "code_revision": _code_revision(),
            "machine": {
                "cpu_count": os.cpu_count(),
                "torch_threads": torch.get_num_threads(),
                "platform": platform.platform(),
                "processor": platform.processor(),
            },
            "load_average_at_start": list(load_start),
            "load_average_at_end": list(os.getloadavg()),
            "wall_seconds": time.perf_counter() - started,
        }
        per_fit = frame.groupby(list(KEY_COLUMNS[:5]))["train_seconds"].max()
        record = provenance_record(
            produced_by,
            parameters={
                "identity": identity,
                "machine": this_run["machine"],
                "runs": [*earlier_runs, this_run],
                "fit_seconds_total": float(per_fit.sum()),
                "eval_seconds_total": float(frame["eval_seconds"].sum()),
            },
            input_hashes={"features": identity["features_sha256"]},
        )
        write_artefact(output, lambda tmp: frame.to_csv(tmp, index=False), record)

    evaluator = _Evaluator(features, settings)
    for n, beta, dims in tqdm(grid, disable=not progress, desc=f"{network} curve fits"):
        mine = [
            r for r in rows
            if (r["n_sampled"], float(r["beta"]), r["n_dims_initial"], r["seed"])
            == (n, beta, dims, settings.seed)
        ]  # fmt: skip
        if any(bool(r["final"]) for r in mine):
            continue

        def keep(row: dict[str, Any]) -> None:
            rows.append(row)
            write()

        measure_fit(
            features, network, n, beta, dims, settings, checkpoint_dir,
            done_epochs=frozenset(int(r["epoch"]) for r in mine), evaluator=evaluator,
            on_row=keep,
        )  # fmt: skip
    if not output.exists():
        write()
    return load_curve(output)


def network_features(network: str, profile: str) -> tuple[np.ndarray, bool]:
    """(features, relu) of a network as chapters 1 and 2 use them: VGG-16's concept
    features (dot products, no ReLU) or EfficientNet-Lite0's pooled features of the
    embedded pictures (ReLU, then dot products)."""
    if network == "vgg16":
        from dnnalign_utils import sources

        return np.asarray(sources.vgg16_concept_features(profile, progress=False).value), False
    if network == "efficientnet_lite0":
        from dnnalign_utils import features, paths

        array, _ = features.load_image_features(paths.image_features(profile), "_avg_pooling")
        return np.asarray(array), True
    raise ValueError(f"network: expected 'vgg16' or 'efficientnet_lite0', got {network!r}")


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(
        prog="python -m dnnalign_utils.curves", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--network", choices=("vgg16", "efficientnet_lite0"), default="vgg16")
    parser.add_argument("--profile", default="default", help="data profile of the features")
    parser.add_argument("--triplets", type=int, nargs="+", required=True,
                        help="numbers of sampled triplets (90 %% train)")  # fmt: skip
    parser.add_argument("--betas", type=float, nargs="+", required=True)
    parser.add_argument("--dims", type=int, nargs="+", default=[100], help="initial dimensions")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--checkpoint-dir", type=Path, default=None)
    defaults = CurveSettings()
    for field in dataclasses.fields(CurveSettings):
        flag = "--" + field.name.replace("_", "-")
        if field.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        else:
            kind = float if field.type == "float" else int
            parser.add_argument(flag, type=kind, default=getattr(defaults, field.name))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small ops: one thread (see fitting.fit_vice)
    features, relu = network_features(args.network, args.profile)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(CurveSettings)}
    values["relu"] = relu if values["relu"] is None else values["relu"]
    settings = CurveSettings(**values)
    argv_text = _without_checkpoint_dir(" ".join(argv if argv is not None else sys.argv[1:]))
    return measure_curve(
        features, args.network, args.triplets, args.betas, args.output, n_dims=args.dims,
        settings=settings, checkpoint_dir=args.checkpoint_dir,
        produced_by=f"python -m dnnalign_utils.curves {argv_text}",
    )  # fmt: skip


if __name__ == "__main__":
    main()
