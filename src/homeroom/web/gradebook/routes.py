"""A section's gradebook: students x assessments, each student's weighted final percentage
and letter (grades.service.gradebook, by the rule of the student's own grades page), the
category weights, and a new assessment.

Scores are saved with the grades domain's bulk write, one per assessment whose column
changed, all in the request's one transaction; a cleared score deletes its grade. Every score
is checked before anything is written: a bad one re-renders the grid with the errors and
writes nothing."""

import math
from typing import Any

import pydantic
from fastapi import Request, Response

from homeroom.assessments import service as assessment_service
from homeroom.assessments.schemas import AssessmentCreate, CategoryIn
from homeroom.grades import rules as grade_rules
from homeroom.grades import service as grade_service
from homeroom.grades.schemas import BulkGrades
from homeroom.kit.deps import Session
from homeroom.kit.errors import Conflict, ValidationFailed
from homeroom.kit.writes import Target
from homeroom.web import views
from homeroom.web.gradebook.grid import CELL, grid_rows, score_text
from homeroom.web.pages import Visit, Visitor, checked_form, db_of, render, web_router
from homeroom.web.sections.teaching import (
    cursor_of,
    ensure_teaching,
    section_id_of,
    sections_page,
)

router = web_router()

GRADEBOOK = "/gradebook"
# The category form: a row per category (at most 50, assessments.schemas.CategorySet) and
# one more to add one, three fields a row.
MAX_CATEGORY_ROWS = 51
SCORE_CHARS = 32


def gradebook_url(section_id: int) -> str:
    return f"/sections/{section_id}/gradebook"


@router.get(GRADEBOOK)
async def choose(request: Request, visit: Visitor) -> Response:
    """Choose a section to open its gradebook."""
    ensure_teaching(visit)
    section = request.query_params.get("section_id")
    if section:
        return views.redirect(request, gradebook_url(section_id_of(section)))
    context = await sections_page(db_of(request), visit, cursor_of(request))
    context["title"] = "Gradebook"
    return render(request, visit, "gradebook/choose.html", context, current=GRADEBOOK)


def seen_of(book: dict[str, Any]) -> str:
    """The scores the grid shows, for its form to send back: a save writes only the cells
    the teacher changed, and none that someone else changed since the page was opened."""
    return ";".join(
        f"s{student['student_id']}-a{aid}={score!r}"
        for student in book["students"]
        for aid, score in student["scores"].items()
    )


def _parse_seen(text: str) -> dict[str, float]:
    seen: dict[str, float] = {}
    for part in text.split(";"):
        name, _, value = part.partition("=")
        score = _parse_score(value)
        if CELL.fullmatch(name) and score is not None:
            seen[name] = score
    return seen


def _status(request: Request) -> str | None:
    saved = request.query_params.get("saved", "")
    if saved.isdigit() and len(saved) <= 6:
        n = int(saved)
        return f"Scores saved: {n} change{'' if n == 1 else 's'}"
    if request.query_params.get("added") == "1":
        return "Assessment added"
    if request.query_params.get("weights") == "1":
        return "Category weights saved"
    return None


async def _page(
    request: Request,
    visit: Visit,
    section_id: int,
    *,
    alert: str | None = None,
    errors: list[str] | None = None,
    where: str = "",
    typed: dict[str, str] | None = None,
    status_code: int = 200,
    book: dict[str, Any] | None = None,
) -> Response:
    """The gradebook of the section; after a refused form, its alert shown by the form it
    concerns (`where`: scores, categories or assessment) and what was typed kept."""
    if book is None:
        book = await grade_service.gradebook(db_of(request), visit.principal, section_id)
    typed = typed or {}
    context = {
        "title": f"Gradebook: {book['course_code']} {book['name']}",
        "book": book,
        "seen": seen_of(book),
        "status": _status(request) if status_code == 200 else None,
        "alert": alert,
        "errors": errors or [],
        "where": where,
        "typed": typed,
        "grid": grid_rows(book, typed),
    }
    return render(
        request,
        visit,
        "gradebook/grid.html",
        context,
        current=GRADEBOOK,
        status_code=status_code,
    )


