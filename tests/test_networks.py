"""networks: the registry and a reader's own network inputs, with their errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dnnalign_utils import data, networks, paths
from dnnalign_utils.conventions import N_OBJECTS, DataValidationError

IDS = data.load_unique_ids()


CONCEPT_NETWORKS = sorted(n for n, e in networks.NETWORKS.items() if e.kind == "concepts")


@pytest.mark.parametrize("name", CONCEPT_NETWORKS)
def test_registered_concept_networks_give_every_concept(name):
    features = networks.load("smoke", networks.resolve(name))
    assert features.complete and features.full().shape[0] == N_OBJECTS
    assert np.isfinite(features.values).all()
    assert features.key == name and features.input_hashes


def test_npy_features_read_in_things_order(tmp_path):
    values = np.random.default_rng(0).normal(size=(N_OBJECTS, 5))
    np.save(tmp_path / "mine.npy", values)
    features = networks.load("smoke", networks.resolve(features_path=tmp_path / "mine.npy"))
    np.testing.assert_array_equal(features.full(), values)
    assert features.label == "mine"


def test_npy_with_wrong_rows_or_nan_is_refused(tmp_path):
    np.save(tmp_path / "short.npy", np.ones((100, 4)))
    with pytest.raises(DataValidationError, match=r"short\.npy.*1854"):
        networks.load("smoke", networks.resolve(features_path=tmp_path / "short.npy"))
    values = np.random.default_rng(0).normal(size=(N_OBJECTS, 4))
    values[17, 2] = np.nan
    np.save(tmp_path / "nan.npy", values)
    with pytest.raises(DataValidationError, match=r"nan\.npy: row 18 .*column 2: non-finite"):
        networks.load("smoke", networks.resolve(features_path=tmp_path / "nan.npy"))
    np.save(tmp_path / "same.npy", np.ones((N_OBJECTS, 3)))
    with pytest.raises(DataValidationError, match="every row is the same"):
        networks.load("smoke", networks.resolve(features_path=tmp_path / "same.npy"))


def test_npy_features_whose_products_overflow_are_rescaled_and_said_so(tmp_path):
    """Finite features x 1e160: every dot product is inf; chapter 1's agreement fell from
    49.0 % to 34.7 % with only a numpy warning. They are scaled by a power of two."""
    from dnnalign_utils import triplets

    values = np.random.default_rng(0).normal(size=(N_OBJECTS, 5))
    np.save(tmp_path / "huge.npy", values * 1e160)
    with pytest.warns(UserWarning, match=r"huge\.npy: largest absolute value .* overflow"):
        features = networks.load("smoke", networks.resolve(features_path=tmp_path / "huge.npy"))
    assert np.isfinite(features.values @ features.values.T).all()
    human = data.load_triplets_noise_ceiling().triplets
    np.testing.assert_array_equal(
        triplets.odd_one_out_choices(human, features.values, progress=False),
        triplets.odd_one_out_choices(human, values, progress=False),
    )


def test_unknown_network_names_the_choices(tmp_path):
    with pytest.raises(ValueError, match="resnet_9000.*vgg16, clip_vit_b32"):
        networks.load("smoke", networks.resolve("resnet_9000"))
    with pytest.raises(FileNotFoundError, match="features_path='.*nowhere.npy': does not exist"):
        networks.load("smoke", networks.resolve(features_path=tmp_path / "nowhere.npy"))


def _thingsvision_folder(folder, names, values):
    folder.mkdir(parents=True)
    np.save(folder / "features.npy", values)
    (folder / "file_names.txt").write_text("\n".join(names) + "\n")


def test_thingsvision_folder_averages_images_per_concept(tmp_path):
    names = [f"{IDS[i]}/{IDS[i]}_{k:02d}s.jpg" for i in (5, 0, 5, 2) for k in (1,)]
    names[2] = f"{IDS[5]}/{IDS[5]}_02s.jpg"
    values = np.arange(12, dtype=float).reshape(4, 3)
    _thingsvision_folder(tmp_path / "out" / "classifier.3", names, values)
    features = networks.load(
        "smoke", networks.resolve(features_path=tmp_path / "out", layer="classifier.3")
    )
    np.testing.assert_array_equal(features.things_index, [0, 2, 5])
    # slow reference: a pandas group-by over the concept folder
    frame = pd.DataFrame(values).assign(concept=[n.split("/")[0] for n in names])
    expected = frame.groupby("concept").mean().loc[[IDS[0], IDS[2], IDS[5]]].to_numpy()
    np.testing.assert_allclose(features.values, expected)
    assert not features.complete
    with pytest.raises(DataValidationError, match="3 of 1854"):
        features.full()


def test_thingsvision_folder_errors_name_file_and_line(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"layers found: \['fc7'\]"):
        _thingsvision_folder(tmp_path / "a" / "fc7", [f"{IDS[0]}/x.jpg"], np.ones((1, 2)))
        networks.read_thingsvision_folder(tmp_path / "a")
    _thingsvision_folder(tmp_path / "b", [f"{IDS[0]}/x.jpg", "unicorn/y.jpg"], np.ones((2, 2)))
    with pytest.raises(DataValidationError, match=r"file_names\.txt: line 2: 'unicorn/y.jpg'"):
        networks.read_thingsvision_folder(tmp_path / "b")
    _thingsvision_folder(tmp_path / "c", [f"{IDS[0]}/x.jpg"], np.ones((2, 2)))
    with pytest.raises(DataValidationError, match="1 lines, but .* 2 rows"):
        networks.read_thingsvision_folder(tmp_path / "c")
    _thingsvision_folder(tmp_path / "d", [f"{IDS[0]}/x.jpg"] * 2, np.eye(2))
    with pytest.raises(DataValidationError, match="line 2: .* occurs twice"):
        networks.read_thingsvision_folder(tmp_path / "d")
    values = np.ones((2, 2))
    values[1, 0] = np.inf
    _thingsvision_folder(tmp_path / "e", [f"{IDS[0]}/x.jpg", f"{IDS[1]}/y.jpg"], values)
    with pytest.raises(DataValidationError, match=r"features\.npy: row 2 .*non-finite"):
        networks.read_thingsvision_folder(tmp_path / "e")


def _mapping(tmp_path, lines):
    images = tmp_path / "pictures"
    images.mkdir(exist_ok=True)
    for name in ("a.jpg", "b.png"):
        (images / name).write_bytes(b"x")
    csv = tmp_path / "mapping.csv"
    csv.write_text("\n".join(lines) + "\n")
    return images, csv


def test_image_mapping_reads_files_and_concepts(tmp_path):
    images, csv = _mapping(tmp_path, ["file,uniqueID", f"a.jpg,{IDS[3]}", f"b.png,{IDS[1]}"])
    table = networks.read_image_mapping(images, csv)
    assert table["things_index"].tolist() == [3, 1]
    assert table["path"].tolist() == [images / "a.jpg", images / "b.png"]


def test_image_mapping_saved_by_excel_with_a_byte_order_mark_is_read(tmp_path):
    images, csv = _mapping(tmp_path, ["\ufefffile,uniqueID", f"a.jpg,{IDS[3]}"])
    assert networks.read_image_mapping(images, csv)["things_index"].tolist() == [3]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["path,concept", "a.jpg,x"], "line 1: expected the header file,uniqueID"),
        (["file,uniqueID", "a.jpg,unicorn"], "line 2: 'unicorn' is not a THINGS uniqueID"),
        (["file,uniqueID", f"a.jpg,{IDS[0]}", f"c.jpg,{IDS[0]}"], r"line 3: .*c\.jpg does not"),
        (
            ["file,uniqueID", f"a.jpg,{IDS[0]}", f"a.jpg,{IDS[1]}"],
            "line 3: 'a.jpg' is listed twice",
        ),
        (["file,uniqueID", f"a.jpg,{IDS[0]},extra"], "line 2: expected 2 fields"),
        (["file,uniqueID"], "no pictures listed"),
    ],
)
def test_image_mapping_errors_name_the_line(tmp_path, lines, message):
    images, csv = _mapping(tmp_path, lines)
    with pytest.raises(DataValidationError, match=message):
        networks.read_image_mapping(images, csv)


# --- resolving chapter parameters, keys and per-network features --------------------


def test_keys_are_unique_per_input_and_stable(tmp_path):
    values = np.random.default_rng(0).random((N_OBJECTS, 4))
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        np.save(tmp_path / name / "mine.npy", values)
    first = networks.resolve(features_path=tmp_path / "a" / "mine.npy")
    other = networks.resolve(features_path=tmp_path / "b" / "mine.npy")
    assert first.key != other.key and first.key.startswith("mine-")
    assert networks.resolve(features_path=tmp_path / "a" / "mine.npy") == first
    assert networks.resolve("clip_vit_b32").key == "clip_vit_b32"
    assert networks.resolve().key == paths.DEFAULT_NETWORK
    for spec in (first, other, networks.resolve("clip_vit_b32")):
        paths.check_network_key(spec.key)


def test_parameter_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="features_path and images_dir"):
        networks.resolve(features_path=tmp_path, images_dir=tmp_path)
    with pytest.raises(ValueError, match="'clip_vit_b32' with images_dir: expected a picture"):
        networks.resolve("clip_vit_b32", images_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="images_dir=.*not a folder"):
        networks.resolve("efficientnet_lite0", images_dir=tmp_path / "missing")
    with pytest.raises(ValueError, match="torchvision:<model name> with layer"):
        networks.resolve("torchvision:resnet18")
    with pytest.raises(ValueError, match="only the paper profile"):
        networks.load("smoke", networks.resolve("torchvision:resnet18", layer="avgpool"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="features_path=.*expected a .npy file"):
        networks.resolve(features_path=tmp_path / "notes.txt")


def _picture_folder(folder, n_concepts=6, styles=("noto", "twemoji")):
    """A reader's picture folder: a few embedded emoji pictures and concepts.csv."""
    import shutil

    from dnnalign_utils import images

    manifest = images.load_manifest()
    chosen = manifest[manifest["style"].isin(styles)]
    concepts = chosen["things_index"].drop_duplicates().to_numpy()[:n_concepts]
    chosen = chosen[chosen["things_index"].isin(concepts)]
    folder.mkdir()
    rows = ["file,uniqueID"]
    for _, row in chosen.iterrows():
        name = f"{row['uniqueID']}_{row['style']}.png"
        shutil.copy(row["path"], folder / name)
        rows.append(f"{name},{row['uniqueID']}")
    (folder / networks.IMAGE_MAPPING_FILE).write_text("\n".join(rows) + "\n")
    return chosen


