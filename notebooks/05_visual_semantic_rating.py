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
# caption). The ratings themselves are not available offline. This chapter studies one
# network, the one named in its parameters (`network`; here **{glue:text}`network_label`**),
# and
#
# 1. builds the rating tool: dimensions of several embeddings pooled, anonymised and
#    shuffled, shown one at a time as the paper's raters saw them, with the answers
#    written to a validated CSV (live sessions only);
# 2. builds an **automatic rater** that needs no person, in two forms: does what a
#    concept *is* (its categories, rated properties and name) or what its pictures *look
#    like* (colour, shape, texture, an early network layer) explain a dimension beyond
#    the other side (a commonality analysis of ridge regressions); and do a dimension's
#    top concepts share an appearance or a meaning more than random collections do (where
#    people look)? Both decision rules are calibrated on planted dimensions shaped exactly
#    like real ones, tested on other planted ones, and checked on human dimensions that
#    plainly share a colour or a shape;
# 3. rates the human embeddings, the studied network's embedding and, for comparison,
#    those of CLIP and of EfficientNet-Lite0 on the pictures, with bootstrap intervals and
#    a permutation test of human against each network, and the paper's analysis across
#    the layers of one network.
#
# **Needs**: chapter 0's picture features, chapter 2's embeddings (of the studied
# network and of EfficientNet-Lite0's pictures).
# **Takes**: {glue:text}`takes` (it fits up to four
# embeddings; a rerun resumes from their checkpoints).
#
# **Another network.** Set `network` in the parameters cell to a registered network
# (`vgg16`, `clip_vit_b32`, `efficientnet_lite0`, `efficientnet_lite1`,
# `efficientnet_lite0_untrained`), or give your own concept features (`features_path`,
# a `.npy` of 1,854 rows or a thingsvision folder, with `layer`) or your own pictures
# (`images_dir`: a folder with `concepts.csv` of `file,uniqueID`, seen by a picture
# network). Run chapters 1 and 2 with the same parameters first: this chapter rates the
# embedding chapter 2 fitted to that network, and writes its labels, rating session,
# downloads and key numbers into that network's own artefact folder. The comparison
# embeddings (the human ones, CLIP and EfficientNet-Lite0 on the pictures) and the
# analysis across layers are the same for every network; when the studied network is
# CLIP itself, its chapter 2 embedding takes the place of the CLIP fit below.
#
# **How our data differ from the paper's.** The paper's raters were people; ours is a
# pair of regressions, validated on planted dimensions but not on people's judgements
# (rate some dimensions with the widget below to compare). Only the 468 concepts with
# pictures in the embedded emoji set can be rated from pictures, so every embedding is
# rated on those concepts (a network that covers only some concepts, on those of them
# it covers). Our network embeddings are those of the earlier chapters (in the book,
# VGG-16 from a concept-level stand-in, EfficientNet-Lite0 from drawings), not the
# paper's 70-dimensional VGG-16 embedding of 24,102 photos (paper, Results and Methods).
# The VGG-16 stand-in's source, and what is not known about it (the layer, batch
# normalisation, how photos were averaged), are on {doc}`the data page <../book/data>`.

# %% tags=["parameters"]
profile = "default"
network = "vgg16"  # the network studied: a name of networks.NETWORKS, or yours (below)
features_path = ""  # your concept features: a .npy (1,854 rows) or a thingsvision folder
images_dir = ""  # or a folder of your pictures with concepts.csv (file,uniqueID)
layer = ""  # layer of a thingsvision folder or of a picture network (empty: its default)
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
n_layer_triplets = 300_000  # picture triplets per EfficientNet-Lite0 layer (chapter 2: 1M)
layer_beta = 0.6  # KL weight of the layer fits (chapter 2's picture embedding: 2.0)
layer_max_epochs = 50
per_rank = 6  # objects per rank position in a collection (paper, Methods: 12)
n_collections_shown = 3  # anonymised collections shown on the page
rater = ""  # your rater id (initials or a code): set it to rate in a live session

# %%
import dataclasses

