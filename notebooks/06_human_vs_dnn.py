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
# # Human and DNN dimensions compared
#
# ## Overview
#
# The paper's central comparison: how do the dimensions a DNN uses for its odd-one-out
# choices relate to the dimensions people use? It pairs every human dimension with its
# best-correlated DNN dimension (a few pairs align strongly, best r ≈ 0.80, then the
# correlations fall off quickly), compares the similarity matrices the two embeddings
# imply, and finds the dimensions that drive each choice by leaving one dimension out at
# a time on triplets where humans and the network disagree
# ({cite:t}`mahner2025dimensions`, Results and Fig. 6). This chapter
#
# 1. **matches dimensions** one-to-one, and scores each pair on objects that were not
#    used to choose it, next to a permutation null: matching and scoring on the same
#    objects (as the reference code does) reports correlations even between unrelated
#    embeddings (r = {glue:text}`greedy_null_best:.2f` at the top rank and
#    {glue:text}`greedy_null_last:.2f` at the last for a DNN embedding whose objects were
#    shuffled, shown below);
# 2. compares the **similarity matrices** (RSMs; representational similarity analysis,
#    {cite:t}`kriegeskorte2008rsa`) of the two embeddings, globally and as
#    DNN dimensions are added one by one;
# 3. runs the **jackknife** on the triplets where the two embeddings disagree most, in
#    closed form (removing dimension d lowers each pair similarity by x_id·x_jd). Both
#    sides are embeddings: the "human" choice is the choice of the VICE-42 embedding,
#    not a choice people made on these triplets.
#
# The network studied is {glue:text}`network_label` (the `network` parameter; the
# book's is the VGG-16 stand-in). Everything is compared on the
# {glue:text}`n_concepts:,` concepts its embedding covers, the human embedding
# restricted to the same concepts.
#
# **Needs**: chapter 2's embedding of the network and, for the visual/semantic labels,
# chapter 5's labels of it (run alone with the book's network, the notebook runs
# chapters 0–3 and 5 first; for another network run chapters 1, 2 and 5 with the same
# `network`, `features_path`, `images_dir` and `layer`). **Takes**: {glue:text}`takes`.
#
# **How our data differ from the paper's.** The human side is the published VICE-42
# embedding ({cite:t}`muttenthaler2022vice`; fitted on THINGS triplets), not the paper's
# 68-dimensional one, which is only on OSF. The DNN side is
# {doc}`chapter 2 <02_embedding_fit>`'s embedding of the network, learnt from
# concept-level triplets answered by the network's concept features
# ({glue:text}`network_description`), not the paper's 70 VGG-16 dimensions from 20
# million image-level triplets. The jackknife samples
# {glue:text}`n_random_triplets:,` random triplets (paper: 10 million).
# The VGG-16 stand-in's source, and what is not known about it (the layer, batch
# normalisation, how photos were averaged), are on {doc}`the data page <../book/data>`.

# %% tags=["parameters"]
profile = "default"
network = "vgg16"  # the network studied: a name in dnnalign_utils.networks.NETWORKS
features_path = ""  # or your own concept features: a .npy (1,854 rows) or thingsvision folder
images_dir = ""  # or a folder of your pictures with concepts.csv (file,uniqueID)
layer = ""  # the layer of a thingsvision folder or picture network (empty: its default)
seed = 0  # seeds the object halves, permutations, triplet sampling and bootstraps
human_embedding = "vice42"  # "vice42" | "spose49" (published, in data/things/human)
n_permutations = 200  # object permutations for the matching null
n_random_triplets = 1_000_000  # triplets searched for disagreements (paper: 10 million)
n_diverging = 2000  # most diverging triplets kept for the jackknife (reference: 2000)
n_examples = 6  # diverging triplets shown by name
global_rsm_objects = 0  # if > 0, the global RSA uses the first this many objects (smoke)
cumulative_rsm_objects = 600  # random objects whose RSM entries the cumulative RSA uses
cumulative_dims = [1, 2, 4, 8, 16, 32, 48, 64]  # numbers of leading DNN dimensions
n_bootstrap = 100  # bootstrap draws over RSM entries (the reference's 100)

