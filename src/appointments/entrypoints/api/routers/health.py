from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from appointments.application.errors import DatabaseUnavailable
from appointments.entrypoints.api.schemas.common import errors

router = APIRouter(tags=["health"])


@router.get("/health")
@router.head("/health", include_in_schema=False)
async def get_health() -> dict[str, str]:
    """Liveness

    200 while the process is up; HEAD too (load balancers and uptime checkers often probe
    with it).

    Who: anyone (no token).
    """
    return {"status": "ok"}


@router.get("/health/ready", responses=errors(DatabaseUnavailable))
@router.head("/health/ready", include_in_schema=False)
async def get_readiness(request: Request) -> JSONResponse:
    """Readiness

    200 when the database answers, else 503 `database_unavailable`; HEAD too.

    Who: anyone (no token).
    """
    engine = request.app.state.container.engine()
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse(
            {"detail": "The database is unavailable.", "code": DatabaseUnavailable.code},
            status_code=503,
        )
    return JSONResponse({"status": "ok"})
