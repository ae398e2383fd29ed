"""Activation maximisation of single embedding dimensions, in pixel space.

The paper optimises latents of a pretrained image generator (StyleGAN-XL) so that the
generated picture raises one dimension of an image-level embedding while keeping the
others low (its Methods, 'Activation maximisation'). The generator cannot be downloaded
here, so the picture itself is optimised instead, as in feature visualisation (Olah et al.,
2017, "Feature Visualization", Distill; the Lucid and Lucent libraries):

- **parameterisation** (:class:`FourierPicture`): each colour channel is a 2-D spectrum
  whose frequencies are scaled by 1 / frequency, so that steps in the parameters change
  coarse structure more than fine (the spectrum of natural pictures falls off the same way).
  The three channels are then mixed by the square root of ImageNet's colour covariance
  (:data:`COLOUR_CORRELATION_SQRT`, so that the parameters are decorrelated colours) and
  squashed into [0, 1] by a sigmoid. The map is invertible
  (:meth:`FourierPicture.from_pictures`), so an optimisation can start from real pictures.
- **transformation robustness** (:func:`random_transform`): at every step the picture is
  padded, rotated, scaled, shifted and cropped back to its size at random, so that only
  patterns the network reads under all of these survive (without, optimisation finds
  high-frequency noise).
- **objectives** (:data:`OBJECTIVES`): the paper's, ``-alpha * value_d - beta * log
  softmax(values)_d`` (alpha 0.1, beta 1: raise dimension d and keep the others low), and,
  for comparison, the plain ``-value_d``.

:func:`optimise_pictures` runs Adam on the parameters only (the predictor's own
parameters are frozen during the run and restored after), seeded: the same seed gives the
same pictures. The checks (:func:`gain_over_real`, :func:`mean_pairwise_cosine`,
:func:`confusion_table`; :func:`gains_table` and :func:`cosine_table` for every objective
at once) measure whether the pictures mean something.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as tvf
from tqdm.auto import tqdm

__all__ = [
    "COLOUR_CORRELATION_SQRT",
    "OBJECTIVES",
    "OBJECTIVE_NAMES",
    "FourierPicture",
    "OptimisedPictures",
    "confusion_table",
    "correlate_colours",
    "cosine_table",
    "decorrelate_colours",
    "gain_over_real",
    "gains_table",
    "mean_pairwise_cosine",
    "optimise_pictures",
    "optimised_features",
    "paper_objective",
    "random_transform",
    "value_objective",
]

# Square root (by SVD) of the colour covariance of ImageNet pictures, rows R, G, B, as
# published with Lucid (lucid/optvis/param/color.py, Apache 2.0; Lucent copies it), scaled
# so that its largest column has unit norm, as there.
_COLOUR_SVD_SQRT = np.array(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float64
)
COLOUR_CORRELATION_SQRT = _COLOUR_SVD_SQRT / np.linalg.norm(_COLOUR_SVD_SQRT, axis=0).max()
# Lucid divides the inverse Fourier transform by 4 ("reduces saturation"); kept for its
# tested learning rate.
_SPECTRUM_DIVISOR = 4.0


def _mix_colours(images: torch.Tensor, matrix: np.ndarray) -> torch.Tensor:
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images: expected (n, 3, H, W), got {tuple(images.shape)}")
    mix = torch.as_tensor(matrix, dtype=images.dtype, device=images.device)
    return torch.einsum("ij,njhw->nihw", mix, images)


def decorrelate_colours(images: torch.Tensor) -> torch.Tensor:
    """Decorrelated colour parameters (n, 3, H, W) -> correlated RGB (before the sigmoid):
    each pixel's colour vector times :data:`COLOUR_CORRELATION_SQRT`."""
    return _mix_colours(images, COLOUR_CORRELATION_SQRT)


