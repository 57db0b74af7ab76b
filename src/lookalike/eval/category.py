"""Category relevance on Fashion-MNIST: index the train split, query with the test split; a result is
relevant when it has the query's class. Scored for the encoder and, in the same run, raw pixels and random.

The default `lookalike eval` runs a sample (SAMPLE_INDEX indexed, SAMPLE_QUERY queries; minutes on two
cores); `--full` runs all 60,000 / 10,000 (about 40 minutes, embeddings cached for the next run).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lookalike.config import Settings
from lookalike.encoders import Encoder
from lookalike.errors import LookalikeError
from lookalike.eval import fashion_mnist
from lookalike.eval.baselines import PIXELS, RANDOM, brute_force_top_k, normalise_rows
from lookalike.eval.metrics import K, average_precision_at_k, hit_rate_at_k, mean, precision_at_k
from lookalike.store import Schema, VectorStore, open_store

log = logging.getLogger(__name__)

CACHE_CHUNK = 1000  # Fashion-MNIST embeddings are cached in chunks of this many images
SAMPLE_INDEX = 5_000  # the default sample: the first images of the (already shuffled) published files
SAMPLE_QUERY = 1_000


def default_cache_dir() -> Path:
    """Where `lookalike eval --cache` and the benchmarks keep Fashion-MNIST embeddings."""
    from lookalike.demo_data import default_cache

    return default_cache() / "fmnist-embeddings"


def _bar(total: int, desc: str, progress: bool, unit: str = "img") -> tqdm:
    return tqdm(total=total, desc=desc, unit=unit, disable=not progress, leave=False)


def _temp_store(encoder: Encoder, parent: str) -> VectorStore:
    """A throw-away embedded collection, opened through the same factory as the product's own."""
    settings = Settings(data_dir=Path(parent) / "data", qdrant_url=None, collection="eval")
    return open_store(settings, Schema(encoder.name, encoder.dim))


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
    n_train: int  # the whole split: n_index < n_train means a sample
    n_test: int
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
    full: bool = False,
) -> CategoryReport:
    """Index the first n_index train images in an embedded Qdrant store, query it with the first n_query
    test images (the published files are already shuffled), and score encoder and baselines.

    n_index/n_query None: the sample (SAMPLE_INDEX/SAMPLE_QUERY), or every image with full=True.
    """
    train = fashion_mnist.load("train", fmnist_dir)
    test = fashion_mnist.load("t10k", fmnist_dir)
    n_index = _subset(n_index, len(train), "n_index", None if full else SAMPLE_INDEX)
    n_query = _subset(n_query, len(test), "n_query", None if full else SAMPLE_QUERY)
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
        n_train=len(train),
        n_test=len(test),
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


def _subset(n: int | None, total: int, name: str, sample: int | None) -> int:
    if n is None:
        return total if sample is None else min(sample, total)
    if not 1 <= n <= total:
        raise LookalikeError(f"{name} must be between 1 and {total:,}, not {n:,}")
    return n
