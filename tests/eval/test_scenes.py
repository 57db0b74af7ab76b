"""Scene recipes: deterministic by seed, products inside the frame where the ground truth says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("skimage")

from lookalike.catalog import scan  # noqa: E402
from lookalike.errors import LookalikeError  # noqa: E402
from lookalike.eval import augment, scenes  # noqa: E402


@pytest.fixture(scope="module")
def photos(demo_catalog: Path):
    return [augment.open_rgba(f.path) for f in scan(demo_catalog)]


@pytest.mark.parametrize("kind", scenes.KINDS)
def test_same_seed_same_pixels(photos, kind: scenes.Kind) -> None:
    q = scenes.queries(len(photos), kind)[3]
    a, b = scenes.render(q, photos), scenes.render(q, photos)
    assert a.products == b.products
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    other = scenes.render(scenes.queries(len(photos), kind, seed=1)[3], photos)
    assert not np.array_equal(np.asarray(a.image), np.asarray(other.image))


def test_boxes_inside_and_apart(photos) -> None:
    for q in scenes.queries(len(photos), "multi")[:12]:
        sc = scenes.render(q, photos)
        W, H = sc.image.size
        assert 2 <= len(sc.products) <= 3
        assert len({p.source for p in sc.products}) == len(sc.products)
        for i, p in enumerate(sc.products):
            x, y, w, h = p.box
            assert x >= 0 and y >= 0 and x + w <= W and y + h <= H and w > 0 and h > 0
            for o in sc.products[i + 1 :]:
                ox, oy, ow, oh = o.box
                assert x + w <= ox or ox + ow <= x or y + h <= oy or oy + oh <= y


def test_single_product_size_and_pixels(photos) -> None:
    for q in scenes.queries(len(photos), "single")[:10]:
        sc = scenes.render(q, photos)
        (p,) = sc.products
        W, H = sc.image.size
        x, y, w, h = p.box
        assert 0.39 <= max(w / W, h / H) <= 0.81  # the product fits in 40–80 % of the frame


def test_halves_split_the_queries(photos) -> None:
    qs = scenes.queries(len(photos), "single", per_photo=2)
    halves = {q.half for q in qs}
    assert halves == {"tune", "test"}
    tune = sum(q.half == "tune" for q in qs)
    assert 0.3 < tune / len(qs) < 0.7
    assert all(q.half == scenes.split_of(q.seed) for q in qs)


def test_bad_kind_and_tiny_catalog() -> None:
    with pytest.raises(LookalikeError, match="unknown scene kind"):
        scenes.queries(10, "blurry")  # type: ignore[arg-type]
    with pytest.raises(LookalikeError, match="too small"):
        scenes.queries(2, "multi")
