from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.attendance import repository
from homeroom.attendance import service as attendance_service
from homeroom.attendance.schemas import (
    RATE_DEFINITION,
    AttendanceBulk,
    AttendanceCreate,
    AttendanceFilters,
    AttendanceRead,
    AttendanceUpdate,
    BulkResult,
    DateRange,
    SectionAttendanceSummary,
    StudentAttendanceSummary,
)
from homeroom.kit.auth import AttendanceRead as CanReadAttendance
from homeroom.kit.auth import AttendanceWrite as CanWriteAttendance
from homeroom.kit.cache import cached_response
from homeroom.kit.deps import DB, PageCache, Session
from homeroom.kit.idempotency import IDEMPOTENT
from homeroom.kit.pagination import PageRequest, page_body, page_request, plan_page
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId

router = APIRouter(prefix="/attendance", tags=["attendance"], route_class=Route)
# Attendance summaries that hang off a student or a section.
student_router = APIRouter(prefix="/students", tags=["attendance"], route_class=Route)
section_router = APIRouter(prefix="/sections", tags=["attendance"], route_class=Route)


@router.get("", response_model=Page[AttendanceRead])
async def list_attendance(
    request: Request,
    principal: CanReadAttendance,
    db: DB,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[AttendanceFilters, query_model(AttendanceFilters)],
) -> Response:
    """List attendance records visible to the caller, with filters, sort (date, id) and paging."""
    plan = plan_page(page, repository.SORTING)
    rows, total = await attendance_service.list_records(db, principal, filters, plan)
    body, headers = page_body(request, rows, total, plan, repository.SORTING, repository.to_item)
    return json_response(request, body, headers=headers)


@router.post("", response_model=AttendanceRead, status_code=201)
async def create_attendance(
    request: Request,
    principal: CanWriteAttendance,
    db: DB,
    session: Session,
    data: AttendanceCreate,
) -> Response:
    """Record one student's attendance in a section on a date."""
    record = await attendance_service.create_record(db, session, principal, data)
    return json_response(request, record, status_code=201)


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


@router.get("/{record_id}", response_model=AttendanceRead)
async def get_attendance(
    request: Request, principal: CanReadAttendance, db: DB, record_id: PathId
) -> Response:
    """Read one attendance record."""
    return json_response(request, await attendance_service.get_record(db, principal, record_id))


@router.patch("/{record_id}", response_model=AttendanceRead)
async def update_attendance(
    request: Request,
    principal: CanWriteAttendance,
    db: DB,
    session: Session,
    record_id: PathId,
    data: AttendanceUpdate,
) -> Response:
    """Change a record's status or note; send If-Match with the ETag you read."""
    record = await attendance_service.update_record(
        db, session, principal, record_id, data, request.headers.get("if-match")
    )
    return json_response(request, record)


@router.delete("/{record_id}", status_code=204)
async def delete_attendance(
    request: Request, principal: CanWriteAttendance, db: DB, session: Session, record_id: PathId
) -> Response:
    """Delete an attendance record."""
    await attendance_service.delete_record(
        db, session, principal, record_id, request.headers.get("if-match")
    )
    return Response(status_code=204)


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
        db, pages, principal, student_id, period.date_from, period.date_to
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
        db, pages, principal, section_id, period.date_from, period.date_to
    )
    return cached_response(request, summary)
