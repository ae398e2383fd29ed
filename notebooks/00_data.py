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
# # The THINGS concepts
#
# ## Overview
#
# The paper compares humans and a deep neural network on the 1,854 object concepts of
# the THINGS database. This chapter loads the concept list and the 27 high-level
# categories that THINGS assigns to part of the concepts, and shows how many concepts
# fall into each category.
#
# **Needs**: the embedded data in `data/things/metadata/` (no download).
# **Takes**: a few seconds.

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

# %%
import pandas as pd
import plotly.express as px
from myst_nb import glue

from dnnalign_utils.paths import data_dir

# %% [markdown]
# ## Concepts and categories
#
# `category27_manual.tsv` has one row per concept, in THINGS `uniqueID` order, and one
# binary column per category; a concept can belong to several categories or to none.

# %%
unique_ids = (data_dir() / "things" / "metadata" / "unique_id.txt").read_text().split()
categories = pd.read_csv(data_dir() / "things" / "metadata" / "category27_manual.tsv", sep="\t")
categories.index = pd.Index(unique_ids, name="uniqueID")
n_uncategorised = int((categories.sum(axis=1) == 0).sum())
glue("n_concepts", len(unique_ids), display=False)
glue("n_uncategorised", n_uncategorised, display=False)
categories.iloc[:5, :6]

# %% [markdown]
# THINGS has {glue:text}`n_concepts` concepts; {glue:text}`n_uncategorised` of them
# belong to none of the 27 categories.

# %%
counts = categories.sum().sort_values(ascending=False).rename("concepts")
fig = px.bar(
    counts.rename_axis("category").reset_index(),
    x="category",
    y="concepts",
    title="THINGS concepts per high-level category",
)
fig.update_layout(xaxis_tickangle=-45)
fig.show()

# %% [markdown]
# ## In this notebook we
#
# - loaded the 1,854 THINGS concept IDs and their 27 high-level categories;
# - counted the concepts per category.
