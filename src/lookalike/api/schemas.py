"""Request and response models of the REST API, and the parameter types its routes share.

The parameter types live at module level: with postponed annotations FastAPI resolves them from the
globals of the module that uses them, so routes import them by name.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Form, Path
from pydantic import BaseModel, ConfigDict, Field

from lookalike.result_shape import ResultShape
from lookalike.search import MAX_REGIONS, MAX_TOP_K
from lookalike.shop_filter import MAX_BRAND_CHARS

TopK = Annotated[int, Field(ge=1, le=MAX_TOP_K, description="How many products to return.")]
ProductId = Annotated[str, Path(min_length=1, description="A product id from the index.")]
FormTopK = Annotated[int, Form(ge=1, le=MAX_TOP_K, description="How many products to return.")]
FormCategory = Annotated[str | None, Form(description="Only products of this category.")]
FormRegion = Annotated[
    str,
    Form(
        max_length=20,
        description="'auto' (default): find the product inside the photo; 'whole': compare the whole photo.",
    ),
]
FormBox = Annotated[
    str | None,
    Form(
        max_length=100,
        description="Search only this part of the photo: 'X,Y,W,H' in pixels, or fractions 0–1 of the photo.",
    ),
]


Price = Annotated[
    float | None, Field(ge=0, allow_inf_nan=False, description="In the catalog's currency, bounds included.")
]
FormInStock = Annotated[bool, Form(description="Only products in stock.")]
FormMinPrice = Annotated[
    float | None, Form(ge=0, allow_inf_nan=False, description="Only products costing at least this.")
]
FormMaxPrice = Annotated[
    float | None, Form(ge=0, allow_inf_nan=False, description="Only products costing at most this.")
]
FormBrand = Annotated[str | None, Form(max_length=MAX_BRAND_CHARS, description="Only this brand (exact).")]
FormFamilies = Annotated[
    bool, Form(description="One result per product family (item_group_id), other variants listed.")
]
FormDiverse = Annotated[bool, Form(description="Varied results (maximal marginal relevance).")]


class ShopFields(BaseModel):
    """Shop filters and result shaping, the same on every search (JSON bodies)."""

    in_stock: bool = Field(False, description="Only products in stock.")
    min_price: Price = None
    max_price: Price = None
    brand: str | None = Field(None, max_length=MAX_BRAND_CHARS, description="Only this brand (exact).")
    families: bool = Field(False, description="One result per product family, other variants listed.")
    diverse: bool = Field(False, description="Varied results (maximal marginal relevance).")

    def result_shape(self) -> ResultShape:
        """What SearchService takes (a FilterError when the price range is reversed)."""
        return ResultShape.from_options(
            in_stock=self.in_stock,
            min_price=self.min_price,
            max_price=self.max_price,
            brand=self.brand,
            families=self.families,
            diverse=self.diverse,
        )


class VariantOut(BaseModel):
    """Another product of the same family: a colour or size of one model."""

    product_id: str
    title: str | None
    colour: str | None
    price: float | None
    currency: str | None
    availability: str | None
    image_url: str = Field(description="Thumbnail: the variant's first image.")
    image_link: str | None = Field(description="Where the image came from (feeds).")


class VariantsOut(BaseModel):
    product_id: str
    item_group_id: str | None
    variants: list[VariantOut]


Match = Literal["exact", "similar", "none"]


class RegionOut(BaseModel):
    """A box in the query photo's pixels (after EXIF rotation): left, top, width, height."""

    x: int
    y: int
    w: int
    h: int


class OfferOut(BaseModel):
    """The shop's fields for the product (feed or sidecar), null when the catalog does not give them."""

    price: float | None = Field(default=None, description="What the shopper pays now (sale price if any).")
    regular_price: float | None = Field(default=None, description="The price before a sale, if on sale.")
    currency: str | None = None
    link: str | None = Field(default=None, description="The product's page in the shop.")
    image_link: str | None = Field(default=None, description="Where the indexed image came from (feeds).")
    availability: str | None = Field(default=None, description="in_stock, out_of_stock, preorder, backorder.")
    brand: str | None = None
    colour: str | None = None
    item_group_id: str | None = Field(default=None, description="Variants of one model share it.")


class HitOut(OfferOut):
    rank: int
    score: float = Field(
        description="Higher is closer. Cosine similarity of the best-matching view for photo and joint "
        "queries (photo + words: the weighted blend); for words with an image-only encoder, a "
        "reciprocal-rank-fusion score (about 0.01–0.05)."
    )
    product_id: str
    category: str
    title: str | None
    rel_path: str = Field(description="The matching image's path inside its catalog.")
    point_id: str
    image_url: str = Field(description="URL of the matching image.")
    region: RegionOut | None = Field(
        default=None, description="Where in the query photo this product matched; null: the whole photo."
    )
    variants: list[VariantOut] = Field(
        default=[], description="With families=true: the other products of this product's family."
    )
    match: Match | None = Field(
        default=None, description="Photo searches: is this hit the product (exact), like it (similar) or not?"
    )


MATCH_HELP = (
    "Photo searches: 'exact' (the best hit is the product in the photo), 'similar' (the shop sells things "
    "like it), 'none' (we don't seem to carry this; the hits are only the closest products). Thresholds "
    "are learnt from the catalog at index time; null when the collection is not calibrated (see match_note)."
)


