"""Chapter 7: the pipeline of chapters 1-6 for one network after another.

:func:`run_network` puts one network (`dnnalign_utils.networks.ConceptFeatures`) through
the steps the chapters take, with the same package functions: its odd-one-out choices
against people's (chapter 1), random triplets answered by the network and a VICE
embedding fitted to them (chapters 1 and 2), the embedding's dimensionality and how much
of the network's similarity structure it explains (chapter 2), the out-of-fold ridge R²
of each dimension from the network's features (chapter 3), the automatic rater's
visual / mixed / semantic labels (chapter 5) and the comparison with the human VICE-42
(chapter 6). The key numbers go to `keynumbers.record` under the network's key, one
record per chapter, as the chapters write them.

Everything is resumable: the VICE fit checkpoints under the network's own folder
(`paths.network_comparison`) and a finished fit of the same run (same settings, seed and
triplets: the checkpoint's name hashes them) found in another chapter's checkpoints is
reused (chapters 2 and 5 checkpoint theirs in the network's embedding folder, with its
key as prefix); the numbers are cached beside it and recomputed only when the settings, the
embedding or the features differ.

:func:`recorded_network` reads, for the book's own network, what chapters 1-6 recorded in
the same build instead of fitting again.

Chapter 7 compares several networks with it: :func:`load_networks` loads them and
:func:`run_networks` takes each through as one task (:func:`network_task`; the chapter
runs the tasks on a Dask local cluster with `sweep.run_tasks`, the sweep's engine), and
the tables the chapter shows of them (what each network is, the settings, the time
taken, the n behind chapter 1's numbers, the meaning of each column, every dimension's
R²) are built here.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dnnalign_utils import autorate, keynumbers, paths
from dnnalign_utils.conventions import check_int
from dnnalign_utils.provenance import (
    array_sha256,
    cached,
    provenance_record,
    read_provenance,
    write_artefact,
)

# The chapters whose key numbers a run records, and what each run step belongs to.
CHAPTER_OF_STEP = {
    "agreement": "01_triplet_task",
    "embedding": "02_embedding_fit",
    "r2": "03_r2_regression",
    "labels": "05_visual_semantic_rating",
    "human": "06_human_vs_dnn",
}
EMBEDDING_FILE = "embedding.npz"
NUMBERS_FILE = "numbers.json"


@dataclass(frozen=True)
class PipelineSettings:
    """The settings of one network's run (one set per kind of network in chapter 7).

    ``n_triplets`` random triplets over the network's concepts are answered by the
    network (dot products, as chapter 1), split ``1 - test_fraction`` / ``test_fraction``
    (seed ``seed``); VICE (``embedding_scale``'s DNN preset with ``beta``, ``max_epochs``,
    ``min_epochs``, ``stability_window``) is fitted to the training part with the first
    ``n_val`` test triplets for validation, as chapter 2 fits VGG-16's. ``rsm_objects``:
    compare similarity matrices on the pairs of the first that many concepts only (0: all;
    third objects always all). The ridge of chapter 3: penalties
    ``logspace(alpha_log10_min, alpha_log10_max, n_alphas)``, ``n_outer`` outer and
    ``n_inner`` inner folds (seeds ``seed`` and ``seed + 1``).
    """

    n_triplets: int
    beta: float
    max_epochs: int
    min_epochs: int
    stability_window: int
    embedding_scale: str = "small_data"
    test_fraction: float = 0.1
    n_val: int = 50_000
    seed: int = 0
    rsm_objects: int = 0
    alpha_log10_min: float = -2.0
    alpha_log10_max: float = 6.0
    n_alphas: int = 33
    n_outer: int = 3
    n_inner: int = 3

    def __post_init__(self) -> None:
        for name in ("n_triplets", "max_epochs", "stability_window", "n_val", "n_alphas"):
            check_int(name, getattr(self, name), minimum=1)
        for name in ("min_epochs", "seed", "rsm_objects"):
            check_int(name, getattr(self, name), minimum=0)
        check_int("n_outer", self.n_outer, minimum=2)
        check_int("n_inner", self.n_inner, minimum=2)
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction={self.test_fraction}: expected 0 < value < 1")
        if self.alpha_log10_min >= self.alpha_log10_max:
            raise ValueError(
                f"alpha_log10_min={self.alpha_log10_min}, alpha_log10_max="
                f"{self.alpha_log10_max}: expected min < max"
            )
        self.vice_config()  # the VICE settings are checked by VICEConfig

    def vice_config(self):
        """The VICE settings: `fitting.preset(embedding_scale, "dnn_vice")` with this
        run's prior weight and epochs (chapter 2's recipe)."""
        from dnnalign_utils import fitting

        return dataclasses.replace(
            fitting.preset(self.embedding_scale, "dnn_vice"),
            beta=float(self.beta),
            max_epochs=self.max_epochs,
            min_epochs=self.min_epochs,
            stability_window=self.stability_window,
        )

    def alpha_grid(self) -> np.ndarray:
        return np.logspace(self.alpha_log10_min, self.alpha_log10_max, self.n_alphas)


@dataclass
class NetworkRun:
    """One network's pass through the pipeline: its key numbers (one value per
    `keynumbers.KEY_NUMBERS` name), the out-of-fold R² of each embedding dimension (a
    fraction), each dimension's automatic label, where the fit came from and the seconds
    per step."""

    key: str
    label: str
    description: str
    numbers: dict[str, float]
    r2: np.ndarray
    dimension_labels: list[str]
    fit_source: str
    seconds: dict[str, float] = field(default_factory=dict)


def network_triplets(
    values: np.ndarray, settings: PipelineSettings, *, progress: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) triplets over the rows of ``values``, answered by their dot products:
    the same draws, choices and split as chapter 1 makes for VGG-16 (and
    `fitting.fit_vice_to_network` for CLIP in chapter 5)."""
    from dnnalign_utils import triplets

    sampled = triplets.sample_triplets(
        values.shape[0], settings.n_triplets, seed=settings.seed, progress=progress
    )
    choices = triplets.odd_one_out_choices(sampled, values, similarity="dot", progress=progress)
    return triplets.split_triplets(choices, settings.test_fraction, seed=settings.seed)


