"""Reading an uploaded file from a request: a multipart form's `file` field, or the raw body
(`text/csv`, the xlsx type, `application/octet-stream`). Never more than the limit is read:
the declared length is checked first, then the bytes as they arrive (413 either way). The web
UI's import form comes this way too: its other fields (the CSRF token, the kind) are kept."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from homeroom.imports.service import limits
from homeroom.kit.errors import (
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)

RAW_TYPES = (
    "text/csv",
    "application/csv",
    "text/plain",
    "text/tab-separated-values",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
    "application/octet-stream",
)
FORM_SLACK = 64 * 1024  # multipart boundaries and part headers around the file


def largest_request() -> int:
    """The largest upload request read (a multipart form with a file of the size limit): what
    the application's body limit lets through to the import routes."""
    return limits.max_bytes + FORM_SLACK


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes
    file_name: str | None
    # A multipart form's text fields beside the file (each at most MAX_FIELD characters).
    fields: dict[str, str] = field(default_factory=dict)


MAX_FIELD = 1024


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the file is larger than the {limit:,}-byte limit")


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise ValidationFailed("the upload was interrupted") from None
    return b"".join(chunks)


async def read_upload(request: Request, max_bytes: int) -> Upload:
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        body = await _body(request, max_bytes + FORM_SLACK)
        upload, fields = await _form_file(request, body)
        data = await upload.read()
        await upload.close()
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        return Upload(data, upload.filename, fields)
    if media and media not in RAW_TYPES:
        raise UnsupportedMediaType(
            f"send the file as multipart/form-data (field 'file') or as a text/csv or .xlsx "
            f"body, not {media}"
        )
    return Upload(await _body(request, max_bytes), None)


async def _form_file(request: Request, body: bytes) -> tuple[UploadFile, dict[str, str]]:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(request.headers, stream(), max_files=1, max_fields=20)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ValidationFailed(f"the multipart form cannot be read: {exc.message}") from None
    except (ValueError, KeyError, UnicodeDecodeError):
        raise ValidationFailed("the multipart form cannot be read") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed(
            "no file: send it in the multipart field 'file'",
            errors=[field_error(["body", "file"], "Field required", "missing")],
        )
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(name, value[:MAX_FIELD])
    return upload, fields
