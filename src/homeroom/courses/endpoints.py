from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.courses import repository
from homeroom.courses import service as course_service
from homeroom.courses.schemas import CourseCreate, CourseFilters, CourseRead, CourseUpdate
from homeroom.kit.auth import CoursesRead, CoursesWrite
from homeroom.kit.cache import cached_response
from homeroom.kit.deps import DB, PageCache, Session
from homeroom.kit.pagination import PageRequest, page_body, page_request, plan_page
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId

router = APIRouter(prefix="/courses", tags=["courses"], route_class=Route)


@router.get("", response_model=Page[CourseRead])
async def list_courses(
    request: Request,
    principal: CoursesRead,
    db: DB,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[CourseFilters, query_model(CourseFilters)],
) -> Response:
    """List courses (students and guardians see published ones), with filters and search."""
    plan = plan_page(page, repository.SORTING)
    rows, total = await course_service.list_courses(db, principal, filters, plan)
    body, headers = page_body(request, rows, total, plan, repository.SORTING, repository.to_item)
    return json_response(request, body, headers=headers)


@router.post("", response_model=CourseRead, status_code=201)
async def create_course(
    request: Request, principal: CoursesWrite, db: DB, session: Session, data: CourseCreate
) -> Response:
    """Create a course in a term of your school."""
    course = await course_service.create_course(db, session, principal, data)
    return json_response(request, course, status_code=201)


@router.get("/{course_id}", response_model=CourseRead)
async def get_course(
    request: Request, principal: CoursesRead, db: DB, pages: PageCache, course_id: PathId
) -> Response:
    """Read one course."""
    return cached_response(
        request, await course_service.get_course_cached(db, pages, principal, course_id)
    )


@router.patch("/{course_id}", response_model=CourseRead)
async def update_course(
    request: Request,
    principal: CoursesWrite,
    db: DB,
    session: Session,
    course_id: PathId,
    data: CourseUpdate,
) -> Response:
    """Change a course; send If-Match with the ETag you read."""
    course = await course_service.update_course(
        db, session, principal, course_id, data, request.headers.get("if-match")
    )
    return json_response(request, course)


@router.delete("/{course_id}", status_code=204)
async def delete_course(
    request: Request, principal: CoursesWrite, db: DB, session: Session, course_id: PathId
) -> Response:
    """Delete a course that has no sections."""
    await course_service.delete_course(
        db, session, principal, course_id, request.headers.get("if-match")
    )
    return Response(status_code=204)
