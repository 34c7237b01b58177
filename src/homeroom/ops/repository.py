"""The operations endpoints' one query: whether the database answers."""

from sqlalchemy import text

from homeroom.kit.db import Database


async def ping(db: Database) -> None:
    """Runs `SELECT 1` on a write connection; raises if the database does not answer."""
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
