"""The REST API through FastAPI's TestClient, on the real encoder and the real embedded Qdrant store."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lookalike.api import create_app
from lookalike.encoders import minilm
from lookalike.search import SearchService
from lookalike.words import vectors as word_vectors

KEY = "s3cret-key"


@pytest.fixture(scope="module")
def client(demo_service: SearchService) -> Iterator[TestClient]:
    """Read-only client over the shared demo index."""
    with TestClient(create_app(demo_service, api_key="")) as c:
        yield c


@pytest.fixture
def small_catalog(catalog_copy: Path) -> Path:
    """Two categories of the demo catalog (8 images): enough for write tests, quick to embed."""
    for folder in catalog_copy.iterdir():
        if folder.is_dir() and folder.name not in ("Juices", "Homewares"):
            shutil.rmtree(folder)
    return catalog_copy


@pytest.fixture
def writable(service: SearchService, small_catalog: Path) -> Iterator[tuple[TestClient, SearchService]]:
    """A client with an API key over a private index that tests may change."""
    service.index(small_catalog)
    with TestClient(create_app(service, api_key=KEY)) as c:
        yield c, service


def search(client: TestClient, data: bytes, name: str = "q.png", **form: object):
    return client.post("/search/image", files={"file": (name, data, "image/png")}, data=form)


# -- read endpoints --------------------------------------------------------------------------------------
def test_health_reports_index_and_encoder(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["points"] == 45 and body["categories"] == 8
    assert body["encoder"] == "efficientnet-lite0" and body["dim"] == 1280
    assert body["text_search"] == "words"


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/search/image", "/search/text", "/search/combined", "/categories", "/products", "/health"):
        assert p in paths


def test_search_image_finds_the_photographed_product_first(client: TestClient, demo_catalog: Path) -> None:
    path = demo_catalog / "Juices" / "carrot-juice-1.png"
    r = search(client, path.read_bytes(), top_k=5)
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert len(hits) == 5
    assert hits[0]["product_id"] == "carrot-juice" and hits[0]["rank"] == 1
    assert hits[0]["score"] > 0.99
    assert len({h["product_id"] for h in hits}) == 5  # one hit per product
    assert "path" not in hits[0]  # no server file paths leak out
    img = client.get(hits[0]["image_url"])
    assert img.status_code == 200 and img.headers["content-type"] == "image/png"
    assert img.content == path.read_bytes()


def test_search_image_category_filter(client: TestClient, demo_catalog: Path) -> None:
    data = (demo_catalog / "Juices" / "carrot-juice-1.png").read_bytes()
    r = search(client, data, top_k=3, category="Footwear")
    assert r.status_code == 200
    assert {h["category"] for h in r.json()["hits"]} == {"Footwear"}
    r = search(client, data, category="No Such Category")
    assert r.status_code == 404
    assert "No Such Category" in r.json()["detail"]


@pytest.mark.parametrize("top_k", ["0", "1001", "-3", "ten"])
def test_search_image_top_k_out_of_range_is_422(
    client: TestClient, top_k: str, make_png: Callable[..., bytes]
) -> None:
    r = search(client, make_png(), top_k=top_k)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "top_k"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"this is not an image at all", "not an image"),
        (None, "corrupt"),  # None: a PNG cut off after 60 bytes
        (b"", "empty"),
    ],
    ids=["text", "truncated", "empty"],
)
def test_search_image_bad_uploads_are_422_with_a_clear_detail(
    client: TestClient, make_png: Callable[..., bytes], data: bytes | None, words: str
) -> None:
    r = search(client, make_png()[:60] if data is None else data, name="upload.png")
    assert r.status_code == 422
    assert words in r.json()["detail"]


def test_search_image_without_a_file_is_422(client: TestClient) -> None:
    r = client.post("/search/image", data={"top_k": "3"})
    assert r.status_code == 422


def test_body_over_the_limit_is_413_before_the_endpoint_runs(
    demo_service: SearchService, make_png: Callable[..., bytes]
) -> None:
    with TestClient(create_app(demo_service, api_key="", max_upload_bytes=2_000)) as c:
        r = search(c, make_png(size=400) + b"\0" * 4_000)
        assert r.status_code == 413
        assert "limit of 2,000 bytes" in r.json()["detail"]

        # No Content-Length (chunked upload): cut off while streaming, still a clear 413.
        boundary = "xyzzy"
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'

        def chunks() -> Iterator[bytes]:
            yield head.encode()
            for _ in range(10):
                yield b"\0" * 1_000
            yield f"\r\n--{boundary}--\r\n".encode()

        r = c.post(
            "/search/image",
            content=chunks(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
        assert r.status_code == 413
        assert "limit" in r.json()["detail"]
        assert c.get("/health").status_code == 200  # GETs are not affected


def test_text_and_combined_search_work_with_the_image_only_encoder(client: TestClient, demo_catalog) -> None:
    r = client.post("/search/text", json={"text": "yellow plimsolls", "top_k": 3})
    assert r.status_code == 200, r.text
    assert r.json()["hits"][0]["product_id"] == "yellow-plimsolls"
    photo = (demo_catalog / "Hoodies" / "black-hoodie-1.png").read_bytes()
    r = client.post(
        "/search/combined",
        files={"file": ("q.png", photo, "image/png")},
        data={"text": "white", "weight": "0.6", "top_k": "3"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["hits"][0]["product_id"] == "white-hoodie"
    assert client.post("/search/text", json={"text": "", "top_k": 3}).status_code == 422
    assert client.post("/search/text", json={"text": "red", "top_k": 0}).status_code == 422


def test_similar_recommends_from_product_ids(client: TestClient) -> None:
    r = client.get("/products/white-hoodie/similar", params={"top_k": 4})
    assert r.status_code == 200
    ids = [h["product_id"] for h in r.json()["hits"]]
    assert len(ids) == 4 and "white-hoodie" not in ids
    assert r.json()["hits"][0]["category"] == "Hoodies"

    r = client.get(
        "/products/white-hoodie/similar",
        params={"positive": ["black-hoodie"], "negative": ["mustard-hoodie"], "category": "Hoodies"},
    )
    assert r.status_code == 200
    ids = [h["product_id"] for h in r.json()["hits"]]
    assert set(ids) == {"blue-hoodie"}  # the only Hoodie that is neither an example nor excluded


def test_similar_unknown_ids_are_404(client: TestClient) -> None:
    assert client.get("/products/no-such-product/similar").status_code == 404
    r = client.get("/products/white-hoodie/similar", params={"negative": "ghost"})
    assert r.status_code == 404 and "ghost" in r.json()["detail"]
    assert client.get("/products/white-hoodie/similar", params={"top_k": 0}).status_code == 422


def test_categories_come_from_the_index(client: TestClient) -> None:
    r = client.get("/categories")
    assert r.status_code == 200
    cats = {c["name"]: c for c in r.json()["categories"]}
    assert len(cats) == 8
    assert cats["Footwear"]["images"] == 8
    page = client.get(cats["Polo Shirts"]["products_url"]).json()
    assert page["category"] == "Polo Shirts" and page["total"] == 4


def test_category_products_pages_in_id_order(client: TestClient) -> None:
    first = client.get("/categories/Juices/products", params={"limit": 4}).json()
    assert first["total"] == 6 and first["next_offset"] == 4 and first["seed"] is None
    ids = [p["product_id"] for p in first["products"]]
    assert ids == sorted(ids) and len(ids) == 4
    rest = client.get("/categories/Juices/products", params={"offset": 4, "limit": 4}).json()
    assert rest["next_offset"] is None
    assert len(rest["products"]) == 2 and not set(ids) & {p["product_id"] for p in rest["products"]}
    footwear = client.get("/categories/Footwear/products").json()["products"]
    assert {p["product_id"]: p["views"] for p in footwear} == {"white-plimsolls": 4, "yellow-plimsolls": 4}


def test_category_products_shuffle_has_no_repeats_until_exhausted(client: TestClient) -> None:
    url = "/categories/T-shirts/products"
    first = client.get(url, params={"shuffle": True, "limit": 2}).json()
    seed = first["seed"]
    assert isinstance(seed, int)
    seen = [p["product_id"] for p in first["products"]]
    offset = first["next_offset"]
    while offset is not None:
        page = client.get(url, params={"shuffle": True, "limit": 2, "seed": seed, "offset": offset}).json()
        seen += [p["product_id"] for p in page["products"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == first["total"] == 4  # every T-shirt once
    again = client.get(url, params={"shuffle": True, "limit": 2, "seed": seed}).json()
    assert [p["product_id"] for p in again["products"]] == seen[:2]  # a seed replays its order
    orders = {
        tuple(
            p["product_id"] for p in client.get(url, params={"shuffle": True, "seed": s}).json()["products"]
        )
        for s in range(8)
    }
    assert len(orders) > 1


def test_category_products_bad_requests(client: TestClient) -> None:
    assert client.get("/categories/Nope/products").status_code == 404
    assert client.get("/categories/Juices/products", params={"limit": 0}).status_code == 422
    assert client.get("/categories/Juices/products", params={"offset": -1}).status_code == 422


TRAVERSALS = ["..%2F..%2Fetc", "%2E%2E%2F%2E%2E%2Fetc", "../../etc", "..%252F..%252Fetc", "%2Fetc%2Fpasswd"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_path_traversal_as_category_or_id_is_404(
    client: TestClient, name: str, make_png: Callable[..., bytes]
) -> None:
    assert client.get(f"/categories/{name}/products").status_code == 404
    assert client.get(f"/products/{name}/image").status_code == 404
    assert client.get(f"/products/{name}/similar").status_code == 404
    assert search(client, make_png(), category=name.replace("%2F", "/")).status_code == 404


def test_product_image_serves_only_indexed_views(client: TestClient, demo_catalog: Path) -> None:
    r = client.get("/products/yellow-plimsolls/image", params={"view": 3})
    assert r.status_code == 200
    assert r.content == (demo_catalog / "Footwear" / "yellow-plimsolls-4.png").read_bytes()
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/products/yellow-plimsolls/image", params={"view": 4}).status_code == 404
    assert client.get("/products/yellow-plimsolls/image", params={"view": -1}).status_code == 422
    assert client.get("/products/ghost/image").status_code == 404
    assert (
        client.get("/products/yellow-plimsolls/image", params={"point": "../../etc/passwd"}).status_code
        == 404
    )
    # a real point id of *another* product is refused too
    hit = search(client, (demo_catalog / "Juices" / "carrot-juice-1.png").read_bytes(), top_k=1).json()[
        "hits"
    ][0]
    assert (
        client.get("/products/yellow-plimsolls/image", params={"point": hit["point_id"]}).status_code == 404
    )
    assert client.get(f"/products/carrot-juice/image?point={hit['point_id']}").status_code == 200


# -- write endpoints -----------------------------------------------------------------------------------
def test_writes_need_the_api_key(
    writable: tuple[TestClient, SearchService], make_png: Callable[..., bytes]
) -> None:
    client, _ = writable
    files = {"files": ("red.png", make_png(), "image/png")}
    for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}):
        r = client.post("/products", files=files, data={"category": "Red"}, headers=headers)
        assert r.status_code == 401, headers
        assert "X-API-Key" in r.json()["detail"]
        assert client.delete("/products/carrot-juice", headers=headers).status_code == 401
    assert client.get("/products/carrot-juice/image").status_code == 200  # nothing was deleted


def test_api_key_is_read_from_the_environment(
    demo_service: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOKALIKE_API_KEY", KEY)
    from lookalike.config import Settings

    svc = SearchService(Settings(), store=demo_service.store, encoder=demo_service.encoder)
    with TestClient(create_app(svc)) as c:
        assert c.delete("/products/ghost").status_code == 401
        assert c.delete("/products/ghost", headers={"X-API-Key": KEY}).status_code == 404


def test_add_product_then_find_it(writable: tuple[TestClient, SearchService], demo_catalog: Path) -> None:
    client, service = writable
    data = (demo_catalog / "Alcohol" / "red-wine-1.png").read_bytes()  # not in the small catalog
    r = client.post(
        "/products",
        files=[("files", ("../../../etc/red wine?.png", data, "image/png"))],
        data={"category": "../../Wine & Spirits", "product_id": "house-red", "title": "House red"},
        headers={"X-API-Key": KEY},
    )
    assert r.status_code == 201, r.text
    added = r.json()["added"]
    assert len(added) == 1 and added[0]["product_id"] == "house-red"
    assert added[0]["category"] == "../../Wine & Spirits"  # stored as given, it is only a label

    saved = list((service.settings.data_dir / "uploads").rglob("*.png"))
    assert len(saved) == 1
    assert saved[0].parent.name == "wine-spirits"  # slug, never the raw string
    assert saved[0].resolve().is_relative_to((service.settings.data_dir / "uploads").resolve())

    hits = search(client, data, top_k=3).json()["hits"]
    assert hits[0]["product_id"] == "house-red" and hits[0]["title"] == "House red"
    # embedded the way ingest embeds, auxiliary vectors included: the title's text vector is stored
    by_title = service.store.search(minilm.embed_texts(["House red"])[0], 1, using=word_vectors.TITLE)
    assert by_title[0].payload["product_id"] == "house-red"
    assert client.get(hits[0]["image_url"]).content == data
    cats = {c["name"] for c in client.get("/categories").json()["categories"]}
    assert "../../Wine & Spirits" in cats
    page = client.get("/categories/..%2F..%2FWine%20%26%20Spirits/products").json()
    assert [p["product_id"] for p in page["products"]] == ["house-red"]


def test_add_several_files_one_product_each(
    writable: tuple[TestClient, SearchService], make_png: Callable[..., bytes]
) -> None:
    client, service = writable
    files = [
        ("files", ("Red Mug.PNG", make_png((220, 20, 20)), "image/png")),
        ("files", ("blue mug.png", make_png((20, 20, 220)), "image/png")),
    ]
    r = client.post("/products", files=files, data={"category": "Mugs"}, headers={"X-API-Key": KEY})
    assert r.status_code == 201, r.text
    assert sorted(a["product_id"] for a in r.json()["added"]) == ["blue-mug", "red-mug"]
    assert service.categories()["Mugs"] == 2


def test_add_refuses_the_whole_batch_if_one_file_is_bad(
    writable: tuple[TestClient, SearchService], make_png: Callable[..., bytes]
) -> None:
    client, service = writable
    before = service.info().points
    files = [
        ("files", ("good.png", make_png(), "image/png")),
        ("files", ("evil.png", b"<?php system($_GET['c']); ?>", "image/png")),
    ]
    r = client.post("/products", files=files, data={"category": "Mugs"}, headers={"X-API-Key": KEY})
    assert r.status_code == 422
    assert "evil.png" in r.json()["detail"] and "not an image" in r.json()["detail"]
    assert service.info().points == before
    assert not (service.settings.data_dir / "uploads").exists()


@pytest.mark.parametrize(
    "form",
    [
        {"category": ""},
        {"category": "x" * 101},
        {"category": "Mugs", "product_id": "a/b"},
        {"category": "a\x00b"},
    ],
    ids=["empty", "long", "slash-id", "control-char"],
)
def test_add_bad_labels_are_422(
    service: SearchService, form: dict[str, str], make_png: Callable[..., bytes]
) -> None:
    with TestClient(create_app(service, api_key=KEY)) as client:
        files = {"files": ("a.png", make_png(), "image/png")}
        r = client.post("/products", files=files, data=form, headers={"X-API-Key": KEY})
    assert r.status_code == 422
    assert not (service.settings.data_dir / "uploads").exists()


def test_replace_and_delete_a_product(
    writable: tuple[TestClient, SearchService], make_png: Callable[..., bytes]
) -> None:
    client, service = writable
    auth = {"X-API-Key": KEY}
    first = [
        ("files", ("a.png", make_png((250, 0, 0)), "image/png")),
        ("files", ("b.png", make_png((0, 250, 0)), "image/png")),
    ]
    assert (
        client.post(
            "/products", files=first, data={"category": "Mugs", "product_id": "mug"}, headers=auth
        ).status_code
        == 201
    )
    assert len(service.product("mug")) == 2

    r = client.post(
        "/products",
        files=[("files", ("c.png", make_png((0, 0, 250)), "image/png"))],
        data={"category": "Mugs", "product_id": "mug", "replace": "true"},
        headers=auth,
    )
    assert r.status_code == 201 and r.json()["replaced"] == 2
    assert len(service.product("mug")) == 1
    assert len(list((service.settings.data_dir / "uploads").rglob("*.png"))) == 1  # old files removed

    r = client.post("/products", files=first, data={"category": "Mugs", "replace": "true"}, headers=auth)
    assert r.status_code == 422 and "product_id" in r.json()["detail"]

    r = client.delete("/products/mug", headers=auth)
    assert r.status_code == 200 and r.json() == {"product_id": "mug", "deleted": 1}
    assert client.get("/products/mug/image").status_code == 404
    assert client.delete("/products/mug", headers=auth).status_code == 404
    assert not list((service.settings.data_dir / "uploads").rglob("*.png"))

    # a catalog product leaves the index; its file in the shop's catalog folder is not touched
    path = Path(service.product("carrot-juice")[0].path)
    assert client.delete("/products/carrot-juice", headers=auth).json()["deleted"] == 1
    assert path.is_file()
    assert "carrot-juice" not in [h["product_id"] for h in search(client, path.read_bytes()).json()["hits"]]


def test_writes_are_open_without_a_key(
    service: SearchService, monkeypatch: pytest.MonkeyPatch, make_png: Callable[..., bytes]
) -> None:
    monkeypatch.delenv("LOOKALIKE_API_KEY", raising=False)
    with TestClient(create_app(service)) as c:
        r = c.post(
            "/products", files={"files": ("a.png", make_png(), "image/png")}, data={"category": "Mugs"}
        )
        assert r.status_code == 201
        assert c.get("/health").json()["points"] == 1


# -- guards: CORS, time limits, private reads -------------------------------------------------------------
def _service_with(demo_service: SearchService, **settings: object) -> SearchService:
    """The demo index and encoder under other settings (the store is shared, not reopened)."""
    s = demo_service.settings.model_copy(update=settings)
    return SearchService(s, store=demo_service.store, encoder=demo_service.encoder)


def test_cors_is_off_by_default(client: TestClient) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    assert "access-control-allow-origin" not in client.get("/health", headers=origin).headers
    preflight = client.options("/search/text", headers={**origin, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_the_configured_origins_only(
    demo_service: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOKALIKE_CORS_ORIGINS", '["https://shop.example"]')
    from lookalike.config import Settings

    assert Settings().cors_origins == ["https://shop.example"]
    svc = _service_with(demo_service, cors_origins=Settings().cors_origins)
    with TestClient(create_app(svc, api_key="")) as c:
        shop = {"Origin": "https://shop.example"}
        r = c.post("/search/text", json={"text": "red"}, headers=shop)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://shop.example"
        preflight = c.options(
            "/products/x",
            headers={
                **shop,
                "Access-Control-Request-Method": "DELETE",
                "Access-Control-Request-Headers": "x-api-key",
            },
        )
        assert preflight.status_code == 200
        assert "DELETE" in preflight.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in preflight.headers
        other = c.get("/health", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers
        too_big = c.post("/search/image", content=b"x" * 100, headers={**shop, "content-length": str(10**9)})
        assert too_big.status_code == 413 and too_big.headers["access-control-allow-origin"] == shop["Origin"]


def test_a_search_over_the_time_limit_is_answered_503_without_waiting(
    demo_service: SearchService, make_png: Callable[..., bytes]
) -> None:
    """The one search slot is taken (as by a search that hangs); the request must get its 503 when
    its time is up, not when the slot frees, and the abandoned worker must give the slot back."""
    svc = _service_with(demo_service, request_timeout=1.0, max_concurrent_searches=1)
    app = create_app(svc, api_key="")
    slots = app.state.search_runner.slots
    with TestClient(app) as c:
        assert slots.acquire(timeout=10)
        try:
            text = c.post("/search/text", json={"text": "red"})
            image = search(c, make_png())
        finally:
            slots.release()
        for r in (text, image):
            assert r.status_code == 503
            assert "did not finish within 1 s" in r.json()["detail"] and r.headers["retry-after"]
        assert slots.acquire(timeout=30)  # nothing kept the slot
        slots.release()


def test_reads_can_require_the_api_key(demo_service: SearchService, make_png: Callable[..., bytes]) -> None:
    svc = _service_with(demo_service, public_reads=False)
    with TestClient(create_app(svc, api_key=KEY)) as c:
        for r in (
            c.post("/search/text", json={"text": "red"}),
            search(c, make_png()),
            c.get("/categories"),
            c.get("/categories/Juices/products"),
            c.get("/products/white-hoodie/image"),
            c.get("/products/white-hoodie/similar"),
        ):
            assert r.status_code == 401, r.url
        assert c.post("/search/text", json={"text": "red"}, headers={"X-API-Key": KEY}).status_code == 200
        assert c.get("/products/white-hoodie/image", headers={"X-API-Key": KEY}).status_code == 200
        assert c.get("/health").status_code == 200  # monitoring needs no key


def test_audio_search_says_the_image_encoder_has_no_ears(client: TestClient) -> None:
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 1600)
    r = client.post("/search/audio", files={"file": ("coffee.wav", buf.getvalue(), "audio/wav")})
    assert r.status_code == 501
    assert "does not embed audio" in r.json()["detail"] and "imagebind" in r.json()["detail"]
