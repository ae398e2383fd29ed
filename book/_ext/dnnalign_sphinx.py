"""Sphinx additions of the dnnalign book (loaded through `_config.yml`, `local_extensions`).

- Bibliography labels "Mahner et al. 2025" (author-year) instead of the `alpha` style's
  initials ("MMGuccluH25"), to match the author-year citations in the text.
- plotly.js only on pages that draw a plotly figure: the 4.8 MB script is not loaded by
  text-only pages.
- No sphinx-thebe scripts: the book has no live-code (thebe) button, and sphinx-thebe's
  configuration script declares `THEBE_JS_URL` twice, a JavaScript error on every page,
  and points at an external host. The Binder and Colab launch buttons stay.
- A small style sheet: printed outputs wrap instead of being cut at the page edge.
- A valid default colour mode for the theme (an empty one is a JavaScript error).
- A figure's plotly JSON copy (`application/vnd.plotly.v1+json`, kept in the executed
  notebooks for readers who download them) is dropped from what the page renders when
  the figure's HTML is there; a figure with only the JSON still warns (and fails -W).
"""

from __future__ import annotations

import codecs
import json
import re
from collections import Counter

import latexcodec  # noqa: F401 - registers the "ulatex" codec
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle

PLOTLY_JS = "plotly/plotly.min.js"  # under the book's html_static_path
PLOTLY_MARKER = "Plotly.newPlot"  # in every figure the book renderer emits
PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
DEFAULT_MODE = "light"
BOOK_CSS = "dnnalign/book.css"  # under html_static_path: wrapped printed outputs
BIBTEX_STYLE = "dnnalign"


def _plain(latex: str) -> str:
    """A BibTeX name in plain text: LaTeX accents decoded, braces dropped."""
    return re.sub(r"[{}]", "", codecs.decode(latex, "ulatex"))


def author_year_label(entry) -> str:
    """'Mahner et al. 2025', 'Reimers & Gurevych 2019', 'Olah 2017' (authors, else editors)."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_plain(" ".join(p.prelast_names + p.last_names)) for p in persons]
    if not names:
        who = _plain(entry.fields.get("title", entry.key)).split(":")[0]
    elif len(names) == 1 or (len(names) == 2 and names[1] == "others"):
        who = names[0] if len(names) == 1 else f"{names[0]} et al."
    elif len(names) == 2:
        who = f"{names[0]} & {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who} {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Author-year labels; equal labels get a, b, ... in bibliography order."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year_label(e) for e in entries]
        counts = Counter(labels)
        seen: Counter = Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                label = f"{label}{chr(ord('a') + seen[label] - 1)}"
            yield label


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "dnnalign_author_year"
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.labels", "dnnalign_author_year", AuthorYearLabelStyle)
register_plugin("pybtex.style.formatting", BIBTEX_STYLE, AuthorYearStyle)


def _is_thebe_script(script) -> bool:
    filename = str(getattr(script, "filename", "") or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in filename or "THEBE_JS_URL" in body


def _config_inited(app, config) -> None:
    config.bibtex_default_style = BIBTEX_STYLE


def drop_plotly_json_beside_html(notebook_text: str) -> str:
    """The notebook (JSON text) without the plotly JSON of outputs that have HTML."""
    nb = json.loads(notebook_text)
    changed = False
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY_MIMETYPE in data and "text/html" in data:
                del data[PLOTLY_MIMETYPE]
                changed = True
    return json.dumps(nb) if changed else notebook_text


def _source_read(app, docname, source) -> None:
    if str(app.env.doc2path(docname)).endswith(".ipynb"):
        source[0] = drop_plotly_json_beside_html(source[0])


def _page_context(app, pagename, templatename, context, doctree) -> None:
    if not context.get("default_mode"):  # pydata-sphinx-theme reads it from the context
        context["default_mode"] = DEFAULT_MODE
    scripts = context.get("script_files")
    if scripts is not None:
        scripts[:] = [s for s in scripts if not _is_thebe_script(s)]
    css = context.get("css_files")
    if css is not None:
        css[:] = [c for c in css if "thebe" not in str(getattr(c, "filename", c))]
    if doctree is not None and PLOTLY_MARKER in context.get("body", ""):
        app.add_js_file(PLOTLY_JS)


def setup(app):
    app.add_css_file(BOOK_CSS)
    app.connect("config-inited", _config_inited)
    app.connect("source-read", _source_read)
    # after sphinx-thebe and the theme have filled the page's script list
    app.connect("html-page-context", _page_context, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
