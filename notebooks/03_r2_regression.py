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
# # Predicting embedding dimensions from network activations (R²)
#
# ## Overview
#
# The paper maps VGG-16's penultimate-layer activations linearly onto each of its
# DNN embedding's dimensions with ℓ2-regularised (ridge) regression
# {cite:p}`hoerl1970ridge` and reports that every dimension is predicted with
# R² > 75 %, most with R² > 85 % ({cite:t}`mahner2025dimensions`, Methods and
# Supplementary). That linear map is what lets the paper predict
# dimension values for new images and run Grad-CAM on single dimensions. This
# chapter studies one network, {glue:text}`network_label` (the `network` parameter;
# the book's is the VGG-16 stand-in, the rank-200 factorisation of
# {doc}`chapter 1 <01_triplet_task>`), and
#
# 1. reproduces the check: R² per dimension from the network's features to its
#    embedding from {doc}`chapter 2 <02_embedding_fit>`, by nested cross-validation
#    {cite:p}`varma2006nestedcv` (the penalty is chosen per dimension on inner folds
#    only, R² measured on outer folds never used for that choice);
# 2. reports where the chosen penalties fall on the grid (the reference code's grid
#    `linspace(50, 1200, 200)` caps them: it picked its top value for every dimension);
# 3. asks what the paper does not: how well do *network* representations (the studied
#    network, CLIP ViT-B/32 {cite:p}`radford2021clip`) predict the *human* dimensions
#    (VICE-42), and which ones; and how well do purely semantic representations of the
#    concept names (word2vec {cite:p}`mikolov2013word2vec`, a sentence embedding of
#    word + definition {cite:p}`reimers2019sbert,wang2020minilm`) predict human and
#    network dimensions?
#
# **Needs**: chapter 2's embedding of the network (run alone with the book's network,
# the notebook runs chapters 0–2 first; for another network run chapters 1 and 2 with
# the same `network`, `features_path`, `images_dir` and `layer`). **Takes**:
# {glue:text}`takes`.
#
# **How our data differ from the paper's.** The paper regresses 24,102 image-level
# activations (4,096 `classifier.3` units) onto its 70 DNN dimensions. Here the
# network's representation is one feature row per concept, so X has
# {glue:text}`n_concepts:,` rows (the concepts the network sees) and
# {glue:text}`n_features:,` columns; what the features are:
# {glue:text}`network_description`. As in the paper,
# the network's dimensions were learnt from triplets this very representation answered,
# so a high R² shows linear decodability rather than an independent validation.
# The VGG-16 stand-in's source, and what is not known about it (the layer, batch
# normalisation, how photos were averaged), are on {doc}`the data page <../book/data>`.

# %% tags=["parameters"]
profile = "default"
network = "vgg16"  # the network studied: a name in dnnalign_utils.networks.NETWORKS
features_path = ""  # or your own concept features: a .npy (1,854 rows) or thingsvision folder
images_dir = ""  # or a folder of your pictures with concepts.csv (file,uniqueID)
layer = ""  # the layer of a thingsvision folder or picture network (empty: its default)
seed = 0  # outer folds use seed, inner folds seed + 1 (the reference's 0 and 1)
n_outer = 3  # outer folds (the paper's configuration uses 3)
n_inner = 3  # inner folds choosing the penalty
alpha_log10_min = -2.0  # penalty grid: logspace(min, max, n)
alpha_log10_max = 6.0
n_alphas = 33

# %%
import numpy as np
import pandas as pd
import plotly.express as px
from IPython.display import Markdown
from myst_nb import glue

from dnnalign_utils import (
    compare,
    data,
    features,
    keynumbers,
    networks,
    paths,
    regression,
    semantic,
)
from dnnalign_utils import embedding as emb
from dnnalign_utils.book import start_chapter
from dnnalign_utils.plotting import (
    DNN_COLOUR,
    HUMAN_COLOUR,
    PALETTE,
    styled_table,
)

# The run profile's sizes unless a parameter set them (papermill with only `profile`,
# Jupyter, Colab), the measured run time of the Takes line, the figure template.
start_chapter(globals(), "03_r2_regression")

# Run alone (a fresh Colab session, a downloaded notebook), this chapter first runs the
# earlier chapters whose artefacts it needs and does not find; in the book it does nothing.
from dnnalign_utils.book import ensure_upstream

