"""plotly output for the book, plus a shared look for the book's figures.

Under papermill, plotly 7 writes figures only as `application/vnd.plotly.v1+json`, a
mime type myst-nb skips, so the figure would silently vanish from the HTML. The book
runner puts `configure_for_book_build()` in a hidden first cell: during a book build
(the runner sets `DNNALIGN_BOOK_BUILD=1`) figures are emitted as a `text/html` fragment
(a div plus a `Plotly.newPlot` call) without plotly.js or MathJax, and the book serves
one local copy of `plotly.min.js` to the pages that have figures. The fragment comes with
plotly's own `application/vnd.plotly.v1+json` copy of the figure, which the book ignores
and JupyterLab draws, so a notebook downloaded from the book shows its figures. Anywhere
else (a reader's Jupyter, Colab, a rerun of the downloaded notebook) the hidden cell
changes nothing and plotly's own renderer detection applies.
"""

from __future__ import annotations

import io
import os
import re

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer
from tqdm.std import tqdm as tqdm_std

BOOK_RENDERER = "dnnalign_book"
# Set to "1" by the book runner (`dnnalign_utils.book`) while it executes a chapter.
BOOK_BUILD_ENV = "DNNALIGN_BOOK_BUILD"
PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
TEMPLATE = "dnnalign"

# Okabe & Ito (2008) colour-blind-safe qualitative palette (black moved to the end).
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
# Colours for the two systems the book compares, used in every chapter.
HUMAN_COLOUR = PALETTE[0]
DNN_COLOUR = PALETTE[1]


# Dimension qualities (chapter 5): the same colour wherever a quality is shown.
QUALITY_COLOURS = {
    "visual": "#E69F00",
    "mixed": "#009E73",
    "semantic": "#0072B2",
    "unclear": "#999999",
}


class BookHTMLRenderer(MimetypeRenderer):
    """Emit a figure as a `text/html` fragment that relies on a page-level plotly.js."""

    def to_mimebundle(self, fig_dict):
        html = pio.to_html(
            fit_for_book(fig_dict),
            full_html=False,
            include_plotlyjs=False,
            include_mathjax=False,
            validate=False,
            # A fixed height (plotly's notebook default) unless the layout sets one: a
            # 100% height inside an auto-height page block collapses the figure.
            default_width="100%",
            default_height="525px",
            config={"responsive": True, "displaylogo": False},
        )
        bundle = pio.renderers["plotly_mimetype"].to_mimebundle(fig_dict)
        return {"text/html": html, PLOTLY_MIMETYPE: bundle[PLOTLY_MIMETYPE]}


# Figure titles wrap at this many characters (`fit_for_book`): a 390 px phone screen
# leaves a figure about 350 px, some 40 characters of a title at TITLE_FONT_SIZE.
TITLE_WRAP = 38
# Axis titles wrap at this many characters: a legend or a wide left margin leaves an x
# axis some 250 px on a phone.
AXIS_TITLE_WRAP = 32
TITLE_FONT_SIZE = 15
# Trace types the book's plotly.js bundle (plotly.js-cartesian-dist-min) lacks, and the
# type the book draws them as: WebGL scatter (plotly express's choice above 1,000 points)
# as SVG scatter, which draws the same figure.
BOOK_TRACE_SUBSTITUTES = {"scattergl": "scatter"}


def _wrap_title(text: str, width: int = TITLE_WRAP) -> str:
    """Each `<br>`-separated line of `text` wrapped at `width` characters; tags such as
    `<b>` count as characters, which errs on the short side."""
    return "<br>".join(wrap_caption(line, width) for line in text.split("<br>"))


# plotly draws a title of several lines anchored at its top about 14 px higher than its
# padding says (its first line ran off the figure's top), so the padding allows for it.
TITLE_PAD_PX = 24
TITLE_LINE_PX = 20


def _place_title(layout: dict, lines: int) -> None:
    """The title at the top of the figure and a top margin that holds its `lines` lines
    above anything drawn over the plot (facet labels, annotations)."""
    layout["title"].update(
        {"yref": "container", "y": 1, "yanchor": "top", "pad": {"t": TITLE_PAD_PX}}
    )
    layout["title"]["automargin"] = False
    margin = layout.setdefault("margin", {})
    margin["t"] = max(margin.get("t") or 0, lines * TITLE_LINE_PX + TITLE_PAD_PX + 16)


def _row_labels_on_top(layout: dict) -> None:
    """plotly express's facet-row labels (turned 90 degrees at the right edge, where the
    legend covered them on a phone) as labels above their panels, right-aligned."""
    tops = {}
    for key, axis in layout.items():
        if re.fullmatch(r"yaxis\d*", key) and isinstance(axis, dict) and axis.get("domain"):
            low, high = axis["domain"]
            tops[round((low + high) / 2, 6)] = high
    for note in layout.get("annotations") or []:
        if (
            note.get("textangle") == 90
            and note.get("xref") == "paper"
            and note.get("yref") == "paper"
            and (note.get("x") or 0) >= 0.97
            and round(note.get("y", -1), 6) in tops
        ):
            note.update(  # right-aligned: a wide left margin (bar names) stays free
                textangle=0,
                x=1,
                xanchor="right",
                y=tops[round(note["y"], 6)],
                yanchor="bottom",
            )


