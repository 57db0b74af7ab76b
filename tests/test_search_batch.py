"""Batch photo search through SearchService: one encoder batch, one store batch query, answers in order,
each with its own error. Real encoder and real embedded store over the demo catalog."""

from __future__ import annotations

import pytest

from lookalike.catalog import scan
from lookalike.errors import ImageError, LookalikeError, NotFoundError, UploadTooLargeError
from lookalike.regions import Box, RegionError
from lookalike.search import ImageQuery, SearchService


@pytest.fixture(scope="module")
def photos(demo_catalog):
    """(path, product id) of eight demo photos from different products."""
    seen: dict[str, object] = {}
    for f in scan(demo_catalog):
        seen.setdefault(f.product_id, f.path)
    return [(path, pid) for pid, path in list(seen.items())[:8]]


def test_a_batch_answers_like_single_whole_photo_searches(demo_service: SearchService, photos) -> None:
    answers = demo_service.search_batch([ImageQuery(path, top_k=4) for path, _ in photos])
    assert len(answers) == len(photos)
    for (path, pid), answer in zip(photos, answers, strict=True):
        assert not isinstance(answer, LookalikeError)
        single = demo_service.search_image(path, top_k=4, region="whole")
        assert [h.product.product_id for h in answer] == [h.product.product_id for h in single]
        assert [h.score for h in answer] == pytest.approx([h.score for h in single], abs=1e-4)
        assert answer[0].product.product_id == pid  # a catalog photo finds its own product


def test_each_query_fails_alone(demo_service: SearchService, photos, make_png) -> None:
    (a, pid_a), (b, pid_b) = photos[:2]
    answers = demo_service.search_batch(
        [
            ImageQuery(a, top_k=3),
            ImageQuery(b"this is not an image", name="junk.jpg"),
            ImageQuery(b, top_k=3, category="No Such Category"),
            ImageQuery(make_png(size=64), region="10,10,500,500"),
            ImageQuery(b, top_k=2),
        ]
    )
    assert answers[0][0].product.product_id == pid_a
    assert isinstance(answers[1], ImageError) and "junk.jpg" in str(answers[1])
    assert isinstance(answers[2], NotFoundError)
    assert isinstance(answers[3], RegionError)
    assert len(answers[4]) == 2 and answers[4][0].product.product_id == pid_b


def test_a_box_and_auto_work_per_query(demo_service: SearchService, photos) -> None:
    path, pid = photos[0]
    boxed, auto = demo_service.search_batch(
        [ImageQuery(path, top_k=3, region="0,0,1,1"), ImageQuery(path, top_k=3, region="auto")]
    )
    assert boxed[0].product.product_id == pid
    assert boxed[0].region == Box.parse("0,0,1,1", demo_service.load_query_image(path).size)
    assert [h.product.product_id for h in auto] == [
        h.product.product_id for h in demo_service.search_image(path, top_k=3)
    ]


def test_batch_size_and_pixel_budget_are_bounded(demo_service: SearchService, photos, make_png) -> None:
    limit = demo_service.settings.max_batch
    with pytest.raises(LookalikeError, match=f"at most {limit} queries"):
        demo_service.search_batch([ImageQuery(photos[0][0])] * (limit + 1))
    with pytest.raises(LookalikeError, match="at least one"):
        demo_service.search_batch([])
    small_budget = demo_service.settings.model_copy(update={"max_upload_pixels": 10_000})
    svc = SearchService(
        small_budget, store=demo_service.store, encoder=demo_service.encoder
    )  # not closed: shared
    big = make_png(size=78)  # 6,084 pixels: 60% of the budget, so the second photo is over it
    first, second = svc.search_batch([ImageQuery(big, top_k=1), ImageQuery(big, top_k=1)])
    assert isinstance(first, list)
    assert isinstance(second, UploadTooLargeError) and "pixels" in str(second)
