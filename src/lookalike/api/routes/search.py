"""Searches: by photo, words, photo + words, sound, and "more like these products" (/products/{id}/similar).

Every search runs through the app's SearchRunner: a few at a time, under the request time limit.
"""

from __future__ import annotations

import tempfile
import time
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile

from lookalike.api.convert import clean_category, hits_out, query_region, read_upload, regions_out
from lookalike.api.deps import Searches, Service, UploadLimit
from lookalike.api.schemas import (
    FormBox,
    FormCategory,
    FormRegion,
    FormTopK,
    ProductId,
    RegionsOut,
    SearchOut,
    TextQuery,
)
from lookalike.records import Hit
from lookalike.search import MAX_REGIONS, MAX_TOP_K

router = APIRouter(tags=["search"])


@router.post("/search/image", response_model=SearchOut)
async def search_image(
    file: Annotated[UploadFile, File(description="A photo of the product (png, jpg, webp, gif, bmp).")],
    service: Service,
    runner: Searches,
    limit: UploadLimit,
    top_k: FormTopK = 10,
    category: FormCategory = None,
    region: FormRegion = "auto",
    box: FormBox = None,
) -> SearchOut:
    """The products that look most like the photo, best first (one hit per product).

    By default the product is also looked for inside the photo (on a shelf, a table, among other
    things); each hit's `region` says where it matched. `region=whole` compares the whole photo only;
    `box` searches just that part. A box outside the photo, empty or malformed is a 422.
    """
    started = time.perf_counter()
    name, data = await read_upload(file, limit)
    where = query_region(region, box)

    def work() -> list[Hit]:
        return service.search_image(
            data, top_k=top_k, category=clean_category(category), region=where, name=name
        )

    return hits_out(await runner.run(work), started)


@router.post("/search/regions", response_model=RegionsOut)
async def search_regions(
    file: Annotated[UploadFile, File(description="A photo that may show several products.")],
    service: Service,
    runner: Searches,
    limit: UploadLimit,
    max_products: Annotated[
        int, Form(ge=1, le=MAX_REGIONS, description="How many product regions to return at most.")
    ] = 3,
    top_k: Annotated[int, Form(ge=1, le=50, description="Products per region.")] = 5,
    category: FormCategory = None,
) -> RegionsOut:
    """Products in this photo: up to `max_products` distinct product regions, each with its own ranking."""
    started = time.perf_counter()
    name, data = await read_upload(file, limit)
    groups = await runner.run(
        lambda: service.search_regions(
            data, max_products=max_products, top_k=top_k, category=clean_category(category), name=name
        )
    )
    return regions_out(groups, started)


@router.post("/search/text", response_model=SearchOut)
async def search_text(query: TextQuery, service: Service, runner: Searches) -> SearchOut:
    """Products matching words: in the encoder's joint space where it embeds text, otherwise
    through product titles, recognised object classes and colour names (see /health text_search)."""
    started = time.perf_counter()
    hits = await runner.run(
        lambda: service.search_text(query.text, top_k=query.top_k, category=clean_category(query.category))
    )
    return hits_out(hits, started)


@router.post("/search/combined", response_model=SearchOut)
async def search_combined(
    file: Annotated[UploadFile, File(description="A photo of the product.")],
    text: Annotated[str, Form(min_length=1, max_length=500, description="Words that refine the photo.")],
    service: Service,
    runner: Searches,
    limit: UploadLimit,
    weight: Annotated[float, Form(ge=0, le=1, description="Weight of the words (0 = photo only).")] = 0.5,
    top_k: FormTopK = 10,
    category: FormCategory = None,
    region: FormRegion = "auto",
    box: FormBox = None,
) -> SearchOut:
    """A photo refined by words ("…but in blue"); /health text_search says how words are matched.
    `region`/`box` pick the part of the photo as for /search/image."""
    started = time.perf_counter()
    name, data = await read_upload(file, limit)
    where = query_region(region, box)

    def work() -> list[Hit]:
        return service.search_combined(
            data, text, weight=weight, top_k=top_k, category=clean_category(category), region=where, name=name
        )

    return hits_out(await runner.run(work), started)


@router.post("/search/audio", response_model=SearchOut)
async def search_audio(
    file: Annotated[UploadFile, File(description="A sound (16-bit PCM WAV), e.g. a coffee machine.")],
    service: Service,
    runner: Searches,
    limit: UploadLimit,
    top_k: FormTopK = 10,
    category: FormCategory = None,
) -> SearchOut:
    """Products that sound like the recording: encoders with audio only (ImageBind); 501 otherwise."""
    started = time.perf_counter()
    _, data = await read_upload(file, limit)

    def work() -> list[Hit]:
        # the encoder reads a file: a private temp file, never a name the caller chose
        with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
            tmp.write(data)
            tmp.flush()
            return service.search_audio(tmp.name, top_k=top_k, category=clean_category(category))

    return hits_out(await runner.run(work), started)


@router.get("/products/{product_id:path}/similar", response_model=SearchOut)
async def similar(
    product_id: ProductId,
    service: Service,
    runner: Searches,
    positive: Annotated[list[str], Query(description="More product ids to find more like.")] = [],  # noqa: B006
    negative: Annotated[list[str], Query(description="Product ids to steer away from.")] = [],  # noqa: B006
    top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K)] = 10,
    category: Annotated[str | None, Query(description="Only products of this category.")] = None,
) -> SearchOut:
    """More like this product (and `positive` ones), less like `negative` ones: Qdrant recommend."""
    started = time.perf_counter()
    pos = [product_id, *positive]  # the service takes each id once, at most MAX_EXAMPLES in all (422)
    hits = await runner.run(
        lambda: service.similar(pos, negative, top_k=top_k, category=clean_category(category))
    )
    return hits_out(hits, started)
