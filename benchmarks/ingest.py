"""Indexing and query speed on the demo catalog, against the bare encoder measured in the same run.

Indexing runs the real `SearchService.index` (scan → hash → load → embed → upsert → HNSW build) with
timers wrapped around the model calls and the store calls, so the pipeline's own overhead is what is
left of the wall time: target < 20 %. Queries run the real `SearchService.search_image`; the baseline
is the encoder alone on the same image.

    .venv/bin/python benchmarks/ingest.py [--catalog DIR] [--repeats 5] [--queries 45]

Prints a markdown table `what | lookalike | baseline | ratio` and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
OVERHEAD_LIMIT = 0.20


class Timers:
    """Seconds spent per named phase, accumulated by wrapped callables."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, obj: Any, attr: str, phase: str) -> None:
        """Time `obj.attr` (an instance method or a module function) under `phase`, if it exists."""
        fn = getattr(obj, attr, None)
        if fn is None or getattr(fn, "_bench_timed", False):
            return

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - t

        timed._bench_timed = True  # type: ignore[attr-defined]
        setattr(obj, attr, timed)


def _model_hooks(encoder: Any, timers: Timers) -> Callable[[], None]:
    """Wrap every model call indexing makes: the image encoder, and the auxiliary text/colour signals
    when this version of lookalike computes them. Returns a function that undoes the module patches."""
    for attr in ("embed_images", "embed_and_classify"):
        timers.wrap(encoder, attr, "image encoder")
    undo: list[tuple[Any, str, Any]] = []
    try:
        from lookalike.words import vectors as word_vectors
    except ImportError:  # a version without auxiliary signals
        return lambda: None
    for module_name, attr, phase in (
        ("minilm", "embed_texts", "text model"),
        ("colours", "histogram", "colours"),
    ):
        module = getattr(word_vectors, module_name, None)
        if module is not None and hasattr(module, attr):
            undo.append((module, attr, getattr(module, attr)))
            timers.wrap(module, attr, phase)

    def restore() -> None:
        for module, attr, original in undo:
            setattr(module, attr, original)

    return restore


def index_once(catalog: Path, encoder: Any) -> dict[str, float]:
    """One full index of the catalog into a fresh embedded store; seconds per phase."""
    from lookalike.config import Settings
    from lookalike.search import SearchService

    timers = Timers()
    with tempfile.TemporaryDirectory(prefix="lookalike-bench-") as tmp:
        service = SearchService(Settings(data_dir=Path(tmp), qdrant_url=None), encoder=encoder)
        store = service.store
        for attr, phase in (("upsert", "upsert"), ("optimize", "HNSW build"), ("scroll", "diff vs index")):
            timers.wrap(store, attr, phase)
        restore = _model_hooks(encoder, timers)
        try:
            t = time.perf_counter()
            report = service.index(catalog)
            wall = time.perf_counter() - t
        finally:
            restore()
            for attr in ("embed_images", "embed_and_classify"):
                encoder.__dict__.pop(attr, None)
            service.close()
    phases = dict(timers.seconds)
    phases["wall"] = wall
    phases["images"] = float(report.embedded)
    return phases


def bare_encoder(images: list, encoder: Any, batch: int) -> float:
    """Seconds for the encoder alone over pre-loaded images, in the batches indexing uses."""
    t = time.perf_counter()
    for s in range(0, len(images), batch):
        encoder.embed_images(images[s : s + batch])
    return time.perf_counter() - t


