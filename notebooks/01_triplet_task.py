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
# # The triplet odd-one-out task, for humans and networks
#
# ## Overview
#
# The paper puts people and VGG-16 {cite:p}`simonyan2015vgg` through the same task
# ({cite:t}`mahner2025dimensions`, Fig. 1 and Methods): of three objects, which is the odd
# one out? A network "answers" from
# its representation: the two objects with the largest dot product of their
# (ReLU-ed) penultimate-layer activations stay together, the third is the odd one
# out. The paper samples 20 million such network triplets and fits an embedding to
# them ({doc}`chapter 2 <02_embedding_fit>`). This chapter
#
# - shows the task on real human triplets and how a network answers them;
# - asks a question the paper leaves implicit: **how human-like are a network's
#   odd-one-out choices on the very same triplets?** We score the network this chapter
#   studies, here **{glue:text}`network_label`**, and CLIP ViT-B/32
#   {cite:p}`radford2021clip` against the human choices of the two held-out sets, next
#   to the human noise ceiling, and break the result down by THINGS category;
# - produces the studied network's triplets that chapter 2 trains on, with their
#   provenance.
#
# **Which network.** The `network` parameter of this chapter (and of chapters 2, 3, 5
# and 6) names the network under study: by default `"vgg16"`, the paper's network; also
# `"clip_vit_b32"`, the picture networks `"efficientnet_lite0"`, `"efficientnet_lite1"`
# and `"efficientnet_lite0_untrained"` (on the embedded emoji pictures, or on a folder of
# your own pictures given as `images_dir` with a `concepts.csv` of `file,uniqueID`), or
# your own concept features as `features_path` (a `.npy` with one row per THINGS concept
# in THINGS order, or a thingsvision features folder). Every artefact of a network other
# than the default is kept in its own folder. Here: {glue:text}`network_description`.
#
# **Needs**: embedded data only. **Takes**: {glue:text}`takes`.
#
# **How our data differ from the paper's.** The paper's VGG-16 (with batch norm)
# answers triplets of 24,102 THINGS *images* from `classifier.3` activations. The
# images and raw activations cannot be embedded here, so the network side runs on
# concept-level representations: for VGG-16 a non-negative matrix `W` (1,854 × 200)
# whose products `W Wᵀ` approximate the dot-product kernel of VGG-16 features of the
# THINGS concepts (about 96 % of the kernel explained), published as a test fixture of
# the pysrf repository; its source states neither the layer, nor whether batch
# normalisation was used, nor how a concept's photos were averaged ({doc}`the data page
# <../book/data>`). This rank-200 factorisation is labelled the **VGG-16 stand-in**
# throughout the book: it is not VGG-16's activations. For CLIP ViT-B/32 its image
# embedding averaged over each concept's images. The `paper` profile uses real
# activations instead: VGG-16-BN with ImageNet
# weights on every THINGS photo, `classifier.3` after its ReLU, averaged per concept
# (still concept-level triplets; `dnnalign_utils.sources`). A picture network answers
# from its features of each picture averaged per concept, and covers only the concepts
# that have pictures: it is then compared with people on the triplets among those
# concepts.

# %% tags=["parameters"]
profile = "default"
network = "vgg16"  # the network studied (see the overview for the choices)
features_path = ""  # your own concept features: a .npy (1,854 rows) or thingsvision folder
images_dir = ""  # your own pictures (with concepts.csv: file,uniqueID) for a picture network
layer = ""  # the layer of a picture network or thingsvision folder ("": its default)
seed = 0  # seeds sampling, splits and bootstraps
n_bootstrap = 1000  # bootstrap replicates for confidence intervals
n_examples = 6  # noise-ceiling triplets shown as examples
n_network_triplets = 1_000_000  # the network's triplets for chapter 2 (paper: 20 million)
test_fraction = 0.1  # held-out share of the network triplets (paper: 10 %)
n_picture_triplets = 4  # human triplets shown as pictures

# %%
import math
import time

import numpy as np
import pandas as pd
import plotly.express as px
from IPython.display import Markdown, display
from myst_nb import glue

from dnnalign_utils import data, features, images, keynumbers, networks, paths, triplets
from dnnalign_utils.book import start_chapter
from dnnalign_utils.plotting import (
    DNN_COLOUR,
    HUMAN_COLOUR,
    PALETTE,
    image_grid,
    styled_table,
)

# The run profile's sizes unless a parameter set them (papermill with only `profile`,
# Jupyter, Colab), the measured run time of the Takes line, the figure template.
start_chapter(globals(), "01_triplet_task")