def correlate_colours(images: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`decorrelate_colours`."""
    return _mix_colours(images, np.linalg.inv(COLOUR_CORRELATION_SQRT))


def _frequency_scale(height: int, width: int) -> np.ndarray:
    """1 / |frequency| of the real 2-D spectrum (height, width // 2 + 1), the zero
    frequency and anything below 1 / max(height, width) capped at max(height, width)."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    return 1.0 / np.maximum(np.sqrt(fx**2 + fy**2), 1.0 / max(height, width))


class FourierPicture(nn.Module):
    """``n`` RGB pictures (n, 3, size, size) in (0, 1), parameterised by decorrelated,
    frequency-scaled spectra (the module's only parameter, ``spectrum``)."""

    def __init__(self, spectrum: torch.Tensor, size: int):
        super().__init__()
        scale = torch.as_tensor(_frequency_scale(size, size), dtype=torch.float32)
        expected = (3, *scale.shape, 2)
        if spectrum.ndim != 5 or tuple(spectrum.shape[1:]) != expected:
            raise ValueError(
                f"spectrum: expected (n, {', '.join(map(str, expected))}) for size {size}, "
                f"got {tuple(spectrum.shape)}"
            )
        self.size = size
        self.spectrum = nn.Parameter(spectrum.detach().clone().float())
        self.register_buffer("scale", scale[None, None, :, :, None])

    @classmethod
    def random(
        cls, n: int, size: int, generator: torch.Generator, sd: float = 0.01
    ) -> FourierPicture:
        """Small random spectra (Lucid's initialisation): nearly uniform grey pictures."""
        if n < 1 or size < 2:
            raise ValueError(f"n, size: expected n >= 1 and size >= 2, got {n}, {size}")
        shape = (n, 3, size, size // 2 + 1, 2)
        return cls(torch.randn(shape, generator=generator) * sd, size)

    @classmethod
    def from_pictures(cls, pictures: torch.Tensor, margin: float = 0.02) -> FourierPicture:
        """The parameters whose pictures equal `pictures` (n, 3, size, size), values
        clipped to [margin, 1 - margin] first (the sigmoid reaches 0 and 1 only at
        infinity, and near them its gradient vanishes)."""
        if pictures.ndim != 4 or pictures.shape[1] != 3 or pictures.shape[2] != pictures.shape[3]:
            raise ValueError(f"pictures: expected (n, 3, S, S), got {tuple(pictures.shape)}")
        if not 0 < margin < 0.5:
            raise ValueError(f"margin: expected a value in (0, 0.5), got {margin}")
        size = pictures.shape[-1]
        logits = torch.logit(pictures.detach().double().clamp(margin, 1 - margin))
        spectrum = torch.fft.rfft2(correlate_colours(logits) * _SPECTRUM_DIVISOR, norm="ortho")
        scale = torch.as_tensor(_frequency_scale(size, size), dtype=torch.float64)
        return cls(torch.view_as_real(spectrum / scale), size)

    def forward(self) -> torch.Tensor:
        spectrum = torch.view_as_complex((self.spectrum * self.scale).contiguous())
        spatial = torch.fft.irfft2(spectrum, s=(self.size, self.size), norm="ortho")
        return torch.sigmoid(decorrelate_colours(spatial / _SPECTRUM_DIVISOR))


def random_transform(
    pictures: torch.Tensor,
    generator: torch.Generator,
    *,
    pad: int = 12,
    shift: int = 8,
    crop_jitter: int = 4,
    max_angle: float = 10.0,
    scale_range: tuple[float, float] = (0.9, 1.1),
) -> torch.Tensor:
    """Lucid's standard transformations, differentiable, the same for the whole batch:
    pad with grey (0.5), rotate by up to ``max_angle`` degrees, scale, shift by up to
    ``shift`` pixels (one bilinear affine warp, torchvision), then crop the original size
    at a random offset of up to ``crop_jitter`` pixels from the centre. Pictures in [0, 1]
    stay in [0, 1]; the shape is kept."""
    if pictures.ndim != 4:
        raise ValueError(f"pictures: expected (n, C, H, W), got {tuple(pictures.shape)}")
    if crop_jitter > pad:
        raise ValueError(f"crop_jitter: expected at most pad ({pad}), got {crop_jitter}")

    def uniform(low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand((), generator=generator))

    def integer(bound: int) -> int:
        return int(torch.randint(-bound, bound + 1, (), generator=generator))

    height, width = pictures.shape[-2:]
    # centred on grey, so that the warp's zero fill is grey (torchvision's fill value is
    # written in place, which autograd refuses)
    centred = nn.functional.pad(pictures - 0.5, [pad] * 4)
    warped = tvf.affine(
        centred,
        angle=uniform(-max_angle, max_angle),
        translate=[integer(shift), integer(shift)],
        scale=uniform(*scale_range),
        shear=[0.0, 0.0],
        interpolation=InterpolationMode.BILINEAR,
    )
    top, left = pad + integer(crop_jitter), pad + integer(crop_jitter)
    return warped[..., top : top + height, left : left + width] + 0.5


def _target_values(values: torch.Tensor, dims: torch.Tensor) -> torch.Tensor:
    return values.gather(1, dims[:, None])[:, 0]


def paper_objective(
    values: torch.Tensor, dims: torch.Tensor, alpha: float = 0.1, beta: float = 1.0
) -> torch.Tensor:
    """The paper's loss per picture: ``-alpha * values[i, d_i] - beta * log
    softmax(values[i])[d_i]``; `values` (n, n_dims), `dims` (n,) the target dimensions."""
    log_share = _target_values(torch.log_softmax(values, dim=1), dims)
    return -alpha * _target_values(values, dims) - beta * log_share


def value_objective(values: torch.Tensor, dims: torch.Tensor) -> torch.Tensor:
    """The plain loss per picture: ``-values[i, d_i]`` (the other dimensions are free)."""
    return -_target_values(values, dims)


OBJECTIVES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "paper": paper_objective,
    "value": value_objective,
}

# how tables and figures name each objective
OBJECTIVE_NAMES = {"paper": "paper's loss", "value": "plain value"}


@dataclass(frozen=True)
class OptimisedPictures:
    """``pictures`` (n, 3, S, S) in [0, 1] (CPU, float32), ``values`` (n, n_dims) the
    predictor's dimension values of the untransformed pictures, ``losses`` (steps, n) the
    loss of each picture at each step, ``dims`` (n,) the target dimensions."""

    pictures: torch.Tensor
    values: np.ndarray
    losses: np.ndarray
    dims: np.ndarray

    def rgb(self) -> np.ndarray:
        """The pictures as (n, S, S, 3) uint8, for display."""
        return (self.pictures.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)

    @classmethod
    def concatenate(cls, runs: Iterable[OptimisedPictures]) -> OptimisedPictures:
        """The pictures of several runs (e.g. one per objective, each of the same number
        of steps) as one, run after run."""
        runs = list(runs)
        if not runs or len({run.losses.shape[0] for run in runs}) != 1:
            raise ValueError(
                f"runs: expected one or more runs of the same number of steps, got "
                f"{[run.losses.shape[0] for run in runs]}"
            )
        return cls(
            torch.cat([run.pictures for run in runs]),
            np.concatenate([run.values for run in runs]),
            np.concatenate([run.losses for run in runs], axis=1),
            np.concatenate([run.dims for run in runs]),
        )


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """The module in eval mode with no parameter gradients; both restored on exit."""
    flags = [p.requires_grad for p in module.parameters()]
    was_training = module.training
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)
        module.train(was_training)


def optimise_pictures(
    predictor: nn.Module,
    normalise: Callable[[torch.Tensor], torch.Tensor],
    dims: Sequence[int],
    *,
    objective: str = "paper",
    steps: int = 100,
    size: int = 224,
    learning_rate: float = 0.05,
    start: torch.Tensor | None = None,
    transform: bool = True,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> OptimisedPictures:
    """One picture per entry of `dims`, optimised to drive that dimension of `predictor`.

    `predictor` maps normalised pictures (n, 3, S, S) to dimension values (n, n_dims);
    `normalise` maps pictures in [0, 1] to the predictor's input scale (for
    EfficientNet-Lite0, ``features.efficientnet_lite0_normalise``). `objective` is a key
    of :data:`OBJECTIVES`. The pictures start from noise, or from `start` (n, 3, size,
    size) in [0, 1] (e.g. the dimension's top pictures), inverted through the
    parameterisation. Adam with `learning_rate` on the spectra for `steps` steps, with
    :func:`random_transform` at each step unless `transform` is False. The predictor is
    moved to `device`; its parameters get no gradients and stay as they were.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective: expected one of {sorted(OBJECTIVES)}, got {objective!r}")
    if steps < 1:
        raise ValueError(f"steps: expected at least 1, got {steps}")
    target = torch.as_tensor(np.asarray(dims, dtype=np.int64).reshape(-1))
    if len(target) == 0:
        raise ValueError("dims: expected at least one dimension, got none")
    generator = torch.Generator().manual_seed(seed)
    if start is None:
        picture = FourierPicture.random(len(target), size, generator)
    else:
        if tuple(start.shape) != (len(target), 3, size, size):
            raise ValueError(
                f"start: expected ({len(target)}, 3, {size}, {size}) (one picture per "
                f"dimension), got {tuple(start.shape)}"
            )
        picture = FourierPicture.from_pictures(start)
    device = torch.device(device)
    picture.to(device)
    predictor.to(device)
    target_on_device = target.to(device)
    loss_function = OBJECTIVES[objective]
    losses = np.empty((steps, len(target)), dtype=np.float32)
    with _frozen(predictor):
        with torch.no_grad():
            n_dims = predictor(normalise(picture())).shape[1]
        bad = [int(d) for d in target if not 0 <= d < n_dims]
        if bad:
            raise ValueError(f"dims: expected indices in [0, {n_dims}), got {bad}")
        optimiser = torch.optim.Adam(picture.parameters(), lr=learning_rate)
        for step in tqdm(range(steps), desc=f"{objective} objective", disable=not progress):
            optimiser.zero_grad()
            image = picture()
            if transform:
                image = random_transform(image, generator)
            loss = loss_function(predictor(normalise(image)), target_on_device)
            loss.sum().backward()
            optimiser.step()
            losses[step] = loss.detach().cpu().numpy()
        with torch.no_grad():
            final = picture()
            values = predictor(normalise(final)).cpu().numpy()
    return OptimisedPictures(final.detach().cpu().float(), values, losses, target.numpy())


def optimised_features(
    predictor: nn.Module,
    normalise: Callable[[torch.Tensor], torch.Tensor],
    optimised: dict[str, OptimisedPictures],
) -> dict[str, np.ndarray]:
    """The network's pooled features (``predictor.pooled_features``, (n, k)) of the
    pictures of every run of `optimised` (name -> pictures), normalised by `normalise`
    as in :func:`optimise_pictures`; for :func:`cosine_table`."""
    with torch.no_grad():
        return {
            name: predictor.pooled_features(normalise(run.pictures)).numpy()
            for name, run in optimised.items()
        }


def gain_over_real(
    optimised_values: np.ndarray, dims: Sequence[int], real_values: np.ndarray
) -> pd.DataFrame:
    """How far each optimised picture raises its target dimension beyond real pictures.

    `optimised_values` (n, n_dims): the predicted values of the optimised pictures, each
    aimed at ``dims[i]``; `real_values` (n_real, n_dims): the predicted values of real
    pictures. Each value is divided by the dimension's largest real value (its top real
    picture's). Per picture: ``target ratio`` (the target dimension's value over its top
    real value), ``target difference`` (the same as a difference), and the mean and largest
    ratio over the *other* dimensions (``others mean ratio``, ``others max ratio``).
    """
    optimised_values = np.asarray(optimised_values, dtype=np.float64)
    real_values = np.asarray(real_values, dtype=np.float64)
    dims = np.asarray(dims, dtype=np.int64).reshape(-1)
    if optimised_values.ndim != 2 or optimised_values.shape[0] != len(dims):
        raise ValueError(
            f"optimised_values: expected ({len(dims)}, n_dims), got {optimised_values.shape}"
        )
    if real_values.ndim != 2 or real_values.shape[1] != optimised_values.shape[1]:
        raise ValueError(
            f"real_values: expected (n_real, {optimised_values.shape[1]}), got {real_values.shape}"
        )
    top_real = real_values.max(axis=0)
    if np.any(top_real <= 0):
        raise ValueError(
            f"real_values: dimensions {np.flatnonzero(top_real <= 0).tolist()} have no "
            "positive value on any real picture; ratios to the top picture are undefined"
        )
    ratios = optimised_values / top_real
    rows = []
    for i, d in enumerate(dims):
        others = np.delete(ratios[i], d)
        rows.append(
            {
                "dimension": int(d) + 1,
                "optimised value": optimised_values[i, d],
                "top real value": top_real[d],
                "target ratio": ratios[i, d],
                "target difference": optimised_values[i, d] - top_real[d],
                "others mean ratio": others.mean() if len(others) else np.nan,
                "others max ratio": others.max() if len(others) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def gains_table(optimised: dict[str, OptimisedPictures], real_values: np.ndarray) -> pd.DataFrame:
    """:func:`gain_over_real` of the pictures of every objective of `optimised` (name ->
    pictures), one below the other, with a first column ``objective`` (its
    :data:`OBJECTIVE_NAMES` name)."""
    return pd.concat(
        {
            OBJECTIVE_NAMES[name]: gain_over_real(run.values, run.dims, real_values)
            for name, run in optimised.items()
        },
        names=["objective", None],
    ).reset_index(level=0)


def mean_pairwise_cosine(vectors: np.ndarray, centre: np.ndarray | None = None) -> float:
    """Mean cosine similarity over all pairs of distinct rows of `vectors` (n, k), after
    subtracting `centre` (k,) if given (e.g. the mean feature vector of real pictures)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] < 2:
        raise ValueError(f"vectors: expected (n >= 2, k), got {vectors.shape}")
    if centre is not None:
        vectors = vectors - np.asarray(centre, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"vectors: rows {np.flatnonzero(norms == 0).tolist()} have zero norm")
    unit = vectors / norms[:, None]
    cosines = unit @ unit.T
    n = len(unit)
    return float((cosines.sum() - np.trace(cosines)) / (n * (n - 1)))