def fit_for_book(fig_dict: dict) -> dict:
    """A copy of a figure (dict) as the book draws it: its title and axis titles wrapped
    to fit a phone screen, and trace types the book's plotly.js lacks drawn as
    their SVG counterparts (`BOOK_TRACE_SUBSTITUTES`), the template's defaults only for
    the trace types it draws. Notebooks keep the figure as made."""
    import copy

    fig = copy.deepcopy(dict(fig_dict))
    layout = fig.setdefault("layout", {})
    title = layout.get("title")
    if isinstance(title, str):
        layout["title"] = title = {"text": title}
    if isinstance(title, dict) and title.get("text"):
        title["text"] = _wrap_title(str(title["text"]))
        if not {"y", "yref", "yanchor"} & set(title):  # a title the figure did not place
            _place_title(layout, title["text"].count("<br>") + 1)
    for key, axis in layout.items():  # axis titles: x ones span a phone's narrow plot
        if re.fullmatch(r"[xy]axis\d*", key) and isinstance(axis, dict):
            axis_title = axis.get("title")
            if isinstance(axis_title, str):
                axis["title"] = axis_title = {"text": axis_title}
            if isinstance(axis_title, dict) and axis_title.get("text"):
                axis_title["text"] = _wrap_title(str(axis_title["text"]), AXIS_TITLE_WRAP)
    _row_labels_on_top(layout)
    for trace in fig.get("data", []):
        if trace.get("type") in BOOK_TRACE_SUBSTITUTES:
            trace["type"] = BOOK_TRACE_SUBSTITUTES[trace["type"]]
    # The template's defaults for trace types the figure does not draw (some 6 kB of
    # every figure) change nothing on the page.
    template = layout.get("template")
    if isinstance(template, dict) and isinstance(template.get("data"), dict):
        used = {trace.get("type", "scatter") for trace in fig.get("data", [])}
        template["data"] = {k: v for k, v in template["data"].items() if k in used}
    return fig


def use_book_renderer() -> None:
    """Register and select the book renderer (the book runner's choice, not authors')."""
    pio.renderers[BOOK_RENDERER] = BookHTMLRenderer()
    pio.renderers.default = BOOK_RENDERER


def is_book_build() -> bool:
    """True while the book runner executes a chapter (`DNNALIGN_BOOK_BUILD=1`)."""
    return os.environ.get(BOOK_BUILD_ENV) == "1"


def configure_for_book_build() -> bool:
    """During a book build: the book renderer and silent progress bars; else nothing.

    The book runner's hidden first cell calls this. The cell stays in the executed
    notebook a reader downloads from the book, where it must leave plotly's own renderer
    (which includes plotly.js) and the progress bars alone. Returns whether it switched.
    """
    if not is_book_build():
        return False
    use_book_renderer()
    quiet_progress_bars()
    return True


def _register_template() -> None:
    template = go.layout.Template(pio.templates["plotly_white"])
    template.layout.colorway = list(PALETTE)
    template.layout.font = {"family": "Helvetica, Arial, sans-serif", "size": 13}
    template.layout.margin = {"l": 60, "r": 20, "t": 50, "b": 50}
    # (fit_for_book places a figure's title and sizes the top margin to its lines.)
    template.layout.title = {"font": {"size": TITLE_FONT_SIZE}}
    # Log axes label their in-between ticks in full ("200k", not a bare "2").
    template.layout.xaxis.minorloglabels = "complete"
    template.layout.yaxis.minorloglabels = "complete"
    template.layout.hoverlabel = {"namelength": -1}
    pio.templates[TEMPLATE] = template


def use_book_template() -> None:
    """Make the book's template (plotly_white + the palette above) the default, and let
    tables show their text columns in full (pandas cuts cells at 50 characters)."""
    import pandas as pd

    pio.templates.default = TEMPLATE
    pd.set_option("display.max_colwidth", None)


_register_template()


def styled_table(frame, *, precision: int = 2, index: bool = True):
    """A table for a page: numbers rounded to `precision` with thousands separators,
    missing values as a dash, the index hidden unless `index` (a bare 0, 1, 2 index
    says nothing). Returns a pandas Styler, which notebooks and the book show as HTML."""
    styler = frame.style.format(precision=precision, thousands=",", na_rep="–")
    return styler if index else styler.hide(axis="index")


# Captions of `image_grid` wrap at this many characters: four columns on a 390 px phone
# screen leave about 80 px per caption, some 14 characters at the caption font size.
CAPTION_WRAP = 14
CAPTION_FONT_SIZE = 10


