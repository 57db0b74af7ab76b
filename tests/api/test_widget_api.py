"""The widget's side of the API: /widget.js served as plain JavaScript, the read-only key, CORS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lookalike.api import create_app
from lookalike.config import Settings
from lookalike.errors import LookalikeError
from lookalike.search import SearchService

WRITE, READ = "write-key-1", "read-key-2"
SHOP = "https://shop.example"


@pytest.fixture(scope="module")
def closed(demo_service: SearchService, encoder) -> Iterator[TestClient]:
    """Reads need a key (public_reads off); the read-only key opens searching and nothing else."""
    settings = Settings(data_dir=demo_service.settings.data_dir, qdrant_url=None, public_reads=False)
    svc = SearchService(settings, store=demo_service.store, encoder=encoder)  # shares the demo index
    with TestClient(create_app(svc, api_key=WRITE, read_api_key=READ, cors_origins=[SHOP])) as c:
        yield c


def _search(client: TestClient, photo: Path, key: str | None):
    headers = {"X-API-Key": key} if key else {}
    files = {"file": ("q.png", photo.read_bytes(), "image/png")}
    return client.post("/search/image", files=files, data={"top_k": 2, "region": "whole"}, headers=headers)


def test_widget_js_is_served_to_anyone_as_javascript(closed: TestClient) -> None:
    r = closed.get("/widget.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["x-content-type-options"] == "nosniff"
    source = r.text
    assert "document.currentScript" in source and "/search/image" in source
    # shop data is only ever rendered as text: the widget never parses HTML
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", source)
    # and it loads nothing from elsewhere (no CDN, fonts or analytics)
    assert not re.search(r"https?://(?!(search\.)?shop\.example|www\.w3\.org/2000/svg)", source)


def test_the_read_only_key_searches_but_never_writes(closed: TestClient, demo_catalog: Path) -> None:
    photo = demo_catalog / "Juices" / "carrot-juice-1.png"
    assert _search(closed, photo, None).status_code == 401
    assert _search(closed, photo, "wrong").status_code == 401
    r = _search(closed, photo, READ)
    assert r.status_code == 200 and r.json()["hits"][0]["product_id"] == "carrot-juice"
    assert _search(closed, photo, WRITE).status_code == 200  # the owner's key reads too
    for method, path in (("DELETE", "/products/carrot-juice"), ("POST", "/products")):
        r = closed.request(method, path, headers={"X-API-Key": READ})
        assert r.status_code == 401, (method, path, r.status_code)
    assert closed.get("/products/carrot-juice", headers={"X-API-Key": READ}).status_code == 200


def test_cors_lets_the_shop_send_the_key_from_its_pages(closed: TestClient) -> None:
    preflight = {
        "Origin": SHOP,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key",
    }
    r = closed.options("/search/image", headers=preflight)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == SHOP
    r = closed.options("/search/image", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_a_read_key_that_cannot_travel_in_a_header_is_refused(demo_service: SearchService) -> None:
    with pytest.raises(LookalikeError, match="read-only API key"):
        create_app(demo_service, api_key="", read_api_key="clé")
