"""Shop filters at scale: filtered image search against unfiltered search on the same store, in one run.

70,000 clustered synthetic 1280-d vectors (EfficientNet-Lite0's size) with shop payloads go through
lookalike's own store code (Qdrant Edge by default) and SearchService.search_vector (the image search path
after the query photo is encoded). Each query runs unfiltered and with every filter, interleaved query by
query (the order rotating), so machine load hits all alike. Recall@10 of each filtered search is checked
against exact brute force over the points that match the filter.

    .venv/bin/python benchmarks/filtered.py                  # 70k points, 200 queries: a few minutes
    .venv/bin/python benchmarks/filtered.py --n 10000 --queries 50

Payloads: category = cluster mod 10 (10 %), price uniform 5–200 with 10 % unpriced, availability in stock
80 % / out of stock 15 % / none 5 %, 20 brands, families of 4 (item_group_id). Prints a markdown table
`what | p50 ms | p95 ms | ratio to unfiltered | recall@10 | points matching`; writes JSON to
benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_scale import synthetic  # noqa: E402 - the same clustered vectors as the scale benchmark

RESULTS = Path(__file__).resolve().parent / "results"
TOP_K = 10
DIM = 1280


def payloads(n: int, cats: np.ndarray, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed + 1)
    price = np.round(rng.uniform(5, 200, n), 2)
    priced = rng.random(n) >= 0.10
    stock = rng.choice(["in_stock", "out_of_stock", ""], size=n, p=[0.80, 0.15, 0.05])
    brand = rng.integers(0, 20, n)
    out = []
    for i in range(n):
        p: dict[str, Any] = {
            "product_id": f"p{i}",
            "category": f"c{cats[i]}",
            "path": f"/bench/{i}.png",
            "rel_path": f"c{cats[i]}/{i}.png",
            "sha256": "0" * 64,
            "title": None,
            "brand": f"brand{brand[i]}",
            "item_group_id": f"g{i // 4}",
        }
        if priced[i]:
            p["price"] = float(price[i])
        if stock[i]:
            p["availability"] = str(stock[i])
        out.append(p)
    return out


def pct(ms: list[float], q: float) -> float:
    return float(np.percentile(ms, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=70_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from lookalike.config import Settings
    from lookalike.result_shape import ResultShape
    from lookalike.search import SearchService
    from lookalike.shop_filter import ShopFilter
    from lookalike.store.base import PointFilter, Schema
    from lookalike.store.edge import EdgeStore

    index, queries, cats, _ = synthetic(args.n, args.queries, DIM, args.seed)
    pays = payloads(args.n, cats, args.seed)
    shops: dict[str, tuple[str | None, ShopFilter | None]] = {
        "unfiltered": (None, None),
        "in stock": (None, ShopFilter(in_stock=True)),
        "price 20–60": (None, ShopFilter(min_price=20, max_price=60)),
        "category (1 of 10)": ("c3", None),
        "brand (1 of 20)": (None, ShopFilter(brand="brand7")),
        "in stock + price ≤ 50 + category": ("c3", ShopFilter(in_stock=True, max_price=50)),
    }

    def matches(category: str | None, shop: ShopFilter | None) -> np.ndarray:
        return np.array(
            [
                (category is None or p["category"] == category) and (shop is None or shop.matches(p))
                for p in pays
            ]
        )

    masks = {name: matches(*f) for name, f in shops.items()}
    with tempfile.TemporaryDirectory(prefix="lookalike-filtered-") as tmp:
        store = EdgeStore(Path(tmp) / "edge", Schema("bench", DIM))
        t0 = time.perf_counter()
        for s in range(0, args.n, 1024):
            e = min(s + 1024, args.n)
            store.upsert([str(uuid.UUID(int=i)) for i in range(s, e)], index[s:e], pays[s:e])
        store.optimize()
        build_s = time.perf_counter() - t0
        service = SearchService(Settings(data_dir=Path(tmp) / "data", qdrant_url=None), store=store)

        runs: dict[str, Callable[[np.ndarray], Any]] = {}
        for name, (category, shop) in shops.items():
            flt = PointFilter(category=category, shop=shop)
            runs[f"store: {name}"] = lambda q, flt=flt: store.search(q, TOP_K, flt)
            runs[f"image search: {name}"] = lambda q, c=category, s=shop: service.search_vector(
                q, TOP_K, c, shape=ResultShape(shop=s)
            )
        families, diverse = ResultShape(families=True), ResultShape(diverse=True)
        runs["image search: families"] = lambda q: service.search_vector(q, TOP_K, shape=families)
        runs["image search: diverse"] = lambda q: service.search_vector(q, TOP_K, shape=diverse)
        in_stock_families = ResultShape(shop=ShopFilter(in_stock=True), families=True)
        runs["image search: in stock + families"] = lambda q: service.search_vector(
            q, TOP_K, shape=in_stock_families
        )
        for q in queries[:10]:  # warm-up
            for run in runs.values():
                run(q)
        lat: dict[str, list[float]] = {name: [] for name in runs}
        recall: dict[str, list[float]] = {name: [] for name in shops}
        names = list(runs)
        for j, q in enumerate(queries):
            for name in names[j % len(names) :] + names[: j % len(names)]:  # rotate the order
                t = time.perf_counter()
                got = runs[name](q)
                lat[name].append((time.perf_counter() - t) * 1000)
                if name.startswith("store: "):
                    shop_name = name.removeprefix("store: ")
                    ok = np.flatnonzero(masks[shop_name])
                    exact = ok[np.argsort(-(index[ok] @ q), kind="stable")[:TOP_K]]
                    want = {str(uuid.UUID(int=int(i))) for i in exact}
                    recall[shop_name].append(len(want & {p.id for p in got}) / max(1, len(want)))
        store.close()

    rows = []
    for prefix in ("store: ", "image search: "):
        base = statistics.median(lat[f"{prefix}unfiltered"])
        for name in names:
            if not name.startswith(prefix):
                continue
            short = name.removeprefix(prefix)
            p50 = statistics.median(lat[name])
            rows.append(
                {
                    "what": name,
                    "p50_ms": p50,
                    "p95_ms": pct(lat[name], 95),
                    "ratio": p50 / base,
                    "recall_at_10": float(np.mean(recall[short]))
                    if short in recall and prefix == "store: "
                    else None,
                    "matching": float(masks[short].mean()) if short in masks else None,
                }
            )
    print(
        f"\n{args.n:,} points × {DIM}-d (synthetic, clustered), Qdrant Edge, {args.queries} queries; "
        f"ingest + HNSW build {build_s:.0f}s\n"
    )
    print("| what | p50 ms | p95 ms | ratio to unfiltered | recall@10 | points matching |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        rec = "" if r["recall_at_10"] is None else f"{r['recall_at_10']:.3f}"
        match = "" if r["matching"] is None else f"{100 * r['matching']:.1f} %"
        print(
            f"| {r['what']} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['ratio']:.2f}× | {rec} | {match} |"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"filtered-{int(time.time())}.json"
    out.write_text(
        json.dumps({"n": args.n, "dim": DIM, "queries": args.queries, "build_s": build_s, "rows": rows})
    )
    print(f"\nraw numbers: {out}")


if __name__ == "__main__":
    main()
