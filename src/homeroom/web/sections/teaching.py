"""What the teaching pages share (my sections, a roster, attendance, the gradebook): who may
open them, a section's id from the path, the sections to choose from."""

from typing import Any

from starlette.requests import Request

from homeroom.kit.db import Database
from homeroom.kit.errors import Forbidden, NotFound
from homeroom.kit.schemas import MAX_ID
from homeroom.sections import service as section_service
from homeroom.terms import service as term_service
from homeroom.web.pages import Visit

# The teacher's pages; the school office may use them for any section of its school.
TEACHING_ROLES = ("teacher", "staff", "admin")
# Sections on one page of a list or a chooser (a teacher has a handful; the office pages on).
SECTIONS_PER_PAGE = 100


def ensure_teaching(visit: Visit) -> None:
    if visit.person.role not in TEACHING_ROLES:
        raise Forbidden("these pages are for teachers and the school office")


def section_id_of(raw: str) -> int:
    """The section id of a path: anything but a whole number of an id's range is no section."""
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise NotFound("section not found")
    return int(raw)


def cursor_of(request: Request) -> str | None:
    cursor = request.query_params.get("cursor")
    return cursor[:512] if cursor else None


async def sections_page(db: Database, visit: Visit, cursor: str | None) -> dict[str, Any]:
    """A page of the sections the visitor teaches (the office: of its school), with their
    terms' names, for a list or a chooser: two statements."""
    plan = section_service.sections_plan(SECTIONS_PER_PAGE, cursor)
    page = await section_service.list_sections(db, visit.principal, None, plan)
    terms = await term_service.term_names(db, visit.principal) if page.items else {}
    return {
        "sections": page.items,
        "total": page.total,
        "next_cursor": page.next_cursor,
        "terms": terms,
    }