def wrap_caption(text: str, width: int = CAPTION_WRAP) -> str:
    """`text` broken into lines of at most `width` characters (at spaces; a longer word
    keeps its own line), joined with plotly's `<br>`."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def image_grid(
    pictures,
    captions: list[str],
    columns: int,
    *,
    title: str = "",
    cell_height: int = 200,
    encoding: str = "webp",
    colour_bar: dict | None = None,
) -> go.Figure:
    """A grid of RGB pictures (n, h, w, 3), ``columns`` per row, each with its caption.

    Captions are attached by facet index, not by annotation order: plotly lays out
    wrapped facets bottom-up, so zipping annotations with captions mislabels images.
    Captions are wrapped (`wrap_caption`) in a small font, with room between the rows,
    so that neighbouring captions do not overlap on a phone screen. ``encoding``: how the
    pictures are embedded in the page, ``"webp"`` (lossless WebP, about a third smaller
    than PNG; drawings), ``"png"`` (lossless) or ``"jpg"`` (photographs, heat-map
    overlays and optimised textures, several times smaller).
    ``colour_bar``: for pictures coloured by a map (Grad-CAM overlays), a horizontal
    colour bar under the grid, ``{"colorscale": ..., "title": ...}``
    (`GRADCAM_COLOUR_BAR`). The title is wrapped here to fit a phone and placed above the
    first row's captions.
    """
    import plotly.express as px

    if encoding not in ("webp", "png", "jpg"):
        raise ValueError(f"encoding: expected 'webp', 'png' or 'jpg', got {encoding!r}")

    if len(pictures) != len(captions):
        raise ValueError(
            f"captions: expected {len(pictures)} (one per picture), got {len(captions)}"
        )
    wrapped = [wrap_caption(c) for c in captions]
    caption_lines = max((w.count("<br>") + 1 for w in wrapped), default=1)
    rows = -(-len(captions) // columns)
    caption_px = caption_lines * (CAPTION_FONT_SIZE + 3) + 6
    height = cell_height * rows + 80
    fig = px.imshow(
        pictures,
        facet_col=0,
        facet_col_wrap=columns,
        binary_string=True,
        binary_format="png" if encoding == "webp" else encoding,
        facet_row_spacing=min(0.3, caption_px / height) if rows > 1 else None,
        facet_col_spacing=0.02,
    )
    fig.for_each_annotation(
        lambda a: a.update(
            text=wrapped[int(a.text.split("=")[-1])],
            font={"size": CAPTION_FONT_SIZE},
            yanchor="bottom",
        )
    )
    if encoding == "webp":
        for trace in fig.data:
            trace.source = _lossless_webp(trace.source)
    # px makes one trace per picture, in picture order; hover names the picture, not
    # the pixel's x, y and colour.
    for trace, caption in zip(fig.data, captions, strict=True):
        trace.update(name=caption, hovertemplate=f"{_escape_template(caption)}<extra></extra>")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    # The first row's captions stand above the pictures, in the top margin: the title
    # goes above them, with the margin grown by its lines (wrapped as the book wraps).
    title_text = _wrap_title(title) if title else ""
    title_px = (title_text.count("<br>") + 1) * (TITLE_FONT_SIZE + 5) if title else 0
    top = title_px + caption_px + TITLE_PAD_PX + 10
    bottom = 20
    if colour_bar is not None:
        bottom = 75
        fig.add_trace(
            go.Heatmap(
                z=[[0.0, 1.0]],
                x=[0, 1],
                y=[0, 0],
                colorscale=colour_bar["colorscale"],
                opacity=0,  # only its colour bar shows
                hoverinfo="skip",
                showscale=True,
                colorbar={
                    "orientation": "h",
                    "title": {"text": colour_bar["title"], "side": "top"},
                    "tickvals": [0, 1],
                    "ticktext": ["low", "high"],
                    "thickness": 10,
                    "len": 0.8,
                    "y": 0,
                    "yref": "container",
                    "yanchor": "bottom",
                    "ypad": 8,
                },
                xaxis="x",
                yaxis="y",
            )
        )
    total = height + caption_px + title_px + bottom
    fig.update_layout(
        title={
            "text": title_text,
            "automargin": False,
            "yref": "container",
            "y": 1,
            "yanchor": "top",
            "pad": {"t": TITLE_PAD_PX},
        },
        height=total,
        margin={"t": top, "b": bottom},
    )
    return fig


# Grad-CAM overlays (`gradcam.overlay`) colour the map with JET, low to high evidence.
GRADCAM_COLOUR_BAR = {
    "colorscale": "Jet",
    "title": "Grad-CAM map (blended onto the picture)",
}


def _lossless_webp(png_uri: str) -> str:
    """A PNG data URI re-encoded as lossless WebP (the same pixels, fewer bytes)."""
    import base64

    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(png_uri.split(",", 1)[1]))) as image:
        buffer = io.BytesIO()
        image.save(buffer, format="WEBP", lossless=True, quality=100, method=4)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _escape_template(text: str) -> str:
    """`text` for a plotly hovertemplate, where "%{" would start a variable."""
    return text.replace("%{", "% {")


class _StaticPageTqdm(tqdm_std):
    """A progress bar that writes nowhere: in a static page a frozen bar is noise, and
    tqdm's widget bars need the ipywidgets manager and its fonts on every page."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("file", io.StringIO())
        super().__init__(*args, **kwargs)


def quiet_progress_bars() -> None:
    """Silence tqdm's notebook/auto bars for the rest of the session (book builds only).

    Called by the book runner's hidden first cell, before any analysis module imports
    `tqdm.auto.tqdm`; live Jupyter and Colab sessions keep their progress bars.
    """
    import tqdm.auto
    import tqdm.autonotebook
    import tqdm.notebook

    for module in (tqdm.auto, tqdm.autonotebook, tqdm.notebook):
        module.tqdm = _StaticPageTqdm
        # `trange` is a separate function bound to the widget class (sentence-transformers
        # imports it from tqdm.autonotebook), so replace it too.
        module.trange = _static_trange
    tqdm.notebook.tqdm_notebook = _StaticPageTqdm
    tqdm.notebook.tnrange = _static_trange


def _static_trange(*args, **kwargs):
    return _StaticPageTqdm(range(*args), **kwargs)


