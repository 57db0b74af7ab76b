"""Finding a product inside a shopper's photo: whole-image search vs region methods, in one run.

Builds the demo catalog, indexes it with SearchService (embedded Qdrant Edge, tmp dir), then asks
every method the same queries from the *test* half of the seeded scene recipes (lookalike.eval.scenes):
single products on real photographs, the same shot with a phone, 2–3 products in one photo, the
existing same-product recipes (lookalike.augment) and the clean catalog photos themselves. Latency
is per query (image in memory → fused ranking), p50, against one plain encode of the same image.

    PYTHONPATH=src python benchmarks/regions.py [--quick] [--half tune|test]

Multi-product: a scene counts when every product it holds is in the top 5 of "its own region": the
returned region with the highest IoU with that product's true box (at least MULTI_IOU).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from lookalike import demo_data, encoders, regions
from lookalike.catalog import scan
from lookalike.config import Settings
from lookalike.eval import augment, scenes
from lookalike.regions import Box, RegionResult
from lookalike.search import SearchService

MULTI_IOU = 0.2
TOP = 10
Hits = list[tuple[str, float]]


@dataclass
class Outcome:
    ranking: list[str]
    groups: list[regions.Group]


Method = Callable[[Image.Image], Outcome]


class Bench:
    def __init__(self, service: SearchService):
        self.service = service
        self.encoder = service.encoder

    def hits(self, vec: np.ndarray, k: int = TOP) -> Hits:
        return [(h.product.product_id, h.score) for h in self.service.search_vector(vec, top_k=k)]

    def results(self, vecs: np.ndarray, boxes: Sequence[Box | None], k: int = TOP) -> list[RegionResult]:
        return [RegionResult(b, self.hits(v, k)) for v, b in zip(vecs, boxes, strict=True)]

    # (a) whole image
    def whole(self, img: Image.Image) -> Outcome:
        res = self.results(self.encoder.embed_images([img]), [None])
        return Outcome([p for p, _ in res[0].hits], [regions.Group(_full(img), res[0].hits)])

    # (b) crop grid, one batch
    def crops(self, scales: Sequence[float], margin: float, overlap: float = 0.5) -> Method:
        def run(img: Image.Image) -> Outcome:
            boxes = regions.grid(img.size, scales, overlap)
            vecs = self.encoder.embed_images([img] + [img.crop(b.corners()) for b in boxes])
            res = self.results(vecs, [None, *boxes])
            return _outcome(res, margin)

        return run

    # (c) pooled regions from one forward pass at `side`
    def pooled(self, side: int, scales: Sequence[float], margin: float, overlap: float = 0.5) -> Method:
        def run(img: Image.Image) -> Outcome:
            boxes = regions.grid(img.size, scales, overlap)
            whole = self.encoder.embed_images([img])
            fmap = self.encoder.feature_maps([img], side, pad=False)[0]  # type: ignore[attr-defined]
            vecs = regions.pool(fmap, boxes, img.size)
            res = self.results(np.concatenate([whole, vecs]), [None, *boxes])
            return _outcome(res, margin)

        return run

    # (d) saliency (feature norm) → one box → crop
    def saliency(self, side: int, frac: float, margin: float) -> Method:
        def run(img: Image.Image) -> Outcome:
            fmap = self.encoder.feature_maps([img], side, pad=False)[0]  # type: ignore[attr-defined]
            box = _salient_box(fmap, img.size, frac)
            vecs = self.encoder.embed_images([img, img.crop(box.corners())])
            res = self.results(vecs, [None, box])
            return _outcome(res, margin)

        return run

    # (e) pooled proposals → k distinct regions re-encoded as crops: the module's pipeline
    def locate(self, settings: regions.RegionSettings) -> Method:
        def run(img: Image.Image) -> Outcome:
            found = regions.locate(img, self.encoder, self.service.region_index(), TOP, settings)
            groups = found.groups or [regions.Group(Box(0, 0, 1, 1), [])]
            return Outcome([m.product_id for m in found.matches], groups)

        return run


def _full(img: Image.Image) -> Box:
    return Box(0, 0, *img.size)


def _outcome(res: list[RegionResult], margin: float) -> Outcome:
    ranking = [m.product_id for m in regions.fuse(res, margin, TOP)]
    groups = regions.group(res, max_products=3, iou=0.3)
    if not groups:
        groups = [regions.Group(Box(0, 0, 1, 1), res[0].hits)]
    return Outcome(ranking, groups)


def _salient_box(fmap: np.ndarray, size: tuple[int, int], frac: float) -> Box:
    """Cells whose feature norm is above `frac` of the way from the lowest to the highest: their bbox."""
    norm = np.linalg.norm(fmap, axis=0)
    t = norm.min() + frac * (norm.max() - norm.min())
    rows, cols = np.nonzero(norm >= t)
    R, C = norm.shape
    W, H = size
    x0, x1 = cols.min() * W // C, (cols.max() + 1) * W // C
    y0, y1 = rows.min() * H // R, (rows.max() + 1) * H // R
    return Box(x0, y0, max(1, x1 - x0), max(1, y1 - y0))


# -- query sets ---------------------------------------------------------------------------------------
@dataclass
class QuerySet:
    images: list[Image.Image]
    truth: list[list[str]]  # products in the image (one, except multi)
    boxes: list[list[Box]]


def build_sets(files, photos, half: str, per_photo: int) -> dict[str, QuerySet]:
    pid = [f.product_id for f in files]
    sets: dict[str, QuerySet] = {}
    for kind in scenes.KINDS:
        qs = [q for q in scenes.queries(len(photos), kind, per_photo) if q.half == half]
        s = QuerySet([], [], [])
        for q in qs:
            sc = scenes.render(q, photos)
            s.images.append(sc.image)
            s.truth.append([pid[p.source] for p in sc.products])
            s.boxes.append([Box(*p.box) for p in sc.products])
        sets[kind] = s
    same = QuerySet([], [], [])
    for i, photo in enumerate(photos):
        for r in augment.RECIPE_NAMES:
            for j in range(1 if r in augment.DETERMINISTIC else per_photo):
                seed = augment.seed_for(0, files[i].rel_path, r, j)
                if r not in augment.DETERMINISTIC and scenes.split_of(seed) != half:
                    continue
                same.images.append(augment.apply(r, photo, seed))
                same.truth.append([pid[i]])
                same.boxes.append([])
    sets["same"] = same
    sets["clean"] = QuerySet([augment.to_rgb(p) for p in photos], [[p] for p in pid], [[] for _ in pid])
    return sets


def evaluate(method: Method, sets: dict[str, QuerySet], timings: list[float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, s in sets.items():
        r1 = r5 = 0
        for img, truth, boxes in zip(s.images, s.truth, s.boxes, strict=True):
            t0 = time.perf_counter()
            o = method(img)
            timings.append(time.perf_counter() - t0)
            if name == "multi":
                r1 += all(_found(o.groups, t, b) for t, b in zip(truth, boxes, strict=True))
            else:
                r1 += truth[0] in o.ranking[:1]
                r5 += truth[0] in o.ranking[:5]
        n = max(1, len(s.images))
        out[f"{name}@1"], out[f"{name}@5"] = r1 / n, r5 / n
    return out


def _found(groups: Sequence[regions.Group], product: str, box: Box) -> bool:
    own = max(groups, key=lambda g: g.box.iou(box))
    return own.box.iou(box) >= MULTI_IOU and product in [p for p, _ in own.hits[:5]]


def encode_p50(encoder: encoders.Encoder, images: Sequence[Image.Image]) -> float:
    times = []
    for img in images:
        t0 = time.perf_counter()
        encoder.embed_images([img])
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# proposals as before issue 10's proposal work: the best distinct windows by score (plain NMS), as they are
PLAIN = dataclasses.replace(regions.RegionSettings(), coverage=0.0, merge_within=0.0)
# the first localisation (stop 15): square windows, 3 crops, mean-pooled, no colour
FIRST = dataclasses.replace(PLAIN, aspects=(1.0,), crops=3, centre_sigma=0.0, colour_weight=0.0)


def methods(b: Bench, quick: bool, sweep: Sequence[dict] = ()) -> dict[str, Method]:
    if sweep:  # tuning: each dict overrides fields of the default settings
        return {
            f"(f) {json.dumps(o)}": b.locate(dataclasses.replace(regions.RegionSettings(), **o))
            for o in sweep
        }
    m: dict[str, Method] = {
        "(a) whole image": b.whole,
        "(b) crops 3 scales (1+19)": b.crops((0.9, 0.7, 0.5), 0.0),
        "(c) pooled@224 grid": b.pooled(224, (0.9, 0.7, 0.5), 0.0),
        "(c) pooled@448 grid": b.pooled(448, (0.9, 0.7, 0.5), 0.0),
        "(d) saliency box + crop": b.saliency(224, 0.5, 0.0),
        "(e) pooled@448 → 3 square crops (first version)": b.locate(FIRST),
        "(f) + tall/wide windows, 4 crops": b.locate(
            dataclasses.replace(PLAIN, centre_sigma=0.0, colour_weight=0.0)
        ),
        "(g) + crops pooled to the centre": b.locate(dataclasses.replace(PLAIN, colour_weight=0.0)),
        "(h) + colour re-ranking": b.locate(PLAIN),
        "(i) the same, 6 crops (products in this photo)": b.locate(dataclasses.replace(PLAIN, crops=6)),
        "(j) + crops spread over the photo (coverage)": b.locate(
            dataclasses.replace(regions.RegionSettings(), merge_within=0.0)
        ),
        "(k) + windows merged onto their product (default)": b.locate(regions.RegionSettings()),
        # what /search/regions does for 3 products: a crop for each and three spare
        "(l) the default, 6 crops (products in this photo)": b.locate(
            dataclasses.replace(regions.RegionSettings(), crops=6)
        ),
    }
    return m


def _f(scores: dict[str, float], key: str) -> str:
    return f"{scores[key]:.3f}" if key in scores else "—"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one scene per photo and kind (default two)")
    ap.add_argument("--half", choices=("tune", "test"), default="test")
    ap.add_argument("--runtime", choices=("auto", "onnx", "torch"), default="auto", help="model runtime")
    ap.add_argument("--only", default="", help="comma-separated method name prefixes, e.g. '(a),(e)'")
    ap.add_argument("--kinds", default="", help="only these query sets, e.g. 'multi' (tuning)")
    ap.add_argument("--per-photo", type=int, default=0, help="scenes per photo and kind (overrides --quick)")
    ap.add_argument(
        "--sweep", default="", help="tuning: JSON list of RegionSettings overrides, e.g. '[{\"crops\": 5}]'"
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    per_photo = args.per_photo or (1 if args.quick else 2)
    sweep = json.loads(args.sweep) if args.sweep else []
    with tempfile.TemporaryDirectory(prefix="lookalike-regions-") as tmp:
        catalog = Path(tmp) / "catalog"
        demo_data.build(catalog)
        files = scan(catalog)
        photos = [augment.open_rgba(f.path) for f in files]
        encoder = encoders.get_encoder("efficientnet-lite0", device="cpu", runtime=args.runtime)
        settings = Settings(data_dir=Path(tmp) / "data", qdrant_url=None, collection="regions")
        with SearchService(settings, encoder=encoder) as service:
            service.index(catalog)
            sets = build_sets(files, photos, args.half, per_photo)
            if args.kinds:
                keep = {k.strip() for k in args.kinds.split(",")}
                sets = {k: v for k, v in sets.items() if k in keep or k == "single"}
            sizes = {k: len(v.images) for k, v in sets.items()}
            print(f"queries ({args.half} half): {sizes}", file=sys.stderr)
            bench = Bench(service)
            scene_imgs = sets["single"].images
            encode_p50(encoder, scene_imgs[:5])  # warm-up
            rows = []
            only = [o.strip() for o in args.only.split(",") if o.strip()]
            for name, method in methods(bench, args.quick, sweep).items():
                if only and not any(name.startswith(o) for o in only):
                    continue
                timings: list[float] = []
                scores = evaluate(method, sets, timings)
                # latency and the one-encode reference interleaved on the same scene photos
                lat, enc = [], []
                for img in scene_imgs:
                    t0 = time.perf_counter()
                    method(img)
                    lat.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    encoder.embed_images([img])
                    enc.append(time.perf_counter() - t0)
                p50, e50 = statistics.median(lat), statistics.median(enc)
                rows.append((name, scores, p50, e50))
                print(f"done {name}", file=sys.stderr)
    print(
        "| method | scene r@1 | scene r@5 | scene+phone r@1 | multi top5 | same-product r@1 "
        "| clean r@1 | p50 ms | × one encode |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, s, p50, e50 in rows:
        print(
            f"| {name} | {_f(s, 'single@1')} | {_f(s, 'single@5')} | {_f(s, 'phone@1')} | {_f(s, 'multi@1')} "
            f"| {_f(s, 'same@1')} | {_f(s, 'clean@1')} | {p50 * 1000:.0f} | {p50 / e50:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
