"""Shop filters, product families and diverse results through SearchService and the CLI, with the real
encoder on the real embedded store (and qdrant-client's in-memory mode for the server backend)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookalike.cli import app
from lookalike.config import Settings
from lookalike.result_shape import ResultShape
from lookalike.search import ImageQuery, SearchService
from lookalike.shop_filter import FilterError, ShopFilter

KEEP = ("Hoodies", "Footwear", "Homewares", "Paints")
# made-up shop columns: hoodies and plimsolls are families of colours; one hoodie is out of stock,
# one paint has no price
OFFERS = {
    "black-hoodie": dict(
        price="45.00", availability="in stock", brand="Orbit", colour="black", item_group_id="hoodie"
    ),
    "blue-hoodie": dict(
        price="45.00", availability="out of stock", brand="Orbit", colour="blue", item_group_id="hoodie"
    ),
    "mustard-hoodie": dict(
        price="39.00", availability="in stock", brand="Orbit", colour="mustard", item_group_id="hoodie"
    ),
    "white-hoodie": dict(
        price="49.00", availability="in stock", brand="Orbit", colour="white", item_group_id="hoodie"
    ),
    "yellow-plimsolls": dict(
        price="30.00", availability="in stock", brand="Plim", colour="yellow", item_group_id="plimsolls"
    ),
    "white-plimsolls": dict(
        price="32.00", availability="in stock", brand="Plim", colour="white", item_group_id="plimsolls"
    ),
    "colored-parrot-cushion": dict(price="20.00", availability="in stock", brand="Nest"),
    "white-parrot-cushion": dict(price="18.00", availability="preorder", brand="Nest"),
    "red-dwarf-red-paint": dict(availability="in stock", brand="Nebula"),
}
for pid in (
    "nebula-night-sky-paint",
    "space-dust-navy-paint",
    "light-speed-yellow-paint",
    "hyperspace-turquoise-paint",
):
    OFFERS[pid] = dict(price="12.50", availability="in stock", brand="Nebula")


def shop_catalog(demo_catalog: Path, root: Path) -> Path:
    for folder in KEEP:
        shutil.copytree(demo_catalog / folder, root / folder)
    with (demo_catalog / "products.csv").open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["path"].split("/")[0] in KEEP]
    columns = ["price", "availability", "brand", "colour", "item_group_id"]
    with (root / "products.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, fieldnames=[*rows[0].keys(), *[c for c in columns if c not in rows[0]]])
        out.writeheader()
        for r in rows:
            out.writerow({**r, **{c: "" for c in columns}, **OFFERS.get(r["product_id"], {})})
    return root


@pytest.fixture(scope="module", params=["edge", "server"])
def shop(request, tmp_path_factory, demo_catalog, encoder):
    """The shop catalog indexed on each backend."""
    base = tmp_path_factory.mktemp(f"shop-{request.param}")
    catalog = shop_catalog(demo_catalog, base / "catalog")
    settings = Settings(
        data_dir=base / "data",
        qdrant_url=":memory:" if request.param == "server" else None,
        collection="shop",
    )
    svc = SearchService(settings, encoder=encoder)
    svc.index(catalog)
    yield svc, catalog
    svc.close()


def photo(catalog: Path, product_id: str) -> bytes:
    return next(catalog.glob(f"*/{product_id}-1.*")).read_bytes()


def ids(hits) -> list[str]:
    return [h.product.product_id for h in hits]


def test_filters_hold_for_every_hit_and_fill_top_k(shop) -> None:
    svc, catalog = shop
    q = photo(catalog, "blue-hoodie")
    everything = svc.search_image(q, top_k=20, region="whole")
    assert ids(everything)[0] == "blue-hoodie"
    in_stock = svc.search_image(
        q, top_k=20, region="whole", shape=ResultShape(shop=ShopFilter(in_stock=True))
    )
    assert "blue-hoodie" not in ids(in_stock)
    assert all(h.product.offer.availability == "in_stock" for h in in_stock)
    expected = sum(1 for o in OFFERS.values() if o.get("availability") == "in stock")
    assert len(in_stock) == expected  # not fewer: the filter ran inside Qdrant
    cheap = svc.search_image(q, top_k=5, region="whole", shape=ResultShape(ShopFilter(max_price=40)))
    assert len(cheap) == 5 and all(
        h.product.offer.price is not None and h.product.offer.price <= 40 for h in cheap
    )
    assert "red-dwarf-red-paint" not in ids(
        svc.search_image(q, 20, region="whole", shape=ResultShape(ShopFilter(min_price=0)))
    )
    assert "red-dwarf-red-paint" in ids(
        svc.search_image(q, 20, region="whole", shape=ResultShape(ShopFilter(brand="Nebula")))
    )
    both = svc.search_image(
        q, 20, category="Hoodies", region="whole", shape=ResultShape(ShopFilter(in_stock=True, min_price=40))
    )
    assert sorted(ids(both)) == ["black-hoodie", "white-hoodie"]


def test_filters_in_every_mode(shop) -> None:
    svc, catalog = shop
    flt = ShopFilter(in_stock=True, max_price=40)
    shape = ResultShape(shop=flt)
    q = photo(catalog, "mustard-hoodie")

    def ok(hits) -> bool:
        return bool(hits) and all(flt.matches({**h.product.offer.payload()}) for h in hits)

    assert ok(svc.search_image(q, 5, shape=shape))  # region auto
    assert ok(svc.search_image(q, 5, region="0,0,0.8,0.8", shape=shape))
    assert ok(svc.search_text("yellow shoe", 5, shape=shape))
    assert ok(svc.search_combined(q, "yellow", top_k=5, region="whole", shape=shape))
    assert ok(svc.similar(["white-hoodie"], top_k=5, shape=shape))
    assert all(ok(g.hits) for g in svc.search_regions(q, max_products=2, top_k=3, shop=flt))
    [answer, bad] = svc.search_batch(
        [ImageQuery(q, 5, shape=shape), ImageQuery(b"not an image", 5, shape=shape)]
    )
    assert ok(answer) and isinstance(bad, Exception)


def test_families_show_each_family_once_with_its_variants(shop) -> None:
    svc, catalog = shop
    q = photo(catalog, "white-hoodie")
    plain = ids(svc.search_image(q, top_k=6, region="whole"))
    assert sum(p.endswith("hoodie") for p in plain) >= 3  # hoodies crowd the page without families
    hits = svc.search_image(q, top_k=6, region="whole", shape=ResultShape(families=True))
    groups = [h.product.offer.item_group_id or h.product.product_id for h in hits]
    assert len(groups) == len(set(groups)) == 6
    first = hits[0]
    assert first.product.product_id == "white-hoodie"
    assert sorted(v.colour for v in first.variants) == ["black", "blue", "mustard"]
    assert all(v.point_id and v.product_id != "white-hoodie" for v in first.variants)
    # with a filter, variants that fail it are not listed
    stocked = svc.search_image(
        q, top_k=3, region="whole", shape=ResultShape(ShopFilter(in_stock=True), families=True)
    )
    assert sorted(v.colour for v in stocked[0].variants) == ["black", "mustard"]
    # the same in the modes that rank in Python
    text_hits = svc.search_text("hoodie", top_k=5, shape=ResultShape(families=True))
    assert sum(h.product.offer.item_group_id == "hoodie" for h in text_hits) == 1
    similar = svc.similar(["yellow-plimsolls"], top_k=5, shape=ResultShape(families=True))
    assert len({h.product.offer.item_group_id or h.product.product_id for h in similar}) == len(similar)


def test_variants_of_a_product(shop) -> None:
    svc, _ = shop
    assert [v.product_id for v in svc.variants("yellow-plimsolls")] == ["white-plimsolls"]
    assert {v.colour for v in svc.variants("black-hoodie")} == {"blue", "mustard", "white"}
    assert {v.colour for v in svc.variants("black-hoodie", ShopFilter(in_stock=True))} == {"mustard", "white"}
    assert svc.variants("colored-parrot-cushion") == []


def test_diverse_results_keep_the_best_match_first_and_spread_categories(shop) -> None:
    svc, catalog = shop
    q = photo(catalog, "black-hoodie")
    plain = svc.search_image(q, top_k=5, region="whole")
    diverse = svc.search_image(q, top_k=5, region="whole", shape=ResultShape(diverse=True))
    assert ids(diverse)[0] == ids(plain)[0] == "black-hoodie" and len(diverse) == 5
    assert len({h.product.category for h in diverse}) >= len({h.product.category for h in plain})
    assert len(set(ids(diverse))) == 5


def test_cli_flags(shop, monkeypatch: pytest.MonkeyPatch) -> None:
    svc, catalog = shop
    if svc.settings.qdrant_url:
        pytest.skip("the CLI opens its own store: the embedded one is enough")
    monkeypatch.setenv("LOOKALIKE_DATA_DIR", str(svc.settings.data_dir))
    monkeypatch.setenv("LOOKALIKE_COLLECTION", "shop")
    monkeypatch.delenv("LOOKALIKE_QDRANT_URL", raising=False)
    query = str(next(catalog.glob("Hoodies/blue-hoodie-1.*")))
    svc.close()  # the embedded store allows one opener: the CLI's
    runner = CliRunner()
    r = runner.invoke(
        app, ["search", query, "--region", "whole", "--in-stock", "--max-price", "45", "--json"]
    )
    assert r.exit_code == 0, r.output
    hits = json.loads(r.output)
    assert hits and all(h["availability"] == "in_stock" and h["price"] <= 45 for h in hits)
    r = runner.invoke(app, ["search", query, "--region", "whole", "--families", "-k", "3", "--json"])
    assert r.exit_code == 0, r.output
    top = json.loads(r.output)[0]
    assert top["product_id"] == "blue-hoodie" and len(top["variants"]) == 3
    r = runner.invoke(app, ["search", "--text", "hoodie", "--brand", "Plim", "--diverse", "--json"])
    assert r.exit_code == 0 and all(h["brand"] == "Plim" for h in json.loads(r.output))
    r = runner.invoke(app, ["variants", "white-plimsolls"])
    assert r.exit_code == 0 and "yellow-plimsolls" in r.output
    for bad in (["--min-price", "-3"], ["--min-price", "50", "--max-price", "10"]):
        r = runner.invoke(app, ["search", query, *bad])
        assert r.exit_code == 1 and "price" in r.output
    r = runner.invoke(app, ["search", query, "--max-price", "cheap"])
    assert r.exit_code == 2


def test_bad_filters_are_filter_errors() -> None:
    with pytest.raises(FilterError, match="reversed"):
        ShopFilter(min_price=5, max_price=1)


def test_result_shape_from_the_faces_options() -> None:
    assert ResultShape.from_options() == ResultShape()  # nothing asked: no shop filter, not pooled
    assert not ResultShape().pooled and ResultShape(diverse=True).pooled
    shape = ResultShape.from_options(in_stock=True, max_price=40, families=True)
    assert shape == ResultShape(ShopFilter(in_stock=True, max_price=40), families=True, diverse=False)
    with pytest.raises(FilterError, match="reversed"):
        ResultShape.from_options(min_price=5, max_price=1)
