"""The loader threads of indexing: batches in order and whole, bad files reported, early stops cancel."""

from __future__ import annotations

import threading

import pytest
from PIL import Image

from lookalike.batch_loader import load_batches
from lookalike.errors import ImageError


def _load(item: int) -> Image.Image:
    if item % 5 == 3:
        raise ImageError(f"{item}: not an image")
    return Image.new("L", (1 + item, 1))


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_batches_come_in_order_whole_with_failures_listed(workers: int) -> None:
    batches = [list(range(i, min(i + 4, 23))) for i in range(0, 23, 4)]
    got = list(load_batches(batches, _load, workers=workers, ahead=2))
    assert len(got) == len(batches)
    for batch, out in zip(batches, got, strict=True):
        assert out.ok == [i for i in batch if i % 5 != 3]
        assert [img.size[0] - 1 for img in out.images] == out.ok
        assert out.failed == [(i, f"{i}: not an image") for i in batch if i % 5 == 3]


def test_no_batches_no_threads_left() -> None:
    assert list(load_batches([], _load)) == []


def test_loading_runs_ahead_but_stops_with_the_consumer() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def load(item: int) -> Image.Image:
        with lock:
            seen.append(item)
        return Image.new("L", (1, 1))

    batches = [[i] for i in range(100)]
    gen = load_batches(batches, load, workers=1, ahead=2)
    assert next(gen).ok == [0]
    gen.close()  # the consumer stops (a crash, Ctrl+C): batches not yet queued are never loaded
    assert set(seen) <= {0, 1, 2, 3} and 0 in seen


def test_other_errors_reach_the_consumer() -> None:
    def broken(item: int) -> Image.Image:
        raise MemoryError("out of memory")

    with pytest.raises(MemoryError):
        list(load_batches([[1, 2]], broken))
