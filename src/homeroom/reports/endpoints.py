"""Report cards and transcripts as PDF (or JSON), one at a time or a zip of many as a job."""

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from homeroom.jobs.schemas import JobRead
from homeroom.kit.auth import GradesRead, ReportsBulk
from homeroom.kit.cpu import run_cpu
from homeroom.kit.deps import DB, Session
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import PathId
from homeroom.reports import service as report_service
from homeroom.reports.pdf import Kind, file_name, pdf_response, wants_json
from homeroom.reports.schemas import (
    ReportCard,
    ReportCardQuery,
    ReportCardsCreate,
    Transcript,
    TranscriptQuery,
)

router = APIRouter(tags=["reports"], route_class=Route)

PDF_OR_JSON: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The document as PDF, or its data as JSON (`format=json` or "
        "`Accept: application/json`)",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    },
    304: {"description": "Unchanged since the ETag sent in If-None-Match"},
}


async def _document(
    request: Request,
    data: dict[str, Any],
    fmt: str | None,
    kind: Kind,
    filename: str,
) -> Response:
    if wants_json(fmt, request.headers.get("accept")):
        response = json_response(request, data)
    else:
        response = await pdf_response(request, kind, data, filename, run_cpu)
    if fmt is None:  # the representation was chosen by the Accept header
        response.headers["Vary"] = "Accept"
    return response


@router.get(
    "/students/{student_id}/report-card",
    response_model=ReportCard,
    responses=PDF_OR_JSON,
    description="School, student, term, each section's weighted final percentage and "
    "letter, the term's attendance and the teachers' comments on graded work. A teacher "
    "gets the sections they teach only.",
)
async def report_card(
    request: Request,
    principal: GradesRead,
    db: DB,
    student_id: PathId,
    query: Annotated[ReportCardQuery, query_model(ReportCardQuery)],
) -> Response:
    """A student's report card for a term, as PDF (or JSON)."""
    card = await report_service.report_card(db, principal, student_id, query.term_id)
    name = file_name("report-card", card["student"]["student_number"], card["term"]["name"])
    return await _document(request, card, query.format, "report_card", name)


@router.get(
    "/students/{student_id}/transcript",
    response_model=Transcript,
    responses=PDF_OR_JSON,
    description=f"Every term's sections with final percentage, letter and credits. "
    f"{report_service.GPA_RULE}. A teacher gets the sections they teach only.",
)
async def transcript(
    request: Request,
    principal: GradesRead,
    db: DB,
    student_id: PathId,
    query: Annotated[TranscriptQuery, query_model(TranscriptQuery)],
) -> Response:
    """A student's transcript across terms with term and cumulative GPA, as PDF (or JSON)."""
    data = await report_service.transcript(db, principal, student_id)
    name = file_name("transcript", data["student"]["student_number"])
    return await _document(request, data, query.format, "transcript", name)


@router.post(
    "/report-cards",
    response_model=JobRead,
    status_code=202,
    description="Staff and admins: a section or a grade level of their school; teachers: "
    "a section they teach. Answers the queued job (its `Location` is GET /jobs/{id}: status, "
    "progress, and once it succeeded a `download_url`). The file is a zip with one PDF per "
    "student, named `<student number>-<last name>-<first name>.pdf`.",
)
async def create_report_cards(
    request: Request, principal: ReportsBulk, db: DB, session: Session, data: ReportCardsCreate
) -> Response:
    """Start a job making the report card of every student of a section or grade level."""
    job = await report_service.submit_report_cards(db, session, principal, data)
    location = {"Location": f"/api/v1/jobs/{job['id']}"}
    return json_response(request, job, status_code=202, headers=location)
