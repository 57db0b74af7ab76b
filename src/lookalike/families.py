"""Product families: the sizes and colours of one model share an `item_group_id`; a search with
families on shows each family once (its best-matching variant) and lists the other variants, so ten
colours of one hoodie do not fill the page."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from lookalike.records import Hit, Product, Variant
from lookalike.store import PointFilter, VectorStore

MAX_VARIANT_POINTS = 5_000  # images read at most to list the variants of one page of results


def family_key(product: Product) -> str:
    """The family a product belongs to; a product without an item_group_id is a family of its own."""
    group = product.offer.item_group_id
    return f"group:{group}" if group else f"product:{product.product_id}"


def collapse(hits: Iterable[Hit]) -> list[Hit]:
    """The first (best) hit of each family, in order."""
    seen: set[str] = set()
    out = []
    for h in hits:
        key = family_key(h.product)
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out


def merge(*rankings: Sequence[Hit]) -> list[Hit]:
    """Rankings of disjoint families merged by score, best first (ties keep their ranking's order)."""
    return sorted((h for r in rankings for h in r), key=lambda h: h.score, reverse=True)


def variant_of(point_id: str, product: Product) -> Variant:
    o = product.offer
    return Variant(
        product_id=product.product_id,
        point_id=point_id,
        title=product.title,
        colour=o.colour,
        price=o.price,
        currency=o.currency,
        availability=o.availability,
        image_link=o.image_link,
    )


def family_members(
    store: VectorStore, groups: Iterable[str], flt: PointFilter | None = None
) -> dict[str, list[Variant]]:
    """Every product of these families that passes `flt`'s category and shop filters, each once (its
    first image by path), sorted by colour then id."""
    groups = tuple(sorted(set(groups)))
    if not groups:
        return {}
    scope = PointFilter(
        item_group_ids=groups,
        category=flt.category if flt else None,
        shop=flt.shop if flt else None,
    )
    first: dict[str, tuple[str, str, Product]] = {}  # product id → (rel_path, point id, product)
    for n, p in enumerate(store.iter_points(scope)):
        if n >= MAX_VARIANT_POINTS:
            break
        product = Product.from_payload(p.payload)
        known = first.get(product.product_id)
        if known is None or product.rel_path < known[0]:
            first[product.product_id] = (product.rel_path, p.id, product)
    members: dict[str, list[Variant]] = {}
    for _, pid, product in first.values():
        group = product.offer.item_group_id
        if group:
            members.setdefault(group, []).append(variant_of(pid, product))
    for variants in members.values():
        variants.sort(key=lambda v: ((v.colour or "").lower(), v.product_id))
    return members


def with_variants(store: VectorStore, hits: list[Hit], flt: PointFilter | None = None) -> list[Hit]:
    """Each hit with the other products of its family (those passing the same filters)."""
    groups = {h.product.offer.item_group_id for h in hits if h.product.offer.item_group_id}
    members = family_members(store, groups, flt)
    return [
        replace(
            h,
            variants=tuple(
                v
                for v in members.get(h.product.offer.item_group_id or "", [])
                if v.product_id != h.product.product_id
            ),
        )
        if h.product.offer.item_group_id
        else h
        for h in hits
    ]
