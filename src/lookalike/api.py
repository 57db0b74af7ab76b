"""REST API over SearchService (FastAPI; OpenAPI docs at /docs).

A thin face: every endpoint calls SearchService or lookalike.catalog_ops, maps lookalike's errors to
4xx/5xx with a `detail` a shop owner can read, and never lets a user string reach the file system:
categories and ids are looked up in the index, and images are served only from the path the index
stores for that product.

Guards: request bodies are capped before they are read (413); write endpoints need the API key
(and reads too when public_reads is off); searches run a few at a time in worker threads under a
time limit (503 when it passes); CORS is off unless origins are configured. A caller's mistake is
always a 4xx whose detail is safe to render, whatever bytes the caller sent.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import pathlib
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, File, Form, HTTPException, Path, Query, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lookalike import __version__, catalog_ops
from lookalike.config import API_KEY_RULE, is_header_safe
from lookalike.errors import (
    ChangedOnDiskError,
    EncoderError,
    LookalikeError,
    NotFoundError,
    StoreError,
    UnsupportedModalityError,
    UploadTooLargeError,
)
from lookalike.records import Hit
from lookalike.search import MAX_TOP_K, SearchService

log = logging.getLogger(__name__)
T = TypeVar("T")

_MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
}

# Parameter types live at module level: with postponed annotations FastAPI resolves them from globals.
TopK = Annotated[int, Field(ge=1, le=MAX_TOP_K, description="How many products to return.")]
ProductId = Annotated[str, Path(min_length=1, description="A product id from the index.")]
FormTopK = Annotated[int, Form(ge=1, le=MAX_TOP_K, description="How many products to return.")]
FormCategory = Annotated[str | None, Form(description="Only products of this category.")]
MAX_EXAMPLES = 32  # product ids one "similar" query may name (each one is read from the store)
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="Needed to add or delete products."
)


# -- response models ---------------------------------------------------------------------------------
class HitOut(BaseModel):
    rank: int
    score: float = Field(
        description="Higher is closer. Cosine similarity of the best-matching view for photo and joint "
        "queries (photo + words: the weighted blend); for words with an image-only encoder, a "
        "reciprocal-rank-fusion score (about 0.01–0.05)."
    )
    product_id: str
    category: str
    title: str | None
    rel_path: str = Field(description="The matching image's path inside its catalog.")
    point_id: str
    image_url: str = Field(description="URL of the matching image.")


class SearchOut(BaseModel):
    hits: list[HitOut]
    took_ms: float


class TextQuery(BaseModel):
    model_config = ConfigDict(strict=True)  # JSON `"top_k": true` is a mistake, not 1

    text: str = Field(min_length=1, max_length=500, description="Words describing the product.")
    top_k: TopK = 10
    category: str | None = None


class CategoryOut(BaseModel):
    name: str
    images: int
    products_url: str


class CategoriesOut(BaseModel):
    categories: list[CategoryOut]


class ProductOut(BaseModel):
    product_id: str
    category: str
    title: str | None
    views: int
    image_url: str


class PageOut(BaseModel):
    category: str
    total: int = Field(description="Products in the category.")
    offset: int
    limit: int
    seed: int | None = Field(description="Shuffle seed: pass it back with next_offset for the next page.")
    next_offset: int | None
    products: list[ProductOut]


class AddedOut(BaseModel):
    product_id: str
    category: str
    point_id: str
    rel_path: str
    image_url: str


class AddOut(BaseModel):
    added: list[AddedOut]
    replaced: int = Field(description="Images of the product removed first (replace=true).")


class ViewOut(BaseModel):
    point_id: str
    rel_path: str
    image_url: str
    file_ok: bool = Field(description="False when the image file is gone: see `lookalike clean`.")


class ProductDetailOut(BaseModel):
    product_id: str
    category: str
    title: str | None
    views: list[ViewOut] = Field(description="Every image of the product the index holds, in path order.")


class DeleteOut(BaseModel):
    product_id: str
    deleted: int = Field(description="Images removed from the index.")


class HealthOut(BaseModel):
    status: str
    version: str
    encoder: str
    dim: int
    backend: str
    points: int
    categories: int
    text_search: str = Field(
        description="'joint' (the encoder embeds text) or 'words' (titles, classes, colours)"
    )


# -- request body limit ----------------------------------------------------------------------------
class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over `max_bytes` with a JSON 413, before reading them when possible.

    A Content-Length over the limit is answered at once; a chunked body is counted as it streams
    in and cut off as soon as it passes the limit (FastAPI would otherwise turn that into a 400).
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        exceeded = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal refused
            if not exceeded:
                await send(message)
            elif not refused:  # swallow whatever the app answered to the cut-off body
                refused = True
                await self._refuse(send)

        with contextlib.suppress(_BodyTooLarge):  # raised by counting_receive, answered below
            await self.app(scope, counting_receive, guarded_send)
        if exceeded and not refused:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        mb = self.max_bytes / (1024 * 1024)
        body = json.dumps(
            {"detail": f"the request is larger than the limit of {self.max_bytes:,} bytes ({mb:.1f} MB)"}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


# -- time limits -------------------------------------------------------------------------------------
class _NoTurn(Exception):
    """No search slot became free within the time limit."""


class SearchRunner:
    """Runs blocking search calls in worker threads, `slots` at a time, each under `seconds`.

    When the time is up the caller is answered at once (503). Python cannot stop the thread, so it
    finishes its call on its own, still holding its slot: abandoned work never exceeds `slots`, and
    calls still waiting for a slot give up by the same deadline.
    """

    def __init__(self, seconds: float, slots: int):
        self.seconds = seconds
        self.slots = threading.BoundedSemaphore(slots)

    async def run(self, fn: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.seconds
        with anyio.move_on_after(self.seconds):
            try:
                return await anyio.to_thread.run_sync(self._in_turn, fn, deadline, abandon_on_cancel=True)
            except _NoTurn:
                pass
        raise HTTPException(
            503,
            f"the search did not finish within {self.seconds:g} s (the server is busy); try again shortly",
            headers={"Retry-After": "5"},
        )

    def _in_turn(self, fn: Callable[[], T], deadline: float) -> T:
        if not self.slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise _NoTurn
        try:
            return fn()
        finally:
            self.slots.release()


class WriteRunner:
    """Runs catalog writes in worker threads, `slots` at a time.

    A write waits at most `seconds` for a slot (then 503 with Retry-After). Once it has one it runs to
    the end, even if the caller goes away: a write is never abandoned half-done.
    """

    def __init__(self, seconds: float, slots: int):
        self.seconds = seconds
        self.slots = threading.BoundedSemaphore(slots)

    async def run(self, fn: Callable[[], T]) -> T:
        try:
            return await anyio.to_thread.run_sync(self._in_turn, fn)  # not abandoned on cancel
        except _NoTurn:
            raise HTTPException(
                503,
                f"other changes to the catalog are in progress and none finished within {self.seconds:g} s; "
                "try again shortly",
                headers={"Retry-After": "5"},
            ) from None

    def _in_turn(self, fn: Callable[[], T]) -> T:
        if not self.slots.acquire(timeout=self.seconds):
            raise _NoTurn
        try:
            return fn()
        finally:
            self.slots.release()


# -- error mapping -----------------------------------------------------------------------------------
def safe_text(value: object, limit: int = 500) -> str:
    """Text that always renders as JSON: lone surrogates escaped, long echoes of caller input cut."""
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "…"


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's 422 detail without the echoed input, which may be huge, infinite or not text."""
    return [
        {
            "type": safe_text(e.get("type", "")),
            "loc": [x if isinstance(x, int) else safe_text(x, 100) for x in e.get("loc", ())],
            "msg": safe_text(e.get("msg", "")),
        }
        for e in exc.errors()
    ]


