"""FastAPI dependencies: use-cases from the container, the current actor, pagination.

Use-cases are resolved from the container stored on `app.state` rather than through
dependency-injector's module wiring: an unwired module would silently receive the
`Provide` marker object instead of a use-case, and wiring is process-global, so two apps
(say SQLite and PostgreSQL in one test run) could not coexist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer

from appointments.application.actor import Actor
from appointments.application.errors import NotAuthenticated
from appointments.application.ports import PageRequest
from appointments.container import Container

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)


def use(name: str) -> Callable[[Request], Any]:
    """A dependency that builds the container's provider `name` for this request."""
    if name not in Container.providers:
        raise LookupError(f"the container has no provider named {name!r}")

    def dependency(request: Request) -> Any:
        return getattr(request.app.state.container, name)()

    dependency.__name__ = f"use_{name}"
    return dependency


async def current_actor(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Actor:
    if not token:
        raise NotAuthenticated()
    authenticate = request.app.state.container.authenticate()
    actor: Actor = await authenticate(token)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def page_request(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PageRequest:
    return PageRequest(limit=limit, offset=offset)


Pagination = Annotated[PageRequest, Depends(page_request)]
