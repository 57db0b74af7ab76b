"""FetchError: why a URL could not be used, in words a shop owner or an API caller can act on."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from lookalike.errors import LookalikeError

Kind = Literal["refused", "too_large", "unavailable", "invalid"]


class FetchError(LookalikeError):
    """A URL that was refused or could not be downloaded.

    `reason` is the short cause ("HTTP 404", "refused: 127.0.0.1 is a loopback address"); `url` is the
    URL as given, without any password it held. `kind` sorts the causes for front ends (an API maps
    them to status codes): "refused" (the URL's shape or the address policy said no: nothing was sent
    there), "too_large", "unavailable" (the far side failed: timeouts, 5xx, unreachable), "invalid"
    (the far side answered, but not with what was asked: 404, not an image, redirect loop).
    """

    def __init__(
        self,
        reason: str,
        url: str | None = None,
        *,
        refused: bool = False,
        retryable: bool = False,
        kind: Kind | None = None,
    ):
        self.reason = reason
        self.url = redact(url) if url else None
        self.refused = refused
        self.retryable = retryable
        self.kind: Kind = kind or ("refused" if refused else "unavailable" if retryable else "invalid")
        super().__init__(f"{self.url}: {reason}" if self.url else reason)

    def at(self, url: str) -> FetchError:
        """The same error naming `url` (errors raised below the client do not know it)."""
        return FetchError(self.reason, url, refused=self.refused, retryable=self.retryable, kind=self.kind)


def redact(url: str) -> str:
    """`url` without user:password (never echo a credential back), cut to a readable length."""
    try:
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            host = parts.hostname or ""
            netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
            url = urlunsplit(parts._replace(netloc=netloc))
    except ValueError:  # e.g. a bad port: drop whatever precedes an "@" in the authority
        url = re.sub(r"(//)[^/?#]*@", r"\1***@", url)
    return url if len(url) <= 300 else url[:300] + "…"
