"""Retrieval evaluation: does the encoder + Qdrant find what a shopper means, and by how much over baselines?

Two tasks, each scored for the encoder and, in the same run, for two baselines (a random ranking and
raw-pixel cosine similarity by brute force):

* category relevance on Fashion-MNIST: index the train split, query with the test split; a result is
  relevant when it has the query's class;
* same-product recall on a catalog (the demo catalog by default): every photo becomes augmented queries
  (crop, flip, colour shift, JPEG, rotation, new background); the hit is any view of the source product.

Metric definitions (all on a ranked list, best first; k counts places, not results):

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

import logging
import os
import tempfile
import time
import uuid
from collections.abc import Collection, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from lookalike import augment, fashion_mnist
from lookalike.catalog import scan
from lookalike.encoders import Encoder
from lookalike.errors import LookalikeError
from lookalike.images import load_image
from lookalike.store.base import Schema, VectorStore

log = logging.getLogger(__name__)

K = 10  # deepest cut-off every metric is reported at
PIXEL_SIZE = 32  # raw-pixel baseline: photos downscaled to 32×32 RGB
CACHE_CHUNK = 1000  # Fashion-MNIST embeddings are cached in chunks of this many images
TASKS = ("category", "same-product")
PIXELS = "raw pixels"
RANDOM = "random"


# -- metrics -----------------------------------------------------------------------------------------
def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")


def _hits(relevant: Sequence[bool], k: int) -> int:
    _check_k(k)
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
    _check_k(k)
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
        _check_k(k)
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


# -- shared helpers -----------------------------------------------------------------------------------
def normalise_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def brute_force_top_k(queries: np.ndarray, index: np.ndarray, k: int, chunk: int = 256) -> np.ndarray:
    """Exact top-k by inner product (cosine for normalised rows), best first: [n_queries, min(k, n)]."""
    _check_k(k)
    n = index.shape[0]
    k = min(k, n)
    out = np.empty((queries.shape[0], k), dtype=np.int64)
    for s in range(0, queries.shape[0], chunk):
        scores = queries[s : s + chunk] @ index.T
        if k < n:
            part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(n), scores.shape).copy()
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)  # by score, ties to the lower index
        out[s : s + chunk] = np.take_along_axis(part, order, axis=1)
    return out


def pixel_vectors(images: Sequence[Image.Image], size: int = PIXEL_SIZE) -> np.ndarray:
    """The raw-pixel baseline's vectors: RGB downscaled to size×size, flattened, L2-normalised."""
    rows = [
        np.asarray(img.convert("RGB").resize((size, size), Image.Resampling.BOX), dtype=np.float32).ravel()
        for img in images
    ]
    return normalise_rows(np.stack(rows)) if rows else np.zeros((0, size * size * 3), np.float32)


def default_cache_dir() -> Path:
    """Where `lookalike eval --cache` and the benchmarks keep Fashion-MNIST embeddings."""
    from lookalike.demo_data import default_cache

    return default_cache() / "fmnist-embeddings"


def _bar(total: int, desc: str, progress: bool, unit: str = "img") -> tqdm:
    return tqdm(total=total, desc=desc, unit=unit, disable=not progress, leave=False)


def _temp_store(encoder: Encoder, parent: str) -> VectorStore:
    from lookalike.store.edge import EdgeStore

    return EdgeStore(Path(parent) / "store", Schema(encoder.name, encoder.dim))


