"""Is "not in our catalog" right? The match verdict (lookalike.calibration) scored on queries it never saw.

The catalog is indexed with the real pipeline, which calibrates it on the *tune* half (augmented catalog
photos whose seeds fall in that half, outside photos whose names do). Here the *test* half is searched
through SearchService: every catalog photo under each calibration recipe with a test-half seed (in the
catalog), and every test-half outside photo whole and cropped (not in the catalog). "In the catalog" is
predicted when the verdict is not "none": precision and recall of that decision, and how often an
"exact" verdict names the right product. Both region modes are scored: "auto" (the default) and "whole".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from lookalike import calibration, outside_photos
from lookalike.catalog import scan
from lookalike.encoders import Encoder
from lookalike.eval import augment
from lookalike.eval.indexed import indexed_catalog
from lookalike.search import AUTO, WHOLE

OUTSIDE_PER_PHOTO = 3  # each test-half outside photo whole and two crops


@dataclass
class MatchRow:
    """One region mode on the test half."""

    region: str
    in_catalog: int  # queries of products the catalog holds
    outside: int  # queries of things it does not
    precision: float  # of "in the catalog" (verdict exact or similar)
    recall: float
    true_positives: int
    false_positives: int
    false_negatives: int
    exact_said: int  # in-catalog queries called "exact"
    exact_right: float  # of those, the share whose first hit is the right product
    verdicts_in: dict[str, int]  # verdict counts over in-catalog queries
    verdicts_out: dict[str, int]  # and over outside queries
    ms_per_query: float


@dataclass
class MatchReport:
    catalog: str
    half: str
    exact: float  # the thresholds the index run learnt (on the tune half)
    similar: float
    calibration_positives: int
    calibration_negatives: int
    calibration_seconds: float
    rows: list[MatchRow] = field(default_factory=list)


def match_eval(
    encoder: Encoder, catalog: Path | None = None, *, seed: int = 0, progress: bool = True
) -> MatchReport | None:
    """Precision and recall of "in the catalog" on the test half; None when the catalog is too small to
    be calibrated (fewer than calibration.MIN_PRODUCTS products)."""
    with indexed_catalog(encoder, catalog, progress=progress) as ix:
        svc = ix.service
        cal = svc.calibration
        if cal is None:
            return None
        files = scan(ix.catalog)
        inside = [
            (
                augment.apply(
                    recipe,
                    augment.open_rgba(f.path),
                    calibration.query_seed(seed, f.rel_path, recipe, "test"),
                ),
                f.product_id,
            )
            for f in files
            for recipe in calibration.RECIPES
        ]
        outside = [img for _, img in outside_photos.queries("test", OUTSIDE_PER_PHOTO)]
        report = MatchReport(
            ix.label, "test", cal.exact, cal.similar, cal.positives, cal.negatives, cal.seconds
        )
        for region in (AUTO, WHOLE):
            t0 = time.perf_counter()
            got_in = [
                (svc.search_image(img, top_k=1, region=region), truth)
                for img, truth in tqdm(
                    inside, desc=f"in catalog ({region})", disable=not progress, leave=False
                )
            ]
            got_out = [
                svc.search_image(img, top_k=1, region=region)
                for img in tqdm(outside, desc=f"outside ({region})", disable=not progress, leave=False)
            ]
            ms = (time.perf_counter() - t0) * 1000 / max(len(inside) + len(outside), 1)
            verdict_in = [svc.best_match(hits) or "none" for hits, _ in got_in]
            verdict_out = [svc.best_match(hits) or "none" for hits in got_out]
            tp = sum(v != "none" for v in verdict_in)
            fp = sum(v != "none" for v in verdict_out)
            exact = [
                hits[0].product.product_id == truth
                for (hits, truth), v in zip(got_in, verdict_in, strict=True)
                if v == "exact"
            ]
            report.rows.append(
                MatchRow(
                    region=region,
                    in_catalog=len(inside),
                    outside=len(outside),
                    precision=tp / (tp + fp) if tp + fp else 0.0,
                    recall=tp / len(inside) if inside else 0.0,
                    true_positives=tp,
                    false_positives=fp,
                    false_negatives=len(inside) - tp,
                    exact_said=len(exact),
                    exact_right=sum(exact) / len(exact) if exact else 0.0,
                    verdicts_in={m: verdict_in.count(m) for m in ("exact", "similar", "none")},
                    verdicts_out={m: verdict_out.count(m) for m in ("exact", "similar", "none")},
                    ms_per_query=ms,
                )
            )
    return report


def format_match_table(report: MatchReport) -> str:
    head = [
        f"### Not in our catalog: {report.catalog}, {report.half} half (thresholds learnt on the other half: "
        f"exact ≥ {report.exact:.3f}, similar ≥ {report.similar:.3f}; {report.calibration_positives} catalog "
        f"and {report.calibration_negatives} outside photos, {report.calibration_seconds:.1f} s)",
        "",
        "| region | in-catalog queries | outside queries | precision | recall | verdicts in catalog "
        "(exact/similar/none) | verdicts outside | exact → right product | ms/query |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines = [
        f"| {r.region} | {r.in_catalog} | {r.outside} | {r.precision:.3f} | {r.recall:.3f} | "
        f"{'/'.join(str(r.verdicts_in[m]) for m in ('exact', 'similar', 'none'))} | "
        f"{'/'.join(str(r.verdicts_out[m]) for m in ('exact', 'similar', 'none'))} | "
        f"{r.exact_right:.3f} of {r.exact_said} | {r.ms_per_query:.0f} |"
        for r in report.rows
    ]
    return "\n".join(head + lines + [""])
