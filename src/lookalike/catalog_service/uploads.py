"""Adding and deleting products through the API/UI, bounded and serialised.

Uploads embed through the same write path as `lookalike index` (ingest.embed_products, then
ingest.store_products), marked as uploads so that `index --prune` keeps them. Every write holds the
service's write lock while it touches the store or the uploads folder, so concurrent writes to one
product apply one after the other, each whole; decoding and embedding happen before the lock.
"""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from PIL import Image

from lookalike.catalog import SOURCE_UPLOAD, point_id
from lookalike.catalog_service.files import unlink_all, upload_file, uploads_root
from lookalike.catalog_service.naming import clean_label, file_stem, known_id, slugify, upload_label
from lookalike.errors import ImageError, LookalikeError, UploadTooLargeError
from lookalike.images import ALLOWED_FORMATS
from lookalike.ingest import embed_products, store_products
from lookalike.records import Product
from lookalike.search import SearchService
from lookalike.store import PointFilter
from lookalike.words.vectors import Embedded, concat_embedded

log = logging.getLogger(__name__)

_FORMAT_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp"}
Progress = Callable[[int, int], None]


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
class Header:
    """An upload whose header was read (format, size) and nothing decoded yet."""

    label: str
    data: bytes
    pixels: int


@dataclass
class _Embedded:
    """Uploads embedded and waiting to be stored: their products, bytes and vectors (no pixels)."""

    products: list[Product] = field(default_factory=list)
    data: list[bytes] = field(default_factory=list)
    parts: list[Embedded] = field(default_factory=list)


def _read_header(service: SearchService, name: str, data: bytes) -> Header:
    """Format and size from the header alone: a 7000×7000 PNG costs nothing here."""
    label = upload_label(name)
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
    return Header(label, data, width * height)


def _check_request_pixels(service: SearchService, headers: Sequence[Header]) -> None:
    total = sum(h.pixels for h in headers)
    cap = service.settings.max_upload_pixels
    if total > cap:
        raise UploadTooLargeError(
            f"the {len(headers)} image(s) of this request hold {total:,} pixels in all, over the limit of "
            f"{cap:,} per request (LOOKALIKE_MAX_UPLOAD_PIXELS): send fewer or smaller images at a time"
        )


def batches(headers: Sequence[Header], size: int, pixels: int) -> list[list[Header]]:
    """Consecutive groups of at most `size` images and (but for a lone large one) `pixels` pixels:
    only one group is ever decoded at a time."""
    out: list[list[Header]] = []
    for h in headers:
        if out and len(out[-1]) < size and sum(x.pixels for x in out[-1]) + h.pixels <= pixels:
            out[-1].append(h)
        else:
            out.append([h])
    return out


def _decoded(service: SearchService, h: Header) -> tuple[Image.Image, bytes, str]:
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
    """Add (or with replace=True, replace) product images; searchable when this returns.

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
    headers: list[Header] = []
    for name, data in uploads:
        try:
            headers.append(_read_header(service, name, data))
        except ImageError as exc:
            report.failed.append((upload_label(name), _reason(exc, upload_label(name))))
    if report.failed and all_or_nothing:
        raise ImageError("; ".join(f"{label}: {why}" for label, why in report.failed))
    if not headers:
        return report
    _check_request_pixels(service, headers)

    ready = _embed_uploads(service, headers, category, product_id, title, report, all_or_nothing, progress)
    if not ready.products:
        return report
    with service.write_lock:
        products, ids = _store_uploads(service, ready)
        report.added.extend(Added(p, pid) for p, pid in zip(products, ids, strict=True))
        if replace and product_id is not None:  # only once the new images are stored: a failure loses nothing
            report.replaced = delete_points(service, product_id, keep=set(ids))
        service.store.optimize()
    log.info("added %d image(s) to '%s' (%d refused)", len(report.added), category, len(report.failed))
    return report


def _reason(exc: ImageError, label: str) -> str:
    return str(exc).removeprefix(f"{label}: ")


def _embed_uploads(
    service: SearchService,
    headers: Sequence[Header],
    category: str,
    product_id: str | None,
    title: str | None,
    report: AddReport,
    all_or_nothing: bool,
    progress: Progress | None,
) -> _Embedded:
    """Decode, embed and drop, one bounded batch at a time; duplicates (same point) are embedded once."""
    s = service.settings
    data_dir = s.data_dir.resolve()
    folder = uploads_root(s) / slugify(category)
    out = _Embedded()
    seen: set[str] = set()
    done = 0
    if progress:
        progress(0, len(headers))
    for batch in batches(headers, s.batch_size, s.max_image_pixels):
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
            path = folder / f"{file_stem(pid)}-{sha[:12]}{suffix}"
            rel = path.relative_to(data_dir).as_posix()
            if point_id(rel) in seen:
                continue
            seen.add(point_id(rel))
            images.append(image)
            products.append(Product(pid, category, path, rel, sha, title))
            stored.append(data)
            labels.append(h.label)
        if images:
            embedded = embed_products(service.encoder, products, images)  # exactly as `index` embeds
            failed = [(labels[i], why) for i, why in embedded.failed]
            if failed and all_or_nothing:
                raise ImageError("; ".join(f"{label}: {why}" for label, why in failed))
            report.failed.extend(failed)
            out.products.extend(products[i] for i in embedded.done)
            out.data.extend(stored[i] for i in embedded.done)
            out.parts.append(embedded)
        del images  # the decoded pixels of this batch go before the next batch is decoded
        done += len(batch)
        if progress:
            progress(done, len(headers))
    return out


def _store_uploads(service: SearchService, ready: _Embedded) -> tuple[list[Product], list[str]]:
    """Files first, then one upsert; if the upsert fails, the files it would have referenced go again."""
    root = uploads_root(service.settings)
    created: list[Path] = []
    try:
        for product, data in zip(ready.products, ready.data, strict=True):
            path = product.path
            if path.resolve().parent.parent != root:  # cannot happen with slugs; checked all the same
                raise LookalikeError("refusing to write outside the uploads folder")
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
                tmp.write_bytes(data)
                tmp.replace(path)
                created.append(path)
        ids = store_products(service.store, ready.products, concat_embedded(ready.parts), SOURCE_UPLOAD)
    except BaseException:
        unlink_all(created)  # no point references them: the store call failed
        raise
    return ready.products, ids


def delete_points(
    service: SearchService, product_id: str, keep: frozenset[str] | set[str] = frozenset()
) -> int:
    """Remove a product's points (but `keep`); uploaded files of removed points go too, catalog files stay.

    The points go first and their files after, so no point ever refers to a missing file.
    """
    known_id(product_id)
    with service.write_lock:
        every = service.store.iter_points(PointFilter(product_id=product_id))
        points = [p for p in every if p.id not in keep]
        service.store.delete([p.id for p in points])
        unlink_all([f for f in (upload_file(service.settings, p.payload) for p in points) if f is not None])
    return len(points)


def delete_product(service: SearchService, product_id: str) -> int:
    """Images removed. Unknown product → NotFoundError.

    Images that came from a catalog folder stay on disk (the next `lookalike index` of that folder
    adds them back); images uploaded through the API or UI are deleted with the product.
    """
    with service.write_lock:
        service.product(known_id(product_id))  # NotFoundError for an unknown id
        return delete_points(service, product_id)