import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from dnnalign_utils import (
    autorate,
    data,
    features,
    keynumbers,
    networks,
    paths,
    plotting,
    rating,
    sources,
)
from dnnalign_utils import embedding as emb
from dnnalign_utils.book import start_chapter
from dnnalign_utils.plotting import image_grid, styled_table

# The run profile's sizes unless a parameter set them (papermill with only `profile`,
# Jupyter, Colab), the measured run time of the Takes line, the figure template.
start_chapter(globals(), "05_visual_semantic_rating")

# Run alone (a fresh Colab session, a downloaded notebook), this chapter first runs the
# earlier chapters whose artefacts it needs and does not find; in the book it does nothing.
from dnnalign_utils.book import ensure_upstream

studied = networks.resolve(
    network, features_path=features_path, images_dir=images_dir, layer=layer
)
ensure_upstream(profile, "05_visual_semantic_rating", studied)
net = networks.load(profile, studied)
glue("network_label", net.label, display=False)
alpha_grid = np.logspace(alpha_log10_min, alpha_log10_max, n_alphas)
names = data.concept_names()  # homonyms told apart (bat, baton, ...)
feature_dir = paths.image_features(profile)
picture_rows = features.load_image_features(feature_dir, autorate.VISUAL_PROBE_LAYER)[1]

# %% [markdown]
# ## An automatic rater, and how we know it works
#
# For each concept with pictures we collect two sides of predictors, in blocks:
#
# - **semantic**, what a thing *is*, known without seeing it: the 53 THINGSplus
#   categories, the eleven THINGSplus property ratings (man-made, natural, lives, moves,
#   graspable, heavy, precious, pleasant, ...) and the word2vec vector of its name. We
#   leave out the concept's dictionary definition: definitions often name a colour or a
#   shape ("a yellow citrus fruit"), which would let the semantic side predict what is
#   really an appearance;
# - **visual**, what its pictures *look like*, averaged over the concept's styles: hue,
#   saturation and lightness histograms of the object's pixels, the shape of its mask
#   (area, elongation, circularity, convexity), texture (lightness spread, gradient, edge
#   density) and the first convolutional block of EfficientNet-Lite0, averaged on a 4 × 4
#   grid.
#
# Two raters read these predictors:
#
# - **commonality** (regression): one nested cross-validated ridge per side and one on
#   both sides together (chapter 3's procedure). The joint R² splits into what the visual
#   side explains *beyond* the semantic one, what the semantic side explains beyond the
#   visual one, and what both explain alike (a commonality analysis). A dimension is
#   unclear when the joint R² is below a floor; otherwise each side "adds its own share"
#   when its unique R² passes a bar: both, mixed; one, that side; neither (only shared
#   variance), the side with the larger R².
# - **collection** (where people look): a dimension's top {glue:text}`collection_size`
#   concepts, the first row or two of what the paper's raters saw. For each block we ask
#   how much more alike those concepts are (mean pairwise similarity of their
#   standardised predictors) than random collections of the same size, as a z-score; a
#   side's z is its most coherent block, standardised the same way against the random
#   collections. The collection shares an appearance when its visual z passes a bar, a
#   meaning when its semantic z does: both, mixed; one, that side; neither, unclear.
#
# The bars are chosen on **planted dimensions** of known nature that go through exactly
# the pipeline real dimensions go through. A planted dimension starts from a score:
# visual ones from the pictures' redness, greenness, blueness, yellowness, darkness,
# roundness, elongation or edge density (measured differently from the predictors),
# semantic ones from the 27 THINGS categories (food, animal, tool, ...), mixed ones from
# the sum of one of each, unclear ones from pure noise, each with noise added. It then
# takes the values of a real dimension: the published human VICE-42 dimension at a rank
# spread over the embedding's importance order, assigned to the concepts in the order of
# the planted score. So a planted dimension has the sparsity and scale of a real one at
# that rank, on the same concepts, and it is rated by the same function. The definitions
# are split in two halves: the bars are chosen on one, the accuracy is reported on the
# other. The method with the higher calibration accuracy gives the chapter's labels;
# both are reported.

