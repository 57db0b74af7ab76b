"""Which format a feed is in, and its rows: Merchant Center TSV, plain CSV, a JSON list, RSS/Atom XML.

The format is told from the content, not the file name (feeds are often served as `feed.txt` or
from a URL without an extension): XML starts with '<', JSON with '[', a header line with a tab is
tab-separated, anything else is CSV (comma or semicolon).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging

from lookalike.errors import FeedError
from lookalike.feeds.items import Row, field_name
from lookalike.feeds.xml_feed import xml_rows

log = logging.getLogger(__name__)

Rows = list[tuple[str, Row]]
FORMATS = ("merchant-tsv", "csv", "json", "rss", "atom")


def decode(data: bytes) -> str:
    """Text of a feed: UTF-8 (with or without BOM) or UTF-16 with a BOM (Excel's "Unicode text");
    anything else is read as Latin-1 with a warning rather than refused (older shop exports)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FeedError(f"the feed says it is UTF-16 but is not ({exc.reason})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.warning("the feed is not UTF-8; reading it as Latin-1 (accents may look wrong)")
        return data.decode("latin-1")


def parse_rows(data: bytes) -> tuple[str, Rows]:
    """(format, rows) of a feed; FeedError when it is none of the formats or cannot be read."""
    if data.lstrip()[:1] == b"<" or data.startswith(codecs.BOM_UTF8 + b"<"):
        return xml_rows(data)  # the XML parser reads the encoding from the document itself
    text = decode(data)
    stripped = text.lstrip()
    if not stripped:
        raise FeedError("the feed is empty")
    if stripped[0] == "<":  # XML in UTF-16, with its byte-order mark
        return xml_rows(data)
    if stripped[0] in "[{":
        return "json", json_rows(stripped)
    header = stripped.split("\n", 1)[0]
    if "\t" in header:
        return "merchant-tsv", delimited_rows(stripped, "\t")
    delimiter = ";" if header.count(";") > header.count(",") else ","
    return "csv", delimited_rows(stripped, delimiter)


def delimited_rows(text: str, delimiter: str) -> Rows:
    """Rows of a TSV/CSV with a header line. A column may repeat (two additional_image_link columns):
    every value is kept."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [field_name(name) for name in next(reader)]
        if not any(header):
            raise FeedError("the feed's first line holds no column names")
        rows: Rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            row: Row = {}
            for name, value in zip(header, cells, strict=False):
                if name and value.strip():
                    row.setdefault(name, []).append(value)
            rows.append((f"line {reader.line_num}", row))
    except csv.Error as exc:
        where = f"at line {reader.line_num}"
        raise FeedError(f"the feed cannot be read as {_kind(delimiter)} {where} ({exc})") from None
    return rows


def _kind(delimiter: str) -> str:
    return "tab-separated text" if delimiter == "\t" else "CSV"


def json_rows(text: str) -> Rows:
    """A JSON list of objects (the folder sidecar's keys, plus image_url); a list value is several values."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"the feed is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(items, list):
        raise FeedError('a JSON feed must be a list of product objects, [{"id": …, "image_url": …}, …]')
    rows: Rows = []
    for n, item in enumerate(items, start=1):
        row: Row = {}
        if isinstance(item, dict):
            for key, value in item.items():
                values = value if isinstance(value, list) else [value]
                texts = [_scalar(v) for v in values]
                kept = [t for t in texts if t]
                if kept:
                    row.setdefault(field_name(str(key)), []).extend(kept)
        rows.append((f"item {n}", row))
    return rows


def _scalar(value: object) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    return str(value).strip() or None