def line_with_band(
    frame,
    x: str,
    y: str,
    low: str,
    high: str,
    *,
    colour: str,
    name: str,
    band_name: str = "95 % interval",
    scale: float = 1.0,
    title: str = "",
    xaxis_title: str = "",
    yaxis_title: str = "",
) -> go.Figure:
    """A line with markers over a shaded interval (``low``..``high``), values times `scale`."""
    xs = frame[x].to_numpy()
    r, g, b = (int(colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    fig = go.Figure(
        [
            go.Scatter(
                x=np.concatenate([xs, xs[::-1]]),
                y=scale * np.concatenate([frame[high].to_numpy(), frame[low].to_numpy()[::-1]]),
                fill="toself",
                mode="lines",
                line={"width": 0},
                fillcolor=f"rgba({r}, {g}, {b}, 0.2)",
                name=band_name,
            ),
            go.Scatter(
                x=xs,
                y=scale * frame[y].to_numpy(),
                mode="lines+markers",
                line={"color": colour},
                name=name,
            ),  # fmt: skip
        ]
    )
    fig.update_layout(title=title, xaxis_title=xaxis_title, yaxis_title=yaxis_title)
    return fig


# ------------------------------------------------------- chapter 2: the embedding fits


def kept_dimensions_by_epoch(histories, *, title: str) -> go.Figure:
    """Chapter 2's lines of the dimensions each fit keeps after every epoch: `histories`
    maps a model's name to its fit's ``history`` (``epoch`` and ``n_dims`` lists), the
    first drawn in the human colour, the second in the DNN colour."""
    import pandas as pd
    import plotly.express as px

    frame = pd.concat(
        [
            pd.DataFrame({k: history[k] for k in ("epoch", "n_dims")}).assign(model=name)
            for name, history in histories.items()
        ]
    )
    return px.line(
        frame,
        x="epoch",
        y="n_dims",
        color="model",
        title=title,
        labels={"n_dims": "kept dimensions"},
        color_discrete_sequence=[HUMAN_COLOUR, DNN_COLOUR],
    )


def accuracy_by_training_size(curve, references: dict[str, float], *, title: str) -> go.Figure:
    """Chapter 2's learning curve: the held-out ``accuracy (%)`` against the number of
    ``training triplets`` (log scale) of `curve` (the rows of one held-out set of
    `fitting.learning_curve`; ``dimensions`` on hover), with a horizontal line per
    reference in `references` (label -> %), dotted, then dashed, each labelled with its
    value."""
    import plotly.express as px

    fig = px.line(
        curve,
        x="training triplets",
        y="accuracy (%)",
        markers=True,
        log_x=True,
        hover_data=["dimensions"],
        title=title,
        color_discrete_sequence=[HUMAN_COLOUR],
    )
    dashes = ("dot", "dash", "dashdot", "longdash")
    for k, (label, value) in enumerate(references.items()):
        fig.add_hline(
            y=value, line_dash=dashes[k % len(dashes)], annotation_text=f"{label} {value:.1f} %"
        )
    return fig


def similarity_scatter(
    network_rsm, embedding_rsm, *, label: str, seed: int, n_pairs: int = 5000
) -> go.Figure:
    """Chapter 2's scatter of a network's choice similarity against the similarity its
    embedding reconstructs, one point per object pair (upper triangle) for at most
    `n_pairs` pairs drawn without replacement with `seed` (every pair would be too many
    points for a page); `label` names the network."""
    import plotly.express as px

    upper = np.triu_indices_from(network_rsm, k=1)
    n_upper = upper[0].size
    pick = np.random.default_rng(seed).choice(n_upper, min(n_pairs, n_upper), replace=False)
    return px.scatter(
        x=network_rsm[upper][pick],
        y=embedding_rsm[upper][pick],
        opacity=0.4,
        labels={
            "x": f"{label}: choice similarity",
            "y": "similarity reconstructed from the embedding",
        },
        title=f"{label}: similarity structure and its embedding ({pick.size:,} pairs)",
        color_discrete_sequence=[DNN_COLOUR],
    )


def curve_ends_by_triplets(final, paper_vgg16: dict, *, title: str) -> go.Figure:
    """Chapter 2's three stacked panels of the fits of an embedding-growth curve at their
    end (`curves.final_rows`): RSM variance explained (%), kept dimensions and median
    ridge R² (%) against the training triplets (log scale), a line per β, each panel's y
    axis titled with its measure and the paper's VGG-16 value (`paper_vgg16`:
    `curves.PAPER_VGG16`) as a dotted line in it."""
    import plotly.express as px

    long = final.assign(
        **{
            "β": final["beta"].map("{:g}".format),
            "RSM variance explained (%)": 100 * final["rsm_variance_explained"],
            "kept dimensions": final["dims_kept"],
            "median ridge R² (%)": 100 * final["r2_median"],
        }
    ).melt(
        id_vars=["n_train", "β", "epoch", "r2_min"],
        value_vars=["RSM variance explained (%)", "kept dimensions", "median ridge R² (%)"],
        var_name="measure",
    )
    fig = px.line(
        long,
        x="n_train",
        y="value",
        color="β",
        facet_row="measure",  # one panel per row, readable at phone width
        height=800,
        markers=True,
        log_x=True,
        hover_data=["epoch"],
        labels={"n_train": "training triplets", "value": ""},
        title=title,
    )
    fig.update_yaxes(matches=None, showticklabels=True)
    for trace in fig.data:  # each panel's y axis names its measure, with its unit
        measure = trace.hovertemplate.split("measure=")[1].split("<br>")[0]
        fig.layout["yaxis" + trace.yaxis[1:]].title = measure
    fig.layout.annotations = ()  # the facet labels would repeat the axis titles
    paper_lines = [
        100 * paper_vgg16["rsm_variance_explained"],
        paper_vgg16["dims_kept"],
        100 * paper_vgg16["r2_most_above"],
    ]
    for k, value in enumerate(paper_lines):  # plotly counts facet rows from the bottom
        row = len(paper_lines) - k
        fig.add_hline(y=value, line_dash="dot", row=row, col=1, annotation_text=f"paper {value:g}")
    return fig


def curve_dimensions_by_epoch(curve, paper_vgg16: dict) -> go.Figure:
    """Chapter 2's panels of an embedding-growth curve, one per number of training
    triplets: the dimensions each fit kept at every recorded epoch, a line per β (the
    variance explained, median R² and why the fit stopped on hover), the paper's VGG-16
    count (`paper_vgg16`: `curves.PAPER_VGG16`) dotted."""
    import plotly.express as px

    fig = px.line(
        curve.assign(
            β=curve["beta"].map("{:g}".format),
            triplets=curve["n_train"].map("{:,} training triplets".format),
        ),
        x="epoch",
        y="dims_kept",
        color="β",
        facet_row="triplets",
        height=800,
        markers=True,
        hover_data=["rsm_variance_explained", "r2_median", "stop_reason"],
        labels={"dims_kept": "kept dimensions"},
        title="Kept dimensions along each fit (scored every 20 epochs and at the end)",
    )
    paper_dims = paper_vgg16["dims_kept"]
    fig.add_hline(y=paper_dims, line_dash="dot", annotation_text=f"paper ~{paper_dims}")
    return fig


def commonality_scatter(labels, display_names: dict[str, str]) -> go.Figure:
    """Chapter 5's scatter of every rated dimension: its unique visual against its unique
    semantic R² (the commonality analysis), coloured by its label, with the embedding,
    the joint R² and the top collection's z-scores on hover (one legend entry per label:
    an entry per embedding and label pair ran off a phone's screen)."""
    import plotly.express as px

    shown = labels.assign(
        **{
            column: 100 * labels[column]
            for column in ("unique_visual", "unique_semantic", "r2_joint")
        },
        embedding=labels["embedding"].map(display_names),
        dimension=labels["dimension"] + 1,
    )
    fig = px.scatter(
        shown,
        x="unique_visual",
        y="unique_semantic",
        color="label",
        color_discrete_map=QUALITY_COLOURS,
        category_orders={"label": ["visual", "mixed", "semantic", "unclear"]},
        hover_data={
            "embedding": True,
            "dimension": True,
            "r2_joint": ":.1f",
            "z_visual": ":.1f",
            "z_semantic": ":.1f",
        },
        labels={
            "unique_visual": "visual R² beyond semantic (%)",
            "unique_semantic": "semantic R² beyond visual (%)",
            "r2_joint": "joint R² (%)",
        },
        title="What each side explains<br>beyond the other",
        height=600,
    )
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0, "title_side": "top"}
    )
    fig.add_hline(y=0, line_width=1, line_color="#999")
    fig.add_vline(x=0, line_width=1, line_color="#999")
    return fig


