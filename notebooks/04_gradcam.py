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
# # Where in an image is a dimension? Grad-CAM of single dimensions
#
# ## Overview
#
# To see which parts of an image drive a DNN dimension, the paper chains the network and
# its ridge regression onto the dimensions ({doc}`chapter 3 <03_r2_regression>`) into one
# differentiable
# predictor, image → activations → dimension values, and applies Grad-CAM
# {cite:p}`selvaraju2017gradcam` (here through the `pytorch-grad-cam` library,
# {cite:t}`gildenblat2021pytorchgradcam`) to one
# dimension at a time: the gradient of the dimension's value with respect to the last
# convolutional feature map weights that map's channels, and the weighted sum shows
# where the evidence for the dimension lies ({cite:t}`mahner2025dimensions`, Methods and
# the Grad-CAM figures). This chapter
#
# 1. predicts each dimension of chapter 2's image-level EfficientNet-Lite0 embedding from
#    the network's pooled penultimate activations (nested cross-validated ridge, as in
#    chapter 3; the paper: R² > 75 % for every VGG-16 dimension);
# 2. builds the predictor and checks that it reproduces the ridge on the stored features
#    exactly (the reference predictor does not: it skips a max-pool and the centring);
# 3. shows Grad-CAM maps for the leading dimensions on their top pictures, and measures
#    how much of each map falls on the object rather than the background.
#
# **Needs**: chapter 0's EfficientNet-Lite0 features, chapter 2's EfficientNet-Lite0
# embedding and chapter 3's sentence embeddings. **Takes**: about a minute.
#
# **How our data differ from the paper's.** The paper explains VGG-16 dimensions on THINGS
# photos, mapping from `features.42` (512 × 14 × 14). The photos cannot be embedded here,
# so this chapter explains EfficientNet-Lite0 dimensions on the embedded emoji drawings
# (chapter 0), from the network's last feature map (1280 × 7 × 7, so the maps are
# coarser). The VGG-16-BN predictor for the paper's path is in
# `dnnalign_utils.predictor` and tested, but this chapter uses the drawings in every
# profile.

# %% tags=["remove-cell"]
# Colab only: fetch this repository and install its package; does nothing elsewhere.
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    _repo = "/content/dnnalign"
    if not os.path.isdir(_repo):
        subprocess.run(
            ["git", "clone", "--depth", "1", "https://github.com/dnnalign/dnnalign", _repo],
            check=True,
        )
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", _repo], check=True)
    sys.path.insert(0, _repo)  # the running kernel does not see the fresh install

# %% tags=["parameters"]
profile = "default"
seed = 0  # outer folds use seed, inner folds seed + 1
n_outer = 3  # outer folds of the nested cross-validation
n_inner = 3  # inner folds choosing the penalty
alpha_log10_min = -2.0  # penalty grid: logspace(min, max, n)
alpha_log10_max = 6.0
n_alphas = 33
n_dims_shown = 6  # leading dimensions shown with Grad-CAM maps
pictures_per_dim = 4  # top pictures per shown dimension
n_check_pictures = 16  # pictures on which the predictor is checked against the ridge
n_share_dims = 0  # dimensions whose top picture enters the object share (0: all)
n_actmax_dims = 4  # leading dimensions visualised by activation maximisation
actmax_steps = 32  # Adam steps per optimised picture (the paper: 100, on GAN latents)
actmax_size = 224  # side of the optimised pictures in pixels (the network's input size)

# %%
import numpy as np
import pandas as pd
import plotly.express as px
import torch
from IPython.display import display
from myst_nb import glue
from PIL import Image

from dnnalign_utils import actmax, autorate, data, features, gradcam, paths, regression, semantic
from dnnalign_utils import embedding as emb
from dnnalign_utils.plotting import DNN_COLOUR, QUALITY_COLOURS, image_grid, use_book_template
from dnnalign_utils.predictor import EfficientNetLite0Predictor

use_book_template()

# Run alone (a fresh Colab session, a downloaded notebook), this chapter first runs the
# earlier chapters whose artefacts it needs and does not find; in the book it does nothing.
from dnnalign_utils.book import ensure_upstream

