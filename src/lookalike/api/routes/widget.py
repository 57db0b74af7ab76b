"""GET /widget.js: the storefront's search-by-photo widget (plain JavaScript, see api/static/widget.js).

Always public (a page loads it with a <script> tag, which sends no key); what it calls is guarded as usual.
"""

from __future__ import annotations

import functools
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

router = APIRouter(tags=["widget"])


@functools.cache
def widget_source() -> bytes:
    return resources.files("lookalike.api").joinpath("static/widget.js").read_bytes()


@router.get("/widget.js", include_in_schema=False)
def widget_js() -> Response:
    """The widget script; add it to a page with <script src=".../widget.js" data-api="..."></script>."""
    return Response(
        widget_source(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
