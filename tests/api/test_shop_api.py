"""Shop filters, families, variants and diverse results through the REST API (real encoder and store)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lookalike.api import create_app
from lookalike.config import Settings
from lookalike.search import SearchService

from ..test_shop_search import photo, shop_catalog


@pytest.fixture(scope="module")
def shop_api(tmp_path_factory, demo_catalog, encoder) -> Iterator[tuple[TestClient, object]]:
    base = tmp_path_factory.mktemp("shop-api")
    catalog = shop_catalog(demo_catalog, base / "catalog")
    svc = SearchService(Settings(data_dir=base / "data", qdrant_url=None, collection="shop"), encoder=encoder)
    svc.index(catalog)
    with TestClient(create_app(svc, api_key="")) as client:
        yield client, catalog
    svc.close()


def _image(client: TestClient, data: bytes, **form: object):
    return client.post("/search/image", files={"file": ("q.png", data, "image/png")}, data=form)


def test_image_search_filters_by_form_and_json(shop_api) -> None:
    client, catalog = shop_api
    q = photo(catalog, "blue-hoodie")
    r = _image(client, q, region="whole", in_stock="true", max_price="45", top_k=20)
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert hits and all(h["availability"] == "in_stock" and h["price"] <= 45 for h in hits)
    body = {"image_b64": base64.b64encode(q).decode(), "region": "whole", "brand": "Plim", "top_k": 5}
    r = client.post("/search/image", json=body)
    assert r.status_code == 200 and {h["product_id"] for h in r.json()["hits"]} == {
        "yellow-plimsolls",
        "white-plimsolls",
    }


def test_families_and_variants_endpoint(shop_api) -> None:
    client, catalog = shop_api
    r = _image(client, photo(catalog, "mustard-hoodie"), region="whole", families="true", top_k=4)
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert hits[0]["product_id"] == "mustard-hoodie"
    assert sorted(v["colour"] for v in hits[0]["variants"]) == ["black", "blue", "white"]
    assert all(v["image_url"].startswith("/products/") for v in hits[0]["variants"])
    assert sum(h["item_group_id"] == "hoodie" for h in hits) == 1
    thumb = client.get(hits[0]["variants"][0]["image_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"].startswith("image/")
    r = client.get("/products/white-plimsolls/variants")
    assert r.status_code == 200
    assert r.json()["item_group_id"] == "plimsolls"
    assert [v["product_id"] for v in r.json()["variants"]] == ["yellow-plimsolls"]
    r = client.get("/products/black-hoodie/variants", params={"in_stock": "true"})
    assert {v["colour"] for v in r.json()["variants"]} == {"mustard", "white"}
    assert client.get("/products/colored-parrot-cushion/variants").json()["variants"] == []
    assert client.get("/products/no-such-thing/variants").status_code == 404


def test_text_similar_combined_batch_and_browse_take_filters(shop_api) -> None:
    client, catalog = shop_api
    r = client.post("/search/text", json={"text": "hoodie", "in_stock": True, "families": True, "top_k": 5})
    assert r.status_code == 200, r.text
    assert all(h["availability"] == "in_stock" for h in r.json()["hits"])
    r = client.get("/products/white-hoodie/similar", params={"max_price": 40, "diverse": "true", "top_k": 3})
    assert r.status_code == 200, r.text
    assert all(h["price"] is not None and h["price"] <= 40 for h in r.json()["hits"])
    q = photo(catalog, "white-hoodie")
    r = client.post(
        "/search/combined",
        files={"file": ("q.png", q, "image/png")},
        data={"text": "white", "region": "whole", "min_price": "40"},
    )
    assert r.status_code == 200 and all(h["price"] >= 40 for h in r.json()["hits"])
    b64 = base64.b64encode(q).decode()
    r = client.post(
        "/search/batch",
        json={
            "queries": [
                {"image_b64": b64, "in_stock": True},
                {"image_b64": b64, "families": True, "top_k": 3},
            ]
        },
    )
    assert r.status_code == 200, r.text
    first, second = r.json()["results"]
    assert all(h["availability"] == "in_stock" for h in first["hits"])
    assert second["hits"][0]["variants"]
    r = client.get("/categories/Hoodies/products", params={"in_stock": "true", "min_price": 40})
    assert r.status_code == 200 and {p["product_id"] for p in r.json()["products"]} == {
        "black-hoodie",
        "white-hoodie",
    }


@pytest.mark.parametrize(
    ("how", "params"),
    [
        ("form", {"min_price": "-1"}),
        ("form", {"min_price": "50", "max_price": "10"}),
        ("form", {"max_price": "nan"}),
        ("form", {"max_price": "inf"}),
        ("form", {"min_price": "cheap"}),
        ("json", {"min_price": -1}),
        ("json", {"min_price": 50, "max_price": 10}),
        ("json", {"colour": "red"}),
        ("json", {"in_stok": True}),
        ("text", {"min_price": 9, "max_price": 1}),
        ("text", {"prize": 3}),
        ("similar", {"min_price": 9, "max_price": 1}),
        ("similar", {"in_stok": "true"}),
        ("variants", {"max_price": -2}),
        ("variants", {"colour": "red"}),
        ("browse", {"min_price": 9, "max_price": 1}),
    ],
)
def test_bad_filters_are_422_with_a_reason(shop_api, how: str, params: dict) -> None:
    client, catalog = shop_api
    q = photo(catalog, "white-hoodie")
    if how == "form":
        r = _image(client, q, region="whole", **params)
    elif how == "json":
        r = client.post("/search/image", json={"image_b64": base64.b64encode(q).decode(), **params})
    elif how == "text":
        r = client.post("/search/text", json={"text": "hoodie", **params})
    elif how == "similar":
        r = client.get("/products/white-hoodie/similar", params=params)
    elif how == "variants":
        r = client.get("/products/white-hoodie/variants", params=params)
    else:
        r = client.get("/categories/Hoodies/products", params=params)
    assert r.status_code == 422, r.text
    detail = str(r.json()["detail"])
    assert any(word in detail for word in ("price", "unknown", "extra", "Extra", "float")), detail
