"""The photo tab's "is it in our catalog?" line, from the service's match verdict (lookalike.calibration)."""

from __future__ import annotations

from collections.abc import Sequence

from lookalike.records import Hit
from lookalike.search import SearchService

NOT_CARRIED = "We don't seem to carry this — here are the closest products."
NOTES = {
    "exact": " — **this product** is the first one.",
    "similar": " — no exact match, but **similar products**.",
}


def with_match(service: SearchService, hits: Sequence[Hit], status: str) -> str:
    """The status of a photo search, told by its verdict: "none" replaces it with NOT_CARRIED."""
    match = service.best_match(hits) if hits else None
    if match == "none":
        return f"**{NOT_CARRIED}**"
    return status + NOTES.get(match or "", "")
