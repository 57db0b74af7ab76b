"""The UI's actions as plain functions: the service first, plain values back (no browser needed to test).

Each returns what its tab shows: gallery items, the product id behind each tile, and a status Markdown.
Every LookalikeError becomes a gr.Warning plus a status line, never a traceback.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from lookalike.catalog_service import AddReport, BrowsePage, CatalogService
from lookalike.errors import LookalikeError
from lookalike.records import Hit, Product
from lookalike.search import SearchService
from lookalike.ui.match import with_match

log = logging.getLogger(__name__)

ALL_CATEGORIES = "All categories"
DEFAULT_TOP_K = 12
DEFAULT_PAGE_SIZE = 12
GalleryItem = tuple[Image.Image, str]
Found = tuple[list[GalleryItem], list[str], str]  # gallery, product id per tile, status Markdown


# -- small helpers ---------------------------------------------------------------------------------------
def md(text: object) -> str:
    """User-controlled text made inert inside Markdown (no HTML, no links, no tables broken)."""
    return re.sub(r"([\\`*_\[\]{}()#+!|<>~])", r"\\\1", html.escape(str(text), quote=False))


def fail(message: object) -> str:
    """Tell the user what went wrong: a toast (gr.Warning) and a status line, never a stack trace."""
    gr.Warning(html.escape(str(message), quote=False))
    return f"⚠ {md(message)}"


def category_choices(service: SearchService) -> list[str]:
    """The categories really in the index, behind an 'All categories' choice."""
    return [ALL_CATEGORIES, *service.categories()]


def chosen_category(value: str | None) -> str | None:
    return None if not value or value == ALL_CATEGORIES else value


def _caption(hit: Hit) -> str:
    """Score first, the product id, price, stock and other colours when the shop gives them, then the
    title: a long title is cut at its end, never the score."""
    title = hit.product.title
    offer = hit.product.offer
    currency = f" {offer.currency}" if offer.currency else ""
    shop = "" if offer.price is None else f" · {offer.price:.2f}{currency}"
    if offer.availability and offer.availability != "in_stock":
        shop += f" · {offer.availability.replace('_', ' ')}"
    if hit.variants:
        shop += f" · +{len(hit.variants)} colour{'s' if len(hit.variants) > 1 else ''}"
    return f"{hit.score:.2f} · {hit.product.product_id}{shop}" + (f" · {title}" if title else "")


def found_items(service: SearchService, hits: Sequence[Hit], what: str) -> Found:
    items = [(CatalogService(service).thumbnail(h.product), _caption(h)) for h in hits]
    status = f"**{len(hits)}** product(s) {what}" if hits else f"No products {what}."
    return items, [h.product.product_id for h in hits], status


def query_image(service: SearchService, image: Any) -> Image.Image:
    """The query photo as an RGB image: Gradio hands over a file path (or a PIL image from tests)."""
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    path = Path(image)
    return service.load_query_image(path, name=path.name)


# -- search by photo -------------------------------------------------------------------------------------
def search_photo(service: SearchService, image: Any, top_k: int, category: str | None) -> Found:
    if image is None:
        return [], [], "Add a photo: upload one, paste one or use the webcam."
    try:
        hits = service.search_image(
            query_image(service, image), top_k=int(top_k), category=chosen_category(category)
        )
    except LookalikeError as exc:
        return [], [], fail(exc)
    items, ids, status = found_items(service, hits, "look like your photo")
    return items, ids, with_match(service, hits, status)


def more_like_this(
    service: SearchService,
    ids: Sequence[str],
    index: int | None,
    top_k: int,
    category: str | None,
    *shop: Any,
) -> Found:
    """'More like this' from a clicked tile: Qdrant recommend from that product (`shop`: the tab's shop
    controls, lookalike.ui.shop.chosen_shape)."""
    from lookalike.ui.shop import chosen_shape

    if index is None or not 0 <= index < len(ids):
        return [], list(ids), "Click a product to see more like it."
    product_id = ids[index]
    try:
        shape = chosen_shape(*shop)
        hits = service.similar(
            [product_id], top_k=int(top_k), category=chosen_category(category), shape=shape
        )
    except LookalikeError as exc:
        return [], [], fail(exc)
    return found_items(service, hits, f"like **{md(product_id)}**")


def example_gallery(service: SearchService) -> tuple[list[GalleryItem], list[str]]:
    """One photo per category from the index, for a newcomer to click."""
    products = CatalogService(service).examples()
    return [(CatalogService(service).thumbnail(p, 160), p.product_id) for p in products], [
        p.product_id for p in products
    ]


def run_example(
    service: SearchService, example_ids: Sequence[str], index: int | None, top_k: int, category: str | None
) -> tuple[Image.Image | None, list[GalleryItem], list[str], str]:
    """Search with an example: show its photo as the query and the products that look like it."""
    if index is None or not 0 <= index < len(example_ids):
        return None, [], [], "Pick an example."
    try:
        product: Product = service.product(example_ids[index])[0]
        image = service.load_query_image(product.path, name=product.rel_path)
    except LookalikeError as exc:
        return None, [], [], fail(exc)
    return (image, *search_photo(service, image, top_k, category))


# -- words ---------------------------------------------------------------------------------------------
def search_words(service: SearchService, text: str, top_k: int, category: str | None, *shop: Any) -> Found:
    """`shop`: the values of the tab's shop controls (lookalike.ui.shop.chosen_shape)."""
    from lookalike.ui.shop import chosen_shape

    try:
        shape = chosen_shape(*shop)
        hits = service.search_text(
            text or "", top_k=int(top_k), category=chosen_category(category), shape=shape
        )
    except LookalikeError as exc:
        return [], [], fail(exc)
    return found_items(service, hits, f"match “{md(text.strip())}”")


