"""The memory plan: where each named vector lives and which ones get an HNSW graph, on both backends.

Measured at 1M points (README "Scale"): holding every vector as float32 in RAM would need ~10.7 GB
(image 1280 + concepts 1000 + title 384 + colour 14 floats per point). The plan keeps that flat:

- int8 scalar-quantized copies in RAM (a quarter of the float size) of every vector but the 14-d
  colour histogram; searches run on them, oversampled, then the top candidates are rescored with
  the float originals;
- the float originals on disk, memory-mapped: read only for rescoring and retrieval, so the OS keeps
  the pages it needs in its page cache and can drop them under pressure;
- an HNSW graph on `image` only. The word-route vectors (concepts, title, colour) get none (m=0):
  they rescore a candidate list (photo + words) or are scanned exactly on their quantized copies
  (words alone), which costs no graph memory and no index build time.

A collection keeps the plan it was created with (Qdrant fixes vector storage and indexes at
creation); an older collection opens as it is and searches correctly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from lookalike.store.base import VECTOR_NAME

Quantization = Literal["none", "int8"]
# kept as floats whatever the plan: int8 steps over a 14-d colour histogram made thousands of products
# tie exactly at 1M points (colour-route recall 0); the floats cost 56 bytes a point
UNQUANTIZED = frozenset({"colour"})


@dataclass(frozen=True)
class VectorLayout:
    """How one named vector is stored and indexed."""

    name: str
    dim: int
    hnsw_m: int  # 0 = no HNSW graph: searched by exact scan (of the quantized copy when there is one)
    on_disk: bool  # float originals memory-mapped from disk instead of held in RAM
    quantized: bool = False  # an int8 copy in RAM that searches run on first


@dataclass(frozen=True)
class MemoryPlan:
    """The settings that decide a collection's RAM: fixed at creation, applied the same on both backends."""

    quantization: Quantization = "int8"
    oversampling: float = 2.0  # candidates scored on int8 per result, before float rescoring
    vectors_on_disk: bool = True
    index_word_vectors: bool = False  # an HNSW graph for the word routes too (more RAM and build time)
    hnsw_m: int = 16
    hnsw_ef_construct: int = 128
    search_ef: int = 128

    @classmethod
    def from_settings(cls, settings: Any) -> MemoryPlan:
        return cls(
            quantization=settings.quantization,
            oversampling=settings.oversampling,
            vectors_on_disk=settings.vectors_on_disk,
            index_word_vectors=settings.index_word_vectors,
            hnsw_m=settings.hnsw_m,
            hnsw_ef_construct=settings.hnsw_ef_construct,
            search_ef=settings.search_ef,
        )

    @property
    def int8(self) -> bool:
        return self.quantization == "int8"

    def layout(self, vectors: dict[str, int]) -> list[VectorLayout]:
        """Each named vector's storage and index under this plan."""
        return [
            VectorLayout(
                name=name,
                dim=dim,
                hnsw_m=self.hnsw_m if name == VECTOR_NAME or self.index_word_vectors else 0,
                on_disk=self.vectors_on_disk,
                quantized=self.int8 and name not in UNQUANTIZED,
            )
            for name, dim in vectors.items()
        ]

    def describe(self) -> str:
        words = "HNSW" if self.index_word_vectors else "exact scan, no HNSW"
        store = "float originals on disk (mmap)" if self.vectors_on_disk else "float originals in RAM"
        quant = (
            f"int8 copies in RAM, {self.oversampling:g}× oversampling, float rescoring"
            if self.int8
            else "no quantization"
        )
        return f"{quant}; {store}; image: HNSW m={self.hnsw_m}; word routes: {words}"


