"""Fixtures for the OWASP API Top 10 module: PostgreSQL only, every response recorded.

`database_url` is overridden so every fixture of tests/conftest.py (engine, container,
app, client) runs on PostgreSQL only; the database name comes from
TEST_POSTGRES_DATABASE like everywhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.container import Container
from appointments.entrypoints.api.app import create_app
from tests.api.support import ApiClinic, make_container


@dataclass(frozen=True)
class Recorded:
    """One response seen during the module, kept for the final leak scan."""

    method: str
    url: str
    status: int
    headers: str
    body: str


@pytest.fixture(scope="session")
def database_url(postgres_url: str) -> str:
    """PostgreSQL only: these checks are about the production database."""
    return postgres_url


@pytest.fixture(scope="session")
def recorded() -> list[Recorded]:
    """Every response any client of this module received (scanned at the end)."""
    return []


def _recording(recorded: list[Recorded]) -> Callable[[httpx.Response], Any]:
    async def record(response: httpx.Response) -> None:
        body = (await response.aread()).decode(errors="replace")
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        recorded.append(
            Recorded(
                response.request.method,
                str(response.request.url),
                response.status_code,
                headers,
                body,
            )
        )

    return record


@pytest.fixture
def open_client(
    recorded: list[Recorded],
) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """`async with open_client(app) as client:` a recording client for any app."""

    @asynccontextmanager
    async def open_(
        app: FastAPI, *, raise_app_exceptions: bool = True
    ) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            event_hooks={"response": [_recording(recorded)]},
        ) as client:
            yield client

    return open_


@pytest.fixture
async def client(
    app: FastAPI,
    open_client: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
) -> AsyncIterator[httpx.AsyncClient]:
    async with open_client(app) as client:
        yield client


@pytest.fixture
def clinic(client: httpx.AsyncClient, container: Container, clock: FixedClock) -> ApiClinic:
    return ApiClinic(client, container, clock)


@pytest.fixture
def app_with(database_url: str, engine: AsyncEngine, clock: FixedClock) -> Callable[..., FastAPI]:
    """Another app on the same database and clock, with extra settings."""

    def build(**settings: object) -> FastAPI:
        return create_app(make_container(database_url, engine, clock, **settings))

    return build
