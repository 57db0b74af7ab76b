"""The memory plan (store/plan.py) is what both backends create, as their engines report it back, and a
collection built before the plan existed still opens and answers correctly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import qdrant_edge as qe
from qdrant_client import QdrantClient, models

from lookalike.catalog import point_id
from lookalike.config import Settings
from lookalike.store import MemoryPlan, PointFilter, Schema, open_store
from lookalike.store.plan import server_collection_config
from lookalike.store.server import ServerStore

DIM = 8
SCHEMA = Schema("test-encoder", DIM, extras=(("text", 6), ("colour", 4), ("concepts", 5)))
WORD_ROUTES = ("text", "colour", "concepts")


@pytest.fixture(params=["edge", "server"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _settings(tmp_path: Path, backend: str, **changes: object) -> Settings:
    url = ":memory:" if backend == "server" else None
    return Settings(data_dir=tmp_path, qdrant_url=url).model_copy(update=changes)


def _points(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)

    def unit(d: int) -> np.ndarray:
        v = rng.normal(size=(n, d)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    ids = [point_id(f"cat{i % 3}/p{i}.png") for i in range(n)]
    payloads = [
        {"product_id": f"p{i}", "category": f"cat{i % 3}", "rel_path": f"cat{i % 3}/p{i}.png", "title": None}
        for i in range(n)
    ]
    extras = {name: list(unit(dim)) for name, dim in SCHEMA.extras}
    return ids, unit(DIM), payloads, extras


def test_defaults_are_int8_on_disk_with_hnsw_on_image_only() -> None:
    plan = MemoryPlan.from_settings(Settings())
    assert (plan.quantization, plan.oversampling, plan.vectors_on_disk) == ("int8", 2.0, True)
    layout = {v.name: v for v in plan.layout(SCHEMA.vectors)}
    assert layout["image"].hnsw_m == 16
    assert all(layout[name].hnsw_m == 0 for name in WORD_ROUTES)


def test_the_default_plan_is_what_the_backend_creates(tmp_path: Path, backend: str) -> None:
    with open_store(_settings(tmp_path, backend), SCHEMA) as store:
        layout = store.layout()
    assert {v.name: v.dim for v in layout.vectors} == SCHEMA.vectors
    assert layout.vector("image").hnsw_m == 16
    assert all(layout.vector(name).hnsw_m == 0 for name in WORD_ROUTES)
    assert all(v.on_disk for v in layout.vectors)
    if backend == "edge":
        assert layout.quantization == "int8"
        assert {v.name for v in layout.vectors if not v.quantized} == {"colour"}
    # qdrant-client's :memory: mode keeps the vectors' config but drops quantization (it is a numpy scan);
    # what a real server receives is checked in test_a_server_receives_int8_kept_in_ram


def test_settings_choose_another_plan(tmp_path: Path, backend: str) -> None:
    settings = _settings(
        tmp_path, backend, quantization="none", vectors_on_disk=False, index_word_vectors=True, hnsw_m=24
    )
    with open_store(settings, SCHEMA) as store:
        layout = store.layout()
    assert layout.quantization == "none"
    assert all(v.hnsw_m == 24 and not v.on_disk for v in layout.vectors)


def test_a_server_receives_int8_kept_in_ram() -> None:
    config = server_collection_config(MemoryPlan(), SCHEMA.vectors)
    vectors = config["vectors_config"]
    scalar = vectors["image"].quantization_config.scalar
    assert scalar.type == models.ScalarType.INT8 and scalar.always_ram is True
    assert vectors["colour"].quantization_config is None  # 14 floats: int8 steps would tie products
    assert all(vectors[name].quantization_config is not None for name in ("concepts", "text"))
    assert config["hnsw_config"].m == 16
    assert config["vectors_config"]["concepts"].hnsw_config.m == 0


def test_every_route_searches_correctly_under_the_plan(tmp_path: Path, backend: str) -> None:
    """Image search and each word route (no HNSW) still put the query's own point first."""
    with open_store(_settings(tmp_path, backend), SCHEMA) as store:
        ids, vecs, payloads, extras = _points(300, seed=1)
        store.upsert(ids, vecs, payloads, extras)
        store.optimize()
        for i in (0, 123, 299):
            hits = store.search(vecs[i], limit=5)
            assert hits[0].id == ids[i] and hits[0].score == pytest.approx(1.0, abs=1e-3)
            for name in WORD_ROUTES:
                hits = store.search(extras[name][i], limit=5, using=name)
                assert hits[0].id == ids[i] and hits[0].score == pytest.approx(1.0, abs=1e-3)
            only = PointFilter(ids=tuple(ids[i : i + 20]))
            hits = store.search(extras["concepts"][i], limit=20, flt=only, using="concepts")
            assert {h.id for h in hits} == set(ids[i : i + 20]) and hits[0].id == ids[i]


