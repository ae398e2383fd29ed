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
# # Are the dimensions visual or semantic?
#
# ## Overview
#
# The paper's headline result (Mahner et al., 2025, Fig. 2c) is a rating: people looked
# at each dimension of the human embedding and of VGG-16's embedding as a collection of
# images and called it *visual*, *semantic*, *mixed visual-semantic* or *unclear*. The
# human dimensions came out mostly semantic, VGG-16's dominated by visual and mixed
# ones; 7.35 % of the human and 8.57 % of the VGG-16 dimensions were unclear (Fig. 2
# caption). The ratings themselves are not available offline. This chapter
#
# 1. builds the rating tool: dimensions of several embeddings pooled, anonymised and
#    shuffled, shown one at a time as the paper's raters saw them, with the answers
#    written to a validated CSV (live sessions only);
# 2. builds an **automatic rater** that needs no person: for every dimension, how well
#    does what is *known* about a concept (its name, definition, categories and rated
#    properties) predict it, and how well does what is *seen* in its pictures (colour,
#    shape, texture, an early network layer)? The decision thresholds are chosen on
#    planted dimensions whose nature we know, and tested on other planted ones;
# 3. rates the human embeddings and four network embeddings, with bootstrap intervals
#    and a permutation test of human against each network, and the paper's analysis
#    across the layers of one network.
#
# **Needs**: chapter 0's picture features, chapter 2's embeddings, chapter 3's sentence
# embeddings. **Takes**: a few minutes (it fits three embeddings).
#
# **How our data differ from the paper's.** The paper's raters were people; ours is a
# pair of regressions, validated on planted dimensions but not on people's judgements
# (rate some dimensions with the widget below to compare). Only the 468 concepts with
# pictures in the embedded emoji set can be rated from pictures, so every embedding is
# rated on those concepts. Our network embeddings are those of the earlier chapters
# (VGG-16 from a concept-level stand-in, EfficientNet-Lite0 from drawings), not the
# paper's 70-dimensional VGG-16 embedding of 24,102 photos (paper, Results and Methods).

# %% tags=["parameters"]
profile = "default"
seed = 0  # planted dimensions, folds, triplets, fits, bootstrap and permutations
n_outer = 3  # outer folds of the nested cross-validation (as in chapter 3)
n_inner = 3  # inner folds choosing the penalty
alpha_log10_min = -2.0  # penalty grid: logspace(min, max, n) (chapter 4 labels with
alpha_log10_max = 6.0  # the same default grid, autorate.RATER_ALPHA_GRID)
n_alphas = 17
n_planted_per_class = 12  # planted dimensions per class, in each of two halves
n_bootstrap = 2000  # bootstrap resamples of the dimensions
n_permutations = 10_000  # permutations of the human-vs-network test
n_network_triplets = 1_000_000  # CLIP triplets, as many as chapter 1 draws for VGG-16
network_beta = 3.0  # KL weight of the CLIP embedding (chapter 2's VGG-16 value)
network_max_epochs = 60
network_min_epochs = 30
network_window = 10
n_layer_triplets = 300_000  # picture triplets per EfficientNet-Lite0 layer
layer_beta = 0.6  # chapter 2's value for the picture embedding
layer_max_epochs = 50
per_rank = 6  # objects per rank position in a collection (paper, Methods: 12)
n_collections_shown = 3  # anonymised collections shown on the page
rater = ""  # your rater id (initials or a code): set it to rate in a live session

# %%
import dataclasses

import numpy as np
import pandas as pd
import plotly.express as px
from IPython.display import display
from myst_nb import glue

from dnnalign_utils import autorate, data, features, paths, rating, semantic, sources
from dnnalign_utils import embedding as emb
from dnnalign_utils.plotting import QUALITY_COLOURS, image_grid, styled_table, use_book_template

use_book_template()

# Run alone (a fresh Colab session, a downloaded notebook), this chapter first runs the
# earlier chapters whose artefacts it needs and does not find; in the book it does nothing.
from dnnalign_utils.book import ensure_upstream

