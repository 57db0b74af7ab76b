"""Fashion-MNIST (70,000 labelled Zalando product images, 28×28 grey, 10 classes) from its idx files.

Read with numpy only, from the Debian package `dataset-fashion-mnist` by default or any folder holding
the four files (gzipped or not), so evaluation runs offline.
"""

from __future__ import annotations

import gzip
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps

from lookalike.errors import LookalikeError

log = logging.getLogger(__name__)

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_DIR = "LOOKALIKE_FMNIST_DIR"
Split = Literal["train", "t10k"]
CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
_HOW_TO_GET = (
    "install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or download "
    "{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz from https://github.com/zalandoresearch/fashion-mnist "
    "into a folder and pass it with --fmnist-dir"
)


@dataclass(frozen=True)
class FashionMNIST:
    """One split: `images` uint8 [n, 28, 28] (white product on black, as published), `labels` uint8 [n]."""

    split: str
    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def pil(self, i: int, *, invert: bool = True) -> Image.Image:
        """Image i as RGB; `invert` undoes the dataset's negation: dark product on white, as in a shop."""
        grey = Image.fromarray(self.images[i], mode="L")
        if invert:
            grey = ImageOps.invert(grey)
        return grey.convert("RGB")


def resolve_dir(fmnist_dir: Path | str | None = None) -> Path:
    """The folder to read: the argument, else $LOOKALIKE_FMNIST_DIR, else the Debian package's folder."""
    if fmnist_dir is not None:
        return Path(fmnist_dir)
    env = os.environ.get(ENV_DIR)
    return Path(env) if env else DEFAULT_DIR


def _find(folder: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise LookalikeError(f"Fashion-MNIST is not in {folder} (no {stem}.gz): {_HOW_TO_GET}")


def available(fmnist_dir: Path | str | None = None) -> bool:
    folder = resolve_dir(fmnist_dir)
    try:
        for split in ("train", "t10k"):
            _find(folder, f"{split}-images-idx3-ubyte")
            _find(folder, f"{split}-labels-idx1-ubyte")
    except LookalikeError:
        return False
    return True


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse an idx file: big-endian magic, one big-endian uint32 per dimension, then raw uint8 data."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise LookalikeError(f"{path} cannot be read ({exc}); {_HOW_TO_GET}") from None
    ndim = magic & 0xFF
    header = 4 * (1 + ndim)
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        raise LookalikeError(f"{path} is not an idx file of the expected kind (damaged download?)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    if len(raw) - header != int(np.prod(shape)):
        raise LookalikeError(f"{path} is truncated: header says {shape}, data has {len(raw) - header} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load(split: Split, fmnist_dir: Path | str | None = None) -> FashionMNIST:
    """The 'train' (60,000) or 't10k' (10,000) split."""
    if split not in ("train", "t10k"):
        raise LookalikeError(f"Fashion-MNIST has splits 'train' and 't10k', not '{split}'")
    folder = resolve_dir(fmnist_dir)
    images = read_idx(_find(folder, f"{split}-images-idx3-ubyte"), _IMAGES_MAGIC)
    labels = read_idx(_find(folder, f"{split}-labels-idx1-ubyte"), _LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise LookalikeError(
            f"Fashion-MNIST {split} in {folder}: {images.shape[0]} images but {labels.shape[0]} labels"
        )
    if labels.size and int(labels.max()) >= len(CLASS_NAMES):
        raise LookalikeError(f"Fashion-MNIST {split} in {folder} has labels beyond the 10 classes")
    log.debug("loaded Fashion-MNIST %s from %s: %s", split, folder, images.shape)
    return FashionMNIST(split=split, images=images, labels=labels)
