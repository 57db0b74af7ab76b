"""Words without a joint image-text model: colours, ImageNet concepts and titles, fused — measured
against random on the demo catalog with the real models."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.errors import EncoderError, LookalikeError
from lookalike.search import SearchService
from lookalike.words import colours, concepts

# category → a shopper's word for it (not the folder name, not a title word where avoidable)
CATEGORY_WORDS = {
    "Footwear": "sneakers",
    "Hoodies": "sweatshirt",
    "Alcohol": "bottle of wine",
    "Homewares": "pillow",
    "T-shirts": "jersey",
}


def test_colour_words_are_parsed_with_synonyms() -> None:
    assert colours.parse("Navy hoodie") == (["navy"], "hoodie")
    assert colours.parse("gray and crimson sneakers") == (["grey", "red"], "and sneakers")
    assert colours.parse("dark blue coat") == (["navy"], "coat")
    assert colours.parse("hoodie") == ([], "hoodie")


def test_colour_histogram_sees_the_product_not_the_white_background() -> None:
    img = Image.new("RGB", (100, 100), (255, 255, 255))
    img.paste((200, 30, 40), (30, 30, 70, 70))
    hist = colours.histogram(img)
    assert colours.COLOURS[int(np.argmax(hist))] == "red"
    red, blue = colours.query_vector(["red"]), colours.query_vector(["blue"])
    assert hist @ red > 0.9 > hist @ blue


def test_words_map_onto_imagenet_classes() -> None:
    weights = concepts.query_vector("sneakers")
    assert weights is not None
    assert "running shoe" in concepts.class_names()[int(np.argmax(weights))]
    assert concepts.query_vector("qwxz zzkv") is None


def _precision_at(hits, category: str, k: int) -> float:
    return sum(h.product.category == category for h in hits[:k]) / k


def test_pixel_routes_beat_random_by_a_wide_margin(service: SearchService, catalog_copy: Path) -> None:
    """No titles at all (sidecar removed): only what the image model and the colours see."""
    (catalog_copy / "products.csv").unlink()
    service.index(catalog_copy)
    counts = service.categories()
    total = sum(counts.values())
    ours, chance = [], []
    for category, word in CATEGORY_WORDS.items():
        hits = service.search_text(word, top_k=3)
        ours.append(_precision_at(hits, category, 3))
        chance.append(counts[category] / total)
    assert np.mean(ours) >= 0.6 > 3 * np.mean(chance)


def test_text_search_with_titles_finds_the_product(demo_service: SearchService) -> None:
    hits = demo_service.search_text("yellow plimsolls", top_k=3)
    assert hits[0].product.product_id == "yellow-plimsolls"
    juices = demo_service.search_text("juice", top_k=5, category="Juices")
    assert juices and {h.product.category for h in juices} == {"Juices"}


def test_photo_plus_words_moves_results_towards_the_words(
    demo_service: SearchService, demo_catalog: Path
) -> None:
    photo = demo_catalog / "Hoodies" / "black-hoodie-1.png"
    plain = [h.product.product_id for h in demo_service.search_image(photo, top_k=3)]
    refined = [
        h.product.product_id for h in demo_service.search_combined(photo, "white", weight=0.6, top_k=3)
    ]
    assert plain[0] == "black-hoodie"
    assert refined[0] == "white-hoodie"


def test_bad_text_queries_and_missing_modalities_are_clear(
    demo_service: SearchService, tmp_path: Path
) -> None:
    with pytest.raises(LookalikeError, match="type some words"):
        demo_service.search_text("   ")
    with pytest.raises(LookalikeError, match="too long"):
        demo_service.search_text("x" * 501)
    with pytest.raises(LookalikeError, match="weight"):
        demo_service.search_combined(tmp_path / "x.png", "red", weight=2)
    with pytest.raises(EncoderError, match="does not embed audio"):
        demo_service.search_audio(tmp_path / "sound.wav")
    assert demo_service.text_mode == "words"


def test_cli_searches_by_words(demo_catalog: Path, settings, monkeypatch) -> None:
    from typer.testing import CliRunner

    from lookalike.cli import app

    monkeypatch.setenv("COLUMNS", "200")
    cat = settings.data_dir.parent / "cat"
    shutil.copytree(demo_catalog / "Footwear", cat / "Footwear")
    shutil.copytree(demo_catalog / "Juices", cat / "Juices")
    runner = CliRunner()
    assert runner.invoke(app, ["index", str(cat), "--no-progress"]).exit_code == 0
    res = runner.invoke(app, ["search", "--text", "running shoes", "-k", "2", "--json"])
    assert res.exit_code == 0, res.output
    assert "plimsolls" in res.output
    res = runner.invoke(app, ["search"])
    assert res.exit_code == 2 and "give a photo" in res.output


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("\x00\x07\x1b", "type some words"),  # control characters only: nothing at all once removed
        ("\u200b\u200d\ufeff", "type some words"),  # zero-width characters only
        ("?!… -- ...", "no letters or digits"),
        ("👟👟", "only symbols or emoji"),
        ("🔴 👕\u200d", "only symbols or emoji"),
        ("★ ✓ €", "only symbols or emoji"),
    ],
)
def test_text_with_no_words_is_refused_not_answered_with_arbitrary_hits(
    demo_service: SearchService, text: str, why: str
) -> None:
    with pytest.raises(LookalikeError, match=why):
        demo_service.search_text(text)
    with pytest.raises(LookalikeError, match=why):
        demo_service.search_combined(next(iter(demo_service.store.iter_points())).payload["path"], text)


def test_words_in_any_script_and_around_odd_characters_are_searched(demo_service: SearchService) -> None:
    for text in ("红色连帽衫", "chaussures jaunes à lacets", "Кроссовки", "٣", "red\x00hoodie\x07", "red 👕"):
        assert len(demo_service.search_text(text, top_k=3)) == 3, text
    # a control character splits words rather than gluing them: same results as the clean text
    assert [h.point_id for h in demo_service.search_text("yellow\x00shoes", top_k=5)] == [
        h.point_id for h in demo_service.search_text("yellow shoes", top_k=5)
    ]


def test_emoji_alone_are_accepted_where_the_encoder_reads_them(settings) -> None:
    """A joint model's CLIP tokenizer reads emoji; the rule is decided without loading any weights."""
    joint = SearchService(settings.model_copy(update={"encoder": "imagebind"}))
    assert joint.text_mode == "joint"
    assert joint._check_text("👟\x00👟") == "👟 👟"
    with pytest.raises(LookalikeError, match="no letters or digits"):
        joint._check_text("?!")
