from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from homeroom.jobs import service as job_service
from homeroom.jobs.schemas import JobFilters, JobList, JobRead
from homeroom.kit.auth import CurrentPrincipal
from homeroom.kit.deps import DB
from homeroom.kit.params import query_model
from homeroom.kit.responses import PRIVATE, json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import PathId

router = APIRouter(prefix="/jobs", tags=["jobs"], route_class=Route)


@router.get("", response_model=JobList)
async def list_jobs(
    request: Request,
    principal: CurrentPrincipal,
    db: DB,
    filters: Annotated[JobFilters, query_model(JobFilters)],
) -> Response:
    """The caller's own background jobs (exports, imports, report cards), newest first."""
    return json_response(request, await job_service.list_jobs(db, principal, filters))


@router.get("/{job_id}", response_model=JobRead)
async def get_job(
    request: Request, principal: CurrentPrincipal, db: DB, job_id: PathId
) -> Response:
    """A job's status and progress (0-100); once it succeeded, `download_url` fetches its file.
    Only the job's owner sees it: anyone else gets 404."""
    return json_response(request, await job_service.get_job(db, principal, job_id))


@router.get(
    "/{job_id}/download",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The job's file"},
        404: {"description": "No such job of yours, or it made no file"},
        409: {"description": "The job has not finished"},
        410: {"description": "The file has expired"},
    },
)
async def download(
    request: Request, principal: CurrentPrincipal, db: DB, job_id: PathId
) -> Response:
    """The file a finished job made, streamed; its owner only (anyone else: 404)."""
    file = await job_service.job_file(db, principal, job_id)
    headers = {
        "ETag": file.etag,
        "Cache-Control": PRIVATE,
        "Content-Disposition": attachment(file.name),
        "Content-Length": str(file.size),
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and file.etag in (
        t.strip().removeprefix("W/") for t in if_none_match.split(",")
    ):
        return Response(status_code=304, headers=headers)
    return StreamingResponse(file.chunks(), media_type=file.media_type, headers=headers)


def attachment(file_name: str) -> str:
    """A Content-Disposition naming the file, safe for any name (RFC 6266 / 5987)."""
    ascii_name = "".join(c if c.isalnum() or c in "._- " else "_" for c in file_name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"
