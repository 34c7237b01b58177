"""The web UI's cookies, CSRF tokens and form bodies.

The session cookie holds a web session's secret (auth.service.sign_in); the server keeps only
its digest, so ending the session server-side ends the cookie. A form's CSRF token is an HMAC
of the session's secret under the application key: bound to the session, nothing stored.
Before sign-in there is no session, so the sign-in form is bound to a random pre-session
cookie the same way (a signed double submit): a page of another origin can neither read that
cookie nor compute the token.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from homeroom.config import Settings

SESSION_COOKIE = "homeroom_session"
SIGN_IN_COOKIE = "homeroom_sign_in"
CSRF_FIELD = "csrf_token"
# htmx sends the token as this header on every request it makes (base.html, hx-headers).
CSRF_HEADER = "x-csrf-token"
FORM_TYPE = "application/x-www-form-urlencoded"
# A form of this UI has a handful of fields; anything past that is not one of ours.
MAX_FIELDS = 32


class FormRefused(Exception):
    """A form body that is not one this UI sent: wrong type, not UTF-8, too many fields."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _key(settings: Settings) -> bytes:
    return hashlib.sha256(b"homeroom csrf\0" + settings.jwt_secret().encode()).digest()


def csrf_token(settings: Settings, bound_to: str) -> str:
    """The CSRF token of forms shown to the holder of `bound_to` (a session or a pre-session
    secret)."""
    return hmac.new(_key(settings), bound_to.encode(), hashlib.sha256).hexdigest()


def csrf_valid(settings: Settings, bound_to: str | None, token: str | None) -> bool:
    if not bound_to or not token:
        return False
    return hmac.compare_digest(csrf_token(settings, bound_to), token)


SECRET = re.compile(r"[A-Za-z0-9_-]{43}")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def is_secret(value: str) -> bool:
    """Whether `value` has the shape of a `new_secret()` (a cookie we may have set)."""
    return SECRET.fullmatch(value) is not None


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Lax, Secure when the page came over HTTPS, for the whole site."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


@dataclass(frozen=True, slots=True)
class Form:
    fields: dict[str, str]

    def get(self, name: str, limit: int) -> str:
        """The field's value, at most `limit` characters (the rest is not ours to read)."""
        return self.fields.get(name, "")[:limit]


async def read_form(request: Request, max_fields: int = MAX_FIELDS) -> Form:
    """An application/x-www-form-urlencoded body, read under the application's body limit
    (kit/guards.LimitBody counts it as it arrives). A repeated field keeps its first value;
    no body at all is an empty form (its CSRF check then refuses it). A form with more than
    `max_fields` fields is refused (a page with one field per student raises it)."""
    body = await request.body()
    if not body:
        return Form({})
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_TYPE:
        raise FormRefused(415, f"a form is sent as {FORM_TYPE}")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=max_fields,
        )
    except (UnicodeDecodeError, ValueError):
        raise FormRefused(400, "the form could not be read") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return Form(fields)
