"""Decode and prepare the next batches of images in worker threads while the model embeds this one.

Indexing spends as much time turning files into model inputs (PNG/JPEG decoding, resizing to the
model's 224 px square) as in the model itself once ONNX Runtime runs it; Pillow and the model release
the GIL for that work, so a few threads keep both cores busy. Batches come out in order, each whole,
so "every batch is stored before the next is embedded" still holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from PIL import Image

from lookalike.errors import ImageError

T = TypeVar("T")


@dataclass
class LoadedBatch(Generic[T]):
    """One batch after loading: the items that loaded with their images, and (item, reason) for the rest."""

    ok: list[T]
    images: list[Image.Image]
    failed: list[tuple[T, str]]


def load_batches(
    batches: Sequence[Sequence[T]],
    load: Callable[[T], Image.Image],
    *,
    workers: int = 2,
    ahead: int = 2,
) -> Iterator[LoadedBatch[T]]:
    """Yield each batch loaded by `load` (which raises ImageError for a bad file), in order, while up to
    `ahead` later batches load on `workers` threads. Work queued for batches not yet reached is
    cancelled when the consumer stops early."""

    def one(item: T) -> Image.Image | ImageError:
        try:
            return load(item)
        except ImageError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="lookalike-load") as pool:
        queued: deque[list[Future]] = deque()
        nxt = 0
        try:
            while nxt < len(batches) or queued:
                while nxt < len(batches) and len(queued) <= ahead:
                    queued.append([pool.submit(one, item) for item in batches[nxt]])
                    nxt += 1
                futures = queued.popleft()
                batch = batches[nxt - len(queued) - 1]
                out: LoadedBatch[T] = LoadedBatch([], [], [])
                for item, fut in zip(batch, futures, strict=True):
                    result = fut.result()
                    if isinstance(result, ImageError):
                        out.failed.append((item, str(result)))
                    else:
                        out.ok.append(item)
                        out.images.append(result)
                yield out
        finally:
            for futures in queued:
                for fut in futures:
                    fut.cancel()
