"""Load: concurrent clients hammer /search/image and /search/text while new products are indexed.

Builds the demo catalog (45 photos) in a temp dir, indexes it, serves `lookalike.api` with uvicorn on
127.0.0.1 (loopback only) and, for 1, 8 and 32 concurrent clients, sends search requests for a fixed
time per level while new products keep arriving in the catalog and being indexed. Reports throughput,
p50/p99 latency and the error count (must be 0), then checks that every product indexed during the
run is found by its own photo. The baseline is the same calls on the in-process SearchService with
as many threads, under the same background indexing, so the ratio is what the HTTP face costs.

Indexing runs as `SearchService.index(catalog)` in a thread of the server process, on the very
service uvicorn serves: the embedded store admits one process only (a second `lookalike index` would
be told the index is in use), and this is the code path `lookalike index` runs. Clients, server and
indexer share one process and the machine's cores, so "ours" also pays for the clients.

    .venv/bin/python benchmarks/load.py [--clients 1,8,32] [--seconds 15] [--batch 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from lookalike import demo_data
from lookalike.config import Settings
from lookalike.images import load_image
from lookalike.search import SearchService
from loopback import serve

TOP_K = 10
WORDS = ["red shoes", "white hoodie", "orange juice", "blue paint", "wine", "parrot cushion", "black t-shirt"]
NEW_FOLDER = "New_Arrivals"
RESULTS = Path(__file__).parent / "results"
log = logging.getLogger("load")


# -- measuring -----------------------------------------------------------------------------------------
@dataclass
class Phase:
    """One measurement: `clients` callers for `seconds`, every latency and every error kept."""

    name: str
    clients: int
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful calls
    errors: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def pct_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies, q) * 1000) if self.latencies else float("nan")

    def summary(self) -> dict[str, object]:
        return {
            "name": self.name,
            "clients": self.clients,
            "requests": len(self.latencies),
            "rps": self.rps,
            "p50_ms": self.pct_ms(50),
            "p99_ms": self.pct_ms(99),
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
        }


async def _http_phase(
    phase: Phase, url: str, request: Callable[[httpx.AsyncClient, int], object], seconds: float
):
    """`phase.clients` concurrent async callers, each on its own connection, until the time is up."""
    deadline = time.perf_counter() + seconds

    async def caller(k: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            i = k
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    r = await request(client, i)  # type: ignore[misc]
                    if r.status_code == 200:
                        phase.latencies.append(time.perf_counter() - t)
                    else:
                        phase.errors.append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    phase.errors.append(f"{type(exc).__name__}: {exc}")
                i += phase.clients

    started = time.perf_counter()
    await asyncio.gather(*(caller(k) for k in range(phase.clients)))
    phase.wall = time.perf_counter() - started


def _local_phase(phase: Phase, call: Callable[[int], object], seconds: float) -> None:
    """The baseline: `phase.clients` threads calling the service in-process until the time is up."""
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()

    def worker(k: int) -> None:
        i = k
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            try:
                call(i)
                with lock:
                    phase.latencies.append(time.perf_counter() - t)
            except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
                with lock:
                    phase.errors.append(f"{type(exc).__name__}: {exc}")
            i += phase.clients

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(phase.clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    phase.wall = time.perf_counter() - started


# -- new products arriving during the run ----------------------------------------------------------------
def new_photo(source: Path, seed: int) -> Image.Image:
    """A new product photo: a demo photo mirrored, cropped, turned and recoloured (seeded)."""
    rng = random.Random(seed)
    img = load_image(source)
    w, h = img.size
    dx, dy = int(w * rng.uniform(0, 0.15)), int(h * rng.uniform(0, 0.15))
    img = ImageOps.mirror(img.crop((dx, dy, w - dx // 2, h - dy // 2))).rotate(
        rng.uniform(-12, 12), fillcolor="white"
    )
    img = ImageEnhance.Color(img).enhance(rng.uniform(0.3, 1.7))
    return ImageEnhance.Brightness(img).enhance(rng.uniform(0.8, 1.2))


class Indexer(threading.Thread):
    """Adds `batch` new product photos to the catalog, runs `index` on it, and again until stopped."""

    def __init__(self, service: SearchService, root: Path, sources: list[Path], batch: int):
        super().__init__(name="indexer", daemon=True)
        self.service, self.root, self.sources, self.batch = service, root, sources, batch
        self.stop = threading.Event()
        self.added: dict[str, Path] = {}  # product id → photo, once `index` has returned
        self.rounds = 0
        self.embedded = 0
        self.index_seconds = 0.0
        self.failures: list[str] = []

    def run(self) -> None:
        folder = self.root / NEW_FOLDER
        folder.mkdir(exist_ok=True)
        while not self.stop.is_set():
            fresh = {}
            for i in range(self.batch):
                n = self.rounds * self.batch + i
                path = folder / f"arrival-{n:04d}.png"
                new_photo(self.sources[n % len(self.sources)], seed=n).save(path)
                fresh[path.stem] = path
            t = time.perf_counter()
            try:
                report = self.service.index(self.root)
            except Exception as exc:  # noqa: BLE001 - reported as a failure of the run
                self.failures.append(f"index: {type(exc).__name__}: {exc}")
                return
            self.index_seconds += time.perf_counter() - t
            self.failures += [f"{rel}: {why}" for rel, why in report.failed]
            self.embedded += report.embedded
            self.added.update(fresh)
            self.rounds += 1


# -- the run ----------------------------------------------------------------------------------------------
def run_levels(
    service: SearchService, url: str, photos: list[bytes], args: argparse.Namespace
) -> list[tuple[Phase, Phase]]:
    """(ours, baseline) per endpoint and client count, each measured for args.seconds."""

    def http_image(c: httpx.AsyncClient, i: int):
        data = photos[i % len(photos)]
        return c.post(
            "/search/image", files={"file": (f"q{i}.png", data, "image/png")}, data={"top_k": TOP_K}
        )

    def http_text(c: httpx.AsyncClient, i: int):
        return c.post("/search/text", json={"text": WORDS[i % len(WORDS)], "top_k": TOP_K})

    def local_image(i: int) -> object:
        return service.search_image(photos[i % len(photos)], top_k=TOP_K)

    def local_text(i: int) -> object:
        return service.search_text(WORDS[i % len(WORDS)], top_k=TOP_K)

    pairs = []
    for clients in args.clients:
        for name, http_call, local_call in (
            ("POST /search/image", http_image, local_image),
            ("POST /search/text", http_text, local_text),
        ):
            ours, base = Phase(name, clients), Phase(name, clients)
            asyncio.run(_http_phase(ours, url, http_call, args.seconds))
            _local_phase(base, local_call, args.seconds)
            log.info(
                "%s, clients=%d: %d http (%d errors), %d local",
                name,
                clients,
                len(ours.latencies),
                len(ours.errors),
                len(base.latencies),
            )
            pairs.append((ours, base))
    return pairs


def check_searchable(url: str, added: dict[str, Path]) -> list[str]:
    """Product ids indexed during the run that their own photo does not find (must be none)."""
    missing = []
    with httpx.Client(base_url=url, timeout=120) as c:
        for pid, path in sorted(added.items()):
            r = c.post(
                "/search/image",
                files={"file": (path.name, path.read_bytes(), "image/png")},
                data={"top_k": 5},
            )
            if r.status_code != 200 or pid not in [h["product_id"] for h in r.json()["hits"]]:
                missing.append(pid)
    return missing


def table(
    pairs: list[tuple[Phase, Phase]], indexer: Indexer, missing: list[str], points: tuple[int, int]
) -> list[tuple[str, str, str, str]]:
    rows = []
    for ours, base in pairs:
        label = f"{ours.name}, {ours.clients} client{'s' if ours.clients > 1 else ''}"
        rows.append(
            (
                f"{label}: req/s",
                f"{ours.rps:.1f}",
                f"{base.rps:.1f}",
                f"{ours.rps / base.rps:.2f}" if base.rps else "–",
            )
        )
        for q in (50, 99):
            o, b = ours.pct_ms(q), base.pct_ms(q)
            rows.append((f"{label}: p{q} ms", f"{o:.0f}", f"{b:.0f}", f"{o / b:.2f}" if b else "–"))
        rows.append((f"{label}: errors", str(len(ours.errors)), str(len(base.errors)), "–"))
    rate = indexer.embedded / indexer.index_seconds if indexer.index_seconds else 0.0
    rows.append(
        (
            "index during load: rounds / new images / img/s",
            f"{indexer.rounds} / {indexer.embedded} / {rate:.1f}",
            "–",
            "–",
        )
    )
    rows.append(("index failures", str(len(indexer.failures)), "–", "–"))
    found = len(indexer.added) - len(missing)
    rows.append(("new products found by their photo at the end", f"{found}/{len(indexer.added)}", "–", "–"))
    rows.append(("points in the index: expected / counted", f"{points[0]} / {points[1]}", "–", "–"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32])
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="duration of each measurement (default 15)"
    )
    parser.add_argument("--batch", type=int, default=4, help="new products per index round (default 4)")
    parser.add_argument("--wheel", type=Path, help="the saleor-2.10.1 wheel, if not in the cache")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("httpx", "lookalike"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="lookalike-load-") as tmp:
        root = Path(tmp) / "catalog"
        sources = demo_data.build(root, args.wheel)
        service = SearchService(Settings(data_dir=Path(tmp) / "data", qdrant_url=None, collection="load"))
        service.index(root)
        photos = [p.read_bytes() for p in sources]
        server, thread, url = serve(service)
        indexer = Indexer(service, root, sources, args.batch)
        try:
            with httpx.Client(base_url=url, timeout=120) as warm:  # weights, caches, the word models
                for data in photos[:3]:
                    warm.post("/search/image", files={"file": ("q.png", data)}).raise_for_status()
                for words in WORDS:  # the first word query builds the ImageNet class-name vectors
                    warm.post("/search/text", json={"text": words}).raise_for_status()
            indexer.start()
            pairs = run_levels(service, url, photos, args)
            indexer.stop.set()
            indexer.join()
            missing = check_searchable(url, indexer.added)
            points = (len(sources) + len(indexer.added), service.info().points)
        finally:
            indexer.stop.set()
            server.should_exit = True
            thread.join(timeout=10)
            service.close()

    rows = table(pairs, indexer, missing, points)
    errors = sum(len(o.errors) + len(b.errors) for o, b in pairs)
    print(
        f"\nlookalike under load: {args.clients} clients × {args.seconds:g} s per endpoint, demo index "
        f"({len(sources)} photos) + new products indexed during the run, top_k={TOP_K}"
    )
    print(
        "ours = over HTTP (uvicorn, loopback); baseline = the same SearchService call in-process "
        "from as many threads\n"
    )
    print("| what | ours | baseline | ratio |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for o, _ in pairs:
        for e in o.errors[:3]:
            print(f"error ({o.name}, {o.clients} clients): {e}")
    for f in indexer.failures[:5]:
        print(f"index failure: {f}")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"load-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(
        json.dumps(
            {
                "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                "phases": [{"ours": o.summary(), "baseline": b.summary()} for o, b in pairs],
                "indexer": {
                    "rounds": indexer.rounds,
                    "embedded": indexer.embedded,
                    "seconds": indexer.index_seconds,
                    "failures": indexer.failures,
                },
                "new_products": len(indexer.added),
                "missing": missing,
                "points": {"expected": points[0], "counted": points[1]},
                "rows": [list(r) for r in rows],
            },
            indent=2,
        )
    )
    print(f"\nraw numbers: {out}")
    ok = errors == 0 and not missing and not indexer.failures and points[0] == points[1]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
