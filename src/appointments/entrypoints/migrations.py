"""Running and checking alembic migrations from the application (serve, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]


def alembic_config(database_url: str) -> Config:
    ini = Path.cwd() / "alembic.ini"
    if not ini.exists():
        ini = REPOSITORY_ROOT / "alembic.ini"
    config = Config(str(ini))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str) -> None:
    """`alembic upgrade head`; must not run inside an event loop (env.py starts one)."""
    command.upgrade(alembic_config(database_url), "head")


async def pending_heads(database_url: str) -> set[str]:
    """Head revisions the database has not reached yet (empty when it is current)."""
    heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(
                lambda sync: set(MigrationContext.configure(sync).get_current_heads())
            )
    finally:
        await engine.dispose()
    return heads - current