def _status_of(exc: LookalikeError) -> int:
    """404 for what is not in the index, 503 when the model or the store fails, else the request's fault."""
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


def _image_url(product_id: str, point_id: str | None = None) -> str:
    url = f"/products/{quote(product_id, safe='')}/image"
    return f"{url}?point={point_id}" if point_id else url


def _hits_out(hits: list[Hit], started: float) -> SearchOut:
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
                image_url=_image_url(h.product.product_id, h.point_id),
            )
            for i, h in enumerate(hits, 1)
        ],
        took_ms=(time.perf_counter() - started) * 1000,
    )


def _checked_upload(upload: UploadFile, data: bytes, limit: int) -> tuple[str, bytes]:
    name = safe_text(upload.filename or "uploaded image", 200)
    if len(data) > limit:
        raise HTTPException(413, f"'{name}' is larger than the limit of {limit:,} bytes")
    return name, data


def _read_upload(upload: UploadFile, limit: int) -> tuple[str, bytes]:
    return _checked_upload(upload, upload.file.read(limit + 1), limit)


async def _read_upload_async(upload: UploadFile, limit: int) -> tuple[str, bytes]:
    return _checked_upload(upload, await upload.read(limit + 1), limit)


def _category(value: str | None) -> str | None:
    return (value.strip() or None) if value else None


