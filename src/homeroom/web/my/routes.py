"""A student's own pages, and a guardian's for each of their children: grades, attendance,
courses and reports (the report card and transcript as PDF).

Every page takes `?student=<id>`: one of the signed-in person's own students
(students.service.own_students: a student themself, a guardian their children; a guardian's
first child by default). Any other id is a 404 page, and the domain services read under the
person's principal, so their scopes hold as well.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request, Response

from homeroom.attendance import service as attendance_service
from homeroom.attendance.schemas import DateRange
from homeroom.grades import service as grade_service
from homeroom.kit.cpu import run_cpu
from homeroom.kit.deps import DB, PageCache
from homeroom.kit.errors import Forbidden, NotFound, ValidationFailed, field_error
from homeroom.kit.schemas import MAX_ID
from homeroom.reports import service as report_service
from homeroom.reports.pdf import Kind, file_name, pdf_response
from homeroom.sections import service as section_service
from homeroom.students import service as student_service
from homeroom.web import views
from homeroom.web.my import views as my
from homeroom.web.pages import Visit, Visitor, render, web_router

router = web_router()

GRADES = "/my/grades"
ATTENDANCE = "/my/attendance"
COURSES = "/my/courses"
REPORTS = "/my/reports"
REPORT_CARD = "/my/reports/report-card.pdf"
TRANSCRIPT = "/my/reports/transcript.pdf"
# Days missed shown at a time (the attendance page keysets through the rest).
MISSED_PER_PAGE = 50
PAGES = ((GRADES, "Grades"), (ATTENDANCE, "Attendance"), (COURSES, "Courses"), (REPORTS, "Reports"))


def _id(request: Request, name: str, what: str) -> int | None:
    """The query parameter `name` as a record id; None when absent. Anything that is not an
    id names no record: 404, as an id of someone else's does."""
    value = request.query_params.get(name)
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 10) or not (
        1 <= int(value) <= MAX_ID
    ):
        raise NotFound(f"{what} not found")
    return int(value)


@dataclass(frozen=True, slots=True)
class Whose:
    """The student whose page this is (None: a guardian without children), and all of the
    person's own students (a guardian's child switcher)."""

    student: dict[str, Any] | None
    own: list[dict[str, Any]]


async def _whose(request: Request, visit: Visit, db: DB) -> Whose:
    if visit.principal.role not in ("student", "guardian"):
        raise Forbidden("these pages are a student's own, and their guardians'")
    own = await student_service.own_students(db, visit.principal)
    wanted = _id(request, "student", "student")
    if wanted is None:
        return Whose(own[0] if own else None, own)
    student = next((s for s in own if s["id"] == wanted), None)
    if student is None:
        raise NotFound("student not found")
    return Whose(student, own)


def _page(
    request: Request,
    visit: Visit,
    whose: Whose,
    template: str,
    title: str,
    current: str,
    context: dict[str, Any],
) -> Response:
    student = whose.student
    name = None if student is None else my.full_name(student)
    guardian = visit.principal.role == "guardian"
    return render(
        request,
        visit,
        template,
        {
            "title": f"{title} \u00b7 {name}" if guardian and name else title,
            "heading": title,
            "student": student,
            "student_name": name,
            "guardian": guardian,
            "children": [{**s, "name": my.full_name(s)} for s in whose.own],
            "here": current,
            "pages": PAGES,
            **context,
        },
        current=current,
    )


@router.get(GRADES)
async def grades(request: Request, visit: Visitor, db: DB, pages: PageCache) -> Response:
    """The student's grades by section: teacher, weighted final and letter, each assessment."""
    whose = await _whose(request, visit, db)
    terms: list[Any] = []
    if whose.student is not None:
        student_id = whose.student["id"]
        _, body = await grade_service.student_grades_cached(
            db, pages, visit.principal, student_id, None
        )
        sections = await section_service.student_sections(db, visit.principal, student_id)
        terms = my.grade_sections(sections, orjson.loads(body))
    return _page(request, visit, whose, "my/grades.html", "Grades", GRADES, {"terms": terms})


