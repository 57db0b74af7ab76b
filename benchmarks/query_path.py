"""Where one image search spends its time: lookalike's EdgeStore.search taken apart, step by step, next to
the bare Qdrant Edge engine, a bare HNSW library (faiss, if installed: `pip install faiss-cpu`) and exact
numpy brute force, on the same clustered 1280-d vectors in one run, queries interleaved.

    .venv/bin/python benchmarks/query_path.py              # 50k points, about 5 min on 2 idle cores
    .venv/bin/python benchmarks/query_path.py --n 100000

Rows, each cumulative over the one above it:
  engine            shard.query on a ready-made request, no payload          (Qdrant Edge itself)
  + payload         the same request with_payload=True                      (what lookalike asks)
  + request         float list from numpy and the QueryRequest built per query
  EdgeStore.search  + query checks (shape, NaN) and ScoredPoint records     (lookalike's whole store path)
and for the plan: the same with the float vectors in RAM and no quantization (the pre-#13 default).
"""

# ruff: noqa: B023  (the per-store closures run inside the iteration that defines them)
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_scale import _payload, synthetic  # noqa: E402

TOP_K = 10


def _p50(xs: list[float]) -> float:
    return float(np.median(xs) * 1000)


def _exact(index: np.ndarray, q: np.ndarray) -> np.ndarray:
    s = index @ q
    top = np.argpartition(-s, TOP_K - 1)[:TOP_K]
    return top[np.argsort(-s[top])]


