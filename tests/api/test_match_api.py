"""'Not in our catalog' through the REST API and the CLI: every photo answer carries its match verdict."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from lookalike import outside_photos
from lookalike.api import create_app
from lookalike.search import SearchService


@pytest.fixture(scope="module")
def client(demo_service: SearchService) -> Iterator[TestClient]:
    with TestClient(create_app(demo_service, api_key="")) as c:
        yield c


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _outside() -> bytes:
    label, img = outside_photos.queries("test", 1)[0]
    return _png(img)


def test_a_catalog_photo_is_an_exact_match(client: TestClient, demo_catalog: Path) -> None:
    data = (demo_catalog / "Juices" / "carrot-juice-1.png").read_bytes()
    r = client.post("/search/image", files={"file": ("q.png", data, "image/png")}, data={"top_k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["match"] == "exact" and body["match_note"] is None
    assert body["hits"][0]["product_id"] == "carrot-juice" and body["hits"][0]["match"] == "exact"


def test_a_photo_of_something_else_is_none_but_still_lists_the_closest(client: TestClient) -> None:
    r = client.post("/search/image", files={"file": ("q.png", _outside(), "image/png")}, data={"top_k": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["match"] == "none"
    assert len(body["hits"]) == 4 and {h["match"] for h in body["hits"]} == {"none"}


def test_batch_answers_and_regions_say_it_too(client: TestClient, demo_catalog: Path) -> None:
    import base64

    juice = base64.b64encode((demo_catalog / "Juices" / "carrot-juice-1.png").read_bytes()).decode()
    other = base64.b64encode(_outside()).decode()
    r = client.post("/search/batch", json={"queries": [{"image_b64": juice}, {"image_b64": other}]})
    assert r.status_code == 200, r.text
    assert [a["match"] for a in r.json()["results"]] == ["exact", "none"]
    r = client.post("/search/regions", json={"image_b64": juice, "max_products": 1})
    assert r.status_code == 200, r.text
    assert r.json()["regions"][0]["match"] in ("exact", "similar")


def test_words_searches_carry_no_verdict(client: TestClient) -> None:
    r = client.post("/search/text", json={"text": "carrot juice"})
    assert r.status_code == 200 and r.json()["match"] is None


def test_cli_prints_the_verdict(
    demo_service: SearchService, demo_catalog: Path, tmp_path: Path, monkeypatch
) -> None:
    """`lookalike search` over a calibrated index: a match line; --json hits carry `match`."""
    from lookalike import cli

    monkeypatch.setattr(cli, "_service", lambda: _Borrowed(demo_service))
    photo = tmp_path / "other.png"
    photo.write_bytes(_outside())
    runner = CliRunner()
    r = runner.invoke(cli.app, ["search", str(photo), "--top-k", "2"])
    assert r.exit_code == 0, r.output
    assert "match: none" in r.output and "We don't seem to carry this" in r.output
    r = runner.invoke(cli.app, ["search", str(demo_catalog / "Juices" / "carrot-juice-1.png"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["match"] == "exact"


class _Borrowed:
    """The shared demo service, lent to one CLI command without being closed by it."""

    def __init__(self, svc: SearchService):
        self.svc = svc

    def __enter__(self) -> SearchService:
        return self.svc

    def __exit__(self, *exc: object) -> None:
        pass
