"""Pure logic of the word routes and of one-hit-per-product widening, on hand-made rankings."""

from __future__ import annotations

import pytest

from lookalike.config import Settings
from lookalike.search import MAX_FETCH, SearchService
from lookalike.store import ScoredPoint
from lookalike.words.fusion import RRF_K, fuse_rankings


def _point(product: str, view: int = 0, score: float = 1.0) -> ScoredPoint:
    payload = {
        "product_id": product,
        "category": "c",
        "path": f"/x/{product}-{view}.png",
        "rel_path": f"{product}-{view}.png",
        "sha256": "0" * 64,
    }
    return ScoredPoint(id=f"{product}-{view}", score=score, payload=payload)


def test_rrf_sums_weighted_reciprocal_ranks_per_product() -> None:
    a = [_point("p1"), _point("p2"), _point("p3")]
    b = [_point("p2"), _point("p3"), _point("p1")]
    hits = fuse_rankings([(a, 1.0), (b, 1.0)], top_k=3)
    assert [h.product.product_id for h in hits] == ["p2", "p1", "p3"]
    assert hits[0].score == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))


def test_rrf_counts_a_product_once_per_ranking_and_weights_routes() -> None:
    views = [_point("p1", 0), _point("p1", 1), _point("p2")]  # a second view of p1 is not a second vote
    hits = fuse_rankings([(views, 1.0)], top_k=5)
    assert [h.product.product_id for h in hits] == ["p1", "p2"]
    assert hits[1].score == pytest.approx(1 / (RRF_K + 2))
    heavy = fuse_rankings([([_point("p1")], 1.0), ([_point("p2")], 3.0)], top_k=2)
    assert [h.product.product_id for h in heavy] == ["p2", "p1"]
    assert fuse_rankings([], top_k=3) == []


def test_best_view_per_product_widens_until_enough_products(tmp_path) -> None:
    """Many views of few products: the query is asked again with a larger limit, never unboundedly."""
    svc = SearchService(Settings(data_dir=tmp_path, qdrant_url=None))
    ranking = [_point("p1", v, 1 - v / 100) for v in range(30)] + [_point(f"q{i}", 0, 0.5) for i in range(5)]
    limits: list[int] = []

    def query(limit: int) -> list[ScoredPoint]:
        limits.append(limit)
        return ranking[:limit]

    hits = svc._best_per_product(query, top_k=4)
    assert [h.product.product_id for h in hits] == ["p1", "q0", "q1", "q2"]
    assert hits[0].point_id == "p1-0"  # the best view stands for its product
    assert limits == [12, 48]  # 3 × top_k first, then 4 × more
    limits.clear()
    assert len(svc._best_per_product(lambda limit: (limits.append(limit), [_point("p1")] * limit)[1], 5)) == 1
    assert max(limits) == MAX_FETCH  # widening stops at the cap