# %%
import math

import numpy as np
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from dnnalign_utils import (
    autorate,
    compare,
    data,
    keynumbers,
    networks,
    paths,
    plotting,
    rating,
    rsa,
    triplets,
)
from dnnalign_utils import embedding as emb
from dnnalign_utils.book import start_chapter
from dnnalign_utils.plotting import DNN_COLOUR, line_with_band
from dnnalign_utils.prose import counted, times

# The run profile's sizes unless a parameter set them (papermill with only `profile`,
# Jupyter, Colab), the measured run time of the Takes line, the figure template.
start_chapter(globals(), "06_human_vs_dnn")

# Run alone (a fresh Colab session, a downloaded notebook), this chapter first runs the
# earlier chapters whose artefacts it needs and does not find; in the book it does nothing.
from dnnalign_utils.book import ensure_upstream

studied = networks.resolve(
    network, features_path=features_path, images_dir=images_dir, layer=layer
)
ensure_upstream(profile, "06_human_vs_dnn", studied)
net = networks.load(profile, studied)
dnn_path = paths.network_embedding(profile, studied)
dnn, objects = emb.load_network_embedding(dnn_path)  # objects: THINGS indices of its rows
n_objects = len(objects)
names = data.concept_names()[objects]  # homonyms told apart (bat, baton, ...)
human = compare.human_weights(human_embedding, objects)  # VICE-42 on the same concepts
dnn_name = f"{net.label} embedding"  # what the DNN side is
human_name = {"vice42": "VICE-42", "spose49": "SPoSE-49"}[human_embedding]
# chapter 5's visual/semantic labels of both sides, if it has rated this network
quality = compare.dimension_qualities(
    paths.automatic_labels(profile, studied),
    {"human": (human_embedding, human.shape[1]), "dnn": (net.key, dnn.n_dims)},
)
labels = {  # each label followed by its quality in brackets, where chapter 5 rated it
    side: compare.labelled_with_quality(
        emb.dimension_labels(weights, names), None if quality is None else quality[side]
    )
    for side, weights in (("human", human), ("dnn", dnn.weights))
}
human_labels, dnn_labels = labels["human"], labels["dnn"]
glue("network_label", net.label, display=False)
glue("network_description", net.description, display=False)
glue("n_concepts", n_objects, display=False)
# every distinct triplet when the network has so few concepts that there are fewer
n_searched = min(n_random_triplets, math.comb(n_objects, 3))
glue("n_random_triplets", n_searched, display=False)
glue("human_dims", human.shape[1], display=False)
glue("dnn_dims", dnn.n_dims, display=False)
pd.Series(
    {
        "human": f"{human_embedding}, {human.shape[1]} dims",
        "DNN": f"{dnn_name}, {dnn.n_dims} dims",
        "concepts": f"{n_objects:,}",
    },
    name="embedding",
)

# %% [markdown]
# ## Which DNN dimension corresponds to which human dimension?
#
# A random half of the {glue:text}`n_concepts:,` objects chooses a one-to-one
# assignment between the {glue:text}`human_dims` human and {glue:text}`dnn_dims` DNN
# dimensions (maximising the summed Pearson r); the other half scores each chosen
# pair. The same procedure on DNN embeddings whose objects were shuffled gives the
# null: the 95th percentile of the held-out r at each rank over
# {glue:text}`n_permutations` permutations. The reference's rule (greedy, matched and
# scored on all objects) gets its own null from the same shuffles.

# %%
matches = compare.match_human_dnn(human, dnn.weights, n_permutations=n_permutations, seed=seed)

