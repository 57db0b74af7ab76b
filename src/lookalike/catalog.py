"""Scan a catalog folder into Products: category from folder names, id from file name or a sidecar."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import logging
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lookalike.errors import CatalogError
from lookalike.images import IMAGE_SUFFIXES
from lookalike.offers import read_offer
from lookalike.records import Offer, Product

log = logging.getLogger(__name__)

SIDECAR_NAMES = ("products.csv", "products.json")
# Payload field telling catalog images (owned by `index`, pruned with the folder) from uploads
# (added through the API/UI, kept under data_dir/uploads) and feed images (owned by `index-feed`,
# pruned with their feed, named in FEED_FIELD): points without it came from a catalog.
SOURCE_FIELD = "source"
SOURCE_CATALOG = "catalog"
SOURCE_UPLOAD = "upload"
SOURCE_FEED = "feed"
FEED_FIELD = "feed"
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
    offer: Offer = Offer()


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


def printable(name: str) -> str:
    """`name` as text that prints and serialises anywhere: bytes that are not UTF-8 shown as \\xNN."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def unusable_reason(path: Path) -> str | None:
    """Why a scanned image file cannot be indexed, checked before anything opens it; None if fine.

    A name that is not UTF-8 cannot be stored in the index (JSON payloads); a pipe or device would
    block or never end when read; a dangling link or a link loop cannot be opened at all.
    """
    if not is_utf8(str(path)):
        return "the file name is not valid UTF-8; rename the file (e.g. with `convmv`) to index it"
    try:
        mode = path.stat().st_mode  # follows file links: the target is what would be read
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not stat.S_ISREG(mode):
        return "not a regular file (a pipe, socket or device); skipped so that reading it cannot hang"
    return None


def iter_image_files(root: Path, on_error: Callable[[OSError], None] | None = None) -> Iterator[Path]:
    """Image files under root, sorted, any-case suffix; hidden entries and symlinked folders skipped.

    Not following folder links rules out symlink loops and walks out of the catalog through a
    linked folder. Links to single files are followed (a shop may link photos kept elsewhere).
    `on_error` hears of folders that cannot be listed (default: a logged warning).
    """
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=on_error or _walk_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(filenames):
            if fname.startswith("."):
                continue
            path = Path(dirpath) / fname
            if path.suffix.lower() in IMAGE_SUFFIXES:
                yield path


def _walk_error(exc: OSError) -> None:
    log.warning("cannot read folder %s: %s", printable(str(exc.filename)), exc.strerror)


def read_sidecar(root: Path) -> dict[str, SidecarEntry]:
    """Optional `products.csv` / `products.json` at the root: per-file product id, title, category.

    CSV columns: path (relative to the root), product_id, title, category, description, and the shop's
    offer columns (price, sale_price, currency, link, availability, brand, color, item_group_id; see
    `lookalike.offers`). JSON: a list of objects with the same keys. Paths are only matched against
    scanned files, never opened. An unreadable price or availability is left out with a warning.
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
            offer = read_offer(row)
            for warning in offer.warnings:
                log.warning("%s: row %d (%s): %s", name, i, printable(key), warning)
            entries[key] = SidecarEntry(**{f: _text(row.get(f)) for f in _SIDECAR_FIELDS}, offer=offer.offer)
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
    offer: Offer = Offer()

    def to_product(self, sha256: str) -> Product:
        return Product(
            product_id=self.product_id,
            category=self.category,
            path=self.path,
            rel_path=self.rel_path,
            sha256=sha256,
            title=self.title,
            description=self.description,
            offer=self.offer,
        )


@dataclass(frozen=True)
class CatalogScan:
    """What a scan found: the files to index and those skipped, each with a printable reason."""

    files: list[ScannedFile]
    skipped: list[tuple[str, str]]  # (printable path relative to the root, why)
    unreadable_dirs: list[str]  # folders (relative to the root) that could not be listed: keep their points


def scan(root: Path, rule: CategoryRule | None = None) -> list[ScannedFile]:
    """List the catalog's image files with their product id and category. Raises on an empty catalog.

    Files that cannot be indexed are left out with a logged warning; `scan_catalog` returns them.
    """
    found = scan_catalog(root, rule)
    for rel, why in found.skipped:
        log.warning("skipping %s: %s", rel, why)
    return found.files


def scan_catalog(root: Path, rule: CategoryRule | None = None) -> CatalogScan:
    """`scan`, plus the image files it had to skip and why (reported by `index`, never a crash)."""
    rule = rule or CategoryRule()
    root = Path(root)
    shown = printable(str(root))
    if not root.exists():
        raise CatalogError(f"{shown}: no such folder")
    if not root.is_dir():
        raise CatalogError(f"{shown}: is a file; give the folder that holds the product images")
    root = root.resolve()
    if not is_utf8(str(root)):
        raise CatalogError(f"{shown}: the folder's path is not valid UTF-8; rename it")
    sidecar = read_sidecar(root)
    files: list[ScannedFile] = []
    skipped: list[tuple[str, str]] = []
    unreadable: list[str] = []

    def folder_error(exc: OSError) -> None:
        rel = Path(exc.filename).relative_to(root).as_posix() if exc.filename else "."
        unreadable.append(rel)
        skipped.append((printable(rel) + "/", f"folder cannot be read ({exc.strerror or exc})"))

    for path in iter_image_files(root, folder_error):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        why = unusable_reason(path)
        if why is not None:
            skipped.append((printable(rel.as_posix()), why))
            continue
        entry = sidecar.get(rel.as_posix(), SidecarEntry())
        files.append(
            ScannedFile(
                path=path,
                rel_path=rel.as_posix(),
                product_id=entry.product_id or path.stem,
                category=entry.category or rule.category_of(rel),
                title=entry.title,
                description=entry.description,
                offer=entry.offer,
            )
        )
    files = _disambiguate(files, sidecar)
    if not files:
        suffixes = ", ".join(sorted(s.lstrip(".") for s in IMAGE_SUFFIXES))
        found = f"; {len(skipped)} skipped, e.g. {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise CatalogError(f"{root}: no product images found (looked for {suffixes}, in any case){found}")
    return CatalogScan(files, skipped, unreadable)


def _disambiguate(files: list[ScannedFile], sidecar: dict[str, SidecarEntry]) -> list[ScannedFile]:
    """File-name ids that repeat in different folders (Shoes/001.png, Bags/001.png) are not one
    product: those get the folder path too (Shoes/001). Several views of one product in one folder,
    or ids given by the sidecar, are left as they are."""
    folders: dict[str, set[str]] = {}
    for f in files:
        if not (sidecar.get(f.rel_path) or SidecarEntry()).product_id:
            folders.setdefault(f.product_id, set()).add(str(PurePosixPath(f.rel_path).parent))
    clashes = {pid for pid, dirs in folders.items() if len(dirs) > 1}
    if not clashes:
        return files
    log.warning(
        "%d file names stand in several folders (e.g. '%s'); their product ids include the folder. "
        "Give ids in a products.csv sidecar to choose them.",
        len(clashes),
        sorted(clashes)[0],
    )
    return [
        dataclasses.replace(f, product_id=str(PurePosixPath(f.rel_path).with_suffix("")))
        if f.product_id in clashes and not (sidecar.get(f.rel_path) or SidecarEntry()).product_id
        else f
        for f in files
    ]


def is_utf8(text: str) -> bool:
    """Whether `text` can be stored at all: lone surrogates (undecodable file names) cannot be UTF-8,
    so they can be neither a payload value nor the name of anything in the index."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