def fit_embedding(
    net,
    settings: PipelineSettings,
    folder: str | os.PathLike,
    *,
    reuse: Sequence[tuple[str | os.PathLike, str]] = (),
    progress: bool = True,
):
    """The network's VICE fit and where it came from: ``(FitResult, source)``.

    The run's checkpoint lives in ``folder`` (``<key>_vice_seed<seed>_<hash>.ckpt``; the
    hash covers the settings, seed, object count and triplets, `fitting.checkpoint_file`)
    and an unfinished run resumes from it. ``reuse``: ``(folder, prefix)`` pairs where
    other chapters checkpoint their fits (chapter 5's CLIP fit, a chapter 2 run on this
    network); a checkpoint of the very same run there is copied and resumed instead of
    fitting again (``source`` then names its file).
    """
    from dnnalign_utils import fitting

    values = np.asarray(net.values, dtype=np.float64)
    train, test = network_triplets(values, settings, progress=progress)
    val = test[: settings.n_val]
    config = settings.vice_config()
    n_objects = values.shape[0]

    def checkpoint(directory, prefix):
        return fitting.checkpoint_file(
            directory, config, train, seed=settings.seed, n_objects=n_objects, prefix=prefix,
            val=val,
        )  # fmt: skip

    own = checkpoint(folder, f"{net.key}_")
    source = "fitted here"
    if own.exists():
        source = "resumed from this chapter's checkpoint"
    else:
        for directory, prefix in reuse:
            other = checkpoint(directory, prefix)
            if other.is_file():
                own.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(other, own)
                source = f"reused: {other.name}"
                break
    fit = fitting.fit_vice(
        train,
        n_objects,
        config,
        seed=settings.seed,
        val=val,
        checkpoint_path=own,
        progress=progress,
    )
    return fit, source


