"""Taking a section's attendance for a day: one control per student, present by default,
saved in one bulk write (attendance.service.record_bulk), all or nothing, and editable
afterwards (the day's records fill the form)."""

import datetime as dt
from typing import Any

import pydantic
from fastapi import Request, Response

from homeroom.attendance import service as attendance_service
from homeroom.attendance.schemas import MAX_BULK_ROWS, AttendanceBulk
from homeroom.enums import ATTENDANCE_STATUSES
from homeroom.kit.deps import Session
from homeroom.kit.errors import ValidationFailed
from homeroom.web import views
from homeroom.web.pages import Visit, Visitor, checked_form, db_of, render, web_router
from homeroom.web.sections.teaching import (
    cursor_of,
    ensure_teaching,
    section_id_of,
    sections_page,
)
from homeroom.web.session import Form

router = web_router()

ATTENDANCE = "/attendance"
DEFAULT_STATUS = "present"
STATUS_NAMES = {status: status.capitalize() for status in ATTENDANCE_STATUSES}
# A status and a note per student, the date and the CSRF token.
MAX_FIELDS = 2 * MAX_BULK_ROWS + 8
NOTE_LIMIT = 500


def sheet_url(section_id: int, day: dt.date) -> str:
    return f"/sections/{section_id}/attendance?date={day.isoformat()}"


class BadDate(ValueError):
    pass


def day_of(raw: str | None) -> dt.date:
    """The day of a `date` field (today without one); BadDate when it is no date or is in the
    future (attendance is taken for today or a day gone by)."""
    if not raw:
        return dt.date.today()
    try:
        day = dt.date.fromisoformat(raw[:10]) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise BadDate("The date must be a day written as YYYY-MM-DD, like 2026-09-14.")
    if day > dt.date.today():
        raise BadDate(
            f"Attendance cannot be taken for a date in the future ({day.isoformat()}); "
            "choose today or an earlier day."
        )
    return day


@router.get(ATTENDANCE)
async def choose(request: Request, visit: Visitor) -> Response:
    """Choose a section and a day (today unless another is chosen) to take attendance."""
    ensure_teaching(visit)
    section = request.query_params.get("section_id")
    raw_day = request.query_params.get("date")
    alert = None
    if section:
        try:
            return views.redirect(request, sheet_url(section_id_of(section), day_of(raw_day)))
        except BadDate as error:
            alert = str(error)
    context = await sections_page(db_of(request), visit, cursor_of(request))
    context |= {"title": "Attendance", "today": dt.date.today(), "alert": alert}
    status = 200 if alert is None else 422
    return render(
        request, visit, "attendance/choose.html", context, current=ATTENDANCE, status_code=status
    )


async def _sheet_page(
    request: Request,
    visit: Visit,
    section_id: int,
    day: dt.date | None,
    *,
    alert: str | None = None,
    errors: list[str] | None = None,
    typed: dict[int, tuple[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    """The day's form (or, without a good day, the way to choose one), the records of the day
    filled in, what was typed kept over them."""
    when = day or dt.date.today()
    sheet = await attendance_service.day_sheet(db_of(request), visit.principal, section_id, when)
    saved = request.query_params.get("saved", "")
    context: dict[str, Any] = {
        "title": f"Attendance: {sheet['course_code']} {sheet['name']}",
        "sheet": sheet,
        "day": day,
        "today": dt.date.today(),
        "statuses": STATUS_NAMES,
        "default_status": DEFAULT_STATUS,
        "typed": typed or {},
        "alert": alert,
        "errors": errors or [],
        "saved": int(saved) if saved.isdigit() and len(saved) <= 6 else None,
    }
    return render(
        request,
        visit,
        "attendance/sheet.html",
        context,
        current=ATTENDANCE,
        status_code=status_code,
    )


@router.get("/sections/{section_id}/attendance")
async def sheet(request: Request, visit: Visitor, section_id: str) -> Response:
    """A section's attendance of a day (?date=YYYY-MM-DD, today without one)."""
    ensure_teaching(visit)
    sid = section_id_of(section_id)
    try:
        day = day_of(request.query_params.get("date"))
    except BadDate as error:
        return await _sheet_page(request, visit, sid, None, alert=str(error), status_code=422)
    return await _sheet_page(request, visit, sid, day)


def _typed(form: Form) -> dict[int, tuple[str, str]]:
    """student id -> (status, note) as the form sent them."""
    typed: dict[int, tuple[str, str]] = {}
    for name in form.fields:
        prefix, _, raw = name.partition("-")
        if prefix == "status" and raw.isascii() and raw.isdigit() and len(raw) <= 10:
            student_id = int(raw)
            typed[student_id] = (form.get(name, 20), form.get(f"note-{raw}", NOTE_LIMIT + 1))
    return typed


def _error_lines(errors: list[Any], student_ids: list[int], names: dict[int, str]) -> list[str]:
    """A bulk write's errors (pydantic's or the service's), each naming its student."""
    lines = []
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part != "body"]
        message = str(error.get("msg", ""))
        if len(loc) >= 2 and loc[0] == "records" and isinstance(loc[1], int):
            student_id = student_ids[loc[1]] if loc[1] < len(student_ids) else 0
            who = names.get(student_id, f"Student {student_id}")
            field = {"status": "attendance", "note": "note"}.get(str(loc[-1]), "")
            lines.append(f"{who}{' (' + field + ')' if field else ''}: {message}")
        else:
            lines.append(views.error_line(error))
    return lines


@router.post("/sections/{section_id}/attendance")
async def record(request: Request, visit: Visitor, session: Session, section_id: str) -> Response:
    """Saves the day's attendance of every student on the form in one bulk write; all or
    nothing."""
    ensure_teaching(visit)
    sid = section_id_of(section_id)
    form = await checked_form(request, visit, max_fields=MAX_FIELDS)
    try:
        day = day_of(form.get("date", 10) or "missing")
    except BadDate as error:
        return await _sheet_page(request, visit, sid, None, alert=str(error), status_code=422)
    typed = _typed(form)
    if not typed:
        alert = "There is nobody to record: the section has no students."
        return await _sheet_page(request, visit, sid, day, alert=alert, status_code=422)
    student_ids = list(typed)
    records = [
        {"student_id": student_id, "status": status, "note": note}
        for student_id, (status, note) in typed.items()
    ]
    try:
        bulk = AttendanceBulk.model_validate({"section_id": sid, "date": day, "records": records})
        result = await attendance_service.record_bulk(
            db_of(request), session, visit.principal, bulk
        )
    except (pydantic.ValidationError, ValidationFailed) as error:
        await session.rollback()  # nothing of a refused write stays
        raw = error.errors() if isinstance(error, pydantic.ValidationError) else error.errors
        sheet = await attendance_service.day_sheet(db_of(request), visit.principal, sid, day)
        names = {s["student_id"]: f"{s['first_name']} {s['last_name']}" for s in sheet["students"]}
        errors = _error_lines(list(raw or []), student_ids, names)
        alert = "Nothing was saved: correct the rows below and save again."
        return await _sheet_page(
            request, visit, sid, day, alert=alert, errors=errors, typed=typed, status_code=422
        )
    saved = result["created"] + result["updated"]
    return views.redirect(request, f"{sheet_url(sid, day)}&saved={saved}")
