from fastapi import APIRouter, Request, Response

from homeroom.courses import repository, service
from homeroom.courses.schemas import CourseRead
from homeroom.kit.auth import CoursesRead, CoursesWrite
from homeroom.kit.cache import cached_response
from homeroom.kit.crud import standard_routes
from homeroom.kit.deps import DB, PageCache
from homeroom.kit.routing import Route
from homeroom.kit.schemas import PathId

router = APIRouter(prefix="/courses", tags=["courses"], route_class=Route)
standard_routes(router, CourseRead, CoursesRead, CoursesWrite, repository.LISTING, service.WRITES)


@router.get("/{course_id}", response_model=CourseRead)
async def get_course(
    request: Request, principal: CoursesRead, db: DB, pages: PageCache, course_id: PathId
) -> Response:
    """Read one course."""
    return cached_response(
        request, await service.get_course_cached(db, pages, principal, course_id)
    )


# The read answers from the response cache (service.get_course_cached), which the standard
# read does not: it takes the standard read's place, so the routes keep their order.
_names = [getattr(route, "name", None) for route in router.routes]
router.routes[_names.index("get_course")] = router.routes.pop()
