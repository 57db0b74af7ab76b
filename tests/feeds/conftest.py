"""A shop on loopback: a threaded http.server on 127.0.0.1 serving product feeds and demo images, with
ETags and conditional requests like a real image host, plus the failures real hosts produce."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from lookalike.config import Settings
from lookalike.encoders import Encoder
from lookalike.search import SearchService

FEED_FIELDS = (
    "id",
    "title",
    "description",
    "link",
    "image_link",
    "additional_image_link",
    "product_type",
    "price",
    "sale_price",
    "availability",
    "brand",
    "color",
    "item_group_id",
)


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's backlog of 5 would drop concurrent connects (a 1 s SYN retry)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client closing its kept-alive connection is normal, not a traceback on stderr."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Shop:
    """Files by URL path, each with an ETag; `/slow.png` never answers (until the shop closes).

    `requests` records (path, headers) of every request, so tests see the conditional ones.
    """

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        shop = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with shop.lock:
                    shop.requests.append((self.path, dict(self.headers.items())))
                    found = shop.files.get(self.path)
                try:
                    if self.path == "/slow.png":
                        shop.stop.wait(30)  # far past any timeout the tests set
                        return
                    if self.path == "/loop.png":  # a redirect to itself, for ever
                        self.send_response(302)
                        self.send_header("Location", "/loop.png")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    if found is None:
                        self._answer(404, b"not here", "text/plain")
                        return
                    body, ctype = found
                    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                    if self.headers.get("If-None-Match") == etag:
                        self._answer(304, b"", None, etag)
                    else:
                        self._answer(200, body, ctype, etag)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _answer(self, status: int, body: bytes, ctype: str | None, etag: str | None = None) -> None:
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                if etag:
                    self.send_header("ETag", etag)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def put(self, path: str, body: bytes, ctype: str) -> str:
        with self.lock:
            self.files[path] = (body, ctype)
        return self.url(path)

    def image_requests(self) -> list[tuple[str, dict[str, str]]]:
        with self.lock:
            return [r for r in self.requests if r[0].startswith("/img/")]

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shop() -> Iterator[Shop]:
    s = Shop()
    yield s
    s.close()


def stock(shop: Shop, catalog: Path) -> list[dict[str, str]]:
    """Put demo images on the shop and return a feed's products (Merchant field names): 8 good images
    in 5 products (one with a sale, one with a price that is no number), 5 broken images (404, stalled,
    HTML, too large, redirect loop) and 2 rows that are no products."""
    for rel in (
        "Hoodies/black-hoodie-1.png",
        "Hoodies/white-hoodie-1.png",
        "Hoodies/white-hoodie-2.png",
        "Footwear/yellow-plimsolls-1.png",
        "Footwear/yellow-plimsolls-2.png",
        "Footwear/yellow-plimsolls-3.png",
        "Juices/orange-juice-1.png",
        "Alcohol/red-wine-1.png",
    ):
        shop.put(f"/img/{rel}", (catalog / rel).read_bytes(), "image/png")
    shop.put("/img/page.png", b"<html><body>Log in to see this image</body></html>", "text/html")
    shop.put("/img/huge.png", b"\x89PNG\r\n\x1a\n" + bytes(3 * 1024 * 1024), "image/png")  # over 2 MB
    img = shop.url
    return [
        {
            "id": "hoodie-black",
            "title": "Black hoodie",
            "description": "A warm black hoodie",
            "link": "https://shop.example/p/hoodie-black",
            "image_link": img("/img/Hoodies/black-hoodie-1.png"),
            "product_type": "Apparel > Hoodies",
            "price": "39.90 EUR",
            "availability": "in stock",
            "brand": "Saleor",
            "color": "black",
            "item_group_id": "hoodie",
        },
        {
            "id": "hoodie-white",
            "title": "White hoodie",
            "link": "https://shop.example/p/hoodie-white",
            "image_link": img("/img/Hoodies/white-hoodie-1.png"),
            "additional_image_link": img("/img/Hoodies/white-hoodie-2.png"),
            "product_type": "Apparel > Hoodies",
            "price": "35.00 EUR",
            "sale_price": "29.00 EUR",
            "availability": "out of stock",
            "brand": "Saleor",
            "color": "white",
            "item_group_id": "hoodie",
        },
        {
            "id": "plimsolls-yellow",
            "title": "Yellow plimsolls",
            "image_link": img("/img/Footwear/yellow-plimsolls-1.png"),
            "additional_image_link": ",".join(img(f"/img/Footwear/yellow-plimsolls-{n}.png") for n in (2, 3)),
            "product_type": "Footwear",
            "price": "49.00 EUR",
            "availability": "preorder",
        },
        {
            "id": "juice-orange",
            "title": "Orange juice",
            "image_link": img("/img/Juices/orange-juice-1.png"),
            "product_type": "Food > Juices",
            "price": "call us",
        },
        {
            "id": "wine-red",
            "title": "Red wine",
            "image_link": img("/img/Alcohol/red-wine-1.png"),
            "product_type": "Alcohol",
            "price": "12.50 EUR",
        },
        {"id": "gone-404", "title": "Missing image", "image_link": img("/img/missing.png")},
        {"id": "slow-host", "title": "Slow image", "image_link": img("/slow.png")},
        {"id": "login-page", "title": "Not an image", "image_link": img("/img/page.png")},
        {"id": "huge", "title": "Too large", "image_link": img("/img/huge.png")},
        {"id": "loop", "title": "Redirect loop", "image_link": img("/loop.png")},
        {"id": "no-photo", "title": "Nothing to see"},
        {"title": "A row without an id", "image_link": img("/img/Alcohol/red-wine-1.png")},
    ]


GOOD_IMAGES = 8
BROKEN = ("/img/missing.png", "/slow.png", "/img/page.png", "/img/huge.png", "/loop.png")


def merchant_tsv(products: list[dict[str, str]]) -> bytes:
    lines = ["\t".join(FEED_FIELDS)]
    lines += ["\t".join(p.get(f, "") for f in FEED_FIELDS) for p in products]
    return ("\n".join(lines) + "\n").encode()


def merchant_rss(products: list[dict[str, str]]) -> bytes:
    items = []
    for p in products:
        fields = []
        for f in FEED_FIELDS:
            if f not in p:
                continue
            values = (
                re.split(r",(?=http)", p[f]) if f == "additional_image_link" else [p[f]]
            )  # one per element
            plain = f in ("title", "link", "description")  # RSS's own elements, as Merchant feeds use them
            fields += [
                f"<{'' if plain else 'g:'}{f}>{escape(v)}</{'' if plain else 'g:'}{f}>" for v in values
            ]
        items.append("<item>" + "".join(fields) + "</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><title>Shop</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def sidecar_rows(products: list[dict[str, str]]) -> list[dict[str, str]]:
    """The folder sidecar's column names (product_id, category, image_url)."""
    rename = {"id": "product_id", "image_link": "image_url", "product_type": "category"}
    return [{rename.get(k, k): v for k, v in p.items()} for p in products]


