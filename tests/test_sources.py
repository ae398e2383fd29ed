"""Profile inputs: embedded vs paper files (THINGS-data triplets, THINGS photo folders),
on small fixtures in the real layouts; VGG-16 photo features against a direct forward."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from dnnalign_utils import data, features, images, sources, triplets
from dnnalign_utils import fetch as fetching

# --------------------------------------------------------------------------- triplets


def _heldout():
    return [data.load_triplets_noise_ceiling().triplets, data.load_triplets_2171()]


def test_embedded_human_triplets_are_the_samples_minus_heldout():
    got = sources.human_training_triplets("default")
    samples = np.concatenate(
        [data.load_triplets_sample50k(), data.load_triplets_sample127k().triplets]
    )
    expected, removed = triplets.remove_heldout_triplets(samples, _heldout())
    np.testing.assert_array_equal(got.value, expected)
    assert len(got.value) == 176_877 and removed.sum() == len(samples) - 176_877
    assert f"{int(removed.sum()):,} of {len(samples):,} removed" in got.description
    assert set(got.input_hashes) == {
        "human/triplets_sample50k.txt",
        "human/triplets_sample127k_with_subject.txt",
    }
    assert not triplets.heldout_overlap_mask(got.value, _heldout()).any()


def _release(folder, train, test):
    """THINGS-data layout: trainset.txt (whitespace) and validationset.csv (header)."""
    folder.mkdir(parents=True)
    np.savetxt(folder / "trainset.txt", train, fmt="%d")
    pd.DataFrame(test, columns=["img1", "img2", "ooo"]).to_csv(
        folder / "validationset.csv", index=False
    )


def test_paper_triplets_read_the_release_and_remove_heldout(tmp_path):
    nc = data.load_triplets_noise_ceiling().triplets
    train = np.array([[0, 1, 2], [3, 4, 5], nc[0][[2, 0, 1]]])  # last: a held-out set
    test = np.array([[10, 11, 12], [1853, 7, 9]])
    _release(tmp_path / "triplets", train, test)
    got = sources.human_training_triplets("paper", folder=str(tmp_path / "triplets"))
    np.testing.assert_array_equal(got.value, np.concatenate([train[:2], test]))
    assert "1 of 5 removed" in got.description
    assert set(got.input_hashes) == {"trainset.txt", "validationset.csv"}


def test_objdim_names_and_npy(tmp_path):
    folder = tmp_path / "objdim"
    folder.mkdir()
    np.save(folder / "train_90.npy", np.array([[0, 1, 2]]))
    np.save(folder / "test_10.npy", np.array([[5, 4, 3]]))
    got = data.read_things_triplets(folder)
    np.testing.assert_array_equal(got["train"], [[0, 1, 2]])
    np.testing.assert_array_equal(got["test"], [[5, 4, 3]])


def test_release_errors_name_the_file_and_line(tmp_path):
    folder = tmp_path / "r"
    _release(folder, np.array([[0, 1, 2]]), np.array([[3, 4, 5]]))
    np.savetxt(folder / "train_90.txt", np.array([[0, 1, 2]]), fmt="%d")
    with pytest.raises(FileNotFoundError, match="exactly one train file.*found"):
        data.read_things_triplets(folder)
    (folder / "train_90.txt").unlink()
    (folder / "validationset.csv").write_text("a,b,c,d\n1,2,3,4\n")
    with pytest.raises(data.DataValidationError, match=r"validationset.csv: line 1: .*img1"):
        data.read_things_triplets(folder)
    (folder / "validationset.csv").write_text("img1,img2,ooo\n1,2,3\n4,x,6\n")
    with pytest.raises(data.DataValidationError, match=r"validationset.csv: line 3: .*integer"):
        data.read_things_triplets(folder)
    (folder / "validationset.csv").write_text("img1,img2,ooo\n1,2,3\n4,5,1854\n")
    with pytest.raises(data.DataValidationError, match=r"validationset.csv: line 3: .*range"):
        data.read_things_triplets(folder)
    (folder / "validationset.csv").unlink()
    with pytest.raises(FileNotFoundError, match="test file.*none"):
        data.read_things_triplets(folder)


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="profile"):
        sources.human_training_triplets("full")


# --------------------------------------------------------------------------- photos

CONCEPTS = ["aardvark", "abacus", "zucchini"]  # first, second and last THINGS concepts


def _photo(path, seed, size=(64, 48)):
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).save(path)


@pytest.fixture
def photo_root(tmp_path):
    """The OSF archives' layout: object_images_<letters>/<uniqueID>/<uniqueID>_NNx.jpg."""
    root = tmp_path / "Images"
    _photo(root / "object_images_T-Z" / "zucchini" / "zucchini_01b.jpg", 0)
    _photo(root / "object_images_A-C" / "abacus" / "abacus_02s.jpg", 1)
    _photo(root / "object_images_A-C" / "abacus" / "abacus_01b.jpg", 2)
    _photo(root / "object_images_A-C" / "aardvark" / "aardvark_01b.jpg", 3, size=(300, 200))
    (root / "password.txt").write_text("not an image\n")
    return root