ensure_upstream(profile, "04_gradcam")
pooled, rows = features.load_image_features(paths.image_features(profile), "_avg_pooling")
dims = emb.load_embedding(paths.efficientnet_lite0_embedding(profile))
if dims.weights.shape[0] != len(rows):
    raise ValueError(
        f"the EfficientNet-Lite0 embedding has {dims.weights.shape[0]} pictures, the stored "
        f"features {len(rows)}: rerun chapters 0 and 2 with the same profile"
    )
captions = [f"{u} ({s})" for u, s in zip(rows["uniqueID"], rows["style"], strict=True)]
glue("n_pictures", len(rows), display=False)
glue("n_dims", dims.n_dims, display=False)
pd.Series({"pictures": len(rows), "features": pooled.shape[1], "dimensions": dims.n_dims})

# %% [markdown]
# ## Predicting the dimensions from the network's activations
#
# Each of the {glue:text}`n_dims` dimensions is predicted from the 1,280 pooled
# activations of the {glue:text}`n_pictures:,` pictures by ridge regression, the penalty
# chosen on inner folds and R² measured on outer folds.

# %%
result = regression.nested_cv_ridge(
    pooled,
    dims.weights,
    np.logspace(alpha_log10_min, alpha_log10_max, n_alphas),
    n_outer=n_outer,
    n_inner=n_inner,
    outer_seed=seed,
    inner_seed=seed + 1,
)
r2 = pd.DataFrame({"dimension": np.arange(1, dims.n_dims + 1), "R² (%)": 100 * result.r2})
glue("share_75", float((r2["R² (%)"] > 75).mean() * 100), display=False)
glue("share_85", float((r2["R² (%)"] > 85).mean() * 100), display=False)
glue("median_r2", float(r2["R² (%)"].median()), display=False)
glue("median_r2_first10", float(r2["R² (%)"].head(10).median()), display=False)

# %% [markdown]
# Each dimension is also labelled visual, semantic, mixed or unclear by chapter 5's
# automatic rater (with the same settings as there; see that chapter for how the rater
# works and how it was validated).

# %%
concepts = data.load_concepts()
rater_model = autorate.emoji_rater(
    rows,
    features.load_image_features(paths.image_features(profile), autorate.VISUAL_PROBE_LAYER)[0],
    semantic.cached_sentence_embeddings(
        semantic.concept_texts(concepts), paths.sentence_embeddings(profile)
    ),
    seed=seed,
)
r2["quality"] = rater_model.rate_pictures(dims.weights, rows)["label"].to_numpy()
quality_names = r2["quality"].to_numpy()

# %% tags=["hide-input"]
fig = px.scatter(
    r2,
    x="dimension",
    y="R² (%)",
    color="quality",
    title="Cross-validated R² per EfficientNet-Lite0 dimension (in order of importance)",
    color_discrete_map=QUALITY_COLOURS,
)
fig.add_hline(y=75, line_dash="dot", annotation_text="paper: all VGG-16 dims > 75 %")
fig.show()

# %% [markdown]
# The leading dimensions are read well (median R² {glue:text}`median_r2_first10:.0f` %
# over the first ten), later ones much less: over all dimensions the median is
# {glue:text}`median_r2:.0f` %, and {glue:text}`share_75:.0f` % of them exceed 75 %
# (paper, for VGG-16: all above 75 %, most above 85 %). We attribute the difference to
# data: each of our pictures appears in a few hundred training triplets (chapter 2),
# each of the paper's images in about 2,200, so our later dimensions carry much noise
# that no image feature can predict. Grad-CAM explains the *predicted* value of a
# dimension, so we show the leading, well-predicted dimensions.
#
# ## One differentiable predictor
#
# The final ridge (penalty by cross-validation on all pictures, refitted on all of
# them) becomes the last layer of EfficientNet-Lite0, with the input centring it was
# fitted with. On pictures the predictor has never been asked about, it must give what
# the ridge gives on the stored features:

