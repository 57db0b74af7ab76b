"""What a crash or a hand edit can leave behind, found and (on request) cleaned: `lookalike clean`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from lookalike.catalog_service.files import unlink_all, uploads_root
from lookalike.records import Product
from lookalike.search import SearchService

log = logging.getLogger(__name__)


@dataclass
class Leftovers:
    """What a crash (or a hand edit) can leave: files nobody references, points without their file."""

    orphan_files: list[Path] = field(default_factory=list)  # under data_dir/uploads, no point refers to them
    missing_files: list[Product] = field(default_factory=list)  # points whose image file is gone
    missing_ids: list[str] = field(default_factory=list)  # their point ids

    @property
    def empty(self) -> bool:
        return not (self.orphan_files or self.missing_files)


def find_leftovers(service: SearchService) -> Leftovers:
    """Upload files no point references, and points whose file is gone (nothing is changed)."""
    with service.write_lock:  # an upload half-way through its files is not mistaken for leftovers
        return _find_leftovers(service)


def _find_leftovers(service: SearchService) -> Leftovers:
    out = Leftovers()
    referenced: set[Path] = set()
    for p in service.store.iter_points():
        product = Product.from_payload(p.payload)
        referenced.add(product.path.resolve())
        if not product.path.is_file():
            out.missing_files.append(product)
            out.missing_ids.append(p.id)
    root = uploads_root(service.settings)
    if root.is_dir():
        out.orphan_files = sorted(
            f for f in root.rglob("*") if not f.is_dir() and f.resolve() not in referenced
        )
    return out


def clean(service: SearchService, *, apply: bool = False) -> Leftovers:
    """What find_leftovers finds; with apply, points without a file are removed from the index and then
    the orphan upload files deleted (points first: never a point without its file)."""
    with service.write_lock:
        found = _find_leftovers(service)
        if apply and not found.empty:
            if found.missing_ids:
                service.store.delete(found.missing_ids)
            unlink_all(found.orphan_files)
            log.info(
                "removed %d point(s) without a file and %d orphan upload file(s)",
                len(found.missing_ids),
                len(found.orphan_files),
            )
    return found