@router.get("/sections/{section_id}/gradebook")
async def grid(request: Request, visit: Visitor, section_id: str) -> Response:
    """The section's gradebook grid, finals and category weights."""
    ensure_teaching(visit)
    return await _page(request, visit, section_id_of(section_id))


def _parse_score(text: str) -> float | None:
    try:
        score = float(text)
    except ValueError:
        return None
    return score if math.isfinite(score) else None


async def _refused(
    request: Request,
    visit: Visit,
    session: Session,
    section_id: int,
    error: ValidationFailed | Conflict | pydantic.ValidationError,
    where: str,
    typed: dict[str, str],
    lines: list[str] | None = None,
) -> Response:
    """A write the domain refused: nothing of it stays; the page again, with why."""
    await session.rollback()
    if isinstance(error, pydantic.ValidationError):
        alert = "Nothing was saved: correct the fields below."
        raw: list[Any] = list(error.errors())
    else:
        alert = f"Nothing was saved: {error.detail}."
        raw = list(error.errors or [])
    errors = lines if lines is not None else [views.error_line(e) for e in raw]
    return await _page(
        request,
        visit,
        section_id,
        alert=alert,
        errors=errors,
        where=where,
        typed=typed,
        status_code=422 if not isinstance(error, Conflict) else 409,
    )


@router.post("/sections/{section_id}/gradebook")
async def save_scores(
    request: Request, visit: Visitor, session: Session, section_id: str
) -> Response:
    """Saves the grid's changed scores; a cleared score deletes its grade. All or nothing."""
    ensure_teaching(visit)
    sid = section_id_of(section_id)
    db = db_of(request)
    book = await grade_service.gradebook(db, visit.principal, sid)
    cells = len(book["students"]) * len(book["assessments"])
    form = await checked_form(request, visit, max_fields=cells + 8)
    seen = _parse_seen(form.get("seen", 40 * (cells + 1)))
    # What the teacher typed over what the page showed them: only these cells are saved.
    typed: dict[str, str] = {}
    for name in form.fields:
        if CELL.fullmatch(name):
            text, shown = form.get(name, SCORE_CHARS).strip(), seen.get(name)
            same = text == score_text(shown) or (shown is not None and _parse_score(text) == shown)
            if not same:
                typed[name] = text
    assessments = {a["assessment_id"]: a for a in book["assessments"]}
    changed: dict[int, list[dict[str, Any]]] = {}
    cleared: list[int] = []
    errors: list[str] = []
    conflicts: list[str] = []
    conflicted: set[str] = set()
    for student in book["students"]:
        who = f"{student['first_name']} {student['last_name']}"
        for aid, assessment in assessments.items():
            name = f"s{student['student_id']}-a{aid}"
            if name not in typed:
                continue
            text, stored = typed[name], student["scores"].get(aid)
            where = f"Score of {who} on {assessment['title']}"
            if stored != seen.get(name):
                now = "cleared" if stored is None else f"changed to {score_text(stored)}"
                conflicts.append(f"{where}: {now} by someone else since you opened the page")
                conflicted.add(name)
                continue
            if not text:
                if stored is not None:
                    cleared.append(student["grade_ids"][aid])
                continue
            score = _parse_score(text)
            if score is None:
                errors.append(f"{where}: {text!r} is not a number")
            elif not grade_rules.score_in_range(score, assessment["max_points"]):
                message = grade_rules.score_range_message(assessment["max_points"])
                errors.append(f"{where}: {message}")
            elif score != stored:
                changed.setdefault(aid, []).append(
                    {"student_id": student["student_id"], "score": score}
                )
    if conflicts:
        alert = (
            "Nothing was saved: someone changed these scores since you opened the gradebook. "
            "It now shows their scores, with the ones you typed over the others; check them "
            "and save again."
        )
        return await _page(
            request,
            visit,
            sid,
            alert=alert,
            errors=conflicts,
            where="scores",
            typed={k: v for k, v in typed.items() if k not in conflicted},
            status_code=409,
            book=book,
        )
    if errors:
        alert = "Nothing was saved: correct the scores below and save again."
        return await _page(
            request,
            visit,
            sid,
            alert=alert,
            errors=errors,
            where="scores",
            typed=typed,
            status_code=422,
            book=book,
        )
    try:
        for aid, rows in changed.items():
            data = BulkGrades.model_validate({"assessment_id": aid, "grades": rows})
            await grade_service.record_bulk(db, session, visit.principal, data)
        for grade_id in cleared:
            await grade_service.delete_grade(db, session, visit.principal, Target(grade_id))
    except (ValidationFailed, Conflict, pydantic.ValidationError) as error:
        return await _refused(request, visit, session, sid, error, "scores", typed)
    saved = sum(len(rows) for rows in changed.values()) + len(cleared)
    return views.redirect(request, f"{gradebook_url(sid)}?saved={saved}")


