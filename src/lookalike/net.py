"""Whether a host the front ends are told to listen on is loopback (reachable only from this machine).

Serving off loopback needs an API key or a login; getting this wrong opens writes to the network, so a
name counts only when it is "localhost" or every address it resolves to is loopback. A name that does not
resolve is not loopback (`127.example.com` is a name like any other, not 127.0.0.0/8).
"""

from __future__ import annotations

import ipaddress
import logging
import socket

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """True for a loopback IP, "localhost", or a name whose every resolved address is loopback.

    Resolving asks the system resolver only; nothing connects anywhere.
    """
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        log.debug("%r does not resolve (%s): not loopback", host, exc)
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(_loopback_address(a) for a in addresses)


def _loopback_address(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback  # drop an IPv6 zone id
    except ValueError:
        return False
