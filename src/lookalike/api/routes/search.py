"""Searches: by photo, words, photo + words, sound, and "more like these products" (/products/{id}/similar).

Every search runs through the app's SearchRunner: a few at a time, under the request time limit.
"""

from __future__ import annotations

import tempfile
import time
from typing import Annotated

import anyio
from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from lookalike.api.convert import (
    clean_category,
    hit_list,
    hits_out,
    judged_out,
    query_region,
    read_upload,
    regions_out,
)
from lookalike.api.deps import Fetches, Searches, Service, UploadLimit
from lookalike.api.errors import public_detail, safe_text, status_of
from lookalike.api.query_image import ImageSource, is_json, json_body, read_image
from lookalike.api.schemas import (
    BatchAnswerOut,
    BatchIn,
    BatchOut,
    BatchQueryIn,
    CombinedSearchIn,
    FormBox,
    FormBrand,
    FormCategory,
    FormDiverse,
    FormFamilies,
    FormImageB64,
    FormImageUrl,
    FormInStock,
    FormMaxPrice,
    FormMinPrice,
    FormRegion,
    FormTopK,
    ImageSearchIn,
    ProductId,
    RegionsOut,
    RegionsSearchIn,
    SearchOut,
    ShopFields,
    TextQuery,
)
from lookalike.errors import LookalikeError
from lookalike.records import Hit
from lookalike.search import MAX_REGIONS, MAX_TOP_K, ImageQuery
from lookalike.shop_filter import FilterError

router = APIRouter(tags=["search"])