# Run alone (a fresh Colab session, a downloaded notebook), this chapter first runs the
# earlier chapters whose artefacts it needs and does not find; in the book it does nothing.
from dnnalign_utils.book import ensure_upstream

studied = networks.resolve(
    network, features_path=features_path, images_dir=images_dir, layer=layer
)
upstream_run = ensure_upstream(profile, "01_triplet_task", studied)  # stems run; none in the book

# %% [markdown]
# ## The network under study

# %%
net = networks.load(profile, studied)
objects = net.things_index  # THINGS index of each of the network's rows
glue("network_label", net.label, display=False)
glue("network_description", net.description, display=False)
glue("n_net_concepts", objects.size, display=False)
print(f"{net.label}: {net.description}")
print(f"{net.values.shape[1]:,} features of {objects.size:,} of {data.N_OBJECTS:,} concepts")

# %% [markdown]
# ## The task, and how a network answers it
#
# Here are a few triplets of the noise-ceiling set, each answered by 14–25 people
# (votes after each object: how many chose it as the odd one out), with the choices
# of the two networks (for a network covering only some concepts: triplets among its
# concepts):

# %%
names = data.concept_names()  # homonyms told apart (bat, baton, ...)
human = data.load_triplets_noise_ceiling().triplets
ceiling = triplets.noise_ceiling(human)
clip_label = networks.NETWORKS["clip_vit_b32"].label
# the representations compared, restricted to the network's concepts (local rows 0..n-1)
compared = {net.label: net.values}
if net.key != "clip_vit_b32":  # CLIP is the comparison for any other network
    compared[clip_label] = data.load_clip_features()[objects]
ceiling_local, ceiling_inside = triplets.within_objects(ceiling.triplets, objects)
ceiling_choices = {  # in THINGS indices, on the noise-ceiling triplets among its concepts
    name: objects[triplets.odd_one_out_choices(ceiling_local, values, progress=False)]
    for name, values in compared.items()
}
inside_rows = np.flatnonzero(ceiling_inside)
shown = np.random.default_rng(seed).choice(
    inside_rows, min(n_examples, inside_rows.size), replace=False
)
if shown.size:
    display(
        styled_table(triplets.example_table(ceiling, shown, names, ceiling_choices), index=False)
    )
else:  # a small set of concepts: the agreement below uses the human choices among them
    display(
        Markdown(
            f"*None of the 1,000 noise-ceiling triplets lies among the {objects.size:,} "
            f"concepts of {net.label}: no examples to show.*"
        )
    )

# %% [markdown]
# A network's answer is a comparison of three similarities. For the first example,
# the dot products of the three pairs in {glue:text}`network_label` are:

# %%
if shown.size:
    first = ceiling.triplets[shown[:1]]
    net_pairs = triplets.pair_similarities(
        triplets.within_objects(first, objects)[0], net.values, progress=False
    )[0]
    a, b, c = names[first[0]]
    pairs = [f"{a} – {b}", f"{a} – {c}", f"{b} – {c}"]
    display(
        styled_table(
            pd.DataFrame({"pair": pairs, f"{net.label}: dot product": net_pairs}), index=False
        )
    )

# %% [markdown]
# The most similar pair stays together; the remaining object is the network's odd one
# out. Unlike a person, the network gives the same answer every time: its own "noise
# ceiling" is 100 %.
#
# ## How human-like are the networks' choices?
#
# We score each representation by the share of human responses whose odd one out it
# picks, on the 1,000 noise-ceiling triplets (20,000 responses) and on 2,171 further
# triplets, with 95 % bootstrap intervals over triplets (for a network covering only
# some of the 1,854 concepts, here {glue:text}`n_net_concepts:,`: the responses to the
# triplets among them). The published human
# embeddings (chapter 0) are shown for reference: they were fitted to human choices,
# the networks never saw any. (CLIP's concept embeddings are unit-length, so dot
# product and cosine similarity give the same choices.)