def main(argv: list[str] | None = None) -> int:
    import uuid

    import qdrant_edge as qe

    from lookalike.config import Settings
    from lookalike.search import SearchService
    from lookalike.store.base import PointFilter, Schema
    from lookalike.store.edge import EdgeStore
    from lookalike.store.plan import MemoryPlan, edge_search_params

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    index, queries, cats, qcats = synthetic(args.n, args.queries, 1280, args.seed)
    truth = [set(_exact(index, q).tolist()) for q in queries]
    plans = {
        "memory plan (int8, on disk)": MemoryPlan(),
        "floats in RAM (before #13)": MemoryPlan(quantization="none", vectors_on_disk=False),
    }
    rows: list[tuple[str, float, float]] = []

    def recall(ids: list[list[int]]) -> float:
        return float(np.mean([len(set(h) & t) / TOP_K for h, t in zip(ids, truth, strict=True)]))

    with tempfile.TemporaryDirectory() as tmp:
        stores = {}
        for name, plan in plans.items():
            store = EdgeStore(Path(tmp) / name.split()[0], Schema("bench", 1280), plan=plan)
            t = time.perf_counter()
            for s in range(0, args.n, 1024):
                e = min(s + 1024, args.n)
                store.upsert(
                    [str(uuid.UUID(int=i)) for i in range(s, e)],
                    index[s:e],
                    [_payload(i, f"c{cats[i]}") for i in range(s, e)],
                )
            store.optimize()
            print(f"· {name}: built in {time.perf_counter() - t:.0f}s", file=sys.stderr, flush=True)
            stores[name] = store
        faiss_index = None
        try:
            import faiss

            t = time.perf_counter()
            faiss_index = faiss.IndexHNSWFlat(1280, 16, faiss.METRIC_INNER_PRODUCT)
            faiss_index.hnsw.efConstruction = 128
            faiss_index.add(index)
            faiss_index.hnsw.efSearch = 128
            # one query searches on one thread anyway; idle OpenMP workers would spin for ~0.2 s after each
            # search and steal the core from the next Qdrant query (seen here: engine p50 25 ms, not 0.3)
            faiss.omp_set_num_threads(1)
            print(f"· faiss HNSW: built in {time.perf_counter() - t:.0f}s", file=sys.stderr, flush=True)
        except ImportError:
            print("· faiss not installed: no bare-HNSW baseline", file=sys.stderr)

        lists = [q.tolist() for q in queries]
        base: dict[str, list[float]] = {"numpy": [], "faiss": []}
        fids: list[list[int]] = []
        for name, store in stores.items():
            shard, params = store._shard, store._search_params
            ready = [
                qe.QueryRequest(limit=TOP_K, query=qe.Query.Nearest(v, using="image"), params=params)
                for v in lists
            ]
            ready_p = [
                qe.QueryRequest(
                    limit=TOP_K, query=qe.Query.Nearest(v, using="image"), params=params, with_payload=True
                )
                for v in lists
            ]
            for r in ready[:20]:
                shard.query(r)

            def request(i: int) -> object:
                req = qe.QueryRequest(
                    limit=TOP_K,
                    query=qe.Query.Nearest(queries[i].tolist(), using="image"),
                    params=params,
                    with_payload=True,
                )
                return shard.query(req)

            def after_numpy(i: int) -> object:
                _exact(index, queries[i])
                t = time.perf_counter()
                store.search(queries[i], TOP_K)
                return time.perf_counter() - t

            calls = {
                "engine": lambda i: shard.query(ready[i]),
                "payload": lambda i: shard.query(ready_p[i]),
                "request": request,
                "store": lambda i: store.search(queries[i], TOP_K),
                "filtered": lambda i: store.search(queries[i], TOP_K, PointFilter(category=f"c{qcats[i]}")),
                "numpy": lambda i: _exact(index, queries[i]),
                "after_numpy": after_numpy,
            }
            service = SearchService(Settings(data_dir=Path(tmp) / "service"), store=store)
            calls["service"] = lambda i: service.search_vector(queries[i], TOP_K)
            calls["service_f"] = lambda i: service.search_vector(queries[i], TOP_K, category=f"c{qcats[i]}")
            calls["category_check"] = lambda i: service._check_query(TOP_K, f"c{qcats[i]}")
            if faiss_index is not None:
                calls["faiss"] = lambda i: faiss_index.search(queries[i][None, :], TOP_K)[1][0]
            steps: dict[str, list[float]] = {k: [] for k in calls}
            got: dict[str, dict[int, list[int]]] = {"engine": {}, "store": {}, "faiss": {}}
            # each step in its own block of queries, blocks in rounds: a step never pays for the one
            # before it (a brute-force matmul leaves the next query ~10× slower: row "after numpy")
            rounds = 3
            for r in range(rounds):
                for key, call in calls.items():
                    for i in range(r, len(queries), rounds):
                        t = time.perf_counter()
                        out = call(i)
                        dt = time.perf_counter() - t
                        steps[key].append(out if key == "after_numpy" else dt)
                        if key in ("engine", "store"):
                            got[key][i] = [uuid.UUID(str(p.id)).int for p in out]
                        elif key == "faiss":
                            got[key][i] = out.tolist()
            base["numpy"] += steps["numpy"]
            base["faiss"] += steps.get("faiss", [])
            fids[:] = [got["faiss"][i] for i in sorted(got["faiss"])]
            got_l = {k: [v[i] for i in sorted(v)] for k, v in got.items()}
            rows += [
                (f"{name}: engine, no payload", _p50(steps["engine"]), recall(got_l["engine"])),
                (f"{name}: + payload", _p50(steps["payload"]), float("nan")),
                (f"{name}: + request from numpy", _p50(steps["request"]), float("nan")),
                (
                    f"{name}: EdgeStore.search (all of lookalike's store path)",
                    _p50(steps["store"]),
                    recall(got_l["store"]),
                ),
                (
                    f"{name}: EdgeStore.search straight after a numpy brute force",
                    _p50(steps["after_numpy"]),
                    float("nan"),
                ),
                (f"{name}: EdgeStore.search, 1 of 10 categories", _p50(steps["filtered"]), float("nan")),
                (
                    f"{name}: SearchService.search_vector (products, best view each)",
                    _p50(steps["service"]),
                    float("nan"),
                ),
                (
                    f"{name}: SearchService.search_vector, 1 of 10 categories",
                    _p50(steps["service_f"]),
                    float("nan"),
                ),
                (f"{name}: of which the category check", _p50(steps["category_check"]), float("nan")),
            ]
            for ef in (32, 64, 256):
                p = edge_search_params(replace(store.plan, search_ef=ef))
                ms, ids = [], []
                for v in lists:
                    req = qe.QueryRequest(limit=TOP_K, query=qe.Query.Nearest(v, using="image"), params=p)
                    t = time.perf_counter()
                    res = shard.query(req)
                    ms.append(time.perf_counter() - t)
                    ids.append([uuid.UUID(str(x.id)).int for x in res])
                rows.append((f"{name}: engine at ef={ef}", _p50(ms), recall(ids)))

        rows.append(("numpy exact (matmul + top-k)", _p50(base["numpy"]), 1.0))
        if faiss_index is not None:
            rows.append(("faiss HNSW m=16 ef=128, floats in RAM", _p50(base["faiss"]), recall(fids)))
            for ef in (32, 64):
                faiss_index.hnsw.efSearch = ef
                ms, ids = [], []
                for q in queries:
                    t = time.perf_counter()
                    _, found = faiss_index.search(q[None, :], TOP_K)
                    ms.append(time.perf_counter() - t)
                    ids.append(found[0].tolist())
                rows.append((f"faiss HNSW ef={ef}", _p50(ms), recall(ids)))
        for store in stores.values():
            store.close()

    numpy_p50 = rows[[r[0] for r in rows].index("numpy exact (matmul + top-k)")][1]
    print(f"| {args.n:,} × 1280, {args.queries} queries | p50 ms | recall@10 | vs numpy exact |")
    print("|---|---|---|---|")
    for what, ms, rec in rows:
        r = "—" if np.isnan(rec) else f"{rec:.3f}"
        print(f"| {what} | {ms:.3f} | {r} | {ms / numpy_p50:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
