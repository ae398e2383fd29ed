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
# 1. predicts each dimension of chapter 2's image-level embedding of a picture network,
#    here {glue:text}`picture_label`, from the network's pooled penultimate activations
#    (nested cross-validated ridge, as in chapter 3; paper, Results: R² > 75 % for every
#    VGG-16 dimension);
# 2. builds the predictor and checks that it reproduces the ridge on the stored features
#    exactly (the reference predictor does not: it skips a max-pool and the centring);
# 3. shows Grad-CAM maps for the leading dimensions on their top pictures, and measures
#    how much of each map falls on the object rather than the background;
# 4. tests whether the maps can be trusted: deleting the pixels a map highlights must
#    change the dimension faster than deleting random pixels, the maps must change when
#    the network's weights are randomised, and a second CAM method is compared;
# 5. runs the paper's causal test: which dimensions move when a picture is manipulated
#    (colour, shape, background, blur, crop), and what the predictor makes of real
#    photographs.
#
# The `network` parameter names the picture network: EfficientNet-Lite0 by default, or
# another of the registry's EfficientNet-Lite networks (`networks.PICTURE_LEVEL_NETWORKS`:
# EfficientNet-Lite1, or Lite0 with random weights, the untrained baseline). Grad-CAM
# needs the model and the pictures themselves, so concept-level features (VGG-16's
# stand-in, CLIP, a reader's `.npy`) cannot be explained here, and the checks below need
# the drawings' object masks, which a reader's own pictures do not have.
#
# **Needs**: chapter 0's pictures and features and chapter 2's picture embedding of the
# same network (run alone for another network, the
# notebook runs chapters 1 and 2 for it first). **Takes**: {glue:text}`takes`.
#
# **How our data differ from the paper's.** The paper explains VGG-16 dimensions on THINGS
# photos, mapping from `features.42` (512 × 14 × 14; paper, Methods). The photos cannot
# be embedded here, so this chapter explains the dimensions of an EfficientNet-Lite
# on the embedded emoji drawings (chapter 0), from the network's last feature map
# ({glue:text}`feature_map`, so the maps are coarser). The VGG-16-BN predictor for the
# paper's path is in `dnnalign_utils.predictor` and tested, but this chapter uses the
# drawings in every profile.

# %% tags=["parameters"]
profile = "default"
network = "efficientnet_lite0"  # the picture network explained (networks.PICTURE_LEVEL_NETWORKS)
features_path = ""  # concept features have no pixels: not for this chapter
images_dir = ""  # your own pictures have no object masks: not for this chapter
layer = ""  # the predictor reads the pooled head ("": its default)
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
actmax_size = 0  # side of the optimised pictures in pixels (0: the network's input size)
n_faith_dims = 4  # leading dimensions tested by deletion and insertion
faith_pictures_per_dim = 6  # top pictures per tested dimension
perturbation_steps = 3  # deletion / insertion steps from the whole picture to the baseline
n_random_orders = 2  # random pixel orders per picture, averaged
baseline_blur_sigma = 16.0  # blur (network input pixels) of the deletion baseline
n_randomisation_pictures = 3  # top pictures of the leading dimensions, randomisation check
n_manipulated_pictures = 4  # top pictures of the leading dimensions, manipulated
n_colour_pictures = 24  # random pictures turned grey for the colour check
n_dims_heatmap = 20  # leading dimensions shown in the heatmap of changes

# %%
import numpy as np
import pandas as pd
import scipy.stats
import torch
from IPython.display import display
from myst_nb import glue

from dnnalign_utils import actmax, autorate, causal, gradcam, networks, plotting, regression
from dnnalign_utils.book import start_chapter
from dnnalign_utils.features import PICTURE_MODELS
from dnnalign_utils.images import DEFAULT_RENDERING
from dnnalign_utils.plotting import styled_table
from dnnalign_utils.predictor import EfficientNetLitePredictor

# The run profile's sizes unless a parameter set them (papermill with only `profile`,
# Jupyter, Colab), the measured run time of the Takes line, the figure template.
start_chapter(globals(), "04_gradcam")

# Run alone (a fresh Colab session, a downloaded notebook), this chapter first runs the
# earlier chapters whose artefacts it needs and does not find; in the book it does nothing.
from dnnalign_utils.book import ensure_upstream

studied = networks.check_picture_level_network(
    networks.resolve(network, features_path=features_path, images_dir=images_dir, layer=layer)
)
ensure_upstream(profile, "04_gradcam", studied)
picture = networks.image_set_features(profile, studied)
pooled, rows, to_input = picture.values, picture.rows, picture.recipe
dims = networks.picture_embedding(profile, studied, picture)  # checked against its pictures
captions = [f"{u} ({s})" for u, s in zip(rows["uniqueID"], rows["style"], strict=True)]
model = PICTURE_MODELS[studied.name].load()

