"""One access log line and the request metrics for every HTTP request.

The route is the matched path template (`/api/appointments/{appointment_id}`), never the
raw path in metrics; a path no route matches is counted as UNMATCHED. The access line
keeps the path but never its query string (a patient search holds a name there).
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appointments.entrypoints.api.metrics import UNMATCHED, observe_request

log = logging.getLogger("appointments.access")


@dataclass(slots=True)
class _Access:
    user_id: UUID | None = None


# A mutable holder: authentication may run in a copied context, the holder is shared.
_ACCESS: ContextVar[_Access | None] = ContextVar("access", default=None)


def note_user(user_id: UUID) -> None:
    """Authentication tells who the request is from (for the access line)."""
    access = _ACCESS.get()
    if access is not None:
        access.user_id = user_id


def route_template(scope: Scope) -> str:
    """The template of the route that answered, or that would have (an idempotent
    replay is answered before routing)."""
    route = scope.get("route")
    if isinstance(route, BaseRoute):
        return str(getattr(route, "path", UNMATCHED))
    app = scope.get("app")
    partial = None
    for candidate in getattr(app, "routes", ()):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return str(getattr(candidate, "path", UNMATCHED))
        if match is Match.PARTIAL and partial is None:
            partial = str(getattr(candidate, "path", UNMATCHED))
    return partial or UNMATCHED


# A path parameter that is a credential: such paths are logged as their template.
CREDENTIAL_IN_PATH = "{token}"


class Observe:
    def __init__(self, app: ASGIApp, *, metrics: bool) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        access = _Access()
        token = _ACCESS.set(access)
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            _ACCESS.reset(token)
            seconds = time.perf_counter() - started
            self._record(scope, status, seconds, access.user_id)

    def _record(self, scope: Scope, status: int, seconds: float, user_id: UUID | None) -> None:
        method, path, route = scope["method"], scope["path"], route_template(scope)
        if CREDENTIAL_IN_PATH in route:
            path = route  # a calendar feed's URL is its credential: never in a log line
        if self.metrics:
            observe_request(route, method, status, seconds)
        client = scope.get("client")
        duration_ms = round(seconds * 1000, 1)
        log.info(
            "%s %s route=%s %d %.1fms user_id=%s",
            method,
            path,
            route,
            status,
            duration_ms,
            user_id or "-",
            extra={
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": duration_ms,
                "user_id": str(user_id) if user_id else None,
                "client_addr": f"{client[0]}:{client[1]}" if client else None,
            },
        )
