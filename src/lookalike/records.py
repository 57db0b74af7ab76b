"""Typed records that cross module boundaries (catalog → ingest → store → search → front ends)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lookalike.regions import Box


@dataclass(frozen=True)
class Product:
    """One catalog image: a product may have several (views), each its own point."""

    product_id: str
    category: str
    path: Path
    rel_path: str
    sha256: str
    title: str | None = None
    description: str | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "category": self.category,
            "path": str(self.path),
            "rel_path": self.rel_path,
            "sha256": self.sha256,
            "title": self.title,
            "description": self.description,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Product:
        return cls(
            product_id=str(payload["product_id"]),
            category=str(payload["category"]),
            path=Path(payload["path"]),
            rel_path=str(payload["rel_path"]),
            sha256=str(payload["sha256"]),
            title=payload.get("title"),
            description=payload.get("description"),
        )


@dataclass(frozen=True)
class Hit:
    """A ranked search result; `region` is where in the query photo it matched (None: the whole photo)."""

    product: Product
    score: float
    point_id: str
    region: Box | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self.product)
        d["path"] = str(self.product.path)
        region = None if self.region is None else asdict(self.region)
        return {"score": self.score, "point_id": self.point_id, "region": region, **d}


@dataclass(frozen=True)
class RegionHits:
    """One product region found in a photo ("products in this photo") and what it matches, best first."""

    region: Box
    hits: list[Hit]


@dataclass
class IndexReport:
    """What an `index` run did; `failed` lists files skipped with the reason."""

    root: Path
    scanned: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    stale: int = 0  # indexed images whose file is gone, kept because --prune was not given
    embedded: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class CollectionInfo:
    collection: str
    backend: str
    location: str
    encoder: str
    dim: int
    points: int
    categories: dict[str, int]
