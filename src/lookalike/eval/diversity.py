"""What diverse results (maximal marginal relevance, `diverse=True`) change on the same-product queries:
distinct categories and product families in the top 10, against the recall it may cost.

MMR always keeps the most relevant product first, so recall@1 cannot drop; recall@5/10 can, when a
second view-alike of the right product is pushed down by a different-looking one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from lookalike.diverse import DEFAULT_LAMBDA
from lookalike.eval.metrics import K, hit_rate_at_k, mean, relevance
from lookalike.families import family_key
from lookalike.result_shape import ResultShape

if TYPE_CHECKING:
    from lookalike.search import SearchService


@dataclass
class DiversityScores:
    method: str
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    categories_at_10: float  # mean distinct categories among the top 10
    families_at_10: float  # mean distinct product families (item_group_id, else the product) in the top 10
    ms_per_query: float


@dataclass
class DiversityReport:
    queries: int
    lam: float
    plain: DiversityScores
    diverse: DiversityScores


def _scores(method: str, runs: list[list], truth: Sequence[str], seconds: float) -> DiversityScores:
    rels = [relevance([h.product.product_id for h in hits], {t}) for hits, t in zip(runs, truth, strict=True)]
    return DiversityScores(
        method=method,
        recall_at_1=mean([hit_rate_at_k(r, 1) for r in rels]),
        recall_at_5=mean([hit_rate_at_k(r, 5) for r in rels]),
        recall_at_10=mean([hit_rate_at_k(r, 10) for r in rels]),
        categories_at_10=mean([len({h.product.category for h in hits[:K]}) for hits in runs]),
        families_at_10=mean([len({family_key(h.product) for h in hits[:K]}) for hits in runs]),
        ms_per_query=1000 * seconds / max(1, len(runs)),
    )


def diversity_eval(
    service: SearchService, vectors: np.ndarray, truth: Sequence[str], progress: bool = True
) -> DiversityReport:
    """The same query vectors searched plainly and with diverse=True, in one run."""
    runs: dict[bool, tuple[list[list], float]] = {}
    for diverse in (False, True):
        t0 = time.perf_counter()
        hits = [
            service.search_vector(v, top_k=K, shape=ResultShape(diverse=diverse))
            for v in tqdm(vectors, desc="diverse" if diverse else "plain", disable=not progress, leave=False)
        ]
        runs[diverse] = (hits, time.perf_counter() - t0)
    return DiversityReport(
        queries=len(truth),
        lam=DEFAULT_LAMBDA,
        plain=_scores("plain", runs[False][0], truth, runs[False][1]),
        diverse=_scores(f"diverse (MMR, λ={DEFAULT_LAMBDA})", runs[True][0], truth, runs[True][1]),
    )


def format_diversity_table(r: DiversityReport) -> str:
    rows = [
        ("same-product recall@1", "recall_at_1", "{:.3f}"),
        ("same-product recall@5", "recall_at_5", "{:.3f}"),
        ("same-product recall@10", "recall_at_10", "{:.3f}"),
        ("distinct categories in top 10", "categories_at_10", "{:.2f}"),
        ("distinct product families in top 10", "families_at_10", "{:.2f}"),
        ("ms per query (search only)", "ms_per_query", "{:.1f}"),
    ]
    lines = [
        f"### Diverse results: the same {r.queries} augmented queries, plain vs diverse",
        "",
        f"| metric | {r.plain.method} | {r.diverse.method} |",
        "|---|---|---|",
    ]
    for label, attr, fmt in rows:
        a, b = getattr(r.plain, attr), getattr(r.diverse, attr)
        lines.append(f"| {label} | {fmt.format(a)} | {fmt.format(b)} |")
    return "\n".join(lines) + "\n"
