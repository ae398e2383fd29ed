"""Open every page of the built smoke book in Debian's chromium (via Playwright).

Checks what a reader sees offline: no request leaves 127.0.0.1, no local asset is
missing, no JavaScript error or console error, every plotly figure draws an SVG, math is
typeset, no page shows a Python traceback or an error output, plotly.js loads only on
pages with figures, and on a 390 px phone screen no two captions of a figure overlap.
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
PLOTLY_JS = "plotly.min.js"
# Upper bound on a page's weight (bytes transferred, no cache). plotly.js (4.8 MB) loads
# only on pages with figures; the theme's icons and styles weigh about 2.5 MB everywhere.
PAGE_BUDGET_BYTES = 9_000_000
# Boxes of a figure's text annotations (image captions, facet titles) in page pixels.
_ANNOTATION_BOXES_JS = """
() => [...document.querySelectorAll('.plotly-graph-div')].map(div =>
  [...div.querySelectorAll('g.annotation')].map(g => {
    const r = g.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom, g.textContent];
  }).filter(b => b[4].trim() && b[2] > b[0]))
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
        if page.locator("div.math, span.math").count():
            try:
                page.wait_for_selector("mjx-container", timeout=20_000)
            except Exception:
                found["math"].append("math on the page was not typeset by MathJax")
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
        has_plotly_js = any(u.endswith(PLOTLY_JS) for u in loaded)
        if has_plotly_js and not n_figures:
            found["plotly_js"].append("plotly.js loaded on a page without a figure")
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    if weights is not None:
        weights[url] = transferred["bytes"]
    return {kind: items for kind, items in found.items() if items}


def _phone_caption_overlaps(browser, url: str) -> list[str]:
    """At 390 px wide: captions (annotations) of one figure that overlap each other."""
    context = browser.new_context(viewport=PHONE_VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    try:
        page.goto(url, wait_until="load")
        if not page.locator(".plotly-graph-div").count():
            return []
        page.wait_for_function(
            "() => [...document.querySelectorAll('.plotly-graph-div')]"
            ".every(d => d.querySelector('svg.main-svg'))",
            timeout=20_000,
        )
        page.wait_for_timeout(300)  # responsive relayout to the narrow width
        return [hit for boxes in page.evaluate(_ANNOTATION_BOXES_JS) for hit in _overlaps(boxes)]
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
        if size > PAGE_BUDGET_BYTES:
            problems.setdefault(url, {})["weight"] = [f"{size / 1e6:.1f} MB transferred"]
    assert not problems, "\n".join(f"{page}: {found}" for page, found in problems.items())


def test_captions_do_not_overlap_on_a_phone(served_book, browser):
    html_dir, base = served_book
    pages = sorted(p.relative_to(html_dir).as_posix() for p in html_dir.glob("notebooks/*.html"))
    assert pages
    problems = {
        rel: hits for rel in pages if (hits := _phone_caption_overlaps(browser, f"{base}/{rel}"))
    }
    assert not problems, "\n".join(f"{page}: {hits[:5]}" for page, hits in problems.items())


def test_plotly_figure_pages_exist(served_book):
    """The smoke book has at least one plotly figure, so the svg check above is live."""
    html_dir, _ = served_book
    assert any(
        "plotly-graph-div" in p.read_text(encoding="utf-8") for p in html_dir.rglob("*.html")
    ), "no page of the smoke book contains a plotly figure"