ensure_upstream(profile, "05_visual_semantic_rating")
alpha_grid = np.logspace(alpha_log10_min, alpha_log10_max, n_alphas)
concepts = data.load_concepts()
names = concepts["Word"].to_numpy()
feature_dir = paths.image_features(profile)
probe, picture_rows = features.load_image_features(feature_dir, autorate.VISUAL_PROBE_LAYER)
sentence_vectors = semantic.cached_sentence_embeddings(
    semantic.concept_texts(concepts), paths.sentence_embeddings(profile)
)

# %% [markdown]
# ## An automatic rater, and how we know it works
#
# For each concept with pictures we collect two sets of predictors:
#
# - **semantic**, what is known without seeing the object: the sentence embedding of
#   "word: definition" (all-MiniLM-L6-v2), the word2vec vector of the word, the 53
#   THINGSplus categories and the eleven THINGSplus property ratings (man-made,
#   natural, lives, moves, graspable, heavy, precious, pleasant, ...);
# - **visual**, what is in its pictures, averaged over the concept's styles: hue,
#   saturation and lightness histograms of the object's pixels, the shape of its mask
#   (area, elongation, circularity, convexity), texture (lightness spread, gradient,
#   edge density) and the first convolutional block of EfficientNet-Lite0, averaged on
#   a 4 × 4 grid.
#
# Each block is standardised and weighted equally. A dimension's semantic and visual R²
# are the nested cross-validated R² of a ridge regression from each set (chapter 3's
# procedure). Before applying the thresholds we remove the linear trend of each R² over
# the dimension's rank, as the paper does for its semantic validation: later, sparser
# dimensions are harder to predict from anything. A dimension is **unclear** when
# neither R² passes a floor, **semantic** or **visual** when one side wins by a margin,
# and **mixed** otherwise.
#
# The floor and the margins are chosen on **planted dimensions** of known nature, built
# like embedding dimensions (non-negative, 40 % zeros, with noise of varying strength):
# visual ones from the pictures' redness, greenness, blueness, yellowness, darkness,
# roundness, elongation or edge density (measured differently from the histograms above);
# semantic ones from the 27 THINGS categories (food, animal, tool, ...); mixed ones as the
# sum of one of each; unclear ones as pure noise. The definitions are split in two
# halves: the thresholds are chosen on one, and the accuracy is reported on the other.

# %%
rater_model = autorate.emoji_rater(
    picture_rows,
    probe,
    sentence_vectors,
    alpha_grid=alpha_grid,
    n_planted_per_class=n_planted_per_class,
    n_outer=n_outer,
    n_inner=n_inner,
    seed=seed,
)
validation = rater_model.validation
test = validation[validation["split"] == "test"]
planted_accuracy = float((test["planted"] == test["rated"]).mean())

# %% tags=["hide-input"]
glue("planted_accuracy", 100 * planted_accuracy, display=False)
glue("n_planted_test", len(test), display=False)
glue("n_rated_concepts", int(rater_model.objects.size), display=False)
for name, value in dataclasses.asdict(rater_model.thresholds).items():
    glue(f"threshold_{name}", float(value), display=False)
styled_table(autorate.confusion(test["planted"], test["rated"]))

# %% tags=["hide-input"]
fig = px.scatter(
    validation.assign(semantic=100 * validation["semantic"], visual=100 * validation["visual"]),
    x="visual",
    y="semantic",
    color="planted",
    symbol="split",
    hover_name="definition",
    labels={"visual": "visual R² (%)", "semantic": "semantic R² (%)"},
    title="Planted dimensions: R² from pictures against R² from knowledge",
)
fig.show()

