"""The photo and words tabs' shop controls and the "Other colours" gallery, on the real encoder and store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest

from lookalike import ui
from lookalike.config import Settings
from lookalike.result_shape import ResultShape
from lookalike.search import SearchService
from lookalike.shop_filter import FilterError
from lookalike.ui import regions as ui_regions
from lookalike.ui.shop import chosen_shape, other_colours

from ..test_shop_search import shop_catalog


@pytest.fixture(scope="module")
def shop_ui(tmp_path_factory, demo_catalog, encoder) -> Iterator[tuple[SearchService, Path]]:
    base = tmp_path_factory.mktemp("shop-ui")
    catalog = shop_catalog(demo_catalog, base / "catalog")
    svc = SearchService(Settings(data_dir=base / "data", qdrant_url=None, collection="shop"), encoder=encoder)
    svc.index(catalog)
    yield svc, catalog
    svc.close()


def test_photo_tab_filters_and_families(shop_ui) -> None:
    svc, catalog = shop_ui
    photo = str(catalog / "Hoodies" / "blue-hoodie-1.png")
    # (in stock, min, max, brand, families, diverse) as the controls hand them over
    _, ids, status, _ = ui_regions.search_photo_at(
        svc, photo, 10, None, ui_regions.WHERE_WHOLE, "", True, None, 45.0, "", False, False
    )
    assert ids and "blue-hoodie" not in ids and "**" in status
    assert all(svc.product(i)[0].offer.availability == "in_stock" for i in ids)
    items, ids, _, _ = ui_regions.search_photo_at(
        svc, photo, 4, None, ui_regions.WHERE_WHOLE, "", False, None, None, "", True, False
    )
    assert ids[0] == "blue-hoodie" and sum(i.endswith("hoodie") for i in ids) == 1
    assert items[0][1].startswith("1.00 · blue-hoodie · 45.00 EUR · out of stock · +3 colours")


def test_bad_price_range_warns_in_the_tab(shop_ui) -> None:
    svc, catalog = shop_ui
    photo = str(catalog / "Hoodies" / "blue-hoodie-1.png")
    with pytest.warns(UserWarning, match="reversed"):
        items, ids, status, _ = ui_regions.search_photo_at(
            svc, photo, 4, None, ui_regions.WHERE_WHOLE, "", False, 50.0, 10.0, "", False, False
        )
    assert items == [] and "reversed" in status


def test_words_tab_takes_the_shop_controls(shop_ui) -> None:
    svc, _ = shop_ui
    _, ids, _ = ui.search_words(svc, "shoe", 5, None, False, None, None, "Plim", False, True)
    assert set(ids) == {"yellow-plimsolls", "white-plimsolls"}


def test_other_colours_of_a_clicked_result(shop_ui) -> None:
    svc, _ = shop_ui
    items, status, opened = other_colours(svc, ["colored-parrot-cushion", "white-hoodie"], 1)
    assert [caption for _, caption in items] == [
        "black · 45.00",
        "blue · 45.00 · out of stock",
        "mustard · 39.00",
    ]
    assert "white-hoodie" in status and opened["open"] is True
    items, status, _ = other_colours(svc, ["colored-parrot-cushion"], 0)
    assert items == [] and "no other colours" in status


def test_chosen_shape_and_the_tabs_build(shop_ui) -> None:
    assert chosen_shape() == ResultShape(shop=None, families=False, diverse=False)
    shape = chosen_shape(True, 0, None, "  Acme ", True, False)
    assert shape.shop.brand == "Acme" and shape.families and not shape.diverse
    assert chosen_shape(False, " ", "12,50").shop.max_price == 12.5  # empty box: no bound
    with pytest.raises(FilterError, match="max price must be a number"):
        chosen_shape(False, "", "cheap")
    demo = ui.build_ui(shop_ui[0])
    ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert {"photo-in-stock", "photo-max-price", "words-brand", "photo-families", "other-colours"} <= ids
    assert isinstance(demo, gr.Blocks)
