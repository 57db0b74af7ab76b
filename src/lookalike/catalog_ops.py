"""Catalog operations of the service layer that the web faces share: browse pages, thumbnails,
uploads and deletes. Each takes the SearchService as its first argument; api.py and ui.py call
SearchService and these functions only, never the store or the encoder.

Security rule kept throughout: user strings (category names, product ids, file names) are looked up
in the index or reduced to a slug; none is ever joined into a file-system path as given.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import random
import re
import stat
import threading
import unicodedata
import uuid
import warnings
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from lookalike.catalog import SOURCE_FIELD, SOURCE_UPLOAD, point_id
from lookalike.errors import (
    ChangedOnDiskError,
    ImageError,
    LookalikeError,
    NotFoundError,
    UploadTooLargeError,
)
from lookalike.images import ALLOWED_FORMATS, load_image
from lookalike.records import Product
from lookalike.search import MAX_TOP_K, SearchService
from lookalike.store import PointFilter
from lookalike.words import vectors as word_vectors

log = logging.getLogger(__name__)

UPLOADS_DIR = "uploads"
MAX_NAME_CHARS = 100
_FORMAT_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # not text: cannot be stored in a JSON payload
Progress = Callable[[int, int], None]


# -- naming ------------------------------------------------------------------------------------------
def slugify(text: str, max_len: int = 64) -> str:
    """A file-name-safe form of `text` ([a-z0-9-] only): never empty, never '.', '..' or a path."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_len].strip("-")
    return slug or "x-" + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def clean_label(value: str, what: str) -> str:
    """A category name or product id as stored in the payload: trimmed, printable, bounded."""
    value = " ".join(str(value).split())
    if not value:
        raise LookalikeError(f"the {what} is empty")
    if len(value) > MAX_NAME_CHARS:
        raise LookalikeError(f"the {what} is longer than {MAX_NAME_CHARS} characters")
    forbidden = "\\/" if what == "product id" else "\\"
    if _CONTROL.search(value) or _SURROGATE.search(value) or any(ch in value for ch in forbidden):
        raise LookalikeError(f"the {what} '{value}' contains characters that are not allowed")
    if what == "product id" and value in (".", ".."):  # a URL path segment that clients normalise away
        raise LookalikeError(f"the product id '{value}' is not allowed (it cannot stand in a URL)")
    return value


def uploads_root(service: SearchService) -> Path:
    return (service.settings.data_dir / UPLOADS_DIR).resolve()


def _known_id(product_id: str) -> str:
    """Refuse an empty id up front: an empty filter value would match every product in the index."""
    if not product_id:
        raise NotFoundError("no product '' in the index (give a product id)")
    return product_id


# -- words ------------------------------------------------------------------------------------------------
def text_note(service: SearchService) -> str:
    """How words are matched with the current encoder, so a shopper knows what to expect."""
    name = service.settings.encoder
    if service.text_mode == "joint":
        return f"Words and photos share one embedding space ('{name}'): describe the product freely."
    return (
        f"The current encoder ('{name}') sees pixels only, so words are matched against product titles "
        "and descriptions, the ~1000 everyday objects the image model recognises (e.g. 'running shoe', "
        "'sweatshirt', 'wine bottle') and colour names ('red', 'navy'). Brands, fits and materials are "
        "found only when the titles say them. A joint image-text encoder (ImageBind) understands more."
    )


# -- browsing ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CatalogProduct:
    """A product as browsing shows it: its views sorted by path, the first one as its cover."""

    product_id: str
    category: str
    title: str | None
    views: tuple[Product, ...]

    @property
    def cover(self) -> Product:
        return self.views[0]


@dataclass(frozen=True)
class BrowsePage:
    category: str
    total: int  # products in the category
    offset: int
    limit: int
    products: list[CatalogProduct]
    seed: int | None = None  # set when shuffled: pass it back with the next offset to continue

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.products)
        return end if end < self.total else None


