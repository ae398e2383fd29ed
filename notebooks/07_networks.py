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
# # The same questions across networks
#
# ## Overview
#
# Chapters 1 to 6 ask their questions of one network, the book's VGG-16 stand-in. The
# paper, too, fits its embedding to one network, VGG-16 {cite:p}`simonyan2015vgg` on the
# THINGS photos ({cite:t}`mahner2025dimensions`, Fig. 1 and Methods), for all of its
# analyses; other networks appear only in its dimension ratings, whose published data
# also cover embeddings of ResNet-50, CLIP, DenseNet and Barlow Twins, rated visual,
# mixed, semantic or unclear as VGG-16's were. This chapter asks every question of
# every network the book can run offline, with the functions the chapters use, and puts
# the answers side by side:
#
# - **human alignment of choices**: how often the network's odd-one-out choice is the
#   human one, against the human noise ceiling (chapter 1);
# - **dimensionality**: how many dimensions VICE keeps from the network's own choices,
#   and how much of the network's similarity structure they explain (chapter 2);
# - **R²**: how well the network's features predict each dimension (chapter 3);
# - **visual and semantic shares** of the dimensions, from chapter 5's automatic rater;
# - **the best-matched dimensions**: the held-out correlation of the best-matched pair
#   of human VICE-42 and network dimensions, and the correlation of the two similarity
#   matrices (chapter 6).
#
# For the VGG-16 stand-in the numbers are those chapters 1 to 6 recorded in this build;
# every other network goes through the same steps here, with settings sized to the
# book's time budget (printed below). Chapter 4's Grad-CAM is not part of the comparison,
# which would cost its two minutes per network: it explains the picture embedding of one
# picture network at a time, EfficientNet-Lite0's in the book; its `network` parameter
# (or `python -m dnnalign_utils.book report --network efficientnet_lite1`) runs it for
# the other EfficientNet-Lite networks.
#
# **Needs**: the artefacts of chapters 0 to 6 (run alone, the notebook runs them
# first). **Takes**: {glue:text}`takes`; fits and
# numbers are kept, so a rerun with the same settings takes seconds.
#
# **How our inputs differ from the paper's.** The paper's networks see 24,102 THINGS
# *photos*, one triplet of images at a time. Here the networks with features of all
# 1,854 concepts are concept-level representations embedded in the repository (the
# VGG-16 stand-in, a rank-200 factorisation of VGG-16's concept similarity whose source
# and unknowns {doc}`the data page <../book/data>` gives, and CLIP ViT-B/32's image
# embeddings averaged over each concept's photos), and the picture
# networks see the embedded **emoji drawings** (chapter 0), averaged per concept, for
# the concepts that have them. The picture networks are three versions of one small
# ImageNet architecture: EfficientNet-Lite0, the larger EfficientNet-Lite1, and
# EfficientNet-Lite0 with random weights, the untrained baseline that says how much of
# an answer the architecture and the pictures alone give.

# %% tags=["parameters"]
profile = "default"
seed = 0  # triplets, splits, fits, folds, the rater and the human matching
compared = [  # networks.NETWORKS names; the first is the one chapters 1-6 studied
    "vgg16",
    "clip_vit_b32",
    "efficientnet_lite0",
    "efficientnet_lite1",
    "efficientnet_lite0_untrained",
]
image_styles = ["noto"]  # emoji styles every picture network sees, empty: all seven
n_image_concepts = 0  # if > 0, only the first this many concepts with pictures (smoke)
n_concept_triplets = 1_000_000  # triplets per network of all 1,854 concepts (chapter 5's)
concept_beta = 3.0  # KL weight for those (chapter 2's VGG-16 value)
concept_max_epochs = 60
n_picture_triplets = 200_000  # triplets per picture network (its concepts with pictures)
picture_beta = 3.0  # KL weight for the picture networks
picture_max_epochs = 60
min_epochs = 30  # stability is checked from this epoch on (chapter 2's)
stability_window = 10  # epochs the kept-dimension count must stay the same
rsm_objects = 400  # >0: similarity matrices on the pairs of the first this many concepts
alpha_log10_min = -2.0  # chapter 3's ridge penalties: logspace(min, max, n)
alpha_log10_max = 6.0
n_alphas = 33
workers = 0  # Dask workers running the networks, one at a time each (0: one per core)

# %%
import dataclasses
import functools
import time

from IPython.display import HTML, Markdown
from myst_nb import glue

