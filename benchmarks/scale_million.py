"""A million points with lookalike's real schema (image + title + colour + concepts vectors) through
lookalike's own EdgeStore and memory plan, next to exact numpy brute force measured in the same run.

Run by `search_scale.py --million` in a child process (see there). The vectors are synthetic and clustered
(a product kind = a cluster: image cosine ≈ 0.7 to its centre, a title and a concept profile per cluster),
generated chunk by chunk from (seed, chunk) so the whole million never sits in this process's RAM: exact
ground truth (recall@10 against every one of the 1M points) is accumulated chunk by chunk during ingest.
Brute-force latency runs on a 100k sample kept in RAM (the first 100k points); at 1M it costs ~10× that.

Memory is read from /proc/self/status: VmHWM (peak resident), and RssAnon (heap: what the process really
needs) apart from RssFile (memory-mapped files: page cache the kernel can drop). A sampler process reads
them every 0.5 s because the engine holds the GIL while it builds the index; the peak is reset
(/proc/self/clear_refs) between ingest and search.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

CHUNK = 10_000
SAMPLE = 100_000
TOP_K = 10
WORD_K = 30  # a word route asks for top_k * 3
N_CATEGORIES = 10
WARMUP = 50  # untimed queries before each timed loop
IMAGE_DIM = 1280


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- memory ------------------------------------------------------------------------------------------------
def status(pid: int | str = "self") -> dict[str, float]:
    """MB of VmHWM, VmRSS, RssAnon, RssFile for a process."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return out


def _sample(pid: int, peaks: Any, phase: Any, stop: Any) -> None:
    """Peaks per phase: peaks[2*phase] = RssAnon, peaks[2*phase + 1] = RssFile."""
    while not stop.value:
        s = status(pid)
        if not s:
            return
        p = phase.value
        peaks[2 * p] = max(peaks[2 * p], s.get("RssAnon", 0.0))
        peaks[2 * p + 1] = max(peaks[2 * p + 1], s.get("RssFile", 0.0))
        time.sleep(0.5)


class Sampler:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.peaks = ctx.Array("d", 6, lock=False)
        self.phase = ctx.Value("i", 0, lock=False)
        self.stop = ctx.Value("b", False, lock=False)
        self.proc = ctx.Process(target=_sample, args=(os.getpid(), self.peaks, self.phase, self.stop))
        self.proc.start()

    def peak(self, phase: int) -> dict[str, float]:
        return {"anon": self.peaks[2 * phase], "file": self.peaks[2 * phase + 1]}

    def close(self) -> None:
        self.stop.value = True
        self.proc.join(5)


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# -- data --------------------------------------------------------------------------------------------------
def _unit(x: np.ndarray) -> np.ndarray:
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