# %%
representations = {
    **compared,
    "SPoSE-49 (human)": data.load_human_embedding("spose49")[objects],
    "VICE-42 (human)": data.load_human_embedding("vice42")[objects],
}
# the held-out responses among the network's concepts, in its rows (an error names the
# network when there are none)
human_sets = triplets.heldout_among(objects, net.label)
agreement = triplets.agreement_table(
    representations, human_sets, n_bootstrap=n_bootstrap, seed=seed
)
scored = triplets.network_agreement(net, n_bootstrap=n_bootstrap, seed=seed)
keynumbers.record(profile, studied, "01_triplet_task", net.label, **scored.numbers())
first_set = next(iter(human_sets))
on_first = agreement[agreement["human set"] == first_set].set_index("representation")
glue("agree_net", float(on_first.loc[net.label, "agreement (%)"]), display=False)
glue("agree_clip", float(on_first.loc[clip_label, "agreement (%)"]), display=False)
glue("agree_vice", float(on_first.loc["VICE-42 (human)", "agreement (%)"]), display=False)
glue("ceiling", 100 * ceiling.ceiling, display=False)
glue("key_agreement", scored.numbers()["choice_agreement"], display=False)
glue("key_ceiling", scored.numbers()["noise_ceiling"], display=False)
glue("key_human_set", scored.human_set, display=False)
styled_table(agreement, precision=1, index=False)

# %% tags=["hide-input"]
fig = px.bar(
    agreement,
    x="representation",
    y="agreement (%)",
    color="human set",
    barmode="group",
    error_y=agreement["ci high (%)"] - agreement["agreement (%)"],
    error_y_minus=agreement["agreement (%)"] - agreement["ci low (%)"],
    title="Agreement of odd-one-out choices with people on the same triplets",
    color_discrete_sequence=[HUMAN_COLOUR, PALETTE[2]],
)
fig.add_hline(y=100 * ceiling.ceiling, line_dash="dash", annotation_text="human noise ceiling")
fig.add_hline(y=100 / 3, line_dash="dot", annotation_text="chance")
fig.update_yaxes(range=[0, max(75, float(agreement["ci high (%)"].max()) + 5)])
fig.show()

# %% [markdown]
# On the noise-ceiling triplets {glue:text}`network_label` picks the human odd one out in
# **{glue:text}`agree_net:.1f` %** of responses and CLIP ViT-B/32 in
# **{glue:text}`agree_clip:.1f` %**, against a human noise ceiling of
# {glue:text}`ceiling:.1f` % and {glue:text}`agree_vice:.1f` % for VICE-42 fitted to
# human choices (for a network covering only some concepts, these are the responses
# among its concepts, and the ceiling shown is that of the whole set). Chance is 33.3 %.
# For the default network, the VGG-16 stand-in, CLIP (trained on images paired with
# language) chooses more like people. That is a comparison of two
# representations, not a test of the paper's finding that VGG-16's dimensions are
# dominated by visual properties while people's are mostly semantic (Fig. 2c): CLIP
# differs from VGG-16 in architecture, training data and objective at once, and the
# VGG-16 side is a low-rank stand-in, not the network's activations.
#
# The network's **key numbers** (the one-row answer of the pipeline, which the chapter
# comparing networks collects) are computed by one function,
# `triplets.network_choice_agreement`: {glue:text}`key_agreement:.1f` % agreement on
# {glue:text}`key_human_set`, against a ceiling of {glue:text}`key_ceiling:.1f` % on the
# repeated triplets among them ("nan" when there are none: a ceiling needs triplets
# answered by several people).
#
# ### Where do networks and people agree?
#
# Broken down by the THINGS category of the *human's* odd one out (each concept in its
# most specific category; concepts in none of the 27 categories form "(none)"), on the
# noise-ceiling triplets among the network's concepts:

# %%
labels = data.category_labels().to_numpy()[objects]
human_local = triplets.within_objects(human, objects)[0]  # responses, in the network's rows
by_category = pd.concat(
    [
        triplets.agreement_by_category(
            human_local, triplets.within_objects(choices, objects)[0], labels
        ).assign(representation=name)
        for name, choices in ceiling_choices.items()
    ]
)
order = (
    by_category[by_category["representation"] == net.label]
    .sort_values("agreement")["group"]
    .tolist()
)

# %% tags=["hide-input"]
fig = px.bar(
    by_category.assign(agreement=100 * by_category["agreement"]),
    y="group",
    x="agreement",
    color="representation",
    barmode="group",
    orientation="h",
    hover_data=["n_responses", "n_triplets"],
    category_orders={"group": order},
    labels={"group": "category of the human's odd one out", "agreement": "agreement (%)"},
    title="Agreement with people by category (noise-ceiling set)",
    color_discrete_sequence=[DNN_COLOUR, PALETTE[2]],
    height=750,
)
fig.add_vline(x=100 * ceiling.ceiling, line_dash="dash")
fig.show()

# %% [markdown]
# A second view asks whether the human choice follows category membership: did people
# keep two objects of the same category together and reject one of another category?

