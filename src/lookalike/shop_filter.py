"""Shop filters (in stock, price range, brand): what a shopper narrows results by, beside the category.

They run inside Qdrant as payload conditions on indexed fields (keyword `availability` and `brand`,
float `price`), so a filtered query still returns `top_k` results when the index holds them: a post-filter
would return fewer. A product without a price is left out by any price bound and kept otherwise; one
without a known availability is left out by `in_stock`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from lookalike.errors import LookalikeError

IN_STOCK = "in_stock"
PRICE_FIELD = "price"
AVAILABILITY_FIELD = "availability"
BRAND_FIELD = "brand"
GROUP_FIELD = "item_group_id"
MAX_BRAND_CHARS = 200


class FilterError(LookalikeError):
    """A shop filter that cannot be applied (negative or reversed price range, unknown field)."""


@dataclass(frozen=True)
class ShopFilter:
    """Availability, price range (in the catalog's currency, bounds included) and brand (exact)."""

    in_stock: bool = False
    min_price: float | None = None
    max_price: float | None = None
    brand: str | None = None

    def __post_init__(self) -> None:
        for name in ("min_price", "max_price"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FilterError(f"{name} must be a number, not {value!r}")
            if not math.isfinite(value):
                raise FilterError(f"{name} must be a finite number, not {value}")
            if value < 0:
                raise FilterError(f"{name} must not be negative ({value:g})")
            object.__setattr__(self, name, float(value))
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise FilterError(
                f"min_price ({self.min_price:g}) is above max_price ({self.max_price:g}): "
                "the range is reversed"
            )
        if self.brand is not None:
            brand = " ".join(str(self.brand).split())
            if len(brand) > MAX_BRAND_CHARS:
                raise FilterError(f"brand is too long ({MAX_BRAND_CHARS} characters at most)")
            object.__setattr__(self, "brand", brand or None)
        object.__setattr__(self, "in_stock", bool(self.in_stock))

    @property
    def empty(self) -> bool:
        return not self.in_stock and self.min_price is None and self.max_price is None and self.brand is None

    @property
    def priced(self) -> bool:
        return self.min_price is not None or self.max_price is not None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ShopFilter:
        """From a JSON object or query string: unknown keys are a FilterError naming the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise FilterError(f"unknown filter field(s) {', '.join(unknown)}: use {', '.join(sorted(known))}")
        return cls(**{k: v for k, v in values.items() if v is not None})

    def matches(self, payload: Mapping[str, Any]) -> bool:
        """The same rule in Python, for tests and for results assembled outside Qdrant."""
        if self.in_stock and payload.get(AVAILABILITY_FIELD) != IN_STOCK:
            return False
        if self.brand is not None and payload.get(BRAND_FIELD) != self.brand:
            return False
        if self.priced:
            price = payload.get(PRICE_FIELD)
            if not isinstance(price, int | float) or isinstance(price, bool):
                return False
            if self.min_price is not None and price < self.min_price:
                return False
            if self.max_price is not None and price > self.max_price:
                return False
        return True


def shop_filter(
    *,
    in_stock: bool = False,
    min_price: float | None = None,
    max_price: float | None = None,
    brand: str | None = None,
) -> ShopFilter | None:
    """The filter the front ends' options describe, None when they ask for nothing."""
    flt = ShopFilter(in_stock=in_stock, min_price=min_price, max_price=max_price, brand=brand)
    return None if flt.empty else flt
