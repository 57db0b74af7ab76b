"""Auxiliary vectors stored beside each image embedding, so words can find products even when the
image encoder sees pixels only: the product's title/description (MiniLM), its ImageNet class
probabilities (from encoders that classify) and its colour histogram."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
from PIL import Image

from lookalike.encoders import ClassifyingEncoder, Encoder, can_classify, minilm
from lookalike.errors import EncoderError
from lookalike.records import Product
from lookalike.words import colours

log = logging.getLogger(__name__)

TITLE = "text"  # the title/description vector; its stored name predates the rename
CONCEPTS = "concepts"
COLOUR = "colour"
N_CONCEPTS = 1000


def extras(classifies: bool) -> tuple[tuple[str, int], ...]:
    """The auxiliary named vectors a collection gets, given whether its encoder classifies ImageNet."""
    out = [(TITLE, minilm.DIM), (COLOUR, len(colours.COLOURS))]
    if classifies:
        out.append((CONCEPTS, N_CONCEPTS))
    return tuple(out)


def product_text(p: Product) -> str | None:
    parts = [t for t in (p.title, p.description) if t]
    return ". ".join(parts) if parts else None


def embed_batch(
    encoder: Encoder, products: Sequence[Product], images: Sequence[Image.Image]
) -> tuple[np.ndarray, dict[str, list[np.ndarray | None]]]:
    """Image embeddings plus every auxiliary vector for one batch, with one pass of the image model.

    The colour histogram is counted on the image as the model sees it (`encoder.prepare`, when the
    encoder has one: 224 px for EfficientNet), not on the full-size photo: 5× cheaper, same colours
    (cosine ≥ 0.9998 on the demo catalog). Indexing prepares images in its loader threads already."""
    prepare = getattr(encoder, "prepare", None)
    if prepare is not None:
        images = [prepare(img) for img in images]
    out: dict[str, list[np.ndarray | None]] = {}
    if can_classify(encoder):
        vectors, probs = cast(ClassifyingEncoder, encoder).embed_and_classify(images)
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
    out[TITLE] = column
    return vectors, out


@dataclass
class Embedded:
    """What embed_each could embed: `done` indexes the input; `failed` is (input index, reason)."""

    done: list[int]
    vectors: np.ndarray
    extras: dict[str, list[np.ndarray | None]]
    failed: list[tuple[int, str]] = field(default_factory=list)


def embed_each(encoder: Encoder, products: Sequence[Product], images: Sequence[Image.Image]) -> Embedded:
    """embed_batch, except that an image the model cannot take costs that image only, not its batch.

    The batch is embedded in one pass; if that raises, each image is retried alone and the ones that
    still fail are returned with a reason. An EncoderError (no weights, a missing model) is about the
    encoder, not the image, and is raised as before.
    """
    try:
        vectors, extras = embed_batch(encoder, products, images)
        return Embedded(list(range(len(products))), vectors, extras)
    except EncoderError:
        raise
    except Exception as exc:  # noqa: BLE001 - any model failure: find the image(s) it belongs to
        if len(products) == 1:
            return _nothing(encoder, [(0, _cannot_embed(products[0], exc))])
        log.warning("embedding a batch of %d images failed (%s); retrying one by one", len(products), exc)
    done: list[int] = []
    parts: list[np.ndarray] = []
    columns: dict[str, list[np.ndarray | None]] = {}
    failed: list[tuple[int, str]] = []
    for i, (product, image) in enumerate(zip(products, images, strict=True)):
        try:
            vectors, extras = embed_batch(encoder, [product], [image])
        except EncoderError:
            raise
        except Exception as exc:  # noqa: BLE001 - this image, and only it, cannot be embedded
            failed.append((i, _cannot_embed(product, exc)))
            continue
        done.append(i)
        parts.append(vectors)
        for name, column in extras.items():
            columns.setdefault(name, []).extend(column)
    if not done:
        return _nothing(encoder, failed)
    return Embedded(done, np.concatenate(parts), columns, failed)


def concat_embedded(parts: Sequence[Embedded]) -> Embedded:
    """Several batches' embeddings as one (done indexes the concatenated inputs; failures are dropped)."""
    done = list(range(sum(len(p.done) for p in parts)))
    vectors = np.concatenate([p.vectors for p in parts]) if parts else np.zeros((0, 0), np.float32)
    names = {name for p in parts for name in p.extras}
    extras = {
        name: [v for p in parts for v in p.extras.get(name, [None] * len(p.done))] for name in sorted(names)
    }
    return Embedded(done, vectors, extras)


def _nothing(encoder: Encoder, failed: list[tuple[int, str]]) -> Embedded:
    return Embedded([], np.zeros((0, encoder.dim), dtype=np.float32), {}, failed)


def _cannot_embed(product: Product, exc: Exception) -> str:
    why = str(exc).strip() or type(exc).__name__
    log.warning("cannot embed %s: %s", product.rel_path, why, exc_info=log.isEnabledFor(logging.DEBUG))
    return f"the image model could not process this image ({why[:200]})"