def _numbers_key(net, weights: np.ndarray, settings: PipelineSettings) -> dict:
    return {
        "network": net.key,
        "settings": dataclasses.asdict(settings),
        "embedding_sha256": array_sha256(np.ascontiguousarray(weights)),
        "things_index_sha256": array_sha256(np.asarray(net.things_index, dtype=np.int64)),
        "features": dict(net.input_hashes),
        "rater_version": autorate.RATER_VERSION,
    }


def embedding_numbers(
    net,
    weights: np.ndarray,
    settings: PipelineSettings,
    rater,
    *,
    progress: bool = True,
) -> tuple[dict[str, float], np.ndarray, list[str], dict[str, float]]:
    """The key numbers of a network with its embedding ``weights`` (rows: the network's
    concepts in ``net.things_index`` order), computed by the functions chapters 1, 2, 3,
    5 and 6 compute them with; also the per-dimension R² (fraction), the dimensions'
    labels and seconds per step. ``rater``: chapter 5's rater
    (`autorate.profile_rater`), built once for all networks."""
    from dnnalign_utils import compare, fitting, regression, triplets

    seconds: dict[str, float] = {}
    numbers: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = now - clock
        clock = now

    numbers.update(triplets.network_choice_agreement(net, seed=settings.seed))
    lap("agreement")
    numbers.update(
        fitting.network_embedding_numbers(weights, net, rsm_objects=settings.rsm_objects)
    )
    lap("similarity")
    ridge = chapter3_ridge(net, weights, settings, progress)
    numbers.update(regression.network_r2_numbers(ridge.r2))
    lap("ridge")
    labels = autorate.rate_network(rater, weights, net.things_index)["label"].tolist()
    numbers.update(autorate.label_shares(labels))
    lap("labels")
    numbers.update(
        compare.network_human_numbers(
            weights, net.things_index, seed=settings.seed, rsm_objects=settings.rsm_objects
        )
    )
    lap("human")
    return numbers, np.asarray(ridge.r2, dtype=np.float64), labels, seconds


def record_numbers(profile: str, network, label: str, numbers: dict[str, float]) -> None:
    """`keynumbers.record` of each chapter's share of ``numbers`` about `network`
    (`networks.resolve`'s value)."""
    for chapter in keynumbers.CHAPTERS:
        names = [k.name for k in keynumbers.KEY_NUMBERS if k.chapter == chapter]
        keynumbers.record(profile, network, chapter, label, **{n: numbers[n] for n in names})


def chapter3_ridge(net, weights: np.ndarray, settings, progress: bool):
    """Chapter 3's nested cross-validated ridge from the network's features to its
    embedding dimensions (its penalties, folds and seeds: outer `seed`, inner `seed + 1`)."""
    from dnnalign_utils import regression

    return regression.nested_cv_ridge(
        np.asarray(net.values, dtype=np.float64),
        weights,
        settings.alpha_grid(),
        n_outer=settings.n_outer,
        n_inner=settings.n_inner,
        outer_seed=settings.seed,
        inner_seed=settings.seed + 1,
        refit=False,
        progress=progress,
    )


def chapter5_rater(profile: str, seed: int):
    """Chapter 5's rater (`autorate.profile_rater`) for `profile` and `seed`, built once
    per process for the chapter 0 features it is built from (their file and its time of
    change): several networks run in one process, or one Dask worker, share it."""
    source = paths.image_features(profile)
    changed = source.stat().st_mtime_ns if source.exists() else None
    return _rater_of(profile, seed, str(source), changed)


@functools.lru_cache(maxsize=2)
def _rater_of(profile: str, seed: int, source: str, changed: int | None):
    del source, changed  # only the cache's key: the rater's inputs as they are now
    return autorate.profile_rater(profile, seed=seed, progress=False)


