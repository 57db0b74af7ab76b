"""Indexing and query speed on the demo catalog: the runtimes and loader settings against each other and
against the bare encoder, all measured in the same run.

Indexing runs the real `index_catalog` (scan → hash → load → embed → upsert → HNSW build) with timers
wrapped around the model calls and the store calls. Pipeline variants (torch or ONNX Runtime for the
image model; 1 or 2 loader threads) are interleaved run by run so machine load hits them alike, and
`--baseline-src DIR` adds the pipeline of another checkout's `src/` (e.g. main before issue 13) in a
child process between them. Each phase is also timed alone (decode, pad, image model per runtime, title
model, colour histogram) against what it replaced. Queries run the real `SearchService.search_image`
per runtime; the baseline is the encoder alone on the same image.

    .venv/bin/python benchmarks/ingest.py [--catalog DIR] [--repeats 5] [--queries 45] [--baseline-src DIR]

Prints markdown tables `what | lookalike | baseline | ratio` and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_RATE = 35.0  # images/s on 2 cores (issue 13)


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


def index_once(catalog: Path, encoder: Any, loaders: int | None = None) -> dict[str, float]:
    """One full index of the catalog into a fresh embedded store; seconds per phase. The title cache
    starts empty, as in a fresh process."""
    from lookalike.config import Settings
    from lookalike.ingest import index_catalog
    from lookalike.search import SearchService

    try:
        from lookalike.encoders import minilm

        getattr(minilm, "clear_cache", lambda: None)()
    except ImportError:
        pass
    timers = Timers()
    if hasattr(encoder, "runtime"):
        as_alone(encoder)
    with tempfile.TemporaryDirectory(prefix="lookalike-bench-") as tmp:
        service = SearchService(Settings(data_dir=Path(tmp), qdrant_url=None), encoder=encoder)
        store = service.store
        for attr, phase in (("upsert", "upsert"), ("optimize", "HNSW build"), ("scroll", "diff vs index")):
            timers.wrap(store, attr, phase)
        restore = _model_hooks(encoder, timers)
        opts = service.ingest_options()
        if loaders is not None and hasattr(opts, "loaders"):
            opts = dataclasses.replace(opts, loaders=loaders)
        try:
            t = time.perf_counter()
            report = index_catalog(catalog, store, encoder, opts)
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


_CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {bench!r})
import ingest as bench
from lookalike import encoders
encoder = encoders.get_encoder("efficientnet-lite0", device="cpu")
bench.index_once(Path({catalog!r}), encoder)  # cold: loads the models
print(json.dumps([bench.index_once(Path({catalog!r}), encoder) for _ in range({runs})]))
"""


def baseline_pipeline(src: Path, catalog: Path, runs: int = 2) -> list[dict[str, float]]:
    """Warm indexing runs of another checkout's lookalike (its `src/`), in a child process, with this
    file's timers: the pipeline as it was, measured in the same run as the current one."""
    code = _CHILD.format(bench=str(Path(__file__).resolve().parent), catalog=str(catalog), runs=runs)
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def as_alone(encoder: Any) -> None:
    """torch's thread count as a process with only this encoder would have it: all cores for a torch
    encoder, one (left to the title model) once ONNX Runtime runs the image model."""
    import torch

    torch.set_num_threads(1 if getattr(encoder, "runtime", "torch") == "onnx" else os.cpu_count() or 1)


def bare_encoder(images: list, encoder: Any, batch: int) -> float:
    """Seconds for the encoder alone over pre-loaded images, in the batches indexing uses."""
    as_alone(encoder)
    t = time.perf_counter()
    for s in range(0, len(images), batch):
        encoder.embed_images(images[s : s + batch])
    return time.perf_counter() - t


