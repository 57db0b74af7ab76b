"""Bounds and small guards of the API's catalog side: heavy uploads, ids that cannot stand in a URL,
keys that cannot be sent, costly "similar" queries, files changed after indexing, and error details
that never carry server paths. Real encoder and embedded store through FastAPI's TestClient."""

from __future__ import annotations

import io
import logging
import shutil
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from lookalike.api import create_app
from lookalike.catalog_service import CatalogService, files, uploads
from lookalike.cli import app as cli_app
from lookalike.config import Settings
from lookalike.errors import LookalikeError
from lookalike.search import MAX_EXAMPLES, SearchService

KEY = "k3y"
AUTH = {"X-API-Key": KEY}


@pytest.fixture
def juices(catalog_copy: Path) -> Path:
    for folder in catalog_copy.iterdir():
        if folder.is_dir() and folder.name != "Juices":
            shutil.rmtree(folder)
    return catalog_copy


@pytest.fixture
def writable(service: SearchService, juices: Path) -> Iterator[tuple[TestClient, SearchService]]:
    service.index(juices)
    with TestClient(create_app(service, api_key=KEY)) as c:
        yield c, service


@pytest.fixture(scope="module")
def client(demo_service: SearchService) -> Iterator[TestClient]:
    with TestClient(create_app(demo_service, api_key="")) as c:
        yield c


# -- heavy uploads ---------------------------------------------------------------------------------------
def test_many_huge_one_colour_pngs_are_refused_by_the_pixel_cap_from_their_headers(
    writable: tuple[TestClient, SearchService],
    make_png: Callable[..., bytes],
) -> None:
    client, service = writable
    huge = make_png(size=(7000, 7000), mode="L")  # a few KB that would decode to 49 Mpixels
    assert len(huge) < 100_000
    before = service.info().points
    r = client.post(
        "/products",
        files=[("files", (f"wall-{i}.png", huge)) for i in range(20)],
        data={"category": "Posters"},
        headers=AUTH,
    )
    assert r.status_code == 413, r.text
    detail = r.json()["detail"]
    assert "980,000,000 pixels" in detail and "100,000,000 per request" in detail
    assert "LOOKALIKE_MAX_UPLOAD_PIXELS" in detail
    assert service.info().points == before
    assert not CatalogService(service).uploads_root.exists()


def test_uploads_are_decoded_in_batches_bounded_by_count_and_pixels() -> None:
    headers = [uploads.Header(f"{i}.png", b"", px) for i, px in enumerate([10, 10, 30, 5, 5, 5, 40, 1])]
    batches = uploads.batches(headers, size=3, pixels=30)
    assert [[h.label for h in b] for b in batches] == [
        ["0.png", "1.png"],
        ["2.png"],
        ["3.png", "4.png", "5.png"],
        ["6.png"],  # larger than the budget alone: decoded on its own
        ["7.png"],
    ]


