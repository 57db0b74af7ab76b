"""Qdrant server or cluster through qdrant-client: the way past one machine (sharding, replication)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from lookalike.errors import StoreError
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
from lookalike.store.plan import (
    MemoryPlan,
    StoredLayout,
    server_collection_config,
    server_layout,
    server_search_params,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
_TRANSIENT = (ResponseHandlingException, ConnectionError, TimeoutError)


class ServerStore(VectorStore):
    backend = "qdrant server (qdrant-client)"

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        schema: Schema | None,
        *,
        location: str,
        plan: MemoryPlan | None = None,
        retries: int = 3,
    ):
        self._client = client
        self.collection = collection
        self.location = location
        self._retries = retries
        self.plan = plan or MemoryPlan()
        self._search_params = server_search_params(self.plan)
        exists = self._call(lambda: client.collection_exists(collection))
        if not exists:
            if schema is None:
                raise StoreError(f"no collection '{collection}' at {location}: nothing is indexed yet")
            self._call(
                lambda: client.create_collection(
                    collection,
                    **server_collection_config(self.plan, schema.vectors),
                    metadata={"lookalike": schema.to_dict()},
                )
            )
            self.schema = schema
            self._index_payload(set())
            return
        info = self._call(lambda: client.get_collection(collection))
        stored = self._schema_of(info)
        if schema is not None:
            stored.check(schema, f"collection '{collection}' at {location}")
        self.schema = stored
        if schema is not None:  # opened to write: add the indexes a collection from before them lacks
            self._index_payload(set(info.payload_schema or {}))

    def _index_payload(self, have: set[str]) -> None:
        """Keyword indexes for category, product id, availability, brand and family; float for price."""
        wanted = [(f, models.PayloadSchemaType.KEYWORD) for f in KEYWORD_FIELDS]
        wanted += [(f, models.PayloadSchemaType.FLOAT) for f in FLOAT_FIELDS]
        for field, kind in wanted:
            if field not in have:
                self._call(
                    lambda f=field, k=kind: self._client.create_payload_index(
                        self.collection, f, k, wait=True
                    )
                )

    def _schema_of(self, info: Any) -> Schema:
        meta = (info.config.metadata or {}).get("lookalike")
        if meta:
            return Schema.from_dict(meta)
        vectors = info.config.params.vectors
        if not isinstance(vectors, dict) or VECTOR_NAME not in vectors:
            raise StoreError(
                f"collection '{self.collection}' at {self.location} has no '{VECTOR_NAME}' vector: "
                "it was not made by lookalike; choose another LOOKALIKE_COLLECTION"
            )
        return Schema(encoder="unknown", dim=int(vectors[VECTOR_NAME].size))

    def read_note(self, key: str) -> dict[str, Any] | None:
        """Notes live in the collection's metadata under `lookalike_<key>`."""
        info = self._call(lambda: self._client.get_collection(self.collection))
        value = (info.config.metadata or {}).get(f"lookalike_{key}")
        return value if isinstance(value, dict) else None

    def write_note(self, key: str, value: dict[str, Any]) -> None:
        self._call(
            lambda: self._client.update_collection(self.collection, metadata={f"lookalike_{key}": value})
        )

    def _call(self, fn: Callable[[], T]) -> T:
        """Retry transient failures with exponential backoff; anything else is a clear StoreError."""
        delay = 0.2
        for attempt in range(self._retries + 1):
            try:
                return fn()
            except _TRANSIENT as exc:
                if attempt == self._retries:
                    raise StoreError(
                        f"Qdrant at {self.location} is unreachable ({exc}); is it running?"
                    ) from None
                log.warning("Qdrant call failed (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay *= 2
            except UnexpectedResponse as exc:
                if exc.status_code == 404:
                    raise self._gone() from None
                raise StoreError(f"Qdrant at {self.location} refused the request: {exc}") from None
            except ValueError as exc:  # qdrant-client's local mode reports a missing collection so
                if "not found" in str(exc).lower():
                    raise self._gone() from None
                raise
        raise AssertionError("unreachable")

    def _gone(self) -> StoreError:
        return StoreError(
            f"collection '{self.collection}' no longer exists at {self.location}; "
            "run `lookalike index` to rebuild it"
        )

    @staticmethod
    def _filter(flt: PointFilter | None) -> models.Filter | None:
        if flt is None or flt.empty:
            return None
        must: list[Any] = []
        must_not: list[Any] = []
        if flt.category is not None:
            must.append(
                models.FieldCondition(key=CATEGORY_FIELD, match=models.MatchValue(value=flt.category))
            )
        if flt.product_id is not None:
            must.append(
                models.FieldCondition(key=PRODUCT_FIELD, match=models.MatchValue(value=flt.product_id))
            )
        if flt.ids:
            must.append(models.HasIdCondition(has_id=list(flt.ids)))
        if flt.exclude_ids:
            must_not.append(models.HasIdCondition(has_id=list(flt.exclude_ids)))
        if flt.exclude_product_ids:
            must_not.append(
                models.FieldCondition(
                    key=PRODUCT_FIELD, match=models.MatchAny(any=list(flt.exclude_product_ids))
                )
            )
        if flt.item_group_ids:
            must.append(
                models.FieldCondition(key=GROUP_FIELD, match=models.MatchAny(any=list(flt.item_group_ids)))
            )
        if flt.grouped is not None:
            empty = models.IsEmptyCondition(is_empty=models.PayloadField(key=GROUP_FIELD))
            (must_not if flt.grouped else must).append(empty)
        shop = flt.shop
        if shop is not None:
            if shop.in_stock:
                must.append(
                    models.FieldCondition(key=AVAILABILITY_FIELD, match=models.MatchValue(value=IN_STOCK))
                )
            if shop.brand is not None:
                must.append(models.FieldCondition(key=BRAND_FIELD, match=models.MatchValue(value=shop.brand)))
            if shop.priced:  # a point without a price matches no range: left out, as promised
                price = models.Range(gte=shop.min_price, lte=shop.max_price)
                must.append(models.FieldCondition(key=PRICE_FIELD, range=price))
        return models.Filter(must=must or None, must_not=must_not or None)

    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        payloads: Sequence[dict[str, Any]],
        extras: dict[str, Sequence[np.ndarray | None]] | None = None,
    ) -> None:
        points = [
            models.PointStruct(id=pid, vector=vecs, payload=payload)
            for pid, vecs, payload in zip(ids, self.point_vectors(vectors, extras), payloads, strict=True)
        ]
        if points:
            self._call(lambda: self._client.upsert(self.collection, points=points, wait=True))

    def set_payloads(self, ids: Sequence[str], payloads: Sequence[dict[str, Any]]) -> None:
        ops = [
            models.OverwritePayloadOperation(
                overwrite_payload=models.SetPayload(payload=payload, points=[pid])
            )
            for pid, payload in zip(ids, payloads, strict=True)
        ]
        if ops:
            self._call(lambda: self._client.batch_update_points(self.collection, ops, wait=True))

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            selector = models.PointIdsList(points=list(ids))
            self._call(lambda: self._client.delete(self.collection, points_selector=selector, wait=True))

    def count(self, flt: PointFilter | None = None) -> int:
        res = self._call(
            lambda: self._client.count(self.collection, count_filter=self._filter(flt), exact=True)
        )
        return int(res.count)

    def search(
        self, vector: np.ndarray, limit: int, flt: PointFilter | None = None, using: str = VECTOR_NAME
    ) -> list[ScoredPoint]:
        return self._query(self.check_query(vector, using), limit, flt, using)

    def search_batch(self, queries: Sequence[VectorQuery]) -> list[list[ScoredPoint]]:
        """One query_batch_points call: one round trip to the server for every search."""
        if not queries:
            return []
        requests = [
            models.QueryRequest(
                query=self.check_query(q.vector, q.using),
                using=q.using,
                filter=self._filter(q.flt),
                params=self._search_params,
                limit=q.limit,
                with_payload=True,
            )
            for q in queries
        ]
        answers = self._call(lambda: self._client.query_batch_points(self.collection, requests=requests))
        return [
            [ScoredPoint(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in a.points]
            for a in answers
        ]

    def search_families(
        self, vector: np.ndarray, limit: int, flt: PointFilter | None = None, using: str = VECTOR_NAME
    ) -> list[ScoredPoint]:
        """Qdrant's group_by on item_group_id: the server groups, one best point per family."""
        grouped = self._filter(replace(flt or PointFilter(), grouped=True))
        res = self._call(
            lambda: self._client.query_points_groups(
                self.collection,
                group_by=GROUP_FIELD,
                query=self.check_query(vector, using),
                using=using,
                query_filter=grouped,
                search_params=self._search_params,
                limit=limit,
                group_size=1,
                with_payload=True,
            )
        )
        return [
            ScoredPoint(
                id=str(g.hits[0].id), score=float(g.hits[0].score), payload=dict(g.hits[0].payload or {})
            )
            for g in res.groups
            if g.hits
        ]

    def recommend(
        self,
        positive: Sequence[np.ndarray],
        negative: Sequence[np.ndarray],
        limit: int,
        flt: PointFilter | None = None,
    ) -> list[ScoredPoint]:
        query = models.RecommendQuery(
            recommend=models.RecommendInput(
                positive=[np.asarray(v, dtype=np.float32).tolist() for v in positive],
                negative=[np.asarray(v, dtype=np.float32).tolist() for v in negative],
                strategy=models.RecommendStrategy.BEST_SCORE,
            )
        )
        return self._query(query, limit, flt)

    def _query(
        self, query: Any, limit: int, flt: PointFilter | None, using: str = VECTOR_NAME
    ) -> list[ScoredPoint]:
        res = self._call(
            lambda: self._client.query_points(
                self.collection,
                query=query,
                using=using,
                query_filter=self._filter(flt),
                search_params=self._search_params,
                limit=limit,
                with_payload=True,
            )
        )
        return [
            ScoredPoint(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in res.points
        ]

    def retrieve(self, ids: Sequence[str], with_vectors: bool = False) -> list[StoredPoint]:
        if not ids:
            return []
        records = self._call(
            lambda: self._client.retrieve(
                self.collection, ids=list(ids), with_payload=True, with_vectors=with_vectors
            )
        )
        return [stored_point(r, with_vectors) for r in records]

    def scroll(
        self, flt: PointFilter | None = None, limit: int = 256, offset: str | None = None
    ) -> tuple[list[StoredPoint], str | None]:
        records, next_offset = self._call(
            lambda: self._client.scroll(
                self.collection,
                scroll_filter=self._filter(flt),
                limit=limit,
                offset=offset,
                with_payload=True,
            )
        )
        points = [stored_point(r) for r in records]
        return points, (None if next_offset is None else str(next_offset))

    def categories(self) -> dict[str, int]:
        res = self._call(
            lambda: self._client.facet(self.collection, key=CATEGORY_FIELD, limit=100_000, exact=True)
        )
        return {str(h.value): int(h.count) for h in res.hits}

    def optimize(self) -> None:
        """The server builds its HNSW index in the background; nothing to do here."""

    def layout(self) -> StoredLayout:
        return server_layout(self._call(lambda: self._client.get_collection(self.collection)).config)

    def close(self) -> None:
        self._client.close()