def search_sound(service: SearchService, audio: str | None, top_k: int, category: str | None) -> Found:
    """Products that sound like a recording (encoders with audio, e.g. ImageBind)."""
    if not audio:
        return [], [], "Record or upload a sound first."
    try:
        hits = service.search_audio(audio, top_k=int(top_k), category=chosen_category(category))
    except LookalikeError as exc:
        return [], [], fail(exc)
    return found_items(service, hits, "sound like the recording")


def search_photo_words(
    service: SearchService, image: Any, text: str, weight: float, top_k: int, category: str | None
) -> Found:
    if image is None:
        return [], [], "Add a photo, then words that refine it."
    try:
        hits = service.search_combined(
            query_image(service, image),
            text or "",
            weight=float(weight),
            top_k=int(top_k),
            category=chosen_category(category),
        )
    except LookalikeError as exc:
        return [], [], fail(exc)
    return found_items(service, hits, f"look like your photo and match “{md(text.strip())}”")


# -- browse ----------------------------------------------------------------------------------------------
def _page_items(service: SearchService, page: BrowsePage) -> tuple[list[GalleryItem], list[str]]:
    items = [
        (CatalogService(service).thumbnail(p.cover), f"{p.product_id} · {len(p.views)} photo(s)")
        for p in page.products
    ]
    return items, [p.product_id for p in page.products]


