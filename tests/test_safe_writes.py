"""Catalog writes under concurrency, failures and crashes: each request applies whole or not at all,
no point ever refers to a missing file, and `lookalike clean` finds whatever a crash leaves behind.
Real encoder, real embedded store; threads for concurrency."""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from lookalike.api import create_app
from lookalike.catalog_service import CatalogService
from lookalike.cli import app as cli_app
from lookalike.errors import LookalikeError
from lookalike.search import SearchService

KEY = "k3y"


def png(seed: int, size: int = 32) -> bytes:
    """A distinct small image per seed (two colour blocks), so every upload has its own content."""
    img = Image.new("RGB", (size, size), ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    img.paste(((seed * 13) % 256, 255 - seed % 256, 128), (0, 0, size // 2, size))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def uploads(first: int, n: int) -> list[tuple[str, bytes]]:
    return [(f"view-{i}.png", png(i)) for i in range(first, first + n)]


def shas(items: list[tuple[str, bytes]]) -> set[str]:
    return {hashlib.sha256(data).hexdigest() for _, data in items}


def stored_shas(service: SearchService, product_id: str) -> set[str]:
    try:
        return {p.sha256 for p in service.product(product_id)}
    except LookalikeError:
        return set()


def assert_consistent(service: SearchService) -> None:
    """Every point has its file and every uploaded file has its point."""
    left = CatalogService(service).find_leftovers()
    assert left.missing_files == [], [p.path for p in left.missing_files]
    assert left.orphan_files == []


def in_threads(*jobs: Callable[[], object]) -> list[BaseException]:
    """Run the jobs at once (released together by a barrier); the exceptions they raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def go(job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - collected for the test to judge
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


class MeetingStore:
    """The real store, except that after each write (upsert, delete) a caller waits up to 2 s for a second
    writer to reach the same point: without serialised writes the two requests then interleave in the
    worst way every time; with them, the wait simply times out and the writes stay in order."""

    def __init__(self, store: object):
        self._store = store
        self.meet: threading.Barrier | None = None

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def _wait(self) -> None:
        if self.meet is not None:
            with contextlib.suppress(threading.BrokenBarrierError):
                self.meet.wait(timeout=2)

    def upsert(self, *args: object, **kw: object) -> None:
        self._store.upsert(*args, **kw)
        self._wait()

    def delete(self, *args: object, **kw: object) -> None:
        self._store.delete(*args, **kw)
        self._wait()


@pytest.fixture
def meeting(service: SearchService) -> Iterator[tuple[SearchService, MeetingStore]]:
    store = MeetingStore(service.store)
    svc = SearchService(service.settings, store=store, encoder=service.encoder)  # type: ignore[arg-type]
    yield svc, store


# -- concurrency -----------------------------------------------------------------------------------------
def test_concurrent_replaces_of_one_product_leave_one_request_whole(
    meeting: tuple[SearchService, MeetingStore],
) -> None:
    service, store = meeting
    first, second = uploads(0, 20), uploads(100, 20)
    for _ in range(2):
        store.meet = threading.Barrier(2)
        errors = in_threads(
            *(
                lambda batch=batch: CatalogService(service).add_images(
                    batch, "Mugs", product_id="mug", replace=True, all_or_nothing=True
                )
                for batch in (first, second)
            )
        )
        assert errors == []
        assert stored_shas(service, "mug") in (shas(first), shas(second))
        assert len(service.product("mug")) == 20
        assert_consistent(service)


def test_replace_racing_delete_never_leaves_a_view_without_its_file(
    meeting: tuple[SearchService, MeetingStore],
) -> None:
    service, store = meeting
    CatalogService(service).add_images(uploads(0, 5), "Mugs", product_id="mug")
    new = uploads(0, 20)  # the old five again, and fifteen more: the same files and points
    store.meet = threading.Barrier(2)
    errors = in_threads(
        lambda: CatalogService(service).add_images(new, "Mugs", product_id="mug", replace=True),
        lambda: CatalogService(service).delete_product("mug"),
    )
    assert errors == []
    assert stored_shas(service, "mug") in (set(), shas(new))  # delete last, or replace last: each whole
    assert_consistent(service)


def test_concurrent_api_writes_wait_for_a_slot_or_get_a_503(
    service: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service.settings, "request_timeout", 0.2)
    with TestClient(create_app(service, api_key=KEY)) as client:
        slots = client.app.state.write_runner.slots
        slots.acquire()  # another write holds the only slot (max_concurrent_writes=1)
        try:
            r = client.post(
                "/products",
                files=[("files", ("a.png", png(1)))],
                data={"category": "Mugs", "product_id": "mug"},
                headers={"X-API-Key": KEY},
            )
        finally:
            slots.release()
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        assert "try again" in r.json()["detail"]
        assert stored_shas(service, "mug") == set()  # nothing half-done

        r = client.post(
            "/products",
            files=[("files", ("a.png", png(1)))],
            data={"category": "Mugs", "product_id": "mug"},
            headers={"X-API-Key": KEY},
        )
        assert r.status_code == 201, r.text
        detail = client.get("/products/mug").json()
        assert [v["file_ok"] for v in detail["views"]] == [True]
        assert detail["views"][0]["point_id"] == r.json()["added"][0]["point_id"]


# -- failures part-way -------------------------------------------------------------------------------------
def test_a_failing_store_call_leaves_no_files_and_no_server_paths_in_the_answer(
    service: SearchService,
) -> None:
    CatalogService(service).add_images(uploads(0, 2), "Mugs", product_id="mug")
    with TestClient(create_app(service, api_key=KEY)) as client:
        service.store.close()  # every later store call fails
        r = client.post(
            "/products",
            files=[("files", (n, d)) for n, d in uploads(50, 3)],
            data={"category": "Mugs", "product_id": "mug"},
            headers={"X-API-Key": KEY},
        )
    assert r.status_code == 503
    data_dir = str(service.settings.data_dir)
    assert data_dir not in r.text and str(Path(data_dir).resolve()) not in r.text
    assert "<data dir>" in r.json()["detail"]
    files = sorted(p.name for p in CatalogService(service).uploads_root.rglob("*") if p.is_file())
    assert len(files) == 2  # the two stored before; the three of the failed request were removed again


def test_an_error_while_embedding_writes_nothing(service: SearchService) -> None:
    def crash(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt  # stands for a crash between two batches

    with pytest.raises(KeyboardInterrupt):
        CatalogService(service).add_images(uploads(0, 40), "Mugs", product_id="mug", progress=crash)
    assert not CatalogService(service).uploads_root.exists() or not any(
        CatalogService(service).uploads_root.rglob("*.png")
    )
    with pytest.raises(LookalikeError):
        service.product("mug")


def test_a_file_that_cannot_be_removed_does_not_stop_the_others(service: SearchService) -> None:
    report = CatalogService(service).add_images(uploads(0, 4), "Mugs", product_id="mug")
    paths = [a.product.path for a in report.added]
    paths[0].unlink()
    paths[0].mkdir()  # unlinking a folder fails
    (paths[0] / "keep").write_bytes(b"x")
    assert CatalogService(service).delete_product("mug") == 4
    assert [p.exists() for p in paths] == [True, False, False, False]
    assert stored_shas(service, "mug") == set()


# -- leftovers of a crash ---------------------------------------------------------------------------------
@pytest.fixture
def run_cli(settings, monkeypatch) -> Iterator[Callable[..., object]]:
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli_app, [str(a) for a in args])


def test_clean_lists_then_removes_orphan_files_and_points_without_files(
    service: SearchService, run_cli: Callable[..., object]
) -> None:
    report = CatalogService(service).add_images(uploads(0, 3), "Mugs", product_id="mug")
    gone = report.added[0].product.path
    gone.unlink()  # an indexed upload whose file vanished
    orphan = CatalogService(service).uploads_root / "mugs" / "mug-half-written.png"
    orphan.write_bytes(png(9))  # what a crash between writing files and storing points leaves
    part = orphan.with_name(".mug-x.png.1234.part")
    part.write_bytes(b"partial")
    service.close()

    res = run_cli("clean")
    assert res.exit_code == 0, res.output
    assert "file gone: mug (Mugs)" in res.output
    assert "mug-half-written.png" in res.output and ".part" in res.output
    assert "1 index entry and 2 file(s) to clean" in res.output
    assert orphan.exists() and part.exists()  # a dry run changes nothing

    res = run_cli("clean", "--yes")
    assert res.exit_code == 0, res.output
    assert "removed 1 index entry and 2 file(s)" in res.output
    assert not orphan.exists() and not part.exists()
    assert len(service.product("mug")) == 2
    assert_consistent(service)
    service.close()

    res = run_cli("clean")
    assert res.exit_code == 0 and "nothing to clean" in res.output