def run_network(
    profile: str,
    net,
    settings: PipelineSettings,
    *,
    rater=None,
    reuse: Sequence[tuple[str | os.PathLike, str]] = (),
    progress: bool = True,
) -> NetworkRun:
    """Put ``net`` (`networks.load`) through the pipeline (see the module docstring),
    record its key numbers under ``net.key`` and return them with the per-dimension R²
    and labels. ``rater``: chapter 5's rater (`autorate.profile_rater` with
    ``settings.seed``), or a function returning it, called only when the numbers are not
    cached (None: :func:`chapter5_rater`, built once per process). The fit and its
    embedding (with the THINGS index of its rows) and the numbers are kept in
    `paths.network_comparison`; a rerun with the same settings reuses them. A finished
    fit of the same run that chapter 2 (or chapter 5, for CLIP) checkpointed for this
    network is reused, as are those in ``reuse`` (:func:`fit_embedding`)."""
    from dnnalign_utils.container import THINGS_INDEX_ARRAY

    folder = paths.network_comparison(profile, net.network)
    start = time.perf_counter()
    chapter2 = (paths.network_embedding(profile, net.network).parent, f"{net.key}_")
    reuse = [chapter2, *reuse]
    fit, source = fit_embedding(net, settings, folder, reuse=reuse, progress=progress)
    weights = fit.embedding.weights
    fit.save(
        folder / EMBEDDING_FILE,
        extra_arrays={THINGS_INDEX_ARRAY: np.asarray(net.things_index, dtype=np.int64)},
    )
    fit_seconds = time.perf_counter() - start
    key = _numbers_key(net, weights, settings)
    target = folder / NUMBERS_FILE

    def load():
        stored = json.loads(target.read_text(encoding="utf-8"))
        return stored, read_provenance(target)["parameters"]

    def compute():
        if rater is None:
            chosen = chapter5_rater(profile, settings.seed)
        else:
            chosen = rater() if callable(rater) else rater
        numbers, r2, labels, seconds = embedding_numbers(
            net, weights, settings, chosen, progress=progress
        )
        return {
            "numbers": {k: (None if np.isnan(v) else float(v)) for k, v in numbers.items()},
            "r2": [None if np.isnan(v) else float(v) for v in r2],
            "labels": labels,
            "seconds": seconds,
        }

    def save(value):
        text = json.dumps(value, indent=2) + "\n"
        record = provenance_record("dnnalign_utils.network_pipeline.run_network", parameters=key)
        write_artefact(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), record)

    stored = cached(key, load, compute, save)
    numbers = {k: (np.nan if v is None else float(v)) for k, v in stored["numbers"].items()}
    record_numbers(profile, net.network, net.label, numbers)
    return NetworkRun(
        key=net.key,
        label=net.label,
        description=net.description,
        numbers=numbers,
        r2=np.array([np.nan if v is None else v for v in stored["r2"]], dtype=np.float64),
        dimension_labels=list(stored["labels"]),
        fit_source=source,
        seconds={"fit": fit_seconds, **stored["seconds"]},
    )


def recorded_network(profile: str, net, settings: PipelineSettings, *, progress: bool = True):
    """The book's own network as chapters 1-6 left it in this build: the key numbers they
    recorded (`keynumbers.collect`; an error names the chapters that have not) and, for
    the R² distribution, chapter 3's ridge on chapter 2's embedding
    (`paths.network_embedding`) with ``settings``' grid and folds."""
    from dnnalign_utils.container import load_network_embedding

    missing = keynumbers.missing_chapters(profile, net.network)
    if missing:
        raise FileNotFoundError(
            f"{net.label}: no key numbers of {', '.join(missing)} for the {profile!r} profile; "
            "run those chapters first (`python -m dnnalign_utils.book build --profile "
            f"{profile} --only {' '.join(missing)}`)"
        )
    row = keynumbers.collect(profile, net.network)
    numbers = {k.name: float(row[k.name]) for k in keynumbers.KEY_NUMBERS}
    start = time.perf_counter()
    embedding, things_index = load_network_embedding(paths.network_embedding(profile, net.network))
    if not np.array_equal(things_index, net.things_index):
        raise ValueError(
            f"{paths.display_path(paths.network_embedding(profile, net.network))}: its rows are "
            f"other concepts than {net.label}'s features; rerun chapters 1 and 2"
        )
    ridge = chapter3_ridge(net, embedding.weights, settings, progress)
    return NetworkRun(
        key=net.key,
        label=row["label"],
        description=net.description,
        numbers=numbers,
        r2=np.asarray(ridge.r2, dtype=np.float64),
        dimension_labels=[],
        fit_source="recorded by chapters 1-6",
        seconds={"ridge": time.perf_counter() - start},
    )


