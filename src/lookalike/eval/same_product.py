"""Same-product recall on a catalog (the demo catalog by default): every photo becomes augmented queries
(crop, flip, colour shift, JPEG, rotation, new background); the hit is any view of the source product.
The catalog is indexed with the real ingest pipeline and queried through SearchService.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from lookalike.catalog import scan
from lookalike.encoders import Encoder
from lookalike.errors import LookalikeError
from lookalike.eval import augment
from lookalike.eval.baselines import (
    PIXEL_SIZE,
    PIXELS,
    RANDOM,
    brute_force_top_k,
    distinct_products,
    pixel_vectors,
)
from lookalike.eval.diversity import DiversityReport, diversity_eval
from lookalike.eval.indexed import indexed_catalog
from lookalike.eval.metrics import K, hit_rate_at_k, mean, reciprocal_rank, relevance
from lookalike.images import load_image

log = logging.getLogger(__name__)


@dataclass
class RecallScores:
    queries: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr: float  # MRR@10


@dataclass
class SameProductScores:
    """One method's numbers: over all queries, over the core recipes only, and per recipe."""

    method: str
    overall: RecallScores
    core: RecallScores
    per_recipe: dict[str, RecallScores]
    recall_curve: list[float]  # recall@k over all queries, k = 1..10
    seconds: float


@dataclass
class SameProductReport:
    catalog: str
    photos: int
    products: int
    recipes: list[str]
    core_recipes: list[str]
    n_per_recipe: int
    queries: int
    seed: int
    pixel_baseline: str
    index_seconds: float
    methods: list[SameProductScores] = field(default_factory=list)
    diversity: DiversityReport | None = None  # the encoder's queries again, plain vs diverse=True


@dataclass(frozen=True)
class Query:
    source: int  # index into the scanned photos
    recipe: str
    seed: int


def _recall(ranked: Sequence[Sequence[str]], truth: Sequence[str]) -> RecallScores:
    rels = [relevance(r, {t}) for r, t in zip(ranked, truth, strict=True)]
    return RecallScores(
        queries=len(rels),
        recall_at_1=mean([hit_rate_at_k(r, 1) for r in rels]),
        recall_at_5=mean([hit_rate_at_k(r, 5) for r in rels]),
        recall_at_10=mean([hit_rate_at_k(r, 10) for r in rels]),
        mrr=mean([reciprocal_rank(r, K) for r in rels]),
    )


def score_same_product(
    method: str,
    ranked: Sequence[Sequence[str]],
    queries: Sequence[Query],
    truth: Sequence[str],
    seconds: float,
) -> SameProductScores:
    def subset(keep: Collection[str]) -> RecallScores:
        idx = [i for i, q in enumerate(queries) if q.recipe in keep]
        return _recall([ranked[i] for i in idx], [truth[i] for i in idx])

    recipes = list(dict.fromkeys(q.recipe for q in queries))
    rels = [relevance(r, {t}) for r, t in zip(ranked, truth, strict=True)]
    return SameProductScores(
        method=method,
        overall=_recall(ranked, truth),
        core=subset(augment.CORE_RECIPES),
        per_recipe={r: subset({r}) for r in recipes},
        recall_curve=[mean([hit_rate_at_k(r, k) for r in rels]) for k in range(1, K + 1)],
        seconds=seconds,
    )


def same_product_eval(
    encoder: Encoder,
    catalog: Path | None = None,
    *,
    recipes: Sequence[str] = augment.RECIPE_NAMES,
    n_per_recipe: int = 1,
    seed: int = 0,
    batch_size: int = 32,
    progress: bool = True,
) -> SameProductReport:
    """Index the catalog with the real ingest pipeline, query with augmented photos through SearchService."""
    recipes = augment.check_recipes(recipes)
    if n_per_recipe < 1:
        raise LookalikeError(f"n_per_recipe must be at least 1, not {n_per_recipe}")
    with indexed_catalog(encoder, catalog, batch_size=batch_size, progress=progress) as ix:
        service = ix.service
        files = scan(ix.catalog)
        product_of = [f.product_id for f in files]
        queries = [
            Query(i, r, augment.seed_for(seed, f.rel_path, r, j))
            for i, f in enumerate(files)
            for r in recipes
            for j in range(1 if r in augment.DETERMINISTIC else n_per_recipe)
        ]
        truth = [product_of[q.source] for q in queries]
        report = SameProductReport(
            catalog=ix.label,
            photos=len(files),
            products=len(set(product_of)),
            recipes=list(recipes),
            core_recipes=[r for r in augment.CORE_RECIPES if r in recipes],
            n_per_recipe=n_per_recipe,
            queries=len(queries),
            seed=seed,
            pixel_baseline=f"photo downscaled to {PIXEL_SIZE}×{PIXEL_SIZE} RGB, flattened, cosine, exact",
            index_seconds=ix.seconds,
        )
        pix_index = pixel_vectors([load_image(f.path) for f in files])
        q_vecs, q_pix, embed_seconds = _embed_queries(encoder, files, queries, batch_size, progress)
        log.info("embedded %d augmented queries in %.1fs", len(queries), embed_seconds)
        t0 = time.perf_counter()
        ranked = [
            [h.product.product_id for h in service.search_vector(v, top_k=K)]
            for v in tqdm(q_vecs, desc="querying", unit="q", disable=not progress, leave=False)
        ]
        enc_seconds = time.perf_counter() - t0
        report.diversity = diversity_eval(service, q_vecs, truth, progress)
    report.methods.append(score_same_product(encoder.name, ranked, queries, truth, enc_seconds))

    t0 = time.perf_counter()
    top = brute_force_top_k(q_pix, pix_index, len(files))
    pix_ranked = [distinct_products(row, product_of, K) for row in top]
    report.methods.append(score_same_product(PIXELS, pix_ranked, queries, truth, time.perf_counter() - t0))

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    products = sorted(set(product_of))
    rand = [[products[i] for i in rng.permutation(len(products))[:K]] for _ in queries]
    report.methods.append(score_same_product(RANDOM, rand, queries, truth, time.perf_counter() - t0))
    return report


def _embed_queries(
    encoder: Encoder, files: Sequence, queries: Sequence[Query], batch_size: int, progress: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    """Augment and embed in batches, so only one batch of full-size photos is in memory at a time."""
    t0 = time.perf_counter()
    vecs, pix = [], []
    sources: dict[int, Image.Image] = {}
    bar = tqdm(total=len(queries), desc="embedding queries", unit="img", disable=not progress, leave=False)
    for s in range(0, len(queries), batch_size):
        batch = queries[s : s + batch_size]
        images = []
        for q in batch:
            if q.source not in sources:
                sources.clear()  # queries come grouped by photo: keep only the current one open
                sources[q.source] = augment.open_rgba(files[q.source].path)
            images.append(augment.apply(q.recipe, sources[q.source], q.seed))
        vecs.append(encoder.embed_images(images))
        pix.append(pixel_vectors(images))
        bar.update(len(batch))
    bar.close()
    return np.concatenate(vecs), np.concatenate(pix), time.perf_counter() - t0
