"""The application with event recording switched off, for bench/ only: booking on it
against booking on the real one (same run, same data) is what recording costs, the audit
row and the outbox row together (both come from `record`). Nothing else differs. Never
deploy it: a clinic's changes must be recorded, and its notifications sent.

    python bench/serve_asgi.py no_audit_app:create_app --factory --app-logging
        --port 8002 --workers 2  (one command)
"""

from __future__ import annotations

from dependency_injector import providers
from fastapi import FastAPI

from appointments.adapters.sqlalchemy.unit_of_work import SqlUnitOfWork
from appointments.application.events import Event
from appointments.container import Container
from appointments.entrypoints.api.app import create_app as create_real_app


class UnrecordedUnitOfWork(SqlUnitOfWork):
    def record(self, event: Event | None) -> None:
        """Dropped: nothing is written to the audit trail or the outbox."""


def create_app() -> FastAPI:
    container = Container()
    container.uow.override(
        providers.Factory(UnrecordedUnitOfWork, engine=container.engine, clock=container.clock)
    )
    return create_real_app(container)
