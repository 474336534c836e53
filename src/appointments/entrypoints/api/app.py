"""The application factory: `uvicorn --factory appointments.entrypoints.api.app:create_app`."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp

from appointments.container import Container
from appointments.entrypoints.api import errors, metrics, openapi
from appointments.entrypoints.api.docs import offline_docs
from appointments.entrypoints.api.idempotency import Idempotency
from appointments.entrypoints.api.limits import BodySizeLimit
from appointments.entrypoints.api.observe import Observe
from appointments.entrypoints.api.request_id import RequestId
from appointments.entrypoints.api.request_scope import OneConnectionPerRequest
from appointments.entrypoints.api.routers import (
    admin,
    appointments,
    auth,
    calendar_feeds,
    departments,
    doctors,
    fhir,
    health,
    holds,
    patients,
    policy,
    rooms,
    series,
    services,
    waitlist,
    webhooks,
)
from appointments.entrypoints.api.tags import TAGS
from appointments.entrypoints.dispatching import dispatching

# Starlette tries routes in order and stops at the first full match: the routers clients
# call most come first (booking and calendars), the rarely used ones last.
ROUTERS = (
    series,  # before appointments: /api/appointments/series is not an appointment id
    appointments,
    doctors,
    holds,
    waitlist,
    patients,
    departments,
    services,
    rooms,
    policy,
    auth,
    calendar_feeds,
    fhir,
    webhooks,  # /api/admin/webhooks: no admin route shares its paths
    admin,
    health,
)


def operation_id(route: APIRoute) -> str:
    """camelCase of the endpoint function's name (`book_appointment` -> `bookAppointment`):
    what generated clients name their methods, stable as long as the function keeps its
    name (a test holds them unique)."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(container: Container | None = None) -> FastAPI:
    container = container or Container()
    settings = container.settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        serving: Container = app.state.container  # where the routes find it too
        async with contextlib.AsyncExitStack() as stack:
            if serving.settings().dispatcher == "inline":
                await stack.enter_async_context(dispatching(serving))
            yield
        await serving.engine().dispose()  # close pooled connections on shutdown
        metrics.process_stopped()

    app = FastAPI(
        title="Appointments",
        version="0.1.0",
        summary="Clinic appointments: patients, doctors, departments, schedules and bookings.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        openapi_tags=TAGS,
        docs_url=None,  # served by offline_docs, from local files
        redoc_url=None,
        # FastAPI's OpenTelemetry bridge is off: this service reports through /metrics and
        # its access log, and the bridge's per-request check whether a provider is
        # configured (an os.environ lookup) was 6 % of a small request's time.
        telemetry=NO_TELEMETRY,
    )
    app.state.container = container
    for module in ROUTERS:
        app.include_router(module.router)
    app.include_router(calendar_feeds.feed_router)
    offline_docs(app, docs_url="/docs", redoc_url="/redoc")
    if settings.metrics_enabled:
        metrics.install(app, container.engine(), settings.db_pool_size, settings.metrics_allow_from)
    errors.install(app)
    openapi.install(app)  # after every route: it reads them all
    # Added first, so innermost: the body it buffers is already bounded by BodySizeLimit,
    # and CORS and request ids decorate its replays like any other answer.
    app.add_middleware(Idempotency)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            # Browser apps must be able to read these (Retry-After on 429, and so on).
            expose_headers=[
                "Retry-After",
                "WWW-Authenticate",
                "X-Request-ID",
                "Idempotent-Replayed",
            ],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(OneConnectionPerRequest)
    # The access line and request metrics see every answer (500s too), within the id.
    _outermost(app, functools.partial(Observe, metrics=settings.metrics_enabled))
    _outermost(app, RequestId)
    return app


def _outermost(app: FastAPI, middleware: Callable[[ASGIApp], ASGIApp]) -> None:
    """Wrap even Starlette's own error middleware, which sits outside every added one:
    its 500s (and the 503s of a lost database, answered there) carry a request id too,
    and the error it logs is logged within the request."""
    build = app.build_middleware_stack

    def build_wrapped() -> ASGIApp:
        return middleware(build())

    app.build_middleware_stack = build_wrapped  # type: ignore[method-assign]
