from typing import Any, Literal
from urllib.parse import unquote

from pydantic import BaseModel, Field, field_validator

from homeroom.kit.schemas import CreateModel

MAX_REQUESTS = 20
PREFIX = "/api/v1/"
BATCH_PATH = "/api/v1/batch"
# Headers a sub-request may set; Authorization is always the caller's own.
ALLOWED_HEADERS = frozenset({"accept", "accept-language", "if-none-match"})


class SubRequest(CreateModel):
    method: Literal["GET"] = Field(description="Only GET: a batch never writes")
    path: str = Field(
        min_length=len(PREFIX) + 1,
        max_length=2048,
        pattern=r"^/api/v1/[\x21-\x7e]*$",
        description="An /api/v1/ path with its query string, e.g. /api/v1/students?limit=5",
        examples=["/api/v1/students/1"],
    )
    headers: dict[str, str] | None = Field(
        default=None,
        max_length=len(ALLOWED_HEADERS),
        description=f"Optional request headers: {', '.join(sorted(ALLOWED_HEADERS))}",
    )

    @field_validator("path")
    @classmethod
    def _api_path(cls, value: str) -> str:
        path = unquote(value.partition("?")[0].partition("#")[0])
        segments = path.split("/")
        if "." in segments or ".." in segments:
            raise ValueError("must not contain '.' or '..' segments")
        if path.rstrip("/") == BATCH_PATH or path.startswith(BATCH_PATH + "/"):
            raise ValueError("a batch cannot contain another batch")
        if "#" in value:
            raise ValueError("must not contain a fragment")
        return value

    @field_validator("headers")
    @classmethod
    def _allowed_headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        out = {}
        for name, header in value.items():
            if name.lower() not in ALLOWED_HEADERS:
                raise ValueError(f"header {name[:40]!r} is not allowed in a sub-request")
            if len(header) > 1024 or not header.isprintable() or not header.isascii():
                raise ValueError(f"header {name!r} must be printable ASCII, at most 1024 long")
            out[name.lower()] = header
        return out


class BatchRequest(CreateModel):
    requests: list[SubRequest] = Field(min_length=1, max_length=MAX_REQUESTS)


class SubResponse(BaseModel):
    status: int
    headers: dict[str, str] = Field(description="Response headers (etag, content-type, ...)")
    body: Any = Field(description="The parsed JSON body; null for 304 and empty bodies")


class BatchResponse(BaseModel):
    responses: list[SubResponse] = Field(description="One per request, in the same order")
