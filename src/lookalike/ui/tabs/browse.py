"""The "Browse a category" tab: pages in id order, or shuffled pages; a click shows more like it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import gradio as gr

from lookalike.search import SearchService
from lookalike.ui.components import results_gallery, unselected
from lookalike.ui.handlers import browse_page, more_like_this, shuffle_page
from lookalike.ui.tabs.photo import PhotoTab


@dataclass
class BrowseTab:
    category: gr.Dropdown


def build_browse_tab(
    service: SearchService, categories: list[str], page_size: int, photo: PhotoTab, tabs: gr.Tabs
) -> BrowseTab:
    """Clicking a product switches to the photo tab and shows the products like it there."""
    with gr.Tab("Browse a category", id="browse"):
        with gr.Row():
            category = gr.Dropdown(
                categories,
                value=categories[0] if categories else None,
                label="Category",
                elem_id="browse-category",
                scale=3,
            )
            size = gr.Slider(1, 48, value=page_size, step=1, label="Per page", scale=2)
        with gr.Row():
            prev_btn = gr.Button("◀ Previous")
            next_btn = gr.Button("Next ▶")
            shuffle_btn = gr.Button("Shuffle", variant="primary", elem_id="shuffle-button")
        status = gr.Markdown(elem_id="browse-status")
        results = results_gallery("Products — click one for more like it", "browse-results")
        ids = gr.State([])
        page_no = gr.State(0)
        shuffle_state = gr.State({})

        def first_page(cat: str, size: int) -> Any:
            return browse_page(service, cat, 0, size)

        def step_page(cat: str, page: int, size: int, step: int) -> Any:
            return browse_page(service, cat, page + step, size)

        outs = [results, ids, status, page_no]
        category.change(first_page, [category, size], outs)
        size.release(first_page, [category, size], outs)
        prev_btn.click(partial(step_page, step=-1), [category, page_no, size], outs)
        next_btn.click(partial(step_page, step=1), [category, page_no, size], outs)
        shuffle_btn.click(
            partial(shuffle_page, service),
            [category, shuffle_state, size],
            [results, ids, status, shuffle_state],
        )

        def browse_similar(hit_ids: list[str], k: int, cat: str, evt: gr.SelectData) -> Any:
            items, new_ids, text = more_like_this(service, hit_ids, evt.index, k, cat)
            return unselected(items), new_ids, text, gr.Tabs(selected="photo")

        results.select(browse_similar, [ids, photo.top_k, photo.category], [*photo.outputs, tabs])
    return BrowseTab(category)
