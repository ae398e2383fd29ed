"""Open every page of the built smoke book in Debian's chromium (via Playwright).

Checks what a reader sees offline: no request leaves 127.0.0.1, no local asset is
missing, no JavaScript error or console error, every plotly figure draws an SVG and every
trace as its own type (the book's plotly.js bundle holds only some trace types; plotly
quietly draws an unknown type as a scatter), math is typeset, no page shows a Python
traceback or an error output, plotly.js loads only on pages with figures, no page loads
an icon font or the icon script, and each page stays within its weight budget.

On a 390 px phone screen: the page does not scroll sideways, no figure title is wider
than its figure, no text or legend reaches past the figure's edges, no two texts of a
figure (title, axis titles, annotations such as image captions and facet titles)
overlap, every panel's axes with tick labels have a title,
and no log axis labels its ticks with bare digits ("2 3 ... 9 100k").
Prints each page's weight (bytes transferred, nothing cached).
"""

from __future__ import annotations

import functools
import os
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PHONE_VIEWPORT = {"width": 390, "height": 844}
# Absolute folders of the build machine that printed outputs must not show.
MACHINE_FOLDERS = (str(Path(__file__).resolve().parents[1]), "/tmp/")
PLOTLY_JS = "/_static/plotly/"  # the book's plotly.js bundle lives there
ICON_ASSETS = ("fontawesome",)  # the theme's icon script and fonts: none on any page
# Upper bounds on a page's weight (bytes transferred, no cache): a chapter page (with its
# figures and plotly.js) and any other page.
CHAPTER_BUDGET_BYTES = 4_000_000
TEXT_PAGE_BUDGET_BYTES = 1_500_000
# Boxes of a figure's text annotations (image captions, facet titles) in page pixels.
# The elements that reach furthest past the right edge of a phone screen (for a report;
# not the off-canvas sidebars nor KaTeX's hidden MathML copy).
_WIDEST_ELEMENTS_JS = """
() => [...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.katex-mathml, .bd-sidebar-primary, .bd-sidebar-secondary'))
  .map(e => [e.getBoundingClientRect().right, e])
  .filter(([r]) => r > document.documentElement.clientWidth + 1)
  .sort((a, b) => b[0] - a[0]).slice(0, 3)
  .map(([r, e]) =>
    `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} to ${Math.round(r)} px`)
"""
# At phone width, per figure: its box, its title's box, the boxes of its texts (title,
# axis titles, annotations) and of its legend, the texts and legend that reach past its
# edges, axes with tick labels but no title (none of the axes it matches has one
# either), log-axis tick labels that are a bare digit away from the value they mark.
_PHONE_FIGURES_JS = """
() => [...document.querySelectorAll('.plotly-graph-div')].map((div, n) => {
  const box = e => { const r = e.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom, e.textContent]; };
  const fig = div.getBoundingClientRect();
  const title = div.querySelector('text.gtitle');
  const texts = [...div.querySelectorAll('text[class$="title"], g.annotation')]
    .map(box).filter(b => b[4].trim() && b[2] > b[0]);
  const legendBox = div.querySelector('g.legend');
  if (legendBox) texts.push(box(legendBox));  // the legend must not cover a text either
  const full = div._fullLayout || {};
  const axes = Object.keys(full).filter(k => /^[xy]axis\\d*$/.test(k)).map(k => [k, full[k]]);
  const titled = ax => !!(ax.title && String(ax.title.text || '').trim());
  const untitled = axes.filter(([k, ax]) => ax.visible && ax.showticklabels
      && (ax._vals || []).some(v => String(v.text || '').trim()) && !titled(ax)
      && !axes.some(([k2, o]) => titled(o) && (o.matches === ax._name
          || ax.matches === o._name || (o.matches && o.matches === ax.matches))))
    .map(([k]) => k);
  const bareDigits = axes.filter(([k, ax]) => ax.type === 'log' && ax.visible
      && ax.showticklabels).flatMap(([k, ax]) =>
    (ax._vals || []).filter(v => /^[1-9]$/.test(String(v.text).trim())
        && Math.abs(Math.pow(10, v.x) - Number(v.text)) > 1e-6 * Math.pow(10, v.x))
      .map(v => `${k}: "${v.text}" at ${Math.round(Math.pow(10, v.x))}`));
  const outside = texts
    .filter(b => b[0] < fig.left - 1 || b[2] > fig.right + 1
      || b[1] < fig.top - 1 || b[3] > fig.bottom + 1)
    .map(b => `${b[4].slice(0, 40)} `
      + `(${Math.round(b[0] - fig.left)}..${Math.round(b[2] - fig.left)} px across, `
      + `${Math.round(b[1] - fig.top)}..${Math.round(b[3] - fig.top)} px down)`);
  return {n, name: (title && title.textContent) || `figure ${n + 1}`,
          fig: [fig.left, fig.right], title: title ? box(title) : null,
          texts, untitled, bareDigits, outside};
})
"""
# Traces drawn as another type than asked for (a type missing from plotly.js's bundle).
_WRONG_TRACE_TYPES_JS = """
() => [...document.querySelectorAll('.plotly-graph-div')].flatMap(div =>
  (div._fullData || []).filter(t => (div.data[t.index].type || 'scatter') !== t.type)
    .map(t => `${div.data[t.index].type} drawn as ${t.type}`))
"""

