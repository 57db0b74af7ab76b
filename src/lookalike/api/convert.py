"""Small conversions the routes share: uploads read under the limit, image URLs, hits to SearchOut."""

from __future__ import annotations

import time
from dataclasses import asdict
from urllib.parse import quote

from fastapi import HTTPException, UploadFile

from lookalike.api.errors import safe_text
from lookalike.api.schemas import HitOut, RegionHitsOut, RegionOut, RegionsOut, SearchOut, VariantOut
from lookalike.calibration import NOT_CALIBRATED
from lookalike.records import Hit, RegionHits, Variant
from lookalike.regions import Box
from lookalike.search import SearchService


def image_url(product_id: str, point_id: str | None = None) -> str:
    url = f"/products/{quote(product_id, safe='')}/image"
    return f"{url}?point={point_id}" if point_id else url


def hits_out(hits: list[Hit], started: float) -> SearchOut:
    return SearchOut(hits=hit_list(hits), took_ms=(time.perf_counter() - started) * 1000)


def judged_out(service: SearchService, hits: list[Hit], started: float) -> SearchOut:
    """A photo search's answer with its match verdict (or why there is none)."""
    out = hits_out(hits, started)
    out.match = service.best_match(hits)  # type: ignore[assignment]
    out.match_note = None if out.match else NOT_CALIBRATED
    return out


def hit_list(hits: list[Hit]) -> list[HitOut]:
    return [
        HitOut(
            rank=i,
            score=h.score,
            product_id=h.product.product_id,
            category=h.product.category,
            title=h.product.title,
            rel_path=h.product.rel_path,
            point_id=h.point_id,
            image_url=image_url(h.product.product_id, h.point_id),
            region=region_out(h.region),
            variants=variants_out(h.variants),
            match=h.match,
            **asdict(h.product.offer),
        )
        for i, h in enumerate(hits, 1)
    ]


def variants_out(variants: tuple[Variant, ...] | list[Variant]) -> list[VariantOut]:
    return [
        VariantOut(
            product_id=v.product_id,
            title=v.title,
            colour=v.colour,
            price=v.price,
            currency=v.currency,
            availability=v.availability,
            image_url=image_url(v.product_id, v.point_id),
            image_link=v.image_link,
        )
        for v in variants
    ]


def region_out(box: Box | None) -> RegionOut | None:
    return None if box is None else RegionOut(x=box.x, y=box.y, w=box.w, h=box.h)


def regions_out(groups: list[RegionHits], started: float, service: SearchService | None = None) -> RegionsOut:
    return RegionsOut(
        regions=[
            RegionHitsOut(
                region=RegionOut(**asdict(g.region)),
                hits=hit_list(g.hits),
                match=service.best_match(g.hits) if service else None,  # type: ignore[arg-type]
            )
            for g in groups
        ],
        took_ms=(time.perf_counter() - started) * 1000,
    )


def query_region(region: str, box: str | None) -> str:
    """The service's region argument from the form: an explicit box wins over 'auto'/'whole'."""
    return box.strip() if box and box.strip() else region


async def read_upload(upload: UploadFile, limit: int) -> tuple[str, bytes]:
    """The upload's (safe) name and bytes; 413 when it holds more than `limit` bytes (reads one past it)."""
    name = safe_text(upload.filename or "uploaded image", 200)
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"'{name}' is larger than the limit of {limit:,} bytes")
    return name, data


def clean_category(value: str | None) -> str | None:
    return (value.strip() or None) if value else None
