"""Sphinx additions of the dnnalign book (loaded through `_config.yml`, `local_extensions`).

- Bibliography labels "Mahner et al. 2025" (author-year) instead of the `alpha` style's
  initials ("MMGuccluH25"), to match the author-year citations in the text.
- plotly.js only on pages that draw a plotly figure: the 4.8 MB script is not loaded by
  text-only pages.
- No sphinx-thebe scripts: the book has no live-code (thebe) button, and sphinx-thebe's
  configuration script declares `THEBE_JS_URL` twice, a JavaScript error on every page,
  and points at an external host. The Binder and Colab launch buttons stay.
- A small style sheet: printed outputs wrap instead of being cut at the page edge.
- No icon font and no icon script: the theme's 1.5 MB Font Awesome script (every icon
  of Font Awesome, drawn by JavaScript) is dropped from every page, and each icon the
  page shows (`<i class="fa-solid fa-bars">`) is written into the page as the inline SVG
  that script would have drawn, taken from the same script at build time. The icons the
  theme's style sheets draw with the icon font (download links, admonitions, GitHub
  links) come from subsets of its fonts (`dnnalign/icons.css`, written at build time;
  a few kB, and loaded only by a page that shows such an icon) instead of the whole
  fonts (270 kB).
- A valid default colour mode for the theme (an empty one is a JavaScript error).
- A figure's plotly JSON copy (`application/vnd.plotly.v1+json`, kept in the executed
  notebooks for readers who download them) is dropped from what the page renders when
  the figure's HTML is there; a figure with only the JSON still warns (and fails -W).
"""

from __future__ import annotations

import codecs
import html
import json
import re
from collections import Counter
from pathlib import Path

import latexcodec  # noqa: F401 - registers the "ulatex" codec
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle

PLOTLY_JS = "plotly/plotly-cartesian.min.js"  # under html_static_path (book/vendor)
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


FONTAWESOME_JS = "scripts/fontawesome.js"  # under the theme's _static
_FA_SCRIPT_TAG = re.compile(
    r'<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*>\s*</script>\s*'
)
# In the script: each style's icons are one object, registered by a call d("fab",p).
_FA_PACK_CALL = re.compile(r'\w\("(fa[a-z])",\w\),\w\("fa-[a-z]+",\w\)')
# name:[width,height,[aliases],"unicode","svg path"] (name quoted when it has a dash)
_FA_ICON = re.compile(
    r'(?:"([a-z0-9-]+)"|\b([a-z][a-z0-9]*)):\[(\d+),(\d+),\[([^\]]*)\],"[0-9a-f]+","([^"]+)"\]'
)
_FA_STYLES = {
    "fa-solid": "fas", "fas": "fas", "fa-regular": "far", "far": "far",
    "fa-brands": "fab", "fab": "fab",
}  # fmt: skip
# an empty <i> or <span> with a Font Awesome class, as the theme writes its icons
_ICON_TAG = re.compile(r'<(i|span)\s+class="([^"]*\bfa-[^"]*)"([^>]*)>\s*</\1>')


def fontawesome_icons(script_text: str) -> dict[tuple[str, str], tuple[int, int, str]]:
    """(style prefix, icon name or alias) -> (width, height, SVG path), from the theme's
    Font Awesome script."""
    icons: dict[tuple[str, str], tuple[int, int, str]] = {}
    start = 0
    for call in _FA_PACK_CALL.finditer(script_text):
        prefix = call.group(1)
        for m in _FA_ICON.finditer(script_text, start, call.start()):
            name = m.group(1) or m.group(2)
            shape = (int(m.group(3)), int(m.group(4)), m.group(6))
            aliases = re.findall(r'"([a-z0-9-]+)"', m.group(5))
            for key in (name, *aliases):
                icons.setdefault((prefix, key), shape)
        start = call.end()
    return icons


def inline_icons(page: str, icons) -> tuple[str, list[str]]:
    """The page with its Font Awesome script tag removed and every `<i class="fa-...">`
    (or empty `<span class="fa-...">`) icon replaced by its inline SVG; also the classes
    of icons not found (left as is)."""
    unknown: list[str] = []

    def svg(match: re.Match) -> str:
        classes, attributes = match.group(2), match.group(3)
        words = classes.split()
        prefix = next((_FA_STYLES[w] for w in words if w in _FA_STYLES), "fas")
        names = [w[3:] for w in words if w.startswith("fa-") and w not in _FA_STYLES]
        shape = next((icons[(prefix, n)] for n in names if (prefix, n) in icons), None)
        if shape is None:
            unknown.append(classes)
            return match.group(0)
        width, height, path = shape
        return (
            f'<svg class="svg-inline--fa {html.escape(classes)}"{attributes} '
            f'aria-hidden="true" focusable="false" role="img" '
            f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}">'
            f'<path fill="currentColor" d="{path}"></path></svg>'
        )

    return _ICON_TAG.sub(svg, _FA_SCRIPT_TAG.sub("", page)), unknown


