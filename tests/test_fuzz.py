"""Fuzzing: random bytes and mutated real photos into the image loader and POST /search/image.

Whatever comes in, the loader returns an RGB image or raises ImageError, and the endpoint answers
200 or a 4xx; no other exception, no 500, no hang, bounded memory. Hypothesis explores with a
bounded number of examples (no deadline: the machine may be busy); a watchdog ends the run if
anything hangs, and the peak RSS may not grow by more than MAX_RSS_GROWTH_MB.
"""

from __future__ import annotations

import faulthandler
import io
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from lookalike.api import create_app
from lookalike.encoders import Encoder, imagebind
from lookalike.errors import ImageError
from lookalike.images import load_image
from lookalike.search import SearchService
from lookalike.words import colours

MAX_PIXELS = 4_000_000  # decoded size bound for the fuzzed inputs (RGB: 12 MB each)
MAX_RSS_GROWTH_MB = 500
WATCHDOG_SECONDS = 600  # a hang ends the whole run with every thread's traceback, not a stuck CI job
SLOW_EXAMPLE_SECONDS = 30  # far beyond any honest decode of MAX_PIXELS: only a near-hang trips it

# Format signatures: random bodies behind a real magic number reach deeper into each decoder.
MAGIC = [
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"GIF89a",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"%!PS-Adobe-3.0 EPSF-3.0\n",  # a format Pillow knows but lookalike must refuse
    b"\x00\x00\x01\x00",  # ICO
    b"<svg xmlns='http://www.w3.org/2000/svg'>",
]


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def seeds(demo_catalog: Path) -> list[bytes]:
    """Real product photos in every format the loader accepts, small so mutants decode fast."""
    photos = [next((demo_catalog / c).glob("*.png")) for c in ("Juices", "Footwear", "Hoodies", "Homewares")]
    out = [p.read_bytes() for p in photos[:2]]  # two untouched originals
    small = [load_image(p).resize((64, 64)) for p in photos]
    exif = Image.Exif()
    exif[0x0112] = 6
    out += [
        _encode(small[0], "JPEG", quality=80, exif=exif),
        _encode(small[1], "JPEG", progressive=True),
        _encode(small[2].convert("CMYK"), "JPEG"),
        _encode(small[3], "PNG"),
        _encode(small[0].convert("P"), "PNG", transparency=0),
        _encode(Image.fromarray(np.asarray(small[1].convert("L"), np.uint16) * 257), "PNG"),
        _encode(small[2], "GIF", save_all=True, append_images=[small[3]], duration=50),
        _encode(small[3], "WEBP", quality=70),
        _encode(small[0], "BMP"),
        _encode(small[1], "TIFF", compression="tiff_lzw"),
    ]
    return out


@pytest.fixture(scope="module", autouse=True)
def watchdog() -> Iterator[None]:
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True, file=sys.stderr)
    yield
    faulthandler.cancel_dump_traceback_later()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _mutant(data: st.DataObject, seeds: list[bytes]) -> bytes:
    """A real photo damaged the way files get damaged: bit flips, cuts, spliced headers, random bytes."""
    raw = bytearray(data.draw(st.sampled_from(seeds), label="seed"))
    how = data.draw(
        st.sampled_from(["flip", "truncate", "splice", "overwrite", "random", "magic"]), label="how"
    )
    if how == "flip":
        span = data.draw(st.sampled_from([min(len(raw), 512), len(raw)]))  # headers are where it hurts
        for pos in data.draw(st.lists(st.integers(0, span - 1), min_size=1, max_size=24)):
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    elif how == "splice":
        other = data.draw(st.sampled_from(seeds))
        cut, at = data.draw(st.integers(0, len(raw))), data.draw(st.integers(0, len(other)))
        raw = raw[:cut] + other[at:]
    elif how == "overwrite":
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos : pos + 8] = data.draw(st.sampled_from([b"\x00" * 8, b"\xff" * 8, b"\x7f\xff\xff\xff" * 2]))
    elif how == "random":
        return data.draw(st.binary(max_size=4096))
    else:
        return data.draw(st.sampled_from(MAGIC)) + data.draw(st.binary(max_size=2048))
    return bytes(raw)