# %% tags=["hide-input"]
glue("picture_label", picture.label, display=False)
glue("n_features", pooled.shape[1], display=False)
glue("input_size", to_input.crop, display=False)
feature_map = gradcam.feature_map_shape(model, to_input.crop)  # the grid of the maps
glue("feature_map", " × ".join(str(n) for n in feature_map), display=False)
glue("n_pictures", len(rows), display=False)
glue("n_dims", dims.n_dims, display=False)
counts = {"pictures": [len(rows)], "features": [pooled.shape[1]], "dimensions": [dims.n_dims]}
styled_table(pd.DataFrame(counts), index=False)

# %% [markdown]
# ## Predicting the dimensions from the network's activations
#
# Each of the {glue:text}`n_dims` dimensions is predicted from the {glue:text}`n_features:,` pooled
# activations of the {glue:text}`n_pictures:,` pictures by ridge regression, the penalty
# chosen on inner folds and R² measured on outer folds.

# %%
alphas = np.logspace(alpha_log10_min, alpha_log10_max, n_alphas)
cv = {"n_outer": n_outer, "n_inner": n_inner, "outer_seed": seed, "inner_seed": seed + 1}
result = regression.nested_cv_ridge(pooled, dims.weights, alphas, **cv)
r2 = pd.DataFrame({"dimension": np.arange(1, dims.n_dims + 1), "R² (%)": 100 * result.r2})

# %% tags=["hide-input"]
glue("share_75", float((r2["R² (%)"] > 75).mean() * 100), display=False)
glue("share_85", float((r2["R² (%)"] > 85).mean() * 100), display=False)
glue("median_r2", float(r2["R² (%)"].median()), display=False)
glue("median_r2_first10", float(r2["R² (%)"].head(10).median()), display=False)

# %% [markdown]
# Each dimension is also labelled visual, semantic, mixed or unclear by chapter 5's
# automatic rater (with the same settings as there; see that chapter for how the rater
# works and how it was validated).

# %%
rater_model = autorate.profile_rater(profile, seed=seed)
r2["quality"] = rater_model.rate_pictures(dims.weights, rows)["label"].to_numpy()
quality_names = r2["quality"].to_numpy()

# %% tags=["hide-input"]
plotting.picture_r2_scatter(r2, picture.label).show()

# %% [markdown]
# The leading dimensions are read well (median R² {glue:text}`median_r2_first10:.0f` %
# over the first ten), later ones much less: over all dimensions the median is
# {glue:text}`median_r2:.0f` %, and {glue:text}`share_75:.0f` % of them exceed 75 %
# (paper, Results, for VGG-16: all above 75 %, most above 85 %). We attribute the
# difference to data: each of our pictures appears in a few hundred training triplets
# (chapter 2), each of the paper's images in about 2,200 (from the paper's Methods: 18
# million training triplets over 24,102 images), so our later dimensions carry much noise
# that no image feature can predict. Grad-CAM explains the *predicted* value of a
# dimension, so we show the leading, well-predicted dimensions.
#
# ## One differentiable predictor
#
# The final ridge (penalty by cross-validation on all pictures, refitted on all of
# them) becomes the last layer of {glue:text}`picture_label`, with the input centring it was
# fitted with. On pictures the predictor has never been asked about, it must give what
# the ridge gives on the stored features:

# %%
predictor = EfficientNetLitePredictor(model, result.final_model)
check_rows = np.random.default_rng(seed).choice(len(rows), n_check_pictures, replace=False)
inputs, _, _ = gradcam.rendered_pictures(rows.iloc[check_rows], to_input)
with torch.no_grad():
    end_to_end = predictor(inputs).numpy()
max_difference = float(np.abs(end_to_end - result.final_model.predict(pooled[check_rows])).max())

# %% tags=["hide-input"]
glue("max_difference", max_difference, display=False)
glue("n_check_pictures", n_check_pictures, display=False)
check = {"pictures": [n_check_pictures], "max |predictor − ridge|": [f"{max_difference:.2g}"]}
styled_table(pd.DataFrame(check), index=False)

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
from dnnalign_utils import paths
from dnnalign_utils.predictor import DimensionPredictor

picture_predictor = DimensionPredictor.from_training(
    result.final_model,
    pooled,
    network=network,
    layer=picture.layer,
    object_names=rows["file_name"],
    model=model,
)
saved = picture_predictor.save(
    paths.picture_predictor(profile, studied),
    produced_by="notebooks/04_gradcam",
    parameters={"seed": seed},
)
print(f"saved: {paths.display_path(saved)}")

# %% [markdown]
# ## Grad-CAM maps of the leading dimensions
#
# For each of the first {glue:text}`n_dims_shown` dimensions (in order of importance),
# its {glue:text}`pictures_per_dim` top pictures, each with the Grad-CAM map of *that*
# dimension (red: most evidence for the dimension).

