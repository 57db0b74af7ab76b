"""Encoders side by side on the demo catalog: embedding speed and same-product recall, one table.

    .venv/bin/python benchmarks/encoders.py [--views 1]

Every encoder whose weights are present runs (`lookalike encoders` says which); the others are listed
with the reason they did not. Baseline: raw-pixel cosine similarity, measured in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from lookalike import demo_data, encoders
from lookalike.errors import LookalikeError
from lookalike.eval.baselines import PIXELS
from lookalike.eval.same_product import same_product_eval
from lookalike.images import load_image


def images_per_second(encoder: encoders.Encoder, catalog: Path, batch: int = 16) -> float:
    images = [load_image(p) for p in sorted(catalog.rglob("*.png"))]
    encoder.embed_images(images[:2])  # warm-up
    started = time.perf_counter()
    for i in range(0, len(images), batch):
        encoder.embed_images(images[i : i + batch])
    return len(images) / (time.perf_counter() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--views", type=int, default=1, help="augmented queries per photo and recipe")
    args = ap.parse_args()
    rows: list[str] = []
    pixels = None
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "demo"
        demo_data.build(catalog)
        for spec in encoders.available():
            if not spec.weights_present():
                rows.append(f"| {spec.name} | {spec.dim} | skipped: weights not present | – | – | – |")
                continue
            try:
                encoder = encoders.get_encoder(spec.name, device="auto")
            except LookalikeError as exc:
                rows.append(f"| {spec.name} | {spec.dim} | skipped: {exc} | – | – | – |")
                continue
            rate = images_per_second(encoder, catalog)
            report = same_product_eval(encoder, catalog, n_per_recipe=args.views, progress=False)
            ours = next(m for m in report.methods if m.method == encoder.name)
            pixels = next(m for m in report.methods if m.method == PIXELS)
            rows.append(
                f"| {spec.name} | {spec.dim} | {rate:.1f} | {ours.core.recall_at_1:.3f} | "
                f"{ours.core.recall_at_5:.3f} | {ours.overall.recall_at_1:.3f} |"
            )
    print("| encoder | dim | images/s | recall@1 core | recall@5 core | recall@1 all recipes |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    if pixels is not None:
        print(
            f"| raw pixels (baseline) | 3072 | – | {pixels.core.recall_at_1:.3f} | "
            f"{pixels.core.recall_at_5:.3f} | {pixels.overall.recall_at_1:.3f} |"
        )


if __name__ == "__main__":
    main()
