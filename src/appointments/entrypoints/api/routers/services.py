from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from appointments.application import services as uc
from appointments.application.ports.queries import CatalogFilter
from appointments.container import Container
from appointments.domain.errors import InvalidValue, NotFound, ServiceExists
from appointments.entrypoints.api.dependencies import CurrentActor, Pagination, use
from appointments.entrypoints.api.schemas.catalog import ServiceIn, ServiceOut, ServicePatchIn
from appointments.entrypoints.api.schemas.common import PageOut, errors, page_out

router = APIRouter(prefix="/api/services", tags=["services"], responses=errors(401, 503))


@router.get("", response_model=PageOut[ServiceOut])
async def list_services(
    actor: CurrentActor,
    page: Pagination,
    list_services: Annotated[uc.ListServices, Depends(use(Container.list_services))],
    department_id: UUID | None = None,
    is_active: bool = True,
) -> PageOut[ServiceOut]:
    """List services

    Filter by department and `is_active` (default true).

    Who: any role.
    """
    filters = CatalogFilter(department_id=department_id, is_active=is_active)
    return page_out(ServiceOut, await list_services(actor, filters, page))


@router.get("/{service_id}", response_model=ServiceOut, responses=errors(NotFound))
async def get_service(
    service_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetService, Depends(use(Container.get_service))],
) -> ServiceOut:
    """Get a service

    Who: any role.
    """
    return ServiceOut.model_validate(await get(actor, service_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ServiceOut,
    responses=errors(ServiceExists, InvalidValue),
)
async def create_service(
    body: ServiceIn,
    actor: CurrentActor,
    create: Annotated[uc.CreateService, Depends(use(Container.create_service))],
) -> ServiceOut:
    """Create a service

    Names are unique within the department, case-insensitive; every doctor of the
    department offers it.

    Who: ADMIN.
    """
    return ServiceOut.model_validate(await create(actor, uc.NewService(**body.model_dump())))


@router.patch(
    "/{service_id}",
    response_model=ServiceOut,
    responses=errors(NotFound, ServiceExists, InvalidValue),
)
async def update_service(
    service_id: UUID,
    body: ServicePatchIn,
    actor: CurrentActor,
    update: Annotated[uc.UpdateService, Depends(use(Container.update_service))],
) -> ServiceOut:
    """Update a service

    Who: ADMIN.
    """
    service = await update(actor, service_id, body.changes(uc.ServiceChanges))
    return ServiceOut.model_validate(service)


@router.delete("/{service_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(NotFound))
async def delete_service(
    service_id: UUID,
    actor: CurrentActor,
    delete: Annotated[uc.DeleteService, Depends(use(Container.delete_service))],
) -> Response:
    """Deactivate a service

    No longer offered; booked appointments keep it.

    Who: ADMIN.
    """
    await delete(actor, service_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
