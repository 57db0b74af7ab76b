"""scan → diff against the index by content hash → embed only what is new or changed → upsert.

Every batch is upserted (and flushed) before the next is embedded, and point ids are derived from
the file's catalog path, so a run killed at any moment is resumed by running it again: finished
batches are found unchanged, nothing is embedded twice, nothing is duplicated.

Only catalog points take part in the diff and in --prune: images uploaded through the API or the
UI (payload source "upload", files under data_dir/uploads) and images of product feeds (source
"feed", owned by `index-feed`, see lookalike.feeds) are not in any catalog folder and stay.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from lookalike.batch_loader import load_batches
from lookalike.catalog import (
    SOURCE_CATALOG,
    SOURCE_FIELD,
    SOURCE_UPLOAD,
    CategoryRule,
    ScannedFile,
    point_id,
    scan_catalog,
    sha256_file,
)
from lookalike.encoders import Encoder
from lookalike.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, load_image
from lookalike.records import IndexReport, Product
from lookalike.store import VectorStore
from lookalike.words import vectors as word_vectors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestOptions:
    batch_size: int = 16
    rule: CategoryRule = CategoryRule()
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES
    prune: bool = False
    progress: bool = True
    loaders: int = 2  # threads decoding and resizing the next batches while the model runs


@dataclass(frozen=True)
class _Indexed:
    point_id: str
    sha256: str
    payload: dict


# payload fields that feed a vector: a change there means re-embedding, elsewhere a payload update
_EMBEDDED_FIELDS = ("sha256", "title", "description")


def _indexed(store: VectorStore) -> tuple[dict[str, _Indexed], set[str]]:
    """(rel_path → what the index holds for it, for catalog points only; ids of uploaded points)."""
    catalog: dict[str, _Indexed] = {}
    uploads: set[str] = set()
    for p in store.iter_points():
        source = p.payload.get(SOURCE_FIELD)
        if source == SOURCE_UPLOAD:
            uploads.add(p.id)
            continue
        if source not in (None, SOURCE_CATALOG):  # a feed's point: its feed owns it, not this folder
            continue
        rel = p.payload.get("rel_path")
        if rel is not None:
            catalog[str(rel)] = _Indexed(p.id, str(p.payload.get("sha256", "")), p.payload)
    return catalog, uploads


def catalog_payload(product: Product) -> dict[str, object]:
    """The payload of a catalog image: the product's fields, marked as owned by `index`."""
    return {**product.payload(), SOURCE_FIELD: SOURCE_CATALOG}


def embed_products(
    encoder: Encoder, products: Sequence[Product], images: Sequence[Image.Image]
) -> word_vectors.Embedded:
    """Every vector a product image gets (image + word routes), one model pass per batch; an image the
    model cannot take costs only itself. Indexing and uploads both embed through here."""
    return word_vectors.embed_each(encoder, products, images)


def store_products(
    store: VectorStore,
    products: Sequence[Product],
    embedded: word_vectors.Embedded,
    source: str = SOURCE_CATALOG,
    *,
    ids: Sequence[str] | None = None,
    extras: Sequence[Mapping[str, object]] | None = None,
) -> list[str]:
    """Upsert the embedded products (embedded.done indexes `products`); returns their point ids.

    The one place a product image becomes a point: ids from catalog paths (or `ids`, one per product:
    feeds derive theirs from the product id and image URL), payload marked with its source ("catalog"
    for `index`, "upload" for the API/UI, "feed" for `index-feed`; `index --prune` keeps all but
    catalog points) plus `extras` (per product: e.g. the feed's name and the image's ETag).
    """
    done = list(embedded.done)
    point_ids = [ids[i] if ids is not None else point_id(products[i].rel_path) for i in done]
    if done:
        payloads = [
            {**products[i].payload(), **(extras[i] if extras is not None else {}), SOURCE_FIELD: source}
            for i in done
        ]
        store.upsert(point_ids, embedded.vectors, payloads, embedded.extras)
    return point_ids


def read_error(exc: OSError) -> str:
    """Why a catalog file could not be read, in words (it may vanish between scan and read)."""
    if isinstance(exc, FileNotFoundError):
        return "the file disappeared before it could be read (moved or deleted during indexing?)"
    if isinstance(exc, PermissionError):
        return "permission denied when reading the file"
    return f"cannot be read ({exc.strerror or exc})"


def _hash_all(files: Sequence[ScannedFile], report: IndexReport, progress: bool) -> list[Product]:
    products: list[Product] = []
    for f in tqdm(files, desc="hashing", unit="file", disable=not progress, leave=False):
        try:
            products.append(f.to_product(sha256_file(f.path)))
        except OSError as exc:
            report.failed.append((f.rel_path, read_error(exc)))
    return products


