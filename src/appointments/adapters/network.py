"""The webhook URL guard: resolves the host and refuses internal addresses (no SSRF).

Every address the name resolves to is checked, not just the first: a client connecting
later may pick any of them. A literal IP is checked as it is, without a lookup.
"""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address, IPv6Address, ip_address

from appointments.application.ports.services import VettedUrl
from appointments.domain.errors import WebhookUrlNotAllowed
from appointments.domain.webhooks import split_webhook_url

IPAddress = IPv4Address | IPv6Address
DEFAULT_PORTS = {"http": 80, "https": 443}
RESOLVE_TIMEOUT_SECONDS = 2.0


def is_internal(address: IPAddress) -> bool:
    """Anything but a public unicast address. An IPv6 address that carries an IPv4 one
    (IPv4-mapped `::ffff:127.0.0.1`, 6to4 `2002:7f00:1::`) is judged by that too."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return is_internal(address.ipv4_mapped)
        if address.sixtofour is not None and is_internal(address.sixtofour):
            return True
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global  # e.g. 100.64.0.0/10, carrier-grade NAT
    )


class ResolvingUrlGuard:
    """UrlGuard over the system resolver, each lookup bounded by `timeout` seconds."""

    def __init__(
        self, *, allow_private_networks: bool, timeout: float = RESOLVE_TIMEOUT_SECONDS
    ) -> None:
        self._allow_private, self._timeout = allow_private_networks, timeout

    async def check(self, url: str) -> VettedUrl:
        parts = split_webhook_url(url)
        host = parts.hostname
        assert host is not None  # split_webhook_url refuses a URL without one
        port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
        addresses = await self._resolve(host, port)
        if not self._allow_private and any(is_internal(a) for a in addresses):
            raise WebhookUrlNotAllowed(
                "The webhook URL's host is a loopback, private, link-local, multicast or "
                "reserved address."
            )
        return VettedUrl(url=url, host=host, port=port, addresses=addresses)

    async def _resolve(self, host: str, port: int) -> tuple[IPAddress, ...]:
        try:
            return (ip_address(host),)
        except ValueError:
            pass  # a name, not a literal address
        try:
            async with asyncio.timeout(self._timeout):
                found = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
        except (OSError, TimeoutError, UnicodeError) as error:  # gaierror is an OSError
            raise WebhookUrlNotAllowed("The webhook URL's host does not resolve.") from error
        addresses = tuple(dict.fromkeys(_address(info[4][0]) for info in found))
        if not addresses:
            raise WebhookUrlNotAllowed("The webhook URL's host does not resolve.")
        return addresses


def _address(text: object) -> IPAddress:
    """A sockaddr's host: an IPv6 one may carry a zone (`fe80::1%eth0`), kept as such."""
    return ip_address(str(text))
