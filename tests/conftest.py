"""Shared fixtures: the real encoder, the real embedded Qdrant store, the real demo catalog."""

from __future__ import annotations

import io
import ipaddress
import os
import shutil
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from lookalike import demo_data, encoders
from lookalike.config import Settings
from lookalike.search import SearchService

# -- no traffic beyond loopback, even if the code under test is wrong ---------------------------------------

_OFF_LOOPBACK: list[str] = []  # every attempt this process made to reach another address


def _is_loopback_host(host: object) -> bool:
    if not isinstance(host, str):
        return True  # a unix socket path (bytes) or no host at all: not a network address
    name = host.strip("[]").split("%")[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:  # the numeric spellings the C library reads without a lookup: 127.1, 0x7f000001, 2130706433
        return ipaddress.IPv4Address(socket.inet_aton(name)).is_loopback
    except OSError:
        return False  # a name: only loopback names are resolved in tests


def _guarded_connect(original: Callable[..., object]) -> Callable[..., object]:
    def connect(sock: socket.socket, address: object) -> object:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if not _is_loopback_host(host):
                _OFF_LOOPBACK.append(f"connect {host!r}")
                raise ConnectionRefusedError(f"tests may only reach loopback addresses, not {host!r}")
        return original(sock, address)

    return connect


@pytest.fixture(scope="session", autouse=True)
def loopback_only() -> Iterator[None]:
    """Every socket connect and name lookup of this process stays on loopback: a broken SSRF guard or a
    stray call to the internet fails here, before any packet leaves the machine (browsers and other
    subprocesses are the tests' own business)."""
    mp = pytest.MonkeyPatch()
    lookup = socket.getaddrinfo
    own_name = socket.gethostname()  # resolved from /etc/hosts

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name != own_name and not _is_loopback_host(name):
            # answered as a name that does not exist (no query leaves the machine); a connect that
            # gets past this with an address is what the record catches
            raise socket.gaierror(socket.EAI_NONAME, f"tests resolve no names but loopback ({host!r})")
        return lookup(host, *args, **kwargs)

    mp.setattr(socket, "getaddrinfo", getaddrinfo)
    mp.setattr(socket.socket, "connect", _guarded_connect(socket.socket.connect))
    mp.setattr(socket.socket, "connect_ex", _guarded_connect(socket.socket.connect_ex))
    yield
    mp.undo()


@pytest.fixture
def off_loopback_attempts() -> list[str]:
    """The guard's record, for the test of the guard itself (which empties it)."""
    return _OFF_LOOPBACK


@pytest.fixture(autouse=True)
def _no_traffic_beyond_loopback(loopback_only: None) -> Iterator[None]:
    before = len(_OFF_LOOPBACK)
    yield
    tried = _OFF_LOOPBACK[before:]
    assert not tried, f"this test tried to reach beyond loopback: {tried}"


@pytest.fixture(scope="session", autouse=True)
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache of exported model graphs (ONNX) for the whole run: every test gets its own data dir,
    and without this each would export the image model again (seconds each)."""
    path = tmp_path_factory.mktemp("models")
    old = os.environ.get("LOOKALIKE_MODEL_DIR")
    os.environ["LOOKALIKE_MODEL_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("LOOKALIKE_MODEL_DIR", None)
    else:
        os.environ["LOOKALIKE_MODEL_DIR"] = old


@pytest.fixture(scope="session")
def encoder(model_dir: Path) -> encoders.Encoder:
    """The default encoder with its real pretrained weights, loaded once for the whole run."""
    return encoders.get_encoder("efficientnet-lite0", device="cpu", model_dir=model_dir)


@pytest.fixture(scope="session")
def demo_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 45-photo Saleor demo catalog, built once (the wheel is cached between runs)."""
    root = tmp_path_factory.mktemp("demo") / "catalog"
    demo_data.build(root)
    return root


@pytest.fixture
def catalog_copy(demo_catalog: Path, tmp_path: Path) -> Path:
    """A private copy of the demo catalog that a test may change."""
    dst = tmp_path / "catalog"
    shutil.copytree(demo_catalog, dst)
    return dst


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with a private data dir and no environment leaking in."""
    for var in ("LOOKALIKE_QDRANT_URL", "LOOKALIKE_COLLECTION", "LOOKALIKE_ENCODER", "LOOKALIKE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LOOKALIKE_DATA_DIR", str(tmp_path / "data"))
    return Settings()


@pytest.fixture
def service(settings: Settings, encoder: encoders.Encoder):
    """A SearchService on an empty embedded store in a tmp dir."""
    svc = SearchService(settings, encoder=encoder)
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def demo_service(tmp_path_factory: pytest.TempPathFactory, demo_catalog: Path, encoder: encoders.Encoder):
    """A SearchService over the indexed demo catalog, shared read-only by the tests of a session."""
    data = tmp_path_factory.mktemp("demo-index")
    svc = SearchService(Settings(data_dir=data, qdrant_url=None, collection="products"), encoder=encoder)
    svc.index(demo_catalog)
    yield svc
    svc.close()


def _solid_png(
    color: tuple[int, int, int] = (200, 30, 30), size: int | tuple[int, int] = 64, mode: str = "RGB"
) -> bytes:
    """A one-colour PNG (mode "L" takes the colour's first channel); tiny even when its size is huge."""
    side = (size, size) if isinstance(size, int) else size
    buf = io.BytesIO()
    Image.new(mode, side, color if mode == "RGB" else color[0]).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def make_png() -> Callable[..., bytes]:
    """make_png(color=(200, 30, 30), size=64 or (w, h), mode="RGB"): the bytes of a one-colour PNG."""
    return _solid_png


@pytest.fixture
def write_png() -> Callable[..., Path]:
    """write_png(path, color=(200, 30, 30), size=64): a one-colour PNG file at `path`, returned."""

    def write(path: Path, color: tuple[int, int, int] = (200, 30, 30), size: int = 64) -> Path:
        path.write_bytes(_solid_png(color, size))
        return path

    return write


# -- loopback HTTP servers (URL fetching) ----------------------------------------------------------------


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that drops its connection before the request line is read is expected, not a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackSite:
    """A threaded HTTP server on 127.0.0.1 that records every request it receives.

    `pages` maps a path to (status, headers, body); `routes` maps a path to a function that answers
    the request itself (slow, endless, flaky answers). Anything else is a 404. Handlers that wait use
    `stop`, so closing the site ends them at once.
    """

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with site.lock:
                    site.requests.append((self.path, dict(self.headers.items())))
                path = self.path.split("?", 1)[0]
                try:
                    if path in site.routes:
                        site.routes[path](self)
                        return
                    missing = (404, {"Content-Type": "text/plain"}, b"none")
                    status, headers, body = site.pages.get(path, missing)
                    site.answer(self, status, headers, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

            def log_message(self, *args: object) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @staticmethod
    def answer(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        with self.lock:
            return [p for p, _ in self.requests]

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def _gradient_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((96, 64)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def jpeg_bytes() -> bytes:
    """A small real JPEG."""
    return _gradient_jpeg()


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    """A loopback web site the tests allow fetching from (add pages and routes to it)."""
    s = LoopbackSite()
    yield s
    s.close()


@pytest.fixture
def forbidden_site() -> Iterator[LoopbackSite]:
    """A second loopback site that no policy allows: tests assert it received no request at all."""
    s = LoopbackSite()
    s.pages["/"] = (200, {"Content-Type": "text/plain"}, b"internal secret")
    yield s
    s.close()