def _batches(items: Sequence[Product], size: int) -> Iterator[list[Product]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def image_loader(encoder: Encoder, opts: IngestOptions) -> Callable[[Product], Image.Image]:
    """Product → the image as the model takes it: decoded under the size limits, then prepared (for
    EfficientNet: padded to its 224 px square) when the encoder says how, so that the loader threads,
    not the model's, do the resizing. Raises ImageError for a file that cannot be used."""
    prepare = getattr(encoder, "prepare", None)

    def load(product: Product) -> Image.Image:
        img = load_image(
            product.path, name=product.rel_path, max_pixels=opts.max_pixels, max_bytes=opts.max_bytes
        )
        return prepare(img) if prepare is not None else img

    return load


_CLASH = (
    "has the same path as an image uploaded through the API or UI (data_dir/uploads/...); "
    "rename the catalog's 'uploads' folder to index it"
)


def _gone(
    indexed: dict[str, _Indexed],
    files: Sequence[ScannedFile],
    skipped: Sequence[tuple[str, str]],
    unreadable_dirs: Sequence[str],
) -> list[str]:
    """Point ids of catalog images whose file is gone. A file that exists but could not be read
    (now) is not gone, nor is anything under a folder that could not be listed."""
    dirs = [d.strip("/") for d in unreadable_dirs]
    if any(d in ("", ".") for d in dirs):
        return []  # the root itself could not be listed: nothing can be judged gone
    hidden = tuple(d + "/" for d in dirs)
    present = {f.rel_path for f in files} | {rel for rel, _ in skipped}
    return [e.point_id for rel, e in indexed.items() if rel not in present and not rel.startswith(hidden)]


def index_catalog(
    root: Path,
    store: VectorStore,
    encoder: Encoder,
    opts: IngestOptions | None = None,
    *,
    after_batch: Callable[[int], None] | None = None,
) -> IndexReport:
    """Bring the collection in line with the catalog folder; returns what was done.

    `after_batch(n)` is called after the n-th batch is stored (progress hooks, crash tests).
    """
    opts = opts or IngestOptions()
    started = time.perf_counter()
    found = scan_catalog(Path(root), opts.rule)
    files = found.files
    skipped_files = [rel for rel, _ in found.skipped if not rel.endswith("/")]  # folders end in "/"
    report = IndexReport(root=Path(root).resolve(), scanned=len(files) + len(skipped_files))
    report.failed.extend(found.skipped)
    products = _hash_all(files, report, opts.progress)
    indexed, uploads = _indexed(store)

    todo: list[Product] = []
    relabel: list[Product] = []  # same pixels and words, new path/category/id: no need to re-embed
    for product in products:
        if point_id(product.rel_path) in uploads:  # a catalog folder named "uploads" mirroring data_dir
            report.failed.append((product.rel_path, _CLASH))
            continue
        known = indexed.get(product.rel_path)
        if known is None:
            report.new += 1
            todo.append(product)
        elif any(known.payload.get(f) != catalog_payload(product).get(f) for f in _EMBEDDED_FIELDS):
            report.changed += 1
            todo.append(product)
        elif known.payload != catalog_payload(product):
            report.changed += 1
            relabel.append(product)
        else:
            report.unchanged += 1
    if relabel:  # e.g. the catalog folder moved (paths) or the sidecar renamed a product
        store.set_payloads([point_id(p.rel_path) for p in relabel], [catalog_payload(p) for p in relabel])

    bar = tqdm(total=len(todo), desc="embedding", unit="img", disable=not opts.progress or not todo)
    batches = list(_batches(todo, opts.batch_size))
    loading = load_batches(batches, image_loader(encoder, opts), workers=opts.loaders)
    with contextlib.closing(loading) as loaded:  # a stop (crash test, Ctrl+C) cancels queued loads
        for n, batch in enumerate(loaded, start=1):
            ok, images = batch.ok, batch.images
            report.failed.extend((p.rel_path, why.removeprefix(f"{p.rel_path}: ")) for p, why in batch.failed)
            if ok:
                done = embed_products(encoder, ok, images)
                report.failed.extend((ok[i].rel_path, why) for i, why in done.failed)
                report.embedded += len(store_products(store, ok, done))
            bar.update(len(ok) + len(batch.failed))
            if after_batch is not None:
                after_batch(n)
    bar.close()

    gone = _gone(indexed, files, found.skipped, found.unreadable_dirs)
    if gone and opts.prune:
        store.delete(gone)
        report.removed = len(gone)
    elif gone:
        report.stale = len(gone)
        log.warning("%d indexed images are no longer in %s; run with --prune to remove them", len(gone), root)
    if report.embedded or report.removed:
        store.optimize()
    report.seconds = time.perf_counter() - started
    return report
