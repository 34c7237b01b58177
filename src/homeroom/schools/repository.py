"""School queries (the create-school command's, and the schools a person may pick)."""

from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.db import Database, Row, compiled
from homeroom.models import School


async def id_by_code(session: AsyncSession, code: str) -> int | None:
    school_id: int | None = await session.scalar(select(School.id).where(School.code == code))
    return school_id


async def add(session: AsyncSession, code: str, name: str) -> int:
    """Inserts a school; its id."""
    school = School(code=code, name=name)
    session.add(school)
    await session.flush()
    return school.id


@compiled
def _named(one: bool) -> Select[Any]:
    stmt = select(School.id, School.name, School.code)
    if one:
        stmt = stmt.where(School.id == bindparam("school_id"))
    return stmt.order_by(School.name, School.id)


async def named(db: Database, school_id: int | None) -> list[Row]:
    """Every school by name, or the one `school_id` names."""
    return await db.reader.all(_named(db, school_id is not None), {"school_id": school_id})
