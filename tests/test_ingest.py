"""Ingest is incremental, idempotent and resumable, with the real encoder and the real embedded store."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

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
