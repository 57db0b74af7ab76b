"""Small conversions the routes share: uploads read under the limit, image URLs, hits to SearchOut."""

from __future__ import annotations

import time
from urllib.parse import quote

from fastapi import HTTPException, UploadFile

from lookalike.api.errors import safe_text
from lookalike.api.schemas import HitOut, SearchOut
from lookalike.records import Hit


def image_url(product_id: str, point_id: str | None = None) -> str:
    url = f"/products/{quote(product_id, safe='')}/image"
    return f"{url}?point={point_id}" if point_id else url


def hits_out(hits: list[Hit], started: float) -> SearchOut:
    return SearchOut(
        hits=[
            HitOut(
                rank=i,
                score=h.score,
                product_id=h.product.product_id,
                category=h.product.category,
                title=h.product.title,
                rel_path=h.product.rel_path,
                point_id=h.point_id,
                image_url=image_url(h.product.product_id, h.point_id),
            )
            for i, h in enumerate(hits, 1)
        ],
        took_ms=(time.perf_counter() - started) * 1000,
    )


async def read_upload(upload: UploadFile, limit: int) -> tuple[str, bytes]:
    """The upload's (safe) name and bytes; 413 when it holds more than `limit` bytes (reads one past it)."""
    name = safe_text(upload.filename or "uploaded image", 200)
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"'{name}' is larger than the limit of {limit:,} bytes")
    return name, data


def clean_category(value: str | None) -> str | None:
    return (value.strip() or None) if value else None
