"""REST API throughput and latency against the in-process SearchService call it wraps.

Builds the demo catalog (45 photos) in a temp dir, indexes it, serves `lookalike.api` with uvicorn on
127.0.0.1 (loopback only) and sends the demo photos to POST /search/image from 1 and 8 concurrent
clients. The baseline is the same queries through `SearchService.search_image` in-process with the
same number of threads, so the ratio is what HTTP, multipart parsing and JSON cost on top.
/search/text is measured the same way where the encoder embeds text, and reported as skipped otherwise.

    .venv/bin/python benchmarks/api.py [--requests 48] [--max-seconds 20]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from lookalike import demo_data
from lookalike.config import Settings
from lookalike.search import SearchService
from loopback import serve

TOP_K = 10
CONCURRENCY = (1, 8)


@dataclass
class Run:
    latencies: list[float]  # seconds
    wall: float

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def pct(self, q: float) -> float:
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cuts[int(q) - 1] * 1000


def measure(call: Callable[[int], None], clients: int, requests: int, max_seconds: float) -> Run:
    """`requests` calls spread over `clients` threads, stopping early once `max_seconds` have passed."""
    deadline = time.perf_counter() + max_seconds
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        while time.perf_counter() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t = time.perf_counter()
            call(i)
            with lock:
                latencies.append(time.perf_counter() - t)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(worker) for _ in range(clients)]:
            f.result()
    return Run(latencies, time.perf_counter() - started)


def bench_pair(
    name: str,
    http_call: Callable[[httpx.Client, int], None],
    local_call: Callable[[int], None],
    args: argparse.Namespace,
    rows: list[tuple[str, str, str, str]],
) -> None:
    clients = threading.local()

    def over_http(i: int) -> None:
        if not hasattr(clients, "c"):
            clients.c = httpx.Client(timeout=120)
        http_call(clients.c, i)

    local_call(0)  # warm up: the first word query loads the text model and class-name embeddings
    over_http(0)
    for n in CONCURRENCY:
        ours = measure(over_http, n, args.requests, args.max_seconds)
        base = measure(local_call, n, args.requests, args.max_seconds)
        label = f"{name}, {n} client{'s' if n > 1 else ''}"
        rows.append((f"{label}: req/s", f"{ours.rps:.1f}", f"{base.rps:.1f}", f"{ours.rps / base.rps:.2f}"))
        for q in (50, 95):
            o, b = ours.pct(q), base.pct(q)
            rows.append((f"{label}: p{q} ms", f"{o:.0f}", f"{b:.0f}", f"{o / b:.2f}"))
        logging.info("%s: %d http / %d local requests", label, len(ours.latencies), len(base.latencies))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=48, help="requests per measurement (default 48)")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="time cap per measurement")
    parser.add_argument("--wheel", type=Path, help="the saleor-2.10.1 wheel, if not in the cache")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="lookalike-bench-") as tmp:
        root = Path(tmp) / "catalog"
        photos = demo_data.build(root, args.wheel)
        service = SearchService(Settings(data_dir=Path(tmp) / "data", qdrant_url=None, collection="bench"))
        t = time.perf_counter()
        service.index(root)
        logging.info("indexed %d demo photos in %.1fs", len(photos), time.perf_counter() - t)
        queries = [p.read_bytes() for p in photos]
        server, thread, url = serve(service)
        rows: list[tuple[str, str, str, str]] = []
        try:
            with httpx.Client(base_url=url, timeout=120) as warm:  # load the weights, fill caches
                for data in queries[:4]:
                    warm.post("/search/image", files={"file": ("q.png", data)}, data={"top_k": TOP_K})
                    service.search_image(data, top_k=TOP_K)

            def http_image(client: httpx.Client, i: int) -> None:
                r = client.post(
                    f"{url}/search/image",
                    files={"file": (f"q{i}.png", queries[i % len(queries)], "image/png")},
                    data={"top_k": TOP_K},
                )
                r.raise_for_status()

            def local_image(i: int) -> None:
                service.search_image(queries[i % len(queries)], top_k=TOP_K)

            bench_pair("POST /search/image", http_image, local_image, args, rows)

            words = ["red shoes", "white hoodie", "orange juice", "blue paint", "wine", "cushion"]

            def http_text(client: httpx.Client, i: int) -> None:
                r = client.post(f"{url}/search/text", json={"text": words[i % len(words)], "top_k": TOP_K})
                r.raise_for_status()

            def local_text(i: int) -> None:
                service.search_text(words[i % len(words)], top_k=TOP_K)

            bench_pair(f"POST /search/text ({service.text_mode} mode)", http_text, local_text, args, rows)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            service.close()

    print(
        f"\nlookalike REST API vs in-process SearchService, demo index ({len(queries)} photos), top_k={TOP_K}"
    )
    print("ratio = ours / baseline (req/s: below 1 is HTTP overhead; latency: above 1 is HTTP overhead)\n")
    print("| what | ours | baseline | ratio |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
