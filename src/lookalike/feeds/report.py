"""What an `index-feed` run did, for the front ends to print."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FeedReport:
    """Counts are of images (one product may have several); lists hold (what, why)."""

    feed: str
    name: str
    format: str = ""
    products: int = 0  # products read from the feed
    images: int = 0  # their image URLs
    new: int = 0
    changed: int = 0  # image or words changed (re-embedded) or only the offer (payload updated)
    unchanged: int = 0
    removed: int = 0
    stale: int = 0  # indexed images no longer in the feed, kept because --prune was not given
    embedded: int = 0
    downloaded: int = 0  # images whose bytes came over the wire
    not_modified: int = 0  # answered "304 Not Modified" to a conditional request
    skipped: list[tuple[str, str]] = field(default_factory=list)  # feed rows that are not products
    warnings: list[tuple[str, str]] = field(default_factory=list)  # values left out of a product
    failed: list[tuple[str, str]] = field(default_factory=list)  # images (URL) not indexed
    seconds: float = 0.0
