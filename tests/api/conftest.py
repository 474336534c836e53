from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI

from appointments.adapters.clock import FixedClock
from appointments.container import Container
from appointments.entrypoints.api.app import create_app
from tests import conftest
from tests.api.documented import Seen, recorder, undocumented
from tests.api.support import ApiClinic


@pytest.fixture
def clinic(client: httpx.AsyncClient, container: Container, clock: FixedClock) -> ApiClinic:
    return ApiClinic(client, container, clock)


@pytest.fixture(autouse=True)
def _errors_are_documented(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every error an API test provokes through `client` is one its operation's OpenAPI
    lists for that status (the document's enums are what clients narrow on). Synchronous:
    it asks for the async `client` fixture, which pytest-asyncio sets up on its loop."""
    if "client" not in request.fixturenames:
        yield
        return
    client: httpx.AsyncClient = request.getfixturevalue("client")
    app: FastAPI = request.getfixturevalue("app")
    seen: list[Seen] = []
    client.event_hooks["response"].append(recorder(seen))
    yield
    problems = undocumented(app, seen)
    assert not problems, "answers the OpenAPI does not list:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
async def served_spec() -> dict[str, Any]:
    """`/openapi.json` as the app serves it (no database needed to build it)."""
    container = Container()
    container.settings.override(providers.Object(conftest.test_settings("sqlite+aiosqlite://")))
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec
