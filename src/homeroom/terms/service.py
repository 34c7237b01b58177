"""Business rules for terms. Never commits: the request's unit of work does."""

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.kit import writes
from homeroom.kit.auth import Principal, school_of
from homeroom.kit.crud import Writes
from homeroom.kit.db import Database
from homeroom.kit.errors import Conflict, ValidationFailed, field_error
from homeroom.kit.pagination import PageRequest, plan_page
from homeroom.kit.writes import Target
from homeroom.terms import repository
from homeroom.terms.schemas import TermCreate, TermUpdate

# A school keeps a few terms a year: this many are every term a page needs to name.
MAX_TERM_NAMES = 1000


async def term_names(db: Database, principal: Principal) -> dict[int, str]:
    """The names of the terms the caller sees (their school's), by id: one statement, for
    pages that show a term by name."""
    plan = plan_page(PageRequest(MAX_TERM_NAMES, 0, None, None), repository.SORTING)
    rows, _ = await repository.LISTING.page(db, principal, None, plan)
    items = (repository.LISTING.item(row) for row in rows)
    return {int(item["id"]): str(item["name"]) for item in items}


def _check_dates(start: date, end: date) -> None:
    if end < start:
        raise ValidationFailed(
            "end_date must be on or after start_date",
            errors=[field_error(["body", "end_date"], "must be on or after start_date")],
        )


async def _ensure_unique(
    session: AsyncSession, school_id: int, name: str, exclude_id: int | None = None
) -> None:
    if await repository.name_taken(session, school_id, name, exclude_id):
        raise Conflict("a term with this name already exists in the school")


async def create_term(
    db: Database, session: AsyncSession, principal: Principal, data: TermCreate
) -> dict[str, Any]:
    """Create a term."""
    school_id = school_of(principal, data.school_id)
    values = data.model_dump(exclude={"school_id"})
    _check_dates(data.start_date, data.end_date)
    await _ensure_unique(session, school_id, data.name)
    term = await writes.insert(
        db, session, principal, repository.RESOURCE, {"school_id": school_id, **values}
    )
    audit.record(session, principal, "create", "term", term["id"], school_id, values)
    return term


async def update_term(
    db: Database, session: AsyncSession, principal: Principal, target: Target, data: TermUpdate
) -> dict[str, Any]:
    """Change a term's name or dates; send If-Match with the ETag you read."""
    term = await writes.load(db, session, principal, repository.RESOURCE, target)
    current = term.item
    changes = data.changes()
    _check_dates(
        changes.get("start_date", current["start_date"]),
        changes.get("end_date", current["end_date"]),
    )
    if "name" in changes and changes["name"] != current["name"]:
        await _ensure_unique(session, current["school_id"], changes["name"], exclude_id=term.id)
    updated = await writes.update(db, session, principal, repository.RESOURCE, term, changes)
    audit.record(session, principal, "update", "term", term.id, current["school_id"], changes)
    return updated


async def delete_term(
    db: Database, session: AsyncSession, principal: Principal, target: Target
) -> None:
    """Delete a term that has no courses."""
    term = await writes.load(db, session, principal, repository.RESOURCE, target)
    if await repository.has_courses(session, term.id):
        raise Conflict("the term still has courses; delete or move them first")
    school_id, name = term.item["school_id"], term.item["name"]
    audit.record(session, principal, "delete", "term", term.id, school_id, {"name": name})
    await writes.delete(session, repository.RESOURCE, term.id)


WRITES = Writes(create_term, update_term, delete_term)
