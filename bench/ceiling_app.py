"""Reference ceilings for the benchmark, served like the application (the same uvicorn
setup, a listening socket per worker; same host):

    python bench/serve_asgi.py ceiling_app:app --port 8001 --workers N

- GET /json: a bare FastAPI JSON endpoint (no database): the framework's own ceiling.
- GET /appointments/{id}: one raw asyncpg primary-key SELECT from an asyncpg pool, the row
  returned as JSON: what one indexed read can cost at best on this machine.

Every application figure is reported as a ratio to these, measured in the same run.
Database: BENCH_DSN (asyncpg DSN), pool of BENCH_POOL_SIZE (default 20, as the app).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request

DSN = os.environ.get("BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/appointments_bench")
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "20"))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(DSN, min_size=POOL_SIZE, max_size=POOL_SIZE)
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/json")
async def bare_json() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/appointments/{appointment_id}")
async def appointment_by_id(appointment_id: uuid.UUID, request: Request) -> dict[str, Any]:
    row = await request.app.state.pool.fetchrow(
        "SELECT * FROM appointments WHERE id = $1", appointment_id
    )
    if row is None:
        raise HTTPException(status_code=404, detail="not found")
    return dict(row)
