"""Product-in-scene evaluation: catalog products cut out and placed on real cluttered photographs
(eval/scenes.py), searched through SearchService with region "whole" (the baseline) and "auto"
(localisation), in the same run. Only the test half of the seeded recipes is scored by default: the
tuning half is what lookalike.regions was tuned on. The existing same-product recipes and the clean
catalog photos are run through both too, to show localisation costs them nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from lookalike.catalog import scan
from lookalike.encoders import Encoder
from lookalike.errors import LookalikeError
from lookalike.eval import augment, scenes
from lookalike.eval.indexed import indexed_catalog
from lookalike.eval.metrics import mean
from lookalike.records import Hit
from lookalike.regions import Box
from lookalike.search import AUTO, WHOLE

METHODS = {WHOLE: "whole photo (before)", AUTO: "localised (region auto)"}
HALVES = ("test", "tune")


@dataclass
class SceneRow:
    """One kind of query, both methods: recall@1 and @5 (multi: each product in its region's top 5)."""

    kind: str
    queries: int
    recall_at_1: dict[str, float]
    recall_at_5: dict[str, float]
    ms_per_query: dict[str, float]


@dataclass
class SceneReport:
    catalog: str
    half: str
    per_photo: int
    seed: int
    rows: list[SceneRow] = field(default_factory=list)


def _ranks(hits: Sequence[Hit], truth: str) -> tuple[float, float]:
    ids = [h.product.product_id for h in hits]
    return float(ids[:1] == [truth]), float(truth in ids[:5])


def scene_eval(
    encoder: Encoder,
    catalog: Path | None = None,
    *,
    half: str = "test",
    per_photo: int = 1,
    seed: int = 0,
    progress: bool = True,
) -> SceneReport:
    """Score whole-photo and localised search on scenes, phone-degraded scenes, multi-product scenes,
    the same-product recipes and the clean catalog photos."""
    if half not in HALVES:
        raise LookalikeError(f"half must be one of {', '.join(HALVES)}, not '{half}'")
    with indexed_catalog(encoder, catalog, progress=progress) as ix:
        files = scan(ix.catalog)
        photos = [augment.open_rgba(f.path) for f in files]
        truth_of = [f.product_id for f in files]
        report = SceneReport(ix.label, half, per_photo, seed)
        svc = ix.service

        def search(region: str) -> Callable[[object], list[Hit]]:
            return lambda img: svc.search_image(img, top_k=5, region=region)

        for kind in ("single", "phone"):
            qs = [q for q in scenes.queries(len(files), kind, per_photo, seed) if q.half == half]
            cases = [(scenes.render(q, photos).image, truth_of[q.sources[0]]) for q in qs]
            report.rows.append(_score(f"scene ({kind})", cases, search, progress))
        multi = [q for q in scenes.queries(len(files), "multi", per_photo, seed) if q.half == half]
        report.rows.append(_score_multi([scenes.render(q, photos) for q in multi], truth_of, svc, progress))
        same = [
            (augment.apply(r, photos[i], augment.seed_for(seed, f.rel_path, r, 0)), f.product_id)
            for i, f in enumerate(files)
            for r in augment.RECIPE_NAMES
        ]
        report.rows.append(_score("same-product recipes", same, search, progress))
        clean = [(augment.to_rgb(p), f.product_id) for p, f in zip(photos, files, strict=True)]
        report.rows.append(_score("clean catalog photos", clean, search, progress))
    return report


def _score(kind: str, cases, search, progress: bool) -> SceneRow:
    r1: dict[str, float] = {}
    r5: dict[str, float] = {}
    ms: dict[str, float] = {}
    for region in METHODS:
        run = search(region)
        t0 = time.perf_counter()
        got = [
            _ranks(run(img), truth)
            for img, truth in tqdm(cases, desc=kind, disable=not progress, leave=False)
        ]
        ms[region] = (time.perf_counter() - t0) * 1000 / max(len(cases), 1)
        r1[region] = mean([a for a, _ in got])
        r5[region] = mean([b for _, b in got])
    return SceneRow(kind, len(cases), r1, r5, ms)


def _score_multi(rendered: Sequence[scenes.Scene], truth_of: Sequence[str], svc, progress: bool) -> SceneRow:
    """A scene counts when every product is in the top 5 of its own region (the returned region that
    overlaps its true box most, IoU ≥ 0.2); for the whole photo, in the one top 5."""
    found: dict[str, list[float]] = {WHOLE: [], AUTO: []}
    ms: dict[str, float] = {}
    t0 = time.perf_counter()
    for scene in tqdm(rendered, desc="multi (whole)", disable=not progress, leave=False):
        ids = {h.product.product_id for h in svc.search_image(scene.image, top_k=5, region=WHOLE)}
        found[WHOLE].append(float(all(truth_of[p.source] in ids for p in scene.products)))
    ms[WHOLE] = (time.perf_counter() - t0) * 1000 / max(len(rendered), 1)
    t0 = time.perf_counter()
    for scene in tqdm(rendered, desc="multi (regions)", disable=not progress, leave=False):
        groups = svc.search_regions(scene.image, max_products=3, top_k=5)
        ok = True
        for p in scene.products:
            box = Box(*p.box)
            best = max(groups, key=lambda g: g.region.iou(box), default=None)
            ok &= (
                best is not None
                and best.region.iou(box) >= 0.2
                and truth_of[p.source] in {h.product.product_id for h in best.hits}
            )
        found[AUTO].append(float(ok))
    ms[AUTO] = (time.perf_counter() - t0) * 1000 / max(len(rendered), 1)
    top5 = {k: mean(v) for k, v in found.items()}
    return SceneRow("multi-product scenes (each in its region's top 5)", len(rendered), top5, top5, ms)


def format_scene_table(report: SceneReport) -> str:
    head = [f"### Product in a scene: {report.catalog}, {report.half} half of the seeded recipes", ""]
    cols = [f"{METHODS[m]} r@1 / r@5" for m in METHODS] + [f"{METHODS[m]} ms" for m in METHODS]
    lines = ["| queries | n | " + " | ".join(cols) + " |", "|" + "---|" * (2 + len(cols))]
    for r in report.rows:
        scores = [f"{r.recall_at_1[m]:.3f} / {r.recall_at_5[m]:.3f}" for m in METHODS]
        lines.append(
            f"| {r.kind} | {r.queries} | "
            + " | ".join(scores + [f"{r.ms_per_query[m]:.0f}" for m in METHODS])
            + " |"
        )
    return "\n".join(head + lines + [""])