def test_picture_folder_features_are_concept_means_of_the_networks_features(tmp_path, monkeypatch):
    from dnnalign_utils import features

    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "art"))
    chosen = _picture_folder(tmp_path / "mine")
    net = networks.load(
        "smoke",
        networks.resolve("efficientnet_lite0_untrained", images_dir=tmp_path / "mine"),
        progress=False,
    )
    np.testing.assert_array_equal(net.things_index, np.sort(chosen["things_index"].unique()))
    assert not net.complete and net.key.startswith("efficientnet_lite0_untrained-mine-")
    # slow reference: the photo entry point on each picture, averaged per concept by hand
    reference = features.image_features(
        [tmp_path / "mine" / f"{row.uniqueID}_{row.style}.png" for row in chosen.itertuples()],
        model=features.efficientnet_lite0_untrained(),
        progress=False,
    ).features["_avg_pooling"]
    frame = pd.DataFrame(reference).assign(concept=chosen["things_index"].to_numpy())
    expected = frame.groupby("concept").mean().to_numpy()
    np.testing.assert_allclose(net.values, expected, rtol=1e-4, atol=1e-5)
    # cached per network and input: in the network's own folder
    cache = paths.network_features("smoke", net.network)
    assert cache.is_relative_to(paths.artefacts_dir("smoke") / "networks" / net.key)
    assert (cache / "_avg_pooling" / "features.npy").is_file()


