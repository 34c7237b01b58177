from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import StreamingResponse

from homeroom.exports import service as export_service
from homeroom.exports.schemas import ExportJobFilters, ExportRequest, ExportSort
from homeroom.exports.service import Export
from homeroom.exports.writers import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from homeroom.jobs.schemas import JobList, JobRead
from homeroom.kit.auth import CurrentPrincipal, ExportsCreate, StudentsRead
from homeroom.kit.deps import DB, PageCache, Session
from homeroom.kit.params import query_model
from homeroom.kit.responses import PRIVATE, json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import PathId
from homeroom.students.schemas import StudentFilters

router = APIRouter(tags=["exports"], route_class=Route)

Filters = Annotated[StudentFilters, query_model(StudentFilters)]
Sort = Annotated[ExportSort, query_model(ExportSort)]


def _streamed(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {}}, "description": "The file, streamed"}}


def _stream(export: Export, chunks: AsyncIterator[bytes]) -> StreamingResponse:
    # A stream has no ETag (its bytes are not known before they are sent): each download
    # gets the current list. Personal data: private, never kept by a shared cache.
    return StreamingResponse(
        chunks,
        media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.file_name}"',
            "Cache-Control": PRIVATE,
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/export/students/csv", response_class=StreamingResponse, responses=_streamed(CSV_MEDIA_TYPE)
)
async def export_students_csv(
    principal: StudentsRead, db: DB, pages: PageCache, filters: Filters, sort: Sort
) -> StreamingResponse:
    """The caller's student list (GET /students' filters and sort, every page) as CSV."""
    return _stream(
        *await export_service.students_stream(db, pages, principal, filters, sort.sort, "csv")
    )


@router.get(
    "/export/students/excel",
    response_class=StreamingResponse,
    responses=_streamed(XLSX_MEDIA_TYPE),
)
async def export_students_excel(
    principal: StudentsRead, db: DB, pages: PageCache, filters: Filters, sort: Sort
) -> StreamingResponse:
    """The caller's student list (GET /students' filters and sort, every page) as XLSX."""
    return _stream(
        *await export_service.students_stream(db, pages, principal, filters, sort.sort, "xlsx")
    )


@router.post("/exports", response_model=JobRead, status_code=202)
async def create_export(
    request: Request,
    principal: ExportsCreate,
    db: DB,
    session: Session,
    data: Annotated[ExportRequest, Body(discriminator="kind")],
) -> Response:
    """Start a background export of students, grades, attendance or enrollments; poll
    GET /exports/{id} and fetch `download_url` once it succeeded."""
    job = await export_service.submit(db, session, principal, data)
    return json_response(request, job, status_code=202)


@router.get("/exports", response_model=JobList)
async def list_exports(
    request: Request,
    principal: CurrentPrincipal,
    db: DB,
    filters: Annotated[ExportJobFilters, query_model(ExportJobFilters)],
) -> Response:
    """The caller's own export jobs, newest first."""
    return json_response(request, await export_service.list_jobs(db, principal, filters))


@router.get("/exports/{export_id}", response_model=JobRead)
async def get_export(
    request: Request, principal: CurrentPrincipal, db: DB, export_id: PathId
) -> Response:
    """An export job's status and progress, and its download_url once it succeeded (the
    owner's only: anyone else gets 404)."""
    return json_response(request, await export_service.get_job(db, principal, export_id))