# %% [markdown]
# On the {glue:text}`n_planted_test` planted dimensions that played no part in choosing
# the thresholds, the rater gives the planted label to
# **{glue:text}`planted_accuracy:.1f` %** (the confusion matrix above, planted labels in
# rows). The chosen rule: unclear when both R² are below
# {glue:text}`threshold_unclear:.2f`; semantic when the semantic R² exceeds the visual
# one by more than {glue:text}`threshold_semantic_margin:.2f`; visual when the visual R²
# exceeds the semantic one by more than {glue:text}`threshold_visual_margin:.2f`; mixed
# otherwise. This validates the decision rule on dimensions built from what defines
# them; it does not show that people would agree with it on real dimensions, and
# language carries visual knowledge too (bananas are yellow), so a "semantic" label
# means "predictable from what is known about the concept".
#
# ## Rating the embeddings
#
# The human embeddings: the published VICE-42 and SPoSE-49 and the book's own SPoSE fit
# (chapter 2). The network embeddings: the VGG-16 stand-in (chapter 2), EfficientNet-Lite0 on the
# pictures (chapter 2; averaged per concept), and a CLIP ViT-B/32 embedding fitted
# exactly as the VGG-16 one: the same number of random triplets answered by CLIP's
# concept features (dot product), the same 90/10 split and the same VICE settings.

# %%
network_config = dataclasses.replace(
    emb.preset("small_data", "dnn_vice"),
    beta=network_beta,
    max_epochs=network_max_epochs,
    min_epochs=network_min_epochs,
    stability_window=network_window,
)
clip_fit, clip_test = emb.fit_vice_to_network(
    data.load_clip_features(),
    network_config,
    n_triplets=n_network_triplets,
    seed=seed,
    checkpoint_dir=paths.embeddings_dir(profile),
    prefix="clip_",
)
clip_fit.save(paths.clip_embedding(profile))
clip_accuracy = emb.evaluate_embedding(clip_fit.embedding.weights, clip_test)["accuracy"]

# %% tags=["hide-input"]
glue("clip_dims", clip_fit.embedding.n_dims, display=False)
glue("n_clip_train", n_network_triplets - len(clip_test), display=False)
glue("clip_acc", 100 * float(clip_accuracy), display=False)

# %% [markdown]
# From {glue:text}`n_clip_train:,` CLIP triplets VICE keeps **{glue:text}`clip_dims`
# dimensions** and predicts {glue:text}`clip_acc:.1f` % of CLIP's held-out choices.

# %%
effnet = emb.load_embedding(paths.efficientnet_lite0_embedding(profile))
display_names = {
    "vice42": "human VICE-42 (published)",
    "spose49": "human SPoSE-49 (published)",
    "human_spose": "human SPoSE (chapter 2)",
    "vgg16": "VGG-16 stand-in (chapter 2)",
    "clip": "CLIP ViT-B/32 (this chapter)",
    "effnet": "EfficientNet-Lite0 (chapter 2, pictures)",
}
network_keys = ["vgg16", "clip", "effnet"]
embeddings = {
    "vice42": data.load_human_embedding("vice42"),
    "spose49": data.load_human_embedding("spose49"),
    "human_spose": emb.load_embedding(paths.human_spose_embedding(profile)).weights,
    "vgg16": emb.load_embedding(paths.vgg16_embedding(profile)).weights,
    "clip": clip_fit.embedding.weights,
}
# columns in importance order, as chapters 2, 3 and 6 use them
embeddings = {k: emb.from_published(v, name=k).weights for k, v in embeddings.items()}
ratings = {key: rater_model.rate(weights) for key, weights in embeddings.items()}
ratings["effnet"] = rater_model.rate_pictures(effnet.weights, picture_rows)
labels = pd.concat([table.assign(embedding=key) for key, table in ratings.items()])
styled_table(
    labels.replace({"embedding": display_names})
    .groupby("embedding", sort=False)["label"]
    .value_counts()
    .unstack(fill_value=0)
)

# %% [markdown]
# ### The shares of visual, mixed and semantic dimensions
#
# As in the paper, the shares leave out the unclear dimensions. Each share has a 95 %
# bootstrap interval over the embedding's dimensions; the permutation test asks
# whether the share of semantic dimensions differs between the published human
# VICE-42 and each network (dimensions pooled and reassigned at random; the paper
# reports no test, this one is ours).

