"""Choosing which proposal windows to re-encode: hand-made scores, then the real encoder and store."""

from __future__ import annotations

import dataclasses

import pytest

from lookalike import proposals, regions
from lookalike.regions import Box, RegionResult

SIZE = (400, 200)
LEFT = Box(0, 0, 200, 200)
LEFT_INNER = Box(50, 50, 100, 100)  # inside LEFT: IoU 0.25, below the NMS threshold
RIGHT = Box(200, 0, 200, 200)
MIDDLE = Box(100, 0, 200, 200)


def test_coverage_masks_mark_the_cells_a_box_touches() -> None:
    m = proposals.coverage_masks([Box(0, 0, *SIZE), LEFT, RIGHT], SIZE, cells=4)
    assert m.shape == (3, 2, 4)
    assert m[0].all()
    assert m[1][:, :2].all() and not m[1][:, 2:].any()
    assert (m[1] ^ m[2]).all()  # the two halves tile the photo
    tiny = proposals.coverage_masks([Box(399, 199, 1, 1)], SIZE, cells=4)
    assert tiny[0].sum() == 1 and tiny[0, 1, 3]


def test_without_coverage_it_is_nms_by_score_with_one_window_per_product() -> None:
    boxes = [LEFT, LEFT_INNER, RIGHT, Box(10, 10, 190, 190)]
    best = [[("shoe", 0.8)], [("look-alike", 0.75)], [("bottle", 0.6)], [("hat", 0.9)]]
    # the hat window overlaps LEFT too much (IoU 0.9), so LEFT goes; the look-alike and the bottle follow
    assert proposals.choose(boxes, best, SIZE, 3, nms_iou=0.5, coverage=0.0) == [3, 1, 2]
    results = [RegionResult(b, h) for b, h in zip(boxes, best, strict=True)]
    chosen = [g.box for g in regions.group(results, max_products=3, iou=0.5)]
    assert chosen == [boxes[i] for i in proposals.choose(boxes, best, SIZE, 3, 0.5, coverage=0.0)]
    same = [[("shoe", 0.8)], [("shoe", 0.75)], [("shoe", 0.6)], [("shoe", 0.5)]]
    assert proposals.choose(boxes, same, SIZE, 3, coverage=0.0) == [0]  # one window per product


def test_coverage_sends_the_next_crop_where_the_photo_was_not_looked_at() -> None:
    """A look-alike inside the first window scores higher than the second product elsewhere: plain
    NMS re-encodes the same spot twice, coverage sends the second crop to the other product."""
    boxes = [LEFT, LEFT_INNER, RIGHT]
    best = [[("shoe", 0.8)], [("look-alike", 0.75)], [("bottle", 0.6)]]
    assert proposals.choose(boxes, best, SIZE, 2, coverage=0.0) == [0, 1]
    assert proposals.choose(boxes, best, SIZE, 2, coverage=0.3) == [0, 2]
    # a window that is clearly better still wins, covered or not
    better = [[("shoe", 0.8)], [("look-alike", 0.79)], [("bottle", 0.3)]]
    assert proposals.choose(boxes, better, SIZE, 2, coverage=0.3) == [0, 1]
    # a half-covered window pays less than a fully covered one
    half = [[("shoe", 0.8)], [("look-alike", 0.7)], [("cup", 0.7)]]
    assert proposals.choose([LEFT, LEFT_INNER, MIDDLE], half, SIZE, 2, coverage=0.3) == [0, 2]


def test_choose_skips_empty_windows_and_asks_for_nothing_sensible() -> None:
    assert proposals.choose([LEFT, RIGHT], [[], [("shoe", 0.5)]], SIZE, 4) == [1]
    assert proposals.choose([LEFT, RIGHT], [[], []], SIZE, 4) == []
    assert proposals.choose([LEFT], [[("shoe", 0.5)]], SIZE, 0) == []