def _theme_fontawesome(outdir: Path) -> str:
    built = outdir / "_static" / FONTAWESOME_JS
    if built.is_file():
        return built.read_text(encoding="utf-8")
    import pydata_sphinx_theme

    theme = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme"
    return (theme / "static" / FONTAWESOME_JS).read_text(encoding="utf-8")


ICONS_CSS = "dnnalign/icons.css"  # written into the output's _static at build time
FA_FONTS = {  # theme font file -> (CSS family, weight)
    "fa-solid-900": ("Font Awesome 6 Free", 900),
    "fa-regular-400": ("Font Awesome 6 Free", 400),
    "fa-brands-400": ("Font Awesome 6 Brands", 400),
}
_FA_CLASS_RULE = re.compile(r"\.fa-[a-z0-9-]+:{1,2}(before|after)")


def css_icon_codepoints(css: str) -> set[int]:
    """Icon-font code points a style sheet draws itself (as `content`, directly or through
    a variable), leaving out the rules `.fa-NAME:before` that serve `<i class="fa-NAME">`
    (inlined as SVG instead)."""
    points: set[int] = set()
    for selectors, body in re.findall(r"([^{}]*)\{([^{}]*)\}", css):
        parts = [p.strip() for p in selectors.split(",") if p.strip()]
        if parts and all(_FA_CLASS_RULE.fullmatch(p) for p in parts):
            continue
        points.update(int(h, 16) for h in re.findall(r"\\(f[0-9a-f]{3})\b", body))
        points.update(ord(c) for c in body if 0xE000 <= ord(c) <= 0xF8FF)
    return points


def write_icon_subsets(static: Path) -> list[str]:
    """Subsets of the theme's icon fonts to the code points its style sheets use, as WOFF
    files beside `ICONS_CSS`, whose @font-face rules (read after the theme's) replace the
    whole fonts. Returns the files written."""
    from fontTools import subset

    css = "".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in static.rglob("*.css")
        if p.relative_to(static).as_posix() != ICONS_CSS
    )
    points = css_icon_codepoints(css)
    target = static / ICONS_CSS
    target.parent.mkdir(parents=True, exist_ok=True)
    rules, written = [], []
    for stem, (family, weight) in FA_FONTS.items():
        source = static / "vendor" / "fontawesome" / "webfonts" / f"{stem}.ttf"
        if not source.is_file():
            continue
        options = subset.Options()
        options.flavor = "woff"
        options.layout_features = []
        font = subset.load_font(str(source), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=points)
        subsetter.subset(font)
        name = f"{stem}.subset.woff"
        subset.save_font(font, str(target.parent / name), options)
        written.append(name)
        rules.append(
            f'@font-face{{font-family:"{family}";font-style:normal;font-weight:{weight};'
            f'font-display:block;src:url({name}) format("woff")}}'
        )
    target.write_text(
        "/* Subsets of the theme's Font Awesome fonts (SIL OFL 1.1): only the icons the\n"
        "   style sheets draw; written by book/_ext/dnnalign_sphinx.py. */\n"
        + "\n".join(rules)
        + "\n",
        encoding="utf-8",
    )
    return written


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.util import logging

    outdir = Path(app.outdir)
    write_icon_subsets(outdir / "_static")
    icons = fontawesome_icons(_theme_fontawesome(outdir))
    if not icons:
        logging.getLogger(__name__).warning("no Font Awesome icons found in the theme's script")
        return
    for page in outdir.rglob("*.html"):
        if page.relative_to(outdir).parts[0] in ("_static", "_sources"):
            continue
        text = page.read_text(encoding="utf-8")
        new, unknown = inline_icons(text, icons)
        for classes in sorted(set(unknown)):
            logging.getLogger(__name__).warning(f"{page.name}: no inline icon for {classes!r}")
        if new != text:
            page.write_text(new, encoding="utf-8")


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
    app.add_css_file(ICONS_CSS, priority=900)  # after the theme's @font-face rules
    app.connect("config-inited", _config_inited)
    app.connect("source-read", _source_read)
    # after sphinx-thebe and the theme have filled the page's script list
    app.connect("html-page-context", _page_context, priority=900)
    app.connect("build-finished", _build_finished)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
