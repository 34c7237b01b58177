"""The students: a searchable list in keyset pages, a student's page (guardians, enrollments,
grades, attendance) for everyone who may see the student, and the registrar's forms to
create, edit, archive and restore a student.

Every read goes through the domain services under the visitor's principal, so each role sees
what the API shows it: the office their school, a teacher the students of their sections, a
guardian their children, a student themself; anyone else's page is a 404.
"""

from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import Request, Response
from pydantic import ValidationError

from homeroom.attendance import service as attendance_service
from homeroom.attendance.schemas import DateRange
from homeroom.enrollments import service as enrollment_service
from homeroom.enums import STUDENT_STATUSES
from homeroom.grades import service as grade_service
from homeroom.guardians import service as guardian_service
from homeroom.kit.auth import Principal, can
from homeroom.kit.db import Database
from homeroom.kit.deps import DB, PageCache, Session
from homeroom.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from homeroom.kit.pagination import PageRequest, encode_cursor, plan_page
from homeroom.kit.responses import etag_of
from homeroom.kit.writes import Target
from homeroom.schools import service as school_service
from homeroom.students import service as student_service
from homeroom.students.schemas import StudentCreate, StudentFilters, StudentUpdate
from homeroom.web import views
from homeroom.web.pages import Visit, Visitor, checked_form, render, web_router
from homeroom.web.session import Form

router = web_router()

PAGE = "/students"
PAGE_SIZE = 25
SORT = "last_name"
MAX_ID = 2**31 - 1
GRADE_LEVELS = tuple(range(14))
ARCHIVED = {"exclude": "Current students", "include": "Current and archived", "only": "Archived"}

# The form's fields, in order, with the names people read and the longest value kept.
FIELDS: dict[str, tuple[str, int]] = {
    "student_number": ("Student number", 32),
    "first_name": ("First name", 100),
    "last_name": ("Last name", 100),
    "email": ("Email", 254),
    "date_of_birth": ("Date of birth", 10),
    "grade_level": ("Grade level", 2),
    "status": ("Status", 16),
}

SAVED = {
    "created": "Student created.",
    "saved": "Changes saved.",
    "unchanged": "Nothing to save: the student is as it was.",
    "archived": "Student archived.",
    "restored": "Student restored.",
}


def grade_name(level: int) -> str:
    return "Kindergarten" if level == 0 else str(level)


def _student_id(raw: str) -> int:
    """The id in the path; anything else names no student (404 page, as out of scope)."""
    if not raw.isdigit() or len(raw) > 10 or not 1 <= int(raw) <= MAX_ID:
        raise NotFound("student not found")
    return int(raw)


def _may_write(principal: Principal) -> bool:
    return can(principal, "students:write")


def _writer(principal: Principal) -> None:
    if not _may_write(principal):
        raise Forbidden("only the registrar and administrators change student records")


# --- the list -------------------------------------------------------------------------------


def list_filters(
    q: str | None, grade_level: str | None, status: str | None, archived: str | None
) -> tuple[StudentFilters, list[str]]:
    """The list's filters from its query string; what was not understood is left out and
    said (never an error page for a typo in the address)."""
    problems = []
    text = (q or "").strip()
    if len(text) > 100:
        problems.append("The search was cut to its first 100 characters.")
        text = text[:100]
    level = None
    if grade_level:
        if grade_level.isdigit() and int(grade_level) in GRADE_LEVELS:
            level = int(grade_level)
        else:
            problems.append("Grade level must be from 0 (kindergarten) to 13.")
    chosen_status = status if status in STUDENT_STATUSES else None
    if status and chosen_status is None:
        problems.append("Unknown status: showing every status.")
    kind = archived if archived in ARCHIVED else "exclude"
    filters = StudentFilters.model_validate(
        {"q": text or None, "grade_level": level, "status": chosen_status, "archived": kind}
    )
    return filters, problems


def _query(filters: StudentFilters, **cursor: str) -> str:
    params: dict[str, Any] = {}
    if filters.q:
        params["q"] = filters.q
    if filters.grade_level is not None:
        params["grade_level"] = filters.grade_level
    if filters.status:
        params["status"] = filters.status
    if filters.archived != "exclude":
        params["archived"] = filters.archived
    return urlencode({**params, **cursor})


