"""A network's key numbers: the one-row answer of the pipeline for one network.

Each chapter that studies a network (its ``network`` parameter) records the numbers it
computes about it with :func:`record`; the batch report (``python -m dnnalign_utils.book
report``) and the chapter comparing networks read them back with :func:`collect` /
:func:`table`. The numbers, their chapters and meanings are listed once, in
:data:`KEY_NUMBERS`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from dnnalign_utils import autorate, paths
from dnnalign_utils.provenance import atomic_write_text, provenance_record


@dataclass(frozen=True)
class KeyNumber:
    name: str
    chapter: str
    description: str


KEY_NUMBERS: tuple[KeyNumber, ...] = (
    KeyNumber("n_concepts", "01_triplet_task", "THINGS concepts the network's features cover"),
    KeyNumber(
        "choice_agreement",
        "01_triplet_task",
        "% of human odd-one-out choices the network's features make (held-out human triplets "
        "among its concepts)",
    ),
    KeyNumber(
        "noise_ceiling",
        "01_triplet_task",
        "% agreement of people with the majority choice on the same triplets (the ceiling)",
    ),
    KeyNumber("n_dimensions", "02_embedding_fit", "dimensions kept by the VICE fit"),
    KeyNumber(
        "rsm_variance_explained",
        "02_embedding_fit",
        "% of the variance of the network's RSM explained by the embedding's RSM",
    ),
    KeyNumber("r2_median", "03_r2_regression", "median out-of-fold ridge R² of the dimensions, %"),
    KeyNumber("r2_min", "03_r2_regression", "smallest out-of-fold ridge R² of a dimension, %"),
    KeyNumber("visual_share", "05_visual_semantic_rating", "% of dimensions labelled visual"),
    KeyNumber("mixed_share", "05_visual_semantic_rating", "% of dimensions labelled mixed"),
    KeyNumber("semantic_share", "05_visual_semantic_rating", "% of dimensions labelled semantic"),
    KeyNumber(
        "best_match_r",
        "06_human_vs_dnn",
        "Pearson r of the best-matched human and network dimension pair (held-out objects)",
    ),
    KeyNumber(
        "global_rsa_r",
        "06_human_vs_dnn",
        "Pearson r between the human and the network embedding's RSMs",
    ),
)
BY_NAME = {k.name: k for k in KEY_NUMBERS}
CHAPTERS = tuple(dict.fromkeys(k.chapter for k in KEY_NUMBERS))


def record_path(profile: str, network: paths.NetworkValue, chapter: str):
    """The file holding `chapter`'s key numbers about `network` (`networks.resolve`'s
    value), once recorded."""
    return paths.key_numbers_dir(profile, network) / f"{chapter}.json"


def record(
    profile: str, network: paths.NetworkValue, chapter: str, label: str, **values: float
) -> dict:
    """Write `chapter`'s key numbers about `network` (`label` its readable name)
    atomically, replacing that chapter's earlier record. Every name must be one of
    :data:`KEY_NUMBERS` belonging to `chapter`, every value a real number (NaN is allowed
    and means 'not computable on these inputs')."""
    expected = sorted(k.name for k in KEY_NUMBERS if k.chapter == chapter)
    if not expected:
        raise ValueError(
            f"chapter {chapter!r}: records no key numbers; expected one of {CHAPTERS}"
        )
    wrong = sorted(set(values) - set(expected))
    if wrong:
        raise ValueError(f"{chapter}: {wrong} are not its key numbers; expected {expected}")
    clean = {}
    for name, value in values.items():
        try:
            clean[name] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{chapter}: {name}={value!r}: expected a number") from None
    entry = {
        "network": network.key,
        "label": label,
        "chapter": chapter,
        "values": {k: (None if math.isnan(v) else v) for k, v in clean.items()},
        "provenance": provenance_record(f"notebooks/{chapter}", parameters={"profile": profile}),
    }
    atomic_write_text(record_path(profile, network, chapter), json.dumps(entry, indent=2) + "\n")
    return entry


def collect(profile: str, network: paths.NetworkValue) -> dict:
    """The recorded key numbers of `network`: its ``network`` key, ``label`` and one value
    per :data:`KEY_NUMBERS` name (NaN where its chapter has not recorded it)."""
    row: dict = {"network": network.key, "label": network.key}
    row.update({k.name: math.nan for k in KEY_NUMBERS})
    for chapter in CHAPTERS:
        path = record_path(profile, network, chapter)
        if not path.is_file():
            continue
        entry = json.loads(path.read_text(encoding="utf-8"))
        row["label"] = entry.get("label", network.key)
        for name, value in entry["values"].items():
            row[name] = math.nan if value is None else float(value)
    return row


def missing_chapters(profile: str, network: paths.NetworkValue) -> list[str]:
    """The chapters of :data:`CHAPTERS` that have recorded no key numbers about
    `network` for `profile`."""
    return [
        chapter for chapter in CHAPTERS if not record_path(profile, network, chapter).is_file()
    ]


def table(profile: str, networks: Sequence[paths.NetworkValue]) -> pd.DataFrame:
    """One row of key numbers per network (indexed by key), columns in
    :data:`KEY_NUMBERS` order."""
    return pd.DataFrame([collect(profile, net) for net in networks]).set_index("network")


# The paper's numbers that the book's own network is set beside (Mahner et al., 2025,
# Results; the human noise ceiling from Hebart et al., 2020).
PAPER_NOISE_CEILING = 67.22
# "reproduces" when ours is within this share of the paper's value (a count: twice it)
REPRODUCED_WITHIN = 0.10


def _close(ours: float, paper: float, tolerance: float = REPRODUCED_WITHIN) -> str:
    if ours is None or (isinstance(ours, float) and math.isnan(ours)):
        return "not computed"
    return "yes" if abs(ours - paper) <= tolerance * abs(paper) else "no"


def next_to_paper(row: dict, human_shares: dict, paper_vgg16: dict) -> pd.DataFrame:
    """One line per analysis: the book's own network's key numbers (`row`, as
    :func:`collect` gives them), the human embedding's visual/mixed/semantic shares (%)
    and the paper's values (`curves.PAPER_VGG16`), with whether each reproduces: within
    `REPRODUCED_WITHIN` of the paper's value (a count within twice that), or meeting the
    paper's bound. Columns: chapter (its stem), analysis, ours, paper, reproduces."""
    shares = {q: row[f"{q}_share"] for q in ("visual", "mixed", "semantic")}
    verdict = autorate.headline_verdict(human_shares, shares, row["label"])
    dims_ok = _close(row["n_dimensions"], paper_vgg16["dims_kept"], 2 * REPRODUCED_WITHIN)
    rsm_ok = _close(row["rsm_variance_explained"], 100 * paper_vgg16["rsm_variance_explained"])
    r2_bound = 100 * paper_vgg16["r2_min_above"]
    lines = [
        (
            "01_triplet_task",
            "noise ceiling of people's odd-one-out choices",
            f"{row['noise_ceiling']:.1f} %",
            f"{PAPER_NOISE_CEILING:.2f} %",
            _close(row["noise_ceiling"], PAPER_NOISE_CEILING, 0.015),
        ),
        (
            "02_embedding_fit",
            "dimensions of the network's VICE embedding",
            f"{row['n_dimensions']:.0f}",
            f"about {paper_vgg16['dims_kept']}",
            dims_ok,
        ),
        (
            "02_embedding_fit",
            "network similarity explained by its embedding",
            f"{row['rsm_variance_explained']:.1f} %",
            f"{100 * paper_vgg16['rsm_variance_explained']:.2f} %",
            rsm_ok,
        ),
        (
            "03_r2_regression",
            "every dimension predicted from the network (lowest ridge R²)",
            f"{row['r2_min']:.1f} %",
            f"all above {r2_bound:.0f} %",
            "yes" if row["r2_min"] > r2_bound else "no",
        ),
        (
            "05_visual_semantic_rating",
            "human dimensions mostly semantic",
            f"{human_shares['semantic']:.0f} % semantic",
            "mostly semantic",
            "yes" if verdict.human_reproduced else "no",
        ),
        (
            "05_visual_semantic_rating",
            "network dimensions dominated by visual and mixed ones",
            f"{shares['visual'] + shares['mixed']:.0f} % visual or mixed",
            "dominated by visual and mixed",
            "yes" if verdict.network_reproduced else "no",
        ),
        (
            "06_human_vs_dnn",
            "best-matched pair of human and network dimensions",
            f"r = {row['best_match_r']:.2f}",
            f"r ≈ {paper_vgg16['best_match_r']:.2f}",
            _close(row["best_match_r"], paper_vgg16["best_match_r"]),
        ),
    ]
    return pd.DataFrame(lines, columns=["chapter", "analysis", "ours", "paper", "reproduces"])


