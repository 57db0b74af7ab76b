"""The API under a real uvicorn server on a free loopback port, in a thread: shared by the HTTP benchmarks."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from lookalike.api import create_app
from lookalike.search import SearchService


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(service: SearchService, api_key: str = "bench") -> tuple[uvicorn.Server, threading.Thread, str]:
    """Start the server; returns it, its thread and its base URL (set server.should_exit to stop)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(service, api_key=api_key),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"