def category_products(service: SearchService, category: str) -> list[CatalogProduct]:
    """Every product of a category (from the index), sorted by id. Unknown category → NotFoundError."""
    if category not in service.categories():
        raise NotFoundError(f"no category '{category}' in the index")
    views: dict[str, list[Product]] = {}
    for p in service.store.iter_points(PointFilter(category=category)):
        product = Product.from_payload(p.payload)
        views.setdefault(product.product_id, []).append(product)
    out = []
    for pid in sorted(views):
        vs = tuple(sorted(views[pid], key=lambda v: v.rel_path))
        out.append(CatalogProduct(pid, category, vs[0].title, vs))
    return out


def browse(
    service: SearchService,
    category: str,
    offset: int = 0,
    limit: int = 24,
    *,
    shuffle: bool = False,
    seed: int | None = None,
) -> BrowsePage:
    """SearchService.browse(category, offset, limit, shuffle, seed) -> BrowsePage.

    Without shuffle: products in id order. With shuffle: a permutation fixed by `seed` (a fresh one
    when None), so paging on with the same seed shows every product once before any repeats.
    """
    if offset < 0 or not 1 <= limit <= MAX_TOP_K:
        raise LookalikeError(f"offset must be ≥ 0 and limit between 1 and {MAX_TOP_K}")
    products = category_products(service, category)
    if shuffle:
        seed = random.SystemRandom().randrange(2**31) if seed is None else seed
        random.Random(seed).shuffle(products)
    else:
        seed = None
    return BrowsePage(category, len(products), offset, limit, products[offset : offset + limit], seed)


def examples(service: SearchService, per_category: int = 1) -> list[Product]:
    """Example query images from the index: the first product of each category (for newcomers)."""
    out: list[Product] = []
    for category in service.categories():
        points, _ = service.store.scroll(PointFilter(category=category), limit=64)
        seen: dict[str, Product] = {}
        for p in sorted((Product.from_payload(p.payload) for p in points), key=lambda v: v.rel_path):
            seen.setdefault(p.product_id, p)
        out.extend(list(seen.values())[:per_category])
    return out


def product_views(service: SearchService, product_id: str) -> list[tuple[str, Product]]:
    """(point id, view) for every image of a product, in path order. Unknown product → NotFoundError."""
    views = [
        (p.id, Product.from_payload(p.payload))
        for p in service.store.iter_points(PointFilter(product_id=_known_id(product_id)))
    ]
    if not views:
        raise NotFoundError(f"no product '{product_id}' in the index")
    return sorted(views, key=lambda v: v[1].rel_path)


# -- product images ------------------------------------------------------------------------------------
def product_image_path(
    service: SearchService, product_id: str, view: int = 0, point: str | None = None
) -> Path:
    """SearchService.product_image(product_id, view=0, point=None) -> Path.

    Only a path stored in the index payload for that product is ever returned, and only while the file
    is the one indexed (see verified_file); `point` (a hit's point_id) picks the view that matched.
    """
    _known_id(product_id)
    if point is not None:
        try:
            pid = str(uuid.UUID(point))
        except ValueError:
            raise NotFoundError(f"no image '{point}' for product '{product_id}'") from None
        found = [p for p in service.store.retrieve([pid]) if p.payload.get("product_id") == product_id]
        if not found:
            raise NotFoundError(f"no image '{point}' for product '{product_id}'")
        product = Product.from_payload(found[0].payload)
    else:
        views = service.product(product_id)
        if not 0 <= view < len(views):
            raise NotFoundError(f"product '{product_id}' has {len(views)} image(s); there is no view {view}")
        product = views[view]
    return verified_file(product_id, product.path, product.sha256)


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


def thumbnail(service: SearchService, product: Product, size: int = 256) -> Image.Image:
    """A small RGB picture of an indexed product image; a grey tile when the file is unreadable."""
    s = service.settings
    try:
        return _thumbnail(str(product.path), product.sha256, size, s.max_image_pixels, s.max_image_bytes)
    except ImageError as exc:
        log.warning("cannot show %s: %s", product.rel_path, exc)
        return Image.new("RGB", (size, size), (200, 200, 200))


