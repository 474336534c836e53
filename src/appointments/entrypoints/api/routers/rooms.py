from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from appointments.application import rooms as uc
from appointments.application.ports.queries import CatalogFilter
from appointments.container import Container
from appointments.domain.errors import InvalidValue, NotFound, RoomExists
from appointments.entrypoints.api.dependencies import CurrentActor, Pagination, use
from appointments.entrypoints.api.schemas.catalog import RoomIn, RoomOut, RoomPatchIn
from appointments.entrypoints.api.schemas.common import PageOut, errors, page_out

router = APIRouter(prefix="/api/rooms", tags=["rooms"], responses=errors(401, 503))


@router.get("", response_model=PageOut[RoomOut])
async def list_rooms(
    actor: CurrentActor,
    page: Pagination,
    list_rooms: Annotated[uc.ListRooms, Depends(use(Container.list_rooms))],
    department_id: UUID | None = None,
    is_active: bool = True,
) -> PageOut[RoomOut]:
    """List rooms

    Filter by department and `is_active` (default true).

    Who: any role.
    """
    filters = CatalogFilter(department_id=department_id, is_active=is_active)
    return page_out(RoomOut, await list_rooms(actor, filters, page))


@router.get("/{room_id}", response_model=RoomOut, responses=errors(NotFound))
async def get_room(
    room_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetRoom, Depends(use(Container.get_room))],
) -> RoomOut:
    """Get a room

    Who: any role.
    """
    return RoomOut.model_validate(await get(actor, room_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RoomOut,
    responses=errors(RoomExists, InvalidValue),
)
async def create_room(
    body: RoomIn,
    actor: CurrentActor,
    create: Annotated[uc.CreateRoom, Depends(use(Container.create_room))],
) -> RoomOut:
    """Create a room

    Names are unique, case-insensitive; `department_id` may be null.

    Who: ADMIN.
    """
    return RoomOut.model_validate(await create(actor, body.name, body.department_id))


@router.patch(
    "/{room_id}",
    response_model=RoomOut,
    responses=errors(NotFound, RoomExists, InvalidValue),
)
async def update_room(
    room_id: UUID,
    body: RoomPatchIn,
    actor: CurrentActor,
    update: Annotated[uc.UpdateRoom, Depends(use(Container.update_room))],
) -> RoomOut:
    """Update a room

    Who: ADMIN.
    """
    return RoomOut.model_validate(await update(actor, room_id, body.changes(uc.RoomChanges)))


@router.delete("/{room_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(NotFound))
async def delete_room(
    room_id: UUID,
    actor: CurrentActor,
    delete: Annotated[uc.DeleteRoom, Depends(use(Container.delete_room))],
) -> Response:
    """Deactivate a room

    New bookings refuse it; booked appointments keep it.

    Who: ADMIN.
    """
    await delete(actor, room_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
