"""Query photos by URL and by base64 through the REST API, and the SSRF guard on the URLs.

Real encoder and embedded store (the demo index); the photos come from a real HTTP server on
127.0.0.1 that the app's settings allow (LOOKALIKE_FETCH_ALLOW with its port). A second loopback
server is allowed by nothing: every refusal test asserts it received no request at all. Private,
link-local and metadata addresses are covered on the address check itself (tests/fetch/test_guard.py),
never by connecting.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lookalike.api import create_app
from lookalike.api.query_image import decode_b64
from lookalike.catalog import scan
from lookalike.errors import UploadTooLargeError
from lookalike.search import SearchService


@pytest.fixture(scope="module")
def photo(demo_catalog: Path) -> tuple[bytes, str]:
    """A demo catalog photo's bytes and its product id."""
    f = scan(demo_catalog)[0]
    return f.path.read_bytes(), f.product_id


def app_service(demo_service: SearchService, **settings: object) -> SearchService:
    """The demo index under other settings (shares the store and encoder: never closed here)."""
    changed = demo_service.settings.model_copy(update=settings)
    return SearchService(changed, store=demo_service.store, encoder=demo_service.encoder)


@pytest.fixture
def api(demo_service, site, photo) -> Iterator[TestClient]:
    """A client whose app may fetch from the test site's port on loopback, and from nothing else local."""
    data, _ = photo
    site.pages["/p/photo.png"] = (200, {"Content-Type": "image/png"}, data)
    site.pages["/p/page.html"] = (200, {"Content-Type": "text/html"}, b"<html>sign in</html>")
    svc = app_service(demo_service, fetch_allow=[f"127.0.0.1:{site.port}"], fetch_retries=0)
    with TestClient(create_app(svc, api_key="")) as c:
        yield c


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [h["product_id"] for h in response.json()["hits"]]


def test_image_url_and_base64_find_the_same_products_as_an_upload(api, site, photo) -> None:
    data, pid = photo
    upload = ids(api.post("/search/image", files={"file": ("q.png", data)}, data={"top_k": "3"}))
    by_url = ids(api.post("/search/image", json={"image_url": site.url("/p/photo.png"), "top_k": 3}))
    b64 = base64.b64encode(data).decode()
    by_json_b64 = ids(api.post("/search/image", json={"image_b64": b64, "top_k": 3}))
    by_form_b64 = ids(api.post("/search/image", data={"image_b64": b64, "top_k": "3"}))
    data_url = ids(api.post("/search/image", json={"image_b64": f"data:image/png;base64,{b64}", "top_k": 3}))
    urlsafe = base64.urlsafe_b64encode(data).decode().rstrip("=")
    unpadded = ids(api.post("/search/image", json={"image_b64": urlsafe, "top_k": 3}))
    assert upload[0] == pid
    assert upload == by_url == by_json_b64 == by_form_b64 == data_url == unpadded
    assert site.paths() == ["/p/photo.png"]


def test_combined_and_regions_take_urls_and_base64(api, site, photo) -> None:
    data, pid = photo
    combined = api.post(
        "/search/combined", json={"image_url": site.url("/p/photo.png"), "text": "white", "weight": 0.2}
    )
    assert ids(combined)[0] == pid
    r = api.post("/search/regions", json={"image_b64": base64.b64encode(data).decode(), "max_products": 2})
    assert r.status_code == 200, r.text
    assert r.json()["regions"] and r.json()["regions"][0]["hits"]
    no_words = api.post("/search/combined", json={"image_url": site.url("/p/photo.png")})
    assert no_words.status_code == 422


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "0x7f000001", "127.1"])
def test_urls_inside_the_server_are_refused_without_a_request(api, forbidden_site, host: str) -> None:
    r = api.post("/search/image", json={"image_url": forbidden_site.url("/", host=host)})
    assert r.status_code == 400, r.text
    assert "refused" in r.json()["detail"] and "loopback address" in r.json()["detail"]
    assert forbidden_site.requests == []