@router.post("/sections/{section_id}/gradebook/categories")
async def save_categories(
    request: Request, visit: Visitor, session: Session, section_id: str
) -> Response:
    """Replaces the section's categories and weights (adding up to 100); a row left blank
    removes its category."""
    ensure_teaching(visit)
    sid = section_id_of(section_id)
    form = await checked_form(request, visit, max_fields=3 * MAX_CATEGORY_ROWS + 4)
    typed = {name: form.get(name, 100) for name in form.fields if name.startswith("cat-")}
    items: list[dict[str, Any]] = []
    names: list[str] = []
    for i in range(MAX_CATEGORY_ROWS):
        cid, name = form.get(f"cat-{i}-id", 12), form.get(f"cat-{i}-name", 100).strip()
        weight = form.get(f"cat-{i}-weight", 32).strip()
        if not name and not weight:
            continue
        items.append({"id": cid or None, "name": name, "weight": weight})
        names.append(name or f"Row {i + 1}")
    try:
        categories = pydantic.TypeAdapter(list[CategoryIn]).validate_python(items)
        await assessment_service.replace_categories(
            db_of(request), session, visit.principal, sid, categories
        )
    except (ValidationFailed, Conflict, pydantic.ValidationError) as error:
        raw = error.errors() if isinstance(error, pydantic.ValidationError) else error.errors
        lines = [_category_line(e, names) for e in list(raw or [])]
        return await _refused(request, visit, session, sid, error, "categories", typed, lines)
    return views.redirect(request, f"{gradebook_url(sid)}?weights=1")


def _category_line(error: Any, names: list[str]) -> str:
    """A category error naming the category's row (its name as typed)."""
    loc = [part for part in error.get("loc", ()) if part != "body"]
    message = str(error.get("msg", ""))
    if loc and isinstance(loc[0], int) and loc[0] < len(names):
        field = f" ({loc[1]})" if len(loc) > 1 else ""
        return f"{names[loc[0]]}{field}: {message}"
    return message


# The new assessment's fields by the labels of their controls.
ASSESSMENT_LABELS = {
    "title": "Title",
    "category_id": "Category",
    "max_points": "Max points",
    "due_date": "Due date",
    "section_id": "Section",
}


def _assessment_line(error: Any) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part != "body"]
    message = str(error.get("msg", ""))
    return f"{ASSESSMENT_LABELS.get(loc[0], loc[0])}: {message}" if loc else message


@router.post("/sections/{section_id}/gradebook/assessments")
async def add_assessment(
    request: Request, visit: Visitor, session: Session, section_id: str
) -> Response:
    """Adds an assessment (title, category, points, due date) to the section."""
    ensure_teaching(visit)
    sid = section_id_of(section_id)
    form = await checked_form(request, visit)
    fields = ("title", "category_id", "max_points", "due_date")
    typed = {f"new-{name}": form.get(name, 200) for name in fields}
    values: dict[str, Any] = {"section_id": sid}
    for name in fields:
        value = form.get(name, 200).strip()
        if value or name != "due_date":
            values[name] = value
    try:
        data = AssessmentCreate.model_validate(values)
        await assessment_service.create_assessment(db_of(request), session, visit.principal, data)
    except (ValidationFailed, Conflict, pydantic.ValidationError) as error:
        raw = error.errors() if isinstance(error, pydantic.ValidationError) else error.errors
        lines = [_assessment_line(e) for e in list(raw or [])]
        return await _refused(request, visit, session, sid, error, "assessment", typed, lines)
    return views.redirect(request, f"{gradebook_url(sid)}?added=1")
