from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from dependency_injector import providers
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.sqlalchemy.engine import create_engine
from appointments.container import Container
from tests.api.support import PASSWORD


@pytest.fixture
async def dead_database(
    container: Container, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[None]:
    """Point the app at a database of the same kind that does not answer."""
    if engine.dialect.name == "postgresql":
        url = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'nothing.db'}"
    dead = create_engine(url)
    with container.engine.override(providers.Object(dead)):
        yield
    await dead.dispose()


async def test_health_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200, response.text


@pytest.mark.usefixtures("dead_database")
async def test_ready_is_503_when_the_database_is_down_but_health_stays_up(
    client: httpx.AsyncClient,
) -> None:
    ready = await client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["code"] == "database_unavailable"
    assert ready.json()["detail"]

    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}


@pytest.mark.usefixtures("dead_database")
async def test_api_requests_are_503_not_500_when_the_database_is_down(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/auth/login", data={"username": "someone", "password": PASSWORD}
    )
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "database_unavailable"


@pytest.mark.parametrize("path", ["/health", "/health/ready"])
async def test_probes_answer_head(client: httpx.AsyncClient, path: str) -> None:
    response = await client.head(path)
    assert response.status_code == 200
    assert response.content == b""