# %%
predictor = EfficientNetLite0Predictor(features.efficientnet_lite0(), result.final_model)
check_rows = np.random.default_rng(seed).choice(len(rows), n_check_pictures, replace=False)
inputs, _, _ = gradcam.rendered_pictures(
    rows.iloc[check_rows], features.efficientnet_lite0_preprocess()
)
with torch.no_grad():
    end_to_end = predictor(inputs).numpy()
max_difference = float(np.abs(end_to_end - result.final_model.predict(pooled[check_rows])).max())
glue("max_difference", max_difference, display=False)
glue("n_check_pictures", n_check_pictures, display=False)
pd.Series({"pictures": n_check_pictures, "max |predictor − ridge|": max_difference})

# %% [markdown]
# The largest difference over {glue:text}`n_check_pictures` pictures and all dimensions
# is {glue:text}`max_difference:.1e`, float32 rounding: the maps below explain the
# predicted dimension values themselves.
#
# The same ridge is saved for new pictures, with the network, its layer and input
# recipe and the range of the training pictures' features
# (`predictor.DimensionPredictor`): `DimensionPredictor.load(path).predict(photos)`
# then costs one forward pass per picture, and warns when a picture lies outside the
# training pictures (its features far from theirs, or many negative dimension values).

# %%
from dnnalign_utils.predictor import DimensionPredictor

picture_predictor = DimensionPredictor.from_training(
    result.final_model,
    pooled,
    network="efficientnet_lite0",
    layer=features.EFFICIENTNET_LITE0_LAYERS["penultimate"],
    object_names=rows["file_name"],
)
saved = picture_predictor.save(
    paths.picture_predictor(profile), produced_by="notebooks/04_gradcam", parameters={"seed": seed}
)
print(f"saved: {paths.display_path(saved)}")

# %% [markdown]
# ## Grad-CAM maps of the leading dimensions
#
# For each of the first {glue:text}`n_dims_shown` dimensions (in order of importance),
# its {glue:text}`pictures_per_dim` top pictures, each with the Grad-CAM map of *that*
# dimension (red: most evidence for the dimension).

# %%
glue("n_dims_shown", n_dims_shown, display=False)
glue("pictures_per_dim", pictures_per_dim, display=False)
shown = min(n_dims_shown, dims.n_dims)
top = np.argsort(-dims.weights[:, :shown], axis=0, kind="stable")[:pictures_per_dim].T
picture_index, dim_index = top.ravel(), np.repeat(np.arange(shown), pictures_per_dim)
inputs, rgb, masks = gradcam.rendered_pictures(
    rows.iloc[picture_index], features.efficientnet_lite0_preprocess()
)
cams = gradcam.dimension_cams(predictor, inputs, dim_index)
fig = image_grid(
    np.stack([gradcam.overlay(p, c) for p, c in zip(rgb, cams, strict=True)]),
    [
        f"dim {d + 1} ({quality_names[d]}): {captions[i]}"
        for i, d in zip(picture_index, dim_index, strict=True)
    ],
    pictures_per_dim,
    title="Grad-CAM of single EfficientNet-Lite0 dimensions on their top pictures",
)
fig.show()

# %% [markdown]
# ## Do the maps point at the objects?
#
# Every embedded picture comes with its object mask (the drawing's alpha channel). For
# the top picture of each dimension we measure the share of the Grad-CAM map that lies
# on the object and compare it with the share of the picture the object covers, which
# a map blind to the object would score on average.