def test_picture_folder_errors_name_the_csv_line_and_layer(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "art"))
    _picture_folder(tmp_path / "mine", n_concepts=2, styles=("noto",))
    csv_path = tmp_path / "mine" / networks.IMAGE_MAPPING_FILE
    with pytest.raises(ValueError, match="layer='_nope': not a module of network"):
        networks.load(
            "smoke",
            networks.resolve(
                "efficientnet_lite0_untrained", images_dir=tmp_path / "mine", layer="_nope"
            ),
            progress=False,
        )
    lines = csv_path.read_text().splitlines()
    csv_path.write_text("\n".join([*lines, "ghost.png,unicorn"]) + "\n")
    with pytest.raises(
        DataValidationError, match=r"concepts\.csv: line 4: 'unicorn' is not a THINGS"
    ):
        networks.load(
            "smoke", networks.resolve("efficientnet_lite0_untrained", images_dir=tmp_path / "mine")
        )


def test_key_numbers_round_trip_and_refuse_foreign_names(tmp_path, monkeypatch):
    from dnnalign_utils import keynumbers

    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path))
    mine = networks.Network("mine", "mine-1", "Mine", "features")
    keynumbers.record(
        "smoke",
        mine,
        "02_embedding_fit",
        "Mine",
        n_dimensions=12,
        rsm_variance_explained=float("nan"),
    )
    row = keynumbers.collect("smoke", mine)
    assert row["label"] == "Mine" and row["n_dimensions"] == 12
    assert np.isnan(row["rsm_variance_explained"]) and np.isnan(row["r2_median"])
    assert (
        keynumbers.collect("smoke", networks.BOOK_NETWORK)["label"] == "vgg16"
    )  # nothing recorded
    with pytest.raises(ValueError, match=r"\['r2_min'\] are not its key numbers"):
        keynumbers.record("smoke", mine, "02_embedding_fit", "Mine", r2_min=1.0)
    with pytest.raises(ValueError, match="n_dimensions='many': expected a number"):
        keynumbers.record("smoke", mine, "02_embedding_fit", "Mine", n_dimensions="many")
    table = keynumbers.table("smoke", [mine, networks.BOOK_NETWORK])
    assert list(table.index) == ["mine-1", "vgg16"]
    assert [c for c in table.columns if c != "label"] == [k.name for k in keynumbers.KEY_NUMBERS]


