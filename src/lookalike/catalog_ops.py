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
import random
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from PIL import Image

from lookalike.catalog import SOURCE_FIELD, SOURCE_UPLOAD, point_id
from lookalike.errors import ImageError, LookalikeError, NotFoundError
from lookalike.images import load_image
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


# -- product images ------------------------------------------------------------------------------------
def product_image_path(
    service: SearchService, product_id: str, view: int = 0, point: str | None = None
) -> Path:
    """SearchService.product_image(product_id, view=0, point=None) -> Path.

    Only a path stored in the index payload for that product is ever returned; `point` (a hit's
    point_id) picks the view that matched a query.
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
        path = Product.from_payload(found[0].payload).path
    else:
        views = service.product(product_id)
        if not 0 <= view < len(views):
            raise NotFoundError(f"product '{product_id}' has {len(views)} image(s); there is no view {view}")
        path = views[view].path
    if not path.is_file():
        raise NotFoundError(f"the image file of product '{product_id}' is gone from {path.parent}; re-index")
    return path


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
class _Checked:
    name: str
    data: bytes
    image: Image.Image
    suffix: str
    sha256: str


def _check_upload(service: SearchService, name: str, data: bytes) -> _Checked:
    label = PurePosixPath(str(name).replace("\\", "/")).name or "uploaded image"
    image = service.load_query_image(data, name=label)  # size, format, corruption, bomb checks
    with Image.open(io.BytesIO(data)) as raw:
        fmt = raw.format or ""
    suffix = _FORMAT_SUFFIX.get(fmt)
    if suffix is None:  # a format Pillow reads but we do not store as is (tiff, ico, …): keep a PNG
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        data, suffix = buf.getvalue(), ".png"
    return _Checked(label, data, image, suffix, hashlib.sha256(data).hexdigest())


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
    product_id each file is its own product, named after the file. replace=True first removes the
    product's other images. all_or_nothing=True refuses the whole batch if any file is bad.
    """
    category = clean_label(category, "category")
    if product_id is not None:
        product_id = clean_label(product_id, "product id")
    title = (" ".join(title.split())[:200] or None) if title else None
    if not uploads:
        raise LookalikeError("no images to add")
    report = AddReport()
    checked: list[_Checked] = []
    for name, data in uploads:
        try:
            checked.append(_check_upload(service, name, data))
        except ImageError as exc:
            label = PurePosixPath(str(name).replace("\\", "/")).name or "uploaded image"
            report.failed.append((label, str(exc).removeprefix(f"{label}: ")))
    if report.failed and all_or_nothing:
        raise ImageError("; ".join(f"{label}: {why}" for label, why in report.failed))
    if not checked:
        return report

    root = uploads_root(service)
    folder = root / slugify(category)
    folder.mkdir(parents=True, exist_ok=True)
    products: list[Product] = []
    for c in checked:
        pid = product_id or clean_label(slugify(PurePosixPath(c.name).stem), "product id")
        filename = f"{_file_stem(pid)}-{c.sha256[:12]}{c.suffix}"
        path = (folder / filename).resolve()
        if path.parent != folder.resolve():  # cannot happen with a slug; checked all the same
            raise LookalikeError(f"refusing to write outside {root}")
        if not path.is_file():
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(c.data)
            tmp.replace(path)
        rel = path.relative_to(service.settings.data_dir.resolve()).as_posix()
        products.append(Product(pid, category, path, rel, c.sha256, title))

    batch = service.settings.batch_size
    total = len(products)
    if progress:
        progress(0, total)
    for i in range(0, total, batch):
        part = products[i : i + batch]
        images = [c.image for c in checked[i : i + batch]]
        vectors, extras = word_vectors.embed_batch(service.encoder, part, images)  # exactly as ingest embeds
        payloads = [{**p.payload(), SOURCE_FIELD: SOURCE_UPLOAD} for p in part]  # `index --prune` keeps them
        service.store.upsert([point_id(p.rel_path) for p in part], vectors, payloads, extras)
        report.added.extend(Added(p, point_id(p.rel_path)) for p in part)
        if progress:
            progress(len(report.added), total)
    if replace and product_id is not None:  # only once the new images are stored: a failure loses nothing
        keep = {point_id(p.rel_path) for p in products}
        report.replaced = _delete_points(service, product_id, keep=keep)
    service.store.optimize()
    log.info("added %d image(s) to '%s' (%d refused)", len(report.added), category, len(report.failed))
    return report


def _file_stem(product_id: str) -> str:
    """File names carry the product (one file = one point = one product); distinct ids never collide."""
    slug = slugify(product_id, 40)
    if slug == product_id:
        return slug
    return f"{slug}-{hashlib.sha1(product_id.encode('utf-8')).hexdigest()[:6]}"


def _delete_points(
    service: SearchService, product_id: str, keep: frozenset[str] | set[str] = frozenset()
) -> int:
    """Remove a product's points (but `keep`); uploaded files of removed points go too, catalog files stay."""
    _known_id(product_id)
    points = [p for p in service.store.iter_points(PointFilter(product_id=product_id)) if p.id not in keep]
    service.store.delete([p.id for p in points])
    root = uploads_root(service)
    for p in points:
        path = Path(str(p.payload.get("path", ""))).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink()
    return len(points)


def delete_product(service: SearchService, product_id: str) -> int:
    """SearchService.delete_product(product_id) -> images removed. Unknown product → NotFoundError.

    Images that came from a catalog folder stay on disk (the next `lookalike index` of that folder
    adds them back); images uploaded through the faces are deleted with the product.
    """
    service.product(_known_id(product_id))  # NotFoundError for an unknown id
    return _delete_points(service, product_id)