studied = networks.resolve(
    network, features_path=features_path, images_dir=images_dir, layer=layer
)
ensure_upstream(profile, "03_r2_regression", studied)
net = networks.load(profile, studied)
alpha_grid = np.logspace(alpha_log10_min, alpha_log10_max, n_alphas)
net_dims_path = paths.network_embedding(profile, studied)
net_dims, objects = emb.load_network_embedding(net_dims_path)  # objects: THINGS indices
net_features = net.values[emb.rows_of(net.things_index, objects, f"{net.label} features")]
concepts = data.load_concepts()
names = data.concept_names(concepts)[objects]  # homonyms told apart (bat, baton, ...)
glue("network_label", net.label, display=False)
glue("network_description", net.description, display=False)
glue("n_concepts", len(objects), display=False)
glue("n_features", net_features.shape[1], display=False)

# %% [markdown]
# ## The network's features → its embedding's dimensions

# %%
net_result = regression.nested_cv_ridge(
    net_features,
    net_dims.weights,
    alpha_grid,
    n_outer=n_outer,
    n_inner=n_inner,
    outer_seed=seed,
    inner_seed=seed + 1,
)
r2 = pd.Series(net_result.r2, index=emb.dimension_labels(net_dims.weights, names))
key_numbers = regression.network_r2_numbers(net_result.r2)
recorded = keynumbers.record(profile, studied, "03_r2_regression", net.label, **key_numbers)

# %% tags=["hide-input"]
glue("net_n_dims", int(r2.size), display=False)
glue("net_share_75", 100 * float((r2 > 0.75).mean()), display=False)
glue("net_share_85", 100 * float((r2 > 0.85).mean()), display=False)
glue("net_min_r2", key_numbers["r2_min"], display=False)
glue("net_median_r2", key_numbers["r2_median"], display=False)
fig = px.bar(
    x=np.arange(1, r2.size + 1),
    y=100 * r2.to_numpy(),
    hover_name=r2.index,
    labels={"x": "embedding dimension (by total weight)", "y": "out-of-fold R² (%)"},
    title=f"How well the {net.label} predicts each dimension of its embedding",
    color_discrete_sequence=[DNN_COLOUR],
)
fig.add_hline(y=75, line_dash="dash", annotation_text="75 %")
fig.add_hline(y=85, line_dash="dot", annotation_text="85 %")
fig.show()

# %% [markdown]
# Of the {glue:text}`net_n_dims` dimensions of the {glue:text}`network_label` embedding,
# {glue:text}`net_share_75:.0f` %
# are predicted with R² > 75 % and {glue:text}`net_share_85:.0f` % with R² > 85 %
# (median {glue:text}`net_median_r2:.1f` %, lowest {glue:text}`net_min_r2:.1f` %);
# the paper reports all above 75 % and most above 85 % for VGG-16 (Methods).
#
# ### Where do the chosen penalties fall?
#
# A penalty chosen at the edge of the grid may mean the grid was too narrow. We compare
# our log-spaced grid with the reference grid on the same folds:

# %%
reference_result = regression.nested_cv_scores(
    net_features,
    net_dims.weights,
    regression.REFERENCE_ALPHA_GRID,
    n_outer=n_outer,
    n_inner=n_inner,
    seed=seed,
)
grids = pd.DataFrame(
    {
        "grid": [
            f"logspace({alpha_log10_min:g}, {alpha_log10_max:g}, {n_alphas})",
            "linspace(50, 1200, 200) (reference)",
        ],
        "choices at lower edge (%)": [
            100 * r.edge_shares["lower"] for r in (net_result, reference_result)
        ],
        "choices at upper edge (%)": [
            100 * r.edge_shares["upper"] for r in (net_result, reference_result)
        ],
        "median chosen α": [float(np.median(r.alphas)) for r in (net_result, reference_result)],
        "mean R² (%)": [100 * float(r.r2.mean()) for r in (net_result, reference_result)],
    }
)

