"""End to end: the storefront widget (/widget.js) on the example page, in real headless Chromium.

The example page (examples/storefront.html) is served by one loopback server, the API (uvicorn, real
encoder, real embedded store over a priced copy of part of the demo catalog) by another, so the widget
talks to the API across origins, allowed by the CORS setting as a shop would configure it.
Marked `browser`; skipped when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lookalike.api import create_app
from lookalike.config import Settings
from lookalike.search import SearchService

from .test_ui_browser import (  # noqa: F401 - the Chromium launch, marks and timeout of every browser test
    TIMEOUT_MS,
    browser,
    pytestmark,
    sync_api,
)

uvicorn = pytest.importorskip("uvicorn")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "storefront.html"
EXAMPLE_API = "http://127.0.0.1:8000"  # what the example page points at; rewritten to the test's API
EVIL = '<img src=x onerror="window.__pwned=1">'
NOT_AN_IMAGE = "That file is not a photo we can read"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shop(demo_catalog: Path, tmp_path_factory: pytest.TempPathFactory, encoder) -> Iterator[SearchService]:
    """Three categories of the demo catalog with shop columns: prices, links, and shop data that must
    stay text (a title holding an HTML tag, a link with a javascript: URL)."""
    root = tmp_path_factory.mktemp("shop")
    catalog = root / "catalog"
    folders = ("Footwear", "Juices", "Hoodies")
    for folder in folders:
        shutil.copytree(demo_catalog / folder, catalog / folder)
    with (demo_catalog / "products.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["path"].split("/")[0] in folders]
    for r in rows:
        pid = r["product_id"]
        r["price"] = "39.90" if pid == "yellow-plimsolls" else "12.50"
        r["currency"] = "EUR"
        r["link"] = f"https://shop.example/p/{pid}"
        if pid == "green-juice":
            r["title"] = EVIL
            r["link"] = "javascript:window.__pwned=2"
    with (catalog / "products.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    settings = Settings(data_dir=root / "data", qdrant_url=None, collection="shop")
    svc = SearchService(settings, encoder=encoder)
    svc.index(catalog)
    yield svc
    svc.close()


class _Page(BaseHTTPRequestHandler):
    html = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body, status = (self.html, 200) if self.path in ("/", "/index.html") else (b"none", 404)
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def storefront(shop: SearchService) -> Iterator[tuple[str, str]]:
    """(page URL, API URL): the example page on one loopback port, the API on another."""
    page_port, api_port = free_port(), free_port()
    page_origin, api = f"http://127.0.0.1:{page_port}", f"http://127.0.0.1:{api_port}"
    config = uvicorn.Config(
        create_app(shop, api_key="", cors_origins=[page_origin]),
        host="127.0.0.1",
        port=api_port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):  # at most 20 s
        if server.started or not thread.is_alive():
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"

    handler = type("Page", (_Page,), {"html": EXAMPLE.read_text().replace(EXAMPLE_API, api).encode()})
    pages = ThreadingHTTPServer(("127.0.0.1", page_port), handler)
    pages.daemon_threads = True
    page_thread = threading.Thread(target=pages.serve_forever, args=(0.05,), daemon=True)
    page_thread.start()
    try:
        yield f"{page_origin}/", api
    finally:
        pages.shutdown()
        pages.server_close()
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def page(browser, storefront: tuple[str, str]):  # noqa: F811 - the shared browser fixture
    url, api = storefront
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    requested: list[str] = []
    pg.on("request", lambda r: requested.append(r.url))
    pg.goto(url, wait_until="domcontentloaded")
    pg.wait_for_selector("lookalike-widget button.camera")
    pg.requested = requested  # type: ignore[attr-defined]
    yield pg
    context.close()


def _pick(page, path: Path) -> None:
    """The shopper presses the camera button and picks a photo."""
    with page.expect_file_chooser() as chooser:
        page.locator("lookalike-widget button.camera").click()
    chooser.value.set_files(str(path))


def _status(page, pattern: str) -> str:
    import re

    status = page.locator("lookalike-widget .status")
    sync_api.expect(status).to_have_text(re.compile(pattern), timeout=TIMEOUT_MS)
    return status.inner_text()


def test_a_photo_finds_the_product_with_its_price_and_link(
    page, demo_catalog: Path, storefront, tmp_path: Path
) -> None:
    """Saves a screenshot (LOOKALIKE_SCREENSHOT_DIR keeps it, for the README)."""
    _, api = storefront
    _pick(page, demo_catalog / "Footwear" / "yellow-plimsolls-2.png")
    assert _status(page, r"We found it") == "We found it:"
    first = page.locator("lookalike-widget .grid > .product").first
    assert first.locator(".title").inner_text() == "Yellow Plimsolls"
    assert "39.90" in first.locator(".price").inner_text() and "€" in first.locator(".price").inner_text()
    assert first.get_attribute("href") == "https://shop.example/p/yellow-plimsolls"
    assert first.locator(".score").inner_text().startswith("match ")
    sync_api.expect(first.locator("img")).to_have_js_property("complete", True)
    assert page.locator("lookalike-widget .grid > .product").count() == 6  # data-top-k="6"
    # nothing but the page and the search API was asked for (no fonts, no CDN, no trackers)
    page_origin = page.url.rstrip("/")
    outside = [u for u in page.requested if not u.startswith((page_origin, api, "blob:", "data:"))]
    assert not outside, outside

    keep = os.environ.get("LOOKALIKE_SCREENSHOT_DIR")
    shot = Path(keep) / "widget.png" if keep else tmp_path / "widget.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_a_file_that_is_not_an_image_gets_the_widgets_message(page, tmp_path: Path) -> None:
    junk = tmp_path / "holiday.png"
    junk.write_bytes(b"this is a text file with a .png name")
    _pick(page, junk)
    assert NOT_AN_IMAGE in _status(page, NOT_AN_IMAGE)
    assert page.locator("lookalike-widget").get_attribute("data-state") == "error"
    text = tmp_path / "notes.txt"
    text.write_text("not a photo either")
    _pick(page, text)
    assert NOT_AN_IMAGE in _status(page, NOT_AN_IMAGE)
    assert page.locator("lookalike-widget .grid > .product").count() == 0


def test_shop_data_is_rendered_as_text_never_as_html(page, demo_catalog: Path) -> None:
    """A title holding an <img onerror> tag shows as those characters; no element is made, no handler
    runs; a javascript: link is not made a link."""
    _pick(page, demo_catalog / "Juices" / "green-juice-1.png")
    _status(page, r"We found it|Products like your photo")
    first = page.locator("lookalike-widget .grid > .product").first
    assert first.locator(".title").inner_text() == EVIL
    assert page.locator("lookalike-widget img[src='x']").count() == 0
    assert page.locator("img[src='x']").count() == 0
    assert first.evaluate("node => node.tagName") == "DIV"  # its link was javascript:, so no link at all
    assert page.locator("lookalike-widget a[href^='javascript']").count() == 0
    assert page.evaluate("window.__pwned") is None  # no element, so no handler could have run
