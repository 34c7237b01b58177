"""The create-school command: an installation holds one or more schools."""

import re

from homeroom.config import Settings
from homeroom.kit.db import Database
from homeroom.schools import repository


async def create_school_command(settings: Settings, code: str, name: str) -> int:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", code):
        raise ValueError("code must be 1-40 letters, digits, '-' or '_'")
    if not name.strip():
        raise ValueError("name must not be empty")
    db = Database(settings)
    try:
        async with db.sessionmaker() as session, session.begin():
            if await repository.id_by_code(session, code) is not None:
                raise ValueError(f"a school with code {code!r} already exists")
            return await repository.add(session, code, name.strip())
    finally:
        await db.close()
