"""Scanning rules: which files count, their categories, product ids and point ids."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from lookalike.catalog import CategoryRule, point_id, scan
from lookalike.errors import CatalogError


def _img(path: Path, colour=(200, 10, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), colour).save(path, format="PNG")
    return path


def test_suffixes_any_case_hidden_skipped_non_images_ignored(tmp_path: Path) -> None:
    for name in ["a.PNG", "b.jpg", "c.JpEg", "d.webp", "e.gif", "f.BMP"]:
        _img(tmp_path / "Shoes" / name)
    (tmp_path / "Shoes" / "notes.txt").write_text("x")
    _img(tmp_path / "Shoes" / ".hidden.png")
    _img(tmp_path / ".cache" / "x.png")
    files = scan(tmp_path)
    assert [f.rel_path for f in files] == [
        f"Shoes/{n}" for n in ["a.PNG", "b.jpg", "c.JpEg", "d.webp", "e.gif", "f.BMP"]
    ]


def test_category_rules(tmp_path: Path) -> None:
    _img(tmp_path / "Footwear_Women" / "Sneakers" / "red.png")
    _img(tmp_path / "loose.png")
    by_rule = {
        mode: {f.rel_path: f.category for f in scan(tmp_path, CategoryRule(mode=mode))}
        for mode in ("path", "top", "parent")
    }
    assert by_rule["path"]["Footwear_Women/Sneakers/red.png"] == "Footwear Women / Sneakers"
    assert by_rule["top"]["Footwear_Women/Sneakers/red.png"] == "Footwear Women"
    assert by_rule["parent"]["Footwear_Women/Sneakers/red.png"] == "Sneakers"
    assert by_rule["path"]["loose.png"] == "Uncategorized"


def test_product_id_from_file_name_or_sidecar(tmp_path: Path) -> None:
    _img(tmp_path / "Shoes" / "sku-123.png")
    _img(tmp_path / "Shoes" / "view-2.png")
    (tmp_path / "products.csv").write_text(
        "path,product_id,title,category\nShoes/view-2.png,sku-123,Red Sneaker,Sale\n", encoding="utf-8"
    )
    files = {f.rel_path: f for f in scan(tmp_path)}
    assert files["Shoes/sku-123.png"].product_id == "sku-123"
    assert files["Shoes/view-2.png"].product_id == "sku-123"
    assert files["Shoes/view-2.png"].title == "Red Sneaker"
    assert files["Shoes/view-2.png"].category == "Sale"


def test_json_sidecar(tmp_path: Path) -> None:
    _img(tmp_path / "Bags" / "b.png")
    (tmp_path / "products.json").write_text(json.dumps([{"path": "Bags/b.png", "product_id": "bag-1"}]))
    assert scan(tmp_path)[0].product_id == "bag-1"


def test_broken_sidecar_is_a_clear_error(tmp_path: Path) -> None:
    _img(tmp_path / "Bags" / "b.png")
    (tmp_path / "products.json").write_text("{not json")
    with pytest.raises(CatalogError, match="products.json"):
        scan(tmp_path)


def test_empty_missing_and_file_roots_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(CatalogError, match="no product images"):
        scan(tmp_path / "empty")
    with pytest.raises(CatalogError, match="no such folder"):
        scan(tmp_path / "nope")
    with pytest.raises(CatalogError, match="is a file"):
        scan(tmp_path / "empty" / "readme.txt")


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    _img(tmp_path / "Shoes" / "a.png")
    os.symlink(tmp_path, tmp_path / "Shoes" / "loop")
    assert [f.rel_path for f in scan(tmp_path)] == ["Shoes/a.png"]


def test_point_ids_are_deterministic_and_distinct() -> None:
    assert point_id("Shoes/a.png") == point_id("Shoes/a.png")
    assert point_id("Shoes/a.png") != point_id("Shoes/b.png")


def test_same_file_name_in_two_folders_is_two_products(tmp_path: Path) -> None:
    _img(tmp_path / "Shoes" / "001.png")
    _img(tmp_path / "Bags" / "001.png")
    _img(tmp_path / "Bags" / "002.png")
    ids = {f.rel_path: f.product_id for f in scan(tmp_path)}
    assert ids == {"Bags/001.png": "Bags/001", "Bags/002.png": "002", "Shoes/001.png": "Shoes/001"}
