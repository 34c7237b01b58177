"""Business rules for terms. Never commits: the request's unit of work does."""

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.kit.auth import Principal, school_of
from homeroom.kit.db import Database, Row, SessionReader
from homeroom.kit.errors import Conflict, NotFound, ValidationFailed, field_error
from homeroom.kit.pagination import PagePlan
from homeroom.kit.responses import ensure_match
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.models import Term
from homeroom.terms import repository
from homeroom.terms.schemas import TermCreate, TermUpdate


async def list_terms(db: Database, principal: Principal, plan: PagePlan) -> tuple[list[Row], int]:
    return await repository.list_page(db, scope_kind(principal), scope_params(principal), plan)


async def get_term(db: Database, principal: Principal, term_id: int) -> dict[str, Any]:
    row = await repository.get(
        db, db.reader, scope_kind(principal), scope_params(principal), term_id
    )
    if row is None:
        raise NotFound("term not found")
    return repository.to_item(row)


async def _reread(
    db: Database, session: AsyncSession, principal: Principal, term_id: int
) -> dict[str, Any]:
    await session.flush()
    row = await repository.get(
        db, SessionReader(session), scope_kind(principal), scope_params(principal), term_id
    )
    assert row is not None
    return repository.to_item(row)


async def _visible(
    db: Database, session: AsyncSession, principal: Principal, term_id: int, if_match: str | None
) -> Term:
    """The term for a write; 404 outside the caller's school, 412 on a stale If-Match."""
    term = await repository.load_visible(
        session, scope_kind(principal), scope_params(principal), term_id
    )
    if term is None:
        raise NotFound("term not found")
    if if_match is not None:
        # Compared with the record exactly as GET encodes it (the raw read path's values).
        ensure_match(if_match, await get_term(db, principal, term_id))
    return term


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
    school_id = school_of(principal, data.school_id)
    values = data.model_dump(exclude={"school_id"})
    _check_dates(data.start_date, data.end_date)
    await _ensure_unique(session, school_id, data.name)
    term = Term(school_id=school_id, **values)
    session.add(term)
    await session.flush()
    audit.record(session, principal, "create", "term", term.id, school_id, values)
    return await _reread(db, session, principal, term.id)


async def update_term(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    term_id: int,
    data: TermUpdate,
    if_match: str | None = None,
) -> dict[str, Any]:
    term = await _visible(db, session, principal, term_id, if_match)
    changes = data.changes()
    _check_dates(changes.get("start_date", term.start_date), changes.get("end_date", term.end_date))
    if "name" in changes and changes["name"] != term.name:
        await _ensure_unique(session, term.school_id, changes["name"], exclude_id=term.id)
    for name, value in changes.items():
        setattr(term, name, value)
    audit.record(session, principal, "update", "term", term.id, term.school_id, changes)
    return await _reread(db, session, principal, term_id)


async def delete_term(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    term_id: int,
    if_match: str | None = None,
) -> None:
    term = await _visible(db, session, principal, term_id, if_match)
    if await repository.has_courses(session, term.id):
        raise Conflict("the term still has courses; delete or move them first")
    audit.record(session, principal, "delete", "term", term.id, term.school_id, {"name": term.name})
    await session.delete(term)
