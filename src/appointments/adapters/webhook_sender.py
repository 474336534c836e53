"""Webhook deliveries over httpx, to the address the URL guard vetted.

The URL's host is replaced by the first vetted address before the request is made, so
the client never looks the name up again (a second answer an attacker's DNS could point
at 127.0.0.1: DNS rebinding). The name still goes where it belongs: into the Host header
and, for https, into TLS SNI and the certificate check, through httpcore's `sni_hostname`
request extension (httpcore/_async/connection.py hands it to `start_tls` as
`server_hostname`, which anyio passes to `SSLContext.wrap_bio`).

Connections are not kept alive: httpcore pools them by scheme, address and port only, so
a pooled TLS connection opened for one name could otherwise carry a request for another
name served from the same address.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import cast

import httpx

from appointments.application.errors import DeliveryFailed
from appointments.application.ports.services import WebhookRequest

DELIVERY_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 64 * 1024  # read at most this much of an answer's body, then hang up


class HttpxWebhookSender:
    """WebhookSender over one lazily created httpx client: no redirects followed, no proxy
    or certificate settings taken from the environment, `timeout` seconds for the whole
    attempt (connect, send and the answer's status line and headers)."""

    def __init__(
        self, *, timeout: float = DELIVERY_TIMEOUT_SECONDS, verify: ssl.SSLContext | bool = True
    ) -> None:
        self._timeout, self._verify = timeout, verify
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,
                timeout=self._timeout,
                verify=self._verify,
                limits=httpx.Limits(max_keepalive_connections=0),
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def post(self, request: WebhookRequest) -> int:
        """The answer's status code, whatever it is (a 3xx is returned, not followed);
        DeliveryFailed if no answer came within the timeout or the connection failed."""
        http = self._http()
        try:
            outgoing = _addressed(http, request)
        except (httpx.InvalidURL, ValueError) as error:
            raise DeliveryFailed("the vetted URL cannot be addressed") from error
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        try:
            async with asyncio.timeout_at(deadline):
                response = await http.send(outgoing, stream=True)
        except (TimeoutError, httpx.TimeoutException):
            raise DeliveryFailed(f"timed out after {self._timeout:g} s") from None
        except httpx.HTTPError as error:
            raise DeliveryFailed(_reason(error)) from error
        try:
            # The status is the answer; the body is read (at most 64 KiB, within what is
            # left of the timeout) only to end the exchange, and may be cut short.
            async with asyncio.timeout_at(deadline):
                await _read_some(response)
        except (TimeoutError, httpx.HTTPError):
            pass
        finally:
            await response.aclose()
        return response.status_code


def _addressed(http: httpx.AsyncClient, request: WebhookRequest) -> httpx.Request:
    """The POST to the first vetted address, carrying the URL's name in Host (and SNI)."""
    target = request.target
    if not target.addresses:
        raise ValueError("a vetted URL has at least one address")
    named = httpx.URL(target.url)
    # copy_with brackets an IPv6 address; the path and query stay as they were.
    url = named.copy_with(host=str(target.addresses[0]), port=target.port)
    headers = httpx.Headers(request.headers)
    # `netloc` is the name as sent: IDNA-encoded, IPv6 in brackets, the port unless default.
    headers["Host"] = named.copy_with(port=target.port).netloc.decode("ascii")
    extensions = {"sni_hostname": named.raw_host.decode("ascii")} if url.scheme == "https" else {}
    return http.build_request(
        "POST", url, headers=headers, content=request.body, extensions=extensions
    )


async def _read_some(response: httpx.Response) -> None:
    """Read the raw (undecoded, so no decompression bomb) body until it ends or 64 KiB."""
    received = 0
    # aiter_raw is an async generator (typed as a mere iterator): close it when stopping.
    raw = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    async with aclosing(raw) as chunks:
        async for chunk in chunks:
            received += len(chunk)
            if received >= MAX_RESPONSE_BYTES:
                return


def _reason(error: httpx.HTTPError) -> str:
    """A short, fixed description: never the request's headers, body or secret."""
    causes: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and cause not in causes:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate rejected: {cause.verify_message or 'not trusted'}"
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed"
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
    if isinstance(error, httpx.ConnectError):
        return "could not connect"
    if isinstance(error, httpx.ProtocolError):
        return "protocol error: the answer is not valid HTTP/1.1"
    if isinstance(error, httpx.NetworkError):
        return "connection lost before an answer"
    return f"delivery failed ({type(error).__name__})"