from dnnalign_utils import (
    autorate,
    curves,
    images,
    keynumbers,
    network_pipeline,
    networks,
    paths,
    plotting,
    rating,
    sweep,
    triplets,
)
from dnnalign_utils.book import start_chapter
from dnnalign_utils.plotting import styled_table
from dnnalign_utils.prose import counted

# The run profile's sizes unless a parameter set them (papermill with only `profile`,
# Jupyter, Colab), the measured run time of the Takes line, the figure template.
start_chapter(globals(), "07_networks")

# Run alone (a fresh Colab session, a downloaded notebook), this chapter first runs the
# earlier chapters whose artefacts it needs and does not find; in the book it does nothing.
from dnnalign_utils.book import ensure_upstream

ran_upstream = ensure_upstream(profile, "07_networks")

# %% [markdown]
# ## The networks
#
# `networks.load` gives each network's concept-level features: one row per concept it
# covers, in THINGS order. The picture networks see the same pictures, the
# {glue:text}`picture_styles` of each concept with pictures; their key and name say which.

# %%
nets, load_seconds = network_pipeline.load_networks(
    profile, compared, image_styles=image_styles, n_image_concepts=n_image_concepts
)
default_key = paths.DEFAULT_NETWORK

# %% tags=["hide-input"]
glue("picture_styles", network_pipeline.picture_styles_phrase(image_styles), display=False)
glue("n_networks", len(nets), display=False)
styled_table(network_pipeline.networks_table(nets), index=False)

# %% [markdown]
# ## One pipeline, every network
#
# Each network other than the VGG-16 stand-in goes through `network_pipeline.run_network`,
# which calls the chapters' own functions in turn: `triplets.network_choice_agreement`
# (chapter 1), random triplets answered by the network's dot products and a VICE fit
# (`triplets.sample_triplets`, `triplets.odd_one_out_choices`, `fitting.fit_vice`:
# chapters 1 and 2), `fitting.network_embedding_numbers` (chapter 2),
# `regression.nested_cv_ridge` with chapter 3's penalties and folds and
# `regression.network_r2_numbers` (chapter 3), chapter 5's automatic rater
# (`autorate.profile_rater`, `autorate.rate_network`) and
# `compare.network_human_numbers` (chapter 6). Each network's numbers are recorded under
# its own key with `keynumbers.record`, as the chapters record them.
#
# The settings differ by kind of network. A network of all 1,854 concepts gets
# chapter 5's settings for CLIP, which are chapter 1's and 2's for VGG-16, so chapter 5's
# finished CLIP fit is the same run and is reused: `run_network` looks for a checkpoint of
# the same run where chapters 2 and 5 keep a network's fits, and a checkpoint's name hashes
# the settings, seed and triplets. A picture network's fewer concepts need fewer triplets
# for as many per concept:

# %%
concept_settings = network_pipeline.PipelineSettings(
    n_triplets=n_concept_triplets,
    beta=concept_beta,
    max_epochs=concept_max_epochs,
    min_epochs=min_epochs,
    stability_window=stability_window,
    seed=seed,
    rsm_objects=rsm_objects,
    alpha_log10_min=alpha_log10_min,
    alpha_log10_max=alpha_log10_max,
    n_alphas=n_alphas,
)
picture_settings = dataclasses.replace(
    concept_settings,
    n_triplets=n_picture_triplets,
    beta=picture_beta,
    max_epochs=picture_max_epochs,
)

# %% tags=["hide-input"]
glue("rsm_objects", rsm_objects, display=False)
styled_table(network_pipeline.settings_table(concept_settings, picture_settings))

# %% [markdown]
# `network_pipeline.run_networks` reads the VGG-16 stand-in's numbers from what chapters
# 1 to 6 recorded (`network_pipeline.recorded_network`) and runs every other network with
# the settings of its kind. Each network is one task on a Dask cluster of this machine's
# cores (`sweep.run_tasks`, the engine of the sweep over many networks in How to run): a
# worker runs one network at a time on one core, and builds chapter 5's rater once, when
# a network's numbers are not yet stored.

# %%
started = time.perf_counter()
on_cluster = functools.partial(sweep.run_tasks, n_workers=workers, desc="networks")
runs, seconds = network_pipeline.run_networks(
    profile, nets, concept_settings, picture_settings, map_tasks=on_cluster
)
pipeline_wall_seconds = time.perf_counter() - started

# %% tags=["hide-input"]
glue("pipeline_seconds", sum(seconds.values()) + sum(load_seconds.values()), display=False)
glue("pipeline_wall_seconds", pipeline_wall_seconds, display=False)
styled_table(network_pipeline.timing_table(runs, load_seconds, seconds), precision=1, index=False)