# %%
rater_model = autorate.profile_rater(
    profile,
    alpha_grid=alpha_grid,
    n_planted_per_class=n_planted_per_class,
    n_outer=n_outer,
    n_inner=n_inner,
    seed=seed,
)
validation = rater_model.validation
accuracy = autorate.validation_accuracy(validation)
planted_accuracy = float(accuracy.loc[rater_model.method, "balanced"])

# %% tags=["hide-input"]
other_method = next(m for m in autorate.METHODS if m != rater_model.method)
glue("collection_size", rater_model.collection_size, display=False)
glue("rater_method", rater_model.method, display=False)
glue("other_method", other_method, display=False)
glue("planted_accuracy", 100 * planted_accuracy, display=False)
glue("other_accuracy", 100 * float(accuracy.loc[other_method, "balanced"]), display=False)
glue("n_planted_test", int((validation["split"] == "test").sum()), display=False)
glue("n_rated_concepts", int(rater_model.objects.size), display=False)
for quality in rating.QUALITIES:
    glue(
        f"planted_{quality}", 100 * float(accuracy.loc[rater_model.method, quality]), display=False
    )
styled_table(autorate.validation_table(validation), precision=1)

# %% tags=["hide-input"]
rules = autorate.rules_dict(rater_model)
glue("rule_explained", rules["commonality"]["explained"], display=False)
glue("rule_unique", rules["commonality"]["unique"], display=False)
glue("rule_z_visual", rules["collection"]["visual"], display=False)
glue("rule_z_semantic", rules["collection"]["semantic"], display=False)
test = validation[validation["split"] == "test"]
styled_table(autorate.confusion(test["planted"], test["label"]))

# %% [markdown]
# The first table gives, per planted class, the share of planted dimensions each method
# labels correctly (and the mean over classes, the balanced accuracy), in percent, on the
# {glue:text}`n_planted_test` planted dimensions that played no part in choosing the
# bars, and on those that did. The {glue:text}`rater_method` rater, whose labels this
# chapter uses, gets **{glue:text}`planted_accuracy:.1f` %** of the held-out planted
# dimensions right on balance (visual {glue:text}`planted_visual:.0f` %, semantic
# {glue:text}`planted_semantic:.0f` %, mixed {glue:text}`planted_mixed:.0f` %, unclear
# {glue:text}`planted_unclear:.0f` %); the {glue:text}`other_method` rater
# {glue:text}`other_accuracy:.1f` %. The second table is the chosen rater's confusion
# matrix on the held-out half (planted labels in rows). The chosen bars: commonality,
# unclear below a joint R² of {glue:text}`rule_explained:.2f`, a side's own share from a
# unique R² of {glue:text}`rule_unique:.2f`; collection, an appearance from a visual z of
# {glue:text}`rule_z_visual:.2f`, a meaning from a semantic z of
# {glue:text}`rule_z_semantic:.2f`. This validates the rule on dimensions built from what
# defines them; whether people would agree on real dimensions is the next check.
#
# ### A check you can make by eye
#
# Some human dimensions plainly share a colour or a shape. We find them without
# choosing by hand: for every dimension of the published human VICE-42 we measure, on
# its top {glue:text}`collection_size` concepts' pictures, how far the share of one of
# twelve hue bins in their hue mass exceeds its share in random collections of the same
# size (the most exceptional bin), the same for four lightness bins, and the mean
# roundness of the object outlines, each as a z against the random collections. A
# dimension counts as sharing **one hue**, **one lightness** or a **round** outline when
# its z is at least {glue:text}`appearance_z:.0f` (more so than about 1 in 1,000 random
# collections). Below are their top pictures and the labels both raters give them.

# %%
human_weights = emb.from_published(data.load_human_embedding("vice42"), name="vice42").weights
human_rated = human_weights[rater_model.objects]
appearance = autorate.appearance_of_top_collections(rater_model, human_rated, seed=seed)
human_labels = rater_model.rate(human_weights)
plain = autorate.plain_dimensions(appearance, human_labels)
glue("appearance_z", autorate.APPEARANCE_Z, display=False)
glue("n_plain", len(plain), display=False)

