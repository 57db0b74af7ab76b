"""How search scales: the embedded Qdrant Edge store against exact brute force (numpy), measured in one run.

For each index (Fashion-MNIST embeddings of the real encoder, and clustered synthetic vectors) a fresh
child process builds the store and measures ingest rate (upsert + HNSW build), single-query latency
p50/p95/p99 with and without a category filter, recall@10 against exact brute force, and peak RSS.
Brute force (one numpy matmul per query over vectors already in RAM) is the physical-limit baseline,
timed query by query, interleaved with the store's queries so machine load hits both alike.

    .venv/bin/python benchmarks/search_scale.py                   # default: a few minutes on 2 cores
    .venv/bin/python benchmarks/search_scale.py --million         # + 1M points, real schema (about an hour)
    .venv/bin/python benchmarks/search_scale.py --million --sizes= --fmnist-sizes= --memory-size=0 \
        --run-dir /some/empty/dir                                 # only the 1M run, its store kept there
    .venv/bin/python benchmarks/search_scale.py --embed           # embed missing Fashion-MNIST first (slow)
    LOOKALIKE_QDRANT_URL=http://localhost:6333 .venv/bin/python benchmarks/search_scale.py   # + a server

Prints a markdown table `what | lookalike | brute force | ratio` and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
TOP_K = 10
N_CATEGORIES = 10
ENCODER, ENCODER_DIM = "efficientnet-lite0", 1280  # 1024 is ImageBind's


@dataclass
class Case:
    backend: str  # edge | memory (qdrant-client :memory:) | server (qdrant-client → LOOKALIKE_QDRANT_URL)
    data: str  # synthetic | fmnist
    n: int
    dim: int
    queries: int
    seed: int = 0
    cache_dir: str = ""
    target: bool = False  # also time SearchService.search_image against encode + brute force

    @property
    def label(self) -> str:
        store = {"edge": "Edge", "memory": "qdrant-client :memory:", "server": "Qdrant server"}[self.backend]
        return f"{self.data} {self.n:,}×{self.dim} [{store}]"


@dataclass
class Result:
    case: Case
    index_points: int
    upsert_s: float
    build_s: float
    latency_ms: dict[str, list[float]] = field(default_factory=dict)  # name → [p50, p95, p99]
    recall: dict[str, float] = field(default_factory=dict)
    rss_base_mb: float = 0.0  # interpreter and imports, before any vector exists
    rss_data_mb: float = 0.0  # + index vectors, queries and per-category copies: what brute force needs
    rss_peak_mb: float = 0.0  # + the store, built and queried
    disk_mb: float = 0.0
    target: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def ingest_rate(self) -> float:
        return self.index_points / max(self.upsert_s + self.build_s, 1e-9)


# -- data ------------------------------------------------------------------------------------------------
def _normalise(x: np.ndarray) -> np.ndarray:
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def synthetic(
    n: int, n_queries: int, dim: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Clustered unit vectors (cosine to own centre ≈ 0.7, like image embeddings of one kind of product);
    queries are fresh draws from the same clusters. Category = cluster mod 10."""
    rng = np.random.default_rng(seed)
    clusters = max(100, n // 1000)
    centres = _normalise(rng.standard_normal((clusters, dim), dtype=np.float32))
    total = n + n_queries
    labels = rng.integers(0, clusters, size=total)
    out = np.empty((total, dim), dtype=np.float32)
    for s in range(0, total, 100_000):  # chunked: 1M×1280 float32 is 5 GB already
        e = min(s + 100_000, total)
        noise = rng.standard_normal((e - s, dim), dtype=np.float32) / np.float32(np.sqrt(dim))
        out[s:e] = _normalise(centres[labels[s:e]] + noise)
    cats = labels % N_CATEGORIES
    return out[:n], out[n:], cats[:n], cats[n:]


def _chunks(cache: Path, split: str, rows: int) -> list[Path]:
    from lookalike.eval.category import CACHE_CHUNK, cache_file

    return [cache_file(cache, ENCODER, split, c) for c in range(-(-rows // CACHE_CHUNK))]


def fmnist_cached(cache: Path) -> dict[str, int]:
    """How many leading images of each split have cached embeddings."""
    from lookalike.eval.category import CACHE_CHUNK

    out = {}
    for split, total in (("train", 60_000), ("t10k", 10_000)):
        n = 0
        for path in _chunks(cache, split, total):
            if not path.is_file():
                break
            n = min(n + CACHE_CHUNK, total)
        out[split] = n
    return out


def fmnist_plan(n: int, n_queries: int) -> dict[str, int]:
    """Queries are the first t10k images; the index is train, then the rest of t10k (70k = everything)."""
    return {"train": min(n, 60_000), "t10k": n_queries + max(0, n - 60_000)}


def fmnist(n: int, n_queries: int, cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from lookalike.eval import fashion_mnist

    plan = fmnist_plan(n, n_queries)
    train = np.concatenate([np.load(p) for p in _chunks(cache, "train", plan["train"])])[: plan["train"]]
    test = np.concatenate([np.load(p) for p in _chunks(cache, "t10k", plan["t10k"])])[: plan["t10k"]]
    ytrain = fashion_mnist.load("train").labels[: plan["train"]]
    ytest = fashion_mnist.load("t10k").labels[: plan["t10k"]]
    index = np.concatenate([train, test[n_queries:]])
    cats = np.concatenate([ytrain, ytest[n_queries:]]).astype(np.int64)
    return index, test[:n_queries].copy(), cats, ytest[:n_queries].astype(np.int64)


# -- measuring (child process) ---------------------------------------------------------------------------
def _rss_mb(field_name: str = "VmRSS") -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KB


def _pct(ms: list[float]) -> list[float]:
    return [float(np.percentile(ms, p)) for p in (50, 95, 99)]


def _exact(index: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = index @ q
    k = min(k, scores.shape[0])
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


def _payload(i: int, cat: str) -> dict[str, Any]:
    """A full product payload, so SearchService can read hits back."""
    return {
        "product_id": f"p{i}",
        "category": cat,
        "path": f"/bench/{i}.png",
        "rel_path": f"{cat}/{i}.png",
        "sha256": "0" * 64,
        "title": None,
    }


def _open_store(case: Case, tmp: Path):
    from lookalike.store.base import Schema

    schema = Schema("bench", case.dim)
    if case.backend == "edge":
        from lookalike.store.edge import EdgeStore

        return EdgeStore(tmp / "edge", schema)
    from qdrant_client import QdrantClient

    from lookalike.store.server import ServerStore

    if case.backend == "memory":
        return ServerStore(QdrantClient(location=":memory:"), "bench", schema, location=":memory:")
    url = os.environ["LOOKALIKE_QDRANT_URL"]
    client = QdrantClient(url=url, api_key=os.environ.get("LOOKALIKE_QDRANT_API_KEY"), timeout=60)
    name = f"lookalike_bench_{case.n}_{case.dim}_{uuid.uuid4().hex[:8]}"
    return ServerStore(client, name, schema, location=url)


def _wait_server_index(store: Any) -> None:
    """A server builds HNSW in the background: ingest is finished when the collection is green."""
    client, name = store._client, store.collection
    while str(client.get_collection(name).status).lower().endswith("yellow"):
        time.sleep(0.5)


def measure(case: Case) -> Result:
    from lookalike.store.base import PointFilter

    rss_base = _rss_mb()
    if case.data == "synthetic":
        index, queries, cats, qcats = synthetic(case.n, case.queries, case.dim, case.seed)
        names = [f"c{c}" for c in range(N_CATEGORIES)]
    else:
        from lookalike.eval.fashion_mnist import CLASS_NAMES

        index, queries, cats, qcats = fmnist(case.n, case.queries, Path(case.cache_dir))
        names = list(CLASS_NAMES)
    by_cat = {c: np.flatnonzero(cats == c) for c in range(N_CATEGORIES)}
    cat_matrix = {c: np.ascontiguousarray(index[ids]) for c, ids in by_cat.items()}  # brute force's best case
    result = Result(case, len(index), 0.0, 0.0, rss_base_mb=rss_base, rss_data_mb=_rss_mb())

    with tempfile.TemporaryDirectory(prefix="lookalike-bench-") as tmp_name:
        tmp = Path(tmp_name)
        store = _open_store(case, tmp)
        try:
            t0 = time.perf_counter()
            for s in range(0, len(index), 1024):
                e = min(s + 1024, len(index))
                ids = [str(uuid.UUID(int=i)) for i in range(s, e)]
                store.upsert(ids, index[s:e], [_payload(i, names[cats[i]]) for i in range(s, e)])
            t1 = time.perf_counter()
            store.optimize()
            if case.backend == "server":
                _wait_server_index(store)
            result.upsert_s, result.build_s = t1 - t0, time.perf_counter() - t1

            for q in queries[:10]:  # warm caches and lazily mapped segments
                store.search(q, TOP_K)
            lat: dict[str, list[float]] = {"store": [], "exact": [], "store_f": [], "exact_f": []}
            recall, recall_f = [], []
            for q, qc in zip(queries, qcats, strict=True):
                flt = PointFilter(category=names[qc])
                t = time.perf_counter()
                hits = store.search(q, TOP_K)
                lat["store"].append(time.perf_counter() - t)
                t = time.perf_counter()
                exact = _exact(index, q, TOP_K)
                lat["exact"].append(time.perf_counter() - t)
                recall.append(len({uuid.UUID(h.id).int for h in hits} & set(exact.tolist())) / len(exact))
                t = time.perf_counter()
                hits = store.search(q, TOP_K, flt)
                lat["store_f"].append(time.perf_counter() - t)
                t = time.perf_counter()
                exact_f = by_cat[qc][_exact(cat_matrix[qc], q, TOP_K)]
                lat["exact_f"].append(time.perf_counter() - t)
                recall_f.append(
                    len({uuid.UUID(h.id).int for h in hits} & set(exact_f.tolist())) / len(exact_f)
                )
            result.latency_ms = {k: _pct([x * 1000 for x in v]) for k, v in lat.items()}
            result.recall = {"unfiltered": float(np.mean(recall)), "filtered": float(np.mean(recall_f))}
            result.rss_peak_mb = _rss_mb("VmHWM")
            if case.backend == "edge":
                result.disk_mb = (
                    sum(f.stat().st_size for f in (tmp / "edge").rglob("*") if f.is_file()) / 2**20
                )
            if case.target:
                result.target = search_image_target(store, index, case)
        finally:
            if case.backend == "server":
                store._client.delete_collection(store.collection)
            store.close()
    return result


def search_image_target(store: Any, index: np.ndarray, case: Case, n: int = 40) -> dict[str, Any]:
    """SearchService.search_image vs (encode one image + brute-force matmul), interleaved per query."""
    from lookalike import encoders
    from lookalike.config import Settings
    from lookalike.eval import fashion_mnist
    from lookalike.search import SearchService

    encoder = encoders.get_encoder("efficientnet-lite0", device="cpu")
    test = fashion_mnist.load("t10k")
    images = [test.pil(i) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        service = SearchService(Settings(data_dir=Path(tmp), qdrant_url=None), store=store, encoder=encoder)
        for img in images[:3]:  # warm up torch and the store
            service.search_image(img, top_k=TOP_K)
        enc, mm, full = [], [], []
        for i, img in enumerate(images):
            if i % 2:  # alternate the order so neither side pays for going first
                t = time.perf_counter()
                service.search_image(img, top_k=TOP_K)
                full.append(time.perf_counter() - t)
            t = time.perf_counter()
            vec = encoder.embed_images([img])[0]
            enc.append(time.perf_counter() - t)
            t = time.perf_counter()
            _exact(index, vec, TOP_K)
            mm.append(time.perf_counter() - t)
            if not i % 2:
                t = time.perf_counter()
                service.search_image(img, top_k=TOP_K)
                full.append(time.perf_counter() - t)
    p50 = {
        k: float(np.median(v) * 1000) for k, v in (("encode", enc), ("matmul", mm), ("search_image", full))
    }
    baseline = p50["encode"] + p50["matmul"]
    return {
        "queries": n,
        "p50_ms": p50,
        "search_image_p95_ms": float(np.percentile(full, 95) * 1000),
        "baseline_p50_ms": baseline,
        "ratio": p50["search_image"] / baseline,
        "limit": 1.5,
    }


# -- orchestration (parent) -------------------------------------------------------------------------------
def run_child(case: Case) -> Result | None:
    print(f"· {case.label} …", file=sys.stderr, flush=True)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(asdict(case))], capture_output=True, text=True
    )
    if proc.returncode != 0:
        print(f"  failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["case"] = Case(**data["case"])
    print(f"  done in {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
    return Result(**data)


def run_million(args: argparse.Namespace) -> Any:
    """The 1M run in its own process (its memory is what is measured); progress goes to stderr as it runs."""
    import scale_million

    print(f"· {args.million_n:,} points, real schema [Edge] …", file=sys.stderr, flush=True)
    cmd = [sys.executable, __file__, "--million-child", "--million-n", str(args.million_n)]
    cmd += ["--queries", str(args.queries), "--seed", str(args.seed)]
    if args.run_dir:
        cmd += ["--run-dir", str(args.run_dir)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        print("  the 1M run failed; see the messages above", file=sys.stderr)
        return None
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data.pop("ingest_rate", None)
    return scale_million.MillionResult(**data)


def _ms(v: list[float]) -> str:
    return " / ".join(f"{x:.2f}" for x in v)


def _ratio(a: list[float], b: list[float]) -> str:
    return " / ".join(f"{x / y:.1f}×" if y else "—" for x, y in zip(a, b, strict=True))


def table(results: list[Result]) -> str:
    rows = ["| what | lookalike | brute force | ratio |", "|---|---|---|---|"]
    for r in results:
        c, lat = r.case, r.latency_ms
        rec = f"{r.recall['unfiltered']:.3f} / {r.recall['filtered']:.3f}"
        store_mb, data_mb = r.rss_peak_mb - r.rss_data_mb, r.rss_data_mb - r.rss_base_mb
        rows += [
            f"| {c.label}: ingest points/s (upsert {r.upsert_s:.1f}s + HNSW build {r.build_s:.1f}s) "
            f"| {r.ingest_rate:,.0f} | — | — |",
            f"| {c.label}: query ms p50 / p95 / p99 | {_ms(lat['store'])} | {_ms(lat['exact'])} "
            f"| {_ratio(lat['store'], lat['exact'])} |",
            f"| {c.label}: filtered (1 of 10 categories) ms p50 / p95 / p99 | {_ms(lat['store_f'])} "
            f"| {_ms(lat['exact_f'])} | {_ratio(lat['store_f'], lat['exact_f'])} |",
            f"| {c.label}: recall@10 vs exact, unfiltered / filtered | {rec} | 1.000 / 1.000 | {rec} |",
            f"| {c.label}: RAM MB (see below) | {store_mb:,.0f} | {data_mb:,.0f} "
            f"| {store_mb / max(data_mb, 1):.1f}× |",
        ]
        if r.disk_mb:
            rows.append(
                f"| {c.label}: on disk MB (vectors alone: {r.index_points * c.dim * 4 / 2**20:,.0f}) "
                f"| {r.disk_mb:,.0f} | — | — |"
            )
    return "\n".join(rows)


def targets(results: list[Result]) -> list[str]:
    lines = []
    for r in results:
        t = r.target
        if not t:
            continue
        ok = "PASS" if t["ratio"] <= t["limit"] else "FAIL"
        p = t["p50_ms"]
        lines.append(
            f"- target: SearchService.search_image on {r.case.label} within {t['limit']}× of "
            f"encode + brute force: p50 {p['search_image']:.1f} ms vs {p['encode']:.1f} + {p['matmul']:.2f} "
            f"= {t['baseline_p50_ms']:.1f} ms → {t['ratio']:.2f}× {ok} ({t['queries']} queries)"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="10000,70000", help="synthetic index sizes (default 10000,70000)")
    ap.add_argument("--dims", default="1280", help="synthetic dims, e.g. 1280,1024 (default 1280)")
    ap.add_argument("--fmnist-sizes", default="10000,70000", help="Fashion-MNIST index sizes, 70000 = all")
    ap.add_argument(
        "--million",
        action="store_true",
        help="add 1,000,000 points with every named vector and the default memory plan (about an hour; "
        "see scale_million.py)",
    )
    ap.add_argument("--million-n", type=int, default=1_000_000, help=argparse.SUPPRESS)
    ap.add_argument("--million-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--run-dir", type=Path, default=None, help="keep the 1M store here (default: a temp dir)")
    ap.add_argument("--queries", type=int, default=200, help="single queries per index (default 200)")
    ap.add_argument("--memory-size", type=int, default=10_000, help="qdrant-client :memory: index size")
    ap.add_argument("--embed", action="store_true", help="embed missing Fashion-MNIST images first (slow)")
    ap.add_argument("--cache-dir", type=Path, default=None, help="Fashion-MNIST embedding cache")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.million_child:
        import scale_million

        r = scale_million.run(args.million_n, args.queries, args.seed, args.run_dir)
        print(json.dumps(scale_million.as_dict(r)))
        return 0
    if args.child:
        result = measure(Case(**json.loads(args.child)))
        print(json.dumps(asdict(result)))
        return 0

    from lookalike.eval.category import default_cache_dir

    cache = args.cache_dir or default_cache_dir()
    q = args.queries
    cases: list[Case] = []
    notes: list[str] = []
    fm_sizes = [int(s) for s in args.fmnist_sizes.split(",") if s]
    if args.embed and fm_sizes:
        embed_fmnist(max(fm_sizes), q, cache)
    have = fmnist_cached(cache)
    for n in fm_sizes:
        n = min(n, 70_000 - q)  # the queries are held out of the 70k
        need = fmnist_plan(n, q)
        if need["train"] <= have["train"] and need["t10k"] <= have["t10k"]:
            cases.append(Case("edge", "fmnist", n, ENCODER_DIM, q, args.seed, str(cache)))
        else:
            notes.append(
                f"- Fashion-MNIST {n:,}: skipped, embeddings cached for {have['train']:,} train + "
                f"{have['t10k']:,} test images, {need['train']:,} + {need['t10k']:,} needed; use --embed "
                f"(about {(need['train'] + need['t10k']) / 20 / 60:.0f} min on 2 idle cores)"
            )
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for dim in [int(d) for d in args.dims.split(",") if d]:
        cases += [Case("edge", "synthetic", n, dim, q, args.seed) for n in sizes]
    if args.memory_size:
        cases.append(Case("memory", "synthetic", args.memory_size, ENCODER_DIM, q, args.seed))
    if os.environ.get("LOOKALIKE_QDRANT_URL"):
        cases += [Case("server", "synthetic", n, ENCODER_DIM, q, args.seed) for n in sizes]
    else:
        notes.append("- Qdrant server: not run (LOOKALIKE_QDRANT_URL is not set)")
    big = [c for c in cases if c.backend == "edge" and c.dim == ENCODER_DIM]
    if big:  # the search_image target on the largest 1280-d index, real embeddings preferred at equal size
        max(big, key=lambda c: (min(c.n, 70_000), c.data == "fmnist")).target = True

    results = [r for r in (run_child(c) for c in cases) if r is not None]
    failed = len(cases) - len(results)
    ram = (
        "- RAM MB: lookalike = the store's peak RSS beyond the loaded vectors; brute force = the vectors, "
        "the queries and a copy of each category's vectors (its filtered best case)"
    )
    million = run_million(args) if args.million else None
    failed += args.million and million is None
    text = "\n".join([table(results), "", ram, *targets(results), *notes]) if results else ""
    if million is not None:
        import scale_million

        text += "\n\n" + scale_million.table(million)
    if failed:
        text += f"\n- {failed} case(s) failed; see the messages above"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"search_scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    extra = {"million": scale_million.as_dict(million)} if million is not None else {}
    out.write_text(json.dumps({"results": [asdict(r) for r in results], "notes": notes, **extra}, indent=2))
    print(f"\nJSON: {out}", file=sys.stderr)
    return 1 if failed else 0


def embed_fmnist(n: int, n_queries: int, cache: Path) -> None:
    from lookalike import encoders
    from lookalike.eval import fashion_mnist
    from lookalike.eval.category import embed_fashion_mnist

    encoder = encoders.get_encoder("efficientnet-lite0", device="cpu")
    for split, rows in fmnist_plan(min(n, 70_000 - n_queries), n_queries).items():
        embed_fashion_mnist(
            encoder, fashion_mnist.load(split), rows, cache_dir=cache, progress=True, desc=split
        )


if __name__ == "__main__":
    sys.exit(main())
