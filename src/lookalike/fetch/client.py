"""Bounded downloads: every byte, second, redirect and retry a remote server can make us spend is capped.

httpx sends the requests; a custom httpcore network backend opens every TCP connection: it resolves
the host once, checks every address with the AddressPolicy and connects to a checked address, so a
second DNS answer (DNS rebinding) never reaches a socket. TLS still verifies the URL's host name
(httpcore passes it as the server name). Redirects are followed here, hop by hop, so each new URL is
judged again before anything is sent to it.
"""

from __future__ import annotations

import http.cookiejar
import logging
import socket
import threading
import time
import typing
from dataclasses import dataclass

import httpcore
import httpx

from lookalike.fetch.content import MAGIC_BYTES, Expect, check_image_bytes, check_type
from lookalike.fetch.errors import FetchError, redact
from lookalike.fetch.guard import AddressPolicy, check_url

log = logging.getLogger(__name__)

USER_AGENT = "lookalike/0.1 (product image search)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_ADDRESSES = 4  # addresses of one name tried in turn: bounds the connect time of a many-answer name
MB = 1024 * 1024


@dataclass(frozen=True)
class FetchLimits:
    """What one download may cost. `total_timeout` covers redirects, retries and backoff together."""

    max_bytes: int = 20 * MB
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 60.0
    max_redirects: int = 5
    retries: int = 2
    backoff: float = 0.5
    concurrency: int = 8
    max_feed_bytes: int = 200 * MB

    @classmethod
    def from_settings(cls, settings: typing.Any) -> FetchLimits:
        """From Settings' fetch_* fields (lookalike.config)."""
        return cls(
            max_bytes=settings.fetch_max_bytes,
            connect_timeout=settings.fetch_connect_timeout,
            read_timeout=settings.fetch_read_timeout,
            total_timeout=settings.fetch_total_timeout,
            max_redirects=settings.fetch_max_redirects,
            retries=settings.fetch_retries,
            backoff=settings.fetch_backoff,
            concurrency=settings.fetch_concurrency,
            max_feed_bytes=settings.fetch_max_feed_bytes,
        )


@dataclass(frozen=True)
class Fetched:
    """A finished download. `url` is the final URL (after redirects); a 304 answer to a conditional
    request gives `not_modified=True` and empty content."""

    url: str
    content: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    not_modified: bool = False


class _Redirect(Exception):
    def __init__(self, location: str):
        self.location = location


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, but a connection goes only to an address the policy allowed."""

    def __init__(self, policy: AddressPolicy):
        self.policy = policy
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve(host, port)
        for address in addresses:  # every answer, before any connection: one bad answer refuses the name
            self.policy.check_ip(address, host=host, port=port)
        failure: Exception | None = None
        for address in addresses[:_MAX_ADDRESSES]:
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise FetchError("refused: unix sockets are never fetched", refused=True)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (an IP literal resolves to itself), in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"the host name {host} does not resolve ({exc})") from None
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]), None)
    if not seen:
        raise FetchError(f"the host name {host} has no address")
    return list(seen)


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose network backend is _GuardedBackend.

    httpx 0.28 takes no network backend argument (encode/httpx#3749 proposes one), so the pool it
    builds is swapped for one built the same way with ours; the fetch tests would catch a change.
    """

    def __init__(self, policy: AddressPolicy, max_connections: int):
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        super().__init__(limits=limits, trust_env=False)
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError(
                "this httpx version builds its transport differently; lookalike.fetch needs updating"
            )
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(policy),
        )


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie, request) -> bool:  # type: ignore[no-untyped-def]
        return False  # one image host must never receive cookies another one set


