"""The suite's own net: no test can reach beyond loopback, even through code that forgot to check."""

from __future__ import annotations

import socket

import httpx
import pytest


def test_a_connect_beyond_loopback_is_stopped_before_any_packet(off_loopback_attempts: list[str]) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(ConnectionRefusedError, match="loopback"):
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: documentation only, and not reached anyway
        with pytest.raises(ConnectionRefusedError):
            s.connect_ex(("198.51.100.7", 9))
    finally:
        s.close()
    assert off_loopback_attempts == ["connect '192.0.2.1'", "connect '198.51.100.7'"]
    off_loopback_attempts.clear()


def test_names_other_than_loopback_are_not_resolved() -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("shop.example", 443)
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://shop.example/feed.xml", timeout=2)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "0x7f000001", "localhost", "::1"])
def test_loopback_in_every_spelling_still_resolves(host: str) -> None:
    assert socket.getaddrinfo(host, 80, proto=socket.IPPROTO_TCP)
