from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from appointments.application import policy as uc
from appointments.container import Container
from appointments.entrypoints.api.dependencies import CurrentActor, use
from appointments.entrypoints.api.schemas.catalog import PolicyIn, PolicyOut
from appointments.entrypoints.api.schemas.common import errors

router = APIRouter(prefix="/api/policy", tags=["policy"], responses=errors(401, 422, 503))


@router.get("", response_model=PolicyOut)
async def get_policy(
    actor: CurrentActor,
    get: Annotated[uc.GetPolicy, Depends(use(Container.get_policy))],
) -> PolicyOut:
    return PolicyOut.model_validate(await get(actor))


@router.put("", response_model=PolicyOut, responses=errors(403))
async def put_policy(
    body: PolicyIn,
    actor: CurrentActor,
    put: Annotated[uc.PutPolicy, Depends(use(Container.put_policy))],
) -> PolicyOut:
    return PolicyOut.model_validate(await put(actor, **body.model_dump()))
