"""Chapters 3 and 6 take the studied network from their parameters (issue 14's contract)
and record their key numbers through the package functions chapter 7 also calls."""

from __future__ import annotations

import re

import pytest

from dnnalign_utils import profiles
from dnnalign_utils.paths import REPO_ROOT

NETWORK_PARAMETERS = {
    "profile": "default",
    "network": "vgg16",
    "features_path": "",
    "images_dir": "",
    "layer": "",
}
KEY_NUMBER_FUNCTIONS = {
    "03_r2_regression": "regression.network_r2_numbers(",
    "06_human_vs_dnn": "compare.network_human_numbers(",
}


@pytest.mark.parametrize("stem", sorted(KEY_NUMBER_FUNCTIONS))
def test_network_parameters_come_first_and_name_the_studied_network(stem):
    notebook = REPO_ROOT / "notebooks" / f"{stem}.py"
    values = profiles.parameters_cell_values(notebook)
    assert list(values)[: len(NETWORK_PARAMETERS)] == list(NETWORK_PARAMETERS)
    assert {k: values[k] for k in NETWORK_PARAMETERS} == NETWORK_PARAMETERS
    source = notebook.read_text(encoding="utf-8")
    assert re.search(  # the network is resolved once, from the chapter's parameters
        r"studied = networks\.resolve\(\s*network, features_path=features_path, "
        r"images_dir=images_dir, layer=layer\s*\)",
        source,
    )
    assert "net = networks.load(profile, studied)" in source
    assert KEY_NUMBER_FUNCTIONS[stem] in source
    assert f'keynumbers.record(profile, studied, "{stem}", net.label' in source
    # no per-network artefact of the default network by its old name
    assert not re.search(r"paths\.vgg16_\w+\(", source)