@dataclass
class World:
    """Cluster centres of every vector kind; points and queries are draws around them."""

    seed: int
    n: int
    vectors: dict[str, int]
    image: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    title: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    concepts: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    colour: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        rng = np.random.default_rng([self.seed, 7])
        k = max(100, self.n // 1000)
        self.clusters = k
        self.image = _unit(rng.standard_normal((k, self.vectors["image"]), dtype=np.float32))
        self.title = _unit(rng.standard_normal((k, self.vectors["text"]), dtype=np.float32))
        profile = np.zeros((k, self.vectors["concepts"]), dtype=np.float32)
        for c in range(k):  # each kind of product looks like a few ImageNet classes
            cls = rng.choice(self.vectors["concepts"], size=5, replace=False)
            profile[c, cls] = rng.dirichlet(np.ones(5)).astype(np.float32)
        self.concepts = profile
        self.colour = rng.dirichlet(np.full(self.vectors["colour"], 0.3), size=k).astype(np.float32)

    def chunk(self, c: int, size: int) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Points of chunk c: image vectors, the word-route vectors and the category of each."""
        rng = np.random.default_rng([self.seed, c])
        labels = rng.integers(0, self.clusters, size=size)
        img = _unit(
            self.image[labels]
            + rng.standard_normal((size, self.image.shape[1]), dtype=np.float32)
            / np.float32(np.sqrt(self.image.shape[1]))
        )
        title = _unit(
            self.title[labels]
            + rng.standard_normal((size, self.title.shape[1]), dtype=np.float32)
            / np.float32(np.sqrt(self.title.shape[1]))
        )
        noise = rng.gamma(0.05, size=(size, self.concepts.shape[1])).astype(np.float32)
        noise /= np.maximum(noise.sum(axis=1, keepdims=True), 1e-12)
        concepts = 0.7 * self.concepts[labels] + 0.3 * noise
        col = rng.gamma(0.3, size=(size, self.colour.shape[1])).astype(np.float32)
        col /= np.maximum(col.sum(axis=1, keepdims=True), 1e-12)
        colour = 0.6 * self.colour[labels] + 0.4 * col
        return img, {"text": title, "concepts": concepts, "colour": colour}, labels % N_CATEGORIES

    def image_queries(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        img, _, cats = self.chunk(10**6, n)  # a chunk index no point uses
        return img, cats

    def warmup_queries(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        img, _, cats = self.chunk(10**6 + 2, n)  # neither a point's nor a measured query's chunk
        return img, cats

    def word_queries(self, n: int) -> dict[str, np.ndarray]:
        """What the word routes send: a title embedding near a kind's, concept and colour words."""
        rng = np.random.default_rng([self.seed, 10**6 + 1])
        labels = rng.integers(0, self.clusters, size=n)
        title = _unit(
            self.title[labels]
            + rng.standard_normal((n, self.title.shape[1]), dtype=np.float32)
            / np.float32(np.sqrt(self.title.shape[1]))
        )
        concepts = np.zeros((n, self.concepts.shape[1]), dtype=np.float32)
        concepts[np.arange(n), self.concepts[labels].argmax(axis=1)] = 1.0  # "running shoe"
        colour = np.zeros((n, self.colour.shape[1]), dtype=np.float32)
        colour[np.arange(n), rng.integers(0, self.colour.shape[1], size=n)] = 1.0  # "red"
        return {"text": title, "concepts": concepts, "colour": colour}


class TopK:
    """Exact top-k per query, merged chunk by chunk (cosine = dot on unit vectors)."""

    def __init__(self, n_queries: int, k: int):
        self.k = k
        self.scores = np.full((n_queries, k), -np.inf, dtype=np.float32)
        self.ids = np.full((n_queries, k), -1, dtype=np.int64)

    def add(self, scores: np.ndarray, first_id: int) -> None:
        """scores: [n_queries, chunk]."""
        ids = np.broadcast_to(np.arange(first_id, first_id + scores.shape[1]), scores.shape)
        s = np.concatenate([self.scores, scores], axis=1)
        i = np.concatenate([self.ids, ids], axis=1)
        top = np.argpartition(-s, self.k - 1, axis=1)[:, : self.k]
        self.scores = np.take_along_axis(s, top, axis=1)
        self.ids = np.take_along_axis(i, top, axis=1)


def _cos(x: np.ndarray) -> np.ndarray:
    return _unit(x.astype(np.float32, copy=True))


def _exact(matrix: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = matrix @ q
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top])]


def _one_blas_thread() -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # not installed: time numpy as it is
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _pct(seconds: list[float]) -> list[float]:
    ms = np.asarray(seconds) * 1000
    return [float(np.percentile(ms, p)) for p in (50, 95, 99)]


def _recall(hits: list[Any], truth: np.ndarray) -> float:
    got = {uuid.UUID(h.id).int for h in hits}
    return len(got & set(truth.tolist())) / len(truth)


def _recall_by_score(hits: list[Any], truth_scores: np.ndarray, tol: float = 2e-3) -> float:
    """Share of hits at least as similar as the exact k-th best (within rounding): a ranking by word
    routes has many exact ties (every product of a kind scores the same on "running shoe"), so which of
    the tied ids come back is arbitrary and id overlap would understate it."""
    kth = float(np.min(truth_scores))
    return sum(h.score >= kth - tol for h in hits) / len(truth_scores)