async def student_page(
    db: Database,
    principal: Principal,
    filters: StudentFilters,
    after: str | None,
    before: str | None,
) -> dict[str, Any]:
    """One keyset page of the list, by last name: after a cursor (Next), before one
    (Previous: the same walk backwards, its rows put back in order), or the first. Each
    page carries the cursors of its neighbours and the list's total."""
    backwards = before is not None and after is None
    cursor = before if backwards else after
    sort = f"-{SORT}" if backwards else SORT
    plan = plan_page(PageRequest(PAGE_SIZE, 0, cursor, sort), student_service.SORTING)
    items, total = await student_service.list_students(db, principal, filters, plan)
    more = len(items) > PAGE_SIZE
    items = items[:PAGE_SIZE]
    if backwards:
        items.reverse()
    has_next = (not backwards and more) or (backwards and bool(items))
    has_previous = (backwards and more) or (not backwards and cursor is not None and bool(items))
    next_url = previous_url = None
    if has_next:
        last = items[-1]
        token = encode_cursor(SORT, False, last[SORT], last["id"], total)
        next_url = f"{PAGE}?{_query(filters, after=token)}"
    if has_previous:
        first = items[0]
        token = encode_cursor(SORT, True, first[SORT], first["id"], total)
        previous_url = f"{PAGE}?{_query(filters, before=token)}"
    return {"items": items, "total": total, "next": next_url, "previous": previous_url}