pytestmark = pytest.mark.browser


def _require_chromium() -> None:
    if CHROMIUM.is_file():
        return
    if os.environ.get("CI"):
        pytest.fail(
            f"{CHROMIUM} is missing under CI; install Debian's chromium (make system-deps)"
        )
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); CI is not set")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@pytest.fixture(scope="module")
def served_book(smoke_book):
    assert smoke_book.returncode == 0, smoke_book.log[-5000:]
    handler = functools.partial(_QuietHandler, directory=str(smoke_book.html_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield smoke_book.html_dir, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _settle(page, pending: set[str], quiet_s: float = 0.5, timeout_s: float = 20) -> None:
    """Wait until no request has been in flight for `quiet_s` (lazy fonts, MathJax parts).

    (Playwright's "networkidle" proved unreliable on some Sphinx pages with nothing
    pending, so the page's own request events are tracked instead.)
    """
    deadline = time.monotonic() + timeout_s
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        if pending:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return


def _overlaps(boxes, tolerance: float = 1.0) -> list[str]:
    """Pairs of boxes [left, top, right, bottom, text] that intersect (beyond `tolerance` px)."""
    hits = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            dx = min(a[2], b[2]) - max(a[0], b[0])
            dy = min(a[3], b[3]) - max(a[1], b[1])
            if dx > tolerance and dy > tolerance:
                hits.append(f"{a[4]!r} overlaps {b[4]!r}")
    return hits


def test_overlaps_finds_intersecting_boxes_only():
    assert _overlaps([[0, 0, 10, 10, "a"], [5, 5, 15, 15, "b"]]) == ["'a' overlaps 'b'"]
    assert _overlaps([[0, 0, 10, 10, "a"], [10, 0, 20, 10, "b"], [0, 11, 10, 20, "c"]]) == []


def _visit(
    browser, url: str, screenshot: Path | None = None, weights: dict | None = None
) -> dict[str, list[str]]:
    """Load one page; return what went wrong, by kind; its weight goes into `weights`."""
    found: dict[str, list[str]] = {
        "external": [],
        "missing": [],
        "page_errors": [],
        "console_errors": [],
        "figures": [],
        "math": [],
        "errors_shown": [],
        "plotly_js": [],
        "trace_types": [],
        "icons": [],
    }
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    transferred = {"bytes": 0}
    loaded: list[str] = []

    def finished(request):
        pending.discard(request.url)
        loaded.append(request.url)
        try:
            sizes = request.sizes()
            transferred["bytes"] += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        except Exception:  # a request without a response body (aborted, data: URL)
            pass

    def guard(route):
        parts = urlsplit(route.request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            found["external"].append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", guard)
    pending: set[str] = set()
    page.on("request", lambda r: pending.add(r.url))
    page.on("requestfinished", finished)
    page.on("requestfailed", lambda r: pending.discard(r.url))
    page.on(
        "console",
        lambda m: found["console_errors"].append(m.text) if m.type == "error" else None,
    )
    page.on(
        "response",
        lambda r: found["missing"].append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.on("pageerror", lambda e: found["page_errors"].append(str(e)))
    try:
        page.goto(url, wait_until="load")
        n_figures = page.locator(".plotly-graph-div").count()
        if n_figures:
            try:
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.plotly-graph-div')]"
                    ".every(d => d.querySelector('svg.main-svg'))",
                    timeout=20_000,
                )
            except Exception:  # playwright TimeoutError: report which page
                found["figures"].append(f"{n_figures} plotly figure(s), not all drew an svg")
            found["trace_types"] += page.evaluate(_WRONG_TRACE_TYPES_JS)
        n_math = page.locator("div.math, span.math").count()
        if n_math:
            try:
                page.wait_for_function(
                    f"() => document.querySelectorAll('.math-rendered').length >= {n_math}",
                    timeout=20_000,
                )
            except Exception:
                found["math"].append("math on the page was not all typeset by KaTeX")
        _settle(page, pending)
        if pending:
            found["missing"].append(f"requests still pending: {sorted(pending)[:3]}")
        text = page.inner_text("body")
        if "Traceback (most recent call last)" in text:
            found["errors_shown"].append("a Python traceback is shown")
        shown = page.locator(".cell_output .output:not(.stderr)").all_inner_texts()
        leaks = [t for t in shown for root in MACHINE_FOLDERS if root in t]
        if leaks:
            found["errors_shown"].append(f"an output shows a machine folder: {leaks[0][:120]!r}")
        n_error_outputs = page.locator(".cell_output .traceback, .output.traceback").count()
        if n_error_outputs:
            found["errors_shown"].append(f"{n_error_outputs} error output block(s)")
        plotly_js = [u for u in loaded if PLOTLY_JS in u and u.split("?")[0].endswith(".js")]
        if plotly_js and not n_figures:
            found["plotly_js"].append("plotly.js loaded on a page without a figure")
        if len(plotly_js) > 1:
            found["plotly_js"].append(f"more than one plotly.js: {plotly_js}")
        found["icons"] += [u for u in loaded if any(name in u for name in ICON_ASSETS)]
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    if weights is not None:
        weights[url] = transferred["bytes"]
    return {kind: items for kind, items in found.items() if items}


def phone_figure_problems(figures: list[dict], tolerance: float = 1.0) -> list[str]:
    """What is wrong with a page's figures at phone width (`_PHONE_FIGURES_JS` output)."""
    problems = []
    for f in figures:
        name = " ".join(f["name"].split())[:60]
        left, right = f["fig"]
        title = f["title"]
        if title and (title[0] < left - tolerance or title[2] > right + tolerance):
            problems.append(
                f"{name!r}: title {title[2] - title[0]:.0f} px wide, figure {right - left:.0f} px"
            )
        problems += [f"{name!r}: {hit}" for hit in _overlaps(f["texts"], tolerance)]
        if f["untitled"]:
            problems.append(f"{name!r}: axes without a title: {', '.join(f['untitled'])}")
        if f.get("outside"):
            problems.append(f"{name!r}: text beyond the figure's edge: {f['outside'][:3]}")
        if f["bareDigits"]:
            problems.append(f"{name!r}: log-axis ticks as bare digits: {f['bareDigits'][:3]}")
    return problems


def test_phone_figure_problems_finds_each_kind():
    ok = {"name": "a", "fig": [0, 350], "title": [10, 0, 300, 20, "a"], "texts": [],
          "untitled": [], "bareDigits": []}  # fmt: skip
    assert phone_figure_problems([ok]) == []
    wide = dict(ok, title=[10, 0, 420, 20, "a"])
    assert "title 410 px wide" in phone_figure_problems([wide])[0]
    crowded = dict(ok, texts=[[0, 0, 50, 20, "t"], [40, 10, 90, 30, "x"]])
    assert "overlaps" in phone_figure_problems([crowded])[0]
    assert "yaxis" in phone_figure_problems([dict(ok, untitled=["yaxis"])])[0]
    assert "bare digits" in phone_figure_problems([dict(ok, bareDigits=['xaxis: "2"'])])[0]
    outside = dict(ok, outside=["x (-30..90 px across, 0..20 px down)"])
    assert "beyond the figure" in phone_figure_problems([outside])[0]


def _phone_problems(browser, url: str) -> list[str]:
    """At 390 px wide: sideways page scroll and the figures' problems (see above)."""
    context = browser.new_context(viewport=PHONE_VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    try:
        page.goto(url, wait_until="load")
        problems = []
        if page.locator(".plotly-graph-div").count():
            page.wait_for_function(
                "() => [...document.querySelectorAll('.plotly-graph-div')]"
                ".every(d => d.querySelector('svg.main-svg'))",
                timeout=20_000,
            )
            page.wait_for_timeout(300)  # responsive relayout to the narrow width
            problems += phone_figure_problems(page.evaluate(_PHONE_FIGURES_JS))
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 1:
            wide = page.evaluate(_WIDEST_ELEMENTS_JS)
            problems.append(f"the page scrolls {overflow} px sideways (widest: {wide})")
        return problems
    finally:
        context.close()


def test_every_page_renders_offline_without_errors(served_book, browser):
    html_dir, base = served_book
    # Every page of the book; `_static/*.html` are theme template macros, not pages.
    pages = sorted(
        rel
        for rel in (p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html"))
        if not rel.startswith(("_static/", "_sources/"))
    )
    assert "index.html" in pages and any(p.startswith("notebooks/") for p in pages)
    shots = os.environ.get("DNNALIGN_SCREENSHOT_DIR")
    problems = {}
    weights: dict[str, int] = {}
    for rel in pages:
        shot = None
        if shots and rel.startswith("notebooks/"):
            shot = Path(shots) / (rel.replace("/", "__") + ".png")
            shot.parent.mkdir(parents=True, exist_ok=True)
        found = _visit(browser, f"{base}/{rel}", shot, weights)
        if found:
            problems[rel] = found
    print("\npage weight (bytes transferred, no cache):")
    for url, size in sorted(weights.items(), key=lambda item: -item[1]):
        print(f"  {size / 1e6:6.2f} MB  {url.removeprefix(base + '/')}")
    for url, size in weights.items():
        rel = url.removeprefix(base + "/")
        budget = CHAPTER_BUDGET_BYTES if rel.startswith("notebooks/") else TEXT_PAGE_BUDGET_BYTES
        if size > budget:
            problems.setdefault(rel, {})["weight"] = [
                f"{size / 1e6:.2f} MB transferred, budget {budget / 1e6:.1f} MB"
            ]
    assert not problems, "\n".join(f"{page}: {found}" for page, found in problems.items())


def test_pages_and_figures_fit_a_phone(served_book, browser):
    html_dir, base = served_book
    pages = sorted(
        rel
        for rel in (p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html"))
        if not rel.startswith(("_static/", "_sources/"))
    )
    assert any(p.startswith("notebooks/") for p in pages)
    # a redirect (index.html) moves on while being measured; its target is checked itself
    pages = [p for p in pages if 'http-equiv="Refresh"' not in (html_dir / p).read_text("utf-8")]
    problems = {rel: hits for rel in pages if (hits := _phone_problems(browser, f"{base}/{rel}"))}
    assert not problems, "\n".join(
        f"{page}: {len(hits)} problem(s): " + "\n    ".join(hits[:40])
        for page, hits in problems.items()
    )


def test_plotly_figure_pages_exist(served_book):
    """The smoke book has at least one plotly figure, so the svg check above is live."""
    html_dir, _ = served_book
    assert any(
        "plotly-graph-div" in p.read_text(encoding="utf-8") for p in html_dir.rglob("*.html")
    ), "no page of the smoke book contains a plotly figure"
