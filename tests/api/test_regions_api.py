"""Region search over HTTP: the located region in each hit, an explicit box, products in this photo,
and bad boxes answered 422 (never 500). Real encoder and embedded store through TestClient."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lookalike.api import create_app
from lookalike.catalog import scan
from lookalike.eval import augment, scenes
from lookalike.search import MAX_REGIONS, SearchService


@pytest.fixture(scope="module")
def client(demo_service: SearchService) -> Iterator[TestClient]:
    with TestClient(create_app(demo_service, api_key="")) as c:
        yield c


@pytest.fixture(scope="module")
def scene(demo_catalog):
    files = scan(demo_catalog)
    photos = [augment.open_rgba(f.path) for f in files]
    single = scenes.render(scenes.queries(len(files), "single", seed=3)[0], photos)
    multi_q = scenes.queries(len(files), "multi", seed=3)[0]
    multi = scenes.render(multi_q, photos)
    buf = io.BytesIO()
    single.image.save(buf, format="PNG")
    mbuf = io.BytesIO()
    multi.image.save(mbuf, format="PNG")
    truth = files[single.products[0].source].product_id
    return buf.getvalue(), single, truth, mbuf.getvalue()


def _post(client: TestClient, path: str, data: bytes, **form: object):
    return client.post(path, files={"file": ("scene.png", data, "image/png")}, data=form)


def test_hits_say_which_region_matched_and_box_is_honoured(client, scene) -> None:
    data, single, truth, _ = scene
    auto = _post(client, "/search/image", data, top_k=5)
    assert auto.status_code == 200
    whole = _post(client, "/search/image", data, top_k=5, region="whole").json()["hits"]
    assert all(h["region"] is None for h in whole)
    x, y, w, h = single.products[0].box
    boxed = _post(client, "/search/image", data, top_k=3, box=f"{x},{y},{w},{h}").json()["hits"]
    assert boxed[0]["product_id"] == truth
    assert boxed[0]["region"] == {"x": x, "y": y, "w": w, "h": h}
    combined = _post(client, "/search/combined", data, text="red", box=f"{x},{y},{w},{h}").json()
    assert combined["hits"][0]["region"] == {"x": x, "y": y, "w": w, "h": h}


def test_products_in_this_photo(client, scene) -> None:
    *_, multi = scene
    r = _post(client, "/search/regions", multi, max_products=3, top_k=5)
    assert r.status_code == 200, r.text
    regions = r.json()["regions"]
    assert 1 <= len(regions) <= 3
    for g in regions:
        assert set(g["region"]) == {"x", "y", "w", "h"} and 1 <= len(g["hits"]) <= 5
        assert all(hit["region"] == g["region"] for hit in g["hits"])
    assert _post(client, "/search/regions", multi, max_products=MAX_REGIONS + 1).status_code == 422


@pytest.mark.parametrize(
    "form",
    [
        {"box": "0,0,99999,10"},
        {"box": "0,0,0,10"},
        {"box": "-5,0,10,10"},
        {"box": "nan,0,10,10"},
        {"box": "inf,0,10,10"},
        {"box": "1,2,3"},
        {"box": "x" * 101},
        {"region": "somewhere"},
    ],
)
def test_bad_boxes_are_422_with_a_reason(client, scene, form) -> None:
    data, *_ = scene
    for path in ("/search/image", "/search/combined"):
        extra = {"text": "red"} if path.endswith("combined") else {}
        r = _post(client, path, data, **form, **extra)
        assert r.status_code == 422, (path, form, r.text)
        assert r.json()["detail"]