def query_latency(catalog: Path, encoder: Any, images: list, n: int) -> dict[str, list[float]]:
    """search_image vs encoder-alone on the same images, interleaved so machine load hits both."""
    from lookalike.config import Settings
    from lookalike.search import SearchService

    with tempfile.TemporaryDirectory(prefix="lookalike-bench-") as tmp:
        service = SearchService(Settings(data_dir=Path(tmp), qdrant_url=None), encoder=encoder)
        service.index(catalog)
        for img in images[:3]:
            service.search_image(img)
        timed: dict[str, list[float]] = {"search_image": [], "encoder": []}
        calls = {
            "search_image": lambda im: service.search_image(im, top_k=10),
            "encoder": lambda im: encoder.embed_images([im]),
        }
        for i, img in enumerate((images * (n // len(images) + 1))[:n]):
            order = (
                ("encoder", "search_image") if i % 2 == 0 else ("search_image", "encoder")
            )  # no order bias
            for name in order:
                t = time.perf_counter()
                calls[name](img)
                timed[name].append(time.perf_counter() - t)
        service.close()
    return timed


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q) * 1000)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", type=Path, help="catalog folder (default: build the demo catalog)")
    ap.add_argument("--repeats", type=int, default=5, help="warm indexing runs (best and median reported)")
    ap.add_argument("--queries", type=int, default=45, help="single search_image queries")
    args = ap.parse_args(argv)

    from lookalike import demo_data, encoders
    from lookalike.catalog import scan
    from lookalike.config import Settings
    from lookalike.images import load_image

    with tempfile.TemporaryDirectory(prefix="lookalike-demo-") as tmp:
        catalog = args.catalog
        if catalog is None:
            catalog = Path(tmp) / "catalog"
            demo_data.build(catalog)
        batch = Settings(qdrant_url=None).batch_size
        t = time.perf_counter()
        encoder = encoders.get_encoder("efficientnet-lite0", device="cpu")
        load_s = time.perf_counter() - t
        images = [load_image(f.path) for f in scan(catalog)]
        print(f"· {len(images)} images, batch {batch}; cold run (loads the models) …", file=sys.stderr)
        cold = index_once(catalog, encoder)
        runs, bare = [], []
        for i in range(args.repeats):  # interleave pipeline and baseline runs
            print(f"· warm run {i + 1}/{args.repeats} …", file=sys.stderr, flush=True)
            runs.append(index_once(catalog, encoder))
            bare.append(bare_encoder(images, encoder, batch))
        print("· queries …", file=sys.stderr, flush=True)
        lat = query_latency(catalog, encoder, images, args.queries)

    n = len(images)
    models = ("image encoder", "text model", "colours")
    shares = [max(r["wall"] - sum(r.get(k, 0.0) for k in models), 0.0) / r["wall"] for r in runs]
    best = min(runs, key=lambda r: r["wall"])  # the least disturbed run on a shared machine
    walls = sorted(r["wall"] for r in runs)
    bare_best, bare_med = min(bare), statistics.median(bare)
    rows = [
        "| what | lookalike | baseline | ratio |",
        "|---|---|---|---|",
        f"| index {n} demo photos, images/s, best of {args.repeats} warm runs (baseline: bare encoder, "
        f"batch {batch}) | {n / walls[0]:.2f} | {n / bare_best:.2f} | {bare_best / walls[0]:.2f} |",
        f"| same, median of {args.repeats} | {n / statistics.median(walls):.2f} | {n / bare_med:.2f} "
        f"| {bare_med / statistics.median(walls):.2f} |",
        f"| index wall s, cold (first run: loads models; encoder load {load_s:.1f}s not included) "
        f"| {cold['wall']:.1f} | {bare_best:.1f} | {cold['wall'] / bare_best:.2f} |",
        f"| search_image ms p50 / p95 ({args.queries} queries; baseline: encoder on one image) "
        f"| {_p(lat['search_image'], 50):.1f} / {_p(lat['search_image'], 95):.1f} "
        f"| {_p(lat['encoder'], 50):.1f} / {_p(lat['encoder'], 95):.1f} "
        f"| {_p(lat['search_image'], 50) / _p(lat['encoder'], 50):.2f} / "
        f"{_p(lat['search_image'], 95) / _p(lat['encoder'], 95):.2f} |",
    ]
    phase_rows = ["", "Fastest warm indexing run by phase:", "", "| phase | s | share |", "|---|---|---|"]
    for k in (*models, "upsert", "HNSW build", "diff vs index"):
        if k in best:
            phase_rows.append(f"| {k} | {best[k]:.2f} | {best[k] / best['wall']:.0%} |")
    rest = best["wall"] - sum(best.get(k, 0.0) for k in (*models, "upsert", "HNSW build", "diff vs index"))
    phase_rows.append(f"| scan, hash, un-overlapped loading, glue | {rest:.2f} | {rest / best['wall']:.0%} |")
    phase_rows.append(f"| wall | {best['wall']:.2f} | 100% |")
    share = statistics.median(shares)
    verdict = "PASS" if share < OVERHEAD_LIMIT else "FAIL"
    target = (
        f"- target: pipeline overhead (wall minus model calls: scan, hash, load, upsert, HNSW build, glue) "
        f"< {OVERHEAD_LIMIT:.0%} of indexing wall time: median {share:.1%} over {len(shares)} warm runs "
        f"(range {min(shares):.1%}–{max(shares):.1%}) {verdict}"
    )
    print("\n".join([*rows, *phase_rows, "", target]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"ingest-{time.strftime('%Y%m%d-%H%M%S')}.json"
    data = {
        "images": n,
        "batch": batch,
        "cold": cold,
        "warm_runs": runs,
        "bare_encoder_s": bare,
        "query_ms": {k: [x * 1000 for x in v] for k, v in lat.items()},
        "overhead_shares": shares,
        "target": OVERHEAD_LIMIT,
    }
    out.write_text(json.dumps(data, indent=2))
    print(f"\nJSON: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
