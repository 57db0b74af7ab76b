"""Auxiliary vectors stored beside each image embedding, so words can find products even when the
image encoder sees pixels only: the product's title/description (MiniLM), its ImageNet class
probabilities (from encoders that classify) and its colour histogram."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from lookalike import colours
from lookalike.encoders import Encoder, minilm
from lookalike.models import Product

TEXT = "text"
CONCEPTS = "concepts"
COLOUR = "colour"
N_CONCEPTS = 1000


def extras(classifies: bool) -> tuple[tuple[str, int], ...]:
    """The auxiliary named vectors a collection gets, given whether its encoder classifies ImageNet."""
    out = [(TEXT, minilm.DIM), (COLOUR, len(colours.COLOURS))]
    if classifies:
        out.append((CONCEPTS, N_CONCEPTS))
    return tuple(out)


def classifies(encoder: Encoder) -> bool:
    return hasattr(encoder, "embed_and_classify")


def product_text(p: Product) -> str | None:
    parts = [t for t in (p.title, p.description) if t]
    return ". ".join(parts) if parts else None


def embed_batch(
    encoder: Encoder, products: Sequence[Product], images: Sequence[Image.Image]
) -> tuple[np.ndarray, dict[str, list[np.ndarray | None]]]:
    """Image embeddings plus every auxiliary vector for one batch, with one pass of the image model."""
    out: dict[str, list[np.ndarray | None]] = {}
    if classifies(encoder):
        vectors, probs = encoder.embed_and_classify(images)  # type: ignore[attr-defined]
        out[CONCEPTS] = list(probs)
    else:
        vectors = encoder.embed_images(images)
    out[COLOUR] = [colours.histogram(img) for img in images]
    texts = [product_text(p) for p in products]
    with_text = [i for i, t in enumerate(texts) if t]
    column: list[np.ndarray | None] = [None] * len(products)
    if with_text:
        for i, vec in zip(with_text, minilm.embed_texts([texts[i] for i in with_text]), strict=True):
            column[i] = vec
    out[TEXT] = column
    return vectors, out
