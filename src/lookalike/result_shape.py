"""ResultShape: what a shopper asks of a result list beyond the query itself.

Which products may appear (the shop filter), one per product family, and varied picks: options every
search takes alike. They travel as one value through SearchService and the front ends instead of three
loose arguments, so a search method's signature stays short and a new option is added in one place.
The category stays a search argument of its own: it is checked against the index, these are not.
"""

from __future__ import annotations

from dataclasses import dataclass

from lookalike.shop_filter import ShopFilter, shop_filter


@dataclass(frozen=True)
class ResultShape:
    """`shop`: in stock / price range / brand (None: any product); `families`: each product family once,
    its other variants listed; `diverse`: varied results (maximal marginal relevance)."""

    shop: ShopFilter | None = None
    families: bool = False
    diverse: bool = False

    @property
    def pooled(self) -> bool:
        """True when results are picked from a larger pool of candidates (families or diverse)."""
        return self.families or self.diverse

    @classmethod
    def from_options(
        cls,
        *,
        in_stock: bool = False,
        min_price: float | None = None,
        max_price: float | None = None,
        brand: str | None = None,
        families: bool = False,
        diverse: bool = False,
    ) -> ResultShape:
        """From the front ends' flat options (a FilterError when the price range makes no sense)."""
        shop = shop_filter(in_stock=in_stock, min_price=min_price, max_price=max_price, brand=brand)
        return cls(shop=shop, families=bool(families), diverse=bool(diverse))
