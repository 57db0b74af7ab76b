"""RSS 2.0 and Atom product feeds with Google's `g:` namespace, parsed with defusedxml.

A feed may come from anywhere, so XML that declares entities (the "billion laughs" bomb that
expands a few kB into gigabytes) or references external files is refused outright; Merchant feeds
need neither. Elements outside the feed's own namespaces (RSS: none, Atom, `g:`) are ignored.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from lookalike.errors import FeedError
from lookalike.feeds.items import Row, field_name

G_NS = "http://base.google.com/ns/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
_KNOWN_NS = ("", G_NS, ATOM_NS)


def _split(tag: str) -> tuple[str, str]:
    """'{ns}local' → (ns, local); a tag without a namespace → ('', tag)."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def xml_rows(data: bytes) -> tuple[str, list[tuple[str, Row]]]:
    """('rss' | 'atom', rows): one row per <item> or <entry>."""
    try:
        root = SafeET.fromstring(data)
    except defusedxml.DefusedXmlException as exc:
        raise FeedError(
            "the feed's XML was refused: it declares entities or external references "
            f"({type(exc).__name__}). Expanding them can make a small file take gigabytes "
            "(an 'XML bomb'); product feeds need none"
        ) from None
    except ParseError as exc:
        raise FeedError(f"the feed is not well-formed XML ({exc})") from None
    _, root_name = _split(root.tag)
    format_name = "atom" if root_name == "feed" else "rss"
    rows = [(f"{local} {n}", _row(el)) for n, (el, local) in enumerate(_entries(root), start=1)]
    if not rows and root_name not in ("rss", "feed"):
        raise FeedError(
            f"the feed is XML but neither RSS 2.0 nor Atom (its root element is <{root_name}>, "
            "with no <item> or <entry>)"
        )
    return format_name, rows


def _entries(root: Element) -> list[tuple[Element, str]]:
    found = []
    for el in root.iter():
        ns, local = _split(el.tag)
        if local in ("item", "entry") and ns in _KNOWN_NS:
            found.append((el, local))
    return found


def _row(entry: Element) -> Row:
    row: Row = {}
    for child in entry:
        ns, local = _split(child.tag)
        if ns not in _KNOWN_NS:
            continue
        if local == "link" and ns != G_NS and child.get("href") is not None:  # Atom: <link href="…"/>
            if child.get("rel", "alternate") != "alternate":
                continue
            value = child.get("href", "")
        elif len(child):  # nested (g:shipping, g:tax): not a field lookalike stores
            continue
        else:
            value = child.text or ""
        if value.strip():
            row.setdefault(field_name(local), []).append(value.strip())
    if "description" not in row:  # Atom's words are in <summary> or <content>
        for other in ("summary", "content"):
            if other in row:
                row["description"] = row[other]
                break
    return row
