"""GET /metrics in process: Prometheus text, requests by route template and status,
bookings and conflicts, loopback only, off with METRICS_ENABLED=false; the access line's
fields and the JSON log formatter."""

from __future__ import annotations

import json
import logging
import uuid

import httpx
import pytest
from dependency_injector import providers
from prometheus_client.parser import text_string_to_metric_families

from appointments.container import Container
from appointments.entrypoints.api.app import create_app
from appointments.entrypoints.logging import JsonFormatter, RequestIdFilter, log_config
from tests import conftest
from tests.api.support import ApiClinic

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def test_requests_are_counted_by_route_template_and_status(
    clinic: ApiClinic, client: httpx.AsyncClient
) -> None:
    admin = await clinic.admin()
    before = await scrape(client)
    missing = f"/api/appointments/{uuid.uuid4()}"
    assert (await client.get(missing, headers=admin.headers)).status_code == 404
    assert (await client.get("/api/nowhere/" + uuid.uuid4().hex)).status_code == 404
    assert (await client.get("/health")).status_code == 200
    after = await scrape(client)

    name = "appointments_http_requests_total"
    template = "/api/appointments/{appointment_id}"
    for route, status in ((template, "404"), ("<unmatched>", "404"), ("/health", "200")):
        labels = {"route": route, "method": "GET", "status": status}
        assert value(after, name, **labels) - value(before, name, **labels) == 1, route
    # Never a raw path as a label (unbounded cardinality).
    assert not any(dict(labels).get("route") == missing for _, labels in after)
    count = "appointments_http_request_duration_seconds_count"
    assert value(after, count, route=template, method="GET") >= 1
    assert ("appointments_db_connections_in_use", frozenset()) in after
    assert value(after, "appointments_db_pool_size") >= 1
    assert ("appointments_outbox_pending_deliveries", frozenset()) in after


async def test_a_booking_and_a_conflict_are_counted(
    clinic: ApiClinic, client: httpx.AsyncClient
) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    first, second = await clinic.patient(), await clinic.patient()
    slot = clinic.next_working_day()
    before = await scrape(client)
    assert (await clinic.book(first, doctor, slot)).status_code == 201
    conflict = await clinic.book(second, doctor, slot)
    assert conflict.status_code == 409
    after = await scrape(client)

    assert (
        value(after, "appointments_bookings_total") - value(before, "appointments_bookings_total")
        == 1
    )
    code = conflict.json()["code"]
    name = "appointments_booking_conflicts_total"
    assert value(after, name, code=code) - value(before, name, code=code) == 1
    requests = "appointments_http_requests_total"
    booked = {"route": "/api/appointments", "method": "POST", "status": "409"}
    assert value(after, requests, **booked) - value(before, requests, **booked) == 1


async def test_metrics_are_refused_to_a_client_not_allowed(app: object) -> None:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/metrics")
    assert response.status_code == 404
    assert "appointments_" not in response.text


async def test_metrics_off_is_a_404(container: Container, database_url: str) -> None:
    settings = conftest.test_settings(database_url, metrics_enabled=False)
    container.settings.override(providers.Object(settings))
    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/health")).status_code == 200


async def test_the_access_line_names_route_status_and_user(
    clinic: ApiClinic, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    patient = await clinic.patient()
    with caplog.at_level(logging.INFO, logger="appointments.access"):
        me = await client.get("/api/auth/me", headers=patient.headers)
        anonymous = await client.get("/api/nowhere?q=secret")
    lines = [r for r in caplog.records if r.name == "appointments.access"]
    assert len(lines) == 2, lines
    mine, other = lines
    assert (mine.method, mine.route, mine.status) == ("GET", "/api/auth/me", me.status_code)  # type: ignore[attr-defined]
    assert mine.user_id == patient.user["id"]  # type: ignore[attr-defined]
    assert isinstance(mine.duration_ms, float)  # type: ignore[attr-defined]
    assert other.status == anonymous.status_code == 404  # type: ignore[attr-defined]
    assert other.user_id is None  # type: ignore[attr-defined]
    assert "secret" not in other.getMessage()


def test_json_lines_carry_the_fields() -> None:
    record = logging.LogRecord("appointments.access", logging.INFO, __file__, 1, "GET /x", (), None)
    record.route, record.status, record.duration_ms = "/x", 200, 1.5
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert {"time", "level", "message", "request_id", "route", "status", "duration_ms"} <= set(line)
    assert (line["level"], line["message"], line["request_id"]) == ("INFO", "GET /x", "-")


def test_log_format_follows_the_environment() -> None:
    def formatter(config: dict[str, object]) -> object:
        return config["formatters"]["default"]  # type: ignore[index]

    assert formatter(log_config(None, "production")) == {"()": JsonFormatter}
    assert formatter(log_config(None, "development")) != {"()": JsonFormatter}
    assert formatter(log_config("json", "development")) == {"()": JsonFormatter}
    assert formatter(log_config("console", "production")) != {"()": JsonFormatter}