def test_manifest_order_is_things_order_then_file_name(photo_root):
    manifest = images.things_image_manifest(photo_root, require_all=False)
    assert manifest["file_name"].tolist() == [
        "aardvark/aardvark_01b.jpg",
        "abacus/abacus_01b.jpg",
        "abacus/abacus_02s.jpg",
        "zucchini/zucchini_01b.jpg",
    ]
    assert manifest["things_index"].tolist() == [0, 1, 1, 1853]
    assert manifest["sha256"].str.len().eq(64).all()


def test_concept_picture_paths_per_profile(photo_root, monkeypatch):
    monkeypatch.setenv(fetching.ENV_IMAGES, str(photo_root))
    paper = sources.concept_picture_paths("paper").value
    assert {k: Path(v).name for k, v in paper.items()} == {
        0: "aardvark_01b.jpg",
        1: "abacus_01b.jpg",
        1853: "zucchini_01b.jpg",
    }
    from dnnalign_utils import rating

    assert rating.load_picture(paper[0]).shape == (200, 300, 3)
    embedded = sources.concept_picture_paths("smoke").value
    assert len(embedded) == 468 and all(Path(p).is_file() for p in embedded.values())
    drawing = rating.load_picture(next(iter(embedded.values())))
    assert drawing.shape[2] == 3 and (drawing[0, 0] == 255).all()  # transparent corner: white


def test_manifest_errors(photo_root):
    with pytest.raises(data.DataValidationError, match="1851 of 1854 THINGS concepts"):
        images.things_image_manifest(photo_root)
    _photo(photo_root / "object_images_D-K" / "abacus" / "abacus_03s.jpg", 4)
    with pytest.raises(data.DataValidationError, match="'abacus' found twice"):
        images.things_image_manifest(photo_root, require_all=False)
    shutil.rmtree(photo_root / "object_images_D-K")
    _photo(photo_root / "object_images_A-C" / "aardvarks" / "x.jpg", 5)
    with pytest.raises(data.DataValidationError, match="aardvarks: a folder of 1 images"):
        images.things_image_manifest(photo_root, require_all=False)


def _direct_fc7(model, path):
    """classifier.3 of one photo by an explicit forward through the model's parts."""
    x = features.vgg16_bn_preprocess()(Image.open(path).convert("RGB"))[None]
    with torch.no_grad():
        h = torch.flatten(model.avgpool(model.features(x)), 1)
        return model.classifier[:4](h)[0].numpy()


