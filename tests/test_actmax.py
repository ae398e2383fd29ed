"""Pixel-space activation maximisation: parameterisation, transformations, objectives,
convergence on a toy network with a known preferred picture, and the three checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from dnnalign_utils import actmax


class ChannelMeans(nn.Module):
    """Dimension c reads the mean of colour channel c (times `gain`): dimension 0 prefers
    a red picture, and the softmax term of the paper's objective wants green and blue low."""

    def __init__(self, gain: float = 10.0):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(float(gain)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gain * x.mean(dim=(2, 3))


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


def test_paper_objective_equals_the_formula_by_hand():
    values = torch.tensor([[1.0, 2.0, -0.5], [0.3, 0.1, 4.0]])
    dims = torch.tensor([1, 0])
    got = actmax.paper_objective(values, dims, alpha=0.1, beta=1.0)
    expected = []
    for row, d in zip(values.tolist(), dims.tolist(), strict=True):
        log_softmax = row[d] - np.log(sum(np.exp(v) for v in row))
        expected.append(-0.1 * row[d] - 1.0 * log_softmax)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(
        actmax.paper_objective(values, dims, alpha=2.0, beta=0.0).numpy(), [-4.0, -0.6]
    )
    np.testing.assert_allclose(actmax.value_objective(values, dims).numpy(), [-2.0, -0.3])


def test_colour_decorrelation_round_trips():
    x = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    np.testing.assert_allclose(actmax.correlate_colours(actmax.decorrelate_colours(x)), x)
    np.testing.assert_allclose(actmax.decorrelate_colours(actmax.correlate_colours(x)), x)
    # each pixel's colour is mixed by the matrix, the slow way
    mixed = actmax.decorrelate_colours(x)
    pixel = x[1, :, 3, 4].numpy()
    np.testing.assert_allclose(mixed[1, :, 3, 4], actmax.COLOUR_CORRELATION_SQRT @ pixel)
    assert np.linalg.norm(actmax.COLOUR_CORRELATION_SQRT, axis=0).max() == pytest.approx(1.0)


@pytest.mark.parametrize("size", [16, 17])
def test_fourier_parameterisation_inverts_pictures(size):
    pictures = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    pictures = 0.05 + 0.9 * pictures  # inside the clipping margin
    recovered = actmax.FourierPicture.from_pictures(pictures)()
    np.testing.assert_allclose(recovered.detach().numpy(), pictures.numpy(), atol=1e-5)


def test_random_start_is_a_nearly_grey_picture_in_range():
    picture = actmax.FourierPicture.random(3, 20, torch.Generator().manual_seed(1))()
    assert picture.shape == (3, 3, 20, 20)
    assert picture.min() > 0.3 and picture.max() < 0.7


def test_transformations_keep_shape_and_value_range_and_move_the_picture():
    generator = torch.Generator().manual_seed(2)
    pictures = torch.rand(2, 3, 40, 40, generator=generator)
    pictures[:, :, :4] = 0.0
    pictures[:, :, -4:] = 1.0
    changed = []
    for _ in range(10):
        out = actmax.random_transform(pictures, generator)
        assert out.shape == pictures.shape
        assert out.min() >= 0.0 and out.max() <= 1.0
        changed.append(float((out - pictures).abs().mean()))
    assert min(changed) > 0.01
    # differentiable
    leaf = pictures.clone().requires_grad_(True)
    actmax.random_transform(leaf, generator).sum().backward()
    assert leaf.grad is not None and leaf.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="crop_jitter"):
        actmax.random_transform(pictures, generator, pad=2, crop_jitter=4)


def test_optimisation_finds_the_red_picture():
    # from grey (0.5 everywhere): red up, green and blue down (the softmax term)
    model = ChannelMeans(gain=3.0)
    result = actmax.optimise_pictures(
        model, identity, [0], steps=200, size=32, learning_rate=0.1, progress=False
    )
    red, green, blue = result.pictures[0].mean(dim=(1, 2)).tolist()
    assert red > 0.8
    assert green < 0.35 and blue < 0.35
    assert result.losses[-1, 0] < result.losses[0, 0]
    # the predictor's parameters are frozen during the run and restored after
    assert model.gain.requires_grad and model.gain.grad is None
    np.testing.assert_allclose(result.values, model(result.pictures).detach().numpy(), rtol=1e-5)
    assert result.rgb().shape == (1, 32, 32, 3) and result.rgb().dtype == np.uint8


def test_plain_objective_leaves_the_other_channels_free():
    # the plain value does not push green and blue down; the paper's objective does
    paper = actmax.optimise_pictures(
        ChannelMeans(), identity, [0], steps=60, size=16, progress=False
    )
    plain = actmax.optimise_pictures(
        ChannelMeans(), identity, [0], objective="value", steps=60, size=16, progress=False
    )
    paper_others = paper.pictures[0, 1:].mean()
    plain_others = plain.pictures[0, 1:].mean()
    assert paper_others < plain_others


def test_start_from_pictures_begins_at_those_pictures():
    start = torch.full((2, 3, 16, 16), 0.3)
    start[1, 2] = 0.8
    result = actmax.optimise_pictures(
        ChannelMeans(),
        identity,
        [1, 2],
        steps=1,
        size=16,
        learning_rate=1e-6,
        start=start,
        progress=False,
    )
    np.testing.assert_allclose(result.pictures.numpy(), start.numpy(), atol=1e-3)
    with pytest.raises(ValueError, match=r"start: expected \(2, 3, 8, 8\)"):
        actmax.optimise_pictures(ChannelMeans(), identity, [1, 2], size=8, start=start)


