"""A word query → one query vector per word route that has something to say about it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from lookalike.encoders import minilm
from lookalike.words import colours, concepts
from lookalike.words import vectors as word_vectors


def word_queries(text: str, stored: Mapping[str, int], cache_dir: Path) -> list[tuple[np.ndarray, str]]:
    """(query vector, named vector) for every route the collection stores (`stored`: name → dim):
    the title/description vector always, colours for colour words, ImageNet concepts for the rest."""
    colour_words, rest = colours.parse(text)
    queries: list[tuple[np.ndarray, str]] = []
    text_vec = minilm.embed_texts([text])[0]
    if word_vectors.TITLE in stored:
        queries.append((text_vec, word_vectors.TITLE))
    if colour_words and word_vectors.COLOUR in stored:
        queries.append((colours.query_vector(colour_words), word_vectors.COLOUR))
    if rest and word_vectors.CONCEPTS in stored:
        weights = concepts.query_vector(
            rest, cache_dir=cache_dir, embedded=text_vec if rest == text else None
        )
        if weights is not None:
            queries.append((weights, word_vectors.CONCEPTS))
    return queries