def test_a_redirect_to_a_forbidden_port_is_refused_without_a_request(api, site, forbidden_site) -> None:
    site.pages["/p/moved.png"] = (302, {"Location": forbidden_site.url("/")}, b"")
    r = api.post("/search/image", json={"image_url": site.url("/p/moved.png")})
    assert r.status_code == 400, r.text
    assert "after a redirect" in r.json()["detail"]
    assert forbidden_site.requests == [] and site.paths() == ["/p/moved.png"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x.png", "gopher://127.0.0.1:70/x"])
def test_other_schemes_are_refused(api, url: str) -> None:
    r = api.post("/search/image", json={"image_url": url})
    assert r.status_code == 400 and "only http and https" in r.json()["detail"]


def test_credentials_in_the_url_are_refused_and_not_echoed(api, site) -> None:
    r = api.post("/search/image", json={"image_url": site.url("/p/photo.png").replace("//", "//me:pw123@")})
    assert r.status_code == 400 and "pw123" not in r.text
    assert site.requests == []


def test_failed_downloads_say_why(api, site, forbidden_site) -> None:
    missing = api.post("/search/image", json={"image_url": site.url("/p/nothing.png")})
    assert missing.status_code == 422 and "HTTP 404" in missing.json()["detail"]
    page = api.post("/search/image", json={"image_url": site.url("/p/page.html")})
    assert page.status_code == 422 and "not an image (text/html)" in page.json()["detail"]


def test_an_unreachable_server_is_a_502(demo_service, forbidden_site) -> None:
    port = forbidden_site.port
    forbidden_site.close()  # allowed, but nothing listens any more
    svc = app_service(demo_service, fetch_allow=[f"127.0.0.1:{port}"], fetch_retries=0)
    with TestClient(create_app(svc, api_key="")) as c:
        r = c.post("/search/image", json={"image_url": f"http://127.0.0.1:{port}/x.png"})
    assert r.status_code == 502 and "could not connect" in r.json()["detail"]


def test_upload_limits_apply_to_urls_and_base64(demo_service, site, photo) -> None:
    data, _ = photo
    site.pages["/p/big.png"] = (200, {"Content-Type": "image/png"}, data + b"\0" * 200_000)
    svc = app_service(demo_service, fetch_allow=[f"127.0.0.1:{site.port}"])
    with TestClient(create_app(svc, api_key="", max_upload_bytes=150_000)) as c:
        r = c.post("/search/image", json={"image_url": site.url("/p/big.png")})
        assert r.status_code == 413, r.text
        assert "larger than" in r.json()["detail"]
        r = c.post("/search/image", json={"image_b64": base64.b64encode(b"\0" * 160_000).decode()})
        assert r.status_code == 413, r.text


def test_base64_is_measured_before_it_is_decoded() -> None:
    with pytest.raises(UploadTooLargeError, match="more than the limit of 1,000 bytes"):
        decode_b64("A" * 1400, limit=1000)
    assert decode_b64(base64.b64encode(b"x" * 1000).decode(), limit=1000) == b"x" * 1000
    with pytest.raises(UploadTooLargeError, match="1,001 bytes"):
        decode_b64(base64.b64encode(b"x" * 1001).decode(), limit=1000)


@pytest.mark.parametrize(
    "body",
    [
        {"image_b64": "not base64 at all!"},
        {"image_b64": "QUJD" * 3 + "Q"},  # a length no base64 text has
        {"image_b64": "data:image/png,rawbytes"},
        {"image_b64": ""},
        {"image_b64": base64.b64encode(b"plain text, not a photo").decode()},
        {},
        {"image_url": "http://example.invalid/x.png", "image_b64": "QUJD"},
        {"image_url": 42},
        {"image_b64": "QUJD", "unknown": 1},
    ],
)
def test_malformed_queries_are_422(api, body: dict) -> None:
    r = api.post("/search/image", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_invalid_json_is_422(api) -> None:
    r = api.post("/search/image", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422


def test_the_openapi_schema_documents_the_json_bodies(api) -> None:
    spec = api.get("/openapi.json").json()
    content = spec["paths"]["/search/image"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in content and "application/json" in content
    assert "image_url" in content["application/json"]["schema"]["properties"]
    assert "/search/batch" in spec["paths"]
