"""Rendering the web UI's pages: templates, the navigation each role sees, and the headers
every page carries."""

from dataclasses import dataclass
from datetime import UTC, datetime
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
    auto_reload=False,  # templates ship with the package: no stat() of the file per page
)
templates.globals["assets"] = ASSETS_URL


def when(value: datetime | str | None) -> str:
    """A moment as people read it, to the minute, in UTC (the raw read path gives SQLite's
    timestamps as ISO text, the ORM gives datetimes): `{{ job.created_at|when }}`."""
    if value is None or value == "":
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


templates.filters["when"] = when

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
NOTIFICATIONS = "/notifications"
ACCOUNT = "/account/password"

_OWN = (
    Link("Grades", "/my/grades"),
    Link("Attendance", "/my/attendance"),
    Link("Courses", "/my/courses"),
    Link("Reports", "/my/reports"),
)
_OFFICE = (
    Link("Dashboard", "/dashboard"),
    Link("Students", "/students"),
    Link("Imports", "/imports"),
    Link("Exports", "/exports"),
    Link("Users", "/users"),
)
_EVERYONE = (Link("Notifications", NOTIFICATIONS), Link("Password", ACCOUNT))

# The role's main navigation, by the accessible names the README lists ("Web UI"); every
# role's ends with its notifications, its password and the Sign out link (base.html).
NAV: dict[str, tuple[Link, ...]] = {
    "admin": (Link("Home", HOME), *_OFFICE, *_EVERYONE),
    "staff": (Link("Home", HOME), *_OFFICE, *_EVERYONE),
    "teacher": (
        Link("Home", HOME),
        Link("Sections", "/sections"),
        Link("Attendance", "/attendance"),
        Link("Gradebook", "/gradebook"),
        *_EVERYONE,
    ),
    "student": (Link("Home", HOME), *_OWN, *_EVERYONE),
    "guardian": (Link("Home", HOME), *_OWN, *_EVERYONE),
}

STATUS_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "Not a form",
    422: "Not saved",
    429: "Too many requests",
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


def error_line(error: dict[str, Any]) -> str:
    """One line of a ValidationFailed's errors, for people: where, then what."""
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    where = " ".join(loc)
    message = str(error.get("msg", ""))
    return f"{where}: {message}" if where else message


def redirect(request: Request, location: str, headers: dict[str, str] | None = None) -> Response:
    """303 See Other: after a form's POST, the browser GETs the next page. A request made by
    htmx gets HX-Redirect instead (it would otherwise follow the 303 inside the page)."""
    raw = [*_RAW_SECURITY_HEADERS, (b"cache-control", NO_STORE.encode()), (b"content-length", b"0")]
    if request.headers.get("hx-request") == "true":
        raw.append((b"hx-redirect", location.encode("latin-1")))
        status = 200
    else:
        raw.append((b"location", location.encode("latin-1")))
        status = 303
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    return Prepared(b"", status, raw)