# %%
shown = min(n_dims_shown, dims.n_dims)
picture_index, dim_index = gradcam.top_pictures(dims.weights, shown, pictures_per_dim)
inputs, rgb, masks = gradcam.rendered_pictures(rows.iloc[picture_index], to_input)
cams = gradcam.dimension_cams(predictor, inputs, dim_index)

# %% tags=["hide-input"]
glue("n_dims_shown", n_dims_shown, display=False)
glue("pictures_per_dim", pictures_per_dim, display=False)
plotting.cam_grid(
    rgb,
    cams,
    [
        f"dim {d + 1} ({quality_names[d]}): {captions[i]}"
        for i, d in zip(picture_index, dim_index, strict=True)
    ],
    pictures_per_dim,
    title=f"Grad-CAM of single {picture.label} dimensions on their top pictures",
).show()

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
inputs, _, masks = gradcam.rendered_pictures(rows.iloc[best], to_input)
share_cams = gradcam.dimension_cams(predictor, inputs, np.arange(n_share))
share, area = gradcam.object_share(share_cams, masks)
# a centre-heavy map blind to the picture: the mean of all these maps, on every picture
blind = gradcam.blind_object_share(share_cams, masks)
shares = gradcam.object_share_table(share, area, blind, [captions[i] for i in best])

# %% tags=["hide-input"]
glue("mean_blind", float(np.nanmean(blind) * 100), display=False)
glue("share_above_blind", 100 * float((share > blind).mean()), display=False)
glue("n_share", n_share, display=False)
glue("mean_share", float(np.nanmean(shares["on the object (%)"])), display=False)
glue("mean_area", float(shares["object area (%)"].mean()), display=False)
glue("share_above_area", 100 * float((share > area).mean()), display=False)
plotting.object_share_scatter(shares).show()

# %% [markdown]
# On average {glue:text}`mean_share:.0f` % of a map lies on the object, which covers
# {glue:text}`mean_area:.0f` % of its picture; for {glue:text}`share_above_area:.0f` %
# of the {glue:text}`n_share` dimensions the map is more concentrated on the object than
# an evenly spread map. The drawings are centred, and Grad-CAM maps of a coarse feature
# map lean to the centre, so a stricter baseline is the *mean* of these maps laid on
# every picture: it puts {glue:text}`mean_blind:.0f` % on the objects, and the map of
# the dimension itself beats it for {glue:text}`share_above_blind:.0f` % of the
# dimensions. The paper shows its maps qualitatively; these numbers are our addition,
# possible because the drawings come with exact object masks.

# %% [markdown]
# ## Can the maps be trusted? Deleting what they highlight
#
# A map is only worth reading if the model uses what it highlights. The deletion test
# (Petsiuk et al., 2018) removes the most-highlighted pixels first, in
# {glue:text}`perturbation_steps` steps, and follows the predicted value of the
# dimension; removing pixels in random order is the reference. Insertion runs the other
# way, from the baseline back to the picture. A removed pixel is replaced by a strongly
# blurred copy of the picture (Gaussian, σ = {glue:text}`baseline_blur_sigma:.0f`
# pixels of the {glue:text}`input_size`-pixel input), which removes detail without adding
# a colour the network never saw. Each curve is rescaled so that the picture predicts 1 and its
# blurred copy 0, and summarised by its area: a deletion curve that drops at once scores
# near 0, a straight line 0.5; insertion is the mirror image. We test the first
# {glue:text}`n_faith` dimensions on their {glue:text}`faith_pictures_per_dim` top
# pictures each, with Grad-CAM and with GradCAM++ (Chattopadhay et al., 2018), a second
# method of the same library that weights each channel by positive second-order
# gradients instead of the mean gradient.

# %%
n_faith = min(n_faith_dims, dims.n_dims)
faith_pictures, faith_dims = gradcam.top_pictures(dims.weights, n_faith, faith_pictures_per_dim)
faith_inputs, _, faith_masks = gradcam.rendered_pictures(rows.iloc[faith_pictures], to_input)
methods = {"Grad-CAM": "GradCAM", "GradCAM++": "GradCAMPlusPlus"}
faith_cams = {
    name: gradcam.dimension_cams(predictor, faith_inputs, faith_dims, method=method)
    for name, method in methods.items()
}
faith_baselines = gradcam.blurred_baselines(faith_inputs, baseline_blur_sigma)
# the two maps' pixel orders, then n_random_orders random ones per picture
orders = gradcam.map_and_random_orders(list(faith_cams.values()), n_random_orders, seed)
deletion, insertion = gradcam.perturbation_curves(
    predictor, faith_inputs, faith_baselines, orders, faith_dims, perturbation_steps
)