# %%
rows = []
for key, table in ratings.items():
    for weighting, w in (("by count", None), ("by importance", table["importance"])):
        boot = rating.bootstrap_shares(table["label"], w, n_bootstrap=n_bootstrap, seed=seed)
        for quality, row in boot.iterrows():
            rows.append(
                {"embedding": display_names[key], "weighting": weighting, "quality": quality}
                | {k: 100 * float(v) for k, v in row.items()}
            )
shares = pd.DataFrame(rows)
tests = []
for key in network_keys:
    difference, p = rating.permutation_test(
        ratings["vice42"]["label"],
        ratings[key]["label"],
        n_permutations=n_permutations,
        seed=seed,
    )
    tests.append(
        {
            "network": display_names[key],
            "semantic share, VICE-42 − network (points)": 100 * difference,
            "p": p,
        }
    )
tests = pd.DataFrame(tests).set_index("network")
count_shares = shares[shares["weighting"] == "by count"].pivot(
    index="embedding", columns="quality", values="share"
)

# %% tags=["hide-input"]
for key, prefix in [("vice42", "human"), ("vgg16", "vgg")]:
    for quality in rating.RATED_QUALITIES:
        share = count_shares.loc[display_names[key], quality]
        glue(f"{prefix}_{quality}", float(share), display=False)
glue("p_vgg", float(tests.loc["VGG-16 stand-in (chapter 2)", "p"]), display=False)
gaps = tests["semantic share, VICE-42 − network (points)"]
glue("min_semantic_gap", float(gaps.min()), display=False)
glue("max_semantic_gap", float(gaps.max()), display=False)
styled_table(tests, precision=1).format("{:.4f}", subset=["p"], na_rep="–")

# %% tags=["hide-input"]
fig = px.bar(
    shares,
    x="embedding",
    y="share",
    color="quality",
    facet_row="weighting",
    barmode="group",
    error_y=shares["high"] - shares["share"],
    error_y_minus=shares["share"] - shares["low"],
    category_orders={"quality": list(rating.RATED_QUALITIES)},
    color_discrete_map=QUALITY_COLOURS,
    labels={"share": "share of rated dimensions (%)", "embedding": ""},
    title="Visual, mixed and semantic dimensions (unclear ones left out; 95 % bootstrap)",
    height=650,
)
fig.show()

# %% [markdown]
# By count, the published human VICE-42 has {glue:text}`human_semantic:.0f` % semantic,
# {glue:text}`human_mixed:.0f` % mixed and {glue:text}`human_visual:.0f` % visual
# dimensions by this rater; our VGG-16 stand-in embedding {glue:text}`vgg_semantic:.0f` %,
# {glue:text}`vgg_mixed:.0f` % and {glue:text}`vgg_visual:.0f` % (permutation test of
# the semantic share, p = {glue:text}`p_vgg:.4f`). The paper's Fig. 2c shows the human
# dimensions mostly semantic and VGG-16's dominated by visual and mixed ones. The
# semantic share of VICE-42 exceeds each network's by {glue:text}`min_semantic_gap:.0f`
# to {glue:text}`max_semantic_gap:.0f` points (the table above, with the p-values); our
# own human SPoSE fit, from far fewer choices, has a lower semantic share than the
# published embeddings. Unlike the paper, our
# rater calls almost no concept-level dimension purely visual: the visual predictors
# describe emoji drawings, while the human and VGG-16 dimensions were learnt from
# choices about THINGS photos, so what is visual in them is only partly visible in a
# drawing. Across the layers of one network (below) the same rater does call most early
# dimensions visual. Weighting each dimension by its share of the embedding's total
# weight (the paper's "relative importance", Fig. 2c, lower panel) lets the leading dimensions
# count more.
#
# ### Unclear dimensions

