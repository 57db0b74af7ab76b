"""REST API over SearchService (FastAPI; OpenAPI docs at /docs).

A thin front end: every endpoint calls SearchService or CatalogService, maps lookalike's errors
to 4xx/5xx with a `detail` a shop owner can read, and never lets a user string reach the file system:
categories and ids are looked up in the index, and images are served only from the path the index
stores for that product.

Guards: request bodies are capped before they are read (413, middleware.py); write endpoints need the
API key (and reads too when public_reads is off, deps.py); searches run a few at a time in worker
threads under a time limit (503 when it passes, limits.py); CORS is off unless origins are configured.
A caller's mistake is always a 4xx whose detail is safe to render, whatever bytes the caller sent
(errors.py).

Layout: app.py builds the app; routes/ holds one module-level router per concern (health, search,
categories, products); schemas.py the request/response models.
"""

from lookalike.api.app import create_app
from lookalike.api.errors import PathScrubber, safe_text, status_of
from lookalike.api.limits import SearchRunner, WriteRunner
from lookalike.api.middleware import BodyLimit

__all__ = [
    "BodyLimit",
    "PathScrubber",
    "SearchRunner",
    "WriteRunner",
    "create_app",
    "safe_text",
    "status_of",
]
