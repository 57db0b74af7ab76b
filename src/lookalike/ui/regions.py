"""The photo tab's region tools as plain functions: where to look (found automatically, the whole photo,
or a box the shopper draws with two clicks), what was searched drawn on the photo, and every product
found in one photo."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PIL import Image

from lookalike.errors import LookalikeError
from lookalike.records import Hit
from lookalike.regions import Box
from lookalike.search import AUTO, WHOLE, SearchService
from lookalike.ui.handlers import Found, chosen_category, fail, found_items, md, query_image
from lookalike.ui.match import with_match

WHERE_AUTO = "Find the product in the photo"
WHERE_WHOLE = "The whole photo"
WHERE_BOX = "Only my box"
WHERE_CHOICES = [WHERE_AUTO, WHERE_WHOLE, WHERE_BOX]
BOX_HINT = "Click two opposite corners of the product on the photo (or type X,Y,W,H)."
Annotation = tuple[Image.Image, list[tuple[tuple[int, int, int, int], str]]] | None


def box_from_corners(a: Sequence[float], b: Sequence[float]) -> str:
    """Two clicked corners (any order) as the box text 'X,Y,W,H' in photo pixels."""
    x0, x1 = sorted((int(a[0]), int(b[0])))
    y0, y1 = sorted((int(a[1]), int(b[1])))
    return str(Box(x0, y0, max(1, x1 - x0), max(1, y1 - y0)))


def click_corner(corner: list[int] | None, index: Sequence[float]) -> tuple[Any, list[int] | None, Any, str]:
    """(box text, pending corner, where, status) after a click at `index` on the photo: the first click
    remembers a corner, the second makes the box and switches to searching only that box."""
    if corner is None:
        return None, [int(index[0]), int(index[1])], None, "Now click the opposite corner of the product."
    return box_from_corners(corner, index), None, WHERE_BOX, ""


def _region(where: str, box: str | None) -> str:
    if where == WHERE_BOX:
        if not (box or "").strip():
            raise LookalikeError(BOX_HINT)
        return box or ""
    return WHOLE if where == WHERE_WHOLE else AUTO


def _drawn(image: Image.Image, boxes: Sequence[tuple[Box | None, str]]) -> Annotation:
    return image, [(b.corners(), label) for b, label in boxes if b is not None]


def search_photo_at(
    service: SearchService,
    image: Any,
    top_k: int,
    category: str | None,
    where: str,
    box: str | None,
    *shop: Any,
) -> tuple[list, list[str], str, Annotation]:
    """Search by photo where the shopper asked; also the photo with the searched region drawn on it.
    `shop`: the values of the tab's shop controls (lookalike.ui.shop.chosen_shape)."""
    from lookalike.ui.shop import chosen_shape

    if image is None:
        return [], [], "Add a photo: upload one, paste one or use the webcam.", None
    try:
        shape = chosen_shape(*shop)
        img = query_image(service, image)
        hits = service.search_image(
            img, top_k=int(top_k), category=chosen_category(category), region=_region(where, box), shape=shape
        )
    except LookalikeError as exc:
        return [], [], fail(exc), None
    items, ids, status = found_items(service, hits, "look like your photo")
    status = with_match(service, hits, status)
    return items, ids, status + _where_note(hits), _drawn(img, [(hits[0].region, "searched")] if hits else [])


def _where_note(hits: Sequence[Hit]) -> str:
    if not hits or hits[0].region is None:
        return ""
    return f" — best match found at x,y,w,h = {md(hits[0].region)} (drawn on your photo)"


def products_in_photo(
    service: SearchService, image: Any, top_k: int, category: str | None
) -> tuple[list, list[str], str, Annotation]:
    """Every product region found in the photo, each with its best matches ("products in this photo")."""
    if image is None:
        return [], [], "Add a photo that shows one or more products.", None
    try:
        img = query_image(service, image)
        groups = service.search_regions(
            img, max_products=3, top_k=min(int(top_k), 4), category=chosen_category(category)
        )
    except LookalikeError as exc:
        return [], [], fail(exc), None
    items: list = []
    ids: list[str] = []
    for n, g in enumerate(groups, 1):
        found: Found = found_items(service, g.hits, "")
        items += [(thumb, f"product {n} · {caption}") for thumb, caption in found[0]]
        ids += found[1]
    status = (
        f"**{len(groups)}** product(s) found in your photo" if groups else "No products found in this photo."
    )
    return items, ids, status, _drawn(img, [(g.region, f"product {n}") for n, g in enumerate(groups, 1)])
