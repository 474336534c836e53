"""Reading the audit trail, for admins (an appointment's own history is read with the
appointment's visibility: appointments.GetAppointmentHistory). Nothing here writes: the
trail is only ever appended to, by the unit of work of the change it records."""

from __future__ import annotations

from appointments.application.access import ADMIN_ONLY, Actor, Restricted
from appointments.application.events import AuditEvent
from appointments.application.ports.queries import AuditFilter, Page, PageRequest
from appointments.application.ports.unit_of_work import UnitOfWork


class ListAuditEvents(Restricted, roles=ADMIN_ONLY):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __call__(
        self, actor: Actor, filters: AuditFilter, page: PageRequest
    ) -> Page[AuditEvent]:
        async with self._uow as uow:
            return await uow.audit.search(filters, page)