# %% tags=["hide-input"]
glue("n_permutations", n_permutations, display=False)
above_null = int((matches["r (held out)"] > matches["null 95 %"]).sum())
glue("best_r", float(matches["r (held out)"].iloc[0]), display=False)
glue("best_r_in_sample", float(matches["r (in sample)"].iloc[0]), display=False)
glue("best_greedy_r", float(matches["greedy r (reference)"].iloc[0]), display=False)
glue("n_above_null", above_null, display=False)
glue("share_above_null", 100 * above_null / len(matches), display=False)
glue("n_above_half", int((matches["r (held out)"] > 0.5).sum()), display=False)
glue("greedy_null_best", float(matches["greedy null 95 %"].iloc[0]), display=False)
glue("greedy_null_last", float(matches["greedy null 95 %"].iloc[-1]), display=False)
glue("null_best", float(matches["null 95 %"].iloc[0]), display=False)
glue("null_last", float(matches["null 95 %"].iloc[-1]), display=False)
inflated = matches["r (in sample)"] > matches["r (held out)"]
glue("n_pairs", len(matches), display=False)
glue("n_in_sample_higher", int(inflated.sum()), display=False)
glue(
    "mean_inflation",
    float((matches["r (in sample)"] - matches["r (held out)"]).mean()),
    display=False,
)
glue(
    "best_pair_in_sample",
    "higher" if inflated.iloc[0] else "lower",
    display=False,
)
plotting.matched_pair_curves(matches, human_labels, dnn_labels).show()

# %% [markdown]
# The best pair correlates at **r = {glue:text}`best_r:.2f`** on held-out objects
# ({glue:text}`best_r_in_sample:.2f` on all objects; the reference's greedy rule reports
# {glue:text}`best_greedy_r:.2f`; paper, Results: about 0.80, after which its
# correlations fall off quickly). Scoring a pair on all objects, including the half that
# chose it, gives a higher r than the held-out half for {glue:text}`n_in_sample_higher`
# of the {glue:text}`n_pairs` pairs (for the best pair it is
# {glue:text}`best_pair_in_sample`; on average the in-sample r is
# {glue:text}`mean_inflation:+.3f` above the held-out one). The in-sample score misleads
# where there is nothing to find: the reference's rule applied to shuffled objects,
# embeddings that share nothing, reports r = {glue:text}`greedy_null_best:.2f` at rank 1
# and {glue:text}`greedy_null_last:.2f` at rank {glue:text}`n_pairs` (95th percentiles),
# a correlation at every rank, while the held-out null falls from
# {glue:text}`null_best:.2f` to {glue:text}`null_last:.2f`. Here
# {glue:text}`n_above_half` pairs exceed r = 0.5, and {glue:text}`n_above_null` of the
# matched pairs ({glue:text}`share_above_null:.0f` %) beat the permutation null: that many human
# dimensions have a counterpart in the {glue:text}`network_label` embedding that
# chance does not explain, however weak. The best pairs, with the objects that weigh
# most on each:

# %%
top_pairs = matches.head(8).assign(
    human=lambda t: [human_labels[d] for d in t["human dim"]],
    dnn=lambda t: [dnn_labels[d] for d in t["dnn dim"]],
)
top_pairs[["rank", "human", "dnn", "r (held out)", "null 95 %"]].set_index("rank").round(2)

# %% [markdown]
# ## Do the two embeddings imply the same similarities?
#
# Each embedding implies a similarity for every pair of objects: the probability that
# the pair stays together, averaged over all third objects (chapter 2). We correlate the
# human and the DNN matrix over all pairs of objects. These two numbers, the best
# matched pair's held-out r and this correlation, are the chapter's key numbers for
# the network.