def _json_too(model: type[BaseModel]) -> dict:
    """OpenAPI: the route also takes a JSON body (the photo by image_url or image_b64)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


@router.post("/search/image", response_model=SearchOut, openapi_extra=_json_too(ImageSearchIn))
async def search_image(
    request: Request,
    service: Service,
    runner: Searches,
    limit: UploadLimit,
    fetches: Fetches,
    file: Annotated[
        UploadFile | None, File(description="A photo of the product (png, jpg, webp, gif, bmp, tiff).")
    ] = None,
    image_b64: FormImageB64 = None,
    image_url: FormImageUrl = None,
    top_k: FormTopK = 10,
    category: FormCategory = None,
    region: FormRegion = "auto",
    box: FormBox = None,
    in_stock: FormInStock = False,
    min_price: FormMinPrice = None,
    max_price: FormMaxPrice = None,
    brand: FormBrand = None,
    families: FormFamilies = False,
    diverse: FormDiverse = False,
) -> SearchOut:
    """The products that look most like the photo, best first (one hit per product).

    The photo comes as a multipart `file`, or `image_b64` (form field or JSON), or `image_url` (JSON or
    form field; fetched by the server, never from addresses inside its own network).
    By default the product is also looked for inside the photo (on a shelf, a table, among other
    things); each hit's `region` says where it matched. `region=whole` compares the whole photo only;
    `box` searches just that part. A box outside the photo, empty or malformed is a 422.
    Shop filters (`in_stock`, `min_price`, `max_price`, `brand`), `families` and `diverse` as on every
    search; a negative or reversed price range is a 422.
    """
    started = time.perf_counter()
    if is_json(request):
        body = await json_body(request, ImageSearchIn)
        source = ImageSource(b64=body.image_b64, url=body.image_url)
        top_k, category, region, box = body.top_k, body.category, body.region, body.box
        fields: ShopFields = body
    else:
        source = ImageSource(file=file, b64=image_b64, url=image_url)
        fields = _shop_fields(in_stock, min_price, max_price, brand, families, diverse)
    shape = fields.result_shape()
    name, data = await read_image(source, limit, fetches)
    where = query_region(region, box)

    def work() -> list[Hit]:
        return service.search_image(
            data, top_k=top_k, category=clean_category(category), region=where, name=name, shape=shape
        )

    return judged_out(service, await runner.run(work), started)


@router.post("/search/regions", response_model=RegionsOut, openapi_extra=_json_too(RegionsSearchIn))
async def search_regions(
    request: Request,
    service: Service,
    runner: Searches,
    limit: UploadLimit,
    fetches: Fetches,
    file: Annotated[UploadFile | None, File(description="A photo that may show several products.")] = None,
    image_b64: FormImageB64 = None,
    image_url: FormImageUrl = None,
    max_products: Annotated[
        int, Form(ge=1, le=MAX_REGIONS, description="How many product regions to return at most.")
    ] = 3,
    top_k: Annotated[int, Form(ge=1, le=50, description="Products per region.")] = 5,
    category: FormCategory = None,
    in_stock: FormInStock = False,
    min_price: FormMinPrice = None,
    max_price: FormMaxPrice = None,
    brand: FormBrand = None,
) -> RegionsOut:
    """Products in this photo: up to `max_products` distinct product regions, each with its own ranking.
    The photo comes as for /search/image (file, image_b64 or image_url)."""
    started = time.perf_counter()
    if is_json(request):
        body = await json_body(request, RegionsSearchIn)
        source = ImageSource(b64=body.image_b64, url=body.image_url)
        max_products, top_k, category = body.max_products, body.top_k, body.category
        fields: ShopFields = body
        if body.families or body.diverse:
            raise HTTPException(422, "families and diverse are not offered for products in a photo")
    else:
        source = ImageSource(file=file, b64=image_b64, url=image_url)
        fields = _shop_fields(in_stock, min_price, max_price, brand)
    shop = fields.result_shape().shop
    name, data = await read_image(source, limit, fetches)
    groups = await runner.run(
        lambda: service.search_regions(
            data,
            max_products=max_products,
            top_k=top_k,
            category=clean_category(category),
            name=name,
            shop=shop,
        )
    )
    return regions_out(groups, started, service)


@router.post("/search/text", response_model=SearchOut)
async def search_text(query: TextQuery, service: Service, runner: Searches) -> SearchOut:
    """Products matching words: in the encoder's joint space where it embeds text, otherwise
    through product titles, recognised object classes and colour names (see /health text_search)."""
    started = time.perf_counter()
    shape = query.result_shape()
    hits = await runner.run(
        lambda: service.search_text(
            query.text, top_k=query.top_k, category=clean_category(query.category), shape=shape
        )
    )
    return hits_out(hits, started)


@router.post("/search/combined", response_model=SearchOut, openapi_extra=_json_too(CombinedSearchIn))
async def search_combined(
    request: Request,
    service: Service,
    runner: Searches,
    limit: UploadLimit,
    fetches: Fetches,
    file: Annotated[UploadFile | None, File(description="A photo of the product.")] = None,
    image_b64: FormImageB64 = None,
    image_url: FormImageUrl = None,
    text: Annotated[
        str | None, Form(max_length=500, description="Words that refine the photo (required).")
    ] = None,
    weight: Annotated[float, Form(ge=0, le=1, description="Weight of the words (0 = photo only).")] = 0.5,
    top_k: FormTopK = 10,
    category: FormCategory = None,
    region: FormRegion = "auto",
    box: FormBox = None,
    in_stock: FormInStock = False,
    min_price: FormMinPrice = None,
    max_price: FormMaxPrice = None,
    brand: FormBrand = None,
    families: FormFamilies = False,
    diverse: FormDiverse = False,
) -> SearchOut:
    """A photo refined by words ("…but in blue"); /health text_search says how words are matched.
    The photo comes as for /search/image (file, image_b64 or image_url); `region`/`box` pick the part
    of the photo as there."""
    started = time.perf_counter()
    if is_json(request):
        body = await json_body(request, CombinedSearchIn)
        source = ImageSource(b64=body.image_b64, url=body.image_url)
        text, weight, top_k, category = body.text, body.weight, body.top_k, body.category
        region, box = body.region, body.box
        fields: ShopFields = body
    else:
        source = ImageSource(file=file, b64=image_b64, url=image_url)
        fields = _shop_fields(in_stock, min_price, max_price, brand, families, diverse)
    shape = fields.result_shape()
    if not text:
        raise HTTPException(422, "text is required: the words that refine the photo")
    words = text
    name, data = await read_image(source, limit, fetches)
    where = query_region(region, box)

    def work() -> list[Hit]:
        return service.search_combined(
            data,
            words,
            weight=weight,
            top_k=top_k,
            category=clean_category(category),
            region=where,
            name=name,
            shape=shape,
        )

    return hits_out(await runner.run(work), started)


@router.post("/search/batch", response_model=BatchOut)
async def search_batch(
    body: BatchIn, request: Request, service: Service, runner: Searches, limit: UploadLimit, fetches: Fetches
) -> BatchOut:
    """Several photo searches in one request, answered in order: one encoder batch, one store query.

    Each query gives its photo by `image_url` or `image_b64`, with its own top_k, category, region and
    box; `region` is "whole" by default here ("auto" is answered on its own and costs more). A query
    that fails has `error` (and the `status` a single request would have got) instead of `hits`; the
    others are answered. More queries than LOOKALIKE_MAX_BATCH is a 422. The request body as a whole
    stays under the upload limit, so send big photos by URL.
    """
    started = time.perf_counter()
    most = service.settings.max_batch
    if len(body.queries) > most:
        raise HTTPException(422, f"a batch holds at most {most} queries, not {len(body.queries)}")
    images: list[tuple[str, bytes] | Exception] = [HTTPException(500)] * len(body.queries)  # all replaced

    async def read(i: int, q: BatchQueryIn) -> None:
        try:
            images[i] = await read_image(ImageSource(b64=q.image_b64, url=q.image_url), limit, fetches)
        except (LookalikeError, HTTPException) as exc:
            images[i] = exc

    async with anyio.create_task_group() as group:  # URL downloads run side by side (bounded by the fetcher)
        for i, q in enumerate(body.queries):
            group.start_soon(read, i, q)
    batch = [
        (
            i,
            ImageQuery(
                got[1],
                q.top_k,
                clean_category(q.category),
                query_region(q.region, q.box),
                got[0],
                shape=q.result_shape(),
            ),
        )
        for i, (q, got) in enumerate(zip(body.queries, images, strict=True))
        if not isinstance(got, Exception)
    ]
    answers = await runner.run(lambda: service.search_batch([q for _, q in batch])) if batch else []
    results = [BatchAnswerOut() for _ in images]
    for i, got in enumerate(images):
        if isinstance(got, Exception):
            results[i] = _failed(request, got)
    for (i, _), answer in zip(batch, answers, strict=True):
        results[i] = (
            _failed(request, answer)
            if isinstance(answer, Exception)
            else BatchAnswerOut(hits=hit_list(answer), match=service.best_match(answer))
        )
    return BatchOut(results=results, took_ms=(time.perf_counter() - started) * 1000)


def _failed(request: Request, exc: Exception) -> BatchAnswerOut:
    """One query's failure, worded and numbered as a single request's would be."""
    if isinstance(exc, HTTPException):
        return BatchAnswerOut(error=safe_text(exc.detail), status=exc.status_code)
    assert isinstance(exc, LookalikeError)
    return BatchAnswerOut(error=public_detail(request, exc), status=status_of(exc))


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
    request: Request,
    product_id: ProductId,
    service: Service,
    runner: Searches,
    positive: Annotated[list[str], Query(description="More product ids to find more like.")] = [],  # noqa: B006
    negative: Annotated[list[str], Query(description="Product ids to steer away from.")] = [],  # noqa: B006
    top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K)] = 10,
    category: Annotated[str | None, Query(description="Only products of this category.")] = None,
    fields: Annotated[ShopFields, Query()] = ShopFields(),  # noqa: B008 - FastAPI's query model
) -> SearchOut:
    """More like this product (and `positive` ones), less like `negative` ones: Qdrant recommend.
    Shop filters, `families` and `diverse` as query parameters (`?in_stock=true&max_price=50`)."""
    started = time.perf_counter()
    reject_unknown(request, {"positive", "negative", "top_k", "category", *ShopFields.model_fields})
    pos = [product_id, *positive]  # the service takes each id once, at most MAX_EXAMPLES in all (422)
    shape = fields.result_shape()
    hits = await runner.run(
        lambda: service.similar(pos, negative, top_k=top_k, category=clean_category(category), shape=shape)
    )
    return hits_out(hits, started)


def _shop_fields(
    in_stock: bool,
    min_price: float | None,
    max_price: float | None,
    brand: str | None,
    families: bool = False,
    diverse: bool = False,
) -> ShopFields:
    """The form fields as the JSON bodies' ShopFields; a 422 when they make no sense."""
    try:
        return ShopFields(
            in_stock=in_stock,
            min_price=min_price,
            max_price=max_price,
            brand=brand,
            families=families,
            diverse=diverse,
        )
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


def reject_unknown(request: Request, known: set[str]) -> None:
    """Query parameters the route does not know are a 422 naming them (a misspelt filter must not
    silently return unfiltered results)."""
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise FilterError(f"unknown query parameter(s) {', '.join(unknown)}: use {', '.join(sorted(known))}")
