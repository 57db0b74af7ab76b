"""The shop controls of the search tabs (in stock, price range, brand, one per family, diverse) and the
"Other colours" gallery; plain functions turn their values into the ResultShape SearchService takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from lookalike.catalog_service import CatalogService
from lookalike.errors import LookalikeError
from lookalike.result_shape import ResultShape
from lookalike.search import SearchService
from lookalike.shop_filter import FilterError
from lookalike.ui.handlers import GalleryItem, fail, md


@dataclass
class ShopControls:
    in_stock: gr.Checkbox
    min_price: gr.Textbox
    max_price: gr.Textbox
    brand: gr.Textbox
    families: gr.Checkbox
    diverse: gr.Checkbox

    @property
    def inputs(self) -> list[Any]:
        """In the order chosen_shape takes them."""
        return [self.in_stock, self.min_price, self.max_price, self.brand, self.families, self.diverse]


def shop_controls(prefix: str) -> ShopControls:
    """One folded row of filters: kept out of the way until a shopper wants them."""
    with gr.Accordion("Shop filters", open=False, elem_id=f"{prefix}-shop"):
        with gr.Row():
            in_stock = gr.Checkbox(label="In stock only", elem_id=f"{prefix}-in-stock", min_width=120)
            # text boxes, not gr.Number: an empty box must mean "no bound", and a Number shows 0
            min_price = gr.Textbox(
                label="Min price", placeholder="any", elem_id=f"{prefix}-min-price", min_width=90
            )
            max_price = gr.Textbox(
                label="Max price", placeholder="any", elem_id=f"{prefix}-max-price", min_width=90
            )
            brand = gr.Textbox(
                label="Brand", placeholder="exact name", elem_id=f"{prefix}-brand", min_width=120
            )
        with gr.Row():
            families = gr.Checkbox(
                label="One result per product family (other colours listed)", elem_id=f"{prefix}-families"
            )
            diverse = gr.Checkbox(label="Diverse results", elem_id=f"{prefix}-diverse")
    return ShopControls(in_stock, min_price, max_price, brand, families, diverse)


def price_bound(value: object, name: str) -> float | None:
    """A price box's value: empty is no bound; '12.50' and '12,50' are 12.5; anything else a FilterError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().replace(",", ".")
    try:
        return float(text)
    except ValueError:
        raise FilterError(f"{name} must be a number, not {str(value)[:40]!r}") from None


def chosen_shape(
    in_stock: bool = False,
    min_price: float | str | None = None,
    max_price: float | str | None = None,
    brand: str | None = None,
    families: bool = False,
    diverse: bool = False,
) -> ResultShape:
    """The controls' values as the searches' ResultShape; a FilterError when the range makes no sense."""
    return ResultShape.from_options(
        in_stock=bool(in_stock),
        min_price=price_bound(min_price, "min price"),
        max_price=price_bound(max_price, "max price"),
        brand=(brand or "").strip() or None,
        families=families,
        diverse=diverse,
    )


def other_colours(
    service: SearchService, ids: list[str], index: int | None
) -> tuple[list[GalleryItem], str, Any]:
    """The clicked result's family ("Other colours of this"): gallery items, a status line, and the
    accordion opened when there is something to show."""
    if index is None or not 0 <= index < len(ids):
        return [], "", gr.update()
    product_id = ids[index]
    try:
        variants = service.variants(product_id)
        catalog = CatalogService(service)
        items = [
            (
                catalog.thumbnail(service.product(v.product_id)[0]),
                variant_caption(v.colour, v.product_id, v.price, v.availability),
            )
            for v in variants
        ]
    except LookalikeError as exc:
        return [], fail(exc), gr.update()
    if not items:
        return [], f"**{md(product_id)}** comes in no other colours here.", gr.update()
    return items, f"Other colours of **{md(product_id)}**", gr.update(open=True)


def variant_caption(
    colour: str | None, product_id: str, price: float | None, availability: str | None = None
) -> str:
    """Colour (else the id), price, and the stock when it is not plainly in stock: every colour is shown,
    the ones a shopper cannot buy now marked as such."""
    price_text = "" if price is None else f" · {price:.2f}"
    stock = f" · {availability.replace('_', ' ')}" if availability and availability != "in_stock" else ""
    return f"{colour or product_id}{price_text}{stock}"
