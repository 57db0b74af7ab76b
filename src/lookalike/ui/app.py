"""build_ui composes the tabs into one gr.Blocks app; launch_ui serves it."""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from lookalike.net import is_loopback
from lookalike.search import SearchService
from lookalike.ui.handlers import (
    DEFAULT_PAGE_SIZE,
    catalog_overview,
    category_choices,
    example_gallery,
    md,
)
from lookalike.ui.tabs.browse import BrowseTab, build_browse_tab
from lookalike.ui.tabs.catalog import CatalogTab, build_catalog_tab
from lookalike.ui.tabs.photo import PhotoTab, build_photo_tab
from lookalike.ui.tabs.words import build_combined_tab, build_sound_tab, build_words_tab

log = logging.getLogger(__name__)


def build_ui(service: SearchService, *, page_size: int = DEFAULT_PAGE_SIZE) -> gr.Blocks:
    """The whole web UI over `service`; categories and examples are read from the index on each page load."""
    choices = category_choices(service)
    note = "ℹ " + md(service.text_note())
    with gr.Blocks(
        title="lookalike — find similar products",
        analytics_enabled=False,
        delete_cache=(3600, 3600),  # result thumbnails are written to Gradio's cache: drop them after an hour
    ) as demo:
        gr.Markdown("# lookalike\nFind the products of the shop that look like a photo.")
        with gr.Tabs() as tabs:
            photo = build_photo_tab(service, choices)
            words_category = build_words_tab(service, choices, note)
            combined_category = build_combined_tab(service, choices, note)
            if "audio" in service.modalities:
                build_sound_tab(service, choices)
            browse = build_browse_tab(service, choices[1:], page_size, photo, tabs)
            catalog = build_catalog_tab(service, choices[1:])
        _refresh_on_load_and_add(
            demo, service, [photo.category, words_category, combined_category], photo, browse, catalog
        )
    return demo


def _refresh_on_load_and_add(
    demo: gr.Blocks,
    service: SearchService,
    dropdowns: list[gr.Dropdown],
    photo: PhotoTab,
    browse: BrowseTab,
    catalog: CatalogTab,
) -> None:
    """Categories, examples and the overview come from the index: re-read on page load and after an add."""

    def refresh(current_browse: str | None) -> list[Any]:
        cats = category_choices(service)
        browse_value = current_browse if current_browse in cats[1:] else (cats[1] if len(cats) > 1 else None)
        ex_items, ex_ids = example_gallery(service)
        return [
            *(gr.Dropdown(choices=cats) for _ in dropdowns),
            gr.Dropdown(choices=cats[1:], value=browse_value),
            gr.Dropdown(choices=cats[1:]),
            catalog_overview(service),
            ex_items,
            ex_ids,
        ]

    outs = [*dropdowns, browse.category, catalog.category, catalog.overview]
    outs += [photo.examples, photo.example_ids]
    demo.load(refresh, [browse.category], outs)
    catalog.add_btn.click(
        catalog.on_add, [catalog.upload, catalog.category, catalog.product_id], catalog.status
    ).then(refresh, [browse.category], outs)


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
    if not is_loopback(host) and not launch_options.get("auth"):
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
