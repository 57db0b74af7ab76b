"""Fetcher against real HTTP servers on 127.0.0.1: limits, redirects, retries, and the address guard.

Only loopback is ever contacted: the allowed site and the forbidden one both listen on 127.0.0.1, and
the forbidden one must never see a request. Timeouts are small and servers far slower than them, so
the outcomes do not depend on timing; every server loop ends when the test closes its site.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler

import pytest

from lookalike.fetch import AddressPolicy, Fetcher, FetchError, FetchLimits, client

FAST = FetchLimits(
    max_bytes=1024 * 1024,
    connect_timeout=2.0,
    read_timeout=0.5,
    total_timeout=3.0,
    max_redirects=3,
    retries=2,
    backoff=0.01,
    concurrency=4,
    max_feed_bytes=2 * 1024 * 1024,
)


def _slow(site, seconds: float = 5.0):
    def route(h: BaseHTTPRequestHandler) -> None:
        site.stop.wait(seconds)  # far past the read timeout; ends at once when the site closes
        site.answer(h, 200, {"Content-Type": "image/jpeg"}, b"\xff\xd8\xff late")

    return route


def _endless(site):
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "image/png")
        h.end_headers()  # no length: the body runs until the connection closes
        h.wfile.write(b"\x89PNG\r\n\x1a\n")
        block = b"\0" * 65536
        for _ in range(2000):  # 128 MB at most, far over any cap below
            if site.stop.is_set():
                return
            h.wfile.write(block)

    return route


def _trickle(site):
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "image/png")
        h.end_headers()
        h.wfile.write(b"\x89PNG\r\n\x1a\n")
        h.wfile.flush()
        for _ in range(1000):  # a byte every 0.1 s: never silent for a read timeout, never done
            if site.stop.wait(0.1):
                return
            h.wfile.write(b"\0")
            h.wfile.flush()

    return route


def _flaky(site, failures: int):
    seen = {"n": 0}
    lock = threading.Lock()

    def route(h: BaseHTTPRequestHandler) -> None:
        with lock:
            seen["n"] += 1
            n = seen["n"]
        if n <= failures:
            site.answer(h, 503, {"Content-Type": "text/plain"}, b"busy")
        else:
            site.answer(h, 200, {"Content-Type": "image/jpeg"}, site.pages["/photo.jpg"][2])

    return route


def _etag(site, body: bytes):
    def route(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            h.send_response(304)
            h.send_header("ETag", '"v1"')
            h.end_headers()
            return
        site.answer(
            h,
            200,
            {"Content-Type": "image/jpeg", "ETag": '"v1"', "Last-Modified": "Wed, 25 Nov 2026 10:00:00 GMT"},
            body,
        )

    return route


@pytest.fixture
def shop(site, forbidden_site, jpeg_bytes: bytes):
    """The allowed site with every kind of answer the fetcher must handle."""
    jpeg = {"Content-Type": "image/jpeg"}
    site.pages.update(
        {
            "/photo.jpg": (200, jpeg, jpeg_bytes),
            "/untyped.jpg": (200, {}, jpeg_bytes),
            "/page.html": (200, {"Content-Type": "text/html; charset=utf-8"}, b"<html>login</html>"),
            "/fake.png": (200, {"Content-Type": "image/png"}, b"<html>not really a png</html>"),
            "/huge.jpg": (200, jpeg, b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024)),
            "/loop": (302, {"Location": "/loop"}, b""),
            "/hop": (301, {"Location": "/photo.jpg"}, b""),
            "/to-forbidden": (302, {"Location": forbidden_site.url("/")}, b""),
            "/to-file": (302, {"Location": "file:///etc/passwd"}, b""),
            "/broken": (500, {"Content-Type": "text/plain"}, b"oops"),
            "/feed.xml": (200, {"Content-Type": "application/rss+xml"}, b"<rss><channel/></rss>"),
            "/feed.tsv": (200, {"Content-Type": "text/tab-separated-values"}, b"id\ttitle\n1\tx\n"),
        }
    )
    site.routes.update(
        {
            "/slow.jpg": _slow(site),
            "/endless.png": _endless(site),
            "/trickle.png": _trickle(site),
            "/flaky.jpg": _flaky(site, failures=1),
            "/etag.jpg": _etag(site, jpeg_bytes),
        }
    )
    return site


@pytest.fixture
def fetcher(shop) -> Iterator[Fetcher]:
    """A strict fetcher (API rules) that allows the shop site's port on loopback and nothing else local."""
    with Fetcher(FAST, AddressPolicy(allowed=(f"127.0.0.1:{shop.port}",))) as f:
        yield f