@router.get(PAGE)
async def students(
    request: Request,
    visit: Visitor,
    db: DB,
    q: str | None = None,
    grade_level: str | None = None,
    status: str | None = None,
    archived: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> Response:
    """The students the visitor may see: search, filters, pages of 25 by last name."""
    filters, problems = list_filters(q, grade_level, status, archived)
    page = await student_page(db, visit.principal, filters, after, before)
    context = {
        "title": "Students",
        "filters": filters,
        "problems": problems,
        "page": page,
        "grade_levels": [(level, grade_name(level)) for level in GRADE_LEVELS],
        "statuses": STUDENT_STATUSES,
        "archived_choices": ARCHIVED,
        "may_write": _may_write(visit.principal),
    }
    return render(request, visit, "students/list.html", context, current=PAGE)


# --- create and edit ------------------------------------------------------------------------


def typed(form: Form) -> dict[str, str]:
    """What was typed in the form's fields, each cut at its longest."""
    return {name: form.get(name, limit).strip() for name, (_, limit) in FIELDS.items()}


def field_errors(error: ValidationError) -> dict[str, str]:
    """A message per field of the form, in words people read."""
    out: dict[str, str] = {}
    for problem in error.errors():
        loc = problem.get("loc") or ("",)
        name = str(loc[0])
        kind = problem.get("type", "")
        if kind in ("missing", "string_too_short") or problem.get("input") == "":
            message = "is required"
        elif name == "email":
            message = "is not a valid email address"
        elif name == "date_of_birth" and kind.startswith("date"):
            message = "must be a date (year-month-day)"
        elif name == "student_number" and kind == "string_pattern_mismatch":
            message = "may hold only letters, digits, '_' and '-'"
        elif name == "grade_level":
            message = "must be from 0 (kindergarten) to 13"
        else:
            message = str(problem.get("msg", "is not valid")).removeprefix("Value error, ")
        out.setdefault(name, message)
    return out


def conflict_field(error: Conflict) -> str:
    return "email" if "email" in error.detail else "student_number"


CONFLICT_MESSAGES = {
    "student_number": "is already another student's in this school",
    "email": "is already another student's",
}


def _form_page(
    request: Request,
    visit: Visit,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    action: str,
    heading: str,
    record: dict[str, Any] | None = None,
    version: str = "",
    schools: list[dict[str, Any]] | None = None,
    alert: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "title": heading,
        "heading": heading,
        "values": values,
        "errors": errors,
        "labels": {name: label for name, (label, _) in FIELDS.items()},
        "alert": alert,
        "action": action,
        "student": record,
        "version": version,
        "schools": schools or [],
        "grade_levels": [(level, grade_name(level)) for level in GRADE_LEVELS],
        "statuses": STUDENT_STATUSES,
    }
    return render(
        request, visit, "students/form.html", context, current=PAGE, status_code=status_code
    )


NOT_SAVED = "The student was not saved. Correct the fields marked below."


async def _schools_to_pick(db: Database, principal: Principal) -> list[dict[str, Any]]:
    """An administrator of every school says which school a new student joins."""
    if principal.school_id is not None:
        return []
    return await school_service.list_schools(db, principal)


@router.get(PAGE + "/new")
async def new_student(request: Request, visit: Visitor, db: DB) -> Response:
    """The form for a new student."""
    _writer(visit.principal)
    values = dict.fromkeys(FIELDS, "") | {"status": "active", "school_id": ""}
    schools = await _schools_to_pick(db, visit.principal)
    return _form_page(
        request,
        visit,
        values=values,
        errors={},
        action=f"{PAGE}/new",
        heading="New student",
        schools=schools,
    )


@router.post(PAGE + "/new")
async def create_student(request: Request, visit: Visitor, db: DB, session: Session) -> Response:
    """Creates the student, then shows their page; the form again, as typed, when a field
    is wrong or the number or email is taken."""
    form = await checked_form(request, visit)
    principal = visit.principal
    _writer(principal)
    values = typed(form) | {"school_id": form.get("school_id", 10).strip()}
    schools = await _schools_to_pick(db, principal)
    body: dict[str, Any] = {k: v for k, v in values.items() if v != ""}
    if principal.school_id is not None:
        body.pop("school_id", None)
    try:
        data = StudentCreate.model_validate(body)
        created = await student_service.create_student(db, session, principal, data)
    except (ValidationError, ValidationFailed, Conflict) as error:
        await session.rollback()
        if isinstance(error, ValidationError):
            errors = field_errors(error)
        elif isinstance(error, ValidationFailed):  # the school of an all-schools admin
            errors = {str((e.get("loc") or [""])[-1]): "is required" for e in error.errors or []}
        else:
            errors = {conflict_field(error): CONFLICT_MESSAGES[conflict_field(error)]}
        if "school_id" in errors:
            errors["school_id"] = "must be chosen"
        return _form_page(
            request,
            visit,
            values=values,
            errors=errors,
            action=f"{PAGE}/new",
            heading="New student",
            schools=schools,
            alert=NOT_SAVED,
            status_code=409 if isinstance(error, Conflict) else 422,
        )
    return views.redirect(request, f"{PAGE}/{created['id']}?done=created")


def version_of(record: dict[str, Any]) -> str:
    """The record's ETag as GET /students/{id} gives it: the edit form's If-Match."""
    return etag_of(orjson.dumps(record))


def as_values(record: dict[str, Any]) -> dict[str, str]:
    return {name: "" if record[name] is None else str(record[name]) for name in FIELDS}


@router.get(PAGE + "/{student_id}/edit")
async def edit_student(request: Request, visit: Visitor, db: DB, student_id: str) -> Response:
    """The form to change a student, filled with what is saved."""
    principal = visit.principal
    _writer(principal)
    record = await student_service.get_student(db, principal, _student_id(student_id))
    name = f"{record['first_name']} {record['last_name']}"
    return _form_page(
        request,
        visit,
        values=as_values(record),
        errors={},
        action=f"{PAGE}/{record['id']}/edit",
        heading=f"Edit {name}",
        record=record,
        version=version_of(record),
    )


def _changes(data: StudentUpdate, record: dict[str, Any]) -> dict[str, Any]:
    """The fields whose value differs from the saved one (a date compared as its text: the
    raw read path of SQLite gives it as text)."""
    return {
        name: value
        for name, value in data.changes().items()
        if str(value) != str(record[name]) and not (name == "email" and value == record[name])
    }


@router.post(PAGE + "/{student_id}/edit")
async def save_student(
    request: Request, visit: Visitor, db: DB, session: Session, student_id: str
) -> Response:
    """Saves the changed fields under the form's version (If-Match): a change someone else
    saved since the form was opened is not overwritten unseen."""
    form = await checked_form(request, visit)
    principal = visit.principal
    _writer(principal)
    sid = _student_id(student_id)
    record = await student_service.get_student(db, principal, sid)
    values = typed(form)
    version = form.get("version", 64)
    heading = f"Edit {record['first_name']} {record['last_name']}"
    action = f"{PAGE}/{sid}/edit"
    errors = dict.fromkeys((name for name in FIELDS if values[name] == ""), "is required")
    try:
        data = StudentUpdate.model_validate({k: v for k, v in values.items() if v != ""})
    except ValidationError as error:
        errors = field_errors(error) | errors
    if errors:
        return _form_page(
            request,
            visit,
            values=values,
            errors=errors,
            action=action,
            heading=heading,
            record=record,
            version=version,
            alert=NOT_SAVED,
            status_code=422,
        )
    changes = _changes(data, record)
    if not changes:
        return views.redirect(request, f"{PAGE}/{sid}?done=unchanged")
    try:
        target = Target(sid, version or None)
        update = StudentUpdate.model_validate(changes)
        await student_service.update_student(db, session, principal, target, update)
    except (Conflict, PreconditionFailed) as error:
        await session.rollback()
        alert = NOT_SAVED
        status_code = 409
        if isinstance(error, Conflict):
            errors = {conflict_field(error): CONFLICT_MESSAGES[conflict_field(error)]}
        else:
            alert = (
                "Someone else changed this student since you opened the form. The saved "
                "record is on the student's page; saving this form again replaces it with "
                "what you typed here."
            )
            version = version_of(record)
            status_code = 412
        return _form_page(
            request,
            visit,
            values=values,
            errors=errors,
            action=action,
            heading=heading,
            record=record,
            version=version,
            alert=alert,
            status_code=status_code,
        )
    return views.redirect(request, f"{PAGE}/{sid}?done=saved")


# --- a student's page -----------------------------------------------------------------------


@router.get(PAGE + "/{student_id}")
async def student(
    request: Request,
    visit: Visitor,
    db: DB,
    pages: PageCache,
    student_id: str,
    done: str | None = None,
) -> Response:
    """A student with their guardians, enrollments, grades and attendance."""
    principal = visit.principal
    sid = _student_id(student_id)
    record = await student_service.get_student(db, principal, sid)  # 404 out of scope
    guardians = await guardian_service.student_guardians(db, principal, sid)
    enrollments = await enrollment_service.student_enrollments(db, principal, sid)
    _, grades = await grade_service.student_grades_cached(db, pages, principal, sid, None)
    _, attendance = await attendance_service.student_summary_cached(
        db, pages, principal, sid, DateRange()
    )
    context = {
        "title": f"{record['first_name']} {record['last_name']}",
        "student": record,
        "grade_level": grade_name(record["grade_level"]),
        "guardians": guardians,
        "enrollments": enrollments,
        "grades": orjson.loads(grades)["sections"],
        "attendance": orjson.loads(attendance),
        "may_write": _may_write(principal),
        "message": SAVED.get(done or ""),
    }
    current = PAGE if principal.role in ("admin", "staff") else ""
    return render(request, visit, "students/detail.html", context, current=current)


# --- archive and restore ----------------------------------------------------------------------


async def _archive_or_restore(
    request: Request, visit: Visit, db: Database, session: Session, raw_id: str, archive: bool
) -> Response:
    await checked_form(request, visit)
    principal = visit.principal
    _writer(principal)
    sid = _student_id(raw_id)
    if archive:
        await student_service.archive_student(db, session, principal, Target(sid))
    else:
        await student_service.restore_student(db, session, principal, sid)
    return views.redirect(request, f"{PAGE}/{sid}?done={'archived' if archive else 'restored'}")


@router.post(PAGE + "/{student_id}/archive")
async def archive_student(
    request: Request, visit: Visitor, db: DB, session: Session, student_id: str
) -> Response:
    """Archives the student (they leave the list; restore brings them back)."""
    return await _archive_or_restore(request, visit, db, session, student_id, archive=True)


@router.post(PAGE + "/{student_id}/restore")
async def restore_student(
    request: Request, visit: Visitor, db: DB, session: Session, student_id: str
) -> Response:
    """Restores an archived student."""
    return await _archive_or_restore(request, visit, db, session, student_id, archive=False)