# %% tags=["hide-input"]
glue("ref_upper", float(grids.loc[1, "choices at upper edge (%)"]), display=False)
glue("our_edge", 100 * sum(net_result.edge_shares.values()), display=False)
glue("our_mean_r2", float(grids.loc[0, "mean R² (%)"]), display=False)
glue("ref_mean_r2", float(grids.loc[1, "mean R² (%)"]), display=False)
glue(
    "grid_cost",
    "cost no accuracy"
    if grids.loc[1, "mean R² (%)"] >= grids.loc[0, "mean R² (%)"]
    else f"cost {grids.loc[0, 'mean R² (%)'] - grids.loc[1, 'mean R² (%)']:.2f} percentage "
    "points of mean R²",
    display=False,
)
styled_table(grids, index=False)

# %% [markdown]
# With the reference grid {glue:text}`ref_upper:.0f` % of the choices sit at its upper
# edge (1,200), where the grid may be cutting off the penalty the data ask for (the
# reference code hit that edge for every dimension of its own embedding); our wider
# grid puts {glue:text}`our_edge:.0f` % of its choices on an edge. On this embedding the
# capped penalties {glue:text}`grid_cost`: the mean R² is {glue:text}`ref_mean_r2:.2f` %
# with the reference grid and {glue:text}`our_mean_r2:.2f` % with ours. If a run shows
# choices on an edge of our grid, widen `alpha_log10_min` / `alpha_log10_max`.
#
# ## Network and semantic representations → human and network dimensions
#
# The same nested cross-validation, now from four representations of the
# {glue:text}`n_concepts:,` concepts to two embeddings: the published human VICE-42
# (restricted to these concepts) and the {glue:text}`network_label` embedding. Two
# representations are networks (the studied network and CLIP ViT-B/32 image
# embeddings, unless CLIP is the studied network); two are
# semantic, built from the concept names alone: word2vec vectors of the word, and a
# sentence embedding (all-MiniLM-L6-v2) of "word: definition", which separates
# homonyms like *bat* the animal and *bat* the club.

# %%
clip_label = "CLIP ViT-B/32"
clip_features = data.load_clip_features()
other_networks = {} if net.key == "clip_vit_b32" else {clip_label: clip_features[objects]}
predictors = {
    net.label: net_features,
    **other_networks,
    "word2vec": data.load_word2vec()[objects],
    "sentence embedding": semantic.cached_sentence_embeddings(
        semantic.concept_texts(concepts),
        paths.sentence_embeddings(profile),
    )[objects],
}
human_dims = compare.human_weights("vice42", objects)
net_target = f"{net.label} embedding"
targets = {"human (VICE-42)": human_dims, net_target: net_dims.weights}
table = regression.r2_table(
    predictors, targets, alpha_grid, n_outer=n_outer, n_inner=n_inner, seed=seed
)
summary = table.pivot_table(index="predictor", columns="target", values="r2", aggfunc="mean")
summary = (100 * summary).round(1).loc[list(predictors)]

# %% tags=["hide-input"]
glue("edge_share", 100 * float(table["alpha_on_edge"].mean()), display=False)
human_r2 = summary["human (VICE-42)"]
glue("best_human_predictor", str(human_r2.idxmax()), display=False)
glue("best_human_r2", float(human_r2.max()), display=False)
glue("human_r2_network", float(human_r2[net.label]), display=False)
glue("human_r2_sentence", float(human_r2["sentence embedding"]), display=False)
glue("human_r2_word2vec", float(human_r2["word2vec"]), display=False)
styled_table(summary.rename_axis(columns="mean R² (%) over the target's dimensions"), precision=1)

# %% tags=["hide-input"]
fig = px.imshow(
    summary,
    text_auto=".1f",
    color_continuous_scale="Blues",
    labels={"color": "mean R² (%)", "x": "target embedding", "y": "predictor"},
    title="Mean out-of-fold R² of each representation for each embedding",
    aspect="auto",
)
fig.show()

# %% [markdown]
# On average {glue:text}`best_human_predictor` predicts the human dimensions best
# ({glue:text}`best_human_r2:.1f` % mean R²); the studied network,
# {glue:text}`network_label`, reaches {glue:text}`human_r2_network:.1f` %, the sentence
# embedding of the concept names alone {glue:text}`human_r2_sentence:.1f` % and
# word2vec {glue:text}`human_r2_word2vec:.1f` %. ({glue:text}`edge_share:.1f` % of the
# chosen penalties touched a grid edge.)

# %% [markdown]
# ### The embedded CNN on drawings
#
# EfficientNet-Lite0 sees the embedded drawings (chapter 0), which exist for only part
# of the concepts. On those of them that the studied network covers we compare it with
# the other two networks, predicting the same human dimensions on the same rows (concept
# means over a concept's styles; VICE-42 restricted to the same concepts):

