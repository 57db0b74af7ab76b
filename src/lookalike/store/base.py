"""The VectorStore interface: what lookalike needs from Qdrant, whichever way Qdrant runs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from lookalike.errors import SchemaMismatchError, StoreError
from lookalike.shop_filter import AVAILABILITY_FIELD, BRAND_FIELD, GROUP_FIELD, PRICE_FIELD, ShopFilter

if TYPE_CHECKING:
    from lookalike.store.plan import StoredLayout

VECTOR_NAME = "image"
MAX_GROUP_FETCH = 20_000  # points the grouping emulation reads at most per query
CATEGORY_FIELD = "category"
PRODUCT_FIELD = "product_id"
# payload indexes beside category and product_id: what shop filters and product families run on
KEYWORD_FIELDS = (CATEGORY_FIELD, PRODUCT_FIELD, AVAILABILITY_FIELD, BRAND_FIELD, GROUP_FIELD)
FLOAT_FIELDS = (PRICE_FIELD,)


@dataclass(frozen=True)
class Schema:
    """What made the vectors: opening a collection with another encoder would give garbage results."""

    encoder: str
    dim: int
    # auxiliary named vectors beside `image` (name, dim), e.g. title text, ImageNet concepts, colours
    extras: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"encoder": self.encoder, "dim": self.dim, "extras": [list(e) for e in self.extras]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        extras = tuple((str(n), int(k)) for n, k in d.get("extras", []))
        return cls(encoder=str(d["encoder"]), dim=int(d["dim"]), extras=extras)

    @property
    def vectors(self) -> dict[str, int]:
        return {VECTOR_NAME: self.dim, **dict(self.extras)}

    def check(self, expected: Schema, where: str) -> None:
        if (self.encoder, self.dim) == (expected.encoder, expected.dim) and self.extras != expected.extras:
            raise SchemaMismatchError(
                f"{where} was built by another version of lookalike (vectors {sorted(self.vectors)}, "
                f"now {sorted(expected.vectors)}): re-index into a new LOOKALIKE_COLLECTION"
            )
        if self.encoder == expected.encoder and self.dim != expected.dim:
            raise SchemaMismatchError(
                f"{where} holds {self.dim}-d vectors but encoder '{self.encoder}' now makes "
                f"{expected.dim}-d ones: re-index into a new LOOKALIKE_COLLECTION"
            )
        if self != expected:
            raise SchemaMismatchError(
                f"{where} was built with encoder '{self.encoder}' ({self.dim}-d) but lookalike is set to "
                f"'{expected.encoder}' ({expected.dim}-d). Set LOOKALIKE_ENCODER={self.encoder}, or use "
                "another LOOKALIKE_COLLECTION for the new encoder (or delete the old one and re-index)."
            )


@dataclass(frozen=True)
class StoredPoint:
    id: str
    payload: dict[str, Any]
    vector: np.ndarray | None = None


def stored_point(record: Any, with_vector: bool = False) -> StoredPoint:
    """A StoredPoint from either backend's record (both expose .id, .payload and named .vector)."""
    vec = record.vector if with_vector else None
    if isinstance(vec, dict):
        vec = vec.get(VECTOR_NAME)
    return StoredPoint(
        id=str(record.id),
        payload=dict(record.payload or {}),
        vector=None if vec is None else np.asarray(vec, dtype=np.float32),
    )


@dataclass(frozen=True)
class ScoredPoint:
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class PointFilter:
    """The filters lookalike uses; each backend translates it into its own Qdrant filter."""

    category: str | None = None
    product_id: str | None = None
    ids: tuple[str, ...] = ()  # only these points (re-scoring a candidate set)
    exclude_ids: tuple[str, ...] = ()
    exclude_product_ids: tuple[str, ...] = ()
    shop: ShopFilter | None = None  # in stock, price range, brand
    item_group_ids: tuple[str, ...] = ()  # only variants of these product families
    grouped: bool | None = None  # True: only points with an item_group_id; False: only points without

    @property
    def empty(self) -> bool:
        # '' is a value to match, not "no filter": an empty id must match nothing, not everything
        no_values = self.category is None and self.product_id is None and self.grouped is None
        no_shop = self.shop is None or self.shop.empty
        return (
            no_values
            and no_shop
            and not (self.ids or self.exclude_ids or self.exclude_product_ids or self.item_group_ids)
        )


@dataclass(frozen=True)
class VectorQuery:
    """One nearest-neighbour query of a batch (VectorStore.search_batch)."""

    vector: np.ndarray
    limit: int
    flt: PointFilter | None = None
    using: str = VECTOR_NAME