def _before(request: Request) -> tuple[dt.date, int] | None:
    """The position an "Earlier" link carries: `<date>.<record id>`."""
    value = request.query_params.get("before")
    if not value:
        return None
    day, _, record = value.partition(".")
    try:
        position = (dt.date.fromisoformat(day), int(record))
    except ValueError:
        position = None
    if position is None or not (1 <= position[1] <= MAX_ID) or len(value) > 30:
        message = "this page's link is not valid: start again from the latest days"
        raise ValidationFailed(message, errors=[field_error(["query", "before"], message)])
    return position


@router.get(ATTENDANCE)
async def attendance(request: Request, visit: Visitor, db: DB, pages: PageCache) -> Response:
    """The student's attendance rate, and the days missed (absent, late, excused), latest
    first, a page at a time."""
    whose = await _whose(request, visit, db)
    before = _before(request)
    context: dict[str, Any] = {"summary": None, "missed": [], "earlier": None, "paged": before}
    if whose.student is not None:
        student_id = whose.student["id"]
        _, body = await attendance_service.student_summary_cached(
            db, pages, visit.principal, student_id, DateRange()
        )
        days = await attendance_service.missed_days(
            db, visit.principal, student_id, before, MISSED_PER_PAGE
        )
        following = days["next"]
        context |= {
            "summary": my.attendance_summary(orjson.loads(body)),
            "missed": my.missed(days["days"]),
            "earlier": None if following is None else f"{following[0].isoformat()}.{following[1]}",
        }
    return _page(request, visit, whose, "my/attendance.html", "Attendance", ATTENDANCE, context)


@router.get(COURSES)
async def courses(request: Request, visit: Visitor, db: DB) -> Response:
    """The student's courses and sections by term: teacher, room and meeting times."""
    whose = await _whose(request, visit, db)
    terms: list[Any] = []
    if whose.student is not None:
        sections = await section_service.student_sections(db, visit.principal, whose.student["id"])
        terms = my.terms_of([{**s, "credits": my.points(s["credits"])} for s in sections])
    return _page(request, visit, whose, "my/courses.html", "Courses", COURSES, {"terms": terms})


@router.get(REPORTS)
async def reports(request: Request, visit: Visitor, db: DB) -> Response:
    """Links to the student's report card of each of their terms and their transcript."""
    whose = await _whose(request, visit, db)
    terms: list[Any] = []
    if whose.student is not None:
        sections = await section_service.student_sections(db, visit.principal, whose.student["id"])
        terms = [term for term, _ in my.terms_of(sections)]
    context = {"terms": terms, "report_card": REPORT_CARD, "transcript": TRANSCRIPT}
    return _page(request, visit, whose, "my/reports.html", "Reports", REPORTS, context)


async def _pdf(request: Request, kind: Kind, data: dict[str, Any], name: str) -> Response:
    """The document as the API serves it (rendered in the process pool, an ETag from its
    data), saved by the browser as a file."""
    response = await pdf_response(request, kind, data, name, run_cpu)
    for key, value in views.SECURITY_HEADERS.items():
        response.headers[key] = value
    response.headers["Vary"] = "Cookie"
    if response.status_code == 200:
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response


async def _student_of(request: Request, visit: Visit, db: DB) -> dict[str, Any]:
    student = (await _whose(request, visit, db)).student
    if student is None:
        raise NotFound("no student is linked to your account")
    return student


@router.get(REPORT_CARD)
async def report_card_pdf(request: Request, visit: Visitor, db: DB) -> Response:
    """The student's report card of a term (`term_id`; by default the current one) as PDF."""
    student = await _student_of(request, visit, db)
    term_id = _id(request, "term_id", "term")
    card = await report_service.report_card(db, visit.principal, student["id"], term_id)
    name = file_name("report-card", card["student"]["student_number"], card["term"]["name"])
    return await _pdf(request, "report_card", card, name)


@router.get(TRANSCRIPT)
async def transcript_pdf(request: Request, visit: Visitor, db: DB) -> Response:
    """The student's transcript as PDF."""
    student = await _student_of(request, visit, db)
    data = await report_service.transcript(db, visit.principal, student["id"])
    name = file_name("transcript", data["student"]["student_number"])
    return await _pdf(request, "transcript", data, name)
