"""Is a download what we asked for? Content types and magic bytes, checked before the body is all in.

The Content-Type header is the server's claim; the first bytes are the file's own. An image must
pass both (a missing or generic type defers to the bytes); a feed is judged by its type only, since
text formats have no reliable signature.
"""

from __future__ import annotations

from typing import Literal

from lookalike.fetch.errors import FetchError

Expect = Literal["image", "feed"]

MAGIC_BYTES = 12  # enough to tell every format below apart
# the formats lookalike.images decodes (its ALLOWED_FORMATS), by their leading bytes
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_GENERIC = frozenset(
    {"application/octet-stream", "binary/octet-stream", "application/binary", "application/unknown"}
)
_FEED_TYPES = frozenset(
    {
        "application/xml",
        "application/json",
        "application/csv",
        "application/x-ndjson",
        "application/vnd.ms-excel",  # what many servers call a .csv file
    }
)


def media_type(content_type: str | None) -> str | None:
    """`image/png` from `image/png; charset=…`, lower case; None when absent or empty."""
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media or None


def image_format(head: bytes) -> str | None:
    """The image format the first bytes announce (JPEG, PNG, GIF, WEBP, BMP, TIFF), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    return None


def check_type(content_type: str | None, expect: Expect) -> None:
    """Refuse a response whose declared type cannot be what we expect, before reading its body."""
    media = media_type(content_type)
    if media is None or media in _GENERIC:
        return
    if expect == "image":
        if not media.startswith("image/"):
            raise FetchError(f"not an image ({media})")
        return
    if media == "text/html" or media == "application/xhtml+xml":
        raise FetchError(f"not a feed ({media}: a web page, perhaps a login or error page)")
    if media.startswith("text/") or media in _FEED_TYPES or media.endswith(("+xml", "+json")):
        return
    raise FetchError(f"not a feed ({media}; expected XML, CSV, TSV or JSON)")


def check_image_bytes(head: bytes, content_type: str | None) -> None:
    """Refuse a body whose first bytes are no image format lookalike reads."""
    if image_format(head) is None:
        declared = media_type(content_type) or "no content type"
        raise FetchError(f"not an image lookalike can read ({declared}; png, jpg, webp, gif, bmp or tiff)")