# -- collections built before the memory plan ------------------------------------------------------------
def _old_edge_config(int8: bool) -> qe.EdgeConfig:
    """Exactly what EdgeStore created before store/plan.py: every vector in RAM with an HNSW graph."""
    return qe.EdgeConfig(
        vectors={
            name: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)
            for name, dim in SCHEMA.vectors.items()
        },
        hnsw_config=qe.HnswIndexConfig(m=16, ef_construct=128, full_scan_threshold=10_000),
        quantization_config=qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99)
        if int8
        else None,
    )


@pytest.mark.parametrize("int8", [False, True])
def test_an_edge_collection_from_before_the_plan_opens_and_answers(tmp_path: Path, int8: bool) -> None:
    ids, vecs, payloads, extras = _points(200, seed=2)
    folder = tmp_path / "qdrant" / "products"
    folder.mkdir(parents=True)
    (folder / "lookalike.json").write_text(json.dumps(SCHEMA.to_dict()))
    shard = qe.EdgeShard.create(str(folder / "shard"), _old_edge_config(int8))
    for field in ("category", "product_id"):
        shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
    points = [
        qe.Point(
            id=pid,
            vector={"image": vecs[i].tolist(), **{n: extras[n][i].tolist() for n in WORD_ROUTES}},
            payload=payloads[i],
        )
        for i, pid in enumerate(ids)
    ]
    shard.update(qe.UpdateOperation.upsert_points(points))
    shard.optimize()
    shard.flush()
    shard.close()

    with open_store(Settings(data_dir=tmp_path, qdrant_url=None), SCHEMA) as store:
        layout = store.layout()  # it keeps the layout it was built with
        assert layout.quantization == ("int8" if int8 else "none")
        assert all(v.hnsw_m == 16 and not v.on_disk for v in layout.vectors)
        assert store.count() == 200
        for i in (0, 77, 199):
            hits = store.search(vecs[i], limit=3)
            assert hits[0].id == ids[i] and hits[0].score == pytest.approx(1.0, abs=1e-3)
            hits = store.search(extras["text"][i], limit=3, using="text")
            assert hits[0].id == ids[i]
        filtered = store.search(vecs[5], limit=100, flt=PointFilter(category="cat2"))
        assert filtered and all(h.payload["category"] == "cat2" for h in filtered)
        new_ids, new_vecs, new_payloads, new_extras = _points(5, seed=9)
        new_ids = [point_id(f"new/{i}") for i in range(5)]
        store.upsert(new_ids, new_vecs, new_payloads, new_extras)
        assert store.search(new_vecs[3], limit=1)[0].id == new_ids[3]


def test_a_server_collection_from_before_the_plan_opens_and_answers() -> None:
    client = QdrantClient(location=":memory:")
    client.create_collection(  # what ServerStore created before store/plan.py
        "old",
        vectors_config={
            name: models.VectorParams(size=dim, distance=models.Distance.COSINE)
            for name, dim in SCHEMA.vectors.items()
        },
        hnsw_config=models.HnswConfigDiff(m=16, ef_construct=128),
        metadata={"lookalike": SCHEMA.to_dict()},
    )
    store = ServerStore(client, "old", SCHEMA, location=":memory:")
    ids, vecs, payloads, extras = _points(50, seed=4)
    store.upsert(ids, vecs, payloads, extras)
    assert not any(v.on_disk for v in store.layout().vectors)
    assert store.search(vecs[7], limit=1)[0].id == ids[7]
    assert store.search(extras["colour"][7], limit=1, using="colour")[0].id == ids[7]
