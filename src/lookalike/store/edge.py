"""Embedded store: Qdrant Edge, the Qdrant engine in-process (HNSW, payload indexes) persisted on disk."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from lookalike.errors import StoreError, StoreInUseError
from lookalike.shop_filter import AVAILABILITY_FIELD, BRAND_FIELD, GROUP_FIELD, IN_STOCK, PRICE_FIELD
from lookalike.store.base import (
    CATEGORY_FIELD,
    FLOAT_FIELDS,
    KEYWORD_FIELDS,
    PRODUCT_FIELD,
    VECTOR_NAME,
    PointFilter,
    Schema,
    ScoredPoint,
    StoredPoint,
    VectorQuery,
    VectorStore,
    stored_point,
)
from lookalike.store.plan import MemoryPlan, StoredLayout, edge_config, edge_layout, edge_search_params

log = logging.getLogger(__name__)
SCHEMA_FILE = "lookalike.json"
SHARD_DIR = "shard"
LOCK_FILE = "lookalike.lock"
EDGE_CONFIG = "edge_config.json"  # the engine's own record of the shard's config
_IN_USE = (
    "the index at {} is in use by another lookalike process (e.g. `lookalike serve` or `ui`); stop it "
    "first, use that process (its API or UI) instead, point LOOKALIKE_DATA_DIR elsewhere, or run a Qdrant "
    "server for shared access"
)


def _lock_directory(directory: Path) -> int:
    """Take lookalike's own exclusive lock on the store folder, before the engine touches any file.

    Qdrant Edge refuses a second opener only after it has already rewritten files of the open index
    (its payload-index journals), which breaks the process that holds it. An flock on a file of ours,
    taken first, turns a second opener away having read nothing. The kernel drops it when the holder
    dies, so a crash never leaves a stale lock behind.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreInUseError(_IN_USE.format(directory)) from None
    except OSError as exc:
        os.close(fd)
        raise StoreError(f"cannot lock the index at {directory} ({exc.strerror or exc})") from None
    return fd


def _note_name(key: str) -> str:
    if not key.isidentifier() or key in ("lookalike", "lookalike_lock"):
        raise StoreError(f"not a note name: {key!r}")
    return key


