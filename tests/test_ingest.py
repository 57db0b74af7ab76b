"""Ingest is incremental, idempotent and resumable, with the real encoder and the real embedded store."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from lookalike.catalog import point_id
from lookalike.catalog_service import CatalogService
from lookalike.config import Settings
from lookalike.errors import SchemaMismatchError
from lookalike.search import SearchService
from lookalike.store import Schema, open_store


class Crash(RuntimeError):
    pass


def _points_by_path(svc: SearchService) -> dict[str, str]:
    return {p.payload["rel_path"]: p.payload["sha256"] for p in svc.store.iter_points()}


def test_index_then_reindex_embeds_nothing(service: SearchService, catalog_copy: Path) -> None:
    first = service.index(catalog_copy)
    assert (first.scanned, first.new, first.embedded, first.failed) == (45, 45, 45, [])
    second = service.index(catalog_copy)
    assert (second.new, second.changed, second.unchanged, second.embedded) == (0, 0, 45, 0)
    assert service.store.count() == 45


def test_changed_file_is_reembedded_and_deleted_file_pruned(
    service: SearchService, catalog_copy: Path
) -> None:
    service.index(catalog_copy)
    changed = catalog_copy / "Hoodies" / "black-hoodie-1.png"
    Image.open(changed).convert("RGB").rotate(90).save(changed)
    gone = catalog_copy / "Paints" / "nebula-night-sky-paint-1.png"
    gone.unlink()

    report = service.index(catalog_copy)
    assert (report.changed, report.embedded, report.removed, report.stale) == (1, 1, 0, 1)
    assert service.store.count() == 45  # without --prune the gone file stays searchable

    report = service.index(catalog_copy, prune=True)
    assert (report.embedded, report.removed) == (0, 1)
    paths = _points_by_path(service)
    assert len(paths) == 44 and "Paints/nebula-night-sky-paint-1.png" not in paths


def test_crash_midway_then_resume_loses_and_duplicates_nothing(
    service: SearchService, catalog_copy: Path
) -> None:
    def crash_after_two(n: int) -> None:
        if n == 2:
            raise Crash("killed")

    with pytest.raises(Crash):
        service.index(catalog_copy, after_batch=crash_after_two)
    batch = service.settings.batch_size
    assert service.store.count() == 2 * batch

    resumed = service.index(catalog_copy)
    assert (resumed.unchanged, resumed.embedded) == (2 * batch, 45 - 2 * batch)
    paths = _points_by_path(service)
    assert service.store.count() == len(paths) == 45
    ids = [p.id for p in service.store.iter_points()]
    assert not [i for i, n in Counter(ids).items() if n > 1]


def test_bad_files_are_skipped_reported_and_the_rest_indexed(
    service: SearchService, catalog_copy: Path
) -> None:
    (catalog_copy / "Hoodies" / "zero.png").write_bytes(b"")
    (catalog_copy / "Hoodies" / "text.jpg").write_text("not an image")
    good = (catalog_copy / "Hoodies" / "black-hoodie-1.png").read_bytes()
    (catalog_copy / "Hoodies" / "truncated.png").write_bytes(good[: len(good) // 3])
    report = service.index(catalog_copy)
    failed = dict(report.failed)
    assert set(failed) == {"Hoodies/zero.png", "Hoodies/text.jpg", "Hoodies/truncated.png"}
    assert "empty" in failed["Hoodies/zero.png"]
    assert report.embedded == service.store.count() == 45


def test_opening_an_index_with_another_encoder_is_a_clear_error(
    settings: Settings, service: SearchService, catalog_copy: Path
) -> None:
    shutil.rmtree(catalog_copy / "T-shirts")
    service.index(catalog_copy)
    service.close()
    with pytest.raises(SchemaMismatchError, match="efficientnet-lite0"):
        open_store(settings, Schema("imagebind", 1024))


@pytest.fixture
def small_catalog(catalog_copy: Path) -> Path:
    """Homewares and Juices (8 images): quick to embed."""
    for folder in catalog_copy.iterdir():
        if folder.is_dir() and folder.name not in ("Homewares", "Juices"):
            shutil.rmtree(folder)
    return catalog_copy


def test_prune_keeps_products_uploaded_through_the_faces(
    service: SearchService, small_catalog: Path, demo_catalog: Path
) -> None:
    service.index(small_catalog)
    wine = (demo_catalog / "Alcohol" / "red-wine-1.png").read_bytes()
    added = CatalogService(service).add_images([("house red.png", wine)], "Wine").added[0]
    (small_catalog / "Juices" / "carrot-juice-1.png").unlink()

    # a point indexed before `source` existed counts as a catalog point: pruned when its file is gone
    legacy = next(p for p in service.store.iter_points() if p.payload["product_id"] == "orange-juice")
    vec = service.store.retrieve([legacy.id], with_vectors=True)[0].vector
    old = {k: v for k, v in legacy.payload.items() if k != "source"} | {"rel_path": "Juices/old.png"}
    service.store.upsert([point_id("Juices/old.png")], vec[None, :], [old])

    report = service.index(small_catalog, prune=True)
    assert (report.new, report.embedded, report.removed) == (0, 0, 2)
    kept = service.store.retrieve([added.point_id])
    assert (
        kept and kept[0].payload["source"] == "upload" and kept[0].payload["rel_path"].startswith("uploads/")
    )
    assert added.product.path.is_file()
    sources = Counter(p.payload["source"] for p in service.store.iter_points())
    assert sources == {"catalog": 7, "upload": 1}
    assert service.search_image(wine, top_k=1)[0].product.product_id == "house-red"


def test_a_catalog_file_at_an_upload_path_is_skipped_not_overwritten(
    service: SearchService, small_catalog: Path
) -> None:
    service.index(small_catalog)
    cushion = (small_catalog / "Homewares" / "white-parrot-cushion-1.png").read_bytes()
    added = CatalogService(service).add_images([("cushion.png", cushion)], "Mugs").added[0]
    clash = small_catalog / added.product.rel_path  # a catalog folder named "uploads", same file name
    clash.parent.mkdir(parents=True)
    clash.write_bytes((small_catalog / "Juices" / "orange-juice-1.png").read_bytes())

    report = service.index(small_catalog, prune=True)
    assert [rel for rel, _ in report.failed] == [added.product.rel_path]
    assert "uploaded through the API or UI" in report.failed[0][1]
    kept = service.store.retrieve([added.point_id])[0].payload
    assert kept["source"] == "upload" and kept["path"] == str(added.product.path)
    assert service.store.count() == 9


def test_moved_catalog_updates_paths_without_reembedding(service: SearchService, catalog_copy: Path) -> None:
    service.index(catalog_copy)
    moved = catalog_copy.parent / "moved-catalog"
    catalog_copy.rename(moved)
    report = service.index(moved)
    assert (report.changed, report.embedded, report.new) == (45, 0, 0)
    paths = {str(p.payload["path"]) for p in service.store.iter_points()}
    assert all(path.startswith(str(moved.resolve())) for path in paths)
    again = service.index(moved)
    assert (again.changed, again.unchanged, again.embedded) == (0, 45, 0)


def test_a_renamed_title_is_reembedded_for_word_search(service: SearchService, catalog_copy: Path) -> None:
    service.index(catalog_copy)
    sidecar = catalog_copy / "products.csv"
    sidecar.write_text(sidecar.read_text().replace("Blue Hoodie", "Cobalt Zebra Sweater"))
    report = service.index(catalog_copy)
    assert (report.changed, report.embedded) == (1, 1)
    assert service.search_text("cobalt zebra", top_k=1)[0].product.product_id == "blue-hoodie"


def _strip_png(path: Path, size: tuple[int, int] = (1000, 1)) -> Path:
    """The 84-byte 1000×1 image of issue 14: it decodes, and the old padding rounded its height to 0."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (30, 60, 200)).save(path, format="PNG")
    return path


