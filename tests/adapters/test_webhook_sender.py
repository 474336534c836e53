"""The httpx webhook sender against a real receiver on 127.0.0.1: what arrives is exactly
what was signed, any status comes back as it is (redirects unfollowed), failures to get
an answer are DeliveryFailed, and the connection goes to the vetted address, never to a
second lookup of the name, which still reaches Host, TLS SNI and the certificate check."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address

import pytest
import trustme
from standardwebhooks import Webhook

from appointments.adapters.webhook_sender import (
    MAX_RESPONSE_BYTES,
    HttpxWebhookSender,
    _addressed,
)
from appointments.application.errors import DeliveryFailed
from appointments.application.ports.services import VettedUrl, WebhookRequest, WebhookSender
from appointments.domain.webhooks import (
    WebhookEndpoint,
    new_secret,
    signed_headers,
    webhook_body,
)
from tests.webhook_receiver import webhook_receiver

EVENT_ID = "3f1d2c4b-5a6e-4f70-8192-a3b4c5d6e7f8"
APPOINTMENT = {"id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "status": "confirmed"}
SECRET = new_secret()
HOST = "127.0.0.1"


def signed(target: VettedUrl, secret: str = SECRET) -> WebhookRequest:
    body = webhook_body("appointment.confirmed", datetime.now(UTC), {"appointment": APPOINTMENT})
    hook = WebhookEndpoint(url=target.url, created_at=datetime.now(UTC), secret=secret)
    headers = signed_headers(hook.secret_bytes, EVENT_ID, datetime.now(UTC), body)
    return WebhookRequest(target=target, headers=headers, body=body)


@pytest.fixture
async def sender() -> AsyncIterator[HttpxWebhookSender]:
    sender = HttpxWebhookSender()
    yield sender
    await sender.aclose()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_it_is_a_webhook_sender() -> None:
    sender: WebhookSender = HttpxWebhookSender()
    assert isinstance(sender, HttpxWebhookSender)


async def test_a_delivery_arrives_exactly_as_signed_and_verifies(
    sender: HttpxWebhookSender,
) -> None:
    async with webhook_receiver() as receiver:
        request = signed(receiver.vetted())
        assert await sender.post(request) == 204
        (got,) = await receiver.wait_for(1)
    assert got.method == "POST"
    assert got.path == "/hook"
    assert got.body == request.body
    for name, value in request.headers.items():
        assert got.headers[name] == value
    assert got.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert got.headers["content-length"] == str(len(request.body))
    assert Webhook(SECRET).verify(got.body, got.headers) == got.json()
    assert got.json()["data"] == {"appointment": APPOINTMENT}


@pytest.mark.parametrize("status", [200, 201, 202, 400, 404, 410, 429, 500, 503])
async def test_any_answer_comes_back_as_its_status(sender: HttpxWebhookSender, status: int) -> None:
    async with webhook_receiver() as receiver:
        receiver.respond(status, body=b"not json at all")
        assert await sender.post(signed(receiver.vetted())) == status
        assert await sender.post(signed(receiver.vetted())) == 204  # the default next


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_returned_not_followed(sender: HttpxWebhookSender, status: int) -> None:
    async with webhook_receiver() as receiver, webhook_receiver() as elsewhere:
        receiver.redirect(elsewhere.url, status)
        receiver.redirect(receiver.url_for("127.0.0.1").replace("/hook", "/moved"), status)
        assert await sender.post(signed(receiver.vetted())) == status
        assert await sender.post(signed(receiver.vetted())) == status
        await asyncio.sleep(0.2)
        assert elsewhere.requests == []
        assert [r.path for r in receiver.requests] == ["/hook", "/hook"]


async def test_a_receiver_slower_than_the_timeout_fails_quickly() -> None:
    sender = HttpxWebhookSender(timeout=0.5)
    try:
        async with webhook_receiver() as receiver:
            receiver.respond(204, delay=3)
            request = signed(receiver.vetted())
            started = time.monotonic()
            with pytest.raises(DeliveryFailed) as failed:
                await sender.post(request)
            elapsed = time.monotonic() - started
            assert len(await receiver.wait_for(1)) == 1  # it did arrive, just unanswered
    finally:
        await sender.aclose()
    assert 0.4 < elapsed < 1.5, elapsed
    assert str(failed.value) == "timed out after 0.5 s"
    for value in request.headers.values():
        assert value not in str(failed.value)


async def test_a_closed_port_is_connection_refused(sender: HttpxWebhookSender) -> None:
    port = free_port()
    target = VettedUrl(f"http://127.0.0.1:{port}/hook", "127.0.0.1", port, (IPv4Address(HOST),))
    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match=r"^connection refused$"):
        await sender.post(signed(target))
    assert time.monotonic() - started < 2


async def test_an_answer_that_is_not_http_is_a_protocol_error(
    sender: HttpxWebhookSender,
) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SMTP ready, not HTTP\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        target = VettedUrl(f"http://{HOST}:{port}/", HOST, port, (IPv4Address(HOST),))
        with pytest.raises(DeliveryFailed, match="protocol error"):
            await sender.post(signed(target))
    finally:
        server.close()
        await server.wait_closed()


async def test_it_connects_to_the_vetted_address_not_the_name(
    sender: HttpxWebhookSender,
) -> None:
    """`.invalid` never resolves (RFC 6761): arriving at all proves no lookup was made."""
    async with webhook_receiver() as receiver:
        target = receiver.vetted("hook.invalid")
        assert target.url == f"http://hook.invalid:{receiver.port}/hook"
        assert await sender.post(signed(target)) == 204
        (got,) = await receiver.wait_for(1)
    assert got.headers["host"] == f"hook.invalid:{receiver.port}"
    assert got.path == "/hook"


async def test_the_path_and_query_are_kept(sender: HttpxWebhookSender) -> None:
    async with webhook_receiver(path="/in/hooks%20a") as receiver:
        url = receiver.url_for("hook.invalid") + "?token=abc&x=%2F"
        target = VettedUrl(url, "hook.invalid", receiver.port, (IPv4Address(HOST),))
        assert await sender.post(signed(target)) == 204
        (got,) = await receiver.wait_for(1)
    assert got.path == "/in/hooks%20a?token=abc&x=%2F"


def test_the_request_goes_to_the_address_with_the_name_in_host_and_sni() -> None:
    """How the URL is rewritten (IPv6 in brackets, the default port left out of Host),
    without a network: no IPv6 receiver is needed."""
    target = VettedUrl(
        "https://Hooks.Example/in?a=1", "hooks.example", 443, (IPv6Address("2606:4700::1111"),)
    )
    request = WebhookRequest(target, {"webhook-id": EVENT_ID, "host": "forged"}, b"{}")
    sender = HttpxWebhookSender()
    outgoing = _addressed(sender._http(), request)
    assert str(outgoing.url) == "https://[2606:4700::1111]/in?a=1"
    assert outgoing.headers.get_list("host") == ["hooks.example"]
    assert outgoing.extensions["sni_hostname"] == "hooks.example"
    plain = VettedUrl("http://hooks.example:8080/", "hooks.example", 8080, (IPv4Address(HOST),))
    outgoing = _addressed(sender._http(), WebhookRequest(plain, {}, b"{}"))
    assert str(outgoing.url) == "http://127.0.0.1:8080/"
    assert outgoing.headers["host"] == "hooks.example:8080"
    assert "sni_hostname" not in outgoing.extensions


async def test_a_huge_answer_is_not_read_whole(sender: HttpxWebhookSender) -> None:
    huge = 512 * 1024 * 1024
    async with webhook_receiver() as receiver:
        receiver.respond(200, filler=huge)
        started = time.monotonic()
        assert await sender.post(signed(receiver.vetted())) == 200
        assert time.monotonic() - started < 5
        await asyncio.sleep(0.2)  # the receiver notices the client hung up
        (got,) = await receiver.wait_for(1)
    # At most the 64 KiB read, plus what the sockets' buffers held, ever left the receiver.
    assert MAX_RESPONSE_BYTES <= got.answer_bytes_sent < 64 * 1024 * 1024


async def test_the_client_is_created_lazily_and_again_after_aclose() -> None:
    sender = HttpxWebhookSender()
    await sender.aclose()  # nothing to close yet
    async with webhook_receiver() as receiver:
        assert await sender.post(signed(receiver.vetted())) == 204
        await sender.aclose()
        assert await sender.post(signed(receiver.vetted())) == 204
        await sender.aclose()
        assert len(await receiver.wait_for(2)) == 2


# https: the certificate is checked against the name, not the address connected to.


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


def trusting(ca: trustme.CA) -> HttpxWebhookSender:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return HttpxWebhookSender(verify=context)


async def test_https_sends_the_name_in_sni_and_checks_the_certificate_against_it(
    ca: trustme.CA,
) -> None:
    sender = trusting(ca)
    try:
        async with webhook_receiver(ssl_context=server_context(ca, "hook.invalid")) as receiver:
            target = receiver.vetted("hook.invalid")
            assert target.url.startswith("https://hook.invalid:")
            assert await sender.post(signed(target)) == 204
            (got,) = await receiver.wait_for(1)
            assert receiver.sni_names == ["hook.invalid"]
            assert got.headers["host"] == f"hook.invalid:{receiver.port}"
            assert Webhook(SECRET).verify(got.body, got.headers)
    finally:
        await sender.aclose()


@pytest.mark.parametrize("certified", ["other.invalid", HOST])
async def test_a_certificate_for_another_name_is_refused(ca: trustme.CA, certified: str) -> None:
    """Even one for the address connected to: the name is what is checked."""
    sender = trusting(ca)
    try:
        async with webhook_receiver(ssl_context=server_context(ca, certified)) as receiver:
            with pytest.raises(DeliveryFailed, match=r"^TLS certificate rejected: .*mismatch"):
                await sender.post(signed(receiver.vetted("hook.invalid")))
            assert receiver.requests == []
            assert receiver.sni_names == ["hook.invalid"]
    finally:
        await sender.aclose()


async def test_a_certificate_from_an_unknown_ca_is_refused(
    sender: HttpxWebhookSender, ca: trustme.CA
) -> None:
    async with webhook_receiver(ssl_context=server_context(ca, "hook.invalid")) as receiver:
        with pytest.raises(DeliveryFailed, match=r"^TLS certificate rejected: .*issuer"):
            await sender.post(signed(receiver.vetted("hook.invalid")))
        assert receiver.requests == []


async def test_no_tls_connection_is_reused_for_another_name(ca: trustme.CA) -> None:
    """httpcore pools by address: a kept-alive connection made for one name would carry the
    next name's request past its own SNI and certificate check."""
    sender = trusting(ca)
    context = server_context(ca, "a.invalid", "b.invalid")
    try:
        async with webhook_receiver(ssl_context=context) as receiver:
            assert await sender.post(signed(receiver.vetted("a.invalid"))) == 204
            assert await sender.post(signed(receiver.vetted("b.invalid"))) == 204
            assert await sender.post(signed(receiver.vetted("a.invalid"))) == 204
            got = await receiver.wait_for(3)
        assert receiver.sni_names == ["a.invalid", "b.invalid", "a.invalid"]
        assert [r.headers["host"].split(":")[0] for r in got] == [
            "a.invalid",
            "b.invalid",
            "a.invalid",
        ]
    finally:
        await sender.aclose()