def collection_rows(tops, names, picture_paths, *, title: str) -> go.Figure:
    """One picture whose rows are the rows of ``tops`` (THINGS indices of a dimension's
    top concepts, highest first): each concept's picture where it has one, its name
    otherwise (`rating.collection_picture`), as a figure with ``title``."""
    from dnnalign_utils import rating

    tops = np.asarray(tops)
    pictures = {
        int(o): rating.load_picture(picture_paths[o])
        for o in np.unique(tops)
        if o in picture_paths
    }
    picture = rating.collection_picture(tops, names, pictures)
    return image_grid(picture[None], [""], 1, title=title, cell_height=40 + 100 * len(tops))


def quality_share_bars(shares) -> go.Figure:
    """Chapter 5's bars of the visual, mixed and semantic shares of each embedding
    (``shares``: `rating.share_table`, in %), by count and by importance in two rows,
    each bar with its 95 % bootstrap interval."""
    import plotly.express as px

    from dnnalign_utils.rating import RATED_QUALITIES

    fig = px.bar(
        shares,
        x="embedding",
        y="share",
        color="quality",
        facet_row="weighting",
        barmode="group",
        error_y=shares["high"] - shares["share"],
        error_y_minus=shares["share"] - shares["low"],
        category_orders={"quality": list(RATED_QUALITIES)},
        color_discrete_map=QUALITY_COLOURS,
        labels={"share": "share (%)", "embedding": "embedding"},
        title="Visual, mixed and semantic dimensions (unclear ones left out; 95 % bootstrap)",
        height=650,
    )
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))  # "by count"
    return fig


def quality_shares_by_layer(by_layer) -> go.Figure:
    """Chapter 5's lines of the visual, mixed and semantic shares (%) across the layers
    of EfficientNet-Lite0 (``by_layer``: `rating.shares_by_layer`, one row per layer)."""
    import plotly.express as px

    from dnnalign_utils.rating import RATED_QUALITIES

    return px.line(
        by_layer.reset_index(names="layer").melt(
            id_vars="layer", value_vars=list(RATED_QUALITIES), var_name="quality"
        ),
        x="layer",
        y="value",
        color="quality",
        markers=True,
        color_discrete_map=QUALITY_COLOURS,
        labels={"value": "share of rated dimensions (%)", "layer": "EfficientNet-Lite0 layer"},
        title="Visual, mixed and semantic dimensions across depth",
    )


# the scores of chapter 6's matched pairs (`compare.match_human_dnn`), in the figure's order;
# the first two score pairs, the others are sorted per rank
MATCH_SCORES = (
    "r (held out)",
    "r (in sample)",
    "greedy r (reference)",
    "null 95 %",
    "greedy null 95 %",
)


def matched_pair_curves(matches, human_labels, dnn_labels) -> go.Figure:
    """Chapter 6's curves of the matched human–DNN dimension pairs, best first: each of
    `MATCH_SCORES` against the rank, the two dimensions' labels (``human_labels``,
    ``dnn_labels``, one per dimension) on hover of the pairs' own scores; the greedy and
    null curves, sorted per rank and not pairs, say "(not a pair)"."""
    import plotly.express as px

    curves = matches.assign(
        **{
            "human dimension": [human_labels[d] for d in matches["human dim"]],
            "network dimension": [dnn_labels[d] for d in matches["dnn dim"]],
        }
    ).melt(
        id_vars=["rank", "human dimension", "network dimension"],
        value_vars=list(MATCH_SCORES),
        var_name="score",
        value_name="Pearson r",
    )
    unpaired = ~curves["score"].isin(MATCH_SCORES[:2])
    curves.loc[unpaired, ["human dimension", "network dimension"]] = "(not a pair)"
    return px.line(
        curves,
        x="rank",
        y="Pearson r",
        color="score",
        hover_data={"human dimension": True, "network dimension": True},
        markers=True,
        title="Matched human–DNN dimension pairs, best first",
        color_discrete_sequence=[PALETTE[0], PALETTE[1], PALETTE[2], "#888888", "#bbbbbb"],
    )


