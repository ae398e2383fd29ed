# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Explore the dimensions
#
# Every dimension of every embedding in this book on one card: the objects that weigh
# most on it (with their pictures where the embedded image set has one), how well
# network activations and language predict it (chapters 3 and 4), what chapter 5's
# automatic rater calls it (visual, semantic, mixed or unclear), and its best-correlated
# dimension in the other kind of embedding: the best network dimension for a human
# one, the best human VICE-42 dimension for a network one (chapter 6 pairs them
# one-to-one; that pair is shown too).
#
# The embeddings: the published human VICE-42 and SPoSE-49, our human SPoSE fit and the
# VGG-16 stand-in's embedding (chapter 2), CLIP ViT-B/32's embedding (chapter 5), and
# EfficientNet-Lite0's embedding of the embedded drawings (chapter 2; its rows are
# pictures, averaged per concept to find its human match). Dimensions are numbered
# from 1 in each embedding's order of importance (total weight), as in every chapter.
#
# **Needs**: the artefacts of chapters 2 to 6. **Takes**: {glue:text}`takes`.

# %% tags=["parameters"]
profile = "default"
n_top = 6  # objects shown per dimension
thumbnail_px = 40  # side of the pictures shown beside the objects (pixels)
max_dims_shown = 0  # dimensions per embedding in the figures (0: all; every card is downloaded)

# %%
import os

from IPython.display import display
from myst_nb import glue

from dnnalign_utils import downloads, explorer, paths
from dnnalign_utils.book import start_chapter
from dnnalign_utils.plotting import styled_table

# The run profile's sizes unless a parameter set them (papermill with only `profile`,
# Jupyter, Colab), the measured run time of the Takes line, the figure template.
start_chapter(globals(), "08_explorer")

# Run alone (a fresh Colab session, a downloaded notebook), this page first runs the
# chapters whose artefacts it needs and does not find; in the book it does nothing.
from dnnalign_utils.book import ensure_upstream

ran_upstream = ensure_upstream(profile, "08_explorer")

# %% [markdown]
# ## The cards
#
# One row per dimension; the R² columns show a dash where a chapter did not predict that
# embedding from that representation. A word that several THINGS concepts share carries
# the first words of its definition, so the four senses of "baton" read apart
# ("baton (thin tapered rod used)", "baton (short stout club used)", ...).

# %%
embeddings = explorer.book_embeddings(profile)  # the six embeddings, from chapters 2 and 5
cards = explorer.book_cards(profile, embeddings, k=n_top)  # with chapters 3-6's findings

# %% tags=["hide-input"]
figure_cards = cards if max_dims_shown <= 0 else cards[cards["dimension"] <= max_dims_shown]
pictures = explorer.thumbnails(figure_cards, embeddings, thumbnail_px)
glue(
    "figure_dims",
    "every dimension" if max_dims_shown <= 0 else f"the first {max_dims_shown} dimensions",
    display=False,
)
glue("n_embeddings", len(embeddings), display=False)
glue("n_cards", len(cards), display=False)
glue("n_thumbnails", len(pictures), display=False)
label_counts = cards.groupby("embedding name", sort=False).agg(
    dimensions=("dimension", "size"),
    visual=("quality", lambda q: int((q == "visual").sum())),
    mixed=("quality", lambda q: int((q == "mixed").sum())),
    semantic=("quality", lambda q: int((q == "semantic").sum())),
    unclear=("quality", lambda q: int((q == "unclear").sum())),
    **{"median best-match r": ("match r", "median")},
)
styled_table(label_counts)

# %% [markdown]
# {glue:text}`n_cards` dimensions of {glue:text}`n_embeddings` embeddings;
# {glue:text}`n_thumbnails` pictures appear among their top objects. The first cards as
# a table (all of them are in the download at the end of this page):

# %%
styled_table(explorer.cards_table(cards).head(8), index=False)

# %% [markdown]
# ## Choose a dimension
#
# One figure per embedding, with {glue:text}`figure_dims` of each; the menu at its top
# right chooses the dimension. The title
# is the dimension's card; below it, the pictures of its top objects (where the
# embedded image set has one) and the bars of their weights; hovering over a bar names
# the object.
#
# ### Human VICE-42 (published)

# %% tags=["hide-input"]
explorer.embedding_figure(figure_cards, "vice42", pictures).show()

# %% [markdown]
# ### Human SPoSE-49 (published)

# %% tags=["hide-input"]
explorer.embedding_figure(figure_cards, "spose49", pictures).show()

# %% [markdown]
# ### Human SPoSE (chapter 2)

# %% tags=["hide-input"]
explorer.embedding_figure(figure_cards, "human_spose", pictures).show()

# %% [markdown]
# ### VGG-16 stand-in (chapter 2)

# %% tags=["hide-input"]
explorer.embedding_figure(figure_cards, "vgg16", pictures).show()

# %% [markdown]
# ### CLIP ViT-B/32 (chapter 5)

# %% tags=["hide-input"]
explorer.embedding_figure(figure_cards, "clip", pictures).show()

# %% [markdown]
# ### EfficientNet-Lite0 pictures (chapter 2)

# %% tags=["hide-input"]
explorer.embedding_figure(figure_cards, "effnet", pictures).show()

# %% [markdown]
# ## In a live session
#
# Opened in Jupyter, Binder or Colab (the rocket button above), the cell below shows the
# same cards with two menus, embedding and dimension. The published page is a static
# snapshot, where such widgets cannot run; the figures above work without them.

# %%
if not os.environ.get("DNNALIGN_BOOK_BUILD"):
    display(explorer.ExplorerWidget(cards, pictures))

# %% [markdown]
# ## Download the cards

# %% mystnb={"markdown_format": "myst"}
downloads.links(
    downloads.publish(
        explorer.cards_table(cards),
        "dimension_cards",
        "08_explorer",
        profile,
        description="every dimension of every embedding with its top objects, R², "
        "automatic label and best match (dimensions numbered from 1)",
        parameters={"n_top": n_top},
        inputs={"labels": paths.automatic_labels(profile)},
        columns=explorer.card_columns(cards),
    )
)
