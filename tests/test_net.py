"""is_loopback: the one check that decides whether serving needs a key or a login.

Only the system resolver is asked (names below either resolve from /etc/hosts or not at all);
nothing connects anywhere.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

from lookalike.net import is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.5.5.5", "::1", "localhost"])
def test_loopback_addresses_and_localhost_are_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "192.168.1.10", "8.8.8.8", "::ffff:10.0.0.1"])
def test_other_addresses_are_not(host: str) -> None:
    assert not is_loopback(host)


@pytest.mark.parametrize("host", ["127.example.com", "localhost.invalid", "", "no such host"])
def test_names_that_do_not_resolve_are_not_loopback(host: str) -> None:
    # 127.example.com looks like 127.0.0.0/8 to a prefix check; it is a name, and it does not resolve here
    assert not is_loopback(host)


def test_a_name_that_resolves_only_to_loopback_is_loopback() -> None:
    # the machine's own name, resolved through /etc/hosts (here: 127.0.0.1); skipped where it is not loopback
    name = socket.gethostname()
    try:
        addresses = {i[4][0] for i in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        pytest.skip("this machine's own name does not resolve")
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        pytest.skip(f"this machine's name resolves to {sorted(addresses)}, not only loopback")
    assert name != "localhost" and is_loopback(name)
