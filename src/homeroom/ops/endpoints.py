"""Liveness, readiness and Prometheus metrics."""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from homeroom.kit.deps import DB
from homeroom.kit.errors import problem

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> Response:
    """Liveness: the process answers."""
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/readyz")
async def readyz(db: DB) -> Response:
    """Readiness: the database answers."""
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means "not ready"
        return problem(503, "Service unavailable", f"database unreachable: {type(exc).__name__}")
    return Response(b'{"status":"ready"}', media_type="application/json")


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
