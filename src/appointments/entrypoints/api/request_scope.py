"""One database connection per request (adapters.sqlalchemy.database): authentication
hands its connection to the use-case instead of each checking out its own."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from appointments.adapters.sqlalchemy.database import one_connection_per_request


class OneConnectionPerRequest:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with one_connection_per_request():
            await self.app(scope, receive, send)
