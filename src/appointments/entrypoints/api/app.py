"""The application factory: `uvicorn --factory appointments.entrypoints.api.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from appointments.container import Container
from appointments.entrypoints.api import errors
from appointments.entrypoints.api.limits import BodySizeLimit
from appointments.entrypoints.api.routers import (
    admin,
    appointments,
    auth,
    departments,
    doctors,
    health,
    patients,
    policy,
    rooms,
    services,
)

# Starlette tries routes in order and stops at the first full match: the routers clients
# call most come first (booking and calendars), the rarely used ones last.
ROUTERS = (
    appointments,
    doctors,
    patients,
    departments,
    services,
    rooms,
    policy,
    auth,
    admin,
    health,
)


def create_app(container: Container | None = None) -> FastAPI:
    container = container or Container()
    settings = container.settings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await container.engine().dispose()  # close pooled connections on shutdown

    app = FastAPI(
        title="Appointments",
        version="0.1.0",
        summary="Clinic appointments: patients, doctors, departments, schedules and bookings.",
        lifespan=lifespan,
    )
    app.state.container = container
    for module in ROUTERS:
        app.include_router(module.router)
    errors.install(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            # Browser apps must be able to read these on 401 and 429 answers.
            expose_headers=["Retry-After", "WWW-Authenticate"],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    return app