# %%
composition = pd.concat(
    [
        triplets.agreement_by_category(
            human_local,
            triplets.within_objects(choices, objects)[0],
            labels,
            by="composition",
        ).assign(representation=name)
        for name, choices in ceiling_choices.items()
    ]
)
styled_table(
    composition.pivot_table(index="group", columns="representation", values="agreement")
    .mul(100)
    .add_suffix(": agreement (%)")
    .join(composition.groupby("group")["n_responses"].first().rename("human responses"))
    .rename_axis(index="triplet composition", columns=None),
    precision=1,
)

# %% [markdown]
# When people's choice is category-consistent ("pair same, odd differs"), both
# networks follow them much more often than when all three objects come from
# different categories, where the choice rests on finer properties.

# %% [markdown]
# ## Triplets as pictures, seen by an ImageNet network
#
# The networks above answer from concept-level representations. With the embedded
# image set (chapter 0) a network can answer from pictures: EfficientNet-Lite0's
# pooled penultimate-layer features of each drawing, averaged over a concept's styles
# as THINGS' concept-level representations average over its photos. Only the
# triplets whose three concepts all have pictures can be scored; the human random
# samples contain some of them. A few, with what people and EfficientNet-Lite0 chose:

# %%
effnet_images, image_rows = features.load_image_features(
    paths.image_features(profile), "_avg_pooling"
)
effnet, image_objects = features.concept_means(effnet_images, image_rows)
# the concepts with pictures that the studied network also covers
shared = np.isin(image_objects, objects)
effnet, image_objects = effnet[shared], image_objects[shared]
human_samples = np.concatenate(
    [data.load_triplets_sample50k(), data.load_triplets_sample127k().triplets]
)
local_human, inside = triplets.within_objects(human_samples, image_objects)
local_effnet = triplets.odd_one_out_choices(local_human, effnet, progress=False)
glue("n_inside", len(local_human), display=False)
glue("n_image_objects", len(image_objects), display=False)

# %% tags=["hide-input"]
style = image_rows["style"].iloc[0]
unique_ids = np.asarray(data.load_unique_ids())[image_objects]
pictures, captions = [], []
for human_row, net_row in zip(local_human[:n_picture_triplets], local_effnet, strict=False):
    shown_ids = unique_ids[human_row]
    row_pictures, _ = images.gallery(image_rows, shown_ids, [style])
    pictures.extend(row_pictures)
    captions += [
        name + (" · people: odd" if i == 2 else "") + (" · net: odd" if obj == net_row[2] else "")
        for i, (name, obj) in enumerate(zip(shown_ids, human_row, strict=True))
    ]
fig = image_grid(np.stack(pictures), captions, 3, title="Human triplets as pictures")
fig.show()

# %% [markdown]
# On the {glue:text}`n_inside:,` human choices among the {glue:text}`n_image_objects`
# concepts with pictures (that the studied network also covers), the networks compare
# as follows ({glue:text}`network_label` and CLIP use their representations restricted
# to the same concepts):

# %%
net_rows = np.searchsorted(objects, image_objects)  # the network's rows of those concepts
subset_representations = {
    "EfficientNet-Lite0 (drawings)": effnet,
    **{name: values[net_rows] for name, values in compared.items()},
}
subset_agreement = triplets.agreement_table(
    subset_representations,
    {"human choices within the image set": local_human},
    n_bootstrap=n_bootstrap,
    seed=seed,
)
on_subset = subset_agreement.set_index("representation")["agreement (%)"]
glue("agree_effnet", float(on_subset["EfficientNet-Lite0 (drawings)"]), display=False)
glue("agree_net_subset", float(on_subset[net.label]), display=False)
styled_table(subset_agreement, precision=1, index=False)

# %% [markdown]
# EfficientNet-Lite0, answering from drawings, agrees with people in
# {glue:text}`agree_effnet:.1f` % of these choices, against
# {glue:text}`agree_net_subset:.1f` % for {glue:text}`network_label` on the same
# triplets. (These human choices are single responses, not
# the repeated noise-ceiling triplets, so there is no ceiling to compare with here.)
#
# ## The network's triplets for the embedding
#
# {doc}`Chapter 2 <02_embedding_fit>` learns a sparse embedding from
# {glue:text}`network_label`'s own choices. As in
# the paper we draw unique, unordered triplets uniformly at random over its
# {glue:text}`n_net_concepts:,` concepts, let the network answer them by dot product,
# and split them 90/10 into training
# and test triplets (the paper draws 20 million over 24,102 images; here
# {glue:text}`n_network_triplets:,` are drawn: the parameter `n_network_triplets`, or every
# distinct triplet when the network has so few concepts that there are fewer). The
# triplets index the network's rows 0, 1, …; the THINGS concept of each row is saved
# beside them.

