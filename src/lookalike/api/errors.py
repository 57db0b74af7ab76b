"""How lookalike's errors reach API callers: one status per kind of error, text that is safe to render.

A caller's mistake is always a 4xx; the model or the store failing is a 503. Every detail goes through
`safe_text` (lone surrogates escaped, long echoes cut) and the app's PathScrubber (no server folders).
"""

from __future__ import annotations

import logging
import pathlib
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.requests import Request

from lookalike.errors import (
    ChangedOnDiskError,
    EncoderError,
    LookalikeError,
    NotFoundError,
    StoreError,
    UnsupportedModalityError,
    UploadTooLargeError,
)
from lookalike.fetch import FetchError

log = logging.getLogger(__name__)
# a URL refused before any request (400), too large (413), the far server failing (502), or answering
# with something that is not an image (422)
_FETCH_STATUS = {"refused": 400, "too_large": 413, "unavailable": 502, "invalid": 422}


def safe_text(value: object, limit: int = 500) -> str:
    """Text that always renders as JSON: lone surrogates escaped, long echoes of caller input cut."""
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "…"


def validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's 422 detail without the echoed input, which may be huge, infinite or not text."""
    return [
        {
            "type": safe_text(e.get("type", "")),
            "loc": [x if isinstance(x, int) else safe_text(x, 100) for x in e.get("loc", ())],
            "msg": safe_text(e.get("msg", "")),
        }
        for e in exc.errors()
    ]


def status_of(exc: LookalikeError) -> int:
    """404 for what is not in the index, 503 when the model or the store fails, 400/413/422/502 for a
    query image URL (refused, too large, not an image, its server failing), else the request's fault."""
    if isinstance(exc, FetchError):  # a query image given by URL
        return _FETCH_STATUS[exc.kind]
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ChangedOnDiskError):
        return 409  # the index and the file disagree: re-index
    if isinstance(exc, UploadTooLargeError):
        return 413
    if isinstance(exc, UnsupportedModalityError):
        return 501  # e.g. a sound for an image-only encoder: nothing wrong with the request, nor broken
    if isinstance(exc, EncoderError | StoreError):
        return 503
    return 422  # ImageError, CatalogError and every other deliberate refusal (bad label, empty list, …)


class PathScrubber:
    """Replaces the server's own folders in error messages: callers never see server paths
    (the README promises it); the full message goes to the log."""

    def __init__(self, roots: dict[str, str]):
        pairs = {}
        for folder, name in roots.items():
            for form in {folder, str(pathlib.Path(folder).resolve())}:
                if len(form) > 1:
                    pairs[form.rstrip("/")] = name
        self.pairs = sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True)  # longest first

    def __call__(self, text: str) -> str:
        for folder, name in self.pairs:
            text = text.replace(folder, name)
        return text


def public_detail(request: Request, exc: Exception) -> str:
    """The error's text as a caller may see it: safe to render, without the server's folders."""
    text = safe_text(exc, 2000)
    shown = request.app.state.path_scrubber(text)
    if shown != text:
        log.info("error detail with server paths removed: %s", text)
    return shown


async def _lookalike_error(request: Request, exc: LookalikeError) -> JSONResponse:
    status = status_of(exc)
    if status == 501:  # a question this encoder cannot answer: nothing is broken
        log.info("not supported: %s", safe_text(exc))
    elif status >= 500:
        log.error("service unavailable: %s", safe_text(exc))
    return JSONResponse({"detail": public_detail(request, exc)}, status_code=status)


async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": validation_detail(exc)}, status_code=422)


def add_error_handlers(app: FastAPI, scrubber: PathScrubber) -> None:
    """Map LookalikeError and request validation errors to JSON answers, scrubbed by `scrubber`."""
    app.state.path_scrubber = scrubber
    app.add_exception_handler(LookalikeError, _lookalike_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
