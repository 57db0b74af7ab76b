"""/health (is the index readable, which encoder answers) and / (a redirect to the docs)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.requests import Request

from lookalike import __version__
from lookalike.api.deps import Service
from lookalike.api.errors import public_detail, safe_text
from lookalike.api.schemas import HealthOut
from lookalike.errors import LookalikeError

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/", include_in_schema=False)
def _root() -> RedirectResponse:
    return RedirectResponse("/docs")


@router.get("/health", response_model=HealthOut, tags=["service"])
def health(request: Request, service: Service) -> Any:
    """Is the index readable, what is in it, and which encoder answers."""
    try:
        info = service.info()
        text = service.text_mode
    except LookalikeError as exc:
        log.error("health check failed: %s", safe_text(exc))
        return JSONResponse({"status": "unavailable", "detail": public_detail(request, exc)}, status_code=503)
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
