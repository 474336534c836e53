"""Fault fixtures: an app whose only way to PostgreSQL is a proxy the test can cut.

The app's container builds its own engine from settings (exactly as in production), with
`database_url` pointing at the proxy. Checks of what was written go straight to
PostgreSQL through `direct`, never through the proxy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.adapters.sqlalchemy.engine import create_engine
from appointments.container import Container
from appointments.entrypoints.api.app import create_app
from tests.api.support import ApiClinic
from tests.conftest import clean
from tests.conftest import test_settings as settings_for
from tests.faults.proxy import TcpProxy


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy()
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.fixture
async def direct(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """PostgreSQL without the proxy; the tables are emptied first."""
    engine = create_engine(postgres_url, pool_size=2)
    await clean(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def container(
    direct: AsyncEngine, proxy: TcpProxy, postgres_url: str, clock: FixedClock
) -> AsyncIterator[Container]:
    """Overrides the shared `container`: PostgreSQL only, reached through the proxy."""
    url = make_url(postgres_url).set(host="127.0.0.1", port=proxy.port)
    container = Container()
    container.settings.override(
        providers.Object(settings_for(url.render_as_string(hide_password=False)))
    )
    container.clock.override(providers.Object(clock))
    yield container
    proxy.restore()
    await container.engine().dispose()


@pytest.fixture
def app(container: Container) -> FastAPI:
    return create_app(container)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=30
    ) as client:
        yield client


@pytest.fixture
def clinic(client: httpx.AsyncClient, container: Container, clock: FixedClock) -> ApiClinic:
    return ApiClinic(client, container, clock)
