"""CatalogService: what the front ends do to the catalog besides searching it — browse pages, product
views and their files, thumbnails, uploads, deletes and clean-ups. It sits beside SearchService (whose
store, encoder, settings and write lock it uses) and knows no UI.

Modules: `browsing` (pages, examples, views), `uploads` (add/replace/delete, bounded and serialised,
through ingest's write path), `leftovers` (`lookalike clean`), `files` (serving only indexed files,
thumbnails, the uploads folder), `naming` (slugs and labels from user input).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from lookalike.catalog_service import browsing, leftovers, uploads
from lookalike.catalog_service.browsing import BrowsePage, CatalogProduct
from lookalike.catalog_service.files import thumbnail, uploads_root
from lookalike.catalog_service.leftovers import Leftovers
from lookalike.catalog_service.naming import MAX_NAME_CHARS, clean_label, slugify
from lookalike.catalog_service.uploads import Added, AddReport, Progress
from lookalike.records import Product
from lookalike.shop_filter import ShopFilter

if TYPE_CHECKING:
    from collections.abc import Sequence

    from lookalike.search import SearchService

__all__ = [
    "MAX_NAME_CHARS",
    "AddReport",
    "Added",
    "BrowsePage",
    "CatalogProduct",
    "CatalogService",
    "Leftovers",
    "clean_label",
    "slugify",
]


class CatalogService:
    """The catalog operations of one SearchService (one index)."""

    def __init__(self, search: SearchService):
        self.search = search

    @property
    def uploads_root(self) -> Path:
        """data_dir/uploads: the only folder lookalike writes images to or deletes them from."""
        return uploads_root(self.search.settings)

    # -- reading -----------------------------------------------------------------------------------
    def browse(
        self,
        category: str,
        offset: int = 0,
        limit: int = 24,
        *,
        shuffle: bool = False,
        seed: int | None = None,
        shop: ShopFilter | None = None,
    ) -> BrowsePage:
        return browsing.browse(self.search, category, offset, limit, shuffle=shuffle, seed=seed, shop=shop)

    def category_products(self, category: str) -> list[CatalogProduct]:
        return browsing.category_products(self.search, category)

    def examples(self, per_category: int = 1) -> list[Product]:
        return browsing.examples(self.search, per_category)

    def product_views(self, product_id: str) -> list[tuple[str, Product]]:
        return browsing.product_views(self.search, product_id)

    def product_image_path(self, product_id: str, view: int = 0, point: str | None = None) -> Path:
        return browsing.product_image_path(self.search, product_id, view=view, point=point)

    def thumbnail(self, product: Product, size: int = 256) -> Image.Image:
        return thumbnail(self.search.settings, product, size)

    # -- writing -----------------------------------------------------------------------------------
    def add_images(
        self,
        files: Sequence[tuple[str, bytes]],
        category: str,
        *,
        product_id: str | None = None,
        title: str | None = None,
        replace: bool = False,
        all_or_nothing: bool = False,
        progress: Progress | None = None,
    ) -> AddReport:
        return uploads.add_images(
            self.search,
            files,
            category,
            product_id=product_id,
            title=title,
            replace=replace,
            all_or_nothing=all_or_nothing,
            progress=progress,
        )

    def delete_product(self, product_id: str) -> int:
        return uploads.delete_product(self.search, product_id)

    def find_leftovers(self) -> Leftovers:
        return leftovers.find_leftovers(self.search)

    def clean(self, *, apply: bool = False) -> Leftovers:
        return leftovers.clean(self.search, apply=apply)
