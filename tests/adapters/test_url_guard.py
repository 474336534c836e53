"""The webhook URL guard against the real resolver: literal addresses, `localhost` and a
name that cannot resolve (`.invalid`, RFC 6761) only, so no test needs outside DNS."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from appointments.adapters.network import ResolvingUrlGuard, is_internal
from appointments.application.ports.services import UrlGuard, VettedUrl
from appointments.domain.errors import WebhookUrlNotAllowed

STRICT = ResolvingUrlGuard(allow_private_networks=False)
OPEN = ResolvingUrlGuard(allow_private_networks=True)

INTERNAL = [
    "http://127.0.0.1/",
    "http://127.1.2.3:8080/hook",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://[::1]/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[ff02::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://localhost/",
    "http://LOCALHOST:9000/",
    "http://0x7f000001/",  # the resolver reads it as 127.0.0.1
    "http://2130706433/",  # and this one too
]


def test_it_is_a_url_guard() -> None:
    guard: UrlGuard = STRICT
    assert guard is STRICT


@pytest.mark.parametrize(
    ("url", "address", "port"),
    [
        ("https://8.8.8.8/hook", "8.8.8.8", 443),
        ("http://1.1.1.1:8080/", "1.1.1.1", 8080),
        ("http://[2606:4700::1111]/", "2606:4700::1111", 80),
        ("http://[::ffff:8.8.8.8]/", "::ffff:8.8.8.8", 80),
    ],
)
async def test_public_addresses_pass_and_are_returned(url: str, address: str, port: int) -> None:
    vetted = await STRICT.check(url)
    assert vetted == VettedUrl(url=url, host=address, port=port, addresses=(ip_address(address),))


@pytest.mark.parametrize("url", INTERNAL)
async def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(WebhookUrlNotAllowed) as refused:
        await STRICT.check(url)
    assert refused.value.code == "webhook_url_not_allowed"


@pytest.mark.parametrize("url", INTERNAL)
async def test_allowed_when_private_networks_are(url: str) -> None:
    vetted = await OPEN.check(url)
    assert vetted.addresses
    assert all(isinstance(a, IPv4Address | IPv6Address) for a in vetted.addresses)


async def test_localhost_resolves_to_its_loopback_addresses() -> None:
    vetted = await OPEN.check("http://localhost:9000/hook")
    assert (vetted.host, vetted.port) == ("localhost", 9000)
    assert vetted.addresses
    assert all(a.is_loopback for a in vetted.addresses)


@pytest.mark.parametrize("guard", [STRICT, OPEN])
@pytest.mark.parametrize(
    "url", ["http://nonexistent.invalid/", "https://no-such-host.invalid:8443/x"]
)
async def test_a_host_that_does_not_resolve_is_refused(guard: ResolvingUrlGuard, url: str) -> None:
    with pytest.raises(WebhookUrlNotAllowed, match="does not resolve"):
        await guard.check(url)


@pytest.mark.parametrize("guard", [STRICT, OPEN])
@pytest.mark.parametrize("url", ["ftp://8.8.8.8/", "https://u:p@8.8.8.8/", "http:///x"])
async def test_the_domain_rules_apply_first(guard: ResolvingUrlGuard, url: str) -> None:
    with pytest.raises(WebhookUrlNotAllowed):
        await guard.check(url)


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("8.8.8.8", False),
        ("2606:4700::1111", False),
        ("::ffff:8.8.8.8", False),
        ("2002:808:808::", False),  # 6to4 of a public address
        ("192.0.2.1", True),  # documentation
        ("198.18.0.1", True),  # benchmarking
        ("fe80::1%eth0", True),
        ("2001:db8::1", True),
    ],
)
def test_what_counts_as_internal(address: str, internal: bool) -> None:
    assert is_internal(ip_address(address)) is internal
