"""My sections and a section's roster (teachers; the school office for its school's)."""

from fastapi import Request, Response

from homeroom.sections import service as section_service
from homeroom.web.pages import Visitor, db_of, render, web_router
from homeroom.web.sections.teaching import (
    cursor_of,
    ensure_teaching,
    section_id_of,
    sections_page,
)

router = web_router()

SECTIONS = "/sections"


@router.get(SECTIONS)
async def my_sections(request: Request, visit: Visitor) -> Response:
    """The sections the teacher teaches, each with its roster, attendance and gradebook."""
    ensure_teaching(visit)
    context = await sections_page(db_of(request), visit, cursor_of(request))
    return render(
        request, visit, "sections/list.html", {"title": "Sections", **context}, current=SECTIONS
    )


@router.get(SECTIONS + "/{section_id}")
async def roster(request: Request, visit: Visitor, section_id: str) -> Response:
    """A section's students, with the way to its attendance and gradebook."""
    ensure_teaching(visit)
    db, sid = db_of(request), section_id_of(section_id)
    section = await section_service.get_section(db, visit.principal, sid)
    students = await section_service.roster(db, visit.principal, sid)
    title = f"{section['course_code']} {section['name']}"
    context = {"title": title, "section": section, "students": students}
    return render(request, visit, "sections/roster.html", context, current=SECTIONS)
