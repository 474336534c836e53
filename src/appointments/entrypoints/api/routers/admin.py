from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status

from appointments.application import audit, stats, users
from appointments.application.ports.queries import AuditFilter, UserFilter
from appointments.container import Container
from appointments.domain.errors import EmailTaken, InvalidValue, LastAdmin, NotFound, UsernameTaken
from appointments.domain.users import Role
from appointments.entrypoints.api.dependencies import (
    CurrentActor,
    Pagination,
    SearchQuery,
    use,
)
from appointments.entrypoints.api.schemas.appointments import (
    AppointmentsStats,
    DashboardOut,
    UsersStats,
)
from appointments.entrypoints.api.schemas.audit import AuditEventOut
from appointments.entrypoints.api.schemas.common import PageOut, UtcDatetime, errors, page_out
from appointments.entrypoints.api.schemas.users import (
    AdminUserCreateIn,
    AdminUserPatchIn,
    UserOut,
)

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=errors(401, 403, 503))


@router.get("/dashboard/stats", response_model=DashboardOut)
async def get_dashboard_stats(
    actor: CurrentActor,
    get_stats: Annotated[stats.GetDashboardStats, Depends(use(Container.dashboard_stats))],
) -> DashboardOut:
    """Dashboard figures

    Users by role, departments, doctors, patients, and appointments by status, today
    (in the clinic's zone), in the next 7 days, late cancellations and no-shows over the
    last 30 days.

    Who: ADMIN.
    """
    found = await get_stats(actor)
    return DashboardOut(
        users=UsersStats(
            total=found.users_total,
            active=found.users_active,
            by_role={role.value: n for role, n in found.users_by_role.items()},
        ),
        departments=found.departments,
        doctors=found.doctors,
        patients=found.patients,
        appointments=AppointmentsStats(
            total=found.appointments_total,
            by_status={s.value: n for s, n in found.appointments_by_status.items()},
            today=found.appointments_today,
            upcoming_7_days=found.appointments_next_7_days,
            late_cancellations_30d=found.late_cancellations_30d,
            no_shows_30d=found.no_shows_30d,
        ),
    )


@router.get("/audit", response_model=PageOut[AuditEventOut])
async def list_audit_events(
    actor: CurrentActor,
    page: Pagination,
    list_events: Annotated[audit.ListAuditEvents, Depends(use(Container.list_audit_events))],
    entity_type: Annotated[str | None, Query(max_length=32)] = None,
    entity_id: UUID | None = None,
    actor_user_id: UUID | None = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: UtcDatetime | None = None,
    until: UtcDatetime | None = None,
) -> PageOut[AuditEventOut]:
    """The audit trail

    Every recorded change, newest first; filter by entity, actor, action and time
    (`since` inclusive, `until` exclusive). Records can never be changed.

    Who: ADMIN.
    """
    filters = AuditFilter(
        entity_type=entity_type,
        entity_id=entity_id,
        actor_user_id=actor_user_id,
        action=action,
        since=since,
        until=until,
    )
    return page_out(AuditEventOut, await list_events(actor, filters, page))


@router.get("/users", response_model=PageOut[UserOut])
async def list_users(
    actor: CurrentActor,
    page: Pagination,
    list_users: Annotated[users.ListUsers, Depends(use(Container.list_users))],
    role: Role | None = None,
    is_active: bool | None = None,
    q: SearchQuery = None,
) -> PageOut[UserOut]:
    """List users

    Filter by `role`, `is_active` and free text `q` (username, email, full name).

    Who: ADMIN.
    """
    found = await list_users(actor, UserFilter(role=role, is_active=is_active, q=q), page)
    return page_out(UserOut, found)


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=errors(EmailTaken, UsernameTaken, InvalidValue),
)
async def create_user(
    body: AdminUserCreateIn,
    actor: CurrentActor,
    create: Annotated[users.CreateUser, Depends(use(Container.create_user))],
) -> UserOut:
    """Create a user

    A login of any role. A DOCTOR login made here has no doctor record: create doctors
    with createDoctor.

    Who: ADMIN.
    """
    data = users.NewUser(body.email, body.username, body.full_name, body.password)
    return UserOut.model_validate(await create(actor, data, body.role))


@router.get("/users/{user_id}", response_model=UserOut, responses=errors(404))
async def get_user(
    user_id: UUID,
    actor: CurrentActor,
    get: Annotated[users.GetUser, Depends(use(Container.get_user))],
) -> UserOut:
    """Get a user

    Who: ADMIN.
    """
    return UserOut.model_validate(await get(actor, user_id))


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    responses=errors(NotFound, LastAdmin, InvalidValue),
)
async def update_user(
    user_id: UUID,
    body: AdminUserPatchIn,
    actor: CurrentActor,
    update: Annotated[users.UpdateUser, Depends(use(Container.update_user))],
) -> UserOut:
    """Update a user

    Any of `full_name`, `role`, `is_active`, `password`. Deactivating revokes the user's
    tokens; leaving no active admin is `last_admin`.

    Who: ADMIN.
    """
    changes = body.changes(users.UserChanges)
    return UserOut.model_validate(await update(actor, user_id, changes))


@router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(NotFound, LastAdmin),
)
async def deactivate_user(
    user_id: UUID,
    actor: CurrentActor,
    deactivate: Annotated[users.DeactivateUser, Depends(use(Container.deactivate_user))],
) -> Response:
    """Deactivate a user

    The user can no longer log in and their tokens are revoked; history is kept.

    Who: ADMIN.
    """
    await deactivate(actor, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
