"""Product feeds: a shop's product list with image URLs, indexed like a catalog folder.

    feed (file or URL) → source.read_source → formats.parse_rows (TSV, CSV, JSON, RSS/Atom XML)
      → items.read_items (FeedItem: id, words, category, image URLs, Offer)
      → pipeline.index_feed (download with lookalike.fetch → embed → upsert through ingest)

Feed points carry payload source "feed" and the feed's name: `lookalike index FOLDER --prune` never
touches them, and `index-feed --prune` removes only its own feed's products that left the feed.
"""

from lookalike.feeds.formats import parse_rows
from lookalike.feeds.items import FeedItem, FeedRead, read_items
from lookalike.feeds.pipeline import FeedOptions, index_feed
from lookalike.feeds.report import FeedReport

__all__ = ["FeedItem", "FeedOptions", "FeedRead", "FeedReport", "index_feed", "parse_rows", "read_items"]