def test_vgg16_concept_features_are_means_of_relu_fc7(photo_root, tmp_path, monkeypatch):
    monkeypatch.setenv("DNNALIGN_ARTEFACTS_DIR", str(tmp_path / "artefacts"))
    got = sources.vgg16_concept_features(
        "paper", images=photo_root, weights=None, require_all=False, progress=False
    )
    assert got.value.shape == (1854, 4096)
    torch.manual_seed(0)  # the weights vgg16_photo_features initialises
    model = features.vgg16_bn(None)
    manifest = images.things_image_manifest(photo_root, require_all=False)
    per_photo = np.stack([np.maximum(_direct_fc7(model, p), 0) for p in manifest["path"]])
    np.testing.assert_allclose(got.value[0], per_photo[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got.value[1], per_photo[1:3].mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got.value[1853], per_photo[3], rtol=1e-4, atol=1e-4)
    assert not got.value[2:1853].any()  # concepts without photos (require_all=False)
    assert "4 THINGS photos of 3 concepts" in got.description

    # cached: a second call does not run the network again
    def fail(*args, **kwargs):
        raise AssertionError("features extracted again")

    monkeypatch.setattr(features, "extract_features", fail)
    again = sources.vgg16_concept_features(
        "paper", images=photo_root, weights=None, require_all=False, progress=False
    )
    np.testing.assert_array_equal(again.value, got.value)
    # a changed photo invalidates the cache
    _photo(photo_root / "object_images_A-C" / "abacus" / "abacus_02s.jpg", 9)
    with pytest.raises(AssertionError, match="extracted again"):
        sources.vgg16_concept_features(
            "paper", images=photo_root, weights=None, require_all=False, progress=False
        )


def test_embedded_vgg16_features_need_no_photos():
    got = sources.vgg16_concept_features("smoke")
    np.testing.assert_array_equal(got.value, data.load_vgg16_features())
    assert got.input_hashes == {"features": data.DATA_FILES["dnn/vgg16_kernel_nmf_rank200.npy"]}


# --------------------------------------------------------------------------- archives


def test_extract_archive_and_zip_slip(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("object_images_A-C/abacus/abacus_01b.jpg", b"x")
    out = fetching.extract_archive(archive, tmp_path / "out")
    assert (out / "object_images_A-C" / "abacus" / "abacus_01b.jpg").read_bytes() == b"x"
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../escaped.txt", b"x")
    with pytest.raises(ValueError, match="would leave"):
        fetching.extract_archive(evil, tmp_path / "out2")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out2").exists()


@pytest.mark.skipif(shutil.which("zip") is None, reason="needs the zip command")
def test_encrypted_archive_needs_the_password(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f.txt").write_text("secret")
    command = ["zip", "-q", "-P", "pw", str(tmp_path / "e.zip"), "f.txt"]
    subprocess.run(command, cwd=tmp_path / "src", check=True)
    with pytest.raises(ValueError, match="encrypted.*DNNALIGN_THINGS_PASSWORD"):
        fetching.extract_archive(tmp_path / "e.zip", tmp_path / "o")
    with pytest.raises(ValueError, match="could not extract"):
        fetching.extract_archive(tmp_path / "e.zip", tmp_path / "o", password="wrong")
    out = fetching.extract_archive(tmp_path / "e.zip", tmp_path / "o", password="pw")
    assert (out / "f.txt").read_text() == "secret"


def test_env_folder_is_used_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv(fetching.ENV_TRIPLETS, str(tmp_path))
    assert fetching.things_triplets_dir() == tmp_path
    monkeypatch.setenv(fetching.ENV_IMAGES, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="not a folder"):
        fetching.things_images_dir()


def test_without_env_the_archive_is_fetched_once_and_extracted(tmp_path, monkeypatch):
    archive = tmp_path / "triplets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("release/trainset.txt", "0 1 2\n")
        zf.writestr("release/validationset.txt", "3 4 5\n")
    calls = []

    def fake_fetch(name):
        calls.append(name)
        return archive

    monkeypatch.delenv(fetching.ENV_TRIPLETS, raising=False)
    monkeypatch.setenv("DNNALIGN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(fetching, "fetch", fake_fetch)
    folder = fetching.things_triplets_dir()
    assert calls == ["triplets_full"]
    got = data.read_things_triplets(folder)
    np.testing.assert_array_equal(got["train"], [[0, 1, 2]])
    assert fetching.things_triplets_dir() == folder and calls == ["triplets_full"]

    def failing_fetch(name):
        raise OSError("no route to host")

    monkeypatch.setenv("DNNALIGN_CACHE_DIR", str(tmp_path / "other_cache"))
    monkeypatch.setattr(fetching, "fetch", failing_fetch)
    with pytest.raises(RuntimeError, match="set DNNALIGN_THINGS_TRIPLETS"):
        fetching.things_triplets_dir()


def test_a_cache_variable_that_names_a_file_is_named_before_any_download(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(fetching, "fetch", lambda name: calls.append(name))
    monkeypatch.delenv(fetching.ENV_TRIPLETS, raising=False)
    a_file = tmp_path / "cache.txt"
    a_file.write_text("mine")
    monkeypatch.setenv("DNNALIGN_CACHE_DIR", str(a_file))
    with pytest.raises(ValueError, match=r"DNNALIGN_CACHE_DIR=.*cache\.txt: .* is not a folder"):
        fetching.things_triplets_dir()
    assert calls == [] and a_file.read_text() == "mine"


# ----------------------------------------------------- CSV triplets (issue 12, case 1)


def _csv(tmp_path, text, name="trainset.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_headerless_csv_keeps_its_first_triplet(tmp_path):
    got = data._read_triplet_file(_csv(tmp_path, "0,1,2\n3,4,5\n"))
    np.testing.assert_array_equal(got, [[0, 1, 2], [3, 4, 5]])


def test_things_header_in_any_column_order(tmp_path):
    got = data._read_triplet_file(_csv(tmp_path, "ooo,img1,img2,subject\n2,0,1,7\n"))
    np.testing.assert_array_equal(got, [[0, 1, 2]])


@pytest.mark.parametrize("header", ["odd,img1,img2", "a,b,c", "i,j,k", "img1,img2,odd"])
def test_unknown_csv_header_is_refused(tmp_path, header):
    with pytest.raises(data.DataValidationError, match=r"trainset.csv: line 1: unknown header"):
        data._read_triplet_file(_csv(tmp_path, f"{header}\n0,1,2\n"))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"line 1: empty file"),
        ("img1,img2,ooo\n", r"line 2: no triplets after the header"),
        ("img1,img2,ooo\nTrue,False,True\n", r"line 2: column 'img1' is 'True'; expected an"),
        ("0,1,2\n0,1,99999999999999999999\n", r"line 2: column 3 is 9+, beyond the 64-bit"),
        ("0,1,2\n\n3,4,5\n", r"line 2: column 1 is empty"),
        ("0,1\n", r"line 1: expected 3 integer columns"),
        (b"0,1,2\n3,\xff,5\n", r"line 2: byte 0xff is not UTF-8"),
        ("img1,img2,ooo\n0,1,1854\n", r"line 2: index out of range.*1-based"),
    ],
)
def test_bad_csv_triplets_name_the_file_and_line(tmp_path, text, match):
    with pytest.raises(data.DataValidationError, match=rf"trainset.csv: {match}"):
        data._read_triplet_file(_csv(tmp_path, text))


# --------------------------------------------------------- archives (issue 12, 6-7)


def test_corrupted_zip_names_the_archive(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"<html>error</html>")
    with pytest.raises(ValueError, match=r"a.zip: not a readable zip archive"):
        fetching.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_zip_whose_end_record_is_zeroed_is_refused_not_extracted_empty(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("release/trainset.txt", "0 1 2\n" * 50)
    raw = bytearray(archive.read_bytes())
    end = raw.rfind(b"PK\x05\x06")
    raw[end + 4 : end + 22] = bytes(18)  # entry counts, directory size and offset: zero
    archive.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"a\.zip: the zip archive lists no members, though"):
        fetching.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(ValueError, match=r"empty\.zip: .* no members; expected an archive"):
        fetching.extract_archive(empty, tmp_path / "out")


def test_crc_error_leaves_no_partial_folder(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("first.txt", b"fine")
        zf.writestr("second.txt", b"PAYLOAD-PAYLOAD")
    raw = archive.read_bytes()
    archive.write_bytes(raw.replace(b"PAYLOAD-PAYLOAD", b"PAYLOAD-CORRUPT"))
    with pytest.raises(ValueError, match=r"a.zip: could not extract member 'second.txt'"):
        fetching.extract_archive(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]


@pytest.mark.skipif(shutil.which("zip") is None, reason="needs the zip command")
def test_wrong_password_passing_the_check_byte_is_named(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f.txt").write_text("secret " * 1000)
    command = ["zip", "-q", "-P", "pw", str(tmp_path / "e.zip"), "f.txt"]
    subprocess.run(command, cwd=tmp_path / "src", check=True)
    with zipfile.ZipFile(tmp_path / "e.zip") as zf:  # a wrong password ZipCrypto lets in
        for i in range(5000):
            try:
                zf.open("f.txt", pwd=f"wrong{i}".encode()).close()
                break
            except RuntimeError:
                continue
    with pytest.raises(ValueError, match=r"e.zip: could not extract member 'f.txt' \(wrong pass"):
        fetching.extract_archive(tmp_path / "e.zip", tmp_path / "o", password=f"wrong{i}")
    assert not (tmp_path / "o").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.")]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("0,1,2,\n3,4,5,\n", r"line 1: expected 3 integer columns .* found 4 columns"),
        ("0,1,2.0\n", r"line 1: column 3 is '2.0'; expected an integer"),
        ("img1;img2;ooo\n0;1;2\n", r"line 1: unknown header \['img1;img2;ooo'\]"),
    ],
)
def test_more_bad_csv_files_get_precise_messages(tmp_path, text, match):
    with pytest.raises(data.DataValidationError, match=rf"trainset.csv: {match}"):
        data._read_triplet_file(_csv(tmp_path, text))


def test_csv_and_txt_with_a_byte_order_mark_are_read(tmp_path):
    got = data._read_triplet_file(_csv(tmp_path, "\ufeffimg1,img2,ooo\n0,1,2\n"))
    np.testing.assert_array_equal(got, [[0, 1, 2]])
    (tmp_path / "t.txt").write_bytes("\ufeff0 1 2\r\n3 4 5\r\n".encode())
    np.testing.assert_array_equal(
        data.load_triplets(tmp_path / "t.txt", "txt"), [[0, 1, 2], [3, 4, 5]]
    )


def test_interrupted_extraction_in_the_cache_is_redone(tmp_path, monkeypatch):
    archive = tmp_path / "triplets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("release/trainset.txt", "0 1 2\n")
        zf.writestr("release/validationset.txt", "3 4 5\n")
    monkeypatch.delenv(fetching.ENV_TRIPLETS, raising=False)
    monkeypatch.setenv("DNNALIGN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(fetching, "fetch", lambda name: archive)
    partial = tmp_path / "cache" / "osf" / "triplets_full_extracted"
    (partial / "release").mkdir(parents=True)  # an old, killed extraction: no marker
    (partial / "release" / "trainset.txt").write_text("0 1")
    folder = fetching.things_triplets_dir()
    assert folder == partial and (folder / ".extracted").exists()
    np.testing.assert_array_equal(data.read_things_triplets(folder)["train"], [[0, 1, 2]])