# %%
n_share = dims.n_dims if n_share_dims <= 0 else min(n_share_dims, dims.n_dims)
best = np.argmax(dims.weights[:, :n_share], axis=0)
inputs, _, masks = gradcam.rendered_pictures(
    rows.iloc[best], features.efficientnet_lite0_preprocess()
)
share_cams = gradcam.dimension_cams(predictor, inputs, np.arange(n_share))
share, area = gradcam.object_share(share_cams, masks)
# a centre-heavy map blind to the picture: the mean of all these maps, on every picture
blind, _ = gradcam.object_share(np.broadcast_to(share_cams.mean(0), masks.shape), masks)
shares = pd.DataFrame(
    {
        "on the object (%)": 100 * share,
        "object area (%)": 100 * area,
        "mean map on the object (%)": 100 * blind,
    }
)
glue("mean_blind", float(np.nanmean(blind) * 100), display=False)
glue("share_above_blind", 100 * float((share > blind).mean()), display=False)
glue("n_share", n_share, display=False)
glue("mean_share", float(np.nanmean(shares["on the object (%)"])), display=False)
glue("mean_area", float(shares["object area (%)"].mean()), display=False)
glue("share_above_area", 100 * float((share > area).mean()), display=False)
fig = px.scatter(
    shares,
    x="object area (%)",
    y="on the object (%)",
    title="Share of each dimension's Grad-CAM map on the object of its top picture",
    color_discrete_sequence=[DNN_COLOUR],
)
fig.add_shape(type="line", x0=0, y0=0, x1=100, y1=100, line={"dash": "dot", "color": "grey"})
fig.update_layout(xaxis_range=[0, 100], yaxis_range=[0, 100])
fig.show()

# %% [markdown]
# On average {glue:text}`mean_share:.0f` % of a map lies on the object, which covers
# {glue:text}`mean_area:.0f` % of its picture; for {glue:text}`share_above_area:.0f` %
# of the {glue:text}`n_share` dimensions the map is more concentrated on the object than
# an evenly spread map. The drawings are centred, and Grad-CAM maps of a 7 × 7 feature
# map lean to the centre, so a stricter baseline is the *mean* of these maps laid on
# every picture: it puts {glue:text}`mean_blind:.0f` % on the objects, and the map of
# the dimension itself beats it for {glue:text}`share_above_blind:.0f` % of the
# dimensions. The paper shows its maps qualitatively; these numbers are our addition,
# possible because the drawings come with exact object masks.

# %% [markdown]
# ## What does a dimension want to see? Pictures optimised for it
#
# The paper also visualises its dimensions by activation maximisation (its
# activation-maximisation figure): it samples pictures from an ImageNet image generator
# (StyleGAN-XL), keeps the top-scoring ones for a dimension and optimises their latent
# codes for 100 Adam steps on the loss −α·value_d − β·log softmax(values)_d (α = 0.1,
# β = 1), which raises dimension d and, through the softmax, keeps the other dimensions
# low. The generator cannot be downloaded here, so we optimise the **pixels** of the
# picture instead, as in feature visualisation (Olah et al., 2017): the picture is
# written as a frequency spectrum scaled towards coarse structure with decorrelated
# colours, and at every step it is randomly padded, rotated, scaled and shifted, so that
# only patterns the network reads robustly survive. Each picture starts from grey noise
# and is optimised for {glue:text}`actmax_steps` steps, once with the paper's loss and
# once with the plain value of the dimension, for the first {glue:text}`n_actmax_dims`
# dimensions, through the same predictor as the Grad-CAM maps.
#
# **What this changes.** A generator only produces natural-looking pictures, so the
# paper's pictures show objects and scenes that drive a dimension. Pixel-space
# optimisation has no such constraint: it finds colours, textures and object parts
# that the network reads as the dimension, often repeated and never a coherent scene.
# The pictures show what the dimension responds to, not that a natural picture with
# that content exists; the checks below ask whether they are specific to their
# dimension.

# %%
n_act = min(n_actmax_dims, dims.n_dims)
act_dims = np.arange(n_act)
glue("n_actmax_dims", n_act, display=False)
glue("actmax_steps", actmax_steps, display=False)
optimised = {
    name: actmax.optimise_pictures(
        predictor,
        features.efficientnet_lite0_normalise,
        act_dims,
        objective=name,
        steps=actmax_steps,
        size=actmax_size,
        seed=seed,
    )
    for name in actmax.OBJECTIVES
}
act_top = np.argmax(dims.weights[:, :n_act], axis=0)  # each dimension's top picture
_, top_rgb, _ = gradcam.rendered_pictures(
    rows.iloc[act_top], features.efficientnet_lite0_preprocess()
)