def cosine_table(
    optimised_features: dict[str, np.ndarray], real_features: np.ndarray, centre: np.ndarray
) -> pd.Series:
    """:func:`mean_pairwise_cosine` of the network's features (centred on `centre`) of the
    pictures optimised with each objective (`optimised_features`: name -> (n, k)), named
    ``"optimised, <its OBJECTIVE_NAMES name>"``, and of the dimensions' top real pictures
    (`real_features`), named ``"top real pictures"``."""
    return pd.Series(
        {
            f"optimised, {OBJECTIVE_NAMES[name]}": mean_pairwise_cosine(features, centre)
            for name, features in optimised_features.items()
        }
        | {"top real pictures": mean_pairwise_cosine(real_features, centre)},
        name="mean pairwise cosine",
    )


def confusion_table(
    optimised_values: np.ndarray,
    dims: Sequence[int],
    real_values: np.ndarray,
    candidates: Sequence[int],
) -> pd.DataFrame:
    """Which of the `candidates` dimensions the predictor reads in each optimised picture.

    Each dimension's values are z-scored by its mean and standard deviation over the real
    pictures (`real_values`, (n_real, n_dims)), so that dimensions of different spread
    compete fairly; a picture is read as the candidate with the largest z. Returns counts,
    rows the target dimensions, columns the dimension read (both 1-based, named
    'dim k'); every entry of `dims` must be a candidate.
    """
    optimised_values = np.asarray(optimised_values, dtype=np.float64)
    real_values = np.asarray(real_values, dtype=np.float64)
    dims = np.asarray(dims, dtype=np.int64).reshape(-1)
    candidates = np.asarray(candidates, dtype=np.int64).reshape(-1)
    if optimised_values.shape[0] != len(dims):
        raise ValueError(
            f"optimised_values: expected {len(dims)} rows (one per target), "
            f"got {optimised_values.shape[0]}"
        )
    missing = sorted(set(dims.tolist()) - set(candidates.tolist()))
    if missing:
        raise ValueError(f"dims: targets {missing} are not among the candidates")
    spread = real_values.std(axis=0)
    if np.any(spread[candidates] == 0):
        raise ValueError("real_values: a candidate dimension is constant over the real pictures")
    z = (optimised_values[:, candidates] - real_values.mean(axis=0)[candidates]) / spread[
        candidates
    ]
    read = candidates[np.argmax(z, axis=1)]
    names = [f"dim {c + 1}" for c in candidates]
    table = pd.DataFrame(0, index=pd.Index(names, name="target"), columns=names)
    table.columns.name = "read as"
    for d, r in zip(dims, read, strict=True):
        table.loc[f"dim {d + 1}", f"dim {r + 1}"] += 1
    return table
