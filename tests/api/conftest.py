from __future__ import annotations

import httpx
import pytest

from appointments.adapters.clock import FixedClock
from appointments.container import Container
from tests.api.support import ApiClinic


@pytest.fixture
def clinic(client: httpx.AsyncClient, container: Container, clock: FixedClock) -> ApiClinic:
    return ApiClinic(client, container, clock)