# %% tags=["hide-input"]
picture_paths = sources.concept_picture_paths(profile).value
top_objects = rater_model.objects[autorate.top_collections(human_rated, 10)]
if len(plain):
    plotting.collection_rows(
        top_objects[plain["dimension"]],
        names,
        picture_paths,
        title="Top concepts of the dimensions below,<br>one row each, in the table's order",
    ).show()
styled_table(autorate.plain_table(plain), precision=1, index=False)

# %% tags=["hide-input"]
glue("plain_note", Markdown(autorate.appearance_note(plain, rater_model.method)), display=False)
yellow_note = autorate.hue_note(
    rater_model, human_rated, human_labels, names, "orange–yellow", seed=seed
)
glue("yellow_note", Markdown(yellow_note), display=False)

# %% [markdown]
# {glue:text}`n_plain` VICE-42 dimensions share one hue, one lightness or a round shape
# by this criterion. {glue:md}`plain_note`
#
# {glue:md}`yellow_note`
#
# ## Rating the embeddings
#
# The human embeddings: the published VICE-42 and SPoSE-49 and the book's own SPoSE fit
# (chapter 2). The network embeddings: the studied network's, {glue:text}`network_label`
# (chapter 2), and for comparison EfficientNet-Lite0 on the pictures (chapter 2;
# averaged per concept) and a CLIP ViT-B/32 embedding.

# %%
network_config = dataclasses.replace(
    emb.preset("small_data", "dnn_vice"),
    beta=network_beta,
    max_epochs=network_max_epochs,
    min_epochs=network_min_epochs,
    stability_window=network_window,
)
net_embedding_path = paths.network_embedding(profile, studied)
net_embedding, net_objects = emb.load_network_embedding(net_embedding_path)
clip_is_studied = net.key == "clip_vit_b32"
if clip_is_studied:  # the studied network is CLIP: its chapter 2 embedding, no second fit
    clip_weights = net_embedding.weights
else:  # chapter 2's checkpoint of CLIP: a fit of the same triplets and settings is shared
    clip_fit, clip_test = emb.fit_vice_to_network(
        data.load_clip_features(),
        network_config,
        n_triplets=n_network_triplets,
        seed=seed,
        checkpoint_dir=paths.network_embedding(profile, networks.resolve("clip_vit_b32")).parent,
        prefix="clip_vit_b32_",
    )
    clip_fit.save(paths.clip_embedding(profile))
    clip_weights = clip_fit.embedding.weights
    clip_accuracy = emb.evaluate_embedding(clip_weights, clip_test)["accuracy"]

# %% tags=["hide-input"]
clip_source = (
    autorate.clip_source_note(net_embedding.n_dims)
    if clip_is_studied
    else autorate.clip_source_note(
        clip_fit.embedding.n_dims,
        n_train=n_network_triplets - len(clip_test),
        accuracy=clip_accuracy,
    )
)
glue("clip_source", Markdown(clip_source), display=False)

# %% [markdown]
# {glue:md}`clip_source`

# %%
effnet = emb.load_embedding(paths.picture_embedding(profile))
# the human embeddings, the studied network's and CLIP's, each with the THINGS index of its
# rows and the name shown, columns in importance order (as chapters 2, 3 and 6 use them)
embeddings, objects, display_names = autorate.embeddings_to_rate(
    profile,
    net.key,
    net.label,
    net_embedding.weights,
    net_objects,
    clip_weights=None if clip_is_studied else clip_weights,
)
network_keys = [net.key, "effnet"] if clip_is_studied else [net.key, "clip", "effnet"]
ratings = {
    key: autorate.rate_network(rater_model, weights, objects[key])
    for key, weights in embeddings.items()
}
ratings["effnet"] = rater_model.rate_pictures(effnet.weights, picture_rows)
network_shares = autorate.network_label_shares(
    profile, net_embedding.weights, net_objects, seed=seed, rater=rater_model
)
keynumbers.record(profile, studied, "05_visual_semantic_rating", net.label, **network_shares)
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
shares = rating.share_table(ratings, display_names, n_bootstrap=n_bootstrap, seed=seed)
tests = rating.semantic_share_tests(
    ratings, network_keys, display_names, n_permutations=n_permutations, seed=seed
)
count_shares = shares[shares["weighting"] == "by count"].pivot(
    index="embedding", columns="quality", values="share"
)

# %% tags=["hide-input"]
for key, prefix in [("vice42", "human"), (net.key, "net")]:
    for quality in rating.RATED_QUALITIES:
        share = count_shares.loc[display_names[key], quality]
        glue(f"{prefix}_{quality}", float(share), display=False)
glue("p_net", float(tests.loc[display_names[net.key], "p"]), display=False)
gaps = tests[rating.SEMANTIC_GAP]
glue("min_semantic_gap", float(gaps.min()), display=False)
glue("max_semantic_gap", float(gaps.max()), display=False)
styled_table(tests, precision=1).format("{:.4f}", subset=["p"], na_rep="–")

# %% tags=["hide-input"]
plotting.quality_share_bars(shares).show()

# %% [markdown]
# By count, the published human VICE-42 has {glue:text}`human_semantic:.0f` % semantic,
# {glue:text}`human_mixed:.0f` % mixed and {glue:text}`human_visual:.0f` % visual
# dimensions by this rater; the embedding of {glue:text}`network_label`
# {glue:text}`net_semantic:.0f` %, {glue:text}`net_mixed:.0f` % and
# {glue:text}`net_visual:.0f` % (permutation test of the semantic share,
# p = {glue:text}`p_net:.4f`). The semantic share of VICE-42 minus each network's ranges
# from {glue:text}`min_semantic_gap:.0f` to {glue:text}`max_semantic_gap:.0f` points (the
# table above, with the p-values; a negative difference means the network's share is the
# larger). Weighting each dimension by its share of the
# embedding's total weight (the paper's "relative importance", Fig. 2c, lower panel) lets
# the leading dimensions count more.
#
# ### The paper's result next to ours
#
# The paper gives Fig. 2c as bars without printing their values, so we describe its
# pattern in words (Mahner et al., 2025, Fig. 2c; [arXiv:2406.19087](https://arxiv.org/abs/2406.19087)):

# %% tags=["hide-input"]
verdict = autorate.headline_verdict(
    count_shares.loc[display_names["vice42"]], count_shares.loc[display_names[net.key]], net.label
)
glue("verdict", verdict.sentence, display=False)  # plain text, for the intro
glue("verdict_md", Markdown(verdict.sentence), display=False)
styled_table(verdict.table, precision=1, index=False)

# %% [markdown]
# **Verdict.** {glue:md}`verdict_md`
#
# ### Unclear dimensions

# %%
unclear = autorate.unclear_table(ratings, display_names)  # with the paper's shares

# %% tags=["hide-input"]
for key, prefix in [("vice42", "human"), (net.key, "net")]:
    share = unclear.loc[display_names[key], "unclear, by count (%)"]
    glue(f"{prefix}_unclear", float(share), display=False)
unclear_note = autorate.unclear_note(
    net.label,
    objects[net.key],
    rater_model.objects,
    book_network=studied.is_book_network,
    paper_profile=profile == "paper",
)
glue("unclear_note", unclear_note, display=False)
styled_table(unclear.astype({"dimensions": int}).rename_axis("embedding"), precision=1).format(
    "{:.2f}", subset=["paper (%)"], na_rep="–"
)

# %% [markdown]
# The paper's raters called 7.35 % of the human and 8.57 % of the VGG-16 dimensions
# unclear (paper, Fig. 2 caption; it gives no share for the other embeddings, "–" in
# the table); our rater calls {glue:text}`human_unclear:.1f` % of
# VICE-42's and {glue:text}`net_unclear:.1f` % of the dimensions of
# {glue:text}`network_label` unclear. Here "unclear" means that the two sides together
# predict the dimension no better than its mean on the rated concepts, which also
# happens when a dimension is nearly zero on all of them. {glue:text}`unclear_note`
#
# ### What each side explains beyond the other
#
# Each dimension's unique visual against its unique semantic R² (the commonality
# analysis), coloured by its label; hover for its embedding, the joint R² and the
# collection z-scores.