def test_merge_moves_a_window_to_the_mean_of_the_windows_that_found_its_product() -> None:
    """The best window holds the left part of a shoe, its neighbour the right part: their mean holds it."""
    boxes = [
        Box(0, 0, 100, 100),  # the chosen window: shoe 0.6
        Box(50, 0, 100, 100),  # overlaps it, same product, same score: merged
        Box(300, 0, 100, 100),  # same product, but elsewhere: not merged
        Box(25, 0, 100, 100),  # overlaps it, another product: not merged
        Box(0, 50, 100, 100),  # overlaps it, same product, but 0.2 lower: not merged
    ]
    best = [[("shoe", 0.6)], [("shoe", 0.6)], [("shoe", 0.6)], [("bag", 0.7)], [("shoe", 0.4)]]
    assert proposals.merge(boxes, best, 0, within=0.05) == Box(25, 0, 100, 100)
    assert proposals.merge(boxes, best, 0, within=0.0) == boxes[0]  # off
    assert proposals.merge(boxes, best, 0, within=0.05, link_iou=0.5) == boxes[0]  # IoU 1/3 is not enough
    # weighted by score: the weaker neighbour pulls less
    weaker = [[("shoe", 0.6)], [("shoe", 0.3)]]
    assert proposals.merge(boxes[:2], weaker, 0, within=0.5) == Box(17, 0, 100, 100)


def test_locate_gives_each_product_of_a_two_product_scene_its_own_region(demo_service, demo_catalog) -> None:
    """A paint tin beside a t-shirt: plain NMS by score spends the crops on look-alikes of one of them;
    with coverage (and the windows moved onto their products) each product is in the top 5 of the
    region that overlaps it most. Over 15 scenes of 2–3 products, most have every product found
    (benchmarks/regions.py measures the rate)."""
    pytest.importorskip("skimage")
    from lookalike.catalog import scan
    from lookalike.eval import augment, scenes

    files = scan(demo_catalog)
    photos = [augment.open_rgba(f.path) for f in files]
    index = demo_service.region_index()
    encoder = demo_service.encoder

    def every_product_found(q: scenes.SceneQuery, s: regions.RegionSettings) -> bool:
        scene = scenes.render(q, photos)
        groups = regions.locate(scene.image, encoder, index, 10, s).groups
        return all(_own_region_has(groups, files[p.source].product_id, Box(*p.box)) for p in scene.products)

    pair = scenes.queries(len(photos), "multi", seed=3, n_products=(2,))[44]
    assert [files[i].product_id for i in pair.sources] == ["hyperspace-turquoise-paint", "t-shirt-2"]
    assert every_product_found(pair, regions.RegionSettings())
    plain = dataclasses.replace(regions.RegionSettings(), coverage=0.0, merge_within=0.0)
    assert not every_product_found(pair, plain)

    queries = scenes.queries(len(photos), "multi", seed=3)[::3]  # 15 scenes of 2–3 products
    found = sum(every_product_found(q, regions.RegionSettings()) for q in queries)
    assert found >= 0.6 * len(queries), found


def test_merged_windows_stay_inside_the_photo() -> None:
    """Every window of a real grid, merged with the windows that found the same product: still a box
    of the photo (the crop is cut from it)."""
    size = (641, 437)
    boxes = regions.grid(size, (0.9, 0.7, 0.5), 0.5, (1.0, 0.6, 1.6))
    best = [[("shoe" if i % 3 else "bag", 0.5 + 0.003 * (i % 17))] for i in range(len(boxes))]
    for i in range(len(boxes)):
        merged = proposals.merge(boxes, best, i, within=0.05)
        assert merged.check(size) == merged


def _own_region_has(groups: list[regions.Group], product_id: str, box: Box) -> bool:
    """As benchmarks/regions.py counts it: the region overlapping the product most holds it in its top 5."""
    if not groups:
        return False
    own = max(groups, key=lambda g: g.box.iou(box))
    return own.box.iou(box) >= 0.2 and product_id in [p for p, _ in own.hits[:5]]
