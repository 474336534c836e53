"""Request ids (API.md): a sane `X-Request-ID` is kept, anything else replaced by a new
one; every response carries it, and while the request runs it is the REQUEST_ID that
audit records and log lines carry."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appointments.application.events import REQUEST_ID

HEADER = "X-Request-ID"
SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")


def request_id_from(given: bytes | None) -> str:
    """The client's id if it is one we may echo and log, else a fresh one."""
    if given is not None:
        text = given.decode("latin-1")
        if SANE.fullmatch(text):
            return text
    return uuid.uuid4().hex


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(dict(scope["headers"]).get(b"x-request-id"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
