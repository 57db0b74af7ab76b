"""Repeated titles are embedded once, and give exactly the vector they would get alone."""

from __future__ import annotations

import numpy as np

from lookalike.encoders import minilm


def test_repeated_texts_reuse_their_vectors_and_the_cache_stays_bounded(monkeypatch) -> None:
    minilm.clear_cache()
    texts = ["Blue hoodie", "White plimsolls", "Blue hoodie", "Apple juice", "White plimsolls"]
    calls: list[list[str]] = []
    real = minilm._model()

    class Counting:
        def encode(self, sentences, **kw):
            calls.append(list(sentences))
            return real.encode(sentences, **kw)

    monkeypatch.setattr(minilm, "_MODEL", Counting())
    vecs = minilm.embed_texts(texts)
    assert calls == [["Blue hoodie", "White plimsolls", "Apple juice"]]
    np.testing.assert_array_equal(vecs[0], vecs[2])
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    alone = real.encode(["Apple juice"], convert_to_numpy=True)[0]
    np.testing.assert_allclose(vecs[3], alone / np.linalg.norm(alone), atol=1e-5)

    again = minilm.embed_texts(["Apple juice", "Red wine"])
    assert calls[1:] == [["Red wine"]]
    np.testing.assert_array_equal(again[0], vecs[3])

    monkeypatch.setattr(minilm, "CACHE_SIZE", 2)
    minilm.embed_texts(["a", "b", "c"])
    assert len(minilm._CACHE) == 2
    minilm.clear_cache()
    assert minilm.embed_texts([]).shape == (0, minilm.DIM)
