"""A real HTTP/1.1 server on 127.0.0.1 that records webhook deliveries and answers each
one as the test scripted it: for the sender's adapter tests and end-to-end dispatcher
tests. A plain module, not a fixture, so any test can open as many as it needs:

    async with webhook_receiver() as receiver:
        receiver.respond(500)                 # the 1st request gets a 500,
        receiver.respond(200, delay=0.2)      # the 2nd a 200 after 0.2 s,
        receiver.redirect("http://x.test/")   # the 3rd a 302; the rest the default 204
        ...  # point a webhook endpoint at receiver.url (or receiver.vetted())
        first, second = await receiver.wait_for(2, timeout=5)
        assert first.headers["webhook-id"] == second.headers["webhook-id"]

A request is recorded (and `wait_for` sees it) as soon as its body has arrived, before
its scripted delay. Every wait is bounded; leaving the block closes the server and every
open connection. Pass `ssl_context` (a server context, e.g. from `trustme`) for https;
the names clients asked for in TLS SNI are then recorded in `receiver.sni_names`.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from ipaddress import IPv4Address
from typing import Any

from appointments.application.ports.services import VettedUrl

HOST = "127.0.0.1"
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
IDLE_SECONDS = 30.0  # a kept-alive connection with no next request is closed after this
CHUNK = 64 * 1024
NO_BODY_STATUSES = frozenset({204, 304})


@dataclass
class Received:
    """One request as it arrived. `headers` has lower-case names (repeats joined by ", ")."""

    method: str
    path: str  # the request target: path and query, as sent
    headers: dict[str, str]
    body: bytes
    received_at: datetime  # wall clock, UTC
    monotonic: float  # time.monotonic() at arrival: for measuring gaps between retries
    answer_bytes_sent: int = 0  # body bytes of the answer written before the client left

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    """What one request gets: `status` after `delay` seconds, with `headers` and `body`,
    then `filler` more body bytes (a huge answer, streamed while the client reads)."""

    status: int = 204
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    filler: int = 0


class BadRequest(Exception):
    """The request could not be parsed: the connection is dropped."""


class WebhookReceiver:
    def __init__(self, *, path: str, scheme: str) -> None:
        self.host, self.port, self.path, self.scheme = HOST, 0, path, scheme
        self.requests: list[Received] = []
        self.sni_names: list[str | None] = []
        self.default = Answer()  # for every request no scripted answer is left for
        self._answers: deque[Answer] = deque()
        self._arrived = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return self.url_for(self.host)

    def url_for(self, host: str) -> str:
        """This receiver's URL under another host name (e.g. `hook.invalid`)."""
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    def vetted(self, host: str = HOST) -> VettedUrl:
        """A VettedUrl for `url_for(host)` whose only address is this receiver's."""
        return VettedUrl(
            url=self.url_for(host), host=host, port=self.port, addresses=(IPv4Address(HOST),)
        )

    def respond(
        self,
        status: int = 204,
        *,
        delay: float = 0.0,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        filler: int = 0,
    ) -> None:
        """Queue the answer to the next request not yet scripted for (first in, first out)."""
        self._answers.append(Answer(status, delay, dict(headers or {}), body, filler))

    def redirect(self, location: str, status: int = 302) -> None:
        self.respond(status, headers={"location": location})

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The first `count` requests, once they have arrived; AssertionError after
        `timeout` seconds if they have not."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.requests) < count:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise AssertionError(
                f"expected {count} requests within {timeout} s, got {len(self.requests)}"
            ) from None
        return self.requests[:count]

    # The server side.

    def _record_sni(self, _: ssl.SSLObject, name: str | None, __: ssl.SSLContext) -> None:
        self.sni_names.append(name)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while (request := await _read_request(reader)) is not None:
                answer = self._answers.popleft() if self._answers else self.default
                self.requests.append(request)
                self._arrived.set()
                if answer.delay:
                    await asyncio.sleep(answer.delay)
                closing = request.headers.get("connection", "").lower() == "close"
                await _write_answer(writer, answer, request, closing=closing)
                if closing:
                    break
        except (BadRequest, ValueError, EOFError, asyncio.LimitOverrunError, OSError):
            pass  # the client left, timed out or sent garbage: drop the connection
        finally:
            self._tasks.discard(task)
            writer.close()
            with suppress(Exception):
                async with asyncio.timeout(1):
                    await writer.wait_closed()

    async def _close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    """The next request on the connection, None if the client closed it in between."""
    try:
        async with asyncio.timeout(IDLE_SECONDS):
            head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if error.partial.strip():
            raise BadRequest("the request head was cut short") from error
        return None
    except asyncio.LimitOverrunError as error:
        raise BadRequest("the request head is too long") from error
    arrived, monotonic = datetime.now(UTC), time.monotonic()
    line, *lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = line.split(" ")
    except ValueError as error:
        raise BadRequest(f"bad request line {line!r}") from error
    headers: dict[str, str] = {}
    for header in filter(None, lines):
        name, sep, value = header.partition(":")
        if not sep:
            raise BadRequest(f"bad header line {header!r}")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    async with asyncio.timeout(IDLE_SECONDS):
        body = await _read_body(reader, headers)
    return Received(method, target, headers, body, arrived, monotonic)


async def _read_body(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            if size > MAX_BODY_BYTES:
                raise BadRequest("the body is too long")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        while await reader.readuntil(b"\r\n") != b"\r\n":
            pass  # trailers
        return b"".join(chunks)
    length = int(headers.get("content-length", "0"))
    if not 0 <= length <= MAX_BODY_BYTES:
        raise BadRequest("bad content-length")
    return await reader.readexactly(length)


async def _write_answer(
    writer: asyncio.StreamWriter, answer: Answer, request: Received, *, closing: bool
) -> None:
    try:
        reason = HTTPStatus(answer.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {answer.status} {reason}"]
    lines += [f"{name}: {value}" for name, value in answer.headers.items()]
    has_body = answer.status not in NO_BODY_STATUSES
    if has_body:
        lines.append(f"content-length: {len(answer.body) + answer.filler}")
    if closing:
        lines.append("connection: close")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    if has_body:
        writer.write(answer.body)
        request.answer_bytes_sent = len(answer.body)
    await writer.drain()
    left, block = (answer.filler if has_body else 0), b"x" * CHUNK
    while left > 0:
        writer.write(block[: min(left, CHUNK)])
        await writer.drain()  # waits while the client is not reading: that is the point
        sent = min(left, CHUNK)
        request.answer_bytes_sent += sent
        left -= sent


@asynccontextmanager
async def webhook_receiver(
    *, path: str = "/hook", ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[WebhookReceiver]:
    """A receiver listening on 127.0.0.1 (a free port) until the block ends."""
    receiver = WebhookReceiver(path=path, scheme="http" if ssl_context is None else "https")
    if ssl_context is not None and ssl_context.sni_callback is None:
        ssl_context.sni_callback = receiver._record_sni
    server = await asyncio.start_server(
        receiver._serve, HOST, 0, ssl=ssl_context, limit=MAX_HEAD_BYTES
    )
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        await receiver._close()
        with suppress(TimeoutError):
            async with asyncio.timeout(5):
                await server.wait_closed()
