"""How many searches and catalog writes run at once, and how long a caller waits for them.

Both runners move blocking work into worker threads; a request that cannot get (or finish) its turn in
time is answered 503 with Retry-After instead of queueing without bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from fastapi import HTTPException

T = TypeVar("T")


class _NoTurn(Exception):
    """No slot became free within the time limit."""


class SearchRunner:
    """Runs blocking search calls in worker threads, `slots` at a time, each under `seconds`.

    When the time is up the caller is answered at once (503). Python cannot stop the thread, so it
    finishes its call on its own, still holding its slot: abandoned work never exceeds `slots`, and
    calls still waiting for a slot give up by the same deadline.
    """

    def __init__(self, seconds: float, slots: int):
        self.seconds = seconds
        self.slots = threading.BoundedSemaphore(slots)

    async def run(self, fn: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.seconds
        with anyio.move_on_after(self.seconds):
            try:
                return await anyio.to_thread.run_sync(self._in_turn, fn, deadline, abandon_on_cancel=True)
            except _NoTurn:
                pass
        raise HTTPException(
            503,
            f"the search did not finish within {self.seconds:g} s (the server is busy); try again shortly",
            headers={"Retry-After": "5"},
        )

    def _in_turn(self, fn: Callable[[], T], deadline: float) -> T:
        if not self.slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise _NoTurn
        try:
            return fn()
        finally:
            self.slots.release()


class WriteRunner:
    """Runs catalog writes in worker threads, `slots` at a time.

    A write waits at most `seconds` for a slot (then 503 with Retry-After). Once it has one it runs to
    the end, even if the caller goes away: a write is never abandoned half-done.
    """

    def __init__(self, seconds: float, slots: int):
        self.seconds = seconds
        self.slots = threading.BoundedSemaphore(slots)

    async def run(self, fn: Callable[[], T]) -> T:
        try:
            return await anyio.to_thread.run_sync(self._in_turn, fn)  # not abandoned on cancel
        except _NoTurn:
            raise HTTPException(
                503,
                f"other changes to the catalog are in progress and none finished within {self.seconds:g} s; "
                "try again shortly",
                headers={"Retry-After": "5"},
            ) from None

    def _in_turn(self, fn: Callable[[], T]) -> T:
        if not self.slots.acquire(timeout=self.seconds):
            raise _NoTurn
        try:
            return fn()
        finally:
            self.slots.release()