# %% [markdown]
# The comparison took {glue:text}`pipeline_seconds:.0f` seconds of work here (features
# computed or read back, then each network's pipeline; a worker's first network that
# needs chapter 5's rater also builds it; numbers already stored with the same settings
# are read back). The pipelines ran side by side and took
# {glue:text}`pipeline_wall_seconds:.0f` seconds on the clock.
#
# ## The key numbers side by side
#
# One row per network (`keynumbers.table`); the columns and what they mean follow.

# %%
numbers = keynumbers.table(profile, [net.network for net in nets.values()])
labels = numbers["label"].to_dict()
# how many human responses and repeated triplets each network's chapter-1 numbers rest on
scored = {net.key: triplets.network_agreement(net) for net in nets.values()}
numbers = numbers.join(network_pipeline.sample_sizes(scored))

# %% tags=["hide-input"]
counts = ["n_concepts", "n_dimensions"]  # whole numbers, shown as such
correlations = ["best_match_r", "global_rsa_r"]  # Pearson r: two decimals
shown = numbers.set_index("label").rename_axis("network")
styled_table(shown.astype({c: "Int64" for c in counts}), precision=1).format(
    "{:.2f}", subset=correlations, na_rep="–"
)

# %% tags=["hide-input"]
for name, smallest in network_pipeline.smallest_sample_sizes(numbers, nets).items():
    glue(name, smallest, display=False)
picture_keys = [net.key for net in nets.values() if not net.complete]
glue("n_picture_networks", len(picture_keys), display=False)
picture_sizes = network_pipeline.picture_sizes_sentence([scored[k] for k in picture_keys])
glue("picture_sizes", picture_sizes, display=False)
styled_table(network_pipeline.column_meanings_table(), index=False)

# %% [markdown]
# The last two columns give the n behind chapter 1's two numbers. Networks of all 1,854
# concepts are scored on the {glue:text}`full_agreement_n_responses:,` responses of the
# noise-ceiling set (as chapter 1 scores them), and their noise ceiling comes from its
# {glue:text}`full_noise_ceiling_n_triplets:,` repeated triplets. A picture network
# covers only the concepts with pictures: {glue:text}`picture_sizes` A dash marks a
# number that cannot be computed: no held-out or no repeated triplet among a network's
# concepts.
#
# Chapter 1 also scores EfficientNet-Lite0, with a different number: there it answers
# from the drawings of all seven styles averaged per concept, and is scored on the
# human choices in the random samples among its concepts. Here it sees only the
# {glue:text}`picture_styles` and is scored on the held-out responses above, as every
# picture network in this table is. Other pictures and other triplets give another
# share; within each table the networks share both.
#
# For the networks of all concepts run here, the similarity matrices are compared on
# the pairs of the first {glue:text}`rsm_objects` concepts (all 1,854 take minutes per
# network); chapters 2 and 6 compare the VGG-16 stand-in's on every pair.
#
# ### Human alignment of choices

# %% tags=["hide-input"]
plotting.network_agreement_bars(numbers).show()

# %% [markdown]
# ### Dimensionality and similarity structure

# %% tags=["hide-input"]
paper_vgg = curves.PAPER_VGG16
plotting.network_embedding_bars(numbers, paper_vgg).show()

# %% [markdown]
# ### How well the network's features predict its dimensions

# %% tags=["hide-input"]
r2_long = network_pipeline.r2_table(runs, labels)
plotting.network_r2_boxes(r2_long, paper_vgg).show()

# %% [markdown]
# ### Visual and semantic dimensions

# %% tags=["hide-input"]
shares = network_pipeline.quality_shares(numbers)
plotting.network_quality_bars(shares).show()
human_labels = rating.load_labels(paths.automatic_labels(profile), "vice42")["label"]
networks_verdict = autorate.networks_verdict(
    100 * rating.quality_shares(human_labels), shares.to_dict("index")
)
glue("networks_verdict", Markdown(networks_verdict), display=False)

# %% [markdown]
# **Verdict.** {glue:md}`networks_verdict`
#
# ### The best-matched dimensions

# %% tags=["hide-input"]
plotting.network_human_match_bars(numbers).show()

# %% tags=["hide-input"]
for name, tag in [("efficientnet_lite0", "lite0"), ("efficientnet_lite0_untrained", "untrained")]:
    for column in ("choice_agreement", "n_dimensions", "rsm_variance_explained", "r2_median"):
        glue(
            f"{tag}_{column}",
            network_pipeline.key_number(numbers, nets, name, column),
            display=False,
        )
