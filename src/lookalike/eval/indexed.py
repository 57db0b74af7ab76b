"""A catalog indexed into a throw-away collection with the real ingest pipeline, for the evaluations
that query through SearchService (same-product and product-in-scene)."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lookalike.config import Settings
from lookalike.encoders import Encoder

if TYPE_CHECKING:
    from lookalike.search import SearchService

log = logging.getLogger(__name__)
DEMO_LABEL = "demo catalog (saleor 2.10.1 product photos)"


@dataclass
class Indexed:
    service: SearchService
    catalog: Path
    label: str  # how reports name the catalog
    seconds: float  # time the indexing took


@contextlib.contextmanager
def indexed_catalog(
    encoder: Encoder, catalog: Path | None, *, batch_size: int = 32, progress: bool = True
) -> Iterator[Indexed]:
    """`catalog` (None: the demo catalog, built here) indexed into a temporary collection."""
    from lookalike.search import SearchService  # the service sits above eval's helpers: imported late

    with tempfile.TemporaryDirectory(prefix="lookalike-eval-") as tmp:
        label = str(catalog)
        if catalog is None:
            from lookalike import demo_data

            catalog = Path(tmp) / "demo-catalog"
            demo_data.build(catalog)
            label = DEMO_LABEL
        # The service builds its own collection, so the store schema (and any extra vectors) is the product's.
        settings = Settings(
            data_dir=Path(tmp) / "data", qdrant_url=None, collection="eval", batch_size=batch_size
        )
        with SearchService(settings, encoder=encoder) as service:
            t0 = time.perf_counter()
            report = service.index(Path(catalog), progress=progress)
            for rel, why in report.failed:
                log.warning("not indexed, its queries will miss: %s (%s)", rel, why)
            yield Indexed(service, Path(catalog), label, time.perf_counter() - t0)
