"""Liveness, readiness and Prometheus metrics: never cached (no-store), always fresh."""

from fastapi import APIRouter, Request, Response

from homeroom.kit.deps import DB
from homeroom.kit.errors import problem
from homeroom.kit.metrics import exposition
from homeroom.kit.responses import NO_STORE, json_response
from homeroom.kit.routing import Route
from homeroom.ops import repository

router = APIRouter(tags=["operations"], route_class=Route)


@router.get("/healthz")
async def healthz(request: Request) -> Response:
    """Liveness: the process answers."""
    return json_response(request, {"status": "ok"}, cache_control=NO_STORE)


@router.get("/readyz")
async def readyz(request: Request, db: DB) -> Response:
    """Readiness: the database answers."""
    try:
        await repository.ping(db)
    except Exception as exc:  # any failure to reach the database means "not ready"
        return problem(
            503,
            "Service unavailable",
            f"database unreachable: {type(exc).__name__}",
            headers={"Cache-Control": NO_STORE},
        )
    return json_response(request, {"status": "ready"}, cache_control=NO_STORE)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus metrics of every worker process."""
    body, media_type = exposition()
    return Response(body, media_type=media_type, headers={"Cache-Control": NO_STORE})