untrained_dims = network_pipeline.key_number(
    numbers, nets, "efficientnet_lite0_untrained", "n_dimensions"
)
glue(
    "untrained_dims",
    "no dimensions"
    if untrained_dims != untrained_dims
    else counted(int(untrained_dims), "dimension"),
    display=False,
)

# %% [markdown]
# **Learning matters.** With the same architecture, the same pictures and the same
# settings, the untrained EfficientNet-Lite0 agrees with people in
# {glue:text}`untrained_choice_agreement:.1f` % of the human choices among its concepts,
# against {glue:text}`lite0_choice_agreement:.1f` % for the trained one; VICE keeps
# {glue:text}`untrained_dims` from its choices (trained:
# {glue:text}`lite0_n_dimensions:.0f`), and the embedding explains
# {glue:text}`untrained_rsm_variance_explained:.0f` % of its similarity structure
# (trained: {glue:text}`lite0_rsm_variance_explained:.0f` %), with a median R² of
# {glue:text}`untrained_r2_median:.0f` % (trained: {glue:text}`lite0_r2_median:.0f` %).
# What an embedding finds in a network's choices depends on what the network learnt,
# not only on its architecture and its inputs.
#
# ## Our numbers next to the paper's
#
# The paper reports its numbers for VGG-16 on the THINGS photos; the row of the VGG-16
# stand-in is the nearest we have:

# %%
stand_in = numbers.loc[default_key]
next_to_paper = keynumbers.measures_next_to_paper(stand_in, paper_vgg, labels[default_key])

# %% tags=["hide-input"]
for key, value in {
    "stand_in_dims": stand_in["n_dimensions"],
    "stand_in_ve": stand_in["rsm_variance_explained"],
    "stand_in_r2_min": stand_in["r2_min"],
    "stand_in_visual": stand_in["visual_share"],
    "stand_in_mixed": stand_in["mixed_share"],
    "stand_in_best_r": stand_in["best_match_r"],
    "paper_best_r": paper_vgg["best_match_r"],
    "paper_dims": paper_vgg["dims_kept"],
    "paper_ve": 100 * paper_vgg["rsm_variance_explained"],
    "paper_r2_min": 100 * paper_vgg["r2_min_above"],
}.items():
    glue(key, float(value), display=False)
best = numbers["choice_agreement"].idxmax()
glue("best_agreement_network", labels[best], display=False)
glue("best_agreement", float(numbers.loc[best, "choice_agreement"]), display=False)
styled_table(next_to_paper)