# ------------------------------------------------------------ chapter 7's comparison
# The networks chapter 7 compares, loaded and run one after another, and the tables it
# shows of them: what each network is, the settings, the time taken, the n behind
# chapter 1's numbers and what each column of the key numbers means.

# The n behind chapter 1's two numbers, shown beside the key numbers (chapter 1).
SAMPLE_SIZES = {
    "agreement_n_responses": "human responses choice_agreement is computed on",
    "noise_ceiling_n_triplets": "repeated triplets (several people answered each) the noise "
    "ceiling is computed on",
}
# The key numbers of chapter 5's rater, and the quality each is the share of.
QUALITY_SHARE_COLUMNS = {
    "visual_share": "visual",
    "mixed_share": "mixed",
    "semantic_share": "semantic",
}
# The columns of :func:`r2_table`, as the chapter's download describes them.
R2_COLUMNS = {
    "network key": "the network's key (its artefacts' folder)",
    "network": "the network's name",
    "dimension": "the dimension of the network's embedding, numbered from 1 in "
    "the embedding's order",
    "R² (%)": "out-of-fold ridge R² of the dimension from the network's features, in "
    "percent (negative: worse than predicting the mean)",
}


def load_networks(
    profile: str,
    names: Sequence[str],
    *,
    image_styles: Sequence[str] = (),
    n_image_concepts: int = 0,
    progress: bool = True,
) -> tuple[dict, dict[str, float]]:
    """Each network of ``names`` (`networks.NETWORKS` names) resolved and loaded
    (`networks.resolve`, `networks.load`), the picture networks with the pictures
    ``image_styles`` / ``n_image_concepts`` choose; with the seconds each load took.
    Both dicts are keyed by name, in the order of ``names``."""
    from tqdm.auto import tqdm

    from dnnalign_utils import networks

    picture_choice = {"image_styles": image_styles, "n_image_concepts": n_image_concepts}
    nets, seconds = {}, {}
    for name in tqdm(names, desc="networks", disable=not progress):
        started = time.perf_counter()
        choice = picture_choice if networks.NETWORKS[name].kind == "pictures" else {}
        nets[name] = networks.load(profile, networks.resolve(name, **choice))
        seconds[name] = time.perf_counter() - started
    return nets, seconds


def picture_styles_phrase(image_styles: Sequence[str]) -> str:
    """What the picture networks see, in words: "noto drawing", "noto, twemoji drawings",
    or "drawings in all seven styles" when ``image_styles`` is empty."""
    if not image_styles:
        return "drawings in all seven styles"
    return ", ".join(image_styles) + (" drawing" if len(image_styles) == 1 else " drawings")


def networks_table(nets) -> pd.DataFrame:
    """One row per loaded network (`networks.load`'s values): its name, artefact key,
    how many concepts and features it has and what it is."""
    return pd.DataFrame(
        {
            "network": [net.label for net in nets.values()],
            "key (artefacts)": [net.key for net in nets.values()],
            "concepts": [net.things_index.size for net in nets.values()],
            "features": [net.values.shape[1] for net in nets.values()],
            "what it is": [net.description for net in nets.values()],
        }
    )


def settings_table(concept_settings: PipelineSettings, picture_settings: PipelineSettings):
    """The two kinds of network's settings side by side, one row per setting."""
    return pd.DataFrame(
        {
            "all 1,854 concepts": pd.Series(dataclasses.asdict(concept_settings)),
            "concepts with pictures": pd.Series(dataclasses.asdict(picture_settings)),
        }
    ).rename_axis("setting")