# %%
key_numbers = compare.network_human_numbers(
    dnn.weights,
    objects,
    human_embedding=human_embedding,
    seed=seed,
    rsm_objects=global_rsm_objects,
    progress=True,
)
keynumbers.record(profile, studied, "06_human_vs_dnn", net.label, **key_numbers)
global_r = key_numbers["global_rsa_r"]
n_rsm_objects = n_objects if global_rsm_objects <= 0 else min(global_rsm_objects, n_objects)
glue("global_r", global_r, display=False)
glue("global_r2", 100 * global_r**2, display=False)
glue("n_rsm_objects", n_rsm_objects, display=False)
pd.Series(
    {"objects": f"{n_rsm_objects:,}", "Pearson r": f"{global_r:.3f}", "r²": f"{global_r**2:.3f}"},
    name="human RSM vs DNN RSM",
)

# %% [markdown]
# Over the {glue:text}`n_rsm_objects:,` objects, the two matrices correlate at
# r = {glue:text}`global_r:.2f`: the DNN embedding accounts for
# {glue:text}`global_r2:.0f` % of the variance of the human similarities (the paper
# reports this comparison as a figure; its value is not available to us).
#
# How many DNN dimensions does that take? The RSM of the first *i* DNN dimensions (in
# their order of importance) against the full human RSM, on the entries of
# {glue:text}`cumulative_rsm_objects` random objects (third objects: all
# {glue:text}`n_concepts:,`), with a bootstrap over the entries:

# %%
n_cumulative = min(cumulative_rsm_objects, n_objects)
subset = np.sort(np.random.default_rng(seed).choice(n_objects, n_cumulative, replace=False))
cumulative = compare.cumulative_rsa(
    dnn.weights,
    rsa.reconstruct_rsm(human, objects=subset, progress=False),
    sorted({i for i in cumulative_dims if i < dnn.n_dims} | {dnn.n_dims}),
    rsm_fn=lambda w: rsa.reconstruct_rsm(w, objects=subset, progress=False),
    n_bootstrap=n_bootstrap,
    seed=seed,
)

# %% tags=["hide-input"]
glue("cumulative_rsm_objects", n_cumulative, display=False)
final_r2 = float(cumulative["r2"].iloc[-1])
dims_95 = int(cumulative.loc[cumulative["r2"] >= 0.95 * final_r2, "dimensions"].min())
glue("dims_95", dims_95, display=False)
glue("share_dims_95", 100 * dims_95 / dnn.n_dims, display=False)
glue("first_dim_r2", 100 * float(cumulative["r2"].iloc[0]), display=False)
glue(
    "cumulative_drops", times(int((np.diff(cumulative["r2"].to_numpy()) < 0).sum())), display=False
)
fig = line_with_band(
    cumulative, "dimensions", "r2", "r2 low", "r2 high",
    colour=DNN_COLOUR, name="first i DNN dimensions", band_name="95 % bootstrap interval",
    scale=100, title="Human RSM variance explained by the leading DNN dimensions",
    xaxis_title="DNN dimensions (in order of importance)", yaxis_title="variance explained (%)",
)  # fmt: skip
fig.show()

# %% [markdown]
# The first {glue:text}`dims_95` of the {glue:text}`dnn_dims` DNN dimensions reach 95 % of
# what all of them explain. Read the axis with care: the first dimension alone already
# gives {glue:text}`first_dim_r2:.0f` %, so the curve shows how the rest add to it, and it
# falls {glue:text}`cumulative_drops` as a dimension is added (a dimension whose
# similarities the human embedding does not share adds variance that correlates with
# nothing there, which can lower r²). About {glue:text}`share_dims_95:.0f` % of the
# dimensions are needed for 95 %: the larger that share, the more what the two
# similarity structures share is spread over many DNN dimensions rather than held by a
# few leading ones.
#
# ## Which dimensions drive the disagreements?
#
# From {glue:text}`n_random_triplets:,` random triplets we keep the
# {glue:text}`n_diverging:,` on which the embeddings disagree most (they pick different
# odd ones out, and the human embedding's choice is much less likely under the DNN's).
# "Human choice" here means the choice of the VICE-42 embedding: these random triplets
# were never shown to people.
# For each, every dimension is left out in turn; the dimension whose removal changes the
# probability of that embedding's own choice most is the one that drives it.

