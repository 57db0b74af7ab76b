"""Issue 14: an image that decodes is embedded or skipped with a reason, in every path (index, upload,
query); one the model cannot take never takes its batch, the catalog or the request down with it.

The real encoder embeds everything here. Where a test needs an image the model *cannot* take, it uses
the real encoder behind the padding lookalike had before issue 14 (ImageOps.pad, which rounds a 1000×1
strip's height to 0 px and raises): that is the failure as users met it, not an invented one.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageOps

from lookalike import encoders
from lookalike.api import create_app
from lookalike.catalog_service import CatalogService
from lookalike.errors import ImageError
from lookalike.images import load_image
from lookalike.records import Product
from lookalike.search import SearchService
from lookalike.words import vectors as word_vectors


class PreFixPadding:
    """The real encoder, fed through the pre-issue-14 padding: a 1000×1 strip raises ValueError."""

    def __init__(self, real: encoders.Encoder):
        self._real = real
        self.name, self.dim, self.modalities = real.name, real.dim, real.modalities

    def embed_and_classify(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        for img in images:
            ImageOps.pad(img, (224, 224), Image.BICUBIC, color=(255, 255, 255))
        return self._real.embed_and_classify(images)  # type: ignore[attr-defined]

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.embed_and_classify(images)[0]

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self._real.embed_texts(texts)


def _png(size: tuple[int, int], colour: tuple[int, int, int] = (30, 60, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


STRIP = _png((1000, 1))


@pytest.fixture
def fragile(settings, encoder) -> Iterator[SearchService]:
    svc = SearchService(settings, encoder=PreFixPadding(encoder))
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def fragile_demo(demo_service: SearchService) -> SearchService:
    """The shared demo index, queried through the fragile encoder (read-only)."""
    return SearchService(
        demo_service.settings, store=demo_service.store, encoder=PreFixPadding(demo_service.encoder)
    )


# -- index -----------------------------------------------------------------------------------------------
def test_one_image_the_model_cannot_take_costs_only_that_image(
    fragile: SearchService, catalog_copy: Path
) -> None:
    (catalog_copy / "Hoodies" / "strip.png").write_bytes(STRIP)  # in the middle of a batch of 16
    report = fragile.index(catalog_copy)
    assert [rel for rel, _ in report.failed] == ["Hoodies/strip.png"]
    assert "could not process this image" in report.failed[0][1]
    assert report.embedded == fragile.store.count() == 45
    again = fragile.index(catalog_copy)  # nothing lost, nothing duplicated; the strip is tried again
    assert (again.unchanged, again.embedded, [r for r, _ in again.failed]) == (45, 0, ["Hoodies/strip.png"])


def test_batch_mates_of_a_failing_image_get_the_vectors_a_clean_batch_gives(
    encoder: encoders.Encoder, demo_catalog: Path
) -> None:
    paths = sorted((demo_catalog / "Juices").glob("*.png"))[:3]
    products = [Product(p.stem, "Juices", p, f"Juices/{p.name}", "0" * 64) for p in paths]
    images = [load_image(p) for p in paths]
    strip = load_image(STRIP)
    odd = Product("strip", "Juices", Path("strip.png"), "Juices/strip.png", "1" * 64)

    out = word_vectors.embed_each(
        PreFixPadding(encoder), [products[0], odd, *products[1:]], [images[0], strip, *images[1:]]
    )
    assert out.done == [0, 2, 3] and [i for i, _ in out.failed] == [1]
    clean, extras = word_vectors.embed_batch(PreFixPadding(encoder), products, images)  # same encoder
    np.testing.assert_allclose(out.vectors, clean, atol=1e-4)
    assert set(out.extras) == set(extras)
    for name, column in extras.items():
        assert len(out.extras[name]) == 3, name
        for got, want in zip(out.extras[name], column, strict=True):
            assert (got is None) == (want is None)
            if want is not None:
                np.testing.assert_allclose(got, want, atol=1e-4)


# -- query -----------------------------------------------------------------------------------------------
def test_the_strip_is_a_query_like_any_other(demo_service: SearchService) -> None:
    assert len(demo_service.search_image(STRIP, top_k=3)) == 3
    assert len(demo_service.search_combined(STRIP, "blue", top_k=3)) == 3


def test_a_query_image_the_model_cannot_take_is_an_image_error(fragile_demo: SearchService) -> None:
    with pytest.raises(ImageError, match="could not process"):
        fragile_demo.search_image(STRIP)
    with pytest.raises(ImageError, match="could not process"):
        fragile_demo.search_combined(STRIP, "blue hoodie")


def test_api_answers_422_not_500_for_a_query_image_the_model_cannot_take(
    demo_service: SearchService, fragile_demo: SearchService
) -> None:
    with TestClient(create_app(demo_service, api_key=""), raise_server_exceptions=False) as ok:
        assert ok.post("/search/image", files={"file": ("s.png", STRIP)}).status_code == 200
    with TestClient(create_app(fragile_demo, api_key=""), raise_server_exceptions=False) as client:
        r = client.post("/search/image", files={"file": ("s.png", STRIP)})
        assert r.status_code == 422 and "could not process" in r.json()["detail"]
        r = client.post("/search/combined", files={"file": ("s.png", STRIP)}, data={"text": "blue"})
        assert r.status_code == 422 and "could not process" in r.json()["detail"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_cli_search_on_a_named_pipe_fails_cleanly_instead_of_hanging(settings, tmp_path: Path) -> None:
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    code = "import sys; from lookalike.cli import app; sys.argv[0] = 'lookalike'; app()"
    # a subprocess, so a regression (an open() waiting for a writer forever) is killed, not the test run
    res = subprocess.run(
        [sys.executable, "-c", code, "search", str(fifo)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 1, res.stdout + res.stderr
    assert "is not a regular file" in res.stderr and "Traceback" not in res.stderr


# -- upload ----------------------------------------------------------------------------------------------
def test_the_strip_can_be_uploaded(service: SearchService) -> None:
    report = CatalogService(service).add_images([("strip.png", STRIP), ("dot.png", _png((1, 1)))], "Odd")
    assert report.failed == [] and len(report.added) == 2
    assert all(a.product.path.is_file() for a in report.added)
    assert service.search_image(STRIP, top_k=1)[0].product.product_id == "strip"


def test_api_adds_the_strip(service: SearchService) -> None:
    with TestClient(create_app(service, api_key=""), raise_server_exceptions=False) as client:
        r = client.post("/products", files=[("files", ("strip.png", STRIP))], data={"category": "Odd"})
    assert r.status_code == 201, r.text


def test_an_upload_the_model_cannot_take_is_reported_and_leaves_no_file(
    fragile: SearchService, demo_catalog: Path
) -> None:
    good = next((demo_catalog / "Juices").glob("*.png")).read_bytes()
    report = CatalogService(fragile).add_images([("juice.png", good), ("strip.png", STRIP)], "Odd")
    assert [a.product.product_id for a in report.added] == ["juice"]
    assert [name for name, _ in report.failed] == ["strip.png"]
    uploads = CatalogService(fragile).uploads_root
    assert [p.name for p in uploads.rglob("*.png")] == [report.added[0].product.path.name]
