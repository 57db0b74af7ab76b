"""Shop columns (price, stock, link…) from sidecars into the payload and back out with every hit."""

from __future__ import annotations

import csv
import logging
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lookalike.api import create_app
from lookalike.demo_data import SHOP_COLUMNS
from lookalike.offers import normalise_availability, parse_price, read_offer
from lookalike.records import Offer, Product
from lookalike.search import SearchService


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15.00 USD", (15.0, "USD")),
        ("USD 15", (15.0, "USD")),
        ("12,5 eur", (12.5, "EUR")),
        ("€1.299,00", (1299.0, "EUR")),
        ("1,299.00", (1299.0, None)),
        ("£ 7", (7.0, "GBP")),
        ("0", (0.0, None)),
    ],
)
def test_prices_in_the_spellings_shops_export(text: str, expected: tuple[float, str | None]) -> None:
    assert parse_price(text) == expected


@pytest.mark.parametrize("text", ["", "free", "12.00.00 USD", "-3 EUR", "nan", "inf", "1e9999", "USD"])
def test_what_is_not_a_price_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a price"):
        parse_price(text)


def test_availability_spellings() -> None:
    assert normalise_availability("in stock") == "in_stock"
    assert normalise_availability("In_Stock") == "in_stock"
    assert normalise_availability("https://schema.org/OutOfStock") == "out_of_stock"
    assert normalise_availability("pre-order") == "preorder"
    assert normalise_availability("maybe") is None


def test_a_row_with_a_sale_and_bad_values_keeps_what_it_can() -> None:
    read = read_offer(
        {
            "price": "30.00 EUR",
            "sale_price": "24.50 EUR",
            "color": "red",
            "availability": "soon",
            "brand": " ",
        }
    )
    assert read.offer == Offer(price=24.5, regular_price=30.0, currency="EUR", colour="red")
    assert read.warnings == [
        "availability 'soon' is not one of in_stock, out_of_stock, preorder, backorder: left out"
    ]
    bad = read_offer({"price": "call us", "currency": "usd", "link": "https://shop.example/p/1"})
    assert bad.offer == Offer(currency="USD", link="https://shop.example/p/1")
    assert bad.warnings == ["price 'call us' is not a number: stored without it"]


def test_payload_round_trip_keeps_offer_fields_flat() -> None:
    offer = Offer(price=9.99, currency="EUR", availability="in_stock", brand="Acme", item_group_id="g1")
    product = Product("p1", "Shoes", Path("/x/p1.png"), "Shoes/p1.png", "ab" * 32, offer=offer)
    payload = product.payload()
    assert payload["price"] == 9.99 and payload["brand"] == "Acme" and "colour" not in payload
    assert Product.from_payload(payload) == product
    assert Product.from_payload({**payload, "price": "9.99"}).offer.price is None  # never a string as a price
    assert product.to_dict()["price"] == 9.99 and product.to_dict()["colour"] is None


def _with_offers(catalog: Path, rows: dict[str, dict[str, str]]) -> None:
    """Set the shop columns of the demo catalog's sidecar for the given product ids (only those)."""
    sidecar = catalog / "products.csv"
    with sidecar.open(newline="", encoding="utf-8") as fh:
        old = list(csv.DictReader(fh))
    extra = sorted({k for r in rows.values() for k in r})
    with sidecar.open("w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, fieldnames=[*old[0].keys(), *extra])
        out.writeheader()
        for row in old:
            given = rows.get(row["product_id"])  # the demo's own shop columns give way to the given ones
            out.writerow({**row, **({c: "" for c in SHOP_COLUMNS} | given if given else {})})


def test_sidecar_offer_is_returned_with_hits_and_a_price_change_is_not_reembedded(
    service: SearchService, catalog_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for folder in catalog_copy.iterdir():
        if folder.is_dir() and folder.name != "Hoodies":
            shutil.rmtree(folder)
    offer = {"price": "49.90 EUR", "availability": "in stock", "link": "https://shop.example/blue-hoodie"}
    _with_offers(catalog_copy, {"blue-hoodie": offer, "white-hoodie": {"price": "n/a"}})
    with caplog.at_level(logging.WARNING, logger="lookalike.catalog"):
        first = service.index(catalog_copy)
    assert "price 'n/a' is not a number" in caplog.text
    query = next(catalog_copy.glob("Hoodies/blue-hoodie-*.png"))
    hit = service.search_image(query.read_bytes(), top_k=1, region="whole")[0]
    assert hit.product.product_id == "blue-hoodie"
    assert hit.product.offer == Offer(
        price=49.9, currency="EUR", availability="in_stock", link="https://shop.example/blue-hoodie"
    )
    _with_offers(catalog_copy, {"blue-hoodie": {**offer, "price": "39.90 EUR"}})
    again = service.index(catalog_copy)
    views = len(list(catalog_copy.glob("Hoodies/blue-hoodie-*.png")))
    assert (again.embedded, again.changed) == (0, views) and first.embedded > 0  # a payload update only
    with TestClient(create_app(service, api_key="")) as client:
        r = client.post(
            "/search/image",
            files={"file": ("q.png", query.read_bytes(), "image/png")},
            data={"top_k": 1, "region": "whole"},
        )
        assert r.status_code == 200
        body = r.json()["hits"][0]
        assert (body["price"], body["currency"], body["availability"]) == (39.9, "EUR", "in_stock")
        assert body["link"] == "https://shop.example/blue-hoodie" and body["brand"] is None
        detail = client.get("/products/blue-hoodie").json()
        assert detail["price"] == 39.9