def test_torchvision_models_use_their_weights_own_recipe():
    """`paper` profile: any torchvision ImageNet model; nothing downloads until it is built."""
    from torchvision.models import ResNet50_Weights

    from dnnalign_utils import features

    load, recipe = features.torchvision_network("resnet50")
    reference = ResNet50_Weights.DEFAULT.transforms()
    assert (recipe.resize_to, recipe.crop) == (reference.resize_size[0], reference.crop_size[0])
    assert list(recipe.mean) == reference.mean and list(recipe.std) == reference.std
    assert recipe.interpolation == reference.interpolation.value and callable(load)
    with pytest.raises(ValueError, match="torchvision:no_such_net'.*not a torchvision"):
        features.torchvision_network("no_such_net")
    spec = networks.resolve("torchvision:resnet50", layer="avgpool")
    assert spec.key == "torchvision_resnet50-avgpool" and spec.kind == "pictures"


def test_input_hash_is_the_readers_files_only(tmp_path):
    from dnnalign_utils.provenance import file_sha256

    np.save(tmp_path / "mine.npy", np.random.default_rng(0).random((N_OBJECTS, 3)))
    assert networks.input_sha256(networks.resolve("clip_vit_b32")) == ""
    spec = networks.resolve(features_path=tmp_path / "mine.npy")
    assert networks.input_sha256(spec) == file_sha256(tmp_path / "mine.npy")
    assert networks.load(
        "smoke", networks.resolve(features_path=tmp_path / "mine.npy")
    ).input_hashes == {"features": networks.input_sha256(spec)}