# %% [markdown]
# Orders 0 and 1 follow the two maps, the others are random; a picture's random AUC is
# the mean over its random orders. Per dimension, a one-sided Wilcoxon signed-rank test
# across its pictures asks whether deletion by the map has the smaller AUC, with a
# Benjamini-Hochberg correction over the tested dimensions (the random order is the
# reference, so its row of the table has no share: "–").

# %%
picture_value, blurred_value = deletion[:, 0, 0], deletion[:, 0, -1]
faith_summary = gradcam.faithfulness_summary(deletion, insertion, list(methods), faith_dims)

# %% tags=["hide-input"]
glue("perturbation_steps", perturbation_steps, display=False)
glue("baseline_blur_sigma", baseline_blur_sigma, display=False)
glue("n_faith", n_faith, display=False)
glue("faith_pictures_per_dim", faith_pictures_per_dim, display=False)
glue("n_random_orders", n_random_orders, display=False)
glue("blur_lower", 100 * float((blurred_value < picture_value).mean()), display=False)
for key, name in (("gradcam", "Grad-CAM"), ("plus", "GradCAM++")):
    row = faith_summary.loc[name]
    glue(f"faith_share_{key}", float(row["dimensions faster than random (%)"]), display=False)
    glue(f"deletion_auc_{key}", float(row["median deletion AUC"]), display=False)
    glue(f"insertion_auc_{key}", float(row["median insertion AUC"]), display=False)
random_row = faith_summary.loc["random order"]
glue("deletion_auc_random", float(random_row["median deletion AUC"]), display=False)
glue("insertion_auc_random", float(random_row["median insertion AUC"]), display=False)
styled_table(faith_summary.rename_axis("pixel order"), precision=3)

# %% tags=["hide-input"]
plotting.perturbation_curves_figure(deletion, insertion, list(methods)).show()

# %% [markdown]
# The blurred copy predicts a lower value than the picture for
# {glue:text}`blur_lower:.0f` % of the tested pictures, so the baseline does remove the
# evidence. Deleting the pixels Grad-CAM highlights first gives a median deletion AUC
# of {glue:text}`deletion_auc_gradcam:.2f` against {glue:text}`deletion_auc_random:.2f`
# for random order (insertion: {glue:text}`insertion_auc_gradcam:.2f` against
# {glue:text}`insertion_auc_random:.2f`), and the map removes evidence faster than
# random order for {glue:text}`faith_share_gradcam:.0f` % of the
# {glue:text}`n_faith` dimensions (GradCAM++: {glue:text}`faith_share_plus:.0f` %). The
# paper reads its maps without this test.
#
# ## Do the maps depend on the model? Randomising the weights
#
# Adebayo et al. (2018) showed that some saliency maps hardly change when the network's
# weights are replaced by random ones: they show edges of the input, not what the model
# computes. Their check re-initialises the model from the top down, one block at a time,
# keeping the earlier randomisations, and compares each step's maps with the original
# ones (Spearman rank correlation of the pixels and the structural similarity, SSIM).
# Here the blocks are the ridge, the head convolution, the network's seven stages and
# its stem (each re-initialisation seeded). As a control that *must* fail, the same
# steps are run with a "map" that ignores the model: the edge strength of the input.

# %%
n_random_pics = min(n_randomisation_pictures, dims.n_dims)
random_top = np.argmax(dims.weights[:, :n_random_pics], axis=0)  # each dimension's top picture
random_inputs, random_rgb, _ = gradcam.rendered_pictures(rows.iloc[random_top], to_input)
blocks = gradcam.efficientnet_randomisation_blocks(predictor)
cascade = gradcam.cascading_randomisation(
    predictor, blocks, random_inputs, np.arange(n_random_pics), seed=seed
)
edge_cascade = gradcam.cascading_randomisation(
    predictor, blocks, random_inputs, None, seed=seed, maps=gradcam.input_edge_maps
)
# Grad-CAM's maps must change as the weights are randomised, the edge control's must not
cascade_table, edge_table = gradcam.checked_randomisation(cascade, edge_cascade)

# %% tags=["hide-input"]
glue("rand_final_rho", float(cascade_table["Spearman"].iloc[-1]), display=False)
glue("rand_ridge_rho", float(cascade_table["Spearman"].iloc[0]), display=False)
glue("rand_final_ssim", float(cascade_table["SSIM"].iloc[-1]), display=False)
glue("edge_final_rho", float(edge_table["Spearman"].iloc[-1]), display=False)
glue("n_random_pics", n_random_pics, display=False)
both = {"Grad-CAM": cascade_table, "edge control": edge_table}
styled_table(pd.concat(both, names=["map", None]).reset_index(level=0), index=False)

