"""Run profiles of the book: one place that says how big each notebook's run is.

A notebook's `parameters` cell holds the values of the `default` profile (the published
book, embedded offline data). The other profiles override some of them per notebook:

- `smoke`: every notebook in seconds, for tests and CI;
- `default`: embedded offline data, the published book (about 15 min on 2 cores);
- `paper`: the paper's data (THINGS-data triplets, THINGS photos; `dnnalign_utils.sources`)
  and the paper's embedding settings (GPU recommended for the photo features; the
  embedding fits run on the CPU for hours).

`PROFILES[profile][notebook_stem]` maps parameter names to override values. Every
override key must be a variable of that notebook's `parameters` cell, and
`PARAMETER_DEFAULTS` lists the cell's value of every name a profile overrides (so a
chapter can tell a value left at its default from one a caller chose); `tests/test_book.py`
checks both, so a renamed parameter cannot be silently ignored.

The book runner injects a profile's values as papermill parameters. A chapter run any
other way (`papermill ... -p profile smoke`, Jupyter, Colab) gets them from
`apply_profile(globals(), stem)`, called right after the imports of the cell that follows
its `parameters` cell.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from pathlib import Path

PROFILE_NAMES: tuple[str, ...] = ("smoke", "default", "paper")

PROFILES: dict[str, dict[str, dict[str, object]]] = {
    "smoke": {
        "00_data": {"n_bootstrap": 50, "image_styles": ["noto"], "n_image_concepts": 150},
        "01_triplet_task": {"n_bootstrap": 50, "n_network_triplets": 20_000},
        "02_embedding_fit": {
            "n_seeds": 2,
            "human_max_epochs": 3,
            "human_vice_max_epochs": 3,
            "network_max_epochs": 2,
            "network_min_epochs": 1,
            "network_window": 1,
            "triplet_limit": 20_000,
            "rsm_objects": 100,
            "mc_samples": 2,
            "n_effnet_triplets": 5_000,
            "effnet_max_epochs": 2,
            "curve_fractions": [0.5, 1.0],
        },
        "03_r2_regression": {"n_alphas": 9},
        "04_gradcam": {
            "n_alphas": 9,
            "n_dims_shown": 2,
            "pictures_per_dim": 2,
            "n_check_pictures": 4,
            "n_share_dims": 5,
            "n_actmax_dims": 2,
            "actmax_steps": 3,
            "actmax_size": 64,
            "n_faith_dims": 2,
            "faith_pictures_per_dim": 3,
            "perturbation_steps": 3,
            "n_random_orders": 1,
            "n_randomisation_pictures": 2,
            "n_manipulated_pictures": 1,
            "n_colour_pictures": 4,
            "n_dims_heatmap": 5,
        },
        "05_visual_semantic_rating": {
            "n_alphas": 9,
            "n_planted_per_class": 6,
            "n_bootstrap": 50,
            "n_permutations": 50,
            "n_network_triplets": 20_000,
            "network_max_epochs": 2,
            "network_min_epochs": 1,
            "network_window": 1,
            "n_layer_triplets": 5_000,
            "layer_max_epochs": 2,
            "n_collections_shown": 2,
        },
        "06_human_vs_dnn": {
            "n_permutations": 10,
            "n_random_triplets": 20_000,
            "n_diverging": 100,
            "global_rsm_objects": 100,
            "cumulative_rsm_objects": 100,
            "cumulative_dims": [1, 2, 4],
            "n_bootstrap": 10,
        },
        "07_networks": {
            # Lite0 reads chapter 0's features; the untrained one runs on 30 pictures
            "compared": [
                "vgg16",
                "clip_vit_b32",
                "efficientnet_lite0",
                "efficientnet_lite0_untrained",
            ],  # fmt: skip
            "n_image_concepts": 30,
            "n_concept_triplets": 20_000,  # chapter 5's smoke CLIP fit, reused
            "concept_max_epochs": 2,
            "min_epochs": 1,
            "stability_window": 1,
            "n_picture_triplets": 3_000,  # of C(30, 3) = 4,060
            "picture_max_epochs": 2,
            "rsm_objects": 100,
            "n_alphas": 9,
        },
        "08_explorer": {"thumbnail_px": 32, "max_dims_shown": 20},
    },
    "default": {},
    "paper": {
        "01_triplet_task": {"n_network_triplets": 20_000_000},
        "02_embedding_fit": {
            "embedding_scale": "paper",
            "human_max_epochs": 1000,
            "human_vice_max_epochs": 1000,
            "network_beta": 0.24,
            "network_max_epochs": 1000,
            "network_min_epochs": 500,
            "network_window": 500,
        },
        # the paper's 100 optimisation steps, for as many dimensions as its figure shows
        "04_gradcam": {"actmax_steps": 100, "n_actmax_dims": 8},
        # picture networks see the THINGS photos (the emoji styles do not apply)
        "07_networks": {"image_styles": []},
    },
}


# The parameters cells' values of every name a profile sets (a test keeps them equal to
# the cells): what `apply_profile` compares with to tell a value left at its default
# from one a caller chose.
PARAMETER_DEFAULTS: dict[str, dict[str, object]] = {
    "00_data": {"n_bootstrap": 1000, "image_styles": [], "n_image_concepts": 0},
    "01_triplet_task": {"n_bootstrap": 1000, "n_network_triplets": 1_000_000},
    "02_embedding_fit": {
        "n_seeds": 3,
        "human_max_epochs": 150,
        "human_vice_max_epochs": 300,
        "network_max_epochs": 60,
        "network_min_epochs": 30,
        "network_window": 10,
        "triplet_limit": 0,
        "rsm_objects": 0,
        "mc_samples": 20,
        "n_effnet_triplets": 1_000_000,
        "effnet_max_epochs": 30,
        "curve_fractions": [0.125, 0.25, 0.5, 1.0],
        "embedding_scale": "small_data",
        "network_beta": 3.0,
    },
    "03_r2_regression": {"n_alphas": 33},
    "04_gradcam": {
        "n_alphas": 33,
        "n_dims_shown": 6,
        "pictures_per_dim": 4,
        "n_check_pictures": 16,
        "n_share_dims": 0,
        "n_actmax_dims": 4,
        "actmax_steps": 32,
        "actmax_size": 0,
        "n_faith_dims": 4,
        "faith_pictures_per_dim": 6,
        "perturbation_steps": 3,
        "n_random_orders": 2,
        "n_randomisation_pictures": 3,
        "n_manipulated_pictures": 4,
        "n_colour_pictures": 24,
        "n_dims_heatmap": 20,
    },
    "05_visual_semantic_rating": {
        "n_alphas": 17,
        "n_planted_per_class": 12,
        "n_bootstrap": 2000,
        "n_permutations": 10_000,
        "n_network_triplets": 1_000_000,
        "network_max_epochs": 60,
        "network_min_epochs": 30,
        "network_window": 10,
        "n_layer_triplets": 300_000,
        "layer_max_epochs": 50,
        "n_collections_shown": 3,
    },
    "06_human_vs_dnn": {
        "n_permutations": 200,
        "n_random_triplets": 1_000_000,
        "n_diverging": 2000,
        "global_rsm_objects": 0,
        "cumulative_rsm_objects": 600,
        "cumulative_dims": [1, 2, 4, 8, 16, 32, 48, 64],
        "n_bootstrap": 100,
    },
    "07_networks": {
        "compared": [
            "vgg16",
            "clip_vit_b32",
            "efficientnet_lite0",
            "efficientnet_lite1",
            "efficientnet_lite0_untrained",
        ],
        "n_image_concepts": 0,
        "n_concept_triplets": 1_000_000,
        "concept_max_epochs": 60,
        "min_epochs": 30,
        "stability_window": 10,
        "n_picture_triplets": 200_000,
        "picture_max_epochs": 60,
        "rsm_objects": 400,
        "n_alphas": 33,
        "image_styles": ["noto"],
    },
    "08_explorer": {"thumbnail_px": 40, "max_dims_shown": 0},
}


def check_profile(profile: str) -> None:
    """ValueError naming the profiles when `profile` is not one of them."""
    if profile not in PROFILES:
        raise ValueError(
            f"unknown run profile {profile!r}; expected one of {', '.join(PROFILE_NAMES)}"
        )


def notebook_parameters(profile: str, stem: str) -> dict[str, object]:
    """Parameters papermill injects into notebook `stem` (e.g. "00_data") for `profile`.

    Always contains `profile=<name>`; notebooks without overrides get only that.
    """
    check_profile(profile)
    if not stem or "/" in stem or stem.endswith((".py", ".ipynb")):
        raise ValueError(
            f"notebook stem must look like '00_data' (no folder/suffix), got {stem!r}"
        )
    overrides = dict(PROFILES[profile].get(stem, {}))
    if "profile" in overrides:
        raise ValueError(
            f"PROFILES[{profile!r}][{stem!r}] must not set 'profile' (always the profile name)"
        )
    return {"profile": profile, **overrides}


def apply_profile(namespace: dict[str, object], stem: str) -> dict[str, object]:
    """Give chapter `stem` the sizes of its run profile, however it is run.

    `namespace` is the chapter's `globals()` after its `parameters` cell (and any
    injected parameters): for each value `PROFILES[profile][stem]` sets, the chapter's
    variable is replaced where it still holds its `PARAMETER_DEFAULTS` value; a value the
    caller chose (a papermill parameter, an edited cell) is kept. So
    `papermill ... -p profile smoke` alone runs the smoke sizes, and
    `-p profile smoke -p n_bootstrap 200` keeps 200. Returns the values it set.
    """
    profile = namespace.get("profile")
    if not isinstance(profile, str):
        raise ValueError(f"{stem}: the parameters cell must set profile, got {profile!r}")
    check_profile(profile)
    defaults = PARAMETER_DEFAULTS.get(stem, {})
    applied = {}
    for name, value in PROFILES[profile].get(stem, {}).items():
        if name not in namespace:
            raise ValueError(
                f"{stem}: profile {profile!r} sets {name!r}, which it does not define"
            )
        if name in defaults and namespace[name] == defaults[name] and value != defaults[name]:
            namespace[name] = copy.deepcopy(value)  # the table's lists stay untouched
            applied[name] = value
    return applied


def parameters_cell_values(notebook: Path) -> dict[str, object]:
    """Variables assigned in the `parameters` cell of a jupytext/ipynb notebook.

    Values that are Python literals are returned evaluated; other expressions as
    `NonLiteral(source)`. Raises ValueError when the notebook has no or several
    `parameters` cells.
    """
    import jupytext

    nb = jupytext.read(notebook)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(
            f"{notebook}: expected exactly one cell tagged 'parameters', found {len(cells)}"
        )
    values: dict[str, object] = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(value)
                except ValueError:
                    values[target.id] = NonLiteral(ast.unparse(value))
    return values


@dataclass(frozen=True)
class NonLiteral:
    """A parameters-cell value that is an expression, not a Python literal."""

    source: str


def _type_name(value: object) -> str:
    return "None" if value is None else type(value).__name__


def _type_mismatch(value: object, default: object) -> str | None:
    """`= value (type); expected T like the declared default D`, or None when `value` has
    the type of the parameters cell's `default` (an int is a float; a bool is not an int;
    list items are compared with the default's first item; one wording for injected
    parameters and profile overrides)."""
    from dnnalign_utils.conventions import is_integer, is_real

    if isinstance(default, NonLiteral) or default is None:
        matches = True  # no declared type to compare with
    elif isinstance(default, bool):
        matches = isinstance(value, bool)
    elif isinstance(default, int):
        matches = is_integer(value)
    elif isinstance(default, float):
        matches = is_real(value)
    elif isinstance(default, (list, tuple)):
        matches = isinstance(value, (list, tuple)) and (
            not default or all(_type_mismatch(item, default[0]) is None for item in value)
        )
    else:
        matches = isinstance(value, type(default))
    if matches:
        return None
    return (
        f"= {value!r} ({_type_name(value)}); expected {_type_name(default)} like the "
        f"declared default {default!r}"
    )


def parameter_type_problems(notebook: Path, parameters: dict[str, object]) -> list[str]:
    """Problems of `parameters` (to be injected into `notebook`) against the notebook's
    `parameters` cell: a name the cell does not declare, or a value whose type differs
    from the declared default's (int, float, str, bool, list; an int is accepted where a
    float is declared; defaults that are None or expressions accept anything)."""
    declared = parameters_cell_values(notebook)
    problems = []
    for name, value in parameters.items():
        if name not in declared:
            problems.append(
                f"{notebook}: parameter {name!r} is not declared in the parameters cell "
                f"(declared: {', '.join(declared)})"
            )
        elif mismatch := _type_mismatch(value, declared[name]):
            problems.append(f"{notebook}: parameter {name!r} {mismatch}")
    return problems


def validate_profiles(
    notebook_dir: Path,
    profiles: dict[str, dict[str, dict[str, object]]] | None = None,
    defaults: dict[str, dict[str, object]] | None = None,
) -> list[str]:
    """Problems with `profiles` (default: PROFILES) against the notebooks' parameters cells.

    Checks that each overridden notebook exists as `<notebook_dir>/<stem>.py`, that every
    override key is a variable of its `parameters` cell, that `profile` is declared there,
    and that the `default` profile's overrides equal the cell's values; with `defaults`
    (always for the book's own `PROFILES`: `PARAMETER_DEFAULTS`), that they list every
    overridden name with the cell's value. Returns one message per problem (empty list:
    all fine).
    """
    if profiles is None:
        profiles = PROFILES
        defaults = PARAMETER_DEFAULTS if defaults is None else defaults
    problems: list[str] = []
    for profile, per_notebook in profiles.items():
        if profile not in PROFILE_NAMES:
            problems.append(f"unknown profile {profile!r} (expected one of {PROFILE_NAMES})")
        for stem, overrides in per_notebook.items():
            source = Path(notebook_dir) / f"{stem}.py"
            if not source.is_file():
                problems.append(f"PROFILES[{profile!r}][{stem!r}]: {source} does not exist")
                continue
            cell = parameters_cell_values(source)
            if "profile" not in cell:
                problems.append(f"{source}: parameters cell does not define 'profile'")
            if defaults is not None:
                unlisted = set(overrides) - set(defaults.get(stem, {}))
                problems.extend(
                    f"PROFILES[{profile!r}][{stem!r}][{key!r}]: no value in "
                    f"PARAMETER_DEFAULTS[{stem!r}] (apply_profile needs it)"
                    for key in sorted(unlisted)
                )
            for key, value in overrides.items():
                if key not in cell:
                    problems.append(
                        f"PROFILES[{profile!r}][{stem!r}][{key!r}]: no variable {key!r} "
                        f"in the parameters cell of {source}"
                    )
                elif mismatch := _type_mismatch(value, cell[key]):
                    problems.append(
                        f"PROFILES[{profile!r}][{stem!r}][{key!r}] {mismatch} in {source}"
                    )
                elif profile == "default" and cell[key] != value:
                    problems.append(
                        f"PROFILES['default'][{stem!r}][{key!r}] = {value!r} differs from "
                        f"the parameters cell value {cell[key]!r} in {source}"
                    )
    for stem, values in (defaults or {}).items():
        source = Path(notebook_dir) / f"{stem}.py"
        cell = parameters_cell_values(source) if source.is_file() else {}
        for key, value in values.items():
            if key not in cell or cell[key] != value:
                problems.append(
                    f"PARAMETER_DEFAULTS[{stem!r}][{key!r}] = {value!r} differs from the "
                    f"parameters cell value {cell.get(key, '(none)')!r} in {source}"
                )
    return problems
