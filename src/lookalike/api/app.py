"""The app factory: settings resolved once, guards installed, the routers included, app.state filled.

Routes read what they need from app.state through lookalike.api.deps, so one process may hold several
apps (over different services) built from the same module-level routers.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from lookalike import __version__
from lookalike.api.deps import require_read_key
from lookalike.api.errors import PathScrubber, add_error_handlers
from lookalike.api.limits import SearchRunner, WriteRunner
from lookalike.api.middleware import BodyLimit
from lookalike.api.query_image import UrlFetches
from lookalike.api.routes import categories, health, products, search, variants, widget
from lookalike.catalog_service import CatalogService
from lookalike.config import API_KEY_RULE, Settings, is_header_safe
from lookalike.errors import LookalikeError
from lookalike.fetch import AddressPolicy, Fetcher, FetchLimits
from lookalike.search import SearchService

log = logging.getLogger(__name__)


def create_app(
    service: SearchService,
    *,
    api_key: str | None = None,
    read_api_key: str | None = None,
    max_upload_bytes: int | None = None,
    cors_origins: Sequence[str] | None = None,
) -> FastAPI:
    """The REST app over `service`.

    api_key protects the write endpoints (header X-API-Key), and the read endpoints as well when
    settings.public_reads is off; None takes settings.api_key (LOOKALIKE_API_KEY), and an empty key
    leaves everything open. max_upload_bytes bounds every request body (None: settings.max_upload_bytes,
    default 10 MB). cors_origins (None: settings.cors_origins) lets browser pages from those origins
    call the API; empty, the default, sends no CORS headers at all. read_api_key (None:
    settings.read_api_key) opens searching and browsing only, when public_reads is off: the key a
    storefront page (the /widget.js widget) may carry, since anyone can read it there.
    """
    settings = service.settings
    key = _api_key(settings, api_key)
    limit = max_upload_bytes or settings.max_upload_bytes
    origins = list(settings.cors_origins if cors_origins is None else cors_origins)

    app = FastAPI(
        lifespan=_lifespan,
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
    app.state.service = service
    app.state.catalog = CatalogService(service)
    app.state.api_key = key
    app.state.read_api_key = _read_key(settings, read_api_key)
    app.state.max_upload_bytes = limit
    app.state.search_runner = SearchRunner(settings.request_timeout, settings.max_concurrent_searches)
    app.state.write_runner = WriteRunner(settings.request_timeout, settings.max_concurrent_writes)
    app.state.fetches = _url_fetches(settings, limit)
    add_error_handlers(
        app, PathScrubber({str(settings.data_dir): "<data dir>", tempfile.gettempdir(): "<temp dir>"})
    )
    _include_routers(app, public_reads=settings.public_reads)
    if not settings.public_reads and key is None:
        log.warning("public_reads is off but no API key is set: searching stays open to anyone")
    return app


def _url_fetches(settings: Settings, limit: int) -> UrlFetches:
    """Query photos by URL: the strict address policy (API callers never reach the server's own
    network, except hosts in LOOKALIKE_FETCH_ALLOW), no more bytes than an upload, no longer than a
    search may take."""
    limits = replace(
        FetchLimits.from_settings(settings),
        max_bytes=min(settings.fetch_max_bytes, limit),
        total_timeout=min(settings.fetch_total_timeout, settings.request_timeout),
    )
    fetcher = Fetcher(limits, AddressPolicy.from_settings(settings, allow_private=False))
    return UrlFetches(fetcher, limits.concurrency)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        yield
    finally:
        app.state.fetches.close()  # the download connection pool


def _api_key(settings: Settings, given: str | None) -> str | None:
    """The key that guards writes (None: none, writes are open); refused if it cannot travel in a header."""
    if given is None and settings.api_key is not None:
        given = settings.api_key.get_secret_value()
    if given and not is_header_safe(given):
        raise LookalikeError(API_KEY_RULE.replace("LOOKALIKE_API_KEY", "the API key"))
    if not given:
        log.warning(
            "no LOOKALIKE_API_KEY set: adding and deleting products through the API is open to anyone"
        )
    return given or None


def _read_key(settings: Settings, given: str | None) -> str | None:
    """The read-only key (None: none); refused, like the write key, if it cannot travel in a header."""
    if given is None and settings.read_api_key is not None:
        given = settings.read_api_key.get_secret_value()
    if given and not is_header_safe(given):
        raise LookalikeError(API_KEY_RULE.replace("LOOKALIKE_API_KEY", "the read-only API key"))
    return given or None


def _include_routers(app: FastAPI, *, public_reads: bool) -> None:
    """Reads go behind the key unless public_reads; writes always are (their router says so).

    Order matters: /products/{id}/similar and /image come before the catch-all /products/{id:path}.
    """
    reads = [] if public_reads else [Depends(require_read_key)]
    app.include_router(health.router)
    app.include_router(widget.router)
    app.include_router(search.router, dependencies=reads)
    app.include_router(variants.router, dependencies=reads)
    app.include_router(categories.router, dependencies=reads)
    app.include_router(products.router, dependencies=reads)
    app.include_router(products.write_router)
