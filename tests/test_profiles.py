"""A chapter takes its run profile's sizes itself (`profiles.apply_profile`), so
`papermill CHAPTER -p profile smoke` alone runs the smoke sizes, as the book runner does;
a parameter the caller sets explicitly wins."""

from __future__ import annotations

import jupytext
import pytest
from conftest import REPO_ROOT

from dnnalign_utils import book, profiles

# Chapters that do not call apply_profile yet (being edited elsewhere): add the call, then
# drop the stem here (the strict xfail turns into a failure once a chapter has it).
NOT_YET_ADOPTED: set[str] = set()


def test_apply_profile_sets_the_profiles_sizes_where_the_caller_left_defaults():
    stem = "01_triplet_task"
    namespace = {"profile": "smoke", "n_bootstrap": 1000, "n_network_triplets": 5_000, "seed": 0}
    applied = profiles.apply_profile(namespace, stem)
    assert namespace["n_bootstrap"] == profiles.PROFILES["smoke"][stem]["n_bootstrap"] == 50
    assert namespace["n_network_triplets"] == 5_000  # chosen by the caller: kept
    assert applied == {"n_bootstrap": 50} and namespace["seed"] == 0


def test_apply_profile_leaves_the_default_profile_and_the_table_alone():
    namespace = {
        "profile": "default",
        "n_bootstrap": 1000,
        "image_styles": [],
        "n_image_concepts": 0,
    }
    assert profiles.apply_profile(namespace, "00_data") == {}
    smoke = {"profile": "smoke", "n_bootstrap": 1000, "image_styles": [], "n_image_concepts": 0}
    profiles.apply_profile(smoke, "00_data")
    smoke["image_styles"].append("changed")  # the chapter's list, not the table's
    assert profiles.PROFILES["smoke"]["00_data"]["image_styles"] == ["noto"]


def test_apply_profile_refuses_an_unknown_profile():
    with pytest.raises(ValueError, match="unknown run profile 'fast'"):
        profiles.apply_profile({"profile": "fast"}, "00_data")
    with pytest.raises(ValueError, match="must set profile"):
        profiles.apply_profile({}, "00_data")


def test_every_override_has_a_default_to_compare_with(tmp_path):
    (tmp_path / "01_x.py").write_text(
        '# %% tags=["parameters"]\nprofile = "default"\nn = 10\nm = 5\n'
    )
    smoke = {"smoke": {"01_x": {"n": 1, "m": 1}}}
    assert profiles.validate_profiles(tmp_path, smoke, {"01_x": {"n": 10, "m": 5}}) == []
    problems = profiles.validate_profiles(tmp_path, smoke, {"01_x": {"m": 4}})
    assert problems == [
        "PROFILES['smoke']['01_x']['n']: no value in PARAMETER_DEFAULTS['01_x'] "
        "(apply_profile needs it)",
        f"PARAMETER_DEFAULTS['01_x']['m'] = 4 differs from the parameters cell value 5 in "
        f"{tmp_path / '01_x.py'}",
    ]


def _chapter_cells(stem: str) -> tuple[str, str]:
    """(the parameters cell, the next code cell) of a chapter's jupytext source."""
    nb = jupytext.read(REPO_ROOT / "notebooks" / f"{stem}.py")
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    (at,) = [i for i, cell in enumerate(code) if "parameters" in cell.metadata.get("tags", [])]
    return code[at].source, code[at + 1].source


@pytest.mark.parametrize(
    "stem",
    [
        pytest.param(stem, marks=pytest.mark.xfail(strict=True, reason="not adopted yet"))
        if stem in NOT_YET_ADOPTED
        else stem
        for stem in book.toc_notebooks(REPO_ROOT)
    ],
)
def test_a_chapter_run_with_only_the_profile_gets_its_sizes(stem):
    parameters, first_cell = _chapter_cells(stem)
    call = f'start_chapter(globals(), "{stem}")'
    assert call in first_cell, f"{stem}: the cell after the parameters must call {call}"

    def run(**injected) -> dict[str, object]:
        # as papermill runs it: the parameters cell, the injected parameters, then the call
        namespace: dict[str, object] = {}
        exec(parameters, namespace)
        namespace.update(injected)
        exec(f"from dnnalign_utils.book import start_chapter\n{call}", namespace)
        return namespace

    smoke = profiles.PROFILES["smoke"].get(stem, {})
    assert {name: run(profile="smoke")[name] for name in smoke} == smoke
    for name, value in profiles.PARAMETER_DEFAULTS.get(stem, {}).items():
        assert run(profile="default")[name] == value
    if smoke:  # a parameter set explicitly wins over the profile
        name = next(iter(smoke))
        assert run(profile="smoke", **{name: "chosen"})[name] == "chosen"
