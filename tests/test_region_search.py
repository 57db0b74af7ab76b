"""Finding the product inside a shopper's photo, through SearchService: automatic localisation, an
explicit box, "products in this photo", bad boxes. Real encoder, real embedded store, real scenes."""

from __future__ import annotations

import pytest

from lookalike.catalog import scan
from lookalike.eval import augment, scenes
from lookalike.regions import Box, RegionError
from lookalike.search import MAX_REGIONS


@pytest.fixture(scope="module")
def photos(demo_catalog):
    files = scan(demo_catalog)
    return files, [augment.open_rgba(f.path) for f in files]


def _scene(photos, kind: str, n: int):
    files, images = photos
    for q in scenes.queries(len(files), kind, seed=3)[:n]:
        yield scenes.render(q, images), [files[i].product_id for i in q.sources]


def test_auto_region_finds_products_in_scenes_and_says_where(demo_service, photos) -> None:
    found_auto = found_whole = 0
    for scene, (truth,) in _scene(photos, "single", 8):
        auto = demo_service.search_image(scene.image, top_k=5)
        whole = demo_service.search_image(scene.image, top_k=5, region="whole")
        found_auto += auto[0].product.product_id == truth
        found_whole += whole[0].product.product_id == truth
        assert all(h.region is None for h in whole)
        if auto[0].region is not None:  # the winning region lies inside the photo
            auto[0].region.check(scene.image.size)
    assert found_auto >= found_whole and found_auto >= 6


def test_an_explicit_box_searches_that_part_and_is_reported(demo_service, photos) -> None:
    scene, (truth,) = next(_scene(photos, "single", 1))
    x, y, w, h = scene.products[0].box
    hits = demo_service.search_image(scene.image, top_k=3, region=f"{x},{y},{w},{h}")
    assert hits[0].product.product_id == truth
    assert hits[0].region == Box(x, y, w, h)
    W, H = scene.image.size
    as_fractions = f"{x / W:.4f},{y / H:.4f},{w / W:.4f},{h / H:.4f}"
    assert demo_service.search_image(scene.image, top_k=3, region=as_fractions)[0].product.product_id == truth


def test_each_product_of_a_photo_is_found_in_its_own_region(demo_service, photos) -> None:
    """2–3 products side by side: the region over each product (IoU ≥ 0.2 with its true box) has it in
    its top 5, for nearly every product of 6 scenes (one miss allowed: 15 products in all)."""
    found = total = 0
    for scene, truth in _scene(photos, "multi", 6):
        groups = demo_service.search_regions(scene.image, max_products=3, top_k=5)
        for placed, pid in zip(scene.products, truth, strict=True):
            own = max(groups, key=lambda g: g.region.iou(Box(*placed.box)))
            found += own.region.iou(Box(*placed.box)) >= 0.2 and pid in [
                h.product.product_id for h in own.hits
            ]
            total += 1
    assert total >= 12 and found >= total - 1


def test_colour_similarity_comes_from_the_stored_histograms(demo_service, photos) -> None:
    """What re-ranks a region's hits: a product's own colours score ≈ 1, another colour of the same
    hoodie lower; a product the region index has not seen yet gets no colour (its score stays)."""
    from lookalike.words import colours

    files, images = photos
    by_id = {f.product_id: img for f, img in zip(files, images, strict=True)}
    index = demo_service.region_index()
    for pid in ("blue-hoodie", "white-hoodie"):  # the index knows a product once a search returned it
        index.search(demo_service.encoder.embed_images([by_id[pid]])[0], 3)
    own = colours.histogram(demo_service.encoder.prepare(by_id["blue-hoodie"]))
    [sims] = index.colours_many([own], [["blue-hoodie", "white-hoodie", "not-seen"]])
    assert sims["blue-hoodie"] == pytest.approx(1.0, abs=1e-3)
    assert sims["white-hoodie"] < 0.8 and "not-seen" not in sims


def test_products_in_this_photo_gives_one_group_per_region(demo_service, photos) -> None:
    scene, truth = next(_scene(photos, "multi", 1))
    groups = demo_service.search_regions(scene.image, max_products=3, top_k=5)
    assert 1 <= len(groups) <= 3
    boxes = [g.region for g in groups]
    assert all(a.iou(b) < 0.3 for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    found = {h.product.product_id for g in groups for h in g.hits}
    assert found & set(truth)  # at least one product of the scene is among the groups' hits
    with pytest.raises(Exception, match=f"between 1 and {MAX_REGIONS}"):
        demo_service.search_regions(scene.image, max_products=MAX_REGIONS + 1)


@pytest.mark.parametrize(
    ("box", "why"),
    [
        ("10,10,5000,10", "outside"),
        ("0,0,0,10", "empty"),
        ("-1,0,10,10", "negative"),
        ("nan,0,10,10", "four numbers|ordinary numbers"),
        ("1,2,3", "four numbers"),
        ("a,b,c,d", "four numbers"),
    ],
)
def test_bad_boxes_are_refused_with_a_reason(demo_service, photos, box: str, why: str) -> None:
    scene, _ = next(_scene(photos, "single", 1))
    with pytest.raises(RegionError, match=why):
        demo_service.search_image(scene.image, region=box)


def test_clean_photos_and_words_still_work_with_localisation(demo_service, demo_catalog) -> None:
    photo = next(demo_catalog.rglob("*.png"))
    truth = scan(demo_catalog)
    pid = next(f.product_id for f in truth if f.path == photo)
    assert demo_service.search_image(photo, top_k=3)[0].product.product_id == pid
    combined = demo_service.search_combined(photo, "white", weight=0.3, top_k=3)
    whole = demo_service.search_combined(photo, "white", weight=0.3, top_k=3, region="whole")
    assert combined[0].product.product_id == whole[0].product.product_id  # a clean photo: same answer


def test_cli_finds_the_region_takes_a_box_and_lists_products_in_a_photo(
    demo_service, photos, tmp_path, monkeypatch
) -> None:
    from typer.testing import CliRunner

    from lookalike.cli import app

    monkeypatch.setenv("LOOKALIKE_DATA_DIR", str(demo_service.settings.data_dir))
    monkeypatch.setenv("COLUMNS", "250")
    demo_service.close()  # the CLI opens the same index: one process, one owner at a time
    scene, (truth,) = next(_scene(photos, "single", 1))
    path = tmp_path / "scene.png"
    scene.image.save(path)
    x, y, w, h = scene.products[0].box
    runner = CliRunner()
    res = runner.invoke(app, ["search", str(path), "--box", f"{x},{y},{w},{h}", "--top-k", "3"])
    assert res.exit_code == 0, res.output
    assert truth in res.output and f"{x},{y},{w},{h}" in res.output
    res = runner.invoke(app, ["search", str(path), "--regions", "2", "--top-k", "3"])
    assert res.exit_code == 0 and "product 1 of the photo" in res.output
    bad = runner.invoke(app, ["search", str(path), "--box", "0,0,0,5"])
    assert bad.exit_code == 1 and "empty" in bad.output and "Traceback" not in bad.output
