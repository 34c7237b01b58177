"""School queries (the create-school command's)."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