def driver_bars(counts, human_name: str, dnn_name: str) -> go.Figure:
    """Chapter 6's bars of the dimensions that most often drive each side's choice on the
    diverging triplets (``counts``: `compare.driver_counts`), one row per side, named
    ``human_name`` and ``dnn_name`` in the human and the DNN colour."""
    import plotly.express as px

    fig = px.bar(
        counts.replace({"side": {"human": human_name, "dnn": dnn_name}}),
        x="share (%)",
        y="dimension",
        color="side",
        facet_row="side",
        orientation="h",
        title="Dimensions that most often drive each side's choice on diverging triplets",
        color_discrete_map={human_name: HUMAN_COLOUR, dnn_name: DNN_COLOUR},
    )
    fig.update_yaxes(matches=None, autorange="reversed", title="dimension")
    fig.update_layout(height=650, showlegend=False)
    return fig


def driver_quality_bars(quality_shares, human_name: str, dnn_name: str) -> go.Figure:
    """Chapter 6's stacked bars of the quality (visual, mixed, semantic, unclear) of the
    dimension that drives each side's choice (``quality_shares``:
    `compare.driver_quality_shares`), the sides named ``human_name`` and ``dnn_name``."""
    import plotly.express as px

    return px.bar(
        quality_shares.replace({"side": {"human": human_name, "dnn": dnn_name}}),
        x="side",
        y="share (%)",
        color="quality",
        category_orders={"quality": ["visual", "mixed", "semantic", "unclear"]},
        color_discrete_map=QUALITY_COLOURS,
        labels={"share (%)": "share of the diverging triplets (%)", "side": "whose choice"},
        title="Quality of the dimension that drives each side's choice",
    )


# ------------------------------------------- chapter 4: where in a picture is a dimension


def picture_r2_scatter(r2, network_label: str) -> go.Figure:
    """Chapter 4's scatter of each picture dimension's cross-validated ``R² (%)``
    against its ``dimension`` number (in order of importance), coloured by its automatic
    ``quality`` label, with the paper's 75 % line (every VGG-16 dimension above it)."""
    import plotly.express as px

    fig = px.scatter(
        r2,
        x="dimension",
        y="R² (%)",
        color="quality",
        title=f"Cross-validated R² per {network_label} dimension (in order of importance)",
        color_discrete_map=QUALITY_COLOURS,
    )
    fig.add_hline(y=75, line_dash="dot", annotation_text="paper: all VGG-16 dims > 75 %")
    return fig


def cam_grid(
    rgb,
    cams,
    captions: list[str],
    columns: int,
    *,
    title: str,
    encoding: str = "jpg",
    **grid_options,
) -> go.Figure:
    """Grad-CAM maps (n, H, W) blended onto their pictures (`gradcam.overlay`) in an
    `image_grid` with the Grad-CAM colour bar. A picture of another size than its map
    is first resized to the map's (PIL's default filter), as photographs are.
    ``encoding`` defaults to JPEG (overlays: a lighter page); `grid_options` go to
    `image_grid` (e.g. ``cell_height``)."""
    from PIL import Image

    from dnnalign_utils.gradcam import overlay

    cams = np.asarray(cams)
    if len(rgb) != len(cams):
        raise ValueError(f"cams: expected {len(rgb)} maps (one per picture), got {len(cams)}")
    painted = []
    for picture, cam in zip(rgb, cams, strict=True):
        picture = np.asarray(picture)
        if picture.shape[:2] != cam.shape:
            picture = np.asarray(Image.fromarray(picture).resize(cam.shape[::-1]))
        painted.append(overlay(picture, cam))
    return image_grid(
        np.stack(painted),
        captions,
        columns,
        title=title,
        encoding=encoding,
        colour_bar=GRADCAM_COLOUR_BAR,
        **grid_options,
    )


def object_share_scatter(shares) -> go.Figure:
    """Chapter 4's scatter of each map's share on the object against the object's area
    (`gradcam.object_share_table`), with the diagonal: above it, a map more concentrated
    on the object than an evenly spread one."""
    import plotly.express as px

    fig = px.scatter(
        shares,
        x="object area (%)",
        y="on the object (%)",
        title="Share of each dimension's Grad-CAM map on the object of its top picture",
        color_discrete_sequence=[DNN_COLOUR],
    )
    fig.add_shape(type="line", x0=0, y0=0, x1=100, y1=100, line={"dash": "dot", "color": "grey"})
    fig.update_layout(xaxis_range=[0, 100], yaxis_range=[0, 100])
    return fig


