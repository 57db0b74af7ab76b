"""Shop filters and product families run inside Qdrant, alike on both backends (the contract suite's
`store` fixture: Qdrant Edge, and qdrant-client's `:memory:` mode for a server)."""

from __future__ import annotations

import numpy as np
import pytest

from lookalike.catalog import point_id
from lookalike.shop_filter import FilterError, ShopFilter
from lookalike.store import PointFilter, VectorQuery

from .test_contract import DIM, backend, store  # noqa: F401 - the two-backend fixtures

BRANDS = ("Acme", "Borealis", None)
STOCK = ("in_stock", "out_of_stock", "preorder", None)


def _shop_points(n: int = 48, seed: int = 1):
    """Point i: product p{i}; price i (none for every 5th); availability and brand cycle; products
    come in families of 4 (g0…), every 6th product has no family."""
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids, payloads = [], []
    for i in range(n):
        p = {
            "product_id": f"p{i}",
            "category": f"cat{i % 2}",
            "rel_path": f"p{i}.png",
            "path": f"/x/p{i}.png",
            "sha256": str(i),
            "title": None,
        }
        if i % 5:
            p["price"] = float(i) if i % 2 else i  # ints and floats, as feeds give them
        if STOCK[i % 4]:
            p["availability"] = STOCK[i % 4]
        if BRANDS[i % 3]:
            p["brand"] = BRANDS[i % 3]
        if i % 6:
            p["item_group_id"] = f"g{i // 4}"
            p["colour"] = f"colour{i % 4}"
        ids.append(point_id(f"p{i}.png"))
        payloads.append(p)
    return ids, vecs, payloads


FILTERS = [
    ShopFilter(in_stock=True),
    ShopFilter(min_price=10),
    ShopFilter(max_price=20),
    ShopFilter(min_price=10, max_price=30),
    ShopFilter(min_price=12, max_price=12),
    ShopFilter(brand="Acme"),
    ShopFilter(in_stock=True, max_price=40, brand="Borealis"),
]


@pytest.mark.parametrize("shop", FILTERS, ids=str)
def test_shop_filters_select_exactly_the_matching_points(store, shop: ShopFilter) -> None:  # noqa: F811
    ids, vecs, payloads = _shop_points()
    store.upsert(ids, vecs, payloads)
    store.optimize()
    expected = {pid for pid, p in zip(ids, payloads, strict=True) if shop.matches(p)}
    assert expected, "a filter that matches nothing proves little"
    assert store.count(PointFilter(shop=shop)) == len(expected)
    # a search asked for more than match returns every match: the filter ran in the engine, not after
    hits = store.search(vecs[0], limit=len(ids), flt=PointFilter(shop=shop))
    assert {h.id for h in hits} == expected
    # with a limit below the matches, the limit is filled
    assert len(store.search(vecs[0], limit=3, flt=PointFilter(shop=shop))) == min(3, len(expected))
    # combined with the category filter
    both = {h.id for h in store.search(vecs[0], len(ids), PointFilter(category="cat1", shop=shop))}
    assert both == {pid for pid in expected if payloads[ids.index(pid)]["category"] == "cat1"}
    [batch] = store.search_batch([VectorQuery(vecs[0], len(ids), PointFilter(shop=shop))])
    assert {h.id for h in batch} == expected


def test_price_filter_leaves_out_products_without_a_price_and_others_keep_them(store) -> None:  # noqa: F811
    ids, vecs, payloads = _shop_points()
    store.upsert(ids, vecs, payloads)
    unpriced = {pid for pid, p in zip(ids, payloads, strict=True) if "price" not in p}
    priced_hits = {h.id for h in store.search(vecs[0], 100, PointFilter(shop=ShopFilter(min_price=0)))}
    assert priced_hits and not priced_hits & unpriced
    everything = {h.id for h in store.search(vecs[0], 100, PointFilter(shop=ShopFilter(in_stock=False)))}
    assert unpriced <= everything
    acme = {h.id for h in store.search(vecs[0], 100, PointFilter(shop=ShopFilter(brand="Acme")))}
    assert unpriced & acme


def test_family_filters(store) -> None:  # noqa: F811
    ids, vecs, payloads = _shop_points()
    store.upsert(ids, vecs, payloads)
    grouped = {pid for pid, p in zip(ids, payloads, strict=True) if "item_group_id" in p}
    assert store.count(PointFilter(grouped=True)) == len(grouped)
    assert store.count(PointFilter(grouped=False)) == len(ids) - len(grouped)
    g1 = {p.payload["product_id"] for p in store.iter_points(PointFilter(item_group_ids=("g1",)))}
    assert g1 == {"p4", "p5", "p7"}  # p6 has no family (every 6th)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_price": -1},
        {"max_price": -0.5},
        {"min_price": 30, "max_price": 10},
        {"min_price": float("nan")},
        {"max_price": float("inf")},
        {"min_price": "cheap"},
        {"min_price": True},
    ],
)
def test_bad_price_ranges_are_refused_with_a_reason(kwargs) -> None:
    with pytest.raises(FilterError, match="price"):
        ShopFilter(**kwargs)


def test_unknown_filter_fields_are_named() -> None:
    with pytest.raises(FilterError, match="unknown filter field.*colour.*brand"):
        ShopFilter.from_mapping({"colour": "red", "in_stock": True})
    assert ShopFilter.from_mapping({"brand": "  Acme  ", "max_price": 5}) == ShopFilter(
        max_price=5.0, brand="Acme"
    )


def _expected_families(vecs, payloads, query, flt_ok=lambda p: True):
    """Exact answer: families ranked by their best point's cosine, with that point."""
    scores = vecs @ query
    best: dict[str, int] = {}
    for i in np.argsort(-scores):
        p = payloads[i]
        if "item_group_id" in p and flt_ok(p):
            best.setdefault(p["item_group_id"], int(i))
    return list(best.items())


@pytest.mark.parametrize("limit", [1, 3, 8, 50])
def test_search_families_returns_the_best_point_of_each_best_family(store, limit: int) -> None:  # noqa: F811
    ids, vecs, payloads = _shop_points()
    store.upsert(ids, vecs, payloads)
    store.optimize()
    for q in (0, 9, 31):
        expected = _expected_families(vecs, payloads, vecs[q])[:limit]
        got = store.search_families(vecs[q], limit)
        assert [p.payload["item_group_id"] for p in got] == [g for g, _ in expected]
        assert [p.id for p in got] == [ids[i] for _, i in expected]
        exact = [float(vecs[i] @ vecs[q]) for _, i in expected]
        assert [p.score for p in got] == pytest.approx(exact, abs=1e-4)


def test_search_families_applies_shop_and_category_filters(store) -> None:  # noqa: F811
    ids, vecs, payloads = _shop_points()
    store.upsert(ids, vecs, payloads)
    shop = ShopFilter(in_stock=True)
    flt = PointFilter(category="cat0", shop=shop)
    expected = _expected_families(
        vecs, payloads, vecs[3], lambda p: p["category"] == "cat0" and shop.matches(p)
    )
    got = store.search_families(vecs[3], 10, flt)
    assert [p.id for p in got] == [ids[i] for _, i in expected][:10]