def test_an_upload_within_the_cap_is_stored_whole(
    writable: tuple[TestClient, SearchService], make_png: Callable[..., bytes]
) -> None:
    client, service = writable
    big = [make_png((i * 60, 90, 200 - i * 50), size=(1500, 1000)) for i in range(4)]
    r = client.post(
        "/products",
        files=[("files", (f"poster-{i}.png", d)) for i, d in enumerate(big)],
        data={"category": "Posters", "product_id": "poster"},
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    views = client.get("/products/poster").json()["views"]
    assert len(views) == 4 and all(v["file_ok"] for v in views)


# -- ids and keys ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("pid", [".", ".."])
def test_dot_ids_are_refused(
    writable: tuple[TestClient, SearchService], pid: str, make_png: Callable[..., bytes]
) -> None:
    client, _ = writable
    r = client.post(
        "/products",
        files=[("files", ("a.png", make_png()))],
        data={"category": "Mugs", "product_id": pid},
        headers=AUTH,
    )
    assert r.status_code == 422 and "cannot stand in a URL" in r.json()["detail"]


def test_ids_that_need_escaping_are_escaped_in_every_url(
    writable: tuple[TestClient, SearchService], make_png: Callable[..., bytes]
) -> None:
    client, _ = writable
    pid = "mug 50% off?#x"
    r = client.post(
        "/products",
        files=[("files", ("a.png", make_png()))],
        data={"category": "Mugs", "product_id": pid},
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    url = r.json()["added"][0]["image_url"]
    assert url.startswith("/products/mug%2050%25%20off%3F%23x/image?point=")
    assert client.get(url).status_code == 200
    assert client.get("/products/mug%2050%25%20off%3F%23x").json()["product_id"] == pid


def test_a_key_no_client_can_send_is_refused_at_start_up(
    service: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match="printable ASCII"):
        Settings(api_key="clé-secrète")
    with pytest.raises(LookalikeError, match="printable ASCII"):
        create_app(service, api_key="clé-secrète")
    monkeypatch.setenv("LOOKALIKE_API_KEY", "clé-secrète")
    res = CliRunner().invoke(cli_app, ["serve"])
    assert res.exit_code == 2
    assert "printable ASCII" in res.output and "Traceback" not in res.output


# -- similar ---------------------------------------------------------------------------------------------
def test_similar_deduplicates_ids_and_bounds_how_many(client: TestClient) -> None:
    r = client.get("/products/carrot-juice/similar", params={"negative": ["banana-juice"] * 700, "top_k": 3})
    assert r.status_code == 200, r.text
    assert {h["product_id"] for h in r.json()["hits"]}.isdisjoint({"carrot-juice", "banana-juice"})

    many = [f"p{i}" for i in range(MAX_EXAMPLES)]
    r = client.get("/products/carrot-juice/similar", params={"positive": many})
    assert r.status_code == 422 and f"at most {MAX_EXAMPLES}" in r.json()["detail"]


# -- files changed after indexing ------------------------------------------------------------------------
def test_a_file_swapped_for_a_link_or_edited_is_not_served(
    writable: tuple[TestClient, SearchService], juices: Path
) -> None:
    client, _ = writable
    target = juices / "Juices" / "carrot-juice-1.png"
    original = target.read_bytes()
    assert client.get("/products/carrot-juice/image").content == original
    hits_before = files._file_sha.cache_info().hits
    assert client.get("/products/carrot-juice/image").status_code == 200
    assert files._file_sha.cache_info().hits == hits_before + 1  # unchanged: not hashed again

    secret = juices / "secret.txt"
    secret.write_bytes(b"not for the public")
    target.unlink()
    target.symlink_to(secret)
    r = client.get("/products/carrot-juice/image")
    assert r.status_code == 409 and "changed since indexing; re-index" in r.json()["detail"]
    assert b"not for the public" not in r.content

    target.unlink()
    target.write_bytes(original[:-1] + b"\0")  # same size, new content
    assert client.get("/products/carrot-juice/image").status_code == 409


def test_error_details_carry_no_server_paths(
    writable: tuple[TestClient, SearchService], make_png: Callable[..., bytes]
) -> None:
    client, service = writable
    r = client.post(
        "/products",
        files=[("files", ("a.png", make_png()))],
        data={"category": "Mugs", "product_id": "mug"},
        headers=AUTH,
    )
    url = r.json()["added"][0]["image_url"]
    next(CatalogService(service).uploads_root.rglob("*.png")).unlink()
    r = client.get(url)
    assert r.status_code == 404
    assert "gone" in r.json()["detail"] and "/" not in r.json()["detail"]
    assert client.get("/products/mug").json()["views"][0]["file_ok"] is False


# -- small ones --------------------------------------------------------------------------------------------
def test_audio_with_an_image_encoder_is_not_logged_as_an_error(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 1600)
    with caplog.at_level(logging.INFO, logger="lookalike.api"):
        r = client.post("/search/audio", files={"file": ("a.wav", buf.getvalue(), "audio/wav")})
    assert r.status_code == 501
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert any("does not embed audio" in rec.getMessage() for rec in caplog.records)


@pytest.mark.parametrize("top_k", [True, "3", 2.0])
def test_top_k_in_json_must_be_a_whole_number(client: TestClient, top_k: object) -> None:
    r = client.post("/search/text", json={"text": "red", "top_k": top_k})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "top_k"