# %%
n_drawn = min(n_network_triplets, math.comb(objects.size, 3))
glue("n_network_triplets", n_drawn, display=False)
start = time.perf_counter()
sampled = triplets.sample_triplets(objects.size, n_drawn, seed=seed)
net_triplets = triplets.odd_one_out_choices(sampled, net.values, similarity="dot")
train, test = triplets.split_triplets(net_triplets, test_fraction, seed=seed)
elapsed = time.perf_counter() - start
written = triplets.write_triplet_split(
    paths.network_triplets(profile, studied),
    train,
    test,
    produced_by="notebooks/01_triplet_task",
    parameters={"seed": seed, "n_triplets": n_drawn, "test_fraction": test_fraction,
                "network": net.key},
    input_hashes=net.input_hashes,
    objects=objects,
)  # fmt: skip
glue("network_rate", n_drawn / elapsed / 1e6, display=False)
styled_table(
    pd.DataFrame(
        {
            "file": [paths.display_path(p) for p in written.values()],
            "holds": ["THINGS index of each row", "training triplets", "test triplets"],
            "rows": [objects.size, len(train), len(test)],
        }
    ),
    index=False,
)

# %% [markdown]
# Sampling and answering took {glue:text}`network_rate:.1f` million triplets per second
# here (`benchmarks/bench_triplets.py` compares this with a per-triplet Python loop like
# that of {ref}`the reference code <methods-reference-code>`, the paper's public code).
# Every object appears about equally often, as uniform sampling
# should give:

# %% tags=["hide-input"]
appearances = np.bincount(train.ravel(), minlength=objects.size)
fig = px.histogram(
    x=appearances,
    nbins=50,
    labels={"x": f"appearances of an object in the {net.label} training triplets"},
    title="Object frequencies in the network triplets",
    color_discrete_sequence=[DNN_COLOUR],
)
fig.update_layout(yaxis_title="objects")
fig.show()

# %% [markdown]
# ## Download the results
#
# The agreement tables of this chapter, each with a provenance record (what produced
# it, from which inputs, with which package versions):

# %% mystnb={"markdown_format": "myst"}
from dnnalign_utils import downloads

downloads.links(
    downloads.publish(
        agreement,
        "agreement",
        "01_triplet_task",
        profile,
        description="agreement of each representation's odd-one-out choices with the human "
        "responses, with 95 % bootstrap intervals, on both held-out triplet sets",
        parameters={"n_bootstrap": n_bootstrap, "seed": seed, "network": net.key},
        network=studied,
        columns={
            "representation": "the representation whose dot products choose the odd one out",
            "human set": "the held-out human responses it is scored on",
            "agreement (%)": "percent of those responses whose odd one out it also picks "
            "(chance: 33.3)",
            "ci low (%)": "lower end of the 95 % bootstrap interval over triplets, percent",
            "ci high (%)": "upper end of that interval, percent",
            "responses": "number of human responses scored",
        },
    )
    + downloads.publish(
        by_category.reset_index(drop=True)
        .assign(agreement=lambda t: 100 * t["agreement"])
        .rename(
            columns={"agreement": "agreement (%)", "group": "category of the human odd one out"}
        ),
        "agreement_by_category",
        "01_triplet_task",
        profile,
        description="agreement with people on the noise-ceiling set, by the THINGS category "
        "of the human's odd one out",
        parameters={"network": net.key},
        network=studied,
        columns={
            "category of the human odd one out": "the THINGS high-level category of the "
            "object people chose ((none): in none of the 27)",
            "n_responses": "human responses in the group",
            "n_triplets": "distinct triplets in the group",
            "agreement (%)": "percent of those responses the representation matches",
            "representation": "the representation scored",
        },
    )
)

# %% [markdown]
# ## In this notebook we
#
# - showed the odd-one-out task on real human triplets and how a network answers it
#   from the dot products of its representation;
# - measured how often {glue:text}`network_label` ({glue:text}`agree_net:.1f` %) and CLIP
#   ViT-B/32 ({glue:text}`agree_clip:.1f` %) choose like people on the noise-ceiling
#   triplets, against a human ceiling of {glue:text}`ceiling:.1f` %, overall and by
#   category, and recorded the network's key numbers;
# - showed human triplets as pictures and scored EfficientNet-Lite0, answering from
#   drawings, against people ({glue:text}`agree_effnet:.1f` %);
# - sampled {glue:text}`n_network_triplets:,` unique triplets answered by
#   {glue:text}`network_label`, split them 90/10 and saved them with their provenance
#   for chapter 2.