class EdgeStore(VectorStore):
    backend = "qdrant-edge (embedded)"

    def __init__(
        self,
        directory: Path,
        schema: Schema | None,
        *,
        plan: MemoryPlan | None = None,
    ):
        """Open the collection in `directory`, creating it when `schema` is given and none exists.

        schema=None opens an existing collection read-as-is (for `info`), whatever made it.
        """
        self.directory = Path(directory)
        self.location = str(self.directory)
        self.plan = plan or MemoryPlan()
        self._search_params = edge_search_params(self.plan)
        self._lock = threading.RLock()
        self._shard: Any = None
        self._lock_fd: int | None = None
        meta_path = self.directory / SCHEMA_FILE
        shard_path = self.directory / SHARD_DIR
        if schema is None and not meta_path.exists():
            raise StoreError(
                f"no collection at {self.directory}: nothing is indexed yet (run `lookalike index`)"
            )
        self._lock_fd = _lock_directory(self.directory)
        try:
            self._open(meta_path, shard_path, schema)
        except BaseException:
            self._release()
            raise

    def _open(
        self,
        meta_path: Path,
        shard_path: Path,
        schema: Schema | None,
    ) -> None:
        stored = self._read_schema(meta_path)
        if stored is None and schema is None:
            raise StoreError(
                f"no collection at {self.directory}: nothing is indexed yet (run `lookalike index`)"
            )
        if stored is not None and schema is not None:
            stored.check(schema, f"the collection at {self.directory}")
        self.schema = stored or schema  # type: ignore[assignment]
        if stored is None:
            self._write_schema(meta_path, self.schema)
        config = edge_config(self.plan, self.schema.vectors)
        try:
            if (shard_path / "wal").exists() or any(shard_path.glob("segments*")):
                self._shard = qe.EdgeShard.load(str(shard_path))
            else:
                self._shard = qe.EdgeShard.create(str(shard_path), config)
            self._index_payload()
        except Exception as exc:  # noqa: BLE001 - the engine raises a bare Exception with a message
            msg = str(exc)
            if "WouldBlock" in msg or "lock" in msg.lower():  # a non-lookalike opener holds the engine
                raise StoreInUseError(_IN_USE.format(self.directory)) from None
            raise StoreError(f"cannot open the index at {self.directory}: {msg}") from None

    def _index_payload(self) -> None:
        """Payload indexes for category, product id, shop filters and families; a collection made before
        one of them existed gets it when opened (the engine builds it from the stored payloads)."""
        have = set(self._shard.info().payload_schema)
        wanted = [(f, qe.PayloadSchemaType.Keyword) for f in KEYWORD_FIELDS]
        wanted += [(f, qe.PayloadSchemaType.Float) for f in FLOAT_FIELDS]
        for field, kind in wanted:
            if field not in have:
                self._shard.update(qe.UpdateOperation.create_field_index(field, kind))

    def _release(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock

    @staticmethod
    def _read_schema(path: Path) -> Schema | None:
        if not path.exists():
            return None
        try:
            return Schema.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError) as exc:
            raise StoreError(
                f"{path} is damaged ({exc}); restore it or delete the folder and re-index"
            ) from None

    @staticmethod
    def _write_schema(path: Path, schema: Schema) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(schema.to_dict()))
        os.replace(tmp, path)

    def read_note(self, key: str) -> dict[str, Any] | None:
        """Notes are JSON files beside lookalike.json (`<key>.json`); a damaged one reads as absent."""
        path = self.directory / f"{_note_name(key)}.json"
        try:
            value = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring the damaged note %s (%s)", path.name, exc)
            return None
        return value if isinstance(value, dict) else None

    def write_note(self, key: str, value: dict[str, Any]) -> None:
        path = self.directory / f"{_note_name(key)}.json"
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(value))
            os.replace(tmp, path)
        except OSError as exc:
            raise StoreError(f"cannot write {path.name} in the index at {self.directory} ({exc})") from None

    @contextlib.contextmanager
    def _engine(self, doing: str) -> Iterator[Any]:
        """The engine's errors are bare Exceptions: name what failed and what to do about it."""
        if self._shard is None:
            raise StoreError(f"the index at {self.directory} is closed")
        try:
            yield self._shard
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise StoreError(
                f"the index at {self.directory} cannot be {doing} ({exc}); was its folder deleted or the "
                "disk full? Restore it from a backup or re-index the catalog"
            ) from None

    # -- translation -------------------------------------------------------------------------------
    @staticmethod
    def _filter(flt: PointFilter | None) -> qe.Filter | None:
        if flt is None or flt.empty:
            return None
        must: list[Any] = []
        must_not: list[Any] = []
        if flt.category is not None:
            must.append(qe.FieldCondition(key=CATEGORY_FIELD, match=qe.MatchValue(flt.category)))
        if flt.product_id is not None:
            must.append(qe.FieldCondition(key=PRODUCT_FIELD, match=qe.MatchValue(flt.product_id)))
        if flt.ids:
            must.append(qe.HasIdCondition(set(flt.ids)))
        if flt.exclude_ids:
            must_not.append(qe.HasIdCondition(set(flt.exclude_ids)))
        if flt.exclude_product_ids:
            must_not.append(
                qe.FieldCondition(key=PRODUCT_FIELD, match=qe.MatchAny(list(flt.exclude_product_ids)))
            )
        if flt.item_group_ids:
            must.append(qe.FieldCondition(key=GROUP_FIELD, match=qe.MatchAny(list(flt.item_group_ids))))
        if flt.grouped is not None:
            (must_not if flt.grouped else must).append(qe.IsEmptyCondition(GROUP_FIELD))
        shop = flt.shop
        if shop is not None:
            if shop.in_stock:
                must.append(qe.FieldCondition(key=AVAILABILITY_FIELD, match=qe.MatchValue(IN_STOCK)))
            if shop.brand is not None:
                must.append(qe.FieldCondition(key=BRAND_FIELD, match=qe.MatchValue(shop.brand)))
            if shop.priced:  # a point without a price matches no range: left out, as promised
                price = qe.RangeFloat(gte=shop.min_price, lte=shop.max_price)
                must.append(qe.FieldCondition(key=PRICE_FIELD, range=price))
        return qe.Filter(must=must or None, must_not=must_not or None)

    def _scored(self, points: list[Any]) -> list[ScoredPoint]:
        return [
            ScoredPoint(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in points
        ]

    # -- interface ---------------------------------------------------------------------------------
    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        payloads: Sequence[dict[str, Any]],
        extras: dict[str, Sequence[np.ndarray | None]] | None = None,
    ) -> None:
        points = [
            qe.Point(id=pid, vector=vecs, payload=payload)
            for pid, vecs, payload in zip(ids, self.point_vectors(vectors, extras), payloads, strict=True)
        ]
        if points:
            with self._lock, self._engine("written") as shard:
                shard.update(qe.UpdateOperation.upsert_points(points))
                shard.flush()

    def set_payloads(self, ids: Sequence[str], payloads: Sequence[dict[str, Any]]) -> None:
        if ids:
            with self._lock, self._engine("written") as shard:
                for pid, payload in zip(ids, payloads, strict=True):
                    shard.update(qe.UpdateOperation.overwrite_payload([pid], payload))
                shard.flush()

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            with self._lock, self._engine("written") as shard:
                shard.update(qe.UpdateOperation.delete_points(list(ids)))
                shard.flush()

    def count(self, flt: PointFilter | None = None) -> int:
        with self._engine("read") as shard:
            return int(shard.count(qe.CountRequest(exact=True, filter=self._filter(flt))))

    def search(
        self, vector: np.ndarray, limit: int, flt: PointFilter | None = None, using: str = VECTOR_NAME
    ) -> list[ScoredPoint]:
        query = qe.Query.Nearest(self.check_query(vector, using), using=using)
        return self._query(query, limit, flt)

    def search_batch(self, queries: Sequence[VectorQuery]) -> list[list[ScoredPoint]]:
        """One QueryBatchRequest: Edge plans the searches together (one pass over the segments)."""
        if not queries:
            return []
        requests = [
            qe.QueryRequest(
                limit=q.limit,
                query=qe.Query.Nearest(self.check_query(q.vector, q.using), using=q.using),
                filter=self._filter(q.flt),
                with_payload=True,
                params=self._search_params,
            )
            for q in queries
        ]
        with self._engine("read") as shard:
            answers = shard.query_batch(qe.QueryBatchRequest(requests))
        return [self._scored(points) for points in answers]

    def recommend(
        self,
        positive: Sequence[np.ndarray],
        negative: Sequence[np.ndarray],
        limit: int,
        flt: PointFilter | None = None,
    ) -> list[ScoredPoint]:
        rq = qe.RecommendQuery(
            positives=[np.asarray(v, dtype=np.float32).tolist() for v in positive],
            negatives=[np.asarray(v, dtype=np.float32).tolist() for v in negative],
        )
        return self._query(qe.Query.RecommendBestScore(rq, using=VECTOR_NAME), limit, flt)

    def _query(self, query: Any, limit: int, flt: PointFilter | None) -> list[ScoredPoint]:
        req = qe.QueryRequest(
            limit=limit, query=query, filter=self._filter(flt), with_payload=True, params=self._search_params
        )
        with self._engine("read") as shard:
            return self._scored(shard.query(req))

    def retrieve(self, ids: Sequence[str], with_vectors: bool = False) -> list[StoredPoint]:
        if not ids:
            return []
        with self._engine("read") as shard:
            records = shard.retrieve(list(ids), with_payload=True, with_vector=with_vectors)
        return [stored_point(r, with_vectors) for r in records]

    def scroll(
        self, flt: PointFilter | None = None, limit: int = 256, offset: str | None = None
    ) -> tuple[list[StoredPoint], str | None]:
        req = qe.ScrollRequest(offset=offset, limit=limit, filter=self._filter(flt), with_payload=True)
        with self._engine("read") as shard:
            records, next_offset = shard.scroll(req)
        points = [stored_point(r) for r in records]
        return points, (None if next_offset is None else str(next_offset))

    def categories(self) -> dict[str, int]:
        with self._engine("read") as shard:
            resp = shard.facet(qe.FacetRequest(key=CATEGORY_FIELD, limit=100_000, exact=True))
        return {str(h.value): int(h.count) for h in resp.hits}

    def optimize(self) -> None:
        with self._lock, self._engine("optimized") as shard:
            shard.optimize()
            shard.flush()

    def layout(self) -> StoredLayout:
        try:
            return edge_layout(json.loads((self.directory / SHARD_DIR / EDGE_CONFIG).read_text()))
        except (OSError, ValueError, KeyError) as exc:
            raise StoreError(f"cannot read the index settings at {self.directory} ({exc})") from None

    def close(self) -> None:
        with self._lock:
            if getattr(self, "_shard", None) is None:
                return
            try:
                with self._engine("closed cleanly") as shard:
                    shard.flush()
            finally:
                shard, self._shard = self._shard, None
                try:
                    shard.close()
                finally:
                    self._release()
