"""The functions behind each tab of the web UI, called directly on the real encoder and Edge store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gradio as gr
import pytest
from gradio.data_classes import ImageData
from PIL import Image

from lookalike import ui
from lookalike.config import Settings
from lookalike.encoders import Encoder
from lookalike.search import SearchService


def test_category_choices_come_from_the_index(demo_service: SearchService) -> None:
    choices = ui.category_choices(demo_service)
    assert choices[0] == ui.ALL_CATEGORIES
    assert choices[1:] == list(demo_service.categories()) and len(choices) == 9


def test_build_ui_labels_how_words_are_matched(demo_service: SearchService) -> None:
    demo = ui.build_ui(demo_service)
    assert isinstance(demo, gr.Blocks)
    blocks = {getattr(b, "elem_id", None): b for b in demo.blocks.values()}
    for elem in ("words-note", "combined-note"):
        text = blocks[elem].value
        assert "pixels only" in text and "titles" in text and "efficientnet" in text
    tabs = [b.label for b in demo.blocks.values() if isinstance(b, gr.Tab)]
    assert tabs == ["Search by photo", "Search by words", "Photo + words", "Browse a category", "Catalog"]


# -- search by photo ------------------------------------------------------------------------------------
def test_search_photo_shows_the_product_first(demo_service: SearchService, demo_catalog: Path) -> None:
    items, ids, status = ui.search_photo(
        demo_service, str(demo_catalog / "Hoodies" / "black-hoodie-1.png"), 5, None
    )
    assert ids[0] == "black-hoodie" and len(ids) == 5
    image, caption = items[0]
    assert isinstance(image, Image.Image) and max(image.size) <= 256
    assert caption.startswith("1.00 · black-hoodie")  # the score first: never cut off
    assert "**5**" in status


def test_search_photo_category_filter(demo_service: SearchService, demo_catalog: Path) -> None:
    path = str(demo_catalog / "Hoodies" / "black-hoodie-1.png")
    items, ids, _ = ui.search_photo(demo_service, path, 3, "Paints")
    assert len(ids) == 3 and all(demo_service.product(pid)[0].category == "Paints" for pid in ids)
    assert all(caption.split(" · ")[1] == pid for (_, caption), pid in zip(items, ids, strict=True))
    items, ids, _ = ui.search_photo(demo_service, path, 3, ui.ALL_CATEGORIES)
    assert ids[0] == "black-hoodie"


def test_search_photo_without_a_photo_asks_for_one(demo_service: SearchService) -> None:
    items, ids, status = ui.search_photo(demo_service, None, 5, None)
    assert items == [] and ids == [] and "Add a photo" in status


@pytest.mark.parametrize(
    ("data", "words"),
    [(None, "corrupt"), (b"plain text", "not an image"), (b"", "empty")],
    ids=["corrupt", "text", "empty"],
)
def test_search_photo_bad_files_warn_clearly(
    demo_service: SearchService,
    tmp_path: Path,
    make_png: Callable[..., bytes],
    data: bytes | None,
    words: str,
) -> None:
    bad = tmp_path / "photo.png"
    bad.write_bytes(make_png()[:70] if data is None else data)  # None: a PNG cut off after 70 bytes
    with pytest.warns(UserWarning, match=words):
        items, ids, status = ui.search_photo(demo_service, str(bad), 5, None)
    assert items == [] and ids == []
    assert status.startswith("⚠") and words in status and "Traceback" not in status


def test_search_photo_too_large_warns(
    tmp_path: Path, encoder: Encoder, write_png: Callable[..., Path]
) -> None:
    svc = SearchService(Settings(data_dir=tmp_path / "data", max_image_bytes=1_000), encoder=encoder)
    big = write_png(tmp_path / "big.png", size=400)
    with pytest.warns(UserWarning, match="over the limit"):
        _, _, status = ui.search_photo(svc, str(big), 5, None)
    assert "big.png" in status and str(tmp_path) not in status  # the file's name, not a server path
    svc.close()


def test_search_photo_unknown_category_warns(demo_service: SearchService, demo_catalog: Path) -> None:
    with pytest.warns(UserWarning, match="no category"):
        _, _, status = ui.search_photo(
            demo_service, str(demo_catalog / "Paints" / "red-dwarf-red-paint-1.png"), 5, "Hats"
        )
    assert "Hats" in status


def test_more_like_this_from_a_clicked_result(demo_service: SearchService, demo_catalog: Path) -> None:
    _, ids, _ = ui.search_photo(demo_service, str(demo_catalog / "Juices" / "green-juice-1.png"), 6, None)
    items, new_ids, status = ui.more_like_this(demo_service, ids, 1, 6, None)
    assert ids[1] not in new_ids and len(new_ids) == 6
    assert ids[1] in status
    assert items[0][1].split(" · ")[1] == new_ids[0]
    assert "Click a product" in ui.more_like_this(demo_service, ids, 99, 6, None)[2]


def test_examples_one_per_category_and_clickable(demo_service: SearchService) -> None:
    items, ids = ui.example_gallery(demo_service)
    assert len(ids) == 8 and len(set(ids)) == 8
    assert [caption for _, caption in items] == ids
    image, results, hit_ids, status = ui.run_example(demo_service, ids, 2, 4, None)
    assert isinstance(image, Image.Image)
    assert hit_ids[0] == ids[2] and len(results) == 4


# -- words ----------------------------------------------------------------------------------------------
def test_word_tabs_search_with_the_image_only_encoder(
    demo_service: SearchService, demo_catalog: Path
) -> None:
    items, ids, status = ui.search_words(demo_service, "yellow plimsolls", 5, None)
    assert items and ids[0] == "yellow-plimsolls" and not status.startswith("⚠")
    items, ids, status = ui.search_photo_words(
        demo_service, str(demo_catalog / "Hoodies" / "black-hoodie-1.png"), "white", 0.6, 3, None
    )
    assert ids[0] == "white-hoodie"
    with pytest.warns(UserWarning, match="type some words"):
        items, _, status = ui.search_words(demo_service, "  ", 5, None)
    assert items == [] and status.startswith("⚠")


# -- browse ---------------------------------------------------------------------------------------------
def test_browse_pages_in_id_order(demo_service: SearchService) -> None:
    items, ids, status, page = ui.browse_page(demo_service, "Juices", 0, 4)
    assert page == 0 and len(ids) == 4 and ids == sorted(ids)
    assert "1–4 of 6" in status and "page 1 of 2" in status
    _, ids2, status2, page2 = ui.browse_page(demo_service, "Juices", 1, 4)
    assert page2 == 1 and len(ids2) == 2 and not set(ids) & set(ids2)
    assert ui.browse_page(demo_service, "Juices", 7, 4)[3] == 1  # clamped to the last page
    assert ui.browse_page(demo_service, "Juices", -2, 4)[3] == 0
    assert items[0][1].endswith("photo(s)")
    assert ui.browse_page(demo_service, ui.ALL_CATEGORIES, 0, 4)[2] == "Pick a category."


def test_browse_unknown_category_warns(demo_service: SearchService) -> None:
    with pytest.warns(UserWarning, match="no category"):
        assert ui.browse_page(demo_service, "../../etc", 0, 4)[1] == []


def test_shuffle_shows_new_products_until_the_category_is_exhausted(demo_service: SearchService) -> None:
    state: dict = {}
    seen: list[str] = []
    for _ in range(3):  # Juices: 6 products, 2 per press → 3 presses, all different
        _, ids, status, state = ui.shuffle_page(demo_service, "Juices", state, 2)
        assert len(ids) == 2
        seen += ids
    assert len(set(seen)) == 6 and "all of them" in status
    _, ids, status, state = ui.shuffle_page(demo_service, "Juices", state, 2)  # a new order starts
    assert len(ids) == 2 and "2 of 6" in status
    _, ids, _, state = ui.shuffle_page(demo_service, "Paints", state, 2)  # another category starts afresh
    paints = {
        h.product.product_id for h in demo_service.search_vector(_any_vector(demo_service), 50, "Paints")
    }
    assert state["category"] == "Paints" and len(ids) == 2 and set(ids) <= paints


def _any_vector(service: SearchService):
    return service.embed_image(Image.new("RGB", (32, 32), (128, 128, 128)))


# -- catalog --------------------------------------------------------------------------------------------
def test_catalog_overview_lists_what_is_indexed(demo_service: SearchService) -> None:
    text = ui.catalog_overview(demo_service)
    assert "efficientnet-lite0" in text and "1280-d" in text and "words via titles" in text
    assert demo_service.info().location in text
    assert "**45** images" in text and "| Footwear | 8 |" in text and "| Polo Shirts | 4 |" in text


def test_add_to_catalog_saves_safely_and_indexes(
    service: SearchService, tmp_path: Path, demo_catalog: Path, write_png: Callable[..., Path]
) -> None:
    upload_dir = tmp_path / "gradio-upload"
    upload_dir.mkdir()
    shoe = upload_dir / "My Shoe (1).PNG"
    shoe.write_bytes((demo_catalog / "Footwear" / "white-plimsolls-1.png").read_bytes())
    mug = write_png(upload_dir / "mug.png", (10, 10, 200))
    bad = upload_dir / "notes.png"
    bad.write_text("not a picture")
    calls: list[tuple] = []

    with pytest.warns(UserWarning, match="notes.png"):
        status = ui.add_to_catalog(
            service,
            [str(shoe), str(mug), str(bad)],
            "../../Shoes & <b>Mugs</b>",
            progress=lambda *a, **k: calls.append(a[0]),
        )
    assert "Added **2** image(s)" in status and "notes.png" in status and "<b>" not in status
    assert calls[0] == (0, 2) and calls[-1] == (2, 2)

    uploads = (service.settings.data_dir / "uploads").resolve()
    saved = sorted(p.relative_to(uploads).as_posix() for p in uploads.rglob("*") if p.is_file())
    assert len(saved) == 2
    assert all(s.startswith("shoes-b-mugs-b/") for s in saved)
    assert any(s.startswith("shoes-b-mugs-b/my-shoe-1-") and s.endswith(".png") for s in saved)

    assert "../../Shoes & <b>Mugs</b>" in ui.category_choices(service)
    _, ids, _ = ui.search_photo(service, str(shoe), 2, None)
    assert ids[0] == "my-shoe-1"


def test_add_to_catalog_as_views_of_one_product(
    service: SearchService, tmp_path: Path, write_png: Callable[..., Path]
) -> None:
    files = [str(write_png(tmp_path / f"view{i}.png", (40 * i, 90, 90))) for i in range(3)]
    status = ui.add_to_catalog(service, files, "Mugs", product_id="big-mug")
    assert "Added **3** image(s)" in status and "big-mug" in status
    assert len(service.product("big-mug")) == 3


@pytest.mark.parametrize(
    ("files", "category", "words"),
    [
        (None, "Mugs", "Choose one or more"),
        ([], "Mugs", "Choose one or more"),
        (["x"], "", "Pick a category"),
    ],
)
def test_add_to_catalog_needs_files_and_a_category(
    service: SearchService, files: list[str] | None, category: str, words: str
) -> None:
    with pytest.warns(UserWarning, match=words):
        assert words in ui.add_to_catalog(service, files, category)


def test_add_to_catalog_refuses_too_large_files(
    tmp_path: Path, encoder: Encoder, write_png: Callable[..., Path]
) -> None:
    svc = SearchService(Settings(data_dir=tmp_path / "data", max_upload_bytes=2_000), encoder=encoder)
    big = write_png(tmp_path / "big.png", size=600)
    big.write_bytes(big.read_bytes() + b"\0" * 3_000)
    with pytest.warns(UserWarning, match="big.png"):
        status = ui.add_to_catalog(svc, [str(big)], "Mugs")
    assert "larger than the limit" in status and "Added" not in status
    assert not (tmp_path / "data" / "uploads").exists()
    svc.close()


# -- the photo input's own decoding -------------------------------------------------------------------
def test_unreadable_upload_is_a_clear_gradio_error(
    demo_service: SearchService, tmp_path: Path, make_png: Callable[..., bytes]
) -> None:
    demo = ui.build_ui(demo_service)
    image_input = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "query-image")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x00\x01 definitely not a png")
    with pytest.raises(gr.Error) as info:
        image_input.preprocess(ImageData(path=str(junk), orig_name="junk.png"))
    assert info.value.message == ui.NOT_AN_IMAGE
    good = tmp_path / "good.png"
    good.write_bytes(make_png(size=8))
    assert image_input.preprocess(ImageData(path=str(good), orig_name="good.png")) == str(good)


def test_markdown_escaping_keeps_user_text_inert() -> None:
    out = ui.md("<script>alert(1)</script> *bold* [x](http://e.vil) | pipe")
    assert "<script>" not in out and "\\*bold\\*" in out and "\\[x\\]" in out and "\\|" in out


def test_sound_search_needs_an_encoder_with_audio(demo_service: SearchService, tmp_path: Path) -> None:
    assert ui.search_sound(demo_service, None, 5, None)[2].startswith("Record or upload")
    with pytest.warns(UserWarning, match="does not embed audio"):
        items, _, status = ui.search_sound(demo_service, str(tmp_path / "coffee.wav"), 5, None)
    assert items == [] and "imagebind" in status
    tabs = [b.label for b in ui.build_ui(demo_service).blocks.values() if isinstance(b, gr.Tab)]
    assert "Search by sound" not in tabs  # offered only where the encoder hears


# -- regions in the photo tab ----------------------------------------------------------------------------
def test_two_clicks_make_a_box_and_the_box_is_searched(
    demo_service: SearchService, demo_catalog: Path
) -> None:
    from lookalike.ui import regions as ui_regions

    text, pending, where, note = ui_regions.click_corner(None, [300, 40])
    assert text is None and pending == [300, 40] and where is None and "opposite corner" in note
    text, pending, where, _ = ui_regions.click_corner(pending, [20, 250])
    assert text == "20,40,280,210" and pending is None and where == ui_regions.WHERE_BOX
    photo = str(demo_catalog / "Hoodies" / "black-hoodie-1.png")
    items, ids, status, drawn = ui_regions.search_photo_at(
        demo_service, photo, 3, None, ui_regions.WHERE_BOX, "0.1,0.1,0.8,0.8"
    )
    assert ids[0] == "black-hoodie" and "x,y,w,h" in status
    image, boxes = drawn
    assert len(boxes) == 1 and boxes[0][1] == "searched"
    _, _, status, drawn = ui_regions.search_photo_at(demo_service, photo, 3, None, ui_regions.WHERE_BOX, "")
    assert "corners" in status and drawn is None
    _, _, status, _ = ui_regions.search_photo_at(
        demo_service, photo, 3, None, ui_regions.WHERE_BOX, "0,0,0,1"
    )
    assert "empty" in status  # a bad box is a clear message, never a traceback
    _, ids, _, drawn = ui_regions.search_photo_at(demo_service, photo, 3, None, ui_regions.WHERE_WHOLE, "")
    assert ids[0] == "black-hoodie" and drawn[1] == []


def test_every_product_in_a_photo(demo_service: SearchService, demo_catalog: Path) -> None:
    from lookalike.ui import regions as ui_regions

    photo = str(demo_catalog / "Hoodies" / "black-hoodie-1.png")
    items, ids, status, drawn = ui_regions.products_in_photo(demo_service, photo, 4, None)
    assert "found in your photo" in status and items and len(items) == len(ids)
    assert all(caption.startswith("product ") for _, caption in items)
    assert len(drawn[1]) >= 1
