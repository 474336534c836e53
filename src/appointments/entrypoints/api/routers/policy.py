from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from appointments.application import policy as uc
from appointments.container import Container
from appointments.domain.errors import InvalidValue
from appointments.entrypoints.api.dependencies import CurrentActor, use
from appointments.entrypoints.api.schemas.catalog import PolicyIn, PolicyOut
from appointments.entrypoints.api.schemas.common import errors

router = APIRouter(prefix="/api/policy", tags=["policy"], responses=errors(401, 503))


@router.get("", response_model=PolicyOut)
async def get_policy(
    actor: CurrentActor,
    get: Annotated[uc.GetPolicy, Depends(use(Container.get_policy))],
) -> PolicyOut:
    """Get the booking policy

    Notice, horizon, cancellation cutoff and per-patient limit (0: no limit) and the
    reminder offsets, as every worker applies them.

    Who: any role.
    """
    return PolicyOut.model_validate(await get(actor))


@router.put("", response_model=PolicyOut, responses=errors(InvalidValue))
async def put_policy(
    body: PolicyIn,
    actor: CurrentActor,
    put: Annotated[uc.PutPolicy, Depends(use(Container.put_policy))],
) -> PolicyOut:
    """Replace the booking policy

    The full policy; its rules bind PATIENT callers (DOCTOR and ADMIN are exempt).

    Who: ADMIN.
    """
    return PolicyOut.model_validate(await put(actor, **body.model_dump()))