def perturbation_curves_figure(deletion, insertion, methods) -> go.Figure:
    """Chapter 4's deletion and insertion curves (`gradcam.perturbation_curves`), one
    panel above the other, averaged over the pictures: the orders of the maps of
    `methods` (the first ``len(methods)`` orders) and the random orders (the rest,
    averaged), each curve rescaled so that the picture predicts 1 and its baseline 0
    (the two ends of its deletion curve)."""
    import pandas as pd
    import plotly.express as px

    deletion, insertion = np.asarray(deletion), np.asarray(insertion)
    n_maps = len(methods)
    steps = np.linspace(0, 100, deletion.shape[-1])
    picture_value, blurred_value = deletion[:, 0, 0], deletion[:, 0, -1]
    span = (picture_value - blurred_value)[:, None]
    curve_rows = []
    for kind, curves in (("deletion", deletion), ("insertion", insertion)):
        scaled = (curves - blurred_value[:, None, None]) / span[:, None]
        for k, name in enumerate([*methods, "random order"]):
            mean = np.nanmean(scaled[:, k] if k < n_maps else scaled[:, k:].mean(1), axis=0)
            curve_rows += [
                {"test": kind, "order": name, "pixels changed (%)": x, "dimension value": y}
                for x, y in zip(steps, mean, strict=True)
            ]
    return px.line(
        pd.DataFrame(curve_rows),
        x="pixels changed (%)",
        y="dimension value",
        color="order",
        facet_row="test",  # one panel above the other: one x-axis title, readable on a phone
        markers=True,
        height=650,
        title="Deletion and insertion, mean over pictures (1: the picture, 0: its blurred copy)",
    )


def randomisation_lines(cascade_table, edge_table) -> go.Figure:
    """Chapter 4's lines of the median similarity (Spearman, SSIM) of the maps to the
    original ones at each step of the cascading randomisation, for Grad-CAM and the edge
    control (the tables `gradcam.checked_randomisation` returns)."""
    import pandas as pd
    import plotly.express as px

    fig = px.line(
        pd.concat(
            [cascade_table.assign(map="Grad-CAM"), edge_table.assign(map="input edges (control)")]
        ).melt(id_vars=["randomised down to", "map"], var_name="similarity"),
        x="randomised down to",
        y="value",
        color="map",
        line_dash="similarity",
        markers=True,
        title="Similarity of the maps to the original ones as the network is randomised",
    )
    fig.update_layout(
        yaxis_title="median similarity to the original map", yaxis_range=[-0.3, 1.05]
    )
    return fig


def randomisation_grid(rgb, cascade: dict, *, title: str) -> go.Figure:
    """Chapter 4's grid of the first picture's map at every step of `cascade`
    (`gradcam.cascading_randomisation`: the original, then randomised down to each
    block), blended onto that picture (`rgb`, (H, W, 3) uint8), four to a row (the
    captions stay apart on a phone)."""
    steps = list(cascade)
    return cam_grid(
        [rgb] * len(steps),
        np.stack([cascade[name][0] for name in steps]),
        [f"down to {name}" if name != "original" else name for name in steps],
        4,
        title=title,
        cell_height=150,
    )


def manipulation_heatmap(mean_change, n_pictures: int) -> go.Figure:
    """Chapter 4's heatmap of the mean change of each dimension (columns) under each
    manipulation (rows) of `causal.MANIPULATIONS`, in standard deviations, red up and
    blue down, over `n_pictures` pictures."""
    import plotly.express as px

    return px.imshow(
        mean_change,
        color_continuous_scale="RdBu_r",
        color_continuous_midpoint=0,
        aspect="auto",
        labels={"x": "dimension (its top concept)", "y": "manipulation", "color": "change (SD)"},
        title=f"Mean change of the leading dimensions over {n_pictures} manipulated pictures",
    )


def colour_check_scatter(colour_r2, grey_change, dim_names) -> go.Figure:
    """Chapter 4's scatter of each dimension's change under greyscale (SD) against how
    well colour predicts it (R², in percent), named by `dim_names` on hover."""
    import pandas as pd
    import plotly.express as px

    return px.scatter(
        pd.DataFrame(
            {
                "colour R² (%)": 100 * np.asarray(colour_r2),
                "change under greyscale (SD)": grey_change,
            }
        ).assign(dimension=list(dim_names)),
        x="colour R² (%)",
        y="change under greyscale (SD)",
        hover_name="dimension",
        title="Dimensions that colour predicts move more when the picture turns grey",
        color_discrete_sequence=[DNN_COLOUR],
    )


def optimised_pictures_grid(top_rgb, optimised: dict, top_captions) -> go.Figure:
    """Chapter 4's grid with one column per dimension: the dimension's top real picture
    (`top_rgb` (n, H, W, 3) uint8, resized to the optimised pictures' size; captioned
    with `top_captions`), then one row per objective of `optimised` (name -> the
    `actmax.OptimisedPictures` of that objective, one per dimension, in the same order)."""
    from PIL import Image

    from dnnalign_utils.actmax import OBJECTIVE_NAMES

    runs = list(optimised.values())
    if not runs or any(len(run.dims) != len(top_rgb) for run in runs):
        raise ValueError(
            f"optimised: expected one or more runs of {len(top_rgb)} pictures (one per top "
            f"picture), got {[len(run.dims) for run in runs]}"
        )
    size = runs[0].pictures.shape[-1]
    top_resized = np.stack([np.asarray(Image.fromarray(p).resize((size, size))) for p in top_rgb])
    return image_grid(
        np.concatenate([top_resized] + [run.rgb() for run in runs]),
        [
            f"dim {d + 1}: top picture, {caption}"
            for d, caption in zip(runs[0].dims, top_captions, strict=True)
        ]
        + [
            f"dim {d + 1}: {OBJECTIVE_NAMES[name]}"
            for name, run in optimised.items()
            for d in run.dims
        ],
        len(top_rgb),
        title="Top real picture (first row) and pictures optimised for each dimension",
        encoding="jpg",  # overlays, photographs and textures: a lighter page
    )


# ------------------------------------------------ chapter 7: the networks side by side
# Figures of several networks' key numbers (`keynumbers.table`: one row per network key,
# its name in the ``label`` column), one bar or box per network in the table's order.
# The legend sits between the title and the plot, with room for it above the plot.
LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}
MARGIN_FOR_LEGEND_ABOVE = {"t": 130}


def network_tick(label: str) -> str:
    """A network's name as a tick label: its pictures, in parentheses, on a second line."""
    return label.replace(" (", "<br>(")


