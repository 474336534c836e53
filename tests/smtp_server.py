"""A real SMTP server for tests (aiosmtpd in a thread, on 127.0.0.1 and a free port).

It keeps what it receives (the parsed message, envelope sender and recipients, whether
the session was encrypted and who logged in), and can require AUTH, offer STARTTLS (and
insist on it) or speak TLS from the first byte with a throwaway trustme CA, and refuse
recipients the way a real server does (its reply quotes the address, so a test can prove
the client keeps it out of its errors).

    with smtp_server(tls="starttls", username="mailer", password="s3cret") as server:
        mailer = SmtpMailer(server.url("mailer", "s3cret"), "clinic@clinic.example",
                            tls_context=server.client_tls_context)
        await mailer.send(message)
        [received] = await server.wait_for(1)

A plain module, not a conftest: import `smtp_server` and wrap it in a fixture if wanted.
"""

from __future__ import annotations

import asyncio
import email.message
import email.policy
import functools
import socket
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from typing import Any, Literal
from urllib.parse import quote

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
SERVER_NAME = "smtp.test"  # given, so aiosmtpd does not ask the resolver (getfqdn)
READY_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0
IDLE_TIMEOUT = 30.0  # seconds aiosmtpd waits for a silent client before hanging up
Tls = Literal["none", "starttls", "implicit"]


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: email.message.EmailMessage
    tls: bool
    username: str | None

    def part(self, content_type: str) -> str:
        """The decoded body part of that type ('text/plain', 'text/html'), with the wire's
        CRLF line ends turned back into '\\n'."""
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                content = str(part.get_content())  # type: ignore[attr-defined]
                return content.replace("\r\n", "\n")
        raise AssertionError(f"no {content_type} part in {self.message.get_content_type()}")


@dataclass
class SmtpServer:
    """A running server. `refused` (lower-case addresses) and `refuse_all` may be changed
    while it runs; a refused RCPT gets `refuse_code`."""

    host: str
    port: int
    tls: Tls
    client_tls_context: ssl.SSLContext | None
    username: str | None = None
    password: str | None = None
    refused: set[str] = field(default_factory=set)
    refuse_all: bool = False
    refuse_code: int = 550
    received: list[Received] = field(default_factory=list)

    def url(self, username: str | None = None, password: str | None = None) -> str:
        """An SMTP_URL for this server, the credentials percent-encoded."""
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        user = ""
        if username is not None:
            user = quote(username, safe="")
            if password is not None:
                user += ":" + quote(password, safe="")
            user += "@"
        return f"{scheme}://{user}{self.host}:{self.port}"

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The first `count` messages, once that many have arrived (TimeoutError after
        `timeout` seconds). Async, so a sender on the test's loop keeps running."""
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                await asyncio.sleep(0.01)
        return self.received[:count]


@functools.cache
def _ca() -> trustme.CA:
    return trustme.CA()


def _server_tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    _ca().issue_cert(HOST, "localhost").configure_cert(context)
    return context


def client_tls_context() -> ssl.SSLContext:
    """A client context that trusts the test CA (and verifies host names as usual)."""
    context = ssl.create_default_context()
    _ca().configure_trust(context)
    return context


class _Handler:
    """aiosmtpd hooks: AUTH before MAIL when required, refusals, and the capture."""

    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_MAIL(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._server.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        server = self._server
        if server.refuse_all or address.lower() in server.refused:
            return f"{server.refuse_code} 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = BytesParser(policy=email.policy.default).parsebytes(content)
        assert isinstance(parsed, email.message.EmailMessage)
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        assert smtp.transport is not None
        self._server.received.append(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=parsed,
                tls=smtp.transport.get_extra_info("ssl_object") is not None,
                username=login.decode() if login is not None else None,
            )
        )
        return "250 2.0.0 Message accepted"


def _authenticator(server: SmtpServer) -> Any:
    def check(
        smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        expected = LoginPassword((server.username or "").encode(), (server.password or "").encode())
        ok = isinstance(data, LoginPassword) and tuple(data) == tuple(expected)
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    return check


class _BoundController(Controller):
    """A Controller serving on a socket bound before it starts. aiosmtpd's own binds
    `port` itself and then connects to that same number to check it is up, so port 0
    (any free port) would not work, and picking one first and binding later races."""

    def __init__(self, handler: object, sock: socket.socket, **kwargs: Any) -> None:
        self._sock = sock
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)

    def stop(self, no_assert: bool = False) -> None:
        """Like Controller.stop, but the join is bounded."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.cancel_tasks)
        thread = self._thread
        if thread is not None:
            thread.join(STOP_TIMEOUT)
            if thread.is_alive():
                raise TimeoutError(f"the SMTP server did not stop within {STOP_TIMEOUT}s")
            self._thread = None
        if not self.loop.is_closed():  # it ended early (start failed)
            self.loop.close()
        self._cleanup()


@contextmanager
def smtp_server(
    *,
    tls: Tls = "none",
    username: str | None = None,
    password: str | None = None,
    refuse: Iterable[str] = (),
    refuse_all: bool = False,
    refuse_code: int = 550,
) -> Iterator[SmtpServer]:
    """A running server for the duration of the block. With `username`, MAIL needs a
    successful AUTH with that user and `password`. `tls="starttls"` offers STARTTLS and
    refuses everything before it; `tls="implicit"` is TLS from the first byte."""
    server_context = None if tls == "none" else _server_tls_context()
    server = SmtpServer(
        host=HOST,
        port=0,
        tls=tls,
        client_tls_context=None if tls == "none" else client_tls_context(),
        username=username,
        password=password,
        refused={a.lower() for a in refuse},
        refuse_all=refuse_all,
        refuse_code=refuse_code,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        sock.listen()
        server.port = sock.getsockname()[1]
        controller = _BoundController(
            _Handler(server),
            sock,
            ready_timeout=READY_TIMEOUT,
            server_hostname=SERVER_NAME,
            timeout=IDLE_TIMEOUT,
            ssl_context=server_context if tls == "implicit" else None,
            tls_context=server_context if tls == "starttls" else None,
            require_starttls=tls == "starttls",
            # aiosmtpd only counts STARTTLS as encryption, not implicit TLS; plain AUTH
            # is allowed so a test can exercise credentials without TLS too.
            auth_require_tls=tls == "starttls",
            authenticator=_authenticator(server),
        )
        try:
            controller.start()
            yield server
        finally:
            controller.stop(no_assert=True)
    finally:
        sock.close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])