def network_task(
    profile: str,
    net,
    concept_settings: PipelineSettings,
    picture_settings: PipelineSettings,
    *,
    rater=None,
    progress: bool = False,
) -> tuple[NetworkRun, float]:
    """One network of chapter 7 through the pipeline, and the seconds it took: the book's
    own network (`paths.DEFAULT_NETWORK`) read from what chapters 1-6 recorded
    (:func:`recorded_network`), every other one through :func:`run_network` with
    ``concept_settings`` when its features cover all concepts and ``picture_settings``
    otherwise. A task of :func:`run_networks` (one per network, on a Dask worker or here)."""
    started = time.perf_counter()
    if net.key == paths.DEFAULT_NETWORK:
        run = recorded_network(profile, net, concept_settings, progress=False)
    else:
        settings = concept_settings if net.complete else picture_settings
        run = run_network(profile, net, settings, rater=rater, progress=progress)
    return run, time.perf_counter() - started


def run_networks(
    profile: str,
    nets,
    concept_settings: PipelineSettings,
    picture_settings: PipelineSettings,
    *,
    rater=None,
    map_tasks=None,
    progress: bool = True,
) -> tuple[dict[str, NetworkRun], dict[str, float]]:
    """Every network of ``nets`` (name -> `networks.load`'s value) through the pipeline
    (:func:`network_task`), with the seconds each took, both keyed by name in the order
    of ``nets``. ``map_tasks``: how the tasks run, a function taking
    (``network_task``, {name: its arguments}) and returning {name: its result}, such as
    `sweep.run_tasks` (one Dask task per network, on a local cluster); None: one after
    another in this process, with ``rater`` as for :func:`run_network` (a function
    returning it builds it only when needed). Tasks run elsewhere build their own rater
    (:func:`chapter5_rater`)."""
    from tqdm.auto import tqdm

    arguments = {
        name: (profile, net, concept_settings, picture_settings) for name, net in nets.items()
    }
    if map_tasks is None:
        names = tqdm(arguments, desc="pipeline", disable=not progress)
        done = {
            name: network_task(*arguments[name], rater=rater, progress=progress) for name in names
        }
    else:
        done = map_tasks(network_task, arguments)
    runs = {name: done[name][0] for name in nets}
    return runs, {name: done[name][1] for name in nets}


def timing_table(
    runs: dict[str, NetworkRun], load_seconds: dict[str, float], seconds: dict[str, float]
) -> pd.DataFrame:
    """One row per network: where its embedding came from and the seconds its features
    (:func:`load_networks`) and its pipeline (:func:`run_networks`) took."""
    return pd.DataFrame(
        {
            "network": [runs[n].label for n in runs],
            "embedding": [runs[n].fit_source for n in runs],
            "features: seconds here": [load_seconds[n] for n in runs],
            "pipeline: seconds here": [seconds[n] for n in runs],
        }
    )


def sample_sizes(scored: dict) -> pd.DataFrame:
    """The n behind chapter 1's two numbers, one row per network key of ``scored`` (key
    -> `triplets.network_agreement`'s value): the human responses its agreement and the
    repeated triplets its noise ceiling rest on (missing where there are none); the
    columns of :data:`SAMPLE_SIZES`."""
    return pd.DataFrame(
        {
            "agreement_n_responses": [
                pd.NA if s.agreement is None else s.agreement.n_responses for s in scored.values()
            ],
            "noise_ceiling_n_triplets": [
                pd.NA if s.ceiling is None else s.ceiling.n_triplets for s in scored.values()
            ],
        },
        index=pd.Index(list(scored), name="network"),
        dtype="Int64",
    )


def smallest_sample_sizes(numbers: pd.DataFrame, nets) -> dict[str, int]:
    """The smallest of each :data:`SAMPLE_SIZES` column of ``numbers`` (rows: network
    keys) among the networks of all concepts (``full_<column>``) and among the picture
    networks (``picture_<column>``) of ``nets``; 0 for a group without a value."""
    groups = {
        "full": [net.key for net in nets.values() if net.complete],
        "picture": [net.key for net in nets.values() if not net.complete],
    }
    smallest = {}
    for tag, group in groups.items():
        for column in SAMPLE_SIZES:
            values = numbers.loc[group, column].dropna() if group else pd.Series(dtype="Int64")
            smallest[f"{tag}_{column}"] = int(values.min()) if len(values) else 0
    return smallest


