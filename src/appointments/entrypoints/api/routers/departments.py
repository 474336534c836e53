from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from appointments.application import departments as uc
from appointments.container import Container
from appointments.domain.errors import (
    DepartmentExists,
    DepartmentNotEmpty,
    InvalidValue,
    NotFound,
)
from appointments.entrypoints.api.dependencies import CurrentActor, Pagination, use
from appointments.entrypoints.api.schemas.clinic import (
    DepartmentIn,
    DepartmentOut,
    DepartmentPatchIn,
)
from appointments.entrypoints.api.schemas.common import PageOut, errors, page_out

router = APIRouter(prefix="/api/departments", tags=["departments"], responses=errors(401, 503))


@router.get("", response_model=PageOut[DepartmentOut])
async def list_departments(
    actor: CurrentActor,
    page: Pagination,
    list_departments: Annotated[uc.ListDepartments, Depends(use(Container.list_departments))],
) -> PageOut[DepartmentOut]:
    """List departments

    Who: any role.
    """
    return page_out(DepartmentOut, await list_departments(actor, page))


@router.get("/{department_id}", response_model=DepartmentOut, responses=errors(NotFound))
async def get_department(
    department_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetDepartment, Depends(use(Container.get_department))],
) -> DepartmentOut:
    """Get a department

    Who: any role.
    """
    return DepartmentOut.model_validate(await get(actor, department_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DepartmentOut,
    responses=errors(DepartmentExists, InvalidValue),
)
async def create_department(
    body: DepartmentIn,
    actor: CurrentActor,
    create: Annotated[uc.CreateDepartment, Depends(use(Container.create_department))],
) -> DepartmentOut:
    """Create a department

    Names are unique, case-insensitive.

    Who: ADMIN.
    """
    return DepartmentOut.model_validate(await create(actor, body.name, body.description))


@router.patch(
    "/{department_id}",
    response_model=DepartmentOut,
    responses=errors(NotFound, DepartmentExists, InvalidValue),
)
async def update_department(
    department_id: UUID,
    body: DepartmentPatchIn,
    actor: CurrentActor,
    update: Annotated[uc.UpdateDepartment, Depends(use(Container.update_department))],
) -> DepartmentOut:
    """Update a department

    Who: ADMIN.
    """
    department = await update(actor, department_id, body.changes(uc.DepartmentChanges))
    return DepartmentOut.model_validate(department)


@router.delete(
    "/{department_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(NotFound, DepartmentNotEmpty),
)
async def delete_department(
    department_id: UUID,
    actor: CurrentActor,
    delete: Annotated[uc.DeleteDepartment, Depends(use(Container.delete_department))],
) -> Response:
    """Delete a department

    Refused (`department_not_empty`) while doctors belong to it.

    Who: ADMIN.
    """
    await delete(actor, department_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