# %%
effnet_images, image_rows = features.load_image_features(
    paths.image_features(profile), "_avg_pooling"
)
effnet, image_objects = features.concept_means(effnet_images, image_rows)
shared = np.isin(image_objects, objects)
image_objects, effnet = image_objects[shared], effnet[shared]
on_pictures = emb.rows_of(objects, image_objects, f"{net.label} embedding")
min_picture_concepts = 30  # fewer concepts leave too few rows per cross-validation fold
if len(image_objects) >= min_picture_concepts:
    subset_predictors = {
        "EfficientNet-Lite0 (drawings)": effnet,
        net.label: net_features[on_pictures],
        **({clip_label: clip_features[image_objects]} if other_networks else {}),
    }
    subset_table = regression.r2_table(
        subset_predictors,
        {"human (VICE-42)": human_dims[on_pictures]},
        alpha_grid,
        n_outer=n_outer,
        n_inner=n_inner,
        seed=seed,
    )
    subset_summary = 100 * subset_table.groupby("predictor", sort=False)["r2"].mean()
    effnet_r2 = float(subset_summary["EfficientNet-Lite0 (drawings)"])
    picture_finding = (
        f"On the {len(image_objects):,} concepts with pictures, EfficientNet-Lite0's view of "
        f"the drawings predicts the human dimensions with a mean R² of {effnet_r2:.1f} %."
    )
else:
    subset_table = None
    subset_summary = pd.Series(dtype=float, name="r2")
    picture_finding = (
        f"Only {len(image_objects)} of the concepts with pictures are among the network's "
        f"concepts; at least {min_picture_concepts} are needed, so this comparison is skipped."
    )

# %% tags=["hide-input"]
glue("picture_finding", picture_finding, display=False)
styled_table(
    subset_summary.rename("mean R² (%) over VICE-42 dimensions").reset_index(),
    precision=1,
    index=False,
)

# %% [markdown]
# {glue:text}`picture_finding` (With fewer rows every R² is lower than on all
# concepts, so compare within this table only.)
#
# ### Which human dimensions does a network capture, and which does language?
#
# Each point is one human dimension, labelled by its top objects: how well the
# {glue:text}`network_label` predicts it against how well the sentence embedding of the
# names predicts it. Dimensions below the diagonal are better captured by the network's
# representation, those above it by semantic knowledge of the concept.

# %%
human_table = table[table["target"] == "human (VICE-42)"].pivot_table(
    index="dimension", columns="predictor", values="r2"
)
human_table.index = emb.dimension_labels(human_dims, names)
gap = (human_table["sentence embedding"] - human_table[net.label]).sort_values()

# %% tags=["hide-input"]
glue("most_visual", Markdown(gap.index[0]), display=False)
glue("most_semantic", Markdown(gap.index[-1]), display=False)
fig = px.scatter(
    human_table.mul(100).reset_index(names="dimension"),
    x=net.label,
    y="sentence embedding",
    hover_name="dimension",
    labels={
        net.label: f"R² from the {net.label} (%)",
        "sentence embedding": "R² from the sentence embedding (%)",
    },
    title="Human dimensions: predicted from a network or from language?",
    color_discrete_sequence=[HUMAN_COLOUR],
)
fig.add_shape(type="line", x0=0, y0=0, x1=100, y1=100, line={"dash": "dash", "color": PALETTE[7]})
fig.update_xaxes(range=[-5, 100])
fig.update_yaxes(range=[-5, 100])
fig.show()

# %% [markdown]
# The human dimension the network captures best relative to language is dimension
# {glue:md}`most_visual`; the one language captures best relative to the network is
# dimension {glue:md}`most_semantic`. The paper asks people to rate each dimension as
# visual, semantic or mixed. This contrast is not that rating (language carries visual
# knowledge too, and a network sees more than appearance); {doc}`chapter 5
# <05_visual_semantic_rating>` rates every dimension
# with predictors of each kind and validates the rule on planted dimensions.
#
# ## The final network → dimension model
#
# For predicting dimension values of new inputs (and for Grad-CAM) the paper keeps a
# ridge model per dimension. We refit on all {glue:text}`n_concepts:,` concepts with
# the penalty chosen by cross-validation on all of them, and store the input centring
# with the model so that predictions on new activations apply it.

