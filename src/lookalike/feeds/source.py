"""Where a feed comes from: a local file (the shop owner's own command only) or an http(s) URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from lookalike.errors import FeedError
from lookalike.fetch import Fetcher, FetchError
from lookalike.fetch.errors import redact

NAME_RULE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class FeedSource:
    """A feed's bytes; `base_url` resolves relative image links (None for a local file)."""

    shown: str  # the file or URL as given, without any password
    data: bytes
    base_url: str | None
    default_name: str


def is_url(feed: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", feed))


def default_name(feed: str) -> str:
    """The name a feed is known by when none is given: the file's name without its extension
    ('google.xml' → 'google'), for a URL without a file name its host."""
    if is_url(feed):
        parts = urlsplit(feed)
        stem = PurePosixPath(parts.path).stem or (parts.hostname or "")
    else:
        stem = Path(feed).stem
    return slug(stem) or "feed"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")[:64]


def check_name(name: str) -> str:
    """A feed name is part of a folder name and of every point id: lower-case letters, digits, . _ -."""
    if not NAME_RULE.match(name):
        raise FeedError(
            f"feed name {name[:80]!r} is not usable: use 1–64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. 'google-de')"
        )
    return name


def read_source(feed: str, fetcher: Fetcher, *, local_files: bool, max_bytes: int) -> FeedSource:
    """The feed's bytes. Local files only when `local_files` (the owner's command line, never an API
    caller); URLs through `fetcher`, whose address policy decides where it may connect."""
    if is_url(feed):
        scheme = feed.split(":", 1)[0].lower()
        if scheme not in ("http", "https"):
            raise FeedError(f"{redact(feed)}: only http(s) feed URLs are fetched (or give a local file)")
        try:
            fetched = fetcher.fetch(feed, expect="feed")
        except FetchError as exc:
            raise FeedError(f"cannot download the feed: {exc}") from None
        return FeedSource(redact(feed), fetched.content, fetched.url, default_name(feed))
    if not local_files:
        raise FeedError("give the feed as an http(s) URL")
    path = Path(feed)
    if not path.exists():
        raise FeedError(f"{feed}: no such file")
    if path.is_dir():
        raise FeedError(f"{feed}: is a folder; give the feed file (a folder of images: `lookalike index`)")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FeedError(f"{feed}: {size:,} bytes is over the feed limit of {max_bytes:,} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise FeedError(f"{feed}: cannot be read ({exc.strerror or exc})") from None
    return FeedSource(feed, data, None, default_name(feed))
