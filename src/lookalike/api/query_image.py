"""The photo of a search, however the caller sends it: a multipart file, base64 text, or a URL.

Every way ends in the same bytes under the same limits: at most the upload limit in bytes (a URL's
download stops as soon as it passes it; base64 is measured before it is decoded), then the usual
pixel checks when the image is decoded. URLs are fetched under the strict address policy: a caller
of the API must not make the server reach its own network (LOOKALIKE_FETCH_ALLOW opens named hosts).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.to_thread
from fastapi import HTTPException, UploadFile
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from lookalike.api.convert import read_upload
from lookalike.errors import ImageError, UploadTooLargeError
from lookalike.fetch import Fetcher, redact

M = TypeVar("M", bound=BaseModel)
_B64_TEXT = re.compile(r"[A-Za-z0-9+/\-_]*={0,2}")
ONE_WAY = "send the photo one way only: a file upload (file), image_b64 or image_url"


@dataclass(frozen=True)
class ImageSource:
    """What the request holds; exactly one of the three must be given."""

    file: UploadFile | None = None
    b64: str | None = None
    url: str | None = None

    def count(self) -> int:
        return sum(x is not None and x != "" for x in (self.file, self.b64, self.url))


class UrlFetches:
    """The app's fetcher and how many downloads may run at once (threads; each bounded in time)."""

    def __init__(self, fetcher: Fetcher, slots: int):
        self.fetcher = fetcher
        self.slots = slots
        self._limiter: anyio.CapacityLimiter | None = None

    async def fetch(self, url: str) -> bytes:
        if self._limiter is None:  # created inside the event loop, on first use
            self._limiter = anyio.CapacityLimiter(self.slots)
        call = functools.partial(self.fetcher.fetch, url, expect="image")
        return (await anyio.to_thread.run_sync(call, limiter=self._limiter)).content

    def close(self) -> None:
        self.fetcher.close()


async def read_image(source: ImageSource, limit: int, fetches: UrlFetches) -> tuple[str, bytes]:
    """(a name for messages, the bytes) of the query photo; 422 unless exactly one way was used.

    Refusals come as LookalikeErrors (FetchError, ImageError, UploadTooLargeError): the app's error
    handler gives them their status, and a batch gives each its own.
    """
    if source.count() != 1:
        raise HTTPException(422, ONE_WAY if source.count() else "no photo: " + ONE_WAY)
    if source.file is not None:
        return await read_upload(source.file, limit)
    if source.b64:
        return "image_b64", decode_b64(source.b64, limit)
    assert source.url is not None
    return redact(source.url), await fetches.fetch(source.url)


def decode_b64(text: str, limit: int) -> bytes:
    """The bytes of `text`: base64 (standard or URL-safe, padding optional) or a base64 data URL.

    Its size is judged from its length before anything is decoded.
    """
    if text.startswith("data:"):
        header, comma, text = text.partition(",")
        if not comma or not header.endswith(";base64"):
            raise ImageError("image_b64: a data URL must be base64-encoded (data:image/jpeg;base64,…)")
    text = "".join(text.split())  # line breaks and spaces of wrapped base64
    if len(text) * 3 // 4 > limit + 3:
        raise UploadTooLargeError(f"image_b64 holds more than the limit of {limit:,} bytes")
    if not text:
        raise ImageError("image_b64 is empty")
    if not _B64_TEXT.fullmatch(text) or len(text.rstrip("=")) % 4 == 1:
        raise ImageError("image_b64 is not valid base64 (letters, digits, + / or - _, and = padding)")
    padded = text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4)
    try:
        data = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("image_b64 is not valid base64") from None
    if len(data) > limit:
        raise UploadTooLargeError(f"image_b64 holds {len(data):,} bytes, over the limit of {limit:,}")
    return data


def is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower() == "application/json"


async def json_body(request: Request, model: type[M]) -> M:
    """The JSON body as `model`; a 422 in the app's usual validation format otherwise."""
    from fastapi.exceptions import RequestValidationError

    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
