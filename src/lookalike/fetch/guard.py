"""Which URLs and addresses the server may fetch: the defence against server-side request forgery.

An API caller who hands us a URL chooses where our server connects. So a URL is judged twice: its
shape (`check_url`: http/https, no credentials) and, at every connection, the address its host
resolved to (`AddressPolicy.check_ip`). Judging the resolved address, not the spelling, is what catches
`0x7f000001`, `127.1`, `[::ffff:127.0.0.1]` or a name whose DNS answer points inside the network.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import httpx

from lookalike.fetch.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance-metadata endpoints hand out credentials: refused even when private addresses are allowed.
# (AWS/GCP/Azure/OpenStack 169.254.169.254, AWS ECS task metadata, AWS IPv6 IMDS, Alibaba, Azure wire
# server (a public address!), Oracle's second endpoint.)
CLOUD_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "168.63.129.16",
        "192.0.0.192",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# kinds a shop owner's own command may reach (allow_private=True); the others never make sense to fetch
_PRIVATE_KINDS = frozenset(
    {"a loopback address", "a private address", "a link-local address", "not a public address"}
)


def classify(ip: IPAddress) -> str | None:
    """What kind of non-public address `ip` is ("a loopback address" …), or None for a public one.

    An IPv6 address that carries an IPv4 one (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, 6to4,
    Teredo, NAT64) is judged by the IPv4 address inside: that is where the packets end up.
    """
    if ip in CLOUD_METADATA:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            kind = classify(inner)
            return None if kind is None else f"{kind} ({inner} inside an IPv6 address)"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:  # before private: Python counts 240.0.0.0/4 as both
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"  # shared (CGNAT), documentation, benchmarking ranges …
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client address; the server one is public by definition
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip))
    return None


@dataclass(frozen=True)
class _Allowed:
    """One `allowed` entry: a network or a host name, optionally on one port only."""

    network: IPNetwork | None
    name: str | None
    port: int | None

    def matches(self, ip: IPAddress, host: str | None, port: int | None) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return ip.version == self.network.version and ip in self.network
        return host is not None and _norm_host(host) == self.name


def parse_allowed(entry: str) -> _Allowed:
    """`10.0.0.0/8`, `192.168.1.5`, `images.shop.internal`, each optionally `:port`; IPv6 `[fd00::1]:8080`.

    Raises ValueError for an entry that is none of these (settings validation shows it).
    """
    text = entry.strip()
    port: int | None = None
    if text.startswith("["):
        inside, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{entry!r}: write an IPv6 address with a port as [address]:port")
        text, port = inside, _port(rest[1:], entry) if rest else None
    elif text.count(":") == 1:
        text, raw_port = text.split(":")
        port = _port(raw_port, entry)
    if not text:
        raise ValueError(f"{entry!r}: empty host")
    try:
        return _Allowed(ipaddress.ip_network(text, strict=False), None, port)
    except ValueError:
        pass
    if "/" in text or ":" in text or " " in text:
        raise ValueError(f"{entry!r} is neither an address, a network (CIDR) nor a host name")
    return _Allowed(None, _norm_host(text), port)


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
    return int(text)


def _norm_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class AddressPolicy:
    """Which resolved addresses a fetch may connect to.

    Default: public addresses only. `allow_private` also lets loopback, private and link-local
    addresses through (the shop owner's own command line), never cloud metadata, multicast, reserved or
    unspecified ones. `allowed` lists hosts and networks (optionally `:port`) that are always fine:
    an internal image server, or the loopback server of the tests.
    """

    allow_private: bool = False
    allowed: tuple[str, ...] = ()
    _rules: tuple[_Allowed, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed", tuple(self.allowed))
        object.__setattr__(self, "_rules", tuple(parse_allowed(e) for e in self.allowed))

    @classmethod
    def from_settings(cls, settings: Any, *, allow_private: bool = False) -> AddressPolicy:
        """The policy Settings.fetch_allow describes; `allow_private` for the shop owner's own commands."""
        return cls(allow_private=allow_private, allowed=tuple(settings.fetch_allow))

    def check_ip(self, ip: str | IPAddress, *, host: str | None = None, port: int | None = None) -> None:
        """Raise FetchError (refused=True) unless a connection to `ip` is allowed.

        `host` is the name from the URL (for `allowed` host names), `port` the port connected to.
        """
        addr = ipaddress.ip_address(ip.split("%", 1)[0]) if isinstance(ip, str) else ip  # drop a zone id
        if any(rule.matches(addr, host, port) for rule in self._rules):
            return
        kind = classify(addr)
        if kind is None or (self.allow_private and kind.split(" (", 1)[0] in _PRIVATE_KINDS):
            return
        raise FetchError(f"refused: {addr} is {kind}", refused=True)

    def allows(self, ip: str | IPAddress, *, host: str | None = None, port: int | None = None) -> bool:
        try:
            self.check_ip(ip, host=host, port=port)
        except FetchError:
            return False
        return True


def check_url(url: str) -> httpx.URL:
    """The parsed URL if its shape may be fetched: http or https, a host, no user:password.

    The host's addresses are checked later, at connection time (see AddressPolicy).
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(f"not a valid URL ({exc})", url, refused=True) from None
    if parsed.scheme not in ("http", "https"):
        shown = parsed.scheme or "no scheme"
        raise FetchError(f"refused: only http and https URLs can be fetched, not {shown}", url, refused=True)
    if parsed.userinfo:
        raise FetchError("refused: URLs with a user name or password are not fetched", url, refused=True)
    if not parsed.host:
        raise FetchError("not a valid URL (no host)", url, refused=True)
    return parsed
