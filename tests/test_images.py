"""The embedded THINGS-emoji set: manifest validation, order, rendering, size, licences."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dnnalign_utils import images
from dnnalign_utils.data import load_unique_ids

FOLDER = images.emoji_dir()


@pytest.fixture(scope="module")
def manifest() -> pd.DataFrame:
    return images.load_manifest()


def _small_copy(tmp_path: Path, manifest: pd.DataFrame, n: int = 4) -> Path:
    """A folder with the first n manifest rows (files and a manifest.csv)."""
    rows = manifest.head(n)
    for f in rows["file"]:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(FOLDER / f, tmp_path / f)
    rows[list(images.MANIFEST_COLUMNS)].to_csv(tmp_path / "manifest.csv", index=False)
    return tmp_path


def test_manifest_validates_and_meets_targets(manifest):
    per_concept = manifest.groupby("uniqueID")["style"].nunique()
    assert (per_concept >= 3).all()
    assert len(per_concept) >= 300
    assert set(manifest["style"]) <= set(images.STYLE_ORDER)
    assert set(manifest["licence"]) <= set(images.KNOWN_LICENCES)
    # every style's licence and attribution text ships with the set
    for style in manifest["style"].unique():
        assert (FOLDER / "LICENSES" / f"{style}.txt").stat().st_size > 100
    total = sum(p.stat().st_size for p in FOLDER.rglob("*") if p.is_file())
    assert total <= 40 * 2**20


def test_row_order_is_things_order_then_style(manifest):
    ids = load_unique_ids()
    index = manifest["uniqueID"].map({u: i for i, u in enumerate(ids)})
    assert (index.to_numpy() == manifest["things_index"].to_numpy()).all()
    rank = manifest["style"].map({s: i for i, s in enumerate(images.STYLE_ORDER)})
    key = list(zip(index, rank, strict=True))
    assert key == sorted(key)
    names = images.file_names(manifest)
    assert len(set(names)) == len(names)
    assert names[0] == f"{manifest['uniqueID'][0]}/{manifest['style'][0]}.png"
    # a style subset keeps the same relative order
    sub = images.load_manifest(styles=["twemoji", "noto"], verify=False)
    assert list(sub["file_name"]) == [
        n for n in names if n.endswith(("/noto.png", "/twemoji.png"))
    ]


def test_corrupted_file_fails_naming_it(tmp_path, manifest):
    folder = _small_copy(tmp_path, manifest)
    assert len(images.load_manifest(folder)) == 4
    victim = folder / manifest["file"][2]
    data = bytearray(victim.read_bytes())
    data[-20] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(images.ManifestError, match=manifest["file"][2]):
        images.load_manifest(folder)
    # without hash verification the changed file is accepted (presence still checked)
    assert len(images.load_manifest(folder, verify=False)) == 4
    victim.unlink()
    with pytest.raises(images.ManifestError, match="missing"):
        images.load_manifest(folder, verify=False)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("licence", "", "licence"),
        ("uniqueID", "unicorn", "not a THINGS concept"),
        ("style", "apple", "unknown style"),
        ("file", "../outside.png", "leaves the image folder"),
    ],
)
def test_bad_manifest_rows_fail_naming_the_row(tmp_path, manifest, column, value, message):
    folder = _small_copy(tmp_path, manifest)
    table = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    table.loc[1, column] = value
    table.to_csv(folder / "manifest.csv", index=False)
    with pytest.raises(images.ManifestError, match=rf"row 3 .*{message}"):
        images.load_manifest(folder)


def test_stored_images_are_rgba_with_a_mask(manifest):
    for path in manifest["path"].iloc[::400]:
        rgba = images.load_rgba(path)
        alpha = np.asarray(rgba.getchannel("A"))
        assert rgba.size == (224, 224)
        assert alpha.max() >= 250 and alpha.min() == 0  # an object and transparent border
        # the object was fitted tightly: it touches two opposite edges of the square
        ys, xs = np.nonzero(alpha >= 8)
        assert (ys.min() <= 1 and ys.max() >= 222) or (xs.min() <= 1 and xs.max() >= 222)


def test_render_geometry_against_a_known_square():
    red = Image.new("RGBA", (224, 224), (255, 0, 0, 255))
    rendering = images.Rendering(size=100, margin=0.2, background=(0, 0, 255))
    rgb, mask = images.render_image(red, rendering)
    pixels = np.asarray(rgb)
    assert rgb.size == (100, 100) and rgb.mode == "RGB"
    assert (pixels[20:80, 20:80] == [255, 0, 0]).all()
    assert (pixels[:20] == [0, 0, 255]).all() and (pixels[:, 80:] == [0, 0, 255]).all()
    assert mask.dtype == np.float32
    assert mask[20:80, 20:80].min() == 1.0 and mask.sum() == 60 * 60
    # transparent pixels never change the background, whatever their colour
    ghost = Image.new("RGBA", (224, 224), (0, 255, 0, 0))
    rgb, mask = images.render_image(ghost, rendering)
    assert (np.asarray(rgb) == [0, 0, 255]).all() and mask.sum() == 0


def test_rendering_rejects_bad_parameters():
    with pytest.raises(ValueError, match="margin"):
        images.Rendering(margin=0.5)
    with pytest.raises(ValueError, match="background"):
        images.Rendering(background=(0, 0, 300))
    with pytest.raises(ValueError, match="RGBA"):
        images.render_image(Image.new("RGB", (224, 224)))


def test_matches_table_records_senses(manifest):
    matches = pd.read_csv(FOLDER / "matches.csv", dtype=str, keep_default_na=False)
    accepted = matches[matches["status"] == "accepted"]
    assert set(manifest["uniqueID"]) <= set(accepted["uniqueID"])
    assert not accepted["uniqueID"].duplicated().any()
    assert (matches["reason"] != "").all() and (matches["rule"] != "").all()
    by_id = accepted.set_index("uniqueID")
    # homonyms resolved to the sense the emoji draws
    assert by_id.loc["bat1", "emoji_name"] == "bat" and "bat2" not in by_id.index
    assert by_id.loc["mouse1", "emoji_name"] == "mouse"
    assert by_id.loc["mouse2", "emoji_name"] == "computer mouse"
    assert "bank" not in by_id.index  # the bank-building emoji is not a money box
    rejected = matches[matches["status"] == "rejected"]
    assert {"bat2", "bank"} <= set(rejected["uniqueID"])


def test_dataset_returns_rows_in_order(manifest):
    from dnnalign_utils.features import efficientnet_lite0_preprocess

    sub = manifest.head(3)
    dataset = images.EmojiImages(sub, efficientnet_lite0_preprocess())
    x, i = dataset[2]
    assert len(dataset) == 3 and i == 2 and tuple(x.shape) == (3, 224, 224)
    assert dataset.file_names == list(sub["file_name"])


def test_gallery_renders_existing_pairs_in_order():
    from dnnalign_utils import images as I

    manifest = I.load_manifest()
    uid = manifest["uniqueID"].iloc[0]
    styles = manifest[manifest["uniqueID"] == uid]["style"].tolist()[:2]
    pictures, labels = I.gallery(manifest, [uid], [*styles, "no-such-style"])
    assert pictures.shape == (2, 224, 224, 3) and pictures.dtype == np.uint8
    assert labels == [f"{uid} ({s})" for s in styles]
    with pytest.raises(ValueError, match="gallery"):
        I.gallery(manifest, ["not_a_concept"], styles)


def test_top_pictures_renders_each_dimensions_highest_weighted_pictures(manifest):
    rows = manifest.head(12).reset_index(drop=True)
    weights = np.random.default_rng(0).random((12, 3))
    pictures, captions = images.top_pictures(weights, rows, n_dims=2, k=3)
    expected = []  # the slow obvious reading: sort each dimension's column
    for d in range(2):
        for i in sorted(range(12), key=lambda i: -weights[i, d])[:3]:
            expected.append((d, rows.loc[i, "uniqueID"], rows.loc[i, "style"]))
    assert captions == [f"dim {d + 1}: {u} ({s})" for d, u, s in expected]
    assert pictures.shape == (6, 224, 224, 3)
    _, u, s = expected[4]
    np.testing.assert_array_equal(pictures[4], images.gallery(rows, [u], [s])[0][0])
    with pytest.raises(ValueError, match="one row per picture of the manifest"):
        images.top_pictures(weights[:5], rows, n_dims=2)
