"""One contract, two backends: the embedded Qdrant Edge store and qdrant-client (its `:memory:` mode
speaks the same client API as a Qdrant server or cluster)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lookalike.catalog import point_id
from lookalike.config import Settings
from lookalike.errors import SchemaMismatchError, StoreError, StoreInUseError
from lookalike.store import PointFilter, Schema, VectorQuery, open_store

DIM = 8
SCHEMA = Schema("test-encoder", DIM)


def _settings(tmp_path: Path, backend: str) -> Settings:
    return Settings(data_dir=tmp_path, qdrant_url=":memory:" if backend == "server" else None)


@pytest.fixture(params=["edge", "server"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store(tmp_path: Path, backend: str):
    s = open_store(_settings(tmp_path, backend), SCHEMA)
    yield s
    s.close()


def _points(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = [point_id(f"cat{i % 3}/p{i}.png") for i in range(n)]
    payloads = [
        {
            "product_id": f"p{i // 2}",
            "category": f"cat{i % 3}",
            "rel_path": f"cat{i % 3}/p{i}.png",
            "path": f"/x/p{i}.png",
            "sha256": str(i),
            "title": None,
        }
        for i in range(n)
    ]
    return ids, vecs, payloads


def test_upsert_count_and_idempotent_upsert(store) -> None:
    ids, vecs, payloads = _points(30)
    store.upsert(ids, vecs, payloads)
    store.upsert(ids, vecs, payloads)
    assert store.count() == 30
    assert store.count(PointFilter(category="cat1")) == 10


def test_search_ranks_the_query_point_first_and_filters(store) -> None:
    ids, vecs, payloads = _points(30)
    store.upsert(ids, vecs, payloads)
    store.optimize()
    hits = store.search(vecs[4], limit=5)
    assert hits[0].id == ids[4]
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    filtered = store.search(vecs[4], limit=30, flt=PointFilter(category="cat2"))
    assert filtered and all(h.payload["category"] == "cat2" for h in filtered)
    assert len(filtered) == 10
    excluded = store.search(vecs[4], limit=5, flt=PointFilter(exclude_ids=(ids[4],)))
    assert ids[4] not in [h.id for h in excluded]


def test_search_batch_answers_each_query_as_search_would(store) -> None:
    ids, vecs, payloads = _points(30)
    store.upsert(ids, vecs, payloads)
    store.optimize()
    queries = [
        VectorQuery(vecs[4], 5),
        VectorQuery(vecs[7], 3, PointFilter(category="cat2")),
        VectorQuery(vecs[4], 30, PointFilter(exclude_ids=(ids[4],))),
    ]
    answers = store.search_batch(queries)
    assert len(answers) == 3
    for q, answer in zip(queries, answers, strict=True):
        single = store.search(q.vector, q.limit, q.flt)
        assert [p.id for p in answer] == [p.id for p in single]
        assert [p.score for p in answer] == pytest.approx([p.score for p in single], abs=1e-5)
    assert answers[0][0].id == ids[4]
    assert len(answers[1]) == 3 and all(p.payload["category"] == "cat2" for p in answers[1])
    assert ids[4] not in [p.id for p in answers[2]] and len(answers[2]) == 29
    assert store.search_batch([]) == []


def test_recommend_with_positive_and_negative_examples(store) -> None:
    ids, vecs, payloads = _points(30)
    store.upsert(ids, vecs, payloads)
    hits = store.recommend([vecs[0]], [vecs[1]], limit=3, flt=PointFilter(exclude_ids=(ids[0], ids[1])))
    assert len(hits) == 3
    assert ids[0] not in [h.id for h in hits] and ids[1] not in [h.id for h in hits]
    # the best hit under "best score" is closer to the positive than to the negative
    top = vecs[ids.index(hits[0].id)]
    assert top @ vecs[0] > top @ vecs[1]


def test_delete_retrieve_scroll_and_categories(store) -> None:
    ids, vecs, payloads = _points(30)
    store.upsert(ids, vecs, payloads)
    store.delete(ids[:3])
    assert store.count() == 27
    got = store.retrieve([ids[5]], with_vectors=True)
    assert got[0].payload["rel_path"] == "cat2/p5.png"
    np.testing.assert_allclose(got[0].vector, vecs[5], atol=1e-5)
    seen = [p.id for p in store.iter_points(PointFilter(category="cat0"), page=4)]
    assert len(seen) == len(set(seen)) == 9
    assert store.categories() == {"cat0": 9, "cat1": 9, "cat2": 9}
    assert store.count(PointFilter(product_id="p3")) == 2


def test_wrong_vector_size_is_refused(store) -> None:
    with pytest.raises(StoreError, match="do not fit"):
        store.upsert(["a"], np.zeros((1, DIM + 1), dtype=np.float32), [{}])


def test_edge_persists_across_reopen_and_refuses_another_encoder(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "edge")
    ids, vecs, payloads = _points(12)
    with open_store(settings, SCHEMA) as s:
        s.upsert(ids, vecs, payloads)
        s.optimize()
    with open_store(settings, SCHEMA) as s:
        assert s.count() == 12
        assert s.search(vecs[7], limit=1)[0].id == ids[7]
    with pytest.raises(SchemaMismatchError, match="built with encoder 'test-encoder'"):
        open_store(settings, Schema("other-encoder", DIM))
    with open_store(settings, None) as s:  # read-as-is, for `info`
        assert s.schema == SCHEMA


def test_server_backend_refuses_another_encoder() -> None:
    from qdrant_client import QdrantClient

    from lookalike.store.server import ServerStore

    client = QdrantClient(location=":memory:")
    ServerStore(client, "c", SCHEMA, location=":memory:")
    with pytest.raises(SchemaMismatchError, match="built with encoder 'test-encoder'"):
        ServerStore(client, "c", Schema("other-encoder", DIM), location=":memory:")
    with pytest.raises(
        SchemaMismatchError, match="holds 8-d vectors but encoder 'test-encoder' now makes 16-d"
    ):
        ServerStore(client, "c", Schema("test-encoder", DIM * 2), location=":memory:")


def test_second_process_on_the_same_embedded_store_gets_in_use(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "edge")
    with open_store(settings, SCHEMA), pytest.raises(StoreInUseError, match="in use"):
        open_store(settings, SCHEMA)


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, qdrant_url="http://127.0.0.1:9", qdrant_timeout=1)
    with pytest.raises(StoreError, match="unreachable"):
        open_store(settings, SCHEMA)


def test_auxiliary_vectors_and_id_restricted_search(tmp_path: Path, backend: str) -> None:
    schema = Schema("test-encoder", DIM, extras=(("text", 3),))
    with open_store(_settings(tmp_path, backend), schema) as s:
        ids, vecs, payloads = _points(6)
        text = [
            np.array([1.0, 0.0, 0.0]),
            None,
            np.array([0.0, 1.0, 0.0]),
            None,
            None,
            np.array([0.6, 0.8, 0.0]),
        ]
        s.upsert(ids, vecs, payloads, {"text": text})
        hits = s.search(np.array([1.0, 0.0, 0.0]), limit=10, using="text")
        assert [h.id for h in hits] == [ids[0], ids[5], ids[2]]  # points without a text vector never match
        only = s.search(
            np.array([1.0, 0.0, 0.0]), limit=10, flt=PointFilter(ids=(ids[2], ids[5])), using="text"
        )
        assert [h.id for h in only] == [ids[5], ids[2]]
        with pytest.raises(StoreError, match="no 'colour' vector"):
            s.search(np.ones(3), limit=1, using="colour")
        with pytest.raises(StoreError, match="'text' vectors of shape"):
            s.upsert(ids[:1], vecs[:1], payloads[:1], {"text": [np.ones(4)]})


def test_set_payloads_keeps_the_vectors(store) -> None:
    ids, vecs, payloads = _points(4)
    store.upsert(ids, vecs, payloads)
    store.set_payloads(ids[:1], [{**payloads[0], "category": "moved"}])
    got = store.retrieve(ids[:1], with_vectors=True)[0]
    assert got.payload["category"] == "moved"
    np.testing.assert_allclose(got.vector, vecs[0], atol=1e-5)
    assert store.count() == 4


def test_int8_quantization_with_rescoring_keeps_exact_top_hits(tmp_path: Path, backend: str) -> None:
    settings = _settings(tmp_path, backend).model_copy(update={"quantization": "int8"})
    with open_store(settings, SCHEMA) as s:
        ids, vecs, payloads = _points(200, seed=3)
        s.upsert(ids, vecs, payloads)
        s.optimize()
        for i in (0, 57, 199):
            hits = s.search(vecs[i], limit=5)
            assert hits[0].id == ids[i] and hits[0].score == pytest.approx(1.0, abs=1e-3)


def test_notes_kept_with_the_collection_and_replaced(store) -> None:
    """A small JSON note (the match calibration) lives with the collection on both backends."""
    assert store.read_note("calibration") is None
    store.write_note("calibration", {"exact": 0.8, "similar": 0.55})
    store.write_note("calibration", {"exact": 0.7, "similar": 0.5})
    store.write_note("other", {"x": 1})
    assert store.read_note("calibration") == {"exact": 0.7, "similar": 0.5}
    assert store.read_note("other") == {"x": 1}


def test_edge_notes_survive_reopening_and_a_damaged_one_reads_as_absent(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "edge")
    with open_store(settings, SCHEMA) as s:
        s.write_note("calibration", {"exact": 0.8})
    with open_store(settings, SCHEMA) as s:
        assert s.read_note("calibration") == {"exact": 0.8}
        (settings.store_dir / "calibration.json").write_text("{not json")
        assert s.read_note("calibration") is None
        with pytest.raises(StoreError, match="not a note name"):
            s.write_note("../escape", {})
