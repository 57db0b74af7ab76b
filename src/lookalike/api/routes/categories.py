"""Categories: what the index holds per category, and pages of a category's products."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query

from lookalike.api.convert import image_url
from lookalike.api.deps import Catalog, Searches, Service
from lookalike.api.schemas import CategoriesOut, CategoryOut, PageOut, ProductOut
from lookalike.search import MAX_TOP_K
from lookalike.shop_filter import shop_filter

router = APIRouter(tags=["catalog"])


@router.get("/categories", response_model=CategoriesOut)
def categories(service: Service) -> CategoriesOut:
    """The categories in the index and how many images each holds."""
    return CategoriesOut(
        categories=[
            CategoryOut(name=name, images=n, products_url=f"/categories/{quote(name, safe='')}/products")
            for name, n in service.categories().items()
        ]
    )


@router.get("/categories/{name:path}/products", response_model=PageOut)
async def category_products(
    name: Annotated[str, Path(description="A category name from GET /categories.")],
    catalog: Catalog,
    runner: Searches,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_TOP_K)] = 24,
    shuffle: Annotated[
        bool, Query(description="Random order; no repeats while paging with one seed.")
    ] = False,
    seed: Annotated[int | None, Query(ge=0, description="The seed of a previous shuffled page.")] = None,
    in_stock: Annotated[bool, Query(description="Only products in stock.")] = False,
    min_price: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
    max_price: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
    brand: Annotated[str | None, Query(max_length=200, description="Only this brand (exact).")] = None,
) -> PageOut:
    """A page of a category's products, in id order or shuffled; shop filters as on searches."""
    shop = shop_filter(in_stock=in_stock, min_price=min_price, max_price=max_price, brand=brand)
    # reads the whole category: under the same time limit and concurrency cap as searches
    page = await runner.run(
        lambda: catalog.browse(name, offset, limit, shuffle=shuffle, seed=seed, shop=shop)
    )
    return PageOut(
        category=page.category,
        total=page.total,
        offset=page.offset,
        limit=page.limit,
        seed=page.seed,
        next_offset=page.next_offset,
        products=[
            ProductOut(
                product_id=p.product_id,
                category=p.category,
                title=p.title,
                views=len(p.views),
                image_url=image_url(p.product_id),
                **asdict(p.cover.offer),
            )
            for p in page.products
        ],
    )
