"""POST /search/batch of N photos against N single POST /search/image requests, in the same run.

Builds the demo catalog (45 photos) in a temp dir, indexes it, serves `lookalike.api` with uvicorn on
127.0.0.1 (loopback only) and sends N demo photos (base64 in JSON, whole-photo search, the batch
default) as one batch and as N single requests: one after the other from one client, and from 4
concurrent clients. Rounds alternate the order of the three, so machine load hits all alike; the
median round is reported. The same comparison in-process (SearchService.search_batch against N
search_image calls) shows how much of the gain is the encoder batch and the store's batch query.

    .venv/bin/python benchmarks/batch.py [--size 16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from lookalike import demo_data
from lookalike.config import Settings
from lookalike.search import ImageQuery, SearchService
from loopback import serve

TOP_K = 10
CLIENTS = 4
RESULTS = Path(__file__).parent / "results"


def timed(call: Callable[[], object]) -> float:
    t = time.perf_counter()
    call()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=16, help="photos per batch (default 16)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--wheel", type=Path, help="the saleor-2.10.1 wheel, if not in the cache")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="lookalike-bench-") as tmp:
        root = Path(tmp) / "catalog"
        photos = demo_data.build(root, args.wheel)[: args.size]
        settings = Settings(data_dir=Path(tmp) / "data", qdrant_url=None, collection="bench")
        service = SearchService(settings)
        service.index(root)
        raw = [p.read_bytes() for p in photos]
        items = [{"image_b64": base64.b64encode(d).decode(), "top_k": TOP_K, "region": "whole"} for d in raw]
        body = json.dumps({"queries": items}).encode()
        if len(body) > settings.max_upload_bytes:
            raise SystemExit(
                f"the batch body ({len(body):,} bytes) is over the upload limit; use fewer photos"
            )
        server, thread, url = serve(service)
        try:
            with httpx.Client(base_url=url, timeout=300) as client:

                def batch() -> list[list[str]]:
                    r = client.post(
                        "/search/batch", content=body, headers={"Content-Type": "application/json"}
                    )
                    r.raise_for_status()
                    return [[h["product_id"] for h in x["hits"]] for x in r.json()["results"]]

                def single(item: dict, c: httpx.Client = client) -> list[str]:
                    r = c.post("/search/image", json=item)
                    r.raise_for_status()
                    return [h["product_id"] for h in r.json()["hits"]]

                def singles() -> list[list[str]]:
                    return [single(item) for item in items]

                pool_clients = [httpx.Client(base_url=url, timeout=300) for _ in range(CLIENTS)]

                def concurrent() -> None:
                    with ThreadPoolExecutor(CLIENTS) as pool:
                        list(
                            pool.map(
                                lambda ic: single(ic[1], pool_clients[ic[0] % CLIENTS]), enumerate(items)
                            )
                        )

                def local_batch() -> None:
                    service.search_batch([ImageQuery(d, TOP_K, region="whole") for d in raw])

                def local_singles() -> None:
                    for d in raw:
                        service.search_image(d, top_k=TOP_K, region="whole")

                same = batch() == singles()  # warm-up, and the answers must agree
                concurrent()
                local_batch()
                local_singles()
                runs: dict[str, list[float]] = {k: [] for k in ("batch", "seq", "conc", "lbatch", "lsingle")}
                calls = {
                    "batch": batch,
                    "seq": singles,
                    "conc": concurrent,
                    "lbatch": local_batch,
                    "lsingle": local_singles,
                }
                order = list(calls)
                for r in range(args.rounds):
                    for key in order[r % len(order) :] + order[: r % len(order)]:  # rotate the order
                        runs[key].append(timed(calls[key]))
                    logging.info(
                        "round %d: %s", r + 1, {k: f"{v[-1] * 1000:.0f} ms" for k, v in runs.items()}
                    )
                for c in pool_clients:
                    c.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            service.close()

    med = {k: statistics.median(v) * 1000 for k, v in runs.items()}
    n = len(items)
    rows = [
        (f"{n} photos over HTTP: batch vs {n} requests one by one, ms", med["batch"], med["seq"]),
        (
            f"{n} photos over HTTP: batch vs {n} requests from {CLIENTS} clients, ms",
            med["batch"],
            med["conc"],
        ),
        (f"{n} photos in-process: search_batch vs {n} × search_image, ms", med["lbatch"], med["lsingle"]),
    ]
    print(f"\nPOST /search/batch vs single POST /search/image, demo index, {n} photos, top_k={TOP_K}, whole")
    print(f"median of {args.rounds} rounds; ratio = baseline / batch (above 1: the batch is faster)")
    print(f"answers identical to single requests: {same}\n")
    print("| what | batch | baseline | ratio |")
    print("|---|---:|---:|---:|")
    for what, ours, base in rows:
        print(f"| {what} | {ours:.0f} | {base:.0f} | {base / ours:.2f}× |")
    print(f"| per photo, batch over HTTP, ms | {med['batch'] / n:.1f} | {med['seq'] / n:.1f} | |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "batch.json").write_text(json.dumps({"size": n, "rounds": runs, "identical": same}, indent=2))


if __name__ == "__main__":
    main()
