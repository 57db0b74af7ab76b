"""POST /search/batch: several photos (URLs and base64) in one request, answered in order, each with
its own error. Real encoder and embedded store (the demo index); URLs from a loopback test server."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lookalike.api import create_app
from lookalike.catalog import scan
from lookalike.search import SearchService

MAX_BATCH = 6


@pytest.fixture(scope="module")
def photos(demo_catalog: Path) -> list[tuple[bytes, str]]:
    """Bytes and product id of four photos of different products."""
    seen: dict[str, bytes] = {}
    for f in scan(demo_catalog):
        if f.product_id not in seen:
            seen[f.product_id] = f.path.read_bytes()
    return [(data, pid) for pid, data in list(seen.items())[:4]]


@pytest.fixture
def api(demo_service: SearchService, site, photos) -> Iterator[TestClient]:
    for i, (data, _) in enumerate(photos):
        site.pages[f"/p/{i}.png"] = (200, {"Content-Type": "image/png"}, data)
    settings = demo_service.settings.model_copy(
        update={"fetch_allow": [f"127.0.0.1:{site.port}"], "fetch_retries": 0, "max_batch": MAX_BATCH}
    )
    svc = SearchService(settings, store=demo_service.store, encoder=demo_service.encoder)  # not closed
    with TestClient(create_app(svc, api_key="")) as c:
        yield c


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_a_batch_answers_in_order_like_single_searches(api, site, photos) -> None:
    queries = [
        {"image_url": site.url("/p/0.png"), "top_k": 3},
        {"image_b64": b64(photos[1][0]), "top_k": 2},
        {"image_url": site.url("/p/2.png")},
        {"image_b64": b64(photos[3][0]), "top_k": 5},
    ]
    r = api.post("/search/batch", json={"queries": queries})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [len(x["hits"]) for x in results] == [3, 2, 10, 5]
    for (data, pid), result, q in zip(photos, results, queries, strict=True):
        assert result["error"] is None and result["status"] == 200
        assert result["hits"][0]["product_id"] == pid
        single = api.post(
            "/search/image", json={"image_b64": b64(data), "top_k": q.get("top_k", 10), "region": "whole"}
        ).json()["hits"]
        assert [h["product_id"] for h in result["hits"]] == [h["product_id"] for h in single]
        assert [h["score"] for h in result["hits"]] == pytest.approx([h["score"] for h in single], abs=1e-4)


def test_each_bad_query_fails_alone(api, site, forbidden_site, photos) -> None:
    queries = [
        {"image_b64": "not base64!"},
        {"image_url": forbidden_site.url("/", host="localhost")},
        {"image_url": site.url("/p/missing.png")},
        {"image_b64": b64(photos[0][0]), "category": "No Such Category"},
        {"image_b64": b64(photos[0][0]), "box": "5000,5000,10,10"},
        {"image_url": site.url("/p/1.png"), "top_k": 1},
    ]
    r = api.post("/search/batch", json={"queries": queries})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == [422, 400, 422, 404, 422, 200]
    assert "base64" in results[0]["error"]
    assert "loopback address" in results[1]["error"]
    assert "HTTP 404" in results[2]["error"]
    assert "No Such Category" in results[3]["error"]
    assert all(x["hits"] is None for x in results[:5])
    assert results[5]["hits"][0]["product_id"] == photos[1][1]
    assert forbidden_site.requests == []


def test_batch_size_is_bounded(api, photos) -> None:
    one = {"image_b64": b64(photos[0][0]), "top_k": 1}
    assert api.post("/search/batch", json={"queries": [one] * MAX_BATCH}).status_code == 200
    over = api.post("/search/batch", json={"queries": [one] * (MAX_BATCH + 1)})
    assert over.status_code == 422 and f"at most {MAX_BATCH} queries" in over.json()["detail"]
    assert api.post("/search/batch", json={"queries": []}).status_code == 422
    assert api.post("/search/batch", json={"queries": [{"top_k": 1}]}).json()["results"][0]["status"] == 422
    assert api.post("/search/batch", json=[one]).status_code == 422  # the list goes under "queries"
