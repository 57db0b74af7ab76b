"""Feed images on disk and their point ids.

Downloaded images are kept under data_dir/feeds/<feed name>/, named by their content hash, so that
the API and the UI serve and thumbnail them exactly as catalog files (the payload's `path` is a
file lookalike owns) and one image shared by several products is stored once. A file is written
before the point that refers to it and removed only after no point of its feed refers to it: a kill
at any moment leaves at worst an unreferenced file, which the feed's next complete run removes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

FEEDS_DIR = "feeds"
SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}
_NAMESPACE = uuid.UUID("0b3c0f7e-5a8e-5d4b-8f0e-6665656473a1")


def feed_folder(data_dir: Path, name: str) -> Path:
    return data_dir.resolve() / FEEDS_DIR / name


def image_path(folder: Path, sha256: str, image_format: str | None) -> Path:
    return folder / sha256[:2] / f"{sha256}{SUFFIXES.get(image_format or '', '.img')}"


def feed_point_id(feed: str, product_id: str, url: str) -> str:
    """The same product image of the same feed always maps to one point (re-runs update it). NUL
    separators keep it apart from every catalog id (derived from a path, which holds no NUL)."""
    return str(uuid.uuid5(_NAMESPACE, f"feed\0{feed}\0{product_id}\0{url}"))


def write_image(path: Path, data: bytes) -> None:
    """Write once, atomically: a reader (or a crash) never sees half a file under the final name."""
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def sweep(folder: Path, referenced: Iterable[Path]) -> int:
    """Remove files under `folder` that no point refers to (replaced images, pruned products, leftovers
    of a killed run); returns how many went."""
    if not folder.is_dir():
        return 0
    keep = {p.resolve() for p in referenced}
    removed = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.resolve() not in keep:
            try:
                path.unlink()
                removed += 1
            except OSError as exc:
                log.warning("could not remove %s: %s", path, exc)
    for sub in sorted((d for d in folder.iterdir() if d.is_dir()), reverse=True):
        if not any(sub.iterdir()):
            sub.rmdir()
    return removed
