"""create_app(): middleware, routers, lifespan. Nothing else."""

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from homeroom import __version__
from homeroom.analytics.endpoints import router as analytics
from homeroom.assessments.endpoints import categories_router as assessment_categories
from homeroom.assessments.endpoints import router as assessments
from homeroom.attendance.endpoints import router as attendance
from homeroom.attendance.endpoints import section_router as section_attendance
from homeroom.attendance.endpoints import student_router as student_attendance
from homeroom.audit.endpoints import router as audit_logs
from homeroom.auth.endpoints import router as auth
from homeroom.batch.endpoints import router as batch
from homeroom.config import Settings, get_settings
from homeroom.courses.endpoints import router as courses
from homeroom.enrollments.endpoints import router as enrollments
from homeroom.exports.endpoints import router as exports
from homeroom.grades.endpoints import router as grades
from homeroom.grades.endpoints import student_router as student_grades
from homeroom.guardians.endpoints import router as guardians
from homeroom.imports.endpoints import router as imports
from homeroom.imports.uploads import largest_request as largest_upload_request
from homeroom.jobs.broker import JobRuntime
from homeroom.jobs.endpoints import router as jobs_router
from homeroom.kit import cpu
from homeroom.kit.cache import ResponseCache
from homeroom.kit.compression import Compress
from homeroom.kit.db import Database
from homeroom.kit.docs import add_docs_routes
from homeroom.kit.errors import install_error_handlers
from homeroom.kit.fastpath import FastReads
from homeroom.kit.guards import LimitBody, RefuseNul
from homeroom.kit.logging import configure_logging
from homeroom.kit.metrics import RequestMetrics
from homeroom.kit.response_check import CheckResponses
from homeroom.kit.routing import document_conditional_writes, index_routes
from homeroom.kit.security import TokenDecoder
from homeroom.notifications.endpoints import router as notifications
from homeroom.ops.endpoints import router as ops
from homeroom.reports.endpoints import router as reports
from homeroom.sections.endpoints import router as sections
from homeroom.students.endpoints import router as students
from homeroom.teachers.endpoints import router as teachers
from homeroom.terms.endpoints import router as terms
from homeroom.users.endpoints import router as users
from homeroom.web.routes import add_web_routes

API_ROUTERS = (
    auth,
    students,
    guardians,
    teachers,
    terms,
    courses,
    sections,
    enrollments,
    assessments,
    assessment_categories,
    grades,
    student_grades,
    attendance,
    student_attendance,
    section_attendance,
    users,
    audit_logs,
    batch,
    jobs_router,
    notifications,
    exports,
    imports,
    reports,
    analytics,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings)
        await db.start()
        app.state.db = db
        cache = ResponseCache(db, settings)
        await cache.start()
        app.state.cache = cache
        # With no external broker, API processes run the jobs themselves.
        jobs = JobRuntime(db, settings, runs_jobs=not settings.broker_url)
        await jobs.start()
        app.state.jobs = jobs
        cpu.warm()
        # What start-up built (modules, models, compiled queries) lives as long as the
        # process: out of the collector's reach, a full collection no longer walks it (pauses
        # of tens of milliseconds under load, seen in the p99).
        gc.collect()
        gc.freeze()
        sys.setswitchinterval(0.0005)
        try:
            yield
        finally:
            await jobs.close()
            await cache.close()
            await db.close()
            cpu.shutdown()

    app = FastAPI(
        title="Homeroom",
        version=__version__,
        summary="School records, attendance, grades and reports: fast by construction.",
        lifespan=lifespan,
        docs_url=None,  # add_docs_routes serves them without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.token_decoder = TokenDecoder(settings)
    install_error_handlers(app)
    app.add_middleware(FastReads, fastapi=app)  # innermost: after the guards and the metrics
    if settings.check_responses:
        app.add_middleware(CheckResponses)  # around FastReads: sees both paths' answers
    app.add_middleware(
        LimitBody,
        limit=settings.max_body_bytes,
        # The web UI's import form (web/imports) takes the same files as the API.
        larger={
            "/api/v1/imports/": largest_upload_request(),
            "/imports/": largest_upload_request(),
        },
        grace_seconds=settings.body_grace_seconds,
    )
    app.add_middleware(RefuseNul)
    app.add_middleware(RequestMetrics)
    app.add_middleware(Compress)  # outermost: also compresses error bodies
    if settings.forwarded_allow_ips:
        # Outside everything: the scheme and the client address are the proxy's word.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)

    for router in API_ROUTERS:
        app.include_router(router, prefix="/api/v1")
    app.include_router(ops)
    document_conditional_writes(app)
    add_docs_routes(app)
    add_web_routes(app)
    index_routes(app)
    return app