class Fetcher:
    """Downloads images and feeds under FetchLimits, connecting only where the AddressPolicy allows.

    Thread-safe: one Fetcher (one connection pool) serves a thread pool of `limits.concurrency`.
    Use it as a context manager, or call close().
    """

    def __init__(self, limits: FetchLimits | None = None, policy: AddressPolicy | None = None):
        self.limits = limits or FetchLimits()
        self.policy = policy or AddressPolicy()
        self._client = httpx.Client(
            transport=_GuardedTransport(self.policy, max(2, 2 * self.limits.concurrency)),
            follow_redirects=False,
            trust_env=False,  # no proxies or .netrc credentials from the environment
            cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
            headers={"User-Agent": USER_AGENT},
        )
        self._closed = threading.Event()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._client.close()

    def fetch(
        self,
        url: str,
        *,
        expect: Expect = "image",
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        """Download `url`, following redirects and retrying 5xx answers, timeouts and broken connections.

        Raises FetchError with the reason; `refused=True` when the address policy or the URL's shape
        refused (then nothing was sent to that address).
        """
        deadline = time.monotonic() + self.limits.total_timeout
        attempt = 0
        while True:
            try:
                return self._follow(url, expect, etag, last_modified, deadline)
            except FetchError as exc:
                error = exc.at(url)
                delay = self.limits.backoff * 2**attempt
                if (
                    not exc.retryable
                    or attempt >= self.limits.retries
                    or time.monotonic() + delay >= deadline
                ):
                    raise error from None
                log.info("%s; retry %d of %d in %.1f s", error, attempt + 1, self.limits.retries, delay)
                time.sleep(delay)
                attempt += 1

    def _follow(
        self, url: str, expect: Expect, etag: str | None, last_modified: str | None, deadline: float
    ) -> Fetched:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _ in range(self.limits.max_redirects + 1):
            try:
                return self._get(current, expect, headers, deadline)
            except _Redirect as hop:
                current = hop.location
            except FetchError as exc:
                if current == url:
                    raise
                reason = f"{exc.reason} (after a redirect to {redact(current)})"
                raise FetchError(reason, refused=exc.refused, retryable=exc.retryable) from None
        raise FetchError(f"too many redirects (more than {self.limits.max_redirects})")

    def _get(self, current: str, expect: Expect, headers: dict[str, str], deadline: float) -> Fetched:
        """One request: the Fetched answer, or _Redirect with the next URL."""
        target = check_url(current)
        request = self._client.build_request("GET", target, headers=headers, timeout=self._timeout(deadline))
        with self._errors(deadline):
            response = self._client.send(request, stream=True)
        try:
            if response.status_code in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {response.status_code} redirect without a Location")
                try:
                    next_url = str(response.url.join(location))
                except httpx.InvalidURL as exc:
                    raise FetchError(f"redirected to an invalid URL ({exc})") from None
                raise _Redirect(next_url)
            with self._errors(deadline):
                return self._read(response, expect, conditional=bool(headers), deadline=deadline)
        finally:
            response.close()

    def _read(
        self, response: httpx.Response, expect: Expect, *, conditional: bool, deadline: float
    ) -> Fetched:
        status = response.status_code
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        content_type = response.headers.get("content-type")
        final = str(response.url)
        if status == 304 and conditional:
            return Fetched(final, b"", content_type, etag, last_modified, not_modified=True)
        if status >= 500:
            raise FetchError(_status_text(response), retryable=True)
        if status not in (200, 203):
            raise FetchError(_status_text(response))
        check_type(content_type, expect)
        cap = self.limits.max_bytes if expect == "image" else self.limits.max_feed_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"larger than {_size(cap)} ({_size(int(declared))})")
        body = bytearray()
        sniffed = expect != "image"
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > cap:
                raise FetchError(f"larger than {_size(cap)}")
            if not sniffed and len(body) >= MAGIC_BYTES:
                check_image_bytes(bytes(body[:MAGIC_BYTES]), content_type)
                sniffed = True
            if time.monotonic() > deadline:
                raise FetchError(f"took longer than {self.limits.total_timeout:g} s in all")
        if not sniffed:
            check_image_bytes(bytes(body), content_type)
        return Fetched(final, bytes(body), content_type, etag, last_modified)

    def _timeout(self, deadline: float) -> httpx.Timeout:
        left = max(0.01, deadline - time.monotonic())
        connect = min(self.limits.connect_timeout, left)
        read = min(self.limits.read_timeout, left)
        return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)

    def _errors(self, deadline: float) -> _HttpxErrors:
        return _HttpxErrors(self.limits, deadline)


class _HttpxErrors:
    """Turns httpx's exceptions into FetchErrors with a reason, marking the ones worth a retry."""

    def __init__(self, limits: FetchLimits, deadline: float):
        self.limits = limits
        self.deadline = deadline

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None or isinstance(exc, FetchError) or not isinstance(exc, httpx.HTTPError):
            return
        raise _translate(exc, self.limits, out_of_time=time.monotonic() >= self.deadline - 0.01) from None


def _translate(exc: httpx.HTTPError, limits: FetchLimits, *, out_of_time: bool) -> FetchError:
    if isinstance(exc, httpx.TimeoutException):
        if out_of_time:
            return FetchError(f"took longer than {limits.total_timeout:g} s in all")
        if isinstance(exc, httpx.ConnectTimeout):
            return FetchError(f"timed out connecting after {limits.connect_timeout:g} s", retryable=True)
        return FetchError(f"timed out: the server sent nothing for {limits.read_timeout:g} s", retryable=True)
    if isinstance(exc, httpx.ConnectError):
        return FetchError(f"could not connect ({_why(exc)})")
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        return FetchError(f"the connection broke off ({_why(exc)})", retryable=True)
    if isinstance(exc, httpx.DecodingError):
        return FetchError(f"the server sent a corrupt compressed body ({_why(exc)})")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return FetchError(f"not a valid URL ({_why(exc)})", refused=True)
    return FetchError(f"download failed ({_why(exc)})")


def _why(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _status_text(response: httpx.Response) -> str:
    phrase = response.reason_phrase
    return f"HTTP {response.status_code}" + (f" ({phrase})" if phrase else "")


def _size(n: int) -> str:
    return f"{n / MB:g} MB" if n >= MB else f"{n:,} bytes"
