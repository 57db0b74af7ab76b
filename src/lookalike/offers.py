"""Shop columns (price, stock, link, brand…) from a sidecar row or a feed item into an `Offer`.

Shops export these fields in many spellings ("15.00 USD", "in stock", "color"); a value that cannot be
read is left out with a warning rather than failing the whole catalog: one bad price must not stop
indexing, and a product without a price is simply excluded by price filters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from lookalike.records import Offer

AVAILABILITY = ("in_stock", "out_of_stock", "preorder", "backorder")
_AVAILABILITY_SPELLINGS = {
    "instock": "in_stock",
    "available": "in_stock",
    "outofstock": "out_of_stock",
    "soldout": "out_of_stock",
    "discontinued": "out_of_stock",
    "preorder": "preorder",
    "backorder": "backorder",
    "availablefororder": "backorder",
}
# Column names accepted for each offer field, first match wins (Merchant Center names included).
COLUMNS: dict[str, tuple[str, ...]] = {
    "price": ("price",),
    "sale_price": ("sale_price",),
    "currency": ("currency",),
    "link": ("link", "url", "product_url"),
    "image_link": ("image_link", "image_url"),
    "availability": ("availability", "stock"),
    "brand": ("brand",),
    "colour": ("colour", "color"),
    "item_group_id": ("item_group_id", "group_id"),
}
_CURRENCY_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}
_AMOUNT = re.compile(r"^[+]?\d{1,3}(?:[ ,.\u00a0\u202f']\d{3})*(?:[.,]\d+)?$|^[+]?\d+(?:[.,]\d+)?$")


@dataclass
class OfferRead:
    offer: Offer
    warnings: list[str] = field(default_factory=list)


def parse_price(text: str) -> tuple[float, str | None]:
    """'15.00 USD', 'USD 15', '€1.299,00', '1,299.00' → (amount, currency or None). Raises ValueError."""
    raw = text.strip()
    currency = None
    for sign, code in _CURRENCY_SIGNS.items():
        if sign in raw:
            currency, raw = code, raw.replace(sign, " ")
    code = re.search(r"\b([A-Za-z]{3})\b", raw)
    if code:
        currency, raw = code.group(1).upper(), raw.replace(code.group(0), " ")
    amount = raw.strip()
    if not amount or not _AMOUNT.match(amount):
        raise ValueError(f"not a price: {text!r}")
    amount = re.sub(r"[ \u00a0\u202f']", "", amount)
    last_sep = max(amount.rfind(","), amount.rfind("."))
    # the last separator is the decimal one when 1–2 digits follow it ("1.299,00", "12,5"), else grouping
    if last_sep >= 0 and len(amount) - last_sep - 1 in (1, 2):
        whole, decimals = amount[:last_sep], amount[last_sep + 1 :]
    else:
        whole, decimals = amount, ""
    value = float(re.sub(r"[,.]", "", whole) + ("." + decimals if decimals else ""))
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"not a price: {text!r}")
    return value, currency


def normalise_availability(text: str) -> str | None:
    """'in stock', 'In_Stock', 'https://schema.org/InStock' → 'in_stock'; None when unknown."""
    key = re.sub(r"[^a-z]", "", text.lower().rsplit("/", 1)[-1])
    return _AVAILABILITY_SPELLINGS.get(key)


def _column(row: Mapping[str, object], field_name: str) -> str | None:
    for name in COLUMNS[field_name]:
        value = row.get(name)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def read_offer(row: Mapping[str, object]) -> OfferRead:
    """The offer a row describes; unreadable values are dropped, each with a warning."""
    warnings: list[str] = []
    prices: dict[str, float] = {}
    currency = _column(row, "currency")
    for name in ("price", "sale_price"):
        text = _column(row, name)
        if text is None:
            continue
        try:
            prices[name], found = parse_price(text)
        except ValueError:
            warnings.append(f"{name} {text!r} is not a number: stored without it")
            continue
        currency = currency or found
    availability = _column(row, "availability")
    stock = normalise_availability(availability) if availability else None
    if availability and stock is None:
        warnings.append(f"availability {availability!r} is not one of {', '.join(AVAILABILITY)}: left out")
    sale = prices.get("sale_price")
    regular = prices.get("price")
    offer = Offer(
        price=sale if sale is not None else regular,
        regular_price=regular if sale is not None else None,
        currency=currency.upper() if currency else None,
        link=_column(row, "link"),
        image_link=_column(row, "image_link"),
        availability=stock,
        brand=_column(row, "brand"),
        colour=_column(row, "colour"),
        item_group_id=_column(row, "item_group_id"),
    )
    return OfferRead(offer, warnings)