# %%
sampled = triplets.sample_triplets(n_objects, n_searched, seed=seed)
diverging = compare.diverging_triplets(human, dnn.weights, sampled, n_diverging)
drivers = compare.jackknife_drivers(human, dnn.weights, diverging)
counts = compare.driver_counts(drivers, labels)

# %% tags=["hide-input"]
glue("n_diverging", len(diverging), display=False)
plotting.driver_bars(counts, human_name, dnn_name).show()
top = counts.groupby("side").head(1).set_index("side")
human_top_dim = int(drivers["human driver"].value_counts().idxmax())
top_match = matches.loc[matches["human dim"] == human_top_dim]
glue(
    "human_top_match",
    f"its matched {net.label} dimension, {dnn_labels[int(top_match['dnn dim'].iloc[0])]}, "
    f"correlates with it at r = {float(top_match['r (held out)'].iloc[0]):.2f} on held-out "
    f"objects (rank {int(top_match['rank'].iloc[0])} of {len(matches)})"
    if len(top_match)
    else f"it has no matched {net.label} dimension",
    display=False,
)
n_top_examples = int((drivers["human driver"].head(n_examples) == human_top_dim).sum())
glue(
    "examples_with_top",
    f"all {counted(n_top_examples, 'example')} below"
    if n_top_examples == min(n_examples, len(drivers))
    else f"{n_top_examples} of the {counted(min(n_examples, len(drivers)), 'example')} below",
    display=False,
)
glue("human_top_label", str(top.loc["human", "dimension"]), display=False)
glue("human_top_share", float(top.loc["human", "share (%)"]), display=False)
glue("dnn_top_label", str(top.loc["dnn", "dimension"]), display=False)
glue("dnn_top_share", float(top.loc["dnn", "share (%)"]), display=False)
glue(
    "label_note",
    "Each dimension carries its label from chapter 5's automatic rater in brackets."
    if quality is not None
    else "Chapter 5 has not labelled this network's dimensions, so they carry no "
    "visual/semantic label here.",
    display=False,
)

# %% [markdown]
# Where the two disagree, the VICE-42 embedding's choice is most often driven by the
# human dimension *{glue:text}`human_top_label`* ({glue:text}`human_top_share:.0f` % of
# the triplets), and it drives {glue:text}`examples_with_top`; for comparison,
# {glue:text}`human_top_match`. The
# {glue:text}`network_label` embedding's most frequent driver,
# *{glue:text}`dnn_top_label`*, accounts for {glue:text}`dnn_top_share:.0f` %.
# {glue:text}`label_note` ({doc}`Chapter 5 <05_visual_semantic_rating>` rates the
# dimensions.)
#
# ### Visual or semantic drivers?
#
# The paper labels the dimensions behind each side's choice on the diverging triplets
# with its raters' judgements (Fig. 6): where the human and the VGG-16 embeddings
# disagree, the human
# choices rest mostly on semantic dimensions and the network's on visual ones. With
# chapter 5's automatic labels (an automatic rater, not people), where chapter 5 has
# labelled this network's dimensions:

# %%
if quality is not None:
    quality_shares = compare.driver_quality_shares(drivers, quality)
    share = quality_shares.pivot_table(
        index="side", columns="quality", values="share (%)", fill_value=0.0
    )
    share = {(s, q): float(share.get(q, {}).get(s, 0.0)) for s in share.index for q in share}
    quality_finding = (
        f"The {human_name} embedding's choice is driven by a semantic dimension in "
        f"{share.get(('human', 'semantic'), 0.0):.0f} % of the diverging triplets and by a "
        f"visual one in {share.get(('human', 'visual'), 0.0):.0f} %; the {dnn_name}'s by a "
        f"semantic dimension in {share.get(('dnn', 'semantic'), 0.0):.0f} % and by a visual "
        f"one in {share.get(('dnn', 'visual'), 0.0):.0f} %."
    )
    verdict = autorate.driver_verdict(
        {q: share.get(("human", q), 0.0) for q in rating.QUALITIES},
        {q: share.get(("dnn", q), 0.0) for q in rating.QUALITIES},
        dnn_name,
    )
