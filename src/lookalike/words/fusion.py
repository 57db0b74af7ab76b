"""Fusing the word routes' rankings into one product ranking."""

from __future__ import annotations

from collections.abc import Sequence

from lookalike.records import Hit, Product
from lookalike.store import ScoredPoint

RRF_K = 60


def fuse_rankings(rankings: Sequence[tuple[list[ScoredPoint], float]], top_k: int) -> list[Hit]:
    """Weighted reciprocal-rank fusion at product level: score = Σ weight / (60 + rank)."""
    scores: dict[str, float] = {}
    best: dict[str, ScoredPoint] = {}
    for points, weight in rankings:
        seen: set[str] = set()
        for p in points:
            pid = str(p.payload["product_id"])
            if pid in seen:
                continue
            seen.add(pid)
            scores[pid] = scores.get(pid, 0.0) + weight / (RRF_K + len(seen))
            best.setdefault(pid, p)
    order = sorted(scores, key=lambda pid: scores[pid], reverse=True)[:top_k]
    return [
        Hit(product=Product.from_payload(best[pid].payload), score=scores[pid], point_id=best[pid].id)
        for pid in order
    ]
