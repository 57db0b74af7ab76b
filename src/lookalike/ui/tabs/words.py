"""The tabs that search with words: words alone, a photo refined by words, and (audio encoders) a sound."""

from __future__ import annotations

from functools import partial

import gradio as gr

from lookalike.search import SearchService
from lookalike.ui.components import category_dropdown, photo_input, results_gallery, results_slider
from lookalike.ui.handlers import (
    ALL_CATEGORIES,
    DEFAULT_TOP_K,
    search_photo_words,
    search_sound,
    search_words,
)
from lookalike.ui.shop import shop_controls


def build_words_tab(service: SearchService, choices: list[str], note: str) -> gr.Dropdown:
    """The "Search by words" tab; returns its category dropdown (refreshed on page load)."""
    with gr.Tab("Search by words", id="words"):
        gr.Markdown(note, elem_id="words-note")
        words = gr.Textbox(label="Describe the product", placeholder="e.g. red canvas shoes")
        with gr.Row():
            category = category_dropdown(choices, ALL_CATEGORIES)
            top_k = results_slider(DEFAULT_TOP_K)
        shop = shop_controls("words")
        button = gr.Button("Search", variant="primary")
        status = gr.Markdown()
        results = results_gallery("Results", "words-results")
        outs = [results, gr.State([]), status]
        inputs = [words, top_k, category, *shop.inputs]
        button.click(partial(search_words, service), inputs, outs)
        words.submit(partial(search_words, service), inputs, outs)
    return category


def build_combined_tab(service: SearchService, choices: list[str], note: str) -> gr.Dropdown:
    """The "Photo + words" tab; returns its category dropdown (refreshed on page load)."""
    with gr.Tab("Photo + words", id="combined"):
        gr.Markdown(note, elem_id="combined-note")
        with gr.Row():
            with gr.Column():
                image = photo_input("combo-image")
            with gr.Column():
                text = gr.Textbox(label="Refine with words", placeholder="e.g. but in blue")
                weight = gr.Slider(0, 1, value=0.3, step=0.05, label="Weight of the words")
                category = category_dropdown(choices, ALL_CATEGORIES)
                top_k = results_slider(DEFAULT_TOP_K)
                button = gr.Button("Search", variant="primary")
        status = gr.Markdown()
        results = results_gallery("Results", "combo-results")
        ids = gr.State([])
        button.click(
            partial(search_photo_words, service),
            [image, text, weight, top_k, category],
            [results, ids, status],
        )
    return category


def build_sound_tab(service: SearchService, choices: list[str]) -> None:
    """The "Search by sound" tab, for encoders that embed audio (e.g. ImageBind)."""
    with gr.Tab("Search by sound", id="sound"):
        sound = gr.Audio(label="A sound (WAV)", type="filepath", sources=["upload", "microphone"])
        with gr.Row():
            category = category_dropdown(choices, ALL_CATEGORIES)
            top_k = results_slider(DEFAULT_TOP_K)
        button = gr.Button("Search", variant="primary")
        status = gr.Markdown()
        results = results_gallery("Results", "sound-results")
        outs = [results, gr.State([]), status]
        button.click(partial(search_sound, service), [sound, top_k, category], outs)