def next_to_paper_html(table: pd.DataFrame, network_label: str) -> str:
    """:func:`next_to_paper` as an HTML table for the intro page (pasted there across
    pages, which takes HTML, not Markdown), each chapter linked from the intro's folder."""
    from html import escape

    head = (
        "<tr><th>analysis</th><th>ours ("
        + escape(network_label)
        + ", human VICE-42)</th><th>paper (VGG-16)</th><th>reproduces</th></tr>"
    )
    rows = []
    for row in table.itertuples():
        link = (
            f'<a href="../notebooks/{row.chapter}.html">chapter {int(row.chapter[:2])}</a>: '
            f"{escape(row.analysis)}"
        )
        cells = [link, escape(row.ours), escape(row.paper), escape(row.reproduces)]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    # a wide table scrolls inside its own box on a phone, not the page
    return (
        f'<div style="overflow-x: auto"><table class="table">\n{head}\n'
        + "\n".join(rows)
        + "\n</table></div>"
    )


# The measures :func:`measures_next_to_paper` sets beside the paper's: the key number,
# the paper's value (from `curves.PAPER_VGG16`, a fraction where the factor is 100), how
# the paper's mark reads, and the decimals both are shown with.
_PAPER_MEASURES = (
    ("kept dimensions", "n_dimensions", "dims_kept", 1, "about", 0),
    ("RSM variance explained (%)", "rsm_variance_explained", "rsm_variance_explained", 100, "", 1),
    ("lowest ridge R² (%)", "r2_min", "r2_min_above", 100, "above", 1),
    (
        "best-matched pair with human dimensions (Pearson r)",
        "best_match_r",
        "best_match_r",
        1,
        "about",
        2,
    ),
)