def _network_ticks(numbers) -> list[str]:
    return [network_tick(numbers.loc[k, "label"]) for k in numbers.index]


def network_agreement_bars(numbers) -> go.Figure:
    """Chapter 7's bars of each network's agreement with people's odd-one-out choices
    (``choice_agreement``), each with the human noise ceiling of the same triplets
    (``noise_ceiling``) and chance (a third) marked."""
    keys, order = list(numbers.index), _network_ticks(numbers)
    fig = go.Figure()
    fig.add_bar(
        x=order,
        y=[numbers.loc[k, "choice_agreement"] for k in keys],
        name="network's agreement with people",
        marker_color=DNN_COLOUR,
    )
    fig.add_scatter(
        x=order,
        y=[numbers.loc[k, "noise_ceiling"] for k in keys],
        mode="markers",
        marker={"symbol": "line-ew-open", "size": 40, "line": {"width": 3}},
        name="human noise ceiling (same triplets)",
        marker_color=HUMAN_COLOUR,
    )
    fig.add_hline(y=100 / 3, line_dash="dot", annotation_text="chance")
    fig.update_layout(
        title="Agreement with people's odd-one-out choices",
        yaxis_title="% of human choices",
        yaxis_range=[0, 100],
        legend=LEGEND_ABOVE,
        margin=MARGIN_FOR_LEGEND_ABOVE,
    )
    return fig


def network_embedding_bars(numbers, paper_vgg16: dict) -> go.Figure:
    """Chapter 7's two stacked panels (their titles stay apart at phone width): each
    network's kept dimensions and the % of its RSM's variance its embedding explains,
    with the paper's VGG-16 values (`curves.PAPER_VGG16`) marked."""
    from plotly.subplots import make_subplots

    keys, order = list(numbers.index), _network_ticks(numbers)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        subplot_titles=["kept dimensions", "RSM variance explained (%)"],
    )
    marks = [paper_vgg16["dims_kept"], 100 * paper_vgg16["rsm_variance_explained"]]
    for row, (column, mark) in enumerate(
        zip(["n_dimensions", "rsm_variance_explained"], marks, strict=True), start=1
    ):
        fig.add_bar(
            x=order,
            y=[numbers.loc[k, column] for k in keys],
            marker_color=DNN_COLOUR,
            showlegend=False,
            row=row,
            col=1,
        )
        fig.add_hline(
            y=mark, line_dash="dot", row=row, col=1, annotation_text="paper's VGG-16",
            annotation_position="top left",
        )  # fmt: skip
    fig.update_yaxes(range=[0, 1.2 * paper_vgg16["dims_kept"]], row=1, col=1)
    fig.update_yaxes(range=[0, 100], row=2, col=1)
    fig.update_layout(title="The embeddings of the networks' choices", height=750)
    return fig


def network_r2_boxes(r2_long, paper_vgg16: dict) -> go.Figure:
    """Chapter 7's box per network of its dimensions' out-of-fold ridge R² (``r2_long``:
    `network_pipeline.r2_table`, a ``network`` and an ``R² (%)`` column), every dimension
    a point, with the paper's bound for VGG-16 (`curves.PAPER_VGG16`) marked."""
    import plotly.express as px

    fig = px.box(
        r2_long.assign(network=r2_long["network"].map(network_tick)),
        x="network",
        y="R² (%)",
        points="all",
        title="Out-of-fold ridge R² of every dimension",
        color_discrete_sequence=[DNN_COLOUR],
    )
    fig.add_hline(
        y=100 * paper_vgg16["r2_min_above"],
        line_dash="dot",
        annotation_text="paper: all VGG-16 dimensions above",
        annotation_position="bottom left",
    )
    return fig


def network_quality_bars(shares) -> go.Figure:
    """Chapter 7's stacked bars of the visual, mixed and semantic shares of each
    network's dimensions (``shares``: `network_pipeline.quality_shares`, one row per
    network name, one column per quality, in %), in the qualities' colours."""
    import plotly.express as px

    long = (
        shares.reset_index()
        .melt(id_vars="network", var_name="label", value_name="% of dimensions")
        .assign(network=lambda t: t["network"].map(network_tick))
    )
    fig = px.bar(
        long,
        x="network",
        y="% of dimensions",
        color="label",
        category_orders={
            "network": [network_tick(n) for n in shares.index],
            "label": list(shares.columns),
        },
        color_discrete_map=QUALITY_COLOURS,
        title="Visual, mixed and semantic dimensions (chapter 5's rater)",
    )
    fig.update_layout(legend=LEGEND_ABOVE, legend_title_text="", margin=MARGIN_FOR_LEGEND_ABOVE)
    return fig


def network_human_match_bars(numbers) -> go.Figure:
    """Chapter 7's grouped bars of each network's correlation with the human VICE-42:
    the best-matched pair of dimensions (``best_match_r``) and the two similarity
    matrices (``global_rsa_r``)."""
    keys, order = list(numbers.index), _network_ticks(numbers)
    fig = go.Figure()
    for column, name, colour in [
        ("best_match_r", "best-matched pair of dimensions (held-out objects)", DNN_COLOUR),
        ("global_rsa_r", "similarity matrices (global RSA)", PALETTE[2]),
    ]:
        fig.add_bar(
            x=order, y=[numbers.loc[k, column] for k in keys], name=name, marker_color=colour
        )
    fig.update_layout(
        barmode="group",
        title="Correlation with human VICE-42 on each network's concepts",
        yaxis_title="Pearson r",
        yaxis_range=[0, 1],
        legend=LEGEND_ABOVE,
        margin=MARGIN_FOR_LEGEND_ABOVE,
    )
    return fig