# -- adding and deleting products ----------------------------------------------------------------------
# Every catalog write of a service (add, replace, delete, clean) holds that service's write lock while it
# touches the store or the uploads folder, so concurrent writes to one product apply one after the other,
# each whole. Decoding and embedding happen before the lock: only the short store/file phase is serialised.
_LOCKS: weakref.WeakKeyDictionary[SearchService, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def write_lock(service: SearchService) -> threading.RLock:
    """The lock that serialises the catalog writes of `service` (one per service, created on demand)."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(service)
        if lock is None:
            lock = _LOCKS[service] = threading.RLock()
        return lock


@dataclass(frozen=True)
class Added:
    product: Product
    point_id: str


@dataclass
class AddReport:
    added: list[Added] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file name, why)
    replaced: int = 0  # points of the product removed first (replace=True)


@dataclass(frozen=True)
class _Header:
    """An upload whose header was read (format, size) and nothing decoded yet."""

    label: str
    data: bytes
    pixels: int


@dataclass(frozen=True)
class _Ready:
    """An embedded upload waiting to be stored: its bytes, its point and its vectors (no pixels)."""

    product: Product
    data: bytes
    vector: np.ndarray
    extras: dict[str, np.ndarray | None]


def _label(name: str) -> str:
    return PurePosixPath(str(name).replace("\\", "/")).name or "uploaded image"


def _read_header(service: SearchService, name: str, data: bytes) -> _Header:
    """Format and size from the header alone: a 7000×7000 PNG costs nothing here."""
    label = _label(name)
    s = service.settings
    if not data:
        raise ImageError(f"{label}: the file is empty (0 bytes)")
    if len(data) > s.max_image_bytes:
        raise ImageError(f"{label}: {len(data):,} bytes is over the limit of {s.max_image_bytes:,}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bomb warnings are judged by our own limit just below
            with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as img:
                width, height = img.size
    except Exception:  # noqa: BLE001 - the full loader fails at the same step and says exactly why
        service.load_query_image(data, name=label)
        raise ImageError(f"{label}: not an image lookalike can read (png, jpg, webp, gif, bmp)") from None
    if width < 1 or height < 1:
        raise ImageError(f"{label}: the image has no pixels ({width}×{height})")
    if width * height > s.max_image_pixels:
        raise ImageError(
            f"{label}: {width}×{height} pixels is over the limit of {s.max_image_pixels:,} "
            "(set LOOKALIKE_MAX_IMAGE_PIXELS to allow larger images)"
        )
    return _Header(label, data, width * height)


def _check_request_pixels(service: SearchService, headers: Sequence[_Header]) -> None:
    total = sum(h.pixels for h in headers)
    cap = service.settings.max_upload_pixels
    if total > cap:
        raise UploadTooLargeError(
            f"the {len(headers)} image(s) of this request hold {total:,} pixels in all, over the limit of "
            f"{cap:,} per request (LOOKALIKE_MAX_UPLOAD_PIXELS): send fewer or smaller images at a time"
        )


def _batches(headers: Sequence[_Header], size: int, pixels: int) -> list[list[_Header]]:
    """Consecutive groups of at most `size` images and (but for a lone large one) `pixels` pixels:
    only one group is ever decoded at a time."""
    out: list[list[_Header]] = []
    for h in headers:
        if out and len(out[-1]) < size and sum(x.pixels for x in out[-1]) + h.pixels <= pixels:
            out[-1].append(h)
        else:
            out.append([h])
    return out


def _decoded(service: SearchService, h: _Header) -> tuple[Image.Image, bytes, str]:
    """The upload decoded with every check, and the bytes and suffix to store it under."""
    image = service.load_query_image(h.data, name=h.label)  # size, format, corruption, bomb checks
    with Image.open(io.BytesIO(h.data)) as raw:
        suffix = _FORMAT_SUFFIX.get(raw.format or "")
    if suffix is None:  # a format Pillow reads but we do not store as is (tiff): keep a PNG
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return image, buf.getvalue(), ".png"
    return image, h.data, suffix


def add_images(
    service: SearchService,
    uploads: Sequence[tuple[str, bytes]],
    category: str,
    *,
    product_id: str | None = None,
    title: str | None = None,
    replace: bool = False,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
) -> AddReport:
    """SearchService.add_images(uploads, category, product_id=None, title=None, replace=False) -> AddReport.

    Each upload is (original file name, bytes). Images are checked, saved as
    data_dir/uploads/<category slug>/<name slug>-<sha12><ext> and embedded at once. Without a
    product_id each file is its own product, named after the file. replace=True also removes the
    product's other images. all_or_nothing=True refuses the whole batch if any file is bad.

    Bounded: headers are read first and the request's total pixels capped (UploadTooLargeError);
    then images are decoded and embedded a small batch at a time, keeping only their vectors. Only
    then, under the write lock: files are written, all points stored in one upsert, the replaced
    points removed and, last, their files. A crash at any moment leaves at worst files that no point
    references (`lookalike clean` lists and removes them), never a point without its file.
    """
    category = clean_label(category, "category")
    if product_id is not None:
        product_id = clean_label(product_id, "product id")
    title = (" ".join(title.split())[:200] or None) if title else None
    if not uploads:
        raise LookalikeError("no images to add")
    report = AddReport()
    headers: list[_Header] = []
    for name, data in uploads:
        try:
            headers.append(_read_header(service, name, data))
        except ImageError as exc:
            report.failed.append((_label(name), _reason(exc, _label(name))))
    if report.failed and all_or_nothing:
        raise ImageError("; ".join(f"{label}: {why}" for label, why in report.failed))
    if not headers:
        return report
    _check_request_pixels(service, headers)

    ready = _embed_uploads(service, headers, category, product_id, title, report, all_or_nothing, progress)
    if not ready:
        return report
    with write_lock(service):
        ids = _store_uploads(service, ready)
        report.added.extend(Added(r.product, pid) for r, pid in zip(ready, ids, strict=True))
        if replace and product_id is not None:  # only once the new images are stored: a failure loses nothing
            report.replaced = _delete_points(service, product_id, keep=set(ids))
        service.store.optimize()
    log.info("added %d image(s) to '%s' (%d refused)", len(report.added), category, len(report.failed))
    return report


def _reason(exc: ImageError, label: str) -> str:
    return str(exc).removeprefix(f"{label}: ")


def _embed_uploads(
    service: SearchService,
    headers: Sequence[_Header],
    category: str,
    product_id: str | None,
    title: str | None,
    report: AddReport,
    all_or_nothing: bool,
    progress: Progress | None,
) -> list[_Ready]:
    """Decode, embed and drop, one bounded batch at a time; duplicates (same point) are embedded once."""
    s = service.settings
    data_dir = s.data_dir.resolve()
    folder = uploads_root(service) / slugify(category)
    ready: dict[str, _Ready] = {}
    done = 0
    if progress:
        progress(0, len(headers))
    for batch in _batches(headers, s.batch_size, s.max_image_pixels):
        images: list[Image.Image] = []
        products: list[Product] = []
        stored: list[bytes] = []
        labels: list[str] = []
        for h in batch:
            try:
                image, data, suffix = _decoded(service, h)
            except ImageError as exc:
                if all_or_nothing:
                    raise
                report.failed.append((h.label, _reason(exc, h.label)))
                continue
            sha = hashlib.sha256(data).hexdigest()
            pid = product_id or clean_label(slugify(PurePosixPath(h.label).stem), "product id")
            path = folder / f"{_file_stem(pid)}-{sha[:12]}{suffix}"
            rel = path.relative_to(data_dir).as_posix()
            images.append(image)
            products.append(Product(pid, category, path, rel, sha, title))
            stored.append(data)
            labels.append(h.label)
        if images:
            done_ = word_vectors.embed_each(service.encoder, products, images)  # as ingest embeds
            failed = [(labels[i], why) for i, why in done_.failed]
            if failed and all_or_nothing:
                raise ImageError("; ".join(f"{label}: {why}" for label, why in failed))
            report.failed.extend(failed)
            for row_no, i in enumerate(done_.done):
                row = {name: column[row_no] for name, column in done_.extras.items()}
                p = products[i]
                ready[point_id(p.rel_path)] = _Ready(p, stored[i], np.asarray(done_.vectors[row_no]), row)
        del images  # the decoded pixels of this batch go before the next batch is decoded
        done += len(batch)
        if progress:
            progress(done, len(headers))
    return list(ready.values())


def _store_uploads(service: SearchService, ready: Sequence[_Ready]) -> list[str]:
    """Files first, then one upsert; if the upsert fails, the files it would have referenced go again."""
    root = uploads_root(service)
    created: list[Path] = []
    ids = [point_id(r.product.rel_path) for r in ready]
    try:
        for r in ready:
            path = r.product.path
            if path.resolve().parent.parent != root:  # cannot happen with slugs; checked all the same
                raise LookalikeError("refusing to write outside the uploads folder")
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
                tmp.write_bytes(r.data)
                tmp.replace(path)
                created.append(path)
        vectors = np.stack([r.vector for r in ready])
        names = {name for r in ready for name in r.extras}
        extras = {name: [r.extras.get(name) for r in ready] for name in names}
        # marked as uploads: `index --prune` of a catalog folder keeps them
        payloads = [{**r.product.payload(), SOURCE_FIELD: SOURCE_UPLOAD} for r in ready]
        service.store.upsert(ids, vectors, payloads, extras)
    except BaseException:
        _unlink_all(created)  # no point references them: the store call failed
        raise
    return ids


def _unlink_all(paths: Sequence[Path]) -> None:
    """Remove every file given; one that cannot go is logged, and the others still go."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s: %s (`lookalike clean` will find it)", path, exc)


