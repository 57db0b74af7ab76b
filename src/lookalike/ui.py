"""Gradio web UI over SearchService: search by photo (and words), browse, and grow the catalog.

The functions named after each tab's actions take the service first and return plain values (gallery
items, product ids, a status Markdown), so they are tested without a browser; `build_ui` only wires
them to components. Every LookalikeError becomes a gr.Warning plus a status line, never a traceback.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import re
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from lookalike import catalog_ops
from lookalike.errors import LookalikeError
from lookalike.records import Hit, Product
from lookalike.search import SearchService

log = logging.getLogger(__name__)

ALL_CATEGORIES = "All categories"
DEFAULT_TOP_K = 12
DEFAULT_PAGE_SIZE = 12
GalleryItem = tuple[Image.Image, str]
Found = tuple[list[GalleryItem], list[str], str]  # gallery, product id per tile, status Markdown
NOT_AN_IMAGE = "That file is not an image lookalike can read: use a png, jpg, webp, gif or bmp photo."


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


def _category(value: str | None) -> str | None:
    return None if not value or value == ALL_CATEGORIES else value


def _caption(hit: Hit) -> str:
    return f"{hit.product.product_id} · {hit.product.category} · {hit.score:.2f}"


def _found(service: SearchService, hits: Sequence[Hit], what: str) -> Found:
    items = [(catalog_ops.thumbnail(service, h.product), _caption(h)) for h in hits]
    status = f"**{len(hits)}** product(s) {what}" if hits else f"No products {what}."
    return items, [h.product.product_id for h in hits], status


def _query_image(service: SearchService, image: Any) -> Image.Image:
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
            _query_image(service, image), top_k=int(top_k), category=_category(category)
        )
    except LookalikeError as exc:
        return [], [], fail(exc)
    return _found(service, hits, "look like your photo")


def more_like_this(
    service: SearchService, ids: Sequence[str], index: int | None, top_k: int, category: str | None
) -> Found:
    """'More like this' from a clicked tile: Qdrant recommend from that product."""
    if index is None or not 0 <= index < len(ids):
        return [], list(ids), "Click a product to see more like it."
    product_id = ids[index]
    try:
        hits = service.similar([product_id], top_k=int(top_k), category=_category(category))
    except LookalikeError as exc:
        return [], [], fail(exc)
    return _found(service, hits, f"like **{md(product_id)}**")


def example_gallery(service: SearchService) -> tuple[list[GalleryItem], list[str]]:
    """One photo per category from the index, for a newcomer to click."""
    products = catalog_ops.examples(service)
    return [(catalog_ops.thumbnail(service, p, 160), p.product_id) for p in products], [
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
def search_words(service: SearchService, text: str, top_k: int, category: str | None) -> Found:
    try:
        hits = service.search_text(text or "", top_k=int(top_k), category=_category(category))
    except LookalikeError as exc:
        return [], [], fail(exc)
    return _found(service, hits, f"match “{md(text.strip())}”")


def search_sound(service: SearchService, audio: str | None, top_k: int, category: str | None) -> Found:
    """Products that sound like a recording (encoders with audio, e.g. ImageBind)."""
    if not audio:
        return [], [], "Record or upload a sound first."
    try:
        hits = service.search_audio(audio, top_k=int(top_k), category=_category(category))
    except LookalikeError as exc:
        return [], [], fail(exc)
    return _found(service, hits, "sound like the recording")


def search_photo_words(
    service: SearchService, image: Any, text: str, weight: float, top_k: int, category: str | None
) -> Found:
    if image is None:
        return [], [], "Add a photo, then words that refine it."
    try:
        hits = service.search_combined(
            _query_image(service, image),
            text or "",
            weight=float(weight),
            top_k=int(top_k),
            category=_category(category),
        )
    except LookalikeError as exc:
        return [], [], fail(exc)
    return _found(service, hits, f"look like your photo and match “{md(text.strip())}”")


# -- browse ----------------------------------------------------------------------------------------------
def _page_items(service: SearchService, page: catalog_ops.BrowsePage) -> tuple[list[GalleryItem], list[str]]:
    items = [
        (catalog_ops.thumbnail(service, p.cover), f"{p.product_id} · {len(p.views)} photo(s)")
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
        result = catalog_ops.browse(service, category, page * size, size)
        total = result.total
        pages = max(1, -(-total // size))
        if page >= pages:  # past the end (the category shrank, or "Next" on the last page)
            page = pages - 1
            result = catalog_ops.browse(service, category, page * size, size)
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
        page = catalog_ops.browse(service, category, offset, size, shuffle=True, seed=seed)
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

    def report_progress(done: int, total: int) -> None:
        if progress is not None:
            progress((done, total), desc="Indexing", unit="images")

    try:
        report = (
            catalog_ops.add_images(
                service,
                uploads,
                category,
                product_id=(product_id or "").strip() or None,
                progress=report_progress,
            )
            if uploads
            else catalog_ops.AddReport()
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


# -- the app ---------------------------------------------------------------------------------------------
def _guard_image_input(component: gr.Image) -> gr.Image:
    """Turn Gradio's own decoding failure of an upload into a clear message instead of a bare 'Error'.

    Patched on the instance: subclassing a Gradio component makes Gradio write a .pyi next to this file.
    """
    original = component.preprocess

    def preprocess(payload: Any) -> Any:
        try:
            return original(payload)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001 - anything Pillow raises on a hostile file
            log.info("refused an upload: %s", exc)
            raise gr.Error(NOT_AN_IMAGE) from None

    component.preprocess = preprocess  # type: ignore[method-assign]
    return component


def _unselected(items: list[GalleryItem]) -> gr.Gallery:
    """New results with no tile highlighted (the clicked tile's highlight would point at another product)."""
    return gr.Gallery(value=items, selected_index=None)


def _results_gallery(label: str, elem_id: str) -> gr.Gallery:
    return gr.Gallery(
        label=label, columns=6, height="auto", object_fit="contain", allow_preview=False, elem_id=elem_id
    )


def _photo_input(elem_id: str) -> gr.Image:
    return _guard_image_input(
        gr.Image(
            label="Photo of a product",
            type="filepath",
            image_mode=None,
            sources=["upload", "webcam", "clipboard"],
            height=280,
            elem_id=elem_id,
        )
    )


def build_ui(service: SearchService, *, page_size: int = DEFAULT_PAGE_SIZE) -> gr.Blocks:
    """The whole web UI over `service`; categories and examples are read from the index on each page load."""
    choices = category_choices(service)
    browse_choices = choices[1:]
    note = "ℹ " + md(catalog_ops.text_note(service))
    with gr.Blocks(
        title="lookalike — find similar products",
        analytics_enabled=False,
        delete_cache=(3600, 3600),  # result thumbnails are written to Gradio's cache: drop them after an hour
    ) as demo:
        gr.Markdown("# lookalike\nFind the products of the shop that look like a photo.")
        with gr.Tabs() as tabs:
            # 1. search by photo
            with gr.Tab("Search by photo", id="photo"):
                with gr.Row():
                    with gr.Column(scale=2):
                        query = _photo_input("query-image")
                        with gr.Row():
                            category = gr.Dropdown(choices, value=ALL_CATEGORIES, label="Category", scale=2)
                            top_k = gr.Slider(1, 50, value=DEFAULT_TOP_K, step=1, label="Results", scale=2)
                        search_btn = gr.Button("Search", variant="primary", elem_id="search-button")
                    with gr.Column(scale=3):
                        gr.Markdown("**No photo at hand? Click an example from the catalog:**")
                        examples = gr.Gallery(
                            label="Examples", columns=4, height=260, allow_preview=False, elem_id="examples"
                        )
                status = gr.Markdown(elem_id="photo-status")
                results = _results_gallery("Results — click one for more like it", "photo-results")
                ids = gr.State([])
                example_ids = gr.State([])

                def on_select(hit_ids: list[str], k: int, cat: str, evt: gr.SelectData) -> Any:
                    items, new_ids, text = more_like_this(service, hit_ids, evt.index, k, cat)
                    return _unselected(items), new_ids, text

                def on_example(ex_ids: list[str], k: int, cat: str, evt: gr.SelectData) -> Any:
                    image, items, new_ids, text = run_example(service, ex_ids, evt.index, k, cat)
                    return image, _unselected(items), new_ids, text

                outs = [results, ids, status]
                search_btn.click(partial(search_photo, service), [query, top_k, category], outs)
                query.input(
                    partial(search_photo, service), [query, top_k, category], outs
                )  # upload, webcam, paste
                results.select(on_select, [ids, top_k, category], outs)
                examples.select(on_example, [example_ids, top_k, category], [query, *outs])

            # 2. words
            with gr.Tab("Search by words", id="words"):
                gr.Markdown(note, elem_id="words-note")
                words = gr.Textbox(label="Describe the product", placeholder="e.g. red canvas shoes")
                with gr.Row():
                    words_cat = gr.Dropdown(choices, value=ALL_CATEGORIES, label="Category")
                    words_k = gr.Slider(1, 50, value=DEFAULT_TOP_K, step=1, label="Results")
                words_btn = gr.Button("Search", variant="primary")
                words_status = gr.Markdown()
                words_results = _results_gallery("Results", "words-results")
                words_ids = gr.State([])
                words_outs = [words_results, words_ids, words_status]
                words_btn.click(partial(search_words, service), [words, words_k, words_cat], words_outs)
                words.submit(partial(search_words, service), [words, words_k, words_cat], words_outs)

            # 3. photo + words
            with gr.Tab("Photo + words", id="combined"):
                gr.Markdown(note, elem_id="combined-note")
                with gr.Row():
                    with gr.Column():
                        combo_image = _photo_input("combo-image")
                    with gr.Column():
                        combo_text = gr.Textbox(label="Refine with words", placeholder="e.g. but in blue")
                        combo_weight = gr.Slider(0, 1, value=0.3, step=0.05, label="Weight of the words")
                        combo_cat = gr.Dropdown(choices, value=ALL_CATEGORIES, label="Category")
                        combo_k = gr.Slider(1, 50, value=DEFAULT_TOP_K, step=1, label="Results")
                        combo_btn = gr.Button("Search", variant="primary")
                combo_status = gr.Markdown()
                combo_results = _results_gallery("Results", "combo-results")
                combo_ids = gr.State([])
                combo_btn.click(
                    partial(search_photo_words, service),
                    [combo_image, combo_text, combo_weight, combo_k, combo_cat],
                    [combo_results, combo_ids, combo_status],
                )

            if "audio" in service.modalities:
                with gr.Tab("Search by sound", id="sound"):
                    sound = gr.Audio(label="A sound (WAV)", type="filepath", sources=["upload", "microphone"])
                    with gr.Row():
                        sound_cat = gr.Dropdown(choices, value=ALL_CATEGORIES, label="Category")
                        sound_k = gr.Slider(1, 50, value=DEFAULT_TOP_K, step=1, label="Results")
                    sound_btn = gr.Button("Search", variant="primary")
                    sound_status = gr.Markdown()
                    sound_results = _results_gallery("Results", "sound-results")
                    sound_btn.click(
                        partial(search_sound, service),
                        [sound, sound_k, sound_cat],
                        [sound_results, gr.State([]), sound_status],
                    )

            # 4. browse
            with gr.Tab("Browse a category", id="browse"):
                with gr.Row():
                    browse_cat = gr.Dropdown(
                        browse_choices,
                        value=browse_choices[0] if browse_choices else None,
                        label="Category",
                        elem_id="browse-category",
                        scale=3,
                    )
                    browse_size = gr.Slider(1, 48, value=page_size, step=1, label="Per page", scale=2)
                with gr.Row():
                    prev_btn = gr.Button("◀ Previous")
                    next_btn = gr.Button("Next ▶")
                    shuffle_btn = gr.Button("Shuffle", variant="primary", elem_id="shuffle-button")
                browse_status = gr.Markdown(elem_id="browse-status")
                browse_results = _results_gallery("Products — click one for more like it", "browse-results")
                browse_ids = gr.State([])
                page_no = gr.State(0)
                shuffle_state = gr.State({})

                def first_page(cat: str, size: int) -> Any:
                    return browse_page(service, cat, 0, size)

                def step_page(cat: str, page: int, size: int, step: int) -> Any:
                    return browse_page(service, cat, page + step, size)

                b_outs = [browse_results, browse_ids, browse_status, page_no]
                browse_cat.change(first_page, [browse_cat, browse_size], b_outs)
                browse_size.release(first_page, [browse_cat, browse_size], b_outs)
                prev_btn.click(partial(step_page, step=-1), [browse_cat, page_no, browse_size], b_outs)
                next_btn.click(partial(step_page, step=1), [browse_cat, page_no, browse_size], b_outs)
                shuffle_btn.click(
                    partial(shuffle_page, service),
                    [browse_cat, shuffle_state, browse_size],
                    [browse_results, browse_ids, browse_status, shuffle_state],
                )

                def browse_similar(hit_ids: list[str], k: int, cat: str, evt: gr.SelectData) -> Any:
                    items, new_ids, text = more_like_this(service, hit_ids, evt.index, k, cat)
                    return _unselected(items), new_ids, text, gr.Tabs(selected="photo")

                browse_results.select(browse_similar, [browse_ids, top_k, category], [*outs, tabs])

            # 5. catalog
            with gr.Tab("Catalog", id="catalog"):
                overview = gr.Markdown(elem_id="catalog-overview")
                gr.Markdown(
                    "### Add product images\nEach file becomes a product named after the file, unless you "
                    "give a product id (then all files are photos of that one product)."
                )
                with gr.Row():
                    upload = gr.File(
                        label="Product images", file_count="multiple", file_types=["image"], scale=3
                    )
                    with gr.Column(scale=2):
                        add_cat = gr.Dropdown(
                            browse_choices,
                            label="Category (pick one or type a new one)",
                            allow_custom_value=True,
                        )
                        add_pid = gr.Textbox(label="Product id (optional)", max_lines=1)
                        add_btn = gr.Button("Add to catalog", variant="primary")
                add_status = gr.Markdown(elem_id="add-status")

                def on_add(
                    files: list[str] | None,
                    cat: str,
                    pid: str,
                    progress: gr.Progress = gr.Progress(),  # noqa: B008 - how Gradio injects it
                ) -> str:
                    return add_to_catalog(service, files, cat, pid, progress=progress)

        dropdowns = [d for d in (category, words_cat, combo_cat) if d is not None]

        def refresh(current_browse: str | None) -> list[Any]:
            cats = category_choices(service)
            browse_value = (
                current_browse if current_browse in cats[1:] else (cats[1] if len(cats) > 1 else None)
            )
            ex_items, ex_ids = example_gallery(service)
            return [
                *(gr.Dropdown(choices=cats) for _ in dropdowns),
                gr.Dropdown(choices=cats[1:], value=browse_value),
                gr.Dropdown(choices=cats[1:]),
                catalog_overview(service),
                ex_items,
                ex_ids,
            ]

        refresh_outs = [*dropdowns, browse_cat, add_cat, overview, examples, example_ids]
        demo.load(refresh, [browse_cat], refresh_outs)
        add_btn.click(on_add, [upload, add_cat, add_pid], add_status).then(
            refresh, [browse_cat], refresh_outs
        )
    return demo


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def launch_ui(
    service: SearchService,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    block: bool = True,
    page_size: int = DEFAULT_PAGE_SIZE,
    **launch_options: Any,
) -> gr.Blocks:
    """Serve the UI on host:port (loopback by default). block=False returns at once; call .close() after.

    The UI lets anyone who reaches it add images to the catalog: off loopback, pass Gradio's
    auth=(user, password) (any Gradio launch option is passed through).
    """
    if not _is_loopback(host) and not launch_options.get("auth"):
        log.warning("the UI is served on %s without auth=: anyone who can reach it can add products", host)
    demo = build_ui(service, page_size=page_size)
    demo.queue(default_concurrency_limit=2)
    options: dict[str, Any] = {
        "server_name": host,
        "server_port": port,
        "prevent_thread_lock": not block,
        "max_file_size": service.settings.max_upload_bytes,
        "ssr_mode": False,
        "quiet": True,
        "share": False,
        "footer_links": ["gradio", "settings"],
    }
    options.update(launch_options)
    demo.launch(**options)
    return demo
