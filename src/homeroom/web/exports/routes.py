"""Exports: start a background export (students, grades, attendance or enrollments, as CSV
or Excel), follow its progress live and download the file, by the API's rules (the
exports:create permission; a job and its file are its owner's only)."""

from typing import Annotated

from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from homeroom.enums import UNFINISHED_JOB_STATES
from homeroom.exports import service as export_service
from homeroom.exports.schemas import ExportJobFilters, export_request
from homeroom.jobs import service as job_service
from homeroom.jobs.endpoints import attachment
from homeroom.kit.auth import can
from homeroom.kit.deps import Session
from homeroom.kit.errors import Forbidden
from homeroom.kit.responses import PRIVATE, matches_if_none_match
from homeroom.kit.schemas import PathId
from homeroom.web import views
from homeroom.web.pages import Visit, Visitor, checked_form, db_of, render, web_router

router = web_router()

URL = "/exports"
PAGE_SIZE = 25
MAX_OFFSET = 1_000_000
KINDS = {
    "students": "Students (the school's list)",
    "grades": "Grades (one row per student and assessment)",
    "attendance": "Attendance records",
    "enrollments": "Enrollments",
}
FORMATS = {"csv": "CSV", "xlsx": "Excel (.xlsx)"}


def _allowed(visit: Visit) -> None:
    if not can(visit.principal, "exports:create"):
        raise Forbidden("your role may not export")


def _row_context(job: dict[str, object]) -> dict[str, object]:
    return {"job": job, "unfinished": UNFINISHED_JOB_STATES, "kinds": KINDS, "formats": FORMATS}


async def _page(
    request: Request,
    visit: Visit,
    offset: int = 0,
    *,
    alert: str | None = None,
    chosen: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    filters = ExportJobFilters(limit=PAGE_SIZE, offset=offset)
    jobs = await export_service.list_jobs(db_of(request), visit.principal, filters)
    context = {
        "title": "Exports",
        "jobs": jobs,
        "unfinished": UNFINISHED_JOB_STATES,
        "kinds": KINDS,
        "formats": FORMATS,
        "chosen": chosen or {"kind": "students", "format": "csv"},
        "alert": alert,
        "newer": max(offset - PAGE_SIZE, 0) if offset else None,
        "older": offset + PAGE_SIZE if offset + PAGE_SIZE < jobs["total"] else None,
    }
    return render(
        request, visit, "exports/page.html", context, current=URL, status_code=status_code
    )


@router.get(URL)
async def exports_page(
    request: Request,
    visit: Visitor,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """The export form and my export jobs, newest first; unfinished ones update live."""
    _allowed(visit)
    return await _page(request, visit, offset)


@router.post(URL)
async def start_export(request: Request, visit: Visitor, session: Session) -> Response:
    """Queues an export job (exports.service.submit) and goes back to the list."""
    _allowed(visit)
    form = await checked_form(request, visit)
    chosen = {"kind": form.get("kind", 20), "format": form.get("format", 10)}
    try:
        data = export_request.validate_python(chosen)
    except ValidationError:
        alert = "Choose what to export and a format from the lists."
        return await _page(request, visit, alert=alert, chosen=chosen, status_code=422)
    await export_service.submit(db_of(request), session, visit.principal, data)
    return views.redirect(request, URL)


@router.get(URL + "/{export_id}/row")
async def export_row(request: Request, visit: Visitor, export_id: PathId) -> Response:
    """One job's row of the list (htmx polls it while the job is queued or running; the row
    of a finished job no longer asks to be polled)."""
    _allowed(visit)
    job = await export_service.get_job(db_of(request), visit.principal, export_id)
    return render(request, visit, "exports/row.html", _row_context(job), current=URL)


@router.get(URL + "/{export_id}/download")
async def download_export(request: Request, visit: Visitor, export_id: PathId) -> Response:
    """The finished export's file, streamed as GET /api/v1/jobs/{id}/download serves it: its
    owner's only (404 for anyone else), 409 while it runs, 410 once it expired."""
    _allowed(visit)
    db = db_of(request)
    await export_service.get_job(db, visit.principal, export_id)  # an export of mine, or 404
    file = await job_service.job_file(db, visit.principal, export_id)
    headers = {
        "ETag": file.etag,
        "Cache-Control": PRIVATE,
        "Content-Disposition": attachment(file.name),
        "Content-Length": str(file.size),
        "X-Content-Type-Options": "nosniff",
    }
    if matches_if_none_match(request, file.etag):
        return Response(status_code=304, headers=headers)
    return StreamingResponse(file.chunks(), media_type=file.media_type, headers=headers)