# %%
unclear = pd.DataFrame(
    {
        display_names[key]: {
            "unclear, by count (%)": 100 * float((t["label"] == "unclear").mean()),
            "unclear, by importance (%)": 100
            * float(t.loc[t["label"] == "unclear", "importance"].sum()),
            "dimensions": len(t),
        }
        for key, t in ratings.items()
    }
).T
unclear["paper (%)"] = pd.Series({display_names["vice42"]: 7.35, display_names["vgg16"]: 8.57})

# %% tags=["hide-input"]
for key, prefix in [("vice42", "human"), ("vgg16", "vgg")]:
    share = unclear.loc[display_names[key], "unclear, by count (%)"]
    glue(f"{prefix}_unclear", float(share), display=False)
styled_table(unclear.astype({"dimensions": int}).rename_axis("embedding"), precision=1).format(
    "{:.2f}", subset=["paper (%)"], na_rep="–"
)

# %% [markdown]
# The paper's raters called 7.35 % of the human and 8.57 % of the VGG-16 dimensions
# unclear (paper, Fig. 2 caption; it gives no share for the other embeddings, "–" in
# the table); our rater calls {glue:text}`human_unclear:.1f` % of
# VICE-42's and {glue:text}`vgg_unclear:.1f` % of our VGG-16 stand-in embedding's dimensions
# unclear. Here "unclear" means that neither side predicts the dimension on the rated
# concepts, which also happens when a dimension is nearly zero on all of them. Our
# VGG-16 embedding is learnt from a concept-level stand-in of VGG-16's features (chapter
# 1), and many of its dimensions are predicted neither by knowledge of the concepts nor
# by their drawings; they are the main reason its share of unclear dimensions is far
# above the paper's.
#
# ### Each dimension's two R²

# %% tags=["hide-input"]
fig = px.scatter(
    labels.assign(
        visual=100 * labels["visual"],
        semantic=100 * labels["semantic"],
        embedding=labels["embedding"].map(display_names),
    ),
    x="visual",
    y="semantic",
    color="embedding",
    symbol="label",
    hover_data={"dimension": True},
    labels={"visual": "visual R², detrended (%)", "semantic": "semantic R², detrended (%)"},
    title="Semantic against visual R² of every dimension",
    height=550,
)
fig.show()

# %% [markdown]
# ## Across the layers of one network
#
# The paper fits embeddings to VGG-16's early, middle and late convolutional layers and
# its penultimate layer, has them rated, and finds the visual share falling with depth.
# We do the same with EfficientNet-Lite0 on the pictures: the early (`_blocks.2`),
# middle (`_blocks.7`) and late (`_blocks.14`) stages, averaged on a 4 × 4 grid, and the
# pooled penultimate layer (chapter 2's embedding). Each layer answers its own random
# picture triplets and gets its own VICE fit with chapter 2's picture settings; the
# visual predictors (the first block, `_blocks.0`) never include the rated layer.

# %%
layer_config = dataclasses.replace(network_config, beta=layer_beta, max_epochs=layer_max_epochs)
layer_ratings = {}
for depth in ("early", "middle", "late", "penultimate"):
    module = features.EFFICIENTNET_LITE0_LAYERS[depth]
    if depth == "penultimate":
        layer_embedding = effnet
    else:
        layer_embedding = emb.fit_vice_to_network(
            features.load_image_features(feature_dir, module)[0],
            layer_config,
            n_triplets=n_layer_triplets,
            seed=seed,
            checkpoint_dir=paths.embeddings_dir(profile),
            prefix=f"effnet_{depth}_",
            relu=True,  # as chapter 2's picture embedding
        )[0].embedding
    table = rater_model.rate_pictures(layer_embedding.weights, picture_rows, rated_layer=module)
    layer_ratings[depth] = table.assign(layer=f"{depth} ({module})")
by_layer = pd.DataFrame(
    {layer: rating.quality_shares(table["label"]) * 100 for layer, table in layer_ratings.items()}
).T
by_layer["dimensions"] = [len(t) for t in layer_ratings.values()]

