"""`index-feed`: a product feed → download its images → embed → upsert, through ingest's write path.

Every (product, image URL) is one point, its id derived from the feed's name, the product id and the
URL, so re-runs update instead of duplicating. Downloads run `concurrency` at a time, in feed order,
a bounded window ahead of the encoder (the image is decoded in the download thread too); each batch
is upserted before the next is embedded, so a killed run is resumed by running it again.

Incremental: each point remembers its image's ETag, Last-Modified and content hash. A re-run sends
conditional requests; a 304 or the same bytes means no re-embedding, and changed offer fields only
(a new price) are a payload update. Failed images are listed and leave the index as it was.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from tqdm import tqdm

from lookalike.catalog import FEED_FIELD, SOURCE_FEED, SOURCE_FIELD, CategoryRule
from lookalike.encoders import Encoder
from lookalike.errors import FeedError, ImageError
from lookalike.feeds.formats import parse_rows
from lookalike.feeds.items import FeedItem, FeedRead, read_items
from lookalike.feeds.report import FeedReport
from lookalike.feeds.source import check_name, read_source
from lookalike.feeds.storage import feed_folder, feed_point_id, image_path, sweep, write_image
from lookalike.fetch import Fetcher, FetchError, image_format
from lookalike.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, load_image
from lookalike.ingest import embed_products, store_products
from lookalike.records import Product
from lookalike.store import VectorStore

log = logging.getLogger(__name__)

# payload fields that feed a vector: a change there means re-embedding, elsewhere a payload update
_EMBEDDED_FIELDS = ("sha256", "title", "description")


@dataclass(frozen=True)
class FeedOptions:
    data_dir: Path
    name: str | None = None  # default: from the feed's file name (see source.default_name)
    prune: bool = False
    progress: bool = True
    batch_size: int = 16
    rule: CategoryRule = CategoryRule()
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES
    max_feed_bytes: int = 200 * 1024 * 1024
    local_files: bool = False  # read a feed from a local path (the owner's command line only)


@dataclass(frozen=True)
class _Entry:
    """One image of one product: one point."""

    item: FeedItem
    url: str
    point_id: str
    known: dict[str, Any] | None  # the point's payload in the index, if it is there


@dataclass
class _Outcome:
    entry: _Entry
    action: str  # "embed" | "update" | "same" | "failed"
    product: Product | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    image: Image.Image | None = None
    reason: str = ""
    downloaded: bool = False
    not_modified: bool = False


def feed_payload(product: Product, extra: dict[str, Any]) -> dict[str, Any]:
    """The payload a feed image gets: exactly what ingest.store_products writes for it."""
    return {**product.payload(), **extra, SOURCE_FIELD: SOURCE_FEED}


def _known_points(store: VectorStore, name: str) -> dict[str, dict[str, Any]]:
    return {
        p.id: p.payload
        for p in store.iter_points()
        if p.payload.get(SOURCE_FIELD) == SOURCE_FEED and p.payload.get(FEED_FIELD) == name
    }


class _Preparer:
    """Download one image and decide what it needs; runs in the download threads."""

    def __init__(self, fetcher: Fetcher, opts: FeedOptions, name: str):
        self.fetcher = fetcher
        self.opts = opts
        self.name = name
        self.data_dir = opts.data_dir.resolve()
        self.folder = feed_folder(self.data_dir, name)

    def __call__(self, entry: _Entry) -> _Outcome:
        try:
            return self._prepare(entry)
        except FetchError as exc:
            return _Outcome(entry, "failed", reason=exc.reason)
        except ImageError as exc:
            return _Outcome(entry, "failed", reason=str(exc).removeprefix(f"{entry.url}: "))
        except OSError as exc:
            return _Outcome(entry, "failed", reason=f"cannot read or store the image ({exc.strerror or exc})")

    def _prepare(self, entry: _Entry) -> _Outcome:
        known = entry.known
        known_path = Path(str(known["path"])) if known and known.get("path") else None
        # ask "changed since?" only while the image we hold is where this data dir keeps it: a 304
        # must leave the point with a file (a data dir moved or wiped means downloading again)
        conditional = (
            known_path is not None and known_path.is_relative_to(self.folder) and known_path.is_file()
        )
        fetched = self.fetcher.fetch(
            entry.url,
            expect="image",
            etag=known.get("etag") if conditional and known else None,
            last_modified=known.get("last_modified") if conditional and known else None,
        )
        data: bytes | None
        if fetched.not_modified and known is not None and known_path is not None:
            data, sha, path = None, str(known["sha256"]), known_path
            etag = fetched.etag or known.get("etag")
            last_modified = fetched.last_modified or known.get("last_modified")
        else:
            data = fetched.content
            sha = hashlib.sha256(data).hexdigest()
            path = image_path(self.folder, sha, image_format(data[:12]))
            etag, last_modified = fetched.etag, fetched.last_modified
        item = entry.item
        product = Product(
            product_id=item.product_id,
            category=item.category,
            path=path,
            rel_path=path.relative_to(self.data_dir).as_posix(),
            sha256=sha,
            title=item.title,
            description=item.description,
            offer=item.offer_for(entry.url),
        )
        http = {"etag": etag, "last_modified": last_modified}
        extra = {FEED_FIELD: self.name, **{k: v for k, v in http.items() if v}}
        out = _Outcome(entry, "same", product, extra, downloaded=data is not None)
        out.not_modified = data is None
        wanted = feed_payload(product, extra)
        if known is None or any(known.get(f) != wanted.get(f) for f in _EMBEDDED_FIELDS):
            if data is None:
                data = path.read_bytes()  # 304, but the words changed: embed the stored image again
            # decoded with every check (size, bomb, corruption) before anything is written
            out.image = load_image(
                data, name=entry.url, max_pixels=self.opts.max_pixels, max_bytes=self.opts.max_bytes
            )
            out.action = "embed"
        elif known != wanted:
            out.action = "update"
        if data is not None:
            write_image(path, data)
        return out


def _entries(read: FeedRead, name: str, known: dict[str, dict[str, Any]]) -> list[_Entry]:
    out = []
    for item in read.items:
        for url in item.image_urls:
            pid = feed_point_id(name, item.product_id, url)
            out.append(_Entry(item, url, pid, known.get(pid)))
    return out


def _in_order(
    pool: ThreadPoolExecutor, work: Callable[[_Entry], _Outcome], entries: list[_Entry], window: int
) -> Iterator[_Outcome]:
    """Outcomes in feed order, at most `window` downloaded or in flight: memory stays bounded."""
    pending: deque[Future[_Outcome]] = deque()
    todo = iter(entries)
    while True:
        while len(pending) < window and (entry := next(todo, None)) is not None:
            pending.append(pool.submit(work, entry))
        if not pending:
            return
        yield pending.popleft().result()


def index_feed(
    feed: str,
    open_store: Callable[[], VectorStore],
    load_encoder: Callable[[], Encoder],
    fetcher: Fetcher,
    opts: FeedOptions,
    *,
    after_batch: Callable[[int], None] | None = None,
) -> FeedReport:
    """Bring the feed's points in line with the feed; returns what was done.

    The store is opened once the feed has been read, the encoder loaded only when an image needs
    embedding: a bad feed fails at once, and a re-run where nothing changed loads no model.
    `after_batch(n)` is called after the n-th batch of embeddings is stored (progress hooks, crash tests).
    """
    started = time.perf_counter()
    source = read_source(feed, fetcher, local_files=opts.local_files, max_bytes=opts.max_feed_bytes)
    name = check_name(opts.name or source.default_name)
    format_name, rows = parse_rows(source.data)
    read = read_items(format_name, rows, opts.rule, source.base_url)
    report = FeedReport(feed=source.shown, name=name, format=format_name, products=len(read.items))
    report.skipped.extend(read.skipped)
    report.warnings.extend((f"{i.label} (id {i.product_id!r})", w) for i in read.items for w in i.warnings)
    if not read.items:  # never prune a whole feed away because one download came back empty
        example = (
            f"; {len(read.skipped)} rows skipped, e.g. {': '.join(read.skipped[0])}" if read.skipped else ""
        )
        raise FeedError(f"{source.shown}: no products found in the feed (read as {format_name}){example}")

    store = open_store()
    known = _known_points(store, name)
    entries = _entries(read, name, known)
    report.images = len(entries)
    log.info(
        "feed %s (%s, %s): %d products, %d images",
        name,
        source.shown,
        format_name,
        len(read.items),
        len(entries),
    )

    batch: list[_Outcome] = []
    updates: list[_Outcome] = []
    batches = 0
    concurrency = fetcher.limits.concurrency
    bars = not opts.progress
    downloads = tqdm(total=len(entries), desc="downloading", unit="img", disable=bars)
    embeddings = tqdm(total=0, desc="embedding", unit="img", disable=bars)

    def flush() -> None:
        nonlocal batches
        if updates:
            store.set_payloads(
                [o.entry.point_id for o in updates], [feed_payload(o.product, o.extra) for o in updates]
            )
            updates.clear()
        if not batch:
            return
        products = [o.product for o in batch]
        done = embed_products(load_encoder(), products, [o.image for o in batch])
        report.failed.extend((batch[i].entry.url, why) for i, why in done.failed)
        stored = store_products(
            store,
            products,
            done,
            SOURCE_FEED,
            ids=[o.entry.point_id for o in batch],
            extras=[o.extra for o in batch],
        )
        report.embedded += len(stored)
        embeddings.update(len(batch))
        batch.clear()
        batches += 1
        log.info("feed %s: batch %d stored (%d images embedded so far)", name, batches, report.embedded)
        if after_batch is not None:
            after_batch(batches)

    work = _Preparer(fetcher, opts, name)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="lookalike-feed") as pool:
        for o in _in_order(pool, work, entries, window=concurrency + opts.batch_size):
            downloads.update(1)
            report.downloaded += o.downloaded
            report.not_modified += o.not_modified
            if o.action == "failed":
                report.failed.append((o.entry.url, o.reason))
                continue
            if o.entry.known is None:
                report.new += 1
            elif o.action == "same":
                report.unchanged += 1
            else:
                report.changed += 1
            if o.action == "embed":
                batch.append(o)
                embeddings.total += 1
                embeddings.refresh()
            elif o.action == "update":
                updates.append(o)
            if len(batch) >= opts.batch_size:
                flush()
        flush()
    downloads.close()
    embeddings.close()

    present = {e.point_id for e in entries}
    gone = [
        pid for pid, p in known.items() if pid not in present and p.get("product_id") not in read.skipped_ids
    ]
    if gone and opts.prune:
        store.delete(gone)
        report.removed = len(gone)
    elif gone:
        report.stale = len(gone)
        log.warning(
            "%d indexed images are no longer in feed %s; run with --prune to remove them", len(gone), name
        )
    if report.embedded or report.removed:
        store.optimize()
    kept = [Path(str(p["path"])) for p in _known_points(store, name).values() if p.get("path")]
    swept = sweep(feed_folder(opts.data_dir, name), kept)
    if swept:
        log.info("feed %s: removed %d image files no point refers to any more", name, swept)
    report.seconds = time.perf_counter() - started
    return report