def phase_rates(
    catalog: Path, paths: list[Path], encs: dict[str, Any], batch: int, repeats: int
) -> dict[str, list[float]]:
    """Seconds per repeat of each indexing phase alone over the catalog's images, interleaved."""
    from lookalike.encoders import minilm
    from lookalike.encoders.efficientnet import pad_square
    from lookalike.images import load_image, to_rgb
    from lookalike.words import colours
    from lookalike.words.vectors import product_text

    photos = [load_image(p) for p in paths]
    squares = [pad_square(to_rgb(im), 224) for im in photos]
    from lookalike.catalog import scan

    texts = [product_text(f.to_product("0" * 64)) for f in scan(catalog)]
    texts = [t for t in texts if t]

    def decode() -> None:
        for p in paths:
            load_image(p)

    def pad() -> None:
        for im in photos:
            pad_square(to_rgb(im), 224)

    def decode_pad_pool() -> None:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda p: pad_square(to_rgb(load_image(p)), 224), paths))

    def model(runtime: str) -> Callable[[], None]:
        return lambda: bare_encoder(squares, encs[runtime], batch)

    def titles_per_batch() -> None:  # before: every title through the model, batch by batch, all cores
        as_alone(encs["torch"])
        for s in range(0, len(texts), batch):
            minilm._model().encode(texts[s : s + batch], batch_size=64, show_progress_bar=False)

    def titles_cached() -> None:  # after: each distinct title once, on the thread ONNX leaves to torch
        as_alone(encs["onnx"])
        minilm.clear_cache()
        for s in range(0, len(texts), batch):
            minilm.embed_texts(texts[s : s + batch])

    def colour_full() -> None:
        for im in photos:
            colours.histogram(im)

    def colour_square() -> None:
        for im in squares:
            colours.histogram(im)

    jobs: dict[str, Callable[[], None]] = {
        "decode": decode,
        "pad": pad,
        "decode+pad, 2 threads": decode_pad_pool,
        **{f"image model, {r}": model(r) for r in encs},
        "titles, per batch": titles_per_batch,
        "titles, repeats once": titles_cached,
        "colour, full photo": colour_full,
        "colour, 224 px square": colour_square,
    }
    for job in jobs.values():
        job()  # warm up
    seconds: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        for name, job in jobs.items():
            t = time.perf_counter()
            job()
            seconds[name].append(time.perf_counter() - t)
    seconds["_texts"] = [float(len(texts))]
    return dict(seconds)