class VectorStore(ABC):
    """One collection of points with a named cosine vector `image` and a product payload."""

    backend: str
    location: str
    schema: Schema

    @abstractmethod
    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        payloads: Sequence[dict[str, Any]],
        extras: dict[str, Sequence[np.ndarray | None]] | None = None,
    ) -> None:
        """Insert or replace points; `extras[name][i]` is point i's auxiliary vector (None = absent)."""

    @abstractmethod
    def set_payloads(self, ids: Sequence[str], payloads: Sequence[dict[str, Any]]) -> None:
        """Replace the payload of existing points, keeping their vectors."""

    @abstractmethod
    def delete(self, ids: Sequence[str]) -> None: ...

    @abstractmethod
    def count(self, flt: PointFilter | None = None) -> int: ...

    @abstractmethod
    def search(
        self, vector: np.ndarray, limit: int, flt: PointFilter | None = None, using: str = VECTOR_NAME
    ) -> list[ScoredPoint]:
        """Nearest points by the named vector `using` (cosine)."""

    @abstractmethod
    def search_batch(self, queries: Sequence[VectorQuery]) -> list[list[ScoredPoint]]:
        """Several searches in one request to the engine (Qdrant's batch query); answers in order."""

    def search_families(
        self, vector: np.ndarray, limit: int, flt: PointFilter | None = None, using: str = VECTOR_NAME
    ) -> list[ScoredPoint]:
        """The best point of each of the `limit` best product families (points sharing `item_group_id`),
        best first; points without a family are left out.

        A backend with Qdrant's grouping (the server: `group_by`) overrides this. The embedded engine has
        none, so here the nearest points are read in growing pages and grouped the way Qdrant does:
        a group ranks by its best point.
        """
        grouped = replace(flt or PointFilter(), grouped=True)
        fetch = limit * 4
        while True:
            points = self.search(vector, fetch, grouped, using)
            best: dict[str, ScoredPoint] = {}
            for p in points:
                best.setdefault(str(p.payload.get(GROUP_FIELD)), p)
            if len(best) >= limit or len(points) < fetch or fetch >= MAX_GROUP_FETCH:
                return list(best.values())[:limit]
            fetch = min(fetch * 4, MAX_GROUP_FETCH)

    @abstractmethod
    def recommend(
        self,
        positive: Sequence[np.ndarray],
        negative: Sequence[np.ndarray],
        limit: int,
        flt: PointFilter | None = None,
    ) -> list[ScoredPoint]:
        """Qdrant's recommend query (best-score strategy) over example vectors."""

    @abstractmethod
    def retrieve(self, ids: Sequence[str], with_vectors: bool = False) -> list[StoredPoint]: ...

    @abstractmethod
    def scroll(
        self, flt: PointFilter | None = None, limit: int = 256, offset: str | None = None
    ) -> tuple[list[StoredPoint], str | None]:
        """A page of points in id order and the id to continue from (None at the end)."""

    @abstractmethod
    def categories(self) -> dict[str, int]:
        """Points per category, from the payload index."""

    @abstractmethod
    def optimize(self) -> None:
        """Build indexes after a bulk load (HNSW on the embedded store; the server does it itself)."""

    @abstractmethod
    def close(self) -> None: ...

    def read_note(self, key: str) -> dict[str, Any] | None:
        """A small JSON note kept with the collection (e.g. the match calibration); None when absent."""
        return None

    def write_note(self, key: str, value: dict[str, Any]) -> None:
        """Keep a small JSON note with the collection, replacing the one under `key`."""
        raise StoreError(f"the {self.backend} store keeps no notes")

    @abstractmethod
    def layout(self) -> StoredLayout:
        """How the collection stores and indexes its vectors, as the engine reports it (store/plan.py)."""

    def iter_points(self, flt: PointFilter | None = None, page: int = 512):
        offset: str | None = None
        while True:
            points, offset = self.scroll(flt, limit=page, offset=offset)
            yield from points
            if offset is None:
                return

    def point_vectors(
        self, vectors: np.ndarray, extras: dict[str, Sequence[np.ndarray | None]] | None
    ) -> list[dict[str, list[float]]]:
        """Validated per-point {vector name: values}: a wrong size or a NaN never reaches Qdrant."""
        dims = self.schema.vectors
        arr = self._checked(VECTOR_NAME, vectors, dims[VECTOR_NAME])
        out = [{VECTOR_NAME: v.tolist()} for v in arr]
        for name, column in (extras or {}).items():
            if name not in dims or name == VECTOR_NAME:
                raise StoreError(f"this collection has no '{name}' vector (it has {sorted(dims)})")
            if len(column) != len(out):
                raise StoreError(f"{len(column)} '{name}' vectors for {len(out)} points")
            for point, vec in zip(out, column, strict=True):
                if vec is not None:
                    point[name] = self._checked(name, np.asarray(vec)[None, :], dims[name])[0].tolist()
        return out

    def check_query(self, vector: np.ndarray, using: str) -> list[float]:
        dims = self.schema.vectors
        if using not in dims:
            raise StoreError(f"this collection has no '{using}' vector (it has {sorted(dims)})")
        return self._checked(using, np.asarray(vector)[None, :], dims[using])[0].tolist()

    def _checked(self, name: str, vectors: np.ndarray, dim: int) -> np.ndarray:
        arr = np.asarray(vectors, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != dim:
            raise StoreError(
                f"'{name}' vectors of shape {tuple(arr.shape)} do not fit this collection "
                f"({dim}-d, encoder '{self.schema.encoder}')"
            )
        if not np.isfinite(arr).all():
            raise StoreError("refusing to store or search vectors with NaN or infinite values")
        return arr

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
