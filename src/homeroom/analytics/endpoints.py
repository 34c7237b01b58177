from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.analytics import service as analytics_service
from homeroom.analytics.schemas import (
    FINAL_DEFINITION,
    RATE_DEFINITION,
    Dashboard,
    DashboardQuery,
    MeQuery,
    MyAnalytics,
    SectionAnalytics,
)
from homeroom.kit.auth import AnalyticsMe, AnalyticsSchool, Authenticated, Principal
from homeroom.kit.cache import cached_response
from homeroom.kit.deps import DB, PageCache
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import PathId

router = APIRouter(prefix="/analytics", tags=["analytics"], route_class=Route)

# The section's teacher ("analytics:section") and the school's staff ("analytics:school"):
# the service checks for either, then the row scope.
SectionAnalyst = Annotated[Principal, Depends(Authenticated())]


@router.get(
    "/dashboard",
    response_model=Dashboard,
    description="Staff and administrators. Students by status, enrollments per term, "
    "attendance today, this week and over the last school days, final grades by letter per "
    "course, students at risk (attendance below `attendance_threshold` or a failing final "
    "grade in a current enrollment) and the latest audit log entries. Attendance: "
    f"{RATE_DEFINITION}. Final grades: {FINAL_DEFINITION}. Served from the cache until "
    "anything of the school is written (never stale).",
)
async def dashboard(
    request: Request,
    principal: AnalyticsSchool,
    db: DB,
    pages: PageCache,
    query: Annotated[DashboardQuery, query_model(DashboardQuery)],
) -> Response:
    """The school's dashboard."""
    entry = await analytics_service.dashboard_cached(db, pages, principal, query)
    return cached_response(request, entry)


@router.get(
    "/sections/{section_id}",
    response_model=SectionAnalytics,
    description="The section's teacher, and staff and administrators of its school. Each "
    "student's final grade and attendance, statistics of each assessment over the roster's "
    f"scores, attendance per session. Attendance: {RATE_DEFINITION}. Final grades: "
    f"{FINAL_DEFINITION}.",
)
async def section(
    request: Request, principal: SectionAnalyst, db: DB, section_id: PathId
) -> Response:
    """A section's grades and attendance."""
    body = await analytics_service.section_analytics(db, principal, section_id)
    return json_response(request, body)


@router.get(
    "/me",
    response_model=MyAnalytics,
    description="A student's own figures; a guardian's, for each of their children: final "
    "grade per section, attendance, upcoming assessments (due on `date` or later, soonest "
    f"first); an administrator has none. Attendance: {RATE_DEFINITION}. Final grades: "
    f"{FINAL_DEFINITION}.",
)
async def me(
    request: Request,
    principal: AnalyticsMe,
    db: DB,
    pages: PageCache,
    query: Annotated[MeQuery, query_model(MeQuery)],
) -> Response:
    """My grades, attendance and upcoming work."""
    return cached_response(request, await analytics_service.me_cached(db, pages, principal, query))
