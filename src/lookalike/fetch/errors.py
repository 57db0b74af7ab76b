"""FetchError: why a URL could not be used, in words a shop owner or an API caller can act on."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from lookalike.errors import LookalikeError


class FetchError(LookalikeError):
    """A URL that was refused or could not be downloaded.

    `reason` is the short cause ("HTTP 404", "refused: 127.0.0.1 is a loopback address"); `url` is the
    URL as given, without any password it held; `refused` is True when the address policy said no
    (nothing was sent), so an API can answer 400 instead of 502.
    """

    def __init__(
        self, reason: str, url: str | None = None, *, refused: bool = False, retryable: bool = False
    ):
        self.reason = reason
        self.url = redact(url) if url else None
        self.refused = refused
        self.retryable = retryable
        super().__init__(f"{self.url}: {reason}" if self.url else reason)

    def at(self, url: str) -> FetchError:
        """The same error naming `url` (errors raised below the client do not know it)."""
        return FetchError(self.reason, url, refused=self.refused, retryable=self.retryable)


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
