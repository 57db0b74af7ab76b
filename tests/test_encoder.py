"""The default encoder: real pretrained weights, right shape, normalised, deterministic, batched."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lookalike import encoders
from lookalike.errors import EncoderError
from lookalike.images import load_image


def test_output_shape_dtype_and_normalisation(encoder, demo_catalog) -> None:
    images = [load_image(p) for p in sorted(demo_catalog.rglob("*.png"))[:5]]
    vecs = encoder.embed_images(images)
    assert vecs.shape == (5, encoder.dim) == (5, 1280)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_batched_equals_one_by_one_and_is_deterministic(encoder, demo_catalog) -> None:
    images = [load_image(p) for p in sorted(demo_catalog.rglob("*.png"))[:3]]
    batched = encoder.embed_images(images)
    single = np.stack([encoder.embed_images([img])[0] for img in images])
    np.testing.assert_allclose(batched, single, atol=1e-4)
    np.testing.assert_allclose(encoder.embed_images(images), batched, atol=1e-6)


def test_weights_are_pretrained_not_random(encoder) -> None:
    """Random weights map different images to near-identical directions; trained ones separate them."""

    red = Image.new("RGB", (224, 224), (220, 30, 30))
    stripes = Image.fromarray(((np.indices((224, 224)).sum(0) // 16 % 2) * 255).astype(np.uint8)).convert(
        "RGB"
    )
    a, b = encoder.embed_images([red, stripes])
    assert float(a @ b) < 0.9


def test_empty_batch_and_no_text(encoder) -> None:
    assert encoder.embed_images([]).shape == (0, encoder.dim)
    with pytest.raises(EncoderError, match="does not embed text"):
        encoder.embed_texts(["red hoodie"])


def test_registry_knows_the_default_and_refuses_unknown_names() -> None:
    spec = encoders.spec("efficientnet-lite0")
    assert (spec.dim, spec.weights_present()) == (1280, True)
    with pytest.raises(EncoderError, match="unknown encoder 'nope'"):
        encoders.get_encoder("nope")
