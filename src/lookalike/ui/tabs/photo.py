"""The "Search by photo" tab: upload, webcam or paste a photo, or click an example; click a hit for more."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import gradio as gr

from lookalike.search import SearchService
from lookalike.ui.components import (
    category_dropdown,
    photo_input,
    results_gallery,
    results_slider,
    unselected,
)
from lookalike.ui.handlers import ALL_CATEGORIES, DEFAULT_TOP_K, more_like_this, run_example
from lookalike.ui.regions import (
    BOX_HINT,
    WHERE_AUTO,
    WHERE_CHOICES,
    click_corner,
    products_in_photo,
    search_photo_at,
)
from lookalike.ui.shop import other_colours, shop_controls


@dataclass
class PhotoTab:
    query: gr.Image
    category: gr.Dropdown
    top_k: gr.Slider
    examples: gr.Gallery
    example_ids: gr.State
    results: gr.Gallery
    ids: gr.State
    status: gr.Markdown

    @property
    def outputs(self) -> list[Any]:
        """Where a search's (gallery, ids, status) go; other tabs show their "more like this" here."""
        return [self.results, self.ids, self.status]


def build_photo_tab(service: SearchService, choices: list[str]) -> PhotoTab:
    with gr.Tab("Search by photo", id="photo"):
        with gr.Row():
            with gr.Column(scale=2):
                query = photo_input("query-image")
                where = gr.Radio(WHERE_CHOICES, value=WHERE_AUTO, label="Where to look", elem_id="where")
                box = gr.Textbox(label="My box: X,Y,W,H", placeholder=BOX_HINT, elem_id="query-box")
                with gr.Row():
                    category = category_dropdown(choices, ALL_CATEGORIES, scale=2)
                    top_k = results_slider(DEFAULT_TOP_K, scale=2)
                shop = shop_controls("photo")
                with gr.Row():
                    search_btn = gr.Button("Search", variant="primary", elem_id="search-button")
                    every_btn = gr.Button("Every product in this photo", elem_id="every-button")
            with gr.Column(scale=3):
                gr.Markdown("**No photo at hand? Click an example from the catalog:**")
                examples = gr.Gallery(
                    label="Examples", columns=4, height=260, allow_preview=False, elem_id="examples"
                )
                searched = gr.AnnotatedImage(label="What was searched", height=300, elem_id="searched")
        status = gr.Markdown(elem_id="photo-status")
        results = results_gallery("Results — click one for more like it", "photo-results")
        with gr.Accordion("Other colours of the product you clicked", open=False) as colours_box:
            colours_status = gr.Markdown(elem_id="colours-status")
            colours = gr.Gallery(
                label="Other colours",
                columns=6,
                height="auto",
                object_fit="contain",
                allow_preview=False,
                elem_id="other-colours",
            )
        ids = gr.State([])
        corner = gr.State(None)
        example_ids = gr.State([])
        tab = PhotoTab(query, category, top_k, examples, example_ids, results, ids, status)

        def on_select(
            hit_ids: list[str],
            k: int,
            cat: str,
            in_stock: bool,
            min_price: str,
            max_price: str,
            brand: str,
            families: bool,
            diverse: bool,
            evt: gr.SelectData,
        ) -> Any:
            family, family_text, opened = other_colours(service, hit_ids, evt.index)
            shop_values = (in_stock, min_price, max_price, brand, families, diverse)
            items, new_ids, text = more_like_this(service, hit_ids, evt.index, k, cat, *shop_values)
            return unselected(items), new_ids, text, family, family_text, opened

        def on_example(ex_ids: list[str], k: int, cat: str, evt: gr.SelectData) -> Any:
            image, items, new_ids, text = run_example(service, ex_ids, evt.index, k, cat)
            return image, unselected(items), new_ids, text

        def on_corner(pending: list[int] | None, evt: gr.SelectData) -> Any:
            text, pending, new_where, note = click_corner(pending, evt.index)
            return (
                gr.update() if text is None else text,
                pending,
                gr.update() if new_where is None else new_where,
                note,
            )

        outs = tab.outputs
        search = partial(search_photo_at, service)
        inputs = [query, top_k, category, where, box, *shop.inputs]
        search_btn.click(search, inputs, [*outs, searched])
        query.input(search, inputs, [*outs, searched])  # upload, webcam, paste
        query.select(on_corner, [corner], [box, corner, where, status])  # two clicks draw a box
        box.change(search, inputs, [*outs, searched])  # a new box re-runs the search
        where.input(search, inputs, [*outs, searched])
        every_btn.click(partial(products_in_photo, service), [query, top_k, category], [*outs, searched])
        results.select(
            on_select, [ids, top_k, category, *shop.inputs], [*outs, colours, colours_status, colours_box]
        )
        examples.select(on_example, [example_ids, top_k, category], [query, *outs])
    return tab
