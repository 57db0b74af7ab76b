"""Shared fixtures: the real encoder, the real embedded Qdrant store, the real demo catalog."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from lookalike import demo_data, encoders
from lookalike.config import Settings
from lookalike.search import SearchService


@pytest.fixture(scope="session")
def encoder() -> encoders.Encoder:
    """The default encoder with its real pretrained weights, loaded once for the whole run."""
    return encoders.get_encoder("efficientnet-lite0", device="cpu")


@pytest.fixture(scope="session")
def demo_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 45-photo Saleor demo catalog, built once (the wheel is cached between runs)."""
    root = tmp_path_factory.mktemp("demo") / "catalog"
    demo_data.build(root)
    return root


@pytest.fixture
def catalog_copy(demo_catalog: Path, tmp_path: Path) -> Path:
    """A private copy of the demo catalog that a test may change."""
    dst = tmp_path / "catalog"
    shutil.copytree(demo_catalog, dst)
    return dst


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with a private data dir and no environment leaking in."""
    for var in ("LOOKALIKE_QDRANT_URL", "LOOKALIKE_COLLECTION", "LOOKALIKE_ENCODER", "LOOKALIKE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LOOKALIKE_DATA_DIR", str(tmp_path / "data"))
    return Settings()


@pytest.fixture
def service(settings: Settings, encoder: encoders.Encoder):
    """A SearchService on an empty embedded store in a tmp dir."""
    svc = SearchService(settings, encoder=encoder)
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def demo_service(tmp_path_factory: pytest.TempPathFactory, demo_catalog: Path, encoder: encoders.Encoder):
    """A SearchService over the indexed demo catalog, shared read-only by the tests of a session."""
    data = tmp_path_factory.mktemp("demo-index")
    svc = SearchService(Settings(data_dir=data, qdrant_url=None, collection="products"), encoder=encoder)
    svc.index(demo_catalog)
    yield svc
    svc.close()


def _solid_png(
    color: tuple[int, int, int] = (200, 30, 30), size: int | tuple[int, int] = 64, mode: str = "RGB"
) -> bytes:
    """A one-colour PNG (mode "L" takes the colour's first channel); tiny even when its size is huge."""
    side = (size, size) if isinstance(size, int) else size
    buf = io.BytesIO()
    Image.new(mode, side, color if mode == "RGB" else color[0]).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def make_png() -> Callable[..., bytes]:
    """make_png(color=(200, 30, 30), size=64 or (w, h), mode="RGB"): the bytes of a one-colour PNG."""
    return _solid_png


@pytest.fixture
def write_png() -> Callable[..., Path]:
    """write_png(path, color=(200, 30, 30), size=64): a one-colour PNG file at `path`, returned."""

    def write(path: Path, color: tuple[int, int, int] = (200, 30, 30), size: int = 64) -> Path:
        path.write_bytes(_solid_png(color, size))
        return path

    return write
