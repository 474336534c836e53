from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from appointments.entrypoints.api.schemas.common import errors

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/health/ready", responses=errors(503))
async def ready(request: Request) -> JSONResponse:
    """The database answers."""
    engine = request.app.state.container.engine()
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse(
            {"detail": "The database is unavailable.", "code": "database_unavailable"},
            status_code=503,
        )
    return JSONResponse({"status": "ok"})
