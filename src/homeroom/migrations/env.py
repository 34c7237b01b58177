"""Alembic environment: runs migrations on the configured database (async drivers)."""

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from homeroom.config import get_settings
from homeroom.kit.db import create_engine
from homeroom.models import Base
from homeroom.models.base import UTCDateTime
from homeroom.models.search import include_name

target_metadata = Base.metadata


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate writes UTCDateTime as the DDL it makes, so a new migration imports nothing
    from the application (migrations are frozen history)."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return 'sa.DateTime(timezone=True).with_variant(sa.String(length=32), "sqlite")'
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    settings = context.config.attributes.get("settings") or get_settings()
    # A migration waits for its locks (the statement timeout still bounds it).
    engine = create_engine(settings, lock_timeout=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


asyncio.run(_main())