@pytest.fixture(scope="module")
def fuzz_client(demo_service: SearchService) -> Iterator[TestClient]:
    s = demo_service.settings.model_copy(update={"max_image_pixels": MAX_PIXELS, "request_timeout": 120.0})
    svc = SearchService(s, store=demo_service.store, encoder=demo_service.encoder)
    with TestClient(create_app(svc, api_key=""), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def rss_before(fuzz_client: TestClient, seeds: list[bytes]) -> float:
    """Peak RSS once index, encoder and app are up and a query has run: the fuzzing's baseline."""
    assert fuzz_client.post("/search/image", files={"file": ("s.png", seeds[0])}).status_code == 200
    return _peak_rss_mb()


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_loader_returns_rgb_or_image_error(
    seeds: list[bytes], rss_before: float, data: st.DataObject
) -> None:
    blob = _mutant(data, seeds)
    started = time.perf_counter()
    try:
        img = load_image(blob, name="fuzz.png", max_pixels=MAX_PIXELS)
    except ImageError as exc:
        assert str(exc).startswith("fuzz.png: ")
    else:
        assert img.mode == "RGB" and img.width * img.height <= MAX_PIXELS
    assert time.perf_counter() - started < SLOW_EXAMPLE_SECONDS


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_search_image_endpoint_answers_200_or_4xx(
    fuzz_client: TestClient, seeds: list[bytes], rss_before: float, data: st.DataObject
) -> None:
    blob = _mutant(data, seeds)
    name = data.draw(st.text(max_size=120), label="file name") or "x"
    kind = data.draw(st.sampled_from(["image/png", "image/jpeg", "text/html", "application/octet-stream"]))
    r = fuzz_client.post("/search/image", files={"file": (name, blob, kind)}, data={"top_k": "3"})
    assert r.status_code in (200, 400, 413, 422), r.text
    body = r.json()
    if r.status_code == 200:
        assert len(body["hits"]) == 3
    else:
        assert body["detail"]


# Shapes and modes a real file can have: strips both ways, 1×1, tiny, within the pixel limit.
_SIDES = st.one_of(st.integers(1, 4), st.integers(5, 300), st.sampled_from([1000, 16_383, 50_000]))
_MODES_BY_FORMAT = {
    "PNG": ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"],
    "TIFF": ["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "CMYK"],
    "JPEG": ["L", "RGB", "CMYK"],
    "GIF": ["L", "P", "RGB"],
    "BMP": ["1", "L", "P", "RGB"],
    "WEBP": ["RGB", "RGBA"],
}


@st.composite
def odd_images(draw: st.DrawFn) -> tuple[bytes, tuple[int, int]]:
    """A valid file of an odd shape and mode, with random pixels: (bytes, (width, height))."""
    w, h = draw(_SIDES, label="width"), draw(_SIDES, label="height")
    assume(w * h <= MAX_PIXELS)
    fmt = draw(st.sampled_from(sorted(_MODES_BY_FORMAT)), label="format")
    assume(fmt != "WEBP" or max(w, h) <= 16_383)  # the WebP format's own limit
    mode = draw(st.sampled_from(_MODES_BY_FORMAT[fmt]), label="mode")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    if mode == "I;16":
        img = Image.fromarray(rng.integers(0, 65535, (h, w), dtype=np.uint16))
    else:
        img = Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).convert(mode)
    return _encode(img, fmt), (w, h)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd=odd_images())
def test_any_valid_shape_and_mode_is_loaded_and_embedded(
    encoder: Encoder, rss_before: float, odd: tuple[bytes, tuple[int, int]]
) -> None:
    """Everything per-image between the file and the index copes: loader, both encoders' preprocessing,
    the colour histogram, and the real model's forward pass."""
    blob, size = odd
    img = load_image(blob, name="odd.png", max_pixels=MAX_PIXELS)
    assert img.mode == "RGB" and img.size == size
    vec = encoder.embed_images([img])
    assert vec.shape == (1, encoder.dim) and np.isfinite(vec).all()
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4
    assert np.isfinite(imagebind.preprocess_images([img])).all()
    assert np.isfinite(colours.histogram(img)).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd=odd_images())
def test_search_image_endpoint_answers_any_valid_shape(
    fuzz_client: TestClient, rss_before: float, odd: tuple[bytes, tuple[int, int]]
) -> None:
    r = fuzz_client.post("/search/image", files={"file": ("odd", odd[0])}, data={"top_k": "3"})
    assert r.status_code == 200, r.text
    assert len(r.json()["hits"]) == 3


def test_fuzzing_kept_memory_bounded(fuzz_client: TestClient, seeds: list[bytes], rss_before: float) -> None:
    """Last in this module: the fuzzing above (and every seed three more times through the endpoint)
    may not have raised the peak RSS by more than the bound."""
    for blob in seeds * 3:
        assert fuzz_client.post("/search/image", files={"file": ("s.png", blob)}).status_code == 200
    grown = _peak_rss_mb() - rss_before
    assert grown < MAX_RSS_GROWTH_MB, f"peak RSS grew by {grown:.0f} MB while fuzzing"
