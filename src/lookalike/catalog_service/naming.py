"""Names that user input may become: slugs for files, cleaned labels for the payload.

Security rule: user strings (category names, product ids, file names) are looked up in the index or
reduced to a slug; none is ever joined into a file-system path as given.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath

from lookalike.errors import LookalikeError, NotFoundError

MAX_NAME_CHARS = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # not text: cannot be stored in a JSON payload


def slugify(text: str, max_len: int = 64) -> str:
    """A file-name-safe form of `text` ([a-z0-9-] only): never empty, never '.', '..' or a path."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_len].strip("-")
    return slug or "x-" + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def clean_label(value: str, what: str) -> str:
    """A category name or product id as stored in the payload: trimmed, printable, bounded."""
    value = " ".join(str(value).split())
    if not value:
        raise LookalikeError(f"the {what} is empty")
    if len(value) > MAX_NAME_CHARS:
        raise LookalikeError(f"the {what} is longer than {MAX_NAME_CHARS} characters")
    forbidden = "\\/" if what == "product id" else "\\"
    if _CONTROL.search(value) or _SURROGATE.search(value) or any(ch in value for ch in forbidden):
        raise LookalikeError(f"the {what} '{value}' contains characters that are not allowed")
    if what == "product id" and value in (".", ".."):  # a URL path segment that clients normalise away
        raise LookalikeError(f"the product id '{value}' is not allowed (it cannot stand in a URL)")
    return value


def known_id(product_id: str) -> str:
    """Refuse an empty id up front: an empty filter value would match every product in the index."""
    if not product_id:
        raise NotFoundError("no product '' in the index (give a product id)")
    return product_id


def file_stem(product_id: str) -> str:
    """File names carry the product (one file = one point = one product); distinct ids never collide."""
    slug = slugify(product_id, 40)
    if slug == product_id:
        return slug
    return f"{slug}-{hashlib.sha1(product_id.encode('utf-8')).hexdigest()[:6]}"


def upload_label(name: str) -> str:
    """The file name an upload is reported under: its last path part, never a path."""
    return PurePosixPath(str(name).replace("\\", "/")).name or "uploaded image"