def picture_sizes_sentence(picture_scored: Sequence) -> str:
    """How a picture network's chapter-1 numbers are scored, in words, for the
    `triplets.network_agreement` values of the picture networks compared: the held-out
    human responses among its concepts (the fewest of any) and the repeated triplets of
    the noise ceiling (the network with the fewest), or that it has no ceiling."""
    from dnnalign_utils.prose import counted

    responses = min(
        (p.agreement.n_responses for p in picture_scored if p.agreement is not None), default=0
    )
    ceilings = [p.ceiling for p in picture_scored if p.ceiling is not None]
    if not picture_scored:
        return "none is compared here."
    if not ceilings:
        return (
            f"it is scored on the {counted(responses, 'held-out human response')} whose "
            "three objects are all among them, and none of the repeated triplets lies among "
            "them, so it has no noise ceiling."
        )
    ceiling = min(ceilings, key=lambda c: c.n_triplets)
    return (
        f"it is scored on the {counted(responses, 'held-out human response')} whose "
        "three objects are all among them (from the noise-ceiling set and the 2,171 set), "
        f"and its noise ceiling rests on the {counted(ceiling.n_triplets, 'repeated triplet')} "
        f"among them ({ceiling.n_responses:,} of its responses answer these): a rough ceiling "
        "for the triplets its agreement is measured on, so a picture network's agreement "
        "compares with the other rows only roughly."
    )


def column_meanings() -> dict[str, tuple[str, str]]:
    """Each column of the chapter's key-number table (`keynumbers.KEY_NUMBERS`, then
    :data:`SAMPLE_SIZES`): ``name -> (chapter, meaning)``."""
    meanings = {k.name: (k.chapter, k.description) for k in keynumbers.KEY_NUMBERS}
    meanings.update({c: ("01_triplet_task", m) for c, m in SAMPLE_SIZES.items()})
    return meanings


def column_meanings_table() -> pd.DataFrame:
    """:func:`column_meanings` as a table: column, chapter, meaning."""
    return pd.DataFrame(
        [(name, chapter, meaning) for name, (chapter, meaning) in column_meanings().items()],
        columns=["column", "chapter", "meaning"],
    )


def numbers_download_columns() -> dict[str, str]:
    """What each column of the published key-number table means: the network's key and
    name, then :func:`column_meanings` with the number of its chapter."""
    return {
        "network": "the network's key (its artefacts' folder)",
        "label": "the network's name",
        **{
            name: f"{meaning} (chapter {int(chapter[:2])})"
            for name, (chapter, meaning) in column_meanings().items()
        },
    }


def r2_table(runs: dict[str, NetworkRun], labels: dict[str, str]) -> pd.DataFrame:
    """Every embedding dimension's out-of-fold ridge R² (in %), one row per network and
    dimension (numbered from 1), the networks in the order of ``runs``; ``labels``: key
    -> the network's name. The columns of :data:`R2_COLUMNS`."""
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "network key": run.key,
                    "network": labels[run.key],
                    "dimension": range(1, len(run.r2) + 1),
                    "R² (%)": 100 * run.r2,
                }
            )
            for run in runs.values()
        ]
    )


def quality_shares(numbers: pd.DataFrame) -> pd.DataFrame:
    """The visual, mixed and semantic shares (%) of each network's dimensions, one row
    per network name (``numbers``' ``label`` column), columns named by the quality."""
    return (
        numbers.set_index("label")[list(QUALITY_SHARE_COLUMNS)]
        .rename(columns=QUALITY_SHARE_COLUMNS)
        .rename_axis("network")
    )


def key_number(numbers: pd.DataFrame, nets, name: str, column: str) -> float:
    """The key number ``column`` of the network ``name`` (a key of ``nets``), NaN when
    that network is not among those compared."""
    return float(numbers.loc[nets[name].key, column]) if name in nets else float("nan")
