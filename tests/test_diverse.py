"""Maximal marginal relevance on hand-made candidates (pure logic, no store)."""

from __future__ import annotations

import numpy as np
import pytest

from lookalike.diverse import mmr


def _unit(*rows: list[float]) -> np.ndarray:
    v = np.array(rows, dtype=np.float64)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_a_near_duplicate_gives_way_to_a_different_candidate() -> None:
    # 0 and 1 are near-identical and most relevant; 2 is different and a little less relevant
    vecs = _unit([1, 0, 0], [0.99, 0.05, 0], [0, 1, 0], [0, 0.98, 0.1])
    rel = np.array([0.95, 0.94, 0.90, 0.89])
    assert mmr(rel, vecs, 4) == [0, 2, 1, 3]
    assert mmr(rel, vecs, 4, lam=1.0) == [0, 1, 2, 3]  # λ = 1: relevance only, the plain ranking


def test_the_most_relevant_stays_first_and_k_is_bounded() -> None:
    vecs = _unit([1, 0], [0, 1], [1, 1])
    rel = np.array([0.2, 0.9, 0.5])
    assert mmr(rel, vecs, 2, lam=0.0)[0] == 1
    assert len(mmr(rel, vecs, 10)) == 3 and mmr(rel, vecs, 0) == []
    assert mmr(np.array([0.5, 0.5]), _unit([1, 0], [0, 1]), 2) in ([0, 1], [1, 0])


def test_lambda_outside_zero_one_is_refused() -> None:
    with pytest.raises(ValueError, match="lambda"):
        mmr(np.array([1.0]), _unit([1, 0]), 1, lam=1.5)