def edge_config(plan: MemoryPlan, vectors: dict[str, int]) -> Any:
    """The Qdrant Edge shard config for `vectors` under `plan`."""
    import qdrant_edge as qe

    def hnsw(m: int) -> Any:
        return qe.HnswIndexConfig(m=m, ef_construct=plan.hnsw_ef_construct, full_scan_threshold=10_000)

    memory = qe.Memory.Cold if plan.vectors_on_disk else qe.Memory.Cached
    int8 = qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99, memory=qe.Memory.Pinned)
    return qe.EdgeConfig(
        vectors={
            v.name: qe.EdgeVectorParams(
                size=v.dim,
                distance=qe.Distance.Cosine,
                memory=memory,
                hnsw_config=hnsw(v.hnsw_m),  # per vector, so the engine reports each one as built
                quantization_config=int8 if v.quantized else None,  # per vector: colour stays float
            )
            for v in plan.layout(vectors)
        },
        hnsw_config=hnsw(plan.hnsw_m),
    )


def edge_search_params(plan: MemoryPlan) -> Any:
    import qdrant_edge as qe

    quant = qe.QuantizationSearchParams(rescore=True, oversampling=plan.oversampling) if plan.int8 else None
    return qe.SearchParams(hnsw_ef=plan.search_ef, quantization=quant)


def server_collection_config(plan: MemoryPlan, vectors: dict[str, int]) -> dict[str, Any]:
    """Keyword arguments for qdrant-client's create_collection: the same plan on a Qdrant server."""
    from qdrant_client import models

    int8 = models.ScalarQuantization(
        scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True)
    )
    return dict(
        vectors_config={
            v.name: models.VectorParams(
                size=v.dim,
                distance=models.Distance.COSINE,
                on_disk=v.on_disk,
                hnsw_config=models.HnswConfigDiff(m=v.hnsw_m, ef_construct=plan.hnsw_ef_construct),
                quantization_config=int8 if v.quantized else None,  # per vector: colour stays float
            )
            for v in plan.layout(vectors)
        },
        hnsw_config=models.HnswConfigDiff(m=plan.hnsw_m, ef_construct=plan.hnsw_ef_construct),
    )


def server_search_params(plan: MemoryPlan) -> Any:
    from qdrant_client import models

    quant = (
        models.QuantizationSearchParams(rescore=True, oversampling=plan.oversampling) if plan.int8 else None
    )
    return models.SearchParams(hnsw_ef=plan.search_ef, quantization=quant)


@dataclass(frozen=True)
class StoredLayout:
    """What a collection was actually created with, read back from the engine: the plan in effect."""

    quantization: Quantization
    vectors: tuple[VectorLayout, ...]

    def vector(self, name: str) -> VectorLayout:
        return next(v for v in self.vectors if v.name == name)


def _edge_on_disk(params: dict[str, Any]) -> bool:
    memory = params.get("memory")
    return memory == "cold" if memory is not None else bool(params.get("on_disk"))


def edge_layout(config: dict[str, Any]) -> StoredLayout:
    """The layout of an Edge shard from its persisted config (edge_config.json)."""
    default_m = int((config.get("hnsw_config") or {}).get("m", 16))
    quantized = bool(config.get("quantization_config"))
    vectors = []
    for name, params in (config.get("vectors") or {}).items():
        quantized = quantized or bool(params.get("quantization_config"))
        m = (params.get("hnsw_config") or {}).get("m")
        vectors.append(
            VectorLayout(
                name=name,
                dim=int(params["size"]),
                hnsw_m=default_m if m is None else int(m),
                on_disk=_edge_on_disk(params),
                quantized=bool(config.get("quantization_config") or params.get("quantization_config")),
            )
        )
    return StoredLayout("int8" if quantized else "none", tuple(vectors))


def server_layout(config: Any) -> StoredLayout:
    """The layout of a server collection from its CollectionConfig (qdrant-client's get_collection)."""
    default_m = int(config.hnsw_config.m or 16) if config.hnsw_config else 16
    quantized = config.quantization_config is not None
    vectors = []
    for name, params in (config.params.vectors or {}).items():
        quantized = quantized or params.quantization_config is not None
        m = params.hnsw_config.m if params.hnsw_config else None
        vectors.append(
            VectorLayout(
                name=name,
                dim=int(params.size),
                hnsw_m=default_m if m is None else int(m),
                on_disk=bool(params.on_disk),
                quantized=config.quantization_config is not None or params.quantization_config is not None,
            )
        )
    return StoredLayout("int8" if quantized else "none", tuple(vectors))
