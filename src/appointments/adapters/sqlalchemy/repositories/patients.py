"""Patient records, and which of them a caller may see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Row, and_, exists, false, or_, select, true

from appointments.adapters.sqlalchemy.repositories.base import SqlEntityRepository, entity_from
from appointments.adapters.sqlalchemy.tables import appointments, patients
from appointments.application.access import PatientScope
from appointments.application.ports.queries import Page, PageRequest, PatientFilter
from appointments.domain.patients import Patient


def _patient(row: Row[Any]) -> Patient:
    return entity_from(Patient, row)


def _in_scope(scope: PatientScope) -> ColumnElement[bool]:
    """The patients `scope` admits. `search` and `get_in_scope` both filter by this one
    clause, so a list and a single read cannot disagree. Every field set narrows; none
    set admits nobody."""
    if scope.everyone:
        return true()
    conditions: list[ColumnElement[bool]] = []
    if scope.only_id is not None:
        conditions.append(patients.c.id == scope.only_id)
    if scope.treated_by is not None:
        # At least one appointment with the doctor, whatever its status.
        conditions.append(
            exists().where(
                appointments.c.patient_id == patients.c.id,
                appointments.c.doctor_id == scope.treated_by,
            )
        )
    return and_(*conditions) if conditions else false()


class SqlPatientRepository(SqlEntityRepository[Patient]):
    table = patients
    _from_row = staticmethod(_patient)

    async def get_in_scope(self, patient_id: UUID, scope: PatientScope) -> Patient | None:
        query = select(patients).where(patients.c.id == patient_id, _in_scope(scope))
        row = (await self._db.execute(query)).first()
        return _patient(row) if row else None

    async def lock(self, patient_ids: Sequence[UUID]) -> None:
        if patient_ids:
            query = (
                select(patients.c.id)
                .where(patients.c.id.in_(patient_ids))
                .order_by(patients.c.id)  # locked as sorted
                .with_for_update(key_share=True)  # as get(lock=True): base.lock_mode
            )
            await self._db.execute(query)

    async def get_by_user(self, user_id: UUID) -> Patient | None:
        query = select(patients).where(patients.c.user_id == user_id)
        row = (await self._db.execute(query)).first()
        return _patient(row) if row else None

    async def search(self, filters: PatientFilter, page: PageRequest) -> Page[Patient]:
        query = select(patients).where(_in_scope(filters.scope))
        if filters.q:
            query = query.where(
                or_(
                    patients.c.full_name.icontains(filters.q, autoescape=True),
                    patients.c.email.icontains(filters.q, autoescape=True),
                    patients.c.phone.icontains(filters.q, autoescape=True),
                )
            )
        rows, total = await self._page(query, [patients.c.full_name, patients.c.id], page)
        return Page([_patient(r) for r in rows], total, page.limit, page.offset)
