"""Imports: upload a CSV or XLSX file, see every row error in a dry-run preview that writes
nothing, then import the same file for real (all or nothing), by the API's rules: the kinds
the caller's role may import (imports.service.catalog), the API's size limits and reader
(imports.uploads), the same checks and writes (imports.service).

Between the preview and the confirmation the file waits on the server for a few minutes,
bound to the web session (staging.py); the confirmation checks every row again.
"""

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Query, Request, Response

from homeroom.imports import columns as import_columns
from homeroom.imports import service as import_service
from homeroom.imports.uploads import read_upload
from homeroom.kit.deps import HeavySession
from homeroom.kit.errors import (
    Forbidden,
    HomeroomError,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from homeroom.kit.responses import PRIVATE, etag_of, matches_if_none_match
from homeroom.web.imports.staging import Staged, Staging, StagingFull, new_token
from homeroom.web.pages import (
    FORM_EXPIRED,
    Visit,
    Visitor,
    checked_form,
    db_of,
    render,
    settings_of,
    web_router,
)
from homeroom.web.session import CSRF_FIELD, FormRefused, csrf_valid

router = web_router()

URL = "/imports"
ENCODINGS = {
    "": "Detect it",
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
    "utf-16": "UTF-16",
}
DATE_ORDERS = {"": "Detect it", "dmy": "Day/month/year", "mdy": "Month/day/year"}
EXPIRED = (
    "This preview has expired or was replaced by a newer one (in another tab?). "
    "Upload the file again to see its preview."
)
FILE_REFUSALS = (PayloadTooLarge, UnsupportedMediaType, ValidationFailed)


def _staging(request: Request) -> Staging:
    """The process's staging area (its key derived from the application's key)."""
    state = request.app.state
    staging: Staging | None = getattr(state, "web_import_staging", None)
    if staging is None:
        settings = settings_of(request)
        key = hashlib.sha256(b"homeroom import staging\0" + settings.jwt_secret().encode())
        staging = state.web_import_staging = Staging(settings.var_dir, key.digest())
    return staging


def _kinds(visit: Visit) -> dict[str, Any]:
    """The kinds the caller may import; none at all: this page is not for their role."""
    catalog = import_service.catalog(visit.principal)
    if not catalog["kinds"]:
        raise Forbidden("your role may not import")
    return catalog


def _form_page(
    request: Request,
    visit: Visit,
    *,
    chosen: dict[str, str] | None = None,
    alert: str | None = None,
    errors: list[str] | None = None,
    status: str | None = None,
    status_code: int = 200,
) -> Response:
    catalog = _kinds(visit)
    context = {
        "title": "Imports",
        "catalog": catalog,
        "encodings": ENCODINGS,
        "date_orders": DATE_ORDERS,
        "all_schools": visit.principal.school_id is None,
        "chosen": chosen
        or {"kind": catalog["kinds"][0]["kind"], "encoding": "", "date_order": "", "school_id": ""},
        "alert": alert,
        "errors": errors or [],
        "status": status,
    }
    return render(
        request, visit, "imports/form.html", context, current=URL, status_code=status_code
    )


@router.get(URL)
async def imports_page(request: Request, visit: Visitor) -> Response:
    """The upload form: the kinds the caller may import, their columns and templates."""
    return _form_page(request, visit)


def _template_route(kind: str) -> Callable[..., Awaitable[Response]]:
    async def template(
        request: Request,
        visit: Visitor,
        file_format: Annotated[str, Query(alias="format", max_length=4)] = "csv",
    ) -> Response:
        allowed = {k["kind"] for k in _kinds(visit)["kinds"]}
        if kind not in allowed or file_format not in ("csv", "xlsx"):
            raise NotFound("no such import template")
        body, media_type, file_name = import_service.template(kind, file_format)
        etag = etag_of(body)
        headers = {
            "etag": etag,
            "cache-control": PRIVATE,
            "content-disposition": f'attachment; filename="{file_name}"',
            "x-content-type-options": "nosniff",
        }
        if matches_if_none_match(request, etag):
            return Response(status_code=304, headers=headers)
        return Response(body, headers=headers, media_type=media_type)

    template.__doc__ = (
        f"The {kind} import template (the API's: its header and one example row), for a role "
        f"that may import {kind} (another: 404; a role that imports nothing: 403)."
    )
    template.__name__ = f"{kind}_import_template"
    return template


# One route per kind, as the API has (no path parameter to match against a list).
for _kind in import_columns.KINDS:
    router.add_api_route(f"{URL}/{_kind}/template", _template_route(_kind), methods=["GET"])


def _options(fields: dict[str, str], file_name: str | None) -> tuple[Staged, list[str]]:
    """The upload form's choices as the import reads them (unknown ones: errors)."""
    problems = []
    encoding = fields.get("encoding", "")
    if encoding not in ENCODINGS:
        problems.append("Choose the file's encoding from the list.")
    date_order = fields.get("date_order", "")
    if date_order not in DATE_ORDERS:
        problems.append("Choose how dates are written from the list.")
    raw_school = fields.get("school_id", "").strip()
    school_id = None
    if raw_school:
        if raw_school.isdigit() and len(raw_school) <= 12:
            school_id = int(raw_school)
        else:
            problems.append("The school id is a number.")
    staged = Staged(
        token=new_token(),
        user_id=0,
        kind=fields.get("kind", ""),
        file_name=(file_name or "")[:200] or None,
        encoding=encoding or None,
        date_order=date_order or None,
        school_id=school_id,
    )
    return staged, problems


def _import_options(staged: Staged, *, dry_run: bool) -> import_service.Options:
    return import_service.Options(
        dry_run, staged.school_id, staged.encoding, staged.date_order, staged.file_name
    )


def _error_lines(error: HomeroomError) -> list[str]:
    lines = []
    for item in error.errors or []:
        if "message" in item:
            where = f"Row {item['row']}" if item.get("row") is not None else "The file"
            column = f", column {item['column']}" if item.get("column") else ""
            lines.append(f"{where}{column}: {item['message']}")
        else:
            lines.append(str(item.get("msg", "")))
    return lines


@router.post(URL + "/preview")
async def preview_import(request: Request, visit: Visitor) -> Response:
    """A dry run of the uploaded file (multipart, under the API's import size limit): every
    row error, or how many rows are ready; nothing is written. A file that can be imported
    waits on the server (staging.py) for the confirmation."""
    catalog = _kinds(visit)
    upload = await read_upload(request, import_service.limits.max_bytes)
    token = upload.fields.get(CSRF_FIELD, "")[:128] or request.headers.get("x-csrf-token", "")
    if not csrf_valid(settings_of(request), visit.secret, token[:128]):
        raise FormRefused(403, FORM_EXPIRED)
    staged, problems = _options(upload.fields, upload.file_name)
    chosen = {
        "kind": staged.kind,
        "encoding": staged.encoding or "",
        "date_order": staged.date_order or "",
        "school_id": upload.fields.get("school_id", "")[:12],
    }
    if staged.kind not in {k["kind"] for k in catalog["kinds"]}:
        problems.insert(0, "Choose what the file holds from the list.")
    if problems:
        alert = "The file was not checked."
        return _form_page(
            request, visit, chosen=chosen, alert=alert, errors=problems, status_code=422
        )
    try:
        result = await import_service.dry_run(
            db_of(request),
            visit.principal,
            staged.kind,
            upload.data,
            _import_options(staged, dry_run=True),
        )
    except FILE_REFUSALS as refused:
        return _form_page(
            request,
            visit,
            chosen=chosen,
            alert=f"The file cannot be imported: {refused.detail}.",
            errors=_error_lines(refused),
            status_code=refused.status,
        )
    ready = not result["errors"] and result["rows"] > 0
    if ready:
        staged = replace(staged, user_id=visit.principal.user_id)
        try:
            await _staging(request).keep(visit.secret, staged, upload.data)
        except StagingFull:
            alert = "Too many imports are waiting to be confirmed. Try again in a few minutes."
            return _form_page(request, visit, chosen=chosen, alert=alert, status_code=503)
    kind = next(k for k in catalog["kinds"] if k["kind"] == staged.kind)
    context = {
        "title": "Import preview",
        "result": result,
        "kind": kind,
        "file_name": staged.file_name,
        "ready": ready,
        "token": staged.token,
    }
    return render(request, visit, "imports/preview.html", context, current=URL)


@router.post(URL + "/apply")
async def apply_import(request: Request, visit: Visitor, session: HeavySession) -> Response:
    """Imports the file the preview showed (its token), all or nothing: every row is checked
    again; any error and nothing is written. A large file is queued as a background job."""
    _kinds(visit)
    form = await checked_form(request, visit)
    taken = await _staging(request).take(visit.secret, form.get("token", 64))
    if taken is None or taken[0].user_id != visit.principal.user_id:
        return _form_page(request, visit, alert=EXPIRED, status_code=409)
    staged, data = taken
    try:
        status, body = await import_service.import_file(
            db_of(request),
            session,
            visit.principal,
            staged.kind,
            data,
            _import_options(staged, dry_run=False),
        )
    except FILE_REFUSALS as refused:
        # The data changed since the preview (a row now conflicts): nothing was written.
        return _form_page(
            request,
            visit,
            chosen=_chosen(staged),
            alert=f"Nothing was imported: {refused.detail}.",
            errors=_error_lines(refused),
            status_code=refused.status,
        )
    if status == 202:
        message = (
            f"The file is large: it is being imported in the background (job {body['id']}). "
            "A notification tells you when it is done."
        )
    else:
        message = (
            f"Imported {body['rows']} rows of {staged.kind}: {body['created']} created, "
            f"{body['updated']} updated, {body['unchanged']} unchanged."
        )
    return _form_page(request, visit, chosen=_chosen(staged), status=message)


def _chosen(staged: Staged) -> dict[str, str]:
    return {
        "kind": staged.kind,
        "encoding": staged.encoding or "",
        "date_order": staged.date_order or "",
        "school_id": "" if staged.school_id is None else str(staged.school_id),
    }
