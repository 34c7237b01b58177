"""Reading the schools: the names an administrator of every school picks from."""

from typing import Any

from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.schools import repository


async def list_schools(db: Database, principal: Principal) -> list[dict[str, Any]]:
    """The schools the caller belongs to, by name: every school for an administrator of all
    schools, else their own. One statement."""
    rows = await repository.named(db, principal.school_id)
    return [{"id": row[0], "name": row[1], "code": row[2]} for row in rows]
