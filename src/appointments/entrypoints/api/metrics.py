"""Prometheus metrics: `GET /metrics` (not in the OpenAPI schema; METRICS_ENABLED=false
turns it off, and it is then a 404 like any unknown path).

Correct with `serve --workers N`: `serve` points PROMETHEUS_MULTIPROC_DIR at a fresh
directory, each worker writes its values there, and a scrape, whichever worker answers
it, adds up every worker's files. Without the variable (tests, a bare `uvicorn`) the
process's own registry is served.

Access: only clients in METRICS_ALLOW_FROM (loopback by default) are answered; any other
gets the 404 of an unknown path. The address is the one uvicorn reports, which is the
X-Forwarded-For of a proxy only when uvicorn trusts that proxy (FORWARDED_ALLOW_IPS).
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException

from appointments.adapters.sqlalchemy.tables import deliveries
from appointments.domain.deliveries import DeliveryStatus

log = logging.getLogger("appointments.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Where requests that matched no route are counted: the raw path would be unbounded.
UNMATCHED = "<unmatched>"

REQUESTS = Counter(
    "appointments_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "appointments_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BOOKINGS = Counter("appointments_bookings", "Appointments booked (POST /api/appointments).")
BOOKING_CONFLICTS = Counter(
    "appointments_booking_conflicts",
    "Bookings refused with 409 Conflict, by error code.",
    ["code"],
)
POOL_IN_USE = Gauge(
    "appointments_db_connections_in_use",
    "Database connections checked out of the pool (all live workers).",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "appointments_db_pool_size",
    "Configured database pool size (all live workers; a hard cap, no overflow).",
    multiprocess_mode="livesum",
)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def _checked_out(*_: Any) -> None:
    POOL_IN_USE.inc()


def _checked_in(*_: Any) -> None:
    POOL_IN_USE.dec()


def watch_pool(engine: AsyncEngine, pool_size: int) -> None:
    """Count the pool's checked-out connections (once per engine: tests share one)."""
    target = engine.sync_engine
    if not event.contains(target, "checkout", _checked_out):
        event.listen(target, "checkout", _checked_out)
        event.listen(target, "checkin", _checked_in)
        POOL_SIZE.inc(pool_size)


class _Collected:
    """Metrics gathered at scrape time (one registry per scrape)."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics


async def _pending_deliveries(engine: AsyncEngine) -> int | None:
    """Webhook and email deliveries waiting (one indexed count); None if unknown."""
    query = select(func.count()).select_from(deliveries)
    query = query.where(deliveries.c.status == DeliveryStatus.PENDING.value)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())
    except Exception:
        log.warning("metrics: cannot count pending deliveries", exc_info=True)
        return None


def exposition(pending: int | None) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Collected(REGISTRY.collect()))
    if pending is not None:
        gauge = GaugeMetricFamily(
            "appointments_outbox_pending_deliveries",
            "Webhook and email deliveries waiting for the dispatcher.",
            value=pending,
        )
        registry.register(_Collected([gauge]))
    return generate_latest(registry)


def process_stopped() -> None:
    """A worker's live gauges leave the sum when it stops (multiprocess mode)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def install(app: FastAPI, engine: AsyncEngine, pool_size: int, allow_from: list[Any]) -> None:
    networks = [ipaddress.ip_network(network) for network in allow_from]
    watch_pool(engine, pool_size)

    async def get_metrics(request: Request) -> Response:
        if not _allowed(request, networks):
            raise HTTPException(status_code=404)
        body = exposition(await _pending_deliveries(engine))
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    # A plain Starlette route, like the docs pages: not an API operation, not in OpenAPI.
    app.add_route("/metrics", get_metrics, methods=["GET"], include_in_schema=False)


def _allowed(request: Request, networks: list[Any]) -> bool:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)