def test_an_image_is_downloaded(fetcher: Fetcher, shop, jpeg_bytes: bytes) -> None:
    got = fetcher.fetch(shop.url("/photo.jpg"))
    assert got.content == jpeg_bytes
    assert got.content_type == "image/jpeg" and not got.not_modified
    assert got.url == shop.url("/photo.jpg")
    assert shop.requests[0][1]["User-Agent"].startswith("lookalike/")


def test_an_image_without_a_content_type_is_judged_by_its_bytes(fetcher: Fetcher, shop, jpeg_bytes) -> None:
    assert fetcher.fetch(shop.url("/untyped.jpg")).content == jpeg_bytes


def test_a_redirect_is_followed_and_the_final_url_reported(fetcher: Fetcher, shop, jpeg_bytes) -> None:
    got = fetcher.fetch(shop.url("/hop"))
    assert got.content == jpeg_bytes and got.url == shop.url("/photo.jpg")
    assert shop.paths() == ["/hop", "/photo.jpg"]


def test_404_is_an_error_and_not_retried(fetcher: Fetcher, shop) -> None:
    with pytest.raises(FetchError, match="HTTP 404") as err:
        fetcher.fetch(shop.url("/nothing-here.jpg"))
    assert err.value.reason.startswith("HTTP 404") and not err.value.refused
    assert shop.paths() == ["/nothing-here.jpg"]


def test_5xx_is_retried_then_reported(fetcher: Fetcher, shop) -> None:
    with pytest.raises(FetchError, match="HTTP 500"):
        fetcher.fetch(shop.url("/broken"))
    assert shop.paths() == ["/broken"] * (1 + FAST.retries)


def test_503_then_200_succeeds_on_the_retry(fetcher: Fetcher, shop, jpeg_bytes: bytes) -> None:
    assert fetcher.fetch(shop.url("/flaky.jpg")).content == jpeg_bytes
    assert shop.paths() == ["/flaky.jpg", "/flaky.jpg"]


def test_a_silent_server_times_out_and_is_retried(fetcher: Fetcher, shop) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out") as err:
        fetcher.fetch(shop.url("/slow.jpg"))
    assert time.monotonic() - started < 4.5  # the server would have answered after 5 s, each time
    assert "0.5 s" in err.value.reason or "in all" in err.value.reason
    assert len(shop.paths()) >= 2  # a timeout is worth a retry


def test_an_endless_body_stops_at_the_byte_cap(fetcher: Fetcher, shop) -> None:
    with pytest.raises(FetchError, match="larger than 1 MB"):
        fetcher.fetch(shop.url("/endless.png"))
    assert shop.paths() == ["/endless.png"]  # a size refusal is not retried


def test_a_declared_length_over_the_cap_is_refused_before_reading(fetcher: Fetcher, shop) -> None:
    with pytest.raises(FetchError, match=r"larger than 1 MB \(2 MB\)"):
        fetcher.fetch(shop.url("/huge.jpg"))


def test_a_trickle_cannot_outlast_the_total_deadline(shop) -> None:
    limits = FetchLimits(read_timeout=0.5, total_timeout=1.0, retries=0, max_bytes=1024 * 1024)
    started = time.monotonic()
    policy = AddressPolicy(allowed=(f"127.0.0.1:{shop.port}",))
    with Fetcher(limits, policy) as f, pytest.raises(FetchError, match="longer than 1 s in all"):
        f.fetch(shop.url("/trickle.png"))
    assert time.monotonic() - started < 4.0  # the server would trickle for 100 s


def test_a_redirect_loop_ends_at_the_limit(fetcher: Fetcher, shop) -> None:
    with pytest.raises(FetchError, match="too many redirects"):
        fetcher.fetch(shop.url("/loop"))
    assert shop.paths() == ["/loop"] * (FAST.max_redirects + 1)


def test_a_web_page_is_not_an_image(fetcher: Fetcher, shop) -> None:
    with pytest.raises(FetchError, match=r"not an image \(text/html\)"):
        fetcher.fetch(shop.url("/page.html"))


def test_an_image_type_with_other_bytes_is_refused(fetcher: Fetcher, shop) -> None:
    with pytest.raises(FetchError, match=r"not an image lookalike can read \(image/png"):
        fetcher.fetch(shop.url("/fake.png"))


def test_feeds_take_text_types_and_refuse_web_pages(fetcher: Fetcher, shop) -> None:
    assert fetcher.fetch(shop.url("/feed.xml"), expect="feed").content.startswith(b"<rss>")
    assert fetcher.fetch(shop.url("/feed.tsv"), expect="feed").content.startswith(b"id\t")
    with pytest.raises(FetchError, match="not a feed"):
        fetcher.fetch(shop.url("/page.html"), expect="feed")
    with pytest.raises(FetchError, match="not a feed"):
        fetcher.fetch(shop.url("/photo.jpg"), expect="feed")


