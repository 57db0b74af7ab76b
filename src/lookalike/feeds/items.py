"""One feed row (any format) → a FeedItem: product id, words, category, image URLs and the shop's offer.

Every format is first read into rows of `name → values` (a Merchant TSV row, an RSS <item>, a JSON
object), with names normalised ("g:image_link", "Image Link" → "image_link"), so the rules below
are written once. A row that cannot become a product (no id, no usable image) is skipped with the
reason; a value that cannot be read (a price "call us") is dropped with a warning. Neither stops
the rest of the feed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin, urlsplit

from lookalike.catalog import CategoryRule
from lookalike.offers import read_offer
from lookalike.records import Offer

Row = dict[str, list[str]]

MAX_ADDITIONAL_IMAGES = 10  # Merchant Center's own limit; more is a mistake, not more products
MAX_ID_CHARS = 200
# Accepted names for each field, first match wins: Merchant Center names, then the folder sidecar's.
ID_FIELDS = ("id", "product_id")
IMAGE_FIELDS = ("image_link", "image_url")
ADDITIONAL_FIELDS = ("additional_image_link", "additional_image_links", "additional_image_url")
CATEGORY_FIELDS = ("category", "product_type", "google_product_category")
# several links in one value: split at a comma that a URL follows (a comma inside a URL stays)
_SPLIT_LINKS = re.compile(r"\s*,\s*(?=https?://)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class FeedItem:
    """A product read from a feed: each of its image URLs becomes one indexed image (view)."""

    product_id: str
    category: str
    image_urls: tuple[str, ...]  # image_link first, then the additional images, without repeats
    title: str | None = None
    description: str | None = None
    offer: Offer = Offer()
    label: str = ""  # where it stands in the feed ("line 3", "item 7"), for messages
    warnings: tuple[str, ...] = ()

    def offer_for(self, url: str) -> Offer:
        """The offer as stored with one of its images: `image_link` says which image that point is."""
        return replace(self.offer, image_link=url)


@dataclass
class FeedRead:
    """What a feed held: its products, the rows skipped (label, why) and the ids those rows named."""

    format: str
    items: list[FeedItem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    skipped_ids: set[str] = field(default_factory=set)  # present in the feed, yet not indexable now


def field_name(name: str) -> str:
    """'g:image_link', 'Image Link', 'image-link' → 'image_link'."""
    name = name.strip().lower()
    name = name.split(":", 1)[1] if name.startswith("g:") else name
    return re.sub(r"[\s-]+", "_", name)


def first(row: Mapping[str, Sequence[str]], names: Sequence[str]) -> str | None:
    for name in names:
        for value in row.get(name, ()):
            text = " ".join(value.split())
            if text:
                return text
    return None


def category_of(path: str, rule: CategoryRule) -> str:
    """'Apparel > Tops > Hoodies' as the folder rule would name the folders Apparel/Tops/Hoodies:
    the whole path joined by the rule's separator (default), its first or its last level."""
    levels = [" ".join(level.split()) for level in path.split(">")]
    levels = [level for level in levels if level]
    if not levels:
        return rule.uncategorized
    if rule.mode == "top":
        return levels[0]
    if rule.mode == "parent":
        return levels[-1]
    return rule.separator.join(levels)


def _category(row: Row, rule: CategoryRule) -> str:
    for name in CATEGORY_FIELDS:
        for value in row.get(name, ()):
            text = " ".join(value.split())
            if text and not text.isdigit():  # a bare Google taxonomy number names no category
                return category_of(text, rule)
    return rule.uncategorized


def absolute_url(link: str, base: str | None) -> str | None:
    """`link` as an absolute http(s) URL (relative links resolve against the feed's URL), else None."""
    url = urljoin(base, link) if base else link
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def _additional(row: Row) -> list[str]:
    links: list[str] = []
    for name in ADDITIONAL_FIELDS:
        for value in row.get(name, ()):
            links.extend(part.strip() for part in _SPLIT_LINKS.split(value.strip()) if part.strip())
    return links


def read_item(row: Row, label: str, rule: CategoryRule, base_url: str | None = None) -> FeedItem | str:
    """The product a row describes, or why the row is skipped."""
    product_id = first(row, ID_FIELDS)
    if product_id is None:
        return "no id"
    if len(product_id) > MAX_ID_CHARS or _CONTROL.search(product_id):
        return f"the id is longer than {MAX_ID_CHARS} characters or holds control characters"
    link = first(row, IMAGE_FIELDS)
    if link is None:
        return "no image_link"
    main = absolute_url(link, base_url)
    if main is None:
        return f"image_link {link[:200]!r} is not an http(s) URL"
    warnings: list[str] = []
    urls = [main]
    for extra in _additional(row):
        url = absolute_url(extra, base_url)
        if url is None:
            warnings.append(f"additional_image_link {extra[:200]!r} is not an http(s) URL: left out")
        elif url not in urls:
            urls.append(url)
    if len(urls) > 1 + MAX_ADDITIONAL_IMAGES:
        warnings.append(
            f"{len(urls) - 1} additional images: only the first {MAX_ADDITIONAL_IMAGES} are indexed"
        )
        urls = urls[: 1 + MAX_ADDITIONAL_IMAGES]
    offer = read_offer({name: values[0] for name, values in row.items() if values})
    warnings.extend(offer.warnings)
    return FeedItem(
        product_id=product_id,
        category=_category(row, rule),
        image_urls=tuple(urls),
        title=first(row, ("title",)),
        description=first(row, ("description",)),
        offer=offer.offer,
        label=label,
        warnings=tuple(warnings),
    )


def read_items(
    format_name: str, rows: Sequence[tuple[str, Row]], rule: CategoryRule, base_url: str | None = None
) -> FeedRead:
    """Every row read; a repeated id is skipped (its first row wins: one product, one offer)."""
    out = FeedRead(format_name)
    seen: dict[str, str] = {}
    for label, row in rows:
        item = read_item(row, label, rule, base_url)
        pid = first(row, ID_FIELDS)
        shown = f"{label} (id {pid[:80]!r})" if pid else label
        if isinstance(item, str):
            out.skipped.append((shown, item))
            if pid:
                out.skipped_ids.add(pid)
        elif item.product_id in seen:
            out.skipped.append((shown, f"the id repeats that of {seen[item.product_id]}: skipped"))
        else:
            seen[item.product_id] = label
            out.items.append(item)
    return out
