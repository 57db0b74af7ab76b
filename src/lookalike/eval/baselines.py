"""What the encoder is measured against in the same run: raw-pixel cosine (exact) and a random ranking."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from PIL import Image

from lookalike.eval.metrics import check_k

PIXEL_SIZE = 32  # raw-pixel baseline: photos downscaled to 32×32 RGB
PIXELS = "raw pixels"
RANDOM = "random"


def normalise_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def brute_force_top_k(queries: np.ndarray, index: np.ndarray, k: int, chunk: int = 256) -> np.ndarray:
    """Exact top-k by inner product (cosine for normalised rows), best first: [n_queries, min(k, n)]."""
    check_k(k)
    n = index.shape[0]
    k = min(k, n)
    out = np.empty((queries.shape[0], k), dtype=np.int64)
    for s in range(0, queries.shape[0], chunk):
        scores = queries[s : s + chunk] @ index.T
        if k < n:
            part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(n), scores.shape).copy()
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)  # by score, ties to the lower index
        out[s : s + chunk] = np.take_along_axis(part, order, axis=1)
    return out


def pixel_vectors(images: Sequence[Image.Image], size: int = PIXEL_SIZE) -> np.ndarray:
    """The raw-pixel baseline's vectors: RGB downscaled to size×size, flattened, L2-normalised."""
    rows = [
        np.asarray(img.convert("RGB").resize((size, size), Image.Resampling.BOX), dtype=np.float32).ravel()
        for img in images
    ]
    return normalise_rows(np.stack(rows)) if rows else np.zeros((0, size * size * 3), np.float32)


def distinct_products(
    point_ranking: Iterator[int] | Sequence[int], product_of: Sequence[str], k: int
) -> list[str]:
    """Best-ranked view per product, first k products (what the search service shows)."""
    out: list[str] = []
    for i in point_ranking:
        pid = product_of[i]
        if pid not in out:
            out.append(pid)
            if len(out) == k:
                break
    return out
