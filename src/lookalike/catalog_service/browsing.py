"""Browsing the index: a category's products page by page (in id order or shuffled), examples, a
product's views and the file behind one of them."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from pathlib import Path

from lookalike.catalog_service.files import verified_file
from lookalike.catalog_service.naming import known_id
from lookalike.errors import LookalikeError, NotFoundError
from lookalike.records import Product
from lookalike.search import MAX_TOP_K, SearchService
from lookalike.shop_filter import ShopFilter
from lookalike.store import PointFilter


@dataclass(frozen=True)
class CatalogProduct:
    """A product as browsing shows it: its views sorted by path, the first one as its cover."""

    product_id: str
    category: str
    title: str | None
    views: tuple[Product, ...]

    @property
    def cover(self) -> Product:
        return self.views[0]


@dataclass(frozen=True)
class BrowsePage:
    category: str
    total: int  # products in the category
    offset: int
    limit: int
    products: list[CatalogProduct]
    seed: int | None = None  # set when shuffled: pass it back with the next offset to continue

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.products)
        return end if end < self.total else None


def category_products(
    service: SearchService, category: str, shop: ShopFilter | None = None
) -> list[CatalogProduct]:
    """Every product of a category (from the index), sorted by id; `shop` narrows it inside Qdrant.
    Unknown category → NotFoundError."""
    if category not in service.categories():
        raise NotFoundError(f"no category '{category}' in the index")
    views: dict[str, list[Product]] = {}
    for p in service.store.iter_points(PointFilter(category=category, shop=shop)):
        product = Product.from_payload(p.payload)
        views.setdefault(product.product_id, []).append(product)
    out = []
    for pid in sorted(views):
        vs = tuple(sorted(views[pid], key=lambda v: v.rel_path))
        out.append(CatalogProduct(pid, category, vs[0].title, vs))
    return out


def browse(
    service: SearchService,
    category: str,
    offset: int = 0,
    limit: int = 24,
    *,
    shuffle: bool = False,
    seed: int | None = None,
    shop: ShopFilter | None = None,
) -> BrowsePage:
    """A page of a category's products.

    Without shuffle: products in id order. With shuffle: a permutation fixed by `seed` (a fresh one
    when None), so paging on with the same seed shows every product once before any repeats.
    """
    if offset < 0 or not 1 <= limit <= MAX_TOP_K:
        raise LookalikeError(f"offset must be ≥ 0 and limit between 1 and {MAX_TOP_K}")
    products = category_products(service, category, shop)
    if shuffle:
        seed = random.SystemRandom().randrange(2**31) if seed is None else seed
        random.Random(seed).shuffle(products)
    else:
        seed = None
    return BrowsePage(category, len(products), offset, limit, products[offset : offset + limit], seed)


def examples(service: SearchService, per_category: int = 1) -> list[Product]:
    """Example query images from the index: the first product of each category (for newcomers)."""
    out: list[Product] = []
    for category in service.categories():
        points, _ = service.store.scroll(PointFilter(category=category), limit=64)
        seen: dict[str, Product] = {}
        for p in sorted((Product.from_payload(p.payload) for p in points), key=lambda v: v.rel_path):
            seen.setdefault(p.product_id, p)
        out.extend(list(seen.values())[:per_category])
    return out


def product_views(service: SearchService, product_id: str) -> list[tuple[str, Product]]:
    """(point id, view) for every image of a product, in path order. Unknown product → NotFoundError."""
    views = [
        (p.id, Product.from_payload(p.payload))
        for p in service.store.iter_points(PointFilter(product_id=known_id(product_id)))
    ]
    if not views:
        raise NotFoundError(f"no product '{product_id}' in the index")
    return sorted(views, key=lambda v: v[1].rel_path)


def product_image_path(
    service: SearchService, product_id: str, view: int = 0, point: str | None = None
) -> Path:
    """The file of one view of a product, for serving.

    Only a path stored in the index payload for that product is ever returned, and only while the file
    is the one indexed (see verified_file); `point` (a hit's point_id) picks the view that matched.
    """
    known_id(product_id)
    if point is not None:
        try:
            pid = str(uuid.UUID(point))
        except ValueError:
            raise NotFoundError(f"no image '{point}' for product '{product_id}'") from None
        found = [p for p in service.store.retrieve([pid]) if p.payload.get("product_id") == product_id]
        if not found:
            raise NotFoundError(f"no image '{point}' for product '{product_id}'")
        product = Product.from_payload(found[0].payload)
    else:
        views = service.product(product_id)
        if not 0 <= view < len(views):
            raise NotFoundError(f"product '{product_id}' has {len(views)} image(s); there is no view {view}")
        product = views[view]
    return verified_file(product_id, product.path, product.sha256)
