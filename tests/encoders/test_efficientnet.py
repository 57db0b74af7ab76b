"""The default encoder: real pretrained weights, right shape, normalised, deterministic, batched."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from lookalike import encoders
from lookalike.encoders import imagebind
from lookalike.encoders.efficientnet import pad_square
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


def test_class_head_is_the_same_for_a_query_and_a_large_batch(encoder, demo_catalog) -> None:
    """A few rows take einsum (no BLAS threads), a large batch BLAS: the same probabilities either way."""
    from lookalike.encoders.efficientnet import SMALL_BATCH

    images = [load_image(p) for p in sorted(demo_catalog.rglob("*.png"))[: SMALL_BATCH + 2]]
    _, large = encoder.embed_and_classify(images)
    _, small = encoder.embed_and_classify(images[:2])
    np.testing.assert_allclose(small, large[:2], atol=1e-5)
    np.testing.assert_allclose(small.sum(axis=1), 1.0, atol=1e-5)


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


ODD_SHAPES = [(1000, 1), (1, 1000), (1, 1), (2, 1), (1, 2), (3, 3), (2, 50_000), (50_000, 2), (7, 300)]


@pytest.mark.parametrize("size", ODD_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_any_shape_that_decodes_is_embedded(encoder, size: tuple[int, int]) -> None:
    """Strips in both directions, 1×1 and tiny images: padded to a square, never a 0-px side."""
    img = Image.new("RGB", size, (200, 30, 40))
    vec = encoder.embed_images([img, Image.new("RGB", (64, 64), (40, 90, 200))])
    assert vec.shape == (2, encoder.dim) and np.isfinite(vec).all()
    np.testing.assert_allclose(np.linalg.norm(vec, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("mode", ["1", "L", "P", "LA", "La", "RGBA", "RGBa", "CMYK", "I;16", "I", "F"])
def test_any_mode_is_embedded(encoder, mode: str) -> None:
    vec = encoder.embed_images([Image.new(mode, (5, 300)), Image.new(mode, (300, 1))])
    assert vec.shape == (2, encoder.dim) and np.isfinite(vec).all()


def test_a_strip_is_a_thin_line_on_white_in_the_middle() -> None:
    square = np.asarray(pad_square(Image.new("RGB", (1000, 1), (200, 30, 40)), 224))
    assert square.shape == (224, 224, 3)
    assert (square[112] == (200, 30, 40)).all()  # one row of the strip, centred
    assert (np.delete(square, 112, axis=0) == 255).all()


@pytest.mark.parametrize("size", [(640, 300), (300, 640), (224, 224), (1000, 30), (33, 47), (1280, 853)])
def test_padding_is_unchanged_for_ordinary_shapes(size: tuple[int, int]) -> None:
    """Same pixels as ImageOps.pad gave before, so existing indexes keep matching new queries."""
    rng = np.random.default_rng(sum(size))
    img = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    want = ImageOps.pad(img, (224, 224), Image.BICUBIC, color=(255, 255, 255))
    np.testing.assert_array_equal(np.asarray(pad_square(img, 224)), np.asarray(want))


@pytest.mark.parametrize("size", ODD_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_imagebind_preprocessing_takes_any_shape_in_bounded_memory(size: tuple[int, int]) -> None:
    """ImageBind resizes the shorter side to 224 first: a 2×50,000 strip would become 224×5.6 million
    pixels (3.7 GB) on the way; only the cropped region is resampled now."""
    batch = imagebind.preprocess_images([Image.new("RGB", size, (255, 128, 0))])
    want = (np.array([255, 128, 0]) / 255.0 - np.array(imagebind.CLIP_MEAN)) / np.array(imagebind.CLIP_STD)
    assert batch.shape == (1, 3, 224, 224)
    np.testing.assert_allclose(batch[0].mean(axis=(1, 2)), want, atol=1e-5)


def test_imagebind_cropped_resampling_matches_the_full_resize(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    strips = [Image.fromarray(rng.integers(0, 255, s, dtype=np.uint8)) for s in [(40, 900, 3), (700, 35, 3)]]
    full = imagebind.preprocess_images(strips)
    monkeypatch.setattr(imagebind, "_MAX_RESIZED_SIDE", 224)  # every image takes the cropped path
    cropped = imagebind.preprocess_images(strips)
    one_level = 1 / 255 / min(imagebind.CLIP_STD) + 1e-4  # rounding may differ by one 8-bit level
    assert np.abs(full - cropped).max() <= one_level


def test_abilities_are_declared_in_types(encoder: encoders.Encoder) -> None:
    """Modalities are a Modality enum (equal to their stored strings); classifying is one protocol."""
    assert encoder.modalities == {encoders.Modality.IMAGE} == {"image"}
    assert isinstance(encoder, encoders.ClassifyingEncoder) and encoders.can_classify(encoder)
    assert not isinstance(encoder, encoders.AudioEncoder)
    specs = {s.name: s for s in encoders.available()}
    assert specs["efficientnet-lite0"].classifies and not specs["imagebind"].classifies
    assert encoders.Modality.AUDIO in specs["imagebind"].modalities
