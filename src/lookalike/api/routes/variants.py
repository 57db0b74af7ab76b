"""Other colours and sizes of a product: the products sharing its item_group_id (product families)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request

from lookalike.api.convert import variants_out
from lookalike.api.deps import Searches, Service
from lookalike.api.routes.search import reject_unknown
from lookalike.api.schemas import ProductId, VariantsOut
from lookalike.shop_filter import shop_filter

router = APIRouter(tags=["search"])


@router.get("/products/{product_id:path}/variants", response_model=VariantsOut)
async def variants(
    request: Request,
    product_id: ProductId,
    service: Service,
    runner: Searches,
    in_stock: Annotated[bool, Query(description="Only variants in stock.")] = False,
    min_price: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
    max_price: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
    brand: Annotated[str | None, Query(max_length=200)] = None,
) -> VariantsOut:
    """ "Other colours of this": every other product of the product's family, by colour; an empty list
    for a product without an item_group_id; 404 for an unknown product."""
    reject_unknown(request, {"in_stock", "min_price", "max_price", "brand"})
    shop = shop_filter(in_stock=in_stock, min_price=min_price, max_price=max_price, brand=brand)

    def work():
        group = service.product(product_id)[0].offer.item_group_id
        return group, service.variants(product_id, shop)

    group, found = await runner.run(work)
    return VariantsOut(product_id=product_id, item_group_id=group, variants=variants_out(found))
