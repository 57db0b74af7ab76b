"""End to end: the web UI in real headless Chromium (Playwright, sync API) over the real demo index.

Marked `browser` (deselect with -m "not browser"); skipped when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookalike import ui
from lookalike.search import SearchService

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (Debian package 'chromium')"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ui_url(demo_service: SearchService) -> Iterator[str]:
    """The UI served on a free loopback port by Gradio's background server thread."""
    port = free_port()
    demo = ui.launch_ui(demo_service, "127.0.0.1", port, block=False, page_size=3)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, ui_url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.goto(ui_url, wait_until="domcontentloaded")
    pg.wait_for_selector("#examples .caption-label")  # the page has loaded its categories and examples
    yield pg
    context.close()


def captions(page, gallery: str) -> list[str]:
    return page.locator(f"#{gallery} .caption-label").all_inner_texts()


def wait_for_text(page, selector: str, pattern: str) -> str:
    """Wait until the element's text matches `pattern`; returns that text."""
    sync_api.expect(page.locator(selector)).to_have_text(re.compile(pattern), timeout=TIMEOUT_MS)
    return page.inner_text(selector)


def test_photo_search_browse_and_shuffle(page, demo_catalog: Path, tmp_path: Path) -> None:
    # Search by photo: upload a demo image, the gallery shows that product first.
    page.set_input_files(
        "#query-image input[type=file]", str(demo_catalog / "Footwear" / "yellow-plimsolls-2.png")
    )
    wait_for_text(page, "#photo-status", r"look like your photo")
    results = captions(page, "photo-results")
    assert results[0].startswith("1.00 · yellow-plimsolls"), results
    assert len(results) == ui.DEFAULT_TOP_K

    # Clicking a result runs "more like this" from it.
    second = results[1].split(" · ")[1]
    page.locator("#photo-results .thumbnail-item").nth(1).click()
    wait_for_text(page, "#photo-status", rf"like {re.escape(second)}")
    assert second not in [c.split(" · ")[1] for c in captions(page, "photo-results")]

    # Browse: pick a category, shuffle twice, see different products.
    page.get_by_role("tab", name="Browse a category").click()
    page.locator("#browse-category input").click()
    page.get_by_role("option", name="Juices", exact=True).click()
    wait_for_text(page, "#browse-status", r"Juices.*1–3 of 6")
    page.locator("#shuffle-button").click()
    wait_for_text(page, "#browse-status", r"shuffled: 3 of 6")
    first = captions(page, "browse-results")
    page.locator("#shuffle-button").click()
    wait_for_text(page, "#browse-status", r"shuffled: 6 of 6")
    second_page = captions(page, "browse-results")
    assert len(first) == len(second_page) == 3
    assert not set(first) & set(second_page), (first, second_page)

    shot = tmp_path / "lookalike-ui.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_a_file_that_is_not_an_image_gets_a_clear_message(page, tmp_path: Path) -> None:
    junk = tmp_path / "holiday.png"
    junk.write_bytes(b"this is a text file with a .png name")
    page.set_input_files("#query-image input[type=file]", str(junk))
    toast = page.get_by_text(ui.NOT_AN_IMAGE).first
    sync_api.expect(toast).to_be_visible(timeout=TIMEOUT_MS)
    assert "Traceback" not in page.content()


def test_a_box_drawn_with_two_clicks_is_searched_and_shown(page, demo_catalog: Path, tmp_path: Path) -> None:
    """A scene photo: two clicks on the photo make a box, the search re-runs on it, and the searched
    region is drawn on the photo. Saves a screenshot (LOOKALIKE_SCREENSHOT_DIR keeps it, for the README)."""
    import os

    from lookalike.catalog import scan
    from lookalike.eval import augment, scenes

    files = scan(demo_catalog)
    query = scenes.queries(len(files), "single", seed=3)[0]
    scene = scenes.render(query, [augment.open_rgba(f.path) for f in files])
    photo = tmp_path / "shelf.png"
    scene.image.save(photo)
    truth = files[scene.products[0].source].product_id
    page.set_input_files("#query-image input[type=file]", str(photo))
    # the automatic search of the whole scene answers first (this scene's wine bottle is one that
    # localisation misses: "we don't seem to carry this"); the box drawn next is what is tested
    wait_for_text(page, "#photo-status", r"look like your photo|seem to carry")

    img = page.locator("#query-image img").first
    shown = img.bounding_box()
    assert shown is not None
    width, height = scene.image.size
    scale = min(shown["width"] / width, shown["height"] / height)
    left = shown["x"] + (shown["width"] - width * scale) / 2
    top = shown["y"] + (shown["height"] - height * scale) / 2
    x, y, w, h = scene.products[0].box
    page.mouse.click(left + (x + 2) * scale, top + (y + 2) * scale)
    wait_for_text(page, "#photo-status", r"opposite corner")
    page.mouse.click(left + (x + w - 2) * scale, top + (y + h - 2) * scale)
    wait_for_text(page, "#photo-status", r"best match found at")
    box = page.locator("#query-box textarea, #query-box input").first.input_value()
    bx, by, bw, bh = (int(v) for v in box.split(","))
    assert abs(bx - x) <= 8 and abs(by - y) <= 8 and abs(bw - w) <= 12 and abs(bh - h) <= 12, box
    assert captions(page, "photo-results")[0].split(" · ")[1] == truth
    sync_api.expect(page.locator("#searched img").first).to_be_visible(timeout=TIMEOUT_MS)

    keep = os.environ.get("LOOKALIKE_SCREENSHOT_DIR")
    shot = Path(keep) / "ui-region.png" if keep else tmp_path / "ui-region.png"
    page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": 1400, "height": 1150})
    assert shot.stat().st_size > 10_000
