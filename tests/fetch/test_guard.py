"""The address policy and URL shape checks, on addresses alone: nothing here connects anywhere."""

from __future__ import annotations

import ipaddress

import pytest

from lookalike.config import Settings
from lookalike.fetch import AddressPolicy, FetchError, check_url, classify, parse_allowed


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("169.254.1.1", "a link-local address"),
        ("fd00::1", "a private address"),
        ("fe80::1", "a link-local address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("168.63.129.16", "a cloud metadata address"),
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.251", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("192.0.2.10", "a private address"),  # documentation range
    ],
)
def test_non_public_addresses_are_refused_by_kind(address: str, kind: str) -> None:
    assert classify(ipaddress.ip_address(address)) == kind
    with pytest.raises(FetchError) as err:
        AddressPolicy().check_ip(address)
    assert err.value.refused
    assert err.value.reason == f"refused: {address if address != '::' else '::'} is {kind}"


@pytest.mark.parametrize(
    ("address", "inner", "kind"),
    [
        ("::ffff:10.0.0.1", "10.0.0.1", "a private address"),  # IPv4-mapped
        ("::ffff:127.0.0.1", "127.0.0.1", "a loopback address"),
        ("::ffff:169.254.169.254", "169.254.169.254", "a cloud metadata address"),
        ("::7f00:1", "127.0.0.1", "a loopback address"),  # IPv4-compatible (deprecated)
        ("2002:a00:1::", "10.0.0.1", "a private address"),  # 6to4
        ("64:ff9b::a9fe:a9fe", "169.254.169.254", "a cloud metadata address"),  # NAT64
    ],
)
def test_ipv4_inside_ipv6_is_judged_by_the_ipv4_address(address: str, inner: str, kind: str) -> None:
    assert classify(ipaddress.ip_address(address)) == f"{kind} ({inner} inside an IPv6 address)"
    assert not AddressPolicy().allows(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is None
    AddressPolicy().check_ip(address)  # raises if refused


def test_allow_private_opens_the_local_network_but_never_metadata_or_nonsense() -> None:
    owner = AddressPolicy(allow_private=True)
    local = ("127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "fd00::1", "::ffff:10.0.0.1", "169.254.1.1")
    for address in local:
        assert owner.allows(address), address
    never = ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "0.0.0.0", "224.0.0.1", "240.0.0.1")
    for address in never:
        assert not owner.allows(address), address


def test_allowed_entries_match_networks_hosts_and_ports() -> None:
    policy = AddressPolicy(allowed=("10.1.0.0/16", "127.0.0.1:8080", "Images.Shop.Internal", "[fd00::5]:443"))
    assert policy.allows("10.1.2.3")
    assert not policy.allows("10.2.0.1")
    assert policy.allows("127.0.0.1", port=8080)
    assert not policy.allows("127.0.0.1", port=8081)  # another port on the same machine stays refused
    assert not policy.allows("127.0.0.1")
    assert policy.allows("192.168.7.7", host="images.shop.internal.")  # trusted, whatever it resolves to
    assert not policy.allows("192.168.7.7", host="other.internal")
    assert policy.allows("fd00::5", port=443) and not policy.allows("fd00::5", port=80)
    assert policy.allows("169.254.169.254") is False  # nothing in the list opens metadata by accident


def test_metadata_can_only_be_opened_by_naming_it() -> None:
    assert AddressPolicy(allowed=("169.254.169.254",)).allows("169.254.169.254")


@pytest.mark.parametrize("entry", ["", "10.0.0.0/33", "host:port", "[::1", "[::1]x", "a b", "h:0", "h:70000"])
def test_malformed_allowed_entries_are_refused_at_startup(entry: str) -> None:
    with pytest.raises(ValueError):
        parse_allowed(entry)


def test_settings_reject_a_bad_allow_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOKALIKE_FETCH_ALLOW", '["10.0.0.0/8", "not a host"]')
    with pytest.raises(ValueError, match="not a host"):
        Settings()
    monkeypatch.setenv("LOOKALIKE_FETCH_ALLOW", '["10.0.0.0/8", "images.internal:8080"]')
    policy = AddressPolicy.from_settings(Settings())
    assert policy.allows("10.9.9.9") and policy.allows("192.168.0.1", host="images.internal", port=8080)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://127.0.0.1/x", "only http and https"),
        ("gopher://127.0.0.1:70/_x", "only http and https"),
        ("//example.com/x.jpg", "only http and https"),
        ("http://user:secret@example.com/x.jpg", "user name or password"),
        ("http:///x.jpg", "no host"),
        ("http://[::1/x", "not a valid URL"),
    ],
)
def test_url_shapes_that_are_never_fetched(url: str, reason: str) -> None:
    with pytest.raises(FetchError, match=reason) as err:
        check_url(url)
    assert err.value.refused
    assert "secret" not in str(err.value)  # a credential is never echoed back


def test_http_and_https_urls_pass_the_shape_check() -> None:
    assert check_url("https://shop.example/a b.jpg?x=1").host == "shop.example"
    assert check_url("HTTP://SHOP.example:8080/x").port == 8080
