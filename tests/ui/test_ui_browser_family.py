"""End to end in headless Chromium: the photo tab's shop filters, one result per family, "Other colours".

Runs over the demo index, whose catalog carries made-up shop columns (lookalike demo-data). Saves a
screenshot (LOOKALIKE_SCREENSHOT_DIR keeps it, for the README's docs/ui-family.png).
"""

from __future__ import annotations

import os
from pathlib import Path

from .test_ui_browser import (  # noqa: F401 - fixtures and marks shared with the other browser tests
    browser,
    captions,
    page,
    pytestmark,
    ui_url,
    wait_for_text,
)


def test_families_and_other_colours(page, demo_catalog: Path, tmp_path: Path) -> None:  # noqa: F811
    page.locator("#photo-shop").get_by_text("Shop filters").click()
    page.locator("#photo-families input[type=checkbox]").check()
    page.locator("#photo-in-stock input[type=checkbox]").check()
    page.set_input_files(
        "#query-image input[type=file]", str(demo_catalog / "Hoodies" / "white-hoodie-1.png")
    )
    status = wait_for_text(page, "#photo-status", r"look like your photo")
    results = captions(page, "photo-results")
    assert results, status
    ids = [c.split(" · ")[1] for c in results]
    assert ids[0] == "white-hoodie" and "+2 colours" in results[0], results  # blue is out of stock
    assert sum(i.endswith("-hoodie") for i in ids) == 1 and sum(i.endswith("-plimsolls") for i in ids) <= 1
    assert not any("out of stock" in c for c in results), results

    page.locator("#photo-results .thumbnail-item").first.click()
    wait_for_text(page, "#colours-status", r"Other colours of")
    wait_for_text(page, "#photo-status", r"like")
    like = captions(page, "photo-results")  # more like this keeps the tab's filters and families
    assert like and not any("out of stock" in c for c in like), like
    assert sum(c.split(" · ")[1].endswith("-hoodie") for c in like) <= 1, like
    colours = captions(page, "other-colours")
    assert sorted(c.split(" · ")[0] for c in colours) == ["black", "blue", "mustard"], colours
    assert any(c.startswith("blue") and "out of stock" in c for c in colours), colours  # shown, marked
    page.locator("#other-colours").scroll_into_view_if_needed()

    keep = os.environ.get("LOOKALIKE_SCREENSHOT_DIR")
    shot = Path(keep) / "ui-family.png" if keep else tmp_path / "ui-family.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_a_reversed_price_range_is_explained(page, demo_catalog: Path) -> None:  # noqa: F811
    page.locator("#photo-shop").get_by_text("Shop filters").click()
    page.locator("#photo-min-price textarea, #photo-min-price input").first.fill("50")
    page.locator("#photo-max-price textarea, #photo-max-price input").first.fill("10")
    page.set_input_files(
        "#query-image input[type=file]", str(demo_catalog / "Hoodies" / "white-hoodie-1.png")
    )
    wait_for_text(page, "#photo-status", r"reversed")
    assert "Traceback" not in page.content()
