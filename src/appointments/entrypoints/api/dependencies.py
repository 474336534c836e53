"""FastAPI dependencies: use-cases from the container, the current actor, pagination.

Use-cases are resolved from the container stored on `app.state` rather than through
dependency-injector's module wiring: an unwired module would silently receive the
`Provide` marker object instead of a use-case, and wiring is process-global, so two apps
(say SQLite and PostgreSQL in one test run) could not coexist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from dependency_injector import providers
from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer

from appointments.application.access import Actor, Restricted
from appointments.application.errors import NotAuthenticated
from appointments.application.ports.queries import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest
from appointments.container import Container
from appointments.domain.text import SEARCH_TERM
from appointments.entrypoints.api.observe import note_user

# Attributes of the dependencies `use` builds, read by the OpenAPI document (openapi.py):
# the route runs a use-case (so it uses the database), restricted to these roles.
USE_CASE = "use_case"
RESTRICTED_TO = "restricted_to"

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)


async def current_actor(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Actor:
    if not token:
        raise NotAuthenticated()
    container: Container = request.app.state.container
    actor: Actor = await container.authenticate()(token)
    note_user(actor.user_id)  # for the access line: known here, no query for it
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]

# The container's providers by identity, so routers name them by reference
# (`use(Container.book_appointment)`): a typo fails at import, not at request time.
_NAMES: dict[int, str] = {id(p): name for name, p in Container.providers.items()}


def use(provider: providers.Provider[Any]) -> Callable[..., Awaitable[Any]]:
    """A dependency that builds `provider` from the request's container.

    Every dependency here is `async def`: FastAPI runs plain `def` dependencies in a worker
    thread, a thread hop per request for nothing.

    A Restricted use-case (function-level authorization) refuses a forbidden role with
    403 here, before FastAPI validates the request body: a role that may never use an
    endpoint learns nothing from validation errors. The use-case checks again itself.
    """
    name = _NAMES.get(id(provider))
    if name is None:
        raise LookupError(f"{provider!r} is not a provider of the Container class")
    cls = provider.cls if isinstance(provider, providers.Factory) else None

    if not (isinstance(cls, type) and issubclass(cls, Restricted)):

        async def build(request: Request) -> Any:
            return request.app.state.container.providers[name]()

        build.__name__ = f"use_{name}"
        setattr(build, USE_CASE, name)
        return build

    roles = cls.roles

    async def build_for_role(request: Request, actor: CurrentActor) -> Any:
        actor.require(roles)
        return request.app.state.container.providers[name]()

    build_for_role.__name__ = f"use_{name}"
    setattr(build_for_role, USE_CASE, name)
    setattr(build_for_role, RESTRICTED_TO, frozenset(roles))
    return build_for_role


async def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> PageRequest:
    return PageRequest(limit=limit, offset=offset)


Pagination = Annotated[PageRequest, Depends(page_request)]
# `q` in lists: free text, no NUL (PostgreSQL text cannot hold it).
SearchQuery = Annotated[str | None, Query(max_length=SEARCH_TERM.max, pattern=r"^[^\x00]*$")]
