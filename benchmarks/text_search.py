"""Words → products without a joint image-text model: does the pixel route (ImageNet concepts +
colours) beat random by a wide margin? Titles are left out on purpose: they would make it easy.

    .venv/bin/python benchmarks/text_search.py [--fmnist 2000]

Prints `what | lookalike | random | ratio` for the demo catalog (a shopper's word per category) and
for Fashion-MNIST (its 10 class names as queries over a labelled sample).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np

from lookalike import demo_data
from lookalike.config import Settings
from lookalike.eval import fashion_mnist
from lookalike.search import SearchService

DEMO_QUERIES = {
    "Footwear": ["sneakers", "running shoes", "yellow shoes"],
    "Hoodies": ["sweatshirt", "hoodie", "jumper"],
    "Alcohol": ["bottle of wine", "beer", "red wine"],
    "Homewares": ["pillow", "cushion"],
    "T-shirts": ["jersey", "t-shirt"],
    "Polo Shirts": ["polo shirt"],
    "Juices": ["juice bottle", "smoothie"],
    "Paints": ["paint can", "tin of paint"],
}
FMNIST_QUERIES = {
    0: "t-shirt",
    1: "trousers",
    2: "pullover sweater",
    3: "dress",
    4: "coat",
    5: "sandal",
    6: "shirt",
    7: "sneaker",
    8: "bag",
    9: "ankle boot",
}


def precision(svc: SearchService, queries: dict, k: int) -> tuple[float, float, dict[str, float]]:
    counts = svc.categories()
    total = sum(counts.values())
    ours, chance, per = [], [], {}
    for category, words in queries.items():
        for word in [words] if isinstance(words, str) else words:
            hits = svc.search_text(word, top_k=k)
            p = sum(h.product.category == category for h in hits) / k
            ours.append(p)
            chance.append(counts.get(category, 0) / total)
            per[word] = p
    return float(np.mean(ours)), float(np.mean(chance)), per


def fmnist_catalog(root: Path, n: int) -> None:
    data = fashion_mnist.load("t10k")
    rng = np.random.default_rng(0)
    for i in rng.choice(len(data), size=n, replace=False):
        label = int(data.labels[i])
        folder = root / f"c{label}"
        folder.mkdir(parents=True, exist_ok=True)
        data.pil(int(i)).save(folder / f"{i}.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fmnist", type=int, default=2000, help="Fashion-MNIST test images to index (0 = skip)")
    ap.add_argument("-k", type=int, default=5)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cat = tmp / "demo"
        demo_data.build(cat)
        (cat / "products.csv").unlink()  # no titles: pixels only
        with SearchService(Settings(data_dir=tmp / "d1", qdrant_url=None)) as svc:
            svc.index(cat)
            ours, chance, per = precision(svc, DEMO_QUERIES, args.k)
        rows.append((f"demo catalog, precision@{args.k} ({len(per)} queries)", ours, chance))
        worst = sorted(per.items(), key=lambda kv: kv[1])[:3]
        if args.fmnist and fashion_mnist.available():
            fm = tmp / "fmnist"
            fmnist_catalog(fm, args.fmnist)
            queries = {f"c{label}": word for label, word in FMNIST_QUERIES.items()}
            with SearchService(Settings(data_dir=tmp / "d2", qdrant_url=None)) as svc:
                svc.index(fm)
                fours, fchance, fper = precision(svc, queries, 10)
            rows.append((f"Fashion-MNIST {args.fmnist}, precision@10 (10 class names)", fours, fchance))
        shutil.rmtree(tmp / "d1", ignore_errors=True)
    print("| what | lookalike (concepts + colours) | random | ratio |")
    print("|---|---|---|---|")
    for what, ours, chance in rows:
        print(f"| {what} | {ours:.3f} | {chance:.3f} | {ours / chance:.1f}× |")
    print(f"\nweakest demo queries: {', '.join(f'{w!r} {p:.2f}' for w, p in worst)}")
    if len(rows) > 1:
        print("Fashion-MNIST per class: " + ", ".join(f"{w} {p:.1f}" for w, p in fper.items()))


if __name__ == "__main__":
    main()
