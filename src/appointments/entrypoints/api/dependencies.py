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
from appointments.domain.users import Role

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)


async def current_actor(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Actor:
    if not token:
        raise NotAuthenticated()
    authenticate = request.app.state.container.authenticate()
    actor: Actor = await authenticate(token)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def use(name: str) -> Callable[..., Any]:
    """A dependency that builds the container's provider `name` for this request.

    Every dependency here is `async def`: FastAPI runs plain `def` dependencies in a worker
    thread, a thread hop per request for nothing.

    A use-case that declares `roles` (function-level authorization) is refused with 403
    here, before FastAPI validates the request body: a role that may never use an
    endpoint learns nothing from validation errors. The use-case checks again itself.
    """
    provider = Container.providers.get(name)
    if provider is None:
        raise LookupError(f"the container has no provider named {name!r}")
    roles: frozenset[Role] | None = getattr(getattr(provider, "cls", None), "roles", None)

    if roles is None:

        async def build(request: Request) -> Any:
            return getattr(request.app.state.container, name)()

        build.__name__ = f"use_{name}"
        return build

    async def build_for_role(request: Request, actor: CurrentActor) -> Any:
        actor.require(*roles)
        return getattr(request.app.state.container, name)()

    build_for_role.__name__ = f"use_{name}"
    return build_for_role


async def page_request(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> PageRequest:
    return PageRequest(limit=limit, offset=offset)


Pagination = Annotated[PageRequest, Depends(page_request)]