# %% tags=["hide-input"]
top_resized = np.stack(
    [np.asarray(Image.fromarray(p).resize((actmax_size, actmax_size))) for p in top_rgb]
)
objective_names = {"paper": "paper's loss", "value": "plain value"}
fig = image_grid(
    np.concatenate([top_resized] + [o.rgb() for o in optimised.values()]),
    [f"dim {d + 1}: top picture, {captions[i]}" for d, i in zip(act_dims, act_top, strict=True)]
    + [f"dim {d + 1}: {objective_names[name]}" for name in optimised for d in act_dims],
    n_act,
    title="Top real picture (first row) and pictures optimised for each dimension",
)
fig.show()

# %% [markdown]
# **Do the optimised pictures raise their dimension?** Each dimension's predicted value
# on its optimised picture, divided by its largest predicted value on any real picture
# (1: as high as the dimension's top picture), and the same ratio for every *other*
# dimension on that picture:

# %%
real_values = result.final_model.predict(pooled)  # the predictor's values on real pictures
gains = pd.concat(
    {
        objective_names[n]: actmax.gain_over_real(o.values, o.dims, real_values)
        for n, o in optimised.items()
    },
    names=["objective", None],
).reset_index(level=0)
for name in optimised:
    g = gains[gains["objective"] == objective_names[name]]
    glue(f"act_{name}_target_ratio", float(g["target ratio"].median()), display=False)
    glue(f"act_{name}_others_ratio", float(g["others mean ratio"].median()), display=False)
    glue(f"act_{name}_others_max", float(g["others max ratio"].median()), display=False)
gains.round(2)

# %% [markdown]
# With the paper's loss, the median dimension reaches
# {glue:text}`act_paper_target_ratio:.2f` times its top real picture's value, while the
# other dimensions stay at a median {glue:text}`act_paper_others_ratio:.2f` of their
# own top values (the largest of them, median over pictures,
# {glue:text}`act_paper_others_max:.2f`); the plain value reaches
# {glue:text}`act_value_target_ratio:.2f`, its others
# {glue:text}`act_value_others_ratio:.2f`.
#
# **Do pictures for different dimensions differ, and does the predictor tell them
# apart?** We compare the mean pairwise cosine similarity of the network's pooled
# features (centred on the mean over all real pictures) between the optimised pictures
# of the {glue:text}`n_actmax_dims` dimensions with that between the dimensions' top
# real pictures, and count how often the predictor reads an optimised picture as its own
# dimension: the dimension with the largest value among the first
# {glue:text}`n_actmax_dims`, each z-scored by its mean and spread over the real
# pictures.

# %%
with torch.no_grad():
    optimised_pooled = {
        n: predictor.pooled_features(features.efficientnet_lite0_normalise(o.pictures)).numpy()
        for n, o in optimised.items()
    }
centre = pooled.mean(axis=0)
cosines = pd.Series(
    {
        f"optimised, {objective_names[n]}": actmax.mean_pairwise_cosine(f, centre)
        for n, f in optimised_pooled.items()
    }
    | {"top real pictures": actmax.mean_pairwise_cosine(pooled[act_top], centre)},
    name="mean pairwise cosine",
)
glue("act_cos_paper", float(cosines[f"optimised, {objective_names['paper']}"]), display=False)
glue("act_cos_value", float(cosines[f"optimised, {objective_names['value']}"]), display=False)
glue("act_cos_real", float(cosines["top real pictures"]), display=False)
glue(
    "act_cos_compare",
    "more"
    if cosines[f"optimised, {objective_names['paper']}"] > cosines["top real pictures"]
    else "less",
    display=False,
)
confusion = actmax.confusion_table(
    np.concatenate([o.values for o in optimised.values()]),
    np.concatenate([o.dims for o in optimised.values()]),
    real_values,
    act_dims,
)
real_confusion = actmax.confusion_table(real_values[act_top], act_dims, real_values, act_dims)
glue("act_read_own", int(np.trace(confusion.to_numpy())), display=False)
glue("act_read_total", int(confusion.to_numpy().sum()), display=False)
glue("act_real_read_own", int(np.trace(real_confusion.to_numpy())), display=False)
display(cosines.round(3).to_frame())
confusion

