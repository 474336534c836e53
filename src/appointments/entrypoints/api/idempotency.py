"""`Idempotency-Key` at the HTTP edge (API.md): a repeat of a finished request is answered
from the key store and runs nothing. The rules live in application/idempotency.py; this
middleware finds the key and the caller, buffers the body (bounded: BodySizeLimit sits
outside it) and captures the response.

The response is stored before its last byte is passed on: once a client has seen an
answer, a retry replays that answer instead of finding the key still in use.
"""

from __future__ import annotations

import logging

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appointments.adapters.sqlalchemy.errors import translate
from appointments.application.errors import InvalidIdempotencyKey, NotAuthenticated
from appointments.application.idempotency import (
    KeyedRequest,
    check_key,
    fingerprint,
    scope_of,
)
from appointments.application.ports.repositories import StoredResponse
from appointments.container import Container
from appointments.domain.errors import CodedError
from appointments.entrypoints.api.errors import error_response

log = logging.getLogger("appointments.api")

METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Logging in and out and changing a password are never replayed: a replayed login would
# hand out a token again, a replayed logout would answer for a token it did not revoke.
EXEMPT = frozenset(
    {"/api/auth/login", "/api/auth/login/json", "/api/auth/logout", "/api/auth/password"}
)
HEADER = b"idempotency-key"
# What a replay repeats besides status and body: the headers that describe the content.
KEPT_HEADERS = frozenset(
    {"content-type", "content-language", "location", "www-authenticate", "allow", "etag"}
)
REPLAYED = (b"idempotent-replayed", b"true")
NO_BODY_STATUSES = frozenset({204, 304})
# Bounds the shielded clean-up of a cancelled request.
FINISH_TIMEOUT_SECONDS = 5


def covered(scope: Scope) -> bool:
    """A changing request under /api that may carry a key."""
    path: str = scope["path"]
    return (
        scope["method"] in METHODS
        and (path == "/api" or path.startswith("/api/"))
        and path not in EXEMPT
    )


class Idempotency:
    """Finds the container where the routes do (app.state), so an app can be handed
    another one, as the tests do."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not covered(scope):
            await self.app(scope, receive, send)
            return
        container: Container = scope["app"].state.container
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        keys = [value for name, value in headers if name == HEADER]
        caller = _caller(container, headers) if keys else None
        if caller is None:  # no key, or a token that does not verify: the route decides
            await self.app(scope, receive, send)
            return
        try:
            if len(keys) > 1:
                raise InvalidIdempotencyKey("Send one Idempotency-Key, not several.")
            key = check_key(keys[0].decode("latin-1"))
        except CodedError as error:
            await error_response(error)(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before sending it all: nothing to run
        request = KeyedRequest(
            caller, key, fingerprint(scope["method"], scope["path"], scope["query_string"], body)
        )
        try:
            stored = await container.claim_idempotency_key()(request)
        except Exception as error:
            coded = error if isinstance(error, CodedError) else translate(error)
            if not isinstance(coded, CodedError):
                raise
            await error_response(coded)(scope, receive, send)
            return
        if stored is not None:
            await _replay(stored, send)
            return
        await self._run(container, request, body, scope, receive, send)
        await _purge(container)

    async def _run(
        self,
        container: Container,
        request: KeyedRequest,
        body: bytes,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Run the request on the buffered body; store its response, or release the key
        if it fails (a 5xx, an error, no complete response)."""
        delivered = finished = False
        status: int | None = None
        kept: list[tuple[str, str]] = []
        parts: list[bytes] = []

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # only a disconnect is left to hear
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            nonlocal status, kept, finished
            if message["type"] == "http.response.start":
                status = int(message["status"])
                kept = [
                    (n.decode("latin-1").lower(), v.decode("latin-1"))
                    for n, v in message.get("headers", [])
                    if n.decode("latin-1").lower() in KEPT_HEADERS
                ]
            elif message["type"] == "http.response.body" and status is not None:
                parts.append(message.get("body", b""))
                if not message.get("more_body", False) and not finished:
                    finished = True
                    await _finish(container, request, StoredResponse(status, kept, b"".join(parts)))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            if not finished:
                await _finish(container, request, None)


def _caller(container: Container, headers: list[tuple[bytes, bytes]]) -> str | None:
    """The key's scope: the user of a bearer token that verifies (signature and
    expiry only, no database), anonymous without one; None for a token that does
    not verify."""
    given = next((value for name, value in headers if name == b"authorization"), None)
    if given is None:
        return scope_of(None)
    scheme, _, token = given.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        return scope_of(container.tokens().decode(token.strip()).user_id)
    except NotAuthenticated:
        return None


async def _finish(
    container: Container, request: KeyedRequest, response: StoredResponse | None
) -> None:
    """Shielded: a request cancelled (client gone, shutdown) still frees its key."""
    with anyio.move_on_after(FINISH_TIMEOUT_SECONDS, shield=True):
        try:
            await container.finish_idempotency_key()(request, response)
        except Exception:
            # The claim stays "running" until its lease runs out: repeats get 409
            # until then, and none runs twice in the meantime.
            log.warning("could not finish the idempotency key of %s", request.scope)


async def _purge(container: Container) -> None:
    """Expired keys go at most once a minute per process, after the answer is out."""
    try:
        await container.purge_idempotency_keys()()
    except Exception:
        log.warning("could not purge expired idempotency keys", exc_info=True)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body (BodySizeLimit's receive refuses an oversized one), or None when
    the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _replay(stored: StoredResponse, send: Send) -> None:
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in stored.headers]
    if stored.status_code not in NO_BODY_STATUSES:
        headers.append((b"content-length", str(len(stored.body)).encode()))
    headers.append(REPLAYED)
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