# %%
model_path = net_result.final_model.save(
    paths.network_regression_model(profile, studied),
    produced_by="notebooks/03_r2_regression",
    parameters={"n_outer": n_outer, "n_inner": n_inner, "seed": seed, "network": net.key},
    inputs={"embedding": net_dims_path},
    input_hashes=net.input_hashes,
)
print(f"saved: {paths.display_path(model_path)}")

# %% [markdown]
# ## Download the results
#
# The out-of-fold R² of every dimension from every predictor (dimensions numbered from 1
# in order of importance, each with its top objects), on all the network's concepts and
# on the concepts with pictures, each with a provenance record:

# %% mystnb={"markdown_format": "myst"}
from dnnalign_utils import downloads

# file keys of the two targets, in the order of `targets` above
target_keys = dict(zip(targets, ["vice42", net.key], strict=True))
target_labels = {t: emb.dimension_labels(w, names) for t, w in targets.items()}


def r2_download(r2_rows):
    return pd.DataFrame(
        {
            "embedding": r2_rows["target"].map(target_keys),
            "embedding name": r2_rows["target"],
            "dimension": r2_rows["dimension"] + 1,
            "top objects": [
                target_labels[t][d].split(": ", 1)[1]
                for t, d in zip(r2_rows["target"], r2_rows["dimension"], strict=True)
            ],
            "predictor": r2_rows["predictor"],
            "R² (%)": 100 * r2_rows["r2"],
            "median α": r2_rows["alpha"],
            "α on a grid edge": r2_rows["alpha_on_edge"],
        }
    )


r2_columns = {
    "embedding": "key of the embedding the dimension belongs to (vice42: the published "
    f"human VICE-42; {net.key}: chapter 2's embedding of {net.label})",
    "embedding name": "that embedding's name",
    "dimension": "the dimension, numbered from 1 in the embedding's order (most important first)",
    "top objects": "the three concepts with the largest weights on the dimension",
    "predictor": "the representation whose features predict the dimension",
    "R² (%)": "out-of-fold ridge R² (nested cross-validation), in percent; negative: worse "
    "than predicting the mean",
    "median α": "the median over outer folds of the ridge penalty chosen on inner folds "
    "(unitless)",
    "α on a grid edge": "True if the penalty chosen in some outer fold lay at the lowest or "
    "highest value of the grid",
}
published = downloads.publish(
    r2_download(table),
    "dimension_r2",
    "03_r2_regression",
    profile,
    description=f"out-of-fold R² of every human VICE-42 and {net.label} dimension from "
    f"each network and semantic representation ({len(objects):,} concepts)",
    parameters={"n_outer": n_outer, "n_inner": n_inner, "seed": seed},
    inputs={f"{net.key} embedding": net_dims_path},
    network=studied,
    columns=r2_columns,
)
if subset_table is not None:
    published += downloads.publish(
        r2_download(subset_table),
        "dimension_r2_picture_concepts",
        "03_r2_regression",
        profile,
        description="out-of-fold R² of every VICE-42 dimension on the concepts with "
        f"pictures, from EfficientNet-Lite0 (drawings), {net.label} and CLIP",
        parameters={"n_outer": n_outer, "n_inner": n_inner, "seed": seed},
        network=studied,
        columns=r2_columns,
    )
downloads.links(published)

# %% [markdown]
# ## In this notebook we
#
# - predicted each dimension of the {glue:text}`network_label` embedding from the
#   network's features by nested cross-validated
#   ridge regression: {glue:text}`net_share_75:.0f` % of them above R² = 75 % (paper,
#   VGG-16: all), {glue:text}`net_share_85:.0f` % above 85 %;
# - showed where the chosen penalties fall: {glue:text}`ref_upper:.0f` % of the choices
#   at the upper edge of the reference's grid, {glue:text}`our_edge:.0f` % on an edge of
#   ours, at a mean R² of {glue:text}`ref_mean_r2:.2f` % and {glue:text}`our_mean_r2:.2f` %
#   (the capped penalties {glue:text}`grid_cost` here);
# - compared how two networks and two semantic representations predict human and
#   network dimensions, dimension by dimension, and added the embedded CNN seeing
#   drawings where they overlap with the network's concepts;
# - saved the final ridge model, with its input centring, for new inputs.