# %% tags=["hide-input"]
plotting.randomisation_lines(cascade_table, edge_table).show()
plotting.randomisation_grid(
    random_rgb[0],
    cascade,
    title="Grad-CAM of dimension 1 on its top picture, randomised from the top down",
).show()

# %% [markdown]
# On the top pictures of the first {glue:text}`n_random_pics` dimensions, randomising
# the ridge alone brings the median rank correlation with the original maps to
# {glue:text}`rand_ridge_rho:.2f`, and the fully randomised network to
# {glue:text}`rand_final_rho:.2f` (SSIM {glue:text}`rand_final_ssim:.2f`): the maps
# depend on the weights. The edge control keeps a rank correlation of
# {glue:text}`edge_final_rho:.2f` and is flagged, as it must be (the chapter stops if
# either verdict turns).
#
# ## A second CAM method
#
# GradCAM++ weights the same channels differently. We compare it with Grad-CAM on the
# pictures of the deletion test: how similar the maps are, how much of each falls on
# the object, and how fast deletion removes the evidence. HiResCAM, a third
# method, multiplies gradients and activations position by position; because the
# predictor averages the feature map over positions before the ridge, the gradient is
# the same everywhere and HiResCAM equals Grad-CAM here (largest difference below).

# %%
method_rho, method_ssim = gradcam.map_similarity(*faith_cams.values())
faith_share = {
    name: gradcam.object_share(cams, faith_masks)[0] for name, cams in faith_cams.items()
}
hires_cams = gradcam.dimension_cams(
    predictor, random_inputs, np.arange(n_random_pics), method="HiResCAM"
)
hires_difference = float(np.abs(hires_cams - cascade["original"]).max())

# %% tags=["hide-input"]
glue("method_rho", float(np.median(method_rho)), display=False)
glue("method_ssim", float(np.median(method_ssim)), display=False)
glue("plus_share", float(np.nanmean(faith_share["GradCAM++"]) * 100), display=False)
glue("faith_gradcam_share", float(np.nanmean(faith_share["Grad-CAM"]) * 100), display=False)
glue("faith_area", float(faith_masks.mean() * 100), display=False)
glue("hires_difference", hires_difference, display=False)
styled_table(gradcam.method_table(faith_share, method_rho, faith_summary))

# %% [markdown]
# The two methods agree closely (median rank correlation {glue:text}`method_rho:.2f`,
# SSIM {glue:text}`method_ssim:.2f`); GradCAM++ puts {glue:text}`plus_share:.0f` % of
# its maps on the object (Grad-CAM {glue:text}`faith_gradcam_share:.0f` %, object area
# {glue:text}`faith_area:.0f` %). HiResCAM differs from Grad-CAM by at most
# {glue:text}`hires_difference:.1e`.
#
# ## The paper's causal test: which dimensions move when a picture changes?
#
# The paper (Results) edits six photographs by hand (a toilet, a lifesaver, a manhole, a bottle, a
# basketball, a footprint), predicts the dimension values of each original and its
# edit, and plots the differences, naming the dimensions expected to rise or fall and
# control dimensions expected to stay. Our drawings come with exact object masks, so
# the edits can be automatic and the same for every picture: greyscale, a 120° hue turn
# (lightness kept), the silhouette only (white on the black background), the object
# removed, the background swapped to grey, a blur and a crop to the central 60 %.
# Each is a tested function of `dnnalign_utils.causal`. We apply them to the top
# pictures of the first {glue:text}`n_manipulated` dimensions and express each change
# in standard deviations of the dimension over all pictures.

# %%
n_manipulated = min(n_manipulated_pictures, dims.n_dims)
manip_rows = rows.iloc[np.argmax(dims.weights[:, :n_manipulated], axis=0)]
manip_inputs, manip_rgb, manip_masks = gradcam.rendered_pictures(manip_rows, to_input)
edited, edit_names, edit_picture = causal.manipulate(
    manip_rgb, manip_masks, DEFAULT_RENDERING.background
)
edited_inputs = gradcam.network_inputs(edited, to_input)
dim_sd = dims.weights.std(axis=0)
edited_values = gradcam.predict(predictor, edited_inputs)
change = (edited_values - gradcam.predict(predictor, manip_inputs)[edit_picture]) / dim_sd
dim_names = causal.dimension_names(dims.weights, rows["uniqueID"])  # number, top concept
mean_change = pd.DataFrame(change, columns=dim_names).groupby(edit_names, sort=False).mean()

# %% tags=["hide-input"]
glue("n_manipulated", n_manipulated, display=False)
styled_table(mean_change.iloc[:, :n_dims_heatmap].rename_axis("manipulation"))

# %% tags=["hide-input"]
plotting.manipulation_heatmap(mean_change.iloc[:, :n_dims_heatmap], n_manipulated).show()

# %% [markdown]
# Where does the map move with the value? For the largest change in the heatmap's
# dimensions, Grad-CAM of that dimension before and after the manipulation:

