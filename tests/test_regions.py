"""Region boxes, proposals, pooling, fusion, grouping; the real encoder finding a product in a scene."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lookalike import regions
from lookalike.errors import LookalikeError
from lookalike.regions import Box, RegionError, RegionResult

SIZE = (400, 300)


# -- Box ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "box"),
    [
        ("10,20,100,50", Box(10, 20, 100, 50)),
        (" 10 , 20 , 100 , 50 ", Box(10, 20, 100, 50)),
        ("0,0,400,300", Box(0, 0, 400, 300)),
        ("0.25,0.5,0.5,0.5", Box(100, 150, 200, 150)),
        ("0,0,1,1", Box(0, 0, 400, 300)),  # all ≤ 1: fractions, the whole photo
        ("10.4,20.6,99.5,50", Box(10, 21, 100, 50)),
    ],
)
def test_box_parse(text: str, box: Box) -> None:
    assert Box.parse(text, SIZE) == box


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "four numbers"),
        ("1,2,3", "four numbers"),
        ("a,b,c,d", "four numbers"),
        ("1;2;3;4", "four numbers"),
        ("nan,0,10,10", "four numbers"),
        ("-5,0,10,10", "four numbers"),  # the sign is read, then refused as negative
        ("0,0,0,10", "empty"),
        ("0,0,10,0", "empty"),
        ("350,0,100,10", "outside"),
        ("0,0,401,300", "outside"),
        ("0.5,0.5,0.6,0.2", "outside"),
    ],
)
def test_box_parse_refuses(text: str, words: str) -> None:
    with pytest.raises(RegionError) as err:
        Box.parse(text, SIZE)
    assert isinstance(err.value, LookalikeError)
    msg = str(err.value)
    assert words in msg or "negative" in msg


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_box_numbers_not_finite(bad: float) -> None:
    with pytest.raises(RegionError, match="NaN"):
        Box.from_numbers([0, 0, bad, 10], SIZE)


def test_box_numbers_negative_and_count() -> None:
    with pytest.raises(RegionError, match="negative"):
        Box.from_numbers([-1, 0, 10, 10], SIZE)
    with pytest.raises(RegionError, match="four numbers"):
        Box.from_numbers([1, 2, 3], SIZE)


def test_box_iou_and_corners() -> None:
    a = Box(0, 0, 10, 10)
    assert a.iou(a) == 1.0
    assert a.iou(Box(10, 0, 10, 10)) == 0.0  # touching edges share no pixels
    assert a.iou(Box(5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert a.corners() == (0, 0, 10, 10)
    assert str(Box(1, 2, 3, 4)) == "1,2,3,4"
    assert Box.parse(str(Box(1, 2, 30, 40)), SIZE) == Box(1, 2, 30, 40)


# -- proposals and pooling --------------------------------------------------------------------------------
def test_grid_covers_the_photo_at_each_scale() -> None:
    boxes = regions.grid(SIZE, scales=(0.5,), overlap=0.5)
    side = 150
    assert all(b.w == side and b.h == side for b in boxes)
    assert all(b.check(SIZE) for b in boxes)
    assert min(b.x for b in boxes) == 0 and max(b.x + b.w for b in boxes) == SIZE[0]
    assert min(b.y for b in boxes) == 0 and max(b.y + b.h for b in boxes) == SIZE[1]
    assert len(boxes) == len(set(boxes))


def test_grid_adds_tall_and_wide_windows_of_the_same_area() -> None:
    square, tall, wide = (
        regions.grid(SIZE, scales=(0.5,), overlap=0.5, aspects=(a,)) for a in (1.0, 0.64, 1.5625)
    )
    assert {(b.w, b.h) for b in tall} == {(120, 188)} and {(b.w, b.h) for b in wide} == {(188, 120)}
    both = regions.grid(SIZE, scales=(0.5,), overlap=0.5, aspects=(1.0, 0.64))
    assert set(both) == set(square) | set(tall)
    assert all(b.check(SIZE) for b in both)
    with pytest.raises(RegionError):
        regions.grid(SIZE, aspects=(0.0,))
    with pytest.raises(RegionError):
        regions.grid(SIZE, aspects=(math.nan,))


def test_centre_pool_weighs_the_middle_over_the_corners() -> None:
    # channel 0 lives in the middle cell, channel 1 in the four corners of a 3×3 map
    fmap = np.zeros((2, 3, 3), dtype=np.float32)
    fmap[0, 1, 1] = 1.0
    fmap[1, [0, 0, 2, 2], [0, 2, 0, 2]] = 1.0
    centre = regions.centre_pool(fmap, sigma=0.25)
    mean = fmap.mean(axis=(1, 2)) / np.linalg.norm(fmap.mean(axis=(1, 2)))
    assert centre[0] > centre[1] and mean[0] < mean[1]  # the middle wins only when weighted
    assert np.linalg.norm(centre) == pytest.approx(1.0)
    wide = regions.centre_pool(fmap, sigma=100.0)  # a flat Gaussian is the plain mean
    assert np.allclose(wide, mean, atol=1e-4)


def test_recoloured_blends_colour_into_the_ranking() -> None:
    hits = [("white-hoodie", 0.80), ("blue-hoodie", 0.78), ("mug", 0.70)]
    colour = {"white-hoodie": 0.2, "blue-hoodie": 0.95}
    out = regions.recoloured(hits, colour, weight=0.1)
    assert [pid for pid, _ in out] == ["blue-hoodie", "white-hoodie", "mug"]
    assert out[0][1] == pytest.approx(0.9 * 0.78 + 0.1 * 0.95)
    assert dict(out)["mug"] == pytest.approx(0.70)  # no stored colour: its score as it was
    assert regions.recoloured(hits, colour, weight=0.0) == hits


def test_middle_drops_the_margins_and_keeps_tiny_photos() -> None:
    from PIL import Image

    assert regions.middle(Image.new("RGB", (100, 50)), 0.2).size == (60, 30)
    assert regions.middle(Image.new("RGB", (1, 1)), 0.2).size == (1, 1)


def test_grid_refuses_bad_parameters() -> None:
    with pytest.raises(RegionError):
        regions.grid(SIZE, scales=(0,))
    with pytest.raises(RegionError):
        regions.grid(SIZE, scales=(1.5,))
    with pytest.raises(RegionError):
        regions.grid(SIZE, overlap=1.0)


def test_pool_averages_the_cells_under_a_box() -> None:
    # 2 channels on a 3×4 map of a 400×300 image: each cell is 100×100 px
    fmap = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    whole, cell, block = regions.pool(
        fmap, [Box(0, 0, 400, 300), Box(100, 100, 100, 100), Box(0, 0, 200, 200)], SIZE
    )
    expect_whole = fmap.mean(axis=(1, 2))
    assert np.allclose(whole, expect_whole / np.linalg.norm(expect_whole), atol=1e-6)
    expect_cell = fmap[:, 1, 1]
    assert np.allclose(cell, expect_cell / np.linalg.norm(expect_cell), atol=1e-6)
    expect_block = fmap[:, :2, :2].mean(axis=(1, 2))
    assert np.allclose(block, expect_block / np.linalg.norm(expect_block), atol=1e-6)


def test_cell_span_always_covers_a_cell() -> None:
    assert regions.cell_span(0, 1, 400, 4) == (0, 1)
    assert regions.cell_span(399, 1, 400, 4) == (3, 4)
    assert regions.cell_span(150, 100, 400, 4) == (1, 3)


# -- fusion and grouping -------------------------------------------------------------------------------
def _r(box: Box | None, *hits: tuple[str, float]) -> RegionResult:
    return RegionResult(box, list(hits))


def test_fuse_takes_the_best_score_per_product_and_says_where() -> None:
    b1, b2 = Box(0, 0, 10, 10), Box(10, 0, 10, 10)
    res = [_r(None, ("cat", 0.5), ("mug", 0.4)), _r(b1, ("mug", 0.8), ("cat", 0.3)), _r(b2, ("shoe", 0.6))]
    out = regions.fuse(res)
    assert [(m.product_id, m.box) for m in out] == [("mug", b1), ("shoe", b2), ("cat", None)]
    assert out[0].score == pytest.approx(0.8)


def test_fuse_margin_keeps_a_clean_photo_answer() -> None:
    b = Box(0, 0, 10, 10)
    res = [_r(None, ("shirt", 0.90), ("polo", 0.50)), _r(b, ("polo", 0.93))]
    assert regions.fuse(res, margin=0.0)[0].product_id == "polo"
    assert regions.fuse(res, margin=0.05)[0].product_id == "shirt"
    assert regions.fuse(res, margin=0.05, top_k=1) == [regions.ProductMatch("shirt", 0.90, None)]


def test_best_regions_ignores_the_whole_photo() -> None:
    b1, b2 = Box(0, 0, 10, 10), Box(10, 0, 10, 10)
    res = [_r(None, ("a", 0.99)), _r(b1, ("b", 0.5)), _r(b2, ("c", 0.7)), _r(Box(0, 5, 5, 5))]
    assert [r.box for r in regions.best_regions(res, 5)] == [b2, b1]


def test_group_keeps_distinct_boxes_and_products() -> None:
    left, left2, right, mid = Box(0, 0, 50, 50), Box(5, 5, 50, 50), Box(100, 0, 50, 50), Box(50, 60, 50, 40)
    res = [
        _r(None, ("whole", 0.99)),
        _r(left, ("beer", 0.9)),
        _r(left2, ("wine", 0.85)),  # overlaps `left` too much: suppressed
        _r(right, ("beer", 0.8)),  # same product as a kept region: suppressed
        _r(mid, ("shoe", 0.7)),
    ]
    groups = regions.group(res, max_products=3, iou=0.3)
    assert [(g.box, g.hits[0][0]) for g in groups] == [(left, "beer"), (mid, "shoe")]
    assert [g.box for g in regions.group(res, max_products=1)] == [left]
    assert [g.box for g in regions.group(res, min_score=0.88)] == [left]


# -- the real encoder and store -------------------------------------------------------------------------
def test_locate_finds_products_whole_image_search_misses(demo_service, demo_catalog) -> None:
    """Products pasted into real photos: the region pipeline ranks more of them first than the whole photo,
    and where it does, the region it names lies on the product."""
    pytest.importorskip("skimage")
    from lookalike.catalog import scan
    from lookalike.eval import augment, scenes

    files = scan(demo_catalog)
    photos = [augment.open_rgba(f.path) for f in files]

    def search(vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        return [(h.product.product_id, h.score) for h in demo_service.search_vector(vector, top_k=k)]

    encoder = demo_service.encoder
    index = demo_service.region_index()
    whole_first = region_first = 0
    for q in scenes.queries(len(photos), "single", seed=7)[::5]:  # 9 scenes spread over the catalog
        scene = scenes.render(q, photos)
        truth = files[scene.products[0].source].product_id
        whole_first += search(encoder.embed_images([scene.image])[0], 1)[0][0] == truth
        found = regions.locate(scene.image, encoder, index, top_k=5)
        assert len(found.matches) == 5
        if found.matches[0].product_id == truth:
            region_first += 1
            box = found.matches[0].box
            assert box is None or box.iou(Box(*scene.products[0].box)) > 0
    assert region_first > whole_first
    assert region_first >= 6


def test_thin_or_tiny_photos_are_searched_whole_not_as_a_huge_grid() -> None:
    from lookalike import regions as r

    assert r.has_regions((640, 480)) and r.has_regions((400, 1600))
    assert not r.has_regions((2, 50_000)) and not r.has_regions((1000, 1)) and not r.has_regions((40, 40))
    assert not r.has_regions((300, 1300))  # longer than 4 × the shorter side