def _payload(i: int, cat: int) -> dict[str, Any]:
    return {
        "product_id": f"p{i}",
        "category": f"c{cat}",
        "path": f"/bench/{i}.png",
        "rel_path": f"c{cat}/{i}.png",
        "sha256": "0" * 64,
        "title": None,
    }


def _du(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


@dataclass
class MillionResult:
    n: int
    plan: str
    upsert_s: float = 0.0
    build_s: float = 0.0
    reopen_s: float = 0.0
    disk_mb: float = 0.0
    float_mb: float = 0.0  # every vector as float32: what an all-in-RAM plan would hold
    bench_anon_mb: float = 0.0  # this process before the store: interpreter, imports, queries
    ingest: dict[str, float] = field(default_factory=dict)  # hwm, anon, file peaks (MB)
    search: dict[str, float] = field(default_factory=dict)
    latency: dict[str, list[float]] = field(default_factory=dict)  # p50/p95/p99 ms
    recall: dict[str, float] = field(default_factory=dict)
    sweep: list[dict[str, float]] = field(default_factory=list)
    words: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ingest_rate(self) -> float:
        return self.n / max(self.upsert_s + self.build_s, 1e-9)

    @property
    def sample_mb(self) -> float:
        """The brute-force sample this process holds beside the store (every vector of 100k points)."""
        return min(SAMPLE, self.n) * (self.float_mb / max(self.n, 1))


def run(n: int, queries: int, seed: int, directory: Path | None = None, batch: int = 512) -> MillionResult:
    from lookalike.store.base import PointFilter, Schema
    from lookalike.store.edge import EdgeStore
    from lookalike.store.plan import MemoryPlan, edge_search_params
    from lookalike.words.vectors import extras

    sampler = Sampler()
    schema = Schema("bench", IMAGE_DIM, extras=extras(True))
    plan = MemoryPlan()
    world = World(seed, n, schema.vectors)
    res = MillionResult(n=n, plan=plan.describe())
    res.float_mb = n * sum(schema.vectors.values()) * 4 / 2**20
    qimg, qcat = world.image_queries(queries)
    wq = world.word_queries(min(queries, 50))
    truth, truth_f = TopK(queries, TOP_K), TopK(queries, TOP_K)
    word_truth = {name: TopK(len(v), WORD_K) for name, v in wq.items()}
    sample_n = min(SAMPLE, n)
    sample_img = np.empty((sample_n, IMAGE_DIM), dtype=np.float32)
    sample_cat = np.empty(sample_n, dtype=np.int64)
    sample_words = {
        k: np.empty((sample_n, d), dtype=np.float32) for k, d in schema.vectors.items() if k != "image"
    }
    res.bench_anon_mb = status().get("RssAnon", 0.0)
    log(f"{n:,} points, schema {schema.vectors}, plan: {res.plan}")

    tmp = None if directory else tempfile.TemporaryDirectory(prefix="lookalike-million-")
    where = Path(directory or tmp.name) / "edge"  # type: ignore[union-attr]
    if where.exists():
        raise SystemExit(f"{where} exists: give an empty --run-dir")
    store = EdgeStore(where, schema, plan=plan)
    try:
        t0 = time.perf_counter()
        last = t0
        for c in range(-(-n // CHUNK)):
            first = c * CHUNK
            size = min(CHUNK, n - first)
            img, words, cats = world.chunk(c, size)
            if first < sample_n:
                m = min(size, sample_n - first)
                sample_img[first : first + m] = img[:m]
                sample_cat[first : first + m] = cats[:m]
                for k in sample_words:
                    sample_words[k][first : first + m] = _cos(words[k][:m])
            scores = qimg @ img.T
            truth.add(scores, first)
            truth_f.add(np.where(qcat[:, None] == cats[None, :], scores, -np.inf), first)
            for name, q in wq.items():
                word_truth[name].add(q @ _cos(words[name]).T, first)
            for s in range(0, size, batch):
                e = min(s + batch, size)
                ids = [str(uuid.UUID(int=first + i)) for i in range(s, e)]
                store.upsert(
                    ids,
                    img[s:e],
                    [_payload(first + i, int(cats[i])) for i in range(s, e)],
                    {k: list(v[s:e]) for k, v in words.items()},
                )
            done = first + size
            if done % 50_000 == 0 or done == n:
                now = time.perf_counter()
                st = status()
                log(
                    f"upserted {done:,} ({done / (now - t0):,.0f} pts/s overall, "
                    f"{min(50_000, done) / (now - last):,.0f} last) RSS anon {st.get('RssAnon', 0):,.0f} MB "
                    f"file {st.get('RssFile', 0):,.0f} MB, peak {st.get('VmHWM', 0):,.0f} MB"
                )
                last = now
        t1 = time.perf_counter()
        res.upsert_s = t1 - t0
        log(f"upsert done in {res.upsert_s:.0f}s; building indexes (optimize) …")
        store.optimize()
        res.build_s = time.perf_counter() - t1
        st = status()
        pk = sampler.peak(0)
        res.ingest = {"hwm": st.get("VmHWM", 0.0), "anon": pk["anon"], "file": pk["file"]}
        log(f"index built in {res.build_s:.0f}s; ingest {res.ingest_rate:,.0f} pts/s; memory {res.ingest}")
    finally:
        store.close()
    res.disk_mb = _du(where)
    del img, words, scores

    reset_peak()
    sampler.phase.value = 1
    t = time.perf_counter()
    store = EdgeStore(where, schema, plan=plan)
    res.reopen_s = time.perf_counter() - t
    log(f"reopened in {res.reopen_s:.2f}s; disk {res.disk_mb:,.0f} MB")
    try:
        assert store.count() == n, store.count()
        names = [f"c{c}" for c in range(N_CATEGORIES)]
        by_cat = {c: np.flatnonzero(sample_cat == c) for c in range(N_CATEGORIES)}
        cat_img = {c: np.ascontiguousarray(sample_img[i]) for c, i in by_cat.items()}
        lat: dict[str, list[float]] = {
            k: [] for k in ("store", "store_f", "store_again", "exact100k", "exact100k_f")
        }
        rec, rec_f = [], []
        warm, warm_cat = world.warmup_queries(WARMUP)
        # each kind of search in its own loop after its own warm-up (queries no loop measures): a numpy
        # matmul or a filtered search right before a query evicts what it needs and slowed the unfiltered
        # p50 from 0.5 ms to 14 ms in an earlier run (benchmarks/query_path.py, row "after numpy")
        for q in warm:
            store.search(q, TOP_K)
        for i, q in enumerate(qimg):
            t = time.perf_counter()
            hits = store.search(q, TOP_K)
            lat["store"].append(time.perf_counter() - t)
            rec.append(_recall(hits, truth.ids[i]))
        for q, qc in zip(warm, warm_cat, strict=True):
            store.search(q, TOP_K, PointFilter(category=names[qc]))
        for i, (q, qc) in enumerate(zip(qimg, qcat, strict=True)):
            t = time.perf_counter()
            hits = store.search(q, TOP_K, PointFilter(category=names[qc]))
            lat["store_f"].append(time.perf_counter() - t)
            rec_f.append(_recall(hits, truth_f.ids[i]))
        for q in qimg:  # the same queries again: every page they touch is now in the page cache
            t = time.perf_counter()
            store.search(q, TOP_K)
            lat["store_again"].append(time.perf_counter() - t)

        def time_exact(suffix: str) -> None:
            """numpy brute force over the 100k sample, unfiltered then within the query's category."""
            lat["exact100k" + suffix], lat["exact100k_f" + suffix] = [], []
            for q in qimg:
                t = time.perf_counter()
                _exact(sample_img, q, TOP_K)
                lat["exact100k" + suffix].append(time.perf_counter() - t)
            for q, qc in zip(qimg, qcat, strict=True):
                t = time.perf_counter()
                by_cat[qc][_exact(cat_img[qc], q, TOP_K)]
                lat["exact100k_f" + suffix].append(time.perf_counter() - t)

        for q in warm:
            _exact(sample_img, q, TOP_K)
        time_exact("")
        # numpy's BLAS splits one matmul over both cores; on a loaded machine waking its second thread
        # costs a scheduler tick (a flat 8 ms on a 10k matrix that takes 0.8 ms idle), so the baseline
        # is timed on one thread too, like the store's query
        with _one_blas_thread():
            time_exact("_1t")
        res.latency = {k: _pct(v) for k, v in lat.items()}
        res.recall = {"unfiltered": float(np.mean(rec)), "filtered": float(np.mean(rec_f))}
        log(f"image search {res.latency} recall {res.recall}")

        for ef, over in ((64, 2.0), (256, 2.0), (128, 1.0)):  # what the defaults buy
            store._search_params = edge_search_params(replace(plan, search_ef=ef, oversampling=over))
            ms, r = [], []
            for q in warm[:20]:
                store.search(q, TOP_K)
            for i, q in enumerate(qimg[:100]):
                t = time.perf_counter()
                hits = store.search(q, TOP_K)
                ms.append(time.perf_counter() - t)
                r.append(_recall(hits, truth.ids[i]))
            res.sweep.append(
                {"ef": ef, "oversampling": over, "p50": _pct(ms)[0], "recall": float(np.mean(r))}
            )
        store._search_params = edge_search_params(plan)
        log(f"sweep {res.sweep}")

        # words alone: each route scans its int8 copies (no HNSW); photo + words: rescoring 100 candidates
        wlat: dict[str, list[float]] = {k: [] for k in (*wq, "all routes", "exact100k", "rescore100")}
        wrec: dict[str, list[float]] = {k: [] for k in wq}
        for i in range(len(wq["text"])):
            total = 0.0
            for name, qs in wq.items():
                t = time.perf_counter()
                hits = store.search(qs[i], WORD_K, PointFilter(), using=name)
                dt = time.perf_counter() - t
                total += dt
                wlat[name].append(dt)
                wrec[name].append(_recall_by_score(hits, word_truth[name].scores[i]))
            wlat["all routes"].append(total)
            cands = store.search(qimg[i], 100)
            only = PointFilter(ids=tuple(h.id for h in cands))
            t = time.perf_counter()
            for name, qs in wq.items():
                store.search(qs[i], len(cands), only, using=name)
            wlat["rescore100"].append(time.perf_counter() - t)
        for i in range(len(wq["text"])):
            t = time.perf_counter()
            for name, qs in wq.items():
                _exact(sample_words[name], qs[i], WORD_K)
            wlat["exact100k"].append(time.perf_counter() - t)
        res.words = {
            "latency": {k: _pct(v) for k, v in wlat.items()},
            "recall": {k: float(np.mean(v)) for k, v in wrec.items()},
        }
        log(f"words {res.words}")
        st = status()
        pk = sampler.peak(1)
        res.search = {"hwm": st.get("VmHWM", 0.0), "anon": pk["anon"], "file": pk["file"]}
        log(f"search memory {res.search}")
    finally:
        store.close()
        sampler.close()
        if tmp:
            tmp.cleanup()
    return res


def table(r: MillionResult) -> str:
    lat, w = r.latency, r.words["latency"]

    def ms(v: list[float]) -> str:
        return f"{v[0]:.2f} / {v[1]:.2f}"

    def ratio(a: list[float], b: list[float]) -> str:
        return f"{a[0] / b[0]:.2f}×"

    rows = [
        f"| {r.n:,} points, real schema ({r.plan}) | lookalike | numpy exact, 100k sample | ratio |",
        "|---|---|---|---|",
        f"| ingest points/s (upsert {r.upsert_s / 60:.1f} min + index build {r.build_s / 60:.1f} min) "
        f"| {r.ingest_rate:,.0f} | — | — |",
        f"| peak RSS during ingest, MB (VmHWM; anon / file-mapped) | {r.ingest['hwm']:,.0f} "
        f"({r.ingest['anon']:,.0f} / {r.ingest['file']:,.0f}) | — | — |",
        f"| peak RSS during search, MB (VmHWM; anon / file-mapped) | {r.search['hwm']:,.0f} "
        f"({r.search['anon']:,.0f} / {r.search['file']:,.0f}) | — | — |",
        f"| of the anon peaks, the benchmark's own: interpreter and imports {r.bench_anon_mb:,.0f} MB + "
        f"100k-point sample for brute force {r.sample_mb:,.0f} MB → the store's own anon, ingest / search "
        f"| {r.ingest['anon'] - r.bench_anon_mb - r.sample_mb:,.0f} / "
        f"{r.search['anon'] - r.bench_anon_mb - r.sample_mb:,.0f} | — | — |",
        f"| disk MB (every vector as float32: {r.float_mb:,.0f}) | {r.disk_mb:,.0f} | — | — |",
        f"| reopen s | {r.reopen_s:.2f} | — | — |",
        f"| image search ms p50 / p95 | {ms(lat['store'])} | {ms(lat['exact100k'])} "
        f"| {ratio(lat['store'], lat['exact100k'])} |",
        f"| image search, 1 of 10 categories, ms p50 / p95 | {ms(lat['store_f'])} | {ms(lat['exact100k_f'])} "
        f"| {ratio(lat['store_f'], lat['exact100k_f'])} |",
        *(
            [
                f"| the same on numpy with one BLAS thread: unfiltered / 1 of 10 categories, ms p50 "
                f"| — | {lat['exact100k_1t'][0]:.2f} / {lat['exact100k_f_1t'][0]:.2f} | "
                f"{ratio(lat['store'], lat['exact100k_1t'])} / "
                f"{ratio(lat['store_f'], lat['exact100k_f_1t'])} |"
            ]
            if "exact100k_1t" in lat
            else []
        ),
        *(
            [
                f"| image search, the same queries a second time, ms p50 / p95 | {ms(lat['store_again'])} "
                f"| — | — |"
            ]
            if "store_again" in lat
            else []
        ),
        f"| recall@10 vs exact over all {r.n:,}, unfiltered / filtered "
        f"| {r.recall['unfiltered']:.3f} / {r.recall['filtered']:.3f} | 1 / 1 | — |",
        f"| word search (3 routes, top {WORD_K} each) ms p50 / p95 | {ms(w['all routes'])} "
        f"| {ms(w['exact100k'])} | {ratio(w['all routes'], w['exact100k'])} |",
    ]
    for name in ("concepts", "text", "colour"):
        rows.append(
            f"| word route `{name}` ms p50 / p95 (recall@{WORD_K} by score {r.words['recall'][name]:.3f}) "
            f"| {ms(w[name])} | — | — |"
        )
    rows.append(
        f"| photo + words: 3 routes rescoring 100 candidates, ms p50 / p95 | {ms(w['rescore100'])} | — | — |"
    )
    for s in r.sweep:
        rows.append(
            f"| image search ef={s['ef']:.0f}, oversampling {s['oversampling']:g}: p50 ms / recall@10 "
            f"| {s['p50']:.2f} / {s['recall']:.3f} | — | — |"
        )
    return "\n".join(rows)


def as_dict(r: MillionResult) -> dict[str, Any]:
    return asdict(r) | {"ingest_rate": r.ingest_rate}


if __name__ == "__main__":  # re-print the table of a finished run: scale_million.py RESULTS.json
    import json

    data = json.loads(Path(sys.argv[1]).read_text())["million"]
    data.pop("ingest_rate", None)
    print(table(MillionResult(**data)))