# %%
shown_change = change[:, : min(n_dims_heatmap, dims.n_dims)]
edit_row, move_dim = np.unravel_index(np.argmax(np.abs(shown_change)), shown_change.shape)
before_after = gradcam.dimension_cams(
    predictor,
    torch.stack([manip_inputs[edit_picture[edit_row]], edited_inputs[edit_row]]),
    int(move_dim),
)

# %% tags=["hide-input"]
glue("largest_move", float(shown_change[edit_row, move_dim]), display=False)
glue("largest_move_edit", edit_names[edit_row], display=False)
glue("largest_move_dim", dim_names[move_dim], display=False)
plotting.cam_grid(
    [manip_rgb[edit_picture[edit_row]], edited[edit_row]],
    before_after,
    [f"original, dim {dim_names[move_dim]}", f"{edit_names[edit_row]}"],
    2,
    title=f"Grad-CAM of dimension {dim_names[move_dim]} before and after the largest change",
    encoding="webp",
).show()

# %% [markdown]
# The largest change, {glue:text}`largest_move:.1f` standard deviations, is in
# dimension {glue:text}`largest_move_dim` under "{glue:text}`largest_move_edit`".
#
# **Do the moves make sense? Colour.** Greyscale should move the dimensions that colour
# predicts more than the others. For each dimension we measure how well the colour of
# the pictures' objects predicts it (the cross-validated R² of the same nested ridge from
# four colour measures of chapter 5's rater: redness, greenness, blueness, yellowness),
# turn {glue:text}`n_colour_pictures` random pictures grey, and correlate the two over
# dimensions. The pictures' own values come from the ridge on the stored features (equal
# to the predictor, see above).

# %%
chroma = autorate.colour_measures(rows["path"])[["red", "green", "blue", "yellow"]]
colour_r2 = regression.nested_cv_ridge(chroma.to_numpy(), dims.weights, alphas, **cv).r2
grey_rows = np.random.default_rng(seed + 2).choice(len(rows), n_colour_pictures, replace=False)
_, grey_rgb, _ = gradcam.rendered_pictures(rows.iloc[grey_rows], to_input)
grey_inputs = gradcam.network_inputs([causal.greyscale(p) for p in grey_rgb], to_input)
grey_values = gradcam.predict(predictor, grey_inputs)
grey_change = np.abs(grey_values - result.final_model.predict(pooled[grey_rows])).mean(0) / dim_sd
colour_check = scipy.stats.spearmanr(colour_r2, grey_change)
most_colour = int(np.argmax(colour_r2))

# %% tags=["hide-input"]
glue("n_colour_pictures", n_colour_pictures, display=False)
glue("colour_rho", float(colour_check.statistic), display=False)
glue("colour_p", float(colour_check.pvalue), display=False)
glue("most_colour_dim", dim_names[most_colour], display=False)
glue("most_colour_r2", float(100 * colour_r2[most_colour]), display=False)
glue("most_colour_ratio", float(grey_change[most_colour] / np.median(grey_change)), display=False)
glue("most_colour_rank", int((grey_change > grey_change[most_colour]).sum() + 1), display=False)
styled_table(causal.colour_check_table(colour_r2, grey_change, dim_names), index=False)

# %% tags=["hide-input"]
plotting.colour_check_scatter(colour_r2, grey_change, dim_names).show()

# %% [markdown]
# Over the {glue:text}`n_dims` dimensions, the change under greyscale rises with how
# well colour predicts the dimension (Spearman {glue:text}`colour_rho:.2f`, p =
# {glue:text}`colour_p:.1e`). The most colour-predicted dimension,
# {glue:text}`most_colour_dim` (R² {glue:text}`most_colour_r2:.0f` %), moves
# {glue:text}`most_colour_ratio:.1f` times the median change, rank
# {glue:text}`most_colour_rank` of {glue:text}`n_dims`.
#
# **Novel pictures: photographs.** scikit-image ships a few photographs with the package
# (no download); those of concepts in our image set are fed to the predictor, cropped to
# their central square. None of our emoji styles is new to the embedding (all
# {glue:text}`n_styles` entered chapter 2's fit), so the photographs are the novel
# pictures here. Two questions: do the values transfer (the embedding's weights are
# never negative), and does the predicted profile point at the right concept? We rank
# the {glue:text}`n_concepts` concepts by the cosine similarity of their mean profile to
# the predicted one (rank 1: most similar).

# %%
photos = causal.skimage_photos(rows["uniqueID"].unique())
photo_inputs = gradcam.network_inputs(photos["rgb"], to_input)
photo_values = gradcam.predict(predictor, photo_inputs)
emoji_values = result.final_model.predict(pooled)
photo_table = causal.concept_rank(photo_values, dims.weights, rows["uniqueID"], photos["uniqueID"])
photo_table.insert(0, "photograph", photos["description"])
photo_table["negative values (%)"] = 100 * (photo_values < 0).mean(1)