# %% [markdown]
# The optimised pictures of different dimensions have a mean feature cosine of
# {glue:text}`act_cos_paper:.2f` (paper's loss) and {glue:text}`act_cos_value:.2f`
# (plain value), against {glue:text}`act_cos_real:.2f` between the dimensions' top real
# pictures: by the network's features as a whole, the optimised pictures of different
# dimensions are {glue:text}`act_cos_compare` alike than the real pictures that score
# highest on them. Pixel-space optimisation gives all its pictures common traits (fine,
# fur-like texture over the whole frame, muted colours) that much of the 1,280-d feature
# vector registers, while the ridge reads only a few directions of it, so this check is
# the weaker of the two. The predictor reads {glue:text}`act_read_own` of the
# {glue:text}`act_read_total` optimised pictures (both losses) as their own dimension
# (rows: the dimension a picture was optimised for; columns: the dimension read); the
# top real pictures are read as their own dimension {glue:text}`act_real_read_own`
# times out of {glue:text}`n_actmax_dims`. The paper shows its optimised pictures
# qualitatively, for VGG-16 dimensions and with a generator; it gives no such numbers.
# Ours are optimised for only {glue:text}`actmax_steps` steps to keep the chapter short.

# %% [markdown]
# ## Download the results
#
# The R² of every EfficientNet-Lite0 picture dimension with its label and top pictures,
# and the share of each dimension's Grad-CAM map on its top picture's object, each with
# a provenance record:

# %% mystnb={"markdown_format": "myst"}
from dnnalign_utils import downloads

top_pictures = np.argsort(-dims.weights, axis=0, kind="stable")[:3].T
downloads.links(
    downloads.publish(
        r2.assign(
            embedding="effnet",
            predictor="EfficientNet-Lite0 activations",
            **{"top pictures": [", ".join(captions[i] for i in t) for t in top_pictures]},
        )[["embedding", "dimension", "top pictures", "predictor", "R² (%)", "quality"]],
        "picture_dimension_r2",
        "04_gradcam",
        profile,
        description="out-of-fold R² of every EfficientNet-Lite0 picture dimension from the "
        "network's pooled activations, with the automatic rater's label",
        parameters={"n_outer": n_outer, "n_inner": n_inner, "seed": seed},
    )
    + downloads.publish(
        shares.assign(
            dimension=np.arange(1, n_share + 1),
            **{"top picture": [captions[i] for i in best]},
        )[["dimension", "top picture", *shares.columns]],
        "gradcam_object_share",
        "04_gradcam",
        profile,
        description="share of each dimension's Grad-CAM map on the object of its top "
        "picture, the object's area and the picture-blind mean map's share",
    )
)

# %% [markdown]
# ## In this notebook we
#
# - predicted the {glue:text}`n_dims` EfficientNet-Lite0 dimensions from its pooled
#   activations: median R² {glue:text}`median_r2_first10:.0f` % for the first ten,
#   {glue:text}`median_r2:.0f` % over all (paper, VGG-16: all above 75 %);
# - built one differentiable predictor that reproduces the ridge to
#   {glue:text}`max_difference:.1e`, and saved it for new pictures with its input recipe
#   and the training pictures' feature range (one forward pass per new picture);
# - showed Grad-CAM maps of single dimensions on their top pictures and measured that
#   {glue:text}`mean_share:.0f` % of a map falls on an object covering
#   {glue:text}`mean_area:.0f` % of the picture, a little more than a picture-blind
#   mean map ({glue:text}`mean_blind:.0f` %; beaten for {glue:text}`share_above_blind:.0f` %
#   of the dimensions);
# - optimised pictures in pixel space for the first {glue:text}`n_actmax_dims`
#   dimensions (not with the paper's generator): with the paper's loss they reach
#   {glue:text}`act_paper_target_ratio:.2f` times the value of each dimension's top real
#   picture, and the predictor reads {glue:text}`act_read_own` of
#   {glue:text}`act_read_total` of them as their own dimension.