# %% tags=["hide-input"]
plotting.commonality_scatter(labels, display_names).show()

# %% [markdown]
# ## Across the layers of one network
#
# The paper fits embeddings to VGG-16's early, middle and late convolutional layers and
# its penultimate layer, has them rated, and finds the visual share falling with depth.
# We do the same with EfficientNet-Lite0 on the pictures: the early (`_blocks.2`),
# middle (`_blocks.7`) and late (`_blocks.14`) stages, averaged on a 4 × 4 grid, and the
# pooled penultimate layer (chapter 2's embedding). Each of the three stages answers its
# own {glue:text}`n_layer_triplets` random picture triplets and gets its own VICE fit
# with lighter settings than chapter 2's picture embedding (KL weight β
# {glue:text}`layer_beta`, at most {glue:text}`layer_max_epochs` epochs; chapter 2: β 2
# and 1 million triplets), to keep the chapter within minutes; the penultimate layer is
# chapter 2's own fit. The visual predictors' network layer (the first block,
# `_blocks.0`) is never the rated layer nor its neighbour, which the rater checks.

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
by_layer = rating.shares_by_layer(layer_ratings)

# %% tags=["hide-input"]
glue("n_layer_triplets", f"{n_layer_triplets:,}", display=False)
glue("layer_beta", layer_beta, display=False)
glue("layer_max_epochs", layer_max_epochs, display=False)
glue("visual_early", float(by_layer.loc["early", "visual"]), display=False)
glue("visual_penultimate", float(by_layer.loc["penultimate", "visual"]), display=False)
styled_table(by_layer.rename_axis("layer"), precision=1)

# %% tags=["hide-input"]
plotting.quality_shares_by_layer(by_layer).show()

# %% [markdown]
# The visual share goes from {glue:text}`visual_early:.0f` % in the early stage to
# {glue:text}`visual_penultimate:.0f` % in the penultimate layer (paper, Results:
# falling with depth for VGG-16); the table gives the number of dimensions each layer's
# fit keeps beside its shares.
#
# ## Rate the dimensions yourself
#
# The automatic rater is a stand-in for people. The rating tool shows dimensions the
# way the paper's raters saw them, without saying which embedding they come from: the
# dimensions of the embeddings {glue:text}`pooled_names` are pooled, given anonymous ids
# and shuffled with a fixed seed; the mapping back is kept in a separate file (the
# session is the studied network's own). Each collection shows objects from the top of
# the dimension down, {glue:text}`per_rank` per row, the rows starting at ranks 0, 2, 4,
# ..., 12 % of the concepts (a picture where the concept has one, the emoji drawing here
# and the first THINGS photo in the `paper` profile; its name otherwise; for a network
# that covers only some concepts, ranks among those).
# Three of them, as a rater sees them:

# %%
pooled = {key: embeddings[key] for key in ("vice42", net.key, "clip") if key in embeddings}
session = rating.create_session(
    paths.rating_session(profile, studied),
    pooled,  # the weights: a session of a re-fitted embedding is refused
    seed=seed,
)


def collection(item):
    embedding_name, dimension = session.source(item)
    ranked = rating.collection_objects(pooled[embedding_name][:, dimension], per_rank)
    shown = objects[embedding_name][ranked]  # rows -> THINGS indices
    pictures = {
        int(o): rating.load_picture(picture_paths[o]) for o in shown.ravel() if o in picture_paths
    }
    return rating.collection_picture(shown, names, pictures)


# %% tags=["hide-input"]
glue("per_rank", per_rank, display=False)
glue("pooled_names", "; ".join(display_names[key] for key in pooled), display=False)
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
    agreement = rating.automatic_agreement(collected, session, ratings)
    display(styled_table(pd.DataFrame([agreement]), index=False))

