"""The Encoder protocol every model family implements, and helpers they share."""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from lookalike.errors import EncoderError, UnsupportedModalityError


class Modality(StrEnum):
    """What an encoder embeds into its space. Members equal their strings ("image", "text", "audio")."""

    IMAGE = "image"
    TEXT = "text"
    AUDIO = "audio"


@runtime_checkable
class Encoder(Protocol):
    """Maps images (and, where the model can, texts) into one L2-normalised float32 space."""

    name: str
    dim: int
    modalities: frozenset[Modality]

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray: ...

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class ClassifyingEncoder(Encoder, Protocol):
    """An image model that also scores the 1000 ImageNet classes, from the same forward pass; its
    class probabilities become the `concepts` vector that lets words find products by object class."""

    def embed_and_classify(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class AudioEncoder(Encoder, Protocol):
    """An encoder that hears: recordings land in the same space as images (Modality.AUDIO)."""

    def embed_audio(self, sources: Sequence[str | Path]) -> np.ndarray: ...


def can_classify(encoder: object) -> bool:
    """Whether an encoder (or encoder class) scores ImageNet classes: the one place this is decided."""
    return callable(getattr(encoder, "embed_and_classify", None))


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def unsupported(encoder: str, modality: str) -> EncoderError:
    return UnsupportedModalityError(
        f"the '{encoder}' encoder does not embed {modality}; choose an encoder that does "
        "(see `lookalike encoders`) with LOOKALIKE_ENCODER"
    )


def configure_torch_threads(threads: int | None) -> None:
    """Use every core for intra-op work unless told otherwise; inter-op threads only add contention."""
    import torch

    n = threads or os.cpu_count() or 1
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise EncoderError("LOOKALIKE_DEVICE=cuda but no CUDA GPU is available; use 'cpu' or 'auto'")
    return device
