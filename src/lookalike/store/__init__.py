"""The only package that imports Qdrant: the embedded Edge store by default, a server when a URL is set."""

from __future__ import annotations

from lookalike.config import Settings
from lookalike.store.base import (
    VECTOR_NAME,
    PointFilter,
    Schema,
    ScoredPoint,
    StoredPoint,
    VectorQuery,
    VectorStore,
)
from lookalike.store.plan import MemoryPlan

__all__ = [
    "VECTOR_NAME",
    "PointFilter",
    "Schema",
    "MemoryPlan",
    "ScoredPoint",
    "StoredPoint",
    "VectorQuery",
    "VectorStore",
    "open_store",
]


def open_store(settings: Settings, schema: Schema | None) -> VectorStore:
    """Open (and with a schema, create if missing) the configured collection.

    schema=None opens whatever is there, for read-only views such as `lookalike info`.
    """
    plan = MemoryPlan.from_settings(settings)
    if settings.qdrant_url:
        from qdrant_client import QdrantClient

        from lookalike.store.server import ServerStore

        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        if settings.qdrant_url == ":memory:":
            client = QdrantClient(location=":memory:")
        else:
            client = QdrantClient(url=settings.qdrant_url, api_key=key, timeout=settings.qdrant_timeout)
        return ServerStore(client, settings.collection, schema, location=settings.qdrant_url, plan=plan)
    from lookalike.store.edge import EdgeStore

    return EdgeStore(settings.store_dir, schema, plan=plan)
