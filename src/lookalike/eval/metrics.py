"""Ranking metrics as pure functions of relevance flags (best first; k counts places, not results).

* precision@k   relevant results among the first k, divided by k. A list shorter than k counts its
                missing places as misses, so returning fewer results never raises precision.
* hit-rate@k    1 if at least one of the first k is relevant, else 0. For same-product queries there is
                exactly one relevant product, so this is also recall@k there; for categories it is what
                the report calls "recall@10 (hit rate)".
* recall@k      relevant results among the first k, divided by all relevant items in the index.
* AP@k          sum of precision@i over the ranks i ≤ k that hold a relevant result, divided by
                min(k, all relevant items in the index); mAP@k is its mean over queries.
* RR / MRR@k    1 / rank of the first relevant result within the first k (0 if none); MRR is the mean.

Queries with nothing relevant in the index score 0 everywhere. Ties in the scores are broken by
position (a stable sort), so numbers are reproducible.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence

import numpy as np

K = 10  # deepest cut-off every metric is reported at


def check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")


def _hits(relevant: Sequence[bool], k: int) -> int:
    check_k(k)
    return sum(1 for r in list(relevant)[:k] if r)


def precision_at_k(relevant: Sequence[bool], k: int) -> float:
    """Relevant among the first k places over k (missing places are misses)."""
    return _hits(relevant, k) / k


def hit_rate_at_k(relevant: Sequence[bool], k: int) -> float:
    """1.0 if anything relevant is in the first k places."""
    return 1.0 if _hits(relevant, k) else 0.0


def recall_at_k(relevant: Sequence[bool], k: int, n_relevant: int) -> float:
    """Relevant among the first k over every relevant item in the index."""
    hits = _hits(relevant, k)
    _check_n_relevant(hits, n_relevant)
    return hits / n_relevant if n_relevant else 0.0


def average_precision_at_k(relevant: Sequence[bool], k: int, n_relevant: int) -> float:
    """Mean of precision@i at each relevant rank i ≤ k, normalised by min(k, n_relevant)."""
    check_k(k)
    total, hits = 0.0, 0
    for i, r in enumerate(list(relevant)[:k], start=1):
        if r:
            hits += 1
            total += hits / i
    _check_n_relevant(hits, n_relevant)
    return total / min(k, n_relevant) if n_relevant else 0.0


def reciprocal_rank(relevant: Sequence[bool], k: int | None = None) -> float:
    """1 / rank of the first relevant result (within the first k when given), else 0."""
    if k is not None:
        check_k(k)
    for i, r in enumerate(list(relevant)[:k], start=1):
        if r:
            return 1.0 / i
    return 0.0


def _check_n_relevant(hits: int, n_relevant: int) -> None:
    if n_relevant < hits:
        raise ValueError(f"n_relevant={n_relevant} but {hits} relevant results were retrieved")


def relevance(ranked_ids: Sequence[Hashable], relevant_ids: Collection[Hashable]) -> list[bool]:
    """Turn a ranked list of ids into relevance flags."""
    return [i in relevant_ids for i in ranked_ids]


def rank_by_score(scores: Sequence[float]) -> list[int]:
    """Positions sorted by descending score; equal scores keep their order (stable, reproducible)."""
    return sorted(range(len(scores)), key=lambda i: -scores[i])


def mean(values: Sequence[float]) -> float:
    """Plain mean; 0.0 for no values (a report row with no queries)."""
    return float(np.mean(values)) if len(values) else 0.0
