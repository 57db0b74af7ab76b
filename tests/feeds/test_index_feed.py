"""`index-feed` end to end: a loopback shop, the real encoder, the real embedded store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from lookalike.api import create_app
from lookalike.catalog import FEED_FIELD, SOURCE_FEED, SOURCE_FIELD
from lookalike.errors import FeedError, NotFoundError
from lookalike.feeds.storage import feed_point_id
from lookalike.search import SearchService

from .conftest import BROKEN, GOOD_IMAGES, Shop, json_list, merchant_rss, merchant_tsv, sidecar_csv, stock


def _feed_points(svc: SearchService, name: str) -> dict[str, dict]:
    return {
        p.id: p.payload
        for p in svc.store.iter_points()
        if p.payload.get(SOURCE_FIELD) == SOURCE_FEED and p.payload.get(FEED_FIELD) == name
    }


def _expected_ids(products: list[dict[str, str]], name: str) -> set[str]:
    ids = set()
    for p in products:
        if "id" not in p or not p.get("image_link") or p["image_link"].endswith(BROKEN):
            continue
        urls = [p["image_link"], *filter(None, p.get("additional_image_link", "").split(","))]
        ids |= {feed_point_id(name, p["id"], u) for u in urls}
    return ids


def test_merchant_tsv_is_indexed_failures_listed_and_fields_returned(
    feed_service: SearchService, shop: Shop, demo_catalog: Path
) -> None:
    products = stock(shop, demo_catalog)
    url = shop.put("/feeds/google.tsv", merchant_tsv(products), "text/tab-separated-values")
    report = feed_service.index_feed(url, owner=True)

    assert (report.name, report.format, report.products) == ("google", "merchant-tsv", 10)
    assert (report.images, report.new, report.embedded, report.downloaded) == (13, 8, 8, 8)
    failed = {u.rsplit("/", 1)[1]: why for u, why in report.failed}
    assert set(failed) == {"missing.png", "slow.png", "page.png", "huge.png", "loop.png"}
    assert "404" in failed["missing.png"]
    assert "timed out" in failed["slow.png"]
    assert "not an image" in failed["page.png"] and "text/html" in failed["page.png"]
    assert "larger than 2 MB" in failed["huge.png"]
    assert "too many redirects" in failed["loop.png"]
    assert sorted(why for _, why in report.skipped) == ["no id", "no image_link"]
    assert any("'call us' is not a number" in w for _, w in report.warnings)

    points = _feed_points(feed_service, "google")
    assert set(points) == _expected_ids(products, "google") and len(points) == GOOD_IMAGES
    data_dir = feed_service.settings.data_dir.resolve()
    for payload in points.values():  # every image is a file lookalike owns, the one that was indexed
        path = Path(payload["path"])
        assert path.is_relative_to(data_dir / "feeds" / "google")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == payload["sha256"]
        assert payload["etag"].startswith('"')

    query = demo_catalog / "Hoodies" / "white-hoodie-2.png"
    hit = feed_service.search_image(query, top_k=3, region="whole")[0]
    p, o = hit.product, hit.product.offer
    assert (p.product_id, p.title, p.category) == ("hoodie-white", "White hoodie", "Apparel / Hoodies")
    assert (o.price, o.regular_price, o.currency) == (29.0, 35.0, "EUR")
    assert (o.link, o.availability, o.brand, o.colour, o.item_group_id) == (
        "https://shop.example/p/hoodie-white",
        "out_of_stock",
        "Saleor",
        "white",
        "hoodie",
    )
    assert o.image_link == shop.url("/img/Hoodies/white-hoodie-2.png")  # the view that matched
    juice = feed_service.product("juice-orange")[0]
    assert juice.offer.price is None and juice.title == "Orange juice"  # no price, still indexed


def test_rerun_is_conditional_and_a_changed_image_is_the_only_one_embedded(
    feed_service: SearchService, shop: Shop, demo_catalog: Path, tmp_path: Path
) -> None:
    products = stock(shop, demo_catalog)
    url = shop.put("/feeds/google.tsv", merchant_tsv(products), "text/plain")
    feed_service.index_feed(url, owner=True)
    before = len(shop.image_requests())

    again = feed_service.index_feed(url, owner=True)
    assert (again.new, again.changed, again.unchanged, again.embedded) == (0, 0, GOOD_IMAGES, 0)
    assert (again.not_modified, again.downloaded) == (GOOD_IMAGES, 0)
    conditional = [h for p, h in shop.image_requests()[before:] if "If-None-Match" in h]
    assert len(conditional) == GOOD_IMAGES

    rotated = tmp_path / "rotated.png"
    Image.open(demo_catalog / "Alcohol" / "red-wine-1.png").convert("RGB").rotate(90).save(rotated)
    shop.put("/img/Alcohol/red-wine-1.png", rotated.read_bytes(), "image/png")
    changed = feed_service.index_feed(url, owner=True)
    assert (changed.changed, changed.embedded, changed.downloaded, changed.unchanged) == (1, 1, 1, 7)
    (wine,) = feed_service.product("wine-red")
    assert wine.sha256 == hashlib.sha256(rotated.read_bytes()).hexdigest() and wine.path.is_file()
    old_files = list((feed_service.settings.data_dir / "feeds" / "google").rglob("*.png"))
    assert len(old_files) == GOOD_IMAGES  # the replaced image's file went with it

    products[4]["price"] = "9.99 EUR"  # an offer change only: a payload update, nothing embedded
    shop.put("/feeds/google.tsv", merchant_tsv(products), "text/plain")
    priced = feed_service.index_feed(url, owner=True)
    assert (priced.changed, priced.embedded, priced.unchanged) == (1, 0, 7)
    hit = feed_service.search_image(rotated, top_k=1, region="whole")[0]
    assert (hit.product.product_id, hit.product.offer.price) == ("wine-red", 9.99)


def test_prune_removes_only_this_feeds_gone_products(
    feed_service: SearchService, shop: Shop, demo_catalog: Path, small_catalog: Path
) -> None:
    products = stock(shop, demo_catalog)
    feed_service.index(small_catalog)  # a catalog folder beside the feeds
    url = shop.put("/feeds/google.tsv", merchant_tsv(products), "text/plain")
    feed_service.index_feed(url, owner=True)
    other = shop.put("/other.xml", merchant_rss(products[:1]), "application/rss+xml")
    feed_service.index_feed(other, name="other", owner=True)
    assert feed_service.store.count() == 8 + GOOD_IMAGES + 1

    smaller = [p for p in products if p.get("id") != "plimsolls-yellow"]  # 3 images leave the feed
    shop.put("/feeds/google.tsv", merchant_tsv(smaller), "text/plain")
    kept = feed_service.index_feed(url, owner=True)
    assert (kept.stale, kept.removed) == (3, 0)
    assert len(_feed_points(feed_service, "google")) == GOOD_IMAGES  # without --prune it stays

    pruned = feed_service.index_feed(url, owner=True, prune=True)
    assert (pruned.removed, pruned.embedded) == (3, 0)
    assert set(_feed_points(feed_service, "google")) == _expected_ids(smaller, "google")
    with pytest.raises(NotFoundError):
        feed_service.product("plimsolls-yellow")
    files = list((feed_service.settings.data_dir / "feeds" / "google").rglob("*.png"))
    assert len(files) == GOOD_IMAGES - 3  # their files went too

    # the folder's --prune never touches feed points, the other feed keeps its own product
    folder = feed_service.index(small_catalog, prune=True)
    assert (folder.removed, folder.stale) == (0, 0)
    assert len(_feed_points(feed_service, "google")) == GOOD_IMAGES - 3
    assert len(_feed_points(feed_service, "other")) == 1
    assert feed_service.store.count() == 8 + GOOD_IMAGES - 3 + 1


@pytest.mark.parametrize(("build", "fmt"), [(merchant_rss, "rss"), (sidecar_csv, "csv"), (json_list, "json")])
def test_xml_csv_and_json_feeds_index_the_same_points(
    feed_service: SearchService, shop: Shop, demo_catalog: Path, build, fmt: str
) -> None:
    products = stock(shop, demo_catalog)[:2]  # the hoodies: 3 images
    url = shop.put(f"/feed.{fmt}", build(products), "text/plain")
    report = feed_service.index_feed(url, name="shop", owner=True)
    assert (report.format, report.embedded, report.failed) == (fmt, 3, [])
    assert set(_feed_points(feed_service, "shop")) == _expected_ids(products, "shop")
    black = feed_service.product("hoodie-black")[0]
    assert (black.title, black.offer.price, black.offer.brand, black.offer.colour) == (
        "Black hoodie",
        39.9,
        "Saleor",
        "black",
    )


def test_feed_fields_come_back_through_the_api(
    feed_service: SearchService, shop: Shop, demo_catalog: Path
) -> None:
    products = stock(shop, demo_catalog)[:2]
    url = shop.put("/google.tsv", merchant_tsv(products), "text/plain")
    feed_service.index_feed(url, owner=True)
    with TestClient(create_app(feed_service, api_key="")) as client:
        photo = (demo_catalog / "Hoodies" / "black-hoodie-1.png").read_bytes()
        r = client.post(
            "/search/image", files={"file": ("q.png", photo, "image/png")}, data={"region": "whole"}
        )
        assert r.status_code == 200, r.text
        top = r.json()["hits"][0]
        assert top["product_id"] == "hoodie-black"
        assert {k: top[k] for k in ("title", "price", "currency", "link", "availability")} == {
            "title": "Black hoodie",
            "price": 39.9,
            "currency": "EUR",
            "link": "https://shop.example/p/hoodie-black",
            "availability": "in_stock",
        }
        assert (top["brand"], top["colour"], top["item_group_id"]) == ("Saleor", "black", "hoodie")
        image = client.get(f"/products/hoodie-black/image?point={top['point_id']}")  # the stored file, served
        assert image.status_code == 200 and image.content == photo


def test_local_feed_file_and_bad_feeds(
    feed_service: SearchService, shop: Shop, demo_catalog: Path, tmp_path: Path
) -> None:
    products = stock(shop, demo_catalog)[:1]
    local = tmp_path / "My Shop.tsv"
    local.write_bytes(merchant_tsv(products))
    report = feed_service.index_feed(local, owner=True)
    assert (report.name, report.embedded) == ("my-shop", 1)
    with pytest.raises(FeedError, match="http"):  # an API caller may not read the server's files
        feed_service.index_feed(local)

    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><rss>&b;</rss>'
    with pytest.raises(FeedError, match="XML bomb"):
        feed_service.index_feed(shop.put("/bomb.xml", bomb, "application/xml"), owner=True)
    with pytest.raises(FeedError, match="404"):
        feed_service.index_feed(shop.url("/nothing.tsv"), owner=True)
    with pytest.raises(FeedError, match="no products"):
        feed_service.index_feed(shop.put("/empty.tsv", b"id\ttitle\n1\tno image\n", "text/plain"), owner=True)
    with pytest.raises(FeedError, match="feed name"):
        feed_service.index_feed(local, name="../../etc", owner=True)
    assert feed_service.store.count() == 1  # nothing of the above touched the index


def test_without_owner_rights_loopback_is_refused(feed_service: SearchService, shop: Shop) -> None:
    url = shop.put("/google.tsv", b"id\timage_link\n1\thttp://127.0.0.1/x.png\n", "text/plain")
    with pytest.raises(FeedError, match="refused"):
        feed_service.index_feed(url)
    assert shop.requests == []  # nothing was sent
