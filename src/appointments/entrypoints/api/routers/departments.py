from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from appointments.application import departments as uc
from appointments.container import Container
from appointments.entrypoints.api.dependencies import CurrentActor, Pagination, use
from appointments.entrypoints.api.schemas.clinic import (
    DepartmentIn,
    DepartmentOut,
    DepartmentPatchIn,
)
from appointments.entrypoints.api.schemas.common import PageOut, errors, page_out

router = APIRouter(prefix="/api/departments", tags=["departments"], responses=errors(401, 422, 503))


@router.get("", response_model=PageOut[DepartmentOut])
async def list_departments(
    actor: CurrentActor,
    page: Pagination,
    list_departments: Annotated[uc.ListDepartments, Depends(use(Container.list_departments))],
) -> PageOut[DepartmentOut]:
    return page_out(DepartmentOut, await list_departments(actor, page))


@router.get("/{department_id}", response_model=DepartmentOut, responses=errors(404))
async def get_department(
    department_id: UUID,
    actor: CurrentActor,
    get: Annotated[uc.GetDepartment, Depends(use(Container.get_department))],
) -> DepartmentOut:
    return DepartmentOut.model_validate(await get(actor, department_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DepartmentOut,
    responses=errors(403, 409),
)
async def create_department(
    body: DepartmentIn,
    actor: CurrentActor,
    create: Annotated[uc.CreateDepartment, Depends(use(Container.create_department))],
) -> DepartmentOut:
    return DepartmentOut.model_validate(await create(actor, body.name, body.description))


@router.patch("/{department_id}", response_model=DepartmentOut, responses=errors(403, 404, 409))
async def update_department(
    department_id: UUID,
    body: DepartmentPatchIn,
    actor: CurrentActor,
    update: Annotated[uc.UpdateDepartment, Depends(use(Container.update_department))],
) -> DepartmentOut:
    department = await update(actor, department_id, body.changes(uc.DepartmentChanges))
    return DepartmentOut.model_validate(department)


@router.delete(
    "/{department_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403, 404, 409)
)
async def delete_department(
    department_id: UUID,
    actor: CurrentActor,
    delete: Annotated[uc.DeleteDepartment, Depends(use(Container.delete_department))],
) -> Response:
    await delete(actor, department_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