def test_extreme_shapes_are_indexed_with_the_rest(service: SearchService, catalog_copy: Path) -> None:
    odd = {
        "Hoodies/strip.png": (1000, 1),
        "Hoodies/pole.png": (1, 1000),
        "Odd/dot.png": (1, 1),
        "Odd/tiny.png": (2, 3),
        "Odd/long.png": (2, 50_000),
    }
    for rel, size in odd.items():
        _strip_png(catalog_copy / rel, size)
    report = service.index(catalog_copy)
    assert report.failed == []
    assert report.embedded == service.store.count() == 45 + len(odd)
    assert set(odd) <= set(_points_by_path(service))
    # the strip's own photo finds it: it was embedded as itself, not as a stand-in
    hit = service.search_image(catalog_copy / "Hoodies/strip.png", top_k=1)[0]
    assert hit.product.rel_path == "Hoodies/strip.png" and hit.score > 0.999


def test_cli_index_of_a_catalog_holding_the_strip_exits_0(
    settings: Settings, catalog_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from lookalike.cli import app

    strip = _strip_png(catalog_copy / "Hoodies" / "strip.png")
    assert strip.stat().st_size < 100
    monkeypatch.setenv("COLUMNS", "200")
    res = CliRunner().invoke(app, ["index", str(catalog_copy), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "46 new" in res.output and "46 embedded" in res.output