# -- Fashion-MNIST category relevance -----------------------------------------------------------------
def embed_fashion_mnist(
    encoder: Encoder,
    ds: fashion_mnist.FashionMNIST,
    n: int,
    *,
    invert: bool = True,
    batch_size: int = 64,
    cache_dir: Path | None = None,
    progress: bool = False,
    desc: str = "embedding",
) -> np.ndarray:
    """Embeddings of the first n images. With `cache_dir`, whole chunks of 1,000 are saved and reused
    (all 70k take about an hour on two idle cores); delete the folder to recompute."""
    if cache_dir is None:
        with _bar(n, desc, progress) as bar:
            return _embed_range(encoder, ds, 0, n, invert, batch_size, bar)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    chunks = [(s, min(s + CACHE_CHUNK, len(ds))) for s in range(0, n, CACHE_CHUNK)]
    paths = [cache_file(cache_dir, encoder.name, ds.split, s // CACHE_CHUNK, invert) for s, _ in chunks]
    missing = [(c, p) for c, p in zip(chunks, paths, strict=True) if not _cached(p, c[1] - c[0], encoder.dim)]
    bar = _bar(sum(e - s for (s, e), _ in missing), desc, progress)
    for (s, e), path in missing:
        vectors = _embed_range(encoder, ds, s, e, invert, batch_size, bar)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        os.replace(tmp, path)
    bar.close()
    return np.concatenate([np.load(p) for p in paths])[:n]


def cache_file(cache_dir: Path, encoder: str, split: str, chunk: int, invert: bool = True) -> Path:
    """Embeddings of images [chunk·1000, (chunk+1)·1000) of a split."""
    mode = "inverted" if invert else "published"
    return Path(cache_dir) / f"{encoder}-{mode}-{split}-{chunk:03d}.npy"


def _cached(path: Path, rows: int, dim: int) -> bool:
    try:
        return np.load(path, mmap_mode="r").shape == (rows, dim)
    except (OSError, ValueError):
        return False


def _embed_range(
    encoder: Encoder,
    ds: fashion_mnist.FashionMNIST,
    start: int,
    stop: int,
    invert: bool,
    batch: int,
    bar: tqdm,
) -> np.ndarray:
    out = np.empty((stop - start, encoder.dim), dtype=np.float32)
    for s in range(start, stop, batch):
        e = min(s + batch, stop)
        out[s - start : e - start] = encoder.embed_images([ds.pil(i, invert=invert) for i in range(s, e)])
        bar.update(e - s)
    return out


@dataclass
class CategoryScores:
    """One method's numbers on the category task."""

    method: str
    precision_at_1: float
    precision_at_10: float
    hit_rate_at_10: float  # "recall@10": at least one same-class item in the top 10
    map_at_10: float
    per_class_precision_at_10: dict[str, float]
    precision_curve: list[float]  # precision@k, k = 1..10
    hit_rate_curve: list[float]  # hit-rate@k, k = 1..10
    seconds: float  # time spent ranking (store queries, or numpy for the baselines)


@dataclass
class CategoryReport:
    dataset: str
    n_index: int
    n_query: int
    rendering: str
    pixel_baseline: str
    index_per_class: dict[str, int]
    query_per_class: dict[str, int]
    embed_seconds: float
    ingest_seconds: float  # upsert + HNSW build in the embedded store
    methods: list[CategoryScores] = field(default_factory=list)


def score_category(
    method: str,
    ranked_labels: Sequence[Sequence[int]],
    query_labels: np.ndarray,
    index_labels: np.ndarray,
    seconds: float,
) -> CategoryScores:
    """Score ranked label lists (best first, any length ≤ K) against each query's class."""
    classes = fashion_mnist.CLASS_NAMES
    n_rel = np.bincount(index_labels, minlength=len(classes))
    p1, p10, hit10, ap10 = [], [], [], []
    p_curve = np.zeros(K)
    h_curve = np.zeros(K)
    per_class: dict[int, list[float]] = {}
    for ranked, q in zip(ranked_labels, query_labels, strict=True):
        rel = [int(lab) == int(q) for lab in ranked]
        p1.append(precision_at_k(rel, 1))
        p10.append(precision_at_k(rel, K))
        hit10.append(hit_rate_at_k(rel, K))
        ap10.append(average_precision_at_k(rel, K, int(n_rel[q])))
        p_curve += [precision_at_k(rel, k) for k in range(1, K + 1)]
        h_curve += [hit_rate_at_k(rel, k) for k in range(1, K + 1)]
        per_class.setdefault(int(q), []).append(p10[-1])
    n = max(len(query_labels), 1)
    return CategoryScores(
        method=method,
        precision_at_1=mean(p1),
        precision_at_10=mean(p10),
        hit_rate_at_10=mean(hit10),
        map_at_10=mean(ap10),
        per_class_precision_at_10={classes[c]: mean(v) for c, v in sorted(per_class.items())},
        precision_curve=[float(x) for x in p_curve / n],
        hit_rate_curve=[float(x) for x in h_curve / n],
        seconds=seconds,
    )


def category_eval(
    encoder: Encoder,
    *,
    fmnist_dir: Path | str | None = None,
    n_index: int | None = None,
    n_query: int | None = None,
    seed: int = 0,
    batch_size: int = 64,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> CategoryReport:
    """Index the first n_index train images in an embedded Qdrant store, query it with the first n_query
    test images (the published files are already shuffled), and score encoder and baselines."""
    train = fashion_mnist.load("train", fmnist_dir)
    test = fashion_mnist.load("t10k", fmnist_dir)
    n_index = _subset(n_index, len(train), "n_index")
    n_query = _subset(n_query, len(test), "n_query")
    index_labels, query_labels = train.labels[:n_index], test.labels[:n_query]
    names = fashion_mnist.CLASS_NAMES

    t0 = time.perf_counter()
    index_vecs = embed_fashion_mnist(
        encoder,
        train,
        n_index,
        batch_size=batch_size,
        cache_dir=cache_dir,
        progress=progress,
        desc="embedding index",
    )
    query_vecs = embed_fashion_mnist(
        encoder,
        test,
        n_query,
        batch_size=batch_size,
        cache_dir=cache_dir,
        progress=progress,
        desc="embedding queries",
    )
    embed_seconds = time.perf_counter() - t0
    log.info("embedded %d + %d Fashion-MNIST images in %.1fs", n_index, n_query, embed_seconds)

    report = CategoryReport(
        dataset="Fashion-MNIST (train → index, t10k → queries)",
        n_index=n_index,
        n_query=n_query,
        rendering="28×28 grey, inverted to dark-on-white (as the shop photos were), as RGB",
        pixel_baseline="the published 28×28 pixels (white on black), flattened, cosine, exact",
        index_per_class={
            names[c]: int(v) for c, v in enumerate(np.bincount(index_labels, minlength=len(names)))
        },
        query_per_class={
            names[c]: int(v) for c, v in enumerate(np.bincount(query_labels, minlength=len(names)))
        },
        embed_seconds=embed_seconds,
        ingest_seconds=0.0,
    )
    with tempfile.TemporaryDirectory(prefix="lookalike-eval-") as tmp:
        store = _temp_store(encoder, tmp)
        try:
            t0 = time.perf_counter()
            bar = _bar(n_index, "storing index", progress, "pt")
            for s in range(0, n_index, 1024):
                e = min(s + 1024, n_index)
                payloads = [
                    {
                        "product_id": f"fmnist-train-{i}",
                        "category": names[index_labels[i]],
                        "label": int(index_labels[i]),
                    }
                    for i in range(s, e)
                ]
                store.upsert([str(uuid.UUID(int=i)) for i in range(s, e)], index_vecs[s:e], payloads)
                bar.update(e - s)
            bar.close()
            store.optimize()
            report.ingest_seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            ranked = [
                [int(p.payload["label"]) for p in store.search(vec, K)]
                for vec in tqdm(query_vecs, desc="querying", unit="q", disable=not progress, leave=False)
            ]
            enc_seconds = time.perf_counter() - t0
        finally:
            store.close()
    report.methods.append(score_category(encoder.name, ranked, query_labels, index_labels, enc_seconds))

    t0 = time.perf_counter()
    pix_index = normalise_rows(train.images[:n_index].reshape(n_index, -1))
    pix_query = normalise_rows(test.images[:n_query].reshape(n_query, -1))
    top = brute_force_top_k(pix_query, pix_index, K)
    report.methods.append(
        score_category(PIXELS, index_labels[top], query_labels, index_labels, time.perf_counter() - t0)
    )

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    rand = [index_labels[rng.choice(n_index, size=min(K, n_index), replace=False)] for _ in range(n_query)]
    report.methods.append(score_category(RANDOM, rand, query_labels, index_labels, time.perf_counter() - t0))
    return report


def _subset(n: int | None, total: int, name: str) -> int:
    if n is None:
        return total
    if not 1 <= n <= total:
        raise LookalikeError(f"{name} must be between 1 and {total:,}, not {n:,}")
    return n


# -- same-product recall on a catalog ----------------------------------------------------------------
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


@dataclass(frozen=True)
class _Query:
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
    queries: Sequence[_Query],
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


def _distinct(point_ranking: Iterator[int] | Sequence[int], product_of: Sequence[str], k: int) -> list[str]:
    """Best-ranked view per product, first k products (what the search service shows)."""
    out: list[str] = []
    for i in point_ranking:
        pid = product_of[i]
        if pid not in out:
            out.append(pid)
            if len(out) == k:
                break
    return out


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
    from lookalike.config import Settings
    from lookalike.search import SearchService

    recipes = augment.check_recipes(recipes)
    if n_per_recipe < 1:
        raise LookalikeError(f"n_per_recipe must be at least 1, not {n_per_recipe}")
    with tempfile.TemporaryDirectory(prefix="lookalike-eval-") as tmp:
        label = str(catalog)
        if catalog is None:
            from lookalike import demo_data

            catalog = Path(tmp) / "demo-catalog"
            demo_data.build(catalog)
            label = "demo catalog (saleor 2.10.1 product photos)"
        files = scan(Path(catalog))
        product_of = [f.product_id for f in files]
        queries = [
            _Query(i, r, augment.seed_for(seed, f.rel_path, r, j))
            for i, f in enumerate(files)
            for r in recipes
            for j in range(1 if r in augment.DETERMINISTIC else n_per_recipe)
        ]
        truth = [product_of[q.source] for q in queries]
        report = SameProductReport(
            catalog=label,
            photos=len(files),
            products=len(set(product_of)),
            recipes=list(recipes),
            core_recipes=[r for r in augment.CORE_RECIPES if r in recipes],
            n_per_recipe=n_per_recipe,
            queries=len(queries),
            seed=seed,
            pixel_baseline=f"photo downscaled to {PIXEL_SIZE}×{PIXEL_SIZE} RGB, flattened, cosine, exact",
            index_seconds=0.0,
        )
        # The service builds its own collection, so the store schema (and any extra vectors) is the product's.
        settings = Settings(
            data_dir=Path(tmp) / "data", qdrant_url=None, collection="eval", batch_size=batch_size
        )
        with SearchService(settings, encoder=encoder) as service:
            t0 = time.perf_counter()
            indexed = service.index(Path(catalog), progress=progress)
            report.index_seconds = time.perf_counter() - t0
            for rel, why in indexed.failed:
                log.warning("not indexed, its queries will miss: %s (%s)", rel, why)
            pix_index = pixel_vectors([load_image(f.path) for f in files])
            q_vecs, q_pix, embed_seconds = _embed_queries(encoder, files, queries, batch_size, progress)
            log.info("embedded %d augmented queries in %.1fs", len(queries), embed_seconds)
            t0 = time.perf_counter()
            ranked = [
                [h.product.product_id for h in service.search_vector(v, top_k=K)]
                for v in tqdm(q_vecs, desc="querying", unit="q", disable=not progress, leave=False)
            ]
            enc_seconds = time.perf_counter() - t0
    report.methods.append(score_same_product(encoder.name, ranked, queries, truth, enc_seconds))

    t0 = time.perf_counter()
    top = brute_force_top_k(q_pix, pix_index, len(files))
    pix_ranked = [_distinct(row, product_of, K) for row in top]
    report.methods.append(score_same_product(PIXELS, pix_ranked, queries, truth, time.perf_counter() - t0))

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    products = sorted(set(product_of))
    rand = [[products[i] for i in rng.permutation(len(products))[:K]] for _ in queries]
    report.methods.append(score_same_product(RANDOM, rand, queries, truth, time.perf_counter() - t0))
    return report


def _embed_queries(
    encoder: Encoder, files: Sequence, queries: Sequence[_Query], batch_size: int, progress: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    """Augment and embed in batches, so only one batch of full-size photos is in memory at a time."""
    t0 = time.perf_counter()
    vecs, pix = [], []
    sources: dict[int, Image.Image] = {}
    bar = _bar(len(queries), "embedding queries", progress)
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


# -- the whole run ------------------------------------------------------------------------------------
@dataclass
class EvalReport:
    """Everything `lookalike eval` measured; `dataclasses.asdict` of it is plain JSON."""

    encoder: str
    dim: int
    seed: int
    category: CategoryReport | None
    same_product: SameProductReport | None
    seconds: float


def run_eval(
    encoder: Encoder,
    *,
    tasks: Sequence[str] = TASKS,
    fmnist_dir: Path | str | None = None,
    n_index: int | None = None,
    n_query: int | None = None,
    catalog: Path | None = None,
    recipes: Sequence[str] = augment.RECIPE_NAMES,
    n_per_recipe: int = 1,
    seed: int = 0,
    batch_size: int = 64,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> EvalReport:
    """Run the chosen tasks and score the encoder against both baselines.

    n_index/n_query None = the full 60,000/10,000 (about an hour on two idle cores at ~20 images/s;
    `cache_dir` keeps the embeddings for the next run). catalog None = the demo catalog.
    """
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise LookalikeError(
            f"unknown evaluation task(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(TASKS)}"
        )
    started = time.perf_counter()
    category = same = None
    if "category" in tasks:
        category = category_eval(
            encoder,
            fmnist_dir=fmnist_dir,
            n_index=n_index,
            n_query=n_query,
            seed=seed,
            batch_size=batch_size,
            cache_dir=cache_dir,
            progress=progress,
        )
    if "same-product" in tasks:
        same = same_product_eval(
            encoder,
            catalog,
            recipes=recipes,
            n_per_recipe=n_per_recipe,
            seed=seed,
            batch_size=min(batch_size, 32),
            progress=progress,
        )
    return EvalReport(
        encoder=encoder.name,
        dim=encoder.dim,
        seed=seed,
        category=category,
        same_product=same,
        seconds=time.perf_counter() - started,
    )


# -- presentation -------------------------------------------------------------------------------------
def _md(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def format_table(report: EvalReport) -> str:
    """Markdown tables: the encoder next to both baselines, measured in the same run."""
    out: list[str] = [f"## Retrieval evaluation: {report.encoder} ({report.dim}-d), seed {report.seed}", ""]
    if report.category is not None:
        c = report.category
        methods = c.methods
        out += [f"### Category relevance: {c.dataset}, {c.n_index:,} indexed, {c.n_query:,} queries", ""]
        rows = [
            ("precision@1", "precision_at_1"),
            ("precision@10", "precision_at_10"),
            ("recall@10 (hit rate: ≥1 same class in top 10)", "hit_rate_at_10"),
            ("mAP@10", "map_at_10"),
        ]
        out += _md(
            ["metric", *(m.method for m in methods)],
            [[label, *(f"{getattr(m, attr):.3f}" for m in methods)] for label, attr in rows],
        )
        out += ["", "Precision@10 per class:", ""]
        out += _md(
            ["class", "queries", *(m.method for m in methods)],
            [
                [
                    name,
                    str(c.query_per_class.get(name, 0)),
                    *(f"{m.per_class_precision_at_10.get(name, 0):.3f}" for m in methods),
                ]
                for name in fashion_mnist.CLASS_NAMES
                if c.query_per_class.get(name)
            ],
        )
        out += ["", f"Raw pixels: {c.pixel_baseline}. Encoder input: {c.rendering}.", ""]
    if report.same_product is not None:
        s = report.same_product
        methods = s.methods
        out += [
            f"### Same-product recall: {s.photos} photos of {s.products} products, "
            f"{s.queries} augmented queries ({s.n_per_recipe} per photo and recipe; one for the "
            f"deterministic {', '.join(sorted(augment.DETERMINISTIC))})",
            "",
        ]
        rows = []
        for scope, pick in [("all recipes", lambda m: m.overall), ("core recipes", lambda m: m.core)]:
            for label, attr in [
                ("recall@1", "recall_at_1"),
                ("recall@5", "recall_at_5"),
                ("recall@10", "recall_at_10"),
                ("MRR@10", "mrr"),
            ]:
                rows.append([f"{label} ({scope})", *(f"{getattr(pick(m), attr):.3f}" for m in methods)])
        out += _md(["metric", *(m.method for m in methods)], rows)
        out += ["", "Per augmentation (recall@1 / recall@5):", ""]
        out += _md(
            ["recipe", "queries", *(m.method for m in methods)],
            [
                [
                    r + (" (core)" if r in s.core_recipes else ""),
                    str(methods[0].per_recipe[r].queries),
                    *(
                        f"{m.per_recipe[r].recall_at_1:.3f} / {m.per_recipe[r].recall_at_5:.3f}"
                        for m in methods
                    ),
                ]
                for r in s.recipes
            ],
        )
        out += ["", f"Raw pixels: {s.pixel_baseline}. Core recipes: {', '.join(s.core_recipes)}.", ""]
    out.append(f"Total time {report.seconds:.0f}s.")
    return "\n".join(out)


def plot(report: EvalReport, path: Path | str) -> Path:
    """PNG: precision@10 per class (bars) and recall@k curves, encoder vs baselines (Agg, no display)."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state, safe inside a server

    panels = int(report.category is not None) * 2 + int(report.same_product is not None)
    if not panels:
        raise LookalikeError("the report has no results to plot")
    fig = Figure(figsize=(6 * panels, 4.5))
    axes = fig.subplots(1, panels, squeeze=False)
    ax_iter = iter(axes[0])
    ks = list(range(1, K + 1))
    if report.category is not None:
        c = report.category
        ax = next(ax_iter)
        names = [n for n in fashion_mnist.CLASS_NAMES if c.query_per_class.get(n)]
        width = 0.8 / len(c.methods)
        for j, m in enumerate(c.methods):
            xs = np.arange(len(names)) + (j - (len(c.methods) - 1) / 2) * width
            ax.bar(xs, [m.per_class_precision_at_10.get(n, 0) for n in names], width, label=m.method)
        ax.set_xticks(np.arange(len(names)), names, rotation=45, ha="right")
        ax.set_ylim(0, 1)
        ax.set_ylabel("precision@10")
        ax.set_title(f"Fashion-MNIST precision@10 per class ({c.n_index:,} indexed)")
        ax.legend(fontsize=8)
        ax = next(ax_iter)
        for j, m in enumerate(c.methods):
            colour = f"C{j}"
            ax.plot(ks, m.hit_rate_curve, marker="o", color=colour, label=f"{m.method} hit rate@k")
            ax.plot(ks, m.precision_curve, ls="--", marker=".", color=colour, label=f"{m.method} precision@k")
        ax.set_xlabel("k")
        ax.set_ylim(0, 1.02)
        ax.set_title("Fashion-MNIST: recall (hit rate) and precision @k")
        ax.legend(fontsize=7)
    if report.same_product is not None:
        s = report.same_product
        ax = next(ax_iter)
        for m in s.methods:
            ax.plot(ks, m.recall_curve, marker="o", label=m.method)
        ax.set_xlabel("k")
        ax.set_ylabel("recall@k (source product in top k)")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"Same-product recall@k, {s.queries} augmented queries")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)  # Agg renders PNG
    return path