class SearchOut(BaseModel):
    hits: list[HitOut]
    took_ms: float
    match: Match | None = Field(default=None, description=MATCH_HELP)
    match_note: str | None = Field(default=None, description="Why `match` is null, when it is.")


class TextQuery(ShopFields):
    model_config = ConfigDict(strict=True, extra="forbid")  # JSON `"top_k": true` is a mistake, not 1

    text: str = Field(min_length=1, max_length=500, description="Words describing the product.")
    top_k: TopK = 10
    category: str | None = None


ImageUrl = Annotated[
    str | None,
    Field(
        max_length=4096,
        description="The photo's http(s) URL; the server downloads it. Addresses inside the server's own "
        "network (loopback, private, link-local, cloud metadata) are refused.",
    ),
]
ImageB64 = Annotated[
    str | None,
    Field(description="The photo as base64 (standard or URL-safe) or a data URL (data:image/png;base64,…)."),
]
FormImageUrl = Annotated[str | None, Form(max_length=4096, description="The photo's http(s) URL.")]
FormImageB64 = Annotated[str | None, Form(description="The photo as base64 or a base64 data URL.")]
Region = Annotated[
    str,
    Field(max_length=20, description="'auto': find the product inside the photo; 'whole': the whole photo."),
]
BoxText = Annotated[
    str | None, Field(max_length=100, description="Only this part: 'X,Y,W,H' (pixels or 0–1).")
]


class ImageSearchIn(ShopFields):
    """POST /search/image as JSON: the photo by `image_url` or `image_b64` (one of them)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    image_url: ImageUrl = None
    image_b64: ImageB64 = None
    top_k: TopK = 10
    category: str | None = None
    region: Region = "auto"
    box: BoxText = None


class CombinedSearchIn(ImageSearchIn):
    """POST /search/combined as JSON: a photo (URL or base64) refined by words."""

    text: str = Field(min_length=1, max_length=500, description="Words that refine the photo.")
    weight: float = Field(0.5, ge=0, le=1, description="Weight of the words (0 = photo only).")


class RegionsSearchIn(ShopFields):
    """POST /search/regions as JSON."""

    model_config = ConfigDict(strict=True, extra="forbid")

    image_url: ImageUrl = None
    image_b64: ImageB64 = None
    max_products: int = Field(3, ge=1, le=MAX_REGIONS, description="How many product regions at most.")
    top_k: int = Field(5, ge=1, le=50, description="Products per region.")
    category: str | None = None


class BatchQueryIn(ShopFields):
    """One photo of a batch: by URL or base64, with its own options."""

    model_config = ConfigDict(strict=True, extra="forbid")

    image_url: ImageUrl = None
    image_b64: ImageB64 = None
    top_k: TopK = 10
    category: str | None = None
    region: Annotated[
        str,
        Field(
            max_length=20,
            description="'whole' (default in a batch) or 'auto' (find the product inside the photo: "
            "answered on its own, outside the batch, and slower).",
        ),
    ] = "whole"
    box: BoxText = None


class BatchIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    queries: list[BatchQueryIn] = Field(
        min_length=1,
        description="The photos to search for, answered in this order (at most LOOKALIKE_MAX_BATCH).",
    )


class BatchAnswerOut(BaseModel):
    """One query's answer: its hits, or why it failed (`status`: what a single request would have got)."""

    hits: list[HitOut] | None = None
    match: Match | None = Field(default=None, description=MATCH_HELP)
    error: str | None = None
    status: int = 200


class BatchOut(BaseModel):
    results: list[BatchAnswerOut]
    took_ms: float


class CategoryOut(BaseModel):
    name: str
    images: int
    products_url: str


class CategoriesOut(BaseModel):
    categories: list[CategoryOut]


class ProductOut(OfferOut):
    product_id: str
    category: str
    title: str | None
    views: int
    image_url: str


class PageOut(BaseModel):
    category: str
    total: int = Field(description="Products in the category.")
    offset: int
    limit: int
    seed: int | None = Field(description="Shuffle seed: pass it back with next_offset for the next page.")
    next_offset: int | None
    products: list[ProductOut]


class AddedOut(BaseModel):
    product_id: str
    category: str
    point_id: str
    rel_path: str
    image_url: str


class AddOut(BaseModel):
    added: list[AddedOut]
    replaced: int = Field(description="Images of the product removed first (replace=true).")


class ViewOut(BaseModel):
    point_id: str
    rel_path: str
    image_url: str
    file_ok: bool = Field(description="False when the image file is gone: see `lookalike clean`.")


class ProductDetailOut(OfferOut):
    product_id: str
    category: str
    title: str | None
    views: list[ViewOut] = Field(description="Every image of the product the index holds, in path order.")


class DeleteOut(BaseModel):
    product_id: str
    deleted: int = Field(description="Images removed from the index.")


class HealthOut(BaseModel):
    status: str
    version: str
    encoder: str
    dim: int
    backend: str
    points: int
    categories: int
    text_search: str = Field(
        description="'joint' (the encoder embeds text) or 'words' (titles, classes, colours)"
    )


class RegionHitsOut(BaseModel):
    region: RegionOut
    hits: list[HitOut]
    match: Match | None = Field(default=None, description=MATCH_HELP)


class RegionsOut(BaseModel):
    """Products in this photo: one group per product region found, best first."""

    regions: list[RegionHitsOut]
    took_ms: float
