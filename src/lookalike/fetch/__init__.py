"""Fetching URLs safely: images for API queries and feed imports, under an address policy and limits.

    with Fetcher(FetchLimits(), AddressPolicy()) as fetcher:
        fetched = fetcher.fetch("https://shop.example/photo.jpg")

`AddressPolicy()` (the default) allows public addresses only: the rule for URLs from API callers.
The shop owner's own command line uses `AddressPolicy(allow_private=True)`.
"""

from lookalike.fetch.client import Fetched, Fetcher, FetchLimits
from lookalike.fetch.content import Expect, image_format
from lookalike.fetch.errors import FetchError
from lookalike.fetch.guard import CLOUD_METADATA, AddressPolicy, check_url, classify, parse_allowed

__all__ = [
    "CLOUD_METADATA",
    "AddressPolicy",
    "Expect",
    "FetchError",
    "FetchLimits",
    "Fetched",
    "Fetcher",
    "check_url",
    "classify",
    "image_format",
    "parse_allowed",
]
