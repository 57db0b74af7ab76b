"""Gradio web UI over SearchService: search by photo (and words), browse, and grow the catalog.

A thin front end. handlers.py holds each tab's actions as plain functions (the service first, plain
values back: gallery items, product ids, a status Markdown), tested without a browser; tabs/ builds
one tab per function and wires its events to those handlers; app.py composes the tabs (build_ui) and
serves them (launch_ui). Every LookalikeError becomes a gr.Warning plus a status line, never a traceback.
"""

from lookalike.ui.app import build_ui, launch_ui
from lookalike.ui.components import NOT_AN_IMAGE
from lookalike.ui.handlers import (
    ALL_CATEGORIES,
    DEFAULT_PAGE_SIZE,
    DEFAULT_TOP_K,
    Found,
    GalleryItem,
    add_to_catalog,
    browse_page,
    catalog_overview,
    category_choices,
    example_gallery,
    fail,
    md,
    more_like_this,
    run_example,
    search_photo,
    search_photo_words,
    search_sound,
    search_words,
    shuffle_page,
)

__all__ = [
    "ALL_CATEGORIES",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_TOP_K",
    "NOT_AN_IMAGE",
    "Found",
    "GalleryItem",
    "add_to_catalog",
    "browse_page",
    "build_ui",
    "catalog_overview",
    "category_choices",
    "example_gallery",
    "fail",
    "launch_ui",
    "md",
    "more_like_this",
    "run_example",
    "search_photo",
    "search_photo_words",
    "search_sound",
    "search_words",
    "shuffle_page",
]