def _file_stem(product_id: str) -> str:
    """File names carry the product (one file = one point = one product); distinct ids never collide."""
    slug = slugify(product_id, 40)
    if slug == product_id:
        return slug
    return f"{slug}-{hashlib.sha1(product_id.encode('utf-8')).hexdigest()[:6]}"


def _delete_points(
    service: SearchService, product_id: str, keep: frozenset[str] | set[str] = frozenset()
) -> int:
    """Remove a product's points (but `keep`); uploaded files of removed points go too, catalog files stay.

    The points go first and their files after, so no point ever refers to a missing file.
    """
    _known_id(product_id)
    with write_lock(service):
        every = service.store.iter_points(PointFilter(product_id=product_id))
        points = [p for p in every if p.id not in keep]
        service.store.delete([p.id for p in points])
        _unlink_all([f for f in (_upload_file(service, p.payload) for p in points) if f is not None])
    return len(points)


def _upload_file(service: SearchService, payload: dict[str, object]) -> Path | None:
    """The point's file when it lies in the uploads folder (the only files lookalike may delete)."""
    path = Path(str(payload.get("path", ""))).resolve()
    return path if path.is_relative_to(uploads_root(service)) else None


def delete_product(service: SearchService, product_id: str) -> int:
    """SearchService.delete_product(product_id) -> images removed. Unknown product → NotFoundError.

    Images that came from a catalog folder stay on disk (the next `lookalike index` of that folder
    adds them back); images uploaded through the faces are deleted with the product.
    """
    with write_lock(service):
        service.product(_known_id(product_id))  # NotFoundError for an unknown id
        return _delete_points(service, product_id)


# -- leftovers -----------------------------------------------------------------------------------------
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
    """SearchService.find_leftovers() -> Leftovers (nothing is changed)."""
    with write_lock(service):  # an upload half-way through its files is not mistaken for leftovers
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
    root = uploads_root(service)
    if root.is_dir():
        out.orphan_files = sorted(
            f for f in root.rglob("*") if not f.is_dir() and f.resolve() not in referenced
        )
    return out


def clean(service: SearchService, *, apply: bool = False) -> Leftovers:
    """SearchService.clean(apply=False) -> Leftovers: with apply, points without a file are removed
    from the index and then the orphan upload files deleted (points first: never a point without file)."""
    with write_lock(service):
        found = _find_leftovers(service)
        if apply and not found.empty:
            if found.missing_ids:
                service.store.delete(found.missing_ids)
            _unlink_all(found.orphan_files)
            log.info(
                "removed %d point(s) without a file and %d orphan upload file(s)",
                len(found.missing_ids),
                len(found.orphan_files),
            )
    return found
