"""Picture manipulations of the causal test (each keeps shape, type and what it claims
to keep), the scikit-image photographs and the concept ranking."""

from __future__ import annotations

import numpy as np
import pytest

from dnnalign_utils import causal, images

BLACK = (0, 0, 0)


def _picture():
    """A rendered emoji and its mask, as the book's chapter uses them."""
    rows = images.load_manifest(verify=False).iloc[[7]]
    picture, mask = images.render_image(images.load_rgba(rows["path"].iloc[0]))
    return np.asarray(picture), mask


def _lightness(rgb):
    rgb = rgb.astype(np.float64)
    return (rgb.max(axis=2) + rgb.min(axis=2)) / 2


def test_every_manipulation_keeps_shape_and_range():
    rgb, mask = _picture()
    out, names, index = causal.manipulate(rgb[None], mask[None], BLACK)
    assert names == list(causal.MANIPULATIONS) and list(index) == [0] * len(names)
    for picture, name in zip(out, names, strict=True):
        assert picture.shape == rgb.shape and picture.dtype == np.uint8, name
        assert not np.array_equal(picture, rgb), f"{name} left the picture unchanged"


def test_greyscale_and_hue_shift():
    rgb, _ = _picture()
    grey = causal.greyscale(rgb)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    red = np.zeros((2, 2, 3), dtype=np.uint8)
    red[..., 0] = 255
    assert causal.greyscale(red)[0, 0, 0] == 76  # 0.299 * 255, PIL's "L"
    shifted = causal.hue_shift(rgb, 120.0)
    # lightness (HLS) is kept up to rounding; a colour picture does change
    assert np.abs(_lightness(shifted) - _lightness(rgb)).max() <= 1.0
    np.testing.assert_array_equal(causal.hue_shift(red, 120.0)[0, 0], [0, 255, 0])
    np.testing.assert_array_equal(causal.hue_shift(red, 240.0)[0, 0], [0, 0, 255])
    assert np.abs(causal.hue_shift(rgb, 360.0).astype(int) - rgb).max() <= 1
    np.testing.assert_array_equal(causal.hue_shift(grey, 77.0), grey)  # greys have no hue
    with pytest.raises(ValueError, match="rgb: expected an"):
        causal.greyscale(rgb.astype(np.float32))


def test_silhouette_removal_and_background_keep_the_mask():
    rgb, mask = _picture()
    sil = causal.silhouette(rgb, mask, BLACK)
    # the mask is recovered from the silhouette (white on black) to rounding
    assert np.abs(sil[..., 0] / 255 - mask).max() <= 0.5 / 255 + 1e-9
    assert len(np.unique(sil.reshape(-1, 3), axis=0)) > 2  # anti-aliased edge kept
    removed = causal.remove_object(rgb, mask, BLACK)
    assert removed[mask > 0.999].max() == 0 and np.array_equal(removed[mask == 0], rgb[mask == 0])
    swapped = causal.swap_background(rgb, mask, BLACK, (128, 128, 128))
    np.testing.assert_array_equal(swapped[mask == 0], 128)
    np.testing.assert_array_equal(swapped[mask == 1], rgb[mask == 1])
    back = causal.swap_background(swapped, mask, (128, 128, 128), BLACK)
    assert np.abs(back.astype(int) - rgb).max() <= 1  # swapping back restores the picture
    with pytest.raises(ValueError, match="mask: expected shape"):
        causal.silhouette(rgb, mask[:10], BLACK)
    with pytest.raises(ValueError, match="background: expected an RGB triple"):
        causal.remove_object(rgb, mask, (0, 0))


def test_blur_and_crop():
    rgb, _ = _picture()
    blurred = causal.blur(rgb, 4.0)
    assert abs(blurred.astype(float).mean() - rgb.astype(float).mean()) < 1.0  # mass kept
    assert (
        np.abs(np.diff(blurred.astype(float), axis=1)).mean()
        < np.abs(np.diff(rgb.astype(float), axis=1)).mean()
    )
    np.testing.assert_array_equal(causal.crop(rgb, 1.0), rgb)
    cropped = causal.crop(rgb, 0.5)
    assert cropped.shape == rgb.shape
    # the crop's centre pixel is the picture's centre pixel
    np.testing.assert_allclose(cropped[112, 112], rgb[112, 112], atol=40)
    with pytest.raises(ValueError, match="fraction: expected"):
        causal.crop(rgb, 0.0)
    with pytest.raises(ValueError, match="sigma: expected"):
        causal.blur(rgb, 0.0)


def test_skimage_photos_are_offline_square_rgb():
    photos = causal.skimage_photos(["cat", "rocket", "horse"])
    assert list(photos["uniqueID"]) == ["cat", "rocket", "horse"]
    for picture in photos["rgb"]:
        assert picture.ndim == 3 and picture.shape[0] == picture.shape[1]
        assert picture.shape[2] == 3 and picture.dtype == np.uint8
    assert set(np.unique(photos.loc[2, "rgb"])) == {0, 255}  # the binary silhouette


def test_concept_rank_known_answer():
    weights = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 1.0]])
    concepts = ["a", "a", "b", "b"]
    table = causal.concept_rank(np.array([[0.0, 2.0], [3.0, 0.1]]), weights, concepts, ["a", "a"])
    assert list(table["rank"]) == [2, 1] and list(table["most similar"]) == ["b", "a"]
    assert (table["concepts"] == 2).all()
    with pytest.raises(ValueError, match="have no picture"):
        causal.concept_rank(np.ones((1, 2)), weights, concepts, ["c"])


def test_dimension_names_name_each_dimension_by_its_top_concept():
    weights = np.array([[1.0, 0.0], [3.0, 0.5], [2.0, 2.0], [0.0, 1.5]])
    # cat: (1 + 3) / 2 = 2 and 0.25; dog: (2 + 0) / 2 = 1 and 1.75
    assert causal.dimension_names(weights, ["cat", "cat", "dog", "dog"]) == ["1 cat", "2 dog"]
    with pytest.raises(ValueError, match="concepts: expected one concept per row"):
        causal.dimension_names(weights, ["cat"])


def test_colour_check_table():
    from scipy.stats import spearmanr

    colour_r2 = np.array([0.1, 0.5, 0.3, 0.05])
    grey_change = np.array([0.2, 1.2, 0.1, 0.4])
    names = ["1 cat", "2 apple", "3 dog", "4 car"]
    table = causal.colour_check_table(colour_r2, grey_change, names)
    expected = spearmanr(colour_r2, grey_change)
    assert table["value"].tolist() == [
        f"{expected.statistic:.2f}",
        f"{expected.pvalue:.2g}",
        "2 apple",
        f"{1.2 / 0.3:.2f}",  # its change over the median change (0.2 + 0.4) / 2
    ]
    with pytest.raises(ValueError, match="one value and name per dimension"):
        causal.colour_check_table(colour_r2, grey_change, names[:3])