def query_latency(catalog: Path, encs: dict[str, Any], images: list, n: int) -> dict[str, list[float]]:
    """search_image per runtime and the ONNX encoder alone on the same images, interleaved query by
    query (order rotated) so machine load hits all alike."""
    from lookalike.config import Settings
    from lookalike.search import SearchService

    with contextlib.ExitStack() as stack:
        calls: dict[str, Callable[[Any], Any]] = {}
        for runtime, enc in encs.items():
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="lookalike-bench-"))
            service = stack.enter_context(
                SearchService(Settings(data_dir=Path(tmp), qdrant_url=None), encoder=enc)
            )
            service.index(catalog)
            for img in images[:3]:
                service.search_image(img)
            calls[f"search_image, {runtime}"] = functools.partial(service.search_image, top_k=10)
        fastest = encs.get("onnx", next(iter(encs.values())))
        calls["encoder alone"] = lambda im: fastest.embed_images([im])
        timed: dict[str, list[float]] = {name: [] for name in calls}
        names = list(calls)
        for i, img in enumerate((images * (n // len(images) + 1))[:n]):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                as_alone(encs["torch"] if name.endswith("torch") else fastest)
                t = time.perf_counter()
                calls[name](img)
                timed[name].append(time.perf_counter() - t)
    return timed


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q) * 1000)


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", type=Path, help="catalog folder (default: build the demo catalog)")
    ap.add_argument("--repeats", type=int, default=5, help="warm indexing runs per variant (best and median)")
    ap.add_argument("--queries", type=int, default=45, help="single search_image queries per runtime")
    ap.add_argument("--baseline-src", type=Path, help="another checkout's src/ to index with, as a baseline")
    args = ap.parse_args(argv)

    from lookalike import demo_data
    from lookalike.catalog import scan
    from lookalike.config import Settings
    from lookalike.encoders.efficientnet import EfficientNetLite0Encoder
    from lookalike.images import load_image

    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="lookalike-demo-") as tmp:
        catalog = args.catalog
        if catalog is None:
            catalog = Path(tmp) / "catalog"
            demo_data.build(catalog)
        batch = Settings(qdrant_url=None).batch_size
        encs: dict[str, Any] = {}
        load_s: dict[str, float] = {}
        for runtime in ("torch", "onnx"):
            t = time.perf_counter()
            encs[runtime] = EfficientNetLite0Encoder(
                device="cpu", runtime=runtime, model_dir=Path(tmp) / "models"
            )  # onnx: includes exporting the graph (a fresh model dir)
            load_s[runtime] = time.perf_counter() - t
        if encs["onnx"].runtime != "onnx":
            print("! ONNX Runtime is not available here: both rows run torch", file=sys.stderr)
        paths = [f.path for f in scan(catalog)]
        images = [load_image(p) for p in paths]
        n = len(images)
        variants = {
            "torch, 1 loader thread": ("torch", 1),
            "torch, 2 loader threads": ("torch", 2),
            "onnx, 1 loader thread": ("onnx", 1),
            "onnx, 2 loader threads (default)": ("onnx", 2),
        }
        print(f"· {n} images, batch {batch}; cold runs (load the models) …", file=sys.stderr)
        for enc in encs.values():
            index_once(catalog, enc)
        runs: dict[str, list[dict[str, float]]] = defaultdict(list)
        bare: dict[str, list[float]] = defaultdict(list)
        for i in range(args.repeats):  # interleave every variant and the baselines
            print(f"· warm round {i + 1}/{args.repeats} (load {_load()}) …", file=sys.stderr, flush=True)
            for name, (runtime, loaders) in variants.items():
                runs[name].append(index_once(catalog, encs[runtime], loaders))
            for runtime, enc in encs.items():
                bare[runtime].append(bare_encoder(images, enc, batch))
            if args.baseline_src is not None:
                runs["baseline checkout"].extend(baseline_pipeline(args.baseline_src, catalog, runs=1))
        print("· phases alone …", file=sys.stderr, flush=True)
        phases = phase_rates(catalog, paths, encs, batch, args.repeats)
        print("· queries …", file=sys.stderr, flush=True)
        lat = query_latency(catalog, encs, images, args.queries)
    load_after = _load()

    def rate(seconds: list[float], count: int = n) -> tuple[float, float]:
        return count / min(seconds), count / statistics.median(seconds)

    default = "onnx, 2 loader threads (default)"
    base_name = "baseline checkout" if "baseline checkout" in runs else "torch, 1 loader thread"
    base_best, base_med = rate([r["wall"] for r in runs[base_name]])
    rows = [
        f"Indexing {n} demo photos, images/s (best / median of {args.repeats} warm runs, interleaved); "
        f"baseline: {base_name}",
        "",
        "| what | lookalike | baseline | ratio |",
        "|---|---|---|---|",
    ]
    for name in [*variants, *(["baseline checkout"] if "baseline checkout" in runs else [])]:
        best, med = rate([r["wall"] for r in runs[name]])
        rows.append(
            f"| pipeline, {name} | {best:.1f} / {med:.1f} | {base_best:.1f} / {base_med:.1f} "
            f"| {best / base_best:.2f} / {med / base_med:.2f} |"
        )
    for runtime in encs:
        best, med = rate(bare[runtime])
        rows.append(
            f"| bare image model alone, {runtime} (pre-loaded photos, batch {batch}, incl. padding) "
            f"| {best:.1f} / {med:.1f} | {base_best:.1f} / {base_med:.1f} | {best / base_best:.2f} / "
            f"{med / base_med:.2f} |"
        )
    rows.append(
        f"| model load s, onnx incl. export + check vs torch | {load_s['onnx']:.1f} | {load_s['torch']:.1f} "
        f"| {load_s['onnx'] / load_s['torch']:.2f} |"
    )

    texts = int(phases.pop("_texts")[0])
    pairs = [  # phase (after) vs what it replaced (before), images/s (titles: texts/s) over the catalog
        ("decode (PNG → RGB), 1 thread", "decode", None, n),
        ("pad to the 224 px square, 1 thread", "pad", None, n),
        ("decode + pad, 2 loader threads vs 1", "decode+pad, 2 threads", ("decode", "pad"), n),
        ("image model on 224 px squares: onnx vs torch", "image model, onnx", ("image model, torch",), n),
        (
            f"title model ({texts} titles): repeats once vs per batch",
            "titles, repeats once",
            ("titles, per batch",),
            texts,
        ),
        (
            "colour histogram: 224 px square vs full photo",
            "colour, 224 px square",
            ("colour, full photo",),
            n,
        ),
    ]
    phase_rows = [
        "",
        "Each phase alone, per second (best of repeats):",
        "",
        "| phase | after | before | ratio |",
        "|---|---|---|---|",
    ]
    for label, after, before, count in pairs:
        a = count / min(phases[after])
        if before is None:
            phase_rows.append(f"| {label} | {a:.1f} | | |")
        else:
            b = count / sum(min(phases[k]) for k in before)
            phase_rows.append(f"| {label} | {a:.1f} | {b:.1f} | {a / b:.2f} |")
    best_run = min(runs[default], key=lambda r: r["wall"])
    phase_rows.append(
        f"| store upsert (in the default pipeline) | {n / max(best_run.get('upsert', 0), 1e-9):.1f} | | |"
    )

    models = ("image encoder", "text model", "colours")
    split = [
        "",
        f"Fastest warm run of '{default}' by phase (model calls timed in the main thread):",
        "",
        "| phase | s | share |",
        "|---|---|---|",
    ]
    for k in (*models, "upsert", "HNSW build", "diff vs index"):
        if k in best_run:
            split.append(f"| {k} | {best_run[k]:.2f} | {best_run[k] / best_run['wall']:.0%} |")
    rest = best_run["wall"] - sum(
        best_run.get(k, 0.0) for k in (*models, "upsert", "HNSW build", "diff vs index")
    )
    split.append(
        f"| scan, hash, waiting for the loaders, glue | {rest:.2f} | {rest / best_run['wall']:.0%} |"
    )
    split.append(f"| wall | {best_run['wall']:.2f} | 100% |")

    q = [
        "",
        f"search_image end to end, ms p50 / p95 ({args.queries} queries each, interleaved; baseline: "
        "the ONNX encoder alone on the same photo):",
        "",
        "| what | lookalike | baseline | ratio |",
        "|---|---|---|---|",
    ]
    enc_p50, enc_p95 = _p(lat["encoder alone"], 50), _p(lat["encoder alone"], 95)
    for name, values in lat.items():
        if name.startswith("search_image"):
            p50, p95 = _p(values, 50), _p(values, 95)
            q.append(
                f"| {name} | {p50:.1f} / {p95:.1f} | {enc_p50:.1f} / {enc_p95:.1f} "
                f"| {p50 / enc_p50:.2f} / {p95 / enc_p95:.2f} |"
            )
    if "search_image, torch" in lat:
        t50, o50 = _p(lat["search_image, torch"], 50), _p(lat["search_image, onnx"], 50)
        q.append(f"| search_image p50, onnx vs torch | {o50:.1f} | {t50:.1f} | {o50 / t50:.2f} |")
    best_rate = rate([r["wall"] for r in runs[default]])[0]
    verdict = "PASS" if best_rate >= TARGET_RATE else "FAIL"
    footer = [
        "",
        f"- target: default pipeline ≥ {TARGET_RATE:.0f} images/s: best {best_rate:.1f} {verdict}",
        f"- load average (1/5/15 min) before {load_before}, after {load_after}; {os.cpu_count()} cores",
    ]
    print("\n".join([*rows, *phase_rows, *split, *q, *footer]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"ingest-{time.strftime('%Y%m%d-%H%M%S')}.json"
    data = {
        "images": n,
        "batch": batch,
        "warm_runs": runs,
        "bare_encoder_s": bare,
        "phases_s": phases,
        "query_ms": {k: [x * 1000 for x in v] for k, v in lat.items()},
        "load": [load_before, load_after],
    }
    out.write_text(json.dumps(data, indent=2))
    print(f"\nJSON: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
