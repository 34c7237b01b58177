from typing import Annotated

from fastapi import APIRouter, Request, Response

from homeroom.attendance import repository
from homeroom.attendance import service as attendance_service
from homeroom.attendance.schemas import (
    RATE_DEFINITION,
    AttendanceBulk,
    AttendanceRead,
    BulkResult,
    DateRange,
    SectionAttendanceSummary,
    StudentAttendanceSummary,
)
from homeroom.kit.auth import AttendanceRead as CanReadAttendance
from homeroom.kit.auth import AttendanceWrite as CanWriteAttendance
from homeroom.kit.cache import cached_response
from homeroom.kit.crud import standard_routes
from homeroom.kit.deps import DB, PageCache, Session
from homeroom.kit.idempotency import IDEMPOTENT
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import PathId

router = APIRouter(prefix="/attendance", tags=["attendance"], route_class=Route)
# Attendance summaries that hang off a student or a section.
student_router = APIRouter(prefix="/students", tags=["attendance"], route_class=Route)
section_router = APIRouter(prefix="/sections", tags=["attendance"], route_class=Route)


@router.post(
    "/bulk",
    response_model=BulkResult,
    description="Up to 1000 rows. Taking the same day again updates the records: each row "
    "sets the student's status and note (an omitted note clears it). All or nothing: any bad "
    "row (not enrolled, listed twice, bad status) answers 422 naming every bad row, and "
    "nothing is written.",
    openapi_extra=IDEMPOTENT,
)
async def record_bulk_attendance(
    request: Request, principal: CanWriteAttendance, db: DB, session: Session, data: AttendanceBulk
) -> Response:
    """Take a section's attendance for a day, all or nothing."""
    result = await attendance_service.record_bulk(db, session, principal, data)
    return json_response(request, result)


standard_routes(
    router,
    AttendanceRead,
    CanReadAttendance,
    CanWriteAttendance,
    repository.LISTING,
    attendance_service.WRITES,
    id_name="record_id",
    get_name="get_attendance",
)


@student_router.get(
    "/{student_id}/attendance",
    response_model=StudentAttendanceSummary,
    description=f"Counts per status, overall and per section. {RATE_DEFINITION}.",
)
async def student_attendance(
    request: Request,
    principal: CanReadAttendance,
    db: DB,
    pages: PageCache,
    student_id: PathId,
    period: Annotated[DateRange, query_model(DateRange)],
) -> Response:
    """A student's attendance counts and rate, overall and per section."""
    summary = await attendance_service.student_summary_cached(
        db, pages, principal, student_id, period
    )
    return cached_response(request, summary)


@section_router.get(
    "/{section_id}/attendance",
    response_model=SectionAttendanceSummary,
    description=f"Counts per student and per date; staff and the section's teacher only. "
    f"{RATE_DEFINITION}.",
)
async def section_attendance(
    request: Request,
    principal: CanReadAttendance,
    db: DB,
    pages: PageCache,
    section_id: PathId,
    period: Annotated[DateRange, query_model(DateRange)],
) -> Response:
    """A section's attendance: rate, counts per student and per date."""
    summary = await attendance_service.section_summary_cached(
        db, pages, principal, section_id, period
    )
    return cached_response(request, summary)
