"""Scan a catalog folder into Products: category from folder names, id from file name or a sidecar."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lookalike.errors import CatalogError
from lookalike.images import IMAGE_SUFFIXES
from lookalike.models import Product

log = logging.getLogger(__name__)

SIDECAR_NAMES = ("products.csv", "products.json")
_POINT_NAMESPACE = uuid.UUID("6f0c7a52-3b1e-5d0e-9a51-6c6f6f6b616c")


@dataclass(frozen=True)
class CategoryRule:
    """How folder names become a category: `Footwear_Women/x.jpg` → `Footwear Women`.

    mode 'path' joins every folder level under the root with `separator`, 'top' keeps the first
    level, 'parent' the folder that holds the file. Underscores become spaces in every mode.
    Files straight under the root get `uncategorized`.
    """

    mode: str = "path"
    separator: str = " / "
    uncategorized: str = "Uncategorized"

    def category_of(self, rel: PurePosixPath) -> str:
        folders = [_pretty(p) for p in rel.parts[:-1]]
        folders = [f for f in folders if f]
        if not folders:
            return self.uncategorized
        if self.mode == "top":
            return folders[0]
        if self.mode == "parent":
            return folders[-1]
        return self.separator.join(folders)


@dataclass(frozen=True)
class SidecarEntry:
    product_id: str | None = None
    title: str | None = None
    category: str | None = None
    description: str | None = None


_SIDECAR_FIELDS = ("product_id", "title", "category", "description")


def _text(value: object) -> str | None:
    return (str(value).strip() or None) if value not in (None, "") else None


def _pretty(name: str) -> str:
    return " ".join(name.replace("_", " ").split())


def point_id(rel_path: str) -> str:
    """Deterministic point id: the same file path always maps to the same point (re-runs update)."""
    return str(uuid.uuid5(_POINT_NAMESPACE, rel_path))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def iter_image_files(root: Path) -> Iterator[Path]:
    """Image files under root, sorted, any-case suffix; hidden entries and symlinked folders skipped.

    Not following folder links rules out symlink loops and escapes out of the catalog.
    """
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=_walk_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(filenames):
            if fname.startswith("."):
                continue
            path = Path(dirpath) / fname
            if path.suffix.lower() in IMAGE_SUFFIXES:
                yield path


def _walk_error(exc: OSError) -> None:
    log.warning("cannot read folder %s: %s", exc.filename, exc.strerror)


def read_sidecar(root: Path) -> dict[str, SidecarEntry]:
    """Optional `products.csv` / `products.json` at the root: per-file product id, title, category.

    CSV columns: path (relative to the root), product_id, title, category, description.
    JSON: a list of objects with the same keys. Paths are only matched against scanned files, never opened.
    """
    entries: dict[str, SidecarEntry] = {}
    for name in SIDECAR_NAMES:
        path = root / name
        if not path.is_file():
            continue
        try:
            if name.endswith(".csv"):
                with path.open(newline="", encoding="utf-8-sig") as fh:
                    rows = list(csv.DictReader(fh))
            else:
                rows = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(rows, list):
                    raise ValueError("expected a JSON list of objects")
        except (OSError, ValueError, csv.Error) as exc:
            raise CatalogError(f"{path}: cannot read the product sidecar ({exc})") from None
        for i, row in enumerate(rows, start=1):
            if not isinstance(row, dict) or not row.get("path"):
                raise CatalogError(f"{path}: row {i} has no 'path'")
            key = PurePosixPath(str(row["path"]).replace("\\", "/")).as_posix()
            entries[key] = SidecarEntry(**{f: _text(row.get(f)) for f in _SIDECAR_FIELDS})
        break
    return entries


@dataclass(frozen=True)
class ScannedFile:
    """A file found by the scan, before hashing (hashing reads the whole file)."""

    path: Path
    rel_path: str
    product_id: str
    category: str
    title: str | None
    description: str | None = None

    def to_product(self, sha256: str) -> Product:
        return Product(
            product_id=self.product_id,
            category=self.category,
            path=self.path,
            rel_path=self.rel_path,
            sha256=sha256,
            title=self.title,
            description=self.description,
        )


def scan(root: Path, rule: CategoryRule | None = None) -> list[ScannedFile]:
    """List the catalog's image files with their product id and category. Raises on an empty catalog."""
    rule = rule or CategoryRule()
    root = Path(root)
    if not root.exists():
        raise CatalogError(f"{root}: no such folder")
    if not root.is_dir():
        raise CatalogError(f"{root}: is a file; give the folder that holds the product images")
    root = root.resolve()
    sidecar = read_sidecar(root)
    files: list[ScannedFile] = []
    for path in iter_image_files(root):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        entry = sidecar.get(rel.as_posix(), SidecarEntry())
        files.append(
            ScannedFile(
                path=path,
                rel_path=rel.as_posix(),
                product_id=entry.product_id or path.stem,
                category=entry.category or rule.category_of(rel),
                title=entry.title,
                description=entry.description,
            )
        )
    if not files:
        suffixes = ", ".join(sorted(s.lstrip(".") for s in IMAGE_SUFFIXES))
        raise CatalogError(f"{root}: no product images found (looked for {suffixes}, in any case)")
    return files
