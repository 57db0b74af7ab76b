"""Unit tests for the pure parts of the catalog service: slugs, labels, browse paging and shuffling."""

from __future__ import annotations

import pytest

from lookalike.catalog_service import CatalogService, clean_label, slugify
from lookalike.catalog_service.naming import file_stem, upload_label
from lookalike.errors import LookalikeError, NotFoundError


@pytest.mark.parametrize(
    ("text", "slug"),
    [("White Hoodie", "white-hoodie"), ("Crème brûlée!", "creme-brulee"), ("../../etc/passwd", "etc-passwd")],
)
def test_slugs_are_file_safe(text: str, slug: str) -> None:
    assert slugify(text) == slug


@pytest.mark.parametrize("text", ["", "..", "/", "日本語", "\ud800"])
def test_a_slug_is_never_empty_dots_or_a_path(text: str) -> None:
    slug = slugify(text)
    assert slug and slug not in (".", "..") and "/" not in slug and slug.startswith("x-")
    assert slugify(text) == slug  # stable


def test_distinct_ids_never_share_a_file_stem() -> None:
    assert file_stem("shoe-1") == "shoe-1"
    assert file_stem("Shoe 1") != file_stem("shoe 1") != file_stem("shoe-1")
    assert upload_label("C:\\photos\\x.png") == "x.png" and upload_label("") == "uploaded image"


def test_labels_are_trimmed_and_bounded() -> None:
    assert clean_label("  Foot   wear ", "category") == "Foot wear"
    for bad, why in [("", "empty"), ("x" * 101, "longer"), ("a\x00b", "not allowed"), ("..", "not allowed")]:
        with pytest.raises(LookalikeError, match=why):
            clean_label(bad, "product id")
    with pytest.raises(LookalikeError, match="not allowed"):
        clean_label("a/b", "product id")  # a slash would split the product's URL
    assert clean_label("a/b", "category") == "a/b"  # categories may nest


def test_browse_pages_cover_a_category_once_in_id_order_or_by_seed(demo_service) -> None:
    catalog = CatalogService(demo_service)
    category = max(demo_service.categories(), key=lambda c: demo_service.categories()[c])
    everything = [p.product_id for p in catalog.category_products(category)]
    assert everything == sorted(everything) and len(everything) >= 3
    pages, offset = [], 0
    while offset is not None:
        page = catalog.browse(category, offset, limit=2)
        pages += [p.product_id for p in page.products]
        offset = page.next_offset
    assert pages == everything
    first = catalog.browse(category, 0, limit=2, shuffle=True, seed=7)
    rest = catalog.browse(category, 2, limit=len(everything), shuffle=True, seed=first.seed)
    shuffled = [p.product_id for p in first.products + rest.products]
    assert sorted(shuffled) == everything  # every product once per seed, no repeats
    assert shuffled == [p.product_id for p in catalog.browse(category, 0, 100, shuffle=True, seed=7).products]
    with pytest.raises(LookalikeError, match="limit"):
        catalog.browse(category, 0, limit=0)
    with pytest.raises(NotFoundError, match="no category"):
        catalog.browse("nonexistent", 0)