def measures_next_to_paper(row, paper_vgg16: dict, network_label: str) -> pd.DataFrame:
    """The book's own network's kept dimensions, RSM variance explained, lowest ridge R²
    and best-matched correlation (`row`: its key numbers, as :func:`table` gives a row)
    beside the paper's VGG-16 values (`curves.PAPER_VGG16`) and how the paper's mark
    reads ("about", "above"), one line per measure, ready to show: each number as text at
    its own precision (counts whole, percentages to 0.1, r to 0.01)."""
    ours = [row[name] for _, name, _, _, _, _ in _PAPER_MEASURES]
    papers = [factor * paper_vgg16[key] for _, _, key, factor, _, _ in _PAPER_MEASURES]
    table = pd.DataFrame(
        {
            f"ours ({network_label})": ours,
            "paper (VGG-16, photos)": papers,
            "paper's mark reads": [reads for *_, reads, _ in _PAPER_MEASURES],
        },
        index=[measure for measure, *_ in _PAPER_MEASURES],
    ).rename_axis("measure")
    decimals = [d for *_, d in _PAPER_MEASURES]
    return table.astype(object).apply(
        lambda column: [
            f"{v:,.{d}f}" if isinstance(v, float) else v
            for v, d in zip(column, decimals, strict=True)
        ]
    )
