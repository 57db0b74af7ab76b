"""FastAPI dependencies: what a route needs from the app, read from `app.state` (set by create_app).

The routers are module-level, so nothing here closes over a particular app: the service, the API key,
the upload limit and the search/write runners all come from the request's app.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Security
from fastapi.security import APIKeyHeader
from starlette.requests import Request

from lookalike.api.limits import SearchRunner, WriteRunner
from lookalike.api.query_image import UrlFetches
from lookalike.catalog_service import CatalogService
from lookalike.search import SearchService

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="Needed to add or delete products."
)


def get_service(request: Request) -> SearchService:
    return request.app.state.service


def get_catalog(request: Request) -> CatalogService:
    return request.app.state.catalog


def get_search_runner(request: Request) -> SearchRunner:
    return request.app.state.search_runner


def get_write_runner(request: Request) -> WriteRunner:
    return request.app.state.write_runner


def get_fetches(request: Request) -> UrlFetches:
    return request.app.state.fetches


def get_upload_limit(request: Request) -> int:
    return request.app.state.max_upload_bytes


def require_key(request: Request, given: Annotated[str | None, Security(api_key_header)] = None) -> None:
    """401 unless the X-API-Key header holds the app's key (no key configured: everything is open)."""
    key: str | None = request.app.state.api_key
    if key is None:
        return
    if given is None or not hmac.compare_digest(given.encode("utf-8"), key.encode("utf-8")):
        raise HTTPException(401, "missing or wrong API key (send it in the X-API-Key header)")


def require_read_key(request: Request, given: Annotated[str | None, Security(api_key_header)] = None) -> None:
    """Reads when public_reads is off: the app's key or its read-only key (LOOKALIKE_READ_API_KEY)."""
    read_key: str | None = request.app.state.read_api_key
    if (
        read_key is not None
        and given is not None
        and hmac.compare_digest(given.encode("utf-8"), read_key.encode("utf-8"))
    ):
        return
    if request.app.state.api_key is None and read_key is not None:
        raise HTTPException(401, "missing or wrong API key (send it in the X-API-Key header)")
    require_key(request, given)


Service = Annotated[SearchService, Depends(get_service)]
Catalog = Annotated[CatalogService, Depends(get_catalog)]
Searches = Annotated[SearchRunner, Depends(get_search_runner)]
Writes = Annotated[WriteRunner, Depends(get_write_runner)]
UploadLimit = Annotated[int, Depends(get_upload_limit)]
Fetches = Annotated[UrlFetches, Depends(get_fetches)]
