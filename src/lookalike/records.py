"""Typed records that cross module boundaries (catalog → ingest → store → search → front ends)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lookalike.regions import Box


@dataclass(frozen=True)
class Offer:
    """How the shop sells a product (feed or sidecar columns): returned with every hit so a storefront
    renders results without a second lookup, and what shop filters (price, stock, brand) run on."""

    price: float | None = None  # what the shopper pays now: the sale price when there is one
    regular_price: float | None = None  # the price before a sale, when the feed gives both
    currency: str | None = None  # ISO 4217 code, e.g. EUR
    link: str | None = None  # the product page
    image_link: str | None = None  # where the indexed image came from (feeds)
    availability: str | None = None  # in_stock | out_of_stock | preorder | backorder
    brand: str | None = None
    colour: str | None = None
    item_group_id: str | None = None  # variants (sizes, colours) of one model share it

    def payload(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Offer:
        def text(key: str) -> str | None:
            value = payload.get(key)
            return None if value is None else str(value)

        def number(key: str) -> float | None:
            value = payload.get(key)
            return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

        return cls(
            price=number("price"),
            regular_price=number("regular_price"),
            currency=text("currency"),
            link=text("link"),
            image_link=text("image_link"),
            availability=text("availability"),
            brand=text("brand"),
            colour=text("colour"),
            item_group_id=text("item_group_id"),
        )


OFFER_FIELDS = tuple(Offer.__dataclass_fields__)


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
    offer: Offer = field(default_factory=Offer)

    def payload(self) -> dict[str, Any]:
        """Offer fields stand flat beside the product's so Qdrant filters and indexes them by name."""
        return {
            **self.offer.payload(),
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
            offer=Offer.from_payload(payload),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, offer fields flat (absent ones as null)."""
        d = {k: v for k, v in asdict(self).items() if k != "offer"}
        return {**d, "path": str(self.path), **asdict(self.offer)}


@dataclass(frozen=True)
class Variant:
    """Another product of the same family (item_group_id): a colour or size of one model."""

    product_id: str
    point_id: str  # its first image, for a thumbnail
    title: str | None = None
    colour: str | None = None
    price: float | None = None
    currency: str | None = None
    availability: str | None = None
    image_link: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Hit:
    """A ranked search result; `region` is where in the query photo it matched (None: the whole photo);
    `variants` (with families on) the other products of its family."""

    product: Product
    score: float
    point_id: str
    region: Box | None = None
    variants: tuple[Variant, ...] = ()
    # photo searches: "exact" | "similar" | "none" from the collection's calibration (None: not judged)
    match: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = self.product.to_dict()
        region = None if self.region is None else asdict(self.region)
        out = {"score": self.score, "match": self.match, "point_id": self.point_id, "region": region, **d}
        if self.variants:
            out["variants"] = [v.to_dict() for v in self.variants]
        return out


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
