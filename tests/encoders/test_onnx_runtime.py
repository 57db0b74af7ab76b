"""The image model in ONNX Runtime: same vectors as torch, exported once and reused, torch when it fails."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from lookalike import encoders
from lookalike.config import Settings
from lookalike.encoders import onnx_runtime
from lookalike.encoders.efficientnet import EfficientNetLite0Encoder
from lookalike.images import load_image
from lookalike.search import SearchService


@pytest.fixture(scope="module")
def torch_encoder() -> EfficientNetLite0Encoder:
    return EfficientNetLite0Encoder(device="cpu", runtime="torch")


@pytest.fixture(scope="module")
def demo_images(demo_catalog: Path) -> list:
    return [load_image(p) for p in sorted(demo_catalog.rglob("*.png"))]


def _graphs(model_dir: Path) -> list[Path]:
    return sorted(model_dir.glob("*.onnx"))


def test_the_suite_encoder_runs_in_onnx(encoder, model_dir: Path) -> None:
    assert encoder.runtime == "onnx"
    assert [p.name for p in _graphs(model_dir)] == [
        f"efficientnet-lite0-{onnx_runtime.file_digest(encoder.weights_path())}-g{onnx_runtime.GRAPH_VERSION}.onnx"
    ]


def test_onnx_and_torch_agree_on_the_demo_catalog(encoder, torch_encoder, demo_images) -> None:
    assert len(demo_images) == 45
    vecs, probs = encoder.embed_and_classify(demo_images)
    want_vecs, want_probs = torch_encoder.embed_and_classify(demo_images)
    cosines = (vecs * want_vecs).sum(axis=1)
    assert cosines.min() >= 0.999, cosines.min()
    assert np.abs(probs - want_probs).max() < 1e-3
    assert (probs.argmax(1) == want_probs.argmax(1)).all()


def test_feature_maps_agree_for_any_photo_shape(encoder, torch_encoder, demo_images) -> None:
    """Search by region runs the trunk on the photo's own shape, not the 224 px square."""
    photos = [demo_images[0].resize((448, 256)), demo_images[1].resize((200, 330))]
    for pad in (True, False):
        got = encoder.feature_maps(photos, 448, pad=pad)
        want = torch_encoder.feature_maps(photos, 448, pad=pad)
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, atol=1e-3)


def test_a_prepared_image_gives_the_same_vector_as_the_photo(encoder, demo_images) -> None:
    """Indexing pads images in its loader threads; the model must see the same pixels either way."""
    photo = demo_images[3]
    np.testing.assert_array_equal(
        encoder.embed_images([encoder.prepare(photo)]), encoder.embed_images([photo])
    )


def test_a_second_process_reuses_the_exported_graph(encoder, model_dir: Path, caplog) -> None:
    graph = _graphs(model_dir)[0]
    stamp = graph.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="lookalike.encoders.onnx_runtime"):
        again = EfficientNetLite0Encoder(device="cpu", runtime="onnx", model_dir=model_dir)
    assert again.runtime == "onnx"
    assert "exporting" not in caplog.text
    assert graph.stat().st_mtime_ns == stamp and _graphs(model_dir) == [graph]


def test_runtime_setting_reaches_the_service(settings: Settings, monkeypatch) -> None:
    monkeypatch.setenv("LOOKALIKE_RUNTIME", "torch")
    with SearchService(Settings()) as svc:
        assert svc.encoder.runtime == "torch"
    monkeypatch.setenv("LOOKALIKE_RUNTIME", "auto")
    with SearchService(Settings()) as svc:  # the suite's model cache (LOOKALIKE_MODEL_DIR): no export
        assert svc.encoder.runtime == "onnx" and svc.settings.models_dir == Path(Settings().models_dir)
    assert Settings(model_dir=None, data_dir=Path("/x")).models_dir == Path("/x/models")
    with pytest.raises(ValueError, match="runtime"):
        Settings(runtime="tensorflow")


def test_without_onnxruntime_it_warns_and_runs_torch(
    torch_encoder, demo_images, tmp_path: Path, monkeypatch, caplog
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    with caplog.at_level(logging.WARNING):
        enc = EfficientNetLite0Encoder(device="cpu", runtime="auto", model_dir=tmp_path / "models")
    assert enc.runtime == "torch"
    assert "onnxruntime is not installed" in caplog.text and "using torch instead" in caplog.text
    np.testing.assert_allclose(
        enc.embed_images(demo_images[:2]), torch_encoder.embed_images(demo_images[:2]), atol=1e-5
    )
    assert not (tmp_path / "models").exists()  # nothing exported


def test_when_the_export_fails_it_warns_and_runs_torch(tmp_path: Path, caplog) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the model cache dir should be")
    with caplog.at_level(logging.WARNING):
        enc = EfficientNetLite0Encoder(device="cpu", runtime="onnx", model_dir=blocked / "models")
    assert enc.runtime == "torch"
    assert "cannot write the graph" in caplog.text and "using torch instead" in caplog.text
    assert enc.embed_images([]).shape == (0, 1280)


def test_a_damaged_cached_graph_is_exported_again(encoder, model_dir: Path, tmp_path: Path, caplog) -> None:
    """A graph cut short (a full disk, a copy gone wrong) is noticed on opening and replaced."""
    cache = tmp_path / "models"
    cache.mkdir()
    for src in model_dir.iterdir():
        (cache / src.name).write_bytes(src.read_bytes())
    graph = _graphs(cache)[0]
    graph.write_bytes(graph.read_bytes()[:1000])
    with caplog.at_level(logging.INFO, logger="lookalike.encoders.onnx_runtime"):
        enc = EfficientNetLite0Encoder(device="cpu", runtime="onnx", model_dir=cache)
    assert enc.runtime == "onnx"
    assert "is unusable" in caplog.text and "exporting" in caplog.text
    assert graph.stat().st_size > 1_000_000
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        p.name for p in model_dir.iterdir()
    )  # no temp files


def test_registry_caches_one_encoder_per_runtime() -> None:
    a = encoders.get_encoder("efficientnet-lite0", device="cpu", runtime="torch")
    assert encoders.get_encoder("efficientnet-lite0", device="cpu", runtime="torch") is a
    assert a.runtime == "torch"