# %% [markdown]
# ## The labels for the next chapters
#
# Chapter 6 labels the dimensions that drive the choices where humans and
# {glue:text}`network_label` disagree; the table of labels (the studied network's under
# its key, `embedding` = {glue:text}`network_key`) is stored with its provenance, and the
# shares of visual, mixed and semantic dimensions of {glue:text}`network_label` are
# recorded among its key numbers.

# %%
glue("network_key", net.key, display=False)
labels_path = rating.save_labels(
    paths.automatic_labels(profile, studied),
    labels,
    produced_by="notebooks/05_visual_semantic_rating",
    parameters={"seed": seed, "n_outer": n_outer, "n_inner": n_inner, "network": net.key}
    | {"rules": autorate.rules_dict(rater_model)},
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
        autorate.ratings_table(labels, display_names),
        "dimension_ratings",
        "05_visual_semantic_rating",
        profile,
        description="every dimension's semantic, visual and joint R², their commonality, "
        "its top collection's z-scores and both raters' labels",
        parameters={"seed": seed} | {"rules": autorate.rules_dict(rater_model)},
        network=studied,
        columns=autorate.RATINGS_COLUMNS,
    )
    + downloads.publish(
        shares,
        "quality_shares",
        "05_visual_semantic_rating",
        profile,
        description="shares (%) of visual, mixed and semantic dimensions per embedding, by "
        "count and by importance, with 95 % bootstrap intervals",
        parameters={"n_bootstrap": n_bootstrap, "seed": seed},
        network=studied,
        columns=rating.QUALITY_SHARES_COLUMNS,
    )
    + downloads.publish(
        tests,
        "semantic_share_tests",
        "05_visual_semantic_rating",
        profile,
        description="permutation tests of the semantic share, VICE-42 against each network",
        parameters={"n_permutations": n_permutations, "seed": seed},
        network=studied,
        columns=rating.SEMANTIC_SHARE_TESTS_COLUMNS,
    )
    + downloads.publish(
        by_layer.rename_axis("layer"),
        "quality_shares_by_layer",
        "05_visual_semantic_rating",
        profile,
        description="shares (%) of visual, mixed and semantic dimensions across "
        "EfficientNet-Lite0's layers",
        network=studied,
        columns=rating.SHARES_BY_LAYER_COLUMNS,
    )
)

# %% [markdown]
# ## What our data can and cannot show
#
# - The paper's Fig. 2c comes from people rating 186 image collections of THINGS
#   photos (paper, Methods). Ours comes from an automatic rater validated on planted
#   dimensions ({glue:text}`planted_accuracy:.1f` % balanced accuracy on held-out ones),
#   on the {glue:text}`n_rated_concepts` concepts that have drawings. Where people and
#   the rater would disagree is open until people rate with the tool above.
# - Our human embeddings are the real ones (two published, one fitted in chapter 2);
#   our network embeddings come from concept-level features (in the book a stand-in for
#   VGG-16's, and CLIP's) and from a network seeing drawings, not the paper's
#   image-level VGG-16 embedding. The `paper` profile would rate those.
# - The visual predictors see drawings, not photos: colour and shape of an emoji are
#   cleaner than in a photo, texture is poorer.
#
# ## In this notebook we
#
# - built a blind rating tool whose answers are validated and stored atomically;
# - built two automatic visual/semantic raters (a commonality analysis of ridge
#   regressions, and a test of each dimension's top collection against random ones),
#   validated both on planted dimensions rated through the same code as real ones, and
#   used the better ({glue:text}`planted_accuracy:.1f` % balanced accuracy on
#   definitions it was not calibrated on);
# - checked it on human dimensions that plainly share a colour, a lightness or a shape;
# - rated three human embeddings, that of {glue:text}`network_label` and those of the
#   comparison networks, with bootstrap intervals, a permutation test and importance
#   weighting, and the unclear shares next to the paper's;
# - rated EfficientNet-Lite0's embeddings across depth;
# - stored the labels for chapter 6.