def test_a_feed_may_be_larger_than_an_image(fetcher: Fetcher, shop) -> None:
    shop.pages["/big.csv"] = (200, {"Content-Type": "text/csv"}, b"x" * (1536 * 1024))  # 1.5 MB
    assert len(fetcher.fetch(shop.url("/big.csv"), expect="feed").content) == 1536 * 1024


def test_conditional_requests_return_not_modified(fetcher: Fetcher, shop, jpeg_bytes: bytes) -> None:
    first = fetcher.fetch(shop.url("/etag.jpg"))
    assert first.etag == '"v1"' and first.last_modified == "Wed, 25 Nov 2026 10:00:00 GMT"
    again = fetcher.fetch(shop.url("/etag.jpg"), etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.content == b""
    sent = shop.requests[-1][1]
    assert sent["If-None-Match"] == '"v1"' and sent["If-Modified-Since"] == first.last_modified
    changed = fetcher.fetch(shop.url("/etag.jpg"), etag='"v0"')
    assert not changed.not_modified and changed.content == jpeg_bytes


def test_one_fetcher_serves_many_threads(fetcher: Fetcher, shop, jpeg_bytes: bytes) -> None:
    urls = [shop.url(f"/photo.jpg?n={i}") for i in range(16)]
    with ThreadPoolExecutor(FAST.concurrency) as pool:
        results = list(pool.map(fetcher.fetch, urls))
    assert all(r.content == jpeg_bytes for r in results)
    assert len(shop.paths()) == 16


def test_connection_goes_to_the_address_that_was_checked(shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name is resolved once, by the guard; the socket gets that address (no second lookup that a
    rebinding DNS server could answer differently). `shop.test` resolves nowhere else here."""
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if host == "shop.test" else []

    monkeypatch.setattr(client, "resolve", resolve)
    with Fetcher(FAST, AddressPolicy(allowed=(f"127.0.0.1:{shop.port}",))) as f:
        got = f.fetch(f"http://shop.test:{shop.port}/photo.jpg")
    assert got.content and lookups == ["shop.test"]
    assert shop.requests[0][1]["Host"] == f"shop.test:{shop.port}"  # the URL's name, at the checked address


# -- the guard, end to end: the forbidden site must never hear from us ------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "0x7f000001", "127.1", "2130706433"])
def test_loopback_spellings_are_refused_unheard(fetcher: Fetcher, forbidden_site, host: str) -> None:
    with pytest.raises(FetchError, match="refused: .* is a loopback address") as err:
        fetcher.fetch(forbidden_site.url("/", host=host))
    assert err.value.refused
    assert forbidden_site.requests == []


def test_a_redirect_to_a_forbidden_address_is_refused(fetcher: Fetcher, shop, forbidden_site) -> None:
    with pytest.raises(FetchError, match="loopback address .*after a redirect to") as err:
        fetcher.fetch(shop.url("/to-forbidden"))
    assert err.value.refused
    assert shop.paths() == ["/to-forbidden"]
    assert forbidden_site.requests == []


def test_a_redirect_to_another_scheme_is_refused(fetcher: Fetcher, shop) -> None:
    with pytest.raises(FetchError, match="only http and https") as err:
        fetcher.fetch(shop.url("/to-file"))
    assert err.value.refused


@pytest.mark.parametrize("scheme", ["file", "ftp"])
def test_other_schemes_are_refused(fetcher: Fetcher, forbidden_site, scheme: str) -> None:
    with pytest.raises(FetchError, match="only http and https"):
        fetcher.fetch(f"{scheme}://127.0.0.1:{forbidden_site.port}/")
    assert forbidden_site.requests == []


def test_credentials_in_a_url_are_refused_and_never_echoed(fetcher: Fetcher, shop) -> None:
    url = shop.url("/photo.jpg").replace("http://", "http://admin:hunter2@")
    with pytest.raises(FetchError, match="user name or password") as err:
        fetcher.fetch(url)
    assert "hunter2" not in str(err.value)
    assert shop.requests == []


def test_the_owner_policy_may_fetch_from_the_local_network(shop, jpeg_bytes: bytes) -> None:
    with Fetcher(FAST, AddressPolicy(allow_private=True)) as owner:
        assert owner.fetch(shop.url("/photo.jpg", host="localhost")).content == jpeg_bytes


def test_an_unreachable_port_is_a_clear_error(fetcher: Fetcher, forbidden_site) -> None:
    port = forbidden_site.port
    forbidden_site.close()  # nothing listens there any more
    policy = AddressPolicy(allowed=(f"127.0.0.1:{port}",))
    with Fetcher(FAST, policy) as f, pytest.raises(FetchError, match="could not connect"):
        f.fetch(f"http://127.0.0.1:{port}/x.jpg")
