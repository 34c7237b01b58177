"""Serving documents: PDF rendered in the process pool, JSON on request, ETags without
rendering.

The renderer (reports/render.py, reportlab) is imported only by the pool's processes: the
API process never loads reportlab (about 200 ms and 17 MB). Since rendering is a pure,
deterministic function of the data, a PDF's ETag is a hash of the data together with the
renderer's own source and reportlab's version: equal ETags mean equal bytes, and an
If-None-Match that matches answers 304 without rendering at all.
"""

import hashlib
import importlib.metadata
import importlib.util
import re
import unicodedata
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

import orjson
from fastapi import Request
from starlette.responses import Response

from homeroom.kit.compression import quality_weights
from homeroom.kit.responses import PRIVATE, etag_of

PDF = "application/pdf"
Kind = Literal["report_card", "transcript"]
RunCpu = Callable[..., Awaitable[Any]]


# --- in the pool's processes ---------------------------------------------------------------------


def render(kind: Kind, data: dict[str, Any]) -> bytes:
    """One document (a module-level function, so the pool can pickle it by name)."""
    from homeroom.reports import render as renderer

    if kind == "report_card":
        return renderer.report_card_pdf(data)
    return renderer.transcript_pdf(data)


def render_report_cards(cards: list[dict[str, Any]]) -> list[bytes]:
    """A batch of report cards in one trip to the pool."""
    from homeroom.reports import render as renderer

    return renderer.report_card_pdfs(cards)


# --- in the API process ---------------------------------------------------------------------------


@cache
def renderer_version() -> bytes:
    """Changes whenever the renderer's code or reportlab does."""
    spec = importlib.util.find_spec("homeroom.reports.render")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).read_bytes()
    version = importlib.metadata.version("reportlab").encode()
    return hashlib.blake2b(source + b"\0" + version, digest_size=16).digest()


def pdf_etag(kind: Kind, data: dict[str, Any]) -> str:
    """A weak validator: the compression middleware weakens every 304's ETag (it cannot tell
    the type of a bodiless answer), so the PDF's 200 says W/ too and the two always agree."""
    return "W/" + etag_of(kind.encode() + b"\0" + renderer_version() + orjson.dumps(data))


def wants_json(fmt: str | None, accept: str | None) -> bool:
    """JSON when asked by `format=json`, or without `format` by an Accept header that
    prefers application/json to application/pdf; else PDF."""
    if fmt is not None:
        return fmt == "json"
    if not accept:
        return False
    weights = quality_weights(accept)
    as_json = weights.get("application/json", 0.0)
    as_pdf = weights.get("application/pdf", weights.get("application/*", weights.get("*/*", 0.0)))
    return as_json > 0 and as_json > as_pdf


def file_name(*parts: str) -> str:
    """A file name from `parts` joined by "-": letters, digits, ".", "_" and "-" kept (accents
    folded to ASCII), anything else "_"; safe in a header and in a zip."""
    joined = "-".join(parts)
    ascii_text = unicodedata.normalize("NFKD", joined).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_text).strip("._") or "document"


def _matches(header: str | None, etag: str) -> bool:
    """Weak comparison, as for GET (RFC 9110 13.1.2)."""
    if not header:
        return False
    opaque = etag.removeprefix("W/")
    return header.strip() == "*" or opaque in (
        t.strip().removeprefix("W/") for t in header.split(",")
    )


async def pdf_response(
    request: Request, kind: Kind, data: dict[str, Any], filename: str, run_cpu: RunCpu
) -> Response:
    """The document as PDF, or a 304 when the client's ETag is current."""
    etag = pdf_etag(kind, data)
    headers = {"ETag": etag, "Cache-Control": PRIVATE}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    body: bytes = await run_cpu(render, kind, data)
    headers["Content-Disposition"] = f'inline; filename="{filename}.pdf"'
    return Response(body, headers=headers, media_type=PDF)