# %% tags=["hide-input"]
glue("visual_early", float(by_layer.loc["early", "visual"]), display=False)
glue("visual_penultimate", float(by_layer.loc["penultimate", "visual"]), display=False)
styled_table(by_layer.rename_axis("layer"), precision=1)

# %% tags=["hide-input"]
fig = px.line(
    by_layer.reset_index(names="layer").melt(
        id_vars="layer", value_vars=list(rating.RATED_QUALITIES), var_name="quality"
    ),
    x="layer",
    y="value",
    color="quality",
    markers=True,
    color_discrete_map=QUALITY_COLOURS,
    labels={"value": "share of rated dimensions (%)", "layer": "EfficientNet-Lite0 layer"},
    title="Visual, mixed and semantic dimensions across depth",
)
fig.show()

# %% [markdown]
# The visual share goes from {glue:text}`visual_early:.0f` % in the early stage to
# {glue:text}`visual_penultimate:.0f` % in the penultimate layer (paper, Results:
# falling with depth for VGG-16).
#
# ## Rate the dimensions yourself
#
# The automatic rater is a stand-in for people. The rating tool shows dimensions the
# way the paper's raters saw them, without saying which embedding they come from: the
# dimensions of the human VICE-42, our VGG-16 stand-in and our CLIP embeddings are pooled,
# given anonymous ids and shuffled with a fixed seed; the mapping back is kept in a
# separate file. Each collection shows objects from the top of the dimension down,
# {glue:text}`per_rank` per row, the rows starting at ranks 0, 2, 4, ..., 12 % of the
# concepts (a picture where the concept has one, the emoji drawing here and the first
# THINGS photo in the `paper` profile; its name otherwise).
# Three of them, as a rater sees them:

# %%
pooled = {key: embeddings[key] for key in ("vice42", "vgg16", "clip")}
session = rating.create_session(
    paths.rating_session(profile), {k: v.shape[1] for k, v in pooled.items()}, seed=seed
)
picture_paths = sources.concept_picture_paths(profile).value


def collection(item):
    embedding_name, dimension = session.source(item)
    objects = rating.collection_objects(pooled[embedding_name][:, dimension], per_rank)
    pictures = {
        int(o): rating.load_picture(picture_paths[o])
        for o in objects.ravel()
        if o in picture_paths
    }
    return rating.collection_picture(objects, names, pictures)


# %% tags=["hide-input"]
glue("per_rank", per_rank, display=False)
shown_items = list(session.items[:n_collections_shown])
fig = image_grid(
    np.stack([collection(item) for item in shown_items]),
    shown_items,
    1,  # one collection per row, near its own size
    title="Anonymised collections (rows: ranks 0, 2, ..., 12 %)",
    cell_height=720,
)
fig.show()

# %% [markdown]
# **To rate**, open this chapter in Jupyter, Binder or Colab (the rocket button above),
# set `rater` in the parameters cell to your initials or a code, and run the notebook.
# The cell below then shows the rating widget: choose the quality, the concept type,
# up to five labels (separated by `;`) and an interpretability from 1 to 7, and press
# *Save and next*. Every answer is appended atomically to `ratings.csv` in the
# session's folder, and a restarted session resumes at your first unrated dimension.
# The published page is a static snapshot and cannot run the widget.

# %%
if rater:
    display(rating.RatingWidget(session, collection, rater))

# %% [markdown]
# Ratings collected with the widget are compared with the automatic labels: the share
# of dimensions with the same label and Cohen's κ.

# %%
collected = rating.load_ratings(session.ratings_path, session.items)
if collected.empty:
    print(f"No ratings collected yet in {session.ratings_path.name}.")
