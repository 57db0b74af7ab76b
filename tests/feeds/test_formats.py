"""Feed formats → FeedItems, without network or model: Merchant TSV and XML, CSV, JSON, and bad feeds."""

from __future__ import annotations

import codecs

import pytest

from lookalike.catalog import CategoryRule
from lookalike.errors import FeedError
from lookalike.feeds import parse_rows, read_items
from lookalike.feeds.items import FeedRead
from lookalike.records import Offer

from .conftest import json_list, merchant_rss, merchant_tsv, sidecar_csv

IMG = "https://img.example/"
PRODUCTS = [
    {
        "id": "hoodie-white",
        "title": "White  hoodie",
        "description": "Soft & warm",
        "link": "https://shop.example/p/1",
        "image_link": IMG + "a.jpg",
        "additional_image_link": f"{IMG}b.jpg,{IMG}c.jpg?w=1,2",
        "product_type": "Apparel > Tops > Hoodies",
        "price": "35.00 EUR",
        "sale_price": "29.00 EUR",
        "availability": "in stock",
        "brand": "Saleor",
        "color": "white",
        "item_group_id": "hoodie",
    },
    {"id": "juice", "title": "Juice", "image_link": IMG + "j.png", "price": "call us"},
    {"id": "no-photo", "title": "No image"},
    {"title": "no id", "image_link": IMG + "x.png"},
    {"id": "ftp", "image_link": "ftp://img.example/f.png"},
    {"id": "juice", "title": "Juice again", "image_link": IMG + "j2.png"},
]


def _read(data: bytes, rule: CategoryRule | None = None, base: str | None = None) -> FeedRead:
    fmt, rows = parse_rows(data)
    return read_items(fmt, rows, rule or CategoryRule(), base)


@pytest.mark.parametrize(
    ("build", "fmt"),
    [(merchant_tsv, "merchant-tsv"), (merchant_rss, "rss"), (sidecar_csv, "csv"), (json_list, "json")],
)
def test_every_format_reads_the_same_products(build, fmt: str) -> None:
    read = _read(build(PRODUCTS))
    assert read.format == fmt
    assert [i.product_id for i in read.items] == ["hoodie-white", "juice"]
    hoodie, juice = read.items
    assert hoodie.title == "White hoodie" and hoodie.description == "Soft & warm"
    # additional links split at commas that start a URL; the comma inside "?w=1,2" stays
    assert hoodie.image_urls == (IMG + "a.jpg", IMG + "b.jpg", IMG + "c.jpg?w=1,2")
    assert hoodie.offer == Offer(
        price=29.0,
        regular_price=35.0,
        currency="EUR",
        link="https://shop.example/p/1",
        image_link=IMG + "a.jpg",
        availability="in_stock",
        brand="Saleor",
        colour="white",
        item_group_id="hoodie",
    )
    assert hoodie.offer_for(IMG + "b.jpg").image_link == IMG + "b.jpg"
    assert hoodie.warnings == ()
    if fmt != "csv" and fmt != "json":  # the sidecar's "category" column holds the same path
        assert hoodie.category == "Apparel / Tops / Hoodies"
    assert juice.offer.price is None and juice.category == "Uncategorized"
    assert any("'call us' is not a number" in w for w in juice.warnings)
    skipped = dict(read.skipped)
    reasons = sorted(skipped.values())
    assert reasons == sorted(
        [
            "no image_link",
            "no id",
            "image_link 'ftp://img.example/f.png' is not an http(s) URL",
            "the id repeats that of " + juice.label + ": skipped",
        ]
    )
    assert read.skipped_ids == {"no-photo", "ftp"}


@pytest.mark.parametrize(
    ("mode", "category"), [("path", "Apparel / Tops / Hoodies"), ("top", "Apparel"), ("parent", "Hoodies")]
)
def test_category_follows_the_folder_rule(mode: str, category: str) -> None:
    read = _read(merchant_tsv(PRODUCTS[:1]), CategoryRule(mode=mode))
    assert read.items[0].category == category