def test_same_seed_same_picture_other_seed_other_picture():
    def run(seed):
        return actmax.optimise_pictures(
            ChannelMeans(), identity, [0, 2], steps=5, size=24, seed=seed, progress=False
        ).pictures

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="objective"):
        actmax.optimise_pictures(ChannelMeans(), identity, [0], objective="max")
    with pytest.raises(ValueError, match=r"dims: expected indices in \[0, 3\)"):
        actmax.optimise_pictures(ChannelMeans(), identity, [3], steps=1, size=8, progress=False)


def test_gain_over_real_against_hand_computation():
    real = np.array([[1.0, 2.0, 0.5], [3.0, 1.0, 0.25], [0.0, 4.0, 1.0]])
    optimised = np.array([[6.0, 2.0, 0.5], [1.5, 8.0, 2.0]])
    table = actmax.gain_over_real(optimised, [0, 1], real)
    # top real values: 3, 4, 1
    np.testing.assert_allclose(table["target ratio"], [2.0, 2.0])
    np.testing.assert_allclose(table["target difference"], [3.0, 4.0])
    np.testing.assert_allclose(table["others mean ratio"], [(0.5 + 0.5) / 2, (0.5 + 2.0) / 2])
    np.testing.assert_allclose(table["others max ratio"], [0.5, 2.0])
    assert table["dimension"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="no positive value"):
        actmax.gain_over_real(optimised, [0, 1], -real)


def test_mean_pairwise_cosine_against_sklearn():
    from sklearn.metrics.pairwise import cosine_similarity

    vectors = np.random.default_rng(0).normal(size=(5, 8))
    centre = vectors.mean(axis=0)
    for c in (None, centre):
        shifted = vectors if c is None else vectors - c
        cos = cosine_similarity(shifted)
        expected = cos[~np.eye(5, dtype=bool)].mean()
        assert actmax.mean_pairwise_cosine(vectors, c) == pytest.approx(expected)
    assert actmax.mean_pairwise_cosine(np.array([[1.0, 0.0], [2.0, 0.0]])) == pytest.approx(1.0)


def test_confusion_table_reads_the_largest_z_score():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(200, 4)) * np.array([1.0, 10.0, 1.0, 1.0])
    mean, sd = real.mean(axis=0), real.std(axis=0)
    # picture 0: dim 1 has the larger raw value but the smaller z
    optimised = np.array(
        [
            mean + sd * np.array([3.0, 2.0, 0.0, 9.0]),
            mean + sd * np.array([0.0, 5.0, 1.0, 0.0]),
            mean + sd * np.array([0.0, 6.0, 1.0, 0.0]),
        ]
    )
    table = actmax.confusion_table(optimised, [0, 1, 2], real, [0, 1, 2])
    assert table.loc["dim 1"].tolist() == [1, 0, 0]  # dim 4 is not a candidate
    assert table.loc["dim 2"].tolist() == [0, 1, 0]
    assert table.loc["dim 3"].tolist() == [0, 1, 0]
    assert int(table.to_numpy().sum()) == 3
    with pytest.raises(ValueError, match=r"targets \[3\] are not among"):
        actmax.confusion_table(optimised, [0, 1, 3], real, [0, 1, 2])


def _runs():
    """Two runs of three pictures (one per dimension), as the chapter makes them."""
    return {
        name: actmax.optimise_pictures(
            ChannelMeans(), identity, [0, 1, 2], objective=name, steps=3, size=8, progress=False
        )
        for name in actmax.OBJECTIVES
    }


def test_concatenated_runs_keep_the_run_order():
    runs = _runs()
    both = actmax.OptimisedPictures.concatenate(runs.values())
    assert both.dims.tolist() == [0, 1, 2, 0, 1, 2]
    assert torch.equal(both.pictures[3:], runs["value"].pictures)
    np.testing.assert_array_equal(both.values[:3], runs["paper"].values)
    assert both.losses.shape == (3, 6)
    short = actmax.optimise_pictures(
        ChannelMeans(), identity, [0], steps=1, size=8, progress=False
    )
    with pytest.raises(ValueError, match="the same number of steps"):
        actmax.OptimisedPictures.concatenate([runs["paper"], short])


def test_tables_of_every_objective_equal_the_checks_run_one_by_one():
    runs = _runs()
    real = np.random.default_rng(0).uniform(0.1, 1.0, size=(20, 3))
    gains = actmax.gains_table(runs, real)
    assert gains["objective"].tolist() == ["paper's loss"] * 3 + ["plain value"] * 3
    for name, run in runs.items():
        alone = actmax.gain_over_real(run.values, run.dims, real)
        part = gains[gains["objective"] == actmax.OBJECTIVE_NAMES[name]].drop(columns="objective")
        pd.testing.assert_frame_equal(part.reset_index(drop=True), alone)

    model = ChannelMeans()
    model.pooled_features = lambda x: x.mean(dim=(2, 3)) + torch.arange(3.0)
    pooled = actmax.optimised_features(model, identity, runs)
    for name, run in runs.items():
        expected = run.pictures.mean(dim=(2, 3)) + torch.arange(3.0)
        np.testing.assert_allclose(pooled[name], expected.numpy())
    centre = real.mean(axis=0)
    cosines = actmax.cosine_table(pooled, real[:3], centre)
    assert list(cosines.index) == [
        "optimised, paper's loss",
        "optimised, plain value",
        "top real pictures",
    ]
    assert cosines["optimised, plain value"] == actmax.mean_pairwise_cosine(
        pooled["value"], centre
    )
    assert cosines["top real pictures"] == actmax.mean_pairwise_cosine(real[:3], centre)