# %% tags=["hide-input"]
glue("n_styles", int(rows["style"].nunique()), display=False)
glue("n_concepts", int(photo_table["concepts"].iloc[0]), display=False)
glue("photo_negative", float(100 * (photo_values < 0).mean()), display=False)
glue("emoji_negative", float(100 * (emoji_values < 0).mean()), display=False)
glue("photo_median_rank", float(photo_table["rank"].median()), display=False)
glue("n_photos", len(photos), display=False)
glue("chance_rank", float(photo_table["concepts"].iloc[0] + 1) / 2, display=False)
styled_table(photo_table, precision=1, index=False)

# %% tags=["hide-input"]
photo_dims = photo_values.argmax(1)
photo_cams = gradcam.dimension_cams(predictor, photo_inputs, photo_dims)
plotting.cam_grid(  # each photograph resized to its map, the network's input grid
    list(photos["rgb"]),
    photo_cams,
    [f"{u}: dim {dim_names[d]}" for u, d in zip(photos["uniqueID"], photo_dims, strict=True)],
    min(len(photos), 4),
    title="Photographs: Grad-CAM of their highest predicted dimension",
).show()

# %% [markdown]
# Said plainly: the predictor does not transfer from drawings to photographs in
# absolute value. {glue:text}`photo_negative:.0f` % of the values predicted for the
# {glue:text}`n_photos` photographs are negative, although no embedding weight is
# (for the drawings it was fitted on: {glue:text}`emoji_negative:.0f` %). What is left
# is the pattern across dimensions: the right concept ranks at a median of
# {glue:text}`photo_median_rank:.0f` of {glue:text}`n_concepts` (chance:
# {glue:text}`chance_rank:.0f`), so read the photographs' profiles as relative, not as
# dimension values. The paper's causal test runs on photos of the kind its predictor
# was fitted on; ours shows how far a predictor fitted on drawings carries.

# %% [markdown]
# ## What does a dimension want to see? Pictures optimised for it
#
# The paper also visualises its dimensions by activation maximisation (its
# activation-maximisation figure): it samples pictures from an ImageNet image generator
# (StyleGAN-XL), keeps the top-scoring ones for a dimension and optimises their latent
# codes for 100 Adam steps on the loss −α·value_d − β·log softmax(values)_d (α = 0.1,
# β = 1; paper, Methods), which raises dimension d and, through the softmax, keeps the
# other dimensions low. The generator cannot be downloaded here, so we optimise the **pixels**
# of the picture instead, as in feature visualisation (Olah et al., 2017): the picture is
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
act_size = actmax_size or to_input.crop
settings = {"dims": act_dims, "steps": actmax_steps, "size": act_size, "seed": seed}
optimised = {
    name: actmax.optimise_pictures(predictor, to_input.normalise, objective=name, **settings)
    for name in actmax.OBJECTIVES
}
act_top = np.argmax(dims.weights[:, :n_act], axis=0)  # each dimension's top picture
_, top_rgb, _ = gradcam.rendered_pictures(rows.iloc[act_top], to_input)

# %% tags=["hide-input"]
glue("n_actmax_dims", n_act, display=False)
glue("actmax_steps", actmax_steps, display=False)
plotting.optimised_pictures_grid(top_rgb, optimised, [captions[i] for i in act_top]).show()

# %% [markdown]
# **Do the optimised pictures raise their dimension?** Each dimension's predicted value
# on its optimised picture, divided by its largest predicted value on any real picture
# (1: as high as the dimension's top picture), and the same ratio for every *other*
# dimension on that picture:

# %%
real_values = result.final_model.predict(pooled)  # the predictor's values on real pictures
gains = actmax.gains_table(optimised, real_values)  # gain_over_real of each objective

# %% tags=["hide-input"]
for name in optimised:
    g = gains[gains["objective"] == actmax.OBJECTIVE_NAMES[name]]
    glue(f"act_{name}_target_ratio", float(g["target ratio"].median()), display=False)
    glue(f"act_{name}_others_ratio", float(g["others mean ratio"].median()), display=False)
    glue(f"act_{name}_others_max", float(g["others max ratio"].median()), display=False)
styled_table(gains, index=False)

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
optimised_pooled = actmax.optimised_features(predictor, to_input.normalise, optimised)
# mean_pairwise_cosine of each objective's pictures and of the top real pictures
cosines = actmax.cosine_table(optimised_pooled, pooled[act_top], centre=pooled.mean(axis=0))
both_runs = actmax.OptimisedPictures.concatenate(optimised.values())  # paper's loss, then value
confusion = actmax.confusion_table(both_runs.values, both_runs.dims, real_values, act_dims)
real_confusion = actmax.confusion_table(real_values[act_top], act_dims, real_values, act_dims)