def create_app(
    service: SearchService,
    *,
    api_key: str | None = None,
    max_upload_bytes: int | None = None,
    cors_origins: Sequence[str] | None = None,
) -> FastAPI:
    """The REST app over `service`.

    api_key protects the write endpoints (header X-API-Key), and the read endpoints as well when
    settings.public_reads is off; None takes settings.api_key (LOOKALIKE_API_KEY), and an empty key
    leaves everything open. max_upload_bytes bounds every request body (None: settings.max_upload_bytes,
    default 10 MB). cors_origins (None: settings.cors_origins) lets browser pages from those origins
    call the API; empty, the default, sends no CORS headers at all.
    """
    settings = service.settings
    if api_key is None and settings.api_key is not None:
        api_key = settings.api_key.get_secret_value()
    if api_key and not is_header_safe(api_key):
        raise LookalikeError(API_KEY_RULE.replace("LOOKALIKE_API_KEY", "the API key"))
    key = api_key or None
    limit = max_upload_bytes or settings.max_upload_bytes
    origins = list(settings.cors_origins if cors_origins is None else cors_origins)
    if key is None:
        log.warning(
            "no LOOKALIKE_API_KEY set: adding and deleting products through the API is open to anyone"
        )

    app = FastAPI(
        title="lookalike",
        version=__version__,
        description="Reverse product-image search: send a photo, get the most similar products of the shop.",
    )
    app.add_middleware(BodyLimit, max_bytes=limit)
    if origins:  # added last, so it is outermost: refusals (413, 401) carry CORS headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "X-API-Key"],
            allow_credentials=False,
            max_age=600,
        )
    runner = SearchRunner(settings.request_timeout, settings.max_concurrent_searches)
    app.state.search_runner = runner
    writer = WriteRunner(settings.request_timeout, settings.max_concurrent_writes)
    app.state.write_runner = writer
    public = PathScrubber({str(settings.data_dir): "<data dir>", tempfile.gettempdir(): "<temp dir>"})

    def detail(exc: Exception) -> str:
        text = safe_text(exc, 2000)
        shown = public(text)
        if shown != text:
            log.info("error detail with server paths removed: %s", text)
        return shown

    def require_key(given: Annotated[str | None, Security(_api_key_header)] = None) -> None:
        if key is None:
            return
        if given is None or not hmac.compare_digest(given.encode("utf-8"), key.encode("utf-8")):
            raise HTTPException(401, "missing or wrong API key (send it in the X-API-Key header)")

    reads = [] if settings.public_reads else [Depends(require_key)]
    if not settings.public_reads and key is None:
        log.warning("public_reads is off but no API key is set: searching stays open to anyone")

    @app.exception_handler(LookalikeError)
    async def _lookalike_error(_: Request, exc: LookalikeError) -> JSONResponse:
        status = _status_of(exc)
        if status == 501:  # a question this encoder cannot answer: nothing is broken
            log.info("not supported: %s", safe_text(exc))
        elif status >= 500:
            log.error("service unavailable: %s", safe_text(exc))
        return JSONResponse({"detail": detail(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_detail(exc)}, status_code=422)

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/health", response_model=HealthOut, tags=["service"])
    def health() -> Any:
        """Is the index readable, what is in it, and which encoder answers."""
        try:
            info = service.info()
            text = service.text_mode
        except LookalikeError as exc:
            log.error("health check failed: %s", safe_text(exc))
            return JSONResponse({"status": "unavailable", "detail": detail(exc)}, status_code=503)
        return HealthOut(
            status="ok",
            version=__version__,
            encoder=info.encoder,
            dim=info.dim,
            backend=info.backend,
            points=info.points,
            categories=len(info.categories),
            text_search=text,
        )

    @app.post("/search/image", response_model=SearchOut, tags=["search"], dependencies=reads)
    async def search_image(
        file: Annotated[UploadFile, File(description="A photo of the product (png, jpg, webp, gif, bmp).")],
        top_k: FormTopK = 10,
        category: FormCategory = None,
    ) -> SearchOut:
        """The products that look most like the photo, best first (one hit per product)."""
        started = time.perf_counter()
        name, data = await _read_upload_async(file, limit)

        def work() -> list[Hit]:
            image = service.load_query_image(data, name=name)
            return service.search_image(image, top_k=top_k, category=_category(category))

        return _hits_out(await runner.run(work), started)

    @app.post("/search/text", response_model=SearchOut, tags=["search"], dependencies=reads)
    async def search_text(query: TextQuery) -> SearchOut:
        """Products matching words: in the encoder's joint space where it embeds text, otherwise
        through product titles, recognised object classes and colour names (see /health text_search)."""
        started = time.perf_counter()
        hits = await runner.run(
            lambda: service.search_text(query.text, top_k=query.top_k, category=_category(query.category))
        )
        return _hits_out(hits, started)

    @app.post("/search/combined", response_model=SearchOut, tags=["search"], dependencies=reads)
    async def search_combined(
        file: Annotated[UploadFile, File(description="A photo of the product.")],
        text: Annotated[str, Form(min_length=1, max_length=500, description="Words that refine the photo.")],
        weight: Annotated[float, Form(ge=0, le=1, description="Weight of the words (0 = photo only).")] = 0.5,
        top_k: FormTopK = 10,
        category: FormCategory = None,
    ) -> SearchOut:
        """A photo refined by words ("…but in blue"); /health text_search says how words are matched."""
        started = time.perf_counter()
        name, data = await _read_upload_async(file, limit)

        def work() -> list[Hit]:
            image = service.load_query_image(data, name=name)
            return service.search_combined(
                image, text, weight=weight, top_k=top_k, category=_category(category)
            )

        return _hits_out(await runner.run(work), started)

    @app.post("/search/audio", response_model=SearchOut, tags=["search"], dependencies=reads)
    async def search_audio(
        file: Annotated[UploadFile, File(description="A sound (16-bit PCM WAV), e.g. a coffee machine.")],
        top_k: FormTopK = 10,
        category: FormCategory = None,
    ) -> SearchOut:
        """Products that sound like the recording: encoders with audio only (ImageBind); 501 otherwise."""
        started = time.perf_counter()
        _, data = await _read_upload_async(file, limit)

        def work() -> list[Hit]:
            # the encoder reads a file: a private temp file, never a name the caller chose
            with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
                tmp.write(data)
                tmp.flush()
                return service.search_audio(tmp.name, top_k=top_k, category=_category(category))

        return _hits_out(await runner.run(work), started)

    @app.get(
        "/products/{product_id:path}/similar", response_model=SearchOut, tags=["search"], dependencies=reads
    )
    async def similar(
        product_id: ProductId,
        positive: Annotated[list[str], Query(description="More product ids to find more like.")] = [],  # noqa: B006
        negative: Annotated[list[str], Query(description="Product ids to steer away from.")] = [],  # noqa: B006
        top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K)] = 10,
        category: Annotated[str | None, Query(description="Only products of this category.")] = None,
    ) -> SearchOut:
        """More like this product (and `positive` ones), less like `negative` ones: Qdrant recommend."""
        started = time.perf_counter()
        pos = list(dict.fromkeys([product_id, *positive]))
        neg = [n for n in dict.fromkeys(negative) if n not in pos]  # each id costs a store read: once
        if "" in pos or "" in neg:  # an empty id would stand for every product
            raise HTTPException(422, "product ids must not be empty")
        if len(pos) + len(neg) > MAX_EXAMPLES:
            raise HTTPException(
                422, f"at most {MAX_EXAMPLES} different product ids in all (the product, positive, negative)"
            )
        hits = await runner.run(lambda: service.similar(pos, neg, top_k=top_k, category=_category(category)))
        return _hits_out(hits, started)

    @app.get(
        "/products/{product_id:path}/image",
        response_class=FileResponse,
        responses={200: {"content": {"image/*": {}}, "description": "The image file."}},
        tags=["products"],
        dependencies=reads,
    )
    def product_image(
        product_id: ProductId,
        view: Annotated[int, Query(ge=0, description="Which image of the product (0 = first).")] = 0,
        point: Annotated[str | None, Query(description="A hit's point_id: the image that matched.")] = None,
    ) -> FileResponse:
        """A product image, served from the path the index stores for that product (nothing else)."""
        path = catalog_ops.product_image_path(service, product_id, view=view, point=point)
        media = _MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
        return FileResponse(path, media_type=media, headers={"X-Content-Type-Options": "nosniff"})

    @app.get("/categories", response_model=CategoriesOut, tags=["catalog"], dependencies=reads)
    def categories() -> CategoriesOut:
        """The categories in the index and how many images each holds."""
        return CategoriesOut(
            categories=[
                CategoryOut(name=name, images=n, products_url=f"/categories/{quote(name, safe='')}/products")
                for name, n in service.categories().items()
            ]
        )

    @app.get("/categories/{name:path}/products", response_model=PageOut, tags=["catalog"], dependencies=reads)
    async def category_products(
        name: Annotated[str, Path(description="A category name from GET /categories.")],
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_TOP_K)] = 24,
        shuffle: Annotated[
            bool, Query(description="Random order; no repeats while paging with one seed.")
        ] = False,
        seed: Annotated[int | None, Query(ge=0, description="The seed of a previous shuffled page.")] = None,
    ) -> PageOut:
        """A page of a category's products, in id order or shuffled."""
        # reads the whole category: under the same time limit and concurrency cap as searches
        page = await runner.run(
            lambda: catalog_ops.browse(service, name, offset, limit, shuffle=shuffle, seed=seed)
        )
        return PageOut(
            category=page.category,
            total=page.total,
            offset=page.offset,
            limit=page.limit,
            seed=page.seed,
            next_offset=page.next_offset,
            products=[
                ProductOut(
                    product_id=p.product_id,
                    category=p.category,
                    title=p.title,
                    views=len(p.views),
                    image_url=_image_url(p.product_id),
                )
                for p in page.products
            ],
        )

    @app.post(
        "/products",
        response_model=AddOut,
        status_code=201,
        tags=["products"],
        dependencies=[Depends(require_key)],
    )
    async def add_products(
        files: Annotated[list[UploadFile], File(description="One or more product images.")],
        category: Annotated[str, Form(min_length=1, max_length=catalog_ops.MAX_NAME_CHARS)],
        product_id: Annotated[
            str | None, Form(description="All files become views of this product; default: one per file.")
        ] = None,
        title: Annotated[str | None, Form(max_length=200)] = None,
        replace: Annotated[bool, Form(description="Remove the product's other images too.")] = False,
    ) -> AddOut:
        """Add (or with replace=true, replace) product images; they are searchable when this returns.

        All or nothing: the whole request is refused if any file is not a readable image or the
        images hold more pixels in all than the server's limit (413). Writes are applied one at a
        time; when others keep the server busy past its time limit the answer is 503 (try again).
        """
        product_id = (product_id or "").strip() or None
        if replace and product_id is None:
            raise HTTPException(422, "replace=true needs the product_id whose images to replace")
        uploads = [await _read_upload_async(f, limit) for f in files]
        report = await writer.run(
            lambda: catalog_ops.add_images(
                service,
                uploads,
                category,
                product_id=product_id,
                title=title,
                replace=replace,
                all_or_nothing=True,
            )
        )
        added = [
            AddedOut(
                product_id=a.product.product_id,
                category=a.product.category,
                point_id=a.point_id,
                rel_path=a.product.rel_path,
                image_url=_image_url(a.product.product_id, a.point_id),
            )
            for a in report.added
        ]
        return AddOut(added=added, replaced=report.replaced)

    @app.get(
        "/products/{product_id:path}",
        response_model=ProductDetailOut,
        tags=["products"],
        dependencies=reads,
    )
    def get_product(product_id: ProductId) -> ProductDetailOut:
        """What the index holds for a product: each image, and whether its file is still there."""
        views = catalog_ops.product_views(service, product_id)
        first = views[0][1]
        return ProductDetailOut(
            product_id=product_id,
            category=first.category,
            title=first.title,
            views=[
                ViewOut(
                    point_id=pid,
                    rel_path=p.rel_path,
                    image_url=_image_url(product_id, pid),
                    file_ok=p.path.is_file(),
                )
                for pid, p in views
            ],
        )

    @app.delete(
        "/products/{product_id:path}",
        response_model=DeleteOut,
        tags=["products"],
        dependencies=[Depends(require_key)],
    )
    async def delete_product(product_id: ProductId) -> DeleteOut:
        """Remove a product and all its images from the index (uploaded files are deleted too)."""
        deleted = await writer.run(lambda: catalog_ops.delete_product(service, product_id))
        return DeleteOut(product_id=product_id, deleted=deleted)

    return app
