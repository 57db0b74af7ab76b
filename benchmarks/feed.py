"""`index-feed` from a loopback web server against `index` of a folder holding the same images.

Both index into a fresh embedded store with the real `SearchService` (the same encoder, batch size and
write path), interleaved run by run so machine load hits both alike. The feed side also downloads
every image over HTTP from a threaded http.server on 127.0.0.1, stores it under the data dir and
hashes it; the folder side scans and hashes files. Target: feed images/s ≥ 0.8 × folder images/s.
A second row times a re-run with nothing changed (the feed side sends conditional requests, 304s).

    .venv/bin/python benchmarks/feed.py [--catalog DIR] [--repeats 3]

Prints a markdown table `what | lookalike | baseline | ratio` and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 0.8


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's default backlog of 5 drops concurrent connects (1 s SYN retry)


class ImageHost:
    """Serves a catalog's images, with ETags, and a Merchant TSV feed of its products."""

    def __init__(self, catalog: Path) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        files = sorted(p for p in catalog.rglob("*.png"))
        for p in files:
            self.files["/img/" + p.relative_to(catalog).as_posix()] = (p.read_bytes(), "image/png")
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                body, ctype = host.files.get(self.path, (b"", "text/plain"))
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                status = 404 if not body else 304 if self.headers.get("If-None-Match") == etag else 200
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("ETag", etag)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.files["/feed.tsv"] = (feed_tsv(catalog, files, base), "text/tab-separated-values")
        self.feed_url = f"{base}/feed.tsv"
        self.images = len(files)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def feed_tsv(catalog: Path, files: list[Path], base: str) -> bytes:
    """The folder's products as a Merchant TSV feed: the sidecar's ids, titles and descriptions (so both
    sides embed the same words), a product's views as additional_image_link, the folder as product_type."""
    from lookalike.catalog import read_sidecar

    sidecar = read_sidecar(catalog)
    products: dict[str, dict[str, Any]] = {}
    for path in files:
        rel = path.relative_to(catalog).as_posix()
        entry = sidecar.get(rel)
        pid = (entry.product_id if entry else None) or rel.rsplit(".", 1)[0]
        row = products.setdefault(pid, {"urls": [], "entry": entry, "folder": path.parent.name})
        row["urls"].append(f"{base}/img/{rel}")

    def text(value: str | None) -> str:
        return " ".join((value or "").split())

    lines = ["id\ttitle\tdescription\tproduct_type\timage_link\tadditional_image_link"]
    for pid, row in products.items():
        e = row["entry"]
        title, description = (e.title, e.description) if e else (None, None)
        urls = row["urls"]
        lines.append(
            "\t".join([pid, text(title), text(description), row["folder"], urls[0], ",".join(urls[1:])])
        )
    return "\n".join(lines).encode()


def _service(encoder: Any, data_dir: Path) -> Any:
    from lookalike.config import Settings
    from lookalike.search import SearchService

    return SearchService(Settings(data_dir=data_dir, qdrant_url=None), encoder=encoder)


def run_pair(catalog: Path, host: ImageHost, encoder: Any, tmp: Path, n: int) -> dict[str, float]:
    """One folder index and one feed index (each into a fresh store), then a re-run of each."""
    out: dict[str, float] = {}
    with _service(encoder, tmp / f"folder-{n}") as svc:
        t = time.perf_counter()
        report = svc.index(catalog)
        out["folder"] = time.perf_counter() - t
        out["folder_images"] = report.embedded
        t = time.perf_counter()
        svc.index(catalog)
        out["folder_rerun"] = time.perf_counter() - t
    with _service(encoder, tmp / f"feed-{n}") as svc:
        t = time.perf_counter()
        feed = svc.index_feed(host.feed_url, owner=True)
        out["feed"] = time.perf_counter() - t
        out["feed_images"] = feed.embedded
        if feed.failed:
            raise RuntimeError(f"feed images failed: {feed.failed[:3]}")
        t = time.perf_counter()
        again = svc.index_feed(host.feed_url, owner=True)
        out["feed_rerun"] = time.perf_counter() - t
        out["feed_rerun_304"] = again.not_modified
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", type=Path, help="catalog folder (default: build the demo catalog)")
    ap.add_argument("--repeats", type=int, default=3, help="measured runs of each (median and best reported)")
    args = ap.parse_args(argv)

    from lookalike import demo_data, encoders

    with tempfile.TemporaryDirectory(prefix="lookalike-feed-bench-") as tmp_name:
        tmp = Path(tmp_name)
        catalog = args.catalog
        if catalog is None:
            catalog = tmp / "catalog"
            demo_data.build(catalog)
        host = ImageHost(catalog)
        try:
            encoder = encoders.get_encoder("efficientnet-lite0", device="cpu")
            print(f"· {host.images} images; warm-up run (loads the models) …", file=sys.stderr, flush=True)
            run_pair(catalog, host, encoder, tmp, 0)
            runs = []
            for i in range(args.repeats):
                print(f"· run {i + 1}/{args.repeats} …", file=sys.stderr, flush=True)
                runs.append(run_pair(catalog, host, encoder, tmp, i + 1))
        finally:
            host.close()

    n = host.images
    assert all(r["feed_images"] == r["folder_images"] == n for r in runs), runs
    feed_med = statistics.median(r["feed"] for r in runs)
    folder_med = statistics.median(r["folder"] for r in runs)
    feed_best, folder_best = min(r["feed"] for r in runs), min(r["folder"] for r in runs)
    ratios = [r["folder"] / r["feed"] for r in runs]  # (feed images/s) / (folder images/s), run by run
    rerun_feed = statistics.median(r["feed_rerun"] for r in runs)
    rerun_folder = statistics.median(r["folder_rerun"] for r in runs)
    rows = [
        "| what | lookalike (index-feed, loopback HTTP) | baseline (index, folder) | ratio |",
        "|---|---|---|---|",
        f"| {n} demo photos, images/s, median of {args.repeats} | {n / feed_med:.2f} | {n / folder_med:.2f} "
        f"| {statistics.median(ratios):.2f} |",
        f"| same, best of {args.repeats} | {n / feed_best:.2f} | {n / folder_best:.2f} "
        f"| {folder_best / feed_best:.2f} |",
        f"| re-run, nothing changed, s, median (feed: {runs[-1]['feed_rerun_304']:.0f} conditional 304s) "
        f"| {rerun_feed:.2f} | {rerun_folder:.2f} | {rerun_folder / rerun_feed:.2f} |",
    ]
    ratio = statistics.median(ratios)
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    target = (
        f"- target: index-feed images/s ≥ {TARGET}× index from a folder: median ratio {ratio:.2f} "
        f"(runs {', '.join(f'{r:.2f}' for r in ratios)}) {verdict}"
    )
    print("\n".join([*rows, "", target]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"feed-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"images": n, "runs": runs, "ratios": ratios, "target": TARGET}, indent=2))
    print(f"\nJSON: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
