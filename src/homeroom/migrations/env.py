"""Alembic environment: runs migrations on the configured database (async drivers)."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from homeroom.config import get_settings
from homeroom.kit.db import create_engine
from homeroom.models import Base
from homeroom.models.search import include_name

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
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