else:
    restored = rating.restore_sources(collected, session)
    automatic = {
        (key, int(d)): label
        for key, table in ratings.items()
        for d, label in zip(table["dimension"], table["label"], strict=True)
    }
    restored["automatic"] = [
        automatic[(e, int(d))]
        for e, d in zip(restored["embedding"], restored["dimension"], strict=True)
    ]
    display(
        styled_table(
            pd.DataFrame([rating.agreement(restored["quality"], restored["automatic"])]),
            index=False,
        )
    )

# %% [markdown]
# ## The labels for the next chapters
#
# Chapter 6 labels the dimensions that drive the choices where humans and VGG-16
# disagree; the table of labels is stored with its provenance.

# %%
labels_path = rating.save_labels(
    paths.automatic_labels(profile),
    labels,
    produced_by="notebooks/05_visual_semantic_rating",
    parameters={"seed": seed, "n_outer": n_outer, "n_inner": n_inner}
    | {"thresholds": dataclasses.asdict(rater_model.thresholds)},
)

# %% [markdown]
# ## Download the results
#
# Every rated dimension with its two R² and its label, the shares of visual, mixed and
# semantic dimensions with their bootstrap intervals, and the shares across
# EfficientNet-Lite0's layers, each with a provenance record:

# %% mystnb={"markdown_format": "myst"}
from dnnalign_utils import downloads

downloads.links(
    downloads.publish(
        labels.reset_index(drop=True).assign(
            **{
                "embedding name": labels["embedding"].map(display_names).to_numpy(),
                "dimension": labels["dimension"].to_numpy() + 1,
            }
        ),
        "dimension_ratings",
        "05_visual_semantic_rating",
        profile,
        description="the automatic rater's semantic and visual R² and label of every "
        "dimension (dimensions numbered from 1 in order of importance)",
        parameters={"seed": seed} | {"thresholds": dataclasses.asdict(rater_model.thresholds)},
    )
    + downloads.publish(
        shares,
        "quality_shares",
        "05_visual_semantic_rating",
        profile,
        description="shares (%) of visual, mixed and semantic dimensions per embedding, by "
        "count and by importance, with 95 % bootstrap intervals",
        parameters={"n_bootstrap": n_bootstrap, "seed": seed},
    )
    + downloads.publish(
        tests,
        "semantic_share_tests",
        "05_visual_semantic_rating",
        profile,
        description="permutation tests of the semantic share, VICE-42 against each network",
        parameters={"n_permutations": n_permutations, "seed": seed},
    )
    + downloads.publish(
        by_layer.rename_axis("layer"),
        "quality_shares_by_layer",
        "05_visual_semantic_rating",
        profile,
        description="shares (%) of visual, mixed and semantic dimensions across "
        "EfficientNet-Lite0's layers",
    )
)

# %% [markdown]
# ## What our data can and cannot show
#
# - The paper's Fig. 2c comes from people rating 186 image collections of THINGS
#   photos (paper, Methods). Ours comes from a regression rater validated on planted dimensions
#   ({glue:text}`planted_accuracy:.1f` % correct), on the
#   {glue:text}`n_rated_concepts` concepts that have drawings. Where people and the
#   rater would disagree is open until people rate with the tool above.
# - Our human embeddings are the real ones (two published, one fitted in chapter 2);
#   our network embeddings come from a concept-level stand-in for VGG-16, CLIP's
#   concept features and a network seeing drawings, not the paper's image-level
#   VGG-16 embedding. The `paper` profile would rate those.
# - The visual predictors see drawings, not photos: colour and shape of an emoji are
#   cleaner than in a photo, texture is poorer.
#
# ## In this notebook we
#
# - built a blind rating tool whose answers are validated and stored atomically;
# - built an automatic visual/semantic rater and validated it on planted dimensions
#   ({glue:text}`planted_accuracy:.1f` % correct on definitions it was not calibrated
#   on);
# - rated three human and three network embeddings, with bootstrap intervals, a
#   permutation test and importance weighting, and the unclear shares next to the
#   paper's;
# - rated EfficientNet-Lite0's embeddings across depth;
# - stored the labels for chapter 6.
