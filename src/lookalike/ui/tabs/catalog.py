"""The "Catalog" tab: what is indexed, and a form that adds product images to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from lookalike.search import SearchService
from lookalike.ui.handlers import add_to_catalog


@dataclass
class CatalogTab:
    overview: gr.Markdown
    upload: gr.File
    category: gr.Dropdown
    product_id: gr.Textbox
    add_btn: gr.Button
    status: gr.Markdown
    on_add: Callable[..., str]  # wired by build_ui, which refreshes every tab after an add


def build_catalog_tab(service: SearchService, categories: list[str]) -> CatalogTab:
    with gr.Tab("Catalog", id="catalog"):
        overview = gr.Markdown(elem_id="catalog-overview")
        gr.Markdown(
            "### Add product images\nEach file becomes a product named after the file, unless you "
            "give a product id (then all files are photos of that one product)."
        )
        with gr.Row():
            upload = gr.File(label="Product images", file_count="multiple", file_types=["image"], scale=3)
            with gr.Column(scale=2):
                category = gr.Dropdown(
                    categories, label="Category (pick one or type a new one)", allow_custom_value=True
                )
                product_id = gr.Textbox(label="Product id (optional)", max_lines=1)
                add_btn = gr.Button("Add to catalog", variant="primary")
        status = gr.Markdown(elem_id="add-status")

        def on_add(
            files: list[str] | None,
            cat: str,
            pid: str,
            progress: gr.Progress = gr.Progress(),  # noqa: B008 - how Gradio injects it
        ) -> str:
            return add_to_catalog(service, files, cat, pid, progress=progress)

    return CatalogTab(overview, upload, category, product_id, add_btn, status, on_add)