def test_a_picture_network_carries_its_own_input_recipe(tmp_path):
    from dnnalign_utils import features

    lite0 = networks.resolve("efficientnet_lite0", image_styles=["noto"])
    assert lite0.picture_recipe == features.EFFICIENTNET_LITE0_RECIPE
    assert networks.resolve("efficientnet_lite1").picture_recipe == (
        features.EFFICIENTNET_LITE1_RECIPE
    )
    resnet = networks.resolve("torchvision:resnet50", layer="avgpool")
    assert resnet.picture_recipe == features.torchvision_network("resnet50")[1]
    assert networks.BOOK_NETWORK.picture_recipe is None  # concept features have no pixels


def test_each_layer_of_a_registered_picture_network_has_its_own_artefacts():
    """Two layers of one registered picture network, run with the plain report, must not
    share an artefact folder (fits, key numbers); the layer it is read at by default,
    spelled out, is the same network as no layer."""
    from dnnalign_utils import features, report

    default_layer = features.PICTURE_MODELS["efficientnet_lite1"].default_modules[0]
    plain = networks.resolve("efficientnet_lite1")
    spelled = networks.resolve("efficientnet_lite1", layer=default_layer)
    block10 = networks.resolve("efficientnet_lite1", layer="_blocks.10")
    block5 = networks.resolve("efficientnet_lite1", layer="_blocks.5")
    assert spelled == plain and plain.key == "efficientnet_lite1" and plain.layer == ""
    assert (block10.key, block5.key) == (
        "efficientnet_lite1-blocks_10",
        "efficientnet_lite1-blocks_5",
    )
    assert block10.label == "EfficientNet-Lite1, layer _blocks.10"
    folders = {n.folder("smoke") for n in (plain, block10, block5)}
    assert len(folders) == 3
    own = [set(report.own_artefact_paths(n, "smoke")) for n in (plain, block10, block5)]
    assert not (own[0] & own[1]) and not (own[1] & own[2]) and not (own[0] & own[2])
    # the value a chapter resolves from the parameters it is given is the same network
    assert networks.resolve(**block10.chapter_parameters()) == block10
    chosen = networks.resolve("efficientnet_lite0", layer="_blocks.10", image_styles=["noto"])
    assert chosen.key == "efficientnet_lite0-blocks_10-noto"
    assert not chosen.sees_chapter0_pictures


def test_layer_depth_is_the_modules_position_in_the_forward_order():
    depth = {
        layer: networks.layer_depth(networks.resolve("efficientnet_lite1", layer=layer))
        for layer in ("_conv_stem", "_blocks.2", "_blocks.10", "")
    }
    assert depth["_conv_stem"] == ("_conv_stem", 0.0)
    assert depth[""][0] == "_avg_pooling"
    assert 0 < depth["_blocks.2"][1] < depth["_blocks.10"][1] < depth[""][1] <= 1
    # a torchvision model: its architecture alone (nothing is downloaded)
    resnet = [
        networks.layer_depth(networks.resolve("torchvision:resnet18", layer=f"layer{i}"))[1]
        for i in (1, 2, 3, 4)
    ]
    assert resnet == sorted(resnet) and len(set(resnet)) == 4
    assert networks.layer_depth(networks.resolve("vgg16")) is None
    with pytest.raises(ValueError, match="'_blocks.99'"):
        networks.layer_depth(networks.resolve("efficientnet_lite1", layer="_blocks.99"))