# %% tags=["hide-input"]
cos = {name: float(cosines[f"optimised, {actmax.OBJECTIVE_NAMES[name]}"]) for name in optimised}
cos["real"] = float(cosines["top real pictures"])
glue("act_cos_paper", cos["paper"], display=False)
glue("act_cos_value", cos["value"], display=False)
glue("act_cos_real", cos["real"], display=False)
glue("act_cos_compare", "more" if cos["paper"] > cos["real"] else "less", display=False)
glue("act_read_own", int(np.trace(confusion.to_numpy())), display=False)
glue("act_read_total", int(confusion.to_numpy().sum()), display=False)
glue("act_real_read_own", int(np.trace(real_confusion.to_numpy())), display=False)
display(styled_table(cosines.rename_axis("pictures").to_frame(), precision=3))
styled_table(confusion)

# %% [markdown]
# The optimised pictures of different dimensions have a mean feature cosine of
# {glue:text}`act_cos_paper:.2f` (paper's loss) and {glue:text}`act_cos_value:.2f`
# (plain value), against {glue:text}`act_cos_real:.2f` between the dimensions' top real
# pictures: by the network's features as a whole, the optimised pictures of different
# dimensions are {glue:text}`act_cos_compare` alike than the real pictures that score
# highest on them. Pixel-space optimisation gives all its pictures common traits (fine,
# fur-like texture over the whole frame, muted colours) that much of the
# {glue:text}`n_features:,`-d feature vector registers, while the ridge reads only a few
# directions of it, so this check is the weaker of the two. The predictor reads
# {glue:text}`act_read_own` of the {glue:text}`act_read_total` optimised pictures (both
# losses) as their own dimension (rows: the dimension a picture was optimised for;
# columns: the dimension read); the top real pictures are read as their own dimension
# {glue:text}`act_real_read_own` times out of {glue:text}`n_actmax_dims`. The paper
# shows its optimised pictures qualitatively, for VGG-16 dimensions and with a
# generator; it gives no such numbers. Ours are optimised for only
# {glue:text}`actmax_steps` steps to keep the chapter short.

# %% [markdown]
# ## Download the results
#
# The R² of every {glue:text}`picture_label` picture dimension with its label and top pictures,
# and the share of each dimension's Grad-CAM map on its top picture's object, each with
# a provenance record:

# %% mystnb={"markdown_format": "myst"}
from dnnalign_utils import downloads
from dnnalign_utils.predictor import PICTURE_R2_COLUMNS, picture_r2_table

downloads.links(
    downloads.publish(
        picture_r2_table(r2, dims.weights, captions, picture.label),  # with the top pictures
        "picture_dimension_r2",
        "04_gradcam",
        profile,
        description=f"out-of-fold R² of every {picture.label} picture dimension from the "
        "network's pooled activations, with the automatic rater's label",
        parameters={"n_outer": n_outer, "n_inner": n_inner, "seed": seed, "network": network},
        network=studied,
        columns=PICTURE_R2_COLUMNS,
    )
    + downloads.publish(
        shares,
        "gradcam_object_share",
        "04_gradcam",
        profile,
        description="share of each dimension's Grad-CAM map on the object of its top "
        "picture, the object's area and the picture-blind mean map's share",
        network=studied,
        columns=gradcam.OBJECT_SHARE_COLUMNS,
    )
)

# %% [markdown]
# ## In this notebook we
#
# - predicted the {glue:text}`n_dims` {glue:text}`picture_label` dimensions from its pooled
#   activations: median R² {glue:text}`median_r2_first10:.0f` % for the first ten,
#   {glue:text}`median_r2:.0f` % over all (paper, Results, VGG-16: all above 75 %);
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
# - deleted the most-highlighted pixels first: the dimension's value fell faster than
#   in random order for {glue:text}`faith_share_gradcam:.0f` % of the
#   {glue:text}`n_faith` tested dimensions (Grad-CAM; GradCAM++:
#   {glue:text}`faith_share_plus:.0f` %), and randomising the network from the top down
#   left the maps with a median rank correlation of {glue:text}`rand_final_rho:.2f` with
#   the original ones (an input edge detector keeps {glue:text}`edge_final_rho:.2f`);
# - manipulated pictures and saw which dimensions move: the change under greyscale
#   follows how well colour statistics predict a dimension (Spearman
#   {glue:text}`colour_rho:.2f`); for real photographs the predicted values do not
#   transfer ({glue:text}`photo_negative:.0f` % negative), only their pattern partly
#   does (the right concept's median rank {glue:text}`photo_median_rank:.0f` of
#   {glue:text}`n_concepts`, chance {glue:text}`chance_rank:.0f`).