def test_google_category_is_used_when_there_is_no_product_type_and_numbers_are_not_names() -> None:
    tsv = (
        "id\timage_link\tgoogle_product_category\n"
        f"a\t{IMG}a.jpg\tApparel & Accessories > Clothing\n"
        f"b\t{IMG}b.jpg\t1604\n"
    )
    a, b = _read(tsv.encode()).items
    assert a.category == "Apparel & Accessories / Clothing" and b.category == "Uncategorized"


def test_header_spellings_repeated_columns_and_relative_links() -> None:
    tsv = "ID\tImage Link\tadditional image link\tadditional_image_link\n1\t/a.jpg\t/b.jpg\thttps://o.example/c.jpg\n"
    (item,) = _read(tsv.encode(), base="https://shop.example/feeds/google.tsv").items
    assert item.image_urls == (
        "https://shop.example/a.jpg",
        "https://shop.example/b.jpg",
        "https://o.example/c.jpg",
    )
    (read,) = [_read(tsv.encode())]  # a local file has no base: a relative link is no URL
    assert read.items == [] and read.skipped[0][1] == "image_link '/a.jpg' is not an http(s) URL"


def test_atom_feed_with_g_namespace() -> None:
    atom = f"""<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">
  <title>Shop</title>
  <entry>
    <g:id>A1</g:id><title>Red wine</title><summary>Dry</summary>
    <link rel="alternate" href="https://shop.example/wine"/><link rel="self" href="https://x.example/"/>
    <g:image_link>{IMG}w.png</g:image_link><g:price>12.50 USD</g:price>
    <g:shipping><g:country>US</g:country><g:price>5 USD</g:price></g:shipping>
  </entry>
</feed>"""
    read = _read(atom.encode())
    assert read.format == "atom"
    (item,) = read.items
    assert (item.product_id, item.title, item.description) == ("A1", "Red wine", "Dry")
    assert (item.offer.link, item.offer.price, item.offer.currency) == (
        "https://shop.example/wine",
        12.5,
        "USD",
    )


def test_csv_with_semicolons_and_utf16_tsv_from_excel() -> None:
    csv_text = f"product_id;title;image_url;price\n1;Crème;{IMG}1.png;9,99 €\n"
    (item,) = _read(csv_text.encode()).items
    assert (item.title, item.offer.price, item.offer.currency) == ("Crème", 9.99, "EUR")
    utf16 = codecs.BOM_UTF16_LE + f"id\ttitle\timage_link\n1\tCrème\t{IMG}1.png\n".encode("utf-16-le")
    (item,) = _read(utf16).items
    assert item.title == "Crème"


def test_an_xml_bomb_is_refused_before_it_expands() -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "aaaaaaaaaa">\n'
        + "".join(
            f'<!ENTITY {n} "{("&" + p + ";") * 10}">\n' for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + ']>\n<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>1</g:id>'
        "<title>&i;</title></item></channel></rss>"
    )
    with pytest.raises(FeedError, match="XML bomb"):
        parse_rows(bomb.encode())


def test_external_entities_are_refused() -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<rss><channel><item><title>&x;</title></item></channel></rss>"
    )
    with pytest.raises(FeedError, match="refused"):
        parse_rows(xxe.encode())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"<rss><channel><item>", "not well-formed XML"),
        (b"<html><body>hi</body></html>", "neither RSS 2.0 nor Atom"),
        (b'{"id": 1}', "must be a list"),
        (b"[1, 2", "not valid JSON"),
    ],
)
def test_unreadable_feeds_are_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        parse_rows(data)


def test_long_or_control_ids_and_too_many_images_are_handled() -> None:
    many = ",".join(f"{IMG}{n}.jpg" for n in range(15))
    tsv = f"id\timage_link\tadditional_image_link\n{'x' * 300}\t{IMG}a.jpg\t\nok\t{IMG}a.jpg\t{many}\n"
    read = _read(tsv.encode())
    assert "longer than 200" in read.skipped[0][1]
    (item,) = read.items
    assert len(item.image_urls) == 11 and any("only the first 10" in w for w in item.warnings)