def browse_page(
    service: SearchService, category: str | None, page: int, page_size: int
) -> tuple[list[GalleryItem], list[str], str, int]:
    """Page `page` (0-based, clamped) of a category's products in id order."""
    if not category or category == ALL_CATEGORIES:
        return [], [], "Pick a category.", 0
    size = int(page_size)
    page = max(int(page), 0)
    try:
        result = CatalogService(service).browse(category, page * size, size)
        total = result.total
        pages = max(1, -(-total // size))
        if page >= pages:  # past the end (the category shrank, or "Next" on the last page)
            page = pages - 1
            result = CatalogService(service).browse(category, page * size, size)
    except LookalikeError as exc:
        return [], [], fail(exc), 0
    items, ids = _page_items(service, result)
    first = result.offset + 1 if ids else 0
    last = result.offset + len(ids)
    status = f"**{md(category)}**: products {first}–{last} of {total} (page {page + 1} of {pages})"
    return items, ids, status, page


def shuffle_page(
    service: SearchService, category: str | None, state: dict[str, Any] | None, page_size: int
) -> tuple[list[GalleryItem], list[str], str, dict[str, Any]]:
    """The next page of a random order of the category: no product comes back until all were shown."""
    if not category or category == ALL_CATEGORIES:
        return [], [], "Pick a category.", {}
    size = int(page_size)
    state = dict(state or {})
    fresh = state.get("category") != category or state.get("size") != size or state.get("offset") is None
    seed, offset = (None, 0) if fresh else (state["seed"], state["offset"])
    try:
        page = CatalogService(service).browse(category, offset, size, shuffle=True, seed=seed)
    except LookalikeError as exc:
        return [], [], fail(exc), {}
    items, ids = _page_items(service, page)
    shown = page.offset + len(ids)
    status = f"**{md(category)}**, shuffled: {shown} of {page.total} products shown"
    if page.next_offset is None:
        status += " — all of them; the next shuffle starts a new order"
    new_state = {"category": category, "size": size, "seed": page.seed, "offset": page.next_offset}
    return items, ids, status, new_state


# -- catalog ---------------------------------------------------------------------------------------------
def catalog_overview(service: SearchService) -> str:
    """What is indexed: encoder, store location, images per category."""
    try:
        info = service.info()
    except LookalikeError as exc:
        return f"⚠ {md(exc)}"
    text = (
        "words in the same space as photos"
        if service.text_mode == "joint"
        else "photos; words via titles, classes, colours"
    )
    lines = [
        f"**Encoder:** {md(info.encoder)} ({info.dim}-d, {text})  ",
        f"**Store:** {md(info.backend)} at `{info.location.replace('`', '')}`  ",
        f"**Collection:** {md(info.collection)} · **{info.points}** images "
        f"in **{len(info.categories)}** categories",
        "",
        "| Category | Images |",
        "|---|---:|",
        *(f"| {md(name)} | {n} |" for name, n in info.categories.items()),
    ]
    return "\n".join(lines)


def _read_files(
    files: Sequence[str], limit: int
) -> tuple[list[tuple[str, bytes]], list[str], list[tuple[str, str]]]:
    """The uploads as (name, bytes); the names of files over `limit`; (name, why) of unreadable ones."""
    uploads: list[tuple[str, bytes]] = []
    too_big: list[str] = []
    unreadable: list[tuple[str, str]] = []
    for f in files:
        path = Path(f)
        try:
            if path.stat().st_size > limit:
                too_big.append(path.name)
            else:
                uploads.append((path.name, path.read_bytes()))
        except OSError as exc:
            unreadable.append((path.name, f"could not be read ({exc.strerror or exc})"))
    return uploads, too_big, unreadable


def add_to_catalog(
    service: SearchService,
    files: Sequence[str] | None,
    category: str | None,
    product_id: str | None = None,
    progress: Callable[..., Any] | None = None,
) -> str:
    """Save uploaded images under data_dir/uploads/<category slug>/ and index them at once."""
    if not files:
        return fail("Choose one or more product images to add.")
    if not category or not category.strip() or category == ALL_CATEGORIES:
        return fail("Pick a category, or type a new one.")
    limit = service.settings.max_upload_bytes
    uploads, too_big, unreadable = _read_files(files, limit)

    def report_progress(done: int, total: int) -> None:
        if progress is not None:
            progress((done, total), desc="Indexing", unit="images")

    try:
        report = (
            CatalogService(service).add_images(
                uploads,
                category,
                product_id=(product_id or "").strip() or None,
                progress=report_progress,
            )
            if uploads
            else AddReport()
        )
    except LookalikeError as exc:
        return fail(exc)
    failed = (
        [(name, f"larger than the limit of {limit:,} bytes") for name in too_big] + unreadable + report.failed
    )
    lines = []
    if report.added:
        ids = sorted({a.product.product_id for a in report.added})
        lines.append(
            f"✓ Added **{len(report.added)}** image(s) to **{md(category.strip())}**: "
            + ", ".join(md(i) for i in ids)
            + ". They are searchable now."
        )
    if failed:
        gr.Warning(
            html.escape(
                f"{len(failed)} file(s) were not added: " + "; ".join(n for n, _ in failed), quote=False
            )
        )
        lines.append("⚠ Not added:\n" + "\n".join(f"- {md(name)}: {md(why)}" for name, why in failed))
    return "\n\n".join(lines)