# %% [markdown]
# The VGG-16 stand-in's embedding keeps {glue:text}`stand_in_dims:.0f` dimensions (paper:
# about {glue:text}`paper_dims:.0f`) and explains {glue:text}`stand_in_ve:.1f` % of the
# variance of the stand-in's similarity matrix (paper: {glue:text}`paper_ve:.2f` % of
# VGG-16's); its worst-predicted dimension has an out-of-fold R² of
# {glue:text}`stand_in_r2_min:.1f` % (paper: every dimension above
# {glue:text}`paper_r2_min:.0f` %); its best-matched pair with a human dimension correlates
# at r = {glue:text}`stand_in_best_r:.2f` (paper: about {glue:text}`paper_best_r:.2f`,
# against its 68-dimensional human embedding; ours against VICE-42). The paper finds
# VGG-16's dimensions dominated by visual and mixed ones (Fig. 2c); chapter 5's rater calls
# {glue:text}`stand_in_visual:.0f` % of the stand-in's dimensions visual and
# {glue:text}`stand_in_mixed:.0f` % mixed. Among
# the networks compared here, {glue:text}`best_agreement_network` chooses most like people
# ({glue:text}`best_agreement:.1f` % of their choices), with the caveat above about the
# picture networks' triplets.
#
# **What differs from the paper, and what that means for these numbers.**
#
# - **Concepts, not images.** Every network here answers triplets of concepts, from
#   features averaged over a concept's pictures; the paper's VGG-16 answers triplets of
#   single photos. A concept-level embedding describes fewer, smoother objects.
# - **Stand-ins and drawings.** The VGG-16 row is a low-rank stand-in for VGG-16's
#   similarity, not its activations, and CLIP's features are fixed concept averages. The
#   picture networks see emoji drawings, partly outside an ImageNet network's
#   experience (chapter 0 measures how often EfficientNet-Lite0 recognises them), and
#   only {glue:text}`n_seen_pictures:,` of the set's {glue:text}`n_all_pictures:,`
#   pictures ({glue:text}`picture_styles`): computing a picture network's features is
#   most of its time in the table above, and all pictures would multiply that by
#   {glue:text}`picture_factor:.1f` for each network that does not reuse chapter 0's
#   EfficientNet-Lite0 features, beyond the book's time budget. `image_styles = []`
#   shows every style.
# - **Subsets of concepts.** The picture networks cover the
#   {glue:text}`n_picture_concepts:,` concepts with pictures. Their agreement is
#   measured on other human triplets than the noise-ceiling set, and their match with
#   VICE-42 on those concepts only.
# - **Small fits.** The paper fits 20 million triplets with β = 0.24 over up to 1,000
#   epochs; we fit {glue:text}`n_concept_triplets:,` triplets per network of all
#   concepts and {glue:text}`n_picture_triplets:,` per picture network, with the stronger
#   prior chapter 2 measured to prune within a few dozen epochs.
# - **An automatic rater, not people.** The visual and semantic shares come from
#   chapter 5's rater, validated on planted dimensions, not from the paper's human
#   ratings; it sees a picture network's dimensions through the pictures of its concepts
#   only.
#
# **The `paper` profile** changes the inputs, not the questions: the picture networks
# see the THINGS photos instead of drawings, VGG-16 is VGG-16-BN's own activations
# rather than the stand-in, any ImageNet model of torchvision can join
# (`network="torchvision:<model>", layer=...` in chapters 1, 2, 3, 5 and 6, e.g. ResNet-50's
# `avgpool`, one of the networks the paper's participants rated), chapter 1 draws 20
# million triplets per network and chapter 2 fits them with the paper's settings. That
# takes a GPU for the photo features and hours of fitting per network; the book shows no
# numbers of ours for it.

# %% tags=["hide-input"]
glue("n_concept_triplets", n_concept_triplets, display=False)
glue("n_picture_triplets", n_picture_triplets, display=False)
all_pictures = images.load_manifest(verify=False)
seen_pictures = networks.embedded_pictures(image_styles, n_image_concepts)
glue("n_all_pictures", len(all_pictures), display=False)
glue("n_seen_pictures", len(seen_pictures), display=False)
glue("picture_factor", len(all_pictures) / len(seen_pictures), display=False)
glue("n_picture_concepts", int(seen_pictures["uniqueID"].nunique()), display=False)

# %% [markdown]
# ## Download the results

# %% mystnb={"markdown_format": "myst"}
from dnnalign_utils import downloads

downloads.links(
    downloads.publish(
        numbers.reset_index(),
        "key_numbers",
        "07_networks",
        profile,
        description="every network's key numbers (chapters 1-6's answers), one row per network",
        parameters={
            "concept_settings": dataclasses.asdict(concept_settings),
            "picture_settings": dataclasses.asdict(picture_settings),
            "image_styles": image_styles,
            "n_image_concepts": n_image_concepts,
        },
        columns=network_pipeline.numbers_download_columns(),
    )
    + downloads.publish(
        r2_long.reset_index(drop=True),
        "dimension_r2",
        "07_networks",
        profile,
        description="out-of-fold ridge R² of every embedding dimension, per network",
        columns=network_pipeline.R2_COLUMNS,
    )
)

# %% [markdown]
# ## In this notebook we
#
# - put {glue:text}`n_networks` networks through the pipeline of chapters 1 to 6 with the
#   chapters' own functions, reusing what chapters 1 to 6 recorded for the VGG-16
#   stand-in and chapter 5's CLIP fit;
# - compared their agreement with people's choices against the noise ceiling, the size
#   of their embeddings and how much of their similarity structure these explain, how
#   well their features predict each dimension, the share of visual and semantic
#   dimensions and their best match with the human dimensions;
# - set the VGG-16 stand-in's numbers next to the paper's VGG-16 and listed what differs.

# %% tags=["remove-cell"]
# The intro's summary, one line per analysis, pasted there from this chapter: the book's
# own network next to the paper's VGG-16, and the human embedding's shares.
glue(
    "next_to_paper",
    HTML(
        keynumbers.next_to_paper_html(
            keynumbers.next_to_paper(
                numbers.loc[default_key].to_dict(),
                100 * rating.quality_shares(human_labels),
                curves.PAPER_VGG16,
            ),
            labels[default_key],
        )
    ),
    display=False,
)
