"""Run an image model's convolutional trunk with ONNX Runtime instead of eager torch.

On CPU, ONNX Runtime runs EfficientNet-Lite0 several times faster than torch (fused conv + ReLU6,
no Python between layers), with the same features to ~1e-5. The graph is exported from the torch
model once per weights file and kept under the model cache dir (`data_dir/models`), named by the
weights' hash and the graph version, so every later process only opens it. Each graph is checked
against torch on a probe batch before it is used; anything that goes wrong (onnxruntime missing,
export failing, a graph that disagrees) raises OnnxUnavailable and the caller keeps torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

GRAPH_VERSION = 1  # bump when the exported graph (inputs, outputs, opset) changes: old files are ignored
OPSET = 17
# The probe must agree this well with torch (cosine of pooled features; both are float32).
MIN_COSINE = 0.9999
_EXPORT_LOCK = threading.Lock()


class OnnxUnavailable(RuntimeError):
    """ONNX Runtime cannot run this model here; the message says why (the caller falls back to torch)."""


def file_digest(path: str | os.PathLike, length: int = 16) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:length]


def graph_path(model_dir: Path, model: str, weights_digest: str) -> Path:
    return Path(model_dir) / f"{model}-{weights_digest}-g{GRAPH_VERSION}.onnx"


def probe_batch(sizes: tuple[tuple[int, int], ...] = ((224, 224),), n: int = 3) -> list[np.ndarray]:
    """Deterministic model inputs (smooth gradients plus noise, in the model's ±1 range), one batch per
    (height, width): what the graph is checked on against torch."""
    rng = np.random.default_rng(13)
    out = []
    for h, w in sizes:
        ramp = np.linspace(-1, 1, h * w, dtype=np.float32).reshape(1, 1, h, w)
        noise = rng.uniform(-0.5, 0.5, size=(n, 3, h, w)).astype(np.float32)
        out.append(np.clip(ramp + noise, -1, 1).astype(np.float32))
    return out


def export(trunk: object, path: Path) -> None:
    """Export `trunk` (a torch module: pixels [n, 3, H, W] → features [n, C, h, w]) to `path`."""
    import torch

    example = torch.from_numpy(probe_batch(n=2)[0])
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            trunk,
            (example,),
            str(path),
            input_names=["pixels"],
            output_names=["features"],
            dynamic_axes={"pixels": {0: "n", 2: "height", 3: "width"}, "features": {0: "n", 2: "h", 3: "w"}},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: no onnxscript dependency, a plain static graph
        )


class OnnxTrunk:
    """An ONNX Runtime session over an exported trunk: pixels [n, 3, H, W] float32 → features [n, C, h, w]."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise OnnxUnavailable(f"onnxruntime is not installed ({exc}); pip install onnxruntime") from None
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or os.cpu_count() or 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Threads sleep between runs instead of spinning: image decoding and the title model share the
        # same cores during indexing, and a spinning pool takes their time.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file: the caller re-exports
            raise OnnxUnavailable(f"cannot open {path.name} ({exc})") from exc
        self.path = path

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        return self._session.run(None, {"pixels": np.ascontiguousarray(pixels, dtype=np.float32)})[0]


FULL_PROBE = ((224, 224), (160, 96))  # after an export: the indexing size, and a non-square photo
QUICK_PROBE = ((64, 64),)  # each time a cached graph is opened, against torch's answer recorded at export


def _pooled(features: np.ndarray) -> np.ndarray:
    return features.mean(axis=(2, 3))


def _agree(got: np.ndarray, want: np.ndarray, what: str) -> None:
    if got.shape != want.shape:
        raise OnnxUnavailable(f"graph output shape {got.shape} differs from {what} {want.shape}")
    if not np.all(np.isfinite(got)):
        raise OnnxUnavailable("graph output holds NaN or infinity")
    a, b = _pooled(got), _pooled(want)
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    if float(cos.min()) < MIN_COSINE:
        raise OnnxUnavailable(f"graph disagrees with {what} on the probe (cosine {float(cos.min()):.6f})")


def check(trunk: OnnxTrunk, reference: Callable[[np.ndarray], np.ndarray]) -> None:
    """Raise OnnxUnavailable unless the graph's pooled features match the torch reference on the probe
    (square and non-square inputs: search runs the trunk on photos of any shape)."""
    for batch in probe_batch(FULL_PROBE):
        _agree(trunk(batch), reference(batch), "torch")


def _probe_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".onnx") + ".probe.npy")


def _replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """write(tmp) then rename onto `path`: a half-written file never carries the final name."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the cache from other users of the data dir
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _save(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as f:
        np.save(f, array, allow_pickle=False)


def load_trunk(
    trunk: object,
    reference: Callable[[np.ndarray], np.ndarray],
    *,
    model: str,
    weights_path: str | os.PathLike,
    model_dir: Path,
    threads: int | None = None,
) -> OnnxTrunk:
    """The checked ONNX session for `trunk`: the cached graph if it is there and still gives the answer
    torch gave at export, else a fresh export checked against torch (then cached). Raises
    OnnxUnavailable with the reason when neither works."""
    try:
        import onnxruntime  # noqa: F401 - fail fast, before exporting anything
    except ImportError as exc:
        raise OnnxUnavailable(f"onnxruntime is not installed ({exc}); pip install onnxruntime") from None
    try:
        path = graph_path(model_dir, model, file_digest(weights_path))
    except OSError as exc:
        raise OnnxUnavailable(f"cannot read the weights file ({exc})") from exc
    probe, quick = _probe_path(path), probe_batch(QUICK_PROBE, n=2)[0]
    with _EXPORT_LOCK:
        if path.is_file() and probe.is_file():
            try:
                session = OnnxTrunk(path, threads)
                _agree(session(quick), np.load(probe, allow_pickle=False), "torch's recorded answer")
                return session
            except (OnnxUnavailable, OSError, ValueError) as exc:
                log.warning("cached ONNX graph %s is unusable (%s); exporting it again", path, exc)
        log.info("exporting %s to ONNX: %s", model, path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
        except OSError as exc:
            raise OnnxUnavailable(f"cannot write the graph to {path.parent} ({exc})") from exc
        tmp = Path(tmp_name)
        try:
            try:
                export(trunk, tmp)
            except Exception as exc:  # noqa: BLE001 - the exporter fails in many ways (ops, memory, disk)
                raise OnnxUnavailable(f"exporting the graph failed ({exc})") from exc
            session = OnnxTrunk(tmp, threads)
            check(session, reference)
            try:
                answer = reference(quick)
                _replace_atomically(probe, lambda tmp_probe: _save(tmp_probe, answer))
                os.chmod(tmp, 0o644)
                os.replace(tmp, path)  # the graph last: its presence means both files are complete
            except OSError as exc:
                log.warning(
                    "cannot cache the ONNX graph in %s (%s); exported again next time", path.parent, exc
                )
            return session
        finally:
            tmp.unlink(missing_ok=True)