def sidecar_csv(products: list[dict[str, str]]) -> bytes:
    rows = sidecar_rows(products)
    names = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=names)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def json_list(products: list[dict[str, str]]) -> bytes:
    return json.dumps(sidecar_rows(products)).encode()


def feed_settings(settings: Settings, **changes: object) -> Settings:
    """Small limits so that failures come fast, with room for a busy machine: a stalled image fails
    after 2 s (the shop stalls for 30 s), and nothing is retried."""
    return settings.model_copy(
        update={
            "batch_size": 4,
            "fetch_read_timeout": 2.0,
            "fetch_connect_timeout": 2.0,
            "fetch_total_timeout": 10.0,
            "fetch_retries": 0,
            "fetch_backoff": 0.0,
            "fetch_concurrency": 4,
            "fetch_max_bytes": 2 * 1024 * 1024,
            "fetch_max_redirects": 3,
            **changes,
        }
    )


@pytest.fixture
def feed_service(settings: Settings, encoder: Encoder) -> Iterator[SearchService]:
    svc = SearchService(feed_settings(settings), encoder=encoder)
    yield svc
    svc.close()


@pytest.fixture
def small_catalog(catalog_copy: Path) -> Path:
    """Two folders of the demo catalog (8 images): a folder index beside the feed, quick to embed."""
    for folder in catalog_copy.iterdir():
        if folder.is_dir() and folder.name not in ("Juices", "Homewares"):
            shutil.rmtree(folder)
    return catalog_copy
