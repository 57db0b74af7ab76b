"""Relevance of the real encoder's vectors under lookalike's memory plan: all 70,000 Fashion-MNIST images.

The index is the 60,000 train images, the queries are the 10,000 test images (t10k), all embedded by the
real encoder (EfficientNet-Lite0, 1280-d, from the cache `search_scale.py --embed` fills). Each query is
answered three ways in the same run:

- the Edge store with the default memory plan (int8 copies, 2× oversampling, float rescoring, floats on
  disk, HNSW ef 128) — what `lookalike` ships;
- the Edge store with floats only, in RAM (no quantization) — separates what int8 costs from what HNSW costs;
- exact float search (numpy matmul over all 60k) — the baseline.

Reported: precision@10 by class (share of the top 10 with the query's class, per Fashion-MNIST class and
overall), recall@10 against the exact top 10, and latency p50/p95 of single queries. Every kind of search
is timed in its own loop after untimed warm-up queries (interleaving a matmul with store queries evicts
what the store needs; see scale_million.py). Nothing is tuned here.

    PYTHONPATH=src .venv/bin/python benchmarks/fmnist_relevance.py [--timed 2000] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
TOP_K = 10
ENCODER, DIM = "efficientnet-lite0", 1280
WARMUP = 100


def load(cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train vectors and labels (the index), t10k vectors and labels (the queries), unit length."""
    from lookalike.eval import fashion_mnist
    from lookalike.eval.category import CACHE_CHUNK, cache_file

    def split(name: str, rows: int) -> np.ndarray:
        paths = [cache_file(cache, ENCODER, name, c) for c in range(-(-rows // CACHE_CHUNK))]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise SystemExit(
                f"{len(missing)} embedding chunks missing in {cache} (e.g. {missing[0]}): "
                "run benchmarks/search_scale.py --embed --fmnist-sizes 70000 first"
            )
        v = np.concatenate([np.load(p) for p in paths])[:rows].astype(np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    train, test = split("train", 60_000), split("t10k", 10_000)
    ytrain = fashion_mnist.load("train").labels[:60_000].astype(np.int64)
    ytest = fashion_mnist.load("t10k").labels[:10_000].astype(np.int64)
    return train, ytrain, test, ytest


def exact_topk(index: np.ndarray, queries: np.ndarray, k: int = TOP_K, batch: int = 500) -> np.ndarray:
    out = np.empty((len(queries), k), dtype=np.int64)
    for s in range(0, len(queries), batch):
        scores = queries[s : s + batch] @ index.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        out[s : s + batch] = np.take_along_axis(top, order, axis=1)
    return out


def _exact1(index: np.ndarray, q: np.ndarray) -> np.ndarray:
    scores = index @ q
    top = np.argpartition(-scores, TOP_K - 1)[:TOP_K]
    return top[np.argsort(-scores[top])]


def _pct(seconds: list[float]) -> list[float]:
    ms = np.asarray(seconds) * 1000
    return [float(np.percentile(ms, p)) for p in (50, 95)]


def precision_by_class(ids: np.ndarray, ytrain: np.ndarray, ytest: np.ndarray) -> dict[str, float]:
    from lookalike.eval.fashion_mnist import CLASS_NAMES

    same = (ytrain[ids] == ytest[:, None]).mean(axis=1)
    out = {name: float(same[ytest == c].mean()) for c, name in enumerate(CLASS_NAMES)}
    out["all"] = float(same.mean())
    return out


def store_run(plan, train, ytrain, test, timed: int, tmp: Path) -> dict:
    """An Edge store of the train vectors under `plan`: every test query answered, `timed` of them timed."""
    from lookalike.eval.fashion_mnist import CLASS_NAMES
    from lookalike.store.base import Schema
    from lookalike.store.edge import EdgeStore

    store = EdgeStore(tmp, Schema("bench", DIM), plan=plan)
    try:
        t0 = time.perf_counter()
        for s in range(0, len(train), 1024):
            e = min(s + 1024, len(train))
            payloads = [
                {
                    "product_id": f"p{i}",
                    "category": CLASS_NAMES[ytrain[i]],
                    "path": f"/bench/{i}.png",
                    "rel_path": f"{i}.png",
                    "sha256": "0" * 64,
                    "title": None,
                }
                for i in range(s, e)
            ]
            store.upsert([str(uuid.UUID(int=i)) for i in range(s, e)], train[s:e], payloads)
        t1 = time.perf_counter()
        store.optimize()
        t2 = time.perf_counter()
        warm = test[-WARMUP:]  # untimed; the timed queries are the first `timed`
        for q in warm:
            store.search(q, TOP_K)
        ids = np.empty((len(test), TOP_K), dtype=np.int64)
        lat = []
        for i, q in enumerate(test):
            t = time.perf_counter()
            hits = store.search(q, TOP_K)
            if i < timed:
                lat.append(time.perf_counter() - t)
            got = [uuid.UUID(h.id).int for h in hits]
            ids[i] = got + [-1] * (TOP_K - len(got))
    finally:
        store.close()
    return {"ids": ids, "latency": _pct(lat), "upsert_s": t1 - t0, "build_s": t2 - t1}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/lookalike/fmnist-embeddings")
    ap.add_argument("--timed", type=int, default=2000, help="queries timed one by one (all 10k are scored)")
    args = ap.parse_args()

    from lookalike.eval.fashion_mnist import CLASS_NAMES
    from lookalike.store.plan import MemoryPlan

    train, ytrain, test, ytest = load(args.cache_dir)
    print(f"index {len(train):,} train vectors, {len(test):,} t10k queries", file=sys.stderr, flush=True)
    truth = exact_topk(train, test)
    for q in test[-WARMUP:]:
        _exact1(train, q)
    exact_lat = []
    for q in test[: args.timed]:
        t = time.perf_counter()
        _exact1(train, q)
        exact_lat.append(time.perf_counter() - t)

    plans = {
        "default plan": MemoryPlan(),
        "floats in RAM": MemoryPlan(quantization="none", vectors_on_disk=False),
    }
    runs = {}
    with tempfile.TemporaryDirectory(prefix="lookalike-fmnist-") as tmp:
        for i, (label, plan) in enumerate(plans.items()):
            print(f"· {label}: {plan.describe()} …", file=sys.stderr, flush=True)
            runs[label] = store_run(plan, train, ytrain, test, args.timed, Path(tmp) / f"s{i}")
    for r in runs.values():
        r["recall"] = float(
            np.mean([len(set(a) & set(b)) / TOP_K for a, b in zip(r["ids"], truth, strict=True)])
        )
        r["precision"] = precision_by_class(r.pop("ids"), ytrain, ytest)
    exact = {"latency": _pct(exact_lat), "precision": precision_by_class(truth, ytrain, ytest), "recall": 1.0}

    cols = [*runs, "exact float (numpy)"]
    res = [*runs.values(), exact]
    rows = [
        "| Fashion-MNIST, real encoder: 60,000 train indexed, 10,000 t10k queries | "
        + " | ".join(cols)
        + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for name in [*CLASS_NAMES, "all"]:
        label = "**precision@10, all classes**" if name == "all" else f"precision@10 `{name}`"
        rows.append(f"| {label} | " + " | ".join(f"{r['precision'][name]:.3f}" for r in res) + " |")
    rows.append("| recall@10 vs exact | " + " | ".join(f"{r['recall']:.3f}" for r in res) + " |")
    rows.append(
        f"| single query ms p50 / p95 ({args.timed:,} timed) | "
        + " | ".join(f"{r['latency'][0]:.2f} / {r['latency'][1]:.2f}" for r in res)
        + " |"
    )
    rows.append(
        "| ingest s (upsert + index build) | "
        + " | ".join(f"{r['upsert_s']:.0f} + {r['build_s']:.0f}" for r in runs.values())
        + " | — |"
    )
    text = "\n".join(rows)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"fmnist_relevance-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {"plans": {k: p.describe() for k, p in plans.items()}, "runs": runs, "exact": exact}, indent=2
        )
    )
    print(f"\nJSON: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
