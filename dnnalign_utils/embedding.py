"""VICE and SPoSE embeddings: the public names of three modules, in one place.

* ``dnnalign_utils.container``: the :class:`Embedding` container, its ``.npz`` file I/O
  (:func:`save_embedding`, :func:`load_embedding`, :func:`from_published`), the scoring of
  a fixed embedding (:func:`choice_probabilities`, :func:`evaluate_embedding`,
  :func:`evaluate_vice`, :func:`fit_summary`), the pruning statistics, and the objects
  that weigh most on each dimension (:func:`top_objects`, :func:`dimension_labels`,
  :func:`top_objects_table`).
* ``dnnalign_utils.fitting``: configs and presets, the two models, the training loop with
  checkpoints, :func:`fit_checkpointed`, :func:`learning_curve`,
  :func:`fit_vice_to_network`.
* ``dnnalign_utils.matching``: :func:`match_dimensions` and reproducibility, which
  ``compare`` also uses, and both as tables (:func:`matched_table`,
  :func:`reproducibility_table`).

``validate_triplets`` is ``dnnalign_utils.conventions.validate_triplets``. Notebooks
import this module (``import dnnalign_utils.embedding as emb``); code inside the package
imports the module that defines a name.
"""

from __future__ import annotations

from dnnalign_utils.container import (
    Embedding,
    benjamini_hochberg,
    choice_probabilities,
    dimension_labels,
    evaluate_embedding,
    evaluate_vice,
    fit_summary,
    from_published,
    load_embedding,
    load_network_embedding,
    rows_of,
    save_embedding,
    spose_keep_mask,
    top_objects,
    top_objects_table,
    vice_accuracy_by_set,
    vice_importance,
    vice_keep_mask,
    vice_pvalues,
)
from dnnalign_utils.conventions import validate_triplets
from dnnalign_utils.fitting import (
    PAPER_DNN_VICE,
    PAPER_HUMAN_VICE,
    PAPER_SPOSE,
    PRESETS,
    SMALL_DATA_HUMAN_VICE,
    SMALL_DATA_SPOSE,
    SMALL_DATA_VICE,
    FitResult,
    SPoSEConfig,
    VICEConfig,
    checkpoint_file,
    fit_checkpointed,
    fit_spose,
    fit_vice,
    fit_vice_to_network,
    learning_curve,
    network_embedding_comparison,
    network_embedding_numbers,
    preset,
    warmup_factor,
)
from dnnalign_utils.matching import (
    Reproducibility,
    match_dimensions,
    matched_table,
    reproducibility_over_runs,
    reproducibility_table,
    split_half_reproducibility,
)

__all__ = [
    "Embedding",
    "FitResult",
    "Reproducibility",
    "PAPER_DNN_VICE",
    "PAPER_HUMAN_VICE",
    "PAPER_SPOSE",
    "PRESETS",
    "SMALL_DATA_SPOSE",
    "SMALL_DATA_HUMAN_VICE",
    "SMALL_DATA_VICE",
    "SPoSEConfig",
    "VICEConfig",
    "benjamini_hochberg",
    "checkpoint_file",
    "choice_probabilities",
    "dimension_labels",
    "evaluate_embedding",
    "evaluate_vice",
    "fit_checkpointed",
    "fit_spose",
    "fit_summary",
    "fit_vice",
    "from_published",
    "learning_curve",
    "load_embedding",
    "load_network_embedding",
    "rows_of",
    "match_dimensions",
    "matched_table",
    "preset",
    "reproducibility_over_runs",
    "reproducibility_table",
    "save_embedding",
    "split_half_reproducibility",
    "spose_keep_mask",
    "top_objects",
    "top_objects_table",
    "validate_triplets",
    "vice_accuracy_by_set",
    "vice_importance",
    "vice_keep_mask",
    "vice_pvalues",
    "warmup_factor",
    "fit_vice_to_network",
    "network_embedding_comparison",
    "network_embedding_numbers",
]
