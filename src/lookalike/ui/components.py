"""Gradio components the tabs share: the guarded photo input and the results gallery."""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from lookalike.ui.handlers import GalleryItem

log = logging.getLogger(__name__)

NOT_AN_IMAGE = "That file is not an image lookalike can read: use a png, jpg, webp, gif or bmp photo."


def guard_image_input(component: gr.Image) -> gr.Image:
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


def unselected(items: list[GalleryItem]) -> gr.Gallery:
    """New results with no tile highlighted (the clicked tile's highlight would point at another product)."""
    return gr.Gallery(value=items, selected_index=None)


def results_gallery(label: str, elem_id: str) -> gr.Gallery:
    return gr.Gallery(
        label=label, columns=6, height="auto", object_fit="contain", allow_preview=False, elem_id=elem_id
    )


def photo_input(elem_id: str) -> gr.Image:
    return guard_image_input(
        gr.Image(
            label="Photo of a product",
            type="filepath",
            image_mode=None,
            sources=["upload", "webcam", "clipboard"],
            height=280,
            elem_id=elem_id,
        )
    )


def category_dropdown(choices: list[str], value: str, **kwargs: Any) -> gr.Dropdown:
    return gr.Dropdown(choices, value=value, label="Category", **kwargs)


def results_slider(default: int, **kwargs: Any) -> gr.Slider:
    return gr.Slider(1, 50, value=default, step=1, label="Results", **kwargs)
