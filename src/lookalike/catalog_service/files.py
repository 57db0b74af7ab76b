"""The image files behind points: serving only what was indexed, thumbnails, and the uploads folder
(the only place lookalike writes or deletes files)."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from lookalike.config import Settings
from lookalike.errors import ChangedOnDiskError, ImageError, NotFoundError
from lookalike.images import load_image
from lookalike.records import Product

log = logging.getLogger(__name__)

UPLOADS_DIR = "uploads"


def uploads_root(settings: Settings) -> Path:
    return (settings.data_dir / UPLOADS_DIR).resolve()


def upload_file(settings: Settings, payload: dict[str, object]) -> Path | None:
    """The point's file when it lies in the uploads folder (the only files lookalike may delete)."""
    path = Path(str(payload.get("path", ""))).resolve()
    return path if path.is_relative_to(uploads_root(settings)) else None


def unlink_all(paths: Sequence[Path]) -> None:
    """Remove every file given; one that cannot go is logged, and the others still go."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s: %s (`lookalike clean` will find it)", path, exc)


def verified_file(product_id: str, path: Path, sha256: str) -> Path:
    """`path` if it is still the regular file that was indexed (same content hash); else a clear error.

    A file swapped for a link to another file, or edited since indexing, is never served. The hash is
    cached by (path, device, inode, size, mtime), so an unchanged file is hashed once, not per request.
    Messages name the product, never the server's paths (those go to the log).
    """
    try:
        st = path.stat()  # follows links: the target is what would be served
    except OSError:
        log.warning("image of product %r is gone: %s", product_id, path)
        raise NotFoundError(f"the image file of product '{product_id}' is gone; re-index") from None
    if not stat.S_ISREG(st.st_mode):
        log.warning("image of product %r is not a regular file: %s", product_id, path)
        raise ChangedOnDiskError(f"the image of product '{product_id}' changed since indexing; re-index")
    try:
        actual = _file_sha(str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        log.warning("image of product %r cannot be read: %s", product_id, path)
        raise NotFoundError(f"the image file of product '{product_id}' cannot be read; re-index") from None
    if actual != sha256:
        log.warning("image of product %r changed since indexing: %s", product_id, path)
        raise ChangedOnDiskError(f"the image of product '{product_id}' changed since indexing; re-index")
    return path


@functools.lru_cache(maxsize=4096)
def _file_sha(path: str, dev: int, ino: int, size: int, mtime_ns: int) -> str:
    """Content hash of a file, cached by its identity and version (the key says when to hash again)."""
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as fh:
        fst = os.fstat(fh.fileno())
        if (fst.st_dev, fst.st_ino) != (dev, ino):  # swapped between stat and open: never a match
            return ""
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=256)
def _thumbnail(path: str, sha256: str, size: int, max_pixels: int, max_bytes: int) -> Image.Image:
    img = load_image(Path(path), max_pixels=max_pixels, max_bytes=max_bytes)
    img.thumbnail((size, size))
    return img


def thumbnail(settings: Settings, product: Product, size: int = 256) -> Image.Image:
    """A small RGB picture of an indexed product image; a grey tile when the file is unreadable."""
    s = settings
    try:
        return _thumbnail(str(product.path), product.sha256, size, s.max_image_pixels, s.max_image_bytes)
    except ImageError as exc:
        log.warning("cannot show %s: %s", product.rel_path, exc)
        return Image.new("RGB", (size, size), (200, 200, 200))