else:
    quality_shares = None
    quality_finding = (
        f"Labels are not available: chapter 5 has not labelled the dimensions of the "
        f"{dnn_name} (run it with the same network parameters), so this part is skipped."
    )
    verdict = "No verdict on the paper's Fig. 6 pattern without chapter 5's labels."
glue("quality_finding", quality_finding, display=False)
glue("driver_verdict", Markdown(verdict), display=False)

# %% tags=["hide-input"]
if quality_shares is not None:
    plotting.driver_quality_bars(quality_shares, human_name, dnn_name).show()

# %% [markdown]
# {glue:text}`quality_finding`
#
# **Verdict.** {glue:md}`driver_verdict`
#
# Examples (the triplet, each side's odd one out, and the dimension behind it):

# %%
side_names = {"human": human_name, "dnn": dnn_name}
compare.driver_examples(drivers.head(n_examples), names, labels, side_names).style.hide(
    axis="index"
)

# %% [markdown]
# ## Download the results
#
# The matched dimension pairs, and for every diverging triplet each side's odd one out
# and the dimension that drives it (dimensions numbered from 1, with their top objects
# and automatic labels), each with a provenance record:

# %% mystnb={"markdown_format": "myst"}
from dnnalign_utils import downloads

downloads.links(
    downloads.publish(
        compare.matched_pairs_table(matches, labels, human_embedding, net.key),
        "matched_pairs",
        "06_human_vs_dnn",
        profile,
        description=f"one-to-one matched {human_embedding} and {net.label} dimensions with "
        "their held-out and in-sample r and the permutation null",
        parameters={"n_permutations": n_permutations, "seed": seed},
        network=studied,
        columns=compare.MATCHED_PAIRS_COLUMNS,
    )
    + downloads.publish(
        compare.jackknife_drivers_table(drivers, names, labels),
        "jackknife_drivers",
        "06_human_vs_dnn",
        profile,
        description=f"the {len(drivers):,} most diverging triplets of {human_embedding} and "
        f"{net.label}: each side's odd one out and the dimension whose removal changes that "
        "choice most",
        parameters={
            "n_random_triplets": n_random_triplets,
            "n_diverging": n_diverging,
            "seed": seed,
        },
        network=studied,
        columns=compare.JACKKNIFE_DRIVERS_COLUMNS,
    )
)

# %% [markdown]
# ## In this notebook we
#
# - matched the {glue:text}`human_dims` human dimensions one-to-one to the
#   {glue:text}`dnn_dims` of the {glue:text}`network_label` embedding: the best pair
#   reaches r = {glue:text}`best_r:.2f` on held-out objects (paper: about 0.80),
#   {glue:text}`n_above_null` pairs beat a permutation null; scoring on the objects that
#   chose a pair raised its r for {glue:text}`n_in_sample_higher` of the
#   {glue:text}`n_pairs` pairs, and the reference's in-sample rule reports
#   r = {glue:text}`greedy_null_best:.2f` to {glue:text}`greedy_null_last:.2f` for
#   embeddings that share nothing;
# - compared the similarities the two embeddings imply (r = {glue:text}`global_r:.2f`
#   over {glue:text}`n_rsm_objects:,` objects), {glue:text}`dims_95` leading DNN
#   dimensions giving 95 % of it;
# - found, with a closed-form jackknife on the {glue:text}`n_diverging:,` most
#   diverging of {glue:text}`n_random_triplets:,` random triplets, which dimensions
#   drive each side's choice when they disagree (one human dimension,
#   *{glue:text}`human_top_label`*, in {glue:text}`human_top_share:.0f` % of them), and
#   (where chapter 5 labelled them) whether they are visual or semantic by its rater.
