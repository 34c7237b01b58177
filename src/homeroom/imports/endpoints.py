"""CSV and XLSX imports: validated whole, written all-or-nothing, idempotent by natural keys.

One upload route and one template route per kind (students, guardians, enrollments, grades,
attendance), each guarded by that kind's write permission.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from homeroom.imports import columns as cols
from homeroom.imports import service as import_service
from homeroom.imports.schemas import ImportCatalog, ImportJob, ImportResult
from homeroom.imports.uploads import read_upload
from homeroom.kit.auth import CurrentPrincipal, Principal, require
from homeroom.kit.deps import DB, HeavySession
from homeroom.kit.errors import PROBLEM_JSON
from homeroom.kit.idempotency import IDEMPOTENT
from homeroom.kit.responses import PRIVATE, etag_of, json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Id

router = APIRouter(prefix="/imports", tags=["imports"], route_class=Route)

Encoding = Literal["utf-8", "cp1252", "latin-1", "utf-16"]
DateOrder = Literal["dmy", "mdy"]

_PROBLEM: dict[str, Any] = {"content": {PROBLEM_JSON: {}}}
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "text/csv": {"schema": {"type": "string"}},
            import_service.XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("", response_model=ImportCatalog)
async def list_import_kinds(request: Request, principal: CurrentPrincipal) -> Response:
    """What the caller may import: each kind's columns, synonyms and template links."""
    return json_response(request, import_service.catalog(principal))


def _upload_route(kind: cols.Kind) -> Callable[..., Awaitable[Response]]:
    async def upload(
        request: Request,
        principal: Annotated[Principal, require(kind.permission)],
        db: DB,
        session: HeavySession,
        dry_run: Annotated[bool, Query(description="Check every row, write nothing")] = False,
        school_id: Annotated[Id | None, Query(description="Only for an all-schools admin")] = None,
        encoding: Annotated[
            Encoding | None, Query(description="A CSV's encoding when it is not UTF-8")
        ] = None,
        date_order: Annotated[
            DateOrder | None, Query(description="How to read 03/04/2026: dmy or mdy")
        ] = None,
    ) -> Response:
        received = await read_upload(request, import_service.limits.max_bytes)
        options = import_service.Options(
            dry_run, school_id, encoding, date_order, received.file_name
        )
        status, body = await import_service.import_file(
            db, session, principal, kind.name, received.data, options
        )
        return json_response(request, body, status_code=status)

    upload.__doc__ = f"Import {kind.name} from a CSV or XLSX file, all or nothing."
    upload.__name__ = f"import_{kind.name}"
    return upload


def _template_route(kind: cols.Kind) -> Callable[..., Awaitable[Response]]:
    async def template(
        request: Request,
        principal: Annotated[Principal, require(kind.permission)],
        file_format: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
    ) -> Response:
        body, media_type, file_name = import_service.template(kind.name, file_format)
        etag = etag_of(body)
        headers = {
            "ETag": etag,
            "Cache-Control": PRIVATE,
            "Content-Disposition": f'attachment; filename="{file_name}"',
        }
        if etag in _validators(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)
        return Response(body, headers=headers, media_type=media_type)

    template.__doc__ = f"The {kind.name} import template: the header and one example row."
    template.__name__ = f"{kind.name}_import_template"
    return template


def _validators(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",")]


for _kind in cols.KINDS.values():
    router.add_api_route(
        f"/{_kind.name}",
        _upload_route(_kind),
        methods=["POST"],
        response_model=ImportResult,
        description=_kind.description
        + " Columns: "
        + ", ".join(c.name for c in _kind.columns)
        + ". Send the file as multipart/form-data (field 'file') or as the raw body.",
        responses={
            202: {"model": ImportJob, "description": "A large import, queued as a job"},
            413: {**_PROBLEM, "description": "The file is too large"},
            415: {**_PROBLEM, "description": "Not a CSV or XLSX file"},
            422: {**_PROBLEM, "description": "Invalid rows (errors lists each); nothing written"},
        },
        openapi_extra={**_UPLOAD_BODY, **IDEMPOTENT},
    )
    router.add_api_route(
        f"/{_kind.name}/template",
        _template_route(_kind),
        methods=["GET"],
        response_class=Response,
        responses={
            200: {
                "content": {"text/csv": {}, import_service.XLSX: {}},
                "description": "The template",
            }
        },
    )
