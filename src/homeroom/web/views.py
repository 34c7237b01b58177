"""Rendering the web UI's pages: templates, the navigation each role sees, and the headers
every page carries."""

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import Response

from homeroom.kit.responses import NO_STORE, PRIVATE, Prepared, etag_of, matches_if_none_match

ASSETS_URL = "/static/web"

templates = Environment(
    loader=PackageLoader("homeroom", "web/templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,  # a misspelt variable fails the page, not renders blank
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["assets"] = ASSETS_URL

# Scripts and styles from this server only: no inline script or style, no eval (htmx is
# configured not to inject its indicator style, base.html), no framing, forms post here.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}
_RAW_SECURITY_HEADERS = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
_HTML = (b"content-type", b"text/html; charset=utf-8")


@dataclass(frozen=True, slots=True)
class Link:
    name: str  # the accessible name (README, "Web UI")
    href: str


HOME = "/home"

# The role's main navigation: only pages that exist (a later step adds its page's link here).
NAV: dict[str, tuple[Link, ...]] = {
    role: (Link("Home", HOME),) for role in ("admin", "staff", "teacher", "student", "guardian")
}

# What each role's navigation will hold once the later steps land; the home page names them
# as text, not as links, so nothing points at a page that is not there yet.
COMING: dict[str, tuple[str, ...]] = {
    "admin": ("Students", "Dashboard"),
    "staff": ("Students", "Dashboard"),
    "teacher": ("Attendance", "Gradebook"),
    "student": ("Grades",),
    "guardian": ("Grades",),
}

ROLE_NAMES = {
    "admin": "Administrator",
    "staff": "Registrar",
    "teacher": "Teacher",
    "student": "Student",
    "guardian": "Guardian",
}


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    personal: bool = True,
    headers: dict[str, str] | None = None,
) -> Response:
    """A rendered page with the security headers. A page of the signed-in person is
    `private, no-cache` with an ETag (a GET that still has it gets 304); one that carries a
    secret of the request's own (the sign-in form's CSRF token) or an error is `no-store`."""
    body = templates.get_template(template).render(context).encode()
    raw = list(_RAW_SECURITY_HEADERS)
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    if personal and status_code == 200:
        etag = etag_of(body)
        raw += [(b"etag", etag.encode()), (b"cache-control", PRIVATE.encode())]
        raw.append((b"vary", b"Cookie"))
        if request.method == "GET" and matches_if_none_match(request, etag):
            return Prepared(b"", 304, raw)
    else:
        raw.append((b"cache-control", NO_STORE.encode()))
    raw += [(b"content-length", str(len(body)).encode()), _HTML]
    return Prepared(body, status_code, raw)


def redirect(location: str, headers: dict[str, str] | None = None) -> Response:
    """303 See Other: after a form's POST, the browser GETs the next page."""
    raw = [
        *_RAW_SECURITY_HEADERS,
        (b"location", location.encode("latin-1")),
        (b"cache-control", NO_STORE.encode()),
        (b"content-length", b"0"),
    ]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    return Prepared(b"", 303, raw)
